"""The decoded-event cache: its knob (shared by every store), the compiled engine's policy
(memory budget, running workflows first, closed ones dropped), and the SQL stores'
cache of decoded prefixes."""

from __future__ import annotations

import random
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

from aion_store import BackendError, InMemoryStore, SqliteStore, WorkflowFilter, WorkflowId
from aion_store._cache import (
    CLOSING_TAGS,
    DECODED_BYTES_PER_EVENT,
    DEFAULT_DECODED_CACHE_BYTES,
    cache_budget,
    decoded_cost,
)
from aion_store._sql.cache import HistoryCache
from aion_store._sql.rows import id_bytes
from aion_store.conformance._support import (
    TOKEN,
    WF_A,
    WF_B,
    WF_C,
    completed,
    signal,
    signals,
    started,
)
from aion_store.events import VARIANTS, WorkflowCompleted, WorkflowStarted
from engines import requires_compiled

# -- the knob -----------------------------------------------------------------------------


def test_the_default_budget_holds_a_100k_event_history() -> None:
    # ~80 encoded bytes per event on the standard mix, plus the per-event charge.
    assert DEFAULT_DECODED_CACHE_BYTES >= 100_000 * (100 + DECODED_BYTES_PER_EVENT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, DEFAULT_DECODED_CACHE_BYTES), (0, 0), (5, 5), (2**64 - 1, sys.maxsize)],
)
def test_cache_budget_takes_any_u64(value: Any, expected: int) -> None:
    assert cache_budget(value) == expected


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), ("1", TypeError)]
)
def test_a_bad_budget_names_the_argument(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="decoded_cache_bytes"):
        InMemoryStore(decoded_cache_bytes=value)


def test_the_event_count_of_version_0_1_still_works_and_warns() -> None:
    with pytest.warns(DeprecationWarning, match="decoded_cache_events is deprecated"):
        store = InMemoryStore(decoded_cache_events=10)
    assert store is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert cache_budget(None, 10) == 3_600
        with pytest.raises(ValueError, match="decoded_cache_events"):
            cache_budget(None, -1)


def test_giving_both_knobs_is_an_error() -> None:
    with pytest.raises(TypeError, match="not both"):
        InMemoryStore(decoded_cache_bytes=10, decoded_cache_events=10)


def test_closing_tags_are_the_terminal_lifecycle_events() -> None:
    closing = {variant.__name__ for variant, flag in zip(VARIANTS, CLOSING_TAGS) if flag}
    assert closing == {
        "WorkflowCompleted",
        "WorkflowFailed",
        "WorkflowCancelled",
        "WorkflowTimedOut",
        "WorkflowContinuedAsNew",
    }
    assert not CLOSING_TAGS[WorkflowStarted.TAG]
    assert CLOSING_TAGS[WorkflowCompleted.TAG]


def test_decoded_cost_charges_bytes_and_events() -> None:
    assert decoded_cost([b"abc", b"de"]) == 5 + 2 * DECODED_BYTES_PER_EVENT
    assert decoded_cost([]) == 0


# -- the compiled engine's policy -------------------------------------------------------------


def _info(store: InMemoryStore) -> tuple[int, int, int]:
    return store._engine.cache_info()  # type: ignore[attr-defined, no-any-return]


@requires_compiled
async def test_appended_objects_are_what_a_running_workflow_reads_back() -> None:
    store = InMemoryStore(engine="compiled")
    batch = [started(WF_A, 1), signal(WF_A, 2)]
    await store.append(TOKEN, WF_A, batch, 0)
    history = await store.read_history(WF_A)
    assert history == batch
    assert all(got is given for got, given in zip(history, batch)), "no decode: the same objects"
    assert _info(store)[2] == 2
    suffix = await store.read_history_from(WF_A, 2)
    assert suffix[0] is batch[1]


