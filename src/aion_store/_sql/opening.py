"""What ``SqliteStore.open`` and ``PostgresStore.connect`` return, and their shared checks."""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar

from aion_store._fields import describe

__all__ = ["Opening", "check_timeout"]

S = TypeVar("S")


class Opening(Coroutine[Any, Any, S], Generic[S]):
    """A coroutine opening a store (``await`` it, or ``asyncio.run`` it) that is also an
    async context manager closing the store on exit (``async with ... as store``)."""

    __slots__ = ("_coroutine", "_store")

    def __init__(self, opening: Coroutine[Any, Any, S]) -> None:
        self._coroutine = opening
        self._store: S | None = None

    def send(self, value: Any) -> Any:
        return self._coroutine.send(value)

    def throw(self, *arguments: Any) -> Any:
        return self._coroutine.throw(*arguments)

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, None, S]:
        return self._coroutine.__await__()

    async def __aenter__(self) -> S:
        self._store = await self._coroutine
        return self._store

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()  # type: ignore[attr-defined]


def check_timeout(timeout: Any, name: str = "timeout") -> float:
    """A number of seconds >= 0 (``ValueError`` otherwise)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {describe(timeout)}")
    return float(timeout)
