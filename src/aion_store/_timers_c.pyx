# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled durable-timer index: twin of ``aion_store._timers_py.TimerIndex``.

Every timer lives in a slot of a table (its fire time in microseconds and its workflow's
128-bit id as C integers, its ``TimerEntry`` as an object); a slot is found through a
dict keyed by builtins (the workflow's integer, the timer's name and position), which
hash and compare in C. Timers not yet due wait in a
binary min-heap of ``(fire_at, slot, generation)`` items; a poll moves those that became
due, in order, to the end of a sorted array of due slots, so a poll costs O(result +
moved x log T) and hands out ``TimerEntry`` objects made once per schedule. Due timers
stay due (the contract never removes a returned timer). Rescheduling a pending timer
bumps its slot's generation, leaving a stale heap item skipped when it surfaces.

Order: ``(fire_at, workflow id, str(timer_id))``, the contract's; the first two compare
as C integers (a workflow id's 128-bit int orders as its canonical string), the timer
ids' strings only on a tie of both.

Like the pure twin, ``schedule`` and ``due`` check their arguments (C type checks, and
the shared checks of ``aion_store._validate`` for anything else, which raise the one
canonical error or convert a non-UTC time) and hold the index's own lock.
"""

from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memmove

from cpython.datetime cimport datetime_fold, datetime_tzinfo, import_datetime
from cpython.long cimport PyLong_AsUnsignedLongLong, PyLong_AsUnsignedLongLongMask
from cpython.pythread cimport PyThread_type_lock

from aion_store._dates cimport micros_of_datetime
from aion_store._lock cimport lock_acquire, lock_free, lock_init, lock_release
from aion_store._slots cimport get_slot, new_instance, set_slot, slot_offset

from datetime import datetime

from aion_store._fields import UTC
from aion_store._validate import check_time, check_timer_id, check_workflow_id
from aion_store.ids import TimerId, WorkflowId, _UuidId
from aion_store.timers import TimerEntry

import_datetime()

cdef Py_ssize_t OFF_UUID_INT = slot_offset(_UuidId, "_int")
cdef Py_ssize_t OFF_TIMER_NAME = slot_offset(TimerId, "_name")
cdef Py_ssize_t OFF_TIMER_POSITION = slot_offset(TimerId, "_position")
cdef Py_ssize_t OFF_ENTRY_WORKFLOW = slot_offset(TimerEntry, "workflow_id")
cdef Py_ssize_t OFF_ENTRY_TIMER = slot_offset(TimerEntry, "timer_id")
cdef Py_ssize_t OFF_ENTRY_FIRE_AT = slot_offset(TimerEntry, "fire_at")
cdef type TIMER_ENTRY = TimerEntry
cdef type WORKFLOW_ID = WorkflowId
cdef type TIMER_ID = TimerId
cdef type DATETIME = datetime
cdef object SHIFT_64 = 64
cdef object TIME_UTC = UTC


cdef inline object checked_time(object value, str name):
    """``value`` if it is a UTC ``datetime`` already, else the shared check's result."""
    if type(value) is DATETIME and datetime_tzinfo(value) is TIME_UTC and not datetime_fold(value):
        return value
    return check_time(value, name)


cdef struct Slot:
    int64_t fire_at
    uint64_t high
    uint64_t low
    uint32_t generation
    bint due


cdef struct Item:
    int64_t fire_at
    Py_ssize_t slot
    uint32_t generation


cdef class TimerIndex:
    """Timers keyed by ``(workflow_id, timer_id)``, answering "what is due" cheaply."""

    cdef Slot* slots
    cdef Py_ssize_t slot_count
    cdef Py_ssize_t slot_capacity
    cdef list entries  # slot -> TimerEntry
    cdef list timer_ids  # slot -> TimerId
    cdef dict index  # (workflow_id, timer_id) -> slot
    cdef Item* heap
    cdef Py_ssize_t heap_size
    cdef Py_ssize_t heap_capacity
    cdef Py_ssize_t stale
    cdef Py_ssize_t* due_slots
    cdef Py_ssize_t due_size
    cdef Py_ssize_t due_capacity
    cdef PyThread_type_lock lock
    cdef bint has_watermark
    cdef int64_t watermark

    def __cinit__(self):
        self.entries = []
        self.timer_ids = []
        self.index = {}
        lock_init(&self.lock)

    def __dealloc__(self):
        lock_free(self.lock)
        PyMem_Free(self.slots)
        PyMem_Free(self.heap)
        PyMem_Free(self.due_slots)

    def __len__(self):
        return self.slot_count

    # -- ordering ------------------------------------------------------------------------

    cdef inline bint before(self, int64_t fire_at, Py_ssize_t a, Py_ssize_t b):
        """Whether slot ``a`` (at ``fire_at``) orders before slot ``b`` at its own time."""
        cdef Slot* x = &self.slots[a]
        cdef Slot* y = &self.slots[b]
        if fire_at != y.fire_at:
            return fire_at < y.fire_at
        if x.high != y.high:
            return x.high < y.high
        if x.low != y.low:
            return x.low < y.low
        return str(self.timer_ids[a]) < str(self.timer_ids[b])

    cdef inline bint item_before(self, Item* a, Item* b):
        if a.fire_at != b.fire_at:
            return a.fire_at < b.fire_at
        if a.slot == b.slot:
            return a.generation < b.generation
        return self.before(a.fire_at, a.slot, b.slot)

    # -- growing arrays --------------------------------------------------------------------

    cdef int grow(self, void** array, Py_ssize_t* capacity, Py_ssize_t needed, size_t size) except -1:
        cdef Py_ssize_t wanted
        cdef void* grown
        if needed <= capacity[0]:
            return 0
        wanted = capacity[0] + capacity[0] // 2 + 16
        if wanted < needed:
            wanted = needed
        grown = PyMem_Realloc(array[0], wanted * size)
        if grown == NULL:
            raise MemoryError()
        array[0] = grown
        capacity[0] = wanted
        return 0

    # -- the heap of pending timers ----------------------------------------------------------

    cdef int push(self, Py_ssize_t slot) except -1:
        cdef Py_ssize_t position, parent
        cdef Item item
        self.grow(<void**>&self.heap, &self.heap_capacity, self.heap_size + 1, sizeof(Item))
        item.fire_at = self.slots[slot].fire_at
        item.slot = slot
        item.generation = self.slots[slot].generation
        position = self.heap_size
        self.heap_size += 1
        while position > 0:
            parent = (position - 1) // 2
            if not self.item_before(&item, &self.heap[parent]):
                break
            self.heap[position] = self.heap[parent]
            position = parent
        self.heap[position] = item
        return 0

    cdef Item pop(self):
        cdef Item top = self.heap[0]
        cdef Item last
        cdef Py_ssize_t position = 0, child
        self.heap_size -= 1
        if self.heap_size:
            last = self.heap[self.heap_size]
            while True:
                child = 2 * position + 1
                if child >= self.heap_size:
                    break
                if child + 1 < self.heap_size and self.item_before(
                    &self.heap[child + 1], &self.heap[child]
                ):
                    child += 1
                if not self.item_before(&self.heap[child], &last):
                    break
                self.heap[position] = self.heap[child]
                position = child
            self.heap[position] = last
        return top

    cdef void compact(self):
        """Drop the stale items and rebuild the heap (when they are half of it)."""
        cdef Py_ssize_t kept = 0, i
        cdef Item item
        for i in range(self.heap_size):
            item = self.heap[i]
            if (
                not self.slots[item.slot].due
                and self.slots[item.slot].generation == item.generation
            ):
                self.heap[kept] = item
                kept += 1
        self.heap_size = 0
        for i in range(kept):
            item = self.heap[i]
            self.push(item.slot)
        self.stale = 0

    # -- the sorted array of due timers --------------------------------------------------------

    cdef Py_ssize_t due_position(self, Py_ssize_t slot):
        """Where ``slot`` goes (or is) in the due array: the first due slot after it."""
        cdef Py_ssize_t low = 0, high = self.due_size, middle
        while low < high:
            middle = (low + high) // 2
            if self.before(self.slots[self.due_slots[middle]].fire_at, self.due_slots[middle], slot) or (
                self.due_slots[middle] == slot
            ):
                low = middle + 1
            else:
                high = middle
        return low

    cdef int insert_due(self, Py_ssize_t slot) except -1:
        cdef Py_ssize_t position = self.due_position(slot)
        self.grow(<void**>&self.due_slots, &self.due_capacity, self.due_size + 1, sizeof(Py_ssize_t))
        memmove(
            &self.due_slots[position + 1], &self.due_slots[position], (self.due_size - position) * sizeof(Py_ssize_t)
        )
        self.due_slots[position] = slot
        self.due_size += 1
        self.slots[slot].due = True
        return 0

    cdef void remove_due(self, Py_ssize_t slot):
        cdef Py_ssize_t position = self.due_position(slot) - 1
        memmove(
            &self.due_slots[position], &self.due_slots[position + 1], (self.due_size - position - 1) * sizeof(Py_ssize_t)
        )
        self.due_size -= 1
        self.slots[slot].due = False

    # -- the contract -------------------------------------------------------------------------

    def schedule(self, workflow_id, timer_id, fire_at):
        """Insert or replace the timer ``(workflow_id, timer_id)``."""
        if type(workflow_id) is not WORKFLOW_ID or type(timer_id) is not TIMER_ID:
            check_workflow_id(workflow_id)
            check_timer_id(timer_id)
        fire_at = checked_time(fire_at, "fire_at")
        lock_acquire(self.lock)
        try:
            self.schedule_locked(workflow_id, timer_id, fire_at)
        finally:
            lock_release(self.lock)

    cdef int schedule_locked(self, object workflow_id, object timer_id, object fire_at) except -1:
        cdef object number = get_slot(workflow_id, OFF_UUID_INT)
        cdef object key = (
            number, get_slot(timer_id, OFF_TIMER_NAME), get_slot(timer_id, OFF_TIMER_POSITION)
        )
        cdef Py_ssize_t slot
        cdef int64_t micros = micros_of_datetime(fire_at)
        cdef object found = self.index.get(key)
        cdef object entry = new_instance(TIMER_ENTRY)
        set_slot(entry, OFF_ENTRY_WORKFLOW, workflow_id)
        set_slot(entry, OFF_ENTRY_TIMER, timer_id)
        set_slot(entry, OFF_ENTRY_FIRE_AT, fire_at)
        if found is None:
            slot = self.slot_count
            self.grow(<void**>&self.slots, &self.slot_capacity, slot + 1, sizeof(Slot))
            self.slots[slot].high = PyLong_AsUnsignedLongLong(number >> SHIFT_64)
            self.slots[slot].low = PyLong_AsUnsignedLongLongMask(number)
            self.slots[slot].generation = 0
            self.slots[slot].due = False
            self.entries.append(entry)
            self.timer_ids.append(timer_id)
            self.index[key] = slot
            self.slot_count += 1
        else:
            slot = found
            if self.slots[slot].due:
                self.remove_due(slot)
            else:
                self.slots[slot].generation += 1
                self.stale += 1
            self.entries[slot] = entry
        self.slots[slot].fire_at = micros
        if self.has_watermark and micros <= self.watermark:
            self.insert_due(slot)
        else:
            self.push(slot)
            if self.stale > 64 and self.stale > self.heap_size // 2:
                self.compact()
        return 0

    def due(self, as_of):
        """Every timer with ``fire_at <= as_of``, in the contract's order."""
        as_of = checked_time(as_of, "as_of")
        lock_acquire(self.lock)
        try:
            return self.due_locked(micros_of_datetime(as_of))
        finally:
            lock_release(self.lock)

    cdef list due_locked(self, int64_t limit):
        cdef Item item
        cdef Py_ssize_t low, high, middle, i
        cdef list result
        if not self.has_watermark or limit > self.watermark:
            while self.heap_size and self.heap[0].fire_at <= limit:
                item = self.pop()
                if self.slots[item.slot].generation != item.generation or self.slots[item.slot].due:
                    self.stale -= 1
                    continue
                self.grow(<void**>&self.due_slots, &self.due_capacity, self.due_size + 1, sizeof(Py_ssize_t))
                self.due_slots[self.due_size] = item.slot
                self.due_size += 1
                self.slots[item.slot].due = True
            self.has_watermark = True
            self.watermark = limit
        low, high = 0, self.due_size
        while low < high:
            middle = (low + high) // 2
            if self.slots[self.due_slots[middle]].fire_at <= limit:
                low = middle + 1
            else:
                high = middle
        result = [None] * low
        entries = self.entries
        for i in range(low):
            result[i] = entries[self.due_slots[i]]
        return result
