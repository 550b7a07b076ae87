"""The course's second lessons in ``networks.train``: mini-batches drawn as the course draws
them, one training loop with its optimizer seam, initializations by name, the L2 penalty,
inverted dropout, learning-rate decay, the estimator's plumbing, and second order through
the regularized cost."""

import math

import numpy as np
import pytest

import compgraph as cg
from compgraph.graph import topological_order
from compgraph.models.datasets import planar_flower
from compgraph.models.logistic import analytic_hessian
from compgraph.models.networks import (
    NetworkClassifier,
    backward_analytic,
    compute_cost,
    compute_cost_with_regularization,
    forward,
    initialize_parameters,
    predict,
    propagate,
    train,
    update_parameters,
)
from compgraph.models.optimizers import Adam, GradientDescent, update_lr
from compgraph.models.training import random_mini_batches, run_training


def small_problem(m=40, n_x=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_x, m))
    Y = (X[:1] + 0.5 * X[1:2] ** 2 > 0.3).astype(float)
    return X, Y


def course_random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's random_mini_batches, as its notebook writes it (global random state)."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = math.floor(m / mini_batch_size)
    for k in range(num_complete_minibatches):
        mini_batch_X = shuffled_X[:, k * mini_batch_size : (k + 1) * mini_batch_size]
        mini_batch_Y = shuffled_Y[:, k * mini_batch_size : (k + 1) * mini_batch_size]
        mini_batches.append((mini_batch_X, mini_batch_Y))
    if m % mini_batch_size != 0:
        mini_batch_X = shuffled_X[:, num_complete_minibatches * mini_batch_size :]
        mini_batch_Y = shuffled_Y[:, num_complete_minibatches * mini_batch_size :]
        mini_batches.append((mini_batch_X, mini_batch_Y))
    return mini_batches


# -- mini-batches --------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "size", "seed"), [(148, 64, 0), (128, 64, 3), (5, 7, 10), (9, 1, 2)])
def test_mini_batches_are_the_courses_in_shape_and_order(m, size, seed):
    rng = np.random.default_rng(m)
    X, Y = rng.normal(size=(3, m)), (rng.random((1, m)) > 0.5).astype(float)
    saved = np.random.get_state()
    try:
        expected = course_random_mini_batches(X, Y, size, seed)
    finally:
        np.random.set_state(saved)
    ours = random_mini_batches(X, Y, size, seed)
    assert [b[0].shape for b in ours] == [b[0].shape for b in expected]
    for (ours_X, ours_Y), (their_X, their_Y) in zip(ours, expected, strict=True):
        np.testing.assert_array_equal(ours_X, their_X)
        np.testing.assert_array_equal(ours_Y, their_Y)


def test_the_courses_148_examples_split_into_64_64_and_20():
    X, Y = np.zeros((12288, 148)), np.zeros((1, 148))
    assert [b[0].shape for b in random_mini_batches(X, Y, 64)] == [
        (12288, 64),
        (12288, 64),
        (12288, 20),
    ]


def test_mini_batches_refuse_mismatched_data_and_bad_sizes():
    with pytest.raises(cg.ShapeError, match=r"same number of columns, got shapes \(2, 3\)"):
        random_mini_batches(np.ones((2, 3)), np.ones((1, 4)))
    with pytest.raises(ValueError, match="mini_batch_size must be a positive integer"):
        random_mini_batches(np.ones((2, 3)), np.ones((1, 3)), 0)
    with pytest.raises(ValueError, match="seed must be an integer from 0 to 2\\*\\*32 - 1"):
        random_mini_batches(np.ones((2, 3)), np.ones((1, 3)), 2, seed=2**40)


