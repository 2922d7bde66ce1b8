"""Differential test of the two msgpack decoders on mutated valid input.

Valid events and histories (the fuzz seed corpus, and values drawn from
``strategies.py`` with hypothesis derandomized) are mutated: bit flips, byte
replacement, insertion and deletion, truncation (at every length for a few inputs),
container headers (array, map, str, bin, ext) rewritten with larger, smaller or huge
lengths or in another width, integers switched to other widths, uint64 values >= 2**63
where integers are expected, items added to or removed from arrays and maps. Every
mutant is decoded as ``Event`` and as ``list[Event]`` by ``aion_store.wire._msgpack_c`` and by
``aion_store.wire._msgpack_py``: both must accept with equal values (==, same type, same
repr) or raise ``SerializationError`` with the same message, nothing else may escape,
and an accepted value must re-encode (``to_msgpack``) to bytes that decode equal.
Non-canonical encodings of a valid input (wider integers and headers) must decode to
the original value. Deterministic: seeded ``random.Random`` and fixed counts.
"""

from __future__ import annotations

import importlib
import random
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import strategies
from aion_store import Event, SerializationError
from aion_store.wire import _msgpack_py as pure_codec

core_codec = pytest.importorskip(
    "aion_store.wire._msgpack_c", reason="the compiled core is not built: nothing to compare with"
)

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
HISTORY = list[Event]


def load_targets() -> ModuleType:
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module("_targets")


targets = load_targets()


def seed_documents() -> dict[str, bytes]:
    """The msgpack seeds that are events or histories (they all decode: checked below)."""
    found = {}
    for path in sorted((FUZZ / "corpus" / "msgpack").iterdir()):
        if path.name.startswith(("event-", "edge-", "history-")):
            found[path.name] = path.read_bytes()
    return found


SEEDS = seed_documents()


