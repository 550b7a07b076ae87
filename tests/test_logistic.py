"""Logistic regression on the engine: gradients against the closed forms, the lesson's numbers,
numerically sound training, the estimator, input checks and the optional extras."""

import io
import math
import re
import sys
import types
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.testing import Domain, float_arrays
from compgraph.graph import ancestors
from compgraph.models.logistic import (
    LogisticRegression,
    analytic_gradients,
    cost_graph,
    initialize_with_zeros,
    optimize,
    plot_costs,
    predict,
    propagate,
)

# The lesson's worked example and the values it publishes.
W, B = np.array([[1.0], [2.0]]), 2.0
X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
Y = np.array([[1, 0, 1]])


def exact_cost(w, b, X, Y):
    """J by another road: mean of y·softplus(-z) + (1-y)·softplus(z), NumPy only."""
    z = w.T @ X + b
    return float(np.mean(Y * np.logaddexp(0, -z) + (1 - Y) * np.logaddexp(0, z)))


def labelled_data(n_x, m, shift, seed=0, flips=0):
    """Standardised features whose class means differ by ``shift``; ``flips`` labels swapped."""
    rng = np.random.default_rng(seed)
    Y = (np.arange(m) % 2).astype(np.float64).reshape(1, -1)
    X = rng.normal(size=(n_x, m)) + shift * (Y - 0.5)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    Y[0, :flips] = 1 - Y[0, :flips]
    return X, Y


# -- the lesson's numbers -----------------------------------------------------------------------


def test_propagate_gives_the_published_worked_example():
    grads, cost = propagate(W, B, X, Y)
    np.testing.assert_allclose(grads["dw"], [[0.99845601], [2.39507239]], rtol=0, atol=5e-9)
    assert grads["dw"].shape == (2, 1)
    assert grads["db"] == pytest.approx(0.00145557813678, rel=1e-10)
    assert cost == pytest.approx(5.801545319394553, rel=1e-12)
    assert type(grads["db"]) is float and type(cost) is float


def test_optimize_gives_the_published_parameters():
    params, grads, costs = optimize(W, B, X, Y, num_iterations=100, learning_rate=0.009)
    np.testing.assert_allclose(params["w"], [[0.19033591], [0.12259159]], rtol=0, atol=5e-9)
    assert params["b"] == pytest.approx(1.92535983008, rel=1e-10)
    np.testing.assert_allclose(grads["dw"], [[0.67752042], [1.41625495]], rtol=0, atol=5e-9)
    assert grads["db"] == pytest.approx(0.219194504541, rel=1e-10)
    assert costs == [pytest.approx(5.801545319394553, rel=1e-12)]  # recorded at iteration 0


def test_predict_gives_the_published_labels():
    w = np.array([[0.1124579], [0.23106775]])
    labels = predict(w, -0.3, np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]]))
    assert labels.tolist() == [[1.0, 1.0, 0.0]]


def test_initialize_with_zeros():
    w, b = initialize_with_zeros(3)
    assert w.shape == (3, 1) and w.dtype == np.float64 and not w.any()
    assert b == 0.0 and type(b) is float
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        initialize_with_zeros(0)


# -- the engine against the closed forms --------------------------------------------------------


@st.composite
def problems(draw):
    n_x, m = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    w = draw(float_arrays((n_x, 1), Domain(-3.0, 3.0)))
    b = draw(st.floats(-5.0, 5.0))
    X = draw(float_arrays((n_x, m), Domain(-3.0, 3.0)))
    Y = draw(float_arrays((1, m), Domain(0.0, 1.0)).map(np.round))
    return w, b, X, Y


@given(problems())
@example((np.zeros((1, 1)), 1.0, np.full((1, 2), 5e-324), np.zeros((1, 2))))
def test_engine_gradients_equal_the_analytic_ones(problem):
    w, b, X, Y = problem
    grads, cost = propagate(w, b, X, Y)
    expected = analytic_gradients(w, b, X, Y)
    # 1e-10 relative to the size of the terms each gradient sums (Σ|x||A-y|/m), the scale of
    # any rounding: elementwise relative error is meaningless where those terms cancel.
    # That scale underflows for subnormal X (5e-324 times anything rounds to 0 or 5e-324,
    # depending on the order of the operations), hence the floor at the smallest normal float.
    residual = np.abs(cg.ops.Sigmoid.forward(w.T @ X + b) - Y)
    m, tiny = X.shape[1], np.finfo(np.float64).tiny
    dw_scale = np.abs(X) @ residual.T / m
    assert np.all(np.abs(grads["dw"] - expected["dw"]) <= np.maximum(1e-10 * dw_scale, tiny))
    assert abs(grads["db"] - expected["db"]) <= max(1e-10 * np.mean(residual), tiny)
    assert cost == pytest.approx(exact_cost(w, b, X, Y), rel=1e-12)


def test_the_closed_forms_are_the_lessons():
    A = 1 / (1 + np.exp(-(W.T @ X + B)))
    grads = analytic_gradients(W, B, X, Y)
    np.testing.assert_allclose(grads["dw"], X @ (A - Y).T / 3, rtol=1e-14)
    assert grads["db"] == pytest.approx(np.mean(A - Y), rel=1e-12)


def test_cost_graph_reads_like_the_lesson():
    J = cost_graph(W, B, X, Y)
    names = {node.name for node in ancestors(J)} - {None}
    assert names == {"w", "b", "X", "Y", "z", "L", "J"}
    z = next(node for node in ancestors(J) if node.name == "z")
    np.testing.assert_array_equal(z.value, W.T @ X + B)
    J.backward()
    w = next(node for node in ancestors(J) if node.name == "w")
    np.testing.assert_allclose(w.grad, propagate(W, B, X, Y)[0]["dw"], rtol=1e-15)