def test_mini_batch_training_is_the_courses_epoch_loop():
    # The course's model: seed = 10; each epoch seed += 1, draw the batches, step on each;
    # the epoch's cost is the sum of the batch costs over m.
    X, Y = small_problem(m=50)
    dims = [3, 4, 1]
    parameters, costs = train(
        X, Y, dims, 0.1, hidden="relu", mini_batch_size=16, num_epochs=3, seed=3
    )
    expected = initialize_parameters(dims, seed=3)
    first_epoch_cost = 0.0
    seed = 10
    for epoch in range(3):
        seed = seed + 1
        for batch_X, batch_Y in random_mini_batches(X, Y, 16, seed):
            grads, cost = propagate(batch_X, batch_Y, expected, hidden="relu")
            if epoch == 0:
                first_epoch_cost += cost * batch_X.shape[1]
            expected = update_parameters(expected, grads, 0.1)
    for name, value in expected.items():
        np.testing.assert_array_equal(parameters[name], value)
    assert costs == [pytest.approx(first_epoch_cost / 50, rel=1e-15)]


def test_adam_counts_mini_batch_steps_and_follows_the_course():
    X, Y = small_problem(m=30)
    dims = [3, 3, 1]
    parameters, _ = train(
        X, Y, dims, 0.01, hidden="tanh", optimizer="adam", mini_batch_size=8, num_epochs=2,
        mini_batch_seed=0,
    )  # fmt: skip
    expected = initialize_parameters(dims)
    optimizer = Adam(0.01)
    state = optimizer.init(expected)
    for seed in (1, 2):
        for batch_X, batch_Y in random_mini_batches(X, Y, 8, seed):
            grads, _ = propagate(batch_X, batch_Y, expected, hidden="tanh")
            expected, state = optimizer.update(expected, grads, state)
    assert state["t"] == 2 * 4  # 30 examples in batches of 8: 4 steps per epoch
    for name, value in expected.items():
        np.testing.assert_array_equal(parameters[name], value)


def test_the_learning_rate_decays_after_each_epoch_as_in_the_course():
    X, Y = small_problem()
    dims = [3, 2, 1]
    parameters, _ = train(X, Y, dims, 0.5, 4, hidden="tanh", decay_rate=1.0)
    expected = initialize_parameters(dims)
    rate = 0.5
    for epoch in range(4):
        grads, _ = propagate(X, Y, expected, hidden="tanh")
        expected = update_parameters(expected, grads, rate)
        rate = update_lr(0.5, epoch, 1.0)  # after the epoch, as the course's model does
    for name, value in expected.items():
        np.testing.assert_array_equal(parameters[name], value)


def test_decay_at_fixed_intervals_keeps_the_rate_within_an_interval(capsys):
    X, Y = small_problem()
    train(
        X, Y, [3, 2, 1], 0.5, hidden="tanh", decay_rate=1.0, time_interval=2, num_epochs=5,
        mini_batch_size=64, print_cost=True, print_every=1,
    )  # fmt: skip
    rates = [line.split(": ")[1] for line in capsys.readouterr().out.splitlines() if "rate" in line]
    assert rates == ["0.500000", "0.500000", "0.250000", "0.250000", "0.166667"]


def test_the_loop_calls_the_optimizer_once_per_step_and_passes_the_schedule():
    calls = []

    class Recording(GradientDescent):
        def update(self, parameters, gradients, state, *, learning_rate=None):
            calls.append(learning_rate)
            return super().update(parameters, gradients, state, learning_rate=learning_rate)

    def cost(nodes, X, Y):
        return cg.mean((nodes["w"] * X - Y) ** 2)

    X, Y = np.arange(10.0).reshape(1, 10), 2 * np.arange(10.0).reshape(1, 10)
    result = run_training(
        cost, {"w": 0.0}, X, Y, Recording(0.01), 3, mini_batch_size=4,
        schedule=lambda epoch: 0.01 / (epoch + 2),
    )  # fmt: skip
    assert result.steps == 9 and len(calls) == 9
    assert calls[:3] == [None] * 3 and calls[3:6] == [0.01 / 2] * 3 and calls[6:] == [0.01 / 3] * 3
    assert not result.parameters["w"].flags.writeable


