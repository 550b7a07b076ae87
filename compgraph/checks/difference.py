"""Gradient checking as the course teaches it: one number for all the parameters.

``gradient_difference(f, parameters, gradients)`` flattens the parameters (a dict, a
sequence or one array) into one vector θ, in order, and compares the gradient g to check
(a hand-written backpropagation's, or by default the engine's) with two-sided differences

    ĝᵢ = (J(θ + ε eᵢ) − J(θ − ε eᵢ)) / 2ε,   difference = ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂)

The course reads it with ε = 1e-7: below about 2e-7 (its N-D check's threshold) the
backpropagation is right; well above, say 1e-3, there is a mistake. It needs a cost that
is a fixed function of θ: with dropout's fresh random masks it is not, which is why the
course checks with dropout off (keep_prob = 1) and turns it on afterwards.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from compgraph.autodiff import gradients as engine_gradients
from compgraph.checks.gradcheck import relative_difference
from compgraph.graph import topological_order
from compgraph.node import Node

__all__ = ["gradient_difference"]

# The mask inputs compgraph.models.networks gives a dropout step: D1, D2, ...
_DROPOUT_MASK = re.compile(r"D\d+")


def gradient_difference(
    f: Callable[[Any], Any],
    parameters: Any,
    gradients: Any = None,
    epsilon: float = 1e-7,
) -> float:
    """The course's gradient check: ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂) over all parameters.

    Args:
        f: maps the parameters (the same structure as ``parameters``: a dict, list or
            tuple of arrays, or one array) to the scalar cost J, a number or a Node. For
            the engine's gradients (``gradients=None``) it is called with Nodes and must
            compute J with compgraph's operations.
        parameters: the point θ: a dict of arrays (flattened in its order), a list or tuple
            of arrays, or one array.
        gradients: the gradient g to check, in the same structure (a dict's gradients may
            also be named ``d<name>``, as the course's ``grads`` are); None checks the
            engine's own gradients of ``f``.
        epsilon: the two-sided difference's step ε (the course's 1e-7).

    Returns:
        The difference, a float ≥ 0 (0 when both gradients vanish).

    Raises:
        ValueError: ``f`` gives different costs at the same parameters (dropout's random
            masks, say), a gradient is missing or misshapen, or ``epsilon`` is not positive.
        TypeError: ``f`` does not return a scalar, or (for the engine's gradients) not a
            Node.

    Warns:
        UserWarning: ``f``'s graph holds dropout masks (inputs ``D1``, ``D2``, …): the
            check then holds for these masks only. The graph looked at is the one ``f``
            records on Nodes for the engine's gradients, or else the one it records when
            called with the arrays (none, if ``f`` wraps no array in a Node).

    Example:
        >>> import numpy as np
        >>> import compgraph as cg
        >>> def cost(p):  # J = Σ w² + 3b
        ...     return cg.sum(p["w"] * p["w"]) + 3 * p["b"]
        >>> parameters = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
        >>> cg.gradient_difference(cost, parameters) < 2e-7  # the engine's gradients
        True
        >>> wrong = {"dw": np.array([2.0, -4.0]), "db": np.array(3.3)}  # db should be 3
        >>> round(cg.gradient_difference(cost, parameters, wrong), 4)
        0.0274
    """
    where = "gradient_difference"
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float, np.floating))
        or not math.isfinite(epsilon)
        or epsilon <= 0
    ):
        raise ValueError(f"{where}: epsilon must be a positive number (the course's 1e-7)")
    names, arrays, rebuild = _flatten(parameters, where)
    theta = np.concatenate([array.ravel() for array in arrays])

    first = f(rebuild(theta))
    if gradients is not None:
        # For the engine's gradients the masks are looked for in the graph on Nodes
        # (_engine_gradient): called with arrays, f may record no graph at all.
        _warn_about_dropout(first, stacklevel=3)
    # f is called as it is (not under no_grad): a model's cost may read its own graph.
    costs = (_scalar(first, where), _scalar(f(rebuild(theta)), where))
    if costs[0] != costs[1] and not (math.isnan(costs[0]) and math.isnan(costs[1])):
        raise ValueError(
            f"{where}: f gave two different costs at the same parameters ({costs[0]!r} and "
            f"{costs[1]!r}): the cost is random, as with dropout's fresh masks each call. "
            "Gradient checking needs a fixed cost: check with dropout off (keep_prob=1), "
            "then turn it on"
        )

    if gradients is None:
        analytic = _engine_gradient(f, names, arrays, rebuild, where)
    else:
        analytic = _given_gradient(gradients, parameters, names, arrays, where)

    numeric = np.empty_like(theta)
    for i in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += epsilon
        minus[i] -= epsilon
        J_plus = _scalar(f(rebuild(plus)), where)
        J_minus = _scalar(f(rebuild(minus)), where)
        numeric[i] = (J_plus - J_minus) / (2 * epsilon)
    return relative_difference(analytic, numeric)


def _flatten(
    parameters: Any, where: str
) -> tuple[list[Any], list[np.ndarray], Callable[[np.ndarray], Any]]:
    """The names, the arrays in order, and a function from a flat θ back to the structure."""
    if isinstance(parameters, Mapping):
        names = list(parameters)
        values = list(parameters.values())
    elif isinstance(parameters, Sequence) and not isinstance(parameters, (str, bytes)):
        names = list(range(len(parameters)))
        values = list(parameters)
    else:
        names, values = [None], [parameters]
    if not values:
        raise ValueError(f"{where}: parameters is empty; give at least one array")
    arrays = []
    for name, value in zip(names, values, strict=True):
        array = np.asarray(value.value if isinstance(value, Node) else value)
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            label = "parameters" if name is None else f"parameter {name!r}"
            raise TypeError(f"{where}: {label} must hold real numbers, got dtype {array.dtype}")
        arrays.append(array.astype(np.float64))
    sizes = np.cumsum([0] + [array.size for array in arrays])
    shapes = [array.shape for array in arrays]

    def rebuild(theta: Any, wrap: Callable[[np.ndarray, Any], Any] = lambda a, _: a) -> Any:
        parts = [
            wrap(np.reshape(theta[sizes[k] : sizes[k + 1]], shapes[k]), names[k])
            for k in range(len(shapes))
        ]
        if isinstance(parameters, Mapping):
            return dict(zip(names, parts, strict=True))
        if isinstance(parameters, tuple):
            return tuple(parts)
        if isinstance(parameters, Sequence) and not isinstance(parameters, (str, bytes)):
            return parts
        return parts[0]

    return names, arrays, rebuild


def _engine_gradient(
    f: Callable[[Any], Any],
    names: list[Any],
    arrays: list[np.ndarray],
    rebuild: Callable[..., Any],
    where: str,
) -> np.ndarray:
    theta = np.concatenate([array.ravel() for array in arrays])
    nodes: list[Node] = []

    def as_node(array: np.ndarray, name: Any) -> Node:
        node = Node(array, name=None if name is None else str(name))
        nodes.append(node)
        return node

    J = f(rebuild(theta, as_node))
    if not isinstance(J, Node):
        raise TypeError(
            f"{where}: f returned a {type(J).__name__}, not a Node, when called with Nodes: "
            "compute the cost with compgraph's operations, or pass the gradients to check"
        )
    if J.size != 1:
        raise TypeError(f"{where}: f must return a scalar cost, got shape {J.shape}")
    _warn_about_dropout(J, stacklevel=4)
    found = engine_gradients(J, nodes)
    return np.concatenate([np.ravel(np.asarray(g, dtype=np.float64)) for g in found])


def _given_gradient(
    gradients: Any, parameters: Any, names: list[Any], arrays: list[np.ndarray], where: str
) -> np.ndarray:
    if isinstance(parameters, Mapping):
        if not isinstance(gradients, Mapping):
            raise ValueError(
                f"{where}: parameters is a dict, so gradients must be one too, got "
                f"{type(gradients).__name__}"
            )
        picked = []
        for name in names:
            if name in gradients:
                picked.append(gradients[name])
            elif isinstance(name, str) and f"d{name}" in gradients:
                picked.append(gradients[f"d{name}"])
            else:
                raise ValueError(
                    f"{where}: gradients has no {name!r} (nor 'd{name}'); give one gradient "
                    "per parameter"
                )
    elif names == [None]:
        picked = [gradients]
    else:
        if not isinstance(gradients, Sequence) or len(gradients) != len(names):
            raise ValueError(
                f"{where}: gradients must be a sequence of {len(names)} arrays, one per parameter"
            )
        picked = list(gradients)
    flat = []
    for name, array, gradient in zip(names, arrays, picked, strict=True):
        gradient_array = np.asarray(gradient.value if isinstance(gradient, Node) else gradient)
        if gradient_array.shape != array.shape:
            label = "the gradient" if name is None else f"the gradient of {name!r}"
            raise ValueError(
                f"{where}: {label} has shape {gradient_array.shape}, the parameter "
                f"{array.shape}; each gradient must have its parameter's shape"
            )
        flat.append(gradient_array.astype(np.float64).ravel())
    return np.concatenate(flat)


def _scalar(value: Any, where: str) -> float:
    array = np.asarray(value.value if isinstance(value, Node) else value)
    if array.size != 1 or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            f"{where}: f must return the scalar cost, got {type(value).__name__} of shape "
            f"{array.shape}"
        )
    return float(array.reshape(()))


def _warn_about_dropout(J: Any, stacklevel: int) -> None:
    """Warn if J's graph has dropout masks; ``stacklevel`` points at the user's call."""
    if not isinstance(J, Node):
        return
    masks = sorted(
        node.name
        for node in topological_order(J)
        if node.op is None and node.name is not None and _DROPOUT_MASK.fullmatch(node.name)
    )
    if masks:
        warnings.warn(
            f"gradient_difference: the cost's graph holds dropout masks ({', '.join(masks)}); "
            "the check holds for these masks only, and the course checks with dropout off "
            "(keep_prob=1)",
            UserWarning,
            stacklevel=stacklevel,
        )
