"""Bad input gets an error that names the op, the nodes and the shapes, and says what to do."""

import re
import warnings

import numpy as np
import pytest

import compgraph as cg


def test_matmul_inner_dimension_mismatch():
    w = cg.Node(np.zeros((3, 1)), name="w")
    X = cg.Node(np.zeros((4, 10)), name="X")
    with pytest.raises(cg.ShapeError) as info:
        w.T @ X
    message = str(info.value)
    for part in ("matmul", "(1, 3)", "'X'", "(4, 10)", "transpose"):
        assert part in message


def test_operands_that_do_not_broadcast():
    a = cg.Node(np.zeros((2, 3)), name="a")
    b = cg.Node(np.zeros(4), name="b")
    with pytest.raises(
        cg.ShapeError,
        match=r"add cannot combine 'a' of shape \(2, 3\), 'b' of shape \(4,\).*reshape",
    ):
        a + b
    with pytest.raises(ValueError):  # ShapeError is also a ValueError
        a * b


def test_reshape_to_the_wrong_size():
    with pytest.raises(cg.ShapeError, match=r"reshape .*shape=\(4,\).*as many elements"):
        cg.reshape(cg.Node(np.zeros(3), name="v"), (4,))


def test_sum_over_a_missing_axis():
    with pytest.raises(cg.ShapeError, match=r"sum .*axis=2"):
        cg.sum(cg.Node(np.zeros((2, 2)), name="m"), axis=2)


def test_backward_on_a_vector_without_a_seed():
    y = cg.Node(np.ones((1, 5)), name="A") * 2
    with pytest.raises(cg.BackwardError) as info:
        y.backward()
    message = str(info.value)
    assert "(1, 5)" in message and ".sum()" in message and "grad=" in message


def test_seed_of_the_wrong_shape():
    y = cg.Node(np.ones(3), name="y")
    with pytest.raises(cg.ShapeError, match=r"seed gradient has shape \(2,\).*'y' of shape \(3,\)"):
        y.backward(np.ones(2))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("abc", "not numbers"),
        ([object()], "not numbers"),
        (None, "not numbers"),
        (1 + 2j, "complex"),
        ([[1.0, 2.0], [3.0]], "rectangular"),
        (np.ones(2, dtype=np.longdouble) if np.longdouble != np.float64 else "x", "float64"),
    ],
)
def test_values_that_are_not_real_arrays(value, words):
    with pytest.raises(cg.DTypeError, match=words):
        cg.Node(value, name="bad")


def test_a_node_inside_a_node():
    with pytest.raises(cg.DTypeError, match="already a Node"):
        cg.Node(cg.Node(1.0))


def test_strings_as_operands():
    with pytest.raises(cg.DTypeError, match="operand 'oops'"):
        cg.Node(1.0) + "oops"


def test_apply_needs_an_op_class():
    with pytest.raises(cg.OpError, match="Op subclass"):
        cg.apply(np.add, cg.Node(1.0), 2.0)

    class NoForward(cg.Op):
        pass

    with pytest.raises(cg.OpError, match="'noforward'.*defines no forward"):
        cg.apply(NoForward, cg.Node(1.0))


def test_op_without_vjp_names_the_op():
    class Floor(cg.Op):
        @staticmethod
        def forward(x):
            return np.floor(x)

    y = cg.apply(Floor, cg.Node(1.5, name="x"))
    assert y.value == 1.0
    with pytest.raises(cg.OpError, match="'floor'.*has no vjp"):
        y.backward()


def test_vjp_with_the_wrong_number_of_gradients():
    class Twice(cg.Op):
        @staticmethod
        def forward(x):
            return 2 * x

        @staticmethod
        def vjp(g, out, x):
            return 2 * g, 2 * g

    with pytest.raises(cg.OpError, match=r"'twice'.*returned 2 gradients for 1 inputs.*\(g_x,\)"):
        cg.apply(Twice, cg.Node(1.0)).backward()


def test_vjp_with_the_wrong_shape():
    class Bad(cg.Op):
        @staticmethod
        def forward(x):
            return x.sum(axis=0)

        @staticmethod
        def vjp(g, out, x):
            return (np.ones((5, 5)),)

    y = cg.apply(Bad, cg.Node(np.ones((2, 3)), name="m"))
    with pytest.raises(
        cg.OpError,
        match=r"'bad' vjp returned a gradient of shape \(5, 5\) for input #0 'm' of shape \(2, 3\)",
    ):
        cg.sum(y).backward()


def test_forward_returning_integers_is_refused():
    class Count(cg.Op):
        @staticmethod
        def forward(x):
            return np.array(x.size)

    with pytest.raises(cg.OpError, match="'count' forward returned ndarray of dtype int"):
        cg.apply(Count, cg.Node([1.0, 2.0]))


