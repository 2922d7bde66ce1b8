"""A throwaway PostgreSQL server for the tests and benchmarks, started and stopped by them.

The server binaries come from the machine (Debian's ``postgresql`` package:
``/usr/lib/postgresql/<version>/bin``, or ``$AION_STORE_PG_BIN``, or ``PATH``). The data
directory and the unix socket live in a temporary directory; the server listens on that
socket only (no TCP). PostgreSQL refuses to run as root, so under root the server runs
as the unprivileged ``postgres`` system user (``runuser -u postgres``), which owns the
temporary directory.

    server = PostgresServer.start()      # raises ServerUnavailable with what to install
    server.dsn                           # postgresql://postgres@/postgres?host=...&port=...
    server.crash(); server.restart()     # pg_ctl stop -m immediate, then start again
    server.stop()

Also a command: ``python tests/postgres_server.py`` starts one, prints its DSN and
serves until interrupted or terminated (for trying the command line by hand).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "ServerUnavailable", "find_binaries"]

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them "
    "(Debian/Ubuntu: apt-get install postgresql) or set AION_STORE_PG_BIN to their directory"
)
PORT = 5432  # the socket directory is private, so the default port cannot collide


class ServerUnavailable(RuntimeError):
    """No server could be started here; the message says why and what to install."""


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    candidates = []
    if os.environ.get("AION_STORE_PG_BIN"):
        candidates.append(os.environ["AION_STORE_PG_BIN"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for candidate in candidates:
        directory = Path(candidate)
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


class PostgresServer:
    """One server in a temporary directory; see the module docstring."""

    def __init__(self, binaries: Path, root: Path, options: dict[str, str]) -> None:
        self.binaries = binaries
        self.root = root
        self.data = root / "data"
        self.socket = root / "socket"
        self.log = root / "server.log"
        self.options = options
        self.dsn = f"postgresql://postgres@/postgres?host={self.socket}&port={PORT}"

    @classmethod
    def start(cls, **settings: str) -> PostgresServer:
        """Initialise and start a fresh server; ``settings`` are extra ``-c name=value``."""
        binaries = find_binaries()
        if binaries is None:
            raise ServerUnavailable(INSTALL_HINT)
        root = Path(tempfile.mkdtemp(prefix="aion-pg-"))
        options = {
            "listen_addresses": "''",
            "unix_socket_directories": str(root / "socket"),
            "port": str(PORT),
            "max_connections": "200",
            "shared_buffers": "64MB",
            **settings,
        }
        server = cls(binaries, root, options)
        try:
            (root / "socket").mkdir()
            if os.geteuid() == 0:
                shutil.chown(root, "postgres", "postgres")
                shutil.chown(root / "socket", "postgres", "postgres")
            initdb = ["-D", str(server.data), "-U", "postgres", "--auth=trust", "--no-sync"]
            server._run("initdb", *initdb, "-E", "UTF8", "--locale=C")
            server._pg_ctl_start()
        except BaseException:
            server.stop()
            raise
        return server

    def _command(self, program: str, *arguments: str) -> list[str]:
        command = [str(self.binaries / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *arguments: str) -> None:
        result = subprocess.run(
            self._command(program, *arguments), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ServerUnavailable(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )

    def _pg_ctl_start(self) -> None:
        settings = " ".join(f"-c {name}={value}" for name, value in self.options.items())
        where = ["-D", str(self.data), "-l", str(self.log)]
        self._run("pg_ctl", *where, "-o", settings, "-w", "-t", "60", "start")

    def crash(self) -> None:
        """Stop at once, as a crash would (``pg_ctl stop -m immediate``)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Start again after :meth:`crash` (recovery replays the WAL)."""
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server (if running) and remove the temporary directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> int:
    import signal

    try:
        server = PostgresServer.start()
    except ServerUnavailable as error:
        print(error, file=sys.stderr)
        return 2

    def finish(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, finish)
    print(server.dsn, flush=True)
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
