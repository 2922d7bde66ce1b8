"""``PostgresStore`` (SPEC §14): many engine processes on many hosts, one PostgreSQL database.

It keeps what ``InMemoryStore`` keeps, with the same results, in the tables of one
PostgreSQL schema (:mod:`aion_store._postgres.schema`), through the asyncio driver
``asyncpg`` (the extra ``aion-store[postgres]``; chosen by measurement, see the README):

- events as the codec's msgpack bytes (``bytea``), keyed by ``(workflow_id, seq)``;
- an append is one call of the schema's ``append`` function: the head check (a
  conditional update, ``... WHERE head = expected``), the events and the projection
  changes, in one statement and one round trip; appends awaited together share that
  call and its commit (group commit, :mod:`aion_store._postgres.group`);
- listings, queries and run chains read the projection tables; timers are indexed for
  a range scan; search attributes are ``jsonb`` and predicates run in SQL.

A failure of the server (down, connection lost, a statement over ``timeout``) is a
``BackendError`` with the driver's exception chained; the pool replaces broken
connections by itself, so the same store serves the next call once the server is back.
A store belongs to the event loop that connected it.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from aion_store import _select
from aion_store._cache import DEFAULT_DECODED_CACHE_BYTES
from aion_store._fields import describe
from aion_store._postgres.group import GroupCommit
from aion_store._postgres.schema import SCHEMA_VERSION, check_current, prepare, quote
from aion_store._sql.opening import Opening, check_timeout
from aion_store._sql.projection import delta
from aion_store._sql.rows import (
    STATUSES,
    datetime_of,
    id_bytes,
    micros_of,
    run_id_of,
    status_code,
    timer_id_of,
    timer_key,
    workflow_id_of,
)
from aion_store._sql.store import SqlStore
from aion_store._sql.visibility import KINDS, attribute_value, condition
from aion_store._validate import check_seq
from aion_store.error import BackendError, SequenceConflict, StoreError
from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary
from aion_store.search import SearchAttributeType
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)
from aion_store.wire import _msgpack_py as _msgpack

try:
    import asyncpg
except ImportError as missing:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "PostgresStore needs the asyncpg driver: pip install 'aion-store[postgres]'"
    ) from missing

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

#: The codec of stored events: the compiled core's when it is active.
_codec: Any = _select.codec

#: What the driver and the network raise when the database fails (BackendError).
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
_KEYWORD_LIST = KINDS[SearchAttributeType.KEYWORD_LIST]


def _text(value: str) -> bytes:
    return value.encode("utf-8")


def _uuid(raw: bytes) -> bytes:
    return raw


_INT64 = struct.Struct(">q")
#: PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC.
_POSTGRES_EPOCH = micros_of(datetime(2000, 1, 1, tzinfo=timezone.utc))


def _encode_time(value: datetime) -> bytes:
    return _INT64.pack(micros_of(value) - _POSTGRES_EPOCH)


def _decode_time(raw: bytes) -> datetime:
    return datetime_of(_INT64.unpack(raw)[0] + _POSTGRES_EPOCH)


async def _setup_connection(connection: Any) -> None:
    # uuid columns travel as their 16 bytes: ids convert with int.from_bytes, no uuid.UUID.
    await connection.set_type_codec(
        "uuid", schema="pg_catalog", encoder=_uuid, decoder=_uuid, format="binary"
    )
    # timestamptz as exact microseconds: the driver's own codec maps datetime.min and
    # datetime.max (years 1 and 9999, valid here) to -infinity and infinity.
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_encode_time,
        decoder=_decode_time,
        format="binary",
    )


async def _reset_connection(connection: Any) -> None:
    """Make a released connection fit for the next call, in no round trip when it is.

    asyncpg's default reset (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL``) is a second round trip on every call, and undoes nothing this store does: it
    takes only transaction-scoped advisory locks, opens no cursor outside a transaction,
    never LISTENs and never SETs session state. What can be left is a transaction that
    a cancelled call interrupted: that is rolled back.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class PostgresStore(SqlStore):
    """Workflow histories, projections, timers, visibility and packages in one schema of a
    PostgreSQL database; any number of stores, on any number of hosts, may share it.

    Connect with ``await PostgresStore.connect(dsn, schema="aion")`` or ``async with
    PostgresStore.connect(...) as store``; ``close()`` it when done.
    """

    __slots__ = ("_appends", "_pool", "_sql", "schema")

    def __init__(self, pool: Any, schema: str, options: _Options) -> None:
        # Use PostgresStore.connect(): it creates the pool and checks the schema.
        name = f"postgresql schema {schema!r}"
        super().__init__(name, _codec, options.cache, read_only=options.read_only)
        self.schema = schema
        self._pool = pool
        self._sql = _Statements(quote(schema))
        # Appends hold at most half the pool; reads get the rest.
        self._appends: GroupCommit[tuple[Any, ...]] = GroupCommit(
            self._commit_appends,
            _workflow_key,
            lanes=max(1, options.high // 2),
            largest=1_000 if options.group_commit else 1,
        )

    @classmethod
    def connect(
        cls,
        dsn: str,
        *,
        schema: str = "aion",
        min_connections: int = 1,
        max_connections: int = 10,
        timeout: float = 60.0,
        decoded_cache_bytes: int = DEFAULT_DECODED_CACHE_BYTES,
        read_only: bool = False,
        group_commit: bool = True,
    ) -> Opening[PostgresStore]:
        """Connect a pool to ``dsn`` and use ``schema``, creating it (or migrating it
        forward) when needed. Await the result, or use it as ``async with``.

        ``timeout`` bounds every statement (seconds); ``decoded_cache_bytes`` bounds the
        estimated memory of the decoded histories kept between reads (0: none). A schema
        that is not an aion-store schema, or of a newer version, is a ``BackendError``
        and is left untouched.
        ``read_only=True`` uses an existing schema of this version for reading only:
        nothing is created, migrated or written (every write is a BackendError).
        ``group_commit=False`` sends every append in a statement of its own (one workflow
        per transaction, as a sharded cluster prefers) instead of sharing statements and
        commits among appends awaited together.
        """
        if not isinstance(dsn, str) or not dsn:
            raise TypeError(f"dsn must be a non-empty str, got {describe(dsn)}")
        if not isinstance(schema, str) or not schema or len(schema.encode("utf-8")) > 63:
            raise ValueError(f"schema must be a name of 1 to 63 bytes, got {describe(schema)}")
        if "\x00" in schema:
            raise ValueError(f"schema must not contain NUL, got {describe(schema)}")
        low = check_seq(min_connections, "min_connections")
        high = check_seq(max_connections, "max_connections")
        if high < 1 or low > high:
            raise ValueError(
                f"need 0 <= min_connections <= max_connections and max_connections >= 1, "
                f"got {low} and {high}"
            )
        timeout = check_timeout(timeout)
        cache = min(check_seq(decoded_cache_bytes, "decoded_cache_bytes"), sys.maxsize)
        options = _Options(low, high, timeout, cache, bool(read_only), bool(group_commit))
        return Opening(_connect(cls, dsn, schema, options))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<PostgresStore schema={self.schema!r} {state}>"

    async def _shutdown(self) -> None:
        await self._appends.wait()
        try:
            await self._pool.close()
        except _FAILURES as error:
            raise self._failure("close", error) from error

    def _failure(self, what: str, error: BaseException) -> BackendError:
        text = " ".join(str(error).split()) or type(error).__name__
        failure = BackendError(f"{self._name}: {what} failed: {type(error).__name__}: {text}")
        failure.__cause__ = error
        return failure

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Any]:
        """A pooled connection; any failure of the database is a BackendError."""
        try:
            async with self._pool.acquire() as connection:
                yield connection
        except StoreError:
            raise
        except _FAILURES as error:
            raise self._failure(what, error) from error

    async def _fetch(self, what: str, sql: str, *parameters: Any) -> list[Any]:
        async with self._connection(what) as connection:
            return await connection.fetch(sql, *parameters)  # type: ignore[no-any-return]

    async def _execute(self, what: str, sql: str, *parameters: Any) -> None:
        async with self._connection(what) as connection:
            await connection.execute(sql, *parameters)

    # -- histories -----------------------------------------------------------------------

    async def _append(
        self,
        workflow_id: WorkflowId,
        batch: tuple[Event, ...],
        expected: int,
        problem: BaseException | None,
    ) -> None:
        key = id_bytes(workflow_id)
        if not batch or problem is not None:
            rows = await self._fetch("append", self._sql.head, key)
            head = rows[0][0] if rows else 0
            if head != expected:
                raise SequenceConflict(expected=expected, found=head)
            if problem is not None:
                raise problem
            return
        change = delta(batch)
        runs = change.new_runs
        end = change.end_of_current
        request = (
            key,
            expected,
            _codec.encode_event_bodies(batch),
            None if change.status is None else status_code(change.status),
            None if end is None else status_code(end.status),
            None if end is None else end.closed_at,
            [id_bytes(run.run_id) for run in runs],
            [None if run.parent_run_id is None else id_bytes(run.parent_run_id) for run in runs],
            [status_code(run.status) for run in runs],
            [run.started_at for run in runs],
            [run.closed_at for run in runs],
            _text(runs[-1].workflow_type) if runs else None,
            [id_bytes(child) for child in change.children],
        )
        found = await self._appends.submit(request)
        if found >= 0:
            raise SequenceConflict(expected=expected, found=found)

    async def _commit_appends(self, requests: list[tuple[Any, ...]]) -> list[int]:
        async with self._connection("append") as connection:
            return await connection.fetchval(self._sql.append, requests)  # type: ignore[no-any-return]

    async def _bodies(self, workflow_id: WorkflowId, start: int) -> list[bytes]:
        rows = await self._fetch("read", self._sql.events_from, id_bytes(workflow_id), start)
        return [row[0] for row in rows]

    async def _runs(self, workflow_id: WorkflowId) -> list[RunSummary]:
        rows = await self._fetch("read the run chain", self._sql.runs, id_bytes(workflow_id))
        return [
            RunSummary._trusted(
                run_id_of(run_id),
                None if parent is None else run_id_of(parent),
                STATUSES[status],
                started_at,
                closed_at,
            )
            for run_id, parent, status, started_at, closed_at in rows
        ]

    async def _workflow_ids(self, *, active: bool) -> list[WorkflowId]:
        sql = self._sql.active if active else self._sql.workflow_ids
        return [workflow_id_of(row[0]) for row in await self._fetch("list", sql)]

    async def _query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        rows = await self._query_rows(*self._sql.query(filter))
        return [summary for summary, _ in rows]

    async def _query_page(
        self, filter: WorkflowFilter, after: tuple[datetime, WorkflowId] | None, limit: int
    ) -> list[tuple[WorkflowSummary, int]]:
        return await self._query_rows(*self._sql.query(filter, after, limit))

    async def _query_rows(
        self, sql: str, parameters: list[Any]
    ) -> list[tuple[WorkflowSummary, int]]:
        rows = await self._fetch("query", sql, *parameters)
        return [
            (
                WorkflowSummary._trusted(
                    workflow_id_of(workflow_id),
                    workflow_type.decode("utf-8"),
                    STATUSES[status],
                    started_at,
                    ended_at,
                    None if parent is None else workflow_id_of(parent),
                ),
                head,
            )
            for workflow_id, workflow_type, status, started_at, ended_at, parent, head in rows
        ]

    # -- timers --------------------------------------------------------------------------

    async def _schedule_timer(
        self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime
    ) -> None:
        key = _text(timer_key(timer_id))
        await self._execute(
            "schedule a timer", self._sql.timer, id_bytes(workflow_id), key, fire_at
        )

    async def _expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        rows = await self._fetch("read the timers", self._sql.expired, as_of)
        return [
            TimerEntry._trusted(workflow_id_of(owner), timer_id_of(timer.decode("utf-8")), at)
            for owner, timer, at in rows
        ]

    # -- visibility ----------------------------------------------------------------------

    async def _record_visibility(self, record: VisibilityRecord) -> None:
        summary = VisibilityWorkflowSummary.from_record(record)
        await self._execute(
            "record visibility",
            self._sql.visibility,
            id_bytes(record.workflow_id),
            id_bytes(record.run_id),
            _text(record.workflow_type),
            status_code(record.status),
            record.start_time,
            record.close_time,
            _attributes_json(record.search_attributes),
            _msgpack.to_msgpack(summary),
        )

    async def _list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        where, parameters = _visibility_where(filter)
        limit = f"LIMIT {filter.limit}" if filter.limit is not None else ""
        sql = (
            f"SELECT record FROM {self._sql.schema}.visibility v WHERE {where} "
            f"ORDER BY start_time, workflow_id, run_id {limit} OFFSET {filter.offset or 0}"
        )
        rows = await self._fetch("list workflows", sql, *parameters)
        return [_msgpack.from_msgpack(row[0], VisibilityWorkflowSummary) for row in rows]

    async def _count_workflows(self, filter: ListWorkflowsFilter) -> int:
        where, parameters = _visibility_where(filter)
        sql = f"SELECT count(*) FROM {self._sql.schema}.visibility v WHERE {where}"
        rows = await self._fetch("count workflows", sql, *parameters)
        return int(rows[0][0])

    # -- packages ------------------------------------------------------------------------

    async def _put_package(self, record: PackageRecord) -> None:
        await self._execute(
            "put a package",
            self._sql.package,
            _text(record.workflow_type),
            _text(record.content_hash),
            record.archive,
            record.deployed_at,
        )

    async def _list_packages(self) -> list[PackageRecord]:
        rows = await self._fetch("list packages", self._sql.packages)
        return [
            PackageRecord._trusted(kind.decode("utf-8"), content.decode("utf-8"), archive, at)
            for kind, content, archive, at in rows
        ]

    async def _delete_package(self, workflow_type: str, content_hash: str) -> None:
        sql = self._sql.delete_package
        await self._execute("delete a package", sql, _text(workflow_type), _text(content_hash))

    async def _put_package_route(self, workflow_type: str, content_hash: str) -> None:
        sql = self._sql.route
        await self._execute("put a route", sql, _text(workflow_type), _text(content_hash))

    async def _list_package_routes(self) -> list[PackageRouteRecord]:
        rows = await self._fetch("list routes", self._sql.routes)
        return [
            PackageRouteRecord._trusted(kind.decode("utf-8"), content.decode("utf-8"))
            for kind, content in rows
        ]


