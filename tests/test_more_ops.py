"""The ops users reach for next (issue 25), at the exact points a table of random points
does not reach: prod at zeros, einsum's forms, where= masks, NumPy's keywords and read-only
functions on Nodes, and the messages for what has no op.

Forward, vjp and second order at random points come from the op table (test_ops.py)."""

import itertools
import math
import re
import warnings

import numpy as np
import pytest

import compgraph as cg

# -- prod: exact at zeros, to second order ------------------------------------------------------


def products_of_the_others(x):
    """d(Π x)/dx_i = Π_{k != i} x_k, by brute force."""
    return np.array([math.prod(np.delete(x, i)) for i in range(x.size)])


def second_derivatives(x):
    """d²(Π x)/dx_i dx_j = Π_{k != i, j} x_k for i != j, and 0 on the diagonal."""
    n = x.size
    h = np.zeros((n, n))
    for i, j in itertools.permutations(range(n), 2):
        h[i, j] = math.prod(np.delete(x, [i, j]))
    return h


@pytest.mark.parametrize(
    "x",
    [
        [2.0, 3.0, 5.0, 7.0],
        [2.0, 0.0, 5.0, 7.0],  # one zero: only it gets a gradient
        [0.0, 3.0, 0.0, 7.0],  # two zeros: no gradient, but a mixed second derivative
        [0.0, 0.0, 0.0, 7.0],  # three zeros: nothing at all
        [-1.5, 0.0, 4.0, -2.0, 0.5],  # an odd length for the scan
    ],
)
def test_prod_gradient_and_hessian_are_exact_at_zeros(x):
    x = np.array(x)
    np.testing.assert_allclose(cg.grad(cg.prod)(x), products_of_the_others(x), rtol=1e-15)
    np.testing.assert_allclose(cg.hessian(cg.prod)(x), second_derivatives(x), rtol=1e-15)


def test_prod_over_an_axis_with_keepdims_and_zeros():
    x = np.array([[1.0, 0.0, 3.0], [2.0, 4.0, 0.5], [0.0, 0.0, 2.0]])
    weights = np.array([[1.0], [2.0], [3.0]])
    gradient = cg.grad(lambda v: cg.sum(cg.prod(v, axis=1, keepdims=True) * weights))(x)
    expected = np.stack(
        [w * products_of_the_others(row) for w, row in zip(weights[:, 0], x, strict=True)]
    )
    np.testing.assert_allclose(gradient, expected, rtol=1e-15)
    assert cg.prod(cg.Node(x), axis=(0, 1)).value == 0.0
    assert np.prod(cg.Node(x), axis=0).op.name == "prod"  # NumPy's function records the op
    assert cg.Node(x).prod(axis=1).shape == (3,)


def test_prod_of_an_empty_axis_is_one_with_an_empty_gradient():
    x = cg.Node(np.zeros((2, 0)))
    y = cg.prod(x, axis=1)
    assert y.value.tolist() == [1.0, 1.0]
    cg.sum(y).backward()
    assert x.grad.shape == (2, 0)


# -- cumsum, var, std, norm, sin, cos, log1p, expm1 --------------------------------------------


def test_cumsum_along_an_axis_and_flattened():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert np.cumsum(cg.Node(x), axis=1).value.tolist() == np.cumsum(x, axis=1).tolist()
    flat = cg.cumsum(cg.Node(x))
    assert flat.shape == (6,) and flat.value.tolist() == np.cumsum(x).tolist()
    # d Σ_k w_k (cumsum x)_k / dx_i = Σ_{k >= i} w_k
    w = np.array([1.0, 10.0, 100.0, 1000.0, 1e4, 1e5])
    gradient = cg.grad(lambda v: cg.sum(cg.cumsum(v) * w))(x)
    assert gradient.ravel().tolist() == np.cumsum(w[::-1])[::-1].tolist()
    assert cg.Node(x).cumsum(axis=0).value.tolist() == np.cumsum(x, axis=0).tolist()


