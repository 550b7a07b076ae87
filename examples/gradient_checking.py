"""Gradient checking: a hand-written backpropagation with two planted bugs, found and fixed.

The course's third assignment of Course 2 (Week 1, "Gradient Checking"). Its check flattens
all the parameters into one vector θ and compares the gradient g of a backpropagation with
two-sided differences, ε = 1e-7:

    ĝᵢ = (J(θ + ε eᵢ) − J(θ − ε eᵢ)) / 2ε,   difference = ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂)

and reads it against 2e-7: below, the backpropagation is right; above, it has a mistake.
``cg.gradient_difference`` is that check. Here it runs on

1. the 1-D example J(θ) = θx, with dJ/dθ = x;
2. the course's N-D example: a ReLU network [4, 5, 3, 1] on 3 examples, all parameters
   drawn by randn from seed 1, and the course's hand-written ``backward_propagation_n``
   with its two bugs (dW2 doubled, db1 four times too large), then without them;
3. dropout, where the check does not work: fresh masks make the cost random, and
   ``gradient_difference`` refuses it; with fixed masks it warns that the check holds
   for those masks only.

A picture shows the difference of each parameter on its own, with the bugs and without.

Run: python examples/gradient_checking.py [--out-dir out]
(runs in about a second; the picture needs the examples extra: pip install -e ".[examples]")
"""

from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import compgraph as cg
from compgraph.files import write_atomically
from compgraph.networks import compute_cost, forward

THRESHOLD = 2e-7  # the course's, for its N-D check with ε = 1e-7


def verdict(difference: float) -> str:
    """The notebook's reading of the difference."""
    if difference > THRESHOLD:
        return "There is a mistake in the backward propagation!"
    return "Your backward propagation works perfectly fine!"


