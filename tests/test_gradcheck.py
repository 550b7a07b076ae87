"""The gradient checker checks: wrong VJPs are caught and traced to their node, right ones pass."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.gradcheck import numerical_gradient, relative_difference
from compgraph.checks.testing import OP_CASES, float_arrays

CASES = {case.op.name: case for case in OP_CASES}


class SlightlyWrongMul(cg.Op):
    """x · y with a vjp for x that is 0.1% too large."""

    name = "slightly_wrong_mul"

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def vjp(g, out, x, y):
        return g * y * 1.001, g * x


class MeanInsteadOfSumAdd(cg.Op):
    """x + y whose vjp reduces a broadcast y by averaging instead of summing."""

    name = "wrong_reduction_add"

    @staticmethod
    def forward(x, y):
        return x + y

    @staticmethod
    def vjp(g, out, x, y):
        extra = g.ndim - y.ndim
        g_y = g.mean(axis=tuple(range(extra))) if extra else g
        return g, g_y


class WrongShapeVjp(cg.Op):
    name = "wrong_shape"

    @staticmethod
    def forward(x):
        return 2 * x

    @staticmethod
    def vjp(g, out, x):
        return (np.ones(x.size + 1),)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
Y = np.array([0.3, -1.2, 0.8])


def wrong_mul_f(x, y):
    return cg.sum(cg.exp(cg.apply(SlightlyWrongMul, cg.sigmoid(x), y)))


def test_a_correct_function_passes_with_a_great_relative_difference():
    report = cg.gradcheck(lambda x, y: cg.sum(cg.sigmoid(x * y) ** 2), X, Y)
    assert report.passed and report.verdict == "great"
    assert [check.name for check in report.inputs] == ["x0", "x1"]
    assert report.inputs[0].checked == 6 and report.inputs[0].shape == (2, 3)
    assert all(check.max_abs_error < 1e-8 for check in report.inputs)
    assert report.localization is None


def test_a_vjp_off_by_a_tenth_of_a_percent_is_caught_and_localized():
    with pytest.raises(cg.GradientCheckError) as info:
        cg.gradcheck(wrong_mul_f, X, Y)
    assert isinstance(info.value, AssertionError)
    report = info.value.report
    x_check, y_check = report.inputs
    assert not x_check.passed and y_check.passed
    assert x_check.max_rel_error == pytest.approx(1e-3, rel=1e-3)
    index = x_check.worst_index
    assert x_check.analytic == pytest.approx(1.001 * x_check.numeric, rel=1e-6)
    assert report.root.op is cg.ops.Sum
    bad = report.localization.node
    assert bad.op is SlightlyWrongMul
    first = report.localization.failures[0]
    assert [check.passed for check in first.inputs] == [False, True]
    message = str(info.value)
    for part in ("FAILED", "x0", str(index), "slightly_wrong_mul", "first wrong vjp", "(2, 3)"):
        assert part in message


def test_a_wrong_broadcasting_reduction_is_caught_and_localized():
    def f(x, y):
        return cg.sum(cg.apply(MeanInsteadOfSumAdd, x, y) ** 2)

    report = cg.gradcheck(f, X, Y, raise_on_failure=False)
    assert not report.passed
    assert [check.passed for check in report.inputs] == [True, False]
    (out,) = [node for node in [report.localization.node] if node is not None]
    assert out.op is MeanInsteadOfSumAdd
    assert report.localization.failures[0].input_shapes == ((2, 3), (3,))
    # The correct op with the same shapes passes.
    assert cg.gradcheck(lambda x, y: cg.sum((x + y) ** 2), X, Y).passed


def test_check_graph_points_at_the_first_wrong_node_from_the_leaves():
    x = cg.Node(X, name="x")
    y = cg.Node(Y, name="y")
    first = cg.apply(MeanInsteadOfSumAdd, x, y)
    first.name = "first"
    second = cg.apply(SlightlyWrongMul, cg.log(cg.sigmoid(first)), y)
    J = cg.mean(second)
    report = cg.check_graph(J, raise_on_failure=False)
    assert report.node is first
    assert [check.node for check in report.failures] == [first, second]
    assert [check.op for check in report.checks] == [
        "wrong_reduction_add",
        "sigmoid",
        "log",
        "slightly_wrong_mul",
        "mean",
    ]
    assert "'first'" in report.summary() and "1 more" in report.summary()
    with pytest.raises(cg.GradientCheckError, match="wrong_reduction_add"):
        cg.check_graph(J)


def test_check_graph_reports_a_vjp_of_an_impossible_shape():
    x = cg.Node(X, name="x")
    out = cg.sum(cg.apply(WrongShapeVjp, x))
    report = cg.check_graph(out, raise_on_failure=False)
    assert report.node is out.parents[0]
    # The engine's own check of the vjp's result (check_graph asks cg.gradients, issue 24).
    assert "vjp returned a gradient of shape (7,)" in str(report)
    assert "fix WrongShapeVjp.vjp" in str(report)


def test_check_graph_asks_for_the_gradients_backward_asks_for():
    class LazyMul(cg.Op):
        @staticmethod
        def forward(x, y):
            return x * y

        @staticmethod
        def vjp(g, out, x, y, needs_grad=(True, True)):
            # Wrong: skips x's gradient whenever y's is not needed.
            return (g * y if needs_grad[1] else None), (g * x if needs_grad[1] else None)

    x = cg.Node(X, name="x")
    assert cg.check_graph(cg.sum(cg.apply(LazyMul, x, cg.Node(X)))).passed
    report = cg.check_graph(cg.sum(cg.apply(LazyMul, x, X)), raise_on_failure=False)
    assert "vjp returned None for input #0" in str(report)
    assert "which requires a gradient" in str(report)
    assert report.node.op is LazyMul


def test_check_graph_skips_constant_inputs_and_promotes_float32():
    x = cg.Node(X.astype(np.float32), name="x")
    e = cg.exp(x)
    out = cg.sum(e * np.float32(2))
    report = cg.check_graph(out)
    # A step of 1e-6·|x| is only about 8 float32 spacings (1.2e-7·|x|), too few for float32
    # differences to be accurate to 1e-5: this passes only because the check runs in float64.
    assert report.passed
    mul = report.checks[1]
    assert mul.op == "mul"
    assert [check.name for check in mul.inputs] == [f"#0 exp #{e.id}"]  # not the constant


def test_check_graph_subsamples_big_inputs_reproducibly():
    x = cg.Node(np.linspace(-1, 1, 5000), name="x")
    out = cg.sum(cg.sigmoid(x))
    report = cg.check_graph(out, max_elements=50, seed=3)
    assert [check.inputs[0].checked for check in report.checks] == [50, 50]
    again = cg.check_graph(out, max_elements=50, seed=3)
    assert report.checks[0].inputs[0].worst_index == again.checks[0].inputs[0].worst_index


def test_gradcheck_subsamples_with_a_seed_and_finds_a_bug_in_every_element_when_not():
    x = np.linspace(0.1, 2.0, 200)
    report = cg.gradcheck(lambda x: cg.sum(cg.log(x) * x), x, max_elements=20, seed=1)
    assert report.inputs[0].checked == 20 and report.passed

    class WrongAtOneElement(cg.Op):
        @staticmethod
        def forward(x):
            return x * 1.0

        @staticmethod
        def vjp(g, out, x):
            wrong = g.copy()
            wrong[137] *= 1.01
            return (wrong,)

    report = cg.gradcheck(
        lambda x: cg.sum(cg.apply(WrongAtOneElement, x) ** 2), x, raise_on_failure=False
    )
    assert not report.passed and report.inputs[0].worst_index == (137,)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_every_builtin_op_passes_gradcheck_and_check_graph(name, data):
    case = CASES[name]
    shapes, attrs = data.draw(case.arguments)
    arrays = [data.draw(float_arrays(s, d)) for s, d in zip(shapes, case.domains, strict=True)]
    assume(case.is_smooth_at(*arrays, **attrs))
    out_shape = np.shape(case.reference(*arrays, **attrs))
    weights = data.draw(float_arrays(out_shape))

    def f(*nodes):
        return cg.sum(case.call(*nodes, **attrs) * weights)

    report = cg.gradcheck(f, *arrays)
    assert report.passed
    out, leaves = None, [cg.Node(a) for a in arrays]
    out = f(*leaves)
    assert cg.check_graph(out).passed


def test_inputs_may_be_nodes_numbers_or_float32_arrays():
    w = cg.Node(np.array([1.0, 2.0]), name="w")
    report = cg.gradcheck(
        lambda w, b, x: cg.sum(cg.sigmoid(w * x + b)), w, 0.5, np.array([0.3, -0.2], np.float32)
    )
    assert report.passed
    assert [check.name for check in report.inputs] == ["w", "x1", "x2"]
    assert w.grad is None  # the caller's node is left alone


def test_bad_inputs_get_clear_errors():
    x = np.array([1.0, 2.0])
    with pytest.raises(cg.ShapeError, match=r"returned .*shape \(2,\).*cg.sum"):
        cg.gradcheck(lambda x: x * 2, x)
    with pytest.raises(cg.NonFiniteError, match=r"input #0 'x0'.*not finite"):
        cg.gradcheck(lambda x: cg.sum(x), np.array([1.0, np.nan]))
    # The engine names the op where NaN appeared; gradcheck then refuses to compare.
    with pytest.raises(cg.NonFiniteError, match="f is nan"), pytest.warns(cg.NonFiniteWarning):
        cg.gradcheck(lambda x: cg.sum(x) * np.nan, x)
    with pytest.raises(ValueError, match=r"'c' of shape \(2,\) does not require a gradient"):
        cg.gradcheck(lambda c: cg.sum(c), cg.Node(x, name="c", requires_grad=False))
    with pytest.raises(TypeError, match="at least one input"):
        cg.gradcheck(lambda: cg.Node(1.0))
    with pytest.raises(TypeError, match="returned str"):
        cg.gradcheck(lambda x: "loss", x)
    # log is defined only at x = 0.5 itself (up to 1e-150): no step stays in its domain.
    with pytest.raises(
        cg.NonFiniteError, match=r"element \(0,\) ± every step tried .*edge of f's domain"
    ):
        with cg.errstate(nonfinite="ignore"):
            cg.gradcheck(lambda x: cg.sum(cg.log(1e-300 - (x - 0.5) ** 2)), np.array([0.5, 0.5]))
    # A step eps·max(1, |x|) beyond the domain's edge no longer fails: smaller steps are tried.
    assert cg.gradcheck(lambda x: cg.sum(cg.log(x)), np.array([5e-7, 1.0])).passed


def test_a_function_that_ignores_its_input_has_zero_gradient():
    report = cg.gradcheck(lambda x: cg.Node(3.0) * 2, np.ones(3))
    assert report.passed and report.inputs[0].analytic == 0.0


def test_relative_difference_and_its_verdicts():
    g = np.array([3.0, 4.0])
    assert relative_difference(g, g) == 0.0
    assert relative_difference(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_difference(g, -g) == 1.0
    assert relative_difference(g, g * (1 + 2e-3)) == pytest.approx(1e-3, rel=1e-2)
    report = cg.gradcheck(wrong_mul_f, X, Y, raise_on_failure=False)
    assert report.verdict == "suspicious"


def test_the_report_reads_as_a_table():
    text = str(cg.gradcheck(lambda a, b: cg.sum(a * b), X, Y))
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck passed") and "relative difference" in lines[0]
    assert lines[1].split()[:3] == ["input", "shape", "checked"]
    assert lines[2].startswith("x0") and "6/6" in lines[2] and "ok (great)" in lines[2]


def test_check_graph_walks_a_long_chain_without_recursion():
    x = cg.Node(0.5, name="x")
    y = x
    for _ in range(3000):
        y = cg.sigmoid(y) + 0.1
    report = cg.check_graph(y)
    assert report.passed and len(report.checks) == 6000


def _call_with(check, **options):
    """Run ``check`` (a name) on a correct function with ``options``."""
    x = np.array([0.5, 2.0])
    if check == "check_graph":
        return cg.check_graph(cg.sum(cg.log(cg.Node(x)) * 3.0), **options)
    return getattr(cg, check)(lambda x: cg.sum(cg.log(x) ** 2), x, **options)


OPTIONS_REFUSED = [
    ({"eps": "a"}, TypeError, r"eps must be a real number, not str 'a'"),
    ({"eps": True}, TypeError, r"eps must be a real number, not bool True"),
    ({"eps": 0}, ValueError, r"eps must be a positive relative step .*, got 0"),
    ({"eps": -1e-6}, ValueError, r"eps must be a positive relative step .*, got -1e-06"),
    ({"eps": float("nan")}, ValueError, r"eps must be finite, got nan"),
    ({"eps": 1e-17}, ValueError, r"eps=1e-17 is too small for float64: .*rounds back to x"),
    ({"eps": 1.0}, ValueError, r"eps must be below 1 \(.*\), got 1.0; use the default"),
    ({"rtol": -1}, ValueError, r"rtol must be a finite number >= 0 \(.*\), got -1"),
    ({"rtol": float("inf")}, ValueError, r"rtol must be a finite number >= 0 .*, got inf"),
    ({"rtol": [1e-5]}, TypeError, r"rtol must be a real number, not list \[1e-05\]"),
    ({"atol": float("nan")}, ValueError, r"atol must be a finite number >= 0 .*, got nan"),
    ({"atol": None}, TypeError, r"atol must be a real number, not NoneType None"),
    ({"max_elements": 0}, ValueError, r"max_elements must be at least 1 \(or None .*got 0"),
    ({"max_elements": 2.5}, TypeError, r"max_elements must be an integer .*not float 2.5"),
    ({"max_elements": True}, TypeError, r"max_elements must be an integer .*not bool True"),
    ({"seed": "s"}, TypeError, r"seed must be a non-negative integer, not str 's'"),
    ({"seed": 1.5}, TypeError, r"seed must be a non-negative integer, not float 1.5"),
    ({"seed": -1}, ValueError, r"seed must be a non-negative integer, got -1"),
    ({"raise_on_failure": "no"}, TypeError, r"raise_on_failure must be True or False, not str"),
]


@pytest.mark.parametrize("check", ["gradcheck", "gradgradcheck", "check_graph"])
@pytest.mark.parametrize(("options", "error", "message"), OPTIONS_REFUSED)
def test_options_are_validated_naming_the_function_and_the_argument(check, options, error, message):
    with pytest.raises(error, match=f"^{check}: {message}"):
        _call_with(check, **options)


@pytest.mark.parametrize("check", ["gradcheck", "gradgradcheck", "check_graph"])
def test_valid_options_of_every_kind_are_accepted(check):
    options = {"eps": 1e-5, "rtol": np.float64(1e-4), "atol": 0, "max_elements": np.int64(1)}
    assert _call_with(check, seed=np.uint8(3), **options).passed


def test_numerical_gradient_validates_its_step_too():
    with pytest.raises(ValueError, match="^numerical_gradient: eps must be a positive"):
        numerical_gradient(lambda x: float(x.sum()), np.ones(2), eps=-1.0)


def test_check_graph_takes_the_root_node():
    for wrong in (3.0, np.ones(2)):
        with pytest.raises(
            TypeError, match=r"^check_graph takes the root Node .*, not (float|ndarray)"
        ):
            cg.check_graph(wrong)
    with pytest.raises(TypeError, match=r"gradcheck\(f, \*inputs\)"):
        cg.check_graph(lambda x: cg.sum(x))


# -- large inputs: the step is relative to |x| ---------------------------------------------------

#: Where the absolute step 1e-6 is below the float64 spacing (about 2e-6 at 1e10).
LARGE = np.array([1e10, 3e10, 2.5e10])
CORRECT_AT_LARGE_VALUES = {
    "x * x": lambda x: cg.sum(x * x),
    "x + x": lambda x: cg.sum(x + x),
    "sum": lambda x: cg.sum(x),
    "log": lambda x: cg.sum(cg.log(x)),
    "1 / x": lambda x: cg.sum(1 / x),
}


@pytest.mark.parametrize("name", sorted(CORRECT_AT_LARGE_VALUES))
def test_a_correct_op_at_1e10_passes_and_check_graph_blames_nothing(name):
    f = CORRECT_AT_LARGE_VALUES[name]
    report = cg.gradcheck(f, LARGE)
    # Not just within atol (|∂ log x| = 1e-10 is): the numbers themselves agree.
    assert report.inputs[0].max_rel_error < 1e-8
    graph = cg.check_graph(f(cg.Node(LARGE, name="x")))
    assert graph.passed and graph.node is None
    assert all(check.max_rel_error < 1e-8 for node in graph.checks for check in node.inputs)


def test_the_step_is_relative_and_the_quotient_uses_the_step_actually_taken():
    # x ± eps·max(1, |x|) rounds, and dividing by the rounded distance makes a linear
    # function's difference quotient exact at every magnitude.
    for value in (0.1, -7.3, 1e10, -4e300):
        assert numerical_gradient(lambda x: float(x[0]), np.array([value])).tolist() == [1.0]
    assert "steps eps=1e-06·max(1, |x|)" in str(cg.gradcheck(lambda x: cg.sum(x * x), LARGE))


# -- the caller's gradients are the caller's ---------------------------------------------------


def _trained_model():
    """Parameters with the gradients of the model's own cost, and a closed-over intermediate."""
    w = cg.Node(np.array([1.0, -2.0]), name="w")
    b = cg.Node(0.5, name="b")
    cg.sum((w * 3.0 + b) ** 2).backward()
    hidden = w * 2.0  # recorded before the check, never backpropagated
    return w, b, hidden


