"""The standard benchmark workloads, defined once for pytest-benchmark and ``aion-store bench``.

A :class:`Workload` is an untimed ``prepare`` (build the events, fill a fresh store) and a
timed ``run`` (one sample: ``ops_per_sample(sizes)`` store operations). :func:`measure`
runs one workload on one store and returns one number per sample: seconds per operation,
or bytes per stored event for ``memory_per_event``.

Stores come in families, each measured against its own reference store: ``memory``
(against ``naive``), ``sqlite`` (against the bare SQLite floor) and ``postgres``
(against the bare asyncpg floor). The registry -- ``FAMILIES``, ``STORES``,
``REFERENCES``, :func:`open_store`, :func:`available_stores` -- is
:mod:`aion_store.bench.stores`'s; these names are re-exported here.

Ids: ``WORKLOADS`` is keyed by the ids at the default sizes. An id that names a size
(``full_read_100k_cold``, ``suffix_read_1k``) names the size measured, so at other sizes
the same workload has another id (:meth:`Workload.id_at`, :func:`workloads_at`:
``full_read_20k_cold`` at ``Sizes.quick()``); runs at the same sizes share their ids.

How a sample is timed: events are built first (``aion_store.bench.data``), outside the
timed region; ``run`` is awaited on one persistent asyncio event loop and timed with
``time.perf_counter`` inside the coroutine, so the loop's own scheduling is not counted.
A workload that changes its store (appends, the mixed run, memory, disk) gets a
freshly prepared store for every sample; a read-only one is prepared once and its
``run`` is repeated within a sample until the sample lasts at least
``min_sample_time`` (like ``timeit``'s autorange), so that sub-microsecond clock noise
does not matter. The cyclic garbage collector stays on, as in production: a store that
keeps millions of Python objects pays for it. For the same reason the harness keeps no
events of its own around a read-only measurement (:func:`forget_inputs`): only the
store holds them. The sampler closes every store it made (:meth:`Sampler.close`; a
sample's own once it is taken). Compare medians, within a family.

Durable stores: untimed preparation fills many workflows (or schedules many timers)
concurrently, so group commit keeps it fast (an in-memory store runs the same tasks one
after the other, in order, and ends up as if filled in one loop), and ends with
``os.sync()``, so the timed commits do not pay for the preparation's writes. Workloads
that would take an fsync per event by the thousand (``append_many``,
``append_batch10``, ``mixed_engine``) or mean nothing on disk (``memory_per_event``)
are in-memory only; ``durable_append``, ``durable_append_100_tasks`` and
``disk_per_event`` are the durable families' own (sqlite and postgres).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import math
import os
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from aion_store.bench import data
from aion_store.bench.durable import close_store, discard, disk_bytes, prime_wal
from aion_store.bench.stores import (
    ALL_STORES,
    COMPLETE,
    DURABLE,
    FAMILIES,
    MEMORY,
    REFERENCES,
    STORES,
    Family,
    available_stores,
    family_of,
    make_store,
    open_store,
)
from aion_store.error import SequenceConflict
from aion_store.events import Event, TimerStarted
from aion_store.ids import TimerId, WorkflowId
from aion_store.status import WorkflowFilter, WorkflowStatus
from aion_store.store import WriteToken

__all__ = [
    "BYTES_PER_EVENT",
    "FAMILIES",
    "REFERENCES",
    "SECONDS",
    "STORES",
    "WORKLOADS",
    "Family",
    "Sampler",
    "Sizes",
    "Workload",
    "available_stores",
    "close_store",
    "count_label",
    "family_of",
    "forget_inputs",
    "make_store",
    "measure",
    "open_store",
    "timed",
    "workloads_at",
]


#: The unit of a timed workload: seconds per operation.
SECONDS = "s"
#: The unit of ``memory_per_event`` and ``disk_per_event``.
BYTES_PER_EVENT = "bytes/event"
#: A read-only workload repeats ``run`` until one sample lasts at least this long.
MIN_SAMPLE_TIME = 0.005
_MAX_REPEAT = 100_000

TOKEN = WriteToken.recorder()
#: Makes a fresh store: ``await factory()``.
StoreFactory = Callable[[], Awaitable[Any]]

_CORE_STORES = frozenset({"compiled", "pure", "naive"})
#: Durable appends per sample go round-robin over this many workflows ...
DURABLE_WORKFLOWS = 4
#: ... or come from this many concurrent tasks.
DURABLE_TASKS = 100
#: Untimed preparation fills this many workflows (or schedules this many timers) at once:
#: a durable store's group commit then shares one fsync among them.
_CONCURRENCY = 1_000


# -- sizes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How big each workload is. ``Sizes.default()`` for real numbers, ``Sizes.quick()``
    for a smoke run; override any field with ``sizes.with_(name=value)``."""

    #: append_many / append_batch10: this many workflows, each receiving ...
    workflows: int = 10_000
    #: ... this many events (20: append_batch10 appends twice to each workflow, so the
    #: second batch meets a history already there).
    events_per_workflow: int = 20
    #: tail_append_short: the history length appended to.
    short_history: int = 100
    #: tail_append_long: the history length appended to.
    long_history: int = 10_000
    #: tail_append_*: appends per sample (spread so no history grows more than 10%).
    tail_appends: int = 50
    #: full_read_1k_cold, full_read_warm, suffix_read_1k: the history length.
    small_history: int = 1_000
    #: full_read_100k_cold, suffix_read_100k: the history length.
    big_history: int = 100_000
    #: suffix_read_*: events read from the end.
    suffix: int = 10
    #: expired_timers: timers scheduled ...
    timers: int = 100_000
    #: ... of which this many are due.
    due_timers: int = 100
    #: list_active, query_running: workflows in the store (half of them terminal) ...
    active_workflows: int = 20_000
    #: ... with this many events each.
    active_events: int = 6
    #: mixed_engine: concurrent workflows ...
    mixed_workflows: int = 10_000
    #: ... with this many events each (start to completion).
    mixed_events: int = 12
    #: mixed_engine: an ``expired_timers`` poll every this many operations ...
    poll_every: int = 1_000
    #: ... and a ``list_active`` every this many.
    list_active_every: int = 10_000
    #: memory_per_event, disk_per_event: workflows ...
    memory_workflows: int = 500
    #: ... with this many events each.
    memory_events: int = 40
    #: durable_append, durable_append_100_tasks: 1-event appends per sample (each one
    #: committed durably: an fsync when not shared).
    durable_appends: int = 400

    @classmethod
    def default(cls) -> Sizes:
        """The sizes the numbers in the README come from (all stores: about 5 minutes)."""
        return cls()

    @classmethod
    def quick(cls) -> Sizes:
        """About 5-10x smaller: every workload on every store in well under a minute."""
        return cls(
            workflows=1_000,
            events_per_workflow=20,
            long_history=2_000,
            tail_appends=20,
            big_history=20_000,
            timers=20_000,
            active_workflows=4_000,
            mixed_workflows=1_000,
            poll_every=200,
            list_active_every=2_000,
            memory_workflows=100,
            memory_events=20,
            durable_appends=200,
        )

    def with_(self, **overrides: int) -> Sizes:
        """A copy with some fields replaced."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"Sizes has no field {', '.join(unknown)}")
        return replace(self, **overrides)


# -- workloads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmark: an untimed ``prepare`` and a timed ``run`` (one sample's work).

    ``prepare(store_factory, sizes)`` builds the events and a fresh store (untimed) and
    returns the state ``run(state)`` works on. ``run`` performs ``ops_per_sample(sizes)``
    operations; for the memory workload it returns the measured bytes per event.
    ``mutates``: ``run`` changes the store, so every sample needs a fresh ``prepare``.
    ``cache_bytes``: the decoded-event cache of the compiled store, ``SqliteStore`` and
    ``PostgresStore`` for this workload (0 = cold; None = their default).
    """

    id: str
    title: str
    unit: str
    ops: Callable[[Sizes], int]
    stores: frozenset[str]
    prepare: Callable[[StoreFactory, Sizes], Awaitable[Any]] = field(repr=False)
    run: Callable[[Any], Awaitable[float | None]] = field(repr=False)
    mutates: bool = False
    cache_bytes: int | None = None
    #: Recommended number of samples.
    samples: int = 7
    #: Events appended or read by one operation, where that is fixed (for per-event numbers).
    events: Callable[[Sizes], int] | None = field(default=None, repr=False)
    doc: str = field(default="", repr=False)
    #: The :class:`Sizes` field an id names (``big_history`` for ``full_read_100k_cold``),
    #: and the id with ``{}`` where that size goes; None and "" for ids that name no size.
    sized_by: str | None = None
    id_template: str = field(default="", repr=False)

    def id_at(self, sizes: Sizes) -> str:
        """The id of this workload measured at ``sizes``: an id that names a size names the
        one measured (``full_read_100k_cold`` at the default sizes is ``full_read_20k_cold``
        at ``Sizes.quick()``). ``id`` is the id at the default sizes."""
        if self.sized_by is None:
            return self.id
        return self.id_template.format(count_label(getattr(sizes, self.sized_by)))

    def ops_per_sample(self, sizes: Sizes) -> int:
        """Store operations one ``run`` performs at these sizes."""
        return self.ops(sizes)

    def events_per_op(self, sizes: Sizes) -> int | None:
        """Events one operation appends or reads (None when it varies)."""
        return None if self.events is None else self.events(sizes)

    def store_factory(self, store_id: str) -> StoreFactory:
        """Makes fresh stores of ``store_id`` configured for this workload:
        ``await factory()``; the caller closes them (:func:`close_store`)."""
        if store_id not in self.stores:
            raise ValueError(f"workload {self.id} cannot run on store {store_id!r}")
        cache = self.cache_bytes

        async def factory() -> Any:
            return await open_store(store_id, cache_bytes=cache)

        return factory


