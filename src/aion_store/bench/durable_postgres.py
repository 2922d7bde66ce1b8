"""The durable stores of the ``postgres`` family, each in a fresh schema of one server.

The server is the one a DSN names: ``aion-store bench --postgres-dsn DSN``, or the
environment variable ``AION_STORE_POSTGRES_DSN`` (:func:`postgres_dsn`,
:func:`use_dsn`). Without one the family is not available (:func:`unavailable_reason`).

- ``postgres``: :class:`BenchPostgresStore`, ``PostgresStore`` itself (its defaults: a
  pool of 1-10 connections, group commit) in a schema of its own that ``close()`` drops.
- ``postgres_floor``: :class:`PostgresFloor`, the bare floor every durable async store
  on PostgreSQL pays: the same msgpack bytes (the same codec) written with ``asyncpg``
  from the event loop in one round trip -- an autocommitted ``INSERT INTO events
  (workflow_id, seq, body) VALUES ($1, $2, $3)`` (a batch: one ``INSERT ... SELECT``
  over ``unnest`` of the bodies) into a table shaped like ``PostgresStore``'s events, in
  a schema of its own. Its connections are a bare free list (up to 10, as the store's
  pool): no reset query on release, no group commit, no projections, no validation, no
  cache; its only concurrency check is the primary key (a batch whose first seq is
  taken is a ``SequenceConflict``). A read is the same indexed ``SELECT body ... WHERE
  workflow_id = $1 AND seq >= $2 ORDER BY seq`` plus decoding the rows it returns.
- ``eventsourcing_postgres``: the ``eventsourcing`` library's
  ``PostgresAggregateRecorder`` on a ``PostgresDatastore`` (psycopg 3, one pooled
  connection in autocommit) in a schema of its own, behind the same adapter as the
  in-memory peer (:mod:`aion_store.bench.peer`). Synchronous: every call blocks the
  event loop for its whole duration and pays no hop.

Every store here has ``schema``, ``close()`` (idempotent: close the connections, drop
the schema), ``release()`` (close the connections, keep the schema) and
``disk_bytes()`` (release, ``VACUUM FULL`` the schema's tables, the bytes of their
heaps, indexes and TOAST). Nothing here imports ``asyncpg`` or ``psycopg`` until a
store is made (``import aion_store.bench`` stays light). A schema is named
``aion_bench_<kind>_<random>``; an interrupted run may leave one behind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import importlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from aion_store import _select
from aion_store.error import SequenceConflict
from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.store import WriteToken

__all__ = [
    "ENVIRONMENT",
    "POSTGRES_STORES",
    "RoundTrips",
    "ServerUnavailable",
    "open_floor",
    "open_peer",
    "open_postgres",
    "open_postgres_store",
    "postgres_dsn",
    "schema_bytes",
    "server_info",
    "unavailable_reason",
    "use_dsn",
    "vacuum",
]

#: The store ids this module makes.
POSTGRES_STORES: tuple[str, ...] = ("postgres", "postgres_floor", "eventsourcing_postgres")
#: The environment variable that names the server when no DSN is given explicitly.
ENVIRONMENT = "AION_STORE_POSTGRES_DSN"
#: ``PostgresStore``'s default ``max_connections`` ...
STORE_CONNECTIONS = 10
#: ... and the floor's connections at most: as many.
FLOOR_CONNECTIONS = STORE_CONNECTIONS
#: Seconds to wait for a connection before giving up (a server that does not answer).
CONNECT_TIMEOUT = 10.0

_given: str | None = None


def use_dsn(dsn: str | None) -> None:
    """Use ``dsn`` for the stores of this module from now on (None: back to
    ``$AION_STORE_POSTGRES_DSN``)."""
    global _given
    _given = dsn or None


def postgres_dsn() -> str | None:
    """The DSN of the family's server: the one given to :func:`use_dsn`, else
    ``$AION_STORE_POSTGRES_DSN``, else None (no server: the family is not available)."""
    return _given or os.environ.get(ENVIRONMENT) or None


#: How to give the family a server, for messages.
HOW_TO_GIVE = f"give a PostgreSQL server with --postgres-dsn DSN or {ENVIRONMENT}=DSN"


def unavailable_reason(store_id: str) -> str | None:
    """Why ``store_id`` cannot be made here, or None: no DSN, or a driver missing.
    Nothing connects (:func:`server_info` checks the server)."""
    if store_id not in POSTGRES_STORES:
        return f"unknown store {store_id!r}"
    if postgres_dsn() is None:
        return f"no PostgreSQL server given: {HOW_TO_GIVE}"
    try:
        importlib.import_module("asyncpg")
    except ImportError:
        return "asyncpg is not installed (pip install 'aion-store[postgres]')"
    if store_id == "eventsourcing_postgres":
        try:
            importlib.import_module("eventsourcing.postgres")
            importlib.import_module("aion_store.bench.peer")
        except ImportError:
            return "eventsourcing with psycopg 3 is not installed (pip install 'aion-store[peers]')"
    return None


class ServerUnavailable(RuntimeError):
    """The server of the DSN did not answer; the message is one line saying why."""


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def server_info(dsn: str, *, timeout: float = CONNECT_TIMEOUT) -> dict[str, Any]:
    """Connect to ``dsn`` once: the server's version and its commit settings (what the
    results record). :class:`ServerUnavailable` with one line when it cannot."""
    import asyncpg

    try:
        connection = await asyncpg.connect(dsn, timeout=timeout)
    except Exception as error:  # refused, no such host, bad DSN, auth, timeout ...
        raise ServerUnavailable(_one_line(error)) from error
    try:
        row = await connection.fetchrow(
            "SELECT current_setting('server_version'), "
            "current_setting('server_version_num')::int, "
            "current_setting('synchronous_commit'), current_setting('fsync')"
        )
    except Exception as error:
        raise ServerUnavailable(_one_line(error)) from error
    finally:
        await connection.close()
    assert row is not None
    version, number, synchronous_commit, fsync = row
    return {
        "version": str(version).split(" ")[0],
        "version_num": int(number),
        "synchronous_commit": str(synchronous_commit),
        "fsync": str(fsync),
    }


def _require_dsn() -> str:
    dsn = postgres_dsn()
    if dsn is None:
        raise RuntimeError(f"the postgres stores need a server: {HOW_TO_GIVE}")
    return dsn


def _new_schema(kind: str) -> str:
    return f"aion_bench_{kind}_{uuid.uuid4().hex[:12]}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _admin(dsn: str, *statements: str) -> None:
    """Run ``statements`` on a connection of their own (outside any transaction)."""
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _drop_schema(dsn: str, schema: str) -> None:
    await _admin(dsn, f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")


async def _tables(connection: Any, schema: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
        schema,
    )
    return [row[0] for row in rows]


async def vacuum(dsn: str, schema: str) -> None:
    """``VACUUM ANALYZE`` every table of ``schema``: what autovacuum does to a busy
    schema within a minute or so (dead row versions gone, statistics current)."""
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        for table in await _tables(connection, schema):
            await connection.execute(f"VACUUM ANALYZE {_quote(schema)}.{_quote(table)}")
    finally:
        await connection.close()


async def schema_bytes(dsn: str, schema: str) -> int:
    """``VACUUM FULL`` every table of ``schema``, then the bytes of their heaps, indexes
    and TOAST (``pg_total_relation_size``), summed."""
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        for table in await _tables(connection, schema):
            await connection.execute(f"VACUUM FULL {_quote(schema)}.{_quote(table)}")
        total = await connection.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind = 'r'",
            schema,
        )
    finally:
        await connection.close()
    return int(total)


_SETTINGS = "SELECT current_setting('synchronous_commit'), current_setting('fsync')"


def _codec() -> Any:
    """The codec ``PostgresStore`` stores events with (the compiled one when active)."""
    return _select.codec


class RoundTrips:
    """Round trips to the server, by statement, while a store counts them
    (``async with store.round_trips() as counted``; read ``counted`` after the block).

    On ``asyncpg`` connections every query the driver sends is logged (its query loggers):
    one exchange with the server each, up to its Sync (a prepared statement's
    Bind/Execute, or a simple query); the statements are prepared before counting (the
    stores are warm). On the psycopg peer's connection libpq's trace is read instead: one
    ``ReadyForQuery`` from the server per exchange."""

    def __init__(self) -> None:
        self.by_statement: collections.Counter[str] = collections.Counter()
        #: False when they could not be counted here (libpq's trace outside Linux).
        self.counted = True

    def __call__(self, record: Any) -> None:
        self.by_statement[_statement(str(record.query))] += 1

    @property
    def total(self) -> int:
        return sum(self.by_statement.values())


def _statement(query: str) -> str:
    """A short name of ``query`` for :class:`RoundTrips`."""
    text = " ".join(query.split())
    if ".append($1" in text:
        return "append function"
    if text.startswith("SELECT pg_advisory_unlock_all()"):
        return "pool reset on release"
    if text.startswith("INSERT INTO"):
        return "insert"
    if text.startswith("SELECT body FROM"):
        return "read events"
    return text[:60]


async def _yield_to_callbacks() -> None:
    # asyncpg calls the query loggers with loop.call_soon: let them run.
    for _ in range(3):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def _logging(connections: Sequence[Any]) -> AsyncIterator[RoundTrips]:
    counted = RoundTrips()
    for connection in connections:
        connection.add_query_logger(counted)
    try:
        yield counted
        await _yield_to_callbacks()
    finally:
        for connection in connections:
            connection.remove_query_logger(counted)


class _OwnSchema:
    """The lifecycle the postgres family's stores share: each works in a schema of its
    own, which ``close()`` drops once ``release()`` has closed the connections."""

    dsn: str
    schema: str

    async def release(self) -> None:
        """Close the connections; keep the schema."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release, then drop the schema (idempotent)."""
        try:
            await self.release()
        finally:
            if not getattr(self, "_dropped", False):
                self._dropped = True
                await _drop_schema(self.dsn, self.schema)

    async def disk_bytes(self) -> int:
        """Bytes of the schema's tables after releasing and ``VACUUM FULL``."""
        await self.release()
        return await schema_bytes(self.dsn, self.schema)


