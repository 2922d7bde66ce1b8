"""The checks every fuzz target asserts, shared by the atheris scripts and by pytest.

- :func:`check_msgpack` decodes the bytes as every msgpack wire type with the compiled
  (``aion_store.wire._msgpack_c``) and the pure (``aion_store.wire._msgpack_py``) decoder: only
  ``SerializationError`` may escape; both agree (accept with equal values of the same
  type and repr, or raise the same error type and message); an accepted value re-encodes
  (both encoders, byte-identical) to bytes that decode to an equal value.
- :func:`check_json` decodes the bytes (and the same text as ``str``) as every JSON wire
  type: only ``SerializationError``; an accepted value survives ``to_json``/``from_json``
  and ``to_msgpack``/``from_msgpack``.
- :func:`check_cli_reader` reads the bytes as a history file with ``HistoryReader``
  (sniffed and forced to each form): only ``CliError``; the reader accepts exactly when
  the library (``from_msgpack``/``from_json`` of the same bytes) accepts and yields the
  same events; bytes at the end that are not a whole event are a ``CliError`` naming a
  byte offset.

While ``tracemalloc`` is tracing, each decode must also stay within
``MEMORY_FACTOR * len(input) + MEMORY_SLACK`` bytes of peak allocation: a header that
claims more than the input holds must not make a decoder allocate for the claim.

The second half of the module reads msgpack structure (:func:`tokens`) and mutates it
(:func:`mutate`): the structure-aware mutator of the fuzz scripts and the differential
test (header lengths, integer widths, uint64 values >= 2**63, items added or removed).
"""

from __future__ import annotations

import atexit
import os
import random
import re
import shutil
import struct
import tempfile
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import msgpack

import aion_store.wire
from aion_store import (
    ActivityError,
    ActivityErrorKind,
    ActivityId,
    CatchUpPolicy,
    ContentType,
    Event,
    EventEnvelope,
    ListWorkflowsFilter,
    OverlapPolicy,
    PackageVersion,
    Payload,
    RunId,
    RunSummary,
    ScheduleConfig,
    ScheduleId,
    SearchAttributePredicate,
    SearchAttributeSchema,
    SearchAttributeType,
    SearchAttributeValue,
    SerializationError,
    TimerEntry,
    TimerId,
    TriggerSpec,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WithTimeoutOutcome,
    WorkflowError,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WorkflowSummary,
)
from aion_store.cli._io import CliError, HistoryReader
from aion_store.events import VARIANTS
from aion_store.wire import _msgpack_py as pure_codec
from aion_store.wire import from_json, to_json

core_codec: ModuleType | None
try:
    from aion_store.wire import _msgpack_c as core_codec
except ImportError:  # a pure-Python install: nothing to compare the pure decoder with
    core_codec = None

__all__ = [
    "HISTORY",
    "JSON_TYPES",
    "MEMORY_FACTOR",
    "MEMORY_SLACK",
    "MSGPACK_TYPES",
    "TARGETS",
    "Finding",
    "Token",
    "check_cli_reader",
    "check_json",
    "check_msgpack",
    "check_msgpack_as",
    "header",
    "int_encodings",
    "mutate",
    "tokens",
]

HISTORY = list[Event]

#: Every ``cls`` the msgpack and JSON forms cover (SPEC §11), a history first.
MSGPACK_TYPES: tuple[Any, ...] = (
    Event,
    HISTORY,
    EventEnvelope,
    WorkflowId,
    RunId,
    ScheduleId,
    ActivityId,
    TimerId,
    PackageVersion,
    Payload,
    ContentType,
    WorkflowError,
    ActivityError,
    ActivityErrorKind,
    WithTimeoutOutcome,
    SearchAttributeValue,
    SearchAttributeType,
    SearchAttributeSchema,
    TriggerSpec,
    OverlapPolicy,
    CatchUpPolicy,
    ScheduleConfig,
    WorkflowStatus,
    TimerEntry,
    WorkflowSummary,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WorkflowFilter,
    ListWorkflowsFilter,
    SearchAttributePredicate,
    RunSummary,
)
JSON_TYPES: tuple[Any, ...] = MSGPACK_TYPES

#: Peak allocation allowed per decode: this many bytes per input byte, plus the slack.
MEMORY_FACTOR = 256
MEMORY_SLACK = 1 << 20
#: The CLI reader reads 1 MiB chunks, so it gets that much more.
CLI_MEMORY_SLACK = 4 << 20

_BOM = b"\xef\xbb\xbf"


class Finding(AssertionError):
    """A broken contract: what the fuzzer reports as a crash and pytest as a failure."""


# -- outcomes ------------------------------------------------------------------------------

