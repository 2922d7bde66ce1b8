"""Benchmarks of aion-store: the standard workloads, the stores they compare, and the
naive baseline (``NaiveInMemoryStore``).

The workloads are defined once here and shared by the pytest-benchmark files in
``benchmarks/`` and by ``aion-store bench``. Stores come in families, each measured
against its own reference: ``memory`` (against ``naive``) and ``sqlite`` (against
``sqlite_floor``, the bare SQLite floor: :mod:`aion_store.bench.durable`). Stdlib and
``aion_store`` only; ``eventsourcing`` is an optional peer (see :func:`available_stores`).
"""

from __future__ import annotations

from aion_store.bench.naive import NaiveInMemoryStore
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
    "workloads_at",
]
