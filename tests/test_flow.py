"""cg.GradientFlow: gradient norms recorded during training, and their plot."""

import math

import matplotlib
import numpy as np
import pytest

import compgraph as cg
from compgraph.models.logistic import optimize, propagate
from compgraph.pictures.flow import gradient_norm

matplotlib.use("Agg")


def quadratic_steps(flow, iterations, w=1.0, learning_rate=0.25, every_node=False):
    """Gradient descent on J = Σ (w - 3)² with w a (2,) vector, recorded by ``flow``."""
    w = np.array([w, -w])
    for i in range(iterations):
        w_node = cg.Node(w, name="w")
        b_node = cg.Node(0.5, name="b")
        J = cg.sum((w_node - 3) ** 2) + b_node * b_node
        J.name = "J"
        J.backward()
        flow.record(i, {"w": w_node, "b": b_node}, root=J)
        w = w - learning_rate * w_node.grad
    return flow


def test_records_every_every_iterations_the_gradient_norms():
    flow = quadratic_steps(cg.GradientFlow(every=10), 25)
    assert flow.iterations == [0, 10, 20]
    # dJ/dw = 2(w - 3) halves every step (lr 0.25), from (-4, -8): norm √80 · 2^-i.
    expected = [math.sqrt(80) * 0.5**i for i in (0, 10, 20)]
    assert flow.norms["w"] == pytest.approx(expected, rel=1e-12)
    assert flow.norms["b"] == [1.0, 1.0, 1.0]
    assert flow.node_norms == {}


def test_record_says_whether_it_recorded():
    flow = cg.GradientFlow(every=3)
    w = cg.Node(2.0, name="w")
    (w * w).backward()
    recorded = [flow.record(i, {"w": w}) for i in range(7)]
    assert recorded == [True, False, False, True, False, False, True]


def test_every_node_by_stable_label():
    flow = quadratic_steps(cg.GradientFlow(every=1, nodes=True), 3)
    labels = list(flow.node_norms)
    assert labels == ["w", "b", "const#2", "sub#3", "const#4", "pow#5", "sum#6", "mul#7", "J"]
    assert all(len(norms) == 3 for norms in flow.node_norms.values())
    assert flow.node_norms["J"] == [1.0, 1.0, 1.0]
    assert flow.node_norms["w"] == flow.norms["w"]
    assert all(math.isnan(norm) for norm in flow.node_norms["const#2"])  # constants: no gradient
    # d J/d(sub) = 2 (w - 3), the same norm as dJ/dw.
    assert flow.node_norms["sub#3"] == pytest.approx(flow.norms["w"], rel=1e-15)


def test_nodes_a_later_graph_lacks_are_nan():
    flow = cg.GradientFlow(every=1, nodes=True)
    for i, depth in enumerate([2, 1, 2]):
        w = cg.Node(2.0, name="w")
        J = w
        for _ in range(depth):
            J = J * w
        J.backward()
        flow.record(i, {"w": w}, root=J)
    assert list(flow.node_norms) == ["w", "mul#1", "mul#2"]
    assert flow.node_norms["w"] == [12.0, 4.0, 12.0]
    assert flow.node_norms["mul#2"][0] == 1.0 and math.isnan(flow.node_norms["mul#2"][1])
    assert flow.node_norms["mul#1"] == [2.0, 1.0, 2.0]


def test_gradient_norm_neither_overflows_nor_hides_nan():
    assert gradient_norm(np.array([3e300, 4e300])) == pytest.approx(5e300, rel=1e-15)
    assert gradient_norm(np.float64(-2.0)) == 2.0
    assert gradient_norm(np.zeros((2, 2))) == 0.0 and gradient_norm(np.zeros(0)) == 0.0
    assert math.isnan(gradient_norm(np.array([1.0, np.nan])))
    assert gradient_norm(np.array([1.0, -np.inf])) == math.inf


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("every", [0, -5, 2.0, True])
def test_bad_every_is_refused(every):
    with pytest.raises(ValueError, match="GradientFlow: every must be a positive int"):
        cg.GradientFlow(every=every)