@pytest.mark.parametrize("check", [cg.gradcheck, cg.gradgradcheck])
def test_the_gradients_of_closed_over_nodes_are_left_as_they_were(check):
    w, b, hidden = _trained_model()
    before = {node: node.grad for node in (w, b, hidden)}
    w_grad = w.grad.copy()

    def f(x):
        return cg.sum(cg.sigmoid(x * w + b) * hidden)

    report = check(f, np.array([0.3, 0.7]))
    assert report.passed
    assert all(node.grad is grad for node, grad in before.items())
    assert hidden.grad is None and np.array_equal(w.grad, w_grad)
    # The check asks cg.gradients and writes no .grad anywhere, its own graph included
    # (issue 24); report.root can still be drawn, and differentiated by whoever wants to.
    assert report.root.grad is None


@pytest.mark.parametrize("check", [cg.gradcheck, cg.gradgradcheck])
def test_closed_over_gradients_survive_a_failing_check(check):
    w, b, _ = _trained_model()
    before = {w: w.grad, b: b.grad}

    def f(x):
        return cg.sum(cg.exp(cg.apply(SlightlyWrongMul, x, w)) * b)

    with pytest.raises(cg.GradientCheckError):
        check(f, np.array([0.3, 0.7]))
    assert all(node.grad is grad for node, grad in before.items())


