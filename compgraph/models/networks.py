"""Neural networks with hidden layers, in the course's notation, trained through the engine.

Examples are the columns of ``X`` (n_x, m); labels ``Y`` are (1, m) in {0, 1}. A network is
given by ``layer_dims = [n_x, n_1, …, n_L]`` and its parameters
``{"W1": (n_1, n_x), "b1": (n_1, 1), …, "WL": (n_L, n_{L-1}), "bL": (n_L, 1)}``. Forward:

    A[0] = X,   Z[l] = W[l] A[l-1] + b[l],   A[l] = g(Z[l]) for l < L,   A[L] = σ(Z[L])

with the hidden activation g = tanh or ReLU, and the cost J = -(1/m) Σ (Y ln A[L] +
(1-Y) ln(1-A[L])), taken from the logit Z[L] so that it never forms ln 0. ``forward`` and
``compute_cost`` record that graph and ``J.backward()`` fills every parameter's ``.grad``;
``backward_analytic`` is the course's hand-written backpropagation in plain NumPy, which
the engine's gradients are checked against:

    dZ[L] = A[L] - Y,   dW[l] = dZ[l] A[l-1]ᵀ / m,   db[l] = mean of dZ[l] over examples,
    dA[l-1] = W[l]ᵀ dZ[l],   dZ[l] = dA[l] ⊙ g′(Z[l])

``NetworkClassifier`` wraps the same functions in scikit-learn's conventions (samples as rows).
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

import compgraph as cg
from compgraph.errors import ShapeError
from compgraph.models import distributed
from compgraph.models.estimators import (
    BinaryClassifier,
    TrainingWatch,
    check_binary_labels,
    check_positive_int,
    finite_real_array,
)
from compgraph.models.optimizers import (
    GradientDescent,
    make_optimizer,
    schedule_lr_decay,
    update_lr,
)
from compgraph.models.training import (
    GradientRecorder,
    check_compile,
    check_count,
    check_seed,
    run_training,
)
from compgraph.node import Node
from compgraph.numerics import fold_nonfinite_reports

__all__ = [
    "COST_EVERY",
    "HIDDEN_ACTIVATIONS",
    "INITIALIZATIONS",
    "GradientRecorder",
    "NetworkClassifier",
    "backward_analytic",
    "compute_cost",
    "compute_cost_with_regularization",
    "forward",
    "initialize_parameters",
    "plot_decision_boundary",
    "predict",
    "propagate",
    "train",
    "update_parameters",
]

INITIALIZATIONS = ("zeros", "random", "he", "sqrt")
"""The weights' initializations ``initialize_parameters`` and ``train`` know by name."""

HIDDEN_ACTIVATIONS = ("relu", "tanh")
"""The hidden activations ``forward`` knows: ReLU max(z, 0) and tanh."""

COST_EVERY = 100
"""How often, in iterations, ``train`` records the cost (the course's 100)."""

Parameters = dict[str, np.ndarray]
Grads = dict[str, np.ndarray]


# -- the course's functions ------------------------------------------------------------------


def initialize_parameters(
    layer_dims: Sequence[int],
    seed: int = 1,
    scale: float | str = 0.01,
    initialization: str | None = None,
) -> Parameters:
    """Weights chosen by ``initialization`` and zero biases, drawn as the course draws them.

    A legacy generator ``np.random.RandomState(seed)`` (the stream of ``np.random.seed(seed)``
    then ``np.random.randn``) draws one ``randn(n_l, n_{l-1})`` per layer, in order, and
    each is scaled by the initialization (see ``INITIALIZATIONS``):

    - ``"random"``: randn × ``scale`` (the course's 0.01; its initialization lesson's × 10
      shows what too large does);
    - ``"he"``: randn × √(2 / n_{l-1}), He et al.'s, for ReLU layers;
    - ``"sqrt"``: randn / √n_{l-1}, the course's deep model;
    - ``"zeros"``: all weights 0 (no draws), which never breaks the symmetry of a layer.

    Without ``initialization`` it is ``"random"`` × ``scale``, or ``"sqrt"`` when
    ``scale="sqrt"`` (the older spelling). Biases are zeros. NumPy's global random state is
    never touched.

    Args:
        layer_dims: ``[n_x, n_1, …, n_L]``, the size of the input and of every layer.
        seed: the generator's seed (a non-negative integer).
        scale: a non-negative number, or ``"sqrt"`` for W[l] = randn / √n_{l-1}.
        initialization: ``"zeros"``, ``"random"``, ``"he"`` or ``"sqrt"``, or None.

    Returns:
        ``{"W1": (n_1, n_x), "b1": (n_1, 1), …}``, float64 arrays.

    Raises:
        ValueError: ``layer_dims`` is not a list of at least two positive integers, or
            ``seed`` or ``scale`` is out of range.

    Example:
        >>> from compgraph.models.networks import initialize_parameters
        >>> parameters = initialize_parameters([2, 4, 1], seed=2)
        >>> {name: value.shape for name, value in parameters.items()}
        {'W1': (4, 2), 'b1': (4, 1), 'W2': (1, 4), 'b2': (1, 1)}
        >>> parameters["W1"][0].round(8).tolist()
        [-0.00416758, -0.00056267]
    """
    where = "initialize_parameters"
    dims = _check_layer_dims(layer_dims, where)
    _check_seed(seed, where)
    _check_scale(scale, where)
    kind = _initialization(initialization, scale, where)
    generator = np.random.RandomState(int(seed))
    parameters: Parameters = {}
    for l in range(1, len(dims)):  # noqa: E741 - l is the course's layer index
        shape = (dims[l], dims[l - 1])
        if kind == "zeros":
            parameters[f"W{l}"] = np.zeros(shape)
        elif kind == "he":
            parameters[f"W{l}"] = generator.randn(*shape) * np.sqrt(2 / dims[l - 1])
        elif kind == "sqrt":
            parameters[f"W{l}"] = generator.randn(*shape) / np.sqrt(dims[l - 1])
        else:
            parameters[f"W{l}"] = generator.randn(*shape) * float(scale)
        parameters[f"b{l}"] = np.zeros((dims[l], 1))
    return parameters


def forward(X: ArrayLike | Node, parameters: Mapping[str, Any], hidden: str = "relu") -> Node:
    """Record the forward pass and return the output node A[L] = σ(Z[L]).

    The graph's nodes are named as the course writes them: ``X``, ``W1``, ``b1``, ``Z1``,
    ``A1``, …, ``ZL``, ``AL``. Parameters given as Nodes are used as they are, so after
    ``compute_cost(AL, Y).backward()`` their ``.grad`` holds dJ/dW[l] and dJ/db[l]; arrays
    become new parameter Nodes.

    Args:
        X: the examples as columns, (n_x, m): an array, or a Node (used as it is).
        parameters: ``{"W1": …, "b1": …, …}`` as arrays or Nodes.
        hidden: the hidden layers' activation, ``"relu"`` or ``"tanh"``.

    Returns:
        The node A[L] of shape (n_L, m), the sigmoid of its parent Z[L].

    Raises:
        ShapeError: the parameters do not chain (the message names the first that does not),
            or X does not have n_x rows.
        DataError: a value is NaN or inf.
        DTypeError: a value does not hold real numbers.
        ValueError: an unknown ``hidden`` activation, or parameters missing or extra.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import forward, initialize_parameters
        >>> AL = forward(np.ones((2, 3)), initialize_parameters([2, 4, 1]), hidden="tanh")
        >>> AL.name, AL.shape, AL.parents[0].name
        ('A2', (1, 3), 'Z2')
    """
    where = "forward"
    activation = _activation(hidden, where)
    nodes = {
        name: value if isinstance(value, Node) else Node(value, name=name)
        for name, value in _checked_parameters(parameters, where).items()
    }
    X_node = _data_node(X, "X", where)
    _check_examples(X_node.value, _dims_of(nodes), where)
    return _forward(X_node, nodes, activation)


