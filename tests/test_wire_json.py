"""The JSON form beyond the golden vectors: lenient reading, malformed input, formatting."""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies
from aion_store import (
    ActivityId,
    CatchUpPolicy,
    ContentType,
    Event,
    EventEnvelope,
    ListWorkflowsFilter,
    OverlapPolicy,
    PackageRecord,
    PackageVersion,
    Payload,
    RunId,
    RunSummary,
    ScheduleConfig,
    ScheduleId,
    SearchAttributeMap,
    SearchAttributePredicate,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    SerializationError,
    TimerEntry,
    TimerId,
    TriggerSpec,
    VisibilityRecord,
    WorkflowError,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WorkflowSummary,
    wire,
)
from aion_store.wire import _json
from aion_store.wire._json import (
    dump_value,
    event_from_obj,
    event_to_obj,
    format_float,
    format_timestamp,
    from_json,
    parse_timestamp,
    to_json,
)

UTC = timezone.utc
WID_TEXT = "00000000-0000-0000-0000-000000000001"
WID = WorkflowId(WID_TEXT)
RID = RunId("00000000-0000-0000-0000-000000000002")
AT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
AT_TEXT = "2023-11-14T22:13:20Z"
ENVELOPE = f'{{"seq":18,"recorded_at":"{AT_TEXT}","workflow_id":"{WID_TEXT}"}}'
TIMER_STARTED = (
    f'{{"type":"TimerStarted","data":{{"envelope":{ENVELOPE},'
    f'"timer_id":{{"Named":"deadline"}},"fire_at":"{AT_TEXT}"}}}}'
)
PAYLOAD = '{"content_type":"Json","bytes":[110,117,108,108]}'
SCHEDULE_CONFIG = (
    '{"trigger":{"Cron":{"expression":"0 0 * * *"}},"overlap_policy":"Skip",'
    f'"catch_up_policy":"One","workflow_type":"nightly","input":{PAYLOAD},'
    '"search_attributes":{}}'
)


def timer_entry_json(fire_at: Any = AT_TEXT, workflow_id: Any = WID_TEXT) -> str:
    return json.dumps(
        {"workflow_id": workflow_id, "timer_id": {"Anonymous": 3}, "fire_at": fire_at},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_with(**data: Any) -> dict[str, Any]:
    """The parsed TimerStarted vector with some ``data`` fields replaced."""
    obj = json.loads(TIMER_STARTED)
    obj["data"].update(data)
    return obj


def envelope_with(**fields: Any) -> str:
    obj = json.loads(TIMER_STARTED)
    obj["data"]["envelope"].update(fields)
    return json.dumps(obj)


def bad(text: str | bytes, cls: Any, detail: str) -> SerializationError:
    """Decoding fails with exactly ``detail`` (``startswith`` when it ends with ``...``)."""
    with pytest.raises(SerializationError) as caught:
        from_json(text, cls)
    error = caught.value
    if detail.endswith("..."):
        assert error.detail.startswith(detail[:-3]), error.detail
    else:
        assert error.detail == detail
    assert str(error) == f"store serialization error: {error.detail}"
    return error


# -- the public surface -------------------------------------------------------------------


def test_wire_package_exposes_this_codec() -> None:
    assert wire.to_json is to_json
    assert wire.from_json is from_json


def test_timer_started_round_trip() -> None:
    event = from_json(TIMER_STARTED, Event)
    assert isinstance(event, Event.TimerStarted)
    assert event.envelope == EventEnvelope(18, AT, WID)
    assert event.timer_id == TimerId.named("deadline")
    assert event.fire_at == AT
    assert to_json(event) == TIMER_STARTED


def test_specific_variant_class() -> None:
    assert isinstance(from_json(TIMER_STARTED, Event.TimerStarted), Event.TimerStarted)
    bad(TIMER_STARTED, Event.TimerFired, "event.type: expected TimerFired, got TimerStarted")
    bad(
        '{"Cron":{"expression":"x"}}',
        TriggerSpec.Interval,
        "trigger_spec: expected Interval, got Cron",
    )
    bad(
        '{"Contains":{"name":"k","keyword":"x"}}',
        SearchAttributePredicate.Equals,
        "search_attribute_predicate: expected Equals, got Contains",
    )


def test_unsupported_classes_are_type_errors() -> None:
    with pytest.raises(TypeError, match="does not cover"):
        from_json("{}", dict)
    with pytest.raises(TypeError, match="does not cover"):
        from_json("{}", PackageRecord)
    with pytest.raises(TypeError, match="str or bytes"):
        from_json(5, WorkflowStatus)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "obj",
    [object(), {"a": 1}, None, PackageRecord("t", "h", b"", AT), SearchAttributeMap({"a": 1})],
    ids=["object", "dict", "None", "PackageRecord", "SearchAttributeMap"],
)
def test_to_json_unsupported_names_the_type(obj: Any) -> None:
    with pytest.raises(TypeError, match=type(obj).__name__):
        to_json(obj)


def test_to_json_history_items_must_be_events() -> None:
    event = from_json(TIMER_STARTED, Event)
    assert to_json([event, event]) == f"[{TIMER_STARTED},{TIMER_STARTED}]"
    assert to_json((event,)) == f"[{TIMER_STARTED}]"
    assert to_json([]) == "[]"
    with pytest.raises(TypeError, match="item 1 is a str"):
        to_json([event, "x"])


def test_to_json_bare_search_values() -> None:
    assert to_json(5) == '{"type":"Int","data":5}'
    assert to_json(True) == '{"type":"Bool","data":true}'
    assert to_json(2.5) == '{"type":"Float","data":2.5}'
    assert to_json("é") == '{"type":"String","data":"é"}'
    assert to_json(("a", "b")) == '{"type":"KeywordList","data":["a","b"]}'
    assert to_json(()) == '{"type":"KeywordList","data":[]}'
    assert to_json(AT) == f'{{"type":"Datetime","data":"{AT_TEXT}"}}'
    with pytest.raises(ValueError):
        to_json(math.nan)
    with pytest.raises(ValueError):
        to_json(2**63)


def test_errors_are_serialization_errors_with_detail() -> None:
    error = bad('"Nope"', WorkflowStatus, "workflow_status: unknown variant ...")
    assert "Running" in error.detail
    assert not isinstance(error, (ValueError, KeyError, TypeError))


# -- records we define ourselves and other forms --------------------------------------------


def test_run_summary_form() -> None:
    summary = RunSummary(RID, None, WorkflowStatus.RUNNING, AT, None)
    text = (
        '{"run_id":"00000000-0000-0000-0000-000000000002","parent_run_id":null,'
        f'"status":"Running","started_at":"{AT_TEXT}","closed_at":null}}'
    )
    assert to_json(summary) == text
    assert from_json(text, RunSummary) == summary
    closed = RunSummary(RID, RunId(WID.uuid), WorkflowStatus.CONTINUED_AS_NEW, AT, AT)
    assert from_json(to_json(closed), RunSummary) == closed
    assert '"status":"ContinuedAsNew"' in to_json(closed)
    # absent optional fields are unset, the others are required
    assert from_json(
        f'{{"run_id":"{RID}","status":"Failed","started_at":"{AT_TEXT}"}}', RunSummary
    ) == RunSummary(RID, None, WorkflowStatus.FAILED, AT, None)
    bad(
        f'{{"run_id":"{RID}","parent_run_id":null,"started_at":"{AT_TEXT}"}}',
        RunSummary,
        'run_summary: missing field "status"',
    )