# -- gradgradcheck: second derivatives, reported like first ---------------------------------


class ZeroSlopeIdentity(cg.Op):
    """x ; vjp: 0 (wrong: the identity's slope is 1)"""

    name = "zero_slope_identity"

    @staticmethod
    def forward(x):
        return x

    @staticmethod
    def vjp(g, out, x):
        return (g * 0.0,)


class CubeWithWrongSecondDerivative(cg.Op):
    """x³ ; vjp: 3x²·g, with x² taken through an op whose own vjp is wrong"""

    name = "cube_with_wrong_second_derivative"

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def vjp(g, out, x):
        return (3 * ZeroSlopeIdentity(x * x) * g,)


def cube_sum(x):
    return cg.sum(cg.apply(CubeWithWrongSecondDerivative, x))


def test_the_gradgradcheck_report_reads_like_gradcheck_s():
    report = cg.gradgradcheck(lambda a, b: cg.sum(cg.tanh(a * b) ** 2), X, Y)
    lines = str(report).splitlines()
    assert lines[0].startswith("gradgradcheck passed: S = Σᵢ⟨uᵢ, ∂f/∂xᵢ⟩ = ")
    assert "relative difference" in lines[0] and "steps eps=1e-06·max(1, |x|)" in lines[0]
    assert lines[1].split()[:3] == ["input", "shape", "checked"]
    assert lines[2].startswith("x0") and "6/6" in lines[2] and "ok (great)" in lines[2]
    assert lines[3].startswith("x1") and "3/3" in lines[3]
    assert report.passed and report.check == "gradgradcheck"
    assert str(cg.gradcheck(lambda a: cg.sum(a), X)).startswith("gradcheck passed: f = ")


