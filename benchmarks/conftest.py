"""Shared benchmark setup: one persistent event loop, the sizes, the quick switch.

``AION_BENCH_QUICK=1`` runs every benchmark at ``Sizes.quick()`` (a smoke run); the
default sizes are ``Sizes.default()``. The store benchmarks' tables show seconds per
operation (see :class:`PerOpClock`); ``extra_info`` has the details (``--benchmark-json``).

The postgres family's benchmarks get their server from :func:`postgres_dsn`: the one
``AION_STORE_POSTGRES_DSN`` names, else a throwaway server started for the session
(``tests/postgres_server.py``); without server binaries (or asyncpg) they skip.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aion_store
from aion_store.bench import Sizes

QUICK = os.environ.get("AION_BENCH_QUICK", "") not in ("", "0")
SIZES = Sizes.quick() if QUICK else Sizes.default()


def pytest_report_header(config: pytest.Config) -> str:
    path = "compiled core" if aion_store.compiled else "pure-Python path"
    sizes = "quick" if QUICK else "default"
    return f"aion-store {aion_store.__version__} benchmarks: {sizes} sizes, default path {path}"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The postgres family's server for the session: ``$AION_STORE_POSTGRES_DSN``, else a
    throwaway one (``tests/postgres_server.py``: initdb and pg_ctl, a unix socket in a
    temp directory), stopped at the end. The postgres stores of ``aion_store.bench`` use
    it while the session lasts. Skips, with one line, without asyncpg or server binaries.
    """
    from aion_store.bench import durable_postgres

    try:
        import asyncpg  # noqa: F401
    except ImportError:
        pytest.skip("asyncpg is not installed: pip install 'aion-store[postgres]'")
    server: Any = None
    dsn = os.environ.get(durable_postgres.ENVIRONMENT)
    if not dsn:
        sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
        from postgres_server import PostgresServer, ServerUnavailable

        try:
            server = PostgresServer.start()
        except ServerUnavailable as error:
            pytest.skip(str(error).splitlines()[0])
        dsn = str(server.dsn)
    durable_postgres.use_dsn(dsn)
    try:
        yield dsn
    finally:
        durable_postgres.use_dsn(None)
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every benchmark of the session."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


class PerOpClock:
    """A clock for pytest-benchmark that advances by what a sampler measured.

    ``aion_store.bench`` times each sample inside the coroutine and divides by the
    operations it ran. Handing pytest-benchmark this clock makes its table show those
    per-operation times (so rounds of different stores in a group compare directly),
    instead of whole rounds that differ in repeat count and include the event loop's
    ~10 us of scheduling per round.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def per_op_clock(benchmark: Any) -> PerOpClock:
    """Install a :class:`PerOpClock` as ``benchmark``'s timer (before ``pedantic``)."""
    clock = PerOpClock()
    if not hasattr(benchmark, "_timer"):
        raise RuntimeError("this pytest-benchmark has no _timer to replace")
    benchmark._timer = clock
    return clock
