"""Search attributes as rows a SQL store can filter on, and predicates as conditions on them.

A visibility record's attributes are stored twice: whole, in the record's own column
(so a listing returns them exactly, in their order), and one row per attribute
``(name, kind, value)`` plus one row per distinct keyword of a KeywordList, which the
predicates of a ``ListWorkflowsFilter`` are evaluated against in SQL. ``kind`` keeps
SPEC §4's strict typing: an Int never equals a Float, a Bool is never an Int.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from aion_store._sql.rows import micros_of
from aion_store.search import SearchAttributeType
from aion_store.visibility import SearchAttributePredicate

__all__ = ["KINDS", "Condition", "attribute_value", "condition", "keywords"]

#: Stored kind codes: the index of the type in ``SearchAttributeType``.
KINDS = {kind: code for code, kind in enumerate(SearchAttributeType)}
_KIND_OF_CLASS = {
    str: KINDS[SearchAttributeType.STRING],
    int: KINDS[SearchAttributeType.INT],
    float: KINDS[SearchAttributeType.FLOAT],
    bool: KINDS[SearchAttributeType.BOOL],
    datetime: KINDS[SearchAttributeType.DATETIME],
    tuple: KINDS[SearchAttributeType.KEYWORD_LIST],
}
_ORDERED = (int, float, datetime)


def attribute_value(value: Any) -> tuple[int, Any]:
    """``(kind, stored value)`` of a valid search attribute value.

    Str as text, Int as integer, Float as real, Bool as 0/1, Datetime as microseconds,
    KeywordList as its JSON array (equal lists, equal text).
    """
    cls = type(value)
    kind = _KIND_OF_CLASS[cls]
    if cls is datetime:
        return kind, micros_of(value)
    if cls is tuple:
        return kind, json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))
    if cls is bool:
        return kind, int(value)
    return kind, value


def keywords(value: Any) -> list[str]:
    """The distinct keywords of a KeywordList value; ``[]`` for any other value."""
    return list(dict.fromkeys(value)) if type(value) is tuple else []


class Condition(NamedTuple):
    """One predicate as SQL sees it: ``name``'s row of ``kind`` has ``value OP operand``;
    ``operator`` is ``=``, ``>``, ``<`` or ``contains`` (a keyword row exists)."""

    name: str
    kind: int
    operator: str
    operand: Any


def condition(predicate: SearchAttributePredicate) -> Condition | None:
    """The condition of a predicate, or None when it can match nothing (an order
    predicate on a type that does not order)."""
    if isinstance(predicate, SearchAttributePredicate.Contains):
        return Condition(
            predicate.name, KINDS[SearchAttributeType.KEYWORD_LIST], "contains", predicate.keyword
        )
    value = predicate.value  # type: ignore[attr-defined]
    kind, operand = attribute_value(value)
    if isinstance(predicate, SearchAttributePredicate.Equals):
        return Condition(predicate.name, kind, "=", operand)
    if type(value) not in _ORDERED:
        return None
    operator = ">" if isinstance(predicate, SearchAttributePredicate.GreaterThan) else "<"
    return Condition(predicate.name, kind, operator, operand)  # type: ignore[attr-defined]
