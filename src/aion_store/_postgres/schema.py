"""The store's PostgreSQL schema: how it is recognised, created and migrated forward.

Everything lives in the schema given to ``PostgresStore.connect``; its version is the
one row of ``schema_version``. Creation and migration run in one transaction holding an
advisory lock named after the schema, so stores connecting at once migrate it once. A
schema with other tables and no ``schema_version``, or a newer version, is refused
before anything is written.

Every table is keyed by ``workflow_id`` first and an append touches one workflow's rows
only (``children`` is keyed by the parent that names a child), so the tables can be
distributed by ``workflow_id`` (Citus); ``packages`` and ``package_routes`` have no
workflow and would be reference tables. Ids are ``uuid`` (ordered as their bytes, as
``str(id)`` sorts), times ``timestamptz``, text ``bytea`` (UTF-8: PostgreSQL's text
cannot hold U+0000, and bytes order as the code points do).
"""

from __future__ import annotations

from typing import Any

from aion_store.error import BackendError

__all__ = ["SCHEMA_VERSION", "check_current", "prepare", "quote"]

# {s} is the quoted schema name.
_VERSION_1 = """
CREATE TABLE {s}.schema_version (version integer NOT NULL);
INSERT INTO {s}.schema_version VALUES (0);

CREATE TABLE {s}.events (
    workflow_id uuid NOT NULL,
    seq bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (workflow_id, seq)
);

CREATE TABLE {s}.workflows (
    workflow_id uuid NOT NULL PRIMARY KEY,
    head bigint NOT NULL,
    status smallint NOT NULL,
    runs integer NOT NULL,
    workflow_type bytea,
    started_at timestamptz,
    ended_at timestamptz
);
CREATE INDEX workflows_active ON {s}.workflows (workflow_id) WHERE status = 0;
CREATE INDEX workflows_by_start ON {s}.workflows (started_at, workflow_id)
    WHERE started_at IS NOT NULL;

CREATE TABLE {s}.runs (
    workflow_id uuid NOT NULL,
    run_index integer NOT NULL,
    run_id uuid NOT NULL,
    parent_run_id uuid,
    status smallint NOT NULL,
    started_at timestamptz NOT NULL,
    closed_at timestamptz,
    PRIMARY KEY (workflow_id, run_index)
);

-- The children a workflow's ChildWorkflowStarted events named; a child's parent is the
-- one that named it last (the highest "named").
CREATE SEQUENCE {s}.naming;
CREATE TABLE {s}.children (
    workflow_id uuid NOT NULL,
    child uuid NOT NULL,
    named bigint NOT NULL,
    PRIMARY KEY (workflow_id, child)
);
CREATE INDEX children_by_child ON {s}.children (child, named);

CREATE TABLE {s}.timers (
    workflow_id uuid NOT NULL,
    timer_id bytea NOT NULL,
    fire_at timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, timer_id)
);
CREATE INDEX timers_due ON {s}.timers (fire_at, workflow_id, timer_id);

CREATE TABLE {s}.visibility (
    workflow_id uuid NOT NULL,
    run_id uuid NOT NULL,
    workflow_type bytea NOT NULL,
    status smallint NOT NULL,
    start_time timestamptz NOT NULL,
    close_time timestamptz,
    search_attributes jsonb NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX visibility_by_start ON {s}.visibility (start_time, workflow_id, run_id);
CREATE INDEX visibility_attributes ON {s}.visibility USING gin (search_attributes jsonb_path_ops);

CREATE TABLE {s}.packages (
    workflow_type bytea NOT NULL,
    content_hash bytea NOT NULL,
    archive bytea NOT NULL,
    deployed_at timestamptz NOT NULL,
    PRIMARY KEY (workflow_type, content_hash)
);
CREATE INDEX packages_by_deployment ON {s}.packages (deployed_at, workflow_type, content_hash);

CREATE TABLE {s}.package_routes (
    workflow_type bytea NOT NULL PRIMARY KEY,
    content_hash bytea NOT NULL
);

-- One append: the head check, the events and the projection changes
-- (aion_store._sql.projection.Delta), in the statement's transaction.
CREATE TYPE {s}.append_request AS (
    workflow_id uuid,
    expected bigint,
    bodies bytea[],
    status smallint,
    end_status smallint,
    end_at timestamptz,
    run_ids uuid[],
    parent_run_ids uuid[],
    run_statuses smallint[],
    run_started timestamptz[],
    run_closed timestamptz[],
    workflow_type bytea,
    children uuid[]
);

-- Appends in order; for each, -1 when it was stored, else the head it found (a
-- sequence conflict, nothing written). Callers lock workflows in id order.
CREATE FUNCTION {s}.append(requests {s}.append_request[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    request {s}.append_request;
    outcomes bigint[] := '{{}}';
    current_head bigint;
    before integer;
    started integer;
BEGIN
    FOREACH request IN ARRAY requests LOOP
        started := coalesce(cardinality(request.run_ids), 0);
        IF request.expected = 0 THEN
            INSERT INTO {s}.workflows (workflow_id, head, status, runs)
            VALUES (request.workflow_id, 0, 0, 0) ON CONFLICT (workflow_id) DO NOTHING;
        END IF;
        UPDATE {s}.workflows w SET
            head = request.expected + cardinality(request.bodies),
            status = coalesce(request.status, w.status),
            runs = w.runs + started,
            workflow_type = CASE WHEN started > 0 THEN request.workflow_type
                                 ELSE w.workflow_type END,
            started_at = CASE WHEN started > 0 THEN request.run_started[started]
                              ELSE w.started_at END,
            ended_at = CASE WHEN started > 0 THEN request.run_closed[started]
                            WHEN request.end_at IS NOT NULL AND w.runs > 0 THEN request.end_at
                            ELSE w.ended_at END
        WHERE w.workflow_id = request.workflow_id AND w.head = request.expected
        RETURNING w.runs - started INTO before;
        IF NOT FOUND THEN
            SELECT head INTO current_head FROM {s}.workflows
            WHERE workflow_id = request.workflow_id;
            outcomes := outcomes || coalesce(current_head, 0);
            CONTINUE;
        END IF;
        INSERT INTO {s}.events (workflow_id, seq, body)
        SELECT request.workflow_id, request.expected + u.position, u.body
        FROM unnest(request.bodies) WITH ORDINALITY AS u(body, position);
        IF request.end_at IS NOT NULL AND before > 0 THEN
            UPDATE {s}.runs SET status = request.end_status, closed_at = request.end_at
            WHERE workflow_id = request.workflow_id AND run_index = before - 1;
        END IF;
        IF started > 0 THEN
            INSERT INTO {s}.runs (workflow_id, run_index, run_id, parent_run_id, status,
                                  started_at, closed_at)
            SELECT request.workflow_id, before + u.position - 1, u.run_id, u.parent_run_id,
                   u.status, u.started_at, u.closed_at
            FROM unnest(request.run_ids, request.parent_run_ids, request.run_statuses,
                        request.run_started, request.run_closed)
                 WITH ORDINALITY AS u(run_id, parent_run_id, status, started_at, closed_at,
                                      position);
        END IF;
        IF coalesce(cardinality(request.children), 0) > 0 THEN
            INSERT INTO {s}.children (workflow_id, child, named)
            SELECT request.workflow_id, u.child, nextval('{s}.naming')
            FROM unnest(request.children) AS u(child)
            ON CONFLICT (workflow_id, child) DO UPDATE SET named = excluded.named;
        END IF;
        outcomes := outcomes || (-1)::bigint;
    END LOOP;
    RETURN outcomes;
END
$$;
"""

