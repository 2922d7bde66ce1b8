"""Shared test setup: which path runs, async tests, store factories."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import aion_store

sys.path.insert(0, str(Path(__file__).parent))

DATA = Path(__file__).parent / "data"


def pytest_report_header(config: pytest.Config) -> str:
    path = "compiled core" if aion_store.compiled else "pure-Python path"
    return f"aion-store {aion_store.__version__}: {path}"


def pytest_configure(config: pytest.Config) -> None:
    expected = os.environ.get("AION_STORE_EXPECT")
    actual = "compiled" if aion_store.compiled else "pure"
    if actual == "pure" and importlib.util.find_spec("aion_store._engine_c") is None:
        actual = "pure-only"  # the pure package alone: the extension was never built
    if expected and expected != actual and not (expected == "pure" and actual == "pure-only"):
        raise pytest.UsageError(
            f"AION_STORE_EXPECT={expected} but aion_store runs the {actual} path "
            "(is the extension built?)"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no plugin needed)."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(function(**kwargs))
    return True


# -- a throwaway PostgreSQL server for the PostgresStore tests --------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def start_postgres(**settings: str) -> Any:
    """A fresh server (tests/postgres_server.py). Without server binaries the test skips,
    with one line saying what to install; under CI=true that is a failure instead."""
    from postgres_server import PostgresServer, ServerUnavailable

    try:
        return PostgresServer.start(**settings)
    except ServerUnavailable as error:
        if _in_ci():
            pytest.fail(f"CI=true and no PostgreSQL server could be started: {error}")
        pytest.skip(str(error).splitlines()[0])


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """One server for the session (tests that crash a server start their own)."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        reason = "asyncpg is not installed: pip install 'aion-store[postgres]'"
        if _in_ci():
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: Any) -> str:
    return str(postgres_server.dsn)


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses."""
    import uuid

    return f"t_{uuid.uuid4().hex[:16]}"
