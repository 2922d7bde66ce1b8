"""Deterministic event data for the benchmarks: fixed ids, fixed times, fixed seeds.

Every workload builds its events here, before anything is timed. A history follows one
realistic shape: ``WorkflowStarted`` first, then a repeating cycle of activities
(scheduled, started, completed), a durable timer (started, fired) and signals, and
``WorkflowCompleted`` last when the workflow is complete. The event at a given position
depends only on the workflow's index and the seq, so a history can be built in pieces
(a prefix now, the next events later) and always continues the same way.

Events are built through the validating constructors, like an engine builds them, and
every event owns its objects (its own timestamp, payload and ids), as events decoded
from a store or received from an engine do.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from aion_store.events import (
    ActivityCompleted,
    ActivityScheduled,
    ActivityStarted,
    Event,
    EventEnvelope,
    SignalReceived,
    TimerFired,
    TimerStarted,
    WorkflowCompleted,
    WorkflowStarted,
)
from aion_store.ids import ActivityId, PackageVersion, RunId, TimerId, WorkflowId
from aion_store.payload import Payload

__all__ = [
    "BASE_TIME",
    "CYCLE",
    "SEED",
    "Clock",
    "event_at",
    "events_for",
    "histories",
    "history",
    "run_id",
    "workflow_id",
]

#: Every benchmark timestamp is an offset from this instant.
BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
#: The seed of every payload generator (combined with the workflow index).
SEED = 20240101

# Multiplying a counter by an odd 128-bit constant spreads consecutive ids over the whole
# UUID space (so sorting by id is not insertion order), deterministically.
_SPREAD = 0x9E3779B97F4A7C15F39CC0605CEDC835
_MASK = (1 << 128) - 1

#: ``recorded_at`` of the event of workflow ``index`` at ``seq``.
Clock = Callable[[int, int], datetime]

#: The body of a history after its ``WorkflowStarted``, repeated, by kind of event.
CYCLE: tuple[str, ...] = (
    "activity_scheduled",
    "activity_started",
    "activity_completed",
    "timer_started",
    "signal",
    "timer_fired",
    "activity_scheduled",
    "activity_started",
    "activity_completed",
    "signal",
)

_ACTIVITY_TYPES = ("charge_card", "reserve_stock", "send_email", "ship_order")
_SIGNALS = ("approve", "update_address", "add_item")
_WORKFLOW_TYPES = ("order_fulfilment", "payment_retry", "subscription_renewal")


def workflow_id(index: int) -> WorkflowId:
    """The fixed ``WorkflowId`` of workflow number ``index``."""
    return WorkflowId(uuid.UUID(int=((index + 1) * _SPREAD) & _MASK, version=4))


def run_id(index: int) -> RunId:
    """The fixed ``RunId`` of the first run of workflow number ``index``."""
    return RunId(uuid.UUID(int=((index + 1) * _SPREAD * 3) & _MASK, version=4))


def default_clock(index: int, seq: int) -> datetime:
    """Workflow ``index`` starts ``index`` seconds after ``BASE_TIME``; one event per ms."""
    return BASE_TIME + timedelta(seconds=index, milliseconds=seq)


def _payload(rng: random.Random, index: int, seq: int) -> Payload:
    # ~60-120 bytes of JSON: the size of a typical activity input or result.
    return Payload.from_json(
        {
            "order_id": f"ord-{index:07d}",
            "step": seq,
            "amount_cents": rng.randrange(100, 1_000_000),
            "currency": rng.choice(("EUR", "USD", "GBP")),
            "items": [rng.randrange(1000) for _ in range(rng.randrange(1, 5))],
        }
    )


def event_at(
    index: int,
    seq: int,
    *,
    last: bool,
    owner: WorkflowId,
    recorded_at: datetime,
    rng: random.Random,
) -> Event:
    """The event at ``seq`` of workflow ``index`` (``last``: it completes the workflow)."""
    envelope = EventEnvelope(seq=seq, recorded_at=recorded_at, workflow_id=owner)
    if seq == 1:
        return WorkflowStarted(
            envelope=envelope,
            workflow_type=_WORKFLOW_TYPES[index % len(_WORKFLOW_TYPES)],
            input=_payload(rng, index, seq),
            run_id=run_id(index),
            parent_run_id=None,
            package_version=PackageVersion(f"sha256:{index % 7:064x}"),
        )
    if last:
        return WorkflowCompleted(envelope=envelope, result=_payload(rng, index, seq))
    position = (seq - 2) % len(CYCLE)
    kind = CYCLE[position]
    if kind == "activity_scheduled":
        return ActivityScheduled(
            envelope=envelope,
            activity_id=ActivityId(seq),
            activity_type=_ACTIVITY_TYPES[seq % len(_ACTIVITY_TYPES)],
            input=_payload(rng, index, seq),
        )
    if kind == "activity_started":
        return ActivityStarted(envelope=envelope, activity_id=ActivityId(seq - 1))
    if kind == "activity_completed":
        return ActivityCompleted(
            envelope=envelope, activity_id=ActivityId(seq - 2), result=_payload(rng, index, seq)
        )
    if kind == "timer_started":
        return TimerStarted(
            envelope=envelope,
            timer_id=TimerId.named(f"reminder-{seq}"),
            fire_at=recorded_at + timedelta(seconds=30),
        )
    if kind == "timer_fired":
        return TimerFired(envelope=envelope, timer_id=TimerId.named(f"reminder-{seq - 2}"))
    return SignalReceived(
        envelope=envelope,
        name=_SIGNALS[seq % len(_SIGNALS)],
        payload=_payload(rng, index, seq),
    )


def events_for(
    index: int,
    first_seq: int,
    count: int,
    *,
    length: int | None = None,
    clock: Clock = default_clock,
) -> list[Event]:
    """Events ``first_seq .. first_seq + count - 1`` of workflow ``index``.

    ``length`` is the full history's length when the workflow completes (its event at
    ``length`` is ``WorkflowCompleted``); ``None`` keeps it running.
    """
    owner = workflow_id(index)
    rng = random.Random(SEED * 1_000_003 + index * 7919 + first_seq)
    return [
        event_at(
            index,
            seq,
            last=seq == length,
            owner=owner,
            recorded_at=clock(index, seq),
            rng=rng,
        )
        for seq in range(first_seq, first_seq + count)
    ]


def history(index: int, length: int, *, complete: bool = False) -> list[Event]:
    """A fresh (not cached) history of ``length`` events for workflow ``index``."""
    return events_for(index, 1, length, length=length if complete else None)


@lru_cache(maxsize=6)
def histories(
    first_index: int, count: int, length: int, complete: str = "none"
) -> tuple[tuple[Event, ...], ...]:
    """Cached histories of workflows ``first_index .. first_index + count - 1``.

    ``complete``: ``"none"`` (all running), ``"all"``, or ``"even"`` (every workflow with
    an even index completes). Events are immutable, so workloads share these safely.
    """
    result = []
    for index in range(first_index, first_index + count):
        done = complete == "all" or (complete == "even" and index % 2 == 0)
        result.append(tuple(history(index, length, complete=done)))
    return tuple(result)