# -- training ---------------------------------------------------------------------------------


def test_a_small_learning_rate_decreases_the_cost_at_every_step():
    X_data, Y_data = labelled_data(n_x=5, m=30, shift=0.5, flips=5)
    _, _, costs = optimize(
        *initialize_with_zeros(5), X_data, Y_data, 300, learning_rate=0.05, record_every=1
    )
    assert len(costs) == 300
    assert np.all(np.diff(costs) < 0)


def test_the_naive_graph_hits_nan_where_the_fused_loss_keeps_learning():
    # 1000 standardised "pixels", 40 examples: one step at learning rate 0.5 overshoots to
    # |z| ≈ 50, where σ(z) rounds to exactly 1 and the lesson's log(1 - A) is ln 0.
    X_data, Y_data = labelled_data(n_x=1000, m=40, shift=1.0, flips=4)
    w, b = initialize_with_zeros(1000)
    _, grads, _ = optimize(w, b, X_data, Y_data, num_iterations=1, learning_rate=0.5)
    w, b = w - 0.5 * grads["dw"], b - 0.5 * grads["db"]
    assert np.max(w.T @ X_data + b) > 37

    w_node, b_node = cg.Node(w, name="w"), cg.Node(b, name="b")
    A = cg.sigmoid(w_node.T @ X_data + b_node)
    # NumPy's own divide/invalid warnings are expected here; compgraph's names the node.
    with pytest.warns(cg.NonFiniteWarning, match="log output"), np.errstate(all="ignore"):
        naive = -cg.mean(Y_data * cg.log(A) + (1 - Y_data) * cg.log(1 - A))
        naive.backward()
    assert math.isnan(naive.item()) and np.isnan(w_node.grad).all()

    grads, cost = propagate(w, b, X_data, Y_data)
    assert np.isfinite(grads["dw"]).all() and np.isfinite(cost)
    assert cost == pytest.approx(exact_cost(w, b, X_data, Y_data), rel=1e-12)

    params, _, costs = optimize(
        *initialize_with_zeros(1000), X_data, Y_data, 100, learning_rate=0.5, record_every=1
    )
    assert np.isfinite(costs).all()
    assert costs[1] > 1 and costs[-1] < 1e-3  # the overshoot is recovered from
    final_cost = propagate(params["w"], params["b"], X_data, Y_data)[1]
    assert final_cost == pytest.approx(
        exact_cost(params["w"], params["b"], X_data, Y_data), rel=1e-12
    )
    assert final_cost < costs[-1]
    assert np.array_equal(predict(params["w"], params["b"], X_data), Y_data)


def test_training_on_separable_data_at_learning_rate_half_stays_finite():
    X_data, Y_data = labelled_data(n_x=200, m=40, shift=2.0)
    with cg.errstate(nonfinite="raise"):
        params, grads, costs = optimize(
            *initialize_with_zeros(200), X_data, Y_data, 500, learning_rate=0.5, record_every=1
        )
    assert np.isfinite(costs).all() and np.isfinite(params["w"]).all()
    assert np.isfinite(grads["dw"]).all()
    assert costs[-1] < costs[1] < costs[0]
    assert np.array_equal(predict(params["w"], params["b"], X_data), Y_data)


def test_the_fused_loss_is_exact_far_out():
    z = cg.Node([1000.0, -1000.0, 1000.0, -1000.0, 40.0], name="z")
    loss = cg.sigmoid_cross_entropy(z, [0.0, 1.0, 1.0, 0.0, 1.0])
    assert loss.value.tolist() == [1000.0, 1000.0, 0.0, 0.0, pytest.approx(math.exp(-40))]
    loss.backward(np.ones(5))
    # The gradient is A - Y with A = σ(z) in float64, exactly as the analytic formula
    # computes it; at z = 40, σ(z) rounds to 1, so dz = 0 where the true value is -4e-18.
    assert z.grad.tolist() == [1.0, -1.0, 0.0, 0.0, 1 / (1 + math.exp(-40.0)) - 1]


def test_print_cost_prints_every_print_every_iterations(capsys):
    optimize(W, B, X, Y, num_iterations=201, print_cost=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"Cost after iteration {i}" for i in (0, 100, 200)
    ]
    assert lines[0] == "Cost after iteration 0: 5.801545"
    optimize(W, B, X, Y, num_iterations=10, print_cost=True, print_every=4, record_every=3)
    assert len(capsys.readouterr().out.splitlines()) == 3  # iterations 0, 4, 8


def test_record_every_sets_which_costs_are_returned():
    _, _, every = optimize(W, B, X, Y, num_iterations=10, record_every=1)
    _, _, some = optimize(W, B, X, Y, num_iterations=10, record_every=4)
    assert len(every) == 10 and some == every[::4]


def test_progress_bar(capsys):
    optimize(W, B, X, Y, num_iterations=5, progress=True)
    assert "gradient descent" in capsys.readouterr().err


def test_cost_lines_and_the_progress_bar_never_share_a_line(monkeypatch):
    # A terminal shows stdout and stderr on one screen: the bar redraws itself after "\r",
    # so a cost printed while it is drawn would land after the bar's text.
    screen = io.StringIO()
    monkeypatch.setattr(sys, "stdout", screen)
    monkeypatch.setattr(sys, "stderr", screen)
    optimize(W, B, X, Y, num_iterations=9, print_cost=True, print_every=4, progress=True)
    segments = re.split(r"[\r\n]", screen.getvalue())
    costs = [s for s in segments if "Cost after iteration" in s]
    assert [c.split(":")[0] for c in costs] == [f"Cost after iteration {i}" for i in (0, 4, 8)]
    assert all(c.startswith("Cost after iteration") for c in costs), costs
    assert any("gradient descent" in s for s in segments)


