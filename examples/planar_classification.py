"""One hidden layer on the week-3 "flower": where logistic regression fails, four tanh units win.

The course's planar data set (regenerated, no download): 400 points in eight interleaved
petals, red (0) and blue (1). A straight boundary classifies about half of them; a network
with one hidden layer of 4 tanh units, trained by gradient descent with every gradient from
compgraph's backward pass, draws a flower-shaped boundary around them. The settings are the
course's: learning rate 1.2, 10 000 iterations, weights randn × 0.01 from seed 2.

Run: python examples/planar_classification.py [--out-dir out] [--fast]
(needs the examples extra: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import compgraph as cg
from compgraph.datasets import planar_flower
from compgraph.logistic import LogisticRegression
from compgraph.networks import compute_cost, forward, plot_decision_boundary, predict, train

HIDDEN = "tanh"


def accuracy(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Percentage of examples classified correctly."""
    return 100 * float(np.mean(predict(parameters, X, hidden=HIDDEN) == Y))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--learning-rate", type=float, default=1.2)
    parser.add_argument("--hidden-units", type=int, default=4)
    parser.add_argument("--fast", action="store_true", help="only 500 iterations (for tests)")
    args = parser.parse_args(argv)
    iterations = 500 if args.fast else args.iterations

    X, Y = planar_flower()
    print(f"flower: X {X.shape}, Y {Y.shape}, {int(Y.sum())} blue and {int((1 - Y).sum())} red")

    linear = LogisticRegression(learning_rate=0.5, num_iterations=1000).fit(X.T, Y[0])
    print(f"logistic regression accuracy: {100 * linear.score(X.T, Y[0]):.1f} %")

    layer_dims = [2, args.hidden_units, 1]
    print(f"network {layer_dims}, {HIDDEN} hidden units, learning rate {args.learning_rate:g}")
    parameters, _ = train(
        X, Y, layer_dims, args.learning_rate, iterations,
        hidden=HIDDEN, print_cost=True, seed=2, scale=0.01,
        print_every=100 if args.fast else 1000,
    )  # fmt: skip
    print(f"network accuracy: {accuracy(parameters, X, Y):.1f} % after {iterations} iterations")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    boundary = args.out_dir / "planar_boundary.png"
    try:
        plot_decision_boundary(parameters, X, Y, HIDDEN, boundary)
        print(f"decision boundary saved to {boundary}")
    except ImportError as error:
        print(f"no decision boundary: {error}")

    # The trained network's graph, X -> Z1 -> A1 -> Z2 -> L -> J, with its gradients.
    J = compute_cost(forward(X, parameters, hidden=HIDDEN), Y)
    J.backward()
    graph = args.out_dir / "planar_graph.svg"
    try:
        cg.render(J, graph)
        print(f"graph of the network saved to {graph}")
    except cg.RenderError as error:
        print(f"no graph picture (no Graphviz layout program was found): {error}")


if __name__ == "__main__":
    main()