def count_label(count: int) -> str:
    """A count as workload ids write it: ``60``, ``1k``, ``20k``, ``100k``, ``2m``, ``1500``."""
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return str(count)


def workloads_at(sizes: Sizes) -> dict[str, Workload]:
    """Every workload by its id at ``sizes`` (:meth:`Workload.id_at`), in report order.

    Raises ``ValueError`` when two workloads would get the same id (``small_history``
    equal to ``big_history``)."""
    found: dict[str, Workload] = {}
    for workload in WORKLOADS.values():
        name = workload.id_at(sizes)
        other = found.get(name)
        if other is not None:
            raise ValueError(
                f"{other.id} and {workload.id} would both be named {name}: "
                f"{other.sized_by} and {workload.sized_by} must differ"
            )
        found[name] = workload
    return found


async def timed(run: Callable[[Any], Awaitable[Any]], state: Any, repeat: int = 1) -> float:
    """Seconds taken by ``repeat`` awaits of ``run(state)``, timed inside the coroutine."""
    clock = time.perf_counter
    start = clock()
    for _ in range(repeat):
        await run(state)
    return clock() - start


def forget_inputs() -> None:
    """Drop the cached input events of earlier measurements, then ``gc.collect()``.

    Input events are cached only within one measurement (a workload on a store): stores
    holding many objects, and the collector's cost of walking them, must be the store's,
    not left-overs of the harness.
    """
    data.histories.cache_clear()
    _timer_plan.cache_clear()
    _mixed_script.cache_clear()
    gc.collect()


