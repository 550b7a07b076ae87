"""Gradients of gradients: create_graph, grad of grad, hessian, hvp, jacobian, gradgradcheck."""

import numpy as np
import pytest

import compgraph as cg


def test_the_issue_example_differentiates_the_gradient():
    x = cg.Node(2.0, name="x")
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, cg.Node) and g.value == 12.0  # 3x²
    g.backward()
    assert x.grad == 12.0  # d(3x²)/dx = 6x


@pytest.mark.parametrize("x", [-1.5, 0.5, 2.0, 3.0])
def test_derivatives_of_x_cubed_to_third_order(x):
    f = lambda t: t**3  # noqa: E731
    assert cg.grad(f)(x) == pytest.approx(3 * x**2, rel=1e-15)
    assert cg.grad(cg.grad(f))(x) == pytest.approx(6 * x, rel=1e-15)
    assert cg.grad(cg.grad(cg.grad(f)))(x) == pytest.approx(6.0, rel=1e-15)
    assert cg.grad(cg.grad(cg.grad(cg.grad(f))))(x) == 0.0


def test_grad_of_grad_is_never_a_silent_zero():
    # 0.1 returned 0.0 here: the inner gradient was an array, cut from the graph.
    assert cg.grad(cg.grad(lambda x: x**3))(2.0) == 12.0


@pytest.mark.parametrize("z", [-4.0, -0.3, 0.0, 0.7, 5.0])
def test_second_derivative_of_sigmoid(z):
    s = 1 / (1 + np.exp(-z))
    assert cg.grad(cg.grad(cg.sigmoid))(z) == pytest.approx(
        s * (1 - s) * (1 - 2 * s), rel=1e-12, abs=1e-17
    )


def test_hessian_of_a_quadratic_form_is_the_symmetric_part():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    H = cg.hessian(lambda x: 0.5 * x @ (A @ x))(rng.normal(size=4))
    np.testing.assert_allclose(H, (A + A.T) / 2, rtol=0, atol=1e-15)


def test_mixed_partials_are_symmetric_and_match_hvp():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 5))

    def f(x):
        return cg.sum(cg.tanh(W @ x) * cg.sigmoid(W @ x)) + cg.logsumexp(x * x)

    x, v = rng.normal(size=5), rng.normal(size=5)
    H = cg.hessian(f)(x)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14)
    np.testing.assert_allclose(cg.hvp(f)(x, v), H @ v, rtol=1e-12, atol=1e-14)
    assert cg.gradgradcheck(f, x).passed


def test_jacobian_rows_are_the_gradients_of_each_output():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(3, 4))
    x = rng.normal(size=4)
    J = cg.jacobian(lambda x: cg.tanh(W @ x))(x)
    assert J.shape == (3, 4)
    np.testing.assert_allclose(J, (1 - np.tanh(W @ x) ** 2)[:, None] * W, rtol=1e-14)
    J = cg.jacobian(lambda x: cg.softmax(x.reshape(2, 2), axis=1))(x)
    assert J.shape == (2, 2, 4)


def test_gradients_of_closed_over_parameters_are_nodes_for_a_gradient_penalty():
    w = cg.Node([1.0, -2.0], name="w")
    slope = cg.grad(lambda x: cg.sum(w * x**2))(np.array([0.5, 1.5]))  # 2·w·x
    assert isinstance(slope, cg.Node)
    penalty = cg.sum(slope * slope)  # Σ 4 w² x²
    penalty.backward()
    np.testing.assert_allclose(w.grad, 8 * np.array([1.0, -2.0]) * np.array([0.25, 2.25]))


def test_functional_derivatives_leave_every_grad_as_it_was():
    w = cg.Node(3.0, name="w")
    w.grad = np.float64(-1.0)
    cg.grad(lambda x: x * w)(2.0)
    assert w.grad == -1.0


