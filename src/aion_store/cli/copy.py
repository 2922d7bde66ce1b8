"""``aion-store copy SRC DST``: histories, timers, visibility, packages and routes from any
store to any writable store, idempotently.

Each history is copied by one append (atomic): a history the destination already holds
with the same events is skipped; one it holds a prefix of is completed; any other is a
conflict, reported by workflow id, and nothing of that workflow is written (neither its
timers nor its visibility records). Timers, visibility records, packages and routes are
upserts. So a copy interrupted at any point, then run again, ends as an uninterrupted
one would.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aion_store.cli._io import CliError
from aion_store.cli._stores import (
    ADDRESS_HELP,
    Address,
    HistoryDirectory,
    exists,
    opened,
    parse_address,
)
from aion_store.cli.ls import _workflow_id, add_schema_option
from aion_store.error import BackendError, SequenceConflict, SerializationError
from aion_store.ids import WorkflowId
from aion_store.memory import InMemoryStore
from aion_store.store import WriteToken
from aion_store.visibility import ListWorkflowsFilter

__all__ = ["Copied", "add_parser", "copy", "run"]

HELP = "copy workflows from one store to another"
DESCRIPTION = f"""\
Copy histories, timers, visibility records, packages and routes from SRC to DST. Each
is {ADDRESS_HELP}, or a directory of history files (one per workflow; a directory holds
histories only). SRC is opened read-only.

A history DST already holds with the same events is skipped, one it holds a prefix of
is completed, any other is a conflict: reported by workflow id, nothing of that
workflow written. Everything else is an upsert, so an interrupted copy, run again, ends
as an uninterrupted one would. --workflow copies only those workflows (with their
timers and visibility records; no packages or routes).

exit status: 0 copied, 1 some workflows conflicted, 2 bad arguments or a store failed.

examples:
  aion-store copy rust-libsql:///var/lib/aion/engine.db engine.db
  aion-store copy engine.db postgresql://user@host/db --schema aion --dry-run
  aion-store copy engine.db backup/ --workflow 5f0c3a4e-8b1d-4c2a-9e3f-0a1b2c3d4e5f
"""
TOKEN = WriteToken.recorder()
#: Later than any timer can fire (SPEC §1: years 1-9999): expired_timers(END) lists all.
END = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "copy",
        help=HELP,
        description=DESCRIPTION,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SRC", help="the store to copy from (read-only)")
    parser.add_argument("target", metavar="DST", help="the store to copy into")
    add_schema_option(parser)
    parser.add_argument(
        "--target-schema",
        metavar="NAME",
        help="the schema of a postgresql:// DST (default --schema)",
    )
    parser.add_argument(
        "--workflow",
        dest="workflows",
        action="append",
        type=_workflow_id,
        metavar="ID",
        help="copy only this workflow (repeat for several)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be copied; write nothing"
    )
    parser.add_argument("--plain", action="store_true", help="no progress bar")
    parser.set_defaults(command=run)


@dataclass
class Copied:
    """What a copy did (or, with ``dry_run``, would do)."""

    histories: int = 0
    events: int = 0
    completed: int = 0
    skipped: int = 0
    conflicts: list[tuple[WorkflowId, str]] = field(default_factory=list)
    missing: list[WorkflowId] = field(default_factory=list)
    timers: int = 0
    visibility: int = 0
    packages: int = 0
    routes: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self, dry_run: bool) -> str:
        verb = "would copy" if dry_run else "copied"
        parts = [
            f"{verb} {_count(self.histories, 'history', 'histories')} "
            f"({_count(self.events, 'event')})"
        ]
        if self.completed:
            parts.append(f"{self.completed} of them completing a shorter copy")
        parts.append(f"skipped {self.skipped} already there")
        if self.conflicts:
            parts.append(_count(len(self.conflicts), "conflict"))
        parts.append(
            f"{_count(self.timers, 'timer')}, {_count(self.visibility, 'visibility record')}, "
            f"{_count(self.packages, 'package')}, {_count(self.routes, 'route')}"
        )
        return "; ".join(parts)


def _count(number: int, noun: str, nouns: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else nouns or noun + 's'}"


def run(args: argparse.Namespace) -> int:
    source = parse_address(args.source, directories=True)
    target = parse_address(args.target, directories=True)
    if source == target and args.schema == (args.target_schema or args.schema):
        raise CliError(f"{target.shown}: the source and the destination are the same store")
    progress = _Progress(plain=args.plain)
    copied = asyncio.run(
        copy(
            source,
            target,
            schema=args.schema,
            target_schema=args.target_schema or args.schema,
            workflows=args.workflows,
            dry_run=args.dry_run,
            progress=progress,
        )
    )
    progress.stop()
    for workflow_id, reason in copied.conflicts:
        print(f"conflict: {workflow_id}: {reason}", file=sys.stderr)
    for workflow_id in copied.missing:
        print(f"not in {source.shown}: {workflow_id}", file=sys.stderr)
    for note in copied.notes:
        print(f"note: {note}", file=sys.stderr)
    print(copied.summary(args.dry_run))
    return 1 if copied.conflicts else 0


async def copy(
    source: Address,
    target: Address,
    *,
    schema: str = "aion",
    target_schema: str = "aion",
    workflows: list[WorkflowId] | None = None,
    dry_run: bool = False,
    progress: Any = None,
) -> Copied:
    """Copy ``source`` into ``target`` (see the module docstring); return what happened."""
    copied = Copied()
    async with (
        opened(source, schema=schema, writable=False) as reader,
        _destination(target, target_schema, dry_run) as writer,
    ):
        ids = workflows if workflows is not None else await reader.list_workflow_ids()
        if progress is not None:
            progress.start(len(ids))
        chosen: set[WorkflowId] = set()
        refused: set[WorkflowId] = set()
        for workflow_id in ids:
            if await _history(reader, writer, workflow_id, copied, dry_run):
                chosen.add(workflow_id)
            else:
                refused.add(workflow_id)
            if progress is not None:
                progress.advance()

        # Everything: every timer and record but a conflicted workflow's (a workflow may
        # have them without a history); --workflow: the chosen workflows' only.
        def wanted(workflow_id: WorkflowId) -> bool:
            return workflow_id in chosen if workflows is not None else workflow_id not in refused

        await _the_rest(reader, writer, wanted, workflows is None, copied, dry_run)
    return copied


@asynccontextmanager
async def _destination(target: Address, schema: str, dry_run: bool) -> AsyncIterator[Any]:
    """The destination, writable; for a dry run read-only, and a destination that does
    not exist yet is an empty store (nothing is created)."""
    if dry_run and not exists(target):
        yield (
            HistoryDirectory(target.location, create=False)
            if target.kind == "directory"
            else InMemoryStore()
        )
        return
    if dry_run and target.kind == "postgres":
        try:
            async with opened(target, schema=schema, writable=False) as store:
                yield store
                return
        except CliError as error:
            if "holds no aion-store store" not in str(error):
                raise
        yield InMemoryStore()
        return
    async with opened(target, schema=schema, writable=not dry_run) as store:
        yield store


async def _history(
    reader: Any, writer: Any, workflow_id: WorkflowId, copied: Copied, dry_run: bool
) -> bool:
    """Copy one history; True when the workflow's other rows should follow it."""
    try:
        events = await reader.read_history(workflow_id)
        if not events:
            copied.missing.append(workflow_id)
            return False
        there = await writer.read_history(workflow_id)
    except (BackendError, SerializationError) as error:
        raise CliError(f"workflow {workflow_id}: {error.detail}") from error
    if there == events:
        copied.skipped += 1
        return True
    if there != events[: len(there)]:
        if there[: len(events)] == events:
            reason = (
                f"the destination holds a longer history ({len(there)} events, "
                f"the source {len(events)})"
            )
        else:
            index = next(i for i, (a, b) in enumerate(zip(there, events)) if a != b)
            reason = f"the destination holds a different history (seq {index + 1} differs)"
        copied.conflicts.append((workflow_id, reason))
        return False
    rest = events[len(there) :]
    if not dry_run:
        try:
            await writer.append(TOKEN, workflow_id, rest, len(there))
        except SequenceConflict as conflict:
            copied.conflicts.append(
                (workflow_id, f"the destination changed while copying (head {conflict.found})")
            )
            return False
        except (BackendError, SerializationError) as error:
            raise CliError(f"workflow {workflow_id}: {error.detail}") from error
    copied.histories += 1
    copied.events += len(rest)
    copied.completed += bool(there)
    return True


