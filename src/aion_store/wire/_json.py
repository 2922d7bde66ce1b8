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
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from json.encoder import encode_basestring as _quote
from operator import attrgetter
from typing import Any, NamedTuple

from aion_store._fields import (
    UTC,
    Bytes,
    Duration,
    Instance,
    Kind,
    Optional,
    SInt,
    Str,
    Timestamp,
    TupleOf,
    UInt,
    check_timestamp,
    spec_of,
)
from aion_store._text import a
from aion_store.error import SerializationError
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
    AttributesKind,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    ValueKind,
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

TextEncoder = Callable[[Any], str]
ObjEncoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]


class Plan(NamedTuple):
    """How one kind or class is written as JSON text, as JSON values, and read back."""

    text: TextEncoder
    obj: ObjEncoder
    decode: Decoder


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()
_REQUIRED: Any = _Missing()


def _identity(value: Any) -> Any:
    return value


def _missing_field(path: str, key: str) -> SerializationError:
    return malformed(path, f'missing field "{key}"')


def _constructor_error(path: str, error: Exception) -> SerializationError:
    return malformed(path, str(error))


# -- floats: ryu's notation, as serde_json writes it ----------------------------------------


def format_float(value: float) -> str:
    """A finite float as serde_json writes it (shortest round-trip digits, ryu notation).

    Plain notation for ``1e-5 <= |x| < 1e16`` with ``.0`` when integral; otherwise an
    exponent with an explicit sign and no zero padding (``1e-7``, ``1.5e+300``).
    """
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"format_float takes a float, got {type(value).__name__}")
        value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"format_float takes a finite float, got {value!r}")
    text = float.__repr__(value)
    if "e" not in text:
        return text
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text)
    if exponent < -5 or exponent >= 16:
        return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent)}"
    # Python switches to an exponent below 1e-4, ryu only below 1e-5: write it plainly.
    sign = "-" if mantissa[0] == "-" else ""
    digits = mantissa.lstrip("-").replace(".", "")
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    return f"{sign}{whole}.{digits[exponent + 1 :] or '0'}"


