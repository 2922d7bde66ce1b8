"""``RustLibsqlStore``: reading a Rust engine's libSQL file (RUST_LIBSQL.md).

Files are written by ``rust_libsql_fixture`` with the Rust backend's DDL and real serde
JSON. Every read must answer what an ``InMemoryStore`` filled with the same decoded data
answers; malformed rows, unknown variants, unknown tables and columns, and files that
are not Rust engine files are refused with errors naming what and where; the file is
never changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aion_store import (
    BackendError,
    InMemoryStore,
    ListWorkflowsFilter,
    SearchAttributePredicate,
    SerializationError,
    TimerId,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WriteToken,
)
from aion_store.package import PackageStore
from aion_store.rust_libsql import RustLibsqlStore
from aion_store.sqlite import SqliteStore
from aion_store.store import EventStore, ReadableEventStore
from aion_store.visibility import VisibilityStore
from aion_store.wire._json import dump_value
from rust_libsql_fixture import (
    BASE,
    EVENT_VECTORS,
    GENERATED,
    RUN,
    USED,
    VISIBILITY_VECTORS,
    RustFile,
    W,
    build_standard,
    event,
    stamp,
    wid,
)

UTC = timezone.utc
UNKNOWN = WorkflowId(wid(0xDEAD))


def at(seconds: float, micros: int = 0) -> datetime:
    return BASE + timedelta(seconds=seconds, microseconds=micros)


@pytest.fixture(scope="module")
def standard_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RustFile]:
    path = tmp_path_factory.mktemp("standard") / "engine.db"
    built = build_standard(path)
    built.close()
    return path, built


@pytest.fixture
def standard(standard_file: tuple[Path, RustFile], tmp_path: Path) -> tuple[Path, RustFile]:
    """A fresh copy of the standard file, alone in its directory, and its write log."""
    path = tmp_path / "engine.db"
    shutil.copyfile(standard_file[0], path)
    return path, standard_file[1]


async def memory_of(built: RustFile) -> InMemoryStore:
    store = InMemoryStore()
    await built.replay(store)
    return store


def snapshot(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file of ``directory``: size, mtime and content hash."""
    return {
        entry.name: (
            entry.stat().st_size,
            entry.stat().st_mtime_ns,
            hashlib.sha256(entry.read_bytes()).hexdigest(),
        )
        for entry in sorted(directory.iterdir())
    }


# -- the same answers as InMemoryStore ------------------------------------------------------

STATUSES = list(WorkflowStatus)
QUERY_FILTERS = [
    WorkflowFilter(),
    WorkflowFilter(workflow_type="gen-a"),
    WorkflowFilter(workflow_type="checkout_v2"),
    WorkflowFilter(workflow_type="checkout"),  # the type of an earlier run only
    WorkflowFilter(workflow_type="nope"),
    *(WorkflowFilter(status=status) for status in STATUSES),
    WorkflowFilter(started_after=at(3)),  # inclusive, on a tie of two starts
    WorkflowFilter(started_before=at(3)),
    WorkflowFilter(started_after=at(101, 250000), started_before=at(105, 250500)),
    WorkflowFilter(started_after=at(57, 123456)),  # a start written with 9 digits
    WorkflowFilter(started_after=at(57, 123457)),
    WorkflowFilter(parent=WorkflowId(W["checkout"])),
    WorkflowFilter(parent=WorkflowId(W["batch"])),
    WorkflowFilter(parent=WorkflowId(GENERATED[19][0])),  # names a child never started
    WorkflowFilter(parent=UNKNOWN),
    WorkflowFilter(workflow_type="gen-b", status=WorkflowStatus.RUNNING, started_after=at(104)),
]

TIMER_TIMES = [
    BASE - timedelta(days=1),
    at(150),
    at(200, 123455),
    at(200, 123456),  # 9-digit fire_at, truncated to this microsecond: due
    at(300, 250000),
    at(10_000),
    datetime(9999, 12, 31, tzinfo=UTC),
]