def test_var_and_std_follow_numpy_and_refuse_a_non_positive_divisor():
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    for ddof in (0, 1):
        assert np.allclose(np.var(cg.Node(x), axis=1, ddof=ddof).value, np.var(x, 1, ddof=ddof))
        assert np.allclose(cg.Node(x).std(axis=1, ddof=ddof).value, np.std(x, 1, ddof=ddof))
    # d var / dx = 2 (x - mean) / (n - ddof)
    np.testing.assert_allclose(
        cg.grad(lambda v: cg.var(v, ddof=1))(x[0]), 2 * (x[0] - x[0].mean()) / 2, rtol=1e-15
    )
    with pytest.raises(ValueError, match=r"var over 3 element\(s\) with ddof=3"):
        cg.var(cg.Node(x), axis=1, ddof=3)
    with pytest.raises(ValueError, match="ddof=1 divides by n - ddof = 0"):
        cg.std(cg.Node([1.0]), ddof=1)


def test_std_of_a_constant_group_has_gradient_zero_not_nan():
    x = cg.Node([[1.0, 3.0], [2.0, 2.0]])
    cg.sum(cg.std(x, axis=1)).backward()
    assert x.grad.tolist() == [[-0.5, 0.5], [0.0, 0.0]]


def test_norm_vector_frobenius_axis_and_the_zero_vector():
    m = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert np.linalg.norm(cg.Node(m)).value == pytest.approx(5.0)  # Frobenius
    assert cg.norm(cg.Node(m), "fro").value == pytest.approx(5.0)
    rows = cg.norm(cg.Node(m), axis=1, keepdims=True)
    assert rows.shape == (2, 1) and rows.value.ravel().tolist() == [5.0, 0.0]
    # x / |x|, and 0 (as PyTorch) for the zero row rather than 0/0
    gradient = cg.grad(lambda v: cg.sum(cg.norm(v, axis=1)))(m)
    assert gradient.tolist() == [[0.6, 0.8], [0.0, 0.0]]
    assert cg.grad(cg.norm)(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert cg.norm(cg.Node([3.0, 4.0]), 2).value == 5.0


@pytest.mark.parametrize(
    "x, ord_, axis, advice",
    [
        ([3.0, 4.0], 1, None, "cg.sum(cg.abs(x), axis)"),
        ([3.0, 4.0], np.inf, None, "cg.max(cg.abs(x), axis)"),
        ([3.0, 4.0], "fro", None, "for a vector"),
        ([[3.0, 4.0]], 2, None, "for a matrix"),
        ([[3.0, 4.0]], "nuc", None, "for a matrix"),
        ([[3.0, 4.0]], 3, 1, "p-norm"),
    ],
)
def test_norm_refuses_other_orders_by_name_with_what_to_do(x, ord_, axis, advice):
    with pytest.raises(ValueError, match=rf"norm with ord={ord_!r}") as error:
        np.linalg.norm(cg.Node(x), ord_, axis)
    assert advice in str(error.value)


def test_norm_over_three_axes_is_refused_as_numpy_does():
    with pytest.raises(ValueError, match="one axis .* or two"):
        cg.norm(cg.Node(np.ones((2, 2, 2))), axis=(0, 1, 2))


def test_sin_cos_log1p_expm1_and_their_second_derivatives():
    x = np.array([-0.5, 0.0, 0.5, 2.0])
    for numpy_function in (np.sin, np.cos, np.log1p, np.expm1):
        assert np.allclose(numpy_function(cg.Node(x)).value, numpy_function(x))
    second = {cg.sin: -np.sin(x), cg.cos: -np.cos(x), cg.log1p: -1 / (1 + x) ** 2}
    second[cg.expm1] = np.exp(x)
    for function, expected in second.items():
        d2 = cg.grad(lambda v, f=function: cg.sum(cg.grad(lambda u: cg.sum(f(u)))(v)))(x)
        np.testing.assert_allclose(d2, expected, rtol=1e-14)
    assert cg.log1p(cg.Node(1e-300)).value == 1e-300  # where log(1 + x) would give 0


# -- einsum -------------------------------------------------------------------------------------

rng = np.random.default_rng(25)
A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))


def einsum_gradients(subscripts, *arrays, weights=None):
    nodes = [cg.Node(a) for a in arrays]
    out = cg.einsum(subscripts, *nodes)
    w = np.ones(out.shape) if weights is None else weights
    return out, cg.gradients(cg.sum(out * w), nodes)


