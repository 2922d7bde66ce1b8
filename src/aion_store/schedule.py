"""Schedules (SPEC §4): triggers, overlap and catch-up policies, schedule configuration."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, ClassVar

from aion_store._fields import Record, attach_variants
from aion_store.payload import Payload
from aion_store.search import ATTRIBUTES, EMPTY_ATTRIBUTES, SearchAttributeValue

__all__ = ["CatchUpPolicy", "OverlapPolicy", "ScheduleConfig", "TriggerSpec"]


@dataclass(frozen=True, slots=True)
class TriggerSpec(Record):
    """When a schedule fires: ``TriggerSpec.Cron(expr)`` or ``TriggerSpec.Interval(period)``."""

    _abstract: ClassVar[bool] = True
    Cron: ClassVar[type[Cron]]
    Interval: ClassVar[type[Interval]]


@dataclass(frozen=True, slots=True)
class Cron(TriggerSpec):
    """Fire on a cron expression (kept as given)."""

    expression: str


@dataclass(frozen=True, slots=True)
class Interval(TriggerSpec):
    """Fire every ``period`` (a positive ``timedelta``)."""

    period: timedelta


attach_variants(TriggerSpec, Cron, Interval)


class OverlapPolicy(enum.Enum):
    """What to do when a trigger fires while the previous run is still going."""

    SKIP = "Skip"
    BUFFER_ONE = "BufferOne"
    CANCEL_PREVIOUS = "CancelPrevious"
    ALLOW_ALL = "AllowAll"


class CatchUpPolicy(enum.Enum):
    """How many missed triggers to run after downtime."""

    ALL = "All"
    ONE = "One"
    SKIP = "Skip"


@dataclass(frozen=True, slots=True)
class ScheduleConfig(Record):
    """What a schedule starts, and when."""

    trigger: TriggerSpec
    workflow_type: str
    input: Payload
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    catch_up_policy: CatchUpPolicy = CatchUpPolicy.ONE
    search_attributes: Annotated[Mapping[str, SearchAttributeValue], ATTRIBUTES] = EMPTY_ATTRIBUTES

    #: serde writes the fields in the Rust declaration order, which differs from ours.
    WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "trigger",
        "overlap_policy",
        "catch_up_policy",
        "workflow_type",
        "input",
        "search_attributes",
    )
