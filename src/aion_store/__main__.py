"""``python -m aion_store``: print the version and which engine is in use and why.

One line, e.g. ``aion-store 0.1.0: compiled core (aion_store._engine_c,
aion_store.wire._msgpack_c)`` or ``aion-store 0.1.0: pure-Python path: AION_STORE_PURE=1
is set`` (the same as
``aion-store --version``). The command itself is ``aion-store`` (``python -m aion_store.cli``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Print the version line and return 0; any argument is a usage error (status 2)."""
    from aion_store.cli import version_line

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        print(
            "python -m aion_store takes no arguments (it prints the version and the engine); "
            "the command is aion-store, or python -m aion_store.cli",
            file=sys.stderr,
        )
        return 2
    print(version_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
