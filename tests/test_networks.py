"""Networks with hidden layers: the course's initialisation and numbers, the engine's gradients
against the hand-written backpropagation, training, prediction and the input checks."""

import math
import re
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.testing import Domain, float_arrays
from compgraph.graph import ancestors
from compgraph.models.datasets import planar_flower
from compgraph.models.logistic import LogisticRegression
from compgraph.models.networks import (
    NetworkClassifier,
    backward_analytic,
    compute_cost,
    forward,
    initialize_parameters,
    plot_decision_boundary,
    predict,
    propagate,
    train,
    update_parameters,
)


def global_state_unchanged(before):
    after = np.random.get_state()
    return before[0] == after[0] and all(
        np.array_equal(x, y) for x, y in zip(before[1:], after[1:], strict=True)
    )


def numpy_forward(X, parameters, hidden, logits=False):
    """A[L] (or with ``logits``, Z[L]) in plain NumPy, the course's way."""
    L = len(parameters) // 2
    A = X
    for l in range(1, L + 1):  # noqa: E741
        Z = parameters[f"W{l}"] @ A + parameters[f"b{l}"]
        if l == L:
            A = Z if logits else 1 / (1 + np.exp(-Z))
        else:
            A = np.tanh(Z) if hidden == "tanh" else np.maximum(Z, 0)
    return A


# -- initialisation ------------------------------------------------------------------------------


def test_week_3_initialisation_gives_the_published_weights():
    parameters = initialize_parameters([2, 4, 1], seed=2)
    np.testing.assert_allclose(
        parameters["W1"],
        [
            [-0.00416758, -0.00056267],
            [-0.02136196, 0.01640271],
            [-0.01793436, -0.00841747],
            [0.00502881, -0.01245288],
        ],
        rtol=0,
        atol=5e-9,
    )
    np.testing.assert_allclose(
        parameters["W2"], [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]], rtol=0, atol=5e-9
    )
    assert not parameters["b1"].any() and parameters["b1"].shape == (4, 1)
    assert not parameters["b2"].any() and parameters["b2"].shape == (1, 1)


def test_week_4_deep_initialisation_gives_the_published_weights():
    parameters = initialize_parameters([5, 4, 3], seed=3)
    np.testing.assert_allclose(
        parameters["W1"][0],
        [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
        atol=5e-9,
    )
    np.testing.assert_allclose(
        parameters["W2"][2], [-0.00768836, -0.00230031, 0.00745056, 0.01976111], atol=5e-9
    )
    assert list(parameters) == ["W1", "b1", "W2", "b2"]


@pytest.mark.parametrize("scale", [0.01, 0.5, "sqrt"])
def test_the_draws_are_the_legacy_stream_one_randn_per_layer(scale):
    dims = [6, 5, 3, 2, 1]
    parameters = initialize_parameters(dims, seed=4, scale=scale)
    before = np.random.get_state()
    try:
        np.random.seed(4)  # the course's way, on the global generator
        for l in range(1, len(dims)):  # noqa: E741
            draw = np.random.randn(dims[l], dims[l - 1])
            expected = draw / np.sqrt(dims[l - 1]) if scale == "sqrt" else draw * scale
            np.testing.assert_array_equal(parameters[f"W{l}"], expected)
            np.testing.assert_array_equal(parameters[f"b{l}"], np.zeros((dims[l], 1)))
    finally:
        np.random.set_state(before)


def test_initialisation_and_training_leave_numpys_global_random_state_alone():
    before = np.random.get_state()
    initialize_parameters([3, 2, 1], seed=5, scale="sqrt")
    train(np.ones((3, 4)), [[0, 1, 0, 1]], [3, 2, 1], 0.1, 3, seed=5)
    assert global_state_unchanged(before)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([3],), "layer_dims must be a list"),
        (([3, 0, 1],), "layer_dims must be a list"),
        (([3, 2.5, 1],), "layer_dims must be a list"),
        (("31",), "layer_dims must be a list"),
        (([3, 1], -1), "seed must be a non-negative integer"),
        (([3, 1], 1, -0.1), "scale must be a non-negative number"),
        (([3, 1], 1, "he"), "scale must be a non-negative number"),
        (([3, 1], 1, math.inf), "scale must be a non-negative number"),
    ],
)
def test_bad_initialisation_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=f"initialize_parameters: {message}"):
        initialize_parameters(*arguments)


