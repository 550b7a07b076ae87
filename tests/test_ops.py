"""Every op against NumPy (forward) and against central differences (vjp), from one table."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.gradcheck import numerical_gradient
from compgraph.testing import OP_CASES, OpCase, float_arrays

CASES = {case.op.name: case for case in OP_CASES}

# Central differences with ε = 1e-5 on these domains err by < 3e-8 (truncation, ε²f'''/6)
# plus < 3e-8 (rounding, u·Σ|terms|/ε), well inside this tolerance; a vjp that is off by
# 0.1% of a gradient of order 1 is far outside it.
EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-6


def test_every_builtin_op_has_a_row():
    assert set(CASES) == {op.name for op in cg.ops.BUILTIN_OPS}
    defined = {
        cls.name
        for cls in vars(cg.ops).values()
        if isinstance(cls, type) and issubclass(cls, cg.Op) and cls is not cg.Op
    }
    assert defined == set(CASES), "an Op class in compgraph.ops has no row in OP_CASES"


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
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_vjp_equals_central_differences(name, data):
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case))
    out_shape = np.shape(case.reference(*arrays, **attrs))
    weights = data.draw(float_arrays(out_shape))  # a random upstream gradient g

    nodes = [cg.Node(a, name=f"x{i}") for i, a in enumerate(arrays)]
    case.call(*nodes, **attrs).backward(weights)

    for i, array in enumerate(arrays):

        def loss(x, i=i):
            inputs = list(arrays)
            inputs[i] = x
            return float(np.sum(weights * case.reference(*inputs, **attrs)))

        numeric = numerical_gradient(loss, array, eps=EPS)
        assert nodes[i].grad.shape == array.shape
        np.testing.assert_allclose(
            nodes[i].grad, numeric, rtol=RTOL, atol=ATOL, err_msg=f"input {i}"
        )


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_float32_stays_float32(name, data):
    case = CASES[name]
    arrays, attrs = data.draw(case_inputs(case, np.float32))
    nodes = [cg.Node(a) for a in arrays]
    out = case.call(*nodes, **attrs)
    assert out.value.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert all(node.grad.dtype == np.float32 for node in nodes)
