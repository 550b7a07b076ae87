"""Logistic regression on data larger than memory: the lesson's compiled step on Dask arrays.

``cg.compile`` replays a traced step with the arguments' own array library (issue 21), so
on Dask arrays it builds a task graph instead of computing: forward, backward and the
update of one gradient-descent step become one graph, and one ``dask.compute`` per step
runs it, reading X chunk by chunk, on the threads of this process or on the workers of a
``dask.distributed`` cluster (a ``Client`` made before ``fit`` is used by every compute).
No gradient is written by hand: it is the engine's, recorded once on NumPy stand-ins.

``LogisticRegression.fit`` calls ``fit_logistic`` when ``X`` is a Dask array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import compgraph as cg

__all__ = ["descent_step", "fit_logistic", "is_dask_array", "logistic_gradients"]


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

    Example:
        >>> import dask.array as da
        >>> X = da.from_array(np.array([[0.0], [1.0], [3.0], [4.0]]), chunks=2)
        >>> w, b, costs = fit_logistic(X, np.array([0, 0, 1, 1]), 0.5, 200)
        >>> (costs[-1] < costs[0], w.shape)
        (True, (1, 1))
    """
    import dask
    import dask.array as da

    columns = X.T  # the lesson's layout, (n_features, n_samples): a lazy view, no copy
    Y = da.asarray(y).astype(X.dtype).reshape(1, -1)  # type: ignore[no-untyped-call]
    w, b = np.zeros((X.shape[1], 1), dtype=X.dtype), np.zeros((), dtype=X.dtype)[()]
    rate = np.asarray(learning_rate, dtype=X.dtype)[()]
    costs: list[float] = []
    for i in range(num_iterations):
        lazy = descent_step(w, b, columns, Y, rate)
        J, w, b = dask.compute(*lazy)  # type: ignore[attr-defined,no-untyped-call]  # one pass over X: forward, backward and the update
        costs.append(float(J))
        if print_every and i % print_every == 0:
            print(f"Cost after iteration {i}: {costs[-1]:f}")
    return np.asarray(w), float(b), costs
