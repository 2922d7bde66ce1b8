"""``aion-store bench``: the standard workloads on every store, a table per store family.

The workloads, stores and sizes are :mod:`aion_store.bench`'s (the same ones the
pytest-benchmark files in ``benchmarks/`` run). This module is the command: its
arguments, and every check of them made before anything is measured. The measuring is
:mod:`aion_store.cli._bench_measure`'s, the report (tables, ``--json``, ``--load``,
``--compare``, ``--plot``) :mod:`aion_store.cli._bench_report`'s.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import sys
from collections.abc import Sequence
from typing import Any

from aion_store.cli._bench_report import (
    Console,
    check_destination,
    check_plot,
    load_results,
    markdown_table,
    plot,
    write_json,
)
from aion_store.cli._io import CliError

__all__ = ["add_parser", "join_negative_values", "run"]

# The line `aion-store --help` lists bench with (aion_store.cli.BENCH_HELP says the same).
HELP = "benchmark the stores on the standard workloads and print one table"
DESCRIPTION = """\
Run the standard workloads of aion_store.bench on every store available, then print a
table per store family: a row per workload, a column per store (median seconds per
operation; bytes per stored event for memory_per_event, memory_per_event_running and
disk_per_event) and ratio columns against the family's reference store ('store x' =
reference / store: higher is better).

Families: memory -- the compiled core, the pure-Python path (measured in a child
process with AION_STORE_PURE=1), the naive reference store and, when it is installed,
eventsourcing's POPOAggregateRecorder; sqlite -- SqliteStore (durability full), the
bare floor sqlite_floor (the reference: the same bytes written with plain sqlite3
through the same hop to a thread) and eventsourcing's SQLite recorder, each on a fresh
file in the temp directory (TMPDIR), removed afterwards; postgres -- PostgresStore, the
bare floor postgres_floor (the reference: the same bytes written with asyncpg from the
event loop, one autocommitted INSERT per append) and eventsourcing's PostgreSQL
recorder, each in a fresh schema of the server that --postgres-dsn (or the environment
variable AION_STORE_POSTGRES_DSN) names, dropped afterwards. Without a DSN the postgres
family does not run; a server that does not answer is an error before measuring.

Workload ids that name a size name the one measured: full_read_100k_cold at the
default sizes is full_read_20k_cold under --quick. --quick takes well under a minute,
the default sizes about 5 minutes. Everything wrong with the arguments (limits, the
--json and --plot destinations, --compare at other sizes) is reported before anything
is measured. Ctrl-C stops and prints what was measured so far.
"""
EPILOG = """\
examples:
  aion-store bench --quick
  aion-store bench --quick --postgres-dsn postgresql://user@host/db  # + the postgres family
  aion-store bench --json results.json --plot speedup.png
  aion-store bench --quick --json baseline.json      # a baseline, on the known-good version
  aion-store bench --quick --compare baseline.json --fail-over 20%
  aion-store bench --load results.json --markdown

