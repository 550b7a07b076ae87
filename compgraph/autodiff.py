"""Reverse mode: the backward pass.

``backward(root)`` sets ``node.grad = d(root)/d(node)`` for every node ``root`` depends on:

1. **order**: the nodes that need a gradient, each after its parents (creation order);
2. **seed**: d(root)/d(root) = 1, or the seed given;
3. **vjp**: from the root back, each node's op maps the node's gradient to its inputs', once;
4. **fit**: each input's share is summed back to the input's shape (broadcasting undone here,
   in this one place, so no op repeats it), and checked;
5. **accumulate**: added to the input's ``.grad`` as a new array, never in place, since
   gradients are shared (``add`` hands the same array to both inputs);
6. **check**: a gradient that turns inf/NaN is reported where it first appears (found through
   NumPy's floating-point error flags; element-wise for user ops and graphs holding inf/NaN).

With ``create_graph=True`` the same steps run on Nodes instead of arrays (the vjps are
written for both, see ``compgraph.ops``), so the gradients are themselves recorded graphs.

This module sits below ``compgraph.node``: it reads nodes only through their fields (value,
grad, op, parents, attrs, requires_grad, id), as the graph walks do, and the hot loop reads
``_value``, the slot behind the read-only ``value`` property.
"""

from __future__ import annotations

import operator
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from compgraph import numerics
from compgraph.errors import (
    BackwardError,
    GraphGrowthWarning,
    NotDifferentiableError,
    OpError,
    ShapeError,
)
from compgraph.graph import ancestors, topological_order
from compgraph.ops import unbroadcast
from compgraph.values import Recorded, as_float_array, refuse_conversions

# The loop of backward runs inside an np.errstate that neither warns nor raises (it only
# notes floating-point exceptions): no errstate of its own per check.
all_finite = numerics.all_finite_ignoring_errors

__all__ = ["BackwardStep", "backward", "gradients"]

FLOAT64 = np.dtype(np.float64)
# The hot loop reads the array slot behind Node.value (a property, so that a value cannot be
# rebound), which saves the property call on every edge.
_value_of = operator.attrgetter("_value")
_requires_grad_of = operator.attrgetter("requires_grad")
#: ``backward()`` writes its results into ``.grad`` one pass at a time, so two threads
#: backpropagating through a shared graph never interleave their writes. ``gradients`` writes
#: nothing and needs no lock.
_one_writer_at_a_time = threading.RLock()
#: ``array[()]``: a NumPy scalar for a 0-d array (see ``Op.scalar_inputs``).
_scalar_or_view = operator.itemgetter(())


class BackwardStep(NamedTuple):
    """One step of the backward pass, as ``gradients(..., observe=...)`` hands it over.

    ``node`` is the forward node whose vjp ran, ``grad`` the gradient d(root)/d(node) that
    reached it, and ``input_grads`` what it sent to each of ``node.parents``, in order: fitted
    to that input's shape, or None for an input that needs no gradient.
    """

    node: Any
    grad: Any
    input_grads: tuple[Any, ...]


