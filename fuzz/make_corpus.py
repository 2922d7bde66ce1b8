# ruff: noqa: C408 (dict(...) reads best for event fields)
"""Write the seed corpus of the fuzz targets (run from the repository root):

    .venv/bin/python fuzz/make_corpus.py

- ``corpus/msgpack/``: one event of every variant, a few histories, and one value of
  every other msgpack wire type, each in the msgpack form (``to_msgpack``);
- ``corpus/json/``: the same values in the JSON form, plus every vector of
  ``tests/data/rust_serde_vectors.json`` (real serde_json output);
- ``corpus/cli_reader/``: history files as the CLI reads them: JSON arrays, JSON Lines
  (with a BOM, CRLF line ends and blank lines too), msgpack, and the files of
  ``tests/data/histories``.

Every value is fixed (no randomness), so running the script again writes the same files;
the old files of these folders are removed first. Edge values are emphasised: the
largest seq, years 1 and 9999, empty and non-BMP text, every search attribute kind.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aion_store import (
    ActivityError,
    ActivityErrorKind,
    ActivityId,
    CatchUpPolicy,
    ContentType,
    Event,
    EventEnvelope,
    ListWorkflowsFilter,
    OverlapPolicy,
    PackageVersion,
    Payload,
    RunId,
    RunSummary,
    ScheduleConfig,
    ScheduleId,
    SearchAttributePredicate,
    SearchAttributeSchema,
    SearchAttributeType,
    TimerEntry,
    TimerId,
    TriggerSpec,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WithTimeoutOutcome,
    WorkflowError,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WorkflowSummary,
)
from aion_store.events import VARIANTS
from aion_store.wire import _msgpack_py as _msgpack
from aion_store.wire import to_json

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"

UTC = timezone.utc
AT = datetime(2024, 5, 1, 12, 0, 0, 4000, tzinfo=UTC)
FIRST = datetime(1, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
U64_MAX = 2**64 - 1


def uuid_of(number: int) -> str:
    return f"{number:032x}"


WID = WorkflowId(uuid_of(0x5F0C3A4E8B1D4C2A9E3F0A1B2C3D4E5F))
CHILD = WorkflowId(uuid_of(7))
RUN_1 = RunId(uuid_of(0xA1A1A1A1_0000_4000_8000_000000000001))
RUN_2 = RunId(uuid_of(0xA1A1A1A1_0000_4000_8000_000000000002))
SCHEDULE = ScheduleId(uuid_of(2**128 - 1))
INPUT = Payload.from_json({"order": "o-1001", "items": 3, "total": 129.5})
ERROR_DETAILS = Payload(ContentType.JSON, b"\x00\xff not json")

ATTRIBUTES: dict[str, Any] = {
    "s": "text 🎉",
    "i_min": -(2**63),
    "i_max": 2**63 - 1,
    "f": -0.0,
    "f_tiny": 5e-324,
    "b": True,
    "d": datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    "d_last": LAST,
    "d_first": FIRST,
    "k": ("red", "blue"),
    "k_empty": (),
    "": "",
}


def envelope(seq: int, at: datetime = AT, owner: WorkflowId = WID) -> EventEnvelope:
    return EventEnvelope(seq, at, owner)


def config(trigger: TriggerSpec, **extra: Any) -> ScheduleConfig:
    return ScheduleConfig(trigger, "nightly", INPUT, **extra)


def one_of_each(seq: int = 1) -> list[Event]:
    """One event of every variant, in tag order, seqs from ``seq``."""
    e = Event
    fields: dict[type[Event], dict[str, Any]] = {
        e.WorkflowStarted: dict(
            workflow_type="checkout",
            input=INPUT,
            run_id=RUN_1,
            parent_run_id=None,
            package_version=PackageVersion("sha256:9f86d081884c7d65"),
        ),
        e.WorkflowCompleted: dict(result=Payload(ContentType.JSON, b"")),
        e.WorkflowFailed: dict(error=WorkflowError("boom", ERROR_DETAILS)),
        e.WorkflowCancelled: dict(reason=""),
        e.WorkflowTimedOut: dict(timeout="名前"),
        e.WorkflowContinuedAsNew: dict(input=INPUT, workflow_type=None, parent_run_id=RUN_1),
        e.SearchAttributesUpdated: dict(workflow_id=WID, attributes=ATTRIBUTES),
        e.ActivityScheduled: dict(
            activity_id=ActivityId(U64_MAX), activity_type="charge", input=INPUT
        ),
        e.ActivityStarted: dict(activity_id=ActivityId(0)),
        e.ActivityCompleted: dict(activity_id=ActivityId(1), result=INPUT),
        e.ActivityFailed: dict(
            activity_id=ActivityId(1),
            error=ActivityError(ActivityErrorKind.RETRYABLE, "timeout", None),
            attempt=2**32 - 1,
        ),
        e.ActivityCancelled: dict(activity_id=ActivityId(2**32)),
        e.TimerStarted: dict(timer_id=TimerId.named("t"), fire_at=LAST),
        e.TimerFired: dict(timer_id=TimerId.anonymous(U64_MAX)),
        e.TimerCancelled: dict(timer_id=TimerId.anonymous(0)),
        e.WithTimeoutCompleted: dict(
            timer_id=TimerId.named("\U0010fffd"),
            outcome=WithTimeoutOutcome.TIMED_OUT,
            result=None,
        ),
        e.SignalReceived: dict(name="approve", payload=INPUT),
        e.SignalSent: dict(target_workflow_id=CHILD, name="ping", payload=INPUT),
        e.ChildWorkflowStarted: dict(
            child_workflow_id=CHILD,
            workflow_type="refund",
            input=INPUT,
            package_version=PackageVersion(""),
        ),
        e.ChildWorkflowCompleted: dict(child_workflow_id=CHILD, result=INPUT),
        e.ChildWorkflowFailed: dict(child_workflow_id=CHILD, error=WorkflowError("x", None)),
        e.ChildWorkflowCancelled: dict(child_workflow_id=CHILD),
        e.ScheduleCreated: dict(
            schedule_id=SCHEDULE,
            config=config(
                TriggerSpec.Interval(timedelta(days=3, microseconds=1)),
                overlap_policy=OverlapPolicy.ALLOW_ALL,
                catch_up_policy=CatchUpPolicy.ALL,
                search_attributes={"q": 1.5, "k": ("a",)},
            ),
        ),
        e.ScheduleUpdated: dict(schedule_id=SCHEDULE, config=config(TriggerSpec.Cron("0 * * * *"))),
        e.SchedulePaused: dict(schedule_id=SCHEDULE),
        e.ScheduleResumed: dict(schedule_id=SCHEDULE),
        e.ScheduleDeleted: dict(schedule_id=SCHEDULE),
        e.ScheduleTriggered: dict(schedule_id=SCHEDULE, workflow_id=CHILD, run_id=RUN_2),
    }
    assert list(fields) == list(VARIANTS)
    return [
        variant(envelope(seq + index), **values)
        for index, (variant, values) in enumerate(fields.items())
    ]


def edge_events() -> list[Event]:
    """Events at the edges of their fields' ranges (each a valid event on its own)."""
    e = Event
    return [
        e.ActivityStarted(envelope(U64_MAX, FIRST), ActivityId(12)),
        e.ActivityStarted(envelope(13, LAST), ActivityId(U64_MAX)),
        e.TimerStarted(envelope(1), TimerId.named("x" * 40), FIRST),
        e.ScheduleCreated(
            envelope(1),
            SCHEDULE,
            config(TriggerSpec.Interval(timedelta.max), search_attributes=ATTRIBUTES),
        ),
        e.ScheduleUpdated(
            envelope(1), SCHEDULE, config(TriggerSpec.Interval(timedelta(microseconds=1)))
        ),
        e.WorkflowCompleted(envelope(1), Payload(ContentType.JSON, b"x" * 300)),
        e.WorkflowCancelled(envelope(1), "é" * 70),
        e.WithTimeoutCompleted(
            envelope(1), TimerId.anonymous(3), WithTimeoutOutcome.OPERATION_COMPLETED, INPUT
        ),
        e.WorkflowContinuedAsNew(envelope(1), INPUT, "checkout-v2", RUN_2),
    ]


