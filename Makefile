# The two commands of the README: `make run` (the main job: the benchmark report) and
# `make test` (every test on the compiled and the pure-Python path, then the release
# checks). Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo test check test-compiled test-pure test-pure-only release-check bench lint typecheck clean postgres-binaries

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard src/aion_store/*.pyx src/aion_store/*.pxd src/aion_store/wire/*.pyx src/aion_store/wire/*.pxd src/aion_store/wire/*.pxi)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77" "Cython>=3.0,<4"
	AION_STORE_REQUIRE_EXTENSION=1 $(BIN)/python -m pip install --quiet -e '.[test,bench,plot,peers,release,postgres]'
	touch $(STAMP)

# The main job: the benchmark report (a progress bar, then the table).
run: $(STAMP)
	$(BIN)/aion-store bench --quick

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# Everything CI runs: the suite on both paths and on an install built without a
# compiler, a minute of fuzzing, then the packaging and type checks.
test: test-compiled test-pure test-pure-only fuzz-ci release-check

# The suite on both paths only (the quick loop while developing).
check: test-compiled test-pure

# Server binaries for the PostgresStore tests (they start their own throwaway server).
postgres-binaries:
	@.ci/ensure-postgres.sh

test-compiled: $(STAMP) postgres-binaries
	@echo "=== aion-store tests: compiled core ==="
	AION_STORE_EXPECT=compiled $(BIN)/python -m pytest -q tests

test-pure: $(STAMP) postgres-binaries
	@echo "=== aion-store tests: pure-Python path (AION_STORE_PURE=1) ==="
	AION_STORE_PURE=1 AION_STORE_EXPECT=pure $(BIN)/python -m pytest -q tests

# The suite against the pure package alone, as pip builds it where no compiler works:
# the working tree's sources (no build products) installed into a venv of their own with
# the compiler hidden. Tests that need the compiled modules skip, saying why.
PURE_ONLY := build/pure-only
test-pure-only: postgres-binaries
	@echo "=== aion-store tests: pure-only install (no compiler) ==="
	rm -rf $(PURE_ONLY)
	mkdir -p $(PURE_ONLY)/src
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(PURE_ONLY)/src
	$(PYTHON) -m venv $(PURE_ONLY)/venv
	$(PURE_ONLY)/venv/bin/python -m pip install --quiet --upgrade pip
	cd $(PURE_ONLY)/src && CC=false CXX=false LDSHARED=false ../venv/bin/python -m pip install --quiet '.[test,bench,plot,peers,postgres]'
	AION_STORE_EXPECT=pure-only $(PURE_ONLY)/venv/bin/python -m pytest -q tests

release-check: $(STAMP)
	PYTHON=$(PYTHON) .ci/release-check.sh

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples fuzz
	$(BIN)/ruff format --check src tests benchmarks examples fuzz

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/aion_store

clean:
	rm -rf $(VENV) build dist wheelhouse src/*.egg-info src/aion_store/*.c src/aion_store/*.so src/aion_store/wire/*.c src/aion_store/wire/*.so

# Fuzzing (fuzz/README.md). `make fuzz FUZZ_SECONDS=600` fuzzes for that long in all, shared
# out over the four runs (msgpack, json, the CLI reader on each engine); `make fuzz-ci` is
# the bounded run for CI, about a minute. Findings are saved in fuzz/regressions/.
FUZZ_SECONDS ?= 600

.PHONY: fuzz fuzz-ci

fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py --total-seconds $(FUZZ_SECONDS)

fuzz-ci: $(STAMP)
	$(BIN)/python fuzz/run.py --seconds 12 --require-compiled --targets msgpack,json,cli_reader --engines compiled,pure
