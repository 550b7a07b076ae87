"""Logistic regression as a tiny neural network: is this 8×8 digit an 8 or a 3?

The lesson's cat classifier on images that need no download: scikit-learn's bundled
handwritten digits. Each image is flattened into a column of X, exactly as the lesson
flattens its 64×64×3 pictures, the pixels are standardised, and w, b are learned by gradient
descent with every gradient computed by backpropagation through compgraph's graph.

Run: python examples/logistic_regression.py [--out-dir out] [--fast]
(needs the examples extra: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import compgraph as cg
from compgraph.logistic import cost_graph, initialize_with_zeros, optimize, plot_costs, predict

POSITIVE, NEGATIVE = 8, 3  # label 1 = "it is an 8", label 0 = "it is a 3"


def load_threes_and_eights(
    test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 3s and 8s as (X_train, Y_train, X_test, Y_test), one example per column."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit('this example needs scikit-learn (for its digits): pip install -e ".[examples]"')
    digits = load_digits()
    keep = np.isin(digits.target, (NEGATIVE, POSITIVE))
    images, labels = digits.images[keep], digits.target[keep]  # images: (m, 8, 8)

    # As the lesson does: one flattened image per column, so X is (8·8, m).
    X = images.reshape(images.shape[0], -1).T
    Y = (labels == POSITIVE).astype(np.float64).reshape(1, -1)

    order = np.random.default_rng(seed).permutation(X.shape[1])
    n_test = round(test_fraction * X.shape[1])
    test, train = order[:n_test], order[n_test:]

    # Standardise with the training set's statistics only; pixels that never vary there
    # (the image borders) are left unscaled rather than divided by zero.
    mean = X[:, train].mean(axis=1, keepdims=True)
    std = X[:, train].std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    X = (X - mean) / std
    return X[:, train], Y[:, train], X[:, test], Y[:, test]


def accuracy(w: np.ndarray, b: float, X: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples classified correctly, as the lesson computes it."""
    return 100 - np.mean(np.abs(predict(w, b, X) - Y)) * 100


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--fast", action="store_true", help="only 300 iterations (for tests)")
    args = parser.parse_args(argv)
    iterations = 300 if args.fast else args.iterations

    X_train, Y_train, X_test, Y_test = load_threes_and_eights()
    print(
        f"digits {POSITIVE} (label 1) vs {NEGATIVE} (label 0): X_train {X_train.shape}, "
        f"X_test {X_test.shape}, one flattened 8x8 image per column"
    )

    w, b = initialize_with_zeros(X_train.shape[0])
    params, _, costs = optimize(
        w, b, X_train, Y_train, iterations, args.learning_rate, print_cost=True
    )
    w, b = params["w"], params["b"]
    # The trained model's graph, z = wᵀX + b -> L -> J, with its gradients filled in.
    J = cost_graph(w, b, X_train, Y_train)
    J.backward()
    print(f"Cost after training ({iterations} iterations): {J.item():f}")
    print(f"train accuracy: {accuracy(w, b, X_train, Y_train):.1f} %")
    print(f"test accuracy: {accuracy(w, b, X_test, Y_test):.1f} %")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        plot_costs(costs, args.out_dir / "logistic_costs.png", args.learning_rate)
        print(f"cost curve saved to {args.out_dir / 'logistic_costs.png'}")
    except ImportError as error:
        print(f"no cost curve: {error}")

    path = args.out_dir / "logistic_graph.svg"
    cg.render(J, path)
    print(f"graph of the model saved to {path}")


if __name__ == "__main__":
    main()
