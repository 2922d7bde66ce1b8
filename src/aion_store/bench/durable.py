"""The durable stores of the benchmarks (the ``sqlite`` family), each on a fresh temp file.

- ``sqlite``: :class:`BenchSqliteStore`, ``SqliteStore`` itself (``durability="full"``)
  on a file of its own in a temp directory that ``close()`` removes.
- ``sqlite_floor``: :class:`SqliteFloor`, the bare floor every durable async store pays:
  the same msgpack bytes (the same codec) written with plain ``sqlite3`` -- ``BEGIN
  IMMEDIATE``, ``INSERT``, ``COMMIT`` -- in a table shaped like ``SqliteStore``'s events,
  issued through the same hop from the event loop to a thread and back (a thread of its
  own with its own connection, a ``queue.SimpleQueue`` of jobs, results handed back with
  ``loop.call_soon_threadsafe``); WAL with ``synchronous=FULL``. One transaction per
  call: it has no group commit, no projections, no validation and no cache. A read is
  the bare indexed query plus decoding the rows it returns. Its only concurrency check
  is the primary key: a batch whose first seq is taken is a ``SequenceConflict``.
- ``eventsourcing_sqlite``: :class:`EventSourcingSqliteStore`, the ``eventsourcing``
  library's ``SQLiteAggregateRecorder`` on an ``SQLiteDatastore``, behind the same
  adapter as the in-memory peer (:mod:`aion_store.bench.peer`). It is synchronous: every
  call blocks the event loop for its whole duration and pays no hop. Its connections run
  SQLite's defaults, WAL (the library switches the file to it) and ``synchronous=FULL``
  (SQLite's default; its ``pragmas()`` shows what its connections run).

Temp files go where :func:`tempfile.mkdtemp` puts them (``TMPDIR``): the three stores of
one run share a disk. Every store here has ``path``, ``close()`` (idempotent: close and
remove the file) and ``release()`` (close, keep the file: :func:`disk_bytes` measures
it), and the floor and the peer provide only append and reads. :func:`open_durable`
makes one; :func:`close_store` closes any store (a no-op for the in-memory ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any, ClassVar

from aion_store import _select
from aion_store._sqlite.threads import settle
from aion_store.bench import data
from aion_store.error import SequenceConflict
from aion_store.events import Event, EventEnvelope, SignalReceived
from aion_store.ids import WorkflowId
from aion_store.payload import Payload
from aion_store.sqlite import SqliteStore
from aion_store.store import WriteToken

__all__ = [
    "DURABLE_STORES",
    "BenchSqliteStore",
    "SqliteFloor",
    "close_store",
    "discard",
    "disk_bytes",
    "is_durable",
    "open_durable",
    "open_floor",
    "open_peer",
    "open_sqlite",
    "prime_wal",
    "temp_database",
]

#: The store ids this module makes.
DURABLE_STORES: tuple[str, ...] = ("sqlite", "sqlite_floor", "eventsourcing_sqlite")

#: The codec ``SqliteStore`` stores events with: the compiled core's when it is active.
_codec: Any = _select.codec

_FILE = "bench.db"


def temp_database() -> tuple[str, str]:
    """A fresh temp directory and the path of a database file in it (not created)."""
    directory = tempfile.mkdtemp(prefix="aion-bench-")
    return directory, os.path.join(directory, _FILE)


def _remove(directory: str | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


class _OwnFile:
    """The lifecycle the sqlite family's stores share: each works on a file in a temp
    directory of its own, which ``close()`` removes once ``release()`` has closed it."""

    #: The temp directory that holds the file (None: not one of ours, or removed).
    directory: str | None

    async def release(self) -> None:
        """Close the connections; keep the file."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release, then remove the directory (idempotent)."""
        try:
            await self.release()
        finally:
            _remove(getattr(self, "directory", None))
            self.directory = None


# -- SqliteStore ------------------------------------------------------------------------------


