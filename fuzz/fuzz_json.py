"""atheris target: the JSON decoder (``_targets.check_json``).

Only SerializationError escapes (bytes and str input alike); accepted values survive
``to_json``/``from_json`` and ``to_msgpack``/``from_msgpack``. Usage: ``python
fuzz/fuzz_json.py [libFuzzer options] [corpus]`` (``fuzz/run.py`` runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["aion_store"]):
    import _targets


def main() -> None:
    _targets.fuzz(atheris, _targets.check_json, structured=False)


if __name__ == "__main__":
    main()