Outcome = tuple[bool, Any]  # (True, value) or (False, the exception)


def _name(cls: Any) -> str:
    return "list[Event]" if cls is HISTORY else getattr(cls, "__qualname__", repr(cls))


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _measured(call: Callable[[], Any], size: int, slack: int, what: str) -> Any:
    """``call()``, and a Finding if it allocated (at peak) more than the input warrants."""
    if not tracemalloc.is_tracing():
        return call()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        return call()
    finally:  # a rejected input counts too: that is where lying headers end up
        peak = tracemalloc.get_traced_memory()[1] - before
        if peak > MEMORY_FACTOR * size + slack:
            raise Finding(f"{what}: {size} bytes of input made it allocate {peak:,} bytes at peak")


def decode(
    decoder: Callable[[Any, Any], Any],
    data: Any,
    cls: Any,
    who: str,
    allowed: tuple[type[BaseException], ...] = (SerializationError,),
    slack: int = MEMORY_SLACK,
) -> Outcome:
    """Run one decode; an exception other than ``allowed`` is a Finding."""
    what = f"{who}(..., {_name(cls)})"
    try:
        return True, _measured(lambda: decoder(data, cls), len(data), slack, what)
    except allowed as error:
        return False, error
    except Finding:
        raise
    except Exception as error:  # MemoryError, RecursionError, KeyError, ... all break §11
        raise Finding(
            f"{what} raised {type(error).__name__}: {_short(str(error))} "
            f"(only {' or '.join(kind.__name__ for kind in allowed)} may escape)"
        ) from error


def same_value(left: Any, right: Any) -> bool:
    """Equal, of the same type, with the same repr (so -0.0 and 0.0 differ)."""
    return type(left) is type(right) and left == right and repr(left) == repr(right)


def agree(what: str, first: tuple[str, Outcome], second: tuple[str, Outcome]) -> None:
    """Two decoders' outcomes must match: equal values, or the same error and message."""
    (name_a, (ok_a, value_a)), (name_b, (ok_b, value_b)) = first, second
    if ok_a != ok_b:
        accepted, rejected = (name_a, value_a), (name_b, value_b)
        if ok_b:
            accepted, rejected = rejected, accepted
        raise Finding(
            f"{what}: {accepted[0]} accepts ({_short(accepted[1])}) but {rejected[0]} "
            f"rejects ({type(rejected[1]).__name__}: {_short(str(rejected[1]))})"
        )
    if ok_a and not same_value(value_a, value_b):
        raise Finding(
            f"{what}: {name_a} and {name_b} decode different values: "
            f"{_short(value_a)} != {_short(value_b)}"
        )
    if not ok_a and (type(value_a) is not type(value_b) or str(value_a) != str(value_b)):
        raise Finding(
            f"{what}: {name_a} and {name_b} fail differently: "
            f"{type(value_a).__name__}({str(value_a)!r}) vs "
            f"{type(value_b).__name__}({str(value_b)!r})"
        )


def _codecs() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [("pure", pure_codec)]
    if core_codec is not None:
        found.append(("compiled", core_codec))
    return found


# -- msgpack ---------------------------------------------------------------------------------


def check_msgpack(data: bytes, thorough: bool = True) -> None:
    """Decode ``data`` as every msgpack type; see the module docstring for the checks.

    ``thorough=False`` (the fuzz loop) is quicker: events and histories as before, other
    types only when the top-level object could be one and with the pure decoder alone
    (the compiled ``from_msgpack`` hands every other type to it unchanged)."""
    for cls in (Event, HISTORY):
        value = check_msgpack_as(data, cls)
        if cls is Event and value is not None:
            # The variant's own class must accept it too, and any other variant refuse it.
            variant = type(value)
            check_msgpack_as(data, variant)
            other = VARIANTS[(VARIANTS.index(variant) + 1) % len(VARIANTS)]
            if check_msgpack_as(data, other) is not None:
                raise Finding(f"from_msgpack(..., {other.__name__}) accepted a {variant.__name__}")
    others = MSGPACK_TYPES[2:] if thorough else _plausible_types(data)
    for cls in others:
        check_msgpack_as(data, cls, compare=thorough)


def check_msgpack_as(data: bytes, cls: Any, compare: bool = True) -> Any:
    """Decode with both decoders, compare, round-trip; the value, or None if rejected."""
    what = f"from_msgpack(..., {_name(cls)})"
    pure = decode(pure_codec.from_msgpack, data, cls, "pure from_msgpack")
    if compare and core_codec is not None:
        core = decode(core_codec.from_msgpack, data, cls, "compiled from_msgpack")
        agree(what, ("compiled", core), ("pure", pure))
    ok, value = pure
    if not ok:
        return None
    msgpack_round_trip(value, cls, what)
    return value


