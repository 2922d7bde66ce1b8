"""The durable families' own workloads (sqlite and postgres): their ``prepare`` and
``run`` functions, registered by :mod:`aion_store.bench.workloads`.

Contract: as in :mod:`aion_store.bench.store_workloads` -- ``prepare_*(store_factory,
sizes)`` is untimed and its docstring describes the workload, ``run_*(state)`` is timed
(``disk_per_event``: measures and returns bytes per event). Every store starts with its
WAL at its working size (:func:`~aion_store.bench.durable.prime_wal`) where commits are
timed, and the harness flushes the preparation's writes (``os.sync``) before timing.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from aion_store.bench import data
from aion_store.bench.durable import disk_bytes, prime_wal
from aion_store.bench.filling import TOKEN, Appends, fill, round_robin
from aion_store.bench.harness import StoreFactory
from aion_store.bench.sizes import Sizes
from aion_store.events import Event
from aion_store.ids import WorkflowId

__all__ = [
    "DURABLE_TASKS",
    "DURABLE_WORKFLOWS",
    "Concurrent",
    "Disk",
    "prepare_disk",
    "prepare_durable_append",
    "prepare_durable_tasks",
    "run_disk",
    "run_durable_tasks",
]

#: Durable appends per sample go round-robin over this many workflows ...
DURABLE_WORKFLOWS = 4
#: ... or come from this many concurrent tasks.
DURABLE_TASKS = 100


async def prepare_durable_append(factory: StoreFactory, sizes: Sizes) -> Appends:
    """``durable_appends`` (400) 1-event appends from one task, each awaited before the
    next, round-robin over a few workflows (4), starting from empty ones.

    An engine's worker recording one step at a time: every append is its own durable
    commit (``durability="full"``: an fsync of the WAL) that nothing can share. Compare
    with the floor: the bare ``BEGIN IMMEDIATE``/``INSERT``/``COMMIT`` of the same bytes
    through the same hop to a thread; ``SqliteStore`` also checks the head, projects the
    status and runs, and writes them in the same transaction. On PostgreSQL the floor is
    one autocommitted ``INSERT`` from the event loop (one round trip, one commit);
    ``PostgresStore`` sends one call of its ``append`` function. Every store starts with
    its WAL at its working size (:func:`~aion_store.bench.durable.prime_wal`, untimed),
    as in a long-running engine, as do ``tail_append_*`` on the durable stores.
    """
    per_workflow = math.ceil(sizes.durable_appends / DURABLE_WORKFLOWS)
    histories = data.histories(0, DURABLE_WORKFLOWS, per_workflow, "none")
    appends = round_robin(histories, 1)[: sizes.durable_appends]
    store = await factory()
    await prime_wal(store)
    return Appends(store, appends)


@dataclass
class Concurrent:
    """A fresh store and each task's appends, in order."""

    store: Any
    tasks: list[list[tuple[WorkflowId, list[Event], int]]]


async def prepare_durable_tasks(factory: StoreFactory, sizes: Sizes) -> Concurrent:
    """The same ``durable_appends`` (400) 1-event appends from 100 concurrent tasks, each
    appending to its own workflow, every append awaited before that task's next.

    Many workflows progressing at once, as in a busy engine: ``SqliteStore``'s writer
    commits the appends waiting together in one transaction (group commit: one fsync for
    all of them), and ``PostgresStore`` sends them in one call of its ``append``
    function. One op = one append; compare events/s with ``durable_append``. The floors
    have no group commit (a transaction per call: the PostgreSQL floor runs up to 10 at
    once, on its connections); eventsourcing's recorders block the loop, so their tasks
    run one after the other.
    """
    per_task = math.ceil(sizes.durable_appends / DURABLE_TASKS)
    histories = data.histories(0, DURABLE_TASKS, per_task, "none")
    tasks: list[list[tuple[WorkflowId, list[Event], int]]] = [[] for _ in histories]
    for index, (owner, batch, expected) in enumerate(round_robin(histories, 1)):
        if index >= sizes.durable_appends:
            break
        tasks[index % DURABLE_TASKS].append((owner, batch, expected))
    store = await factory()
    await prime_wal(store)
    return Concurrent(store, tasks)


async def run_durable_tasks(state: Concurrent) -> None:
    append = state.store.append

    async def task(appends: list[tuple[WorkflowId, list[Event], int]]) -> None:
        for workflow_id, batch, expected in appends:
            await append(TOKEN, workflow_id, batch, expected)

    await asyncio.gather(*(task(appends) for appends in state.tasks))


@dataclass
class Disk:
    factory: StoreFactory
    store: Any
    events: int
    notes: dict[str, float] = field(default_factory=dict)


async def prepare_disk(factory: StoreFactory, sizes: Sizes) -> Disk:
    """Bytes on disk per stored event: ``memory_workflows`` (500) complete workflows of
    ``memory_events`` (40) events, the ``memory_per_event`` mix, in a fresh file.

    Method, identical for every store: fill the file (each workflow's history in one
    append, the workflows concurrently: ``VACUUM`` rewrites the file, so how it was
    filled does not matter), close the store (which checkpoints the WAL into the file),
    ``VACUUM`` with a plain connection, then the file's size divided by the number of
    events. It includes the fixed size of an empty database (its schema's pages), which
    the notes give as ``empty_file_bytes``; compare with the compiled store's
    ``memory_per_event``. On PostgreSQL the same with the store's schema for the file:
    close its connections, ``VACUUM FULL`` every table of the schema, then the bytes of
    their heaps, indexes and TOAST (``pg_total_relation_size``).
    """
    histories = data.histories(0, sizes.memory_workflows, sizes.memory_events, "all")
    store = await factory()
    await fill(store, histories, batch=sizes.memory_events)
    return Disk(factory, store, sizes.memory_workflows * sizes.memory_events)


async def run_disk(state: Disk) -> float:
    size = await disk_bytes(state.store)
    empty = await disk_bytes(await state.factory())
    state.notes.update(file_bytes=float(size), empty_file_bytes=float(empty))
    return float(size / state.events)
