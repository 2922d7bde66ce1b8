"""Shared test setup: which path runs, async tests, store factories."""

from __future__ import annotations

import asyncio
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
    if expected and expected != actual:
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
