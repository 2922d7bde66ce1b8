"""Untimed preparation shared by the workloads: filling stores, and appends to replay.

Contract: :func:`fill` appends whole histories and :func:`schedule_all` schedules timers,
many at once (``CONCURRENCY``), so a durable store's group commit shares its commits
among them while an in-memory store, whose calls never suspend, ends up exactly as if
filled in one loop, in order. :func:`round_robin` turns histories into the
``(workflow_id, batch, expected_seq)`` appends an engine makes, one workflow after
another; :class:`Appends` and :func:`run_appends` replay them (the timed part of every
append workload). Every write uses :data:`TOKEN`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.store import WriteToken

__all__ = [
    "CONCURRENCY",
    "TOKEN",
    "Appends",
    "append_all",
    "fill",
    "round_robin",
    "run_appends",
    "schedule_all",
]

#: The write token of every append of the benchmarks.
TOKEN = WriteToken.recorder()
#: Untimed preparation fills this many workflows (or schedules this many timers) at once:
#: a durable store's group commit then shares one fsync among them.
CONCURRENCY = 1_000


async def fill(store: Any, histories: Sequence[Sequence[Event]], batch: int = 1_000) -> None:
    """Append each history in batches of ``batch`` events (untimed preparation).

    Up to ``CONCURRENCY`` histories are filled by concurrent tasks, so that a durable
    store's group commit shares one transaction among them. An in-memory store's
    ``append`` never suspends, so its tasks run one after the other, in order: the store
    ends up exactly as if filled in one loop."""

    async def fill_one(events: Sequence[Event]) -> None:
        owner = events[0].envelope.workflow_id
        for start in range(0, len(events), batch):
            await store.append(TOKEN, owner, list(events[start : start + batch]), start)

    for first in range(0, len(histories), CONCURRENCY):
        chunk = histories[first : first + CONCURRENCY]
        await asyncio.gather(*(fill_one(events) for events in chunk))


async def schedule_all(store: Any, plan: Sequence[tuple[Any, Any, Any]]) -> None:
    """Schedule every timer of ``plan`` (``(workflow_id, timer_id, fire_at)``),
    ``CONCURRENCY`` at once (untimed preparation: a durable store commits each chunk
    together; an in-memory one schedules in order)."""
    schedule = store.schedule_timer
    for first in range(0, len(plan), CONCURRENCY):
        chunk = plan[first : first + CONCURRENCY]
        await asyncio.gather(*(schedule(owner, timer, at) for owner, timer, at in chunk))


def round_robin(
    histories: Sequence[Sequence[Event]], batch: int
) -> list[tuple[WorkflowId, list[Event], int]]:
    """Appends of ``batch`` events, one workflow after another, round by round."""
    appends: list[tuple[WorkflowId, list[Event], int]] = []
    length = max(len(events) for events in histories)
    for start in range(0, length, batch):
        for events in histories:
            chunk = list(events[start : start + batch])
            if chunk:
                first = chunk[0].envelope
                appends.append((first.workflow_id, chunk, first.seq - 1))
    return appends


@dataclass
class Appends:
    """A fresh store and the appends to make: ``(workflow_id, batch, expected_seq)``."""

    store: Any
    appends: list[tuple[WorkflowId, list[Event], int]]


async def run_appends(state: Appends) -> None:
    """Make every append of ``state``, each awaited before the next."""
    append = state.store.append
    for workflow_id, batch, expected in state.appends:
        await append(TOKEN, workflow_id, batch, expected)


async def append_all(store: Any, appends: Sequence[tuple[WorkflowId, list[Event], int]]) -> Any:
    """Make ``appends`` on ``store`` in order (untimed preparation); returns the store."""
    for workflow_id, batch, expected in appends:
        await store.append(TOKEN, workflow_id, batch, expected)
    return store