# -- the forward pass and the cost ---------------------------------------------------------------


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_forward_computes_the_courses_network_and_names_its_nodes(hidden):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 7))
    parameters = initialize_parameters([3, 5, 4, 1], seed=0, scale=1.0)
    parameters["b2"] = rng.normal(size=(4, 1))
    AL = forward(X, parameters, hidden=hidden)
    np.testing.assert_allclose(AL.value, numpy_forward(X, parameters, hidden), rtol=1e-14)
    assert AL.name == "A3" and AL.op is cg.ops.Sigmoid and AL.parents[0].name == "Z3"
    names = {node.name for node in ancestors(AL)} - {None}  # W[l] A[l-1] stays unnamed
    assert names == {"X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "A2", "W3", "b3", "Z3", "A3"}


def test_parameters_given_as_nodes_receive_their_gradients():
    X, Y = np.array([[1.0, -2.0, 0.5]]), np.array([[1, 0, 1]])
    arrays = initialize_parameters([1, 3, 1], seed=1, scale=1.0)
    nodes = {name: cg.Node(value, name=name) for name, value in arrays.items()}
    J = compute_cost(forward(X, nodes, hidden="tanh"), Y)
    J.backward()
    expected = backward_analytic(X, Y, arrays, hidden="tanh")
    for name, node in nodes.items():
        np.testing.assert_allclose(node.grad, expected[f"d{name}"], rtol=1e-12, atol=1e-15)


def test_the_cost_is_the_cross_entropy_of_the_output():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(2, 9)), (rng.random((1, 9)) > 0.5).astype(float)
    parameters = initialize_parameters([2, 3, 1], seed=1, scale=1.0)
    A = numpy_forward(X, parameters, "relu")
    naive = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    J = compute_cost(forward(X, parameters), Y)
    assert J.name == "J" and J.shape == ()
    assert J.item() == pytest.approx(naive, rel=1e-13)


def test_the_cost_stays_finite_and_exact_where_the_output_rounds_to_one():
    # A logit of 50 makes σ(z) == 1.0 exactly: ln(1 - A) would be ln 0 for the label 0.
    parameters = {"W1": np.array([[50.0]]), "b1": np.array([[0.0]])}
    AL = forward([[1.0, 1.0]], parameters)
    assert AL.value[0, 0] == 1.0
    J = compute_cost(AL, [[1, 0]])
    J.backward()
    expected = (np.logaddexp(0, -50.0) + np.logaddexp(0, 50.0)) / 2  # softplus(∓z), averaged
    assert J.item() == pytest.approx(expected, rel=1e-15)
    assert np.isfinite(J.parents[0].parents[0].grad).all()


def test_compute_cost_refuses_an_output_that_is_not_a_sigmoid():
    Z = cg.Node([[0.5, -0.5]]) * 2.0
    with pytest.raises(TypeError, match=r"compute_cost: AL must be the sigmoid output .* mul"):
        compute_cost(Z, [[1, 0]])
    with pytest.raises(TypeError, match="got a leaf Node"):
        compute_cost(cg.Node([[0.5, 0.5]]), [[1, 0]])
    with pytest.raises(TypeError, match="got a ndarray"):
        compute_cost(np.array([[0.5, 0.5]]), [[1, 0]])


def test_compute_cost_checks_the_labels_and_the_output_shape():
    AL = forward(np.ones((2, 3)), initialize_parameters([2, 1]))
    with pytest.raises(cg.ShapeError, match=r"compute_cost: Y has shape \(3,\).*reshape"):
        compute_cost(AL, [1, 0, 1])
    with pytest.raises(
        cg.DataError, match="compute_cost: Y must hold the labels 0 and 1 only, found 2"
    ):
        compute_cost(AL, [[1, 2, 0]])
    wide = forward(np.ones((2, 3)), initialize_parameters([2, 2]))
    with pytest.raises(cg.ShapeError, match=r"AL has shape \(2, 3\).*single unit"):
        compute_cost(wide, [[1, 0, 1]])


# -- the engine's gradients against the course's backpropagation ---------------------------------


