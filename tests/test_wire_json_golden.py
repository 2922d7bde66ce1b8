"""The JSON form against real serde_json output of the original Rust types.

``data/rust_serde_vectors.json`` holds 163 values that the Rust crates' own serde derives
serialized (see its ``description`` fields). Every vector must decode and re-encode to
the same bytes (``compare == "exact"``) or to equal JSON (a Rust ``HashMap`` with several
keys has no stable order), except the five that SPEC §11 rejects on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aion_store import (
    ActivityError,
    ActivityErrorKind,
    ActivityId,
    CatchUpPolicy,
    ContentType,
    Event,
    EventEnvelope,
    ListWorkflowsFilter,
    OverlapPolicy,
    PackageVersion,
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
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WithTimeoutOutcome,
    WorkflowError,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WorkflowSummary,
)
from aion_store.wire._json import (
    dump_value,
    event_from_obj,
    event_to_obj,
    from_json,
    to_json,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "rust_serde_vectors.json").read_text("utf-8")
)

#: The Rust type of each vector -> the ``cls`` to pass to ``from_json``.
RUST_TYPES: dict[str, Any] = {
    "aion_core::WorkflowId": WorkflowId,
    "aion_core::RunId": RunId,
    "aion_core::ScheduleId": ScheduleId,
    "aion_core::ActivityId": ActivityId,
    "aion_core::TimerId": TimerId,
    "aion_core::PackageVersion": PackageVersion,
    "aion_core::Payload": Payload,
    "aion_core::ContentType": ContentType,
    "aion_core::WorkflowError": WorkflowError,
    "aion_core::ActivityError": ActivityError,
    "aion_core::ActivityErrorKind": ActivityErrorKind,
    "aion_core::WorkflowStatus": WorkflowStatus,
    "aion_core::WithTimeoutOutcome": WithTimeoutOutcome,
    "aion_core::OverlapPolicy": OverlapPolicy,
    "aion_core::CatchUpPolicy": CatchUpPolicy,
    "aion_core::SearchAttributeType": SearchAttributeType,
    "aion_core::SearchAttributeValue": SearchAttributeValue,
    "aion_core::SearchAttributeSchema": SearchAttributeSchema,
    "aion_core::EventEnvelope": EventEnvelope,
    "aion_core::TriggerSpec": TriggerSpec,
    "aion_core::ScheduleConfig": ScheduleConfig,
    "aion_core::Event": Event,
    "Vec<aion_core::Event>": list[Event],
    "aion_core::WorkflowSummary": WorkflowSummary,
    "aion_core::WorkflowFilter": WorkflowFilter,
    "aion_store::TimerEntry": TimerEntry,
    "aion_store::VisibilityRecord": VisibilityRecord,
    "aion_store::visibility::WorkflowSummary": VisibilityWorkflowSummary,
    "aion_store::ListWorkflowsFilter": ListWorkflowsFilter,
    "aion_store::SearchAttributePredicate": SearchAttributePredicate,
}

#: Vectors SPEC §11 rejects on purpose, with the path and problem of the error.
REJECTED: dict[str, str] = {
    "sav_float_nan": "search_attribute_value.data: expected number, got null",
    "sav_float_inf": "search_attribute_value.data: expected number, got null",
    "sav_float_neg_inf": "search_attribute_value.data: expected number, got null",
    "trigger_interval_zero": "trigger_spec.Interval.period: duration 0 s 0 ns is zero",
    "trigger_interval_1ns": "trigger_spec.Interval.period: duration 0 s 1 ns is zero",
}

_NANOS = re.compile(r'(?<=:\d\d)\.(\d{7,9})Z"')


def truncate_nanos(text: str) -> str:
    """Expected JSON once nanosecond fractions are cut to microseconds (chrono's rule)."""

    def fraction(match: re.Match[str]) -> str:
        micros = int(match.group(1)[:6])
        if micros == 0:
            return 'Z"'
        if micros % 1000 == 0:
            return f'.{micros // 1000:03d}Z"'
        return f'.{micros:06d}Z"'

    return _NANOS.sub(fraction, text)


def test_truncate_nanos_helper() -> None:
    assert truncate_nanos('"2023-11-14T22:13:20.123456789Z"') == '"2023-11-14T22:13:20.123456Z"'
    assert truncate_nanos('"2023-11-14T22:13:20.000000001Z"') == '"2023-11-14T22:13:20Z"'
    assert truncate_nanos('"2023-11-14T22:13:20.120000009Z"') == '"2023-11-14T22:13:20.120Z"'
    assert truncate_nanos('"2023-11-14T22:13:20.123Z"') == '"2023-11-14T22:13:20.123Z"'


def test_vector_file_shape() -> None:
    assert len(VECTORS) == 163
    names = [vector["name"] for vector in VECTORS]
    assert len(set(names)) == 163
    assert {vector["rust_type"] for vector in VECTORS} == set(RUST_TYPES)
    assert set(REJECTED) <= set(names)
    assert {vector["compare"].split()[0] for vector in VECTORS} == {"exact", "json-equal"}
    # every event variant appears at least once
    variants = {
        json.loads(vector["json"])["type"]
        for vector in VECTORS
        if vector["rust_type"] == "aion_core::Event"
    }
    assert len(variants) == 28


def check_vector(vector: dict[str, Any]) -> str:
    """Decode and re-encode one vector; returns ``"roundtrip"`` or ``"rejected"``."""
    cls = RUST_TYPES[vector["rust_type"]]
    name = vector["name"]
    if name in REJECTED:
        with pytest.raises(SerializationError) as caught:
            from_json(vector["json"], cls)
        assert caught.value.detail.startswith(REJECTED[name])
        return "rejected"
    value = from_json(vector["json"], cls)
    if isinstance(cls, type) and cls is not SearchAttributeValue:
        assert isinstance(value, cls)
    expected = truncate_nanos(vector["json"])
    encoded = to_json(value)
    if vector["compare"] == "exact":
        assert encoded == expected
    else:
        assert vector["compare"].startswith("json-equal")
        assert json.loads(encoded) == json.loads(expected)
    # decoding what we wrote gives the same value back
    again = from_json(encoded, cls)
    assert again == value
    assert type(again) is type(value)
    # bytes in, same value out
    assert from_json(vector["json"].encode("utf-8"), cls) == value
    return "roundtrip"


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_golden_vector(vector: dict[str, Any]) -> None:
    check_vector(vector)


def test_every_vector_exercised() -> None:
    outcomes = [check_vector(vector) for vector in VECTORS]
    assert len(outcomes) == 163
    assert outcomes.count("rejected") == 5
    assert outcomes.count("roundtrip") == 158


@pytest.mark.parametrize(
    "vector",
    [vector for vector in VECTORS if vector["rust_type"] == "aion_core::Event"],
    ids=lambda vector: vector["name"],
)
def test_golden_event_as_plain_values(vector: dict[str, Any]) -> None:
    event = from_json(vector["json"], Event)
    obj = event_to_obj(event)
    assert obj == json.loads(to_json(event))
    assert dump_value(obj) == to_json(event)
    assert event_from_obj(json.loads(vector["json"])) == event


def test_golden_history_items_are_golden_events() -> None:
    by_name = {vector["name"]: vector for vector in VECTORS}
    history = from_json(by_name["history_list"]["json"], list[Event])
    assert len(history) >= 2
    events = {
        to_json(from_json(v["json"], Event)) for v in VECTORS if v["rust_type"].endswith("Event")
    }
    assert all(to_json(event) in events for event in history)


def test_golden_float_vectors_give_python_floats() -> None:
    for vector in VECTORS:
        data = json.loads(vector["json"])
        if vector["name"] in REJECTED or not isinstance(data, dict) or data.get("type") != "Float":
            continue
        value = from_json(vector["json"], SearchAttributeValue)
        assert type(value) is float
        assert value == data["data"]
