"""``aion-store bench``'s measuring: every (workload, store) pair, the pure path in a
child process, and where the numbers come from (:func:`machine_info`).

``compiled``, ``naive``, ``eventsourcing`` and the ``sqlite`` and ``postgres`` families
are measured in this process; ``pure`` in a child process started with
``AION_STORE_PURE=1`` (``aion-store bench --worker``), so the pure-Python numbers come
from a process where nothing compiled is in use. Every store a measurement makes is
closed when it ends (the durable ones remove their temp files or drop their schemas),
also when it fails or is interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import IO, Any

from aion_store.cli._bench_report import Console, format_value
from aion_store.cli._io import CliError

__all__ = ["Runner", "machine_info", "worker"]


class Runner:
    """Measures every (workload, store) pair, workload by workload, reporting progress.

    ``workloads``: ``(id, workload)`` pairs, the id being the workload's at ``sizes``
    (what the table and the JSON call it); ``postgres``: what the results record of the
    postgres family's server (its version and commit settings), when it runs."""

    def __init__(
        self,
        workloads: list[tuple[str, Any]],
        stores: list[str],
        sizes: Any,
        samples: int | None,
        console: Console,
        *,
        postgres: dict[str, Any] | None = None,
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
            "machine": {
                **machine_info(stores, postgres=postgres),
                "sizes": dataclasses.asdict(sizes),
            },
            "workloads": {},
        }
        self.worker: _Worker | None = None

    def run(self) -> tuple[dict[str, Any], bool]:
        total = sum(samples for _, _, _, samples in self.tasks)
        loop = asyncio.new_event_loop()
        interrupted = False
        progress = self.console.progress(total)
        ctrl_c = _CtrlC()

        def advance() -> None:
            progress.advance()
            ctrl_c.check()

        try:
            with ctrl_c:
                for index, (name, workload, store, samples) in enumerate(self.tasks, 1):
                    label = f"{name} on {store}"
                    progress.start(label, index, len(self.tasks))
                    if store == "pure":
                        values = self._worker().measure(workload.id, samples, advance)
                    else:
                        values = _measure_here(workload, store, self.sizes, samples, loop, advance)
                    self._record(name, workload, store, values)
                    progress.done(label, format_value(statistics.median(values), workload.unit))
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


class _CtrlC:
    """Ctrl-C that is never lost: the handler raises ``KeyboardInterrupt`` as Python's
    does, and also remembers it, so that :meth:`check` (after every sample) raises it
    again when the first one landed where Python ignores exceptions (a ``__del__`` run
    by the garbage collector, in a library the workloads use)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


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
    advance: Callable[[], None],
) -> list[float]:
    from aion_store.bench import Sampler

    sampler = Sampler(workload, store, sizes, loop=loop)
    try:
        for index in range(samples):
            if index == 0 or sampler.fresh_state:
                sampler.prepare()
            sampler.sample()
            advance()
        sampler.close()
    except KeyboardInterrupt:
        with contextlib.suppress(BaseException):  # the files go even if closing fails
            sampler.close()
        raise
    except Exception as error:
        with contextlib.suppress(BaseException):
            sampler.close()
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
                with Sampler(workload, store, sizes, loop=loop) as sampler:
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


def machine_info(
    stores: Sequence[str] = (), *, postgres: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Where the numbers were measured (``postgres``: the postgres family's server, as
    :func:`aion_store.bench.durable_postgres.server_info` describes it)."""
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
    if {"eventsourcing", "eventsourcing_sqlite", "eventsourcing_postgres"} & set(stores):
        from importlib.metadata import version

        info["eventsourcing"] = version("eventsourcing")
    if {"sqlite", "sqlite_floor", "eventsourcing_sqlite"} & set(stores):
        import sqlite3

        # The sqlite family's files: fresh ones in this directory (TMPDIR), on one disk.
        info["sqlite"] = {"version": sqlite3.sqlite_version, "directory": tempfile.gettempdir()}
    if postgres is not None:
        # The server's version and commit settings; never the DSN (it may hold a password).
        info["postgres"] = dict(postgres)
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
