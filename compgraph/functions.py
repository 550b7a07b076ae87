"""The public op functions: ``compgraph.add``, ``compgraph.sigmoid``, ... one line each.

Each takes Nodes, numbers or arrays (non-Nodes become constants) and returns a Node; the
maths of each lives in its class in ``compgraph.ops``.
"""

from __future__ import annotations

from typing import Any

from compgraph import ops
from compgraph.node import (
    Node,
    _normalize_axes,
    _normalize_axis,
    _normalize_shape,
    apply,
    normalize_index,
)

__all__ = [
    "add",
    "div",
    "exp",
    "getitem",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "pow",
    "reshape",
    "sigmoid",
    "sigmoid_cross_entropy",
    "sub",
    "sum",
    "transpose",
]

Axis = int | tuple[int, ...] | None


def add(x: Any, y: Any) -> Node:
    """x + y, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> cg.add(cg.Node([1.0, 2.0]), 10).value.tolist()
        [11.0, 12.0]
    """
    return apply(ops.Add, x, y)


def sub(x: Any, y: Any) -> Node:
    """x - y, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> float(cg.sub(1, cg.Node(0.25)).value)
        0.75
    """
    return apply(ops.Sub, x, y)


def neg(x: Any) -> Node:
    """-x.

    Example:
        >>> import compgraph as cg
        >>> float(cg.neg(cg.Node(2.0)).value)
        -2.0
    """
    return apply(ops.Neg, x)


def mul(x: Any, y: Any) -> Node:
    """x · y elementwise, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> cg.mul(cg.Node([1.0, 2.0]), [[3.0], [4.0]]).value.tolist()
        [[3.0, 6.0], [4.0, 8.0]]
    """
    return apply(ops.Mul, x, y)


def div(x: Any, y: Any) -> Node:
    """x / y elementwise, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> float(cg.div(cg.Node(3.0), 4).value)
        0.75
    """
    return apply(ops.Div, x, y)


def pow(x: Any, y: Any) -> Node:  # noqa: A001 - the op's name, as in the ops table
    """x ** y elementwise; differentiable in both x and y (for y, where x > 0).

    Example:
        >>> import compgraph as cg
        >>> float(cg.pow(cg.Node(3.0), 2).value)
        9.0
    """
    return apply(ops.Pow, x, y)


def exp(x: Any) -> Node:
    """e^x elementwise.

    Example:
        >>> import compgraph as cg
        >>> float(cg.exp(cg.Node(0.0)).value)
        1.0
    """
    return apply(ops.Exp, x)


def log(x: Any) -> Node:
    """Natural logarithm ln x elementwise (x > 0).

    Example:
        >>> import compgraph as cg
        >>> float(cg.log(cg.Node(1.0)).value)
        0.0
    """
    return apply(ops.Log, x)


def sigmoid(x: Any) -> Node:
    """σ(x) = 1 / (1 + e^-x) elementwise, computed without overflow for any x.

    Example:
        >>> import compgraph as cg
        >>> cg.sigmoid(cg.Node([-1000.0, 0.0, 1000.0])).value.tolist()
        [0.0, 0.5, 1.0]
    """
    return apply(ops.Sigmoid, x)


def sigmoid_cross_entropy(z: Any, y: Any) -> Node:
    """The logistic loss -y ln σ(z) - (1-y) ln(1-σ(z)) of logits z and labels y, elementwise.

    Computed from z directly (as max(z,0) - z·y + ln(1 + e^-|z|)), so it stays finite where
    ``log(sigmoid(z))`` hits ln 0, and its gradient in z is exactly σ(z) - y. Returns one loss
    per element; ``mean`` of it is the cross-entropy cost J.

    Args:
        z: the logits (any shape).
        y: the labels, usually in {0, 1} (values in [0, 1] are soft labels); broadcast
            against z as NumPy does.

    Returns:
        A Node holding the loss of every element, in the broadcast shape of z and y.

    Raises:
        ShapeError: z and y do not broadcast together.

    Example:
        >>> import compgraph as cg
        >>> loss = cg.sigmoid_cross_entropy(cg.Node([0.0, 800.0]), [1.0, 0.0])
        >>> [round(v, 6) for v in loss.value.tolist()]
        [0.693147, 800.0]
    """
    return apply(ops.SigmoidCrossEntropy, z, y)


def matmul(x: Any, y: Any) -> Node:
    """x @ y with NumPy's rules (vectors, matrices, stacks of matrices).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.matmul(cg.Node(np.ones((2, 3))), np.ones((3, 1))).shape
        (2, 1)
    """
    return apply(ops.Matmul, x, y)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:  # noqa: A001
    """Σ x over ``axis`` (all axes by default), as ``numpy.sum``.

    Example:
        >>> import compgraph as cg
        >>> cg.sum(cg.Node([[1.0, 2.0], [3.0, 4.0]]), axis=0).value.tolist()
        [4.0, 6.0]
    """
    return apply(ops.Sum, x, axis=_normalize_axis(axis), keepdims=bool(keepdims))


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:
    """The mean of x over ``axis`` (all axes by default), as ``numpy.mean``.

    Example:
        >>> import compgraph as cg
        >>> float(cg.mean(cg.Node([1.0, 2.0, 6.0])).value)
        3.0
    """
    return apply(ops.Mean, x, axis=_normalize_axis(axis), keepdims=bool(keepdims))


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Node:
    """x with its axes reversed, or permuted by ``axes``, as ``numpy.transpose``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.transpose(cg.Node(np.zeros((2, 3)))).shape
        (3, 2)
    """
    return apply(ops.Transpose, x, axes=_normalize_axes(axes))


def reshape(x: Any, shape: int | tuple[int, ...]) -> Node:
    """x with a new shape holding the same elements (C order; one -1 may stand in).

    Example:
        >>> import compgraph as cg
        >>> cg.reshape(cg.Node([1.0, 2.0, 3.0, 4.0]), (2, -1)).shape
        (2, 2)
    """
    return apply(ops.Reshape, x, shape=_normalize_shape(shape))


def getitem(x: Any, index: Any) -> Node:
    """x[index] with NumPy's indexing; the same as ``x[index]`` on a Node.

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node([1.0, 2.0, 3.0])
        >>> y = cg.sum(cg.getitem(x, [0, 0, 2]))
        >>> y.backward()
        >>> x.grad.tolist()
        [2.0, 0.0, 1.0]
    """
    return apply(ops.GetItem, x, index=normalize_index(index))
