"""Scenarios of SPEC §6 appends and history reads: optimistic concurrency, batch checks
and their order, atomic rejection, range reads."""

from __future__ import annotations

import asyncio
from typing import Any

from aion_store._text import a
from aion_store.conformance._support import (
    TOKEN,
    WF_A,
    WF_B,
    WF_C,
    at,
    every_variant,
    expect,
    expect_equal,
    expect_mentions,
    expect_raises,
    expect_unchanged,
    scenario,
    seed,
    signal,
    signals,
    snapshot,
    started,
)
from aion_store.error import BackendError, SequenceConflict, StoreError
from aion_store.store import EventStore, WriteToken

# -- round trips -----------------------------------------------------------------------------


@scenario("SPEC §6 append/read_history: events of every variant read back equal, in seq order")
async def append_then_read_round_trip(store: EventStore) -> None:
    """Whatever a store keeps internally, reads give back equal events of the same variant."""
    events = every_variant(WF_A)
    await store.append(TOKEN, WF_A, events, 0)
    history = await store.read_history(WF_A)
    expect_equal(history, events, "read_history after appending one event of every variant")
    for got, want in zip(history, events):
        expect(
            type(got) is type(want),
            f"seq {want.seq}: expected {a(type(want).__name__)}, got {a(type(got).__name__)}",
        )
    expect_equal(await store.read_history(WF_B), [], "read_history of another workflow")
    expect_equal(await store.list_workflow_ids(), [WF_A], "list_workflow_ids()")


@scenario("SPEC §6 append: each batch continues the head, so seqs read back 1..N across batches")
async def batches_advance_the_head(store: EventStore) -> None:
    """Three batches append at heads 0, 2 and 3; each workflow has its own head."""
    batches = [[started(WF_A, 1), signal(WF_A, 2)], [signal(WF_A, 3)], signals(WF_A, 4, 3)]
    head = 0
    for batch in batches:
        await store.append(TOKEN, WF_A, batch, head)
        head += len(batch)
        expect_equal(
            [e.seq for e in await store.read_history(WF_A)],
            list(range(1, head + 1)),
            f"seqs after appending a batch at head {head - len(batch)}",
        )
    await store.append(TOKEN, WF_B, [started(WF_B, 1)], 0)
    expect_equal(
        await store.read_history(WF_A),
        [event for batch in batches for event in batch],
        "history of WF_A after another workflow's first append",
    )
    expect_equal(await store.read_history(WF_B), [started(WF_B, 1)], "history of WF_B")


# -- rule 1: the head check ------------------------------------------------------------------


@scenario(
    "SPEC §6 append rule 1: an expected_seq other than the head raises "
    "SequenceConflict(expected, found=head) and writes nothing"
)
async def stale_expected_seq_conflicts(store: EventStore) -> None:
    """Behind or ahead of the head, with a batch that would fit that head: a conflict."""
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2), signal(WF_A, 3)])
    before = await snapshot(store, WF_A)
    for stale in (0, 2, 4, 10):
        error = await expect_raises(
            SequenceConflict,
            store.append(TOKEN, WF_A, [signal(WF_A, stale + 1)], stale),
            f"append with expected_seq={stale} at head 3",
        )
        expect_equal(
            (error.expected, error.found), (stale, 3), "SequenceConflict (expected, found)"
        )
        expect(isinstance(error, StoreError), "SequenceConflict must be a StoreError")
        await expect_unchanged(store, before, f"after the append with expected_seq={stale}")


@scenario("SPEC §6 append rule 4: the first append of a workflow must use expected_seq 0")
async def first_append_expects_zero(store: EventStore) -> None:
    """An unknown workflow's head is 0; a conflicting first append does not create it."""
    for wrong in (1, 5):
        error = await expect_raises(
            SequenceConflict,
            store.append(TOKEN, WF_A, [signal(WF_A, wrong + 1)], wrong),
            f"first append with expected_seq={wrong}",
        )
        expect_equal(
            (error.expected, error.found), (wrong, 0), "SequenceConflict (expected, found)"
        )
    expect_equal(await store.list_workflow_ids(), [], "list_workflow_ids() after failed appends")
    expect_equal(await store.read_history(WF_A), [], "read_history after failed appends")
    await store.append(TOKEN, WF_A, [started(WF_A, 1)], 0)
    expect_equal(await store.list_workflow_ids(), [WF_A], "list_workflow_ids() after the append")


# -- rule 2: empty batches -------------------------------------------------------------------


