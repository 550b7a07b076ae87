"""The ops of real networks: the rules at kinks and ties, stability, and NumPy on Nodes.

Forward, vjp and second order of every op are checked from the table in test_ops.py; these
are the exact cases a table of random points does not reach."""

import warnings

import numpy as np
import pytest

import compgraph as cg


def grad_at(f, x):
    x = cg.Node(x)
    cg.sum(f(x)).backward()
    return x.grad


# -- kinks and ties: the documented rules (PyTorch's; JAX differs for abs and leaky_relu) ------


def test_relu_abs_and_leaky_relu_at_zero():
    x = np.array([-1.0, 0.0, 2.0])
    assert grad_at(cg.relu, x).tolist() == [0.0, 0.0, 1.0]
    assert grad_at(cg.abs, x).tolist() == [-1.0, 0.0, 1.0]
    assert grad_at(lambda v: cg.leaky_relu(v, slope=0.1), x).tolist() == [0.1, 0.1, 1.0]


def test_max_and_min_share_the_gradient_among_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(
        grad_at(lambda v: cg.max(v, axis=1), x), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    )
    assert grad_at(cg.min, np.array([2.0, 1.0, 1.0])).tolist() == [0.0, 0.5, 0.5]


def test_maximum_and_minimum_split_ties_in_half():
    x, y = cg.Node([1.0, 2.0, 3.0]), cg.Node([2.0, 2.0, 2.0])
    cg.sum(cg.maximum(x, y) + 10 * cg.minimum(x, y)).backward()
    assert x.grad.tolist() == [10.0, 5.5, 1.0] and y.grad.tolist() == [1.0, 5.5, 10.0]


def test_clip_passes_the_gradient_at_its_bounds():
    assert grad_at(
        lambda v: cg.clip(v, 0.0, 1.0), np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    ).tolist() == [0, 1, 1, 1, 0]
    with pytest.raises(ValueError, match="bound"):
        cg.clip(cg.Node(1.0))


def test_where_routes_the_gradient_by_the_condition_and_never_differentiates_it():
    x, y = cg.Node([1.0, 2.0]), cg.Node(5.0)
    cg.sum(cg.where(np.array([True, False]), x, y)).backward()
    assert x.grad.tolist() == [1.0, 0.0] and y.grad == 1.0


# -- stability --------------------------------------------------------------------------------


def test_softmax_and_logsumexp_are_exact_at_plus_minus_1000():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = cg.Node([1000.0, -1000.0, 1000.0])
        assert cg.logsumexp(z).value == pytest.approx(1000 + np.log(2), rel=1e-15)
        assert cg.softmax(z).value.tolist() == [0.5, 0.0, 0.5]
        assert cg.log_softmax(z).value[1] == pytest.approx(-2000 - np.log(2), rel=1e-15)
        cg.sum(cg.log_softmax(z) * np.array([1.0, 2.0, 3.0])).backward()
        assert np.isfinite(z.grad).all()


def test_softmax_cross_entropy_gradient_is_exactly_softmax_minus_labels():
    rng = np.random.default_rng(0)
    logits = cg.Node(rng.normal(size=(3, 5)) * 300)  # (classes, m), examples as columns
    labels = np.eye(3)[:, rng.integers(0, 3, 5)]
    loss = cg.softmax_cross_entropy(logits, labels)
    assert loss.shape == (5,) and np.isfinite(loss.value).all()
    cg.sum(loss).backward()
    np.testing.assert_array_equal(logits.grad, cg.softmax(logits, axis=0).value - labels)
    soft = np.full((3, 5), 1 / 3)  # probability labels
    cg.sum(cg.softmax_cross_entropy(logits, soft)).backward()
    np.testing.assert_allclose(logits.grad, cg.softmax(logits, axis=0).value - soft, atol=1e-15)


def test_sqrt_slope_at_zero_is_reported_as_infinite_not_a_silent_nan():
    x = cg.Node([0.0, 4.0], name="x")
    with pytest.warns(cg.NonFiniteWarning, match="sqrt.*infinite at x = 0"):
        cg.sum(cg.sqrt(x)).backward()
    assert x.grad[0] == np.inf and x.grad[1] == 0.25
    with cg.errstate(nonfinite="raise"), pytest.raises(cg.NonFiniteError):
        cg.sum(cg.sqrt(x)).backward()


def test_pow_gradient_in_the_exponent_at_zero_to_the_zero_is_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y = cg.Node([0.0, 0.0]), cg.Node([0.0, 2.0])
        cg.sum(x**y).backward()
    assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]


# -- NumPy code on Nodes --------------------------------------------------------------------------


def test_numpy_code_on_nodes_builds_the_graph():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 5))

    def with_numpy(W):
        A = np.tanh(W @ X)
        return np.mean(np.sum(np.maximum(A, 0) ** 2, axis=0)) + np.exp(
            np.sum(np.concatenate([A, A])) / 100
        )

    def with_compgraph(W):
        A = cg.tanh(W @ X)
        return cg.mean(cg.sum(cg.maximum(A, 0) ** 2, axis=0)) + cg.exp(
            cg.sum(cg.concatenate([A, A])) / 100
        )

    W = rng.normal(size=(4, 3))
    J = with_numpy(cg.Node(W))
    assert isinstance(J, cg.Node) and J.value == with_compgraph(cg.Node(W)).value
    np.testing.assert_array_equal(cg.grad(with_numpy)(W), cg.grad(with_compgraph)(W))
    assert cg.gradcheck(with_numpy, W).passed


def test_numpy_dot_gives_a_node_never_an_object_array():
    x, v = cg.Node([1.0, 2.0]), np.array([3.0, 4.0])
    for result in (np.dot(x, v), np.dot(v, x), np.dot(np.eye(2), x), x @ v):
        assert isinstance(result, cg.Node)
    assert np.dot(x, v).value == 11.0


def test_numpy_functions_without_an_op_are_refused_by_name():
    x = cg.Node([1.0, 2.0])
    with pytest.raises(TypeError, match=r"numpy.cumprod has no compgraph op.*compgraph.Op"):
        np.cumprod(x)
    with pytest.raises(TypeError, match="node.value"):
        np.asarray(x)
    with pytest.raises(TypeError, match="cannot write into an existing array"):
        np.exp(x, out=np.zeros(2))
    with pytest.raises(TypeError, match="add.at"):
        np.add.at(x, [0], 1.0)
    with pytest.raises(TypeError, match="does not take these arguments"):
        np.sum(x, dtype=np.float32)
