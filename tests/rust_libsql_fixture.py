"""Rust engine libSQL files for the tests, written from RUST_LIBSQL.md.

:class:`RustFile` creates the five tables and their indexes with the Rust backend's own
DDL (``CREATE TABLE IF NOT EXISTS ...``, ``aion-store-libsql`` ``schema.rs``) and writes
rows the way its code does: an event's serde JSON as UTF-8 bytes in a BLOB, the columns
of ``append/metadata.rs``, ``recorded_at`` as chrono's ``to_rfc3339()`` (``+00:00``),
timer ids and workflow ids as JSON, times as ``to_rfc3339_opts(Nanos, true)`` (``Z``).
Events are real serde JSON from ``tests/data/rust_serde_vectors.json``, re-keyed (their
envelope, and the ids that tie workflows together, rewritten).

Every write is also logged, so :meth:`RustFile.replay` fills an ``InMemoryStore`` with the
same (decoded) data, in the same order: what a ``RustLibsqlStore`` reads from the file
must equal what the in-memory store answers.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aion_store import (
    Event,
    InMemoryStore,
    PackageRecord,
    TimerId,
    VisibilityRecord,
    WorkflowId,
    WriteToken,
    from_json,
)
from aion_store.wire._json import dump_value, parse_timestamp

DATA = Path(__file__).parent / "data"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "rust_serde_vectors.json").read_text("utf-8"))
#: Every event vector's JSON object, by vector name.
EVENT_VECTORS = {
    vector["name"]: json.loads(vector["json"])
    for vector in VECTORS
    if vector["rust_type"] == "aion_core::Event"
}
#: Every finite search attribute value vector (serde's ``null`` floats cannot be read).
ATTRIBUTE_VECTORS = {
    vector["name"]: json.loads(vector["json"])
    for vector in VECTORS
    if vector["rust_type"] == "aion_core::SearchAttributeValue"
    and json.loads(vector["json"])["data"] is not None
}
VISIBILITY_VECTORS = [
    json.loads(vector["json"])
    for vector in VECTORS
    if vector["rust_type"] == "aion_store::VisibilityRecord"
]

# schema.rs of aion-store-libsql, statement by statement.
DDL = (
    """
CREATE TABLE IF NOT EXISTS events (
    workflow_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    event_kind TEXT NOT NULL,
    is_queryable_event INTEGER NOT NULL,
    workflow_type TEXT,
    child_workflow_id TEXT,
    PRIMARY KEY (workflow_id, seq)
)""",
    """
CREATE INDEX IF NOT EXISTS idx_events_queryable_filter
ON events (is_queryable_event, workflow_id, seq, event_kind, workflow_type, recorded_at, child_workflow_id)""",  # noqa: E501
    """
CREATE TABLE IF NOT EXISTS timers (
    workflow_id TEXT NOT NULL,
    timer_id TEXT NOT NULL,
    fire_at TEXT NOT NULL,
    PRIMARY KEY (workflow_id, timer_id)
)""",
    """
CREATE INDEX IF NOT EXISTS idx_timers_fire_at
ON timers (fire_at)""",
    """
CREATE TABLE IF NOT EXISTS packages (
    workflow_type TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    archive BLOB NOT NULL,
    deployed_at TEXT NOT NULL,
    PRIMARY KEY (workflow_type, content_hash)
)""",
    """
