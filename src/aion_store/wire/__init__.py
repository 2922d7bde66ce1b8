"""Wire forms (SPEC §11): serde-compatible JSON and the versioned msgpack form.

``to_json``/``from_json`` exchange values with the Rust engine; ``to_msgpack``/
``from_msgpack`` are the compact form the store keeps (see docs/wire-format.md). A list
of events is a history: pass ``list[Event]`` (or ``HISTORY``) as ``cls`` to read one.
The msgpack functions are the compiled codec's when ``aion_store.compiled`` is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aion_store.wire._common import HISTORY
from aion_store.wire._json import from_json, to_json
from aion_store.wire._msgpack_py import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "HISTORY", "from_json", "from_msgpack", "to_json", "to_msgpack"]

if TYPE_CHECKING:

    def to_msgpack(obj: Any) -> bytes:
        """Encode ``obj`` (a value, or a list of events as a history)."""

    def from_msgpack(data: bytes | bytearray | memoryview, cls: Any) -> Any:
        """Decode ``data`` as ``cls`` (``list[Event]`` for a history)."""


def __getattr__(name: str) -> Any:
    # Resolved on first use rather than at import: aion_store._select imports the
    # compiled codec, a module of this package, so this package cannot import it first.
    if name in ("to_msgpack", "from_msgpack"):
        from aion_store._select import codec

        value = getattr(codec, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aion_store.wire' has no attribute {name!r}")
