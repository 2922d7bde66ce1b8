"""Benchmarks of aion-store: the standard workloads, the stores they compare, and the
naive baseline (``NaiveInMemoryStore``).

The workloads are defined once here and shared by the pytest-benchmark files in
``benchmarks/`` and by ``aion-store bench``. Stdlib and ``aion_store`` only;
``eventsourcing`` is an optional peer (see :func:`available_stores`).
"""

from __future__ import annotations

from aion_store.bench.naive import NaiveInMemoryStore
from aion_store.bench.workloads import (
    BYTES_PER_EVENT,
    SECONDS,
    STORES,
    WORKLOADS,
    Sampler,
    Sizes,
    Workload,
    available_stores,
    count_label,
    forget_inputs,
    make_store,
    measure,
    timed,
    workloads_at,
)

__all__ = [
    "BYTES_PER_EVENT",
    "SECONDS",
    "STORES",
    "WORKLOADS",
    "NaiveInMemoryStore",
    "Sampler",
    "Sizes",
    "Workload",
    "available_stores",
    "count_label",
    "forget_inputs",
    "make_store",
    "measure",
    "timed",
    "workloads_at",
]
