"""``RustLibsqlStore``: a read-only store over a Rust engine's libSQL database file.

The Rust backend (``aion-store-libsql``, the version RUST_LIBSQL.md describes) keeps one
SQLite file with the tables ``events``, ``timers``, ``packages``, ``package_routes`` and
``visibility``. This store reads it with the standard library's ``sqlite3``, strictly
read-only (``mode=ro``: never created, written or migrated; writes raise
``BackendError``), and answers the read half of the store contract as ``InMemoryStore``
does for the same data. Every value is decoded and checked: each event from its serde
JSON and against its row's columns, histories contiguous from seq 1. What this reader
does not know or cannot read is never skipped: it is a ``SerializationError`` (a row's
content) or a ``BackendError`` (gaps, run chains, the schema) naming the table, the row
and the workflow. Listings and queries go through the ``is_queryable_event`` rows
(starts, terminal events, children), as the Rust engine does, and never decode whole
histories. SQLite work runs on the store's own thread, never on the event loop.

SQLite cannot read a WAL-mode file without its ``-wal`` and ``-shm`` beside it (they
exist while an engine has the file open). When no engine has it open, the reader opens
it read-write but ``query_only`` (SQLite refuses every change): the connection creates
those two files and, closing last, removes them, so the file and its directory are left
as they were.

(One module of about 800 lines: the checks of every column of five tables, each naming
its table, row and workflow, are most of it and belong together.)
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from aion_store import _select
from aion_store._fields import describe
from aion_store._sql.opening import Opening, check_timeout
from aion_store._sqlite.threads import ReaderThread
from aion_store._validate import check_filter, check_seq, check_time, check_workflow_id
from aion_store.error import BackendError, SerializationError
from aion_store.events import VARIANTS, ChildWorkflowStarted, Event, WorkflowStarted
from aion_store.ids import RunId, TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.run_chain import RunSummary, run_chain_from_history
from aion_store.status import (
    LIFECYCLE_STATUS_BY_TAG,
    WorkflowFilter,
    WorkflowStatus,
    WorkflowSummary,
)
from aion_store.timers import TimerEntry, timer_order_key
from aion_store.visibility import ListWorkflowsFilter, VisibilityWorkflowSummary, check_list_filter
from aion_store.wire import _json, _json_values
from aion_store.wire import _msgpack_py as _msgpack
from aion_store.wire._common import show

__all__ = ["RustLibsqlStore"]

T = TypeVar("T")

#: The codec of ``read_history_raw``'s bytes: the compiled core's when it is active.
_codec: Any = _select.codec

#: The tables of the version this reader knows: their columns and SQL types, in order.
_TABLES: dict[str, list[tuple[str, str]]] = {
    table: [(column.split()[0], column.split()[1]) for column in columns.split(",")]
    for table, columns in {
        "events": "workflow_id TEXT, seq INTEGER, event BLOB, recorded_at TEXT, event_kind TEXT,"
        " is_queryable_event INTEGER, workflow_type TEXT, child_workflow_id TEXT",
        "timers": "workflow_id TEXT, timer_id TEXT, fire_at TEXT",
        "packages": "workflow_type TEXT, content_hash TEXT, archive BLOB, deployed_at TEXT",
        "package_routes": "workflow_type TEXT, content_hash TEXT",
        "visibility": "workflow_id TEXT, run_id TEXT, workflow_type TEXT, status TEXT,"
        " start_time TEXT, close_time TEXT, search_attributes TEXT",
    }.items()
}
#: The index every query of this reader goes through.
_INDEX = "idx_events_queryable_filter"
_INDEXED = (
    "is_queryable_event, workflow_id, seq, event_kind, workflow_type, recorded_at, "
    "child_workflow_id"
)
_KNOWN = "this reader knows the version of RUST_LIBSQL.md (aion-store-libsql at 2fba7eec)"
_AION_APPLICATION_ID = 0x41494F4E  # our own SqliteStore files: "AION"

_VARIANT_NAMES = frozenset(variant.__name__ for variant in VARIANTS)
_QUERYABLE = frozenset(
    variant.__name__
    for variant in VARIANTS
    if LIFECYCLE_STATUS_BY_TAG[variant.TAG] is not None or variant is ChildWorkflowStarted
)
#: The ``event_kind`` of the lifecycle event that projects each status.
_KIND_OF_STATUS = {
    status: variant.__name__
    for variant in VARIANTS
    if (status := LIFECYCLE_STATUS_BY_TAG[variant.TAG]) is not None
}
_LIFECYCLE_KINDS = ", ".join(f"'{kind}'" for kind in _KIND_OF_STATUS.values())
#: The forms the Rust engine writes: chrono's ``to_rfc3339()`` (``+00:00``, 0/3/6/9
#: fraction digits) and ``to_rfc3339_opts(SecondsFormat::Nanos, true)`` (``Z``, 9 digits).
_COLUMN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.(?:[0-9]{9}|[0-9]{6}|[0-9]{3}))?(?:Z|\+00:00)"
)
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SQL_TYPES = {type(None): "NULL", int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}
#: SQLite integers are signed 64-bit: no seq reaches this.
_SEQ_LIMIT = (1 << 63) - 1
_ROW = "seq, event, recorded_at, event_kind, is_queryable_event, workflow_type, child_workflow_id"


def _refused(method: str) -> Callable[..., Coroutine[Any, Any, NoReturn]]:
    async def refuse(self: RustLibsqlStore, *arguments: Any, **keywords: Any) -> NoReturn:
        self._check_open()
        raise BackendError(
            f"{self._name}: read-only: {method} is refused; this store only reads a Rust "
            "engine's file (copy its workflows into a store of ours to write)"
        )

    refuse.__name__ = refuse.__qualname__ = method
    refuse.__doc__ = "Refused: the store is read-only (``BackendError``)."
    return refuse


class RustLibsqlStore:
    """The read half of the store contract over a Rust engine's libSQL file.

    ``await RustLibsqlStore.open(path)`` or ``async with RustLibsqlStore.open(path) as
    store``; ``close()`` when done. Each read sees the file as it is when the read runs (a
    live engine may keep appending). Writes raise ``BackendError``, and so does any call
    on a closed store, before its arguments are checked.
    """

    __slots__ = ("_closed", "_lock", "_name", "_reader", "_stopping", "path")

    def __init__(self, path: str, reader: ReaderThread) -> None:
        # Use RustLibsqlStore.open(): it checks the file and starts the thread.
        self.path = path
        self._name = f"rust-libsql {path}"
        self._reader = reader
        self._lock = threading.Lock()
        self._closed = False
        self._stopping: asyncio.Future[None] | None = None

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, timeout: float = 5.0
    ) -> Opening[RustLibsqlStore]:
        """Open the file at ``path`` read-only; await the result or ``async with`` it.

        ``timeout``: how long a read waits for the engine's write lock. A missing file
        (it is not created), a file that is not a SQLite database or not a Rust engine's
        libSQL file (one of our own SqliteStore files, say), or one with tables or
        columns of a later version, is a ``BackendError`` naming the path and the reason.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
        text = os.fspath(path)
        if not isinstance(text, str) or not text:
            raise ValueError(f"path must be a non-empty file name, got {describe(path)}")
        return Opening(_open(cls, text, check_timeout(timeout)))

    def __repr__(self) -> str:
        return f"<RustLibsqlStore {self.path!r} {'closed' if self._closed else 'open'}>"

    async def close(self) -> None:
        """Finish the calls in flight, then close the file; closing again does nothing."""
        with self._lock:
            self._closed = True
            if self._stopping is None:
                self._stopping = asyncio.ensure_future(self._reader.stop())
            stopping = self._stopping
        await asyncio.shield(stopping)

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError(f"{self._name}: the store is closed")

    async def _run(self, job: Callable[..., T], *arguments: Any) -> T:
        """Run ``job(name, *arguments, connection)`` on the store's thread."""
        with self._lock:  # against a close() from another thread
            self._check_open()
            future = self._reader.submit(partial(job, self._name, *arguments))
        return await future

    # -- histories -----------------------------------------------------------------------

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        """Every event in seq order; ``[]`` for an unknown workflow."""
        self._check_open()
        return await self._run(_history, str(check_workflow_id(workflow_id)), 1)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        """Events with ``seq >= from_seq``, in O(events returned)."""
        self._check_open()
        check_workflow_id(workflow_id)
        return await self._run(_history, str(workflow_id), _start(from_seq))

    async def read_history_raw(self, workflow_id: WorkflowId, from_seq: int = 1) -> bytes:
        """Events with ``seq >= from_seq`` in our msgpack form (the version byte, then one
        body per event), exactly as ``InMemoryStore.read_history_raw`` gives them."""
        self._check_open()
        check_workflow_id(workflow_id)
        events = await self._run(_history, str(workflow_id), _start(from_seq))
        return _msgpack.MARKER + b"".join(_codec.encode_event_bodies(events))

    async def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]:
        """One summary per run, oldest first (SPEC §8); ``[]`` for an unknown workflow."""
        self._check_open()
        return await self._run(_run_chain, str(check_workflow_id(workflow_id)))

    async def list_workflow_ids(self) -> list[WorkflowId]:
        """Every workflow with an event, sorted by ``str(id)``."""
        return await self._run(_workflow_ids, False)

    async def list_active(self) -> list[WorkflowId]:
        """Workflows whose projected status is RUNNING, sorted by ``str(id)``."""
        return await self._run(_workflow_ids, True)

    async def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]:
        """Summaries of started workflows matching ``filter`` by ``(started_at, str(id))``.
        A parent is the workflow whose most recently appended ``ChildWorkflowStarted``
        (the highest rowid) names the workflow."""
        self._check_open()
        page = await self._run(_summaries, check_filter(filter), None, -1, False)
        return [summary for summary, _ in page]

    async def query_page(
        self, filter: WorkflowFilter, after: tuple[datetime, WorkflowId] | None, limit: int
    ) -> list[tuple[WorkflowSummary, int]]:
        """The next ``limit`` summaries in ``query(filter)``'s order strictly after the key
        ``after`` = ``(started_at, workflow_id)`` of the previous page's last one (None:
        from the start), each with its history's event count.

        Keyset paging in SQL over the ``is_queryable_event`` index: a page costs a scan of
        that index (the file has no index on start times) and memory for ``limit``
        summaries, whatever the size of the file.
        """
        self._check_open()
        check_filter(filter)
        key: tuple[str, str] | None = None
        if after is not None:
            if not isinstance(after, tuple) or len(after) != 2:
                raise TypeError(f"after must be None or (datetime, WorkflowId), got {after!r}")
            at = check_time(after[0], "after[0]")
            key = (_time_key(at), str(check_workflow_id(after[1])))
        count = min(check_seq(limit, "limit"), _SEQ_LIMIT)
        return await self._run(_summaries, filter, key, count, True) if count else []

    # -- timers, visibility, packages ----------------------------------------------------

    async def expired_timers(self, as_of: datetime) -> list[TimerEntry]:
        """Timers with ``fire_at <= as_of`` by ``(fire_at, str(workflow_id), str(timer_id))``."""
        self._check_open()
        return await self._run(_expired_timers, check_time(as_of, "as_of"))

    async def list_workflows(self, filter: ListWorkflowsFilter) -> list[VisibilityWorkflowSummary]:
        """Matching rows by ``(start_time, str(workflow_id), str(run_id))``, then offset,
        then limit. The Rust file keeps one visibility row per workflow (not per run)."""
        self._check_open()
        check_list_filter(filter)
        rows = [row for row in await self._run(_visibility) if filter.matches(row)]
        rows.sort(key=lambda row: (row.start_time, str(row.workflow_id), str(row.run_id)))
        start = filter.offset or 0
        return rows[start : None if filter.limit is None else start + filter.limit]

    async def count_workflows(self, filter: ListWorkflowsFilter) -> int:
        """How many rows match, ignoring pagination."""
        self._check_open()
        check_list_filter(filter)
        return sum(1 for row in await self._run(_visibility) if filter.matches(row))

    async def list_packages(self) -> list[PackageRecord]:
        """Rows by ``deployed_at``, ties by ``(workflow_type, content_hash)``."""
        return await self._run(_packages)

    async def list_package_routes(self) -> list[PackageRouteRecord]:
        """Routes sorted by ``workflow_type``."""
        return await self._run(_routes)

    append = _refused("append")
    schedule_timer = _refused("schedule_timer")
    record_visibility = _refused("record_visibility")
    put_package = _refused("put_package")
    delete_package = _refused("delete_package")
    put_package_route = _refused("put_package_route")