exit status: 0 done, 1 a regression beyond --fail-over against --compare,
2 bad arguments or input, 130 interrupted.
"""

#: Threshold of ``--compare`` when ``--fail-over`` is not given, in percent.
DEFAULT_FAIL_OVER = 20.0
#: The most ``--samples`` allowed.
MAX_SAMPLES = 1_000
#: Every size flag is at most this many times its default ...
MAX_SIZE_FACTOR = 10
#: ... and a workload holds at most this many events (about 0.5 KB each while measuring).
MAX_EVENTS = 2_000_000
#: The sizes whose product is the number of events a workload holds.
EVENT_PRODUCTS = (
    ("workflows", "events_per_workflow"),
    ("active_workflows", "active_events"),
    ("mixed_workflows", "mixed_events"),
    ("memory_workflows", "memory_events"),
)


# -- arguments ------------------------------------------------------------------------------


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    from aion_store.bench import FAMILIES, WORKLOADS, Sizes

    parser = subparsers.add_parser(
        "bench",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes: a smoke run in well under a minute"
    )
    parser.add_argument(
        "--stores",
        metavar="LIST",
        help="comma-separated stores to run (default: every available one of "
        + "; ".join(f"{name}: {','.join(family.stores)}" for name, family in FAMILIES.items())
        + ")",
    )
    parser.add_argument(
        "--postgres-dsn",
        metavar="DSN",
        help="the PostgreSQL server of the postgres family (default: the environment "
        "variable AION_STORE_POSTGRES_DSN; without either the family does not run); each "
        "store gets a fresh schema there, dropped afterwards",
    )
    parser.add_argument(
        "--workloads",
        metavar="LIST",
        help="comma-separated workload ids to run, as named at this run's sizes "
        "(default: all of them)",
    )
    own = sorted({workload.samples for workload in WORKLOADS.values()})
    parser.add_argument(
        "--samples",
        type=_positive,
        metavar="N",
        help=f"samples per workload and store, at most {MAX_SAMPLES} "
        f"(default: each workload's own, {own[0]}-{own[-1]})",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="write the results as JSON to FILE, in an existing directory "
        "('-': stdout; the table then goes to stderr)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the ratios to each family's reference as grouped bar charts, a panel "
        "per family (matplotlib); the suffix is the format: .png, .svg, .pdf or any other "
        "that matplotlib saves",
    )
    parser.add_argument(
        "--compare",
        metavar="OLD.json",
        help="show the change against an earlier --json run made at the same sizes "
        "(another size is an error); exit 1 on a regression",
    )
    parser.add_argument(
        "--fail-over",
        type=_percent,
        metavar="PCT",
        help=f"with --compare: a median that changed by more than PCT%% is a regression "
        f"(default {DEFAULT_FAIL_OVER:g}%%; bytes per event count like time): 20%% allows "
        "up to 20%% slower, 0 allows no slowdown at all, a negative value demands a "
        "speed-up (-5%%: every median at least 5%% faster); above -100%%",
    )
    parser.add_argument(
        "--load",
        metavar="RESULTS.json",
        help="do not measure: report (table, --plot, --compare) an earlier --json run",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the tables as GitHub markdown on stdout (not with --json -, which "
        "writes stdout)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain text: no progress bar or rich table even when rich is installed",
    )
    sizes = parser.add_argument_group(
        "sizes",
        "how big each workload is: [default / --quick, maximum]. Each size is at most\n"
        f"{MAX_SIZE_FACTOR}x its default; a workload holds at most {MAX_EVENTS:,} events\n"
        "(--workflows x --events-per-workflow, and likewise the active, mixed and memory\n"
        "pairs); --suffix is at most --small-history and --big-history, which must differ.",
    )
    default, quick = Sizes.default(), Sizes.quick()
    for field in dataclasses.fields(Sizes):
        sizes.add_argument(
            _flag(field.name),
            dest=f"size_{field.name}",
            type=_positive,
            metavar="N",
            help=f"[{getattr(default, field.name)} / {getattr(quick, field.name)}, "
            f"max {_max_size(field.name)}]",
        )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(command=run, workload_ids=tuple(WORKLOADS))


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _percent(text: str) -> float:
    body = text.strip().removesuffix("%")
    try:
        value = float(body)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 20%, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite percentage, got {text!r}")
    return value


_NEGATIVE_PERCENT = re.compile(r"-(\d+\.?\d*|\.\d+)%?")


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--fail-over -5%`` written ``--fail-over=-5%``: argparse would take
    the ``-5%`` for an option (it knows only plain negative numbers such as ``-5``)."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            joined.append(item)
            joined.extend(items)
            break
        if len(item) > 3 and "--fail-over".startswith(item):
            value = next(items, None)
            if value is not None and _NEGATIVE_PERCENT.fullmatch(value):
                joined.append(f"{item}={value}")
                continue
            joined.append(item)
            if value is not None:
                joined.append(value)
            continue
        joined.append(item)
    return joined


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _max_size(field: str) -> int:
    from aion_store.bench import Sizes

    return int(getattr(Sizes.default(), field)) * MAX_SIZE_FACTOR


def _check_limits(args: argparse.Namespace) -> None:
    """The flags' upper bounds (argparse has checked they are whole numbers >= 1)."""
    from aion_store.bench import Sizes

    if args.samples is not None and args.samples > MAX_SAMPLES:
        raise CliError(f"--samples {args.samples}: at most {MAX_SAMPLES}")
    for field in dataclasses.fields(Sizes):
        value = getattr(args, f"size_{field.name}", None)
        if value is not None and value > _max_size(field.name):
            raise CliError(
                f"{_flag(field.name)} {value}: at most {_max_size(field.name)} "
                f"({MAX_SIZE_FACTOR}x the default)"
            )


