# cython: language_level=3
"""The compiled core: the msgpack codec of events and the InMemoryStore engine.

The layout is docs/wire-format.md's; ``aion_store.wire._msgpack`` is its readable twin.
Decoding builds event objects directly: a fresh instance of the slotted dataclass gets
each slot written at the offset its member descriptor names, so neither the validating
constructor nor any intermediate list or dict runs. The fast decoder accepts only the
canonical form this package writes; on anything else it hands the input to the pure
decoder, which either reads it or raises the one canonical error message.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_DELTA_GET_DAYS,
    PyDateTime_DELTA_GET_MICROSECONDS,
    PyDateTime_DELTA_GET_SECONDS,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    datetime_new,
    import_datetime,
    timedelta_new,
)
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.long cimport (
    PyLong_AsLongLong,
    PyLong_AsUnsignedLongLong,
    PyLong_FromLongLong,
    PyLong_FromUnsignedLongLong,
)
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.math cimport isfinite
from libc.stdint cimport int16_t, int32_t, int64_t, int8_t, uint64_t, uint8_t
from libc.string cimport memcmp, memcpy

import enum
import types
from datetime import datetime as _datetime_class
from datetime import timezone

from aion_store import _fields
from aion_store._text import a
from aion_store.events import VARIANTS, Event, EventEnvelope
from aion_store.ids import ActivityId, PackageVersion, TimerId, _UuidId
from aion_store.payload import ContentType, Payload
from aion_store.schedule import TriggerSpec
from aion_store.search import AttributesKind, SearchAttributeMap
from aion_store.wire import _msgpack as _pure_codec
from aion_store.wire._common import is_history

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    PyObject* PyType_GenericAlloc(PyTypeObject* cls, Py_ssize_t nitems) except NULL
    PyTypeObject* Py_TYPE(object obj)
    void PyObject_GC_UnTrack(void* obj)
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    bint PyUnicode_CheckExact(object value)
    bint PyBytes_CheckExact(object value)
    bint PyLong_CheckExact(object value)
    object PyNumber_Lshift(object left, object right)
    object PyNumber_Or(object left, object right)
    object PyNumber_And(object left, object right)
    object PyNumber_Rshift(object left, object right)

import_datetime()

UTC = timezone.utc
cdef type datetime_type = _datetime_class
FORMAT_VERSION = _pure_codec.FORMAT_VERSION
DEF MAX_FIELDS = 8

# ---------------------------------------------------------------------------------------
# Slot access: write and read a slotted object's fields at their member offsets.
# ---------------------------------------------------------------------------------------


cdef Py_ssize_t slot_offset(object cls, str name) except -1:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            if type(descriptor) is not types.MemberDescriptorType:
                raise TypeError(f"{cls.__name__}.{name} is not a slot")
            return (<PyMemberDescrObject*>descriptor).d_member.offset
    raise TypeError(f"{cls.__name__} has no slot {name!r}")


cdef inline object new_instance(object cls):
    """A fresh, uninitialised instance (every slot NULL) of a slotted model class.

    The instance is untracked by the cycle collector, as CPython does for tuples of
    atoms: model objects are immutable and hold only atoms or other model objects, so
    they cannot take part in a reference cycle, and a decoded history of thousands of
    events no longer makes every collection walk it.
    """
    cdef PyObject* raw = PyType_GenericAlloc(<PyTypeObject*>cls, 0)
    PyObject_GC_UnTrack(raw)
    cdef object obj = <object>raw
    Py_DECREF(obj)
    return obj


cdef inline void set_slot(object obj, Py_ssize_t offset, object value):
    # The slot of a fresh instance is NULL, so there is nothing to release.
    Py_INCREF(value)
    (<PyObject**>((<char*><PyObject*>obj) + offset))[0] = <PyObject*>value


cdef inline object get_slot(object obj, Py_ssize_t offset):
    cdef PyObject* value = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if value == NULL:
        raise TypeError(f"cannot encode {a(type(obj).__name__)} with an unset field")
    return <object>value


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
cdef object SHIFT_64 = 64
cdef object MASK_64 = (1 << 64) - 1

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
cdef PyTypeObject* VARIANT_TYPES[32]
for _tag, _variant in enumerate(VARIANTS):
    VARIANT_TYPES[_tag] = <PyTypeObject*>_variant


cdef inline int tag_of(object event) noexcept:
    """The variant tag of an event, or -1 for anything else (variants are final)."""
    cdef PyTypeObject* cls = Py_TYPE(event)
    cdef int tag
    for tag in range(VARIANT_COUNT):
        if VARIANT_TYPES[tag] == cls:
            return tag
    return -1

# ---------------------------------------------------------------------------------------
# Dates: microseconds since the Unix epoch <-> proleptic Gregorian fields.
# ---------------------------------------------------------------------------------------

# Microseconds from 1970-01-01 to 0001-01-01 and to 10000-01-01 (exclusive bound).
cdef int64_t MIN_MICROS = -62135596800000000
cdef int64_t END_MICROS = 253402300800000000


cdef inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) noexcept:
    y -= m <= 2
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline void civil_from_days(int64_t z, int* year, int* month, int* day) noexcept:
    z += 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t y = yoe + era * 400
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int64_t d = doy - (153 * mp + 2) // 5 + 1
    cdef int64_t m = mp + (3 if mp < 10 else -9)
    year[0] = <int>(y + (m <= 2))
    month[0] = <int>m
    day[0] = <int>d


cdef inline int64_t micros_of_datetime(object value):
    cdef int64_t days = days_from_civil(
        PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value), PyDateTime_GET_DAY(value)
    )
    return (
        (days * 86400
         + PyDateTime_DATE_GET_HOUR(value) * 3600
         + PyDateTime_DATE_GET_MINUTE(value) * 60
         + PyDateTime_DATE_GET_SECOND(value)) * 1000000
        + PyDateTime_DATE_GET_MICROSECOND(value)
    )


# Typed, so that the arithmetic below stays in C (a bare literal this large would be a
# Python int, and every decoded timestamp would pay for Python big-integer division).
cdef int64_t MICROS_PER_DAY = 86400000000
cdef int64_t MICROS_PER_SECOND = 1000000


cdef inline object datetime_of_micros(int64_t micros):
    # C division truncates toward zero; step back a day for instants before the epoch.
    cdef int64_t days = micros / MICROS_PER_DAY
    cdef int64_t rest = micros - days * MICROS_PER_DAY
    cdef int year, month, day
    if rest < 0:
        days -= 1
        rest += MICROS_PER_DAY
    civil_from_days(days, &year, &month, &day)
    cdef int64_t seconds = rest / MICROS_PER_SECOND
    return datetime_new(
        year, month, day,
        <int>(seconds // 3600), <int>((seconds // 60) % 60), <int>(seconds % 60),
        <int>(rest % MICROS_PER_SECOND), UTC,
    )


cdef inline int64_t floor_div(int64_t a, int64_t b) noexcept:
    cdef int64_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q

# ---------------------------------------------------------------------------------------
# Writing: a growable byte buffer and msgpack's minimal encodings (as msgpack-python).
# ---------------------------------------------------------------------------------------

cdef struct Buffer:
    char* data
    Py_ssize_t length
    Py_ssize_t capacity


cdef int buffer_reserve(Buffer* buf, Py_ssize_t extra) except -1:
    cdef Py_ssize_t needed = buf.length + extra
    cdef Py_ssize_t capacity
    cdef char* grown
    if needed <= buf.capacity:
        return 0
    capacity = buf.capacity + (buf.capacity >> 1) + 64
    if capacity < needed:
        capacity = needed
    grown = <char*>PyMem_Realloc(buf.data, capacity)
    if grown == NULL:
        raise MemoryError()
    buf.data = grown
    buf.capacity = capacity
    return 0


cdef inline int put_raw(Buffer* buf, const char* data, Py_ssize_t size) except -1:
    buffer_reserve(buf, size)
    memcpy(buf.data + buf.length, data, size)
    buf.length += size
    return 0


cdef inline int put_byte(Buffer* buf, uint8_t value) except -1:
    if buf.length >= buf.capacity:
        buffer_reserve(buf, 1)
    buf.data[buf.length] = <char>value
    buf.length += 1
    return 0


cdef inline int put_be(Buffer* buf, uint8_t head, uint64_t value, int size) except -1:
    cdef int i
    buffer_reserve(buf, size + 1)
    cdef unsigned char* out = <unsigned char*>(buf.data + buf.length)
    out[0] = head
    for i in range(size):
        out[size - i] = <unsigned char>(value >> (8 * i))
    buf.length += size + 1
    return 0


cdef inline int put_uint(Buffer* buf, uint64_t value) except -1:
    if value < 0x80:
        return put_byte(buf, <uint8_t>value)
    if value <= 0xFF:
        return put_be(buf, 0xCC, value, 1)
    if value <= 0xFFFF:
        return put_be(buf, 0xCD, value, 2)
    if value <= 0xFFFFFFFF:
        return put_be(buf, 0xCE, value, 4)
    return put_be(buf, 0xCF, value, 8)


cdef inline int put_int(Buffer* buf, int64_t value) except -1:
    if value >= 0:
        return put_uint(buf, <uint64_t>value)
    if value >= -32:
        return put_byte(buf, <uint8_t>(<int8_t>value))
    if value >= -128:
        return put_be(buf, 0xD0, <uint64_t>value, 1)
    if value >= -32768:
        return put_be(buf, 0xD1, <uint64_t>value, 2)
    if value >= -2147483648:
        return put_be(buf, 0xD2, <uint64_t>value, 4)
    return put_be(buf, 0xD3, <uint64_t>value, 8)


cdef inline int put_array_header(Buffer* buf, Py_ssize_t count) except -1:
    if count < 16:
        return put_byte(buf, 0x90 | <uint8_t>count)
    if count <= 0xFFFF:
        return put_be(buf, 0xDC, count, 2)
    return put_be(buf, 0xDD, count, 4)


cdef inline int put_map_header(Buffer* buf, Py_ssize_t count) except -1:
    if count < 16:
        return put_byte(buf, 0x80 | <uint8_t>count)
    if count <= 0xFFFF:
        return put_be(buf, 0xDE, count, 2)
    return put_be(buf, 0xDF, count, 4)


cdef int put_str(Buffer* buf, object text) except -1:
    cdef Py_ssize_t size
    if not PyUnicode_CheckExact(text):
        raise TypeError(f"cannot encode {type(text).__name__} as a string")
    cdef const char* data = PyUnicode_AsUTF8AndSize(text, &size)
    if size < 32:
        put_byte(buf, 0xA0 | <uint8_t>size)
    elif size <= 0xFF:
        put_be(buf, 0xD9, size, 1)
    elif size <= 0xFFFF:
        put_be(buf, 0xDA, size, 2)
    else:
        put_be(buf, 0xDB, size, 4)
    return put_raw(buf, data, size)


cdef int put_bin(Buffer* buf, const char* data, Py_ssize_t size) except -1:
    if size <= 0xFF:
        put_be(buf, 0xC4, size, 1)
    elif size <= 0xFFFF:
        put_be(buf, 0xC5, size, 2)
    else:
        put_be(buf, 0xC6, size, 4)
    return put_raw(buf, data, size)


cdef int put_bytes(Buffer* buf, object data) except -1:
    if not PyBytes_CheckExact(data):
        raise TypeError(f"cannot encode {type(data).__name__} as binary")
    return put_bin(buf, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef int uuid_bytes(object identifier, unsigned char* raw) except -1:
    """The 16 big-endian bytes of a UUID id's integer."""
    cdef object number = get_slot(identifier, OFF_UUID_INT)
    cdef uint64_t high = PyLong_AsUnsignedLongLong(PyNumber_Rshift(number, SHIFT_64))
    cdef uint64_t low = PyLong_AsUnsignedLongLong(PyNumber_And(number, MASK_64))
    cdef int i
    for i in range(8):
        raw[7 - i] = <unsigned char>(high >> (8 * i))
        raw[15 - i] = <unsigned char>(low >> (8 * i))
    return 0