ATTRIBUTE = SearchAttributePredicate
LIST_FILTERS = [
    ListWorkflowsFilter(),
    ListWorkflowsFilter(limit=3),
    ListWorkflowsFilter(offset=2, limit=5),
    ListWorkflowsFilter(offset=1000),
    ListWorkflowsFilter(limit=0),
    ListWorkflowsFilter(workflow_type="gen-a"),
    ListWorkflowsFilter(workflow_type="checkout"),
    *(ListWorkflowsFilter(status=status) for status in STATUSES),
    ListWorkflowsFilter(started_after=at(104), started_before=at(106, 250500)),
    ListWorkflowsFilter(closed_after=at(59, 250500)),
    ListWorkflowsFilter(closed_before=at(105)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Equals("n", 3),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Equals("n", 3.0),)),  # Int is no Float
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.GreaterThan("n", 20),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.LessThan("f", 1.5),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.GreaterThan("when", at(20)),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Contains("tag", "odd"),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Equals("sav_string_unicode", "café ☃ 😀  "),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Equals("sav_bool_true", True),)),
    ListWorkflowsFilter(search_attributes=(ATTRIBUTE.Equals("s", "tenant-a"),)),
    ListWorkflowsFilter(
        search_attributes=(ATTRIBUTE.Contains("tag", "all"), ATTRIBUTE.LessThan("n", 9)),
        limit=2,
        offset=1,
    ),
]


async def test_the_standard_file_uses_every_event_vector(standard: Any) -> None:
    assert set(EVENT_VECTORS) <= USED
    assert len(VISIBILITY_VECTORS) == 3