@requires_compiled
async def test_closing_a_workflow_drops_its_decoded_events() -> None:
    store = InMemoryStore(engine="compiled")
    await store.append(TOKEN, WF_A, [started(WF_A, 1), signal(WF_A, 2)], 0)
    await store.append(TOKEN, WF_B, [started(WF_B, 1)], 0)
    assert _info(store)[2] == 3
    await store.append(TOKEN, WF_A, [completed(WF_A, 3)], 2)
    budget, cost, events = _info(store)
    assert events == 1, "only the running workflow stays cached"
    assert 0 < cost <= budget
    # A closed history still reads (decoded), and enters at the cold end.
    assert [event.seq for event in await store.read_history(WF_A)] == [1, 2, 3]
    assert _info(store)[2] == 4


async def _fill_three(store: InMemoryStore) -> list[int]:
    """WF_A closed and read, WF_B running, then WF_C appended and read; the cache's cost
    after each step."""
    costs = []
    await store.append(TOKEN, WF_A, [started(WF_A, 1), completed(WF_A, 2)], 0)
    await store.append(TOKEN, WF_B, [started(WF_B, 1), signal(WF_B, 2)], 0)
    costs.append(_info(store)[1])
    await store.read_history(WF_A)  # closed: cached at the cold end
    costs.append(_info(store)[1])
    await store.append(TOKEN, WF_C, [started(WF_C, 1), signal(WF_C, 2)], 0)
    costs.append(_info(store)[1])
    await store.read_history(WF_C)
    costs.append(_info(store)[1])
    return costs


@requires_compiled
async def test_closed_histories_are_evicted_before_running_ones() -> None:
    only_b, with_a, all_three, _ = await _fill_three(InMemoryStore(engine="compiled"))
    cost_a, cost_c = with_a - only_b, all_three - with_a
    store = InMemoryStore(engine="compiled", decoded_cache_bytes=all_three - 1)
    # WF_C's append finds no room and evicts nothing; its read is admitted and evicts
    # WF_A (closed, at the cold end), not WF_B.
    assert await _fill_three(store) == [only_b, with_a, with_a, only_b + cost_c]
    assert _info(store)[2] == 4
    assert cost_a > 0


@requires_compiled
async def test_appends_never_evict() -> None:
    probe = InMemoryStore(engine="compiled")
    await probe.append(TOKEN, WF_A, [started(WF_A, 1), signal(WF_A, 2)], 0)
    one = _info(probe)[1]
    store = InMemoryStore(engine="compiled", decoded_cache_bytes=one)
    await store.append(TOKEN, WF_A, [started(WF_A, 1), signal(WF_A, 2)], 0)
    await store.append(TOKEN, WF_B, [started(WF_B, 1), signal(WF_B, 2)], 0)
    assert _info(store) == (one, one, 2), "WF_B was not cached in place of WF_A"
    assert (await store.read_history(WF_A))[0] is not None


@requires_compiled
async def test_a_history_past_the_budget_is_never_cached_and_still_reads() -> None:
    store = InMemoryStore(engine="compiled", decoded_cache_bytes=1_000)
    batch = [started(WF_A, 1), *signals(WF_A, 2, 20)]
    await store.append(TOKEN, WF_A, batch, 0)
    assert _info(store) == (1_000, 0, 0)
    assert await store.read_history(WF_A) == batch
    assert await store.read_history_from(WF_A, 15) == batch[14:]
    assert _info(store) == (1_000, 0, 0)


