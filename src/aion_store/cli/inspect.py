"""``aion-store inspect HISTORY`` or ``inspect STORE WORKFLOW_ID``: validate one workflow
history and summarise it.

A history file is read as a stream and folded event by event into small accumulators
(:class:`HistorySummary`): the events themselves are never kept, so a history of any
length is inspected in the memory its summary needs. A store's history is read through
the store, opened read-only, and summarised the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aion_store import events as ev
from aion_store.cli._io import FORMATS, CliError, HistoryReader, validated
from aion_store.error import BackendError, SerializationError
from aion_store.events import VARIANTS, Event
from aion_store.ids import RunId, TimerId, WorkflowId
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus
from aion_store.wire._json import format_timestamp, to_json

__all__ = ["HistorySummary", "add_parser", "run", "summarise"]

HELP = "validate a workflow history (JSON, JSON Lines or msgpack) and summarise it"
DESCRIPTION = """\
Read one workflow history - a JSON array of events in the Rust engine's serde form,
JSON Lines, or this package's msgpack form; or WORKFLOW_ID's history in a store (PATH.db
or sqlite:///PATH, postgresql://... with --schema, rust-libsql:///PATH), opened
read-only - check it the way append would (one owner, seqs 1, 2, 3, ...) and print a
summary: workflow id and type, status, the run chain,
activities per run (attempts, failures, outcome), timers (Pending/Fired/Cancelled and
the WithTimeoutCompleted outcome), signals received and sent, child workflows and
search attributes. The history is streamed: its size does not matter.
"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help=HELP,
        description=DESCRIPTION,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "history", metavar="HISTORY|STORE", help="a history file ('-' for stdin), or a store"
    )
    parser.add_argument(
        "workflow_id",
        nargs="?",
        metavar="WORKFLOW_ID",
        help="with a store: the workflow whose history to inspect",
    )
    parser.add_argument(
        "--schema",
        default="aion",
        metavar="NAME",
        help="the PostgreSQL schema of a postgresql:// store (default aion)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for programs",
    )
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=FORMATS,
        help="the input form (default: from the suffix, else from the first byte)",
    )
    parser.add_argument(
        "--limit",
        type=_non_negative,
        default=20,
        metavar="N",
        help="text format: rows shown per list (default 20, 0 for all)",
    )
    parser.set_defaults(command=run)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    if args.workflow_id is None:
        summary = summarise(args.history, args.source_format)
    else:
        summary = asyncio.run(summarise_stored(args.history, args.workflow_id, args.schema))
    if args.format == "json":
        text = json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = summary.to_text(limit=args.limit)
    write_stdout(text)
    return 0


def write_stdout(text: str) -> None:
    """Write UTF-8 text to stdout whatever its encoding."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None and (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def summarise(path: str, fmt: str | None = None) -> HistorySummary:
    """Read, validate and summarise the history at ``path`` (``-`` for stdin)."""
    with HistoryReader(path, fmt) as reader:
        summary = HistorySummary(reader.name)
        summary.add_all(validated(reader, reader.name))
    if summary.events == 0:
        raise CliError(f"{reader.name}: empty history: there are no events to inspect")
    summary.finish()
    return summary


async def summarise_stored(store: str, workflow_id: str, schema: str) -> HistorySummary:
    """Read, validate and summarise ``workflow_id``'s history in the store at ``store``."""
    from aion_store.cli._stores import opened, parse_address

    address = parse_address(store)
    try:
        owner = WorkflowId(workflow_id)
    except ValueError:
        raise CliError(f"{workflow_id}: not a workflow id (a UUID)") from None
    name = f"{address.shown} {owner}"
    async with opened(address, schema=schema, writable=False) as opened_store:
        try:
            events = await opened_store.read_history(owner)
        except (BackendError, SerializationError) as error:
            raise CliError(f"{name}: {error.detail}") from error
    if not events:
        raise CliError(f"{address.shown}: no workflow {owner} in this store")
    summary = HistorySummary(name)
    summary.add_all(validated(events, name))
    summary.finish()
    return summary


# -- accumulators ----------------------------------------------------------------------------