def test_timer_entry_and_summaries() -> None:
    entry = TimerEntry(WID, TimerId.anonymous(3), AT)
    assert to_json(entry) == timer_entry_json()
    assert from_json(timer_entry_json(), TimerEntry) == entry
    summary = WorkflowSummary(WID, "t", WorkflowStatus.TIMED_OUT, AT, AT, WID)
    assert from_json(to_json(summary), WorkflowSummary) == summary


def test_search_attribute_schema() -> None:
    schema = SearchAttributeSchema(
        {"i": SearchAttributeType.INT, "k": SearchAttributeType.KEYWORD_LIST}
    )
    text = '{"attributes":{"i":"Int","k":"KeywordList"}}'
    assert to_json(schema) == text
    assert from_json(text, SearchAttributeSchema) == schema
    assert from_json('{"attributes":{},"x":1}', SearchAttributeSchema) == SearchAttributeSchema()
    bad(
        '{"attributes":null}',
        SearchAttributeSchema,
        "search_attribute_schema.attributes: expected object of attribute types, got null",
    )
    bad("{}", SearchAttributeSchema, 'search_attribute_schema: missing field "attributes"')
    bad(
        '{"attributes":{"i":{"Int":null}}}',
        SearchAttributeSchema,
        "search_attribute_schema.attributes['i']: expected SearchAttributeType variant name "
        '(string), got {"Int": null}',
    )


def test_filters() -> None:
    predicates = (
        SearchAttributePredicate.Equals("i", 5),
        SearchAttributePredicate.GreaterThan("f", 1.5),
        SearchAttributePredicate.LessThan("d", AT),
        SearchAttributePredicate.Contains("k", "red"),
    )
    filter = ListWorkflowsFilter(
        workflow_type="t",
        status=WorkflowStatus.RUNNING,
        closed_after=AT,
        search_attributes=predicates,
        limit=10,
        offset=0,
    )
    text = to_json(filter)
    assert (
        '"search_attributes":[{"Equals":{"name":"i","value":{"type":"Int","data":5}}},'
        '{"GreaterThan":{"name":"f","value":{"type":"Float","data":1.5}}},'
        f'{{"LessThan":{{"name":"d","value":{{"type":"Datetime","data":"{AT_TEXT}"}}}}}},'
        '{"Contains":{"name":"k","keyword":"red"}}],"limit":10,"offset":0}'
    ) in text
    assert from_json(text, ListWorkflowsFilter) == filter
    workflow_filter = WorkflowFilter(status=WorkflowStatus.FAILED, parent=WID)
    assert from_json(to_json(workflow_filter), WorkflowFilter) == workflow_filter
    # every Option field may be absent; search_attributes is required
    assert from_json('{"search_attributes":[]}', ListWorkflowsFilter) == ListWorkflowsFilter()
    assert from_json("{}", WorkflowFilter) == WorkflowFilter()
    bad("{}", ListWorkflowsFilter, 'list_workflows_filter: missing field "search_attributes"')
    bad(
        '{"search_attributes":[],"limit":4294967296}',
        ListWorkflowsFilter,
        "list_workflows_filter.limit: integer 4294967296 is out of range for u32 "
        "(expected 0 to 4294967295)",
    )
    bad(
        '{"search_attributes":[],"offset":-1}',
        ListWorkflowsFilter,
        "list_workflows_filter.offset: expected unsigned integer, got -1",
    )
    bad(
        '{"search_attributes":[{"Equals":{"name":"i"}}]}',
        ListWorkflowsFilter,
        'list_workflows_filter.search_attributes[0].Equals: missing field "value"',
    )


def test_visibility_record_requires_search_attributes() -> None:
    record = VisibilityRecord(WID, RID, "t", WorkflowStatus.RUNNING, AT)
    obj = json.loads(to_json(record))
    del obj["search_attributes"]
    bad(json.dumps(obj), VisibilityRecord, 'visibility_record: missing field "search_attributes"')
    del obj["close_time"]
    obj["search_attributes"] = {}
    assert from_json(json.dumps(obj), VisibilityRecord) == record


def test_search_attributes_updated_requires_attributes() -> None:
    obj = {
        "type": "SearchAttributesUpdated",
        "data": {"envelope": json.loads(ENVELOPE), "workflow_id": WID_TEXT},
    }
    bad(json.dumps(obj), Event, 'event.data: missing field "attributes"')
    obj["data"]["attributes"] = {
        "b": {"type": "Bool", "data": False},
        "a": {"type": "Int", "data": 1},
    }
    event = from_json(json.dumps(obj), Event)
    assert isinstance(event, Event.SearchAttributesUpdated)
    assert dict(event.attributes) == {"b": False, "a": 1}
    # the map's iteration order is kept on output
    assert '"attributes":{"b":{"type":"Bool","data":false},"a":{"type":"Int","data":1}}' in to_json(
        event
    )


def test_history() -> None:
    started = json.loads(TIMER_STARTED)
    second = json.loads(TIMER_STARTED)
    second["data"]["envelope"]["seq"] = 19
    text = json.dumps([started, second])
    events = from_json(text, list[Event])
    assert [event.seq for event in events] == [18, 19]
    assert from_json(text, wire.HISTORY) == events
    assert from_json(text, list) == events
    assert from_json("[]", list[Event]) == []
    second["data"]["envelope"]["seq"] = "x"
    bad(
        json.dumps([started, started, started, second]),
        list[Event],
        'event[3].data.envelope.seq: expected unsigned integer, got "x"',
    )
    bad(TIMER_STARTED, list[Event], "event: expected array of events, got {...")
    bad("[1]", list[Event], 'event[0]: expected event object {"type": ..., "data": ...}, got 1')


