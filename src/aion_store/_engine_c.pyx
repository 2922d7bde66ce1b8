# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled engine of ``InMemoryStore``: twin of ``aion_store._engine_py``.

Each workflow's history is one contiguous msgpack buffer plus an offset index by seq
(the source of truth; what raw reads return), written with the compiled codec
(``aion_store.wire._msgpack_c``); projections (status, summary inputs, run chain,
parents) are kept current at append time; decoded events are a cache. Argument and batch
checks are the shared ones of ``aion_store._validate``: the C checks here only decide
that nothing is wrong, and call those functions to raise the one canonical error.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.long cimport PyLong_AsUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from aion_store._slots cimport get_slot, new_instance, set_slot, slot_offset
from aion_store.wire._msgpack_c cimport Buffer, put_event, tag_of, take_events, uuid_bytes

from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_workflow_id,
)
from aion_store.error import SequenceConflict
from aion_store.events import ChildWorkflowStarted, Event, EventEnvelope, WorkflowStarted
from aion_store.ids import WorkflowId, _UuidId
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus, WorkflowSummary
from aion_store.store import WriteToken
from aion_store.wire import _msgpack_py as _pure_codec

cdef extern from "Python.h":
    bint PyLong_CheckExact(object value)

cdef type WORKFLOW_ID = WorkflowId
cdef type EVENT_ENVELOPE = EventEnvelope
cdef Py_ssize_t OFF_ENVELOPE = slot_offset(Event, "envelope")
cdef Py_ssize_t OFF_SEQ = slot_offset(EventEnvelope, "seq")
cdef Py_ssize_t OFF_RECORDED_AT = slot_offset(EventEnvelope, "recorded_at")
cdef Py_ssize_t OFF_OWNER = slot_offset(EventEnvelope, "workflow_id")
cdef Py_ssize_t OFF_UUID_INT = slot_offset(_UuidId, "_int")
cdef unsigned char FORMAT_VERSION = _pure_codec.FORMAT_VERSION

cdef type WRITE_TOKEN = WriteToken
cdef type WORKFLOW_STARTED = WorkflowStarted
cdef type RUN_SUMMARY = RunSummary
cdef object RUNNING = WorkflowStatus.RUNNING
cdef tuple LIFECYCLE = LIFECYCLE_STATUS_BY_TAG
cdef int TAG_CHILD_STARTED = ChildWorkflowStarted.TAG
cdef int TAG_STARTED = WorkflowStarted.TAG
cdef Py_ssize_t OFF_START_TYPE = slot_offset(WorkflowStarted, "workflow_type")
cdef Py_ssize_t OFF_START_RUN = slot_offset(WorkflowStarted, "run_id")
cdef Py_ssize_t OFF_START_PARENT_RUN = slot_offset(WorkflowStarted, "parent_run_id")
cdef Py_ssize_t OFF_CHILD_ID = slot_offset(ChildWorkflowStarted, "child_workflow_id")
cdef Py_ssize_t OFF_RUN_ID = slot_offset(RunSummary, "run_id")
cdef Py_ssize_t OFF_RUN_PARENT = slot_offset(RunSummary, "parent_run_id")
cdef Py_ssize_t OFF_RUN_STATUS = slot_offset(RunSummary, "status")
cdef Py_ssize_t OFF_RUN_STARTED = slot_offset(RunSummary, "started_at")
cdef Py_ssize_t OFF_RUN_CLOSED = slot_offset(RunSummary, "closed_at")
cdef bytes MARKER = _pure_codec.MARKER
cdef object list_of_events = list[Event]


cdef object make_run(object run_id, object parent_run_id, object status, object started_at,
                     object closed_at):
    cdef object run = new_instance(RUN_SUMMARY)
    set_slot(run, OFF_RUN_ID, run_id)
    set_slot(run, OFF_RUN_PARENT, parent_run_id)
    set_slot(run, OFF_RUN_STATUS, status)
    set_slot(run, OFF_RUN_STARTED, started_at)
    set_slot(run, OFF_RUN_CLOSED, closed_at)
    return run