def gradient_scales(X, Y, parameters, hidden):
    """The size of the terms each gradient element sums: the backward pass on absolute values.

    Rounding errors are relative to these (|dZ| |A|ᵀ / m rather than dZ Aᵀ / m), so the
    comparison stays meaningful where the terms of a gradient cancel to nearly zero.
    """
    L = len(parameters) // 2
    As, Zs = [X], [None]
    for l in range(1, L + 1):  # noqa: E741
        Z = parameters[f"W{l}"] @ As[-1] + parameters[f"b{l}"]
        Zs.append(Z)
        As.append(
            1 / (1 + np.exp(-Z)) if l == L else np.tanh(Z) if hidden == "tanh" else np.maximum(Z, 0)
        )
    m = X.shape[1]
    scales, dZ = {}, np.abs(As[L] - Y)
    for l in range(L, 0, -1):  # noqa: E741
        scales[f"dW{l}"] = dZ @ np.abs(As[l - 1]).T / m
        scales[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1:
            derivative = 1 - As[l - 1] ** 2 if hidden == "tanh" else (Zs[l - 1] > 0)
            dZ = (np.abs(parameters[f"W{l}"]).T @ dZ) * np.abs(derivative)
    return scales


@st.composite
def networks(draw):
    """A random network of 1 to 5 layers, its data, labels and hidden activation."""
    dims = [*draw(st.lists(st.integers(1, 5), min_size=1, max_size=5)), 1]
    m = draw(st.integers(1, 6))
    parameters = {}
    for l in range(1, len(dims)):  # noqa: E741
        parameters[f"W{l}"] = draw(float_arrays((dims[l], dims[l - 1]), Domain(-2.0, 2.0)))
        parameters[f"b{l}"] = draw(float_arrays((dims[l], 1), Domain(-2.0, 2.0)))
    X = draw(float_arrays((dims[0], m), Domain(-3.0, 3.0)))
    Y = draw(float_arrays((1, m), Domain(0.0, 1.0)).map(np.round))
    return X, Y, parameters, draw(st.sampled_from(["relu", "tanh"]))


@given(networks())
def test_engine_gradients_equal_the_hand_written_backpropagation(network):
    X, Y, parameters, hidden = network
    grads, cost = propagate(X, Y, parameters, hidden=hidden)
    expected = backward_analytic(X, Y, parameters, hidden=hidden)
    scales = gradient_scales(X, Y, parameters, hidden)
    assert list(grads) == list(expected) == [f"d{name}" for name in parameters]
    for name, grad in grads.items():
        assert grad.shape == parameters[name[1:]].shape
        # 1e-10 relative to the size of the summed terms, far beyond rounding; the floor is
        # for subnormal numbers (hypothesis draws them), which have no relative precision.
        tolerance = 1e-10 * scales[name] + 1e-300
        assert np.all(np.abs(grad - expected[name]) <= tolerance), name
    Z = numpy_forward(X, parameters, hidden, logits=True)
    exact = np.mean(Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z))
    assert cost == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_the_hand_written_backpropagation_matches_finite_differences(hidden):
    # The oracle itself is checked: central differences of the cost in every parameter.
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(3, 8)), (rng.random((1, 8)) > 0.5).astype(float)
    parameters = initialize_parameters([3, 4, 2, 1], seed=3, scale=1.0)
    parameters["b1"] = rng.normal(size=(4, 1))
    grads = backward_analytic(X, Y, parameters, hidden=hidden)

    def cost(values):
        A = numpy_forward(X, values, hidden)
        return -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))

    h = 1e-6
    for name, value in parameters.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {**parameters, name: value.copy()}
            minus = {**parameters, name: value.copy()}
            plus[name][index] += h
            minus[name][index] -= h
            numeric[index] = (cost(plus) - cost(minus)) / (2 * h)
        np.testing.assert_allclose(grads[f"d{name}"], numeric, rtol=1e-6, atol=1e-9)


# -- updates and training --------------------------------------------------------------------


def test_update_parameters_steps_against_the_gradient_without_touching_its_inputs():
    parameters = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([[0.5]])}
    grads = {"dW1": np.array([[0.5, -1.0]]), "db1": np.array([[1.0]])}
    new = update_parameters(parameters, grads, learning_rate=0.1)
    np.testing.assert_allclose(new["W1"], [[0.95, 2.1]], rtol=1e-15)
    np.testing.assert_allclose(new["b1"], [[0.4]], rtol=1e-15)
    assert parameters["W1"].tolist() == [[1.0, 2.0]] and parameters["b1"].tolist() == [[0.5]]