def test_the_progress_bar_is_tqdms_auto_one(monkeypatch):
    """tqdm.auto draws the notebook widget in Jupyter and the text bar elsewhere."""
    import tqdm as real_tqdm

    made = []

    class Bar(real_tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Bar))
    LogisticRegression(learning_rate=0.1, num_iterations=3, progress=True).fit(SAMPLES, [0, 1, 1])
    assert made == [{"total": 3, "desc": "gradient descent", "unit": "it"}]


def test_progress_bar_without_tqdm_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"pip install tqdm"):
        optimize(W, B, X, Y, num_iterations=5, progress=True)


# -- the cost curve ---------------------------------------------------------------------------


def test_plot_costs_saves_a_png(tmp_path):
    path = tmp_path / "costs.png"
    figure = plot_costs([0.7, 0.5, 0.4], path, learning_rate=0.5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = figure.axes[0].lines[0]
    assert line.get_xdata().tolist() == [0, 100, 200]
    assert line.get_ydata().tolist() == [0.7, 0.5, 0.4]
    assert "0.5" in figure.axes[0].get_title()


def test_plot_costs_without_a_path_uses_pyplot():
    import matplotlib.pyplot as plt

    figure = plot_costs([0.7, 0.6], every=10)
    try:
        assert plt.fignum_exists(figure.number)
        assert figure.axes[0].lines[0].get_xdata().tolist() == [0, 10]
    finally:
        plt.close(figure)


def test_plot_costs_without_matplotlib_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"compgraph\[examples\]"):
        plot_costs([0.7], tmp_path / "costs.png")


@pytest.mark.parametrize("costs", [[], {}, {"a": []}, {"a": [[0.7, 0.5]]}])
def test_plot_costs_rejects_empty_costs(costs):
    with pytest.raises(ValueError, match=r"^plot_costs: .*non-empty 1-D"):
        plot_costs(costs)


def off_screen_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    return figure.add_subplot()


def test_plot_costs_compares_runs_as_the_lesson_compares_learning_rates(tmp_path):
    runs = {"α = 0.01": [0.69, 0.6, 0.55], "α = 0.001": [0.69, 0.68, 0.67, 0.66]}
    figure = plot_costs(runs, tmp_path / "rates.png", every=50)
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.lines] == list(runs)
    assert axes.lines[1].get_xdata().tolist() == [0, 50, 100, 150]
    assert axes.lines[1].get_ydata().tolist() == runs["α = 0.001"]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == list(runs)
    assert (tmp_path / "rates.png").stat().st_size > 0


def test_plot_costs_draws_into_the_axes_it_is_given():
    import matplotlib.pyplot as plt

    axes = off_screen_axes()
    before = plt.get_fignums()
    figure = plot_costs([0.7, 0.6], ax=axes, log_scale=True)
    assert figure is axes.figure and plt.get_fignums() == before
    assert axes.lines[0].get_ydata().tolist() == [0.7, 0.6]
    assert axes.get_yscale() == "log"
    assert plot_costs([0.7, 0.6], ax=off_screen_axes()).axes[0].get_yscale() == "linear"


@pytest.mark.parametrize(
    ("costs", "says"),
    [
        ([0.7, 0.9, float("inf"), float("nan")], "diverged: the cost is inf at iteration 200"),
        ([0.7, 0.8, 1.25], "diverged: the cost grew from 0.7 to 1.25"),
    ],
)
def test_plot_costs_says_when_the_cost_diverged(costs, says):
    axes = off_screen_axes()
    with pytest.warns(RuntimeWarning, match=rf"^plot_costs: run 'α = 4' {says}; try a smaller"):
        plot_costs({"α = 4": costs}, ax=axes)
    assert axes.lines[0].get_label() == "α = 4 (diverged)"
    finite = [c for c in costs if math.isfinite(c)]
    assert axes.lines[0].get_ydata()[: len(finite)].tolist() == finite
    assert any("diverged" in text.get_text() for text in axes.texts)


def test_plot_costs_is_quiet_about_a_cost_that_stays_flat(recwarn):
    # The course's zeros initialization: the cost stays at ln 2 and ends 2 ulp above it
    # (0.6931471805599453 -> ...455), rounding, not divergence (issue 22's example).
    axes = off_screen_axes()
    plot_costs({"zeros": [0.6931471805599453, 0.6931471805599455]}, ax=axes)
    assert not recwarn.list and not axes.texts
    assert axes.lines[0].get_label() == "zeros"


def test_plot_costs_is_quiet_about_a_cost_that_falls_unevenly(recwarn):
    axes = off_screen_axes()
    plot_costs([0.7, 0.5, 0.55, 0.4], ax=axes)
    assert not recwarn.list and not axes.texts
    assert axes.lines[0].get_label() != "(diverged)"


# -- the estimator ----------------------------------------------------------------------------


