"""Identifiers (SPEC §2): immutable, hashable, never equal across types."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn, TypeVar

from aion_store._fields import U64, check_str, describe, refuse_foreign_subclass, type_name

__all__ = ["ActivityId", "PackageVersion", "RunId", "ScheduleId", "TimerId", "WorkflowId"]

_U = TypeVar("_U", bound="_UuidId")


def _immutable(self: object, *_: object) -> NoReturn:
    raise AttributeError(f"{type(self).__name__} is immutable")


class _UuidId:
    """A UUID newtype. It keeps the 128-bit integer; ``.uuid`` builds the ``uuid.UUID``."""

    __slots__ = ("_int",)
    _int: int

    def __init__(self, value: uuid.UUID | str) -> None:
        if isinstance(value, uuid.UUID):
            number = value.int
        elif isinstance(value, str):
            try:
                number = uuid.UUID(value).int
            except ValueError:
                raise ValueError(
                    f"{type(self).__name__}: malformed UUID string {describe(value)}"
                ) from None
        else:
            raise TypeError(
                f"{type(self).__name__} takes a uuid.UUID or a UUID string, "
                f"got {describe(value)} ({type_name(value)})"
            )
        object.__setattr__(self, "_int", number)

    @classmethod
    def new_v4(cls: type[_U]) -> _U:
        """A fresh random (version 4) identifier."""
        return cls._from_int(uuid.uuid4().int)

    @classmethod
    def _from_int(cls: type[_U], number: int) -> _U:
        """Unchecked constructor for decoders that already hold a valid 128-bit int."""
        self = object.__new__(cls)
        object.__setattr__(self, "_int", number)
        return self

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._int)

    def __str__(self) -> str:
        h = f"{self._int:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._int == other._int
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._int != other._int
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._int)

    # The canonical string is fixed-width lowercase hex, so ordering the integers is
    # exactly ordering ``str()``, without building the strings.
    def __lt__(self, other: Any) -> bool:
        if type(other) is type(self):
            return self._int < other._int
        return NotImplemented

    def __le__(self, other: Any) -> bool:
        if type(other) is type(self):
            return self._int <= other._int
        return NotImplemented

    def __gt__(self, other: Any) -> bool:
        if type(other) is type(self):
            return self._int > other._int
        return NotImplemented

    def __ge__(self, other: Any) -> bool:
        if type(other) is type(self):
            return self._int >= other._int
        return NotImplemented

    def __reduce__(self) -> tuple[type[_UuidId], tuple[str]]:
        return (type(self), (str(self),))

    __setattr__ = _immutable
    __delattr__ = _immutable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)


class WorkflowId(_UuidId):
    """Identifies one workflow execution (and owns its history)."""

    __slots__ = ()


class RunId(_UuidId):
    """Identifies one run of a workflow (a continue-as-new starts a new run)."""

    __slots__ = ()


class ScheduleId(_UuidId):
    """Identifies a schedule."""

    __slots__ = ()


class ActivityId:
    """An activity's position in its run's command sequence; ``str()`` is ``activity:{n}``."""

    __slots__ = ("_position",)
    _position: int

    def __init__(self, sequence_position: int) -> None:
        object.__setattr__(
            self, "_position", U64.check(sequence_position, "ActivityId.sequence_position")
        )

    @classmethod
    def from_sequence_position(cls, position: int) -> ActivityId:
        return cls(position)

    @property
    def sequence_position(self) -> int:
        return self._position

    def __str__(self) -> str:
        return f"activity:{self._position}"

    def __repr__(self) -> str:
        return f"ActivityId.from_sequence_position({self._position})"

    def __eq__(self, other: object) -> bool:
        if type(other) is ActivityId:
            return self._position == other._position
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("activity", self._position))

    def __reduce__(self) -> tuple[type[ActivityId], tuple[int]]:
        return (ActivityId, (self._position,))

    __setattr__ = _immutable
    __delattr__ = _immutable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)


class TimerId:
    """A durable timer's id: named by the workflow or anonymous by sequence position."""

    __slots__ = ("_name", "_position")
    _name: str | None
    _position: int | None

    def __init__(self, *, name: str | None = None, sequence_position: int | None = None) -> None:
        if (name is None) == (sequence_position is None):
            raise TypeError("TimerId takes exactly one of name= or sequence_position=")
        if name is not None:
            name = check_str(name, "TimerId.name")
            if not name:
                raise ValueError("TimerId.name must not be empty")
        else:
            sequence_position = U64.check(sequence_position, "TimerId.sequence_position")
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_position", sequence_position)

    @classmethod
    def named(cls, name: str) -> TimerId:
        return cls(name=name)

    @classmethod
    def anonymous(cls, sequence_position: int) -> TimerId:
        return cls(sequence_position=sequence_position)

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def sequence_position(self) -> int | None:
        return self._position

    def __str__(self) -> str:
        if self._name is not None:
            return f"timer:named:{self._name}"
        return f"timer:anonymous:{self._position}"

    def __repr__(self) -> str:
        if self._name is not None:
            return f"TimerId.named({self._name!r})"
        return f"TimerId.anonymous({self._position})"

    def __eq__(self, other: object) -> bool:
        if type(other) is TimerId:
            return self._name == other._name and self._position == other._position
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._name, self._position))

    def __reduce__(self) -> tuple[Any, ...]:
        if self._name is not None:
            return (TimerId.named, (self._name,))
        return (TimerId.anonymous, (self._position,))

    __setattr__ = _immutable
    __delattr__ = _immutable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)


class PackageVersion:
    """A workflow package's content hash, kept exactly as given."""

    __slots__ = ("_text",)
    _text: str

    def __init__(self, text: str) -> None:
        object.__setattr__(self, "_text", check_str(text, "PackageVersion"))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"PackageVersion({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is PackageVersion:
            return self._text == other._text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("package", self._text))

    def __reduce__(self) -> tuple[type[PackageVersion], tuple[str]]:
        return (PackageVersion, (self._text,))

    __setattr__ = _immutable
    __delattr__ = _immutable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refuse_foreign_subclass(cls)
