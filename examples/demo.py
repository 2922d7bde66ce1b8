"""A short tour: build a workflow history, store it, project its status, print its JSON."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aion_store
from aion_store import (
    ActivityId,
    Event,
    EventEnvelope,
    InMemoryStore,
    PackageVersion,
    Payload,
    RunId,
    WorkflowFilter,
    WorkflowId,
    WriteToken,
    status_from_events,
    to_json,
)


def history(workflow_id: WorkflowId) -> list[Event]:
    start = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

    def envelope(seq: int) -> EventEnvelope:
        return EventEnvelope(seq, start + timedelta(milliseconds=250 * seq), workflow_id)

    return [
        Event.WorkflowStarted(
            envelope(1),
            "checkout",
            Payload.from_json({"order": 42}),
            RunId.new_v4(),
            None,
            PackageVersion("0123abcd"),
        ),
        Event.ActivityScheduled(envelope(2), ActivityId(1), "charge_card", Payload.from_json(1999)),
        Event.ActivityStarted(envelope(3), ActivityId(1)),
        Event.ActivityCompleted(envelope(4), ActivityId(1), Payload.from_json({"charged": True})),
        Event.WorkflowCompleted(envelope(5), Payload.from_json("ok")),
    ]


async def main() -> None:
    store = InMemoryStore()
    workflow_id = WorkflowId.new_v4()
    events = history(workflow_id)
    await store.append(WriteToken.recorder(), workflow_id, events[:2], 0)
    await store.append(WriteToken.recorder(), workflow_id, events[2:], 2)
    stored = await store.read_history(workflow_id)
    print(f"aion-store {aion_store.__version__}, compiled core: {aion_store.compiled}")
    print(f"stored {len(stored)} events; status: {status_from_events(stored).value}")
    print(f"query: {await store.query(WorkflowFilter(workflow_type='checkout'))}")
    print(f"run chain: {await store.read_run_chain(workflow_id)}")
    print("JSON wire form (serde-compatible):")
    print("[" + ",".join(to_json(event) for event in stored) + "]")


if __name__ == "__main__":
    asyncio.run(main())