def test_the_estimator_agrees_with_the_course_functions():
    X_data, Y_data = labelled_data(n_x=4, m=50, shift=1.0, flips=6)
    samples, y = X_data.T.copy(), Y_data[0].astype(int)
    model = LogisticRegression(learning_rate=0.1, num_iterations=250).fit(samples, y)

    params, _, costs = optimize(
        *initialize_with_zeros(4), X_data, Y_data, 250, learning_rate=0.1, record_every=1
    )
    np.testing.assert_allclose(model.coef_, params["w"].T, rtol=1e-14)
    assert model.coef_.shape == (1, 4) and model.intercept_.shape == (1,)
    assert model.intercept_[0] == pytest.approx(params["b"], rel=1e-14)
    np.testing.assert_allclose(model.cost_history_, costs, rtol=1e-14)
    assert model.n_iter_ == 250 and model.n_features_in_ == 4
    assert model.classes_.tolist() == [0, 1]

    labels = model.predict(samples)
    assert labels.dtype.kind == "i"
    assert labels.tolist() == predict(params["w"], params["b"], X_data)[0].astype(int).tolist()
    proba = model.predict_proba(samples)
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(proba[:, 1] > 0.5, labels == 1)
    np.testing.assert_array_equal(model.decision_function(samples) > 0, labels == 1)
    assert model.score(samples, y) == np.mean(labels == y)
    assert 0.6 < model.score(samples, y) < 1  # six flipped labels cannot all be learned


def test_the_estimator_follows_scikit_learn_conventions():
    from sklearn.base import clone

    model = LogisticRegression(learning_rate=0.5)
    assert repr(model) == "LogisticRegression(learning_rate=0.5)"
    assert model.get_params()["learning_rate"] == 0.5
    assert model.set_params(num_iterations=10) is model and model.num_iterations == 10
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    with pytest.raises(ValueError, match="no parameter 'C'"):
        model.set_params(C=1.0)


def test_predicting_before_fit_raises_not_fitted():
    with pytest.raises(cg.NotFittedError, match="not fitted; call fit first"):
        LogisticRegression().predict([[1.0, 2.0]])


# -- input checks -----------------------------------------------------------------------------

BAD_LESSON_INPUTS = [
    (
        {"w": np.ones(2)},
        cg.ShapeError,
        r"w has shape \(2,\) .* must have shape \(n_x, 1\) = \(2, 1\); reshape",
    ),
    ({"w": np.ones((3, 1))}, cg.ShapeError, r"w has shape \(3, 1\) but X has shape \(2, 3\)"),
    ({"X": X.T}, cg.ShapeError, r"w has shape \(2, 1\) but X has shape \(3, 2\).*pass X\.T"),
    ({"X": np.ones(3)}, cg.ShapeError, r"X must be a non-empty 2-D array \(n_x, m\)"),
    (
        {"Y": np.array([1, 0, 1])},
        cg.ShapeError,
        r"Y has shape \(3,\) .* \(1, 3\); reshape it with Y\.reshape\(1, -1\)",
    ),
    ({"Y": np.array([[1, 2, 1]])}, cg.DataError, r"Y must hold the labels 0 and 1 only, found 2"),
    (
        {"Y": np.array([[1, -1, 0.5]])},
        cg.DataError,
        r"Y must hold the labels 0 and 1 only, found -1, 0\.5",
    ),
    (
        {"X": np.array([[1.0, np.nan, 2.0], [0, 0, 0]])},
        cg.DataError,
        r"X of shape \(2, 3\) contains NaN or inf \(1 nan of 6",
    ),
    ({"b": np.inf}, cg.DataError, r"b of shape \(\) contains NaN or inf"),
    (
        {"b": np.array([1.0, 2.0])},
        cg.ShapeError,
        r"b must be a number, got an array of shape \(2,\)",
    ),
    ({"X": [["a", "b", "c"], ["d", "e", "f"]]}, cg.DTypeError, r"X has dtype <U1"),
    ({"Y": [[1, 0], [1]]}, cg.DTypeError, r"Y is not a rectangular array"),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD_LESSON_INPUTS)
@pytest.mark.parametrize("function", [propagate, analytic_gradients, optimize, cost_graph])
def test_bad_inputs_are_named_with_their_shapes(function, change, error, message):
    arguments = {"w": W, "b": B, "X": X, "Y": Y, **change}
    with pytest.raises(error, match=f"^{function.__name__}: {message}"):
        function(**arguments)


def test_predict_checks_its_inputs():
    with pytest.raises(cg.ShapeError, match=r"^predict: w has shape \(3, 1\)"):
        predict(np.ones((3, 1)), 0.0, X)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"num_iterations": 0}, "num_iterations must be a positive integer, got 0"),
        ({"num_iterations": 2.5}, "num_iterations must be a positive integer"),
        ({"learning_rate": -0.1}, "learning_rate must be a positive finite number, got -0.1"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive finite number"),
        ({"print_every": 0}, "print_every must be a positive integer"),
        ({"record_every": True}, "record_every must be a positive integer"),
    ],
)
def test_optimize_checks_its_schedule(setting, message):
    with pytest.raises(ValueError, match=f"^optimize: {message}"):
        optimize(W, B, X, Y, **setting)


SAMPLES = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])


@pytest.mark.parametrize(
    ("X_fit", "y_fit", "error", "message"),
    [
        (
            SAMPLES,
            np.array([[0, 1, 1]]),
            cg.ShapeError,
            r"y has shape \(1, 3\) .* \(3,\); flatten it with y\.ravel\(\)",
        ),
        (SAMPLES, np.array([0, 1]), cg.ShapeError, r"y has shape \(2,\) but X has 3 samples"),
        (
            SAMPLES[0],
            np.array([0]),
            cg.ShapeError,
            r"X must be a 2-D array \(n_samples, n_features\), got shape \(2,\)\. Reshape your data",
        ),
        (
            SAMPLES,
            np.array([0, 1, 2]),
            cg.DataError,
            r"Only binary classification is supported, and y holds 3 classes \(0, 1, 2\)",
        ),
        (
            SAMPLES * np.nan,
            np.array([0, 1, 1]),
            cg.DataError,
            r"X of shape \(3, 2\) contains NaN or inf \(6 nan of 6",
        ),
    ],
)
def test_fit_checks_its_inputs(X_fit, y_fit, error, message):
    with pytest.raises(error, match=f"^LogisticRegression.fit: {message}"):
        LogisticRegression().fit(X_fit, y_fit)


