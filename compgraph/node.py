"""``Node``: a NumPy array that remembers how it was computed, and ``apply``, which records ops.

A node is plain data: its ``value``, the ``op`` class that produced it, its ``parents`` (an
ordered tuple, so ``x - y`` and ``a * a`` keep their operands), the op's ``attrs`` and a
creation counter ``id`` (a node is always created after its parents, so sorting by ``id`` is a
topological order). There is no maths here: that lives in ``compgraph.ops``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compgraph import numerics, ops
from compgraph.errors import DTypeError, ShapeError

__all__ = ["Node", "apply", "is_grad_enabled", "no_grad"]

_KEPT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_NO_ATTRS: dict[str, Any] = {}
_new_node = object.__new__
value_of = operator.attrgetter("value")
requires_grad_of = operator.attrgetter("requires_grad")

#: ``array[()]``: a NumPy scalar for a 0-d array (see ``Op.scalar_inputs``), a view of the
#: whole array otherwise; a C-level call, which matters on the scalar hot path.
scalar_or_view = operator.itemgetter(())

_creation_counter = itertools.count()


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


def _as_float_array(value: Any, what: str | None = None) -> np.ndarray:
    """``value`` as a float32/float64 array: integers and bools become float64.

    ``what`` names the value in errors (default: "operand <its repr>", built only on error,
    since repr of a large array costs more than the op it feeds).
    """
    if what is None:
        try:
            array = np.asarray(value)
        except ValueError:
            array = None
        if array is not None and array.dtype in _KEPT_DTYPES:
            return array
        what = f"operand {_preview(value)}"
    if isinstance(value, Node):
        raise DTypeError(
            f"{what} is already a Node ({value.describe()}); pass node.value for a copy of its "
            "array, or node.detach() for a constant"
        )
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested sequences
        raise DTypeError(
            f"{what} is not a rectangular array ({error}); give every row the same length"
        ) from None
    dtype = array.dtype
    if dtype in _KEPT_DTYPES:
        return array
    if dtype.kind in "biu" or dtype == np.float16:
        return array.astype(np.float64)
    if dtype.kind == "c":
        raise DTypeError(
            f"{what} is complex ({dtype}); compgraph differentiates real arrays only: pass "
            "the real and imaginary parts as separate nodes"
        )
    if dtype.kind == "f":
        raise DTypeError(f"{what} has dtype {dtype}; convert it to float64 or float32")
    raise DTypeError(
        f"{what} has dtype {dtype} ({type(value).__name__} {_preview(value)}), not numbers; "
        "give a real number, a nested list of numbers or a numeric NumPy array"
    )


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Node:
    """A value in a computation graph: a float ndarray, its gradient, and where it came from.

    Args:
        value: a number, nested list or array. float64 and float32 arrays keep their dtype;
            integers and booleans become float64. The array is copied, so later changes to
            ``value`` never reach the caller's array (and vice versa).
        name: a label used in error messages and pictures.
        requires_grad: whether ``backward()`` computes a gradient for this node. Data such
            as X and Y are constants: pass ``requires_grad=False``.

    Attributes:
        value: the forward value (a 0-d array for scalars).
        grad: d(root)/d(node) after ``root.backward()``, shaped like ``value``; ``None``
            before. Read-only: it may share memory with other nodes' gradients. For a 0-d
            node it may be a NumPy scalar (``np.float64``), as NumPy reductions return.
        op, parents, attrs: the op class that made this node (``None`` for leaves), its
            inputs in order, and the op's keyword arguments.
        id: creation order; parents always have smaller ids than their children.

    Example:
        >>> import compgraph as cg
        >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
        >>> J = 3 * (a + b * c)
        >>> J.backward()
        >>> float(J.value), float(a.grad), float(b.grad), float(c.grad)
        (33.0, 3.0, 6.0, 9.0)
    """

    __slots__ = (
        "attrs",
        "grad",
        "id",
        "name",
        "op",
        "parents",
        "requires_grad",
        "value",
    )

    # NumPy defers to our reflected operators (ndarray * Node -> Node.__rmul__) instead of
    # building an object array of Nodes element by element.
    __array_ufunc__ = None

    value: np.ndarray
    grad: np.ndarray | None
    name: str | None
    op: type[ops.Op] | None
    parents: tuple[Node, ...]
    attrs: dict[str, Any]
    requires_grad: bool
    id: int

    def __init__(self, value: ArrayLike, name: str | None = None, requires_grad: bool = True):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Node name must be a str, got {type(name).__name__} {name!r}")
        array = _as_float_array(value, f"Node value{f' {name!r}' if name else ''}")
        self._init_leaf(np.array(array, copy=True), name, bool(requires_grad))
        if not numerics.all_finite(self.value):
            numerics.report_nonfinite_value(self, None, ())

    def _init_leaf(self, value: np.ndarray, name: str | None, requires_grad: bool) -> None:
        """Fill the slots of a node no op produced (ops' outputs are filled in ``apply``)."""
        self.value = value
        self.grad = None
        self.name = name
        self.requires_grad = requires_grad
        self.op = None
        self.parents = ()
        self.attrs = _NO_ATTRS
        self.id = next(_creation_counter)

    # -- what a node is ---------------------------------------------------------------------

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
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def is_leaf(self) -> bool:
        """True for nodes no op produced: parameters, data and constants."""
        return self.op is None

    def item(self) -> float:
        """The value of a one-element node as a Python float."""
        return self.value.item()

    def __float__(self) -> float:
        return float(self.value)

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

    def _repr_svg_(self) -> str:
        """Jupyter shows a node as the picture of its graph (see ``compgraph.to_svg``)."""
        from compgraph.viz import to_svg

        return to_svg(self)

    # -- backpropagation ----------------------------------------------------------------------

    def backward(self, grad: ArrayLike | None = None) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Each call computes gradients afresh and *replaces* the ``.grad`` of every node in
        the graph, so calling it twice gives the same numbers twice (no stale
        accumulation). To combine losses, backpropagate their sum.

        Args:
            grad: the seed d(output)/d(self), shaped like ``self``. Optional when ``self``
                has one element (the seed is then 1).

        Raises:
            BackwardError: ``self`` has several elements and no seed was given, or nothing
                in the graph requires a gradient.
            ShapeError: the seed's shape differs from ``self``'s.
        """
        from compgraph.autodiff import backward

        backward(self, grad)

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

    @property
    def T(self) -> Node:  # noqa: N802 - NumPy's name
        """The transpose (axes reversed), as ``ndarray.T``."""
        return apply(ops.Transpose, self)

    def transpose(self, *axes: Any) -> Node:
        """``x.transpose()``, ``x.transpose(1, 0)`` or ``x.transpose((1, 0))``, as NumPy."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        if axes is not None and len(axes) == 0:
            axes = None  # x.transpose() reverses the axes, as x.T does
        return apply(ops.Transpose, self, axes=_normalize_axes(axes))

    def reshape(self, *shape: Any) -> Node:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as NumPy accepts both."""
        target = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape, self, shape=_normalize_shape(target))

    def __getitem__(self, index: Any) -> Node:
        """``x[0]``, ``x[:, 1:3]``, ``x[[0, 0, 2]]``, ``x[x.value > 0]``: NumPy indexing."""
        return apply(ops.GetItem, self, index=normalize_index(index))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        return apply(ops.Sum, self, axis=_normalize_axis(axis), keepdims=bool(keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        return apply(ops.Mean, self, axis=_normalize_axis(axis), keepdims=bool(keepdims))

    def exp(self) -> Node:
        return apply(ops.Exp, self)

    def log(self) -> Node:
        return apply(ops.Log, self)

    def sigmoid(self) -> Node:
        return apply(ops.Sigmoid, self)


def _normalize_axis(axis: Any) -> int | tuple[int, ...] | None:
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def _normalize_axes(axes: Any) -> tuple[int, ...] | None:
    return None if axes is None else tuple(int(a) for a in np.asarray(axes).reshape(-1))


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
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.integer):
            item = int(item)
        normalized.append(item)
    return tuple(normalized)


def _normalize_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def apply(op: type[ops.Op], *inputs: Any, **attrs: Any) -> Node:
    """Run ``op``'s forward on ``inputs`` and record the result as a new node.

    Inputs that are not Nodes (numbers, arrays) become constants. Arrays are used as they
    are, without a copy (as NumPy's own functions use them, and so that data the size of X
    is not copied on every step): do not modify such an array in place before
    ``backward()`` has run, or wrap it in ``Node(array, requires_grad=False)``, which copies.
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
        out = op.forward(*values, **attrs)
    except (ValueError, IndexError) as error:  # NumPy's shape complaints (AxisError included)
        ops.check_op_class(op)
        raise _shape_error(op, nodes, attrs, error) from None
    except (NotImplementedError, AttributeError, TypeError):
        ops.check_op_class(op)  # a clearer message when op is not a complete Op subclass
        raise
    out_type = type(out)
    if out_type is np.float64 or out_type is np.float32:
        finite = math.isfinite(out)
        out = np.asarray(out)  # values are arrays, also for scalars
    else:
        if out_type is not np.ndarray or out.dtype.kind != "f":
            out = _forward_result_as_array(op, out)
        finite = numerics.all_finite(out)
    node = _new_node(Node)
    node.value = out
    node.grad = None
    node.name = None
    node.id = next(_creation_counter)
    if _grad_mode.enabled and any(map(requires_grad_of, nodes)):
        node.requires_grad = True
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
    like = next((x.value.dtype for x in inputs if isinstance(x, Node)), None)
    return tuple([x if isinstance(x, Node) else _constant(x, like) for x in inputs])


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
                    f"the constant {_preview(value)} does not fit in {like_dtype}; "
                    "use a float (e.g. 1e300) or a smaller number"
                ) from None
            array.flags.writeable = False
    else:
        array = _as_float_array(value)
        if not numerics.all_finite(array):
            numerics.report(f"a constant operand {_preview(value)} is not finite")
    node = _new_node(Node)
    node._init_leaf(array, None, False)
    return node


def _forward_result_as_array(op: type[ops.Op], out: Any) -> np.ndarray:
    # NumPy returns scalars (np.float64), not 0-d arrays, from operations on 0-d arrays.
    if isinstance(out, (np.generic, float)):
        out = np.asarray(out)
    if not isinstance(out, np.ndarray) or out.dtype.kind != "f":
        raise ops.OpError(
            f"op {op.name!r} forward returned {type(out).__name__}"
            f"{f' of dtype {out.dtype}' if isinstance(out, np.ndarray) else ''}; "
            "it must return a float NumPy array"
        )
    return out


def _shape_error(
    op: type[ops.Op], nodes: tuple[Node, ...], attrs: dict, error: Exception
) -> ShapeError:
    operands = ", ".join(node.describe() for node in nodes)
    settings = ", ".join(f"{key}={value!r}" for key, value in attrs.items())
    return ShapeError(
        f"{op.name} cannot combine {operands}"
        + (f" with {settings}" if settings else "")
        + f": {error}"
        + (f". To fix: {op.hint}" if op.hint else "")
    )