def test_einsum_matrix_product_equals_matmul_with_its_gradients():
    w = rng.normal(size=(2, 4))
    out, (g_a, g_b) = einsum_gradients("ij,jk->ik", A, B, weights=w)
    np.testing.assert_allclose(out.value, A @ B, rtol=1e-14)
    np.testing.assert_allclose(g_a, w @ B.T, rtol=1e-14)
    np.testing.assert_allclose(g_b, A.T @ w, rtol=1e-14)


def test_einsum_implicit_output_is_numpys():
    for subscripts in ("ij,jk", "ba", "ij,ij", "i,i", "aA"):
        operands = [rng.normal(size=(3, 3)) for _ in subscripts.split(",")]
        if subscripts == "i,i":
            operands = [rng.normal(size=3), rng.normal(size=3)]
        out = cg.einsum(subscripts, *operands)
        np.testing.assert_allclose(out.value, np.einsum(subscripts, *operands), rtol=1e-14)


def test_einsum_trace_and_diagonal_send_gradients_to_the_diagonal():
    m = rng.normal(size=(3, 3))
    out, (g,) = einsum_gradients("ii", m)
    assert out.value == pytest.approx(np.trace(m))
    assert g.tolist() == np.eye(3).tolist()
    out, (g,) = einsum_gradients("ii->i", m, weights=np.array([1.0, 2.0, 3.0]))
    assert out.value.tolist() == np.diag(m).tolist()
    assert g.tolist() == np.diag([1.0, 2.0, 3.0]).tolist()
    cube = rng.normal(size=(2, 2, 3))  # a letter repeated beside another: iij
    _, (g,) = einsum_gradients("iij->j", cube, weights=np.array([1.0, 2.0, 3.0]))
    expected = np.zeros((2, 2, 3))
    expected[[0, 1], [0, 1]] = [1.0, 2.0, 3.0]
    assert g.tolist() == expected.tolist()


def test_einsum_batch_outer_and_broadcast_ellipsis():
    x, y = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 3, 4))
    out, (g_x, g_y) = einsum_gradients("bij,bjk->bik", x, y)
    np.testing.assert_allclose(out.value, x @ y, rtol=1e-14)
    np.testing.assert_allclose(g_x, np.ones((5, 2, 4)) @ np.swapaxes(y, 1, 2), rtol=1e-14)
    np.testing.assert_allclose(g_y, np.swapaxes(x, 1, 2) @ np.ones((5, 2, 4)), rtol=1e-14)
    u, v = rng.normal(size=3), rng.normal(size=4)
    out, (g_u, g_v) = einsum_gradients("i,j->ij", u, v)
    np.testing.assert_allclose(out.value, np.outer(u, v), rtol=1e-14)
    np.testing.assert_allclose(g_u, np.full(3, v.sum()), rtol=1e-14)
    np.testing.assert_allclose(g_v, np.full(4, u.sum()), rtol=1e-14)
    # '...' broadcasts: a (1, 2, 3) stack against a (4, 3, 2) one; the size-1 axis sums back
    p, q = rng.normal(size=(1, 2, 3)), rng.normal(size=(4, 3, 2))
    out, (g_p, g_q) = einsum_gradients("...ij,...jk->...ik", p, q)
    np.testing.assert_allclose(out.value, p @ q, rtol=1e-14)
    assert g_p.shape == (1, 2, 3) and g_q.shape == (4, 3, 2)
    np.testing.assert_allclose(
        g_p, (np.ones((4, 2, 2)) @ np.swapaxes(q, 1, 2)).sum(0, keepdims=True)
    )


def test_einsum_letters_only_one_operand_has_and_second_order():
    x, y = rng.normal(size=(2, 3)), rng.normal(size=3)
    cg.gradcheck(lambda a, b: cg.einsum("ij,j->", a, b), x, y, raise_on_failure=True)
    cg.gradgradcheck(
        lambda a, b: cg.sum(cg.einsum("ij,j->i", a, b) ** 2), x, y, raise_on_failure=True
    )
    cg.gradgradcheck(lambda a: cg.sum(cg.einsum("ii->i", a) ** 3), rng.normal(size=(3, 3)))
    assert np.einsum("ij,jk->ik", cg.Node(A), B).op.name == "einsum"
    chain = [rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]
    cg.gradgradcheck(lambda *m: cg.sum(cg.einsum("ij,jk,kl->il", *m, optimize=True) ** 2), *chain)