_RECORDS = (
    EventEnvelope,
    WorkflowError,
    ActivityError,
    ScheduleConfig,
    TimerEntry,
    WorkflowSummary,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WorkflowFilter,
    ListWorkflowsFilter,
    RunSummary,
    SearchAttributePredicate,
    TriggerSpec,
    SearchAttributeValue,
)
_ENUMS = (
    ContentType,
    ActivityErrorKind,
    WithTimeoutOutcome,
    SearchAttributeType,
    OverlapPolicy,
    CatchUpPolicy,
    WorkflowStatus,
)
#: The types whose msgpack form is each kind of top-level object (a superset).
_TYPES_BY_KIND: dict[str, tuple[Any, ...]] = {
    "array": _RECORDS,
    "int": (ActivityId, TimerId, *_ENUMS, SearchAttributeValue),
    "str": (TimerId, PackageVersion, TriggerSpec, SearchAttributeValue),
    "bin": (WorkflowId, RunId, ScheduleId, Payload),
    "map": (SearchAttributeSchema,),
}


def _plausible_types(data: bytes) -> tuple[Any, ...]:
    found = tokens(data, limit=2)  # the version marker, then the value's first token
    if len(found) < 2:
        return ()  # not even two objects: every type rejects it at the msgpack level
    return _TYPES_BY_KIND.get(found[1].kind, (SearchAttributeValue,))


def msgpack_round_trip(value: Any, cls: Any, what: str) -> None:
    """``value`` (accepted as ``cls``) re-encodes identically with both encoders, and the
    bytes decode to an equal value with both decoders."""
    encoded: list[tuple[str, bytes]] = []
    for name, codec in _codecs():
        try:
            encoded.append((name, codec.to_msgpack(value)))
        except Exception as error:
            raise Finding(
                f"{what}: the {name} encoder cannot encode the accepted value "
                f"{_short(value)}: {type(error).__name__}: {error}"
            ) from error
    if len({data for _, data in encoded}) != 1:
        raise Finding(
            f"{what}: the encoders disagree on {_short(value)}: "
            + ", ".join(f"{name} {data.hex()}" for name, data in encoded)
        )
    again_data = encoded[0][1]
    for name, codec in _codecs():
        ok, again = decode(codec.from_msgpack, again_data, cls, f"{name} from_msgpack")
        if not ok:
            raise Finding(
                f"{what}: the {name} decoder rejects the re-encoded {_short(value)} "
                f"({again_data.hex()}): {again}"
            )
        if not same_value(again, value):
            raise Finding(
                f"{what}: the re-encoded value decodes ({name}) to {_short(again)}, "
                f"not {_short(value)}"
            )


# -- JSON ------------------------------------------------------------------------------------


def check_json(data: bytes, thorough: bool = True) -> None:
    """Decode ``data`` as every JSON type; see the module docstring for the checks.

    ``thorough=False`` (the fuzz loop) decodes the ``str`` form only as an event and a
    history (the bytes form as every type)."""
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    for cls in JSON_TYPES:
        what = f"from_json(..., {_name(cls)})"
        as_bytes = decode(from_json, data, cls, "from_json(bytes)")
        if text is None:
            if as_bytes[0]:
                raise Finding(f"{what}: accepted bytes that are not UTF-8")
        elif thorough or cls in (Event, HISTORY):
            agree(what, ("bytes", as_bytes), ("str", decode(from_json, text, cls, "from_json")))
        ok, value = as_bytes
        if ok:
            _json_round_trip(value, cls, what)


def _json_round_trip(value: Any, cls: Any, what: str) -> None:
    try:
        text = to_json(value)
    except Exception as error:
        raise Finding(f"{what}: to_json cannot encode the accepted {_short(value)}") from error
    ok, again = decode(from_json, text, cls, "from_json")
    if not ok or not same_value(again, value):
        raise Finding(f"{what}: {_short(value)} -> to_json {text!r} -> {_short(again)}")
    if to_json(again) != text:
        raise Finding(f"{what}: to_json is not stable for {_short(value)}")
    # Every JSON value has a msgpack form too.
    msgpack_round_trip(value, cls, f"{what} then to_msgpack")


# -- the CLI's history reader ----------------------------------------------------------------

_scratch_dir: str | None = None


def _scratch() -> str:
    global _scratch_dir
    if _scratch_dir is None:
        _scratch_dir = tempfile.mkdtemp(prefix="aion-fuzz-")
        atexit.register(shutil.rmtree, _scratch_dir, True)
    return _scratch_dir


