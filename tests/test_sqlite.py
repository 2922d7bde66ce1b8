"""``SqliteStore`` (SPEC §14): the contract, reopening, bad files, closing, the event loop,
group commit, and a differential run against ``InMemoryStore``.

Crash safety and many writing processes are in ``test_sqlite_processes.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize

import aion_store
from aion_store import (
    BackendError,
    Event,
    EventEnvelope,
    InMemoryStore,
    ListWorkflowsFilter,
    PackageRecord,
    PackageVersion,
    Payload,
    RunId,
    SearchAttributePredicate,
    SequenceConflict,
    TimerId,
    VisibilityRecord,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WriteToken,
    from_msgpack,
)
from aion_store.conformance import run_event_store_suite
from aion_store.sqlite import SCHEMA_VERSION, SqliteStore
from strategies import workflow_ids
from test_differential import (
    CACHE_SIZES,
    DifferentialMachine,
    Outcome,
    _naming_the_call,
    _same_outcome,
)

UTC = timezone.utc
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = WriteToken.recorder()
DATA = Path(__file__).parent / "data" / "sqlite"


def started(workflow_id: WorkflowId, seq: int = 1, at: datetime = AT, **fields: Any) -> Event:
    return Event.WorkflowStarted(
        EventEnvelope(seq, at, workflow_id),
        fields.get("workflow_type", "order"),
        Payload.from_json({"n": seq}),
        fields.get("run_id") or RunId.new_v4(),
        fields.get("parent_run_id"),
        PackageVersion("abc"),
    )


def signal(workflow_id: WorkflowId, seq: int, at: datetime = AT) -> Event:
    return Event.SignalReceived(EventEnvelope(seq, at, workflow_id), "s", Payload.from_json(seq))


def history(workflow_id: WorkflowId, count: int) -> list[Event]:
    return [started(workflow_id)] + [signal(workflow_id, seq) for seq in range(2, count + 1)]


@pytest.fixture
def directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="aion-sqlite-") as name:
        yield Path(name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the contract -------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_conformance_suite(directory: Path, durability: str) -> None:
    stores: list[SqliteStore] = []

    async def make() -> SqliteStore:
        store = await SqliteStore.open(directory / f"{len(stores)}.db", durability=durability)
        stores.append(store)
        return store

    try:
        await run_event_store_suite(make)
    finally:
        for store in stores:
            await store.close()
    assert len(stores) >= 50  # a fresh file per scenario


class SqliteMachine(DifferentialMachine):
    """The differential machine of ``test_differential``, with a ``SqliteStore`` beside the
    two in-memory engines: after every step its outcome must be theirs."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory(prefix="aion-sqlite-machine-")
        self.sqlite: SqliteStore | None = None

    def teardown(self) -> None:
        if self.sqlite is not None:
            self.loop.run_until_complete(self.sqlite.close())
        self.directory.cleanup()
        super().teardown()

    @initialize(
        pool=st.lists(workflow_ids(), min_size=4, max_size=6, unique=True),
        cache=st.sampled_from(CACHE_SIZES),
        data=st.data(),
    )
    def setup(self, pool: list[WorkflowId], cache: int, data: st.DataObject) -> None:
        path = Path(self.directory.name) / "machine.db"
        self.sqlite = self.loop.run_until_complete(
            SqliteStore.open(path, durability="normal", decoded_cache_bytes=cache)
        )
        DifferentialMachine.setup(self, pool, cache, data)

    def both(self, method: str, *args: Any) -> Outcome:
        memory = super().both(method, *args)
        durable = self._run(self.sqlite, method, args)  # type: ignore[arg-type]
        with _naming_the_call(method, args):
            _same_outcome(memory, durable, method, ("memory", "sqlite"))
        return memory


SqliteMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSqliteAgreesWithMemory = pytest.mark.slow(SqliteMachine.TestCase)


# -- reopening ----------------------------------------------------------------------------


PARENT = WorkflowId("00000000-0000-4000-8000-0000000000a1")
CHILD = WorkflowId("00000000-0000-4000-8000-0000000000b2")
FIRST_RUN = RunId("00000000-0000-4000-8000-0000000000c3")
SECOND_RUN = RunId("00000000-0000-4000-8000-0000000000d4")


