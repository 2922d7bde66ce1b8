"""Which engines this install has: tests that need the compiled modules skip, with a
reason, on a pure-only install (no compiler when the package was built)."""

from __future__ import annotations

import importlib.util

import pytest

#: Whether the compiled modules are built (not whether they are selected).
COMPILED_BUILT = importlib.util.find_spec("aion_store._engine_c") is not None

#: The engines a test parametrized over both can run here.
ENGINES: tuple[str, ...] = ("compiled", "pure") if COMPILED_BUILT else ("pure",)

requires_compiled = pytest.mark.skipif(
    not COMPILED_BUILT, reason="the compiled extension is not built (a pure-only install)"
)
