"""Compiled steps on Dask (issue 21): nothing computed until the user computes, one compute
per training step, the estimators' and networks' numbers, and fits on a LocalCluster whose X
this process never holds."""

import contextlib
import time
import tracemalloc
import warnings

import numpy as np
import pytest

import compgraph as cg
from compgraph.models import distributed, networks
from compgraph.models.estimators import BinaryClassifier
from compgraph.models.logistic import LogisticRegression

dask = pytest.importorskip("dask", reason="Dask is in the dask and dev extras")
da = pytest.importorskip("dask.array", reason="Dask is in the dask and dev extras")
pytest.importorskip("array_api_compat", reason="array-api-compat is in the dask extra")


class CountingScheduler:
    """A Dask scheduler that counts the graphs it is asked to compute, then computes them."""

    def __init__(self):
        self.computes = 0

    def __call__(self, graph, keys, **kwargs):
        self.computes += 1
        return dask.get(graph, keys, **kwargs)


def data(m=600, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (X[:, 0] + 0.5 * rng.normal(size=m) > 0).astype(float)
    return X, y


def test_building_and_replaying_a_step_on_dask_computes_nothing_and_one_compute_runs_it():
    X, y = data()
    columns, Y = da.from_array(X.T, chunks=(4, 150)), da.from_array(y.reshape(1, -1), chunks=150)
    w, b, rate = np.zeros((4, 1)), np.float64(0.0), np.float64(0.5)
    step = cg.compile(distributed._step)
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        J, lazy_w, lazy_b = step(w, b, columns, Y, rate)  # traces on stand-ins, then replays
        J2, lazy_w, lazy_b = step(lazy_w, lazy_b, columns, Y, rate)  # on the lazy results
        assert scheduler.computes == 0
        assert all(isinstance(v, da.Array) for v in (J, J2, lazy_w, lazy_b))
        cost, w2, b2 = dask.compute(J2, lazy_w, lazy_b)
        assert scheduler.computes == 1
    for _ in range(2):  # the same two steps on NumPy
        expected_cost, w, b = step(w, b, X.T, y.reshape(1, -1), rate)
    np.testing.assert_allclose(w2, w, rtol=1e-13)
    np.testing.assert_allclose(b2, b, rtol=1e-13)
    np.testing.assert_allclose(cost, expected_cost, rtol=1e-13)


def test_the_estimator_on_dask_takes_one_compute_per_step_and_fits_numpys_model():
    X, y = data()
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        on_dask = LogisticRegression(learning_rate=0.5, num_iterations=5).fit(
            da.from_array(X, chunks=(150, 4)), y
        )
    assert scheduler.computes == 5
    on_numpy = LogisticRegression(learning_rate=0.5, num_iterations=5).fit(X, y)
    np.testing.assert_allclose(on_dask.coef_, on_numpy.coef_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.intercept_, on_numpy.intercept_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.cost_history_, on_numpy.cost_history_, rtol=1e-12)
    assert on_dask.predict(X).tolist() == on_numpy.predict(X).tolist()


def test_an_inf_on_dask_is_reported_by_the_users_compute_naming_the_output():
    step = cg.compile(lambda x: cg.sum(cg.log(x)))
    lazy = step(da.from_array(np.array([0.0, 1.0]), chunks=1))  # no error yet: nothing ran
    with (
        np.errstate(divide="ignore"),
        pytest.raises(cg.NonFiniteError, match="output 0 of .* inf or NaN"),
    ):
        lazy.compute()


def test_numpy_arrays_join_dask_arrays_but_other_libraries_are_refused():
    strict = pytest.importorskip("array_api_strict")
    step = cg.compile(lambda x, y: cg.sum(x * y))
    x = da.ones(3, chunks=1)
    assert float(step(x, np.ones(3)).compute()) == 3.0
    with pytest.raises(TypeError, match=r"dask on cpu: x; array_api_strict on .*: y"):
        step(x, strict.ones(3))


def flower(m=400, seed=3):
    """A 2-feature, two-class data set whose classes no line separates (examples as columns)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2, m))
    return X, (X[0] * X[1] > 0).astype(np.float64).reshape(1, -1)


@pytest.mark.parametrize(
    "settings",
    [
        {"hidden": "tanh", "learning_rate": 0.5},
        {"optimizer": "adam", "learning_rate": 0.01, "l2": 0.7},
        {"keep_prob": 0.8, "learning_rate": 0.3},
    ],
    ids=["tanh-gd", "relu-adam-l2", "dropout"],
)
def test_a_network_trains_on_dask_with_one_compute_per_step_and_numpys_numbers(settings):
    X, Y = flower()
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        parameters, costs = networks.train(
            da.from_array(X, chunks=(2, 100)), Y, [2, 6, 3, 1], num_iterations=10,
            initialization="he", **settings,
        )  # fmt: skip
    assert scheduler.computes == 10  # forward and backward of each step: one compute
    expected, expected_costs = networks.train(
        X, Y, [2, 6, 3, 1], num_iterations=10, initialization="he", **settings
    )
    start = networks.initialize_parameters([2, 6, 3, 1], initialization="he")
    # the first step's cost: chunked sums may differ from NumPy's in the last bit
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-14)
    for name, value in expected.items():
        assert np.abs(value - start[name]).max() > 1e-3  # it moved: not two zeros compared
        # chunked sums round differently: equal to the last few bits (over many more steps
        # the rounding is amplified as in any two runs of gradient descent)
        np.testing.assert_allclose(parameters[name], value, rtol=1e-11, atol=1e-15)


def test_predicting_on_dask_is_lazy_and_equals_numpys():
    X, Y = flower()
    parameters, _ = networks.train(X, Y, [2, 5, 1], 1.2, 200, hidden="tanh")
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        lazy = networks.predict(parameters, da.from_array(X, chunks=(2, 100)), hidden="tanh")
        assert scheduler.computes == 0 and isinstance(lazy, da.Array)
        predicted = lazy.compute()
    expected = networks.predict(parameters, X, hidden="tanh")
    assert expected.mean() + (1 - expected).mean() > 0.8 and (predicted == expected).all()


def test_the_network_classifier_fits_and_predicts_a_dask_x_as_numpys():
    X, Y = flower(m=600)
    labels = np.where(Y[0] == 1, "same sign", "opposite")
    samples = da.from_array(X.T, chunks=(150, 1))  # chunks split the features: rechunked
    settings = dict(hidden_layer_sizes=(6,), solver="adam", learning_rate=0.02,
                    num_iterations=40, standardize=True)  # fmt: skip
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        on_dask = networks.NetworkClassifier(**settings).fit(
            samples, da.from_array(labels, chunks=150)
        )
        computes = scheduler.computes
        probabilities, predicted = on_dask.predict_proba(samples), on_dask.predict(samples)
        assert scheduler.computes == computes  # predicting builds tasks only
    # the labels (1), the standardisation's mean and scale (1), a compute per step
    assert computes == 2 + 40
    on_numpy = networks.NetworkClassifier(**settings).fit(X.T, labels)
    assert on_numpy.score(X.T, labels) > 0.75  # it learned: not two zeros compared
    np.testing.assert_allclose(on_dask.feature_mean_, on_numpy.feature_mean_, rtol=1e-13)
    for name, value in on_numpy.parameters_.items():
        np.testing.assert_allclose(on_dask.parameters_[name], value, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(probabilities.compute(), on_numpy.predict_proba(X.T), atol=1e-12)
    assert predicted.compute().tolist() == on_numpy.predict(X.T).tolist()
    assert on_dask.score(samples, labels) == on_numpy.score(X.T, labels)


def test_what_a_dask_x_cannot_train_with_is_refused_by_name():
    X, Y = flower()
    lazy = da.from_array(X, chunks=(2, 100))
    with pytest.raises(ValueError, match="train: mini-batches of a Dask X .* mini_batch_size"):
        networks.train(lazy, Y, [2, 3, 1], mini_batch_size=64)
    with pytest.raises(ValueError, match="train: compile=False cannot train on a Dask X"):
        networks.train(lazy, Y, [2, 3, 1], compile=False)
    with pytest.raises(
        ValueError, match=r"train: a gradient recorder that reads .*GradientFlow\(nodes=False\)"
    ):
        networks.train(lazy, Y, [2, 3, 1], gradient_flow=cg.GradientFlow(nodes=True))
    flow = cg.GradientFlow(every=2)  # parameter gradients only: it records out of core
    networks.train(lazy, Y, [2, 3, 1], num_iterations=4, gradient_flow=flow)
    assert flow.iterations == [0, 2] and all(np.isfinite(flow.norms["W1"]))
    with pytest.raises(cg.DataError, match="2-D float32 or float64 array"):
        networks.train(lazy.astype(int), Y, [2, 3, 1])
    with pytest.raises(TypeError, match="forward records its graph in memory .* Dask X"):
        networks.forward(lazy, networks.initialize_parameters([2, 3, 1]))
    with pytest.raises(ValueError, match="batch_size at None"):
        networks.NetworkClassifier(batch_size=32).fit(lazy.T, Y[0])

    class InMemory(BinaryClassifier):
        pass

    with pytest.raises(TypeError, match="InMemory.fit cannot fit a Dask X"):
        InMemory().fit(lazy.T, Y[0])


def test_nan_in_a_dask_x_is_blamed_on_the_data_not_an_op():
    X, Y = flower()
    X[1, 7] = np.nan
    with pytest.raises(cg.DataError, match="X holds NaN or inf"):
        networks.train(da.from_array(X, chunks=(2, 100)), Y, [2, 3, 1], num_iterations=5)


@contextlib.contextmanager
def one_worker_cluster():
    """A dask.distributed cluster of one single-threaded worker in this process, as client."""
    distributed_ = pytest.importorskip("dask.distributed", reason="in the dask extra")
    with (
        distributed_.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed_.Client(cluster),
    ):
        yield


def with_peak_memory(run):
    """``run()``'s result and the peak of the memory traced while it ran, in bytes."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_fit_on_a_local_cluster_never_holds_x_and_its_gradients_are_numpys():
    m, n, rows = 80_000, 200, 10_000  # X: 128 MB in 8 chunks of 16 MB, made by the worker
    X = da.random.default_rng(0).normal(size=(m, n), chunks=(rows, n))
    y = (X[:, 0] > 0).astype(np.float64)
    with one_worker_cluster():
        start = time.perf_counter()
        (w, b, costs), peak = with_peak_memory(
            lambda: distributed.fit_logistic(X, y, learning_rate=0.5, num_iterations=3)
        )
        elapsed = time.perf_counter() - start
        # X is made, read and dropped chunk by chunk, and the trace ran on a broadcast 1
        # (compgraph.node.broadcast_leaf): this process never held X, nor half of it
        assert peak < X.nbytes / 2, (peak, X.nbytes, elapsed)
        assert costs[-1] < costs[0]
        # the gradient at the fitted point on a slice that fits, against NumPy's
        part, labels = X[:20_000], y[:20_000].reshape(1, -1)
        (J, (dw, db)) = distributed.logistic_gradients(w, np.float64(b), part.T, labels)
        J, dw, db = dask.compute(J, dw, db)
    X_part, Y_part = part.compute().T, labels.compute()
    expected_J, (expected_dw, expected_db) = cg.value_and_grad(distributed._cost, argnums=(0, 1))(
        w, b, X_part, Y_part
    )
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(db, expected_db, rtol=1e-10)
    np.testing.assert_allclose(J, expected_J, rtol=1e-12)


def network_cost(parameters, X, Y):
    """The course's deep network's cost, from its public functions."""
    return networks.compute_cost(networks.forward(X, parameters), Y)


@pytest.mark.slow
def test_a_network_trains_on_a_local_cluster_never_holding_x_with_numpys_gradients():
    m, n, rows = 40_000, 400, 5_000  # X: 128 MB in 8 chunks of 16 MB, made by the worker
    samples = da.random.default_rng(1).normal(size=(m, n), chunks=(rows, n))
    X = samples.T  # examples as columns, lazily
    Y = (samples[:, 0] + samples[:, 1] > 0).astype(np.float64).reshape(1, -1)
    layers = [n, 4, 3, 1]
    with one_worker_cluster():
        (parameters, _), peak = with_peak_memory(
            lambda: networks.train(X, Y, layers, 0.05, 3, optimizer="adam", initialization="he")
        )
        # X is made, read and dropped chunk by chunk; the trace's per-example arrays are
        # (units, m), 1/100 of X each: this process never held X, nor half of it
        assert peak < X.nbytes / 2, (peak, X.nbytes)
        # the gradient at the trained point on a slice that fits, against NumPy's
        part, labels = X[:, :8_000], Y[:, :8_000].compute()
        # compute_cost checks the labels' values: they are the compiled code's constant
        gradients = cg.compile(cg.grad(lambda p, X: network_cost(p, X, labels)))(parameters, part)
        (gradients,) = dask.compute(gradients)
    expected = cg.grad(network_cost)(parameters, part.compute(), labels)
    start = networks.initialize_parameters(layers, initialization="he")
    for name, value in expected.items():
        assert np.abs(parameters[name] - start[name]).max() > 1e-3  # it trained
        np.testing.assert_allclose(gradients[name], value, rtol=1e-10, atol=1e-15)


def test_a_dask_x_of_unknown_chunk_sizes_is_refused_naming_the_fix():
    X, Y = flower(m=40)
    samples = da.from_array(X.T, chunks=(10, 2))
    masked = samples[samples[:, 0] > 0]  # a boolean mask: Dask no longer knows the rows
    fix = r"unknown chunk sizes .* X\.compute_chunk_sizes\(\)"
    with pytest.raises(cg.ShapeError, match=f"LogisticRegression.fit: X has {fix}"):
        LogisticRegression(learning_rate=0.5, num_iterations=2).fit(masked, np.ones(20))
    with pytest.raises(cg.ShapeError, match=f"NetworkClassifier.fit: X has {fix}"):
        networks.NetworkClassifier(num_iterations=2).fit(masked, masked[:, 1] > 0)
    with pytest.raises(cg.ShapeError, match=f"train: X has {fix}"):
        networks.train(masked.T, np.ones((1, 20)), [2, 3, 1], num_iterations=2)
    with pytest.raises(cg.ShapeError, match=f"predict: X has {fix}"):
        networks.predict(networks.initialize_parameters([2, 3, 1]), masked.T)
    # the estimators predict chunk by chunk, which needs no count of the rows
    model = LogisticRegression(learning_rate=0.5, num_iterations=2).fit(X.T, Y[0])
    kept = X.T[X.T[:, 0] > 0]
    assert model.predict(masked).compute().tolist() == model.predict(kept).tolist()


def test_decision_function_on_dask_is_lazy_and_equals_numpys():
    X, Y = flower(m=40)
    model = LogisticRegression(learning_rate=0.5, num_iterations=5).fit(X.T, Y[0])
    scheduler = CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        lazy = model.decision_function(da.from_array(X.T, chunks=(10, 1)))
        assert scheduler.computes == 0 and isinstance(lazy, da.Array)
        logits = lazy.compute()
    np.testing.assert_array_equal(logits, model.decision_function(X.T))


def test_a_dask_x_of_text_or_complex_is_refused_as_numpys_is():
    X, Y = flower(m=40)
    model = LogisticRegression(learning_rate=0.5, num_iterations=2)
    with pytest.raises(cg.DTypeError, match="LogisticRegression.fit: X has dtype <U1; it must"):
        model.fit(da.from_array(np.where(X.T > 0, "a", "b"), chunks=(10, 2)), Y[0])
    with pytest.raises(cg.DataError, match="LogisticRegression.fit: X holds complex numbers"):
        model.fit(da.from_array(X.T + 1j, chunks=(10, 2)), Y[0])


def test_what_the_estimators_cannot_fit_on_dask_is_refused_in_their_name():
    X, Y = flower(m=40)
    with pytest.raises(ValueError, match="LogisticRegression.fit: compile=False cannot train"):
        LogisticRegression(learning_rate=0.5, num_iterations=2, compile=False).fit(
            da.from_array(X.T, chunks=(10, 2)), Y[0]
        )


def test_a_run_diverging_on_dask_is_reported_as_divergence_not_as_an_op():
    X, Y = flower(m=40)
    with (
        np.errstate(all="ignore"),
        pytest.raises(cg.NonFiniteError, match=r"training on a Dask X: .* learning_rate") as error,
    ):
        networks.train(
            da.from_array(X * 1e3, chunks=(2, 20)), Y, [2, 3, 1], num_iterations=3,
            learning_rate=1e100, hidden="relu",
        )  # fmt: skip
    assert "X and Y are finite" in str(error.value)


def test_fit_logistic_checks_its_data_by_name():
    X, Y = flower(m=40)
    samples, y = da.from_array(X.T, chunks=(10, 2)), Y[0]
    fit = distributed.fit_logistic
    with pytest.raises(cg.DataError, match="fit_logistic: y must hold the labels 0 and 1 only"):
        fit(samples, np.arange(40) % 3, 0.5, 2)  # three classes trained silently before
    with pytest.raises(cg.ShapeError, match=r"fit_logistic: y has shape \(30,\) but X has 40"):
        fit(samples, y[:30], 0.5, 2)
    with pytest.raises(cg.DTypeError, match="fit_logistic: y has dtype <U1"):
        fit(samples, np.where(y == 1, "a", "b"), 0.5, 2)
    with pytest.raises(cg.DataError, match="fit_logistic: a Dask X must be a 2-D float"):
        fit(samples.astype(int), y, 0.5, 2)
    with pytest.raises(cg.ShapeError, match="fit_logistic: X has unknown chunk sizes"):
        fit(samples[samples[:, 0] > 0], np.ones(20), 0.5, 2)
    holed = X.T.copy()
    holed[3, 1] = np.nan
    with pytest.raises(cg.DataError, match="X holds NaN or inf"):
        fit(da.from_array(holed, chunks=(10, 2)), y, 0.5, 2)


def test_a_dask_x_of_float16_is_refused_naming_the_dtypes_it_takes():
    X, Y = flower(m=40)
    with pytest.raises(
        cg.DataError, match=r"train: a Dask X must be .*float32 or float64.*float16"
    ):
        networks.train(da.from_array(X.astype(np.float16), chunks=(2, 20)), Y, [2, 3, 1])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "score"])
