"""Logistic regression on data larger than memory: the lesson's compiled step on Dask arrays.

``cg.compile`` replays a traced step with the arguments' own array library (issue 21), so
on Dask arrays it builds a task graph instead of computing: forward, backward and the
update of one gradient-descent step become one graph, and one ``dask.compute`` per step
runs it, reading X chunk by chunk, on the threads of this process or on the workers of a
``dask.distributed`` cluster (a ``Client`` made before ``fit`` is used by every compute).
No gradient is written by hand: it is the engine's, recorded once on NumPy stand-ins.

``fit_logistic`` is that loop written out: the update is part of each step's compute. The
shared training loop (``compgraph.models.training.run_training``, so ``LogisticRegression``,
``networks.train`` and ``NetworkClassifier``) takes each of its steps on a Dask X through
``training_step``, and updates the parameters in this process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import compgraph as cg
from compgraph.errors import DataError, NonFiniteError, ShapeError

__all__ = [
    "check_known_shape",
    "check_trainable",
    "compute",
    "descent_step",
    "finite_chunks",
    "fit_logistic",
    "is_dask_array",
    "logistic_gradients",
    "training_step",
]


def _cost(w: Any, b: Any, X: Any, Y: Any) -> Any:
    """J = mean(L(wᵀX + b, Y)): the estimator's cost, examples as the columns of X."""
    return cg.mean(cg.sigmoid_cross_entropy(w.T @ X + b, Y))


def _step(w: Any, b: Any, X: Any, Y: Any, learning_rate: Any) -> Any:
    J, (dw, db) = cg.value_and_grad(_cost, argnums=(0, 1))(w, b, X, Y)
    return J, w - learning_rate * dw, b - learning_rate * db


#: One gradient-descent step, compiled: ``J, w, b = descent_step(w, b, X, Y, learning_rate)``
#: with J the cost before the step. On Dask arrays it computes nothing until ``dask.compute``.
descent_step = cg.compile(_step)
#: The cost and its gradients in w and b, compiled: ``J, (dw, db) = logistic_gradients(...)``.
logistic_gradients = cg.compile(cg.value_and_grad(_cost, argnums=(0, 1)))


