"""An adapter over the ``eventsourcing`` library's recorders, as a peer baseline.

``EventSourcingStore`` keeps each workflow as an aggregate in an ``eventsourcing``
aggregate recorder (``eventsourcing.popo.POPOAggregateRecorder`` by default; the SQLite
one for the durable peer, :mod:`aion_store.bench.durable`): every event is a
``StoredEvent`` whose ``originator_id`` is the workflow's UUID, ``originator_version``
its seq, ``topic`` the variant's name and ``state`` the event's msgpack body
(``aion_store.wire`` form). Reads
select the stored events and decode them with this package's fastest codec (the compiled
core's when it is built). Optimistic concurrency is the recorder's own: a batch whose
first version is already recorded is rejected (``IntegrityError``, reported as
``SequenceConflict``), as in an ``eventsourcing`` application.

It covers only what the library expresses: append, full and suffix reads, and rejected
appends. It is not a contract-complete store. Importing this module needs
``eventsourcing`` (an optional dependency, the ``peers`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import AggregateRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder

from aion_store import _select
from aion_store._validate import check_append_arguments, check_batch, check_seq, check_workflow_id
from aion_store.error import SequenceConflict
from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.store import WriteToken
from aion_store.wire import _msgpack_py as _msgpack

__all__ = ["EventSourcingStore"]


def _codec() -> tuple[Callable[[Any], bytes], Callable[[bytes, Any], Any]]:
    try:
        core = _select.load_core()
    except ImportError:
        return _msgpack.to_msgpack, _msgpack.from_msgpack
    return core.to_msgpack, core.from_msgpack


_TO_MSGPACK, _FROM_MSGPACK = _codec()
_TOPIC_PREFIX = "aion_store.events:"


class EventSourcingStore:
    """Workflow histories as ``eventsourcing`` aggregates (append and reads only)."""

    def __init__(self, recorder: AggregateRecorder | None = None) -> None:
        # Any eventsourcing aggregate recorder: the in-memory one by default, the SQLite
        # one for the durable peer (aion_store.bench.durable).
        self.recorder = POPOAggregateRecorder() if recorder is None else recorder

    def _head(self, workflow_id: WorkflowId) -> int:
        last = self.recorder.select_events(workflow_id.uuid, desc=True, limit=1)
        return last[0].originator_version if last else 0

    async def append(
        self, token: WriteToken, workflow_id: WorkflowId, events: Sequence[Event], expected_seq: int
    ) -> None:
        check_append_arguments(token, workflow_id, events, expected_seq)
        if not events:
            head = self._head(workflow_id)
            if head != expected_seq:
                raise SequenceConflict(expected=expected_seq, found=head)
            return
        check_batch(workflow_id, events, expected_seq)
        originator = workflow_id.uuid
        stored = [
            StoredEvent(
                originator_id=originator,
                originator_version=event.envelope.seq,
                topic=_TOPIC_PREFIX + type(event).__name__,
                state=_TO_MSGPACK(event)[1:],
            )
            for event in events
        ]
        try:
            self.recorder.insert_events(stored)
        except IntegrityError:
            raise SequenceConflict(expected=expected_seq, found=self._head(workflow_id)) from None

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        return await self.read_history_from(workflow_id, 1)

    async def read_history_from(self, workflow_id: WorkflowId, from_seq: int) -> list[Event]:
        check_workflow_id(workflow_id)
        check_seq(from_seq, "from_seq")
        gt = from_seq - 1 if from_seq > 1 else None
        selected = self.recorder.select_events(workflow_id.uuid, gt=gt)
        if not selected:
            return []
        data = _msgpack.MARKER + b"".join(stored.state for stored in selected)
        return _FROM_MSGPACK(data, list[Event])  # type: ignore[no-any-return]
