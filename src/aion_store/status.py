"""Status projection, workflow summaries and the query filter (SPEC §5)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aion_store._fields import Record
from aion_store.events import VARIANTS, Event, WorkflowStarted
from aion_store.ids import WorkflowId

__all__ = ["WorkflowFilter", "WorkflowStatus", "WorkflowSummary", "status_from_events"]


class WorkflowStatus(enum.Enum):
    """A workflow's projected status."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    TIMED_OUT = "TimedOut"
    CONTINUED_AS_NEW = "ContinuedAsNew"

    @property
    def is_terminal(self) -> bool:
        """False only for ``RUNNING``."""
        return self is not WorkflowStatus.RUNNING


_LIFECYCLE = {
    Event.WorkflowStarted: WorkflowStatus.RUNNING,
    Event.WorkflowCompleted: WorkflowStatus.COMPLETED,
    Event.WorkflowFailed: WorkflowStatus.FAILED,
    Event.WorkflowCancelled: WorkflowStatus.CANCELLED,
    Event.WorkflowTimedOut: WorkflowStatus.TIMED_OUT,
    Event.WorkflowContinuedAsNew: WorkflowStatus.CONTINUED_AS_NEW,
}

#: ``LIFECYCLE_STATUS_BY_TAG[event.TAG]``: the status a lifecycle event projects, else None.
LIFECYCLE_STATUS_BY_TAG: tuple[WorkflowStatus | None, ...] = tuple(
    _LIFECYCLE.get(variant) for variant in VARIANTS
)


def status_from_events(events: Sequence[Event]) -> WorkflowStatus:
    """The status of the last lifecycle event (a later start supersedes); RUNNING if none."""
    by_tag = LIFECYCLE_STATUS_BY_TAG
    for index in range(len(events) - 1, -1, -1):
        status = by_tag[events[index].TAG]
        if status is not None:
            return status
    return WorkflowStatus.RUNNING


@dataclass(frozen=True, slots=True)
class WorkflowSummary(Record):
    """One workflow as ``query`` lists it."""

    workflow_id: WorkflowId
    workflow_type: str
    status: WorkflowStatus
    started_at: datetime
    ended_at: datetime | None = None
    parent: WorkflowId | None = None

    @classmethod
    def from_history(cls, events: Sequence[Event]) -> WorkflowSummary | None:
        """Summarise one history (in seq order); None without a ``WorkflowStarted``.

        Type and start come from the latest start, ``ended_at`` from the current run's
        last terminal event. ``parent`` stays None: a history does not name its parent.
        """
        by_tag = LIFECYCLE_STATUS_BY_TAG
        ended_at: datetime | None = None
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            status = by_tag[event.TAG]
            if status is None:
                continue
            if isinstance(event, WorkflowStarted):
                return cls(
                    workflow_id=event.envelope.workflow_id,
                    workflow_type=event.workflow_type,
                    status=status_from_events(events),
                    started_at=event.envelope.recorded_at,
                    ended_at=ended_at,
                )
            if ended_at is None:
                ended_at = event.envelope.recorded_at
        return None


@dataclass(frozen=True, slots=True)
class WorkflowFilter(Record):
    """Which workflows ``query`` returns; every set field must match, bounds inclusive."""

    workflow_type: str | None = None
    status: WorkflowStatus | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    parent: WorkflowId | None = None

    def matches(self, summary: WorkflowSummary) -> bool:
        if self.workflow_type is not None and summary.workflow_type != self.workflow_type:
            return False
        if self.status is not None and summary.status is not self.status:
            return False
        if self.started_after is not None and summary.started_at < self.started_after:
            return False
        if self.started_before is not None and summary.started_at > self.started_before:
            return False
        return self.parent is None or summary.parent == self.parent