CREATE TABLE IF NOT EXISTS package_routes (
    workflow_type TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS visibility (
    workflow_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time TEXT NOT NULL,
    close_time TEXT,
    search_attributes TEXT NOT NULL CHECK (json_valid(search_attributes))
)""",
    """
CREATE INDEX IF NOT EXISTS idx_visibility_workflow_type
ON visibility (workflow_type)""",
    """
CREATE INDEX IF NOT EXISTS idx_visibility_status
ON visibility (status)""",
    """
CREATE INDEX IF NOT EXISTS idx_visibility_start_time
ON visibility (start_time)""",
    """
CREATE INDEX IF NOT EXISTS idx_visibility_close_time
ON visibility (close_time)""",
)

_QUERYABLE = {
    "WorkflowStarted",
    "WorkflowCompleted",
    "WorkflowFailed",
    "WorkflowCancelled",
    "WorkflowTimedOut",
    "WorkflowContinuedAsNew",
    "ChildWorkflowStarted",
}

UTC = timezone.utc
BASE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
#: chrono's AutoSi fractions: none, whole milliseconds, whole microseconds, nanoseconds.
FRACTIONS = ("", ".250", ".250500", ".123456789")


def wid(n: int) -> str:
    """A workflow (or run) id: a plain lowercase UUID, as the Rust engine writes them."""
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def stamp(seconds: float, fraction: str = "") -> str:
    """A serde timestamp (``Z``), ``seconds`` after BASE, with one of FRACTIONS."""
    at = BASE + timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def rfc3339(serde: str) -> str:
    """chrono's ``to_rfc3339()`` of the same instant: the same digits, ``+00:00``."""
    return serde[:-1] + "+00:00"


def nanos_z(serde: str) -> str:
    """chrono's ``to_rfc3339_opts(SecondsFormat::Nanos, true)``: 9 digits and ``Z``."""
    body, _, fraction = serde[:-1].partition(".")
    return f"{body}.{fraction.ljust(9, '0')}Z"


#: The event vectors the files written so far used (every one, after build_standard).
USED: set[str] = set()


def event(vector: str, workflow: str, seq: int, recorded_at: str, **fields: Any) -> dict[str, Any]:
    """The vector's JSON object with its envelope (and ``fields``) rewritten."""
    USED.add(vector)
    obj = copy.deepcopy(EVENT_VECTORS[vector])
    obj["data"]["envelope"] = {"seq": seq, "recorded_at": recorded_at, "workflow_id": workflow}
    for key, value in fields.items():
        assert key in obj["data"], (vector, key)
        obj["data"][key] = value
    return obj


class RustFile:
    """A Rust engine's libSQL file being written, and the log of what was written."""

    def __init__(self, path: Path, *, journal_mode: str | None = None) -> None:
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA synchronous = OFF")  # a connection setting: fast tests
        if journal_mode is not None:
            self.connection.execute(f"PRAGMA journal_mode = {journal_mode}")
        for statement in DDL:
            self.connection.execute(statement)
        self.log: list[tuple[str, Any]] = []
        self.heads: dict[str, int] = {}
        self.visibility_rows: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.connection.close()

    def append(self, workflow: str, events: list[dict[str, Any]]) -> None:
        """One append, as ``append.rs`` does it: one transaction, row by row."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        for obj in events:
            data = obj["data"]
            kind = obj["type"]
            connection.execute(
                "INSERT INTO events (workflow_id, seq, event, recorded_at, event_kind, "
                "is_queryable_event, workflow_type, child_workflow_id) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                (
                    workflow,
                    data["envelope"]["seq"],
                    dump_value(obj).encode("utf-8"),
                    rfc3339(data["envelope"]["recorded_at"]),
                    kind,
                    int(kind in _QUERYABLE),
                    data["workflow_type"]
                    if kind in ("WorkflowStarted", "ChildWorkflowStarted")
                    else None,
                    data["child_workflow_id"] if kind == "ChildWorkflowStarted" else None,
                ),
            )
        connection.execute("COMMIT")
        self.log.append(("append", (workflow, [dump_value(obj) for obj in events])))
        self.heads[workflow] = self.heads.get(workflow, 0) + len(events)

    def history(self, workflow: str, events: list[tuple[Any, ...]], start: float) -> None:
        """Append ``(vector, fields)`` items as one batch, seqs continuing the head and
        times one second apart from ``start`` (cycling through every fraction form)."""
        head = self.heads.get(workflow, 0)
        objs = []
        for index, (vector, fields) in enumerate(events):
            fraction = FRACTIONS[(head + index) % len(FRACTIONS)]
            at = stamp(start + index, fraction)
            objs.append(event(vector, workflow, head + index + 1, at, **fields))
        self.append(workflow, objs)

    def timer(self, workflow: str, timer_id: dict[str, Any], fire_at: str) -> None:
        """``timer.rs``'s upsert: ids as JSON, ``fire_at`` with 9 digits and ``Z``."""
        row = (json.dumps(workflow), dump_value(timer_id), nanos_z(fire_at))
        self.connection.execute(
            "INSERT INTO timers (workflow_id, timer_id, fire_at) VALUES (?1, ?2, ?3) "
            "ON CONFLICT(workflow_id, timer_id) DO UPDATE SET fire_at = excluded.fire_at",
            row,
        )
        self.log.append(("timer", row))

    def visibility(self, record: dict[str, Any]) -> None:
        """``visibility.rs``'s upsert of a serde ``VisibilityRecord`` object: one row per
        workflow (``INSERT OR REPLACE`` on the workflow id)."""
        self.connection.execute(
            "INSERT OR REPLACE INTO visibility (workflow_id, run_id, workflow_type, status, "
            "start_time, close_time, search_attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            (
                record["workflow_id"],
                record["run_id"],
                record["workflow_type"],
                json.dumps(record["status"]),
                nanos_z(record["start_time"]),
                None if record["close_time"] is None else nanos_z(record["close_time"]),
                dump_value(record["search_attributes"]),
            ),
        )
        self.visibility_rows[record["workflow_id"]] = record

    def package(self, workflow_type: str, content_hash: str, archive: bytes, at: str) -> None:
        """``package.rs``'s put_package: the row and the route, in one transaction."""
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute(
            "INSERT INTO packages (workflow_type, content_hash, archive, deployed_at) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(workflow_type, content_hash) "
            "DO UPDATE SET archive = excluded.archive, deployed_at = excluded.deployed_at",
            (workflow_type, content_hash, archive, nanos_z(at)),
        )
        self._route(workflow_type, content_hash)
        self.connection.execute("COMMIT")
        self.log.append(("package", (workflow_type, content_hash, archive, at)))

    def delete_package(self, workflow_type: str, content_hash: str) -> None:
        self.connection.execute(
            "DELETE FROM packages WHERE workflow_type = ?1 AND content_hash = ?2",
            (workflow_type, content_hash),
        )
        self.log.append(("delete_package", (workflow_type, content_hash)))

    def route(self, workflow_type: str, content_hash: str) -> None:
        self._route(workflow_type, content_hash)
        self.log.append(("route", (workflow_type, content_hash)))

    def _route(self, workflow_type: str, content_hash: str) -> None:
        self.connection.execute(
            "INSERT INTO package_routes (workflow_type, content_hash) VALUES (?1, ?2) "
            "ON CONFLICT(workflow_type) DO UPDATE SET content_hash = excluded.content_hash",
            (workflow_type, content_hash),
        )

    async def replay(self, store: InMemoryStore) -> None:
        """Fill ``store`` with the same data, decoded by the package's JSON codec."""
        token = WriteToken.recorder()
        heads: dict[str, int] = {}
        for kind, item in self.log:
            if kind == "append":
                workflow, texts = item
                events = [from_json(text, Event) for text in texts]
                head = heads.get(workflow, 0)
                await store.append(token, WorkflowId(workflow), events, head)
                heads[workflow] = head + len(events)
            elif kind == "timer":
                workflow, timer_id, fire_at = item
                await store.schedule_timer(
                    from_json(workflow, WorkflowId),
                    from_json(timer_id, TimerId),
                    parse_timestamp(fire_at, "fire_at"),
                )
            elif kind == "package":
                workflow_type, content_hash, archive, at = item
                deployed_at = parse_timestamp(at, "deployed_at")
                await store.put_package(
                    PackageRecord(workflow_type, content_hash, archive, deployed_at)
                )
            elif kind == "delete_package":
                await store.delete_package(*item)
            else:
                await store.put_package_route(*item)
        # The Rust file keeps one visibility row per workflow: its last record.
        for record in self.visibility_rows.values():
            await store.record_visibility(from_json(json.dumps(record), VisibilityRecord))


