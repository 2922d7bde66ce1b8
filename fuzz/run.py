"""Run the fuzz targets one after another, each for a fixed time; keep what they find.

    python fuzz/run.py --seconds 15            # every run 15 s
    python fuzz/run.py --total-seconds 600     # 600 s shared out over the runs
    python fuzz/run.py --targets msgpack --seconds 60

The runs: ``msgpack`` and ``json`` once (``msgpack`` compares the compiled decoder with
the pure one whatever the engine), ``cli_reader`` once per ``--engines`` entry
(``compiled``: the default engine; ``pure``: ``AION_STORE_PURE=1``). Each run is
``fuzz/fuzz_<target>.py`` under atheris with ``fuzz/corpus/<target>/`` as seeds and a
scratch folder for the inputs it finds (kept with ``--work DIR``). An input that breaks
a check is saved by libFuzzer into ``fuzz/regressions/<target>/`` (named
``<engine>-crash-<sha1>``, or ``timeout-``/``oom-``); tests/test_fuzz_regressions.py
replays everything there. Exit status: 0 when no run found anything, 1 when one did, 2
when a run could not start (atheris missing, say).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
TARGETS = ("msgpack", "json", "cli_reader")
ENGINES = ("compiled", "pure")


@dataclass(frozen=True)
class Run:
    target: str
    engine: str

    @property
    def label(self) -> str:
        return self.target if self.target != "cli_reader" else f"{self.target}[{self.engine}]"


def planned_runs(targets: list[str], engines: list[str]) -> list[Run]:
    runs: list[Run] = []
    for target in targets:
        if target == "cli_reader":
            runs.extend(Run(target, engine) for engine in engines)
        else:
            runs.append(Run(target, "compiled"))
    return runs


def listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def run_one(run: Run, seconds: int, work: Path, options: argparse.Namespace) -> int:
    """Fuzz one target; 0 nothing found, 1 a finding, 2 the run failed to start."""
    regressions = FUZZ / "regressions" / run.target
    regressions.mkdir(parents=True, exist_ok=True)
    scratch = work / run.label.replace("[", "-").replace("]", "")
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("AION_STORE_PURE", None)
    if run.engine == "pure":
        env["AION_STORE_PURE"] = "1"
    command = [
        sys.executable,
        str(FUZZ / f"fuzz_{run.target}.py"),
        f"-max_total_time={seconds}",
        f"-max_len={options.max_len}",
        f"-timeout={options.timeout}",
        f"-rss_limit_mb={options.rss_limit_mb}",
        f"-artifact_prefix={regressions}/{run.engine}-",
        "-print_final_stats=1",
        str(scratch),
        str(FUZZ / "corpus" / run.target),
    ]
    before = listing(regressions)
    log_path = work / f"{scratch.name}.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        status = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    took = time.monotonic() - started
    log_text = log_path.read_text(errors="replace")
    new = _drop_duplicates(regressions, sorted(listing(regressions) - before), before)
    summary = _summary(log_text)
    if new or (status != 0 and "Uncaught Python exception" in log_text):
        print(f"{run.label}: FOUND after {took:.0f} s: {summary}")
        for name in new:
            print(f"  saved {(regressions / name).relative_to(FUZZ.parent)}")
        print(_tail(log_text))
        return 1
    if status != 0:
        print(f"{run.label}: the run failed (exit status {status}) after {took:.0f} s")
        print(_tail(log_text))
        return 2
    print(f"{run.label}: nothing found in {took:.0f} s: {summary}")
    return 0


def _drop_duplicates(folder: Path, new: list[str], old: set[str]) -> list[str]:
    """Remove new findings byte-identical to one already saved (the other engine's run
    finds the same input); the new names that remain."""
    seen = {(folder / name).read_bytes() for name in old if (folder / name).is_file()}
    kept = []
    for name in new:
        data = (folder / name).read_bytes()
        if data in seen:
            (folder / name).unlink()
            print(f"  {name}: the same input as a saved finding (removed)")
            continue
        seen.add(data)
        kept.append(name)
    return kept


def _summary(log: str) -> str:
    """libFuzzer's last status line, shortened: runs, coverage, corpus, speed."""
    for line in reversed(log.splitlines()):
        if line.startswith("#") and "cov:" in line:
            fields = line.split()
            keep = [fields[0].lstrip("#") + " runs"]
            for key in ("cov:", "corp:", "exec/s:"):
                if key in fields:
                    keep.append(f"{key} {fields[fields.index(key) + 1]}")
            return ", ".join(keep)
    return "no status line"


def _tail(log: str, lines: int = 40) -> str:
    return "\n".join("    " + line for line in log.splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    time_group = parser.add_mutually_exclusive_group()
    time_group.add_argument("--seconds", type=int, help="time per run (default 15)")
    time_group.add_argument("--total-seconds", type=int, help="time for all runs together")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated")
    parser.add_argument("--engines", default=",".join(ENGINES), help="for cli_reader")
    parser.add_argument("--max-len", type=int, default=4096, help="largest input (bytes)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per input")
    parser.add_argument("--rss-limit-mb", type=int, default=3072)
    parser.add_argument("--work", type=Path, help="keep the corpus the runs grow here")
    parser.add_argument(
        "--require-compiled",
        action="store_true",
        help="fail unless aion_store._core imports (else msgpack compares pure with nothing)",
    )
    options = parser.parse_args(argv)

    targets = [name for name in options.targets.split(",") if name]
    engines = [name for name in options.engines.split(",") if name]
    unknown = [name for name in targets if name not in TARGETS]
    unknown += [name for name in engines if name not in ENGINES]
    if unknown:
        parser.error(f"unknown target or engine: {', '.join(unknown)}")
    try:
        import atheris  # noqa: F401 (only checking that it is there)
    except ImportError:
        print("atheris is not installed: pip install atheris (Linux x86_64)", file=sys.stderr)
        return 2
    if options.require_compiled:
        try:
            import aion_store.wire._msgpack_c  # noqa: F401 (only checking that it is there)
        except ImportError as error:
            print(f"the compiled core does not import: {error}", file=sys.stderr)
            return 2
    runs = planned_runs(targets, engines)
    if options.total_seconds is not None:
        seconds = max(1, options.total_seconds // max(len(runs), 1))
    else:
        seconds = options.seconds if options.seconds is not None else 15

    work = options.work or Path(tempfile.mkdtemp(prefix="aion-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"fuzzing {len(runs)} runs x {seconds} s; logs and grown corpus in {work}")
    results: list[int] = []
    try:
        for run in runs:
            results.append(run_one(run, seconds, work, options))
    finally:
        if options.work is None and not any(results):
            shutil.rmtree(work, ignore_errors=True)
    if 1 in results:
        print("findings saved in fuzz/regressions/; replay: pytest tests/test_fuzz_regressions.py")
        return 1
    return 2 if 2 in results else 0


if __name__ == "__main__":
    sys.exit(main())
