"""What ``InMemoryStore`` projects from appended events: twin of
``aion_store._projections_c``, used by the pure engine.

Per workflow (:class:`WorkflowProjection`): the status of the last lifecycle event, one
``RunSummary`` per ``WorkflowStarted`` (the last one replaced when its run closes), the
last run's workflow type, the parent that named the workflow in a
``ChildWorkflowStarted``, and the ``WorkflowSummary`` built on first read. Across
workflows (:class:`Projections`): the running set, the parents of workflows not
appended yet, and sorted listings cached until they change. ``list_active``,
``list_workflow_ids``, ``query`` and ``read_run_chain`` read only these: no history is
walked.

An engine registers a workflow with :meth:`Projections.add` at its first append and
calls :meth:`Projections.apply` for a batch holding a lifecycle or
``ChildWorkflowStarted`` event (:data:`PROJECTED_TAGS`); the caller holds its lock.
"""

from collections.abc import Sequence
from typing import Any

from aion_store.events import ChildWorkflowStarted, Event, WorkflowStarted
from aion_store.ids import WorkflowId
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import (
    LIFECYCLE_STATUS_BY_TAG,
    WorkflowFilter,
    WorkflowStatus,
    WorkflowSummary,
)

__all__ = ["PROJECTED_TAGS", "Projections", "WorkflowProjection"]

_RUNNING = WorkflowStatus.RUNNING
_CHILD_STARTED_TAG = ChildWorkflowStarted.TAG

#: ``PROJECTED_TAGS[event.TAG]``: whether an event changes a projection.
PROJECTED_TAGS: tuple[bool, ...] = tuple(
    status is not None or tag == _CHILD_STARTED_TAG
    for tag, status in enumerate(LIFECYCLE_STATUS_BY_TAG)
)


class WorkflowProjection:
    """One workflow's status, runs, parent and summary."""

    __slots__ = ("parent", "runs", "start_type", "status", "summary", "workflow_id")

    def __init__(self, workflow_id: WorkflowId) -> None:
        self.workflow_id = workflow_id
        self.status = _RUNNING
        self.runs: list[RunSummary] = []
        self.start_type: str | None = None  # the last run's workflow type
        self.parent: WorkflowId | None = None
        self.summary: WorkflowSummary | None = None

    def current_summary(self) -> WorkflowSummary | None:
        if self.summary is None and self.runs:
            run = self.runs[-1]
            self.summary = WorkflowSummary._trusted(
                self.workflow_id,
                self.start_type,
                self.status,
                run.started_at,
                run.closed_at,
                self.parent,
            )
        return self.summary


def _start_key(projection: WorkflowProjection) -> Any:
    return (projection.runs[-1].started_at, projection.workflow_id._int)


class Projections:
    """Every workflow's projection, the running set and the sorted listings."""

    __slots__ = ("_by_start", "_sorted_active", "_sorted_ids", "active", "parents", "workflows")

    def __init__(self) -> None:
        # Keyed by the workflow id's 128-bit integer, which hashes in C (ids hash in Python).
        self.workflows: dict[int, WorkflowProjection] = {}
        self.active: dict[int, WorkflowId] = {}  # the workflows whose status is RUNNING
        self.parents: dict[int, WorkflowId] = {}  # child -> the parent that named it last
        self._sorted_ids: list[WorkflowId] | None = None
        self._sorted_active: list[WorkflowId] | None = None
        self._by_start: list[WorkflowProjection] | None = None

    def add(self, key: int, projection: WorkflowProjection) -> None:
        """Register a workflow at its first append (running, no run yet)."""
        projection.parent = self.parents.get(key)
        self.workflows[key] = projection
        self.active[key] = projection.workflow_id
        self._sorted_ids = None
        self._sorted_active = None

    def apply(self, projection: WorkflowProjection, events: Sequence[Event]) -> bool:
        """Project ``events`` (appended to ``projection``'s workflow); return whether the
        workflow is running afterwards."""
        by_tag = LIFECYCLE_STATUS_BY_TAG
        for event in events:
            tag = event.TAG
            status = by_tag[tag]
            if status is not None:
                self._lifecycle(projection, event, status)
            elif tag == _CHILD_STARTED_TAG:
                self._adopt(projection.workflow_id, event.child_workflow_id)  # type: ignore[attr-defined]
        return projection.status is _RUNNING

    def _lifecycle(
        self, projection: WorkflowProjection, event: Event, status: WorkflowStatus
    ) -> None:
        was_active = projection.status is _RUNNING
        projection.status = status
        projection.summary = None
        if isinstance(event, WorkflowStarted):
            projection.start_type = event.workflow_type
            projection.runs.append(
                RunSummary._trusted(
                    event.run_id, event.parent_run_id, _RUNNING, event.envelope.recorded_at, None
                )
            )
            self._by_start = None
        elif projection.runs:
            run = projection.runs[-1]
            projection.runs[-1] = RunSummary._trusted(
                run.run_id, run.parent_run_id, status, run.started_at, event.envelope.recorded_at
            )
        if (status is _RUNNING) != was_active:
            key = projection.workflow_id._int
            if was_active:
                del self.active[key]
            else:
                self.active[key] = projection.workflow_id
            self._sorted_active = None

    def _adopt(self, parent: WorkflowId, child: WorkflowId) -> None:
        self.parents[child._int] = parent
        projection = self.workflows.get(child._int)
        if projection is not None:
            projection.parent = parent
            projection.summary = None

    # -- reads ----------------------------------------------------------------------------

    def run_chain(self, key: int) -> list[RunSummary]:
        projection = self.workflows.get(key)
        return [] if projection is None else order_runs(projection.runs)

    def workflow_ids(self) -> list[WorkflowId]:
        if self._sorted_ids is None:
            workflows = self.workflows
            self._sorted_ids = [workflows[key].workflow_id for key in sorted(workflows)]
        return self._sorted_ids.copy()

    def active_ids(self) -> list[WorkflowId]:
        if self._sorted_active is None:
            active = self.active
            self._sorted_active = [active[key] for key in sorted(active)]
        return self._sorted_active.copy()

    def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        if self._by_start is None:
            started = [p for p in self.workflows.values() if p.runs]
            started.sort(key=_start_key)
            self._by_start = started
        ordered = self._by_start
        if filter.parent is not None:
            ordered = [p for p in ordered if p.parent == filter.parent]
        matches = filter.matches
        result = []
        for projection in ordered:
            summary = projection.current_summary()
            if summary is not None and matches(summary):
                result.append(summary)
        return result
