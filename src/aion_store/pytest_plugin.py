"""The pytest plugin of aion-store: the conformance suite as ordinary tests.

Registered through the ``pytest11`` entry point and inert unless asked::

    pytest --aion-store-backend=mypkg.backends:make_store

collects every scenario of :mod:`aion_store.conformance` as its own test item
(``aion_store/conformance::<scenario>``), so a third-party backend gets the suite with
one flag and pytest's usual reporting (``-k``, ``-x``, ``--junitxml``). The factory is
a zero-argument callable, sync or async, imported with the invocation directory on
``sys.path``; it is called for a fresh store before every scenario. A factory that
raises (``SystemExit`` too) or returns something that is not an ``EventStore`` fails
each scenario with one line saying so. Scenarios that need a ``VisibilityStore`` are
skipped for a store that is not one.

Without the option the plugin adds nothing (pytest in an empty folder still exits 5),
and importing it imports nothing but pytest.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ConformanceSuite", "ScenarioItem"]

OPTION = "--aion-store-backend"
#: The node id of the collector that holds the scenario items.
SUITE_NODEID = "aion_store/conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aion-store", "aion-store conformance suite")
    group.addoption(
        OPTION,
        dest="aion_store_backend",
        metavar="MODULE:FACTORY",
        default=None,
        help=(
            "run the aion-store conformance suite against the store made by this "
            "zero-argument factory (sync or async), one test per scenario"
        ),
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    backend = config.getoption("aion_store_backend", None)
    if not backend:
        return None
    return f"aion-store conformance suite against {backend}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[Any]:
    # The session's own report lists what it collected: the suite joins that list, so
    # its items are collected, selected and reported like any other test.
    outcome: Any = yield
    if not isinstance(collector, pytest.Session):
        return
    backend = collector.config.getoption("aion_store_backend", None)
    report = outcome.get_result()
    if backend and report.passed:
        report.result.append(
            ConformanceSuite.from_parent(
                collector, name="aion-store-conformance", nodeid=SUITE_NODEID
            )
        )


class ConformanceSuite(pytest.Collector):
    """Every conformance scenario, as one :class:`ScenarioItem` each."""

    def collect(self) -> list[pytest.Item]:
        from aion_store import conformance
        from aion_store.cli._io import CliError
        from aion_store.cli.conformance import load_factory

        spec: str = self.config.getoption("aion_store_backend")
        directory = str(self.config.invocation_params.dir)
        try:
            factory = load_factory(spec, directory)
        except CliError as error:
            raise self.CollectError(f"{OPTION}={error}") from None
        return [
            ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario, factory=factory)
            for scenario in conformance.scenarios()
        ]


class ScenarioItem(pytest.Item):
    """One conformance scenario run on a fresh store from the factory."""

    def __init__(
        self,
        *,
        scenario: Any,
        factory: Callable[[], Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.factory = factory
        self.add_marker(pytest.mark.aion_store_conformance)
        self.user_properties.append(("rule", scenario.rule))
        self.user_properties.append(("requires", scenario.requires))

    def runtest(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        from aion_store import conformance
        from aion_store.cli._io import CliError
        from aion_store.cli.conformance import make_store
        from aion_store.visibility import VisibilityStore

        spec = self.config.getoption("aion_store_backend")
        try:
            # The same checks as aion-store conformance: what it raises (SystemExit
            # too) or returns when that is not a store fails the scenario in one line.
            store = await make_store(spec, self.factory)
        except CliError as error:
            raise FactoryError(str(error)) from error.__cause__
        if self.scenario.requires == conformance.VISIBILITY and not isinstance(
            store, VisibilityStore
        ):
            pytest.skip(f"{spec} does not make a VisibilityStore")
        await conformance.run_scenario(self.scenario, lambda: store)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        """The scenario's message (name, rule, what broke), then the store's own
        traceback when the store raised something unexpected."""
        from aion_store.conformance import ScenarioFailure

        error = excinfo.value
        if isinstance(error, FactoryError):
            return str(error)
        if isinstance(error, ScenarioFailure):
            lines = [str(error)]
            cause = error.__cause__
            if cause is not None and not isinstance(cause, AssertionError):
                cause_info = pytest.ExceptionInfo.from_exception(cause)
                lines += ["", "raised by the store:", str(cause_info.getrepr(style="short"))]
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        run = self.scenario.run
        try:
            source = inspect.getsourcefile(run)
            line = inspect.getsourcelines(run)[1]
        except (OSError, TypeError):
            return self.path, None, f"conformance scenario {self.name}"
        if source is None:
            return self.path, None, f"conformance scenario {self.name}"
        return Path(source), line - 1, f"conformance scenario {self.name}"


class FactoryError(Exception):
    """The backend factory raised, or returned something that is not a store."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "aion_store_conformance: a scenario of the aion-store conformance suite"
    )
