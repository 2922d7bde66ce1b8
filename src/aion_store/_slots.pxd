# cython: language_level=3
"""Slot access for the compiled modules: write and read a slotted object's fields at the
offsets their member descriptors name, and make fresh instances without a constructor.

Header-only (every function is ``inline``): each module that cimports it compiles its
own copy, so there is no module to import at run time.
"""

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    PyObject* PyType_GenericAlloc(PyTypeObject* cls, Py_ssize_t nitems) except NULL
    PyTypeObject* Py_TYPE(object obj)
    void PyObject_GC_UnTrack(void* obj)
    PyTypeObject PyMemberDescr_Type


cdef inline Py_ssize_t slot_offset(object cls, str name) except -1:
    """The offset of ``cls``'s slot ``name`` (a ``TypeError`` if it is not a slot)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            if Py_TYPE(descriptor) is not &PyMemberDescr_Type:
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


cdef inline void set_slot(object obj, Py_ssize_t offset, object value) noexcept:
    """Set a slot of a fresh instance (it is NULL: nothing to release)."""
    Py_INCREF(value)
    (<PyObject**>((<char*><PyObject*>obj) + offset))[0] = <PyObject*>value


cdef inline object get_slot(object obj, Py_ssize_t offset):
    """A slot's value; an unset one (NULL) is a ``TypeError``."""
    cdef PyObject* value = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if value == NULL:
        raise TypeError(f"cannot encode an instance of {type(obj).__name__} with an unset field")
    return <object>value