def test_gradgradcheck_reports_a_wrong_second_derivative_and_the_op_inside_the_vjp():
    x = np.array([0.7, -1.2])
    assert cg.gradcheck(cube_sum, x).passed  # first order cannot see it
    with pytest.raises(cg.GradientCheckError) as info:
        cg.gradgradcheck(cube_sum, x)
    report = info.value.report
    assert not report.passed and report.verdict == "wrong"
    (check,) = report.inputs
    # S = Σ u·3x²; its slope is 6x·u, of which the zero-slope op lets through nothing.
    assert check.analytic == 0.0 and check.numeric != pytest.approx(0.0)
    assert report.localization.node.op is ZeroSlopeIdentity
    message = str(info.value)
    assert message.startswith("gradgradcheck FAILED: S = Σᵢ⟨uᵢ, ∂f/∂xᵢ⟩")
    assert "Localized by check_graph: first wrong vjp" in message
    assert "zero_slope_identity" in message
    # raise_on_failure=False returns the same report (its graph, and so its node ids, anew).
    returned = cg.gradgradcheck(cube_sum, x, raise_on_failure=False)
    assert str(returned).splitlines()[:3] == message.splitlines()[:3]
    assert returned.localization.node.op is ZeroSlopeIdentity


def test_gradgradcheck_errors_name_gradgradcheck_and_f():
    with pytest.raises(cg.ShapeError, match=r"^gradgradcheck: .*returned .*shape \(2,\)"):
        cg.gradgradcheck(lambda x: x * 2, np.ones(2))
    with pytest.raises(TypeError, match=r"^gradgradcheck: .*returned str"):
        cg.gradgradcheck(lambda x: "loss", np.ones(2))
    with pytest.raises(cg.NonFiniteError, match=r"^gradgradcheck input #0 'x0'.*not finite"):
        cg.gradgradcheck(lambda x: cg.sum(x), np.array([1.0, np.inf]))


