"""``PostgresStore`` (SPEC §14) against a real PostgreSQL server the tests start themselves
(``tests/postgres_server.py``; without server binaries these tests skip with one line
saying what to install, and under ``CI=true`` they fail).

The contract, a differential run against ``InMemoryStore``, reopening, schemas, bad
schemas, a server that is down, killed and restarted, statement timeouts, group commit
and strings PostgreSQL's text could not hold. Crash safety and many writing processes
are in ``test_processes.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize

from aion_store import (
    BackendError,
    InMemoryStore,
    ListWorkflowsFilter,
    PackageRecord,
    RunId,
    SearchAttributePredicate,
    SequenceConflict,
    TimerId,
    VisibilityRecord,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
)
from aion_store.conformance import run_event_store_suite
from conftest import start_postgres
from strategies import workflow_ids
from test_differential import (
    CACHE_SIZES,
    DifferentialMachine,
    Outcome,
    _naming_the_call,
    _same_outcome,
)
from test_sqlite import AT, CALLS, TOKEN, fill, history, signal, snapshot, started

asyncpg = pytest.importorskip("asyncpg")
from aion_store.postgres import SCHEMA_VERSION, PostgresStore, _setup_connection  # noqa: E402


async def test_conformance_suite(postgres_dsn: str, schema: str) -> None:
    stores: list[PostgresStore] = []

    async def make() -> PostgresStore:
        store = await PostgresStore.connect(postgres_dsn, schema=f"{schema}_{len(stores)}")
        stores.append(store)
        return store

    try:
        await run_event_store_suite(make)
    finally:
        for store in stores:
            await store.close()
    assert len(stores) >= 50  # a fresh schema per scenario


class PostgresMachine(DifferentialMachine):
    """The differential machine with a ``PostgresStore`` beside the in-memory engines."""

    dsn = ""
    counter = 0

    def __init__(self) -> None:
        super().__init__()
        self.postgres: PostgresStore | None = None

    def teardown(self) -> None:
        if self.postgres is not None:
            self.loop.run_until_complete(self.postgres.close())
        super().teardown()

    @initialize(
        pool=st.lists(workflow_ids(), min_size=4, max_size=6, unique=True),
        cache=st.sampled_from(CACHE_SIZES),
        data=st.data(),
    )
    def setup(self, pool: list[WorkflowId], cache: int, data: st.DataObject) -> None:
        PostgresMachine.counter += 1
        self.postgres = self.loop.run_until_complete(
            PostgresStore.connect(
                self.dsn,
                schema=f"machine_{id(self)}_{PostgresMachine.counter}",
                max_connections=4,
                decoded_cache_bytes=cache,
            )
        )
        DifferentialMachine.setup(self, pool, cache, data)

    def both(self, method: str, *args: Any) -> Outcome:
        memory = super().both(method, *args)
        durable = self._run(self.postgres, method, args)  # type: ignore[arg-type]
        with _naming_the_call(method, args):
            _same_outcome(memory, durable, method, ("memory", "postgres"))
        return memory


PostgresMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
def test_postgres_agrees_with_memory(postgres_dsn: str) -> None:
    PostgresMachine.dsn = postgres_dsn
    PostgresMachine.TestCase().runTest()


# -- schemas, reopening ---------------------------------------------------------------------


async def test_reconnecting_gives_everything_back(postgres_dsn: str, schema: str) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        await fill(store)
        written = await snapshot(store)
    memory = InMemoryStore()
    await fill(memory)
    assert written == await snapshot(memory)
    async with PostgresStore.connect(postgres_dsn, schema=schema, max_connections=2) as store:
        assert await snapshot(store) == written


async def test_two_schemas_are_independent(postgres_dsn: str, schema: str) -> None:
    async with (
        PostgresStore.connect(postgres_dsn, schema=schema + "_a") as one,
        PostgresStore.connect(postgres_dsn, schema=schema + "_b") as two,
    ):
        workflow_id = WorkflowId.new_v4()
        await one.append(TOKEN, workflow_id, history(workflow_id, 3), 0)
        await one.schedule_timer(workflow_id, TimerId.named("t"), AT)
        assert await two.list_workflow_ids() == []
        assert await two.expired_timers(AT) == []
        await two.append(TOKEN, workflow_id, history(workflow_id, 1), 0)
        assert len(await one.read_history(workflow_id)) == 3
        assert len(await two.read_history(workflow_id)) == 1


async def schema_state(dsn: str, schema: str) -> list[Any]:
    connection = await asyncpg.connect(dsn)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema
        )
        state = [tuple(row) for row in tables]
        if ("schema_version",) in state:
            state.append(
                await connection.fetchval(f'SELECT version FROM "{schema}".schema_version')
            )
        return state
    finally:
        await connection.close()


async def test_a_newer_schema_is_refused_untouched(postgres_dsn: str, schema: str) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        await fill(store)
    connection = await asyncpg.connect(postgres_dsn)
    await connection.execute(f'UPDATE "{schema}".schema_version SET version = {SCHEMA_VERSION + 1}')
    await connection.close()
    before = await schema_state(postgres_dsn, schema)
    with pytest.raises(BackendError, match=f"schema version {SCHEMA_VERSION + 1}"):
        await PostgresStore.connect(postgres_dsn, schema=schema)
    assert await schema_state(postgres_dsn, schema) == before


async def _version_1_schema(dsn: str, schema: str) -> list[WorkflowId]:
    """A schema made by version 1's DDL alone, filled through version 1's append function
    (a store object over it, made without connect(), which would migrate it)."""
    from aion_store._postgres.schema import MIGRATIONS, quote
    from aion_store.postgres import _Options, _reset_connection

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"CREATE SCHEMA {quote(schema)}")
        await connection.execute(MIGRATIONS[0].format(s=quote(schema)))
        await connection.execute(f"UPDATE {quote(schema)}.schema_version SET version = 1")
    finally:
        await connection.close()
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=2, init=_setup_connection, reset=_reset_connection
    )
    store = PostgresStore(pool, schema, _Options(1, 2, 60.0, 0, False, True))
    try:
        await fill(store)
        return await store.list_workflow_ids()
    finally:
        await store.close()


async def test_a_schema_of_version_1_is_migrated_forward(postgres_dsn: str, schema: str) -> None:
    ids = await _version_1_schema(postgres_dsn, schema)
    async with PostgresStore.connect(postgres_dsn, schema=schema, read_only=True) as old:
        before = await snapshot(old)
        assert before["ids"] == ids and ids
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        assert await snapshot(store) == before
        workflow_id = WorkflowId.new_v4()
        await store.append(TOKEN, workflow_id, history(workflow_id, 3), 0)  # version 2's
        assert len(await store.read_history(workflow_id)) == 3
    connection = await asyncpg.connect(postgres_dsn)
    try:
        version = await connection.fetchval(f'SELECT version FROM "{schema}".schema_version')
        index = await connection.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
            schema,
            "workflows_by_status",
        )
    finally:
        await connection.close()
    assert version == SCHEMA_VERSION == 2
    assert index is not None and "(status, started_at, workflow_id)" in index


async def test_a_read_only_store_reads_a_version_1_schema_as_it_is(
    postgres_dsn: str, schema: str
) -> None:
    ids = await _version_1_schema(postgres_dsn, schema)
    before = await schema_state(postgres_dsn, schema)
    async with PostgresStore.connect(postgres_dsn, schema=schema, read_only=True) as store:
        assert await store.list_workflow_ids() == ids
    assert await schema_state(postgres_dsn, schema) == before
    connection = await asyncpg.connect(postgres_dsn)
    try:
        assert await connection.fetchval(f'SELECT version FROM "{schema}".schema_version') == 1
    finally:
        await connection.close()


async def test_query_by_status_reads_the_index_in_its_order(postgres_dsn: str, schema: str) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        await fill(store)
        sql, parameters = store._sql.query(WorkflowFilter(status=WorkflowStatus.RUNNING))
        connection = await asyncpg.connect(postgres_dsn)
        try:
            await _setup_connection(connection)
            # The tables are tiny: make every other way dearer, so that the plan shows
            # whether an index can give the rows in the query's order at all.
            await connection.execute(
                "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off"
            )
            await connection.execute("SET plan_cache_mode = force_generic_plan")
            statement = await connection.prepare(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in await statement.fetch(*parameters))
        finally:
            await connection.close()
    assert "workflows_by_status" in plan and "Sort" not in plan, plan


async def test_a_schema_of_another_application_is_refused_untouched(
    postgres_dsn: str, schema: str
) -> None:
    connection = await asyncpg.connect(postgres_dsn)
    await connection.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".accounts (id int)')
    await connection.close()
    before = await schema_state(postgres_dsn, schema)
    with pytest.raises(
        BackendError, match=rf"schema '{schema}' is not an aion-store schema \(tables: accounts\)"
    ):
        await PostgresStore.connect(postgres_dsn, schema=schema)
    assert await schema_state(postgres_dsn, schema) == before


async def test_stores_connecting_at_once_create_the_schema_once(
    postgres_dsn: str, schema: str
) -> None:
    stores = await asyncio.gather(
        *(PostgresStore.connect(postgres_dsn, schema=schema, min_connections=0) for _ in range(6))
    )
    for store in stores:
        await store.close()
    assert await schema_state(postgres_dsn, schema) == [
        *[
            (table,)
            for table in sorted(
                [
                    "children",
                    "events",
                    "package_routes",
                    "packages",
                    "runs",
                    "schema_version",
                    "timers",
                    "visibility",
                    "workflows",
                ]
            )
        ],
        SCHEMA_VERSION,
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"schema": ""}, "schema must be a name"),
        ({"schema": "x" * 64}, "schema must be a name"),
        ({"schema": "a\x00b"}, "NUL"),
        ({"min_connections": 5, "max_connections": 2}, "min_connections <= max_connections"),
        ({"max_connections": 0}, "max_connections >= 1"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_bad_connect_arguments(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresStore.connect("postgresql://nowhere/x", **arguments)


async def test_a_server_that_is_not_there_is_a_backend_error(tmp_path: Any) -> None:
    dsn = f"postgresql://postgres@/postgres?host={tmp_path}&port=5432"
    with pytest.raises(BackendError, match="connect failed") as caught:
        await PostgresStore.connect(dsn)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(("method", "arguments"), CALLS, ids=[call[0] for call in CALLS])
async def test_a_closed_store_refuses_every_call_before_checking_arguments(
    postgres_dsn: str, schema: str, method: str, arguments: tuple[Any, ...]
) -> None:
    store = await PostgresStore.connect(postgres_dsn, schema=schema)
    await store.close()
    await store.close()
    with pytest.raises(BackendError, match="the store is closed"):
        await getattr(store, method)(*arguments)


# -- failures of the server ------------------------------------------------------------------


@pytest.fixture
def own_server() -> Iterator[Any]:
    """A server of this test's own, which it may crash."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.mark.slow
