# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled msgpack codec of events: twin of ``aion_store.wire._msgpack_py``.

The layout is docs/wire-format.md's, and both twins write the same bytes. Decoding builds
model objects directly: a fresh instance of the slotted dataclass gets each slot written
at the offset its member descriptor names (``aion_store._slots``), so neither the
validating constructor nor any intermediate list or dict runs. The fast decoder accepts
only the canonical form this package writes; on anything else it hands the input to the
pure decoder, which either reads it or raises the one canonical error message.

The file holds the field plans and the public functions; the writer and the reader are
``_msgpack_c_write.pxi`` and ``_msgpack_c_read.pxi``, the engine's own form of an event
``_msgpack_c_stored.pxi``. ``_msgpack_c.pxd`` declares what
the compiled engine (``aion_store._engine_c``) uses.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_DELTA_GET_DAYS,
    PyDateTime_DELTA_GET_MICROSECONDS,
    PyDateTime_DELTA_GET_SECONDS,
    import_datetime,
    timedelta_new,
)
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.long cimport (
    PyLong_AsLongLong,
    PyLong_AsUnsignedLongLong,
    PyLong_AsUnsignedLongLongMask,
    PyLong_FromLongLong,
    PyLong_FromUnsignedLongLong,
)
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isfinite
from libc.stdint cimport int16_t, int32_t, int64_t, int8_t, uint64_t, uint8_t
from libc.string cimport memcmp, memcpy

from aion_store._dates cimport (
    AION_END_MICROS,
    AION_MIN_MICROS,
    datetime_of_micros,
    micros_of_datetime,
)
from aion_store._slots cimport Py_TYPE, get_slot, new_instance, set_slot, slot_offset

import enum
from datetime import datetime as _datetime_class

from aion_store import _fields
from aion_store._text import a
from aion_store.events import VARIANTS, Event, EventEnvelope
from aion_store.ids import ActivityId, PackageVersion, TimerId, WorkflowId, _UuidId
from aion_store.payload import ContentType, Payload
from aion_store.schedule import TriggerSpec
from aion_store.search import AttributesKind, SearchAttributeMap
from aion_store.wire import _msgpack_py as _pure_codec
from aion_store.wire._common import is_history

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    bint PyUnicode_CheckExact(object value)
    bint PyBytes_CheckExact(object value)
    object PyNumber_Lshift(object left, object right)
    object PyNumber_Or(object left, object right)
    object PyNumber_And(object left, object right)
    object PyNumber_Rshift(object left, object right)

import_datetime()

cdef type datetime_type = _datetime_class
FORMAT_VERSION = _pure_codec.FORMAT_VERSION
cdef enum:
    MAX_FIELDS = 8  # the most fields after the envelope any record or variant has
    MAX_VARIANTS = 32  # the room VARIANT_TYPES has (checked against VARIANTS at import)

# Offsets of the fixed building blocks, resolved once at import.
cdef Py_ssize_t OFF_ENVELOPE = slot_offset(Event, "envelope")
cdef Py_ssize_t OFF_SEQ = slot_offset(EventEnvelope, "seq")
cdef Py_ssize_t OFF_RECORDED_AT = slot_offset(EventEnvelope, "recorded_at")
cdef Py_ssize_t OFF_OWNER = slot_offset(EventEnvelope, "workflow_id")
cdef Py_ssize_t OFF_UUID_INT = slot_offset(_UuidId, "_int")
cdef Py_ssize_t OFF_ACTIVITY = slot_offset(ActivityId, "_position")
cdef Py_ssize_t OFF_TIMER_NAME = slot_offset(TimerId, "_name")
cdef Py_ssize_t OFF_TIMER_POSITION = slot_offset(TimerId, "_position")
cdef Py_ssize_t OFF_PACKAGE_TEXT = slot_offset(PackageVersion, "_text")
cdef Py_ssize_t OFF_PAYLOAD_TYPE = slot_offset(Payload, "content_type")
cdef Py_ssize_t OFF_PAYLOAD_DATA = slot_offset(Payload, "data")
cdef Py_ssize_t OFF_ATTRIBUTES = slot_offset(SearchAttributeMap, "_data")
cdef Py_ssize_t OFF_CRON = slot_offset(TriggerSpec.Cron, "expression")
cdef Py_ssize_t OFF_INTERVAL = slot_offset(TriggerSpec.Interval, "period")