async def fill(store: Any) -> None:
    """Write one of everything: two runs, a child, timers, visibility, packages, routes."""
    await store.append(TOKEN, PARENT, [started(PARENT, run_id=FIRST_RUN)], 0)
    child_started = Event.ChildWorkflowStarted(
        EventEnvelope(2, AT, PARENT), CHILD, "child", Payload.from_json(1), PackageVersion("p")
    )
    continued = Event.WorkflowContinuedAsNew(
        EventEnvelope(3, AT, PARENT), Payload.from_json(2), None, FIRST_RUN
    )
    second = started(
        PARENT, 4, AT + timedelta(seconds=1), run_id=SECOND_RUN, parent_run_id=FIRST_RUN
    )
    await store.append(TOKEN, PARENT, [child_started, continued, second], 1)
    child_run = RunId("00000000-0000-4000-8000-0000000000e5")
    await store.append(
        TOKEN, CHILD, [started(CHILD, at=AT + timedelta(seconds=2), run_id=child_run)], 0
    )
    completed = Event.WorkflowCompleted(EventEnvelope(2, AT, CHILD), Payload.from_json(3))
    await store.append(TOKEN, CHILD, [completed], 1)
    await store.schedule_timer(PARENT, TimerId.named("wake"), AT)
    await store.schedule_timer(CHILD, TimerId.anonymous(3), AT - timedelta(days=1))
    await store.record_visibility(
        VisibilityRecord(
            PARENT, FIRST_RUN, "order", WorkflowStatus.RUNNING, AT, None, {"k": ("a", "b"), "n": 5}
        )
    )
    await store.put_package(PackageRecord("order", "h1", b"\x00zip", AT))
    await store.put_package_route("child", "h9")


async def snapshot(store: Any) -> dict[str, Any]:
    """What every read of the filled store gives."""
    result: dict[str, Any] = {
        "ids": await store.list_workflow_ids(),
        "active": await store.list_active(),
        "query": await store.query(WorkflowFilter()),
        "children": await store.query(WorkflowFilter(parent=PARENT)),
        "timers": await store.expired_timers(AT + timedelta(days=1)),
        "visibility": await store.list_workflows(ListWorkflowsFilter()),
        "packages": await store.list_packages(),
        "routes": await store.list_package_routes(),
    }
    for workflow_id in (PARENT, CHILD):
        result[f"history {workflow_id}"] = await store.read_history(workflow_id)
        result[f"raw {workflow_id}"] = await store.read_history_raw(workflow_id)
        result[f"chain {workflow_id}"] = await store.read_run_chain(workflow_id)
    return result


async def test_reopening_gives_everything_back(directory: Path) -> None:
    path = directory / "engine.db"
    async with SqliteStore.open(path) as store:
        await fill(store)
        written = await snapshot(store)
    memory = InMemoryStore()
    await fill(memory)
    assert written == await snapshot(memory)
    async with SqliteStore.open(path) as store:
        assert await snapshot(store) == written
    assert [summary.workflow_id for summary in written["children"]] == [CHILD]
    assert [run.run_id for run in written[f"chain {PARENT}"]] == [FIRST_RUN, SECOND_RUN]
    assert written["active"] == [PARENT]


async def test_open_is_awaitable_and_a_context_manager(directory: Path) -> None:
    store = await SqliteStore.open(str(directory / "a.db"))
    assert isinstance(store, aion_store.EventStore) and isinstance(
        store, aion_store.VisibilityStore
    )
    await store.close()
    async with SqliteStore.open(directory / "a.db") as again:
        assert await again.list_workflow_ids() == []
    with pytest.raises(BackendError, match="closed"):
        await again.list_workflow_ids()


