"""The compact msgpack form, in readable Python (docs/wire-format.md describes the layout).

This is the reference implementation: the compiled core (``aion_store.wire._msgpack_c``) writes
the same bytes and, whenever its fast decoder meets anything unexpected, calls
:func:`from_msgpack` here so that every error message comes from one place.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgpack

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
    spec_of,
)
from aion_store._text import a, plural
from aion_store.error import SerializationError
from aion_store.events import VARIANTS, Event, EventEnvelope
from aion_store.ids import ActivityId, PackageVersion, TimerId, WorkflowId, _UuidId
from aion_store.payload import ContentType, Payload
from aion_store.schedule import TriggerSpec
from aion_store.search import (
    AttributesKind,
    SearchAttributeMap,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    ValueKind,
    check_value,
)
from aion_store.visibility import SearchAttributePredicate
from aion_store.wire._common import expected, is_history, malformed, root_name, show

#: The current format version, written as the first byte of every document.
FORMAT_VERSION = 1
MARKER = bytes([FORMAT_VERSION])

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]


# -- timestamps and durations as integer microseconds -------------------------------------


def micros_of(value: datetime | timedelta) -> int:
    """Microseconds since the Unix epoch (or of a duration)."""
    delta = value - EPOCH if isinstance(value, datetime) else value
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def datetime_of(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


# -- plans: one (encoder, decoder) pair per kind, built once ------------------------------

_PLANS: dict[Any, tuple[Encoder, Decoder]] = {}


def _identity(value: Any) -> Any:
    return value


def _is_uint(raw: Any) -> bool:
    return type(raw) is int and raw >= 0


def _plan(kind: Kind) -> tuple[Encoder, Decoder]:
    plan = _PLANS.get(kind)
    if plan is None:
        plan = _build_plan(kind)
        _PLANS[kind] = plan
    return plan


def _checked(kind: Kind, value: Any, path: str) -> Any:
    try:
        return kind.check(value, path)
    except (TypeError, ValueError) as error:
        raise SerializationError(str(error)) from None


def _build_plan(kind: Kind) -> tuple[Encoder, Decoder]:
    if isinstance(kind, UInt):

        def decode_uint(raw: Any, path: str) -> int:
            if not _is_uint(raw):
                raise expected(path, "unsigned integer", raw)
            return _checked(kind, raw, path)  # type: ignore[no-any-return]

        return _identity, decode_uint
    if isinstance(kind, SInt):

        def decode_int(raw: Any, path: str) -> int:
            if type(raw) is not int:
                raise expected(path, "integer", raw)
            return _checked(kind, raw, path)  # type: ignore[no-any-return]

        return _identity, decode_int
    if isinstance(kind, Str):

        def decode_str(raw: Any, path: str) -> str:
            if type(raw) is not str:
                raise expected(path, "string", raw)
            return raw

        return _identity, decode_str
    if isinstance(kind, Bytes):
        return _identity, _decode_bytes
    if isinstance(kind, Timestamp):
        return micros_of, _decode_timestamp
    if isinstance(kind, Duration):

        def encode_duration(value: timedelta) -> list[int]:
            return [value.days * 86_400 + value.seconds, value.microseconds]

        def decode_duration(raw: Any, path: str) -> timedelta:
            if type(raw) is not list or len(raw) != 2 or not all(_is_uint(part) for part in raw):
                raise expected(path, "duration as [seconds, microseconds]", raw)
            seconds, micros = raw
            if micros >= 1_000_000:
                raise malformed(path, f"duration microseconds {micros} must be below 1000000")
            try:
                period = timedelta(seconds=seconds, microseconds=micros)
            except OverflowError:
                raise malformed(path, f"duration of {seconds} s is out of range") from None
            return _checked(kind, period, path)  # type: ignore[no-any-return]

        return encode_duration, decode_duration
    if isinstance(kind, Optional):
        inner_encode, inner_decode = _plan(kind.inner)

        def encode_optional(value: Any) -> Any:
            return None if value is None else inner_encode(value)

        def decode_optional(raw: Any, path: str) -> Any:
            return None if raw is None else inner_decode(raw, path)

        return encode_optional, decode_optional
    if isinstance(kind, TupleOf):
        item_encode, item_decode = _plan(kind.item)

        def encode_tuple(value: Any) -> list[Any]:
            return [item_encode(item) for item in value]

        def decode_tuple(raw: Any, path: str) -> tuple[Any, ...]:
            if type(raw) is not list:
                raise expected(path, "array", raw)
            return tuple(item_decode(item, f"{path}[{i}]") for i, item in enumerate(raw))

        return encode_tuple, decode_tuple
    if isinstance(kind, AttributesKind):
        return _encode_attributes, _decode_attributes
    if isinstance(kind, ValueKind):
        return _encode_search_value, _decode_search_value
    if isinstance(kind, Instance):
        return _class_plan(kind.cls)
    raise TypeError(f"no msgpack plan for kind {kind!r}")


def _decode_bytes(raw: Any, path: str) -> bytes:
    if type(raw) is not bytes:
        raise expected(path, "binary", raw)
    return raw


def _decode_timestamp(raw: Any, path: str) -> datetime:
    if type(raw) is not int:
        raise expected(path, "timestamp in microseconds", raw)
    try:
        return datetime_of(raw)
    except OverflowError:
        raise malformed(path, f"timestamp {raw} us is outside years 1-9999") from None


def _class_plan(cls: type) -> tuple[Encoder, Decoder]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _build_class_plan(cls)
        _PLANS[cls] = plan
    return plan


def _build_class_plan(cls: type) -> tuple[Encoder, Decoder]:
    if issubclass(cls, _UuidId):
        uuid_cls = cls

        def encode_uuid(value: Any) -> bytes:
            return value._int.to_bytes(16, "big")  # type: ignore[no-any-return]

        def decode_uuid(raw: Any, path: str) -> Any:
            if type(raw) is not bytes or len(raw) != 16:
                raise expected(path, "16-byte binary UUID", raw)
            return uuid_cls._from_int(int.from_bytes(raw, "big"))

        return encode_uuid, decode_uuid
    if cls is ActivityId:
        return (lambda value: value.sequence_position), _decode_activity_id
    if cls is TimerId:
        return _encode_timer_id, _decode_timer_id
    if cls is PackageVersion:
        return str, _decode_package_version
    if cls is Payload:
        return (lambda value: value.data), _decode_payload
    if issubclass(cls, enum.Enum):
        return _enum_plan(cls)
    if cls is TriggerSpec:
        return _encode_trigger, _decode_trigger
    if cls is SearchAttributePredicate:
        return _encode_predicate, _decode_predicate
    if issubclass(cls, Event):
        return _encode_event, _decode_event
    if cls is SearchAttributeSchema:
        return _encode_schema, _decode_schema
    return _record_plan(cls)


def _decode_activity_id(raw: Any, path: str) -> ActivityId:
    if not _is_uint(raw):
        raise expected(path, "unsigned integer", raw)
    try:
        return ActivityId(raw)
    except ValueError as error:
        raise malformed(path, str(error)) from None


def _encode_timer_id(value: TimerId) -> Any:
    return value.name if value.name is not None else value.sequence_position


def _decode_timer_id(raw: Any, path: str) -> TimerId:
    try:
        if type(raw) is str:
            return TimerId.named(raw)
        if _is_uint(raw):
            return TimerId.anonymous(raw)
    except ValueError as error:
        raise malformed(path, str(error)) from None
    raise expected(path, "timer name (string) or anonymous position (unsigned integer)", raw)


def _decode_package_version(raw: Any, path: str) -> PackageVersion:
    if type(raw) is not str:
        raise expected(path, "string", raw)
    return PackageVersion(raw)


def _decode_payload(raw: Any, path: str) -> Payload:
    return Payload._trusted(ContentType.JSON, _decode_bytes(raw, path))


def _enum_plan(cls: type[enum.Enum]) -> tuple[Encoder, Decoder]:
    members = tuple(cls)
    index_of = {member: index for index, member in enumerate(members)}

    def decode_enum(raw: Any, path: str) -> Any:
        if not _is_uint(raw) or raw >= len(members):
            raise expected(path, f"{cls.__name__} index 0-{len(members) - 1}", raw)
        return members[raw]

    return index_of.__getitem__, decode_enum


def _record_plan(cls: type) -> tuple[Encoder, Decoder]:
    fields = [(field.name, *_plan(field.kind)) for field in spec_of(cls)]
    count = len(fields)
    name = cls.__name__

    def encode_record(value: Any) -> list[Any]:
        return [encode(getattr(value, field)) for field, encode, _ in fields]

    def decode_record(raw: Any, path: str) -> Any:
        if type(raw) is not list or len(raw) != count:
            raise expected(path, f"{name} as an array of {count} items", raw)
        values = [decode(item, f"{path}.{field}") for (field, _, decode), item in zip(fields, raw)]
        return cls._trusted(*values)  # type: ignore[attr-defined]

    return encode_record, decode_record


# -- events: [tag, seq, recorded_at, workflow_id, *fields] --------------------------------

_ENVELOPE_FIELDS = [(f.name, *_plan(f.kind)) for f in spec_of(EventEnvelope)]
_EVENT_PLANS: list[tuple[type[Event], list[tuple[str, Encoder, Decoder]]]]  # end of module


def _encode_event(event: Event) -> list[Any]:
    _variant, fields = _EVENT_PLANS[event.TAG]
    envelope = event.envelope
    body = [event.TAG] + [encode(getattr(envelope, name)) for name, encode, _ in _ENVELOPE_FIELDS]
    body.extend(encode(getattr(event, name)) for name, encode, _ in fields)
    return body


def _decode_event(raw: Any, path: str) -> Event:
    if type(raw) is not list or not raw:
        raise expected(path, "an event array", raw)
    tag = raw[0]
    plans = _EVENT_PLANS
    if not _is_uint(tag) or tag >= len(plans):
        raise malformed(f"{path}.type", f"unknown event variant tag {show(tag)}")
    variant, fields = plans[tag]
    count = 4 + len(fields)
    if len(raw) != count:
        raise malformed(
            path, f"expected {variant.__name__} as an array of {count} items, got {len(raw)}"
        )
    envelope = EventEnvelope._trusted(
        *[
            decode(item, f"{path}.envelope.{name}")
            for (name, _, decode), item in zip(_ENVELOPE_FIELDS, raw[1:4])
        ]
    )
    values = [decode(item, f"{path}.{name}") for (name, _, decode), item in zip(fields, raw[4:])]
    return variant._trusted(envelope, *values)


# -- search attributes: native msgpack values, datetimes as the Timestamp extension ------


def _encode_search_value(value: Any) -> Any:
    if type(value) is datetime:
        seconds, micros = divmod(micros_of(value), 1_000_000)
        return msgpack.Timestamp(seconds, micros * 1000)
    if type(value) is tuple:
        return list(value)
    return value


def _decode_search_value(raw: Any, path: str) -> SearchAttributeValue:
    kind = type(raw)
    if kind is datetime:
        return raw  # type: ignore[no-any-return]
    if kind is list:
        for index, item in enumerate(raw):
            if type(item) is not str:
                raise expected(f"{path}[{index}]", "keyword string", item)
        return tuple(raw)
    if kind in (str, int, float, bool):
        try:
            return check_value(raw, path)
        except ValueError as error:
            raise SerializationError(str(error)) from None
    raise expected(path, "search attribute value", raw)


def _encode_attributes(value: Any) -> dict[str, Any]:
    return {key: _encode_search_value(item) for key, item in value.items()}


def _decode_attributes(raw: Any, path: str) -> SearchAttributeMap:
    if type(raw) is not dict:
        raise expected(path, "map of search attributes", raw)
    data: dict[str, SearchAttributeValue] = {}
    for key, item in raw.items():
        if type(key) is not str:
            raise expected(f"{path} key", "string", key)
        data[key] = _decode_search_value(item, f"{path}[{key!r}]")
    return SearchAttributeMap._trusted(data)


def _encode_schema(value: SearchAttributeSchema) -> dict[str, int]:
    members = list(SearchAttributeType)
    return {name: members.index(kind) for name, kind in value.attributes.items()}


def _decode_schema(raw: Any, path: str) -> SearchAttributeSchema:
    if type(raw) is not dict:
        raise expected(path, "map of attribute types", raw)
    _, decode_type = _enum_plan(SearchAttributeType)
    schema = SearchAttributeSchema()
    for key, item in raw.items():
        if type(key) is not str:
            raise expected(f"{path} key", "string", key)
        schema.register(key, decode_type(item, f"{path}[{key!r}]"))
    return schema


# -- triggers and predicates ------------------------------------------------------------


def _period_plan() -> tuple[Encoder, Decoder]:
    """The plan of ``Interval.period`` (one ``Duration`` kind, so one cached plan)."""
    return _plan(spec_of(TriggerSpec.Interval)[0].kind)


def _encode_trigger(value: TriggerSpec) -> Any:
    if isinstance(value, TriggerSpec.Cron):
        return value.expression
    assert isinstance(value, TriggerSpec.Interval)
    encode_period, _ = _period_plan()
    return encode_period(value.period)


def _decode_trigger(raw: Any, path: str) -> TriggerSpec:
    if type(raw) is str:
        return TriggerSpec.Cron._trusted(raw)
    if type(raw) is list and len(raw) == 2:
        _, decode_period = _period_plan()
        return TriggerSpec.Interval._trusted(decode_period(raw, f"{path}.period"))
    raise expected(path, "cron expression (string) or interval [seconds, microseconds]", raw)


_PREDICATES = (
    SearchAttributePredicate.Equals,
    SearchAttributePredicate.GreaterThan,
    SearchAttributePredicate.LessThan,
    SearchAttributePredicate.Contains,
)


def _encode_predicate(value: SearchAttributePredicate) -> list[Any]:
    index = _PREDICATES.index(type(value))
    last = value.keyword if index == 3 else _encode_search_value(value.value)  # type: ignore[attr-defined]
    return [index, value.name, last]  # type: ignore[attr-defined]


def _decode_predicate(raw: Any, path: str) -> SearchAttributePredicate:
    if type(raw) is not list or len(raw) != 3:
        raise expected(path, "predicate as an array of 3 items", raw)
    index, name, last = raw
    if not _is_uint(index) or index >= len(_PREDICATES):
        raise expected(f"{path}.kind", "predicate index 0-3", index)
    if type(name) is not str:
        raise expected(f"{path}.name", "string", name)
    if index == 3:
        if type(last) is not str:
            raise expected(f"{path}.keyword", "string", last)
        return _PREDICATES[3]._trusted(name, last)
    return _PREDICATES[index]._trusted(name, _decode_search_value(last, f"{path}.value"))


# -- public entry points ----------------------------------------------------------------


def _plan_for(cls: Any) -> tuple[Encoder, Decoder]:
    if cls is SearchAttributeValue:
        return _encode_search_value, _decode_search_value
    if isinstance(cls, type):
        if issubclass(cls, Event):
            return _class_plan(Event)
        if issubclass(cls, TriggerSpec):
            return _class_plan(TriggerSpec)
        if issubclass(cls, SearchAttributePredicate):
            return _class_plan(SearchAttributePredicate)
        try:
            return _class_plan(cls)
        except TypeError:
            pass
    raise TypeError(f"the msgpack form does not cover {cls!r}")


def _value_class(obj: Any) -> Any:
    if isinstance(obj, Event):
        return Event
    if type(obj) in (str, int, float, bool, datetime, tuple):
        return SearchAttributeValue
    return type(obj)


def _packb(body: Any) -> bytes:
    return msgpack.packb(body, use_bin_type=True)  # type: ignore[no-any-return]


def to_msgpack(obj: Any) -> bytes:
    """Encode a value (or a list of events, as a history) in the versioned msgpack form."""
    if type(obj) is list or (type(obj) is tuple and obj and isinstance(obj[0], Event)):
        return MARKER + b"".join(encode_event_body(_require_event(e, i)) for i, e in enumerate(obj))
    cls = _value_class(obj)
    try:
        encode, _ = _plan_for(cls)
    except TypeError:
        raise TypeError(f"to_msgpack cannot encode {type(obj).__name__}") from None
    if cls is SearchAttributeValue:
        obj = check_value(obj, "search attribute value")
    return MARKER + _packb(encode(obj))


def encode_event_body(event: Event) -> bytes:
    """One event's msgpack array, without the version marker (a history's unit)."""
    return _packb(_encode_event(event))


def encode_event_bodies(events: Sequence[Event]) -> list[bytes]:
    """Each event's msgpack array (a history's unit, no version byte), as a list of bytes."""
    return [encode_event_body(event) for event in events]


def decode_stored_event(body: bytes, workflow_id: WorkflowId, seq: int) -> Event:
    """One stored event body (no version byte), which must be event ``seq`` of ``workflow_id``.

    Stores read their own rows with it; anything else there (a foreign row, a corrupted
    one) is a ``SerializationError`` naming the workflow and the seq.
    """
    path = f"stored event (workflow {workflow_id}, seq {seq})"
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise expected(path, "msgpack bytes", type(body).__name__)
    reader = _Reader(bytes(body))
    if reader.at_end():
        raise malformed(path, "empty")
    event = _decode_event(reader.next(path), path)
    if not reader.at_end():
        extra = reader.size - reader.tell()
        raise malformed(path, f"{plural(extra, 'byte')} of extra data after the event")
    envelope = event.envelope
    if envelope.seq != seq:
        raise malformed(path, f"holds the event with seq {envelope.seq}")
    if envelope.workflow_id != workflow_id:
        raise malformed(path, f"holds an event of workflow {envelope.workflow_id}")
    return event


def decode_stored_events(
    bodies: Sequence[bytes], workflow_id: WorkflowId, first_seq: int
) -> list[Event]:
    """Stored event bodies that must be events ``first_seq``, ``first_seq + 1`` ... of
    ``workflow_id`` (see :func:`decode_stored_event`)."""
    return [
        decode_stored_event(body, workflow_id, first_seq + index)
        for index, body in enumerate(bodies)
    ]


def _require_event(item: Any, index: int) -> Event:
    if not isinstance(item, Event):
        raise TypeError(f"to_msgpack of a history: item {index} is {a(type(item).__name__)}")
    return item


def _unpacker(data: bytes) -> msgpack.Unpacker:
    unpacker = msgpack.Unpacker(
        raw=False, strict_map_key=True, timestamp=3, max_buffer_size=max(len(data), 1)
    )
    unpacker.feed(data)
    return unpacker


#: What msgpack raises on bad input (OutOfData, when input ends early, is an UnpackException).
_UNPACK_ERRORS = (ValueError, TypeError, OverflowError, msgpack.UnpackException)


class _Reader:
    """The top-level msgpack objects of ``data``, one after another, read with bounded memory.

    A msgpack header declares how many items or bytes follow, and an unpacker may allocate
    for that claim before it finds the input too short. So each object is first walked by
    a second unpacker's ``skip()``, which builds nothing; only an object shown to be whole
    is built, and it cannot claim more items than its bytes hold. Memory stays O(input).
    """

    __slots__ = ("_load", "_scan", "size")

    def __init__(self, data: bytes) -> None:
        self.size = len(data)
        self._scan = _unpacker(data)
        self._load = _unpacker(data)

    def tell(self) -> int:
        return int(self._load.tell())

    def at_end(self) -> bool:
        return self.tell() >= self.size

    def next(self, path: str) -> Any:
        """The next object; ``SerializationError`` naming ``path`` when there is none."""
        try:
            self._scan.skip()
            return self._load.unpack()
        except msgpack.OutOfData:
            raise malformed(path, "truncated msgpack input") from None
        except _UNPACK_ERRORS as error:
            raise malformed(path, f"invalid msgpack: {error}") from None


def _read_version(reader: _Reader) -> None:
    if reader.at_end():
        raise malformed("msgpack", "empty input, expected the format version marker")
    version = reader.next("msgpack: the format version marker")
    if version != FORMAT_VERSION or type(version) is not int:
        raise malformed(
            "msgpack",
            f"unsupported format version {show(version)} (this package reads version "
            f"{FORMAT_VERSION})",
        )


def from_msgpack(data: bytes | bytearray | memoryview, cls: Any) -> Any:
    """Decode the versioned msgpack form as ``cls`` (``list[Event]`` for a history)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"from_msgpack takes bytes, got {type(data).__name__}")
    data = bytes(data)
    history = is_history(cls)
    root = root_name(cls)
    if not history:
        _, decode = _plan_for(cls)
    reader = _Reader(data)
    _read_version(reader)
    if history:
        events: list[Event] = []
        while not reader.at_end():
            path = f"{root}[{len(events)}]"
            events.append(_decode_event(reader.next(path), path))
        return events
    if reader.at_end():
        raise malformed(root, "truncated msgpack input: no value after the version marker")
    value = decode(reader.next(root), root)
    if not reader.at_end():
        extra = reader.size - reader.tell()
        raise malformed(root, f"{plural(extra, 'byte')} of extra data after the value")
    if isinstance(cls, type) and not isinstance(value, cls) and cls is not SearchAttributeValue:
        raise malformed(root, f"expected {cls.__name__}, got {type(value).__qualname__}")
    return value


# Built at import (here, once every plan builder exists), not lazily: a table filled on
# first use could be seen half-built by another thread's first call.
_EVENT_PLANS = [
    (variant, [(f.name, *_plan(f.kind)) for f in spec_of(variant)[1:]]) for variant in VARIANTS
]
