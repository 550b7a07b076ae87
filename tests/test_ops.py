"""Every op against NumPy (forward), central differences (vjp) and, differentiating the vjp
itself, central differences of the vjp (second order): all from one table, OP_CASES."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.gradcheck import numerical_gradient
from compgraph.checks.testing import OP_CASES, OpCase, float_arrays
from compgraph.graph import ancestors

CASES = {case.op.name: case for case in OP_CASES}

# Central differences with ε = 1e-5 on these domains err by < 3e-8 (truncation, ε²f'''/6)
# plus < 3e-8 (rounding, u·Σ|terms|/ε), well inside this tolerance; a vjp that is off by
# 0.1% of a gradient of order 1 is far outside it.
EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-6


@st.composite
def case_inputs(draw, case: OpCase, dtype=np.float64):
    shapes, attrs = draw(case.arguments)
    arrays = [draw(float_arrays(s, d, dtype)) for s, d in zip(shapes, case.domains, strict=True)]
    return arrays, attrs


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_forward_equals_numpy(name, data):
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case))
    out = case.call(*[cg.Node(a) for a in arrays], **attrs)
    expected = case.reference(*arrays, **attrs)
    assert out.value.shape == np.shape(expected)
    assert out.value.dtype == np.float64
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-15)


def _weighted(case, arrays, attrs, weights, i):
    """x ↦ ⟨weights, op(..., x, ...)⟩ for input i, in plain NumPy (the reference)."""

    def loss(x):
        inputs = list(arrays)
        inputs[i] = x
        return float(np.sum(weights * case.reference(*inputs, **attrs)))

    return loss


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_vjp_equals_central_differences(name, data):
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case))
    assume(case.is_smooth_at(*arrays, **attrs))
    out_shape = np.shape(case.reference(*arrays, **attrs))
    weights = data.draw(float_arrays(out_shape))  # a random upstream gradient g

    nodes = [cg.Node(a, name=f"x{i}") for i, a in enumerate(arrays)]
    case.call(*nodes, **attrs).backward(weights)

    for i, array in enumerate(arrays):
        numeric = numerical_gradient(_weighted(case, arrays, attrs, weights, i), array, eps=EPS)
        assert nodes[i].grad.shape == array.shape
        np.testing.assert_allclose(
            nodes[i].grad, numeric, rtol=RTOL, atol=ATOL, err_msg=f"input {i}"
        )


def _first_order(case, arrays, attrs, weights, i):
    """The engine's first-order gradient of ⟨weights, op⟩ in input i, as arrays."""
    nodes = [cg.Node(a) for a in arrays]
    case.call(*nodes, **attrs).backward(weights)
    return nodes[i].grad


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_second_order_equals_central_differences_of_the_vjp(name, data):
    """d/dx_j ⟨u, d⟨g, op⟩/dx_i⟩ from create_graph against central differences of the
    (separately checked) first-order gradient."""
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case))
    assume(case.is_smooth_at(*arrays, **attrs))
    out_shape = np.shape(case.reference(*arrays, **attrs))
    weights = data.draw(float_arrays(out_shape))
    i = data.draw(st.integers(0, len(arrays) - 1), label="differentiated input")
    u = data.draw(float_arrays(np.shape(arrays[i])), label="direction")

    nodes = [cg.Node(a, name=f"x{k}") for k, a in enumerate(arrays)]
    case.call(*nodes, **attrs).backward(weights, create_graph=True)
    first = nodes[i].grad
    assert isinstance(first, cg.Node)
    np.testing.assert_allclose(first.value, _first_order(case, arrays, attrs, weights, i))
    along_u = cg.sum(first * u)
    reached = ancestors(along_u)
    if along_u.requires_grad:  # else the gradient depends on no input: a linear op
        along_u.backward()
    # An input the gradient does not depend on keeps its old .grad: its derivative is 0.
    second = [
        n.grad if n in reached else np.zeros_like(a) for n, a in zip(nodes, arrays, strict=True)
    ]

    for j, array in enumerate(arrays):

        def directional(x, j=j):
            inputs = list(arrays)
            inputs[j] = x
            return float(np.sum(u * _first_order(case, inputs, attrs, weights, i)))

        numeric = numerical_gradient(directional, array, eps=EPS)
        np.testing.assert_allclose(
            second[j], numeric, rtol=1e-5, atol=1e-5, err_msg=f"d/dx{j} of d/dx{i}"
        )


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_float32_stays_float32(name, data):
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case, np.float32))
    nodes = [cg.Node(a) for a in arrays]
    out = case.call(*nodes, **attrs)
    if case.keeps_dtype:
        assert out.value.dtype == np.float32
    out.backward(np.ones(out.shape, out.dtype))
    assert all(node.grad.dtype == np.float32 for node in nodes)
