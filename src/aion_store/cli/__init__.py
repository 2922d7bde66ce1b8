"""The ``aion-store`` command: ``bench``, ``conformance``, ``inspect``, ``convert``, ``ls`` and
``copy``.

``main(argv)`` is the console script's entry point (``python -m aion_store.cli`` works
too) and returns the exit status. Bad input of any kind - a file that cannot be read or
decoded, a history with a gap or two owners, a factory that cannot be imported or
called - is exactly one line on stderr naming the file (or factory) and the position,
and exit status 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

PROG = "aion-store"
COMMANDS = ("bench", "conformance", "inspect", "convert", "ls", "copy")

DESCRIPTION = "aion-store: the persistence layer of the Aion durable workflow engine."
BENCH_HELP = "benchmark the stores on the standard workloads and print one table"
EPILOG = "Run 'aion-store COMMAND --help' for the options of a command."


def _debug_parent() -> argparse.ArgumentParser:
    # SUPPRESS: a subcommand that is not given --debug keeps the main parser's value.
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    return parent


def _chosen_command(argv: Sequence[str]) -> str | None:
    for item in argv:
        if not item.startswith("-"):
            return item
    return None


def version_line() -> str:
    """``aion-store VERSION: ENGINE``: the version and which engine is in use and why
    (what ``aion-store --version`` and ``python -m aion_store`` print)."""
    from aion_store import __version__, _select

    return f"{PROG} {__version__}: {_select.REASON}"


class _VersionAction(argparse.Action):
    # argparse's "version" action wraps the text to the terminal: this prints one line.
    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(version_line() + "\n")
        sys.stdout.flush()
        parser.exit()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser. ``bench`` gets its full set of options only when it is the
    chosen command (they are read off ``aion_store.bench``, which takes a while to import)."""
    from aion_store.cli import conformance, convert, copy, inspect, ls

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the version and which engine is in use and why, then exit",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    parent = _debug_parent()
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    if _chosen_command(argv) == "bench":
        from aion_store.cli import bench

        bench.add_parser(subparsers, parent)
    else:
        subparsers.add_parser("bench", help=BENCH_HELP)
    conformance.add_parser(subparsers, parent)
    inspect.add_parser(subparsers, parent)
    convert.add_parser(subparsers, parent)
    ls.add_parser(subparsers, parent)
    copy.add_parser(subparsers, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aion-store`` command line with ``argv`` (default ``sys.argv[1:]``);
    return the exit status."""
    from aion_store.cli._io import CliError

    arguments = list(sys.argv[1:] if argv is None else argv)
    if _chosen_command(arguments) == "bench":
        from aion_store.cli import bench

        # argparse takes "--fail-over -5%" for two options: join the value to its option.
        arguments = bench.join_negative_values(arguments)
    parser = build_parser(arguments)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit:
        return _exit_code(exit)
    command = getattr(args, "command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    debug = bool(getattr(args, "debug", False))
    try:
        return int(command(args))
    except CliError as error:
        if debug:
            traceback.print_exc()
        _error_line(str(error))
        return 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        _error_line("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (``aion-store inspect h.json | head``): stop quietly.
        _silence_stdout()
        return 0
    except Exception as error:
        if debug:
            traceback.print_exc()
            _error_line(f"unexpected {type(error).__name__}: {error}")
        else:
            _error_line(f"unexpected {type(error).__name__}: {error} (--debug shows the traceback)")
        return 2


def _exit_code(exit: SystemExit) -> int:
    code: Any = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _error_line(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    text = " ".join(message.split("\n")).replace("\r", " ")
    try:
        sys.stderr.write(text + "\n")
    except UnicodeEncodeError:
        sys.stderr.write(text.encode("ascii", "backslashreplace").decode("ascii") + "\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