def test_the_loop_writes_no_grad_for_a_recorder_that_takes_the_gradients():
    X, Y = small_problem(m=10)
    calls = []

    class Recorder:
        def record(self, iteration, parameters, root, gradients, node_gradients):
            calls.append((parameters, root, gradients, node_gradients))

    train(X, Y, [3, 2, 1], 0.1, 2, hidden="tanh", gradient_flow=Recorder())
    parameters, root, gradients, node_gradients = calls[0]
    assert all(node.grad is None for node in topological_order(root))
    expected, _ = propagate(X, Y, initialize_parameters([3, 2, 1]), hidden="tanh")
    for name, node in parameters.items():
        np.testing.assert_array_equal(gradients[name], expected[f"d{name}"])
        np.testing.assert_array_equal(node_gradients[node], expected[f"d{name}"])
    # The pass's own gradient at every other node: what backward() would have written.
    root.backward()
    for node in topological_order(root):
        if node.grad is not None:
            np.testing.assert_array_equal(node_gradients[node], node.grad)


# -- initialization -------------------------------------------------------------------------


def test_he_initialization_gives_the_courses_published_weights():
    # The initialization notebook: initialize_parameters_he([2, 4, 1]) with np.random.seed(3).
    parameters = initialize_parameters([2, 4, 1], seed=3, initialization="he")
    np.testing.assert_allclose(
        parameters["W1"],
        [
            [1.78862847, 0.43650985],
            [0.09649747, -1.8634927],
            [-0.2773882, -0.35475898],
            [-0.08274148, -0.62700068],
        ],
        atol=5e-9,
    )
    generator = np.random.RandomState(3)
    generator.randn(4, 2)
    np.testing.assert_array_equal(parameters["W2"], generator.randn(1, 4) * np.sqrt(2 / 4))
    assert not parameters["b1"].any() and parameters["b2"].shape == (1, 1)


def test_initializations_by_name_draw_the_legacy_stream_and_scale_it():
    dims = [3, 5, 2, 1]
    draws = [np.random.RandomState(7).randn(5, 3)]
    random = initialize_parameters(dims, seed=7, scale=10, initialization="random")
    np.testing.assert_array_equal(random["W1"], draws[0] * 10)
    sqrt = initialize_parameters(dims, seed=7, initialization="sqrt")
    np.testing.assert_array_equal(sqrt["W1"], draws[0] / np.sqrt(3))
    np.testing.assert_array_equal(
        sqrt["W1"], initialize_parameters(dims, seed=7, scale="sqrt")["W1"]
    )
    zeros = initialize_parameters(dims, initialization="zeros")
    assert all(not value.any() for value in zeros.values())
    assert [zeros[f"W{l}"].shape for l in (1, 2, 3)] == [(5, 3), (2, 5), (1, 2)]  # noqa: E741


def test_he_and_sqrt_initializations_have_their_spread():
    parameters = initialize_parameters([800, 400, 1], seed=0, initialization="he")
    assert np.std(parameters["W1"]) == pytest.approx(np.sqrt(2 / 800), rel=0.01)
    parameters = initialize_parameters([800, 400, 1], seed=0, initialization="sqrt")
    assert np.std(parameters["W1"]) == pytest.approx(np.sqrt(1 / 800), rel=0.01)
    W1 = parameters["W1"]
    assert abs(np.mean(W1)) < 4 * np.std(W1) / np.sqrt(W1.size)  # centred on 0


def test_zeros_never_break_the_symmetry():
    X, Y = small_problem()
    parameters, _ = train(X, Y, [3, 4, 1], 0.5, 50, hidden="relu", initialization="zeros")
    assert np.all(parameters["W1"] == 0) and np.all(parameters["W2"] == 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"initialization": "xavier"}, "initialization must be one of 'zeros', 'random'"),
        ({"initialization": "he", "scale": "sqrt"}, "scale='sqrt' is the 'sqrt' initialization"),
    ],
)
def test_bad_initializations_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        initialize_parameters([2, 1], **arguments)


# -- L2 regularization ------------------------------------------------------------------------