def compute_cost(AL: Node, Y: ArrayLike) -> Node:
    """The cross-entropy cost J = -(1/m) Σ (Y ln A[L] + (1-Y) ln(1-A[L])), as a node.

    J is computed from A[L]'s logit Z[L] (``AL.parents[0]``) by the fused
    ``cg.sigmoid_cross_entropy``, which equals the formula above but never forms ln 0: it
    stays finite and exact where σ(Z[L]) rounds to 0 or 1. Its gradient in Z[L] is
    (A[L] - Y)/m, the course's dZ[L] averaged.

    Args:
        AL: the output node of ``forward``, shape (1, m): it must be a sigmoid's output.
        Y: the labels in {0, 1}, shape (1, m).

    Returns:
        The scalar node J (named ``J``; its parent, the loss of each example, is ``L``).

    Raises:
        TypeError: ``AL`` is not a Node made by ``cg.sigmoid``.
        ShapeError: ``AL`` is not (1, m), or ``Y`` is not (1, m).
        DataError: ``Y`` holds a value other than 0 and 1.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import compute_cost, forward, initialize_parameters
        >>> parameters = initialize_parameters([2, 1], scale=0.0)
        >>> J = compute_cost(forward(np.ones((2, 4)), parameters), [[1, 0, 1, 0]])
        >>> J.name, round(J.item(), 6)
        ('J', 0.693147)
    """
    return _cost(AL, _cost_labels(AL, Y, "compute_cost"))


def _cost_labels(AL: Any, Y: Any, where: str) -> Node:
    """Y as a constant Node, once AL is checked to be a sigmoid output of shape (1, m)."""
    if not isinstance(AL, Node) or AL.op is not cg.ops.Sigmoid:
        made_by = (
            f"a {type(AL).__name__}"
            if not isinstance(AL, Node)
            else ("a leaf Node" if AL.op is None else f"a Node made by {AL.op.name}")
        )
        raise TypeError(
            f"{where}: AL must be the sigmoid output node that forward returns (the cost "
            f"is taken from its logit Z[L] = AL.parents[0]), got {made_by}; pass "
            "forward(X, parameters) itself"
        )
    if AL.ndim != 2 or AL.shape[0] != 1:
        raise ShapeError(
            f"{where}: AL has shape {AL.shape}; a binary classifier's output must have "
            "shape (1, m): make the last layer a single unit (layer_dims ending in 1)"
        )
    return Node(_labels(Y, AL.shape[1], where), name="Y", requires_grad=False)


def compute_cost_with_regularization(
    AL: Node, Y: ArrayLike, parameters: Mapping[str, Any], lambd: float
) -> Node:
    """The cost with the L2 penalty: J = cross-entropy + (λ/2m) Σ_l ‖W[l]‖²_F, as a node.

    The course's ``compute_cost_with_regularization``: ``compute_cost(AL, Y)`` plus
    (1/m)(λ/2)(Σ W1² + Σ W2² + …). Backpropagating it adds (λ/m)·W[l] to each dW[l], the
    term the course writes by hand. Parameters given as Nodes are used as they are (so
    their gradients include the penalty's); arrays are constants here.

    Args:
        AL, Y: as for ``compute_cost``.
        parameters: ``{"W1": …, "b1": …, …}`` as arrays or Nodes.
        lambd: λ ≥ 0 (the course's name; ``lambda`` is Python's keyword).

    Returns:
        The scalar node J; its parents are the cross-entropy and the penalty ``L2``.

    Raises:
        TypeError, ShapeError, DataError: as for ``compute_cost``.
        ValueError: a negative or non-finite λ, or parameters that do not chain.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import compute_cost_with_regularization, forward
        >>> parameters = {"W1": np.array([[1.0, 2.0]]), "b1": np.zeros((1, 1))}
        >>> AL = forward(np.zeros((2, 4)), parameters)
        >>> J = compute_cost_with_regularization(AL, [[1, 0, 1, 0]], parameters, lambd=0.8)
        >>> round(J.item() - float(np.log(2)), 12)  # (0.8 / (2·4)) · (1 + 4)
        0.5
    """
    where = "compute_cost_with_regularization"
    lambd = _real(lambd, "lambd", where, low=0.0)
    Y_node = _cost_labels(AL, Y, where)
    weights = _checked_parameters(parameters, where)
    return _regularized_cost(
        AL,
        Y_node,
        [
            value if isinstance(value, Node) else Node(value, name=name, requires_grad=False)
            for name, value in weights.items()
            if name.startswith("W")
        ],
        lambd,
    )


def backward_analytic(
    X: ArrayLike, Y: ArrayLike, parameters: Mapping[str, Any], hidden: str = "relu"
) -> Grads:
    """The course's hand-written backpropagation, in plain NumPy (no graph).

    Forward in NumPy, then from the output back:
    dZ[L] = A[L] - Y; for l = L, …, 1: dW[l] = dZ[l] A[l-1]ᵀ / m, db[l] = mean of dZ[l]
    over the examples, dA[l-1] = W[l]ᵀ dZ[l] and dZ[l-1] = dA[l-1] ⊙ g′(Z[l-1]), with
    tanh′(z) = 1 - tanh²(z) and ReLU′(z) = 1 where z > 0, else 0.

    Args:
        X, Y: the examples as columns (n_x, m) and the labels in {0, 1} (1, m).
        parameters: ``{"W1": …, "b1": …, …}`` as arrays or Nodes (their values are used).
        hidden: ``"relu"`` or ``"tanh"``.

    Returns:
        ``{"dW1": …, "db1": …, …}``, each shaped like its parameter.

    Raises:
        ShapeError, DataError, DTypeError, ValueError: as for ``forward`` and
            ``compute_cost``.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import backward_analytic, initialize_parameters
        >>> parameters = initialize_parameters([1, 1], scale=0)
        >>> grads = backward_analytic([[1.0, -1.0]], [[1, 0]], parameters)
        >>> grads["dW1"].tolist(), grads["db1"].tolist()
        ([[-0.5]], [[0.0]])
    """
    where = "backward_analytic"
    _activation(hidden, where)
    weights = {
        name: np.asarray(_value(v)) for name, v in _checked_parameters(parameters, where).items()
    }
    dims = _dims_of(weights)
    X_array = finite_real_array(_value(X), "X", where)
    _check_examples(X_array, dims, where)
    _check_output(dims, where)
    m = X_array.shape[1]
    Y_array = _labels(Y, m, where)
    L = len(dims) - 1

    # A[l] and Z[l] numbered as in the course: A[0] is X, and layer 0 has no Z.
    activations: list[np.ndarray] = [X_array]
    logits: dict[int, np.ndarray] = {}
    for l in range(1, L + 1):  # noqa: E741
        Z = weights[f"W{l}"] @ activations[-1] + weights[f"b{l}"]
        logits[l] = Z
        if l == L:
            activations.append(cg.ops.Sigmoid(Z))
        elif hidden == "tanh":
            activations.append(np.tanh(Z))
        else:
            activations.append(np.maximum(Z, 0.0))

    grads: Grads = {}
    dZ = activations[L] - Y_array
    for l in range(L, 0, -1):  # noqa: E741
        grads[f"dW{l}"] = dZ @ activations[l - 1].T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            dA = weights[f"W{l}"].T @ dZ
            if hidden == "tanh":
                dZ = dA * (1 - activations[l - 1] ** 2)
            else:
                dZ = dA * (logits[l - 1] > 0)
    return {name: grads[name] for name in sorted(grads, key=_layer_order)}


