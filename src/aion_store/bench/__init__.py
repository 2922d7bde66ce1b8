"""Benchmarks of aion-store: the standard workloads, the stores they compare, and the
naive baseline (``NaiveInMemoryStore``).

The workloads are defined once here and shared by the pytest-benchmark files in
``benchmarks/`` and by ``aion-store bench``. Stores come in families
(:mod:`aion_store.bench.stores`), each measured against its own reference: ``memory``
(against ``naive``), ``sqlite`` (against ``sqlite_floor``, the bare SQLite floor:
:mod:`aion_store.bench.durable`) and ``postgres`` (against ``postgres_floor``, the bare
asyncpg floor, on the server of ``AION_STORE_POSTGRES_DSN`` or ``aion-store bench
--postgres-dsn``: :mod:`aion_store.bench.durable_postgres`). Stdlib and ``aion_store``
only; ``eventsourcing`` is an optional peer and the postgres family needs ``asyncpg``
and a server (see :func:`available_stores`, :func:`unavailable_reason`).
"""

from __future__ import annotations

from aion_store.bench.naive import NaiveInMemoryStore
from aion_store.bench.stores import unavailable_reason
from aion_store.bench.workloads import (
    BYTES_PER_EVENT,
    FAMILIES,
    REFERENCES,
    SECONDS,
    STORES,
    WORKLOADS,
    Family,
    Sampler,
    Sizes,
    Workload,
    available_stores,
    close_store,
    count_label,
    family_of,
    forget_inputs,
    make_store,
    measure,
    open_store,
    timed,
    workloads_at,
)

__all__ = [
    "BYTES_PER_EVENT",
    "FAMILIES",
    "REFERENCES",
    "SECONDS",
    "STORES",
    "WORKLOADS",
    "Family",
    "NaiveInMemoryStore",
    "Sampler",
    "Sizes",
    "Workload",
    "available_stores",
    "close_store",
    "count_label",
    "family_of",
    "forget_inputs",
    "make_store",
    "measure",
    "open_store",
    "timed",
    "unavailable_reason",
    "workloads_at",
]
