"""atheris target: the CLI history reader (``_targets.check_cli_reader``).

Each input is a history file, read sniffed and as each form: only CliError escapes;
the reader accepts exactly what the library accepts and yields the same events; bytes
that are not a whole event at the end are an error naming their byte offset. Runs the
engine ``aion_store`` selects (set ``AION_STORE_PURE=1`` for the pure one). Usage:
``python fuzz/fuzz_cli_reader.py [libFuzzer options] [corpus]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["aion_store"]):
    import _targets


def main() -> None:
    _targets.fuzz(atheris, _targets.check_cli_reader, structured=True)


if __name__ == "__main__":
    main()