def check_cli_reader(data: bytes, thorough: bool = True) -> None:
    """Read ``data`` as a history file, sniffed and forced to each form; compare with the
    library (the engine ``aion_store.wire`` selected decodes msgpack). Always thorough:
    ``thorough`` is there so that every target takes the same arguments."""
    path = os.path.join(_scratch(), "history")  # no suffix: without --from the reader sniffs
    with open(path, "wb") as handle:
        handle.write(data)
    for fmt in (None, "json", "jsonl", "msgpack"):
        _check_reader(path, data, fmt)


def _read(path: str, fmt: str | None) -> tuple[str | None, Outcome]:
    used: str | None = None

    def read() -> list[Event]:
        nonlocal used
        with HistoryReader(path, fmt) as reader:
            used = reader.format
            return list(reader)

    size = os.path.getsize(path)
    what = f"HistoryReader(fmt={fmt!r})"
    try:
        events = _measured(read, size, CLI_MEMORY_SLACK, what)
        return used, (True, events)  # ``used`` is only known once ``read`` has run
    except CliError as error:
        return used, (False, error)
    except Finding:
        raise
    except Exception as error:
        raise Finding(
            f"{what} raised {type(error).__name__}: {_short(str(error))} (only CliError may escape)"
        ) from error


def _check_reader(path: str, data: bytes, fmt: str | None) -> None:
    used, (ok, result) = _read(path, fmt)
    what = f"HistoryReader(fmt={fmt!r}) reading {used or 'an unknown form'}"
    if ok and not all(type(event) in VARIANTS for event in result):
        raise Finding(f"{what}: yielded something that is not an event")
    if not ok and "\n" in str(result):
        raise Finding(f"{what}: the error is not one line: {str(result)!r}")
    if used is None:
        return  # the form could not be told (an unknown first byte): nothing to compare
    library_ok, library = _library_history(data, used)
    if ok != library_ok:
        raise Finding(
            f"{what}: the reader {'accepts' if ok else 'rejects'} "
            f"({_short(result if ok else str(result))}) but the library "
            f"{'accepts' if library_ok else 'rejects'} "
            f"({_short(library if library_ok else str(library))})"
        )
    if ok and not same_value(result, library):
        raise Finding(f"{what}: the reader yields {_short(result)}, the library {_short(library)}")
    if used == "msgpack" and not ok:
        _check_truncation_offset(data, str(result), what)


def _library_history(data: bytes, fmt: str) -> Outcome:
    """What the library makes of a history file's bytes (msgpack with the decoder
    ``aion_store.wire`` selected): compared by accept/reject and the events only."""
    if fmt == "msgpack":
        return decode(aion_store.wire.from_msgpack, data, HISTORY, "from_msgpack")
    if fmt == "json":
        body = data[len(_BOM) :] if data.startswith(_BOM) else data
        return decode(from_json, body, HISTORY, "from_json")
    return _library_jsonl(data)


def _library_jsonl(data: bytes) -> Outcome:
    """JSON Lines as the reader reads it: UTF-8 lines split at ``\\n``, a BOM allowed at
    the start, blank lines skipped, each other line one event."""
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return False, SerializationError(f"not UTF-8: {error}")
    events = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        ok, value = decode(from_json, line, Event, "from_json")
        if not ok:
            return False, value
        events.append(value)
    return True, events


def _check_truncation_offset(data: bytes, message: str, what: str) -> None:
    """When whole, valid events are followed by bytes that are not a whole object, the
    error names a byte offset at or after the start of those bytes."""
    whole = _whole_prefix(data)
    if whole is None or whole == 0 or whole == len(data):
        return
    before, _ = decode(aion_store.wire.from_msgpack, data[:whole], HISTORY, "from_msgpack")
    if not before:
        return  # an earlier event is already wrong: that error comes first
    offsets = [int(found) for found in re.findall(r"\bbyte (\d+)", message)]
    if not any(whole <= offset <= len(data) for offset in offsets):
        raise Finding(
            f"{what}: the last {len(data) - whole} bytes (from byte {whole}) are not a "
            f"whole event, but the error does not name that offset: {message!r}"
        )


def _whole_prefix(data: bytes) -> int | None:
    """Where the last whole top-level msgpack object ends, if the input is whole objects
    followed by an incomplete one (else None: some object is invalid, not truncated).
    msgpack's ``skip`` walks the objects without building (or allocating for) them."""
    walker = msgpack.Unpacker(max_buffer_size=0)
    walker.feed(data)
    position = 0
    while position < len(data):
        try:
            walker.skip()
        except msgpack.OutOfData:
            return position
        except Exception:  # invalid bytes, or a length beyond any input
            return None
        position = walker.tell()
    return position


