"""Store addresses, parsed once for every command that takes a store.

- ``PATH.db`` (also ``.sqlite``, ``.sqlite3``) or ``sqlite:///PATH``: a ``SqliteStore`` file;
- ``postgresql://...`` (or ``postgres://...``) with ``--schema NAME`` (default ``aion``):
  a ``PostgresStore``;
- ``rust-libsql:///PATH``: a Rust engine's libSQL database file, read-only;
- for ``copy`` only: a directory (an existing one, a path ending in ``/``, or one with no
  suffix) of history files, one per workflow (``WORKFLOW_ID.msgpack``, ``.json``, ``.jsonl``).

A store opened for reading never creates, migrates or writes anything. Every problem
is a :class:`~aion_store.cli._io.CliError` naming the address (a DSN without its
password) and the problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from aion_store.cli._io import SUFFIXES, CliError, Format, HistoryReader, HistoryWriter, validated
from aion_store.error import BackendError, SequenceConflict, SerializationError
from aion_store.events import Event
from aion_store.ids import WorkflowId

__all__ = ["ADDRESS_HELP", "Address", "HistoryDirectory", "exists", "opened", "parse_address"]

Kind = Literal["sqlite", "postgres", "rust-libsql", "directory"]

ADDRESS_HELP = (
    "a store: PATH.db or sqlite:///PATH (SqliteStore), postgresql://... with --schema "
    "(PostgresStore), rust-libsql:///PATH (a Rust engine's database, read-only)"
)
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True)
class Address:
    """A parsed store address: its kind, where it is, and how messages show it."""

    kind: Kind
    location: str
    shown: str


def parse_address(text: str, *, directories: bool = False) -> Address:
    """The address ``text`` names; ``directories`` allows a directory of history files."""
    if text.startswith(("postgresql://", "postgres://")):
        return Address("postgres", text, _without_password(text))
    for scheme, kind in (("sqlite://", "sqlite"), ("rust-libsql://", "rust-libsql")):
        if text.startswith(scheme):
            path = text[len(scheme) :]
            if not path.startswith("/"):
                raise CliError(
                    f"{text}: expected {scheme}/PATH (three slashes, then the file's path)"
                )
            return Address(kind, path, text)  # type: ignore[arg-type]
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        raise CliError(f"{text}: unknown store address scheme; expected {ADDRESS_HELP}")
    if directories and (
        text.endswith(("/", os.sep)) or Path(text).is_dir() or not Path(text).suffix
    ):
        return Address("directory", text, text)
    if text.lower().endswith(_SQLITE_SUFFIXES):
        return Address("sqlite", text, text)
    what = f"{ADDRESS_HELP}, or a directory of history files" if directories else ADDRESS_HELP
    raise CliError(f"{text}: not a store address; expected {what}")


def _without_password(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def opened(address: Address, *, schema: str, writable: bool) -> AsyncIterator[Any]:
    """The store at ``address``, open for the block; read-only unless ``writable``."""
    try:
        store = await _open(address, schema, writable)
    except (BackendError, SerializationError) as error:
        raise CliError(f"{address.shown}: {_problem(error)}") from error
    try:
        yield store
    finally:
        try:
            await store.close()
        except BackendError as error:
            raise CliError(f"{address.shown}: {_problem(error)}") from error


def _problem(error: BackendError | SerializationError) -> str:
    """The detail without the store's own name (the address already names it)."""
    detail = error.detail
    for prefix in ("sqlite ", "postgresql schema ", "rust-libsql "):
        if detail.startswith(prefix) and ": " in detail:
            return detail.split(": ", 1)[1]
    return detail


async def _open(address: Address, schema: str, writable: bool) -> Any:
    if address.kind == "sqlite":
        from aion_store.sqlite import SqliteStore

        return await SqliteStore.open(address.location, read_only=not writable)
    if address.kind == "postgres":
        try:
            from aion_store.postgres import PostgresStore
        except ImportError as error:
            raise CliError(f"{address.shown}: {error}") from None
        return await PostgresStore.connect(
            address.location, schema=schema, read_only=not writable, min_connections=1
        )
    if address.kind == "rust-libsql":
        if writable:
            raise CliError(f"{address.shown}: a Rust engine's database is read-only here")
        from aion_store.rust_libsql import RustLibsqlStore

        return await RustLibsqlStore.open(address.location)
    if not writable and not Path(address.location).is_dir():
        raise CliError(f"{address.shown}: no such directory")
    return HistoryDirectory(address.location, create=writable)


def exists(address: Address) -> bool:
    """Whether a file or directory address names something that exists (a PostgreSQL
    address always may)."""
    if address.kind in ("sqlite", "rust-libsql", "directory"):
        return Path(address.location).exists()
    return True


class HistoryDirectory:
    """A directory of history files as a (histories-only) store for ``copy``.

    Reads every ``*.msgpack``, ``*.json`` and ``*.jsonl`` file as one workflow's history;
    writes ``WORKFLOW_ID.msgpack`` (or ``fmt``), atomically (a temporary file renamed).
    It holds no timers, visibility records or packages.
    """

    def __init__(self, path: str, *, create: bool, fmt: Format = "msgpack") -> None:
        self.path = Path(path)
        self.format: Format = fmt
        self._files: dict[WorkflowId, Path] | None = None
        if not self.path.is_dir():
            if self.path.exists():
                raise CliError(f"{path}: not a directory")
            if not create:
                self._files = {}  # nothing there yet: an empty store
                return
            try:
                self.path.mkdir(parents=True)
            except OSError as error:
                raise CliError(f"{path}: cannot create the directory: {error.strerror}") from None

    async def close(self) -> None:
        pass

    def files(self) -> dict[WorkflowId, Path]:
        """Each history file by the workflow it holds (read from its first event)."""
        if self._files is None:
            found: dict[WorkflowId, Path] = {}
            for file in sorted(self.path.iterdir()):
                if file.suffix.lower() not in SUFFIXES or not file.is_file():
                    continue
                with HistoryReader(str(file)) as reader:
                    first = next(iter(reader), None)
                if first is None:
                    continue
                owner = first.envelope.workflow_id
                if owner in found:
                    raise CliError(f"{file}: a second history of workflow {owner} ({found[owner]})")
                found[owner] = file
            self._files = found
        return self._files

    async def list_workflow_ids(self) -> list[WorkflowId]:
        return sorted(self.files(), key=str)

    async def read_history(self, workflow_id: WorkflowId) -> list[Event]:
        file = self.files().get(workflow_id)
        if file is None:
            return []
        with HistoryReader(str(file)) as reader:
            return list(validated(reader, reader.name))

    async def append(
        self, token: Any, workflow_id: WorkflowId, events: list[Event], expected_seq: int
    ) -> None:
        """Write the history file: the events already there (``expected_seq`` of them)
        and ``events``, as one new file renamed into place."""
        before = await self.read_history(workflow_id)
        if len(before) != expected_seq:
            raise SequenceConflict(expected=expected_seq, found=len(before))
        target = self.files().get(workflow_id) or self.path / f"{workflow_id}.{self.format}"
        suffix = target.suffix.lower()
        with HistoryWriter(str(target), SUFFIXES.get(suffix, self.format)) as writer:
            for event in [*before, *events]:
                writer.write(event)
            writer.commit()
        self.files()[workflow_id] = target