def test_op_classes_are_called_on_inputs_not_instantiated():
    with pytest.raises(TypeError, match=r"compgraph.apply\(Add"):
        cg.ops.Add()
    assert cg.ops.Add(np.float64(1.0), 2.0) == 3.0  # on values: the forward
    assert isinstance(cg.ops.Add(cg.Node(1.0), 2.0), cg.Node)  # on nodes: recorded


def test_sigmoid_is_stable_and_exact_at_the_limits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = cg.sigmoid(cg.Node([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
        cg.sum(s).backward()
    assert s.value[0] == 0.0 and s.value[-1] == 1.0 and s.value[2] == 0.5
    assert s.value[1] == pytest.approx(np.exp(-40.0), rel=1e-15)  # no cancellation


def test_nonfinite_value_warns_naming_the_first_node():
    x = cg.Node([1.0, 0.0], name="x")
    with pytest.warns(cg.NonFiniteWarning) as record, np.errstate(divide="ignore"):
        y = cg.log(x)
        z = y * 2  # inf again, downstream: not reported a second time
    assert len(record) == 1
    message = str(record[0].message)
    assert "log output" in message and "'x' of shape (2,)" in message and "1 inf" in message
    assert "positive" in message
    assert not np.isfinite(z.value).all()


def test_strict_mode_raises():
    x = cg.Node(800.0, name="big")
    with cg.errstate(nonfinite="raise"), np.errstate(over="ignore"):
        with pytest.raises(cg.NonFiniteError, match="exp output.*'big'"):
            cg.exp(x)
    assert cg.geterr() == {"nonfinite": "warn"}
    with pytest.raises(ValueError, match="one of"):
        cg.seterr(nonfinite="loud")


def test_nonfinite_leaf_values_warn():
    with pytest.warns(cg.NonFiniteWarning, match="leaf value 'data'.*1 nan"):
        cg.Node([1.0, np.nan], name="data")


def test_nonfinite_gradient_warns_naming_the_op():
    # sqrt-like x ** 0.5 at 0 has an infinite slope although its value is finite.
    x = cg.Node([0.0, 4.0], name="x")
    y = cg.sum(x**0.5)
    with pytest.warns(cg.NonFiniteWarning, match=r"gradient reaching input #0 'x' .* through pow"):
        y.backward()
    assert x.grad[0] == np.inf and x.grad[1] == 0.25


def test_ignore_policy_is_silent():
    with cg.errstate(nonfinite="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="ignore"):
            cg.log(cg.Node(0.0))


def test_matmul_of_scalars_is_a_shape_error():
    with pytest.raises(cg.ShapeError, match=r"matmul cannot combine 'a' of shape \(\)"):
        cg.Node(2.0, name="a") @ cg.Node(3.0, name="b")


def test_axis_errors_say_which_axes_exist():
    with pytest.raises(cg.ShapeError, match=r"mean .*axis=5.*-ndim to -1"):
        cg.mean(cg.Node(np.zeros((2, 2)), name="m"), axis=5)
    with pytest.raises(cg.ShapeError, match=r"transpose .*every axis"):
        cg.Node(np.zeros((2, 2)), name="m").transpose((0, 0))


class WrongSecondSlot(cg.Op):
    """x · y ; vjp: right for x, a gradient of the wrong shape for y"""

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def vjp(g, out, x, y):
        return g * y, np.ones(7)


class InfiniteSecondSlot(cg.Op):
    """x · y ; vjp: right for x, inf for y"""

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def vjp(g, out, x, y):
        return g * y, g * np.inf


def test_an_op_given_the_same_node_twice_names_the_slot_at_fault():
    # parents.index(parent) found slot #0 for both slots of apply(Op, a, a).
    a = cg.Node([1.0, 2.0], name="a")
    with pytest.raises(cg.OpError, match="input #1 'a'"):
        cg.sum(cg.apply(WrongSecondSlot, a, a)).backward()
    with pytest.warns(cg.NonFiniteWarning, match="input #1 'a'"):
        cg.sum(cg.apply(InfiniteSecondSlot, a, a)).backward()


# -- how backward finds a non-finite gradient ---------------------------------------------------
# Gradients are checked after a floating-point exception (NumPy's error flags), not one by one;
# these cases make inf/NaN without one, or rely on one being noticed.


def test_a_gradient_that_overflows_is_caught_by_the_error_flags():
    x = cg.Node(5e-324, name="x")  # ln x is finite; d ln x / dx = 1/x overflows
    with pytest.warns(cg.NonFiniteWarning, match=r"gradient reaching input #0 'x' .* log"):
        cg.log(x).backward()
    assert x.grad == np.inf


def test_a_graph_holding_an_inf_is_checked_element_wise():
    # inf · 2 signals nothing, so only an element-wise check sees w's gradient turn inf.
    with pytest.warns(cg.NonFiniteWarning, match="leaf value 'x'"):
        x = cg.Node([np.inf, 1.0], name="x")
    w = cg.Node(2.0, name="w")
    with pytest.warns(cg.NonFiniteWarning, match="mul output"):
        y = cg.sum(x * w)
    with pytest.warns(cg.NonFiniteWarning, match=r"gradient reaching input #1 'w'"):
        y.backward()


def test_a_value_made_under_ignore_still_makes_backward_check():
    w = cg.Node(2.0, name="w")
    with cg.errstate(nonfinite="ignore"):
        x = cg.Node([np.inf], name="x")
        y = cg.sum(x * w)
    with pytest.warns(cg.NonFiniteWarning, match=r"gradient reaching input #1 'w'"):
        y.backward()


class QuietNaN(cg.Op):
    """x ; vjp: NaN, returned outright (no floating-point exception)"""

    @staticmethod
    def forward(x):
        return x.copy()

    @staticmethod
    def vjp(g, out, x):
        return (np.full(x.shape, np.nan),)


def test_a_user_op_is_checked_element_wise():
    x = cg.Node([1.0, 2.0], name="x")
    with pytest.warns(
        cg.NonFiniteWarning, match=r"gradient reaching input #0 'x' .* through quietnan"
    ):
        cg.sum(QuietNaN(x)).backward()


def test_nodes_holding_non_finite_values_are_not_kept_alive():
    import gc
    import weakref

    from compgraph import numerics

    with cg.errstate(nonfinite="ignore"):
        x = cg.Node([np.nan])
    ref = weakref.ref(x)
    assert numerics.holding_nonfinite[x.id] is x
    del x
    gc.collect()
    assert ref() is None and not numerics.holding_nonfinite


# -- repeated reports fold (issue 25) -------------------------------------------------------------


def nonfinite_reports(caught):
    return [w for w in caught if w.category is cg.NonFiniteWarning]


def test_reports_of_one_kind_fold_into_one_warning_with_a_count():
    from compgraph.numerics import fold_nonfinite_reports

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        with fold_nonfinite_reports():
            for _ in range(50):  # a fresh node, so a fresh id, each time
                cg.exp(cg.Node(1000.0, name="x"))
            for _ in range(3):
                cg.log(cg.Node(0.0, name="y"))
            assert nonfinite_reports(caught) == []  # held until the run ends
    reports = nonfinite_reports(caught)
    assert len(reports) == 2
    first, second = (str(w.message) for w in reports)
    assert first.startswith("exp output") and "'x'" in first and "50 times" in first
    assert second.startswith("log output") and "3 times" in second
    # Each points at the line that made its first occurrence, as an unfolded report does.
    assert {w.filename for w in reports} == {__file__}


def test_a_report_made_once_is_not_given_a_count_and_outside_a_run_nothing_folds():
    from compgraph.numerics import fold_nonfinite_reports

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        with fold_nonfinite_reports():
            cg.exp(cg.Node(1000.0, name="x"))
        for _ in range(3):
            cg.exp(cg.Node(1000.0, name="x"))
    reports = [str(w.message) for w in nonfinite_reports(caught)]
    assert len(reports) == 4 and not any("times" in report for report in reports)


def test_folding_keeps_the_raise_policy_and_reports_a_run_that_stops_with_an_error():
    from compgraph.numerics import fold_nonfinite_reports

    with np.errstate(all="ignore"), fold_nonfinite_reports(), cg.errstate(nonfinite="raise"):
        with pytest.raises(cg.NonFiniteError, match="exp output"):
            cg.exp(cg.Node(1000.0, name="x"))
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        with pytest.raises(KeyError), fold_nonfinite_reports():
            cg.exp(cg.Node(1000.0, name="x"))
            cg.exp(cg.Node(1000.0, name="x"))
            raise KeyError("stopped")
    assert [str(w.message).count("2 times") for w in nonfinite_reports(caught)] == [1]


def test_a_diverging_course_run_gives_one_report_per_kind_not_thousands():
    from compgraph.logistic import initialize_with_zeros, optimize

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 40)) * [[1.0], [100.0], [1000.0]]
    Y = (X[:1] > 0).astype(float)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        params, _, _ = optimize(
            *initialize_with_zeros(3), X, Y, num_iterations=300, learning_rate=1e305
        )
    reports = [str(w.message) for w in nonfinite_reports(caught)]
    assert not np.isfinite(params["w"]).all()  # the course's plain descent, as it was
    assert 1 <= len(reports) <= 12, len(reports)  # was about 600 for these 300 steps
    assert any(re.search(r"\b\d{3} times\b", report) for report in reports), reports
    assert sum(len(report) for report in reports) < 10_000
