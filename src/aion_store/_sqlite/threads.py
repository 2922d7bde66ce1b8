"""The threads that own a ``SqliteStore``'s connections, and group commit.

SQLite calls block, so they never run on the event loop: each connection lives on a
thread of its own, which runs *jobs* (functions of the connection) submitted from any
event loop and hands each result back to the loop that is awaiting it.

The writer runs every job it finds waiting in one transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``), each inside a savepoint of its own, and answers the jobs only once the
commit returned: appends awaited by many tasks at once share one commit and so one
fsync, and each keeps its own outcome (a job that raises is rolled back to its
savepoint; its neighbours are not).
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

__all__ = ["Job", "ReaderThread", "WriterThread"]

T = TypeVar("T")
#: A function run on a store thread with that thread's connection.
Job = Callable[[sqlite3.Connection], T]
Connect = Callable[[], sqlite3.Connection]
#: How a store names a failure: ``describe(what was being done, the sqlite3 error)``.
Describe = Callable[[str, BaseException], BackendError]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


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
            self.loop.call_soon_threadsafe(_settle, self.future, self.result, self.error)


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
                for done in group:
                    done.answer()
            if stopping:
                return

    def _commit(self, connection: sqlite3.Connection, group: list[_Call[Any]]) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            failure = self._describe("begin a write", error)
            for call in group:
                call.error = failure
            return
        for index, call in enumerate(group):
            try:
                connection.execute("SAVEPOINT job")
                try:
                    call.result = call.job(connection)
                except BaseException as error:
                    call.error = self._error("write", error)
                    connection.execute("ROLLBACK TO job")
                connection.execute("RELEASE job")
            except sqlite3.Error as error:
                # The transaction itself failed (SQLite may roll it back on its own on a
                # full disk or an I/O error): nothing of this group will be committed.
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
        error: sqlite3.Error,
    ) -> None:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        failure = self._describe("commit", error)
        for call in tried:
            # A job's own refusal (a sequence conflict, a bad batch) stands: it wrote nothing.
            if call.error is None:
                call.error = failure
            call.result = None
        for call in untried:
            call.error = failure
