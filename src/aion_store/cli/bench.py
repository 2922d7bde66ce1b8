# ruff: noqa: RUF001 (the speed-up columns use the multiplication sign)
"""``aion-store bench``: the standard workloads on every store, one table.

The workloads, stores and sizes are :mod:`aion_store.bench`'s (the same ones the
pytest-benchmark files in ``benchmarks/`` run). ``compiled``, ``naive`` and
``eventsourcing`` are measured in this process; ``pure`` in a child process started with
``AION_STORE_PURE=1`` (``aion-store bench --worker``), so the pure-Python numbers come
from a process where nothing compiled is in use. Results are kept in the ``--json``
document's shape::

    {"version": ..., "machine": {...},
     "workloads": {id: {"unit": ..., "stores": {store: {"median", "min", "max", "samples"}}}}}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from aion_store._text import plural
from aion_store.cli._io import CliError

__all__ = ["add_parser", "join_negative_values", "run"]

HELP = "benchmark the stores on the standard workloads and print one table"
DESCRIPTION = """\
Run the standard workloads of aion_store.bench against the compiled core, the
pure-Python path (measured in a child process with AION_STORE_PURE=1), the naive
reference store and, when it is installed, eventsourcing's POPOAggregateRecorder, then
print one table: a row per workload, a column per store (median seconds per operation;
bytes per stored event for memory_per_event) and speed-up columns relative to the naive
reference (naive / store: higher is better).

Workload ids that name a size name the one measured: full_read_100k_cold at the
default sizes is full_read_20k_cold under --quick. --quick takes well under 30 s, the
default sizes about 2-3 minutes. Everything wrong with the arguments (limits, the
--json and --plot destinations, --compare at other sizes) is reported before anything
is measured. Ctrl-C stops and prints what was measured so far.
"""
EPILOG = """\
examples:
  aion-store bench --quick
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
    from aion_store.bench import STORES, WORKLOADS, Sizes

    parser = subparsers.add_parser(
        "bench",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes: a smoke run in well under 30 s"
    )
    parser.add_argument(
        "--stores",
        metavar="LIST",
        help=f"comma-separated stores to run (default: every available one of {','.join(STORES)})",
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
        help="draw the speed-ups as a grouped bar chart (matplotlib); the suffix is the "
        "format: .png, .svg, .pdf or any other that matplotlib saves",
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
        help="print the table as GitHub markdown on stdout (not with --json -, which "
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
        _check_destination(args.json, "--json")
    if args.plot is not None:
        _check_plot(args.plot)
    old = load_results(args.compare) if args.compare is not None else None
    sizes = None if args.load is not None else _sizes(args)
    chosen: list[tuple[str, Any]] = []
    stores: list[str] = []
    if sizes is not None:
        _check_sizes(sizes)
        chosen = _chosen_workloads(args.workloads, sizes)
        stores = _stores(_chosen(args.stores, STORES, "stores"))
    loaded = load_results(args.load) if args.load is not None else None
    if old is not None:
        if loaded is not None:
            _check_same_sizes(args.compare, old, loaded["machine"].get("sizes"), args.load)
        elif sizes is not None:
            _check_same_sizes(args.compare, old, dataclasses.asdict(sizes), "this run")
    # With --json - the JSON owns stdout: the table and comparison go to stderr.
    console = _Console(plain=args.plain, to_stderr=args.json == "-")

    interrupted = False
    if loaded is not None:
        results = loaded
    else:
        runner = _Runner(chosen, stores, sizes, args.samples, console)
        results, interrupted = runner.run()

    if args.markdown:
        console.out(markdown_table(results))
    else:
        console.table(results, interrupted)
    if args.json is not None:
        _write_json(args.json, results)
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
    keys = list(dict.fromkeys([*sizes, *old_sizes]))
    differing = [key for key in keys if old_sizes.get(key) != sizes.get(key)]
    if differing:
        shown = ", ".join(
            f"{_flag(key)} {old_sizes.get(key, '-')} vs {sizes.get(key, '-')}" for key in differing
        )
        raise CliError(
            f"{old_name}: measured at other sizes than {new_name} ({old_name} vs "
            f"{new_name}: {shown}); compare runs made with the same size flags"
        )


def _check_destination(path: str, option: str) -> None:
    """``path`` can be written: not a directory, in an existing writable directory."""
    target = Path(path)
    if target.is_dir():
        raise CliError(f"{path}: {option} names a directory; give a file name")
    parent = target.parent
    if not parent.exists():
        raise CliError(f"{path}: {option}: no such directory: {parent}")
    if not parent.is_dir():
        raise CliError(f"{path}: {option}: {parent} is not a directory")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise CliError(f"{path}: {option}: cannot write: permission denied")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"{path}: {option}: cannot create a file in {parent}: permission denied")