@scenario(
    "SPEC §6 append rule 2: an empty batch with the right expected_seq is a no-op "
    "(and creates no workflow)"
)
async def empty_batch_is_a_noop(store: EventStore) -> None:
    await store.append(TOKEN, WF_A, [], 0)
    expect_equal(await store.list_workflow_ids(), [], "an empty first append created a workflow")
    expect_equal(await store.list_active(), [], "list_active() after an empty first append")
    await seed(store, WF_B, [started(WF_B, 1), signal(WF_B, 2)])
    before = await snapshot(store, WF_A, WF_B)
    await store.append(TOKEN, WF_B, [], 2)
    await expect_unchanged(store, before, "after an empty append at head 2")
    await store.append(TOKEN, WF_B, [signal(WF_B, 3)], 2)
    expect_equal(len(await store.read_history(WF_B)), 3, "history length after the next append")


@scenario("SPEC §6 append rules 1-2: an empty batch with a wrong expected_seq still conflicts")
async def empty_batch_with_stale_seq_conflicts(store: EventStore) -> None:
    await seed(store, WF_B, [started(WF_B, 1), signal(WF_B, 2)])
    before = await snapshot(store, WF_A, WF_B)
    for workflow_id, wrong, head in ((WF_A, 3, 0), (WF_B, 1, 2), (WF_B, 5, 2)):
        error = await expect_raises(
            SequenceConflict,
            store.append(TOKEN, workflow_id, [], wrong),
            f"empty append to {workflow_id} with expected_seq={wrong} at head {head}",
        )
        expect_equal((error.expected, error.found), (wrong, head), "SequenceConflict fields")
    await expect_unchanged(store, before, "after empty appends with a wrong expected_seq")


# -- rule 3: seqs, owners, item types --------------------------------------------------------


@scenario(
    "SPEC §6 append rule 3: a batch that does not continue the head contiguously raises "
    "BackendError and writes nothing"
)
async def non_contiguous_batch_rejected(store: EventStore) -> None:
    """A first event that skips, repeats or reorders seqs; also on an unknown workflow."""
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    before = await snapshot(store, WF_A, WF_B)
    cases = {
        "a first event that skips a seq": [signal(WF_A, 4)],
        "a first event that repeats the head": [signal(WF_A, 2)],
        "seqs in descending order": [signal(WF_A, 4), signal(WF_A, 3)],
    }
    for case, batch in cases.items():
        error = await expect_raises(
            BackendError, store.append(TOKEN, WF_A, batch, 2), f"append of {case}"
        )
        expect_mentions(error, f"append of {case}", batch[0].seq)
        await expect_unchanged(store, before, f"after the append of {case}")
    await expect_raises(
        BackendError,
        store.append(TOKEN, WF_B, [signal(WF_B, 2)], 0),
        "first append to an unknown workflow starting at seq 2",
    )
    await expect_unchanged(store, before, "after a rejected first append")


