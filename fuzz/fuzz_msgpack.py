"""atheris target: the msgpack decoders, compiled against pure (``_targets.check_msgpack``).

Only SerializationError escapes; both decoders agree on every input; accepted values
re-encode (both encoders, identical bytes) and decode back equal; no decode allocates
far beyond its input. Usage: ``python fuzz/fuzz_msgpack.py [libFuzzer options] [corpus]``
(``fuzz/run.py`` runs it with the seed corpus and saves findings).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["aion_store"]):
    import _targets


def main() -> None:
    _targets.fuzz(atheris, _targets.check_msgpack, structured=True)


if __name__ == "__main__":
    main()