def propagate(
    X: ArrayLike, Y: ArrayLike, parameters: Mapping[str, Any], hidden: str = "relu"
) -> tuple[Grads, float]:
    """The cost J and its gradients, found by backpropagating through the engine's graph.

    Args:
        X, Y, parameters, hidden: as for ``backward_analytic``.

    Returns:
        ``(grads, cost)``: ``{"dW1": …, "db1": …, …}`` (new arrays, each shaped like its
        parameter) and J as a float.

    Raises:
        ShapeError, DataError, DTypeError, ValueError: as for ``backward_analytic``.

    Example:
        >>> from compgraph.models.networks import initialize_parameters, propagate
        >>> grads, cost = propagate([[1.0, -1.0]], [[1, 0]], initialize_parameters([1, 1], scale=0))
        >>> grads["dW1"].tolist(), grads["db1"].tolist(), round(cost, 6)
        ([[-0.5]], [[0.0]], 0.693147)
    """
    where = "propagate"
    activation = _activation(hidden, where)
    arrays = {name: _value(v) for name, v in _checked_parameters(parameters, where).items()}
    nodes = {name: Node(value, name=name) for name, value in arrays.items()}
    X_node = _data_node(_value(X), "X", where)
    dims = _dims_of(nodes)
    _check_examples(X_node.value, dims, where)
    _check_output(dims, where)
    Y_node = Node(_labels(Y, X_node.shape[1], where), name="Y", requires_grad=False)
    J = _cost(_forward(X_node, nodes, activation), Y_node)
    found = cg.gradients(J, nodes)
    # Fresh arrays: the engine's gradients are read-only and may be shared.
    return {f"d{name}": np.array(g, dtype=np.float64) for name, g in found.items()}, J.item()


def update_parameters(
    parameters: Mapping[str, Any], grads: Mapping[str, ArrayLike], learning_rate: float
) -> Parameters:
    """One gradient-descent step: W[l] ← W[l] - α dW[l], b[l] ← b[l] - α db[l].

    Args:
        parameters: ``{"W1": …, "b1": …, …}`` as arrays or Nodes; never modified.
        grads: ``{"dW1": …, "db1": …, …}``, one gradient per parameter, shaped like it.
        learning_rate: the step size α (> 0).

    Returns:
        The new parameters, as new arrays.

    Raises:
        ValueError: a gradient is missing, or ``learning_rate`` is not positive.
        ShapeError: a gradient's shape differs from its parameter's.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import update_parameters
        >>> new = update_parameters({"W1": np.ones((1, 2)), "b1": np.zeros((1, 1))},
        ...                         {"dW1": np.ones((1, 2)), "db1": np.ones((1, 1))}, 0.5)
        >>> new["W1"].tolist(), new["b1"].tolist()
        ([[0.5, 0.5]], [[-0.5]])
    """
    where = "update_parameters"
    _check_learning_rate(learning_rate, where)
    arrays = {name: _value(v) for name, v in _checked_parameters(parameters, where).items()}
    missing = [f"d{name}" for name in arrays if f"d{name}" not in grads]
    if missing:
        raise ValueError(
            f"update_parameters: grads has no {', '.join(missing)}; it needs one gradient "
            f"d<name> per parameter ({', '.join('d' + name for name in arrays)})"
        )
    new: Parameters = {}
    for name, value in arrays.items():
        grad = finite_real_array(grads[f"d{name}"], f"d{name}", where)
        if grad.shape != value.shape:
            raise ShapeError(
                f"update_parameters: d{name} has shape {grad.shape} but {name} has shape "
                f"{value.shape}; each gradient must have its parameter's shape"
            )
        new[name] = value - learning_rate * grad
    return new


