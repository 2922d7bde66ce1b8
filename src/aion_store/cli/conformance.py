"""``aion-store conformance MODULE:FACTORY``: run the public conformance suite on a backend.

MODULE is imported with the current directory on ``sys.path`` (as ``python -m`` does);
FACTORY is a zero-argument callable in it (a dotted attribute path is fine), sync or
async, returning a fresh store. Exit status: 0 when every scenario passes, 1 when one
fails, 2 when the factory cannot be imported or called, raises (``SystemExit`` too) or
returns something that is not an :class:`~aion_store.store.EventStore`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from aion_store._text import a
from aion_store.cli._io import CliError

__all__ = ["add_parser", "load_factory", "make_store", "run"]

HELP = "run the store contract's conformance suite against MODULE:FACTORY"
DESCRIPTION = """\
Import FACTORY from MODULE (with the current directory on sys.path, as python -m
does), call it for a fresh store before every scenario (it may be sync or async; what it
returns must be an aion_store.EventStore, checked before the first scenario), and
run every scenario of the public conformance suite (aion_store.conformance) against
it: one line per scenario, and for a failure the contract rule that broke. Scenarios
that need a VisibilityStore are skipped for a store that is not one.

exit status: 0 all scenarios pass, 1 a scenario fails, 2 the factory cannot be
imported or called, raises (SystemExit included) or returns something that is not a
store.

example: aion-store conformance aion_store:InMemoryStore
"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help=HELP,
        description=DESCRIPTION,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "factory",
        metavar="MODULE:FACTORY",
        help="where to find the store factory, e.g. aion_store:InMemoryStore",
    )
    parser.add_argument(
        "-k",
        dest="keyword",
        metavar="TEXT",
        help="run only the scenarios whose name contains TEXT",
    )
    parser.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop at the first failing scenario"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print failure details in full"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="fail a scenario that takes longer than this (default 60)",
    )
    parser.set_defaults(command=run)


# -- finding and calling the factory ---------------------------------------------------------


def load_factory(spec: str, directory: str | None = None) -> Callable[[], Any]:
    """The callable named by ``MODULE:FACTORY``, importing MODULE with ``directory``
    (default: the current directory) on ``sys.path``. Problems are a :class:`CliError`."""
    module_name, colon, attribute = spec.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if not colon or not module_name or not attribute:
        raise CliError(f"{spec}: expected MODULE:FACTORY, for example aion_store:InMemoryStore")
    directory = os.getcwd() if directory is None else directory
    if directory not in sys.path and not (directory == os.getcwd() and "" in sys.path):
        sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise CliError(f"{spec}: cannot import module {module_name!r}: {error}") from None
        raise CliError(f"{spec}: importing {module_name!r} failed: {_describe(error)}") from error
    except (Exception, SystemExit) as error:
        raise CliError(f"{spec}: importing {module_name!r} failed: {_describe(error)}") from error
    target: Any = module
    walked = module_name
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CliError(f"{spec}: {walked!r} has no attribute {part!r}") from None
        walked = f"{walked}.{part}"
    if not callable(target):
        raise CliError(
            f"{spec}: {attribute!r} is {a(type(target).__name__)}, not a callable store factory"
        )
    return target  # type: ignore[no-any-return]


async def make_store(spec: str, factory: Callable[[], Any]) -> Any:
    """Call the factory (awaiting its result when it is awaitable) and return the store.

    A :class:`CliError` naming ``spec`` when the factory raises (``SystemExit`` too) or
    returns anything that is not an :class:`~aion_store.store.EventStore` (None, a
    number, an object without the store's methods, a class instead of an instance)."""
    from aion_store.store import EventStore

    try:
        store = factory()
        if inspect.isawaitable(store):
            store = await store
    except (Exception, SystemExit) as error:
        raise CliError(f"{spec}: the factory raised {_describe(error)}") from error
    # A class has the methods of its instances: isinstance alone would accept it.
    if isinstance(store, type) or not isinstance(store, EventStore):
        raise CliError(f"{spec}: the factory returned {_what(store)}, not a store")
    return store


def _what(value: Any) -> str:
    """``None``, ``an int``, ``a MyStore``, ``the class MyStore``: what a factory returned."""
    if value is None:
        return "None"
    if isinstance(value, type):
        return f"the class {value.__name__} (call it to make a store)"
    return a(type(value).__name__)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# -- running the suite --------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from aion_store import conformance

    spec = args.factory
    factory = load_factory(spec)
    selected = [
        scenario
        for scenario in conformance.scenarios()
        if args.keyword is None or args.keyword in scenario.name
    ]
    if not selected:
        raise CliError(f"-k {args.keyword}: no conformance scenario name contains it")
    return asyncio.run(_run_all(spec, factory, selected, args))


async def _run_all(
    spec: str, factory: Callable[[], Any], selected: list[Any], args: argparse.Namespace
) -> int:
    from aion_store import conformance
    from aion_store.visibility import VisibilityStore

    passed = failed = skipped = 0
    width = max(len(scenario.name) for scenario in selected)
    started = time.perf_counter()
    for scenario in selected:
        store = await make_store(spec, factory)
        if scenario.requires == conformance.VISIBILITY and not isinstance(store, VisibilityStore):
            skipped += 1
            _line(f"skip  {scenario.name.ljust(width)}  (the store is not a VisibilityStore)")
            continue
        try:
            await asyncio.wait_for(
                conformance.run_scenario(scenario, _constant(store)), timeout=args.timeout
            )
        except conformance.ScenarioFailure as failure:
            failed += 1
            _line(f"FAIL  {scenario.name.ljust(width)}  {_failure_text(failure, args.verbose)}")
        except asyncio.TimeoutError:
            failed += 1
            _line(
                f"FAIL  {scenario.name.ljust(width)}  {scenario.rule} -- did not finish "
                f"within {args.timeout:g} s"
            )
        else:
            passed += 1
            _line(f"pass  {scenario.name}")
        if failed and args.exitfirst:
            break
    elapsed = time.perf_counter() - started
    parts = [f"{passed} passed"]
    if failed:
        parts.append(f"{failed} failed")
    if skipped:
        parts.append(f"{skipped} skipped")
    not_run = len(selected) - passed - failed - skipped
    if not_run:
        parts.append(f"{not_run} not run (-x)")
    _line(f"{spec}: {', '.join(parts)} in {elapsed:.2f} s")
    return 1 if failed else 0


def _constant(store: Any) -> Callable[[], Any]:
    def factory() -> Any:
        return store

    return factory


def _failure_text(failure: Any, verbose: bool) -> str:
    """``rule -- what broke`` on one line."""
    scenario = failure.scenario
    message = str(failure)
    prefix = f"scenario {scenario.name} failed ({scenario.rule}): "
    detail = message[len(prefix) :] if message.startswith(prefix) else message
    detail = " ".join(detail.split())
    if not verbose and len(detail) > 240:
        detail = detail[:237] + "..."
    return f"{scenario.rule} -- {detail}"


def _line(text: str) -> None:
    print(text, flush=True)