def gradients(
    root: Any,
    wrt: Any,
    grad: ArrayLike | None = None,
    create_graph: bool = False,
    observe: Callable[[BackwardStep], Any] | None = None,
) -> Any:
    """The gradients d(root)/d(x) for the nodes x in ``wrt``, touching no ``.grad`` attribute.

    Args:
        root: the Node to differentiate.
        wrt: a Node, a sequence of Nodes (a tuple of gradients in that order comes back) or a
            mapping of names to Nodes (a dict with the same keys comes back).
        grad: the seed d(output)/d(root), shaped like ``root``; optional when ``root`` has
            one element. With ``create_graph=True`` a Node seed is recorded as an input of
            the gradients (forward mode differentiates through it).
        create_graph: record the pass itself, so that the gradients are Nodes that can be
            differentiated again.
        observe: called with a ``BackwardStep`` after each node's vjp, in the order the pass
            runs (the player and the gradient-flow recorder watch the real pass this way).

    Returns:
        One gradient per node of ``wrt``, shaped like it: a read-only array (a NumPy scalar
        for a 0-d node), or a Node with ``create_graph``. A node ``root`` does not depend on
        gets zeros: its gradient is 0.

    Raises:
        BackwardError: a node of ``wrt`` does not require a gradient (no graph was recorded
            from it), or ``root`` has several elements and no seed was given.
        ShapeError: the seed's shape differs from ``root``'s.
        OpError: an op's vjp breaks its contract; the message names the op.

    Example:
        >>> import compgraph as cg
        >>> a, b, c = cg.Node(5.0), cg.Node(3.0), cg.Node(2.0)
        >>> J = 3 * (a + b * c)
        >>> [float(g) for g in cg.gradients(J, [a, b, c])]
        [3.0, 6.0, 9.0]
        >>> b.grad is None  # nothing written
        True
    """
    targets, rebuild = _flatten_wrt(wrt)
    for x in targets:
        if not x.requires_grad:
            raise BackwardError(
                f"gradients(): {x.describe()} does not require a gradient, so no graph was "
                "recorded from it and its gradient cannot be computed; create it with "
                "requires_grad=True (cg.Node(value)), or differentiate a function of it with "
                "cg.grad"
            )
    found = _run_pass(root, grad, create_graph, observe, targets) if root.requires_grad else {}
    results = []
    for x in targets:
        g = found.get(x)
        if g is None:  # root does not depend on x: d(root)/dx = 0
            g = _zeros_like(x, create_graph)
        elif type(g) is np.ndarray:
            g.setflags(write=False)  # it may be shared with other nodes' gradients
        results.append(g)
    return rebuild(results)


def backward(root: Any, grad: ArrayLike | None = None, create_graph: bool = False) -> None:
    """Set ``node.grad = d(root)/d(node)`` for every node ``root`` depends on.

    A thin layer over the pass ``gradients`` runs: gradients are computed afresh on every
    call and replace earlier ones. See ``Node.backward`` for the arguments and errors.
    """
    if not root.requires_grad:
        raise _constant_root_error(root)
    with _one_writer_at_a_time:
        # The pass writes each node's gradient into .grad as soon as it is complete (when
        # the node's vjp runs), so it holds no second copy of every gradient; what is left
        # at the end are the leaves'.
        found = _run_pass(root, grad, create_graph, None, None)
        for node, g in found.items():
            if type(g) is np.ndarray:
                # The same array may be the gradient of several nodes (add's vjp passes g
                # to both inputs), so nobody may write into it.
                g.setflags(write=False)
            node.grad = g


def _constant_root_error(root: Any) -> BackwardError:
    if hasattr(root, "vjp_of"):
        return BackwardError(
            f"{root.describe()} is a gradient that depends on no node requiring a gradient: "
            "the function was at most linear in them, so all its derivatives are 0, and "
            "backward() has no graph to fill. cg.gradients(gradient, [x]) returns those zeros"
        )
    return BackwardError(
        f"{root.describe()} does not depend on any node that requires a gradient (it was "
        "built from constants only, or under no_grad()); create the parameters with "
        "requires_grad=True"
    )


def _flatten_wrt(wrt: Any) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """The nodes of ``wrt`` in order, and how to give results back in ``wrt``'s form."""
    if isinstance(wrt, Recorded):
        return [wrt], operator.itemgetter(0)
    if isinstance(wrt, Mapping):
        keys = list(wrt)
        nodes = [wrt[key] for key in keys]
        rebuild: Callable[[list[Any]], Any] = lambda grads: dict(zip(keys, grads, strict=True))  # noqa: E731
    elif isinstance(wrt, (list, tuple)):
        nodes, rebuild = list(wrt), tuple
    else:
        raise TypeError(
            f"gradients(): wrt must be a Node, a list or tuple of Nodes, or a dict of them, not "
            f"{type(wrt).__name__}"
        )
    for node in nodes:
        if not isinstance(node, Recorded):
            raise TypeError(
                f"gradients(): wrt holds {type(node).__name__} {node!r:.40}, not a Node; "
                "differentiate with respect to the Nodes the graph was built from"
            )
    return nodes, rebuild


