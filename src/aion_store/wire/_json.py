"""The serde-compatible JSON form (SPEC §11): what the Rust crate's serde derives write.

Every covered type gets a *plan* once, built by walking its field kinds
(:func:`aion_store._fields.spec_of`): a text encoder that writes compact JSON directly,
an object encoder that builds plain JSON values (dicts, lists, str, int, float, bool,
None), and a decoder that reads parsed JSON values back through the public
constructors. Decoders take the value and its *path* (``event.data.envelope.seq``) and
raise :class:`~aion_store.error.SerializationError` with that path on anything
malformed.

The text encoder reproduces serde_json byte for byte: no whitespace, non-ASCII written
raw, serde_json's string escapes, ryu's float notation and chrono's timestamp fractions.

This module plans the classes (ids, enums, records, externally tagged unions, events,
the search attribute schema) and holds every entry point; the plans of values (numbers,
strings, timestamps, durations, bytes, search attribute values) are in
:mod:`aion_store.wire._json_values`, whose ``format_float``, ``format_timestamp`` and
``parse_timestamp`` it re-exports.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from datetime import datetime
from json.encoder import encode_basestring as _quote
from operator import attrgetter
from typing import Any, NamedTuple

from aion_store._fields import Optional, spec_of
from aion_store._text import a
from aion_store.events import VARIANTS, Event, EventEnvelope, WithTimeoutOutcome
from aion_store.ids import ActivityId, PackageVersion, RunId, ScheduleId, TimerId, WorkflowId
from aion_store.ids import _UuidId as UuidId
from aion_store.payload import (
    ActivityError,
    ActivityErrorKind,
    ContentType,
    Payload,
    WorkflowError,
)
from aion_store.run_chain import RunSummary
from aion_store.schedule import CatchUpPolicy, OverlapPolicy, ScheduleConfig, TriggerSpec
from aion_store.search import (
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    check_value,
)
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)
from aion_store.wire._common import expected, is_history, malformed, root_name, show
from aion_store.wire._json_values import (
    MISSING,
    REQUIRED,
    U64_DECODE,
    Decoder,
    Plan,
    TextEncoder,
    check_str,
    constructor_error,
    decode_sav,
    format_float,
    format_timestamp,
    kind_plan,
    missing_field,
    parse_timestamp,
    sav_text,
    unknown_variant,
)

__all__ = [
    "dump_value",
    "event_from_obj",
    "event_to_obj",
    "format_float",
    "format_timestamp",
    "from_json",
    "loads",
    "parse_timestamp",
    "to_json",
]


# -- plans for classes -------------------------------------------------------------------

_CLASS_PLANS: dict[type, Plan] = {}


def _class_plan(cls: type) -> Plan:
    plan = _CLASS_PLANS.get(cls)
    if plan is None:
        plan = _build_class_plan(cls)
        _CLASS_PLANS[cls] = plan
    return plan


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_plan(cls: type[UuidId]) -> Plan:
    name = cls.__name__
    canonical = _CANONICAL_UUID.fullmatch
    from_int = cls._from_int

    def text(value: UuidId) -> str:
        return '"' + str(value) + '"'

    def decode(raw: Any, path: str) -> UuidId:
        if type(raw) is not str:
            raise expected(path, f"{name} UUID string", raw)
        if canonical(raw) is not None:
            return from_int(int(raw.replace("-", ""), 16))
        try:
            return cls(raw)
        except (TypeError, ValueError):
            raise malformed(path, f"invalid UUID string {show(raw)}") from None

    return Plan(text, str, decode)


def _activity_id_text(value: ActivityId) -> str:
    return int.__repr__(value.sequence_position)


def _activity_id_obj(value: ActivityId) -> int:
    return value.sequence_position


def _decode_activity_id(raw: Any, path: str) -> ActivityId:
    position = U64_DECODE(raw, path)
    try:
        return ActivityId(position)
    except (TypeError, ValueError) as error:  # pragma: no cover - checked above
        raise constructor_error(path, error) from None


def _timer_id_text(value: TimerId) -> str:
    name = value.name
    if name is not None:
        return '{"Named":' + _quote(name) + "}"
    return '{"Anonymous":' + str(value.sequence_position) + "}"


def _timer_id_obj(value: TimerId) -> dict[str, Any]:
    name = value.name
    if name is not None:
        return {"Named": name}
    return {"Anonymous": value.sequence_position}


def _single_entry(raw: Any, path: str, what: str, variants: Mapping[str, Any]) -> tuple[str, Any]:
    """The ``(variant, content)`` of an externally tagged enum object.

    The object must hold exactly one key naming a variant; other keys are unknown extra
    keys and ignored, like unknown keys anywhere else.
    """
    if type(raw) is not dict or not raw:
        raise expected(path, what, raw)
    if len(raw) == 1:
        for entry in raw.items():
            if entry[0] not in variants:
                raise unknown_variant(path, entry[0], ", ".join(variants))
            return entry
    known = [entry for entry in raw.items() if entry[0] in variants]
    if len(known) != 1:
        raise expected(path, what, raw)
    return known[0]


_TIMER_ID_WHAT = 'timer id object {"Named": name} or {"Anonymous": position}'
_TIMER_ID_VARIANTS = {"Named": None, "Anonymous": None}


def _decode_timer_id(raw: Any, path: str) -> TimerId:
    tag, value = _single_entry(raw, path, _TIMER_ID_WHAT, _TIMER_ID_VARIANTS)
    where = f"{path}.{tag}"
    if tag == "Named":
        name = check_str(value, where)
        if not name:
            raise malformed(where, "timer name must not be empty")
        return TimerId.named(name)
    return TimerId.anonymous(U64_DECODE(value, where))


def _package_version_text(value: PackageVersion) -> str:
    return _quote(str(value))


def _decode_package_version(raw: Any, path: str) -> PackageVersion:
    return PackageVersion(check_str(raw, path))


def _enum_plan(cls: type[enum.Enum]) -> Plan:
    texts = {member: _quote(member.value) for member in cls}
    by_value = {member.value: member for member in cls}
    names = ", ".join(by_value)
    what = f"{cls.__name__} variant name (string)"

    def obj(value: enum.Enum) -> str:
        return value.value  # type: ignore[no-any-return]

    def decode(raw: Any, path: str) -> enum.Enum:
        if type(raw) is not str:
            raise expected(path, what, raw)
        member = by_value.get(raw)
        if member is None:
            raise unknown_variant(path, raw, names)
        return member

    return Plan(texts.__getitem__, obj, decode)


#: Python field name -> serde key, where they differ.
_WIRE_NAMES: dict[type, dict[str, str]] = {Payload: {"data": "bytes"}}
#: Fields that serde fills with their default when absent (``#[serde(default)]``).
_SERDE_DEFAULTS: dict[type, tuple[str, ...]] = {
    ScheduleConfig: ("overlap_policy", "catch_up_policy", "search_attributes"),
}


def _record_plan(cls: type) -> Plan:
    """A struct: an object with its fields by name (declaration order, or ``WIRE_ORDER``)."""
    spec = spec_of(cls)
    plans = {field.name: kind_plan(field.kind, _class_plan) for field in spec}
    wire_names = _WIRE_NAMES.get(cls, {})
    order: tuple[str, ...] = getattr(cls, "WIRE_ORDER", None) or tuple(f.name for f in spec)
    if sorted(order) != sorted(plans):
        raise TypeError(f"{cls.__name__}.WIRE_ORDER does not list its fields")
    keys = {name: wire_names.get(name, name) for name in plans}
    getter = attrgetter(*order)
    single = len(order) == 1
    text_parts = tuple((_quote(keys[name]) + ":", plans[name].text) for name in order)
    obj_parts = tuple((keys[name], plans[name].obj) for name in order)

    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    serde_defaults = _SERDE_DEFAULTS.get(cls, ())
    decode_parts = []
    for field in spec:
        if field.name in serde_defaults:
            absent = defaults[field.name]
        elif isinstance(field.kind, Optional):
            absent = None
        else:
            absent = REQUIRED
        key = keys[field.name]
        decode_parts.append((key, "." + key, plans[field.name].decode, absent))
    decode_fields = tuple(decode_parts)
    what = f"{cls.__name__} object"

    def text(value: Any) -> str:
        values = (getter(value),) if single else getter(value)
        return (
            "{"
            + ",".join(
                [prefix + encode(item) for (prefix, encode), item in zip(text_parts, values)]
            )
            + "}"
        )

    def obj(value: Any) -> dict[str, Any]:
        values = (getter(value),) if single else getter(value)
        return {key: encode(item) for (key, encode), item in zip(obj_parts, values)}

    def decode(raw: Any, path: str) -> Any:
        if type(raw) is not dict:
            raise expected(path, what, raw)
        values: list[Any] = []
        append = values.append
        get = raw.get
        for key, suffix, decode_field, absent in decode_fields:
            item = get(key, MISSING)
            if item is MISSING:
                if absent is REQUIRED:
                    raise missing_field(path, key)
                append(absent)
            else:
                append(decode_field(item, path + suffix))
        try:
            return cls(*values)
        except (TypeError, ValueError) as error:
            raise constructor_error(path, error) from None

    return Plan(text, obj, decode)


def _variants_of(base: type, names: tuple[str, ...]) -> tuple[type, ...]:
    return tuple(getattr(base, name) for name in names)


def _external_plan(base: type, variants: tuple[type, ...]) -> Plan:
    """An enum of struct variants, externally tagged: ``{"<Variant>": {fields}}``."""
    bodies = {variant: _record_plan(variant) for variant in variants}
    texts = {
        variant: ('{"' + variant.__name__ + '":', bodies[variant].text) for variant in variants
    }
    by_name = {variant.__name__: bodies[variant].decode for variant in variants}
    names = ", ".join(by_name)
    what = f"{base.__name__} object with one variant key ({names})"

    def text(value: Any) -> str:
        prefix, encode = texts[type(value)]
        return prefix + encode(value) + "}"

    def obj(value: Any) -> dict[str, Any]:
        kind = type(value)
        return {kind.__name__: bodies[kind].obj(value)}

    def decode(raw: Any, path: str) -> Any:
        tag, body = _single_entry(raw, path, what, by_name)
        return by_name[tag](body, f"{path}.{tag}")

    return Plan(text, obj, decode)


# -- events: {"type": "<Variant>", "data": {"envelope": {...}, ...}} ----------------------

_EVENT_NAMES = ", ".join(variant.__name__ for variant in VARIANTS)


def _event_plan() -> Plan:
    bodies = [_record_plan(variant) for variant in VARIANTS]
    texts = tuple(
        ('{"type":"' + variant.__name__ + '","data":', body.text)
        for variant, body in zip(VARIANTS, bodies)
    )
    objs = tuple((variant.__name__, body.obj) for variant, body in zip(VARIANTS, bodies))
    by_name = {variant.__name__: body.decode for variant, body in zip(VARIANTS, bodies)}

    def text(value: Event) -> str:
        prefix, encode = texts[value.TAG]
        return prefix + encode(value) + "}"

    def obj(value: Event) -> dict[str, Any]:
        name, encode = objs[value.TAG]
        return {"type": name, "data": encode(value)}

    def decode(raw: Any, path: str) -> Event:
        if type(raw) is not dict:
            raise expected(path, 'event object {"type": ..., "data": ...}', raw)
        tag = raw.get("type", MISSING)
        if tag is MISSING:
            raise missing_field(path, "type")
        decode_body = by_name.get(tag) if type(tag) is str else None
        if decode_body is None:
            raise malformed(path + ".type", f"unknown event variant {show(tag)}")
        data = raw.get("data", MISSING)
        if data is MISSING:
            raise missing_field(path, "data")
        return decode_body(data, path + ".data")  # type: ignore[no-any-return]

    return Plan(text, obj, decode)


# -- the search attribute schema: {"attributes": {"name": "Int"}} --------------------------


def _schema_plan() -> Plan:
    type_text, type_obj, type_decode = _class_plan(SearchAttributeType)

    def text(value: SearchAttributeSchema) -> str:
        body = ",".join(
            [_quote(name) + ":" + type_text(kind) for name, kind in value.attributes.items()]
        )
        return '{"attributes":{' + body + "}}"

    def obj(value: SearchAttributeSchema) -> dict[str, Any]:
        return {"attributes": {name: type_obj(kind) for name, kind in value.attributes.items()}}

    def decode(raw: Any, path: str) -> SearchAttributeSchema:
        if type(raw) is not dict:
            raise expected(path, "SearchAttributeSchema object", raw)
        attributes = raw.get("attributes", MISSING)
        if attributes is MISSING:
            raise missing_field(path, "attributes")
        path += ".attributes"
        if type(attributes) is not dict:
            raise expected(path, "object of attribute types", attributes)
        types: dict[str, SearchAttributeType] = {}
        for name, kind in attributes.items():
            where = f"{path}[{name!r}]"
            types[check_str(name, where)] = type_decode(kind, where)
        try:
            return SearchAttributeSchema(types)
        except (TypeError, ValueError) as error:  # pragma: no cover - checked above
            raise constructor_error(path, error) from None

    return Plan(text, obj, decode)


def _build_class_plan(cls: type) -> Plan:
    if issubclass(cls, UuidId):
        return _uuid_plan(cls)
    if cls is ActivityId:
        return Plan(_activity_id_text, _activity_id_obj, _decode_activity_id)
    if cls is TimerId:
        return Plan(_timer_id_text, _timer_id_obj, _decode_timer_id)
    if cls is PackageVersion:
        return Plan(_package_version_text, str, _decode_package_version)
    if issubclass(cls, enum.Enum):
        return _enum_plan(cls)
    if cls is TriggerSpec:
        return _external_plan(TriggerSpec, _variants_of(TriggerSpec, ("Cron", "Interval")))
    if cls is SearchAttributePredicate:
        return _external_plan(
            SearchAttributePredicate,
            _variants_of(
                SearchAttributePredicate, ("Equals", "GreaterThan", "LessThan", "Contains")
            ),
        )
    if cls is Event:
        return _event_plan()
    if cls is SearchAttributeSchema:
        return _schema_plan()
    if cls in _RECORDS:
        return _record_plan(cls)
    raise TypeError(f"the JSON form does not cover {cls.__name__}")


#: Records whose JSON form is a plain object of their fields.
_RECORDS: frozenset[type] = frozenset(
    {
        Payload,
        WorkflowError,
        ActivityError,
        EventEnvelope,
        ScheduleConfig,
        TimerEntry,
        WorkflowSummary,
        RunSummary,
        VisibilityRecord,
        VisibilityWorkflowSummary,
        WorkflowFilter,
        ListWorkflowsFilter,
    }
)
#: Every class ``to_json``/``from_json`` take as a root (variants map to their base).
_ROOTS: dict[type, type] = {
    cls: cls
    for cls in (
        *_RECORDS,
        WorkflowId,
        RunId,
        ScheduleId,
        ActivityId,
        TimerId,
        PackageVersion,
        ContentType,
        ActivityErrorKind,
        WithTimeoutOutcome,
        OverlapPolicy,
        CatchUpPolicy,
        SearchAttributeType,
        WorkflowStatus,
        SearchAttributeSchema,
        Event,
        TriggerSpec,
        SearchAttributePredicate,
    )
}
_ROOTS.update(dict.fromkeys(VARIANTS, Event))
_ROOTS.update(dict.fromkeys((TriggerSpec.Cron, TriggerSpec.Interval), TriggerSpec))
_ROOTS.update(
    dict.fromkeys(
        (
            SearchAttributePredicate.Equals,
            SearchAttributePredicate.GreaterThan,
            SearchAttributePredicate.LessThan,
            SearchAttributePredicate.Contains,
        ),
        SearchAttributePredicate,
    )
)


# -- events one at a time, for streaming readers and writers ------------------------------

_EVENT_PLAN = _class_plan(Event)
_encode_event_text = _EVENT_PLAN.text
_decode_event = _EVENT_PLAN.decode


def event_to_obj(event: Event) -> dict[str, Any]:
    """An event as plain JSON values (``{"type": ..., "data": ...}``), like ``to_json``'s.

    Floats stay Python floats: write the result with :func:`dump_value` to get serde's
    float notation.
    """
    if not isinstance(event, Event):
        raise TypeError(f"event_to_obj takes an Event, got {type(event).__name__}")
    return _EVENT_PLAN.obj(event)  # type: ignore[no-any-return]


def event_from_obj(obj: Any, path: str = "event") -> Event:
    """Decode one event from already-parsed JSON values; errors name ``path``."""
    try:
        return _decode_event(obj, path)  # type: ignore[no-any-return]
    except (KeyError, IndexError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise malformed(path, f"malformed event: {error}") from None


# -- plain JSON values with serde_json's notation -----------------------------------------


def dump_value(value: Any) -> str:
    """Write plain JSON values (dict with str keys, list, tuple, str, int, float, bool,
    None) compactly the way serde_json would, floats in ryu notation."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return format_float(value)
    if kind is dict:
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"dump_value: object keys must be str, got {type(key).__name__}")
            parts.append(_quote(key) + ":" + dump_value(item))
        return "{" + ",".join(parts) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join([dump_value(item) for item in value]) + "]"
    raise TypeError(f"dump_value cannot write {kind.__name__}")


