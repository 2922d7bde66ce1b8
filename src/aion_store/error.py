"""The closed store error taxonomy (SPEC §7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from aion_store.ids import WorkflowId

__all__ = ["BackendError", "NotFound", "SequenceConflict", "SerializationError", "StoreError"]


class StoreError(Exception):
    """Base of every error a store raises for a contract reason."""

    SequenceConflict: ClassVar[type[SequenceConflict]]
    NotFound: ClassVar[type[NotFound]]
    BackendError: ClassVar[type[BackendError]]
    SerializationError: ClassVar[type[SerializationError]]


class SequenceConflict(StoreError):
    """An append's ``expected_seq`` did not match the workflow head; nothing was written.

    ``args`` is ``(expected, found)`` and the message is built when shown: a stale writer
    that retries pays for neither a format nor an ``__init__`` (the compiled engine
    raises it without calling one).
    """

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(expected, found)

    @property
    def expected(self) -> int:
        """The head the append expected."""
        return self.args[0]  # type: ignore[no-any-return]

    @property
    def found(self) -> int:
        """The head the workflow had."""
        return self.args[1]  # type: ignore[no-any-return]

    def __str__(self) -> str:
        return (
            "sequence conflict (double-writer bug indicator): "
            f"expected workflow head {self.expected}, found {self.found}"
        )


class NotFound(StoreError):
    """A must-exist operation named an unknown workflow (reads never raise it)."""

    def __init__(self, workflow_id: WorkflowId) -> None:
        self.workflow_id = workflow_id
        super().__init__(f"workflow {workflow_id} was not found")

    def __reduce__(self) -> tuple[type[NotFound], tuple[WorkflowId]]:
        return (type(self), (self.workflow_id,))


class BackendError(StoreError):
    """The backend refused or failed an operation; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"store backend error: {detail}")

    def __reduce__(self) -> tuple[type[BackendError], tuple[str]]:
        return (type(self), (self.detail,))


class SerializationError(StoreError):
    """Bytes or text could not be decoded (or a value encoded); ``detail`` says what and where."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"store serialization error: {detail}")

    def __reduce__(self) -> tuple[type[SerializationError], tuple[str]]:
        return (type(self), (self.detail,))


StoreError.SequenceConflict = SequenceConflict
StoreError.NotFound = NotFound
StoreError.BackendError = BackendError
StoreError.SerializationError = SerializationError
