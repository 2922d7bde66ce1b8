"""Construction rules of the model layer (SPEC §1-5, §7, §8, plus the model parts of §9, §10).

Every test names the rule it checks. Error messages are checked for the field and the
offending value. Property tests compare against small reference implementations written
here, independent of the package's own projections.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import inspect
import json
import math
import pathlib
import pickle
import re
import sys
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aion_store
import strategies as S
from aion_store import _select
from aion_store import events as events_module
from aion_store.error import (
    BackendError,
    NotFound,
    SequenceConflict,
    SerializationError,
    StoreError,
)
from aion_store.events import VARIANTS, Event, EventEnvelope, WithTimeoutOutcome
from aion_store.ids import (
    ActivityId,
    PackageVersion,
    RunId,
    ScheduleId,
    TimerId,
    WorkflowId,
)
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.payload import (
    ActivityError,
    ActivityErrorKind,
    ContentType,
    Payload,
    PayloadError,
    WorkflowError,
)
from aion_store.run_chain import RunSummary, run_chain_from_history
from aion_store.schedule import (
    CatchUpPolicy,
    OverlapPolicy,
    ScheduleConfig,
    TriggerSpec,
)
from aion_store.search import (
    SearchAttributeError,
    SearchAttributeSchema,
    SearchAttributeType,
    search_attributes_from_events,
)
from aion_store.status import (
    WorkflowFilter,
    WorkflowStatus,
    WorkflowSummary,
    status_from_events,
)
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)

UTC = timezone.utc
T0 = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
U = uuid.UUID("0123abcd-4567-89ef-0123-456789abcdef")
U2 = uuid.UUID("fedcba98-7654-3210-fedc-ba9876543210")
W = WorkflowId(U)
W2 = WorkflowId(U2)
R1, R2, R3, R4 = (RunId(uuid.UUID(int=n)) for n in (11, 22, 33, 44))
P = Payload(ContentType.JSON, b"{}")
PV = PackageVersion("abc123")
SURROGATE = "bad\ud800text"
PLUS_5_30 = timezone(timedelta(hours=5, minutes=30))
MINUS_8 = timezone(timedelta(hours=-8))

TERMINAL_STATUS = {
    Event.WorkflowCompleted: WorkflowStatus.COMPLETED,
    Event.WorkflowFailed: WorkflowStatus.FAILED,
    Event.WorkflowCancelled: WorkflowStatus.CANCELLED,
    Event.WorkflowTimedOut: WorkflowStatus.TIMED_OUT,
    Event.WorkflowContinuedAsNew: WorkflowStatus.CONTINUED_AS_NEW,
}

PROPERTY = settings(deadline=None, max_examples=100)
PROPERTY_FEW = settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)


def names(*parts: str) -> str:
    """A ``match=`` pattern requiring every part (literally) somewhere in the message."""
    return "(?s)" + "".join(f"(?=.*{re.escape(part)})" for part in parts)


# --------------------------------------------------------------------------- builders


def env(seq: int = 1, at: datetime = T0, workflow_id: WorkflowId = W) -> EventEnvelope:
    return EventEnvelope(seq=seq, recorded_at=at, workflow_id=workflow_id)


def started(
    seq: int,
    run_id: RunId,
    parent: RunId | None = None,
    *,
    at: datetime = T0,
    workflow_type: str = "order",
    workflow_id: WorkflowId = W,
) -> Event:
    return Event.WorkflowStarted(
        env(seq, at, workflow_id),
        workflow_type=workflow_type,
        input=P,
        run_id=run_id,
        parent_run_id=parent,
        package_version=PV,
    )


def terminal(variant: type[Event], seq: int, *, at: datetime = T0, parent: RunId = R1) -> Event:
    envelope = env(seq, at)
    if variant is Event.WorkflowCompleted:
        return Event.WorkflowCompleted(envelope, result=P)
    if variant is Event.WorkflowFailed:
        return Event.WorkflowFailed(envelope, error=WorkflowError("boom"))
    if variant is Event.WorkflowCancelled:
        return Event.WorkflowCancelled(envelope, reason="user")
    if variant is Event.WorkflowTimedOut:
        return Event.WorkflowTimedOut(envelope, timeout="1h")
    if variant is Event.WorkflowContinuedAsNew:
        return Event.WorkflowContinuedAsNew(
            envelope, input=P, workflow_type=None, parent_run_id=parent
        )
    raise AssertionError(variant)


def signal(seq: int, *, at: datetime = T0) -> Event:
    return Event.SignalReceived(env(seq, at), name="ping", payload=P)


def attrs_event(seq: int, attributes: Mapping[str, Any], *, owner: WorkflowId = W) -> Event:
    return Event.SearchAttributesUpdated(env(seq), workflow_id=owner, attributes=attributes)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def summary(**changes: Any) -> WorkflowSummary:
    fields: dict[str, Any] = {
        "workflow_id": W,
        "workflow_type": "order",
        "status": WorkflowStatus.RUNNING,
        "started_at": T0,
    }
    fields.update(changes)
    return WorkflowSummary(**fields)


def vis(**changes: Any) -> VisibilityWorkflowSummary:
    fields: dict[str, Any] = {
        "workflow_id": W,
        "run_id": R1,
        "workflow_type": "order",
        "status": WorkflowStatus.RUNNING,
        "start_time": T0,
    }
    fields.update(changes)
    return VisibilityWorkflowSummary(**fields)


def strictly_equal_maps(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    return dict(left).keys() == dict(right).keys() and all(
        type(left[key]) is type(right[key]) and left[key] == right[key] for key in left
    )


# =========================================================================== public names

PUBLIC = {
    "ids": ["WorkflowId", "RunId", "ScheduleId", "ActivityId", "TimerId", "PackageVersion"],
    "payload": [
        "ContentType",
        "Payload",
        "PayloadError",
        "WorkflowError",
        "ActivityErrorKind",
        "ActivityError",
    ],
    "events": ["Event", "EventEnvelope", "WithTimeoutOutcome"],
    "search": [
        "SearchAttributeValue",
        "SearchAttributeType",
        "SearchAttributeSchema",
        "SearchAttributeError",
        "search_attributes_from_events",
    ],
    "schedule": ["TriggerSpec", "OverlapPolicy", "CatchUpPolicy", "ScheduleConfig"],
    "status": ["WorkflowStatus", "status_from_events", "WorkflowSummary", "WorkflowFilter"],
    "store": ["WriteToken", "RunSummary", "TimerEntry"],
    "error": ["StoreError", "SequenceConflict", "NotFound", "BackendError", "SerializationError"],
    "run_chain": ["run_chain_from_history"],
    "visibility": [
        "ListWorkflowsFilter",
        "SearchAttributePredicate",
        "VisibilityRecord",
        "VisibilityWorkflowSummary",
    ],
    "package": ["PackageRecord", "PackageRouteRecord"],
}


@pytest.mark.parametrize(
    ("module", "name"), [(module, name) for module, items in PUBLIC.items() for name in items]
)
def test_public_name_importable_from_top_level_and_its_module(module: str, name: str) -> None:
    mod = __import__(f"aion_store.{module}", fromlist=[name])
    assert getattr(aion_store, name) is getattr(mod, name)


# =========================================================================== identifiers

UUID_CLASSES = [WorkflowId, RunId, ScheduleId]


@pytest.mark.parametrize("cls", UUID_CLASSES)
def test_uuid_id_from_uuid_and_from_canonical_string(cls: type) -> None:
    from_uuid = cls(U)
    from_text = cls(str(U))
    assert from_uuid == from_text
    assert from_uuid.uuid == U
    assert isinstance(from_uuid.uuid, uuid.UUID)
    assert str(from_uuid) == "0123abcd-4567-89ef-0123-456789abcdef"
    assert repr(from_uuid) == f"{cls.__name__}('0123abcd-4567-89ef-0123-456789abcdef')"


def uuid_forms(value: uuid.UUID) -> list[str]:
    canonical = str(value)
    return [
        canonical,
        canonical.upper(),
        "{" + canonical + "}",
        "{" + canonical.upper() + "}",
        "urn:uuid:" + canonical,
        "urn:uuid:" + canonical.upper(),
        value.hex,
        value.hex.upper(),
        canonical[:9] + canonical[9:].upper(),
    ]


@PROPERTY
@given(S.uuids(), st.sampled_from(UUID_CLASSES))
def test_uuid_id_accepts_every_form_uuid_module_reads(value: uuid.UUID, cls: type) -> None:
    for form in uuid_forms(value):
        assert uuid.UUID(form) == value  # the form is one uuid.UUID reads
        made = cls(form)
        assert made.uuid == value
        assert str(made) == str(value)
        assert str(made) == str(made).lower()


@pytest.mark.parametrize("cls", UUID_CLASSES)
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-uuid",
        "0123abcd-4567-89ef-0123-456789abcde",
        "0123abcd-4567-89ef-0123-456789abcdef0",
        "0123abcg-4567-89ef-0123-456789abcdef",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "12345",
    ],
)
def test_malformed_uuid_string_is_value_error_naming_input(cls: type, bad: str) -> None:
    with pytest.raises(ValueError, match=names(bad, cls.__name__)):
        cls(bad)


@pytest.mark.parametrize("cls", UUID_CLASSES)
def test_uuid_string_with_lone_surrogate_is_value_error(cls: type) -> None:
    with pytest.raises(ValueError, match=re.escape("\\ud800")):
        cls("0123abcd-4567-89ef-0123-456789abcd\ud800")


@pytest.mark.parametrize("cls", UUID_CLASSES)
@pytest.mark.parametrize("bad", [None, 5, U.int, U.bytes, 1.5, [str(U)], bytearray(b"x")])
def test_uuid_id_wrong_type_is_type_error(cls: type, bad: object) -> None:
    with pytest.raises(TypeError, match=cls.__name__):
        cls(bad)


@pytest.mark.parametrize("cls", UUID_CLASSES)
def test_uuid_id_hash_and_equality(cls: type) -> None:
    a, b, c = cls(U), cls(str(U).upper()), cls(U2)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert (a != b) is False
    assert len({a, b, c}) == 2
    assert {a: 1}[b] == 1


def test_ids_of_different_types_never_equal() -> None:
    ids = [WorkflowId(U), RunId(U), ScheduleId(U)]
    for i, left in enumerate(ids):
        for j, right in enumerate(ids):
            assert (left == right) is (i == j)
            assert (left != right) is (i != j)
        assert left != U
        assert left != str(U)
        assert left != U.int
    assert len(set(ids)) == 3
    assert ActivityId.from_sequence_position(3) != TimerId.anonymous(3)
    assert TimerId.named("abc") != PackageVersion("abc")
    assert PackageVersion("abc") != "abc"
    assert ActivityId.from_sequence_position(3) != 3


@PROPERTY
@given(S.uuids(), S.uuids(), st.sampled_from(UUID_CLASSES))
def test_uuid_id_ordering_is_ordering_of_str(a: uuid.UUID, b: uuid.UUID, cls: type) -> None:
    x, y = cls(a), cls(b)
    assert (x < y) is (str(x) < str(y))
    assert (x <= y) is (str(x) <= str(y))
    assert (x > y) is (str(x) > str(y))
    assert (x >= y) is (str(x) >= str(y))


@PROPERTY
@given(st.lists(S.workflow_ids(), max_size=20))
def test_sorting_ids_equals_sorting_by_str(ids: list[WorkflowId]) -> None:
    assert [str(i) for i in sorted(ids)] == sorted(str(i) for i in ids)


@pytest.mark.parametrize("cls", UUID_CLASSES)
def test_new_v4(cls: type) -> None:
    made = [cls.new_v4() for _ in range(50)]
    assert all(type(m) is cls for m in made)
    assert all(m.uuid.version == 4 for m in made)
    assert all(m.uuid.variant == uuid.RFC_4122 for m in made)
    assert len(set(made)) == 50


@pytest.mark.parametrize(
    "value",
    [
        WorkflowId(U),
        RunId(U),
        ScheduleId(U),
        ActivityId.from_sequence_position(7),
        TimerId.named("t"),
        TimerId.anonymous(7),
        PackageVersion("h"),
    ],
    ids=repr,
)
def test_ids_are_immutable(value: object) -> None:
    with pytest.raises(AttributeError):
        value.anything = 1  # type: ignore[attr-defined]
    for name in ("_int", "_position", "_name", "_text", "uuid", "name", "sequence_position"):
        if hasattr(value, name):
            before = getattr(value, name)
            with pytest.raises(AttributeError):
                setattr(value, name, before)
            with pytest.raises(AttributeError):
                delattr(value, name)
    assert value == copy.copy(value)


IDS = st.one_of(
    S.workflow_ids(),
    S.run_ids(),
    S.schedule_ids(),
    S.activity_ids(),
    S.timer_ids(),
    S.package_versions(),
)


@PROPERTY
@given(IDS)
def test_ids_pickle_and_copy(value: Any) -> None:
    for clone in (
        pickle.loads(pickle.dumps(value)),
        pickle.loads(pickle.dumps(value, protocol=0)),
        copy.copy(value),
        copy.deepcopy(value),
    ):
        assert type(clone) is type(value)
        assert clone == value
        assert hash(clone) == hash(value)
        assert str(clone) == str(value)


@PROPERTY
@given(IDS)
def test_id_repr_and_str_are_readable(value: Any) -> None:
    assert type(value).__name__ in repr(value)
    assert isinstance(str(value), str)


# ---- ActivityId


@pytest.mark.parametrize("n", [0, 1, 42, 2**32, 2**63, 2**64 - 1])
def test_activity_id_str_and_position(n: int) -> None:
    activity = ActivityId.from_sequence_position(n)
    assert activity.sequence_position == n
    assert str(activity) == f"activity:{n}"
    assert activity == ActivityId.from_sequence_position(n)
    assert hash(activity) == hash(ActivityId.from_sequence_position(n))
    assert activity != ActivityId.from_sequence_position(n ^ 1)


@pytest.mark.parametrize("n", [-1, -(2**64), 2**64, 2**100])
def test_activity_id_out_of_range_is_value_error(n: int) -> None:
    with pytest.raises(ValueError, match=names("sequence_position", str(n))):
        ActivityId.from_sequence_position(n)


@pytest.mark.parametrize("bad", [True, False, 1.0, "1", None, Decimal(1)])
def test_activity_id_wrong_type_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match=names("sequence_position", repr(bad))):
        ActivityId.from_sequence_position(bad)  # type: ignore[arg-type]


# ---- TimerId


def test_timer_id_named_and_anonymous() -> None:
    named = TimerId.named("deadline")
    anon = TimerId.anonymous(3)
    assert (named.name, named.sequence_position) == ("deadline", None)
    assert (anon.name, anon.sequence_position) == (None, 3)
    assert str(named) == "timer:named:deadline"
    assert str(anon) == "timer:anonymous:3"
    assert str(TimerId.named("a:b 🎉")) == "timer:named:a:b 🎉"
    assert str(TimerId.anonymous(2**64 - 1)) == f"timer:anonymous:{2**64 - 1}"
    assert TimerId.named("3") != TimerId.anonymous(3)
    assert TimerId.named("x") == TimerId.named("x")
    assert hash(TimerId.anonymous(0)) == hash(TimerId.anonymous(0))
    assert len({TimerId.named("x"), TimerId.named("x"), TimerId.anonymous(0)}) == 2


def test_timer_id_empty_name_is_value_error() -> None:
    with pytest.raises(ValueError, match=names("name", "empty")):
        TimerId.named("")


def test_timer_id_lone_surrogate_name_is_value_error() -> None:
    with pytest.raises(ValueError, match=names("TimerId.name", "\\ud800")):
        TimerId.named(SURROGATE)


@pytest.mark.parametrize("bad", [None, 5, b"x"])
def test_timer_id_name_wrong_type_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        TimerId.named(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "exc"), [(-1, ValueError), (2**64, ValueError), (True, TypeError), (1.0, TypeError)]
)
def test_timer_id_anonymous_bounds_and_types(bad: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match=names("sequence_position", repr(bad))):
        TimerId.anonymous(bad)  # type: ignore[arg-type]


# ---- PackageVersion


@pytest.mark.parametrize("text", ["", "ABC", " padded ", "sha256:0f0f", "名前🎉", "a" * 500])
def test_package_version_keeps_text_as_given(text: str) -> None:
    version = PackageVersion(text)
    assert str(version) == text
    assert version == PackageVersion(text)
    assert hash(version) == hash(PackageVersion(text))
    assert version != PackageVersion(text + "x")


@pytest.mark.parametrize("bad", [None, b"abc", 5, ["abc"]])
def test_package_version_non_str_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="PackageVersion"):
        PackageVersion(bad)  # type: ignore[arg-type]


def test_package_version_lone_surrogate_is_value_error() -> None:
    with pytest.raises(ValueError, match=names("PackageVersion", "\\ud800")):
        PackageVersion(SURROGATE)


# =========================================================================== payloads


def test_payload_keeps_bytes_and_content_type() -> None:
    payload = Payload(ContentType.JSON, b"\x00\xff")
    assert payload.content_type is ContentType.JSON
    assert payload.data == b"\x00\xff"
    assert Payload(content_type=ContentType.JSON, data=b"") == Payload(ContentType.JSON, b"")
    assert Payload(ContentType.JSON, b"not json at all {").data == b"not json at all {"


@pytest.mark.parametrize("make", [bytearray, memoryview, lambda b: memoryview(bytearray(b))])
def test_payload_copies_bytearray_and_memoryview(make: Callable[[bytes], Any]) -> None:
    source = make(b"abc")
    payload = Payload(ContentType.JSON, source)
    assert type(payload.data) is bytes
    assert payload.data == b"abc"
    target = source.obj if isinstance(source, memoryview) else source
    if isinstance(target, bytearray):
        target[0] = ord("z")
        assert payload.data == b"abc"


@pytest.mark.parametrize("bad", ["abc", [1, 2], 5, None, {"a": 1}])
def test_payload_data_of_other_type_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match=names("data", repr(bad))):
        Payload(ContentType.JSON, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Json", "JSON", None, 0])
def test_payload_content_type_must_be_enum(bad: object) -> None:
    with pytest.raises(TypeError, match="content_type"):
        Payload(bad, b"")  # type: ignore[arg-type]


@PROPERTY
@given(S.json_values())
def test_payload_json_round_trip(value: Any) -> None:
    payload = Payload.from_json(value)
    assert payload.content_type is ContentType.JSON
    assert type(payload.data) is bytes
    assert json.loads(payload.data.decode("utf-8")) == value
    assert payload.to_json() == value


def test_payload_from_json_writes_utf8() -> None:
    payload = Payload.from_json({"k": "é🎉"})
    assert "é🎉".encode() in payload.data
    assert payload.to_json() == {"k": "é🎉"}


@pytest.mark.parametrize("bad", [b"", b"{", b"[1,]", b"\xff\xfe\xfd", b"{'a': 1}", b"tru", b"1 2"])
def test_payload_to_json_invalid_is_payload_error(bad: bytes) -> None:
    with pytest.raises(PayloadError):
        Payload(ContentType.JSON, bad).to_json()
    assert issubclass(PayloadError, ValueError)


@pytest.mark.parametrize("bad", [b"NaN", b"Infinity", b"-Infinity", b"[1, NaN]"])
def test_payload_to_json_rejects_non_json_number_tokens(bad: bytes) -> None:
    # NaN/Infinity are not JSON (RFC 8259, and serde_json rejects them); from_json refuses
    # to write them, so to_json must not read them either.
    with pytest.raises(PayloadError):
        Payload(ContentType.JSON, bad).to_json()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, [1.0, math.nan], {"x": math.inf}])
def test_payload_from_json_refuses_nan_and_infinities(bad: Any) -> None:
    with pytest.raises(ValueError):
        Payload.from_json(bad)


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"bytes"])
def test_payload_from_json_non_json_value_is_payload_error(bad: Any) -> None:
    with pytest.raises(PayloadError):
        Payload.from_json(bad)


# =========================================================================== failures


def test_workflow_error_defaults_and_fields() -> None:
    error = WorkflowError("boom")
    assert error.message == "boom"
    assert error.details is None
    with_details = WorkflowError(message="boom", details=P)
    assert with_details.details == P
    assert with_details != error
    assert WorkflowError("boom") == error and hash(WorkflowError("boom")) == hash(error)


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"message": 5}, TypeError, "message"),
        ({"message": SURROGATE}, ValueError, "message"),
        ({"message": "m", "details": b"{}"}, TypeError, "details"),
        ({"message": "m", "details": "x"}, TypeError, "details"),
    ],
)
def test_workflow_error_field_checks(
    kwargs: dict[str, Any], exc: type[Exception], field: str
) -> None:
    with pytest.raises(exc, match=names("WorkflowError", field)):
        WorkflowError(**kwargs)


def test_activity_error_kind_and_is_retryable() -> None:
    retryable = ActivityError(ActivityErrorKind.RETRYABLE, "flaky")
    terminal_error = ActivityError(kind=ActivityErrorKind.TERMINAL, message="bad", details=P)
    assert retryable.is_retryable is True
    assert terminal_error.is_retryable is False
    assert retryable.details is None
    assert terminal_error.details == P
    assert isinstance(type(retryable).__dict__.get("is_retryable"), property)


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"kind": "Retryable", "message": "m"}, TypeError, "kind"),
        ({"kind": ActivityErrorKind.TERMINAL, "message": None}, TypeError, "message"),
        ({"kind": ActivityErrorKind.TERMINAL, "message": SURROGATE}, ValueError, "message"),
        ({"kind": ActivityErrorKind.TERMINAL, "message": "m", "details": 1}, TypeError, "details"),
    ],
)
def test_activity_error_field_checks(
    kwargs: dict[str, Any], exc: type[Exception], field: str
) -> None:
    with pytest.raises(exc, match=names("ActivityError", field)):
        ActivityError(**kwargs)


@PROPERTY
@given(S.activity_errors())
def test_workflow_error_from_activity_error_keeps_message_and_details(error: ActivityError) -> None:
    converted = WorkflowError.from_activity_error(error)
    assert type(converted) is WorkflowError
    assert converted.message == error.message
    assert converted.details == error.details
    assert converted == WorkflowError(error.message, error.details)


# =========================================================================== enums


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (ContentType, {"JSON": "Json"}),
        (ActivityErrorKind, {"RETRYABLE": "Retryable", "TERMINAL": "Terminal"}),
        (
            WithTimeoutOutcome,
            {"OPERATION_COMPLETED": "OperationCompleted", "TIMED_OUT": "TimedOut"},
        ),
        (
            SearchAttributeType,
            {
                "STRING": "String",
                "INT": "Int",
                "FLOAT": "Float",
                "BOOL": "Bool",
                "DATETIME": "Datetime",
                "KEYWORD_LIST": "KeywordList",
            },
        ),
        (
            OverlapPolicy,
            {
                "SKIP": "Skip",
                "BUFFER_ONE": "BufferOne",
                "CANCEL_PREVIOUS": "CancelPrevious",
                "ALLOW_ALL": "AllowAll",
            },
        ),
        (CatchUpPolicy, {"ALL": "All", "ONE": "One", "SKIP": "Skip"}),
        (
            WorkflowStatus,
            {
                "RUNNING": "Running",
                "COMPLETED": "Completed",
                "FAILED": "Failed",
                "CANCELLED": "Cancelled",
                "TIMED_OUT": "TimedOut",
                "CONTINUED_AS_NEW": "ContinuedAsNew",
            },
        ),
    ],
)
def test_enum_values_are_rust_variant_names(cls: type[enum.Enum], expected: dict[str, str]) -> None:
    assert issubclass(cls, enum.Enum)
    assert {member.name: member.value for member in cls} == expected
    for name, value in expected.items():
        assert cls(value) is cls[name]


def test_workflow_status_timed_out_value() -> None:
    assert WorkflowStatus.TIMED_OUT.value == "TimedOut"


# =========================================================================== timestamps

# (label, builder taking one datetime, the field name the error must mention)
TIMESTAMP_FIELDS: list[tuple[str, Callable[[datetime], Any], str]] = [
    ("envelope", lambda d: env(at=d), "recorded_at"),
    (
        "timer_started",
        lambda d: Event.TimerStarted(env(), timer_id=TimerId.named("t"), fire_at=d),
        "fire_at",
    ),
    ("summary.started_at", lambda d: summary(started_at=d), "started_at"),
    ("summary.ended_at", lambda d: summary(ended_at=d), "ended_at"),
    ("filter.started_after", lambda d: WorkflowFilter(started_after=d), "started_after"),
    ("filter.started_before", lambda d: WorkflowFilter(started_before=d), "started_before"),
    ("timer_entry", lambda d: TimerEntry(W, TimerId.anonymous(1), d), "fire_at"),
    (
        "run_summary.started_at",
        lambda d: RunSummary(R1, None, WorkflowStatus.RUNNING, d, None),
        "started_at",
    ),
    (
        "run_summary.closed_at",
        lambda d: RunSummary(R1, None, WorkflowStatus.COMPLETED, T0, d),
        "closed_at",
    ),
    ("visibility.start_time", lambda d: vis(start_time=d), "start_time"),
    ("visibility.close_time", lambda d: vis(close_time=d), "close_time"),
    (
        "visibility_record.start_time",
        lambda d: VisibilityRecord(W, R1, "t", WorkflowStatus.RUNNING, d),
        "start_time",
    ),
    ("list.started_after", lambda d: ListWorkflowsFilter(started_after=d), "started_after"),
    ("list.started_before", lambda d: ListWorkflowsFilter(started_before=d), "started_before"),
    ("list.closed_after", lambda d: ListWorkflowsFilter(closed_after=d), "closed_after"),
    ("list.closed_before", lambda d: ListWorkflowsFilter(closed_before=d), "closed_before"),
    ("package", lambda d: PackageRecord("t", "h", b"", d), "deployed_at"),
    ("search value", lambda d: attrs_event(1, {"when": d}), "when"),
    ("predicate value", lambda d: SearchAttributePredicate.Equals("when", d), "value"),
]


def stored_timestamp(value: Any) -> datetime:
    """Pull the (only) timestamp of interest back out of a value built by TIMESTAMP_FIELDS."""
    if isinstance(value, EventEnvelope):
        return value.recorded_at
    if isinstance(value, Event.TimerStarted):
        return value.fire_at
    if isinstance(value, Event.SearchAttributesUpdated):
        return value.attributes["when"]
    if isinstance(value, SearchAttributePredicate.Equals):
        return value.value  # type: ignore[return-value]
    # Records built by TIMESTAMP_FIELDS hold T0 in every other timestamp field.
    found = [
        getattr(value, f.name)
        for f in dataclasses.fields(value)
        if isinstance(getattr(value, f.name), datetime) and getattr(value, f.name) != T0
    ]
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("label", "build", "field"), TIMESTAMP_FIELDS, ids=[t[0] for t in TIMESTAMP_FIELDS]
)
def test_naive_timestamp_is_value_error_naming_field(
    label: str, build: Callable[[datetime], Any], field: str
) -> None:
    naive = datetime(2021, 3, 4, 5, 6, 7)
    with pytest.raises(ValueError, match=names(field, "2021-03-04")):
        build(naive)


@pytest.mark.parametrize(
    ("label", "build", "field"), TIMESTAMP_FIELDS, ids=[t[0] for t in TIMESTAMP_FIELDS]
)
def test_aware_timestamp_converted_to_utc(
    label: str, build: Callable[[datetime], Any], field: str
) -> None:
    local = datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=PLUS_5_30)
    value = stored_timestamp(build(local))
    assert value == local
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo == UTC
    assert (value.hour, value.minute, value.microsecond) == (23, 36, 123456)
    assert value.day == 3


@pytest.mark.parametrize(
    ("label", "build", "field"), TIMESTAMP_FIELDS, ids=[t[0] for t in TIMESTAMP_FIELDS]
)
def test_timestamp_of_wrong_type_is_type_error(
    label: str, build: Callable[[datetime], Any], field: str
) -> None:
    if label in ("search value", "predicate value"):
        bad: Any = date(2021, 3, 4)  # a str or float there is a valid value of another type
    else:
        bad = "2021-03-04T05:06:07Z"
    with pytest.raises(TypeError, match=field):
        build(bad)


@PROPERTY
@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_any_fixed_offset_converts_to_the_same_instant(naive: datetime, minutes: int) -> None:
    local = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    stored = env(at=local).recorded_at
    assert stored == local
    assert stored.tzinfo == UTC
    assert stored.replace(tzinfo=None) == (naive - timedelta(minutes=minutes))


@PROPERTY
@given(S.timestamps())
def test_utc_timestamp_kept_exactly_with_microseconds(value: datetime) -> None:
    stored = env(at=value).recorded_at
    assert stored == value
    assert stored.microsecond == value.microsecond
    assert stored.tzinfo == UTC


def test_utc_equivalent_zone_is_normalised_to_utc() -> None:
    gmt = timezone(timedelta(0), "GMT")
    stored = env(at=datetime(2020, 1, 1, 12, tzinfo=gmt)).recorded_at
    assert stored.tzinfo == UTC
    assert stored == datetime(2020, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
    ],
)
def test_timestamp_out_of_range_in_utc_is_value_error(value: datetime) -> None:
    with pytest.raises(ValueError, match="recorded_at"):
        env(at=value)


# =========================================================================== lone surrogates

SEARCH_P = SearchAttributePredicate
# (label, builder taking one str, field name the message must mention)
STR_FIELDS: list[tuple[str, Callable[[str], Any], str]] = [
    ("started.workflow_type", lambda s: started(1, R1, workflow_type=s), "workflow_type"),
    ("cancelled.reason", lambda s: Event.WorkflowCancelled(env(), reason=s), "reason"),
    ("timed_out.timeout", lambda s: Event.WorkflowTimedOut(env(), timeout=s), "timeout"),
    (
        "continued.workflow_type",
        lambda s: Event.WorkflowContinuedAsNew(env(), input=P, workflow_type=s, parent_run_id=R1),
        "workflow_type",
    ),
    (
        "activity_type",
        lambda s: Event.ActivityScheduled(
            env(), activity_id=ActivityId.from_sequence_position(1), activity_type=s, input=P
        ),
        "activity_type",
    ),
    ("signal.name", lambda s: Event.SignalReceived(env(), name=s, payload=P), "name"),
    (
        "signal_sent.name",
        lambda s: Event.SignalSent(env(), target_workflow_id=W2, name=s, payload=P),
        "name",
    ),
    (
        "child.workflow_type",
        lambda s: Event.ChildWorkflowStarted(
            env(), child_workflow_id=W2, workflow_type=s, input=P, package_version=PV
        ),
        "workflow_type",
    ),
    ("workflow_error.message", lambda s: WorkflowError(s), "message"),
    ("activity_error.message", lambda s: ActivityError(ActivityErrorKind.TERMINAL, s), "message"),
    ("timer name", TimerId.named, "name"),
    ("package version", PackageVersion, "PackageVersion"),
    ("cron", TriggerSpec.Cron, "expression"),
    (
        "schedule.workflow_type",
        lambda s: ScheduleConfig(TriggerSpec.Cron("* * * * *"), s, P),
        "workflow_type",
    ),
    ("attribute key", lambda s: attrs_event(1, {s: 1}), "key"),
    ("attribute string value", lambda s: attrs_event(1, {"k": s}), "k"),
    ("keyword list item", lambda s: attrs_event(1, {"k": ["ok", s]}), "k"),
    (
        "schedule attribute",
        lambda s: ScheduleConfig(TriggerSpec.Cron("x"), "t", P, search_attributes={"k": s}),
        "search_attributes",
    ),
    ("summary.workflow_type", lambda s: summary(workflow_type=s), "workflow_type"),
    ("filter.workflow_type", lambda s: WorkflowFilter(workflow_type=s), "workflow_type"),
    ("visibility.workflow_type", lambda s: vis(workflow_type=s), "workflow_type"),
    ("visibility attribute", lambda s: vis(search_attributes={"k": [s]}), "search_attributes"),
    ("list.workflow_type", lambda s: ListWorkflowsFilter(workflow_type=s), "workflow_type"),
    ("equals.name", lambda s: SEARCH_P.Equals(s, 1), "name"),
    ("equals.value", lambda s: SEARCH_P.Equals("n", s), "value"),
    ("greater.name", lambda s: SEARCH_P.GreaterThan(s, 1), "name"),
    ("less.name", lambda s: SEARCH_P.LessThan(s, 1), "name"),
    ("contains.name", lambda s: SEARCH_P.Contains(s, "k"), "name"),
    ("contains.keyword", lambda s: SEARCH_P.Contains("n", s), "keyword"),
    ("package.workflow_type", lambda s: PackageRecord(s, "h", b"", T0), "workflow_type"),
    ("package.content_hash", lambda s: PackageRecord("t", s, b"", T0), "content_hash"),
    ("route.workflow_type", lambda s: PackageRouteRecord(s, "h"), "workflow_type"),
    ("route.content_hash", lambda s: PackageRouteRecord("t", s), "content_hash"),
    (
        "schema.register",
        lambda s: SearchAttributeSchema().register(s, SearchAttributeType.INT),
        "name",
    ),
]


@pytest.mark.parametrize(("label", "build", "field"), STR_FIELDS, ids=[t[0] for t in STR_FIELDS])
def test_lone_surrogate_is_value_error_in_every_str_field(
    label: str, build: Callable[[str], Any], field: str
) -> None:
    build("valid ✓ 🎉")  # the same field accepts valid Unicode, non-BMP included
    with pytest.raises(ValueError, match=names(field, "\\ud800")):
        build(SURROGATE)


@pytest.mark.parametrize(("label", "build", "field"), STR_FIELDS, ids=[t[0] for t in STR_FIELDS])
def test_non_str_in_str_field_is_type_error(
    label: str, build: Callable[[str], Any], field: str
) -> None:
    with pytest.raises(TypeError):
        build(b"bytes")  # type: ignore[arg-type]


@PROPERTY
@given(S.text())
def test_valid_unicode_text_is_kept_in_str_fields(value: str) -> None:
    assert Event.WorkflowCancelled(env(), reason=value).reason == value
    assert attrs_event(1, {value: value}).attributes[value] == value
    assert WorkflowError(value).message == value


# =========================================================================== integers


@pytest.mark.parametrize(
    ("seq", "exc"),
    [
        (0, ValueError),
        (-1, ValueError),
        (2**64, ValueError),
        (True, TypeError),
        (1.0, TypeError),
        ("1", TypeError),
        (None, TypeError),
    ],
)
def test_envelope_seq_must_be_u64_at_least_one(seq: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match=names("seq", repr(seq))):
        env(seq=seq)  # type: ignore[arg-type]


@pytest.mark.parametrize("seq", [1, 2, 2**63, 2**64 - 1])
def test_envelope_seq_valid_bounds(seq: int) -> None:
    assert env(seq=seq).seq == seq


def activity_failed(attempt: Any) -> Event:
    return Event.ActivityFailed(
        env(),
        activity_id=ActivityId.from_sequence_position(0),
        error=ActivityError(ActivityErrorKind.RETRYABLE, "x"),
        attempt=attempt,
    )


@pytest.mark.parametrize("attempt", [0, 1, 2**32 - 1])
def test_activity_failed_attempt_u32_valid(attempt: int) -> None:
    assert activity_failed(attempt).attempt == attempt


@pytest.mark.parametrize(
    ("attempt", "exc"),
    [
        (-1, ValueError),
        (2**32, ValueError),
        (2**64, ValueError),
        (True, TypeError),
        (1.0, TypeError),
        ("2", TypeError),
    ],
)
def test_activity_failed_attempt_u32_invalid(attempt: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match=names("attempt", repr(attempt))):
        activity_failed(attempt)


@pytest.mark.parametrize("field", ["limit", "offset"])
@pytest.mark.parametrize(
    ("value", "exc"),
    [(-1, ValueError), (2**32, ValueError), (True, TypeError), (1.5, TypeError), ("10", TypeError)],
)
def test_list_filter_pagination_u32_invalid(
    field: str, value: object, exc: type[Exception]
) -> None:
    with pytest.raises(exc, match=names(field, repr(value))):
        ListWorkflowsFilter(**{field: value})


@pytest.mark.parametrize("field", ["limit", "offset"])
@pytest.mark.parametrize("value", [None, 0, 1, 2**32 - 1])
def test_list_filter_pagination_u32_valid(field: str, value: int | None) -> None:
    assert getattr(ListWorkflowsFilter(**{field: value}), field) == value


@pytest.mark.parametrize("value", [-(2**63), -1, 0, 2**63 - 1])
def test_int_search_value_i64_bounds_ok(value: int) -> None:
    stored = attrs_event(1, {"n": value}).attributes["n"]
    assert stored == value and type(stored) is int
    assert SearchAttributePredicate.Equals("n", value).value == value


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**63, 2**64, -(2**100)])
def test_int_search_value_beyond_i64_is_value_error(value: int) -> None:
    with pytest.raises(ValueError, match=names("n", str(value))):
        attrs_event(1, {"n": value})
    with pytest.raises(ValueError, match=str(value)):
        SearchAttributePredicate.GreaterThan("n", value)


# =========================================================================== events

SPEC_FIELDS: dict[str, list[str]] = {
    "WorkflowStarted": ["workflow_type", "input", "run_id", "parent_run_id", "package_version"],
    "WorkflowCompleted": ["result"],
    "WorkflowFailed": ["error"],
    "WorkflowCancelled": ["reason"],
    "WorkflowTimedOut": ["timeout"],
    "WorkflowContinuedAsNew": ["input", "workflow_type", "parent_run_id"],
    "SearchAttributesUpdated": ["workflow_id", "attributes"],
    "ActivityScheduled": ["activity_id", "activity_type", "input"],
    "ActivityStarted": ["activity_id"],
    "ActivityCompleted": ["activity_id", "result"],
    "ActivityFailed": ["activity_id", "error", "attempt"],
    "ActivityCancelled": ["activity_id"],
    "TimerStarted": ["timer_id", "fire_at"],
    "TimerFired": ["timer_id"],
    "TimerCancelled": ["timer_id"],
    "WithTimeoutCompleted": ["timer_id", "outcome", "result"],
    "SignalReceived": ["name", "payload"],
    "SignalSent": ["target_workflow_id", "name", "payload"],
    "ChildWorkflowStarted": ["child_workflow_id", "workflow_type", "input", "package_version"],
    "ChildWorkflowCompleted": ["child_workflow_id", "result"],
    "ChildWorkflowFailed": ["child_workflow_id", "error"],
    "ChildWorkflowCancelled": ["child_workflow_id"],
    "ScheduleCreated": ["schedule_id", "config"],
    "ScheduleUpdated": ["schedule_id", "config"],
    "SchedulePaused": ["schedule_id"],
    "ScheduleResumed": ["schedule_id"],
    "ScheduleDeleted": ["schedule_id"],
    "ScheduleTriggered": ["schedule_id", "workflow_id", "run_id"],
}


def test_there_are_28_variants_in_spec_order() -> None:
    assert len(SPEC_FIELDS) == 28
    assert [variant.__name__ for variant in VARIANTS] == list(SPEC_FIELDS)


@pytest.mark.parametrize("name", list(SPEC_FIELDS))
def test_variant_reachable_from_event_and_module(name: str) -> None:
    variant = getattr(Event, name)
    assert variant is getattr(events_module, name)
    assert isinstance(variant, type)
    assert issubclass(variant, Event)
    assert variant is not Event
    assert variant.__name__ == name


@pytest.mark.parametrize("name", list(SPEC_FIELDS))
def test_variant_fields_in_spec_order(name: str) -> None:
    variant = getattr(Event, name)
    parameters = list(inspect.signature(variant).parameters)
    assert parameters == ["envelope", *SPEC_FIELDS[name]]


def test_every_variant_has_a_strategy() -> None:
    assert set(S.EVENT_FIELD_STRATEGIES) == set(VARIANTS)
    for variant, fields in S.EVENT_FIELD_STRATEGIES.items():
        assert list(fields) == SPEC_FIELDS[variant.__name__]


def test_events_strategy_reaches_all_28_variants() -> None:
    seen: set[type] = set()

    @settings(max_examples=600, database=None, deadline=None, derandomize=True)
    @given(S.events())
    def collect(event: Event) -> None:
        seen.add(type(event))

    collect()
    missing = {variant.__name__ for variant in VARIANTS} - {cls.__name__ for cls in seen}
    assert not missing


def test_event_base_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="Event"):
        Event(env())
    with pytest.raises(TypeError):
        Event(envelope=env())


@PROPERTY
@given(S.events())
def test_every_event_is_an_event_with_envelope_accessors(event: Event) -> None:
    assert isinstance(event, Event)
    assert type(event) in VARIANTS
    assert isinstance(event.envelope, EventEnvelope)
    assert event.seq == event.envelope.seq >= 1
    assert event.recorded_at == event.envelope.recorded_at
    # Every field reads back by name (so the two variants with their own ``workflow_id``
    # expose that field), and rebuilding from the read-back values gives an equal event.
    parameters = list(inspect.signature(type(event)).parameters)
    rebuilt = type(event)(**{name: getattr(event, name) for name in parameters})
    assert rebuilt == event
    if isinstance(event, (Event.SearchAttributesUpdated, Event.ScheduleTriggered)):
        assert isinstance(event.workflow_id, WorkflowId)
    else:
        assert event.workflow_id == event.envelope.workflow_id


@PROPERTY
@given(S.workflow_ids(), S.seqs(), st.data())
def test_events_strategy_honours_workflow_id_and_seq(
    owner: WorkflowId, seq: int, data: st.DataObject
) -> None:
    event = data.draw(S.events(workflow_id=owner, seq=seq))
    assert event.envelope.workflow_id == owner
    assert event.seq == seq


def test_envelope_accessors() -> None:
    event = signal(7, at=at(3))
    assert event.seq == 7
    assert event.recorded_at == at(3)
    assert event.workflow_id == W
    assert event.envelope == env(7, at(3))


def test_search_attributes_updated_exposes_its_own_workflow_id() -> None:
    event = Event.SearchAttributesUpdated(env(workflow_id=W), workflow_id=W2, attributes={})
    assert event.workflow_id == W2
    assert event.envelope.workflow_id == W


def test_schedule_triggered_exposes_its_own_workflow_id() -> None:
    schedule = ScheduleId(U)
    event = Event.ScheduleTriggered(
        env(workflow_id=W), schedule_id=schedule, workflow_id=W2, run_id=R2
    )
    assert event.workflow_id == W2
    assert event.envelope.workflow_id == W
    assert event.schedule_id == schedule
    assert event.run_id == R2


def describe_event(event: Event) -> str:
    match event:
        case Event.TimerFired(timer_id=t):
            return f"fired {t}"
        case Event.WorkflowStarted(run_id=run, parent_run_id=None):
            return f"root {run}"
        case Event.WorkflowStarted(run_id=run, parent_run_id=parent):
            return f"run {run} after {parent}"
        case Event.SearchAttributesUpdated(workflow_id=w, attributes=a):
            return f"attrs {w} {sorted(a)}"
        case Event.ScheduleTriggered(workflow_id=w, run_id=run):
            return f"triggered {w} {run}"
        case Event(envelope=EventEnvelope(seq=seq)):
            return f"other {seq}"
    return "unmatched"


def test_match_case_on_variants() -> None:
    assert (
        describe_event(Event.TimerFired(env(), timer_id=TimerId.named("t")))
        == "fired timer:named:t"
    )
    assert describe_event(started(1, R1)) == f"root {R1}"
    assert describe_event(started(2, R2, R1)) == f"run {R2} after {R1}"
    assert describe_event(attrs_event(3, {"b": 1, "a": 2}, owner=W2)) == f"attrs {W2} ['a', 'b']"
    triggered = Event.ScheduleTriggered(env(), schedule_id=ScheduleId(U), workflow_id=W2, run_id=R3)
    assert describe_event(triggered) == f"triggered {W2} {R3}"
    assert describe_event(Event.TimerCancelled(env(9), timer_id=TimerId.named("t"))) == "other 9"


@PROPERTY
@given(S.events())
def test_isinstance_and_match_agree_for_every_event(event: Event) -> None:
    variant = type(event)
    assert isinstance(event, getattr(Event, variant.__name__))
    others = [v for v in VARIANTS if v is not variant]
    assert not any(isinstance(event, other) for other in others)
    match event:
        case Event(envelope=envelope):
            assert envelope is event.envelope
        case _:
            raise AssertionError("an event must match Event(envelope=...)")


def test_event_fields_are_type_checked_and_ids_never_cross_types() -> None:
    with pytest.raises(TypeError, match=names("run_id", "WorkflowId")):
        Event.WorkflowStarted(
            env(), workflow_type="t", input=P, run_id=W, parent_run_id=None, package_version=PV
        )
    with pytest.raises(TypeError, match="input"):
        Event.WorkflowStarted(
            env(), workflow_type="t", input=None, run_id=R1, parent_run_id=None, package_version=PV
        )
    with pytest.raises(TypeError, match="package_version"):
        Event.WorkflowStarted(
            env(), workflow_type="t", input=P, run_id=R1, parent_run_id=None, package_version="h"
        )
    with pytest.raises(TypeError, match="envelope"):
        Event.TimerFired(None, timer_id=TimerId.named("t"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timer_id"):
        Event.TimerFired(env(), timer_id="timer:named:t")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="activity_id"):
        Event.ActivityStarted(env(), activity_id=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="schedule_id"):
        Event.SchedulePaused(env(), schedule_id=W)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="outcome"):
        Event.WithTimeoutCompleted(
            env(), timer_id=TimerId.named("t"), outcome="TimedOut", result=None
        )
    with pytest.raises(TypeError, match="workflow_id"):
        EventEnvelope(seq=1, recorded_at=T0, workflow_id=RunId(U))  # type: ignore[arg-type]


def test_optional_event_fields_accept_none() -> None:
    assert started(1, R1).parent_run_id is None  # type: ignore[attr-defined]
    continued = Event.WorkflowContinuedAsNew(env(), input=P, workflow_type=None, parent_run_id=R1)
    assert continued.workflow_type is None
    done = Event.WithTimeoutCompleted(
        env(), timer_id=TimerId.anonymous(0), outcome=WithTimeoutOutcome.TIMED_OUT, result=None
    )
    assert done.result is None


@PROPERTY
@given(S.events())
def test_events_are_frozen(event: Event) -> None:
    for field in dataclasses.fields(event):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, field.name, getattr(event, field.name))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.envelope.seq = 99  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        event.extra = 1  # type: ignore[attr-defined]


@PROPERTY
@given(S.events())
def test_event_value_equality_and_hashing(event: Event) -> None:
    clone = copy.deepcopy(event)
    assert clone == event
    assert (clone != event) is False
    assert hash(clone) == hash(event)
    assert pickle.loads(pickle.dumps(event)) == event
    bumped = dataclasses.replace(
        event, envelope=dataclasses.replace(event.envelope, seq=event.seq % 1000 + 1001)
    )
    assert bumped != event
    assert event != event.envelope


def test_same_fields_different_variant_not_equal() -> None:
    fired = Event.TimerFired(env(), timer_id=TimerId.named("t"))
    cancelled = Event.TimerCancelled(env(), timer_id=TimerId.named("t"))
    assert fired != cancelled
    assert fired == Event.TimerFired(env(), timer_id=TimerId.named("t"))
    assert len({fired, cancelled, Event.TimerFired(env(), timer_id=TimerId.named("t"))}) == 2


def test_event_repr_is_readable() -> None:
    text = repr(Event.TimerFired(env(), timer_id=TimerId.named("t")))
    assert "TimerFired" in text
    assert "timer_id=" in text and "envelope=" in text
    assert str(W) in text


def test_attributes_mapping_is_read_only_and_not_a_dict() -> None:
    source: dict[str, Any] = {"a": 1, "k": ["x", "y"]}
    event = attrs_event(1, source)
    attributes = event.attributes
    assert isinstance(attributes, Mapping)
    assert not isinstance(attributes, dict)
    assert not isinstance(attributes, MutableMapping)
    with pytest.raises(TypeError):
        attributes["b"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        del attributes["a"]  # type: ignore[attr-defined]
    for name in ("update", "pop", "clear", "setdefault", "popitem"):
        assert not hasattr(attributes, name)
    assert attributes["k"] == ("x", "y")
    assert type(attributes["k"]) is tuple
    source["a"] = 2
    source["new"] = 3
    source["k"].append("z")
    assert dict(attributes) == {"a": 1, "k": ("x", "y")}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.attributes = {}  # type: ignore[misc]


def test_keyword_list_stored_as_tuple_in_order() -> None:
    event = attrs_event(1, {"k": ["b", "a", "b"], "e": [], "t": ("z",)})
    assert event.attributes["k"] == ("b", "a", "b")
    assert event.attributes["e"] == ()
    assert event.attributes["t"] == ("z",)
    assert all(type(v) is tuple for v in event.attributes.values())


def test_events_hold_no_reference_to_caller_mutables() -> None:
    data = bytearray(b"[1]")
    event = Event.SignalReceived(env(), name="s", payload=Payload(ContentType.JSON, data))
    data[1] = ord("2")
    assert event.payload.data == b"[1]"  # type: ignore[attr-defined]


# =========================================================================== search attributes


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("", SearchAttributeType.STRING),
        ("x", SearchAttributeType.STRING),
        (0, SearchAttributeType.INT),
        (-(2**63), SearchAttributeType.INT),
        (0.0, SearchAttributeType.FLOAT),
        (-0.0, SearchAttributeType.FLOAT),
        (True, SearchAttributeType.BOOL),
        (False, SearchAttributeType.BOOL),
        (T0, SearchAttributeType.DATETIME),
        (("a",), SearchAttributeType.KEYWORD_LIST),
        (["a", "b"], SearchAttributeType.KEYWORD_LIST),
        ([], SearchAttributeType.KEYWORD_LIST),
        ((), SearchAttributeType.KEYWORD_LIST),
    ],
)
def test_search_attribute_type_of(value: Any, kind: SearchAttributeType) -> None:
    assert SearchAttributeType.of(value) is kind


@PROPERTY
@given(S.search_values())
def test_search_attribute_type_of_generated_values(value: Any) -> None:
    kind = SearchAttributeType.of(value)
    expected = {
        str: SearchAttributeType.STRING,
        bool: SearchAttributeType.BOOL,
        int: SearchAttributeType.INT,
        float: SearchAttributeType.FLOAT,
        datetime: SearchAttributeType.DATETIME,
        tuple: SearchAttributeType.KEYWORD_LIST,
    }[type(value)]
    assert kind is expected


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (2**63, ValueError),
        (-(2**63) - 1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (("a", 1), TypeError),
        (datetime(2020, 1, 1), ValueError),
        (SURROGATE, ValueError),
        (None, TypeError),
        (b"x", TypeError),
        ({"a": 1}, TypeError),
    ],
    ids=repr,
)
def test_search_attribute_type_of_rejects_invalid_values(value: Any, exc: type[Exception]) -> None:
    # ``of`` classifies search attribute *values*; §4: an int beyond i64 and a non-finite
    # float are ValueErrors, a tuple holding a non-str is no value at all (TypeError).
    with pytest.raises(exc):
        SearchAttributeType.of(value)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"a": 1}, {"a": 1.0}),
        ({"a": True}, {"a": 1}),
        ({"a": False}, {"a": 0}),
        ({"a": 0}, {"a": 0.0}),
        ({"a": "1"}, {"a": 1}),
        ({"a": ("x",)}, {"a": "x"}),
        ({"a": 1}, {"b": 1}),
        ({"a": 1}, {"a": 1, "b": 1}),
    ],
)
def test_attribute_maps_with_different_types_are_different(
    left: dict[str, Any], right: dict[str, Any]
) -> None:
    a, b = attrs_event(1, left), attrs_event(1, right)
    assert a != b
    assert a.attributes != b.attributes
    assert a.attributes != right
    assert type(a.attributes[next(iter(left))]) is type(next(iter(left.values())))


def test_attribute_maps_equal_by_value() -> None:
    a = attrs_event(
        1, {"n": 1, "f": 1.5, "b": True, "k": ["x"], "d": datetime(2020, 1, 1, 1, tzinfo=PLUS_5_30)}
    )
    b = attrs_event(
        1,
        {"k": ("x",), "d": datetime(2019, 12, 31, 19, 30, tzinfo=UTC), "b": True, "f": 1.5, "n": 1},
    )
    assert a == b
    assert hash(a) == hash(b)
    assert a.attributes == {"n": 1, "f": 1.5, "b": True, "k": ("x",), "d": b.attributes["d"]}


@pytest.mark.parametrize(
    ("left", "right"),
    [(1, 1.0), (True, 1), (False, 0), (0, 0.0), (True, 1.0)],
)
def test_equals_predicates_with_int_float_bool_are_different_values(left: Any, right: Any) -> None:
    # SPEC §4: 1 and 1.0 (and True and 1) are different search attribute values, so
    # predicates (value objects) holding them must not compare or hash-collapse equal:
    # they match different attributes.
    for variant in (
        SearchAttributePredicate.Equals,
        SearchAttributePredicate.GreaterThan,
        SearchAttributePredicate.LessThan,
    ):
        a, b = variant("n", left), variant("n", right)
        assert a != b
        assert len({a, b}) == 2


def test_equals_predicate_value_equality_same_type() -> None:
    assert SearchAttributePredicate.Equals("n", 1) == SearchAttributePredicate.Equals("n", 1)
    assert SearchAttributePredicate.Equals("n", ["a"]) == SearchAttributePredicate.Equals(
        "n", ("a",)
    )
    assert SearchAttributePredicate.Equals("n", 1) != SearchAttributePredicate.Equals("m", 1)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("-nan")])
def test_non_finite_float_is_value_error(value: float) -> None:
    with pytest.raises(ValueError, match=names("'f'", "finite", repr(value))):
        attrs_event(1, {"f": value})
    with pytest.raises(ValueError, match="finite"):
        SearchAttributePredicate.Equals("f", value)
    with pytest.raises(ValueError, match="finite"):
        vis(search_attributes={"f": value})
    with pytest.raises(ValueError, match="finite"):
        ScheduleConfig(TriggerSpec.Cron("x"), "t", P, search_attributes={"f": value})


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"x",
        bytearray(b"x"),
        {"a": 1},
        {"a"},
        Opaque(),
        Decimal("1.5"),
        date(2020, 1, 1),
        1j,
        [1],
        ["a", None],
        ("a", b"b"),
        timedelta(1),
    ],
    ids=repr,
)
def test_other_search_value_types_are_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="'v'"):
        attrs_event(1, {"v": value})
    with pytest.raises(TypeError):
        SearchAttributePredicate.Equals("v", value)


@pytest.mark.parametrize("key", [1, None, b"k", ("k",)])
def test_attribute_keys_must_be_str(key: Any) -> None:
    with pytest.raises(TypeError, match="key"):
        attrs_event(1, {key: 1})


@pytest.mark.parametrize("bad", [[("a", 1)], "a", 5, None])
def test_attributes_must_be_a_mapping(bad: Any) -> None:
    with pytest.raises(TypeError, match="attributes"):
        attrs_event(1, bad)


def test_attribute_values_keep_their_python_types() -> None:
    event = attrs_event(1, {"b": True, "i": 1, "f": 1.0, "z": -0.0})
    assert type(event.attributes["b"]) is bool
    assert type(event.attributes["i"]) is int
    assert type(event.attributes["f"]) is float
    assert math.copysign(1.0, event.attributes["z"]) == -1.0


def test_schema_register_and_validate() -> None:
    schema = SearchAttributeSchema()
    assert schema.register("n", SearchAttributeType.INT) is None
    schema.register("n", SearchAttributeType.INT)  # same type again: no-op
    schema.register("k", SearchAttributeType.KEYWORD_LIST)
    schema.register("d", SearchAttributeType.DATETIME)
    assert schema.validate("n", 5) is None
    schema.validate("k", ["a"])
    schema.validate("k", ("a", "b"))
    schema.validate("d", T0)
    with pytest.raises(SearchAttributeError, match=names("'n'", "Int", "String")):
        schema.register("n", SearchAttributeType.STRING)
    schema.validate("n", 7)  # the failed registration changed nothing
    with pytest.raises(SearchAttributeError, match="'n'"):
        schema.validate("n", "7")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SearchAttributeType.INT, True),
        (SearchAttributeType.INT, 1.0),
        (SearchAttributeType.FLOAT, 1),
        (SearchAttributeType.BOOL, 1),
        (SearchAttributeType.STRING, ("a",)),
        (SearchAttributeType.KEYWORD_LIST, "a"),
        (SearchAttributeType.DATETIME, "2020-01-01T00:00:00Z"),
    ],
    ids=repr,
)
def test_schema_validate_wrong_type(kind: SearchAttributeType, value: Any) -> None:
    schema = SearchAttributeSchema()
    schema.register("x", kind)
    with pytest.raises(SearchAttributeError, match="'x'"):
        schema.validate("x", value)


def test_schema_validate_unregistered() -> None:
    schema = SearchAttributeSchema()
    schema.register("a", SearchAttributeType.STRING)
    with pytest.raises(SearchAttributeError, match=names("'b'", "not registered")):
        schema.validate("b", "x")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SearchAttributeType.INT, 2**63),
        (SearchAttributeType.INT, -(2**64)),
        (SearchAttributeType.FLOAT, math.nan),
        (SearchAttributeType.FLOAT, math.inf),
        (SearchAttributeType.KEYWORD_LIST, ("a", 1)),
        (SearchAttributeType.DATETIME, datetime(2020, 1, 1)),
        (SearchAttributeType.STRING, SURROGATE),
        (SearchAttributeType.KEYWORD_LIST, ["a", None]),
    ],
    ids=repr,
)
def test_schema_validate_rejects_values_that_are_not_search_attribute_values(
    kind: SearchAttributeType, value: Any
) -> None:
    schema = SearchAttributeSchema()
    schema.register("x", kind)
    with pytest.raises(SearchAttributeError, match="'x'"):
        schema.validate("x", value)


def test_schema_is_a_mutable_registry_not_a_record() -> None:
    schema = SearchAttributeSchema()
    other = SearchAttributeSchema()
    schema.register("a", SearchAttributeType.BOOL)
    other.register("b", SearchAttributeType.BOOL)
    with pytest.raises(SearchAttributeError):
        other.validate("a", True)
    schema.validate("a", False)


def test_search_attributes_from_events_later_overrides_key_by_key() -> None:
    history = [
        started(1, R1),
        attrs_event(2, {"a": 1, "b": "x"}),
        signal(3),
        attrs_event(4, {"b": "y", "c": 2.5}),
        attrs_event(5, {"a": True}),
        attrs_event(6, {}),
    ]
    merged = search_attributes_from_events(history)
    assert isinstance(merged, dict)
    assert strictly_equal_maps(merged, {"a": True, "b": "y", "c": 2.5})
    assert search_attributes_from_events([]) == {}
    assert search_attributes_from_events([started(1, R1), signal(2)]) == {}
    merged["a"] = 0
    assert history[4].attributes["a"] is True  # type: ignore[attr-defined]


@PROPERTY
@given(S.histories(max_size=20))
def test_search_attributes_from_events_matches_reference(history: list[Event]) -> None:
    reference: dict[str, Any] = {}
    for event in history:
        if type(event) is Event.SearchAttributesUpdated:
            for key in event.attributes:
                reference[key] = event.attributes[key]
    assert strictly_equal_maps(search_attributes_from_events(history), reference)


# =========================================================================== schedules


def test_schedule_config_defaults() -> None:
    config = ScheduleConfig(trigger=TriggerSpec.Cron("0 * * * *"), workflow_type="report", input=P)
    assert config.overlap_policy is OverlapPolicy.SKIP
    assert config.catch_up_policy is CatchUpPolicy.ONE
    assert config.search_attributes == {}
    assert isinstance(config.search_attributes, Mapping)
    assert not isinstance(config.search_attributes, MutableMapping)
    assert len(config.search_attributes) == 0
    assert config == ScheduleConfig(TriggerSpec.Cron("0 * * * *"), "report", P)
    assert config != ScheduleConfig(
        TriggerSpec.Cron("0 * * * *"), "report", P, OverlapPolicy.ALLOW_ALL
    )


def test_schedule_config_fields_and_copying() -> None:
    attributes: dict[str, Any] = {"k": ["a"]}
    config = ScheduleConfig(
        TriggerSpec.Interval(timedelta(minutes=5)),
        "report",
        P,
        overlap_policy=OverlapPolicy.BUFFER_ONE,
        catch_up_policy=CatchUpPolicy.ALL,
        search_attributes=attributes,
    )
    attributes["k"].append("b")
    attributes["x"] = 1
    assert dict(config.search_attributes) == {"k": ("a",)}
    assert config.trigger == TriggerSpec.Interval(timedelta(minutes=5))
    assert list(inspect.signature(ScheduleConfig).parameters) == [
        "trigger",
        "workflow_type",
        "input",
        "overlap_policy",
        "catch_up_policy",
        "search_attributes",
    ]


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"trigger": "0 * * * *"}, TypeError, "trigger"),
        ({"overlap_policy": "Skip"}, TypeError, "overlap_policy"),
        ({"catch_up_policy": CatchUpPolicy.ALL.value}, TypeError, "catch_up_policy"),
        ({"input": b"{}"}, TypeError, "input"),
        ({"search_attributes": {"x": None}}, TypeError, "search_attributes"),
    ],
)
def test_schedule_config_field_checks(
    kwargs: dict[str, Any], exc: type[Exception], field: str
) -> None:
    fields: dict[str, Any] = {"trigger": TriggerSpec.Cron("x"), "workflow_type": "t", "input": P}
    fields.update(kwargs)
    with pytest.raises(exc, match=field):
        ScheduleConfig(**fields)


def test_trigger_spec_variants() -> None:
    cron = TriggerSpec.Cron(expression=" not validated ")
    interval = TriggerSpec.Interval(period=timedelta(microseconds=1))
    assert isinstance(cron, TriggerSpec) and isinstance(interval, TriggerSpec)
    assert cron.expression == " not validated "
    assert interval.period == timedelta(microseconds=1)
    assert TriggerSpec.Interval(timedelta.max).period == timedelta.max
    assert cron != TriggerSpec.Cron("other")
    with pytest.raises(TypeError):
        TriggerSpec()


@pytest.mark.parametrize(
    "period", [timedelta(0), timedelta(microseconds=-1), timedelta(days=-1), timedelta.min]
)
def test_interval_must_be_positive(period: timedelta) -> None:
    with pytest.raises(ValueError, match=names("period", repr(period))):
        TriggerSpec.Interval(period)


@pytest.mark.parametrize("period", [5, 5.0, "PT5S", None])
def test_interval_period_must_be_timedelta(period: Any) -> None:
    with pytest.raises(TypeError, match="period"):
        TriggerSpec.Interval(period)


# =========================================================================== status


def test_status_is_terminal() -> None:
    assert WorkflowStatus.RUNNING.is_terminal is False
    for status in WorkflowStatus:
        assert status.is_terminal is (status is not WorkflowStatus.RUNNING)


def test_status_from_events_basics() -> None:
    assert status_from_events([]) is WorkflowStatus.RUNNING
    assert status_from_events([signal(1), signal(2)]) is WorkflowStatus.RUNNING
    assert status_from_events([started(1, R1)]) is WorkflowStatus.RUNNING
    for variant, status in TERMINAL_STATUS.items():
        assert status_from_events([started(1, R1), terminal(variant, 2)]) is status
        assert status_from_events([started(1, R1), terminal(variant, 2), signal(3)]) is status
        assert status_from_events([terminal(variant, 1)]) is status  # no start needed


def test_status_later_start_supersedes_terminal() -> None:
    history = [started(1, R1), terminal(Event.WorkflowContinuedAsNew, 2), started(3, R2, R1)]
    assert status_from_events(history) is WorkflowStatus.RUNNING
    history.append(terminal(Event.WorkflowFailed, 4))
    assert status_from_events(history) is WorkflowStatus.FAILED


def test_status_last_terminal_wins() -> None:
    history = [
        started(1, R1),
        terminal(Event.WorkflowCompleted, 2),
        terminal(Event.WorkflowCancelled, 3),
        signal(4),
    ]
    assert status_from_events(history) is WorkflowStatus.CANCELLED


def reference_status(history: list[Event]) -> WorkflowStatus:
    status = WorkflowStatus.RUNNING
    for event in history:
        if type(event) is Event.WorkflowStarted:
            status = WorkflowStatus.RUNNING
        elif type(event) in TERMINAL_STATUS:
            status = TERMINAL_STATUS[type(event)]
    return status


@PROPERTY
@given(S.histories())
def test_status_from_events_matches_reference(history: list[Event]) -> None:
    assert status_from_events(history) is reference_status(history)
    assert status_from_events(tuple(history)) is reference_status(history)


@PROPERTY
@given(S.histories(min_size=1))
def test_histories_strategy_is_one_contiguous_workflow(history: list[Event]) -> None:
    owner = history[0].envelope.workflow_id
    assert [event.seq for event in history] == list(range(1, len(history) + 1))
    assert all(event.envelope.workflow_id == owner for event in history)


def test_workflow_summary_defaults() -> None:
    made = WorkflowSummary(W, "order", WorkflowStatus.RUNNING, T0)
    assert made.ended_at is None and made.parent is None
    assert list(inspect.signature(WorkflowSummary).parameters) == [
        "workflow_id",
        "workflow_type",
        "status",
        "started_at",
        "ended_at",
        "parent",
    ]
    with pytest.raises(TypeError, match="status"):
        summary(status="Running")
    with pytest.raises(TypeError, match="parent"):
        summary(parent=R1)


def test_from_history_none_without_start() -> None:
    assert WorkflowSummary.from_history([]) is None
    assert WorkflowSummary.from_history([signal(1), terminal(Event.WorkflowCompleted, 2)]) is None


def test_from_history_running_and_completed() -> None:
    history = [started(1, R1, at=at(0), workflow_type="order"), signal(2, at=at(1))]
    assert WorkflowSummary.from_history(history) == WorkflowSummary(
        workflow_id=W, workflow_type="order", status=WorkflowStatus.RUNNING, started_at=at(0)
    )
    history.append(terminal(Event.WorkflowCompleted, 3, at=at(2)))
    history.append(signal(4, at=at(3)))
    made = WorkflowSummary.from_history(history)
    assert made is not None
    assert made.status is WorkflowStatus.COMPLETED
    assert made.ended_at == at(2)
    assert made.parent is None


def test_from_history_uses_latest_start() -> None:
    history = [
        started(1, R1, at=at(0), workflow_type="v1"),
        terminal(Event.WorkflowContinuedAsNew, 2, at=at(1)),
        started(3, R2, R1, at=at(2), workflow_type="v2"),
    ]
    made = WorkflowSummary.from_history(history)
    assert made == WorkflowSummary(W, "v2", WorkflowStatus.RUNNING, at(2), None, None)
    history.append(terminal(Event.WorkflowTimedOut, 4, at=at(5)))
    history.append(terminal(Event.WorkflowFailed, 5, at=at(6)))
    made = WorkflowSummary.from_history(history)
    assert made is not None
    assert (made.workflow_type, made.status, made.started_at, made.ended_at) == (
        "v2",
        WorkflowStatus.FAILED,
        at(2),
        at(6),
    )


def reference_summary(history: list[Event]) -> WorkflowSummary | None:
    starts = [i for i, event in enumerate(history) if type(event) is Event.WorkflowStarted]
    if not starts:
        return None
    start = history[starts[-1]]
    ends = [e for e in history[starts[-1] + 1 :] if type(e) in TERMINAL_STATUS]
    return WorkflowSummary(
        workflow_id=start.envelope.workflow_id,
        workflow_type=start.workflow_type,  # type: ignore[attr-defined]
        status=reference_status(history),
        started_at=start.envelope.recorded_at,
        ended_at=ends[-1].envelope.recorded_at if ends else None,
        parent=None,
    )


@PROPERTY
@given(S.histories())
def test_from_history_matches_reference(history: list[Event]) -> None:
    assert WorkflowSummary.from_history(history) == reference_summary(history)


# ---- WorkflowFilter


def test_workflow_filter_default_matches_everything() -> None:
    default = WorkflowFilter()
    assert (default.workflow_type, default.status, default.started_after) == (None, None, None)
    assert (default.started_before, default.parent) == (None, None)
    assert default.matches(summary())
    assert default.matches(summary(parent=W2, status=WorkflowStatus.FAILED, ended_at=at(1)))


def test_workflow_filter_each_field() -> None:
    s = summary(
        workflow_type="order", status=WorkflowStatus.COMPLETED, started_at=at(10), parent=W2
    )
    assert WorkflowFilter(workflow_type="order").matches(s)
    assert not WorkflowFilter(workflow_type="Order").matches(s)
    assert not WorkflowFilter(workflow_type="").matches(s)
    assert WorkflowFilter(status=WorkflowStatus.COMPLETED).matches(s)
    assert not WorkflowFilter(status=WorkflowStatus.RUNNING).matches(s)
    assert WorkflowFilter(started_after=at(10)).matches(s)  # inclusive
    assert WorkflowFilter(started_after=at(9.999999)).matches(s)
    assert not WorkflowFilter(started_after=at(10.000001)).matches(s)
    assert WorkflowFilter(started_before=at(10)).matches(s)  # inclusive
    assert not WorkflowFilter(started_before=at(9.999999)).matches(s)
    assert WorkflowFilter(started_after=at(10), started_before=at(10)).matches(s)
    assert not WorkflowFilter(started_after=at(11), started_before=at(9)).matches(s)
    assert WorkflowFilter(parent=W2).matches(s)
    assert not WorkflowFilter(parent=W).matches(s)
    assert not WorkflowFilter(parent=W2).matches(summary(parent=None))
    assert not WorkflowFilter(workflow_type="order", status=WorkflowStatus.FAILED).matches(s)
    local = datetime(2024, 1, 2, 8, 34, 15, 678901, tzinfo=PLUS_5_30)  # == at(10)
    assert WorkflowFilter(started_after=local, started_before=local).matches(s)


def reference_filter_match(f: WorkflowFilter, s: WorkflowSummary) -> bool:
    checks = [
        f.workflow_type is None or f.workflow_type == s.workflow_type,
        f.status is None or f.status == s.status,
        f.started_after is None or s.started_at >= f.started_after,
        f.started_before is None or s.started_at <= f.started_before,
        f.parent is None or f.parent == s.parent,
    ]
    return all(checks)


@st.composite
def summary_and_filter(draw: st.DrawFn) -> tuple[WorkflowSummary, WorkflowFilter]:
    s = draw(S.workflow_summaries())
    near = st.sampled_from([timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1)])

    def pick(own: Any, other: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(st.none(), st.just(own), other))

    def bound() -> datetime | None:
        try:
            return pick(s.started_at + draw(near), S.timestamps())
        except OverflowError:
            return None

    f = WorkflowFilter(
        workflow_type=pick(s.workflow_type, S.text()),
        status=pick(s.status, S.statuses()),
        started_after=bound(),
        started_before=bound(),
        parent=pick(s.parent, S.workflow_ids()),
    )
    return s, f


@PROPERTY
@given(summary_and_filter())
def test_workflow_filter_matches_reference(pair: tuple[WorkflowSummary, WorkflowFilter]) -> None:
    s, f = pair
    assert f.matches(s) is reference_filter_match(f, s)


@PROPERTY
@given(S.workflow_summaries())
def test_default_workflow_filter_matches_any_summary(s: WorkflowSummary) -> None:
    assert WorkflowFilter().matches(s)


# =========================================================================== run chains


def test_run_chain_empty_and_without_start() -> None:
    assert run_chain_from_history([]) == []
    assert run_chain_from_history([signal(1), terminal(Event.WorkflowCompleted, 2)]) == []


def test_run_chain_single_run() -> None:
    assert run_chain_from_history([started(1, R1, at=at(0)), signal(2)]) == [
        RunSummary(
            run_id=R1,
            parent_run_id=None,
            status=WorkflowStatus.RUNNING,
            started_at=at(0),
            closed_at=None,
        )
    ]
    done = run_chain_from_history(
        [
            started(1, R1, at=at(0)),
            signal(2, at=at(1)),
            terminal(Event.WorkflowCompleted, 3, at=at(2)),
        ]
    )
    assert done == [RunSummary(R1, None, WorkflowStatus.COMPLETED, at(0), at(2))]


def test_run_chain_one_continuation() -> None:
    history = [
        started(1, R1, at=at(0)),
        terminal(Event.WorkflowContinuedAsNew, 2, at=at(1), parent=R1),
        started(3, R2, R1, at=at(2)),
        signal(4, at=at(3)),
        terminal(Event.WorkflowCompleted, 5, at=at(4)),
    ]
    assert run_chain_from_history(history) == [
        RunSummary(R1, None, WorkflowStatus.CONTINUED_AS_NEW, at(0), at(1)),
        RunSummary(R2, R1, WorkflowStatus.COMPLETED, at(2), at(4)),
    ]


def several_runs() -> list[Event]:
    return [
        signal(1, at=at(-1)),  # before the first start: belongs to no run
        terminal(Event.WorkflowFailed, 2, at=at(-0.5)),  # likewise ignored
        started(3, R1, at=at(0)),
        terminal(Event.WorkflowContinuedAsNew, 4, at=at(1)),
        started(5, R2, R1, at=at(2)),
        terminal(Event.WorkflowTimedOut, 6, at=at(3)),
        terminal(Event.WorkflowContinuedAsNew, 7, at=at(4)),  # the slice's last terminal
        started(8, R3, R2, at=at(5)),
        terminal(Event.WorkflowCancelled, 9, at=at(6)),
        signal(10, at=at(7)),
        started(11, R4, R3, at=at(8)),
    ]


SEVERAL_EXPECTED = [
    RunSummary(R1, None, WorkflowStatus.CONTINUED_AS_NEW, at(0), at(1)),
    RunSummary(R2, R1, WorkflowStatus.CONTINUED_AS_NEW, at(2), at(4)),
    RunSummary(R3, R2, WorkflowStatus.CANCELLED, at(5), at(6)),
    RunSummary(R4, R3, WorkflowStatus.RUNNING, at(8), None),
]


def test_run_chain_several_runs() -> None:
    assert run_chain_from_history(several_runs()) == SEVERAL_EXPECTED


def test_run_chain_sorts_unsorted_input_by_seq() -> None:
    shuffled = several_runs()
    shuffled.reverse()
    shuffled[0], shuffled[5] = shuffled[5], shuffled[0]
    assert run_chain_from_history(shuffled) == SEVERAL_EXPECTED
    assert run_chain_from_history(tuple(shuffled)) == SEVERAL_EXPECTED
    assert run_chain_from_history(iter(shuffled)) == SEVERAL_EXPECTED


def test_run_chain_orders_by_parent_links_not_history_order() -> None:
    # Runs appear in history as R2 (root), then R1 continuing R3, then R3 continuing R2.
    history = [started(1, R2, at=at(0)), started(2, R1, R3, at=at(1)), started(3, R3, R2, at=at(2))]
    chain = run_chain_from_history(history)
    assert [run.run_id for run in chain] == [R2, R3, R1]
    assert [run.parent_run_id for run in chain] == [None, R2, R3]


@pytest.mark.parametrize(
    ("label", "history"),
    [
        ("zero roots", [started(1, R1, R4), started(2, R2, R1)]),
        ("zero roots, single run", [started(1, R1, R2)]),
        ("two roots", [started(1, R1), started(2, R2)]),
        ("two runs share a parent", [started(1, R1), started(2, R2, R1), started(3, R3, R1)]),
        ("cycle off the root", [started(1, R1), started(2, R2, R3), started(3, R3, R2)]),
        ("self cycle", [started(1, R1), started(2, R2, R2)]),
        ("cycle through a repeated run id", [started(1, R1), started(2, R1, R1)]),
        ("unreachable run", [started(1, R1), started(2, R2, R1), started(3, R3, R4)]),
    ],
)
def test_run_chain_backend_errors(label: str, history: list[Event]) -> None:
    with pytest.raises(BackendError, match=r"^store backend error: ") as caught:
        run_chain_from_history(history)
    assert isinstance(caught.value, StoreError)


def test_run_summary_fields_and_checks() -> None:
    run = RunSummary(
        run_id=R1, parent_run_id=R2, status=WorkflowStatus.FAILED, started_at=T0, closed_at=at(1)
    )
    assert (run.run_id, run.parent_run_id, run.status, run.started_at, run.closed_at) == (
        R1,
        R2,
        WorkflowStatus.FAILED,
        T0,
        at(1),
    )
    assert list(inspect.signature(RunSummary).parameters) == [
        "run_id",
        "parent_run_id",
        "status",
        "started_at",
        "closed_at",
    ]
    with pytest.raises(TypeError, match="run_id"):
        RunSummary(W, None, WorkflowStatus.RUNNING, T0, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="status"):
        RunSummary(R1, None, "Running", T0, None)  # type: ignore[arg-type]


def test_run_summary_closed_at_defaults_to_none() -> None:
    # SPEC §1: optional fields default to None. ``parent_run_id`` keeps its place in the
    # positional order of SPEC §6 (run_id, parent_run_id, ...), so it stays required.
    run = RunSummary(R1, None, WorkflowStatus.RUNNING, T0)
    assert run.closed_at is None
    with pytest.raises(TypeError, match="parent_run_id"):
        RunSummary(run_id=R1, status=WorkflowStatus.RUNNING, started_at=T0)  # type: ignore[call-arg]


def reference_chain(history: list[Event]) -> list[RunSummary]:
    ordered = sorted(history, key=lambda e: e.seq)
    runs: list[RunSummary] = []
    starts = [i for i, e in enumerate(ordered) if type(e) is Event.WorkflowStarted]
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(ordered)
        piece = ordered[i:end]
        start = piece[0]
        ends = [e for e in piece if type(e) in TERMINAL_STATUS]
        runs.append(
            RunSummary(
                run_id=start.run_id,  # type: ignore[attr-defined]
                parent_run_id=start.parent_run_id,  # type: ignore[attr-defined]
                status=TERMINAL_STATUS[type(ends[-1])] if ends else WorkflowStatus.RUNNING,
                started_at=start.recorded_at,
                closed_at=ends[-1].recorded_at if ends else None,
            )
        )
    return runs  # histories() chains each run to the previous one


@PROPERTY_FEW
@given(S.histories(), st.randoms(use_true_random=False))
def test_run_chain_matches_reference(history: list[Event], rnd: Any) -> None:
    expected = reference_chain(history)
    assert run_chain_from_history(history) == expected
    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert run_chain_from_history(shuffled) == expected
    assert len(expected) == sum(type(e) is Event.WorkflowStarted for e in history)


# =========================================================================== errors


def test_sequence_conflict() -> None:
    error = SequenceConflict(expected=3, found=5)
    assert (error.expected, error.found) == (3, 5)
    assert (
        str(error)
        == "sequence conflict (double-writer bug indicator): expected workflow head 3, found 5"
    )
    assert str(SequenceConflict(0, 0)).endswith("expected workflow head 0, found 0")


def test_not_found() -> None:
    error = NotFound(W)
    assert error.workflow_id == W
    assert str(error) == "workflow 0123abcd-4567-89ef-0123-456789abcdef was not found"
    assert NotFound(workflow_id=W2).workflow_id == W2


def test_backend_and_serialization_error_messages() -> None:
    assert str(BackendError("disk full")) == "store backend error: disk full"
    assert str(
        SerializationError('event.data.envelope.seq: expected unsigned integer, got "x"')
    ) == ('store serialization error: event.data.envelope.seq: expected unsigned integer, got "x"')


def test_store_error_taxonomy() -> None:
    assert issubclass(StoreError, Exception)
    for name, cls in [
        ("SequenceConflict", SequenceConflict),
        ("NotFound", NotFound),
        ("BackendError", BackendError),
        ("SerializationError", SerializationError),
    ]:
        assert getattr(StoreError, name) is cls
        assert issubclass(cls, StoreError)
        assert cls is not StoreError
    assert not issubclass(SequenceConflict, (BackendError, SerializationError, NotFound))
    assert not issubclass(BackendError, SerializationError)
    with pytest.raises(StoreError):
        raise StoreError.SequenceConflict(1, 2)
    with pytest.raises(StoreError.BackendError, match=r"^store backend error: x$"):
        raise BackendError("x")


@pytest.mark.parametrize(
    "error",
    [SequenceConflict(1, 2), NotFound(W), BackendError("b"), SerializationError("s")],
    ids=lambda e: type(e).__name__,
)
def test_store_errors_pickle(error: StoreError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    for name in ("expected", "found", "workflow_id"):
        if hasattr(error, name):
            assert getattr(clone, name) == getattr(error, name)


# =========================================================================== visibility

VIS_FIELDS = [
    "workflow_id",
    "run_id",
    "workflow_type",
    "status",
    "start_time",
    "close_time",
    "search_attributes",
]


@pytest.mark.parametrize("cls", [VisibilityRecord, VisibilityWorkflowSummary])
def test_visibility_record_fields_and_defaults(cls: type) -> None:
    assert list(inspect.signature(cls).parameters) == VIS_FIELDS
    made = cls(
        workflow_id=W,
        run_id=R1,
        workflow_type="order",
        status=WorkflowStatus.RUNNING,
        start_time=T0,
    )
    assert made.close_time is None
    assert made.search_attributes == {}
    assert isinstance(made.search_attributes, Mapping)
    assert not isinstance(made.search_attributes, MutableMapping)
    source: dict[str, Any] = {"k": ["a"]}
    full = cls(W, R1, "order", WorkflowStatus.COMPLETED, T0, at(1), source)
    source["k"].append("b")
    assert dict(full.search_attributes) == {"k": ("a",)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.status = WorkflowStatus.RUNNING
    with pytest.raises(TypeError, match="run_id"):
        cls(W, W, "order", WorkflowStatus.RUNNING, T0)


def test_list_workflows_filter_defaults() -> None:
    f = ListWorkflowsFilter()
    assert list(inspect.signature(ListWorkflowsFilter).parameters) == [
        "workflow_type",
        "status",
        "started_after",
        "started_before",
        "closed_after",
        "closed_before",
        "search_attributes",
        "limit",
        "offset",
    ]
    assert f.search_attributes == ()
    assert (f.limit, f.offset, f.workflow_type, f.status) == (None, None, None, None)
    listed = ListWorkflowsFilter(search_attributes=[SearchAttributePredicate.Contains("k", "a")])
    assert type(listed.search_attributes) is tuple
    with pytest.raises(TypeError, match="search_attributes"):
        ListWorkflowsFilter(search_attributes=[("k", "a")])
    with pytest.raises(TypeError, match="search_attributes"):
        ListWorkflowsFilter(search_attributes=SearchAttributePredicate.Contains("k", "a"))


def test_predicate_variants() -> None:
    for name in ("Equals", "GreaterThan", "LessThan", "Contains"):
        variant = getattr(SearchAttributePredicate, name)
        assert issubclass(variant, SearchAttributePredicate)
        assert variant.__name__ == name
    with pytest.raises(TypeError):
        SearchAttributePredicate()
    contains = SearchAttributePredicate.Contains(name="tags", keyword="a")
    assert (contains.name, contains.keyword) == ("tags", "a")
    greater = SearchAttributePredicate.GreaterThan(name="n", value=3)
    assert (greater.name, greater.value) == ("n", 3)
    with pytest.raises(TypeError, match="keyword"):
        SearchAttributePredicate.Contains("tags", ["a"])


STORED = {
    "i": 5,
    "one": 1,
    "f": 2.5,
    "zero": 0.0,
    "b": True,
    "s": "abc",
    "d": T0,
    "k": ("x", "y"),
    "e": (),
}
EQ, GT, LT, CT = (
    SearchAttributePredicate.Equals,
    SearchAttributePredicate.GreaterThan,
    SearchAttributePredicate.LessThan,
    SearchAttributePredicate.Contains,
)
PREDICATE_CASES = [
    (EQ("i", 5), True),
    (EQ("i", 5.0), False),
    (EQ("i", 6), False),
    (EQ("one", True), False),
    (EQ("b", True), True),
    (EQ("b", 1), False),
    (EQ("f", 2.5), True),
    (EQ("zero", -0.0), True),
    (EQ("zero", 0), False),
    (EQ("s", "abc"), True),
    (EQ("s", ("abc",)), False),
    (EQ("k", ("x", "y")), True),
    (EQ("k", ["x", "y"]), True),
    (EQ("k", ("y", "x")), False),
    (EQ("k", "x"), False),
    (EQ("d", T0), True),
    (EQ("d", T0.astimezone(MINUS_8)), True),
    (EQ("d", at(1)), False),
    (EQ("missing", 5), False),
    (GT("i", 4), True),
    (GT("i", 5), False),
    (GT("i", 6), False),
    (GT("i", 4.0), False),
    (GT("f", 2), False),
    (GT("f", 2.0), True),
    (GT("f", 2.5), False),
    (GT("d", at(-1)), True),
    (GT("d", T0), False),
    (GT("s", "a"), False),
    (GT("b", False), False),
    (GT("one", False), False),
    (GT("k", ()), False),
    (GT("missing", -(2**63)), False),
    (LT("i", 6), True),
    (LT("i", 5), False),
    (LT("i", 6.0), False),
    (LT("f", 3.0), True),
    (LT("f", 3), False),
    (LT("d", at(1)), True),
    (LT("d", T0), False),
    (LT("s", "b"), False),
    (LT("b", 2), False),
    (LT("missing", 2**63 - 1), False),
    (CT("k", "x"), True),
    (CT("k", "y"), True),
    (CT("k", "z"), False),
    (CT("k", "x y"), False),
    (CT("s", "a"), False),
    (CT("s", "abc"), False),
    (CT("e", ""), False),
    (CT("missing", "x"), False),
]


@pytest.mark.parametrize(("predicate", "expected"), PREDICATE_CASES, ids=repr)
def test_predicate_semantics(predicate: SearchAttributePredicate, expected: bool) -> None:
    row = vis(search_attributes=STORED)
    assert ListWorkflowsFilter(search_attributes=[predicate]).matches(row) is expected
    assert ListWorkflowsFilter(search_attributes=[predicate]).matches(vis()) is False


def test_all_predicates_must_match() -> None:
    row = vis(search_attributes=STORED)
    assert ListWorkflowsFilter(search_attributes=[EQ("i", 5), CT("k", "x"), LT("f", 3.0)]).matches(
        row
    )
    assert not ListWorkflowsFilter(search_attributes=[EQ("i", 5), CT("k", "z")]).matches(row)
    assert not ListWorkflowsFilter(search_attributes=[CT("k", "z"), EQ("i", 5)]).matches(row)


def test_list_filter_each_field() -> None:
    closed = vis(
        workflow_type="order", status=WorkflowStatus.COMPLETED, start_time=at(10), close_time=at(20)
    )
    running = vis(workflow_type="order", status=WorkflowStatus.RUNNING, start_time=at(10))
    assert ListWorkflowsFilter().matches(closed) and ListWorkflowsFilter().matches(running)
    assert ListWorkflowsFilter(workflow_type="order").matches(closed)
    assert not ListWorkflowsFilter(workflow_type="other").matches(closed)
    assert ListWorkflowsFilter(status=WorkflowStatus.COMPLETED).matches(closed)
    assert not ListWorkflowsFilter(status=WorkflowStatus.COMPLETED).matches(running)
    assert ListWorkflowsFilter(started_after=at(10), started_before=at(10)).matches(closed)
    assert not ListWorkflowsFilter(started_after=at(10.000001)).matches(closed)
    assert not ListWorkflowsFilter(started_before=at(9.999999)).matches(closed)
    assert ListWorkflowsFilter(closed_after=at(20), closed_before=at(20)).matches(closed)
    assert not ListWorkflowsFilter(closed_after=at(20.000001)).matches(closed)
    assert not ListWorkflowsFilter(closed_before=at(19.999999)).matches(closed)
    # A closed_* bound never matches a run without close_time, however wide it is.
    widest_low = datetime(1, 1, 1, tzinfo=UTC)
    widest_high = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert not ListWorkflowsFilter(closed_after=widest_low).matches(running)
    assert not ListWorkflowsFilter(closed_before=widest_high).matches(running)
    assert ListWorkflowsFilter(started_after=widest_low, started_before=widest_high).matches(
        running
    )


def test_list_filter_matches_ignores_pagination() -> None:
    row = vis()
    assert ListWorkflowsFilter(limit=0).matches(row)
    assert ListWorkflowsFilter(offset=2**32 - 1).matches(row)
    assert ListWorkflowsFilter(limit=0, offset=5, workflow_type="order").matches(row)


def reference_predicate(p: SearchAttributePredicate, attributes: Mapping[str, Any]) -> bool:
    if p.name not in attributes:  # type: ignore[attr-defined]
        return False
    stored = attributes[p.name]  # type: ignore[attr-defined]
    if isinstance(p, SearchAttributePredicate.Contains):
        return isinstance(stored, tuple) and p.keyword in stored
    value = p.value  # type: ignore[attr-defined]
    same = type(stored) is type(value)
    if isinstance(p, SearchAttributePredicate.Equals):
        return same and stored == value
    ordered = same and type(value) in (int, float, datetime)
    if isinstance(p, SearchAttributePredicate.GreaterThan):
        return ordered and stored > value
    return ordered and stored < value


def reference_list_match(f: ListWorkflowsFilter, s: VisibilityWorkflowSummary) -> bool:
    close = s.close_time
    return (
        (f.workflow_type is None or f.workflow_type == s.workflow_type)
        and (f.status is None or f.status == s.status)
        and (f.started_after is None or s.start_time >= f.started_after)
        and (f.started_before is None or s.start_time <= f.started_before)
        and (f.closed_after is None or (close is not None and close >= f.closed_after))
        and (f.closed_before is None or (close is not None and close <= f.closed_before))
        and all(reference_predicate(p, s.search_attributes) for p in f.search_attributes)
    )


@st.composite
def visibility_and_filter(draw: st.DrawFn) -> tuple[VisibilityWorkflowSummary, ListWorkflowsFilter]:
    row = draw(S.visibility_summaries())

    def pick(own: Any, other: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(st.none(), st.just(own), other))

    own_predicates = [
        st.builds(kind, st.just(name), S.search_values() | st.just(value))
        for name, value in row.search_attributes.items()
        for kind in (EQ, GT, LT)
    ] + [
        st.builds(CT, st.just(name), st.sampled_from(value) | S.text())
        for name, value in row.search_attributes.items()
        if isinstance(value, tuple) and value
    ]
    predicate = st.one_of([S.predicates(), *own_predicates])
    f = ListWorkflowsFilter(
        workflow_type=pick(row.workflow_type, S.text()),
        status=pick(row.status, S.statuses()),
        started_after=pick(row.start_time, S.timestamps()),
        started_before=pick(row.start_time, S.timestamps()),
        closed_after=pick(row.close_time or row.start_time, S.timestamps()),
        closed_before=pick(row.close_time or row.start_time, S.timestamps()),
        search_attributes=draw(st.lists(predicate, max_size=3)),
        limit=draw(st.none() | S.u32s()),
        offset=draw(st.none() | S.u32s()),
    )
    return row, f


@PROPERTY
@given(visibility_and_filter())
def test_list_filter_matches_reference(
    pair: tuple[VisibilityWorkflowSummary, ListWorkflowsFilter],
) -> None:
    row, f = pair
    assert f.matches(row) is reference_list_match(f, row)
    record = VisibilityRecord(*(getattr(row, name) for name in VIS_FIELDS))
    assert f.matches(record) is reference_list_match(f, row)


@PROPERTY
@given(S.visibility_summaries())
def test_default_list_filter_matches_any_row(row: VisibilityWorkflowSummary) -> None:
    assert ListWorkflowsFilter().matches(row)


# =========================================================================== packages


def test_package_records() -> None:
    archive = bytearray(b"PK\x03\x04")
    record = PackageRecord(
        workflow_type="order", content_hash="abc", archive=archive, deployed_at=T0
    )
    archive[0] = 0
    assert record.archive == b"PK\x03\x04" and type(record.archive) is bytes
    assert (record.workflow_type, record.content_hash, record.deployed_at) == ("order", "abc", T0)
    assert list(inspect.signature(PackageRecord).parameters) == [
        "workflow_type",
        "content_hash",
        "archive",
        "deployed_at",
    ]
    route = PackageRouteRecord(workflow_type="order", content_hash="abc")
    assert (route.workflow_type, route.content_hash) == ("order", "abc")
    assert route == PackageRouteRecord("order", "abc")
    assert route != PackageRouteRecord("order", "abd")
    assert record == PackageRecord("order", "abc", b"PK\x03\x04", T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.content_hash = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"archive": "PK"}, TypeError, "archive"),
        ({"archive": None}, TypeError, "archive"),
        ({"content_hash": PackageVersion("abc")}, TypeError, "content_hash"),
        ({"workflow_type": None}, TypeError, "workflow_type"),
        ({"deployed_at": "2024-01-01T00:00:00Z"}, TypeError, "deployed_at"),
        ({"deployed_at": datetime(2024, 1, 1)}, ValueError, "deployed_at"),
    ],
)
def test_package_record_field_checks(
    kwargs: dict[str, Any], exc: type[Exception], field: str
) -> None:
    fields: dict[str, Any] = {
        "workflow_type": "t",
        "content_hash": "h",
        "archive": b"",
        "deployed_at": T0,
    }
    fields.update(kwargs)
    with pytest.raises(exc, match=field):
        PackageRecord(**fields)


# =========================================================================== records in general


@PROPERTY
@given(S.any_wire_value())
def test_every_wire_value_is_valid_immutable_and_equal_to_its_copy(pair: tuple[Any, Any]) -> None:
    cls, value = pair
    if isinstance(cls, type):
        assert isinstance(value, cls)
    else:
        SearchAttributeType.of(value)  # a bare search attribute value
    assert copy.deepcopy(value) == value
    assert hash(copy.deepcopy(value)) == hash(value)
    if dataclasses.is_dataclass(value):
        assert type(value).__name__ in repr(value)
        first = dataclasses.fields(value)[0].name if dataclasses.fields(value) else None
        if first is not None:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(value, first, getattr(value, first))


def test_wire_types_cover_the_spec_list() -> None:
    names_ = {getattr(cls, "__name__", "SearchAttributeValue") for cls in S.WIRE_TYPES}
    for required in [
        "Event",
        "EventEnvelope",
        "WorkflowId",
        "RunId",
        "ScheduleId",
        "ActivityId",
        "TimerId",
        "PackageVersion",
        "Payload",
        "ContentType",
        "WorkflowError",
        "ActivityError",
        "ActivityErrorKind",
        "WithTimeoutOutcome",
        "SearchAttributeType",
        "TriggerSpec",
        "OverlapPolicy",
        "CatchUpPolicy",
        "ScheduleConfig",
        "WorkflowStatus",
        "TimerEntry",
        "WorkflowSummary",
        "VisibilityRecord",
        "VisibilityWorkflowSummary",
        "WorkflowFilter",
        "ListWorkflowsFilter",
        "SearchAttributePredicate",
        "RunSummary",
    ]:
        assert required in names_


def test_records_use_keyword_construction_and_value_equality() -> None:
    a = TimerEntry(workflow_id=W, timer_id=TimerId.named("t"), fire_at=T0)
    b = TimerEntry(W, TimerId.named("t"), T0.astimezone(MINUS_8))
    assert a == b and hash(a) == hash(b)
    assert a != TimerEntry(W, TimerId.named("u"), T0)
    assert "TimerEntry" in repr(a) and "fire_at=" in repr(a)
    with pytest.raises(TypeError):
        TimerEntry(W, TimerId.named("t"))  # type: ignore[call-arg]


# =========================================================================== timers


def test_timer_entry_checks() -> None:
    with pytest.raises(ValueError, match="fire_at"):
        TimerEntry(W, TimerId.anonymous(1), datetime(2024, 1, 1))
    with pytest.raises(TypeError, match="workflow_id"):
        TimerEntry(RunId(U), TimerId.anonymous(1), T0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timer_id"):
        TimerEntry(W, ActivityId.from_sequence_position(1), T0)  # type: ignore[arg-type]


def entry(workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime) -> TimerEntry:
    return TimerEntry(workflow_id=workflow_id, timer_id=timer_id, fire_at=fire_at)


WA = WorkflowId("00000000-0000-0000-0000-00000000000a")
WB = WorkflowId("00000000-0000-0000-0000-00000000000b")
WC = WorkflowId("f0000000-0000-0000-0000-000000000000")


def _compiled_timers_built() -> bool:
    try:
        _select.timer_index_class("compiled")
    except ImportError:
        return False
    return True


@pytest.fixture(
    params=[
        "pure",
        pytest.param(
            "compiled",
            marks=pytest.mark.skipif(
                not _compiled_timers_built(), reason="the compiled modules are not built"
            ),
        ),
    ]
)
def TimerIndex(request: pytest.FixtureRequest) -> Any:
    """Both twins of the durable-timer index: every test below runs on each."""
    return _select.timer_index_class(request.param)


def test_timer_index_due_order(TimerIndex: Any) -> None:
    index = TimerIndex()
    timers = [
        (WC, TimerId.named("a"), at(1)),
        (WB, TimerId.named("b"), at(1)),
        (WB, TimerId.anonymous(9), at(1)),
        (WB, TimerId.anonymous(10), at(1)),
        (WA, TimerId.named("z"), at(1)),
        (WA, TimerId.named("a"), at(0)),
        (WC, TimerId.named("late"), at(2)),
    ]
    for workflow_id, timer_id, fire_at in timers:
        index.schedule(workflow_id, timer_id, fire_at)
    assert len(index) == 7
    assert index.due(at(1)) == [
        entry(WA, TimerId.named("a"), at(0)),
        entry(WA, TimerId.named("z"), at(1)),
        entry(WB, TimerId.anonymous(10), at(1)),  # "timer:anonymous:10" < "...:9" as text
        entry(WB, TimerId.anonymous(9), at(1)),
        entry(WB, TimerId.named("b"), at(1)),
        entry(WC, TimerId.named("a"), at(1)),
    ]


def test_timer_index_boundary_inclusive_and_future_excluded(TimerIndex: Any) -> None:
    index = TimerIndex()
    index.schedule(W, TimerId.named("t"), at(5))
    assert index.due(at(4.999999)) == []
    assert index.due(at(5)) == [entry(W, TimerId.named("t"), at(5))]
    assert index.due(at(5)) == [entry(W, TimerId.named("t"), at(5))]  # not removed by polling
    assert index.due(datetime(1, 1, 1, tzinfo=UTC)) == []


def test_timer_index_replace(TimerIndex: Any) -> None:
    index = TimerIndex()
    index.schedule(W, TimerId.named("t"), at(5))
    index.schedule(W, TimerId.named("t"), at(3))
    assert len(index) == 1
    assert index.due(at(10)) == [entry(W, TimerId.named("t"), at(3))]
    index.schedule(W, TimerId.named("t"), at(7))
    assert index.due(at(10)) == [entry(W, TimerId.named("t"), at(7))]


def test_timer_index_rescheduling_due_timer_into_future_removes_it(TimerIndex: Any) -> None:
    index = TimerIndex()
    index.schedule(W, TimerId.named("t"), at(1))
    index.schedule(W, TimerId.named("u"), at(2))
    assert len(index.due(at(5))) == 2
    index.schedule(W, TimerId.named("t"), at(100))
    assert index.due(at(5)) == [entry(W, TimerId.named("u"), at(2))]
    assert index.due(at(100)) == [
        entry(W, TimerId.named("u"), at(2)),
        entry(W, TimerId.named("t"), at(100)),
    ]


def test_timer_index_rescheduling_future_timer_into_past_after_poll(TimerIndex: Any) -> None:
    index = TimerIndex()
    index.schedule(W, TimerId.named("t"), at(50))
    assert index.due(at(10)) == []
    index.schedule(W, TimerId.named("t"), at(3))
    index.schedule(W2, TimerId.named("new"), at(4))
    assert index.due(at(10)) == [
        entry(W, TimerId.named("t"), at(3)),
        entry(W2, TimerId.named("new"), at(4)),
    ]
    assert index.due(at(3.5)) == [entry(W, TimerId.named("t"), at(3))]


def test_timer_index_polls_with_decreasing_as_of(TimerIndex: Any) -> None:
    index = TimerIndex()
    for k in range(10):
        index.schedule(W, TimerId.anonymous(k), at(k))
    assert len(index.due(at(9))) == 10
    for k in range(9, -1, -1):
        assert [e.timer_id for e in index.due(at(k))] == [
            TimerId.anonymous(j) for j in range(k + 1)
        ]
    assert index.due(at(-1)) == []


def test_timer_index_many_reschedules(TimerIndex: Any) -> None:
    index = TimerIndex()
    for round_ in range(300):
        for k in range(3):
            index.schedule(W, TimerId.anonymous(k), at(1000 - round_ + k))
        if round_ % 50 == 0:
            assert index.due(at(0)) == []
    assert len(index) == 3
    assert index.due(at(10_000)) == [entry(W, TimerId.anonymous(k), at(701 + k)) for k in range(3)]


POOL_WORKFLOWS = [WA, WB, WC]
POOL_TIMERS = [TimerId.named("a"), TimerId.named("b"), TimerId.anonymous(9), TimerId.anonymous(10)]

TIMER_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("schedule"),
            st.integers(0, len(POOL_WORKFLOWS) - 1),
            st.integers(0, len(POOL_TIMERS) - 1),
            st.integers(0, 20),
        ),
        st.tuples(st.just("due"), st.integers(-1, 21)),
    ),
    max_size=80,
)


@settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=TIMER_OPS)
def test_timer_index_matches_naive_reference(TimerIndex: Any, ops: list[tuple[Any, ...]]) -> None:
    index = TimerIndex()
    reference: dict[tuple[WorkflowId, TimerId], datetime] = {}
    for op in ops:
        if op[0] == "schedule":
            _, w, t, when = op
            key = (POOL_WORKFLOWS[w], POOL_TIMERS[t])
            index.schedule(*key, at(when))
            reference[key] = at(when)
        else:
            as_of = at(op[1])
            expected = sorted(
                (entry(w, t, fire_at) for (w, t), fire_at in reference.items() if fire_at <= as_of),
                key=lambda e: (e.fire_at, str(e.workflow_id), str(e.timer_id)),
            )
            assert index.due(as_of) == expected
        assert len(index) == len(reference)
    final = sorted(
        (entry(w, t, fire_at) for (w, t), fire_at in reference.items()),
        key=lambda e: (e.fire_at, str(e.workflow_id), str(e.timer_id)),
    )
    assert index.due(at(1000)) == final


def test_visibility_summary_from_record_keeps_every_field() -> None:
    record = VisibilityRecord(
        workflow_id=W,
        run_id=RunId(U2),
        workflow_type="checkout",
        status=WorkflowStatus.FAILED,
        start_time=T0,
        close_time=T0,
        search_attributes={"n": 1},
    )
    summary = VisibilityWorkflowSummary.from_record(record)
    assert type(summary) is VisibilityWorkflowSummary
    assert dataclasses.astuple(summary) == dataclasses.astuple(record)
    assert summary != record