cdef class History:
    """One workflow: its encoded events, their offsets by seq, and its projections."""

    cdef readonly object workflow_id
    cdef unsigned char owner_bytes[16]
    cdef Buffer buf
    # offsets[i] is where the event with seq i + 1 starts in buf.
    cdef int64_t* offsets
    cdef Py_ssize_t count
    cdef Py_ssize_t offsets_capacity
    # Projections (SPEC §5, §8): status of the last lifecycle event, one run per start.
    cdef object status
    cdef list runs
    cdef object start_type
    cdef object start_at
    cdef object parent
    cdef object summary
    # Decoded events of the whole history while this workflow is in the LRU cache.
    cdef list decoded
    cdef History newer
    cdef History older

    def __cinit__(self, workflow_id):
        self.workflow_id = workflow_id
        uuid_bytes(workflow_id, self.owner_bytes)
        self.buf.data = NULL
        self.buf.length = 0
        self.buf.capacity = 0
        self.offsets = NULL
        self.count = 0
        self.offsets_capacity = 0
        self.status = RUNNING
        self.runs = []

    def __dealloc__(self):
        PyMem_Free(self.buf.data)
        PyMem_Free(self.offsets)

    cdef int reserve_offsets(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t needed = self.count + extra
        cdef Py_ssize_t capacity
        cdef int64_t* grown
        if needed <= self.offsets_capacity:
            return 0
        capacity = self.offsets_capacity + (self.offsets_capacity >> 1)
        if capacity < needed:
            capacity = needed
        grown = <int64_t*>PyMem_Realloc(self.offsets, capacity * sizeof(int64_t))
        if grown == NULL:
            raise MemoryError()
        self.offsets = grown
        self.offsets_capacity = capacity
        return 0

    cdef void apply_lifecycle(self, object event, object status):
        cdef object envelope = get_slot(event, OFF_ENVELOPE)
        cdef object last
        self.status = status
        self.summary = None
        if type(event) is WORKFLOW_STARTED or isinstance(event, WORKFLOW_STARTED):
            self.start_type = get_slot(event, OFF_START_TYPE)
            self.start_at = get_slot(envelope, OFF_RECORDED_AT)
            self.runs.append(make_run(
                get_slot(event, OFF_START_RUN),
                get_slot(event, OFF_START_PARENT_RUN),
                RUNNING,
                self.start_at,
                None,
            ))
        elif self.runs:
            last = self.runs[len(self.runs) - 1]
            self.runs[len(self.runs) - 1] = make_run(
                get_slot(last, OFF_RUN_ID),
                get_slot(last, OFF_RUN_PARENT),
                status,
                get_slot(last, OFF_RUN_STARTED),
                get_slot(envelope, OFF_RECORDED_AT),
            )

    cdef object current_summary(self):
        if self.summary is None and self.start_type is not None:
            self.summary = WorkflowSummary._trusted(
                self.workflow_id,
                self.start_type,
                self.status,
                self.start_at,
                get_slot(self.runs[len(self.runs) - 1], OFF_RUN_CLOSED),
                self.parent,
            )
        return self.summary

    cdef list decode_from(self, Py_ssize_t index):
        """Decode the events from position ``index`` (seq ``index + 1``) to the head."""
        cdef const unsigned char* base = <const unsigned char*>self.buf.data
        try:
            return take_events(base + self.offsets[index], base + self.buf.length, self.workflow_id)
        except Exception:
            # The store wrote these bytes, so this cannot happen unless the fast decoder
            # lags behind the encoder (it raised Fallback); the pure decoder reads them.
            return _pure_codec.from_msgpack(self.raw_from(index), list_of_events)

    cdef bytes raw_from(self, Py_ssize_t index):
        """The version byte and the encoded events from position ``index`` on."""
        cdef Py_ssize_t start = self.offsets[index]
        cdef Py_ssize_t size = self.buf.length - start
        cdef bytes raw = PyBytes_FromStringAndSize(NULL, size + 1)
        (<char*>PyBytes_AS_STRING(raw))[0] = FORMAT_VERSION
        memcpy(<char*>PyBytes_AS_STRING(raw) + 1, self.buf.data + start, size)
        return raw

    cdef void trim(self) noexcept:
        """Give back the growth slack (a closed workflow rarely grows again)."""
        cdef char* data
        cdef int64_t* offsets
        if self.buf.capacity > self.buf.length:
            data = <char*>PyMem_Realloc(self.buf.data, self.buf.length)
            if data != NULL:
                self.buf.data = data
                self.buf.capacity = self.buf.length
        if self.offsets_capacity > self.count:
            offsets = <int64_t*>PyMem_Realloc(self.offsets, self.count * sizeof(int64_t))
            if offsets != NULL:
                self.offsets = offsets
                self.offsets_capacity = self.count

    def stored_bytes(self):
        """Bytes held for this history: buffer and offset index capacity (for benchmarks)."""
        return self.buf.capacity + self.offsets_capacity * sizeof(int64_t)


cdef class Lock:
    """A mutex that waits without holding the GIL (so a holder can always finish)."""

    cdef PyThread_type_lock handle

    def __cinit__(self):
        self.handle = PyThread_allocate_lock()
        if self.handle == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.handle != NULL:
            PyThread_free_lock(self.handle)

    cdef inline void acquire(self) noexcept:
        if not PyThread_acquire_lock(self.handle, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self.handle, WAIT_LOCK)

    cdef inline void release(self) noexcept:
        PyThread_release_lock(self.handle)


cdef class Engine:
    """The compiled twin of ``aion_store._engine_py.Engine``: same methods, same results."""

    # Keyed by the workflow id's 128-bit integer: ints hash and compare in C, ids in Python.
    cdef dict workflows  # int -> History
    cdef dict active  # int -> WorkflowId, the workflows whose status is RUNNING
    cdef dict parents  # int of a child -> WorkflowId of the parent that started it
    cdef list sorted_ids
    cdef list sorted_active
    cdef list by_start
    cdef Lock lock
    cdef Py_ssize_t cache_capacity
    cdef Py_ssize_t cache_size
    # The LRU list of cached histories: newest at the head.
    cdef History cache_head
    cdef History cache_tail

    def __init__(self, Py_ssize_t decoded_cache_events=0):
        self.workflows = {}
        self.active = {}
        self.parents = {}
        self.lock = Lock()
        self.cache_capacity = decoded_cache_events
        self.cache_size = 0

    # -- the decoded-event cache ----------------------------------------------------

    cdef void cache_unlink(self, History history):
        if history.newer is not None:
            history.newer.older = history.older
        else:
            self.cache_head = history.older
        if history.older is not None:
            history.older.newer = history.newer
        else:
            self.cache_tail = history.newer
        history.newer = None
        history.older = None
        self.cache_size -= len(history.decoded)
        history.decoded = None

    cdef void cache_touch(self, History history):
        if self.cache_head is history:
            return
        # unlink without dropping the decoded list, then push at the head
        if history.newer is not None:
            history.newer.older = history.older
        if history.older is not None:
            history.older.newer = history.newer
        else:
            self.cache_tail = history.newer
        history.newer = None
        history.older = self.cache_head
        if self.cache_head is not None:
            self.cache_head.newer = history
        self.cache_head = history
        if self.cache_tail is None:
            self.cache_tail = history

    cdef void cache_insert(self, History history, list decoded):
        history.decoded = decoded
        self.cache_size += len(decoded)
        history.newer = None
        history.older = self.cache_head
        if self.cache_head is not None:
            self.cache_head.newer = history
        self.cache_head = history
        if self.cache_tail is None:
            self.cache_tail = history
        self.cache_evict(history)

    cdef void cache_evict(self, History keep):
        while self.cache_size > self.cache_capacity and self.cache_tail is not None:
            if self.cache_tail is keep and self.cache_head is keep:
                self.cache_unlink(keep)
                return
            self.cache_unlink(self.cache_tail)

    # -- appends ----------------------------------------------------------------------

    def append(self, token, workflow_id, events, expected_seq):
        if (
            type(token) is not WRITE_TOKEN
            or type(workflow_id) is not WORKFLOW_ID
            or not (type(events) is list or type(events) is tuple)
            or not PyLong_CheckExact(expected_seq)
            or expected_seq < 0
            or expected_seq > 0xFFFFFFFFFFFFFFFF
        ):
            expected_seq = check_append_arguments(token, workflow_id, events, expected_seq)
        self.lock.acquire()
        try:
            self.append_locked(workflow_id, events, PyLong_AsUnsignedLongLong(expected_seq))
        finally:
            self.lock.release()

    cdef int append_locked(self, object workflow_id, object events, uint64_t expected) except -1:
        cdef object key = get_slot(workflow_id, OFF_UUID_INT)
        cdef History history = <History>self.workflows.get(key)
        cdef uint64_t head = history.count if history is not None else 0
        cdef Py_ssize_t n = len(events)
        cdef Py_ssize_t i, old_length, old_count
        cdef int tag
        cdef object event, status
        cdef bint fresh = history is None
        if head != expected:
            raise SequenceConflict(expected=expected, found=head)
        if n == 0:
            return 0
        if not self.batch_is_valid(workflow_id, events, expected):
            check_batch(workflow_id, events, expected)
            raise AssertionError("the core rejected a batch the shared checks accept")
        if fresh:
            history = History(workflow_id)
            history.parent = self.parents.get(key)
        history.reserve_offsets(n)
        old_length = history.buf.length
        old_count = history.count
        try:
            for i in range(n):
                history.offsets[history.count] = history.buf.length
                put_event(&history.buf, events[i], history.owner_bytes)
                history.count += 1
        except BaseException:
            history.buf.length = old_length
            history.count = old_count
            raise
        # Published: the projections below only move references around.
        if fresh:
            self.workflows[key] = history
            self.active[key] = workflow_id
            self.sorted_ids = None
            self.sorted_active = None
        for i in range(n):
            event = events[i]
            tag = tag_of(event)
            status = LIFECYCLE[tag]
            if status is not None:
                self.apply_lifecycle(history, event, status)
            elif tag == TAG_CHILD_STARTED:
                self.adopt(workflow_id, get_slot(event, OFF_CHILD_ID))
        if history.status is not RUNNING:
            history.trim()
        if history.decoded is not None:
            history.decoded.extend(events)
            self.cache_size += n
            self.cache_touch(history)
            self.cache_evict(history)
        return 0

    cdef bint batch_is_valid(self, object workflow_id, object events, uint64_t expected):
        cdef Py_ssize_t i, n = len(events)
        cdef object event, envelope, seq, owner
        cdef object number = get_slot(workflow_id, OFF_UUID_INT)
        for i in range(n):
            event = events[i]
            if tag_of(event) < 0:
                return False
        for i in range(n):
            envelope = get_slot(events[i], OFF_ENVELOPE)
            if type(envelope) is not EVENT_ENVELOPE:
                return False
            seq = get_slot(envelope, OFF_SEQ)
            if not PyLong_CheckExact(seq) or PyLong_AsUnsignedLongLong(seq) != expected + 1 + i:
                return False
            owner = get_slot(envelope, OFF_OWNER)
            if owner is not workflow_id and (
                type(owner) is not WORKFLOW_ID or get_slot(owner, OFF_UUID_INT) != number
            ):
                return False
        return True

    cdef void apply_lifecycle(self, History history, object event, object status):
        cdef bint was_active = history.status is RUNNING
        history.apply_lifecycle(event, status)
        if (status is RUNNING) != was_active:
            if was_active:
                del self.active[get_slot(history.workflow_id, OFF_UUID_INT)]
            else:
                self.active[get_slot(history.workflow_id, OFF_UUID_INT)] = history.workflow_id
            self.sorted_active = None
        if status is RUNNING:
            self.by_start = None

    cdef void adopt(self, object parent, object child):
        cdef object key = get_slot(child, OFF_UUID_INT)
        self.parents[key] = parent
        cdef History history = <History>self.workflows.get(key)
        if history is not None:
            history.parent = parent
            history.summary = None

    # -- reads ------------------------------------------------------------------------

    cdef History history_of(self, object workflow_id):
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        return <History>self.workflows.get(get_slot(workflow_id, OFF_UUID_INT))

    def read_history(self, workflow_id):
        self.lock.acquire()
        try:
            return self.read_from(self.history_of(workflow_id), 0)
        finally:
            self.lock.release()

    def read_history_from(self, workflow_id, from_seq):
        cdef History history
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        if not PyLong_CheckExact(from_seq) or from_seq < 0 or from_seq > 0xFFFFFFFFFFFFFFFF:
            from_seq = check_seq(from_seq, "from_seq")
        self.lock.acquire()
        try:
            history = self.history_of(workflow_id)
            if history is None or from_seq > history.count:
                return []
            return self.read_from(history, from_seq - 1 if from_seq > 1 else 0)
        finally:
            self.lock.release()

    cdef list read_from(self, History history, Py_ssize_t index):
        cdef list decoded
        if history is None or index >= history.count:
            return []
        if history.decoded is not None:
            self.cache_touch(history)
            return history.decoded[index:]
        if index > 0 or history.count > self.cache_capacity:
            return history.decode_from(index)
        decoded = history.decode_from(0)
        self.cache_insert(history, decoded)
        return decoded[:]

    def read_history_raw(self, workflow_id, from_seq=1):
        cdef History history
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        if not PyLong_CheckExact(from_seq) or from_seq < 0 or from_seq > 0xFFFFFFFFFFFFFFFF:
            from_seq = check_seq(from_seq, "from_seq")
        self.lock.acquire()
        try:
            history = self.history_of(workflow_id)
            if history is None or from_seq > history.count:
                return MARKER
            return history.raw_from(from_seq - 1 if from_seq > 1 else 0)
        finally:
            self.lock.release()

    def read_run_chain(self, workflow_id):
        cdef History history
        self.lock.acquire()
        try:
            history = self.history_of(workflow_id)
            runs = [] if history is None else list(history.runs)
        finally:
            self.lock.release()
        return order_runs(runs)

    def list_workflow_ids(self):
        self.lock.acquire()
        try:
            if self.sorted_ids is None:
                self.sorted_ids = [
                    (<History>self.workflows[key]).workflow_id for key in sorted(self.workflows)
                ]
            return self.sorted_ids[:]
        finally:
            self.lock.release()

    def list_active(self):
        self.lock.acquire()
        try:
            if self.sorted_active is None:
                self.sorted_active = [self.active[key] for key in sorted(self.active)]
            return self.sorted_active[:]
        finally:
            self.lock.release()

    def query(self, filter):
        cdef History history
        cdef list ordered, result
        check_filter(filter)
        self.lock.acquire()
        try:
            if self.by_start is None:
                ordered = [h for h in self.workflows.values() if (<History>h).start_type is not None]
                ordered.sort(key=start_key)
                self.by_start = ordered
            ordered = self.by_start
            parent = filter.parent
            matches = filter.matches
            result = []
            for item in ordered:
                history = <History>item
                if parent is not None and history.parent != parent:
                    continue
                summary = history.current_summary()
                if matches(summary):
                    result.append(summary)
            return result
        finally:
            self.lock.release()

    def stored_bytes(self):
        """Bytes held by encoded histories and offset indexes (excluding Python objects)."""
        cdef Py_ssize_t total = 0
        for history in self.workflows.values():
            total += (<History>history).stored_bytes()
        return total


def start_key(History history):
    return (history.start_at, get_slot(history.workflow_id, OFF_UUID_INT))
