"""Initialization: zeros, random × 10 and He on the course's circles, and why only He learns.

The course's first assignment of Course 2 (Week 1, "Initialization"): scikit-learn's
``make_circles`` (300 training points and 100 test points, noise 0.05, drawn from seeds 1
and 2 as the notebook does), a ReLU network [2, 10, 5, 1] trained by gradient descent with
learning rate 0.01 for 15 000 iterations, its weights drawn from seed 3:

- zeros: every unit of a layer computes the same thing and gets the same gradient, so the
  symmetry never breaks and the network predicts one class;
- random × 10: randn × 10, so large that σ(z[3]) rounds to exactly 1 for every point at
  the start. The notebook's cost, −log(1 − a) from that rounded a, prints ``inf``; compgraph
  takes the cost from the logit z, so it stays finite and exact (both are printed);
- He: randn × √(2/n[l−1]), which keeps the ReLU layers' signal the same size.

Run: python examples/initialization.py [--out-dir out] [--fast]
(needs the examples extra: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from compgraph.logistic import plot_costs
from compgraph.networks import (
    COST_EVERY,
    compute_cost,
    forward,
    initialize_parameters,
    plot_decision_boundary,
    predict,
    train,
)

LAYER_DIMS = [2, 10, 5, 1]
# Each initialization as train() takes it: the course's zeros, randn × 10 and He.
INITIALIZATIONS = {
    "zeros": {"initialization": "zeros"},
    "random": {"initialization": "random", "scale": 10.0},
    "he": {"initialization": "he"},
}


def load_circles() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The notebook's data: (train_X, train_Y, test_X, test_Y), one example per column.

    The notebook seeds NumPy's global generator (1, then 2) before each ``make_circles``;
    a ``RandomState`` with that seed draws the same points without touching global state.
    """
    try:
        from sklearn.datasets import make_circles
    except ImportError:
        sys.exit('this example needs scikit-learn (make_circles): pip install -e ".[examples]"')
    train_X, train_Y = make_circles(300, noise=0.05, random_state=np.random.RandomState(1))
    test_X, test_Y = make_circles(100, noise=0.05, random_state=np.random.RandomState(2))
    return train_X.T, train_Y.reshape(1, -1), test_X.T, test_Y.reshape(1, -1)


def notebook_cost(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """The notebook's ``compute_loss``: a[3] = 1/(1 + e^(−z[3])), then −log of it, nansum / m.

    Where a[3] rounds to exactly 1 and y = 0, −log(1 − a[3]) = −log 0 = inf (and 0·inf is
    NaN where y = 1, which ``nansum`` drops): the cost this returns is then inf.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        A = X
        for layer in range(1, len(parameters) // 2 + 1):
            Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
            A = 1 / (1 + np.exp(-Z)) if layer == len(parameters) // 2 else np.maximum(Z, 0)
        logprobs = np.multiply(-np.log(A), Y) + np.multiply(-np.log(1 - A), 1 - Y)
        return float(np.nansum(logprobs) / Y.shape[1])


def accuracy(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples classified correctly."""
    return 100 * float(np.mean(predict(parameters, X, hidden="relu") == Y))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--fast", action="store_true", help="only 300 iterations (for tests)")
    args = parser.parse_args(argv)
    iterations = 300 if args.fast else args.iterations

    train_X, train_Y, test_X, test_Y = load_circles()
    print(f"circles: train_X {train_X.shape}, test_X {test_X.shape}")
    print(f"network {LAYER_DIMS}, ReLU hidden layers, learning rate {args.learning_rate:g}")

    results = {}
    for name, initialization in INITIALIZATIONS.items():
        start = initialize_parameters(LAYER_DIMS, seed=3, **initialization)
        ours = compute_cost(forward(train_X, start), train_Y).item()
        print(
            f"\n{name}: cost at iteration 0 {ours:.6f} (compgraph, from the logit z[3]); "
            f"the notebook's naive cost {notebook_cost(start, train_X, train_Y):f}"
        )
        parameters, costs = train(
            train_X, train_Y, LAYER_DIMS, args.learning_rate, iterations,
            hidden="relu", print_cost=True, print_every=100 if args.fast else 1000,
            seed=3, **initialization,
        )  # fmt: skip
        train_accuracy = accuracy(parameters, train_X, train_Y)
        test_accuracy = accuracy(parameters, test_X, test_Y)
        print(f"{name}: train accuracy {train_accuracy:.2f} %, test accuracy {test_accuracy:.2f} %")
        results[name] = parameters, costs

    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        path = args.out_dir / "initialization_costs.png"
        plot_costs(
            {name: costs for name, (_, costs) in results.items()},
            path,
            args.learning_rate,
            every=COST_EVERY,
            log_scale=True,
        )
        print(f"\ncost curves saved to {path}")
        for name, (parameters, _) in results.items():
            path = args.out_dir / f"initialization_{name}.png"
            title = (
                f"{name}: train {accuracy(parameters, train_X, train_Y):.1f} %, "
                f"test {accuracy(parameters, test_X, test_Y):.1f} %"
            )
            plot_decision_boundary(parameters, train_X, train_Y, "relu", path, title=title)
            print(f"decision boundary saved to {path}")
    except ImportError as error:
        print(f"no pictures: {error}")


if __name__ == "__main__":
    main()
