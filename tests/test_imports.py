"""The package's imports: every module imports on its own, in a fresh interpreter, and the
modules' import-time dependencies form no cycle (the layers of ARCHITECTURE.md point one
way: model -> codec -> engines and stores -> facade -> tools)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "aion_store"
if not PACKAGE.is_dir():  # an installed package, not the source tree
    import aion_store

    PACKAGE = Path(aion_store.__file__).parent

COMPILED = {
    "aion_store._engine_c",
    "aion_store._projections_c",
    "aion_store._timers_c",
    "aion_store.wire._msgpack_c",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    found.update({module_name(path): path for path in PACKAGE.rglob("*.pyx")})
    return dict(sorted(found.items()))


def compiled_built() -> bool:
    try:
        import aion_store._engine_c  # noqa: F401
    except ImportError:
        return False
    return True


def import_time_dependencies(path: Path, known: set[str]) -> set[str]:
    """The package modules ``path`` imports at import time: top-level imports, not those
    inside functions or under ``if TYPE_CHECKING``. (A .pyx file: its Python imports.)"""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".pyx":
        text = "\n".join(
            line
            for line in _joined_lines(text)
            if line.startswith(("import ", "from ")) and " cimport " not in line
        )
    found: set[str] = set()
    for node in ast.parse(text).body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("aion_store")
        ):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("aion_store"))
    return {name for name in found if name in known}


def _joined_lines(text: str) -> list[str]:
    """Lines with parenthesised continuations joined (enough for import statements)."""
    lines, pending = [], ""
    for line in text.splitlines():
        pending = f"{pending} {line.strip()}" if pending else line
        if pending.count("(") == pending.count(")"):
            lines.append(pending)
            pending = ""
    return lines


def test_the_modules_import_time_dependencies_have_no_cycle() -> None:
    known = modules()
    graph = {
        name: import_time_dependencies(path, set(known)) - {name} for name, path in known.items()
    }
    # Depth-first search for a back edge; report the cycle it closes.
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        trail.append(name)
        for dependency in sorted(graph[name]):
            if state.get(dependency) == 1:
                cycle = [*trail[trail.index(dependency) :], dependency]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dependency not in state:
                visit(dependency)
        trail.pop()
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name)
    assert "aion_store.events" in graph and graph["aion_store.search"] <= {
        "aion_store._fields",
        "aion_store._text",
    }


@pytest.mark.parametrize("module", list(modules()))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    if module in COMPILED and not compiled_built():
        pytest.skip("the compiled modules are not built (a pure-only install)")
    environment = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 0, f"import {module}:\n{result.stderr[-2000:]}"