# -- timestamps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14T22:13:20Z", AT),
        ("2023-11-14t22:13:20z", AT),
        ("2023-11-14 22:13:20Z", AT),
        ("2023-11-14T22:13:20+00:00", AT),
        ("2023-11-14T22:13:20-00:00", AT),
        ("2023-11-14T23:13:20+01:00", AT),
        ("2023-11-14T20:43:20-0130", AT),
        ("2023-11-15T03:43:20+0530", AT),
        ("2023-11-14T22:13:20.5Z", AT.replace(microsecond=500000)),
        ("2023-11-14T22:13:20.123Z", AT.replace(microsecond=123000)),
        ("2023-11-14T22:13:20.123456Z", AT.replace(microsecond=123456)),
        ("2023-11-14T22:13:20.1234567Z", AT.replace(microsecond=123456)),
        ("2023-11-14T22:13:20.123456789Z", AT.replace(microsecond=123456)),
        ("2023-11-14T22:13:20.999999999999Z", AT.replace(microsecond=999999)),
        ("2023-11-14T22:13:20.000000001Z", AT),
        ("2023-11-14T23:13:20.25+01:00", AT.replace(microsecond=250000)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:30:00+00:30", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)),
        ("9999-12-31T22:59:59-01:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_lenient_timestamps(text: str, expected: datetime) -> None:
    value = parse_timestamp(text, "x")
    assert value == expected
    assert value.tzinfo is UTC
    entry = from_json(timer_entry_json(text), TimerEntry)
    assert entry.fire_at == expected
    assert from_json(f'{{"type":"Datetime","data":"{text}"}}', SearchAttributeValue) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2023-11-14T22:13:20", "no offset"),
        ("2023-11-14T22:13Z", "no seconds"),
        ("2023-11-14", "date only"),
        ("2023-11-14T22:13:20.Z", "empty fraction"),
        ("2023-11-14T22:13:20,5Z", "comma as decimal point"),
        ("2023-11-14T24:00:00Z", "hour 24"),
        ("2023-11-14T22:13:20+01:00:00", "offset with seconds"),
        ("2016-12-31T23:59:60Z", "leap second"),
        ("0000-01-01T00:00:00Z", "year 0"),
        ("10000-01-01T00:00:00Z", "year 10000"),
        ("+2023-11-14T22:13:20Z", "signed year"),
        ("0001-01-01T00:00:00+00:01", "before year 1 in UTC"),
        ("9999-12-31T23:59:59-00:01", "after year 9999 in UTC"),
        ("2023-02-30T00:00:00Z", "no such day"),
        ("2023-13-01T00:00:00Z", "month 13"),
        ("2023-11-14T22:60:00Z", "minute 60"),
        ("2023-11-14T22:13:20+24:00", "offset hour 24"),
        ("2023-11-14T22:13:20+01:60", "offset minute 60"),
        ("2023-11-14T22:13:20+1", "short offset"),
        ("2023-11-14T22:13:20+01:0", "short offset minutes"),
        ("2023-11-14T22:13:20UTC", "named zone"),
        ("2023-11-14T22:13:20 Z", "space before offset"),
        (" 2023-11-14T22:13:20Z", "leading space"),
        ("2023-11-14T22:13:20Z ", "trailing space"),
        ("2023-11-14T22:13:20ZZ", "two offsets"),
        ("2023-11-14_22:13:20Z", "wrong separator"),
        ("23-11-14T22:13:20Z", "two-digit year"),
        ("2023-1-14T22:13:20Z", "one-digit month"),
        ("\uff12\uff10\uff12\uff13-11-14T22:13:20Z", "full-width digits"),
        ("", "empty"),
    ],
)
def test_malformed_timestamps(text: str, problem: str) -> None:
    with pytest.raises(SerializationError) as caught:
        parse_timestamp(text, "here")
    assert caught.value.detail.startswith("here: "), problem
    error = bad(timer_entry_json(text), TimerEntry, "timer_entry.fire_at: ...")
    assert "timestamp" in error.detail
    bad(
        json.dumps({"type": "Datetime", "data": text}),
        SearchAttributeValue,
        "search_attribute_value.data: ...",
    )


@pytest.mark.parametrize("raw", [1700000000, 1.5, None, True, [], {}])
def test_timestamp_must_be_a_string(raw: Any) -> None:
    bad(
        timer_entry_json(raw),
        TimerEntry,
        f"timer_entry.fire_at: expected RFC 3339 timestamp string, got {json.dumps(raw)}",
    )


def test_specific_timestamp_messages() -> None:
    bad(
        timer_entry_json("2023-11-14"),
        TimerEntry,
        'timer_entry.fire_at: invalid RFC 3339 timestamp "2023-11-14"',
    )
    bad(
        timer_entry_json("2023-11-14T24:00:00Z"),
        TimerEntry,
        'timer_entry.fire_at: invalid RFC 3339 timestamp "2023-11-14T24:00:00Z": '
        "hour must be in 0..23",
    )
    bad(
        timer_entry_json("0001-01-01T00:00:00+01:00"),
        TimerEntry,
        'timer_entry.fire_at: timestamp "0001-01-01T00:00:00+01:00" is outside years 1-9999 '
        "once converted to UTC",
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (AT, "2023-11-14T22:13:20Z"),
        (AT.replace(microsecond=123000), "2023-11-14T22:13:20.123Z"),
        (AT.replace(microsecond=100000), "2023-11-14T22:13:20.100Z"),
        (AT.replace(microsecond=1000), "2023-11-14T22:13:20.001Z"),
        (AT.replace(microsecond=123456), "2023-11-14T22:13:20.123456Z"),
        (AT.replace(microsecond=10), "2023-11-14T22:13:20.000010Z"),
        (AT.replace(microsecond=120000), "2023-11-14T22:13:20.120Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, UTC), "9999-12-31T23:59:59.999999Z"),
        (datetime(1969, 12, 31, 23, 59, 59, 500000, UTC), "1969-12-31T23:59:59.500Z"),
        (
            datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1))),
            "2023-11-14T22:13:20Z",
        ),
    ],
)
def test_format_timestamp(value: datetime, text: str) -> None:
    assert format_timestamp(value) == text
    assert parse_timestamp(text, "x") == value


def test_format_timestamp_rejects_naive() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2023, 1, 1))


@given(strategies.timestamps())
def test_timestamp_round_trip(value: datetime) -> None:
    assert parse_timestamp(format_timestamp(value), "x") == value


# -- identifiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "abcdef01-2345-4678-9abc-def012345678",
        "ABCDEF01-2345-4678-9ABC-DEF012345678",
        "AbCdEf01-2345-4678-9aBc-dEf012345678",
        "{abcdef01-2345-4678-9abc-def012345678}",
        "urn:uuid:abcdef01-2345-4678-9abc-def012345678",
        "abcdef01234546789abcdef012345678",
        "ABCDEF01234546789ABCDEF012345678",
    ],
)
def test_uuid_forms(text: str) -> None:
    canonical = '"abcdef01-2345-4678-9abc-def012345678"'
    for cls in (WorkflowId, RunId, ScheduleId):
        value = from_json(json.dumps(text), cls)
        assert type(value) is cls
        assert value.uuid == uuid.UUID(text)
        assert to_json(value) == canonical
    entry = from_json(timer_entry_json(workflow_id=text), TimerEntry)
    assert str(entry.workflow_id) == canonical.strip('"')


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("not-a-uuid", 'workflow_id: invalid UUID string "not-a-uuid"'),
        ("abcdef01-2345-4678-9abc-def01234567", "workflow_id: invalid UUID string ..."),
        ("abcdef01-2345-4678-9abc-def01234567g", "workflow_id: invalid UUID string ..."),
        ("", 'workflow_id: invalid UUID string ""'),
        (5, "workflow_id: expected WorkflowId UUID string, got 5"),
        (None, "workflow_id: expected WorkflowId UUID string, got null"),
        ([1, 2], "workflow_id: expected WorkflowId UUID string, got [1, 2]"),
    ],
)
def test_malformed_uuids(raw: Any, detail: str) -> None:
    bad(json.dumps(raw), WorkflowId, detail)


