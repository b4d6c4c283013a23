"""``python -m demo`` is the same as ``python -m demo.train``."""

import sys

from .train import main

if __name__ == "__main__":
    sys.exit(main())
