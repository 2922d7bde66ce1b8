"""Payloads and failures (SPEC §3)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from aion_store._fields import Record

__all__ = [
    "ActivityError",
    "ActivityErrorKind",
    "ContentType",
    "Payload",
    "PayloadError",
    "WorkflowError",
]


class PayloadError(ValueError):
    """A payload's bytes could not be read as its content type."""


class ContentType(enum.Enum):
    """How a payload's bytes are encoded."""

    JSON = "Json"


@dataclass(frozen=True, slots=True)
class Payload(Record):
    """Opaque bytes plus a content-type tag; not validated on construction."""

    content_type: ContentType
    data: bytes

    @classmethod
    def from_json(cls, value: Any) -> Payload:
        """Encode a JSON value compactly as UTF-8 (NaN and infinities are refused)."""
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise PayloadError(f"value is not JSON-encodable: {error}") from None
        return cls(ContentType.JSON, text.encode("utf-8"))

    def to_json(self) -> Any:
        """Decode the bytes as JSON; ``PayloadError`` when they are not valid JSON."""
        try:
            return json.loads(self.data, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise PayloadError(f"payload bytes are not valid JSON: {error}") from None


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON value")


@dataclass(frozen=True, slots=True)
class WorkflowError(Record):
    """Why a workflow (or a child workflow) failed."""

    message: str
    details: Payload | None = None

    @classmethod
    def from_activity_error(cls, error: ActivityError) -> WorkflowError:
        """Keep an activity failure's message and details."""
        if not isinstance(error, ActivityError):
            raise TypeError(f"expected an ActivityError, got {type(error).__name__}")
        return cls(error.message, error.details)


class ActivityErrorKind(enum.Enum):
    """Whether an activity failure may be retried."""

    RETRYABLE = "Retryable"
    TERMINAL = "Terminal"


@dataclass(frozen=True, slots=True)
class ActivityError(Record):
    """Why an activity attempt failed."""

    kind: ActivityErrorKind
    message: str
    details: Payload | None = None

    @property
    def is_retryable(self) -> bool:
        return self.kind is ActivityErrorKind.RETRYABLE