def test_update_parameters_checks_its_arguments():
    parameters = {"W1": np.ones((1, 2)), "b1": np.zeros((1, 1))}
    with pytest.raises(ValueError, match="update_parameters: grads has no db1"):
        update_parameters(parameters, {"dW1": np.ones((1, 2))}, 0.1)
    with pytest.raises(cg.ShapeError, match=r"dW1 has shape \(2, 1\) but W1 has shape \(1, 2\)"):
        update_parameters(parameters, {"dW1": np.ones((2, 1)), "db1": np.ones((1, 1))}, 0.1)
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        update_parameters(parameters, {"dW1": np.ones((1, 2)), "db1": np.ones((1, 1))}, 0)


def course_week_3(X, Y, iterations, learning_rate=1.2):
    """The course's nn_model (4 tanh units, seed 2), restated in plain NumPy."""
    generator = np.random.RandomState(2)
    W1, b1 = generator.randn(4, 2) * 0.01, np.zeros((4, 1))
    W2, b2 = generator.randn(1, 4) * 0.01, np.zeros((1, 1))
    m, costs = X.shape[1], []
    for i in range(iterations):
        A1 = np.tanh(W1 @ X + b1)
        A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
        if i % 100 == 0:
            costs.append(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m)
        dZ2 = A2 - Y
        dW2, db2 = dZ2 @ A1.T / m, np.sum(dZ2, axis=1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1**2)
        dW1, db1 = dZ1 @ X.T / m, np.sum(dZ1, axis=1, keepdims=True) / m
        W1, b1 = W1 - learning_rate * dW1, b1 - learning_rate * db1
        W2, b2 = W2 - learning_rate * dW2, b2 - learning_rate * db2
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


def test_training_on_the_flower_retraces_the_courses_hand_written_run():
    X, Y = planar_flower()
    parameters, costs = train(X, Y, [2, 4, 1], 1.2, 2000, hidden="tanh", seed=2)
    expected_parameters, expected_costs = course_week_3(X, Y, 2000)
    assert len(costs) == 20
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-9)
    # The course's printed costs at iterations 0 and 1000.
    assert [round(costs[0], 6), round(costs[10], 6)] == [0.693048, 0.288083]
    for name, value in parameters.items():
        np.testing.assert_allclose(value, expected_parameters[name], rtol=1e-7, atol=1e-9)


@pytest.mark.slow  # a long training: the course's 10 000 steps
def test_four_tanh_units_classify_the_flower_at_the_courses_90_percent():
    X, Y = planar_flower()
    parameters, costs = train(X, Y, [2, 4, 1], 1.2, 10_000, hidden="tanh", seed=2)
    accuracy = np.mean(predict(parameters, X, hidden="tanh") == Y)
    assert 0.90 <= accuracy <= 0.92
    assert len(costs) == 100 and costs[-1] < 0.22
    # Logistic regression, a straight boundary, does no better than chance here: 47 %.
    linear = LogisticRegression(learning_rate=0.5, num_iterations=1000).fit(X.T, Y[0])
    assert linear.score(X.T, Y[0]) == pytest.approx(0.47)


def test_the_costs_are_recorded_every_100_iterations_and_printed_on_request(capsys):
    X, Y = planar_flower()
    _, costs = train(X, Y, [2, 3, 1], 0.5, 250, hidden="tanh", print_cost=True)
    assert len(costs) == 3  # iterations 0, 100 and 200
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"Cost after iteration {i}: {costs[i // 100]:f}" for i in (0, 100, 200)]
    train(X, Y, [2, 3, 1], 0.5, 250, hidden="tanh", print_cost=True, print_every=120)
    assert "Cost after iteration 240:" in capsys.readouterr().out


class FakeGradientFlow:
    """Records what train hands over, as cg.GradientFlow would."""

    def __init__(self):
        self.calls = []

    def record(self, iteration, parameters, root):
        self.calls.append(
            (
                iteration,
                {name: (node, np.array(node.grad)) for name, node in parameters.items()},
                root,
                len(ancestors(root)),
            )
        )


