"""Build the compiled modules from Cython; without a working C compiler, ship the pure package.

The modules, each beside its readable twin: ``aion_store.wire._msgpack_c`` (the msgpack
codec; twin ``_msgpack_py``), ``aion_store._engine_c`` (``InMemoryStore``'s engine; twin
``_engine_py``) and ``aion_store._timers_c`` (the durable-timer index; twin
``_timers_py``). Cython directives live in each ``.pyx``'s header.

``AION_STORE_REQUIRE_EXTENSION=1`` (set for wheel builds) turns that fallback into an error,
so no pure-Python wheel ever ships under a platform tag.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

FALLBACK_WARNING = "aion-store: no working C compiler, building the pure-Python package"


def require_extension() -> bool:
    return os.environ.get("AION_STORE_REQUIRE_EXTENSION", "") not in ("", "0")


class OptionalBuildExt(build_ext):
    """Build the extension when possible; otherwise warn and build the pure package."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # the compiler may be missing or broken in many ways
            self._fall_back(error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            self._fall_back(error)

    def _fall_back(self, error):
        if require_extension():
            raise
        sys.stderr.write(f"{FALLBACK_WARNING} ({type(error).__name__}: {error})\n")
        print(FALLBACK_WARNING)


def extensions():
    if os.environ.get("AION_STORE_PURE_BUILD", "") not in ("", "0"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if require_extension():
            raise
        sys.stderr.write(f"{FALLBACK_WARNING} (Cython is not installed)\n")
        return []
    debug = os.environ.get("AION_STORE_DEBUG_BUILD", "") not in ("", "0")
    # Python's own CFLAGS carry -g; without debug info the module is ~6x smaller.
    flags = [] if debug or sys.platform == "win32" else ["-g0"]
    modules = [
        ("aion_store.wire._msgpack_c", "src/aion_store/wire/_msgpack_c.pyx"),
        ("aion_store._engine_c", "src/aion_store/_engine_c.pyx"),
        ("aion_store._timers_c", "src/aion_store/_timers_c.pyx"),
        ("aion_store._projections_c", "src/aion_store/_projections_c.pyx"),
    ]
    return cythonize(
        [Extension(name, [source], extra_compile_args=flags) for name, source in modules],
        annotate=debug,
        include_path=["src"],
        compiler_directives={"embedsignature": True},
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