def train(
    X: ArrayLike,
    Y: ArrayLike,
    layer_dims: Sequence[int],
    learning_rate: float = 0.0075,
    num_iterations: int = 3000,
    hidden: str = "relu",
    print_cost: bool = False,
    seed: int = 1,
    scale: float | str = 0.01,
    gradient_flow: GradientRecorder | None = None,
    *,
    print_every: int = COST_EVERY,
    initialization: str | None = None,
    l2: float = 0.0,
    keep_prob: float = 1.0,
    dropout_seed: int = 1,
    fixed_dropout_masks: bool = False,
    optimizer: Any = "gd",
    beta: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    mini_batch_size: int | None = None,
    mini_batch_seed: int = 10,
    num_epochs: int | None = None,
    decay_rate: float | None = None,
    time_interval: int | None = None,
    progress: bool = False,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
) -> tuple[Parameters, list[float]]:
    """Train a network initialised by ``initialize_parameters``, as the course's models do.

    Every step builds the graph on fresh parameter Nodes (so no graph grows across steps),
    takes the gradients of J and lets the optimizer step (``compgraph.models.training``'s
    loop). By default that is full-batch gradient descent, ``num_iterations`` steps of
    ``update_parameters``. The course's second-course lessons are keywords:

    - the cost gains the L2 penalty (λ/2m)·Σ_l ‖W[l]‖²_F with ``l2=λ`` (the engine derives
      its (λ/m)·W[l] gradient term);
    - inverted dropout with ``keep_prob < 1``: each hidden layer's A[l] becomes
      A[l] ⊙ D[l] / keep_prob with D[l] = (rand(A[l].shape) < keep_prob) drawn layer by
      layer from ``RandomState(dropout_seed)``: fresh masks each step, or with
      ``fixed_dropout_masks=True`` the notebook's re-seeding before every forward pass (the
      same masks every step). The masks enter each step as inputs ``D1``, ``D2``, …;
      ``predict`` never drops;
    - ``optimizer``: ``"gd"``, ``"momentum"`` (with ``beta``), ``"rmsprop"`` (``beta2``,
      ``epsilon``), ``"adam"`` (``beta1``, ``beta2``, ``epsilon``) or an optimizer object
      (see ``compgraph.models.optimizers``);
    - ``mini_batch_size``: ``num_epochs`` passes over ``random_mini_batches`` drawn with
      seeds ``mini_batch_seed + 1``, ``+ 2``, … (the course's model starts at 10); the cost
      of an epoch is Σ batch cost · batch size / m;
    - ``decay_rate``: after each epoch the rate becomes α₀ / (1 + decay_rate · epoch)
      (``update_lr``), or with ``time_interval`` α₀ / (1 + decay_rate · ⌊epoch /
      time_interval⌋) (``schedule_lr_decay``).

    Args:
        X: the examples as columns, (n_x, m), with n_x = ``layer_dims[0]``; or a Dask
            array, larger than memory: each full-batch step is then one ``dask.compute``
            of the compiled step (docs/how-to/backends.md).
        Y: the labels in {0, 1}, (1, m).
        layer_dims: ``[n_x, n_1, …, 1]``: one output unit.
        learning_rate: the step size α (> 0).
        num_iterations: how many full-batch steps to take (at least 1).
        hidden: ``"relu"`` or ``"tanh"``.
        print_cost: print ``Cost after iteration i: J`` (``epoch`` with mini-batches) every
            ``print_every`` iterations.
        seed, scale, initialization: as for ``initialize_parameters``.
        gradient_flow: an object whose ``record(iteration, parameters, root=J)`` is called
            after each step's gradients (e.g. a ``cg.GradientFlow``), or None.
        print_every: how often to print, in iterations (the course prints every 100 for
            deep models, every 1000 for week 3's).
        l2: the L2 penalty's λ ≥ 0.
        keep_prob: the probability in (0, 1] of keeping a hidden unit (1: no dropout).
        dropout_seed: the masks' seed; fixed_dropout_masks: re-seed before every step.
        optimizer, beta, beta1, beta2, epsilon: the optimizer and its settings.
        mini_batch_size, mini_batch_seed: mini-batches (None: full batch) and their seed.
        num_epochs: passes over the data; replaces ``num_iterations`` when given.
        decay_rate, time_interval: the learning-rate schedule (None: a constant rate).
        progress: show a tqdm progress bar.
        compile: the training step is compiled (``cg.compile``: traced once per batch shape,
            then replayed as NumPy, with the eager step's numbers bit for bit) for runs of
            at least ``COMPILE_FROM_EPOCHS`` (50) epochs when None, always when True, never
            when False. With ``gradient_flow`` the steps are eager.

    Returns:
        ``(parameters, costs)``: the trained parameters and the cost at iterations (epochs)
        0, 100, 200, … (before that iteration's step).

    Raises:
        ShapeError, DataError, DTypeError: as for ``forward`` and ``compute_cost``.
        ValueError: a setting out of range (the message names it).
        TypeError: ``gradient_flow`` has no ``record`` method, or ``optimizer`` is neither a
            name nor an optimizer.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.datasets import planar_flower
        >>> from compgraph.models.networks import predict, train
        >>> X, Y = planar_flower()
        >>> parameters, costs = train(X, Y, [2, 4, 1], 1.2, 1000, hidden="tanh", seed=2)
        >>> len(costs), round(costs[0], 6), round(costs[-1], 6)
        (10, 0.693048, 0.290478)
        >>> float(np.mean(predict(parameters, X, hidden="tanh") == Y))
        0.8925
        >>> _, costs = train(X, Y, [2, 4, 1], 0.01, hidden="tanh", initialization="he",
        ...                  optimizer="adam", mini_batch_size=64, num_epochs=101)
        >>> len(costs), costs[-1] < costs[0]
        (2, True)
    """
    where = "train"
    activation = _activation(hidden, where)
    dims = _check_layer_dims(layer_dims, where)
    _check_output(dims, where)
    _check_training(learning_rate, num_iterations, print_every, seed, scale, where)
    if gradient_flow is not None and not callable(getattr(gradient_flow, "record", None)):
        raise TypeError(
            f"train: gradient_flow must have a record(iteration, parameters, root) method, "
            f"got {type(gradient_flow).__name__}; pass e.g. cg.GradientFlow() or None"
        )
    epochs = num_iterations if num_epochs is None else num_epochs
    settings = _TrainingSettings.checked(
        where, learning_rate=learning_rate, num_epochs=epochs,
        initialization=initialization, scale=scale, l2=l2, keep_prob=keep_prob,
        dropout_seed=dropout_seed, fixed_dropout_masks=fixed_dropout_masks,
        optimizer=optimizer, beta=beta, beta1=beta1, beta2=beta2, epsilon=epsilon,
        mini_batch_size=mini_batch_size, mini_batch_seed=mini_batch_seed,
        decay_rate=decay_rate, time_interval=time_interval,
    )  # fmt: skip
    # A Dask X stays lazy: run_training reads it chunk by chunk, one compute per step, and
    # checks its values when a step's result is not finite.
    if distributed.is_dask_array(X):
        distributed.check_trainable(
            X, where, mini_batch_size=mini_batch_size, compile=compile, recorder=gradient_flow
        )
    X_node: Any = X if distributed.is_dask_array(X) else _data_node(X, "X", where)
    _check_examples(_value(X_node), dims, where)
    Y_node = Node(_labels(Y, X_node.shape[1], where), name="Y", requires_grad=False)

    parameters = initialize_parameters(dims, seed, scale, initialization)
    # A diverging run repeats its non-finite reports at every step: one warning per kind.
    with fold_nonfinite_reports():
        return _descend(
            X_node, Y_node, parameters, activation, float(learning_rate), settings.num_epochs,
            print_every=int(print_every) if print_cost else 0,
            gradient_flow=gradient_flow, settings=settings, progress=progress,
            compile=check_compile(compile, where),
        )  # fmt: skip


def predict(parameters: Mapping[str, Any], X: ArrayLike, hidden: str = "relu") -> np.ndarray:
    """Predicted labels: 1.0 where A[L] > 0.5, else 0.0 (computed without recording a graph).

    Args:
        parameters: ``{"W1": …, "b1": …, …}`` as arrays or Nodes, one output unit.
        X: the examples as columns, (n_x, m); or a Dask array, read lazily.
        hidden: ``"relu"`` or ``"tanh"``: the activation the network was trained with.

    Returns:
        A float array of shape (1, m) holding 0.0 and 1.0 (for a Dask X, a Dask array:
        nothing is computed until it is).

    Raises:
        ShapeError, DataError, DTypeError, ValueError: as for ``forward``.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.networks import predict
        >>> parameters = {"W1": np.array([[2.0]]), "b1": np.array([[-1.0]])}
        >>> predict(parameters, [[0.0, 1.0]]).tolist()
        [[0.0, 1.0]]
    """
    return (_probabilities(parameters, X, hidden, where="predict") > 0.5).astype(np.float64)


def _probabilities(
    parameters: Mapping[str, Any],
    X: ArrayLike,
    hidden: str = "relu",
    *,
    where: str = "predict_proba",
) -> np.ndarray:
    """A[L], the predicted probability that y = 1 for each column of X, as an array (1, m)."""
    activation = _activation(hidden, where)
    arrays = {name: _value(v) for name, v in _checked_parameters(parameters, where).items()}
    dims = _dims_of(arrays)
    _check_output(dims, where)
    if distributed.is_dask_array(X):
        distributed.check_trainable(X, where)
        _check_examples(X, dims, where)  # type: ignore[arg-type]
        # Lazily, chunk by chunk: the compiled forward builds Dask's tasks, computing nothing;
        # each chunk of X is checked as it is read, as NumPy's X is checked up front.
        X = distributed.finite_chunks(X, "X", where)
        probabilities: np.ndarray = _compiled_probabilities(arrays, X, hidden)
        return probabilities
    with cg.no_grad():
        X_node = _data_node(_value(X), "X", where)
        _check_examples(X_node.value, dims, where)
        nodes = {
            name: Node(value, name=name, requires_grad=False) for name, value in arrays.items()
        }
        return _forward(X_node, nodes, activation).value


@cg.compile
def _compiled_probabilities(parameters: Mapping[str, Any], X: Any, hidden: str) -> Node:
    """A[L] of each column of X; compiled, so that a Dask X is read lazily, chunk by chunk."""
    return _forward(X, parameters, _activation(hidden, "predict"))