def _zeros_like(node: Any, create_graph: bool) -> Any:
    value = node.value
    zeros = value.dtype.type(0) if value.ndim == 0 else np.zeros_like(value)
    if create_graph:
        return type(node)(zeros, requires_grad=False)
    if type(zeros) is np.ndarray:
        zeros.setflags(write=False)
    return zeros


def _run_pass(
    root: Any,
    grad: ArrayLike | None,
    create_graph: bool,
    observe: Callable[[BackwardStep], Any] | None,
    targets: list[Any] | None,
) -> dict[Any, Any]:
    """The six steps of the module notes; returns node -> d(root)/d(node).

    ``targets``: when given, only the nodes that lie on a path from one of them to ``root``
    are walked (the others' gradients are not needed).
    """
    order = [node for node in topological_order(root) if node.requires_grad]  # 1. order
    if not create_graph:  # nested derivatives grow their graphs on purpose
        _watch_growth(root, order)
    if targets is not None:
        order = _between(order, targets)
    else:
        for node in order:  # backward(): a failed pass leaves no stale gradient behind
            node.grad = None
    grads: dict[Any, Any] = {root: _seed(root, grad, create_graph)}  # 2. seed
    watch = numerics.geterr()["nonfinite"] != "ignore"
    if watch and not numerics.all_finite(_array(grads[root])):
        numerics.report(f"the seed gradient of {root.describe()} is not finite")
        watch = False
    # Step 6 reads NumPy's floating-point flags rather than every gradient: from finite
    # values and a finite seed, a built-in op's vjp makes inf/NaN only by signalling one.
    # Graphs that hold non-finite values, and user-defined ops, are checked element-wise.
    events = numerics.FloatingPointEvents()
    holding = numerics.holding_nonfinite
    exact = bool(holding) and not set(order).isdisjoint(holding.values())
    # backward() (no targets) walks every node that requires a gradient, and writes each
    # into .grad once complete; gradients() walks those it needs, and keeps only the targets'.
    needed = None if targets is None else set(order)
    kept = None if targets is None else set(targets)
    with np.errstate(over="call", divide="call", invalid="call", under="ignore", call=events):
        if create_graph:
            # The nodes this pass did not make: the forward graph, and a seed's own graph.
            forward_nodes = ancestors(root)
            if isinstance(grads[root], Recorded):
                forward_nodes |= ancestors(grads[root])
            with refuse_conversions("a vjp run by backward(create_graph=True)"):
                for node in reversed(order):
                    if node.op is not None and node in grads:
                        watch = _step_on_nodes(node, grads, watch, forward_nodes, needed, observe)
                        _release(node, grads, kept)
        else:
            _pass_on_values(order, grads, watch, exact, events, needed, kept, observe)
    return grads


def _between(order: list[Any], targets: list[Any]) -> list[Any]:
    """The nodes of ``order`` (creation order) that are a target or depend on one."""
    on_path = set(targets)
    for node in order:
        if node not in on_path and not on_path.isdisjoint(node.parents):
            on_path.add(node)
    return [node for node in order if node in on_path]


class _LastPass(threading.local):
    """What this thread's previous backward pass walked, to notice a graph that chains."""

    root_id = -1
    size = 0
    streak = 0


_last_pass = _LastPass()
#: Passes in a row over a growing graph that holds ops older than the previous root.
GROWTH_STREAK = 3