async def test_histories_equal_in_memory(standard: Any) -> None:
    path, built = standard
    memory = await memory_of(built)
    async with RustLibsqlStore.open(path) as store:
        ids = await store.list_workflow_ids()
        assert ids == await memory.list_workflow_ids()
        assert len(ids) == 8 + len(GENERATED)
        for workflow in [*ids, UNKNOWN]:
            history = await memory.read_history(workflow)
            assert await store.read_history(workflow) == history
            head = len(history)
            for start in {0, 1, 2, head // 2, head, head + 1, 2**64 - 1}:
                assert (
                    await store.read_history_from(workflow, start) == history[max(start, 1) - 1 :]
                )
                raw = await store.read_history_raw(workflow, start)
                assert raw == await memory.read_history_raw(workflow, start)
            assert await store.read_history_raw(workflow) == await memory.read_history_raw(workflow)
            assert await store.read_run_chain(workflow) == await memory.read_run_chain(workflow)
        assert len(await store.read_run_chain(WorkflowId(W["checkout"]))) == 3
        assert await store.list_active() == await memory.list_active()


@pytest.mark.parametrize("filter", QUERY_FILTERS, ids=repr)
async def test_query_and_pages_equal_in_memory(standard: Any, filter: WorkflowFilter) -> None:
    path, built = standard
    memory = await memory_of(built)
    expected = await memory.query(filter)
    async with RustLibsqlStore.open(path) as store:
        assert await store.query(filter) == expected
        for size in (1, 2, 7, 1000):
            pages: list[Any] = []
            after = None
            while True:
                page = await store.query_page(filter, after, size)
                assert len(page) <= size
                pages += page
                if len(page) < size:
                    break
                after = (page[-1][0].started_at, page[-1][0].workflow_id)
            assert [summary for summary, _ in pages] == expected
            for summary, count in pages:
                assert count == len(await memory.read_history(summary.workflow_id))
        assert await store.query_page(filter, None, 0) == []


async def test_query_page_after_a_key_of_no_workflow(standard: Any) -> None:
    path, built = standard
    memory = await memory_of(built)
    everything = await memory.query(WorkflowFilter())
    async with RustLibsqlStore.open(path) as store:
        for key in [
            (at(3), WorkflowId(wid(0))),
            (at(3), WorkflowId(W["ship"])),  # strictly after: ship itself is left out
            (at(100, 1), UNKNOWN),
            (datetime(1, 1, 1, tzinfo=UTC), UNKNOWN),
            (datetime(9999, 1, 1, tzinfo=UTC), UNKNOWN),
        ]:
            page = await store.query_page(WorkflowFilter(), key, 5)
            want = [
                s for s in everything if (s.started_at, str(s.workflow_id)) > (key[0], str(key[1]))
            ]
            assert [summary for summary, _ in page] == want[:5]


async def test_timers_visibility_packages_equal_in_memory(standard: Any) -> None:
    path, built = standard
    memory = await memory_of(built)
    async with RustLibsqlStore.open(path) as store:
        for as_of in TIMER_TIMES:
            assert await store.expired_timers(as_of) == await memory.expired_timers(as_of)
        assert len(await store.expired_timers(TIMER_TIMES[-1])) == 8
        for filter in LIST_FILTERS:
            assert await store.list_workflows(filter) == await memory.list_workflows(filter), filter
            assert await store.count_workflows(filter) == await memory.count_workflows(filter)
        assert await store.list_packages() == await memory.list_packages()
        assert len(await store.list_packages()) == 4
        assert await store.list_package_routes() == await memory.list_package_routes()


async def test_a_live_engine_keeps_writing(standard: Any) -> None:
    path, _ = standard
    async with RustLibsqlStore.open(path) as store:
        workflow = WorkflowId(wid(0x7777))
        assert await store.read_history(workflow) == []
        engine = RustFile(path)  # "if not exists": the file is reopened as it is
        engine.append(str(workflow), [event("event_WorkflowStarted", str(workflow), 1, stamp(1))])
        engine.close()
        assert len(await store.read_history(workflow)) == 1
        assert workflow in await store.list_active()


# -- the file is never changed ----------------------------------------------------------------


async def read_everything(store: RustLibsqlStore) -> None:
    for workflow in await store.list_workflow_ids():
        await store.read_history(workflow)
        await store.read_history_raw(workflow, 2)
        await store.read_run_chain(workflow)
    await store.list_active()
    await store.query(WorkflowFilter(parent=WorkflowId(W["checkout"])))
    await store.query_page(WorkflowFilter(), None, 10)
    await store.expired_timers(TIMER_TIMES[-1])
    await store.list_workflows(ListWorkflowsFilter())
    await store.count_workflows(ListWorkflowsFilter())
    await store.list_packages()
    await store.list_package_routes()
    with pytest.raises(BackendError):
        await store.append(WriteToken.recorder(), UNKNOWN, [], 0)


async def test_the_file_and_its_directory_are_unchanged(standard: Any) -> None:
    path, _ = standard
    before = snapshot(path.parent)
    assert list(before) == ["engine.db"]
    store = await RustLibsqlStore.open(path)
    await read_everything(store)
    await store.close()
    await store.close()
    assert snapshot(path.parent) == before


async def test_a_wal_file_with_a_live_engine_gains_no_file(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    engine = build_standard(path, journal_mode="wal")  # the engine keeps it open
    names = sorted(entry.name for entry in tmp_path.iterdir())
    assert names == ["engine.db", "engine.db-shm", "engine.db-wal"]
    main = path.read_bytes()
    async with RustLibsqlStore.open(path) as store:
        await read_everything(store)
        assert len(await store.list_workflow_ids()) == 8 + len(GENERATED)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == names
    assert path.read_bytes() == main
    engine.close()


async def test_a_wal_file_no_engine_has_open(tmp_path: Path) -> None:
    """SQLite's WAL protocol needs the -wal and -shm beside the file: with no engine
    running they do not exist. The reader's query_only connection creates them and
    removes them when it closes: the file and its directory end as they were."""
    path = tmp_path / "engine.db"
    build_standard(path, journal_mode="wal").close()
    assert [entry.name for entry in tmp_path.iterdir()] == ["engine.db"]
    main = path.read_bytes()
    async with RustLibsqlStore.open(path) as store:
        await read_everything(store)
        assert len(await store.list_workflow_ids()) == 8 + len(GENERATED)
        with pytest.raises(BackendError, match="read-only"):
            await store.put_package_route("x", "y")
    assert path.read_bytes() == main
    assert [entry.name for entry in tmp_path.iterdir()] == ["engine.db"]


# -- malformed rows: errors naming table, row and workflow ------------------------------------

A = wid(0xA)
B = wid(0xB)


def small_file(path: Path) -> RustFile:
    f = RustFile(path)
    f.history(A, [
        ("event_WorkflowStarted", {"run_id": RUN[1]}),
        ("event_ActivityScheduled", {}),
        ("event_ChildWorkflowStarted", {"child_workflow_id": B}),
        ("event_WorkflowCompleted", {}),
    ], start=0)  # fmt: skip
    f.history(B, [("event_WorkflowStarted", {"run_id": RUN[2]})], start=1)
    f.timer(A, {"Named": "t"}, stamp(5))
    f.visibility({
        "workflow_id": A, "run_id": RUN[1], "workflow_type": "checkout", "status": "Completed",
        "start_time": stamp(0), "close_time": stamp(3), "search_attributes": {},
    })  # fmt: skip
    f.package("checkout", "h", b"archive", stamp(0))
    return f


def event_bytes(vector: str, workflow: str, seq: int, **fields: Any) -> bytes:
    return dump_value(event(vector, workflow, seq, stamp(seq - 1, ".250"), **fields)).encode()


def _unknown_variant() -> bytes:
    obj = event("event_ActivityStarted", A, 2, stamp(1))
    obj["type"] = "ActivityPaused"
    return dump_value(obj).encode()


EVENT_ROW = f'table events, row (workflow_id, seq) = ("{A}", 2), workflow "{A}"'
# (name, statement, parameters, error class, what the message says)
EVENT_MUTATIONS = [
    ("bad JSON", "UPDATE events SET event = ? WHERE seq = 2", (b'{"type": ',), "invalid JSON"),
    ("not UTF-8", "UPDATE events SET event = ? WHERE seq = 2", (b"\xff\xfe",), "invalid UTF-8"),
    (
        "unknown variant",
        "UPDATE events SET event = ? WHERE seq = 2",
        (_unknown_variant(),),
        'unknown event variant "ActivityPaused"',
    ),
    (
        "missing field",
        "UPDATE events SET event = ? WHERE seq = 2",
        (b'{"type":"ActivityScheduled","data":{}}',),
        'missing field "envelope"',
    ),
    (
        "another workflow",
        "UPDATE events SET event = ? WHERE seq = 2",
        (event_bytes("event_ActivityScheduled", B, 2),),
        f"envelope names workflow {B}",
    ),
    (
        "another seq",
        "UPDATE events SET event = ? WHERE seq = 2",
        (event_bytes("event_ActivityScheduled", A, 3),),
        "envelope has seq 3",
    ),
    (
        "event_kind",
        "UPDATE events SET event_kind = 'ActivityStarted' WHERE seq = 2",
        (),
        'column event_kind is "ActivityStarted" but the event is a ActivityScheduled',
    ),
    (
        "is_queryable_event",
        "UPDATE events SET is_queryable_event = 1 WHERE seq = 2",
        (),
        "column is_queryable_event is 1, expected 0",
    ),
    (
        "workflow_type",
        "UPDATE events SET workflow_type = 'x' WHERE seq = 2",
        (),
        'column workflow_type is "x", expected null',
    ),
    (
        "bad timestamp",
        "UPDATE events SET recorded_at = 'yesterday' WHERE seq = 2",
        (),
        'column recorded_at: "yesterday" is not a timestamp',
    ),
    (
        "space timestamp",
        "UPDATE events SET recorded_at = replace(recorded_at, 'T', ' ') WHERE seq = 2",
        (),
        "is not a timestamp in a form the Rust engine writes",
    ),
    (
        "other time",
        "UPDATE events SET recorded_at = '2001-01-01T00:00:00+00:00' WHERE seq = 2",
        (),
        "is not the event's recorded_at",
    ),
    (
        "TEXT event",
        "UPDATE events SET event = CAST(event AS TEXT) WHERE seq = 2",
        (),
        "expected the event's JSON in a BLOB, got TEXT",
    ),
    (
        "not UTF-8 text",
        "UPDATE events SET event_kind = CAST(X'FF41' AS TEXT) WHERE seq = 2",
        (),
        'column event_kind is "\\udcffA"',
    ),
]


@pytest.mark.parametrize(
    ("statement", "parameters", "says"),
    [mutation[1:] for mutation in EVENT_MUTATIONS],
    ids=[mutation[0] for mutation in EVENT_MUTATIONS],
)
async def test_a_malformed_event_row(
    tmp_path: Path, statement: str, parameters: tuple[Any, ...], says: str
) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    f.connection.execute(statement, parameters)
    f.close()
    async with RustLibsqlStore.open(path) as store:
        for read in (store.read_history(WorkflowId(A)), store.read_history_from(WorkflowId(A), 2)):
            with pytest.raises(SerializationError) as caught:
                await read
            assert EVENT_ROW in str(caught.value) and "engine.db" in str(caught.value)
            assert says in str(caught.value)
        assert len(await store.read_history_from(WorkflowId(A), 3)) == 2


LIFECYCLE_ROW = f'table events, row (workflow_id, seq) = ("{A}", 4), workflow "{A}"'


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET event_kind = 'WorkflowFailed' WHERE seq = 4",
        "UPDATE events SET recorded_at = '2024-05-01T12:00:03Z+' WHERE seq = 4",
        "UPDATE events SET event = X'7B' WHERE seq = 4",
    ],
)
async def test_a_malformed_lifecycle_row_fails_every_projection(
    tmp_path: Path, statement: str
) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    f.connection.execute(statement)
    f.close()
    async with RustLibsqlStore.open(path) as store:
        for read in (
            store.list_active(),
            store.query(WorkflowFilter()),
            store.query_page(WorkflowFilter(), None, 10),
            store.read_run_chain(WorkflowId(A)),
        ):
            with pytest.raises(SerializationError, match=r"engine\.db") as caught:
                await read
            assert LIFECYCLE_ROW in str(caught.value)