def test_fit_checks_its_parameters():
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        LogisticRegression(learning_rate=0).fit(SAMPLES, [0, 1, 1])


def test_a_fitted_model_checks_the_number_of_features():
    model = LogisticRegression().fit(SAMPLES, [0, 1, 1])
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(
            cg.ShapeError, match=r"X has 3 features, but LogisticRegression is expecting 2 features"
        ):
            method(np.ones((4, 3)))
    with pytest.raises(cg.ShapeError, match=r"y has shape \(2,\) but X has 3 samples"):
        model.score(SAMPLES, [0, 1])


# -- callers' arrays --------------------------------------------------------------------------


def test_callers_arrays_are_never_modified():
    w, X_data, Y_data = W.copy(), X.copy(), Y.copy()
    for array in (w, X_data, Y_data):
        array.flags.writeable = False  # any write in place would raise
    propagate(w, B, X_data, Y_data)
    analytic_gradients(w, B, X_data, Y_data)
    params, _, _ = optimize(w, B, X_data, Y_data, num_iterations=20, learning_rate=0.1)
    predict(w, B, X_data)
    cost_graph(w, B, X_data, Y_data).backward()
    assert params["w"] is not w and params["w"].flags.writeable
    np.testing.assert_array_equal(w, W)
    np.testing.assert_array_equal(X_data, X)
    np.testing.assert_array_equal(Y_data, Y)

    samples, y = X.T.copy(), Y[0].copy()
    samples.flags.writeable = y.flags.writeable = False
    model = LogisticRegression(num_iterations=20).fit(samples, y)
    model.predict(samples), model.predict_proba(samples), model.score(samples, y)
    np.testing.assert_array_equal(samples, X.T)
    assert not np.shares_memory(model.coef_, samples)


def test_returned_gradients_are_fresh_writable_arrays():
    grads, _ = propagate(W, B, X, Y)
    grads["dw"][0, 0] = 0.0  # the engine's .grad arrays are read-only; these must not be


# -- second order: the Hessian and Newton's method ------------------------------------------


def _two_overlapping_classes(m=400, n=5, seed=0):
    """Labels drawn from a logistic model; feature 0 varies 10x less than the others, as
    unscaled data often does, which is what makes gradient descent slow."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    X[0] *= 0.1
    Y = (rng.random((1, m)) < 1 / (1 + np.exp(-(10 * X[0] - 0.5 * X[1] + 0.3)))).astype(float)
    return X, Y


def test_the_engine_hessian_equals_the_analytic_one():
    from compgraph.models.logistic import analytic_hessian, hessian

    X, Y = _two_overlapping_classes(m=50, n=4)
    w, b = np.random.default_rng(1).normal(size=(4, 1)), -0.2
    H = hessian(w, b, X, Y)
    assert H.shape == (5, 5)
    np.testing.assert_allclose(H, analytic_hessian(w, b, X, Y), rtol=1e-12, atol=1e-15)


def test_newton_reaches_the_optimum_in_a_handful_of_steps_where_descent_needs_thousands():
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    from compgraph.models.logistic import initialize_with_zeros, optimize, optimize_newton

    X, Y = _two_overlapping_classes()
    params, grads, costs = optimize_newton(*initialize_with_zeros(5), X, Y)
    assert len(costs) <= 10 and np.linalg.norm(grads["dw"]) < 1e-10
    reference = SklearnLogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X.T, Y[0])
    np.testing.assert_allclose(params["w"][:, 0], reference.coef_[0], rtol=1e-6)
    assert params["b"] == pytest.approx(reference.intercept_[0], rel=1e-6)
    descent, _, descent_costs = optimize(
        *initialize_with_zeros(5), X, Y, num_iterations=2000, learning_rate=0.5
    )
    assert descent_costs[-1] > costs[-1]  # 2000 steps of descent are still short of it
    assert np.abs(descent["w"] - params["w"]).max() > 1e-6


def test_newton_on_separable_classes_says_the_optimum_is_at_infinity():
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    X = np.array([[0.0, 1.0, 2.0, 3.0]])
    Y = np.array([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(cg.DataError, match="separable"):
        optimize_newton(*initialize_with_zeros(1), X, Y, num_iterations=100)


def test_newton_damps_a_singular_hessian():
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    X, Y = _two_overlapping_classes(m=60, n=2)
    X = np.vstack([X, X[:1]])  # a repeated feature: H is singular
    params, grads, _ = optimize_newton(*initialize_with_zeros(3), X, Y)
    assert np.linalg.norm(grads["dw"]) < 1e-8 and np.isfinite(params["w"]).all()


def test_newton_with_its_default_steps_refuses_separable_classes():
    """Issue 20: with 20 steps the cost only fell to 5e-9, and w ≈ 39 came back as a model."""
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    X = np.array([[0.0, 1.0, 2.0, 3.0]])
    Y = np.array([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(
        cg.DataError,
        match=r"^optimize_newton: the classes are separable: after \d+ Newton steps?, w = .* "
        r"puts every example on its own class's side.*no minimum",
    ):
        optimize_newton(*initialize_with_zeros(1), X, Y)


def test_newton_refuses_classes_that_only_touch():
    """Quasi-complete separation: x = 1 holds one example of each class, every other example
    is on its class's side, so the cost falls for ever as w grows (no finite optimum)."""
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    X = np.array([[0.0, 1.0, 1.0, 2.0, -1.0, 3.0]])
    Y = np.array([[0.0, 0.0, 1.0, 1.0, 0.0, 1.0]])
    for steps in (20, 200):
        with pytest.raises(cg.DataError, match=r"^optimize_newton: the classes are separable"):
            optimize_newton(*initialize_with_zeros(1), X, Y, num_iterations=steps)


