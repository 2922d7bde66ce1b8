"""``python -m aion_store.cli``: the ``aion-store`` command."""

from __future__ import annotations

import sys

from aion_store.cli import main

if __name__ == "__main__":
    sys.exit(main())