@pytest.mark.parametrize(
    "subscripts, shapes, message",
    [
        ("ij,jk->ik", [(2, 3)], r"2 operand group\(s\) for 1 operand"),
        ("ij->i", [(2, 3, 4)], r"'ij' names 2 dimension\(s\) of an operand with 3"),
        ("ij->ii", [(2, 2)], "repeats a letter"),
        ("ij->k", [(2, 2)], "'k' are in no operand"),
        ("i1->i", [(2, 2)], "is not letters"),
        ("ij->i->j", [(2, 2)], "more than one '->'"),
        ("...->", [(2, 3)], r"leaves out the 2 dimension\(s\) '\.\.\.' stands for"),
    ],
)
def test_einsum_refuses_subscripts_that_do_not_fit_and_names_them(subscripts, shapes, message):
    with pytest.raises(
        ValueError, match=rf"einsum subscripts '{re.escape(subscripts)}'.*{message}"
    ):
        cg.einsum(subscripts, *[cg.Node(np.ones(s)) for s in shapes])


def test_einsum_lengths_that_disagree_and_the_sublist_form_are_refused():
    with pytest.raises(cg.ShapeError, match="einsum"):
        cg.einsum("ij,jk", cg.Node(np.ones((2, 3))), np.ones((4, 2)))
    with pytest.raises(TypeError, match="sublist form"):
        np.einsum(cg.Node(np.ones((2, 3))), [0, 1], np.ones((3, 2)), [1, 2])


# -- where= on sum and mean ---------------------------------------------------------------------


def test_sum_and_mean_where_select_elements_and_their_gradients():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = np.array([[True, False, True], [False, False, True]])
    assert np.sum(cg.Node(x), where=mask).value == np.sum(x, where=mask)
    assert np.mean(cg.Node(x), axis=1, where=mask).value.tolist() == [2.0, 6.0]
    assert cg.grad(lambda v: cg.sum(v, where=mask))(x).tolist() == mask.astype(float).tolist()
    gradient = cg.grad(lambda v: cg.sum(cg.mean(v, axis=1, where=mask)))(x)
    assert gradient.tolist() == [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]
    # a mask that broadcasts (one row for every row), with keepdims
    row = np.array([True, False, True])
    total = cg.sum(cg.Node(x), axis=1, keepdims=True, where=row)
    assert total.value.tolist() == [[4.0], [10.0]]
    assert cg.grad(lambda v: cg.mean(v, where=row))(x).tolist() == [[0.25, 0, 0.25]] * 2


def test_mean_where_nothing_is_selected_is_nan_with_no_gradient():
    x = cg.Node([[1.0, 2.0], [3.0, 4.0]])
    with pytest.warns(cg.NonFiniteWarning), warnings.catch_warnings():
        # NumPy's own words for the empty mean; compgraph's NonFiniteWarning is the one tested
        warnings.filterwarnings("ignore", "Mean of empty slice|invalid value", RuntimeWarning)
        m = cg.mean(x, axis=1, where=np.array([[True, True], [False, False]]))
    assert m.value[0] == 1.5 and np.isnan(m.value[1])
    cg.sum(m * np.array([1.0, 0.0])).backward()
    assert x.grad.tolist() == [[0.5, 0.5], [0.0, 0.0]]


def test_where_masks_that_are_not_boolean_data_are_refused():
    x = cg.Node([1.0, 2.0])
    with pytest.raises(cg.DTypeError, match="boolean mask"):
        cg.sum(x, where=np.array([1, 0]))
    with pytest.raises(cg.DTypeError, match="mask is data"):
        cg.mean(x, where=x)
    with pytest.raises(cg.ShapeError, match=r"shape \(3,\) does not broadcast to .* \(2,\)"):
        cg.sum(x, where=np.array([True, False, True]))


# -- NumPy's read-only functions and keywords on Nodes -----------------------------------------