# -- issue 20: steps from the input's scale and precision; no blame where the check cannot decide


class SlightlyWrongReciprocal(cg.Op):
    """1 / x with a vjp that is 0.1% too large."""

    name = "slightly_wrong_reciprocal"

    @staticmethod
    def forward(x):
        return 1.0 / x

    @staticmethod
    def vjp(g, out, x):
        return (-g * out * out * 1.001,)


SMALL = np.array([1e-5, 3e-5, 2e-5])
CORRECT_AT_ANY_SCALE = {
    "1 / x": lambda x: cg.sum(1 / x),
    "log": lambda x: cg.sum(cg.log(x)),
    "x * x": lambda x: cg.sum(x * x),
    "x ** 3": lambda x: cg.sum(x**3),
    "sqrt": lambda x: cg.sum(cg.sqrt(x)),
    "x + 1": lambda x: cg.sum(x + 1.0),
}


@pytest.mark.parametrize("scale", [1e-5, 1e-2, 1.0, 1e5, 1e10])
@pytest.mark.parametrize("name", sorted(CORRECT_AT_ANY_SCALE))
def test_correct_functions_pass_at_every_scale_and_check_graph_blames_nothing(name, scale):
    f = CORRECT_AT_ANY_SCALE[name]
    x = np.array([1.0, 3.0, 2.0]) * scale
    report = cg.gradcheck(f, x)
    assert report.passed, str(report)
    assert report.inputs[0].max_rel_error < 1e-7 or report.verdict == "negligible"
    graph = cg.check_graph(f(cg.Node(x, name="x")))
    assert graph.passed and graph.node is None, str(graph)
    assert cg.gradgradcheck(f, x).passed


