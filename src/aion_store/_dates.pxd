# cython: language_level=3
"""Timestamps in C: microseconds since the Unix epoch <-> aware UTC ``datetime`` objects.

Header-only (``inline``): the proleptic Gregorian calendar arithmetic of H. Hinnant's
``days_from_civil``/``civil_from_days``, written with floor division (``//`` on C
integers keeps Python's semantics here: no module compiles with ``cdivision``), so it is
correct for every instant on its own, before the epoch included.
"""

from cpython.datetime cimport (
    PyDateTime_DATE_GET_HOUR,
    PyDateTime_DATE_GET_MICROSECOND,
    PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND,
    PyDateTime_GET_DAY,
    PyDateTime_GET_MONTH,
    PyDateTime_GET_YEAR,
    datetime_new,
    get_utc,
)
from libc.stdint cimport int64_t

cdef extern from *:
    """
    /* Microseconds from 1970-01-01 to 0001-01-01 and to 10000-01-01 (exclusive). */
    #define AION_MIN_MICROS (-62135596800000000LL)
    #define AION_END_MICROS (253402300800000000LL)
    #define AION_MICROS_PER_DAY (86400000000LL)
    #define AION_MICROS_PER_SECOND (1000000LL)
    """
    const int64_t AION_MIN_MICROS
    const int64_t AION_END_MICROS
    const int64_t AION_MICROS_PER_DAY
    const int64_t AION_MICROS_PER_SECOND


cdef inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) noexcept:
    """Days since 1970-01-01 of the date ``y-m-d``."""
    y -= m <= 2
    cdef int64_t era = y // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline void civil_from_days(int64_t z, int* year, int* month, int* day) noexcept:
    """The date ``z`` days after 1970-01-01."""
    z += 719468
    cdef int64_t era = z // 146097
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


cdef inline int64_t micros_of_datetime(object value) noexcept:
    """Microseconds since the epoch of a UTC ``datetime`` (its fields, not its zone)."""
    cdef int64_t days = days_from_civil(
        PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value), PyDateTime_GET_DAY(value)
    )
    return (
        (days * 86400
         + PyDateTime_DATE_GET_HOUR(value) * 3600
         + PyDateTime_DATE_GET_MINUTE(value) * 60
         + PyDateTime_DATE_GET_SECOND(value)) * AION_MICROS_PER_SECOND
        + PyDateTime_DATE_GET_MICROSECOND(value)
    )


cdef inline object datetime_of_micros(int64_t micros):
    """The aware UTC ``datetime`` ``micros`` after the epoch (years 1-9999: the caller
    checks ``AION_MIN_MICROS <= micros < AION_END_MICROS``)."""
    cdef int64_t days = micros // AION_MICROS_PER_DAY
    cdef int64_t rest = micros - days * AION_MICROS_PER_DAY
    cdef int year = 0, month = 0, day = 0
    civil_from_days(days, &year, &month, &day)
    cdef int64_t seconds = rest // AION_MICROS_PER_SECOND
    return datetime_new(
        year, month, day,
        <int>(seconds // 3600), <int>((seconds // 60) % 60), <int>(seconds % 60),
        <int>(rest % AION_MICROS_PER_SECOND), get_utc(),
    )