X = np.array([[0.5, -1.0, 0.0], [2.0, 0.0, 0.25]])


@pytest.mark.parametrize(
    "function",
    [
        np.shape,
        np.ndim,
        np.size,
        np.zeros_like,
        np.ones_like,
        np.any,
        np.all,
        np.argmax,
        np.argmin,
        np.nonzero,
        lambda a: np.isclose(a, 0.5),
        lambda a: np.allclose(a, X),
        lambda a: np.any(a, axis=1),
        lambda a: np.argmax(a, axis=0),
    ],
)
def test_read_only_numpy_functions_answer_on_nodes_as_on_arrays(function):
    on_node, on_array = function(cg.Node(X)), function(X)
    assert not isinstance(on_node, cg.Node)
    assert type(on_node) is type(on_array)
    np.testing.assert_equal(on_node, on_array)


def test_isclose_takes_nodes_on_either_side():
    assert np.isclose(X, cg.Node(X)).all() and np.allclose(cg.Node(X), cg.Node(X))


def test_clip_takes_numpys_keywords():
    x = cg.Node([-2.0, 0.5, 3.0])
    assert np.clip(x, a_min=0, a_max=1).value.tolist() == [0.0, 0.5, 1.0]
    assert np.clip(x, min=0, max=1).value.tolist() == [0.0, 0.5, 1.0]
    assert np.clip(x, None, 1).value.tolist() == [-2.0, 0.5, 1.0]
    assert x.clip(max=0).value.tolist() == [-2.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="both a_min and min"):
        np.clip(x, a_min=0, min=0)


def test_max_and_min_take_initial_which_takes_its_share_of_the_gradient():
    x = np.array([1.0, 3.0, 3.0])
    assert np.max(cg.Node(x), initial=5.0).value == 5.0
    assert cg.grad(lambda v: cg.max(v, initial=5.0))(x).tolist() == [0.0, 0.0, 0.0]
    assert cg.grad(lambda v: cg.max(v, initial=0.0))(x).tolist() == [0.0, 0.5, 0.5]
    assert cg.grad(lambda v: cg.max(v, initial=3.0))(x).tolist() == [0.0, 1 / 3, 1 / 3]
    assert np.min(cg.Node(x), initial=2.0).value == 1.0
    assert np.max(cg.Node(np.zeros((2, 0))), axis=1, initial=-1.0).value.tolist() == [-1, -1]
    with pytest.raises(TypeError, match="initial is a Node"):
        cg.max(cg.Node(x), initial=cg.Node(1.0))


def test_concatenate_with_axis_none_flattens_as_numpy():
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([5.0])
    joined = np.concatenate([cg.Node(a), cg.Node(b)], axis=None)
    assert joined.value.tolist() == np.concatenate([a, b], axis=None).tolist()
    w = np.arange(5.0)
    g_a, g_b = cg.grad(lambda p, q: cg.sum(cg.concatenate([p, q], axis=None) * w), (0, 1))(a, b)
    assert g_a.tolist() == [[0.0, 1.0], [2.0, 3.0]] and g_b.tolist() == [4.0]


# -- ufunc methods without an op say which op to use -------------------------------------------


@pytest.mark.parametrize(
    "call, advice",
    [
        (lambda x: np.add.reduce(x), "compgraph.sum"),
        (lambda x: np.add.accumulate(x), "compgraph.cumsum"),
        (lambda x: np.multiply.reduce(x), "compgraph.prod"),
        (lambda x: np.maximum.reduce(x), "compgraph.max"),
        (lambda x: np.minimum.reduce(x), "compgraph.min"),
        (lambda x: np.add.at(x, [0], 1.0), "compgraph.index_add"),
        (lambda x: np.multiply.outer(x, x), "einsum('i,j->ij'"),
        (lambda x: np.maximum.accumulate(x), "compgraph has no op for it"),
    ],
)
def test_ufunc_methods_name_the_op_to_use(call, advice):
    with pytest.raises(cg.NotDifferentiableError, match=r"numpy\.\w+\.\w+ on a Node") as error:
        call(cg.Node([1.0, 2.0]))
    assert advice in str(error.value)
    if advice == "compgraph has no op for it":
        assert "compgraph.sum" not in str(error.value)
