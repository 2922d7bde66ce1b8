"""Write v1.db: a SqliteStore file of schema version 1, kept so that every later version
is tested to open (and migrate) it. Run once with the code of schema version 1:

    python tests/data/sqlite/make_v1.py
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from aion_store import (
    Event,
    EventEnvelope,
    PackageRecord,
    PackageVersion,
    Payload,
    RunId,
    TimerId,
    VisibilityRecord,
    WorkflowId,
    WorkflowStatus,
    WriteToken,
)
from aion_store.sqlite import SCHEMA_VERSION, SqliteStore

AT = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
TARGET = Path(__file__).with_name("v1.db")


async def main() -> None:
    assert SCHEMA_VERSION == 1, "this file is the first version's; do not regenerate it later"
    TARGET.unlink(missing_ok=True)
    async with SqliteStore.open(TARGET) as store:
        for number in range(1, 4):
            workflow_id = WorkflowId(f"00000000-0000-4000-8000-{number:012x}")
            run_id = RunId(f"00000000-0000-4000-9000-{number:012x}")
            events = [
                Event.WorkflowStarted(
                    EventEnvelope(1, AT, workflow_id),
                    "order",
                    Payload.from_json({"n": number}),
                    run_id,
                    None,
                    PackageVersion("v1"),
                ),
                Event.SignalReceived(EventEnvelope(2, AT, workflow_id), "go", Payload.from_json(1)),
                Event.WorkflowCompleted(EventEnvelope(3, AT, workflow_id), Payload.from_json(2)),
            ]
            await store.append(WriteToken.recorder(), workflow_id, events, 0)
        await store.schedule_timer(workflow_id, TimerId.named("t"), AT)
        await store.record_visibility(
            VisibilityRecord(
                workflow_id, run_id, "order", WorkflowStatus.COMPLETED, AT, AT, {"k": 1}
            )
        )
        await store.put_package(PackageRecord("order", "v1", b"zip", AT))


if __name__ == "__main__":
    asyncio.run(main())
    print(f"wrote {TARGET}")
