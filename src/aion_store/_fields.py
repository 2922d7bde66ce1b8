"""Field kinds: the one place where values are checked and normalised.

Every model record is a frozen, slotted dataclass deriving from :class:`Record`. Its
``__post_init__`` runs each field through the *kind* read from the field's annotation
(``Annotated[int, U64]``, ``datetime``, ``WorkflowId | None`` ...). The wire codecs walk
the same kinds, so construction, JSON and msgpack agree on what a valid value is.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Union

from aion_store._text import a

UTC = timezone.utc


def describe(value: object) -> str:
    """``repr`` of a value for an error message, cut to a readable length."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return text


def type_name(value: object) -> str:
    return type(value).__name__


class Kind:
    """How one field is checked and normalised. ``check`` returns the value to store."""

    __slots__ = ()

    def check(self, value: Any, where: str) -> Any:
        raise NotImplementedError


class UInt(Kind):
    """An unsigned integer of ``bits`` width, at least ``minimum`` (Rust ``u64``/``u32``)."""

    __slots__ = ("bits", "label", "maximum", "minimum")

    def __init__(self, bits: int, minimum: int = 0) -> None:
        self.bits = bits
        self.minimum = minimum
        self.maximum = (1 << bits) - 1
        self.label = f"u{bits}"

    def check(self, value: Any, where: str) -> int:
        return check_int(value, where, self.minimum, self.maximum)

    def __repr__(self) -> str:
        return f"UInt({self.bits}, minimum={self.minimum})"


class SInt(Kind):
    """A signed 64-bit integer (Rust ``i64``)."""

    __slots__ = ()
    minimum = -(1 << 63)
    maximum = (1 << 63) - 1

    def check(self, value: Any, where: str) -> int:
        return check_int(value, where, self.minimum, self.maximum)

    def __repr__(self) -> str:
        return "I64"


def check_int(value: Any, where: str, minimum: int, maximum: int) -> int:
    """An ``int`` in ``[minimum, maximum]``, returned as a plain ``int``.

    An ``int`` subclass is read once, as the integer it holds (``int.__index__``): its
    own ``__index__``, ``__int__`` or comparison operators are never consulted, so every
    engine sees the same number, the one C code reads from the object.
    """
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where} must be an int, got {describe(value)} ({type_name(value)})")
        value = int.__index__(value)
    number: int = value
    if not minimum <= number <= maximum:
        raise ValueError(f"{where} must be between {minimum} and {maximum}, got {number}")
    return number


U64 = UInt(64)
U32 = UInt(32)
SEQ = UInt(64, minimum=1)
I64 = SInt()


def check_str(value: Any, where: str) -> str:
    if type(value) is not str:
        if not isinstance(value, str):
            raise TypeError(f"{where} must be a str, got {describe(value)} ({type_name(value)})")
        value = str.__str__(value)
    text: str = value
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{where} must be valid Unicode (no lone surrogates), got {describe(text)}"
            ) from None
    return text


class Str(Kind):
    __slots__ = ()

    def check(self, value: Any, where: str) -> str:
        return check_str(value, where)

    def __repr__(self) -> str:
        return "STR"


STR = Str()


class Bytes(Kind):
    """Bytes; a ``bytearray`` or ``memoryview`` is copied so the caller cannot change it."""

    __slots__ = ()

    def check(self, value: Any, where: str) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"{where} must be bytes, got {describe(value)} ({type_name(value)})")

    def __repr__(self) -> str:
        return "BYTES"


BYTES = Bytes()


def check_timestamp(value: Any, where: str) -> datetime:
    """An aware datetime, converted to UTC; naive is a ``ValueError``.

    The result is a plain ``datetime`` with ``timezone.utc`` and ``fold=0``: what both
    wire forms give back, so a value survives a round trip with the same ``repr``.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{where} must be a datetime, got {describe(value)} ({type_name(value)})")
    if value.tzinfo is UTC and type(value) is datetime and not value.fold:
        return value
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{where} must be timezone-aware (UTC), got naive {value.isoformat()}")
    if offset:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{where} is out of range once converted to UTC: {value}") from None
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        UTC,
    )


class Timestamp(Kind):
    __slots__ = ()

    def check(self, value: Any, where: str) -> datetime:
        return check_timestamp(value, where)

    def __repr__(self) -> str:
        return "TIMESTAMP"


TIMESTAMP = Timestamp()


class Duration(Kind):
    """A positive ``timedelta`` (Rust ``std::time::Duration``, microsecond precision here)."""

    __slots__ = ()

    def check(self, value: Any, where: str) -> timedelta:
        if not isinstance(value, timedelta):
            raise TypeError(
                f"{where} must be a timedelta, got {describe(value)} ({type_name(value)})"
            )
        if value <= timedelta(0):
            raise ValueError(f"{where} must be a positive duration, got {value!r}")
        return value

    def __repr__(self) -> str:
        return "DURATION"


DURATION = Duration()


class Instance(Kind):
    """An instance of ``cls`` (ids, payloads, enums, nested records)."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, self.cls):
            return value
        raise TypeError(
            f"{where} must be {a(self.cls.__name__)}, got {describe(value)} ({type_name(value)})"
        )

    def __repr__(self) -> str:
        return f"Instance({self.cls.__name__})"


