"""Gradient descent, momentum and Adam side by side on the "moons", as the course compares them.

The course's optimization notebook (course 2, week 2): scikit-learn's ``make_moons`` with 300
points and noise 0.2 drawn after ``np.random.seed(3)``, a network [2, 5, 2, 1] with ReLU
hidden layers and He initialization from seed 3, learning rate 0.0007, mini-batches of 64
reshuffled every epoch (seed 10 + epoch), 5000 epochs, the cost recorded every 100 epochs.
Only the optimizer changes between the three runs: ``train(optimizer="gd" | "momentum" |
"adam")``, every gradient from compgraph's backward pass.

Run: python examples/optimization.py [--out-dir out] [--fast]
(needs the examples extra, with scikit-learn: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np

from compgraph.files import write_atomically
from compgraph.logistic import plot_costs
from compgraph.networks import plot_decision_boundary, predict, train

OPTIMIZERS = {"gd": "gradient descent", "momentum": "momentum", "adam": "Adam"}


def moons() -> tuple[np.ndarray, np.ndarray]:
    """The course's load_dataset(): make_moons(300, noise=0.2) from NumPy's seed 3."""
    from sklearn.datasets import make_moons

    # The notebook seeds NumPy's global generator; a RandomState of the same seed gives the
    # same points without touching the global state.
    X, y = make_moons(n_samples=300, noise=0.2, random_state=np.random.RandomState(3))
    return X.T, y.reshape(1, -1).astype(np.float64)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--epochs", type=int, default=5000)
    parser.add_argument("--fast", action="store_true", help="only 500 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 500 if args.fast else args.epochs

    X, Y = moons()
    print(f"moons: X {X.shape}, Y {Y.shape}; network [2, 5, 2, 1], {epochs} epochs")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    costs: dict[str, list[float]] = {}
    accuracies: dict[str, float] = {}
    for optimizer, label in OPTIMIZERS.items():
        start = time.perf_counter()
        parameters, costs[label] = train(
            X, Y, [2, 5, 2, 1], 0.0007, hidden="relu", seed=3, initialization="he",
            optimizer=optimizer, beta=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8,
            mini_batch_size=64, mini_batch_seed=10, num_epochs=epochs,
        )  # fmt: skip
        accuracies[label] = 100 * float(np.mean(predict(parameters, X) == Y))
        print(
            f"{label}: accuracy {accuracies[label]:.1f} %, cost {costs[label][-1]:.4f} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        try:
            path = args.out_dir / f"optimization_{optimizer}.png"
            plot_decision_boundary(
                parameters, X, Y, "relu", path, title=f"{label}: {accuracies[label]:.1f} %"
            )
            print(f"decision boundary saved to {path}")
        except ImportError as error:
            print(f"no decision boundary: {error}")
    try:
        path = args.out_dir / "optimization_costs.png"
        save_cost_curves(costs, path)
        print(f"cost curves saved to {path}")
    except ImportError as error:
        print(f"no cost curves: {error}")
    return accuracies


def save_cost_curves(costs: dict[str, list[float]], path: Path) -> None:
    """The three runs' costs against the epoch, as one PNG written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    plot_costs(costs, ax=axes)
    axes.set_xlabel("epoch")
    axes.set_title("Cost per epoch, learning rate = 0.0007, mini-batches of 64")
    picture = io.BytesIO()
    figure.savefig(picture, format="png", dpi=100, bbox_inches="tight")
    write_atomically(path, picture.getvalue())


if __name__ == "__main__":
    main()
