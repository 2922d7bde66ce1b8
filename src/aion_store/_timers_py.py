"""The durable-timer index in readable Python: twin of ``aion_store._timers_c``.

``schedule`` and ``due`` check their arguments with the shared checks and hold the
index's own lock, so ``InMemoryStore`` calls them directly.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_right, insort
from datetime import datetime
from typing import Any

from aion_store._validate import check_time, check_timer_id, check_workflow_id
from aion_store.ids import TimerId, WorkflowId
from aion_store.timers import TimerEntry

__all__ = ["TimerIndex"]


# (fire_at, workflow int, str(timer_id), serial, entry): the serial breaks ties between a
# stale heap item and its replacement, so entries themselves are never compared.
_Item = tuple[datetime, int, str, int, TimerEntry]


def _fire_at_of(item: _Item) -> datetime:
    return item[0]


class TimerIndex:
    """Timers keyed by ``(workflow_id, timer_id)``, answering "what is due" cheaply.

    Timers not yet due wait in a min-heap; a poll moves those that became due into a
    sorted list, so a poll costs O(result + moved * log T) instead of sorting every
    timer. Due timers stay due (the contract never removes a returned timer). A
    rescheduled timer leaves a stale heap item behind, skipped when it surfaces.
    Items sort by ``(fire_at, workflow int, str(timer_id))``: the workflow's 128-bit
    int orders exactly as its canonical string.
    """

    __slots__ = ("_current", "_due", "_lock", "_pending", "_serial", "_stale", "_watermark")

    def __init__(self) -> None:
        self._current: dict[tuple[WorkflowId, TimerId], _Item] = {}
        self._pending: list[_Item] = []
        self._due: list[_Item] = []
        self._watermark: datetime | None = None
        self._stale = 0
        self._serial = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._current)

    def schedule(self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime) -> None:
        """Insert or replace the timer ``(workflow_id, timer_id)``."""
        check_workflow_id(workflow_id)
        check_timer_id(timer_id)
        fire_at = check_time(fire_at, "fire_at")
        with self._lock:
            self._schedule(workflow_id, timer_id, fire_at)

    def _schedule(self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime) -> None:
        entry = TimerEntry._trusted(workflow_id, timer_id, fire_at)
        self._serial += 1
        item: _Item = (fire_at, workflow_id._int, str(timer_id), self._serial, entry)
        key = (workflow_id, timer_id)
        old = self._current.get(key)
        if old is not None:
            if self._watermark is not None and old[0] <= self._watermark:
                index = bisect_right(self._due, old[:3], key=_prefix) - 1
                del self._due[index]
            else:
                self._stale += 1
        self._current[key] = item
        if self._watermark is not None and fire_at <= self._watermark:
            insort(self._due, item, key=_prefix)
        else:
            heapq.heappush(self._pending, item)
            if self._stale > 64 and self._stale > len(self._pending) // 2:
                self._compact()

    def due(self, as_of: datetime) -> list[TimerEntry]:
        """Every timer with ``fire_at <= as_of``, in the contract's order."""
        as_of = check_time(as_of, "as_of")
        with self._lock:
            return self._due_locked(as_of)

    def _due_locked(self, as_of: datetime) -> list[TimerEntry]:
        if self._watermark is None or as_of > self._watermark:
            pending, current, due = self._pending, self._current, self._due
            while pending and pending[0][0] <= as_of:
                item = heapq.heappop(pending)
                entry = item[4]
                if current.get((entry.workflow_id, entry.timer_id)) is item:
                    if due and _prefix(item) < _prefix(due[-1]):
                        insort(due, item, key=_prefix)
                    else:
                        due.append(item)
                else:
                    self._stale -= 1
            self._watermark = as_of
        end = bisect_right(self._due, as_of, key=_fire_at_of)
        return [item[4] for item in self._due[:end]]

    def _compact(self) -> None:
        current = self._current
        self._pending = [
            item
            for item in self._pending
            if current.get((item[4].workflow_id, item[4].timer_id)) is item
        ]
        heapq.heapify(self._pending)
        self._stale = 0


def _prefix(item: Any) -> Any:
    return item[:3]