cdef object CONTENT_JSON = ContentType.JSON
cdef type EVENT_ENVELOPE = EventEnvelope
cdef type PAYLOAD = Payload
cdef type TIMER_ID = TimerId
cdef type ACTIVITY_ID = ActivityId
cdef type PACKAGE_VERSION = PackageVersion
cdef object ATTRIBUTE_MAP = SearchAttributeMap  # ABCMeta instances are not typed `type`
cdef type CRON = TriggerSpec.Cron
cdef type INTERVAL = TriggerSpec.Interval
cdef type WORKFLOW_ID = WorkflowId
cdef object SHIFT_64 = 64

# ---------------------------------------------------------------------------------------
# Field plans: for each record class, the kind and slot offset of every field.
# ---------------------------------------------------------------------------------------

cdef enum FieldKind:
    K_UINT
    K_STR
    K_BYTES
    K_TIMESTAMP
    K_UUID
    K_ACTIVITY_ID
    K_TIMER_ID
    K_PACKAGE_VERSION
    K_PAYLOAD
    K_ENUM
    K_RECORD
    K_TRIGGER
    K_ATTRIBUTES


cdef class Plan:
    """How to encode and decode one record class (or one event variant's own fields)."""

    cdef type cls
    cdef int count
    cdef int kinds[MAX_FIELDS]
    cdef bint optional[MAX_FIELDS]
    cdef Py_ssize_t offsets[MAX_FIELDS]
    cdef uint64_t minimum[MAX_FIELDS]
    cdef uint64_t maximum[MAX_FIELDS]
    # Per field: the id class (K_UUID), the members tuple (K_ENUM) or nested Plan (K_RECORD).
    cdef list extra
    # Per field: the {member: index} dict of a K_ENUM field.
    cdef list enum_index

    def __init__(self, type cls, fields):
        cdef int i
        self.cls = cls
        self.count = len(fields)
        if self.count > MAX_FIELDS:
            raise TypeError(f"{cls.__name__} has too many fields for the core")
        self.extra = []
        self.enum_index = []
        for i, field in enumerate(fields):
            kind = field.kind
            self.optional[i] = isinstance(kind, _fields.Optional)
            if self.optional[i]:
                kind = kind.inner
            self.offsets[i] = slot_offset(cls, field.name)
            self.minimum[i] = 0
            self.maximum[i] = 0
            extra = None
            index = None
            if isinstance(kind, _fields.UInt):
                self.kinds[i] = K_UINT
                self.minimum[i] = kind.minimum
                self.maximum[i] = kind.maximum
            elif isinstance(kind, _fields.Str):
                self.kinds[i] = K_STR
            elif isinstance(kind, _fields.Bytes):
                self.kinds[i] = K_BYTES
            elif isinstance(kind, _fields.Timestamp):
                self.kinds[i] = K_TIMESTAMP
            elif isinstance(kind, AttributesKind):
                self.kinds[i] = K_ATTRIBUTES
            elif isinstance(kind, _fields.Instance):
                target = kind.cls
                if issubclass(target, _UuidId):
                    self.kinds[i] = K_UUID
                    extra = target
                elif target is ActivityId:
                    self.kinds[i] = K_ACTIVITY_ID
                elif target is TimerId:
                    self.kinds[i] = K_TIMER_ID
                elif target is PackageVersion:
                    self.kinds[i] = K_PACKAGE_VERSION
                elif target is Payload:
                    self.kinds[i] = K_PAYLOAD
                elif target is TriggerSpec:
                    self.kinds[i] = K_TRIGGER
                elif issubclass(target, enum.Enum):
                    self.kinds[i] = K_ENUM
                    extra = tuple(target)
                    index = {member: position for position, member in enumerate(extra)}
                else:
                    self.kinds[i] = K_RECORD
                    extra = Plan(target, _fields.spec_of(target))
            else:
                raise TypeError(f"the core has no plan for {cls.__name__}.{field.name}")
            self.extra.append(extra)
            self.enum_index.append(index)


cdef list EVENT_PLANS = [Plan(variant, _fields.spec_of(variant)[1:]) for variant in VARIANTS]
cdef int VARIANT_COUNT = len(VARIANTS)
if VARIANT_COUNT > MAX_VARIANTS:
    raise ImportError(f"the core holds {MAX_VARIANTS} event variants, the model has {VARIANT_COUNT}")
cdef PyTypeObject* VARIANT_TYPES[MAX_VARIANTS]
for _tag, _variant in enumerate(VARIANTS):
    VARIANT_TYPES[_tag] = <PyTypeObject*>_variant


cdef int tag_of(object event) noexcept:
    """The variant tag of an event, or -1 for anything else (variants are final)."""
    cdef PyTypeObject* cls = Py_TYPE(event)
    cdef int tag
    for tag in range(VARIANT_COUNT):
        if VARIANT_TYPES[tag] == cls:
            return tag
    return -1