def test_the_l2_cost_is_the_courses_formula():
    X, Y = small_problem(m=20)
    parameters = initialize_parameters([3, 4, 2, 1], seed=1, scale=0.5)
    AL = forward(X, parameters, hidden="relu")
    J = compute_cost_with_regularization(AL, Y, parameters, lambd=0.7)
    cross_entropy = compute_cost(AL, Y).item()
    weights = sum(np.sum(np.square(parameters[f"W{l}"])) for l in (1, 2, 3))  # noqa: E741
    assert J.item() == pytest.approx(cross_entropy + (1 / 20) * (0.7 / 2) * weights, rel=1e-14)
    assert J.parents[1].name == "L2"


def test_the_engine_derives_the_courses_l2_gradient_term():
    # The course's backward_propagation_with_regularization: dW[l] + (λ/m) W[l].
    X, Y = small_problem(m=20)
    parameters = {
        name: cg.Node(value, name=name)
        for name, value in initialize_parameters([3, 4, 2, 1], seed=1, scale=0.5).items()
    }
    J = compute_cost_with_regularization(forward(X, parameters, "relu"), Y, parameters, 0.7)
    J.backward()
    expected = backward_analytic(X, Y, parameters, hidden="relu")
    for name, node in parameters.items():
        term = 0.7 / 20 * node.value if name.startswith("W") else 0.0
        np.testing.assert_allclose(node.grad, expected[f"d{name}"] + term, rtol=1e-12, atol=1e-15)


def test_training_with_l2_steps_on_the_regularized_gradient_and_records_its_cost():
    X, Y = small_problem(m=20)
    dims = [3, 4, 1]
    parameters, costs = train(X, Y, dims, 0.3, 2, hidden="tanh", l2=0.5)
    expected = initialize_parameters(dims)
    first_cost = None
    for _ in range(2):
        grads, cost = propagate(X, Y, expected, hidden="tanh")
        penalty = 0.5 / (2 * 20) * sum(np.sum(expected[f"W{l}"] ** 2) for l in (1, 2))  # noqa: E741
        first_cost = first_cost if first_cost is not None else cost + penalty
        grads = {
            k: g + (0.5 / 20 * expected[k[1:]] if k.startswith("dW") else 0)
            for k, g in grads.items()
        }
        expected = update_parameters(expected, grads, 0.3)
    for name, value in expected.items():
        np.testing.assert_allclose(parameters[name], value, rtol=1e-13)
    assert costs == [pytest.approx(first_cost, rel=1e-14)]


