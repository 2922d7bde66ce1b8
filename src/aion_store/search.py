"""Search attributes (SPEC §4): strictly typed values, read-only maps, the schema registry."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from aion_store._fields import (
    I64,
    Kind,
    check_str,
    check_timestamp,
    describe,
    refuse_foreign_subclass,
    type_name,
)
from aion_store._text import a

if TYPE_CHECKING:
    from aion_store.events import Event

__all__ = [
    "SearchAttributeError",
    "SearchAttributeMap",
    "SearchAttributeSchema",
    "SearchAttributeType",
    "SearchAttributeValue",
    "search_attributes_from_events",
]

#: A search attribute value: ``str``, ``int`` (i64), finite ``float``, ``bool``, UTC
#: ``datetime`` or a tuple of ``str`` (a KeywordList; lists are accepted and stored as
#: tuples). Also the marker to pass as ``cls`` to the wire decoders for a bare value.
SearchAttributeValue: TypeAlias = str | int | float | bool | datetime | tuple[str, ...]


class SearchAttributeError(ValueError):
    """A search attribute was not registered, or had the wrong type for its registration."""


class SearchAttributeType(enum.Enum):
    """The six value types (Rust ``SearchAttributeType``)."""

    STRING = "String"
    INT = "Int"
    FLOAT = "Float"
    BOOL = "Bool"
    DATETIME = "Datetime"
    KEYWORD_LIST = "KeywordList"

    @classmethod
    def of(cls, value: Any) -> SearchAttributeType:
        """Classify a value; ``TypeError``/``ValueError`` when it is not a valid one."""
        return _TYPE_OF_CLASS[type(check_value(value, "search attribute value"))]


def check_value(value: Any, where: str) -> SearchAttributeValue:
    """Validate and normalise one search attribute value (strict typing, SPEC §4)."""
    cls = type(value)
    if cls is str:
        return check_str(value, where)
    if cls is bool:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return I64.check(value, where)
    if cls is float:
        if not math.isfinite(value):
            raise ValueError(f"{where}: a Float search attribute must be finite, got {value!r}")
        return value  # type: ignore[no-any-return]
    if cls is tuple or cls is list:
        return tuple(check_str(item, f"{where}[{index}]") for index, item in enumerate(value))
    if isinstance(value, datetime):
        return check_timestamp(value, where)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return I64.check(value, where)
    if isinstance(value, float):
        return check_value(float.__float__(value), where)
    if isinstance(value, str):
        return check_str(value, where)
    if isinstance(value, (list, tuple)):
        return check_value(tuple(value), where)
    raise TypeError(
        f"{where} must be a str, int, float, bool, datetime or list of str, "
        f"got {describe(value)} ({type_name(value)})"
    )


def values_equal(left: Any, right: Any) -> bool:
    """Search attribute equality: same type and equal (``1`` never equals ``1.0``)."""
    return type(left) is type(right) and left == right


_TYPE_OF_CLASS: dict[type, SearchAttributeType] = {
    str: SearchAttributeType.STRING,
    int: SearchAttributeType.INT,
    float: SearchAttributeType.FLOAT,
    bool: SearchAttributeType.BOOL,
    datetime: SearchAttributeType.DATETIME,
    tuple: SearchAttributeType.KEYWORD_LIST,
}


class SearchAttributeMap(Mapping[str, SearchAttributeValue]):
    """A read-only mapping of search attributes, compared with strict value typing."""

    __slots__ = ("_data",)
    _data: dict[str, SearchAttributeValue]

    def __init__(
        self, attributes: Mapping[str, Any] = {}, *, where: str = "search_attributes"
    ) -> None:
        if not isinstance(attributes, Mapping):
            raise TypeError(
                f"{where} must be a mapping of str to search attribute values, "
                f"got {describe(attributes)} ({type_name(attributes)})"
            )
        data: dict[str, SearchAttributeValue] = {}
        for key, value in attributes.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} keys must be str, got {describe(key)} ({type_name(key)})")
            key = check_str(key, f"{where} key")
            data[key] = check_value(value, f"{where}[{key!r}]")
        object.__setattr__(self, "_data", data)

    @classmethod
    def _trusted(cls, data: dict[str, SearchAttributeValue]) -> SearchAttributeMap:
        """Wrap a dict of already-valid values without copying it (decoders only)."""
        self = object.__new__(cls)
        object.__setattr__(self, "_data", data)
        return self

    def __getitem__(self, key: str) -> SearchAttributeValue:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(other) != len(self._data):
            return False
        for key, value in self._data.items():
            if key not in other or not values_equal(value, other[key]):
                return False
        return True

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"SearchAttributeMap({self._data!r})"

    def __reduce__(self) -> tuple[type[SearchAttributeMap], tuple[dict[str, Any]]]:
        return (SearchAttributeMap, (dict(self._data),))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SearchAttributeMap is read-only")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)


EMPTY_ATTRIBUTES = SearchAttributeMap._trusted({})


class AttributesKind(Kind):
    """A mapping of search attributes, stored as a read-only :class:`SearchAttributeMap`."""

    __slots__ = ()

    def check(self, value: Any, where: str) -> SearchAttributeMap:
        if type(value) is SearchAttributeMap:
            return value
        if isinstance(value, Mapping) and not value:
            return EMPTY_ATTRIBUTES
        return SearchAttributeMap(value, where=where)

    def __repr__(self) -> str:
        return "ATTRIBUTES"


class ValueKind(Kind):
    """One search attribute value."""

    __slots__ = ()

    def check(self, value: Any, where: str) -> SearchAttributeValue:
        return check_value(value, where)

    def __repr__(self) -> str:
        return "SEARCH_VALUE"


ATTRIBUTES = AttributesKind()
SEARCH_VALUE = ValueKind()


class SearchAttributeSchema:
    """A mutable registry of attribute names and their types."""

    __slots__ = ("_types",)

    def __init__(self, attributes: Mapping[str, SearchAttributeType] | None = None) -> None:
        self._types: dict[str, SearchAttributeType] = {}
        for name, kind in (attributes or {}).items():
            self.register(name, kind)

    @property
    def attributes(self) -> Mapping[str, SearchAttributeType]:
        """The registrations, read-only."""
        from types import MappingProxyType

        return MappingProxyType(self._types)

    def register(self, name: str, kind: SearchAttributeType) -> None:
        """Register ``name``; the same type again is a no-op, another type is an error."""
        name = check_str(name, "SearchAttributeSchema.register name")
        if not isinstance(kind, SearchAttributeType):
            raise TypeError(
                f"SearchAttributeSchema.register type must be a SearchAttributeType, "
                f"got {describe(kind)}"
            )
        existing = self._types.get(name)
        if existing is not None and existing is not kind:
            raise SearchAttributeError(
                f"search attribute {name!r} is registered as {existing.value}, "
                f"cannot register it as {kind.value}"
            )
        self._types[name] = kind

    def validate(self, name: str, value: Any) -> None:
        """Raise ``SearchAttributeError`` unless ``name`` is registered with ``value``'s type."""
        expected = self._types.get(name)
        if expected is None:
            raise SearchAttributeError(f"search attribute {name!r} is not registered")
        try:
            actual = SearchAttributeType.of(value)
        except (TypeError, ValueError) as error:
            raise SearchAttributeError(f"search attribute {name!r}: {error}") from None
        if actual is not expected:
            raise SearchAttributeError(
                f"search attribute {name!r} is registered as {expected.value}, "
                f"got {a(actual.value)} value {describe(value)}"
            )

    def __eq__(self, other: object) -> bool:
        if type(other) is SearchAttributeSchema:
            return self._types == other._types
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = ", ".join(f"{name!r}: {kind}" for name, kind in self._types.items())
        return f"SearchAttributeSchema({{{body}}})"


#: ``aion_store.events.SearchAttributesUpdated``, registered by that module once it has
#: defined it (events imports this module, so this module cannot import events).
_updated_variant: type[Any] | None = None


def register_updated_variant(variant: type[Any]) -> None:
    """Called by ``aion_store.events`` with the ``SearchAttributesUpdated`` class."""
    global _updated_variant
    _updated_variant = variant


def search_attributes_from_events(events: Iterable[Event]) -> dict[str, SearchAttributeValue]:
    """Merge every ``SearchAttributesUpdated`` in order; later values win key by key."""
    variant = _updated_variant
    merged: dict[str, SearchAttributeValue] = {}
    for event in events:
        if type(event) is variant:
            merged.update(event.attributes)  # type: ignore[attr-defined]
    return merged
