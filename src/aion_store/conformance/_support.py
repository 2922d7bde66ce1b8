"""The scenario registry, fixed test data, event builders and checks the scenarios share.

Everything here is deterministic: fixed ids, fixed timestamps, no randomness, so that a
failure reads the same on every run and every backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, TypeVar

from aion_store.events import Event, EventEnvelope, WithTimeoutOutcome
from aion_store.ids import ActivityId, PackageVersion, RunId, ScheduleId, TimerId, WorkflowId
from aion_store.payload import ActivityError, ActivityErrorKind, Payload, WorkflowError
from aion_store.run_chain import RunSummary
from aion_store.schedule import CatchUpPolicy, OverlapPolicy, ScheduleConfig, TriggerSpec
from aion_store.status import WorkflowFilter, WorkflowSummary
from aion_store.store import EventStore, WriteToken

# -- scenarios and their registry ------------------------------------------------------------

Requirement = Literal["event_store", "visibility"]
EVENT_STORE: Literal["event_store"] = "event_store"
VISIBILITY: Literal["visibility"] = "visibility"
ScenarioRun = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One contract check: a stable ``name``, the ``rule`` it checks, what the store must
    implement (``"event_store"`` or ``"visibility"``) and the coroutine that runs it on a
    fresh store."""

    name: str
    rule: str
    requires: Requirement
    run: ScenarioRun = field(repr=False, compare=False)


class ScenarioFailure(AssertionError):
    """A scenario failed: the message names it and its rule; ``__cause__`` is the original."""

    def __init__(self, scenario: Scenario, detail: str) -> None:
        self.scenario = scenario
        super().__init__(f"scenario {scenario.name} failed ({scenario.rule}): {detail}")


REGISTRY: list[Scenario] = []
_F = TypeVar("_F", bound=ScenarioRun)


def scenario(rule: str, *, requires: Requirement = EVENT_STORE) -> Callable[[_F], _F]:
    """Register the decorated coroutine function as a scenario named after it."""

    def register(function: _F) -> _F:
        name = function.__name__
        if any(existing.name == name for existing in REGISTRY):
            raise ValueError(f"duplicate conformance scenario {name!r}")
        REGISTRY.append(Scenario(name=name, rule=rule, requires=requires, run=function))
        return function

    return register


# -- fixed test data -------------------------------------------------------------------------

UTC = timezone.utc
TOKEN = WriteToken.recorder()

