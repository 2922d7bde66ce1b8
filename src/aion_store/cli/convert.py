"""``aion-store convert IN OUT``: rewrite a history in another form, streaming."""

from __future__ import annotations

import argparse
from typing import Any

from aion_store.cli._io import FORMATS, HistoryReader, HistoryWriter, format_for_output, validated

__all__ = ["add_parser", "convert", "run"]

HELP = "convert a history between JSON, JSON Lines and msgpack"
DESCRIPTION = """\
Convert a workflow history between its forms: .json (a JSON array of events, the Rust
engine's serde form), .jsonl (JSON Lines, one event per line) and .msgpack (this
package's compact form). The forms are chosen by the file suffixes, or by --from/--to;
'-' reads stdin or writes stdout (JSON unless --to says otherwise). The history is
validated like an append (one owner, seqs 1, 2, 3, ...) and streamed, so its size does
not matter. The output file appears only once the whole history has been converted.
JSON -> msgpack -> JSON gives the input back (timestamps are kept to the microsecond).
"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "convert",
        help=HELP,
        description=DESCRIPTION,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="IN", help="the history to read ('-' for stdin)")
    parser.add_argument("target", metavar="OUT", help="the file to write ('-' for stdout)")
    parser.add_argument(
        "--to", choices=FORMATS, help="the output form (default: from the suffix of OUT)"
    )
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=FORMATS,
        help="the input form (default: from the suffix of IN, else from its first byte)",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace) -> int:
    convert(args.source, args.target, to=args.to, source_format=args.source_format)
    return 0


def convert(
    source: str, target: str, *, to: str | None = None, source_format: str | None = None
) -> int:
    """Convert ``source`` into ``target``; returns the number of events written."""
    fmt = format_for_output(target, to)
    with HistoryReader(source, source_format) as reader, HistoryWriter(target, fmt) as writer:
        for event in validated(reader, reader.name):
            writer.write(event)
        writer.commit()
    return writer.count
