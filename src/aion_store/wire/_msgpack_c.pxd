# cython: language_level=3
"""What the compiled engine (``aion_store._engine_c``) uses of the compiled codec."""

from libc.stdint cimport int64_t, uint8_t, uint64_t


cdef struct Buffer:
    # A growable byte buffer (PyMem-allocated; the owner frees ``data``).
    char* data
    Py_ssize_t length
    Py_ssize_t capacity


cdef struct Cursor:
    # A read position in a byte range; reads never pass ``end``.
    const unsigned char* position
    const unsigned char* end


cdef int buffer_reserve(Buffer* buf, Py_ssize_t extra) except -1
cdef int uuid_bytes(object identifier, unsigned char* raw) except -1
cdef int tag_of(object event) noexcept

# The engine's form of an event, [tag, time delta, *fields] (_msgpack_c_stored.pxi).
cdef int put_stored_event(Buffer* buf, object event, int64_t* micros) except -1
cdef int64_t stored_delta(const unsigned char* event) noexcept
cdef int stored_to_wire(
    Buffer* out,
    const unsigned char* event,
    Py_ssize_t size,
    uint64_t seq,
    int64_t micros,
    const unsigned char* owner,
) except -1
cdef list take_stored_events(
    const unsigned char* start,
    const unsigned char* end,
    object owner,
    uint64_t first_seq,
    int64_t previous_micros,
)
