# cython: language_level=3
"""What the compiled engine (``aion_store._engine_c``) uses of the compiled codec."""

from libc.stdint cimport uint8_t


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
cdef int put_event(Buffer* buf, object event, const unsigned char* owner=*) except -1
cdef int uuid_bytes(object identifier, unsigned char* raw) except -1
cdef int tag_of(object event) noexcept
cdef list take_events(const unsigned char* start, const unsigned char* end, object owner)
