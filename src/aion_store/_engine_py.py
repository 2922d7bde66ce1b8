"""The pure-Python engine: histories as lists of immutable events, projections kept current.

Twin of the compiled ``_core.Engine``, with the same methods and the same results. Each
workflow keeps its events in one list indexed by ``seq - 1`` (appends are contiguous
from 1), so the head is ``len(events)``, a suffix read is a slice, and a full read is a
list copy. Status, summary inputs and run chain are updated as lifecycle events are
appended, so listing and querying never walk a history.
"""

from __future__ import annotations

import threading
from typing import Any

from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_workflow_id,
)
from aion_store.error import SequenceConflict
from aion_store.events import ChildWorkflowStarted, Event, WorkflowStarted
from aion_store.ids import WorkflowId
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus, WorkflowSummary
from aion_store.wire._msgpack_py import MARKER, encode_event_body

_RUNNING = WorkflowStatus.RUNNING
_CHILD_STARTED_TAG = ChildWorkflowStarted.TAG


class _Workflow:
    """One workflow: its events and what the store projects from them."""

    __slots__ = ("events", "parent", "runs", "status", "summary", "workflow_id")

    def __init__(self, workflow_id: WorkflowId) -> None:
        self.workflow_id = workflow_id
        self.events: list[Event] = []
        self.status = _RUNNING
        # One [WorkflowStarted, status, closed_at] per run; RunSummary objects are built on
        # read, so an append only moves references around. The last run's start gives the
        # summary's type and start time.
        self.runs: list[list[Any]] = []
        self.parent: WorkflowId | None = None
        self.summary: WorkflowSummary | None = None

    def apply_lifecycle(self, event: Event, status: WorkflowStatus) -> None:
        self.status = status
        self.summary = None
        if isinstance(event, WorkflowStarted):
            self.runs.append([event, _RUNNING, None])
        elif self.runs:
            run = self.runs[-1]
            run[1] = status
            run[2] = event.envelope.recorded_at

    def run_summaries(self) -> list[RunSummary]:
        return [
            RunSummary._trusted(
                start.run_id, start.parent_run_id, status, start.envelope.recorded_at, closed_at
            )
            for start, status, closed_at in self.runs
        ]

    def current_summary(self) -> WorkflowSummary | None:
        if self.summary is None and self.runs:
            start, _, closed_at = self.runs[-1]
            self.summary = WorkflowSummary._trusted(
                self.workflow_id,
                start.workflow_type,
                self.status,
                start.envelope.recorded_at,
                closed_at,
                self.parent,
            )
        return self.summary


def _order_key(workflow: _Workflow) -> Any:
    return (workflow.runs[-1][0].envelope.recorded_at, workflow.workflow_id._int)


class Engine:
    """Histories and their projections; every public method takes the store lock."""

    def __init__(self, decoded_cache_events: int = 0) -> None:
        # The pure engine keeps decoded events already: it has nothing to cache.
        self._lock = threading.Lock()
        # Keyed by the workflow id's 128-bit integer, which hashes in C (ids hash in Python).
        self._workflows: dict[int, _Workflow] = {}
        self._active: dict[int, WorkflowId] = {}  # the workflows whose status is RUNNING
        self._parents: dict[int, WorkflowId] = {}  # child -> the parent that started it
        self._sorted_ids: list[WorkflowId] | None = None
        self._sorted_active: list[WorkflowId] | None = None
        self._by_start: list[_Workflow] | None = None

    def append(self, token: Any, workflow_id: Any, events: Any, expected_seq: Any) -> None:
        expected_seq = check_append_arguments(token, workflow_id, events, expected_seq)
        with self._lock:
            key = workflow_id._int
            workflow = self._workflows.get(key)
            head = len(workflow.events) if workflow is not None else 0
            if head != expected_seq:
                raise SequenceConflict(expected=expected_seq, found=head)
            if not events:
                return
            check_batch(workflow_id, events, expected_seq)
            if workflow is None:
                workflow = _Workflow(workflow_id)
                workflow.parent = self._parents.get(key)
                self._workflows[key] = workflow
                self._active[key] = workflow_id
                self._sorted_ids = None
                self._sorted_active = None
            workflow.events.extend(events)
            by_tag = LIFECYCLE_STATUS_BY_TAG
            for event in events:
                tag = event.TAG
                status = by_tag[tag]
                if status is not None:
                    self._apply_lifecycle(workflow, event, status)
                elif tag == _CHILD_STARTED_TAG:
                    self._adopt(workflow_id, event.child_workflow_id)

    def _apply_lifecycle(self, workflow: _Workflow, event: Event, status: WorkflowStatus) -> None:
        was_active = workflow.status is _RUNNING
        workflow.apply_lifecycle(event, status)
        if (status is _RUNNING) != was_active:
            if was_active:
                del self._active[workflow.workflow_id._int]
            else:
                self._active[workflow.workflow_id._int] = workflow.workflow_id
            self._sorted_active = None
        if status is _RUNNING:
            self._by_start = None

    def _adopt(self, parent: WorkflowId, child: WorkflowId) -> None:
        self._parents[child._int] = parent
        workflow = self._workflows.get(child._int)
        if workflow is not None:
            workflow.parent = parent
            workflow.summary = None

    def read_history(self, workflow_id: Any) -> list[Event]:
        check_workflow_id(workflow_id)
        with self._lock:
            workflow = self._workflows.get(workflow_id._int)
            return [] if workflow is None else workflow.events.copy()

    def read_history_from(self, workflow_id: Any, from_seq: Any) -> list[Event]:
        check_workflow_id(workflow_id)
        from_seq = check_seq(from_seq, "from_seq")
        with self._lock:
            workflow = self._workflows.get(workflow_id._int)
            if workflow is None:
                return []
            return workflow.events[from_seq - 1 :] if from_seq > 1 else workflow.events.copy()

    def read_history_raw(self, workflow_id: Any, from_seq: Any = 1) -> bytes:
        events = self.read_history_from(workflow_id, from_seq)
        return MARKER + b"".join(encode_event_body(event) for event in events)

    def read_run_chain(self, workflow_id: Any) -> list[RunSummary]:
        check_workflow_id(workflow_id)
        with self._lock:
            workflow = self._workflows.get(workflow_id._int)
            runs = [] if workflow is None else workflow.run_summaries()
        return order_runs(runs)

    def list_workflow_ids(self) -> list[WorkflowId]:
        with self._lock:
            if self._sorted_ids is None:
                workflows = self._workflows
                self._sorted_ids = [workflows[key].workflow_id for key in sorted(workflows)]
            return self._sorted_ids.copy()

    def list_active(self) -> list[WorkflowId]:
        with self._lock:
            if self._sorted_active is None:
                active = self._active
                self._sorted_active = [active[key] for key in sorted(active)]
            return self._sorted_active.copy()

    def query(self, filter: Any) -> list[WorkflowSummary]:
        check_filter(filter)
        with self._lock:
            if self._by_start is None:
                started = [w for w in self._workflows.values() if w.runs]
                started.sort(key=_order_key)
                self._by_start = started
            ordered = self._by_start
            if filter.parent is not None:
                ordered = [w for w in ordered if w.parent == filter.parent]
            matches = filter.matches
            result = []
            for workflow in ordered:
                summary = workflow.current_summary()
                if summary is not None and matches(summary):
                    result.append(summary)
            return result