def test_ids_of_other_kinds() -> None:
    assert from_json("7", ActivityId) == ActivityId(7)
    assert from_json('{"Named":"é/x"}', TimerId) == TimerId.named("é/x")
    assert from_json('{"Anonymous":0}', TimerId) == TimerId.anonymous(0)
    assert from_json('"v1"', PackageVersion) == PackageVersion("v1")
    assert to_json(PackageVersion('a"b')) == '"a\\"b"'
    bad("-1", ActivityId, "activity_id: expected unsigned integer, got -1")
    bad("true", ActivityId, "activity_id: expected unsigned integer, got true")
    bad("7.0", ActivityId, "activity_id: expected unsigned integer, got 7.0")
    bad(
        "18446744073709551616",
        ActivityId,
        "activity_id: integer 18446744073709551616 is out of range for u64 "
        "(expected 0 to 18446744073709551615)",
    )
    bad(
        '{"Anonymous":18446744073709551616}',
        TimerId,
        "timer_id.Anonymous: integer 18446744073709551616 is out of range for u64 ...",
    )
    bad('{"Anonymous":-3}', TimerId, "timer_id.Anonymous: expected unsigned integer, got -3")
    bad('{"Named":""}', TimerId, "timer_id.Named: timer name must not be empty")
    bad('{"Named":5}', TimerId, "timer_id.Named: expected string, got 5")
    bad('{"Named":null}', TimerId, "timer_id.Named: expected string, got null")
    bad(
        '{"Unnamed":"x"}',
        TimerId,
        'timer_id: unknown variant "Unnamed", expected one of Named, Anonymous',
    )
    bad(
        '{"Named":"x","Anonymous":3}',
        TimerId,
        'timer_id: expected timer id object {"Named": name} or {"Anonymous": position}, got ...',
    )
    bad("{}", TimerId, "timer_id: expected timer id object ...")
    bad('"x"', TimerId, "timer_id: expected timer id object ...")
    bad("5", PackageVersion, "package_version: expected string, got 5")


# -- integers and floats --------------------------------------------------------------


def test_float_search_value_accepts_integers() -> None:
    value = from_json('{"type":"Float","data":5}', SearchAttributeValue)
    assert type(value) is float
    assert value == 5.0
    assert from_json('{"type":"Float","data":-0}', SearchAttributeValue) == 0.0
    big = from_json('{"type":"Float","data":100000000000000000000000000000}', SearchAttributeValue)
    assert big == 1e29
    bad(
        '{"type":"Float","data":' + "9" * 400 + "}",
        SearchAttributeValue,
        "search_attribute_value.data: integer is too large for a float",
    )
    bad(
        '{"type":"Float","data":true}',
        SearchAttributeValue,
        "search_attribute_value.data: expected number, got true",
    )
    bad(
        '{"type":"Float","data":"1.5"}',
        SearchAttributeValue,
        'search_attribute_value.data: expected number, got "1.5"',
    )
    bad(
        '{"type":"Float","data":1e400}',
        SearchAttributeValue,
        "search_attribute_value.data: expected a finite number, got inf",
    )
    bad(
        '{"type":"Float","data":-1e400}',
        SearchAttributeValue,
        "search_attribute_value.data: expected a finite number, got -inf",
    )


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ("5.0", "expected integer, got 5.0"),
        ("5e0", "expected integer, got 5.0"),
        ("true", "expected integer, got true"),
        ('"5"', 'expected integer, got "5"'),
        ("null", "expected integer, got null"),
        (str(2**63), f"integer {2**63} is out of range for i64"),
        (str(-(2**63) - 1), f"integer {-(2**63) - 1} is out of range for i64"),
    ],
)
def test_int_search_value_is_strict(data: str, detail: str) -> None:
    bad(
        f'{{"type":"Int","data":{data}}}',
        SearchAttributeValue,
        f"search_attribute_value.data: {detail}",
    )


def test_int_search_value_bounds() -> None:
    assert from_json(f'{{"type":"Int","data":{2**63 - 1}}}', SearchAttributeValue) == 2**63 - 1
    assert from_json(f'{{"type":"Int","data":{-(2**63)}}}', SearchAttributeValue) == -(2**63)
    value = from_json('{"type":"Int","data":-0}', SearchAttributeValue)
    assert type(value) is int


def test_other_search_values() -> None:
    assert from_json('{"type":"Bool","data":false}', SearchAttributeValue) is False
    assert from_json('{"type":"KeywordList","data":["a"]}', SearchAttributeValue) == ("a",)
    bad(
        '{"type":"Bool","data":0}',
        SearchAttributeValue,
        "search_attribute_value.data: expected boolean, got 0",
    )
    bad(
        '{"type":"String","data":1}',
        SearchAttributeValue,
        "search_attribute_value.data: expected string, got 1",
    )
    bad(
        '{"type":"KeywordList","data":["a",1]}',
        SearchAttributeValue,
        "search_attribute_value.data[1]: expected string, got 1",
    )
    bad(
        '{"type":"KeywordList","data":"a"}',
        SearchAttributeValue,
        'search_attribute_value.data: expected array of strings, got "a"',
    )
    bad(
        '{"type":"Decimal","data":1}',
        SearchAttributeValue,
        'search_attribute_value.type: unknown variant "Decimal", expected one of String, Int, '
        "Float, Bool, Datetime, KeywordList",
    )
    bad(
        '{"type":5,"data":1}',
        SearchAttributeValue,
        "search_attribute_value.type: unknown variant 5, ...",
    )
    bad('{"data":1}', SearchAttributeValue, 'search_attribute_value: missing field "type"')
    bad('{"type":"Int"}', SearchAttributeValue, 'search_attribute_value: missing field "data"')
    bad(
        '["Int",5]',
        SearchAttributeValue,
        "search_attribute_value: expected search attribute value object ...",
    )
    bad(
        "5",
        SearchAttributeValue,
        "search_attribute_value: expected search attribute value object ...",
    )


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_invalid_json(literal: str) -> None:
    bad(
        f'{{"type":"Float","data":{literal}}}',
        SearchAttributeValue,
        f"json: invalid JSON: {literal} is not a JSON value",
    )
    bad(literal, WorkflowStatus, f"json: invalid JSON: {literal} is not a JSON value")


def test_unsigned_fields() -> None:
    bad(envelope_with(seq=-1), Event, "event.data.envelope.seq: expected unsigned integer, got -1")
    bad(
        envelope_with(seq=0),
        Event,
        "event.data.envelope.seq: integer 0 is out of range for u64 "
        "(expected 1 to 18446744073709551615)",
    )
    bad(
        envelope_with(seq=2**64),
        Event,
        f"event.data.envelope.seq: integer {2**64} is out of range for u64 ...",
    )
    bad(
        envelope_with(seq=True),
        Event,
        "event.data.envelope.seq: expected unsigned integer, got true",
    )
    bad(
        envelope_with(seq=1.0), Event, "event.data.envelope.seq: expected unsigned integer, got 1.0"
    )
    bad(
        envelope_with(seq="x"), Event, 'event.data.envelope.seq: expected unsigned integer, got "x"'
    )
    event = from_json(envelope_with(seq=2**64 - 1), Event)
    assert event.seq == 2**64 - 1


def activity_failed(attempt: Any) -> str:
    return json.dumps(
        {
            "type": "ActivityFailed",
            "data": {
                "envelope": json.loads(ENVELOPE),
                "activity_id": 12,
                "error": {"kind": "Retryable", "message": "m", "details": None},
                "attempt": attempt,
            },
        }
    )


