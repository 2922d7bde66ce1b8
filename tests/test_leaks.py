"""Error paths do not leak memory: 20,000 rejected calls after a warm-up leave no trace.

- The compiled decoder's error paths (``aion_store.wire._msgpack_c.from_msgpack`` on input its
  fast path refuses and hands to the pure decoder: a truncated event, a KeywordList with
  a number in it, a map with an integer key, invalid UTF-8, an Interval beyond a second
  of microseconds, a history whose second event is bad, a header claiming 2**20 items,
  a non-canonical but valid event) and the pure decoder's on the same input.
- ``InMemoryStore.append`` rejecting a batch, on both engines: a stale ``expected_seq``
  (SequenceConflict), a wrong seq and a wrong owner (BackendError), a non-Event item
  (TypeError). Nothing is stored.

Growth is measured three ways over the loop: Python allocator blocks
(``sys.getallocatedblocks``: a leaked object is a block), traced bytes (tracemalloc) and
resident memory (``/proc/self/statm``). The bounds are generous for noise but far below
what one leaked object per call adds up to; a control test shows such a leak is caught.
No timing is asserted.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import tracemalloc
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack
import pytest

from aion_store import (
    ActivityId,
    BackendError,
    Event,
    EventEnvelope,
    InMemoryStore,
    SequenceConflict,
    SerializationError,
    WorkflowId,
    WriteToken,
)
from aion_store.wire import _msgpack_py as pure_codec

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
ITERATIONS = 20_000
WARM_UP = 2_000
MAX_BLOCKS = 1_000  # allocator blocks: one leaked object per call would be 20,000
MAX_TRACED = 1 << 20  # bytes
MAX_RSS = 16 << 20  # bytes (resident memory is noisier than the allocator's own counts)

UTC = timezone.utc
AT = datetime(2024, 5, 1, 12, tzinfo=UTC)
OWNER = WorkflowId("5f0c3a4e-8b1d-4c2a-9e3f-0a1b2c3d4e5f")
OTHER = WorkflowId("00000000-0000-0000-0000-000000000007")


def core_or_skip() -> ModuleType:
    try:
        return importlib.import_module("aion_store.wire._msgpack_c")
    except ImportError:
        pytest.skip("the compiled core is not built")


def resident() -> int:
    if not os.path.exists("/proc/self/statm"):
        return 0
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(step: Callable[[int], None]) -> dict[str, int]:
    """Run ``step(i)`` WARM_UP times, then ITERATIONS times measured."""
    for i in range(WARM_UP):
        step(i)
    gc.collect()
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    try:
        blocks, traced, rss = (
            sys.getallocatedblocks(),
            tracemalloc.get_traced_memory()[0],
            resident(),
        )
        for i in range(ITERATIONS):
            step(i)
        gc.collect()
        return {
            "blocks": sys.getallocatedblocks() - blocks,
            "traced": tracemalloc.get_traced_memory()[0] - traced,
            "rss": resident() - rss,
        }
    finally:
        if started_tracing:
            tracemalloc.stop()


def assert_no_leak(found: dict[str, int]) -> None:
    assert found["blocks"] < MAX_BLOCKS, found
    assert found["traced"] < MAX_TRACED, found
    assert found["rss"] < MAX_RSS, found


def test_the_measurement_sees_a_leak() -> None:
    """Control: one small object kept per call (what a missed decref leaks) fails."""
    kept: list[object] = []
    found = growth(lambda i: kept.append(object()))
    assert found["blocks"] >= MAX_BLOCKS
    with pytest.raises(AssertionError):
        assert_no_leak(found)


# -- decoders ----------------------------------------------------------------------------


def event_bytes(*fields: Any) -> bytes:
    return b"\x01" + msgpack.packb(list(fields), use_bin_type=True)


WID = OWNER._int.to_bytes(16, "big")
SEQ_1 = (1).to_bytes(8, "big")
ENVELOPE = [1, 1_714_564_800_000_000, WID]


def malformed_inputs() -> list[bytes]:
    seed = (FUZZ / "corpus" / "msgpack" / "event-SearchAttributesUpdated.msgpack").read_bytes()
    one = (FUZZ / "corpus" / "msgpack" / "history-one.msgpack").read_bytes()
    config = [[90, 10**6], "t", b"", 0, 1, {}]  # microseconds must be below 10**6
    found = [
        seed[:-3],
        event_bytes(6, *ENVELOPE, WID, {"a": "x", "k": ["red", 3, "blue"]}),
        event_bytes(6, *ENVELOPE, WID, {"a": "x", 7: "y"}),
        event_bytes(6, *ENVELOPE, WID, {"a": "x"})[:-2] + b"\xa1\xff",
        event_bytes(22, *ENVELOPE, WID, config),
        one + event_bytes(8, 2, 1, WID, "not an activity id")[1:],
        event_bytes(6, *ENVELOPE, WID, {"k": []})[:-1] + b"\xdd\x00\x10\x00\x00\xa1x",
        # valid, but the seq is a signed int64, which only the pure decoder reads
        event_bytes(8, *ENVELOPE, 12).replace(b"\x95\x08\x01", b"\x95\x08\xd3" + SEQ_1, 1),
    ]
    # Each is what it says: the fast path gives up on all of them, the last is valid.
    for data in found[:-1]:
        with pytest.raises(SerializationError):
            pure_codec.from_msgpack(data, list[Event])
    assert pure_codec.from_msgpack(found[-1], Event).seq == 1
    return found


@pytest.mark.parametrize("codec_name", ["compiled", "pure"])
def test_decoder_error_paths_do_not_leak(codec_name: str) -> None:
    codec = core_or_skip() if codec_name == "compiled" else pure_codec
    inputs = malformed_inputs()
    if codec_name == "compiled":
        before = codec.fallbacks()

    def step(i: int) -> None:
        data = inputs[i % len(inputs)]
        for cls in (Event, list[Event]):
            with contextlib.suppress(SerializationError):
                codec.from_msgpack(data, cls)

    assert_no_leak(growth(step))
    if codec_name == "compiled":  # the fast path really gave up each time
        assert codec.fallbacks() - before >= 2 * (WARM_UP + ITERATIONS)


# -- InMemoryStore.append rejections -------------------------------------------------------


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that never suspends (the in-memory store's methods)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise AssertionError("the coroutine suspended")


def started(seq: int, owner: WorkflowId = OWNER) -> Event:
    return Event.ActivityStarted(
        EventEnvelope(seq, AT + timedelta(seconds=seq), owner), ActivityId(seq)
    )


@pytest.mark.parametrize("engine", ["compiled", "pure"])
def test_rejected_appends_do_not_leak(engine: str) -> None:
    if engine == "compiled":
        core_or_skip()
    store = InMemoryStore(engine=engine)  # type: ignore[arg-type]
    token = WriteToken.recorder()
    run(store.append(token, OWNER, [started(1), started(2), started(3)], 0))
    rejected = {SequenceConflict: 0, BackendError: 0, TypeError: 0}

    def step(i: int) -> None:
        kind = i % 4
        if kind == 0:
            batch, expected = [started(4)], 1  # stale head
        elif kind == 1:
            batch, expected = [started(4), started(6)], 3  # a gap
        elif kind == 2:
            batch, expected = [started(4), started(5, OTHER)], 3  # another owner
        else:
            batch, expected = [started(4), "not an event"], 3  # type: ignore[list-item]
        try:
            run(store.append(token, OWNER, batch, expected))
        except (SequenceConflict, BackendError, TypeError) as error:
            rejected[type(error) if type(error) in rejected else BackendError] += 1
        else:
            raise AssertionError(f"batch {kind} was stored")

    assert_no_leak(growth(step))
    total = WARM_UP + ITERATIONS
    assert rejected == {
        SequenceConflict: total // 4,
        BackendError: total // 2,
        TypeError: total // 4,
    }
    assert [event.seq for event in run(store.read_history(OWNER))] == [1, 2, 3]
