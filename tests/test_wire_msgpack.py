"""The msgpack form: layout, round trips, malformed input, and compiled/pure parity."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aion_store
from aion_store import (
    ActivityError,
    ActivityErrorKind,
    ActivityId,
    CatchUpPolicy,
    Event,
    EventEnvelope,
    ListWorkflowsFilter,
    Payload,
    RunId,
    ScheduleConfig,
    ScheduleId,
    SearchAttributePredicate,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    SerializationError,
    TimerEntry,
    TimerId,
    TriggerSpec,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    wire,
)
from aion_store._select import load_core
from aion_store.wire import _msgpack_py as pure_codec
from engines import COMPILED_BUILT, ENGINES, requires_compiled

UTC = timezone.utc
WID = WorkflowId("00000000-0000-0000-0000-000000000001")
AT = datetime(2023, 11, 14, 22, 13, 33, tzinfo=UTC)
core_codec: Any = load_core() if COMPILED_BUILT else None


@pytest.fixture(params=ENGINES)
def codec(request: pytest.FixtureRequest) -> ModuleType:
    return pure_codec if request.param == "pure" else core_codec


def envelope(seq: int, at: datetime = AT) -> EventEnvelope:
    return EventEnvelope(seq, at, WID)


def sample_events() -> list[Event]:
    return [
        Event.WorkflowStarted(
            envelope(1),
            "checkout",
            Payload.from_json({"a": 1}),
            RunId(int_id(2)),
            None,
            aion_store.PackageVersion("abc"),
        ),
        Event.SearchAttributesUpdated(
            envelope(2, datetime(1, 1, 1, tzinfo=UTC)),
            WID,
            {
                "s": "x",
                "i": -(2**63),
                "j": 2**63 - 1,
                "f": -0.0,
                "b": False,
                "d": datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
                "far": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                "k": ("red", "blue"),
                "e": (),
            },
        ),
        Event.ActivityFailed(
            envelope(3, datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
            ActivityId(2**64 - 1),
            ActivityError(ActivityErrorKind.TERMINAL, "é" * 300, Payload.from_json([1])),
            2**32 - 1,
        ),
        Event.TimerStarted(envelope(4), TimerId.named("t" * 40), AT),
        Event.TimerFired(envelope(5), TimerId.anonymous(0)),
        Event.ScheduleCreated(
            envelope(6),
            ScheduleId(int_id(4)),
            ScheduleConfig(
                TriggerSpec.Interval(timedelta(days=3, microseconds=1)),
                "nightly",
                Payload(aion_store.ContentType.JSON, b"x" * 70_000),
                catch_up_policy=CatchUpPolicy.ALL,
                search_attributes={"q": 1.5},
            ),
        ),
        Event.WithTimeoutCompleted(
            envelope(7), TimerId.named("t"), aion_store.WithTimeoutOutcome.TIMED_OUT, None
        ),
        Event.ScheduleTriggered(
            envelope(2**64 - 1), ScheduleId(int_id(4)), WorkflowId(int_id(7)), RunId(int_id(8))
        ),
    ]


def int_id(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012x}"


def test_documented_example_bytes(codec: ModuleType) -> None:
    # docs/wire-format.md shows these exact bytes.
    event = Event.ActivityStarted(envelope(13), ActivityId(12))
    expected = bytes.fromhex(
        "01 95 08 0d cf 00 06 0a 24 18 e4 9d 40 c4 10"
        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 0c"
    )
    assert codec.to_msgpack(event) == expected
    assert codec.from_msgpack(expected, Event) == event


def test_events_round_trip_and_paths_agree(codec: ModuleType) -> None:
    events = sample_events()
    for event in events:
        data = codec.to_msgpack(event)
        assert data == pure_codec.to_msgpack(event), type(event).__name__
        decoded = codec.from_msgpack(data, Event)
        assert decoded == event and type(decoded) is type(event)
        assert codec.from_msgpack(data, type(event)) == event
    history = codec.to_msgpack(events)
    assert history == pure_codec.to_msgpack(events)
    assert history == b"\x01" + b"".join(codec.to_msgpack(e)[1:] for e in events)
    assert codec.from_msgpack(history, list[Event]) == events


def test_history_is_a_stream_of_msgpack_objects(codec: ModuleType) -> None:
    events = sample_events()
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(codec.to_msgpack(events))
    objects = list(unpacker)
    assert objects[0] == 1
    assert [item[0] for item in objects[1:]] == [event.TAG for event in events]


def test_empty_history(codec: ModuleType) -> None:
    assert codec.to_msgpack([]) == b"\x01"
    assert codec.from_msgpack(b"\x01", list[Event]) == []


@requires_compiled
def test_decoded_history_shares_one_workflow_id_object() -> None:
    decoded = core_codec.from_msgpack(core_codec.to_msgpack(sample_events()), list[Event])
    owners = {id(event.envelope.workflow_id) for event in decoded}
    assert len(owners) == 1


def test_wire_module_uses_the_selected_codec() -> None:
    expected = core_codec if aion_store.compiled else pure_codec
    assert wire.from_msgpack is expected.from_msgpack
    assert wire.to_msgpack is expected.to_msgpack


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        (WorkflowStatus.CONTINUED_AS_NEW, WorkflowStatus),
        (TimerEntry(WID, TimerId.named("x"), AT), TimerEntry),
        (WorkflowFilter(status=WorkflowStatus.FAILED, parent=WID), WorkflowFilter),
        (
            ListWorkflowsFilter(
                search_attributes=[
                    SearchAttributePredicate.Equals("i", 1),
                    SearchAttributePredicate.GreaterThan("d", AT),
                    SearchAttributePredicate.LessThan("f", 1.0),
                    SearchAttributePredicate.Contains("k", "x"),
                ],
                limit=10,
                offset=2**32 - 1,
            ),
            ListWorkflowsFilter,
        ),
        (TriggerSpec.Cron("* * * * *"), TriggerSpec),
        ("text", SearchAttributeValue),
        (7, SearchAttributeValue),
        (7.0, SearchAttributeValue),
        (True, SearchAttributeValue),
        (("a", "b"), SearchAttributeValue),
        (AT, SearchAttributeValue),
        (SearchAttributeSchema({"i": SearchAttributeType.INT}), SearchAttributeSchema),
        (WID, WorkflowId),
        (TimerId.anonymous(3), TimerId),
    ],
)
def test_other_types_round_trip(codec: ModuleType, value: Any, cls: Any) -> None:
    data = codec.to_msgpack(value)
    assert data[:1] == b"\x01"
    decoded = codec.from_msgpack(data, cls)
    assert decoded == value
    assert type(decoded) is type(value)


def test_search_value_types_stay_distinct(codec: ModuleType) -> None:
    assert type(codec.from_msgpack(codec.to_msgpack(1), SearchAttributeValue)) is int
    assert type(codec.from_msgpack(codec.to_msgpack(1.0), SearchAttributeValue)) is float
    assert type(codec.from_msgpack(codec.to_msgpack(True), SearchAttributeValue)) is bool


def body(*items: Any) -> bytes:
    return b"\x01" + msgpack.packb(list(items), use_bin_type=True)


GOOD = [8, 13, 1_700_000_013_000_000, WID._int.to_bytes(16, "big"), 12]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "msgpack: empty input, expected the format version marker"),
        (b"\x02\x90", "unsupported format version 2"),
        (b"\xa1x\x90", 'unsupported format version "x"'),
        (b"\x01", "event: truncated msgpack input: no value after the version marker"),
        (body(*GOOD)[:-2], "event: truncated msgpack input"),
        (body(*GOOD) + b"\xc0", "event: 1 byte of extra data after the value"),
        (body(99, *GOOD[1:]), "event.type: unknown event variant tag 99"),
        (
            body("ActivityStarted", *GOOD[1:]),
            'event.type: unknown event variant tag "ActivityStarted"',
        ),
        (body(*GOOD[:-1]), "expected ActivityStarted as an array of 5 items, got 4"),
        (body(*GOOD, 1), "expected ActivityStarted as an array of 5 items, got 6"),
        (body(8, "x", *GOOD[2:]), 'event.envelope.seq: expected unsigned integer, got "x"'),
        (body(8, -1, *GOOD[2:]), "event.envelope.seq: expected unsigned integer, got -1"),
        (body(8, 0, *GOOD[2:]), "event.envelope.seq must be between 1 and"),
        (body(8, 13, 2**63 - 1, *GOOD[3:]), "event.envelope.recorded_at: timestamp"),
        (body(8, 13, 1.5, *GOOD[3:]), "event.envelope.recorded_at: expected timestamp"),
        (body(8, 13, GOOD[2], b"short", 12), "event.envelope.workflow_id: expected 16-byte"),
        (body(*GOOD[:4], -3), "event.activity_id: expected unsigned integer, got -3"),
        (body(*GOOD[:4], True), "event.activity_id: expected unsigned integer, got true"),
        (body(13, *GOOD[1:4], ""), "event.timer_id: TimerId.name must not be empty"),
        (body(13, *GOOD[1:4], 1.0), "event.timer_id: expected timer name"),
        (b"\x01\x95\x08\x0d\x00\xc4\x10" + b"\x00" * 16 + b"\xa1\xff", "invalid"),
        (
            body(10, *GOOD[1:4], 1, [0, "m", None], 2**32),
            "event.attempt must be between 0 and 4294967295",
        ),
        (
            body(10, *GOOD[1:4], 1, [5, "m", None], 1),
            "event.error.kind: expected ActivityErrorKind index 0-1",
        ),
        (
            body(10, *GOOD[1:4], 1, [0, "m"], 1),
            "event.error: expected ActivityError as an array of 3 items",
        ),
        (body(6, *GOOD[1:4], GOOD[3], {"f": float("nan")}), "must be finite"),
        (body(6, *GOOD[1:4], GOOD[3], {"i": 2**63}), "event.attributes['i'] must be between"),
        (
            body(6, *GOOD[1:4], GOOD[3], {"k": ["a", 1]}),
            "event.attributes['k'][1]: expected keyword string",
        ),
        (
            body(6, *GOOD[1:4], GOOD[3], {"n": None}),
            "event.attributes['n']: expected search attribute value",
        ),
        (body(6, *GOOD[1:4], GOOD[3], {1: "x"}), "invalid"),
        (body(6, *GOOD[1:4], GOOD[3], [1]), "event.attributes: expected map of search attributes"),
        (body(7, *GOOD[1:4], 1, "t", "not bin"), 'event.input: expected binary, got "not bin"'),
        (
            body(22, *GOOD[1:4], GOOD[3], [[0, 0], "t", b"", 0, 1, {}]),
            "event.config.trigger.period must be a positive duration",
        ),
        (
            body(22, *GOOD[1:4], GOOD[3], [[0, 10**6], "t", b"", 0, 1, {}]),
            "event.config.trigger.period: duration microseconds 1000000 must be below 1000000",
        ),
        (body(22, *GOOD[1:4], GOOD[3], [[86400 * 10**9, 0], "t", b"", 0, 1, {}]), "out of range"),
        (
            body(22, *GOOD[1:4], GOOD[3], [5, "t", b"", 0, 1, {}]),
            "event.config.trigger: expected cron expression",
        ),
    ],
)
def test_malformed_input_raises_the_same_error_on_both_paths(
    codec: ModuleType, data: bytes, message: str
) -> None:
    with pytest.raises(SerializationError) as caught:
        codec.from_msgpack(data, Event)
    assert message in str(caught.value)
    with pytest.raises(SerializationError) as pure_caught:
        pure_codec.from_msgpack(data, Event)
    assert str(caught.value) == str(pure_caught.value)


def test_malformed_history_names_the_event_index(codec: ModuleType) -> None:
    events = sample_events()
    data = codec.to_msgpack(events) + msgpack.packb([8, "x"])
    with pytest.raises(SerializationError, match=r"event\[8\]"):
        codec.from_msgpack(data, list[Event])


def test_a_different_variant_than_asked_is_malformed(codec: ModuleType) -> None:
    data = codec.to_msgpack(Event.ActivityStarted(envelope(1), ActivityId(1)))
    with pytest.raises(
        SerializationError, match=r"expected TimerFired, got Event\.ActivityStarted"
    ):
        codec.from_msgpack(data, Event.TimerFired)


def test_input_must_be_bytes(codec: ModuleType) -> None:
    with pytest.raises(TypeError, match="bytes"):
        codec.from_msgpack("text", Event)
    data = codec.to_msgpack(sample_events()[0])
    assert codec.from_msgpack(bytearray(data), Event) == sample_events()[0]
    assert codec.from_msgpack(memoryview(data), Event) == sample_events()[0]


def test_unsupported_types_are_type_errors(codec: ModuleType) -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        codec.to_msgpack(object())
    with pytest.raises(TypeError, match="item 1"):
        codec.to_msgpack([sample_events()[0], "x"])
    with pytest.raises(TypeError, match="does not cover"):
        codec.from_msgpack(b"\x01\x00", dict)


def test_non_canonical_but_valid_encodings_decode_the_same(codec: ModuleType) -> None:
    # A seq written as uint64 instead of a fixint is still seq 13.
    event = Event.ActivityStarted(envelope(13), ActivityId(12))
    canonical = codec.to_msgpack(event)
    wide = canonical.replace(b"\x95\x08\x0d", b"\x95\x08\xcf" + (13).to_bytes(8, "big"), 1)
    assert wide != canonical
    assert codec.from_msgpack(wide, Event) == event


def outcome(codec_module: ModuleType, data: bytes, cls: Any) -> tuple[str, Any]:
    """The value decoded, or the SerializationError message (any other error fails)."""
    try:
        return ("ok", codec_module.from_msgpack(data, cls))
    except SerializationError as error:
        return ("error", str(error))


@requires_compiled
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([list[Event], Event]))
def test_random_bytes_give_the_same_outcome_on_both_paths(data: bytes, cls: Any) -> None:
    assert outcome(pure_codec, b"\x01" + data, cls) == outcome(core_codec, b"\x01" + data, cls)


@requires_compiled
@settings(max_examples=200, deadline=None)
@given(st.data())
def test_truncations_and_corruptions_agree_between_paths(data: st.DataObject) -> None:
    full = core_codec.to_msgpack(sample_events())
    cut = data.draw(st.integers(0, len(full)))
    flip = data.draw(st.integers(0, max(len(full) - 1, 0)))
    corrupted = bytearray(full[:cut])
    if corrupted and flip < len(corrupted):
        corrupted[flip] ^= data.draw(st.integers(1, 255))
    data_bytes = bytes(corrupted)
    pure = outcome(pure_codec, data_bytes, list[Event])
    assert outcome(core_codec, data_bytes, list[Event]) == pure


def test_decoding_intervals_does_not_grow_the_plan_cache() -> None:
    interval = TriggerSpec.Interval(timedelta(seconds=90))
    data = pure_codec.to_msgpack(interval)
    pure_codec.from_msgpack(data, TriggerSpec)
    before = len(pure_codec._PLANS)
    for _ in range(50):
        assert pure_codec.from_msgpack(data, TriggerSpec) == interval
        pure_codec.to_msgpack(interval)
    assert len(pure_codec._PLANS) == before


# -- stored event bodies (what the durable stores keep per row) ------------------------------


def test_event_bodies_are_the_history_form_cut_per_event(codec: ModuleType) -> None:
    events = [event for event in sample_events() if event.envelope.workflow_id == WID]
    bodies = codec.encode_event_bodies(events)
    assert bodies == pure_codec.encode_event_bodies(events)
    assert b"".join(bodies) == codec.to_msgpack(events)[1:]
    assert [codec.from_msgpack(pure_codec.MARKER + body, Event) for body in bodies] == events


def test_stored_events_decode_and_share_the_workflow_id(codec: ModuleType) -> None:
    history = [
        Event.SignalReceived(envelope(seq), "s", Payload.from_json(seq)) for seq in (4, 5, 6)
    ]
    bodies = codec.encode_event_bodies(history)
    owner = WorkflowId(str(WID))
    decoded = codec.decode_stored_events(bodies, owner, 4)
    assert decoded == history
    if codec is core_codec:  # the compiled decoder shares one id object per history
        assert all(event.envelope.workflow_id is owner for event in decoded)
    assert codec.decode_stored_events([], owner, 1) == []


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda bodies: [bodies[0], bodies[0]], "seq 2): holds the event with seq 1"),
        (lambda bodies: [bodies[0], bodies[1] + b"\xc0"], "seq 2): 1 byte of extra data"),
        (lambda bodies: [bodies[0], b""], "seq 2): empty"),
        (lambda bodies: [bodies[0], b"\x93\xc0"], "seq 2): truncated msgpack input"),
        (lambda bodies: [bodies[0], bodies[1][:-1]], "seq 2): truncated msgpack input"),
        (lambda bodies: [bodies[0], "text"], "seq 2): expected msgpack bytes"),
    ],
)
def test_a_stored_event_that_is_not_the_one_expected(
    codec: ModuleType, mangle: Any, message: str
) -> None:
    history = [Event.SignalReceived(envelope(seq), "s", Payload.from_json(seq)) for seq in (1, 2)]
    bodies = mangle(codec.encode_event_bodies(history))
    with pytest.raises(SerializationError) as caught:
        codec.decode_stored_events(bodies, WID, 1)
    assert f"stored event (workflow {WID}, {message}" in str(caught.value)
    with pytest.raises(SerializationError) as pure:
        pure_codec.decode_stored_events(bodies, WID, 1)
    assert str(pure.value) == str(caught.value)


def test_a_stored_event_of_another_workflow(codec: ModuleType) -> None:
    other = WorkflowId(int_id(99))
    event = Event.SignalReceived(EventEnvelope(1, AT, other), "s", Payload.from_json(1))
    with pytest.raises(SerializationError, match=f"holds an event of workflow {other}"):
        codec.decode_stored_events(codec.encode_event_bodies([event]), WID, 1)