def _start(from_seq: int) -> int:
    return min(max(check_seq(from_seq, "from_seq"), 1), _SEQ_LIMIT)


# -- opening: a file of the version this reader knows, or a BackendError -------------------


async def _open(cls: type[RustLibsqlStore], path: str, timeout: float) -> RustLibsqlStore:
    name = f"rust-libsql {path}"
    location = Path(path).absolute()

    def describe_error(what: str, error: BaseException) -> BackendError:
        failure = BackendError(f"{name}: {what} failed: {error}")
        failure.__cause__ = error
        return failure

    def connect() -> sqlite3.Connection:
        quiescent_wal = _check_header(location, name)
        # A WAL file no engine has open: read-write but query_only, so that this
        # connection removes the -wal and -shm it has to create when it closes.
        mode = "rw" if quiescent_wal and os.access(location, os.W_OK) else "ro"
        connection = sqlite3.connect(
            f"{location.as_uri()}?mode={mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        if mode == "rw":
            connection.execute("PRAGMA query_only = 1")
        # Invalid UTF-8 in a TEXT column then fails the row's checks, which name the row.
        connection.text_factory = partial(str, encoding="utf-8", errors="surrogateescape")
        try:
            _check_tables(connection, name)
        except BaseException:
            connection.close()
            raise
        return connection

    reader = ReaderThread(f"aion-store rust-libsql reader {path}", connect, describe_error)
    await reader.start()
    return cls(path, reader)


def _check_header(location: Path, name: str) -> bool:
    """What the file's first 100 bytes tell, read before SQLite ever opens it; True for
    a WAL-mode file without its -wal and -shm (no engine has it open)."""
    if location.is_dir():
        raise BackendError(f"{name}: is a directory, not a database file")
    try:
        with location.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        raise BackendError(
            f"{name}: no such file (a Rust engine's file is never created)"
        ) from None
    except OSError as error:
        raise BackendError(f"{name}: cannot read the file: {error}") from error
    if not header:
        return False  # SQLite's empty database: refused below, for having no tables
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise BackendError(f"{name}: not a SQLite database (no SQLite header)")
    application_id = int.from_bytes(header[68:72], "big")
    if application_id == _AION_APPLICATION_ID:
        raise BackendError(
            f"{name}: an aion-store SqliteStore database (application_id 'AION'), not a "
            "Rust engine's libSQL file: open it with SqliteStore"
        )
    if application_id:
        raise BackendError(
            f"{name}: not a Rust engine's libSQL file: it belongs to another application "
            f"(application_id {application_id:#x})"
        )
    user_version = int.from_bytes(header[60:64], "big", signed=True)
    if user_version:
        raise BackendError(
            f"{name}: written by a later version of the Rust engine; {_KNOWN}; "
            f"unknown: PRAGMA user_version {user_version} (the Rust engine sets none)"
        )
    beside = [Path(f"{location}-{suffix}") for suffix in ("wal", "shm")]
    return 2 in header[18:20] and not all(map(Path.exists, beside))


def _check_tables(connection: sqlite3.Connection, name: str) -> None:
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
        columns = {
            table: [
                (row[1], str(row[2]).upper())
                for row in connection.execute(f'PRAGMA table_info("{table}")')
            ]
            for table in tables
            if table in _TABLES
        }
        indexed = ", ".join(row[2] for row in connection.execute(f"PRAGMA index_info({_INDEX})"))
    except sqlite3.DatabaseError as error:
        if type(error) is sqlite3.DatabaseError:  # "file is not a database"
            raise BackendError(f"{name}: not a SQLite database ({error})") from error
        raise BackendError(f"{name}: cannot read the file: {error}") from error
    if not columns:
        found = f"its tables are {', '.join(tables)}" if tables else "it has no tables"
        raise BackendError(
            f"{name}: not a Rust engine's libSQL file: it has none of the tables "
            f"{', '.join(_TABLES)} ({found})"
        )
    unknown = [f"table {table}" for table in tables if table not in _TABLES]
    missing = [f"table {table}" for table in _TABLES if table not in columns]
    for table, found_columns in columns.items():
        expected, present = dict(_TABLES[table]), dict(found_columns)
        unknown += [f"column {table}.{column}" for column in present if column not in expected]
        for column, kind in expected.items():
            if column not in present:
                missing.append(f"column {table}.{column}")
            elif present[column] != kind:
                missing.append(f"column {table}.{column} {kind} (it is {present[column]})")
    if "events" in columns and indexed != _INDEXED:
        missing.append(f"index {_INDEX} ON events ({_INDEXED})")
    if missing:
        extra = f"; unknown: {', '.join(unknown)}" if unknown else ""
        raise BackendError(
            f"{name}: not a Rust engine's libSQL file that this reader can read ({_KNOWN}): "
            f"missing {', '.join(missing)}{extra}"
        )
    if unknown:
        raise BackendError(
            f"{name}: written by a later version of the Rust engine; {_KNOWN}; "
            f"unknown: {', '.join(unknown)}"
        )
    try:
        connection.execute("SELECT rowid FROM events LIMIT 0")
    except sqlite3.OperationalError as error:
        raise BackendError(
            f"{name}: table events is WITHOUT ROWID: not the Rust engine's"
        ) from error


# -- decoding and checking rows --------------------------------------------------------------


def _column_time(text: object) -> datetime | None:
    """A timestamp in a form the Rust engine writes, or None."""
    if type(text) is not str or _COLUMN_TIME.fullmatch(text) is None:
        return None
    try:
        return _json.parse_timestamp(text, "time")
    except SerializationError:
        return None


def _time_key(at: datetime) -> str:
    """The key :func:`_sql_time` gives a column holding the time ``at``."""
    return at.isoformat(timespec="microseconds")[:26]


def _sql_time(column: str) -> str:
    """SQL: the time in ``column`` as ``YYYY-MM-DDTHH:MM:SS.ffffff`` text (fixed width, so
    ordered as the times are, truncated to microseconds like every decoded time), NULL
    when not in a form the Rust engine writes (queries keep such rows: decoding them
    reports them)."""
    digit, cases = "[0-9]", []
    day = f"{digit * 4}-{digit * 2}-{digit * 2}T{digit * 2}:{digit * 2}:{digit * 2}"
    for digits in (0, 3, 6, 9):
        kept = min(digits, 6)
        fraction = f"substr({column}, 21, {kept}) || '{'0' * (6 - kept)}'"
        for offset in ("Z", "+00:00"):
            form = day + (f".{digit * digits}" if digits else "") + offset
            cases.append(
                f"WHEN {column} GLOB '{form}' THEN substr({column}, 1, 19) || '.' || {fraction}"
            )
    return f"CASE {' '.join(cases)} END"


def _time(text: object, where: str, column: str) -> datetime:
    at = _column_time(text)
    if at is None:
        raise SerializationError(
            f"{where}: column {column}: {show(text)} is not a timestamp in a form the Rust "
            "engine writes (RFC 3339, 0/3/6/9 fraction digits, +00:00 or Z)"
        )
    return at


def _uuid(value: object, where: str, column: str) -> str:
    """A plain-UUID column, in the lowercase hyphenated form the Rust engine writes."""
    if type(value) is not str or _CANONICAL_UUID.fullmatch(value) is None:
        raise SerializationError(
            f"{where}: column {column}: {show(value)} is not a lowercase hyphenated UUID"
        )
    return value


def _decoded(where: str, decode: Callable[[], T]) -> T:
    """``decode()``, its errors (and our constructors' refusals) naming ``where``."""
    try:
        return decode()
    except SerializationError as error:
        raise SerializationError(f"{where}: {error.detail}") from None
    except (ValueError, TypeError) as error:
        raise SerializationError(f"{where}: {error}") from None


def _event_where(name: str, workflow: object, seq: object) -> str:
    return (
        f"{name}: table events, row (workflow_id, seq) = ({show(workflow)}, {show(seq)}), "
        f"workflow {show(workflow)}"
    )


def _event(name: str, workflow: str, row: Sequence[Any]) -> Event:
    """Decode one ``events`` row (``_ROW``'s columns) of ``workflow``, checking every column
    against the event's JSON."""
    seq, body, recorded_at, kind, queryable, workflow_type, child = row
    where = _event_where(name, workflow, seq)

    def fail(detail: str) -> NoReturn:
        raise SerializationError(f"{where}: {detail}")

    if type(seq) is not int or seq < 1:
        fail(f"column seq: expected an INTEGER >= 1, got {show(seq)}")
    if type(body) is not bytes:
        fail(f"column event: expected the event's JSON in a BLOB, got {_sql_type(body)}")
    raw = _decoded(where, partial(_json.loads, body))
    tag = raw.get("type") if type(raw) is dict else None
    if type(tag) is str and tag not in _VARIANT_NAMES:
        fail(
            f"unknown event variant {show(tag)} (of a later version of the Rust engine?); {_KNOWN}"
        )
    event = _decoded(where, partial(_json.event_from_obj, raw, "event"))
    envelope, variant = event.envelope, type(event).__name__
    if str(envelope.workflow_id) != workflow:
        fail(f"the event's envelope names workflow {envelope.workflow_id}, not the row's")
    if envelope.seq != seq:
        fail(f"the event's envelope has seq {envelope.seq}, not the row's {seq}")
    if kind != variant:
        fail(f"column event_kind is {show(kind)} but the event is a {variant}")
    flag = int(variant in _QUERYABLE)
    if type(queryable) is not int or queryable != flag:
        fail(f"column is_queryable_event is {show(queryable)}, expected {flag} for a {variant}")
    typed = isinstance(event, (WorkflowStarted, ChildWorkflowStarted))
    expected: object = event.workflow_type if typed else None  # type: ignore[attr-defined]
    if workflow_type != expected:
        fail(f"column workflow_type is {show(workflow_type)}, expected {show(expected)}")
    is_child = isinstance(event, ChildWorkflowStarted)
    expected = str(event.child_workflow_id) if is_child else None  # type: ignore[attr-defined]
    if child != expected:
        fail(f"column child_workflow_id is {show(child)}, expected {show(expected)}")
    if _time(recorded_at, where, "recorded_at") != envelope.recorded_at:
        stamp = _json.format_timestamp(envelope.recorded_at)
        fail(f"column recorded_at {show(recorded_at)} is not the event's recorded_at {stamp}")
    return event


def _sql_type(value: object) -> str:
    return _SQL_TYPES.get(type(value), type(value).__name__)


def _gap(name: str, workflow: str, seq: int, expected: int) -> BackendError:
    return BackendError(
        f"{_event_where(name, workflow, seq)}: seqs must be contiguous from 1, "
        f"but seq {expected} is missing before it"
    )


# -- the jobs: run on the store's thread with its connection (the last argument) ------------


def _history(name: str, workflow: str, start: int, connection: sqlite3.Connection) -> list[Event]:
    rows = connection.execute(
        f"SELECT {_ROW} FROM events WHERE workflow_id = ? AND seq >= ? ORDER BY seq",
        (workflow, start),
    )
    events: list[Event] = []
    for row in rows:
        event = _event(name, workflow, row)
        if event.envelope.seq != start + len(events):
            raise _gap(name, workflow, event.envelope.seq, start + len(events))
        events.append(event)
    return events


def _run_chain(name: str, workflow: str, connection: sqlite3.Connection) -> list[RunSummary]:
    rows = connection.execute(
        f"SELECT {_ROW} FROM events WHERE is_queryable_event = 1 AND workflow_id = ? ORDER BY seq",
        (workflow,),
    )
    events = [_event(name, workflow, row) for row in rows]
    try:
        return run_chain_from_history(events)
    except BackendError as error:
        raise BackendError(f"{name}: table events, workflow {workflow}: {error.detail}") from None


_ALL_WORKFLOWS = "SELECT DISTINCT workflow_id FROM events ORDER BY workflow_id"
_WORKFLOWS = f"""
SELECT w.workflow_id, l.{_ROW.replace(", ", ", l.")}
FROM (SELECT DISTINCT workflow_id FROM events) AS w
LEFT JOIN (
    SELECT workflow_id, MAX(seq) AS seq FROM events
    WHERE is_queryable_event = 1 AND event_kind <> 'ChildWorkflowStarted' GROUP BY workflow_id
) AS h ON h.workflow_id = w.workflow_id
LEFT JOIN events AS l ON l.workflow_id = h.workflow_id AND l.seq = h.seq
ORDER BY w.workflow_id
"""


def _workflow_ids(name: str, active: bool, connection: sqlite3.Connection) -> list[WorkflowId]:
    """Every workflow, or the RUNNING ones (decoding each one's last lifecycle row)."""
    result: list[WorkflowId] = []
    rows = connection.execute(_WORKFLOWS if active else _ALL_WORKFLOWS)
    for workflow, *last in rows:
        where = f"{name}: table events, rows of workflow {show(workflow)}"
        text = _uuid(workflow, where, "workflow_id")
        if not last or last[0] is None or isinstance(_event(name, text, last), WorkflowStarted):
            result.append(WorkflowId(text))
    return result


_SUMMARIES = """
WITH heads AS (
    SELECT workflow_id,
           MAX(CASE WHEN event_kind = 'WorkflowStarted' THEN seq END) AS start_seq,
           MAX(CASE WHEN event_kind <> 'ChildWorkflowStarted' THEN seq END) AS last_seq
    FROM events WHERE is_queryable_event = 1 GROUP BY workflow_id
), parents AS (
    SELECT child_workflow_id AS child, workflow_id AS parent, MAX(rowid) AS link
    FROM events WHERE is_queryable_event = 1 AND event_kind = 'ChildWorkflowStarted'
    GROUP BY child_workflow_id
), summaries AS (
    SELECT h.workflow_id, h.start_seq, h.last_seq, {started} AS started,
           s.workflow_type, l.event_kind AS last_kind
    FROM heads AS h
    JOIN events AS s INDEXED BY {index}
      ON s.is_queryable_event = 1 AND s.workflow_id = h.workflow_id AND s.seq = h.start_seq
    JOIN events AS l INDEXED BY {index}
      ON l.is_queryable_event = 1 AND l.workflow_id = h.workflow_id AND l.seq = h.last_seq
    WHERE h.start_seq IS NOT NULL
)
SELECT m.workflow_id, m.start_seq, m.last_seq, p.link
FROM summaries AS m LEFT JOIN parents AS p ON p.child = m.workflow_id
WHERE {conditions} ORDER BY m.started, m.workflow_id LIMIT ?
"""
_ROW_AT = f"SELECT {_ROW} FROM events WHERE workflow_id = ? AND seq = ?"


def _summaries(
    name: str,
    filter: WorkflowFilter,
    after: tuple[str, str] | None,
    limit: int,
    counts: bool,
    connection: sqlite3.Connection,
) -> list[tuple[WorkflowSummary, int]]:
    """``query(filter)``'s summaries after the key ``after``, at most ``limit`` (-1: all),
    with event counts when ``counts``; decodes each one's start, last lifecycle and
    parent-link rows only. A NULL start time (a malformed row) is kept, and reported."""
    conditions: list[str] = ["1"]
    parameters: list[Any] = []
    if after is not None:
        conditions.append("(m.started IS NULL OR (m.started, m.workflow_id) > (?, ?))")
        parameters += after
    if filter.workflow_type is not None:
        conditions.append("m.workflow_type = ?")
        parameters.append(filter.workflow_type)
    if filter.status is not None:  # a kind this reader does not know is kept, and reported
        conditions.append(f"(m.last_kind = ? OR m.last_kind NOT IN ({_LIFECYCLE_KINDS}))")
        parameters.append(_KIND_OF_STATUS[filter.status])
    for bound, operator in ((filter.started_after, ">="), (filter.started_before, "<=")):
        if bound is not None:
            conditions.append(f"(m.started IS NULL OR m.started {operator} ?)")
            parameters.append(_time_key(bound))
    if filter.parent is not None:
        conditions.append("p.parent = ?")
        parameters.append(str(filter.parent))
    sql = _SUMMARIES.format(
        conditions=" AND ".join(conditions), index=_INDEX, started=_sql_time("s.recorded_at")
    )
    connection.execute("BEGIN")  # one snapshot for the page and the rows it decodes
    try:
        rows = connection.execute(sql, (*parameters, limit)).fetchall()
        return [_summary(name, connection, counts, *row) for row in rows]
    finally:
        connection.execute("COMMIT")


def _summary(
    name: str,
    connection: sqlite3.Connection,
    counts: bool,
    workflow: str,
    start_seq: int,
    last_seq: int,
    link: int | None,
) -> tuple[WorkflowSummary, int]:
    text = _uuid(workflow, _event_where(name, workflow, start_seq), "workflow_id")
    start = _event(name, text, connection.execute(_ROW_AT, (text, start_seq)).fetchone())
    last = start
    if last_seq != start_seq:
        last = _event(name, text, connection.execute(_ROW_AT, (text, last_seq)).fetchone())
    status = LIFECYCLE_STATUS_BY_TAG[last.TAG]
    assert isinstance(start, WorkflowStarted) and status is not None  # event_kind checked
    parent: WorkflowId | None = None
    if link is not None:
        row = connection.execute(
            f"SELECT workflow_id, {_ROW} FROM events WHERE rowid = ?", (link,)
        ).fetchone()
        owner = _uuid(row[0], _event_where(name, row[0], row[1]), "workflow_id")
        _event(name, owner, row[1:])  # a ChildWorkflowStarted naming ``workflow``: checked
        parent = WorkflowId(owner)
    summary = WorkflowSummary(
        workflow_id=WorkflowId(text),
        workflow_type=start.workflow_type,
        status=status,
        started_at=start.envelope.recorded_at,
        ended_at=None if last is start else last.envelope.recorded_at,
        parent=parent,
    )
    if not counts:
        return summary, 0
    total, head = connection.execute(
        "SELECT count(*), max(seq) FROM events WHERE workflow_id = ?", (text,)
    ).fetchone()
    if total != head:
        seqs = connection.execute(
            "SELECT seq FROM events WHERE workflow_id = ? ORDER BY seq", (text,)
        )
        for expected, (seq,) in enumerate(seqs, start=1):
            if seq != expected:
                raise _gap(name, text, seq, expected)
    return summary, int(total)


def _expired_timers(name: str, as_of: datetime, connection: sqlite3.Connection) -> list[TimerEntry]:
    due: list[TimerEntry] = []
    for workflow_json, timer_json, fire_at in connection.execute(
        "SELECT workflow_id, timer_id, fire_at FROM timers"
    ):
        where = (
            f"{name}: table timers, row (workflow_id, timer_id) = "
            f"({show(workflow_json)}, {show(timer_json)})"
        )
        workflow = _decoded(where, partial(_json.from_json, workflow_json, WorkflowId))
        where += f", workflow {workflow}"
        timer = _decoded(where, partial(_json.from_json, timer_json, TimerId))
        for column, value, written in (
            ("workflow_id", workflow_json, f'"{workflow}"'),
            ("timer_id", timer_json, _json.to_json(timer)),
        ):
            if value != written:
                raise SerializationError(
                    f"{where}: column {column}: not the JSON the Rust engine writes ({written})"
                )
        at = _time(fire_at, where, "fire_at")
        if at <= as_of:
            due.append(TimerEntry(workflow_id=workflow, timer_id=timer, fire_at=at))
    due.sort(key=timer_order_key)
    return due


def _visibility(name: str, connection: sqlite3.Connection) -> list[VisibilityWorkflowSummary]:
    summaries: list[VisibilityWorkflowSummary] = []
    for row in connection.execute(
        "SELECT workflow_id, run_id, workflow_type, status, start_time, close_time, "
        "search_attributes FROM visibility"
    ):
        workflow, run_id, workflow_type, status, start, close, attributes = row
        where = f"{name}: table visibility, row workflow_id = {show(workflow)}"
        workflow = _uuid(workflow, where, "workflow_id")
        where += f", workflow {workflow}"
        record = partial(
            VisibilityWorkflowSummary,
            WorkflowId(workflow),
            RunId(_uuid(run_id, where, "run_id")),
            workflow_type,
            _decoded(where, partial(_json.from_json, status, WorkflowStatus)),
            _time(start, where, "start_time"),
            None if close is None else _time(close, where, "close_time"),
            _decoded(where, partial(_attributes, attributes)),
        )
        summaries.append(_decoded(where, record))
    return summaries


def _attributes(text: Any) -> dict[str, Any]:
    return _json_values._decode_attributes(_json.loads(text), "search_attributes")


def _packages(name: str, connection: sqlite3.Connection) -> list[PackageRecord]:
    records: list[PackageRecord] = []
    for workflow_type, content_hash, archive, deployed_at in connection.execute(
        "SELECT workflow_type, content_hash, archive, deployed_at FROM packages"
    ):
        where = (
            f"{name}: table packages, row (workflow_type, content_hash) = "
            f"({show(workflow_type)}, {show(content_hash)})"
        )
        if type(archive) is not bytes:
            raise SerializationError(f"{where}: column archive: a BLOB, not {_sql_type(archive)}")
        at = _time(deployed_at, where, "deployed_at")
        records.append(
            _decoded(where, partial(PackageRecord, workflow_type, content_hash, archive, at))
        )
    records.sort(key=lambda record: (record.deployed_at, record.workflow_type, record.content_hash))
    return records


def _routes(name: str, connection: sqlite3.Connection) -> list[PackageRouteRecord]:
    routes: list[PackageRouteRecord] = []
    for workflow_type, content_hash in connection.execute(
        "SELECT workflow_type, content_hash FROM package_routes"
    ):
        where = f"{name}: table package_routes, row workflow_type = {show(workflow_type)}"
        routes.append(_decoded(where, partial(PackageRouteRecord, workflow_type, content_hash)))
    routes.sort(key=lambda route: route.workflow_type)
    return routes
