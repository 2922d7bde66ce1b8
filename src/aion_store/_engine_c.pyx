# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled engine of ``InMemoryStore``: twin of ``aion_store._engine_py``.

Each workflow's history is one contiguous msgpack buffer plus a 4-byte offset index by
seq: the source of truth, written in the engine's form of an event (``[tag, time
delta, *fields]``: the seq is the position, the owner the history's, the time a delta
to the previous event's; raw reads put all three back, docs/wire-format.md). A
``History`` is also its workflow's projection (``aion_store._projections_c``, twin of
the pure engine's ``_projections_py``); appends call the projections only for batches with
an event that changes one (lifecycle, ``ChildWorkflowStarted``), found by tag here.

Decoded events are a cache bounded by an estimate of their memory (``aion_store._cache``):

- an append to a running workflow caches the appended objects themselves (a workflow
  not cached yet only while the cache has room: appends never evict), and a read
  decodes only what is not cached (from where it starts to the cached part) and caches
  it: an engine reading back a running workflow gets a slice, as from the pure engine;
- least recently read first out; a history closed by an append drops its decoded
  events; a closed history that is read enters at the cold end and is never promoted,
  so it is the first to go;
- past the budget every read still costs one decode of what it returns (no thrashing:
  eviction only drops references the caller's copy no longer needs).

Argument and batch checks are the shared ones of ``aion_store._validate``: the C checks
here only decide that nothing is wrong, and call those functions to raise the one
canonical error.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.long cimport PyLong_AsUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.pythread cimport PyThread_type_lock
from libc.stdint cimport int64_t, uint32_t, uint64_t

from aion_store._lock cimport lock_acquire, lock_free, lock_init, lock_release
from aion_store._projections_c cimport Projections, WorkflowProjection
from aion_store._slots cimport get_slot, slot_offset
from aion_store.wire._msgpack_c cimport (
    Buffer,
    buffer_reserve,
    put_stored_event,
    stored_delta,
    stored_to_wire,
    tag_of,
    take_stored_events,
    uuid_bytes,
)

from aion_store._cache import DECODED_BYTES_PER_EVENT
from aion_store._projections_py import PROJECTED_TAGS
from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_workflow_id,
)
from aion_store.error import BackendError, SequenceConflict
from aion_store.events import Event, EventEnvelope
from aion_store.ids import WorkflowId, _UuidId
from aion_store.store import WriteToken
from aion_store.wire import _msgpack_py as _pure_codec

cdef extern from "Python.h":
    bint PyLong_CheckExact(object value)

cdef type WORKFLOW_ID = WorkflowId
cdef type EVENT_ENVELOPE = EventEnvelope
cdef type WRITE_TOKEN = WriteToken
cdef type SEQUENCE_CONFLICT = SequenceConflict
cdef Py_ssize_t OFF_ENVELOPE = slot_offset(Event, "envelope")
cdef Py_ssize_t OFF_SEQ = slot_offset(EventEnvelope, "seq")
cdef Py_ssize_t OFF_OWNER = slot_offset(EventEnvelope, "workflow_id")
cdef Py_ssize_t OFF_UUID_INT = slot_offset(_UuidId, "_int")
cdef bytes MARKER = _pure_codec.MARKER
cdef object list_of_events = list[Event]
cdef Py_ssize_t PER_EVENT = DECODED_BYTES_PER_EVENT

cdef enum:
    TAG_ROOM = 64  # room in the projected-tag table (checked against the variants below)
cdef bint PROJECTED[TAG_ROOM]
if len(PROJECTED_TAGS) > TAG_ROOM:
    raise ImportError(f"{len(PROJECTED_TAGS)} event variants: more than the engine's {TAG_ROOM}")
for _tag in range(len(PROJECTED_TAGS)):
    PROJECTED[_tag] = PROJECTED_TAGS[_tag]

cdef inline bint u64_of(object value, uint64_t* out):
    """Whether ``value`` is an exact int in the u64 range (then stored in ``*out``)."""
    if not PyLong_CheckExact(value):
        return False
    try:
        out[0] = PyLong_AsUnsignedLongLong(value)
    except OverflowError:
        return False
    return True