# -- timestamps: RFC 3339, chrono's fraction rule, lenient reading ---------------------------


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: no fraction when zero, 3 digits for whole ms, else 6."""
    if type(value) is not datetime or value.tzinfo is not UTC:
        value = check_timestamp(value, "timestamp")
    text = value.isoformat()  # YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00
    micros = value.microsecond
    if micros and not micros % 1000:
        return text[:23] + "Z"
    return text[:-6] + "Z"


_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):?([0-9]{2}))"
)


def parse_timestamp(text: Any, path: str) -> datetime:
    """Read an RFC 3339 timestamp leniently (SPEC §11) as a UTC datetime (microseconds).

    ``T``/``t``/space between date and time; ``Z``/``z``/``±HH:MM``/``±HHMM``; one or
    more fraction digits, truncated to microseconds.
    """
    if type(text) is not str:
        raise expected(path, "RFC 3339 timestamp string", text)
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise malformed(path, f"invalid RFC 3339 timestamp {show(text)}")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
        )
    except ValueError as error:
        raise malformed(path, f"invalid RFC 3339 timestamp {show(text)}: {error}") from None
    if sign is not None:
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            raise malformed(path, f"invalid RFC 3339 timestamp {show(text)}: offset out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            value = value - offset if sign == "+" else value + offset
        except OverflowError:
            raise malformed(
                path, f"timestamp {show(text)} is outside years 1-9999 once converted to UTC"
            ) from None
    return value


# -- plans for field kinds ---------------------------------------------------------------

_KIND_PLANS: dict[Kind, Plan] = {}
_CLASS_PLANS: dict[type, Plan] = {}


def _kind_plan(kind: Kind) -> Plan:
    plan = _KIND_PLANS.get(kind)
    if plan is None:
        plan = _build_kind_plan(kind)
        _KIND_PLANS[kind] = plan
    return plan


def _int_plan(minimum: int, maximum: int, label: str, unsigned: bool) -> Plan:
    what = "unsigned integer" if unsigned else "integer"

    def decode_int(raw: Any, path: str) -> int:
        if type(raw) is int and minimum <= raw <= maximum:
            return raw
        if type(raw) is not int or (unsigned and raw < 0):
            raise expected(path, what, raw)
        raise malformed(
            path, f"integer {raw} is out of range for {label} (expected {minimum} to {maximum})"
        )

    return Plan(int.__repr__, _identity, decode_int)


def _check_str(raw: Any, path: str) -> str:
    """A JSON string that this package can hold (no lone surrogate)."""
    if type(raw) is not str:
        raise expected(path, "string", raw)
    if not raw.isascii():
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            raise malformed(
                path, f"string {show(raw)} is not valid Unicode (it holds a lone surrogate)"
            ) from None
    return raw


_STR_PLAN = Plan(_quote, _identity, _check_str)


def _timestamp_text(value: datetime) -> str:
    return '"' + format_timestamp(value) + '"'


_TIMESTAMP_PLAN = Plan(_timestamp_text, format_timestamp, parse_timestamp)

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1
_NANOS_PER_SECOND = 1_000_000_000


def _duration_parts(value: timedelta) -> tuple[int, int]:
    return value.days * 86_400 + value.seconds, value.microseconds * 1000


def _duration_text(value: timedelta) -> str:
    secs, nanos = _duration_parts(value)
    return f'{{"secs":{secs},"nanos":{nanos}}}'


def _duration_obj(value: timedelta) -> dict[str, int]:
    secs, nanos = _duration_parts(value)
    return {"secs": secs, "nanos": nanos}


_U64_DECODE = _int_plan(0, _U64, "u64", True).decode
_U32_DECODE = _int_plan(0, _U32, "u32", True).decode


def _decode_duration(raw: Any, path: str) -> timedelta:
    if type(raw) is not dict:
        raise expected(path, 'duration object {"secs": ..., "nanos": ...}', raw)
    secs = raw.get("secs", _MISSING)
    if secs is _MISSING:
        raise _missing_field(path, "secs")
    nanos = raw.get("nanos", _MISSING)
    if nanos is _MISSING:
        raise _missing_field(path, "nanos")
    secs = _U64_DECODE(secs, path + ".secs")
    nanos = _U32_DECODE(nanos, path + ".nanos")
    secs += nanos // _NANOS_PER_SECOND
    if secs > _U64:
        raise malformed(path, "duration overflows u64 seconds")
    try:
        value = timedelta(seconds=secs, microseconds=(nanos % _NANOS_PER_SECOND) // 1000)
    except OverflowError:
        raise malformed(path, f"duration of {secs} s is out of range") from None
    if not value:
        raise malformed(
            path, f"duration {secs} s {nanos} ns is zero at microsecond precision (must be > 0)"
        )
    return value


_DURATION_PLAN = Plan(_duration_text, _duration_obj, _decode_duration)


_BYTE_TEXT = tuple(str(byte) for byte in range(256))


def _bytes_text(value: bytes) -> str:
    table = _BYTE_TEXT
    return "[" + ",".join([table[byte] for byte in value]) + "]"


def _decode_bytes(raw: Any, path: str) -> bytes:
    if type(raw) is not list:
        raise expected(path, "array of bytes", raw)
    try:
        data = bytes(raw)
    except (TypeError, ValueError, OverflowError):
        data = None
    # ``bytes()`` takes ``true``/``false`` as 1/0: scan only when those bytes occur.
    if data is None or b"\x00" in data or b"\x01" in data:
        for index, item in enumerate(raw):
            if type(item) is not int or not 0 <= item <= 255:
                raise expected(f"{path}[{index}]", "byte (integer 0-255)", item)
        if data is None:  # pragma: no cover - every item was a byte
            data = bytes(raw)
    return data


_BYTES_PLAN = Plan(_bytes_text, list, _decode_bytes)


def _optional_plan(inner: Plan) -> Plan:
    inner_text, inner_obj, inner_decode = inner

    def text(value: Any) -> str:
        return "null" if value is None else inner_text(value)

    def obj(value: Any) -> Any:
        return None if value is None else inner_obj(value)

    def decode(raw: Any, path: str) -> Any:
        return None if raw is None else inner_decode(raw, path)

    return Plan(text, obj, decode)


def _tuple_plan(item: Plan) -> Plan:
    item_text, item_obj, item_decode = item

    def text(value: Any) -> str:
        return "[" + ",".join([item_text(entry) for entry in value]) + "]"

    def obj(value: Any) -> list[Any]:
        return [item_obj(entry) for entry in value]

    def decode(raw: Any, path: str) -> tuple[Any, ...]:
        if type(raw) is not list:
            raise expected(path, "array", raw)
        return tuple([item_decode(entry, f"{path}[{index}]") for index, entry in enumerate(raw)])

    return Plan(text, obj, decode)


def _build_kind_plan(kind: Kind) -> Plan:
    if isinstance(kind, UInt):
        return _int_plan(kind.minimum, kind.maximum, kind.label, True)
    if isinstance(kind, SInt):
        return _int_plan(kind.minimum, kind.maximum, "i64", False)
    if isinstance(kind, Str):
        return _STR_PLAN
    if isinstance(kind, Timestamp):
        return _TIMESTAMP_PLAN
    if isinstance(kind, Duration):
        return _DURATION_PLAN
    if isinstance(kind, Bytes):
        return _BYTES_PLAN
    if isinstance(kind, Optional):
        return _optional_plan(_kind_plan(kind.inner))
    if isinstance(kind, TupleOf):
        return _tuple_plan(_kind_plan(kind.item))
    if isinstance(kind, AttributesKind):
        return _ATTRIBUTES_PLAN
    if isinstance(kind, ValueKind):
        return _SEARCH_VALUE_PLAN
    if isinstance(kind, Instance):
        return _class_plan(kind.cls)
    raise TypeError(f"no JSON plan for field kind {kind!r}")


# -- search attribute values: {"type": "<Type>", "data": <value>} --------------------------


def _sav_text_str(value: str) -> str:
    return '{"type":"String","data":' + _quote(value) + "}"


def _sav_text_int(value: int) -> str:
    return '{"type":"Int","data":' + int.__repr__(value) + "}"


def _sav_text_float(value: float) -> str:
    return '{"type":"Float","data":' + format_float(value) + "}"


def _sav_text_bool(value: bool) -> str:
    return '{"type":"Bool","data":true}' if value else '{"type":"Bool","data":false}'


def _sav_text_datetime(value: datetime) -> str:
    return '{"type":"Datetime","data":"' + format_timestamp(value) + '"}'


def _sav_text_keywords(value: tuple[str, ...]) -> str:
    return '{"type":"KeywordList","data":[' + ",".join(map(_quote, value)) + "]}"


_SAV_TEXT: dict[type, TextEncoder] = {
    str: _sav_text_str,
    int: _sav_text_int,
    float: _sav_text_float,
    bool: _sav_text_bool,
    datetime: _sav_text_datetime,
    tuple: _sav_text_keywords,
}
_SAV_TYPE_NAME: dict[type, str] = {
    str: "String",
    int: "Int",
    float: "Float",
    bool: "Bool",
    datetime: "Datetime",
    tuple: "KeywordList",
}


def _sav_text(value: Any) -> str:
    return _SAV_TEXT[type(value)](value)


def _sav_obj(value: Any) -> dict[str, Any]:
    kind = type(value)
    if kind is datetime:
        data: Any = format_timestamp(value)
    elif kind is tuple:
        data = list(value)
    else:
        data = value
    return {"type": _SAV_TYPE_NAME[kind], "data": data}


_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


def _decode_sav_int(raw: Any, path: str) -> int:
    if type(raw) is not int:
        raise expected(path, "integer", raw)
    if not _I64_MIN <= raw <= _I64_MAX:
        raise malformed(path, f"integer {raw} is out of range for i64")
    return raw


def _decode_sav_float(raw: Any, path: str) -> float:
    kind = type(raw)
    if kind is int:
        try:
            raw = float(raw)
        except OverflowError:
            raise malformed(path, "integer is too large for a float") from None
    elif kind is not float:
        raise expected(path, "number", raw)
    if not math.isfinite(raw):
        raise malformed(path, f"expected a finite number, got {raw!r}")
    return raw  # type: ignore[no-any-return]


def _decode_sav_bool(raw: Any, path: str) -> bool:
    if type(raw) is not bool:
        raise expected(path, "boolean", raw)
    return raw


def _decode_sav_keywords(raw: Any, path: str) -> tuple[str, ...]:
    if type(raw) is not list:
        raise expected(path, "array of strings", raw)
    return tuple([_check_str(item, f"{path}[{index}]") for index, item in enumerate(raw)])


_SAV_DECODERS: dict[str, Decoder] = {
    "String": _check_str,
    "Int": _decode_sav_int,
    "Float": _decode_sav_float,
    "Bool": _decode_sav_bool,
    "Datetime": parse_timestamp,
    "KeywordList": _decode_sav_keywords,
}
_SAV_VARIANTS = ", ".join(_SAV_DECODERS)


def _unknown_variant(path: str, tag: Any, names: str) -> SerializationError:
    return malformed(path, f"unknown variant {show(tag)}, expected one of {names}")


def _decode_sav(raw: Any, path: str) -> SearchAttributeValue:
    if type(raw) is not dict:
        raise expected(path, 'search attribute value object {"type": ..., "data": ...}', raw)
    tag = raw.get("type", _MISSING)
    if tag is _MISSING:
        raise _missing_field(path, "type")
    decode = _SAV_DECODERS.get(tag) if type(tag) is str else None
    if decode is None:
        raise _unknown_variant(path + ".type", tag, _SAV_VARIANTS)
    data = raw.get("data", _MISSING)
    if data is _MISSING:
        raise _missing_field(path, "data")
    return decode(data, path + ".data")  # type: ignore[no-any-return]


_SEARCH_VALUE_PLAN = Plan(_sav_text, _sav_obj, _decode_sav)


def _attributes_text(value: Mapping[str, Any]) -> str:
    if not value:
        return "{}"
    return (
        "{" + ",".join([_quote(key) + ":" + _sav_text(item) for key, item in value.items()]) + "}"
    )


def _attributes_obj(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _sav_obj(item) for key, item in value.items()}


def _decode_attributes(raw: Any, path: str) -> dict[str, SearchAttributeValue]:
    """A plain dict; the record's constructor wraps it in a read-only map."""
    if type(raw) is not dict:
        raise expected(path, "object of search attributes", raw)
    data: dict[str, SearchAttributeValue] = {}
    for key, item in raw.items():
        where = f"{path}[{key!r}]"
        data[_check_str(key, where)] = _decode_sav(item, where)
    return data