async def test_a_server_crash_fails_calls_in_flight_and_the_store_recovers(own_server: Any) -> None:
    store = await PostgresStore.connect(own_server.dsn, schema="crash", max_connections=4)
    workflows = [WorkflowId.new_v4() for _ in range(8)]
    acknowledged = dict.fromkeys(workflows, 0)
    failures: list[BaseException] = []

    async def writer(workflow_id: WorkflowId) -> None:
        head = 0
        while True:
            batch = [signal(workflow_id, head + 1 + index) for index in range(3)]
            try:
                await store.append(TOKEN, workflow_id, batch, head)
            except BackendError as error:
                failures.append(error)
                return
            head += 3
            acknowledged[workflow_id] = head

    tasks = [asyncio.ensure_future(writer(workflow_id)) for workflow_id in workflows]
    await asyncio.sleep(0.3)
    await asyncio.to_thread(own_server.crash)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert len(failures) == len(workflows)
    assert all(isinstance(error.__cause__, BaseException) for error in failures)
    with pytest.raises(BackendError):
        await store.list_workflow_ids()  # the server is down
    await asyncio.to_thread(own_server.restart)
    # The same store object works again, and nothing is half there.
    for workflow_id in workflows:
        events = await store.read_history(workflow_id)
        assert len(events) % 3 == 0 and len(events) >= acknowledged[workflow_id]
        assert [event.seq for event in events] == list(range(1, len(events) + 1))
        head = len(events)
        await store.append(TOKEN, workflow_id, [signal(workflow_id, head + 1)], head)
    await store.close()