def test_u32_attempt() -> None:
    assert from_json(activity_failed(2**32 - 1), Event).attempt == 2**32 - 1
    assert from_json(activity_failed(0), Event).attempt == 0
    bad(
        activity_failed(2**32),
        Event,
        "event.data.attempt: integer 4294967296 is out of range for u32 (expected 0 to 4294967295)",
    )
    bad(activity_failed(-1), Event, "event.data.attempt: expected unsigned integer, got -1")
    bad(activity_failed(True), Event, "event.data.attempt: expected unsigned integer, got true")


# -- float formatting -------------------------------------------------------------------

FLOATS = [
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (1.0, "1.0"),
    (-1.0, "-1.0"),
    (2.5, "2.5"),
    (0.1, "0.1"),
    (0.1 + 0.2, "0.30000000000000004"),
    (100.0, "100.0"),
    (123456789.125, "123456789.125"),
    (-3.75, "-3.75"),
    (1e15, "1000000000000000.0"),
    (9999999999999998.0, "9999999999999998.0"),
    (1234567890123456.8, "1234567890123456.8"),
    (2.0**53, "9007199254740992.0"),
    (1e16, "1e+16"),
    (-1e16, "-1e+16"),
    (1.5e16, "1.5e+16"),
    (12345678901234567.0, "1.2345678901234568e+16"),
    (1e17, "1e+17"),
    (1e21, "1e+21"),
    (1e22, "1e+22"),
    (1e100, "1e+100"),
    (1.5e300, "1.5e+300"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-1.7976931348623157e308, "-1.7976931348623157e+308"),
    (0.001, "0.001"),
    (0.0001, "0.0001"),
    (0.00012, "0.00012"),
    (1e-5, "0.00001"),
    (-1e-5, "-0.00001"),
    (1.5e-5, "0.000015"),
    (1.2345e-5, "0.000012345"),
    (9.999999999999999e-5, "0.00009999999999999999"),
    (9.999999999999999e-6, "9.999999999999999e-6"),
    (1e-6, "1e-6"),
    (1.5e-6, "1.5e-6"),
    (1e-7, "1e-7"),
    (-1e-7, "-1e-7"),
    (1.5e-7, "1.5e-7"),
    (1e-10, "1e-10"),
    (1.5e-100, "1.5e-100"),
    (2.2250738585072014e-308, "2.2250738585072014e-308"),
    (5e-324, "5e-324"),
    (-5e-324, "-5e-324"),
]


@pytest.mark.parametrize(("value", "text"), FLOATS, ids=[text for _, text in FLOATS])
def test_format_float(value: float, text: str) -> None:
    assert format_float(value) == text
    assert to_json(value) == f'{{"type":"Float","data":{text}}}'
    decoded = from_json(to_json(value), SearchAttributeValue)
    assert decoded == value
    assert math.copysign(1.0, decoded) == math.copysign(1.0, value)