def _check_sizes(sizes: Any) -> None:
    """Limits across sizes: the events a workload holds, and sizes workloads need apart."""
    for count, length in EVENT_PRODUCTS:
        events = getattr(sizes, count) * getattr(sizes, length)
        if events > MAX_EVENTS:
            raise CliError(
                f"{_flag(count)} {getattr(sizes, count)} x {_flag(length)} "
                f"{getattr(sizes, length)} = {events:,} events: at most {MAX_EVENTS:,}"
            )
    for history in ("small_history", "big_history"):
        if sizes.suffix > getattr(sizes, history):
            raise CliError(
                f"--suffix {sizes.suffix}: at most {_flag(history)} ({getattr(sizes, history)}),"
                " the history it is read from"
            )


def _sizes(args: argparse.Namespace) -> Any:
    from aion_store.bench import Sizes

    sizes = Sizes.quick() if args.quick else Sizes.default()
    overrides = {
        field.name: getattr(args, f"size_{field.name}")
        for field in dataclasses.fields(Sizes)
        if getattr(args, f"size_{field.name}", None) is not None
    }
    return sizes.with_(**overrides) if overrides else sizes


def _chosen(text: str | None, known: Sequence[str], what: str) -> list[str] | None:
    if text is None:
        return None
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    if not chosen:
        raise CliError(f"--{what}: give at least one of {', '.join(known)}")
    unknown = [item for item in chosen if item not in known]
    if unknown:
        raise CliError(
            f"--{what}: unknown {what[:-1]} {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(known)}"
        )
    return list(dict.fromkeys(chosen))


