"""Every standard workload on every store, grouped by workload so ratios read off one run.

Thin wrappers over ``aion_store.bench``: each benchmark is one ``Sampler``, driven by
``benchmark.pedantic`` (a fresh ``prepare`` per round for the workloads that change the
store) and closed at the end (the ``sqlite`` family's stores have threads and temp
files). Within a group, compare a store with its family's reference (``reference`` in
``extra_info``: ``naive`` in memory, ``sqlite_floor`` for the ``sqlite`` family). The
table shows seconds per operation, as each sample measured it inside the coroutine
(``conftest.PerOpClock``); ``extra_info`` repeats the median (``per_op_s``,
``per_event_s``) and, for ``memory_per_event`` and ``disk_per_event``, holds the result
(``bytes_per_event``; its table times are merely how long the measurement took).
Nothing here asserts anything about speed: ``test_durable`` and ``test_asymptotics``
hold the assertions, on ratios.

Two decoding baselines join the cold full-read groups: ``unpackb_floor`` is
``msgpack.unpackb`` of the same stored bytes into plain lists (the floor for any decoder
of this format), ``pure_codec`` is ``aion_store.wire._msgpack_py.from_msgpack`` of them
(the pure-Python decoder the compiled one replaces). Both run with the cyclic collector
paused, their best case: building 100,000 nested lists otherwise triggers full
collections that cost more than the parsing (the compiled decoder's event objects are
untracked by the collector, so it does not pay this either way).
"""

from __future__ import annotations

import asyncio
import gc
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from aion_store.bench import (
    REFERENCES,
    STORES,
    WORKLOADS,
    Sampler,
    available_stores,
    forget_inputs,
)
from aion_store.events import Event
from aion_store.wire import _msgpack_py as _msgpack

from .conftest import SIZES, per_op_clock

AVAILABLE = available_stores()
CASES = [
    pytest.param(workload.id, store_id, id=f"{workload.id}[{store_id}]")
    for workload in WORKLOADS.values()
    for store_id in STORES
    if store_id in workload.stores and store_id in AVAILABLE
]
DECODE_GROUPS = ("full_read_1k_cold", "full_read_100k_cold")
BASELINES = ("unpackb_floor", "pure_codec")


@pytest.mark.parametrize(("workload_id", "store_id"), CASES)
def test_workload(
    benchmark: Any, loop: asyncio.AbstractEventLoop, workload_id: str, store_id: str
) -> None:
    workload = WORKLOADS[workload_id]
    benchmark.group = workload.id
    with Sampler(workload, store_id, SIZES, loop=loop) as sampler:
        _run_sampler(benchmark, workload, store_id, sampler)
    forget_inputs()


def _run_sampler(benchmark: Any, workload: Any, store_id: str, sampler: Sampler) -> None:
    if workload.unit == "s":
        # The table shows seconds per operation: what each sample measured.
        clock = per_op_clock(benchmark)

        def target() -> None:
            clock.advance(sampler.sample())
    else:
        target = sampler.sample  # type: ignore[assignment]
    if sampler.fresh_state:
        benchmark.pedantic(target, setup=sampler.prepare, rounds=workload.samples)
    else:
        sampler.prepare()
        benchmark.pedantic(target, rounds=workload.samples)
    info = benchmark.extra_info
    info.update(
        store=store_id, reference=REFERENCES[store_id], workload=workload.id, unit=workload.unit
    )
    median = statistics.median(sampler.values)
    if workload.unit == "s":
        info.update(
            per_op_s=median,
            per_op_min_s=min(sampler.values),
            ops_per_round=sampler.ops * sampler.repeat,
        )
        events = workload.events_per_op(SIZES)
        if events:
            info["per_event_s"] = median / events
    else:
        info["bytes_per_event"] = median
        info.update(sampler.notes)


def _autorange(function: Callable[[], Any], minimum: float = 0.005) -> int:
    clock = time.perf_counter
    start = clock()
    function()
    once = clock() - start
    return max(1, math.ceil(minimum / max(once, 1e-9)))


@pytest.mark.skipif("compiled" not in AVAILABLE, reason="the compiled core is not built")
@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("workload_id", DECODE_GROUPS)
def test_decode_baseline(
    benchmark: Any, loop: asyncio.AbstractEventLoop, workload_id: str, baseline: str
) -> None:
    workload = WORKLOADS[workload_id]
    benchmark.group = workload.id
    state = loop.run_until_complete(workload.prepare(workload.store_factory("compiled"), SIZES))
    raw: bytes = loop.run_until_complete(state.store.read_history_raw(state.workflow_id))
    count = workload.events_per_op(SIZES)
    assert count is not None
    del state
    forget_inputs()
    if baseline == "unpackb_floor":
        # The stored bodies behind one array header: a single unpackb decodes them all.
        document = b"\xdd" + count.to_bytes(4, "big") + raw[1:]

        def decode() -> Any:
            return msgpack.unpackb(document, raw=False)
    else:

        def decode() -> Any:
            return _msgpack.from_msgpack(raw, list[Event])

    assert len(decode()) == count
    repeat = _autorange(decode)
    values: list[float] = []
    clock = per_op_clock(benchmark)

    def sample() -> None:
        now = time.perf_counter
        gc.disable()  # the baselines' best case: no collections while they build objects
        try:
            start = now()
            for _ in range(repeat):
                decode()
            values.append((now() - start) / repeat)
        finally:
            gc.enable()
        clock.advance(values[-1])

    benchmark.pedantic(sample, rounds=max(workload.samples, 9))
    median = statistics.median(values)
    benchmark.extra_info.update(
        store=baseline,
        workload=workload.id,
        unit="s",
        per_op_s=median,
        per_op_min_s=min(values),
        ops_per_round=repeat,
        per_event_s=median / count,
    )