def plot_decision_boundary(
    parameters: Mapping[str, Any],
    X: ArrayLike,
    Y: ArrayLike,
    hidden: str = "relu",
    path: str | Path | None = None,
    *,
    resolution: int = 300,
    title: str | None = None,
) -> Any:
    """Draw the plane coloured by the network's prediction, with the examples on top.

    For two-feature data such as ``planar_flower``'s: every point of a grid covering the
    examples is classified by ``predict``, the two regions are shaded, and the examples are
    drawn in their true class's colour. Needs matplotlib (optional:
    ``pip install 'compgraph[examples]'``). With ``path`` the figure is drawn off-screen
    and saved atomically (the format follows the suffix); without it the figure comes from
    pyplot, for ``plt.show()`` or a notebook.

    Args:
        parameters: the trained ``{"W1": …, "b1": …, …}``, with n_x = 2.
        X, Y: the examples as columns (2, m) and their labels (1, m).
        hidden: the activation the network was trained with.
        path: where to save the picture, or None.
        resolution: grid points along each axis.
        title: the figure's title (default: the accuracy on X).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed.
        ShapeError, DataError, DTypeError, ValueError: as for ``predict``; X must have two
            rows.

    Example:
        >>> import tempfile, pathlib
        >>> from compgraph.models.datasets import planar_flower
        >>> from compgraph.models.networks import plot_decision_boundary, train
        >>> X, Y = planar_flower()
        >>> parameters, _ = train(X, Y, [2, 4, 1], 1.2, 100, hidden="tanh", seed=2)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "boundary.png"
        >>> figure = plot_decision_boundary(parameters, X, Y, "tanh", path)
        >>> path.stat().st_size > 0
        True
    """
    where = "plot_decision_boundary"
    X_array = finite_real_array(_value(X), "X", where)
    if X_array.ndim != 2 or X_array.shape[0] != 2 or X_array.shape[1] == 0:
        raise ShapeError(
            f"{where}: X has shape {X_array.shape}; a picture in the plane needs two features, "
            "X of shape (2, m) with one example per column"
        )
    Y_array = _labels(Y, X_array.shape[1], where)
    check_positive_int(resolution, "resolution", where)
    accuracy = float(np.mean(predict(parameters, X_array, hidden) == Y_array))
    try:
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_decision_boundary needs the optional package matplotlib: pip install "
            "matplotlib (or pip install 'compgraph[examples]')"
        ) from None

    low, high = X_array.min(axis=1) - 1.0, X_array.max(axis=1) + 1.0
    u, v = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.stack([u.ravel(), v.ravel()])
    regions = predict(parameters, grid, hidden).reshape(u.shape)

    if path is None:
        import matplotlib.pyplot as plt

        figure = plt.figure()
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        figure = Figure()
        FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = ["#d62728", "#1f77b4"]  # class 0 red, class 1 blue, as the course draws them
    axes.contourf(u, v, regions, levels=[-0.5, 0.5, 1.5], cmap=ListedColormap(colours), alpha=0.3)
    axes.scatter(
        X_array[0],
        X_array[1],
        c=Y_array[0],
        cmap=ListedColormap(colours),
        s=12,
        edgecolors="k",
        linewidths=0.3,
    )
    axes.set_xlabel("$x_1$")
    axes.set_ylabel("$x_2$")
    axes.set_title(
        title
        if title is not None
        else f"Decision boundary ({100 * accuracy:.1f} % of the examples right)"
    )
    axes.set_aspect("equal")
    if path is not None:
        _save_atomically(figure, Path(path))
    return figure


def _save_atomically(figure: Any, path: Path) -> None:
    """Save into a temporary file beside ``path``, then rename: never a half-written picture."""
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix
    )
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=100, bbox_inches="tight")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


# -- the estimator -----------------------------------------------------------------------------


