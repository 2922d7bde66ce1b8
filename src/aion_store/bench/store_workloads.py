"""The workloads of the store contract: appends, reads, timers, listing, the engine mix
and memory -- their ``prepare`` and ``run`` functions, registered by
:mod:`aion_store.bench.workloads`.

Contract: every ``prepare_*(store_factory, sizes)`` is untimed: it builds its events
(:mod:`aion_store.bench.data`), makes a fresh store with ``await store_factory()``, fills
it and returns the state its ``run_*`` works on; its docstring is the workload's
description (what it measures, what to compare it with). Every ``run_*(state)`` is the
timed part: ``ops_per_sample`` store operations (the memory workloads: it measures and
returns bytes per event). They run on any store that has the calls they make (the
registry says which); what only a durable store means is
:mod:`aion_store.bench.durable_workloads`'s. Built inputs that are expensive are
cached per measurement and registered with :func:`~aion_store.bench.harness.input_cache`.
"""

from __future__ import annotations

import gc
import math
import random
import tracemalloc
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from aion_store.bench import data
from aion_store.bench.durable import prime_wal
from aion_store.bench.filling import (
    TOKEN,
    Appends,
    append_all,
    fill,
    round_robin,
    schedule_all,
)
from aion_store.bench.harness import StoreFactory, input_cache
from aion_store.bench.sizes import Sizes
from aion_store.error import SequenceConflict
from aion_store.events import Event, TimerStarted
from aion_store.ids import TimerId, WorkflowId
from aion_store.status import WorkflowFilter, WorkflowStatus

__all__ = [
    "POLL_STEPS",
    "SMALL_CACHE_BYTES",
    "Listing",
    "Memory",
    "Mixed",
    "PollLoop",
    "Read",
    "Rejected",
    "Timers",
    "mixed_script_for",
    "prepare_append_batch10",
    "prepare_append_many",
    "prepare_full_100k",
    "prepare_full_1k",
    "prepare_full_hot",
    "prepare_full_warm",
    "prepare_list_active",
    "prepare_memory",
    "prepare_memory_running",
    "prepare_mixed",
    "prepare_mixed_small_cache",
    "prepare_poll_loop",
    "prepare_query",
    "prepare_rejected",
    "prepare_suffix_100k",
    "prepare_suffix_1k",
    "prepare_tail_long",
    "prepare_tail_short",
    "prepare_timers",
    "run_full_read",
    "run_list_active",
    "run_memory",
    "run_mixed",
    "run_poll_loop",
    "run_query",
    "run_rejected",
    "run_suffix_read",
    "run_timers",
]

#: timer_poll_loop: the polls of one sample, the steps the timers' fire times spread over.
POLL_STEPS = 100
#: timer_poll_loop: how far ``as_of`` rises from one poll to the next.
POLL_STEP = timedelta(seconds=1)
#: mixed_engine_small_cache: the compiled store's decoded-event cache budget (1 MiB).
SMALL_CACHE_BYTES = 1_048_576


# -- appends ------------------------------------------------------------------------------


async def prepare_append_many(factory: StoreFactory, sizes: Sizes) -> Appends:
    """1-event appends across many workflows, round-robin: the engine's steady state.

    ``workflows`` workflows each receive ``events_per_workflow`` events (started,
    activities, timers, signals, completed), one event per ``append`` and every append to
    a different workflow than the one before, so no per-workflow locality helps. Measures
    the per-append cost: head lookup, contiguity checks, storing, status projection. The
    original store's head is a scan of the history (``max(seq)``) per append.
    """
    histories = data.histories(0, sizes.workflows, sizes.events_per_workflow, "all")
    return Appends(await factory(), round_robin(histories, 1))


async def prepare_append_batch10(factory: StoreFactory, sizes: Sizes) -> Appends:
    """Like ``append_many`` with 10-event batches (one op = one append of 10 events).

    The per-call costs are shared by ten events: shows how much of an append is fixed
    overhead and how much is per event.
    """
    histories = data.histories(0, sizes.workflows, sizes.events_per_workflow, "all")
    return Appends(await factory(), round_robin(histories, 10))


