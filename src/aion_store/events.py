"""Workflow history events (SPEC §4): the envelope and the 28 immutable variants.

Each variant is a subclass of :class:`Event`, reachable as ``Event.<Variant>``, and
``match`` works on it. ``VARIANTS`` lists them in the Rust declaration order; a
variant's index there is its ``TAG`` (the msgpack form uses it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, ClassVar

from aion_store._fields import SEQ, U32, Record, attach_variants
from aion_store.ids import ActivityId, PackageVersion, RunId, ScheduleId, TimerId, WorkflowId
from aion_store.payload import ActivityError, Payload, WorkflowError
from aion_store.schedule import ScheduleConfig
from aion_store.search import ATTRIBUTES, SearchAttributeValue, register_updated_variant

__all__ = [
    "ActivityCancelled",
    "ActivityCompleted",
    "ActivityFailed",
    "ActivityScheduled",
    "ActivityStarted",
    "ChildWorkflowCancelled",
    "ChildWorkflowCompleted",
    "ChildWorkflowFailed",
    "ChildWorkflowStarted",
    "Event",
    "EventEnvelope",
    "ScheduleCreated",
    "ScheduleDeleted",
    "SchedulePaused",
    "ScheduleResumed",
    "ScheduleTriggered",
    "ScheduleUpdated",
    "SearchAttributesUpdated",
    "SignalReceived",
    "SignalSent",
    "TimerCancelled",
    "TimerFired",
    "TimerStarted",
    "VARIANTS",
    "WithTimeoutCompleted",
    "WithTimeoutOutcome",
    "WorkflowCancelled",
    "WorkflowCompleted",
    "WorkflowContinuedAsNew",
    "WorkflowFailed",
    "WorkflowStarted",
    "WorkflowTimedOut",
]


@dataclass(frozen=True, slots=True)
class EventEnvelope(Record):
    """Where an event sits: its sequence number (from 1), when it was recorded, its owner."""

    seq: Annotated[int, SEQ]
    recorded_at: datetime
    workflow_id: WorkflowId


class WithTimeoutOutcome(enum.Enum):
    """How a ``with_timeout`` race ended."""

    OPERATION_COMPLETED = "OperationCompleted"
    TIMED_OUT = "TimedOut"


@dataclass(frozen=True, slots=True)
class Event(Record):
    """One entry of a workflow history. The owner is always ``envelope.workflow_id``."""

    envelope: EventEnvelope

    _abstract: ClassVar[bool] = True
    TAG: ClassVar[int]

    WorkflowStarted: ClassVar[type[WorkflowStarted]]
    WorkflowCompleted: ClassVar[type[WorkflowCompleted]]
    WorkflowFailed: ClassVar[type[WorkflowFailed]]
    WorkflowCancelled: ClassVar[type[WorkflowCancelled]]
    WorkflowTimedOut: ClassVar[type[WorkflowTimedOut]]
    WorkflowContinuedAsNew: ClassVar[type[WorkflowContinuedAsNew]]
    SearchAttributesUpdated: ClassVar[type[SearchAttributesUpdated]]
    ActivityScheduled: ClassVar[type[ActivityScheduled]]
    ActivityStarted: ClassVar[type[ActivityStarted]]
    ActivityCompleted: ClassVar[type[ActivityCompleted]]
    ActivityFailed: ClassVar[type[ActivityFailed]]
    ActivityCancelled: ClassVar[type[ActivityCancelled]]
    TimerStarted: ClassVar[type[TimerStarted]]
    TimerFired: ClassVar[type[TimerFired]]
    TimerCancelled: ClassVar[type[TimerCancelled]]
    WithTimeoutCompleted: ClassVar[type[WithTimeoutCompleted]]
    SignalReceived: ClassVar[type[SignalReceived]]
    SignalSent: ClassVar[type[SignalSent]]
    ChildWorkflowStarted: ClassVar[type[ChildWorkflowStarted]]
    ChildWorkflowCompleted: ClassVar[type[ChildWorkflowCompleted]]
    ChildWorkflowFailed: ClassVar[type[ChildWorkflowFailed]]
    ChildWorkflowCancelled: ClassVar[type[ChildWorkflowCancelled]]
    ScheduleCreated: ClassVar[type[ScheduleCreated]]
    ScheduleUpdated: ClassVar[type[ScheduleUpdated]]
    SchedulePaused: ClassVar[type[SchedulePaused]]
    ScheduleResumed: ClassVar[type[ScheduleResumed]]
    ScheduleDeleted: ClassVar[type[ScheduleDeleted]]
    ScheduleTriggered: ClassVar[type[ScheduleTriggered]]

    @property
    def seq(self) -> int:
        return self.envelope.seq

    @property
    def recorded_at(self) -> datetime:
        return self.envelope.recorded_at

    @property
    def workflow_id(self) -> WorkflowId:
        """The owner (``envelope.workflow_id``); two variants shadow it with their own field."""
        return self.envelope.workflow_id


@dataclass(frozen=True, slots=True)
class WorkflowStarted(Event):
    workflow_type: str
    input: Payload
    run_id: RunId
    parent_run_id: RunId | None
    package_version: PackageVersion


@dataclass(frozen=True, slots=True)
class WorkflowCompleted(Event):
    result: Payload


@dataclass(frozen=True, slots=True)
class WorkflowFailed(Event):
    error: WorkflowError


@dataclass(frozen=True, slots=True)
class WorkflowCancelled(Event):
    reason: str


@dataclass(frozen=True, slots=True)
class WorkflowTimedOut(Event):
    timeout: str


@dataclass(frozen=True, slots=True)
class WorkflowContinuedAsNew(Event):
    input: Payload
    workflow_type: str | None
    parent_run_id: RunId


@dataclass(frozen=True, slots=True)
class SearchAttributesUpdated(Event):
    # ``field()`` keeps the inherited ``workflow_id`` property from becoming a default.
    workflow_id: WorkflowId = field()
    attributes: Annotated[Mapping[str, SearchAttributeValue], ATTRIBUTES] = field()


@dataclass(frozen=True, slots=True)
class ActivityScheduled(Event):
    activity_id: ActivityId
    activity_type: str
    input: Payload


@dataclass(frozen=True, slots=True)
class ActivityStarted(Event):
    activity_id: ActivityId


@dataclass(frozen=True, slots=True)
class ActivityCompleted(Event):
    activity_id: ActivityId
    result: Payload


@dataclass(frozen=True, slots=True)
class ActivityFailed(Event):
    activity_id: ActivityId
    error: ActivityError
    attempt: Annotated[int, U32]


@dataclass(frozen=True, slots=True)
class ActivityCancelled(Event):
    activity_id: ActivityId


@dataclass(frozen=True, slots=True)
class TimerStarted(Event):
    timer_id: TimerId
    fire_at: datetime


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    timer_id: TimerId


@dataclass(frozen=True, slots=True)
class TimerCancelled(Event):
    timer_id: TimerId


@dataclass(frozen=True, slots=True)
class WithTimeoutCompleted(Event):
    timer_id: TimerId
    outcome: WithTimeoutOutcome
    result: Payload | None


@dataclass(frozen=True, slots=True)
class SignalReceived(Event):
    name: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class SignalSent(Event):
    target_workflow_id: WorkflowId
    name: str
    payload: Payload


@dataclass(frozen=True, slots=True)
class ChildWorkflowStarted(Event):
    child_workflow_id: WorkflowId
    workflow_type: str
    input: Payload
    package_version: PackageVersion


@dataclass(frozen=True, slots=True)
class ChildWorkflowCompleted(Event):
    child_workflow_id: WorkflowId
    result: Payload


@dataclass(frozen=True, slots=True)
class ChildWorkflowFailed(Event):
    child_workflow_id: WorkflowId
    error: WorkflowError


@dataclass(frozen=True, slots=True)
class ChildWorkflowCancelled(Event):
    child_workflow_id: WorkflowId


@dataclass(frozen=True, slots=True)
class ScheduleCreated(Event):
    schedule_id: ScheduleId
    config: ScheduleConfig


@dataclass(frozen=True, slots=True)
class ScheduleUpdated(Event):
    schedule_id: ScheduleId
    config: ScheduleConfig


@dataclass(frozen=True, slots=True)
class SchedulePaused(Event):
    schedule_id: ScheduleId


@dataclass(frozen=True, slots=True)
class ScheduleResumed(Event):
    schedule_id: ScheduleId


@dataclass(frozen=True, slots=True)
class ScheduleDeleted(Event):
    schedule_id: ScheduleId


@dataclass(frozen=True, slots=True)
class ScheduleTriggered(Event):
    schedule_id: ScheduleId
    workflow_id: WorkflowId = field()
    run_id: RunId = field()


#: Every variant in the Rust declaration order; ``VARIANTS[cls.TAG] is cls``.
VARIANTS: tuple[type[Event], ...] = (
    WorkflowStarted,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowCancelled,
    WorkflowTimedOut,
    WorkflowContinuedAsNew,
    SearchAttributesUpdated,
    ActivityScheduled,
    ActivityStarted,
    ActivityCompleted,
    ActivityFailed,
    ActivityCancelled,
    TimerStarted,
    TimerFired,
    TimerCancelled,
    WithTimeoutCompleted,
    SignalReceived,
    SignalSent,
    ChildWorkflowStarted,
    ChildWorkflowCompleted,
    ChildWorkflowFailed,
    ChildWorkflowCancelled,
    ScheduleCreated,
    ScheduleUpdated,
    SchedulePaused,
    ScheduleResumed,
    ScheduleDeleted,
    ScheduleTriggered,
)

for _tag, _variant in enumerate(VARIANTS):
    _variant.TAG = _tag
del _tag, _variant

attach_variants(Event, *VARIANTS)
register_updated_variant(SearchAttributesUpdated)
