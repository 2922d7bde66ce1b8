"""InMemoryStore beyond the conformance suite, on both engines explicitly: concurrency,
argument checking, the raw history form, the compiled engine's decoded-event cache, and
rejected appends that must leave no trace."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import msgpack
import pytest

from aion_store import (
    BackendError,
    Event,
    EventEnvelope,
    InMemoryStore,
    ListWorkflowsFilter,
    Payload,
    RunId,
    ScheduleConfig,
    SequenceConflict,
    StoreError,
    TimerId,
    TriggerSpec,
    WorkflowFilter,
    WorkflowId,
    WriteToken,
)
from aion_store.conformance._support import (
    EMPTY,
    RUN_1,
    RUN_2,
    SCHEDULE,
    TOKEN,
    WF_A,
    WF_B,
    WF_C,
    WF_D,
    WF_E,
    at,
    child_started,
    completed,
    envelope,
    every_variant,
    signal,
    signals,
    started,
)
from aion_store.wire import from_msgpack, to_msgpack
from engines import COMPILED_BUILT, ENGINES, requires_compiled

UTC = timezone.utc


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest) -> InMemoryStore:
    made = InMemoryStore(engine=request.param)
    assert made.engine == request.param
    return made


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads often, so that races have a chance to show."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run(coroutine: Awaitable[Any]) -> Any:
    async def wrapper() -> Any:
        return await coroutine

    return asyncio.run(wrapper())


async def append_with_retry(store: InMemoryStore, workflow_id: WorkflowId, make: Any) -> int:
    """Append ``make(head)`` at the head, retrying on conflicts; returns the conflict count."""
    head, conflicts = 0, 0
    while True:
        try:
            await store.append(TOKEN, workflow_id, make(head), head)
            return conflicts
        except SequenceConflict as conflict:
            assert conflict.expected == head
            head = conflict.found
            conflicts += 1


# -- concurrency ------------------------------------------------------------------------------


@pytest.mark.usefixtures("fast_switching")
def test_threads_retrying_on_conflict_write_each_seq_once(store: InMemoryStore) -> None:
    threads, per_thread = 8, 60
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        async def work() -> None:
            for count in range(per_thread):
                name = f"{number}:{count}"
                await append_with_retry(
                    store, WF_A, lambda head, name=name: [signal(WF_A, head + 1, name=name)]
                )

        try:
            barrier.wait()
            asyncio.run(work())
        except BaseException as error:  # reported below
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    history = run(store.read_history(WF_A))
    assert [event.seq for event in history] == list(range(1, threads * per_thread + 1))
    names = [event.name for event in history]
    assert sorted(names) == sorted(f"{n}:{c}" for n in range(threads) for c in range(per_thread))
    for number in range(threads):  # each writer's events are in its own order
        own = [int(name.split(":")[1]) for name in names if name.startswith(f"{number}:")]
        assert own == list(range(per_thread))


async def test_racing_tasks_have_exactly_one_winner(store: InMemoryStore) -> None:
    await store.append(TOKEN, WF_A, [started(WF_A, 1)], 0)

    async def attempt(task: int) -> None:
        await asyncio.sleep(0)
        await store.append(TOKEN, WF_A, [signal(WF_A, 2, name=str(task))], 1)

    results = await asyncio.gather(*(attempt(task) for task in range(200)), return_exceptions=True)
    winners = [task for task, result in enumerate(results) if result is None]
    conflicts = [result for result in results if isinstance(result, SequenceConflict)]
    assert len(winners) == 1
    assert len(conflicts) == 199
    assert all((c.expected, c.found) == (1, 2) for c in conflicts)
    history = await store.read_history(WF_A)
    assert [event.seq for event in history] == [1, 2]
    assert history[1].name == str(winners[0])


@pytest.mark.usefixtures("fast_switching")
def test_readers_never_see_half_a_batch(store: InMemoryStore) -> None:
    batch, writers, batches = 5, 4, 40
    done = threading.Event()
    problems: list[str] = []
    reads = [0]

    def check(history: list[Event], first_seq: int, what: str) -> None:
        seqs = [event.seq for event in history]
        if seqs != list(range(first_seq, first_seq + len(seqs))):
            problems.append(f"{what}: seqs {seqs[:3]}...{seqs[-3:]}")
        if (first_seq - 1 + len(history)) % batch and history:
            problems.append(f"{what}: {len(history)} events from seq {first_seq}")
        for start in range(0, len(history) - batch + 1, batch):  # every batch is whole
            tags = {event.name.rsplit(":", 1)[0] for event in history[start : start + batch]}
            if len(tags) != 1 and first_seq % batch == 1:
                problems.append(f"{what}: mixed batch {sorted(tags)}")

    def reader() -> None:
        async def work() -> None:
            while not done.is_set():
                check(await store.read_history(WF_A), 1, "read_history")
                check(await store.read_history_from(WF_A, batch + 1), batch + 1, "read_from")
                raw = await store.read_history_raw(WF_A)
                check(from_msgpack(raw, list[Event]), 1, "read_history_raw")
                reads[0] += 1

        asyncio.run(work())

    def writer(number: int) -> None:
        async def work() -> None:
            for count in range(batches):
                tag = f"{number}:{count}"
                await append_with_retry(
                    store,
                    WF_A,
                    lambda head, tag=tag: [
                        signal(WF_A, head + 1 + i, name=f"{tag}:{i}") for i in range(batch)
                    ],
                )

        asyncio.run(work())

    # Build the codec's lazy tables first: their first-use race has its own test below.
    warm = InMemoryStore(engine="pure")
    run(warm.append(TOKEN, WF_B, [signal(WF_B, 1)], 0))
    from_msgpack(run(warm.read_history_raw(WF_B)), list[Event])
    readers = [threading.Thread(target=reader) for _ in range(3)]
    writing = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in readers + writing:
        thread.start()
    for thread in writing:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert not problems, problems[:5]
    assert reads[0] > 0
    history = run(store.read_history(WF_A))
    assert len(history) == batch * writers * batches
    check(history, 1, "final read")


FIRST_RAW_READS = """
import asyncio, sys, threading, time
from aion_store import InMemoryStore
from aion_store.conformance._support import TOKEN, WF_A, every_variant
from aion_store.wire import _msgpack_py as _msgpack

