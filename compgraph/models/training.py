"""One training loop for every model: build the cost on fresh parameter Nodes, take its
gradients, record, print, and let an optimizer (``compgraph.models.optimizers``) step.

``run_training`` is the loop ``compgraph.models.logistic.optimize``, ``networks.train`` and
the estimators share. Each step builds the graph anew on fresh leaf Nodes (so no graph grows
across steps and the caller's arrays are never touched), so a model only says how its cost
is computed from its parameters and a batch of data.

Full batch, one step per iteration, is the default. With ``mini_batch_size`` the data are
split by ``random_mini_batches`` as the course does, and the loop runs over epochs, drawing
the batches of each epoch with a seed one higher than the last (the course's ``model``
increments its seed before each epoch); the epoch's cost is Σ (batch cost · batch size) / m.

Long runs are compiled (issue 23): the step (parameters, X, Y, step inputs) → (J, gradients)
goes through ``cg.compile`` of ``cg.value_and_grad`` of the cost, so after one trace per
batch shape each step replays straight-line NumPy. The first step of every trace is also
taken eagerly and compared bit for bit; the eager loop's numbers are the contract, and any
difference, trace error or trace warning makes the rest of the run eager. ``compile=False``
keeps every step eager, as does a gradient recorder (it is handed the eager graph).

On a Dask X (data larger than memory) every step is the compiled step run on Dask's chunks,
one ``dask.compute`` each (``compgraph.models.distributed.training_step``), full batch only;
the optimizer updates the NumPy parameters here.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import compgraph as cg
from compgraph.errors import ShapeError, TraceError, TraceWarning
from compgraph.models import distributed
from compgraph.node import Node

__all__ = [
    "COMPILE_FROM_EPOCHS",
    "GradientRecorder",
    "TrainingResult",
    "check_compile",
    "check_count",
    "check_seed",
    "progress_bar",
    "random_mini_batches",
    "run_training",
]

#: ``compile=None`` compiles a run of at least this many epochs (each batch shape is then
#: replayed at least this often). Measured (one process, interleaved with eager): a trace
#: and its eager check cost about 25 eager steps of the week-3 flower and the week-4 deep
#: network alike, so 10 steps run 1.5x slower compiled, 25 break even, 50 run 1.1x (deep)
#: to 1.4x (flower) faster, 10 000 flower steps 2.2x.
COMPILE_FROM_EPOCHS = 50


class GradientRecorder(Protocol):
    """What ``gradient_flow=`` accepts: anything with this ``record`` method.

    The loop calls ``record(step, parameters, root=J)`` once per step, after the gradients
    are computed and before the update, with the step's parameter Nodes and the cost node
    J. If ``record`` takes a ``gradients`` keyword (as ``cg.GradientFlow.record`` does), the
    loop passes the gradients it computed with ``cg.gradients``, name → array, and with a
    ``node_gradients`` keyword also the gradient of every node of the pass, Node → array;
    no ``.grad`` is written. A ``record`` without them gets Nodes whose ``.grad``
    ``J.backward()`` filled, as before.

    A recorder that reads only values (the cost, the parameters, the gradients) and no
    graph says so with an attribute ``needs_graph = False``: the loop may then compile
    its steps, and hands it leaf Nodes holding the parameters and J's value. One that reads
    the graph at some steps only has a method ``needs_graph_at(step) -> bool``: those steps
    are eager, the others compiled (``cg.GradientFlow`` with ``nodes=True`` reads the graph
    at the steps it records). Any other recorder keeps every step eager, so that it sees
    each step's graph.
    """

    def record(self, iteration: int, parameters: dict[Any, Node], root: Node) -> Any: ...


@dataclass(frozen=True)
class TrainingResult:
    """What ``run_training`` returns.

    Attributes:
        parameters: the parameters after the last step (name → read-only array).
        costs: the cost of epochs 0, ``record_every``, 2·``record_every``, … (for full
            batch, an epoch is one step, measured before that step's update).
        gradients: the last step's gradients (name → read-only array).
        state: the optimizer's state after the last step.
        steps: the number of updates taken.
        traces: how many step signatures (batch shapes) were compiled; 0 for an eager run.
        compiled_steps: how many steps took their gradients from compiled code (the rest,
            eager: all of them when compilation was off or given up).
        stopped: whether ``stop`` ended the run early (``parameters`` are then those of
            the step it stopped at, before that step's update).
    """

    parameters: dict[Any, np.ndarray]
    costs: list[float]
    gradients: dict[Any, np.ndarray]
    state: Any
    steps: int
    traces: int = 0
    compiled_steps: int = 0
    stopped: bool = False


def random_mini_batches(
    X: Any, Y: Any, mini_batch_size: int = 64, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffle the examples (columns) and cut them into mini-batches, as the course does.

    A legacy ``np.random.RandomState(seed)`` (the stream of ``np.random.seed(seed)``) draws
    a permutation of the m columns; X and Y are shuffled by it together, then cut into
    ⌊m / size⌋ full batches and, when size does not divide m, a last smaller one of the
    m mod size examples left. NumPy's global random state is never touched.

    Args:
        X: the examples as columns, (n_x, m).
        Y: the labels as columns, (n_y, m) (the course's (1, m)).
        mini_batch_size: the examples per batch (a positive integer).
        seed: the permutation's seed (a non-negative integer).

    Returns:
        A list of ``(mini_batch_X, mini_batch_Y)`` pairs of new arrays.

    Raises:
        ShapeError: X or Y is not 2-D, or their numbers of columns differ.
        ValueError: ``mini_batch_size`` or ``seed`` is out of range.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.training import random_mini_batches
        >>> X, Y = np.arange(10.0).reshape(2, 5), np.array([[0, 1, 0, 1, 0]])
        >>> batches = random_mini_batches(X, Y, mini_batch_size=2, seed=0)
        >>> [batch_X.shape for batch_X, _ in batches]
        [(2, 2), (2, 2), (2, 1)]
        >>> batches[0][0].tolist(), batches[0][1].tolist()
        ([[2.0, 0.0], [7.0, 5.0]], [[0, 0]])
    """
    where = "random_mini_batches"
    X_array, Y_array = np.asarray(X), np.asarray(Y)
    if X_array.ndim != 2 or Y_array.ndim != 2 or X_array.shape[1] != Y_array.shape[1]:
        raise ShapeError(
            f"{where}: X and Y must be 2-D with one example per column and the same number "
            f"of columns, got shapes {X_array.shape} and {Y_array.shape}"
        )
    size = check_count(mini_batch_size, "mini_batch_size", where)
    check_seed(seed, "seed", where)
    m = X_array.shape[1]
    permutation = np.random.RandomState(int(seed)).permutation(m)
    shuffled_X, shuffled_Y = X_array[:, permutation], Y_array[:, permutation]
    return [
        (shuffled_X[:, start : start + size], shuffled_Y[:, start : start + size])
        for start in range(0, m, size)
    ]


def run_training(
    cost: Callable[..., Node],
    parameters: Mapping[Any, Any],
    X: Any,
    Y: Any,
    optimizer: Any,
    num_epochs: int,
    *,
    mini_batch_size: int | None = None,
    mini_batch_seed: int = 0,
    schedule: Callable[[int], float] | None = None,
    record_every: int = 100,
    print_every: int = 0,
    progress: bool = False,
    gradient_flow: GradientRecorder | None = None,
    description: str = "training",
    step_inputs: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    stop: Callable[[int, float], bool] | None = None,
) -> TrainingResult:
    """The training loop: ``num_epochs`` passes of optimizer steps on ``cost``'s gradients.

    Each step makes a fresh leaf Node per parameter (named by its key), builds
    J = ``cost(nodes, X_batch, Y_batch)``, takes the gradients of J, records the cost,
    hands the step to ``gradient_flow`` and applies ``optimizer.update``. Printing, the
    progress bar and the gradient recorder are here once, for every model.

    Compiled (the default for runs of ``COMPILE_FROM_EPOCHS`` epochs or more), the step
    ``(parameters, X_batch, Y_batch, inputs) → (J, gradients)`` is ``cg.compile`` of
    ``cg.value_and_grad`` of ``cost``: traced once per batch shape, its first call checked
    bit for bit against the eager step, then replayed without Nodes. The parameters, the
    costs and the gradients are the eager loop's, bit for bit; a cost that cannot be traced
    (a Python branch on a value, a value read through ``.value``) trains eagerly instead.

    Args:
        cost: builds the scalar cost node from the parameter Nodes and a batch's X and Y
            Nodes (examples as columns), and with ``step_inputs`` also the step's inputs
            (name → array, or Node when compiled): ``cost(nodes, X, Y, inputs)``.
        parameters: the starting parameters, name → array (never modified).
        X, Y: the data, examples as columns; Nodes are used as they are for full batches.
            X may be a Dask array (full batch, compiled; see the module's docstring).
        optimizer: an object with ``init`` and ``update`` (see ``optimizers``).
        num_epochs: the passes over the data (for full batch, the steps).
        mini_batch_size: None for full batch, else the size of ``random_mini_batches``.
        mini_batch_seed: the seed before the first epoch; epoch e draws with seed + e + 1.
        schedule: epoch → learning rate, applied after each epoch as the course's
            ``model`` does (epoch 0 runs at the optimizer's rate, epoch e at schedule(e − 1)).
        record_every: record the cost of every ``record_every``-th epoch.
        print_every: print ``Cost after iteration i: J`` (``epoch`` with mini-batches)
            every ``print_every`` epochs; 0 prints nothing.
        progress: show a tqdm progress bar (see ``progress_bar``).
        gradient_flow: a ``GradientRecorder`` called once per step, or None. Its steps
            are eager (it is handed the step's own graph) unless it declares
            ``needs_graph = False``, or only those where its ``needs_graph_at(step)``.
        description: the progress bar's label.
        step_inputs: X_batch → the step's random inputs (dropout masks), drawn once per
            step before its cost, so that eager and compiled steps see the same draws.
        compile: True compiles the step, False keeps every step eager, None (the default)
            compiles runs of at least ``COMPILE_FROM_EPOCHS`` epochs.
        stop: called with each step's number and cost, after its gradients and before its
            update; True ends the run there, with that step's parameters (an early stop).

    Returns:
        A ``TrainingResult``.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.optimizers import GradientDescent
        >>> from compgraph.models.training import run_training
        >>> def cost(nodes, X, Y):  # J = mean((wx - y)²)
        ...     return ((nodes["w"] * X - Y) ** 2).mean()
        >>> result = run_training(
        ...     cost, {"w": 0.0}, np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]]),
        ...     GradientDescent(0.1), num_epochs=50, record_every=10)
        >>> round(float(result.parameters["w"]), 6), len(result.costs)
        (2.0, 5)
        >>> compiled = run_training(
        ...     cost, {"w": 0.0}, np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]]),
        ...     GradientDescent(0.1), num_epochs=50, record_every=10, compile=True)
        >>> compiled.parameters["w"] == result.parameters["w"], compiled.traces
        (np.True_, 1)
    """
    where = "run_training"
    epochs = check_count(num_epochs, "num_epochs", where)
    record_every = check_count(record_every, "record_every", where)
    compile = check_compile(compile, where)  # noqa: A001
    unit = "iteration" if mini_batch_size is None else "epoch"
    graph_at = _graph_steps(gradient_flow)  # the steps that must be eager
    # Out of core: every step is the compiled step's code on Dask's chunks, one compute each.
    on_dask = distributed.is_dask_array(X)
    if on_dask:
        distributed.check_trainable(
            X, where, mini_batch_size=mini_batch_size, compile=compile, recorder=gradient_flow
        )
    full_batch: list[tuple[Any, Any]] | None = None
    size = 0 if mini_batch_size is None else check_count(mini_batch_size, "mini_batch_size", where)
    if on_dask:
        full_batch = [(X, _dask_labels(Y, X.dtype))]
        m = X.shape[-1]
    elif mini_batch_size is None:
        full_batch = [(_data_node(X, "X"), _data_node(Y, "Y"))]
        m = full_batch[0][0].shape[-1]
    else:
        X_values, Y_values = _value(X), _value(Y)
        m = np.shape(X_values)[-1]
    hooks = _recorder_hooks(gradient_flow)
    compiled = None
    if on_dask or (
        graph_at is not _every_graph
        and (epochs >= COMPILE_FROM_EPOCHS if compile is None else compile)
    ):
        compiled = _CompiledStep(cost, with_inputs=step_inputs is not None)
    current: dict[Any, Any] = {name: _value(value) for name, value in parameters.items()}
    state = optimizer.init(current)
    learning_rate: float | None = None
    costs: list[float] = []
    gradients: dict[Any, np.ndarray] = {}
    step = 0
    stopped = False
    bar = progress_bar(epochs, description) if progress else None
    try:
        for epoch in range(epochs):
            if full_batch is not None:
                batches = full_batch
            else:
                # The course's model: seed = seed + 1, then draw this epoch's batches.
                batches = [
                    (
                        Node(bx, name="X", requires_grad=False),
                        Node(by, name="Y", requires_grad=False),
                    )
                    for bx, by in random_mini_batches(
                        X_values, Y_values, size, mini_batch_seed + epoch + 1
                    )
                ]
            total = 0.0
            for X_node, Y_node in batches:
                inputs = None if step_inputs is None else step_inputs(_value(X_node))

                if on_dask:
                    assert compiled is not None
                    batch_cost, gradients = compiled.on_dask(current, X_node, Y_node, inputs)
                    if gradient_flow is not None:
                        _record_values(gradient_flow, step, current, batch_cost, gradients, hooks)
                elif compiled is not None and not compiled.given_up and not graph_at(step):
                    eager_check = functools.partial(
                        _eager_step, cost, current, X_node, Y_node, inputs, None, step, hooks
                    )
                    batch_cost, gradients = compiled(
                        current, X_node.value, Y_node.value, inputs, eager_check
                    )
                    if gradient_flow is not None:
                        _record_values(gradient_flow, step, current, batch_cost, gradients, hooks)
                else:
                    batch_cost, gradients = _eager_step(
                        cost, current, X_node, Y_node, inputs, gradient_flow, step, hooks
                    )
                if stop is not None and stop(step, batch_cost):
                    stopped = True
                    break
                # One batch: its cost is the epoch's, bit for bit (no · m / m).
                total = batch_cost if len(batches) == 1 else total + batch_cost * X_node.shape[-1]
                current, state = optimizer.update(
                    current, gradients, state, learning_rate=learning_rate
                )
                step += 1
            if stopped:
                break
            epoch_cost = total if len(batches) == 1 else total / m
            if schedule is not None:
                learning_rate = schedule(epoch)
            if epoch % record_every == 0:
                costs.append(epoch_cost)
            if print_every and epoch % print_every == 0:
                lines = [f"Cost after {unit} {epoch}: {epoch_cost:f}"]
                if schedule is not None:
                    lines.append(f"learning rate after {unit} {epoch}: {learning_rate:f}")
                for line in lines:
                    # tqdm.write lifts the bar off the screen first; print would land after it.
                    if bar is None:
                        print(line)
                    else:
                        bar.write(line)
            if bar is not None:
                bar.update()
                if epoch % record_every == 0:
                    bar.set_postfix(cost=f"{epoch_cost:.6f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    traces = 0 if compiled is None else compiled.traces
    replayed = 0 if compiled is None else compiled.steps
    return TrainingResult(current, costs, gradients, state, step, traces, replayed, stopped)


def _record_values(
    recorder: Any,
    step: int,
    parameters: dict[Any, Any],
    cost: float,
    gradients: dict[Any, Any],
    hooks: frozenset[str],
) -> None:
    """A graph-free recorder's call for a compiled step: leaf Nodes of the values."""
    nodes = {name: Node(value, name=name) for name, value in parameters.items()}
    root = Node(np.float64(cost), name="J", requires_grad=False)
    extra: dict[str, Any] = {}
    if "gradients" in hooks:
        extra["gradients"] = gradients
    if "node_gradients" in hooks:
        extra["node_gradients"] = {nodes[name]: g for name, g in gradients.items()}
    recorder.record(step, nodes, root=root, **extra)


def _eager_step(
    cost: Callable[..., Node],
    parameters: dict[Any, Any],
    X: Node,
    Y: Node,
    inputs: dict[str, Any] | None,
    recorder: Any,
    step: int,
    hooks: frozenset[str],
) -> tuple[float, dict[Any, Any]]:
    """One step on the graph: J on fresh parameter Nodes, and its gradients."""
    nodes = {name: Node(value, name=name) for name, value in parameters.items()}
    J = cost(nodes, X, Y) if inputs is None else cost(nodes, X, Y, inputs)
    gradients = _gradients(J, nodes, recorder, step, hooks)
    return J.item(), gradients


class _CompiledStep:
    """One run's compiled step: ``cg.compile`` of the cost's value and gradients.

    A call whose batch shapes are new may trace: trace warnings are errors there (a value
    the trace would freeze), and a call that traced is compared with the eager step, bit for
    bit. Any failure gives the compiled step up for the rest of the run (``given_up``);
    the eager step's results are returned instead, so the numbers are always eager's.
    """

    def __init__(self, cost: Callable[..., Node], with_inputs: bool) -> None:
        if with_inputs:
            value_and_grad = cg.value_and_grad(cost)
        else:

            def cost_of(parameters: Any, X: Any, Y: Any, inputs: Any) -> Node:
                return cost(parameters, X, Y)

            value_and_grad = cg.value_and_grad(cost_of)

        def step(parameters: Any, X: Any, Y: Any, inputs: Any) -> Any:
            return value_and_grad(parameters, X, Y, inputs)

        self.function = cg.compile(step)
        self.given_up = False
        self.steps = 0
        self._seen: set[Any] = set()

    @property
    def traces(self) -> int:
        return self.function.traces

    def on_dask(
        self, parameters: dict[Any, Any], X: Any, Y: Any, inputs: dict[str, Any] | None
    ) -> tuple[float, dict[Any, Any]]:
        """A step on a Dask X: no eager step to fall back on or compare with (it would hold
        X), so a cost that cannot be traced, or whose trace would freeze a value, raises."""
        first = self.function.traces == 0
        try:
            with warnings.catch_warnings():
                if first:
                    warnings.simplefilter("error", TraceWarning)
                result = distributed.training_step(self.function, parameters, X, Y, inputs)
        except TraceWarning as warning:
            raise TraceError(
                f"run_training: a Dask X trains only compiled, and the cost cannot be: {warning}"
            ) from None
        self.steps += 1
        return result

    def __call__(
        self,
        parameters: dict[Any, Any],
        X: Any,
        Y: Any,
        inputs: dict[str, Any] | None,
        eager_step: Callable[[], tuple[float, dict[Any, Any]]],
    ) -> tuple[float, dict[Any, Any]]:
        # Integer data would be static (hashed per call, a trace per batch): floats are
        # exact for them, and the first call's check proves the step's numbers unchanged.
        X, Y = _floats(X), _floats(Y)
        arguments = (parameters, X, Y, {} if inputs is None else inputs)
        shapes = (X.shape, Y.shape, *((k, np.shape(v)) for k, v in arguments[3].items()))
        traces = self.function.traces
        try:
            if shapes in self._seen:
                J, gradients = self.function(*arguments)
            else:
                self._seen.add(shapes)
                with warnings.catch_warnings():
                    # A value the trace would keep fixed: train eagerly rather than warn.
                    warnings.simplefilter("error", TraceWarning)
                    J, gradients = self.function(*arguments)
        except Exception:  # untraceable (or eager raises): the eager step says which
            self.given_up = True
            return eager_step()
        if self.function.traces != traces:
            expected = eager_step()
            if not _same_step((float(J), gradients), expected):
                self.given_up = True
                return expected
        self.steps += 1
        for gradient in gradients.values():
            # Read-only, as the eager pass's gradients are.
            gradient.flags.writeable = False
        return float(J), gradients


def _floats(data: Any) -> Any:
    array = np.asarray(data)
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _same_step(
    result: tuple[float, dict[Any, Any]], expected: tuple[float, dict[Any, Any]]
) -> bool:
    """Bit for bit: the costs and every gradient's dtype, shape and bytes."""
    (J, gradients), (J_eager, eager) = result, expected
    if np.float64(J).tobytes() != np.float64(J_eager).tobytes() or gradients.keys() != eager.keys():
        return False
    for name, gradient in gradients.items():
        array, other = np.asarray(gradient), np.asarray(eager[name])
        if (array.dtype, array.shape) != (other.dtype, other.shape):
            return False
        if array.tobytes() != other.tobytes():
            return False
    return True


def progress_bar(total: int, description: str) -> Any:
    """A tqdm bar of ``total`` steps: Jupyter's widget in a notebook, text elsewhere.

    Raises:
        ImportError: tqdm is not installed.

    Example:
        >>> from compgraph.models.training import progress_bar
        >>> bar = progress_bar(2, "demo")  # drawn on standard error
        >>> for _ in range(2):
        ...     _ = bar.update()
        >>> bar.n, bar.close()
        (2, None)
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs the optional package tqdm: pip install tqdm "
            "(or pip install 'compgraph[progress]')"
        ) from None
    return tqdm(total=total, desc=description, unit="it")


def check_count(value: Any, name: str, where: str) -> int:
    """``value`` as an int, if it is a positive integer; else a ValueError naming it.

    Example:
        >>> from compgraph.models.training import check_count
        >>> check_count(64, "mini_batch_size", "train")
        64
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_compile(value: Any, where: str) -> bool | None:
    """``value``, if it is a ``compile=`` setting (True, False or None); else a TypeError.

    Example:
        >>> from compgraph.models.training import check_compile
        >>> check_compile(False, "train")
        False
    """
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{where}: compile must be True (compile the training step), False (keep it "
            f"eager) or None (compile runs of {COMPILE_FROM_EPOCHS} epochs or more), got "
            f"{value!r}"
        )
    return None if value is None else bool(value)


def check_seed(value: Any, name: str, where: str) -> int:
    """``value`` as an int, if it is a seed NumPy's legacy generator takes (0 ≤ seed < 2³²).

    Example:
        >>> from compgraph.models.training import check_seed
        >>> check_seed(10, "mini_batch_seed", "train")
        10
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 0 <= int(value) < 2**32
    ):
        raise ValueError(
            f"{where}: {name} must be an integer from 0 to 2**32 - 1 (a seed of NumPy's "
            f"legacy generator), got {value!r}"
        )
    return int(value)


def _graph_steps(recorder: Any) -> Callable[[int], bool]:
    """step -> whether the recorder reads that step's graph (so it must be eager): never
    without one, or for one that reads values only; its ``needs_graph_at`` when it names
    the steps; always when it may read any step's graph."""
    if recorder is None or getattr(recorder, "needs_graph", True) is False:
        return _no_graph
    graph_at = getattr(recorder, "needs_graph_at", None)
    return graph_at if callable(graph_at) else _every_graph


def _no_graph(step: int) -> bool:
    return False


def _every_graph(step: int) -> bool:
    return True


def _recorder_hooks(recorder: Any) -> frozenset[str]:
    """Which of the keywords ``gradients`` and ``node_gradients`` the recorder's record takes."""
    if recorder is None:
        return frozenset()
    try:
        parameters = inspect.signature(recorder.record).parameters
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return frozenset({"gradients", "node_gradients"})
    return frozenset({"gradients", "node_gradients"} & set(parameters))


def _gradients(
    J: Node, nodes: dict[Any, Node], recorder: Any, step: int, hooks: frozenset[str]
) -> dict[Any, Any]:
    """The step's gradients of J, from the engine's pure pass, and the recorder's call."""
    if recorder is not None and "gradients" not in hooks:
        # A recorder written for the older call reads each Node's .grad: backward() fills it.
        J.backward()
        gradients = {name: node.grad for name, node in nodes.items()}
        recorder.record(step, nodes, root=J)
        return gradients
    if recorder is None:
        return dict(cg.gradients(J, nodes))
    extra: dict[str, Any] = {}
    observe = None
    if "node_gradients" in hooks:
        # The gradient reaching each node, as the pass itself computed it.
        seen: dict[Node, Any] = {}
        extra["node_gradients"] = seen

        def observe(backward_step: Any) -> None:
            seen[backward_step.node] = backward_step.grad

    gradients = dict(cg.gradients(J, nodes, observe=observe))
    if "node_gradients" in extra:
        extra["node_gradients"].update({nodes[name]: g for name, g in gradients.items()})
    recorder.record(step, nodes, root=J, gradients=gradients, **extra)
    return gradients


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Node) else value


def _dask_labels(Y: Any, dtype: Any) -> Any:
    """A Dask run's labels in X's float dtype: integer labels would be static arguments of
    the compiled step (read by value), and a Dask Y is converted lazily."""
    if distributed.is_dask_array(Y):
        return Y if Y.dtype == dtype else Y.astype(dtype)
    return np.asarray(_value(Y), dtype=dtype)


def _data_node(data: Any, name: str) -> Node:
    if isinstance(data, Node):
        return data
    return Node(data, name=name, requires_grad=False)
