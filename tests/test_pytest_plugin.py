"""The pytest plugin (``aion_store.pytest_plugin``, entry point ``pytest11``): inert unless
``--aion-store-backend`` is given, then one test per conformance scenario."""

from __future__ import annotations

pytest_plugins = ["pytester"]

import xml.etree.ElementTree as ElementTree  # noqa: E402

import pytest  # noqa: E402

from aion_store import conformance  # noqa: E402

SCENARIOS = conformance.scenarios()
VISIBILITY = [s.name for s in SCENARIOS if s.requires == "visibility"]

BACKENDS = '''
import asyncio

from aion_store import InMemoryStore


class ReversedReads(InMemoryStore):
    """Broken on purpose: read_history returns the events newest first."""

    async def read_history(self, workflow_id):
        return list(reversed(await super().read_history(workflow_id)))


class NoActiveList(InMemoryStore):
    """Broken on purpose: list_active raises."""

    async def list_active(self):
        raise RuntimeError("list_active is not implemented yet")


class HistoriesOnly:
    """An EventStore that is not a VisibilityStore."""

    def __init__(self):
        store = InMemoryStore()
        for name in (
            "append", "read_history", "read_history_from", "read_run_chain",
            "list_workflow_ids", "list_active", "query", "schedule_timer", "expired_timers",
            "put_package", "list_packages", "delete_package", "put_package_route",
            "list_package_routes",
        ):
            setattr(self, name, getattr(store, name))


def reversed_reads():
    return ReversedReads()


async def make_async():
    await asyncio.sleep(0)
    return InMemoryStore()


def raising():
    raise ConnectionError("no database")


def returns_none():
    return None


def returns_int():
    return 42


def exits():
    raise SystemExit(3)
'''


@pytest.fixture
def backends(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(my_backends=BACKENDS)
    return pytester


def test_inert_without_the_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    # ... and it adds nothing to an ordinary test run
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--aion-store-backend=MODULE:FACTORY*"])
    result = pytester.runpytest_subprocess("-p", "no:aion_store", "--aion-store-backend=x:y")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # the option is the plugin's


def test_in_memory_store_passes(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--aion-store-backend=aion_store:InMemoryStore", "-v")
    result.assert_outcomes(passed=len(SCENARIOS))
    result.stdout.fnmatch_lines(
        [
            "*aion-store conformance suite against aion_store:InMemoryStore*",
            "aion_store/conformance::append_then_read_round_trip PASSED*",
        ]
    )


def test_async_factory_from_the_invocation_directory(backends: pytest.Pytester) -> None:
    result = backends.runpytest_subprocess("--aion-store-backend=my_backends:make_async")
    result.assert_outcomes(passed=len(SCENARIOS))


def test_broken_store_reports_failures(backends: pytest.Pytester) -> None:
    result = backends.runpytest("--aion-store-backend=my_backends:reversed_reads")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 1 and outcomes["passed"] >= 1
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    rule = next(s.rule for s in SCENARIOS if s.name == "append_then_read_round_trip")
    result.stdout.fnmatch_lines(
        [
            "*conformance scenario append_then_read_round_trip*",
            f"scenario append_then_read_round_trip failed ({rule}): *",
            "FAILED aion_store/conformance::append_then_read_round_trip*",
        ]
    )


def test_store_errors_show_the_store_traceback(backends: pytest.Pytester) -> None:
    result = backends.runpytest("--aion-store-backend=my_backends:NoActiveList", "-x")
    result.assert_outcomes(failed=1, passed=result.parseoutcomes().get("passed", 0))
    result.stdout.fnmatch_lines(
        [
            "*unexpected RuntimeError from the store: list_active is not implemented yet",
            "raised by the store:",
            "*my_backends.py:*in list_active",
        ]
    )


def test_selection_exitfirst_and_junit(backends: pytest.Pytester) -> None:
    backend = "--aion-store-backend=my_backends:reversed_reads"
    result = backends.runpytest(backend, "-k", "conflict")
    selected = [s for s in SCENARIOS if "conflict" in s.name]
    assert sum(result.parseoutcomes().get(key, 0) for key in ("passed", "failed")) == len(selected)
    result = backends.runpytest(backend, "-x")
    result.assert_outcomes(failed=1)
    junit = backends.path / "junit.xml"
    result = backends.runpytest(backend, f"--junitxml={junit}")
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    by_name = {case.get("name"): case for case in cases}
    assert set(by_name) == {s.name for s in SCENARIOS}
    failed = by_name["append_then_read_round_trip"]
    assert failed.get("classname") == "aion_store.conformance"
    assert failed.find("failure") is not None
    rules = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert rules["rule"].startswith("SPEC §6")


def test_collect_only_lists_every_scenario(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--aion-store-backend=aion_store:InMemoryStore", "--co", "-q")
    result.stdout.fnmatch_lines([f"aion_store/conformance::{s.name}" for s in SCENARIOS])


def test_visibility_scenarios_skip_for_an_event_store_only(backends: pytest.Pytester) -> None:
    result = backends.runpytest("--aion-store-backend=my_backends:HistoriesOnly", "-rs")
    result.assert_outcomes(passed=len(SCENARIOS) - len(VISIBILITY), skipped=len(VISIBILITY))
    result.stdout.fnmatch_lines(["*does not make a VisibilityStore*"])


def test_suite_runs_next_to_the_project_tests(backends: pytest.Pytester) -> None:
    backends.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = backends.runpytest("--aion-store-backend=my_backends:make_async")
    result.assert_outcomes(passed=len(SCENARIOS) + 1)


def test_bad_factory_is_a_collection_error(backends: pytest.Pytester) -> None:
    result = backends.runpytest("--aion-store-backend=no_such_module:make")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*--aion-store-backend=no_such_module:make: cannot import module 'no_such_module'*"]
    )
    result = backends.runpytest("--aion-store-backend=my_backends")
    result.stdout.fnmatch_lines(["*expected MODULE:FACTORY*"])


def test_factory_that_raises_fails_every_scenario(backends: pytest.Pytester) -> None:
    result = backends.runpytest("--aion-store-backend=my_backends:raising")
    result.assert_outcomes(failed=len(SCENARIOS))
    result.stdout.fnmatch_lines(
        ["my_backends:raising: the factory raised ConnectionError: no database"]
    )


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("returns_none", "the factory returned None, not a store"),
        ("returns_int", "the factory returned an int, not a store"),
        ("exits", "the factory raised SystemExit: 3"),
    ],
)
def test_factory_that_makes_no_store_fails_every_scenario(
    backends: pytest.Pytester, factory: str, message: str
) -> None:
    """As with ``aion-store conformance``: one line saying what the factory did."""
    result = backends.runpytest(f"--aion-store-backend=my_backends:{factory}")
    result.assert_outcomes(failed=len(SCENARIOS))
    result.stdout.fnmatch_lines([f"my_backends:{factory}: {message}"])
    result.stdout.no_fnmatch_line("*Traceback*")