# -- PostgresStore ----------------------------------------------------------------------------


@functools.cache
def _store_class() -> type[Any]:
    """``BenchPostgresStore``, made on first use (``aion_store.postgres`` needs asyncpg)."""
    from aion_store.postgres import PostgresStore

    class BenchPostgresStore(_OwnSchema, PostgresStore):
        """``PostgresStore`` in a schema of its own: ``close()`` also drops the schema.

        Only the lifecycle differs; every measured method is ``PostgresStore``'s own."""

        __slots__ = ("_dropped", "dsn")
        #: A durable store of the benchmarks (:func:`~aion_store.bench.durable.is_durable`).
        durable: ClassVar[bool] = True
        #: The connections of its pool (its default ``max_connections``), opened before
        #: timing (:func:`~aion_store.bench.durable.prime_wal`).
        pool: ClassVar[int] = STORE_CONNECTIONS
        #: The server (set by :func:`open_postgres_store`).
        dsn: str

        @contextlib.asynccontextmanager
        async def round_trips(self) -> AsyncIterator[RoundTrips]:
            """Count the round trips of the block on every connection of the pool (which
            opens them all; the pool's reset of each one on release counts too)."""
            pool = self._pool
            held = [await pool.acquire() for _ in range(pool.get_max_size())]
            try:
                connections = [proxy._con for proxy in held]
            finally:
                for proxy in held:
                    await pool.release(proxy)
            async with _logging(connections) as counted:
                yield counted

        async def settings(self) -> dict[str, str]:
            """``synchronous_commit`` and ``fsync`` of a connection of the store's pool."""
            async with self._pool.acquire() as connection:
                row = await connection.fetchrow(_SETTINGS)
            return {"synchronous_commit": row[0], "fsync": row[1]}

        async def release(self) -> None:
            """Close the store's connections and keep its schema."""
            await PostgresStore.close(self)

    return BenchPostgresStore


