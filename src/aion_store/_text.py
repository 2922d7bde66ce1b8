"""Wording helpers shared by every message, so counts and articles read the same everywhere."""

from __future__ import annotations

__all__ = ["a", "plural"]

# Words whose leading vowel letter sounds like "you" or "one" and so takes "a".
_CONSONANT_SOUNDS = ("uu", "uni", "use", "one")


def plural(count: int, noun: str) -> str:
    """``1 byte``, ``2 bytes``, ``1,000 events`` (the nouns used here take a plain ``s``)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def a(noun: str) -> str:
    """The noun with its indefinite article: ``an int``, ``an EventStore``, ``a UUID``."""
    lowered = noun.lower()
    vowel = lowered[:1] in ("a", "e", "i", "o", "u") and not lowered.startswith(_CONSONANT_SOUNDS)
    return f"an {noun}" if vowel else f"a {noun}"
