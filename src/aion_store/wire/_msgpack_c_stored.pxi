# The engine's form of an event (included by ``_msgpack_c.pyx``; docs/wire-format.md,
# "The engine's form"): how the compiled engine keeps events in its history buffers.
#
#     [tag, recorded_at - previous recorded_at (microseconds), *fields]
#
# The wire form's seq is the event's position in its history and its owner the
# history's, so neither is kept per event; the time is a delta to the previous event's
# (the first event's to the epoch), a few bytes where the absolute time takes nine. The
# engine knows the last event's time, so any suffix of a history gets its absolute times
# back by walking the deltas from the head: O(events read), like the read itself.


cdef int put_stored_event(Buffer* buf, object event, int64_t* micros) except -1:
    """Append ``event`` in the engine's form; ``*micros`` is the previous event's time on
    entry and this event's on return (unchanged on error)."""
    cdef int tag = tag_of(event)
    if tag < 0:
        raise TypeError(f"expected an Event, got {type(event).__name__}")
    cdef Plan plan = <Plan>EVENT_PLANS[tag]
    cdef object envelope = get_slot(event, OFF_ENVELOPE)
    if type(envelope) is not EVENT_ENVELOPE:
        raise TypeError("event.envelope must be an EventEnvelope")
    cdef object recorded_at = get_slot(envelope, OFF_RECORDED_AT)
    if type(recorded_at) is not datetime_type:
        raise TypeError("envelope.recorded_at must be a datetime")
    cdef int64_t time = micros_of_datetime(recorded_at)
    put_array_header(buf, 2 + plan.count)
    put_byte(buf, <uint8_t>tag)
    # Both times lie in years 1-9999: the difference fits 60 bits.
    put_int(buf, time - micros[0])
    put_fields(buf, plan, event)
    micros[0] = time
    return 0


cdef int64_t stored_delta(const unsigned char* event) noexcept:
    """The time delta of a stored event (bytes ``put_stored_event`` wrote)."""
    cdef const unsigned char* at = event + 2  # past the fixarray header and the tag
    cdef unsigned char head = at[0]
    cdef uint64_t value = 0
    cdef int size, i
    if head < 0x80:
        return head
    if head >= 0xE0:
        return <int8_t>head
    if head == 0xCC or head == 0xD0:
        size = 1
    elif head == 0xCD or head == 0xD1:
        size = 2
    elif head == 0xCE or head == 0xD2:
        size = 4
    else:
        size = 8
    for i in range(size):
        value = (value << 8) | at[1 + i]
    if head == 0xD0:
        return <int8_t>value
    if head == 0xD1:
        return <int16_t>value
    if head == 0xD2:
        return <int32_t>value
    return <int64_t>value


cdef inline Py_ssize_t int_size(unsigned char head) noexcept:
    """The size of the msgpack integer whose first byte is ``head`` (one we wrote)."""
    if head < 0x80 or head >= 0xE0:
        return 1
    if head == 0xCC or head == 0xD0:
        return 2
    if head == 0xCD or head == 0xD1:
        return 3
    if head == 0xCE or head == 0xD2:
        return 5
    return 9


cdef int stored_to_wire(
    Buffer* out,
    const unsigned char* event,
    Py_ssize_t size,
    uint64_t seq,
    int64_t micros,
    const unsigned char* owner,
) except -1:
    """Append the wire form of one stored event (``size`` bytes), whose seq, time and
    owner are given: [tag, seq, recorded_at, owner, *fields]."""
    cdef Py_ssize_t count = event[0] & 0x0F  # a fixarray: 2 + at most MAX_FIELDS items
    cdef Py_ssize_t fields = 2 + int_size(event[2])
    buffer_reserve(out, size + 38)
    put_array_header(out, count + 2)
    put_byte(out, event[1])
    put_uint(out, seq)
    put_int(out, micros)
    put_byte(out, 0xC4)
    put_byte(out, 16)
    put_raw(out, <const char*>owner, 16)
    return put_raw(out, <const char*>(event + fields), size - fields)


cdef object take_stored_event(Cursor* cur, object owner, uint64_t seq, int64_t* micros, Context ctx):
    """Read one event in the engine's form: its seq and owner are given, its time is
    ``*micros`` (the previous event's, updated) plus the delta read."""
    cdef Py_ssize_t count = take_array(cur)
    cdef uint64_t tag = take_uint(cur)
    if tag >= <uint64_t>VARIANT_COUNT:
        fallback()
    cdef Plan plan = <Plan>EVENT_PLANS[tag]
    if count != 2 + plan.count:
        fallback()
    cdef int64_t time = micros[0] + take_int(cur)
    if time < AION_MIN_MICROS or time >= AION_END_MICROS:
        fallback()
    micros[0] = time
    cdef object envelope = new_instance(EVENT_ENVELOPE)
    set_slot(envelope, OFF_SEQ, PyLong_FromUnsignedLongLong(seq))
    set_slot(envelope, OFF_RECORDED_AT, datetime_of_micros(time))
    set_slot(envelope, OFF_OWNER, owner)
    cdef object event = new_instance(plan.cls)
    set_slot(event, OFF_ENVELOPE, envelope)
    take_fields(cur, plan, event, ctx)
    return event


cdef list take_stored_events(
    const unsigned char* start,
    const unsigned char* end,
    object owner,
    uint64_t first_seq,
    int64_t previous_micros,
):
    """The stored events from ``start`` to ``end`` (seqs ``first_seq`` on, owned by
    ``owner``, the event before them recorded at ``previous_micros``), decoded;
    ``Fallback`` if the bytes are not what the engine writes."""
    cdef Cursor cur
    cur.position = start
    cur.end = end
    cdef list events = []
    cdef Context ctx = Context()
    cdef uint64_t seq = first_seq
    cdef int64_t micros = previous_micros
    while cur.position < cur.end:
        events.append(take_stored_event(&cur, owner, seq, &micros, ctx))
        seq += 1
    return events
