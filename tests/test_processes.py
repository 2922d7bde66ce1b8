"""The durable stores under real processes: SIGKILL at random moments, and many writing
processes racing on the same workflows (SPEC §14: durability, atomicity, many writers).

The writers are ``tests/store_writer.py`` in child processes (which run the same path as
this one: ``AION_STORE_PURE`` is inherited). Every store kind runs the same checks;
``store_address`` gives a fresh store of each kind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion_store import WorkflowId

WRITER = Path(__file__).with_name("store_writer.py")


@pytest.fixture(params=["sqlite", "postgres"])
def store_address(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of each durable kind, as ``store_writer.py`` names it."""
    if request.param == "sqlite":
        yield str(tmp_path / "engine.db")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    yield f"{dsn}#{request.getfixturevalue('schema')}"


async def open_store(address: str) -> Any:
    sys.path.insert(0, str(WRITER.parent))
    from store_writer import open_store as open_address

    return await open_address(address)


def writer(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def check_histories(address: str, workflows: list[WorkflowId]) -> dict[WorkflowId, list[Any]]:
    """Every history is contiguous from seq 1 and made of whole batches; return them."""
    store = await open_store(address)
    try:
        histories = {
            workflow_id: await store.read_history(workflow_id) for workflow_id in workflows
        }
    finally:
        await store.close()
    for workflow_id, events in histories.items():
        assert [event.seq for event in events] == list(range(1, len(events) + 1)), workflow_id
        batches: dict[str, list[int]] = defaultdict(list)
        sizes: dict[str, int] = {}
        for event in events:
            mark = event.payload.to_json()
            batches[mark["batch"]].append(mark["index"])
            sizes[mark["batch"]] = mark["size"]
        for name, indexes in batches.items():
            assert indexes == list(range(sizes[name])), f"batch {name} is partly there: {indexes}"
    return histories


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_append_and_leaves_no_partial_batch(
    store_address: str,
) -> None:
    rng = random.Random(20261207)
    workflows = [WorkflowId.new_v4() for _ in range(4)]
    names = ",".join(map(str, workflows))
    acknowledged: dict[str, int] = {}
    for round_number in range(8):
        process = writer("crash", store_address, names, str(rng.randrange(1 << 30)))
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n", process.stderr.read()  # type: ignore[union-attr]
        acks = rng.randint(1, 80)
        for _ in range(acks):
            line = process.stdout.readline()
            assert line.startswith("ack "), (line, process.stderr.read())  # type: ignore[union-attr]
            _, workflow, head = line.split()
            acknowledged[workflow] = int(head)
        # A random moment between commits, or inside one (a commit takes about a millisecond).
        if rng.random() < 0.7:
            deadline = time.perf_counter() + rng.random() * 0.004
            while time.perf_counter() < deadline:
                pass
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate()
        assert process.returncode == -signal.SIGKILL, round_number
        for line in rest.splitlines():
            _, workflow, head = line.split()
            acknowledged[workflow] = int(head)
        histories = asyncio.run(check_histories(store_address, workflows))
        for workflow_id, events in histories.items():
            assert len(events) >= acknowledged.get(str(workflow_id), 0), (
                f"round {round_number}: {workflow_id} lost acknowledged events: "
                f"{len(events)} < {acknowledged[str(workflow_id)]}"
            )
    assert sum(acknowledged.values()) > 8


@pytest.mark.slow
def test_many_processes_append_exactly_once(store_address: str) -> None:
    workflows = [WorkflowId.new_v4() for _ in range(3)]
    names = ",".join(map(str, workflows))
    # Create the store (and its schema) before the race, as a deployment does.
    asyncio.run(check_histories(store_address, workflows))
    processes = [
        writer("race", store_address, names, str(seed), f"p{seed}", "60") for seed in range(4)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports += [json.loads(line) for line in out.splitlines()]
    histories = asyncio.run(check_histories(store_address, workflows))
    for workflow_id, events in histories.items():
        mine = [report for report in reports if report["workflow"] == str(workflow_id)]
        won = sorted((r for r in mine if "found" not in r), key=lambda r: r["expected"])
        # Exactly once: the successful appends tile the history, in order, with no gap.
        head = 0
        for report in won:
            assert report["expected"] == head, (workflow_id, report, head)
            head += report["count"]
        assert head == len(events)
        stored = {event.payload.to_json()["batch"] for event in events}
        assert stored == {report["batch"] for report in won}
        # A loser's `found` is a head the workflow really had, never its own expectation.
        boundaries = {0} | {r["expected"] + r["count"] for r in won}
        for report in mine:
            if "found" in report:
                assert report["found"] in boundaries and report["found"] != report["expected"]
    assert sum(1 for r in reports if "found" in r) > 0, "the writers never raced"
    assert sum(1 for r in reports if "found" not in r) >= len(workflows)
