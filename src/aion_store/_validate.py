"""Argument and batch checks shared by both engines, so their errors cannot drift apart.

The compiled core checks the same rules in C and, when one fails, calls these
functions to raise the error: the wording and the order of the checks live only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aion_store._fields import U64, check_timestamp, describe, type_name
from aion_store.error import BackendError
from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.status import WorkflowFilter
from aion_store.store import WriteToken


def check_token(token: Any) -> None:
    if not isinstance(token, WriteToken):
        raise TypeError(
            f"append requires a WriteToken as its token, got {describe(token)} ({type_name(token)})"
        )


def check_workflow_id(workflow_id: Any) -> WorkflowId:
    if not isinstance(workflow_id, WorkflowId):
        raise TypeError(
            "workflow_id must be a WorkflowId, "
            f"got {describe(workflow_id)} ({type_name(workflow_id)})"
        )
    return workflow_id


def check_timer_id(timer_id: Any) -> TimerId:
    if not isinstance(timer_id, TimerId):
        raise TypeError(
            f"timer_id must be a TimerId, got {describe(timer_id)} ({type_name(timer_id)})"
        )
    return timer_id


def check_seq(value: Any, name: str) -> int:
    """A u64 sequence argument (``expected_seq``, ``from_seq``)."""
    return U64.check(value, name)


def check_time(value: Any, name: str) -> datetime:
    return check_timestamp(value, name)


def check_filter(filter: Any) -> WorkflowFilter:
    if not isinstance(filter, WorkflowFilter):
        raise TypeError(
            f"query takes a WorkflowFilter, got {describe(filter)} ({type_name(filter)})"
        )
    return filter


def check_events_argument(events: Any) -> Sequence[Event]:
    if not isinstance(events, (list, tuple)):
        raise TypeError(
            f"events must be a list or tuple of Event, got {describe(events)} ({type_name(events)})"
        )
    return events


def check_append_arguments(token: Any, workflow_id: Any, events: Any, expected_seq: Any) -> int:
    """The argument checks every ``append`` runs before it looks at the store; returns
    ``expected_seq`` as a plain ``int``."""
    check_token(token)
    check_workflow_id(workflow_id)
    check_events_argument(events)
    return check_seq(expected_seq, "expected_seq")


def check_batch(workflow_id: WorkflowId, events: Sequence[Any], expected_seq: int) -> None:
    """SPEC §6 rule 3, after the head check: every item's type, then seqs and owners."""
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise TypeError(
                f"events[{index}] must be an Event, got {describe(event)} ({type_name(event)})"
            )
    for index, event in enumerate(events):
        envelope = event.envelope
        want = expected_seq + 1 + index
        if envelope.seq != want:
            raise BackendError(
                f"events[{index}] has seq {envelope.seq}, expected {want} "
                "(a batch must continue the head contiguously)"
            )
        owner = envelope.workflow_id
        if owner is not workflow_id and owner != workflow_id:
            raise BackendError(
                f"events[{index}] (seq {envelope.seq}) belongs to workflow "
                f"{owner}, not {workflow_id}"
            )
