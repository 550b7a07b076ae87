"""Functions of functions: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``,
``jvp`` and ``jacfwd``, all built on the pure ``gradients`` (JAX's style).

Each turns a function built from compgraph ops into one that returns derivatives, and they
compose to any order (``grad(grad(f))``). Three rules make them exact under composition:

* **Each transform differentiates with respect to a variable of its own.** An argument is
  made into a fresh node for the call: a leaf for an array, and ``positive(x)`` for a Node
  ``x`` that requires a gradient (an outer transform's variable, say). Other uses of ``x``
  (a closure over it) stay constants of this derivative, so ``grad(lambda y: y * x)(x)`` is
  the partial x, not the total 2x; the outer derivative still flows through ``positive``.
* **Derivatives are recorded when an outer computation will use them**: when an argument
  is such a Node, or ``f`` reaches a leaf that requires a gradient (a parameter it closes
  over), the pass runs with ``create_graph=True`` and the results are Nodes; otherwise
  they are fresh arrays.
* **Nothing is silently lost**: converting a traced value to a number inside ``f``
  (``float(x)``, ``x.item()``, ``math.sin(x)``) raises, and an output that depends on
  none of the differentiated arguments warns (its derivative is 0 everywhere).

Arguments may be containers: a dict, list or tuple of arrays (nested) comes back as
gradients in the same structure, as JAX's pytrees and autograd's containers do. Forward mode
(``jvp``, ``jacfwd``) is the vjp of a vjp: the gradient ``Jᵀu`` is linear in a seed ``u``, so
its gradient with respect to ``u`` along ``v`` is ``J v``, with no second rule per op.
No ``.grad`` attribute is read or written.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from compgraph.autodiff import gradients
from compgraph.errors import IndependentOutputWarning, ShapeError
from compgraph.functions import positive, reshape, stack, transpose
from compgraph.graph import ancestors
from compgraph.node import Node, enable_grad
from compgraph.numerics import outside_compgraph
from compgraph.values import as_float_array, refuse_conversions

__all__ = ["flatten", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jvp", "value_and_grad"]


# -- containers of arrays ----------------------------------------------------------------------


def flatten(tree: Any, name: str = "") -> tuple[list[tuple[str, Any]], Callable[[list[Any]], Any]]:
    """The leaves of a dict/list/tuple container (nested), named by their path, and a
    function that rebuilds the container's structure from new leaves in that order.

    Anything that is not a dict, list or tuple is a leaf (an array, a number, a Node).

    Example:
        >>> leaves, rebuild = flatten({"W": 1.0, "b": [2.0, 3.0]}, "p")
        >>> [path for path, _ in leaves]
        ['W', 'b[0]', 'b[1]']
        >>> rebuild([10, 20, 30])
        {'W': 10, 'b': [20, 30]}
    """
    if isinstance(tree, dict):
        parts = [flatten(value, str(key)) for key, value in tree.items()]
        keys = list(tree)
        leaves = [leaf for part, _ in parts for leaf in part]
        sizes = [len(part) for part, _ in parts]

        def rebuild_dict(new: list[Any]) -> Any:
            out, start = {}, 0
            for key, (_, rebuild), size in zip(keys, parts, sizes, strict=True):
                out[key] = rebuild(new[start : start + size])
                start += size
            return out

        return leaves, rebuild_dict
    if isinstance(tree, (list, tuple)):
        parts = [flatten(value, f"{name}[{i}]") for i, value in enumerate(tree)]
        leaves = [leaf for part, _ in parts for leaf in part]
        sizes = [len(part) for part, _ in parts]
        kind = type(tree)

        def rebuild_sequence(new: list[Any]) -> Any:
            items, start = [], 0
            for (_, rebuild), size in zip(parts, sizes, strict=True):
                items.append(rebuild(new[start : start + size]))
                start += size
            if kind is list:
                return items
            return kind(*items) if hasattr(kind, "_fields") else kind(items)  # namedtuples

        return leaves, rebuild_sequence
    return [(name, tree)], lambda new: new[0]


# -- one call of f, on variables of its own ----------------------------------------------------


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


def _function_name(f: Callable[..., Any]) -> str:
    return getattr(f, "__name__", type(f).__name__)


class _Call:
    """One call of ``f``, its differentiated arguments replaced by variables of its own."""

    def __init__(
        self, f: Callable[..., Any], argnums: Any, args: tuple[Any, ...], kwargs: Any, what: str
    ) -> None:
        self.f_name = _function_name(f)
        names = _argument_names(f)
        args_list = list(args)
        self.arguments: list[tuple[list[Node], Callable[[list[Any]], Any]]] = []
        made: dict[int, tuple[list[Node], Callable[[list[Any]], Any]]] = {}
        self.given_nodes = False
        for i in _positions(argnums):
            if not -len(args) <= i < len(args):
                raise TypeError(
                    f"argnums={argnums!r} asks for argument {i}, but {len(args)} positional "
                    "arguments were given"
                )
            i %= len(args)
            if i not in made:  # argnums=(0, 0): the same variables, twice
                name = names[i] if i < len(names) else f"arg{i}"
                leaves, rebuild = flatten(args[i], name)
                variables = [self._variable(leaf, path or name) for path, leaf in leaves]
                made[i] = (variables, rebuild)
                args_list[i] = rebuild(variables)
            self.arguments.append(made[i])
        self.variables = [v for variables, _ in self.arguments for v in variables]
        with enable_grad(), refuse_conversions(f"{what}({self.f_name})"):
            out = f(*args_list, **kwargs)
        if not isinstance(out, Node):
            try:
                out = Node(out, requires_grad=False)
            except TypeError:
                raise TypeError(
                    f"{self.f_name} returned {type(out).__name__}; it must return a Node (or a "
                    "number, when it does not depend on its inputs)"
                ) from None
        self.out = out
        reached = ancestors(out)
        mine = set(self.variables)
        # Results are recorded when an outer computation will use them: an argument given as
        # a Node that requires a gradient, or another such leaf that f closes over (made
        # before this call's variables; a leaf f made itself is a constant of the call).
        first = min((v.id for v in self.variables), default=0)
        self.nested = self.given_nodes or any(
            node.requires_grad and node.op is None and node.id < first for node in reached
        )
        if self.variables and mine.isdisjoint(reached):
            warnings.warn(
                f"{what}({self.f_name}): the output does not depend on "
                f"{', '.join(v.name or '?' for v in self.variables)}, so every derivative is 0. "
                "If f reads .value or builds a new Node from an array, it cut the graph there; "
                "compute with compgraph's ops instead",
                IndependentOutputWarning,
                stacklevel=outside_compgraph(),
            )

    def _variable(self, given: Any, name: str) -> Node:
        if isinstance(given, Node):
            if given.requires_grad:
                self.given_nodes = True
                variable = positive(given)  # connected to the outer graph, but a node of its own
                variable.name = given.name or name
                return variable
            return Node(given.value, name=given.name or name)  # a constant: differentiate anyway
        return Node(given, name=name)

    def check_scalar(self, what: str) -> None:
        if self.out.size != 1:
            raise ShapeError(
                f"{what}({self.f_name}): the function must return one number, but it returned "
                f"shape {self.out.shape}; use cg.jacobian (or cg.jacfwd) for a function with "
                "several outputs, or reduce them first (cg.sum, cg.mean)"
            )

    def gradients(self, seed: Any = None) -> list[Any]:
        """d(out)/d(variable) for each variable, arrays or (nested) Nodes."""
        found = gradients(self.out, self.variables, grad=seed, create_graph=self.nested)
        if self.nested:
            return list(found)
        return [np.array(g, dtype=v.dtype) for g, v in zip(found, self.variables, strict=True)]

    def per_argument(self, flat: list[Any]) -> list[Any]:
        """``flat`` (one item per variable) grouped back into each argument's structure."""
        grouped, start = [], 0
        for variables, rebuild in self.arguments:
            grouped.append(rebuild(flat[start : start + len(variables)]))
            start += len(variables)
        return grouped

    def value(self) -> Any:
        return self.out if self.nested else self.out.value


