"""Replay the fuzz seed corpus and every saved fuzz finding through every target's check.

Each file of ``fuzz/corpus/<target>/`` and ``fuzz/regressions/<target>/`` goes through
all three checks of ``fuzz/_targets.py``, in their thorough form: the msgpack decoders
(compiled and pure agree, only SerializationError, re-encoding round trips), the JSON
decoder (the same for JSON), and the CLI's history reader (only CliError, it accepts
exactly what the library accepts, truncation names a byte offset). Saved findings are
replayed with tracemalloc on, so a decode that allocates far beyond its input fails too.
The CLI check runs on the engine this session selected (``AION_STORE_PURE=1`` or not).
"""

from __future__ import annotations

import importlib
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = ("msgpack", "json", "cli_reader")


def load_targets() -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module("_targets")


targets = load_targets()


def files(kind: str) -> list[Path]:
    return sorted(path for path in (FUZZ / kind).glob("*/*") if path.is_file())


CORPUS = files("corpus")
REGRESSIONS = files("regressions")


def name_of(path: Path) -> str:
    return str(path.relative_to(FUZZ))


@pytest.fixture
def traced() -> Iterator[None]:
    """tracemalloc on for the test (the checks then bound each decode's peak memory)."""
    if tracemalloc.is_tracing():
        yield
        return
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def test_the_seed_corpus_covers_every_target_and_stays_small() -> None:
    for target in TARGETS:
        assert any(path.parent.name == target for path in CORPUS), target
    assert sum(path.stat().st_size for path in CORPUS) < 1 << 20
    # Every event variant has a seed in both forms.
    names = {path.name for path in CORPUS}
    for variant in targets.VARIANTS:
        assert f"event-{variant.__name__}.msgpack" in names
        assert f"event-{variant.__name__}.json" in names


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("path", CORPUS, ids=name_of)
def test_seed_corpus(path: Path, target: str) -> None:
    targets.TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("path", REGRESSIONS, ids=name_of)
def test_saved_findings(path: Path, target: str, traced: None) -> None:
    targets.TARGETS[target](path.read_bytes())


def test_valid_seeds_are_accepted() -> None:
    """The checks must not pass vacuously: the valid seeds decode (and so went through
    the comparisons and round trips above)."""
    from aion_store import Event, from_json
    from aion_store.cli._io import HistoryReader
    from aion_store.wire import _msgpack_py as _msgpack

    for path in CORPUS:
        data = path.read_bytes()
        if path.parent.name == "msgpack" and path.name.startswith("event-"):
            assert isinstance(_msgpack.from_msgpack(data, Event), Event), path.name
        elif path.parent.name == "json" and path.name.startswith("history-"):
            assert isinstance(from_json(data, list[Event]), list), path.name
        elif path.parent.name == "cli_reader" and path.name.startswith("checkout."):
            with HistoryReader(str(path)) as reader:
                assert len(list(reader)) == 15, path.name
