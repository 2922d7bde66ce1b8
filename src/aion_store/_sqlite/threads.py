"""The threads that own a ``SqliteStore``'s connections, and group commit.

SQLite calls block, so they never run on the event loop: each connection lives on a
thread of its own, which runs *jobs* (functions of the connection) submitted from any
event loop and hands each result back to the loop that is awaiting it.

The writer runs every job it finds waiting in one transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``) and answers the jobs only once the commit returned: appends awaited by many
tasks at once share one commit and so one fsync, and each keeps its own outcome. A job
checks before it writes, so one that raises (a sequence conflict, a bad batch) has
written nothing and its neighbours go on; a job that fails after writing (the database
failed) takes the whole group down with it, rolled back: nothing of it is committed.
The answers of a group reach each event loop in one wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aion_store.error import BackendError

__all__ = ["HEADS_KEPT", "Job", "ReaderThread", "WriterConnection", "WriterThread", "settle"]

T = TypeVar("T")
#: A function run on a store thread with that thread's connection.
Job = Callable[[sqlite3.Connection], T]
Connect = Callable[[], sqlite3.Connection]
#: How a store names a failure: ``describe(what was being done, the sqlite3 error)``.
Describe = Callable[[str, BaseException], BackendError]


#: How many workflow heads the writer remembers between transactions.
HEADS_KEPT = 100_000


class WriterConnection(sqlite3.Connection):
    """The writer's connection, with the heads it knows.

    ``heads`` maps a workflow key to its head as of the last committed transaction of
    this connection, or as written in the current one. It is trusted only while no other
    connection has committed since: the writer compares ``PRAGMA data_version`` inside
    each write transaction (it changes exactly when another connection commits) and
    forgets every head when it moved, or when a transaction is rolled back.
    """

    def __init__(self, *arguments: Any, **options: Any) -> None:
        super().__init__(*arguments, **options)
        self.heads: dict[bytes, int] = {}
        self.data_version = -1


def settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Give a job's outcome to the future awaiting it (on its loop), unless cancelled."""
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _settle_all(calls: list[_Call[Any]]) -> None:
    for call in calls:
        settle(call.future, call.result, call.error)


def _answer_all(calls: list[_Call[Any]]) -> None:
    """Hand every call's outcome back, one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Call[Any]]] = {}
    for call in calls:
        by_loop.setdefault(call.loop, []).append(call)
    for loop, answered in by_loop.items():
        # A closed loop (RuntimeError) means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, answered)


class _Call(Generic[T]):
    """A submitted job and the future of the task awaiting it."""

    __slots__ = ("error", "future", "job", "loop", "result")

    def __init__(self, job: Job[T]) -> None:
        self.job = job
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[T] = self.loop.create_future()
        self.result: Any = None
        self.error: BaseException | None = None

    def answer(self) -> None:
        # A closed loop (RuntimeError) means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle, self.future, self.result, self.error)


class _StoreThread:
    """One connection on one thread; ``describe`` turns a sqlite3 error into a BackendError."""

    def __init__(self, name: str, connect: Connect, describe: Describe) -> None:
        self._connect = connect
        self._describe = describe
        self._calls: queue.SimpleQueue[_Call[Any] | None] = queue.SimpleQueue()
        self._started: _Call[None] | None = None
        self._stopped: _Call[None] | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> asyncio.Future[None]:
        """Connect on the new thread; the future fails with the connection's error."""
        self._started = _Call(lambda connection: None)
        self._thread.start()
        return self._started.future

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        call = _Call(job)
        self._calls.put(call)
        return call.future

    def stop(self) -> asyncio.Future[None]:
        """Run the jobs already submitted, close the connection, end the thread."""
        self._stopped = _Call(lambda connection: None)
        self._calls.put(None)
        return self._stopped.future

    def _main(self) -> None:
        started = self._started
        assert started is not None
        try:
            connection = self._connect()
        except BaseException as error:
            started.error = self._error("open", error)
            started.answer()
            return
        started.answer()
        try:
            self._serve(connection)
        finally:
            try:
                connection.close()
            except sqlite3.Error as error:
                if self._stopped is not None:
                    self._stopped.error = self._describe("close", error)
            if self._stopped is not None:
                self._stopped.answer()

    def _error(self, what: str, error: BaseException) -> BaseException:
        if isinstance(error, sqlite3.Error):
            return self._describe(what, error)
        return error

    def _serve(self, connection: sqlite3.Connection) -> None:
        raise NotImplementedError


class ReaderThread(_StoreThread):
    """Runs each job on its own, in autocommit mode: every read sees the last commit."""

    def _serve(self, connection: sqlite3.Connection) -> None:
        calls = self._calls
        while True:
            call = calls.get()
            if call is None:
                return
            try:
                call.result = call.job(connection)
            except BaseException as error:
                call.error = self._error("read", error)
                if connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
            call.answer()


class WriterThread(_StoreThread):
    """Runs the jobs waiting together in one transaction: group commit."""

    def _serve(self, connection: sqlite3.Connection) -> None:
        calls = self._calls
        while True:
            group: list[_Call[Any]] = []
            call = calls.get()
            stopping = call is None
            while call is not None:
                group.append(call)
                try:
                    call = calls.get_nowait()
                except queue.Empty:
                    break
                if call is None:
                    stopping = True
            if group:
                self._commit(connection, group)
                _answer_all(group)
            if stopping:
                return

    def _commit(self, connection: sqlite3.Connection, group: list[_Call[Any]]) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
            if isinstance(connection, WriterConnection):
                version = connection.execute("PRAGMA data_version").fetchone()[0]
                if version != connection.data_version or len(connection.heads) > HEADS_KEPT:
                    connection.heads.clear()  # another connection committed: ask again
                    connection.data_version = version
        except sqlite3.Error as error:
            failure = self._describe("begin a write", error)
            for call in group:
                call.error = failure
            return
        for index, call in enumerate(group):
            changes = connection.total_changes
            try:
                call.result = call.job(connection)
            except BaseException as error:
                call.error = self._error("write", error)
                if connection.total_changes != changes or not connection.in_transaction:
                    # It failed after writing, or SQLite rolled the transaction back on
                    # its own (a full disk, an I/O error): nothing of the group commits.
                    self._abandon(connection, group[: index + 1], group[index + 1 :], error)
                    return
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            self._abandon(connection, group, [], error)

    def _abandon(
        self,
        connection: sqlite3.Connection,
        tried: list[_Call[Any]],
        untried: list[_Call[Any]],
        error: BaseException,
    ) -> None:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        if isinstance(connection, WriterConnection):
            connection.heads.clear()  # they may hold what was rolled back
        failure = self._describe("commit", error)
        for call in tried:
            # A job's own refusal (a sequence conflict, a bad batch) stands: it wrote nothing.
            if call.error is None:
                call.error = failure
            call.result = None
        for call in untried:
            call.error = failure
