"""The contract's asymptotic promises, checked as timing RATIOS measured in the same run.

- ``read_history_from`` costs O(events returned): reading the last 10 events of a
  100,000-event history costs at most 1.5x reading the last 10 of a 1,000-event one.
- ``append`` costs O(events appended): appending to a workflow at 10,000 events costs at
  most 1.5x appending to one at 100.

Both are asserted for the compiled and the pure engine (the naive baseline is measured
and reported, not asserted: it is linear on purpose). To stay robust on a noisy shared
machine the two sides are measured interleaved, block by block in alternating order,
and compared by their medians over many blocks: drift and bursts of load hit both
sides alike. These are the only timing assertions of the project.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest

from aion_store.bench import available_stores, data, forget_inputs, make_store
from aion_store.store import WriteToken

from .conftest import QUICK

TOKEN = WriteToken.recorder()
LIMIT = 1.5
REPS = 60 if QUICK else 200
ASSERTED = [store for store in ("compiled", "pure") if store in available_stores()]
STORES = [*ASSERTED, "naive"]

SHORT_READ, LONG_READ, SUFFIX, READ_BLOCK = 1_000, 100_000, 10, 20
SHORT_APPEND, LONG_APPEND, APPEND_BLOCK, LONG_POOL = 100, 10_000, 10, 4


async def _fill(store: Any, events: Any) -> None:
    owner = events[0].envelope.workflow_id
    for start in range(0, len(events), 1_000):
        await store.append(TOKEN, owner, list(events[start : start + 1_000]), start)


def _ratio(short: list[float], long: list[float]) -> dict[str, float]:
    short_median, long_median = statistics.median(short), statistics.median(long)
    return {
        "short_median_s": short_median,
        "long_median_s": long_median,
        "ratio": long_median / short_median,
    }


async def _suffix_reads(store_id: str, reps: int) -> dict[str, float]:
    store = make_store(store_id)
    (short,) = data.histories(0, 1, SHORT_READ, "none")
    (long,) = data.histories(1, 1, LONG_READ, "none")
    await _fill(store, short)
    await _fill(store, long)
    sides = [
        (short[0].envelope.workflow_id, SHORT_READ - SUFFIX + 1),
        (long[0].envelope.workflow_id, LONG_READ - SUFFIX + 1),
    ]
    del short, long
    forget_inputs()
    read = store.read_history_from
    clock = time.perf_counter
    times: list[list[float]] = [[], []]
    for rep in range(reps + 1):
        for side in (0, 1) if rep % 2 else (1, 0):
            workflow_id, from_seq = sides[side]
            start = clock()
            for _ in range(READ_BLOCK):
                result = await read(workflow_id, from_seq)
            elapsed = clock() - start
            assert len(result) == SUFFIX
            if rep:  # the first rep warms up
                times[side].append(elapsed / READ_BLOCK)
    return _ratio(*times)


async def _tail_appends(store_id: str, reps: int) -> dict[str, float]:
    store = make_store(store_id)
    per_long = -(-reps // LONG_POOL) * APPEND_BLOCK
    # A fresh 100-event workflow per rep; a pool of 10,000-event workflows growing <= 5%.
    shorts = data.histories(0, reps + 1, SHORT_APPEND + APPEND_BLOCK, "none")
    longs = data.histories(reps + 1, LONG_POOL, LONG_APPEND + per_long + APPEND_BLOCK, "none")
    blocks: list[list[tuple[Any, list[Any], int]]] = [[], []]
    for events in shorts:
        await _fill(store, events[:SHORT_APPEND])
        blocks[0].append(
            [(e.envelope.workflow_id, [e], e.envelope.seq - 1) for e in events[SHORT_APPEND:]]
        )
    for events in longs:
        await _fill(store, events[:LONG_APPEND])
    offsets = [LONG_APPEND] * LONG_POOL
    for rep in range(reps + 1):
        events = longs[rep % LONG_POOL]
        start = offsets[rep % LONG_POOL]
        offsets[rep % LONG_POOL] += APPEND_BLOCK
        chunk = events[start : start + APPEND_BLOCK]
        blocks[1].append([(e.envelope.workflow_id, [e], e.envelope.seq - 1) for e in chunk])
    del shorts, longs
    forget_inputs()
    append = store.append
    clock = time.perf_counter
    times: list[list[float]] = [[], []]
    for rep in range(reps + 1):
        for side in (0, 1) if rep % 2 else (1, 0):
            block = blocks[side][rep]
            start = clock()
            for workflow_id, batch, expected in block:
                await append(TOKEN, workflow_id, batch, expected)
            elapsed = clock() - start
            if rep:
                times[side].append(elapsed / APPEND_BLOCK)
    return _ratio(*times)


def _check(benchmark: Any, loop: asyncio.AbstractEventLoop, measure: Any, store_id: str) -> None:
    reps = REPS if store_id in ASSERTED else max(5, REPS // 20)
    result = benchmark.pedantic(
        lambda: loop.run_until_complete(measure(store_id, reps)), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result, store=store_id, limit=LIMIT, reps=reps)
    forget_inputs()
    if store_id in ASSERTED:
        assert result["ratio"] <= LIMIT, (
            f"{store_id}: the long side costs {result['ratio']:.2f}x the short side "
            f"(limit {LIMIT}x): {result}"
        )


@pytest.mark.parametrize("store_id", STORES)
def test_suffix_read_is_independent_of_history_length(
    benchmark: Any, loop: asyncio.AbstractEventLoop, store_id: str
) -> None:
    benchmark.group = "asymptotics_suffix_read_100k_vs_1k"
    _check(benchmark, loop, _suffix_reads, store_id)


@pytest.mark.parametrize("store_id", STORES)
def test_tail_append_is_independent_of_history_length(
    benchmark: Any, loop: asyncio.AbstractEventLoop, store_id: str
) -> None:
    benchmark.group = "asymptotics_append_at_10k_vs_100"
    _check(benchmark, loop, _tail_appends, store_id)