@scenario(
    "SPEC §6 append rule 3: a later event out of sequence rejects the whole batch (the valid "
    "events before it too); the BackendError names its zero-based index and its seq"
)
async def late_gap_rejects_whole_batch(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    before = await snapshot(store, WF_A)
    gap = [*signals(WF_A, 3, 11), signal(WF_A, 33)]  # index 11 should carry seq 14
    error = await expect_raises(
        BackendError, store.append(TOKEN, WF_A, gap, 2), "append with seq 33 at index 11"
    )
    expect_mentions(error, "append with seq 33 at index 11", 11, 33)
    await expect_unchanged(store, before, "after rejecting a batch with a late gap")
    repeat = [signal(WF_A, 3), signal(WF_A, 3)]
    await expect_raises(
        BackendError, store.append(TOKEN, WF_A, repeat, 2), "append repeating seq 3"
    )
    await expect_unchanged(store, before, "after rejecting a batch that repeats a seq")
    await store.append(TOKEN, WF_A, signals(WF_A, 3, 2), 2)
    expect_equal(len(await store.read_history(WF_A)), 4, "a valid batch after the rejections")


@scenario(
    "SPEC §6 append rule 3: an event whose envelope names another workflow raises BackendError "
    "naming its index and seq, and writes nothing to either workflow"
)
async def foreign_owner_rejected(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    await seed(store, WF_B, [started(WF_B, 1)])
    before = await snapshot(store, WF_A, WF_B, WF_C)
    batch = [*signals(WF_A, 3, 11), signal(WF_B, 14)]  # index 11 has the right seq, wrong owner
    error = await expect_raises(
        BackendError, store.append(TOKEN, WF_A, batch, 2), "append with WF_B's event at index 11"
    )
    expect_mentions(error, "append with WF_B's event at index 11", 11, 14)
    await expect_unchanged(store, before, "after rejecting a batch with a foreign event")
    await expect_raises(
        BackendError,
        store.append(TOKEN, WF_A, [signal(WF_B, 3)], 2),
        "append whose first event belongs to WF_B",
    )
    await expect_raises(
        BackendError,
        store.append(TOKEN, WF_C, [started(WF_A, 1)], 0),
        "first append to WF_C of an event owned by WF_A",
    )
    await expect_unchanged(store, before, "after rejecting foreign first events")


@scenario(
    "SPEC §6 append rule 3: a batch item that is not an Event raises TypeError, writes nothing"
)
async def non_event_item_is_type_error(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    before = await snapshot(store, WF_A, WF_B)
    bad_items: list[Any] = [None, "signal", {"seq": 3}, signal(WF_A, 3).envelope]
    for bad in bad_items:
        batch: list[Any] = [signal(WF_A, 3), bad, signal(WF_A, 5)]
        await expect_raises(
            TypeError, store.append(TOKEN, WF_A, batch, 2), f"append with {bad!r} at index 1"
        )
        await expect_unchanged(store, before, f"after rejecting {bad!r} in a batch")
        await expect_raises(
            TypeError, store.append(TOKEN, WF_B, [bad], 0), f"first append of [{bad!r}]"
        )
        await expect_unchanged(store, before, f"after rejecting a first append of [{bad!r}]")


@scenario("SPEC §6 WriteToken: append with a token that is not a WriteToken raises TypeError")
async def token_must_be_a_write_token(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1)])
    before = await snapshot(store, WF_A, WF_B)
    bad_tokens: list[Any] = [None, "recorder", object(), WriteToken]
    for bad in bad_tokens:
        await expect_raises(
            TypeError,
            store.append(bad, WF_A, [signal(WF_A, 2)], 1),
            f"append with token {bad!r}",
        )
        await expect_raises(
            TypeError,
            store.append(bad, WF_B, [started(WF_B, 1)], 0),
            f"first append with token {bad!r}",
        )
        await expect_unchanged(store, before, f"after appends with token {bad!r}")


# -- the order of the checks -----------------------------------------------------------------


@scenario(
    "SPEC §6 append order of checks: the head check comes first, so a stale expected_seq with "
    "a bad batch raises SequenceConflict"
)
async def head_check_comes_first(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    before = await snapshot(store, WF_A, WF_C)
    bad_batches: dict[str, list[Any]] = {
        "a non-contiguous batch": [signal(WF_A, 9)],
        "a batch owned by another workflow": [signal(WF_B, 6)],
        "a batch holding a non-Event": [signal(WF_A, 6), None],
    }
    for case, batch in bad_batches.items():
        error = await expect_raises(
            SequenceConflict,
            store.append(TOKEN, WF_A, batch, 5),
            f"append of {case} with expected_seq=5 at head 2",
        )
        expect_equal((error.expected, error.found), (5, 2), "SequenceConflict fields")
    await expect_raises(
        SequenceConflict,
        store.append(TOKEN, WF_C, [None], 1),  # type: ignore[list-item]
        "first append of [None] with expected_seq=1",
    )
    await expect_unchanged(store, before, "after the conflicting appends")


@scenario(
    "SPEC §6 append order of checks: every item's type is checked before any seq or owner, "
    "so a non-Event anywhere in the batch raises TypeError"
)
async def item_types_checked_before_seqs(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), signal(WF_A, 2)])
    before = await snapshot(store, WF_A)
    batch: list[Any] = [signal(WF_A, 9), signal(WF_B, 4), "not an event"]
    await expect_raises(
        TypeError,
        store.append(TOKEN, WF_A, batch, 2),
        "append of [bad seq, foreign owner, non-Event]",
    )
    await expect_unchanged(store, before, "after the rejected append")