async def test_a_statement_over_the_timeout_is_a_backend_error(
    postgres_dsn: str, schema: str
) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema, timeout=0.5) as store:
        workflow_id = WorkflowId.new_v4()
        await store.append(TOKEN, workflow_id, history(workflow_id, 1), 0)
        blocker = await asyncpg.connect(postgres_dsn)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(f'LOCK TABLE "{schema}".workflows IN ACCESS EXCLUSIVE MODE')
        with pytest.raises(BackendError, match="TimeoutError") as caught:
            await store.append(TOKEN, workflow_id, [signal(workflow_id, 2)], 1)
        assert isinstance(caught.value.__cause__, asyncio.TimeoutError)
        await transaction.rollback()
        await blocker.close()
        assert len(await store.read_history(workflow_id)) == 1  # wholly absent
        await store.append(TOKEN, workflow_id, [signal(workflow_id, 2)], 1)


# -- group commit, freshness, strings --------------------------------------------------------


async def test_group_commit_leaves_no_request_without_a_drain() -> None:
    """One task submitting one request after another, each woken by the drain that
    committed the one before: with every lane taken by that finishing drain, the next
    request must still find a drain (it used to wait forever)."""
    from aion_store._postgres.group import GroupCommit

    commits: list[list[int]] = []

    async def commit(requests: list[int]) -> list[str]:
        commits.append(list(requests))
        await asyncio.sleep(0)
        return [f"stored {request}" for request in requests]

    group: GroupCommit[int] = GroupCommit(commit, lambda request: request, lanes=1)

    async def one_after_another() -> list[str]:
        return [await group.submit(index) for index in range(5)]

    assert await asyncio.wait_for(one_after_another(), 5) == [f"stored {i}" for i in range(5)]
    assert commits == [[0], [1], [2], [3], [4]]
    await group.wait()