def _watch_growth(root: Any, order: list[Any]) -> None:
    """Warn when training chains its steps into one graph (w = w - lr * w.grad, recorded).

    Then every pass walks the ops of all earlier steps: the graph holds ops created before
    the previous pass's root and grows each time. A loop that builds each step afresh
    (updates as new Nodes) never has ops older than the previous root. The advice is not
    "update under no_grad()": there ``w - lr * w.grad`` is a constant, and the next pass fails.
    """
    last = _last_pass
    oldest_op = next((node.id for node in order if node.op is not None), None)
    chained = (
        oldest_op is not None
        and root.id != last.root_id
        and oldest_op < last.root_id
        and len(order) > last.size
    )
    last.streak = last.streak + 1 if chained else 0
    last.root_id, last.size = root.id, len(order)
    if last.streak == GROWTH_STREAK:
        warnings.warn(
            f"backward() has walked a bigger graph {GROWTH_STREAK} times in a row "
            f"({len(order)} nodes now), each holding the ops of earlier passes: a training "
            "loop is chaining its steps into one graph, each slower than the last. Update "
            "parameters as new Nodes: w = cg.Node(w.value - lr * w.grad, name='w')",
            GraphGrowthWarning,
            stacklevel=numerics.outside_compgraph(),
        )


def _release(node: Any, grads: dict[Any, Any], kept: set[Any] | None) -> None:
    """After ``node``'s vjp its gradient is complete: backward() (``kept`` None) writes it
    into ``.grad`` now; gradients() drops it unless it is a target, freeing it early (the
    hot loop of ``_pass_on_values`` does the same inline)."""
    if kept is None:
        node.grad = grads.pop(node)
    elif node not in kept:
        del grads[node]


def _pass_on_values(
    order: list[Any],
    grads: dict[Any, Any],
    watch: bool,
    exact: bool,
    events: numerics.FloatingPointEvents,
    needed: set[Any] | None,
    kept: set[Any] | None,
    observe: Callable[[BackwardStep], Any] | None,
) -> None:
    """Steps 3 to 6 for every node, on NumPy arrays and scalars: the hot loop of backward.

    ``watch``: whether to report a non-finite gradient (once per pass); ``exact``: check
    every gradient element-wise rather than only after a floating-point exception;
    ``needed``: the nodes whose gradients are wanted (None: every node that requires one).
    One function for the whole walk, with nothing computed twice per node: on a graph of
    scalars this loop body is most of the cost of backward().
    """
    grad_of = grads.get
    take = grads.pop
    watching = observe is not None
    for node in reversed(order):
        op = node.op
        if op is None:
            continue  # a leaf: its total stays in ``grads``
        # This node's total is complete (every node that uses it came later, and has run):
        # taken out of ``grads`` for the node alone, see the end of the loop.
        g = take(node, None)
        if g is None:  # reached by no path from the root (only when ``needed`` prunes)
            continue
        if type(g) is np.ndarray:
            # The same array may be the gradient of several nodes (add's vjp passes g to
            # both inputs), so no vjp may write into it. Scalars are immutable anyway.
            g.setflags(write=False)
        own = g
        parents = node.parents
        out = node._value
        out_shape = out.shape
        values = map(_value_of, parents)
        if op.scalar_inputs:
            values = map(_scalar_or_view, values)
            if not out_shape:
                out = out[()]
        elif type(g) is not np.ndarray:
            g = np.asarray(g)  # an op without scalar_inputs sees arrays only
        attrs = node.attrs
        builtin = op.builtin
        # Which inputs need a gradient: None means those that require one (all of a
        # backward() pass); a tuple is built only where it is needed, as on scalars the
        # tuple costs more than the products.
        needs = None
        if needed is not None:
            needs = tuple([parent in needed for parent in parents])
        elif op.vjp_needs_grad and not (builtin and all(map(_requires_grad_of, parents))):
            needs = tuple(map(_requires_grad_of, parents))
        try:  # 3. vjp
            # Built-in vjps default needs_grad to all True, so it is passed only when some
            # input needs no gradient.
            if needs is not None and op.vjp_needs_grad and not (builtin and all(needs)):
                if attrs:
                    vjps = op.vjp(g, out, *values, needs_grad=needs, **attrs)
                else:  # no ** of an empty dict: that builds a dict per call
                    vjps = op.vjp(g, out, *values, needs_grad=needs)
            elif attrs:
                vjps = op.vjp(g, out, *values, **attrs)
            else:
                vjps = op.vjp(g, out, *values)
        except NotImplementedError:
            raise no_vjp_error(node) from None
        if not builtin and (type(vjps) is not tuple or len(vjps) != len(parents)):
            _check_vjp_result(node, vjps)  # built-in vjps are tested to return one per input
        exact_here = exact or not builtin
        sent: list[Any] | None = [] if watching else None
        position = -1
        for parent, g_parent in zip(parents, vjps, strict=False):  # lengths checked above
            position += 1
            if not (parent.requires_grad if needs is None else needs[position]):
                if sent is not None:
                    sent.append(None)
                continue
            value = parent._value
            # The common cases need no check and no NumPy call: a float64 scalar for a 0-d
            # float64 input, or an array with the input's shape and dtype; and a scalar
            # input broadcast over the output (the bias b) is just a sum.
            if type(g_parent) is np.float64:
                fitted = value.dtype is FLOAT64 and not value.shape
            elif type(g_parent) is np.ndarray and g_parent.dtype is value.dtype:
                fitted = g_parent.shape == value.shape
                if not fitted and not value.shape and g_parent.shape == out_shape:
                    g_parent, fitted = g_parent.sum(), True
            else:
                fitted = False
            if not fitted:
                g_parent = fit_gradient(g_parent, node, position)  # 4. fit
            previous = grad_of(parent)
            total = g_parent if previous is None else previous + g_parent  # 5. accumulate
            grads[parent] = total
            if sent is not None:
                sent.append(g_parent)
            if watch and (exact_here or events.signalled) and not all_finite(total):  # 6. check
                _report_nonfinite_gradient(node, position, g_parent)
                watch = False
        events.signalled = False
        if sent is not None:
            observe(BackwardStep(node, own, tuple(sent)))  # type: ignore[misc]
        # backward() writes the complete total into .grad now; gradients() keeps it only
        # for a target, so intermediate gradients are freed as the pass goes.
        if kept is None:
            node.grad = own
        elif node in kept:
            grads[node] = own


