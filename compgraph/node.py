"""``Node``: a NumPy array that remembers how it was computed, and ``apply``, which records ops.

A node is plain data: its ``value``, the ``op`` class that produced it, its ``parents`` (an
ordered tuple, so ``x - y`` and ``a * a`` keep their operands), the op's ``attrs`` and a
creation counter ``id`` (a node is always created after its parents, so sorting by ``id`` is a
topological order). There is no maths here: that lives in ``compgraph.ops``.

Nodes take part in NumPy's dispatch protocols: ``np.exp(x)``, ``np.sum(x, axis=0)`` and
``ndarray @ x`` on a Node call the compgraph function registered for that NumPy function in
``NUMPY_FUNCTIONS`` (filled by ``compgraph.functions``); functions that only read data
(comparisons, ``np.shape``, ``np.any``, ``np.argmax``, ...) answer on the values; and a NumPy
function with no op raises a ``TypeError`` that names it, never an object array of Nodes.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import itertools
import math
import operator
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from compgraph import autodiff, numerics, ops
from compgraph.errors import DTypeError, NotDifferentiableError, OpError, ShapeError, TraceError
from compgraph.graph import graph_with_gradient_graphs
from compgraph.values import (
    KEPT_DTYPES,
    Recorded,
    as_axes,
    as_flag,
    as_float_array,
    as_float_dtype,
    as_shape,
    conversion_refusal,
    masked_array_error,
    preview,
    trace_refusal,
)

__all__ = [
    "DISPLAY",
    "NUMPY_FUNCTIONS",
    "Node",
    "apply",
    "broadcast_leaf",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "normalize_index",
    "recording_tests",
    "traced_tests",
]

_NO_ATTRS: dict[str, Any] = {}
_new_node = object.__new__
value_of = operator.attrgetter("_value")
requires_grad_of = operator.attrgetter("requires_grad")

#: NumPy function or ufunc -> the compgraph function that records it on Nodes (np.exp ->
#: compgraph.exp). Filled by ``compgraph.functions`` from each op function's ``numpy=``.
NUMPY_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}

#: NumPy functions that are piecewise constant (comparisons, sign, tests): on Nodes they
#: compute on the values and return plain arrays. Their derivative is 0 wherever it exists,
#: so no gradient is lost, and vjps can use them on arrays and Nodes alike.
_ON_VALUES = frozenset(
    {
        np.equal,
        np.not_equal,
        np.less,
        np.less_equal,
        np.greater,
        np.greater_equal,
        np.sign,
        np.isfinite,
        np.isnan,
        np.isinf,
        np.signbit,
        np.logical_and,
        np.logical_or,
        np.logical_not,
        np.logical_xor,
    }
)

#: NumPy functions that only read a node's data (its shape, or tests and positions of its
#: values): on Nodes they answer on the values, as on arrays, with plain arrays or numbers.
#: Nothing differentiable comes out of them (their derivative is 0, or they are not numbers).
_READS_VALUES = frozenset(
    {
        np.shape,
        np.ndim,
        np.size,
        np.zeros_like,
        np.ones_like,
        np.isclose,
        np.allclose,
        np.any,
        np.all,
        np.argmax,
        np.argmin,
        np.nonzero,
    }
)

#: A ufunc method on a Node: the compgraph op that does what it does, where there is one.
_UFUNC_METHOD_ADVICE: dict[tuple[np.ufunc, str], str] = {
    (np.add, "reduce"): "use compgraph.sum (np.sum)",
    (np.add, "accumulate"): "use compgraph.cumsum (np.cumsum)",
    (np.add, "at"): "use compgraph.index_add (x[index] reads; index_add adds into zeros)",
    (np.add, "outer"): "broadcast instead: x[:, None] + y",
    (np.multiply, "reduce"): "use compgraph.prod (np.prod)",
    (np.multiply, "outer"): "broadcast instead: x[:, None] * y, or cg.einsum('i,j->ij', x, y)",
    (np.maximum, "reduce"): "use compgraph.max (np.max)",
    (np.minimum, "reduce"): "use compgraph.min (np.min)",
    (np.logaddexp, "reduce"): "use compgraph.logsumexp",
}

#: ``array[()]``: a NumPy scalar for a 0-d array (see ``Op.scalar_inputs``), a view of the
#: whole array otherwise; a C-level call, which matters on the scalar hot path.
scalar_or_view = operator.itemgetter(())

_creation_counter = itertools.count()

#: How Jupyter shows a node: format ("svg") -> a function of the node returning the text.
#: Filled by the pictures room when it is imported (``import compgraph`` does), since the
#: engine imports no room; without it a node shows as its repr.
DISPLAY: dict[str, Callable[[Node], str]] = {}


class _GradMode(threading.local):
    """Per thread, so that no_grad() in one thread never stops another from recording."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``, where ops record no graph."""
    return _grad_mode.enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Compute values without recording a graph (for evaluation and parameter updates).

    Example:
        >>> import compgraph as cg
        >>> w = cg.Node(2.0)
        >>> with cg.no_grad():
        ...     y = w * 3
        >>> y.requires_grad, y.parents
        (False, ())
    """
    previous = _grad_mode.enabled
    _grad_mode.enabled = False
    try:
        yield
    finally:
        _grad_mode.enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record the graph again inside ``no_grad()`` (for a gradient computed within it).

    Example:
        >>> import compgraph as cg
        >>> with cg.no_grad(), cg.enable_grad():
        ...     y = cg.Node(2.0) * 3
        >>> y.requires_grad
        True
    """
    previous = _grad_mode.enabled
    _grad_mode.enabled = True
    try:
        yield
    finally:
        _grad_mode.enabled = previous


