"""The decoded-event cache's knob, shared by ``InMemoryStore``, ``SqliteStore`` and
``PostgresStore``: a memory budget, and how a cached history's memory is estimated.

Decoded events take far more memory than their encoded bytes (measured on the standard
event mix: ~80-100 encoded bytes become 333-365 bytes of objects per event: the event,
its envelope, datetime, ints, strings and payload). A cached history is therefore
charged its encoded size plus :data:`DECODED_BYTES_PER_EVENT` per event, which tracks
both small events (fixed object overhead dominates) and large payloads (the bytes
dominate, copied once into a ``bytes`` object).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from aion_store._validate import check_seq
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus

__all__ = [
    "CLOSING_TAGS",
    "DECODED_BYTES_PER_EVENT",
    "DEFAULT_DECODED_CACHE_BYTES",
    "cache_budget",
    "decoded_cost",
]

#: Bytes charged per decoded event on top of its encoded size.
DECODED_BYTES_PER_EVENT = 280

#: The default budget, 128 MiB: a 100,000-event history of the standard mix takes ~36 MB.
DEFAULT_DECODED_CACHE_BYTES = 128 * 1024 * 1024

#: ``CLOSING_TAGS[event.TAG]``: whether the event closes its workflow (its decoded events
#: leave the cache: a closed workflow is rarely read again).
CLOSING_TAGS: tuple[bool, ...] = tuple(
    status is not None and status is not WorkflowStatus.RUNNING
    for status in LIFECYCLE_STATUS_BY_TAG
)

#: What one event counted for ``decoded_cache_events`` (deprecated) is converted to.
_BYTES_PER_COUNTED_EVENT = 360


def cache_budget(decoded_cache_bytes: object, decoded_cache_events: object = None) -> int:
    """The checked budget in bytes (any u64; past ``sys.maxsize`` means no limit).

    ``decoded_cache_events`` is the knob of version 0.1, still accepted with a
    ``DeprecationWarning`` (an event counts as 360 bytes, the standard mix's size); giving
    both is an error.
    """
    if decoded_cache_events is not None:
        if decoded_cache_bytes is not None:
            raise TypeError("give decoded_cache_bytes or decoded_cache_events, not both")
        warnings.warn(
            "decoded_cache_events is deprecated: the cache is bounded by memory now; "
            "use decoded_cache_bytes",
            DeprecationWarning,
            stacklevel=3,
        )
        events = check_seq(decoded_cache_events, "decoded_cache_events")
        return min(events * _BYTES_PER_COUNTED_EVENT, sys.maxsize)
    if decoded_cache_bytes is None:
        return DEFAULT_DECODED_CACHE_BYTES
    return min(check_seq(decoded_cache_bytes, "decoded_cache_bytes"), sys.maxsize)


def decoded_cost(bodies: Sequence[bytes]) -> int:
    """The estimated memory of the events decoded from ``bodies`` (their encoded forms)."""
    return sum(map(len, bodies)) + DECODED_BYTES_PER_EVENT * len(bodies)