class Differences:
    """Collects the distinct disagreements (one example each) instead of stopping at the
    first, so a failure shows every kind of problem at once."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}
        self.inputs = 0

    def check(self, data: bytes) -> None:
        self.inputs += 1
        for cls in (Event, HISTORY):
            try:
                targets.check_msgpack_as(data, cls)
            except targets.Finding as finding:
                key = " ".join(str(finding).split()[:6])
                self.found.setdefault(key, f"{finding}\n    input: {data.hex()}")

    def assert_none(self) -> None:
        shown = "\n".join(f"- {text}" for text in list(self.found.values())[:12])
        assert not self.found, f"{len(self.found)} kinds of disagreement:\n{shown}"


def test_the_seeds_are_valid_events_and_histories() -> None:
    assert len(SEEDS) >= 40
    for name, data in SEEDS.items():
        cls = HISTORY if name.startswith("history-") else Event
        decoded = pure_codec.from_msgpack(data, cls)
        assert core_codec.from_msgpack(data, cls) == decoded, name


def test_random_mutations_of_the_seeds() -> None:
    rng = random.Random(0x5EED)
    documents = list(SEEDS.values())
    differences = Differences()
    for _ in range(20_000):
        differences.check(targets.mutate(rng.choice(documents), rng, rounds=rng.randint(1, 3)))
    assert differences.inputs == 20_000
    differences.assert_none()


@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # a mutant's hex is the report: no shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(strategies.histories(max_size=6), strategies.events()))
def test_mutations_of_generated_values(value: Any) -> None:
    data = pure_codec.to_msgpack(value)
    assert core_codec.to_msgpack(value) == data
    rng = random.Random(zlib.crc32(data))
    differences = Differences()
    differences.check(data)
    for _ in range(40):
        differences.check(targets.mutate(data, rng, rounds=rng.randint(1, 2)))
    differences.assert_none()


TRUNCATED = ("history-every_variant.msgpack", "history-checkout.msgpack")
TRUNCATED += ("event-SearchAttributesUpdated.msgpack", "edge-3-ScheduleCreated.msgpack")


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncation_at_every_length(name: str) -> None:
    data = SEEDS[name]
    differences = Differences()
    for cut in range(len(data)):
        differences.check(data[:cut])
    differences.assert_none()
    # Every strict prefix of a single event is malformed, on both paths.
    if name.startswith("event-"):
        for cut in range(len(data)):
            with pytest.raises(SerializationError):
                core_codec.from_msgpack(data[:cut], Event)


def containers(data: bytes) -> Iterator[Any]:
    return (token for token in targets.tokens(data) if token.is_container)


HEADER_LENGTHS = (0, 1, 0x0F, 0x10, 0x1F, 0x20, 0xFF, 0x100, 0xFFFF, 0x10000)
HEADER_LENGTHS += (2**20, 2**27, 2**31 - 1, 2**31, 2**32 - 1)


def test_container_headers_rewritten() -> None:
    """Every container header of a few seeds, as every header kind with other lengths
    (near the true one, and huge): the decoders agree. With its true length in a wider
    form, a header still decodes to the original value."""
    differences = Differences()
    rng = random.Random(7)
    for name in ("history-every_variant.msgpack", "edge-3-ScheduleCreated.msgpack"):
        data = SEEDS[name]
        cls = HISTORY if name.startswith("history-") else Event
        original = pure_codec.from_msgpack(data, cls)
        for token in containers(data):
            before, after = data[: token.offset], data[token.offset + token.header :]
            ext_type = data[token.offset + token.header - 1] if token.kind == "ext" else 1
            for width in (0, 1, 2, 4):  # the true length, in every width the kind has
                if width and token.length >= 1 << (8 * width):
                    continue
                try:
                    wide = targets.header(token.kind, token.length, width, ext_type)
                except AssertionError:
                    continue  # no such form (fix forms are short; bin/ext have none)
                mutant = before + wide + after
                differences.check(mutant)
                for codec in (core_codec, pure_codec):
                    assert codec.from_msgpack(mutant, cls) == original, mutant.hex()
            for kind in ("array", "map", "str", "bin", "ext"):
                lengths = [*HEADER_LENGTHS, token.length + 1, max(token.length - 1, 0)]
                for length in rng.sample(lengths, 6):
                    differences.check(before + targets.header(kind, length) + after)
    assert differences.inputs > 1000
    differences.assert_none()


def test_integers_rewritten() -> None:
    """Every integer of every seed: in each other msgpack width it decodes to the
    original value; replaced by a uint64 >= 2**63, a negative number, or a float, the
    decoders agree."""
    differences = Differences()
    for name, data in SEEDS.items():
        cls = HISTORY if name.startswith("history-") else Event
        original = pure_codec.from_msgpack(data, cls)
        for token in targets.tokens(data):
            if token.kind != "int":
                continue
            before, after = data[: token.offset], data[token.end :]
            value = targets._int_value(data, token)
            for encoding in targets.int_encodings(value):
                mutant = before + encoding + after
                for codec in (core_codec, pure_codec):
                    decoded = codec.from_msgpack(mutant, cls)
                    assert decoded == original and repr(decoded) == repr(original), (
                        f"{name}: {mutant.hex()}"
                    )
            for big in (2**63, 2**63 + 1, 2**64 - 1, 2**63 + value % 1000):
                differences.check(before + b"\xcf" + big.to_bytes(8, "big") + after)
            for other in (-1, -(2**63), value + 1, 2**32, 2**64 - 1 - value % 7):
                if -(2**63) <= other < 2**64:
                    differences.check(before + targets.int_encodings(other)[-1] + after)
            differences.check(before + b"\xcb" + struct.pack(">d", float(value)) + after)
    assert differences.inputs > 2000
    differences.assert_none()


def test_items_added_and_removed() -> None:
    """Arrays and maps one item short or long (valid msgpack, a missing or extra field)."""
    differences = Differences()
    for data in SEEDS.values():
        found = targets.tokens(data)
        for token in found:
            if token.kind not in ("array", "map") or token.end < 0:
                continue
            items = targets.children(found, token)
            step = 2 if token.kind == "map" else 1
            body = data[token.offset + token.header : token.end]
            if items:
                last = items[-step]
                shorter = data[token.offset + token.header : last.offset]
                differences.check(
                    data[: token.offset]
                    + targets.header(token.kind, token.length - 1)
                    + shorter
                    + data[token.end :]
                )
            extra = b"\xa1k\xc0" if step == 2 else b"\xc0"
            differences.check(
                data[: token.offset]
                + targets.header(token.kind, token.length + 1)
                + body
                + extra
                + data[token.end :]
            )
    assert differences.inputs > 200
    differences.assert_none()


def test_input_types() -> None:
    """bytes, bytearray and memoryview decode alike; anything else is a TypeError."""
    rng = random.Random(3)
    documents = list(SEEDS.values())
    for _ in range(300):
        data = targets.mutate(rng.choice(documents), rng)
        for cls in (Event, HISTORY):
            outcomes = set()
            for codec in (core_codec, pure_codec):
                for form in (bytes, bytearray, memoryview):
                    try:
                        outcomes.add(("ok", repr(codec.from_msgpack(form(data), cls))))
                    except SerializationError as error:
                        outcomes.add(("error", str(error)))
            assert len(outcomes) == 1, (data.hex(), outcomes)
    for codec in (core_codec, pure_codec):
        for wrong in ("\x01\x90", 1, None, [1]):
            for cls in (Event, HISTORY):
                with pytest.raises(TypeError):
                    codec.from_msgpack(wrong, cls)
