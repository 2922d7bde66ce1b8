"""The plans of values in the serde-compatible JSON form (SPEC §11).

A :class:`Plan` is how one field kind or class is written as compact JSON text, as
plain JSON values, and read back; :func:`kind_plan` builds, once per kind, the plan of
a field kind of :mod:`aion_store._fields`: integers, strings, timestamps, durations,
bytes, optional values, tuples, search attribute values and attribute maps. Decoders
take the value and its *path* and raise :class:`~aion_store.error.SerializationError`
with that path on anything malformed.

The text encoders reproduce serde_json byte for byte: serde_json's string escapes, ryu's
float notation (:func:`format_float`) and chrono's RFC 3339 fractions
(:func:`format_timestamp`). A field whose kind is a class is planned by the caller's
``class_plan`` (:mod:`aion_store.wire._json` plans classes); this module never imports
it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from json.encoder import encode_basestring as _quote
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
)
from aion_store.error import SerializationError
from aion_store.search import AttributesKind, SearchAttributeValue, ValueKind
from aion_store.wire._common import expected, malformed, show

__all__ = [
    "Decoder",
    "MISSING",
    "ObjEncoder",
    "Plan",
    "REQUIRED",
    "TextEncoder",
    "U64_DECODE",
    "check_str",
    "constructor_error",
    "decode_sav",
    "format_float",
    "format_timestamp",
    "kind_plan",
    "missing_field",
    "parse_timestamp",
    "sav_text",
    "unknown_variant",
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


#: What ``raw.get(key, MISSING)`` returns for an absent key.
MISSING: Any = _Missing()
#: The default of a field that must be present (no serde default).
REQUIRED: Any = _Missing()


def _identity(value: Any) -> Any:
    return value


def missing_field(path: str, key: str) -> SerializationError:
    return malformed(path, f'missing field "{key}"')


def constructor_error(path: str, error: Exception) -> SerializationError:
    return malformed(path, str(error))


def unknown_variant(path: str, tag: Any, names: str) -> SerializationError:
    return malformed(path, f"unknown variant {show(tag)}, expected one of {names}")


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


def kind_plan(kind: Kind, class_plan: Callable[[type], Plan]) -> Plan:
    """The plan of a field kind (built once); ``class_plan`` plans ``Instance`` kinds."""
    plan = _KIND_PLANS.get(kind)
    if plan is None:
        plan = _build_kind_plan(kind, class_plan)
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


def check_str(raw: Any, path: str) -> str:
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


_STR_PLAN = Plan(_quote, _identity, check_str)


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


#: Reads a u64 (also the position in an activity or anonymous timer id).
U64_DECODE = _int_plan(0, _U64, "u64", True).decode
_U32_DECODE = _int_plan(0, _U32, "u32", True).decode


def _decode_duration(raw: Any, path: str) -> timedelta:
    if type(raw) is not dict:
        raise expected(path, 'duration object {"secs": ..., "nanos": ...}', raw)
    secs = raw.get("secs", MISSING)
    if secs is MISSING:
        raise missing_field(path, "secs")
    nanos = raw.get("nanos", MISSING)
    if nanos is MISSING:
        raise missing_field(path, "nanos")
    secs = U64_DECODE(secs, path + ".secs")
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


def _build_kind_plan(kind: Kind, class_plan: Callable[[type], Plan]) -> Plan:
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
        return _optional_plan(kind_plan(kind.inner, class_plan))
    if isinstance(kind, TupleOf):
        return _tuple_plan(kind_plan(kind.item, class_plan))
    if isinstance(kind, AttributesKind):
        return _ATTRIBUTES_PLAN
    if isinstance(kind, ValueKind):
        return _SEARCH_VALUE_PLAN
    if isinstance(kind, Instance):
        return class_plan(kind.cls)
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


def sav_text(value: Any) -> str:
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
    return tuple([check_str(item, f"{path}[{index}]") for index, item in enumerate(raw)])


_SAV_DECODERS: dict[str, Decoder] = {
    "String": check_str,
    "Int": _decode_sav_int,
    "Float": _decode_sav_float,
    "Bool": _decode_sav_bool,
    "Datetime": parse_timestamp,
    "KeywordList": _decode_sav_keywords,
}
_SAV_VARIANTS = ", ".join(_SAV_DECODERS)


def decode_sav(raw: Any, path: str) -> SearchAttributeValue:
    if type(raw) is not dict:
        raise expected(path, 'search attribute value object {"type": ..., "data": ...}', raw)
    tag = raw.get("type", MISSING)
    if tag is MISSING:
        raise missing_field(path, "type")
    decode = _SAV_DECODERS.get(tag) if type(tag) is str else None
    if decode is None:
        raise unknown_variant(path + ".type", tag, _SAV_VARIANTS)
    data = raw.get("data", MISSING)
    if data is MISSING:
        raise missing_field(path, "data")
    return decode(data, path + ".data")  # type: ignore[no-any-return]


_SEARCH_VALUE_PLAN = Plan(sav_text, _sav_obj, decode_sav)


def _attributes_text(value: Mapping[str, Any]) -> str:
    if not value:
        return "{}"
    return "{" + ",".join([_quote(key) + ":" + sav_text(item) for key, item in value.items()]) + "}"


def _attributes_obj(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _sav_obj(item) for key, item in value.items()}


def _decode_attributes(raw: Any, path: str) -> dict[str, SearchAttributeValue]:
    """A plain dict; the record's constructor wraps it in a read-only map."""
    if type(raw) is not dict:
        raise expected(path, "object of search attributes", raw)
    data: dict[str, SearchAttributeValue] = {}
    for key, item in raw.items():
        where = f"{path}[{key!r}]"
        data[check_str(key, where)] = decode_sav(item, where)
    return data


_ATTRIBUTES_PLAN = Plan(_attributes_text, _attributes_obj, _decode_attributes)