async def open_postgres_store(cache_bytes: int | None = None) -> Any:
    """A fresh ``PostgresStore`` in a new schema of the server (its defaults otherwise);
    ``cache_bytes`` bounds its decoded-event cache (0: off; None: the default)."""
    dsn = _require_dsn()
    schema = _new_schema("store")
    cache: dict[str, Any] = {} if cache_bytes is None else {"decoded_cache_bytes": cache_bytes}
    try:
        store = await _store_class().connect(dsn, schema=schema, **cache)
    except BaseException:
        await _drop_schema(dsn, schema)
        raise
    store.dsn = dsn
    return store


# -- the bare floor ---------------------------------------------------------------------------


class PostgresFloor(_OwnSchema):
    """The bare floor of a durable async store on PostgreSQL: append and reads only."""

    durable: ClassVar[bool] = True
    #: Its connections at most, opened before timing (as the store's pool).
    pool: ClassVar[int] = FLOOR_CONNECTIONS

    def __init__(self, dsn: str, schema: str) -> None:
        # Use PostgresFloor.open(): it creates the schema and the table.
        self.dsn = dsn
        self.schema = schema
        table = f"{_quote(schema)}.events"
        self._insert_one = f"INSERT INTO {table} (workflow_id, seq, body) VALUES ($1, $2, $3)"
        self._insert_many = (
            f"INSERT INTO {table} (workflow_id, seq, body) "
            "SELECT $1, $2 + u.position, u.body "
            "FROM unnest($3::bytea[]) WITH ORDINALITY AS u(body, position)"
        )
        self._select = f"SELECT body FROM {table} WHERE workflow_id = $1 AND seq >= $2 ORDER BY seq"
        self._head = f"SELECT max(seq) FROM {table} WHERE workflow_id = $1"
        self._idle: list[Any] = []
        self._connections: list[Any] = []
        self._connecting = 0
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._released = False
        self._dropped = False
        self._codec = _codec()

    @classmethod
    async def open(cls, dsn: str, schema: str) -> PostgresFloor:
        floor = cls(dsn, schema)
        await _admin(
            dsn,
            f"CREATE SCHEMA {_quote(schema)}",
            f"CREATE TABLE {_quote(schema)}.events (workflow_id uuid NOT NULL, "
            "seq bigint NOT NULL, body bytea NOT NULL, PRIMARY KEY (workflow_id, seq))",
        )
        floor._release(await floor._connect())
        return floor

    async def _connect(self) -> Any:
        import asyncpg

        self._connecting += 1
        try:
            connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        finally:
            self._connecting -= 1
        self._connections.append(connection)
        return connection

    async def _acquire(self) -> Any:
        if self._released:
            raise RuntimeError("the floor is closed")
        if self._idle:
            return self._idle.pop()
        if len(self._connections) + self._connecting < FLOOR_CONNECTIONS:
            return await self._connect()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _release(self, connection: Any) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def append(
        self, token: WriteToken, workflow_id: WorkflowId, events: Sequence[Event], expected_seq: int
    ) -> None:
        import asyncpg

        bodies = self._codec.encode_event_bodies(events)
        key = workflow_id.uuid
        connection = await self._acquire()
        try:
            if len(bodies) == 1:
                await connection.execute(self._insert_one, key, expected_seq + 1, bodies[0])
            else:
                await connection.execute(self._insert_many, key, expected_seq, bodies)
        except asyncpg.UniqueViolationError:
            found = await connection.fetchval(self._head, key)
            raise SequenceConflict(expected=expected_seq, found=found or 0) from None
        finally:
            self._release(connection)

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        return await self.read_history_from(workflow_id, 1)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        start = max(from_seq, 1)
        connection = await self._acquire()
        try:
            rows = await connection.fetch(self._select, workflow_id.uuid, start)
        finally:
            self._release(connection)
        bodies = [row[0] for row in rows]
        return self._codec.decode_stored_events(bodies, workflow_id, start)  # type: ignore[no-any-return]

    @contextlib.asynccontextmanager
    async def round_trips(self) -> AsyncIterator[RoundTrips]:
        """Count the round trips of the block on every connection of the floor (it opens
        no new one meanwhile: :func:`~aion_store.bench.durable.prime_wal` opened them)."""
        async with _logging(list(self._connections)) as counted:
            yield counted

    async def settings(self) -> dict[str, str]:
        """``synchronous_commit`` and ``fsync`` of the floor's connections."""
        connection = await self._acquire()
        try:
            row = await connection.fetchrow(_SETTINGS)
        finally:
            self._release(connection)
        return {"synchronous_commit": row[0], "fsync": row[1]}

    async def release(self) -> None:
        """Close the connections; keep the schema."""
        if self._released:
            return
        self._released = True
        connections, self._connections, self._idle = self._connections, [], []
        for connection in connections:
            await connection.close()


