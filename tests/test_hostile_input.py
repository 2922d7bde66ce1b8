"""Regressions of the hardening issue: each defect found by trying the package as an
attacker would, and the siblings a search for the same mistake turned up.

- an integer read into a narrower or signed field without checking it first (the compiled
  decoder took a uint64 >= 2**63 Interval fraction as a negative number);
- a declared length trusted before the input was shown to hold it (allocation by claim);
- a truncated msgpack history read by the CLI as a shorter, valid one;
- an ``int`` subclass read differently by the two engines;
- messages a user could not act on ("1 bytes", "a int", Python's int-digits advice).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import aion_store
from aion_store import (
    Event,
    EventEnvelope,
    InMemoryStore,
    Payload,
    ScheduleConfig,
    ScheduleId,
    SerializationError,
    TriggerSpec,
    WorkflowId,
    WriteToken,
    from_json,
    to_json,
)
from aion_store.wire import _msgpack_py as pure_codec

HISTORIES = Path(__file__).parent / "data" / "histories"
UTC = timezone.utc
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OWNER = WorkflowId("5f0c3a4e-8b1d-4c2a-9e3f-0a1b2c3d4e5f")

try:
    from aion_store.wire import _msgpack_c as core_codec
except ImportError:  # a pure-only install: the compiled half of each check is skipped
    core_codec = None

DECODERS: list[Any] = [pytest.param(pure_codec, id="pure")]
DECODERS.append(
    pytest.param(
        core_codec,
        id="compiled",
        marks=pytest.mark.skipif(core_codec is None, reason="the compiled core is not built"),
    )
)
ENGINES = [
    "pure",
    pytest.param(
        "compiled",
        marks=pytest.mark.skipif(core_codec is None, reason="the compiled core is not built"),
    ),
]


def envelope(seq: int) -> EventEnvelope:
    return EventEnvelope(seq, AT, OWNER)


def encoded(event: Event) -> bytes:
    return pure_codec.to_msgpack(event)


def both_raise(data: bytes, cls: Any) -> str:
    """Decode ``data`` on every available path; each must raise the same SerializationError."""
    messages = set()
    for codec in (pure_codec, core_codec):
        if codec is None:
            continue
        with pytest.raises(SerializationError) as caught:
            codec.from_msgpack(data, cls)
        messages.add(str(caught.value))
    assert len(messages) == 1, messages
    return messages.pop()


# -- 1. integers checked against their field before any cast ---------------------------------


def interval_event(period: timedelta) -> Event:
    config = ScheduleConfig(TriggerSpec.Interval(period), "nightly", Payload.from_json(1))
    return Event.ScheduleCreated(
        envelope(1), ScheduleId("00000000-0000-4000-8000-000000000007"), config
    )


@pytest.mark.parametrize(
    ("seconds", "fraction"),
    [
        (5, 2**63 + 5),  # the reported defect: negative once cast to int64
        (5, 2**64 - 1),
        (5, 1_000_000),  # one past the largest microsecond count
        (2**63, 0),
        (2**64 - 1, 999_999),
        (86_400 * 1_000_000_000, 0),  # one day past timedelta's range
    ],
)
def test_interval_parts_beyond_their_range_are_malformed(seconds: int, fraction: int) -> None:
    good = encoded(interval_event(timedelta(seconds=5)))
    marker = bytes([0x92, 0x05, 0x00])
    assert good.count(marker) == 1
    parts = bytes([0x92, 0xCF]) + struct.pack(">Q", seconds) + bytes([0xCF])
    bad = good.replace(marker, parts + struct.pack(">Q", fraction))
    message = both_raise(bad, Event)
    assert "event.config.trigger.period" in message


def test_the_largest_interval_still_decodes() -> None:
    event = interval_event(timedelta(days=999_999_999, seconds=86_399, microseconds=999_999))
    for codec in (pure_codec, core_codec):
        if codec is not None:
            assert codec.from_msgpack(encoded(event), Event) == event


def attributes_event() -> tuple[Event, bytes]:
    event = Event.SearchAttributesUpdated(envelope(1), OWNER, {"k": ("a",)})
    return event, encoded(event)


@pytest.mark.parametrize("claim", [2**32 - 1, 2**27, 2**20, 3])
@pytest.mark.parametrize(
    ("find", "header"),
    [
        (bytes([0x91, 0xA1, 0x61]), lambda n: bytes([0xDD]) + n.to_bytes(4, "big")),  # array32
        (bytes([0x81, 0xA1, 0x6B]), lambda n: bytes([0xDF]) + n.to_bytes(4, "big")),  # map32
        (bytes([0xA1, 0x61]), lambda n: bytes([0xDB]) + n.to_bytes(4, "big")),  # str32
    ],
    ids=["keyword-list", "attributes-map", "keyword-str"],
)
@pytest.mark.parametrize("codec", DECODERS)
def test_a_length_that_lies_allocates_nothing(
    codec: Any, find: bytes, header: Callable[[int], bytes], claim: int
) -> None:
    _, good = attributes_event()
    assert good.count(find) == 1
    bad = good.replace(find, header(claim) + find[1:])
    tracemalloc.start()
    try:
        with pytest.raises(SerializationError):
            codec.from_msgpack(bad, Event)
        with pytest.raises(SerializationError):
            codec.from_msgpack(bad, list[Event])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The input is 62 bytes; a decoder that believed the claim would take 8 bytes per item.
    assert peak < 1 << 20, f"decoding {len(bad)} bytes peaked at {peak:,} bytes"


@pytest.mark.parametrize("codec", DECODERS)
def test_nested_lying_headers_stay_within_the_input_size(codec: Any) -> None:
    depth, claim = 1000, 2**16  # below the input size, so no max_array_len refuses it
    data = bytes([pure_codec.FORMAT_VERSION]) + (bytes([0xDD]) + claim.to_bytes(4, "big")) * depth
    data += b"\xc0" * 100_000
    tracemalloc.start()
    try:
        with pytest.raises(SerializationError):
            codec.from_msgpack(data, list[Event])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A decoder that pre-allocates per claim takes up to depth * min(claim, 10_000) * 8 bytes.
    assert peak < 16 * len(data), f"decoding {len(data):,} bytes peaked at {peak:,} bytes"


# -- 3. the CLI: trailing bytes that are not a whole event ----------------------------------------


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aion_store.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_a_partial_event_after_a_valid_history_is_an_error(command: str, tmp_path: Path) -> None:
    valid = (HISTORIES / "checkout.msgpack").read_bytes()
    source = tmp_path / "partial.msgpack"
    source.write_bytes(valid + bytes([0x98, 0x00, 0x05]))  # an array header and two scalars
    target = tmp_path / "out.json"
    args = [command, source] + ([target] if command == "convert" else [])
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"(byte {len(valid)}): truncated input (3 bytes of an incomplete event" in result.stderr
    assert not target.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x98", "event[0] (byte 1): truncated input (1 byte of an incomplete event"),
        (b"\x01\xdd\xff\xff\xff\xff", "event[0] (byte 1): truncated input (5 bytes"),
        (b"\xcd\x00", "the format version marker (byte 0): truncated input (2 bytes"),
    ],
)
def test_a_history_cut_short_is_truncated_not_empty(
    data: bytes, message: str, tmp_path: Path
) -> None:
    source = tmp_path / "cut.msgpack"
    source.write_bytes(data)
    result = cli("inspect", source)
    assert result.returncode == 2
    assert message in result.stderr
    assert "empty history" not in result.stderr


def test_the_cli_reader_agrees_with_the_library_on_every_truncation(tmp_path: Path) -> None:
    from aion_store.cli._io import CliError, HistoryReader

    valid = (HISTORIES / "checkout.msgpack").read_bytes()
    source = tmp_path / "h.msgpack"
    for length in range(1, len(valid) + 1):
        source.write_bytes(valid[:length])
        try:
            library: Any = aion_store.from_msgpack(valid[:length], list[Event])
        except SerializationError:
            library = None
        try:
            with HistoryReader(str(source)) as reader:
                read: Any = list(reader)
        except CliError:
            read = None
        assert read == library, f"the first {length} bytes"


# -- 4. int subclasses: read once, as the int they hold ---------------------------------------


class Contrary(int):
    """An int whose comparisons and conversions all lie."""

    def __lt__(self, other: object) -> bool:
        return not int.__lt__(self, other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        return not int.__gt__(self, other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        return not int.__le__(self, other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        return not int.__ge__(self, other)  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return not int.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not int.__ne__(self, other)

    __hash__ = int.__hash__

    def __index__(self) -> int:
        return 1

    def __int__(self) -> int:
        return 1

    def __sub__(self, other: object) -> int:
        return 0


def history(count: int) -> list[Event]:
    return [
        Event.SignalReceived(envelope(seq), "s", Payload.from_json(seq))
        for seq in range(1, count + 1)
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_int_subclasses_are_read_as_the_int_they_hold(engine: str) -> None:
    store = InMemoryStore(engine=engine)  # type: ignore[arg-type]
    await store.append(WriteToken.recorder(), OWNER, history(6), Contrary(0))
    events = await store.read_history(OWNER)
    assert [event.seq for event in events] == [1, 2, 3, 4, 5, 6]
    for start in (0, 1, 3, 6, 7):
        plain = await store.read_history_from(OWNER, start)
        assert await store.read_history_from(OWNER, Contrary(start)) == plain
        assert [event.seq for event in plain] == list(range(max(start, 1), 7))
        raw = await store.read_history_raw(OWNER, Contrary(start))
        assert raw == await store.read_history_raw(OWNER, start)
    more = Event.SignalReceived(envelope(7), "s", Payload.from_json(7))
    with pytest.raises(aion_store.SequenceConflict) as caught:
        await store.append(WriteToken.recorder(), OWNER, [more], Contrary(5))
    assert (caught.value.expected, caught.value.found) == (5, 6)
    assert type(caught.value.expected) is int
    await store.append(WriteToken.recorder(), OWNER, [more], Contrary(6))
    assert len(await store.read_history(OWNER)) == 7


def test_int_subclass_fields_hold_plain_ints() -> None:
    stored = EventEnvelope(Contrary(4), AT, OWNER)
    assert type(stored.seq) is int and stored.seq == 4
    attempt = Event.ActivityFailed(
        envelope(1),
        aion_store.ActivityId(Contrary(9)),
        aion_store.ActivityError(aion_store.ActivityErrorKind.RETRYABLE, "x"),
        Contrary(3),
    )
    assert (attempt.activity_id.sequence_position, attempt.attempt) == (9, 3)
    updated = Event.SearchAttributesUpdated(envelope(1), OWNER, {"n": Contrary(-2)})
    assert type(updated.attributes["n"]) is int and updated.attributes["n"] == -2


# -- messages -------------------------------------------------------------------------------------


def test_a_number_too_long_for_python_is_explained() -> None:
    event = Event.SignalReceived(envelope(1), "s", Payload.from_json(1))
    text = to_json(event).replace('"seq":1,', '"seq":' + "9" * 100_000 + ",")
    with pytest.raises(SerializationError) as caught:
        from_json(text, Event)
    message = str(caught.value)
    assert "a number with 100,000 digits is out of range for every field" in message
    assert "set_int_max_str_digits" not in message


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_the_cli_explains_a_number_too_long_for_python(suffix: str, tmp_path: Path) -> None:
    event = Event.SignalReceived(envelope(1), "s", Payload.from_json(1))
    line = to_json(event).replace('"seq":1,', '"seq":' + "9" * 100_000 + ",")
    source = tmp_path / f"long{suffix}"
    source.write_text(f"[{line}]" if suffix == ".json" else line + "\n", encoding="utf-8")
    result = cli("inspect", source)
    assert result.returncode == 2
    assert "a number with 100,000 digits is out of range for every field" in result.stderr
    assert "set_int_max_str_digits" not in result.stderr


@pytest.mark.parametrize(
    ("make", "wording"),
    [
        (lambda: EventEnvelope(1, AT, "x"), "must be a WorkflowId"),
        (
            lambda: Event.ActivityStarted(envelope(1), 5),
            "must be an ActivityId",
        ),
        (lambda: EventEnvelope("1", AT, OWNER), "must be an int"),
        (lambda: pure_codec.to_msgpack([1]), "item 0 is an int"),
        (lambda: aion_store.to_json([1.5]), "item 0 is a float"),
    ],
)
def test_messages_use_the_right_article(make: Callable[[], Any], wording: str) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        make()
    assert wording in str(caught.value)


@pytest.mark.parametrize("codec", DECODERS)
def test_one_extra_byte_is_one_byte(codec: Any) -> None:
    event = Event.SignalReceived(envelope(1), "s", Payload.from_json(1))
    with pytest.raises(SerializationError, match=r"event: 1 byte of extra data"):
        codec.from_msgpack(encoded(event) + b"\xc0", Event)
    with pytest.raises(SerializationError, match=r"event: 2 bytes of extra data"):
        codec.from_msgpack(encoded(event) + b"\xc0\xc0", Event)
