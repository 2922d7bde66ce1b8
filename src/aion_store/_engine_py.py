"""The engine of ``InMemoryStore`` in readable Python: twin of ``aion_store._engine_c``.

Same methods, same results. Each workflow keeps its events in one list indexed by
``seq - 1`` (appends are contiguous from 1), so the head is ``len(events)``, a suffix read
is a slice and a full read a list copy. What is projected from the events (status, runs,
parents, listings) is :mod:`aion_store._projections_py` (twin of ``_projections_c``).
"""

from __future__ import annotations

import threading
from typing import Any

from aion_store._projections_py import PROJECTED_TAGS, Projections, WorkflowProjection
from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_workflow_id,
)
from aion_store.error import SequenceConflict
from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowSummary
from aion_store.wire._msgpack_py import MARKER, encode_event_body

__all__ = ["Engine"]


class Engine:
    """Histories and their projections; every public method takes the engine's lock."""

    def __init__(self, decoded_cache_bytes: int = 0, /) -> None:
        # The pure engine keeps the event objects themselves: it has nothing to cache.
        self._lock = threading.Lock()
        self._histories: dict[int, list[Event]] = {}
        self._projections = Projections()

    def append(self, token: Any, workflow_id: Any, events: Any, expected_seq: Any) -> None:
        expected_seq = check_append_arguments(token, workflow_id, events, expected_seq)
        with self._lock:
            key = workflow_id._int
            history = self._histories.get(key)
            head = len(history) if history is not None else 0
            if head != expected_seq:
                raise SequenceConflict(expected_seq, head)
            if not events:
                return
            check_batch(workflow_id, events, expected_seq)
            projections = self._projections
            if history is None:
                history = self._histories[key] = []
                projection = WorkflowProjection(workflow_id)
                projections.add(key, projection)
            else:
                projection = projections.workflows[key]
            history.extend(events)
            projected = PROJECTED_TAGS
            for event in events:
                if projected[event.TAG]:
                    projections.apply(projection, events)
                    break

    def read_history(self, workflow_id: Any) -> list[Event]:
        check_workflow_id(workflow_id)
        with self._lock:
            history = self._histories.get(workflow_id._int)
            return [] if history is None else history.copy()

    def read_history_from(self, workflow_id: Any, from_seq: Any) -> list[Event]:
        check_workflow_id(workflow_id)
        from_seq = check_seq(from_seq, "from_seq")
        with self._lock:
            history = self._histories.get(workflow_id._int)
            if history is None:
                return []
            return history[from_seq - 1 :] if from_seq > 1 else history.copy()

    def read_history_raw(self, workflow_id: Any, from_seq: Any = 1) -> bytes:
        events = self.read_history_from(workflow_id, from_seq)
        return MARKER + b"".join(encode_event_body(event) for event in events)

    def read_run_chain(self, workflow_id: Any) -> list[RunSummary]:
        check_workflow_id(workflow_id)
        with self._lock:
            return self._projections.run_chain(workflow_id._int)

    def list_workflow_ids(self) -> list[WorkflowId]:
        with self._lock:
            return self._projections.workflow_ids()

    def list_active(self) -> list[WorkflowId]:
        with self._lock:
            return self._projections.active_ids()

    def query(self, filter: Any) -> list[WorkflowSummary]:
        check_filter(filter)
        with self._lock:
            return self._projections.query(filter)
