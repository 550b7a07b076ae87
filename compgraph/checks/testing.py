"""Hypothesis strategies and a gradient assertion for testing code built on compgraph.

Needs ``hypothesis`` (``pip install compgraph[dev]``). compgraph's own suite runs on the
same strategies. A property-based test of your gradients takes a few lines; here every
random computation graph is checked against finite differences:

    >>> from hypothesis import given, settings
    >>> from compgraph.checks.testing import graphs, assert_gradients_match
    >>> @settings(max_examples=10, deadline=None)
    ... @given(graphs())
    ... def test_random_graphs_have_correct_gradients(graph):
    ...     assert_gradients_match(graph, *graph.leaves)
    >>> test_random_graphs_have_correct_gradients()

A failure shows the drawn graph as a small program (``v3 = mul(x0, v2)``), the gradcheck
table and the first recorded op whose local gradient is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "compgraph.checks.testing needs hypothesis: pip install hypothesis (or compgraph[dev])"
    ) from error

import compgraph as cg
from compgraph.checks.gradcheck import GradcheckReport, gradcheck

__all__ = [
    "NONZERO",
    "OP_CASES",
    "POSITIVE",
    "REAL",
    "Domain",
    "OpCase",
    "RandomGraph",
    "Step",
    "assert_gradients_match",
    "broadcastable_shapes",
    "float_arrays",
    "graphs",
    "matmul_pairs",
    "matmul_shapes",
]

Shape = tuple[int, ...]
#: What an op table row draws: one shape per input, and the op's keyword arguments.
Arguments = tuple[tuple[Shape, ...], dict[str, Any]]


@dataclass(frozen=True)
class Domain:
    """A range for an op's input: elements in [low, high] with |x| >= away_from_zero.

    ``REAL`` is [-3, 3], ``POSITIVE`` [0.1, 5] (log), ``NONZERO`` [-3, -0.5] ∪ [0.5, 3]
    (divisors). The bounds keep finite differences well conditioned.
    """

    low: float = -3.0
    high: float = 3.0
    away_from_zero: float = 0.0

    def elements(self) -> st.SearchStrategy[float]:
        """Floats in the domain (never NaN or inf)."""
        if not self.away_from_zero:
            return st.floats(self.low, self.high)
        parts = []
        if self.high >= self.away_from_zero:
            parts.append(st.floats(max(self.low, self.away_from_zero), self.high))
        if self.low <= -self.away_from_zero:
            parts.append(st.floats(self.low, min(self.high, -self.away_from_zero)))
        return st.one_of(*parts)

    def admits(self, x: np.ndarray) -> bool:
        """Whether every element of ``x`` lies in the domain."""
        x = np.asarray(x)
        magnitude_ok = not self.away_from_zero or bool(np.all(np.abs(x) >= self.away_from_zero))
        return bool(np.all((self.low <= x) & (x <= self.high))) and magnitude_ok


REAL = Domain()
POSITIVE = Domain(0.1, 5.0)
NONZERO = Domain(away_from_zero=0.5)


def float_arrays(
    shape: Shape | st.SearchStrategy[Shape], domain: Domain = REAL, dtype: Any = np.float64
) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose elements lie in ``domain`` (finite, no NaN).

    Args:
        shape: a shape, or a strategy drawing one (e.g. ``hnp.array_shapes()``).
        domain: the elements' range, e.g. ``POSITIVE`` for inputs of log.
        dtype: float64 (default) or float32.

    Returns:
        A strategy for NumPy arrays.

    Example:
        >>> from hypothesis import given
        >>> from compgraph.checks.testing import float_arrays, POSITIVE
        >>> @given(float_arrays((2, 3), POSITIVE))
        ... def test_log_is_finite(x):
        ...     assert (x > 0).all()
        >>> test_log_is_finite()
    """
    return hnp.arrays(dtype, shape, elements=domain.elements())


def broadcastable_shapes(
    num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``num_shapes`` shapes that broadcast together under NumPy's rules (1s and missing axes).

    Returns:
        A strategy for tuples of shapes, e.g. ``((3, 1), (4,))``.

    Example:
        >>> import numpy as np
        >>> from hypothesis import given
        >>> from compgraph.checks.testing import broadcastable_shapes
        >>> @given(broadcastable_shapes(3))
        ... def test_they_broadcast(shapes):
        ...     np.broadcast_shapes(*shapes)
        >>> test_they_broadcast()
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda shapes: shapes.input_shapes)


