"""What the SQL stores (``aion_store.sqlite``, ``aion_store.postgres``) share.

- :mod:`.rows`: how model values become column values and back (ids as 16 big-endian
  bytes, timestamps as integer microseconds since the epoch, statuses as small ints,
  timer ids as their ``str()``), so both stores order rows exactly as SPEC §6 sorts;
- :mod:`.projection`: what one appended batch changes in the projection tables (the
  workflow's head, status, current run, runs, parents), computed once in Python;
- :mod:`.visibility`: search attribute predicates as SQL, with the attribute rows they
  are evaluated against.
"""