def gradient_check_n_test_case() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The notebook's test case: X (4, 3), Y (1, 3) and W1 … b3, drawn in that order."""
    generator = np.random.RandomState(1)
    X = generator.randn(4, 3)
    Y = np.array([[1, 1, 0]])
    shapes = {"W1": (5, 4), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    return X, Y, {name: generator.randn(*shape) for name, shape in shapes.items()}


def backward_propagation_n(
    X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], planted_bugs: bool
) -> dict[str, np.ndarray]:
    """The notebook's hand-written backpropagation (ReLU, ReLU, sigmoid), in plain NumPy.

    With ``planted_bugs`` it has the notebook's two mistakes: dW2 multiplied by 2 and db1
    computed with 4/m instead of 1/m.
    """
    W1, b1, W2, b2, W3, b3 = (parameters[n] for n in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    A1 = np.maximum(W1 @ X + b1, 0)
    A2 = np.maximum(W2 @ A1 + b2, 0)
    A3 = 1 / (1 + np.exp(-(W3 @ A2 + b3)))

    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dZ2 = (W3.T @ dZ3) * (A2 > 0)
    dW2 = dZ2 @ A1.T / m * (2 if planted_bugs else 1)
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = (4 if planted_bugs else 1) / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def notebook_cost(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> float:
    """The notebook's ``forward_propagation_n`` cost in NumPy: a = σ(z) first, then −log.

    Where a[3] is close to 1, 1 − a[3] keeps only the digits a[3]'s rounding left it, so
    this cost is less exact than compgraph's, which works from z[3] itself.
    """
    A1 = np.maximum(parameters["W1"] @ X + parameters["b1"], 0)
    A2 = np.maximum(parameters["W2"] @ A1 + parameters["b2"], 0)
    A3 = 1 / (1 + np.exp(-(parameters["W3"] @ A2 + parameters["b3"])))
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    return float(1.0 / X.shape[1] * np.sum(logprobs))  # the notebook's order of rounding


def per_parameter(
    cost: Any, parameters: dict[str, np.ndarray], grads: dict[str, np.ndarray]
) -> dict[str, float]:
    """The difference of each parameter alone, the others held fixed: where a bug is."""
    differences = {}
    for name in parameters:

        def cost_of_one(value: Any, name: str = name) -> Any:
            return cost({**parameters, name: value})

        differences[name] = cg.gradient_difference(cost_of_one, parameters[name], grads[f"d{name}"])
    return differences


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("out"), help="where pictures go")
    args = parser.parse_args(argv)

    # 1. One dimension: J(θ) = θx at x = 2, θ = 4 (the course's); backpropagation says dJ/dθ = x.
    x, theta = 2.0, np.array(4.0)
    difference = cg.gradient_difference(lambda t: t * x, theta, np.array(x))
    print(f"1-D: difference = {difference:.3e}: {verdict(difference)}")

    # 2. N dimensions: the course's network and its hand-written backpropagation.
    X, Y, parameters = gradient_check_n_test_case()

    def cost(p: Any) -> cg.Node:
        return compute_cost(forward(X, p, hidden="relu"), Y)

    differences = {}
    for label, planted_bugs in (("with the planted bugs", True), ("fixed", False)):
        grads = backward_propagation_n(X, Y, parameters, planted_bugs)
        difference = cg.gradient_difference(cost, parameters, grads)
        print(f"N-D, {label}: difference = {difference:.3e}: {verdict(difference)}")
        differences[label] = per_parameter(cost, parameters, grads)
        wrong = [name for name, d in differences[label].items() if d > THRESHOLD]
        print(f"  parameters over the threshold: {', '.join(wrong) or 'none'}")
    engine = cg.gradient_difference(cost, parameters)
    print(f"N-D, compgraph's own gradients: difference = {engine:.3e}: {verdict(engine)}")
    # The same right gradients against the notebook's own cost: its rounding shows in ĝ.
    grads = backward_propagation_n(X, Y, parameters, planted_bugs=False)
    naive = cg.gradient_difference(lambda p: notebook_cost(X, Y, p), parameters, grads)
    print(f"N-D, fixed, against the notebook's NumPy cost: difference = {naive:.3e}")

    # 3. Dropout: the cost is no longer a function of θ alone.
    generator = np.random.RandomState(1)

    def cost_with_dropout(p: Any, masks: dict[int, np.ndarray] | None = None) -> cg.Node:
        keep_prob = 0.86
        A: Any = X
        for layer in (1, 2):
            A = cg.relu(p[f"W{layer}"] @ A + p[f"b{layer}"])
            mask = masks[layer] if masks else generator.rand(*A.shape) < keep_prob
            A = A * cg.Node(mask.astype(float), name=f"D{layer}", requires_grad=False)
            A = A / keep_prob
        return cg.mean(cg.sigmoid_cross_entropy(p["W3"] @ A + p["b3"], Y))

    try:
        cg.gradient_difference(cost_with_dropout, parameters)
    except ValueError as error:
        print(f"dropout, fresh masks each call: refused:\n  {error}")
    fixed = {layer: generator.rand(n, X.shape[1]) < 0.86 for layer, n in ((1, 5), (2, 3))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        difference = cg.gradient_difference(lambda p: cost_with_dropout(p, fixed), parameters)
    print(f"dropout, fixed masks: difference = {difference:.3e}, with a warning:")
    for warning in caught:
        print(f"  {warning.message}")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / "gradient_checking.png"
    try:
        plot_differences(differences, path)
        print(f"\ndifferences per parameter saved to {path}")
    except ImportError as error:
        print(f"no picture: {error}")


def plot_differences(differences: dict[str, dict[str, float]], path: Path) -> None:
    """Bars of each parameter's difference, one group per backpropagation, log scale."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = list(next(iter(differences.values())))
    width = 0.8 / len(differences)
    for k, (label, by_name) in enumerate(differences.items()):
        positions = np.arange(len(names)) + (k - (len(differences) - 1) / 2) * width
        # A difference of exactly 0 cannot sit on a log axis; it is drawn at the bottom.
        heights = [max(by_name[name], 1e-16) for name in names]
        axes.bar(positions, heights, width, label=label)
    axes.axhline(THRESHOLD, color="k", linestyle="--", linewidth=1, label="threshold 2e-7")
    axes.set_yscale("log")
    axes.set_xticks(np.arange(len(names)), names)
    axes.set_ylabel("‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)")
    axes.set_title("The course's gradient check, parameter by parameter")
    axes.legend()
    picture = io.BytesIO()
    figure.savefig(picture, format="png", dpi=100, bbox_inches="tight")
    write_atomically(path, picture.getvalue())


if __name__ == "__main__":
    main()
