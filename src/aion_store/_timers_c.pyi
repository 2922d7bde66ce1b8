"""Type stub of the compiled timer index (``_timers_c.pyx``; twin ``aion_store._timers_py``)."""

from datetime import datetime

from aion_store.ids import TimerId, WorkflowId
from aion_store.timers import TimerEntry

class TimerIndex:
    def __len__(self) -> int: ...
    def schedule(self, workflow_id: WorkflowId, timer_id: TimerId, fire_at: datetime) -> None: ...
    def due(self, as_of: datetime) -> list[TimerEntry]: ...
