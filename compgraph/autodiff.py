"""Reverse mode: the backward pass and the functional ``grad`` / ``value_and_grad``.

``backward`` seeds the root with d(root)/d(root) = 1, walks the graph from the root back to
the leaves (reverse creation order), calls each op's vjp once per node, reduces every
gradient to its input's shape (undoing broadcasting, in this one place), checks it, and
adds it to the input's ``.grad``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from math import isfinite
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compgraph import numerics
from compgraph.errors import BackwardError, OpError, ShapeError
from compgraph.graph import ancestors, topological_order
from compgraph.node import Node, _as_float_array, requires_grad_of, scalar_or_view, value_of

__all__ = ["backward", "grad", "unbroadcast", "value_and_grad"]

FLOAT64 = np.dtype(np.float64)


def backward(root: Node, grad: ArrayLike | None = None) -> None:
    """Set ``node.grad = d(root)/d(node)`` for every node ``root`` depends on.

    Gradients are computed afresh on every call and replace earlier ones. See
    ``Node.backward`` for the arguments and errors.
    """
    if not root.requires_grad:
        raise BackwardError(
            f"{root.describe()} does not depend on any node that requires a gradient (it was "
            "built from constants only, or under no_grad()); create the parameters with "
            "requires_grad=True"
        )
    order = [node for node in topological_order(root) if node.requires_grad]
    for node in order:
        node.grad = None
    root.grad = _seed(root, grad)
    watch = numerics.geterr()["nonfinite"] != "ignore"
    if watch and not numerics.all_finite(root.grad):
        numerics.report(f"the seed gradient of {root.describe()} is not finite")
        watch = False
    ndarray, asarray, all_finite, float64 = np.ndarray, np.asarray, numerics.all_finite, np.float64
    # The loop below is the whole cost of backward on small arrays: plain loops, locals,
    # and the shape/dtype fit done inline when nothing needs fitting.
    with np.errstate(all="ignore"):  # kept gradients are checked below, the policy decides
        for node in reversed(order):
            g = node.grad
            if type(g) is ndarray:
                # The same array may be the gradient of several nodes (add's vjp passes g to
                # both inputs), so nobody may write into it.
                g.flags.writeable = False
            # Otherwise g is a NumPy scalar (np.float64) from scalar arithmetic (see
            # Op.scalar_inputs), kept as it is, as NumPy's own reductions return them:
            # immutable, and a quarter of the memory of a 0-d array.
            op = node.op
            if op is None:
                continue
            parents = node.parents
            out = node.value
            values = map(value_of, parents)
            if op.scalar_inputs:
                values = map(scalar_or_view, values)
                if out.ndim == 0:
                    out = out[()]
            elif type(g) is not ndarray:
                g = asarray(g)  # an op without scalar_inputs sees arrays only
            try:
                if op.vjp_needs_grad:
                    needs = tuple(map(requires_grad_of, parents))
                    grads = op.vjp(g, out, *values, needs_grad=needs, **node.attrs)
                else:
                    grads = op.vjp(g, out, *values, **node.attrs)
            except NotImplementedError:
                raise _no_vjp_error(node) from None
            if type(grads) is not tuple or len(grads) != len(parents):
                _check_vjp_result(node, grads)
            for parent, g_parent in zip(parents, grads, strict=True):
                if not parent.requires_grad:
                    continue
                value = parent.value
                # The scalar case needs no NumPy call at all: the hot path of scalar graphs.
                scalar = type(g_parent) is float64 and value.ndim == 0 and value.dtype is FLOAT64
                if not scalar and (
                    type(g_parent) is not ndarray
                    or g_parent.shape != value.shape
                    or g_parent.dtype != value.dtype
                ):
                    g_parent = _fit_to_input(g_parent, node, parents.index(parent))
                # A new array, never +=: the old one may be shared with another node.
                total = g_parent if parent.grad is None else parent.grad + g_parent
                parent.grad = total
                if watch and not (isfinite(total) if scalar else all_finite(total)):
                    _report_nonfinite_gradient(node, parent, g_parent)
                    watch = False


def _seed(root: Node, grad: ArrayLike | None) -> np.ndarray:
    if grad is None:
        if root.value.size != 1:
            raise BackwardError(
                f"backward() on {root.describe()} needs a seed: it has {root.value.size} "
                "elements, so d(output)/d(it) is not implied. Reduce it to a scalar first "
                "(e.g. y.sum() or y.mean()), or pass grad=<array of shape "
                f"{root.value.shape}> holding d(output)/d(y)"
            )
        value = root.value
        # d(root)/d(root) = 1; a NumPy scalar for a 0-d root, like every scalar gradient.
        return value.dtype.type(1) if value.ndim == 0 else np.ones_like(value)
    seed = np.array(_as_float_array(grad, "the seed gradient"), dtype=root.value.dtype)
    if seed.shape != root.value.shape:
        raise ShapeError(
            f"the seed gradient has shape {seed.shape}, but it seeds {root.describe()}; "
            "pass grad= shaped exactly like the node it seeds"
        )
    return seed


def _no_vjp_error(node: Node) -> OpError:
    op = node.op
    return OpError(
        f"op {op.name!r} ({op.__name__}) has no vjp, so {node.describe()} cannot be "
        "differentiated; define vjp(g, out, *inputs, **attrs) returning one gradient per input"
    )


def _check_vjp_result(node: Node, grads: Any) -> None:
    """Raise unless ``grads`` is a sequence of one gradient per input of ``node``."""
    op = node.op
    parents = node.parents
    is_sequence = isinstance(grads, (tuple, list))
    if is_sequence and len(grads) == len(parents):
        return
    got = f"{len(grads)} gradients" if is_sequence else type(grads).__name__
    raise OpError(
        f"op {op.name!r} ({op.__name__}) vjp returned {got} for {len(parents)} inputs at "
        f"{node.describe()}; return a tuple with one gradient per input (e.g. (g_x,))"
    )


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``g`` summed over the axes that broadcasting ``shape`` up to ``g.shape`` added or stretched.

    The adjoint of ``np.broadcast_to(x, g.shape)`` for ``x`` of ``shape``: Σ over the leading
    axes broadcasting prepended and over every axis where ``shape`` has 1 and ``g`` does not.

    Args:
        g: a gradient in the broadcast shape (or already in ``shape``).
        shape: the shape of the input the gradient belongs to.

    Returns:
        An array of exactly ``shape``, or ``None`` when ``shape`` does not broadcast to
        ``g.shape`` (so no reduction can fit ``g`` to it).

    Example:
        >>> import numpy as np
        >>> from compgraph.autodiff import unbroadcast
        >>> unbroadcast(np.ones((4, 2, 3)), (3, 1)) is None
        True
        >>> unbroadcast(np.ones((4, 2, 3)), (1, 3)).tolist()
        [[8.0, 8.0, 8.0]]
    """
    if g.shape == shape:
        return g
    if not shape:  # a scalar broadcast over everything (the bias b): no axes to work out
        return np.asarray(g.sum())
    extra = g.ndim - len(shape)
    if extra < 0 or not all(n == 1 or n == m for n, m in zip(shape, g.shape[extra:], strict=True)):
        return None
    stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    return np.sum(g, axis=tuple(range(extra)) + stretched).reshape(shape)


