"""``SqliteStore`` (SPEC §14): the durable embedded store, one file and no server.

It keeps what ``InMemoryStore`` keeps, with the same results, in a SQLite file through
the standard library's ``sqlite3``:

- events as the compiled codec's msgpack bytes (what ``read_history_raw`` returns), one
  row per event keyed by ``(workflow_id, seq)``;
- projections as tables written in the append's own transaction (:mod:`aion_store._sql.
  projection`), so listing, querying and run chains are index scans that decode nothing;
- timers indexed by ``(fire_at, workflow_id, timer_id)``, visibility records with one row
  per search attribute for predicates evaluated in SQL, packages and routes.

Every call runs on one of the store's two threads (:mod:`aion_store._sqlite.threads`):
the writer, whose connection commits the writes awaited together in one transaction
(group commit: many appends, one fsync), and the reader. The event loop never waits
for the disk. Durability: ``"full"`` (WAL, ``synchronous=FULL``: a returned write
survives power loss) or ``"normal"`` (``synchronous=NORMAL``: it survives a crash of the
process; the last writes may be lost on power loss). Several processes may open one
file; each waits up to ``timeout`` seconds for the others' write lock.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, Literal

from aion_store import _select
from aion_store._cache import DEFAULT_DECODED_CACHE_BYTES
from aion_store._fields import describe
from aion_store._sql.opening import Opening, check_timeout
from aion_store._sql.projection import WorkflowRow, apply, delta
from aion_store._sql.rows import (
    STATUSES,
    datetime_of,
    id_bytes,
    micros_of,
    optional_datetime,
    optional_micros,
    run_id_of,
    status_code,
    timer_id_of,
    timer_key,
    workflow_id_of,
)
from aion_store._sql.store import SqlStore
from aion_store._sql.visibility import attribute_value, condition, keywords
from aion_store._sqlite.schema import SCHEMA_VERSION, check_current, configure, prepare
from aion_store._sqlite.threads import ReaderThread, WriterConnection, WriterThread
from aion_store._validate import check_seq
from aion_store.error import BackendError, SequenceConflict
from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.timers import TimerEntry
from aion_store.visibility import (
    ListWorkflowsFilter,
    VisibilityRecord,
    VisibilityWorkflowSummary,
)
from aion_store.wire import _msgpack_py as _msgpack

__all__ = ["SCHEMA_VERSION", "Durability", "SqliteStore"]

Durability = Literal["full", "normal"]
_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}

#: The codec of stored events: the compiled core's when it is active.
_codec: Any = _select.codec

#: Events encoded and inserted per statement, so a huge batch lets the GIL go between.
_CHUNK = 512


class SqliteStore(SqlStore):
    """Workflow histories, projections, timers, visibility and packages in one SQLite file.

    Open it with ``await SqliteStore.open(path)`` or ``async with SqliteStore.open(path)
    as store``; ``close()`` it when done. Safe to share across asyncio tasks; any number
    of stores, in this process or others, may use the same file.
    """

    __slots__ = ("_reader", "_writer", "path")

    def __init__(
        self, path: str, reader: ReaderThread, writer: WriterThread | None, cache: int
    ) -> None:
        # Use SqliteStore.open(): it creates the threads and checks the file.
        super().__init__(f"sqlite {path}", _codec, cache, read_only=writer is None)
        self.path = path
        self._reader = reader
        self._writer = writer

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        timeout: float = 5.0,
        decoded_cache_bytes: int = DEFAULT_DECODED_CACHE_BYTES,
        read_only: bool = False,
    ) -> Opening[SqliteStore]:
        """Open the store in the file at ``path``, creating it when it is missing.

        Await the result, or use it as ``async with``. ``timeout`` is how long a write
        waits for another connection's lock before it fails; ``decoded_cache_bytes``
        bounds the estimated memory of the decoded histories kept between reads (0:
        none). A file that is not an aion-store database, or one of a newer schema, is
        a ``BackendError``.
        ``read_only=True`` opens an existing store of this schema version for reading
        only: nothing is created, migrated or written (every write is a BackendError).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
        text = os.fspath(path)
        if not isinstance(text, str) or not text:
            raise ValueError(f"path must be a non-empty file name, got {describe(path)}")
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'full' or 'normal', got {describe(durability)}")
        timeout = check_timeout(timeout)
        cache = min(check_seq(decoded_cache_bytes, "decoded_cache_bytes"), sys.maxsize)
        return Opening(_open(cls, text, durability, timeout, cache, bool(read_only)))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<SqliteStore {self.path!r} {state}>"

    async def _shutdown(self) -> None:
        # The read-only reader first: the writer, closing last, checkpoints the WAL into
        # the file and removes it.
        try:
            await self._reader.stop()
        finally:
            if self._writer is not None:
                await self._writer.stop()

    def _write(self, job: Any) -> asyncio.Future[Any]:
        with self._lock:  # against a close() from another thread
            self._check_open()
            if self._writer is None:
                raise BackendError(f"{self._name}: the store was opened read-only")
            return self._writer.submit(job)

    def _read(self, job: Any) -> asyncio.Future[Any]:
        with self._lock:
            self._check_open()
            return self._reader.submit(job)

    async def _fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return await self._read(partial(_fetch, sql, parameters))  # type: ignore[no-any-return]

    # -- histories -----------------------------------------------------------------------

    async def _append(
        self,
        workflow_id: WorkflowId,
        batch: tuple[Event, ...],
        expected: int,
        problem: BaseException | None,
    ) -> None:
        await self._write(partial(_append, id_bytes(workflow_id), batch, expected, problem))

    async def _bodies(self, workflow_id: WorkflowId, start: int) -> list[bytes]:
        return await self._read(partial(_bodies, id_bytes(workflow_id), start))  # type: ignore[no-any-return]

    async def _runs(self, workflow_id: WorkflowId) -> list[RunSummary]:
        rows = await self._fetch(_RUNS, (id_bytes(workflow_id),))
        return [
            RunSummary._trusted(
                run_id_of(run_id),
                None if parent is None else run_id_of(parent),
                STATUSES[status],
                datetime_of(started_at),
                optional_datetime(closed_at),
            )
            for run_id, parent, status, started_at, closed_at in rows
        ]

    async def _workflow_ids(self, *, active: bool) -> list[WorkflowId]:
        rows = await self._fetch(_ACTIVE if active else _WORKFLOW_IDS)
        return [workflow_id_of(row[0]) for row in rows]

    async def _query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        return [summary for summary, _ in await self._query_rows(_query_sql(filter))]

    async def _query_page(
        self, filter: WorkflowFilter, after: tuple[datetime, WorkflowId] | None, limit: int
    ) -> list[tuple[WorkflowSummary, int]]:
        return await self._query_rows(_query_sql(filter, after, limit))

    async def _query_rows(self, query: tuple[str, list[Any]]) -> list[tuple[WorkflowSummary, int]]:
        rows = await self._fetch(*query)
        return [
            (
                WorkflowSummary._trusted(
                    workflow_id_of(workflow_id),
                    workflow_type,
                    STATUSES[status],
                    datetime_of(started_at),
                    optional_datetime(ended_at),
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
        row = (id_bytes(workflow_id), timer_key(timer_id), micros_of(fire_at))
        await self._write(partial(_execute, _SCHEDULE_TIMER, row))

    async def _expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        rows = await self._fetch(_EXPIRED_TIMERS, (micros_of(as_of),))
        return [
            TimerEntry._trusted(workflow_id_of(workflow_id), timer_id_of(timer), datetime_of(at))
            for workflow_id, timer, at in rows
        ]

    # -- visibility ----------------------------------------------------------------------

    async def _record_visibility(self, record: VisibilityRecord) -> None:
        await self._write(partial(_record_visibility, record))

    async def _list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        where, parameters = _visibility_where(filter)
        limit = -1 if filter.limit is None else filter.limit
        sql = (
            f"SELECT record FROM visibility v WHERE {where} "
            "ORDER BY start_time, workflow_id, run_id LIMIT ? OFFSET ?"
        )
        rows = await self._fetch(sql, (*parameters, limit, filter.offset or 0))
        return [_msgpack.from_msgpack(row[0], VisibilityWorkflowSummary) for row in rows]

    async def _count_workflows(self, filter: ListWorkflowsFilter) -> int:
        where, parameters = _visibility_where(filter)
        rows = await self._fetch(f"SELECT count(*) FROM visibility v WHERE {where}", parameters)
        return int(rows[0][0])

    # -- packages ------------------------------------------------------------------------

    async def _put_package(self, record: PackageRecord) -> None:
        await self._write(partial(_put_package, record))

    async def _list_packages(self) -> list[PackageRecord]:
        rows = await self._fetch(_PACKAGES)
        return [
            PackageRecord._trusted(workflow_type, content_hash, archive, datetime_of(at))
            for workflow_type, content_hash, archive, at in rows
        ]

    async def _delete_package(self, workflow_type: str, content_hash: str) -> None:
        await self._write(partial(_execute, _DELETE_PACKAGE, (workflow_type, content_hash)))

    async def _put_package_route(self, workflow_type: str, content_hash: str) -> None:
        await self._write(partial(_execute, _PUT_ROUTE, (workflow_type, content_hash)))

    async def _list_package_routes(self) -> list[PackageRouteRecord]:
        rows = await self._fetch(_ROUTES)
        return [
            PackageRouteRecord._trusted(workflow_type, content) for workflow_type, content in rows
        ]


async def _open(
    cls: type[SqliteStore],
    path: str,
    durability: str,
    timeout: float,
    cache: int,
    read_only: bool,
) -> SqliteStore:
    name = f"sqlite {path}"
    location = Path(path).absolute()
    synchronous = _SYNCHRONOUS[durability]
    timeout_ms = round(timeout * 1000)

    def describe_error(what: str, error: BaseException) -> BackendError:
        failure = BackendError(f"{name}: {what} failed: {error}")
        failure.__cause__ = error
        return failure

    def connect_writer() -> sqlite3.Connection:
        if location.is_dir():
            raise BackendError(f"{name}: is a directory, not a database file")
        if not location.parent.is_dir():
            raise BackendError(f"{name}: directory {location.parent} does not exist")
        connection = _connect(location, "rw" if location.exists() else "rwc", WriterConnection)
        try:
            connection.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            prepare(connection, name)
            # Fails now, not at the first write, when the file cannot be written: a
            # header write, rolled back (taking the write lock alone would succeed).
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                connection.execute("ROLLBACK")
            configure(connection, synchronous, timeout_ms)
        except BaseException:
            connection.close()
            raise
        return connection

    def connect_reader() -> sqlite3.Connection:
        if read_only and not location.is_file():
            raise BackendError(f"{name}: no such database file")
        if read_only and os.access(location, os.W_OK):
            # Read-write but query_only: SQLite refuses every change, and this connection,
            # closing last, removes the WAL files it had to create (a mode=ro one cannot).
            connection = _connect(location, "rw")
            connection.execute("PRAGMA query_only = 1")
        else:
            connection = _connect(location, "ro")
        try:
            if read_only:
                check_current(connection, name)
            configure(connection, synchronous, timeout_ms)
        except BaseException:
            connection.close()
            raise
        return connection

    writer = None
    if not read_only:
        writer = WriterThread(f"aion-store writer {path}", connect_writer, describe_error)
        await writer.start()
    reader = ReaderThread(f"aion-store reader {path}", connect_reader, describe_error)
    try:
        await reader.start()
    except BaseException:
        if writer is not None:
            await writer.stop()
        raise
    return cls(path, reader, writer, cache)


def _connect(
    location: Path, mode: str, factory: type[sqlite3.Connection] = sqlite3.Connection
) -> sqlite3.Connection:
    uri = f"{location.as_uri()}?mode={mode}"
    return sqlite3.connect(
        uri,
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
        factory=factory,
    )


# -- the jobs: functions of a connection, run on the store's threads ------------------------

_EVENTS_FROM = "SELECT body FROM events WHERE workflow_id = ? AND seq >= ? ORDER BY seq"
_RUNS = (
    "SELECT run_id, parent_run_id, status, started_at, closed_at FROM runs "
    "WHERE workflow_id = ? ORDER BY run_index"
)
_ACTIVE = "SELECT workflow_id FROM workflows WHERE status = 0 ORDER BY workflow_id"
_WORKFLOW_IDS = "SELECT workflow_id FROM workflows ORDER BY workflow_id"
_SCHEDULE_TIMER = "INSERT OR REPLACE INTO timers (workflow_id, timer_id, fire_at) VALUES (?, ?, ?)"
_EXPIRED_TIMERS = (
    "SELECT workflow_id, timer_id, fire_at FROM timers WHERE fire_at <= ? "
    "ORDER BY fire_at, workflow_id, timer_id"
)
_PACKAGES = (
    "SELECT workflow_type, content_hash, archive, deployed_at FROM packages "
    "ORDER BY deployed_at, workflow_type, content_hash"
)
_DELETE_PACKAGE = "DELETE FROM packages WHERE workflow_type = ? AND content_hash = ?"
_PUT_ROUTE = "INSERT OR REPLACE INTO package_routes (workflow_type, content_hash) VALUES (?, ?)"
_ROUTES = "SELECT workflow_type, content_hash FROM package_routes ORDER BY workflow_type"


def _fetch(sql: str, parameters: Sequence[Any], connection: sqlite3.Connection) -> list[Any]:
    return connection.execute(sql, parameters).fetchall()


def _execute(sql: str, parameters: Sequence[Any], connection: sqlite3.Connection) -> None:
    connection.execute(sql, parameters)


def _bodies(key: bytes, start: int, connection: sqlite3.Connection) -> list[bytes]:
    """On the reader: the stored bodies of events ``start`` onward."""
    return [row[0] for row in connection.execute(_EVENTS_FROM, (key, start))]


_HEAD = "SELECT seq FROM events WHERE workflow_id = ? ORDER BY seq DESC LIMIT 1"
_WORKFLOW_ROW = (
    "SELECT status, runs, workflow_type, started_at, ended_at FROM workflows WHERE workflow_id = ?"
)
_INSERT_EVENT = "INSERT INTO events (workflow_id, seq, body) VALUES (?, ?, ?)"
_INSERT_WORKFLOW = (
    "INSERT INTO workflows (status, runs, workflow_type, started_at, ended_at, workflow_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_WORKFLOW = (
    "UPDATE workflows SET status = ?, runs = ?, workflow_type = ?, started_at = ?, "
    "ended_at = ? WHERE workflow_id = ?"
)
_INSERT_RUN = (
    "INSERT INTO runs (workflow_id, run_index, run_id, parent_run_id, status, started_at, "
    "closed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_CLOSE_RUN = "UPDATE runs SET status = ?, closed_at = ? WHERE workflow_id = ? AND run_index = ?"
_ADOPT = "INSERT OR REPLACE INTO parents (workflow_id, parent) VALUES (?, ?)"


def _append(
    key: bytes,
    batch: tuple[Event, ...],
    expected: int,
    problem: BaseException | None,
    connection: sqlite3.Connection,
) -> None:
    """On the writer, in the group's transaction: SPEC §6's append, projections included.

    Everything that can refuse the append is checked before the first write. The head
    comes from the writer's memory when no other connection has committed since it was
    learnt (:class:`~aion_store._sqlite.threads.WriterConnection`), else from the file."""
    heads: dict[bytes, int] = connection.heads  # type: ignore[attr-defined]
    head = heads.get(key)
    if head is None:
        last = connection.execute(_HEAD, (key,)).fetchone()
        head = 0 if last is None else last[0]
    if head != expected:
        raise SequenceConflict(expected=expected, found=head)
    if not batch:
        return
    if problem is not None:
        raise problem
    if len(batch) == 1:
        body = _codec.encode_event_bodies(batch)[0]
        connection.execute(_INSERT_EVENT, (key, expected + 1, body))
    else:
        for start in range(0, len(batch), _CHUNK):
            chunk = batch[start : start + _CHUNK]
            bodies = _codec.encode_event_bodies(chunk)
            seqs = range(expected + 1 + start, expected + 1 + start + len(chunk))
            connection.executemany(_INSERT_EVENT, zip(repeat(key), seqs, bodies))
    heads[key] = expected + len(batch)
    change = delta(batch)
    if change.children:
        connection.executemany(_ADOPT, [(id_bytes(child), key) for child in change.children])
    fresh = expected == 0
    if change.status is None and not fresh:
        return  # no lifecycle event: the workflow's row stays as it is
    found = None if fresh else connection.execute(_WORKFLOW_ROW, (key,)).fetchone()
    row = WorkflowRow() if found is None else _workflow_row(*found)
    runs_before = row.runs
    ended = apply(row, change)
    values = (
        status_code(row.status),
        row.runs,
        row.workflow_type,
        optional_micros(row.started_at),
        optional_micros(row.ended_at),
        key,
    )
    connection.execute(_INSERT_WORKFLOW if found is None else _UPDATE_WORKFLOW, values)
    if ended is not None and change.end_of_current is not None:
        end = change.end_of_current
        connection.execute(
            _CLOSE_RUN, (status_code(end.status), micros_of(end.closed_at), key, ended)
        )
    if change.new_runs:
        connection.executemany(
            _INSERT_RUN,
            [
                (
                    key,
                    runs_before + index,
                    id_bytes(run.run_id),
                    None if run.parent_run_id is None else id_bytes(run.parent_run_id),
                    status_code(run.status),
                    micros_of(run.started_at),
                    optional_micros(run.closed_at),
                )
                for index, run in enumerate(change.new_runs)
            ],
        )


def _workflow_row(
    status: int,
    runs: int,
    workflow_type: str | None,
    started_at: int | None,
    ended_at: int | None,
) -> WorkflowRow:
    return WorkflowRow(
        0,
        STATUSES[status],
        runs,
        workflow_type,
        optional_datetime(started_at),
        optional_datetime(ended_at),
    )


def _query_sql(
    filter: WorkflowFilter, after: tuple[datetime, WorkflowId] | None = None, limit: int = -1
) -> tuple[str, list[Any]]:
    """The query of ``filter`` in ``query`` order (rows after ``after``, at most
    ``limit``), each row with the workflow's head last."""
    conditions = ["w.started_at IS NOT NULL"]
    parameters: list[Any] = []
    if filter.workflow_type is not None:
        conditions.append("w.workflow_type = ?")
        parameters.append(filter.workflow_type)
    if filter.status is not None:
        conditions.append("w.status = ?")
        parameters.append(status_code(filter.status))
    if filter.started_after is not None:
        conditions.append("w.started_at >= ?")
        parameters.append(micros_of(filter.started_after))
    if filter.started_before is not None:
        conditions.append("w.started_at <= ?")
        parameters.append(micros_of(filter.started_before))
    if filter.parent is not None:
        conditions.append("p.parent = ?")
        parameters.append(id_bytes(filter.parent))
    if after is not None:
        conditions.append("(w.started_at, w.workflow_id) > (?, ?)")
        parameters += [micros_of(after[0]), id_bytes(after[1])]
    sql = (
        "SELECT w.workflow_id, w.workflow_type, w.status, w.started_at, w.ended_at, p.parent, "
        "(SELECT max(seq) FROM events e WHERE e.workflow_id = w.workflow_id) "
        "FROM workflows w LEFT JOIN parents p ON p.workflow_id = w.workflow_id "
        f"WHERE {' AND '.join(conditions)} ORDER BY w.started_at, w.workflow_id LIMIT ?"
    )
    return sql, [*parameters, limit]


def _record_visibility(record: VisibilityRecord, connection: sqlite3.Connection) -> None:
    key = (id_bytes(record.workflow_id), id_bytes(record.run_id))
    summary = VisibilityWorkflowSummary.from_record(record)
    connection.execute(
        "INSERT OR REPLACE INTO visibility (workflow_id, run_id, workflow_type, status, "
        "start_time, close_time, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            *key,
            record.workflow_type,
            status_code(record.status),
            micros_of(record.start_time),
            optional_micros(record.close_time),
            _msgpack.to_msgpack(summary),
        ),
    )
    connection.execute(
        "DELETE FROM visibility_attributes WHERE workflow_id = ? AND run_id = ?", key
    )
    connection.execute("DELETE FROM visibility_keywords WHERE workflow_id = ? AND run_id = ?", key)
    attributes = record.search_attributes
    connection.executemany(
        "INSERT INTO visibility_attributes (workflow_id, run_id, name, kind, value) "
        "VALUES (?, ?, ?, ?, ?)",
        [(*key, name, *attribute_value(value)) for name, value in attributes.items()],
    )
    connection.executemany(
        "INSERT INTO visibility_keywords (workflow_id, run_id, name, keyword) VALUES (?, ?, ?, ?)",
        [
            (*key, name, keyword)
            for name, value in attributes.items()
            for keyword in keywords(value)
        ],
    )


def _visibility_where(filter: ListWorkflowsFilter) -> tuple[str, list[Any]]:
    conditions = ["1"]
    parameters: list[Any] = []
    for column, operator, value in (
        ("workflow_type", "=", filter.workflow_type),
        ("status", "=", None if filter.status is None else status_code(filter.status)),
        ("start_time", ">=", optional_micros(filter.started_after)),
        ("start_time", "<=", optional_micros(filter.started_before)),
        ("close_time", ">=", optional_micros(filter.closed_after)),
        ("close_time", "<=", optional_micros(filter.closed_before)),
    ):
        if value is not None:
            conditions.append(f"v.{column} {operator} ?")
            parameters.append(value)
    owner = "workflow_id = v.workflow_id AND run_id = v.run_id"
    for predicate in filter.search_attributes:
        found = condition(predicate)
        if found is None:
            conditions.append("0")
        elif found.operator == "contains":
            conditions.append(
                f"EXISTS (SELECT 1 FROM visibility_keywords WHERE {owner} "
                "AND name = ? AND keyword = ?)"
            )
            parameters += [found.name, found.operand]
        else:
            conditions.append(
                f"EXISTS (SELECT 1 FROM visibility_attributes WHERE {owner} "
                f"AND name = ? AND kind = ? AND value {found.operator} ?)"
            )
            parameters += [found.name, found.kind, found.operand]
    return " AND ".join(conditions), parameters


def _put_package(record: PackageRecord, connection: sqlite3.Connection) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO packages (workflow_type, content_hash, archive, deployed_at) "
        "VALUES (?, ?, ?, ?)",
        (record.workflow_type, record.content_hash, record.archive, micros_of(record.deployed_at)),
    )
    connection.execute(_PUT_ROUTE, (record.workflow_type, record.content_hash))
