"""Type stub of the compiled projections (``_projections_c.pyx``; twin
``aion_store._projections_py``). The compiled engine uses them through C; from Python only
the listings are reachable."""

from typing import Any

from aion_store.ids import WorkflowId
from aion_store.run_chain import RunSummary
from aion_store.status import WorkflowSummary

PROJECTED_TAGS: tuple[bool, ...]

class WorkflowProjection:
    workflow_id: WorkflowId
    def __init__(self, workflow_id: WorkflowId) -> None: ...

class Projections:
    def __init__(self) -> None: ...
    def run_chain(self, key: int) -> list[RunSummary]: ...
    def workflow_ids(self) -> list[WorkflowId]: ...
    def active_ids(self) -> list[WorkflowId]: ...
    def query(self, filter: Any) -> list[WorkflowSummary]: ...

def start_key(projection: WorkflowProjection) -> tuple[Any, int]: ...