def checkout_history() -> list[Event]:
    """A short workflow: two runs, an activity retried, a timer, a signal."""
    e = Event
    steps: list[Any] = [
        lambda n: e.WorkflowStarted(
            envelope(n), "checkout", INPUT, RUN_1, None, PackageVersion("v1")
        ),
        lambda n: e.SearchAttributesUpdated(envelope(n), WID, {"customer": "c-7", "n": 3}),
        lambda n: e.ActivityScheduled(envelope(n), ActivityId(1), "charge", INPUT),
        lambda n: e.ActivityStarted(envelope(n), ActivityId(1)),
        lambda n: e.ActivityFailed(
            envelope(n), ActivityId(1), ActivityError(ActivityErrorKind.RETRYABLE, "t", None), 1
        ),
        lambda n: e.ActivityStarted(envelope(n), ActivityId(1)),
        lambda n: e.ActivityCompleted(envelope(n), ActivityId(1), INPUT),
        lambda n: e.TimerStarted(envelope(n), TimerId.anonymous(1), AT + timedelta(hours=1)),
        lambda n: e.SignalReceived(envelope(n), "approve", INPUT),
        lambda n: e.TimerCancelled(envelope(n), TimerId.anonymous(1)),
        lambda n: e.WorkflowContinuedAsNew(envelope(n), INPUT, None, RUN_1),
        lambda n: e.WorkflowStarted(
            envelope(n), "checkout", INPUT, RUN_2, RUN_1, PackageVersion("v1")
        ),
        lambda n: e.ChildWorkflowStarted(envelope(n), CHILD, "refund", INPUT, PackageVersion("")),
        lambda n: e.ChildWorkflowCompleted(envelope(n), CHILD, INPUT),
        lambda n: e.WorkflowCompleted(envelope(n), INPUT),
    ]
    return [step(index + 1) for index, step in enumerate(steps)]