def test_format_float_rejects_non_finite_and_non_numbers() -> None:
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            format_float(value)
    with pytest.raises(TypeError):
        format_float("1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_float(True)
    assert format_float(5) == "5.0"


def significant_digits(text: str) -> str:
    return text.lstrip("-").split("e")[0].replace(".", "").strip("0")


@settings(max_examples=2000)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_round_trips(value: float) -> None:
    text = format_float(value)
    back = float(text)
    assert back == value
    assert math.copysign(1.0, back) == math.copysign(1.0, value)
    # the shortest round-trip digits, the same as Python's repr
    assert significant_digits(text) == significant_digits(repr(value))
    magnitude = abs(value)
    if magnitude == 0 or 1e-5 <= magnitude < 1e16:
        assert "e" not in text
        assert "." in text
    else:
        mantissa, exponent = text.lstrip("-").split("e")
        assert exponent[0] in "+-"
        assert exponent[1] != "0"
        assert exponent[0] == ("-" if magnitude < 1 else "+")
        assert not mantissa.endswith(".0")
        assert "." not in mantissa or len(mantissa) > 2


# -- strings ----------------------------------------------------------------------------


def test_string_escapes_match_serde_json() -> None:
    text = 'q" b\\ n\n t\t r\r b\b f\f c1\x01 c1f\x1f del\x7f /<>& é ☃ 😀 \u2028\u2029 \x00'
    expected = (
        '"q\\" b\\\\ n\\n t\\t r\\r b\\b f\\f c1\\u0001 c1f\\u001f del\x7f /<>& é ☃ 😀 '
        '\u2028\u2029 \\u0000"'
    )
    assert to_json(text) == '{"type":"String","data":' + expected + "}"
    assert from_json(to_json(text), SearchAttributeValue) == text
    assert to_json(to_json(text)).encode("utf-8").isascii() is False


def test_escaped_input_strings() -> None:
    value = from_json('{"type":"String","data":"\\u00e9\\ud83d\\ude00\\/"}', SearchAttributeValue)
    assert value == "é😀/"


@pytest.mark.parametrize(
    ("text", "cls", "detail"),
    [
        (
            json.dumps(event_with(timer_id={"Named": "\ud800"})),
            Event,
            'event.data.timer_id.Named: string "\\ud800" is not valid Unicode '
            "(it holds a lone surrogate)",
        ),
        (
            '{"type":"String","data":"a\\udc00"}',
            SearchAttributeValue,
            'search_attribute_value.data: string "a\\udc00" is not valid Unicode ...',
        ),
        (
            '{"type":"KeywordList","data":["ok","\\ud800x"]}',
            SearchAttributeValue,
            "search_attribute_value.data[1]: string ...",
        ),
        ('"\\ud800"', PackageVersion, "package_version: string ..."),
        (
            '{"attributes":{"\\ud800":"Int"}}',
            SearchAttributeSchema,
            "search_attribute_schema.attributes['\\ud800']: string ...",
        ),
    ],
)
def test_lone_surrogates_are_malformed(text: str, cls: Any, detail: str) -> None:
    error = bad(text, cls, detail)
    error.detail.encode("utf-8")  # the message itself is printable


def test_lone_surrogate_in_attribute_key_and_reason() -> None:
    obj = {
        "type": "WorkflowCancelled",
        "data": {"envelope": json.loads(ENVELOPE), "reason": "\udfff"},
    }
    bad(json.dumps(obj), Event, "event.data.reason: string ...")
    obj = {
        "type": "SearchAttributesUpdated",
        "data": {
            "envelope": json.loads(ENVELOPE),
            "workflow_id": WID_TEXT,
            "attributes": {"\ud800": {"type": "Int", "data": 1}},
        },
    }
    bad(json.dumps(obj), Event, "event.data.attributes['\\ud800']: string ...")


def test_lone_surrogate_in_ignored_key_is_harmless() -> None:
    assert (
        from_json('{"attributes":{},"\\ud800":1}', SearchAttributeSchema) == SearchAttributeSchema()
    )


# -- schedules and durations ------------------------------------------------------------


def test_schedule_config_defaults_when_absent() -> None:
    text = (
        '{"trigger":{"Interval":{"period":{"secs":90,"nanos":250000000}}},'
        f'"workflow_type":"poller","input":{PAYLOAD}}}'
    )
    config = from_json(text, ScheduleConfig)
    assert config == ScheduleConfig(
        TriggerSpec.Interval(timedelta(seconds=90, milliseconds=250)),
        "poller",
        Payload(ContentType.JSON, b"null"),
    )
    assert config.overlap_policy is OverlapPolicy.SKIP
    assert config.catch_up_policy is CatchUpPolicy.ONE
    assert dict(config.search_attributes) == {}
    assert to_json(config) == (
        '{"trigger":{"Interval":{"period":{"secs":90,"nanos":250000000}}},'
        '"overlap_policy":"Skip","catch_up_policy":"One","workflow_type":"poller",'
        f'"input":{PAYLOAD},"search_attributes":{{}}}}'
    )


@pytest.mark.parametrize(
    ("field", "detail"),
    [
        ("overlap_policy", "expected OverlapPolicy variant name (string), got null"),
        ("catch_up_policy", "expected CatchUpPolicy variant name (string), got null"),
        ("search_attributes", "expected object of search attributes, got null"),
    ],
)
def test_schedule_config_explicit_null_is_malformed(field: str, detail: str) -> None:
    obj = json.loads(SCHEDULE_CONFIG)
    obj[field] = None
    bad(json.dumps(obj), ScheduleConfig, f"schedule_config.{field}: {detail}")


@pytest.mark.parametrize("field", ["trigger", "workflow_type", "input"])
def test_schedule_config_required_fields(field: str) -> None:
    obj = json.loads(SCHEDULE_CONFIG)
    del obj[field]
    bad(json.dumps(obj), ScheduleConfig, f'schedule_config: missing field "{field}"')


def interval(period: Any) -> str:
    return json.dumps({"Interval": {"period": period}})


def test_durations() -> None:
    def period(secs: int, nanos: int) -> timedelta:
        trigger = from_json(interval({"secs": secs, "nanos": nanos}), TriggerSpec)
        assert isinstance(trigger, TriggerSpec.Interval)
        return trigger.period

    assert period(300, 0) == timedelta(seconds=300)
    assert period(0, 1000) == timedelta(microseconds=1)
    assert period(0, 1999) == timedelta(microseconds=1)
    assert period(1, 2_500_000_000) == timedelta(seconds=3, milliseconds=500)
    assert period(0, 4_294_967_295) == timedelta(seconds=4, microseconds=294967)
    assert period(86_399_999_999_999, 0) == timedelta(days=999_999_999, seconds=86_399)
    assert to_json(TriggerSpec.Interval(timedelta(days=1, microseconds=7))) == (
        '{"Interval":{"period":{"secs":86400,"nanos":7000}}}'
    )
    p = "trigger_spec.Interval.period"
    bad(interval({"secs": 0, "nanos": 999}), TriggerSpec, f"{p}: duration 0 s 999 ns is zero ...")
    bad(interval({"secs": 0, "nanos": 0}), TriggerSpec, f"{p}: duration 0 s 0 ns is zero ...")
    bad(interval({"secs": 1}), TriggerSpec, f'{p}: missing field "nanos"')
    bad(interval({"nanos": 1}), TriggerSpec, f'{p}: missing field "secs"')
    bad(interval([1, 0]), TriggerSpec, f"{p}: expected duration object ...")
    bad(interval(1.5), TriggerSpec, f"{p}: expected duration object ...")
    bad(
        interval({"secs": -1, "nanos": 0}),
        TriggerSpec,
        f"{p}.secs: expected unsigned integer, got -1",
    )
    bad(
        interval({"secs": 1, "nanos": 2**32}),
        TriggerSpec,
        f"{p}.nanos: integer 4294967296 is out of range for u32 ...",
    )
    bad(
        interval({"secs": 2**64, "nanos": 0}),
        TriggerSpec,
        f"{p}.secs: integer {2**64} is out of range for u64 ...",
    )
    bad(
        interval({"secs": 2**64 - 1, "nanos": 1_000_000_000}),
        TriggerSpec,
        f"{p}: duration overflows u64 seconds",
    )
    bad(
        interval({"secs": 2**64 - 1, "nanos": 0}),
        TriggerSpec,
        f"{p}: duration of {2**64 - 1} s is out of range",
    )
    bad(
        interval({"secs": 86_400_000_000_000, "nanos": 0}),
        TriggerSpec,
        f"{p}: duration of 86400000000000 s ...",
    )
    bad(
        interval({"secs": True, "nanos": 0}),
        TriggerSpec,
        f"{p}.secs: expected unsigned integer, got true",
    )


def test_trigger_shapes() -> None:
    assert from_json('{"Cron":{"expression":"x","extra":1}}', TriggerSpec) == TriggerSpec.Cron("x")
    bad('{"Cron":null}', TriggerSpec, "trigger_spec.Cron: expected Cron object, got null")
    bad('{"Cron":"x"}', TriggerSpec, 'trigger_spec.Cron: expected Cron object, got "x"')
    bad('{"Cron":["x"]}', TriggerSpec, 'trigger_spec.Cron: expected Cron object, got ["x"]')
    bad('"Cron"', TriggerSpec, "trigger_spec: expected TriggerSpec object with one variant key ...")
    bad('["Cron",{"expression":"x"}]', TriggerSpec, "trigger_spec: expected TriggerSpec object ...")
    bad(
        '{"Daily":{}}',
        TriggerSpec,
        'trigger_spec: unknown variant "Daily", expected one of Cron, Interval',
    )
    bad('{"Cron":{}}', TriggerSpec, 'trigger_spec.Cron: missing field "expression"')
    bad(
        '{"Cron":{"expression":"x"},"Interval":{"period":{"secs":1,"nanos":0}}}',
        TriggerSpec,
        "trigger_spec: expected TriggerSpec object with one variant key ...",
    )


# -- shapes serde would read but we do not, and other malformed structure ----------------


@pytest.mark.parametrize(
    ("text", "cls", "detail"),
    [
        (
            '{"Running":null}',
            WorkflowStatus,
            'workflow_status: expected WorkflowStatus variant name (string), got {"Running": null}',
        ),
        (
            '{"TimedOut":null}',
            WorkflowStatus,
            "workflow_status: expected WorkflowStatus variant name ...",
        ),
        (
            "0",
            WorkflowStatus,
            "workflow_status: expected WorkflowStatus variant name (string), got 0",
        ),
        (
            '"running"',
            WorkflowStatus,
            'workflow_status: unknown variant "running", expected one of Running, ...',
        ),
        ('{"Json":null}', ContentType, "content_type: expected ContentType variant name ..."),
        (
            '{"Int":null}',
            SearchAttributeType,
            "search_attribute_type: expected SearchAttributeType variant name ...",
        ),
        (
            f'[18,"{AT_TEXT}","{WID_TEXT}"]',
            EventEnvelope,
            "event_envelope: expected EventEnvelope object, got ...",
        ),
        (
            '["TimerFired",{}]',
            Event,
            'event: expected event object {"type": ..., "data": ...}, got ["TimerFired", {}]',
        ),
        (
            '{"type":"TimerFired","data":[]}',
            Event,
            "event.data: expected TimerFired object, got []",
        ),
        (
            '{"type":"TimerFired","data":null}',
            Event,
            "event.data: expected TimerFired object, got null",
        ),
        ('{"TimerFired":{}}', Event, 'event: missing field "type"'),
        ('["Json",[1]]', Payload, "payload: expected Payload object, got ..."),
        (
            '{"Equals":["i",{"type":"Int","data":1}]}',
            SearchAttributePredicate,
            "search_attribute_predicate.Equals: expected Equals object, got ...",
        ),
        (
            '[{"Cron":{"expression":"x"}},"One"]',
            ScheduleConfig,
            "schedule_config: expected ScheduleConfig object, got ...",
        ),
    ],
)
def test_alternative_serde_shapes_are_malformed(text: str, cls: Any, detail: str) -> None:
    bad(text, cls, detail)


def test_unknown_keys_are_ignored_at_any_depth() -> None:
    obj = json.loads(TIMER_STARTED)
    obj["extra"] = {"deep": [1, 2, {"x": None}]}
    obj["data"]["extra"] = 1.5
    obj["data"]["envelope"]["extra"] = "x"
    obj["data"]["timer_id"]["extra"] = 1
    assert from_json(json.dumps(obj), Event) == from_json(TIMER_STARTED, Event)
    config = json.loads(SCHEDULE_CONFIG)
    config["input"]["encoding"] = "utf-8"
    config["trigger"]["Cron"]["timezone"] = "UTC"
    config["search_attributes"] = {"a": {"type": "Int", "data": 1, "unit": "s"}}
    config["jitter"] = {"secs": 1, "nanos": 0}
    decoded = from_json(json.dumps(config), ScheduleConfig)
    assert dict(decoded.search_attributes) == {"a": 1}
    assert from_json(
        '{"Equals":{"name":"i","value":{"type":"Int","data":1},"x":0}}', SearchAttributePredicate
    ) == (SearchAttributePredicate.Equals("i", 1))
    period = {"secs": 1, "nanos": 0, "subsec": 0}
    assert from_json(interval(period), TriggerSpec) == TriggerSpec.Interval(timedelta(seconds=1))


def test_repeated_keys_last_wins() -> None:
    text = TIMER_STARTED.replace('"seq":18', '"seq":18,"seq":19')
    assert from_json(text, Event).seq == 19
    text = TIMER_STARTED.replace(
        '"type":"TimerStarted"', '"type":"TimerFired","type":"TimerStarted"'
    )
    assert isinstance(from_json(text, Event), Event.TimerStarted)
    assert from_json('"Running"', WorkflowStatus) is WorkflowStatus.RUNNING
    assert from_json('{"type":"Int","data":1,"data":2}', SearchAttributeValue) == 2


def test_missing_fields() -> None:
    obj = json.loads(TIMER_STARTED)
    del obj["data"]["fire_at"]
    bad(json.dumps(obj), Event, 'event.data: missing field "fire_at"')
    obj = json.loads(TIMER_STARTED)
    del obj["data"]["envelope"]["recorded_at"]
    bad(json.dumps(obj), Event, 'event.data.envelope: missing field "recorded_at"')
    bad('{"data":{}}', Event, 'event: missing field "type"')
    bad('{"type":"TimerFired"}', Event, 'event: missing field "data"')
    bad('{"content_type":"Json"}', Payload, 'payload: missing field "bytes"')
    bad('{"bytes":[]}', Payload, 'payload: missing field "content_type"')
    assert from_json('{"message":"m"}', WorkflowError) == WorkflowError("m")


def test_unknown_variants() -> None:
    bad(
        TIMER_STARTED.replace("TimerStarted", "TimerPaused"),
        Event,
        'event.type: unknown event variant "TimerPaused"',
    )
    bad('{"type":null,"data":{}}', Event, "event.type: unknown event variant null")
    bad('{"type":["x"],"data":{}}', Event, 'event.type: unknown event variant ["x"]')
    bad(
        '{"content_type":"Xml","bytes":[]}',
        Payload,
        'payload.content_type: unknown variant "Xml", expected one of Json',
    )
    bad(
        '{"Matches":{"name":"x"}}',
        SearchAttributePredicate,
        'search_attribute_predicate: unknown variant "Matches", ...',
    )


def test_wrong_types_at_depth() -> None:
    bad(
        json.dumps(event_with(timer_id={"Named": ["x"]})),
        Event,
        'event.data.timer_id.Named: expected string, got ["x"]',
    )
    bad(
        json.dumps(event_with(fire_at=None)),
        Event,
        "event.data.fire_at: expected RFC 3339 timestamp string, got null",
    )
    obj = json.loads(TIMER_STARTED)
    obj["data"]["envelope"]["workflow_id"] = 1
    bad(
        json.dumps(obj),
        Event,
        "event.data.envelope.workflow_id: expected WorkflowId UUID string, got 1",
    )
    config = json.loads(SCHEDULE_CONFIG)
    config["input"]["bytes"] = [1, 2, 300]
    event = {
        "type": "ScheduleCreated",
        "data": {
            "envelope": json.loads(ENVELOPE),
            "schedule_id": WID_TEXT,
            "config": config,
        },
    }
    bad(
        json.dumps(event),
        Event,
        "event.data.config.input.bytes[2]: expected byte (integer 0-255), got 300",
    )
    config["input"]["bytes"] = []
    config["search_attributes"] = {"n": {"type": "Int", "data": 1.5}}
    bad(
        json.dumps(event),
        Event,
        "event.data.config.search_attributes['n'].data: expected integer, got 1.5",
    )
    config["search_attributes"] = []
    bad(
        json.dumps(event),
        Event,
        "event.data.config.search_attributes: expected object of search attributes, got []",
    )


def test_payload_bytes() -> None:
    payload = from_json('{"content_type":"Json","bytes":[0,1,255]}', Payload)
    assert payload.data == b"\x00\x01\xff"
    assert payload.content_type is ContentType.JSON
    bad(
        '{"content_type":"Json","bytes":[1,true]}',
        Payload,
        "payload.bytes[1]: expected byte (integer 0-255), got true",
    )
    bad(
        '{"content_type":"Json","bytes":[false]}',
        Payload,
        "payload.bytes[0]: expected byte (integer 0-255), got false",
    )
    bad(
        '{"content_type":"Json","bytes":[-1]}',
        Payload,
        "payload.bytes[0]: expected byte (integer 0-255), got -1",
    )
    bad(
        '{"content_type":"Json","bytes":[1.0]}',
        Payload,
        "payload.bytes[0]: expected byte (integer 0-255), got 1.0",
    )
    bad(
        '{"content_type":"Json","bytes":[' + "9" * 30 + "]}",
        Payload,
        "payload.bytes[0]: expected byte ...",
    )
    bad(
        '{"content_type":"Json","bytes":"AAE="}',
        Payload,
        'payload.bytes: expected array of bytes, got "AAE="',
    )
    assert to_json(Payload(ContentType.JSON, bytes(range(256)))) == (
        '{"content_type":"Json","bytes":[' + ",".join(map(str, range(256))) + "]}"
    )


# -- invalid JSON -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "json: invalid JSON at line 1 column 1: Expecting value"),
        ("   ", "json: invalid JSON at line 1 column 4: Expecting value"),
        ('"Running"x', "json: invalid JSON at line 1 column 10: Extra data"),
        ('"Running" "Failed"', "json: invalid JSON at line 1 column 11: Extra data"),
        ('\n"Running",', "json: invalid JSON at line 2 column 10: Extra data"),
        ("{'a': 1}", "json: invalid JSON at line 1 column 2: ..."),
        ('{"a":1,}', "json: invalid JSON at line 1 column 8: ..."),
        ("[1,]", "json: invalid JSON at line 1 column 4: Expecting value"),
        ('"\\x"', "json: invalid JSON at line 1 column 2: Invalid \\escape"),
        ('"a\nb"', "json: invalid JSON at line 1 column 3: Invalid control character at"),
        ("01", "json: invalid JSON at line 1 column 2: Extra data"),
        ('\ufeff"Running"', "json: invalid JSON at line 1 column 1: Expecting value"),
        ("1" * 5000, "json: invalid JSON: ..."),
        ("[" * 100_000, "json: invalid JSON: nested too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "json: invalid JSON: nested too deeply"),
    ],
)
def test_invalid_json(text: str, detail: str) -> None:
    bad(text, WorkflowStatus, detail)
    bad(text, list[Event], detail)