class BenchSqliteStore(_OwnFile, SqliteStore):
    """``SqliteStore`` on a file of its own: ``close()`` also removes the file.

    Only the lifecycle differs; every measured method is ``SqliteStore``'s own."""

    __slots__ = ("directory",)
    #: A store of this module (:func:`is_durable`).
    durable: ClassVar[bool] = True

    async def release(self) -> None:
        """Close the store and keep its file."""
        await SqliteStore.close(self)


async def open_sqlite(cache_bytes: int | None = None) -> BenchSqliteStore:
    """A fresh ``SqliteStore`` (``durability="full"``) on a new temp file; ``cache_bytes``
    bounds its decoded-event cache (0: off; None: the default)."""
    directory, path = temp_database()
    cache: dict[str, Any] = {} if cache_bytes is None else {"decoded_cache_bytes": cache_bytes}
    try:
        store = await BenchSqliteStore.open(path, durability="full", **cache)
    except BaseException:
        _remove(directory)
        raise
    assert isinstance(store, BenchSqliteStore)
    store.directory = directory
    return store


# -- the bare floor ---------------------------------------------------------------------------

_FLOOR_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (workflow_id BLOB NOT NULL, seq INTEGER NOT NULL, "
    "body BLOB NOT NULL, PRIMARY KEY (workflow_id, seq)) WITHOUT ROWID"
)
_FLOOR_INSERT = "INSERT INTO events (workflow_id, seq, body) VALUES (?, ?, ?)"
_FLOOR_SELECT = "SELECT body FROM events WHERE workflow_id = ? AND seq >= ? ORDER BY seq"
_FLOOR_HEAD = "SELECT max(seq) FROM events WHERE workflow_id = ?"

_Job = Callable[[sqlite3.Connection], Any]


def _pragmas(connection: Any) -> dict[str, Any]:
    """``journal_mode`` and ``synchronous`` (2: FULL) of a connection or cursor."""
    journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    return {"journal_mode": str(journal).lower(), "synchronous": int(synchronous)}


class _FloorThread:
    """One connection on one thread, serving jobs from a ``SimpleQueue`` one at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[tuple[_Job | None, Any, asyncio.Future[Any]]] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._main, name=f"floor {path}", daemon=True)
        self._ready: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> asyncio.Future[None]:
        """Connect on the new thread; the future fails with the connection's error."""
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        self._thread.start()
        return self._ready

    def submit(self, job: _Job | None) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((job, loop, future))
        return future

    def _main(self) -> None:
        ready, opener = self._ready, self._loop
        assert ready is not None and opener is not None
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute(_FLOOR_SCHEMA)
        except BaseException as error:
            opener.call_soon_threadsafe(settle, ready, None, error)
            return
        opener.call_soon_threadsafe(settle, ready, None, None)
        jobs = self._jobs
        while True:
            job, loop, future = jobs.get()
            result: Any = None
            problem: BaseException | None = None
            if job is None:
                try:
                    connection.close()
                except sqlite3.Error as failure:
                    problem = failure
            else:
                try:
                    result = job(connection)
                except BaseException as failure:
                    problem = failure
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(settle, future, result, problem)
            if job is None:
                return


def _floor_append(
    key: bytes, batch: Sequence[Event], expected: int, connection: sqlite3.Connection
) -> None:
    bodies = _codec.encode_event_bodies(batch)
    connection.execute("BEGIN IMMEDIATE")
    try:
        seqs = range(expected + 1, expected + 1 + len(bodies))
        connection.executemany(_FLOOR_INSERT, zip(repeat(key), seqs, bodies))
    except sqlite3.IntegrityError:
        connection.execute("ROLLBACK")
        found = connection.execute(_FLOOR_HEAD, (key,)).fetchone()[0] or 0
        raise SequenceConflict(expected=expected, found=found) from None
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _floor_read(
    key: bytes, workflow_id: WorkflowId, start: int, connection: sqlite3.Connection
) -> list[Event]:
    bodies = [row[0] for row in connection.execute(_FLOOR_SELECT, (key, start))]
    return _codec.decode_stored_events(bodies, workflow_id, start)  # type: ignore[no-any-return]