# -- the command --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """``aion-store bench``: check every argument, measure (or ``--load``), report;
    return the exit status (1: a regression against ``--compare``)."""
    if args.worker:
        from aion_store.cli._bench_measure import worker

        return worker()
    from aion_store.bench import STORES

    # Everything that can be wrong with the arguments is found before measuring.
    fail_over = DEFAULT_FAIL_OVER if args.fail_over is None else args.fail_over
    if args.fail_over is not None and args.compare is None:
        raise CliError("--fail-over needs --compare OLD.json")
    if fail_over <= -100:
        raise CliError(
            f"--fail-over {fail_over:g}%: above -100% (no median can be 100% faster or more)"
        )
    if args.markdown and args.json == "-":
        raise CliError(
            "--markdown and --json - both write stdout: give --json a file name, "
            "or leave out --markdown"
        )
    _check_limits(args)
    if args.json is not None and args.json != "-":
        check_destination(args.json, "--json")
    if args.plot is not None:
        check_plot(args.plot)
    old = load_results(args.compare) if args.compare is not None else None
    sizes = None if args.load is not None else _sizes(args)
    chosen: list[tuple[str, Any]] = []
    stores: list[str] = []
    if sizes is not None:
        _check_sizes(sizes)
        chosen = _chosen_workloads(args.workloads, sizes)
        _use_postgres_dsn(args.postgres_dsn)
        stores = _stores(_chosen(args.stores, STORES, "stores"))
    loaded = load_results(args.load) if args.load is not None else None
    if old is not None:
        if loaded is not None:
            _check_same_sizes(args.compare, old, loaded["machine"].get("sizes"), args.load)
        elif sizes is not None:
            _check_same_sizes(args.compare, old, dataclasses.asdict(sizes), "this run")
    # With --json - the JSON owns stdout: the table and comparison go to stderr.
    console = Console(plain=args.plain, to_stderr=args.json == "-")

    interrupted = False
    if loaded is not None:
        results = loaded
    else:
        from aion_store.cli._bench_measure import Runner

        # The last check: the postgres family's server answers (when it is to run).
        server = _check_postgres_server(chosen, stores, args.postgres_dsn)
        runner = Runner(chosen, stores, sizes, args.samples, console, postgres=server)
        results, interrupted = runner.run()

    if args.markdown:
        console.out(markdown_table(results))
    else:
        console.table(results, interrupted)
    if args.json is not None:
        write_json(args.json, results)
    if args.plot is not None:
        plot(results, args.plot)
        console.note(f"wrote {args.plot}")
    status = 0
    if old is not None:
        regressions = console.comparison(old, results, fail_over, args.compare)
        if regressions:
            status = 1
    if interrupted:
        return 130
    return status


def _chosen_workloads(text: str | None, sizes: Any) -> list[tuple[str, Any]]:
    """``(id at these sizes, workload)`` of ``--workloads`` (default: every workload)."""
    from aion_store.bench import WORKLOADS, workloads_at

    try:
        by_id = workloads_at(sizes)
    except ValueError as error:
        raise CliError(f"sizes: {error}") from None
    if text is not None:
        for item in (item.strip() for item in text.split(",")):
            if item in WORKLOADS and item not in by_id:
                raise CliError(
                    f"--workloads: {item} is named {WORKLOADS[item].id_at(sizes)} at the sizes "
                    "of this run (ids name the sizes measured)"
                )
    names = _chosen(text, tuple(by_id), "workloads") or list(by_id)
    return [(name, by_id[name]) for name in names]


def _check_same_sizes(old_name: str, old: dict[str, Any], sizes: Any, new_name: str) -> None:
    """Refuse to compare runs measured at different sizes (their numbers differ for that
    reason alone); a run that records no sizes is compared with a warning."""
    old_sizes = old["machine"].get("sizes")
    if type(old_sizes) is not dict or type(sizes) is not dict:
        unknown = old_name if type(old_sizes) is not dict else new_name
        print(
            f"warning: {unknown} records no sizes (machine.sizes): the comparison assumes "
            "both runs used the same size flags",
            file=sys.stderr,
            flush=True,
        )
        return
    # A size only one run records (one the other version did not have) is not compared.
    keys = [key for key in sizes if key in old_sizes]
    differing = [key for key in keys if old_sizes.get(key) != sizes.get(key)]
    if differing:
        shown = ", ".join(
            f"{_flag(key)} {old_sizes.get(key, '-')} vs {sizes.get(key, '-')}" for key in differing
        )
        raise CliError(
            f"{old_name}: measured at other sizes than {new_name} ({old_name} vs "
            f"{new_name}: {shown}); compare runs made with the same size flags"
        )


def _use_postgres_dsn(dsn: str | None) -> None:
    """Point the postgres family at ``--postgres-dsn`` (when given: it wins over the
    environment variable); a DSN given explicitly must be usable."""
    from aion_store.bench import durable_postgres

    if dsn is None:
        return
    if not dsn.strip():
        raise CliError(f"--postgres-dsn: empty; {durable_postgres.HOW_TO_GIVE}")
    durable_postgres.use_dsn(dsn)
    reason = durable_postgres.unavailable_reason("postgres")
    if reason is not None:
        raise CliError(f"--postgres-dsn: the postgres family cannot run here: {reason}")


def _stores(chosen: list[str] | None) -> list[str]:
    from aion_store.bench import STORES, available_stores, unavailable_reason

    available = set(available_stores()) | {"pure"}
    if chosen is None:
        return [store for store in STORES if store in available]
    missing = [store for store in chosen if store not in available]
    if missing:
        raise CliError(
            f"--stores: {missing[0]} is not available here: {unavailable_reason(missing[0])}"
        )
    return chosen


def _check_postgres_server(
    chosen: list[tuple[str, Any]], stores: list[str], given: str | None
) -> dict[str, Any] | None:
    """When a postgres store is to run: connect once to its server and return what the
    results record of it; a server that does not answer is a CliError (one line)."""
    import asyncio

    from aion_store.bench import durable_postgres

    wanted = set(durable_postgres.POSTGRES_STORES) & set(stores)
    if not any(wanted & workload.stores for _, workload in chosen):
        return None
    dsn = durable_postgres.postgres_dsn()
    assert dsn is not None  # the stores are available: a DSN was given
    source = "--postgres-dsn" if given is not None else durable_postgres.ENVIRONMENT
    try:
        return asyncio.run(durable_postgres.server_info(dsn))
    except durable_postgres.ServerUnavailable as error:
        raise CliError(f"{source}: cannot connect to the PostgreSQL server: {error}") from None