#: ``MIGRATIONS[v]`` takes a schema from version v to v + 1; the last is this version.
#: A step never changes once written: a schema of version v is what ``MIGRATIONS[:v]``
#: made (the migration test rebuilds version 1 from ``MIGRATIONS[0]``), which is why
#: version 2 carries the whole changed append function instead of editing version 1's.
# Version 2: query(status=S) reads an index in its order, O(result) instead of a scan of
# every workflow; the condition started_at IS NOT NULL makes the partial index usable
# by the generic plan of the prepared statement, whatever status is asked. And a
# workflow's first append inserts its workflows row as projected, where version 1
# inserted a placeholder and updated it (a dead row version per new workflow, which
# list_active and query read past until vacuum).
_VERSION_2 = """
CREATE INDEX workflows_by_status ON {s}.workflows (status, started_at, workflow_id)
    WHERE started_at IS NOT NULL;

CREATE OR REPLACE FUNCTION {s}.append(requests {s}.append_request[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    request {s}.append_request;
    outcomes bigint[] := '{{}}';
    current_head bigint;
    before integer;
    started integer;
    inserted boolean;
BEGIN
    FOREACH request IN ARRAY requests LOOP
        started := coalesce(cardinality(request.run_ids), 0);
        inserted := false;
        before := 0;
        IF request.expected = 0 THEN
            INSERT INTO {s}.workflows (workflow_id, head, status, runs, workflow_type,
                                      started_at, ended_at)
            VALUES (request.workflow_id, cardinality(request.bodies),
                    coalesce(request.status, 0), started,
                    CASE WHEN started > 0 THEN request.workflow_type END,
                    CASE WHEN started > 0 THEN request.run_started[started] END,
                    CASE WHEN started > 0 THEN request.run_closed[started] END)
            ON CONFLICT (workflow_id) DO NOTHING;
            inserted := FOUND;
        END IF;
        IF NOT inserted THEN
            UPDATE {s}.workflows w SET
                head = request.expected + cardinality(request.bodies),
                status = coalesce(request.status, w.status),
                runs = w.runs + started,
                workflow_type = CASE WHEN started > 0 THEN request.workflow_type
                                     ELSE w.workflow_type END,
                started_at = CASE WHEN started > 0 THEN request.run_started[started]
                                  ELSE w.started_at END,
                ended_at = CASE WHEN started > 0 THEN request.run_closed[started]
                                WHEN request.end_at IS NOT NULL AND w.runs > 0
                                    THEN request.end_at
                                ELSE w.ended_at END
            WHERE w.workflow_id = request.workflow_id AND w.head = request.expected
            RETURNING w.runs - started INTO before;
            IF NOT FOUND THEN
                SELECT head INTO current_head FROM {s}.workflows
                WHERE workflow_id = request.workflow_id;
                outcomes := outcomes || coalesce(current_head, 0);
                CONTINUE;
            END IF;
        END IF;
        INSERT INTO {s}.events (workflow_id, seq, body)
        SELECT request.workflow_id, request.expected + u.position, u.body
        FROM unnest(request.bodies) WITH ORDINALITY AS u(body, position);
        IF request.end_at IS NOT NULL AND before > 0 THEN
            UPDATE {s}.runs SET status = request.end_status, closed_at = request.end_at
            WHERE workflow_id = request.workflow_id AND run_index = before - 1;
        END IF;
        IF started > 0 THEN
            INSERT INTO {s}.runs (workflow_id, run_index, run_id, parent_run_id, status,
                                  started_at, closed_at)
            SELECT request.workflow_id, before + u.position - 1, u.run_id, u.parent_run_id,
                   u.status, u.started_at, u.closed_at
            FROM unnest(request.run_ids, request.parent_run_ids, request.run_statuses,
                        request.run_started, request.run_closed)
                 WITH ORDINALITY AS u(run_id, parent_run_id, status, started_at, closed_at,
                                      position);
        END IF;
        IF coalesce(cardinality(request.children), 0) > 0 THEN
            INSERT INTO {s}.children (workflow_id, child, named)
            SELECT request.workflow_id, u.child, nextval('{s}.naming')
            FROM unnest(request.children) AS u(child)
            ON CONFLICT (workflow_id, child) DO UPDATE SET named = excluded.named;
        END IF;
        outcomes := outcomes || (-1)::bigint;
    END LOOP;
    RETURN outcomes;
END
$$;
"""

