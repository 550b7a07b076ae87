"""Compiled steps on Dask (issue 21): nothing computed until the user computes, one compute
per training step, the estimator's numbers, and a fit on a LocalCluster whose X this process
never holds."""

import time
import tracemalloc

import numpy as np
import pytest

import compgraph as cg
from compgraph.models import distributed
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


@pytest.mark.slow
def test_a_fit_on_a_local_cluster_never_holds_x_and_its_gradients_are_numpys():
    distributed_ = pytest.importorskip("dask.distributed", reason="in the dask extra")
    m, n, rows = 80_000, 200, 10_000  # X: 128 MB in 8 chunks of 16 MB, made by the worker
    X = da.random.default_rng(0).normal(size=(m, n), chunks=(rows, n))
    y = (X[:, 0] > 0).astype(np.float64)
    with (
        distributed_.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed_.Client(cluster),
    ):
        tracemalloc.start()
        try:
            start = time.perf_counter()
            w, b, costs = distributed.fit_logistic(X, y, learning_rate=0.5, num_iterations=3)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
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
