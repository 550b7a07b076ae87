"""Functions of functions: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``.

Each turns a function built from compgraph ops into one that returns derivatives, and they
compose to any order (``grad(grad(f))``). The rule that makes them compose: when the
derivative itself depends on Nodes that require a gradient (an argument passed as such a
Node, as an outer ``grad`` does, or a parameter ``f`` closes over), the backward pass runs
with ``create_graph=True`` and the results are Nodes recorded in the graph, to be
differentiated further; otherwise they are plain arrays. Either way the ``.grad`` of every
node the function touched is left as it was.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from compgraph.functions import reshape, stack
from compgraph.graph import ancestors
from compgraph.node import Node
from compgraph.values import as_float_array

__all__ = ["grad", "hessian", "hvp", "jacobian", "value_and_grad"]


def _positions(argnums: Any) -> tuple[int, ...]:
    items = argnums if isinstance(argnums, (tuple, list)) else (argnums,)
    if not items or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in items):
        raise TypeError(f"argnums must be an integer or a tuple of integers, not {argnums!r}")
    return tuple(int(i) for i in items)


def _argument_names(f: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return []


class _Call:
    """One call of ``f`` on arguments some of which are differentiated: the traced output."""

    def __init__(self, f: Callable[..., Any], argnums: Any, args: tuple[Any, ...], kwargs: Any):
        positions = _positions(argnums)
        names = _argument_names(f)
        args_list = list(args)
        self.inputs: list[Node] = []
        given_nodes = False
        for i in positions:
            if not -len(args) <= i < len(args):
                raise TypeError(
                    f"argnums={argnums!r} asks for argument {i}, but {len(args)} positional "
                    "arguments were given"
                )
            given = args_list[i]
            name = names[i] if 0 <= i < len(names) else f"arg{i}"
            if any(given is made for made in self.inputs):
                node = given  # argnums=(0, 0): the node made for the first mention, again
            elif isinstance(given, Node):
                node, given_nodes = given, given_nodes or given.requires_grad
            else:
                node = Node(given, name=name)
            args_list[i] = node
            self.inputs.append(node)
        out = f(*args_list, **kwargs)
        if not isinstance(out, Node):
            try:
                out = Node(out, requires_grad=False)
            except TypeError:
                raise TypeError(
                    f"{getattr(f, '__name__', 'f')} returned {type(out).__name__}; it must "
                    "return a Node (or a number, when it does not depend on its inputs)"
                ) from None
        self.out = out
        self.reached = ancestors(out)
        inputs = set(self.inputs)
        # Differentiable results are needed when an outer computation will use them: an
        # input given as a Node that requires a gradient, or another such leaf f reached.
        self.nested = given_nodes or any(
            node.requires_grad and node.op is None and node not in inputs for node in self.reached
        )
        self._saved = {node: node.grad for node in self.reached | inputs}

    def gradients(self, seed: Any = None) -> list[Any]:
        """d(out)/d(input) for each input (after a backward pass seeded with ``seed``)."""
        if self.out.requires_grad:
            self.out.backward(seed, create_graph=self.nested)
        grads = []
        for x in self.inputs:
            g = x.grad if x in self.reached else None
            if g is None:
                g = np.zeros_like(x.value)
                g = Node(g, requires_grad=False) if self.nested else g
            elif not self.nested:
                g = np.array(g)  # a fresh, writable array of the caller's own
            grads.append(g)
        return grads

    def restore(self) -> None:
        for node, g in self._saved.items():
            node.grad = g

    def value(self) -> Any:
        return self.out if self.nested else self.out.value


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a scalar Node out) into a function returning value and gradient.

    Args:
        f: a function of NumPy arrays or numbers that computes a one-element result with
            compgraph ops.
        argnums: which positional argument(s) to differentiate with respect to.

    Returns:
        A function with ``f``'s arguments returning ``(value, gradient)``: ``value`` the
        0-d array ``f`` computed, ``gradient`` an array shaped like the argument (a tuple of
        them when ``argnums`` is a sequence); fresh writable arrays. Inside another
        derivative (see the module notes) both are Nodes instead.

    Raises:
        TypeError: ``f`` did not return a Node or number, or an ``argnums`` is out of range.
        BackwardError: ``f`` returned more than one element.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> value, slope = cg.value_and_grad(lambda x: cg.sum(x * x))(np.array([1.0, 2.0]))
        >>> float(value), slope.tolist()
        (5.0, [2.0, 4.0])
    """
    single = not isinstance(argnums, (tuple, list))
    _positions(argnums)

    @functools.wraps(f)
    def f_value_and_grad(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        call = _Call(f, argnums, args, kwargs)
        try:
            grads = call.gradients()
        finally:
            call.restore()
        return call.value(), grads[0] if single else tuple(grads)

    return f_value_and_grad


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a scalar Node out) into a function returning its gradient.

    The same as ``value_and_grad(f, argnums)`` without the value; ``grad(grad(f))`` is the
    second derivative.

    Example:
        >>> import compgraph as cg
        >>> df = cg.grad(lambda a, b, c: 3 * (a + b * c), argnums=(0, 1, 2))
        >>> [float(d) for d in df(5.0, 3.0, 2.0)]
        [3.0, 6.0, 9.0]
        >>> float(cg.grad(cg.grad(lambda x: x**3))(2.0))  # 6x
        12.0
    """
    f_value_and_grad = value_and_grad(f, argnums)

    @functools.wraps(f)
    def f_grad(*args: Any, **kwargs: Any) -> Any:
        return f_value_and_grad(*args, **kwargs)[1]

    return f_grad


def jacobian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a Node out) into a function returning its Jacobian.

    Reverse mode, one backward pass per output element: the result has shape
    ``out.shape + x.shape``, ``J[i..., j...] = d out[i...] / d x[j...]``.

    Raises:
        TypeError: ``argnums`` is not a single integer.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.jacobian(lambda x: x * x)(np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    if isinstance(argnums, (tuple, list)):
        raise TypeError("jacobian differentiates one argument: pass argnums as one integer")
    _positions(argnums)

    @functools.wraps(f)
    def f_jacobian(*args: Any, **kwargs: Any) -> Any:
        call = _Call(f, argnums, args, kwargs)
        out, x = call.out, call.inputs[0]
        try:
            rows = []
            for i in range(out.size):
                seed = np.zeros(out.shape, dtype=out.dtype)
                seed.flat[i] = 1
                rows.append(call.gradients(seed)[0])
        finally:
            call.restore()
        shape = out.shape + x.shape
        if call.nested:
            return (
                reshape(stack(rows), shape) if rows else Node(np.zeros(shape), requires_grad=False)
            )
        return np.array(rows, dtype=x.dtype).reshape(shape)

    return f_jacobian


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn a scalar ``f`` into a function returning its Hessian, shape ``x.shape * 2``.

    The Jacobian of the gradient: ``H[i, j] = d²f / dx[i] dx[j]``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> A = np.array([[2.0, 1.0], [0.0, 4.0]])
        >>> cg.hessian(lambda x: 0.5 * x @ (A @ x))(np.array([1.0, -1.0])).tolist()  # (A + Aᵀ)/2
        [[2.0, 0.5], [0.5, 4.0]]
    """
    return jacobian(grad(f, argnums), argnums)


def hvp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn a scalar ``f`` into ``f_hvp(*args, v)``: the Hessian-vector product H·v.

    Computed as the gradient of ⟨∇f, v⟩, in about the time of two or three gradients and
    without forming H (which has n² elements).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> f = lambda x: cg.sum(x**3)  # H = diag(6x)
        >>> cg.hvp(f)(np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
    """
    if isinstance(argnums, (tuple, list)):
        raise TypeError("hvp differentiates one argument: pass argnums as one integer")
    f_grad = grad(f, argnums)

    @functools.wraps(f)
    def f_hvp(*args: Any, **kwargs: Any) -> Any:
        if len(args) < 2:
            raise TypeError("hvp(f)(*args, v) takes f's arguments and then the vector v")
        *f_args, v = args
        direction = as_float_array(v, "hvp's vector v")

        def along_v(*a: Any) -> Node:
            along: Node = (f_grad(*a, **kwargs) * direction).sum()
            return along

        return grad(along_v, argnums)(*f_args)

    return f_hvp