# -- public entry points ----------------------------------------------------------------

_SEARCH_VALUE_TYPES = (str, int, float, bool, datetime, tuple, list)


_TEXT_BY_TYPE: dict[type, TextEncoder] = {}
for _cls in _ROOTS:
    _TEXT_BY_TYPE[_cls] = _class_plan(_ROOTS[_cls]).text
del _cls


def _history_text(events: Any) -> str:
    parts = []
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise TypeError(
                f"to_json of a history: item {index} is {a(type(event).__name__)}, not an Event"
            )
        parts.append(_encode_event_text(event))
    return "[" + ",".join(parts) + "]"


def to_json(obj: Any) -> str:
    """Encode a covered value as serde_json would (a list of events is a history)."""
    encode = _TEXT_BY_TYPE.get(type(obj))
    if encode is not None:
        return encode(obj)
    kind = type(obj)
    if kind is list or (kind is tuple and obj and isinstance(obj[0], Event)):
        return _history_text(obj)
    for cls in type(obj).__mro__[1:]:
        encode = _TEXT_BY_TYPE.get(cls)
        if encode is not None:
            return encode(obj)
    if isinstance(obj, _SEARCH_VALUE_TYPES):
        return sav_text(check_value(obj, "search attribute value"))
    raise TypeError(f"to_json cannot encode {type(obj).__name__}")


