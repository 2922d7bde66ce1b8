"""Scenarios of the visibility index (SPEC §9): upserts, ordering, pagination, filters and
strictly typed search attribute predicates. They run when the store is a VisibilityStore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aion_store.conformance._support import (
    RUN_1,
    RUN_2,
    RUN_3,
    VISIBILITY,
    WF_0,
    WF_9,
    WF_A,
    WF_B,
    WF_C,
    WF_D,
    WF_E,
    WF_F,
    at,
    expect,
    expect_equal,
    ids_of,
    scenario,
)
from aion_store.ids import RunId, WorkflowId
from aion_store.status import WorkflowStatus
from aion_store.visibility import (
    ListWorkflowsFilter,
    SearchAttributePredicate,
    VisibilityRecord,
    VisibilityStore,
    VisibilityWorkflowSummary,
)

RUNNING = WorkflowStatus.RUNNING
COMPLETED = WorkflowStatus.COMPLETED
Equals = SearchAttributePredicate.Equals
GreaterThan = SearchAttributePredicate.GreaterThan
LessThan = SearchAttributePredicate.LessThan
Contains = SearchAttributePredicate.Contains


def _record(
    workflow_id: WorkflowId,
    run_id: RunId = RUN_1,
    *,
    workflow_type: str = "order",
    status: WorkflowStatus = RUNNING,
    start: float = 10,
    close: float | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> VisibilityRecord:
    return VisibilityRecord(
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        status=status,
        start_time=at(start),
        close_time=None if close is None else at(close),
        search_attributes=attributes or {},
    )


def _summary(record: VisibilityRecord) -> VisibilityWorkflowSummary:
    return VisibilityWorkflowSummary.from_record(record)


async def _record_all(store: VisibilityStore, *records: VisibilityRecord) -> None:
    for record in records:
        await store.record_visibility(record)


async def _matching(store: VisibilityStore, filter: ListWorkflowsFilter) -> list[WorkflowId]:
    """The ids ``list_workflows`` returns, checked against ``count_workflows``."""
    listed = await store.list_workflows(filter)
    expect_equal(await store.count_workflows(filter), len(listed), f"count_workflows({filter!r})")
    return ids_of(listed)


@scenario(
    "SPEC §9 record_visibility: an upsert keyed by (workflow_id, run_id); list_workflows gives "
    "summaries with the record's fields",
    requires=VISIBILITY,
)
async def visibility_upsert_by_workflow_and_run(store: VisibilityStore) -> None:
    expect_equal(await store.list_workflows(ListWorkflowsFilter()), [], "an empty index")
    expect_equal(await store.count_workflows(ListWorkflowsFilter()), 0, "count of an empty index")
    first = _record(WF_A, RUN_1, start=10)
    closed = _record(WF_A, RUN_1, status=COMPLETED, start=10, close=20, attributes={"k": "v"})
    second_run = _record(WF_A, RUN_2, start=30)
    other_workflow = _record(WF_B, RUN_1, start=40)
    await _record_all(store, first, closed, second_run, other_workflow)
    listed = await store.list_workflows(ListWorkflowsFilter())
    expect_equal(
        listed,
        [_summary(closed), _summary(second_run), _summary(other_workflow)],
        "list_workflows() after upserting (WF_A, RUN_1) twice",
    )
    for row in listed:
        expect(
            isinstance(row, VisibilityWorkflowSummary),
            f"list_workflows must return VisibilityWorkflowSummary, got {type(row).__name__}",
        )
    expect_equal(await store.count_workflows(ListWorkflowsFilter()), 3, "count_workflows()")


@scenario(
    "SPEC §9 list_workflows: sorted by (start_time, str(workflow_id), str(run_id))",
    requires=VISIBILITY,
)
async def visibility_sorted(store: VisibilityStore) -> None:
    await _record_all(
        store,
        _record(WF_C, RUN_1, start=20),
        _record(WF_B, RUN_3, start=20),
        _record(WF_F, RUN_1, start=5),
        _record(WF_B, RUN_1, start=20),
        _record(WF_A, RUN_2, start=30),
        _record(WF_B, RUN_2, start=20),
    )
    listed = await store.list_workflows(ListWorkflowsFilter())
    expect_equal(
        [(row.workflow_id, row.run_id) for row in listed],
        [(WF_F, RUN_1), (WF_B, RUN_1), (WF_B, RUN_2), (WF_B, RUN_3), (WF_C, RUN_1), (WF_A, RUN_2)],
        "list_workflows() order",
    )


@scenario(
    "SPEC §9 list_workflows: offset applies after sorting, then limit; count_workflows ignores "
    "both",
    requires=VISIBILITY,
)
async def visibility_offset_then_limit(store: VisibilityStore) -> None:
    order = [WF_0, WF_9, WF_A, WF_B, WF_C, WF_D]
    for index, workflow_id in enumerate(reversed(order)):
        await store.record_visibility(_record(workflow_id, start=60 - 10 * index))
    cases: list[tuple[int | None, int | None, list[WorkflowId]]] = [
        (2, 3, order[2:5]),
        (None, 2, order[:2]),
        (4, None, order[4:]),
        (5, 10, order[5:]),
        (6, None, []),
        (100, 1, []),
        (0, 0, []),
        (None, None, order),
    ]
    for offset, limit, expected in cases:
        filter = ListWorkflowsFilter(offset=offset, limit=limit)
        expect_equal(ids_of(await store.list_workflows(filter)), expected, f"list({filter!r})")
        expect_equal(await store.count_workflows(filter), 6, f"count_workflows({filter!r})")
    filter = ListWorkflowsFilter(started_after=at(30), offset=1, limit=1)
    expect_equal(ids_of(await store.list_workflows(filter)), [WF_B], f"list({filter!r})")
    expect_equal(await store.count_workflows(filter), 4, f"count_workflows({filter!r})")


@scenario(
    "SPEC §9 ListWorkflowsFilter: workflow_type and status match exactly; started_after and "
    "started_before are inclusive",
    requires=VISIBILITY,
)
async def visibility_type_status_and_start_bounds(store: VisibilityStore) -> None:
    await _record_all(
        store,
        _record(WF_A, start=10),
        _record(WF_B, workflow_type="invoice", start=20),
        _record(WF_C, status=COMPLETED, start=20, close=25),
        _record(WF_D, workflow_type="invoice", status=COMPLETED, start=30, close=35),
    )
    cases: list[tuple[ListWorkflowsFilter, list[WorkflowId]]] = [
        (ListWorkflowsFilter(workflow_type="invoice"), [WF_B, WF_D]),
        (ListWorkflowsFilter(workflow_type="none"), []),
        (ListWorkflowsFilter(status=COMPLETED), [WF_C, WF_D]),
        (ListWorkflowsFilter(status=WorkflowStatus.FAILED), []),
        (ListWorkflowsFilter(started_after=at(20)), [WF_B, WF_C, WF_D]),
        (ListWorkflowsFilter(started_before=at(20)), [WF_A, WF_B, WF_C]),
        (ListWorkflowsFilter(started_after=at(20), started_before=at(20)), [WF_B, WF_C]),
        (ListWorkflowsFilter(workflow_type="invoice", status=COMPLETED), [WF_D]),
    ]
    for filter, expected in cases:
        expect_equal(await _matching(store, filter), expected, f"list_workflows({filter!r})")


@scenario(
    "SPEC §9 ListWorkflowsFilter: closed_after and closed_before are inclusive and never match a "
    "run without close_time",
    requires=VISIBILITY,
)
async def visibility_close_bounds_skip_running(store: VisibilityStore) -> None:
    await _record_all(
        store,
        _record(WF_A, start=10),
        _record(WF_B, status=COMPLETED, start=11, close=20),
        _record(WF_C, status=COMPLETED, start=12, close=30),
        _record(WF_D, start=13),
    )
    cases: list[tuple[ListWorkflowsFilter, list[WorkflowId]]] = [
        (ListWorkflowsFilter(closed_after=at(0)), [WF_B, WF_C]),
        (ListWorkflowsFilter(closed_before=at(10**6)), [WF_B, WF_C]),
        (ListWorkflowsFilter(closed_after=at(20)), [WF_B, WF_C]),
        (ListWorkflowsFilter(closed_after=at(21)), [WF_C]),
        (ListWorkflowsFilter(closed_before=at(20)), [WF_B]),
        (ListWorkflowsFilter(closed_before=at(19)), []),
        (ListWorkflowsFilter(closed_after=at(30), closed_before=at(30)), [WF_C]),
    ]
    for filter, expected in cases:
        expect_equal(await _matching(store, filter), expected, f"list_workflows({filter!r})")


async def _typed_rows(store: VisibilityStore) -> None:
    """One row per value type of the attribute "n", and one row without it."""
    values: list[tuple[WorkflowId, Any]] = [
        (WF_A, 1),
        (WF_B, 1.0),
        (WF_C, True),
        (WF_D, "1"),
        (WF_E, ("1", "x")),
        (WF_F, at(0)),
    ]
    for index, (workflow_id, value) in enumerate(values):
        await store.record_visibility(_record(workflow_id, start=index, attributes={"n": value}))
    await store.record_visibility(_record(WF_0, start=99, attributes={"other": 1}))


async def _check_predicates(
    store: VisibilityStore, cases: list[tuple[SearchAttributePredicate, list[WorkflowId]]]
) -> None:
    for predicate, expected in cases:
        filter = ListWorkflowsFilter(search_attributes=(predicate,))
        expect_equal(await _matching(store, filter), expected, f"predicate {predicate!r}")


@scenario(
    "SPEC §9 Equals: same type and equal (Int 1 is not Float 1.0, a bool is not an int, "
    "KeywordList order counts); a missing attribute never matches",
    requires=VISIBILITY,
)
async def visibility_equals_is_strictly_typed(store: VisibilityStore) -> None:
    await _typed_rows(store)
    await _check_predicates(
        store,
        [
            (Equals("n", 1), [WF_A]),
            (Equals("n", 1.0), [WF_B]),
            (Equals("n", True), [WF_C]),
            (Equals("n", "1"), [WF_D]),
            (Equals("n", ("1", "x")), [WF_E]),
            (Equals("n", ("x", "1")), []),
            (Equals("n", at(0)), [WF_F]),
            (Equals("n", 0), []),
            (Equals("n", False), []),
            (Equals("missing", 1), []),
        ],
    )


@scenario(
    "SPEC §9 GreaterThan/LessThan: strict, only Int/Int, Float/Float and Datetime/Datetime "
    "pairs; any other pair, or a missing attribute, never matches",
    requires=VISIBILITY,
)
async def visibility_order_predicates(store: VisibilityStore) -> None:
    await _typed_rows(store)
    await _check_predicates(
        store,
        [
            (GreaterThan("n", 0), [WF_A]),
            (GreaterThan("n", 0.5), [WF_B]),
            (GreaterThan("n", at(-1)), [WF_F]),
            (GreaterThan("n", 1), []),
            (GreaterThan("n", 1.0), []),
            (GreaterThan("n", at(0)), []),
            (LessThan("n", 2), [WF_A]),
            (LessThan("n", 1.5), [WF_B]),
            (LessThan("n", at(1)), [WF_F]),
            (LessThan("n", 1), []),
            (GreaterThan("n", "0"), []),
            (LessThan("n", "2"), []),
            (GreaterThan("n", False), []),
            (LessThan("n", ("2",)), []),
            (GreaterThan("missing", 0), []),
            (LessThan("missing", 10), []),
        ],
    )


@scenario(
    "SPEC §9 Contains: only a stored KeywordList containing the keyword matches",
    requires=VISIBILITY,
)
async def visibility_contains_needs_keyword_list(store: VisibilityStore) -> None:
    await _typed_rows(store)
    await _check_predicates(
        store,
        [
            (Contains("n", "x"), [WF_E]),
            (Contains("n", "1"), [WF_E]),
            (Contains("n", "y"), []),
            (Contains("n", ""), []),
            (Contains("missing", "x"), []),
        ],
    )


@scenario(
    "SPEC §9 ListWorkflowsFilter: every predicate must match, together with the other fields",
    requires=VISIBILITY,
)
async def visibility_all_predicates_must_match(store: VisibilityStore) -> None:
    await _record_all(
        store,
        _record(WF_A, start=1, attributes={"region": "eu", "tier": 3, "tags": ["gold"]}),
        _record(WF_B, start=2, attributes={"region": "eu", "tier": 1}),
        _record(
            WF_C,
            workflow_type="invoice",
            start=3,
            attributes={"region": "us", "tier": 3, "tags": ["gold", "beta"]},
        ),
    )

    def where(*predicates: SearchAttributePredicate, **fields: Any) -> ListWorkflowsFilter:
        return ListWorkflowsFilter(search_attributes=predicates, **fields)

    cases: list[tuple[ListWorkflowsFilter, list[WorkflowId]]] = [
        (where(), [WF_A, WF_B, WF_C]),
        (where(Equals("region", "eu"), GreaterThan("tier", 2)), [WF_A]),
        (where(Contains("tags", "gold"), LessThan("tier", 5)), [WF_A, WF_C]),
        (where(Contains("tags", "gold"), workflow_type="invoice"), [WF_C]),
        (where(Contains("tags", "gold"), started_before=at(2)), [WF_A]),
        (where(Equals("region", "eu"), Equals("region", "us")), []),
        (where(Equals("region", "eu"), Contains("tags", "x")), []),
    ]
    for filter, expected in cases:
        expect_equal(await _matching(store, filter), expected, f"list_workflows({filter!r})")


@scenario(
    "SPEC §1 isolation: mutating a list list_workflows returned changes nothing stored",
    requires=VISIBILITY,
)
async def visibility_results_are_isolated(store: VisibilityStore) -> None:
    attributes: dict[str, Any] = {"tags": ["a"], "n": 1}
    record = _record(WF_A, attributes=attributes)
    await _record_all(store, record, _record(WF_B, start=20))
    attributes["n"] = 2
    attributes["extra"] = "x"
    before = await store.list_workflows(ListWorkflowsFilter())
    listed = await store.list_workflows(ListWorkflowsFilter())
    listed.reverse()
    listed.append(listed[0])
    listed.clear()
    after = await store.list_workflows(ListWorkflowsFilter())
    expect_equal(after, before, "list_workflows() after mutating an earlier result")
    expect_equal(
        dict(after[0].search_attributes), {"tags": ("a",), "n": 1}, "stored search attributes"
    )