def other_values() -> list[tuple[str, Any]]:
    """One value (or a few) of every other wire type."""
    record = dict(
        workflow_id=WID,
        run_id=RUN_1,
        workflow_type="checkout",
        status=WorkflowStatus.COMPLETED,
        start_time=AT,
        close_time=LAST,
        search_attributes=ATTRIBUTES,
    )
    return [
        ("envelope", envelope(U64_MAX, LAST)),
        ("workflow_id", WID),
        ("run_id", RUN_2),
        ("schedule_id", SCHEDULE),
        ("activity_id", ActivityId(U64_MAX)),
        ("timer_id_named", TimerId.named("t")),
        ("timer_id_anonymous", TimerId.anonymous(3)),
        ("package_version", PackageVersion("sha256:9f86")),
        ("payload", INPUT),
        ("content_type", ContentType.JSON),
        ("workflow_error", WorkflowError("boom", INPUT)),
        ("activity_error", ActivityError(ActivityErrorKind.TERMINAL, "no", None)),
        ("activity_error_kind", ActivityErrorKind.RETRYABLE),
        ("with_timeout_outcome", WithTimeoutOutcome.OPERATION_COMPLETED),
        ("search_value_str", "text"),
        ("search_value_int", -(2**63)),
        ("search_value_float", 1.5e300),
        ("search_value_bool", False),
        ("search_value_datetime", AT),
        ("search_value_keywords", ("a", "")),
        ("search_attribute_type", SearchAttributeType.KEYWORD_LIST),
        ("search_attribute_schema", SearchAttributeSchema({"i": SearchAttributeType.INT})),
        ("trigger_cron", TriggerSpec.Cron("* * * * *")),
        ("trigger_interval", TriggerSpec.Interval(timedelta(seconds=90, microseconds=5))),
        ("overlap_policy", OverlapPolicy.BUFFER_ONE),
        ("catch_up_policy", CatchUpPolicy.SKIP),
        ("schedule_config", config(TriggerSpec.Cron("@daily"), search_attributes={"k": ("x",)})),
        ("workflow_status", WorkflowStatus.CONTINUED_AS_NEW),
        ("timer_entry", TimerEntry(WID, TimerId.named("t"), AT)),
        ("workflow_summary", WorkflowSummary(WID, "checkout", WorkflowStatus.RUNNING, AT)),
        ("visibility_record", VisibilityRecord(**record)),
        ("visibility_summary", VisibilityWorkflowSummary(**record)),
        ("workflow_filter", WorkflowFilter(status=WorkflowStatus.FAILED, parent=WID)),
        (
            "list_workflows_filter",
            ListWorkflowsFilter(
                search_attributes=[
                    SearchAttributePredicate.Equals("i", 1),
                    SearchAttributePredicate.GreaterThan("d", AT),
                    SearchAttributePredicate.LessThan("f", 1.0),
                    SearchAttributePredicate.Contains("k", "x"),
                ],
                limit=10,
                offset=2**32 - 1,
            ),
        ),
        ("predicate", SearchAttributePredicate.Contains("k", "x")),
        ("run_summary", RunSummary(RUN_2, RUN_1, WorkflowStatus.TIMED_OUT, AT, LAST)),
    ]


