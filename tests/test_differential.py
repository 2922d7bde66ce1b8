"""Differential test: the compiled engine and the pure engine, side by side.

A hypothesis state machine drives random sequences of every store operation against an
``InMemoryStore(engine="compiled")`` and an ``InMemoryStore(engine="pure")`` and, after
every step, requires the same result (``==``, ``type()`` and ``repr`` of every item) or
the same error (type, ``str()`` and attributes) from both (SPEC §12: "both paths ...
give identical results"). A small model of histories, parents, timers, visibility rows
and packages also checks both against the contract (SPEC §6, §8, §9, §10).

A second, non-stateful property appends whole generated histories in random batch splits
and checks every read against ``run_chain_from_history`` and ``status_from_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from aion_store import (
    BackendError,
    Event,
    EventEnvelope,
    InMemoryStore,
    ListWorkflowsFilter,
    PackageRecord,
    PackageRouteRecord,
    Payload,
    RunId,
    SearchAttributePredicate,
    SequenceConflict,
    TimerEntry,
    TimerId,
    VisibilityRecord,
    VisibilityWorkflowSummary,
    WorkflowFilter,
    WorkflowId,
    WorkflowStatus,
    WorkflowSummary,
    WriteToken,
    from_msgpack,
    run_chain_from_history,
    status_from_events,
)
from aion_store.events import (
    VARIANTS,
    ChildWorkflowStarted,
    SignalReceived,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowContinuedAsNew,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowTimedOut,
)
from engines import COMPILED_BUILT, requires_compiled
from strategies import (
    U64_MAX,
    UTC,
    event_of,
    histories,
    package_versions,
    payloads,
    predicates,
    run_ids,
    search_values,
    statuses,
    text,
    timer_ids,
    timestamps,
    u32s,
    workflow_ids,
)

pytestmark = pytest.mark.slow

TOKEN = WriteToken.recorder()
# decoded_cache_bytes: off, smaller than one event, a few events, everything.
CACHE_SIZES = (0, 100, 2_000, 10_000_000)
TERMINALS = (WorkflowCompleted, WorkflowFailed, WorkflowCancelled, WorkflowTimedOut)
WORKFLOW_TYPES = ("order", "payment", "", "名前")
ATTRIBUTE_NAMES = ("a", "b", "kw")
PACKAGE_TYPES = ("order", "payment", "")
PACKAGE_HASHES = ("h1", "h2", "")
#: Event kinds of a valid batch: any of the 28 variants, plus extra lifecycle weight.
ANY_KINDS = ("start", "terminal", "continue", "child", "any", "any", "any", "any")
#: Event kinds of a lifecycle-heavy batch (parents and run chains).
LIFECYCLE_KINDS = ("start", "start", "terminal", "terminal", "continue", "child", "child", "any")
#: How a new run links to the runs before it: mostly a valid chain, sometimes broken.
CHAIN_MODES = ("chain",) * 9 + ("root", "reuse", "fresh")
#: Times every machine starts with, so that equal timestamps (ties) happen often.
BASE_TIMES = (
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
BIG = 2**64
WORKFLOW_FILTER_FIELDS = ("workflow_type", "status", "started_after", "started_before", "parent")
LIST_FILTER_FIELDS = (
    "workflow_type",
    "status",
    "started_after",
    "started_before",
    "closed_after",
    "closed_before",
    "search_attributes",
    "limit",
    "offset",
)
APPEND_ARGUMENTS = ("token", "workflow_id", "events", "expected_seq")
BAD_SEQS = (-1, True, False, BIG, -BIG, None)
READ_METHODS = (
    "read_history",
    "read_history_from",
    "read_history_raw",
    "read_run_chain",
    "query",
    "list_workflows",
    "count_workflows",
    "expired_timers",
)


class _Seq(int):
    """An ``int`` subclass: a valid u64 argument (SPEC §1), not a plain ``int``."""

    def __repr__(self) -> str:
        return f"_Seq({int(self)})"


class _Position(enum.IntEnum):
    ONE = 1


def _aliases(workflow_id: WorkflowId) -> list[Any]:
    """Not a WorkflowId, though naming the same UUID."""
    return [str(workflow_id), RunId(workflow_id.uuid), workflow_id.uuid]


_SHARED_OBJECT = object()  # one instance, so a message naming it is the same for both stores


# -- comparing the two engines ---------------------------------------------------------


class Outcome(NamedTuple):
    """What one call did: its value, or the exception it raised."""

    value: Any
    error: Exception | None


ENGINES = ("compiled", "pure")
#: What the machine runs beside the pure engine: the compiled one, or on a pure-only
#: install a second pure store (the machine still checks both against its own model).
OTHER_ENGINE = "compiled" if COMPILED_BUILT else "pure"
AGAINST_MODEL = ("stores", "model")


def _same(left: Any, right: Any, where: str, names: tuple[str, str] = ENGINES) -> None:
    """Equal by ``type()``, ``==`` and ``repr``; lists, tuples and dicts item by item."""
    one, two = f"{names[0]}:".ljust(10), f"{names[1]}:".ljust(10)
    assert type(left) is type(right), (
        f"{where}: {names[0]} gave a {type(left).__name__}, {names[1]} a "
        f"{type(right).__name__}:\n  {one}{left!r}\n  {two}{right!r}"
    )
    if type(left) in (list, tuple):
        assert len(left) == len(right), (
            f"{where}: lengths {len(left)} != {len(right)}\n  {one}{left!r}\n  {two}{right!r}"
        )
        for index, (a, b) in enumerate(zip(left, right)):
            _same(a, b, f"{where}[{index}]", names)
        return
    if type(left) is dict:
        assert left.keys() == right.keys(), f"{where}: keys differ\n  {one}{left}\n  {two}{right}"
        for key in left:
            _same(left[key], right[key], f"{where}[{key!r}]", names)
        return
    assert left == right, f"{where}:\n  {one}{left!r}\n  {two}{right!r}"
    assert repr(left) == repr(right), (
        f"{where}: equal, but the reprs differ:\n  {one}{left!r}\n  {two}{right!r}"
    )


def _attributes(error: Exception) -> dict[str, Any]:
    return {name: value for name, value in vars(error).items() if not name.startswith("__")}


def _same_outcome(
    left: Outcome, right: Outcome, where: str, names: tuple[str, str] = ENGINES
) -> None:
    """Both succeed with the same value, or both raise the same error (type, message and
    attributes such as ``SequenceConflict.expected``)."""
    if left.error is None and right.error is None:
        _same(left.value, right.value, where, names)
        return
    one, two = f"{names[0]}:".ljust(10), f"{names[1]}:".ljust(10)
    shown = f"\n  {one}{_describe(left)}\n  {two}{_describe(right)}"
    assert left.error is not None and right.error is not None, f"{where}: one side raised{shown}"
    same_error = type(left.error) is type(right.error) and str(left.error) == str(right.error)
    assert same_error, f"{where}: different errors{shown}"
    where = f"{where}: attributes of the {type(left.error).__name__}"
    _same(_attributes(left.error), _attributes(right.error), where, names)


@contextlib.contextmanager
def _naming_the_call(method: str, args: tuple[Any, ...]) -> Iterator[None]:
    """Add the call to a failed comparison's message (built only when it fails)."""
    try:
        yield
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n  call: {method}{args!r}") from None


