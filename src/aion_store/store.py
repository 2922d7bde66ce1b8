"""The async store contract (SPEC §6): protocols every backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord, PackageStore
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityStore,
    VisibilityWorkflowSummary,
)

__all__ = [
    "EventStore",
    "ListWorkflowsFilter",
    "PackageRecord",
    "PackageRouteRecord",
    "PackageStore",
    "ReadableEventStore",
    "RunSummary",
    "SearchAttributePredicate",
    "TimerEntry",
    "VisibilityRecord",
    "VisibilityStore",
    "VisibilityWorkflowSummary",
    "WritableEventStore",
    "WriteToken",
]


class WriteToken:
    """The capability to append; ``append`` refuses anything else as its token."""

    __slots__ = ()

    @classmethod
    def recorder(cls) -> WriteToken:
        """The token a history recorder appends with."""
        return cls()

    def __repr__(self) -> str:
        return "WriteToken.recorder()"


@runtime_checkable
class ReadableEventStore(Protocol):
    """Reads of workflow histories, their projections and durable timers."""

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        """Every event in ascending seq; an unknown workflow gives ``[]``."""

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        """Events with ``seq >= from_seq`` ascending, in O(events returned); unknown -> ``[]``."""

    async def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]:
        """One summary per run, oldest first; unknown -> ``[]``."""

    async def list_workflow_ids(self) -> list[WorkflowId]:
        """Every workflow with an event, running or terminal, sorted by ``str(id)``."""

    async def list_active(self) -> list[WorkflowId]:
        """Workflows whose projected status is RUNNING, sorted by ``str(id)``."""

    async def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        """Summaries of started workflows that match, by ``(started_at, str(workflow_id))``."""

    async def schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        """Insert or replace the timer ``(workflow_id, timer_id)``; naive ``fire_at`` is a
        ValueError."""

    async def expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        """Timers with ``fire_at <= as_of`` by ``(fire_at, str(workflow_id), str(timer_id))``;
        returning a timer does not remove it."""


@runtime_checkable
class WritableEventStore(Protocol):
    """Appends to workflow histories with optimistic concurrency."""

    async def append(
        self,
        token: WriteToken,
        workflow_id: WorkflowId,
        events: Sequence[Event],
        expected_seq: int,
    ) -> None:
        """Append atomically after head ``expected_seq`` (else ``SequenceConflict``, nothing
        written); seqs must continue the head and every envelope must name ``workflow_id``."""


@runtime_checkable
class EventStore(ReadableEventStore, WritableEventStore, PackageStore, Protocol):
    """A complete event store: histories, timers and packages."""