def test_deeply_nested_garbage_inside_a_value() -> None:
    garbage = "[" * 200 + "]" * 200
    bad(
        TIMER_STARTED.replace('"seq":18', f'"seq":{garbage}'),
        Event,
        "event.data.envelope.seq: expected unsigned integer, got [[[[[...",
    )
    # ignored when it sits under an unknown key
    text = TIMER_STARTED.replace('"seq":18', f'"seq":18,"junk":{garbage}')
    assert from_json(text, Event).seq == 18


def test_bytes_input() -> None:
    assert from_json(b'"Running"', WorkflowStatus) is WorkflowStatus.RUNNING
    assert from_json(bytearray(b'"Failed"'), WorkflowStatus) is WorkflowStatus.FAILED
    assert from_json(memoryview(b'"Failed"'), WorkflowStatus) is WorkflowStatus.FAILED
    assert (
        from_json(' "é" '.replace("é", "Running").encode(), WorkflowStatus)
        is WorkflowStatus.RUNNING
    )
    text = '{"type":"String","data":"é😀"}'
    assert from_json(text.encode("utf-8"), SearchAttributeValue) == "é😀"
    bad(b'"Run\xffning"', WorkflowStatus, "json: invalid UTF-8 at byte 4: invalid start byte")
    bad(b'"\xc3"', WorkflowStatus, "json: invalid UTF-8 at byte 1: invalid continuation byte")
    bad(b'"ab\xc3', WorkflowStatus, "json: invalid UTF-8 at byte 3: unexpected end of data")
    bad(
        b'"\xed\xa0\x80"',
        WorkflowStatus,
        "json: invalid UTF-8 at byte 1: invalid continuation byte",
    )
    # json.loads would sniff UTF-16 and UTF-32; the wire form is UTF-8 only
    bad(
        '"Running"'.encode("utf-16"),
        WorkflowStatus,
        "json: invalid UTF-8 at byte 0: invalid start byte",
    )
    bad(
        '"Running"'.encode("utf-16-le"),
        WorkflowStatus,
        "json: invalid JSON at line 1 column 2: ...",
    )
    # a UTF-8 byte order mark is not JSON
    bad(
        b'\xef\xbb\xbf"Running"',
        WorkflowStatus,
        "json: invalid JSON at line 1 column 1: Expecting value",
    )