def _check_plot(path: str) -> None:
    """``--plot``'s file: a suffix that names an image format matplotlib saves, matplotlib
    installed, and a writable place (see :func:`_check_destination`)."""
    _check_destination(path, "--plot")
    suffix = Path(path).suffix.lower().removeprefix(".")
    if not suffix:
        raise CliError(
            f"{path}: --plot needs a suffix naming the image format, such as {path}.png "
            "or .svg or .pdf"
        )
    _require_matplotlib(path)
    formats = _image_formats()
    if suffix not in formats:
        raise CliError(
            f"{path}: --plot cannot save .{suffix} images; matplotlib saves "
            + ", ".join(f".{name}" for name in sorted(formats))
        )
    if suffix == "pgf":
        import matplotlib

        texsystem = str(matplotlib.rcParams["pgf.texsystem"])
        if shutil.which(texsystem) is None:
            raise CliError(f"{path}: --plot .pgf needs {texsystem}, which is not on PATH")


def _image_formats() -> set[str]:
    """The suffixes matplotlib's ``savefig`` accepts (without importing pyplot)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return {name.lower() for name in FigureCanvasBase.get_supported_filetypes()}


def _require_matplotlib(path: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError(
            f"{path}: --plot needs matplotlib, which is not installed: "
            "pip install 'aion-store[plot]'"
        ) from None


def _stores(chosen: list[str] | None) -> list[str]:
    from aion_store.bench import STORES, available_stores

    available = set(available_stores()) | {"pure"}
    if chosen is None:
        return [store for store in STORES if store in available]
    missing = [store for store in chosen if store not in available]
    if missing:
        reasons = {
            "compiled": "the compiled core is not built (pip install -e . with Cython)",
            "eventsourcing": "eventsourcing is not installed (pip install 'aion-store[peers]')",
        }
        raise CliError(
            f"--stores: {missing[0]} is not available here: {reasons.get(missing[0], '')}"
        )
    return chosen


# -- measuring ----------------------------------------------------------------------------------


class _Runner:
    """Measures every (workload, store) pair, workload by workload, reporting progress.

    ``workloads``: ``(id, workload)`` pairs, the id being the workload's at ``sizes``
    (what the table and the JSON call it)."""

    def __init__(
        self,
        workloads: list[tuple[str, Any]],
        stores: list[str],
        sizes: Any,
        samples: int | None,
        console: _Console,
    ) -> None:
        self.sizes = sizes
        self.console = console
        self.tasks: list[tuple[str, Any, str, int]] = []
        for name, workload in workloads:
            for store in stores:
                if store in workload.stores:
                    self.tasks.append((name, workload, store, samples or workload.samples))
        self.results: dict[str, Any] = {
            "version": _version(),
            "machine": {**machine_info(stores), "sizes": dataclasses.asdict(sizes)},
            "workloads": {},
        }
        self.worker: _Worker | None = None

    def run(self) -> tuple[dict[str, Any], bool]:
        total = sum(samples for _, _, _, samples in self.tasks)
        loop = asyncio.new_event_loop()
        interrupted = False
        progress = self.console.progress(total)
        try:
            for index, (name, workload, store, samples) in enumerate(self.tasks, 1):
                label = f"{name} on {store}"
                progress.start(label, index, len(self.tasks))
                if store == "pure":
                    values = self._worker().measure(workload.id, samples, progress.advance)
                else:
                    values = _measure_here(workload, store, self.sizes, samples, loop, progress)
                self._record(name, workload, store, values)
                progress.done(label, _format_value(statistics.median(values), workload.unit))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.stop()
            if self.worker is not None:
                self.worker.close(force=interrupted)
            with contextlib.suppress(Exception):  # a loop interrupted mid-run may refuse
                loop.close()
        if interrupted:
            measured = sum(len(entry["stores"]) for entry in self.results["workloads"].values())
            self.console.note(
                f"interrupted: {measured} of {len(self.tasks)} measurements done; "
                "the table shows those"
            )
        return self.results, interrupted

    def _worker(self) -> _Worker:
        if self.worker is None:
            self.worker = _Worker(self.sizes)
        return self.worker

    def _record(self, name: str, workload: Any, store: str, values: list[float]) -> None:
        entry = self.results["workloads"].setdefault(name, {"unit": workload.unit, "stores": {}})
        entry["stores"][store] = _stats(values)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": len(values),
    }


def _measure_here(
    workload: Any,
    store: str,
    sizes: Any,
    samples: int,
    loop: asyncio.AbstractEventLoop,
    progress: Any,
) -> list[float]:
    from aion_store.bench import Sampler

    try:
        sampler = Sampler(workload, store, sizes, loop=loop)
        for index in range(samples):
            if index == 0 or sampler.fresh_state:
                sampler.prepare()
            sampler.sample()
            progress.advance()
    except KeyboardInterrupt:
        raise
    except Exception as error:
        raise CliError(
            f"{workload.id_at(sizes)} on {store}: the workload failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    return list(sampler.values)


class _Worker:
    """The child process that measures the pure path (``AION_STORE_PURE=1``).

    Protocol, one JSON object per line: the parent sends the sizes, then requests
    ``{"workload": id, "store": "pure", "samples": n}`` (``id``: the key of
    ``WORKLOADS``, the id at the default sizes); the child answers each sample
    with ``{"sample": x}`` and a finished request with ``{"values": [...]}``, or
    ``{"error": "..."}``.
    """

    def __init__(self, sizes: Any) -> None:
        env = dict(os.environ, AION_STORE_PURE="1", PYTHONUNBUFFERED="1")
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aion_store.cli", "bench", "--worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env=env,
                text=True,
                encoding="utf-8",
            )
        except OSError as error:
            raise CliError(f"cannot start the pure-path worker process: {error}") from None
        self._send({"sizes": dataclasses.asdict(sizes)})
        hello = self._receive()
        if hello.get("compiled") is not False:
            self.close(force=True)
            raise CliError("the pure-path worker process did not run on the pure path")

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise CliError(f"the pure-path worker process stopped: {self._last_error()}") from None

    def _receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise CliError(f"the pure-path worker process stopped: {self._last_error()}")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise CliError(str(message["error"]))
        return message

    def _last_error(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.process.poll()}"

    def measure(self, workload_id: str, samples: int, advance: Callable[[], None]) -> list[float]:
        self._send({"workload": workload_id, "store": "pure", "samples": samples})
        while True:
            message = self._receive()
            if "sample" in message:
                advance()
                continue
            values: list[float] = message["values"]
            return values

    def close(self, force: bool = False) -> None:
        process = self.process
        if process.poll() is None:
            if force:
                process.terminate()
            else:
                try:
                    assert process.stdin is not None
                    process.stdin.close()
                except OSError:
                    pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()


def worker() -> int:
    """The child side of :class:`_Worker` (``aion-store bench --worker``)."""
    import aion_store
    from aion_store.bench import WORKLOADS, Sampler, Sizes

    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        first = sys.stdin.readline()
        if not first:
            return 0
        sizes = Sizes.default().with_(**json.loads(first)["sizes"])
        send({"compiled": aion_store.compiled})
        loop = asyncio.new_event_loop()
        while True:
            line = sys.stdin.readline()
            if not line:
                break
            request = json.loads(line)
            workload = WORKLOADS[request["workload"]]
            store = request["store"]
            try:
                sampler = Sampler(workload, store, sizes, loop=loop)
                for index in range(int(request["samples"])):
                    if index == 0 or sampler.fresh_state:
                        sampler.prepare()
                    send({"sample": sampler.sample()})
            except Exception as error:
                send(
                    {
                        "error": f"{workload.id_at(sizes)} on {store}: the workload failed: "
                        f"{type(error).__name__}: {error}"
                    }
                )
                return 1
            send({"values": sampler.values})
        loop.close()
    except (KeyboardInterrupt, BrokenPipeError):
        return 130
    return 0


# -- results ------------------------------------------------------------------------------------


def _version() -> str:
    from aion_store import __version__

    return __version__


def machine_info(stores: Sequence[str] = ()) -> dict[str, Any]:
    """Where the numbers were measured."""
    from aion_store.bench import available_stores

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "processor": _processor(),
        "cpus": os.cpu_count(),
        "compiled_core": "compiled" in available_stores(),
        "stores": list(stores),
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
    if "eventsourcing" in stores:
        from importlib.metadata import version

        info["eventsourcing"] = version("eventsourcing")
    return info


def _processor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _write_json(path: str, results: dict[str, Any]) -> None:
    text = json.dumps(results, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"{path}: cannot write: {error.strerror or error}") from None


def load_results(path: str) -> dict[str, Any]:
    """Read and check an earlier ``--json`` document."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise CliError(f"{path}: byte {error.start}: invalid UTF-8 ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise CliError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise CliError(f"{path}: invalid JSON: {error}") from None
    if type(data) is not dict:
        raise CliError(f"{path}: expected a JSON object written by aion-store bench --json")
    workloads = data.get("workloads")
    if type(workloads) is not dict:
        raise CliError(f"{path}: workloads: expected an object of workload results")
    for workload_id, entry in workloads.items():
        where = f"{path}: workloads.{workload_id}"
        if type(entry) is not dict or type(entry.get("stores")) is not dict:
            raise CliError(f'{where}: expected an object with "unit" and "stores"')
        if type(entry.get("unit")) is not str:
            raise CliError(f"{where}.unit: expected a string")
        for store, stats in entry["stores"].items():
            for key in ("median", "min", "max"):
                value = stats.get(key) if type(stats) is dict else None
                if type(value) not in (int, float) or not value >= 0:  # type: ignore[operator]
                    raise CliError(f"{where}.stores.{store}.{key}: expected a non-negative number")
    data.setdefault("version", "?")
    if type(data.get("machine")) is not dict:
        data["machine"] = {}
    return data