def _workflow_key(request: tuple[Any, ...]) -> bytes:
    return request[0]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Options:
    low: int
    high: int
    timeout: float
    cache: int
    read_only: bool
    group_commit: bool


async def _connect(
    cls: type[PostgresStore], dsn: str, schema: str, options: _Options
) -> PostgresStore:
    name = f"postgresql schema {schema!r}"
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=options.low,
            max_size=options.high,
            command_timeout=options.timeout,
            init=_setup_connection,
            reset=_reset_connection,
        )
    except _FAILURES as error:
        failure = BackendError(f"{name}: connect failed: {type(error).__name__}: {error}")
        raise failure from error
    except ValueError as error:  # a malformed DSN
        raise BackendError(f"{name}: connect failed: {error}") from error
    try:
        async with pool.acquire() as connection:
            if options.read_only:
                await check_current(connection, schema, name)
            else:
                await prepare(connection, schema, name)
    except BaseException as error:
        await pool.close()
        if isinstance(error, _FAILURES):
            raise BackendError(f"{name}: prepare the schema failed: {error}") from error
        raise
    return cls(pool, schema, options)


class _Statements:
    """The SQL of one schema, written once per store."""

    def __init__(self, schema: str) -> None:
        s = self.schema = schema
        self.head = f"SELECT head FROM {s}.workflows WHERE workflow_id = $1"
        self.append = f"SELECT {s}.append($1::{s}.append_request[])"
        self.events_from = (
            f"SELECT body FROM {s}.events WHERE workflow_id = $1 AND seq >= $2 ORDER BY seq"
        )
        self.runs = (
            f"SELECT run_id, parent_run_id, status, started_at, closed_at FROM {s}.runs "
            "WHERE workflow_id = $1 ORDER BY run_index"
        )
        self.workflow_ids = f"SELECT workflow_id FROM {s}.workflows ORDER BY workflow_id"
        self.active = f"SELECT workflow_id FROM {s}.workflows WHERE status = 0 ORDER BY workflow_id"
        self.timer = (
            f"INSERT INTO {s}.timers (workflow_id, timer_id, fire_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (workflow_id, timer_id) DO UPDATE SET fire_at = excluded.fire_at"
        )
        self.expired = (
            f"SELECT workflow_id, timer_id, fire_at FROM {s}.timers WHERE fire_at <= $1 "
            "ORDER BY fire_at, workflow_id, timer_id"
        )
        self.visibility = (
            f"INSERT INTO {s}.visibility (workflow_id, run_id, workflow_type, status, "
            "start_time, close_time, search_attributes, record) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) "
            "ON CONFLICT (workflow_id, run_id) DO UPDATE SET "
            "workflow_type = excluded.workflow_type, status = excluded.status, "
            "start_time = excluded.start_time, close_time = excluded.close_time, "
            "search_attributes = excluded.search_attributes, record = excluded.record"
        )
        self.package = (
            f"WITH stored AS (INSERT INTO {s}.packages (workflow_type, content_hash, archive, "
            "deployed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_type, content_hash) "
            "DO UPDATE SET archive = excluded.archive, deployed_at = excluded.deployed_at) "
            f"INSERT INTO {s}.package_routes (workflow_type, content_hash) VALUES ($1, $2) "
            "ON CONFLICT (workflow_type) DO UPDATE SET content_hash = excluded.content_hash"
        )
        self.packages = (
            f"SELECT workflow_type, content_hash, archive, deployed_at FROM {s}.packages "
            "ORDER BY deployed_at, workflow_type, content_hash"
        )
        self.delete_package = (
            f"DELETE FROM {s}.packages WHERE workflow_type = $1 AND content_hash = $2"
        )
        self.route = (
            f"INSERT INTO {s}.package_routes (workflow_type, content_hash) VALUES ($1, $2) "
            "ON CONFLICT (workflow_type) DO UPDATE SET content_hash = excluded.content_hash"
        )
        self.routes = (
            f"SELECT workflow_type, content_hash FROM {s}.package_routes ORDER BY workflow_type"
        )

    def query(
        self,
        filter: WorkflowFilter,
        after: tuple[datetime, WorkflowId] | None = None,
        limit: int | None = None,
    ) -> tuple[str, list[Any]]:
        """The query of ``filter`` in ``query`` order (rows after ``after``, at most
        ``limit``), each row with the workflow's head last."""
        s = self.schema
        conditions = ["w.started_at IS NOT NULL"]
        parameters: list[Any] = []

        def parameter(value: Any) -> str:
            parameters.append(value)
            return f"${len(parameters)}"

        if filter.workflow_type is not None:
            conditions.append(f"w.workflow_type = {parameter(_text(filter.workflow_type))}")
        if filter.status is not None:
            conditions.append(f"w.status = {parameter(status_code(filter.status))}")
        if filter.started_after is not None:
            conditions.append(f"w.started_at >= {parameter(filter.started_after)}")
        if filter.started_before is not None:
            conditions.append(f"w.started_at <= {parameter(filter.started_before)}")
        if filter.parent is not None:
            parent = parameter(id_bytes(filter.parent))
            conditions.append(
                f"w.workflow_id IN (SELECT child FROM {s}.children WHERE workflow_id = {parent})"
            )
            conditions.append(f"p.parent = {parent}")
        if after is not None:
            started, workflow_id = parameter(after[0]), parameter(id_bytes(after[1]))
            conditions.append(f"(w.started_at, w.workflow_id) > ({started}, {workflow_id})")
        sql = (
            "SELECT w.workflow_id, w.workflow_type, w.status, w.started_at, w.ended_at, "
            f"p.parent, w.head FROM {s}.workflows w LEFT JOIN LATERAL (SELECT c.workflow_id "
            f"AS parent FROM {s}.children c WHERE c.child = w.workflow_id ORDER BY c.named "
            f"DESC LIMIT 1) p ON true WHERE {' AND '.join(conditions)} "
            "ORDER BY w.started_at, w.workflow_id"
        )
        if limit is not None:
            sql += f" LIMIT {parameter(limit)}"
        return sql, parameters


