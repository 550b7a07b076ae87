"""The training loop compiles its step (issue 23) and keeps eager's numbers bit for bit.

Every model is trained twice, ``compile=True`` and ``compile=False``, over a few hundred
steps, and the parameters, costs and gradients must agree to the last bit; the loop's
``TrainingResult`` says how many signatures were traced and how many steps ran compiled,
so a silent fallback to eager cannot pass for compiled training.
"""

import warnings

import numpy as np
import pytest

import compgraph as cg
from compgraph.models import logistic, networks
from compgraph.models.datasets import planar_flower
from compgraph.models.logistic import LogisticRegression, optimize
from compgraph.models.networks import NetworkClassifier, train
from compgraph.models.optimizers import GradientDescent
from compgraph.models.training import COMPILE_FROM_EPOCHS, run_training


def assert_same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert (a.dtype, a.shape) == (b.dtype, b.shape)
    assert a.tobytes() == b.tobytes()


def assert_same_parameters(first, second):
    assert list(first) == list(second)
    for name in first:
        assert_same_bits(first[name], second[name])


@pytest.fixture
def runs(monkeypatch):
    """Every TrainingResult the models' loop returns, in order (the models hide it)."""
    results = []

    def spy(*args, **kwargs):
        result = run_training(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(networks, "run_training", spy)
    monkeypatch.setattr(logistic, "run_training", spy)
    return results


def test_logistic_regression_compiled_is_eager_bit_for_bit(runs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 120))
    Y = (X[:1] - X[1:2] > 0).astype(float)
    w, b = np.zeros((30, 1)), 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TraceWarning (nor any other) in normal training
        compiled = optimize(w, b, X, Y, 300, 0.05, record_every=1, compile=True)
    eager = optimize(w, b, X, Y, 300, 0.05, record_every=1, compile=False)
    assert (runs[0].traces, runs[0].compiled_steps) == (1, 300)
    assert (runs[1].traces, runs[1].compiled_steps) == (0, 0)
    assert_same_bits(compiled[0]["w"], eager[0]["w"])
    assert_same_bits(compiled[0]["b"], eager[0]["b"])
    assert_same_bits(compiled[1]["dw"], eager[1]["dw"])
    assert_same_bits(compiled[1]["db"], eager[1]["db"])
    assert_same_bits(compiled[2], eager[2])


def test_the_logistic_estimator_compiles_with_the_same_fit(runs):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "cat", "non-cat")
    compiled = LogisticRegression(learning_rate=0.1, num_iterations=200).fit(X, y)
    eager = LogisticRegression(learning_rate=0.1, num_iterations=200, compile=False).fit(X, y)
    assert runs[0].compiled_steps == 200 and runs[1].compiled_steps == 0
    assert_same_bits(compiled.coef_, eager.coef_)
    assert_same_bits(compiled.intercept_, eager.intercept_)
    assert_same_bits(compiled.cost_history_, eager.cost_history_)


NETWORK_RUNS = {
    "tanh": {"hidden": "tanh"},
    "relu with l2": {"hidden": "relu", "l2": 0.7, "scale": "sqrt"},
    "dropout": {"hidden": "relu", "keep_prob": 0.8, "scale": "sqrt"},
    "fixed dropout masks": {"hidden": "tanh", "keep_prob": 0.7, "fixed_dropout_masks": True},
    "momentum": {"hidden": "tanh", "optimizer": "momentum", "beta": 0.8},
    "rmsprop": {"hidden": "relu", "optimizer": "rmsprop", "scale": "sqrt"},
    "adam": {"hidden": "tanh", "optimizer": "adam", "initialization": "he"},
}


