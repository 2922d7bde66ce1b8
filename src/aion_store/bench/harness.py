"""The measurement machinery of the benchmarks: what a workload is, and how it is timed.

Contract: a :class:`Workload` is an untimed ``prepare(store_factory, sizes)`` returning a
state and a timed ``run(state)`` performing ``ops_per_sample(sizes)`` store operations
(or returning bytes per event, for the memory and disk workloads). :class:`Sampler` takes
the samples of one workload on one store, :func:`measure` drives a sampler to the end;
both close every store the workload made. The method (one persistent event loop,
``time.perf_counter`` inside the coroutine, autorange of read-only runs, the collector
on, the harness's inputs dropped before timing) is described in
:mod:`aion_store.bench.workloads`. The workloads themselves live in
:mod:`aion_store.bench.store_workloads` and :mod:`aion_store.bench.durable_workloads`;
they register their cached inputs with :func:`input_cache`, so :func:`forget_inputs`
drops them without importing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aion_store.bench import data
from aion_store.bench.durable import close_store, discard
from aion_store.bench.sizes import Sizes, count_label
from aion_store.bench.stores import family_of, open_store

__all__ = [
    "BYTES_PER_EVENT",
    "MIN_SAMPLE_TIME",
    "SECONDS",
    "Sampler",
    "StoreFactory",
    "Workload",
    "forget_inputs",
    "input_cache",
    "measure",
    "timed",
]


#: The unit of a timed workload: seconds per operation.
SECONDS = "s"
#: The unit of ``memory_per_event``, ``memory_per_event_running`` and ``disk_per_event``.
BYTES_PER_EVENT = "bytes/event"
#: A read-only workload repeats ``run`` until one sample lasts at least this long.
MIN_SAMPLE_TIME = 0.005
_MAX_REPEAT = 100_000

#: Makes a fresh store: ``await factory()``.
StoreFactory = Callable[[], Awaitable[Any]]


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


async def timed(run: Callable[[Any], Awaitable[Any]], state: Any, repeat: int = 1) -> float:
    """Seconds taken by ``repeat`` awaits of ``run(state)``, timed inside the coroutine."""
    clock = time.perf_counter
    start = clock()
    for _ in range(repeat):
        await run(state)
    return clock() - start


class _Cache(Protocol):
    def cache_clear(self) -> None: ...


_C = TypeVar("_C", bound=_Cache)
_T = TypeVar("_T")
#: The caches of built inputs (besides ``data.histories``) that :func:`forget_inputs` clears.
_INPUT_CACHES: list[_Cache] = []


def input_cache(cache: _C) -> _C:
    """Register a cache of built inputs (an ``lru_cache``d builder) with
    :func:`forget_inputs`; returns it unchanged, so it works as a decorator."""
    _INPUT_CACHES.append(cache)
    return cache


def forget_inputs() -> None:
    """Drop the cached input events of earlier measurements, then ``gc.collect()``.

    Input events are cached only within one measurement (a workload on a store): stores
    holding many objects, and the collector's cost of walking them, must be the store's,
    not left-overs of the harness.
    """
    data.histories.cache_clear()
    for cache in _INPUT_CACHES:
        cache.cache_clear()
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
        self.state = self._run(self.workload.prepare(self.factory, self.sizes))
        if self.durable and hasattr(os, "sync"):
            # The preparation's writes reach the disk now, not during the timed commits.
            os.sync()
        if not self.fresh_state:
            # Only the store keeps the events now: the heap holds what a real process would.
            forget_inputs()
            if not self.values:
                once = self._run(timed(self.workload.run, self.state))
                wanted = math.ceil(self.min_sample_time / max(once, 1e-9))
                self.repeat = max(1, min(_MAX_REPEAT, wanted))

    def sample(self) -> float:
        """One sample: seconds per operation, or bytes per event for the memory workload."""
        if self.state is None:
            raise RuntimeError("call prepare() first")
        if self.workload.unit == BYTES_PER_EVENT:
            result = self._run(self.workload.run(self.state))
            assert result is not None
            value = float(result)
            self.notes.update(getattr(self.state, "notes", {}))
        else:
            elapsed = self._run(timed(self.workload.run, self.state, self.repeat))
            value = elapsed / (self.ops * self.repeat)
        if self.fresh_state:
            self.state = None
            self._close_stores()
        self.values.append(value)
        return value

    def _run(self, awaitable: Awaitable[_T]) -> _T:
        """Run ``awaitable`` on the loop to its end. Interrupted (Ctrl-C), it is cancelled
        and wound down before the interrupt goes on, so nothing of it runs later against
        stores that are closed by then."""
        task = asyncio.ensure_future(awaitable, loop=self.loop)
        try:
            return self.loop.run_until_complete(task)
        except BaseException:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    self.loop.run_until_complete(task)
            raise

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
            self._run(_close_all(stores))
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
    per event for ``memory_per_event``, ``memory_per_event_running`` and
    ``disk_per_event``). ``samples`` defaults to the workload's own. Every store it makes
    is closed before it returns.

    Runs ``prepare`` untimed, then times ``run`` on one persistent event loop (``loop``,
    or a private one closed on return); see :mod:`aion_store.bench.workloads` for the
    method.
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
