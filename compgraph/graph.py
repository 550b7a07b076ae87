"""Read-only walks over a computation graph, shared by backward, pictures and checks.

Every walk is iterative (an explicit stack), so a chain of a million nodes is no deeper
for Python than a chain of two, and every walk keeps a visited set, so shared subgraphs
(diamonds, fan-out) are visited once.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from compgraph.values import Recorded

if TYPE_CHECKING:
    from compgraph.node import Node

__all__ = ["ancestors", "graph_with_gradient_graphs", "topological_order"]

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


def graph_with_gradient_graphs(root: Node) -> list[Node]:
    """``root``'s graph and the graphs of its gradients that are Nodes, in creation order.

    After ``backward(create_graph=True)`` a node's ``.grad`` is a Node whose graph holds the
    node itself: copies and pickles walk both, or that cycle would be left out (or recursed).
    """
    seen: set[Any] = {root}  # Nodes, and gradients typed as Recorded
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        grad = node.grad
        for other in (*node.parents, grad) if isinstance(grad, Recorded) else node.parents:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return sorted(seen, key=_by_creation)