# -- arguments, closing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"durability": "fast"}, ValueError, "durability must be 'full' or 'normal'"),
        ({"durability": None}, ValueError, "durability"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": "5"}, ValueError, "timeout"),
        ({"decoded_cache_bytes": -1}, ValueError, "decoded_cache_bytes"),
        ({"decoded_cache_bytes": 1.5}, TypeError, "decoded_cache_bytes"),
    ],
)
def test_bad_open_arguments(
    directory: Path, arguments: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        SqliteStore.open(directory / "x.db", **arguments)
    assert not (directory / "x.db").exists()


@pytest.mark.parametrize("path", [5, None, b"x.db", ""])
def test_bad_paths(path: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        SqliteStore.open(path)


@pytest.mark.parametrize(("durability", "expected"), [("full", 2), ("normal", 1)])
async def test_durability_sets_synchronous(directory: Path, durability: str, expected: int) -> None:
    async with SqliteStore.open(directory / "d.db", durability=durability) as store:  # type: ignore[arg-type]
        for thread in (store._writer, store._reader):
            value = await thread.submit(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
            assert value == expected
        mode = await store._reader.submit(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        assert mode == "wal"


CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("append", ("not a token", "not an id", None, -1)),
    ("read_history", (None,)),
    ("read_history_from", (None, None)),
    ("read_history_raw", (None,)),
    ("read_run_chain", (None,)),
    ("list_workflow_ids", ()),
    ("list_active", ()),
    ("query", (None,)),
    ("schedule_timer", (None, None, None)),
    ("expired_timers", (None,)),
    ("record_visibility", (None,)),
    ("list_workflows", (None,)),
    ("count_workflows", (None,)),
    ("put_package", (None,)),
    ("list_packages", ()),
    ("delete_package", (None, None)),
    ("put_package_route", (None, None)),
    ("list_package_routes", ()),
]


@pytest.mark.parametrize(("method", "arguments"), CALLS, ids=[call[0] for call in CALLS])
async def test_a_closed_store_refuses_every_call_before_checking_arguments(
    directory: Path, method: str, arguments: tuple[Any, ...]
) -> None:
    store = await SqliteStore.open(directory / "c.db")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(BackendError, match=r"c\.db: the store is closed"):
        await getattr(store, method)(*arguments)


async def test_close_waits_for_the_calls_in_flight(directory: Path) -> None:
    store = await SqliteStore.open(directory / "w.db")
    workflows = [WorkflowId.new_v4() for _ in range(50)]
    writes = [asyncio.ensure_future(store.append(TOKEN, w, history(w, 20), 0)) for w in workflows]
    await asyncio.sleep(0)  # every append is submitted
    await store.close()
    assert all(write.done() and write.exception() is None for write in writes)
    async with SqliteStore.open(directory / "w.db") as again:
        assert len(await again.list_workflow_ids()) == 50


# -- bad files ----------------------------------------------------------------------------


def foreign_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    connection.execute("INSERT INTO accounts VALUES (1, 'x')")
    connection.commit()
    connection.close()


def newer_database(path: Path) -> None:
    async def make() -> None:
        async with SqliteStore.open(path) as store:
            await fill(store)

    asyncio.run(make())
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()


BAD_FILES = {
    "text": (
        lambda path: path.write_text("hello, this is not a database\n" * 100),
        "not a SQLite database",
    ),
    "random bytes": (lambda path: path.write_bytes(os.urandom(8192)), "not a SQLite database"),
    "another application": (
        foreign_database,
        "not an aion-store database (application_id 0x0, tables: accounts)",
    ),
    "a newer schema": (newer_database, f"schema version {SCHEMA_VERSION + 1}"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_is_refused_and_left_untouched(directory: Path, kind: str) -> None:
    make, message = BAD_FILES[kind]
    path = directory / "bad.db"
    make(path)
    before = digest(path)
    listing = sorted(os.listdir(directory))
    with pytest.raises(BackendError) as caught:
        asyncio.run(SqliteStore.open(path))  # type: ignore[arg-type]
    assert str(path) in str(caught.value) and message in str(caught.value)
    if kind in ("text", "random bytes"):
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert digest(path) == before
    assert sorted(os.listdir(directory)) == listing


async def test_a_missing_directory_is_refused(directory: Path) -> None:
    path = directory / "missing" / "engine.db"
    with pytest.raises(BackendError, match="does not exist"):
        await SqliteStore.open(path)
    assert not path.parent.exists()


async def test_a_directory_is_not_a_database(directory: Path) -> None:
    with pytest.raises(BackendError, match="is a directory"):
        await SqliteStore.open(directory)


def without_file_override(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child process that file permissions bind, even as root: its
    capabilities to override them are dropped (util-linux ``setpriv``)."""
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_read_only_file_is_refused_and_left_untouched(directory: Path) -> None:
    path = directory / "ro.db"

    async def make() -> None:
        async with SqliteStore.open(path) as store:
            await fill(store)

    asyncio.run(make())
    os.chmod(path, 0o444)
    before = digest(path)
    result = without_file_override(
        f"""
        import asyncio
        from aion_store import BackendError
        from aion_store.sqlite import SqliteStore
        try:
            asyncio.run(SqliteStore.open({str(path)!r}))
        except BackendError as error:
            print("refused:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:") and str(path) in result.stdout, result.stdout
    assert "readonly" in result.stdout, result.stdout
    assert digest(path) == before


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ")
async def test_a_full_disk_is_a_backend_error_and_the_store_still_reads(directory: Path) -> None:
    code = f"""
    import asyncio, resource, signal
    from aion_store import *
    from aion_store.sqlite import SqliteStore
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    AT = __import__("datetime").datetime(2024, 1, 1, tzinfo=__import__("datetime").timezone.utc)

    async def main():
        async with SqliteStore.open({str(directory / "full.db")!r}) as store:
            w = WorkflowId.new_v4()
            first = [Event.SignalReceived(EventEnvelope(1, AT, w), "s", Payload.from_json(1))]
            await store.append(WriteToken.recorder(), w, first, 0)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
            big = Payload(ContentType.JSON, b"x" * 200_000)
            head, failure = 1, None
            while failure is None:
                batch = [Event.SignalReceived(EventEnvelope(head + 1, AT, w), "s", big)]
                try:
                    await store.append(WriteToken.recorder(), w, batch, head)
                    head += 1
                except BackendError as error:
                    failure = error
            print("failed:", type(failure.__cause__).__name__, failure)
            events = await store.read_history(w)
            print("read:", len(events) == head, events[-1].seq == head)
            try:
                await store.append(WriteToken.recorder(), w, batch, head)
            except BackendError:
                print("still full")
    asyncio.run(main())
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("failed: OperationalError") or lines[0].startswith(
        "failed: DatabaseError"
    ), lines
    assert "full.db" in lines[0]
    assert lines[1] == "read: True True"
    assert lines[2] == "still full"


# -- the event loop and group commit ------------------------------------------------------


async def test_the_event_loop_runs_while_a_big_append_is_written(directory: Path) -> None:
    async with SqliteStore.open(directory / "big.db") as store:
        workflow_id = WorkflowId.new_v4()
        events = history(workflow_id, 20_000)
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        counting = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        ticks = 0
        await store.append(TOKEN, workflow_id, events, 0)
        done = True
        await counting
        assert ticks > 20, f"the loop ticked {ticks} times while 20,000 events were written"
        assert len(await store.read_history(workflow_id)) == 20_000


async def test_concurrent_appends_share_commits_and_keep_their_own_outcomes(
    directory: Path,
) -> None:
    async with SqliteStore.open(directory / "group.db") as store:
        commits: list[int] = []
        original = store._writer._commit

        def counting(connection: Any, group: list[Any]) -> None:
            commits.append(len(group))
            original(connection, group)

        store._writer._commit = counting  # type: ignore[method-assign]
        workflows = [WorkflowId.new_v4() for _ in range(100)]
        conflicted = workflows[0]
        await store.append(TOKEN, conflicted, history(conflicted, 1), 0)
        commits.clear()
        bad = workflows[1]
        calls = [store.append(TOKEN, w, history(w, 1), 0) for w in workflows[2:]]
        calls.append(store.append(TOKEN, conflicted, [signal(conflicted, 2)], 5))
        calls.append(store.append(TOKEN, bad, [signal(bad, 2)], 0))  # seq 2 after head 0
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert results[:-2] == [None] * 98
        assert isinstance(results[-2], SequenceConflict) and results[-2].found == 1
        assert isinstance(results[-1], BackendError) and "events[0] has seq 2" in str(results[-1])
        assert sum(commits) == 100 and len(commits) < 20, commits
        assert len(await store.list_workflow_ids()) == 99
        assert await store.read_history(bad) == []


async def test_reads_see_what_another_store_appended(directory: Path) -> None:
    path = directory / "shared.db"
    async with SqliteStore.open(path) as one, SqliteStore.open(path) as two:
        workflow_id = WorkflowId.new_v4()
        await one.append(TOKEN, workflow_id, history(workflow_id, 3), 0)
        assert len(await two.read_history(workflow_id)) == 3  # now cached by two
        await one.append(TOKEN, workflow_id, [signal(workflow_id, 4)], 3)
        assert [e.seq for e in await two.read_history(workflow_id)] == [1, 2, 3, 4]
        assert [e.seq for e in await two.read_history_from(workflow_id, 4)] == [4]
        with pytest.raises(SequenceConflict) as caught:
            await two.append(TOKEN, workflow_id, [signal(workflow_id, 4)], 3)
        assert caught.value.found == 4


async def test_a_corrupted_row_is_a_serialization_error_naming_it(directory: Path) -> None:
    path = directory / "corrupt.db"
    workflow_id = WorkflowId.new_v4()
    async with SqliteStore.open(path) as store:
        await store.append(TOKEN, workflow_id, history(workflow_id, 3), 0)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE events SET body = x'93c0c0' WHERE seq = 2")
    connection.commit()
    connection.close()
    async with SqliteStore.open(path) as store:
        with pytest.raises(aion_store.SerializationError, match=rf"workflow {workflow_id}, seq 2"):
            await store.read_history(workflow_id)
        assert [e.seq for e in await store.read_history_from(workflow_id, 3)] == [3]


async def test_visibility_predicates_run_in_sql_with_strict_types(directory: Path) -> None:
    async with SqliteStore.open(directory / "v.db") as store:
        memory = InMemoryStore()
        values = [1, 1.0, True, "1", ("1", "2"), AT, 2, 0.5, False, ("2",)]
        for _index, value in enumerate(values):
            record = VisibilityRecord(
                WorkflowId.new_v4(),
                RunId.new_v4(),
                "t",
                WorkflowStatus.RUNNING,
                AT,
                None,
                {"x": value},
            )
            await store.record_visibility(record)
            await memory.record_visibility(record)
        Predicate = SearchAttributePredicate
        for predicate in [
            Predicate.Equals("x", 1),
            Predicate.Equals("x", 1.0),
            Predicate.Equals("x", True),
            Predicate.Equals("x", "1"),
            Predicate.Equals("x", ("1", "2")),
            Predicate.Equals("x", AT),
            Predicate.GreaterThan("x", 1),
            Predicate.GreaterThan("x", 0.7),
            Predicate.LessThan("x", 2),
            Predicate.GreaterThan("x", "0"),
            Predicate.GreaterThan("x", False),
            Predicate.Contains("x", "2"),
            Predicate.Contains("x", "1"),
            Predicate.LessThan("x", AT + timedelta(1)),
            Predicate.Equals("y", 1),
        ]:
            chosen = ListWorkflowsFilter(search_attributes=(predicate,))
            assert await store.list_workflows(chosen) == await memory.list_workflows(chosen), (
                predicate
            )
            assert await store.count_workflows(chosen) == await memory.count_workflows(chosen)


def test_the_first_schema_version_file_opens(directory: Path) -> None:
    """A file written by schema version 1 (tests/data/sqlite/v1.db, made by
    make_v1.py with that version's code) opens and reads with this version."""
    path = directory / "v1.db"
    path.write_bytes((DATA / "v1.db").read_bytes())

    async def check() -> None:
        async with SqliteStore.open(path) as store:
            ids = await store.list_workflow_ids()
            assert len(ids) == 3
            for workflow_id in ids:
                assert [e.seq for e in await store.read_history(workflow_id)] == [1, 2, 3]
            assert len(await store.expired_timers(datetime(9999, 1, 1, tzinfo=UTC))) == 1
            assert len(await store.list_workflows(ListWorkflowsFilter())) == 1
            assert len(await store.list_packages()) == 1

    asyncio.run(check())
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    indexes = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    assert "workflows_by_status" in indexes  # version 2's
    connection.close()


def test_a_first_schema_version_file_reads_read_only_unchanged(directory: Path) -> None:
    """Version 2 added an index only: a read-only store reads a version-1 file as it is,
    without migrating it (the query then scans, as version 1 did)."""
    path = directory / "v1.db"
    path.write_bytes((DATA / "v1.db").read_bytes())
    before = path.read_bytes()

    async def check() -> None:
        async with SqliteStore.open(path, read_only=True) as store:
            assert len(await store.list_workflow_ids()) == 3
            assert len(await store.query(WorkflowFilter(status=WorkflowStatus.RUNNING))) >= 0

    asyncio.run(check())
    assert path.read_bytes() == before


def test_query_by_status_reads_the_index_in_its_order(directory: Path) -> None:
    from aion_store.sqlite import _query_sql

    async def create() -> None:
        async with SqliteStore.open(directory / "plan.db") as store:
            await fill(store)

    asyncio.run(create())
    sql, parameters = _query_sql(WorkflowFilter(status=WorkflowStatus.RUNNING))
    connection = sqlite3.connect(directory / "plan.db")
    try:
        plan = " / ".join(
            row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)
        )
    finally:
        connection.close()
    assert "USING INDEX workflows_by_status" in plan and "TEMP B-TREE" not in plan, plan


def test_raw_history_is_the_in_memory_bytes(directory: Path) -> None:
    async def check() -> None:
        workflow_id = WorkflowId.new_v4()
        events = history(workflow_id, 5)
        memory = InMemoryStore()
        await memory.append(TOKEN, workflow_id, events, 0)
        async with SqliteStore.open(directory / "raw.db") as store:
            await store.append(TOKEN, workflow_id, events, 0)
            for start in (0, 1, 3, 5, 6, 99):
                raw = await store.read_history_raw(workflow_id, start)
                assert raw == await memory.read_history_raw(workflow_id, start)
            assert from_msgpack(await store.read_history_raw(workflow_id), list[Event]) == events

    asyncio.run(check())


# -- read-only opening and paged queries (what the command line uses) ---------------------------


async def fill_for_pages(store: Any) -> list[tuple[Any, int]]:
    """25 workflows, start times with ties, 1-4 events each; return (summary, head) of
    these in query order, as the store answers ``query``."""
    heads = {}
    for index in range(25):
        workflow_id = WorkflowId.new_v4()
        count = 1 + index % 4
        events = [started(workflow_id, at=AT + timedelta(seconds=index // 3))]
        events += [signal(workflow_id, seq) for seq in range(2, count + 1)]
        await store.append(TOKEN, workflow_id, events, 0)
        heads[workflow_id] = count
    return [
        (summary, heads[summary.workflow_id])
        for summary in await store.query(WorkflowFilter())
        if summary.workflow_id in heads
    ]


async def pages(store: Any, chosen: WorkflowFilter, limit: int) -> list[tuple[Any, int]]:
    found: list[tuple[Any, int]] = []
    after = None
    while True:
        page = await store.query_page(chosen, after, limit)
        assert len(page) <= limit
        found += page
        if len(page) < limit:
            return found
        after = (page[-1][0].started_at, page[-1][0].workflow_id)


async def test_query_pages_are_the_query_in_order_with_event_counts(directory: Path) -> None:
    async with SqliteStore.open(directory / "pages.db") as store:
        expected = await fill_for_pages(store)
        for limit in (1, 7, 25, 100):
            assert await pages(store, WorkflowFilter(), limit) == expected
        running = WorkflowFilter(
            status=WorkflowStatus.RUNNING, started_after=AT + timedelta(seconds=2)
        )
        assert [s for s, _ in await pages(store, running, 4)] == await store.query(running)


async def test_a_read_only_store_reads_and_refuses_writes(directory: Path) -> None:
    path = directory / "ro.db"
    async with SqliteStore.open(path) as store:
        await fill(store)
        written = await snapshot(store)
    before = digest(path)
    async with SqliteStore.open(path, read_only=True) as store:
        assert store.read_only
        assert await snapshot(store) == written
        for method, arguments in CALLS:
            if method in (
                "append",
                "schedule_timer",
                "record_visibility",
                "put_package",
                "delete_package",
                "put_package_route",
            ):
                with pytest.raises(BackendError, match="opened read-only"):
                    await getattr(store, method)(*arguments)
    assert digest(path) == before


@pytest.mark.parametrize("kind", ["missing", "empty", "foreign"])
async def test_read_only_never_creates_a_store(directory: Path, kind: str) -> None:
    path = directory / "x.db"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":
        foreign_database(path)
    listing = sorted(os.listdir(directory))
    with pytest.raises(BackendError):
        await SqliteStore.open(path, read_only=True)
    assert sorted(os.listdir(directory)) == listing
    if kind == "empty":
        assert path.read_bytes() == b""