def test_the_hessian_of_the_regularized_cost_is_exact():
    # One unit: logistic regression, whose Hessian is known, plus (λ/m)·I on the weights.
    X, Y = small_problem(m=15, n_x=3)
    lambd, m = 0.9, 15
    theta0 = np.array([0.3, -0.2, 0.5, 0.1])  # w1, w2, w3, b

    def cost(theta):
        W = cg.reshape(theta[0:3], (1, 3))
        b = cg.reshape(theta[3:4], (1, 1))
        parameters = {"W1": W, "b1": b}
        return compute_cost_with_regularization(forward(X, parameters), Y, parameters, lambd)

    H = cg.hessian(cost)(theta0)
    expected = analytic_hessian(theta0[:3].reshape(3, 1), theta0[3], X, Y)
    expected = expected + lambd / m * np.diag([1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(np.asarray(H), expected, rtol=1e-12, atol=1e-15)


# -- dropout ------------------------------------------------------------------------------------


class MaskRecorder:
    def __init__(self):
        self.masks = []
        self.costs = []

    def record(self, iteration, parameters, root):
        found = {n.name: n.value for n in topological_order(root) if n.name in ("D1", "D2")}
        self.masks.append(found)
        self.costs.append(root.item())


def course_dropout_step(X, Y, parameters, keep_prob):
    """The course's forward_propagation_with_dropout and backward_propagation_with_dropout."""
    np.random.seed(1)
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    Z1 = np.dot(W1, X) + b1
    A1 = np.maximum(0, Z1)
    D1 = np.random.rand(A1.shape[0], A1.shape[1])
    D1 = (D1 < keep_prob).astype(int)  # noqa: SIM300 - the notebook's line
    A1 = A1 * D1
    A1 = A1 / keep_prob
    Z2 = np.dot(W2, A1) + b2
    A2 = np.maximum(0, Z2)
    D2 = np.random.rand(A2.shape[0], A2.shape[1])
    D2 = (D2 < keep_prob).astype(int)  # noqa: SIM300 - the notebook's line
    A2 = A2 * D2
    A2 = A2 / keep_prob
    Z3 = np.dot(W3, A2) + b3
    A3 = 1 / (1 + np.exp(-Z3))
    cost = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
    dZ3 = A3 - Y
    grads = {"dW3": 1.0 / m * np.dot(dZ3, A2.T), "db3": 1.0 / m * np.sum(dZ3, 1, keepdims=True)}
    dA2 = np.dot(W3.T, dZ3) * D2 / keep_prob
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    grads |= {"dW2": 1.0 / m * np.dot(dZ2, A1.T), "db2": 1.0 / m * np.sum(dZ2, 1, keepdims=True)}
    dA1 = np.dot(W2.T, dZ2) * D1 / keep_prob
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    grads |= {"dW1": 1.0 / m * np.dot(dZ1, X.T), "db1": 1.0 / m * np.sum(dZ1, 1, keepdims=True)}
    return cost, grads, (D1, D2)


def test_fixed_dropout_masks_reproduce_the_courses_notebook():
    X, Y = small_problem(m=25)
    dims = [3, 5, 3, 1]
    recorder = MaskRecorder()
    parameters, _ = train(
        X, Y, dims, 0.3, 2, hidden="relu", seed=3, scale="sqrt", keep_prob=0.86,
        fixed_dropout_masks=True, gradient_flow=recorder,
    )  # fmt: skip
    saved = np.random.get_state()
    try:
        expected = initialize_parameters(dims, seed=3, scale="sqrt")
        for step in range(2):
            cost, grads, (D1, D2) = course_dropout_step(X, Y, expected, 0.86)
            np.testing.assert_array_equal(recorder.masks[step]["D1"], D1)
            np.testing.assert_array_equal(recorder.masks[step]["D2"], D2)
            assert recorder.costs[step] == pytest.approx(cost, rel=1e-13)
            expected = update_parameters(expected, grads, 0.3)
    finally:
        np.random.set_state(saved)
    for name, value in expected.items():
        np.testing.assert_allclose(parameters[name], value, rtol=1e-12, atol=1e-15)


def test_fresh_dropout_masks_each_step_from_one_seeded_stream():
    X, Y = small_problem(m=25)
    recorder = MaskRecorder()
    train(
        X, Y, [3, 5, 3, 1], 0.3, 3, keep_prob=0.5, dropout_seed=4, gradient_flow=recorder
    )  # fmt: skip
    generator = np.random.RandomState(4)
    for masks in recorder.masks:
        np.testing.assert_array_equal(masks["D1"], generator.rand(5, 25) < 0.5)
        np.testing.assert_array_equal(masks["D2"], generator.rand(3, 25) < 0.5)
    assert not np.array_equal(recorder.masks[0]["D1"], recorder.masks[1]["D1"])


def test_dropout_scales_the_kept_units_and_only_while_training():
    X, Y = small_problem(m=400)
    recorder = MaskRecorder()
    parameters, _ = train(
        X, Y, [3, 50, 1], 0.1, 1, hidden="relu", keep_prob=0.8, scale=1.0,
        gradient_flow=recorder,
    )  # fmt: skip
    D1 = recorder.masks[0]["D1"]
    assert D1.mean() == pytest.approx(0.8, abs=0.01)  # 20 000 draws
    # The dropped layer is A1 ⊙ D1 / keep_prob, so its mean activation is kept.
    A1 = np.maximum(initialize_parameters([3, 50, 1], scale=1.0)["W1"] @ X, 0)
    dropped = A1 * D1 / 0.8
    assert dropped.mean() == pytest.approx(A1.mean(), rel=0.05)
    # Prediction runs the network without dropout, the same every call.
    assert np.array_equal(predict(parameters, X), predict(parameters, X))
    np.testing.assert_array_equal(
        predict(parameters, X), (forward(X, parameters).value > 0.5).astype(float)
    )


# -- the keywords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"keep_prob": 0.0}, ValueError, r"keep_prob must be in \(0, 1\]"),
        ({"l2": -1.0}, ValueError, "l2 must be a finite number >= 0"),
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of 'gd', 'momentum'"),
        ({"optimizer": "adam", "beta1": 1.0}, ValueError, r"beta1 must be in \[0, 1\)"),
        ({"mini_batch_size": 0}, ValueError, "mini_batch_size must be a positive integer"),
        ({"num_epochs": -3}, ValueError, "num_epochs must be a positive integer"),
        ({"num_epochs": 0}, ValueError, "num_epochs must be a positive integer, got 0"),
        ({"time_interval": 10}, ValueError, "time_interval needs a decay_rate"),
        ({"decay_rate": -1.0}, ValueError, "decay_rate must be a finite number >= 0"),
        ({"dropout_seed": -1}, ValueError, "dropout_seed must be an integer from 0"),
        ({"fixed_dropout_masks": "yes"}, TypeError, "fixed_dropout_masks must be True or False"),
        ({"initialization": "xavier"}, ValueError, "initialization must be one of"),
    ],
)
def test_train_names_a_bad_new_setting(change, error, message):
    X, Y = small_problem(m=8)
    with pytest.raises(error, match=message):
        train(X, Y, [3, 2, 1], 0.1, 2, **change)


