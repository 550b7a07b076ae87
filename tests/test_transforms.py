"""The transforms under composition (issue 20), over containers, and in forward mode (issue 24).

Every expected number is a closed form worked out by hand, or an independent computation
(central differences, the reverse-mode Jacobian)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.gradcheck import numerical_gradient
from compgraph.checks.testing import OP_CASES, float_arrays

# -- perturbation confusion: each transform differentiates its own variable --------------------


def test_a_closed_over_node_is_a_constant_of_the_inner_derivative():
    x = cg.Node(2.0)
    assert float(cg.grad(lambda y: y * x)(x).value) == 2.0  # ∂(y·x)/∂y = x, not 2x


def test_nested_derivatives_of_a_closure_are_partials():
    # d/dx [∂(y·x)/∂y at y = x] = d/dx x = 1
    assert float(cg.grad(lambda x: cg.grad(lambda y: y * x)(x))(2.0)) == 1.0
    # f(a, b) = a·b²: d/dx [∂f/∂a (x, x)] = d/dx x² = 2x = 4
    f = lambda a, b: a * b**2  # noqa: E731
    assert float(cg.grad(lambda x: cg.grad(f)(x, x))(2.0)) == 4.0


def test_siskind_and_pearlmutters_example():
    """d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1 (Siskind & Pearlmutter's perturbation
    confusion example, the one JAX's docs use)."""

    def outer(x):
        return x * cg.grad(lambda y: x + y)(1.0 * x)

    assert float(cg.grad(outer)(1.0)) == 1.0
    # and with the inner argument a fresh number: d/dx [x · ∂(x + y)/∂y] = 1
    assert float(cg.grad(lambda x: x * cg.grad(lambda y: x + y)(1.0))(3.0)) == 1.0


def test_a_second_derivative_through_a_closure_and_an_argument():
    # g(x) = ∂/∂y (x·y²) at y = x = 2xy = 2x²; g'(x) = 4x
    g = lambda x: cg.grad(lambda y: x * y**2)(x)  # noqa: E731
    assert float(cg.grad(g)(3.0)) == 12.0
    # the hessian of f(x) = Σ x·(∂/∂y Σ y·x)(x) = Σ x² ... = 2 I
    h = cg.hessian(lambda x: cg.sum(x * cg.grad(lambda y: cg.sum(y * x))(x)))(np.ones(2))
    np.testing.assert_array_equal(h, 2 * np.eye(2))


def test_the_same_node_twice_in_argnums_gives_the_partial_twice():
    x = cg.Node(3.0)
    ga, gb = cg.grad(lambda a, b: a * b, argnums=(0, 1))(x, x)
    assert float(ga.value) == 3.0 == float(gb.value)


# -- arguments that are constant Nodes ----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: cg.Node(3.0, requires_grad=False),
        lambda: cg.Node(3.0).detach(),
        lambda: _made_under_no_grad(3.0),
    ],
    ids=["requires_grad=False", "detach()", "no_grad()"],
)
def test_derivatives_with_respect_to_a_constant_node_are_not_zero(make):
    assert float(cg.grad(lambda x: x**2)(make())) == 6.0
    assert cg.hessian(lambda x: x**3)(make()).tolist() == 18.0
    assert cg.jacobian(lambda x: x**2)(make()).tolist() == 6.0


def _made_under_no_grad(value):
    with cg.no_grad():
        return cg.Node(value) * 1.0


def test_transforms_record_inside_no_grad():
    with cg.no_grad():
        assert float(cg.grad(lambda x: x**2)(3.0)) == 6.0


# -- conversions that would cut the graph -------------------------------------------------------


@pytest.mark.parametrize(
    "f, conversion",
    [
        (lambda t: math.sin(t) * t, "float"),
        (lambda t: float(t) * t, "float"),
        (lambda t: np.float64(t) * t, "converting"),
        (lambda t: t.item() * t, "item"),
        (lambda t: cg.exp(t) * math.exp(t), "float"),
    ],
)
def test_converting_a_traced_value_to_a_number_is_refused_by_name(f, conversion):
    with pytest.raises(cg.NotDifferentiableError, match=rf"({conversion}).*'t'"):
        cg.grad(f)(1.0)


def test_conversions_outside_a_transform_still_work():
    x = cg.Node(1.5)
    assert float(x) == 1.5 and x.item() == 1.5 and math.sin(x) == math.sin(1.5)


