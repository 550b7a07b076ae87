"""The optimizer seam: each optimizer's update against its formula worked by hand, the
course's Adam line for line, the learning-rate schedules, purity (nothing mutated, results
read-only) and the errors."""

import numpy as np
import pytest

from compgraph.models.optimizers import (
    OPTIMIZERS,
    Adam,
    GradientDescent,
    Momentum,
    RMSprop,
    make_optimizer,
    schedule_lr_decay,
    update_lr,
)

W = np.array([[1.0, -2.0], [0.5, 3.0]])
B = np.array([[0.25], [-1.0]])
G1 = {"W1": np.array([[0.5, -1.0], [2.0, 0.0]]), "b1": np.array([[1.0], [-4.0]])}
G2 = {"W1": np.array([[-0.5, 3.0], [1.0, 1.0]]), "b1": np.array([[2.0], [0.5]])}


def parameters():
    return {"W1": W.copy(), "b1": B.copy()}


def two_steps(optimizer):
    state = optimizer.init(parameters())
    first, state = optimizer.update(parameters(), G1, state)
    second, state = optimizer.update(first, G2, state)
    return first, second, state


def test_gradient_descent_steps_against_the_gradient():
    first, second, state = two_steps(GradientDescent(0.1))
    assert state == {}
    np.testing.assert_array_equal(first["W1"], W - 0.1 * G1["W1"])
    np.testing.assert_array_equal(second["b1"], (B - 0.1 * G1["b1"]) - 0.1 * G2["b1"])


def test_momentum_averages_the_gradients_as_the_course_does():
    # v1 = 0.1 g1 (v starts at 0), v2 = 0.9 v1 + 0.1 g2, by hand for one entry:
    # g1 = 0.5, g2 = -0.5: v1 = 0.05, v2 = 0.045 - 0.05 = -0.005; θ = 1 - 0.05 α + 0.005 α.
    first, second, state = two_steps(Momentum(learning_rate=2.0, beta=0.9))
    assert first["W1"][0, 0] == pytest.approx(1.0 - 2.0 * 0.05, abs=1e-15)
    assert state["v"]["W1"][0, 0] == pytest.approx(-0.005, abs=1e-15)
    assert second["W1"][0, 0] == pytest.approx(1.0 - 2.0 * 0.05 + 2.0 * 0.005, abs=1e-15)
    v1 = (1 - 0.9) * G1["b1"]
    v2 = 0.9 * v1 + (1 - 0.9) * G2["b1"]
    np.testing.assert_array_equal(second["b1"], B - 2.0 * v1 - 2.0 * v2)


def test_rmsprop_divides_by_the_root_mean_square():
    beta, epsilon, alpha = 0.9, 1e-8, 0.01
    first, second, state = two_steps(RMSprop(alpha, beta=beta, epsilon=epsilon))
    s1 = (1 - beta) * G1["W1"] ** 2
    s2 = beta * s1 + (1 - beta) * G2["W1"] ** 2
    expected = W - alpha * G1["W1"] / (np.sqrt(s1) + epsilon)
    expected = expected - alpha * G2["W1"] / (np.sqrt(s2) + epsilon)
    np.testing.assert_allclose(second["W1"], expected, rtol=1e-15)
    np.testing.assert_allclose(state["s"]["W1"], s2, rtol=1e-15)
    # By hand: the first step of an entry with s = 0.1 g² is α g / (√0.1 |g| + ε) ≈ ±3.16 α.
    assert first["b1"][0, 0] == pytest.approx(0.25 - alpha / np.sqrt(0.1), rel=1e-7)


