"""The command line on durable stores: ``ls``, ``inspect STORE WORKFLOW_ID`` and ``copy``,
against SQLite files, a PostgreSQL schema (the throwaway server of the PostgreSQL tests)
and directories of history files; and their bad input (one line, exit status 2,
nothing written). The Rust-engine file reader has its own tests (test_rust_libsql.py)
and appears here through ``rust-libsql://`` addresses.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_store import ListWorkflowsFilter, WorkflowFilter, WorkflowId
from aion_store.cli import copy as copy_module
from aion_store.cli import ls as ls_command
from aion_store.cli import main
from aion_store.sqlite import SqliteStore
from test_sqlite import CHILD, PARENT, digest, fill, fill_for_pages, snapshot

HISTORIES = Path(__file__).parent / "data" / "histories"


def cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aion_store.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def filled(store: Any) -> dict[str, Any]:
    await fill(store)
    await fill_for_pages(store)
    return await snapshot(store)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A filled store of each kind: its address and the options naming it."""
    if request.param == "sqlite":
        path = tmp_path / "engine.db"

        async def make() -> None:
            async with SqliteStore.open(path) as target:
                await filled(target)

        asyncio.run(make())
        yield str(path), []
        return
    from aion_store.postgres import PostgresStore

    dsn, schema = request.getfixturevalue("postgres_dsn"), request.getfixturevalue("schema")

    async def make_postgres() -> None:
        async with PostgresStore.connect(dsn, schema=schema) as target:
            await filled(target)

    asyncio.run(make_postgres())
    yield dsn, ["--schema", schema]


async def open_address(address: str, options: list[str], **more: Any) -> Any:
    if address.startswith("postgresql://"):
        from aion_store.postgres import PostgresStore

        return await PostgresStore.connect(address, schema=options[1], **more)
    return await SqliteStore.open(address, **more)


async def expected_query(address: str, options: list[str]) -> list[Any]:
    target = await open_address(address, options, read_only=True)
    try:
        return [
            (summary, count)
            for summary, count in await target.query_page(WorkflowFilter(), None, 10_000)
        ]
    finally:
        await target.close()


# -- ls -----------------------------------------------------------------------------------