def test_an_output_that_depends_on_no_argument_warns():
    with pytest.warns(cg.IndependentOutputWarning, match="does not depend on x") as caught:
        g = cg.grad(lambda x: cg.Node(np.sum(x.value**2)))(np.ones(2))
    assert caught[0].filename == __file__
    assert g.tolist() == [0.0, 0.0] and isinstance(g, np.ndarray)


def test_a_user_ops_vjp_that_converts_is_refused_at_second_order():
    class Cos(cg.Op):
        """cos x ; vjp: -g·sin x (through math, a fast path that cannot go twice)"""

        @staticmethod
        def forward(x):
            return np.cos(x)

        @staticmethod
        def vjp(g, out, x):
            return (-g * math.sin(x),)

    x = cg.Node(0.5, name="x")
    Cos(x).backward()  # first order: arrays, fine
    assert float(x.grad) == pytest.approx(-math.sin(0.5))
    with pytest.raises(cg.OpError, match=r"'cos'.*cannot be differentiated twice.*float"):
        Cos(x).backward(create_graph=True)

    class Item(Cos):
        @staticmethod
        def vjp(g, out, x):
            return (-g * np.sin(x.item()),)

    with pytest.raises(cg.OpError, match=r"cannot be differentiated twice.*item"):
        Item(x).backward(create_graph=True)


# -- shapes and messages ------------------------------------------------------------------------


@pytest.mark.parametrize("v", [np.eye(2), np.ones(1), np.array(1.0), np.ones((2, 1))])
def test_hvp_refuses_a_vector_of_another_shape(v):
    with pytest.raises(cg.ShapeError, match="exactly the argument's shape"):
        cg.hvp(lambda x: cg.sum(x**3))(np.array([1.0, 2.0]), v)


def test_grad_and_hessian_of_a_vector_function_say_to_use_jacobian():
    for transform in (cg.grad, cg.hessian, cg.value_and_grad):
        with pytest.raises(cg.ShapeError, match="must return one number.*cg.jacobian"):
            transform(lambda x: x**2)(np.ones(3))


# -- containers ---------------------------------------------------------------------------------


def test_grad_of_a_dict_of_parameters_returns_a_dict():
    X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    parameters = {"W1": np.array([[0.1, -0.2]]), "b1": np.array([[0.3]])}

    def cost(p):
        return cg.mean((p["W1"] @ X + p["b1"]) ** 2)

    grads = cg.grad(cost)(parameters)
    Z = parameters["W1"] @ X + parameters["b1"]
    assert set(grads) == {"W1", "b1"}
    np.testing.assert_allclose(grads["W1"], 2 * Z @ X.T / 3, rtol=1e-15)
    np.testing.assert_allclose(grads["b1"], [[2 * Z.mean()]], rtol=1e-15)


def test_nested_lists_tuples_and_dicts_keep_their_structure():
    p = {"layers": [(np.ones(2), 2.0), (np.full(3, 0.5), -1.0)], "scale": 3.0}

    def f(p):
        total = 0.0
        for w, b in p["layers"]:
            total = total + cg.sum(w * b)
        return total * p["scale"]

    value, g = cg.value_and_grad(f)(p)
    assert float(value) == 3.0 * (4.0 - 1.5)
    assert isinstance(g["layers"], list) and isinstance(g["layers"][0], tuple)
    assert g["layers"][0][0].tolist() == [6.0, 6.0] and float(g["layers"][0][1]) == 6.0
    assert g["layers"][1][0].tolist() == [-3.0, -3.0, -3.0] and float(g["layers"][1][1]) == 4.5
    assert float(g["scale"]) == 2.5


def test_containers_with_several_argnums_and_second_order():
    f = lambda p, x: cg.sum(p["w"] ** 2 * x) + p["b"] * cg.sum(x)  # noqa: E731
    p, x = {"w": np.array([1.0, 2.0]), "b": 3.0}, np.array([0.5, 1.5])
    gp, gx = cg.grad(f, argnums=(0, 1))(p, x)
    assert gp["w"].tolist() == [1.0, 6.0] and float(gp["b"]) == 2.0
    assert gx.tolist() == [4.0, 7.0]
    hv = cg.hvp(f)(p, x, {"w": np.array([1.0, 1.0]), "b": 1.0})  # d²/dw² = diag(2x)
    assert hv["w"].tolist() == [1.0, 3.0] and float(hv["b"]) == 0.0
    assert cg.jvp(f)(p, x, {"w": np.array([1.0, 0.0]), "b": 1.0}).tolist() == 1.0 + 2.0
    with pytest.raises(cg.ShapeError, match="structure"):
        cg.hvp(f)(p, x, np.ones(2))


