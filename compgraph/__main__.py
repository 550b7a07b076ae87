"""``python -m compgraph``: the ``compgraph`` command, for when its script is not on PATH."""

import sys

from compgraph.cli import main

if __name__ == "__main__":
    sys.exit(main())