def test_newton_warns_when_it_runs_out_of_steps():
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    X, Y = _two_overlapping_classes()
    with pytest.warns(
        cg.ConvergenceWarning,
        match=r"^optimize_newton: Newton's method did not converge in 1 step: .*num_iterations",
    ):
        params, _, costs = optimize_newton(*initialize_with_zeros(5), X, Y, num_iterations=1)
    assert len(costs) == 1 and np.isfinite(params["w"]).all()


def separable_samples(m=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 2))
    return x, (x[:, 0] + 0.1 * x[:, 1] > 0.05).astype(int)


def test_the_estimator_without_a_penalty_refuses_separable_classes():
    """Issue 20: LogisticRegression(solver="newton") "converged" to coef ≈ [203, -3.8]."""
    samples, y = separable_samples()
    with pytest.raises(
        cg.DataError,
        match=r"^LogisticRegression.fit: the classes are separable: .*alpha > 0",
    ):
        LogisticRegression(solver="newton", alpha=0.0).fit(samples, y)


def test_the_estimators_penalty_gives_separable_classes_scikit_learns_finite_optimum():
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    samples, y = separable_samples()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges, and says nothing
        model = LogisticRegression().fit(samples, y)
    assert model.alpha == 1e-4 and model.n_iter_ < 40 and model.score(samples, y) == 1.0
    # Σ loss + (α/2)‖w‖² is scikit-learn's objective with C = 1/α.
    reference = SklearnLogisticRegression(C=1 / model.alpha, tol=1e-14, max_iter=100_000)
    reference.fit(samples, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5)


def test_the_default_estimator_fits_unscaled_data_where_descent_diverged(breast_cancer):
    """Issue 25: gradient descent's cost went 0.69 -> 237 and scored 0.50-0.73."""
    X_data, y = breast_cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression().fit(X_data, y)
    assert model.score(X_data, y) >= 0.95  # scikit-learn's own default model scores 0.95
    assert model.n_iter_ <= 30 and len(model.cost_history_) == model.n_iter_
    assert model.cost_history_[-1] < 0.1 < 0.69 < model.cost_history_[0] + 1e-3


def test_the_solver_is_newtons_unless_a_learning_rate_is_given():
    X_data, Y_data = labelled_data(n_x=3, m=40, shift=1.0, flips=4)
    samples, y = X_data.T, Y_data[0]
    newton = LogisticRegression(num_iterations=50).fit(samples, y)
    assert newton.n_iter_ < 50  # stopped at the optimum
    descent = LogisticRegression(learning_rate=0.1, num_iterations=50).fit(samples, y)
    assert descent.n_iter_ == 50 and descent.cost_history_[-1] > newton.cost_history_[-1]
    explicit = LogisticRegression(solver="gradient_descent", num_iterations=50).fit(samples, y)
    params, _, _ = optimize(*initialize_with_zeros(3), X_data, Y_data, 50, learning_rate=0.005)
    np.testing.assert_allclose(explicit.coef_, params["w"].T, rtol=1e-14)  # the old default
    with pytest.raises(
        ValueError,
        match=r"^LogisticRegression.fit: solver='newton' takes no learning_rate \(got 0\.5\)",
    ):
        LogisticRegression(solver="newton", learning_rate=0.5).fit(samples, y)
    for setting, message in [
        ({"alpha": -1.0}, r"alpha must be a non-negative finite number, got -1\.0"),
        ({"tol": np.nan}, r"tol must be a non-negative finite number, got nan"),
        ({"solver": "lbfgs"}, r"solver must be 'auto', 'newton' or 'gradient_descent'"),
    ]:
        with pytest.raises(ValueError, match=f"^LogisticRegression.fit: {message}"):
            LogisticRegression(**setting).fit(samples, y)


def test_a_diverging_descent_is_one_error_naming_the_learning_rate(breast_cancer):
    """Issue 25: 3,945 NonFiniteWarnings, then NaN coefficients returned."""
    X_data, y = breast_cancer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(
            cg.NonFiniteError,
            match=r"^LogisticRegression.fit: gradient descent diverged at step \d+ of 2000: "
            r"with learning_rate=1e\+305 .*inf or NaN.*scale the features .*smaller learning_rate",
        ):
            LogisticRegression(learning_rate=1e305).fit(X_data, y)
    assert caught == []


def test_a_cost_that_rises_under_descent_is_one_warning_naming_the_learning_rate(breast_cancer):
    X_data, y = breast_cancer
    with pytest.warns(
        cg.ConvergenceWarning,
        match=r"^LogisticRegression.fit: gradient descent diverged: the cost rose from 0\.693 "
        r"to [\d.e+]+ with learning_rate=0\.005.*scale the features",
    ) as record:
        model = LogisticRegression(solver="gradient_descent", num_iterations=200).fit(X_data, y)
    assert len(record) == 1 and np.isfinite(model.coef_).all()


def test_the_estimator_warns_when_newton_runs_out_of_steps(breast_cancer):
    X_data, y = breast_cancer
    with pytest.warns(
        cg.ConvergenceWarning,
        match=r"^LogisticRegression.fit: Newton's method did not converge in 2 steps",
    ):
        model = LogisticRegression(num_iterations=2).fit(X_data, y)
    assert model.n_iter_ == 2


