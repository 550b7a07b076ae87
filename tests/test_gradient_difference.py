"""cg.gradient_difference, the course's gradient check: the engine's gradients pass, a
hand-written backpropagation with a planted bug is caught, every container form works,
and a random (dropout) cost is refused."""

import numpy as np
import pytest

import compgraph as cg
from compgraph.models.networks import (
    backward_analytic,
    compute_cost,
    forward,
    initialize_parameters,
)


def network_problem():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3))
    Y = np.array([[1, 1, 0]])
    parameters = initialize_parameters([4, 5, 3, 1], seed=1, scale=1.0)
    parameters = {k: v + (0.1 if k.startswith("b") else 0.0) for k, v in parameters.items()}
    return X, Y, parameters


def test_the_engines_gradients_pass_the_courses_threshold():
    X, Y, parameters = network_problem()

    def cost(p):
        return compute_cost(forward(X, p, hidden="relu"), Y)

    assert cg.gradient_difference(cost, parameters) < 2e-7


def test_a_planted_bug_in_a_hand_written_backpropagation_is_caught():
    # The course's gradient-checking notebook plants two bugs: dW2 twice too large and
    # db1 with 4/m for 1/m. The correct backpropagation passes; the planted one fails.
    X, Y, parameters = network_problem()

    def cost(p):
        return compute_cost(forward(X, p, hidden="relu"), Y)

    right = backward_analytic(X, Y, parameters, hidden="relu")
    assert cg.gradient_difference(cost, parameters, right) < 2e-7
    wrong = dict(right, dW2=2 * right["dW2"], db1=4 * right["db1"])
    assert cg.gradient_difference(cost, parameters, wrong) > 1e-2
    off_by_a_thousandth = dict(right, dW1=right["dW1"] * 1.001)
    assert cg.gradient_difference(cost, parameters, off_by_a_thousandth) > 2e-7


def test_the_course_one_dimensional_check():
    # J(θ) = θx at x = 2, θ = 4: dθ = x = 2 (the course's 1-D example, its difference < 1e-7).
    def cost(theta):
        return theta * 2.0

    assert cg.gradient_difference(cost, np.array(4.0), np.array(2.0)) < 1e-7
    assert cg.gradient_difference(cost, np.array(4.0), np.array(3.0)) == pytest.approx(0.2)


def test_sequences_and_arrays_are_flattened_in_order():
    def cost(p):
        w, b = p
        return cg.sum(w * w) + 3 * b

    point = [np.array([1.0, -2.0]), np.array(0.5)]
    assert cg.gradient_difference(cost, point) < 1e-8
    assert cg.gradient_difference(cost, tuple(point), (np.array([2.0, -4.0]), 3.0)) < 1e-8
    # Swapping the order of the gradients is caught.
    assert cg.gradient_difference(cost, point, [np.array([-4.0, 2.0]), 3.0]) > 0.5

    def single(w):
        return cg.sum(cg.exp(w))

    w = np.array([[0.1, 0.2], [0.3, -0.4]])
    assert cg.gradient_difference(single, w) < 1e-8
    assert cg.gradient_difference(single, w, np.exp(w)) < 1e-8


def test_a_random_cost_is_refused_because_of_dropout():
    X, Y, parameters = network_problem()
    generator = np.random.RandomState(0)

    def cost_with_fresh_masks(p):
        nodes = {k: v if isinstance(v, cg.Node) else cg.Node(v) for k, v in p.items()}
        A1 = cg.relu(nodes["W1"] @ X + nodes["b1"]) * (generator.rand(5, 3) < 0.8) / 0.8
        A2 = cg.relu(nodes["W2"] @ A1 + nodes["b2"])
        return cg.mean(cg.sigmoid_cross_entropy(nodes["W3"] @ A2 + nodes["b3"], Y))

    with pytest.raises(ValueError, match="the cost is random, as with dropout's fresh masks"):
        cg.gradient_difference(cost_with_fresh_masks, parameters)


def test_fixed_dropout_masks_are_warned_about():
    X, Y, parameters = network_problem()
    mask = (np.random.RandomState(1).rand(5, 3) < 0.8).astype(float)

    def cost_with_fixed_masks(p):
        nodes = {k: v if isinstance(v, cg.Node) else cg.Node(v) for k, v in p.items()}
        D1 = cg.Node(mask, name="D1", requires_grad=False)
        A1 = cg.relu(nodes["W1"] @ X + nodes["b1"]) * D1 / 0.8
        A2 = cg.relu(nodes["W2"] @ A1 + nodes["b2"])
        return cg.mean(cg.sigmoid_cross_entropy(nodes["W3"] @ A2 + nodes["b3"], Y))

    with pytest.warns(UserWarning, match=r"dropout masks \(D1\); the check holds for these"):
        assert cg.gradient_difference(cost_with_fixed_masks, parameters) < 2e-7


def test_fixed_masks_are_warned_about_when_f_records_only_on_nodes():
    # f written as a learner writes it: arrays in, so called with arrays it records no
    # graph (W1 @ X is NumPy's); the masks show only in the graph of the engine's gradients.
    X, Y, parameters = network_problem()
    mask = (np.random.RandomState(1).rand(5, 3) < 0.8).astype(float)

    def cost_with_fixed_masks(p):
        D1 = cg.Node(mask, name="D1", requires_grad=False)
        A1 = cg.relu(p["W1"] @ X + p["b1"]) * D1 / 0.8
        A2 = cg.relu(p["W2"] @ A1 + p["b2"])
        return cg.mean(cg.sigmoid_cross_entropy(p["W3"] @ A2 + p["b3"], Y))

    with pytest.warns(UserWarning, match=r"dropout masks \(D1\)") as caught:
        assert cg.gradient_difference(cost_with_fixed_masks, parameters) < 2e-7
    warned = [w for w in caught if "dropout masks" in str(w.message)]
    assert len(warned) == 1 and warned[0].filename == __file__  # the caller's line


def test_bad_arguments_are_named():
    def cost(p):
        return cg.sum(p["w"] ** 2)

    point = {"w": np.array([1.0, 2.0])}
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        cg.gradient_difference(cost, point, epsilon=0)
    with pytest.raises(ValueError, match=r"gradients has no 'w' \(nor 'dw'\)"):
        cg.gradient_difference(cost, point, {"v": np.ones(2)})
    with pytest.raises(ValueError, match=r"the gradient of 'w' has shape \(3,\)"):
        cg.gradient_difference(cost, point, {"dw": np.ones(3)})
    with pytest.raises(TypeError, match="f returned a float, not a Node"):
        cg.gradient_difference(lambda p: 1.0, point)
    with pytest.raises(TypeError, match="must return the scalar cost"):
        cg.gradient_difference(lambda p: np.ones(2), point, {"w": np.ones(2)})
