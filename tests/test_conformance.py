"""The public conformance suite: InMemoryStore passes every scenario (on whichever path this
run uses), the runners accept sync and async factories, and broken stores fail with a
message that names the scenario and the rule."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import aion_store
from aion_store import (
    BackendError,
    EventStore,
    InMemoryStore,
    VisibilityStore,
    conformance,
)
from aion_store.conformance import Scenario, ScenarioFailure

SCENARIOS = conformance.scenarios()
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


# -- InMemoryStore passes ---------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_in_memory_store_passes(scenario: Scenario) -> None:
    await conformance.run_scenario(scenario, InMemoryStore)


async def test_suite_with_a_sync_factory() -> None:
    made: list[InMemoryStore] = []

    def make() -> InMemoryStore:
        made.append(InMemoryStore())
        return made[-1]

    await conformance.run_event_store_suite(make)
    assert len(made) == len(SCENARIOS), "one fresh store per scenario, visibility ones included"
    assert len({id(store) for store in made}) == len(made)


async def test_suite_with_an_async_factory() -> None:
    made = 0

    async def make() -> InMemoryStore:
        nonlocal made
        made += 1
        return InMemoryStore()

    await conformance.run_event_store_suite(make)
    assert made == len(SCENARIOS)


async def test_the_suite_is_reachable_from_the_package() -> None:
    assert aion_store.run_event_store_suite is conformance.run_event_store_suite


# -- the scenario registry --------------------------------------------------------------------


def test_scenarios_are_well_formed() -> None:
    names = [scenario.name for scenario in SCENARIOS]
    assert len(names) == len(set(names)), "scenario names are unique"
    for scenario in SCENARIOS:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", scenario.name), scenario.name
        assert scenario.rule.startswith("SPEC §"), scenario.rule
        assert "\n" not in scenario.rule
        assert scenario.requires in ("event_store", "visibility")
    requirements = {scenario.requires for scenario in SCENARIOS}
    assert requirements == {"event_store", "visibility"}
    assert conformance.scenarios() is not conformance.scenarios(), "callers get their own list"


def test_every_protocol_method_is_exercised() -> None:
    source = "".join(
        path.read_text(encoding="utf-8") for path in Path(conformance.__file__).parent.glob("_*.py")
    )
    methods = [
        name
        for protocol in (EventStore, VisibilityStore)
        for name in dir(protocol)
        if not name.startswith("_")
    ]
    assert len(methods) == 17
    for name in methods:
        assert f"store.{name}" in source, f"no scenario calls {name}"


def test_conformance_imports_only_the_stdlib_and_aion_store() -> None:
    package = Path(conformance.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top == "aion_store" or top in sys.stdlib_module_names, (path.name, module)
    code = "import sys, aion_store.conformance; print('pytest' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False", result.stdout


# -- broken stores fail, naming the scenario and the rule -------------------------------------


class UnsortedActive(InMemoryStore):
    """list_active in reverse id order."""

    async def list_active(self) -> list[Any]:
        return list(reversed(await super().list_active()))


class IgnoresExpectedSeq(InMemoryStore):
    """append writes at the current head, whatever expected_seq says."""

    async def append(self, token: Any, workflow_id: Any, events: Any, expected_seq: Any) -> None:
        head = len(await self.read_history(workflow_id))
        await super().append(token, workflow_id, events, head)


class ExclusiveTimers(InMemoryStore):
    """expired_timers leaves out the timers due exactly at as_of."""

    async def expired_timers(self, as_of: Any) -> list[Any]:
        return [timer for timer in await super().expired_timers(as_of) if timer.fire_at < as_of]


class FailingAppends(InMemoryStore):
    """Every append fails with a backend error."""

    async def append(self, token: Any, workflow_id: Any, events: Any, expected_seq: Any) -> None:
        raise BackendError("disk on fire")


class BrokenVisibility(InMemoryStore):
    """record_visibility drops every record."""

    async def record_visibility(self, record: Any) -> None:
        return None


class EventStoreOnly:
    """A correct EventStore that is not a VisibilityStore (it delegates)."""

    def __init__(self) -> None:
        self._inner = InMemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name in ("record_visibility", "list_workflows", "count_workflows"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def append(self, *args: Any) -> None:
        await self._inner.append(*args)

    async def read_history(self, *args: Any) -> Any:
        return await self._inner.read_history(*args)

    async def read_history_from(self, *args: Any) -> Any:
        return await self._inner.read_history_from(*args)

    async def read_run_chain(self, *args: Any) -> Any:
        return await self._inner.read_run_chain(*args)

    async def list_workflow_ids(self) -> Any:
        return await self._inner.list_workflow_ids()

    async def list_active(self) -> Any:
        return await self._inner.list_active()

    async def query(self, *args: Any) -> Any:
        return await self._inner.query(*args)

    async def schedule_timer(self, *args: Any) -> None:
        await self._inner.schedule_timer(*args)

    async def expired_timers(self, *args: Any) -> Any:
        return await self._inner.expired_timers(*args)

    async def put_package(self, *args: Any) -> None:
        await self._inner.put_package(*args)

    async def list_packages(self) -> Any:
        return await self._inner.list_packages()

    async def delete_package(self, *args: Any) -> None:
        await self._inner.delete_package(*args)

    async def put_package_route(self, *args: Any) -> None:
        await self._inner.put_package_route(*args)

    async def list_package_routes(self) -> Any:
        return await self._inner.list_package_routes()


def _prefix(name: str) -> str:
    return f"scenario {name} failed ({BY_NAME[name].rule}): "


async def test_unsorted_list_active_fails_its_scenario() -> None:
    name = "terminal_events_leave_list_active"
    with pytest.raises(ScenarioFailure) as failure:
        await conformance.run_scenario(BY_NAME[name], UnsortedActive)
    message = str(failure.value)
    assert message.startswith(_prefix(name) + "list_active(): item 0 differs"), message
    assert "sorted by str(workflow_id)" in message
    assert isinstance(failure.value, AssertionError)
    assert failure.value.scenario is BY_NAME[name]


async def test_ignoring_expected_seq_fails_the_suite() -> None:
    with pytest.raises(AssertionError) as failure:
        await conformance.run_event_store_suite(IgnoresExpectedSeq)
    message = str(failure.value)
    assert message.startswith(_prefix("stale_expected_seq_conflicts")), message
    assert "SequenceConflict" in message
    assert "append with expected_seq=0 at head 3: expected SequenceConflict" in message


async def test_the_first_failing_scenario_is_reported() -> None:
    class TwiceBroken(ExclusiveTimers, UnsortedActive):
        pass

    names = [scenario.name for scenario in SCENARIOS]
    first = min(
        names.index("terminal_events_leave_list_active"),
        names.index("expired_timers_boundary_is_inclusive"),
    )
    with pytest.raises(ScenarioFailure) as failure:
        await conformance.run_event_store_suite(TwiceBroken)
    assert failure.value.scenario.name == names[first]


async def test_an_unexpected_store_error_names_the_scenario() -> None:
    name = "append_then_read_round_trip"
    with pytest.raises(ScenarioFailure) as failure:
        await conformance.run_scenario(BY_NAME[name], FailingAppends)
    assert str(failure.value) == _prefix(name) + (
        "unexpected BackendError from the store: store backend error: disk on fire"
    )
    assert isinstance(failure.value.__cause__, BackendError)


async def test_a_non_store_fails_with_what_is_missing() -> None:
    name = "batches_advance_the_head"
    with pytest.raises(ScenarioFailure, match=r"is not an EventStore \(missing: append, "):
        await conformance.run_scenario(BY_NAME[name], object)


async def test_broken_visibility_fails_unless_skipped() -> None:
    with pytest.raises(ScenarioFailure) as failure:
        await conformance.run_event_store_suite(BrokenVisibility)
    assert failure.value.scenario.requires == "visibility"
    assert str(failure.value).startswith("scenario visibility_")
    await conformance.run_event_store_suite(BrokenVisibility, visibility=False)


async def test_visibility_scenarios_follow_the_store() -> None:
    assert isinstance(EventStoreOnly(), EventStore)
    assert not isinstance(EventStoreOnly(), VisibilityStore)
    await conformance.run_event_store_suite(EventStoreOnly)
    with pytest.raises(
        ScenarioFailure, match=r"^scenario visibility_\w+ failed .* not a VisibilityStore"
    ):
        await conformance.run_event_store_suite(EventStoreOnly, visibility=True)