def test_gradient_flow_sees_every_backward_pass_and_the_graph_never_grows():
    X, Y = planar_flower()
    flow = FakeGradientFlow()
    dims = [2, 3, 2, 1]
    train(X, Y, dims, 0.3, 5, hidden="relu", seed=3, scale="sqrt", gradient_flow=flow)
    assert [call[0] for call in flow.calls] == [0, 1, 2, 3, 4]
    assert len({call[3] for call in flow.calls}) == 1  # the same graph size every iteration
    parameters = initialize_parameters(dims, seed=3, scale="sqrt")
    for _, recorded, root, _ in flow.calls:
        assert root.name == "J" and root.shape == ()
        assert list(recorded) == ["W1", "b1", "W2", "b2", "W3", "b3"]
        expected, _ = propagate(X, Y, parameters, hidden="relu")
        for name, (node, grad) in recorded.items():
            assert node.is_leaf and node.name == name
            np.testing.assert_array_equal(node.value, parameters[name])
            np.testing.assert_allclose(grad, expected[f"d{name}"], rtol=1e-13, atol=1e-16)
        parameters = update_parameters(parameters, expected, 0.3)


def test_a_learning_rate_that_saturates_the_output_keeps_training_finite():
    # Separable data and a big step: ReLU units grow the logits past ±40, where σ(Z[L])
    # rounds to exactly 0 or 1 and a cost taken from A[L] would meet ln 0.
    X = np.array([[-2.0, -1.0, 1.0, 2.0]])
    Y = np.array([[0, 0, 1, 1]])
    parameters, costs = train(X, Y, [1, 3, 1], 10.0, 300, hidden="relu", seed=1, scale=1.0)
    AL = forward(X, parameters, hidden="relu")
    assert np.abs(AL.parents[0].value).max() > 40 and ((AL.value == 0) | (AL.value == 1)).any()
    assert np.all(np.isfinite(costs)) and 0 < costs[-1] < 1e-3
    assert predict(parameters, X, hidden="relu").tolist() == [[0, 0, 1, 1]]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"X": np.ones((3, 4))},
            cg.ShapeError,
            r"X has shape \(3, 4\) but the network's first layer takes n_x = 2",
        ),
        (
            {"X": np.ones((4, 2))},
            cg.ShapeError,
            "X has shape .* pass X.T if your examples are rows",
        ),
        ({"Y": [[0, 1, 2, 1]]}, cg.DataError, "Y must hold the labels 0 and 1 only, found 2"),
        ({"Y": [[0, 1, 1]]}, cg.ShapeError, r"Y has shape \(1, 3\) but there are m = 4 examples"),
        (
            {"X": [[0, 1, np.nan, 1], [0, 0, 0, 0]]},
            cg.DataError,
            "X of shape \\(2, 4\\) contains NaN or inf \\(1 nan of 8",
        ),
        ({"X": [["a", "b"], ["c", "d"]]}, cg.DTypeError, "X has dtype <U1"),
        ({"layer_dims": [2, 3, 2]}, ValueError, "the output layer has 2 units"),
        ({"learning_rate": -0.1}, ValueError, "learning_rate must be a positive finite number"),
        ({"learning_rate": math.nan}, ValueError, "learning_rate must be a positive finite number"),
        ({"num_iterations": 0}, ValueError, "num_iterations must be a positive integer"),
        ({"hidden": "sigmoid"}, ValueError, "hidden must be one of 'relu', 'tanh', got 'sigmoid'"),
        ({"scale": "xavier"}, ValueError, "scale must be a non-negative number"),
        ({"gradient_flow": object()}, TypeError, "gradient_flow must have a record"),
    ],
)
def test_train_refuses_bad_input_with_a_message_that_says_what_to_do(change, error, message):
    arguments = {
        "X": np.ones((2, 4)),
        "Y": [[0, 1, 0, 1]],
        "layer_dims": [2, 3, 1],
        "learning_rate": 0.1,
        "num_iterations": 2,
        **change,
    }
    with pytest.raises(error, match=f"train: {message}"):
        train(**arguments)


