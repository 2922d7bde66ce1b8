"""The public surface both SQL stores share: every method's checks, in the contract's
order, and the reads through the cache of decoded histories.

A subclass supplies the queries (the ``_``-prefixed coroutines below) and ``_shutdown``;
this class checks that the store is open (first, before any argument: SPEC §14), then
the arguments with the same functions and messages ``InMemoryStore`` uses, then calls
the query. So the two durable stores and the in-memory one reject bad input alike.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from aion_store._cache import CLOSING_TAGS, decoded_cost
from aion_store._fields import check_str, describe
from aion_store._sql.cache import HistoryCache
from aion_store._sql.rows import id_bytes
from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_time,
    check_timer_id,
    check_workflow_id,
)
from aion_store.error import BackendError
from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.store import WriteToken
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    check_list_filter,
)
from aion_store.wire import _msgpack_py as _msgpack

__all__ = ["SEQ_LIMIT", "SqlStore"]

#: SQL integers are signed 64-bit: no stored seq reaches this (it would take 2**63
#: appends), so a read from further on is a read past the head.
SEQ_LIMIT = (1 << 63) - 1


class SqlStore:
    """A durable ``EventStore`` and ``VisibilityStore``; see the module docstring."""

    __slots__ = ("_cache", "_closed", "_codec", "_lock", "_name", "_stopping", "read_only")

    def __init__(
        self, name: str, codec: Any, decoded_cache_bytes: int, *, read_only: bool = False
    ) -> None:
        self._name = name
        #: Opened for reading only: every write is a BackendError, raised before its checks.
        self.read_only = read_only
        self._codec = codec
        self._cache = HistoryCache(decoded_cache_bytes)
        self._lock = threading.Lock()
        self._closed = False
        self._stopping: asyncio.Future[None] | None = None

    # -- open and closed -----------------------------------------------------------------

    async def __aenter__(self) -> SqlStore:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish the calls in flight, then let go of the database; closing again
        does nothing."""
        with self._lock:
            self._closed = True
            if self._stopping is None:
                self._stopping = asyncio.ensure_future(self._shutdown())
            stopping = self._stopping
        await asyncio.shield(stopping)

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError(f"{self._name}: the store is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise BackendError(f"{self._name}: the store was opened read-only")

    async def _shutdown(self) -> None:
        raise NotImplementedError

    # -- histories -----------------------------------------------------------------------

    async def append(
        self,
        token: WriteToken,
        workflow_id: WorkflowId,
        events: Sequence[Event],
        expected_seq: int,
    ) -> None:
        """Append after head ``expected_seq``, atomically and durably (SPEC §6, §14)."""
        self._check_writable()
        expected = check_append_arguments(token, workflow_id, events, expected_seq)
        batch = tuple(events)
        # Checked now, raised after the head check in the transaction (SPEC §6's order).
        problem: BaseException | None = None
        try:
            check_batch(workflow_id, batch, expected)
        except (TypeError, BackendError) as error:
            problem = error
        await self._append(workflow_id, batch, expected, problem)
        for event in batch:
            if CLOSING_TAGS[event.TAG]:
                self._cache.discard(id_bytes(workflow_id))
                break

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        """Every event in seq order; ``[]`` for an unknown workflow."""
        self._check_open()
        check_workflow_id(workflow_id)
        return await self._history(workflow_id, 1)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        """Events with ``seq >= from_seq``, in O(events returned)."""
        self._check_open()
        check_workflow_id(workflow_id)
        start = min(max(check_seq(from_seq, "from_seq"), 1), SEQ_LIMIT)
        return await self._history(workflow_id, start)

    async def read_history_raw(self, workflow_id: WorkflowId, from_seq: int = 1) -> bytes:
        """The stored msgpack bytes of events with ``seq >= from_seq``, undecoded: the
        format-version byte, then the events back to back (as ``InMemoryStore``'s)."""
        self._check_open()
        check_workflow_id(workflow_id)
        start = min(max(check_seq(from_seq, "from_seq"), 1), SEQ_LIMIT)
        return _msgpack.MARKER + b"".join(await self._bodies(workflow_id, start))

    async def _history(self, workflow_id: WorkflowId, start: int) -> list[Event]:
        """Events from ``start`` on, through the cache of decoded prefixes: the database
        is asked for every row past the cached prefix, so a read is never stale."""
        key = id_bytes(workflow_id)
        cached, cost = self._cache.get(key)
        decode = self._codec.decode_stored_events
        if start > len(cached) + 1:
            return decode(await self._bodies(workflow_id, start), workflow_id, start)  # type: ignore[no-any-return]
        bodies = await self._bodies(workflow_id, len(cached) + 1)
        if bodies:
            cost += decoded_cost(bodies)
            cached = cached + decode(bodies, workflow_id, len(cached) + 1)
            self._cache.put(key, cached, cost)
        return cached[start - 1 :]

    async def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]:
        """One summary per run, oldest first (SPEC §8); ``[]`` for an unknown workflow."""
        self._check_open()
        check_workflow_id(workflow_id)
        return order_runs(await self._runs(workflow_id))

    async def list_workflow_ids(self) -> list[WorkflowId]:
        """Every workflow with an event, sorted by ``str(id)``."""
        self._check_open()
        return await self._workflow_ids(active=False)

    async def list_active(self) -> list[WorkflowId]:
        """Workflows whose projected status is RUNNING, sorted by ``str(id)``."""
        self._check_open()
        return await self._workflow_ids(active=True)

    async def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        """Summaries of started workflows matching ``filter``, by ``(started_at, str(id))``."""
        self._check_open()
        return await self._query(check_filter(filter))

    async def query_page(
        self,
        filter: WorkflowFilter,
        after: tuple[datetime, WorkflowId] | None = None,
        limit: int = 1_000,
    ) -> list[tuple[WorkflowSummary, int]]:
        """``query(filter)`` a page at a time, each summary with its history's event count:
        the next ``limit`` rows after the one whose ``(started_at, workflow_id)`` is
        ``after`` (None: from the first). Memory stays flat over any number of pages."""
        self._check_open()
        check_filter(filter)
        limit = check_seq(limit, "limit")
        if after is not None:
            started, workflow_id = after
            after = (check_time(started, "after[0]"), check_workflow_id(workflow_id))
        return await self._query_page(filter, after, min(limit, SEQ_LIMIT))

    # -- timers --------------------------------------------------------------------------

    async def schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        """Insert or replace the timer ``(workflow_id, timer_id)``, durably."""
        self._check_writable()
        check_workflow_id(workflow_id)
        check_timer_id(timer_id)
        await self._schedule_timer(workflow_id, timer_id, check_time(fire_at, "fire_at"))

    async def expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        """Timers with ``fire_at <= as_of``, by ``(fire_at, str(workflow_id), str(timer_id))``."""
        self._check_open()
        return await self._expired_timers(check_time(as_of, "as_of"))

    # -- visibility ----------------------------------------------------------------------

    async def record_visibility(self, record: VisibilityRecord) -> None:
        """Insert or replace the record keyed by ``(workflow_id, run_id)``, durably."""
        self._check_writable()
        if not isinstance(record, VisibilityRecord):
            raise TypeError(f"record_visibility takes a VisibilityRecord, got {describe(record)}")
        await self._record_visibility(record)

    async def list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        """Matching runs by ``(start_time, str(workflow_id), str(run_id))``, then offset, limit."""
        self._check_open()
        return await self._list_workflows(check_list_filter(filter))

    async def count_workflows(self, filter: ListWorkflowsFilter) -> int:
        """How many runs match, ignoring pagination."""
        self._check_open()
        return await self._count_workflows(check_list_filter(filter))

    # -- packages ------------------------------------------------------------------------

    async def put_package(self, record: PackageRecord) -> None:
        """Store the package row and route its workflow type to it, together."""
        self._check_writable()
        if not isinstance(record, PackageRecord):
            raise TypeError(f"put_package takes a PackageRecord, got {describe(record)}")
        await self._put_package(record)

    async def list_packages(self) -> list[PackageRecord]:
        """Rows by ``deployed_at``, ties by ``(workflow_type, content_hash)``."""
        self._check_open()
        return await self._list_packages()

    async def delete_package(self, workflow_type: str, content_hash: str) -> None:
        """Remove that row only; absent is a no-op; routes stay."""
        self._check_writable()
        workflow_type = check_str(workflow_type, "workflow_type")
        await self._delete_package(workflow_type, check_str(content_hash, "content_hash"))

    async def put_package_route(self, workflow_type: str, content_hash: str) -> None:
        """Insert or replace the route of ``workflow_type``."""
        self._check_writable()
        workflow_type = check_str(workflow_type, "workflow_type")
        await self._put_package_route(workflow_type, check_str(content_hash, "content_hash"))

    async def list_package_routes(self) -> list[PackageRouteRecord]:
        """Routes sorted by ``workflow_type``."""
        self._check_open()
        return await self._list_package_routes()

    # -- the queries a store implements --------------------------------------------------

    async def _append(
        self,
        workflow_id: WorkflowId,
        batch: tuple[Event, ...],
        expected: int,
        problem: BaseException | None,
    ) -> None:
        """Check the head (``SequenceConflict``), then raise ``problem`` if any, then
        store the batch and its projection changes, atomically and durably."""
        raise NotImplementedError

    async def _bodies(self, workflow_id: WorkflowId, start: int) -> list[bytes]:
        """The stored bodies of events ``start`` onward, in seq order."""
        raise NotImplementedError

    async def _runs(self, workflow_id: WorkflowId) -> list[RunSummary]:
        raise NotImplementedError

    async def _workflow_ids(self, *, active: bool) -> list[WorkflowId]:
        raise NotImplementedError

    async def _query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        raise NotImplementedError

    async def _query_page(
        self, filter: WorkflowFilter, after: tuple[datetime, WorkflowId] | None, limit: int
    ) -> list[tuple[WorkflowSummary, int]]:
        raise NotImplementedError

    async def _schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        raise NotImplementedError

    async def _expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        raise NotImplementedError

    async def _record_visibility(self, record: VisibilityRecord) -> None:
        raise NotImplementedError

    async def _list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        raise NotImplementedError

    async def _count_workflows(self, filter: ListWorkflowsFilter) -> int:
        raise NotImplementedError

    async def _put_package(self, record: PackageRecord) -> None:
        raise NotImplementedError

    async def _list_packages(self) -> list[PackageRecord]:
        raise NotImplementedError

    async def _delete_package(self, workflow_type: str, content_hash: str) -> None:
        raise NotImplementedError

    async def _put_package_route(self, workflow_type: str, content_hash: str) -> None:
        raise NotImplementedError

    async def _list_package_routes(self) -> list[PackageRouteRecord]:
        raise NotImplementedError