def test_the_exact_div_near_zero_is_not_accused():
    # The step eps·max(1, |x|) = 1e-6 is a tenth of x = 1e-5: the difference quotient of
    # 1/x was 1% off and check_graph blamed div.
    report = cg.gradcheck(lambda x: cg.sum(1 / x), np.array([1e-5, 3e-5]))
    assert report.passed and report.localization is None
    assert report.inputs[0].max_rel_error < 1e-8


class SlightlyWrongSquare(cg.Op):
    """x² with a vjp that is 0.1% too large."""

    name = "slightly_wrong_square"

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def vjp(g, out, x):
        return (g * 2.0 * x * 1.001,)


# The gradient must exceed atol to be seen at all: 1/x's is large near 0, x²'s far from it.
@pytest.mark.parametrize(
    ("op", "scale"),
    [
        (SlightlyWrongReciprocal, 1e-5),
        (SlightlyWrongReciprocal, 1.0),
        (SlightlyWrongSquare, 1.0),
        (SlightlyWrongSquare, 1e10),
    ],
)
def test_a_vjp_off_by_a_tenth_of_a_percent_is_caught_at_every_scale(op, scale):
    x = np.array([1.0, 3.0, 2.0]) * scale
    report = cg.gradcheck(lambda x: cg.sum(cg.apply(op, x)), x, raise_on_failure=False)
    assert not report.passed and report.verdict in ("suspicious", "wrong")
    assert report.inputs[0].max_rel_error == pytest.approx(1e-3, rel=1e-2)
    assert report.localization.node.op is op


