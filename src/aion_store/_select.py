"""Pick the engine once, at import: the compiled core unless it is missing or
``AION_STORE_PURE=1`` forces the pure-Python path (as msgpack-python does)."""

from __future__ import annotations

import os
from types import ModuleType

FORCED_PURE = os.environ.get("AION_STORE_PURE", "") not in ("", "0")

core: ModuleType | None = None
if not FORCED_PURE:
    try:
        from aion_store import _core as core
    except ImportError:
        core = None

#: True exactly when the compiled core was imported and the pure path was not forced.
COMPILED = core is not None


def load_core() -> ModuleType:
    """The compiled core even when the pure path is selected (for side-by-side tests)."""
    from aion_store import _core

    return _core
