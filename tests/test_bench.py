"""The benchmark layer (``aion_store.bench``): every workload runs on every store it
supports and does what it says, the stores come in families with a reference each, every
store a measurement makes is closed, the durable references (the bare SQLite and
PostgreSQL floors, eventsourcing's SQLite and PostgreSQL recorders) append and read
correctly, the postgres family runs exactly when a server is given (``--postgres-dsn``,
``AION_STORE_POSTGRES_DSN``), the report has a table per family, and the naive baseline
agrees with ``InMemoryStore``.

Tiny sizes, and no timing assertions: the numbers only have to exist and be positive. The
postgres family's tests use the session's throwaway server (``postgres_dsn`` in
``conftest.py``: they skip without server binaries, and fail under ``CI=true``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aion_store import (
    ListWorkflowsFilter,
    PackageRecord,
    Payload,
    RunId,
    SearchAttributePredicate,
    TimerId,
    VisibilityRecord,
    WorkflowError,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WriteToken,
)
from aion_store._cache import DECODED_BYTES_PER_EVENT
from aion_store.bench import (
    BYTES_PER_EVENT,
    FAMILIES,
    REFERENCES,
    STORES,
    WORKLOADS,
    NaiveInMemoryStore,
    Sampler,
    Sizes,
    available_stores,
    close_store,
    count_label,
    data,
    durable_postgres,
    family_of,
    make_store,
    measure,
    open_store,
    unavailable_reason,
    workloads_at,
)
from aion_store.bench.durable import is_durable, prime_wal
from aion_store.cli._bench_report import (
    family_tables,
    load_results,
    markdown_table,
    plain_table,
)
from aion_store.error import SequenceConflict
from aion_store.events import (
    ActivityScheduled,
    ChildWorkflowStarted,
    Event,
    EventEnvelope,
    SignalReceived,
    TimerStarted,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowContinuedAsNew,
    WorkflowFailed,
    WorkflowStarted,
)
from aion_store.ids import ActivityId, PackageVersion
from aion_store.memory import DEFAULT_DECODED_CACHE_BYTES

TINY = Sizes.quick().with_(
    workflows=12,
    events_per_workflow=14,
    short_history=30,
    long_history=300,
    tail_appends=10,
    small_history=60,
    big_history=500,
    suffix=10,
    timers=1_000,
    due_timers=7,
    poll_timers=500,
    active_workflows=40,
    active_events=6,
    mixed_workflows=16,
    mixed_events=12,
    poll_every=10,
    list_active_every=40,
    memory_workflows=4,
    memory_events=12,
    durable_appends=120,
)

AVAILABLE = available_stores()
CASES = [
    pytest.param(workload.id, store_id, id=f"{workload.id}-{store_id}")
    for workload in WORKLOADS.values()
    for store_id in STORES
    if store_id in workload.stores
]
CORE = [store_id for store_id in ("compiled", "pure", "naive") if store_id in AVAILABLE]
#: The sqlite family (the peer when eventsourcing is installed).
DURABLE = list(FAMILIES["sqlite"].stores)
#: The postgres family, on the session's server.
POSTGRES = list(FAMILIES["postgres"].stores)
TOKEN = WriteToken.recorder()
DOCS_RESULTS = Path(__file__).parent.parent / "docs" / "bench.json"
RESULTS_0_1 = Path(__file__).parent / "data" / "bench-0.1.json"  # written by 0.1.0
DSN_VARIABLE = durable_postgres.ENVIRONMENT


@pytest.fixture(autouse=True)
def _postgres_family(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test of a postgres store (its ``store_id`` parameter) gets the session's server,
    as ``--postgres-dsn`` gives it; the others run without one."""
    callspec = getattr(request.node, "callspec", None)
    store_id = callspec.params.get("store_id") if callspec is not None else None
    if store_id not in POSTGRES:
        yield
        return
    durable_postgres.use_dsn(request.getfixturevalue("postgres_dsn"))
    try:
        yield
    finally:
        durable_postgres.use_dsn(None)


def _require(store_id: str) -> None:
    reason = unavailable_reason(store_id)
    if reason is not None:
        pytest.skip(f"store {store_id} is not available here: {reason}")


# -- the registry -----------------------------------------------------------------------

MEMORY_ONLY = {
    "append_many",
    "append_batch10",
    "mixed_engine",
    "mixed_engine_small_cache",
    "memory_per_event",
    "memory_per_event_running",
}
DURABLE_ONLY = {"durable_append", "durable_append_100_tasks", "disk_per_event"}