def float32_exp(x):
    return cg.sum(cg.exp(cg.astype(x, np.float32)))


def test_a_float32_intermediate_passes_and_astype_is_not_blamed():
    x = np.array([0.5, -1.0, 2.0])
    report = cg.gradcheck(float32_exp, x)
    assert report.passed and report.localization is None, str(report)
    assert cg.check_graph(float32_exp(cg.Node(x))).passed
    assert cg.gradgradcheck(float32_exp, x).passed
    # float32 inputs and a float32 model throughout
    w = np.array([0.3, -0.2], np.float32)
    assert cg.gradcheck(lambda w: cg.sum(cg.astype(cg.sigmoid(w), np.float32) ** 2), w).passed


def test_a_vjp_off_by_a_tenth_of_a_percent_is_caught_in_float32():
    def f(x):
        return cg.sum(cg.apply(SlightlyWrongMul, cg.astype(x, np.float32), np.float32(3.0)))

    report = cg.gradcheck(f, np.array([0.5, -1.0, 2.0]), raise_on_failure=False)
    assert not report.passed
    assert report.localization.node.op is SlightlyWrongMul


KINKS = {
    "relu at 0": (lambda x: cg.sum(cg.relu(x)), np.array([0.0, 1.0, -2.0])),
    "relu of a sum at 0": (lambda x: cg.relu(x[0] + x[1]) * 3.0, np.array([1.0, -1.0])),
    "abs at 0": (lambda x: cg.sum(cg.abs(x) * 2.0), np.array([1.0, 0.0])),
    "max tie": (lambda x: cg.maximum(x[0], x[1]), np.array([0.5, 0.5])),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_at_a_kink_the_check_passes_and_blames_nothing(name):
    f, x = KINKS[name]
    for report in (cg.gradcheck(f, x), cg.gradgradcheck(f, x)):
        assert report.passed and report.localization is None
        assert "wrong vjp" not in str(report)
    graph = cg.check_graph(f(cg.Node(x)))
    assert graph.passed and graph.node is None


def test_at_a_kink_where_differences_disagree_the_report_says_not_differentiable():
    # abs and a max tie have conventions (0, a split) that central differences reproduce;
    # relu's 0 does not: the difference quotient at its kink is 1/2.
    report = cg.gradcheck(lambda x: cg.sum(cg.relu(x)), np.array([0.0, 1.0]))
    (check,) = report.inputs
    assert report.passed and check.not_differentiable == 1 and check.checked == 2
    assert "x0 element (0,): not differentiable here" in str(report)
    graph = cg.check_graph(cg.relu(cg.Node(np.array([0.0, 1.0]))) * 1.0)
    assert graph.passed and "relu" in str(graph) and "not differentiable" in str(graph)
    # f' has the kink: the second derivative jumps there
    second = cg.gradgradcheck(lambda x: cg.sum(cg.relu(x) ** 2), np.array([0.0, 1.0]))
    assert second.passed and second.inputs[0].not_differentiable == 1


def test_relu_at_its_kink_is_named_but_not_blamed_when_f_is_smooth_there():
    # relu(x) - relu(-x) is x, whose slope is 1; the engine's convention relu'(0) = 0 gives
    # 0 at x = 0. The check fails (the gradient is not f's derivative), but relu's rule is
    # right: its own check at 0 cannot decide, and the report says so instead of blaming it.
    def f(x):
        return cg.sum(cg.relu(x) - cg.relu(-x))

    with pytest.raises(cg.GradientCheckError) as info:
        cg.gradcheck(f, np.array([0.0, 1.0]))
    report = info.value.report
    assert report.localization.node is None
    message = str(info.value)
    assert "first wrong vjp" not in message
    assert "relu" in message and "not differentiable" in message


def test_the_check_says_why_it_cannot_decide():
    # sigmoid(x - 1e10) changes on a scale of 1 at x = 1e10, where steps relative to x are
    # far coarser: nothing can be decided there, and no op is blamed.
    with pytest.raises(cg.GradientCheckError, match="cannot decide") as info:
        cg.gradcheck(lambda x: cg.sum(cg.sigmoid(x - 1e10)), np.array([1e10]))
    assert info.value.report.verdict == "undecided"
    assert "first wrong vjp" not in str(info.value)


CONSTANT_GRADIENT = {
    "3x": (lambda x: 3.0 * x, 1.0),
    "affine": (lambda x: cg.sum(x * np.array([2.0, -1.0]) + 4.0), np.array([0.5, 2.0])),
    "sum of relu": (lambda x: cg.sum(cg.relu(x)), np.array([0.5, -2.0])),
    "sum of abs": (lambda x: cg.sum(cg.abs(x)), np.array([0.5, -2.0])),
    "two inputs": (lambda x, y: cg.sum(x * 2.0 - y), np.array([1.0, 2.0])),
}


@pytest.mark.parametrize("name", sorted(CONSTANT_GRADIENT))
def test_gradgradcheck_of_a_constant_gradient_is_a_zero_second_derivative(name):
    f, x = CONSTANT_GRADIENT[name]
    inputs = (x, x) if name == "two inputs" else (x,)
    report = cg.gradgradcheck(f, *inputs)
    assert report.passed
    assert all(check.analytic == 0.0 and check.numeric == 0.0 for check in report.inputs)


def test_a_float32_sum_too_coarse_for_the_tolerance_is_undecided_with_advice():
    # f = Σ exp(x) over 200 float32 elements is about 365, resolved to ~4e-5: no step
    # recovers one element's slope to 1e-5. The check says so, and blames nothing.
    x = np.linspace(-2, 2, 200)
    report = cg.gradcheck(float32_exp, x, max_elements=10, raise_on_failure=False)
    assert not report.passed and report.verdict == "undecided" and report.localization is None
    assert "float32 somewhere in it" in str(report) and "loosen rtol" in str(report)
    assert cg.gradcheck(float32_exp, x, max_elements=10, rtol=1e-3).passed
