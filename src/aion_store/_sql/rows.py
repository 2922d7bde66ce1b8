"""Model values as column values and back, shared by the SQL stores.

Every key orders in SQL exactly as the contract sorts in Python: a UUID id is its 16
big-endian bytes (byte order = order of the 128-bit int = order of ``str(id)``); a
timestamp is its microseconds since the Unix epoch; a timer id is ``str(timer_id)``,
whose UTF-8 bytes order as its code points; text compares bytewise (``BINARY`` in
SQLite, ``COLLATE "C"`` in PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from aion_store._fields import UTC
from aion_store.error import SerializationError
from aion_store.ids import RunId, TimerId, WorkflowId, _UuidId
from aion_store.status import WorkflowStatus

__all__ = [
    "STATUSES",
    "datetime_of",
    "id_bytes",
    "id_of",
    "micros_of",
    "optional_datetime",
    "optional_micros",
    "run_id_of",
    "status_code",
    "timer_id_of",
    "timer_key",
    "workflow_id_of",
]

_I = TypeVar("_I", bound=_UuidId)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Status codes as stored: the index of the member in ``WorkflowStatus`` (RUNNING is 0).
STATUSES: tuple[WorkflowStatus, ...] = tuple(WorkflowStatus)
_STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}

_NAMED = "timer:named:"
_ANONYMOUS = "timer:anonymous:"


def id_bytes(identifier: _UuidId) -> bytes:
    """The 16 big-endian bytes of a UUID id."""
    return identifier._int.to_bytes(16, "big")


def id_of(cls: type[_I], raw: bytes) -> _I:
    """The id of class ``cls`` stored as ``raw`` (16 bytes)."""
    if len(raw) != 16:
        raise SerializationError(f"stored {cls.__name__} is {len(raw)} bytes, not 16")
    return cls._from_int(int.from_bytes(raw, "big"))


def workflow_id_of(raw: bytes) -> WorkflowId:
    return id_of(WorkflowId, raw)


def run_id_of(raw: bytes) -> RunId:
    return id_of(RunId, raw)


def micros_of(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware UTC datetime."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def datetime_of(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def optional_micros(value: datetime | None) -> int | None:
    return None if value is None else micros_of(value)


def optional_datetime(micros: int | None) -> datetime | None:
    return None if micros is None else datetime_of(micros)


def status_code(status: WorkflowStatus) -> int:
    return _STATUS_CODES[status]


def timer_key(timer_id: TimerId) -> str:
    """The stored key of a timer id: its ``str()``, which the contract sorts by."""
    return str(timer_id)


def timer_id_of(key: str) -> TimerId:
    """The timer id whose ``str()`` is ``key``."""
    if key.startswith(_NAMED):
        return TimerId.named(key[len(_NAMED) :])
    if key.startswith(_ANONYMOUS):
        digits = key[len(_ANONYMOUS) :]
        if digits.isdigit() and digits.isascii():
            return TimerId.anonymous(int(digits))
    raise SerializationError(f"stored timer id {key!r} is neither named nor anonymous")
