"""History files for the command line: streaming readers and writers of the three forms.

- ``json``: a JSON array of events in the serde form (SPEC §11), serde's ``Vec<Event>``;
- ``jsonl``: JSON Lines, one event object per line;
- ``msgpack``: this package's form (docs/wire-format.md): the version byte, then one
  event array after another.

Readers never hold more than the event being decoded plus one read chunk: a JSON array
is read item by item with :meth:`json.JSONDecoder.raw_decode` over a chunked buffer,
JSON Lines line by line, msgpack with a ``msgpack.Unpacker`` fed in chunks. ``-`` is
stdin or stdout. Every problem is a :class:`CliError` whose message is one line naming
the file and the position (``history.json: event[17] (seq 18): expected seq 17``).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import msgpack

from aion_store._text import plural
from aion_store.error import SerializationError
from aion_store.events import Event
from aion_store.ids import WorkflowId
from aion_store.wire import _msgpack_py as _msgpack
from aion_store.wire._json import JSON_DECODER, event_from_obj, json_value_error, to_json

__all__ = [
    "FORMATS",
    "CliError",
    "Format",
    "HistoryReader",
    "HistoryWriter",
    "display_name",
    "format_for_output",
    "validated",
]

Format = Literal["json", "jsonl", "msgpack"]
FORMATS: tuple[Format, ...] = ("json", "jsonl", "msgpack")

#: File name suffixes and the form they name.
SUFFIXES: dict[str, Format] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".msgpack": "msgpack",
    ".mpk": "msgpack",
}

#: Bytes read from a file at a time.
CHUNK = 1 << 20
#: Events handed to the msgpack encoder at a time when writing.
WRITE_BATCH = 512

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WHITESPACE_BYTES = b" \t\n\r"


class CliError(Exception):
    """Bad input or a failed operation: the message is the one line printed on stderr."""


def display_name(path: str) -> str:
    """How messages name a file: as given, ``<stdin>``/``<stdout>`` for ``-``."""
    return "<stdin>" if path == "-" else path


def _suffix_format(path: str) -> Format | None:
    return SUFFIXES.get(Path(path).suffix.lower())


def format_for_output(path: str, to: str | None) -> Format:
    """The form to write ``path`` in: ``to`` when given, else from the suffix."""
    if to is not None:
        return _checked_format(to)
    if path == "-":
        return "json"
    found = _suffix_format(path)
    if found is None:
        raise CliError(
            f"{path}: cannot tell the output form from the file name; "
            "use a .json, .jsonl or .msgpack name, or pass --to json|jsonl|msgpack"
        )
    return found


def _checked_format(name: str) -> Format:
    for known in FORMATS:
        if name == known:
            return known
    raise CliError(f"unknown history form {name!r}; expected json, jsonl or msgpack")


# -- reading --------------------------------------------------------------------------------


class HistoryReader:
    """Iterate the events of one history file, streaming; use as a context manager.

    ``fmt`` forces the form; otherwise the suffix decides, and for stdin or an unknown
    suffix the first byte does (``[`` JSON, ``{`` JSON Lines, ``0x01`` msgpack).
    ``count`` is the number of events read so far.
    """

    def __init__(self, path: str, fmt: str | None = None) -> None:
        self.path = path
        self.name = display_name(path)
        self.count = 0
        self._stream: IO[bytes]
        self._close = False
        if path == "-":
            self._stream = sys.stdin.buffer
        else:
            try:
                self._stream = open(path, "rb")  # noqa: SIM115 (closed in close())
            except IsADirectoryError:
                raise CliError(f"{self.name}: is a directory, not a history file") from None
            except OSError as error:
                raise CliError(f"{self.name}: cannot read: {_os_reason(error)}") from None
            self._close = True
        try:
            # The first chunk, read ahead to sniff the form; the parsers start with it.
            self._head = self._read(CHUNK)
            self.format: Format
            if fmt is not None:
                self.format = _checked_format(fmt)
            else:
                found = _suffix_format(path) if path != "-" else None
                self.format = found if found is not None else self._sniff()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._close:
            self._close = False
            self._stream.close()

    def _read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as error:
            raise CliError(f"{self.name}: cannot read: {_os_reason(error)}") from None

    def _sniff(self) -> Format:
        text = self._head.lstrip(_WHITESPACE_BYTES)
        if text.startswith(b"\xef\xbb\xbf"):
            text = text[3:].lstrip(_WHITESPACE_BYTES)
        if not text or text[:1] == b"[":
            return "json"
        if text[:1] == b"{":
            return "jsonl"
        if text[:1] == _msgpack.MARKER:
            return "msgpack"
        raise CliError(
            f"{self.name}: cannot tell the form of this input (it starts with byte "
            f"0x{text[0]:02x}); pass --from json|jsonl|msgpack"
        )

    def _chunks(self) -> Iterator[bytes]:
        """The input in chunks, starting with the sniffed head."""
        head, self._head = self._head, b""
        if head:
            yield head
        while True:
            chunk = self._read(CHUNK)
            if not chunk:
                return
            yield chunk

    def __iter__(self) -> Iterator[Event]:
        if self.format == "json":
            return self._json_events()
        if self.format == "jsonl":
            return self._jsonl_events()
        return self._msgpack_events()

    # -- one event, from parsed JSON values --------------------------------------------

    def _decode(self, obj: Any, where: str = "") -> Event:
        index = self.count
        try:
            event = event_from_obj(obj, f"event[{index}]")
        except SerializationError as error:
            raise CliError(f"{self.name}: {where}{error.detail}") from None
        self.count = index + 1
        return event

    # -- a JSON array, item by item --------------------------------------------------------

    def _json_events(self) -> Iterator[Event]:
        text = _TextBuffer(self.name, self._chunks())
        pos = text.skip_whitespace(0)
        if text.at_end(pos):
            raise CliError(f"{self.name}: empty input, expected a JSON array of events")
        first = text.buf[pos]
        if first != "[":
            if first == "{":
                raise CliError(
                    f"{self.name}: {text.where(pos)}: expected a JSON array of events, got an "
                    "object (for JSON Lines name the file .jsonl or pass --from jsonl)"
                )
            raise CliError(
                f"{self.name}: {text.where(pos)}: expected a JSON array of events ('['), "
                f"got {first!r}"
            )
        pos = text.skip_whitespace(pos + 1)
        if text.at_end(pos):
            raise CliError(f"{self.name}: truncated input: the array of events is not closed")
        if text.buf[pos] == "]":
            self._expect_end(text, pos + 1)
            return
        while True:
            obj, pos = text.decode_value(pos, f"event[{self.count}]")
            yield self._decode(obj)
            pos = text.skip_whitespace(pos)
            pos = text.compact(pos)
            if text.at_end(pos):
                raise CliError(
                    f"{self.name}: truncated input: the array of events is not closed "
                    f"(after event[{self.count - 1}])"
                )
            mark = text.buf[pos]
            if mark == "]":
                self._expect_end(text, pos + 1)
                return
            if mark != ",":
                raise CliError(
                    f"{self.name}: after event[{self.count - 1}]: invalid JSON at "
                    f"{text.where(pos)}: expected ',' or ']'"
                )
            pos = text.skip_whitespace(pos + 1)

    def _expect_end(self, text: _TextBuffer, pos: int) -> None:
        pos = text.skip_whitespace(pos)
        if not text.at_end(pos):
            raise CliError(
                f"{self.name}: invalid JSON at {text.where(pos)}: extra data after the array"
            )

    # -- JSON Lines ----------------------------------------------------------------------------

    def _jsonl_events(self) -> Iterator[Event]:
        line_number = 0
        for raw in _lines(self._chunks()):
            line_number += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CliError(
                    f"{self.name}: line {line_number}: invalid UTF-8 at byte "
                    f"{error.start + 1} of the line ({error.reason})"
                ) from None
            if line_number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not line.strip():
                continue
            where = f"line {line_number}: "
            try:
                obj = JSON_DECODER.decode(line)
            except json.JSONDecodeError as error:
                truncated = not raw.endswith(b"\n") and error.pos >= len(line.rstrip())
                problem = "truncated input" if truncated else "invalid JSON"
                hint = ""
                if self.count == 0 and line.lstrip().startswith("["):
                    hint = " (a JSON array? name the file .json or pass --from json)"
                raise CliError(
                    f"{self.name}: {where}event[{self.count}]: {problem} at column "
                    f"{error.colno}: {error.msg}{hint}"
                ) from None
            except (ValueError, RecursionError) as error:
                raise CliError(
                    f"{self.name}: {where}event[{self.count}]: invalid JSON: {_value_error(error)}"
                ) from None
            yield self._decode(obj, where)

    # -- msgpack ---------------------------------------------------------------------------------

    def _msgpack_events(self) -> Iterator[Event]:
        """Frame the stream into whole msgpack objects, then decode each.

        A skipping unpacker finds where each object ends without building anything, so a
        header that claims more items or bytes than follow never makes it allocate; only
        a whole event's bytes are decoded. Bytes left at the end that are not a whole
        event are an error naming their offset, never dropped.
        """
        scanner = msgpack.Unpacker(max_buffer_size=0)
        pending = bytearray()  # fed to the scanner, not yet framed as a whole object
        start = 0  # offset in the input of pending[0]: where the next object begins
        chunks = self._chunks()
        version_read = False
        while True:
            what = f"event[{self.count}]" if version_read else "the format version marker"
            try:
                scanner.skip()
            except msgpack.OutOfData:
                chunk = next(chunks, b"")
                if chunk:
                    scanner.feed(chunk)
                    pending += chunk
                    continue
                if not pending and start == 0:
                    raise CliError(
                        f"{self.name}: empty input, expected the msgpack format version marker"
                    ) from None
                if pending:
                    raise CliError(
                        f"{self.name}: {what} (byte {start}): truncated input "
                        f"({plural(len(pending), 'byte')} of an incomplete "
                        f"{'event' if version_read else 'marker'} at the end)"
                    ) from None
                return
            except Exception as error:  # msgpack raises several kinds on bad data
                raise CliError(
                    f"{self.name}: {what} (byte {start}): invalid msgpack: {_value_error(error)}"
                ) from None
            end = scanner.tell()
            raw = bytes(pending[: end - start])
            del pending[: end - start]
            offset, start = start, end
            if not version_read:
                self._check_version(raw)
                version_read = True
                continue
            yield self._msgpack_event(raw, offset)

    def _check_version(self, raw: bytes) -> None:
        try:
            version = _unpack_whole(raw)
        except Exception as error:
            raise CliError(
                f"{self.name}: the format version marker (byte 0): invalid msgpack: "
                f"{_value_error(error)}"
            ) from None
        if type(version) is not int or version != _msgpack.FORMAT_VERSION:
            shown = (
                json.dumps(version) if isinstance(version, (int, str)) else type(version).__name__
            )
            hint = ""
            if version in (ord("["), ord("{")):
                hint = "; it looks like JSON: pass --from json or --from jsonl"
            raise CliError(
                f"{self.name}: byte 0: unsupported msgpack format version {shown} "
                f"(this package reads version {_msgpack.FORMAT_VERSION}){hint}"
            )

    def _msgpack_event(self, raw: bytes, offset: int) -> Event:
        """One whole event's bytes, decoded by the active codec (errors name its index)."""
        from aion_store.wire import from_msgpack

        path = f"event[{self.count}]"
        try:
            event: Event = from_msgpack(_msgpack.MARKER + raw, Event)
        except SerializationError as error:
            # Decode again where the error can name the event's index in the file.
            try:
                _msgpack._decode_event(_unpack_whole(raw), path)
            except SerializationError as named:
                raise CliError(f"{self.name}: {named.detail}") from None
            except Exception as invalid:
                raise CliError(
                    f"{self.name}: {path} (byte {offset}): invalid msgpack: {_value_error(invalid)}"
                ) from None
            raise CliError(f"{self.name}: {path} (byte {offset}): {error.detail}") from None
        self.count += 1
        return event


def _unpack_whole(raw: bytes) -> Any:
    """One msgpack object already framed as whole (so its headers cannot lie)."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=True, timestamp=3)


class _TextBuffer:
    """Decoded UTF-8 text of a chunked byte stream, for :meth:`json.JSONDecoder.raw_decode`.

    ``buf`` holds the unconsumed text; positions are indices into it. ``compact`` drops
    the consumed prefix and keeps line/column bookkeeping so errors name the position
    in the whole input.
    """

    def __init__(self, name: str, chunks: Iterator[bytes]) -> None:
        self.name = name
        self.chunks = chunks
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.eof = False
        self.bytes_read = 0
        self.first = True
        # Line (0-based) and column (0-based) of buf[0] in the whole input.
        self.line_base = 0
        self.column_base = 0

    def more(self, at_least: int = 0) -> bool:
        """Append more text (at least ``at_least`` characters when possible); False at EOF."""
        if self.eof:
            return False
        wanted = len(self.buf) + max(at_least, 1)
        while len(self.buf) < wanted:
            chunk = next(self.chunks, b"")
            final = not chunk
            pending = len(self.decoder.getstate()[0])
            try:
                text = self.decoder.decode(chunk, final)
            except UnicodeDecodeError as error:
                offset = self.bytes_read - pending + error.start
                raise CliError(
                    f"{self.name}: byte {max(offset, 0)}: invalid UTF-8 ({error.reason})"
                ) from None
            self.bytes_read += len(chunk)
            if self.first and text:
                self.first = False
                if text.startswith("\ufeff"):
                    text = text[1:]
            self.buf += text
            if final:
                self.eof = True
                break
        return True

    def at_end(self, pos: int) -> bool:
        """Whether ``pos`` is the end of the input (reading more text when it can)."""
        while pos >= len(self.buf):
            if not self.more():
                return True
        return False

    def skip_whitespace(self, pos: int) -> int:
        while True:
            end = _WHITESPACE.match(self.buf, pos).end()  # type: ignore[union-attr]
            if end < len(self.buf) or not self.more():
                return end
            pos = end

    def compact(self, pos: int) -> int:
        """Drop text before ``pos`` when that is most of the buffer; return the new ``pos``."""
        if pos < CHUNK or pos < len(self.buf) // 2:
            return pos
        dropped = self.buf[:pos]
        newlines = dropped.count("\n")
        if newlines:
            self.line_base += newlines
            self.column_base = pos - dropped.rfind("\n") - 1
        else:
            self.column_base += pos
        self.buf = self.buf[pos:]
        return 0

    def where(self, pos: int) -> str:
        """``line L column C`` (1-based) of a buffer position in the whole input."""
        newlines = self.buf.count("\n", 0, pos)
        if newlines:
            column = pos - self.buf.rfind("\n", 0, pos)
        else:
            column = self.column_base + pos + 1
        return f"line {self.line_base + newlines + 1} column {column}"

    def decode_value(self, pos: int, what: str) -> tuple[Any, int]:
        """One JSON value starting at ``pos``: ``(value, end)``, reading more as needed."""
        while True:
            try:
                value, end = JSON_DECODER.raw_decode(self.buf, pos)
            except json.JSONDecodeError as error:
                # Most likely the value goes on in the next chunk: read more (at least
                # as much again as is buffered, so a big value costs linear time).
                if self.more(len(self.buf) - pos):
                    continue
                truncated = error.pos >= len(self.buf.rstrip()) or error.msg.startswith(
                    "Unterminated string"
                )
                if truncated:
                    raise CliError(
                        f"{self.name}: {what}: truncated input (ends inside the event, "
                        f"at {self.where(len(self.buf))})"
                    ) from None
                raise CliError(
                    f"{self.name}: {what}: invalid JSON at {self.where(error.pos)}: {error.msg}"
                ) from None
            except (ValueError, RecursionError) as error:
                raise CliError(
                    f"{self.name}: {what}: invalid JSON at {self.where(pos)}: {_value_error(error)}"
                ) from None
            if end >= len(self.buf) and self.more():
                continue  # a bare number could go on in the next chunk
            return value, end


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a chunked byte stream into lines (each with its ``\\n`` except maybe the last)."""
    pending: list[bytes] = []  # the start of a line that goes on in the next chunk(s)
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if pending:
                pending.append(chunk[start : end + 1])
                yield b"".join(pending)
                pending = []
            else:
                yield chunk[start : end + 1]
            start = end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
    if pending:
        yield b"".join(pending)


def _value_error(error: BaseException) -> str:
    if isinstance(error, (ValueError, RecursionError)):
        return json_value_error(error)
    text = str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


# -- validation: one owner, contiguous seqs from 1 --------------------------------------------


def validated(events: Iterable[Event], name: str) -> Iterator[Event]:
    """Pass events through, checking them the way ``append`` checks a batch that
    creates a workflow: seqs 1, 2, 3, ... and every envelope naming the first event's
    workflow. The first problem is a :class:`CliError`."""
    owner: WorkflowId | None = None
    want = 1
    for index, event in enumerate(events):
        envelope = event.envelope
        if envelope.seq != want:
            raise CliError(f"{name}: event[{index}] (seq {envelope.seq}): expected seq {want}")
        if owner is None:
            owner = envelope.workflow_id
        elif envelope.workflow_id != owner:
            raise CliError(
                f"{name}: event[{index}] (seq {envelope.seq}): belongs to workflow "
                f"{envelope.workflow_id}, not {owner} (the owner of event[0])"
            )
        want += 1
        yield event


# -- writing ----------------------------------------------------------------------------------


class HistoryWriter:
    """Write events in one form to a file (atomically: a temporary file renamed into
    place by :meth:`commit`) or to stdout (``-``). Use as a context manager: leaving it
    without :meth:`commit` removes the temporary file."""

    def __init__(self, path: str, fmt: Format) -> None:
        self.path = path
        self.name = "<stdout>" if path == "-" else path
        self.format: Format = fmt
        self.count = 0
        self._pending: list[Event] = []
        self._temp: str | None = None
        self._stream: IO[bytes]
        if path == "-":
            if fmt == "msgpack" and sys.stdout.isatty():
                raise CliError(
                    "<stdout>: not writing binary msgpack to a terminal; "
                    "redirect the output or name a file"
                )
            self._stream = sys.stdout.buffer
        else:
            target = Path(path)
            if target.is_dir():
                raise CliError(f"{path}: is a directory")
            try:
                handle, temp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
                )
            except OSError as error:
                raise CliError(f"{path}: cannot write: {_os_reason(error)}") from None
            self._temp = temp
            self._stream = os.fdopen(handle, "wb")
        try:
            self._write(b"[" if fmt == "json" else _msgpack.MARKER if fmt == "msgpack" else b"")
        except BaseException:
            self.abort()
            raise

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.abort()

    def _write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self._stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise CliError(f"{self.name}: cannot write: {_os_reason(error)}") from None

    def write(self, event: Event) -> None:
        if self.format == "msgpack":
            self._pending.append(event)
            if len(self._pending) >= WRITE_BATCH:
                self._flush_pending()
        elif self.format == "json":
            self._write((b"," if self.count else b"") + to_json(event).encode("utf-8"))
        else:
            self._write(to_json(event).encode("utf-8") + b"\n")
        self.count += 1

    def _flush_pending(self) -> None:
        from aion_store.wire import to_msgpack

        if self._pending:
            # A history's msgpack form is the marker and the event arrays back to back.
            self._write(to_msgpack(self._pending)[1:])
            self._pending = []

    def commit(self) -> None:
        """Finish the document and move it into place."""
        self._flush_pending()
        if self.format == "json":
            self._write(b"]")
            if self._temp is None and sys.stdout.isatty():
                self._write(b"\n")
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise CliError(f"{self.name}: cannot write: {_os_reason(error)}") from None
        if self._temp is not None:
            self._stream.close()
            try:
                # mkstemp made the file private (0600): give it the usual permissions.
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self._temp, 0o666 & ~umask)
                os.replace(self._temp, self.path)
            except OSError as error:
                raise CliError(f"{self.path}: cannot write: {_os_reason(error)}") from None
            self._temp = None

    def abort(self) -> None:
        """Remove the temporary file if the document was not committed."""
        if self._temp is not None:
            self._stream.close()
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            self._temp = None