def _describe(outcome: Outcome) -> str:
    if outcome.error is None:
        return f"returned {outcome.value!r}"
    return f"raised {type(outcome.error).__name__}: {outcome.error}"


def _expect(outcome: Callable[[], Any]) -> Outcome:
    """The outcome of a model computation, for comparison with a store's."""
    try:
        return Outcome(outcome(), None)
    except Exception as error:
        return Outcome(None, error)


def _fresh(argument: Any) -> Any:
    """A list argument is copied per store (a store must not depend on the caller's list)."""
    return list(argument) if type(argument) is list else argument


def _reseq(event: Event, seq: int) -> Event:
    return dataclasses.replace(event, envelope=dataclasses.replace(event.envelope, seq=seq))


def _reown(event: Event, owner: WorkflowId) -> Event:
    return dataclasses.replace(
        event, envelope=dataclasses.replace(event.envelope, workflow_id=owner)
    )


def _model_summary(history: list[Event], parent: WorkflowId | None) -> WorkflowSummary | None:
    summary = WorkflowSummary.from_history(history)
    if summary is None:
        return None
    return dataclasses.replace(summary, parent=parent)


def _as_summary(record: VisibilityRecord) -> VisibilityWorkflowSummary:
    return VisibilityWorkflowSummary(
        **{field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    )


def _visibility_order(row: VisibilityWorkflowSummary) -> tuple[datetime, str, str]:
    return (row.start_time, str(row.workflow_id), str(row.run_id))


def _timer_order(entry: TimerEntry) -> tuple[datetime, str, str]:
    return (entry.fire_at, str(entry.workflow_id), str(entry.timer_id))


# -- the state machine -----------------------------------------------------------------


class DifferentialMachine(RuleBasedStateMachine):
    """Every store operation on both engines, compared after each step."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.compiled: InMemoryStore | None = None
        self.pure: InMemoryStore | None = None
        self.pool: list[WorkflowId] = []
        # The model (SPEC §6): histories, run ids per workflow, parent links.
        self.histories: dict[WorkflowId, list[Event]] = {}
        self.runs: dict[WorkflowId, list[RunId]] = {}
        self.parents: dict[WorkflowId, WorkflowId] = {}
        self.times: list[datetime] = list(BASE_TIMES)
        self.timers: dict[tuple[WorkflowId, TimerId], datetime] = {}
        self.visibility: dict[tuple[WorkflowId, RunId], VisibilityRecord] = {}
        self.packages: dict[tuple[str, str], PackageRecord] = {}
        self.routes: dict[str, str] = {}
        self.failed_appends = 0

    def teardown(self) -> None:
        self.loop.close()

    # -- calling both stores ----------------------------------------------------------

    def _run(self, store: InMemoryStore | None, method: str, args: tuple[Any, ...]) -> Outcome:
        assert store is not None
        try:
            call = getattr(store, method)(*(_fresh(argument) for argument in args))
            return Outcome(self.loop.run_until_complete(call), None)
        except Exception as error:
            return Outcome(None, error)

    def both(self, method: str, *args: Any) -> Outcome:
        """Call ``method`` on both stores and require the same outcome; return it."""
        compiled = self._run(self.compiled, method, args)
        pure = self._run(self.pure, method, args)
        with _naming_the_call(method, args):
            _same_outcome(compiled, pure, method)
        return pure

    def expect(self, method: str, model: Callable[[], Any], *args: Any) -> Outcome:
        """Like ``both``, and the outcome must also be the model's (the contract's)."""
        outcome = self.both(method, *args)
        with _naming_the_call(method, args):
            _same_outcome(outcome, _expect(model), f"{method} (contract)", AGAINST_MODEL)
        return outcome

    # -- drawing values tied to the state --------------------------------------------

    def time(self) -> st.SearchStrategy[datetime]:
        return st.one_of(st.sampled_from(self.times), timestamps())

    def remember(self, moment: datetime) -> None:
        if len(self.times) < 300:
            self.times.append(moment)

    def any_workflow(self) -> st.SearchStrategy[WorkflowId]:
        """Mostly a pooled workflow, sometimes an unknown one."""
        pooled = st.sampled_from(self.pool)
        return st.one_of(pooled, pooled, pooled, workflow_ids())

    def known_runs(self) -> list[RunId]:
        return [run for runs in self.runs.values() for run in runs] + [
            run for _, run in self.visibility
        ]

    def draw_event(
        self,
        data: st.DataObject,
        workflow_id: WorkflowId,
        seq: int,
        kinds: tuple[str, ...],
        runs: list[RunId],
    ) -> Event:
        envelope = EventEnvelope(
            seq=seq, recorded_at=data.draw(self.time()), workflow_id=workflow_id
        )
        kind = data.draw(st.sampled_from(kinds))
        if kind == "start":
            mode = data.draw(st.sampled_from(CHAIN_MODES))
            if mode == "chain":
                parent = runs[-1] if runs else None
            elif mode == "root":
                parent = None
            elif mode == "reuse" and runs:
                parent = data.draw(st.sampled_from(runs))
            else:
                parent = data.draw(run_ids())
            if runs and data.draw(st.integers(0, 14)) == 0:
                run_id = data.draw(st.sampled_from(runs))  # a reused run id: cycles
            else:
                run_id = data.draw(run_ids())
            return WorkflowStarted(
                envelope,
                workflow_type=data.draw(st.one_of(st.sampled_from(WORKFLOW_TYPES), text())),
                input=data.draw(payloads()),
                run_id=run_id,
                parent_run_id=parent,
                package_version=data.draw(package_versions()),
            )
        if kind == "terminal":
            variant = data.draw(st.sampled_from(TERMINALS))
            return data.draw(event_of(variant, envelope=st.just(envelope)))
        if kind == "continue":
            return WorkflowContinuedAsNew(
                envelope,
                input=data.draw(payloads()),
                workflow_type=data.draw(st.none() | st.sampled_from(WORKFLOW_TYPES)),
                parent_run_id=runs[-1] if runs else data.draw(run_ids()),
            )
        if kind == "child":
            return ChildWorkflowStarted(
                envelope,
                child_workflow_id=data.draw(self.any_workflow()),
                workflow_type=data.draw(st.sampled_from(WORKFLOW_TYPES)),
                input=data.draw(payloads()),
                package_version=data.draw(package_versions()),
            )
        variant = data.draw(st.sampled_from(VARIANTS))
        return data.draw(event_of(variant, envelope=st.just(envelope)))

    def draw_batch(
        self,
        data: st.DataObject,
        workflow_id: WorkflowId,
        kinds: tuple[str, ...] = ANY_KINDS,
        min_size: int = 0,
        start_first: bool = False,
    ) -> list[Event]:
        """A valid batch for the workflow's current head."""
        head = len(self.histories[workflow_id])
        runs = list(self.runs[workflow_id])
        batch: list[Event] = []
        for index in range(data.draw(st.integers(min_size, 5))):
            first = start_first and index == 0
            event = self.draw_event(
                data, workflow_id, head + 1 + index, ("start",) if first else kinds, runs
            )
            if isinstance(event, WorkflowStarted):
                runs.append(event.run_id)
            batch.append(event)
        return batch

    # -- appends ----------------------------------------------------------------------

    def append(
        self, token: Any, workflow_id: Any, events: Any, expected_seq: Any, batch: list[Event]
    ) -> Outcome:
        """Append on both stores; on success the model takes ``batch`` too."""
        outcome = self.both("append", token, workflow_id, events, expected_seq)
        if outcome.error is None:
            assert isinstance(workflow_id, WorkflowId)
            self.commit(workflow_id, batch)
        else:
            self.failed_appends += 1  # checked by the invariant ``no_trace_of_failed_appends``
        return outcome

    def commit(self, workflow_id: WorkflowId, batch: list[Event]) -> None:
        self.histories[workflow_id].extend(batch)
        for event in batch:
            self.remember(event.envelope.recorded_at)
            if isinstance(event, WorkflowStarted):
                self.runs[workflow_id].append(event.run_id)
            elif isinstance(event, ChildWorkflowStarted):
                self.parents[event.child_workflow_id] = workflow_id

    @invariant()
    def no_trace_of_failed_appends(self) -> None:
        """After a failed append, every history and its raw bytes still agree (and are the
        model's): a rejected batch leaves nothing behind, on either engine."""
        if not self.failed_appends:
            return
        self.failed_appends = 0
        for workflow_id in self.pool:
            history = self.histories[workflow_id]
            self.expect("read_history", lambda h=history: list(h), workflow_id)
            raw = self.both("read_history_raw", workflow_id)
            assert raw.error is None
            _same(from_msgpack(raw.value, list[Event]), history, "raw bytes", AGAINST_MODEL)

    @initialize(
        pool=st.lists(workflow_ids(), min_size=4, max_size=6, unique=True),
        cache=st.sampled_from(CACHE_SIZES),
        data=st.data(),
    )
    def setup(self, pool: list[WorkflowId], cache: int, data: st.DataObject) -> None:
        self.compiled = InMemoryStore(engine=OTHER_ENGINE, decoded_cache_bytes=cache)
        self.pure = InMemoryStore(engine="pure", decoded_cache_bytes=cache)
        assert (self.compiled.engine, self.pure.engine) == (OTHER_ENGINE, "pure")
        self.pool = pool
        for workflow_id in pool:
            self.histories[workflow_id] = []
            self.runs[workflow_id] = []
        # Most workflows start with a run, so chains, parents and queries have material.
        for workflow_id in pool:
            if data.draw(st.integers(0, 3)):
                batch = self.draw_batch(data, workflow_id, min_size=1, start_first=True)
                outcome = self.append(TOKEN, workflow_id, batch, 0, batch)
                assert outcome.error is None, _describe(outcome)

    @rule(data=st.data())
    def append_valid(self, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(1, 3))):
            workflow_id = data.draw(st.sampled_from(self.pool))
            batch = self.draw_batch(data, workflow_id)
            container = data.draw(st.sampled_from([list, tuple]))
            head = len(self.histories[workflow_id])
            outcome = self.append(TOKEN, workflow_id, container(batch), head, batch)
            assert outcome.error is None, _describe(outcome)

    @rule(data=st.data())
    def append_lifecycle(self, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(1, 2))):
            workflow_id = data.draw(st.sampled_from(self.pool))
            batch = self.draw_batch(data, workflow_id, LIFECYCLE_KINDS, min_size=1)
            head = len(self.histories[workflow_id])
            outcome = self.append(TOKEN, workflow_id, batch, head, batch)
            assert outcome.error is None, _describe(outcome)

    @rule(data=st.data())
    def append_after_read(self, data: st.DataObject) -> None:
        """Read (the compiled engine may cache the history), append, read again."""
        workflow_id = data.draw(st.sampled_from(self.pool))
        self.expect("read_history", lambda: list(self.histories[workflow_id]), workflow_id)
        batch = self.draw_batch(data, workflow_id, min_size=1)
        outcome = self.append(TOKEN, workflow_id, batch, len(self.histories[workflow_id]), batch)
        assert outcome.error is None, _describe(outcome)
        cursor = data.draw(self.cursors(workflow_id))
        history = self.histories[workflow_id]
        self.expect("read_history_from", lambda: history[max(cursor, 1) - 1 :], workflow_id, cursor)
        self.expect("read_history", lambda: list(history), workflow_id)

    @rule(data=st.data())
    def append_invalid(self, data: st.DataObject) -> None:
        workflow_id = data.draw(st.sampled_from(self.pool))
        head = len(self.histories[workflow_id])
        fault = data.draw(
            st.sampled_from(["stale", "ahead", "gap", "repeat", "reseq", "foreign", "item"])
        )
        batch: list[Any] = self.draw_batch(data, workflow_id, min_size=1)
        index = data.draw(st.integers(0, len(batch) - 1))
        expected_seq = head
        error: type[Exception] = BackendError
        if fault == "stale":
            expected_seq = data.draw(st.integers(0, head - 1)) if head else U64_MAX
            error = SequenceConflict
        elif fault == "ahead":
            expected_seq = data.draw(st.sampled_from([head + 1, head + 2, U64_MAX]))
            error = SequenceConflict
        elif fault in ("gap", "repeat"):
            shift = 1 if fault == "gap" or head + index == 0 else -1
            batch[index:] = [_reseq(event, event.seq + shift) for event in batch[index:]]
        elif fault == "reseq":
            wrong = data.draw(st.integers(1, head + 8).filter(lambda s: s != head + 1 + index))
            batch[index] = _reseq(batch[index], wrong)
        elif fault == "foreign":
            others = [other for other in self.pool if other != workflow_id]
            owner = data.draw(st.one_of(st.sampled_from(others), workflow_ids()))
            if owner == workflow_id:
                owner = others[0]
            batch[index] = _reown(batch[index], owner)
        else:
            error = TypeError
            item = data.draw(
                st.sampled_from(
                    [None, 0, "event", b"", {}, batch[index].envelope, Event, workflow_id]
                )
            )
            batch[index] = item
            if data.draw(st.booleans()):  # a bad seq before it: the type check comes first
                batch[0] = _reseq(batch[0], head + 7) if index != 0 else batch[0]
        outcome = self.append(TOKEN, workflow_id, batch, expected_seq, [])
        assert outcome.error is not None, f"{fault} batch accepted"
        assert type(outcome.error) is error, _describe(outcome)
        if error is SequenceConflict:
            assert (outcome.error.expected, outcome.error.found) == (expected_seq, head)
        elif error is BackendError:
            offending = batch[index]
            assert f"events[{index}]" in str(outcome.error), _describe(outcome)
            assert str(offending.seq) in str(outcome.error), _describe(outcome)

    @rule(data=st.data())
    def append_bad_arguments(self, data: st.DataObject) -> None:
        """Up to two arguments of the wrong type (or value); the others are valid, and
        ``expected_seq`` may be an ``int`` subclass, which is a valid u64 (SPEC §1)."""
        workflow_id = data.draw(st.sampled_from(self.pool))
        head = len(self.histories[workflow_id])
        batch = self.draw_batch(data, workflow_id)
        spoiled = data.draw(st.sets(st.sampled_from(APPEND_ARGUMENTS), max_size=2))
        token: Any = TOKEN
        target: Any = workflow_id
        events: Any = data.draw(st.sampled_from([batch, tuple(batch)]))
        expected_seq: Any = data.draw(
            st.sampled_from([head, _Seq(head), _Seq(head + 1), _Position.ONE])
        )
        if "token" in spoiled:
            token = data.draw(st.sampled_from([None, "token", _SHARED_OBJECT, WriteToken]))
        if "workflow_id" in spoiled:
            target = data.draw(st.sampled_from([None, 7, *_aliases(workflow_id)]))
        if "events" in spoiled:
            generator = (event for event in batch)
            shapes = [generator, iter(batch), None, {}, "events", *batch[:1]]
            events = data.draw(st.sampled_from(shapes))
        if "expected_seq" in spoiled:
            expected_seq = data.draw(st.sampled_from([*BAD_SEQS, float(head), str(head)]))
        outcome = self.append(token, target, events, expected_seq, batch)
        if spoiled:
            assert type(outcome.error) in (TypeError, ValueError), _describe(outcome)

    # -- reads ------------------------------------------------------------------------

    def cursors(self, workflow_id: WorkflowId) -> st.SearchStrategy[int]:
        head = len(self.histories.get(workflow_id, ()))
        return st.one_of(
            st.sampled_from([0, 1, head, head + 1, 2**63, U64_MAX]),
            st.integers(0, head + 2),
        )

    def history_of(self, workflow_id: WorkflowId) -> list[Event]:
        return self.histories.get(workflow_id, [])

    @rule(data=st.data())
    def read_history(self, data: st.DataObject) -> None:
        workflow_id = data.draw(self.any_workflow())
        self.expect("read_history", lambda: list(self.history_of(workflow_id)), workflow_id)

    @rule(data=st.data())
    def read_history_from(self, data: st.DataObject) -> None:
        workflow_id = data.draw(self.any_workflow())
        cursor = data.draw(self.cursors(workflow_id))
        history = self.history_of(workflow_id)
        self.expect("read_history_from", lambda: history[max(cursor, 1) - 1 :], workflow_id, cursor)

    @rule(data=st.data())
    def read_history_raw(self, data: st.DataObject) -> None:
        workflow_id = data.draw(self.any_workflow())
        history = self.history_of(workflow_id)
        if data.draw(st.booleans()):
            cursor = data.draw(self.cursors(workflow_id))
            raw = self.both("read_history_raw", workflow_id, cursor)
        else:
            cursor = 1
            raw = self.both("read_history_raw", workflow_id)
        assert raw.error is None, _describe(raw)
        assert type(raw.value) is bytes
        want = history[max(cursor, 1) - 1 :]
        _same(from_msgpack(raw.value, list[Event]), want, "raw bytes", AGAINST_MODEL)

    @rule(data=st.data())
    def read_run_chain(self, data: st.DataObject) -> None:
        workflow_id = data.draw(self.any_workflow())
        history = self.history_of(workflow_id)
        self.expect("read_run_chain", lambda: run_chain_from_history(history), workflow_id)

    def started_times(self) -> st.SearchStrategy[datetime]:
        """Mostly the start time of a stored run (inclusive edges), else any time."""
        starts = [
            event.envelope.recorded_at
            for history in self.histories.values()
            for event in history
            if isinstance(event, WorkflowStarted)
        ]
        return st.one_of(st.sampled_from(starts), self.time()) if starts else self.time()

    @rule(data=st.data())
    def query(self, data: st.DataObject) -> None:
        fields = data.draw(st.sets(st.sampled_from(WORKFLOW_FILTER_FIELDS), max_size=3))
        choices = {
            "workflow_type": st.sampled_from(WORKFLOW_TYPES) | text(),
            "status": statuses(),
            "started_after": self.started_times(),
            "started_before": self.started_times(),
            "parent": self.any_workflow(),
        }
        flt = WorkflowFilter(**{name: data.draw(choices[name]) for name in sorted(fields)})

        def model() -> list[WorkflowSummary]:
            summaries = [
                _model_summary(history, self.parents.get(workflow_id))
                for workflow_id, history in self.histories.items()
            ]
            found = [s for s in summaries if s is not None and flt.matches(s)]
            return sorted(found, key=lambda s: (s.started_at, str(s.workflow_id)))

        self.expect("query", model, flt)

    @rule(data=st.data())
    def read_bad_arguments(self, data: st.DataObject) -> None:
        """Wrong argument types on the read side: the same error from both engines."""
        workflow_id = data.draw(
            st.sampled_from([*self.pool, str(self.pool[0]), None, 7, RunId(self.pool[0].uuid)])
        )
        cursor = data.draw(st.sampled_from([1, 0, -1, True, BIG, 1.0, "1", None, _Position.ONE]))
        method = data.draw(st.sampled_from(READ_METHODS))
        if method in ("read_history_from", "read_history_raw"):
            self.both(method, workflow_id, cursor)
        elif method in ("read_history", "read_run_chain"):
            self.both(method, workflow_id)
        else:
            argument = data.draw(
                st.sampled_from([None, "filter", WorkflowFilter(), ListWorkflowsFilter(), 0])
            )
            self.both(method, argument)

    @invariant()
    def listings_agree(self) -> None:
        if self.compiled is None:
            return
        started = [w for w, history in self.histories.items() if history]
        self.expect("list_workflow_ids", lambda: sorted(started, key=str))
        active = [
            w for w in started if status_from_events(self.histories[w]) is WorkflowStatus.RUNNING
        ]
        self.expect("list_active", lambda: sorted(active, key=str))

    # -- timers -----------------------------------------------------------------------

    @rule(data=st.data())
    def schedule_timer(self, data: st.DataObject) -> None:
        known = list(self.timers)
        if known and data.draw(st.booleans()):
            workflow_id, timer_id = data.draw(st.sampled_from(known))  # reschedule
        else:
            workflow_id = data.draw(self.any_workflow())
            timer_id = data.draw(timer_ids())
        fire_at: Any = data.draw(self.time())
        shape = data.draw(st.sampled_from(["utc", "utc", "utc", "offset", "naive", "bad"]))
        if shape == "offset":
            hours = data.draw(st.integers(-23, 23))
            with contextlib.suppress(OverflowError):  # beyond year 9999 or before year 1
                fire_at = fire_at.astimezone(timezone(timedelta(hours=hours)))
        elif shape == "naive":
            fire_at = fire_at.replace(tzinfo=None)
        elif shape == "bad":
            bad = data.draw(st.sampled_from(["workflow", "timer", "time"]))
            if bad == "workflow":
                workflow_id = str(workflow_id)
            elif bad == "timer":
                timer_id = str(timer_id)
            else:
                fire_at = data.draw(
                    st.sampled_from([None, "2024-01-01T00:00:00Z", 0, date(2024, 1, 1)])
                )
        outcome = self.both("schedule_timer", workflow_id, timer_id, fire_at)
        if shape in ("utc", "offset"):
            assert outcome.error is None, _describe(outcome)
            self.timers[(workflow_id, timer_id)] = fire_at.astimezone(UTC)
            self.remember(fire_at.astimezone(UTC))
        else:
            expected = ValueError if shape == "naive" else TypeError
            assert type(outcome.error) is expected, _describe(outcome)

    @rule(data=st.data())
    def expired_timers(self, data: st.DataObject) -> None:
        fire_times = sorted(set(self.timers.values()))
        one = timedelta(microseconds=1)
        choices = [self.time()]
        if fire_times:
            exact = st.sampled_from(fire_times)
            choices += [exact, exact, exact.map(lambda t: t - one if t.year > 1 else t)]
        as_of = data.draw(st.one_of(choices))
        if data.draw(st.integers(0, 9)) == 0:
            outcome = self.both("expired_timers", as_of.replace(tzinfo=None))
            assert type(outcome.error) is ValueError, _describe(outcome)
            return

        def model() -> list[TimerEntry]:
            due = [
                TimerEntry(workflow_id, timer_id, fire_at)
                for (workflow_id, timer_id), fire_at in self.timers.items()
                if fire_at <= as_of
            ]
            return sorted(due, key=_timer_order)

        self.expect("expired_timers", model, as_of)

    # -- visibility -------------------------------------------------------------------

    def attributes(self) -> st.SearchStrategy[dict[str, Any]]:
        names = st.one_of(st.sampled_from(ATTRIBUTE_NAMES), text())
        return st.dictionaries(names, search_values(), max_size=3)

    @rule(data=st.data())
    def record_visibility(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 9)) == 0:
            bad = data.draw(st.sampled_from([None, "record", WorkflowFilter()]))
            outcome = self.both("record_visibility", bad)
            assert type(outcome.error) is TypeError, _describe(outcome)
            return
        for _ in range(data.draw(st.integers(1, 3))):
            known = self.known_runs()
            runs = st.sampled_from(known) | run_ids() if known else run_ids()
            record = VisibilityRecord(
                workflow_id=data.draw(self.any_workflow()),
                run_id=data.draw(runs),  # a known run: sometimes an upsert
                workflow_type=data.draw(st.sampled_from(WORKFLOW_TYPES)),
                status=data.draw(statuses()),
                start_time=data.draw(self.time()),
                close_time=data.draw(st.none() | self.time()),
                search_attributes=data.draw(self.attributes()),
            )
            outcome = self.both("record_visibility", record)
            assert outcome.error is None, _describe(outcome)
            self.visibility[(record.workflow_id, record.run_id)] = record
            self.remember(record.start_time)

    @rule(data=st.data())
    def list_workflows(self, data: st.DataObject) -> None:
        names = st.sampled_from(ATTRIBUTE_NAMES)
        ours = st.one_of(
            st.builds(SearchAttributePredicate.Equals, names, search_values()),
            st.builds(SearchAttributePredicate.GreaterThan, names, search_values()),
            st.builds(SearchAttributePredicate.LessThan, names, search_values()),
            st.builds(SearchAttributePredicate.Contains, names, text()),
        )
        if self.visibility and data.draw(st.booleans()):
            # a predicate built from a stored value: Equals hits, a bound sits on the edge
            row = data.draw(st.sampled_from(sorted(self.visibility.values(), key=repr)))
            if row.search_attributes:
                name = data.draw(st.sampled_from(sorted(row.search_attributes)))
                value = row.search_attributes[name]
                P = SearchAttributePredicate
                edges = [P.Equals(name, value), P.GreaterThan(name, value), P.LessThan(name, value)]
                if type(value) is tuple and value:
                    edges.append(P.Contains(name, value[-1]))
                ours = st.sampled_from(edges)
        page = st.integers(0, 6) | u32s()
        stored = [row.start_time for row in self.visibility.values()]
        stored += [row.close_time for row in self.visibility.values() if row.close_time]
        times = st.sampled_from(stored) | self.time() if stored else self.time()
        choices = {
            "workflow_type": st.sampled_from(WORKFLOW_TYPES),
            "status": statuses(),
            "started_after": times,
            "started_before": times,
            "closed_after": times,
            "closed_before": times,
            "search_attributes": st.lists(ours | predicates(), min_size=1, max_size=2).map(tuple),
            "limit": page,
            "offset": page,
        }
        fields = data.draw(st.sets(st.sampled_from(LIST_FILTER_FIELDS), max_size=2))
        flt = ListWorkflowsFilter(**{name: data.draw(choices[name]) for name in sorted(fields)})
        rows = sorted(
            (_as_summary(r) for r in self.visibility.values() if flt.matches(r)),
            key=_visibility_order,
        )
        start = flt.offset or 0
        end = None if flt.limit is None else start + flt.limit
        self.expect("list_workflows", lambda: rows[start:end], flt)
        self.expect("count_workflows", lambda: len(rows), flt)

    # -- packages ---------------------------------------------------------------------

    def package_key(self, data: st.DataObject) -> tuple[Any, Any]:
        if self.packages and data.draw(st.booleans()):
            return data.draw(st.sampled_from(sorted(self.packages)))
        return (
            data.draw(st.sampled_from(PACKAGE_TYPES) | text()),
            data.draw(st.sampled_from(PACKAGE_HASHES) | text()),
        )

    @rule(data=st.data())
    def packages(self, data: st.DataObject) -> None:
        """put_package, delete_package or put_package_route (listings: ``packages_agree``)."""
        operation = data.draw(st.sampled_from(["put", "put", "delete", "route"]))
        workflow_type, content_hash = self.package_key(data)
        if data.draw(st.integers(0, 9)) == 0:  # a wrong argument type
            if operation == "put":
                outcome = self.both("put_package", data.draw(st.sampled_from([None, "p"])))
            elif operation == "delete":
                bad = data.draw(st.sampled_from([None, b"order", 1]))
                outcome = self.both("delete_package", bad, content_hash)
            else:
                bad = data.draw(st.sampled_from([None, b"h1", 1]))
                outcome = self.both("put_package_route", workflow_type, bad)
            assert type(outcome.error) is TypeError, _describe(outcome)
            return
        if operation == "put":
            record = PackageRecord(
                workflow_type=workflow_type,
                content_hash=content_hash,
                archive=data.draw(st.binary(max_size=16)),
                deployed_at=data.draw(self.time()),
            )
            outcome = self.both("put_package", record)
            self.packages[(workflow_type, content_hash)] = record
            self.routes[workflow_type] = content_hash
        elif operation == "delete":
            outcome = self.both("delete_package", workflow_type, content_hash)
            self.packages.pop((workflow_type, content_hash), None)
        else:
            outcome = self.both("put_package_route", workflow_type, content_hash)
            self.routes[workflow_type] = content_hash
        assert outcome.error is None, _describe(outcome)

    @invariant()
    def packages_agree(self) -> None:
        if self.compiled is None:
            return
        rows = sorted(
            self.packages.values(), key=lambda r: (r.deployed_at, r.workflow_type, r.content_hash)
        )
        self.expect("list_packages", lambda: rows)
        routes = [PackageRouteRecord(t, self.routes[t]) for t in sorted(self.routes)]
        self.expect("list_package_routes", lambda: routes)


