# ruff: noqa: RUF001 (the ratio columns use the multiplication sign)
"""``aion-store bench``'s output: the results document, the report (a table per store
family, as plain text, markdown or rich), the comparison with an earlier run, the chart,
and the progress display.

A results document (``--json``, ``--load``, ``--compare``) has this shape, whatever
stores it holds; a store's family, and so its table and its reference, is read off
``aion_store.bench.FAMILIES`` (ids this version does not know form a family ``other``
with no ratios)::

    {"version": ..., "machine": {...},
     "workloads": {id: {"unit": ..., "stores": {store: {"median", "min", "max", "samples"}}}}}
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from aion_store._text import plural
from aion_store.cli._io import CliError

__all__ = [
    "LEGEND",
    "Console",
    "FamilyTable",
    "check_destination",
    "check_plot",
    "compare",
    "family_tables",
    "format_value",
    "load_results",
    "markdown_table",
    "plain_table",
    "plot",
    "regression_text",
    "write_json",
]


# -- destinations ---------------------------------------------------------------------------


def check_destination(path: str, option: str) -> None:
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


def check_plot(path: str) -> None:
    """``--plot``'s file: a suffix that names an image format matplotlib saves, matplotlib
    installed, and a writable place (see :func:`check_destination`)."""
    check_destination(path, "--plot")
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


# -- the results document ----------------------------------------------------------------


def write_json(path: str, results: dict[str, Any]) -> None:
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


def format_value(value: float, unit: str) -> str:
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


@dataclasses.dataclass
class FamilyTable:
    """One table of the report: the stores of one family measured in a run.

    ``stores``: the family's stores that have results, in report order; ``compared``:
    those with a ratio column (every one but the reference, when the reference was
    measured); ``rows``: one per workload with a result in the family, its cells
    formatted (the workload, a value per store, a ratio per compared store)."""

    family: str
    title: str
    reference: str | None
    stores: list[str]
    compared: list[str]
    headers: list[str]
    rows: list[list[str]]

    @property
    def heading(self) -> str:
        """The line above the table: the family, and what its ratios are."""
        if self.reference is None or not self.compared:
            return f"{self.family}: {self.title}"
        return f"{self.family}: {self.title}; 'store ×' = {self.reference} / store"


def _families(present: set[str]) -> list[tuple[str, str, str | None, list[str]]]:
    """``(family, title, reference, stores present)`` of every family with results;
    store ids this version does not know (a file from another version) form ``other``."""
    from aion_store.bench import FAMILIES

    found: list[tuple[str, str, str | None, list[str]]] = []
    known: set[str] = set()
    for family in FAMILIES.values():
        known.update(family.stores)
        stores = [store for store in family.stores if store in present]
        if stores:
            found.append((family.name, family.title, family.reference, stores))
    unknown = sorted(present - known)
    if unknown:
        found.append(("other", "stores this version does not know", None, unknown))
    return found


def family_tables(results: dict[str, Any]) -> list[FamilyTable]:
    """The report's tables, one per family with results, in the families' order."""
    workloads: dict[str, Any] = results["workloads"]
    present = {store for entry in workloads.values() for store in entry["stores"]}
    tables = []
    for family, title, reference, stores in _families(present):
        has_reference = reference is not None and reference in stores
        compared = [store for store in stores if store != reference] if has_reference else []
        headers = ["workload", *stores, *[f"{store} ×" for store in compared]]
        rows = []
        for workload_id, entry in workloads.items():
            medians = {
                store: stats["median"]
                for store, stats in entry["stores"].items()
                if store in stores
            }
            if not medians:
                continue
            unit = entry["unit"]
            cells = [workload_id if unit == "s" else f"{workload_id} (per event)"]
            for store in stores:
                cells.append(format_value(medians[store], unit) if store in medians else "-")
            base = medians.get(reference) if reference is not None else None
            for store in compared:
                value = medians.get(store)
                if base is None or value is None or value <= 0:
                    cells.append("-")
                else:
                    cells.append(_format_ratio(base / value))
            rows.append(cells)
        tables.append(FamilyTable(family, title, reference, stores, compared, headers, rows))
    return tables


def _caption(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    parts = [f"aion-store {results.get('version', '?')}"]
    if machine.get("python"):
        parts.append(f"{machine.get('implementation', 'Python')} {machine['python']}")
    if machine.get("processor"):
        parts.append(str(machine["processor"]))
    if type(machine.get("cpus")) is int:
        parts.append(plural(machine["cpus"], "CPU"))
    sqlite = machine.get("sqlite")
    if type(sqlite) is dict and sqlite.get("version"):
        parts.append(f"SQLite {sqlite['version']}")
    postgres = machine.get("postgres")
    if type(postgres) is dict and postgres.get("version"):
        parts.append(f"PostgreSQL {postgres['version']}")
    return ", ".join(parts)


LEGEND = (
    "median time per operation (memory_per_event, memory_per_event_running, "
    "disk_per_event: bytes per stored event); 'store ×' = the family's reference / store "
    "(naive for memory, sqlite_floor for sqlite, postgres_floor for postgres): how many "
    "times faster (or smaller) than the reference, higher is better"
)


def markdown_table(results: dict[str, Any]) -> str:
    """The report as GitHub markdown: a heading line and a table per family."""
    parts = []
    for table in family_tables(results):
        lines = [
            f"**{table.heading}**",
            "",
            "| " + " | ".join(table.headers) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(table.headers) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts) + f"\n{_caption(results)}; {LEGEND}\n"


def plain_table(results: dict[str, Any]) -> str:
    """The report as plain text: a heading line and a table per family."""
    parts = []
    for table in family_tables(results):
        headers, rows = table.headers, table.rows
        widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(len(headers))]
        lines = [table.heading]
        for number, row in enumerate([headers, *rows]):
            cells = [
                cell.ljust(width) if index == 0 else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(row, widths))
            ]
            lines.append("  ".join(cells).rstrip())
            if number == 0:
                lines.append("  ".join("-" * width for width in widths))
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts) + f"{_caption(results)}\n{LEGEND}\n"


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


_COLOURS = {
    "compiled": "#1f77b4",
    "pure": "#2ca02c",
    "eventsourcing": "#ff7f0e",
    "sqlite": "#1f77b4",
    "eventsourcing_sqlite": "#ff7f0e",
    "postgres": "#1f77b4",
    "eventsourcing_postgres": "#ff7f0e",
}


def plot(results: dict[str, Any], path: str) -> None:
    """Grouped bar charts of every store's ratio to its family's reference, one panel per
    family, saved in the format ``path``'s suffix names (checked first: see
    :func:`check_plot`)."""
    check_plot(path)
    workloads: dict[str, Any] = results["workloads"]
    panels = []
    for table in family_tables(results):
        reference = table.reference
        if reference is None or not table.compared:
            continue
        ids = [
            workload_id
            for workload_id, entry in workloads.items()
            if reference in entry["stores"] and any(s in entry["stores"] for s in table.compared)
        ]
        if ids:
            panels.append((table, reference, ids))
    if not panels:
        raise CliError(
            f"{path}: nothing to plot: the chart needs a family's reference store "
            "(naive, sqlite_floor, postgres_floor) and another store of the family"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widest = max(len(ids) for _, _, ids in panels)
    figure, grid = plt.subplots(
        len(panels),
        1,
        figsize=(max(8.0, 0.75 * widest + 3), 5.0 * len(panels) + 0.5),
        squeeze=False,
    )
    for axes, (table, reference, ids) in zip(grid[:, 0], panels):
        width = 0.8 / len(table.compared)
        for number, store in enumerate(table.compared):
            xs, ratios = [], []
            for position, workload_id in enumerate(ids):
                medians = workloads[workload_id]["stores"]
                if store in medians and medians[store]["median"] > 0:
                    xs.append(position - 0.4 + width * (number + 0.5))
                    ratios.append(medians[reference]["median"] / medians[store]["median"])
            # Bars grow from 1 (as fast as the reference): up when faster, down when slower.
            heights = [ratio - 1.0 for ratio in ratios]
            axes.bar(xs, heights, width, bottom=1.0, label=store, color=_COLOURS.get(store))
        axes.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label=f"{reference} = 1")
        axes.set_yscale("log")
        axes.set_xticks(range(len(ids)))
        axes.set_xticklabels(ids, rotation=40, ha="right", fontsize=8)
        axes.set_ylabel(f"{reference} / store (log scale)")
        axes.set_title(
            f"{table.family} ({table.title}): speed-up over {reference} (higher is better)",
            fontsize=10,
        )
        axes.legend(fontsize=8)
    figure.text(0.01, 0.005, _caption(results), fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.02, 1, 1))
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


class Console:
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
        from rich.console import Console as RichConsole
        from rich.table import Table

        stream = sys.stderr if self.to_stderr else sys.stdout
        console = RichConsole(file=stream, width=None if stream.isatty() else 160)
        tables = family_tables(results)
        for number, found in enumerate(tables, 1):
            title = f"aion-store bench: {found.heading}"
            if interrupted:
                title += " (interrupted)"
            last = number == len(tables)
            table = Table(title=title, caption=f"{_caption(results)}\n{LEGEND}" if last else None)
            for index, header in enumerate(found.headers):
                style = "bold" if header.endswith("×") else None
                table.add_column(header, justify="left" if index == 0 else "right", style=style)
            for row in found.rows:
                table.add_row(*row)
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
                format_value(was, units[workload_id]),
                format_value(now, units[workload_id]),
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
        from rich.console import Console as RichConsole
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
            console=RichConsole(stderr=True),
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
