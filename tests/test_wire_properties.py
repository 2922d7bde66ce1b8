"""Round-trip properties of both wire forms over generated values of every covered type."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aion_store import Event, wire
from aion_store._select import load_core
from aion_store.wire import _msgpack_py as pure_codec
from engines import COMPILED_BUILT, requires_compiled
from strategies import any_wire_value, events, histories

core_codec: Any = load_core() if COMPILED_BUILT else None
#: The msgpack codecs this install has: the pure one, and the compiled one when built.
CODECS = (pure_codec, core_codec) if COMPILED_BUILT else (pure_codec,)


def same(left: Any, right: Any) -> bool:
    return left == right and type(left) is type(right)


@settings(max_examples=400, deadline=None)
@given(any_wire_value())
def test_json_round_trip_gives_an_equal_value(pair: tuple[Any, Any]) -> None:
    cls, value = pair
    text = wire.to_json(value)
    assert same(wire.from_json(text, cls), value)
    assert wire.to_json(wire.from_json(text, cls)) == text


@settings(max_examples=400, deadline=None)
@given(any_wire_value())
def test_msgpack_round_trip_gives_an_equal_value_on_both_paths(pair: tuple[Any, Any]) -> None:
    cls, value = pair
    data = pure_codec.to_msgpack(value)
    for codec in CODECS:
        assert codec.to_msgpack(value) == data
        assert same(codec.from_msgpack(data, cls), value)


@requires_compiled
@settings(max_examples=300, deadline=None)
@given(events())
def test_every_event_takes_the_compiled_fast_path(event: Event) -> None:
    # Canonical bytes never fall back to the pure decoder, so the fast path covers
    # every variant and every value the strategies generate.
    data = core_codec.to_msgpack(event)
    before = core_codec.fallbacks()
    assert same(core_codec.from_msgpack(data, Event), event)
    assert core_codec.fallbacks() == before


@settings(max_examples=100, deadline=None)
@given(histories())
def test_history_round_trips(history: list[Event]) -> None:
    data = pure_codec.to_msgpack(history)
    for codec in CODECS:
        assert codec.to_msgpack(history) == data
        assert codec.from_msgpack(data, list[Event]) == history
    text = "[" + ",".join(wire.to_json(event) for event in history) + "]"
    assert wire.to_json(history) == text
    assert wire.from_json(text, list[Event]) == history


@settings(max_examples=100, deadline=None)
@given(events(), st.data())
def test_json_and_msgpack_agree(event: Event, data: st.DataObject) -> None:
    via_json = wire.from_json(wire.to_json(event), Event)
    via_msgpack = wire.from_msgpack(wire.to_msgpack(event), Event)
    assert via_json == via_msgpack == event