# About 100 x 40 = 4,000 steps per run (a run ends early when its choice buffer fills),
# some 15 s on one core.
DifferentialMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    # Every step draws whole events (payloads, schedule configs, search attributes):
    # slow generation is by design and says nothing about the stores.
    suppress_health_check=[HealthCheck.too_slow],
)
TestDifferential = DifferentialMachine.TestCase


# -- whole histories ---------------------------------------------------------------------


@st.composite
def _split(draw: st.DrawFn, history: list[Event]) -> list[list[Event]]:
    """The history cut into consecutive batches (empty batches included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(history)), max_size=6)))
    bounds = [0, *cuts, len(history)]
    return [history[start:end] for start, end in itertools.pairwise(bounds)]


@requires_compiled
@settings(max_examples=150, deadline=None)
@given(
    history=histories(max_size=30),
    data=st.data(),
    cache=st.sampled_from(CACHE_SIZES),
)
def test_whole_histories_agree(history: list[Event], data: st.DataObject, cache: int) -> None:
    workflow_id = history[0].envelope.workflow_id if history else WorkflowId(uuid.UUID(int=1))
    batches = data.draw(_split(history))
    compiled = InMemoryStore(engine="compiled", decoded_cache_bytes=cache)
    pure = InMemoryStore(engine="pure", decoded_cache_bytes=cache)
    loop = asyncio.new_event_loop()

    def both(method: str, *args: Any) -> Any:
        outcomes = []
        for store in (compiled, pure):
            try:
                call = getattr(store, method)(*(_fresh(argument) for argument in args))
                outcomes.append(Outcome(loop.run_until_complete(call), None))
            except Exception as error:
                outcomes.append(Outcome(None, error))
        _same_outcome(*outcomes, f"{method}{args!r}")
        assert outcomes[1].error is None, _describe(outcomes[1])
        return outcomes[1].value

    try:
        head = 0
        for batch in batches:
            both("append", TOKEN, workflow_id, batch, head)
            head += len(batch)
            if data.draw(st.booleans()):  # reads between appends fill the compiled cache
                _same(
                    both("read_history", workflow_id),
                    history[:head],
                    "partial history",
                    AGAINST_MODEL,
                )
        _same(both("read_history", workflow_id), history, "read_history", AGAINST_MODEL)
        cursors = data.draw(st.lists(st.integers(0, len(history) + 2), max_size=4))
        for cursor in [0, 1, len(history), len(history) + 1, *cursors]:
            want = history[max(cursor, 1) - 1 :]
            _same(
                both("read_history_from", workflow_id, cursor),
                want,
                f"from {cursor}",
                AGAINST_MODEL,
            )
            raw = both("read_history_raw", workflow_id, cursor)
            _same(from_msgpack(raw, list[Event]), want, f"raw from {cursor}", AGAINST_MODEL)
        _same(
            both("read_history_raw", workflow_id), both("read_history_raw", workflow_id, 1), "raw"
        )
        _same(
            both("read_run_chain", workflow_id),
            run_chain_from_history(history),
            "run chain",
            AGAINST_MODEL,
        )
        status = status_from_events(history)
        active = [workflow_id] if history and status is WorkflowStatus.RUNNING else []
        _same(both("list_active"), active, "list_active", AGAINST_MODEL)
        _same(
            both("list_workflow_ids"),
            [workflow_id] if history else [],
            "list_workflow_ids",
            AGAINST_MODEL,
        )
        # The one workflow is its own parent when its history starts a child with its id.
        adopted = any(
            isinstance(event, ChildWorkflowStarted) and event.child_workflow_id == workflow_id
            for event in history
        )
        summary = _model_summary(history, workflow_id if adopted else None)
        queried = both("query", WorkflowFilter())
        _same(queried, [] if summary is None else [summary], "query", AGAINST_MODEL)
        if summary is not None:
            assert queried[0].status is status
            _same(
                both("query", WorkflowFilter(status=status)),
                [summary],
                "query by status",
                AGAINST_MODEL,
            )
            edges = WorkflowFilter(
                started_after=summary.started_at, started_before=summary.started_at
            )
            _same(both("query", edges), [summary], "query on inclusive edges", AGAINST_MODEL)
    finally:
        loop.close()


# -- reduced reproductions ---------------------------------------------------------------
# Engine discrepancies found while writing this file, reduced to one call each and kept as
# plain tests, so that a regression names itself without a shrunk state machine run.


def _outcomes(method: str, *args: Any, **options: Any) -> tuple[Outcome, Outcome]:
    found = []
    for engine in ("compiled", "pure"):
        loop = asyncio.new_event_loop()
        try:
            store = InMemoryStore(engine=engine, **options)
            found.append(Outcome(loop.run_until_complete(getattr(store, method)(*args)), None))
        except Exception as error:
            found.append(Outcome(None, error))
        finally:
            loop.close()
    return found[0], found[1]


@requires_compiled
@pytest.mark.parametrize("method", ["read_history_from", "read_history_raw"])
@pytest.mark.parametrize("cursor", [-1, True, BIG, "1"])
@pytest.mark.parametrize("workflow_id", ["not-a-workflow-id", None])
def test_reads_check_arguments_in_the_same_order(
    method: str, cursor: Any, workflow_id: Any
) -> None:
    """Two bad arguments: both engines must name the same one."""
    compiled, pure = _outcomes(method, workflow_id, cursor)
    _same_outcome(compiled, pure, f"{method}({workflow_id!r}, {cursor!r})")


@requires_compiled
@pytest.mark.parametrize("expected_seq", [_Seq(1), _Position.ONE], ids=["int-subclass", "IntEnum"])
def test_sequence_conflict_is_the_same_for_an_int_subclass(expected_seq: int) -> None:
    """A valid u64 that is an ``int`` subclass: the same SequenceConflict from both."""
    compiled, pure = _outcomes("append", TOKEN, WorkflowId(uuid.UUID(int=1)), [], expected_seq)
    assert isinstance(pure.error, SequenceConflict)
    _same_outcome(compiled, pure, f"append(expected_seq={expected_seq!r})")


@requires_compiled
@pytest.mark.parametrize("cache", [0, 1, 2**63 - 1, 2**63, U64_MAX, BIG, -1, True, "1", 1.0])
def test_both_engines_take_the_same_cache_sizes(cache: Any) -> None:
    """``decoded_cache_bytes`` is a u64 on both paths (the pure one ignores its value)."""
    compiled, pure = _outcomes("list_workflow_ids", decoded_cache_bytes=cache)
    _same_outcome(compiled, pure, f"InMemoryStore(decoded_cache_bytes={cache!r})")


@requires_compiled
def test_a_fold_1_timestamp_reads_back_the_same() -> None:
    """``fold=1`` on a UTC time: the pure engine once returned it as given, the compiled one
    (like both wire forms) without it, so the two reads differed in ``repr``."""
    workflow_id = WorkflowId(uuid.UUID(int=1))
    when = datetime(2000, 1, 1, tzinfo=UTC).replace(fold=1)
    envelope = EventEnvelope(seq=1, recorded_at=when, workflow_id=workflow_id)
    event = SignalReceived(envelope, name="s", payload=Payload.from_json(1))
    reads = []
    for engine in ENGINES:
        loop = asyncio.new_event_loop()
        try:
            store = InMemoryStore(engine=engine, decoded_cache_bytes=0)
            loop.run_until_complete(store.append(TOKEN, workflow_id, [event], 0))
            reads.append(loop.run_until_complete(store.read_history(workflow_id)))
        finally:
            loop.close()
    _same(reads[0], reads[1], "read_history")
