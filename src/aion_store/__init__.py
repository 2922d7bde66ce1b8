"""aion-store: the persistence layer of the Aion durable workflow engine.

Every public name is importable from here and from the module of its concept
(``aion_store.store.WriteToken``); event variants are ``Event.<Variant>`` or live in
``aion_store.events``. ``compiled`` says whether the compiled core is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aion_store._select import COMPILED as compiled
from aion_store._version import __version__
from aion_store.error import (
    BackendError,
    NotFound,
    SequenceConflict,
    SerializationError,
    StoreError,
)
from aion_store.events import Event, EventEnvelope, WithTimeoutOutcome
from aion_store.ids import ActivityId, PackageVersion, RunId, ScheduleId, TimerId, WorkflowId
from aion_store.memory import InMemoryStore
from aion_store.package import PackageRecord, PackageRouteRecord, PackageStore
from aion_store.payload import (
    ActivityError,
    ActivityErrorKind,
    ContentType,
    Payload,
    PayloadError,
    WorkflowError,
)
from aion_store.run_chain import RunSummary, run_chain_from_history
from aion_store.schedule import CatchUpPolicy, OverlapPolicy, ScheduleConfig, TriggerSpec
from aion_store.search import (
    SearchAttributeError,
    SearchAttributeMap,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    search_attributes_from_events,
)
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary, status_from_events
from aion_store.store import (
    EventStore,
    ReadableEventStore,
    WritableEventStore,
    WriteToken,
)
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityStore,
    VisibilityWorkflowSummary,
)
from aion_store.wire import from_json, from_msgpack, to_json, to_msgpack

if TYPE_CHECKING:
    from aion_store.conformance import run_event_store_suite
    from aion_store.postgres import PostgresStore
    from aion_store.sqlite import SqliteStore

__all__ = [
    "ActivityError",
    "ActivityErrorKind",
    "ActivityId",
    "BackendError",
    "CatchUpPolicy",
    "ContentType",
    "Event",
    "EventEnvelope",
    "EventStore",
    "InMemoryStore",
    "ListWorkflowsFilter",
    "NotFound",
    "OverlapPolicy",
    "PackageRecord",
    "PackageRouteRecord",
    "PackageStore",
    "PackageVersion",
    "Payload",
    "PayloadError",
    "PostgresStore",
    "ReadableEventStore",
    "RunId",
    "RunSummary",
    "ScheduleConfig",
    "ScheduleId",
    "SearchAttributeError",
    "SearchAttributeMap",
    "SearchAttributePredicate",
    "SearchAttributeSchema",
    "SearchAttributeType",
    "SearchAttributeValue",
    "SequenceConflict",
    "SerializationError",
    "SqliteStore",
    "StoreError",
    "TimerEntry",
    "TimerId",
    "TriggerSpec",
    "VisibilityRecord",
    "VisibilityStore",
    "VisibilityWorkflowSummary",
    "WithTimeoutOutcome",
    "WorkflowError",
    "WorkflowFilter",
    "WorkflowId",
    "WorkflowStatus",
    "WorkflowSummary",
    "WritableEventStore",
    "WriteToken",
    "__version__",
    "compiled",
    "from_json",
    "from_msgpack",
    "run_chain_from_history",
    "run_event_store_suite",
    "search_attributes_from_events",
    "status_from_events",
    "to_json",
    "to_msgpack",
]


def __getattr__(name: str) -> Any:
    # Public, but not imported with the package: the conformance suite, and the durable
    # stores with their drivers (sqlite3; the PostgreSQL driver is an extra).
    if name == "run_event_store_suite":
        from aion_store.conformance import run_event_store_suite

        return run_event_store_suite
    if name == "SqliteStore":
        from aion_store.sqlite import SqliteStore

        return SqliteStore
    if name == "PostgresStore":
        from aion_store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'aion_store' has no attribute {name!r}")
