"""How big the benchmark workloads are: :class:`Sizes`, and how workload ids write a size.

Contract: ``Sizes.default()`` is what the README's numbers come from, ``Sizes.quick()`` a
smoke run 5-10x smaller; every field is a positive count that one or more workloads read
(``aion-store bench`` makes a ``--flag`` of each). :func:`count_label` writes a size the
way workload ids name it (``full_read_100k_cold``). Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

__all__ = ["Sizes", "count_label"]


@dataclass(frozen=True)
class Sizes:
    """How big each workload is. ``Sizes.default()`` for real numbers, ``Sizes.quick()``
    for a smoke run; override any field with ``sizes.with_(name=value)``."""

    #: append_many / append_batch10: this many workflows, each receiving ...
    workflows: int = 10_000
    #: ... this many events (20: append_batch10 appends twice to each workflow, so the
    #: second batch meets a history already there).
    events_per_workflow: int = 20
    #: tail_append_short: the history length appended to.
    short_history: int = 100
    #: tail_append_long: the history length appended to.
    long_history: int = 10_000
    #: tail_append_*: appends per sample (spread so no history grows more than 10%).
    tail_appends: int = 50
    #: full_read_1k_cold, full_read_warm, suffix_read_1k: the history length.
    small_history: int = 1_000
    #: full_read_100k_cold, full_read_100k_hot, suffix_read_100k: the history length.
    big_history: int = 100_000
    #: suffix_read_*: events read from the end.
    suffix: int = 10
    #: expired_timers: timers scheduled ...
    timers: int = 100_000
    #: ... of which this many are due.
    due_timers: int = 100
    #: timer_poll_loop: timers scheduled, their fire times spread over the loop's 100 polls.
    poll_timers: int = 10_000
    #: list_active, query_running: workflows in the store (half of them terminal) ...
    active_workflows: int = 20_000
    #: ... with this many events each.
    active_events: int = 6
    #: mixed_engine, mixed_engine_small_cache: concurrent workflows ...
    mixed_workflows: int = 10_000
    #: ... with this many events each (start to completion).
    mixed_events: int = 12
    #: mixed_engine*: an ``expired_timers`` poll every this many operations ...
    poll_every: int = 1_000
    #: ... and a ``list_active`` every this many.
    list_active_every: int = 10_000
    #: memory_per_event, memory_per_event_running, disk_per_event: workflows ...
    memory_workflows: int = 500
    #: ... with this many events each.
    memory_events: int = 40
    #: durable_append, durable_append_100_tasks: 1-event appends per sample (each one
    #: committed durably: an fsync when not shared).
    durable_appends: int = 400

    @classmethod
    def default(cls) -> Sizes:
        """The sizes the numbers in the README come from (all stores: about 5 minutes)."""
        return cls()

    @classmethod
    def quick(cls) -> Sizes:
        """About 5-10x smaller: every workload on every store in well under a minute."""
        return cls(
            workflows=1_000,
            events_per_workflow=20,
            long_history=2_000,
            tail_appends=20,
            big_history=20_000,
            timers=20_000,
            poll_timers=2_000,
            active_workflows=4_000,
            mixed_workflows=1_000,
            poll_every=200,
            list_active_every=2_000,
            memory_workflows=100,
            memory_events=20,
            durable_appends=200,
        )

    def with_(self, **overrides: int) -> Sizes:
        """A copy with some fields replaced."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"Sizes has no field {', '.join(unknown)}")
        return replace(self, **overrides)


def count_label(count: int) -> str:
    """A count as workload ids write it: ``60``, ``1k``, ``20k``, ``100k``, ``2m``, ``1500``."""
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return str(count)
