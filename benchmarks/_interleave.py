"""The measuring of ``test_durable``: interleaved sides, medians over rounds, and what the
PostgreSQL server counts (its commits and WAL syncs).

A *side* is one store doing one kind of block (``side(rep)`` runs block ``rep`` and
returns its ops); :func:`interleaved` runs every side's blocks in an order that rotates
(and reverses) every rep, so drift and bursts of load hit every side alike, and returns
each side's median seconds per op. A comparison holds each store ``ROUNDS`` times (``name#0``,
``name#1`` ...): :func:`side` and :func:`ratio` take the median over the rounds.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aion_store.bench import forget_inputs
from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.store import WriteToken

TOKEN = WriteToken.recorder()
#: Independent instances of each store (fresh files or schemas, fresh threads and
#: connections) measured side by side: a comparison's ratio is the median of theirs.
ROUNDS = 3

Side = Callable[[int], Awaitable[int]]
Append = tuple[WorkflowId, list[Event], int]


async def interleaved(sides: dict[str, Side], reps: int) -> dict[str, float]:
    """The median seconds per op of each side: ``side(rep)`` runs one block and returns
    its ops; blocks run in an order that rotates (and reverses) every rep."""
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for rep in range(reps + 1):
        shift = rep % len(names)
        order = names[shift:] + names[:shift]
        if rep % 2:
            order.reverse()
        for name in order:
            start = clock()
            ops = await sides[name](rep)
            elapsed = clock() - start
            if rep:  # the first rep warms up
                times[name].append(elapsed / ops)
    return {name: statistics.median(values) for name, values in times.items()}


def side(medians: dict[str, float], name: str) -> float:
    """The median over the rounds of side ``name`` (``name#0``, ``name#1`` ...)."""
    return statistics.median(medians[f"{name}#{r}"] for r in range(ROUNDS))


def ratio(medians: dict[str, float], top: str, bottom: str) -> tuple[float, list[float]]:
    """``top / bottom``: the median of the rounds' ratios, and the ratios."""
    ratios = [medians[f"{top}#{r}"] / medians[f"{bottom}#{r}"] for r in range(ROUNDS)]
    return statistics.median(ratios), ratios


def settle() -> None:
    """The inputs go, and the preparation's writes reach the disk, before any timing."""
    forget_inputs()
    if hasattr(os, "sync"):
        os.sync()


def round_robin(histories: Sequence[Sequence[Event]]) -> list[Append]:
    """1-event appends of ``histories``, one workflow after another, round by round."""
    appends = []
    for position in range(max(len(events) for events in histories)):
        for events in histories:
            if position < len(events):
                event = events[position]
                appends.append((event.envelope.workflow_id, [event], event.envelope.seq - 1))
    return appends


def appender(store: Any, blocks: Sequence[Sequence[Append]]) -> Side:
    """Block ``rep``: the appends of ``blocks[rep]``, one after the other."""

    async def block(rep: int) -> int:
        append = store.append
        for workflow_id, batch, expected in blocks[rep]:
            await append(TOKEN, workflow_id, batch, expected)
        return len(blocks[rep])

    return block


def together(store: Any, per_task: Sequence[Sequence[Append]], per_block: int) -> Side:
    """Block ``rep``: ``per_block`` appends of each task's list, the tasks concurrently."""

    async def task(appends: Sequence[Append]) -> None:
        for workflow_id, batch, expected in appends:
            await store.append(TOKEN, workflow_id, batch, expected)

    async def block(rep: int) -> int:
        chunk = slice(rep * per_block, (rep + 1) * per_block)
        await asyncio.gather(*(task(appends[chunk]) for appends in per_task))
        return len(per_task) * per_block

    return block


def reader(store: Any, workflow_id: WorkflowId, length: int, from_seq: int, block: int) -> Side:
    """Block: ``block`` reads of ``workflow_id`` from ``from_seq`` (checked once)."""

    async def reads(rep: int) -> int:
        read = store.read_history_from
        for _ in range(block):
            result = await read(workflow_id, from_seq)
        assert len(result) == length - from_seq + 1
        return block

    return reads


async def fill(store: Any, histories: Sequence[Sequence[Event]], batch: int = 1_000) -> None:
    """Each history in ``batch``-event appends, up to 1,000 histories at once."""

    async def one(events: Sequence[Event]) -> None:
        owner = events[0].envelope.workflow_id
        for start in range(0, len(events), batch):
            await store.append(TOKEN, owner, list(events[start : start + batch]), start)

    for first in range(0, len(histories), 1_000):
        await asyncio.gather(*(one(events) for events in histories[first : first + 1_000]))


# -- what the PostgreSQL server counts ------------------------------------------------------

#: Seconds for every other session's statistics to reach shared memory: a backend that
#: flushed less than a second ago keeps its counts pending until it has been idle for
#: PGSTAT_IDLE_INTERVAL (10 s; PostgreSQL 15+).
FLUSH_WAIT = 11.0


class ServerCounter:
    """Transactions the server committed in the database (``pg_stat_database``'s
    ``xact_commit``) and its WAL syncs (``pg_stat_wal``'s ``wal_sync``, PostgreSQL 14+)
    over some work, as the server itself counts them, from a connection of its own.

    Every autocommitted round trip that runs statements is one transaction, read-only
    ones included (a pool's reset query too); ``wal_sync`` counts the fsyncs that made
    commits durable. The counts include the counter's own three statements and anything
    else running in the database meanwhile (autovacuum): compare large counts only.
    Each reading waits :data:`FLUSH_WAIT` for the other sessions' counts."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.version = connection.get_server_version().major

    @classmethod
    async def open(cls, dsn: str) -> ServerCounter:
        import asyncpg

        return cls(await asyncpg.connect(dsn))

    async def read(self) -> tuple[int, int]:
        await asyncio.sleep(FLUSH_WAIT)
        if self.version >= 15:
            await self.connection.execute("SELECT pg_stat_force_next_flush()")
        await self.connection.execute("SELECT pg_stat_clear_snapshot()")
        wal = "(SELECT wal_sync FROM pg_stat_wal)" if self.version >= 14 else "0"
        row = await self.connection.fetchrow(
            "SELECT (SELECT xact_commit FROM pg_stat_database "
            f"WHERE datname = current_database()), {wal}"
        )
        return int(row[0]), int(row[1])

    async def count(self, work: Callable[[], Awaitable[Any]]) -> dict[str, int]:
        """``server_commits`` and ``server_wal_syncs`` while ``work()`` ran."""
        before = await self.read()
        await work()
        after = await self.read()
        return {"server_commits": after[0] - before[0], "server_wal_syncs": after[1] - before[1]}

    async def close(self) -> None:
        await self.connection.close()