class Sampler:
    """Takes samples of one workload on one store; the engine of :func:`measure`.

    Call :meth:`prepare` before the first sample, and before every sample when
    :attr:`fresh_state` is true; :meth:`sample` returns one value (seconds per
    operation, or bytes per event) and keeps it in :attr:`values`. Every store the
    workload makes is closed: a sample's own once it is taken (when :attr:`fresh_state`),
    the rest by :meth:`close` (or ``with Sampler(...) as sampler``).
    """

    def __init__(
        self,
        workload: Workload,
        store_id: str,
        sizes: Sizes | None = None,
        *,
        loop: asyncio.AbstractEventLoop,
        min_sample_time: float = MIN_SAMPLE_TIME,
    ) -> None:
        self.workload = workload
        self.store_id = store_id
        self.sizes = sizes or Sizes.default()
        self.loop = loop
        self.min_sample_time = min_sample_time
        made = workload.store_factory(store_id)
        #: The stores made and not closed yet (those that have anything to close).
        self.open_stores: list[Any] = []

        async def factory() -> Any:
            store = await made()
            if hasattr(store, "close"):
                self.open_stores.append(store)
            return store

        self.factory: StoreFactory = factory
        family = family_of(store_id)
        self.durable = family is not None and family.durable
        self.ops = workload.ops_per_sample(self.sizes)
        self.fresh_state = workload.mutates or workload.unit == BYTES_PER_EVENT
        self.repeat = 1
        self.values: list[float] = []
        #: Side results of the last sample (``input_bytes_per_event`` for memory).
        self.notes: dict[str, float] = {}
        self.state: Any = None
        forget_inputs()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def prepare(self) -> None:
        """Build the state for the next sample (untimed); calibrate ``repeat`` once."""
        self.state = None
        self._close_stores()
        self.state = self.loop.run_until_complete(self.workload.prepare(self.factory, self.sizes))
        if self.durable and hasattr(os, "sync"):
            # The preparation's writes reach the disk now, not during the timed commits.
            os.sync()
        if not self.fresh_state:
            # Only the store keeps the events now: the heap holds what a real process would.
            forget_inputs()
            if not self.values:
                once = self.loop.run_until_complete(timed(self.workload.run, self.state))
                wanted = math.ceil(self.min_sample_time / max(once, 1e-9))
                self.repeat = max(1, min(_MAX_REPEAT, wanted))

    def sample(self) -> float:
        """One sample: seconds per operation, or bytes per event for the memory workload."""
        if self.state is None:
            raise RuntimeError("call prepare() first")
        if self.workload.unit == BYTES_PER_EVENT:
            result = self.loop.run_until_complete(self.workload.run(self.state))
            assert result is not None
            value = float(result)
            self.notes.update(getattr(self.state, "notes", {}))
        else:
            elapsed = self.loop.run_until_complete(
                timed(self.workload.run, self.state, self.repeat)
            )
            value = elapsed / (self.ops * self.repeat)
        if self.fresh_state:
            self.state = None
            self._close_stores()
        self.values.append(value)
        return value

    def close(self) -> None:
        """Close every store still open (idempotent); the sampler can take no more samples
        until it is prepared again."""
        self.state = None
        self._close_stores()

    def _close_stores(self) -> None:
        stores, self.open_stores = self.open_stores, []
        if not stores:
            return
        try:
            self.loop.run_until_complete(_close_all(stores))
        except BaseException:
            # The loop was interrupted (Ctrl-C) or a close failed: at least the files go.
            for store in stores:
                discard(store)
            raise


async def _close_all(stores: Sequence[Any]) -> None:
    failures = []
    for store in stores:
        try:
            await close_store(store)
        except Exception as error:
            discard(store)
            failures.append(error)
    if failures:
        raise failures[0]


def measure(
    workload: Workload,
    store_id: str,
    sizes: Sizes | None = None,
    samples: int | None = None,
    *,
    min_sample_time: float = MIN_SAMPLE_TIME,
    loop: asyncio.AbstractEventLoop | None = None,
) -> list[float]:
    """Per-sample results of ``workload`` on ``store_id``: seconds per operation (or bytes
    per event for ``memory_per_event`` and ``disk_per_event``). ``samples`` defaults to
    the workload's own. Every store it makes is closed before it returns.

    Runs ``prepare`` untimed, then times ``run`` on one persistent event loop (``loop``,
    or a private one closed on return); see the module docstring for the method.
    """
    own_loop = loop is None
    active = asyncio.new_event_loop() if loop is None else loop
    try:
        with Sampler(
            workload, store_id, sizes, loop=active, min_sample_time=min_sample_time
        ) as sampler:
            for index in range(samples or workload.samples):
                if index == 0 or sampler.fresh_state:
                    sampler.prepare()
                sampler.sample()
            return sampler.values
    finally:
        if own_loop:
            active.close()


# -- shared preparation -------------------------------------------------------------------


async def _fill(store: Any, histories: Sequence[Sequence[Event]], batch: int = 1_000) -> None:
    """Append each history in batches of ``batch`` events (untimed preparation).

    Up to ``_CONCURRENCY`` histories are filled by concurrent tasks, so that a durable
    store's group commit shares one transaction among them. An in-memory store's
    ``append`` never suspends, so its tasks run one after the other, in order: the store
    ends up exactly as if filled in one loop."""

    async def fill(events: Sequence[Event]) -> None:
        owner = events[0].envelope.workflow_id
        for start in range(0, len(events), batch):
            await store.append(TOKEN, owner, list(events[start : start + batch]), start)

    for first in range(0, len(histories), _CONCURRENCY):
        await asyncio.gather(*(fill(events) for events in histories[first : first + _CONCURRENCY]))