def course_adam(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    """The course's update_parameters_with_adam, written as its notebook does."""
    L = len(parameters) // 2
    v_corrected, s_corrected = {}, {}
    for l in range(1, L + 1):  # noqa: E741
        for p in ("W", "b"):
            key = f"d{p}{l}"
            v[key] = beta1 * v[key] + (1 - beta1) * grads[key]
            v_corrected[key] = v[key] / (1 - beta1**t)
            s[key] = beta2 * s[key] + (1 - beta2) * np.power(grads[key], 2)
            s_corrected[key] = s[key] / (1 - beta2**t)
            parameters[f"{p}{l}"] = parameters[f"{p}{l}"] - learning_rate * v_corrected[key] / (
                np.sqrt(s_corrected[key]) + epsilon
            )
    return parameters, v, s


def test_adam_is_the_courses_update_bit_for_bit_with_t_counting_steps():
    optimizer = Adam(learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)
    state = optimizer.init(parameters())
    assert state["t"] == 0
    ours = parameters()
    theirs = parameters()
    v = {f"d{k}": np.zeros_like(x) for k, x in theirs.items()}
    s = {f"d{k}": np.zeros_like(x) for k, x in theirs.items()}
    for t, grads in enumerate([G1, G2, G1], start=1):
        course_grads = {f"d{k}": g for k, g in grads.items()}
        ours, state = optimizer.update(ours, course_grads, state)
        theirs, v, s = course_adam(theirs, course_grads, v, s, t, 0.01, 0.9, 0.999, 1e-8)
        assert state["t"] == t
        for name in ("W1", "b1"):
            np.testing.assert_array_equal(ours[name], theirs[name])
            np.testing.assert_array_equal(state["v"][name], v[f"d{name}"])


def test_adams_first_step_is_the_learning_rate_in_the_gradients_direction():
    # With t = 1 the corrections undo the (1 - β) factors: v̂ = g, ŝ = g², step = α g/|g|.
    new, _ = Adam(learning_rate=0.1, epsilon=0.0).update(
        {"w": np.array([1.0, 1.0])}, {"w": np.array([7.0, -0.01])}, Adam().init({"w": [0, 0]})
    )
    np.testing.assert_allclose(new["w"], [0.9, 1.1], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_are_pure_and_their_results_read_only(name):
    optimizer = make_optimizer(name, 0.1)
    given = parameters()
    gradients = {k: g.copy() for k, g in G1.items()}
    state = optimizer.init(given)
    new, new_state = optimizer.update(given, gradients, state)
    np.testing.assert_array_equal(given["W1"], W)
    np.testing.assert_array_equal(gradients["W1"], G1["W1"])
    assert all(not array.flags.writeable for array in new.values())
    for slot in ("v", "s"):
        if slot in state:
            assert all((array == 0).all() for array in state[slot].values())
            assert all(not a.flags.writeable for a in new_state[slot].values())
    # The same step again gives the same result: the state was not advanced in place.
    again, _ = optimizer.update(given, gradients, state)
    np.testing.assert_array_equal(again["W1"], new["W1"])


def test_a_step_can_take_a_scheduled_learning_rate():
    optimizer = GradientDescent(0.1)
    new, _ = optimizer.update({"w": np.array(1.0)}, {"w": np.array(1.0)}, {}, learning_rate=0.5)
    assert float(new["w"]) == 0.5 and optimizer.learning_rate == 0.1


def test_make_optimizer_passes_each_its_settings():
    assert repr(make_optimizer("gd", 0.3)) == "GradientDescent(learning_rate=0.3)"
    assert make_optimizer("momentum", 0.3, beta=0.8).beta == 0.8
    rmsprop = make_optimizer("rmsprop", 0.3, beta2=0.99, epsilon=1e-6)
    assert (rmsprop.beta, rmsprop.epsilon) == (0.99, 1e-6)
    adam = make_optimizer("adam", 0.3, beta1=0.8, beta2=0.99, epsilon=1e-7)
    assert (adam.beta1, adam.beta2, adam.epsilon) == (0.8, 0.99, 1e-7)
    mine = Adam()
    assert make_optimizer(mine, 0.3) is mine


def test_the_courses_learning_rate_schedules():
    # The course's own checks: update_lr(0.5, 2, 1) and schedule_lr_decay(0.5, 100, 1).
    assert update_lr(0.5, 2, 1) == pytest.approx(0.16666666666666666, rel=1e-16)
    assert schedule_lr_decay(0.5, 100, 1) == 0.5
    assert schedule_lr_decay(0.5, 999, 1) == 0.5
    assert schedule_lr_decay(0.5, 1000, 1) == 0.25
    assert schedule_lr_decay(0.3, 2500, 0.5, time_interval=1000) == pytest.approx(0.15)
    assert [update_lr(1.0, epoch, 0.5) for epoch in range(3)] == [1.0, 1 / 1.5, 0.5]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: GradientDescent(0.0), ValueError, "learning_rate must be a positive"),
        (lambda: Momentum(0.1, beta=1.0), ValueError, r"Momentum: beta must be in \[0, 1\)"),
        (lambda: Adam(0.1, beta2=-0.1), ValueError, r"Adam: beta2 must be in \[0, 1\)"),
        (lambda: RMSprop(0.1, epsilon=float("nan")), ValueError, "epsilon must be a finite"),
        (lambda: make_optimizer("sgd", 0.1), ValueError, "optimizer must be one of 'gd'"),
        (lambda: make_optimizer(3, 0.1), TypeError, "or an object with init"),
        (
            lambda: schedule_lr_decay(0.1, 3, 1.0, time_interval=0),
            ValueError,
            "time_interval must be a positive integer",
        ),
        (lambda: update_lr(0.1, 3, -1.0), ValueError, "decay_rate must be a non-negative"),
    ],
)
def test_bad_settings_are_refused_by_name(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_updates_name_the_parameter_and_the_fix():
    optimizer = Adam()
    state = optimizer.init(parameters())
    with pytest.raises(ValueError, match=r"gradients has no 'b1' \(nor 'db1'\)"):
        optimizer.update(parameters(), {"W1": G1["W1"]}, state)
    with pytest.raises(Exception, match=r"the gradient of 'W1' has shape \(2,\)"):
        optimizer.update(parameters(), {"W1": np.ones(2), "b1": G1["b1"]}, state)
    with pytest.raises(ValueError, match=r"state\['v'\] must hold one array per parameter"):
        optimizer.update(parameters(), G1, {"t": 0, "v": {}, "s": state["s"]})
    with pytest.raises(ValueError, match=r"state\['t'\] must be the step count"):
        optimizer.update(parameters(), G1, {**state, "t": -1})