class NetworkClassifier(BinaryClassifier):
    """A network with hidden layers and a sigmoid output, in scikit-learn's style.

    Samples are rows here (``X`` of shape (n_samples, n_features), ``y`` of shape
    (n_samples,) holding any two labels), as scikit-learn expects; inside, the model is
    ``train``'s network with ``layer_dims = [n_features, *hidden_layer_sizes, 1]``, learning
    P(y = ``classes_[1]``). The defaults are the course's week-3 model (one hidden layer of
    4 tanh units, learning rate 1.2, weights randn × 0.01 with seed 2), with two changes
    that make it train on data as they come, and quickly:

    - ``standardize=True``: the network sees each feature standardised, (x - mean) / std
      with the mean and standard deviation ``fit`` saw (a constant feature is only
      centred). With raw features in the thousands the tanh units saturate at ±1 from the
      first step and the network can only predict the majority class: on scikit-learn's
      breast-cancer data, 63 % with raw features and over 98 % standardised.
    - ``tol=1e-4``: training stops once the cost has not fallen more than ``tol`` below its
      best for ``n_iter_no_change`` steps in a row (scikit-learn's ``MLPClassifier`` rule;
      50 steps rather than its 10 epochs, since one full-batch step moves less than an
      epoch and the course's small initial weights start on a plateau), else after
      ``num_iterations``.

    With ``standardize=False`` and ``tol=None``, ``fit`` is exactly ``train``. A learning
    rate too large for the data is reported once: inf or NaN is a ``NonFiniteError``, a
    cost that ends above where it started a ``ConvergenceWarning``, each naming the rate.
    It is a scikit-learn estimator (``clone``, pipelines, ``cross_val_score``,
    ``GridSearchCV``) through ``compgraph.models.estimators.BinaryClassifier``, without
    needing scikit-learn installed.

    Args:
        hidden_layer_sizes: the units of each hidden layer, e.g. ``(20, 7, 5)``; a single
            number means one hidden layer, ``()`` none (logistic regression).
        activation: the hidden layers' activation, ``"tanh"`` or ``"relu"``.
        learning_rate: the gradient-descent step α (> 0).
        num_iterations: the most steps ``fit`` takes.
        seed: the seed of the weights' initialisation (see ``initialize_parameters``).
        scale: the initial weights' scale: a number, or ``"sqrt"`` for randn / √n_{l-1}.
        print_cost: print the cost every ``print_every`` iterations while fitting.
        print_every: how often to print, in iterations.
        initialization: as for ``initialize_parameters`` (None: by ``scale``).
        alpha: the L2 penalty's λ (``train``'s ``l2``; scikit-learn's name).
        keep_prob, dropout_seed, fixed_dropout_masks: dropout, as for ``train``.
        solver: ``train``'s ``optimizer``: ``"gd"``, ``"momentum"``, ``"rmsprop"``,
            ``"adam"`` or an optimizer object (scikit-learn's ``"sgd"`` and ``"lbfgs"`` are
            not these).
        momentum: momentum's β (``train``'s ``beta``; scikit-learn's name).
        beta_1, beta_2, epsilon: Adam's and RMSprop's settings (``beta1``, ``beta2``).
        batch_size: the mini-batch size (None: full batch); ``num_iterations`` then counts
            epochs, as scikit-learn's ``max_iter`` does.
        mini_batch_seed: the mini-batches' seed, as for ``train``.
        decay_rate, time_interval: the learning-rate schedule, as for ``train``.
        standardize: standardise the features (True) or give them to the network as they
            are (False).
        tol: the least fall of the cost that counts as progress, or None to always take
            ``num_iterations`` steps.
        n_iter_no_change: how many steps in a row without progress stop training.
        compile: compile the training step, as for ``train`` (None: long runs; False: eager).

    Attributes (after ``fit``):
        parameters_: the trained ``{"W1": (n_1, n_features), "b1": (n_1, 1), …}``, acting on
            the standardised features when ``standardize`` is True.
        feature_mean_, feature_scale_: the mean and the scale (the standard deviation, 1
            for a constant feature) of each feature, shape (n_features,), when
            ``standardize`` is True.
        layer_dims_: ``[n_features, *hidden_layer_sizes, 1]``.
        costs_: the cost at iterations 0, 100, 200, … of training.
        n_iter_: the number of iterations run (an early stop keeps the parameters whose
            cost its last iteration measured, before that iteration's update).
        classes_: the two labels, sorted; ``classes_[1]`` is the positive class.
        n_features_in_: the number of features seen by ``fit``.

    Example:
        >>> from compgraph.models.datasets import planar_flower
        >>> from compgraph.models.networks import NetworkClassifier
        >>> X, Y = planar_flower()
        >>> model = NetworkClassifier().fit(X.T, Y[0])
        >>> model.layer_dims_, model.n_iter_ < 1000, model.score(X.T, Y[0]) > 0.85
        ([2, 4, 1], True, True)
    """

    fits_dask = True  # full batch and compiled, one compute per step (distributed)

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (4,),
        activation: str = "tanh",
        learning_rate: float = 1.2,
        num_iterations: int = 10_000,
        seed: int = 2,
        scale: float | str = 0.01,
        print_cost: bool = False,
        print_every: int = 1000,
        initialization: str | None = None,
        alpha: float = 0.0,
        keep_prob: float = 1.0,
        dropout_seed: int = 1,
        fixed_dropout_masks: bool = False,
        solver: Any = "gd",
        momentum: float = 0.9,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        batch_size: int | None = None,
        mini_batch_seed: int = 10,
        decay_rate: float | None = None,
        time_interval: int | None = None,
        standardize: bool = True,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 50,
        compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.num_iterations = num_iterations
        self.seed = seed
        self.scale = scale
        self.print_cost = print_cost
        self.print_every = print_every
        self.initialization = initialization
        self.alpha = alpha
        self.keep_prob = keep_prob
        self.dropout_seed = dropout_seed
        self.fixed_dropout_masks = fixed_dropout_masks
        self.solver = solver
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.mini_batch_seed = mini_batch_seed
        self.decay_rate = decay_rate
        self.time_interval = time_interval
        self.standardize = standardize
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.compile = compile

    def _fit_encoded(self, X: np.ndarray, y: np.ndarray) -> None:
        where = "NetworkClassifier.fit"
        activation = _activation(self.activation, where, name="activation")
        dims = [X.shape[1], *_hidden_sizes(self.hidden_layer_sizes, where), 1]
        _check_training(
            self.learning_rate, self.num_iterations, self.print_every, self.seed, self.scale, where
        )
        settings = _TrainingSettings.checked(
            where, learning_rate=self.learning_rate, num_epochs=self.num_iterations,
            initialization=self.initialization, scale=self.scale, l2=self.alpha,
            keep_prob=self.keep_prob, dropout_seed=self.dropout_seed,
            fixed_dropout_masks=self.fixed_dropout_masks, optimizer=self.solver,
            beta=self.momentum, beta1=self.beta_1, beta2=self.beta_2, epsilon=self.epsilon,
            mini_batch_size=self.batch_size, mini_batch_seed=self.mini_batch_seed,
            decay_rate=self.decay_rate, time_interval=self.time_interval,
            names={"l2": "alpha", "mini_batch_size": "batch_size", "num_epochs": "num_iterations"},
        )  # fmt: skip
        _check_stopping(self.standardize, self.tol, self.n_iter_no_change, where)
        for name in ("feature_mean_", "feature_scale_"):
            if hasattr(self, name):  # from an earlier fit with standardize=True
                delattr(self, name)
        on_dask = distributed.is_dask_array(X)
        if on_dask:  # what only full-batch, compiled steps refuse, refused before any pass
            distributed.check_trainable(
                X.T, where, mini_batch_size=self.batch_size, compile=self.compile,
                batch_name="batch_size",
            )  # fmt: skip
        if self.standardize:
            mean, scale = X.mean(axis=0), X.std(axis=0)
            if on_dask:  # one pass over X for both
                mean, scale = distributed.compute(mean, scale)
            self.feature_mean_, self.feature_scale_ = mean, np.where(scale > 0, scale, 1.0)
            X = self._standardised(X)
        # The early stop reads the cost of each step: a full batch's, not a mini-batch's.
        full_batch = self.batch_size is None
        watch = TrainingWatch(
            where, float(self.learning_rate), int(self.num_iterations),
            tol=None if self.tol is None or not full_batch else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
        )  # fmt: skip
        with watch.running():
            parameters, costs = _descend(
                X.T if on_dask else Node(X.T, name="X", requires_grad=False),
                Node(y.reshape(1, -1), name="Y", requires_grad=False),
                initialize_parameters(dims, self.seed, self.scale, self.initialization),
                activation, float(self.learning_rate), int(self.num_iterations),
                print_every=int(self.print_every) if self.print_cost else 0,
                gradient_flow=None, settings=settings, stop=watch.should_stop,
                compile=check_compile(self.compile, where),
            )  # fmt: skip
        if full_batch:
            watch.warn_if_diverged()
        self.parameters_ = parameters  # an early stop's: those of the step it stopped at
        self.layer_dims_ = dims
        self.costs_ = watch.costs[::COST_EVERY] if watch.stopped else costs
        self.n_iter_ = len(watch.costs) if watch.stopped else int(self.num_iterations)

    def _positive_probability(self, X: np.ndarray) -> np.ndarray:
        return _probabilities(self.parameters_, self._standardised(X).T, self.activation)[0, :]

    def _standardised(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "feature_mean_"):
            return X
        standardised: np.ndarray = (X - self.feature_mean_) / self.feature_scale_
        return standardised


def _check_stopping(standardize: Any, tol: Any, n_iter_no_change: Any, where: str) -> None:
    if not isinstance(standardize, (bool, np.bool_)):
        raise ValueError(f"{where}: standardize must be True or False, got {standardize!r}")
    if tol is not None and (
        not isinstance(tol, numbers.Real)
        or isinstance(tol, bool)
        or not math.isfinite(tol)
        or tol < 0
    ):
        raise ValueError(f"{where}: tol must be None or a non-negative finite number, got {tol!r}")
    check_positive_int(n_iter_no_change, "n_iter_no_change", where)


def _hidden_sizes(sizes: Any, where: str) -> list[int]:
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    message = (
        f"{where}: hidden_layer_sizes must be a positive integer or a sequence of them "
        f"(the units of each hidden layer, e.g. (20, 7, 5)), got {sizes!r}"
    )
    if (
        isinstance(sizes, (str, bytes))
        or not isinstance(sizes, (Sequence, np.ndarray))
        # A 0-d array cannot be iterated, and a 2-D one is no list of sizes.
        or (isinstance(sizes, np.ndarray) and sizes.ndim != 1)
    ):
        raise ValueError(message)
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1 for n in sizes
    ):
        raise ValueError(message)
    return [int(n) for n in sizes]


# -- the graph ---------------------------------------------------------------------------------