def _step_on_nodes(
    node: Any,
    grads: dict[Any, Any],
    watch: bool,
    forward_nodes: set[Any],
    needed: set[Any] | None,
    observe: Callable[[BackwardStep], Any] | None,
) -> bool:
    """Steps 3 to 6 for one node, on Nodes: the gradients become recorded graphs."""
    parents = node.parents
    needs = tuple(
        parent.requires_grad if needed is None else parent in needed for parent in parents
    )
    try:
        vjps = _call_vjp(node, grads[node], node, iter(parents), needs)  # 3. vjp, on the nodes
    except NotDifferentiableError as error:
        op = node.op
        raise OpError(
            f"op {op.name!r} ({op.__name__}) cannot be differentiated twice at "
            f"{node.describe()}: backward(create_graph=True) runs its vjp on Nodes, and {error}. "
            "Write the vjp with NumPy operators and functions that have compgraph ops, or "
            "with op classes called on its arguments"
        ) from None
    made = []
    sent: list[Any] = []
    for position, (parent, g_parent) in enumerate(zip(parents, vjps, strict=True)):
        if not needs[position]:
            sent.append(None)
            continue
        if not isinstance(g_parent, Recorded):
            g_parent = _constant_gradient(node, position, g_parent)
        g_parent = fit_gradient(g_parent, node, position, on_nodes=True)  # 4. fit
        previous = grads.get(parent)
        total = g_parent if previous is None else previous + g_parent  # 5. accumulate
        grads[parent] = total
        made.append(total)
        sent.append(g_parent)
        if watch and not all_finite(total.value):  # 6. check
            _report_nonfinite_gradient(node, position, g_parent.value)
            watch = False
    _mark_made_by(made, node, forward_nodes)
    if observe is not None:
        observe(BackwardStep(node, grads[node], tuple(sent)))
    return watch


def _call_vjp(node: Any, g: Any, out: Any, values: Any, needs: tuple[bool, ...]) -> tuple[Any, ...]:
    op = node.op
    try:
        if op.vjp_needs_grad:
            grads = op.vjp(g, out, *values, needs_grad=needs, **node.attrs)
        else:
            grads = op.vjp(g, out, *values, **node.attrs)
    except NotImplementedError:
        raise no_vjp_error(node) from None
    if type(grads) is not tuple or len(grads) != len(node.parents):
        _check_vjp_result(node, grads)
    return grads  # type: ignore[no-any-return]