class _Activity:
    __slots__ = (
        "activity_id",
        "activity_type",
        "completed",
        "error",
        "failures",
        "max_attempt",
        "outcome",
        "scheduled_seq",
        "starts",
    )

    def __init__(self, activity_id: int) -> None:
        self.activity_id = activity_id
        self.activity_type: str | None = None
        self.scheduled_seq: int | None = None
        self.starts = 0
        self.failures = 0
        self.max_attempt = 0
        self.completed = False
        self.outcome = "Scheduled"
        self.error: tuple[str, str] | None = None

    @property
    def attempts(self) -> int:
        # ActivityStarted per attempt when the engine records them; otherwise the
        # failed attempts plus the one that completed.
        return max(self.starts, self.failures + int(self.completed), self.max_attempt)

    def to_json(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "activity_type": self.activity_type,
            "scheduled_seq": self.scheduled_seq,
            "attempts": self.attempts,
            "failures": self.failures,
            "outcome": self.outcome,
            "last_error": None
            if self.error is None
            else {"kind": self.error[0], "message": self.error[1]},
        }


class _Timer:
    __slots__ = ("fire_at", "started_seq", "state", "timer_id", "with_timeout")

    def __init__(self, timer_id: TimerId) -> None:
        self.timer_id = timer_id
        self.fire_at: datetime | None = None
        self.started_seq: int | None = None
        self.state: str | None = None
        self.with_timeout: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "timer_id": json.loads(to_json(self.timer_id)),
            "state": self.state,
            "fire_at": None if self.fire_at is None else format_timestamp(self.fire_at),
            "started_seq": self.started_seq,
            "with_timeout_outcome": self.with_timeout,
        }


class _Child:
    __slots__ = (
        "child_workflow_id",
        "closed_seq",
        "error",
        "outcome",
        "package_version",
        "run_id",
        "started_seq",
        "workflow_type",
    )

    def __init__(self, child_workflow_id: WorkflowId, run_id: RunId | None) -> None:
        self.child_workflow_id = child_workflow_id
        self.run_id = run_id
        self.workflow_type: str | None = None
        self.package_version: str | None = None
        self.started_seq: int | None = None
        self.closed_seq: int | None = None
        self.outcome = "Running"
        self.error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "child_workflow_id": str(self.child_workflow_id),
            "workflow_type": self.workflow_type,
            "package_version": self.package_version,
            "run_id": _id_or_none(self.run_id),
            "started_seq": self.started_seq,
            "outcome": self.outcome,
            "closed_seq": self.closed_seq,
            "error": self.error,
        }


class _Run:
    """One run (from a ``WorkflowStarted`` to the next), or the events before any start."""

    __slots__ = ("activities", "closed_at", "start", "status", "timers")

    def __init__(self, start: ev.WorkflowStarted | None) -> None:
        self.start = start
        self.status = WorkflowStatus.RUNNING
        self.closed_at: datetime | None = None
        self.activities: dict[int, _Activity] = {}
        self.timers: dict[TimerId, _Timer] = {}

    @property
    def run_id(self) -> RunId | None:
        return None if self.start is None else self.start.run_id

    def summary(self) -> RunSummary:
        assert self.start is not None
        return RunSummary(
            run_id=self.start.run_id,
            parent_run_id=self.start.parent_run_id,
            status=self.status,
            started_at=self.start.envelope.recorded_at,
            closed_at=self.closed_at,
        )


