"""Exact semantics of the graph and the backward pass: known values, sharing, modes."""

import warnings

import numpy as np
import pytest

import compgraph as cg


def test_lecture_example_values_and_gradients():
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    v = a + u
    J = 3 * v
    J.backward()
    assert (J.value, u.value, v.value) == (33.0, 6.0, 11.0)
    assert (a.grad, b.grad, c.grad) == (3.0, 6.0, 9.0)
    # Intermediate nodes keep their gradients, for pictures and teaching.
    assert (v.grad, u.grad, J.grad) == (3.0, 3.0, 1.0)


def test_scalars_are_zero_dimensional_float64():
    a = cg.Node(5)
    assert a.value.shape == () and a.value.dtype == np.float64
    assert a.shape == () and isinstance(a.value, np.ndarray)


def test_same_node_twice_in_one_op():
    a = cg.Node(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    (a * a).backward()
    assert a.grad == 6.0
    y = a * a
    assert y.parents == (a, a)


def test_fan_out_accumulates_every_use():
    x = cg.Node(2.0)
    y = x * 3 + x * x + cg.exp(x)
    y.backward()
    assert x.grad == pytest.approx(3 + 2 * 2 + np.exp(2), rel=1e-15)


@pytest.mark.parametrize("long_first", [True, False])
def test_diamond_with_unequal_path_lengths(long_first):
    x = cg.Node(1.5, name="x")
    long_path = cg.exp(cg.sigmoid(x * 2))
    short_path = x * 5
    y = long_path * short_path if long_first else short_path * long_path
    y.backward()
    s = 1 / (1 + np.exp(-3.0))
    long_value, d_long = np.exp(s), np.exp(s) * s * (1 - s) * 2
    assert x.grad == pytest.approx(d_long * 7.5 + long_value * 5, rel=1e-14)


def test_each_vjp_runs_once_per_node():
    calls = []

    class Double(cg.Op):
        @staticmethod
        def forward(x):
            return 2 * x

        @staticmethod
        def vjp(g, out, x):
            calls.append(1)
            return (2 * g,)

    x = cg.Node(1.0)
    d = cg.apply(Double, x)
    (d * d + d).backward()  # three uses of d
    assert len(calls) == 1
    assert x.grad == 2 * (2 * 2.0 + 1)


def test_shared_gradient_arrays_are_never_written():
    x = cg.Node(np.ones(3))
    y = cg.Node(np.ones(3))
    z = x + y  # add hands the same array to both inputs
    cg.sum(z * z + x).backward()
    np.testing.assert_array_equal(y.grad, 2 * z.value)
    np.testing.assert_array_equal(x.grad, 2 * z.value + 1)
    with pytest.raises(ValueError, match="read-only"):
        y.grad += 1


def test_unused_input_and_constants():
    a, unused = cg.Node(2.0), cg.Node(7.0)
    k = cg.Node(4.0, requires_grad=False)
    y = a * k + 1
    y.backward()
    assert a.grad == 4.0
    assert unused.grad is None
    assert k.grad is None and not k.requires_grad
    with pytest.warns(cg.IndependentOutputWarning, match="does not depend on unused"):
        assert cg.grad(lambda a, unused: a * 2, argnums=1)(1.0, 5.0) == 0.0


def test_second_backward_gives_the_same_numbers():
    a, b = cg.Node(2.0), cg.Node(3.0)
    h = a * b
    y = h + h * a
    y.backward()
    first = (a.grad.copy(), b.grad.copy(), h.grad.copy())
    y.backward()
    assert (a.grad, b.grad, h.grad) == first


def test_backward_of_a_subgraph_replaces_earlier_gradients():
    a = cg.Node(2.0)
    h = a * a
    y = h * 3
    y.backward()
    assert a.grad == 12.0
    h.backward()
    assert a.grad == 4.0


def test_seeded_backward_of_a_vector():
    x = cg.Node([1.0, 2.0, 3.0])
    y = x * x
    y.backward(np.array([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 12.0])


def test_one_element_array_root_needs_no_seed():
    w = cg.Node(np.full((1, 1), 3.0))
    (w * w).backward()
    assert w.grad.shape == (1, 1) and w.grad[0, 0] == 6.0


def test_broadcasting_gradients_are_reduced_to_each_shape():
    col = cg.Node(np.arange(3.0).reshape(3, 1), name="col")
    row = cg.Node(np.arange(4.0).reshape(1, 4), name="row")
    scalar = cg.Node(2.0, name="s")
    cg.sum((col + row) * scalar).backward()
    np.testing.assert_array_equal(col.grad, np.full((3, 1), 8.0))
    np.testing.assert_array_equal(row.grad, np.full((1, 4), 6.0))
    assert scalar.grad == np.sum(np.arange(3.0)[:, None] + np.arange(4.0))


def test_logistic_regression_gradients_match_the_analytic_formulas():
    rng = np.random.default_rng(7)
    n_x, m = 5, 40
    X_np = rng.normal(size=(n_x, m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    X = cg.Node(X_np, name="X", requires_grad=False)
    w = cg.Node(rng.normal(size=(n_x, 1)) * 0.1, name="w")
    b = cg.Node(0.3, name="b")
    A = cg.sigmoid(w.T @ X + b)
    J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
    J.backward()
    A_np = 1 / (1 + np.exp(-(w.value.T @ X_np + b.value)))
    cost = -np.mean(Y * np.log(A_np) + (1 - Y) * np.log(1 - A_np))
    np.testing.assert_allclose(J.value, cost, rtol=1e-13)
    np.testing.assert_allclose(w.grad, X_np @ (A_np - Y).T / m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.grad, np.mean(A_np - Y), rtol=1e-12, atol=1e-15)


@pytest.mark.slow  # about 12 s
def test_a_million_node_chain_builds_and_backpropagates():
    x = cg.Node(1.0, name="x")
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert y.value == 1_000_001.0
    assert x.grad == 1.0
    del y  # freeing the chain must not recurse either


def test_numpy_array_on_the_left_gives_a_node():
    Y = np.array([[1.0, 0.0]])
    A = cg.Node([[0.5, 0.25]])
    for result in (Y * A, Y - A, Y + A, Y / A, Y @ A.T, Y**A):
        assert isinstance(result, cg.Node)
    assert isinstance(2.0 - A, cg.Node)


def test_nodes_stay_hashable_and_comparisons_cannot_be_mistaken():
    a, b = cg.Node(1.0), cg.Node(1.0)
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1  # hashing is by identity
    for compare in (
        lambda: a == b,
        lambda: a == 1.0,
        lambda: a != b,
        lambda: a < 2,
        lambda: a >= 0,
        lambda: b in [a],  # would be True by value: the trap of list.index and `in`
    ):
        with pytest.raises(TypeError, match=r"compare values with node.value"):
            compare()
    x = cg.Node([1.0, 2.0, 3.0])
    mask = np.greater(x, 2)  # NumPy's comparison functions compare values, as data
    assert type(mask) is np.ndarray and mask.tolist() == [False, False, True]
    assert bool(cg.Node(0.0)) is False and bool(cg.Node(2.0)) is True
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)


def test_node_copies_its_input_and_keeps_it_read_only():
    array = np.zeros(3)
    node = cg.Node(array)
    array += 1
    assert node.value.sum() == 0  # a copy
    y = node * 2.0
    total = y.sum()  # a 0-d result, made on the scalar fast path
    for value in (node.value, y.value, total.value):
        with pytest.raises(ValueError, match="read-only"):
            value[...] = 10  # would change numbers the graph used, without a word


def test_every_gradient_is_read_only_leaves_included():
    w = cg.Node([1.0, 2.0], name="w")
    h = w * w
    (h * 3.0).sum().backward()
    for node in (w, h):  # w's gradient is a fresh array, h's was handed on to w's vjp
        with pytest.raises(ValueError, match="read-only"):
            node.grad[0] = 0.0


@pytest.mark.parametrize("new", [np.ones(3), np.ones(4), "text", None])
def test_a_value_cannot_be_rebound(new):
    """Rebinding would make backward() use numbers the forward pass never saw."""
    w = cg.Node(np.zeros(3), name="w")
    J = (w * w).sum()
    for node in (w, J):
        with pytest.raises(AttributeError, match=r"cannot be rebound.*cg\.Node\(") as caught:
            node.value = new
        assert node.describe() in str(caught.value)
    assert w.value.tolist() == [0.0, 0.0, 0.0]
    J.backward()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]


def test_integers_become_float64_and_float32_is_kept():
    assert cg.Node([1, 2]).value.dtype == np.float64
    assert cg.Node(True).value.dtype == np.float64
    x32 = cg.Node(np.ones(2, np.float32))
    assert x32.value.dtype == np.float32
    assert (x32 * 2.5 + 1).value.dtype == np.float32  # Python numbers take the node's dtype


def test_no_grad_records_nothing():
    w = cg.Node(2.0)
    with cg.no_grad():
        assert not cg.is_grad_enabled()
        y = w * 3
    assert cg.is_grad_enabled()
    assert not y.requires_grad and y.parents == () and y.op is None
    with pytest.raises(cg.BackwardError, match="does not depend"):
        y.backward()


def test_detach_cuts_the_graph():
    w = cg.Node(2.0, name="w")
    d = (w * w).detach()
    y = d * w
    y.backward()
    assert w.grad == 4.0  # d counts as the constant 4
    assert not d.requires_grad and d.parents == ()


def test_grad_and_value_and_grad():
    def cost(w, b, x):
        return cg.sum((w * x + b) ** 2)

    x = np.array([1.0, 2.0])
    value, (dw, db) = cg.value_and_grad(cost, argnums=(0, 1))(0.5, 1.0, x)
    assert value == (0.5 + 1) ** 2 + (1 + 1) ** 2
    assert dw == pytest.approx(2 * 1.5 * 1 + 2 * 2 * 2)
    assert db == pytest.approx(2 * 1.5 + 2 * 2)
    assert cg.grad(cost, argnums=2)(0.5, 1.0, x).tolist() == [1.5, 2.0]
    with pytest.raises(TypeError, match="argument 3"):
        cg.grad(cost, argnums=3)(0.5, 1.0, x)


def test_method_forms():
    x = cg.Node(np.arange(6.0).reshape(2, 3))
    assert x.T.shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.sum(axis=0).shape == (3,) and x.mean(keepdims=True).shape == (1, 1)
    assert float(x.sum()) == 15.0 and x.sum().item() == 15.0
    assert -x is not x and (+x) is x


def test_user_defined_op_with_attributes():
    class Scale(cg.Op):
        """x · k ; vjp: g · k"""

        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def vjp(g, out, x, k):
            return (g * k,)

    x = cg.Node([1.0, 2.0])
    y = cg.apply(Scale, x, k=3.0)
    assert y.op is Scale and y.attrs == {"k": 3.0} and Scale.name == "scale"
    cg.sum(y).backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_negative_zero_constant_is_not_confused_with_zero():
    x = cg.Node(2.0)
    with np.errstate(divide="ignore"), cg.errstate(nonfinite="ignore"):
        assert (1 / (x * 0.0)).value == np.inf
        assert (1 / (x * -0.0)).value == -np.inf
    x32 = cg.Node(np.float32(2.0))
    assert (x32 * 3.0).value.dtype == np.float32 and (cg.Node(2.0) * 3.0).value.dtype == np.float64


def test_grad_of_an_unused_node_argument_is_zero_not_a_stale_gradient():
    w = cg.Node(2.0)
    (w * w).backward()  # leaves w.grad = 4 from another graph
    # A Node argument that requires a gradient gets a differentiable Node back.
    with pytest.warns(cg.IndependentOutputWarning, match="does not depend on w"):
        assert float(cg.grad(lambda w, v: v * 3)(w, 1.0)) == 0.0
    with pytest.warns(cg.IndependentOutputWarning):
        assert float(cg.grad(lambda w: cg.Node(1.0, requires_grad=False) * 2)(w)) == 0.0
    assert float(cg.grad(lambda w: w * 5)(w)) == 5.0
    assert w.grad == 4.0  # and the earlier gradient is left as it was


def test_gradient_overflow_while_accumulating_is_reported():
    a = cg.Node(1e-10, name="a")
    c = cg.Node(1e308, requires_grad=False)
    loss = a * c + a * c
    with pytest.warns(cg.NonFiniteWarning, match="gradient of 'a' .* overflowed"):
        loss.backward()
    assert np.isinf(a.grad)


def test_transpose_method_accepts_numpy_forms():
    x = cg.Node(np.zeros((2, 3, 4)))
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(np.array([-1, 0, 1])).attrs == {"axes": (-1, 0, 1)}
    assert x.transpose().shape == (4, 3, 2)


def test_python_constants_of_every_kind():
    x32 = cg.Node(np.ones(2, np.float32))
    assert (x32 * True).value.dtype == np.float32  # as NumPy: Python scalars are weak
    with pytest.raises(cg.DTypeError, match="does not fit in float64"):
        cg.Node(1.0) * 10**400


def test_no_grad_and_error_policy_are_per_thread():
    import threading

    seen = {}

    def other_thread():
        seen["grad"] = cg.is_grad_enabled()
        seen["policy"] = cg.geterr()["nonfinite"]

    with cg.no_grad(), cg.errstate(nonfinite="raise"):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == {"grad": True, "policy": "warn"}


def test_pow_slopes_at_zero():
    x = cg.Node([0.0, 0.0, 2.0], name="x")
    cg.sum(x ** cg.Node([0.0, 2.0, 0.0], requires_grad=False)).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_indexing_routes_gradients_to_the_elements_used():
    x = cg.Node(np.arange(6.0).reshape(2, 3), name="x")
    y = cg.sum(x[0]) + cg.sum(x[:, 1:] * 2) + cg.sum(x[[1, 1]]) + cg.sum(x[x.value > 4])
    y.backward()
    assert x.grad.tolist() == [[1.0, 3.0, 3.0], [2.0, 4.0, 5.0]]
    assert x[1, 2].value == 5.0 and x[None].shape == (1, 2, 3) and x[..., 0].shape == (2,)


def test_bad_indices_name_the_op():
    x = cg.Node(np.zeros(3), name="v")
    with pytest.raises(
        cg.ShapeError, match=r"getitem cannot combine 'v' of shape \(3,\).*-n to n-1"
    ):
        x[5]
    with pytest.raises(cg.DTypeError, match="indices are not differentiable"):
        x[cg.Node(1.0)]


def test_a_non_finite_constant_is_blamed_where_it_makes_an_output_non_finite():
    w = cg.Node([1.0, 2.0], name="w")
    with pytest.warns(
        cg.NonFiniteWarning, match="mul output .* computed from the non-finite leaf constant"
    ):
        w * np.array([np.inf, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # masked away by the op: the output is finite, no report
        cg.where(np.array([False, True]), np.array([np.inf, 1.0]), w)
        cg.Node([1e200]) * 1.0  # finite values whose squares overflow: no warning either


def test_dropped_graphs_are_freed():
    import gc
    import weakref

    refs = []
    for _ in range(50):
        x = cg.Node(np.ones(3), name="x")
        y = cg.sum(cg.tanh(x * 2.0) ** 2)
        y.backward(create_graph=True)
        refs += [weakref.ref(x), weakref.ref(y), weakref.ref(x.grad)]
    del x, y
    gc.collect()
    assert all(ref() is None for ref in refs)


def test_first_order_graphs_hold_no_reference_cycles():
    """Freed by reference counting alone, so the cyclic collector has nothing to chase."""
    import gc
    import weakref

    gc.disable()
    try:
        x = cg.Node(np.ones(3), name="x")
        y = cg.sum(cg.sigmoid(x @ np.ones((3, 2))) * 2.0)
        y.backward()
        refs = [weakref.ref(node) for node in cg.graph.ancestors(y)]
        del x, y
        assert all(ref() is None for ref in refs)
    finally:
        gc.enable()


def test_concurrent_backward_passes_on_one_graph_do_not_interleave():
    import threading

    w = cg.Node(np.arange(1.0, 4.0), name="w")
    J = cg.sum(cg.stack([cg.sum(w * k) for k in range(2000)]))  # dJ/dw = Σk = 1999000
    failures = []

    def backpropagate():
        try:
            for _ in range(5):
                J.backward()
        except Exception as error:  # pragma: no cover - the bug this guards against
            failures.append(error)

    threads = [threading.Thread(target=backpropagate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert w.grad.tolist() == [1999000.0] * 3