def _format_value(value: float, unit: str) -> str:
    if unit != "s":
        return f"{value:,.0f} B"
    if value >= 1:
        return f"{value:.3g} s"
    for scale, name in ((1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if value >= scale or name == "ns":
            scaled = value / scale
            return f"{scaled:.3g} {name}" if scaled < 100 else f"{scaled:.0f} {name}"
    return f"{value:.3g} s"  # pragma: no cover


def _format_ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.0f}×"
    return f"{ratio:.2g}×" if ratio < 1 else f"{ratio:.1f}×"


def _table_rows(results: dict[str, Any]) -> tuple[list[str], list[str], list[list[str]]]:
    """Headers, the stores with columns, and the rows of the report table."""
    from aion_store.bench import STORES

    workloads: dict[str, Any] = results["workloads"]
    present = {store for entry in workloads.values() for store in entry["stores"]}
    stores = [store for store in STORES if store in present]
    stores += sorted(present - set(stores))
    compared = [store for store in stores if store != "naive"] if "naive" in present else []
    headers = ["workload", *stores, *[f"{store} ×" for store in compared]]
    rows = []
    for workload_id, entry in workloads.items():
        unit = entry["unit"]
        cells = [workload_id if unit == "s" else f"{workload_id} (per event)"]
        medians = {store: stats["median"] for store, stats in entry["stores"].items()}
        for store in stores:
            cells.append(_format_value(medians[store], unit) if store in medians else "-")
        naive = medians.get("naive")
        for store in compared:
            value = medians.get(store)
            if naive is None or value is None or value <= 0:
                cells.append("-")
            else:
                cells.append(_format_ratio(naive / value))
        rows.append(cells)
    return headers, stores, rows


def _caption(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    parts = [f"aion-store {results.get('version', '?')}"]
    if machine.get("python"):
        parts.append(f"{machine.get('implementation', 'Python')} {machine['python']}")
    if machine.get("processor"):
        parts.append(str(machine["processor"]))
    if type(machine.get("cpus")) is int:
        parts.append(plural(machine["cpus"], "CPU"))
    return ", ".join(parts)


LEGEND = (
    "median time per operation (memory_per_event: bytes per stored event); "
    "'store ×' = naive / store: the speed-up over the naive reference, higher is better"
)


def markdown_table(results: dict[str, Any]) -> str:
    headers, _, rows = _table_rows(results)
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n{_caption(results)}; {LEGEND}\n"


def plain_table(results: dict[str, Any]) -> str:
    headers, _, rows = _table_rows(results)
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(len(headers))]
    lines = []
    for number, row in enumerate([headers, *rows]):
        cells = [
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines) + f"\n{_caption(results)}\n{LEGEND}\n"


def compare(
    old: dict[str, Any], new: dict[str, Any], fail_over: float
) -> list[tuple[str, str, float, float, float, bool]]:
    """``(workload, store, old, new, change %, regression)`` for every pair in both runs.

    A regression is a change above ``fail_over`` percent: with 20 more than 20% slower,
    with 0 any slowdown, with -5 anything but at least 5% faster."""
    rows = []
    for workload_id, entry in new["workloads"].items():
        before = old["workloads"].get(workload_id)
        if before is None:
            continue
        for store, stats in entry["stores"].items():
            previous = before["stores"].get(store)
            if previous is None:
                continue
            was, now = float(previous["median"]), float(stats["median"])
            change = (now - was) / was * 100 if was > 0 else 0.0
            rows.append((workload_id, store, was, now, change, change > fail_over))
    return rows


def regression_text(fail_over: float) -> str:
    """What a regression is at this ``--fail-over`` threshold, in words."""
    if fail_over > 0:
        return f"more than {fail_over:g}% slower"
    if fail_over == 0:
        return "slower at all"
    return f"not at least {-fail_over:g}% faster"


def plot(results: dict[str, Any], path: str) -> None:
    """A grouped bar chart of every store's speed-up over the naive reference, saved in
    the format ``path``'s suffix names (checked first: see :func:`_check_plot`)."""
    _check_plot(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads: dict[str, Any] = results["workloads"]
    _, stores, _ = _table_rows(results)
    compared = [store for store in stores if store != "naive"]
    ids = [
        workload_id
        for workload_id, entry in workloads.items()
        if "naive" in entry["stores"] and any(s in entry["stores"] for s in compared)
    ]
    if not ids or not compared:
        raise CliError(f"{path}: nothing to plot: the chart needs naive and another store")
    figure, axes = plt.subplots(figsize=(max(8.0, 0.75 * len(ids) + 3), 5.5))
    width = 0.8 / len(compared)
    colours = {"compiled": "#1f77b4", "pure": "#2ca02c", "eventsourcing": "#ff7f0e"}
    for number, store in enumerate(compared):
        xs, ratios = [], []
        for position, workload_id in enumerate(ids):
            medians = workloads[workload_id]["stores"]
            if store in medians and medians[store]["median"] > 0:
                xs.append(position - 0.4 + width * (number + 0.5))
                ratios.append(medians["naive"]["median"] / medians[store]["median"])
        # Bars grow from 1 (as fast as naive): up when faster, down when slower.
        heights = [ratio - 1.0 for ratio in ratios]
        axes.bar(xs, heights, width, bottom=1.0, label=store, color=colours.get(store))
    axes.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="naive = 1")
    axes.set_yscale("log")
    axes.set_xticks(range(len(ids)))
    axes.set_xticklabels(ids, rotation=40, ha="right", fontsize=8)
    axes.set_ylabel("speed-up over the naive reference (naive / store, log scale)")
    axes.set_title("aion-store: speed-up over the naive reference (higher is better)", fontsize=11)
    axes.legend(fontsize=8)
    figure.text(0.01, 0.01, _caption(results), fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    try:
        figure.savefig(path, dpi=150)
    except OSError as error:
        raise CliError(f"{path}: cannot write: {error.strerror or error}") from None
    except (RuntimeError, ValueError) as error:  # a format's own needs (LaTeX for .pgf)
        raise CliError(f"{path}: cannot save the chart: {error}") from None
    finally:
        plt.close(figure)


# -- output: rich when installed (and wanted), plain text otherwise -------------------------------


def _have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class _Console:
    def __init__(self, *, plain: bool, to_stderr: bool = False) -> None:
        self.rich = not plain and _have_rich()
        self.to_stderr = to_stderr

    def out(self, text: str) -> None:
        from aion_store.cli.inspect import write_stdout

        if self.to_stderr:
            sys.stderr.write(text)
            sys.stderr.flush()
        else:
            write_stdout(text)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def progress(self, total: int) -> Any:
        if self.rich and sys.stderr.isatty():
            return _RichProgress(total)
        return _PlainProgress(total)

    def table(self, results: dict[str, Any], interrupted: bool) -> None:
        if not results["workloads"]:
            self.note("no measurements")
            return
        if not self.rich:
            self.out(plain_table(results))
            return
        from rich.console import Console
        from rich.table import Table

        headers, _, rows = _table_rows(results)
        title = "aion-store bench" + (" (interrupted)" if interrupted else "")
        table = Table(title=title, caption=f"{_caption(results)}\n{LEGEND}")
        for index, header in enumerate(headers):
            style = "bold" if header.endswith("×") else None
            table.add_column(header, justify="left" if index == 0 else "right", style=style)
        for row in rows:
            table.add_row(*row)
        stream = sys.stderr if self.to_stderr else sys.stdout
        console = Console(file=stream, width=None if stream.isatty() else 160)
        console.print(table)

    def comparison(
        self, old: dict[str, Any], new: dict[str, Any], fail_over: float, name: str
    ) -> list[str]:
        rows = compare(old, new, fail_over)
        units = {workload_id: entry["unit"] for workload_id, entry in new["workloads"].items()}
        if not rows:
            self.note(f"{name}: no workload and store in common with this run")
            return []
        header = ["workload", "store", "before", "now", "change", ""]
        body = [
            [
                workload_id,
                store,
                _format_value(was, units[workload_id]),
                _format_value(now, units[workload_id]),
                f"{change:+.1f}%",
                "REGRESSION" if regressed else "",
            ]
            for workload_id, store, was, now, change, regressed in rows
        ]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = [f"\ncompared with {name} (a regression: {regression_text(fail_over)}):"]
        for row in [header, *body]:
            lines.append(
                "  ".join(
                    cell.ljust(width) if index < 2 else cell.rjust(width)
                    for index, (cell, width) in enumerate(zip(row, widths))
                ).rstrip()
            )
        self.out("\n".join(lines) + "\n")
        regressions = [
            f"{workload_id} on {store} {change:+.1f}%"
            for workload_id, store, _, _, change, regressed in rows
            if regressed
        ]
        if regressions:
            shown = ", ".join(regressions[:5])
            if len(regressions) > 5:
                shown += f" and {len(regressions) - 5} more"
            self.note(
                f"{name}: {plural(len(regressions), 'regression')} "
                f"({regression_text(fail_over)}): {shown}"
            )
        return regressions


class _PlainProgress:
    """One line on stderr per finished measurement."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.started = time.perf_counter()
        self.index = 0
        self.tasks = 0

    def start(self, label: str, index: int, tasks: int) -> None:
        self.index, self.tasks = index, tasks

    def advance(self) -> None:
        self.count += 1

    def done(self, label: str, value: str) -> None:
        width = len(str(self.tasks))
        elapsed = time.perf_counter() - self.started
        print(
            f"[{self.index:>{width}}/{self.tasks}] {label}: {value} ({elapsed:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    def stop(self) -> None:
        pass


class _RichProgress:
    """A rich progress bar on stderr, advanced once per sample."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<40}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("samples"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("starting", total=total)

    def start(self, label: str, index: int, tasks: int) -> None:
        self.progress.update(self.task, description=f"[{index}/{tasks}] {label}")

    def advance(self) -> None:
        self.progress.advance(self.task)

    def done(self, label: str, value: str) -> None:
        pass

    def stop(self) -> None:
        self.progress.stop()