@dataclass
class _Appends:
    """A fresh store and the appends to make: ``(workflow_id, batch, expected_seq)``."""

    store: Any
    appends: list[tuple[WorkflowId, list[Event], int]]


async def _run_appends(state: _Appends) -> None:
    append = state.store.append
    for workflow_id, batch, expected in state.appends:
        await append(TOKEN, workflow_id, batch, expected)


def _round_robin(histories: Sequence[Sequence[Event]], batch: int) -> list[Any]:
    """Appends of ``batch`` events, one workflow after another, round by round."""
    appends = []
    length = max(len(events) for events in histories)
    for start in range(0, length, batch):
        for events in histories:
            chunk = list(events[start : start + batch])
            if chunk:
                first = chunk[0].envelope
                appends.append((first.workflow_id, chunk, first.seq - 1))
    return appends


async def _prepare_append_many(factory: StoreFactory, sizes: Sizes) -> _Appends:
    """1-event appends across many workflows, round-robin: the engine's steady state.

    ``workflows`` workflows each receive ``events_per_workflow`` events (started,
    activities, timers, signals, completed), one event per ``append`` and every append to
    a different workflow than the one before, so no per-workflow locality helps. Measures
    the per-append cost: head lookup, contiguity checks, storing, status projection. The
    original store's head is a scan of the history (``max(seq)``) per append.
    """
    histories = data.histories(0, sizes.workflows, sizes.events_per_workflow, "all")
    return _Appends(await factory(), _round_robin(histories, 1))


async def _prepare_append_batch10(factory: StoreFactory, sizes: Sizes) -> _Appends:
    """Like ``append_many`` with 10-event batches (one op = one append of 10 events).

    The per-call costs are shared by ten events: shows how much of an append is fixed
    overhead and how much is per event.
    """
    histories = data.histories(0, sizes.workflows, sizes.events_per_workflow, "all")
    return _Appends(await factory(), _round_robin(histories, 10))


