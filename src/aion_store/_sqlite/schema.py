"""The SQLite file: how it is recognised, created, migrated forward and configured.

A file is an aion-store database when its header's ``application_id`` is
:data:`APPLICATION_ID`; ``user_version`` is its schema version. A file that is not a
database, belongs to another application, or was written by a newer schema version is
refused before anything is written to it, so it is left byte-for-byte as it was.
"""

from __future__ import annotations

import sqlite3

from aion_store.error import BackendError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "check_current", "configure", "prepare"]

#: ``PRAGMA application_id`` of an aion-store file: "AION" in ASCII.
APPLICATION_ID = 0x41494F4E

# Every table is keyed by workflow first (ids as 16 big-endian bytes, times as integer
# microseconds): an append touches one workflow's rows, and keys sort as the contract does.
_VERSION_1 = """
CREATE TABLE events (
    workflow_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (workflow_id, seq)
) WITHOUT ROWID;

-- One row per workflow. Its head is the last seq in events (an index probe), so an
-- append that changes no projection writes its events' pages only.
CREATE TABLE workflows (
    workflow_id BLOB NOT NULL PRIMARY KEY,
    status INTEGER NOT NULL,
    runs INTEGER NOT NULL,
    workflow_type TEXT,
    started_at INTEGER,
    ended_at INTEGER
) WITHOUT ROWID;
CREATE INDEX workflows_active ON workflows (workflow_id) WHERE status = 0;
CREATE INDEX workflows_by_start ON workflows (started_at, workflow_id)
    WHERE started_at IS NOT NULL;

CREATE TABLE runs (
    workflow_id BLOB NOT NULL,
    run_index INTEGER NOT NULL,
    run_id BLOB NOT NULL,
    parent_run_id BLOB,
    status INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    closed_at INTEGER,
    PRIMARY KEY (workflow_id, run_index)
) WITHOUT ROWID;

CREATE TABLE parents (
    workflow_id BLOB NOT NULL PRIMARY KEY,
    parent BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX parents_by_parent ON parents (parent, workflow_id);

CREATE TABLE timers (
    workflow_id BLOB NOT NULL,
    timer_id TEXT NOT NULL,
    fire_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (fire_at, workflow_id, timer_id);

CREATE TABLE visibility (
    workflow_id BLOB NOT NULL,
    run_id BLOB NOT NULL,
    workflow_type TEXT NOT NULL,
    status INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    close_time INTEGER,
    record BLOB NOT NULL,
    PRIMARY KEY (workflow_id, run_id)
) WITHOUT ROWID;
CREATE INDEX visibility_by_start ON visibility (start_time, workflow_id, run_id);

CREATE TABLE visibility_attributes (
    workflow_id BLOB NOT NULL,
    run_id BLOB NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value BLOB,  -- declared BLOB: no affinity, each value keeps the type it was given
    PRIMARY KEY (workflow_id, run_id, name)
) WITHOUT ROWID;
CREATE INDEX visibility_attributes_by_value ON visibility_attributes (name, kind, value);

CREATE TABLE visibility_keywords (
    workflow_id BLOB NOT NULL,
    run_id BLOB NOT NULL,
    name TEXT NOT NULL,
    keyword TEXT NOT NULL,
    PRIMARY KEY (workflow_id, run_id, name, keyword)
) WITHOUT ROWID;
CREATE INDEX visibility_keywords_by_keyword ON visibility_keywords (name, keyword);

CREATE TABLE packages (
    workflow_type TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    archive BLOB NOT NULL,
    deployed_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_type, content_hash)
) WITHOUT ROWID;
CREATE INDEX packages_by_deployment ON packages (deployed_at, workflow_type, content_hash);

CREATE TABLE package_routes (
    workflow_type TEXT NOT NULL PRIMARY KEY,
    content_hash TEXT NOT NULL
) WITHOUT ROWID;
"""

#: The schema version this package writes; ``MIGRATIONS[v]`` takes a file from v to v + 1.
#: (Statements are split at ";": none may appear inside a statement or a comment.)
# Version 2: query(status=S) reads an index in its order, O(result) instead of every
# started workflow in start order.
_VERSION_2 = """
CREATE INDEX workflows_by_status ON workflows (status, started_at, workflow_id)
    WHERE started_at IS NOT NULL;
"""

MIGRATIONS: tuple[str, ...] = (_VERSION_1, _VERSION_2)
SCHEMA_VERSION = len(MIGRATIONS)
#: The oldest version a read-only store reads as it is (version 2 changed no table).
OLDEST_READABLE = 1


def _refuse(name: str, reason: str) -> BackendError:
    return BackendError(f"sqlite {name}: {reason}")


def _identify(connection: sqlite3.Connection, name: str) -> int:
    """The schema version of an aion-store file (0: a new, empty database); refuse
    anything else. Reads the header only: nothing is written."""
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
            )
        ]
    except sqlite3.DatabaseError as error:
        raise _refuse(name, f"not a SQLite database ({error})") from error
    if application_id == 0 and version == 0 and not tables:
        return 0
    if application_id != APPLICATION_ID:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise _refuse(
            name,
            f"not an aion-store database (application_id {application_id:#x}, "
            f"tables: {shown or 'none'})",
        )
    if version > SCHEMA_VERSION:
        raise _refuse(
            name,
            f"written by a newer aion-store (schema version {version}; this version reads "
            f"up to {SCHEMA_VERSION}); upgrade aion-store to open it",
        )
    return int(version)


def check_current(connection: sqlite3.Connection, name: str) -> None:
    """For a read-only store: the file must be an aion-store file of a schema version this
    version reads as it is (nothing may be created or migrated)."""
    version = _identify(connection, name)
    if version == 0:
        raise _refuse(name, "an empty database, not an aion-store store (nothing to read)")
    if version < OLDEST_READABLE:
        raise _refuse(
            name,
            f"schema version {version} is older than this version's {SCHEMA_VERSION}; "
            "open it writable once to migrate it",
        )


def prepare(connection: sqlite3.Connection, name: str) -> None:
    """Recognise the file, create or migrate its schema, and switch it to WAL.

    ``connection`` is in autocommit mode. The version is read again inside the write
    transaction, so two processes opening a new file at once migrate it once.
    """
    if _identify(connection, name) < SCHEMA_VERSION:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = _identify(connection, name)
            for step in MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise _refuse(name, f"cannot switch to write-ahead logging (journal mode {mode})")


def configure(connection: sqlite3.Connection, synchronous: str, timeout_ms: int) -> None:
    """Per-connection settings: durability, lock wait, and no foreign-key bookkeeping."""
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute(f"PRAGMA busy_timeout = {timeout_ms}")
