"""Group commit over a connection pool: appends awaited together go to the server together.

Each append waits in a queue; a *drain* takes every append waiting and sends them as one
call of the schema's ``append`` function: one statement, one transaction, one commit
for all of them, each with its own outcome (stored, or the head it found). While one
group commits, the next one gathers. At most ``lanes`` groups are in flight at once, so
appends never hold more connections than that. A group is ordered by workflow id, so
two groups in flight lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit"]

R = TypeVar("R")


class GroupCommit(Generic[R]):
    """Runs ``commit(requests) -> outcomes`` on groups of submitted requests."""

    def __init__(
        self,
        commit: Callable[[list[R]], Awaitable[list[Any]]],
        order: Callable[[R], Any],
        *,
        lanes: int,
        largest: int = 1_000,
    ) -> None:
        self._commit = commit
        self._order = order
        self._lanes = lanes
        self._largest = largest
        self._waiting: list[tuple[R, asyncio.Future[Any]]] = []
        self._drains: set[asyncio.Task[None]] = set()

    async def submit(self, request: R) -> Any:
        """The outcome of ``request`` once its group has committed (or the group's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((request, future))
        if len(self._drains) < self._lanes:
            drain = loop.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)  # one cancelled before it ran
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_waiting()
        finally:
            # Leave the lanes at once, not in a done callback: the loop runs callbacks
            # in order, so a task that this drain's last commit woke would otherwise
            # submit while the lanes still look full, and wait with no drain left.
            self._drains.discard(asyncio.current_task())

    async def _drain_waiting(self) -> None:
        while self._waiting:
            group = self._waiting[: self._largest]
            del self._waiting[: self._largest]
            group.sort(key=lambda item: self._order(item[0]))
            try:
                outcomes = await self._commit([request for request, _ in group])
            except BaseException as error:
                for _, future in group:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            for (_, future), outcome in zip(group, outcomes):
                if not future.done():
                    future.set_result(outcome)

    async def wait(self) -> None:
        """Until every group submitted so far has committed."""
        while self._drains:
            await asyncio.gather(*self._drains, return_exceptions=True)