# -- msgpack structure -----------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One msgpack object in a byte string."""

    offset: int  #: its first byte
    header: int  #: header bytes (an ext's type byte included)
    kind: str  #: int, nil, bool, float, str, bin, ext, array, map
    length: int  #: declared items (array), pairs (map), payload bytes (str, bin, ext)
    end: int  #: the end of the object and all it holds; -1 when the input ends first
    depth: int  #: 0 for a top-level object

    @property
    def is_container(self) -> bool:
        return self.kind in ("array", "map", "str", "bin", "ext")


_FIXED = {
    0xC0: ("nil", 0),
    0xC2: ("bool", 0),
    0xC3: ("bool", 0),
    0xCA: ("float", 4),
    0xCB: ("float", 8),
    0xCC: ("int", 1),
    0xCD: ("int", 2),
    0xCE: ("int", 4),
    0xCF: ("int", 8),
    0xD0: ("int", 1),
    0xD1: ("int", 2),
    0xD2: ("int", 4),
    0xD3: ("int", 8),
}
# head byte -> (kind, bytes of the length field, header bytes after it)
_SIZED = {
    0xC4: ("bin", 1, 0),
    0xC5: ("bin", 2, 0),
    0xC6: ("bin", 4, 0),
    0xC7: ("ext", 1, 1),
    0xC8: ("ext", 2, 1),
    0xC9: ("ext", 4, 1),
    0xD9: ("str", 1, 0),
    0xDA: ("str", 2, 0),
    0xDB: ("str", 4, 0),
    0xDC: ("array", 2, 0),
    0xDD: ("array", 4, 0),
    0xDE: ("map", 2, 0),
    0xDF: ("map", 4, 0),
}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def _head(data: bytes, position: int) -> tuple[str, int, int, int] | None:
    """``(kind, header bytes, payload bytes, child objects)`` of the object at
    ``position``; None at the end of the input or on the unused byte 0xc1."""
    if position >= len(data):
        return None
    byte = data[position]
    if byte < 0x80 or byte >= 0xE0:
        return "int", 1, 0, 0
    if byte < 0x90:
        return "map", 1, 0, 2 * (byte & 0x0F)
    if byte < 0xA0:
        return "array", 1, 0, byte & 0x0F
    if byte < 0xC0:
        return "str", 1, byte & 0x1F, 0
    if byte in _FIXED:
        kind, payload = _FIXED[byte]
        return kind, 1, payload, 0
    if byte in _FIXEXT:
        return "ext", 2, _FIXEXT[byte], 0
    if byte in _SIZED:
        kind, width, extra = _SIZED[byte]
        if position + 1 + width > len(data):
            return kind, 1 + width + extra, 0, 0  # the length itself is cut off
        length = int.from_bytes(data[position + 1 : position + 1 + width], "big")
        header = 1 + width + extra
        if kind == "array":
            return kind, header, 0, length
        if kind == "map":
            return kind, header, 0, 2 * length
        return kind, header, length, 0
    return None


def _declared(data: bytes, position: int) -> int:
    byte = data[position]
    if byte in _FIXEXT:
        return _FIXEXT[byte]
    head = _head(data, position)
    assert head is not None
    kind, _header, payload, children = head
    if kind == "array":
        return children
    if kind == "map":
        return children // 2
    return payload


def tokens(data: bytes, start: int = 0, limit: int = 50_000) -> list[Token]:
    """The objects of ``data`` from ``start`` in document order (top-level objects one
    after another), up to the first invalid or cut-off one."""
    found: list[list[int | str]] = []  # offset, header, kind, length, end, depth
    stack: list[list[int]] = []  # [index in found, children still to come]
    position = start
    while position < len(data) and len(found) < limit:
        head = _head(data, position)
        if head is None:
            break
        kind, header, payload, children = head
        body = position + header
        if body + payload > len(data):
            break
        index = len(found)
        found.append([position, header, kind, _declared(data, position), -1, len(stack)])
        if children:
            stack.append([index, children])
            position = body
            continue
        position = body + payload
        found[index][4] = position
        while stack:
            stack[-1][1] -= 1
            if stack[-1][1]:
                break
            found[stack.pop()[0]][4] = position
    return [Token(*item) for item in found]  # type: ignore[arg-type]


def children(found: list[Token], parent: Token) -> list[Token]:
    """The direct children of a whole container, in order."""
    return [
        token
        for token in found
        if token.depth == parent.depth + 1 and parent.offset < token.offset < parent.end
    ]


# -- encoding pieces -------------------------------------------------------------------------