def _constant_gradient(node: Any, position: int, g: Any) -> Any:
    """A vjp result that is not a Node under create_graph: fine only if it is exactly 0."""
    op = node.op
    parent = node.parents[position]
    if g is None:
        fit_gradient(g, node, position)  # raises the None message
    array = np.asarray(g)
    if array.dtype.kind not in "biuf" or np.any(array != 0):
        raise OpError(
            f"op {op.name!r} ({op.__name__}) vjp returned {type(g).__name__} (not a Node) for "
            f"input #{position} {parent.describe()} under backward(create_graph=True): it was "
            "computed outside the graph (from .value or np.asarray?), so its own derivative "
            "would be lost; compute it from the vjp's arguments with NumPy operators"
        )
    # A vjp is linear in g, so a result that does not depend on g can only be 0.
    return type(node)(np.zeros(parent.shape, parent.dtype), requires_grad=False)


def _mark_made_by(made: list[Any], node: Any, forward_nodes: set[Any]) -> None:
    """Set ``vjp_of = node`` on the nodes this step created, so pictures can say so."""
    stack = list(made)
    while stack:
        new = stack.pop()
        if new in forward_nodes or hasattr(new, "vjp_of"):
            continue
        new.vjp_of = node
        stack.extend(new.parents)


def _array(g: Any) -> Any:
    return g.value if isinstance(g, Recorded) else g


def _seed(root: Any, grad: ArrayLike | None, create_graph: bool) -> Any:
    value = root.value
    if grad is None:
        if value.size != 1:
            raise BackwardError(
                f"backward() on {root.describe()} needs a seed: it has {value.size} "
                "elements, so d(output)/d(it) is not implied. Reduce it to a scalar first "
                "(e.g. y.sum() or y.mean()), or pass grad=<array of shape "
                f"{value.shape}> holding d(output)/d(y)"
            )
        # d(root)/d(root) = 1; a NumPy scalar for a 0-d root, like every scalar gradient.
        seed = value.dtype.type(1) if value.ndim == 0 else np.ones_like(value)
    else:
        given: Any = grad.value if isinstance(grad, Recorded) else grad
        seed = np.array(as_float_array(given, "the seed gradient"), dtype=value.dtype)
        if seed.shape != value.shape:
            raise ShapeError(
                f"the seed gradient has shape {seed.shape}, but it seeds {root.describe()}; "
                "pass grad= shaped exactly like the node it seeds"
            )
        if create_graph and isinstance(grad, Recorded):
            # Recorded as an input of every gradient, so their derivatives reach it (the
            # vjp of a vjp, which forward mode is).
            seed_node: Any = grad
            if seed_node.value.dtype != value.dtype:
                raise ShapeError(
                    f"the seed gradient {seed_node.describe()} has dtype "
                    f"{seed_node.value.dtype}, but it seeds {root.describe()} of dtype "
                    f"{value.dtype}; convert it with cg.astype"
                )
            return seed_node
    if create_graph:
        return type(root)(
            seed, name=f"d{root.name or 'f'}/d{root.name or 'f'}", requires_grad=False
        )
    return seed


def no_vjp_error(node: Any) -> OpError:
    """The error for an op that defines no vjp, naming it and the node it made."""
    op = node.op
    return OpError(
        f"op {op.name!r} ({op.__name__}) has no vjp, so {node.describe()} cannot be "
        "differentiated; define vjp(g, out, *inputs, **attrs) returning one gradient per input"
    )


def _check_vjp_result(node: Any, grads: Any) -> None:
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


