"""Durable timers: the ``TimerEntry`` record (SPEC §6). The index that answers "what is
due" is ``aion_store._timers_c`` or its twin ``aion_store._timers_py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aion_store._fields import Record, check_timestamp
from aion_store.ids import TimerId, WorkflowId

__all__ = ["TimerEntry", "check_fire_at", "timer_order_key"]


@dataclass(frozen=True, slots=True)
class TimerEntry(Record):
    """A scheduled timer: which workflow, which timer, when it fires."""

    workflow_id: WorkflowId
    timer_id: TimerId
    fire_at: datetime


def timer_order_key(entry: TimerEntry) -> tuple[datetime, str, str]:
    """The contract's order of due timers: ``(fire_at, str(workflow_id), str(timer_id))``."""
    return (entry.fire_at, str(entry.workflow_id), str(entry.timer_id))


def check_fire_at(fire_at: Any) -> datetime:
    """Validate a ``schedule_timer`` time (naive is a ``ValueError``)."""
    return check_timestamp(fire_at, "fire_at")
