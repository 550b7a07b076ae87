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
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import compgraph as cg
from compgraph.errors import ShapeError
from compgraph.node import Node

__all__ = [
    "GradientRecorder",
    "TrainingResult",
    "check_count",
    "check_seed",
    "progress_bar",
    "random_mini_batches",
    "run_training",
]


class GradientRecorder(Protocol):
    """What ``gradient_flow=`` accepts: anything with this ``record`` method.

    The loop calls ``record(step, parameters, root=J)`` once per step, after the gradients
    are computed and before the update, with the step's parameter Nodes and the cost node
    J. If ``record`` takes a ``gradients`` keyword (as ``cg.GradientFlow.record`` does), the
    loop passes the gradients it computed with ``cg.gradients``, name → array, and with a
    ``node_gradients`` keyword also the gradient of every node of the pass, Node → array;
    no ``.grad`` is written. A ``record`` without them gets Nodes whose ``.grad``
    ``J.backward()`` filled, as before.
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
    """

    parameters: dict[Any, np.ndarray]
    costs: list[float]
    gradients: dict[Any, np.ndarray]
    state: Any
    steps: int


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
    cost: Callable[[dict[Any, Node], Node, Node], Node],
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
) -> TrainingResult:
    """The training loop: ``num_epochs`` passes of optimizer steps on ``cost``'s gradients.

    Each step makes a fresh leaf Node per parameter (named by its key), builds
    J = ``cost(nodes, X_batch, Y_batch)``, takes the gradients of J, records the cost,
    hands the step to ``gradient_flow`` and applies ``optimizer.update``. Printing, the
    progress bar and the gradient recorder are here once, for every model.

    Args:
        cost: builds the scalar cost node from the parameter Nodes and a batch's X and Y
            Nodes (examples as columns).
        parameters: the starting parameters, name → array (never modified).
        X, Y: the data, examples as columns; Nodes are used as they are for full batches.
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
        gradient_flow: a ``GradientRecorder`` called once per step, or None.
        description: the progress bar's label.

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
    """
    where = "run_training"
    epochs = check_count(num_epochs, "num_epochs", where)
    record_every = check_count(record_every, "record_every", where)
    unit = "iteration" if mini_batch_size is None else "epoch"
    full_batch = None
    size = 0 if mini_batch_size is None else check_count(mini_batch_size, "mini_batch_size", where)
    if mini_batch_size is None:
        full_batch = [(_data_node(X, "X"), _data_node(Y, "Y"))]
        m = full_batch[0][0].shape[-1]
    else:
        X_values, Y_values = _value(X), _value(Y)
        m = np.shape(X_values)[-1]
    hooks = _recorder_hooks(gradient_flow)
    current: dict[Any, Any] = {name: _value(value) for name, value in parameters.items()}
    state = optimizer.init(current)
    learning_rate: float | None = None
    costs: list[float] = []
    gradients: dict[Any, np.ndarray] = {}
    step = 0
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
                nodes = {name: Node(value, name=name) for name, value in current.items()}
                J = cost(nodes, X_node, Y_node)
                gradients = _gradients(J, nodes, gradient_flow, step, hooks)
                batch_cost = J.item()
                # One batch: its cost is the epoch's, bit for bit (no · m / m).
                total = batch_cost if len(batches) == 1 else total + batch_cost * X_node.shape[-1]
                current, state = optimizer.update(
                    current, gradients, state, learning_rate=learning_rate
                )
                step += 1
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
    return TrainingResult(current, costs, gradients, state, step)


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


def _data_node(data: Any, name: str) -> Node:
    if isinstance(data, Node):
        return data
    return Node(data, name=name, requires_grad=False)
