"""The one place that chooses between the compiled modules and their pure twins.

Chosen once, at import, as msgpack-python does: the compiled modules unless they are
missing or ``AION_STORE_PURE=1`` forces the pure-Python path. Every other module asks
here: ``codec`` is the msgpack codec (``aion_store.wire._msgpack_c`` or its twin
``aion_store.wire._msgpack_py``), :func:`engine_class` the ``InMemoryStore`` engine
(``aion_store._engine_c`` or ``aion_store._engine_py``), :func:`timer_index_class` the
durable-timer index (``aion_store._timers_c`` or ``aion_store._timers_py``). Both twins
of each satisfy the same protocol (:class:`Engine`, :class:`TimerIndex`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from types import ModuleType
from typing import Any, Literal, Protocol

from aion_store.events import Event
from aion_store.ids import TimerId, WorkflowId
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.timers import TimerEntry

__all__ = [
    "COMPILED",
    "FORCED_PURE",
    "REASON",
    "Engine",
    "EngineName",
    "TimerIndex",
    "codec",
    "compiled_codec",
    "engine_class",
    "timer_index_class",
]

EngineName = Literal["compiled", "pure"]
FORCED_PURE = os.environ.get("AION_STORE_PURE", "") not in ("", "0")


class Engine(Protocol):
    """Histories and their projections: what ``InMemoryStore`` keeps in an engine."""

    def __init__(self, decoded_cache_bytes: int = ..., /) -> None: ...
    def append(
        self, token: Any, workflow_id: WorkflowId, events: Sequence[Event], expected_seq: int
    ) -> None: ...
    def read_history(self, workflow_id: WorkflowId) -> list[Event]: ...
    def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]: ...
    def read_history_raw(self, workflow_id: WorkflowId, from_seq: int = ...) -> bytes: ...
    def read_run_chain(self, workflow_id: WorkflowId) -> list[RunSummary]: ...
    def list_workflow_ids(self) -> list[WorkflowId]: ...
    def list_active(self) -> list[WorkflowId]: ...
    def query(self, filter: WorkflowFilter) -> list[WorkflowSummary]: ...


class TimerIndex(Protocol):
    """Timers keyed by ``(workflow_id, timer_id)``, answering "what is due" cheaply;
    checks its arguments and is thread-safe on its own."""

    def __len__(self) -> int: ...
    def schedule(self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime) -> None: ...
    def due(self, as_of: datetime) -> list[TimerEntry]: ...


def _compiled() -> tuple[ModuleType, ModuleType, ModuleType]:
    from aion_store import _engine_c, _timers_c
    from aion_store.wire import _msgpack_c

    return _msgpack_c, _engine_c, _timers_c


_modules: tuple[ModuleType, ModuleType, ModuleType] | None = None
#: Which path is in use and why, for people (``python -m aion_store`` prints it).
REASON = f"pure-Python path: AION_STORE_PURE={os.environ.get('AION_STORE_PURE')} is set"
if not FORCED_PURE:
    try:
        _modules = _compiled()
    except ImportError as error:
        _missing = isinstance(error, ModuleNotFoundError) and (error.name or "").startswith(
            "aion_store."
        )
        REASON = (
            f"pure-Python path: the compiled extension is "
            f"{'not installed' if _missing else 'installed but cannot be imported'} "
            f"({type(error).__name__}: {' '.join(str(error).split())})"
        )
    else:
        REASON = "compiled core (aion_store._engine_c, aion_store.wire._msgpack_c)"

#: True exactly when the compiled modules were imported and the pure path was not forced.
COMPILED = _modules is not None

if _modules is not None:
    codec: ModuleType = _modules[0]
else:
    from aion_store.wire import _msgpack_py as codec


def compiled_codec() -> ModuleType:
    """The compiled codec even when the pure path is selected (for side-by-side tests);
    ``ImportError`` when it is not built."""
    return _compiled()[0]


def engine_class(name: EngineName | None = None) -> type[Engine]:
    """The engine of ``name`` ("compiled" or "pure"), by default the selected one."""
    if name is None:
        name = "compiled" if COMPILED else "pure"
    if name == "pure":
        from aion_store._engine_py import Engine as PureEngine

        return PureEngine
    if name == "compiled":
        engine: type[Engine] = _compiled_or_explain()[1].Engine
        return engine
    raise ValueError(f"engine must be 'compiled', 'pure' or None, got {name!r}")


def timer_index_class(name: EngineName | None = None) -> type[TimerIndex]:
    """The durable-timer index of ``name``, by default the selected one."""
    if name is None:
        name = "compiled" if COMPILED else "pure"
    if name == "pure":
        from aion_store._timers_py import TimerIndex as PureTimerIndex

        return PureTimerIndex
    index: type[TimerIndex] = _compiled_or_explain()[2].TimerIndex
    return index


def _compiled_or_explain() -> tuple[ModuleType, ModuleType, ModuleType]:
    """The compiled modules, or an ``ImportError`` saying why this install has none."""
    try:
        return _compiled()
    except ImportError as error:
        raise ImportError(f"the compiled engine is not available here: {REASON}") from error


# The names of the first version (core = the compiled codec), kept for callers.
core: ModuleType | None = _modules[0] if _modules is not None else None
load_core = compiled_codec