async def test_an_unknown_lifecycle_variant_is_reported_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    paused = event("event_WorkflowCancelled", A, 4, stamp(3))
    paused["type"] = "WorkflowPaused"
    f.connection.execute(
        "UPDATE events SET event = ?, event_kind = 'WorkflowPaused' WHERE workflow_id = ? "
        "AND seq = 4",
        (dump_value(paused).encode(), A),
    )
    f.close()
    async with RustLibsqlStore.open(path) as store:
        for read in (
            store.query(WorkflowFilter(status=WorkflowStatus.RUNNING)),
            store.query_page(WorkflowFilter(status=WorkflowStatus.COMPLETED), None, 5),
            store.list_active(),
            store.read_run_chain(WorkflowId(A)),
        ):
            with pytest.raises(SerializationError, match="unknown event variant") as caught:
                await read
            assert LIFECYCLE_ROW in str(caught.value)


async def test_a_malformed_start_time_is_reported_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    f.connection.execute("UPDATE events SET recorded_at = 'soon' WHERE workflow_id = ?", (B,))
    f.close()
    row = f'table events, row (workflow_id, seq) = ("{B}", 1), workflow "{B}"'
    async with RustLibsqlStore.open(path) as store:
        for filter in (WorkflowFilter(), WorkflowFilter(started_after=at(100))):
            for read in (store.query(filter), store.query_page(filter, (at(50), UNKNOWN), 5)):
                with pytest.raises(SerializationError, match="recorded_at") as caught:
                    await read
                assert row in str(caught.value)


