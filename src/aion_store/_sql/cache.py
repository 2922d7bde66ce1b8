"""Decoded histories a SQL store keeps between reads, fresh by construction.

A history only ever grows, by appends at its head: the events a store has once read
stay exactly what the database holds, whoever appends next. So the cache keeps decoded
*prefixes*, and a read still asks the database for every row past the cached prefix:
it can never serve a history that another process has appended to since, and a hot
history costs one indexed query that returns no rows plus a list copy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from aion_store.events import Event

__all__ = ["HistoryCache"]


class HistoryCache:
    """Decoded history prefixes by workflow key, least recently read evicted first,
    whose estimated memory (``aion_store._cache``) stays within ``budget`` bytes (0:
    nothing is kept). Thread-safe."""

    __slots__ = ("_entries", "_lock", "budget", "cost")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        #: The estimated memory of what is kept.
        self.cost = 0
        # key -> (the decoded prefix, its estimated memory)
        self._entries: OrderedDict[bytes, tuple[list[Event], int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many events are kept."""
        with self._lock:
            return sum(len(events) for events, _ in self._entries.values())

    def get(self, key: bytes) -> tuple[list[Event], int]:
        """The cached prefix of ``key``'s history and its cost (``([], 0)`` when none);
        do not mutate the list."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return [], 0
            self._entries.move_to_end(key)
            return entry

    def put(self, key: bytes, events: list[Event], cost: int) -> None:
        """Keep ``events`` (the whole prefix from seq 1, estimated at ``cost`` bytes) as
        ``key``'s history."""
        with self._lock:
            self._drop(key)
            if not events or cost > self.budget:
                return
            self._entries[key] = (events, cost)
            self.cost += cost
            while self.cost > self.budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.cost -= evicted

    def discard(self, key: bytes) -> None:
        """Forget ``key``'s history (its workflow closed: it will rarely be read again)."""
        with self._lock:
            self._drop(key)

    def _drop(self, key: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.cost -= old[1]
