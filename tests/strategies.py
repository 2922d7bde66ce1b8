"""Hypothesis strategies for every model type of ``aion_store``.

Each public function returns a strategy that can produce *any* valid value of its type,
with extra weight on the edges (bounds of integer widths, empty and non-BMP text, whole
seconds and whole milliseconds, the nil UUID, ...). Strategies never filter heavily.

Import them from tests with ``import strategies`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from aion_store.events import (
    VARIANTS,
    ActivityCancelled,
    ActivityCompleted,
    ActivityFailed,
    ActivityScheduled,
    ActivityStarted,
    ChildWorkflowCancelled,
    ChildWorkflowCompleted,
    ChildWorkflowFailed,
    ChildWorkflowStarted,
    Event,
    EventEnvelope,
    ScheduleCreated,
    ScheduleDeleted,
    SchedulePaused,
    ScheduleResumed,
    ScheduleTriggered,
    ScheduleUpdated,
    SearchAttributesUpdated,
    SignalReceived,
    SignalSent,
    TimerCancelled,
    TimerFired,
    TimerStarted,
    WithTimeoutCompleted,
    WithTimeoutOutcome,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowContinuedAsNew,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowTimedOut,
)
from aion_store.ids import ActivityId, PackageVersion, RunId, ScheduleId, TimerId, WorkflowId
from aion_store.payload import (
    ActivityError,
    ActivityErrorKind,
    ContentType,
    Payload,
    WorkflowError,
)
from aion_store.run_chain import RunSummary
from aion_store.schedule import CatchUpPolicy, OverlapPolicy, ScheduleConfig, TriggerSpec
from aion_store.search import SearchAttributeMap, SearchAttributeType, SearchAttributeValue
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)

__all__ = [
    "EVENT_FIELD_STRATEGIES",
    "LIFECYCLE_VARIANTS",
    "U32_MAX",
    "U64_MAX",
    "I64_MIN",
    "I64_MAX",
    "UTC",
    "WIRE_TYPES",
    "activity_errors",
    "activity_ids",
    "any_wire_value",
    "envelopes",
    "event_of",
    "events",
    "histories",
    "json_values",
    "list_workflows_filters",
    "package_versions",
    "payloads",
    "predicates",
    "run_ids",
    "run_summaries",
    "schedule_configs",
    "schedule_ids",
    "search_attribute_maps",
    "search_values",
    "seqs",
    "statuses",
    "text",
    "timer_entries",
    "timer_ids",
    "timestamps",
    "triggers",
    "u32s",
    "u64s",
    "uuids",
    "visibility_records",
    "visibility_summaries",
    "workflow_errors",
    "workflow_filters",
    "workflow_ids",
    "workflow_summaries",
]

UTC = timezone.utc
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

cached = functools.cache


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


# --------------------------------------------------------------------------- scalars


@cached
def text(min_size: int = 0) -> st.SearchStrategy[str]:
    """Any valid-Unicode ``str`` (no lone surrogates), including empty and non-BMP."""
    anything = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=min_size)
    edges = st.sampled_from(["x", "émoji 🎉", "\x00", "a\nb", " ", "\U0010fffd", "名前"])
    if min_size == 0:
        edges = edges | st.just("")
    return st.one_of(anything, edges)


@cached
def u64s() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(0, 1000),
        st.integers(0, U64_MAX),
        st.sampled_from([0, 1, U32_MAX, U32_MAX + 1, I64_MAX, I64_MAX + 1, U64_MAX]),
    )


@cached
def u32s() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(0, 1000), st.integers(0, U32_MAX), st.sampled_from([0, U32_MAX]))


@cached
def seqs() -> st.SearchStrategy[int]:
    """Valid envelope sequence numbers: 1..u64 max."""
    return st.one_of(st.integers(1, 1000), st.integers(1, U64_MAX), st.just(U64_MAX))


_MIN_TS = datetime(1, 1, 1)
_MAX_TS = datetime(9999, 12, 31, 23, 59, 59, 999999)
_EDGE_TIMESTAMPS = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2000, 2, 29, 12, 0, 0, 1000, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 30, 15, 123456, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@cached
def timestamps() -> st.SearchStrategy[datetime]:
    """UTC-aware datetimes over years 1..9999; whole seconds / milliseconds emphasised."""
    base = st.datetimes(min_value=_MIN_TS, max_value=_MAX_TS, timezones=st.just(UTC))
    return st.one_of(
        base,
        base.map(lambda d: d.replace(microsecond=0)),
        base.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
        st.sampled_from(_EDGE_TIMESTAMPS),
    )


# --------------------------------------------------------------------------- identifiers

_NIL = uuid.UUID(int=0)
_MAX_UUID = uuid.UUID(int=2**128 - 1)


@cached
def uuids() -> st.SearchStrategy[uuid.UUID]:
    return st.one_of(st.uuids(allow_nil=True), st.sampled_from([_NIL, _MAX_UUID]))


@cached
def workflow_ids() -> st.SearchStrategy[WorkflowId]:
    return uuids().map(WorkflowId)


@cached
def run_ids() -> st.SearchStrategy[RunId]:
    return uuids().map(RunId)


@cached
def schedule_ids() -> st.SearchStrategy[ScheduleId]:
    return uuids().map(ScheduleId)


@cached
def activity_ids() -> st.SearchStrategy[ActivityId]:
    return u64s().map(ActivityId.from_sequence_position)


@cached
def timer_ids() -> st.SearchStrategy[TimerId]:
    return st.one_of(
        text(min_size=1).map(TimerId.named),
        u64s().map(TimerId.anonymous),
    )


@cached
def package_versions() -> st.SearchStrategy[PackageVersion]:
    hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
    return st.one_of(hashes, text()).map(PackageVersion)


# --------------------------------------------------------------------------- payloads

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text(), inner, max_size=4),
    max_leaves=8,
)


@cached
def json_values() -> st.SearchStrategy[Any]:
    """Values ``Payload.from_json`` accepts (finite floats, str keys)."""
    return _JSON_VALUES


@cached
def payloads() -> st.SearchStrategy[Payload]:
    """Payloads with arbitrary bytes (empty included) or real JSON."""
    return st.one_of(
        st.builds(Payload, st.just(ContentType.JSON), st.binary(max_size=64)),
        st.just(Payload(ContentType.JSON, b"")),
        _JSON_VALUES.map(Payload.from_json),
    )


@cached
def workflow_errors() -> st.SearchStrategy[WorkflowError]:
    return st.builds(WorkflowError, text(), _optional(payloads()))


@cached
def activity_errors() -> st.SearchStrategy[ActivityError]:
    return st.builds(
        ActivityError, st.sampled_from(ActivityErrorKind), text(), _optional(payloads())
    )


# --------------------------------------------------------------------------- search attributes

_EDGE_FLOATS = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e-5,
    1e-7,
    1e16,
    0.1,
    100.0,
    1.5e300,
]


@cached
def search_values() -> st.SearchStrategy[SearchAttributeValue]:
    """Any valid value, in its stored form (a KeywordList is a tuple of str)."""
    return st.one_of(
        text(),
        st.integers(I64_MIN, I64_MAX),
        st.sampled_from([I64_MIN, I64_MAX, 0, -1, 1]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(_EDGE_FLOATS),
        st.booleans(),
        timestamps(),
        st.lists(text(), max_size=4).map(tuple),
    )


@cached
def search_attribute_maps(max_size: int = 5) -> st.SearchStrategy[SearchAttributeMap]:
    return st.dictionaries(text(), search_values(), max_size=max_size).map(SearchAttributeMap)


# --------------------------------------------------------------------------- schedules


@cached
def triggers() -> st.SearchStrategy[TriggerSpec]:
    periods = st.one_of(
        st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta.max),
        st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=2)),
        st.sampled_from(
            [
                timedelta(microseconds=1),
                timedelta(milliseconds=1),
                timedelta(seconds=1),
                timedelta(days=365 * 1000),
                timedelta.max,
            ]
        ),
    )
    return st.one_of(
        st.builds(TriggerSpec.Cron, text()),
        st.builds(TriggerSpec.Interval, periods),
    )


@cached
def schedule_configs() -> st.SearchStrategy[ScheduleConfig]:
    return st.builds(
        ScheduleConfig,
        trigger=triggers(),
        workflow_type=text(),
        input=payloads(),
        overlap_policy=st.sampled_from(OverlapPolicy),
        catch_up_policy=st.sampled_from(CatchUpPolicy),
        search_attributes=search_attribute_maps(3),
    )


# --------------------------------------------------------------------------- events


def envelopes(
    workflow_id: WorkflowId | None = None, seq: int | None = None
) -> st.SearchStrategy[EventEnvelope]:
    return st.builds(
        EventEnvelope,
        seq=seqs() if seq is None else st.just(seq),
        recorded_at=timestamps(),
        workflow_id=workflow_ids() if workflow_id is None else st.just(workflow_id),
    )


def _fields() -> dict[type[Event], dict[str, st.SearchStrategy[Any]]]:
    return {
        WorkflowStarted: {
            "workflow_type": text(),
            "input": payloads(),
            "run_id": run_ids(),
            "parent_run_id": _optional(run_ids()),
            "package_version": package_versions(),
        },
        WorkflowCompleted: {"result": payloads()},
        WorkflowFailed: {"error": workflow_errors()},
        WorkflowCancelled: {"reason": text()},
        WorkflowTimedOut: {"timeout": text()},
        WorkflowContinuedAsNew: {
            "input": payloads(),
            "workflow_type": _optional(text()),
            "parent_run_id": run_ids(),
        },
        SearchAttributesUpdated: {
            "workflow_id": workflow_ids(),
            "attributes": search_attribute_maps(),
        },
        ActivityScheduled: {
            "activity_id": activity_ids(),
            "activity_type": text(),
            "input": payloads(),
        },
        ActivityStarted: {"activity_id": activity_ids()},
        ActivityCompleted: {"activity_id": activity_ids(), "result": payloads()},
        ActivityFailed: {
            "activity_id": activity_ids(),
            "error": activity_errors(),
            "attempt": u32s(),
        },
        ActivityCancelled: {"activity_id": activity_ids()},
        TimerStarted: {"timer_id": timer_ids(), "fire_at": timestamps()},
        TimerFired: {"timer_id": timer_ids()},
        TimerCancelled: {"timer_id": timer_ids()},
        WithTimeoutCompleted: {
            "timer_id": timer_ids(),
            "outcome": st.sampled_from(WithTimeoutOutcome),
            "result": _optional(payloads()),
        },
        SignalReceived: {"name": text(), "payload": payloads()},
        SignalSent: {
            "target_workflow_id": workflow_ids(),
            "name": text(),
            "payload": payloads(),
        },
        ChildWorkflowStarted: {
            "child_workflow_id": workflow_ids(),
            "workflow_type": text(),
            "input": payloads(),
            "package_version": package_versions(),
        },
        ChildWorkflowCompleted: {"child_workflow_id": workflow_ids(), "result": payloads()},
        ChildWorkflowFailed: {"child_workflow_id": workflow_ids(), "error": workflow_errors()},
        ChildWorkflowCancelled: {"child_workflow_id": workflow_ids()},
        ScheduleCreated: {"schedule_id": schedule_ids(), "config": schedule_configs()},
        ScheduleUpdated: {"schedule_id": schedule_ids(), "config": schedule_configs()},
        SchedulePaused: {"schedule_id": schedule_ids()},
        ScheduleResumed: {"schedule_id": schedule_ids()},
        ScheduleDeleted: {"schedule_id": schedule_ids()},
        ScheduleTriggered: {
            "schedule_id": schedule_ids(),
            "workflow_id": workflow_ids(),
            "run_id": run_ids(),
        },
    }


#: For each variant, the strategy of every field after ``envelope`` (hand-written).
EVENT_FIELD_STRATEGIES: dict[type[Event], dict[str, st.SearchStrategy[Any]]] = _fields()

#: The lifecycle (status-changing) variants.
LIFECYCLE_VARIANTS: tuple[type[Event], ...] = (
    WorkflowStarted,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowCancelled,
    WorkflowTimedOut,
    WorkflowContinuedAsNew,
)


def event_of(
    variant: type[Event],
    workflow_id: WorkflowId | None = None,
    seq: int | None = None,
    *,
    envelope: st.SearchStrategy[EventEnvelope] | None = None,
) -> st.SearchStrategy[Event]:
    """One variant, every field drawn (``envelope`` overrides the envelope strategy)."""
    if envelope is None:
        envelope = envelopes(workflow_id, seq)
    return st.builds(variant, envelope, **EVENT_FIELD_STRATEGIES[variant])


def events(
    workflow_id: WorkflowId | None = None, seq: int | None = None
) -> st.SearchStrategy[Event]:
    """Any event of any of the 28 variants (one branch per variant)."""
    envelope = envelopes(workflow_id, seq)
    return st.one_of([event_of(variant, envelope=envelope) for variant in VARIANTS])


_OTHER_VARIANTS = tuple(v for v in VARIANTS if v not in LIFECYCLE_VARIANTS)
_TERMINAL_VARIANTS = LIFECYCLE_VARIANTS[1:]
# ``start`` / a terminal variant / any other variant, weighted so histories often hold
# several runs, terminal events after a start, and noise between them.
_KINDS = ("start",) * 3 + _TERMINAL_VARIANTS + ("other",) * 4


@st.composite
def _history(
    draw: st.DrawFn, workflow_id: WorkflowId | None, min_size: int, max_size: int
) -> list[Event]:
    owner = draw(workflow_ids()) if workflow_id is None else workflow_id
    size = draw(st.integers(min_size, max_size))
    kinds = draw(st.lists(st.sampled_from(_KINDS), min_size=size, max_size=size))
    if kinds and draw(st.integers(0, 3)):  # usually the history opens with a start
        kinds[0] = "start"
    times = draw(st.lists(timestamps(), min_size=size, max_size=size))
    if draw(st.booleans()):
        times.sort()
    starts = kinds.count("start")
    runs = draw(st.lists(run_ids(), min_size=starts, max_size=starts, unique=True))
    history: list[Event] = []
    current: RunId | None = None
    for index, kind in enumerate(kinds):
        envelope = EventEnvelope(seq=index + 1, recorded_at=times[index], workflow_id=owner)
        fixed = st.just(envelope)
        if kind == "start":
            run_id = runs.pop(0)
            event = WorkflowStarted(
                envelope,
                workflow_type=draw(text()),
                input=draw(payloads()),
                run_id=run_id,
                parent_run_id=current,
                package_version=draw(package_versions()),
            )
            current = run_id
        elif kind == "other":
            variant = draw(st.sampled_from(_OTHER_VARIANTS))
            event = draw(event_of(variant, envelope=fixed))
        elif kind is WorkflowContinuedAsNew:
            parent = current if current is not None else draw(run_ids())
            event = WorkflowContinuedAsNew(
                envelope,
                input=draw(payloads()),
                workflow_type=draw(_optional(text())),
                parent_run_id=parent,
            )
        else:
            event = draw(event_of(kind, envelope=fixed))  # type: ignore[arg-type]
        history.append(event)
    return history


def histories(
    workflow_id: WorkflowId | None = None, max_size: int = 30, min_size: int = 0
) -> st.SearchStrategy[list[Event]]:
    """One workflow's history: seqs ``1..n`` contiguous, one owner, mixed lifecycle events.

    Runs form a valid chain: the first ``WorkflowStarted`` has no parent run and every
    later one names the previous run (distinct run ids), so ``run_chain_from_history``
    accepts every generated history.
    """
    return _history(workflow_id, min_size, max_size)


# --------------------------------------------------------------------------- projections


@cached
def statuses() -> st.SearchStrategy[WorkflowStatus]:
    return st.sampled_from(WorkflowStatus)


@cached
def timer_entries() -> st.SearchStrategy[TimerEntry]:
    return st.builds(TimerEntry, workflow_ids(), timer_ids(), timestamps())


@cached
def workflow_summaries() -> st.SearchStrategy[WorkflowSummary]:
    return st.builds(
        WorkflowSummary,
        workflow_id=workflow_ids(),
        workflow_type=text(),
        status=statuses(),
        started_at=timestamps(),
        ended_at=_optional(timestamps()),
        parent=_optional(workflow_ids()),
    )


@cached
def run_summaries() -> st.SearchStrategy[RunSummary]:
    return st.builds(
        RunSummary,
        run_id=run_ids(),
        parent_run_id=_optional(run_ids()),
        status=statuses(),
        started_at=timestamps(),
        closed_at=_optional(timestamps()),
    )


def _visibility(cls: type[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        workflow_id=workflow_ids(),
        run_id=run_ids(),
        workflow_type=text(),
        status=statuses(),
        start_time=timestamps(),
        close_time=_optional(timestamps()),
        search_attributes=search_attribute_maps(),
    )


@cached
def visibility_records() -> st.SearchStrategy[VisibilityRecord]:
    return _visibility(VisibilityRecord)


@cached
def visibility_summaries() -> st.SearchStrategy[VisibilityWorkflowSummary]:
    return _visibility(VisibilityWorkflowSummary)


@cached
def predicates() -> st.SearchStrategy[SearchAttributePredicate]:
    P = SearchAttributePredicate
    return st.one_of(
        st.builds(P.Equals, text(), search_values()),
        st.builds(P.GreaterThan, text(), search_values()),
        st.builds(P.LessThan, text(), search_values()),
        st.builds(P.Contains, text(), text()),
    )


@cached
def workflow_filters() -> st.SearchStrategy[WorkflowFilter]:
    return st.builds(
        WorkflowFilter,
        workflow_type=_optional(text()),
        status=_optional(statuses()),
        started_after=_optional(timestamps()),
        started_before=_optional(timestamps()),
        parent=_optional(workflow_ids()),
    )


@cached
def list_workflows_filters() -> st.SearchStrategy[ListWorkflowsFilter]:
    return st.builds(
        ListWorkflowsFilter,
        workflow_type=_optional(text()),
        status=_optional(statuses()),
        started_after=_optional(timestamps()),
        started_before=_optional(timestamps()),
        closed_after=_optional(timestamps()),
        closed_before=_optional(timestamps()),
        search_attributes=st.lists(predicates(), max_size=3).map(tuple),
        limit=_optional(u32s()),
        offset=_optional(u32s()),
    )


# --------------------------------------------------------------------------- wire


def _wire_pairs() -> list[tuple[Any, Callable[[], st.SearchStrategy[Any]]]]:
    return [
        (Event, events),
        (EventEnvelope, envelopes),
        (WorkflowId, workflow_ids),
        (RunId, run_ids),
        (ScheduleId, schedule_ids),
        (ActivityId, activity_ids),
        (TimerId, timer_ids),
        (PackageVersion, package_versions),
        (Payload, payloads),
        (ContentType, lambda: st.sampled_from(ContentType)),
        (WorkflowError, workflow_errors),
        (ActivityError, activity_errors),
        (ActivityErrorKind, lambda: st.sampled_from(ActivityErrorKind)),
        (WithTimeoutOutcome, lambda: st.sampled_from(WithTimeoutOutcome)),
        (SearchAttributeValue, search_values),
        (SearchAttributeType, lambda: st.sampled_from(SearchAttributeType)),
        (TriggerSpec, triggers),
        (OverlapPolicy, lambda: st.sampled_from(OverlapPolicy)),
        (CatchUpPolicy, lambda: st.sampled_from(CatchUpPolicy)),
        (ScheduleConfig, schedule_configs),
        (WorkflowStatus, statuses),
        (TimerEntry, timer_entries),
        (WorkflowSummary, workflow_summaries),
        (VisibilityRecord, visibility_records),
        (VisibilityWorkflowSummary, visibility_summaries),
        (WorkflowFilter, workflow_filters),
        (ListWorkflowsFilter, list_workflows_filters),
        (SearchAttributePredicate, predicates),
        (RunSummary, run_summaries),
    ]


#: The ``cls`` argument of ``from_json``/``from_msgpack`` for every type SPEC §11 covers.
WIRE_TYPES: tuple[Any, ...] = tuple(cls for cls, _ in _wire_pairs())


@cached
def any_wire_value() -> st.SearchStrategy[tuple[Any, Any]]:
    """``(cls, value)`` for every wire type: ``from_json(to_json(value), cls) == value``."""
    return st.one_of(
        [strategy().map(functools.partial(_pair, cls)) for cls, strategy in _wire_pairs()]
    )


def _pair(cls: Any, value: Any) -> tuple[Any, Any]:
    return (cls, value)