def fit_gradient(g: Any, node: Any, position: int, on_nodes: bool = False) -> Any:
    """A vjp's gradient for input ``position`` of ``node``, fitted to that input (step 4).

    Summed over the axes broadcasting added, converted to the input's dtype, and checked:
    a gradient may have the input's shape or the shape the forward pass broadcast it to,
    nothing else (a larger one would be summed into a wrong number without a word).
    """
    parent = node.parents[position]
    shape = parent.value.shape
    if g is None:
        raise OpError(
            f"op {node.op.name!r} vjp returned None for input #{position} {parent.describe()}, "
            "which requires a gradient; return None only where needs_grad is False"
        )
    if isinstance(g, Recorded) and not on_nodes:
        _bad_gradient(node, position, f"a Node ({g.describe()})")
    if not on_nodes:
        if isinstance(g, np.ma.MaskedArray):
            _bad_gradient(node, position, "a masked array (its mask would be dropped)")
        if not isinstance(g, (np.ndarray, np.generic, float, int)) or isinstance(g, bool):
            _bad_gradient(node, position, f"{type(g).__name__} {g!r:.40}")
        g = np.asarray(g)
        if g.dtype.kind not in "biuf":
            _bad_gradient(node, position, f"an array of dtype {g.dtype}")
    if g.shape != shape:
        # The output's own shape is the common case (a bias broadcast over examples), and
        # always a broadcast of the input's; anything else gets the full check.
        legal = g.shape == node.value.shape or _broadcast_from(shape, g.shape, node)
        fitted = unbroadcast(g, shape) if legal else None
        if fitted is None:
            op = node.op
            raise OpError(
                f"op {op.name!r} vjp returned a gradient of shape {g.shape} for input "
                f"#{position} {parent.describe()}, whose forward output has shape "
                f"{node.value.shape}: a gradient must have the input's shape or the shape "
                f"the forward pass broadcast it to; fix {op.__name__}.vjp"
            )
        g = fitted
    if g.dtype != parent.value.dtype:
        # A float32 parameter used with float64 data keeps a float32 gradient.
        g = g.astype(parent.value.dtype)
    return g


def _broadcast_from(shape: tuple[int, ...], g_shape: tuple[int, ...], node: Any) -> bool:
    """Whether ``g_shape`` is ``shape`` broadcast no further than the forward output reached.

    Each axis the reduction would sum over (a new leading axis, or a length-1 axis of the
    input that g stretches) must exist in the output with g's length, counting from the
    right; matmul's core axes are the only ones of g that may differ from the output's.
    """
    out_shape = node.value.shape
    extra = len(g_shape) - len(shape)
    if extra < 0 or len(g_shape) > max(len(out_shape), len(shape)):
        return False
    for axis, length in enumerate(g_shape):
        reduced = axis < extra or (shape[axis - extra] == 1 and length != 1)
        if reduced:
            from_right = len(g_shape) - axis
            if from_right > len(out_shape) or out_shape[-from_right] != length:
                return False
    return True


def _bad_gradient(node: Any, position: int, what: str) -> None:
    op = node.op
    parent = node.parents[position]
    raise OpError(
        f"op {op.name!r} vjp returned {what} for input #{position} {parent.describe()}; a "
        "gradient is a real NumPy array (or NumPy scalar) shaped like the input. In a "
        "first-order pass vjps get arrays and should compute with NumPy, not build Nodes"
    )


def _report_nonfinite_gradient(node: Any, position: int, g_parent: Any) -> None:
    """Say where a gradient first became inf/NaN: in ``node``'s vjp, or in a sum of finite parts."""
    op = node.op
    parent = node.parents[position]
    g_parent = np.asarray(g_parent)
    if numerics.all_finite(g_parent):
        numerics.report(
            f"the gradient of {parent.describe()} overflowed to inf while adding up its "
            f"contributions (the latest through {op.name} at {node.describe()})",
        )
        return
    hint = f"; {op.nonfinite_hint}" if op.nonfinite_hint else ""
    numerics.report(
        f"the gradient reaching input #{position} {parent.describe()} through {op.name} "
        f"({node.describe()}) is not finite ({numerics.describe_nonfinite(g_parent)}) "
        f"although the gradient of the {op.name} output is{hint}",
    )