def test_workload_ids_in_order() -> None:
    assert list(WORKLOADS) == [
        "append_many",
        "append_batch10",
        "tail_append_short",
        "tail_append_long",
        "full_read_1k_cold",
        "full_read_100k_cold",
        "full_read_warm",
        "full_read_100k_hot",
        "suffix_read_1k",
        "suffix_read_100k",
        "rejected_append",
        "expired_timers",
        "timer_poll_loop",
        "list_active",
        "query_running",
        "mixed_engine",
        "mixed_engine_small_cache",
        "memory_per_event",
        "memory_per_event_running",
        "durable_append",
        "durable_append_100_tasks",
        "disk_per_event",
    ]
    for workload in WORKLOADS.values():
        assert workload.title and workload.doc
        assert workload.stores <= set(STORES)
        assert workload.unit in ("s", BYTES_PER_EVENT)
        if workload.id in DURABLE_ONLY:
            assert workload.stores == set(DURABLE) | set(POSTGRES)
        else:
            assert {"compiled", "pure", "naive"} <= workload.stores
        # on sqlite: everything but what needs too many fsyncs or means nothing there
        assert ("sqlite" in workload.stores) == (workload.id not in MEMORY_ONLY)
        # the postgres family runs what the sqlite family runs, store for store
        for sqlite, postgres in zip(DURABLE, POSTGRES):
            assert (sqlite in workload.stores) == (postgres in workload.stores)
        # naive runs everything: every in-memory value has a ratio (the floor expresses
        # only appends and reads: the sqlite queries have no ratio)
        assert "naive" in workload.stores or workload.id in DURABLE_ONLY
    # the floors and the peers express appends and reads only
    for store in (
        "sqlite_floor",
        "eventsourcing_sqlite",
        "postgres_floor",
        "eventsourcing_postgres",
    ):
        assert store not in WORKLOADS["expired_timers"].stores
        assert store not in WORKLOADS["list_active"].stores
        assert store not in WORKLOADS["query_running"].stores
        assert store in WORKLOADS["suffix_read_100k"].stores
    # the new cells run where the workloads they extend run
    assert WORKLOADS["full_read_100k_hot"].stores == WORKLOADS["full_read_warm"].stores
    assert WORKLOADS["timer_poll_loop"].stores == WORKLOADS["expired_timers"].stores
    small_cache = WORKLOADS["mixed_engine_small_cache"]
    assert small_cache.stores == WORKLOADS["mixed_engine"].stores
    assert WORKLOADS["memory_per_event_running"].stores == WORKLOADS["memory_per_event"].stores
    # and differ from them only in what they show
    assert WORKLOADS["full_read_100k_hot"].cache_bytes is None  # the store's default cache
    assert small_cache.cache_bytes == 1_048_576 and WORKLOADS["mixed_engine"].cache_bytes is None
    assert small_cache.ops_per_sample(TINY) == WORKLOADS["mixed_engine"].ops_per_sample(TINY)
    for sizes in (Sizes.default(), Sizes.quick()):  # the running set is past the budget
        half_way = sizes.mixed_workflows * (sizes.mixed_events // 2)
        assert half_way * DECODED_BYTES_PER_EVENT > small_cache.cache_bytes
    assert WORKLOADS["memory_per_event_running"].cache_bytes == 0
    assert WORKLOADS["memory_per_event_running"].unit == BYTES_PER_EVENT
    polls = WORKLOADS["timer_poll_loop"]
    assert polls.mutates and polls.ops_per_sample(TINY) == 100
    assert Sizes.default().poll_timers == 10_000 and Sizes.quick().poll_timers == 2_000


def test_ids_name_the_sizes_measured() -> None:
    # at the default sizes the ids are the registry's
    assert list(workloads_at(Sizes.default())) == list(WORKLOADS)
    quick = workloads_at(Sizes.quick())
    assert quick["full_read_20k_cold"] is WORKLOADS["full_read_100k_cold"]
    assert quick["full_read_20k_hot"] is WORKLOADS["full_read_100k_hot"]
    assert quick["suffix_read_20k"] is WORKLOADS["suffix_read_100k"]
    assert quick["full_read_1k_cold"] is WORKLOADS["full_read_1k_cold"]  # small_history: 1,000
    assert "full_read_100k_cold" not in quick and "suffix_read_100k" not in quick
    tiny = workloads_at(TINY)
    named = {"full_read_60_cold", "full_read_500_cold", "full_read_500_hot", "suffix_read_60"}
    assert named | {"suffix_read_500"} <= set(tiny)
    assert [workload.id for workload in tiny.values()] == list(WORKLOADS)  # same order
    for name, workload in tiny.items():
        assert workload.id_at(TINY) == name
        assert workload.id_at(Sizes.default()) == workload.id
        assert (workload.sized_by is None) == (name == workload.id)
    # the same sizes, the same ids; two workloads never share one
    assert list(workloads_at(Sizes.quick())) == list(quick)
    with pytest.raises(ValueError, match="would both be named full_read_1k_cold"):
        workloads_at(Sizes.default().with_(big_history=1_000))
    labels = [count_label(n) for n in (60, 1_000, 1_500, 20_000, 100_000, 2_000_000)]
    assert labels == ["60", "1k", "1500", "20k", "100k", "2m"]


def test_stores_and_sizes() -> None:
    assert STORES == (
        "compiled",
        "pure",
        "naive",
        "eventsourcing",
        "sqlite",
        "sqlite_floor",
        "eventsourcing_sqlite",
        "postgres",
        "postgres_floor",
        "eventsourcing_postgres",
    )
    assert {"pure", "naive", "sqlite", "sqlite_floor"} <= set(AVAILABLE) <= set(STORES)
    default, quick = Sizes.default(), Sizes.quick()
    assert quick.workflows * 5 <= default.workflows
    assert quick.mixed_workflows * 5 <= default.mixed_workflows
    assert default.big_history == 100_000 and default.timers == 100_000
    assert default.active_workflows == 20_000 and default.mixed_workflows == 10_000
    assert default.durable_appends == 400 and quick.durable_appends < default.durable_appends
    assert default.with_(timers=5).timers == 5
    with pytest.raises(TypeError, match="no field"):
        default.with_(nonsense=1)
    with pytest.raises(ValueError, match="unknown store"):
        make_store("mongo")
    for durable in ("sqlite", "postgres_floor"):
        with pytest.raises(ValueError, match="open it with await open_store"):
            make_store(durable)
    with pytest.raises(ValueError, match="cannot run"):
        WORKLOADS["list_active"].store_factory("eventsourcing")
    with pytest.raises(ValueError, match="cannot run"):
        WORKLOADS["append_many"].store_factory("sqlite")


def test_families_name_a_reference_for_every_store() -> None:
    assert list(FAMILIES) == ["memory", "sqlite", "postgres"]
    memory, sqlite, postgres = FAMILIES["memory"], FAMILIES["sqlite"], FAMILIES["postgres"]
    assert memory.stores == ("compiled", "pure", "naive", "eventsourcing")
    assert memory.reference == "naive" and not memory.durable
    assert sqlite.stores == ("sqlite", "sqlite_floor", "eventsourcing_sqlite")
    assert sqlite.reference == "sqlite_floor" and sqlite.durable
    assert postgres.stores == ("postgres", "postgres_floor", "eventsourcing_postgres")
    assert postgres.reference == "postgres_floor" and postgres.durable
    assert memory.stores + sqlite.stores + postgres.stores == STORES
    assert REFERENCES == {
        "compiled": "naive",
        "pure": "naive",
        "naive": "naive",
        "eventsourcing": "naive",
        "sqlite": "sqlite_floor",
        "sqlite_floor": "sqlite_floor",
        "eventsourcing_sqlite": "sqlite_floor",
        "postgres": "postgres_floor",
        "postgres_floor": "postgres_floor",
        "eventsourcing_postgres": "postgres_floor",
    }
    for family in FAMILIES.values():
        assert family.reference in family.stores and family.title
        for store in family.stores:
            assert family_of(store) is family
    assert family_of("mongo") is None


def test_make_store_configures_the_engines() -> None:
    assert make_store("pure").engine == "pure"
    assert isinstance(make_store("naive"), NaiveInMemoryStore)
    if "compiled" in AVAILABLE:
        assert make_store("compiled", cache_bytes=0).engine == "compiled"


# -- every workload on every store produces numbers --------------------------------------


def _bench_dirs() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("aion-bench-")}


def _store_threads() -> list[str]:
    return [
        thread.name
        for thread in threading.enumerate()
        if thread.name.startswith(("aion-store", "floor "))
    ]


async def _schemas() -> list[str]:
    """The schemas of the postgres family's stores on the server (none once closed)."""
    import asyncpg

    connection = await asyncpg.connect(durable_postgres.postgres_dsn())
    try:
        rows = await connection.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'aion_bench_%'"
        )
    finally:
        await connection.close()
    return sorted(row[0] for row in rows)


def _bench_schemas() -> list[str]:
    """:func:`_schemas`, from outside an event loop."""
    return asyncio.run(_schemas())


@pytest.mark.parametrize(("workload_id", "store_id"), CASES)
def test_workload_measures(workload_id: str, store_id: str) -> None:
    _require(store_id)
    before = _bench_dirs()
    values = measure(WORKLOADS[workload_id], store_id, TINY, samples=2, min_sample_time=0.0)
    assert len(values) == 2
    assert all(value > 0 for value in values)
    # every store it made is closed: no thread left, no temp file left, no schema left
    assert _store_threads() == []
    assert _bench_dirs() <= before
    if store_id in POSTGRES:
        assert _bench_schemas() == []