#: Header codes of each container family: (fix form or None, 8-bit, 16-bit, 32-bit).
_CODES: dict[str, tuple[int | None, int | None, int, int]] = {
    "array": (0x90, None, 0xDC, 0xDD),
    "map": (0x80, None, 0xDE, 0xDF),
    "str": (0xA0, 0xD9, 0xDA, 0xDB),
    "bin": (None, 0xC4, 0xC5, 0xC6),
    "ext": (None, 0xC7, 0xC8, 0xC9),
}
_FIX_LIMIT = {"array": 16, "map": 16, "str": 32}


def header(kind: str, length: int, width: int | None = None, ext_type: int = 1) -> bytes:
    """A container header of ``kind`` declaring ``length``: the smallest form, or the
    form with a ``width``-byte length field (0 for the fix form)."""
    fix, code8, code16, code32 = _CODES[kind]
    if width is None:
        if fix is not None and length < _FIX_LIMIT[kind]:
            width = 0
        elif code8 is not None and length < 0x100:
            width = 1
        else:
            width = 2 if length < 0x10000 else 4
    tail = bytes([ext_type & 0xFF]) if kind == "ext" else b""
    if width == 0:
        assert fix is not None and length < _FIX_LIMIT[kind]
        return bytes([fix | length])
    code = {1: code8, 2: code16, 4: code32}[width]
    assert code is not None
    return bytes([code]) + (length % (1 << (8 * width))).to_bytes(width, "big") + tail


def int_encodings(value: int) -> list[bytes]:
    """Every msgpack encoding of ``value`` (canonical first)."""
    found: list[bytes] = []
    if 0 <= value < 0x80:
        found.append(bytes([value]))
    if -32 <= value < 0:
        found.append(struct.pack(">b", value))
    for code, fmt, low, high in (
        (0xCC, ">B", 0, 0xFF),
        (0xCD, ">H", 0, 0xFFFF),
        (0xCE, ">I", 0, 0xFFFFFFFF),
        (0xCF, ">Q", 0, 0xFFFFFFFFFFFFFFFF),
        (0xD0, ">b", -0x80, 0x7F),
        (0xD1, ">h", -0x8000, 0x7FFF),
        (0xD2, ">i", -(2**31), 2**31 - 1),
        (0xD3, ">q", -(2**63), 2**63 - 1),
    ):
        if low <= value <= high:
            found.append(bytes([code]) + struct.pack(fmt, value))
    return found


def _packb(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True, unicode_errors="surrogatepass")  # type: ignore[no-any-return]


def _int_value(data: bytes, token: Token) -> int:
    value: int = msgpack.unpackb(data[token.offset : token.end])
    return value


# -- mutation --------------------------------------------------------------------------------

#: Lengths a rewritten header may declare (besides ones near the true length).
LYING_LENGTHS = (0xFF, 0xFFFF, 2**16, 2**20, 2**27, 2**31 - 1, 2**31, 2**32 - 1)
#: Integers a rewritten integer may become.
INTERESTING_INTS = (
    0,
    1,
    -1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0xFFFF,
    0x10000,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53,
    2**62,
    2**63 - 1,
    2**63,
    2**63 + 1,
    2**64 - 1,
    -(2**31),
    -(2**63),
    86_400 * 10**9,
    999_999,
    1_000_000,
    253_402_300_800_000_000,
    -62_135_596_800_000_001,
)
_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC3)
_INTERESTING_BYTES += (0xC4, 0xC7, 0xCB, 0xCF, 0xD3, 0xD6, 0xD7, 0xD9, 0xDD, 0xDF, 0xE0, 0xFF)


def _interesting_values(rng: random.Random) -> bytes:
    choice = rng.randrange(16)
    if choice == 0:
        return b"\xc0"
    if choice == 1:
        return rng.choice([b"\xc2", b"\xc3"])
    if choice == 2:
        return rng.choice([b"\xa0", b"\xc4\x00", b"\x90", b"\x80", b"\xd4\x01\x00"])
    if choice == 3:
        return rng.choice(int_encodings(rng.choice(INTERESTING_INTS)))
    if choice == 4:
        number = rng.choice([0.0, -0.0, 1.5, float("nan"), float("inf"), -float("inf"), 1e308])
        return b"\xcb" + struct.pack(">d", number)
    if choice == 5:
        return b"\xca" + struct.pack(">f", rng.choice([0.0, 1.5, float("nan")]))
    if choice == 6:  # timestamps: 32, 64 and 96-bit, in and out of range
        seconds = rng.choice([0, 1, 2**32 - 1, 2**34 - 1, 253_402_300_800, -62_135_596_801])
        nanos = rng.choice([0, 1, 999_999_999, 1_000_000_000])
        if nanos >= 10**9:
            return b"\xc7\x0c\xff" + struct.pack(">Iq", nanos, seconds)
        return _packb(msgpack.Timestamp(seconds, nanos))
    if choice == 7:
        size = rng.choice([0, 1, 4, 8, 12, 16])
        return header("ext", size, rng.choice([1, 2, 4]), ext_type=rng.randrange(256)) + bytes(size)
    if choice == 8:
        return _packb("x" * rng.choice([1, 31, 32, 255, 256]))
    if choice == 9:
        return _packb(bytes(rng.choice([15, 16, 17])))
    if choice == 10:
        return _packb(rng.choice(["\ud800", "a\x00b", "é"]))
    if choice == 11:
        return b"\xa2\xc3\x28"  # invalid UTF-8
    if choice == 12:
        return _packb([rng.choice(INTERESTING_INTS) % 2**64, rng.randrange(2_000_000)])
    if choice == 13:
        return _packb({"k": rng.choice(["v", 1, 1.5, True, ["a", "b"]])})
    if choice == 14:
        return _packb([rng.randrange(40)])
    return bytes([rng.choice(_INTERESTING_BYTES)])