cdef int put_uuid(Buffer* buf, object identifier) except -1:
    cdef unsigned char raw[16]
    uuid_bytes(identifier, raw)
    put_byte(buf, 0xC4)
    put_byte(buf, 16)
    return put_raw(buf, <char*>raw, 16)


cdef union union_bits:
    double real
    uint64_t whole


cdef inline int put_raw_be64(Buffer* buf, uint64_t value) except -1:
    cdef int i
    buffer_reserve(buf, 8)
    cdef unsigned char* out = <unsigned char*>(buf.data + buf.length)
    for i in range(8):
        out[7 - i] = <unsigned char>(value >> (8 * i))
    buf.length += 8
    return 0


cdef int put_search_value(Buffer* buf, object value) except -1:
    cdef type cls = type(value)
    cdef double number
    cdef union_bits bits
    cdef int64_t micros, seconds, nanos
    cdef uint64_t packed
    if cls is str:
        return put_str(buf, value)
    if cls is bool:
        return put_byte(buf, 0xC3 if value else 0xC2)
    if cls is int:
        return put_int(buf, PyLong_AsLongLong(value))
    if cls is float:
        bits.real = PyFloat_AS_DOUBLE(value)
        return put_be(buf, 0xCB, bits.whole, 8)
    if cls is tuple:
        put_array_header(buf, len(value))
        for item in value:
            put_str(buf, item)
        return 0
    if cls is datetime_type:
        micros = micros_of_datetime(value)
        seconds = floor_div(micros, 1000000)
        nanos = (micros - seconds * 1000000) * 1000
        if seconds >> 34 == 0:
            packed = (<uint64_t>nanos << 34) | <uint64_t>seconds
            if (packed >> 32) == 0:
                put_byte(buf, 0xD6)
                return put_be(buf, 0xFF, packed, 4)
            put_byte(buf, 0xD7)
            return put_be(buf, 0xFF, packed, 8)
        put_byte(buf, 0xC7)
        put_byte(buf, 12)
        put_be(buf, 0xFF, <uint64_t>nanos, 4)
        return put_raw_be64(buf, <uint64_t>seconds)
    raise TypeError(f"cannot encode {cls.__name__} as a search attribute value")