def test_sampler_repeats_read_only_workloads() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        sampler = Sampler(
            WORKLOADS["suffix_read_1k"], "pure", TINY, loop=loop, min_sample_time=0.05
        )
        assert not sampler.fresh_state
        sampler.prepare()
        assert sampler.repeat > 1
        sampler.sample()
        sampler.sample()
        assert len(sampler.values) == 2
        appends = Sampler(WORKLOADS["append_many"], "pure", TINY, loop=loop)
        assert appends.fresh_state
        with pytest.raises(RuntimeError):
            appends.sample()
    finally:
        loop.close()


def test_sampler_closes_every_store_it_made() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        # a read-only workload: one store, open across samples, closed by close()
        with Sampler(WORKLOADS["suffix_read_1k"], "sqlite", TINY, loop=loop) as reads:
            assert reads.durable
            reads.prepare()
            (store,) = reads.open_stores
            path = Path(store.path)
            assert path.exists() and len(_store_threads()) == 2  # its writer and reader
            reads.sample()
            reads.sample()
            assert reads.open_stores == [store] and path.exists()
        assert reads.open_stores == [] and not path.parent.exists()
        assert _store_threads() == []
        reads.close()  # again: nothing to do
        # a workload that changes its store: each sample's store is closed once taken
        appends = Sampler(WORKLOADS["durable_append"], "sqlite_floor", TINY, loop=loop)
        for _ in range(2):
            appends.prepare()
            (floor,) = appends.open_stores
            assert Path(floor.path).exists() and _store_threads() == [f"floor {floor.path}"]
            appends.sample()
            assert appends.open_stores == [] and not Path(floor.path).parent.exists()
            assert _store_threads() == []
        assert len(appends.values) == 2
        # the in-memory stores have nothing to close
        memory = Sampler(WORKLOADS["suffix_read_1k"], "naive", TINY, loop=loop)
        memory.prepare()
        assert memory.open_stores == [] and not memory.durable
        memory.close()
    finally:
        loop.close()


def test_an_interrupted_sample_leaves_nothing_running() -> None:
    """Ctrl-C mid-sample: the sample's task is wound down before the interrupt goes on, so
    it never resumes against the store that closing the sampler closes."""
    import gc

    loop = asyncio.new_event_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))

    def interrupt() -> None:
        raise KeyboardInterrupt

    try:
        sampler = Sampler(WORKLOADS["durable_append"], "sqlite", TINY, loop=loop)
        sampler.prepare()
        # the next iteration but one: once the first append waits for the writer thread
        loop.call_soon(loop.call_soon, interrupt)
        with pytest.raises(KeyboardInterrupt):
            sampler.sample()
        assert [task for task in asyncio.all_tasks(loop) if not task.done()] == []
        sampler.close()
        loop.run_until_complete(asyncio.sleep(0.05))
        gc.collect()
        assert reported == [] and sampler.values == []
    finally:
        loop.close()


# -- the workloads do what they say -------------------------------------------------------


@contextlib.asynccontextmanager
async def prepared(workload_id: str, store_id: str, sizes: Sizes = TINY) -> AsyncIterator[Any]:
    """The prepared state of ``workload_id`` on ``store_id``; its stores closed on exit."""
    _require(store_id)
    workload = WORKLOADS[workload_id]
    made = workload.store_factory(store_id)
    stores: list[Any] = []

    async def factory() -> Any:
        store = await made()
        stores.append(store)
        return store

    try:
        yield await workload.prepare(factory, sizes)
    finally:
        for store in stores:
            await close_store(store)


async def _all_events(store: Any) -> list[Event]:
    events: list[Event] = []
    for workflow_id in await store.list_workflow_ids():
        events.extend(await store.read_history(workflow_id))
    return events


@pytest.mark.parametrize("store_id", CORE)
@pytest.mark.parametrize("workload_id", ["append_many", "append_batch10"])
async def test_append_workloads_store_every_event(workload_id: str, store_id: str) -> None:
    async with prepared(workload_id, store_id) as state:
        batch = 1 if workload_id == "append_many" else 10
        assert len(state.appends) == WORKLOADS[workload_id].ops_per_sample(TINY)
        assert all(len(b) <= batch for _, b, _ in state.appends)
        # round-robin: no two consecutive appends go to the same workflow
        owners = [owner for owner, _, _ in state.appends]
        assert all(a != b for a, b in itertools.pairwise(owners))
        await WORKLOADS[workload_id].run(state)
        events = await _all_events(state.store)
        assert len(events) == TINY.workflows * TINY.events_per_workflow
        assert len(await state.store.list_workflow_ids()) == TINY.workflows
        assert await state.store.list_active() == []  # every workflow completed
        history = await state.store.read_history(data.workflow_id(0))
        assert isinstance(history[0], WorkflowStarted)
        assert isinstance(history[-1], WorkflowCompleted)
        kinds = {type(event).__name__ for event in history}
        assert {"ActivityScheduled", "ActivityCompleted", "TimerStarted", "SignalReceived"} <= kinds


async def test_eventsourcing_append_and_reads() -> None:
    async with prepared("append_many", "eventsourcing") as state:
        await WORKLOADS["append_many"].run(state)
        expected = data.history(3, TINY.events_per_workflow, complete=True)
        assert await state.store.read_history(data.workflow_id(3)) == expected
        assert await state.store.read_history_from(data.workflow_id(3), 5) == expected[4:]
        assert await state.store.read_history(data.workflow_id(999)) == []


@pytest.mark.parametrize("store_id", [*CORE, *DURABLE, *POSTGRES])
@pytest.mark.parametrize(
    ("workload_id", "length"), [("tail_append_short", 30), ("tail_append_long", 300)]
)
async def test_tail_append_workloads(workload_id: str, length: int, store_id: str) -> None:
    async with prepared(workload_id, store_id) as state:
        owners = {owner for owner, _, _ in state.appends}
        for owner in owners:
            assert len(await state.store.read_history(owner)) == length
        assert all(expected >= length for _, _, expected in state.appends)
        await WORKLOADS[workload_id].run(state)
        grown = [len(await state.store.read_history(owner)) for owner in owners]
        assert sum(grown) - length * len(owners) == TINY.tail_appends
        assert max(grown) <= length * 1.1  # no history grows more than 10%


@pytest.mark.parametrize("store_id", [*CORE, "eventsourcing", *DURABLE, *POSTGRES])
@pytest.mark.parametrize(
    ("workload_id", "length"),
    [
        ("full_read_1k_cold", 60),
        ("full_read_100k_cold", 500),
        ("full_read_warm", 60),
        ("full_read_100k_hot", 500),
    ],
)
async def test_full_read_workloads(workload_id: str, length: int, store_id: str) -> None:
    async with prepared(workload_id, store_id) as state:
        await WORKLOADS[workload_id].run(state)
        assert state.result == data.history(0, length)
        if store_id in ("compiled", "sqlite", "postgres"):
            cold = WORKLOADS[workload_id].cache_bytes == 0
            assert cold == ("cold" in workload_id)