def test_mismatched_parameters_are_named():
    parameters = initialize_parameters([2, 3, 1])
    parameters["W2"] = np.ones((1, 4))
    with pytest.raises(
        cg.ShapeError, match=r"forward: W2 has shape \(1, 4\) but layer 1 has 3 units"
    ):
        forward(np.ones((2, 5)), parameters)
    parameters = initialize_parameters([2, 3, 1])
    parameters["b1"] = np.zeros(3)
    with pytest.raises(
        cg.ShapeError,
        match=r"b1 has shape \(3,\) but W1 has shape \(3, 2\), so b1 must have shape \(3, 1\)",
    ):
        forward(np.ones((2, 5)), parameters)
    with pytest.raises(
        ValueError, match="parameters must hold W1, b1, …, WL, bL .* found W1, b1, W2"
    ):
        predict(
            {"W1": np.ones((1, 2)), "b1": np.zeros((1, 1)), "W2": np.ones((1, 1))}, np.ones((2, 1))
        )


# -- prediction ------------------------------------------------------------------------------


def test_predict_thresholds_the_output_at_one_half():
    # One sigmoid unit on x with W = 1, b = 0: A = σ(x) is exactly 0.5 at x = 0, predicted 0.
    parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    labels = predict(parameters, [[-3.0, -1e-9, 0.0, 1e-9, 3.0]])
    assert labels.tolist() == [[0.0, 0.0, 0.0, 1.0, 1.0]]
    assert labels.dtype == np.float64 and labels.shape == (1, 5)


def test_predict_records_no_graph_and_accepts_nodes():
    parameters = initialize_parameters([2, 3, 1], seed=1, scale=1.0)
    nodes = {name: cg.Node(value, name=name) for name, value in parameters.items()}
    X = np.random.default_rng(4).normal(size=(2, 6))
    np.testing.assert_array_equal(predict(nodes, X, "tanh"), predict(parameters, X, "tanh"))
    expected = (numpy_forward(X, parameters, "tanh") > 0.5).astype(float)
    np.testing.assert_array_equal(predict(parameters, X, "tanh"), expected)


# -- the estimator -------------------------------------------------------------------------------


def test_the_estimator_is_train_with_samples_as_rows():
    X, Y = planar_flower()
    model = NetworkClassifier(hidden_layer_sizes=(4,), num_iterations=300, standardize=False)
    model.set_params(tol=None).fit(X.T, Y[0])
    parameters, costs = train(X, Y, [2, 4, 1], 1.2, 300, hidden="tanh", seed=2)
    assert model.layer_dims_ == [2, 4, 1] and model.n_iter_ == 300
    assert list(model.parameters_) == list(parameters)
    for name, value in parameters.items():
        np.testing.assert_array_equal(model.parameters_[name], value)
    assert model.costs_ == costs
    probabilities = model.predict_proba(X.T)
    A = forward(X, parameters, hidden="tanh").value[0]
    np.testing.assert_allclose(probabilities[:, 1], A, rtol=1e-15)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(model.predict(X.T), predict(parameters, X, "tanh")[0])


def test_the_estimators_defaults_are_the_courses_week_3_model_on_standardised_features():
    # With standardize=False and tol=None, fit is train(X.T, y, [n_features, 4, 1], 1.2,
    # 10_000, "tanh", seed=2): the test above shows the equality.
    assert NetworkClassifier().get_params() == {
        "hidden_layer_sizes": (4,),
        "activation": "tanh",
        "learning_rate": 1.2,
        "num_iterations": 10_000,
        "seed": 2,
        "scale": 0.01,
        "print_cost": False,
        "print_every": 1000,
        # The course's second lessons, all off by default (full-batch gradient descent).
        "initialization": None,
        "alpha": 0.0,
        "keep_prob": 1.0,
        "dropout_seed": 1,
        "fixed_dropout_masks": False,
        "solver": "gd",
        "momentum": 0.9,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-8,
        "batch_size": None,
        "mini_batch_seed": 10,
        "decay_rate": None,
        "time_interval": None,
        "standardize": True,
        "tol": 1e-4,
        "n_iter_no_change": 50,
    }


