"""Encode + decode of one typical (~200-byte) event through this package's codecs, next to
raw ``msgpack`` of an equivalent plain dict, in the same groups of the same run.

``wire``: ``aion_store.wire.to_msgpack``/``from_msgpack`` as the package resolves them (the
compiled core's unless the pure path is forced); ``core``: ``aion_store.wire._msgpack_c``
explicitly; ``pure``: ``aion_store.wire._msgpack_py``; ``plain_msgpack``:
``msgpack.packb``/``unpackb`` of a dict with the same content (strings, ints, bytes) and
no typed objects: the floor a typed codec is measured against.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msgpack
import pytest

from aion_store import wire
from aion_store.bench import data
from aion_store.events import ActivityScheduled, Event, EventEnvelope
from aion_store.ids import ActivityId
from aion_store.payload import Payload
from aion_store.wire import _msgpack_py as _msgpack

EVENT = ActivityScheduled(
    envelope=EventEnvelope(
        seq=42,
        recorded_at=data.BASE_TIME + timedelta(seconds=3, microseconds=141_592),
        workflow_id=data.workflow_id(7),
    ),
    activity_id=ActivityId(42),
    activity_type="charge_card",
    input=Payload.from_json(
        {
            "order_id": "ord-0000007",
            "customer": "cus-8675309",
            "amount_cents": 129_900,
            "currency": "EUR",
            "items": [{"sku": "A-100", "qty": 2}, {"sku": "B-220", "qty": 1}],
        }
    ),
)
PLAIN = {
    "type": "ActivityScheduled",
    "seq": 42,
    "recorded_at": 1_704_067_203_141_592,
    "workflow_id": EVENT.envelope.workflow_id.uuid.bytes,
    "activity_id": 42,
    "activity_type": "charge_card",
    "input": {"content_type": "Json", "bytes": EVENT.input.data},
}


def _codecs() -> dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]]:
    codecs: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = {
        "wire": (wire.to_msgpack, lambda b: wire.from_msgpack(b, Event)),
    }
    try:
        from aion_store.wire import _msgpack_c as _core
    except ImportError:
        pass
    else:
        codecs["core"] = (_core.to_msgpack, lambda b: _core.from_msgpack(b, Event))
    codecs["pure"] = (_msgpack.to_msgpack, lambda b: _msgpack.from_msgpack(b, Event))
    codecs["plain_msgpack"] = (
        lambda obj: msgpack.packb(obj, use_bin_type=True),
        lambda b: msgpack.unpackb(b, raw=False),
    )
    return codecs


CODECS = _codecs()


def _value(name: str) -> Any:
    return PLAIN if name == "plain_msgpack" else EVENT


def test_event_is_typical() -> None:
    assert 150 <= len(wire.to_msgpack(EVENT)) <= 250
    for name, (encode, decode) in CODECS.items():
        assert decode(encode(_value(name))) == _value(name), name


@pytest.mark.parametrize("name", list(CODECS))
def test_roundtrip(benchmark: Any, name: str) -> None:
    benchmark.group = "codec_roundtrip"
    encode, decode = CODECS[name]
    value = _value(name)
    benchmark.extra_info["encoded_bytes"] = len(encode(value))
    result = benchmark(lambda: decode(encode(value)))
    assert result == value


@pytest.mark.parametrize("name", list(CODECS))
def test_encode(benchmark: Any, name: str) -> None:
    benchmark.group = "codec_encode"
    encode, _ = CODECS[name]
    value = _value(name)
    benchmark(encode, value)


@pytest.mark.parametrize("name", list(CODECS))
def test_decode(benchmark: Any, name: str) -> None:
    benchmark.group = "codec_decode"
    encode, decode = CODECS[name]
    encoded = encode(_value(name))
    benchmark(decode, encoded)