def matmul_shapes(
    *, max_batch_dims: int = 2, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, Shape]]:
    """Shape pairs ``x @ y`` accepts: vectors, matrices and broadcast batches of them.

    Returns:
        A strategy for ``(x_shape, y_shape)``, e.g. ``((2, 3, 4), (4,))``.

    Example:
        >>> import numpy as np
        >>> from hypothesis import given
        >>> from compgraph.checks.testing import matmul_shapes
        >>> @given(matmul_shapes())
        ... def test_matmul_accepts(shapes):
        ...     np.zeros(shapes[0]) @ np.zeros(shapes[1])
        >>> test_matmul_accepts()
    """
    return hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", max_dims=max_batch_dims, max_side=max_side
    ).map(lambda shapes: (shapes.input_shapes[0], shapes.input_shapes[1]))  # the two inputs


def matmul_pairs(
    domain: Domain = REAL, *, max_batch_dims: int = 2, max_side: int = 4, dtype: Any = np.float64
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Pairs of arrays ``(x, y)`` whose product ``x @ y`` is defined, elements in ``domain``.

    Example:
        >>> from hypothesis import given, settings
        >>> import compgraph as cg
        >>> from compgraph.checks.testing import matmul_pairs, assert_gradients_match
        >>> @settings(max_examples=10)
        ... @given(matmul_pairs())
        ... def test_matmul_gradients(pair):
        ...     assert_gradients_match(lambda x, y: cg.sum(x @ y), *pair)
        >>> test_matmul_gradients()
    """
    shapes = matmul_shapes(max_batch_dims=max_batch_dims, max_side=max_side)
    return shapes.flatmap(
        lambda pair: st.tuples(*(float_arrays(shape, domain, dtype) for shape in pair))
    )


def assert_gradients_match(
    f: Callable[..., cg.Node], *inputs: Any, **options: Any
) -> GradcheckReport:
    """Assert that compgraph's gradient of scalar ``f`` matches central differences.

    ``gradcheck`` as a one-line pytest assertion: on failure it raises
    ``GradientCheckError`` (an ``AssertionError``) whose message is the per-input table and
    the first recorded op whose own vjp is wrong.

    Args:
        f: a function of Nodes returning a one-element Node.
        *inputs: the point (arrays, numbers or Nodes).
        **options: ``eps``, ``rtol``, ``atol``, ``max_elements``, ``seed`` as in ``gradcheck``.

    Returns:
        The passing ``GradcheckReport``.

    Raises:
        GradientCheckError: the gradients disagree.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> from compgraph.checks.testing import assert_gradients_match
        >>> _ = assert_gradients_match(lambda x: cg.sum(cg.exp(x) * x), np.array([0.5, -1.0]))
    """
    return gradcheck(f, *inputs, raise_on_failure=True, **options)


@dataclass(frozen=True)
class OpCase:
    """One row of the op table: how to call an op, its NumPy reference, and its inputs.

    ``arguments`` draws ``(shapes, attrs)``: one shape per input and the op's keyword
    arguments; ``domains`` gives each input's value range; ``attrs_for`` (ops with keyword
    arguments) draws valid keyword arguments for a given input shape. ``smooth_at(*inputs,
    **attrs)`` (ops with kinks or ties) is False where a kink lies within ``KINK_MARGIN`` of
    the inputs, where central differences measure no derivative; ``keeps_dtype`` is False for
    an op whose output dtype is not its inputs'.
    """

    op: type[cg.Op]
    call: Callable[..., cg.Node]
    reference: Callable[..., np.ndarray]
    arguments: st.SearchStrategy[Arguments]
    domains: tuple[Domain, ...]
    attrs_for: Callable[[Shape], st.SearchStrategy[dict[str, Any]]] | None = None
    smooth_at: Callable[..., bool] | None = None
    keeps_dtype: bool = True

    def is_smooth_at(self, *inputs: np.ndarray, **attrs: Any) -> bool:
        """Whether central differences of the op are a valid check at these inputs."""
        return self.smooth_at is None or bool(self.smooth_at(*inputs, **attrs))


#: How far inputs must be from an op's kinks (relu at 0, ties of max) for central
#: differences with steps up to 1e-5 to see one smooth piece.
KINK_MARGIN = 1e-3


def _no_attrs(shapes: st.SearchStrategy[Sequence[Shape]]) -> st.SearchStrategy[Arguments]:
    return shapes.map(lambda shapes: (tuple(shapes), {}))


def _with_attrs(
    shapes: st.SearchStrategy[Shape],
    attrs_for: Callable[[Shape], st.SearchStrategy[dict[str, Any]]],
) -> st.SearchStrategy[Arguments]:
    return shapes.flatmap(lambda shape: attrs_for(shape).map(lambda attrs: ((shape,), attrs)))


def _reduction_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    axis: st.SearchStrategy[int | tuple[int, ...] | None] = st.none()
    if shape:
        axis = (
            st.none()
            | st.integers(-len(shape), len(shape) - 1)
            | hnp.valid_tuple_axes(len(shape), min_size=1)
        )
    return st.fixed_dictionaries({"axis": axis, "keepdims": st.booleans()})


def _permutation_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    ndim = len(shape)
    # Each axis may also be named from the end (-1 for the last), as NumPy allows.
    signed = st.permutations(range(ndim)).flatmap(
        lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes])
    )
    return st.fixed_dictionaries({"axes": st.none() | signed})


def _reshape_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    size = int(np.prod(shape))
    targets = [(size,), (-1,), (1, size), (size, -1), shape[::-1], () if size == 1 else (size, 1)]
    return st.fixed_dictionaries({"shape": st.sampled_from(targets)})


def _index_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    indices: st.SearchStrategy[Any] = hnp.basic_indices(shape, allow_newaxis=True)  # or arrays
    if shape and all(shape):
        indices = indices | hnp.integer_array_indices(shape)  # repeats included
    return st.fixed_dictionaries({"index": indices})


def _getitem_reference(x: np.ndarray, index: Any) -> np.ndarray:
    return np.asarray(x[index])


_one_shape = _no_attrs(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).map(lambda s: (s,)))
_broadcast_pair = _no_attrs(broadcastable_shapes(2))
_matmul_pair = _no_attrs(matmul_shapes())
_nonempty = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
_indexed = _with_attrs(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), _index_attrs)
_reduction = _with_attrs(_nonempty, _reduction_attrs)
_permutation = _with_attrs(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3), _permutation_attrs)
_new_shape = _with_attrs(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), _reshape_attrs)


def _sigmoid_reference(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


def _sigmoid_cross_entropy_reference(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    # y·softplus(-z) + (1-y)·softplus(z): the same loss by another road, with no cancellation.
    return np.asarray(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))


_any_shape = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)
_vector_or_more = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def _away_from_zero(x: np.ndarray, **attrs: Any) -> bool:
    return bool(np.all(np.abs(x) > KINK_MARGIN))


def _no_near_tie(x: np.ndarray, y: np.ndarray) -> bool:
    # Exact ties have a first derivative (g/2 each) but no second: the tie rule has its own
    # exact tests.
    return bool(np.all(np.abs(x - y) > KINK_MARGIN))


def _no_tie_for_extreme(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> bool:
    # The runner-up must be clearly below the max (and above the min): a tie, or a near one,
    # has no single slope for central differences to measure.
    axes = tuple(range(x.ndim)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    ordered = np.sort(_flatten_axes(x, axes), axis=-1)
    if ordered.shape[-1] < 2:
        return True
    gaps = np.diff(ordered, axis=-1)
    return bool(np.all(gaps[..., 0] > KINK_MARGIN) and np.all(gaps[..., -1] > KINK_MARGIN))


def _flatten_axes(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """x with the reduced ``axes`` moved to the end and merged into one."""
    axes = tuple(a % x.ndim for a in axes)
    moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
    return moved.reshape((*moved.shape[: x.ndim - len(axes)], -1))


def _away_from_bounds(x: np.ndarray, low: Any = None, high: Any = None) -> bool:
    bounds = [b for b in (low, high) if b is not None]
    return all(bool(np.all(np.abs(x - b) > KINK_MARGIN)) for b in bounds)


def _where_reference(x: np.ndarray, y: np.ndarray, condition: np.ndarray) -> np.ndarray:
    return np.where(condition, x, y)


def _condition_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"condition": hnp.arrays(bool, shape)})


_where_arguments = broadcastable_shapes(3).flatmap(
    lambda shapes: hnp.arrays(bool, shapes[2]).map(
        lambda condition: ((shapes[0], shapes[1]), {"condition": condition})
    )
)


def _clip_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(
        [{"low": -1.0, "high": 1.0}, {"low": None, "high": 0.5}, {"low": -0.5, "high": None}]
    )


def _slope_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"slope": st.sampled_from([0.01, 0.2])})


def _axis_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    # A 0-d shape has no axis: -1 then makes the op refuse it, as it should.
    ndim = max(len(shape), 1)
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1 if shape else -1)})


def _stack_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": st.integers(-len(shape) - 1, len(shape))})


def _join_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return _axis_attrs(shape)


def _same_shape_pair(
    shapes: st.SearchStrategy[Shape],
    attrs_for: Callable[[Shape], st.SearchStrategy[dict[str, Any]]],
) -> st.SearchStrategy[Arguments]:
    return shapes.flatmap(lambda shape: attrs_for(shape).map(lambda attrs: ((shape, shape), attrs)))


@st.composite
def _concatenate_arguments(draw: st.DrawFn) -> tuple[tuple[Shape, ...], dict[str, Any]]:
    shape = draw(_vector_or_more)
    attrs = draw(_join_attrs(shape))
    other = list(shape)
    other[attrs["axis"]] = draw(st.integers(0, 3))
    return (shape, tuple(other)), attrs


def _broadcast_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    stretched = tuple(3 if n == 1 else n for n in shape)
    return st.fixed_dictionaries({"shape": st.sampled_from([shape, (2, *shape), stretched])})


def _dtype_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"dtype": st.just(np.dtype(np.float64))})


def _index_add_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    """Indices that scatter a value of ``shape`` into a larger array, repeats included, and
    indices that select more positions than v has, v broadcast over them."""
    options = [
        {"index": (slice(None),) * len(shape), "shape": shape},
        # v broadcast over rows 0, 2, 0 and 0 of a (3, *shape) array: 4 positions, 3 rows
        {"index": (np.array([0, 2, 0, 0], dtype=np.intp),), "shape": (3, *shape)},
    ]
    if shape:
        repeated = np.zeros(shape[0], dtype=np.intp)  # every row added into row 0
        options.append({"index": (repeated,), "shape": (2, *shape[1:])})
    return st.sampled_from(options)


_index_add_arguments = _with_attrs(_any_shape, _index_add_attrs)


def _index_add_reference(v: np.ndarray, index: Any, shape: Shape) -> np.ndarray:
    total = np.zeros(shape)
    np.add.at(total, index, v)
    return total


def _logsumexp_reference(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    # np.logaddexp.reduce is an independent road to the same number, stable as it goes.
    axes = tuple(range(x.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    out = x
    for a in sorted((a % x.ndim for a in axes), reverse=True):
        out = np.logaddexp.reduce(out, axis=a, keepdims=True)
    return np.asarray(out if keepdims else np.reshape(out, np.sum(x, axis=axis).shape))


def _softmax_reference(x: np.ndarray, axis: int) -> np.ndarray:
    return np.asarray(np.exp(x - _logsumexp_reference(x, axis, keepdims=True)))


def _masked_reduction_attrs(
    shape: Shape, *, every_group: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Reduction settings, sometimes with a ``where`` mask of the input's shape (or of its
    trailing axes, broadcast); ``every_group``: each reduced group keeps an element (mean)."""

    def with_mask(attrs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        shapes = [shape] if every_group or not shape else [shape, shape[1:]]
        masks = st.sampled_from(shapes).flatmap(lambda s: hnp.arrays(bool, s))
        if every_group:
            masks = masks.map(lambda mask: _keep_one_per_group(mask, attrs["axis"]))
        return st.just(attrs) | masks.map(lambda mask: {**attrs, "where": mask})

    return _reduction_attrs(shape).flatmap(with_mask)


def _keep_one_per_group(mask: np.ndarray, axis: Any) -> np.ndarray:
    reduced = _reduced_axes(mask.ndim, axis)
    mask = mask.copy()
    mask[tuple(0 if a in reduced else slice(None) for a in range(mask.ndim))] = True
    return mask


def _reduced_axes(ndim: int, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


def _masked_mean_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    return _masked_reduction_attrs(shape, every_group=True)


def _cumsum_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    axes: st.SearchStrategy[int | None] = st.none()
    if shape:
        axes = axes | st.integers(-len(shape), len(shape) - 1)
    return st.fixed_dictionaries({"axis": axes})


def _spread_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    """var/std settings: a reduction, and a ddof that leaves n - ddof > 0."""

    def with_ddof(attrs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        count = int(np.prod([shape[a] for a in _reduced_axes(len(shape), attrs["axis"])]))
        return st.sampled_from([d for d in (0, 1) if count - d > 0]).map(
            lambda ddof: {**attrs, "ddof": ddof}
        )

    return _reduction_attrs(shape).flatmap(with_ddof)


def _spread_is_clear(x: np.ndarray, axis: Any = None, keepdims: bool = False, **attrs: Any) -> bool:
    # A constant group (std 0) is a kink; near it the slope turns too fast for differences.
    return bool(np.all(np.std(x, axis=axis) > 0.05))


def _norm_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    axes: st.SearchStrategy[Any] = st.none()
    if shape:
        ndim = len(shape)
        axes = axes | st.integers(-ndim, ndim - 1)
        if ndim >= 2:
            axes = axes | hnp.valid_tuple_axes(ndim, min_size=2, max_size=2)
    return st.fixed_dictionaries({"axis": axes, "keepdims": st.booleans()})


def _norm_away_from_zero(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> bool:
    # The norm has a kink at 0 (its gradient x/|x| has no limit there).
    return bool(np.all(np.sqrt(np.sum(x * x, axis=axis)) > 0.05))


#: einsum forms for the op table: products, outer, batch, implicit output, broadcasting
#: '...', repeated letters (a diagonal) and letters only one operand has.
_EINSUM_FORMS = (
    "ij,jk->ik",
    "ij,jk",
    "i,j->ij",
    "i,i->",
    "ij,ij->ij",
    "bij,bjk->bik",
    "...ij,...jk->...ik",
    "...i,...i",
    "ii,i->i",
    "ii,j->j",
    "ij,j->",
    "ji,jk->ki",
    "...,...->...",
)


@st.composite
def _einsum_arguments(draw: st.DrawFn) -> Arguments:
    form = draw(st.sampled_from(_EINSUM_FORMS))
    inputs = form.split("->")[0].split(",")
    lengths = {c: draw(st.integers(1, 3)) for c in sorted(set("".join(inputs)) - {"."})}
    batch = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    shapes = tuple(
        tuple(batch[k] if c == "." else (lengths[c],) for c in part.replace("...", "."))
        for k, part in enumerate(inputs)
    )
    flat = tuple(tuple(n for piece in shape for n in piece) for shape in shapes)
    return flat, {"subscripts": form}


def _einsum_attrs(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    """The forms whose first operand can have ``shape`` (the second is found by trying)."""
    fitting = []
    for form in _EINSUM_FORMS:
        first = form.split(",")[0]
        named = first.replace("...", "")
        if len(named) > len(shape) or ("..." not in first and len(named) != len(shape)):
            continue
        tail = shape[len(shape) - len(named) :] if "..." in first else shape
        if all(tail[named.index(c)] == n for c, n in zip(named, tail, strict=True)):
            fitting.append({"subscripts": form})
    return st.sampled_from(fitting)


#: The op table: one row per built-in op. tests/test_ops.py checks every op has a row.
OP_CASES: tuple[OpCase, ...] = (
    OpCase(cg.ops.Add, cg.add, np.add, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Sub, cg.sub, np.subtract, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Neg, cg.neg, np.negative, _one_shape, (REAL,)),
    OpCase(cg.ops.Positive, cg.positive, np.positive, _one_shape, (REAL,)),
    OpCase(cg.ops.Mul, cg.mul, np.multiply, _broadcast_pair, (REAL, REAL)),
    OpCase(cg.ops.Div, cg.div, np.divide, _broadcast_pair, (REAL, NONZERO)),
    OpCase(cg.ops.Pow, cg.pow, np.power, _broadcast_pair, (Domain(0.5, 3.0), Domain(-2.0, 2.0))),
    OpCase(cg.ops.Exp, cg.exp, np.exp, _one_shape, (REAL,)),
    OpCase(cg.ops.Log, cg.log, np.log, _one_shape, (POSITIVE,)),
    OpCase(cg.ops.Log1p, cg.log1p, np.log1p, _one_shape, (Domain(-0.5, 3.0),)),
    OpCase(cg.ops.Expm1, cg.expm1, np.expm1, _one_shape, (REAL,)),
    OpCase(cg.ops.Sin, cg.sin, np.sin, _one_shape, (REAL,)),
    OpCase(cg.ops.Cos, cg.cos, np.cos, _one_shape, (REAL,)),
    OpCase(cg.ops.Sigmoid, cg.sigmoid, _sigmoid_reference, _one_shape, (Domain(-10.0, 10.0),)),
    OpCase(
        cg.ops.SigmoidCrossEntropy,
        cg.sigmoid_cross_entropy,
        _sigmoid_cross_entropy_reference,
        _broadcast_pair,
        (Domain(-10.0, 10.0), Domain(0.0, 1.0)),
    ),
    OpCase(cg.ops.Matmul, cg.matmul, np.matmul, _matmul_pair, (REAL, REAL)),
    OpCase(
        cg.ops.Einsum,
        lambda *xs, subscripts: cg.einsum(subscripts, *xs),
        lambda *xs, subscripts: np.einsum(subscripts, *xs),
        _einsum_arguments(),
        (REAL, REAL),
        _einsum_attrs,
    ),
    OpCase(
        cg.ops.Sum,
        cg.sum,
        np.sum,
        _with_attrs(_nonempty, _masked_reduction_attrs),
        (REAL,),
        _masked_reduction_attrs,
    ),
    OpCase(
        cg.ops.Mean,
        cg.mean,
        np.mean,
        _with_attrs(_nonempty, _masked_mean_attrs),
        (REAL,),
        _masked_mean_attrs,
    ),
    OpCase(cg.ops.Transpose, cg.transpose, np.transpose, _permutation, (REAL,), _permutation_attrs),
    OpCase(cg.ops.Reshape, cg.reshape, np.reshape, _new_shape, (REAL,), _reshape_attrs),
    OpCase(cg.ops.GetItem, cg.getitem, _getitem_reference, _indexed, (REAL,), _index_attrs),
    OpCase(cg.ops.Sqrt, cg.sqrt, np.sqrt, _one_shape, (POSITIVE,)),
    OpCase(cg.ops.Abs, cg.abs, np.abs, _one_shape, (REAL,), smooth_at=_away_from_zero),
    OpCase(
        cg.ops.Maximum,
        cg.maximum,
        np.maximum,
        _broadcast_pair,
        (REAL, REAL),
        smooth_at=_no_near_tie,
    ),
    OpCase(
        cg.ops.Minimum,
        cg.minimum,
        np.minimum,
        _broadcast_pair,
        (REAL, REAL),
        smooth_at=_no_near_tie,
    ),
    OpCase(
        cg.ops.Where,
        lambda x, y, condition: cg.where(condition, x, y),
        _where_reference,
        _where_arguments,
        (REAL, REAL),
        _condition_attrs,
    ),
    OpCase(
        cg.ops.Clip,
        cg.clip,
        lambda x, low, high: np.clip(x, low, high),
        _with_attrs(_any_shape, _clip_attrs),
        (REAL,),
        _clip_attrs,
        smooth_at=_away_from_bounds,
    ),
    OpCase(cg.ops.Tanh, cg.tanh, np.tanh, _one_shape, (REAL,)),
    OpCase(
        cg.ops.Relu,
        cg.relu,
        lambda x: np.maximum(x, 0),
        _one_shape,
        (REAL,),
        smooth_at=_away_from_zero,
    ),
    OpCase(
        cg.ops.LeakyRelu,
        cg.leaky_relu,
        lambda x, slope: np.where(x > 0, x, slope * x),
        _with_attrs(_any_shape, _slope_attrs),
        (REAL,),
        _slope_attrs,
        smooth_at=_away_from_zero,
    ),
    OpCase(
        cg.ops.LogSumExp,
        cg.logsumexp,
        _logsumexp_reference,
        _reduction,
        (REAL,),
        _reduction_attrs,
    ),
    OpCase(
        cg.ops.Softmax,
        cg.softmax,
        _softmax_reference,
        _with_attrs(_vector_or_more, _axis_attrs),
        (REAL,),
        _axis_attrs,
    ),
    OpCase(
        cg.ops.LogSoftmax,
        cg.log_softmax,
        lambda x, axis: x - _logsumexp_reference(x, axis, keepdims=True),
        _with_attrs(_vector_or_more, _axis_attrs),
        (REAL,),
        _axis_attrs,
    ),
    OpCase(
        cg.ops.SoftmaxCrossEntropy,
        cg.softmax_cross_entropy,
        lambda z, y, axis: -np.sum(y * (z - _logsumexp_reference(z, axis, keepdims=True)), axis),
        _same_shape_pair(_vector_or_more, _axis_attrs),
        (REAL, Domain(0.0, 1.0)),
        _axis_attrs,
    ),
    OpCase(cg.ops.Prod, cg.prod, np.prod, _reduction, (REAL,), _reduction_attrs),
    OpCase(
        cg.ops.Cumsum,
        cg.cumsum,
        np.cumsum,
        _with_attrs(_any_shape, _cumsum_attrs),
        (REAL,),
        _cumsum_attrs,
    ),
    OpCase(
        cg.ops.Var, cg.var, np.var, _with_attrs(_nonempty, _spread_attrs), (REAL,), _spread_attrs
    ),
    OpCase(
        cg.ops.Std,
        cg.std,
        np.std,
        _with_attrs(_nonempty, _spread_attrs),
        (REAL,),
        _spread_attrs,
        smooth_at=_spread_is_clear,
    ),
    OpCase(
        cg.ops.Norm,
        cg.norm,
        np.linalg.norm,
        _with_attrs(_nonempty, _norm_attrs),
        (REAL,),
        _norm_attrs,
        smooth_at=_norm_away_from_zero,
    ),
    OpCase(cg.ops.Max, cg.max, np.max, _reduction, (REAL,), _reduction_attrs, _no_tie_for_extreme),
    OpCase(cg.ops.Min, cg.min, np.min, _reduction, (REAL,), _reduction_attrs, _no_tie_for_extreme),
    OpCase(
        cg.ops.BroadcastTo,
        cg.broadcast_to,
        np.broadcast_to,
        _with_attrs(_any_shape, _broadcast_attrs),
        (REAL,),
        _broadcast_attrs,
    ),
    OpCase(
        cg.ops.Astype,
        cg.astype,
        lambda x, dtype: x.astype(dtype),
        _with_attrs(_any_shape, _dtype_attrs),
        (REAL,),
        _dtype_attrs,
        keeps_dtype=False,
    ),
    OpCase(
        cg.ops.Concatenate,
        lambda *xs, axis: cg.concatenate(list(xs), axis=axis),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        _concatenate_arguments(),
        (REAL, REAL),
        _join_attrs,
    ),
    OpCase(
        cg.ops.Stack,
        lambda *xs, axis: cg.stack(list(xs), axis=axis),
        lambda *xs, axis: np.stack(xs, axis=axis),
        _same_shape_pair(_any_shape, _stack_attrs),
        (REAL, REAL),
        _stack_attrs,
    ),
    OpCase(
        cg.ops.IndexAdd,
        cg.index_add,
        _index_add_reference,
        _index_add_arguments,
        (REAL,),
        _index_add_attrs,
    ),
)


# -- random computation graphs -----------------------------------------------------------------

#: Every value the drawn ops of a graph compute stays within ±GRAPH_BOUND, so finite differences
#: of the whole graph stay accurate to ~1e-8 (see compgraph.checks.gradcheck's error analysis).
GRAPH_BOUND = 30.0


@dataclass(frozen=True)
class Step:
    """One op of a ``RandomGraph``: ``op(*values[args], **attrs)`` becomes the next value."""

    op: type[cg.Op]
    args: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class RandomGraph:
    """A computation graph drawn by ``graphs()``: leaf values and a straight-line program.

    Values are numbered leaves first (``x0``, ``x1``, …), then one per step (``v3``, …).
    The first ``core_size`` steps were drawn; the rest average every value no step used and
    add the averages up into the scalar output, the last step's value. Calling the graph on
    leaf Nodes runs the program, so ``gradcheck(graph, *graph.leaves)`` checks its gradients.
    """

    leaves: tuple[np.ndarray, ...]
    steps: tuple[Step, ...]
    core_size: int

    def __call__(self, *leaves: Any) -> cg.Node:
        """Build the graph on ``leaves`` (Nodes; arrays become constants); return its output."""
        if len(leaves) != len(self.leaves):
            raise TypeError(f"this graph takes {len(self.leaves)} leaves, got {len(leaves)}")
        values = list(leaves)
        for step in self.steps:
            values.append(cg.apply(step.op, *(values[i] for i in step.args), **step.attrs))
        output = values[-1]
        assert isinstance(output, cg.Node), "graphs() always draws a step, so a Node is last"
        return output

    def build(self) -> tuple[cg.Node, tuple[cg.Node, ...]]:
        """The output node and fresh leaf Nodes (named x0, x1, …) it was computed from."""
        leaves = tuple(cg.Node(value, name=f"x{i}") for i, value in enumerate(self.leaves))
        return self(*leaves), leaves

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(step.op.name for step in self.steps)

    @property
    def fan_out(self) -> int:
        """How many values feed more than one operand slot (``x * x`` counts)."""
        uses = np.bincount(
            [i for step in self.steps for i in step.args],
            minlength=len(self.leaves) + len(self.steps),
        )
        return int(np.count_nonzero(uses > 1))

    @property
    def depth(self) -> int:
        """The number of ops on the longest path from a leaf to the output."""
        depths = [0] * len(self.leaves)
        for step in self.steps:
            depths.append(1 + max(depths[i] for i in step.args))
        return depths[-1]

    def _label(self, i: int) -> str:
        return f"x{i}" if i < len(self.leaves) else f"v{i}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis and IPython print examples with this hook: show the program.
        printer.text(repr(self))

    def __repr__(self) -> str:
        # One line per leaf, in a form that can be pasted back to reproduce a failure.
        lines = [
            f"  x{i} = np.array({value.tolist()!r}, dtype=np.{value.dtype})"
            for i, value in enumerate(self.leaves)
        ]
        for k, step in enumerate(self.steps, start=len(self.leaves)):
            operands = [self._label(i) for i in step.args]
            operands += [f"{key}={value!r}" for key, value in step.attrs.items()]
            lines.append(f"  v{k} = {step.op.name}({', '.join(operands)})")
        return "RandomGraph(\n" + "\n".join(lines) + "\n)"


def _admitted(domain: Domain, value: np.ndarray) -> bool:
    # REAL-domain inputs take any (bounded) value; only the restricted domains are enforced.
    return domain is REAL or domain.admits(value)


def _forward(op: type[cg.Op], args: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray | None:
    """The op's value, or None when the operands do not fit or the result leaves the bound."""
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(op.forward(*args, **attrs))
    except (ValueError, IndexError, TypeError):  # operands that do not fit the op
        return None
    if out.size == 0 or not np.all(np.abs(out) <= GRAPH_BOUND):  # NaN fails too
        return None
    return out


@st.composite
def _step(
    draw: st.DrawFn, cases: tuple[OpCase, ...], values: list[np.ndarray]
) -> tuple[Step, np.ndarray] | None:
    """One more op on the values so far, chosen among those whose operands fit; or None."""
    recent_first = range(len(values) - 1, -1, -1)  # recent values first: deeper graphs
    # A rotation rather than a permutation: hypothesis favours near-identity permutations,
    # which would make the first ops of the table far more common than the last.
    start = draw(st.integers(0, len(cases) - 1))
    for case in cases[start:] + cases[:start]:
        first, *others = case.domains
        candidates = [i for i in recent_first if _admitted(first, values[i])]
        if not candidates:
            continue
        args = [draw(st.sampled_from(candidates))]
        x = values[args[0]]
        attrs = draw(case.attrs_for(x.shape)) if case.attrs_for else {}
        for domain in others:
            candidates = [
                i
                for i in recent_first
                if _admitted(domain, values[i])
                and _forward(case.op, [x, values[i]], attrs) is not None
            ]
            # Operands of another shape first: broadcasting is what most needs exercising.
            same_shape = {i: values[i].shape == x.shape for i in candidates}
            candidates.sort(key=same_shape.__getitem__)
            if not candidates:
                break
            args.append(draw(st.sampled_from(candidates)))
        if len(args) < len(case.domains):
            continue
        inputs = [values[i] for i in args]
        out = _forward(case.op, inputs, attrs)
        # Kinks (relu at 0, ties of max) are where finite differences measure no slope.
        if out is not None and case.is_smooth_at(*inputs, **attrs):
            return Step(case.op, tuple(args), attrs), out
    return None


@st.composite
def graphs(
    draw: st.DrawFn,
    *,
    max_leaves: int = 3,
    max_ops: int = 8,
    ops: Iterable[str] | None = None,
    max_side: int = 3,
    dtype: Any = np.float64,
) -> RandomGraph:
    """Random computation graphs built from the op table, with a scalar output.

    Leaves get shapes drawn from a few related ones (scalars, vectors, matrices and a 3-D
    array over sizes n, m, k), so operands broadcast and multiply; their values lie in
    ``REAL`` or ``POSITIVE``. Each op takes recent or earlier values (fan-out and ``x * x``
    reuse happen), and only operands in its domain (log gets positive values, divisors
    stay away from 0); every value they compute stays within ±30. Values no op used are
    averaged and summed into the scalar output, so every op reaches it.

    Args:
        max_leaves: at most this many leaves (at least 1).
        max_ops: at most this many ops before the final averaging and summing.
        ops: names of the ops to use (default: all built-in ops), e.g. ``["add", "log"]``.
        max_side: the largest n, m, k in the leaves' shapes.
        dtype: the leaves' dtype (float64 or float32).

    Returns:
        A strategy for ``RandomGraph`` objects: call one on leaf Nodes to build it, or
        use ``graph.build()``; ``graph.leaves`` holds the leaf arrays.

    Raises:
        ValueError: an unknown op name in ``ops``.

    Example:
        >>> from hypothesis import given, settings
        >>> from compgraph.checks.testing import graphs
        >>> @settings(max_examples=10)
        ... @given(graphs(ops=["mul", "log", "sum"]))
        ... def test_scalar_output(graph):
        ...     out, leaves = graph.build()
        ...     assert out.size == 1 and set(graph.op_names) <= {"mul", "log", "sum", "mean", "add"}
        >>> test_scalar_output()
    """
    cases = OP_CASES
    if ops is not None:
        wanted = set(ops)
        known = {case.op.name for case in OP_CASES}
        if not wanted <= known:
            raise ValueError(
                f"graphs(ops=...) got unknown op names {sorted(wanted - known)}; "
                f"choose from {sorted(known)}"
            )
        cases = tuple(case for case in OP_CASES if case.op.name in wanted)
    n, m, k = draw(st.tuples(*[st.integers(1, max_side)] * 3))
    shapes = [(), (n,), (m,), (n, m), (m, k), (1, m), (n, 1), (k, 1, m)]
    leaves = []
    for _ in range(draw(st.integers(1, max_leaves))):
        shape = draw(st.sampled_from(shapes))
        domain = draw(st.sampled_from([REAL, POSITIVE]))
        leaves.append(draw(float_arrays(shape, domain, dtype)))
    values = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
    steps = []
    for _ in range(draw(st.integers(1, max_ops))):
        drawn = draw(_step(cases, values)) if cases else None
        if drawn is None:
            break
        steps.append(drawn[0])
        values.append(drawn[1])
    core_size = len(steps)
    used = {i for step in steps for i in step.args}
    unused = [i for i in range(len(values)) if i not in used]
    total = None
    for i in unused:
        steps.append(Step(cg.ops.Mean, (i,), {"axis": None, "keepdims": False}))
        average = len(values)
        values.append(np.asarray(np.mean(values[i])))  # 0-d, as the Mean step's Node holds it
        if total is not None:
            steps.append(Step(cg.ops.Add, (total, average)))
            values.append(values[total] + values[average])
        total = len(values) - 1
    return RandomGraph(tuple(leaves), tuple(steps), core_size)