def _tail_layout(length: int, appends: int) -> tuple[int, int]:
    """(workflows, appends per workflow) so that no history grows by more than 10%."""
    per_workflow = min(appends, max(1, length // 10))
    return math.ceil(appends / per_workflow), per_workflow


async def _prepare_tail(factory: StoreFactory, sizes: Sizes, length: int) -> Appends:
    count, per_workflow = _tail_layout(length, sizes.tail_appends)
    histories = data.histories(0, count, length + per_workflow, "none")
    store = await factory()
    await prime_wal(store)  # durable stores only: their WAL at its working size
    await fill(store, [events[:length] for events in histories])
    appends = round_robin([events[length:] for events in histories], 1)
    return Appends(store, appends[: sizes.tail_appends])


async def prepare_tail_short(factory: StoreFactory, sizes: Sizes) -> Appends:
    """1-event appends to workflows that already hold ``short_history`` (100) events.

    With ``tail_append_long`` it shows whether an append costs O(1) or grows with the
    history: the original store scans the history for its head on every append.
    """
    return await _prepare_tail(factory, sizes, sizes.short_history)


async def prepare_tail_long(factory: StoreFactory, sizes: Sizes) -> Appends:
    """1-event appends to a workflow that already holds ``long_history`` (10,000) events.

    Compare with ``tail_append_short``: an O(1) append costs the same at both lengths; the
    original store's grows linearly with the history.
    """
    return await _prepare_tail(factory, sizes, sizes.long_history)


# -- reads --------------------------------------------------------------------------------


@dataclass
class Read:
    """A filled store, the workflow to read, and where reads start."""

    store: Any
    workflow_id: WorkflowId
    from_seq: int
    reads: int
    result: list[Event] = field(default_factory=list)


async def _prepare_read(factory: StoreFactory, length: int, *, warm: bool = False) -> Read:
    # "none": the workflow is running (no terminal event), as an engine's replays are.
    (events,) = data.histories(0, 1, length, "none")
    store = await factory()
    await fill(store, [events])
    state = Read(store, events[0].envelope.workflow_id, 1, 1)
    if warm:
        await store.read_history(state.workflow_id)
    return state


async def run_full_read(state: Read) -> None:
    state.result = await state.store.read_history(state.workflow_id)


async def prepare_full_1k(factory: StoreFactory, sizes: Sizes) -> Read:
    """One ``read_history`` of a ``small_history`` (1,000)-event workflow, cold.

    Cold: the compiled store runs with its decoded-event cache off, so every read decodes
    the stored msgpack into event objects. This is the replay an engine does when it
    picks a workflow up. The pure and naive stores keep event objects (a list copy, and
    for naive a sort).
    """
    return await _prepare_read(factory, sizes.small_history)


async def prepare_full_100k(factory: StoreFactory, sizes: Sizes) -> Read:
    """One cold ``read_history`` of a ``big_history`` (100,000)-event workflow.

    The same as ``full_read_1k_cold`` at 100x the length: per-event cost at scale, and the
    collector's cost of the objects a read creates.
    """
    return await _prepare_read(factory, sizes.big_history)


async def prepare_full_warm(factory: StoreFactory, sizes: Sizes) -> Read:
    """One ``read_history`` of a ``small_history`` (1,000)-event workflow read once before.

    The compiled store's decoded-event cache is on (the default), so the read is a copy of
    the cached list: the cost of re-reading a hot workflow.
    """
    return await _prepare_read(factory, sizes.small_history, warm=True)


async def prepare_full_hot(factory: StoreFactory, sizes: Sizes) -> Read:
    """``read_history`` of a running ``big_history`` (100,000)-event workflow, read again
    and again (one op = one full read).

    An engine replaying a long-running workflow it keeps working on. The workflow is
    running (no terminal event) and was filled by appends with the store's default
    decoded-event cache (the compiled store's 128 MiB holds the whole history, ~36 MB), so
    the appends cached its decoded events and no read decodes: each is a copy of the
    cached list. Compare compiled with pure: the target is at most 1.2x pure's time. The
    naive store sorts the whole history on every read.
    """
    return await _prepare_read(factory, sizes.big_history)


async def run_suffix_read(state: Read) -> None:
    read = state.store.read_history_from
    for _ in range(state.reads):
        state.result = await read(state.workflow_id, state.from_seq)


async def _prepare_suffix(factory: StoreFactory, sizes: Sizes, length: int) -> Read:
    state = await _prepare_read(factory, length)
    state.from_seq = length - sizes.suffix + 1
    state.reads = 10
    return state


async def prepare_suffix_1k(factory: StoreFactory, sizes: Sizes) -> Read:
    """``read_history_from`` of the last ``suffix`` (10) events of a 1,000-event history.

    An engine catching up on a workflow it already holds reads only the new events; the
    contract requires this to cost O(events returned). One op = one read.
    """
    return await _prepare_suffix(factory, sizes, sizes.small_history)


async def prepare_suffix_100k(factory: StoreFactory, sizes: Sizes) -> Read:
    """``read_history_from`` of the last 10 events of a 100,000-event history.

    Compare with ``suffix_read_1k``: O(events returned) costs the same; the original store
    filters and sorts the whole history.
    """
    return await _prepare_suffix(factory, sizes, sizes.big_history)


@dataclass
class Rejected:
    store: Any
    workflow_id: WorkflowId
    batch: list[Event]
    stale: int


async def prepare_rejected(factory: StoreFactory, sizes: Sizes) -> Rejected:
    """A stale writer: append with an old ``expected_seq`` to a 100-event workflow.

    Each op raises ``SequenceConflict`` (caught): the cost of the optimistic-concurrency
    check that detects a second writer, which must change nothing.
    """
    (events,) = data.histories(0, 1, sizes.short_history, "none")
    store = await factory()
    await fill(store, [events])
    stale = len(events) - 1
    return Rejected(store, events[0].envelope.workflow_id, [events[-1]], stale)


async def run_rejected(state: Rejected) -> None:
    append = state.store.append
    for _ in range(10):
        try:
            await append(TOKEN, state.workflow_id, state.batch, state.stale)
        except SequenceConflict:
            pass
        else:
            raise AssertionError("a stale append was accepted")


# -- timers -------------------------------------------------------------------------------

_TimerPlan = tuple[tuple[WorkflowId, TimerId, datetime], ...]


@input_cache
@lru_cache(maxsize=2)
def _timer_plan(timers: int, due: int) -> tuple[datetime, _TimerPlan]:
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


@dataclass
class Timers:
    store: Any
    as_of: datetime
    polls: int = 0
    result: list[Any] = field(default_factory=list)


async def prepare_timers(factory: StoreFactory, sizes: Sizes) -> Timers:
    """``expired_timers`` polls with ``due_timers`` (100) due among ``timers`` (100,000).

    An engine polls for due timers continually, while most timers wait far in the future.
    Each op is one poll, with ``as_of`` a microsecond later than the previous one (time
    moves, nothing new becomes due). The original store scans and sorts every timer per
    poll. One poll runs untimed first.
    """
    as_of, plan = _timer_plan(sizes.timers, sizes.due_timers)
    store = await factory()
    await schedule_all(store, plan)
    state = Timers(store, as_of)
    state.result = await store.expired_timers(as_of)
    return state


async def run_timers(state: Timers) -> None:
    poll = state.store.expired_timers
    for _ in range(10):
        state.polls += 1
        state.result = await poll(state.as_of + timedelta(microseconds=state.polls))


@input_cache
@lru_cache(maxsize=2)
def _poll_plan(timers: int) -> tuple[datetime, _TimerPlan]:
    """(start, timers to schedule): fire times spread evenly over ``POLL_STEPS`` steps
    after ``start`` (timer ``i`` of ``n`` fires at ``start + (i + 1) / n`` of the span, so
    the poll at ``start + k`` steps finds ``k / POLL_STEPS`` of them due), listed in a
    fixed shuffled order: an engine does not schedule its timers sorted."""
    start = data.BASE_TIME + timedelta(days=1)
    span = POLL_STEPS * (POLL_STEP // timedelta(microseconds=1))
    plan = [
        (
            data.workflow_id(index // 10),
            TimerId.named(f"timer-{index % 10}"),
            start + timedelta(microseconds=(index + 1) * span // timers),
        )
        for index in range(timers)
    ]
    random.Random(data.SEED).shuffle(plan)
    return start, tuple(plan)


@dataclass
class PollLoop:
    """A store with the loop's timers scheduled, and the rising ``as_of`` of its polls."""

    store: Any
    polls: tuple[datetime, ...]
    result: list[Any] = field(default_factory=list)


async def prepare_poll_loop(factory: StoreFactory, sizes: Sizes) -> PollLoop:
    """An engine's polling loop: 100 ``expired_timers`` polls with a rising ``as_of``
    over ``poll_timers`` (10,000) timers whose fire times are spread evenly over the 100
    steps (one op = one poll).

    The engine's real pattern: ``as_of`` rises one step per poll, so timers move from
    pending to due as it rises, and each poll returns every timer due so far (the first
    ~1% of them, the last all of them). A store that keeps its timers in a heap pops the
    newly due ones into its answer; the original store scans and sorts every timer per
    poll. The polls advance the store's timer index, so every sample gets a fresh store.
    Compare compiled with pure: the target is the compiled core at least 2x faster than
    its pure twin (``timers.TimerIndex``).
    """
    start, plan = _poll_plan(sizes.poll_timers)
    store = await factory()
    await schedule_all(store, plan)
    polls = tuple(start + step * POLL_STEP for step in range(1, POLL_STEPS + 1))
    return PollLoop(store, polls)


async def run_poll_loop(state: PollLoop) -> None:
    poll = state.store.expired_timers
    for as_of in state.polls:
        state.result = await poll(as_of)


# -- listing ------------------------------------------------------------------------------


@dataclass
class Listing:
    store: Any
    result: list[Any] = field(default_factory=list)


async def _prepare_listing(factory: StoreFactory, sizes: Sizes) -> Listing:
    store = await factory()
    await fill(store, data.histories(0, sizes.active_workflows, sizes.active_events, "even"))
    return Listing(store)


async def prepare_list_active(factory: StoreFactory, sizes: Sizes) -> Listing:
    """``list_active`` over ``active_workflows`` (20,000) workflows, half of them terminal.

    An engine lists running workflows to resume them after a restart and to supervise
    them. The engines keep the projected status current on append (and the sorted answer
    until the active set changes); the original re-projects every history per call.
    ``mixed_engine`` covers list_active between appends.
    """
    return await _prepare_listing(factory, sizes)


async def run_list_active(state: Listing) -> None:
    state.result = await state.store.list_active()


_RUNNING_FILTER = WorkflowFilter(status=WorkflowStatus.RUNNING)


async def prepare_query(factory: StoreFactory, sizes: Sizes) -> Listing:
    """``query(WorkflowFilter(status=RUNNING))`` over the ``list_active`` store.

    Summaries of the 10,000 running workflows out of 20,000, ordered by start time: what
    an operator's "running workflows" view asks. The original rebuilds every summary (and
    derives parents from every history) per call.
    """
    return await _prepare_listing(factory, sizes)


async def run_query(state: Listing) -> None:
    state.result = await state.store.query(_RUNNING_FILTER)


# -- the engine mix -----------------------------------------------------------------------

# Operations of the mixed script.
_APPEND, _TIMER, _READ, _POLL, _LIST = range(5)
_MixedOp = tuple[int, Any, Any, Any]


@input_cache
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


def mixed_script_for(sizes: Sizes) -> tuple[_MixedOp, ...]:
    """The store calls of ``mixed_engine`` at ``sizes``: ``(kind, a, b, c)`` each, kind
    0 append, 1 schedule_timer, 2 read_history, 3 expired_timers, 4 list_active."""
    return _mixed_script(
        sizes.mixed_workflows, sizes.mixed_events, sizes.poll_every, sizes.list_active_every
    )


@dataclass
class Mixed:
    store: Any
    script: tuple[_MixedOp, ...]


async def prepare_mixed(factory: StoreFactory, sizes: Sizes) -> Mixed:
    """An engine-like run through the async API across ``mixed_workflows`` (10,000) workflows.

    Every workflow goes start -> activity scheduled/started/completed -> timer
    (``TimerStarted`` appended and ``schedule_timer``) -> signal -> timer fired -> ... ->
    completed, ``mixed_events`` (12) events each, interleaved round-robin across all the
    workflows with 1-event appends. Half-way, each workflow's history is read back (the
    replay after a worker picks it up); every ``poll_every`` ops an ``expired_timers``
    poll at the simulated now, every ``list_active_every`` ops a ``list_active``. One op =
    one store call of any kind: the number to compare is the whole run's throughput.
    """
    return Mixed(await factory(), mixed_script_for(sizes))


async def prepare_mixed_small_cache(factory: StoreFactory, sizes: Sizes) -> Mixed:
    """``mixed_engine`` with a decoded-event cache budget far smaller than the running set.

    The same script on the same stores, but the compiled store's cache budget is 1 MiB
    while the running workflows' decoded events take tens of MB (at the half-way replay,
    ``mixed_workflows`` x ``mixed_events`` / 2 = 60,000 events of running workflows, about
    370 bytes each as the cache counts them: ~22 MB). Most replay reads therefore find
    their history not cached. It shows that past the budget a read costs a cold decode
    and no more: no thrashing (evicting and re-decoding what the next call needs).
    Compare with ``mixed_engine`` (the default 128 MiB holds the whole running set); the
    pure and naive stores have no such cache, so their numbers are ``mixed_engine``'s.
    """
    return await prepare_mixed(factory, sizes)


async def run_mixed(state: Mixed) -> None:
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


# -- memory -------------------------------------------------------------------------------


@dataclass
class Memory:
    factory: StoreFactory
    workflows: int
    events: int
    #: The workflows complete (``memory_per_event``) or stay running (``..._running``).
    complete: bool = True
    #: Filled in by the run: traced bytes of the input events, per event.
    input_bytes_per_event: float = 0.0
    store: Any = None

    @property
    def notes(self) -> dict[str, float]:
        """Side results the sampler reports with the value."""
        return {"input_bytes_per_event": self.input_bytes_per_event}


async def prepare_memory(factory: StoreFactory, sizes: Sizes) -> Memory:
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
    return Memory(factory, sizes.memory_workflows, sizes.memory_events)


async def prepare_memory_running(factory: StoreFactory, sizes: Sizes) -> Memory:
    """Bytes a store keeps per stored event of running workflows (``tracemalloc``).

    ``memory_per_event``'s method and mix, except that no workflow completes:
    ``memory_workflows`` (500) running workflows of ``memory_events`` (40) events,
    appended one event per call round-robin, never read, still running (so they stay in
    the active set). The compiled store runs with its decoded-event cache off: a running
    workflow's appends would otherwise be cached, and the cache's objects count against
    its budget, not against this figure. Compare with ``memory_per_event``: a stored
    history costs the same whether its workflow is running or closed.
    """
    return Memory(factory, sizes.memory_workflows, sizes.memory_events, complete=False)


async def run_memory(state: Memory) -> float:
    # Warm-up outside tracing: first-use allocations of the store and the builders.
    warm = await state.factory()
    for event in data.history(10_000_000, 12, complete=state.complete):
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
            data.history(index, state.events, complete=state.complete)
            for index in range(state.workflows)
        ]
        appends = round_robin(histories, 1)
        gc.collect()
        inputs = tracemalloc.get_traced_memory()[0] - before
        store = await append_all(await state.factory(), appends)
        del histories, appends
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started_here:
            tracemalloc.stop()
    state.input_bytes_per_event = inputs / total
    state.store = store
    return held / total
