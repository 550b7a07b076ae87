"""A deep network, four layers of weights, asks of each 8×8 digit: is it an 8?

The course's week-4 model, [n_x, 20, 7, 5, 1] with ReLU hidden layers and a sigmoid output,
initialised with W[l] = randn / √n_{l-1} (seed 1), on scikit-learn's bundled handwritten
digits (no download): each image is flattened into a column of X, the pixels are
standardised, and the label is 1 for an 8 and 0 for any other digit. Every gradient is
computed by backpropagation through compgraph's graph.

It takes a while: 1500 iterations train in about 40 seconds on a quiet machine (measured:
36 s of CPU; 1 min 53 s of wall time on 2 cores shared with other work). It says so when it
starts, prints the cost every 100 iterations as it goes, and the time it took at the end;
``--fast`` (400 iterations) takes about a quarter of that.

Run: .venv/bin/python examples/deep_network.py [--out-dir out] [--fast]
(needs the examples extra: .venv/bin/pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from compgraph.logistic import plot_costs
from compgraph.networks import COST_EVERY, predict, train

POSITIVE = 8
HIDDEN_LAYERS = [20, 7, 5]
#: Seconds per iteration on a quiet machine (36 s of CPU for 1500 iterations, measured).
SECONDS_PER_ITERATION = 0.025


def load_digits_is_it_an_8(
    test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All the digits as (X_train, Y_train, X_test, Y_test), one example per column."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit('this example needs scikit-learn (for its digits): pip install -e ".[examples]"')
    digits = load_digits()
    X = digits.images.reshape(digits.images.shape[0], -1).T  # (64, m)
    Y = (digits.target == POSITIVE).astype(np.float64).reshape(1, -1)

    order = np.random.default_rng(seed).permutation(X.shape[1])
    n_test = round(test_fraction * X.shape[1])
    test, train_columns = order[:n_test], order[n_test:]

    # Standardise with the training set's statistics only; pixels that never vary there
    # (the image borders) are left unscaled rather than divided by zero.
    mean = X[:, train_columns].mean(axis=1, keepdims=True)
    std = X[:, train_columns].std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    X = (X - mean) / std
    return X[:, train_columns], Y[:, train_columns], X[:, test], Y[:, test]


def accuracy(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples classified correctly."""
    return 100 * float(np.mean(predict(parameters, X, hidden="relu") == Y))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--fast", action="store_true", help="only 400 iterations (for tests)")
    args = parser.parse_args(argv)
    iterations = 400 if args.fast else args.iterations

    X_train, Y_train, X_test, Y_test = load_digits_is_it_an_8()
    layer_dims = [X_train.shape[0], *HIDDEN_LAYERS, 1]
    share = 100 * float(np.mean(Y_test == 0))
    print(
        f"is it an {POSITIVE}? X_train {X_train.shape}, X_test {X_test.shape}; "
        f"answering 'no' to every test image would be right {share:.1f} % of the time"
    )
    print(f"network {layer_dims}, ReLU hidden layers, learning rate {args.learning_rate:g}")

    # Line by line even into a pipe or a log, so the progress shows as it is made.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    estimate = iterations * SECONDS_PER_ITERATION
    print(
        f"training {iterations} iterations takes about {estimate:.0f} s on a quiet machine "
        "(several times that on a busy one); the cost is printed every 100 iterations"
    )
    started = time.perf_counter()
    parameters, costs = train(
        X_train, Y_train, layer_dims, args.learning_rate, iterations,
        hidden="relu", print_cost=True, seed=1, scale="sqrt",
    )  # fmt: skip
    print(f"trained in {time.perf_counter() - started:.0f} s")
    print(f"train accuracy: {accuracy(parameters, X_train, Y_train):.1f} %")
    print(f"test accuracy: {accuracy(parameters, X_test, Y_test):.1f} %")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / "deep_costs.png"
    try:
        plot_costs(costs, path, args.learning_rate, every=COST_EVERY)
        print(f"cost curve saved to {path}")
    except ImportError as error:
        print(f"no cost curve: {error}")


if __name__ == "__main__":
    main()