def _flip_bit(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    if not data:
        return None
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1 :]


def _set_byte(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    if not data:
        return None
    index = rng.randrange(len(data))
    value = rng.choice(_INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
    return data[:index] + bytes([value]) + data[index + 1 :]


def _insert(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    index = rng.randrange(len(data) + 1)
    if rng.random() < 0.5:
        piece = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    else:
        piece = _interesting_values(rng)
    return data[:index] + piece + data[index:]


def _delete(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    if len(data) < 2:
        return None
    start = rng.randrange(len(data))
    stop = min(len(data), start + rng.choice([1, 1, 2, 4, 8, 16, 64]))
    return data[:start] + data[stop:]


def _truncate(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    if len(data) < 2:
        return None
    if found and rng.random() < 0.5:  # just inside or just after an object
        token = rng.choice(found)
        cut = token.offset + rng.choice([0, 1, token.header, token.header + 1])
        return data[: min(cut, len(data) - 1)]
    return data[: rng.randrange(len(data))]


def _duplicate(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    whole = [token for token in found if token.end > 0]
    if whole and rng.random() < 0.7:
        token = rng.choice(whole)
        piece = data[token.offset : token.end]
    elif data:
        start = rng.randrange(len(data))
        piece = data[start : start + rng.randint(1, 32)]
    else:
        return None
    index = rng.randrange(len(data) + 1)
    return data[:index] + piece + data[index:]


def _rewrite_header(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    candidates = [token for token in found if token.is_container]
    if not candidates:
        return None
    token = rng.choice(candidates)
    kind = token.kind
    roll = rng.random()
    if roll < 0.2:  # a header of another family
        kind = rng.choice([other for other in _CODES if other != token.kind])
    choice = rng.random()
    if choice < 0.35:
        length = rng.choice(LYING_LENGTHS)
    elif choice < 0.7:
        length = max(0, token.length + rng.choice([-2, -1, 1, 2, 16]))
    else:
        length = token.length  # the same length, maybe in a wider (non-canonical) form
    widths = [
        width
        for width, code in zip((0, 1, 2, 4), _CODES[kind])
        if code is not None and length < (1 << (8 * width) if width else _FIX_LIMIT.get(kind, 0))
    ]
    if not widths:
        widths = [4]
        length %= 1 << 32
    ext_type = 1
    if token.kind == "ext" and token.header >= 2:
        ext_type = data[token.offset + token.header - 1]
        ext_type = rng.choice([ext_type, ext_type, 0xFF, 0, 1])
    new = header(kind, length, rng.choice(widths), ext_type=ext_type)
    return data[: token.offset] + new + data[token.offset + token.header :]


def _rewrite_int(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    ints = [token for token in found if token.kind == "int" and token.end > 0]
    if not ints:
        return None
    token = rng.choice(ints)
    value = _int_value(data, token)
    roll = rng.random()
    if roll < 0.3:  # the same value in another width (a valid, non-canonical form)
        piece = rng.choice(int_encodings(value))
    elif roll < 0.55:  # a uint64 at or above 2**63 where an integer is expected
        big = rng.choice([2**63, 2**63 + 1, 2**64 - 1, rng.randrange(2**63, 2**64)])
        piece = b"\xcf" + big.to_bytes(8, "big")
    elif roll < 0.85:
        new = rng.choice((*INTERESTING_INTS, value + 1, value - 1, -value))
        piece = rng.choice(int_encodings(new)) if -(2**63) <= new < 2**64 else b"\xc0"
    else:  # the same number as a float
        piece = b"\xcb" + struct.pack(">d", float(value))
    return data[: token.offset] + piece + data[token.end :]


def _replace_object(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    whole = [token for token in found if token.end > 0]
    if not whole:
        return None
    token = rng.choice(whole)
    if rng.random() < 0.4 and len(whole) > 1:  # another object of the same document
        other = rng.choice(whole)
        piece = data[other.offset : other.end]
    else:
        piece = _interesting_values(rng)
    return data[: token.offset] + piece + data[token.end :]


def _resize_container(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    """Add or remove one item of an array (or pair of a map), fixing the header: the
    msgpack stays valid and the decoders see a missing or extra field."""
    containers = [t for t in found if t.kind in ("array", "map") and t.end > 0]
    if not containers:
        return None
    token = rng.choice(containers)
    items = children(found, token)
    step = 2 if token.kind == "map" else 1
    if items and rng.random() < 0.5:
        index = rng.randrange(0, len(items), step)
        first, last = items[index], items[index + step - 1]
        body = data[token.offset + token.header : first.offset] + data[last.end : token.end]
        length = token.length - 1
    else:
        index = rng.randrange(0, len(items) + 1, step) if items else 0
        at = items[index].offset if index < len(items) else token.end
        extra = _interesting_values(rng)
        if step == 2:
            extra = _packb(rng.choice(["k", "", "i"])) + extra
        body = data[token.offset + token.header : at] + extra + data[at : token.end]
        length = token.length + 1
    new = header(token.kind, length)
    return data[: token.offset] + new + body + data[token.end :]


def _swap(data: bytes, rng: random.Random, found: list[Token]) -> bytes | None:
    containers = [t for t in found if t.kind == "array" and t.end > 0 and t.length >= 2]
    if not containers:
        return None
    items = children(found, rng.choice(containers))
    if len(items) < 2:
        return None
    first, second = sorted(rng.sample(items, 2), key=lambda token: token.offset)
    return (
        data[: first.offset]
        + data[second.offset : second.end]
        + data[first.end : second.offset]
        + data[first.offset : first.end]
        + data[second.end :]
    )


_MUTATIONS: tuple[tuple[Callable[[bytes, random.Random, list[Token]], bytes | None], int], ...] = (
    (_flip_bit, 3),
    (_set_byte, 3),
    (_insert, 2),
    (_delete, 2),
    (_truncate, 2),
    (_duplicate, 1),
    (_rewrite_header, 5),
    (_rewrite_int, 5),
    (_replace_object, 4),
    (_resize_container, 4),
    (_swap, 1),
)
_OPERATIONS = [operation for operation, weight in _MUTATIONS for _ in range(weight)]


def mutate(data: bytes, rng: random.Random, rounds: int = 1, max_size: int | None = None) -> bytes:
    """``data`` with ``rounds`` random mutations, most of them aware of msgpack structure."""
    for _ in range(rounds):
        found = tokens(data)
        for _attempt in range(8):
            changed = rng.choice(_OPERATIONS)(data, rng, found)
            if changed is not None and changed != data:
                data = changed
                break
    if max_size is not None and len(data) > max_size:
        data = data[:max_size]
    return data


# -- the targets, by name --------------------------------------------------------------------

TARGETS: dict[str, Callable[[bytes], None]] = {
    "msgpack": check_msgpack,
    "json": check_json,
    "cli_reader": check_cli_reader,
}


def check_all(data: bytes, names: Iterable[str] = TARGETS) -> None:
    """Every target's check on ``data`` (the regression tests replay files this way)."""
    for name in names:
        TARGETS[name](data)


# -- running under atheris -------------------------------------------------------------------


def limit_address_space(extra: int = 2 << 30) -> None:
    """Cap this process's address space at its current size plus ``extra`` bytes, so an
    allocation for a lying header fails as a MemoryError (a finding) instead of
    exhausting the machine."""
    import resource

    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def fuzz(atheris: Any, check: Callable[..., None], structured: bool) -> None:
    """Run ``check`` under atheris (libFuzzer options come from ``sys.argv``); with
    ``structured``, half the mutations are :func:`mutate`'s msgpack-aware ones."""
    import sys

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.5:
            return atheris.Mutate(data, max_size)  # type: ignore[no-any-return]
        return mutate(data, rng, rounds=rng.randint(1, 3), max_size=max_size)

    def quick(data: bytes) -> None:
        check(data, thorough=False)

    if os.environ.get("AION_FUZZ_MEMORY_CHECK", "1") != "0":
        tracemalloc.start()
    if sys.platform == "linux":
        limit_address_space()
    atheris.Setup(sys.argv, quick, custom_mutator=mutator if structured else None)
    atheris.Fuzz()
