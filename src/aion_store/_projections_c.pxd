# cython: language_level=3
"""What the compiled engine (``aion_store._engine_c``) uses of the compiled projections."""


cdef class WorkflowProjection:
    cdef readonly object workflow_id
    cdef object status
    cdef list runs  # RunSummary per run, oldest first
    cdef object start_type  # the last run's workflow type
    cdef object parent
    cdef object summary
    cdef int setup(self, object workflow_id) except -1
    cdef object current_summary(self)


cdef class Projections:
    cdef dict workflows  # int key -> WorkflowProjection
    cdef dict active  # int key -> WorkflowId, the workflows whose status is RUNNING
    cdef dict parents  # int key of a child -> the WorkflowId of the parent that named it
    cdef list sorted_ids
    cdef list sorted_active
    cdef list by_start
    cdef int add(self, object key, WorkflowProjection projection) except -1
    cdef bint apply(self, WorkflowProjection projection, object events) except -1
    cdef int lifecycle(self, WorkflowProjection projection, object event, object status) except -1
    cdef int adopt(self, object parent, object child) except -1
