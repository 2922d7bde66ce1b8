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
    holding at most ``capacity`` events in all (0: nothing is kept). Thread-safe."""

    __slots__ = ("_entries", "_lock", "_size", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[bytes, list[Event]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many events are kept."""
        return self._size

    def get(self, key: bytes) -> list[Event]:
        """The cached prefix of ``key``'s history (``[]`` when none); do not mutate it."""
        with self._lock:
            events = self._entries.get(key)
            if events is None:
                return []
            self._entries.move_to_end(key)
            return events

    def put(self, key: bytes, events: list[Event]) -> None:
        """Keep ``events`` (the whole prefix from seq 1) as ``key``'s history."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old)
            if not events or len(events) > self.capacity:
                return
            self._entries[key] = events
            self._size += len(events)
            while self._size > self.capacity:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)
