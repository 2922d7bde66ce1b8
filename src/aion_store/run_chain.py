"""Run chains (SPEC §8): one summary per run, ordered by following ``parent_run_id``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aion_store._fields import Record
from aion_store.error import BackendError
from aion_store.events import Event, WorkflowStarted
from aion_store.ids import RunId
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus

__all__ = ["RunSummary", "order_runs", "run_chain_from_history"]


@dataclass(frozen=True, slots=True)
class RunSummary(Record):
    """One run of a workflow: its id, parent run, status and lifetime."""

    run_id: RunId
    parent_run_id: RunId | None
    status: WorkflowStatus
    started_at: datetime
    closed_at: datetime | None = None


def run_chain_from_history(events: Iterable[Event]) -> list[RunSummary]:
    """Project each run (a slice starting at a ``WorkflowStarted``), oldest run first.

    Raises ``BackendError`` unless the runs form one chain from a single root.
    """
    ordered = sorted(events, key=_seq_of)
    runs: list[RunSummary] = []
    start: WorkflowStarted | None = None
    status = WorkflowStatus.RUNNING
    closed_at: datetime | None = None
    for event in ordered:
        projected = LIFECYCLE_STATUS_BY_TAG[event.TAG]
        if projected is None:
            continue
        if isinstance(event, WorkflowStarted):
            if start is not None:
                runs.append(_summary(start, status, closed_at))
            start, status, closed_at = event, WorkflowStatus.RUNNING, None
        elif start is not None:
            status, closed_at = projected, event.envelope.recorded_at
    if start is not None:
        runs.append(_summary(start, status, closed_at))
    return order_runs(runs)


def _seq_of(event: Event) -> int:
    return event.envelope.seq


def _summary(
    start: WorkflowStarted, status: WorkflowStatus, closed_at: datetime | None
) -> RunSummary:
    return RunSummary(
        run_id=start.run_id,
        parent_run_id=start.parent_run_id,
        status=status,
        started_at=start.envelope.recorded_at,
        closed_at=closed_at,
    )


def order_runs(runs: Sequence[RunSummary]) -> list[RunSummary]:
    """Order runs (given in history order) root first, following ``parent_run_id`` links."""
    if not runs:
        return []
    roots = [run for run in runs if run.parent_run_id is None]
    if len(roots) != 1:
        raise BackendError(f"run chain needs exactly one root run, found {len(roots)}")
    child_of: dict[RunId, RunSummary] = {}
    for run in runs:
        parent = run.parent_run_id
        if parent is None:
            continue
        if parent in child_of:
            raise BackendError(f"run chain has two runs continuing run {parent}")
        child_of[parent] = run
    chain: list[RunSummary] = []
    seen: set[RunId] = set()
    current: RunSummary | None = roots[0]
    while current is not None:
        if current.run_id in seen:
            raise BackendError(f"run chain has a cycle through run {current.run_id}")
        seen.add(current.run_id)
        chain.append(current)
        current = child_of.pop(current.run_id, None)
    if child_of:
        orphan = next(iter(child_of.values()))
        raise BackendError(f"run chain has run {orphan.run_id} unreachable from the root run")
    return chain
