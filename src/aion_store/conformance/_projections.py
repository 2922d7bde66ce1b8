"""Scenarios of what a store projects from histories: status and ``list_active``,
``list_workflow_ids``, ``query`` with its summaries and parents (SPEC §5-§6), run chains
(SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable

from aion_store.conformance._support import (
    RUN_1,
    RUN_2,
    RUN_3,
    RUN_4,
    TOKEN,
    WF_0,
    WF_9,
    WF_A,
    WF_B,
    WF_C,
    WF_D,
    WF_E,
    WF_F,
    at,
    cancelled,
    child_started,
    completed,
    continued,
    expect_equal,
    failed,
    ids_of,
    scenario,
    seed,
    signal,
    signals,
    started,
    timed_out,
)
from aion_store.events import Event
from aion_store.ids import RunId, WorkflowId
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowFilter, WorkflowStatus, WorkflowSummary
from aion_store.store import EventStore

RUNNING = WorkflowStatus.RUNNING
Terminal = Callable[[WorkflowId, int], Event]

# -- status, list_active, list_workflow_ids --------------------------------------------------


@scenario(
    "SPEC §5-§6 list_active: status follows the last lifecycle event through continue-as-new "
    "(RUNNING, CONTINUED_AS_NEW, RUNNING again after the new WorkflowStarted, then terminal)"
)
async def list_active_follows_continue_as_new(store: EventStore) -> None:
    steps: list[tuple[Event, list[WorkflowId], str]] = [
        (started(WF_A, 1, run=RUN_1), [WF_A], "after WorkflowStarted"),
        (signal(WF_A, 2), [WF_A], "after a signal"),
        (continued(WF_A, 3, run=RUN_1), [], "after WorkflowContinuedAsNew"),
        (started(WF_A, 4, run=RUN_2, parent_run=RUN_1), [WF_A], "after the new WorkflowStarted"),
        (completed(WF_A, 5), [], "after WorkflowCompleted"),
    ]
    for head, (event, active, when) in enumerate(steps):
        await store.append(TOKEN, WF_A, [event], head)
        expect_equal(await store.list_active(), active, f"list_active() {when}")
        expect_equal(await store.list_workflow_ids(), [WF_A], f"list_workflow_ids() {when}")
    one_batch = [
        started(WF_B, 1),
        continued(WF_B, 2),
        started(WF_B, 3, run=RUN_2, parent_run=RUN_1),
    ]
    await store.append(TOKEN, WF_B, one_batch, 0)
    expect_equal(await store.list_active(), [WF_B], "list_active() after a batch ending in a start")


@scenario("SPEC §5-§6 list_active: a history with no lifecycle event at all projects RUNNING")
async def history_without_lifecycle_is_running(store: EventStore) -> None:
    await store.append(TOKEN, WF_A, signals(WF_A, 1, 3), 0)
    expect_equal(await store.list_active(), [WF_A], "list_active() of a history of signals")


@scenario(
    "SPEC §5-§6 list_active: every terminal event removes the workflow; the running ones are "
    "sorted by str(workflow_id)"
)
async def terminal_events_leave_list_active(store: EventStore) -> None:
    endings: list[tuple[WorkflowId, Terminal | None]] = [
        (WF_F, None),
        (WF_B, completed),
        (WF_E, failed),
        (WF_A, None),
        (WF_C, cancelled),
        (WF_D, timed_out),
        (WF_0, continued),
        (WF_9, None),
    ]
    for workflow_id, ending in endings:
        events = [started(workflow_id, 1), signal(workflow_id, 2)]
        if ending is not None:
            events.append(ending(workflow_id, 3))
        await store.append(TOKEN, workflow_id, events, 0)
    expect_equal(await store.list_active(), [WF_9, WF_A, WF_F], "list_active()")


@scenario(
    "SPEC §6 list_workflow_ids: every workflow with at least one event, running or terminal, "
    "sorted by str(workflow_id)"
)
async def list_workflow_ids_includes_terminal(store: EventStore) -> None:
    expect_equal(await store.list_workflow_ids(), [], "list_workflow_ids() of an empty store")
    await store.append(TOKEN, WF_E, [started(WF_E, 1)], 0)
    await store.append(TOKEN, WF_0, [started(WF_0, 1), completed(WF_0, 2)], 0)
    await store.append(TOKEN, WF_B, signals(WF_B, 1, 2), 0)
    await store.append(TOKEN, WF_9, [started(WF_9, 1), continued(WF_9, 2)], 0)
    await store.append(TOKEN, WF_A, [started(WF_A, 1), failed(WF_A, 2)], 0)
    expect_equal(
        await store.list_workflow_ids(), [WF_0, WF_9, WF_A, WF_B, WF_E], "list_workflow_ids()"
    )


# -- query -----------------------------------------------------------------------------------


async def _population(store: EventStore) -> None:
    """Six workflows: type, start and status differ; WF_E never started."""
    await seed(store, WF_A, [started(WF_A, 1, when=at(10))])
    await seed(
        store,
        WF_B,
        [started(WF_B, 1, workflow_type="invoice", when=at(20)), completed(WF_B, 2, when=at(25))],
    )
    await seed(store, WF_C, [started(WF_C, 1, when=at(20)), failed(WF_C, 2, when=at(40))])
    await seed(store, WF_D, [started(WF_D, 1, when=at(30)), signal(WF_D, 2, when=at(31))])
    await seed(store, WF_E, signals(WF_E, 1, 2))
    await seed(
        store,
        WF_F,
        [started(WF_F, 1, workflow_type="invoice", when=at(5)), cancelled(WF_F, 2, when=at(6))],
    )


@scenario(
    "SPEC §5-§6 query: each WorkflowFilter field restricts the result (exact type, exact status, "
    "inclusive started_after/started_before); the default filter matches every started workflow"
)
async def query_applies_every_filter_field(store: EventStore) -> None:
    await _population(store)
    cases: list[tuple[WorkflowFilter, list[WorkflowId]]] = [
        (WorkflowFilter(), [WF_F, WF_A, WF_B, WF_C, WF_D]),
        (WorkflowFilter(workflow_type="order"), [WF_A, WF_C, WF_D]),
        (WorkflowFilter(workflow_type="nothing"), []),
        (WorkflowFilter(status=RUNNING), [WF_A, WF_D]),
        (WorkflowFilter(status=WorkflowStatus.COMPLETED), [WF_B]),
        (WorkflowFilter(status=WorkflowStatus.TIMED_OUT), []),
        (WorkflowFilter(started_after=at(20)), [WF_B, WF_C, WF_D]),
        (WorkflowFilter(started_before=at(20)), [WF_F, WF_A, WF_B, WF_C]),
        (WorkflowFilter(started_after=at(20), started_before=at(20)), [WF_B, WF_C]),
        (WorkflowFilter(started_after=at(11), started_before=at(29)), [WF_B, WF_C]),
        (WorkflowFilter(started_after=at(31)), []),
        (
            WorkflowFilter(workflow_type="order", status=RUNNING, started_after=at(10)),
            [WF_A, WF_D],
        ),
        (WorkflowFilter(workflow_type="invoice", status=WorkflowStatus.CANCELLED), [WF_F]),
    ]
    for filter, expected in cases:
        expect_equal(ids_of(await store.query(filter)), expected, f"query({filter!r})")


@scenario(
    "SPEC §6 query: summaries are sorted by (started_at, str(workflow_id)), ties on started_at "
    "broken by the id"
)
async def query_sorted_by_start_then_id(store: EventStore) -> None:
    for workflow_id, second in ((WF_E, 20), (WF_A, 30), (WF_C, 20), (WF_0, 10), (WF_B, 20)):
        await seed(store, workflow_id, [started(workflow_id, 1, when=at(second))])
    expect_equal(
        ids_of(await store.query(WorkflowFilter())), [WF_0, WF_B, WF_C, WF_E, WF_A], "query order"
    )


@scenario(
    "SPEC §5-§6 query: workflow_type and started_at come from the latest WorkflowStarted; "
    "ended_at is the current run's terminal recorded_at, None while running"
)
async def query_summary_fields(store: EventStore) -> None:
    def summary(
        workflow_type: str, status: WorkflowStatus, start: float, end: float | None
    ) -> list[WorkflowSummary]:
        ended = None if end is None else at(end)
        return [WorkflowSummary(WF_A, workflow_type, status, at(start), ended)]

    steps: list[tuple[Event, list[WorkflowSummary], str]] = [
        (started(WF_A, 1, when=at(10)), summary("order", RUNNING, 10, None), "first run"),
        (
            continued(WF_A, 2, when=at(20)),
            summary("order", WorkflowStatus.CONTINUED_AS_NEW, 10, 20),
            "continued as new",
        ),
        (
            started(WF_A, 3, run=RUN_2, parent_run=RUN_1, workflow_type="order-v2", when=at(30)),
            summary("order-v2", RUNNING, 30, None),
            "second run started",
        ),
        (signal(WF_A, 4, when=at(35)), summary("order-v2", RUNNING, 30, None), "a signal"),
        (
            timed_out(WF_A, 5, when=at(40)),
            summary("order-v2", WorkflowStatus.TIMED_OUT, 30, 40),
            "second run timed out",
        ),
    ]
    for head, (event, expected, when) in enumerate(steps):
        await store.append(TOKEN, WF_A, [event], head)
        expect_equal(await store.query(WorkflowFilter()), expected, f"query() after: {when}")


@scenario(
    "SPEC §6 query: a workflow whose history has no WorkflowStarted is not listed, until one "
    "is appended"
)
async def query_skips_unstarted(store: EventStore) -> None:
    await seed(store, WF_A, [signal(WF_A, 1), completed(WF_A, 2)])
    await seed(store, WF_B, [started(WF_B, 1, when=at(50))])
    expect_equal(ids_of(await store.query(WorkflowFilter())), [WF_B], "query() before WF_A starts")
    await store.append(TOKEN, WF_A, [started(WF_A, 3, when=at(3))], 2)
    expect_equal(
        ids_of(await store.query(WorkflowFilter())), [WF_A, WF_B], "query() after WF_A starts"
    )


@scenario(
    "SPEC §6 query: a summary's parent is the workflow whose history holds a "
    "ChildWorkflowStarted naming it; WorkflowFilter(parent=p) lists p's children"
)
async def query_fills_parent(store: EventStore) -> None:
    """Children that started before their parent recorded them; one never starts."""
    await seed(store, WF_C, [started(WF_C, 1, when=at(30))])
    await seed(store, WF_B, [started(WF_B, 1, when=at(20))])
    await seed(store, WF_D, [started(WF_D, 1, when=at(40))])
    parent_events = [
        started(WF_A, 1, when=at(10)),
        child_started(WF_A, 2, WF_C),
        child_started(WF_A, 3, WF_B),
        child_started(WF_A, 4, WF_E),  # WF_E never starts
    ]
    await seed(store, WF_A, parent_events)
    parents = {s.workflow_id: s.parent for s in await store.query(WorkflowFilter())}
    expect_equal(parents, {WF_A: None, WF_B: WF_A, WF_C: WF_A, WF_D: None}, "summary parents")
    children = await store.query(WorkflowFilter(parent=WF_A))
    expect_equal(ids_of(children), [WF_B, WF_C], "query(WorkflowFilter(parent=WF_A))")
    for parent in (WF_D, WF_9):
        expect_equal(await store.query(WorkflowFilter(parent=parent)), [], f"children of {parent}")


@scenario(
    "SPEC §6 query: the parent link holds when the parent recorded ChildWorkflowStarted before "
    "the child's first event"
)
async def parent_recorded_before_child_exists(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1, when=at(10)), child_started(WF_A, 2, WF_B)])
    expect_equal(ids_of(await store.query(WorkflowFilter())), [WF_A], "query() before the child")
    await seed(store, WF_B, [started(WF_B, 1, when=at(20))])
    expect_equal(
        await store.query(WorkflowFilter(parent=WF_A)),
        [WorkflowSummary(WF_B, "order", RUNNING, at(20), None, WF_A)],
        "query(WorkflowFilter(parent=WF_A)) once the child started",
    )


@scenario(
    "SPEC §6 query: when several histories name the same child, its parent is the one whose "
    "ChildWorkflowStarted was appended most recently"
)
async def latest_child_started_names_the_parent(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1, when=at(1))])
    await seed(store, WF_B, [started(WF_B, 1, when=at(2))])
    await seed(store, WF_C, [started(WF_C, 1, when=at(3))])
    for head, parent in ((1, WF_A), (1, WF_B), (2, WF_A)):
        await store.append(TOKEN, parent, [child_started(parent, head + 1, WF_C)], head)
        other = WF_B if parent == WF_A else WF_A
        expect_equal(
            ids_of(await store.query(WorkflowFilter(parent=parent))),
            [WF_C],
            f"children of {parent}, which recorded WF_C last",
        )
        expect_equal(
            await store.query(WorkflowFilter(parent=other)), [], f"children of {other} then"
        )


# -- run chains ------------------------------------------------------------------------------


def _run(
    run_id: RunId, parent: RunId | None, status: WorkflowStatus, start: float, close: float | None
) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        parent_run_id=parent,
        status=status,
        started_at=at(start),
        closed_at=None if close is None else at(close),
    )


@scenario(
    "SPEC §8 read_run_chain: an unknown workflow, or a history without WorkflowStarted, has []"
)
async def run_chain_empty_without_runs(store: EventStore) -> None:
    expect_equal(await store.read_run_chain(WF_A), [], "read_run_chain(unknown)")
    await seed(store, WF_A, [signal(WF_A, 1), completed(WF_A, 2)])
    expect_equal(await store.read_run_chain(WF_A), [], "read_run_chain of a history without start")


@scenario(
    "SPEC §8 read_run_chain: a single run has its run_id, no parent, its status, started_at and "
    "closed_at (None while running)"
)
async def run_chain_single_run(store: EventStore) -> None:
    await seed(store, WF_A, [signal(WF_A, 1, when=at(5)), started(WF_A, 2, when=at(10))])
    expected = [_run(RUN_1, None, RUNNING, 10, None)]
    expect_equal(await store.read_run_chain(WF_A), expected, "run chain while running")
    await store.append(TOKEN, WF_A, [signal(WF_A, 3), completed(WF_A, 4, when=at(30))], 2)
    expected = [_run(RUN_1, None, WorkflowStatus.COMPLETED, 10, 30)]
    expect_equal(await store.read_run_chain(WF_A), expected, "run chain after completion")


@scenario(
    "SPEC §8 read_run_chain: one continue-as-new gives two runs, oldest first, the second "
    "naming the first as parent_run_id"
)
async def run_chain_one_continuation(store: EventStore) -> None:
    events = [
        started(WF_A, 1, run=RUN_2, when=at(10)),
        continued(WF_A, 2, run=RUN_2, when=at(20)),
        started(WF_A, 3, run=RUN_1, parent_run=RUN_2, when=at(30)),
    ]
    await seed(store, WF_A, events)
    expect_equal(
        await store.read_run_chain(WF_A),
        [
            _run(RUN_2, None, WorkflowStatus.CONTINUED_AS_NEW, 10, 20),
            _run(RUN_1, RUN_2, RUNNING, 30, None),
        ],
        "run chain after one continue-as-new",
    )


@scenario(
    "SPEC §8 read_run_chain: several continuations are ordered from the root by parent_run_id, "
    "each run with its own status and times"
)
async def run_chain_several_continuations(store: EventStore) -> None:
    chain = [RUN_3, RUN_1, RUN_4, RUN_2]  # not in id order
    events: list[Event] = []
    parent: RunId | None = None
    for index, run in enumerate(chain):
        start = 100 * index
        events.append(started(WF_A, len(events) + 1, run=run, parent_run=parent, when=at(start)))
        events.append(signal(WF_A, len(events) + 1, when=at(start + 1)))
        events.append(continued(WF_A, len(events) + 1, run=run, when=at(start + 50)))
        parent = run
    events[-1] = failed(WF_A, len(events), when=at(350))
    await seed(store, WF_A, events[:5])
    await store.append(TOKEN, WF_A, events[5:], 5)
    continued_as_new = WorkflowStatus.CONTINUED_AS_NEW
    expect_equal(
        await store.read_run_chain(WF_A),
        [
            _run(RUN_3, None, continued_as_new, 0, 50),
            _run(RUN_1, RUN_3, continued_as_new, 100, 150),
            _run(RUN_4, RUN_1, continued_as_new, 200, 250),
            _run(RUN_2, RUN_4, WorkflowStatus.FAILED, 300, 350),
        ],
        "run chain of four runs",
    )
