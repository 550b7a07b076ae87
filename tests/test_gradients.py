"""``cg.gradients``: the pure gradient function at the engine's boundary, and its observer.

``backward()`` is a thin layer over the same pass; these tests hold the two to each other and
check that ``gradients`` writes nothing."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings

import compgraph as cg
from compgraph.checks.testing import graphs
from compgraph.graph import topological_order


def lesson():
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    v = a + u
    J = 3 * v
    return J, (a, b, c), (u, v)


def test_the_lessons_gradients_in_the_order_asked_for():
    J, (a, b, c), _ = lesson()
    assert cg.gradients(J, [a, b, c]) == (3.0, 6.0, 9.0)
    assert cg.gradients(J, (c, a)) == (9.0, 3.0)
    assert cg.gradients(J, {"db": b, "da": a}) == {"db": 6.0, "da": 3.0}
    assert cg.gradients(J, c) == 9.0


def test_gradients_write_no_grad_attribute():
    J, leaves, intermediates = lesson()
    cg.gradients(J, [*leaves, *intermediates])
    assert all(node.grad is None for node in topological_order(J))
    J.backward()
    before = {node: node.grad for node in topological_order(J)}
    cg.gradients(2 * J, list(leaves))  # another pass over the same nodes changes nothing
    assert all(node.grad is before[node] for node in before)


def test_intermediate_nodes_have_gradients_too():
    J, _, (u, v) = lesson()
    assert cg.gradients(J, [u, v]) == (3.0, 3.0)


def test_a_node_the_root_does_not_depend_on_gets_zeros_of_its_shape_and_dtype():
    x = cg.Node(np.ones((2, 3), dtype=np.float32), name="x")
    unused = cg.Node(np.ones(4), name="unused")
    (gx, gu) = cg.gradients(cg.sum(x * 2), [x, unused])
    assert gx.dtype == np.float32 and np.all(gx == 2)
    assert gu.shape == (4,) and np.all(gu == 0)
    (gu_node,) = cg.gradients(cg.sum(x * 2), [unused], create_graph=True)
    assert isinstance(gu_node, cg.Node) and np.all(gu_node.value == 0)


def test_a_root_of_constants_has_zero_gradients():
    x = cg.Node(3.0, name="x")
    constant = cg.Node(2.0, requires_grad=False) * 4
    assert cg.gradients(constant, [x]) == (0.0,)


def test_gradients_with_respect_to_a_node_that_records_nothing_is_refused():
    x = cg.Node(3.0, name="x", requires_grad=False)
    with pytest.raises(cg.BackwardError, match="'x' of shape \\(\\) does not require a gradient"):
        cg.gradients(x * x, [x])


def test_wrt_must_hold_nodes():
    x = cg.Node(3.0)
    with pytest.raises(TypeError, match="not a Node"):
        cg.gradients(x * x, [3.0])
    with pytest.raises(TypeError, match="wrt must be a Node"):
        cg.gradients(x * x, {x})


def test_returned_arrays_are_read_only_and_fresh_from_each_call():
    x = cg.Node(np.array([1.0, 2.0]), name="x")
    (g,) = cg.gradients(cg.sum(x * x), [x])
    with pytest.raises(ValueError):
        g[0] = 0.0
    assert cg.gradients(cg.sum(x * x), [x])[0] is not g


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_gradients_equal_backward_on_random_graphs(graph):
    leaves = [cg.Node(value, name=f"x{i}") for i, value in enumerate(graph.leaves)]
    out = graph(*leaves)
    found = cg.gradients(out, leaves)
    out.backward()
    for leaf, g in zip(leaves, found, strict=True):
        np.testing.assert_array_equal(g, leaf.grad)


@settings(max_examples=15, deadline=None)
@given(graphs())
def test_recorded_gradients_equal_backward_create_graph(graph):
    leaves = [cg.Node(value, name=f"x{i}") for i, value in enumerate(graph.leaves)]
    out = graph(*leaves)
    found = cg.gradients(out, leaves, create_graph=True)
    out.backward(create_graph=True)
    for leaf, g in zip(leaves, found, strict=True):
        assert isinstance(g, cg.Node)
        np.testing.assert_array_equal(g.value, leaf.grad.value)


def test_a_seed_weights_the_gradient():
    x = cg.Node(np.array([1.0, 2.0]), name="x")
    (g,) = cg.gradients(x * x, [x], grad=np.array([10.0, 100.0]))
    assert g.tolist() == [20.0, 400.0]
    with pytest.raises(cg.BackwardError, match="needs a seed"):
        cg.gradients(x * x, [x])


# -- the observer -------------------------------------------------------------------------------


def test_the_observer_sees_each_step_of_the_real_pass():
    J, (a, b, c), (u, v) = lesson()
    steps = []
    cg.gradients(J, [a, b, c], observe=steps.append)
    assert [step.node for step in steps] == [J, v, u]  # the root first, then back
    assert [float(step.grad) for step in steps] == [1.0, 3.0, 3.0]
    # J = 3 * v: the constant 3 needs no gradient (None), v gets 3.
    assert steps[0].input_grads[0] is None and steps[0].input_grads[1] == 3.0
    assert steps[1].input_grads == (3.0, 3.0)  # v = a + u
    assert steps[2].input_grads == (6.0, 9.0)  # u = b * c: dJ/db = 3·c, dJ/dc = 3·b


def test_the_observer_gets_gradients_fitted_to_each_input():
    w = cg.Node(np.ones((1, 3)), name="w")
    b = cg.Node(0.5, name="b")
    X = np.arange(6.0).reshape(3, 2)
    J = cg.sum(w @ X + b)
    steps = []
    gw, _ = cg.gradients(J, [w, b], observe=steps.append)
    add = next(step for step in steps if step.node.op is cg.ops.Add)
    assert np.shape(add.input_grads[1]) == () and add.input_grads[1] == 2.0  # b: summed back
    matmul = next(step for step in steps if step.node.op is cg.ops.Matmul)
    assert matmul.input_grads[0].shape == (1, 3) and matmul.input_grads[1] is None
    np.testing.assert_array_equal(matmul.input_grads[0], gw)


def test_the_observer_sees_a_recorded_pass_too():
    x = cg.Node(2.0, name="x")
    steps = []
    (g,) = cg.gradients(x**3, [x], create_graph=True, observe=steps.append)
    assert len(steps) == 1 and isinstance(steps[0].input_grads[0], cg.Node)
    assert float(steps[0].input_grads[0].value) == 12.0 == float(g.value)


def test_only_the_nodes_between_the_targets_and_the_root_are_walked():
    a, b = cg.Node(1.0, name="a"), cg.Node(2.0, name="b")
    side = cg.exp(b)  # needs no walk when only a's gradient is asked for
    J = a * 3 + side
    steps = []
    cg.gradients(J, [a], observe=steps.append)
    assert all(step.node is not side for step in steps)


# -- backward() is a layer over the same pass ---------------------------------------------------


def test_backward_fills_what_gradients_returns():
    J, leaves, intermediates = lesson()
    nodes = [*leaves, *intermediates]
    found = cg.gradients(J, nodes)
    J.backward()
    assert tuple(node.grad for node in nodes) == found


def test_threads_share_a_graph_without_a_lock_and_get_exact_gradients():
    x = cg.Node(np.linspace(-1, 1, 50), name="x")
    y = cg.Node(np.linspace(0, 2, 50), name="y")
    J = cg.sum(cg.tanh(x * y) + x**2)
    expected = cg.gradients(J, [x, y])
    results, errors = [], []

    def work():
        try:
            for _ in range(50):
                results.append(cg.gradients(J, [x, y]))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for gx, gy in results:
        np.testing.assert_array_equal(gx, expected[0])
        np.testing.assert_array_equal(gy, expected[1])


def test_backward_on_a_gradient_that_is_constant_says_its_derivatives_are_zero():
    """(3x)' = 3 does not depend on x: x.grad.backward() used to tell the user to set
    requires_grad=True, which it was (issue 20)."""
    x = cg.Node(1.0, name="x")
    (3 * x).backward(create_graph=True)
    slope = x.grad
    with pytest.raises(cg.BackwardError, match="derivatives are 0"):
        slope.backward()
    assert cg.gradients(slope, [x]) == (0.0,)


def test_a_node_seed_is_recorded_under_create_graph():
    """After (x²).backward(grad=v, create_graph=True), x.grad = 2x·v depends on v (issue 20)."""
    x = cg.Node([3.0, 4.0], name="x")
    v = cg.Node([1.0, 2.0], name="v")
    (x**2).backward(grad=v, create_graph=True)
    cg.sum(x.grad).backward()
    assert v.grad.tolist() == [6.0, 8.0]
    assert x.grad.tolist() == [2.0, 4.0]


def test_a_nonfinite_gradient_warning_names_the_users_line():
    x = cg.Node(0.0, name="x")
    y = cg.sqrt(x * 1.0 + 1.0) * 0 + cg.sqrt(x)
    with pytest.warns(cg.NonFiniteWarning) as caught:
        y.backward()
    assert all(record.filename == __file__ for record in caught)