cdef int put_attributes(Buffer* buf, object attributes) except -1:
    if type(attributes) is not ATTRIBUTE_MAP:
        raise TypeError("search attributes must be a SearchAttributeMap")
    cdef dict data = <dict>get_slot(attributes, OFF_ATTRIBUTES)
    put_map_header(buf, len(data))
    for key, value in data.items():
        put_str(buf, key)
        put_search_value(buf, value)
    return 0


cdef int put_fields(Buffer* buf, Plan plan, object record) except -1:
    cdef int i
    cdef object value
    for i in range(plan.count):
        value = get_slot(record, plan.offsets[i])
        if value is None and plan.optional[i]:
            put_byte(buf, 0xC0)
            continue
        put_field(buf, plan, i, value)
    return 0


cdef int put_field(Buffer* buf, Plan plan, int i, object value) except -1:
    cdef int kind = plan.kinds[i]
    cdef object inner
    cdef PyObject* index
    if kind == K_UINT:
        return put_uint(buf, PyLong_AsUnsignedLongLong(value))
    if kind == K_STR:
        return put_str(buf, value)
    if kind == K_TIMESTAMP:
        if type(value) is not datetime_type:
            raise TypeError("cannot encode a non-datetime timestamp")
        return put_int(buf, micros_of_datetime(value))
    if kind == K_UUID:
        if type(value) is not plan.extra[i]:
            raise TypeError(f"expected {a(plan.extra[i].__name__)}")
        return put_uuid(buf, value)
    if kind == K_PAYLOAD:
        if type(value) is not PAYLOAD:
            raise TypeError("expected a Payload")
        return put_bytes(buf, get_slot(value, OFF_PAYLOAD_DATA))
    if kind == K_ACTIVITY_ID:
        if type(value) is not ACTIVITY_ID:
            raise TypeError("expected an ActivityId")
        return put_uint(buf, PyLong_AsUnsignedLongLong(get_slot(value, OFF_ACTIVITY)))
    if kind == K_TIMER_ID:
        if type(value) is not TIMER_ID:
            raise TypeError("expected a TimerId")
        inner = get_slot(value, OFF_TIMER_NAME)
        if inner is not None:
            return put_str(buf, inner)
        return put_uint(buf, PyLong_AsUnsignedLongLong(get_slot(value, OFF_TIMER_POSITION)))
    if kind == K_PACKAGE_VERSION:
        if type(value) is not PACKAGE_VERSION:
            raise TypeError("expected a PackageVersion")
        return put_str(buf, get_slot(value, OFF_PACKAGE_TEXT))
    if kind == K_ENUM:
        index = PyDict_GetItem(<dict>plan.enum_index[i], value)
        if index == NULL:
            raise TypeError(f"expected {a(type(plan.extra[i][0]).__name__)}")
        return put_uint(buf, PyLong_AsUnsignedLongLong(<object>index))
    if kind == K_RECORD:
        inner = plan.extra[i]
        if type(value) is not (<Plan>inner).cls:
            raise TypeError(f"expected {a((<Plan>inner).cls.__name__)}")
        put_array_header(buf, (<Plan>inner).count)
        return put_fields(buf, <Plan>inner, value)
    if kind == K_TRIGGER:
        if type(value) is CRON:
            return put_str(buf, get_slot(value, OFF_CRON))
        if type(value) is INTERVAL:
            inner = get_slot(value, OFF_INTERVAL)
            put_byte(buf, 0x92)
            put_uint(
                buf,
                <uint64_t>PyDateTime_DELTA_GET_DAYS(inner) * 86400
                + <uint64_t>PyDateTime_DELTA_GET_SECONDS(inner),
            )
            return put_uint(buf, <uint64_t>PyDateTime_DELTA_GET_MICROSECONDS(inner))
        raise TypeError("expected a TriggerSpec")
    if kind == K_ATTRIBUTES:
        return put_attributes(buf, value)
    if kind == K_BYTES:
        return put_bytes(buf, value)
    raise TypeError("unknown field kind")