def test_the_default_network_learns_unscaled_data_and_stops_when_the_cost_does(breast_cancer):
    """Issue 25: on these data the course's defaults predicted the majority class (63 %)."""
    X, y = breast_cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = NetworkClassifier().fit(X, y)
    assert model.score(X, y) >= 0.98
    assert model.n_iter_ < 2000 and len(model.costs_) == math.ceil(model.n_iter_ / 100)
    np.testing.assert_allclose(model.feature_mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.feature_scale_, X.std(axis=0), rtol=1e-12)
    # The network sees the standardised features: its own predictions from parameters_.
    standardised = ((X - model.feature_mean_) / model.feature_scale_).T
    np.testing.assert_array_equal(
        model.predict(X),
        model.classes_[predict(model.parameters_, standardised, "tanh")[0].astype(int)],
    )
    raw = NetworkClassifier(standardize=False, num_iterations=500).fit(X, y)
    assert not hasattr(raw, "feature_mean_") and raw.score(X, y) < 0.7  # saturated tanh units


def test_a_constant_feature_is_left_unscaled_not_divided_by_zero():
    X = np.column_stack([np.arange(8.0), np.full(8, 5.0)])
    model = NetworkClassifier().fit(X, np.arange(8) >= 4)
    assert model.feature_scale_.tolist() == [X[:, 0].std(), 1.0]
    assert model.score(X, np.arange(8) >= 4) == 1.0


def test_early_stopping_follows_scikit_learns_rule():
    """Stop once the cost has not fallen more than tol below its best for n_iter_no_change
    steps; the stopped model is the one whose cost was measured last."""
    X, Y = planar_flower()
    model = NetworkClassifier(tol=1e-3, n_iter_no_change=20).fit(X.T, Y[0])
    assert model.n_iter_ < 10_000
    early = NetworkClassifier(num_iterations=model.n_iter_, tol=None).fit(X.T, Y[0])
    last = NetworkClassifier(num_iterations=model.n_iter_ - 1, tol=None).fit(X.T, Y[0])
    # The stopped model's parameters are those whose cost was seen at the last step, i.e.
    # after n_iter_ - 1 updates.
    for name, value in last.parameters_.items():
        np.testing.assert_array_equal(model.parameters_[name], value)
    assert early.costs_ == model.costs_
    for setting, message in [
        ({"tol": -1.0}, r"tol must be None or a non-negative finite number, got -1\.0"),
        ({"n_iter_no_change": 0}, r"n_iter_no_change must be a positive integer"),
        ({"standardize": "yes"}, r"standardize must be True or False, got 'yes'"),
    ]:
        with pytest.raises(ValueError, match=f"^NetworkClassifier.fit: {message}"):
            NetworkClassifier(**setting).fit(X.T, Y[0])


def test_a_diverging_network_is_one_error_naming_the_learning_rate(breast_cancer):
    """Issue 25: thousands of NonFiniteWarnings, NaN parameters, and then predict blamed
    the caller's "missing values"."""
    X, y = breast_cancer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(
            cg.NonFiniteError,
            match=r"^NetworkClassifier.fit: gradient descent diverged at step \d+ of 10000: "
            r"with learning_rate=1e\+305 .*scale the features .*smaller learning_rate",
        ):
            NetworkClassifier(learning_rate=1e305, standardize=False).fit(X, y)
    assert caught == []


def test_a_model_with_non_finite_parameters_says_so_instead_of_blaming_the_data(breast_cancer):
    X, y = breast_cancer
    model = NetworkClassifier(num_iterations=3, tol=None).fit(X, y)
    model.parameters_ = {**model.parameters_, "W1": model.parameters_["W1"] * np.nan}
    for method in (model.predict, model.predict_proba):
        with pytest.raises(
            cg.NonFiniteError,
            match=r"^NetworkClassifier.predict\w*: the fitted parameters_\['W1'\] hold inf "
            r"or NaN \(120 nan of 120 elements\).*fit again",
        ):
            method(X)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"seed": 2**40},
            r"seed must be a non-negative integer below 2\*\*32 .*, got 1099511627776$",
        ),
        (
            {"hidden_layer_sizes": np.array(3)},
            r"hidden_layer_sizes must be a positive integer or a sequence of them .* got "
            r"array\(3\)$",
        ),
    ],
)
def test_settings_numpy_would_refuse_are_refused_in_one_line(parameters, message):
    with pytest.raises(ValueError, match=f"^NetworkClassifier.fit: {message}"):
        NetworkClassifier(**parameters).fit([[0.0], [1.0]], [0, 1])


