# cython: language_level=3
"""A mutex for the compiled modules that waits without holding the GIL, so a holder can
always finish (header-only: every function is ``inline``).

The compiled engine and timer index are thread-safe on their own: an operation can run
Python code midway (a collection triggered by an allocation runs finalizers), during
which another thread may take the GIL, so the GIL alone does not make it atomic.
"""

from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)


cdef inline int lock_init(PyThread_type_lock* lock) except -1:
    lock[0] = PyThread_allocate_lock()
    if lock[0] == NULL:
        raise MemoryError()
    return 0


cdef inline void lock_free(PyThread_type_lock lock) noexcept:
    if lock != NULL:
        PyThread_free_lock(lock)


cdef inline void lock_acquire(PyThread_type_lock lock) noexcept:
    if not PyThread_acquire_lock(lock, NOWAIT_LOCK):
        with nogil:
            PyThread_acquire_lock(lock, WAIT_LOCK)


cdef inline void lock_release(PyThread_type_lock lock) noexcept:
    PyThread_release_lock(lock)