def test_record_refuses_what_would_make_a_wrong_record():
    flow = cg.GradientFlow(every=1)
    w = cg.Node(2.0, name="w")
    with pytest.raises(ValueError, match=r"parameter 'w' .* has no gradient; call J.backward\(\)"):
        flow.record(0, {"w": w})
    (w * w).backward()
    with pytest.raises(TypeError, match="iteration must be an int, got float"):
        flow.record(0.0, {"w": w})
    with pytest.raises(TypeError, match="parameter 'w' is a ndarray, not a Node"):
        flow.record(0, {"w": w.value})
    with pytest.raises(TypeError, match="parameters must be a non-empty dict"):
        flow.record(0, [w])
    assert flow.record(0, {"w": w})
    with pytest.raises(ValueError, match="iteration 0 must be >= 0 and come after 0"):
        flow.record(0, {"w": w})
    with pytest.raises(
        ValueError, match=r"parameters \['v', 'w'\] differ from the first record's \['w'\]"
    ):
        flow.record(1, {"w": w, "v": w})
    with pytest.raises(ValueError, match="nodes=True records every node of the graph: pass root=J"):
        cg.GradientFlow(nodes=True).record(0, {"w": w})
    assert flow.iterations == [0] and flow.norms == {"w": [4.0]}  # failed calls stored nothing


# -- the plot ---------------------------------------------------------------------------------


def test_plot_draws_one_line_per_parameter_on_a_log_scale():
    import matplotlib.pyplot as plt

    flow = quadratic_steps(cg.GradientFlow(every=2), 12)
    ax = flow.plot()
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "iteration"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"w", "b"}
    assert list(lines["w"].get_xdata()) == flow.iterations
    assert list(lines["w"].get_ydata()) == flow.norms["w"]
    figure, given = plt.subplots()
    assert flow.plot(given) is given
    with_nodes = quadratic_steps(cg.GradientFlow(every=2, nodes=True), 4)
    node_lines = with_nodes.plot(nodes=True).get_lines()
    assert [line.get_label() for line in node_lines] == list(with_nodes.node_norms)
    assert figure is given.figure
    plt.close("all")


def test_plotting_nothing_says_what_to_do():
    with pytest.raises(ValueError, match=r"no gradients recorded yet; call record\(\) first"):
        cg.GradientFlow().plot()
    flow = quadratic_steps(cg.GradientFlow(every=1), 2)
    with pytest.raises(ValueError, match="create the flow with nodes=True"):
        flow.plot(nodes=True)


# -- wired into training ----------------------------------------------------------------------


def test_logistic_optimize_records_the_gradient_flow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 20))
    Y = (rng.random((1, 20)) > 0.5).astype(float)
    w0, b0 = np.zeros((3, 1)), 0.0
    flow = cg.GradientFlow(every=5, nodes=True)
    params, _, _ = optimize(w0, b0, X, Y, num_iterations=12, learning_rate=0.1, gradient_flow=flow)
    assert flow.iterations == [0, 5, 10]
    first, _ = propagate(w0, b0, X, Y)
    assert flow.norms["w"][0] == pytest.approx(np.linalg.norm(first["dw"]), rel=1e-14)
    assert flow.norms["b"][0] == pytest.approx(abs(first["db"]), rel=1e-14)
    assert flow.node_norms["J"] == [1.0, 1.0, 1.0] and "z" in flow.node_norms
    # Recording changes nothing about the training itself.
    same, _, _ = optimize(w0, b0, X, Y, num_iterations=12, learning_rate=0.1)
    np.testing.assert_array_equal(params["w"], same["w"])


def test_logistic_optimize_refuses_a_flow_without_record():
    X, Y = np.ones((2, 3)), np.array([[1.0, 0.0, 1.0]])
    with pytest.raises(TypeError, match=r"gradient_flow must have a record\(iteration"):
        optimize(np.zeros((2, 1)), 0.0, X, Y, gradient_flow=[])