@scenario(
    "SPEC §6 append order of checks: seqs and owners are checked item by item, so the error "
    "names the first offending event"
)
async def first_offending_event_is_reported(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), *signals(WF_A, 2, 9)])  # head 10
    before = await snapshot(store, WF_A)
    owner_first = [signal(WF_A, 11), signal(WF_B, 12), signal(WF_A, 33)]
    error = await expect_raises(
        BackendError,
        store.append(TOKEN, WF_A, owner_first, 10),
        "append with a foreign owner at seq 12 before a bad seq",
    )
    expect_mentions(error, "the first offender is the foreign event at seq 12", 12)
    seq_first = [signal(WF_A, 11), signal(WF_A, 22), signal(WF_B, 13)]
    error = await expect_raises(
        BackendError,
        store.append(TOKEN, WF_A, seq_first, 10),
        "append with seq 22 at index 1 before a foreign owner",
    )
    expect_mentions(error, "the first offender is seq 22 at index 1", 22)
    await expect_unchanged(store, before, "after the rejected appends")


@scenario(
    "SPEC §6 append: of concurrent appends with the same expected_seq exactly one succeeds, "
    "the others raise SequenceConflict"
)
async def racing_appends_have_one_winner(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1)])

    async def attempt(writer: int) -> None:
        await asyncio.sleep(0)
        await store.append(TOKEN, WF_A, [signal(WF_A, 2, name=f"writer-{writer}")], 1)

    results = await asyncio.gather(*(attempt(w) for w in range(16)), return_exceptions=True)
    winners = [writer for writer, result in enumerate(results) if result is None]
    expect_equal(len(winners), 1, "number of successful racing appends")
    for result in results:
        if isinstance(result, SequenceConflict):
            expect_equal((result.expected, result.found), (1, 2), "a loser's SequenceConflict")
        elif result is not None:
            raise AssertionError(f"a racing append raised {type(result).__name__}: {result}")
    expect_equal(
        await store.read_history(WF_A),
        [started(WF_A, 1), signal(WF_A, 2, name=f"writer-{winners[0]}")],
        "history after the race (the winner's event only)",
    )


# -- range reads -----------------------------------------------------------------------------


@scenario("SPEC §6 read_history_from: a middle from_seq returns exactly the suffix, ascending")
async def read_from_middle_returns_suffix(store: EventStore) -> None:
    events = [started(WF_A, 1), *signals(WF_A, 2, 5)]
    await seed(store, WF_A, events)
    for from_seq in range(2, 7):
        expect_equal(
            await store.read_history_from(WF_A, from_seq),
            events[from_seq - 1 :],
            f"read_history_from(WF_A, {from_seq}) on a 6-event history",
        )


@scenario("SPEC §6 read_history_from: from_seq 0 and from_seq 1 both equal a full read")
async def read_from_start_is_full_read(store: EventStore) -> None:
    events = [started(WF_A, 1), *signals(WF_A, 2, 3)]
    await seed(store, WF_A, events)
    full = await store.read_history(WF_A)
    expect_equal(full, events, "read_history")
    for from_seq in (0, 1):
        expect_equal(
            await store.read_history_from(WF_A, from_seq), full, f"read_history_from(_, {from_seq})"
        )


@scenario("SPEC §6 read_history_from: a from_seq beyond the head returns []")
async def read_from_beyond_head_is_empty(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), *signals(WF_A, 2, 3)])
    for from_seq in (5, 6, 1000):
        expect_equal(
            await store.read_history_from(WF_A, from_seq), [], f"read_history_from(_, {from_seq})"
        )


@scenario("SPEC §6 reads: an unknown workflow reads as [] from every read, never NotFound")
async def unknown_workflow_reads_empty(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1)])
    expect_equal(await store.read_history(WF_B), [], "read_history(unknown)")
    for from_seq in (0, 1, 5):
        expect_equal(
            await store.read_history_from(WF_B, from_seq),
            [],
            f"read_history_from(unknown, {from_seq})",
        )
    expect_equal(await store.read_run_chain(WF_B), [], "read_run_chain(unknown)")


@scenario(
    "SPEC §6 read_history_from: from the head returns the head event alone; from 1 on a "
    "one-event history returns that event"
)
async def read_from_single_event_boundaries(store: EventStore) -> None:
    events = [started(WF_A, 1), *signals(WF_A, 2, 3)]
    await seed(store, WF_A, events)
    expect_equal(await store.read_history_from(WF_A, 4), events[3:], "read_history_from(_, head)")
    only = started(WF_B, 1, when=at(0))
    await seed(store, WF_B, [only])
    expect_equal(await store.read_history_from(WF_B, 1), [only], "one-event history from 1")
    expect_equal(await store.read_history_from(WF_B, 2), [], "one-event history from 2")