async def test_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    f.connection.execute("DELETE FROM events WHERE workflow_id = ? AND seq = 2", (A,))
    f.close()
    async with RustLibsqlStore.open(path) as store:
        for read in (
            store.read_history(WorkflowId(A)),
            store.read_history_from(WorkflowId(A), 2),
            store.query_page(WorkflowFilter(workflow_type="checkout"), None, 5),
        ):
            with pytest.raises(BackendError, match="seq 2 is missing") as caught:
                await read
            assert f'row (workflow_id, seq) = ("{A}", 3), workflow "{A}"' in str(caught.value)
        assert len(await store.read_history_from(WorkflowId(A), 3)) == 2


async def test_a_parent_link_whose_json_names_another_child(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    other = event_bytes("event_ChildWorkflowStarted", A, 3, child_workflow_id=wid(0xC))
    f.connection.execute(
        "UPDATE events SET event = ? WHERE workflow_id = ? AND seq = 3", (other, A)
    )
    f.close()
    async with RustLibsqlStore.open(path) as store:
        for filter in (WorkflowFilter(), WorkflowFilter(parent=WorkflowId(A))):
            with pytest.raises(SerializationError, match="column child_workflow_id") as caught:
                await store.query(filter)
            assert f'("{A}", 3), workflow "{A}"' in str(caught.value)


# (table, statement, what the message says: row key and workflow)
OTHER_MUTATIONS = [
    ("timers", 'UPDATE timers SET timer_id = \'{"Named":""}\'', "timer name must not be empty"),
    ("timers", "UPDATE timers SET timer_id = '{\"Other\":1}'", 'unknown variant "Other"'),
    ("timers", "UPDATE timers SET timer_id = '{\"Anonymous\":-1}'", "expected unsigned"),
    ("timers", 'UPDATE timers SET timer_id = \'{ "Named": "t" }\'', "not the JSON the Rust"),
    ("timers", "UPDATE timers SET workflow_id = json_extract(workflow_id, '$')", "workflow_id"),
    ("timers", "UPDATE timers SET fire_at = '2024-05-01T12:00:05.1Z'", "column fire_at"),
    ("visibility", "UPDATE visibility SET status = '\"Paused\"'", 'unknown variant "Paused"'),
    ("visibility", "UPDATE visibility SET status = 'Completed'", "invalid JSON"),
    (
        "visibility",
        'UPDATE visibility SET search_attributes = \'{"a":{"type":"Decimal","data":1}}\'',
        'unknown variant "Decimal"',
    ),
    ("visibility", "UPDATE visibility SET start_time = '12:00'", "column start_time"),
    ("visibility", "UPDATE visibility SET close_time = 3", "column close_time"),
    ("visibility", "UPDATE visibility SET run_id = 'x'", "column run_id"),
    ("visibility", "UPDATE visibility SET workflow_id = upper(workflow_id)", "column workflow_id"),
    ("packages", "UPDATE packages SET deployed_at = 'now'", "column deployed_at"),
    ("packages", "UPDATE packages SET archive = 'text'", "column archive"),
    ("packages", "UPDATE packages SET content_hash = CAST(X'FF' AS TEXT)", "valid Unicode"),
    ("package_routes", "UPDATE package_routes SET content_hash = X'41'", "content_hash"),
]


@pytest.mark.parametrize(("table", "statement", "says"), OTHER_MUTATIONS)
async def test_a_malformed_row_of_another_table(
    tmp_path: Path, table: str, statement: str, says: str
) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    f.connection.execute(statement)
    f.close()
    async with RustLibsqlStore.open(path) as store:
        read = {
            "timers": lambda: store.expired_timers(at(10_000)),
            "visibility": lambda: store.list_workflows(ListWorkflowsFilter()),
            "packages": store.list_packages,
            "package_routes": store.list_package_routes,
        }[table]
        with pytest.raises(SerializationError) as caught:
            await read()
        message = str(caught.value)
        assert f"engine.db: table {table}, row " in message and says in message
        if table in ("timers", "visibility") and "workflow_id" not in statement:
            assert f"workflow {A}" in message
        if table == "visibility":
            with pytest.raises(SerializationError):
                await store.count_workflows(ListWorkflowsFilter())


# -- files this reader refuses -----------------------------------------------------------------


async def assert_refused(path: Path, *says: str) -> None:
    before = snapshot(path.parent)
    with pytest.raises(BackendError) as caught:
        await RustLibsqlStore.open(path)
    for part in (str(path), *says):
        assert part in str(caught.value)
    assert snapshot(path.parent) == before


@pytest.mark.parametrize(
    ("statements", "says"),
    [
        (["CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload BLOB)"], ["table outbox"]),
        (
            ["CREATE TABLE namespaces (name TEXT)", "CREATE TABLE outbox (id INTEGER)"],
            ["table namespaces, table outbox"],
        ),
        (
            [
                "ALTER TABLE visibility ADD COLUMN failed_step TEXT",
                "ALTER TABLE visibility ADD COLUMN failure_reason TEXT",
            ],
            ["column visibility.failed_step, column visibility.failure_reason"],
        ),
        (["PRAGMA user_version = 2"], ["PRAGMA user_version 2"]),
    ],
)
async def test_a_later_version_is_refused(
    tmp_path: Path, statements: list[str], says: list[str]
) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    for statement in statements:
        f.connection.execute(statement)
    f.close()
    await assert_refused(path, "written by a later version of the Rust engine", *says)
    await assert_refused(path, "this reader knows the version of RUST_LIBSQL.md")


@pytest.mark.parametrize(
    ("statements", "says"),
    [
        (["DROP TABLE package_routes"], ["missing table package_routes"]),
        (["DROP INDEX idx_events_queryable_filter"], ["missing index idx_events_queryable"]),
        (
            [
                "DROP INDEX idx_events_queryable_filter",
                "ALTER TABLE events DROP COLUMN child_workflow_id",
                "CREATE TABLE outbox (x)",
            ],
            ["missing column events.child_workflow_id", "unknown: table outbox"],
        ),
        (
            ["DROP TABLE packages", "CREATE TABLE packages (workflow_type TEXT, "
             "content_hash TEXT, archive TEXT, deployed_at TEXT)"],
            ["column packages.archive BLOB (it is TEXT)"],
        ),
        (
            ["DROP TABLE events", "CREATE TABLE events (workflow_id TEXT, seq INTEGER, "
             "event BLOB, recorded_at TEXT, event_kind TEXT, is_queryable_event INTEGER, "
             "workflow_type TEXT, child_workflow_id TEXT, PRIMARY KEY (workflow_id, seq)) "
             "WITHOUT ROWID",
             "CREATE INDEX idx_events_queryable_filter ON events (is_queryable_event, "
             "workflow_id, seq, event_kind, workflow_type, recorded_at, child_workflow_id)"],
            ["WITHOUT ROWID"],
        ),
    ],
)  # fmt: skip
async def test_an_incomplete_file_is_refused(
    tmp_path: Path, statements: list[str], says: list[str]
) -> None:
    path = tmp_path / "engine.db"
    f = small_file(path)
    for statement in statements:
        f.connection.execute(statement)
    f.close()
    await assert_refused(path, *says)


async def test_files_that_are_not_rust_engine_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, not at all" * 100)
    await assert_refused(junk, "not a SQLite database")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    await assert_refused(empty, "none of the tables", "it has no tables")
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()
    await assert_refused(other, "none of the tables events, timers", "its tables are notes")
    foreign = tmp_path / "foreign.db"
    small_file(foreign).close()
    connection = sqlite3.connect(foreign)
    connection.execute("PRAGMA application_id = 7")
    connection.close()
    await assert_refused(foreign, "another application (application_id 0x7)")
    ours = tmp_path / "ours.db"
    await (await SqliteStore.open(ours)).close()
    await assert_refused(ours, "aion-store SqliteStore database", "open it with SqliteStore")


async def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no such file") as caught:
        await RustLibsqlStore.open(tmp_path / "missing.db")
    assert str(tmp_path / "missing.db") in str(caught.value)
    with pytest.raises(BackendError, match="is a directory"):
        await RustLibsqlStore.open(tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError):
        RustLibsqlStore.open(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RustLibsqlStore.open("")
    with pytest.raises(ValueError):
        RustLibsqlStore.open("x.db", timeout=-1)


# -- closed, read-only, arguments ---------------------------------------------------------------

READS: list[tuple[str, tuple[Any, ...]]] = [
    ("read_history", (UNKNOWN,)),
    ("read_history_from", (UNKNOWN, 1)),
    ("read_history_raw", (UNKNOWN,)),
    ("read_run_chain", (UNKNOWN,)),
    ("list_workflow_ids", ()),
    ("list_active", ()),
    ("query", (WorkflowFilter(),)),
    ("query_page", (WorkflowFilter(), None, 5)),
    ("expired_timers", (BASE,)),
    ("list_workflows", (ListWorkflowsFilter(),)),
    ("count_workflows", (ListWorkflowsFilter(),)),
    ("list_packages", ()),
    ("list_package_routes", ()),
]
WRITES: list[tuple[str, tuple[Any, ...]]] = [
    ("append", (WriteToken.recorder(), UNKNOWN, [], 0)),
    ("schedule_timer", (UNKNOWN, TimerId.named("t"), BASE)),
    ("record_visibility", (None,)),
    ("put_package", (None,)),
    ("delete_package", ("t", "h")),
    ("put_package_route", ("t", "h")),
]


async def test_writes_are_refused_and_a_closed_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    small_file(path).close()
    before = snapshot(tmp_path)
    async with RustLibsqlStore.open(path) as store:
        assert "open" in repr(store)
        for method, arguments in WRITES:
            with pytest.raises(BackendError, match="read-only") as caught:
                await getattr(store, method)(*arguments)
            assert f"rust-libsql {path}" in str(caught.value) and method in str(caught.value)
    assert "closed" in repr(store)
    await store.close()  # again: nothing happens
    for method, arguments in READS + WRITES:
        with pytest.raises(BackendError, match="the store is closed"):
            await getattr(store, method)(*arguments)
        with pytest.raises(BackendError, match="the store is closed"):  # before the arguments
            await getattr(store, method)(*(["bad"] * len(arguments)))
    assert snapshot(tmp_path) == before


async def test_arguments_are_checked_like_every_store(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    small_file(path).close()
    async with RustLibsqlStore.open(path) as store:
        memory = InMemoryStore()
        for call in (
            lambda s: s.read_history(str(UNKNOWN)),
            lambda s: s.read_history_from(UNKNOWN, -1),
            lambda s: s.read_history_raw(UNKNOWN, "1"),
            lambda s: s.read_run_chain(None),
            lambda s: s.query(None),
            lambda s: s.expired_timers(datetime(2024, 1, 1)),
            lambda s: s.list_workflows(WorkflowFilter()),
            lambda s: s.count_workflows(None),
        ):
            with pytest.raises((TypeError, ValueError)) as ours:
                await call(store)
            with pytest.raises(type(ours.value)) as theirs:
                await call(memory)
            assert str(ours.value) == str(theirs.value)
        for after, limit in [
            ((BASE,), 1),
            ((BASE, str(UNKNOWN)), 1),
            ((datetime(2024, 1, 1), UNKNOWN), 1),
            (None, -1),
            (None, 1.5),
        ]:
            with pytest.raises((TypeError, ValueError)):
                await store.query_page(WorkflowFilter(), after, limit)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await store.query_page(None, None, 1)  # type: ignore[arg-type]


async def test_concurrent_reads_and_close(standard: Any) -> None:
    path, built = standard
    memory = await memory_of(built)
    store = await RustLibsqlStore.open(path)
    ids = await memory.list_workflow_ids()
    reads = [store.read_history(workflow) for workflow in ids]
    results = await asyncio.gather(*reads, store.query(WorkflowFilter()))
    assert results[:-1] == [await memory.read_history(workflow) for workflow in ids]
    pending = asyncio.ensure_future(store.list_active())
    await asyncio.sleep(0)
    await store.close()  # waits for the call in flight
    assert await pending == await memory.list_active()


def test_the_fixture_writes_what_the_document_says(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    small_file(path).close()
    connection = sqlite3.connect(path)
    row = connection.execute(
        "SELECT workflow_id, seq, typeof(event), recorded_at, event_kind, is_queryable_event, "
        "workflow_type, child_workflow_id FROM events WHERE seq = 3"
    ).fetchone()
    assert row == (A, 3, "blob", "2024-05-01T12:00:02.250500+00:00", "ChildWorkflowStarted", 1,
                   "shipment", B)  # fmt: skip
    timer = connection.execute("SELECT * FROM timers").fetchone()
    assert timer == (json.dumps(A), '{"Named":"t"}', "2024-05-01T12:00:05.000000000Z")
    status = connection.execute("SELECT status, start_time FROM visibility").fetchone()
    assert status == ('"Completed"', "2024-05-01T12:00:00.000000000Z")
    connection.close()
    assert os.path.getsize(path) > 0


async def test_the_most_recently_appended_child_start_names_the_parent(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    f = RustFile(path)
    child, first, second = wid(0xC), wid(0xF1), wid(0xF2)
    f.history(child, [("event_WorkflowStarted", {"run_id": RUN[1]})], start=0)
    for parent, start in ((first, 1), (second, 2), (first, 3)):
        if parent not in f.heads:
            f.history(parent, [("event_WorkflowStarted", {"run_id": RUN[2]})], start=start)
        f.history(parent, [("event_ChildWorkflowStarted", {"child_workflow_id": child})], start)
    f.close()
    memory = await memory_of(f)
    async with RustLibsqlStore.open(path) as store:
        summaries = await store.query(WorkflowFilter())
        assert summaries == await memory.query(WorkflowFilter())
        assert [s.parent for s in summaries if str(s.workflow_id) == child] == [WorkflowId(first)]
        for parent in (first, second):
            filter = WorkflowFilter(parent=WorkflowId(parent))
            assert await store.query(filter) == await memory.query(filter)


async def test_it_is_a_readable_store_of_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "engine.db"
    small_file(path).close()
    async with RustLibsqlStore.open(path) as store:
        for protocol in (ReadableEventStore, EventStore, VisibilityStore, PackageStore):
            assert isinstance(store, protocol)
