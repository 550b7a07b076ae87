"""The ``compgraph`` command: ``compgraph draw`` and ``compgraph animate`` from a shell."""

from compgraph.cli.commands import main

__all__ = ["main"]
