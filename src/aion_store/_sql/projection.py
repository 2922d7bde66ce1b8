"""What one appended batch changes in a SQL store's projection tables.

The tables hold, per workflow, one ``workflows`` row (head, status, the current run's
type and start, its end, how many runs) and one ``runs`` row per ``WorkflowStarted``;
the parent of a child workflow is the workflow whose ``ChildWorkflowStarted`` named it
last. :func:`delta` walks a batch once and says what it changes *without reading the
stored row*, so PostgreSQL can apply it in the same statement that checks the head;
:func:`apply` is the same change applied to a row in hand (SQLite reads it first, for
free). An append never reads its history back and a listing never decodes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aion_store.events import ChildWorkflowStarted, Event, WorkflowStarted
from aion_store.ids import RunId, WorkflowId
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus

__all__ = ["Delta", "NewRun", "RunEnd", "WorkflowRow", "apply", "delta"]

_RUNNING = WorkflowStatus.RUNNING
_STARTED_TAG = WorkflowStarted.TAG
_CHILD_TAG = ChildWorkflowStarted.TAG


@dataclass(slots=True)
class NewRun:
    """A run the batch started (its ``WorkflowStarted``), closed by the batch or not."""

    run_id: RunId
    parent_run_id: RunId | None
    workflow_type: str
    started_at: datetime
    status: WorkflowStatus = _RUNNING
    closed_at: datetime | None = None


@dataclass(slots=True)
class RunEnd:
    """A terminal event that ends the run current before the batch (when there is one)."""

    status: WorkflowStatus
    closed_at: datetime


@dataclass(slots=True)
class Delta:
    """The projection changes of one batch of ``count`` events."""

    count: int
    #: The status of the batch's last lifecycle event; None: the status is unchanged.
    status: WorkflowStatus | None = None
    #: The last terminal event before the batch's first start: it closes the run that
    #: was current before the batch (and sets the workflow's end), if there was one.
    end_of_current: RunEnd | None = None
    #: The runs the batch started, in order; the last one is the workflow's current run.
    new_runs: list[NewRun] = field(default_factory=list)
    #: The workflows the batch's ChildWorkflowStarted events name, each once.
    children: list[WorkflowId] = field(default_factory=list)


def delta(events: Sequence[Event]) -> Delta:
    """The projection changes of appending ``events`` (already checked), in one pass."""
    change = Delta(len(events))
    by_tag = LIFECYCLE_STATUS_BY_TAG
    children: dict[WorkflowId, None] = {}
    for event in events:
        tag = event.TAG
        status = by_tag[tag]
        if status is None:
            if tag == _CHILD_TAG:
                child: ChildWorkflowStarted = event  # type: ignore[assignment]
                children[child.child_workflow_id] = None
            continue
        change.status = status
        at = event.envelope.recorded_at
        if tag == _STARTED_TAG:
            start: WorkflowStarted = event  # type: ignore[assignment]
            change.new_runs.append(
                NewRun(start.run_id, start.parent_run_id, start.workflow_type, at)
            )
        elif change.new_runs:
            current = change.new_runs[-1]
            current.status, current.closed_at = status, at
        else:
            change.end_of_current = RunEnd(status, at)
    change.children = list(children)
    return change


@dataclass(slots=True)
class WorkflowRow:
    """The ``workflows`` row of one workflow (a fresh workflow: the defaults)."""

    head: int = 0
    status: WorkflowStatus = _RUNNING
    runs: int = 0
    workflow_type: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


def apply(row: WorkflowRow, change: Delta) -> int | None:
    """Apply ``change`` to ``row`` in place; return the index of the run it ends (the run
    current before the batch), or None. New runs get the indexes ``row.runs`` onward
    (before the call)."""
    ended: int | None = None
    if change.end_of_current is not None and row.runs:
        ended = row.runs - 1
        row.ended_at = change.end_of_current.closed_at
    if change.new_runs:
        current = change.new_runs[-1]
        row.workflow_type = current.workflow_type
        row.started_at = current.started_at
        row.ended_at = current.closed_at
        row.runs += len(change.new_runs)
    if change.status is not None:
        row.status = change.status
    row.head += change.count
    return ended
