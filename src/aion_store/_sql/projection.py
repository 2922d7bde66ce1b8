"""What one appended batch changes in a SQL store's projection tables.

The tables hold, per workflow, one ``workflows`` row (head, status, the current run's
type and start, its end, how many runs) and one ``runs`` row per ``WorkflowStarted``;
``parents`` maps a child workflow to the workflow whose ``ChildWorkflowStarted`` named
it last. :func:`project` walks a batch once and says which rows to write, so an append
never reads the history back and a listing never decodes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aion_store._sql.rows import id_bytes, micros_of, status_code
from aion_store.events import ChildWorkflowStarted, Event, WorkflowStarted
from aion_store.status import LIFECYCLE_STATUS_BY_TAG

__all__ = ["RUNNING", "Effects", "RunEnd", "RunRow", "WorkflowRow", "project"]

#: The stored code of ``WorkflowStatus.RUNNING``.
RUNNING = 0

_STARTED_TAG = WorkflowStarted.TAG
_CHILD_TAG = ChildWorkflowStarted.TAG
_STATUS_CODE_BY_TAG: tuple[int | None, ...] = tuple(
    None if status is None else status_code(status) for status in LIFECYCLE_STATUS_BY_TAG
)


@dataclass(slots=True)
class WorkflowRow:
    """The ``workflows`` row of one workflow (a fresh workflow: the defaults)."""

    head: int = 0
    status: int = RUNNING
    runs: int = 0
    workflow_type: str | None = None
    started_at: int | None = None
    ended_at: int | None = None


@dataclass(slots=True)
class RunRow:
    """One ``runs`` row: the run with zero-based ``index`` within its workflow."""

    index: int
    run_id: bytes
    parent_run_id: bytes | None
    status: int
    started_at: int
    closed_at: int | None = None


@dataclass(slots=True)
class RunEnd:
    """A terminal event closing the run that was current before the batch."""

    index: int
    status: int
    closed_at: int


@dataclass(slots=True)
class Effects:
    """The writes one batch implies, in addition to inserting its events."""

    row: WorkflowRow
    #: Runs the batch started (insert them).
    new_runs: list[RunRow] = field(default_factory=list)
    #: The run that was current before the batch, when the batch closed it: update it.
    closed_run: RunEnd | None = None
    #: Children named by ChildWorkflowStarted, in order (the last naming of each wins).
    children: list[bytes] = field(default_factory=list)


def project(row: WorkflowRow, events: Sequence[Event]) -> Effects:
    """The effects of appending ``events`` (already checked) to a workflow in state ``row``.

    ``row`` is updated in place: head, status, run count, current type/start/end.
    """
    effects = Effects(row)
    by_tag = _STATUS_CODE_BY_TAG
    for event in events:
        tag = event.TAG
        status = by_tag[tag]
        if status is None:
            if tag == _CHILD_TAG:
                effects.children.append(id_bytes(event.child_workflow_id))  # type: ignore[attr-defined]
            continue
        at = micros_of(event.envelope.recorded_at)
        row.status = status
        if tag == _STARTED_TAG:
            start: WorkflowStarted = event  # type: ignore[assignment]
            parent_run = start.parent_run_id
            effects.new_runs.append(
                RunRow(
                    row.runs,
                    id_bytes(start.run_id),
                    None if parent_run is None else id_bytes(parent_run),
                    RUNNING,
                    at,
                )
            )
            row.runs += 1
            row.workflow_type = start.workflow_type
            row.started_at = at
            row.ended_at = None
        elif row.runs:
            row.ended_at = at
            if effects.new_runs:
                effects.new_runs[-1].status = status
                effects.new_runs[-1].closed_at = at
            else:
                effects.closed_run = RunEnd(row.runs - 1, status, at)
    row.head += len(events)
    return effects