class Optional(Kind):
    """``None`` or a value of ``inner``."""

    __slots__ = ("inner",)

    def __init__(self, inner: Kind) -> None:
        self.inner = inner

    def check(self, value: Any, where: str) -> Any:
        if value is None:
            return None
        return self.inner.check(value, where)

    def __repr__(self) -> str:
        return f"Optional({self.inner!r})"


class TupleOf(Kind):
    """A list or tuple of ``item`` values, stored as a tuple."""

    __slots__ = ("item",)

    def __init__(self, item: Kind) -> None:
        self.item = item

    def check(self, value: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{where} must be a list or tuple, got {describe(value)} ({type_name(value)})"
            )
        check = self.item.check
        return tuple(check(item, f"{where}[{index}]") for index, item in enumerate(value))

    def __repr__(self) -> str:
        return f"TupleOf({self.item!r})"


class Field:
    """One field of a record: its name, its kind, and ``Owner.name`` for messages."""

    __slots__ = ("kind", "name", "where")

    def __init__(self, name: str, kind: Kind, where: str) -> None:
        self.name = name
        self.kind = kind
        self.where = where

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.kind!r})"


_SPECS: dict[type, tuple[Field, ...]] = {}
_R = typing.TypeVar("_R", bound="Record")


def kind_of(hint: Any) -> Kind:
    """The kind of a resolved annotation."""
    if typing.get_origin(hint) is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, Kind):
                return meta
        return kind_of(hint.__origin__)
    origin = typing.get_origin(hint)
    if origin is Union or (sys.version_info >= (3, 10) and origin is types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return Optional(kind_of(args[0]))
        raise TypeError(f"unsupported union annotation {hint!r}")
    if hint is str:
        return STR
    if hint is bytes:
        return BYTES
    if hint is datetime:
        return TIMESTAMP
    if hint is timedelta:
        return DURATION
    if isinstance(hint, type):
        return Instance(hint)
    raise TypeError(f"unsupported annotation {hint!r}")


def spec_of(cls: type) -> tuple[Field, ...]:
    """The fields of a record class, in declaration order (computed once per class)."""
    spec = _SPECS.get(cls)
    if spec is None:
        import dataclasses

        spec = tuple(
            Field(f.name, kind_of(_field_hint(cls, f.name)), f"{cls.__name__}.{f.name}")
            for f in dataclasses.fields(cls)
        )
        _SPECS[cls] = spec
    return spec


_HINTS: dict[tuple[str, str], Any] = {}


def _field_hint(cls: type, name: str) -> Any:
    """The resolved annotation of one field, evaluated in the module of the class that
    declares it. Cheaper than ``typing.get_type_hints``, which would also evaluate every
    ``ClassVar`` of every base (``Event`` alone declares 28) for each variant."""
    for owner in cls.__mro__:
        annotation = inspect.get_annotations(owner).get(name)
        if annotation is not None:
            break
    else:
        raise TypeError(f"{cls.__name__}.{name} has no annotation")
    if not isinstance(annotation, str):
        return annotation
    key = (owner.__module__, annotation)
    hint = _HINTS.get(key)
    if hint is None:
        hint = eval(annotation, vars(sys.modules[owner.__module__]))
        _HINTS[key] = hint
    return hint


def refuse_foreign_subclass(cls: type) -> None:
    """Model types are final outside this package: a subclass would not survive the wire
    forms (decoding gives the base class back), so the two engines could not agree."""
    if not cls.__module__.startswith("aion_store."):
        raise TypeError(
            f"{cls.__mro__[1].__name__} cannot be subclassed: aion-store model types are "
            "final, so that every value round-trips through the wire forms unchanged"
        )


class Record:
    """Base of every immutable model record: validates its fields at construction."""

    __slots__ = ()
    _abstract: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)

    @classmethod
    def _trusted(cls: type[_R], *values: Any) -> _R:
        """Build from already-valid values in field order, skipping validation."""
        self = object.__new__(cls)
        setter = object.__setattr__
        for field, value in zip(_SPECS.get(cls) or spec_of(cls), values):
            setter(self, field.name, value)
        return self

    def __post_init__(self) -> None:
        cls = type(self)
        if cls.__dict__.get("_abstract", False):
            raise TypeError(f"{cls.__name__} cannot be instantiated; use one of its variants")
        spec = _SPECS.get(cls) or spec_of(cls)
        setter = object.__setattr__
        for field in spec:
            value = getattr(self, field.name)
            checked = field.kind.check(value, field.where)
            if checked is not value:
                setter(self, field.name, checked)


def attach_variants(base: type, *variants: type) -> None:
    """Make each variant reachable as an attribute of its base (``Event.TimerFired``)."""
    for variant in variants:
        setattr(base, variant.__name__, variant)
        variant.__qualname__ = f"{base.__name__}.{variant.__name__}"
