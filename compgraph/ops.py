"""The op table: every differentiable operation, its forward and its vector-Jacobian product.

Each op is a small class with two static methods side by side:

* ``forward(*inputs, **attrs) -> out`` computes the value with NumPy;
* ``vjp(g, out, *inputs, **attrs) -> (g_input_0, g_input_1, ...)`` maps the upstream
  gradient ``g`` (shaped like ``out``) to one gradient per input.

The vocabulary is fixed: ``g`` is the upstream gradient, ``out`` the forward result, then
the inputs by name. A vjp may return a gradient in the *broadcast* shape of the forward
pass; the backward pass reduces it to each input's shape once, centrally, so no op here
repeats that bookkeeping. This module is pure NumPy in and out and never sees a ``Node``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from compgraph.errors import OpError

__all__ = [
    "BUILTIN_OPS",
    "Add",
    "Div",
    "Exp",
    "GetItem",
    "Log",
    "Matmul",
    "Mean",
    "Mul",
    "Neg",
    "Op",
    "Pow",
    "Reshape",
    "Sigmoid",
    "SigmoidCrossEntropy",
    "Sub",
    "Sum",
    "Transpose",
]


class Op:
    """Base class of every op; subclass it to add your own.

    Define ``forward`` and ``vjp`` as static methods, then build nodes with
    ``compgraph.apply(MyOp, *inputs, **attrs)``. ``name`` defaults to the lower-cased class
    name; ``hint`` (optional) is appended to shape errors, ``nonfinite_hint`` to inf/NaN
    reports.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> class Square(cg.Op):
        ...     '''x² ; vjp: 2·x·g'''
        ...     @staticmethod
        ...     def forward(x):
        ...         return x * x
        ...     @staticmethod
        ...     def vjp(g, out, x):
        ...         return (2 * x * g,)
        >>> x = cg.Node(3.0)
        >>> y = cg.apply(Square, x)
        >>> y.backward()
        >>> float(y.value), float(x.grad)
        (9.0, 6.0)
    """

    name: ClassVar[str] = "op"
    #: How pictures draw the op ("+", "σ"); None draws its name.
    symbol: ClassVar[str | None] = None
    #: Pictures label each input edge with its role when operand order matters ("base",
    #: "exponent"); empty for one input or when swapping the inputs changes nothing.
    roles: ClassVar[tuple[str, ...]] = ()
    hint: ClassVar[str] = ""
    nonfinite_hint: ClassVar[str] = ""
    #: Set automatically when ``vjp`` takes a ``needs_grad`` keyword: backward then passes a
    #: tuple of booleans, one per input, and the vjp may return None for inputs that need
    #: no gradient, skipping work such as matmul's outer product with constant data.
    vjp_needs_grad: ClassVar[bool] = False
    #: True when ``forward`` and ``vjp`` work unchanged on NumPy scalars (np.float64) in
    #: place of 0-d arrays, as plain NumPy arithmetic does. The engine then hands them
    #: scalars for 0-d inputs: NumPy's scalar arithmetic is several times faster than its
    #: 0-d array arithmetic, which dominates graphs of scalars. Leave it False if your op
    #: needs ndarray-only features (item assignment, out=). Either way an op must never
    #: write into its inputs: they are other nodes' values.
    scalar_inputs: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls.vjp_needs_grad = "needs_grad" in inspect.signature(cls.vjp).parameters

    def __init__(self) -> None:
        raise TypeError(
            f"{type(self).__name__} is an op class, not something to instantiate; "
            f"use compgraph.apply({type(self).__name__}, *inputs)"
        )

    @staticmethod
    def forward(*inputs: np.ndarray, **attrs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def vjp(g: np.ndarray, out: np.ndarray, *inputs: np.ndarray, **attrs: Any) -> tuple:
        raise NotImplementedError


_BROADCAST_HINT = (
    "NumPy broadcasting aligns trailing dimensions, which must be equal or 1; "
    "reshape an operand (e.g. to (n, 1)) or transpose it so the shapes line up"
)


class Add(Op):
    """x + y ; vjp: (g, g)"""

    symbol = "+"

    scalar_inputs = True

    hint = _BROADCAST_HINT

    @staticmethod
    def forward(x, y):
        return x + y

    @staticmethod
    def vjp(g, out, x, y):
        # Both inputs get the very same array; the backward pass never writes into it.
        return g, g


class Sub(Op):
    """x - y ; vjp: (g, -g)"""

    symbol = "−"
    roles = ("left", "right")

    scalar_inputs = True

    hint = _BROADCAST_HINT

    @staticmethod
    def forward(x, y):
        return x - y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        return g, -g if needs_grad[1] else None


class Neg(Op):
    """-x ; vjp: -g"""

    symbol = "−"

    scalar_inputs = True

    @staticmethod
    def forward(x):
        return -x

    @staticmethod
    def vjp(g, out, x):
        return (-g,)


class Mul(Op):
    """x · y ; vjp: (g·y, g·x)"""

    symbol = "×"

    scalar_inputs = True

    hint = _BROADCAST_HINT

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        return g * y if needs_grad[0] else None, g * x if needs_grad[1] else None


class Div(Op):
    """x / y ; vjp: (g / y, -g · out / y)"""

    symbol = "÷"
    roles = ("numerator", "denominator")

    scalar_inputs = True

    hint = _BROADCAST_HINT
    nonfinite_hint = "a divisor is 0 (or an operand is already inf/NaN)"

    @staticmethod
    def forward(x, y):
        return x / y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        g_over_y = g / y
        return g_over_y, -g_over_y * out if needs_grad[1] else None


class Pow(Op):
    """x ** y ; vjp: (g · y · x^(y-1), g · out · ln x)"""

    symbol = "^"
    roles = ("base", "exponent")

    scalar_inputs = True

    hint = _BROADCAST_HINT
    nonfinite_hint = (
        "a negative base needs an integer exponent, and 0 cannot be raised to a negative power"
    )

    @staticmethod
    def forward(x, y):
        return x**y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        # y·x^(y-1) rather than y·out/x, which would divide by zero at x = 0; and where
        # y = 0 the slope is 0 even at x = 0, where 0 · 0^-1 would make it NaN.
        g_x = np.where(y == 0, 0.0, g * y * x ** (y - 1)) if needs_grad[0] else None
        # d(x^y)/dy = x^y ln x tends to 0 as x -> 0+ (for y > 0), where ln x alone is -inf;
        # for x < 0 it is undefined (NaN), which is why it is computed only when asked for.
        g_y = np.where(out == 0, 0.0, g * out * np.log(x)) if needs_grad[1] else None
        return g_x, g_y


class Exp(Op):
    """e^x ; vjp: g · out"""

    scalar_inputs = True

    nonfinite_hint = "exp overflows past x ≈ 709 in float64 (88 in float32)"

    @staticmethod
    def forward(x):
        return np.exp(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * out,)


class Log(Op):
    """ln x ; vjp: g / x"""

    scalar_inputs = True

    nonfinite_hint = "log needs strictly positive input (log 0 = -inf, log of a negative is NaN)"

    @staticmethod
    def forward(x):
        return np.log(x)

    @staticmethod
    def vjp(g, out, x):
        return (g / x,)


def _sigmoid(x):
    """σ(x) = 1 / (1 + e^-x), accurate to the last bit in both tails, without warnings.

    e^-x overflows to inf for x < -709, where 1 / (1 + inf) is exactly 0: the right limit,
    so the overflow is expected and silenced (σ(-40) = 4.2e-18 keeps its relative accuracy,
    unlike 0.5 + 0.5·tanh(x/2)). In place after the first pass: four passes over the data
    and one allocation, several times faster than a branchless np.where of two formulas.
    """
    with np.errstate(over="ignore"):
        if type(x) is not np.ndarray or x.ndim == 0:
            return 1 / (1 + np.exp(-x))
        t = np.negative(x)
        np.exp(t, out=t)
        t += 1
        return np.reciprocal(t, out=t)


class Sigmoid(Op):
    """σ(x) = 1 / (1 + e^-x) ; vjp: g · out · (1 - out)"""

    symbol = "σ"

    scalar_inputs = True

    @staticmethod
    def forward(x):
        return _sigmoid(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * out * (1 - out),)


class SigmoidCrossEntropy(Op):
    """L(z, y) = -y ln σ(z) - (1-y) ln(1-σ(z)) = max(z,0) - z·y + ln(1 + e^-|z|), elementwise ;
    vjp: (g · (σ(z) - y), -g · z)

    The per-example logistic loss taken from the logit z rather than from A = σ(z), so it
    never forms ln 0: it stays finite and exact for any finite z. Like the other elementwise
    ops it returns one loss per element (average them with ``mean`` for the cost); y is an
    ordinary input, usually a constant holding the labels.
    """

    # The lesson's a = σ(z) and L(a, y), fused into one op: drawn so it still reads that way.
    symbol = "L(σ(z), y)"
    roles = ("logits", "labels")

    scalar_inputs = True

    name = "sigmoid_cross_entropy"
    hint = _BROADCAST_HINT

    @staticmethod
    def forward(z, y):
        # max(z,0) - z·y as max(z,0)·(1-y) - min(z,0)·y: for labels in [0, 1] both terms are
        # >= 0, so nothing cancels (z - z·y would, for soft labels near 1), and they are
        # summed before the small softplus is added, so a loss of 4e-18 at z = 40, y = 1
        # keeps its relative accuracy. ln(1 + e^-|z|) never overflows.
        softplus = np.abs(z)
        in_place = (
            type(softplus) is np.ndarray
            and softplus.shape == np.broadcast_shapes(softplus.shape, np.shape(y))
            and np.result_type(z, y) == z.dtype  # float32 z with float64 y gives float64
        )
        if not in_place:
            linear = np.maximum(z, 0) * (1 - y) - np.minimum(z, 0) * y
            return linear + np.log1p(np.exp(-softplus))
        # In place where the output has z's shape: on large arrays these passes are the
        # loss's whole cost, and every fresh array of that size costs page faults too.
        np.negative(softplus, out=softplus)
        np.exp(softplus, out=softplus)
        np.log1p(softplus, out=softplus)
        linear = np.maximum(z, 0)
        linear *= 1 - y
        negative_part = np.minimum(z, 0)
        negative_part *= y
        linear -= negative_part
        linear += softplus
        return linear

    @staticmethod
    def vjp(g, out, z, y, needs_grad=(True, True)):
        g_z = g * (_sigmoid(z) - y) if needs_grad[0] else None
        return g_z, -g * z if needs_grad[1] else None


class Matmul(Op):
    """x @ y (NumPy semantics, 1-D and batched included) ; vjp: (g @ yᵀ, xᵀ @ g)"""

    symbol = "@"
    roles = ("left", "right")

    hint = (
        "the last dimension of the left operand must equal the second-to-last of the right "
        "(for vectors: their lengths); transpose an operand (x.T) or reshape it"
    )

    @staticmethod
    def forward(x, y):
        return x @ y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        # Lift 1-D operands to matrices, as matmul itself does, so one rule covers all cases;
        # batch dimensions broadcast and are summed away centrally.
        x2 = x[np.newaxis, :] if x.ndim == 1 else x
        y2 = y[:, np.newaxis] if y.ndim == 1 else y
        if x.ndim == 1:
            g = g[..., np.newaxis, :] if y.ndim > 1 else g[..., np.newaxis]
        if y.ndim == 1:
            g = g[..., np.newaxis]
        # With constant data (w.T @ X) the skipped product is the size of X: the largest
        # array in the whole graph.
        g_x = g_y = None
        if needs_grad[0]:
            g_x = g @ np.swapaxes(y2, -1, -2)
            g_x = g_x[..., 0, :] if x.ndim == 1 else g_x
        if needs_grad[1]:
            g_y = np.swapaxes(x2, -1, -2) @ g
            g_y = g_y[..., 0] if y.ndim == 1 else g_y
        return g_x, g_y


def _restore_reduced_axes(g: np.ndarray, ndim: int, axis: Any, keepdims: bool) -> np.ndarray:
    """Re-insert the axes a reduction removed, so ``g`` broadcasts against its input."""
    if keepdims or axis is None:
        return g if keepdims else np.reshape(g, (1,) * ndim)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return np.expand_dims(g, tuple(a % ndim for a in axes))


_AXIS_HINT = (
    "axis must name existing axes: 0 to ndim-1, or -ndim to -1 counting from the end "
    "(None reduces over all axes)"
)


class Sum(Op):
    """Σ x over ``axis`` ; vjp: g broadcast back over the summed axes"""

    scalar_inputs = True

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False):
        g = _restore_reduced_axes(g, x.ndim, axis, keepdims)
        return (np.broadcast_to(g, x.shape),)


class Mean(Op):
    """(1/n) Σ x over ``axis`` ; vjp: g / n broadcast back over the averaged axes"""

    scalar_inputs = True

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False):
        count = x.size // max(out.size, 1) if x.size else 1
        g = _restore_reduced_axes(g, x.ndim, axis, keepdims) / count
        return (np.broadcast_to(g, x.shape),)


class Transpose(Op):
    """xᵀ, or x with its axes permuted by ``axes`` ; vjp: g permuted back"""

    scalar_inputs = True

    hint = "axes must list every axis of the input exactly once, e.g. (1, 0, 2) for 3-D input"

    @staticmethod
    def forward(x, axes=None):
        return np.transpose(x, axes)

    @staticmethod
    def vjp(g, out, x, axes=None):
        # argsort inverts a permutation only once negative axes are made non-negative.
        inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))
        return (np.transpose(g, inverse),)


class Reshape(Op):
    """x with a new ``shape`` (same elements, C order) ; vjp: g reshaped to x's shape"""

    scalar_inputs = True

    hint = "the new shape must hold exactly as many elements as the input (one -1 may stand in)"

    @staticmethod
    def forward(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def vjp(g, out, x, shape):
        return (np.reshape(g, x.shape),)


class GetItem(Op):
    """x[index], NumPy indexing (ints, slices, None, ..., integer or boolean arrays) ;
    vjp: g added into zeros shaped like x at index (repeated indices add up)"""

    name = "getitem"
    hint = (
        "each index must fit its axis (-n to n-1 for an axis of length n), and a boolean "
        "mask must match the shape of the axes it selects"
    )

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def vjp(g, out, x, index):
        g_x = np.zeros_like(x)
        items = index if isinstance(index, tuple) else (index,)
        if all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items):
            g_x[index] = g  # basic indices name each element once
        else:
            np.add.at(g_x, index, g)  # an integer array may name one element several times
        return (g_x,)


#: Every built-in op, in the order the product brief lists them; the test table must have a
#: row for each (tests/test_ops.py checks it).
BUILTIN_OPS: tuple[type[Op], ...] = (
    Add,
    Sub,
    Neg,
    Mul,
    Div,
    Pow,
    Exp,
    Log,
    Sigmoid,
    SigmoidCrossEntropy,
    Matmul,
    Sum,
    Mean,
    Transpose,
    Reshape,
    GetItem,
)


def check_op_class(op: Any) -> None:
    """Raise ``OpError`` unless ``op`` is an ``Op`` subclass with a forward of its own."""
    if not (isinstance(op, type) and issubclass(op, Op)):
        raise OpError(
            f"apply() takes an Op subclass as its first argument, got {op!r}; "
            "define `class MyOp(compgraph.Op)` with static forward and vjp methods"
        )
    if op.forward is Op.forward:
        raise OpError(f"op {op.name!r} ({op.__name__}) defines no forward(*inputs, **attrs)")
