"""Scenarios of SPEC §1 isolation: nothing a caller passed in or got back can change what a
store holds, and the events a store returns are immutable."""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from aion_store.conformance._support import (
    RUN_1,
    RUN_2,
    TOKEN,
    WF_A,
    WF_B,
    at,
    child_started,
    continued,
    every_variant,
    expect,
    expect_equal,
    scenario,
    seed,
    signal,
    started,
)
from aion_store.events import Event
from aion_store.ids import TimerId
from aion_store.package import PackageRecord
from aion_store.status import WorkflowFilter
from aion_store.store import EventStore


@scenario("SPEC §1 isolation: mutating the list passed to append afterwards changes nothing stored")
async def mutating_appended_list_changes_nothing(store: EventStore) -> None:
    batch = [started(WF_A, 1), signal(WF_A, 2)]
    original = list(batch)
    await store.append(TOKEN, WF_A, batch, 0)
    batch[0] = signal(WF_A, 1, name="replaced")
    batch.append(signal(WF_A, 3))
    expect_equal(await store.read_history(WF_A), original, "history after mutating the batch")
    batch.clear()
    expect_equal(await store.read_history(WF_A), original, "history after clearing the batch")
    await store.append(TOKEN, WF_A, [signal(WF_A, 3)], 2)
    expect_equal(len(await store.read_history(WF_A)), 3, "the head stayed 2")


@scenario("SPEC §1 isolation: mutating a list a store returned changes nothing stored")
async def mutating_returned_lists_changes_nothing(store: EventStore) -> None:
    await seed(store, WF_A, [started(WF_A, 1), child_started(WF_A, 2, WF_B), continued(WF_A, 3)])
    await store.append(TOKEN, WF_A, [started(WF_A, 4, run=RUN_2, parent_run=RUN_1)], 3)
    await seed(store, WF_B, [started(WF_B, 1)])
    await store.schedule_timer(WF_A, TimerId.named("t"), at(1))
    await store.schedule_timer(WF_B, TimerId.named("t"), at(2))
    await store.put_package(PackageRecord("order", "h1", b"zip", at(1)))
    await store.put_package(PackageRecord("order", "h2", b"zap", at(2)))
    await store.put_package(PackageRecord("invoice", "h3", b"zop", at(3)))
    reads: dict[str, Callable[[], Awaitable[list[Any]]]] = {
        "read_history": lambda: store.read_history(WF_A),
        "read_history_from": lambda: store.read_history_from(WF_A, 2),
        "read_run_chain": lambda: store.read_run_chain(WF_A),
        "list_workflow_ids": store.list_workflow_ids,
        "list_active": store.list_active,
        "query": lambda: store.query(WorkflowFilter()),
        "expired_timers": lambda: store.expired_timers(at(10)),
        "list_packages": store.list_packages,
        "list_package_routes": store.list_package_routes,
    }
    for name, read in reads.items():
        first = await read()
        expect(len(first) >= 2, f"{name}() should return at least two items here, got {first!r}")
        kept = list(first)
        first.reverse()
        first.append(first[0])
        del first[1]
        expect_equal(await read(), kept, f"{name}() after mutating its previous result")
        first.clear()
        expect_equal(await read(), kept, f"{name}() after clearing its previous result")


def _refuses_change(change: Callable[..., object], *args: object) -> bool:
    try:
        change(*args)
    except (AttributeError, TypeError):
        return True
    return False


@scenario(
    "SPEC §1/§4 immutability: events, envelopes and search attribute mappings a store returns "
    "cannot be changed (and an attribute dict passed in is not kept)"
)
async def stored_events_are_immutable(store: EventStore) -> None:
    attributes: dict[str, Any] = {"tags": ["a", "b"], "n": 1}
    update = Event.SearchAttributesUpdated(
        envelope=signal(WF_A, 29).envelope, workflow_id=WF_A, attributes=attributes
    )
    events = [*every_variant(WF_A), update]
    await store.append(TOKEN, WF_A, events, 0)
    attributes["n"] = 2
    attributes["tags"].append("c")
    history = await store.read_history(WF_A)
    for event in history:
        where = f"{type(event).__name__} seq {event.seq}"
        expect(
            _refuses_change(setattr, event, "envelope", signal(WF_B, 1).envelope),
            f"{where}: setting .envelope must fail",
        )
        expect(
            _refuses_change(setattr, event.envelope, "seq", 99),
            f"{where}: setting .envelope.seq must fail",
        )
    for event in (history[6], history[-1]):
        mapping = event.attributes  # type: ignore[attr-defined]
        where = f"attributes of seq {event.seq}"
        expect(isinstance(mapping, Mapping), f"{where} must be a Mapping")
        expect(not isinstance(mapping, MutableMapping), f"{where} must not be mutable")
        expect(_refuses_change(operator.setitem, mapping, "n", 3), f"{where}: item assignment")
        for name, value in mapping.items():
            expect(not isinstance(value, list), f"{where}[{name!r}] must not be a list")
    expect_equal(
        dict(history[-1].attributes),  # type: ignore[attr-defined]
        {"tags": ("a", "b"), "n": 1},
        "search attributes read back after mutating the dict passed in",
    )
    expect_equal(await store.read_history(WF_A), events, "history after the mutation attempts")