_ATTRIBUTES_PLAN = Plan(_attributes_text, _attributes_obj, _decode_attributes)


# -- plans for classes -------------------------------------------------------------------


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
    position = _U64_DECODE(raw, path)
    try:
        return ActivityId(position)
    except (TypeError, ValueError) as error:  # pragma: no cover - checked above
        raise _constructor_error(path, error) from None


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
                raise _unknown_variant(path, entry[0], ", ".join(variants))
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
        name = _check_str(value, where)
        if not name:
            raise malformed(where, "timer name must not be empty")
        return TimerId.named(name)
    return TimerId.anonymous(_U64_DECODE(value, where))


def _package_version_text(value: PackageVersion) -> str:
    return _quote(str(value))


def _decode_package_version(raw: Any, path: str) -> PackageVersion:
    return PackageVersion(_check_str(raw, path))


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
            raise _unknown_variant(path, raw, names)
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
    plans = {field.name: _kind_plan(field.kind) for field in spec}
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
            absent = _REQUIRED
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
            item = get(key, _MISSING)
            if item is _MISSING:
                if absent is _REQUIRED:
                    raise _missing_field(path, key)
                append(absent)
            else:
                append(decode_field(item, path + suffix))
        try:
            return cls(*values)
        except (TypeError, ValueError) as error:
            raise _constructor_error(path, error) from None

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
        tag = raw.get("type", _MISSING)
        if tag is _MISSING:
            raise _missing_field(path, "type")
        decode_body = by_name.get(tag) if type(tag) is str else None
        if decode_body is None:
            raise malformed(path + ".type", f"unknown event variant {show(tag)}")
        data = raw.get("data", _MISSING)
        if data is _MISSING:
            raise _missing_field(path, "data")
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
        attributes = raw.get("attributes", _MISSING)
        if attributes is _MISSING:
            raise _missing_field(path, "attributes")
        path += ".attributes"
        if type(attributes) is not dict:
            raise expected(path, "object of attribute types", attributes)
        types: dict[str, SearchAttributeType] = {}
        for name, kind in attributes.items():
            where = f"{path}[{name!r}]"
            types[_check_str(name, where)] = type_decode(kind, where)
        try:
            return SearchAttributeSchema(types)
        except (TypeError, ValueError) as error:  # pragma: no cover - checked above
            raise _constructor_error(path, error) from None

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
        return _sav_text(check_value(obj, "search attribute value"))
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
        decoding = _Decoding(_decode_sav, "search_attribute_value", None)
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