@pytest.mark.parametrize("settings", NETWORK_RUNS.values(), ids=NETWORK_RUNS.keys())
def test_networks_compiled_are_eager_bit_for_bit(runs, settings):
    X, Y = planar_flower()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = train(X, Y, [2, 5, 3, 1], 0.05, 300, compile=True, **settings)
    eager = train(X, Y, [2, 5, 3, 1], 0.05, 300, compile=False, **settings)
    assert (runs[0].traces, runs[0].compiled_steps) == (1, 300)
    assert runs[1].compiled_steps == 0
    assert_same_parameters(compiled[0], eager[0])
    assert_same_bits(compiled[1], eager[1])
    for name in runs[0].gradients:
        assert_same_bits(runs[0].gradients[name], runs[1].gradients[name])
        assert not runs[0].gradients[name].flags.writeable  # read-only, as eager's are


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_mini_batches_trace_once_per_batch_shape(runs, optimizer):
    X, Y = planar_flower()  # 400 examples: six batches of 64 and a last one of 16
    settings = {
        "hidden": "tanh", "optimizer": optimizer, "mini_batch_size": 64, "num_epochs": 40,
        "decay_rate": 0.5, "time_interval": 10, "keep_prob": 0.9,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = train(X, Y, [2, 4, 1], 0.01, compile=True, **settings)
    eager = train(X, Y, [2, 4, 1], 0.01, compile=False, **settings)
    assert runs[0].steps == 40 * 7
    assert (runs[0].traces, runs[0].compiled_steps) == (2, 40 * 7)
    assert_same_parameters(compiled[0], eager[0])
    assert_same_bits(compiled[1], eager[1])


def test_the_network_estimator_compiles_with_the_same_fit(runs):
    X, Y = planar_flower()
    compiled = NetworkClassifier(num_iterations=200).fit(X.T, Y[0])
    eager = NetworkClassifier(num_iterations=200, compile=False).fit(X.T, Y[0])
    assert runs[0].compiled_steps == 200 and runs[1].compiled_steps == 0
    assert_same_parameters(compiled.parameters_, eager.parameters_)
    assert compiled.costs_ == eager.costs_


def test_short_runs_stay_eager_and_long_runs_compile_by_default(runs):
    X, Y = planar_flower()
    train(X, Y, [2, 4, 1], 1.2, COMPILE_FROM_EPOCHS - 1, hidden="tanh")
    train(X, Y, [2, 4, 1], 1.2, COMPILE_FROM_EPOCHS, hidden="tanh")
    assert [run.traces for run in runs] == [0, 1]
    assert runs[1].compiled_steps == COMPILE_FROM_EPOCHS


def test_a_gradient_recorder_sees_eager_graphs_only_where_it_reads_them(runs):
    X, Y = planar_flower()
    plain, _ = train(X, Y, [2, 4, 1], 1.2, 150, hidden="tanh", compile=True)

    class EveryGraph:  # declares nothing: it may read any step's graph
        def __init__(self):
            self.roots = 0

        def record(self, iteration, parameters, root):
            self.roots += root.parents != ()

    recorders = {
        "graphs": EveryGraph(),
        "norms": cg.GradientFlow(),  # parameter gradients only: every step compiled
        "node norms": cg.GradientFlow(nodes=True),  # the graph of every 10th step
    }
    for recorder in recorders.values():
        parameters, _ = train(X, Y, [2, 4, 1], 1.2, 150, hidden="tanh", gradient_flow=recorder)
        assert_same_parameters(parameters, plain)
    graphs, norms, node_norms = runs[-3:]
    assert graphs.compiled_steps == 0 and recorders["graphs"].roots == 150
    assert norms.compiled_steps == 150 and len(recorders["norms"].norms["W1"]) == 15
    # eager at the 15 recorded steps, each with its graph's node norms
    assert node_norms.compiled_steps == 135
    flow = recorders["node norms"]
    assert len(flow.norms["W1"]) == 15 and len(flow.node_norms["Z1"]) == 15
    assert not np.isnan(flow.node_norms["Z1"]).any()


def test_a_cost_that_cannot_be_traced_trains_eagerly_without_a_warning():
    X, Y = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 4.0, 6.5]])

    def branching(nodes, X, Y):  # a Python decision on a value: refused by tracing
        J = ((nodes["w"] * X - Y) ** 2).mean()
        return J * 2.0 if J.item() > 1.0 else J

    outside = cg.Node(np.array(0.5), name="scale")

    def reads_a_value(nodes, X, Y):  # a Node from outside: the trace would freeze it
        return ((nodes["w"] * X - Y) ** 2).mean() * outside

    for cost in (branching, reads_a_value):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compiled = run_training(
                cost, {"w": 0.0}, X, Y, GradientDescent(0.01), 120, compile=True
            )
        eager = run_training(cost, {"w": 0.0}, X, Y, GradientDescent(0.01), 120, compile=False)
        assert compiled.compiled_steps == 0
        assert_same_bits(compiled.parameters["w"], eager.parameters["w"])
        assert compiled.costs == eager.costs