cdef inline bint u64_equals(object value, uint64_t expected):
    """Whether ``value`` is an exact int equal to ``expected``."""
    cdef uint64_t number = 0
    return u64_of(value, &number) and number == expected


# A new history's buffer (bytes) and offset index (events): room for a few events before
# the first reallocation; a closed history gives back what it does not use.
cdef enum:
    FIRST_CAPACITY = 512
    FIRST_OFFSETS = 8

# The most encoded bytes one history may hold: offsets are 4 bytes. Lowered by tests.
cdef Py_ssize_t history_limit = 0xFFFFFFFF


def _set_history_limit(Py_ssize_t limit):
    """Set the per-history byte limit (tests); return the previous one."""
    global history_limit
    previous = history_limit
    history_limit = min(limit, 0xFFFFFFFF)
    return previous


cdef class History(WorkflowProjection):
    """One workflow: its projection, encoded events, their offsets and cached events."""

    cdef bint running
    cdef unsigned char owner_bytes[16]
    cdef Buffer buf
    # offsets[i] is where the event with seq i + 1 starts in buf.
    cdef uint32_t* offsets
    cdef Py_ssize_t count
    cdef Py_ssize_t offsets_capacity
    # The time of the last event (microseconds): events keep deltas to the previous one.
    cdef int64_t last_micros
    # Decoded events of seqs first + 1 .. count while cached (else None), their cost.
    cdef list decoded
    cdef Py_ssize_t first
    cdef Py_ssize_t cost
    cdef History newer
    cdef History older

    def __cinit__(self, workflow_id):
        self.running = True
        uuid_bytes(workflow_id, self.owner_bytes)
        self.buf.data = NULL
        self.buf.length = 0
        self.buf.capacity = 0
        self.offsets = NULL
        self.count = 0
        self.offsets_capacity = 0
        self.last_micros = 0

    def __dealloc__(self):
        PyMem_Free(self.buf.data)
        PyMem_Free(self.offsets)

    cdef int reserve_offsets(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t needed = self.count + extra
        cdef Py_ssize_t capacity
        cdef uint32_t* grown
        if needed <= self.offsets_capacity:
            return 0
        capacity = self.offsets_capacity + (self.offsets_capacity >> 1)
        if capacity < FIRST_OFFSETS:
            capacity = FIRST_OFFSETS
        if capacity < needed:
            capacity = needed
        grown = <uint32_t*>PyMem_Realloc(self.offsets, capacity * sizeof(uint32_t))
        if grown == NULL:
            raise MemoryError()
        self.offsets = grown
        self.offsets_capacity = capacity
        return 0

    cdef inline Py_ssize_t end_of(self, Py_ssize_t index) noexcept:
        """Where the event at ``index`` ends."""
        return self.offsets[index + 1] if index + 1 < self.count else self.buf.length

    cdef int64_t micros_before(self, Py_ssize_t index) noexcept:
        """The time of the event before position ``index`` (0 before the first): the
        last event's time less the deltas from ``index`` on."""
        cdef int64_t micros = self.last_micros
        cdef const unsigned char* base = <const unsigned char*>self.buf.data
        cdef Py_ssize_t position
        for position in range(index, self.count):
            micros -= stored_delta(base + self.offsets[position])
        return micros

    cdef Py_ssize_t cost_from(self, Py_ssize_t index) noexcept:
        """The estimated memory of the decoded events from ``index`` to the head."""
        return (self.buf.length - self.offsets[index]) + (self.count - index) * PER_EVENT

    cdef list decode(self, Py_ssize_t start, Py_ssize_t end):
        """Decode the events at positions ``start`` to ``end`` (exclusive)."""
        cdef const unsigned char* base = <const unsigned char*>self.buf.data
        cdef Py_ssize_t stop = self.offsets[end] if end < self.count else self.buf.length
        try:
            return take_stored_events(
                base + self.offsets[start],
                base + stop,
                self.workflow_id,
                start + 1,
                self.micros_before(start),
            )
        except Exception:
            # The engine wrote these bytes, so this cannot happen unless the fast decoder
            # lags behind the writer (it raised Fallback); the pure decoder reads them.
            return _pure_codec.from_msgpack(self.wire_from(start, end), list_of_events)

    cdef bytes wire_from(self, Py_ssize_t start, Py_ssize_t end):
        """The version byte and the wire form of the events at ``start`` to ``end``."""
        cdef Buffer out
        cdef Py_ssize_t index, at
        cdef int64_t micros = self.micros_before(start)
        out.data = NULL
        out.length = 0
        out.capacity = 0
        try:
            if start < end:
                at = self.offsets[end] if end < self.count else self.buf.length
                buffer_reserve(&out, 1 + at - self.offsets[start] + 38 * (end - start))
            else:
                buffer_reserve(&out, 1)
            out.data[0] = <char>MARKER[0]
            out.length = 1
            for index in range(start, end):
                at = self.offsets[index]
                micros += stored_delta(<const unsigned char*>self.buf.data + at)
                stored_to_wire(
                    &out,
                    <const unsigned char*>self.buf.data + at,
                    self.end_of(index) - at,
                    index + 1,
                    micros,
                    self.owner_bytes,
                )
            return PyBytes_FromStringAndSize(out.data, out.length)
        finally:
            PyMem_Free(out.data)

    cdef void trim(self) noexcept:
        """Give back the growth slack (a closed workflow rarely grows again)."""
        cdef char* data
        cdef uint32_t* offsets
        if self.buf.capacity > self.buf.length:
            data = <char*>PyMem_Realloc(self.buf.data, self.buf.length)
            if data != NULL:
                self.buf.data = data
                self.buf.capacity = self.buf.length
        if self.offsets_capacity > self.count:
            offsets = <uint32_t*>PyMem_Realloc(self.offsets, self.count * sizeof(uint32_t))
            if offsets != NULL:
                self.offsets = offsets
                self.offsets_capacity = self.count

    def stored_bytes(self):
        """Bytes held for this history: buffer and offset index capacity (for benchmarks)."""
        return self.buf.capacity + self.offsets_capacity * sizeof(uint32_t)


cdef class Engine:
    """The compiled twin of ``aion_store._engine_py.Engine``: same methods, same results."""

    # Keyed by the workflow id's 128-bit integer: ints hash and compare in C, ids in Python.
    cdef dict histories  # int -> History
    cdef Projections projections
    cdef PyThread_type_lock lock
    cdef Py_ssize_t cache_budget
    cdef Py_ssize_t cache_cost
    # The cached histories, most recently read at the head; closed ones enter at the tail.
    cdef History cache_head
    cdef History cache_tail

    def __cinit__(self, *args):
        lock_init(&self.lock)

    def __dealloc__(self):
        lock_free(self.lock)

    def __init__(self, Py_ssize_t decoded_cache_bytes=0, /):
        self.histories = {}
        self.projections = Projections()
        self.cache_budget = decoded_cache_bytes
        self.cache_cost = 0

    # -- the decoded-event cache --------------------------------------------------------

    cdef void cache_unlink(self, History history) noexcept:
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

    cdef void cache_drop(self, History history) noexcept:
        if history.decoded is None:
            return
        self.cache_unlink(history)
        self.cache_cost -= history.cost
        history.decoded = None
        history.cost = 0

    cdef void cache_link(self, History history) noexcept:
        """Link ``history`` at the head if running, else at the tail."""
        if history.running or self.cache_tail is None:
            history.older = self.cache_head
            if self.cache_head is not None:
                self.cache_head.newer = history
            self.cache_head = history
            if self.cache_tail is None:
                self.cache_tail = history
        else:
            history.newer = self.cache_tail
            self.cache_tail.older = history
            self.cache_tail = history

    cdef void cache_touch(self, History history) noexcept:
        if history.running and self.cache_head is not history:
            self.cache_unlink(history)
            self.cache_link(history)

    cdef void cache_grow(self, History history, Py_ssize_t cost) noexcept:
        """``history``'s cached events grew by ``cost``: evict past the budget."""
        history.cost += cost
        self.cache_cost += cost
        while self.cache_cost > self.cache_budget and self.cache_tail is not None:
            self.cache_drop(self.cache_tail)

    cdef list cache_read(self, History history, Py_ssize_t index):
        """The decoded events from ``index`` to the head, through the cache."""
        cdef list decoded = history.decoded
        if decoded is not None and index >= history.first:
            self.cache_touch(history)
            return decoded[index - history.first :]
        cdef Py_ssize_t cost = history.cost_from(index)
        if cost > self.cache_budget:
            self.cache_drop(history)
            return history.decode(index, history.count)
        if decoded is None:
            decoded = history.decode(index, history.count)
            history.decoded = decoded
            history.first = index
            self.cache_link(history)
            self.cache_grow(history, cost)
            return decoded[:]
        decoded = history.decode(index, history.first) + decoded
        history.decoded = decoded
        history.first = index
        self.cache_touch(history)
        self.cache_grow(history, cost - history.cost)
        return decoded[:]

    # -- appends ------------------------------------------------------------------------

    def append(self, token, workflow_id, events, expected_seq):
        cdef uint64_t expected = 0
        if (
            type(token) is not WRITE_TOKEN
            or type(workflow_id) is not WORKFLOW_ID
            or not (type(events) is list or type(events) is tuple)
            or not u64_of(expected_seq, &expected)
        ):
            expected = check_append_arguments(token, workflow_id, events, expected_seq)
        lock_acquire(self.lock)
        try:
            self.append_locked(workflow_id, events, expected)
        finally:
            lock_release(self.lock)

    cdef int append_locked(self, object workflow_id, object events, uint64_t expected) except -1:
        cdef object key = get_slot(workflow_id, OFF_UUID_INT)
        cdef History history = <History>self.histories.get(key)
        cdef uint64_t head = history.count if history is not None else 0
        cdef Py_ssize_t n = len(events)
        cdef Py_ssize_t i, old_length, old_count
        cdef int64_t old_micros
        cdef bint fresh = history is None, projected = False
        if head != expected:
            # BaseException's own constructor sets args; no Python frame runs.
            raise SEQUENCE_CONFLICT.__new__(SEQUENCE_CONFLICT, expected, head)
        if n == 0:
            return 0
        if not self.batch_is_valid(workflow_id, events, expected, &projected):
            check_batch(workflow_id, events, expected)
            raise AssertionError("the core rejected a batch the shared checks accept")
        if fresh:
            # No __init__ call (a Python-level call costs ~2,000 instructions here).
            history = History.__new__(History, workflow_id)
            history.setup(workflow_id)
            buffer_reserve(&history.buf, FIRST_CAPACITY)
        history.reserve_offsets(n)
        old_length = history.buf.length
        old_count = history.count
        old_micros = history.last_micros
        try:
            for i in range(n):
                history.offsets[history.count] = <uint32_t>history.buf.length
                put_stored_event(&history.buf, events[i], &history.last_micros)
                history.count += 1
            if history.buf.length > history_limit:
                raise BackendError(
                    f"workflow {workflow_id}: appending {n} event(s) would take its history "
                    f"to {history.buf.length} encoded bytes, past the compiled engine's "
                    f"limit of {history_limit} per workflow; nothing was appended"
                )
        except BaseException:
            history.buf.length = old_length
            history.count = old_count
            history.last_micros = old_micros
            raise
        # Published: what follows only moves references around.
        if fresh:
            self.histories[key] = history
            self.projections.add(key, history)
        if projected:
            history.running = self.projections.apply(history, events)
            if not history.running:
                self.cache_drop(history)
                history.trim()
                return 0
        self.cache_appended(history, events, old_count, history.buf.length - old_length)
        return 0

    cdef void cache_appended(self, History history, object events, Py_ssize_t at, Py_ssize_t size):
        """Cache the events just appended at position ``at`` to a running history: the
        objects themselves, which the engine will read back (no decode)."""
        cdef Py_ssize_t cost = size + len(events) * PER_EVENT
        cdef Py_ssize_t i
        if history.decoded is not None:
            for i in range(len(events)):
                history.decoded.append(events[i])
            self.cache_touch(history)
        elif self.cache_cost + cost <= self.cache_budget:
            # Admitted only into free room: evicting another workflow for every append to
            # one that is not cached would churn a full cache (measured: the engine mix
            # past its budget ran 8-35% slower than with the cache off). Reads admit.
            history.decoded = list(events)
            history.first = at
            self.cache_link(history)
        else:
            return
        self.cache_grow(history, cost)

    cdef bint batch_is_valid(
        self, object workflow_id, object events, uint64_t expected, bint* projected
    ) except -1:
        """Whether the batch passes every check (else the shared checks say why); sets
        ``*projected`` when an event changes a projection."""
        cdef Py_ssize_t i, n = len(events)
        cdef int tag
        cdef object envelope, seq, owner
        cdef object number = get_slot(workflow_id, OFF_UUID_INT)
        for i in range(n):
            tag = tag_of(events[i])
            if tag < 0:
                return False
            if PROJECTED[tag]:
                projected[0] = True
        for i in range(n):
            envelope = get_slot(events[i], OFF_ENVELOPE)
            if type(envelope) is not EVENT_ENVELOPE:
                return False
            seq = get_slot(envelope, OFF_SEQ)
            if not u64_equals(seq, expected + 1 + i):
                return False
            owner = get_slot(envelope, OFF_OWNER)
            if owner is not workflow_id and (
                type(owner) is not WORKFLOW_ID or get_slot(owner, OFF_UUID_INT) != number
            ):
                return False
        return True

    # -- reads --------------------------------------------------------------------------

    cdef History history_of(self, object workflow_id):
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        return <History>self.histories.get(get_slot(workflow_id, OFF_UUID_INT))

    cdef Py_ssize_t start_of(self, object from_seq) except -1:
        """The position a read from ``from_seq`` starts at (any u64; 0 and 1 are the first)."""
        cdef uint64_t seq = 0
        if not u64_of(from_seq, &seq):
            seq = check_seq(from_seq, "from_seq")
        if seq > 0x7FFFFFFFFFFFFFFF:
            return 0x7FFFFFFFFFFFFFFF
        return seq - 1 if seq > 1 else 0

    def read_history(self, workflow_id):
        cdef History history
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        lock_acquire(self.lock)
        try:
            history = self.history_of(workflow_id)
            if history is None:
                return []
            return self.cache_read(history, 0)
        finally:
            lock_release(self.lock)

    def read_history_from(self, workflow_id, from_seq):
        cdef History history
        cdef Py_ssize_t index
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        index = self.start_of(from_seq)
        lock_acquire(self.lock)
        try:
            history = self.history_of(workflow_id)
            if history is None or index >= history.count:
                return []
            return self.cache_read(history, index)
        finally:
            lock_release(self.lock)

    def read_history_raw(self, workflow_id, from_seq=1):
        cdef History history
        cdef Py_ssize_t index
        if type(workflow_id) is not WORKFLOW_ID:
            check_workflow_id(workflow_id)
        index = self.start_of(from_seq)
        lock_acquire(self.lock)
        try:
            history = self.history_of(workflow_id)
            if history is None or index >= history.count:
                return MARKER
            return history.wire_from(index, history.count)
        finally:
            lock_release(self.lock)

    def read_run_chain(self, workflow_id):
        check_workflow_id(workflow_id)
        lock_acquire(self.lock)
        try:
            return self.projections.run_chain(get_slot(workflow_id, OFF_UUID_INT))
        finally:
            lock_release(self.lock)

    def list_workflow_ids(self):
        lock_acquire(self.lock)
        try:
            return self.projections.workflow_ids()
        finally:
            lock_release(self.lock)

    def list_active(self):
        lock_acquire(self.lock)
        try:
            return self.projections.active_ids()
        finally:
            lock_release(self.lock)

    def query(self, filter):
        check_filter(filter)
        lock_acquire(self.lock)
        try:
            return self.projections.query(filter)
        finally:
            lock_release(self.lock)

    # -- for benchmarks and tests -------------------------------------------------------

    def stored_bytes(self):
        """Bytes held by encoded histories and offset indexes (excluding Python objects)."""
        cdef Py_ssize_t total = 0
        for history in self.histories.values():
            total += (<History>history).stored_bytes()
        return total

    def cache_info(self):
        """``(budget, estimated cost, cached events)`` of the decoded-event cache."""
        cdef Py_ssize_t events = 0
        cdef History history = self.cache_head
        while history is not None:
            events += len(history.decoded)
            history = history.older
        return (self.cache_budget, self.cache_cost, events)