async def test_a_store_of_two_connections_appends_one_after_another(
    postgres_dsn: str, schema: str
) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema, max_connections=2) as store:
        await asyncio.wait_for(fill(store), 30)
        assert len(await store.list_workflow_ids()) == 2


async def test_concurrent_appends_share_commits_and_keep_their_own_outcomes(
    postgres_dsn: str, schema: str
) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        groups: list[int] = []
        commit = store._appends._commit

        async def counting(requests: list[Any]) -> list[int]:
            groups.append(len(requests))
            return await commit(requests)

        store._appends._commit = counting  # type: ignore[method-assign]
        workflows = [WorkflowId.new_v4() for _ in range(100)]
        conflicted, bad = workflows[0], workflows[1]
        await store.append(TOKEN, conflicted, history(conflicted, 1), 0)
        groups.clear()
        calls = [store.append(TOKEN, w, history(w, 1), 0) for w in workflows[2:]]
        # A stale but well-formed batch (conflict found in the group's statement), a stale
        # malformed one (the head is checked first), a malformed one (nothing written).
        calls.append(store.append(TOKEN, conflicted, history(conflicted, 1), 0))
        calls.append(store.append(TOKEN, conflicted, [signal(conflicted, 2)], 5))
        calls.append(store.append(TOKEN, bad, [signal(bad, 2)], 0))
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert results[:98] == [None] * 98
        assert isinstance(results[98], SequenceConflict) and results[98].found == 1
        assert isinstance(results[99], SequenceConflict) and results[99].found == 1
        assert isinstance(results[100], BackendError) and "events[0] has seq 2" in str(results[100])
        assert sum(groups) == 99 and len(groups) < 20, groups  # fewer commits than appends
        assert len(await store.list_workflow_ids()) == 99


async def test_reads_see_what_another_store_appended(postgres_dsn: str, schema: str) -> None:
    async with (
        PostgresStore.connect(postgres_dsn, schema=schema) as one,
        PostgresStore.connect(postgres_dsn, schema=schema) as two,
    ):
        workflow_id = WorkflowId.new_v4()
        await one.append(TOKEN, workflow_id, history(workflow_id, 3), 0)
        assert len(await two.read_history(workflow_id)) == 3
        await one.append(TOKEN, workflow_id, [signal(workflow_id, 4)], 3)
        assert [e.seq for e in await two.read_history(workflow_id)] == [1, 2, 3, 4]
        with pytest.raises(SequenceConflict) as caught:
            await two.append(TOKEN, workflow_id, [signal(workflow_id, 4)], 3)
        assert caught.value.found == 4


NASTY = ["a\x00b", "\x00", "\x01", "a\x01\x02b", "é\x00", ""]


async def test_strings_postgres_text_could_not_hold(postgres_dsn: str, schema: str) -> None:
    memory = InMemoryStore()
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        for index, text in enumerate(NASTY):
            workflow_id = WorkflowId.new_v4()
            run_id = RunId.new_v4()
            for target in (store, memory):
                await target.append(
                    TOKEN, workflow_id, [started(workflow_id, workflow_type=text, run_id=run_id)], 0
                )
                if text:
                    await target.schedule_timer(
                        workflow_id, TimerId.named(text), AT + timedelta(seconds=index)
                    )
                await target.record_visibility(
                    VisibilityRecord(
                        workflow_id,
                        run_id,
                        text,
                        WorkflowStatus.RUNNING,
                        AT,
                        None,
                        {text: text, "k" + text: (text, "x"), "n": index},
                    )
                )
                await target.put_package(PackageRecord(text, text + "h", b"\x00", AT))
        assert await store.query(WorkflowFilter()) == await memory.query(WorkflowFilter())
        for text in NASTY:
            assert await store.query(WorkflowFilter(workflow_type=text)) == await memory.query(
                WorkflowFilter(workflow_type=text)
            )
            for predicate in (
                SearchAttributePredicate.Equals(text, text),
                SearchAttributePredicate.Contains("k" + text, text),
                SearchAttributePredicate.Equals("k" + text, (text, "x")),
                SearchAttributePredicate.Equals("k" + text, (text,)),
            ):
                chosen = ListWorkflowsFilter(search_attributes=(predicate,))
                assert await store.list_workflows(chosen) == await memory.list_workflows(chosen), (
                    predicate
                )
        far = AT + timedelta(days=1)
        assert await store.expired_timers(far) == await memory.expired_timers(far)
        assert await store.list_packages() == await memory.list_packages()
        assert await store.list_package_routes() == await memory.list_package_routes()