def test_a_compiled_step_that_differs_from_eager_is_given_up(monkeypatch):
    real_compile = cg.compile

    def off_by_one_ulp(fn):  # a stand-in compiler whose gradients are one ulp off
        compiled = real_compile(fn)

        class Wrong:
            @property
            def traces(self):
                return compiled.traces

            def __call__(self, *args):
                J, gradients = compiled(*args)
                return J, {k: np.nextafter(g, np.inf) for k, g in gradients.items()}

        return Wrong()

    monkeypatch.setattr(cg, "compile", off_by_one_ulp)
    X, Y = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 4.0, 6.5]])

    def cost(nodes, X, Y):
        return ((nodes["w"] * X - Y) ** 2).mean()

    checked = run_training(cost, {"w": 0.0}, X, Y, GradientDescent(0.01), 150, compile=True)
    eager = run_training(cost, {"w": 0.0}, X, Y, GradientDescent(0.01), 150, compile=False)
    assert checked.compiled_steps == 0
    assert_same_bits(checked.parameters["w"], eager.parameters["w"])


def test_integer_labels_are_traced_as_floats_once():
    X = np.array([[1.0, -2.0, 3.0, -0.5]])
    Y = np.array([[1, 0, 1, 0]])

    def cost(nodes, X, Y):
        return cg.mean(cg.sigmoid_cross_entropy(nodes["w"] * X + nodes["b"], Y))

    start = {"w": 0.0, "b": 0.0}
    compiled = run_training(cost, start, X, Y, GradientDescent(0.1), 200, compile=True)
    eager = run_training(cost, start, X, Y, GradientDescent(0.1), 200, compile=False)
    assert (compiled.traces, compiled.compiled_steps) == (1, 200)
    assert_same_parameters(compiled.parameters, eager.parameters)


@pytest.mark.parametrize("setting", ["yes", 1, 0.0])
def test_the_switch_must_be_a_bool_or_none(setting):
    X, Y = planar_flower()
    with pytest.raises(TypeError, match=r"train: compile must be True .*False .*or None"):
        train(X, Y, [2, 4, 1], 1.2, 10, compile=setting)
    with pytest.raises(TypeError, match=r"optimize: compile must be"):
        optimize(np.zeros((2, 1)), 0.0, X, Y, 10, compile=setting)


def test_the_estimators_watch_reads_values_so_its_steps_compile(monkeypatch):
    """The estimators' TrainingWatch needs no graph (it is run_training's stop hook): early
    stops and divergence reports are eager's, at the same step, with compiled steps."""
    made = []  # count compilations
    real_compile = cg.compile
    monkeypatch.setattr(cg, "compile", lambda fn: made.append(real_compile(fn)) or made[-1])
    X, Y = planar_flower()
    stopping = {"num_iterations": 3000, "tol": 1e-3, "n_iter_no_change": 20}
    compiled = NetworkClassifier(**stopping).fit(X.T, Y[0])
    assert len(made) == 1 and made[0].traces == 1
    eager = NetworkClassifier(**stopping, compile=False).fit(X.T, Y[0])
    assert len(made) == 1
    assert compiled.n_iter_ == eager.n_iter_ < 3000  # stopped early, at the same step
    assert_same_parameters(compiled.parameters_, eager.parameters_)
    assert compiled.costs_ == eager.costs_
    errors = []
    for setting in (True, False):
        model = NetworkClassifier(
            (), learning_rate=1e305, num_iterations=60, standardize=False, compile=setting
        )
        with pytest.raises(cg.NonFiniteError) as error:
            model.fit([[0.0], [1e4], [2e4], [3e4]], [0, 1, 0, 1])
        errors.append(str(error.value))
    assert errors[0] == errors[1] and "diverged at step" in errors[0]