#: Workflow ids made of one repeated hex letter (or 0 / 9): readable, and free of the
#: digits 1-3, 5-7 so that seq numbers checked in error messages cannot hide in them.
WF_0 = WorkflowId("00000000-0000-4000-8000-000000000000")
WF_9 = WorkflowId("99999999-9999-4999-8999-999999999999")
WF_A = WorkflowId("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
WF_B = WorkflowId("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
WF_C = WorkflowId("cccccccc-cccc-4ccc-8ccc-cccccccccccc")
WF_D = WorkflowId("dddddddd-dddd-4ddd-8ddd-dddddddddddd")
WF_E = WorkflowId("eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee")
WF_F = WorkflowId("ffffffff-ffff-4fff-8fff-ffffffffffff")

RUN_1 = RunId("00000001-0000-4000-8000-000000000001")
RUN_2 = RunId("00000002-0000-4000-8000-000000000002")
RUN_3 = RunId("00000003-0000-4000-8000-000000000003")
RUN_4 = RunId("00000004-0000-4000-8000-000000000004")

SCHEDULE = ScheduleId("5c4ed01e-0000-4000-8000-000000000001")
VERSION = PackageVersion("sha256:0f1e2d3c")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EMPTY = Payload.from_json(None)


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``: every timestamp of the suite is one of these."""
    return T0 + timedelta(seconds=seconds)


# -- event builders (recorded_at defaults to ``at(seq)``) -------------------------------------


def envelope(workflow_id: WorkflowId, seq: int, when: datetime | None = None) -> EventEnvelope:
    return EventEnvelope(
        seq=seq, recorded_at=at(seq) if when is None else when, workflow_id=workflow_id
    )


def started(
    workflow_id: WorkflowId,
    seq: int,
    *,
    run: RunId = RUN_1,
    parent_run: RunId | None = None,
    workflow_type: str = "order",
    when: datetime | None = None,
) -> Event:
    return Event.WorkflowStarted(
        envelope=envelope(workflow_id, seq, when),
        workflow_type=workflow_type,
        input=Payload.from_json({"run": str(run)}),
        run_id=run,
        parent_run_id=parent_run,
        package_version=VERSION,
    )


def completed(workflow_id: WorkflowId, seq: int, *, when: datetime | None = None) -> Event:
    return Event.WorkflowCompleted(envelope=envelope(workflow_id, seq, when), result=EMPTY)


def failed(workflow_id: WorkflowId, seq: int, *, when: datetime | None = None) -> Event:
    return Event.WorkflowFailed(
        envelope=envelope(workflow_id, seq, when), error=WorkflowError("boom")
    )


def cancelled(workflow_id: WorkflowId, seq: int, *, when: datetime | None = None) -> Event:
    return Event.WorkflowCancelled(envelope=envelope(workflow_id, seq, when), reason="user")


def timed_out(workflow_id: WorkflowId, seq: int, *, when: datetime | None = None) -> Event:
    return Event.WorkflowTimedOut(envelope=envelope(workflow_id, seq, when), timeout="1h")


def continued(
    workflow_id: WorkflowId, seq: int, *, run: RunId = RUN_1, when: datetime | None = None
) -> Event:
    """The run ``run`` continues as new (the next ``started`` names it as parent run)."""
    return Event.WorkflowContinuedAsNew(
        envelope=envelope(workflow_id, seq, when),
        input=EMPTY,
        workflow_type=None,
        parent_run_id=run,
    )


def signal(
    workflow_id: WorkflowId, seq: int, *, name: str = "ping", when: datetime | None = None
) -> Event:
    """A non-lifecycle event: it changes no projection."""
    return Event.SignalReceived(envelope=envelope(workflow_id, seq, when), name=name, payload=EMPTY)


def signals(workflow_id: WorkflowId, first_seq: int, count: int) -> list[Event]:
    return [signal(workflow_id, seq) for seq in range(first_seq, first_seq + count)]


def child_started(
    workflow_id: WorkflowId, seq: int, child: WorkflowId, *, when: datetime | None = None
) -> Event:
    return Event.ChildWorkflowStarted(
        envelope=envelope(workflow_id, seq, when),
        child_workflow_id=child,
        workflow_type="child",
        input=EMPTY,
        package_version=VERSION,
    )


def every_variant(workflow_id: WorkflowId, first_seq: int = 1) -> list[Event]:
    """One event of each of the 28 variants, with awkward but valid values in their fields
    (unicode, empty and non-JSON payload bytes, u64/u32/i64 extremes, microseconds)."""
    odd = Payload.from_json({"ünïcødé": "✓ 𝄞", "n": [1, 2.5, None]})
    raw = Payload(EMPTY.content_type, b"\x00\xff not json")
    nothing = Payload(EMPTY.content_type, b"")
    moment = datetime(2031, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    named = TimerId.named("deadline ⏰")
    anonymous = TimerId.anonymous(2**64 - 1)
    activity = ActivityId.from_sequence_position(2**64 - 1)
    config = ScheduleConfig(
        trigger=TriggerSpec.Cron("0 */5 * * * *"),
        workflow_type="report",
        input=odd,
        overlap_policy=OverlapPolicy.BUFFER_ONE,
        catch_up_policy=CatchUpPolicy.ALL,
        search_attributes={"team": "ops", "weight": 0.25},
    )
    interval = ScheduleConfig(
        trigger=TriggerSpec.Interval(timedelta(days=1, microseconds=7)), workflow_type="", input=raw
    )
    attributes: dict[str, Any] = {
        "text": "ünï",
        "int_min": -(2**63),
        "int_max": 2**63 - 1,
        "float": 1.5e300,
        "tiny": 1e-300,
        "flag": False,
        "when": moment,
        "tags": ["a", "ü", ""],
        "no_tags": [],
    }
    error = ActivityError(ActivityErrorKind.TERMINAL, "bad input", details=odd)
    bodies: list[Callable[[EventEnvelope], Event]] = [
        lambda e: Event.WorkflowStarted(
            envelope=e,
            workflow_type="order ✓",
            input=odd,
            run_id=RUN_1,
            parent_run_id=None,
            package_version=PackageVersion(""),
        ),
        lambda e: Event.WorkflowCompleted(envelope=e, result=nothing),
        lambda e: Event.WorkflowFailed(envelope=e, error=WorkflowError("ü", details=raw)),
        lambda e: Event.WorkflowCancelled(envelope=e, reason=""),
        lambda e: Event.WorkflowTimedOut(envelope=e, timeout="PT1H"),
        lambda e: Event.WorkflowContinuedAsNew(
            envelope=e, input=odd, workflow_type="order v2", parent_run_id=RUN_1
        ),
        lambda e: Event.SearchAttributesUpdated(
            envelope=e, workflow_id=WF_9, attributes=attributes
        ),
        lambda e: Event.ActivityScheduled(
            envelope=e, activity_id=activity, activity_type="charge", input=odd
        ),
        lambda e: Event.ActivityStarted(envelope=e, activity_id=activity),
        lambda e: Event.ActivityCompleted(envelope=e, activity_id=activity, result=raw),
        lambda e: Event.ActivityFailed(
            envelope=e, activity_id=activity, error=error, attempt=2**32 - 1
        ),
        lambda e: Event.ActivityCancelled(
            envelope=e, activity_id=ActivityId.from_sequence_position(0)
        ),
        lambda e: Event.TimerStarted(envelope=e, timer_id=named, fire_at=moment),
        lambda e: Event.TimerFired(envelope=e, timer_id=anonymous),
        lambda e: Event.TimerCancelled(envelope=e, timer_id=TimerId.anonymous(0)),
        lambda e: Event.WithTimeoutCompleted(
            envelope=e, timer_id=named, outcome=WithTimeoutOutcome.TIMED_OUT, result=None
        ),
        lambda e: Event.SignalReceived(envelope=e, name="", payload=nothing),
        lambda e: Event.SignalSent(envelope=e, target_workflow_id=WF_F, name="go", payload=odd),
        lambda e: Event.ChildWorkflowStarted(
            envelope=e,
            child_workflow_id=WF_E,
            workflow_type="child",
            input=odd,
            package_version=VERSION,
        ),
        lambda e: Event.ChildWorkflowCompleted(envelope=e, child_workflow_id=WF_E, result=odd),
        lambda e: Event.ChildWorkflowFailed(
            envelope=e, child_workflow_id=WF_E, error=WorkflowError("child failed")
        ),
        lambda e: Event.ChildWorkflowCancelled(envelope=e, child_workflow_id=WF_E),
        lambda e: Event.ScheduleCreated(envelope=e, schedule_id=SCHEDULE, config=config),
        lambda e: Event.ScheduleUpdated(envelope=e, schedule_id=SCHEDULE, config=interval),
        lambda e: Event.SchedulePaused(envelope=e, schedule_id=SCHEDULE),
        lambda e: Event.ScheduleResumed(envelope=e, schedule_id=SCHEDULE),
        lambda e: Event.ScheduleDeleted(envelope=e, schedule_id=SCHEDULE),
        lambda e: Event.ScheduleTriggered(
            envelope=e, schedule_id=SCHEDULE, workflow_id=WF_D, run_id=RUN_2
        ),
    ]
    return [
        body(envelope(workflow_id, seq, at(seq + 0.000_123)))
        for seq, body in enumerate(bodies, start=first_seq)
    ]


# -- store helpers ---------------------------------------------------------------------------


async def seed(store: EventStore, workflow_id: WorkflowId, events: Sequence[Event]) -> None:
    """Append ``events`` as one batch after the head their first seq implies."""
    await store.append(TOKEN, workflow_id, list(events), events[0].seq - 1)


@dataclass(frozen=True)
class Snapshot:
    """What a store shows about some workflows; equal snapshots mean nothing changed."""

    histories: dict[WorkflowId, list[Event]]
    run_chains: dict[WorkflowId, list[RunSummary]]
    workflow_ids: list[WorkflowId]
    active: list[WorkflowId]
    summaries: list[WorkflowSummary]


async def snapshot(store: EventStore, *workflow_ids: WorkflowId) -> Snapshot:
    return Snapshot(
        histories={w: await store.read_history(w) for w in workflow_ids},
        run_chains={w: await store.read_run_chain(w) for w in workflow_ids},
        workflow_ids=await store.list_workflow_ids(),
        active=await store.list_active(),
        summaries=await store.query(WorkflowFilter()),
    )


async def expect_unchanged(store: EventStore, before: Snapshot, when: str) -> None:
    """Fail unless histories, run chains, listings and summaries equal ``before``."""
    after = await snapshot(store, *before.histories)
    for workflow_id, history in before.histories.items():
        expect_equal(after.histories[workflow_id], history, f"{when}: history of {workflow_id}")
        expect_equal(
            after.run_chains[workflow_id],
            before.run_chains[workflow_id],
            f"{when}: run chain of {workflow_id}",
        )
    expect_equal(after.workflow_ids, before.workflow_ids, f"{when}: list_workflow_ids()")
    expect_equal(after.active, before.active, f"{when}: list_active()")
    expect_equal(after.summaries, before.summaries, f"{when}: query(WorkflowFilter())")


# -- checks (explicit, so they survive ``python -O`` and say what broke) ---------------------


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def expect_equal(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: {_difference(actual, expected)}")


_E = TypeVar("_E", bound=BaseException)


async def expect_raises(error: type[_E], call: Awaitable[object], what: str) -> _E:
    """Await ``call`` and return the ``error`` it raised; fail on anything else."""
    try:
        await call
    except error as raised:
        return raised
    except Exception as other:
        raise AssertionError(
            f"{what}: expected {error.__name__}, got {type(other).__name__}: {other}"
        ) from other
    raise AssertionError(f"{what}: expected {error.__name__}, but nothing was raised")


def expect_mentions(error: BaseException, what: str, *fragments: object) -> None:
    """The error's message must contain each fragment (an index, a seq)."""
    message = str(error)
    for fragment in fragments:
        expect(
            str(fragment) in message,
            f"{what}: the {type(error).__name__} message must name {fragment}, got {message!r}",
        )


def ids_of(items: Sequence[Any]) -> list[WorkflowId]:
    """The ``workflow_id`` of each summary, entry or record, in order."""
    return [item.workflow_id for item in items]


def _difference(actual: object, expected: object) -> str:
    if isinstance(actual, list) and isinstance(expected, list):
        for index, (got, want) in enumerate(zip(actual, expected)):
            if got != want:
                return (
                    f"item {index} differs (of {len(expected)} expected, {len(actual)} got): "
                    f"expected {_short(want)}, got {_short(got)}"
                )
        return (
            f"expected {len(expected)} items, got {len(actual)}: "
            f"expected {_short(expected)}, got {_short(actual)}"
        )
    return f"expected {_short(expected)}, got {_short(actual)}"


def _short(value: object, limit: int = 400) -> str:
    if isinstance(value, list) and value and all(isinstance(item, Event) for item in value):
        text = "[" + ", ".join(f"{type(e).__name__}(seq={e.envelope.seq})" for e in value) + "]"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