def is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a Dask array (checked without importing Dask).

    Example:
        >>> is_dask_array(np.ones(3))
        False
    """
    return type(value).__module__.partition(".")[0] == "dask" and hasattr(value, "chunks")


def fit_logistic(
    X: Any,
    y: Any,
    learning_rate: float = 0.005,
    num_iterations: int = 2000,
    print_every: int = 0,
) -> tuple[np.ndarray, float, list[float]]:
    """Gradient descent from w = 0, b = 0 on ``X``, a Dask array of samples as rows.

    Each step is one ``dask.compute`` of the compiled step (forward, backward, update): X
    is read once per step, chunk by chunk, and never held whole, so it may be larger than
    the memory of this process and of every worker. Chunk X by rows, each chunk holding all
    the features and some 10-100 MB: a chunk is a task, and a task costs the scheduler about
    a millisecond, so chunks of a few MB would spend more time scheduling than reading.

    Args:
        X: a Dask array (n_samples, n_features) of floats.
        y: (n_samples,) labels 0 or 1 (a Dask or NumPy array).
        learning_rate: the step α.
        num_iterations: the number of steps.
        print_every: print the cost every so many steps (0: never).

    Returns:
        The weights w (n_features, 1), the bias b and the cost before each step.

    Raises:
        ShapeError, DTypeError, DataError: X or y is not as above (y is read to check it:
            one label per sample, 1/n_features of X), or X holds NaN or inf.
        NonFiniteError: the run diverged (a learning rate too large for the data).

    Example:
        >>> import dask.array as da
        >>> X = da.from_array(np.array([[0.0], [1.0], [3.0], [4.0]]), chunks=2)
        >>> w, b, costs = fit_logistic(X, np.array([0, 0, 1, 1]), 0.5, 200)
        >>> (costs[-1] < costs[0], w.shape)
        (True, (1, 1))
    """
    where = "fit_logistic"
    check_trainable(X.T, where, layout="one example per row")
    columns = X.T  # the lesson's layout, (n_features, n_samples): a lazy view, no copy
    Y = _binary_labels(y, X.shape[0], where).astype(X.dtype).reshape(1, -1)
    w, b = np.zeros((X.shape[1], 1), dtype=X.dtype), np.zeros((), dtype=X.dtype)[()]
    rate = np.asarray(learning_rate, dtype=X.dtype)[()]
    costs: list[float] = []
    for i in range(num_iterations):
        # one pass over X: forward, backward and the update
        J, w, b = _computed(descent_step(w, b, columns, Y, rate), columns, Y)
        costs.append(float(J))
        if print_every and i % print_every == 0:
            print(f"Cost after iteration {i}: {costs[-1]:f}")
    return np.asarray(w), float(b), costs


def compute(*values: Any) -> tuple[Any, ...]:
    """``dask.compute(*values)``: Dask arrays' values, in one pass over what they read.

    Example:
        >>> import dask.array as da
        >>> x = da.arange(4.0, chunks=2)
        >>> compute(x.sum(), x.max())
        (np.float64(6.0), np.float64(3.0))
    """
    import dask

    computed: tuple[Any, ...] = dask.compute(*values)  # type: ignore[attr-defined,no-untyped-call]
    return computed


def check_trainable(
    X: Any,
    where: str,
    *,
    mini_batch_size: int | None = None,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    recorder: Any = None,
    batch_name: str = "mini_batch_size",
    layout: str = "one example per column",
) -> None:
    """Refuse, naming the setting, what a training run on a Dask ``X`` cannot do.

    Its steps are the compiled step's code on Dask's chunks: there is no eager step (it would
    hold X in memory), so no ``compile=False`` and no recorder that needs each step's graph;
    and each step reads the whole of X, so no mini-batches (drawing shuffled batches out of
    core would read X at random). With the defaults it checks X alone: 2-D, float32 or
    float64, and of known size.

    Example:
        >>> import dask.array as da
        >>> check_trainable(da.ones((2, 4), chunks=2), "train")
        >>> check_trainable(da.ones((2, 4), chunks=2), "train", mini_batch_size=64)
        Traceback (most recent call last):
        ...
        ValueError: train: mini-batches of a Dask X are not implemented: ...
    """
    if mini_batch_size is not None:
        raise ValueError(
            f"{where}: mini-batches of a Dask X are not implemented: on Dask each step is "
            f"one full-batch pass over X, chunk by chunk (leave {batch_name} at None), or "
            "train on a sample of X that fits in memory (a slice's .compute())"
        )
    if compile is False:
        raise ValueError(
            f"{where}: compile=False cannot train on a Dask X: the eager step would hold X "
            "in memory; a Dask X trains compiled (leave compile at None or True)"
        )
    if recorder is not None and getattr(recorder, "needs_graph", True) is not False:
        raise ValueError(
            f"{where}: a gradient recorder that reads each step's graph cannot train on a "
            "Dask X (its steps are compiled code, with no graph); record values only "
            "(cg.GradientFlow(nodes=False), or a recorder with needs_graph = False) or "
            "train on a NumPy sample"
        )
    # float16 too: NumPy trains on float64 copies, and the compiled step takes no float16
    if X.ndim != 2 or X.dtype not in (np.float32, np.float64):
        raise DataError(
            f"{where}: a Dask X must be a 2-D float32 or float64 array, {layout}, got "
            f"{X.ndim}-D {X.dtype}; convert it lazily with X.astype('float64')"
        )
    check_known_shape(X, where)


def finite_chunks(X: Any, name: str, where: str) -> Any:
    """``X`` with each chunk checked for NaN and inf as it is read: a task per chunk in the
    same graph, so the data are blamed by name (``DataError``) without a pass of their own.

    Example:
        >>> import dask.array as da
        >>> X = finite_chunks(da.from_array(np.array([1.0, np.inf]), chunks=1), "X", "predict")
        >>> X.sum().compute()
        Traceback (most recent call last):
        ...
        compgraph.errors.DataError: predict: X contains NaN or inf (in a chunk of shape (1,)); ...
    """
    return X.map_blocks(_refuse_nonfinite_data, dtype=X.dtype, name_=name, where=where)


def _refuse_nonfinite_data(block: np.ndarray, name_: str, where: str) -> np.ndarray:
    if not np.isfinite(block).all():
        raise DataError(
            f"{where}: {name_} contains NaN or inf (in a chunk of shape {block.shape}); drop "
            "or fill in the missing values first (e.g. da.nan_to_num)"
        )
    return block


def check_known_shape(X: Any, where: str, axes: Sequence[int] | None = None) -> None:
    """Refuse a Dask ``X`` whose size along ``axes`` (all by default) Dask does not know.

    A boolean mask or a filter leaves Dask without the chunks' sizes (NaN in the shape):
    the examples could not be counted nor matched with their labels, and the compiled
    step's trace needs every size.

    Example:
        >>> import dask.array as da
        >>> X = da.arange(6.0, chunks=3).reshape(3, 2)
        >>> check_known_shape(X[X[:, 0] > 1], "fit", axes=(1,))
        >>> check_known_shape(X[X[:, 0] > 1], "fit")
        Traceback (most recent call last):
        ...
        compgraph.errors.ShapeError: fit: X has unknown chunk sizes ...
    """
    if any(math.isnan(X.shape[axis]) for axis in range(X.ndim) if axes is None or axis in axes):
        raise ShapeError(
            f"{where}: X has unknown chunk sizes (shape {X.shape}), as after a boolean mask "
            "or a filter, so its examples cannot be counted; call X.compute_chunk_sizes() "
            "first (one pass over X), or X.compute() if it fits in memory"
        )


def training_step(
    step: Callable[..., Any],
    parameters: dict[Any, Any],
    X: Any,
    Y: Any,
    inputs: dict[str, Any] | None,
) -> tuple[float, dict[Any, np.ndarray]]:
    """One step of the training loop on a Dask ``X``: ``step`` (a compiled
    ``(parameters, X, Y, inputs) → (J, gradients)``) builds the cost and gradients lazily,
    and one ``dask.compute`` runs forward and backward, reading X once, chunk by chunk, on
    this process's threads or on the workers of an active ``dask.distributed`` client.

    The parameters are NumPy arrays and come back as NumPy gradients: the optimizer's update
    touches only them (kilobytes), so it runs here rather than as tasks of its own.

    Raises:
        DataError: X or Y holds NaN or inf (checked, with one more pass over them, when a
            step's result is not finite, so that the data are blamed rather than an op).
        NonFiniteError: a result is inf or NaN on finite data (the run diverged).

    Example:
        >>> import dask.array as da
        >>> step = cg.compile(cg.value_and_grad(
        ...     lambda p, X, Y, inputs: cg.mean((p["w"] @ X - Y) ** 2)))
        >>> J, gradients = training_step(
        ...     step, {"w": np.zeros((1, 2))}, da.ones((2, 4), chunks=2), np.ones((1, 4)), None)
        >>> J, gradients["w"].tolist()
        (1.0, [[-2.0, -2.0]])
    """
    J, gradients = _computed(step(parameters, X, Y, {} if inputs is None else inputs), X, Y)
    # Arrays (Dask computes a 0-d result as a NumPy scalar), read-only as eager's are.
    gradients = {name: np.asarray(gradient) for name, gradient in gradients.items()}
    for gradient in gradients.values():
        gradient.flags.writeable = False
    return float(J), gradients


def _computed(lazy: tuple[Any, ...], X: Any, Y: Any) -> tuple[Any, ...]:
    """``dask.compute(*lazy)`` of a training step on ``X`` and ``Y``, an inf or NaN in its
    results blamed on the data when they hold one, else reported as a divergence."""
    import dask

    try:
        computed: tuple[Any, ...] = dask.compute(*lazy)  # type: ignore[attr-defined,no-untyped-call]
    except NonFiniteError as error:
        _blame_data(X, Y, error)
        # Finite data: the step itself overflowed. The eager loop warns per op and goes on
        # with NaN parameters; on Dask the compute has already stopped, so say what it means.
        raise NonFiniteError(
            "training on a Dask X: a step's cost or gradients became inf or NaN although X "
            "and Y are finite, so the run diverged or overflowed; pass a smaller "
            "learning_rate or scale the features, or train on a NumPy slice of X to see the "
            "eager report of the op that made it"
        ) from error
    return computed


def _binary_labels(y: Any, n_samples: int, where: str) -> np.ndarray:
    """``y`` (NumPy or Dask, read into memory: one number per sample) as checked 0/1 floats."""
    from compgraph.models.estimators import check_binary_labels, finite_real_array

    labels = finite_real_array(y.compute() if is_dask_array(y) else y, "y", where)
    if labels.shape != (n_samples,):
        raise ShapeError(
            f"{where}: y has shape {labels.shape} but X has {n_samples} samples, so y must "
            f"have shape ({n_samples},), one label per row of X"
        )
    check_binary_labels(labels, "y", where)
    return labels


def _blame_data(X: Any, Y: Any, error: Exception) -> None:
    """Raise DataError if X or Y holds NaN or inf (one pass over them, in one compute)."""
    import dask
    import dask.array as da

    checks = [
        da.isfinite(data).all() if is_dask_array(data) else np.isfinite(data).all()
        for data in (X, Y)
    ]
    for name, finite in zip(("X", "Y"), dask.compute(*checks), strict=True):  # type: ignore[attr-defined,no-untyped-call]
        if not finite:
            raise DataError(
                f"training on a Dask X: {name} holds NaN or inf, which made the step's "
                f"results non-finite; clean the data (e.g. da.nan_to_num, or drop the "
                f"examples) before training"
            ) from error