def test_gradients_that_are_graphs_are_recorded_by_value():
    x = cg.Node(-3.0, name="x")
    y = x * x * x
    y.backward(create_graph=True)
    flow = cg.GradientFlow(every=1, nodes=True)
    flow.record(0, {"x": x}, root=y)
    assert flow.norms == {"x": [27.0]} and flow.node_norms["x"] == [27.0]


def test_networks_train_records_every_layers_gradient_flow():
    from compgraph.models import networks

    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 40))
    Y = (X[:1] * X[1:] > 0).astype(float)
    flow = cg.GradientFlow(every=25, nodes=True)
    networks.train(X, Y, [2, 4, 3, 1], 0.5, 60, hidden="tanh", gradient_flow=flow)
    assert flow.iterations == [0, 25, 50]
    assert sorted(flow.norms) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert all(len(norms) == 3 and all(n > 0 for n in norms) for norms in flow.norms.values())
    assert flow.node_norms["W1"] == flow.norms["W1"]


# -- the training loop's gradients, any names, names drawn literally (issues 24, 25) -------------


def test_record_takes_the_gradients_the_loop_computed():
    flow = cg.GradientFlow(every=1)
    w = cg.Node([3.0, 4.0], name="w")  # no backward: the gradients come with the call
    assert flow.record(0, {"w": w}, gradients={"w": np.array([6.0, 8.0])})
    assert flow.record(1, {"w": None}, gradients={"w": np.array([0.0, 0.5])})
    assert flow.norms == {"w": [10.0, 0.5]}
    with pytest.raises(ValueError, match=r"gradients must be a dict with the parameters' names"):
        flow.record(2, {"w": w}, gradients={"v": np.ones(2)})


def test_training_hands_the_flow_the_same_gradients_either_way():
    from compgraph.models import networks

    X, Y = np.array([[0.5, -1.0, 2.0]]), np.array([[1, 0, 1]])
    flow = cg.GradientFlow(every=1)
    networks.train(X, Y, [1, 2, 1], 0.1, 3, gradient_flow=flow)
    parameters = networks.initialize_parameters([1, 2, 1])
    grads, _ = networks.propagate(X, Y, parameters)
    assert flow.norms["W1"][0] == pytest.approx(np.linalg.norm(grads["dW1"]), rel=1e-15)


def test_names_that_are_not_strings_stay_apart_across_records():
    flow = cg.GradientFlow(every=1)
    for i in range(3):
        a, b = cg.Node(1.0 + i), cg.Node(2.0)
        (a * b).backward()
        assert flow.record(i, {1: a, "1": b})
    assert flow.norms == {1: [2.0, 2.0, 2.0], "1": [1.0, 2.0, 3.0]}
    with pytest.raises(ValueError, match=r"parameters \['1', 2\] differ from the first record's"):
        flow.record(3, {"1": a, 2: b})


def test_names_with_dollars_are_drawn_literally():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from compgraph.models.logistic import plot_costs

    flow = cg.GradientFlow(every=1)
    for i in range(2):
        w, v = cg.Node(2.0 + i, name="cost $"), cg.Node(1.0)
        (w * v).backward()
        flow.record(i, {"price in $": w, "a$_$b": v, "_private": w})
    figure = Figure()
    FigureCanvasAgg(figure)
    axes = flow.plot(ax=figure.add_subplot())
    figure.canvas.draw()  # mathtext would raise here on an odd "$"
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == [r"price in \$", r"a\$_\$b", "\u200b_private"]
    figure = Figure()
    FigureCanvasAgg(figure)
    with pytest.warns(RuntimeWarning, match="run '\\$x\\^\\$' diverged"):
        plot_costs({"α = 0.5 $": [0.7, 0.5], "$x^$": [0.7, 0.9]}, ax=figure.add_subplot())
    figure.canvas.draw()
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == [r"α = 0.5 \$", r"\$x^\$ (diverged)"]
