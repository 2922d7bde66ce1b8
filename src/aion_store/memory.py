"""``InMemoryStore`` (SPEC §12): a correct, non-durable ``EventStore`` and ``VisibilityStore``.

Histories and their projections live in an engine, and durable timers in a timer index:
the compiled modules (``aion_store._engine_c``, ``aion_store._timers_c``) or their pure
twins (``aion_store._engine_py``, ``aion_store._timers_py``), as ``aion_store._select``
chooses. The visibility index and packages are one Python implementation on both paths
(``visibility.VisibilityIndex``, ``package.PackageIndex``): they are not on the paths an
engine runs hot.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from aion_store import _select
from aion_store._cache import DEFAULT_DECODED_CACHE_BYTES, cache_budget
from aion_store._fields import describe
from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageIndex, PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.store import WriteToken
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    VisibilityIndex,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)

__all__ = ["DEFAULT_DECODED_CACHE_BYTES", "InMemoryStore"]

EngineName = _select.EngineName


class InMemoryStore:
    """Workflow histories, projections, timers, visibility and packages, in memory.

    Safe to share across threads and asyncio tasks: every operation is atomic, appends
    included. ``decoded_cache_bytes`` bounds the estimated memory of the compiled core's
    cache of decoded events (default 128 MiB; 0 turns it off; the pure path keeps event
    objects and ignores it); the policy is in ``aion_store._engine_c``'s docstring and
    the README. ``decoded_cache_events`` (0.1) is deprecated.
    ``engine`` picks a path explicitly ("compiled" or "pure"); by default the one
    ``aion_store.compiled`` names.
    """

    __slots__ = ("_engine", "_lock", "_packages", "_timers", "_visibility", "engine")

    def __init__(
        self,
        *,
        decoded_cache_bytes: int | None = None,
        engine: EngineName | None = None,
        decoded_cache_events: int | None = None,
    ) -> None:
        cache = cache_budget(decoded_cache_bytes, decoded_cache_events)
        if engine is None:
            engine = "compiled" if _select.COMPILED else "pure"
        if engine not in ("compiled", "pure"):
            raise ValueError(f"engine must be 'compiled', 'pure' or None, got {describe(engine)}")
        self._engine: _select.Engine = _select.engine_class(engine)(cache)
        self.engine: EngineName = engine
        self._lock = threading.Lock()
        self._timers = _select.timer_index_class(engine)()
        self._visibility = VisibilityIndex()
        self._packages = PackageIndex()

    def __repr__(self) -> str:
        return f"<InMemoryStore engine={self.engine!r}>"

    # -- histories -------------------------------------------------------------------

    async def append(
        self,
        token: WriteToken,
        workflow_id: WorkflowId,
        events: Sequence[Event],
        expected_seq: int,
    ) -> None:
        """Append after head ``expected_seq``, atomically (SPEC §6)."""
        self._engine.append(token, workflow_id, events, expected_seq)

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        """Every event in seq order; ``[]`` for an unknown workflow."""
        return self._engine.read_history(workflow_id)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        """Events with ``seq >= from_seq``, in O(events returned)."""
        return self._engine.read_history_from(workflow_id, from_seq)

    async def read_history_raw(self, workflow_id: WorkflowId, from_seq: int = 1) -> bytes:
        """The stored msgpack form of events with ``seq >= from_seq``, undecoded.

        Framing: the format-version byte, then one msgpack array per event, back to
        back (docs/wire-format.md); ``from_msgpack(data, list[Event])`` reads it, and a
        streaming msgpack unpacker reads it event by event. Unknown workflow: the
        version byte alone.
        """
        return self._engine.read_history_raw(workflow_id, from_seq)

    async def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]:
        """One summary per run, oldest first (SPEC §8); ``[]`` for an unknown workflow."""
        return self._engine.read_run_chain(workflow_id)

    async def list_workflow_ids(self) -> list[WorkflowId]:
        """Every workflow with an event, sorted by ``str(id)``."""
        return self._engine.list_workflow_ids()

    async def list_active(self) -> list[WorkflowId]:
        """Workflows whose projected status is RUNNING, sorted by ``str(id)``."""
        return self._engine.list_active()

    async def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        """Summaries of started workflows matching ``filter``, by ``(started_at, str(id))``."""
        return self._engine.query(filter)

    # -- timers ----------------------------------------------------------------------

    async def schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        """Insert or replace the timer ``(workflow_id, timer_id)``."""
        self._timers.schedule(workflow_id, timer_id, fire_at)

    async def expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        """Timers with ``fire_at <= as_of``, by ``(fire_at, str(workflow_id), str(timer_id))``."""
        return self._timers.due(as_of)

    # -- visibility ------------------------------------------------------------------

    async def record_visibility(self, record: VisibilityRecord) -> None:
        """Insert or replace the record keyed by ``(workflow_id, run_id)``."""
        with self._lock:
            self._visibility.record(record)

    async def list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        """Matching runs by ``(start_time, str(workflow_id), str(run_id))``, then offset, limit."""
        with self._lock:
            return self._visibility.list(filter)

    async def count_workflows(self, filter: ListWorkflowsFilter) -> int:
        """How many runs match, ignoring pagination."""
        with self._lock:
            return self._visibility.count(filter)

    # -- packages --------------------------------------------------------------------

    async def put_package(self, record: PackageRecord) -> None:
        """Store the package row and route its workflow type to it, together."""
        with self._lock:
            self._packages.put_package(record)

    async def list_packages(self) -> list[PackageRecord]:
        """Rows by ``deployed_at``, ties by ``(workflow_type, content_hash)``."""
        with self._lock:
            return self._packages.list_packages()

    async def delete_package(self, workflow_type: str, content_hash: str) -> None:
        """Remove that row only; absent is a no-op; routes stay."""
        with self._lock:
            self._packages.delete_package(workflow_type, content_hash)

    async def put_package_route(self, workflow_type: str, content_hash: str) -> None:
        """Insert or replace the route of ``workflow_type``."""
        with self._lock:
            self._packages.put_package_route(workflow_type, content_hash)

    async def list_package_routes(self) -> list[PackageRouteRecord]:
        """Routes sorted by ``workflow_type``."""
        with self._lock:
            return self._packages.list_package_routes()
