"""The public conformance suite of the store contract (SPEC §13).

Every backend runs the same scenarios. Run them all::

    await run_event_store_suite(MyStore)            # a sync or async zero-argument factory

or one test per scenario under pytest::

    @pytest.mark.parametrize("scenario", conformance.scenarios(), ids=lambda s: s.name)
    async def test_contract(scenario):
        await conformance.run_scenario(scenario, MyStore)

Each scenario gets a fresh store. A failure raises :class:`ScenarioFailure` (an
``AssertionError``) whose message starts with ``scenario {name} failed ({rule}):`` and
says what broke; an unexpected exception from the store (a ``StoreError`` or any other)
is reported the same way, the original chained as ``__cause__``. Scenarios whose
``requires`` is ``"visibility"`` need a :class:`~aion_store.visibility.VisibilityStore`.

The suite imports nothing outside the standard library and ``aion_store``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Union

# Importing the scenario modules registers their scenarios, in this order.
from aion_store._text import a
from aion_store.conformance import (  # noqa: F401
    _history,
    _isolation,
    _projections,
    _timers_packages,
    _visibility,
)
from aion_store.conformance._support import (
    EVENT_STORE,
    REGISTRY,
    VISIBILITY,
    Scenario,
    ScenarioFailure,
)
from aion_store.store import EventStore
from aion_store.visibility import VisibilityStore

__all__ = [
    "EVENT_STORE",
    "VISIBILITY",
    "Scenario",
    "ScenarioFailure",
    "StoreFactory",
    "run_event_store_suite",
    "run_scenario",
    "scenarios",
]

#: A zero-argument callable returning a fresh store, or an awaitable of one.
StoreFactory = Callable[[], Union[Any, Awaitable[Any]]]  # noqa: UP007 (a runtime alias on 3.10)

_REQUIRED_PROTOCOL: dict[str, type] = {EVENT_STORE: EventStore, VISIBILITY: VisibilityStore}


def scenarios() -> list[Scenario]:
    """Every scenario, event store ones first; filter on ``requires`` to pick some."""
    return list(REGISTRY)


async def run_scenario(scenario: Scenario, make_store: StoreFactory) -> None:
    """Make a fresh store with ``make_store`` and run ``scenario`` on it."""
    await _run(scenario, await _make(make_store))


async def run_event_store_suite(
    make_store: StoreFactory, *, visibility: bool | None = None
) -> None:
    """Run every scenario on a fresh store each, stopping at the first failure.

    Visibility scenarios run when the store is a ``VisibilityStore``; ``visibility=True``
    runs them regardless (a store without visibility then fails), ``False`` skips them.
    """
    for scenario in REGISTRY:
        store = await _make(make_store)
        if scenario.requires == VISIBILITY:
            wanted = isinstance(store, VisibilityStore) if visibility is None else visibility
            if not wanted:
                continue
        await _run(scenario, store)


async def _make(make_store: StoreFactory) -> Any:
    store = make_store()
    if inspect.isawaitable(store):
        store = await store
    return store


async def _run(scenario: Scenario, store: Any) -> None:
    protocol = _REQUIRED_PROTOCOL[scenario.requires]
    if not isinstance(store, protocol):
        missing = sorted(
            name
            for name in dir(protocol)
            if not name.startswith("_") and not callable(getattr(store, name, None))
        )
        raise ScenarioFailure(
            scenario,
            f"the store {store!r} is not {a(protocol.__name__)} (missing: {', '.join(missing)})",
        )
    try:
        await scenario.run(store)
    except AssertionError as error:
        raise ScenarioFailure(scenario, str(error)) from error
    except Exception as error:
        raise ScenarioFailure(
            scenario, f"unexpected {type(error).__name__} from the store: {error}"
        ) from error
