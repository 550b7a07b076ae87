"""Gradient flow in training: the gradient norms of the parameters (and nodes) over time.

A training loop calls ``flow.record(iteration, parameters, root=J)`` after each backward;
every ``every`` iterations the flow keeps the L2 norm ‖dJ/dθ‖₂ of each parameter θ, and
with ``nodes=True`` of every node of the graph, so vanishing or exploding gradients show
as falling or rising lines on ``flow.plot()``'s log scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from compgraph.graph import topological_order
from compgraph.node import Node
from compgraph.pictures.export import gradient_array, node_labels

__all__ = ["GradientFlow", "gradient_norm", "literal_label"]


def gradient_norm(gradient: Any) -> float:
    """‖g‖₂ of a gradient, without overflow for huge entries (NaN if any entry is NaN).

    Example:
        >>> import numpy as np
        >>> gradient_norm(np.array([3.0, 4.0])), gradient_norm(np.array([3e300, 4e300]))
        (5.0, 5e+300)
    """
    array = np.asarray(gradient, dtype=np.float64).ravel()
    if array.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        scale = float(np.max(np.abs(array)))  # NaN if any entry is NaN
        if not math.isfinite(scale) or scale == 0.0:
            return scale
        # Divided by the largest entry first, so squaring 1e200 cannot overflow to inf.
        return float(np.linalg.norm(array / scale)) * scale


class GradientFlow:
    """Records gradient norms during training, every ``every`` iterations.

    Args:
        every: record at iterations 0, ``every``, 2·``every``, ...
        nodes: also record the gradient norm of every node of the graph (pass ``root``),
            keyed by ``export.node_labels``: a node's name, else its op's name and its
            position in creation order (``mul#3``).

    Attributes:
        iterations: the iterations recorded.
        norms: parameter name → its gradient norms, one per recorded iteration.
        node_norms: node label → its gradient norms (``nodes=True``); NaN where a recorded
            graph had no such node, or the node had no gradient (a constant).

    Example:
        >>> import compgraph as cg
        >>> flow = cg.GradientFlow(every=2)
        >>> w = 1.0
        >>> for i in range(5):
        ...     w_node = cg.Node(w, name="w")
        ...     J = (w_node - 3) ** 2
        ...     J.backward()
        ...     _ = flow.record(i, {"w": w_node}, root=J)
        ...     w -= 0.25 * float(w_node.grad)
        >>> flow.iterations, flow.norms["w"]
        ([0, 2, 4], [4.0, 1.0, 0.25])
    """

    def __init__(self, every: int = 10, nodes: bool = False):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientFlow: every must be a positive int, got {every!r}")
        if not isinstance(nodes, bool):
            raise TypeError(f"GradientFlow: nodes must be True or False, got {nodes!r}")
        self.every = every
        self.nodes = nodes
        self.iterations: list[int] = []
        self.norms: dict[Any, list[float]] = {}
        self.node_norms: dict[str, list[float]] = {}

    @property
    def needs_graph(self) -> bool:
        """Whether ``record`` reads a step's graph (``nodes=True``), not only its gradients:
        the training loop compiles the steps of a recorder that does not."""
        return self.nodes

    def needs_graph_at(self, iteration: int) -> bool:
        """Whether ``record`` reads the graph at ``iteration``: only at those it records.

        Example:
            >>> import compgraph as cg
            >>> flow = cg.GradientFlow(every=10, nodes=True)
            >>> flow.needs_graph_at(20), flow.needs_graph_at(21)
            (True, False)
        """
        return self.nodes and iteration % self.every == 0

    def __repr__(self) -> str:
        return (
            f"GradientFlow(every={self.every}, nodes={self.nodes}): "
            f"{len(self.iterations)} records of {len(self.norms)} parameters"
        )

    def record(
        self,
        iteration: int,
        parameters: Mapping[Any, Any],
        root: Node | None = None,
        *,
        gradients: Mapping[Any, Any] | None = None,
        node_gradients: Mapping[Node, Any] | None = None,
    ) -> bool:
        """Record the gradient norms of ``parameters`` if ``iteration`` is a multiple of ``every``.

        Two call forms. The training loop's passes the gradients it computed,
        ``record(i, parameters, root=J, gradients={name: dJ/dθ})``, and the parameters
        only name them. The older form, ``record(i, {name: node}, root=J)`` after
        ``J.backward()``, reads each parameter Node's ``.grad``; it keeps working.
        Call either before the parameters change.

        Args:
            iteration: the training iteration, counting from 0, increasing between calls.
            parameters: name → the parameter (its Node; with ``gradients``, anything).
                Names may be any hashable (strings, numbers); two names are never merged.
            root: the cost node; needed with ``nodes=True``.
            gradients: name → the parameter's gradient array, for the same names.
            node_gradients: with ``nodes=True``, Node → its gradient (the pass's, as
                ``cg.gradients(..., observe=...)`` hands them over); without it each node's
                ``.grad`` is read. A node missing from it counts as having no gradient.

        Returns:
            Whether this iteration was recorded.

        Raises:
            TypeError: ``iteration`` is not an int, or (without ``gradients``) a parameter
                is not a Node.
            ValueError: ``iteration`` is not after the last recorded one, the parameter
                names differ from the first record's, a parameter has no gradient, or
                ``nodes=True`` without ``root``.

        Example:
            >>> import compgraph as cg
            >>> flow = cg.GradientFlow(every=1, nodes=True)
            >>> w = cg.Node([3.0, 4.0], name="w")
            >>> J = cg.sum(w * w)
            >>> J.backward()
            >>> flow.record(0, {"w": w}, root=J), flow.norms, list(flow.node_norms)
            (True, {'w': [10.0]}, ['w', 'mul#1', 'sum#2'])
        """
        if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)):
            raise TypeError(
                f"GradientFlow.record: iteration must be an int, got {type(iteration).__name__}"
            )
        iteration = int(iteration)
        if iteration < 0 or (self.iterations and iteration <= self.iterations[-1]):
            after = f" after {self.iterations[-1]}" if self.iterations else ""
            raise ValueError(
                f"GradientFlow.record: iteration {iteration} must be >= 0 and come{after}; "
                "pass the loop's counter (0, 1, 2, ...)"
            )
        if iteration % self.every:
            return False
        norms = self._parameter_norms(parameters, gradients)
        node_norms: dict[str, float] = {}
        if self.nodes:
            if root is None:
                raise ValueError(
                    "GradientFlow.record: nodes=True records every node of the graph: pass root=J"
                )
            node_norms = self._node_norms(root, node_gradients)
        # Checked before anything is stored, so a failed call leaves the record unchanged.
        self.iterations.append(iteration)
        for name, norm in norms.items():
            self.norms.setdefault(name, []).append(norm)
        count = len(self.iterations)
        for label, norm in node_norms.items():
            self.node_norms.setdefault(label, [math.nan] * (count - 1)).append(norm)
        for series in self.node_norms.values():
            if len(series) < count:
                series.append(math.nan)
        return True

    def _parameter_norms(
        self, parameters: Mapping[Any, Any], gradients: Mapping[Any, Any] | None
    ) -> dict[Any, float]:
        if not isinstance(parameters, Mapping) or not parameters:
            raise TypeError(
                "GradientFlow.record: parameters must be a non-empty dict of name -> Node, "
                f"got {type(parameters).__name__}"
            )
        # The names as given: str(name) would merge 1 and "1", and break the comparison
        # with the next record's names.
        if self.norms and set(parameters) != set(self.norms):
            raise ValueError(
                f"GradientFlow.record: parameters {_names(parameters)} differ from the first "
                f"record's {_names(self.norms)}; record the same parameters every time"
            )
        if gradients is not None:
            if not isinstance(gradients, Mapping) or set(gradients) != set(parameters):
                given = (
                    _names(gradients)
                    if isinstance(gradients, Mapping)
                    else type(gradients).__name__
                )
                raise ValueError(
                    f"GradientFlow.record: gradients must be a dict with the parameters' names "
                    f"{_names(parameters)}, got {given}"
                )
            return {name: gradient_norm(_array(gradients[name])) for name in parameters}
        norms = {}
        for name, node in parameters.items():
            if not isinstance(node, Node):
                raise TypeError(
                    f"GradientFlow.record: parameter {name!r} is a {type(node).__name__}, "
                    "not a Node; pass the Nodes backward() filled, or gradients="
                )
            if node.grad is None:
                raise ValueError(
                    f"GradientFlow.record: parameter {name!r} ({node.describe()}) has no "
                    "gradient; call J.backward() before record(), with J depending on it"
                )
            norms[name] = gradient_norm(gradient_array(node))
        return norms

    @staticmethod
    def _node_norms(root: Node, given: Mapping[Node, Any] | None) -> dict[str, float]:
        if not isinstance(root, Node):
            raise TypeError(f"GradientFlow.record: root must be a Node, got {type(root).__name__}")
        order = topological_order(root)
        labels = node_labels(order)
        if given is None:
            return {
                labels[node]: math.nan if node.grad is None else gradient_norm(gradient_array(node))
                for node in order
            }
        return {
            labels[node]: math.nan
            if given.get(node) is None
            else gradient_norm(_array(given[node]))
            for node in order
        }

    def plot(self, ax: Any = None, *, nodes: bool = False) -> Any:
        """Draw the recorded gradient norms over the iterations, on a log scale.

        Args:
            ax: a matplotlib Axes to draw on; ``None`` makes a new figure.
            nodes: draw the nodes' norms (recorded with ``nodes=True``) instead of the
                parameters'.

        Returns:
            The matplotlib Axes (its ``.figure`` is the Figure).

        Raises:
            ValueError: nothing was recorded yet (or no node norms, with ``nodes=True``).
            ImportError: matplotlib is not installed.

        Example:
            >>> import compgraph as cg
            >>> from matplotlib.figure import Figure
            >>> flow = cg.GradientFlow(every=1)
            >>> for i in range(3):
            ...     w = cg.Node(2.0 ** -i, name="w")
            ...     (w * w).backward()
            ...     _ = flow.record(i, {"w": w})
            >>> axes = flow.plot(ax=Figure().add_subplot())
            >>> axes.get_yscale(), axes.get_lines()[0].get_ydata().tolist()
            ('log', [2.0, 1.0, 0.5])
        """
        series = self.node_norms if nodes else self.norms
        if not series:
            what = "node norms (create the flow with nodes=True)" if nodes else "gradients"
            raise ValueError(f"GradientFlow.plot: no {what} recorded yet; call record() first")
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(
                "GradientFlow.plot needs matplotlib: pip install matplotlib"
            ) from None
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 3.6))
        for name, norms in series.items():
            ax.plot(
                self.iterations,
                norms,
                marker="." if len(norms) < 30 else None,
                label=literal_label(name),
            )
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("‖dJ/dθ‖₂" if not nodes else "‖dJ/dv‖₂")
        ax.set_title("gradient norms" + (" of every node" if nodes else " of the parameters"))
        if len(series) <= 12:
            ax.legend(fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
        return ax


def literal_label(name: Any) -> str:
    """``name`` as matplotlib draws it literally: ``$`` escaped, so no mathtext is parsed.

    A leading underscore, which would hide the line from the legend, is kept visible too.

    Example:
        >>> from compgraph.pictures.flow import literal_label
        >>> print(literal_label("cost in $"), literal_label(3))
        cost in \\$ 3
        >>> len(literal_label("_hidden"))  # a zero-width space in front
        8
    """
    text = str(name).replace("$", r"\$")
    # Matplotlib leaves labels starting with "_" out of legends; a zero-width space keeps it.
    return "\u200b" + text if text.startswith("_") else text


def _names(mapping: Mapping[Any, Any]) -> str:
    # Sorted by repr: names of mixed types (1 and "1") do not compare with each other.
    return "[" + ", ".join(sorted(map(repr, mapping))) + "]"


def _array(gradient: Any) -> Any:
    return gradient.value if isinstance(gradient, Node) else gradient