# -- search attributes as jsonb -----------------------------------------------------------


def _escaped(text: str) -> str:
    # jsonb cannot hold U+0000: an injective escape through U+0001 keeps equality exact.
    if "\x00" in text or "\x01" in text:
        return text.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")
    return text


def _entry(kind: int, stored: Any) -> dict[str, Any]:
    """One attribute as stored in jsonb: ``{"k": kind, "v": value}``. Floats are written
    as their shortest repr, which jsonb reads as the exact decimal (ordered as floats)."""
    if isinstance(stored, str):
        stored = _escaped(stored)
    return {"k": kind, "v": stored}


def _attributes_json(attributes: Any) -> str:
    """The jsonb document of a record's search attributes: ``{name: entry}``."""
    document = {}
    for name, value in attributes.items():
        kind, stored = attribute_value(value)
        if kind == _KEYWORD_LIST:
            stored = [_escaped(keyword) for keyword in value]
        document[_escaped(name)] = _entry(kind, stored)
    return json.dumps(document, ensure_ascii=False)


def _visibility_where(filter: ListWorkflowsFilter) -> tuple[str, list[Any]]:
    conditions = ["true"]
    parameters: list[Any] = []

    def parameter(value: Any) -> str:
        parameters.append(value)
        return f"${len(parameters)}"

    workflow_type = None if filter.workflow_type is None else _text(filter.workflow_type)
    for column, operator, value in (
        ("workflow_type", "=", workflow_type),
        ("status", "=", None if filter.status is None else status_code(filter.status)),
        ("start_time", ">=", filter.started_after),
        ("start_time", "<=", filter.started_before),
        ("close_time", ">=", filter.closed_after),
        ("close_time", "<=", filter.closed_before),
    ):
        if value is not None:
            conditions.append(f"v.{column} {operator} {parameter(value)}")
    for predicate in filter.search_attributes:
        found = condition(predicate)
        if found is None:
            conditions.append("false")
            continue
        name = _escaped(found.name)
        if found.operator == "contains":
            document = json.dumps(
                {name: _entry(found.kind, [_escaped(found.operand)])}, ensure_ascii=False
            )
            conditions.append(f"v.search_attributes @> {parameter(document)}::jsonb")
        elif found.operator == "=" and found.kind == _KEYWORD_LIST:
            # Exact equality: containment would let a longer list match.
            keywords = [_escaped(keyword) for keyword in predicate.value]  # type: ignore[attr-defined]
            entry_text = json.dumps(_entry(found.kind, keywords), ensure_ascii=False)
            conditions.append(
                f"v.search_attributes -> {parameter(name)} = {parameter(entry_text)}::jsonb"
            )
        elif found.operator == "=":
            # For a scalar, containment is equality (and uses the GIN index).
            document = json.dumps({name: _entry(found.kind, found.operand)}, ensure_ascii=False)
            conditions.append(f"v.search_attributes @> {parameter(document)}::jsonb")
        else:
            # CASE, not AND: the cast may only run on an entry of the right kind.
            stored = f"v.search_attributes -> {parameter(name)}"
            conditions.append(
                f"CASE WHEN ({stored} ->> 'k')::int = {parameter(found.kind)} "
                f"THEN ({stored} -> 'v')::numeric {found.operator} "
                f"{parameter(Decimal(repr(found.operand)))} ELSE false END"
            )
    return " AND ".join(conditions), parameters