cdef int put_event(Buffer* buf, object event, const unsigned char* owner=NULL) except -1:
    """Append one event's array: [tag, seq, recorded_at, workflow_id, *fields].

    ``owner``, when given, is the 16 bytes of the envelope's workflow id, already known
    (the store checked the owner), which saves converting the id's integer again.
    """
    cdef int tag = tag_of(event)
    if tag < 0:
        raise TypeError(f"expected an Event, got {type(event).__name__}")
    cdef Plan plan = <Plan>EVENT_PLANS[tag]
    cdef object envelope = get_slot(event, OFF_ENVELOPE)
    if type(envelope) is not EVENT_ENVELOPE:
        raise TypeError("event.envelope must be an EventEnvelope")
    put_array_header(buf, 4 + plan.count)
    put_byte(buf, <uint8_t>tag)
    put_uint(buf, PyLong_AsUnsignedLongLong(get_slot(envelope, OFF_SEQ)))
    cdef object recorded_at = get_slot(envelope, OFF_RECORDED_AT)
    if type(recorded_at) is not datetime_type:
        raise TypeError("envelope.recorded_at must be a datetime")
    put_int(buf, micros_of_datetime(recorded_at))
    if owner == NULL:
        put_uuid(buf, get_slot(envelope, OFF_OWNER))
    else:
        put_byte(buf, 0xC4)
        put_byte(buf, 16)
        put_raw(buf, <const char*>owner, 16)
    return put_fields(buf, plan, event)