def _tail_layout(length: int, appends: int) -> tuple[int, int]:
    """(workflows, appends per workflow) so that no history grows by more than 10%."""
    per_workflow = min(appends, max(1, length // 10))
    return math.ceil(appends / per_workflow), per_workflow


async def _prepare_tail(factory: StoreFactory, sizes: Sizes, length: int) -> _Appends:
    count, per_workflow = _tail_layout(length, sizes.tail_appends)
    histories = data.histories(0, count, length + per_workflow, "none")
    store = await factory()
    await prime_wal(store)  # durable stores only: their WAL at its working size
    await _fill(store, [events[:length] for events in histories])
    appends = _round_robin([events[length:] for events in histories], 1)
    return _Appends(store, appends[: sizes.tail_appends])


async def _prepare_tail_short(factory: StoreFactory, sizes: Sizes) -> _Appends:
    """1-event appends to workflows that already hold ``short_history`` (100) events.

    With ``tail_append_long`` it shows whether an append costs O(1) or grows with the
    history: the original store scans the history for its head on every append.
    """
    return await _prepare_tail(factory, sizes, sizes.short_history)


async def _prepare_tail_long(factory: StoreFactory, sizes: Sizes) -> _Appends:
    """1-event appends to a workflow that already holds ``long_history`` (10,000) events.

    Compare with ``tail_append_short``: an O(1) append costs the same at both lengths; the
    original store's grows linearly with the history.
    """
    return await _prepare_tail(factory, sizes, sizes.long_history)


@dataclass
class _Read:
    """A filled store, the workflow to read, and where reads start."""

    store: Any
    workflow_id: WorkflowId
    from_seq: int
    reads: int
    result: list[Event] = field(default_factory=list)


async def _prepare_read(factory: StoreFactory, length: int, *, warm: bool = False) -> _Read:
    (events,) = data.histories(0, 1, length, "none")
    store = await factory()
    await _fill(store, [events])
    state = _Read(store, events[0].envelope.workflow_id, 1, 1)
    if warm:
        await store.read_history(state.workflow_id)
    return state


async def _run_full_read(state: _Read) -> None:
    state.result = await state.store.read_history(state.workflow_id)


async def _prepare_full_1k(factory: StoreFactory, sizes: Sizes) -> _Read:
    """One ``read_history`` of a ``small_history`` (1,000)-event workflow, cold.

    Cold: the compiled store runs with its decoded-event cache off, so every read decodes
    the stored msgpack into event objects. This is the replay an engine does when it
    picks a workflow up. The pure and naive stores keep event objects (a list copy, and
    for naive a sort).
    """
    return await _prepare_read(factory, sizes.small_history)


async def _prepare_full_100k(factory: StoreFactory, sizes: Sizes) -> _Read:
    """One cold ``read_history`` of a ``big_history`` (100,000)-event workflow.

    The same as ``full_read_1k_cold`` at 100x the length: per-event cost at scale, and the
    collector's cost of the objects a read creates.
    """
    return await _prepare_read(factory, sizes.big_history)


async def _prepare_full_warm(factory: StoreFactory, sizes: Sizes) -> _Read:
    """One ``read_history`` of a ``small_history`` (1,000)-event workflow read once before.

    The compiled store's decoded-event cache is on (the default), so the read is a copy of
    the cached list: the cost of re-reading a hot workflow.
    """
    return await _prepare_read(factory, sizes.small_history, warm=True)


async def _run_suffix_read(state: _Read) -> None:
    read = state.store.read_history_from
    for _ in range(state.reads):
        state.result = await read(state.workflow_id, state.from_seq)


async def _prepare_suffix(factory: StoreFactory, sizes: Sizes, length: int) -> _Read:
    state = await _prepare_read(factory, length)
    state.from_seq = length - sizes.suffix + 1
    state.reads = 10
    return state


async def _prepare_suffix_1k(factory: StoreFactory, sizes: Sizes) -> _Read:
    """``read_history_from`` of the last ``suffix`` (10) events of a 1,000-event history.

    An engine catching up on a workflow it already holds reads only the new events; the
    contract requires this to cost O(events returned). One op = one read.
    """
    return await _prepare_suffix(factory, sizes, sizes.small_history)


async def _prepare_suffix_100k(factory: StoreFactory, sizes: Sizes) -> _Read:
    """``read_history_from`` of the last 10 events of a 100,000-event history.

    Compare with ``suffix_read_1k``: O(events returned) costs the same; the original store
    filters and sorts the whole history.
    """
    return await _prepare_suffix(factory, sizes, sizes.big_history)


@dataclass
class _Rejected:
    store: Any
    workflow_id: WorkflowId
    batch: list[Event]
    stale: int


async def _prepare_rejected(factory: StoreFactory, sizes: Sizes) -> _Rejected:
    """A stale writer: append with an old ``expected_seq`` to a 100-event workflow.

    Each op raises ``SequenceConflict`` (caught): the cost of the optimistic-concurrency
    check that detects a second writer, which must change nothing.
    """
    (events,) = data.histories(0, 1, sizes.short_history, "none")
    store = await factory()
    await _fill(store, [events])
    stale = len(events) - 1
    return _Rejected(store, events[0].envelope.workflow_id, [events[-1]], stale)


async def _run_rejected(state: _Rejected) -> None:
    append = state.store.append
    for _ in range(10):
        try:
            await append(TOKEN, state.workflow_id, state.batch, state.stale)
        except SequenceConflict:
            pass
        else:
            raise AssertionError("a stale append was accepted")


@lru_cache(maxsize=2)
def _timer_plan(timers: int, due: int) -> tuple[datetime, tuple[Any, ...]]:
    """(as_of, timers to schedule): ``due`` of ``timers`` fire before ``as_of``."""
    as_of = data.BASE_TIME + timedelta(days=1)
    stride = max(1, timers // max(due, 1))
    plan = []
    for index in range(timers):
        owner = data.workflow_id(index // 10)
        timer_id = TimerId.named(f"timer-{index % 10}")
        if index % stride == 0 and index // stride < due:
            fire_at = as_of - timedelta(seconds=1 + index % 3600)
        else:
            fire_at = as_of + timedelta(hours=1, milliseconds=index)
        plan.append((owner, timer_id, fire_at))
    return as_of, tuple(plan)


async def _schedule_all(store: Any, plan: Sequence[tuple[Any, Any, Any]]) -> None:
    """Schedule every timer of ``plan``, ``_CONCURRENCY`` at once (untimed preparation:
    a durable store commits each chunk together; an in-memory one schedules in order)."""
    schedule = store.schedule_timer
    for first in range(0, len(plan), _CONCURRENCY):
        chunk = plan[first : first + _CONCURRENCY]
        await asyncio.gather(*(schedule(owner, timer, at) for owner, timer, at in chunk))


@dataclass
class _Timers:
    store: Any
    as_of: datetime
    polls: int = 0
    result: list[Any] = field(default_factory=list)


async def _prepare_timers(factory: StoreFactory, sizes: Sizes) -> _Timers:
    """``expired_timers`` polls with ``due_timers`` (100) due among ``timers`` (100,000).

    An engine polls for due timers continually, while most timers wait far in the future.
    Each op is one poll, with ``as_of`` a microsecond later than the previous one (time
    moves, nothing new becomes due). The original store scans and sorts every timer per
    poll. One poll runs untimed first.
    """
    as_of, plan = _timer_plan(sizes.timers, sizes.due_timers)
    store = await factory()
    await _schedule_all(store, plan)
    state = _Timers(store, as_of)
    state.result = await store.expired_timers(as_of)
    return state


async def _run_timers(state: _Timers) -> None:
    poll = state.store.expired_timers
    for _ in range(10):
        state.polls += 1
        state.result = await poll(state.as_of + timedelta(microseconds=state.polls))


@dataclass
class _Listing:
    store: Any
    result: list[Any] = field(default_factory=list)


async def _prepare_listing(factory: StoreFactory, sizes: Sizes) -> _Listing:
    store = await factory()
    await _fill(store, data.histories(0, sizes.active_workflows, sizes.active_events, "even"))
    return _Listing(store)


async def _prepare_list_active(factory: StoreFactory, sizes: Sizes) -> _Listing:
    """``list_active`` over ``active_workflows`` (20,000) workflows, half of them terminal.

    An engine lists running workflows to resume them after a restart and to supervise
    them. The engines keep the projected status current on append (and the sorted answer
    until the active set changes); the original re-projects every history per call.
    ``mixed_engine`` covers list_active between appends.
    """
    return await _prepare_listing(factory, sizes)


async def _run_list_active(state: _Listing) -> None:
    state.result = await state.store.list_active()


_RUNNING_FILTER = WorkflowFilter(status=WorkflowStatus.RUNNING)


async def _prepare_query(factory: StoreFactory, sizes: Sizes) -> _Listing:
    """``query(WorkflowFilter(status=RUNNING))`` over the ``list_active`` store.

    Summaries of the 10,000 running workflows out of 20,000, ordered by start time: what
    an operator's "running workflows" view asks. The original rebuilds every summary (and
    derives parents from every history) per call.
    """
    return await _prepare_listing(factory, sizes)


async def _run_query(state: _Listing) -> None:
    state.result = await state.store.query(_RUNNING_FILTER)


# Operations of the mixed script.
_APPEND, _TIMER, _READ, _POLL, _LIST = range(5)
_MixedOp = tuple[int, Any, Any, Any]


@lru_cache(maxsize=2)
def _mixed_script(
    workflows: int, length: int, poll_every: int, list_every: int
) -> tuple[_MixedOp, ...]:
    def clock(index: int, seq: int) -> datetime:
        # Round seq - 1 of the round-robin: one event per millisecond of simulated time.
        return data.BASE_TIME + timedelta(milliseconds=(seq - 1) * workflows + index)

    histories = [
        data.events_for(i, 1, length, length=length, clock=clock) for i in range(workflows)
    ]
    script: list[_MixedOp] = []
    now = data.BASE_TIME
    counted = 0

    def add(op: _MixedOp) -> None:
        nonlocal counted
        script.append(op)
        counted += 1
        if counted % poll_every == 0:
            script.append((_POLL, now, None, None))
        if counted % list_every == 0:
            script.append((_LIST, None, None, None))

    for position in range(length):
        for events in histories:
            event = events[position]
            owner = event.envelope.workflow_id
            now = event.envelope.recorded_at
            add((_APPEND, owner, [event], position))
            if isinstance(event, TimerStarted):
                add((_TIMER, owner, event.timer_id, event.fire_at))
        if position == length // 2 - 1:
            for events in histories:
                add((_READ, events[0].envelope.workflow_id, None, None))
    return tuple(script)


def _mixed_script_for(sizes: Sizes) -> tuple[_MixedOp, ...]:
    return _mixed_script(
        sizes.mixed_workflows, sizes.mixed_events, sizes.poll_every, sizes.list_active_every
    )


@dataclass
class _Mixed:
    store: Any
    script: tuple[_MixedOp, ...]


async def _prepare_mixed(factory: StoreFactory, sizes: Sizes) -> _Mixed:
    """An engine-like run through the async API across ``mixed_workflows`` (10,000) workflows.

    Every workflow goes start -> activity scheduled/started/completed -> timer
    (``TimerStarted`` appended and ``schedule_timer``) -> signal -> timer fired -> ... ->
    completed, ``mixed_events`` (12) events each, interleaved round-robin across all the
    workflows with 1-event appends. Half-way, each workflow's history is read back (the
    replay after a worker picks it up); every ``poll_every`` ops an ``expired_timers``
    poll at the simulated now, every ``list_active_every`` ops a ``list_active``. One op =
    one store call of any kind: the number to compare is the whole run's throughput.
    """
    return _Mixed(await factory(), _mixed_script_for(sizes))


async def _run_mixed(state: _Mixed) -> None:
    store = state.store
    append, schedule, read = store.append, store.schedule_timer, store.read_history
    poll, list_active = store.expired_timers, store.list_active
    for kind, a, b, c in state.script:
        if kind == _APPEND:
            await append(TOKEN, a, b, c)
        elif kind == _TIMER:
            await schedule(a, b, c)
        elif kind == _READ:
            await read(a)
        elif kind == _POLL:
            await poll(a)
        else:
            await list_active()


@dataclass
class _Memory:
    factory: StoreFactory
    workflows: int
    events: int
    #: Filled in by the run: traced bytes of the input events, per event.
    input_bytes_per_event: float = 0.0
    store: Any = None

    @property
    def notes(self) -> dict[str, float]:
        """Side results the sampler reports with the value."""
        return {"input_bytes_per_event": self.input_bytes_per_event}


async def _prepare_memory(factory: StoreFactory, sizes: Sizes) -> _Memory:
    """Bytes a store keeps per stored event (``tracemalloc``), for the realistic mix.

    ``memory_workflows`` (500) complete workflows of ``memory_events`` (40) events each
    (started, activities, timers, signals, completed), appended one event per call
    round-robin as an engine does; nothing is read (the compiled store runs with its
    decoded-event cache off, so it holds only its encoded form and projections).

    Method, identical for every store: ``gc.collect()``; start tracing; build the input
    events (their traced size is the inputs' own size, reported separately); make the
    store and append them; drop every reference the benchmark holds to the inputs;
    ``gc.collect()``; the traced bytes still allocated, divided by the number of events,
    is what the store keeps alive per event. The compiled store keeps encoded bytes, so
    the dropped inputs are freed and not counted; the pure and naive stores keep the event
    objects themselves, which are therefore counted, as they should be. One-time
    allocations (caches filled on first use) are made by a warm-up before tracing.
    """
    return _Memory(factory, sizes.memory_workflows, sizes.memory_events)


async def _append_all(store: Any, appends: list[Any]) -> Any:
    for workflow_id, batch, expected in appends:
        await store.append(TOKEN, workflow_id, batch, expected)
    return store


async def _run_memory(state: _Memory) -> float:
    # Warm-up outside tracing: first-use allocations of the store and the builders.
    warm = await state.factory()
    for event in data.history(10_000_000, 12, complete=True):
        await warm.append(TOKEN, event.envelope.workflow_id, [event], event.envelope.seq - 1)
    del warm
    total = state.workflows * state.events
    started_here = not tracemalloc.is_tracing()
    gc.collect()
    if started_here:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        histories = [
            data.history(index, state.events, complete=True) for index in range(state.workflows)
        ]
        appends = _round_robin(histories, 1)
        gc.collect()
        inputs = tracemalloc.get_traced_memory()[0] - before
        store = await _append_all(await state.factory(), appends)
        del histories, appends
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started_here:
            tracemalloc.stop()
    state.input_bytes_per_event = inputs / total
    state.store = store
    return held / total


# -- durable stores -----------------------------------------------------------------------


async def _prepare_durable_append(factory: StoreFactory, sizes: Sizes) -> _Appends:
    """``durable_appends`` (400) 1-event appends from one task, each awaited before the
    next, round-robin over a few workflows (4), starting from empty ones.

    An engine's worker recording one step at a time: every append is its own durable
    commit (``durability="full"``: an fsync of the WAL) that nothing can share. Compare
    with the floor: the bare ``BEGIN IMMEDIATE``/``INSERT``/``COMMIT`` of the same bytes
    through the same hop to a thread; ``SqliteStore`` also checks the head, projects the
    status and runs, and writes them in the same transaction. On PostgreSQL the floor is
    one autocommitted ``INSERT`` from the event loop (one round trip, one commit);
    ``PostgresStore`` sends one call of its ``append`` function. Every store starts with
    its WAL at its working size (:func:`~aion_store.bench.durable.prime_wal`, untimed),
    as in a long-running engine, as do ``tail_append_*`` on the durable stores.
    """
    per_workflow = math.ceil(sizes.durable_appends / DURABLE_WORKFLOWS)
    histories = data.histories(0, DURABLE_WORKFLOWS, per_workflow, "none")
    appends = _round_robin(histories, 1)[: sizes.durable_appends]
    store = await factory()
    await prime_wal(store)
    return _Appends(store, appends)


@dataclass
class _Concurrent:
    """A fresh store and each task's appends, in order."""

    store: Any
    tasks: list[list[tuple[WorkflowId, list[Event], int]]]


async def _prepare_durable_tasks(factory: StoreFactory, sizes: Sizes) -> _Concurrent:
    """The same ``durable_appends`` (400) 1-event appends from 100 concurrent tasks, each
    appending to its own workflow, every append awaited before that task's next.

    Many workflows progressing at once, as in a busy engine: ``SqliteStore``'s writer
    commits the appends waiting together in one transaction (group commit: one fsync for
    all of them), and ``PostgresStore`` sends them in one call of its ``append``
    function. One op = one append; compare events/s with ``durable_append``. The floors
    have no group commit (a transaction per call: the PostgreSQL floor runs up to 10 at
    once, on its connections); eventsourcing's recorders block the loop, so their tasks
    run one after the other.
    """
    per_task = math.ceil(sizes.durable_appends / DURABLE_TASKS)
    histories = data.histories(0, DURABLE_TASKS, per_task, "none")
    tasks: list[list[tuple[WorkflowId, list[Event], int]]] = [[] for _ in histories]
    for index, (owner, batch, expected) in enumerate(_round_robin(histories, 1)):
        if index >= sizes.durable_appends:
            break
        tasks[index % DURABLE_TASKS].append((owner, batch, expected))
    store = await factory()
    await prime_wal(store)
    return _Concurrent(store, tasks)


async def _run_durable_tasks(state: _Concurrent) -> None:
    append = state.store.append

    async def task(appends: list[tuple[WorkflowId, list[Event], int]]) -> None:
        for workflow_id, batch, expected in appends:
            await append(TOKEN, workflow_id, batch, expected)

    await asyncio.gather(*(task(appends) for appends in state.tasks))


@dataclass
class _Disk:
    factory: StoreFactory
    store: Any
    events: int
    notes: dict[str, float] = field(default_factory=dict)


async def _prepare_disk(factory: StoreFactory, sizes: Sizes) -> _Disk:
    """Bytes on disk per stored event: ``memory_workflows`` (500) complete workflows of
    ``memory_events`` (40) events, the ``memory_per_event`` mix, in a fresh file.

    Method, identical for every store: fill the file (each workflow's history in one
    append, the workflows concurrently: ``VACUUM`` rewrites the file, so how it was
    filled does not matter), close the store (which checkpoints the WAL into the file),
    ``VACUUM`` with a plain connection, then the file's size divided by the number of
    events. It includes the fixed size of an empty database (its schema's pages), which
    the notes give as ``empty_file_bytes``; compare with the compiled store's
    ``memory_per_event``. On PostgreSQL the same with the store's schema for the file:
    close its connections, ``VACUUM FULL`` every table of the schema, then the bytes of
    their heaps, indexes and TOAST (``pg_total_relation_size``).
    """
    histories = data.histories(0, sizes.memory_workflows, sizes.memory_events, "all")
    store = await factory()
    await _fill(store, histories, batch=sizes.memory_events)
    return _Disk(factory, store, sizes.memory_workflows * sizes.memory_events)


async def _run_disk(state: _Disk) -> float:
    size = await disk_bytes(state.store)
    empty = await disk_bytes(await state.factory())
    state.notes.update(file_bytes=float(size), empty_file_bytes=float(empty))
    return float(size / state.events)


# -- the registry -------------------------------------------------------------------------


def _workload(
    id: str,
    title: str,
    prepare: Callable[[StoreFactory, Sizes], Awaitable[Any]],
    run: Callable[[Any], Awaitable[float | None]],
    ops: Callable[[Sizes], int],
    stores: frozenset[str] = _CORE_STORES,
    **options: Any,
) -> Workload:
    # An id naming a size ("full_read_{}_cold", sized_by="big_history") is written with
    # that size's default value; Workload.id_at writes it with any other.
    sized_by = options.get("sized_by")
    if sized_by is not None:
        options["id_template"] = id
        id = id.format(count_label(getattr(Sizes.default(), sized_by)))
    return Workload(
        id=id,
        title=title,
        unit=options.pop("unit", SECONDS),
        ops=ops,
        stores=stores,
        prepare=prepare,
        run=run,
        doc=inspect.getdoc(prepare) or "",
        **options,
    )


def _ops_round_robin(batch: int) -> Callable[[Sizes], int]:
    def ops(sizes: Sizes) -> int:
        return sizes.workflows * math.ceil(sizes.events_per_workflow / batch)

    return ops


def _constant(count: int) -> Callable[[Sizes], int]:
    def ops(sizes: Sizes) -> int:
        return count

    return ops


def _small(sizes: Sizes) -> int:
    return sizes.small_history


def _big(sizes: Sizes) -> int:
    return sizes.big_history


def _suffix(sizes: Sizes) -> int:
    return sizes.suffix


def _tail_ops(sizes: Sizes) -> int:
    return sizes.tail_appends


def _mixed_ops(sizes: Sizes) -> int:
    return len(_mixed_script_for(sizes))


def _memory_ops(sizes: Sizes) -> int:
    return sizes.memory_workflows * sizes.memory_events


def _durable_ops(sizes: Sizes) -> int:
    return sizes.durable_appends


WORKLOADS: dict[str, Workload] = {
    w.id: w
    for w in (
        _workload(
            "append_many",
            "1-event appends, round-robin over many workflows (per append)",
            _prepare_append_many,
            _run_appends,
            _ops_round_robin(1),
            MEMORY,
            mutates=True,
            samples=5,
            events=_constant(1),
        ),
        _workload(
            "append_batch10",
            "10-event appends, round-robin over many workflows (per append call)",
            _prepare_append_batch10,
            _run_appends,
            _ops_round_robin(10),
            MEMORY,
            mutates=True,
            samples=5,
            events=_constant(10),
        ),
        _workload(
            "tail_append_short",
            "1-event append to a 100-event workflow",
            _prepare_tail_short,
            _run_appends,
            _tail_ops,
            ALL_STORES,
            mutates=True,
            samples=25,
            events=_constant(1),
        ),
        _workload(
            "tail_append_long",
            "1-event append to a 10,000-event workflow",
            _prepare_tail_long,
            _run_appends,
            _tail_ops,
            ALL_STORES,
            mutates=True,
            samples=25,
            events=_constant(1),
        ),
        _workload(
            "full_read_{}_cold",
            "read_history of 1,000 events, decoded-event cache off",
            _prepare_full_1k,
            _run_full_read,
            _constant(1),
            ALL_STORES,
            cache_bytes=0,
            events=_small,
            sized_by="small_history",
        ),
        _workload(
            "full_read_{}_cold",
            "read_history of 100,000 events, decoded-event cache off",
            _prepare_full_100k,
            _run_full_read,
            _constant(1),
            ALL_STORES,
            cache_bytes=0,
            samples=5,
            events=_big,
            sized_by="big_history",
        ),
        _workload(
            "full_read_warm",
            "read_history of 1,000 events read before (cache on)",
            _prepare_full_warm,
            _run_full_read,
            _constant(1),
            ALL_STORES,
            events=_small,
        ),
        _workload(
            "suffix_read_{}",
            "read_history_from: last 10 events of 1,000",
            _prepare_suffix_1k,
            _run_suffix_read,
            _constant(10),
            ALL_STORES,
            events=_suffix,
            sized_by="small_history",
        ),
        _workload(
            "suffix_read_{}",
            "read_history_from: last 10 events of 100,000",
            _prepare_suffix_100k,
            _run_suffix_read,
            _constant(10),
            ALL_STORES,
            events=_suffix,
            sized_by="big_history",
        ),
        _workload(
            "rejected_append",
            "append with a stale expected_seq (SequenceConflict)",
            _prepare_rejected,
            _run_rejected,
            _constant(10),
            ALL_STORES,
            events=_constant(1),
        ),
        _workload(
            "expired_timers",
            "expired_timers poll: 100 due among 100,000 timers",
            _prepare_timers,
            _run_timers,
            _constant(10),
            COMPLETE,
        ),
        _workload(
            "list_active",
            "list_active over 20,000 workflows, half terminal",
            _prepare_list_active,
            _run_list_active,
            _constant(1),
            COMPLETE,
        ),
        _workload(
            "query_running",
            "query(status=RUNNING) over 20,000 workflows",
            _prepare_query,
            _run_query,
            _constant(1),
            COMPLETE,
        ),
        _workload(
            "mixed_engine",
            "engine-like mix over 10,000 concurrent workflows (per store call)",
            _prepare_mixed,
            _run_mixed,
            _mixed_ops,
            mutates=True,
            samples=3,
        ),
        _workload(
            "memory_per_event",
            "bytes held per stored event (tracemalloc; compiled cache off)",
            _prepare_memory,
            _run_memory,
            _memory_ops,
            unit=BYTES_PER_EVENT,
            mutates=True,
            cache_bytes=0,
            samples=1,
        ),
        _workload(
            "durable_append",
            "1-event durable appends from one task, round-robin over 4 workflows",
            _prepare_durable_append,
            _run_appends,
            _durable_ops,
            DURABLE,
            mutates=True,
            events=_constant(1),
        ),
        _workload(
            "durable_append_100_tasks",
            "1-event durable appends from 100 concurrent tasks (per append)",
            _prepare_durable_tasks,
            _run_durable_tasks,
            _durable_ops,
            DURABLE,
            mutates=True,
            events=_constant(1),
        ),
        _workload(
            "disk_per_event",
            "bytes on disk per stored event (after VACUUM; the memory_per_event mix)",
            _prepare_disk,
            _run_disk,
            _memory_ops,
            DURABLE,
            unit=BYTES_PER_EVENT,
            mutates=True,
            samples=1,
        ),
    )
}