def test_the_estimator_takes_any_two_labels_and_any_depth():
    X, Y = planar_flower()
    labels = np.where(Y[0] == 1, "blue", "red")
    model = NetworkClassifier(
        5, activation="relu", learning_rate=0.1, num_iterations=200, scale="sqrt"
    )
    model.fit(X.T, labels)
    assert model.classes_.tolist() == ["blue", "red"] and model.layer_dims_ == [2, 5, 1]
    assert set(model.predict(X.T)) <= {"blue", "red"}
    deep = NetworkClassifier((6, 4, 3), activation="relu", num_iterations=5, learning_rate=0.1)
    assert deep.fit(X.T, labels).layer_dims_ == [2, 6, 4, 3, 1]
    linear = NetworkClassifier((), learning_rate=0.5, num_iterations=300).fit(X.T, labels)
    assert linear.layer_dims_ == [2, 1] and linear.score(X.T, labels) == pytest.approx(
        0.47, abs=0.02
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"hidden_layer_sizes": (4, 0)},
            "hidden_layer_sizes must be a positive integer or a sequence",
        ),
        (
            {"hidden_layer_sizes": "4"},
            "hidden_layer_sizes must be a positive integer or a sequence",
        ),
        ({"activation": "sigmoid"}, "activation must be one of 'relu', 'tanh', got 'sigmoid'"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive finite number"),
        ({"num_iterations": 2.5}, "num_iterations must be a positive integer"),
        ({"seed": -2}, "seed must be a non-negative integer"),
        ({"scale": "he"}, "scale must be a non-negative number"),
    ],
)
def test_the_estimator_names_a_bad_hyper_parameter(parameters, message):
    model = NetworkClassifier(**{"num_iterations": 3, **parameters})
    with pytest.raises(ValueError, match=f"NetworkClassifier.fit: {message}"):
        model.fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


# -- the examples ----------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.slow  # an example run
def test_the_planar_example_beats_logistic_regression_and_draws(tmp_path, monkeypatch, capsys):
    out = run_example(
        "planar_classification.py",
        "--fast",
        "--out-dir",
        str(tmp_path),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert "Cost after iteration 0: 0.693048" in out and "Cost after iteration 400:" in out
    assert "logistic regression accuracy: 47.0 %" in out
    network = float(re.search(r"network accuracy: ([\d.]+) %", out)[1])
    assert network > 85, out
    assert (tmp_path / "planar_boundary.png").stat().st_size > 0
    # The graph needs a layout program; without one the example says so instead.
    assert (tmp_path / "planar_graph.svg").exists() or "no graph picture" in out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.slow  # an example run: 400 steps of a four-layer network
def test_the_deep_example_learns_the_8s(tmp_path, monkeypatch, capsys):
    out = run_example(
        "deep_network.py",
        "--fast",
        "--out-dir",
        str(tmp_path),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert "network [64, 20, 7, 5, 1]" in out
    # It says up front how long it takes, and at the end how long it took (issue 25).
    assert re.search(r"training 400 iterations takes about \d+ s", out), out
    assert re.search(r"^trained in \d+ s$", out, re.M), out
    accuracies = dict(re.findall(r"(train|test) accuracy: ([\d.]+) %", out))
    baseline = float(re.search(r"right ([\d.]+) % of the time", out)[1])
    assert float(accuracies["test"]) > baseline + 4 and float(accuracies["train"]) > 95, out
    assert (tmp_path / "deep_costs.png").stat().st_size > 0


def test_the_decision_boundary_needs_two_features_and_saves_atomically(tmp_path):
    X, Y = planar_flower()
    parameters = initialize_parameters([2, 3, 1], seed=0, scale=1.0)
    path = tmp_path / "boundary.svg"
    figure = plot_decision_boundary(parameters, X, Y, "tanh", path, resolution=20, title="flower")
    assert figure.axes[0].get_title() == "flower"
    assert path.read_text().lstrip().startswith("<?xml") and [
        p.name for p in tmp_path.iterdir()
    ] == ["boundary.svg"]
    with pytest.raises(
        cg.ShapeError, match=r"plot_decision_boundary: X has shape \(3, 4\); .* two features"
    ):
        plot_decision_boundary(initialize_parameters([3, 1]), np.ones((3, 4)), [[0, 1, 0, 1]])