def _id_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class HistorySummary:
    """Folds a history's events, one at a time, into its summary."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events = 0
        self.workflow_id: WorkflowId | None = None
        self.workflow_type: str | None = None
        self.package_version: str | None = None
        self.status = WorkflowStatus.RUNNING
        self.first_recorded_at: datetime | None = None
        self.last_recorded_at: datetime | None = None
        self.counts = [0] * len(VARIANTS)
        self.runs: list[_Run] = []
        self.chain: list[_Run] = []
        self.chain_summaries: list[RunSummary] = []
        self.received: list[tuple[str, int, datetime, RunId | None]] = []
        self.sent: list[tuple[WorkflowId, str, int, datetime, RunId | None]] = []
        self.children: dict[WorkflowId, _Child] = {}
        self.search_attributes: dict[str, Any] = {}
        self._current: _Run | None = None
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            Event.WorkflowStarted: self._started,
            Event.SearchAttributesUpdated: self._search_attributes,
            Event.ActivityScheduled: self._activity_scheduled,
            Event.ActivityStarted: self._activity_started,
            Event.ActivityCompleted: self._activity_completed,
            Event.ActivityFailed: self._activity_failed,
            Event.ActivityCancelled: self._activity_cancelled,
            Event.TimerStarted: self._timer_started,
            Event.TimerFired: self._timer_fired,
            Event.TimerCancelled: self._timer_cancelled,
            Event.WithTimeoutCompleted: self._with_timeout,
            Event.SignalReceived: self._signal_received,
            Event.SignalSent: self._signal_sent,
            Event.ChildWorkflowStarted: self._child_started,
            Event.ChildWorkflowCompleted: self._child_completed,
            Event.ChildWorkflowFailed: self._child_failed,
            Event.ChildWorkflowCancelled: self._child_cancelled,
        }

    # -- folding --------------------------------------------------------------------------------

    def add_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        envelope = event.envelope
        if self.events == 0:
            self.workflow_id = envelope.workflow_id
            self.first_recorded_at = envelope.recorded_at
        self.events += 1
        self.last_recorded_at = envelope.recorded_at
        self.counts[event.TAG] += 1
        status = LIFECYCLE_STATUS_BY_TAG[event.TAG]
        if status is not None:
            self.status = status
            current = self._current
            if (
                status is not WorkflowStatus.RUNNING
                and current is not None
                and current.start is not None
            ):
                current.status = status
                current.closed_at = envelope.recorded_at
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _run(self) -> _Run:
        current = self._current
        if current is None:
            current = self._current = _Run(None)
            self.runs.append(current)
        return current

    def _started(self, event: ev.WorkflowStarted) -> None:
        self._current = _Run(event)
        self.runs.append(self._current)
        self.workflow_type = event.workflow_type
        self.package_version = str(event.package_version)

    def _search_attributes(self, event: ev.SearchAttributesUpdated) -> None:
        self.search_attributes.update(event.attributes)

    def _activity(self, event: Any) -> _Activity:
        activities = self._run().activities
        key = event.activity_id.sequence_position
        activity = activities.get(key)
        if activity is None:
            activity = activities[key] = _Activity(key)
        return activity

    def _activity_scheduled(self, event: ev.ActivityScheduled) -> None:
        activity = self._activity(event)
        activity.activity_type = event.activity_type
        activity.scheduled_seq = event.envelope.seq
        activity.outcome = "Scheduled"

    def _activity_started(self, event: ev.ActivityStarted) -> None:
        activity = self._activity(event)
        activity.starts += 1
        activity.outcome = "Started"

    def _activity_completed(self, event: ev.ActivityCompleted) -> None:
        activity = self._activity(event)
        activity.completed = True
        activity.outcome = "Completed"

    def _activity_failed(self, event: ev.ActivityFailed) -> None:
        activity = self._activity(event)
        activity.failures += 1
        activity.max_attempt = max(activity.max_attempt, event.attempt)
        activity.outcome = "Failed"
        activity.error = (event.error.kind.value, event.error.message)

    def _activity_cancelled(self, event: ev.ActivityCancelled) -> None:
        self._activity(event).outcome = "Cancelled"

    def _timer(self, event: Any) -> _Timer:
        timers = self._run().timers
        timer = timers.get(event.timer_id)
        if timer is None:
            timer = timers[event.timer_id] = _Timer(event.timer_id)
        return timer

    def _timer_started(self, event: ev.TimerStarted) -> None:
        timer = self._timer(event)
        timer.state = "Pending"
        timer.fire_at = event.fire_at
        timer.started_seq = event.envelope.seq

    def _timer_fired(self, event: ev.TimerFired) -> None:
        self._timer(event).state = "Fired"

    def _timer_cancelled(self, event: ev.TimerCancelled) -> None:
        self._timer(event).state = "Cancelled"

    def _with_timeout(self, event: ev.WithTimeoutCompleted) -> None:
        self._timer(event).with_timeout = event.outcome.value

    def _signal_received(self, event: ev.SignalReceived) -> None:
        envelope = event.envelope
        self.received.append((event.name, envelope.seq, envelope.recorded_at, self._run_id()))

    def _signal_sent(self, event: ev.SignalSent) -> None:
        envelope = event.envelope
        self.sent.append(
            (
                event.target_workflow_id,
                event.name,
                envelope.seq,
                envelope.recorded_at,
                self._run_id(),
            )
        )

    def _run_id(self) -> RunId | None:
        return None if self._current is None else self._current.run_id

    def _child(self, event: Any) -> _Child:
        child = self.children.get(event.child_workflow_id)
        if child is None:
            child = self.children[event.child_workflow_id] = _Child(
                event.child_workflow_id, self._run_id()
            )
        return child

    def _child_started(self, event: ev.ChildWorkflowStarted) -> None:
        child = self._child(event)
        child.workflow_type = event.workflow_type
        child.package_version = str(event.package_version)
        child.started_seq = event.envelope.seq
        child.run_id = self._run_id()

    def _close_child(self, event: Any, outcome: str, error: str | None = None) -> None:
        child = self._child(event)
        child.outcome = outcome
        child.closed_seq = event.envelope.seq
        child.error = error

    def _child_completed(self, event: ev.ChildWorkflowCompleted) -> None:
        self._close_child(event, "Completed")

    def _child_failed(self, event: ev.ChildWorkflowFailed) -> None:
        self._close_child(event, "Failed", event.error.message)

    def _child_cancelled(self, event: ev.ChildWorkflowCancelled) -> None:
        self._close_child(event, "Cancelled")

    # -- results -------------------------------------------------------------------------------

    def finish(self) -> None:
        """Order the runs into the run chain (SPEC §8); a broken chain is an error."""
        started = [run for run in self.runs if run.start is not None]
        summaries = [run.summary() for run in started]
        try:
            ordered = order_runs(summaries)
        except BackendError as error:
            raise CliError(f"{self.name}: run chain: {error.detail}") from None
        by_identity = {id(summary): run for summary, run in zip(summaries, started)}
        self.chain_summaries = ordered
        self.chain = [by_identity[id(summary)] for summary in ordered]
        # Events before the first WorkflowStarted belong to no run; they are listed first.
        self.chain[:0] = [run for run in self.runs if run.start is None]

    def _groups(self) -> list[tuple[int | None, _Run]]:
        """Runs in chain order, numbered from 1 (None for events before any run)."""
        groups: list[tuple[int | None, _Run]] = []
        number = 0
        for run in self.chain:
            if run.start is None:
                groups.append((None, run))
            else:
                number += 1
                groups.append((number, run))
        return groups

    def event_counts(self) -> dict[str, int]:
        return {variant.__name__: count for variant, count in zip(VARIANTS, self.counts) if count}

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON values (the ``--format json`` document)."""
        return {
            "workflow_id": _id_or_none(self.workflow_id),
            "workflow_type": self.workflow_type,
            "status": self.status.value,
            "events": self.events,
            "first_recorded_at": _time_or_none(self.first_recorded_at),
            "last_recorded_at": _time_or_none(self.last_recorded_at),
            "package_version": self.package_version,
            "runs": [json.loads(to_json(summary)) for summary in self.chain_summaries],
            "activities": [
                {
                    "run_id": _id_or_none(run.run_id),
                    "activities": [activity.to_json() for activity in run.activities.values()],
                }
                for _, run in self._groups()
                if run.activities
            ],
            "timers": [
                {
                    "run_id": _id_or_none(run.run_id),
                    "timers": [timer.to_json() for timer in run.timers.values()],
                }
                for _, run in self._groups()
                if run.timers
            ],
            "signals": {
                "received": [
                    {
                        "name": name,
                        "seq": seq,
                        "recorded_at": format_timestamp(at),
                        "run_id": _id_or_none(run_id),
                    }
                    for name, seq, at, run_id in self.received
                ],
                "sent": [
                    {
                        "target_workflow_id": str(target),
                        "name": name,
                        "seq": seq,
                        "recorded_at": format_timestamp(at),
                        "run_id": _id_or_none(run_id),
                    }
                    for target, name, seq, at, run_id in self.sent
                ],
            },
            "children": [child.to_json() for child in self.children.values()],
            "search_attributes": {
                name: json.loads(to_json(value)) for name, value in self.search_attributes.items()
            },
            "event_counts": self.event_counts(),
        }

    def to_text(self, limit: int = 20) -> str:
        """The summary for people; lists longer than ``limit`` rows are cut (0: never)."""
        out: list[str] = []
        add = out.append

        def run_label(run_id: RunId | None) -> str:
            for number, run in self._groups():
                if run.run_id == run_id and number is not None:
                    return str(number)
            return "-"

        labels: dict[RunId | None, str] = {}

        def label(run_id: RunId | None) -> str:
            if run_id not in labels:
                labels[run_id] = run_label(run_id)
            return labels[run_id]

        add(f"{self.name}")
        add(f"  workflow  {self.workflow_id}")
        add(f"  type      {self.workflow_type or '-'}")
        add(f"  status    {self.status.value}")
        span = ""
        if self.first_recorded_at is not None and self.last_recorded_at is not None:
            span = (
                f", {format_timestamp(self.first_recorded_at)} .. "
                f"{format_timestamp(self.last_recorded_at)}"
            )
        add(f"  events    {self.events} (seq 1-{self.events}){span}")
        if self.package_version is not None:
            add(f"  package   {self.package_version}")

        add("")
        add(f"runs ({len(self.chain_summaries)}, oldest first)")
        if self.chain_summaries:
            rows = [
                [
                    str(number),
                    str(summary.run_id),
                    _id_or_none(summary.parent_run_id) or "-",
                    summary.status.value,
                    format_timestamp(summary.started_at),
                    _time_or_none(summary.closed_at) or "-",
                ]
                for number, summary in enumerate(self.chain_summaries, 1)
            ]
            headers = ["#", "run_id", "parent_run_id", "status", "started_at", "closed_at"]
            out.extend(_table(headers, rows, limit))
        else:
            add("  (none: no WorkflowStarted)")

        add("")
        total = sum(len(run.activities) for run in self.chain)
        add(f"activities ({total})")
        for number, run in self._groups():
            if not run.activities:
                continue
            add(f"  {_run_heading(number, run)}")
            rows = []
            for activity in run.activities.values():
                note = ""
                if activity.error is not None:
                    note = f"last error: {activity.error[0]}: {_one_line(activity.error[1])}"
                rows.append(
                    [
                        str(activity.activity_id),
                        activity.activity_type or "-",
                        str(activity.attempts),
                        str(activity.failures),
                        activity.outcome,
                        note,
                    ]
                )
            headers = ["id", "type", "attempts", "failures", "outcome", ""]
            out.extend(_table(headers, rows, limit, indent=4))

        add("")
        total = sum(len(run.timers) for run in self.chain)
        add(f"timers ({total})")
        for number, run in self._groups():
            if not run.timers:
                continue
            add(f"  {_run_heading(number, run)}")
            rows = [
                [
                    str(timer.timer_id),
                    timer.state or "-",
                    _time_or_none(timer.fire_at) or "-",
                    timer.with_timeout or "-",
                ]
                for timer in run.timers.values()
            ]
            headers = ["timer", "state", "fire_at", "with_timeout"]
            out.extend(_table(headers, rows, limit, indent=4))

        add("")
        add(f"signals ({len(self.received)} received, {len(self.sent)} sent)")
        if self.received:
            add("  received")
            rows = [
                [name, str(seq), format_timestamp(at), label(run_id)]
                for name, seq, at, run_id in self.received
            ]
            out.extend(_table(["name", "seq", "recorded_at", "run"], rows, limit, indent=4))
        if self.sent:
            add("  sent")
            rows = [
                [name, str(target), str(seq), format_timestamp(at), label(run_id)]
                for target, name, seq, at, run_id in self.sent
            ]
            headers = ["name", "target_workflow_id", "seq", "recorded_at", "run"]
            out.extend(_table(headers, rows, limit, indent=4))

        add("")
        add(f"children ({len(self.children)})")
        if self.children:
            rows = [
                [
                    str(child.child_workflow_id),
                    child.workflow_type or "-",
                    child.outcome + (f": {_one_line(child.error)}" if child.error else ""),
                    label(child.run_id),
                ]
                for child in self.children.values()
            ]
            out.extend(_table(["child_workflow_id", "type", "outcome", "run"], rows, limit))

        add("")
        add(f"search attributes ({len(self.search_attributes)})")
        if self.search_attributes:
            rows = []
            for name, value in self.search_attributes.items():
                tagged = json.loads(to_json(value))
                rows.append([name, tagged["type"], _show_value(value)])
            out.extend(_table(["name", "type", "value"], rows, limit))
        return "\n".join(out) + "\n"


def _time_or_none(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _run_heading(number: int | None, run: _Run) -> str:
    if number is None:
        return "before the first WorkflowStarted"
    return f"run {number} ({run.run_id})"


def _one_line(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _show_value(value: Any) -> str:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _table(headers: list[str], rows: list[list[str]], limit: int, indent: int = 2) -> list[str]:
    """Rows as aligned text columns, cut to ``limit`` rows (0: all) with a note."""
    hidden = 0
    if limit and len(rows) > limit:
        hidden = len(rows) - limit
        rows = rows[:limit]
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    pad = " " * indent

    def line(cells: list[str]) -> str:
        return (pad + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))).rstrip()

    lines = [line(headers)]
    lines.extend(line(row) for row in rows)
    if hidden:
        lines.append(f"{pad}... {hidden} more (--limit 0 shows all, --format json lists all)")
    return lines