async def open_floor() -> PostgresFloor:
    """A fresh :class:`PostgresFloor` in a new schema of the server."""
    dsn = _require_dsn()
    schema = _new_schema("floor")
    try:
        return await PostgresFloor.open(dsn, schema)
    except BaseException:
        await _drop_schema(dsn, schema)
        raise


# -- eventsourcing's PostgreSQL recorder ------------------------------------------------------


@functools.cache
def _peer_class() -> type[Any]:
    """``EventSourcingPostgresStore``, made on first use (it needs ``eventsourcing`` and
    psycopg 3)."""
    from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
    from psycopg.conninfo import conninfo_to_dict

    from aion_store.bench.peer import EventSourcingStore

    class EventSourcingPostgresStore(_OwnSchema, EventSourcingStore):
        """``eventsourcing``'s ``PostgresAggregateRecorder`` in a schema (append and reads)."""

        durable: ClassVar[bool] = True

        def __init__(self, dsn: str, schema: str) -> None:
            self.dsn = dsn
            self.schema = schema
            # The datastore takes the DSN's parts; anything else the DSN sets (sslmode,
            # options ...) goes to its pool's connections as well.
            params: dict[str, Any] = dict(conninfo_to_dict(dsn))
            self.datastore = PostgresDatastore(
                params.pop("dbname", None),
                params.pop("host", None),
                params.pop("port", None),
                params.pop("user", None),
                params.pop("password", None),
                schema=schema,
            )
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs.update(params)
            recorder = PostgresAggregateRecorder(self.datastore)
            recorder.create_table()
            super().__init__(recorder)
            self._released = False
            self._dropped = False

        @contextlib.asynccontextmanager
        async def round_trips(self) -> AsyncIterator[RoundTrips]:
            """Count the round trips of the block on the recorder's one connection: the
            ``ReadyForQuery`` messages in libpq's trace of it."""
            pool = self.datastore.pool
            counted = RoundTrips()
            with tempfile.TemporaryFile() as trace:
                stream = os.dup(trace.fileno())  # libpq's own FILE (never closed by psycopg)
                connection = pool.getconn()
                try:
                    connection.pgconn.trace(stream)
                except Exception:  # libpq tracing is Linux-only in psycopg
                    os.close(stream)
                    counted.counted = False
                finally:
                    pool.putconn(connection)
                try:
                    yield counted
                finally:
                    if counted.counted:
                        connection = pool.getconn()
                        connection.pgconn.untrace()  # flushes the trace
                        pool.putconn(connection)
                        os.close(stream)
                trace.seek(0)
                lines = trace.read().decode("utf-8", "replace").splitlines()
            if counted.counted:
                exchanges = sum("\tB\t" in line and "ReadyForQuery" in line for line in lines)
                counted.by_statement["exchange (ReadyForQuery)"] = exchanges

        def settings(self) -> dict[str, str]:
            """``synchronous_commit`` and ``fsync`` of the recorder's connection."""
            with self.datastore.get_connection() as connection:
                row = connection.execute(
                    "SELECT current_setting('synchronous_commit') AS s, "
                    "current_setting('fsync') AS f"
                ).fetchone()
            assert row is not None
            return {"synchronous_commit": row["s"], "fsync": row["f"]}

        async def release(self) -> None:
            """Close the recorder's connections; keep the schema."""
            if not self._released:
                self._released = True
                self.datastore.close()

    return EventSourcingPostgresStore


async def open_peer() -> Any:
    """A fresh ``EventSourcingPostgresStore`` in a new schema of the server."""
    peer = _peer_class()
    dsn = _require_dsn()
    schema = _new_schema("peer")
    await _admin(dsn, f"CREATE SCHEMA {_quote(schema)}")
    try:
        return peer(dsn, schema)
    except BaseException:
        await _drop_schema(dsn, schema)
        raise


async def open_postgres(store_id: str, *, cache_bytes: int | None = None) -> Any:
    """A fresh store of the postgres family in a new schema of the server;
    ``cache_bytes`` bounds ``PostgresStore``'s decoded-event cache (0: off; None: the
    default)."""
    if store_id == "postgres":
        return await open_postgres_store(cache_bytes)
    if store_id == "postgres_floor":
        return await open_floor()
    if store_id == "eventsourcing_postgres":
        return await open_peer()
    raise ValueError(f"unknown postgres store {store_id!r}")
