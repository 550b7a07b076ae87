"""Checks of gradients: finite differences, ``gradcheck``, graph checks, hypothesis strategies
and the op test table. A room built on the engine's public names."""
