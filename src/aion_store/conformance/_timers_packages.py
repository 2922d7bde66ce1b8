"""Scenarios of durable timers (SPEC §6 ``schedule_timer``/``expired_timers``) and of the
package store (SPEC §10)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aion_store.conformance._support import (
    WF_0,
    WF_A,
    WF_B,
    WF_F,
    at,
    expect_equal,
    expect_raises,
    scenario,
)
from aion_store.ids import TimerId, WorkflowId
from aion_store.package import PackageRecord, PackageRouteRecord
from aion_store.store import EventStore
from aion_store.timers import TimerEntry

SOON = TimerId.named("soon")
LATER = TimerId.named("later")
FAR = at(10**6)


def _timer(workflow_id: WorkflowId, timer_id: TimerId, second: float) -> TimerEntry:
    return TimerEntry(workflow_id=workflow_id, timer_id=timer_id, fire_at=at(second))


# -- timers ----------------------------------------------------------------------------------


@scenario(
    "SPEC §6 expired_timers: a timer is due when fire_at <= as_of (the boundary is inclusive), "
    "a later one is not; an empty store has none"
)
async def expired_timers_boundary_is_inclusive(store: EventStore) -> None:
    expect_equal(await store.expired_timers(FAR), [], "expired_timers of an empty store")
    await store.schedule_timer(WF_A, SOON, at(10))
    await store.schedule_timer(WF_A, LATER, at(20))
    soon, later = _timer(WF_A, SOON, 10), _timer(WF_A, LATER, 20)
    plus_two = timezone(timedelta(hours=2))
    cases: list[tuple[datetime, list[TimerEntry]]] = [
        (at(9.999_999), []),
        (at(10), [soon]),
        (at(10).astimezone(plus_two), [soon]),
        (at(19), [soon]),
        (at(20), [soon, later]),
    ]
    for as_of, expected in cases:
        expect_equal(await store.expired_timers(as_of), expected, f"expired_timers({as_of})")


@scenario(
    "SPEC §6 expired_timers: sorted by (fire_at, str(workflow_id), str(timer_id)), ties on "
    "fire_at broken by the workflow, then the timer id string"
)
async def expired_timers_sorted(store: EventStore) -> None:
    anonymous_1, anonymous_9, anonymous_10 = (TimerId.anonymous(n) for n in (1, 9, 10))
    named_a, named_b = TimerId.named("a"), TimerId.named("b")
    schedule = [
        (WF_B, anonymous_1, 5),
        (WF_A, anonymous_10, 5),
        (WF_0, named_a, 7),
        (WF_A, named_a, 5),
        (WF_A, anonymous_9, 5),
        (WF_F, named_b, 1),
    ]
    for workflow_id, timer_id, second in schedule:
        await store.schedule_timer(workflow_id, timer_id, at(second))
    # The workflow breaks a tie before the timer id does; then, as strings,
    # "timer:anonymous:10" < "timer:anonymous:9" < "timer:named:a".
    expected = [
        _timer(WF_F, named_b, 1),
        _timer(WF_A, anonymous_10, 5),
        _timer(WF_A, anonymous_9, 5),
        _timer(WF_A, named_a, 5),
        _timer(WF_B, anonymous_1, 5),
        _timer(WF_0, named_a, 7),
    ]
    expect_equal(await store.expired_timers(FAR), expected, "expired_timers order")


@scenario(
    "SPEC §6 schedule_timer: scheduling the same (workflow_id, timer_id) again replaces its "
    "fire_at, later or earlier, also after it was returned; other workflows' timers are apart"
)
async def rescheduling_replaces(store: EventStore) -> None:
    await store.schedule_timer(WF_A, SOON, at(10))
    await store.schedule_timer(WF_A, SOON, at(30))
    expect_equal(await store.expired_timers(at(20)), [], "due at 20 after moving 10 -> 30")
    expect_equal(await store.expired_timers(at(30)), [_timer(WF_A, SOON, 30)], "due at 30")
    await store.schedule_timer(WF_A, SOON, at(5))
    expect_equal(await store.expired_timers(at(20)), [_timer(WF_A, SOON, 5)], "after 30 -> 5")
    expect_equal(await store.expired_timers(FAR), [_timer(WF_A, SOON, 5)], "one entry per key")
    await store.schedule_timer(WF_A, SOON, at(50))  # it was just returned as due
    expect_equal(await store.expired_timers(at(20)), [], "due at 20 after moving 5 -> 50")
    await store.schedule_timer(WF_B, SOON, at(5))
    expect_equal(
        await store.expired_timers(at(50)),
        [_timer(WF_B, SOON, 5), _timer(WF_A, SOON, 50)],
        "the same timer id in two workflows",
    )


@scenario("SPEC §6 expired_timers: returning a timer does not remove it; later polls return it too")
async def returned_timers_stay(store: EventStore) -> None:
    await store.schedule_timer(WF_A, SOON, at(10))
    await store.schedule_timer(WF_B, SOON, at(20))
    first = await store.expired_timers(at(10))
    expect_equal(first, [_timer(WF_A, SOON, 10)], "first poll at 10")
    expect_equal(await store.expired_timers(at(10)), first, "second poll at 10")
    expect_equal(
        await store.expired_timers(at(30)),
        [_timer(WF_A, SOON, 10), _timer(WF_B, SOON, 20)],
        "a later poll",
    )
    expect_equal(await store.expired_timers(at(10)), first, "an earlier poll again")


@scenario("SPEC §1/§6 timers: a naive fire_at or as_of raises ValueError; nothing is scheduled")
async def naive_timer_times_rejected(store: EventStore) -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    await expect_raises(
        ValueError, store.schedule_timer(WF_A, SOON, naive), "schedule_timer(naive fire_at)"
    )
    expect_equal(await store.expired_timers(FAR), [], "expired_timers after a naive schedule")
    await expect_raises(ValueError, store.expired_timers(naive), "expired_timers(naive as_of)")


# -- packages --------------------------------------------------------------------------------


def _package(
    workflow_type: str, content_hash: str, second: float, archive: bytes = b"zip"
) -> PackageRecord:
    return PackageRecord(
        workflow_type=workflow_type,
        content_hash=content_hash,
        archive=archive,
        deployed_at=at(second),
    )


def _routes(*pairs: tuple[str, str]) -> list[PackageRouteRecord]:
    return [PackageRouteRecord(workflow_type=t, content_hash=h) for t, h in pairs]


@scenario(
    "SPEC §10 list_packages: ascending deployed_at, ties by (workflow_type, content_hash); an "
    "empty store has no packages and no routes"
)
async def packages_listed_by_deploy_time(store: EventStore) -> None:
    expect_equal(await store.list_packages(), [], "list_packages() of an empty store")
    expect_equal(await store.list_package_routes(), [], "list_package_routes() of an empty store")
    rows = [
        _package("order", "h2", 20),
        _package("invoice", "h9", 20),
        _package("order", "h1", 20),
        _package("ship", "h0", 5),
        _package("alpha", "h5", 30),
    ]
    for row in rows:
        await store.put_package(row)
    expect_equal(
        await store.list_packages(),
        [rows[3], rows[1], rows[2], rows[0], rows[4]],
        "list_packages() order",
    )


@scenario("SPEC §10 put_package: a put with an existing (workflow_type, content_hash) replaces it")
async def put_package_replaces_same_key(store: EventStore) -> None:
    other = _package("order", "h2", 15)
    await store.put_package(_package("order", "h1", 10, b"v1"))
    await store.put_package(other)
    replacement = _package("order", "h1", 40, b"v2")
    await store.put_package(replacement)
    expect_equal(await store.list_packages(), [other, replacement], "list_packages()")


@scenario(
    "SPEC §10 put_package: also points the route of its workflow_type at its content_hash "
    "(the latest put wins, whatever its deployed_at)"
)
async def put_package_points_the_route(store: EventStore) -> None:
    steps = [
        (_package("order", "h1", 10), _routes(("order", "h1"))),
        (_package("order", "h2", 5), _routes(("order", "h2"))),
        (_package("order", "h1", 10), _routes(("order", "h1"))),
        (_package("invoice", "x", 1), _routes(("invoice", "x"), ("order", "h1"))),
    ]
    for row, routes in steps:
        await store.put_package(row)
        expect_equal(
            await store.list_package_routes(), routes, f"routes after put_package({row!r})"
        )


@scenario("SPEC §10 put_package_route: upserts the route only; package rows are untouched")
async def put_package_route_leaves_archives(store: EventStore) -> None:
    rows = [_package("order", "h1", 10), _package("order", "h2", 20)]
    for row in rows:
        await store.put_package(row)
    await store.put_package_route("order", "h1")
    expect_equal(await store.list_package_routes(), _routes(("order", "h1")), "rolled back route")
    await store.put_package_route("refund", "not-deployed")
    expect_equal(
        await store.list_package_routes(),
        _routes(("order", "h1"), ("refund", "not-deployed")),
        "routes after routing a type without packages",
    )
    expect_equal(await store.list_packages(), rows, "list_packages() after route changes")


@scenario(
    "SPEC §10 delete_package: removes only that row; deleting an absent row is a no-op; "
    "routes are untouched"
)
async def delete_package_removes_only_target(store: EventStore) -> None:
    rows = [_package("order", "h1", 10), _package("order", "h2", 20), _package("invoice", "h1", 30)]
    for row in rows:
        await store.put_package(row)
    routes = _routes(("invoice", "h1"), ("order", "h2"))
    await store.delete_package("order", "h2")
    expect_equal(await store.list_packages(), [rows[0], rows[2]], "after deleting (order, h2)")
    expect_equal(await store.list_package_routes(), routes, "routes after deleting the target")
    for workflow_type, content_hash in (("order", "h2"), ("order", "h9"), ("nothing", "h1")):
        await store.delete_package(workflow_type, content_hash)
        expect_equal(
            await store.list_packages(),
            [rows[0], rows[2]],
            f"after deleting absent ({workflow_type}, {content_hash})",
        )
    expect_equal(await store.list_package_routes(), routes, "routes after deleting absent rows")


@scenario("SPEC §10 list_package_routes: one route per workflow_type, sorted by workflow_type")
async def package_routes_sorted_by_type(store: EventStore) -> None:
    for workflow_type in ("zeta", "émile", "beta", "Alpha", "alpha"):
        await store.put_package_route(workflow_type, f"{workflow_type}-1")
    await store.put_package_route("beta", "beta-2")
    expect_equal(
        await store.list_package_routes(),
        _routes(
            ("Alpha", "Alpha-1"),
            ("alpha", "alpha-1"),
            ("beta", "beta-2"),
            ("zeta", "zeta-1"),
            ("émile", "émile-1"),
        ),
        "list_package_routes()",
    )