cdef bytes buffer_to_bytes(Buffer* buf):
    return PyBytes_FromStringAndSize(buf.data, buf.length)

# ---------------------------------------------------------------------------------------
# Reading: a bounds-checked cursor; any surprise raises Fallback (the pure codec decides).
# ---------------------------------------------------------------------------------------


class Fallback(Exception):
    """The fast decoder met something outside the canonical form."""


cdef struct Cursor:
    const unsigned char* position
    const unsigned char* end


cdef int fallback() except -1:
    raise Fallback()


cdef inline uint64_t take_be(Cursor* cur, int size) except? 0xFFFFFFFFFFFFFFFF:
    cdef uint64_t value = 0
    cdef int i
    if cur.end - cur.position < size:
        fallback()
    for i in range(size):
        value = (value << 8) | cur.position[i]
    cur.position += size
    return value


cdef inline uint8_t take_byte(Cursor* cur) except? 0xFF:
    if cur.position >= cur.end:
        fallback()
    cdef uint8_t value = cur.position[0]
    cur.position += 1
    return value


cdef inline uint64_t take_uint(Cursor* cur) except? 0xFFFFFFFFFFFFFFFF:
    """An unsigned integer in any width (negative encodings are a fallback)."""
    cdef uint8_t head = take_byte(cur)
    if head < 0x80:
        return head
    if head == 0xCC:
        return take_be(cur, 1)
    if head == 0xCD:
        return take_be(cur, 2)
    if head == 0xCE:
        return take_be(cur, 4)
    if head == 0xCF:
        return take_be(cur, 8)
    fallback()
    return 0


cdef inline int64_t take_int(Cursor* cur) except? -1:
    """A signed integer that fits int64 (a uint64 above it is a fallback)."""
    cdef uint8_t head = take_byte(cur)
    cdef uint64_t unsigned_value
    if head < 0x80:
        return head
    if head >= 0xE0:
        return <int8_t>head
    if head == 0xD0:
        return <int8_t>take_be(cur, 1)
    if head == 0xD1:
        return <int16_t>take_be(cur, 2)
    if head == 0xD2:
        return <int32_t>take_be(cur, 4)
    if head == 0xD3:
        return <int64_t>take_be(cur, 8)
    if head == 0xCC:
        return take_be(cur, 1)
    if head == 0xCD:
        return take_be(cur, 2)
    if head == 0xCE:
        return take_be(cur, 4)
    if head == 0xCF:
        unsigned_value = take_be(cur, 8)
        if unsigned_value > 0x7FFFFFFFFFFFFFFF:
            fallback()
        return <int64_t>unsigned_value
    fallback()
    return 0


cdef inline Py_ssize_t checked_count(Cursor* cur, uint64_t count, uint64_t item_size) except -1:
    """A declared length, refused unless the input still holds ``item_size`` bytes per
    item (the least an item can take), so nothing is allocated for a length that lies.
    The comparison is unsigned, before any cast to the signed size type."""
    if count * item_size > <uint64_t>(cur.end - cur.position):
        fallback()
    return <Py_ssize_t>count


cdef inline Py_ssize_t take_array(Cursor* cur) except -1:
    cdef uint8_t head = take_byte(cur)
    if 0x90 <= head <= 0x9F:
        return checked_count(cur, head & 0x0F, 1)
    if head == 0xDC:
        return checked_count(cur, take_be(cur, 2), 1)
    if head == 0xDD:
        return checked_count(cur, take_be(cur, 4), 1)
    return fallback()