def _single(argnums: Any, what: str) -> None:
    if isinstance(argnums, (tuple, list)):
        raise TypeError(f"{what} differentiates one argument: pass argnums as one integer")
    _positions(argnums)


# -- reverse mode ------------------------------------------------------------------------------


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Turn ``f`` (arrays in, a scalar Node out) into a function returning value and gradient.

    Args:
        f: a function of NumPy arrays or numbers (or dicts, lists and tuples of them) that
            computes a one-element result with compgraph ops.
        argnums: which positional argument(s) to differentiate with respect to.

    Returns:
        A function with ``f``'s arguments returning ``(value, gradient)``: ``value`` the
        0-d array ``f`` computed, ``gradient`` shaped like the argument (the same dict, list
        or tuple structure for a container; a tuple of them when ``argnums`` is a sequence);
        fresh writable arrays. Inside another derivative (see the module notes) both are
        Nodes instead.

    Raises:
        TypeError: ``f`` did not return a Node or number, or an ``argnums`` is out of range.
        ShapeError: ``f`` returned more than one element.
        NotDifferentiableError: ``f`` converted a traced value to a number.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> value, slope = cg.value_and_grad(lambda x: cg.sum(x * x))(np.array([1.0, 2.0]))
        >>> float(value), slope.tolist()
        (5.0, [2.0, 4.0])
        >>> cost = lambda p: cg.sum(p["w"] * 3.0 + p["b"])
        >>> cg.grad(cost)({"w": np.ones(2), "b": 1.0})
        {'w': array([3., 3.]), 'b': array(2.)}
    """
    single = not isinstance(argnums, (tuple, list))
    _positions(argnums)

    @functools.wraps(f)
    def f_value_and_grad(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        call = _Call(f, argnums, args, kwargs, "grad")
        call.check_scalar("grad")
        grads = call.per_argument(call.gradients())
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
    ``out.shape + x.shape``, ``J[i..., j...] = d out[i...] / d x[j...]`` (for a container
    argument, a container of such arrays, one per leaf). ``cg.jacfwd`` computes the same
    in forward mode, one pass per input element.

    Raises:
        TypeError: ``argnums`` is not a single integer.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.jacobian(lambda x: x * x)(np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    _single(argnums, "jacobian")

    @functools.wraps(f)
    def f_jacobian(*args: Any, **kwargs: Any) -> Any:
        call = _Call(f, argnums, args, kwargs, "jacobian")
        out = call.out
        rows = []  # rows[i][k]: d out.flat[i] / d variable k
        for i in range(out.size):
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.flat[i] = 1
            rows.append(call.gradients(seed))
        blocks = [
            _assemble([row[k] for row in rows], out.shape, v.shape, call.nested, v.dtype)
            for k, v in enumerate(call.variables)
        ]
        return call.per_argument(blocks)[0]

    return f_jacobian


def _assemble(
    parts: list[Any], first: tuple[int, ...], second: tuple[int, ...], nested: bool, dtype: Any
) -> Any:
    """``parts`` (one array of shape ``second`` per element of ``first``) as one array of
    shape ``first + second``; Nodes stay recorded."""
    shape = first + second
    if not nested:
        return np.array(parts, dtype=dtype).reshape(shape)
    if not parts:
        return Node(np.zeros(shape, dtype=dtype), requires_grad=False)
    return reshape(stack(parts), shape)


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn a scalar ``f`` into a function returning its Hessian, shape ``x.shape * 2``.

    The Jacobian of the gradient: ``H[i, j] = d²f / dx[i] dx[j]``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> A = np.array([[2.0, 1.0], [0.0, 4.0]])
        >>> cg.hessian(lambda x: 0.5 * x @ (A @ x))(np.array([1.0, -1.0])).tolist()  # (A + Aᵀ)/2
        [[2.0, 0.5], [0.5, 4.0]]
    """
    _single(argnums, "hessian")
    f_grad = grad(f, argnums)

    @functools.wraps(f)
    def f_hessian(*args: Any, **kwargs: Any) -> Any:
        if _is_container(args[argnums] if -len(args) <= argnums < len(args) else None):
            raise TypeError(
                "hessian takes one array argument; for a dict or list of parameters use "
                "cg.hvp (Hessian-vector products), or stack the parameters into one array"
            )
        return jacobian(f_grad, argnums)(*args, **kwargs)

    return f_hessian