# -- plain JSON values, for streaming readers -----------------------------------------


def test_event_obj_round_trip() -> None:
    event = from_json(TIMER_STARTED, Event)
    obj = event_to_obj(event)
    assert obj == json.loads(TIMER_STARTED)
    assert event_from_obj(obj) == event
    assert dump_value(obj) == TIMER_STARTED
    with pytest.raises(TypeError):
        event_to_obj("x")  # type: ignore[arg-type]


def test_event_from_obj_names_the_given_path() -> None:
    obj = json.loads(TIMER_STARTED)
    obj["data"]["envelope"]["seq"] = "x"
    with pytest.raises(SerializationError) as caught:
        event_from_obj(obj, "line 3")
    assert caught.value.detail == 'line 3.data.envelope.seq: expected unsigned integer, got "x"'
    with pytest.raises(SerializationError) as caught:
        event_from_obj([1], "event[7]")
    assert caught.value.detail.startswith("event[7]: expected event object")


def test_dump_value() -> None:
    assert dump_value({"a": [1, 2.0, 1e-7, None, True, False, "é\n"], "b": {}}) == (
        '{"a":[1,2.0,1e-7,null,true,false,"é\\n"],"b":{}}'
    )
    assert dump_value((1, 2)) == "[1,2]"
    with pytest.raises(TypeError):
        dump_value({1: 2})
    with pytest.raises(TypeError):
        dump_value(object())
    with pytest.raises(ValueError):
        dump_value(math.nan)


def test_loads_helper() -> None:
    assert _json.loads(b' {"a": [1]} ') == {"a": [1]}
    with pytest.raises(SerializationError):
        _json.loads("NaN")


# -- properties over every covered type -------------------------------------------------


def same(left: Any, right: Any) -> bool:
    """Equality that tells ``1`` from ``1.0`` and ``True`` (search attribute values)."""
    return type(left) is type(right) and left == right


@settings(max_examples=400, deadline=None)
@given(strategies.any_wire_value())
def test_round_trip_every_type(pair: tuple[Any, Any]) -> None:
    cls, value = pair
    text = to_json(value)
    assert "\n" not in text
    decoded = from_json(text, cls)
    assert same(decoded, value)
    assert to_json(decoded) == text
    assert from_json(text.encode("utf-8"), cls) == decoded
    parsed = json.loads(text)
    assert dump_value(parsed) == text  # compact, serde's notation throughout
    if isinstance(value, Event):
        assert event_to_obj(value) == parsed
        assert event_from_obj(parsed) == value
        assert dump_value(event_to_obj(value)) == text


@settings(max_examples=50, deadline=None)
@given(st.lists(strategies.events(), max_size=5))
def test_history_round_trip(events: list[Event]) -> None:
    text = to_json(events)
    assert from_json(text, list[Event]) == events
    assert text == "[" + ",".join(to_json(event) for event in events) + "]"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_leak_other_errors(data: bytes) -> None:
    for cls in (Event, list[Event], SearchAttributeValue, ScheduleConfig, TimerId):
        with contextlib.suppress(SerializationError):
            from_json(data, cls)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=5)
        | st.sampled_from(["TimerStarted", "Named", "Int", "type", "data", AT_TEXT, WID_TEXT]),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["type", "data", "envelope", "seq", "timer_id", "fire_at", "Named", "x"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_values_never_leak_other_errors(value: Any) -> None:
    text = json.dumps(value)
    for cls in (Event, list[Event], SearchAttributeValue, TimerId, TimerEntry):
        with contextlib.suppress(SerializationError):
            from_json(text, cls)


@settings(max_examples=200, deadline=None)
@given(strategies.events(), st.data())
def test_mutated_events_never_leak_other_errors(event: Event, data: st.DataObject) -> None:
    obj = event_to_obj(event)
    body = obj["data"]
    key = data.draw(st.sampled_from(sorted(body)))
    body[key] = data.draw(
        st.none() | st.booleans() | st.integers() | st.text(max_size=3) | st.just([]) | st.just({})
    )
    try:
        decoded = event_from_obj(obj)
    except SerializationError as error:
        assert error.detail.startswith("event.data")
    else:
        assert isinstance(decoded, type(event))
