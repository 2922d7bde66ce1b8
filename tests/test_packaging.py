"""The package as users import it: the path switch, the version, what importing loads."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import aion_store
from engines import COMPILED_BUILT

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
    pure = [False, "pure", "aion_store.wire._msgpack_py"]
    if COMPILED_BUILT:
        assert json.loads(run_python(probe)) == [True, "compiled", "aion_store.wire._msgpack_c"]
        assert json.loads(run_python(probe, AION_STORE_PURE="0"))[0] is True
    else:  # a pure-only install: the pure path whatever the switch says
        assert json.loads(run_python(probe)) == pure
        assert json.loads(run_python(probe, AION_STORE_PURE="0")) == pure
    assert json.loads(run_python(probe, AION_STORE_PURE="1")) == pure


def test_the_pure_switch_does_not_even_import_the_core() -> None:
    loaded = run_python(
        "import sys, aion_store, aion_store.memory; aion_store.InMemoryStore(); "
        "print([m for m in sys.modules if m.endswith('_c')])",
        AION_STORE_PURE="1",
    )
    assert loaded == "[]"


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
    stubs = {
        "_engine_c.pyi": ("class Engine", "def read_history_raw", "def append"),
        "_timers_c.pyi": ("class TimerIndex", "def schedule", "def due"),
        "_projections_c.pyi": ("class Projections", "class WorkflowProjection"),
        "wire/_msgpack_c.pyi": ("def to_msgpack", "def from_msgpack", "def decode_stored_events"),
    }
    for stub, names in stubs.items():
        text = (package / stub).read_text()
        for name in names:
            assert name in text, (stub, name)
    # every compiled module has its stub and its pure twin beside it
    for source in [*package.glob("*_c.pyx"), *package.glob("wire/*_c.pyx")]:
        assert source.with_suffix(".pyi").exists(), source
        assert source.with_name(source.name.replace("_c.pyx", "_py.py")).exists(), source
