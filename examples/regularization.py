"""Regularization: no penalty, L2 (λ = 0.7) and dropout (keep_prob = 0.86) against overfitting.

The course's second assignment of Course 2 (Week 1, "Regularization"): a ReLU network
[2, 20, 3, 1] with weights randn / √n[l−1] from seed 3, trained by gradient descent with
learning rate 0.3 for 30 000 iterations, three ways:

- no regularization: the boundary bends around single noisy points of the training set;
- L2: the cost gains (λ/2m) Σ ‖W[l]‖², so the engine's gradient gains (λ/m) W[l] (weight
  decay), and the boundary stays smooth;
- inverted dropout on both hidden layers, the masks drawn as the notebook draws them
  (re-seeded with 1 before every forward pass, ``fixed_dropout_masks=True``).

The course's own data (a football field's kick positions) is not shipped with compgraph.
By default this runs on a generated stand-in with the same shape of problem: two classes in
the plane split by a wavy line, 200 training and 200 test points, 10 % of the training
labels flipped. ``--data regularization.npz`` runs on an ``.npz`` holding the course's
arrays instead (``X`` (m, 2), ``y`` (m, 1), ``Xval``, ``yval``, rows as examples).

Run: python examples/regularization.py [--out-dir out] [--fast] [--data file.npz]
(needs the examples extra: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np

from compgraph.files import write_atomically
from compgraph.logistic import plot_costs
from compgraph.networks import COST_EVERY, plot_decision_boundary, predict, train

LAYER_DIMS = [2, 20, 3, 1]
# Each run as train() takes it: the course's lambd = 0.7 and keep_prob = 0.86, with the
# notebook's np.random.seed(1) at the top of every forward pass.
REGULARIZATIONS: dict[str, dict[str, Any]] = {
    "none": {},
    "L2": {"l2": 0.7},
    "dropout": {"keep_prob": 0.86, "dropout_seed": 1, "fixed_dropout_masks": True},
}


def wavy_two_classes(m: int, seed: int, flip: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for the course's data: (X (2, m), Y (1, m)), one example per column.

    Points uniform in [−0.6, 0.6]², labelled 1 above the line x₂ = 0.25 sin(5 x₁) and 0
    below it, then a ``flip`` share of the labels (chosen at random) flipped: the noise an
    unregularized network learns by heart. A ``RandomState(seed)`` draws everything.
    """
    generator = np.random.RandomState(seed)
    X = generator.uniform(-0.6, 0.6, size=(2, m))
    Y = (X[1] > 0.25 * np.sin(5 * X[0])).astype(np.float64).reshape(1, m)
    flipped = generator.permutation(m)[: round(flip * m)]
    Y[0, flipped] = 1 - Y[0, flipped]
    return X, Y


def load_data(path: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_X, train_Y, test_X, test_Y), one example per column.

    The course's arrays from ``path``, or else the stand-in: 200 training points with 10 %
    of their labels flipped (seed 1) and 200 clean test points (seed 2).
    """
    if path is None:
        train_X, train_Y = wavy_two_classes(200, seed=1)
        test_X, test_Y = wavy_two_classes(200, seed=2, flip=0.0)
        return train_X, train_Y, test_X, test_Y
    with np.load(path) as data:
        return (
            data["X"].T.astype(np.float64),
            data["y"].T.astype(np.float64),
            data["Xval"].T.astype(np.float64),
            data["yval"].T.astype(np.float64),
        )


def accuracy(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples classified correctly (prediction never drops units)."""
    return 100 * float(np.mean(predict(parameters, X, hidden="relu") == Y))


def save_boundary(
    parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, path: Path, title: str
) -> None:
    """The decision boundary over the training points, as the course draws it, zoomed in.

    Overfitting shows as a boundary bent around single points; the window is the data's
    own (the course sets it by hand), not ``plot_decision_boundary``'s margin of 1.
    """
    import matplotlib.pyplot as plt

    figure = plot_decision_boundary(parameters, X, Y, "relu", resolution=600, title=title)
    axes = figure.axes[0]
    axes.set_xlim(X[0].min() - 0.1, X[0].max() + 0.1)
    axes.set_ylim(X[1].min() - 0.1, X[1].max() + 0.1)
    picture = io.BytesIO()
    figure.savefig(picture, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    write_atomically(path, picture.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--iterations", type=int, default=30_000)
    parser.add_argument("--learning-rate", type=float, default=0.3)
    parser.add_argument("--data", type=Path, help="an .npz with the course's X, y, Xval, yval")
    parser.add_argument("--fast", action="store_true", help="only 300 iterations (for tests)")
    args = parser.parse_args(argv)
    iterations = 300 if args.fast else args.iterations

    train_X, train_Y, test_X, test_Y = load_data(args.data)
    source = args.data if args.data is not None else "the generated stand-in"
    print(f"data: {source}, train_X {train_X.shape}, test_X {test_X.shape}")
    print(f"network {LAYER_DIMS}, ReLU hidden layers, learning rate {args.learning_rate:g}")

    results = {}
    for name, regularization in REGULARIZATIONS.items():
        print(f"\n{name}: {regularization or 'no regularization'}")
        parameters, costs = train(
            train_X, train_Y, LAYER_DIMS, args.learning_rate, iterations,
            hidden="relu", print_cost=True, print_every=100 if args.fast else 10_000,
            seed=3, initialization="sqrt", **regularization,
        )  # fmt: skip
        train_accuracy = accuracy(parameters, train_X, train_Y)
        test_accuracy = accuracy(parameters, test_X, test_Y)
        print(f"{name}: train accuracy {train_accuracy:.1f} %, test accuracy {test_accuracy:.1f} %")
        results[name] = parameters, costs

    args.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        path = args.out_dir / "regularization_costs.png"
        plot_costs(
            {name: costs for name, (_, costs) in results.items()},
            path,
            args.learning_rate,
            every=COST_EVERY,
            log_scale=True,
        )
        print(f"\ncost curves saved to {path}")
        for name, (parameters, _) in results.items():
            path = args.out_dir / f"regularization_{name}.png"
            title = (
                f"{name}: train {accuracy(parameters, train_X, train_Y):.1f} %, "
                f"test {accuracy(parameters, test_X, test_Y):.1f} %"
            )
            save_boundary(parameters, train_X, train_Y, path, title)
            print(f"decision boundary saved to {path}")
    except ImportError as error:
        print(f"no pictures: {error}")


if __name__ == "__main__":
    main()
