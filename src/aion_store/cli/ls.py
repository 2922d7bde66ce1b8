"""``aion-store ls STORE``: one line per workflow, in ``query`` order, streaming.

The store is read a page at a time (``query_page``), so the first line appears at once
and memory stays flat however many workflows the store holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from aion_store.cli._io import CliError
from aion_store.cli._stores import ADDRESS_HELP, opened, parse_address
from aion_store.cli.inspect import write_stdout
from aion_store.ids import WorkflowId
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary
from aion_store.wire._json import format_timestamp

__all__ = ["add_parser", "run"]

HELP = "list the workflows of a store, one line each"
DESCRIPTION = f"""\
List the workflows of STORE that have started, in query order (start time, then id):
id, type, status, started, ended and the number of events, as a table, or as JSON Lines
with --format jsonl. STORE is {ADDRESS_HELP}. The store is opened read-only and read a
page at a time: the first line appears at once, however large the store.

examples:
  aion-store ls engine.db
  aion-store ls engine.db --status Running --type checkout --limit 20
  aion-store ls postgresql://user@host/db --schema aion --format jsonl
"""
PAGE = 500
_COLUMNS = (("workflow", 36), ("type", 20), ("status", 14), ("started", 27), ("ended", 27))


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "ls",
        help=HELP,
        description=DESCRIPTION,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("store", metavar="STORE", help="the store to list")
    add_schema_option(parser)
    parser.add_argument(
        "--status",
        type=_status,
        metavar="S",
        help="only workflows with this status: " + ", ".join(s.value for s in WorkflowStatus),
    )
    parser.add_argument("--type", dest="workflow_type", metavar="T", help="only this type")
    parser.add_argument(
        "--parent", type=_workflow_id, metavar="ID", help="only the children of workflow ID"
    )
    parser.add_argument("--limit", type=_positive, metavar="N", help="at most N lines")
    parser.add_argument(
        "--format", choices=("table", "jsonl"), default="table", help="table (default) or jsonl"
    )
    parser.set_defaults(command=run)


def add_schema_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema",
        default="aion",
        metavar="NAME",
        help="the PostgreSQL schema of a postgresql:// store (default aion)",
    )


def _status(text: str) -> WorkflowStatus:
    for status in WorkflowStatus:
        if text.lower() in (status.value.lower(), status.name.lower()):
            return status
    choices = ", ".join(status.value for status in WorkflowStatus)
    raise argparse.ArgumentTypeError(f"unknown status {text!r}; expected one of {choices}")


def _workflow_id(text: str) -> WorkflowId:
    try:
        return WorkflowId(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a workflow id (a UUID)") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    address = parse_address(args.store)
    chosen = WorkflowFilter(
        workflow_type=args.workflow_type, status=args.status, parent=args.parent
    )
    return asyncio.run(_list(address, args.schema, chosen, args.limit, args.format))


async def _list(
    address: Any, schema: str, chosen: WorkflowFilter, limit: int | None, fmt: str
) -> int:
    async with opened(address, schema=schema, writable=False) as store:
        if not hasattr(store, "query_page"):
            raise CliError(f"{address.shown}: ls lists stores, not history files")
        shown = 0
        after: tuple[datetime, WorkflowId] | None = None
        if fmt == "table":
            write_stdout(_row([name for name, _ in _COLUMNS] + ["events"]) + "\n")
        while limit is None or shown < limit:
            page = await store.query_page(chosen, after, PAGE)
            if limit is not None:
                page = page[: limit - shown]
            if not page:
                break
            write_stdout("".join(_line(summary, count, fmt) for summary, count in page))
            shown += len(page)
            after = (page[-1][0].started_at, page[-1][0].workflow_id)
            if len(page) < PAGE:
                break
        if fmt == "table" and sys.stderr.isatty():
            print(f"{shown} workflow{'s' if shown != 1 else ''}", file=sys.stderr)
    return 0


def _time(value: datetime | None) -> str:
    return "" if value is None else format_timestamp(value)


def _line(summary: WorkflowSummary, count: int, fmt: str) -> str:
    if fmt == "jsonl":
        item = {
            "workflow_id": str(summary.workflow_id),
            "workflow_type": summary.workflow_type,
            "status": summary.status.value,
            "started_at": _time(summary.started_at),
            "ended_at": _time(summary.ended_at) or None,
            "parent": None if summary.parent is None else str(summary.parent),
            "events": count,
        }
        return json.dumps(item, ensure_ascii=False) + "\n"
    cells = [
        str(summary.workflow_id),
        summary.workflow_type,
        summary.status.value,
        _time(summary.started_at),
        _time(summary.ended_at),
        str(count),
    ]
    return _row(cells) + "\n"


def _row(cells: list[str]) -> str:
    parts = []
    for (_, width), cell in zip(_COLUMNS, cells):
        text = " ".join(cell.split()) or ("-" if cell == "" else cell)
        if len(text) > width:
            text = text[: width - 1] + "…"
        parts.append(text.ljust(width))
    parts.append(cells[-1].rjust(7))
    return "  ".join(parts).rstrip()
