"""Deployed workflow packages and their routes (SPEC §10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from aion_store._fields import Record, check_str, describe

__all__ = ["PackageIndex", "PackageRecord", "PackageRouteRecord", "PackageStore"]


@dataclass(frozen=True, slots=True)
class PackageRecord(Record):
    """One deployed package archive of a workflow type."""

    workflow_type: str
    content_hash: str
    archive: bytes
    deployed_at: datetime


@dataclass(frozen=True, slots=True)
class PackageRouteRecord(Record):
    """Which package version new runs of a workflow type use."""

    workflow_type: str
    content_hash: str


@runtime_checkable
class PackageStore(Protocol):
    """Storage of package archives and the route of each workflow type."""

    async def put_package(self, record: PackageRecord) -> None:
        """Store the row keyed by ``(workflow_type, content_hash)`` and route the type to it."""

    async def list_packages(self) -> list[PackageRecord]:
        """Every row by ascending ``deployed_at``, ties by ``(workflow_type, content_hash)``."""

    async def delete_package(self, workflow_type: str, content_hash: str) -> None:
        """Remove that row only (absent is a no-op); routes are untouched."""

    async def put_package_route(self, workflow_type: str, content_hash: str) -> None:
        """Insert or replace the route of ``workflow_type``; archives are untouched."""

    async def list_package_routes(self) -> list[PackageRouteRecord]:
        """Every route, sorted by ``workflow_type``."""


def _package_order(record: PackageRecord) -> tuple[datetime, str, str]:
    return (record.deployed_at, record.workflow_type, record.content_hash)


class PackageIndex:
    """The in-memory package rows and routes ``InMemoryStore`` uses on both paths."""

    __slots__ = ("_packages", "_routes")

    def __init__(self) -> None:
        self._packages: dict[tuple[str, str], PackageRecord] = {}
        self._routes: dict[str, str] = {}

    def put_package(self, record: PackageRecord) -> None:
        if not isinstance(record, PackageRecord):
            raise TypeError(f"put_package takes a PackageRecord, got {describe(record)}")
        self._packages[(record.workflow_type, record.content_hash)] = record
        self._routes[record.workflow_type] = record.content_hash

    def list_packages(self) -> list[PackageRecord]:
        return sorted(self._packages.values(), key=_package_order)

    def delete_package(self, workflow_type: str, content_hash: str) -> None:
        key = (check_str(workflow_type, "workflow_type"), check_str(content_hash, "content_hash"))
        self._packages.pop(key, None)

    def put_package_route(self, workflow_type: str, content_hash: str) -> None:
        workflow_type = check_str(workflow_type, "workflow_type")
        self._routes[workflow_type] = check_str(content_hash, "content_hash")

    def list_package_routes(self) -> list[PackageRouteRecord]:
        return [
            PackageRouteRecord._trusted(workflow_type, self._routes[workflow_type])
            for workflow_type in sorted(self._routes)
        ]
