"""``NaiveInMemoryStore``: the baseline the benchmarks compare against. Not for use.

A deliberately straightforward in-memory store with the algorithms of the original Rust
in-memory store, which this package replaces: one dict of event lists under one lock,
and nothing derived kept between calls.

- ``append``: the head is ``max(seq)`` over the whole history, on every call; then the
  contiguity checks; then the events are added to the list.
- reads copy the history and sort it by seq every time; ``read_history_from`` filters
  the whole history, then sorts.
- ``list_active`` re-projects ``status_from_events`` over every sorted history on every
  call; ``query`` rebuilds ``WorkflowSummary.from_history`` for every history and finds
  each workflow's parent by scanning every history for ``ChildWorkflowStarted``.
- ``read_run_chain`` runs ``run_chain_from_history`` over the history.
- timers, visibility rows and packages are dicts, scanned, filtered and sorted per call.

It is a reference, not a strawman: it implements the whole contract (SPEC §6-§10), passes
the conformance suite, and raises the same errors as ``InMemoryStore`` (the argument
checks are the shared ones of ``aion_store._validate``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from datetime import datetime

from aion_store._fields import check_str, describe
from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_time,
    check_timer_id,
    check_workflow_id,
)
from aion_store.error import SequenceConflict
from aion_store.events import ChildWorkflowStarted, Event
from aion_store.ids import RunId, TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary, run_chain_from_history
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary, status_from_events
from aion_store.store import WriteToken
from aion_store.timers import TimerEntry, timer_order_key
from aion_store.visibility import (
    ListWorkflowsFilter,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)

__all__ = ["NaiveInMemoryStore"]


def _seq(event: Event) -> int:
    return event.envelope.seq


def _visibility_key(row: VisibilityWorkflowSummary) -> tuple[datetime, str, str]:
    return (row.start_time, str(row.workflow_id), str(row.run_id))


def _package_key(record: PackageRecord) -> tuple[datetime, str, str]:
    return (record.deployed_at, record.workflow_type, record.content_hash)


def _check_visibility_filter(filter: object) -> ListWorkflowsFilter:
    if not isinstance(filter, ListWorkflowsFilter):
        raise TypeError(f"expected a ListWorkflowsFilter, got {describe(filter)}")
    return filter


class NaiveInMemoryStore:
    """The baseline store of the benchmarks (see the module docstring). Not for use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histories: dict[WorkflowId, list[Event]] = {}
        # Bumped by every append; remembers when each (parent, child) start was appended,
        # so that the most recently appended parent wins when several name one child.
        self._serial = 0
        self._child_started: dict[tuple[WorkflowId, WorkflowId], int] = {}
        self._timers: dict[tuple[WorkflowId, TimerId], TimerEntry] = {}
        self._visibility: dict[tuple[WorkflowId, RunId], VisibilityWorkflowSummary] = {}
        self._packages: dict[tuple[str, str], PackageRecord] = {}
        self._routes: dict[str, str] = {}

    # -- histories ----------------------------------------------------------------------

    async def append(
        self, token: WriteToken, workflow_id: WorkflowId, events: Sequence[Event], expected_seq: int
    ) -> None:
        check_append_arguments(token, workflow_id, events, expected_seq)
        with self._lock:
            history = self._histories.get(workflow_id, [])
            head = max((event.envelope.seq for event in history), default=0)
            if head != expected_seq:
                raise SequenceConflict(expected=expected_seq, found=head)
            if not events:
                return
            check_batch(workflow_id, events, expected_seq)
            self._histories[workflow_id] = history
            history.extend(events)
            self._serial += 1
            for event in events:
                if isinstance(event, ChildWorkflowStarted):
                    self._child_started[(workflow_id, event.child_workflow_id)] = self._serial

    def _sorted_history(self, workflow_id: WorkflowId) -> list[Event]:
        return sorted(self._histories.get(workflow_id, ()), key=_seq)

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        check_workflow_id(workflow_id)
        with self._lock:
            return self._sorted_history(workflow_id)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        check_workflow_id(workflow_id)
        check_seq(from_seq, "from_seq")
        with self._lock:
            history = self._histories.get(workflow_id, ())
            return sorted((event for event in history if event.envelope.seq >= from_seq), key=_seq)

    async def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]:
        check_workflow_id(workflow_id)
        with self._lock:
            history = list(self._histories.get(workflow_id, ()))
        return run_chain_from_history(history)

    async def list_workflow_ids(self) -> list[WorkflowId]:
        with self._lock:
            return sorted(self._histories, key=str)

    async def list_active(self) -> list[WorkflowId]:
        with self._lock:
            return [
                workflow_id
                for workflow_id in sorted(self._histories, key=str)
                if status_from_events(self._sorted_history(workflow_id)) is WorkflowStatus.RUNNING
            ]

    async def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        check_filter(filter)
        with self._lock:
            # The parent of each child: scan every history for ChildWorkflowStarted.
            parents: dict[WorkflowId, tuple[int, WorkflowId]] = {}
            for parent, history in self._histories.items():
                for event in history:
                    if isinstance(event, ChildWorkflowStarted):
                        child = event.child_workflow_id
                        serial = self._child_started[(parent, child)]
                        if child not in parents or parents[child][0] < serial:
                            parents[child] = (serial, parent)
            result = []
            for workflow_id in self._histories:
                summary = WorkflowSummary.from_history(self._sorted_history(workflow_id))
                if summary is None:
                    continue
                if workflow_id in parents:
                    summary = dataclasses.replace(summary, parent=parents[workflow_id][1])
                if filter.matches(summary):
                    result.append(summary)
        result.sort(key=lambda s: (s.started_at, str(s.workflow_id)))
        return result

    # -- timers -------------------------------------------------------------------------

    async def schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        check_workflow_id(workflow_id)
        check_timer_id(timer_id)
        fire_at = check_time(fire_at, "fire_at")
        with self._lock:
            self._timers[(workflow_id, timer_id)] = TimerEntry(workflow_id, timer_id, fire_at)

    async def expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        as_of = check_time(as_of, "as_of")
        with self._lock:
            due = [entry for entry in self._timers.values() if entry.fire_at <= as_of]
        return sorted(due, key=timer_order_key)

    # -- visibility ---------------------------------------------------------------------

    async def record_visibility(self, record: VisibilityRecord) -> None:
        if not isinstance(record, VisibilityRecord):
            raise TypeError(f"record_visibility takes a VisibilityRecord, got {describe(record)}")
        row = VisibilityWorkflowSummary.from_record(record)
        with self._lock:
            self._visibility[(record.workflow_id, record.run_id)] = row

    async def list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        _check_visibility_filter(filter)
        with self._lock:
            rows = [row for row in self._visibility.values() if filter.matches(row)]
        rows.sort(key=_visibility_key)
        start = filter.offset or 0
        return rows[start:] if filter.limit is None else rows[start : start + filter.limit]

    async def count_workflows(self, filter: ListWorkflowsFilter) -> int:
        _check_visibility_filter(filter)
        with self._lock:
            return sum(1 for row in self._visibility.values() if filter.matches(row))

    # -- packages -----------------------------------------------------------------------

    async def put_package(self, record: PackageRecord) -> None:
        if not isinstance(record, PackageRecord):
            raise TypeError(f"put_package takes a PackageRecord, got {describe(record)}")
        with self._lock:
            self._packages[(record.workflow_type, record.content_hash)] = record
            self._routes[record.workflow_type] = record.content_hash

    async def list_packages(self) -> list[PackageRecord]:
        with self._lock:
            return sorted(self._packages.values(), key=_package_key)

    async def delete_package(self, workflow_type: str, content_hash: str) -> None:
        key = (check_str(workflow_type, "workflow_type"), check_str(content_hash, "content_hash"))
        with self._lock:
            self._packages.pop(key, None)

    async def put_package_route(self, workflow_type: str, content_hash: str) -> None:
        workflow_type = check_str(workflow_type, "workflow_type")
        content_hash = check_str(content_hash, "content_hash")
        with self._lock:
            self._routes[workflow_type] = content_hash

    async def list_package_routes(self) -> list[PackageRouteRecord]:
        with self._lock:
            return [PackageRouteRecord(t, self._routes[t]) for t in sorted(self._routes)]