class _Decoding(NamedTuple):
    decode: Decoder
    root: str
    variant: type | None


_DECODINGS: dict[Any, _Decoding] = {}


def _decode_history(raw: Any, path: str) -> list[Event]:
    if type(raw) is not list:
        raise expected(path, "array of events", raw)
    decode = _decode_event
    return [decode(item, f"{path}[{index}]") for index, item in enumerate(raw)]


def _decoding_for(cls: Any) -> _Decoding:
    decoding = _DECODINGS.get(cls)
    if decoding is not None:
        return decoding
    if is_history(cls):
        decoding = _Decoding(_decode_history, root_name(cls), None)
    elif cls is SearchAttributeValue:
        # ``root_name`` would read ``Union`` off the typing alias.
        decoding = _Decoding(decode_sav, "search_attribute_value", None)
    else:
        base = _ROOTS.get(cls) if isinstance(cls, type) else None
        if base is None:
            raise TypeError(f"the JSON form does not cover {cls!r}")
        variant = None if base is cls else cls
        decoding = _Decoding(_class_plan(base).decode, root_name(base), variant)
    _DECODINGS[cls] = decoding
    return decoding


class NonFiniteLiteral(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in JSON text: Python reads them, JSON has none."""


def _reject_constant(literal: str) -> Any:
    raise NonFiniteLiteral(f"{literal} is not a JSON value")


#: The JSON parser of every reader in the package (the library's and the CLI's).
JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)

_TOO_MANY_DIGITS = re.compile(r"integer string conversion: value has (\d+) digits")


def json_value_error(error: ValueError | RecursionError) -> str:
    """What a non-syntax error of :data:`JSON_DECODER` means, in words for a user."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    text = str(error)
    digits = _TOO_MANY_DIGITS.search(text)
    if digits is not None:
        # Python refuses to read very long integers (sys.set_int_max_str_digits); no
        # field of this package takes one: u64 and i64 have at most 20 digits.
        return f"a number with {int(digits.group(1)):,} digits is out of range for every field"
    return text.splitlines()[0] if text.strip() else type(error).__name__


def loads(text: str | bytes | bytearray | memoryview) -> Any:
    """Parse JSON text (UTF-8 when bytes) into plain values; ``SerializationError`` on
    invalid JSON, invalid UTF-8, ``NaN``/``Infinity`` literals or too deep nesting."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"invalid UTF-8 at byte {error.start}: {error.reason}"
            raise malformed("json", problem) from None
    elif not isinstance(text, str):
        raise TypeError(f"from_json takes str or bytes, got {type(text).__name__}")
    try:
        return JSON_DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise malformed(
            "json", f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:  # NaN, too deep, an integer too long
        raise malformed("json", f"invalid JSON: {json_value_error(error)}") from None


def from_json(text: str | bytes, cls: Any) -> Any:
    """Decode serde-compatible JSON as ``cls`` (``list[Event]`` for a history; for a
    bare search attribute value pass ``aion_store.search.SearchAttributeValue``)."""
    decode, root, variant = _decoding_for(cls)
    raw = loads(text)
    try:
        value = decode(raw, root)
    except (KeyError, IndexError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise malformed(root, f"malformed value: {error}") from None
    if variant is not None and type(value) is not variant:
        raise malformed(
            f"{root}.type" if issubclass(variant, Event) else root,
            f"expected {variant.__name__}, got {type(value).__name__}",
        )
    return value
