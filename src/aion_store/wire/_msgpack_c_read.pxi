# The reading half of ``_msgpack_c`` (included by ``_msgpack_c.pyx``): a bounds-checked
# cursor that reads the canonical form this package writes straight into fresh model
# objects; any surprise raises Fallback, and the pure codec decides.


class Fallback(Exception):
    """The fast decoder met something outside the canonical form."""


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
    if micros < AION_MIN_MICROS or micros >= AION_END_MICROS:
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
        if nanos >= 1000000000 or seconds < AION_MIN_MICROS // 1000000 or seconds >= AION_END_MICROS // 1000000:
            fallback()
        return datetime_of_micros(seconds * 1000000 + nanos // 1000)
    return fallback()


cdef object take_attributes(Cursor* cur):
    cdef Py_ssize_t count = take_map(cur)
    cdef dict data = {}
    cdef object key
    for _ in range(count):
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


cdef object take_event(Cursor* cur, Context ctx):
    """Read one event in the wire form, [tag, seq, recorded_at, owner, *fields]."""
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
    set_slot(envelope, OFF_OWNER, take_owner(cur, ctx))
    cdef object event = new_instance(plan.cls)
    set_slot(event, OFF_ENVELOPE, envelope)
    take_fields(cur, plan, event, ctx)
    return event


cdef list take_events(const unsigned char* start, const unsigned char* end):
    """The wire-form events back to back from ``start`` to ``end``; one history's events
    share one ``WorkflowId`` object."""
    cdef Cursor cur
    cur.position = start
    cur.end = end
    cdef list events = []
    cdef Context ctx = Context()
    while cur.position < cur.end:
        events.append(take_event(&cur, ctx))
    return events