async def _the_rest(
    reader: Any,
    writer: Any,
    wanted: Callable[[WorkflowId], bool],
    everything: bool,
    copied: Copied,
    dry_run: bool,
) -> None:
    """The timers and visibility records of the wanted workflows; packages and routes
    when copying everything. A directory holds none of them."""
    if isinstance(reader, HistoryDirectory):
        return
    timers = [t for t in await reader.expired_timers(END) if wanted(t.workflow_id)]
    records = [
        r for r in await reader.list_workflows(ListWorkflowsFilter()) if wanted(r.workflow_id)
    ]
    packages = await reader.list_packages() if everything else []
    routes = await reader.list_package_routes() if everything else []
    if isinstance(writer, HistoryDirectory):
        left = len(timers) + len(records) + len(packages) + len(routes)
        if left:
            copied.notes.append(
                f"a directory holds histories only: {left} timers, visibility records, "
                "packages and routes not copied"
            )
        return
    copied.timers, copied.visibility = len(timers), len(records)
    copied.packages, copied.routes = len(packages), len(routes)
    if dry_run:
        return
    try:
        for timer in timers:
            await writer.schedule_timer(timer.workflow_id, timer.timer_id, timer.fire_at)
        for record in records:
            await writer.record_visibility(_record_of(record))
        for package in packages:
            await writer.put_package(package)
        for route in routes:  # after the packages, whose puts also route their type
            await writer.put_package_route(route.workflow_type, route.content_hash)
    except (BackendError, SerializationError) as error:
        raise CliError(error.detail) from error


def _record_of(summary: Any) -> Any:
    from aion_store.visibility import VisibilityRecord

    return VisibilityRecord._trusted(
        summary.workflow_id,
        summary.run_id,
        summary.workflow_type,
        summary.status,
        summary.start_time,
        summary.close_time,
        summary.search_attributes,
    )


class _Progress:
    """A progress bar on a terminal (rich when installed); nothing otherwise."""

    def __init__(self, *, plain: bool) -> None:
        self.bar: Any = None
        self.plain = plain or not sys.stderr.isatty()
        self.started = time.perf_counter()

    def start(self, total: int) -> None:
        if self.plain:
            return
        try:
            from rich.progress import Progress
        except ImportError:
            return
        self.bar = Progress(transient=True)
        self.bar.start()
        self.task = self.bar.add_task("copying workflows", total=total)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