class _TrainingSettings(NamedTuple):
    """Training's settings past the course's first lessons, checked once for ``train`` and
    ``NetworkClassifier.fit``; the defaults are plain full-batch gradient descent."""

    num_epochs: int
    l2: float = 0.0
    keep_prob: float = 1.0
    dropout_seed: int = 1
    fixed_dropout_masks: bool = False
    optimizer: Any = None
    mini_batch_size: int | None = None
    mini_batch_seed: int = 10
    schedule: Any = None

    @classmethod
    def checked(
        cls,
        where: str,
        *,
        learning_rate: float,
        num_epochs: Any,
        initialization: Any,
        scale: Any,
        l2: Any,
        keep_prob: Any,
        dropout_seed: Any,
        fixed_dropout_masks: Any,
        optimizer: Any,
        beta: Any,
        beta1: Any,
        beta2: Any,
        epsilon: Any,
        mini_batch_size: Any,
        mini_batch_seed: Any,
        decay_rate: Any,
        time_interval: Any,
        names: Mapping[str, str] | None = None,
    ) -> _TrainingSettings:
        """Check every setting, naming it as the caller spells it (``names``)."""
        name = dict(names or {}).get
        _initialization(initialization, scale, where)
        epochs = check_count(num_epochs, name("num_epochs", "num_epochs"), where)
        l2_value = _real(l2, name("l2", "l2"), where, low=0.0)
        keep = _real(keep_prob, "keep_prob", where, low=0.0)
        if not 0 < keep <= 1:
            raise ValueError(
                f"{where}: keep_prob must be in (0, 1] (the probability of keeping a unit; 1 "
                f"turns dropout off), got {keep_prob!r}"
            )
        check_seed(dropout_seed, "dropout_seed", where)
        if not isinstance(fixed_dropout_masks, (bool, np.bool_)):
            raise TypeError(
                f"{where}: fixed_dropout_masks must be True or False, got {fixed_dropout_masks!r}"
            )
        chosen = make_optimizer(
            optimizer, float(learning_rate), beta=beta, beta1=beta1, beta2=beta2,
            epsilon=epsilon, where=where,
        )  # fmt: skip
        size = (
            None
            if mini_batch_size is None
            else check_count(mini_batch_size, name("mini_batch_size", "mini_batch_size"), where)
        )
        check_seed(mini_batch_seed, "mini_batch_seed", where)
        schedule = None
        if decay_rate is not None:
            rate = _real(decay_rate, "decay_rate", where, low=0.0)
            alpha0 = float(learning_rate)
            if time_interval is None:
                schedule = functools.partial(_continuous_decay, alpha0, rate)
            else:
                interval = check_count(time_interval, "time_interval", where)
                schedule = functools.partial(_interval_decay, alpha0, rate, interval)
        elif time_interval is not None:
            raise ValueError(f"{where}: time_interval needs a decay_rate (the schedule's decay)")
        return cls(
            epochs, l2_value, keep, int(dropout_seed), bool(fixed_dropout_masks), chosen, size,
            int(mini_batch_seed), schedule,
        )  # fmt: skip


def _continuous_decay(alpha0: float, rate: float, epoch: int) -> float:
    return update_lr(alpha0, epoch, rate)


def _interval_decay(alpha0: float, rate: float, interval: int, epoch: int) -> float:
    return schedule_lr_decay(alpha0, epoch, rate, interval)


def _descend(
    X: Node,
    Y: Node,
    parameters: Parameters,
    activation: Any,
    learning_rate: float,
    num_iterations: int,
    *,
    print_every: int,
    gradient_flow: GradientRecorder | None,
    settings: _TrainingSettings | None = None,
    progress: bool = False,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    stop: Any = None,
) -> tuple[Parameters, list[float]]:
    """Training on checked inputs by the shared loop; ``print_every=0`` prints nothing;
    ``stop`` as for ``run_training``.

    Without ``settings`` it is full-batch gradient descent with ``learning_rate``.
    """
    if settings is None:
        settings = _TrainingSettings(num_iterations)
    optimizer = settings.optimizer or GradientDescent(learning_rate)
    L = len(parameters) // 2
    keep_prob = settings.keep_prob
    generator = np.random.RandomState(settings.dropout_seed)
    hidden_units = [np.shape(parameters[f"W{layer}"])[0] for layer in range(1, L)]

    def masks(X_batch: np.ndarray) -> dict[str, np.ndarray]:
        # The notebook calls np.random.seed(1) at the top of every forward pass.
        source = (
            np.random.RandomState(settings.dropout_seed)
            if settings.fixed_dropout_masks
            else generator
        )
        return _dropout_masks(source, hidden_units, X_batch.shape[1], keep_prob)

    def cost(nodes: dict[Any, Node], X_batch: Node, Y_batch: Node, inputs: Any = None) -> Node:
        AL = _forward(X_batch, nodes, activation, inputs, keep_prob)
        if settings.l2 == 0:
            return _cost(AL, Y_batch)
        weights = [nodes[f"W{layer}"] for layer in range(1, L + 1)]
        return _regularized_cost(AL, Y_batch, weights, settings.l2)

    result = run_training(
        cost, parameters, X, Y, optimizer, num_iterations,
        mini_batch_size=settings.mini_batch_size, mini_batch_seed=settings.mini_batch_seed,
        schedule=settings.schedule, record_every=COST_EVERY, print_every=print_every,
        progress=progress, gradient_flow=gradient_flow,
        step_inputs=masks if keep_prob < 1 else None, compile=compile, stop=stop,
    )  # fmt: skip
    # Writable copies, as before the shared loop: the caller owns the trained parameters.
    return {name: np.array(value) for name, value in result.parameters.items()}, result.costs


def _dropout_masks(
    generator: np.random.RandomState, hidden_units: Sequence[int], m: int, keep_prob: float
) -> dict[str, np.ndarray]:
    """D[l] = (rand(n_l, m) < keep_prob) for each hidden layer l, drawn in layer order."""
    return {
        f"D{layer}": (generator.rand(n, m) < keep_prob).astype(np.float64)
        for layer, n in enumerate(hidden_units, start=1)
    }


def _forward(
    X: Node,
    parameters: Mapping[str, Node],
    activation: Any,
    masks: Mapping[str, Any] | None = None,
    keep_prob: float = 1.0,
) -> Node:
    L = len(parameters) // 2
    A = X
    for l in range(1, L + 1):  # noqa: E741
        Z = parameters[f"W{l}"] @ A + parameters[f"b{l}"]
        Z.name = f"Z{l}"
        A = cg.sigmoid(Z) if l == L else activation(Z)
        A.name = f"A{l}"
        if masks is not None and l < L:
            # Inverted dropout, in the course's order: A ⊙ D, then / keep_prob so that
            # the expected activation is unchanged. The mask is an input of the step (a
            # traced Node when the step is compiled), drawn outside it.
            D = masks[f"D{l}"]
            if not isinstance(D, Node):
                D = Node(D, name=f"D{l}", requires_grad=False)
            A = (A * D) / keep_prob
            A.name = f"A{l}_dropped"
    return A


def _cost(AL: Node, Y: Node) -> Node:
    loss = cg.sigmoid_cross_entropy(AL.parents[0], Y)
    loss.name = "L"
    J = cg.mean(loss)
    J.name = "J"
    return J


def _regularized_cost(AL: Node, Y: Node, weights: Sequence[Node], lambd: float) -> Node:
    """J = cross-entropy + (λ/2m) Σ_l ‖W[l]‖²_F, the course's compute_cost_with_regularization."""
    cross_entropy = _cost(AL, Y)
    cross_entropy.name = "cross_entropy"
    m = Y.shape[1]
    squares = cg.sum(weights[0] * weights[0])
    for W in weights[1:]:
        squares = squares + cg.sum(W * W)
    penalty = (lambd / (2 * m)) * squares
    penalty.name = "L2"
    J = cross_entropy + penalty
    J.name = "J"
    return J


def _activation(hidden: Any, where: str, name: str = "hidden") -> Any:
    if isinstance(hidden, str) and hidden == "relu":
        return cg.relu
    if isinstance(hidden, str) and hidden == "tanh":
        return cg.tanh
    raise ValueError(
        f"{where}: {name} must be one of {', '.join(map(repr, HIDDEN_ACTIVATIONS))}, got {hidden!r}"
    )


def _layer_order(name: str) -> tuple[int, int]:
    """``W1, b1, W2, b2, …`` (and ``dW1, db1, …``): by layer, then weight before bias."""
    stripped = name.removeprefix("d")
    return int(stripped[1:]), 0 if stripped[0] == "W" else 1


# -- checking inputs ----------------------------------------------------------------------------


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Node) else value


