"""The standard benchmark workloads, defined once for pytest-benchmark and ``aion-store bench``.

A :class:`Workload` is an untimed ``prepare`` (build the events, fill a fresh store) and a
timed ``run`` (one sample: ``ops_per_sample(sizes)`` store operations). :func:`measure`
runs one workload on one store and returns one number per sample: seconds per operation,
or bytes per stored event for ``memory_per_event``, ``memory_per_event_running`` and
``disk_per_event``.

This module is the registry (``WORKLOADS``, :func:`workloads_at`) and the package's
front: what other modules import from ``aion_store.bench.workloads`` is re-exported
here. The parts live beside it: :mod:`~aion_store.bench.sizes` (:class:`Sizes`),
:mod:`~aion_store.bench.harness` (:class:`Workload`, :class:`Sampler`, :func:`measure`,
:func:`timed`, :func:`forget_inputs`), :mod:`~aion_store.bench.store_workloads` and
:mod:`~aion_store.bench.durable_workloads` (the ``prepare``/``run`` functions),
:mod:`~aion_store.bench.filling` (untimed preparation they share).

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
A workload that changes its store (appends, the mixed run, the timer poll loop, memory,
disk) gets a freshly prepared store for every sample; a read-only one is prepared once
and its ``run`` is repeated within a sample until the sample lasts at least
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
``append_batch10``, ``mixed_engine``, ``mixed_engine_small_cache``) or mean nothing on
disk (``memory_per_event``, ``memory_per_event_running``) are in-memory only;
``durable_append``, ``durable_append_100_tasks`` and ``disk_per_event`` are the durable
families' own (sqlite and postgres).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aion_store.bench.durable import close_store
from aion_store.bench.durable_workloads import (
    DURABLE_TASKS,
    DURABLE_WORKFLOWS,
    prepare_disk,
    prepare_durable_append,
    prepare_durable_tasks,
    run_disk,
    run_durable_tasks,
)
from aion_store.bench.filling import TOKEN, run_appends
from aion_store.bench.harness import (
    BYTES_PER_EVENT,
    MIN_SAMPLE_TIME,
    SECONDS,
    Sampler,
    StoreFactory,
    Workload,
    forget_inputs,
    measure,
    timed,
)
from aion_store.bench.sizes import Sizes, count_label
from aion_store.bench.store_workloads import (
    POLL_STEPS,
    SMALL_CACHE_BYTES,
    mixed_script_for,
    prepare_append_batch10,
    prepare_append_many,
    prepare_full_1k,
    prepare_full_100k,
    prepare_full_hot,
    prepare_full_warm,
    prepare_list_active,
    prepare_memory,
    prepare_memory_running,
    prepare_mixed,
    prepare_mixed_small_cache,
    prepare_poll_loop,
    prepare_query,
    prepare_rejected,
    prepare_suffix_1k,
    prepare_suffix_100k,
    prepare_tail_long,
    prepare_tail_short,
    prepare_timers,
    run_full_read,
    run_list_active,
    run_memory,
    run_mixed,
    run_poll_loop,
    run_query,
    run_rejected,
    run_suffix_read,
    run_timers,
)
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

__all__ = [
    "BYTES_PER_EVENT",
    "DURABLE_TASKS",
    "DURABLE_WORKFLOWS",
    "FAMILIES",
    "MIN_SAMPLE_TIME",
    "REFERENCES",
    "SECONDS",
    "STORES",
    "TOKEN",
    "WORKLOADS",
    "Family",
    "Sampler",
    "Sizes",
    "StoreFactory",
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

_CORE_STORES = frozenset({"compiled", "pure", "naive"})


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
    return len(mixed_script_for(sizes))


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
            prepare_append_many,
            run_appends,
            _ops_round_robin(1),
            MEMORY,
            mutates=True,
            samples=5,
            events=_constant(1),
        ),
        _workload(
            "append_batch10",
            "10-event appends, round-robin over many workflows (per append call)",
            prepare_append_batch10,
            run_appends,
            _ops_round_robin(10),
            MEMORY,
            mutates=True,
            samples=5,
            events=_constant(10),
        ),
        _workload(
            "tail_append_short",
            "1-event append to a 100-event workflow",
            prepare_tail_short,
            run_appends,
            _tail_ops,
            ALL_STORES,
            mutates=True,
            samples=25,
            events=_constant(1),
        ),
        _workload(
            "tail_append_long",
            "1-event append to a 10,000-event workflow",
            prepare_tail_long,
            run_appends,
            _tail_ops,
            ALL_STORES,
            mutates=True,
            samples=25,
            events=_constant(1),
        ),
        _workload(
            "full_read_{}_cold",
            "read_history of 1,000 events, decoded-event cache off",
            prepare_full_1k,
            run_full_read,
            _constant(1),
            ALL_STORES,
            cache_bytes=0,
            events=_small,
            sized_by="small_history",
        ),
        _workload(
            "full_read_{}_cold",
            "read_history of 100,000 events, decoded-event cache off",
            prepare_full_100k,
            run_full_read,
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
            prepare_full_warm,
            run_full_read,
            _constant(1),
            ALL_STORES,
            events=_small,
        ),
        _workload(
            "full_read_{}_hot",
            "read_history of a running 100,000-event workflow, read again and again",
            prepare_full_hot,
            run_full_read,
            _constant(1),
            ALL_STORES,
            samples=5,
            events=_big,
            sized_by="big_history",
        ),
        _workload(
            "suffix_read_{}",
            "read_history_from: last 10 events of 1,000",
            prepare_suffix_1k,
            run_suffix_read,
            _constant(10),
            ALL_STORES,
            events=_suffix,
            sized_by="small_history",
        ),
        _workload(
            "suffix_read_{}",
            "read_history_from: last 10 events of 100,000",
            prepare_suffix_100k,
            run_suffix_read,
            _constant(10),
            ALL_STORES,
            events=_suffix,
            sized_by="big_history",
        ),
        _workload(
            "rejected_append",
            "append with a stale expected_seq (SequenceConflict)",
            prepare_rejected,
            run_rejected,
            _constant(10),
            ALL_STORES,
            events=_constant(1),
        ),
        _workload(
            "expired_timers",
            "expired_timers poll: 100 due among 100,000 timers",
            prepare_timers,
            run_timers,
            _constant(10),
            COMPLETE,
        ),
        _workload(
            "timer_poll_loop",
            "100 expired_timers polls, as_of rising, over 10,000 timers coming due (per poll)",
            prepare_poll_loop,
            run_poll_loop,
            _constant(POLL_STEPS),
            COMPLETE,
            mutates=True,
        ),
        _workload(
            "list_active",
            "list_active over 20,000 workflows, half terminal",
            prepare_list_active,
            run_list_active,
            _constant(1),
            COMPLETE,
        ),
        _workload(
            "query_running",
            "query(status=RUNNING) over 20,000 workflows",
            prepare_query,
            run_query,
            _constant(1),
            COMPLETE,
        ),
        _workload(
            "mixed_engine",
            "engine-like mix over 10,000 concurrent workflows (per store call)",
            prepare_mixed,
            run_mixed,
            _mixed_ops,
            mutates=True,
            samples=3,
        ),
        _workload(
            "mixed_engine_small_cache",
            "mixed_engine with a 1 MiB decoded-event cache, far below the running set",
            prepare_mixed_small_cache,
            run_mixed,
            _mixed_ops,
            mutates=True,
            cache_bytes=SMALL_CACHE_BYTES,
            samples=3,
        ),
        _workload(
            "memory_per_event",
            "bytes held per stored event (tracemalloc; compiled cache off)",
            prepare_memory,
            run_memory,
            _memory_ops,
            unit=BYTES_PER_EVENT,
            mutates=True,
            cache_bytes=0,
            samples=1,
        ),
        _workload(
            "memory_per_event_running",
            "bytes held per stored event, running workflows (compiled cache off)",
            prepare_memory_running,
            run_memory,
            _memory_ops,
            unit=BYTES_PER_EVENT,
            mutates=True,
            cache_bytes=0,
            samples=1,
        ),
        _workload(
            "durable_append",
            "1-event durable appends from one task, round-robin over 4 workflows",
            prepare_durable_append,
            run_appends,
            _durable_ops,
            DURABLE,
            mutates=True,
            events=_constant(1),
        ),
        _workload(
            "durable_append_100_tasks",
            "1-event durable appends from 100 concurrent tasks (per append)",
            prepare_durable_tasks,
            run_durable_tasks,
            _durable_ops,
            DURABLE,
            mutates=True,
            events=_constant(1),
        ),
        _workload(
            "disk_per_event",
            "bytes on disk per stored event (after VACUUM; the memory_per_event mix)",
            prepare_disk,
            run_disk,
            _memory_ops,
            DURABLE,
            unit=BYTES_PER_EVENT,
            mutates=True,
            samples=1,
        ),
    )
}
