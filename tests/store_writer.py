"""A writing process for the crash and many-writer tests of the durable stores.

    python tests/store_writer.py crash STORE WORKFLOWS SEED
    python tests/store_writer.py race STORE WORKFLOWS SEED NAME ATTEMPTS

``STORE`` is a SQLite path or ``postgresql://...#schema``. ``crash``: one task per
workflow appends batches of 1-5 events forever, printing ``ack WORKFLOW HEAD`` (flushed)
after every append that returned; the test SIGKILLs the process at a random moment.
``race``: appends batches to randomly chosen workflows, retrying on conflicts, and prints
one JSON line per attempt: ``{"workflow", "batch", "expected", "count", "found"}`` (``found`` only
for a ``SequenceConflict``). Each event's payload names its batch:
``{"batch": ..., "index": i, "size": n}``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from datetime import datetime, timezone
from typing import Any

from aion_store import (
    Event,
    EventEnvelope,
    Payload,
    SequenceConflict,
    WorkflowId,
    WriteToken,
)

AT = datetime(2024, 1, 1, tzinfo=timezone.utc)
TOKEN = WriteToken.recorder()


async def open_store(address: str) -> Any:
    if address.startswith("postgresql://"):
        from aion_store.postgres import PostgresStore

        dsn, _, schema = address.partition("#")
        return await PostgresStore.connect(dsn, schema=schema or "aion")
    from aion_store.sqlite import SqliteStore

    return await SqliteStore.open(address)


def batch_of(workflow_id: WorkflowId, head: int, size: int, name: str) -> list[Event]:
    return [
        Event.SignalReceived(
            EventEnvelope(head + 1 + index, AT, workflow_id),
            "s",
            Payload.from_json({"batch": name, "index": index, "size": size}),
        )
        for index in range(size)
    ]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def crash(store: Any, workflows: list[WorkflowId], rng: random.Random) -> None:
    async def writer(workflow_id: WorkflowId) -> None:
        head = len(await store.read_history(workflow_id))
        number = 0
        while True:
            size = rng.randint(1, 5)
            name = f"{workflow_id}:{head}:{number}"
            await store.append(TOKEN, workflow_id, batch_of(workflow_id, head, size, name), head)
            head += size
            number += 1
            say(f"ack {workflow_id} {head}")

    say("ready")
    await asyncio.gather(*(writer(workflow_id) for workflow_id in workflows))


async def race(
    store: Any, workflows: list[WorkflowId], rng: random.Random, name: str, attempts: int
) -> None:
    heads = dict.fromkeys(workflows, 0)
    for attempt in range(attempts):
        workflow_id = rng.choice(workflows)
        expected = heads[workflow_id]
        size = rng.randint(1, 3)
        label = f"{name}:{attempt}"
        batch = batch_of(workflow_id, expected, size, label)
        report: dict[str, Any] = {
            "workflow": str(workflow_id),
            "batch": label,
            "expected": expected,
            "count": size,
        }
        try:
            await store.append(TOKEN, workflow_id, batch, expected)
            heads[workflow_id] = expected + size
        except SequenceConflict as conflict:
            report["found"] = conflict.found
            heads[workflow_id] = conflict.found
        say(json.dumps(report))


async def main(arguments: list[str]) -> None:
    mode, address, names, seed = arguments[:4]
    workflows = [WorkflowId(name) for name in names.split(",")]
    rng = random.Random(int(seed))
    store = await open_store(address)
    try:
        if mode == "crash":
            await crash(store, workflows, rng)
        else:
            await race(store, workflows, rng, arguments[4], int(arguments[5]))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