def _data_node(X: Any, name: str, where: str) -> Node:
    if distributed.is_dask_array(X):
        raise TypeError(
            f"{where} records its graph in memory and cannot take a Dask {name}; train, "
            f"predict and NetworkClassifier read Dask arrays chunk by chunk (compiled), or "
            f"pass a NumPy sample ({name}[:, :n].compute())"
        )
    if isinstance(X, Node):
        finite_real_array(X.value, name, where)
        return X
    return Node(finite_real_array(X, name, where), name=name, requires_grad=False)


def _checked_parameters(parameters: Any, where: str) -> dict[str, Any]:
    """The parameters in layer order, checked to be W1, b1, …, WL, bL with chaining shapes.

    Nodes are kept as they are (``forward`` records on them); anything else becomes a float64
    array.
    """
    if not isinstance(parameters, Mapping):
        raise TypeError(
            f"{where}: parameters must be a dict like {{'W1': …, 'b1': …}}, got "
            f"{type(parameters).__name__}"
        )
    L = len(parameters) // 2
    expected = [f"{kind}{l}" for l in range(1, L + 1) for kind in "Wb"]  # noqa: E741
    if L == 0 or sorted(parameters, key=str) != sorted(expected):
        found = ", ".join(map(str, parameters)) or "nothing"
        raise ValueError(
            f"{where}: parameters must hold W1, b1, …, WL, bL for layers 1 to L, found "
            f"{found}; make them with initialize_parameters(layer_dims)"
        )
    ordered: dict[str, Any] = {}
    previous_units: int | None = None
    for l in range(1, L + 1):  # noqa: E741
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        W_array = finite_real_array(_value(W), f"W{l}", where)
        b_array = finite_real_array(_value(b), f"b{l}", where)
        if W_array.ndim != 2:
            raise ShapeError(
                f"{where}: W{l} must be 2-D (n_{l}, n_{l - 1}), got shape {W_array.shape}"
            )
        if previous_units is not None and W_array.shape[1] != previous_units:
            raise ShapeError(
                f"{where}: W{l} has shape {W_array.shape} but layer {l - 1} has "
                f"{previous_units} units (W{l - 1} is {ordered[f'W{l - 1}'].shape}), so W{l} "
                f"must have {previous_units} columns"
            )
        if b_array.shape != (W_array.shape[0], 1):
            raise ShapeError(
                f"{where}: b{l} has shape {b_array.shape} but W{l} has shape {W_array.shape}, "
                f"so b{l} must have shape ({W_array.shape[0]}, 1)"
            )
        ordered[f"W{l}"] = W if isinstance(W, Node) else W_array
        ordered[f"b{l}"] = b if isinstance(b, Node) else b_array
        previous_units = W_array.shape[0]
    return ordered


def _dims_of(parameters: Mapping[str, Any]) -> list[int]:
    """``[n_x, n_1, …, n_L]`` read off checked parameters."""
    L = len(parameters) // 2
    first = np.shape(_value(parameters["W1"]))
    return [first[1]] + [np.shape(_value(parameters[f"W{l}"]))[0] for l in range(1, L + 1)]  # noqa: E741


def _check_examples(X: np.ndarray, dims: Sequence[int], where: str) -> None:
    if X.ndim != 2 or X.shape[1] == 0:
        raise ShapeError(
            f"{where}: X must be a 2-D array (n_x, m) with one example per column, got shape "
            f"{X.shape}"
        )
    if X.shape[0] != dims[0]:
        fix = (
            "; X holds one example per column: pass X.T if your examples are rows"
            if X.shape[1] == dims[0]
            else ""
        )
        raise ShapeError(
            f"{where}: X has shape {X.shape} but the network's first layer takes n_x = "
            f"{dims[0]} features (layer_dims[0]), so X must have shape ({dims[0]}, m){fix}"
        )


def _check_output(dims: Sequence[int], where: str) -> None:
    if dims[-1] != 1:
        raise ValueError(
            f"{where}: the output layer has {dims[-1]} units; a binary classifier has one "
            f"(layer_dims = {list(dims)} must end in 1)"
        )


def _labels(Y: Any, m: int, where: str) -> np.ndarray:
    if distributed.is_dask_array(Y):  # m labels, 1/n_x of a Dask X: checked in memory
        Y = Y.compute()
    Y_array = finite_real_array(_value(Y), "Y", where)
    if Y_array.shape != (1, m):
        fix = "; reshape it with Y.reshape(1, -1)" if Y_array.size == m else ""
        raise ShapeError(
            f"{where}: Y has shape {Y_array.shape} but there are m = {m} examples, so Y must "
            f"have shape (1, {m}){fix}"
        )
    check_binary_labels(Y_array, "Y", where)
    return Y_array


def _check_training(
    learning_rate: Any, num_iterations: Any, print_every: Any, seed: Any, scale: Any, where: str
) -> None:
    """The checks of training's settings, shared by ``train`` and ``NetworkClassifier.fit``."""
    _check_learning_rate(learning_rate, where)
    check_positive_int(num_iterations, "num_iterations", where)
    check_positive_int(print_every, "print_every", where)
    _check_seed(seed, where)
    _check_scale(scale, where)


def _check_layer_dims(layer_dims: Any, where: str) -> list[int]:
    message = (
        f"{where}: layer_dims must be a list [n_x, n_1, …, n_L] of at least two positive "
        f"integers, got {layer_dims!r}"
    )
    if isinstance(layer_dims, (str, bytes)) or not isinstance(layer_dims, Sequence):
        raise ValueError(message)
    dims = list(layer_dims)
    if len(dims) < 2 or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1 for n in dims
    ):
        raise ValueError(message)
    return [int(n) for n in dims]


def _check_seed(seed: Any, where: str) -> None:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")
    if int(seed) >= 2**32:
        raise ValueError(
            f"{where}: seed must be a non-negative integer below 2**32 (the course's "
            f"generator, NumPy's RandomState, takes 32 bits), got {seed!r}"
        )


def _check_scale(scale: Any, where: str) -> None:
    if scale == "sqrt" and isinstance(scale, str):
        return
    if (
        isinstance(scale, str)
        or not isinstance(scale, numbers.Real)
        or isinstance(scale, bool)
        or not math.isfinite(scale)
        or scale < 0
    ):
        raise ValueError(
            f"{where}: scale must be a non-negative number (the course's 0.01) or 'sqrt' "
            f"(W[l] divided by √n_(l-1)), got {scale!r}"
        )


def _check_learning_rate(learning_rate: Any, where: str) -> None:
    if (
        not isinstance(learning_rate, numbers.Real)
        or isinstance(learning_rate, bool)
        or not math.isfinite(learning_rate)
        or learning_rate <= 0
    ):
        raise ValueError(
            f"{where}: learning_rate must be a positive finite number, got {learning_rate!r}"
        )


def _initialization(initialization: Any, scale: Any, where: str) -> str:
    """The initialization's name: the one given, or what ``scale`` alone has always meant."""
    if initialization is None:
        return "sqrt" if isinstance(scale, str) else "random"
    if not isinstance(initialization, str) or initialization not in INITIALIZATIONS:
        raise ValueError(
            f"{where}: initialization must be one of {', '.join(map(repr, INITIALIZATIONS))}, "
            f"got {initialization!r}"
        )
    if isinstance(scale, str) and initialization != "sqrt":
        raise ValueError(
            f"{where}: scale='sqrt' is the 'sqrt' initialization, not {initialization!r}; "
            "give a number as scale (used by 'random') or leave it out"
        )
    return initialization


def _real(value: Any, name: str, where: str, *, low: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < low
    ):
        raise ValueError(f"{where}: {name} must be a finite number >= {low:g}, got {value!r}")
    return float(value)
