"""The visibility index (SPEC §9): records, filters, search attribute predicates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ClassVar, Protocol, runtime_checkable

from aion_store._fields import U32, Instance, Record, TupleOf, attach_variants, describe
from aion_store.ids import RunId, WorkflowId
from aion_store.search import (
    ATTRIBUTES,
    EMPTY_ATTRIBUTES,
    SEARCH_VALUE,
    SearchAttributeValue,
    values_equal,
)
from aion_store.status import WorkflowStatus

__all__ = [
    "ListWorkflowsFilter",
    "SearchAttributePredicate",
    "VisibilityIndex",
    "VisibilityRecord",
    "VisibilityStore",
    "VisibilityWorkflowSummary",
]


@dataclass(frozen=True, slots=True)
class _VisibilityFields(Record):
    workflow_id: WorkflowId
    run_id: RunId
    workflow_type: str
    status: WorkflowStatus
    start_time: datetime
    close_time: datetime | None = None
    search_attributes: Annotated[Mapping[str, SearchAttributeValue], ATTRIBUTES] = EMPTY_ATTRIBUTES

    _abstract: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class VisibilityRecord(_VisibilityFields):
    """What the engine records about one run; upserted by ``(workflow_id, run_id)``."""


@dataclass(frozen=True, slots=True)
class VisibilityWorkflowSummary(_VisibilityFields):
    """One run as ``list_workflows`` returns it (the same fields as the record)."""

    @classmethod
    def from_record(cls, record: VisibilityRecord) -> VisibilityWorkflowSummary:
        """The summary of a record: the same seven fields."""
        return cls._trusted(
            record.workflow_id,
            record.run_id,
            record.workflow_type,
            record.status,
            record.start_time,
            record.close_time,
            record.search_attributes,
        )


#: Only these types order (a bool never compares with an int).
_ORDERED = (int, float, datetime)


@dataclass(frozen=True, slots=True)
class SearchAttributePredicate(Record):
    """A condition on one search attribute; a missing attribute never matches."""

    _abstract: ClassVar[bool] = True
    Equals: ClassVar[type[Equals]]
    GreaterThan: ClassVar[type[GreaterThan]]
    LessThan: ClassVar[type[LessThan]]
    Contains: ClassVar[type[Contains]]

    def matches(self, attributes: Mapping[str, SearchAttributeValue]) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, eq=False)
class _ValuePredicate(SearchAttributePredicate):
    """A predicate on a name and a value, compared with strict value typing."""

    name: str
    value: Annotated[SearchAttributeValue, SEARCH_VALUE]

    _abstract: ClassVar[bool] = True

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.name == other.name and values_equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, type(self.value), self.value))


@dataclass(frozen=True, slots=True, eq=False)
class Equals(_ValuePredicate):
    """The attribute has the same type as ``value`` and is equal to it."""

    def matches(self, attributes: Mapping[str, SearchAttributeValue]) -> bool:
        return values_equal(attributes.get(self.name, _MISSING), self.value)


@dataclass(frozen=True, slots=True, eq=False)
class GreaterThan(_ValuePredicate):
    """The attribute is strictly greater; only Int/Int, Float/Float, Datetime/Datetime."""

    def matches(self, attributes: Mapping[str, SearchAttributeValue]) -> bool:
        stored = attributes.get(self.name, _MISSING)
        kind = type(stored)
        return kind is type(self.value) and kind in _ORDERED and stored > self.value  # type: ignore[operator]


@dataclass(frozen=True, slots=True, eq=False)
class LessThan(_ValuePredicate):
    """The attribute is strictly less; only Int/Int, Float/Float, Datetime/Datetime."""

    def matches(self, attributes: Mapping[str, SearchAttributeValue]) -> bool:
        stored = attributes.get(self.name, _MISSING)
        kind = type(stored)
        return kind is type(self.value) and kind in _ORDERED and stored < self.value  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class Contains(SearchAttributePredicate):
    """The attribute is a KeywordList that contains ``keyword``."""

    name: str
    keyword: str

    def matches(self, attributes: Mapping[str, SearchAttributeValue]) -> bool:
        stored = attributes.get(self.name, _MISSING)
        return type(stored) is tuple and self.keyword in stored


_MISSING = object()

attach_variants(SearchAttributePredicate, Equals, GreaterThan, LessThan, Contains)


@dataclass(frozen=True, slots=True)
class ListWorkflowsFilter(Record):
    """Which runs ``list_workflows`` returns: every set field must match, bounds inclusive.

    ``offset`` then ``limit`` paginate the sorted result; ``matches`` ignores them. A
    ``closed_*`` bound never matches a run without ``close_time``.
    """

    workflow_type: str | None = None
    status: WorkflowStatus | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    closed_after: datetime | None = None
    closed_before: datetime | None = None
    search_attributes: Annotated[
        tuple[SearchAttributePredicate, ...], TupleOf(Instance(SearchAttributePredicate))
    ] = ()
    limit: Annotated[int, U32] | None = None
    offset: Annotated[int, U32] | None = None

    def matches(self, summary: _VisibilityFields) -> bool:
        if self.workflow_type is not None and summary.workflow_type != self.workflow_type:
            return False
        if self.status is not None and summary.status is not self.status:
            return False
        start = summary.start_time
        if self.started_after is not None and start < self.started_after:
            return False
        if self.started_before is not None and start > self.started_before:
            return False
        close = summary.close_time
        if self.closed_after is not None and (close is None or close < self.closed_after):
            return False
        if self.closed_before is not None and (close is None or close > self.closed_before):
            return False
        attributes = summary.search_attributes
        return all(predicate.matches(attributes) for predicate in self.search_attributes)


@runtime_checkable
class VisibilityStore(Protocol):
    """A searchable index of workflow runs."""

    async def record_visibility(self, record: VisibilityRecord) -> None:
        """Insert or replace the record keyed by ``(workflow_id, run_id)``."""

    async def list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        """Matching runs sorted by ``(start_time, str(workflow_id), str(run_id))``, then
        ``offset``, then ``limit``."""

    async def count_workflows(self, filter: ListWorkflowsFilter) -> int:
        """How many runs match, ignoring ``offset`` and ``limit``."""


def _order(record: _VisibilityFields) -> tuple[datetime, int, int]:
    return (record.start_time, record.workflow_id._int, record.run_id._int)


class VisibilityIndex:
    """The in-memory visibility index ``InMemoryStore`` uses on both paths."""

    __slots__ = ("_rows", "_sorted")

    def __init__(self) -> None:
        self._rows: dict[tuple[WorkflowId, RunId], VisibilityWorkflowSummary] = {}
        self._sorted: list[VisibilityWorkflowSummary] | None = None

    def record(self, record: VisibilityRecord) -> None:
        if not isinstance(record, VisibilityRecord):
            raise TypeError(f"record_visibility takes a VisibilityRecord, got {describe(record)}")
        self._rows[(record.workflow_id, record.run_id)] = VisibilityWorkflowSummary.from_record(
            record
        )
        self._sorted = None

    def _ordered(self) -> list[VisibilityWorkflowSummary]:
        if self._sorted is None:
            self._sorted = sorted(self._rows.values(), key=_order)
        return self._sorted

    def list(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        check_list_filter(filter)
        matches = filter.matches
        rows = [row for row in self._ordered() if matches(row)]
        start = filter.offset or 0
        end = None if filter.limit is None else start + filter.limit
        return rows[start:end]

    def count(self, filter: ListWorkflowsFilter) -> int:
        check_list_filter(filter)
        matches = filter.matches
        return sum(1 for row in self._rows.values() if matches(row))


def check_list_filter(filter: object) -> ListWorkflowsFilter:
    """``filter`` itself, or the ``TypeError`` every store raises for anything else."""
    if not isinstance(filter, ListWorkflowsFilter):
        raise TypeError(f"expected a ListWorkflowsFilter, got {describe(filter)}")
    return filter