@requires_compiled
async def test_suffix_then_earlier_reads_extend_the_cached_part() -> None:
    batch = [started(WF_A, 1), *signals(WF_A, 2, 9)]
    probe = InMemoryStore(engine="compiled")
    await probe.append(TOKEN, WF_A, batch, 0)
    whole = _info(probe)[1]
    # A budget that holds about 60% of the history: the batch itself is not cached.
    tiny = InMemoryStore(engine="compiled", decoded_cache_bytes=whole * 6 // 10)
    await tiny.append(TOKEN, WF_A, batch, 0)
    assert _info(tiny)[2] == 0, "the batch alone is past the budget"
    assert await tiny.read_history_from(WF_A, 8) == batch[7:]
    assert _info(tiny)[2] == 3, "the suffix read is cached"
    assert await tiny.read_history_from(WF_A, 6) == batch[5:]
    assert _info(tiny)[2] == 5, "the earlier read decoded two more"
    assert await tiny.read_history_from(WF_A, 7) == batch[6:]
    assert _info(tiny)[2] == 5, "a read inside the cached part decodes nothing"


@requires_compiled
async def test_the_cache_never_passes_its_budget() -> None:
    rng = random.Random(7)
    budget = 6_000
    store = InMemoryStore(engine="compiled", decoded_cache_bytes=budget)
    pure = InMemoryStore(engine="pure")
    ids = [WorkflowId(uuid.UUID(int=index + 1)) for index in range(6)]
    heads = dict.fromkeys(ids, 0)
    for _ in range(400):
        workflow_id = rng.choice(ids)
        if rng.random() < 0.5:
            head = heads[workflow_id]
            batch = (
                [started(workflow_id, 1)]
                if head == 0
                else signals(workflow_id, head + 1, rng.randint(1, 4))
            )
            for each in (store, pure):
                await each.append(TOKEN, workflow_id, batch, head)
            heads[workflow_id] += len(batch)
        else:
            start = rng.randint(0, heads[workflow_id] + 1)
            got = await store.read_history_from(workflow_id, start)
            assert got == await pure.read_history_from(workflow_id, start)
        limit, cost, _ = _info(store)
        assert 0 <= cost <= limit == budget


# -- the compiled engine's per-history limit --------------------------------------------------


@requires_compiled
async def test_an_append_past_the_history_limit_is_refused_and_changes_nothing() -> None:
    from aion_store import _engine_c

    store = InMemoryStore(engine="compiled")
    await store.append(TOKEN, WF_A, [started(WF_A, 1)], 0)
    before = (await store.read_history_raw(WF_A), await store.query(WorkflowFilter()))
    previous = _engine_c._set_history_limit(300)
    try:
        with pytest.raises(
            BackendError, match=r"past the compiled engine's limit of 300 per workflow"
        ):
            await store.append(TOKEN, WF_A, signals(WF_A, 2, 20), 1)
    finally:
        _engine_c._set_history_limit(previous)
    assert (await store.read_history_raw(WF_A), await store.query(WorkflowFilter())) == before
    await store.append(TOKEN, WF_A, signals(WF_A, 2, 5), 1)
    assert len(await store.read_history(WF_A)) == 6


# -- the SQL stores' cache ---------------------------------------------------------------------


def test_history_cache_keeps_within_its_budget_least_recent_out() -> None:
    cache = HistoryCache(100)
    cache.put(b"a", [object()], 40)  # type: ignore[list-item]
    cache.put(b"b", [object()], 40)  # type: ignore[list-item]
    cache.get(b"a")
    cache.put(b"c", [object()], 40)  # type: ignore[list-item]
    assert cache.get(b"b") == ([], 0), "b was the least recently read"
    assert cache.get(b"a")[1] == 40 and cache.get(b"c")[1] == 40
    assert cache.cost == 80
    cache.put(b"d", [object()], 101)  # type: ignore[list-item]
    assert cache.get(b"d") == ([], 0), "past the whole budget: not kept"
    cache.discard(b"a")
    assert cache.cost == 40 and len(cache) == 1
    cache.discard(b"missing")
    assert HistoryCache(0).cost == 0


async def test_sqlite_drops_a_closed_workflows_cached_history(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "s.db", durability="normal") as store:
        await store.append(TOKEN, WF_A, [started(WF_A, 1), signal(WF_A, 2)], 0)
        await store.read_history(WF_A)
        assert store._cache.get(id_bytes(WF_A))[0], "read: cached"
        await store.append(TOKEN, WF_A, [completed(WF_A, 3)], 2)
        assert store._cache.get(id_bytes(WF_A)) == ([], 0), "closed: dropped"
        assert [event.seq for event in await store.read_history(WF_A)] == [1, 2, 3]