cdef inline Py_ssize_t take_map(Cursor* cur) except -1:
    cdef uint8_t head = take_byte(cur)
    if 0x80 <= head <= 0x8F:
        return checked_count(cur, head & 0x0F, 2)
    if head == 0xDE:
        return checked_count(cur, take_be(cur, 2), 2)
    if head == 0xDF:
        return checked_count(cur, take_be(cur, 4), 2)
    return fallback()


cdef inline Py_ssize_t str_length(Cursor* cur, uint8_t head) except -1:
    """The byte length of a str whose header byte is ``head``, checked against the input."""
    if 0xA0 <= head <= 0xBF:
        return checked_count(cur, head & 0x1F, 1)
    if head == 0xD9:
        return checked_count(cur, take_be(cur, 1), 1)
    if head == 0xDA:
        return checked_count(cur, take_be(cur, 2), 1)
    if head == 0xDB:
        return checked_count(cur, take_be(cur, 4), 1)
    return fallback()


cdef inline bint at_str(Cursor* cur) noexcept:
    if cur.position >= cur.end:
        return False
    cdef uint8_t head = cur.position[0]
    return (0xA0 <= head <= 0xBF) or head == 0xD9 or head == 0xDA or head == 0xDB


cdef inline object take_str(Cursor* cur):
    cdef Py_ssize_t size = str_length(cur, take_byte(cur))
    cdef object text = PyUnicode_DecodeUTF8(<const char*>cur.position, size, NULL)
    cur.position += size
    return text


cdef inline Py_ssize_t take_bin_length(Cursor* cur) except -1:
    """The byte length of a bin, checked against the input."""
    cdef uint8_t head = take_byte(cur)
    if head == 0xC4:
        return checked_count(cur, take_be(cur, 1), 1)
    if head == 0xC5:
        return checked_count(cur, take_be(cur, 2), 1)
    if head == 0xC6:
        return checked_count(cur, take_be(cur, 4), 1)
    return fallback()


cdef inline bytes take_bytes(Cursor* cur):
    cdef Py_ssize_t size = take_bin_length(cur)
    cdef bytes data = PyBytes_FromStringAndSize(<const char*>cur.position, size)
    cur.position += size
    return data


cdef inline bint take_nil(Cursor* cur) noexcept:
    if cur.position < cur.end and cur.position[0] == 0xC0:
        cur.position += 1
        return True
    return False


cdef inline object take_timestamp(Cursor* cur):
    cdef int64_t micros = take_int(cur)
    if micros < MIN_MICROS or micros >= END_MICROS:
        fallback()
    return datetime_of_micros(micros)


cdef object take_uuid(Cursor* cur, type cls):
    if take_byte(cur) != 0xC4 or take_byte(cur) != 16 or cur.end - cur.position < 16:
        fallback()
    cdef uint64_t high = take_be(cur, 8)
    cdef uint64_t low = take_be(cur, 8)
    cdef object number
    if high == 0:
        number = PyLong_FromUnsignedLongLong(low)
    else:
        number = PyNumber_Or(
            PyNumber_Lshift(PyLong_FromUnsignedLongLong(high), SHIFT_64),
            PyLong_FromUnsignedLongLong(low),
        )
    cdef object identifier = new_instance(cls)
    set_slot(identifier, OFF_UUID_INT, number)
    return identifier