try:  # the reference bytes: the compiled codec's, or (pure-only install) one thread's
    from aion_store.wire import _msgpack_c as _core
except ImportError:
    _core = _msgpack

real_spec_of = _msgpack.spec_of


def slow_spec_of(cls):
    time.sleep(0.001)  # widens the window of the codec's lazy initialisation; no other change
    return real_spec_of(cls)


_msgpack.spec_of = slow_spec_of
store = InMemoryStore(engine="pure")
events = every_variant(WF_A)
asyncio.run(store.append(TOKEN, WF_A, events, 0))
barrier = threading.Barrier(4)
results = []


def reader():
    barrier.wait()
    try:
        results.append(asyncio.run(store.read_history_raw(WF_A)))
    except Exception as error:
        results.append(error)


threads = [threading.Thread(target=reader) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
expected = _core.to_msgpack(events)
print([result == expected or repr(result)[:120] for result in results])
"""


def test_first_raw_reads_from_several_threads() -> None:
    """SPEC §12: the store is safe to share across threads, from the first call on. The
    pure engine's read_history_raw encodes with the msgpack codec, whose per-variant table
    is built lazily on first use; four threads making their first read at once must all
    get the right bytes (checked in a fresh interpreter, so the table starts unbuilt)."""
    result = subprocess.run(
        [sys.executable, "-c", FIRST_RAW_READS], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[True, True, True, True]"


# -- bad arguments ----------------------------------------------------------------------------


BAD_APPEND_ARGUMENTS: list[tuple[str, str, Callable[[], Any], type[Exception]]] = [
    ("token", "None", lambda: None, TypeError),
    ("token", "str", lambda: "recorder", TypeError),
    ("token", "the WriteToken class", lambda: WriteToken, TypeError),
    ("workflow_id", "str", lambda: str(WF_A), TypeError),
    ("workflow_id", "uuid.UUID", lambda: WF_A.uuid, TypeError),
    ("workflow_id", "RunId", lambda: RunId(str(WF_A)), TypeError),
    ("workflow_id", "None", lambda: None, TypeError),
    ("events", "generator", lambda: (event for event in [signal(WF_A, 2)]), TypeError),
    ("events", "single Event", lambda: signal(WF_A, 2), TypeError),
    ("events", "None", lambda: None, TypeError),
    ("events", "str", lambda: "events", TypeError),
    ("events", "dict", lambda: {1: signal(WF_A, 2)}, TypeError),
    ("expected_seq", "str", lambda: "1", TypeError),
    ("expected_seq", "float", lambda: 1.0, TypeError),
    ("expected_seq", "None", lambda: None, TypeError),
    ("expected_seq", "bool", lambda: True, TypeError),
    ("expected_seq", "negative", lambda: -1, ValueError),
    ("expected_seq", "beyond u64", lambda: 2**64, ValueError),
]


@pytest.mark.parametrize(
    ("argument", "make_bad", "error"),
    [case[:1] + case[2:] for case in BAD_APPEND_ARGUMENTS],
    ids=[f"{case[0]}-{case[1]}" for case in BAD_APPEND_ARGUMENTS],
)
async def test_bad_append_arguments_are_named_and_store_nothing(
    store: InMemoryStore, argument: str, make_bad: Callable[[], Any], error: type[Exception]
) -> None:
    await store.append(TOKEN, WF_A, [started(WF_A, 1)], 0)  # head 1, so True == 1 would fit
    before = await _state(store, WF_A, WF_B)
    for target in (WF_A, WF_B):
        head = 1 if target == WF_A else 0
        arguments: dict[str, Any] = {
            "token": TOKEN,
            "workflow_id": target,
            "events": [signal(target, head + 1)],
            "expected_seq": head,
        }
        arguments[argument] = make_bad()
        with pytest.raises(error, match=argument):
            await store.append(**arguments)
        assert await _state(store, WF_A, WF_B) == before


@pytest.mark.parametrize("bad", [None, "event", 3, EventEnvelope(2, at(0), WF_A)], ids=repr)
async def test_non_event_items_are_named_by_index(store: InMemoryStore, bad: Any) -> None:
    await store.append(TOKEN, WF_A, [started(WF_A, 1)], 0)
    before = await _state(store, WF_A)
    with pytest.raises(TypeError, match=r"events\[1\]"):
        await store.append(TOKEN, WF_A, [signal(WF_A, 2), bad, signal(WF_A, 4)], 1)
    assert await _state(store, WF_A) == before


async def test_bad_read_arguments_are_named(store: InMemoryStore) -> None:
    cases: list[tuple[Callable[[], Awaitable[Any]], type[Exception], str]] = [
        (lambda: store.read_history(str(WF_A)), TypeError, "workflow_id"),
        (lambda: store.read_history_from(WF_A.uuid, 1), TypeError, "workflow_id"),
        (lambda: store.read_history_from(WF_A, -1), ValueError, "from_seq"),
        (lambda: store.read_history_from(WF_A, True), TypeError, "from_seq"),
        (lambda: store.read_history_from(WF_A, "1"), TypeError, "from_seq"),
        (lambda: store.read_history_raw(WF_A, 2**64), ValueError, "from_seq"),
        (lambda: store.read_run_chain(None), TypeError, "workflow_id"),
        (lambda: store.query(None), TypeError, "WorkflowFilter"),
        (
            lambda: store.schedule_timer(str(WF_A), TimerId.named("t"), at(1)),
            TypeError,
            "workflow_id",
        ),
        (lambda: store.schedule_timer(WF_A, "t", at(1)), TypeError, "timer_id"),
        (lambda: store.schedule_timer(WF_A, TimerId.named("t"), "soon"), TypeError, "fire_at"),
        (lambda: store.expired_timers(datetime(2024, 1, 1)), ValueError, "as_of"),
        (lambda: store.list_workflows(None), TypeError, "ListWorkflowsFilter"),
    ]
    for call, error, name in cases:
        with pytest.raises(error, match=name):
            await call()
    assert await store.list_workflow_ids() == []
    assert await store.expired_timers(at(10**6)) == []


# -- read_history_raw -------------------------------------------------------------------------


def _extreme_history(workflow_id: WorkflowId) -> list[Event]:
    """Every variant, then values at the edges of what the model accepts."""
    events = every_variant(workflow_id)
    first, last = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, UTC)
    seq = len(events) + 1
    events.append(
        Event.SearchAttributesUpdated(
            envelope=EventEnvelope(seq, first, workflow_id),
            workflow_id=workflow_id,
            attributes={
                "zero": -0.0,
                "denormal": 5e-324,
                "huge": 1.7976931348623157e308,
                "first": first,
                "last": last,
                "text": "\x00nul \U0001f600 " + "x" * 70_000,
                "empty": "",
            },
        )
    )
    events.append(
        Event.TimerStarted(
            envelope=EventEnvelope(seq + 1, last, workflow_id),
            timer_id=TimerId.named("ü" * 300),
            fire_at=first,
        )
    )
    big = Payload(EMPTY.content_type, bytes(range(256)) * 4096)
    events.append(
        Event.SignalReceived(envelope=envelope(workflow_id, seq + 2), name="big", payload=big)
    )
    return events


@requires_compiled
async def test_both_engines_store_the_same_raw_bytes() -> None:
    stores = [InMemoryStore(engine=engine) for engine in ENGINES]
    events = _extreme_history(WF_A)
    for each in stores:
        await each.append(TOKEN, WF_A, events[:10], 0)
        await each.append(TOKEN, WF_A, events[10:], 10)
        assert await each.read_history(WF_A) == events
    head = len(events)
    for from_seq in range(head + 3):
        compiled, pure = [await each.read_history_raw(WF_A, from_seq) for each in stores]
        assert compiled == pure, f"raw bytes from seq {from_seq} differ"
    assert (await stores[0].read_history(WF_A))[28].attributes["zero"].hex() == (-0.0).hex()


async def test_raw_history_framing(store: InMemoryStore) -> None:
    events = _extreme_history(WF_A)
    await store.append(TOKEN, WF_A, events, 0)
    raw = await store.read_history_raw(WF_A)
    assert raw[0] == 1, "the first byte is the format version"
    unpacker = msgpack.Unpacker(raw=False, timestamp=3, max_buffer_size=len(raw))
    unpacker.feed(raw)
    items = list(unpacker)
    assert items[0] == 1
    assert len(items) == len(events) + 1, "then one msgpack object per event, no array header"
    assert all(
        isinstance(item, list) and item[1] == event.seq for item, event in zip(items[1:], events)
    )
    assert from_msgpack(raw, list[Event]) == events
    assert raw == to_msgpack(events)


async def test_raw_history_from_seq(store: InMemoryStore) -> None:
    events = [started(WF_A, 1), *signals(WF_A, 2, 5)]
    await store.append(TOKEN, WF_A, events, 0)
    full = await store.read_history_raw(WF_A)
    assert await store.read_history_raw(WF_A, 0) == full
    assert await store.read_history_raw(WF_A, 1) == full
    for from_seq in range(0, 9):
        raw = await store.read_history_raw(WF_A, from_seq)
        assert from_msgpack(raw, list[Event]) == await store.read_history_from(WF_A, from_seq)
        assert full.endswith(raw[1:]), "a suffix of the stored bytes"
    assert await store.read_history_raw(WF_A, 7) == b"\x01"
    assert await store.read_history_raw(WF_A, 2**64 - 1) == b"\x01"
    assert await store.read_history_raw(WF_B) == b"\x01"
    assert await store.read_history_raw(WF_B, 5) == b"\x01"


I64_MICROSECOND_DAYS = (2**63 - 1) // 86_400_000_000  # 106_751_991


@pytest.mark.parametrize(
    "period",
    [
        timedelta(days=I64_MICROSECOND_DAYS),
        timedelta(days=I64_MICROSECOND_DAYS + 1),
        timedelta.max,
    ],
    ids=["i64-max-days", "i64-max-days-plus-1", "timedelta-max"],
)
async def test_a_huge_schedule_interval_is_stored_or_refused(
    store: InMemoryStore, period: timedelta
) -> None:
    """An event the model accepts is either stored and read back by every read, or refused
    with nothing stored; never a history that cannot be read (SPEC §1, §6, §12)."""
    config = ScheduleConfig(trigger=TriggerSpec.Interval(period), workflow_type="x", input=EMPTY)
    events = [
        started(WF_A, 1),
        Event.ScheduleCreated(envelope=envelope(WF_A, 2), schedule_id=SCHEDULE, config=config),
    ]
    try:
        await store.append(TOKEN, WF_A, events, 0)
    except (ValueError, TypeError, StoreError):
        assert await store.list_workflow_ids() == []
        assert await store.read_history(WF_A) == []
        return
    assert await store.read_history(WF_A) == events
    assert await store.read_history_from(WF_A, 2) == events[1:]
    assert from_msgpack(await store.read_history_raw(WF_A), list[Event]) == events


def _subclass(base: type) -> type:
    """A subclass of ``base`` defined outside the package (the model may refuse it)."""
    if dataclasses.is_dataclass(base):
        return dataclasses.dataclass(frozen=True, slots=True)(type("Sub", (base,), {}))
    return type("Sub", (base,), {"__slots__": ()})


SUBCLASSED_VALUES: dict[str, tuple[type, Callable[[type], Event]]] = {
    "Payload subclass": (
        Payload,
        lambda sub: Event.SignalReceived(
            envelope=envelope(WF_A, 1), name="x", payload=sub(EMPTY.content_type, b"1")
        ),
    ),
    "EventEnvelope subclass": (
        EventEnvelope,
        lambda sub: Event.SignalReceived(envelope=sub(1, at(1), WF_A), name="x", payload=EMPTY),
    ),
    "WorkflowId subclass in a field": (
        WorkflowId,
        lambda sub: child_started(WF_A, 1, sub(str(WF_B))),
    ),
    "event variant subclass": (
        Event.SignalReceived,
        lambda sub: sub(envelope=envelope(WF_A, 1), name="x", payload=EMPTY),
    ),
}


@requires_compiled
@pytest.mark.parametrize("case", list(SUBCLASSED_VALUES))
async def test_engines_agree_on_events_built_from_subclasses(case: str) -> None:
    """Both paths give the same result (SPEC §12): either the model refuses the subclass
    outright, or both engines store the event and read it back equal, or both refuse it."""
    base, build = SUBCLASSED_VALUES[case]
    try:
        sub = _subclass(base)
    except TypeError:
        return  # model types are final: no such event can reach a store
    event = build(sub)
    outcomes = []
    for engine in ENGINES:
        store = InMemoryStore(engine=engine)
        appended = await _outcome(store.append(TOKEN, WF_A, [event], 0))
        read = await _outcome(store.read_history(WF_A))
        outcomes.append((engine, appended[:2], read == ("ok", [event])))
    (_, compiled_append, compiled_read), (_, pure_append, pure_read) = outcomes
    assert (compiled_append, compiled_read) == (pure_append, pure_read), outcomes


# -- the compiled engine's decoded-event cache ------------------------------------------------


async def _outcome(call: Awaitable[Any]) -> Any:
    try:
        return ("ok", await call)
    except Exception as error:
        return ("error", type(error).__name__, str(error))


def _random_batch(rng: random.Random, workflow_id: WorkflowId, head: int) -> list[Event]:
    events: list[Event] = []
    for _ in range(rng.randint(1, 4)):
        seq = head + 1 + len(events)
        kind = rng.randrange(6)
        if kind == 0 and seq <= 28:
            events.append(every_variant(workflow_id, 1)[seq - 1])
        elif kind == 1:
            child = rng.choice([WF_A, WF_B, WF_C, WF_D, WF_E])
            events.append(child_started(workflow_id, seq, child))
        else:
            events.append(signal(workflow_id, seq, name=f"s{seq}"))
    return events


async def _read(store: InMemoryStore, action: int, workflow_id: WorkflowId, from_seq: int) -> Any:
    if action == 2:
        return await store.read_history(workflow_id)
    if action == 3:
        return await store.read_history_from(workflow_id, from_seq)
    return await store.read_history_raw(workflow_id, from_seq)


@requires_compiled
@pytest.mark.parametrize("cache", [0, 100, 2_000, 15_000, 10_000_000])
async def test_decoded_cache_reads_equal_the_pure_engine(cache: int) -> None:
    compiled = InMemoryStore(engine="compiled", decoded_cache_bytes=cache)
    pure = InMemoryStore(engine="pure")
    rng = random.Random(20240501 + cache)
    workflows = [WF_A, WF_B, WF_C, WF_D, WF_E]
    heads = dict.fromkeys(workflows, 0)
    for step in range(600):
        workflow_id = rng.choice(workflows)
        action = rng.randrange(5)
        if action <= 1:
            batch = _random_batch(rng, workflow_id, heads[workflow_id])
            for each in (compiled, pure):
                await each.append(TOKEN, workflow_id, batch, heads[workflow_id])
            heads[workflow_id] += len(batch)
            continue
        from_seq = rng.randint(0, heads[workflow_id] + 2)
        got, want = [await _read(each, action, workflow_id, from_seq) for each in (compiled, pure)]
        assert got == want, f"step {step}: read {action} of {workflow_id} from {from_seq} differs"
    for workflow_id in workflows:
        assert await compiled.read_history(workflow_id) == await pure.read_history(workflow_id)
        assert len(await compiled.read_history(workflow_id)) == heads[workflow_id]
        assert await _outcome(compiled.read_run_chain(workflow_id)) == await _outcome(
            pure.read_run_chain(workflow_id)
        )
    assert await compiled.list_workflow_ids() == await pure.list_workflow_ids()
    assert await compiled.list_active() == await pure.list_active()
    assert await compiled.query(WorkflowFilter()) == await pure.query(WorkflowFilter())


@requires_compiled
async def test_appends_to_a_cached_workflow_show_up() -> None:
    store = InMemoryStore(engine="compiled", decoded_cache_bytes=4_000)
    await store.append(TOKEN, WF_A, [started(WF_A, 1), signal(WF_A, 2)], 0)
    first = await store.read_history(WF_A)  # now cached
    await store.append(TOKEN, WF_A, [signal(WF_A, 3)], 2)
    assert [event.seq for event in await store.read_history(WF_A)] == [1, 2, 3]
    assert [event.seq for event in await store.read_history_from(WF_A, 3)] == [3]
    await store.append(TOKEN, WF_A, signals(WF_A, 4, 20), 3)  # grows beyond the cache
    assert [event.seq for event in await store.read_history(WF_A)] == list(range(1, 24))
    assert [event.seq for event in first] == [1, 2], "an earlier result is not changed"


# -- rejected appends leave no trace ----------------------------------------------------------


async def _state(store: InMemoryStore, *workflow_ids: WorkflowId) -> dict[str, Any]:
    """Everything observable about some workflows and the listings."""
    state: dict[str, Any] = {
        "ids": await store.list_workflow_ids(),
        "active": await store.list_active(),
        "query": await store.query(WorkflowFilter()),
        "visibility": await store.list_workflows(ListWorkflowsFilter()),
    }
    for workflow_id in workflow_ids:
        history = await store.read_history(workflow_id)
        state[f"{workflow_id} head"] = len(history)
        state[f"{workflow_id} history"] = history
        state[f"{workflow_id} from 2"] = await store.read_history_from(workflow_id, 2)
        state[f"{workflow_id} raw"] = await store.read_history_raw(workflow_id)
        state[f"{workflow_id} chain"] = await store.read_run_chain(workflow_id)
        state[f"{workflow_id} children"] = await store.query(WorkflowFilter(parent=workflow_id))
    return state


def _failing_batches() -> dict[str, tuple[WorkflowId, list[Any], int, type[Exception]]]:
    """Batches whose valid prefix would change every projection, then an offending item."""
    prefix = [
        completed(WF_A, 3),
        child_started(WF_A, 4, WF_D),
        started(WF_A, 5, run=RUN_2, parent_run=RUN_1, workflow_type="v2"),
    ]
    fresh = [started(WF_E, 1), child_started(WF_E, 2, WF_D)]
    return {
        "bad seq in the middle": (
            WF_A,
            [*prefix, signal(WF_A, 9), signal(WF_A, 7)],
            2,
            BackendError,
        ),
        "foreign owner in the middle": (
            WF_A,
            [*prefix, signal(WF_B, 6), signal(WF_A, 7)],
            2,
            BackendError,
        ),
        "non-Event in the middle": (WF_A, [*prefix[:2], "x", prefix[2]], 2, TypeError),
        "stale expected_seq": (WF_A, [signal(WF_A, 2), *prefix], 1, SequenceConflict),
        "new workflow, bad seq": (WF_E, [*fresh, signal(WF_E, 4)], 0, BackendError),
        "new workflow, foreign owner": (WF_E, [*fresh, signal(WF_A, 3)], 0, BackendError),
        "new workflow, non-Event": (WF_E, [*fresh, None], 0, TypeError),
    }


@pytest.mark.parametrize("case", list(_failing_batches()))
async def test_a_rejected_append_leaves_no_trace(store: InMemoryStore, case: str) -> None:
    workflow_id, batch, expected_seq, error = _failing_batches()[case]
    await store.append(TOKEN, WF_A, [started(WF_A, 1, when=at(1)), child_started(WF_A, 2, WF_B)], 0)
    await store.append(TOKEN, WF_B, [started(WF_B, 1, when=at(2))], 0)
    await store.append(TOKEN, WF_C, signals(WF_C, 1, 2), 0)
    await store.append(TOKEN, WF_D, [started(WF_D, 1, when=at(4))], 0)
    watched = (WF_A, WF_B, WF_C, WF_D, WF_E)
    before = await _state(store, *watched)  # reading also fills the compiled cache
    with pytest.raises(error):
        await store.append(TOKEN, workflow_id, batch, expected_seq)
    assert await _state(store, *watched) == before
    await store.append(TOKEN, WF_A, [signal(WF_A, 3)], 2)  # the head is still 2
    assert [event.seq for event in await store.read_history(WF_A)] == [1, 2, 3]


@pytest.mark.skipif(COMPILED_BUILT, reason="the pure-only install's case (CI: make test-pure-only)")
def test_asking_for_the_compiled_engine_without_it_says_why() -> None:
    message = "compiled engine is not available here: pure-Python path: the compiled extension"
    with pytest.raises(ImportError, match=message):
        InMemoryStore(engine="compiled")
