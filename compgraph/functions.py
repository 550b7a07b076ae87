"""The public op functions: ``compgraph.add``, ``compgraph.sigmoid``, ... one per op.

Each takes Nodes, numbers or arrays (non-Nodes become constants), checks its settings and
returns a Node; the maths of each lives in its class in ``compgraph.ops``. ``@op_function``
registers a function as its op's entry point, and as what NumPy's own functions named in
``numpy=`` do on Nodes (``np.exp(x)`` is ``compgraph.exp(x)``). Everything else is derived
from that registry: ``__all__`` here and in the package, what ``compgraph draw`` accepts,
and the checks that every op has its function and its row in the test table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from compgraph import ops
from compgraph.errors import DTypeError, ShapeError
from compgraph.node import NUMPY_FUNCTIONS, Node, apply, normalize_index, traced_tests
from compgraph.values import (
    as_axes,
    as_axis,
    as_flag,
    as_float_array,
    as_float_dtype,
    as_shape,
    preview,
)

#: Each op class -> its public function.
OP_FUNCTIONS: dict[type[ops.Op], Callable[..., Node]] = {}

Axis = int | tuple[int, ...] | None
F = TypeVar("F", bound=Callable[..., Node])


def op_function(op: type[ops.Op], *, numpy: Sequence[Callable[..., Any]] = ()) -> Callable[[F], F]:
    """Register the decorated function as ``op``'s public function (and NumPy's ``numpy``)."""

    def register(function: F) -> F:
        OP_FUNCTIONS[op] = function
        for numpy_function in numpy:
            NUMPY_FUNCTIONS[numpy_function] = function
        return function

    return register


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _int(value: Any, what: str) -> int:
    axis = as_axis(value, what)
    if not isinstance(axis, int):
        raise TypeError(f"{what} must be one integer, not {preview(value)}")
    return axis


# -- arithmetic ---------------------------------------------------------------------------------


@op_function(ops.Add, numpy=[np.add])
def add(x: Any, y: Any) -> Node:
    """x + y, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> cg.add(cg.Node([1.0, 2.0]), 10).value.tolist()
        [11.0, 12.0]
    """
    return apply(ops.Add, x, y)


@op_function(ops.Sub, numpy=[np.subtract])
def sub(x: Any, y: Any) -> Node:
    """x - y, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> float(cg.sub(1, cg.Node(0.25)).value)
        0.75
    """
    return apply(ops.Sub, x, y)


@op_function(ops.Neg, numpy=[np.negative])
def neg(x: Any) -> Node:
    """-x.

    Example:
        >>> import compgraph as cg
        >>> float(cg.neg(cg.Node(2.0)).value)
        -2.0
    """
    return apply(ops.Neg, x)


@op_function(ops.Positive, numpy=[np.positive])
def positive(x: Any) -> Node:
    """+x: a new node with x's value, whose gradient passes straight to x.

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node(2.0)
        >>> y = cg.positive(x)
        >>> y is x, float(y.value), y.op.name
        (False, 2.0, 'positive')
    """
    return apply(ops.Positive, x)


@op_function(ops.Mul, numpy=[np.multiply])
def mul(x: Any, y: Any) -> Node:
    """x · y elementwise, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> cg.mul(cg.Node([1.0, 2.0]), [[3.0], [4.0]]).value.tolist()
        [[3.0, 6.0], [4.0, 8.0]]
    """
    return apply(ops.Mul, x, y)


@op_function(ops.Div, numpy=[np.divide])
def div(x: Any, y: Any) -> Node:
    """x / y elementwise, broadcasting as NumPy does.

    Example:
        >>> import compgraph as cg
        >>> float(cg.div(cg.Node(3.0), 4).value)
        0.75
    """
    return apply(ops.Div, x, y)


@op_function(ops.Pow, numpy=[np.power])
def pow(x: Any, y: Any) -> Node:  # noqa: A001 - the op's name, as in the ops table
    """x ** y elementwise; differentiable in both x and y (for y, where x > 0; 0 at x = 0).

    Example:
        >>> import compgraph as cg
        >>> float(cg.pow(cg.Node(3.0), 2).value)
        9.0
    """
    return apply(ops.Pow, x, y)


@op_function(ops.Exp, numpy=[np.exp])
def exp(x: Any) -> Node:
    """e^x elementwise.

    Example:
        >>> import compgraph as cg
        >>> float(cg.exp(cg.Node(0.0)).value)
        1.0
    """
    return apply(ops.Exp, x)


@op_function(ops.Log, numpy=[np.log])
def log(x: Any) -> Node:
    """Natural logarithm ln x elementwise (x > 0).

    Example:
        >>> import compgraph as cg
        >>> float(cg.log(cg.Node(1.0)).value)
        0.0
    """
    return apply(ops.Log, x)


@op_function(ops.Log1p, numpy=[np.log1p])
def log1p(x: Any) -> Node:
    """ln(1 + x) elementwise (x > -1), accurate where x is tiny and 1 + x would round.

    Example:
        >>> import compgraph as cg
        >>> float(cg.log1p(cg.Node(1e-20)).value)
        1e-20
    """
    return apply(ops.Log1p, x)


@op_function(ops.Expm1, numpy=[np.expm1])
def expm1(x: Any) -> Node:
    """e^x - 1 elementwise, accurate where x is tiny and e^x would round to 1.

    Example:
        >>> import compgraph as cg
        >>> float(cg.expm1(cg.Node(1e-20)).value)
        1e-20
    """
    return apply(ops.Expm1, x)


@op_function(ops.Sin, numpy=[np.sin])
def sin(x: Any) -> Node:
    """sin x elementwise (x in radians).

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node(0.0)
        >>> cg.sin(x).backward()
        >>> float(x.grad)
        1.0
    """
    return apply(ops.Sin, x)


@op_function(ops.Cos, numpy=[np.cos])
def cos(x: Any) -> Node:
    """cos x elementwise (x in radians).

    Example:
        >>> import compgraph as cg
        >>> float(cg.cos(cg.Node(0.0)).value)
        1.0
    """
    return apply(ops.Cos, x)


@op_function(ops.Sqrt, numpy=[np.sqrt])
def sqrt(x: Any) -> Node:
    """√x elementwise (x >= 0). Its slope 1/(2√x) is infinite at 0, which the non-finite
    policy reports (a NonFiniteWarning, or an error under ``seterr(nonfinite="raise")``).

    Example:
        >>> import compgraph as cg
        >>> cg.sqrt(cg.Node([4.0, 9.0])).value.tolist()
        [2.0, 3.0]
    """
    return apply(ops.Sqrt, x)


@op_function(ops.Abs, numpy=[np.absolute])
def abs(x: Any) -> Node:  # noqa: A001 - NumPy's name
    """|x| elementwise; its gradient at 0 is 0, as in PyTorch (JAX gives 1 there).

    Example:
        >>> import compgraph as cg
        >>> cg.abs(cg.Node([-2.0, 0.0, 3.0])).value.tolist()
        [2.0, 0.0, 3.0]
    """
    return apply(ops.Abs, x)


@op_function(ops.Maximum, numpy=[np.maximum])
def maximum(x: Any, y: Any) -> Node:
    """The larger of x and y, elementwise; where they tie, each gets half the gradient.

    Example:
        >>> import compgraph as cg
        >>> cg.maximum(cg.Node([-1.0, 2.0]), 0).value.tolist()
        [0.0, 2.0]
    """
    return apply(ops.Maximum, x, y)


@op_function(ops.Minimum, numpy=[np.minimum])
def minimum(x: Any, y: Any) -> Node:
    """The smaller of x and y, elementwise; where they tie, each gets half the gradient.

    Example:
        >>> import compgraph as cg
        >>> cg.minimum(cg.Node([-1.0, 2.0]), 0).value.tolist()
        [-1.0, 0.0]
    """
    return apply(ops.Minimum, x, y)


@op_function(ops.Where, numpy=[np.where])
def where(condition: Any, x: Any, y: Any) -> Node:
    """x where ``condition`` holds, else y (broadcast together, as ``numpy.where``).

    The condition is data: it selects, and is not differentiated (a Node's value is used).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> x = cg.Node([-1.0, 2.0])
        >>> cg.where(x.value > 0, x, 0.0).value.tolist()
        [0.0, 2.0]
    """
    if isinstance(condition, Node):
        recording = traced_tests()
        if recording is not None and condition.op is recording[0]:
            return apply(recording[1], x, y, condition)  # a test a trace replays per call
        condition = condition.value
    if isinstance(condition, np.ma.MaskedArray):
        raise DTypeError(
            "where's condition is a masked array, whose mask would be dropped: fill it "
            "first (condition.filled(False) selects y where it is masked)"
        )
    try:
        condition = np.asarray(condition).astype(bool, copy=False)
    except (ValueError, TypeError) as error:  # ragged nested sequences
        raise DTypeError(
            f"where's condition is not a rectangular array ({error}); give every row the "
            "same length"
        ) from None
    return apply(ops.Where, x, y, condition=condition)


@op_function(ops.Clip)
def clip(x: Any, low: Any = None, high: Any = None) -> Node:
    """x limited to [low, high] (either bound may be None); the gradient passes where
    low <= x <= high, bounds included (as PyTorch's clamp), and is 0 outside.

    Example:
        >>> import compgraph as cg
        >>> cg.clip(cg.Node([-2.0, 0.5, 3.0]), 0, 1).value.tolist()
        [0.0, 0.5, 1.0]
    """
    if low is None and high is None:
        raise ValueError("clip needs a low or a high bound (or both); both are None")
    for which, bound in (("low", low), ("high", high)):
        if isinstance(bound, Node):
            raise TypeError(
                f"clip's {which} bound is a Node ({bound.describe()}); the bounds are "
                "constants: pass its .value, or use cg.maximum(x, low) and cg.minimum(x, high) "
                "to differentiate with respect to a bound"
            )
        if bound is not None:
            as_float_array(bound, f"clip's {which} bound")  # refuses text, masks, complex
    return apply(ops.Clip, x, low=low, high=high)


# -- activations --------------------------------------------------------------------------------


@op_function(ops.Sigmoid)
def sigmoid(x: Any) -> Node:
    """σ(x) = 1 / (1 + e^-x) elementwise, computed without overflow for any x.

    Example:
        >>> import compgraph as cg
        >>> cg.sigmoid(cg.Node([-1000.0, 0.0, 1000.0])).value.tolist()
        [0.0, 0.5, 1.0]
    """
    return apply(ops.Sigmoid, x)


@op_function(ops.Tanh, numpy=[np.tanh])
def tanh(x: Any) -> Node:
    """tanh x elementwise, the course's hidden-layer activation.

    Example:
        >>> import compgraph as cg
        >>> float(cg.tanh(cg.Node(0.0)).value)
        0.0
    """
    return apply(ops.Tanh, x)


@op_function(ops.Relu)
def relu(x: Any) -> Node:
    """max(x, 0) elementwise; its gradient at 0 is 0 (as in PyTorch and JAX).

    Example:
        >>> import compgraph as cg
        >>> cg.relu(cg.Node([-1.0, 0.0, 2.0])).value.tolist()
        [0.0, 0.0, 2.0]
    """
    return apply(ops.Relu, x)


@op_function(ops.LeakyRelu)
def leaky_relu(x: Any, slope: float = 0.01) -> Node:
    """x where x > 0, else slope·x, elementwise; the gradient at 0 is ``slope``, as in
    PyTorch (JAX gives 1 there).

    Example:
        >>> import compgraph as cg
        >>> cg.leaky_relu(cg.Node([-2.0, 3.0]), slope=0.1).value.tolist()
        [-0.2, 3.0]
    """
    if isinstance(slope, bool) or not isinstance(slope, (int, float, np.floating, np.integer)):
        raise TypeError(f"leaky_relu's slope must be a number, not {preview(slope)}")
    return apply(ops.LeakyRelu, x, slope=float(slope))


# -- losses -------------------------------------------------------------------------------------


@op_function(ops.SigmoidCrossEntropy)
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


@op_function(ops.LogSumExp)
def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:
    """ln Σ e^x over ``axis`` (all axes by default), without overflow at any finite x.

    Example:
        >>> import compgraph as cg
        >>> round(float(cg.logsumexp(cg.Node([1000.0, 1000.0])).value), 6)
        1000.693147
    """
    return apply(
        ops.LogSumExp, x, axis=as_axis(axis), keepdims=as_flag(keepdims, "logsumexp's keepdims")
    )


@op_function(ops.Softmax)
def softmax(x: Any, axis: int = -1) -> Node:
    """e^x / Σ e^x over ``axis``: probabilities that sum to 1, stable at ±1000.

    Example:
        >>> import compgraph as cg
        >>> cg.softmax(cg.Node([0.0, 0.0])).value.tolist()
        [0.5, 0.5]
    """
    return apply(ops.Softmax, x, axis=_int(axis, "softmax's axis"))


@op_function(ops.LogSoftmax)
def log_softmax(x: Any, axis: int = -1) -> Node:
    """x - ln Σ e^x over ``axis``: the log of ``softmax``, computed without forming ln 0.

    Example:
        >>> import compgraph as cg
        >>> [round(v, 6) for v in cg.log_softmax(cg.Node([0.0, 0.0])).value.tolist()]
        [-0.693147, -0.693147]
    """
    return apply(ops.LogSoftmax, x, axis=_int(axis, "log_softmax's axis"))


@op_function(ops.SoftmaxCrossEntropy)
def softmax_cross_entropy(logits: Any, labels: Any, axis: int = 0) -> Node:
    """The cross-entropy -Σ labels · ln softmax(logits) over the class ``axis``, per example.

    Fused and stable: computed from the logits (no ln 0, no overflow at ±1000), with
    gradient exactly softmax(logits) - labels for labels that sum to 1 (one-hot or
    probabilities). Examples are columns, as in the lesson: logits and labels are
    (classes, m) with ``axis=0``, and the result is the m losses; ``mean`` is the cost.

    Args:
        logits: the scores z, one row per class (with ``axis=0``).
        labels: one-hot or probability labels, broadcast against the logits.
        axis: the class axis.

    Returns:
        A Node with one loss per example (the class axis removed).

    Example:
        >>> import compgraph as cg
        >>> loss = cg.softmax_cross_entropy(cg.Node([[0.0, 1000.0], [0.0, 0.0]]), [[1, 1], [0, 0]])
        >>> [round(v, 6) for v in loss.value.tolist()]
        [0.693147, 0.0]
    """
    return apply(ops.SoftmaxCrossEntropy, logits, labels, axis=_int(axis, "the class axis"))


# -- linear algebra -----------------------------------------------------------------------------


@op_function(ops.Matmul, numpy=[np.matmul])
def matmul(x: Any, y: Any) -> Node:
    """x @ y with NumPy's rules (vectors, matrices, stacks of matrices).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.matmul(cg.Node(np.ones((2, 3))), np.ones((3, 1))).shape
        (2, 1)
    """
    return apply(ops.Matmul, x, y)


@op_function(ops.Einsum, numpy=[np.einsum])
def einsum(subscripts: str, *operands: Any, optimize: bool | str = False) -> Node:
    """The Einstein sum ``numpy.einsum(subscripts, *operands)``, differentiable in every operand.

    Each operand's dimensions are named by letters; letters missing from the output are
    summed over. Implicit output (no ``->``), ``...`` for broadcast dimensions, and
    repeated letters (``'ii->'``, a trace; ``'ii->i'``, a diagonal) work as in NumPy.

    Args:
        subscripts: e.g. ``'ij,jk->ik'`` (a matrix product), ``'bij,bjk->bik'`` (a batch
            of them), ``'i,j->ij'`` (an outer product), ``'ii'`` (a trace).
        *operands: the arrays or Nodes, one per group of letters.
        optimize: as NumPy's (False, True, ``'greedy'`` or ``'optimal'``): the order in
            which several operands are contracted.

    Returns:
        A Node holding the sum.

    Raises:
        ValueError: the subscripts do not fit the operands (the message names them).
        ShapeError: a letter has different lengths in two operands.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> a = cg.Node([[1.0, 2.0], [3.0, 4.0]])
        >>> trace = cg.einsum("ii", a)
        >>> trace.backward()
        >>> float(trace.value), a.grad.tolist()
        (5.0, [[1.0, 0.0], [0.0, 1.0]])
    """
    if not operands:
        raise TypeError("einsum needs at least one operand after the subscripts")
    if not isinstance(optimize, (bool, np.bool_)) and optimize not in ("greedy", "optimal"):
        raise TypeError(
            f"einsum's optimize must be False, True, 'greedy' or 'optimal', not {preview(optimize)}"
        )
    ndims = [np.ndim(x.value if isinstance(x, Node) else x) for x in operands]
    explicit = ops.explicit_subscripts(subscripts, ndims)
    return apply(ops.Einsum, *operands, subscripts=explicit, optimize=optimize)


# -- reductions ---------------------------------------------------------------------------------


@op_function(ops.Sum, numpy=[np.sum])
def sum(x: Any, axis: Axis = None, keepdims: bool = False, *, where: Any = None) -> Node:  # noqa: A001
    """Σ x over ``axis`` (all axes by default), as ``numpy.sum``.

    ``where``, a boolean mask that broadcasts to x's shape, sums only the elements it
    selects (as NumPy's keyword); the others get no gradient.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> x = cg.Node([[1.0, 2.0], [3.0, 4.0]])
        >>> cg.sum(x, axis=0).value.tolist()
        [4.0, 6.0]
        >>> cg.sum(x, where=np.array([True, False])).value.tolist()
        4.0
    """
    return apply(
        ops.Sum,
        x,
        axis=as_axis(axis),
        keepdims=as_flag(keepdims, "sum's keepdims"),
        **_mask(x, where, "sum"),
    )


@op_function(ops.Mean, numpy=[np.mean])
def mean(x: Any, axis: Axis = None, keepdims: bool = False, *, where: Any = None) -> Node:
    """The mean of x over ``axis`` (all axes by default), as ``numpy.mean``.

    ``where``, a boolean mask that broadcasts to x's shape, averages only the elements it
    selects (as NumPy's keyword; where it selects none, the mean is NaN).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> float(cg.mean(cg.Node([1.0, 2.0, 6.0])).value)
        3.0
        >>> float(cg.mean(cg.Node([1.0, 2.0, 6.0]), where=np.array([True, True, False])).value)
        1.5
    """
    return apply(
        ops.Mean,
        x,
        axis=as_axis(axis),
        keepdims=as_flag(keepdims, "mean's keepdims"),
        **_mask(x, where, "mean"),
    )


def _mask(x: Any, where: Any, what: str) -> dict[str, Any]:
    """``{"where": mask}`` for a boolean mask that broadcasts to x (nothing for None)."""
    if where is None:
        return {}
    if isinstance(where, Node):
        raise DTypeError(
            f"{what}'s where is a Node ({where.describe()}); the mask is data: pass a boolean "
            "array, e.g. where=node.value > 0"
        )
    if isinstance(where, np.ma.MaskedArray):
        raise DTypeError(f"{what}'s where is a masked array: fill it first (mask.filled(False))")
    mask = np.asarray(where)
    if mask.dtype != bool:
        raise DTypeError(
            f"{what}'s where must be a boolean mask, not an array of {mask.dtype} "
            f"({preview(where)}); compare to get one, e.g. where=x.value > 0"
        )
    shape = np.shape(x.value if isinstance(x, Node) else x)
    try:
        fits = np.broadcast_shapes(mask.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{what}'s where mask of shape {mask.shape} does not broadcast to the input's "
            f"shape {shape}; give it that shape (or one that broadcasts to it)"
        )
    mask = mask.copy()  # the caller may change theirs; the graph keeps this one
    mask.setflags(write=False)
    return {"where": mask}


@op_function(ops.Prod, numpy=[np.prod])
def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Node:
    """The product of x's elements over ``axis`` (all axes by default), as ``numpy.prod``.

    Its gradient is the product of the other elements, formed without dividing by x, so it
    is exact where x has zeros, to any order.

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node([2.0, 0.0, 5.0])
        >>> cg.prod(x).backward()
        >>> x.grad.tolist()
        [0.0, 10.0, 0.0]
    """
    return apply(ops.Prod, x, axis=as_axis(axis), keepdims=as_flag(keepdims, "prod's keepdims"))


@op_function(ops.Cumsum, numpy=[np.cumsum])
def cumsum(x: Any, axis: int | None = None) -> Node:
    """Running sums of x along ``axis``; with ``axis=None`` (the default) of x flattened,
    as ``numpy.cumsum``.

    Example:
        >>> import compgraph as cg
        >>> cg.cumsum(cg.Node([[1.0, 2.0], [3.0, 4.0]]), axis=1).value.tolist()
        [[1.0, 3.0], [3.0, 7.0]]
        >>> cg.cumsum(cg.Node([[1.0, 2.0], [3.0, 4.0]])).value.tolist()
        [1.0, 3.0, 6.0, 10.0]
    """
    return apply(ops.Cumsum, x, axis=None if axis is None else _int(axis, "cumsum's axis"))


@op_function(ops.Var, numpy=[np.var])
def var(x: Any, axis: Axis = None, *, ddof: float = 0, keepdims: bool = False) -> Node:
    """The variance Σ (x - mean)² / (n - ddof) over ``axis``, as ``numpy.var`` (``ddof=1``:
    the unbiased sample variance).

    Raises:
        ValueError: n - ddof <= 0 (NumPy would return NaN or inf).

    Example:
        >>> import compgraph as cg
        >>> float(cg.var(cg.Node([1.0, 2.0, 3.0, 4.0])).value)
        1.25
        >>> round(float(cg.var(cg.Node([1.0, 2.0, 3.0, 4.0]), ddof=1).value), 6)
        1.666667
    """
    return _spread_measure(ops.Var, "var", x, axis, ddof, keepdims)


@op_function(ops.Std, numpy=[np.std])
def std(x: Any, axis: Axis = None, *, ddof: float = 0, keepdims: bool = False) -> Node:
    """The standard deviation √var over ``axis``, as ``numpy.std``; where it is 0 (a
    constant group) its gradient is taken as 0, as for ``norm`` at 0 (PyTorch gives NaN).

    Raises:
        ValueError: n - ddof <= 0 (NumPy would return NaN or inf).

    Example:
        >>> import compgraph as cg
        >>> float(cg.std(cg.Node([1.0, 3.0])).value)
        1.0
    """
    return _spread_measure(ops.Std, "std", x, axis, ddof, keepdims)


def _spread_measure(
    op: type[ops.Op], what: str, x: Any, axis: Any, ddof: Any, keepdims: Any
) -> Node:
    if not _is_number(ddof):
        raise TypeError(f"{what}'s ddof must be a number, not {preview(ddof)}")
    axis = as_axis(axis)
    shape = np.shape(x.value if isinstance(x, Node) else x)
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    try:
        count = math.prod(shape[a] for a in axes)
    except IndexError:
        count = 1  # an axis out of range: the op's own error names it
    if count - ddof <= 0:
        raise ValueError(
            f"{what} over {count} element(s) with ddof={ddof} divides by n - ddof = "
            f"{count - ddof}, which must be positive: use a smaller ddof (0 or 1), or reduce "
            "over more elements"
        )
    return apply(op, x, axis=axis, keepdims=as_flag(keepdims, f"{what}'s keepdims"), ddof=ddof)


@op_function(ops.Norm, numpy=[np.linalg.norm])
def norm(x: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Node:  # noqa: A002
    """The Euclidean norm √Σx², as ``numpy.linalg.norm`` computes it for ``ord=None``: of
    a vector (or one ``axis``: ``ord=2`` too), of a matrix (or two axes: the Frobenius
    norm, ``ord='fro'`` too), of anything else flattened (``axis=None``). Its gradient
    x / norm is taken as 0 where the norm is 0, as in PyTorch.

    Raises:
        ValueError: another ``ord`` (the message says how to build it from other ops), or
            an ``axis`` that ``numpy.linalg.norm`` also refuses.

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node([3.0, 4.0])
        >>> n = cg.norm(x)
        >>> n.backward()
        >>> float(n.value), x.grad.tolist()
        (5.0, [0.6, 0.8])
    """
    axis = as_axis(axis)
    ndim = np.ndim(x.value if isinstance(x, Node) else x)
    axes = (axis,) if isinstance(axis, int) else axis
    if axes is not None and len(axes) > 2:
        raise ValueError(
            f"norm over the axes {axis}: numpy.linalg.norm takes one axis (a vector norm) or "
            "two (a matrix norm); for the 2-norm over more, use cg.sqrt(cg.sum(x * x, axis))"
        )
    count = ndim if axes is None else len(axes)
    if count == 1:
        kind, fits = "vector", ord is None or (_is_number(ord) and ord == 2)
    elif count == 2:
        kind, fits = "matrix", ord is None or (isinstance(ord, str) and ord == "fro")
    else:
        kind, fits = f"{ndim}-d array with axis=None", ord is None
    if not fits:
        raise ValueError(
            f"norm with ord={ord!r} for a {kind}: compgraph's norm is the Euclidean one "
            "(ord=None; 2 for vectors, 'fro' for matrices); build the others from ops, e.g. "
            "the 1-norm cg.sum(cg.abs(x), axis), the max-norm cg.max(cg.abs(x), axis), the "
            "p-norm cg.sum(cg.abs(x) ** p, axis) ** (1 / p)"
        )
    return apply(ops.Norm, x, axis=axis, keepdims=as_flag(keepdims, "norm's keepdims"))


@op_function(ops.Max, numpy=[np.max, np.amax])
def max(x: Any, axis: Axis = None, keepdims: bool = False, *, initial: Any = None) -> Node:  # noqa: A001
    """The largest element of x over ``axis`` (and ``initial``, a number, if given, as
    NumPy's keyword: an empty axis then has a maximum); elements that tie share the
    gradient equally (``initial`` taking a share).

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node([1.0, 3.0, 3.0])
        >>> cg.max(x).backward()
        >>> x.grad.tolist()
        [0.0, 0.5, 0.5]
        >>> float(cg.max(x, initial=5.0).value)
        5.0
    """
    return apply(
        ops.Max,
        x,
        axis=as_axis(axis),
        keepdims=as_flag(keepdims, "max's keepdims"),
        **_initial(initial, "max"),
    )


@op_function(ops.Min, numpy=[np.min, np.amin])
def min(x: Any, axis: Axis = None, keepdims: bool = False, *, initial: Any = None) -> Node:  # noqa: A001
    """The smallest element of x over ``axis`` (and ``initial``, a number, if given, as
    NumPy's keyword); elements that tie share the gradient equally (``initial`` too).

    Example:
        >>> import compgraph as cg
        >>> cg.min(cg.Node([[1.0, 3.0], [0.0, 4.0]]), axis=1).value.tolist()
        [1.0, 0.0]
    """
    return apply(
        ops.Min,
        x,
        axis=as_axis(axis),
        keepdims=as_flag(keepdims, "min's keepdims"),
        **_initial(initial, "min"),
    )


def _initial(initial: Any, what: str) -> dict[str, Any]:
    if initial is None:
        return {}
    if isinstance(initial, Node):
        raise TypeError(
            f"{what}'s initial is a Node ({initial.describe()}); it is a constant: pass its "
            f".value, or use cg.maximum/cg.minimum to differentiate with respect to it"
        )
    if np.ndim(initial) != 0:
        raise ValueError(f"{what}'s initial must be one number, not {preview(initial)}")
    return {"initial": float(as_float_array(initial, f"{what}'s initial"))}


# -- shapes and indexing ------------------------------------------------------------------------


@op_function(ops.Transpose, numpy=[np.transpose])
def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Node:
    """x with its axes reversed, or permuted by ``axes``, as ``numpy.transpose``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.transpose(cg.Node(np.zeros((2, 3)))).shape
        (3, 2)
    """
    return apply(ops.Transpose, x, axes=as_axes(axes))


@op_function(ops.Reshape, numpy=[np.reshape])
def reshape(x: Any, shape: int | tuple[int, ...]) -> Node:
    """x with a new shape holding the same elements (C order; one -1 may stand in).

    Example:
        >>> import compgraph as cg
        >>> cg.reshape(cg.Node([1.0, 2.0, 3.0, 4.0]), (2, -1)).shape
        (2, 2)
    """
    return apply(ops.Reshape, x, shape=as_shape(shape))


@op_function(ops.BroadcastTo, numpy=[np.broadcast_to])
def broadcast_to(x: Any, shape: int | tuple[int, ...]) -> Node:
    """x repeated along new or length-1 axes to ``shape``, as ``numpy.broadcast_to``.

    Example:
        >>> import compgraph as cg
        >>> cg.broadcast_to(cg.Node([1.0, 2.0]), (2, 2)).value.tolist()
        [[1.0, 2.0], [1.0, 2.0]]
    """
    return apply(ops.BroadcastTo, x, shape=as_shape(shape))


@op_function(ops.Astype, numpy=[np.astype] if hasattr(np, "astype") else [])
def astype(x: Any, dtype: Any) -> Node:
    """x converted to float32 or float64; its gradient is converted back.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.astype(cg.Node(1.5), np.float32).dtype
        dtype('float32')
    """
    return apply(ops.Astype, x, dtype=as_float_dtype(dtype))


@op_function(ops.Concatenate, numpy=[np.concatenate])
def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Node:
    """The arrays ``xs`` joined along an existing ``axis``, as ``numpy.concatenate``
    (``axis=None`` flattens each first).

    Example:
        >>> import compgraph as cg
        >>> cg.concatenate([cg.Node([1.0]), cg.Node([2.0, 3.0])]).value.tolist()
        [1.0, 2.0, 3.0]
        >>> cg.concatenate([cg.Node([[1.0, 2.0]]), cg.Node(3.0)], axis=None).value.tolist()
        [1.0, 2.0, 3.0]
    """
    parts = _sequence(xs, "concatenate")
    if axis is None:
        return apply(ops.Concatenate, *[reshape(x, (-1,)) for x in parts], axis=0)
    return apply(ops.Concatenate, *parts, axis=_int(axis, "axis"))


@op_function(ops.Stack, numpy=[np.stack])
def stack(xs: Sequence[Any], axis: int = 0) -> Node:
    """The arrays ``xs`` (all of one shape) stacked along a new ``axis``, as ``numpy.stack``.

    Example:
        >>> import compgraph as cg
        >>> cg.stack([cg.Node([1.0, 2.0]), cg.Node([3.0, 4.0])], axis=1).value.tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    return apply(ops.Stack, *_sequence(xs, "stack"), axis=_int(axis, "axis"))


def _sequence(xs: Any, what: str) -> list[Any]:
    if isinstance(xs, (Node, np.ndarray)) or not isinstance(xs, Sequence) or not xs:
        raise TypeError(f"{what} takes a non-empty list of arrays or Nodes, not {preview(xs)}")
    return list(xs)


@op_function(ops.GetItem)
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


@op_function(ops.IndexAdd)
def index_add(v: Any, index: Any, shape: int | tuple[int, ...]) -> Node:
    """Zeros of ``shape`` with ``v`` added at ``index`` (repeated indices add up): the
    adjoint of ``x[index]``, which the backward pass of indexing uses.

    Example:
        >>> import compgraph as cg
        >>> cg.index_add(cg.Node([1.0, 2.0]), [0, 0], (3,)).value.tolist()
        [3.0, 0.0, 0.0]
    """
    return apply(ops.IndexAdd, v, index=normalize_index(index), shape=as_shape(shape))


# -- NumPy functions that are compositions of the ops above -------------------------------------


def _dot(a: Any, b: Any) -> Node:
    """``np.dot`` on Nodes: matmul for vectors and matrices, a product for scalars."""
    ndims = (
        np.ndim(a.value if isinstance(a, Node) else a),
        np.ndim(b.value if isinstance(b, Node) else b),
    )
    if 0 in ndims:
        return mul(a, b)
    if ndims[0] > 2 or ndims[1] > 2:
        raise TypeError(
            "numpy.dot of arrays with more than 2 dimensions is not supported on Nodes: its "
            "axes differ from matmul's; use compgraph.matmul (np.matmul, @) or reshape first"
        )
    return matmul(a, b)


def _swapaxes(x: Any, axis1: int, axis2: int) -> Node:
    ndim = x.ndim
    axes = list(range(ndim))
    first, second = _int(axis1, "axis1") % ndim, _int(axis2, "axis2") % ndim
    axes[first], axes[second] = axes[second], axes[first]
    return transpose(x, tuple(axes))


def _expand_dims(x: Any, axis: Axis) -> Node:
    axes: Any = as_axis(axis)
    return reshape(x, np.expand_dims(np.broadcast_to(False, x.shape), axes).shape)


def _squeeze(x: Any, axis: Axis = None) -> Node:
    return reshape(x, np.squeeze(np.broadcast_to(False, x.shape), as_axis(axis)).shape)


def _ravel(x: Any) -> Node:
    return reshape(x, (-1,))


def _square(x: Any) -> Node:
    return mul(x, x)


_NOT_GIVEN: Any = getattr(np, "_NoValue", None)


def _numpy_clip(
    a: Any,
    a_min: Any = _NOT_GIVEN,
    a_max: Any = _NOT_GIVEN,
    *,
    min: Any = _NOT_GIVEN,  # noqa: A002 - NumPy 2's names
    max: Any = _NOT_GIVEN,  # noqa: A002
) -> Node:
    """``np.clip`` on Nodes, with NumPy's names for the bounds (a_min/a_max, or NumPy 2's
    min/max)."""
    for old, new, name in ((a_min, min, "a_min"), (a_max, max, "a_max")):
        if old is not _NOT_GIVEN and new is not _NOT_GIVEN:
            raise TypeError(f"numpy.clip got both {name} and {name[2:]}; pass one of them")
    low = a_min if min is _NOT_GIVEN else min
    high = a_max if max is _NOT_GIVEN else max
    return clip(a, None if low is _NOT_GIVEN else low, None if high is _NOT_GIVEN else high)


NUMPY_FUNCTIONS.update(
    {
        np.dot: _dot,
        np.swapaxes: _swapaxes,
        np.expand_dims: _expand_dims,
        np.squeeze: _squeeze,
        np.ravel: _ravel,
        np.square: _square,
        np.clip: _numpy_clip,
    }
)

__all__ = sorted(function.__name__ for function in OP_FUNCTIONS.values())