class SqliteFloor(_OwnFile):
    """The bare floor of a durable async store: append and reads, nothing else."""

    durable: ClassVar[bool] = True

    def __init__(self, path: str, directory: str | None = None) -> None:
        # Use SqliteFloor.open(): it starts the thread.
        self.path = path
        self.directory = directory
        self._thread = _FloorThread(path)
        self._released = False

    @classmethod
    async def open(cls, path: str, directory: str | None = None) -> SqliteFloor:
        floor = cls(path, directory)
        await floor._thread.start()
        return floor

    async def append(
        self, token: WriteToken, workflow_id: WorkflowId, events: Sequence[Event], expected_seq: int
    ) -> None:
        key = workflow_id.uuid.bytes
        await self._thread.submit(functools.partial(_floor_append, key, events, expected_seq))

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        return await self.read_history_from(workflow_id, 1)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        key = workflow_id.uuid.bytes
        start = max(from_seq, 1)
        read = functools.partial(_floor_read, key, workflow_id, start)
        return await self._thread.submit(read)  # type: ignore[no-any-return]

    async def pragmas(self) -> dict[str, Any]:
        """``journal_mode`` and ``synchronous`` of the floor's connection."""

        def read(connection: sqlite3.Connection) -> dict[str, Any]:
            return _pragmas(connection)

        return await self._thread.submit(read)  # type: ignore[no-any-return]

    async def release(self) -> None:
        """Close the connection and end the thread; keep the file."""
        if not self._released:
            self._released = True
            await self._thread.submit(None)


async def open_floor() -> SqliteFloor:
    """A fresh :class:`SqliteFloor` on a new temp file."""
    directory, path = temp_database()
    try:
        return await SqliteFloor.open(path, directory)
    except BaseException:
        _remove(directory)
        raise


# -- eventsourcing's SQLite recorder ----------------------------------------------------------


@functools.cache
def _peer_class() -> type[Any]:
    """``EventSourcingSqliteStore``, made on first use (it needs ``eventsourcing``)."""
    from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

    from aion_store.bench.peer import EventSourcingStore

    class EventSourcingSqliteStore(_OwnFile, EventSourcingStore):
        """``eventsourcing``'s ``SQLiteAggregateRecorder`` on a file (append and reads)."""

        durable: ClassVar[bool] = True

        def __init__(self, path: str, directory: str | None = None) -> None:
            self.path = path
            self.directory = directory
            self.datastore = SQLiteDatastore(path)
            recorder = SQLiteAggregateRecorder(self.datastore)
            recorder.create_table()
            super().__init__(recorder)
            self._released = False

        def pragmas(self) -> dict[str, Any]:
            """``journal_mode`` and ``synchronous`` of the connections the recorder uses:
            one for reading and one for writing, as its pool hands them out."""
            found: dict[str, Any] = {}
            for commit in (False, True):
                with self.datastore.transaction(commit=commit) as cursor:
                    found["writer" if commit else "reader"] = _pragmas(cursor.sqlite_cursor)
            return found

        async def release(self) -> None:
            """Close the recorder's connections; keep the file."""
            if not self._released:
                self._released = True
                self.datastore.close()

    return EventSourcingSqliteStore


async def open_peer() -> Any:
    """A fresh ``EventSourcingSqliteStore`` on a new temp file (needs ``eventsourcing``)."""
    peer = _peer_class()
    directory, path = temp_database()
    try:
        return peer(path, directory)
    except BaseException:
        _remove(directory)
        raise


# -- helpers ----------------------------------------------------------------------------------


async def open_durable(store_id: str, *, cache_bytes: int | None = None) -> Any:
    """A fresh durable store of ``store_id`` on a new temp file; ``cache_bytes`` bounds
    ``SqliteStore``'s decoded-event cache (0: off; None: the default)."""
    if store_id == "sqlite":
        return await open_sqlite(cache_bytes)
    if store_id == "sqlite_floor":
        return await open_floor()
    if store_id == "eventsourcing_sqlite":
        return await open_peer()
    raise ValueError(f"unknown durable store {store_id!r}")


