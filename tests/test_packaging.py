"""The package as users import it: the path switch, the version, what importing loads."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import aion_store

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "AION_STORE_PURE"}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True
    )
    return result.stdout.strip()


def test_compiled_is_true_exactly_when_the_core_runs() -> None:
    probe = (
        "import json, aion_store, aion_store.memory as m; "
        "print(json.dumps([aion_store.compiled, m.InMemoryStore().engine, "
        "aion_store.wire.from_msgpack.__module__]))"
    )
    compiled, engine, codec = json.loads(run_python(probe))
    assert compiled is True and engine == "compiled" and codec == "aion_store._core"
    forced = json.loads(run_python(probe, AION_STORE_PURE="1"))
    assert forced == [False, "pure", "aion_store.wire._msgpack"]
    assert json.loads(run_python(probe, AION_STORE_PURE="0"))[0] is True


def test_the_pure_switch_does_not_even_import_the_core() -> None:
    loaded = run_python(
        "import sys, aion_store; print('aion_store._core' in sys.modules)", AION_STORE_PURE="1"
    )
    assert loaded == "False"


def test_version_has_one_source() -> None:
    assert aion_store.__version__ == importlib.metadata.version("aion-store")
    assert (
        f'__version__ = "{aion_store.__version__}"'
        in (ROOT / "src" / "aion_store" / "_version.py").read_text()
    )


def test_importing_the_package_loads_no_tooling() -> None:
    modules = json.loads(
        run_python("import sys, json, aion_store; print(json.dumps(sorted(sys.modules)))")
    )
    for heavy in (
        "aion_store.cli",
        "aion_store.conformance",
        "aion_store.bench",
        "aion_store.sqlite",
        "aion_store.postgres",
        "sqlite3",
        "asyncpg",
        "psycopg",
        "rich",
        "matplotlib",
        "pytest",
        "hypothesis",
        "eventsourcing",
    ):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in modules), heavy


def test_the_conformance_suite_is_reachable_lazily_from_the_top() -> None:
    from aion_store.conformance import run_event_store_suite

    assert aion_store.run_event_store_suite is run_event_store_suite
    assert "run_event_store_suite" in aion_store.__all__


def test_the_durable_stores_are_reachable_lazily_from_the_top() -> None:
    from aion_store.postgres import PostgresStore
    from aion_store.sqlite import SqliteStore

    assert aion_store.SqliteStore is SqliteStore
    assert aion_store.PostgresStore is PostgresStore
    assert {"SqliteStore", "PostgresStore"} <= set(aion_store.__all__)


def test_the_package_is_typed() -> None:
    package = Path(aion_store.__file__).parent
    assert (package / "py.typed").exists()
    stub = (package / "_core.pyi").read_text()
    for name in ("class Engine", "def to_msgpack", "def from_msgpack", "def read_history_raw"):
        assert name in stub
