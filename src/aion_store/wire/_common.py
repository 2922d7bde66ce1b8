"""What both wire codecs share: which types they cover, root names, error wording."""

from __future__ import annotations

import json
import re
import typing
from typing import Any

from aion_store.error import SerializationError
from aion_store.events import Event
from aion_store.search import SearchAttributeValue

#: ``from_json(text, HISTORY)`` / ``from_msgpack(data, HISTORY)`` read a list of events.
HISTORY = list[Event]


def is_history(cls: Any) -> bool:
    """Whether ``cls`` asks for a list of events (``list[Event]`` or ``list``)."""
    return cls is list or (typing.get_origin(cls) is list and typing.get_args(cls) == (Event,))


def root_name(cls: Any) -> str:
    """The first part of error paths: ``Event`` -> ``event``, ``TimerEntry`` -> ``timer_entry``."""
    if is_history(cls):
        return "event"
    if cls is SearchAttributeValue:
        return "search_attribute_value"
    if isinstance(cls, type) and issubclass(cls, Event):
        return "event"
    name = getattr(cls, "__name__", None) or "search_attribute_value"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def show(value: Any) -> str:
    """A wire value as an error message shows it: JSON where possible, short, and always
    printable (a lone surrogate is written as its escape)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:
        return f"a deeply nested {type(value).__name__}"
    if len(text) > 60:
        text = text[:57] + "..."
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def malformed(path: str, problem: str) -> SerializationError:
    """``SerializationError('{path}: {problem}')``."""
    return SerializationError(f"{path}: {problem}")


def expected(path: str, what: str, value: Any) -> SerializationError:
    """``{path}: expected {what}, got {value}``."""
    return SerializationError(f"{path}: expected {what}, got {show(value)}")