def _is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple))


def hvp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn a scalar ``f`` into ``f_hvp(*args, v)``: the Hessian-vector product H·v.

    Computed as the gradient of ⟨∇f, v⟩, in about the time of two or three gradients and
    without forming H (which has n² elements). ``v`` has exactly the shape (or, for a
    container argument, the structure and shapes) of the differentiated argument.

    Raises:
        ShapeError: ``v``'s shape differs from the argument's.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> f = lambda x: cg.sum(x**3)  # H = diag(6x)
        >>> cg.hvp(f)(np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
    """
    _single(argnums, "hvp")
    f_grad = grad(f, argnums)

    @functools.wraps(f)
    def f_hvp(*args: Any, **kwargs: Any) -> Any:
        if len(args) < 2:
            raise TypeError("hvp(f)(*args, v) takes f's arguments and then the vector v")
        *f_args, v = args
        directions = _directions(f_args[argnums] if argnums < len(f_args) else None, v, "hvp")

        def along_v(*a: Any) -> Node:
            g_leaves, _ = flatten(f_grad(*a, **kwargs))
            terms = [(g * d).sum() for (_, g), d in zip(g_leaves, directions, strict=True)]
            total: Node = functools.reduce(lambda s, t: s + t, terms)
            return total

        return grad(along_v, argnums)(*f_args)

    return f_hvp


def _directions(x: Any, v: Any, what: str) -> list[np.ndarray]:
    """The leaves of the direction ``v``, checked against the argument ``x``'s leaves."""
    x_leaves, _ = flatten(x, "x")
    v_leaves, _ = flatten(v, "v")
    if len(x_leaves) != len(v_leaves):
        raise ShapeError(
            f"{what}: the vector v has {len(v_leaves)} arrays, but the argument has "
            f"{len(x_leaves)}; give v the argument's structure"
        )
    directions = []
    for (path, leaf), (_, given) in zip(x_leaves, v_leaves, strict=True):
        shape = leaf.shape if isinstance(leaf, Node) else np.shape(as_float_array(leaf))
        direction = as_float_array(given.value if isinstance(given, Node) else given, f"{what}'s v")
        if direction.shape != shape:
            raise ShapeError(
                f"{what}: v{'' if path == 'x' else f' for {path}'} has shape {direction.shape}, "
                f"but the argument has shape {shape}; v must have exactly the argument's shape "
                "(it would otherwise broadcast into a different product)"
            )
        directions.append(direction)
    return directions


# -- forward mode, as the vjp of a vjp ---------------------------------------------------------


class _Linearized:
    """``f`` at a point, with its gradient ``Jᵀu`` recorded as a function of a seed ``u``."""

    def __init__(self, f: Callable[..., Any], argnums: int, args: Any, kwargs: Any, what: str):
        self.call = _Call(f, argnums, args, kwargs, what)
        out = self.call.out
        self.u = Node(np.zeros(out.shape, out.dtype), name="u")
        self.vjps = gradients(out, self.call.variables, grad=self.u, create_graph=True)

    def tangent(self, directions: list[Any]) -> Any:
        """J·v for the directions ``v`` (one per variable): d⟨Jᵀu, v⟩/du."""
        terms = [(g * d).sum() for g, d in zip(self.vjps, directions, strict=True)]
        along: Node = functools.reduce(lambda s, t: s + t, terms)
        found = gradients(along, self.u, create_graph=self.call.nested)
        return found if self.call.nested else np.array(found, dtype=self.u.dtype)


def jvp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn ``f`` into ``f_jvp(*args, v)``: the Jacobian-vector product J·v, shaped like f's
    output, the directional derivative of f along v (forward mode).

    Obtained from the vjps (no second rule per op): the gradient Jᵀu is linear in a seed u,
    and its derivative in u along v is J·v. ``v`` has exactly the argument's shape (or a
    container argument's structure).

    Raises:
        ShapeError: ``v``'s shape differs from the argument's.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> f = lambda x: x**2  # J = diag(2x)
        >>> cg.jvp(f)(np.array([1.0, 3.0]), np.array([1.0, 0.5])).tolist()
        [2.0, 3.0]
    """
    _single(argnums, "jvp")

    @functools.wraps(f)
    def f_jvp(*args: Any, **kwargs: Any) -> Any:
        if len(args) < 2:
            raise TypeError("jvp(f)(*args, v) takes f's arguments and then the vector v")
        *f_args, v = args
        directions = _directions(f_args[argnums] if argnums < len(f_args) else None, v, "jvp")
        return _Linearized(f, argnums, tuple(f_args), kwargs, "jvp").tangent(directions)

    return f_jvp


def jacfwd(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Turn ``f`` into a function returning its Jacobian by forward mode: one J·eⱼ per input
    element, the same numbers as ``cg.jacobian`` (shape ``out.shape + x.shape``), cheaper
    when f has fewer inputs than outputs.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.jacfwd(lambda x: cg.stack([x[0] * x[1], x[0]]))(np.array([2.0, 3.0])).tolist()
        [[3.0, 2.0], [1.0, 0.0]]
    """
    _single(argnums, "jacfwd")

    @functools.wraps(f)
    def f_jacfwd(*args: Any, **kwargs: Any) -> Any:
        linear = _Linearized(f, argnums, args, kwargs, "jacfwd")
        call, out = linear.call, linear.call.out
        blocks = []
        for k, variable in enumerate(call.variables):
            columns = []  # J·eⱼ, shaped like out, for each element j of this variable
            for j in range(variable.size):
                basis = [np.zeros(v.shape, v.dtype) for v in call.variables]
                basis[k].flat[j] = 1
                columns.append(linear.tangent(basis))
            block = _assemble(columns, variable.shape, out.shape, call.nested, variable.dtype)
            blocks.append(_out_axes_first(block, len(variable.shape), len(out.shape)))
        return call.per_argument(blocks)[0]

    return f_jacfwd


def _out_axes_first(block: Any, n_in: int, n_out: int) -> Any:
    """Axes (x..., out...) reordered to (out..., x...)."""
    axes = tuple(range(n_in, n_in + n_out)) + tuple(range(n_in))
    if isinstance(block, Node):
        return transpose(block, axes)
    return np.ascontiguousarray(block.transpose(axes))