def _cache_info(store: Any) -> tuple[int, int, int]:
    """``(budget, estimated cost, cached events)`` of the compiled store's decoded cache."""
    return store._engine.cache_info()  # type: ignore[no-any-return]


@pytest.mark.parametrize("store_id", [*CORE, "eventsourcing", *DURABLE, *POSTGRES])
async def test_full_read_hot_reads_a_running_workflow_again_and_again(store_id: str) -> None:
    workload = WORKLOADS["full_read_100k_hot"]
    async with prepared("full_read_100k_hot", store_id) as state:
        if store_id == "compiled":
            # the appends cached the whole running history: no read decodes
            assert _cache_info(state.store)[2] == TINY.big_history
        for _ in range(3):
            await workload.run(state)
            assert state.result == data.history(0, TINY.big_history)
        assert len(state.result) == workload.events_per_op(TINY) == TINY.big_history
        # a running workflow: no terminal event, and listed as active where that is asked
        assert not isinstance(state.result[-1], WorkflowCompleted)
        if hasattr(state.store, "list_active"):
            assert await state.store.list_active() == [state.workflow_id]


@pytest.mark.parametrize("store_id", [*CORE, "eventsourcing", *DURABLE, *POSTGRES])
@pytest.mark.parametrize(
    ("workload_id", "length"), [("suffix_read_1k", 60), ("suffix_read_100k", 500)]
)
async def test_suffix_read_workloads(workload_id: str, length: int, store_id: str) -> None:
    async with prepared(workload_id, store_id) as state:
        await WORKLOADS[workload_id].run(state)
        assert state.result == data.history(0, length)[-TINY.suffix :]


@pytest.mark.parametrize("store_id", [*CORE, "eventsourcing", *DURABLE, *POSTGRES])
async def test_rejected_append_changes_nothing(store_id: str) -> None:
    async with prepared("rejected_append", store_id) as state:
        await WORKLOADS["rejected_append"].run(state)
        history = await state.store.read_history(state.workflow_id)
        assert history == data.history(0, TINY.short_history)


@pytest.mark.parametrize("store_id", [*CORE, "sqlite", "postgres"])
async def test_expired_timers_returns_exactly_the_due_ones(store_id: str) -> None:
    async with prepared("expired_timers", store_id) as state:
        assert len(state.result) == TINY.due_timers
        await WORKLOADS["expired_timers"].run(state)
        assert len(state.result) == TINY.due_timers
        assert all(entry.fire_at <= state.as_of for entry in state.result)
        later = await state.store.expired_timers(state.as_of + timedelta(days=365))
        assert len(later) == TINY.timers