def test_a_namedtuple_comes_back_as_itself():
    from collections import namedtuple

    Params = namedtuple("Params", "w b")
    g = cg.grad(lambda p: cg.sum(p.w * 2) + p.b)(Params(np.ones(2), 1.0))
    assert isinstance(g, Params) and g.w.tolist() == [2.0, 2.0] and float(g.b) == 1.0


def test_jacobian_of_a_dict_argument():
    J = cg.jacobian(lambda p: p["a"] * p["b"])({"a": np.array([1.0, 2.0]), "b": 3.0})
    assert J["a"].tolist() == [[3.0, 0.0], [0.0, 3.0]] and J["b"].tolist() == [1.0, 2.0]


# -- forward mode -------------------------------------------------------------------------------


def test_jvp_is_the_directional_derivative():
    x, v = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    f = lambda x: cg.stack([cg.sum(x**2), x[0] * cg.exp(x[1])])  # noqa: E731
    expected = np.array([2 * x @ v, v[0] * np.exp(x[1]) + x[0] * np.exp(x[1]) * v[1]])
    np.testing.assert_allclose(cg.jvp(f)(x, v), expected, rtol=1e-15)
    np.testing.assert_allclose(cg.jacfwd(f)(x) @ v, expected, rtol=1e-15)
    np.testing.assert_array_equal(cg.jacfwd(f)(x), cg.jacobian(f)(x))


def test_forward_mode_composes_with_reverse_mode():
    # d/dx jvp(sin·x)(x, 1) = d/dx (x cos x + sin x)... with exp: f = e^x·x, f' = e^x(x + 1),
    # f'' = e^x(x + 2)
    f = lambda x: cg.exp(x) * x  # noqa: E731
    second = cg.grad(lambda x: cg.jvp(f)(x, 1.0))(0.5)
    assert float(second) == pytest.approx(math.exp(0.5) * 2.5, rel=1e-15)
    assert float(cg.jvp(cg.grad(f))(0.5, 1.0)) == pytest.approx(math.exp(0.5) * 2.5, rel=1e-15)


def test_jvp_of_a_function_that_ignores_its_argument_is_zero():
    with pytest.warns(cg.IndependentOutputWarning):
        assert cg.jvp(lambda x: cg.Node(np.ones(2), requires_grad=False))(1.0, 1.0).tolist() == [
            0.0,
            0.0,
        ]


CASES = {case.op.name: case for case in OP_CASES}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_forward_mode_from_the_op_table(name, data):
    """J·v from the vjp of the vjp equals the reverse-mode Jacobian times v and central
    differences of the op's NumPy reference, for every op and each of its inputs."""
    case = CASES[name]
    shapes, attrs = data.draw(case.arguments)
    arrays = [data.draw(float_arrays(s, d)) for s, d in zip(shapes, case.domains, strict=True)]
    assume(case.is_smooth_at(*arrays, **attrs))
    i = data.draw(st.integers(0, len(arrays) - 1), label="input")
    v = data.draw(float_arrays(np.shape(arrays[i])), label="direction")

    def f(x):
        inputs = [cg.Node(a, requires_grad=False) for a in arrays]
        inputs[i] = x
        return case.call(*inputs, **attrs)

    tangent = cg.jvp(f)(arrays[i], v)
    out_shape = np.shape(case.reference(*arrays, **attrs))
    assert np.shape(tangent) == out_shape
    J = cg.jacobian(f)(arrays[i]).reshape(int(np.prod(out_shape)), np.size(arrays[i]))
    np.testing.assert_allclose(tangent.reshape(-1), J @ v.reshape(-1), rtol=1e-10, atol=1e-12)

    def along(t):
        inputs = list(arrays)
        inputs[i] = arrays[i] + t * v
        return np.asarray(case.reference(*inputs, **attrs))

    for k in range(min(int(np.prod(out_shape)), 4)):  # a few output elements by differences
        numeric = numerical_gradient(lambda t, k=k: float(along(t).reshape(-1)[k]), np.array(0.0))
        np.testing.assert_allclose(tangent.reshape(-1)[k], numeric, rtol=1e-5, atol=1e-5)


def test_jacfwd_equals_jacobian_at_second_order():
    f = lambda x: cg.sum(cg.tanh(x) * x**2)  # noqa: E731
    x = np.array([0.2, -0.7, 1.1])
    np.testing.assert_allclose(cg.jacfwd(cg.grad(f))(x), cg.hessian(f)(x), rtol=1e-13)


def test_no_warning_for_ordinary_transforms():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cg.grad(cg.grad(cg.grad(cg.grad(lambda x: x**5))))(1.0)