def test_the_estimator_solves_by_newton_when_asked():
    X, Y = _two_overlapping_classes()
    newton = cg.models.logistic.LogisticRegression(solver="newton").fit(X.T, Y[0])
    assert newton.n_iter_ <= 10
    descent = cg.models.logistic.LogisticRegression(learning_rate=0.5, num_iterations=50).fit(
        X.T, Y[0]
    )
    assert newton.cost_history_[-1] < descent.cost_history_[-1]
    with pytest.raises(ValueError, match="solver must be"):
        cg.models.logistic.LogisticRegression(solver="lbfgs").fit(X.T, Y[0])


# -- Newton's method on many features: conjugate gradients on Hessian-vector products ------------


def many_features(n, m=209, seed=0, scales=None):
    """Samples as rows: pixel-like features in [0, 1) (times ``scales``), labels drawn from a
    logistic model; with n >= m the classes are separable, as the course's cat images are."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n))
    w = rng.normal(size=n) / np.sqrt(n)
    y = (rng.random(m) < 1 / (1 + np.exp(-8 * (X - 0.5) @ w))).astype(int)
    return X if scales is None else X * scales, y


def penalised_gradient(model, samples, y):
    """∇(J + (α/2m)‖w‖²) at the fitted model, from the closed form (no engine)."""
    w, b = model.coef_.T, model.intercept_[0]
    grads = analytic_gradients(w, b, samples.T, y.reshape(1, -1))
    return np.append(grads["dw"][:, 0] + model.alpha / len(y) * w[:, 0], grads["db"])


@pytest.fixture
def newton_path(monkeypatch):
    """``newton_path("dense")`` or ``("cg")`` forces the solve of every Newton step."""
    from compgraph.models import logistic

    def force(path):
        monkeypatch.setattr(logistic, "_DENSE_NEWTON_UP_TO", 10**9 if path == "dense" else 0)

    return force


def test_a_newton_step_multiplies_by_the_hessian_exactly_as_hvp_does():
    from compgraph.models.logistic import _NewtonSystem, _theta_cost, hessian

    X_data, Y_data = _two_overlapping_classes(m=80, n=6)
    theta = np.random.default_rng(2).normal(size=7)
    cost = _theta_cost(cg.Node(X_data, requires_grad=False), cg.Node(Y_data, requires_grad=False))
    system = _NewtonSystem(cost, theta, dense=False, diagonal=None)
    J, gradient = cg.value_and_grad(cost)(theta)
    assert system.cost == float(J) and np.array_equal(system.gradient, gradient)
    H = hessian(theta[:6, None], theta[6], X_data, Y_data)
    for v in np.random.default_rng(3).normal(size=(3, 7)):
        product = system.product(v)
        np.testing.assert_array_equal(product, cg.hvp(cost)(theta, v))  # the same passes
        np.testing.assert_allclose(product, H @ v, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [100, pytest.param(300, marks=pytest.mark.slow)])
def test_conjugate_gradients_reach_the_dense_newton_optimum(newton_path, n):
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    samples, y = many_features(n, m=4 * n)  # overlapping classes: a well-defined optimum
    fits = {}
    for path in ("dense", "cg"):
        newton_path(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fits[path] = LogisticRegression(tol=1e-16).fit(samples, y)
    dense, iterative = fits["dense"], fits["cg"]
    assert abs(iterative.n_iter_ - dense.n_iter_) <= 2
    scale = np.abs(dense.coef_).max()
    np.testing.assert_allclose(iterative.coef_, dense.coef_, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(iterative.intercept_, dense.intercept_, rtol=0, atol=1e-8 * scale)
    # scikit-learn's own exact Newton solver (its default lbfgs stops 1e-5 short here)
    reference = SklearnLogisticRegression(
        C=1 / iterative.alpha, solver="newton-cholesky", tol=1e-14
    )
    reference.fit(samples, y)
    np.testing.assert_allclose(iterative.coef_, reference.coef_, rtol=0, atol=1e-8 * scale)


def test_conjugate_gradients_keep_newtons_indifference_to_feature_scale(newton_path):
    """Plain CG took 2000 Newton steps on features scaled from 1e-3 to 1e3, where the dense
    solve took 7: preconditioned by H's diagonal it takes as many as on scaled features."""
    newton_path("cg")
    scales = 10.0 ** np.random.default_rng(4).uniform(-3, 3, size=100)
    samples, y = many_features(100, m=400)
    scaled = LogisticRegression(alpha=0.0, tol=1e-16).fit(samples, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no penalty: α‖w‖² would change with the scale
        unscaled = LogisticRegression(alpha=0.0, tol=1e-16).fit(samples * scales, y)
    assert unscaled.n_iter_ <= scaled.n_iter_ + 2 <= 14
    np.testing.assert_allclose(unscaled.coef_ * scales, scaled.coef_, rtol=0, atol=1e-7)


def test_conjugate_gradients_agree_with_the_dense_solve_on_the_breast_cancer_data(
    newton_path, breast_cancer
):
    samples, y = breast_cancer
    fits = {}
    for path in ("dense", "cg"):
        newton_path(path)
        fits[path] = LogisticRegression(tol=1e-16).fit(samples, y)
    scale = np.abs(fits["dense"].coef_).max()
    np.testing.assert_allclose(fits["cg"].coef_, fits["dense"].coef_, rtol=0, atol=1e-8 * scale)


def test_newton_by_conjugate_gradients_damps_a_singular_hessian(newton_path):
    from compgraph.models.logistic import initialize_with_zeros, optimize_newton

    newton_path("cg")
    X_data, Y_data = _two_overlapping_classes(m=60, n=2)
    X_data = np.vstack([X_data, X_data[:1]])  # a repeated feature: H is singular
    params, grads, _ = optimize_newton(*initialize_with_zeros(3), X_data, Y_data)
    assert np.linalg.norm(grads["dw"]) < 1e-8 and np.isfinite(params["w"]).all()
    assert params["w"][0, 0] == pytest.approx(params["w"][2, 0], rel=1e-6)  # shared equally


def test_newton_by_conjugate_gradients_refuses_separable_classes_and_warns_as_before(
    newton_path, capsys
):
    newton_path("cg")
    samples, y = separable_samples()
    with pytest.raises(
        cg.DataError, match=r"^LogisticRegression.fit: the classes are separable: .*alpha > 0"
    ):
        LogisticRegression(alpha=0.0).fit(samples, y)
    samples, y = many_features(100)
    with pytest.warns(
        cg.ConvergenceWarning,
        match=r"^LogisticRegression.fit: Newton's method did not converge in 2 steps",
    ):
        model = LogisticRegression(num_iterations=2, print_cost=True).fit(samples, y)
    assert model.n_iter_ == 2
    assert capsys.readouterr().out == (
        f"Cost after Newton step 0: {model.cost_history_[0]:f}\n"
        f"Cost after Newton step 1: {model.cost_history_[1]:f}\n"
    )


def test_newton_on_5000_features_takes_a_few_hundred_backward_passes(monkeypatch):
    """The dense Hessian took 5001 backward passes per step (and 200 MB)."""
    passes, hessians = [], []
    real_gradients, real_hessian = cg.gradients, cg.hessian
    monkeypatch.setattr(
        cg, "gradients", lambda *a, **k: passes.append(1) or real_gradients(*a, **k)
    )
    monkeypatch.setattr(cg, "hessian", lambda *a, **k: hessians.append(1) or real_hessian(*a, **k))
    samples, y = many_features(5000, m=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges, and says nothing
        model = LogisticRegression().fit(samples, y)
    assert hessians == [] and model.n_iter_ <= 30
    assert len(passes) <= 20 * model.n_iter_  # a record and the products of each step
    assert model.score(samples, y) == 1.0
    assert np.linalg.norm(penalised_gradient(model, samples, y)) < 1e-6


@pytest.mark.slow
def test_newton_fits_the_course_sized_problem_of_12288_features():
    """The course's cat images: 209 samples of 64·64·3 features. The dense Hessian would hold
    1.2 GB and take a minute a step."""
    samples, y = many_features(12288, m=209)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression().fit(samples, y)
    assert model.n_iter_ <= 30 and model.score(samples, y) == 1.0
    assert np.linalg.norm(penalised_gradient(model, samples, y)) < 1e-6


def test_conjugate_gradients_damp_a_direction_without_curvature_as_the_dense_solve_does():
    """H = diag(2, 0) with g = (1, 1): no finite H⁻¹g, so both solve (H + λI)d = g with the
    smallest λ they try that works, a 10⁻¹² fraction of H's scale (the dense one's
    tr(H)/n = 1, CG's curvature along g, gᵀHg/gᵀg = 1), instead of dividing by 0."""
    from compgraph.models.logistic import _conjugate_gradient, _damped_solve

    H, g = np.diag([2.0, 0.0]), np.ones(2)
    dense = _damped_solve(H, g)
    np.testing.assert_allclose(H @ dense + 1e-12 * dense, g, rtol=1e-12)
    iterative, reached = _conjugate_gradient(lambda v: H @ v, g, np.ones(2))
    assert reached
    # CG solves the same damped system, to its forcing term: ‖r‖ <= min(1/2, √‖g‖)·‖g‖.
    residual = g - (H @ iterative + 1e-12 * iterative)
    assert np.linalg.norm(residual) <= 0.5 * np.linalg.norm(g)
    np.testing.assert_allclose(iterative, dense, rtol=1e-4)


def _nearly_collinear(seed=1, m=120, n=80):
    """n features that are nearly 5 (plus 10⁻³ noise), scaled from 10⁻³ to 10³: an
    ill-conditioned Hessian, where CG's decrement ∇Jᵀd falls far short of ∇JᵀH⁻¹∇J."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((m, 5))
    X = base @ rng.standard_normal((5, n)) + 1e-3 * rng.standard_normal((m, n))
    X *= 10.0 ** rng.uniform(-3, 3, n)
    return X, (base[:, 0] + 0.5 * rng.standard_normal(m) > 0).astype(int)


def test_newton_by_cg_stops_only_where_a_tight_solve_confirms_it(newton_path, monkeypatch):
    from compgraph.models import logistic

    X, y = _nearly_collinear()
    newton_path("dense")
    exact = LogisticRegression(alpha=1e-8).fit(X, y).cost_history_[-1]
    newton_path("cg")
    # CG alone (no dense fallback): it may not get there, but it never says it did early:
    # the run either ends within tol of the optimum or warns that it did not converge.
    monkeypatch.setattr(logistic, "_DENSE_FALLBACK_UP_TO", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alone = LogisticRegression(alpha=1e-8, num_iterations=60).fit(X, y)
    warned = any("did not converge" in str(w.message) for w in caught)
    assert warned or alone.cost_history_[-1] - exact <= 1e-9, (alone.cost_history_[-1], exact)
    # With the fallback, CG's unreachable tolerance hands the run to the dense solve.
    monkeypatch.undo()
    newton_path("cg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(alpha=1e-8).fit(X, y)
    assert abs(model.cost_history_[-1] - exact) <= 1e-9 and model.n_iter_ < 60
