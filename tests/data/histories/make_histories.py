# ruff: noqa: C408 (dict(...) reads best for event fields)
"""Write the histories of this folder (run from the repository root):

    .venv/bin/python tests/data/histories/make_histories.py

Good histories are written with ``aion_store.to_json``, which writes exactly what the
Rust engine's serde derives write; the broken ones are those with one thing spoiled.

- ``checkout.json``: a checkout workflow, two runs (continue-as-new), activities with
  retries, a ``with_timeout`` timer that lost the race and one that won it, signals
  received and sent, a child workflow, search attributes. Also as ``checkout.jsonl``
  and ``checkout.msgpack``.
- ``payment_running.json``: a workflow still running: an activity in flight, a pending
  timer.
- ``nanos.json``: a short history whose timestamps carry nanoseconds, as chrono writes
  them; this package keeps microseconds.
- ``bad_*``: one problem each (see ``BROKEN`` below).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aion_store import (
    ActivityError,
    ActivityErrorKind,
    Event,
    EventEnvelope,
    Payload,
    RunId,
    TimerId,
    WithTimeoutOutcome,
    WorkflowError,
    WorkflowId,
    to_json,
    to_msgpack,
)
from aion_store.ids import ActivityId, PackageVersion

HERE = Path(__file__).parent
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

CHECKOUT = WorkflowId("5f0c3a4e-8b1d-4c2a-9e3f-0a1b2c3d4e5f")
RUN_1 = RunId("a1a1a1a1-0000-4000-8000-000000000001")
RUN_2 = RunId("b2b2b2b2-0000-4000-8000-000000000002")
SHIPMENT = WorkflowId("c3c3c3c3-0000-4000-8000-000000000003")
PAYMENT = WorkflowId("d4d4d4d4-0000-4000-8000-000000000004")
PAYMENT_RUN = RunId("e5e5e5e5-0000-4000-8000-000000000005")
VERSION = PackageVersion("sha256:9f86d081884c7d65")


def history(workflow_id: WorkflowId, steps: list[tuple[float, type, dict]]) -> list[Event]:
    """Events numbered from seq 1, recorded ``seconds`` after T0."""
    events = []
    for seq, (seconds, variant, fields) in enumerate(steps, 1):
        envelope = EventEnvelope(
            seq=seq, recorded_at=T0 + timedelta(seconds=seconds), workflow_id=workflow_id
        )
        events.append(variant(envelope=envelope, **fields))
    return events


def payload(value: object) -> Payload:
    return Payload.from_json(value)


def activity(n: int) -> ActivityId:
    return ActivityId.from_sequence_position(n)


def checkout() -> list[Event]:
    e = Event
    confirm = TimerId.named("payment-confirmation")
    cool_off = TimerId.anonymous(17)
    review = TimerId.named("review-window")
    return history(
        CHECKOUT,
        [
            (
                0,
                e.WorkflowStarted,
                dict(
                    workflow_type="checkout",
                    input=payload({"order": "o-1001", "items": 3, "total": 129.5}),
                    run_id=RUN_1,
                    parent_run_id=None,
                    package_version=VERSION,
                ),
            ),
            (
                0.004,
                e.SearchAttributesUpdated,
                dict(
                    workflow_id=CHECKOUT,
                    attributes={"customer": "c-42", "order_total": 129.5, "items": 3},
                ),
            ),
            (
                0.010,
                e.ActivityScheduled,
                dict(
                    activity_id=activity(0),
                    activity_type="reserve_stock",
                    input=payload({"sku": ["A-1", "B-7"]}),
                ),
            ),
            (0.012, e.ActivityStarted, dict(activity_id=activity(0))),
            (
                0.250,
                e.ActivityCompleted,
                dict(activity_id=activity(0), result=payload({"reserved": True})),
            ),
            (
                0.251,
                e.ActivityScheduled,
                dict(
                    activity_id=activity(1),
                    activity_type="charge_card",
                    input=payload({"amount": 129.5, "currency": "EUR"}),
                ),
            ),
            (0.252, e.ActivityStarted, dict(activity_id=activity(1))),
            (
                1.5,
                e.ActivityFailed,
                dict(
                    activity_id=activity(1),
                    error=ActivityError(ActivityErrorKind.RETRYABLE, "card declined: try again"),
                    attempt=1,
                ),
            ),
            (3.5, e.ActivityStarted, dict(activity_id=activity(1))),
            (
                8.5,
                e.ActivityFailed,
                dict(
                    activity_id=activity(1),
                    error=ActivityError(ActivityErrorKind.RETRYABLE, "payment gateway timeout"),
                    attempt=2,
                ),
            ),
            (16.5, e.ActivityStarted, dict(activity_id=activity(1))),
            (
                17.25,
                e.ActivityCompleted,
                dict(activity_id=activity(1), result=payload({"charge": "ch_3PqL"})),
            ),
            (
                17.3,
                e.TimerStarted,
                dict(timer_id=confirm, fire_at=T0 + timedelta(minutes=10, seconds=17.3)),
            ),
            (
                42.123456,
                e.SignalReceived,
                dict(name="payment-confirmed", payload=payload({"charge": "ch_3PqL"})),
            ),
            (
                42.124,
                e.WithTimeoutCompleted,
                dict(
                    timer_id=confirm,
                    outcome=WithTimeoutOutcome.OPERATION_COMPLETED,
                    result=payload({"confirmed": True}),
                ),
            ),
            (42.125, e.TimerCancelled, dict(timer_id=confirm)),
            (
                42.2,
                e.ChildWorkflowStarted,
                dict(
                    child_workflow_id=SHIPMENT,
                    workflow_type="ship_order",
                    input=payload({"order": "o-1001", "address": "Müllerstraße 5, Berlin"}),
                    package_version=VERSION,
                ),
            ),
            (
                42.3,
                e.TimerStarted,
                dict(timer_id=cool_off, fire_at=T0 + timedelta(minutes=1, seconds=42.3)),
            ),
            (102.3, e.TimerFired, dict(timer_id=cool_off)),
            (
                102.4,
                e.SignalSent,
                dict(target_workflow_id=SHIPMENT, name="expedite", payload=payload(None)),
            ),
            (
                3600,
                e.ChildWorkflowCompleted,
                dict(child_workflow_id=SHIPMENT, result=payload({"tracking": "1Z999AA1"})),
            ),
            (
                3600.5,
                e.SearchAttributesUpdated,
                dict(
                    workflow_id=CHECKOUT,
                    attributes={
                        "stage": "shipped",
                        "tags": ("gift", "express"),
                        "shipped_at": T0 + timedelta(seconds=3600),
                        "paid": True,
                    },
                ),
            ),
            (
                3601,
                e.WorkflowContinuedAsNew,
                dict(
                    input=payload({"order": "o-1001", "phase": "after-sale"}),
                    workflow_type=None,
                    parent_run_id=RUN_1,
                ),
            ),
            (
                3601.001,
                e.WorkflowStarted,
                dict(
                    workflow_type="checkout",
                    input=payload({"order": "o-1001", "phase": "after-sale"}),
                    run_id=RUN_2,
                    parent_run_id=RUN_1,
                    package_version=VERSION,
                ),
            ),
            (
                3601.01,
                e.ActivityScheduled,
                dict(
                    activity_id=activity(0),
                    activity_type="send_receipt",
                    input=payload({"to": "c-42@example.com"}),
                ),
            ),
            (3601.02, e.ActivityStarted, dict(activity_id=activity(0))),
            (
                3603,
                e.ActivityFailed,
                dict(
                    activity_id=activity(0),
                    error=ActivityError(
                        ActivityErrorKind.TERMINAL, "mailbox full", details=payload({"smtp": 552})
                    ),
                    attempt=1,
                ),
            ),
            (
                3603.1,
                e.TimerStarted,
                dict(timer_id=review, fire_at=T0 + timedelta(hours=1, minutes=5, seconds=3.1)),
            ),
            (3903.1, e.TimerFired, dict(timer_id=review)),
            (
                3903.2,
                e.WithTimeoutCompleted,
                dict(timer_id=review, outcome=WithTimeoutOutcome.TIMED_OUT, result=None),
            ),
            (3903.3, e.SignalReceived, dict(name="close", payload=payload({"by": "ops"}))),
            (
                3904,
                e.SearchAttributesUpdated,
                dict(workflow_id=CHECKOUT, attributes={"stage": "closed"}),
            ),
            (
                3904.5,
                e.WorkflowCompleted,
                dict(result=payload({"order": "o-1001", "status": "closed"})),
            ),
        ],
    )


def payment_running() -> list[Event]:
    e = Event
    return history(
        PAYMENT,
        [
            (
                0,
                e.WorkflowStarted,
                dict(
                    workflow_type="payment",
                    input=payload({"invoice": 77}),
                    run_id=PAYMENT_RUN,
                    parent_run_id=None,
                    package_version=VERSION,
                ),
            ),
            (
                0.5,
                e.ActivityScheduled,
                dict(
                    activity_id=activity(0),
                    activity_type="authorize",
                    input=payload({"invoice": 77}),
                ),
            ),
            (0.6, e.ActivityStarted, dict(activity_id=activity(0))),
            (
                0.7,
                e.TimerStarted,
                dict(
                    timer_id=TimerId.named("authorize-deadline"), fire_at=T0 + timedelta(minutes=5)
                ),
            ),
            (
                1.0,
                e.ChildWorkflowStarted,
                dict(
                    child_workflow_id=SHIPMENT,
                    workflow_type="fraud_check",
                    input=payload(None),
                    package_version=VERSION,
                ),
            ),
            (
                2.0,
                e.ChildWorkflowFailed,
                dict(child_workflow_id=SHIPMENT, error=WorkflowError("score service unavailable")),
            ),
        ],
    )


def write(name: str, data: str | bytes) -> None:
    path = HERE / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    print(f"wrote {path} ({len(data)} bytes)")


def main() -> None:
    events = checkout()
    text = to_json(events)
    write("checkout.json", text)
    write("checkout.jsonl", "".join(to_json(event) + "\n" for event in events))
    write("checkout.msgpack", to_msgpack(events))
    write("payment_running.json", to_json(payment_running()))

    # chrono writes nanoseconds when a timestamp has them.
    nanos = json.loads(to_json(payment_running()[:3]))
    nanos[0]["data"]["envelope"]["recorded_at"] = "2024-05-01T12:00:00.123456789Z"
    nanos[1]["data"]["envelope"]["recorded_at"] = "2024-05-01T12:00:00.500000001Z"
    nanos[2]["data"]["envelope"]["recorded_at"] = "2024-05-01T12:00:00.600999999Z"
    write("nanos.json", json.dumps(nanos, ensure_ascii=False, separators=(",", ":")))

    # -- broken histories ---------------------------------------------------------------
    items = json.loads(text)

    def dump(values: list) -> str:
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))

    # seq 17 is missing: event[16] has seq 18.
    write("bad_gap.json", dump(items[:16] + items[17:]))
    # event[5] belongs to another workflow.
    other = json.loads(json.dumps(items))
    other[5]["data"]["envelope"]["workflow_id"] = str(SHIPMENT)
    write("bad_two_owners.json", dump(other))
    # The file ends in the middle of event[3].
    cut = text.index('{"type":"ActivityStarted"')
    write("bad_truncated.json", text[: cut + 40])
    # A byte that is not UTF-8 inside a string of event[0].
    raw = text.encode("utf-8")
    spot = raw.index(b'"checkout"') + 3
    write("bad_not_utf8.json", raw[:spot] + b"\xff" + raw[spot + 1 :])
    # event[2] is a variant the Rust engine does not have.
    unknown = json.loads(json.dumps(items))
    unknown[2]["type"] = "ActivityPaused"
    write("bad_unknown_variant.json", dump(unknown))
    # A missing comma between event[1] and event[2].
    events_text = [to_json(event) for event in events]
    write("bad_syntax.json", "[" + ",".join(events_text[:2]) + ",".join(events_text[2:]) + "]")
    # event[4]'s seq is a string.
    wrong = json.loads(json.dumps(items))
    wrong[4]["data"]["envelope"]["seq"] = "5"
    write("bad_field.json", dump(wrong))
    # The msgpack form cut in the middle of the last event.
    packed = to_msgpack(events)
    write("bad_truncated.msgpack", packed[:-7])


if __name__ == "__main__":
    main()