# -- the standard file: every event variant, runs, children, timers, visibility, packages ---

W = {
    name: wid(n)
    for n, name in enumerate(
        ("checkout", "ship", "refund", "audit", "batch", "lone", "fail", "cont"), start=1
    )
}
RUN = {n: wid(0x100 + n) for n in range(1, 4)}
#: Generated workflows: id, type, start offset (seconds), how it ends (None: running).
GENERATED = [
    (wid(0x1000 + n), "gen-a" if n % 2 else "gen-b", 100 + (n // 3) * 2, ending)
    for n, ending in enumerate(
        [
            None,
            "event_WorkflowCompleted",
            "event_WorkflowFailed",
            "event_WorkflowCancelled",
            "event_WorkflowTimedOut",
            "event_WorkflowContinuedAsNew",
            None,
        ]
        * 4
    )
]


def build_standard(path: Path, *, journal_mode: str | None = None) -> RustFile:
    """The standard file; see the module docstring. Returns it still open (close it)."""
    f = RustFile(path, journal_mode=journal_mode)
    checkout, ship, refund = W["checkout"], W["ship"], W["refund"]
    f.history(
        checkout,
        [
            ("event_WorkflowStarted", {"run_id": RUN[1]}),
            ("event_SearchAttributesUpdated", {"workflow_id": checkout}),
            ("event_SearchAttributesUpdated_all_types", {"workflow_id": checkout}),
            ("event_ActivityScheduled", {}),
            ("event_ActivityStarted", {}),
            ("event_ActivityFailed", {}),
        ],
        start=0,
    )
    f.history(
        ship, [("event_WorkflowStarted", {"workflow_type": "shipment", "run_id": RUN[2]})], start=3
    )
    f.history(
        checkout,
        [
            ("event_ActivityFailed_terminal", {}),
            ("event_ActivityCompleted", {}),
            ("event_ActivityCancelled", {}),
            ("event_TimerStarted", {}),
            ("event_TimerStarted_anonymous", {}),
            ("event_TimerFired", {}),
            ("event_TimerCancelled", {}),
            ("event_WithTimeoutCompleted", {}),
            ("event_WithTimeoutCompleted_timed_out", {}),
            ("event_SignalReceived", {}),
            ("event_SignalSent", {"target_workflow_id": ship}),
            ("event_ChildWorkflowStarted", {"child_workflow_id": ship}),
            ("event_ChildWorkflowCompleted", {"child_workflow_id": ship}),
            ("event_WorkflowContinuedAsNew", {"parent_run_id": RUN[1]}),
            ("event_WorkflowStarted_with_parent", {"run_id": RUN[2], "parent_run_id": RUN[1]}),
            (
                "event_ChildWorkflowStarted",
                {"child_workflow_id": refund, "workflow_type": "refund"},
            ),
            ("event_ChildWorkflowFailed", {"child_workflow_id": refund}),
            ("event_ChildWorkflowCancelled", {"child_workflow_id": refund}),
        ],
        start=10,
    )
    f.history(
        refund,
        [
            ("event_WorkflowStarted", {"workflow_type": "refund", "run_id": RUN[3]}),
            ("event_WorkflowCancelled", {}),
        ],
        start=40,
    )
    f.history(
        checkout,
        [
            ("event_ScheduleCreated", {}),
            ("event_ScheduleUpdated", {}),
            ("event_SchedulePaused", {}),
            ("event_ScheduleResumed", {}),
            ("event_ScheduleDeleted", {}),
            ("event_ScheduleTriggered", {"workflow_id": W["batch"]}),
            ("event_WorkflowContinuedAsNew_with_type", {"parent_run_id": RUN[2]}),
            (
                "event_WorkflowStarted",
                {"workflow_type": "checkout_v2", "run_id": RUN[3], "parent_run_id": RUN[2]},
            ),
            ("event_SearchAttributesUpdated_empty", {"workflow_id": checkout}),
            ("event_WorkflowCompleted", {}),
        ],
        start=50,
    )
    # ship: named as a child by checkout, then by batch (appended later): batch is its parent.
    f.history(
        W["batch"],
        [
            ("event_WorkflowStarted", {"workflow_type": "batch", "run_id": RUN[1]}),
            ("event_ChildWorkflowStarted", {"child_workflow_id": ship}),
        ],
        start=3,
    )  # the same start second as ship: ties go by workflow id
    f.history(ship, [("event_WorkflowFailed_details", {})], start=70)
    f.history(
        W["audit"],
        [
            ("event_WorkflowStarted", {"workflow_type": "audit", "run_id": RUN[1]}),
            ("event_WorkflowTimedOut", {}),
        ],
        start=80,
    )
    f.history(W["lone"], [("event_SignalReceived", {}), ("event_ActivityStarted", {})], start=85)
    f.history(
        W["fail"],
        [
            ("event_WorkflowStarted", {"workflow_type": "audit", "run_id": RUN[1]}),
            ("event_WorkflowFailed", {}),
        ],
        start=90,
    )
    f.history(
        W["cont"],
        [
            ("event_WorkflowStarted", {"workflow_type": "audit", "run_id": RUN[1]}),
            ("event_WorkflowContinuedAsNew", {"parent_run_id": RUN[1]}),
        ],
        start=95,
    )
    for workflow, workflow_type, start, ending in GENERATED:
        items: list[tuple[Any, ...]] = [
            ("event_WorkflowStarted", {"workflow_type": workflow_type, "run_id": RUN[1]})
        ]
        if ending is not None:
            items.append((ending, {"parent_run_id": RUN[1]} if "Continued" in ending else {}))
        if workflow.endswith("3"):
            items.insert(1, ("event_ChildWorkflowStarted", {"child_workflow_id": W["lone"]}))
        # Starts with every fraction form, several workflows per second.
        head = f.heads.get(workflow, 0)
        objs = [
            event(
                vector,
                workflow,
                head + index + 1,
                stamp(start + index, FRACTIONS[index % 4]),
                **fields,
            )
            for index, (vector, fields) in enumerate(items)
        ]
        f.append(workflow, objs)

    for workflow, timer, fire_at in [
        (checkout, {"Named": "deadline"}, stamp(200, ".123456789")),
        (checkout, {"Anonymous": 3}, stamp(200, ".123456789")),
        (ship, {"Named": "deadline"}, stamp(200, ".123456789")),
        (ship, {"Anonymous": 18446744073709551615}, stamp(150)),
        (refund, {"Named": 'z\u00e9 "quoted" \u2603'}, stamp(150)),
        (refund, {"Anonymous": 10}, stamp(300, ".250")),
        (refund, {"Anonymous": 9}, stamp(300, ".250")),
        (W["audit"], {"Named": "late"}, stamp(10_000)),
        (W["audit"], {"Named": "late"}, stamp(400, ".250500")),  # rescheduled
    ]:
        f.timer(workflow, timer, fire_at)

    attributes = dict(ATTRIBUTE_VECTORS)
    for n, vector in enumerate(VISIBILITY_VECTORS):
        record = copy.deepcopy(vector)
        record["workflow_id"] = wid(0x2000 + n)
        f.visibility(record)
    f.visibility(
        {
            "workflow_id": checkout,
            "run_id": RUN[1],
            "workflow_type": "checkout",
            "status": "Running",
            "start_time": stamp(0),
            "close_time": None,
            "search_attributes": {},
        }
    )
    f.visibility(
        {  # replaces the row above: one row per workflow
            "workflow_id": checkout,
            "run_id": RUN[3],
            "workflow_type": "checkout_v2",
            "status": "Completed",
            "start_time": stamp(57, ".123456789"),
            "close_time": stamp(59, ".250500"),
            "search_attributes": attributes,
        }
    )
    for n, (workflow, workflow_type, start, ending) in enumerate(GENERATED):
        f.visibility(
            {
                "workflow_id": workflow,
                "run_id": RUN[1],
                "workflow_type": workflow_type,
                "status": "Running" if ending is None else ending.split("Workflow")[-1],
                "start_time": stamp(start, FRACTIONS[n % 4]),
                "close_time": None if ending is None else stamp(start + 1, FRACTIONS[(n + 1) % 4]),
                "search_attributes": {
                    "n": {"type": "Int", "data": n},
                    "f": {"type": "Float", "data": n / 4},
                    "tag": {
                        "type": "KeywordList",
                        "data": ["even" if n % 2 == 0 else "odd", "all"],
                    },
                    "when": {"type": "Datetime", "data": stamp(n, FRACTIONS[n % 4])},
                },
            }
        )

    f.package("checkout", "hash-1", b"\x00\x01binary\xff", stamp(0))
    f.package("checkout", "hash-2", b"", stamp(0))  # tie on deployed_at
    f.package("audit", "hash-9", b"PK\x03\x04", stamp(0))
    f.package("refund", "hash-3", b"r", stamp(5, ".123456789"))
    f.package("checkout", "hash-1", b"replaced", stamp(7, ".250"))  # upsert
    f.package("ship", "hash-4", b"s", stamp(8))
    f.delete_package("ship", "hash-4")  # the route stays
    f.route("audit", "hash-unknown")
    return f


if __name__ == "__main__":
    # python tests/rust_libsql_fixture.py PATH: write the standard file (for trying the
    # command line on a Rust engine's database: aion-store ls rust-libsql:///PATH).
    import sys

    target = Path(sys.argv[1]).absolute()
    build_standard(target).close()
    print(f"rust-libsql://{target}")