def _fit_to_input(g: Any, node: Node, position: int) -> np.ndarray:
    """``g`` summed over the axes broadcasting added, checked against the input's shape."""
    parent = node.parents[position]
    shape = parent.value.shape
    if g is None:
        op = node.op
        raise OpError(
            f"op {op.name!r} vjp returned None for input #{position} {parent.describe()}, "
            "which requires a gradient; return None only where needs_grad is False"
        )
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.shape != shape:
        fitted = unbroadcast(g, shape)
        if fitted is None:
            op = node.op
            raise OpError(
                f"op {op.name!r} vjp returned a gradient of shape {g.shape} for input "
                f"#{position} {parent.describe()}, which is neither that shape nor one it "
                f"broadcasts to; fix {op.__name__}.vjp"
            )
        g = fitted
    if g.dtype != parent.value.dtype:
        # A float32 parameter used with float64 data keeps a float32 gradient.
        g = g.astype(parent.value.dtype)
    return g


def _report_nonfinite_gradient(node: Node, parent: Node, g_parent: Any) -> None:
    """Say where a gradient first became inf/NaN: in ``node``'s vjp, or in a sum of finite parts."""
    op = node.op
    g_parent = np.asarray(g_parent)
    if numerics.all_finite(g_parent):
        numerics.report(
            f"the gradient of {parent.describe()} overflowed to inf while adding up its "
            f"contributions (the latest through {op.name} at {node.describe()})",
            stacklevel=4,
        )
        return
    position = node.parents.index(parent)
    hint = f"; {op.nonfinite_hint}" if op.nonfinite_hint else ""
    numerics.report(
        f"the gradient reaching input #{position} {parent.describe()} through {op.name} "
        f"({node.describe()}) is not finite ({numerics.describe_nonfinite(g_parent)}) "
        f"although the gradient of the {op.name} output is{hint}",
        stacklevel=4,
    )


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a scalar Node out) into a function returning value and gradient.

    Args:
        f: a function of NumPy arrays or numbers that computes a one-element result with
            compgraph ops.
        argnums: which positional argument(s) to differentiate with respect to.

    Returns:
        A function with ``f``'s arguments returning ``(value, gradient)``: ``value`` the
        0-d array ``f`` computed, ``gradient`` an array shaped like the argument (a tuple of
        them when ``argnums`` is a sequence). Gradients are fresh writable arrays.

    Raises:
        TypeError: ``f`` did not return a Node or number, or an ``argnums`` is out of range.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> value, slope = cg.value_and_grad(lambda x: cg.sum(x * x))(np.array([1.0, 2.0]))
        >>> float(value), slope.tolist()
        (5.0, [2.0, 4.0])
    """
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    try:
        parameters = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        parameters = []

    @functools.wraps(f)
    def f_value_and_grad(*args: Any, **kwargs: Any) -> tuple[np.ndarray, Any]:
        args_list = list(args)
        inputs = []
        for i in positions:
            if not -len(args) <= i < len(args):
                raise TypeError(
                    f"argnums={argnums!r} asks for argument {i}, but {len(args)} positional "
                    "arguments were given"
                )
            name = parameters[i] if 0 <= i < len(parameters) else f"arg{i}"
            node = args_list[i] if isinstance(args_list[i], Node) else Node(args_list[i], name=name)
            args_list[i] = node
            inputs.append(node)
        out = f(*args_list, **kwargs)
        if not isinstance(out, Node):
            try:
                out = Node(out, requires_grad=False)
            except TypeError:
                raise TypeError(
                    f"{getattr(f, '__name__', 'f')} returned {type(out).__name__}; it must "
                    "return a Node (or a number, when it does not depend on its inputs)"
                ) from None
        reached: set[Node] = set()
        if out.requires_grad:
            out.backward()
            reached = ancestors(out)
        # An input f did not use keeps whatever .grad an earlier graph gave it: its gradient
        # here is zero, whatever that says.
        grads = tuple(np.array(x.grad) if x in reached else np.zeros_like(x.value) for x in inputs)
        return out.value, grads[0] if isinstance(argnums, int) else grads

    return f_value_and_grad


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a scalar Node out) into a function returning its gradient.

    The same as ``value_and_grad(f, argnums)`` without the value.

    Example:
        >>> import compgraph as cg
        >>> df = cg.grad(lambda a, b, c: 3 * (a + b * c), argnums=(0, 1, 2))
        >>> [float(d) for d in df(5.0, 3.0, 2.0)]
        [3.0, 6.0, 9.0]
    """
    f_value_and_grad = value_and_grad(f, argnums)

    @functools.wraps(f)
    def f_grad(*args: Any, **kwargs: Any) -> Any:
        return f_value_and_grad(*args, **kwargs)[1]

    return f_grad
