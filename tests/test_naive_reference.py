"""The benchmarks' baseline, ``NaiveInMemoryStore``, is a correct store: it passes the
public conformance suite, scenario by scenario (so a failure names its scenario)."""

from __future__ import annotations

import pytest

from aion_store import conformance
from aion_store.bench.naive import NaiveInMemoryStore


@pytest.mark.parametrize("scenario", conformance.scenarios(), ids=lambda s: s.name)
async def test_naive_store_passes_scenario(scenario: conformance.Scenario) -> None:
    await conformance.run_scenario(scenario, NaiveInMemoryStore)


async def test_naive_store_passes_the_whole_suite() -> None:
    await conformance.run_event_store_suite(NaiveInMemoryStore)
