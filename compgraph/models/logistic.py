"""Logistic regression as a one-neuron network whose gradients come from the engine.

The lesson's notation: ``X`` is (n_x, m) with one example per column, ``Y`` is (1, m) with
labels in {0, 1}, ``w`` is (n_x, 1) and ``b`` a scalar. The model and its cost:

    z = wᵀX + b,   A = σ(z),   L = -Y ln A - (1-Y) ln(1-A),   J = (1/m) Σ L

``propagate`` records that graph and lets ``backward`` find dw = dJ/dw and db = dJ/db;
``analytic_gradients`` gives the closed forms dw = X(A-Y)ᵀ/m and db = mean(A-Y) they are
checked against. The loss is computed from z by the fused ``sigmoid_cross_entropy`` op, so
training stays finite when σ(z) rounds to exactly 0 or 1 (large steps, separable data),
where ``log(sigmoid(z))`` would give ln 0 and then inf·0 = NaN.

``hessian`` gives the second derivatives of J in θ = (w, b) from the engine
(``backward(create_graph=True)``), checked against the closed form
H = (1/m) X̃ diag(A(1-A)) X̃ᵀ of ``analytic_hessian`` (X̃ is X with a row of ones for b), and
``optimize_newton`` uses it: θ ← θ - H⁻¹∇J, which reaches the optimum in a handful of steps.
With more than 63 features H⁻¹∇J is found by conjugate gradients on Hessian-vector products
instead (the products ``cg.hvp`` computes), without forming H.

``LogisticRegression`` wraps the same functions in scikit-learn's conventions: samples as
rows, ``fit(X, y)``, ``predict``, ``predict_proba``, ``score``; ``solver="newton"`` fits by
Newton's method instead of gradient descent.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

import compgraph as cg
from compgraph.errors import ConvergenceWarning, DataError, ShapeError
from compgraph.models import distributed
from compgraph.models.estimators import (
    BinaryClassifier,
    TrainingWatch,
    check_binary_labels,
    check_positive_int,
    finite_real_array,
    scikit_learn_flavoured,
)
from compgraph.models.optimizers import GradientDescent
from compgraph.models.training import check_compile, run_training
from compgraph.node import Node
from compgraph.numerics import fold_nonfinite_reports
from compgraph.pictures.flow import literal_label

__all__ = [
    "LogisticRegression",
    "analytic_gradients",
    "analytic_hessian",
    "cost_graph",
    "hessian",
    "initialize_with_zeros",
    "optimize",
    "optimize_newton",
    "plot_costs",
    "predict",
    "propagate",
]

Grads = dict[str, Any]


# -- the lesson's functions ---------------------------------------------------------------


def initialize_with_zeros(dim: int) -> tuple[np.ndarray, float]:
    """The starting parameters: w = 0 of shape (dim, 1) and b = 0.

    Args:
        dim: the number of features n_x.

    Returns:
        ``(w, b)``: a float64 array of zeros of shape (dim, 1) and the float 0.0.

    Raises:
        ValueError: ``dim`` is not a positive integer.

    Example:
        >>> from compgraph.models.logistic import initialize_with_zeros
        >>> w, b = initialize_with_zeros(2)
        >>> w.tolist(), b
        ([[0.0], [0.0]], 0.0)
    """
    check_positive_int(dim, "dim", "initialize_with_zeros")
    return np.zeros((int(dim), 1)), 0.0


def cost_graph(w: ArrayLike, b: float, X: ArrayLike, Y: ArrayLike) -> Node:
    """The computation graph of the cost J(w, b) on (X, Y), evaluated forward, for drawing.

    The nodes are named as in the lesson: leaves ``w``, ``b``, ``X``, ``Y``, then ``z``
    (wᵀX + b), ``L`` (the loss of each example) and the root ``J`` (their mean). Call
    ``J.backward()`` to fill ``.grad`` of every node.

    Args:
        w: weights of shape (n_x, 1).
        b: the bias, a number.
        X: examples as columns, shape (n_x, m).
        Y: labels in {0, 1}, shape (1, m).

    Returns:
        The root node J, a scalar.

    Raises:
        ShapeError: the shapes do not fit together (the message gives the expected ones).
        DataError: a value is NaN or inf, or a label is not 0 or 1.
        DTypeError: an argument does not hold real numbers.

    Example:
        >>> from compgraph.models.logistic import cost_graph
        >>> J = cost_graph([[0.0]], 0.0, [[1.0, 2.0]], [[1, 0]])
        >>> J.name, round(J.item(), 6)
        ('J', 0.693147)
    """
    w, b, X, Y = _check_problem(w, b, X, Y, "cost_graph")
    return _cost(Node(w, name="w"), Node(b, name="b"), *_data_nodes(X, Y))


def propagate(w: ArrayLike, b: float, X: ArrayLike, Y: ArrayLike) -> tuple[Grads, float]:
    """The cost J and its gradients dJ/dw, dJ/db, found by backpropagating through the graph.

    Args:
        w, b, X, Y: weights (n_x, 1), bias (a number), examples as columns (n_x, m) and
            labels in {0, 1} (1, m), as for ``cost_graph``.

    Returns:
        ``(grads, cost)``: ``grads = {"dw": array (n_x, 1), "db": float}`` and the cost as a
        float.

    Raises:
        ShapeError, DataError, DTypeError: as for ``cost_graph``.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import propagate
        >>> w, b = np.array([[1.0], [2.0]]), 2.0
        >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
        >>> grads, cost = propagate(w, b, X, Y)
        >>> grads["dw"].round(8).tolist(), round(grads["db"], 8), round(cost, 8)
        ([[0.99845601], [2.39507239]], 0.00145558, 5.80154532)
    """
    w, b, X, Y = _check_problem(w, b, X, Y, "propagate")
    return _step(w, b, *_data_nodes(X, Y))


def analytic_gradients(w: ArrayLike, b: float, X: ArrayLike, Y: ArrayLike) -> Grads:
    """The closed-form gradients the engine's are checked against: no graph, plain NumPy.

    dw = X (A - Y)ᵀ / m and db = mean(A - Y), with A = σ(wᵀX + b).

    Args:
        w, b, X, Y: as for ``propagate``.

    Returns:
        ``{"dw": array (n_x, 1), "db": float}``, the same layout as ``propagate``'s grads.

    Raises:
        ShapeError, DataError, DTypeError: as for ``cost_graph``.

    Example:
        >>> from compgraph.models.logistic import analytic_gradients
        >>> grads = analytic_gradients([[0.0]], 0.0, [[2.0]], [[1]])
        >>> grads["dw"].tolist(), grads["db"]
        ([[-1.0]], -0.5)
    """
    w, b, X, Y = _check_problem(w, b, X, Y, "analytic_gradients")
    residual = cg.ops.Sigmoid(w.T @ X + b) - Y
    return {"dw": X @ residual.T / X.shape[1], "db": float(np.mean(residual))}


def optimize(
    w: ArrayLike,
    b: float,
    X: ArrayLike,
    Y: ArrayLike,
    num_iterations: int = 100,
    learning_rate: float = 0.009,
    print_cost: bool = False,
    *,
    print_every: int = 100,
    record_every: int = 100,
    progress: bool = False,
    gradient_flow: Any = None,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
) -> tuple[dict[str, Any], Grads, list[float]]:
    """Gradient descent: w ← w - α dw, b ← b - α db, with gradients from ``propagate``.

    Args:
        w, b, X, Y: the starting parameters and the data, as for ``propagate``. The
            caller's arrays are never modified.
        num_iterations: how many descent steps to take (at least 1).
        learning_rate: the step size α (> 0).
        print_cost: print ``Cost after iteration i: J`` every ``print_every`` iterations.
        print_every: how often to print, in iterations.
        record_every: how often to record the cost in the returned list (the lesson's 100).
        progress: show a progress bar (needs the optional ``tqdm`` package).
        gradient_flow: a ``cg.GradientFlow`` (or anything with its ``record`` method),
            called as ``record(i, {"w": w_node, "b": b_node}, root=J)`` after each backward
            (its steps are eager: it is handed the step's own graph).
        compile: the step is compiled (``cg.compile``: traced once, then replayed as NumPy,
            with the eager step's numbers bit for bit) for at least ``COMPILE_FROM_EPOCHS``
            (50) iterations when None, always when True, never when False.

    Returns:
        ``(params, grads, costs)``: ``params = {"w": ..., "b": ...}`` after the last step,
        the gradients of the last step, and the cost before steps 0, ``record_every``, ...

    Raises:
        ShapeError, DataError, DTypeError: as for ``cost_graph``.
        ValueError: a non-positive ``num_iterations``, ``learning_rate``, ``print_every``
            or ``record_every``.
        ImportError: ``progress=True`` without ``tqdm`` installed.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import optimize
        >>> w, b = np.array([[1.0], [2.0]]), 2.0
        >>> X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
        >>> params, grads, costs = optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009)
        >>> params["w"].round(8).tolist(), round(params["b"], 8), len(costs)
        ([[0.19033591], [0.12259159]], 1.92535983, 1)
    """
    where = "optimize"
    w, b, X, Y = _check_problem(w, b, X, Y, where)
    _check_schedule(num_iterations, learning_rate, print_every, record_every, where)
    if gradient_flow is not None and not callable(getattr(gradient_flow, "record", None)):
        raise TypeError(
            f"optimize: gradient_flow must have a record(iteration, parameters, root=) method, "
            f"such as cg.GradientFlow(), not {type(gradient_flow).__name__}"
        )
    # A diverging run repeats its non-finite reports at every step: one warning per kind.
    with fold_nonfinite_reports():
        return _descend(
            w, b, X, Y, int(num_iterations), float(learning_rate),
            print_every=int(print_every) if print_cost else 0,
            record_every=int(record_every),
            progress=progress, gradient_flow=gradient_flow,
            compile=check_compile(compile, where),
        )  # fmt: skip


def predict(w: ArrayLike, b: float, X: ArrayLike) -> np.ndarray:
    """Predicted labels: 1.0 where A = σ(wᵀX + b) > 0.5, else 0.0.

    Args:
        w: weights of shape (n_x, 1).
        b: the bias, a number.
        X: examples as columns, shape (n_x, m).

    Returns:
        A float array of shape (1, m) holding 0.0 and 1.0.

    Raises:
        ShapeError, DataError, DTypeError: as for ``cost_graph``.

    Example:
        >>> from compgraph.models.logistic import predict
        >>> w, b = [[0.1124579], [0.23106775]], -0.3
        >>> predict(w, b, [[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]]).tolist()
        [[1.0, 1.0, 0.0]]
    """
    w, b, X = _check_model(w, b, X, "predict")
    return (_probabilities(w, b, X) > 0.5).astype(np.float64)


# -- second order: the Hessian and Newton's method ---------------------------------------------


def _theta_cost(X: Node, Y: Node) -> Any:
    """J as a function of θ = (w₁, …, w_n, b), the vector Newton's method moves."""
    n = X.shape[0]

    def cost(theta: Node) -> Node:
        return _cost(theta[:n].reshape(n, 1), theta[n], X, Y)

    return cost


def hessian(w: ArrayLike, b: float, X: ArrayLike, Y: ArrayLike) -> np.ndarray:
    """The Hessian of the cost J in θ = (w, b), from the engine: shape (n_x + 1, n_x + 1).

    Row and column i < n_x are w's elements, the last one b. Computed by differentiating
    the recorded backward pass (``compgraph.hessian``); ``analytic_hessian`` is the closed
    form it is checked against.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import hessian, analytic_hessian
        >>> X, Y = np.array([[1.0, -2.0, 0.5]]), np.array([[1, 0, 1]])
        >>> np.allclose(hessian([[0.3]], 0.1, X, Y), analytic_hessian([[0.3]], 0.1, X, Y))
        True
    """
    w, b, X, Y = _check_problem(w, b, X, Y, "hessian")
    cost = _theta_cost(*_data_nodes(X, Y))
    result: np.ndarray = cg.hessian(cost)(np.append(w[:, 0], b))
    return result


def analytic_hessian(w: ArrayLike, b: float, X: ArrayLike, Y: ArrayLike) -> np.ndarray:
    """H = (1/m) X̃ diag(A(1-A)) X̃ᵀ, X̃ = X with a row of ones (for b) below it.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import analytic_hessian
        >>> analytic_hessian([[0.0]], 0.0, np.array([[2.0]]), np.array([[1.0]])).tolist()
        [[1.0, 0.5], [0.5, 0.25]]
    """
    w, b, X, Y = _check_problem(w, b, X, Y, "analytic_hessian")
    A = _probabilities(w, b, X)[0]
    X_tilde = np.vstack([X, np.ones((1, X.shape[1]))])
    result: np.ndarray = (X_tilde * (A * (1 - A))) @ X_tilde.T / X.shape[1]
    return result


def optimize_newton(
    w: ArrayLike,
    b: float,
    X: ArrayLike,
    Y: ArrayLike,
    num_iterations: int = 20,
    tolerance: float = 1e-10,
    print_cost: bool = False,
) -> tuple[dict[str, Any], Grads, list[float]]:
    """Newton's method on J: θ ← θ - t·H⁻¹∇J, with ∇J and H from the engine.

    The step t is 1, halved while it would not lower J enough (Armijo's rule: by at least
    10⁻⁴·t·∇JᵀH⁻¹∇J), which near the optimum is always the full Newton step. Stops when
    ‖∇J‖ <= ``tolerance``, or when no step lowers J any more in float64. Where H is singular
    (a feature that never varies, or more features than examples) it is damped, H + λI
    with the smallest λ = 10⁻¹²·tr(H)/n·10ᵏ that makes it positive definite.

    With up to 63 features H is formed (one backward pass per element of θ) and factored;
    with more, H⁻¹∇J is solved by conjugate gradients, each iteration one Hessian-vector
    product (one backward pass), preconditioned by H's diagonal so that the features'
    scale still does not matter, and stopped once the residual is below
    min(1/2, √‖∇J‖)·‖∇J‖: a few dozen passes a step, not n + 1, and no (n + 1)² matrix.

    Separable classes have no finite optimum (J → 0 as ‖w‖ → ∞): an error, raised as soon
    as an iterate puts every example strictly on its own class's side (proof that the
    classes are separable), or when the steps end with every example on or beside its
    class's side and the cost still falling (classes that only touch).

    Args:
        w, b, X, Y: as for ``optimize``: the starting point and the data (examples as
            columns).
        num_iterations: the most Newton steps to take.
        tolerance: the gradient norm at which to stop.
        print_cost: print the cost at every step.

    Returns:
        ``(params, grads, costs)`` as ``optimize`` returns: the final w and b, the gradient
        there, and the cost before every step.

    Raises:
        DataError: the classes are separable, so the unpenalised cost has no minimum.

    Warns:
        ConvergenceWarning: ``num_iterations`` steps ended before the optimum.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import initialize_with_zeros, optimize_newton
        >>> X = np.array([[0.0, 1.0, 2.0, 3.0, 1.5, 2.5]])
        >>> Y = np.array([[0, 0, 1, 1, 1, 0]])
        >>> params, grads, costs = optimize_newton(*initialize_with_zeros(1), X, Y)
        >>> len(costs) < 10, bool(abs(grads["dw"][0, 0]) < 1e-10)
        (True, True)
    """
    where = "optimize_newton"
    w, b, X, Y = _check_problem(w, b, X, Y, where)
    check_positive_int(num_iterations, "num_iterations", where)
    _check_tolerance(tolerance, "tolerance", where)
    n = X.shape[0]
    fix = "add an L2 penalty (LogisticRegression(alpha=...) fits one) or stop descent early"
    run = _newton(
        _theta_cost(*_data_nodes(X, Y)),
        np.append(w[:, 0], b),
        int(num_iterations),
        gradient_tolerance=float(tolerance),
        print_cost=print_cost,
        separation=_Separation(X, Y, where, fix),
        diagonal=_hessian_diagonal(X, 0.0),
    )
    if not run.converged:
        warnings.warn(
            f"{where}: Newton's method did not converge in {_steps(len(run.costs))}: "
            f"‖∇J‖ = {np.linalg.norm(run.gradient):.3g} > tolerance = {tolerance:g}; raise "
            f"num_iterations",
            scikit_learn_flavoured(ConvergenceWarning),
            stacklevel=2,
        )
    theta, gradient = run.theta, run.gradient
    params = {"w": theta[:n].reshape(n, 1), "b": float(theta[n])}
    return params, {"dw": gradient[:n].reshape(n, 1), "db": float(gradient[n])}, run.costs


class _NewtonRun(NamedTuple):
    theta: np.ndarray
    gradient: np.ndarray
    costs: list[float]
    converged: bool


class _Separation(NamedTuple):
    """The unpenalised problem's data, to refuse separable classes, and what to suggest."""

    X: np.ndarray
    Y: np.ndarray
    where: str
    fix: str


#: Newton's method forms the dense Hessian while θ has at most this many elements (63
#: features and b), and solves H d = ∇J by conjugate gradients on Hessian-vector products
#: beyond. Measured whole fits, 569 samples: at 64 parameters 0.15 s dense, 0.05 s by CG;
#: at 128, 0.8-1.1 s against 0.06-0.09 s; at 1601 (209 samples) 26 s against 0.2 s. Up to
#: here the exact solve costs little and needs no preconditioner to be right on badly
#: scaled features (the breast-cancer data's 31: 13 steps, where CG takes 18).
_DENSE_NEWTON_UP_TO = 64

#: The most conjugate-gradient iterations in one Newton step: a truncated solve is still a
#: descent direction, and the line search and the next step make up for it.
_MAX_CG_ITERATIONS = 250

#: When CG cannot reach its tolerance (an ill-conditioned H: nearly collinear features),
#: θ of up to this many elements switches to the dense solve for the rest of the run: n
#: backward passes and n² numbers a step (about 2 s and 32 MB at 2048), against CG steps
#: that crawl (hundreds of Newton steps where the dense solve takes 10-30).
_DENSE_FALLBACK_UP_TO = 2048

#: CG's η for the solve that confirms convergence: with ‖r‖ <= 10⁻⁸‖∇J‖ the decrement's
#: shortfall rᵀH⁻¹r is at most 10⁻¹⁶ of the full one's scale times H's conditioning.
_CONFIRMING_FORCING = 1e-8


def _newton(
    cost: Any,
    theta: np.ndarray,
    max_steps: int,
    *,
    gradient_tolerance: float = 0.0,
    decrement_tolerance: float = 0.0,
    print_cost: bool = False,
    separation: _Separation | None = None,
    diagonal: Any = None,
) -> _NewtonRun:
    """Damped Newton's method on the scalar function ``cost`` of the vector θ.

    Converged when ‖∇J‖ <= ``gradient_tolerance``, when half the Newton decrement
    λ² = ∇JᵀH⁻¹∇J (an estimate of J - min J that does not change with the features'
    scale) is <= ``decrement_tolerance``, or when no step lowers J in float64. The step
    H⁻¹∇J is solved densely for θ of up to ``_DENSE_NEWTON_UP_TO`` elements, else by
    conjugate gradients (``_NewtonSystem``), preconditioned by ``diagonal(θ)``, H's
    diagonal (None: by the identity); λ² is then ∇Jᵀd for CG's d, short of ∇JᵀH⁻¹∇J by
    rᵀH⁻¹r for its residual r = ∇J - Hd, which an ill-conditioned H makes large: a small
    λ² is confirmed by a tight solve (‖r‖ <= 10⁻⁸‖∇J‖) before the run stops, and when CG
    cannot reach its tolerance, θ of up to ``_DENSE_FALLBACK_UP_TO`` elements is solved
    densely from then on.
    """
    dense = theta.size <= _DENSE_NEWTON_UP_TO
    value_and_grad = cg.value_and_grad(cost)
    costs: list[float] = []
    for _ in range(max_steps):
        system = _NewtonSystem(cost, theta, dense, diagonal)
        J, gradient = system.cost, system.gradient
        costs.append(J)
        if print_cost:
            print(f"Cost after Newton step {len(costs) - 1}: {J:f}")
        if separation is not None:
            _refuse_strict_separation(theta, separation, len(costs) - 1)
        step = None
        if np.linalg.norm(gradient) > gradient_tolerance:
            step, solved = system.solve()
            decrement = float(gradient @ step)
            if decrement / 2 <= decrement_tolerance and not dense:
                # CG's ∇Jᵀd falls short of ∇JᵀH⁻¹∇J by rᵀH⁻¹r, which a nearly singular H
                # makes large: stop only on a solve tight enough to tell.
                step, solved = system.solve(forcing=_CONFIRMING_FORCING)
                decrement = float(gradient @ step)
            if not solved and theta.size <= _DENSE_FALLBACK_UP_TO:
                # H is too ill-conditioned for CG to reach its tolerance (nearly collinear
                # features): its steps would crawl, so solve exactly from here on.
                dense = True
                step, solved = system.solve(dense=True)
                decrement = float(gradient @ step)
            if decrement / 2 <= decrement_tolerance and solved:
                step = None
        t = 1.0
        while step is not None and _value(cost, theta - t * step) > J - 1e-4 * t * decrement:
            t /= 2
            if t < 1e-12:  # no step lowers J in float64: this is its minimum, to rounding
                step = None
        if step is None:
            _refuse_touching_classes(theta, separation, len(costs) - 1)
            return _NewtonRun(theta, gradient, costs, True)
        theta = theta - t * step
    _, gradient = value_and_grad(theta)
    _refuse_touching_classes(theta, separation, max_steps)
    return _NewtonRun(theta, gradient, costs, False)


class _NewtonSystem:
    """J, ∇J and the Newton step H⁻¹∇J at one θ.

    Dense: H from ``cg.hessian`` (one backward pass per element of θ) and a damped
    Cholesky solve. Hessian-free: the gradient's graph is recorded once
    (``create_graph=True``), and each product H·v is one backward pass through it seeded
    with v, the vjp of ∇J, which is Hᵀv = Hv (the same numbers as ``cg.hvp(cost)(θ, v)``,
    which re-records the graph on every call, so costs about three times as much).
    """

    def __init__(self, cost: Any, theta: np.ndarray, dense: bool, diagonal: Any) -> None:
        self.cost_function, self.theta, self.dense = cost, theta, dense
        self.diagonal = diagonal
        if dense:
            value, gradient = cg.value_and_grad(cost)(theta)
        else:
            with cg.enable_grad():
                self.variable = Node(theta, name="θ")
                value = cost(self.variable)
                (self.recorded_gradient,) = cg.gradients(value, [self.variable], create_graph=True)
            value, gradient = value.value, self.recorded_gradient.value
        self.cost, self.gradient = float(value), np.array(gradient, dtype=np.float64)

    def solve(self, forcing: float | None = None, dense: bool = False) -> tuple[np.ndarray, bool]:
        """The step d ≈ H⁻¹∇J, and whether it met its tolerance (CG's ``forcing``: None
        for the Eisenstat-Walker term; the dense solve, also chosen by ``dense``, always
        does)."""
        if self.dense or dense:
            step = _damped_solve(cg.hessian(self.cost_function)(self.theta), self.gradient)
            return step, True
        diagonal = np.ones_like(self.theta) if self.diagonal is None else self.diagonal(self.theta)
        # A zero entry belongs to a parameter J does not depend on (a feature that is 0 in
        # every example, unpenalised): its gradient and every product stay 0 there.
        return _conjugate_gradient(
            self.product, self.gradient, np.where(diagonal > 0, diagonal, 1.0), forcing
        )

    def product(self, v: np.ndarray) -> np.ndarray:
        """H·v, one backward pass through the recorded gradient."""
        (Hv,) = cg.gradients(self.recorded_gradient, [self.variable], grad=v)
        return np.asarray(Hv, dtype=np.float64)


def _conjugate_gradient(
    product: Any, g: np.ndarray, diagonal: np.ndarray, forcing: float | None = None
) -> tuple[np.ndarray, bool]:
    """d ≈ (H + λD)⁻¹g by conjugate gradients from d = 0, preconditioned by D = ``diagonal``
    (H's diagonal, or an estimate of it), H given as ``product(v) = H·v``.

    With D = diag(H), rescaling a feature rescales its row and column of H and its entry
    of D alike, so the iterates, the stopping rule and the damping below do not change,
    and the solve keeps Newton's indifference to the features' scale (plain CG took 2000
    steps on features scaled from 10⁻³ to 10³, where the dense solve took 7).

    Stops when the residual r = g - (H + λD)d has ‖r‖ <= η‖g‖ in the norm ‖r‖² = rᵀD⁻¹r
    (scale-free, as above), with the forcing term η = min(1/2, √‖g‖) (Eisenstat and
    Walker's; scikit-learn's newton-cg uses it in the plain norm): far from the optimum a
    rough step is as good as an exact one and costs fewer products, and as ‖g‖ → 0 the
    solve tightens fast enough that Newton's method keeps converging superlinearly (order
    1.5), so it takes about as many steps as with the exact H⁻¹g. Every CG iterate from 0
    is a descent direction (gᵀd = dᵀ(H + λD)d > 0), so stopping at ``_MAX_CG_ITERATIONS``
    is safe. A ``forcing`` given replaces η (the tight solve that confirms convergence).
    Returns d and whether ‖r‖ <= η‖g‖ was reached.

    λ is 0 unless a direction p shows no curvature (pᵀHp <= 10⁻¹²·s·pᵀDp, s the first
    direction's curvature, a typical eigenvalue of D⁻¹H): H is singular to rounding there,
    and, as ``_damped_solve`` does when Cholesky fails, the solve starts again with
    λ = 10⁻¹²·s, ten times more each time it is not enough.
    """
    g_norm = float(np.sqrt(g @ (g / diagonal)))
    tolerance = (min(0.5, np.sqrt(g_norm)) if forcing is None else forcing) * g_norm
    scale, damping = 0.0, 0.0
    while True:
        d, r = np.zeros_like(g), g.copy()
        z = r / diagonal
        p, rz = z.copy(), float(r @ z)
        for _ in range(_MAX_CG_ITERATIONS):
            if np.sqrt(rz) <= tolerance:
                return d, True
            Hp = product(p) + damping * diagonal * p
            curvature, pDp = float(p @ Hp), float(p @ (diagonal * p))
            if not scale:
                scale = max(curvature / pDp, np.finfo(np.float64).tiny)
            if curvature <= 1e-12 * scale * pDp:
                break  # singular to rounding along p: damp, and start again
            step = rz / curvature
            d += step * p
            r -= step * Hp
            z = r / diagonal
            rz, previous = float(r @ z), rz
            p = z + (rz / previous) * p
        else:
            return d, False
        damping = max(damping * 10, 1e-12 * scale)


def _hessian_diagonal(X: np.ndarray, alpha: float) -> Any:
    """θ -> the diagonal of the Hessian of J + (α/2m)‖w‖², in closed form: (1/m) Σ s x̃²
    plus α/m for w, with s = A(1-A). Only the conjugate gradients' preconditioner: it
    changes how fast they converge, never what to."""
    m, n = X.shape[1], X.shape[0]
    squares = X * X

    def diagonal(theta: np.ndarray) -> np.ndarray:
        A = _probabilities(theta[:n].reshape(n, 1), float(theta[n]), X)[0]
        s = A * (1 - A)
        return np.append(squares @ s / m + alpha / m, np.mean(s))

    return diagonal


def _value(cost: Any, theta: np.ndarray) -> float:
    with cg.no_grad():
        return float(cost(Node(theta)).value)


def _margins(theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(2y - 1)·z per example: positive where z = wᵀx + b is on the side of x's class."""
    n = X.shape[0]
    z = theta[:n] @ X + theta[n]
    margins: np.ndarray = (2 * Y[0] - 1) * z
    return margins


def _refuse_strict_separation(theta: np.ndarray, separation: _Separation, steps: int) -> None:
    # Every margin positive proves the classes separable: J(sθ) → 0 as s → ∞, and J > 0.
    margins = _margins(theta, separation.X, separation.Y)
    if margins.min() > 0:
        _separable(theta, separation, steps, "", f"the smallest margin is {margins.min():.3g}")


def _refuse_touching_classes(theta: np.ndarray, separation: _Separation | None, steps: int) -> None:
    """At a finite optimum some example is on the wrong side of z = 0 (or θ = 0): if every
    margin is >= 0 up to rounding and some are large, θ is running off to infinity."""
    if separation is None:
        return
    margins = _margins(theta, separation.X, separation.Y)
    largest = margins.max()
    if largest > 10 and margins.min() >= -1e-6 * largest:
        _separable(theta, separation, steps, " or on the boundary z = 0", "the classes only touch")


def _separable(
    theta: np.ndarray, separation: _Separation, steps: int, or_on: str, detail: str
) -> None:
    n = separation.X.shape[0]
    w = np.array2string(theta[:n], precision=3, threshold=6)
    raise DataError(
        f"{separation.where}: the classes are separable: after {_steps(steps, 'Newton step')}, "
        f"w = {w}, b = {theta[n]:.3g} puts every example on its own class's side{or_on} "
        f"({detail}), "
        f"so the unpenalised cost has no minimum: it falls towards its floor as ‖w‖ grows "
        f"without bound; {separation.fix}"
    )


def _steps(count: int, noun: str = "step") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _damped_solve(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """H⁻¹g by Cholesky, damped by λI only as much as it takes to factor H."""
    scale = max(float(np.trace(H)) / len(H), np.finfo(np.float64).tiny)
    damping = 0.0
    while True:
        try:
            L = np.linalg.cholesky(H + damping * np.eye(len(H)))
            solution: np.ndarray = np.linalg.solve(L.T, np.linalg.solve(L, g))
            return solution
        except np.linalg.LinAlgError:
            damping = max(damping * 10, 1e-12 * scale)


# -- training, shared by optimize and the estimator ------------------------------------------


def _data_nodes(X: np.ndarray, Y: np.ndarray) -> tuple[Node, Node]:
    return Node(X, name="X", requires_grad=False), Node(Y, name="Y", requires_grad=False)


def _cost(w: Node, b: Node, X: Node, Y: Node) -> Node:
    """J = mean(L(wᵀX + b, Y)), the graph named as the lesson writes it."""
    z = w.T @ X + b
    z.name = "z"
    loss = cg.sigmoid_cross_entropy(z, Y)
    loss.name = "L"
    J = cg.mean(loss)
    J.name = "J"
    return J


def _step(w: np.ndarray, b: float, X: Node, Y: Node) -> tuple[Grads, float]:
    w_node, b_node = Node(w, name="w"), Node(b, name="b")
    J = _cost(w_node, b_node, X, Y)
    dw, db = cg.gradients(J, [w_node, b_node])
    # A fresh array: the engine's gradients are read-only and may be shared.
    return {"dw": np.array(dw), "db": float(db)}, float(J.value)


def _descend(
    w: np.ndarray,
    b: float,
    X: np.ndarray,
    Y: np.ndarray,
    num_iterations: int,
    learning_rate: float,
    *,
    print_every: int,
    record_every: int,
    progress: bool,
    gradient_flow: Any = None,
    compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    stop: Any = None,
) -> tuple[dict[str, Any], Grads, list[float]]:
    """Gradient descent on checked inputs, by the shared training loop; ``print_every=0``
    prints nothing; ``stop`` as for ``run_training``."""

    def cost(nodes: dict[Any, Node], X_node: Node, Y_node: Node) -> Node:
        return _cost(nodes["w"], nodes["b"], X_node, Y_node)

    # A Dask X stays lazy: run_training reads it chunk by chunk, one compute per step.
    X_data, Y_data = (X, Y) if distributed.is_dask_array(X) else _data_nodes(X, Y)
    result = run_training(
        cost, {"w": w, "b": b}, X_data, Y_data, GradientDescent(learning_rate),
        num_iterations, record_every=record_every, print_every=print_every,
        progress=progress, gradient_flow=gradient_flow, description="gradient descent",
        compile=compile, stop=stop,
    )  # fmt: skip
    parameters, gradients = result.parameters, result.gradients
    return (
        {"w": np.array(parameters["w"]), "b": float(parameters["b"])},
        {"dw": np.array(gradients["w"]), "db": float(gradients["b"])},
        result.costs,
    )


def _probabilities(w: np.ndarray, b: float, X: np.ndarray) -> np.ndarray:
    """A = σ(wᵀX + b), shape (1, m), through the engine without recording a graph."""
    with cg.no_grad():
        return cg.sigmoid(cg.matmul(w.T, X) + b).value


# -- checking inputs -------------------------------------------------------------------------


def _check_model(w: Any, b: Any, X: Any, where: str) -> tuple[np.ndarray, float, np.ndarray]:
    X = finite_real_array(X, "X", where)
    if X.ndim != 2 or X.size == 0:
        raise ShapeError(
            f"{where}: X must be a non-empty 2-D array (n_x, m) holding one example per "
            f"column, got shape {X.shape}"
        )
    n_x, m = X.shape
    w = finite_real_array(w, "w", where)
    if w.shape != (n_x, 1):
        if w.size == m and m != n_x:
            fix = "X holds one example per column: pass X.T if your examples are rows"
        elif w.size == n_x:
            fix = "reshape it with w.reshape(-1, 1)"
        else:
            fix = "w needs one weight per row of X"
        raise ShapeError(
            f"{where}: w has shape {w.shape} but X has shape {X.shape}, so w must have shape "
            f"(n_x, 1) = ({n_x}, 1); {fix}"
        )
    b_array = finite_real_array(b, "b", where)
    if b_array.size != 1:
        raise ShapeError(f"{where}: b must be a number, got an array of shape {b_array.shape}")
    return w, float(b_array.item()), X


def _check_problem(
    w: Any, b: Any, X: Any, Y: Any, where: str
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    w, b, X = _check_model(w, b, X, where)
    Y = finite_real_array(Y, "Y", where)
    m = X.shape[1]
    if Y.shape != (1, m):
        fix = "; reshape it with Y.reshape(1, -1)" if Y.size == m else ""
        raise ShapeError(
            f"{where}: Y has shape {Y.shape} but X has shape {X.shape}, so Y must have shape "
            f"(1, m) = (1, {m}){fix}"
        )
    check_binary_labels(Y, "Y", where)
    return w, b, X, Y


def _check_tolerance(value: Any, name: str, where: str) -> None:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(np.asarray(value))
        or value < 0
    ):
        raise ValueError(f"{where}: {name} must be a non-negative finite number, got {value!r}")


_SOLVERS = ("auto", "newton", "gradient_descent")


def _check_schedule(
    num_iterations: Any, learning_rate: Any, print_every: Any, record_every: Any, where: str
) -> None:
    check_positive_int(num_iterations, "num_iterations", where)
    check_positive_int(print_every, "print_every", where)
    check_positive_int(record_every, "record_every", where)
    if (
        not isinstance(learning_rate, numbers.Real)
        # As NumPy reads it (np.isfinite's hints take arrays, not numbers.Real).
        or not np.isfinite(np.asarray(learning_rate))
        or learning_rate <= 0
    ):
        raise ValueError(
            f"{where}: learning_rate must be a positive finite number, got {learning_rate!r}"
        )


# -- the cost curve --------------------------------------------------------------------------


def plot_costs(
    costs: Sequence[float] | Mapping[str, Sequence[float]],
    path: str | Path | None = None,
    learning_rate: float | None = None,
    every: int = 100,
    *,
    ax: Any = None,
    log_scale: bool = False,
) -> Any:
    """Plot the cost against the iteration, as the lesson does; save it when given a path.

    One run is a list of costs; several runs, to compare learning rates as the lesson does,
    are a dict from each run's label to its costs (one curve each, with a legend). A run
    whose cost diverged (became inf or NaN, or ended higher than it started) is marked
    "(diverged)" in the legend and on the plot, and a ``RuntimeWarning`` says so.

    Needs matplotlib (optional: ``pip install 'compgraph[examples]'``). Given ``ax``, the
    curves are drawn into those axes. Otherwise, with ``path``, the figure is drawn
    off-screen by the Agg renderer (pyplot's state is left alone); without either it comes
    from pyplot, so ``plt.show()`` displays it; in a notebook (the inline backend) it is shown
    once, as the cell's value (``figure = plot_costs(...)`` then ``figure`` to show it later).
    With ``path`` the figure is saved too (the format follows the suffix: .png, .svg, .pdf).

    Args:
        costs: the recorded costs (e.g. the list ``optimize`` returns), or a dict from
            label to such a list.
        path: where to save the picture, or None.
        learning_rate: shown in the title when given.
        every: iterations between recorded costs (100 for ``optimize``'s default).
        ax: matplotlib ``Axes`` to draw into, or None for a new figure.
        log_scale: a logarithmic cost axis, which shows slow late progress.

    Returns:
        The matplotlib ``Figure`` (``ax``'s figure when ``ax`` is given).

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: no costs, a run that is empty or not 1-D, or ``every`` is not a
            positive integer.

    Example:
        >>> import tempfile, pathlib
        >>> from compgraph.models.logistic import plot_costs
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "costs.png"
        >>> runs = {"α = 0.5": [0.69, 0.41, 0.33], "α = 0.05": [0.69, 0.62, 0.57]}
        >>> figure = plot_costs(runs, path, log_scale=True)
        >>> path.stat().st_size > 0, len(figure.axes[0].lines)
        (True, 2)
    """
    runs = _cost_runs(costs)
    check_positive_int(every, "every", "plot_costs")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_costs needs the optional package matplotlib: pip install matplotlib "
            "(or pip install 'compgraph[examples]')"
        ) from None
    if ax is not None:
        axes = ax
    elif path is None:
        import matplotlib.pyplot as plt

        shown = plt.figure()
        axes = shown.add_subplot()
        if "inline" in plt.get_backend():
            # Jupyter's inline backend shows every open pyplot figure when the cell ends,
            # and the figure returned as the cell's value once more: handed back to the
            # caller alone, it is shown once.
            plt.close(shown)
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        figure = Figure()
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
    diverged = []
    for label, values in runs.items():
        problem = _divergence(values, every)
        if problem is not None:
            diverged.append(label or "")
            warnings.warn(
                f"plot_costs: {'the run' if label is None else f'run {label!r}'} diverged: "
                f"{problem}; try a smaller learning rate",
                RuntimeWarning,
                stacklevel=2,
            )
        name = label if problem is None else f"{label or ''} (diverged)".lstrip()
        line = axes.plot(
            np.arange(values.size) * every,
            values,
            marker="." if values.size < 30 else None,
            label=literal_label(name) if label is not None or problem is not None else None,
        )[0]
        last_finite = np.flatnonzero(np.isfinite(values))
        if problem is not None and last_finite.size:
            # Matplotlib leaves inf and NaN out: mark where the curve stops being drawn.
            i = last_finite[-1]
            axes.plot([i * every], [values[i]], "x", color=line.get_color(), markersize=9)
    if diverged:
        axes.text(
            0.98, 0.95, "diverged: " + ", ".join(literal_label(d or "the cost") for d in diverged),
            transform=axes.transAxes, ha="right", va="top", color="tab:red",
        )  # fmt: skip
    axes.set_xlabel("iteration")
    axes.set_ylabel("cost J")
    if log_scale:
        axes.set_yscale("log")
    rate = "" if learning_rate is None else f", learning rate = {learning_rate:g}"
    axes.set_title(f"Cost during gradient descent{rate}")
    axes.grid(alpha=0.3)
    if len(runs) > 1 or None not in runs:
        axes.legend()
    if path is not None:
        axes.figure.savefig(path, dpi=100, bbox_inches="tight")
    return axes.figure


def _cost_runs(costs: Any) -> dict[str | None, np.ndarray]:
    """Label -> costs as a float array; a single run is labelled None."""
    runs = dict(costs) if isinstance(costs, Mapping) else {None: costs}
    if not runs:
        raise ValueError("plot_costs: costs must be a non-empty 1-D sequence or a dict of them")
    checked = {}
    for label, values in runs.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            run = "costs" if label is None else f"the costs of run {label!r}"
            raise ValueError(
                f"plot_costs: {run} must be a non-empty 1-D sequence, got shape {array.shape}"
            )
        checked[None if label is None else str(label)] = array
    return checked


def _divergence(values: np.ndarray, every: int) -> str | None:
    """Why this cost curve counts as diverged, or None: non-finite, or ended above its start."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        return f"the cost is {values[bad[0]]:g} at iteration {bad[0] * every}"
    # A run that never moves (zero weights, say) ends a few ulp from its start by rounding
    # alone: that is stuck, not diverged, so growth must exceed rounding (1e-9 relative).
    if values[-1] > values[0] + 1e-9 * abs(values[0]):
        return f"the cost grew from {values[0]:g} to {values[-1]:g}"
    return None


# -- the estimator ---------------------------------------------------------------------------


class LogisticRegression(BinaryClassifier):
    """Binary logistic regression on the engine, in scikit-learn's style.

    Samples are rows here (``X`` of shape (n_samples, n_features), ``y`` of shape
    (n_samples,) holding any two labels), as scikit-learn expects; the model is the
    lesson's, P(y = ``classes_[1]``) = σ(wᵀx + b), fitted from w = 0, b = 0 by one of two
    solvers (``solver="auto"`` picks Newton's unless a ``learning_rate`` is given):

    - ``"newton"``: Newton's method with the gradient and Hessian from the engine (as
      ``optimize_newton``) on J + (α/2m)‖w‖², the lesson's cost plus a small L2 penalty.
      It reaches the optimum in ten-odd steps on data as they come: a Newton step does not
      change when a feature is rescaled, while gradient descent's step must suit the
      largest feature and then crawls along the others (on the breast-cancer data, whose
      features run from 0.001 to 4254, descent's cost rose from 0.69 to 237). The penalty
      keeps the optimum finite when the classes are separable, where the lesson's cost has
      none; it is scikit-learn's objective with C = 1/α. With ``alpha=0`` separable classes
      are a ``DataError``, as for ``optimize_newton``. With up to 63 features each step
      forms and factors the Hessian; with more (the course's 64·64·3 = 12288-pixel cat
      images) it solves for the step by conjugate gradients on Hessian-vector products, a
      few dozen backward passes a step instead of n + 1 and an (n + 1)² matrix (12288
      features, 209 images: about a second in all, where one dense step took minutes).
    - ``"gradient_descent"``: the lesson's ``optimize``, ``num_iterations`` steps of size
      ``learning_rate`` (0.005 when not given) on the unpenalised J. A step too large for
      the data is reported once: inf or NaN is a ``NonFiniteError``, a cost that ends
      above where it started a ``ConvergenceWarning``, each naming the learning rate.

    It is a scikit-learn estimator (``clone``, pipelines, ``cross_val_score``,
    ``GridSearchCV``) through ``compgraph.models.estimators.BinaryClassifier``, without
    needing scikit-learn installed.

    Args:
        learning_rate: the gradient-descent step α (> 0), or None: Newton's method under
            ``solver="auto"``, 0.005 under ``solver="gradient_descent"``.
        num_iterations: the number of descent steps, or the most Newton steps (Newton's
            method stops at the optimum, and warns if it gets there in no fewer).
        print_cost: print the cost every ``print_every`` iterations (every Newton step).
        print_every: how often to print, in iterations.
        progress: show a progress bar while descending (needs ``tqdm``).
        solver: ``"auto"``, ``"newton"`` or ``"gradient_descent"``.
        alpha: the L2 penalty's strength α >= 0 in Newton's J + (α/2m)‖w‖² (b is not
            penalised).
        tol: Newton's method stops when half its decrement ∇JᵀH⁻¹∇J, an estimate of how far
            J is above its minimum, is at most ``tol``.
        compile: compile the gradient-descent step, as for ``optimize`` (None: runs of
            50 iterations or more; False: eager; the numbers are the same either way).

    Attributes (after ``fit``):
        coef_: the weights wᵀ, shape (1, n_features).
        intercept_: the bias b, shape (1,).
        cost_history_: the cost before every step (penalty included).
        n_iter_: the number of steps taken (Newton: the iterates it looked at).
        classes_: the two labels, sorted; ``classes_[1]`` is the positive class.
        n_features_in_: the number of features seen by ``fit``.
        feature_names_in_: the column names, when ``fit`` was given a DataFrame.

    Raises (from ``fit``):
        DataError: with ``alpha=0``, separable classes.
        NonFiniteError: gradient descent diverged to inf or NaN.

    Warns (from ``fit``):
        ConvergenceWarning: Newton's method ran out of steps, or descent's cost rose.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.logistic import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [3.0], [4.0]])
        >>> y = np.array(["non-cat", "non-cat", "cat", "cat"])
        >>> model = LogisticRegression().fit(X, y)
        >>> model.classes_.tolist(), model.predict(X).tolist(), model.score(X, y)
        (['cat', 'non-cat'], ['non-cat', 'non-cat', 'cat', 'cat'], 1.0)
        >>> descent = LogisticRegression(learning_rate=0.5, num_iterations=200).fit(X, y)
        >>> descent.n_iter_, descent.score(X, y)
        (200, 1.0)
    """

    #: ``X`` may be a Dask array larger than memory: each gradient-descent step is then one
    #: ``dask.compute`` of the compiled step, on a ``dask.distributed`` cluster when a
    #: ``Client`` is active (``solver="auto"`` chooses gradient descent there).
    fits_dask = True

    def __init__(
        self,
        learning_rate: float | None = None,
        num_iterations: int = 2000,
        print_cost: bool = False,
        print_every: int = 100,
        progress: bool = False,
        solver: str = "auto",
        alpha: float = 1e-4,
        tol: float = 1e-10,
        compile: bool | None = None,  # noqa: A002 - the switch's name, as in cg.compile
    ) -> None:
        self.learning_rate = learning_rate
        self.num_iterations = num_iterations
        self.print_cost = print_cost
        self.print_every = print_every
        self.progress = progress
        self.solver = solver
        self.alpha = alpha
        self.tol = tol
        self.compile = compile

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """The logits z = Xw + b, shape (n_samples,): positive means ``classes_[1]``. On a
        Dask ``X``, a lazy Dask array: each chunk of rows is computed in memory."""
        if distributed.is_dask_array(X):
            lazy: np.ndarray = self._by_row_chunks(X, "decision_function", np.float64)
            return lazy
        samples = self._check_fitted_samples(X, "decision_function")
        logits: np.ndarray = samples @ self.coef_[0] + self.intercept_[0]
        return logits

    def _fit_encoded(self, X: np.ndarray, y: np.ndarray) -> None:
        where = "LogisticRegression.fit"
        solver = self._solver(where)
        if distributed.is_dask_array(X):
            if self.solver == "newton":
                raise ValueError(
                    f"{where}: on a Dask array X the solver is 'gradient_descent' (one pass "
                    "over X per step; 'auto' chooses it there); 'newton' is not implemented "
                    "out of core"
                )
            # what only compiled steps refuse, refused here in the estimator's name
            distributed.check_trainable(X.T, None, self.compile, True, where)
            solver = "gradient_descent"
        learning_rate = 0.005 if self.learning_rate is None else self.learning_rate
        _check_schedule(self.num_iterations, learning_rate, self.print_every, 1, where)
        w, b = initialize_with_zeros(X.shape[1])
        X_columns, Y = X.T, y.reshape(1, -1)
        if solver == "newton":
            theta, costs = self._fit_by_newton(X_columns, Y, where)
            w, b = theta[:-1].reshape(-1, 1), float(theta[-1])
        else:
            watch = TrainingWatch(
                where, learning_rate, int(self.num_iterations),
                advice=", or leave learning_rate unset to fit by Newton's method",
            )  # fmt: skip
            with watch.running():
                params, _, costs = _descend(
                    w, b, X_columns, Y, int(self.num_iterations), float(learning_rate),
                    print_every=int(self.print_every) if self.print_cost else 0,
                    record_every=1, progress=self.progress, stop=watch.should_stop,
                    compile=check_compile(self.compile, where),
                )  # fmt: skip
            watch.warn_if_diverged()
            w, b = params["w"], params["b"]
        self.coef_ = w.T
        self.intercept_ = np.array([b])
        self.cost_history_ = costs
        self.n_iter_ = len(costs)

    def _solver(self, where: str) -> str:
        """The solver ``fit`` uses: ``"auto"`` resolved, a contradiction refused."""
        if not isinstance(self.solver, str) or self.solver not in _SOLVERS:
            raise ValueError(
                f"{where}: solver must be 'auto', 'newton' or 'gradient_descent', not "
                f"{self.solver!r}"
            )
        if self.solver == "newton" and self.learning_rate is not None:
            raise ValueError(
                f"{where}: solver='newton' takes no learning_rate (got {self.learning_rate!r}); "
                f"leave it None, or pass solver='gradient_descent'"
            )
        if self.solver == "auto":
            return "newton" if self.learning_rate is None else "gradient_descent"
        return self.solver

    def _fit_by_newton(self, X: np.ndarray, Y: np.ndarray, where: str) -> tuple[Any, list[float]]:
        _check_tolerance(self.alpha, "alpha", where)
        _check_tolerance(self.tol, "tol", where)
        m, n = X.shape[1], X.shape[0]
        alpha = float(self.alpha)
        cost = _theta_cost(*_data_nodes(X, Y))

        def penalised(theta: Node) -> Node:
            w = theta[:n]
            penalty: Node = cost(theta) + (alpha / (2 * m)) * cg.sum(w * w)
            return penalty

        run = _newton(
            penalised, np.zeros(n + 1), int(self.num_iterations),
            decrement_tolerance=float(self.tol), print_cost=bool(self.print_cost),
            separation=None if alpha > 0 else _Separation(
                X, Y, where, "pass alpha > 0 (the default is 1e-4) for a finite optimum"
            ),
            diagonal=_hessian_diagonal(X, alpha),
        )  # fmt: skip
        if not run.converged:
            warnings.warn(
                f"{where}: Newton's method did not converge in {_steps(len(run.costs))}: "
                f"the cost {run.costs[-1]:.6g} may still fall; raise num_iterations",
                scikit_learn_flavoured(ConvergenceWarning),
                stacklevel=4,
            )
        return run.theta, run.costs

    def _positive_probability(self, X: np.ndarray) -> np.ndarray:
        return _probabilities(self.coef_.T, self.intercept_[0], X.T)[0, :]