def test_repeated_backward_with_create_graph_replaces_gradients():
    x = cg.Node(1.5)
    y = cg.exp(x) * x
    y.backward(create_graph=True)
    first = x.grad
    y.backward(create_graph=True)
    assert x.grad is not first and x.grad.value == first.value
    y.backward()  # first order again: arrays
    assert not isinstance(x.grad, cg.Node) and x.grad == first.value


def test_nodes_made_by_the_backward_pass_say_which_vjp_made_them():
    a, b = cg.Node(3.0, name="a"), cg.Node(2.0, name="b")
    J = a * b
    J.backward(create_graph=True)
    assert a.grad.vjp_of is J and b.grad.vjp_of is J
    assert not hasattr(J, "vjp_of") and not hasattr(a, "vjp_of")  # the forward graph


class Cube(cg.Op):
    """x³ ; vjp: 3x²·g"""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def vjp(g, out, x):
        return (3 * x * x * g,)


def test_a_user_op_written_with_numpy_operators_gets_higher_orders_for_free():
    assert cg.grad(cg.grad(lambda x: Cube(x)))(2.0) == 12.0
    assert cg.gradgradcheck(lambda x: cg.sum(Cube(x)), np.array([0.5, -2.0])).passed


class NormWithHiddenNumpy(cg.Op):
    """|x|₂ ; vjp: g·x/|x|, but through a NumPy routine compgraph cannot record"""

    @staticmethod
    def forward(x):
        return np.sqrt(np.vdot(x, x))

    @staticmethod
    def vjp(g, out, x):
        return (g * x / np.sqrt(np.vdot(x, x)),)  # np.vdot has no op (np.linalg.norm has)


class ReadsValue(cg.Op):
    """x² ; vjp: 2x·g, computed from the array behind a Node"""

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def vjp(g, out, x):
        x = x.value if isinstance(x, cg.Node) else x
        return (2 * x * np.asarray(g.value if isinstance(g, cg.Node) else g),)


def test_a_vjp_that_cannot_be_differentiated_raises_naming_the_op():
    x = cg.Node([3.0, 4.0])
    y = cg.apply(NormWithHiddenNumpy, x)
    y.backward()
    np.testing.assert_allclose(x.grad, [0.6, 0.8])  # first order is fine
    with pytest.raises(cg.OpError, match="normwithhiddennumpy.*numpy.vdot"):
        y.backward(create_graph=True)
    with pytest.raises(cg.OpError, match="'readsvalue'.*outside the graph"):
        cg.apply(ReadsValue, cg.Node(2.0)).backward(create_graph=True)


class StopsGradient(cg.Op):
    """x ; vjp: 0 (wrong: the identity's slope is 1)"""

    @staticmethod
    def forward(x):
        return x

    @staticmethod
    def vjp(g, out, x):
        return (g * 0.0,)


def test_gradgradcheck_catches_a_wrong_second_derivative_that_first_order_misses():
    x = np.array([0.7, -1.2])

    class SecondOrderWrong(cg.Op):
        """x³ ; vjp: 3x²·g, with the x² taken through an op whose own vjp is wrong"""

        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def vjp(g, out, x):
            return (3 * StopsGradient(x * x) * g,)

    h = lambda x: cg.sum(cg.apply(SecondOrderWrong, x))  # noqa: E731
    assert cg.gradcheck(h, x).passed
    report = cg.gradgradcheck(h, x, raise_on_failure=False)
    assert not report.passed
    with pytest.raises(cg.GradientCheckError):
        cg.gradgradcheck(h, x)


def test_the_picture_of_a_gradient_marks_what_the_backward_pass_made():
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    J = 3 * (a + b * c)
    J.name = "J"
    J.backward(create_graph=True)
    source = cg.to_dot(b.grad).source  # dJ/db = 3·c: c from the forward graph, the rest made
    assert "from vjp of mul J" in source and "#7c3aed" in source
    (c_line,) = [line for line in source.splitlines() if "<b>c</b>" in line]
    assert "from vjp" not in c_line and "#1d4ed8" in c_line  # c is still a parameter
    assert "from vjp" not in cg.to_dot(J).source  # the forward picture is unchanged