cdef object take_search_value(Cursor* cur):
    if cur.position >= cur.end:
        fallback()
    cdef uint8_t head = cur.position[0]
    cdef Py_ssize_t size, i
    cdef union_bits bits
    cdef object items, item
    cdef uint64_t packed
    cdef int64_t seconds, nanos
    if (0xA0 <= head <= 0xBF) or head == 0xD9 or head == 0xDA or head == 0xDB:
        return take_str(cur)
    if head == 0xC2 or head == 0xC3:
        cur.position += 1
        return head == 0xC3
    if head < 0x80 or head >= 0xE0 or 0xCC <= head <= 0xCF or 0xD0 <= head <= 0xD3:
        return PyLong_FromLongLong(take_int(cur))
    if head == 0xCB:
        cur.position += 1
        bits.whole = take_be(cur, 8)
        if not isfinite(bits.real):
            fallback()
        return PyFloat_FromDouble(bits.real)
    if 0x90 <= head <= 0x9F or head == 0xDC or head == 0xDD:
        size = take_array(cur)
        items = PyTuple_New(size)
        for i in range(size):
            item = take_str(cur)
            Py_INCREF(item)
            PyTuple_SET_ITEM(items, i, item)
        return items
    if head == 0xD6 or head == 0xD7 or head == 0xC7:
        cur.position += 1
        if head == 0xC7 and take_byte(cur) != 12:
            fallback()
        if take_byte(cur) != 0xFF:
            fallback()
        if head == 0xD6:
            seconds = <int64_t>take_be(cur, 4)
            nanos = 0
        elif head == 0xD7:
            packed = take_be(cur, 8)
            nanos = <int64_t>(packed >> 34)
            seconds = <int64_t>(packed & ((<uint64_t>1 << 34) - 1))
        else:
            # timestamp 96: unsigned 32-bit nanoseconds, then seconds as a signed int64
            nanos = <int64_t>take_be(cur, 4)
            seconds = <int64_t>take_be(cur, 8)
        if nanos >= 1000000000 or seconds < MIN_MICROS // 1000000 or seconds >= END_MICROS // 1000000:
            fallback()
        return datetime_of_micros(seconds * 1000000 + nanos // 1000)
    return fallback()


cdef object take_attributes(Cursor* cur):
    cdef Py_ssize_t count = take_map(cur)
    cdef Py_ssize_t i
    cdef dict data = {}
    cdef object key
    for i in range(count):
        key = take_str(cur)
        PyDict_SetItem(data, key, take_search_value(cur))
    cdef object attributes = new_instance(ATTRIBUTE_MAP)
    set_slot(attributes, OFF_ATTRIBUTES, data)
    return attributes


cdef class Context:
    """What one decode call shares between events: the last workflow id (so one history
    shares one ``WorkflowId`` object) and the last activity id (scheduled, started and
    completed events of one activity follow each other)."""

    cdef unsigned char last_owner[16]
    cdef object owner
    cdef uint64_t last_position
    cdef object activity


cdef object take_field(Cursor* cur, Plan plan, int i, Context ctx):
    cdef int kind = plan.kinds[i]
    cdef uint64_t number, fraction
    cdef object value, inner
    cdef Py_ssize_t size
    if plan.optional[i] and take_nil(cur):
        return None
    if kind == K_UINT:
        number = take_uint(cur)
        if number < plan.minimum[i] or number > plan.maximum[i]:
            fallback()
        return PyLong_FromUnsignedLongLong(number)
    if kind == K_STR:
        return take_str(cur)
    if kind == K_TIMESTAMP:
        return take_timestamp(cur)
    if kind == K_PAYLOAD:
        value = new_instance(PAYLOAD)
        set_slot(value, OFF_PAYLOAD_TYPE, CONTENT_JSON)
        set_slot(value, OFF_PAYLOAD_DATA, take_bytes(cur))
        return value
    if kind == K_UUID:
        return take_uuid(cur, <type>plan.extra[i])
    if kind == K_ACTIVITY_ID:
        number = take_uint(cur)
        if ctx.activity is not None and ctx.last_position == number:
            return ctx.activity
        value = new_instance(ACTIVITY_ID)
        set_slot(value, OFF_ACTIVITY, PyLong_FromUnsignedLongLong(number))
        ctx.activity = value
        ctx.last_position = number
        return value
    if kind == K_TIMER_ID:
        value = new_instance(TIMER_ID)
        if at_str(cur):
            inner = take_str(cur)
            if not inner:
                fallback()
            set_slot(value, OFF_TIMER_NAME, inner)
            set_slot(value, OFF_TIMER_POSITION, None)
        else:
            set_slot(value, OFF_TIMER_NAME, None)
            set_slot(value, OFF_TIMER_POSITION, PyLong_FromUnsignedLongLong(take_uint(cur)))
        return value
    if kind == K_PACKAGE_VERSION:
        value = new_instance(PACKAGE_VERSION)
        set_slot(value, OFF_PACKAGE_TEXT, take_str(cur))
        return value
    if kind == K_ENUM:
        inner = plan.extra[i]
        number = take_uint(cur)
        if number >= <uint64_t>len(<tuple>inner):
            fallback()
        return (<tuple>inner)[number]
    if kind == K_RECORD:
        inner = plan.extra[i]
        if take_array(cur) != (<Plan>inner).count:
            fallback()
        value = new_instance((<Plan>inner).cls)
        take_fields(cur, <Plan>inner, value, ctx)
        return value
    if kind == K_TRIGGER:
        if at_str(cur):
            value = new_instance(CRON)
            set_slot(value, OFF_CRON, take_str(cur))
            return value
        if take_array(cur) != 2:
            fallback()
        # Both parts stay unsigned until they are known to fit the int the timedelta takes.
        number = take_uint(cur)
        fraction = take_uint(cur)
        if fraction >= 1000000 or number >= 86400 * <uint64_t>1000000000 or (number == 0 and fraction == 0):
            fallback()
        value = new_instance(INTERVAL)
        set_slot(
            value,
            OFF_INTERVAL,
            timedelta_new(<int>(number // 86400), <int>(number % 86400), <int>fraction),
        )
        return value
    if kind == K_ATTRIBUTES:
        return take_attributes(cur)
    if kind == K_BYTES:
        return take_bytes(cur)
    return fallback()


cdef int take_fields(Cursor* cur, Plan plan, object record, Context ctx) except -1:
    cdef int i
    for i in range(plan.count):
        set_slot(record, plan.offsets[i], take_field(cur, plan, i, ctx))
    return 0


cdef object take_owner(Cursor* cur, Context ctx):
    cdef object value
    if (
        ctx.owner is not None
        and cur.end - cur.position >= 18
        and cur.position[0] == 0xC4
        and cur.position[1] == 16
        and memcmp(cur.position + 2, ctx.last_owner, 16) == 0
    ):
        cur.position += 18
        return ctx.owner
    cdef const unsigned char* start = cur.position + 2
    value = take_uuid(cur, WORKFLOW_ID)
    memcpy(ctx.last_owner, start, 16)
    ctx.owner = value
    return value


cdef object take_event(Cursor* cur, object owner, Context ctx):
    """Read one event. ``owner`` (the history's WorkflowId) replaces decoding the id."""
    cdef Py_ssize_t count = take_array(cur)
    cdef uint64_t tag = take_uint(cur)
    if tag >= <uint64_t>VARIANT_COUNT:
        fallback()
    cdef Plan plan = <Plan>EVENT_PLANS[tag]
    if count != 4 + plan.count:
        fallback()
    cdef uint64_t seq = take_uint(cur)
    if seq == 0:
        fallback()
    cdef object envelope = new_instance(EVENT_ENVELOPE)
    set_slot(envelope, OFF_SEQ, PyLong_FromUnsignedLongLong(seq))
    set_slot(envelope, OFF_RECORDED_AT, take_timestamp(cur))
    if owner is None:
        set_slot(envelope, OFF_OWNER, take_owner(cur, ctx))
    else:
        cur.position += 18
        if cur.position > cur.end:
            fallback()
        set_slot(envelope, OFF_OWNER, owner)
    cdef object event = new_instance(plan.cls)
    set_slot(event, OFF_ENVELOPE, envelope)
    take_fields(cur, plan, event, ctx)
    return event


from aion_store.ids import WorkflowId as _WorkflowId
cdef type WORKFLOW_ID = _WorkflowId


cdef list take_events(const unsigned char* start, const unsigned char* end, object owner):
    cdef Cursor cur
    cur.position = start
    cur.end = end
    cdef list events = []
    cdef Context ctx = Context()
    while cur.position < cur.end:
        events.append(take_event(&cur, owner, ctx))
    return events

# ---------------------------------------------------------------------------------------
# Public codec entry points (``aion_store.wire`` uses these when the core is active).
# ---------------------------------------------------------------------------------------


def to_msgpack(obj):
    """Encode like ``aion_store.wire._msgpack.to_msgpack``, events in compiled code."""
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
    """Decode like ``aion_store.wire._msgpack.from_msgpack``, events in compiled code."""
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
            return take_events(start + 1, start + size, None)
        cur.position = start + 1
        cur.end = start + size
        event = take_event(&cur, None, Context())
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
    of ``workflow_id``, like ``aion_store.wire._msgpack.decode_stored_events``.

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
                event = take_event(&cur, None, ctx)
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

# ---------------------------------------------------------------------------------------
# The engine: one msgpack buffer plus a seq offset index per workflow, projections kept
# current at append time, and a bounded LRU cache of decoded events.
# ---------------------------------------------------------------------------------------

from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)

from aion_store._validate import (
    check_append_arguments,
    check_batch,
    check_filter,
    check_seq,
    check_workflow_id,
)
from aion_store.error import SequenceConflict
from aion_store.events import ChildWorkflowStarted, WorkflowStarted
from aion_store.run_chain import RunSummary, order_runs
from aion_store.status import LIFECYCLE_STATUS_BY_TAG, WorkflowStatus, WorkflowSummary
from aion_store.store import WriteToken

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
        except Fallback:
            # The store wrote these bytes, so this cannot happen unless the fast decoder
            # lags behind the encoder; the pure decoder still reads them correctly.
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
    """The compiled twin of ``aion_store._pure.Engine``: same methods, same results."""

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
        cdef object event, envelope, status
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
        return sum((<History>h).stored_bytes() for h in self.workflows.values())


def start_key(History history):
    return (history.start_at, get_slot(history.workflow_id, OFF_UUID_INT))