def test_predicting_on_dask_before_fit_is_refused_as_on_numpy(method):
    X = da.ones((4, 2), chunks=2)
    arguments = (X, np.ones(4)) if method == "score" else (X,)
    named = "predict" if method == "score" else method  # score predicts first, as on NumPy
    with pytest.raises(cg.NotFittedError, match=f"LogisticRegression.{named}: this .* not fitted"):
        getattr(LogisticRegression(), method)(*arguments)


def test_sigmoid_of_very_negative_values_on_dask_is_silent_as_eager_is():
    # e^1000 overflows to inf, which gives the exact limit 0: NumPy eager silences it, and
    # Dask's threads (out of reach of the caller's errstate) must not warn either
    step = cg.compile(lambda x: cg.sum(cg.sigmoid(x)))
    x = np.array([-1000.0, 0.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert step(da.from_array(x, chunks=1)).compute() == step(x)


def test_a_float16_array_is_refused_naming_the_dtypes_a_trace_keeps():
    step = cg.compile(lambda x: cg.sum(x))
    with pytest.raises(TypeError, match="traces float32 and float64 arrays; got a dask Array"):
        step(da.ones(3, dtype=np.float16, chunks=1))


def test_lazy_predictions_keep_the_fit_they_were_asked_of():
    # a model fitted again before the tasks run (a cross-validation loop) must not change them
    X, y = data()
    model = LogisticRegression(learning_rate=0.5, num_iterations=5).fit(X, y)
    lazy = da.from_array(X, chunks=(150, 4))
    probabilities, labels = model.predict_proba(lazy), model.predict(lazy)
    before = model.predict_proba(X), model.predict(X)
    model.fit(X, 1 - y)
    # (a chunk's matrix product may round its last bit differently from the whole X's)
    np.testing.assert_allclose(probabilities.compute(), before[0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(labels.compute(), before[1])


def test_networks_predict_on_dask_refuses_inf_as_numpy_does():
    X, Y = flower(m=60)
    parameters, _ = networks.train(X, Y, [2, 3, 1], 0.5, 5, hidden="tanh")
    X[1, 7] = np.inf  # tanh(inf) = 1 keeps every result finite: only X can be blamed
    with pytest.raises(cg.DataError, match="predict: X .*contains NaN or inf"):
        networks.predict(parameters, X, hidden="tanh")
    lazy = networks.predict(parameters, da.from_array(X, chunks=(2, 20)), hidden="tanh")
    with pytest.raises(cg.DataError, match="predict: X .*contains NaN or inf"):
        lazy.compute()