class _TracedTests(threading.local):
    """The ops that record tests on values while ``cg.compile`` traces (None otherwise)."""

    ops: tuple[Any, Any] | None = None


_traced_tests = _TracedTests()


@contextlib.contextmanager
def recording_tests(test: Any, select: Any) -> Iterator[None]:
    """While tracing, record ``np.greater(x, 0)`` and its kind on Nodes that require a
    gradient as ``test`` ops (``test(*inputs, function=np.greater)``, 0/1 floats), and
    ``cg.where`` on such a test as ``select(x, y, condition)``: eagerly they are data read
    from the values, which a replay must compute afresh from each call's values."""
    previous = _traced_tests.ops
    _traced_tests.ops = (test, select)
    try:
        yield
    finally:
        _traced_tests.ops = previous


def traced_tests() -> tuple[Any, Any] | None:
    """The (test, select) ops of ``recording_tests`` in force, or None."""
    return _traced_tests.ops


def _traced(x: Any) -> bool:
    """Whether ``x`` is a traced value: one that requires a gradient, or a recorded test."""
    return isinstance(x, Node) and (x.requires_grad or x.op is not None)


class Node(Recorded):
    """A value in a computation graph: a float ndarray, its gradient, and where it came from.

    Args:
        value: a number, nested list or array. float64 and float32 arrays keep their dtype;
            integers, booleans and other real numbers become float64. The array is copied,
            so later changes to the caller's array never reach the node.
        name: a label used in error messages and pictures.
        requires_grad: whether ``backward()`` computes a gradient for this node. Data such
            as X and Y are constants: pass ``requires_grad=False``.

    Attributes:
        value: the forward value (a 0-d array for scalars); read-only, and fixed when the
            node is made (update a parameter with a new Node).
        grad: d(root)/d(node) after ``root.backward()``, shaped like ``value``; ``None``
            before. Read-only: it may share memory with other nodes' gradients. For a 0-d
            node it may be a NumPy scalar (``np.float64``), as NumPy reductions return.
            After ``backward(create_graph=True)`` it is a Node.
        op: the op class that made this node (``None`` for leaves).
        parents: the op's inputs, in order.
        attrs: the op's keyword arguments.
        id: creation order; parents always have smaller ids than their children.
        vjp_of: for a node that ``backward(create_graph=True)`` computed, the forward node
            whose vjp (or gradient bookkeeping) made it; unset otherwise.

    Nodes behave like NumPy arrays where that cannot go wrong: ``+ - * / ** @``, ``x.T``,
    ``x[i]``, ``np.exp(x)``, ``x.sum(axis=0)``, and ``bool(x)`` is ``bool(x.value)``.
    Comparison operators (``x == 1``, ``x > 0``) raise a TypeError: compare ``x.value``, or
    nodes with ``is``; ``np.greater(x, 0)`` compares the values, as data.

    Example:
        >>> import compgraph as cg
        >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
        >>> J = 3 * (a + b * c)
        >>> J.backward()
        >>> float(J.value), float(a.grad), float(b.grad), float(c.grad)
        (33.0, 3.0, 6.0, 9.0)
    """

    __slots__ = (
        "__weakref__",
        "_value",
        "attrs",
        "grad",
        "id",
        "name",
        "op",
        "parents",
        "requires_grad",
        "vjp_of",
    )

    _value: np.ndarray
    grad: Any
    name: str | None
    op: type[ops.Op] | None
    parents: tuple[Node, ...]
    attrs: dict[str, Any]
    requires_grad: bool
    id: int
    vjp_of: Node

    def __init__(self, value: ArrayLike, name: str | None = None, requires_grad: bool = True):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Node name must be a str, got {type(name).__name__} {name!r}")
        requires_grad = as_flag(requires_grad, "requires_grad")
        array = as_float_array(value, f"Node value{f' {name!r}' if name else ''}")
        # A read-only copy, so that w.value[0] = 10 cannot change a number a recorded graph
        # used: update parameters with a new Node (see the README).
        value = _read_only(np.array(array, copy=True))
        self._init_leaf(value, name, requires_grad)
        if not numerics.all_finite(value):
            numerics.report_nonfinite_value(self, None, ())

    def _init_leaf(self, value: np.ndarray, name: str | None, requires_grad: bool) -> None:
        """Fill the slots of a node no op produced (ops' outputs are filled in ``apply``)."""
        self._value = value
        self.grad = None
        self.name = name
        self.requires_grad = requires_grad
        self.op = None
        self.parents = ()
        self.attrs = _NO_ATTRS
        self.id = next(_creation_counter)

    @classmethod
    def record(cls, op: Any, inputs: tuple[Any, ...], attrs: dict[str, Any]) -> Node:
        """``op(*inputs, **attrs)`` recorded as a node (what calling an op class on nodes does)."""
        return apply(op, *inputs, **attrs)

    # -- what a node is ---------------------------------------------------------------------

    @property
    def value(self) -> np.ndarray:
        """The forward value: a read-only array (0-d for scalars), fixed when the node is made."""
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        # Graphs already built from this node would backpropagate through numbers their
        # forward pass never saw (and J.value would keep the old ones).
        raise AttributeError(
            f"the value of {self.describe()} cannot be rebound: graphs built from it would "
            "get gradients of numbers their forward pass never used. Make a new node "
            "instead, e.g. w = cg.Node(w.value - lr * w.grad, name='w')"
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.value.dtype

    @property
    def is_leaf(self) -> bool:
        """True for nodes no op produced: parameters, data and constants."""
        return self.op is None

    def item(self) -> float:
        """The value of a one-element node as a Python float."""
        _check_conversion(self, "node.item()")
        return float(self.value.item())

    def __float__(self) -> float:
        _check_conversion(self, "float(node)")
        return float(self.value)

    def __bool__(self) -> bool:
        _check_conversion(self, "bool(node) (an if or while on it)", branch=True)
        if self.value.size != 1:
            raise ValueError(
                f"the truth value of {self.describe()} is ambiguous, as for NumPy arrays; "
                "use (node.value > 0).any() or .all(), or compare node.value"
            )
        return bool(self.value)

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise TypeError(f"len() of {self.describe()}: a 0-d node has no length")
        return len(self.value)

    def __iter__(self) -> Iterator[Node]:
        """The node's rows ``x[0], x[1], ...``, each recorded as an indexing op, as NumPy."""
        for i in range(len(self)):
            yield self[i]

    def describe(self) -> str:
        """How errors and warnings name this node: its name (or op), id and shape."""
        if self.name is not None:
            label = repr(self.name)
        elif self.op is not None:
            label = f"unnamed {self.op.name} result #{self.id}"
        elif not self.requires_grad:
            label = "constant" + (f" {self.value.item():g}" if self.value.size == 1 else "")
        else:
            label = f"unnamed leaf #{self.id}"
        return f"{label} of shape {self.value.shape}"

    def __repr__(self) -> str:
        fields = [f"name={self.name!r}"] if self.name is not None else []
        if self.op is not None:
            fields.append(f"op={self.op.name}")
        if self.value.size == 1:
            fields.append(f"value={self.value.item():.6g}")
            if self.grad is not None:
                fields.append(f"grad={self.grad.item():.6g}")
        else:
            fields.append(f"shape={self.value.shape}")
        if self.value.dtype != np.float64:
            fields.append(f"dtype={self.value.dtype}")
        if not self.requires_grad:
            fields.append("requires_grad=False")
        return f"Node({', '.join(fields)})"

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a node as the picture of its graph (see ``compgraph.to_svg``)."""
        draw = DISPLAY.get("svg")
        return None if draw is None else draw(self)

    # -- backpropagation ----------------------------------------------------------------------

    def backward(self, grad: ArrayLike | None = None, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Each call computes gradients afresh and *replaces* the ``.grad`` of every node in
        the graph, so calling it twice gives the same numbers twice (no stale
        accumulation). To combine losses, backpropagate their sum.

        Args:
            grad: the seed d(output)/d(self), shaped like ``self``. Optional when ``self``
                has one element (the seed is then 1).
            create_graph: record the backward pass itself, so that every ``.grad`` is a Node
                that can be computed with and differentiated again (second and higher
                derivatives). Keep a reference to a gradient Node you want to use: the next
                ``backward()`` replaces ``.grad`` again.

        Raises:
            BackwardError: ``self`` has several elements and no seed was given, or nothing
                in the graph requires a gradient.
            ShapeError: the seed's shape differs from ``self``'s.
            OpError: an op's vjp breaks its contract, or (with ``create_graph``) cannot be
                differentiated; the message names the op.
        """
        autodiff.backward(self, grad, create_graph=create_graph)

    # -- copies and pickles, without recursion ------------------------------------------------
    # The default protocols walk parents recursively and overflow Python's stack past a few
    # hundred ops; these flatten the graph in creation order instead, so a copy has the
    # same structure (shared inputs stay shared) at any depth. Gradients that are Nodes
    # (create_graph=True) join the flattening, since their graphs hold the nodes whose
    # gradients they are: pickled on their own, that cycle recursed. ``vjp_of`` is not kept.

    def __reduce__(self) -> tuple[Any, ...]:
        order = graph_with_gradient_graphs(self)
        position = {node: i for i, node in enumerate(order)}
        records = [
            (
                n.value,
                _NodeAt(position[n.grad]) if isinstance(n.grad, Node) else n.grad,
                n.name,
                n.requires_grad,
                n.op,
                [position[p] for p in n.parents],
                n.attrs,
            )
            for n in order
        ]
        return (_rebuild_graph, (records, position[self]))

    def __copy__(self) -> Node:
        """A shallow copy: the same value, gradient, op and parents, a new identity."""
        twin = _new_node(Node)
        for field in ("_value", "grad", "name", "requires_grad", "op", "parents", "attrs"):
            setattr(twin, field, getattr(self, field))
        twin.id = next(_creation_counter)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Node:
        order = graph_with_gradient_graphs(self)
        made = []
        for node in order:
            if id(node) in memo:
                continue
            twin = _new_node(Node)
            twin._value = _read_only(node.value.copy())
            made.append((node, twin))
            twin.name = node.name
            twin.requires_grad = node.requires_grad
            twin.op = node.op
            twin.parents = tuple(memo[id(parent)] for parent in node.parents)
            twin.attrs = copy.deepcopy(node.attrs, memo) if node.attrs else _NO_ATTRS
            twin.id = next(_creation_counter)
            memo[id(node)] = twin
        for node, twin in made:  # a gradient Node may be younger than the node it belongs to
            twin.grad = copy.deepcopy(node.grad, memo)
        return memo[id(self)]  # type: ignore[no-any-return]

    def detach(self) -> Node:
        """A constant with the same value (shared, not copied) and name, cut from the graph."""
        node = _new_node(Node)
        node._init_leaf(self.value, self.name, False)
        return node

    # -- operators, so formulas read as maths -------------------------------------------------

    def __add__(self, other: Any) -> Node:
        return apply(ops.Add, self, other)

    def __radd__(self, other: Any) -> Node:
        return apply(ops.Add, other, self)

    def __sub__(self, other: Any) -> Node:
        return apply(ops.Sub, self, other)

    def __rsub__(self, other: Any) -> Node:
        return apply(ops.Sub, other, self)

    def __mul__(self, other: Any) -> Node:
        return apply(ops.Mul, self, other)

    def __rmul__(self, other: Any) -> Node:
        return apply(ops.Mul, other, self)

    def __truediv__(self, other: Any) -> Node:
        return apply(ops.Div, self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return apply(ops.Div, other, self)

    def __pow__(self, other: Any) -> Node:
        return apply(ops.Pow, self, other)

    def __rpow__(self, other: Any) -> Node:
        return apply(ops.Pow, other, self)

    def __matmul__(self, other: Any) -> Node:
        return apply(ops.Matmul, self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return apply(ops.Matmul, other, self)

    def __neg__(self) -> Node:
        return apply(ops.Neg, self)

    def __pos__(self) -> Node:
        return self

    def __abs__(self) -> Node:
        return apply(ops.Abs, self)

    # Comparison operators refuse: `loss == 0` or `node in [a, b]` would otherwise compare
    # values where identity was meant (or the reverse), without a word. NumPy's comparison
    # functions (np.greater(x, 0)) compute on the values, as data. Hashing is by identity.
    __hash__ = Recorded.__hash__

    def __eq__(self, other: object) -> Any:
        raise _comparison_error(self, "==")

    def __ne__(self, other: object) -> Any:
        raise _comparison_error(self, "!=")

    def __lt__(self, other: Any) -> Any:
        raise _comparison_error(self, "<")

    def __le__(self, other: Any) -> Any:
        raise _comparison_error(self, "<=")

    def __gt__(self, other: Any) -> Any:
        raise _comparison_error(self, ">")

    def __ge__(self, other: Any) -> Any:
        raise _comparison_error(self, ">=")

    # -- NumPy's methods, where compgraph has the op ----------------------------------------
    # The rule: a Node has an ndarray method exactly when a compgraph function of that name
    # exists (tests/test_registry.py checks it). Each goes through NumPy's dispatch to that
    # function, so its arguments mean what they mean for arrays.

    @property
    def T(self) -> Node:  # noqa: N802 - NumPy's name
        """The transpose (axes reversed), as ``ndarray.T``."""
        return apply(ops.Transpose, self)

    def transpose(self, *axes: Any) -> Node:
        """``x.transpose()``, ``x.transpose(1, 0)`` or ``x.transpose((1, 0))``, as NumPy."""
        permutation: Any = axes
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            permutation = axes[0]
        if len(axes) == 0:
            permutation = None  # x.transpose() reverses the axes, as x.T does
        return apply(ops.Transpose, self, axes=as_axes(permutation))

    def reshape(self, *shape: Any) -> Node:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as NumPy accepts both."""
        target = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape, self, shape=as_shape(target))

    def __getitem__(self, index: Any) -> Node:
        """``x[0]``, ``x[:, 1:3]``, ``x[[0, 0, 2]]``, ``x[x.value > 0]``: NumPy indexing."""
        return apply(ops.GetItem, self, index=normalize_index(index))

    def sum(self, axis: Any = None, keepdims: bool = False) -> Node:
        return cast(Node, np.sum(self, axis=axis, keepdims=keepdims))

    def mean(self, axis: Any = None, keepdims: bool = False) -> Node:
        return cast(Node, np.mean(self, axis=axis, keepdims=keepdims))

    def prod(self, axis: Any = None, keepdims: bool = False) -> Node:
        return cast(Node, np.prod(self, axis=axis, keepdims=keepdims))

    def cumsum(self, axis: Any = None) -> Node:
        return cast(Node, np.cumsum(self, axis=axis))

    def var(self, axis: Any = None, *, ddof: float = 0, keepdims: bool = False) -> Node:
        return cast(Node, np.var(self, axis=axis, ddof=ddof, keepdims=keepdims))

    def std(self, axis: Any = None, *, ddof: float = 0, keepdims: bool = False) -> Node:
        return cast(Node, np.std(self, axis=axis, ddof=ddof, keepdims=keepdims))

    def max(self, axis: Any = None, keepdims: bool = False) -> Node:
        return cast(Node, np.max(self, axis=axis, keepdims=keepdims))

    def min(self, axis: Any = None, keepdims: bool = False) -> Node:
        return cast(Node, np.min(self, axis=axis, keepdims=keepdims))

    def clip(self, min: Any = None, max: Any = None) -> Node:  # noqa: A002 - NumPy's names
        return cast(Node, np.clip(self, min, max))

    def astype(self, dtype: Any) -> Node:
        """The node converted to float32 or float64, recorded (gradients convert back)."""
        return apply(ops.Astype, self, dtype=as_float_dtype(dtype))

    # -- NumPy's dispatch protocols -------------------------------------------------------

    @property
    def _data(self) -> Any:
        # A masked array computing with a Node (masked + x) asks it for ``_data`` before
        # converting it with np.array: the mask is what is lost, so say so, not "use
        # node.value" (x + masked already says it, through the ufunc protocol).
        raise masked_array_error(f"the operand computing with {self.describe()}")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            advice = _UFUNC_METHOD_ADVICE.get(
                (ufunc, method),
                "compgraph has no op for it; compute with node.value for a constant result, "
                "or build it from compgraph's ops (or add an op: subclass compgraph.Op)",
            )
            raise NotDifferentiableError(
                f"numpy.{ufunc.__name__}.{method} on a Node is not supported: {advice}"
            )
        if kwargs.get("out") is not None:
            raise TypeError(_IN_PLACE_MESSAGE.format(f"numpy.{ufunc.__name__}(..., out=...)"))
        if ufunc in _ON_VALUES:
            recording = _traced_tests.ops
            if recording is not None and not kwargs and any(map(_traced, inputs)):
                # A trace replays this test on each call's values, rather than freeze it.
                test = apply(recording[0], *inputs, function=ufunc)
                # Data, as the eager test's array is: no gradient flows through it, not even
                # the +0 that would turn a -0.0 gradient into +0.0.
                test.requires_grad = False
                return test
            return ufunc(*map(_value, inputs), **kwargs)
        return _call_numpy_function(ufunc, inputs, kwargs)

    def __array_function__(
        self, func: Callable[..., Any], types: Any, args: Any, kwargs: dict[str, Any]
    ) -> Any:
        if func in _READS_VALUES:
            return func(*map(_value, args), **{key: _value(v) for key, v in kwargs.items()})
        if kwargs.get("out") is not None:
            raise TypeError(_IN_PLACE_MESSAGE.format(f"numpy.{func.__name__}(..., out=...)"))
        return _call_numpy_function(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise NotDifferentiableError(
            f"converting {self.describe()} to a NumPy array would cut it from the graph and "
            "lose its gradient; use node.value for its array (a constant from then on)"
        )


_IN_PLACE_MESSAGE = (
    "{} cannot write into an existing array: compgraph records each result as a new node "
    "(and a graph holds every value it used); assign the result instead: y = np.exp(x)"
)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # half the cost of array.flags.writeable = False
    return array


class _NodeAt(int):
    """In a pickled graph, a gradient that is a Node: the position of its record."""


def _rebuild_graph(records: list[tuple[Any, ...]], root: int = -1) -> Node:
    """The graph ``Node.__reduce__`` flattened, rebuilt in creation order; node ``root``."""
    nodes: list[Node] = []
    for value, grad, name, requires_grad, op, parents, attrs in records:
        node = _new_node(Node)
        node._value = _read_only(value)
        node.grad = grad  # a gradient Node's _NodeAt position until all nodes exist
        node.name = name
        node.requires_grad = requires_grad
        node.op = op
        node.parents = tuple(nodes[i] for i in parents)
        node.attrs = attrs or _NO_ATTRS
        node.id = next(_creation_counter)
        nodes.append(node)
    for node in nodes:
        if type(node.grad) is _NodeAt:
            node.grad = nodes[node.grad]
    return nodes[root]


def _check_conversion(node: Node, conversion: str, branch: bool = False) -> None:
    """Refuse a conversion to a number where it would silently lose a gradient, or, while a
    trace records (``cg.compile``), freeze a value into a replay; ``branch``: a truth test,
    refused only while tracing (eagerly a branch loses no gradient)."""
    traced_by = trace_refusal()
    if traced_by is not None and node.requires_grad:
        raise TraceError(
            f"{traced_by}: {conversion} on {node.describe()} reads a traced value in Python, "
            "so the choice made now would be replayed for every later input. Choose per "
            "element with cg.where(condition, x, y), or pass the deciding value as a static "
            "argument (a Python int, bool or str, which traces again when it changes)"
        )
    if branch:
        return
    refused_by = conversion_refusal()
    if refused_by is not None and node.requires_grad:
        raise NotDifferentiableError(
            f"{conversion} on {node.describe()} inside {refused_by}: the number would be a "
            "constant cut from the graph (math.sin(x) and np.float64(x) convert too), so part "
            "of the derivative would be lost without a word. Compute with compgraph's ops "
            "(cg.sin, cg.exp, x * x, ...); read node.value only for a deliberate constant"
        )


def _comparison_error(node: Node, operator: str) -> TypeError:
    return TypeError(
        f"{node.describe()} {operator} ...: comparing Nodes is ambiguous (their values, or "
        f"which node?); compare values with node.value {operator} ..., and nodes with `is`"
    )


def _value(x: Any) -> Any:
    return x.value if isinstance(x, Node) else x


def _call_numpy_function(func: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Run the compgraph function registered for NumPy's ``func`` on ``args``."""
    function = NUMPY_FUNCTIONS.get(func)
    module = getattr(func, "__module__", None) or "numpy"
    name = f"{module.replace('numpy._core', 'numpy')}.{getattr(func, '__name__', func)}"
    if function is None:
        raise NotDifferentiableError(
            f"{name} has no compgraph op, so it cannot take a Node; compute with node.value "
            "for a constant result, or add the op: subclass compgraph.Op with forward and vjp "
            "(see the 'Add an op' guide) and call it on the nodes"
        )
    if kwargs:
        try:
            inspect.signature(function).bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(
                f"{name} on a Node runs compgraph.{function.__name__}{inspect.signature(function)}"
                f", which does not take these arguments: {error}"
            ) from None
    return function(*args, **kwargs)


def broadcast_leaf(value: np.ndarray, name: str | None = None) -> Node:
    """A leaf Node holding ``value``, a read-only broadcast view, shared rather than copied.

    ``Node(value)`` copies, which would turn a view of one number broadcast to the shape of
    a data set larger than memory into that data set: cg.compile traces with such
    stand-ins when the real data live elsewhere (a Dask array, issue 21).

    Raises:
        ValueError: ``value`` is writeable or not a float32/float64 array.

    Example:
        >>> import numpy as np
        >>> X = broadcast_leaf(np.broadcast_to(np.float64(1.0), (1000, 1000)), "X")
        >>> X.shape, X.value.base is not None
        ((1000, 1000), True)
    """
    if type(value) is not np.ndarray or value.flags.writeable or value.dtype not in KEPT_DTYPES:
        raise ValueError(
            "broadcast_leaf takes a read-only float array (np.broadcast_to(...)); use Node(...) "
            "for other values"
        )
    node = _new_node(Node)
    node._init_leaf(value, name, True)
    return node


def normalize_index(index: Any) -> tuple[Any, ...]:
    """An index as a tuple, lists as arrays (``x[[0, 1]]`` is fancy indexing, as in NumPy)."""
    items = index if isinstance(index, tuple) else (index,)
    normalized = []
    for item in items:
        if isinstance(item, Node):
            raise DTypeError(
                f"index {item.describe()} is a Node; indices are not differentiable: "
                "index with its .value"
            )
        if isinstance(item, np.ma.MaskedArray):
            raise DTypeError(
                f"index {preview(item)} is a masked array, whose mask would be dropped: "
                "select with the unmasked entries (index.compressed()) instead"
            )
        if isinstance(item, list):
            # An empty list selects nothing, as in NumPy (np.asarray([]) would be float).
            item = np.asarray(item) if item else np.array([], dtype=np.intp)
        if isinstance(item, np.integer):
            item = int(item)
        normalized.append(item)
    return tuple(normalized)


def apply(op: type[ops.Op], *inputs: Any, **attrs: Any) -> Node:
    """Run ``op``'s forward on ``inputs`` and record the result as a new node.

    Inputs that are not Nodes (numbers, arrays) become constants. Arrays of up to
    ``SNAPSHOT_UP_TO`` (4096) elements are copied; larger ones are used as they are, as
    NumPy's own functions use them, so that data the size of X is not copied on every step:
    do not modify such an array in place before ``backward()`` has run, or wrap it in
    ``Node(array, requires_grad=False)``, which copies.
    The new node requires a gradient when any input does and recording is on (outside
    ``no_grad()``).

    Args:
        op: an ``Op`` subclass (built-in, such as ``compgraph.ops.Mul``, or your own).
        *inputs: the op's operands, in order.
        **attrs: the op's keyword arguments (e.g. ``axis`` for ``Sum``).

    Returns:
        The output node.

    Raises:
        ShapeError: the operands' shapes do not fit the op; names the op, the operands and
            their shapes.
        OpError: ``op`` is not an Op subclass, or its forward returns something other than a
            float array.

    Example:
        >>> import compgraph as cg
        >>> y = cg.apply(cg.ops.Mul, cg.Node(2.0), 4.0)
        >>> float(y.value)
        8.0
    """
    # The hot path of every forward pass, so it avoids comprehensions (a function call each
    # on Python 3.11) in favour of map() over C-level getters.
    nodes = inputs
    for x in inputs:
        if not isinstance(x, Node):
            nodes = _with_constants(inputs)
            break
    try:
        values = map(value_of, nodes)
        if op.scalar_inputs:
            values = map(scalar_or_view, values)
        out = op.forward(*values, **attrs) if attrs else op.forward(*values)  # no dict built
    # NumPy's shape complaints (AxisError included; OverflowError for an axis such as 10**20)
    except (ValueError, IndexError, OverflowError) as error:
        ops.check_op_class(op)
        if not op.builtin:
            # A user's forward may raise ValueError for reasons of its own: say what it
            # raised, on what, rather than presume the shapes are at fault.
            raise OpError(
                f"op {op.name!r} ({op.__name__}) forward raised {type(error).__name__}: "
                f"{error} (inputs: {', '.join(node.describe() for node in nodes)})"
            ) from error
        raise _shape_error(op, nodes, attrs, error) from None
    except (NotImplementedError, AttributeError, TypeError):
        ops.check_op_class(op)  # a clearer message when op is not a complete Op subclass
        raise
    out_type = type(out)
    if out_type is np.float64 or out_type is np.float32:
        finite = math.isfinite(out)
        out = np.asarray(out)  # values are arrays, also for scalars
    else:
        if out_type is not np.ndarray or out.dtype.char not in "fd":  # float32, float64
            out = _forward_result_as_array(op, out)
        finite = numerics.all_finite(out)
    out.setflags(write=False)  # as leaves' values (setflags: half the cost of .flags)
    node = _new_node(Node)
    node._value = out
    node.grad = None
    node.name = None
    node.id = next(_creation_counter)
    if _grad_mode.enabled and any(map(requires_grad_of, nodes)):
        node.requires_grad = True
        node.op = op
        node.parents = nodes
        node.attrs = attrs or _NO_ATTRS
    elif _traced_tests.ops is not None and any(x.op is not None for x in nodes):
        # While cg.compile traces, data computed from a traced test (a vjp's mask times a
        # constant) is recorded too, so the code replays it per call; it needs no gradient.
        node.requires_grad = False
        node.op = op
        node.parents = nodes
        node.attrs = attrs or _NO_ATTRS
    else:
        node.requires_grad = False
        node.op = None
        node.parents = ()
        node.attrs = _NO_ATTRS
    if not finite:
        numerics.report_nonfinite_value(node, op, nodes)
    return node


def _with_constants(inputs: tuple[Any, ...]) -> tuple[Node, ...]:
    """``inputs`` with every non-Node wrapped as a constant of its Node partners' dtype."""
    like = None
    for x in inputs:  # a loop, not a generator: this runs for every op with data operands
        if isinstance(x, Node):
            like = x._value.dtype
            break
    return tuple([x if isinstance(x, Node) else _constant(x, like) for x in inputs])


#: Arrays passed as operands are copied up to this many elements (see ``apply``).
SNAPSHOT_UP_TO = 4096
_python_number_arrays: dict[tuple[float, np.dtype], np.ndarray] = {}
_PYTHON_NUMBERS = (float, int, bool)


def _constant(value: Any, like_dtype: np.dtype | None) -> Node:
    """An operand that is not a Node (a number or an array), wrapped as a constant node."""
    if like_dtype is not None and type(value) in _PYTHON_NUMBERS:
        # A Python number takes its partner's dtype, as in NumPy: 2 * float32 stays float32.
        # Its 0-d array is shared read-only between uses: formulas repeat their numbers.
        # Zeros are left out, since -0.0 == 0.0 would share one sign (and 1/x tell them apart).
        key = (value, like_dtype)
        array = _python_number_arrays.get(key) if value else None
        if array is None:
            if len(_python_number_arrays) >= 4096:
                _python_number_arrays.clear()
            try:
                array = _python_number_arrays[key] = np.array(value, dtype=like_dtype)
            except OverflowError:
                raise DTypeError(
                    f"the constant {preview(value)} does not fit in {like_dtype}; "
                    "use a float (e.g. 1e300) or a smaller number"
                ) from None
            array.setflags(write=False)
    else:
        # No finiteness pass here: data the size of X would pay for one on every use. A
        # non-finite constant is blamed by name when an op's output turns non-finite.
        array = as_float_array(value)
        if array is value and array.size <= SNAPSHOT_UP_TO:
            # The caller's own small array: a copy costs less than the op, and then changing
            # the array in place before backward() cannot change the graph's numbers. Data
            # the size of X is used as it is (a copy per use would be a pass per step).
            array = _read_only(array.copy())
    node = _new_node(Node)
    node._init_leaf(array, None, False)
    return node


def _forward_result_as_array(op: type[ops.Op], out: Any) -> np.ndarray:
    # NumPy returns scalars (np.float64), not 0-d arrays, from operations on 0-d arrays.
    if isinstance(out, (np.generic, float)):
        out = np.asarray(out)
    if type(out) is not np.ndarray or out.dtype not in KEPT_DTYPES:
        raise OpError(
            f"op {op.name!r} forward returned {type(out).__name__}"
            f"{f' of dtype {out.dtype}' if isinstance(out, np.ndarray) else ''}; "
            "it must return a float64 or float32 NumPy array"
        )
    return out


def _shape_error(
    op: type[ops.Op], nodes: tuple[Node, ...], attrs: dict[str, Any], error: Exception
) -> ShapeError:
    operands = ", ".join(node.describe() for node in nodes)
    settings = ", ".join(f"{key}={value!r}" for key, value in attrs.items())
    return ShapeError(
        f"{op.name} cannot combine {operands}"
        + (f" with {settings}" if settings else "")
        + f": {error}"
        + (f". To fix: {op.hint}" if op.hint else "")
    )
