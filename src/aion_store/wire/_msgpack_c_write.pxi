# The writing half of ``_msgpack_c`` (included by ``_msgpack_c.pyx``): a growable byte
# buffer and msgpack's minimal encodings (as msgpack-python's packer writes them), and
# events and records written field by field from their plans.

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
    cdef Py_ssize_t size = 0
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
    cdef uint64_t low = PyLong_AsUnsignedLongLongMask(number)  # the low 64 bits, no object
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
        seconds = micros // 1000000
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


cdef int put_event(Buffer* buf, object event) except -1:
    """Append one event's array in the wire form: [tag, seq, recorded_at, owner, *fields]."""
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
    put_uuid(buf, get_slot(envelope, OFF_OWNER))
    return put_fields(buf, plan, event)


cdef bytes buffer_to_bytes(Buffer* buf):
    return PyBytes_FromStringAndSize(buf.data, buf.length)
