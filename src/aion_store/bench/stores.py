"""The stores of the benchmarks, in families, and how each one is made.

A :class:`Family` is the stores measured side by side against one reference store (one
table of ``aion-store bench``, one panel of its chart). ``FAMILIES``:

- ``memory``: ``compiled`` and ``pure`` are ``InMemoryStore`` on its two engines;
  ``naive`` (the reference) is :class:`~aion_store.bench.naive.NaiveInMemoryStore`;
  ``eventsourcing`` an adapter over the ``eventsourcing`` library's in-memory recorder
  (:mod:`aion_store.bench.peer`).
- ``sqlite``: ``SqliteStore``, the bare SQLite floor ``sqlite_floor`` (the reference)
  and eventsourcing's SQLite recorder, each on a fresh temp file
  (:mod:`aion_store.bench.durable`).
- ``postgres``: ``PostgresStore``, the bare asyncpg floor ``postgres_floor`` (the
  reference) and eventsourcing's PostgreSQL recorder, each in a fresh schema of the
  server the DSN names (:mod:`aion_store.bench.durable_postgres`; the DSN comes from
  ``aion-store bench --postgres-dsn`` or ``AION_STORE_POSTGRES_DSN``).

Stores are made with ``await open_store(id)`` and closed with ``await close_store(store)``
(the durable ones have threads, files, connections and schemas); the in-memory ones can
also be made with :func:`make_store`. :func:`available_stores` lists the ids that can be
made here, and :func:`unavailable_reason` says why one cannot.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from aion_store import _select
from aion_store.bench.durable import DURABLE_STORES, open_durable
from aion_store.bench.durable_postgres import POSTGRES_STORES, open_postgres
from aion_store.bench.durable_postgres import unavailable_reason as _postgres_unavailable
from aion_store.bench.naive import NaiveInMemoryStore
from aion_store.memory import InMemoryStore

__all__ = [
    "ALL_STORES",
    "COMPLETE",
    "DURABLE",
    "FAMILIES",
    "MEMORY",
    "POSTGRES",
    "REFERENCES",
    "SQLITE",
    "STORES",
    "Family",
    "available_stores",
    "family_of",
    "make_store",
    "open_store",
    "unavailable_reason",
]


@dataclass(frozen=True)
class Family:
    """Stores measured side by side against one reference store (one table, one panel).

    A family of durable stores needs its stores on the same disk or server; adding one
    takes a ``Family`` here, its stores in :func:`open_store` and
    :func:`unavailable_reason`, and the workloads that apply naming them."""

    name: str
    #: Its store ids, in report order; ``reference`` is one of them.
    stores: tuple[str, ...]
    #: The store every ratio of the family is taken against (reference / store).
    reference: str
    #: What the family's table is titled.
    title: str
    #: Its stores write to disk: a sampler flushes the preparation's writes (``os.sync``)
    #: before timing, so the timed commits do not pay for them.
    durable: bool = False


#: The families, in report order.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "memory",
            ("compiled", "pure", "naive", "eventsourcing"),
            "naive",
            "in memory",
        ),
        Family(
            "sqlite",
            DURABLE_STORES,
            "sqlite_floor",
            "SQLite file on this disk, durability full (WAL, synchronous=FULL)",
            durable=True,
        ),
        Family(
            "postgres",
            POSTGRES_STORES,
            "postgres_floor",
            "PostgreSQL server of --postgres-dsn, a fresh schema per store "
            "(synchronous_commit as the server runs it)",
            durable=True,
        ),
    )
}
#: Every store id, in report order.
STORES: tuple[str, ...] = tuple(store for family in FAMILIES.values() for store in family.stores)
#: The reference store of every store id (the reference's own is itself).
REFERENCES: dict[str, str] = {
    store: family.reference for family in FAMILIES.values() for store in family.stores
}

#: The store ids of each family, and the groups the workloads run on.
MEMORY: frozenset[str] = frozenset(FAMILIES["memory"].stores)
SQLITE: frozenset[str] = frozenset(FAMILIES["sqlite"].stores)
POSTGRES: frozenset[str] = frozenset(FAMILIES["postgres"].stores)
#: The durable stores: the sqlite and postgres families.
DURABLE: frozenset[str] = SQLITE | POSTGRES
#: Appends and reads: every store of every family.
ALL_STORES: frozenset[str] = MEMORY | DURABLE
#: The contract's queries (timers, listing): the complete stores.
COMPLETE: frozenset[str] = frozenset({"compiled", "pure", "naive", "sqlite", "postgres"})

_PEERS = {
    "eventsourcing": "aion_store.bench.peer",
    "eventsourcing_sqlite": "eventsourcing.sqlite",
}
_INSTALL_PEERS = "pip install 'aion-store[peers]'"


def family_of(store_id: str) -> Family | None:
    """The family of ``store_id`` (None for an id this version does not know)."""
    for family in FAMILIES.values():
        if store_id in family.stores:
            return family
    return None


def unavailable_reason(store_id: str) -> str | None:
    """Why ``store_id`` cannot be made here (None: it can): the compiled core not built,
    ``eventsourcing`` not installed, no PostgreSQL server given or its driver missing."""
    if store_id == "compiled":
        try:
            _select.load_core()
        except ImportError:
            return "the compiled core is not built (pip install -e . with Cython)"
        return None
    if store_id in _PEERS:
        try:
            importlib.import_module("aion_store.bench.peer")
            importlib.import_module(_PEERS[store_id])
        except ImportError:
            return f"eventsourcing is not installed ({_INSTALL_PEERS})"
        return None
    if store_id in POSTGRES:
        return _postgres_unavailable(store_id)
    if store_id not in STORES:
        return f"unknown store {store_id!r}"
    return None


def available_stores() -> tuple[str, ...]:
    """The store ids that can be made here: the compiled core built, eventsourcing
    installed, and for the postgres family a DSN given and asyncpg installed (the
    sqlite family needs only the standard library). Nothing connects to a server."""
    return tuple(store for store in STORES if unavailable_reason(store) is None)


async def open_store(store_id: str, *, cache_bytes: int | None = None) -> Any:
    """A fresh, empty store of any family; ``await close_store(store)`` when done.
    ``cache_bytes`` bounds the decoded-event cache of the compiled core, ``SqliteStore``
    and ``PostgresStore`` (0: off, every read decodes; None: the default); the other
    stores ignore it. The durable stores get a new temp file or schema each, removed
    when closed."""
    if store_id in SQLITE:
        return await open_durable(store_id, cache_bytes=cache_bytes)
    if store_id in POSTGRES:
        return await open_postgres(store_id, cache_bytes=cache_bytes)
    return make_store(store_id, cache_bytes=cache_bytes)


def make_store(store_id: str, *, cache_bytes: int | None = None) -> Any:
    """A fresh, empty in-memory store (the family ``memory``: nothing to close). The
    durable stores are opened with ``await open_store(id)``. ``cache_bytes`` bounds the
    compiled core's decoded-event cache (0: off; None: the default)."""
    if store_id in DURABLE:
        raise ValueError(f"store {store_id!r} is durable: open it with await open_store()")
    if store_id == "compiled":
        return InMemoryStore(engine="compiled", decoded_cache_bytes=cache_bytes)
    if store_id == "pure":
        return InMemoryStore(engine="pure")
    if store_id == "naive":
        return NaiveInMemoryStore()
    if store_id == "eventsourcing":
        from aion_store.bench.peer import EventSourcingStore

        return EventSourcingStore()
    raise ValueError(f"unknown store {store_id!r}; expected one of {', '.join(STORES)}")