async def test_visibility_predicates_run_in_sql_with_strict_types(
    postgres_dsn: str, schema: str
) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        memory = InMemoryStore()
        values = [1, 1.0, True, "1", ("1", "2"), AT, 2, 0.5, False, ("2",), -0.0, 1e300, 2**63 - 1]
        for value in values:
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
            Predicate.Equals("x", 0.0),
            Predicate.Equals("x", 2**63 - 1),
            Predicate.GreaterThan("x", 1),
            Predicate.GreaterThan("x", 0.7),
            Predicate.LessThan("x", 2),
            Predicate.GreaterThan("x", 1e299),
            Predicate.GreaterThan("x", "0"),
            Predicate.GreaterThan("x", False),
            Predicate.Contains("x", "2"),
            Predicate.Contains("x", "1"),
            Predicate.LessThan("x", AT + timedelta(1)),
            Predicate.Equals("y", 1),
            Predicate.LessThan("x", 0.1),
            Predicate.GreaterThan("x", 2**63 - 2),
        ]:
            chosen = ListWorkflowsFilter(search_attributes=(predicate,))
            assert await store.list_workflows(chosen) == await memory.list_workflows(chosen), (
                predicate
            )
            assert await store.count_workflows(chosen) == await memory.count_workflows(chosen)


# -- read-only use and paged queries ------------------------------------------------------------


async def test_query_pages_are_the_query_in_order_with_event_counts(
    postgres_dsn: str, schema: str
) -> None:
    from test_sqlite import fill_for_pages, pages

    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        expected = await fill_for_pages(store)
        for limit in (1, 7, 25, 100):
            assert await pages(store, WorkflowFilter(), limit) == expected


async def test_a_read_only_store_reads_and_refuses_writes(postgres_dsn: str, schema: str) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema) as store:
        await fill(store)
        written = await snapshot(store)
    before = await schema_state(postgres_dsn, schema)
    async with PostgresStore.connect(postgres_dsn, schema=schema, read_only=True) as store:
        assert await snapshot(store) == written
        with pytest.raises(BackendError, match="opened read-only"):
            await store.append(TOKEN, WorkflowId.new_v4(), [], 0)
        with pytest.raises(BackendError, match="opened read-only"):
            await store.put_package_route("x", "y")
    assert await schema_state(postgres_dsn, schema) == before
    with pytest.raises(BackendError, match="holds no aion-store store"):
        await PostgresStore.connect(postgres_dsn, schema=schema + "_missing", read_only=True)
    assert await schema_state(postgres_dsn, schema + "_missing") == []


async def test_without_group_commit_every_append_has_its_own_statement(
    postgres_dsn: str, schema: str
) -> None:
    async with PostgresStore.connect(postgres_dsn, schema=schema, group_commit=False) as store:
        groups: list[int] = []
        commit = store._appends._commit

        async def counting(requests: list[Any]) -> list[int]:
            groups.append(len(requests))
            return await commit(requests)

        store._appends._commit = counting  # type: ignore[method-assign]
        workflows = [WorkflowId.new_v4() for _ in range(20)]
        await asyncio.gather(*(store.append(TOKEN, w, history(w, 2), 0) for w in workflows))
        assert groups == [1] * 20
        assert len(await store.list_workflow_ids()) == 20


async def test_a_released_connection_is_reset_without_a_round_trip(postgres_dsn: str) -> None:
    """The pool's reset sends nothing for a clean connection (asyncpg's default sends four
    statements per call) and rolls back a transaction a cancelled call left open."""
    from aion_store.postgres import _reset_connection

    connection = await asyncpg.connect(postgres_dsn)
    try:
        queries: list[str] = []
        connection.add_query_logger(lambda record: queries.append(record.query))
        await _reset_connection(connection)
        await asyncio.sleep(0.01)  # the query logger is called soon after, not at once
        assert queries == []
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("CREATE TEMP TABLE left_behind (x int)")
        await _reset_connection(connection)
        await asyncio.sleep(0.01)
        assert not connection.is_in_transaction()
        assert queries[-1] == "ROLLBACK"
        assert await connection.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
    finally:
        await connection.close()