MIGRATIONS: tuple[str, ...] = (_VERSION_1, _VERSION_2)
SCHEMA_VERSION = len(MIGRATIONS)
#: The oldest version a read-only store reads as it is (version 2 changed no table).
OLDEST_READABLE = 1


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


async def check_current(connection: Any, schema: str, name: str) -> None:
    """For a read-only store: ``schema`` must be an aion-store schema of a version this
    version reads as it is (nothing may be created or migrated)."""
    tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    if not any(row[0] == "schema_version" for row in tables):
        raise BackendError(f"{name}: schema {schema!r} holds no aion-store store")
    version = await connection.fetchval(f"SELECT max(version) FROM {quote(schema)}.schema_version")
    if version is None or not OLDEST_READABLE <= version <= SCHEMA_VERSION:
        raise BackendError(
            f"{name}: schema version {version}, and this version reads {OLDEST_READABLE} to "
            f"{SCHEMA_VERSION} (open it writable with this version to migrate it, or upgrade "
            "aion-store)"
        )


async def prepare(connection: Any, schema: str, name: str) -> None:
    """Create or migrate ``schema`` to :data:`SCHEMA_VERSION`; refuse a schema that is not
    an aion-store schema or is newer. ``connection`` is an asyncpg connection."""
    quoted = quote(schema)
    async with connection.transaction():
        await connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('aion-store schema ' || $1, 0))",
            schema,
        )
        tables = [
            row[0]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema
            )
        ]
        if "schema_version" in tables:
            versions = await connection.fetch(f"SELECT version FROM {quoted}.schema_version")
            if len(versions) != 1:
                raise BackendError(
                    f"{name}: schema_version holds {len(versions)} rows, not one: "
                    "not an aion-store schema"
                )
            version = int(versions[0][0])
        elif tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise BackendError(
                f"{name}: schema {schema!r} is not an aion-store schema (tables: {shown})"
            )
        else:
            version = 0
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        if version > SCHEMA_VERSION:
            raise BackendError(
                f"{name}: written by a newer aion-store (schema version {version}; this "
                f"version reads up to {SCHEMA_VERSION}); upgrade aion-store to use it"
            )
        if version < SCHEMA_VERSION:
            for step in MIGRATIONS[version:]:
                await connection.execute(step.format(s=quoted))
            await connection.execute(
                f"UPDATE {quoted}.schema_version SET version = $1", SCHEMA_VERSION
            )
