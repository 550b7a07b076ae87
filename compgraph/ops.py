"""The op table: every differentiable operation, its forward and its vector-Jacobian product.

Each op is a small class with two static methods side by side:

* ``forward(*inputs, **attrs) -> out`` computes the value with NumPy;
* ``vjp(g, out, *inputs, **attrs) -> (g_input_0, g_input_1, ...)`` maps the upstream
  gradient ``g`` (shaped like ``out``) to one gradient per input.

The vocabulary is fixed: ``g`` is the upstream gradient, ``out`` the forward result, then
the inputs by name. A vjp may return a gradient in the *broadcast* shape of the forward
pass; the backward pass reduces it to each input's shape once, centrally (``unbroadcast``),
so no op here repeats that bookkeeping.

One definition serves every order of derivative. A vjp is written with NumPy operators and
functions (``g * out``, ``np.sum``, ``np.where``) and with op classes called like functions
(``Sigmoid(z)``). For a first derivative the backward pass hands it NumPy arrays, and it is
plain NumPy; with ``backward(create_graph=True)`` it hands it Nodes, and the same lines
record the gradient's own graph (NumPy functions reach compgraph through NumPy's
``__array_function__``/``__array_ufunc__`` protocols), so the gradient can be differentiated
again. Comparisons are written as NumPy functions (``np.greater(x, 0)``), which give plain
boolean arrays on arrays and Nodes alike: data, not differentiated (the comparison
operators refuse Nodes, so that ``node == 1.0`` cannot be mistaken for a test of identity).
A vjp must therefore never read ``.value`` or call ``np.asarray`` on its arguments. This
module never imports ``Node``: nodes announce themselves by subclassing
``compgraph.values.Recorded``.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from compgraph import numerics
from compgraph.errors import OpError
from compgraph.values import Recorded

# and every op class, added below
__all__ = ["BUILTIN_OPS", "Op", "explicit_subscripts", "kept_shape", "spread", "unbroadcast"]


class OpType(type):
    """The metaclass of ops: ``Exp(x)`` computes e^x, recorded in the graph when x is a Node."""

    def __call__(cls, *inputs: Any, **attrs: Any) -> Any:
        if not inputs:
            raise TypeError(
                f"{cls.__name__} is an op class: call it on its inputs, {cls.__name__}(x, ...), "
                f"or use compgraph.apply({cls.__name__}, *inputs); it is not instantiated"
            )
        for x in inputs:
            if isinstance(x, Recorded):
                return x.record(cls, inputs, attrs)
        return cls.forward(*inputs, **attrs)  # type: ignore[attr-defined]


_builtin_ops: list[type[Op]] = []


class Op(metaclass=OpType):
    """Base class of every op; subclass it to add your own.

    Define ``forward`` and ``vjp`` as static methods; then ``MyOp(x)`` (or
    ``compgraph.apply(MyOp, x)``) records it on Nodes, and computes it on arrays. ``name``
    defaults to the lower-cased class name; ``hint`` (optional) is appended to shape errors,
    ``nonfinite_hint`` to inf/NaN reports, ``symbol`` and ``roles`` say how pictures draw it.
    Write the vjp with NumPy operators and functions that have compgraph ops (see the module
    notes), and it is differentiable to any order, as the built-in ops are.

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
        >>> y = Square(x)
        >>> y.backward(create_graph=True)
        >>> float(y.value), float(x.grad.value)
        (9.0, 6.0)
        >>> x.grad.backward()  # d(2x)/dx
        >>> float(x.grad)
        2.0
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
    #: Written between its two operands (``a + b``) where the player prints an expression,
    #: rather than as a function call (``maximum(a, b)``).
    infix: ClassVar[bool] = False
    #: Set automatically: True for the ops defined in this module, which the op table tests.
    #: The engine trusts their vjps' results and their floating-point signals; a user's op,
    #: or a subclass of a built-in one, gets every check.
    builtin: ClassVar[bool] = False
    #: How ``cg.compile`` writes the op as one line of Python: a format string over the
    #: inputs ``{0}``, ``{1}``, ... and the attrs by name (``{axis}``), calling the array
    #: namespace ``xp``. It must make exactly the calls ``forward`` makes (compile checks
    #: each line against the traced value); None (the default): compiled code calls
    #: ``forward`` itself, as it does for ops whose forward is more than one expression.
    code: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        cls.vjp_needs_grad = "needs_grad" in inspect.signature(cls.vjp).parameters
        cls.builtin = cls.__module__ == __name__
        if cls.builtin:
            _builtin_ops.append(cls)

    if TYPE_CHECKING:
        # Calls go through OpType.__call__ (computed or recorded): this only tells the type
        # checker what an op class accepts.
        def __new__(cls, *inputs: Any, **attrs: Any) -> Any: ...

    @staticmethod
    def forward(*inputs: Any, **attrs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def vjp(g: Any, out: Any, *inputs: Any, **attrs: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    @staticmethod
    def result_shape(*shapes: Any, **attrs: Any) -> Any:
        """The output's shape from the inputs' shapes alone, computing nothing: a guard
        against a huge result before it is made (``compgraph draw``). Elementwise ops
        broadcast; a reduction's result is at most its input's broadcast shape."""
        return np.broadcast_shapes(*shapes)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` summed over the axes that broadcasting ``shape`` up to ``g.shape`` added or stretched.

    The adjoint of ``np.broadcast_to(x, g.shape)`` for ``x`` of ``shape``: Σ over the leading
    axes broadcasting prepended and over every axis where ``shape`` has 1 and ``g`` does not.
    Works on arrays and, for higher derivatives, on Nodes.

    Args:
        g: a gradient in the broadcast shape (or already in ``shape``).
        shape: the shape of the input the gradient belongs to.

    Returns:
        ``g`` reduced to exactly ``shape``, or ``None`` when ``shape`` does not broadcast to
        ``g.shape`` (so no reduction can fit ``g`` to it).

    Example:
        >>> import numpy as np
        >>> from compgraph.ops import unbroadcast
        >>> unbroadcast(np.ones((4, 2, 3)), (3, 1)) is None
        True
        >>> unbroadcast(np.ones((4, 2, 3)), (1, 3)).tolist()
        [[8.0, 8.0, 8.0]]
    """
    if g.shape == shape:
        return g
    if not shape:  # a scalar broadcast over everything (the bias b): no axes to work out
        return g.sum()
    if not _fits_into(shape, g.shape):
        return None
    extra = g.ndim - len(shape)
    stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    return np.reshape(np.sum(g, axis=tuple(range(extra)) + stretched), shape)


def spread(g: Any, shape: tuple[int, ...], axis: Any) -> Any:
    """``g``, the gradient of a reduction over ``axis``, repeated back over ``shape``.

    The adjoint of Σ over ``axis``: a read-only broadcast view, which costs no pass over the
    input's size. A NumPy scalar (a full reduction's gradient) is spread over a small shape
    with np.full instead, since np.broadcast_to's Python layers cost more than that fill.
    """
    if type(g) in _NUMPY_FLOATS and math.prod(shape) <= 4096:
        return np.full(shape, g)
    if isinstance(g, Recorded) and g.value.ndim == 0 and math.prod(shape) <= 4096:
        # The same contiguous array on Nodes (a gradient recorded for a second derivative,
        # or by cg.compile): a matmul given a broadcast view instead sums in another order,
        # and recorded gradients must be the first-order pass's, bit for bit.
        return Mul(g, np.ones(shape, g.value.dtype))
    return np.broadcast_to(np.reshape(g, kept_shape(shape, axis)), shape)


_NUMPY_FLOATS = (np.float64, np.float32)


def _fits_into(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an operand of ``shape`` broadcasts against ``target`` without enlarging it."""
    if shape == target:
        return True
    extra = len(target) - len(shape)
    return extra >= 0 and all(n in (1, m) for n, m in zip(shape, target[extra:], strict=True))


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """``shape`` with the axes a reduction over ``axis`` removes set to 1 (keepdims=True)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


_BROADCAST_HINT = (
    "NumPy broadcasting aligns trailing dimensions, which must be equal or 1; "
    "reshape an operand (e.g. to (n, 1)) or transpose it so the shapes line up"
)
_AXIS_HINT = (
    "axis must name existing axes: 0 to ndim-1, or -ndim to -1 counting from the end "
    "(None reduces over all axes)"
)


# -- arithmetic ---------------------------------------------------------------------------------


class Add(Op):
    """x + y ; vjp: (g, g)"""

    symbol = "+"
    infix = True
    scalar_inputs = True
    hint = _BROADCAST_HINT
    code = "{0} + {1}"

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
    infix = True
    roles = ("left", "right")
    scalar_inputs = True
    hint = _BROADCAST_HINT
    code = "{0} - {1}"

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
    code = "-{0}"

    @staticmethod
    def forward(x):
        return -x

    @staticmethod
    def vjp(g, out, x):
        return (-g,)


class Positive(Op):
    """+x, the identity ; vjp: g

    A new node with x's value: the transforms differentiate with respect to one made for
    their argument, so that other uses of the same Node stay constants of the derivative.
    """

    symbol = "+"
    scalar_inputs = True
    # Compiled code needs no copy: values are never written into, so x itself serves.
    code = "{0}"

    @staticmethod
    def forward(x):
        return np.positive(x)

    @staticmethod
    def vjp(g, out, x):
        return (g,)


class Mul(Op):
    """x · y ; vjp: (g·y, g·x)"""

    symbol = "×"
    infix = True
    scalar_inputs = True
    hint = _BROADCAST_HINT
    code = "{0} * {1}"

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        return g * y if needs_grad[0] else None, g * x if needs_grad[1] else None


class Div(Op):
    """x / y ; vjp: (g / y, -g · out / y)"""

    symbol = "÷"
    infix = True
    roles = ("numerator", "denominator")
    scalar_inputs = True
    hint = _BROADCAST_HINT
    nonfinite_hint = "a divisor is 0 (or an operand is already inf/NaN)"
    code = "{0} / {1}"

    @staticmethod
    def forward(x, y):
        return x / y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        g_over_y = g / y
        return g_over_y, -g_over_y * out if needs_grad[1] else None


class Pow(Op):
    """x ** y ; vjp: (g · y · x^(y-1), g · out · ln x), both 0 where the power is 0⁰"""

    symbol = "^"
    infix = True
    roles = ("base", "exponent")
    scalar_inputs = True
    hint = _BROADCAST_HINT
    nonfinite_hint = (
        "a negative base needs an integer exponent, and 0 cannot be raised to a negative power"
    )
    code = "{0} ** {1}"

    @staticmethod
    def forward(x, y):
        return x**y

    @staticmethod
    def vjp(g, out, x, y, needs_grad=(True, True)):
        # At 0⁰ the slope in x is 0 (y = 0), where y·x^(y-1) would be 0·inf: the base is
        # swapped for 1 there, so no inf is formed and reported only to be masked away.
        g_x = g_y = None
        if needs_grad[0]:
            # [()]: np.where makes 0-d arrays of scalars, and NumPy's 0-d array ** differs
            # from its scalar ** in the last bit; recorded (second order, cg.compile) the
            # power runs on scalars, so it does here too.
            base = np.where(np.logical_and(np.equal(x, 0), np.equal(y, 0)), 1.0, x)[()]
            g_x = g * y * base ** (y - 1)
        # d(x^y)/dy = x^y ln x, which tends to 0 as x -> 0+; PyTorch and JAX also give 0 at
        # x = 0 (0⁰ included). For x < 0 it is undefined (NaN): computed only when asked for.
        if needs_grad[1]:
            zero = np.equal(x, 0)
            g_y = np.where(zero, 0.0, g * out * np.log(np.where(zero, 1.0, x)))
        return g_x, g_y


class Exp(Op):
    """e^x ; vjp: g · out"""

    scalar_inputs = True
    nonfinite_hint = "exp overflows past x ≈ 709 in float64 (88 in float32)"
    code = "xp.exp({0})"

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
    code = "xp.log({0})"

    @staticmethod
    def forward(x):
        return np.log(x)

    @staticmethod
    def vjp(g, out, x):
        return (g / x,)


class Log1p(Op):
    """ln(1 + x), accurate for tiny x ; vjp: g / (1 + x)"""

    scalar_inputs = True
    nonfinite_hint = "log1p needs x > -1 (log1p(-1) = -inf, below -1 it is NaN)"

    @staticmethod
    def forward(x):
        return np.log1p(x)

    @staticmethod
    def vjp(g, out, x):
        return (g / (1 + x),)


class Expm1(Op):
    """e^x - 1, accurate for tiny x ; vjp: g · (out + 1)"""

    scalar_inputs = True
    nonfinite_hint = "expm1 overflows past x ≈ 709 in float64 (88 in float32)"

    @staticmethod
    def forward(x):
        return np.expm1(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * (out + 1),)


class Sin(Op):
    """sin x ; vjp: g · cos x"""

    scalar_inputs = True

    @staticmethod
    def forward(x):
        return np.sin(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * np.cos(x),)


class Cos(Op):
    """cos x ; vjp: -g · sin x"""

    scalar_inputs = True

    @staticmethod
    def forward(x):
        return np.cos(x)

    @staticmethod
    def vjp(g, out, x):
        return (-g * np.sin(x),)


class Sqrt(Op):
    """√x ; vjp: g / (2·out), inf at x = 0"""

    symbol = "√"
    scalar_inputs = True
    nonfinite_hint = "sqrt needs x >= 0, and its slope 1/(2√x) is infinite at x = 0"
    code = "xp.sqrt({0})"

    @staticmethod
    def forward(x):
        return np.sqrt(x)

    @staticmethod
    def vjp(g, out, x):
        return (g / (2 * out),)


class Abs(Op):
    """|x| ; vjp: g · sign(x), 0 at x = 0 (as PyTorch; JAX gives g there)"""

    symbol = "|x|"
    scalar_inputs = True
    code = "xp.abs({0})"

    @staticmethod
    def forward(x):
        return np.abs(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * np.sign(x),)


class Maximum(Op):
    """max(x, y) elementwise ; vjp: g to the larger input, g/2 to each where they tie"""

    scalar_inputs = True
    hint = _BROADCAST_HINT
    code = "xp.maximum({0}, {1})"

    @staticmethod
    def forward(x, y):
        return np.maximum(x, y)

    @staticmethod
    def vjp(g, out, x, y):
        share = np.greater(x, y) + 0.5 * np.equal(x, y)
        return g * share, g * (1 - share)


class Minimum(Op):
    """min(x, y) elementwise ; vjp: g to the smaller input, g/2 to each where they tie"""

    scalar_inputs = True
    hint = _BROADCAST_HINT
    code = "xp.minimum({0}, {1})"

    @staticmethod
    def forward(x, y):
        return np.minimum(x, y)

    @staticmethod
    def vjp(g, out, x, y):
        share = np.less(x, y) + 0.5 * np.equal(x, y)
        return g * share, g * (1 - share)


class Where(Op):
    """x where condition, else y (condition is data) ; vjp: (g where condition, g elsewhere)"""

    roles = ("if true", "if false")
    hint = "condition, x and y must broadcast together"
    code = "xp.where({condition}, {0}, {1})"

    @staticmethod
    def forward(x, y, condition):
        return np.where(condition, x, y)

    @staticmethod
    def vjp(g, out, x, y, condition):
        return np.where(condition, g, 0.0), np.where(condition, 0.0, g)


class Clip(Op):
    """min(max(x, low), high) ; vjp: g where low <= x <= high (bounds included), else 0"""

    @staticmethod
    def forward(x, low, high):
        return np.clip(x, low, high)

    @staticmethod
    def vjp(g, out, x, low, high):
        # logical_and, not &=: on a traced x (cg.compile) the tests are recorded, not data
        inside = np.ones(out.shape, dtype=bool)
        if low is not None:
            inside = np.logical_and(inside, np.greater_equal(x, low))
        if high is not None:
            inside = np.logical_and(inside, np.less_equal(x, high))
        return (g * inside,)


# -- activations --------------------------------------------------------------------------------


def _sigmoid(x):
    """σ(x) = 1 / (1 + e^-x), accurate to the last bit in both tails, without warnings.

    e^-x overflows to inf for x < -709, where 1 / (1 + inf) is exactly 0: the right limit,
    so the overflow is expected and silenced (σ(-40) = 4.2e-18 keeps its relative accuracy,
    unlike 0.5 + 0.5·tanh(x/2)). In place after the first pass: four passes over the data
    and one allocation, several times faster than a branchless np.where of two formulas.
    """
    state = numerics.enter_errstate(over="ignore")  # np.errstate's state, at a third of its cost
    try:
        if type(x) is not np.ndarray or x.ndim == 0:
            return 1 / (1 + np.exp(-x))
        t = np.negative(x)
        np.exp(t, out=t)
        t += 1
        return np.reciprocal(t, out=t)
    finally:
        numerics.leave_errstate(state)


class Sigmoid(Op):
    """σ(x) = 1 / (1 + e^-x) ; vjp: g · out · (1 - out)"""

    symbol = "σ"
    scalar_inputs = True

    @staticmethod
    def forward(x):
        return _sigmoid(x)

    @staticmethod
    def vjp(g, out, x):
        # In place after the first result: on large arrays each fresh array costs page
        # faults as well as a pass. On Nodes (second order) *= records a new node instead.
        slope = 1 - out
        slope *= out
        slope *= g
        return (slope,)


class Tanh(Op):
    """tanh x ; vjp: g · (1 - out²)"""

    scalar_inputs = True
    code = "xp.tanh({0})"

    @staticmethod
    def forward(x):
        return np.tanh(x)

    @staticmethod
    def vjp(g, out, x):
        return (g * (1 - out * out),)


class Relu(Op):
    """max(x, 0) ; vjp: g where x > 0, else 0 (0 at x = 0, as PyTorch and JAX)"""

    symbol = "ReLU"
    scalar_inputs = True
    code = "xp.maximum({0}, 0)"

    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def vjp(g, out, x):
        return (g * np.greater(x, 0),)


class LeakyRelu(Op):
    """x if x > 0 else slope·x ; vjp: g if x > 0 else slope·g (slope at x = 0, as PyTorch;
    JAX gives g there)"""

    name = "leaky_relu"
    symbol = "leaky ReLU"
    scalar_inputs = True
    code = "xp.where({0} > 0, {0}, {slope} * {0})"

    @staticmethod
    def forward(x, slope=0.01):
        return np.where(x > 0, x, slope * x)

    @staticmethod
    def vjp(g, out, x, slope=0.01):
        return (g * np.where(np.greater(x, 0), 1.0, slope),)


# -- losses -------------------------------------------------------------------------------------


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
    name = "sigmoid_cross_entropy"
    scalar_inputs = True
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
            and _fits_into(np.shape(y), softplus.shape)
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
        g_z = None
        if needs_grad[0]:
            g_z = Sigmoid(z)
            if _fits_into(y.shape, z.shape):  # in place, as in forward
                g_z -= y
                g_z *= g
            else:
                g_z = g * (g_z - y)
        return g_z, -g * z if needs_grad[1] else None


def _logsumexp(x, axis):
    """ln Σ e^x over ``axis`` with the axes kept, shifted by the max so nothing overflows."""
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)  # all -inf (or inf): nothing to shift
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift


class LogSumExp(Op):
    """ln Σ e^x over ``axis`` (shifted by the max, so ±1000 is fine) ; vjp: g · e^(x - out)"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        out = _logsumexp(x, axis)
        return out if keepdims else np.reshape(out, np.sum(x, axis=axis).shape)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False):
        kept = kept_shape(x.shape, axis)
        return (np.reshape(g, kept) * np.exp(x - np.reshape(out, kept)),)


class Softmax(Op):
    """e^x / Σ e^x over ``axis`` ; vjp: out · (g - Σ g·out)"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=-1):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def vjp(g, out, x, axis=-1):
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    """x - ln Σ e^x over ``axis`` ; vjp: g - e^out · Σ g"""

    name = "log_softmax"
    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=-1):
        return x - _logsumexp(x, axis)

    @staticmethod
    def vjp(g, out, x, axis=-1):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


class SoftmaxCrossEntropy(Op):
    """L(z, y) = -Σ y · log_softmax(z) over ``axis`` (the classes) ;
    vjp: (g · (softmax(z)·Σy - y), -g · log_softmax(z))

    One loss per example: the class axis is summed away (examples as columns: z and y are
    (classes, m) and the loss is (m,)). For labels that sum to 1 (one-hot or probabilities)
    the gradient in z is exactly softmax(z) - y.
    """

    name = "softmax_cross_entropy"
    roles = ("logits", "labels")
    hint = _BROADCAST_HINT + "; axis must name the class axis of both"

    @staticmethod
    def forward(z, y, axis=0):
        if np.ndim(z) == 0 or np.ndim(y) != np.ndim(z) or z.shape[axis] != np.shape(y)[axis]:
            # Broadcast along the class axis, or with fewer axes, the labels' classes would
            # not be the logits' classes.
            raise ValueError(
                "the logits need a class axis, and the labels the logits' number of axes "
                "and of classes (other axes may broadcast)"
            )
        # 0 - Σ rather than -Σ, so that a loss of exactly 0 is +0, not -0.
        return 0.0 - np.sum(y * LogSoftmax.forward(z, axis), axis=axis)

    @staticmethod
    def vjp(g, out, z, y, axis=0, needs_grad=(True, True)):
        g = np.expand_dims(g, axis)
        g_z = g_y = None
        # z and y broadcast before the class axis is summed away, so their shares are
        # summed back here: the output alone does not show how far they were broadcast.
        full = np.broadcast_shapes(z.shape, y.shape)
        if needs_grad[0]:
            labels = np.broadcast_to(y, full)
            g_z = g * (Softmax(z, axis=axis) * np.sum(labels, axis=axis, keepdims=True) - y)
            g_z = unbroadcast(np.broadcast_to(g_z, full), z.shape)
        if needs_grad[1]:
            g_y = unbroadcast(np.broadcast_to(-g * LogSoftmax(z, axis=axis), full), y.shape)
        return g_z, g_y


# -- linear algebra -----------------------------------------------------------------------------


class Matmul(Op):
    """x @ y (NumPy semantics, 1-D and batched included) ; vjp: (g @ yᵀ, xᵀ @ g)"""

    symbol = "@"
    infix = True
    roles = ("left", "right")
    hint = (
        "the last dimension of the left operand must equal the second-to-last of the right "
        "(for vectors: their lengths); transpose an operand (x.T) or reshape it"
    )
    code = "{0} @ {1}"

    @staticmethod
    def forward(x, y):
        return x @ y

    @staticmethod
    def result_shape(x_shape, y_shape, **attrs):
        if min(len(x_shape), len(y_shape)) < 2:
            return np.matmul(
                np.empty(x_shape[-1:] if len(x_shape) == 1 else x_shape[-2:]),
                np.empty(y_shape[-1:] if len(y_shape) == 1 else y_shape[-2:]),
            ).shape
        batch = np.broadcast_shapes(x_shape[:-2], y_shape[:-2])
        return (*batch, x_shape[-2], y_shape[-1])

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
        # .T, a method, where it is the same: np.swapaxes's dispatch costs a microsecond.
        if needs_grad[0]:
            g_x = g @ (y2.T if y2.ndim == 2 else np.swapaxes(y2, -1, -2))
            g_x = g_x[..., 0, :] if x.ndim == 1 else g_x
        if needs_grad[1]:
            g_y = (x2.T if x2.ndim == 2 else np.swapaxes(x2, -1, -2)) @ g
            g_y = g_y[..., 0] if y.ndim == 1 else g_y
        return g_x, g_y


class Einsum(Op):
    """Σ over the letters missing from the output of the operands' product, as
    ``numpy.einsum(subscripts, *xs)`` ; vjp: for each operand, the einsum of g with the
    others back to its letters (summed to its size where it broadcast, onto its diagonal
    where a letter repeats)"""

    hint = (
        "subscripts need one group of letters per operand, as many as its dimensions (or "
        "'...' for the rest), and a letter must have one length across operands (or 1)"
    )

    @staticmethod
    def forward(*xs, subscripts, optimize=False):
        return np.einsum(subscripts, *xs, optimize=optimize)

    @staticmethod
    def result_shape(*shapes, subscripts, **attrs):
        inputs, output = explicit_subscripts(subscripts, [len(s) for s in shapes]).split("->")
        length: dict[str, int] = {}
        for letters, shape in zip(inputs.split(","), shapes, strict=True):
            for letter, n in zip(letters, shape, strict=True):
                if n != 1 or letter not in length:  # a length of 1 broadcasts
                    length[letter] = n
        return tuple(length[letter] for letter in output)

    @staticmethod
    def vjp(g, out, *xs, subscripts, optimize=False, needs_grad=None):
        explicit = explicit_subscripts(subscripts, [x.ndim for x in xs])
        inputs, output = explicit.split("->")
        letters = inputs.split(",")
        return tuple(
            _einsum_gradient(g, output, xs, letters, k, optimize)
            if needs_grad is None or needs_grad[k]
            else None
            for k in range(len(xs))
        )


def _einsum_gradient(g, output, xs, letters, k, optimize):
    """The gradient of einsum for operand k: ⟨g, the other operands⟩ summed to its letters."""
    x, own = xs[k], letters[k]
    unique = "".join(dict.fromkeys(own))  # its letters once each, in order
    length = {letter: x.shape[own.index(letter)] for letter in unique}
    others = [j for j in range(len(xs)) if j != k]
    reached = set(output).union(*(letters[j] for j in others))
    result = "".join(letter for letter in unique if letter in reached)
    terms = ",".join([output] + [letters[j] for j in others])
    grad = np.einsum(f"{terms}->{result}", g, *(xs[j] for j in others), optimize=optimize)
    # A letter only x has was summed in the forward pass: the gradient is the same all
    # along it. A letter of length 1 in x that others broadcast: the gradient sums over it.
    shape = tuple(grad.shape[result.index(c)] if c in result else 1 for c in unique)
    grad = np.reshape(grad, shape)
    stretched = tuple(i for i, c in enumerate(unique) if length[c] == 1 and shape[i] != 1)
    if stretched:
        grad = np.sum(grad, axis=stretched, keepdims=True)
    target = tuple(length[c] for c in unique)
    if grad.shape != target:
        grad = np.broadcast_to(grad, target)
    if unique == own:
        return grad
    # A repeated letter reads a diagonal of x ("ii"): the gradient goes back onto it.
    diagonal = tuple(
        np.arange(n).reshape([-1 if c == letter else 1 for c in unique])
        for letter, n in zip(own, x.shape, strict=True)
    )
    return IndexAdd(grad, index=diagonal, shape=x.shape)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def explicit_subscripts(subscripts: str, ndims: Any) -> str:
    """einsum ``subscripts`` for operands of ``ndims`` dimensions, in explicit form.

    ``'...'`` becomes letters of its own (right-aligned, as NumPy broadcasts it) and an
    implicit output (no ``->``) becomes NumPy's: the broadcast dimensions, then the letters
    that occur once, in alphabetical order (capitals first).

    Raises:
        ValueError: the subscripts do not fit the operands, naming them and what is wrong.

    Example:
        >>> from compgraph.ops import explicit_subscripts
        >>> explicit_subscripts("...ij,jk", [3, 2])
        'Zij,jk->Zik'
    """
    ndims = list(ndims)

    def refuse(problem: str) -> ValueError:
        return ValueError(f"einsum subscripts {subscripts!r}: {problem}")

    if not isinstance(subscripts, str):
        raise TypeError(
            f"einsum takes its subscripts as a string such as 'ij,jk->ik', not "
            f"{type(subscripts).__name__}; the sublist form (x, [0, 1], y, [1, 2]) is not "
            "supported: write the letters"
        )
    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        raise refuse("more than one '->'")
    inputs_text, arrow, output = text.partition("->")
    inputs = inputs_text.split(",")
    if len(inputs) != len(ndims):
        raise refuse(f"{len(inputs)} operand group(s) for {len(ndims)} operand(s)")
    for part in [*inputs, output]:
        bad = set(part.replace("...", "")) - set(_LETTERS)
        if bad or part.count("...") > 1:
            raise refuse(
                f"{part!r} is not letters with at most one '...'"
                + (f" (it has {''.join(sorted(bad))!r})" if bad else "")
            )
    used = set(text)
    fresh = [c for c in reversed(_LETTERS) if c not in used]
    broadcast = 0
    for part, ndim in zip(inputs, ndims, strict=True):
        named = len(part.replace("...", ""))
        if "..." not in part and named != ndim:
            raise refuse(f"{part!r} names {named} dimension(s) of an operand with {ndim}")
        if "..." in part:
            if named > ndim:
                raise refuse(f"{part!r} names {named} dimension(s) of an operand with {ndim}")
            broadcast = max(broadcast, ndim - named)
    if broadcast > len(fresh):
        raise refuse("too many broadcast dimensions for the letters left")
    spare = "".join(fresh[:broadcast][::-1])
    explicit = [
        part.replace("...", spare[broadcast - (ndim - len(part) + 3) :]) if "..." in part else part
        for part, ndim in zip(inputs, ndims, strict=True)
    ]
    if arrow:
        if broadcast and "..." not in output:
            raise refuse(
                f"the output leaves out the {broadcast} dimension(s) '...' stands for, which "
                "NumPy refuses; keep '...' in the output, or name them with letters to sum them"
            )
        output = output.replace("...", spare)
        if len(set(output)) != len(output):
            raise refuse(f"the output {output!r} repeats a letter; take a diagonal with 'ii->i'")
        missing = set(output) - set("".join(explicit))
        if missing:
            raise refuse(f"the output letters {''.join(sorted(missing))!r} are in no operand")
    else:
        letters = "".join(part.replace("...", "") for part in inputs)
        output = spare + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ",".join(explicit) + "->" + output


# -- reductions ---------------------------------------------------------------------------------


class Sum(Op):
    """Σ x over ``axis``, of the elements ``where`` selects (a boolean mask) ;
    vjp: g broadcast back over the summed axes, 0 where the mask is False"""

    scalar_inputs = True
    hint = _AXIS_HINT + "; where must broadcast to the input's shape"
    code = "xp.sum({0}, axis={axis}, keepdims={keepdims})"

    @staticmethod
    def forward(x, axis=None, keepdims=False, where=None):
        if where is None:
            return np.sum(x, axis=axis, keepdims=keepdims)
        return np.sum(x, axis=axis, keepdims=keepdims, where=where)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, where=None):
        spread_g = spread(g, x.shape, axis)
        return (spread_g if where is None else spread_g * where,)


class Mean(Op):
    """(1/n) Σ x over ``axis``, of the n elements ``where`` selects (a boolean mask) ;
    vjp: g / n broadcast back over the averaged axes, 0 where the mask is False"""

    scalar_inputs = True
    hint = _AXIS_HINT + "; where must broadcast to the input's shape"

    @staticmethod
    def forward(x, axis=None, keepdims=False, where=None):
        if where is not None or not x.size:
            # NaN where nothing is averaged, with NumPy's warning
            return np.mean(x, axis=axis, keepdims=keepdims, where=True if where is None else where)
        # Σ / n as np.mean computes it, without np.mean's Python layers (3 µs a call).
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        return total / (x.size // total.size)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, where=None):
        if where is None:
            count = x.size // max(out.size, 1) if x.size else 1
            return (spread(g / count, x.shape, axis),)
        # Each selected element's share 1/n of its group's mean (data: the mask is constant);
        # a group with nothing selected has a NaN mean and sends nothing back.
        selected = np.broadcast_to(where, x.shape)
        count = np.sum(selected, axis=axis, keepdims=True)
        return (spread(g, x.shape, axis) * (selected / np.maximum(count, 1)).astype(x.dtype),)


class Prod(Op):
    """Π x over ``axis`` ; vjp: g · the product of the other elements (exact where x has zeros)"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.prod(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False):
        # Not g·out/x, which is 0/0 at a zero: the products of the others are formed from
        # multiplications alone, so they are exact at zeros and differentiable again.
        kept = kept_shape(x.shape, axis)
        return (np.reshape(g, kept) * _products_of_the_others(x, axis),)


def _products_of_the_others(x, axis):
    """For each element of x, the product of the other elements of its group over ``axis``:
    the product of those before it times the product of those after it (in C order)."""
    reduced = _axes(x.ndim, axis)
    kept = tuple(a for a in range(x.ndim) if a not in reduced)
    order = kept + reduced
    moved = x.transpose(order)  # the reduced axes last, merged into one below
    group = math.prod(x.shape[a] for a in reduced)
    flat = np.reshape(moved, (*[x.shape[a] for a in kept], group))
    before = _products_before(flat)
    after = _products_before(flat[..., ::-1])[..., ::-1]
    others = np.reshape(before * after, moved.shape)
    return others.transpose(tuple(int(a) for a in np.argsort(order)))


def _products_before(x):
    """Along the last axis, the product of the elements before each one (1 for the first),
    by a scan of log₂ n vectorised multiplications (each step doubles the span covered)."""
    n = x.shape[-1]
    if n == 0:
        return x
    running = x[..., :-1]
    shift = 1
    while shift < n - 1:
        running = np.concatenate(
            [running[..., :shift], running[..., shift:] * running[..., :-shift]], axis=-1
        )
        shift *= 2
    return np.concatenate([np.ones((*x.shape[:-1], 1), dtype=x.dtype), running], axis=-1)


def _axes(ndim: int, axis: Any) -> tuple[int, ...]:
    """The reduced axes, non-negative and sorted (all of them for None)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted({a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}))


def _group_size(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements a reduction over ``axis`` combines into each result."""
    return math.prod(shape[a] for a in _axes(len(shape), axis))


class Cumsum(Op):
    """running sums x₀, x₀+x₁, … along ``axis`` (None: of x flattened) ;
    vjp: running sums of g taken from the end"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None):
        return np.cumsum(x, axis=axis)

    @staticmethod
    def vjp(g, out, x, axis=None):
        if axis is None:
            return (np.reshape(np.cumsum(g[::-1])[::-1], x.shape),)
        backwards = (slice(None),) * (axis % x.ndim) + (slice(None, None, -1),)
        return (np.cumsum(g[backwards], axis=axis)[backwards],)


class Var(Op):
    """Σ (x - mean x)² / (n - ddof) over ``axis`` ; vjp: g · 2(x - mean x) / (n - ddof)"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False, ddof=0):
        return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, ddof=0):
        scale = 2.0 / (_group_size(x.shape, axis) - ddof)
        centred = x - np.mean(x, axis=axis, keepdims=True)
        return (np.reshape(g, kept_shape(x.shape, axis)) * scale * centred,)


class Std(Op):
    """√var x over ``axis`` ; vjp: g · (x - mean x) / ((n - ddof) · out), 0 where out = 0"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False, ddof=0):
        return np.std(x, axis=axis, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, ddof=0):
        # A constant group (std 0) is a kink, like |x| at 0: its gradient is taken as 0 (as
        # for norm), not the 0/0 = NaN of the formula.
        kept = kept_shape(x.shape, axis)
        std = np.reshape(out, kept)
        flat = np.equal(std, 0)
        centred = x - np.mean(x, axis=axis, keepdims=True)
        share = np.reshape(g, kept) / ((_group_size(x.shape, axis) - ddof) * np.where(flat, 1, std))
        return (np.where(flat, 0.0, share * centred),)


class Norm(Op):
    """√Σ x² over ``axis`` (the vector 2-norm; over two axes the Frobenius norm) ;
    vjp: g · x / out, 0 where out = 0 (as PyTorch)"""

    hint = _AXIS_HINT

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False):
        kept = kept_shape(x.shape, axis)
        norm = np.reshape(out, kept)
        zero = np.equal(norm, 0)
        return (np.where(zero, 0.0, np.reshape(g, kept) * x / np.where(zero, 1, norm)),)


class Max(Op):
    """max of x over ``axis`` (and ``initial``, if given) ;
    vjp: g shared equally by the elements that tie for the max (initial counts as one)"""

    hint = _AXIS_HINT + "; an empty axis has no maximum (give initial)"
    code = "xp.max({0}, axis={axis}, keepdims={keepdims})"

    @staticmethod
    def forward(x, axis=None, keepdims=False, initial=None):
        if initial is None:
            return np.max(x, axis=axis, keepdims=keepdims)
        return np.max(x, axis=axis, keepdims=keepdims, initial=initial)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, initial=None):
        return (_share_among_ties(g, out, x, axis, initial),)


class Min(Op):
    """min of x over ``axis`` (and ``initial``, if given) ;
    vjp: g shared equally by the elements that tie for the min (initial counts as one)"""

    hint = _AXIS_HINT + "; an empty axis has no minimum (give initial)"
    code = "xp.min({0}, axis={axis}, keepdims={keepdims})"

    @staticmethod
    def forward(x, axis=None, keepdims=False, initial=None):
        if initial is None:
            return np.min(x, axis=axis, keepdims=keepdims)
        return np.min(x, axis=axis, keepdims=keepdims, initial=initial)

    @staticmethod
    def vjp(g, out, x, axis=None, keepdims=False, initial=None):
        return (_share_among_ties(g, out, x, axis, initial),)


def _share_among_ties(g, out, x, axis, initial=None):
    """g sent to the elements of x equal to the extreme ``out``, split equally among ties
    (``initial``, a constant, takes its share where it ties, and all of g where it wins)."""
    kept = kept_shape(x.shape, axis)
    extreme = np.reshape(out, kept)
    ties = np.equal(x, extreme)
    count = np.sum(ties, axis=axis, keepdims=True)
    if initial is not None:
        count = count + np.equal(extreme, initial)
    return np.reshape(g, kept) * (ties / np.maximum(count, 1))


# -- shapes and indexing ------------------------------------------------------------------------


class Transpose(Op):
    """xᵀ, or x with its axes permuted by ``axes`` ; vjp: g permuted back"""

    symbol = "ᵀ"
    scalar_inputs = True
    hint = "axes must list every axis of the input exactly once, e.g. (1, 0, 2) for 3-D input"
    # permute_dims: the Array API's name (no .transpose method there; .T is 2-D only)
    code = "xp.permute_dims({0}, {axes})"

    @staticmethod
    def forward(x, axes=None):
        return x.transpose(axes)  # the method: np.transpose's dispatch costs 5x more

    @staticmethod
    def vjp(g, out, x, axes=None):
        # argsort inverts a permutation only once negative axes are made non-negative.
        inverse = (
            None if axes is None else tuple(int(a) for a in np.argsort([a % x.ndim for a in axes]))
        )
        return (g.transpose(inverse),)


class Reshape(Op):
    """x with a new ``shape`` (same elements, C order) ; vjp: g reshaped to x's shape"""

    scalar_inputs = True
    hint = "the new shape must hold exactly as many elements as the input (one -1 may stand in)"
    code = "xp.reshape({0}, {shape})"

    @staticmethod
    def forward(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def vjp(g, out, x, shape):
        return (np.reshape(g, x.shape),)


class BroadcastTo(Op):
    """x repeated along new or length-1 axes up to ``shape`` ; vjp: g summed back to x's shape"""

    name = "broadcast_to"
    hint = _BROADCAST_HINT
    code = "xp.broadcast_to({0}, {shape})"

    @staticmethod
    def forward(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def vjp(g, out, x, shape):
        return (unbroadcast(g, x.shape),)


class Astype(Op):
    """x converted to ``dtype`` (float32 or float64) ; vjp: g converted back to x's dtype"""

    code = "xp.astype({0}, {dtype})"  # the standard's function (no .astype method there)

    @staticmethod
    def forward(x, dtype):
        return x.astype(dtype)

    @staticmethod
    def vjp(g, out, x, dtype):
        return (Astype(g, dtype=x.dtype),)


class Concatenate(Op):
    """x₀, x₁, … joined along ``axis`` ; vjp: g cut back into the inputs' slices"""

    hint = "every input must have the same shape except along axis, and at least one dimension"

    @staticmethod
    def forward(*xs, axis=0):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def result_shape(*shapes, axis=0, **attrs):
        joined = list(shapes[0])  # the elements of all the inputs, joined along axis
        joined[axis] = sum(shape[axis] for shape in shapes)
        return tuple(joined)

    @staticmethod
    def vjp(g, out, *xs, axis=0):
        before = (slice(None),) * (axis % out.ndim)
        ends = [int(end) for end in np.cumsum([x.shape[axis] for x in xs])]
        slices = [
            (*before, slice(end - x.shape[axis], end)) for x, end in zip(xs, ends, strict=True)
        ]
        return tuple(g[index] for index in slices)


class Stack(Op):
    """x₀, x₁, … stacked along a new ``axis`` ; vjp: g's slices along that axis"""

    hint = "every input must have the same shape"

    @staticmethod
    def forward(*xs, axis=0):
        return np.stack(xs, axis=axis)

    @staticmethod
    def result_shape(*shapes, axis=0, **attrs):
        stacked = list(shapes[0])
        stacked.insert(axis if axis >= 0 else len(stacked) + 1 + axis, len(shapes))
        return tuple(stacked)

    @staticmethod
    def vjp(g, out, *xs, axis=0):
        before = (slice(None),) * (axis % out.ndim)
        return tuple(g[index] for index in [(*before, i) for i in range(len(xs))])


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(Op):
    """x[index], NumPy indexing (ints, slices, None, ..., integer or boolean arrays) ;
    vjp: g added into zeros shaped like x at index (repeated indices add up)"""

    name = "getitem"
    symbol = "[ ]"
    hint = (
        "each index must fit its axis (-n to n-1 for an axis of length n), and a boolean "
        "mask must match the shape of the axes it selects"
    )
    code = "{0}[{index}]"

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def result_shape(x_shape, index=(), **attrs):
        # An integer array index picks one slice per element, repeats included.
        items = index if isinstance(index, tuple) else (index,)
        arrays = [np.shape(item) for item in items if isinstance(item, (list, np.ndarray))]
        picked = np.broadcast_shapes(*arrays) if arrays else ()
        return (*picked, *x_shape[len(items) :])

    @staticmethod
    def vjp(g, out, x, index):
        return (IndexAdd(g, index=index, shape=x.shape),)


class IndexAdd(Op):
    """zeros of ``shape`` with v added at ``index`` (repeats add up), the adjoint of x[index] ;
    vjp: g[index], summed over the positions v was broadcast to"""

    name = "index_add"
    hint = GetItem.hint

    @staticmethod
    def forward(v, index, shape):
        total = np.zeros(shape, dtype=v.dtype)
        if _is_basic(index):
            total[index] = v  # basic indices name each element once
        else:
            np.add.at(total, index, v)  # an integer array may name one element several times
        return total

    @staticmethod
    def vjp(g, out, v, index, shape):
        # v may broadcast over the positions (index_add(2.0, [0, 2], (3,)) adds 2 twice): its
        # gradient sums over them. The pass fits to the output's shape, not the positions'.
        return (unbroadcast(g[index], v.shape),)


#: Every built-in op, in the order of this table (derived: each Op class defined here).
BUILTIN_OPS: tuple[type[Op], ...] = tuple(_builtin_ops)
__all__ += [op.__name__ for op in BUILTIN_OPS]


def check_op_class(op: Any) -> None:
    """Raise ``OpError`` unless ``op`` is an ``Op`` subclass with a forward of its own."""
    if not (isinstance(op, type) and issubclass(op, Op)):
        raise OpError(
            f"apply() takes an Op subclass as its first argument, got {op!r}; "
            "define `class MyOp(compgraph.Op)` with static forward and vjp methods"
        )
    if op.forward is Op.forward:
        raise OpError(f"op {op.name!r} ({op.__name__}) defines no forward(*inputs, **attrs)")
