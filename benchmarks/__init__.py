"""pytest-benchmark wrappers over ``aion_store.bench`` (a package, so that its module names
cannot clash with those of ``tests/`` when both are collected)."""