def test_ls_lists_in_query_order_as_jsonl(store: tuple[str, list[str]]) -> None:
    address, options = store
    result = cli("ls", address, *options, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = asyncio.run(expected_query(address, options))
    assert [row["workflow_id"] for row in rows] == [str(s.workflow_id) for s, _ in expected]
    assert [row["events"] for row in rows] == [count for _, count in expected]
    first = rows[[row["workflow_id"] for row in rows].index(str(CHILD))]
    assert first["status"] == "Completed" and first["parent"] == str(PARENT)
    assert first["ended_at"] == "2024-05-01T12:00:00Z"


def test_ls_filters_and_limits(store: tuple[str, list[str]]) -> None:
    address, options = store
    children = cli("ls", address, *options, "--parent", str(PARENT), "--format", "jsonl")
    assert [json.loads(line)["workflow_id"] for line in children.stdout.splitlines()] == [
        str(CHILD)
    ]
    done = cli("ls", address, *options, "--status", "completed", "--format", "jsonl")
    assert [json.loads(line)["status"] for line in done.stdout.splitlines()] == ["Completed"]
    limited = cli("ls", address, *options, "--limit", "3")
    lines = limited.stdout.splitlines()
    assert lines[0].split() == ["workflow", "type", "status", "started", "ended", "events"]
    assert len(lines) == 4
    typed = cli("ls", address, *options, "--type", "nothing-like-it", "--format", "jsonl")
    assert typed.returncode == 0 and typed.stdout == ""


def test_ls_reads_a_page_at_a_time(
    store: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    address, options = store
    monkeypatch.setattr(ls_command, "PAGE", 4)
    limits: list[int] = []
    from aion_store._sql.store import SqlStore

    original = SqlStore.query_page

    async def spy(self: Any, chosen: Any, after: Any = None, limit: int = 1000) -> Any:
        limits.append(limit)
        return await original(self, chosen, after, limit)

    monkeypatch.setattr(SqlStore, "query_page", spy)
    assert main(["ls", address, *options, "--format", "jsonl"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 27 and set(limits) == {4} and len(limits) == 7


# -- inspect --------------------------------------------------------------------------------


def test_inspect_a_stored_history_as_the_file_would_be(
    store: tuple[str, list[str]], tmp_path: Path
) -> None:
    address, options = store
    copied = cli("copy", address, *options, tmp_path / "files", "--workflow", str(PARENT))
    assert copied.returncode == 0, copied.stderr
    from_store = cli("inspect", address, str(PARENT), *options, "--format", "json")
    from_file = cli("inspect", tmp_path / "files" / f"{PARENT}.msgpack", "--format", "json")
    assert from_store.returncode == 0, from_store.stderr
    assert json.loads(from_store.stdout) == json.loads(from_file.stdout)
    text = cli("inspect", address, str(PARENT), *options)
    assert "runs (2, oldest first)" in text.stdout


def test_inspect_an_unknown_workflow(store: tuple[str, list[str]]) -> None:
    address, options = store
    unknown = WorkflowId.new_v4()
    line = one_error_line(cli("inspect", address, str(unknown), *options))
    assert f"no workflow {unknown}" in line
    assert "not a workflow id" in one_error_line(cli("inspect", address, "123", *options))


# -- copy -------------------------------------------------------------------------------------


def copy_targets(tmp_path: Path, request: pytest.FixtureRequest) -> list[tuple[str, list[str]]]:
    targets = [(str(tmp_path / "copy.db"), [])]
    dsn = request.getfixturevalue("postgres_dsn")
    targets.append((dsn, ["--target-schema", request.getfixturevalue("schema") + "_copy"]))
    return targets


def read_back(address: str, options: list[str]) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        if address.startswith("postgresql://"):
            from aion_store.postgres import PostgresStore

            schema = (
                options[options.index("--target-schema") + 1]
                if "--target-schema" in options
                else options[1]
            )
            target: Any = await PostgresStore.connect(address, schema=schema, read_only=True)
        else:
            target = await SqliteStore.open(address, read_only=True)
        try:
            return await snapshot(target)
        finally:
            await target.close()

    return asyncio.run(read())


def test_copy_between_every_kind_of_store_is_idempotent(
    store: tuple[str, list[str]], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    address, options = store
    source = read_back(address, options)
    for target, target_options in copy_targets(tmp_path, request):
        first = cli("copy", address, target, *options, *target_options)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("copied 27 histories (67 events)")
        assert "2 timers, 1 visibility record, 1 package, 2 routes" in first.stdout
        assert read_back(target, target_options) == source
        again = cli("copy", address, target, *options, *target_options)
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("copied 0 histories (0 events); skipped 27 already there")
        assert read_back(target, target_options) == source


def test_copy_through_a_directory_of_history_files(
    store: tuple[str, list[str]], tmp_path: Path
) -> None:
    address, options = store
    directory = tmp_path / "histories"
    out = cli("copy", address, *options, f"{directory}/")
    assert out.returncode == 0, out.stderr
    assert "a directory holds histories only" in out.stderr
    assert len(list(directory.glob("*.msgpack"))) == 27
    back = cli("copy", directory, tmp_path / "back.db")
    assert back.returncode == 0, back.stderr
    source, copied = read_back(address, options), read_back(str(tmp_path / "back.db"), [])
    for key in source:
        if key.startswith(("history", "raw", "chain")) or key in ("ids", "active", "query"):
            assert copied[key] == source[key], key
    assert cli("copy", directory, tmp_path / "back.db").stdout.startswith("copied 0 histories")


def test_a_conflicting_history_is_reported_and_nothing_of_it_written(
    store: tuple[str, list[str]], tmp_path: Path
) -> None:
    address, options = store
    target = tmp_path / "other.db"
    from test_sqlite import TOKEN, history

    async def prepare() -> None:
        async with SqliteStore.open(target) as other:
            await other.append(TOKEN, PARENT, history(PARENT, 2), 0)

    asyncio.run(prepare())
    result = cli("copy", address, *options, target)
    assert result.returncode == 1, result.stderr
    assert f"conflict: {PARENT}: the destination holds a different history" in result.stderr
    copied = read_back(str(target), [])
    assert len(copied[f"history {PARENT}"]) == 2  # untouched
    assert [t.workflow_id for t in copied["timers"]] == [CHILD]  # the parent's timer stayed out
    assert copied["visibility"] == []  # the only record is the parent's


def test_an_interrupted_copy_run_again_ends_as_an_uninterrupted_one(
    store: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, options = store
    whole, broken = tmp_path / "whole.db", tmp_path / "broken.db"
    assert cli("copy", address, *options, whole).returncode == 0
    from aion_store.cli import copy as copy_command

    original = copy_command._history
    calls = 0

    async def failing(*arguments: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 11:
            raise KeyboardInterrupt
        return await original(*arguments)

    monkeypatch.setattr(copy_command, "_history", failing)
    assert main(["copy", address, *options, str(broken), "--plain"]) == 130
    monkeypatch.setattr(copy_command, "_history", original)
    assert main(["copy", address, *options, str(broken), "--plain"]) == 0
    assert read_back(str(broken), []) == read_back(str(whole), [])


def test_a_dry_run_writes_nothing(store: tuple[str, list[str]], tmp_path: Path) -> None:
    address, options = store
    result = cli("copy", address, *options, tmp_path / "new.db", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("would copy 27 histories (67 events)")
    assert not (tmp_path / "new.db").exists()
    assert cli("copy", address, *options, tmp_path / "dir/", "--dry-run").returncode == 0
    assert not (tmp_path / "dir").exists()


# -- bad input: one line, exit 2, nothing written ----------------------------------------------


def test_bad_store_addresses(tmp_path: Path) -> None:
    text = tmp_path / "text.db"
    text.write_text("not a database")
    before = digest(text)
    cases = [
        (["ls", "mysql://x/y"], "unknown store address scheme"),
        (["ls", "sqlite://relative.db"], "expected sqlite:///PATH"),
        (["ls", str(tmp_path / "nothing.db")], "no such database file"),
        (["ls", str(text)], "not a SQLite database"),
        (["ls", "notes.txt"], "not a store address"),
        (["ls", f"postgresql://postgres@/postgres?host={tmp_path}&port=5432"], "connect failed"),
        (["ls", str(text), "--parent", "x"], "is not a workflow id"),
        (["copy", str(tmp_path / "nothing.db"), str(tmp_path / "out.db")], "no such database file"),
        (["copy", str(text), str(tmp_path / "out.db")], "not a SQLite database"),
        (
            ["copy", str(tmp_path / "missing_dir") + "/", str(tmp_path / "out.db")],
            "no such directory",
        ),
    ]
    for arguments, message in cases:
        result = cli(*arguments)
        if "--parent" in arguments:
            assert result.returncode == 2 and message in result.stderr
            continue
        line = one_error_line(result)
        assert message in line, (arguments, line)
        assert arguments[1].split("?")[0].split("://")[-1].lstrip("/") in line or "://" in line
    assert digest(text) == before
    assert not (tmp_path / "out.db").exists() and not (tmp_path / "nothing.db").exists()


def test_a_newer_store_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    from aion_store.sqlite import SCHEMA_VERSION

    path = tmp_path / "newer.db"

    async def make() -> None:
        async with SqliteStore.open(path) as target:
            await fill(target)

    asyncio.run(make())
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    before = digest(path)
    assert "newer" in one_error_line(cli("ls", path))
    assert "newer" in one_error_line(cli("copy", path, tmp_path / "out.db"))
    assert "newer" in one_error_line(cli("copy", HISTORIES, path))
    assert digest(path) == before and not (tmp_path / "out.db").exists()


def test_a_read_only_destination_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source.db"

    async def make() -> None:
        async with SqliteStore.open(source) as target:
            await fill(target)

    asyncio.run(make())
    line = one_error_line(cli("copy", source, f"rust-libsql://{tmp_path}/rust.db"))
    assert "read-only" in line and "rust-libsql" in line
    assert not (tmp_path / "rust.db").exists()
    same = one_error_line(cli("copy", source, source))
    assert "the same store" in same
    assert os.listdir(tmp_path) == ["source.db"]


# -- a Rust engine's database ---------------------------------------------------------------


@pytest.fixture
def rust_file(tmp_path: Path) -> str:
    from rust_libsql_fixture import build_standard

    path = tmp_path / "rust.db"
    build_standard(path).close()
    return f"rust-libsql://{path}"


async def everything(store: Any) -> dict[str, Any]:
    """Every history, timer, visibility record, package and route of a store."""
    ids = await store.list_workflow_ids()
    return {
        "histories": {w: await store.read_history(w) for w in ids},
        "timers": await store.expired_timers(copy_module.END),
        "visibility": await store.list_workflows(ListWorkflowsFilter()),
        "packages": await store.list_packages(),
        "routes": await store.list_package_routes(),
    }


async def rust_reads(address: str) -> dict[str, Any]:
    from aion_store.rust_libsql import RustLibsqlStore

    async with RustLibsqlStore.open(address.removeprefix("rust-libsql://")) as store:
        return {
            "page": await store.query_page(WorkflowFilter(), None, 10_000),
            **await everything(store),
        }


def everything_at(address: str, options: list[str]) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        schema = options[-1] if options else "aion"
        target = await open_address(address, ["--schema", schema], read_only=True)
        try:
            return await everything(target)
        finally:
            await target.close()

    return asyncio.run(read())


def test_ls_and_inspect_a_rust_engines_database(rust_file: str, tmp_path: Path) -> None:
    expected = asyncio.run(rust_reads(rust_file))
    listed = cli("ls", rust_file, "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(row["workflow_id"], row["events"]) for row in rows] == [
        (str(summary.workflow_id), count) for summary, count in expected["page"]
    ]
    longest = max(expected["histories"], key=lambda w: len(expected["histories"][w]))
    assert cli("copy", rust_file, tmp_path / "files", "--workflow", str(longest)).returncode == 0
    from_store = cli("inspect", rust_file, str(longest), "--format", "json")
    from_file = cli("inspect", tmp_path / "files" / f"{longest}.msgpack", "--format", "json")
    assert from_store.returncode == 0, from_store.stderr
    assert json.loads(from_store.stdout) == json.loads(from_file.stdout)


def test_copy_a_rust_engines_database_into_our_stores(
    rust_file: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected = asyncio.run(rust_reads(rust_file))
    for target, target_options in copy_targets(tmp_path, request):
        result = cli("copy", rust_file, target, *target_options)
        assert result.returncode == 0, result.stderr
        histories = len(expected["histories"])
        assert result.stdout.startswith(f"copied {histories} histories")
        copied = everything_at(target, target_options)
        for key in ("histories", "timers", "visibility", "packages", "routes"):
            assert copied[key] == expected[key], key
        again = cli("copy", rust_file, target, *target_options)
        assert again.stdout.startswith(f"copied 0 histories (0 events); skipped {histories}")


def test_a_bad_row_in_a_rust_engines_database_is_named(rust_file: str, tmp_path: Path) -> None:
    import sqlite3

    path = rust_file.removeprefix("rust-libsql://")
    connection = sqlite3.connect(path)
    workflow, seq = connection.execute(
        "SELECT workflow_id, seq FROM events WHERE event_kind = 'SignalReceived' LIMIT 1"
    ).fetchone()
    connection.execute(
        "UPDATE events SET event = CAST(? AS BLOB) WHERE workflow_id = ? AND seq = ?",
        ('{"type":"ActivityPaused","data":{}}', workflow, seq),
    )
    connection.commit()
    connection.close()
    line = one_error_line(cli("copy", rust_file, tmp_path / "out.db"))
    assert "events" in line and workflow in line and "ActivityPaused" in line
    assert "ActivityPaused" in one_error_line(cli("inspect", rust_file, workflow))