@pytest.mark.parametrize("store_id", [*CORE, "sqlite", "postgres"])
async def test_timer_poll_loop_moves_timers_from_pending_to_due(store_id: str) -> None:
    workload = WORKLOADS["timer_poll_loop"]
    count = TINY.poll_timers
    async with prepared("timer_poll_loop", store_id) as state:
        assert len(state.polls) == workload.ops_per_sample(TINY) == 100
        assert list(state.polls) == sorted(set(state.polls))  # as_of rises every poll
        # each poll finds one more hundredth of the timers due: from 1% to all of them
        found = [len(await state.store.expired_timers(as_of)) for as_of in state.polls]
        assert found == [count * step // 100 for step in range(1, 101)]
    async with prepared("timer_poll_loop", store_id) as state:
        await workload.run(state)
        assert len(state.result) == count  # the last poll returns every timer
        assert all(entry.fire_at <= state.polls[-1] for entry in state.result)
        assert len({(entry.workflow_id, entry.timer_id) for entry in state.result}) == count


@pytest.mark.parametrize("store_id", [*CORE, "sqlite", "postgres"])
async def test_listing_workloads(store_id: str) -> None:
    async with prepared("list_active", store_id) as state:
        await WORKLOADS["list_active"].run(state)
        assert len(state.result) == TINY.active_workflows // 2
        assert len(await state.store.list_workflow_ids()) == TINY.active_workflows
    async with prepared("query_running", store_id) as state:
        await WORKLOADS["query_running"].run(state)
        assert len(state.result) == TINY.active_workflows // 2
        assert all(summary.status is WorkflowStatus.RUNNING for summary in state.result)


@pytest.mark.parametrize("store_id", CORE)
@pytest.mark.parametrize("workload_id", ["mixed_engine", "mixed_engine_small_cache"])
async def test_mixed_engine_runs_every_workflow_to_completion(
    workload_id: str, store_id: str
) -> None:
    async with prepared(workload_id, store_id) as state:
        kinds = [op[0] for op in state.script]
        assert len(kinds) == WORKLOADS[workload_id].ops_per_sample(TINY)
        assert {0, 1, 2, 3, 4} <= set(kinds)  # append, timer, read, poll, list_active
        assert kinds.count(2) == TINY.mixed_workflows  # one replay read per workflow
        await WORKLOADS[workload_id].run(state)
        store = state.store
        if store_id == "compiled":
            budget, cost, _ = _cache_info(store)
            wanted = WORKLOADS[workload_id].cache_bytes
            assert budget == (DEFAULT_DECODED_CACHE_BYTES if wanted is None else wanted)
            assert cost <= budget  # 1 MiB: far below what the running set would take
        assert await store.list_active() == []
        assert len(await store.list_workflow_ids()) == TINY.mixed_workflows
        events = await _all_events(store)
        assert len(events) == TINY.mixed_workflows * TINY.mixed_events
        started = sum(isinstance(event, TimerStarted) for event in events)
        far = data.BASE_TIME + timedelta(days=30)
        assert started > 0 and len(await store.expired_timers(far)) == started


async def test_mixed_engine_small_cache_stays_within_its_budget() -> None:
    _require("compiled")
    workload = WORKLOADS["mixed_engine_small_cache"]
    sizes = TINY.with_(mixed_workflows=1_000, poll_every=200, list_active_every=2_000)
    async with prepared("mixed_engine_small_cache", "compiled", sizes) as state:
        await workload.run(state)
        budget, cost, _ = _cache_info(state.store)
        assert budget == 1_048_576 and cost <= budget
        assert await state.store.list_active() == []
        for index in (0, 499, 999):
            history = await state.store.read_history(data.workflow_id(index))
            assert len(history) == sizes.mixed_events
            assert isinstance(history[-1], WorkflowCompleted)


@pytest.mark.parametrize("store_id", CORE)
@pytest.mark.parametrize("workload_id", ["memory_per_event", "memory_per_event_running"])
async def test_memory_workload_reports_bytes_per_event(workload_id: str, store_id: str) -> None:
    async with prepared(workload_id, store_id) as state:
        held = await WORKLOADS[workload_id].run(state)
        assert held is not None and held > 0
        assert state.input_bytes_per_event > 0
        assert state.notes == {"input_bytes_per_event": state.input_bytes_per_event}
        store = state.store
        if store_id == "compiled":
            assert _cache_info(store)[2] == 0  # nothing decoded is held: the cache is off
        # the running workflows are running (and listed active); the others completed
        running = workload_id == "memory_per_event_running"
        active = await store.list_active()
        assert len(active) == (TINY.memory_workflows if running else 0)
        events = await _all_events(store)
        assert len(events) == TINY.memory_workflows * TINY.memory_events
        closed = sum(isinstance(event, WorkflowCompleted) for event in events)
        assert closed == (0 if running else TINY.memory_workflows)


# -- the sqlite family ----------------------------------------------------------------------


@pytest.mark.parametrize("store_id", [*DURABLE, *POSTGRES])
async def test_durable_append_round_robin_from_one_task(store_id: str) -> None:
    async with prepared("durable_append", store_id) as state:
        assert len(state.appends) == TINY.durable_appends
        owners = [owner for owner, _, _ in state.appends]
        assert len(set(owners)) == 4 and all(a != b for a, b in itertools.pairwise(owners))
        assert all(len(batch) == 1 for _, batch, _ in state.appends)
        await WORKLOADS["durable_append"].run(state)
        for index in range(4):
            history = await state.store.read_history(data.workflow_id(index))
            assert history == data.history(index, TINY.durable_appends // 4)


@pytest.mark.parametrize("store_id", [*DURABLE, *POSTGRES])
async def test_durable_append_from_100_tasks(store_id: str) -> None:
    async with prepared("durable_append_100_tasks", store_id) as state:
        assert len(state.tasks) == 100
        assert sum(len(appends) for appends in state.tasks) == TINY.durable_appends
        for appends in state.tasks:  # each task appends to its own workflow, in order
            assert len({owner for owner, _, _ in appends}) <= 1
            assert [expected for _, _, expected in appends] == list(range(len(appends)))
        await WORKLOADS["durable_append_100_tasks"].run(state)
        for index, appends in enumerate(state.tasks):
            history = await state.store.read_history(data.workflow_id(index))
            assert history == [event for _, batch, _ in appends for event in batch]


@pytest.mark.parametrize("store_id", DURABLE)
async def test_disk_per_event_reports_bytes_per_event(store_id: str) -> None:
    async with prepared("disk_per_event", store_id) as state:
        path = Path(state.store.path)
        events = await _all_events(state.store) if store_id == "sqlite" else []
        value = await WORKLOADS["disk_per_event"].run(state)
        assert value is not None and value > 0
        notes = state.notes
        assert 0 < notes["empty_file_bytes"] < notes["file_bytes"]
        assert value == notes["file_bytes"] / (TINY.memory_workflows * TINY.memory_events)
        assert path.exists() and not Path(f"{path}-wal").exists()  # VACUUMed, checkpointed
        if store_id == "sqlite":
            assert len(events) == TINY.memory_workflows * TINY.memory_events
    assert not path.parent.exists()  # closing removed the file


async def _read_back_thirty(store: Any, owner: WorkflowId, events: list[Event]) -> None:
    """Reads of the 30 events appended, then a stale writer that changes nothing."""
    assert await store.read_history(owner) == events
    assert await store.read_history_from(owner, 21) == events[20:]
    assert await store.read_history_from(owner, 31) == []
    assert await store.read_history(data.workflow_id(9)) == []
    with pytest.raises(SequenceConflict) as conflict:  # a stale writer
        await store.append(TOKEN, owner, [events[-1]], 29)
    assert conflict.value.found == 30
    assert await store.read_history(owner) == events  # the rejected append changed nothing


@pytest.mark.parametrize("store_id", ["sqlite_floor", "eventsourcing_sqlite"])
async def test_durable_references_append_and_read(store_id: str) -> None:
    _require(store_id)
    store = await open_store(store_id)
    path = Path(store.path)
    try:
        events = data.history(0, 30)
        owner = events[0].envelope.workflow_id
        await store.append(TOKEN, owner, events[:10], 0)
        for event in events[10:]:
            await store.append(TOKEN, owner, [event], event.envelope.seq - 1)
        await _read_back_thirty(store, owner, events)
        # durable: WAL with synchronous=FULL on every connection the store uses
        full = {"journal_mode": "wal", "synchronous": 2}
        if store_id == "sqlite_floor":
            assert await store.pragmas() == full
        else:
            assert store.pragmas() == {"reader": full, "writer": full}
        # release() keeps the file, with what was committed
        await store.release()
        assert path.exists()
        again = await open_store(store_id)
        try:
            reopened = type(store)(str(path)) if store_id == "eventsourcing_sqlite" else None
            if reopened is not None:
                assert await reopened.read_history(owner) == events
                await reopened.release()
        finally:
            await close_store(again)
    finally:
        await close_store(store)
    assert not path.parent.exists()


async def test_open_store_makes_fresh_durable_stores() -> None:
    stores = [await open_store("sqlite", cache_bytes=0), await open_store("sqlite")]
    try:
        assert len({store.path for store in stores}) == 2
        assert all(Path(store.path).exists() for store in stores)
        assert all(type(store).__name__ == "BenchSqliteStore" for store in stores)
        events = data.history(0, 5)
        await stores[0].append(TOKEN, events[0].envelope.workflow_id, events, 0)
        assert await stores[1].read_history(events[0].envelope.workflow_id) == []
    finally:
        for store in stores:
            await close_store(store)
            await close_store(store)  # idempotent
    assert not any(Path(store.path).parent.exists() for store in stores)
    await close_store(make_store("naive"))  # nothing to close: a no-op


@pytest.mark.parametrize("store_id", ["naive", *DURABLE, *POSTGRES])
async def test_prime_wal_ballasts_durable_stores_only(store_id: str) -> None:
    _require(store_id)
    store = await open_store(store_id)
    try:
        await prime_wal(store)
        ballast = data.workflow_id(9_000_000)
        history = await store.read_history(ballast)
        assert is_durable(store) == (store_id != "naive")
        assert len(history) == (80 if is_durable(store) else 0)
    finally:
        await close_store(store)


# -- the postgres family ----------------------------------------------------------------------


def test_the_postgres_family_needs_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DSN_VARIABLE, raising=False)
    durable_postgres.use_dsn(None)
    assert durable_postgres.postgres_dsn() is None
    for store_id in POSTGRES:
        reason = unavailable_reason(store_id)
        assert reason is not None and "--postgres-dsn DSN" in reason and DSN_VARIABLE in reason
    assert not set(POSTGRES) & set(available_stores())
    with pytest.raises(RuntimeError, match="need a server"):
        asyncio.run(open_store("postgres_floor"))
    # the environment variable names one; use_dsn (--postgres-dsn) wins over it
    monkeypatch.setenv(DSN_VARIABLE, "postgresql://from-the-environment/db")
    assert durable_postgres.postgres_dsn() == "postgresql://from-the-environment/db"
    assert set(POSTGRES) <= set(available_stores())  # nothing connects yet
    durable_postgres.use_dsn("postgresql://given/db")
    try:
        assert durable_postgres.postgres_dsn() == "postgresql://given/db"
    finally:
        durable_postgres.use_dsn(None)
    assert durable_postgres.postgres_dsn() == "postgresql://from-the-environment/db"


async def test_a_server_that_does_not_answer_is_one_line() -> None:
    with pytest.raises(durable_postgres.ServerUnavailable) as failure:
        await durable_postgres.server_info("postgresql://nobody@/db?host=/nonexistent/socket")
    assert "\n" not in str(failure.value) and str(failure.value)


@pytest.mark.parametrize("store_id", POSTGRES)
async def test_postgres_stores_append_and_read(store_id: str, postgres_dsn: str) -> None:
    _require(store_id)
    info = await durable_postgres.server_info(postgres_dsn)
    assert info["version"] and info["version_num"] >= 100_000
    store = await open_store(store_id)
    schema = store.schema
    try:
        assert await _schemas() == [schema] and is_durable(store)
        await prime_wal(store)  # and opens every connection of its pool
        events = data.history(0, 30)
        owner = events[0].envelope.workflow_id
        await store.append(TOKEN, owner, events[:10], 0)
        async with store.round_trips() as counted:
            for event in events[10:]:
                await store.append(TOKEN, owner, [event], event.envelope.seq - 1)
        # one round trip per append on each: PostgresStore's is the call of its append
        # function (its pool sends no reset for a clean connection)
        assert counted.total == 20, counted.by_statement
        await _read_back_thirty(store, owner, events)
        # durable: every side commits with synchronous_commit and fsync on
        settings = store.settings()
        settings = await settings if asyncio.iscoroutine(settings) else settings
        assert settings == {"synchronous_commit": "on", "fsync": "on"}
        # release() keeps the schema and what was committed; close() drops it
        await store.release()
        assert await _schemas() == [schema]
    finally:
        await close_store(store)
        await close_store(store)  # idempotent
    assert await _schemas() == []


@pytest.mark.parametrize("store_id", POSTGRES)
async def test_postgres_disk_per_event(store_id: str) -> None:
    async with prepared("disk_per_event", store_id) as state:
        value = await WORKLOADS["disk_per_event"].run(state)
        assert value is not None and value > 0
        notes = state.notes
        assert 0 < notes["empty_file_bytes"] < notes["file_bytes"]
        assert value == notes["file_bytes"] / (TINY.memory_workflows * TINY.memory_events)
    assert await _schemas() == []


@pytest.mark.parametrize("store_id", ["postgres_floor"])
def test_the_sampler_drops_every_schema(store_id: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        appends = Sampler(WORKLOADS["durable_append"], store_id, TINY, loop=loop)
        assert appends.durable
        for _ in range(2):
            appends.prepare()
            (floor,) = appends.open_stores
            assert _bench_schemas() == [floor.schema]
            appends.sample()
            assert appends.open_stores == [] and _bench_schemas() == []
        with Sampler(WORKLOADS["suffix_read_1k"], store_id, TINY, loop=loop) as reads:
            reads.prepare()
            reads.sample()
            reads.sample()
            assert len(_bench_schemas()) == 1
        assert _bench_schemas() == []
    finally:
        loop.close()


# -- the command: --postgres-dsn, AION_STORE_POSTGRES_DSN, or neither -----------------------

#: Tiny sizes for the command (the memory and sqlite families' tests are test_cli's).
CLI_TINY = [
    "--quick",
    "--samples=1",
    "--small-history=60",
    "--big-history=500",
    "--tail-appends=10",
    "--long-history=300",
    "--timers=1000",
    "--active-workflows=40",
    "--memory-workflows=4",
    "--memory-events=12",
    "--durable-appends=40",
    "--plain",
]


def bench(*args: str | Path, dsn: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """``aion-store bench ARGS`` in a child process; ``AION_STORE_POSTGRES_DSN`` is ``dsn``
    (unset when None)."""
    env = {name: value for name, value in os.environ.items() if name != DSN_VARIABLE}
    if dsn is not None:
        env[DSN_VARIABLE] = dsn
    return subprocess.run(
        [sys.executable, "-m", "aion_store.cli", "bench", *map(str, args)],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[bytes]) -> str:
    """The one line on stderr of a run refused before it measured anything (exit 2)."""
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 2, (result.returncode, stderr)
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert result.stdout == b"" and not stderr.startswith("[")
    return stderr.rstrip("\n")


def test_bench_without_a_server_leaves_the_postgres_family_out(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    result = bench(*CLI_TINY, "--workloads=durable_append", "--json", results)
    assert result.returncode == 0, result.stderr
    stores = json.loads(results.read_text())["workloads"]["durable_append"]["stores"]
    assert set(stores) == {"sqlite", "sqlite_floor", "eventsourcing_sqlite"} & set(AVAILABLE)
    assert b"\npostgres: " not in result.stdout
    # asked for by name: refused, saying how to give a server
    line = refused(bench(*CLI_TINY, "--stores", "sqlite,postgres"))
    assert line == (
        "--stores: postgres is not available here: no PostgreSQL server given: give a "
        f"PostgreSQL server with --postgres-dsn DSN or {DSN_VARIABLE}=DSN"
    )
    line = refused(bench(*CLI_TINY, "--postgres-dsn", " "))
    assert line.startswith("--postgres-dsn: empty; give a PostgreSQL server")


def test_bench_refuses_a_server_that_does_not_answer() -> None:
    nowhere = "postgresql://nobody@/db?host=/nonexistent/socket"
    line = refused(bench(*CLI_TINY, "--postgres-dsn", nowhere))
    assert line.startswith("--postgres-dsn: cannot connect to the PostgreSQL server: ")
    assert nowhere not in line  # a DSN may hold a password
    line = refused(bench(*CLI_TINY, "--stores=postgres_floor", dsn=nowhere))
    assert line.startswith(f"{DSN_VARIABLE}: cannot connect to the PostgreSQL server: ")
    # not needed (no postgres store chosen): not checked
    result = bench(*CLI_TINY, "--stores=naive", "--workloads=list_active", dsn=nowhere)
    assert result.returncode == 0, result.stderr


def test_bench_runs_the_postgres_family(postgres_dsn: str, tmp_path: Path) -> None:
    durable_postgres.use_dsn(postgres_dsn)  # for _bench_schemas
    try:
        results = tmp_path / "results.json"
        workloads = "--workloads=durable_append,suffix_read_60,list_active,disk_per_event"
        result = bench(*CLI_TINY, workloads, "--postgres-dsn", postgres_dsn, "--json", results)
        assert result.returncode == 0, result.stderr
        document = json.loads(results.read_text())
        postgres = set(POSTGRES) & set(available_stores())
        for workload_id, entry in document["workloads"].items():
            expected = postgres if workload_id != "list_active" else {"postgres"}
            assert expected <= set(entry["stores"]), workload_id
        server = document["machine"]["postgres"]
        assert server["version"] and server["synchronous_commit"] == "on"
        assert postgres_dsn not in results.read_text()  # never the DSN
        table = result.stdout.decode("utf-8")
        heading = "\npostgres: PostgreSQL server of --postgres-dsn"
        assert heading in table and "'store \N{MULTIPLICATION SIGN}' = postgres_floor" in table
        assert "postgres \N{MULTIPLICATION SIGN}" in table
        assert f"PostgreSQL {server['version']}" in table
        assert _bench_schemas() == []  # every store's schema dropped
        # the environment variable does the same (only the postgres family here)
        stores = "--stores=postgres,postgres_floor"
        result = bench(*CLI_TINY, "--workloads=durable_append", stores, dsn=postgres_dsn)
        assert result.returncode == 0, result.stderr
        assert b"\npostgres: " not in result.stdout and result.stdout.startswith(b"postgres: ")
    finally:
        durable_postgres.use_dsn(None)


# -- the report: a table per family -------------------------------------------------------

X = "\N{MULTIPLICATION SIGN}"


def _stats(median: float) -> dict[str, Any]:
    return {"median": median, "min": median, "max": median, "samples": 1}


def _results(workloads: dict[str, tuple[str, dict[str, float]]]) -> dict[str, Any]:
    return {
        "version": "test",
        "machine": {},
        "workloads": {
            workload_id: {
                "unit": unit,
                "stores": {store: _stats(median) for store, median in medians.items()},
            }
            for workload_id, (unit, medians) in workloads.items()
        },
    }


def test_family_tables_and_their_ratio_columns() -> None:
    results = _results(
        {
            "w1": ("s", {"naive": 4.0, "compiled": 1.0, "sqlite": 2.0, "sqlite_floor": 3.0}),
            "w2": ("s", {"sqlite": 1e-3, "sqlite_floor": 2e-3, "eventsourcing_sqlite": 4e-3}),
            "disk_per_event": (BYTES_PER_EVENT, {"sqlite": 200.0, "sqlite_floor": 100.0}),
            "w3": ("s", {"mystery": 1.0, "naive": 2.0}),
        }
    )
    memory, sqlite, other = family_tables(results)
    assert (memory.family, memory.reference) == ("memory", "naive")
    assert memory.stores == ["compiled", "naive"] and memory.compared == ["compiled"]
    assert memory.headers == ["workload", "compiled", "naive", f"compiled {X}"]
    assert memory.rows == [["w1", "1 s", "4 s", f"4.0{X}"], ["w3", "-", "2 s", "-"]]
    assert (sqlite.family, sqlite.reference) == ("sqlite", "sqlite_floor")
    assert sqlite.headers == [
        "workload",
        "sqlite",
        "sqlite_floor",
        "eventsourcing_sqlite",
        f"sqlite {X}",
        f"eventsourcing_sqlite {X}",
    ]
    assert sqlite.rows == [
        ["w1", "2 s", "3 s", "-", f"1.5{X}", "-"],
        ["w2", "1 ms", "2 ms", "4 ms", f"2.0{X}", f"0.5{X}"],
        ["disk_per_event (per event)", "200 B", "100 B", "-", f"0.5{X}", "-"],
    ]
    assert f"'store {X}' = sqlite_floor / store" in sqlite.heading
    # a store this version does not know: its own table, no ratios
    assert (other.family, other.reference, other.compared) == ("other", None, [])
    assert other.rows == [["w3", "1 s"]]
    text = plain_table(results)
    assert text.startswith(f"memory: in memory; 'store {X}' = naive / store\nworkload ")
    assert "\nsqlite: SQLite file" in text and "\nother: " in text
    markdown = markdown_table(results)
    assert markdown.startswith(
        f"**memory: in memory; 'store {X}' = naive / store**\n\n| workload |"
    )
    assert markdown.count("| workload |") == 3


def test_a_family_without_its_reference_has_no_ratios() -> None:
    (table,) = family_tables(_results({"w": ("s", {"sqlite": 1.0, "eventsourcing_sqlite": 2.0})}))
    assert table.family == "sqlite" and table.compared == []
    assert table.headers == ["workload", "sqlite", "eventsourcing_sqlite"]
    assert table.heading == f"sqlite: {FAMILIES['sqlite'].title}"


def test_the_postgres_family_has_its_own_table() -> None:
    results = _results(
        {
            "durable_append": (
                "s",
                {
                    "sqlite": 2e-4,
                    "sqlite_floor": 1e-4,
                    "postgres": 5e-4,
                    "postgres_floor": 2.5e-4,
                    "eventsourcing_postgres": 4e-4,
                },
            ),
            "list_active": ("s", {"naive": 1e-3, "postgres": 5e-4}),
        }
    )
    results["machine"] = {"postgres": {"version": "15.18", "synchronous_commit": "on"}}
    sqlite, postgres = family_tables(results)[1:]
    assert sqlite.family == "sqlite" and sqlite.stores == ["sqlite", "sqlite_floor"]
    assert (postgres.family, postgres.reference) == ("postgres", "postgres_floor")
    assert postgres.headers == [
        "workload",
        "postgres",
        "postgres_floor",
        "eventsourcing_postgres",
        f"postgres {X}",
        f"eventsourcing_postgres {X}",
    ]
    assert postgres.rows == [
        ["durable_append", "500 µs", "250 µs", "400 µs", f"0.5{X}", f"0.62{X}"],
        ["list_active", "500 µs", "-", "-", "-", "-"],
    ]
    assert postgres.heading == (
        f"postgres: {FAMILIES['postgres'].title}; 'store {X}' = postgres_floor / store"
    )
    text = plain_table(results)
    assert "\npostgres: PostgreSQL server of --postgres-dsn" in text
    assert ", PostgreSQL 15.18\n" in text  # the caption names the server's version


def test_results_of_an_earlier_version_still_report() -> None:
    results = load_results(str(RESULTS_0_1))
    (memory,) = family_tables(results)  # only in-memory stores then
    assert memory.family == "memory" and memory.reference == "naive"
    assert len(memory.rows) == len(results["workloads"])
    assert f"compiled {X}" in memory.headers


def test_the_published_results_report_every_family() -> None:
    if not DOCS_RESULTS.exists():
        pytest.skip("docs/bench.json is not in this tree (an sdist)")
    results = load_results(str(DOCS_RESULTS))
    tables = family_tables(results)
    assert [table.family for table in tables] == ["memory", "sqlite", "postgres"]
    assert all(table.rows for table in tables)


# -- the naive baseline agrees with InMemoryStore -----------------------------------------


async def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", await call())
    except Exception as error:
        return ("error", type(error).__name__, str(error))


class _Scenario:
    """Random but valid-ish operation sequences over a few workflows."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.workflows = [data.workflow_id(50_000 + i) for i in range(5)]
        self.heads = dict.fromkeys(self.workflows, 0)
        self.run_of: dict[WorkflowId, RunId | None] = dict.fromkeys(self.workflows)
        self.terminal = dict.fromkeys(self.workflows, False)
        self.clock = 0

    def at(self) -> Any:
        self.clock += 1
        return data.BASE_TIME + timedelta(seconds=self.clock)

    def event(self, workflow_id: WorkflowId, seq: int) -> Event:
        rng = self.rng
        envelope = EventEnvelope(seq=seq, recorded_at=self.at(), workflow_id=workflow_id)
        payload = Payload.from_json({"n": rng.randrange(100)})
        if seq == 1 or (self.terminal[workflow_id] and rng.random() < 0.7) or rng.random() < 0.03:
            parent = self.run_of[workflow_id] if seq > 1 else None
            run = data.run_id(rng.randrange(10**9))
            self.run_of[workflow_id] = run
            self.terminal[workflow_id] = False
            return WorkflowStarted(
                envelope=envelope,
                workflow_type=rng.choice(["order", "invoice"]),
                input=payload,
                run_id=run,
                parent_run_id=parent,
                package_version=PackageVersion("h1"),
            )
        roll = rng.random()
        if roll < 0.3:
            return SignalReceived(envelope=envelope, name="s", payload=payload)
        if roll < 0.45:
            return ActivityScheduled(
                envelope=envelope, activity_id=ActivityId(seq), activity_type="a", input=payload
            )
        if roll < 0.6:
            child = rng.choice(self.workflows)
            return ChildWorkflowStarted(
                envelope=envelope,
                child_workflow_id=child,
                workflow_type="child",
                input=payload,
                package_version=PackageVersion("h2"),
            )
        if roll < 0.7:
            return TimerStarted(
                envelope=envelope, timer_id=TimerId.named("t"), fire_at=data.BASE_TIME
            )
        self.terminal[workflow_id] = True
        if roll < 0.8:
            return WorkflowCompleted(envelope=envelope, result=payload)
        if roll < 0.85:
            return WorkflowFailed(envelope=envelope, error=WorkflowError("boom", None))
        if roll < 0.9:
            return WorkflowCancelled(envelope=envelope, reason="user")
        run = self.run_of[workflow_id] or data.run_id(1)
        return WorkflowContinuedAsNew(
            envelope=envelope, input=payload, workflow_type=None, parent_run_id=run
        )

    def operation(self, stores: list[Any]) -> tuple[str, list[Callable[[], Any]]]:
        rng = self.rng
        w = rng.choice(self.workflows)
        roll = rng.random()
        if roll < 0.5:
            head = self.heads[w]
            batch = [self.event(w, head + 1 + i) for i in range(rng.randrange(0, 4))]
            expected = head
            if rng.random() < 0.1:
                expected = max(0, head + rng.choice([-1, 1]))
            if batch and rng.random() < 0.05:
                batch.reverse()
            if batch and rng.random() < 0.03:
                batch[0] = self.event(rng.choice(self.workflows), head + 1)
            if rng.random() < 0.02:
                batch.append("not an event")  # type: ignore[arg-type]
            return "append", [
                (lambda s=s: s.append(TOKEN, w, list(batch), expected)) for s in stores
            ]
        if roll < 0.6:
            start = rng.randrange(0, self.heads[w] + 3)
            return "read_from", [(lambda s=s: s.read_history_from(w, start)) for s in stores]
        if roll < 0.65:
            return "run_chain", [(lambda s=s: s.read_run_chain(w)) for s in stores]
        if roll < 0.7:
            return "list_active", [(lambda s=s: s.list_active()) for s in stores]
        if roll < 0.75:
            return "ids", [(lambda s=s: s.list_workflow_ids()) for s in stores]
        if roll < 0.82:
            filters = [
                WorkflowFilter(),
                WorkflowFilter(status=WorkflowStatus.RUNNING),
                WorkflowFilter(parent=rng.choice(self.workflows)),
                WorkflowFilter(workflow_type="order", started_after=data.BASE_TIME),
            ]
            f = rng.choice(filters)
            return "query", [(lambda s=s: s.query(f)) for s in stores]
        if roll < 0.88:
            timer = TimerId.named(rng.choice(["a", "b", "c"]))
            fire_at = data.BASE_TIME + timedelta(seconds=rng.randrange(100))
            return "schedule_timer", [
                (lambda s=s: s.schedule_timer(w, timer, fire_at)) for s in stores
            ]
        if roll < 0.92:
            as_of = data.BASE_TIME + timedelta(seconds=rng.randrange(100))
            return "expired", [(lambda s=s: s.expired_timers(as_of)) for s in stores]
        if roll < 0.95:
            record = VisibilityRecord(
                workflow_id=w,
                run_id=data.run_id(rng.randrange(4)),
                workflow_type=rng.choice(["order", "invoice"]),
                status=rng.choice(list(WorkflowStatus)),
                start_time=data.BASE_TIME + timedelta(seconds=rng.randrange(5)),
                search_attributes={"n": rng.randrange(5)},
            )
            return "record", [(lambda s=s: s.record_visibility(record)) for s in stores]
        if roll < 0.98:
            vf = ListWorkflowsFilter(
                workflow_type=rng.choice([None, "order"]),
                search_attributes=(SearchAttributePredicate.GreaterThan("n", 1),),
                limit=rng.choice([None, 2]),
                offset=rng.choice([None, 1]),
            )
            if rng.random() < 0.5:
                return "list_workflows", [(lambda s=s: s.list_workflows(vf)) for s in stores]
            return "count_workflows", [(lambda s=s: s.count_workflows(vf)) for s in stores]
        package = PackageRecord(
            rng.choice(["order", "invoice"]), f"h{rng.randrange(3)}", b"z", self.at()
        )
        return "package", [(lambda s=s: s.put_package(package)) for s in stores]

    async def after(self, kind: str, stores: list[Any]) -> None:
        if kind == "append":
            for w in self.workflows:
                self.heads[w] = len(await stores[0].read_history(w))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_naive_agrees_with_in_memory_store(seed: int) -> None:
    engines = [make_store(store_id) for store_id in CORE if store_id != "naive"]
    stores = [*engines, NaiveInMemoryStore()]
    scenario = _Scenario(seed)
    outcomes_seen = set()
    for step in range(400):
        kind, calls = scenario.operation(stores)
        outcomes = [await _outcome(call) for call in calls]
        for other in outcomes[1:]:
            assert other == outcomes[0], f"step {step} ({kind}): {other} != {outcomes[0]}"
        outcomes_seen.add((kind, outcomes[0][0]))
        await scenario.after(kind, stores)
    for w in scenario.workflows:
        histories = [await s.read_history(w) for s in stores]
        assert all(h == histories[0] for h in histories)
    assert ("append", "ok") in outcomes_seen and ("append", "error") in outcomes_seen