async def close_store(store: Any) -> None:
    """Close ``store`` if it has ``close()`` (the durable ones, which also remove their
    file or drop their schema); the in-memory stores have nothing to close."""
    close = getattr(store, "close", None)
    if close is not None:
        await close()


def is_durable(store: Any) -> bool:
    """Whether ``store`` is a durable one (this module's, on a file, or
    :mod:`aion_store.bench.durable_postgres`'s, in a schema; all with ``release()``)."""
    return getattr(store, "durable", False) is True


#: What :func:`prime_wal` appends: a workflow of this many events, each with a payload of
#: this many bytes: 4.8 MB, more than the 1,000 pages (4 MB) at which SQLite checkpoints
#: a WAL by default.
BALLAST_EVENTS, BALLAST_BYTES = 80, 60_000
_BALLAST_INDEX = 9_000_000
_TOKEN = WriteToken.recorder()


@functools.cache
def _ballast() -> tuple[Event, ...]:
    (started,) = data.history(_BALLAST_INDEX, 1)
    owner = started.envelope.workflow_id
    payload = Payload.from_json({"ballast": "x" * BALLAST_BYTES})
    signals = [
        SignalReceived(
            envelope=EventEnvelope(
                seq=seq, recorded_at=started.envelope.recorded_at, workflow_id=owner
            ),
            name="ballast",
            payload=payload,
        )
        for seq in range(2, BALLAST_EVENTS + 1)
    ]
    return (started, *signals)


async def prime_wal(store: Any) -> None:
    """Bring a fresh durable store's WAL to its working size before timed commits
    (untimed preparation): append a ballast workflow of about 5 MB, 8 events per append.

    The WAL of a fresh file grows with every commit until SQLite checkpoints it (at 1,000
    pages), and from then on is overwritten from its start. A commit that grows the file
    costs its fsync more on this kind of disk (the file's size changes too) than one that
    overwrites, and a store that writes more pages per commit reaches the working size
    sooner: without the ballast a comparison of fresh stores measures that. A long-running
    engine's WAL is at its working size. Every store of the family gets the same ballast;
    the in-memory stores get none (a no-op). The postgres family gets it too (the
    server recycles its WAL segments anyway): for it the ballast warms the statements
    up, and a store with a pool of connections (``pool``: how many) then reads that many
    times at once, so that its pool holds them all, as a long-running engine's does,
    and no timed call waits for a new connection."""
    if not is_durable(store):
        return
    events = _ballast()
    owner = events[0].envelope.workflow_id
    for start in range(0, len(events), 8):
        await store.append(_TOKEN, owner, list(events[start : start + 8]), start)
    pool = getattr(store, "pool", 0)
    if isinstance(pool, int) and pool > 1:
        past = len(events) + 1
        await asyncio.gather(*(store.read_history_from(owner, past) for _ in range(pool)))


def discard(store: Any) -> None:
    """Remove a durable store's file without closing it (after a failed close)."""
    directory = getattr(store, "directory", None)
    if isinstance(directory, str):
        _remove(directory)


def _vacuum_and_measure(path: str) -> int:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("VACUUM")
        # The last connection to close checkpoints the WAL into the file and removes it.
    finally:
        connection.close()
    return sum(os.path.getsize(name) for name in (path, path + "-wal") if os.path.exists(name))


async def disk_bytes(store: Any) -> int:
    """Bytes of ``store``'s file after closing it (keeping the file) and ``VACUUM``:
    the main file plus any WAL left (none after a clean close). A store with a
    ``disk_bytes()`` of its own (the postgres family: its schema's tables after ``VACUUM
    FULL``) measures itself."""
    own = getattr(store, "disk_bytes", None)
    if own is not None:
        return int(await own())
    await store.release()
    return await asyncio.to_thread(_vacuum_and_measure, store.path)
