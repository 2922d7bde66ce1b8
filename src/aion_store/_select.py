"""Pick the engine once, at import: the compiled core unless it is missing or
``AION_STORE_PURE=1`` forces the pure-Python path (as msgpack-python does)."""

from __future__ import annotations

import os
from types import ModuleType

FORCED_PURE = os.environ.get("AION_STORE_PURE", "") not in ("", "0")

#: Which engine is in use and why, for people (``python -m aion_store`` prints it).
REASON = f"pure-Python path: AION_STORE_PURE={os.environ.get('AION_STORE_PURE')} is set"

core: ModuleType | None = None
if not FORCED_PURE:
    try:
        from aion_store import _core as core
    except ImportError as error:
        core = None
        _missing = isinstance(error, ModuleNotFoundError) and error.name == "aion_store._core"
        REASON = (
            f"pure-Python path: the compiled extension is "
            f"{'not installed' if _missing else 'installed but cannot be imported'} "
            f"({type(error).__name__}: {' '.join(str(error).split())})"
        )
    else:
        REASON = "compiled core (aion_store._core)"

#: True exactly when the compiled core was imported and the pure path was not forced.
COMPILED = core is not None


def load_core() -> ModuleType:
    """The compiled core even when the pure path is selected (for side-by-side tests)."""
    from aion_store import _core

    return _core