def test_the_estimator_takes_the_same_under_scikit_learns_names():
    X, Y = planar_flower()
    settings = {"optimizer": "momentum", "beta": 0.8, "l2": 0.1, "keep_prob": 0.9}
    parameters, costs = train(
        X, Y, [2, 4, 1], 0.05, 3, hidden="tanh", seed=2, initialization="he",
        mini_batch_size=64, mini_batch_seed=5, **settings,
    )  # fmt: skip
    model = NetworkClassifier(
        learning_rate=0.05, num_iterations=3, initialization="he", solver="momentum",
        momentum=0.8, alpha=0.1, keep_prob=0.9, batch_size=64, mini_batch_seed=5,
        standardize=False, tol=None,
    ).fit(X.T, Y[0])  # fmt: skip
    for name, value in parameters.items():
        np.testing.assert_array_equal(model.parameters_[name], value)
    assert model.costs_ == costs
    with pytest.raises(ValueError, match="NetworkClassifier.fit: alpha must be"):
        NetworkClassifier(alpha=-1.0, num_iterations=2).fit(X.T, Y[0])
    with pytest.raises(ValueError, match="NetworkClassifier.fit: batch_size must be"):
        NetworkClassifier(batch_size=0, num_iterations=2).fit(X.T, Y[0])


# -- the example --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_optimization_example_shows_adam_ahead(tmp_path, monkeypatch, capsys):
    import re
    import runpy
    import sys
    from pathlib import Path

    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    example = Path(__file__).parent.parent / "examples" / "optimization.py"
    monkeypatch.setattr(sys, "argv", [example.name, "--fast", "--out-dir", str(tmp_path)])
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    accuracies = dict(re.findall(r"^(.+): accuracy ([\d.]+) %", out, flags=re.MULTILINE))
    assert set(accuracies) == {"gradient descent", "momentum", "Adam"}, out
    # 500 epochs at the course's α = 0.0007: Adam is far along, the other two barely moved.
    assert float(accuracies["Adam"]) > 85 > float(accuracies["gradient descent"]) + 10, out
    for name in ("gd", "momentum", "adam", "costs"):
        assert (tmp_path / f"optimization_{name}.png").stat().st_size > 0
