"""Read-only walks over a computation graph, shared by backward, pictures and checks.

Every walk is iterative (an explicit stack), so a chain of a million nodes is no deeper
for Python than a chain of two, and every walk keeps a visited set, so shared subgraphs
(diamonds, fan-out) are visited once.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compgraph.node import Node

__all__ = ["ancestors", "topological_order"]

_by_creation = attrgetter("id")


def ancestors(root: Node) -> set[Node]:
    """Every node ``root`` depends on, ``root`` included (constants too)."""
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def topological_order(root: Node) -> list[Node]:
    """``root`` and its ancestors, each after all of its parents (``root`` last).

    Deterministic: nodes come in creation order, which is a valid topological order
    because an op's output is always created after its inputs.
    """
    return sorted(ancestors(root), key=_by_creation)