def histories() -> dict[str, list[Event]]:
    every = one_of_each()
    return {
        "empty": [],
        "one": every[:1],
        "checkout": checkout_history(),
        "every_variant": every,
        "two_owners": [every[0], Event.ActivityStarted(envelope(2, owner=CHILD), ActivityId(1))],
    }


def write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def jsonl(events: list[Event], end: str = "\n") -> bytes:
    return "".join(to_json(event) + end for event in events).encode("utf-8")


def main() -> None:
    for target in ("msgpack", "json", "cli_reader"):
        shutil.rmtree(CORPUS / target, ignore_errors=True)
    msgpack_dir, json_dir, cli_dir = (CORPUS / name for name in ("msgpack", "json", "cli_reader"))

    events = [(f"event-{type(event).__name__}", event) for event in one_of_each()]
    events += [(f"edge-{i}-{type(event).__name__}", event) for i, event in enumerate(edge_events())]
    for name, value in [*events, *other_values()]:
        write(msgpack_dir, f"{name}.msgpack", _msgpack.to_msgpack(value))
        write(json_dir, f"{name}.json", to_json(value).encode("utf-8"))
    for name, history in histories().items():
        write(msgpack_dir, f"history-{name}.msgpack", _msgpack.to_msgpack(history))
        write(json_dir, f"history-{name}.json", to_json(history).encode("utf-8"))

    vectors = json.loads((ROOT / "tests" / "data" / "rust_serde_vectors.json").read_text())
    for vector in vectors:
        write(json_dir, f"serde-{vector['name']}.json", vector["json"].encode("utf-8"))

    for name, history in histories().items():
        write(cli_dir, f"{name}.msgpack", _msgpack.to_msgpack(history))
        write(cli_dir, f"{name}.json", to_json(history).encode("utf-8"))
        write(cli_dir, f"{name}.jsonl", jsonl(history))
    checkout = checkout_history()
    pretty = json.dumps(json.loads(to_json(checkout)), indent=2, ensure_ascii=False)
    write(cli_dir, "checkout-pretty.json", pretty.encode("utf-8"))
    write(cli_dir, "checkout-bom.json", b"\xef\xbb\xbf" + to_json(checkout).encode("utf-8"))
    write(cli_dir, "checkout-crlf.jsonl", jsonl(checkout, "\r\n"))
    write(cli_dir, "checkout-blank-lines.jsonl", b"\n" + jsonl(checkout, "\n\n"))
    write(cli_dir, "checkout-no-final-newline.jsonl", jsonl(checkout).rstrip(b"\n"))
    whole = _msgpack.to_msgpack(checkout)
    write(cli_dir, "checkout-truncated.msgpack", whole[:-3])
    write(cli_dir, "checkout-extra-byte.msgpack", whole + b"\x93")
    for source in sorted((ROOT / "tests" / "data" / "histories").iterdir()):
        if source.suffix in (".json", ".jsonl", ".msgpack"):
            write(cli_dir, f"data-{source.name}", source.read_bytes())

    total = sum(path.stat().st_size for path in CORPUS.rglob("*") if path.is_file())
    count = sum(1 for path in CORPUS.rglob("*") if path.is_file())
    print(f"wrote {count} seed files, {total:,} bytes, under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