include "_msgpack_c_write.pxi"

include "_msgpack_c_read.pxi"

include "_msgpack_c_stored.pxi"

# ---------------------------------------------------------------------------------------
# Public entry points (``aion_store.wire`` uses these when the compiled path is active).
# ---------------------------------------------------------------------------------------


def to_msgpack(obj):
    """Encode like ``aion_store.wire._msgpack_py.to_msgpack``, events in compiled code."""
    cdef Buffer buf
    if isinstance(obj, Event) or type(obj) is list:
        buf.data = NULL
        buf.length = 0
        buf.capacity = 0
        try:
            put_byte(&buf, FORMAT_VERSION)
            if type(obj) is list:
                for index, event in enumerate(<list>obj):
                    if not isinstance(event, Event):
                        raise TypeError(
                            f"to_msgpack of a history: item {index} is {a(type(event).__name__)}"
                        )
                    put_event(&buf, event)
            else:
                put_event(&buf, obj)
            return buffer_to_bytes(&buf)
        finally:
            PyMem_Free(buf.data)
    return _pure_codec.to_msgpack(obj)


def from_msgpack(data, cls):
    """Decode like ``aion_store.wire._msgpack_py.from_msgpack``, events in compiled code."""
    cdef Cursor cur
    cdef const unsigned char* start
    cdef Py_ssize_t size
    cdef bint history = is_history(cls)
    cdef object event
    if not (history or (isinstance(cls, type) and issubclass(cls, Event))):
        return _pure_codec.from_msgpack(data, cls)
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            return _pure_codec.from_msgpack(data, cls)
        data = bytes(data)
    start = <const unsigned char*>PyBytes_AS_STRING(data)
    size = PyBytes_GET_SIZE(data)
    try:
        if size < 2 or start[0] != FORMAT_VERSION:
            raise Fallback()
        if history:
            return take_events(start + 1, start + size)
        cur.position = start + 1
        cur.end = start + size
        event = take_event(&cur, Context())
        if cur.position != cur.end or not isinstance(event, cls):
            raise Fallback()
        return event
    except (Fallback, UnicodeDecodeError, ValueError, OverflowError):
        global fallback_count
        fallback_count += 1
        return _pure_codec.from_msgpack(data, cls)


cdef Py_ssize_t fallback_count = 0


def encode_event_bodies(events):
    """Each event's msgpack array (a history's unit, no version byte), as a list of bytes."""
    cdef Buffer buf
    cdef list bodies = []
    buf.data = NULL
    buf.length = 0
    buf.capacity = 0
    try:
        for event in events:
            buf.length = 0
            put_event(&buf, event)
            bodies.append(buffer_to_bytes(&buf))
        return bodies
    finally:
        PyMem_Free(buf.data)


def decode_stored_events(list bodies, object workflow_id, uint64_t first_seq):
    """Decode stored event bodies that must be events ``first_seq``, ``first_seq + 1`` ...
    of ``workflow_id``, like ``aion_store.wire._msgpack_py.decode_stored_events``.

    The events share the ``workflow_id`` object given. A body the fast path does not
    read, or that is not the event it must be, goes to the pure decoder, which either
    reads it or raises the one canonical error.
    """
    cdef Cursor cur
    cdef Context ctx = Context()
    cdef list events = []
    cdef Py_ssize_t index
    cdef object body, event, envelope
    cdef bint whole
    uuid_bytes(workflow_id, ctx.last_owner)
    ctx.owner = workflow_id
    for index in range(len(bodies)):
        body = bodies[index]
        event = None
        if type(body) is bytes:
            cur.position = <const unsigned char*>PyBytes_AS_STRING(body)
            cur.end = cur.position + PyBytes_GET_SIZE(body)
            try:
                event = take_event(&cur, ctx)
            except (Fallback, UnicodeDecodeError, ValueError, OverflowError):
                event = None
            if event is not None:
                envelope = get_slot(event, OFF_ENVELOPE)
                whole = (
                    cur.position == cur.end
                    and get_slot(envelope, OFF_OWNER) is workflow_id
                    and PyLong_AsUnsignedLongLong(get_slot(envelope, OFF_SEQ)) == first_seq + index
                )
                if not whole:
                    event = None
        if event is None:
            global fallback_count
            fallback_count += 1
            ctx.owner = workflow_id
            uuid_bytes(workflow_id, ctx.last_owner)
            event = _pure_codec.decode_stored_event(body, workflow_id, first_seq + index)
        events.append(event)
    return events




def fallbacks():
    """How many decodes the fast path handed to the pure decoder (for tests)."""
    return fallback_count
