"""Hypothesis strategies for testing code built on compgraph, and the table of op cases.

Needs ``hypothesis`` (``pip install compgraph[dev]``). The same strategies drive
compgraph's own test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "compgraph.testing needs hypothesis: pip install hypothesis (or compgraph[dev])"
    ) from error

import compgraph as cg

__all__ = ["OP_CASES", "Domain", "OpCase", "float_arrays"]


@dataclass(frozen=True)
class Domain:
    """Where an input's elements are drawn: ``low <= |x| <= high``, signs as allowed."""

    low: float = -3.0
    high: float = 3.0
    away_from_zero: float = 0.0

    def elements(self) -> st.SearchStrategy[float]:
        if self.away_from_zero:
            magnitude = st.floats(self.away_from_zero, self.high)
            return st.one_of(magnitude, magnitude.map(lambda v: -v))
        return st.floats(self.low, self.high)


REAL = Domain()
POSITIVE = Domain(0.1, 5.0)
NONZERO = Domain(high=3.0, away_from_zero=0.5)


def float_arrays(
    shape: tuple[int, ...], domain: Domain = REAL, dtype: Any = np.float64
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` whose elements lie in ``domain`` (finite, no NaN).

    Example:
        >>> from hypothesis import given
        >>> from compgraph.testing import float_arrays, POSITIVE
        >>> @given(float_arrays((2, 3), POSITIVE))
        ... def test_log_is_finite(x):
        ...     assert (x > 0).all()
        >>> test_log_is_finite()
    """
    return hnp.arrays(dtype, shape, elements=domain.elements())


@dataclass(frozen=True)
class OpCase:
    """One row of the op table: how to call an op, its NumPy reference, and its inputs.

    ``arguments`` draws ``(shapes, attrs)``: one shape per input and the op's keyword
    arguments; ``domains`` gives each input's value range.
    """

    op: type[cg.Op]
    call: Callable[..., cg.Node]
    reference: Callable[..., np.ndarray]
    arguments: st.SearchStrategy[tuple[tuple[tuple[int, ...], ...], dict[str, Any]]]
    domains: tuple[Domain, ...]


def _no_attrs(shapes: st.SearchStrategy) -> st.SearchStrategy:
    return shapes.map(lambda shapes: (tuple(shapes), {}))


_one_shape = _no_attrs(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).map(lambda s: (s,)))
_broadcast_pair = _no_attrs(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4).map(
        lambda shapes: shapes.input_shapes
    )
)
_matmul_pair = _no_attrs(
    hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", max_dims=2, max_side=4
    ).map(lambda shapes: shapes.input_shapes)
)


@st.composite
def _reduction(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...]], dict[str, Any]]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    axis = None
    if shape:
        axis = draw(
            st.none()
            | st.integers(-len(shape), len(shape) - 1)
            | hnp.valid_tuple_axes(len(shape), min_size=1)
        )
    return (shape,), {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def _permutation(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...]], dict[str, Any]]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3))
    axes = draw(st.none() | st.permutations(range(len(shape))).map(tuple))
    return (shape,), {"axes": axes}


@st.composite
def _new_shape(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...]], dict[str, Any]]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    size = int(np.prod(shape))
    target = draw(st.sampled_from([(size,), (-1,), (1, size), (size, -1), shape[::-1], ()]))
    if target == () and size != 1:
        target = (size, 1)
    return (shape,), {"shape": target}


def _sigmoid_reference(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _sigmoid_cross_entropy_reference(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    # y·softplus(-z) + (1-y)·softplus(z): the same loss by another road, with no cancellation.
    return y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)


#: The op table: one row per built-in op. tests/test_ops.py checks every op has a row.
OP_CASES: tuple[OpCase, ...] = (
    OpCase(cg.ops.Add, cg.add, np.add, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Sub, cg.sub, np.subtract, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Neg, cg.neg, np.negative, _one_shape, (REAL,)),
    OpCase(cg.ops.Mul, cg.mul, np.multiply, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Div, cg.div, np.divide, _broadcast_pair, (REAL, NONZERO)),
    OpCase(cg.ops.Pow, cg.pow, np.power, _broadcast_pair, (Domain(0.5, 3.0), Domain(-2.0, 2.0))),
    OpCase(cg.ops.Exp, cg.exp, np.exp, _one_shape, (REAL,)),
    OpCase(cg.ops.Log, cg.log, np.log, _one_shape, (POSITIVE,)),
    OpCase(cg.ops.Sigmoid, cg.sigmoid, _sigmoid_reference, _one_shape, (Domain(-10.0, 10.0),)),
    OpCase(
        cg.ops.SigmoidCrossEntropy,
        cg.sigmoid_cross_entropy,
        _sigmoid_cross_entropy_reference,
        _broadcast_pair,
        (Domain(-10.0, 10.0), Domain(0.0, 1.0)),
    ),
    OpCase(cg.ops.Matmul, cg.matmul, np.matmul, _matmul_pair, (REAL, REAL)),
    OpCase(cg.ops.Sum, cg.sum, np.sum, _reduction(), (REAL,)),
    OpCase(cg.ops.Mean, cg.mean, np.mean, _reduction(), (REAL,)),
    OpCase(cg.ops.Transpose, cg.transpose, np.transpose, _permutation(), (REAL,)),
    OpCase(cg.ops.Reshape, cg.reshape, np.reshape, _new_shape(), (REAL,)),
)
