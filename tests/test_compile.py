"""cg.compile against eager compgraph, bit for bit: the lessons' steps, second order, every op
of the op table (first and second order), and the limits it refuses rather than freezes."""

import importlib
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.testing import OP_CASES, float_arrays
from compgraph.models import networks
from compgraph.models.datasets import planar_flower

CASES = {case.op.name: case for case in OP_CASES}


def assert_same_bits(got, expected):
    """Equal structure, types of container, dtypes, shapes and every bit of every array."""
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_same_bits(g, e)
        return
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_same_bits(got[key], expected[key])
        return
    if isinstance(expected, cg.Node):  # eager returns a Node, compiled code its array
        expected = expected.value
    got_array, expected_array = np.asarray(got), np.asarray(expected)
    assert got_array.dtype == expected_array.dtype
    assert got_array.shape == expected_array.shape
    assert got_array.tobytes() == expected_array.tobytes(), (got_array, expected_array)


def compiled_equals_eager(fn, *args):
    """Call the compiled fn twice (the trace's call, then the replay) against eager."""
    compiled = cg.compile(fn)
    expected = fn(*args)
    assert_same_bits(compiled(*args), expected)
    assert_same_bits(compiled(*args), expected)
    assert compiled.traces == 1
    return compiled


# -- the lessons' steps -------------------------------------------------------------------------


def logistic_cost(w, b, X, Y):
    A = cg.sigmoid(w.T @ X + b)
    return -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))


def logistic_step(w, b, X, Y):
    cost, (dw, db) = cg.value_and_grad(logistic_cost, argnums=(0, 1))(w, b, X, Y)
    return cost, dw, db


def test_the_lessons_logistic_step_is_eagers_bit_for_bit():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 569)), (rng.random((1, 569)) > 0.5).astype(float)
    w, b = rng.normal(size=(30, 1)) * 0.01, 0.25
    compiled = compiled_equals_eager(logistic_step, w, b, X, Y)
    # later steps, new values of the same signature: the replay, not a new trace
    for _ in range(3):
        cost, dw, db = compiled(w, b, X, Y)
        assert_same_bits((cost, dw, db), logistic_step(w, b, X, Y))
        w, b = w - 0.1 * dw, b - 0.1 * float(db)
    assert compiled.traces == 1


def test_the_lessons_source_reads_as_the_lesson():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(3, 7)), (rng.random((1, 7)) > 0.5).astype(float)
    compiled = cg.compile(logistic_step)
    compiled(rng.normal(size=(3, 1)), 0.0, X, Y)
    source = compiled.source
    lines = source.splitlines()
    assert lines[0] == "def logistic_step(w, b, X, Y):"
    assert lines[-1].strip() == "return (asarray(cost), dw, asarray(db))"
    # one line per op: each assigns one variable, and no Node is left in the code
    body = [line.strip() for line in lines[1:-2] if not line.strip().startswith("#")]
    assert all(" = " in line for line in body)
    # inf/NaN that come in raise no flag: small arguments and the results are checked
    assert lines[-2].strip() == "check_finite(w, b, X, Y, cost, dw, db)"
    assert "Node" not in source
    assert "xp.log(" in source and "@" in source
    # backward lines say which op's vjp made them
    assert sum("# vjp of" in line for line in body) >= 8
    assert any(line.startswith("dw = ") and "vjp of transpose" in line for line in body)


NAMES = ("W1", "b1", "W2", "b2")


def network_step(parameters, X, Y):
    """The week-3 step: cost and dW1, db1, dW2, db2 of the tanh network."""

    def cost(W1, b1, W2, b2):
        layers = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        return networks.compute_cost(networks.forward(X, layers, hidden="tanh"), Y)

    J, grads = cg.value_and_grad(cost, argnums=(0, 1, 2, 3))(*(parameters[n] for n in NAMES))
    return J, dict(zip(NAMES, grads, strict=True))


def test_the_week3_network_step_is_eagers_bit_for_bit():
    X, Y = planar_flower()
    parameters = networks.initialize_parameters([2, 4, 1], seed=2)
    # compute_cost reads Y's values (it checks the labels): a constant of the trace, said
    with pytest.warns(cg.TraceWarning, match="does not use 'Y'"):
        compiled = compiled_equals_eager(network_step, parameters, X, Y)
    source = compiled.source
    for name in ("W1", "b1", "W2", "b2", "X", "Y"):
        assert name in source


def test_a_deep_relu_step_is_eagers_bit_for_bit():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(20, 64)), (rng.random((1, 64)) > 0.5).astype(float)
    parameters = networks.initialize_parameters([20, 16, 8, 8, 1], seed=3, scale="sqrt")

    names = sorted(parameters)

    def step(parameters, X, Y):
        def cost(*values):
            layers = dict(zip(names, values, strict=True))
            return networks.compute_cost(networks.forward(X, layers, hidden="relu"), Y)

        J, grads = cg.value_and_grad(cost, argnums=tuple(range(len(names))))(
            *(parameters[n] for n in names)
        )
        return J, {n: parameters[n] - 0.05 * g for n, g in zip(names, grads, strict=True)}

    with pytest.warns(cg.TraceWarning, match="does not use 'Y'"):  # checked labels, as above
        compiled_equals_eager(step, parameters, X, Y)


# -- second order -------------------------------------------------------------------------------


def test_grad_of_grad_hessian_and_jacobian_are_eagers_bit_for_bit():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 5))

    def f(x):
        return cg.sum(cg.tanh(W @ x) * cg.sigmoid(W @ x)) + cg.logsumexp(x * x)

    x = rng.normal(size=5)
    compiled_equals_eager(cg.hessian(f), x)
    compiled_equals_eager(cg.jacobian(lambda x: cg.tanh(W @ x)), x)
    compiled_equals_eager(cg.grad(cg.grad(lambda t: t**3 * cg.exp(-t))), 0.7)
    compiled_equals_eager(cg.grad(cg.grad(cg.grad(lambda t: cg.sigmoid(t) * t))), -1.3)


def test_hvp_is_eagers_bit_for_bit():
    rng = np.random.default_rng(2)
    v = rng.normal(size=4)

    def f(x):
        return cg.sum(x**3) + cg.sum(cg.tanh(x) * x)

    compiled_equals_eager(lambda x: cg.hvp(f)(x, v), rng.normal(size=4))


# -- every op of the op table, first and second order -------------------------------------------


@st.composite
def case_inputs(draw, case):
    shapes, attrs = draw(case.arguments)
    arrays = [draw(float_arrays(s, d)) for s, d in zip(shapes, case.domains, strict=True)]
    weights = draw(float_arrays(np.shape(case.reference(*arrays, **attrs))))
    # other values of the same shapes: the replay must not reuse the trace's (masks, ties)
    others = [draw(float_arrays(np.shape(a), d)) for a, d in zip(arrays, case.domains, strict=True)]
    return arrays, attrs, weights, others


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_op_compiled_is_eagers_bit_for_bit_first_and_second_order(name, data):
    case = CASES[name]
    arrays, attrs, weights, others = data.draw(case_inputs(case))
    positions = tuple(range(len(arrays)))

    def loss(*xs):
        return cg.sum(case.call(*xs, **attrs) * weights)

    first = cg.value_and_grad(loss, argnums=positions)

    def second(*xs):
        # d/dx ⟨∇loss(x), 1⟩: every input's second derivatives, mixed ones included
        def along(*ys):
            grads = cg.grad(loss, argnums=positions)(*ys)
            return sum((cg.sum(g) for g in grads), cg.Node(0.0, requires_grad=False))

        return cg.grad(along, argnums=positions)(*xs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the drawn domains stay finite: no report, no fallback
        # abs, relu, ...: second derivatives that are 0 whatever the input; eager says so too
        warnings.simplefilter("ignore", cg.IndependentOutputWarning)
        warnings.simplefilter("ignore", cg.TraceWarning)  # and so the trace does not use x
        for fn in (first, second):
            compiled = compiled_equals_eager(fn, *arrays)
            assert_same_bits(compiled(*others), fn(*others))
            assert compiled.traces == 1


def test_masks_and_signs_are_computed_from_each_calls_values_not_the_traces():
    # relu's, abs's and pow's vjps read the values (np.greater(x, 0)): frozen at tracing,
    # a later call would get the traced call's mask
    functions = [
        lambda x: cg.sum(cg.relu(x) * x),
        lambda x: cg.sum(cg.abs(x) * 3.0),
        lambda x: cg.sum(cg.leaky_relu(x)),
        lambda x: cg.sum(cg.maximum(x, 0.25) ** 2),
        lambda x: cg.max(x * x),
    ]
    rng = np.random.default_rng(5)
    for f in functions:
        step = cg.value_and_grad(f)
        compiled = cg.compile(step)
        compiled(np.abs(rng.normal(size=6)))  # traced where every x > 0
        for _ in range(3):
            x = rng.normal(size=6)
            assert_same_bits(compiled(x), step(x))
        assert compiled.traces == 1
    assert "ValueTest.forward(" in compiled.source  # the test, recomputed per call


def test_a_mask_made_in_fn_from_a_traced_value_is_computed_per_call():
    def f(x):
        return cg.sum(cg.where(np.greater(x, 0), x, 0.1 * x))

    compiled = cg.compile(cg.grad(f))
    compiled(np.ones(3))
    x = np.array([-1.0, 2.0, -3.0])
    assert_same_bits(compiled(x), cg.grad(f)(x))
    assert "Select.forward(" in compiled.source


# -- limits refused, not frozen -----------------------------------------------------------------


@pytest.mark.parametrize(
    "branch",
    [
        lambda loss: loss.value < 0 if bool(loss) else 0,
        lambda loss: float(loss),
        lambda loss: loss.item(),
    ],
)
def test_a_python_decision_on_a_traced_value_is_refused_by_name(branch):
    def fn(x):
        loss = cg.sum(x * x)
        branch(loss)
        return loss

    with pytest.raises(
        cg.TraceError, match=r"cg.compile is tracing fn: .* on unnamed sum result.*cg\.where"
    ):
        cg.compile(fn)(np.ones(3))


def test_an_if_on_a_traced_value_names_it_and_the_remedies():
    def clipped(w):
        loss = cg.sum(w * w)
        if loss:
            return loss
        return -loss

    with pytest.raises(cg.TraceError) as caught:
        cg.compile(clipped)(np.ones(2))
    message = str(caught.value)
    assert "bool(node)" in message and "cg.where" in message and "static argument" in message


def test_conversions_work_again_after_a_refused_trace():
    with pytest.raises(cg.TraceError):
        cg.compile(lambda x: float(cg.sum(x)))(np.ones(2))
    assert float(cg.Node(2.0)) == 2.0 and bool(cg.Node(1.0))


def test_a_node_made_from_values_inside_fn_is_refused():
    def step(w):
        dw = cg.grad(lambda w: cg.sum(w * w))(w)
        return cg.Node(w.value - 0.1 * dw.value, name="w")  # frozen at tracing

    with (
        pytest.raises(cg.TraceError, match="'w' of shape \\(2,\\) is a Node made inside"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", cg.TraceWarning)  # w's value is all the code reads
        cg.compile(step)(np.ones(2))


def test_a_node_read_from_outside_fn_is_a_constant_with_a_warning():
    w = cg.Node([1.0, 2.0], name="w")
    compiled = cg.compile(lambda x: cg.sum(w * x))
    with pytest.warns(cg.TraceWarning, match="reads 'w' of shape \\(2,\\) from outside"):
        compiled(np.ones(2))
    assert "w_2 (float64 (2,))" in compiled.source


def test_an_argument_the_code_does_not_use_warns_that_a_value_read_would_be_frozen():
    # cg.hvp reads v's .value (its direction is a constant): compiled, v would be frozen
    compiled = cg.compile(cg.hvp(lambda x: cg.sum(x**3)))
    with pytest.warns(cg.TraceWarning, match="does not use 'arg1'.*keeps the values"):
        compiled(np.array([1.0, 2.0]), np.array([1.0, 1.0]))


def test_a_plain_array_made_inside_fn_is_a_constant_of_the_trace_shown_in_the_source():
    mask = np.array([1.0, 0.0, 1.0])
    compiled = cg.compile(lambda x: cg.sum(x * mask))
    assert float(compiled(np.ones(3))) == 2.0
    assert "const_3 (float64 (3,))" in compiled.source


def test_static_arguments_trace_again_per_value():
    compiled = cg.compile(lambda x, power: cg.sum(x**power))
    assert float(compiled(np.full(2, 2.0), 2)) == 8.0
    assert float(compiled(np.full(2, 2.0), 3)) == 16.0
    assert float(compiled(np.full(2, 3.0), 3)) == 54.0
    assert compiled.traces == 2


def test_a_node_argument_runs_eagerly_so_compiled_functions_compose():
    compiled = cg.compile(lambda x: cg.sum(x**3))
    assert float(cg.grad(compiled)(np.array([2.0]))[0]) == 12.0
    assert compiled.traces == 0


# -- retracing -----------------------------------------------------------------------------------


def test_each_new_shape_traces_again_and_many_retraces_warn_once_with_the_reason():
    compiled = cg.compile(lambda x: cg.sum(x * x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in range(1, 9):
            compiled(np.ones(n))
    assert compiled.traces == 8
    with pytest.warns(
        cg.TraceWarning,
        match=r"traced 9 times.*'x' changed from float64 array of shape \(8,\) to float64 array "
        r"of shape \(9,\)",
    ):
        compiled(np.ones(9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(np.ones(10))
        compiled(np.ones(3))  # cached: no trace
    assert compiled.traces == 10
    assert len(compiled.sources) == 10


def test_source_before_any_call_says_to_call_it():
    with pytest.raises(ValueError, match="has not been traced yet"):
        _ = cg.compile(lambda x: x).source


# -- errors and non-finite values as eager reports them ------------------------------------------


def test_a_nonfinite_replay_runs_eagerly_and_warns_as_eager_does():
    compiled = cg.compile(cg.value_and_grad(lambda x: cg.sum(cg.log(x))))
    compiled(np.array([1.0, 2.0]))
    with pytest.warns(cg.NonFiniteWarning) as replayed, np.errstate(divide="ignore"):
        got = compiled(np.array([0.0, 2.0]))
    with pytest.warns(cg.NonFiniteWarning) as eager, np.errstate(divide="ignore"):
        expected = cg.value_and_grad(lambda x: cg.sum(cg.log(x)))(np.array([0.0, 2.0]))

    def messages(caught):  # unnamed nodes are named by their creation number
        return [re.sub(r"#\d+", "#n", str(w.message)) for w in caught]

    assert messages(replayed) == messages(eager) and eager
    assert_same_bits(got, expected)
    with cg.errstate(nonfinite="raise"), np.errstate(divide="ignore"):
        with pytest.raises(cg.NonFiniteError, match="log output"):
            compiled(np.array([0.0, 2.0]))


def test_a_nonfinite_argument_runs_eagerly():
    compiled = cg.compile(lambda x: cg.sum(cg.maximum(x, 0.0)))
    compiled(np.ones(2))
    with pytest.warns(cg.NonFiniteWarning, match="leaf value 'x'|not finite"):
        assert np.isnan(compiled(np.array([np.nan, 1.0])))


def _saturated(a, b, c, d):
    """tanh(±inf) = ±1: an inf argument reaches no result, so only the check of the
    arguments sees it."""
    return cg.sum(cg.tanh(a)) + cg.sum(cg.tanh(b)) + cg.tanh(c) + cg.sum(cg.tanh(d))


@pytest.mark.parametrize("position", range(4))
def test_an_inf_in_any_small_argument_runs_eagerly_even_when_no_result_shows_it(position):
    # a 3-vector, a 2x2, a Python float and 3000 float32s (checked with the rest, or alone)
    args = [np.ones(3), np.ones((2, 2)), 1.0, np.ones(3000, dtype=np.float32)]
    step = cg.value_and_grad(_saturated, argnums=(0, 1, 2, 3))
    compiled = cg.compile(step)
    compiled(*args)
    if position == 2:
        args[2] = -np.inf
    else:
        args[position] = args[position].copy()
        args[position].reshape(-1)[-1] = np.inf
    with pytest.warns(cg.NonFiniteWarning):
        got = compiled(*args)
    with pytest.warns(cg.NonFiniteWarning):
        expected = step(*args)
    assert_same_bits(got, expected)
    assert compiled.traces == 1


def test_a_nan_in_a_large_unchecked_argument_is_caught_in_the_results():
    def f(w, X):
        return cg.sum(w @ X)

    step = cg.value_and_grad(f)
    compiled = cg.compile(step)
    w, X = np.ones((1, 3)), np.ones((3, 5000))
    compiled(w, X)
    X[2, 4999] = np.nan  # no flag, and X is too large to be checked on each call
    with pytest.warns(cg.NonFiniteWarning):
        got = compiled(w, X)
    with pytest.warns(cg.NonFiniteWarning):
        expected = step(w, X)
    assert_same_bits(got, expected)


def test_sigmoids_own_overflow_in_a_replay_is_silent_and_exact():
    # e^1000 overflows inside σ(-1000) = 0 on purpose: the replay neither warns nor reruns
    calls = []

    def loss(x):
        calls.append(x)
        return cg.sum(cg.sigmoid(x) * x)

    x = np.array([-1000.0, -40.0, 0.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = cg.compile(cg.value_and_grad(loss))
        compiled(x)  # the trace
        traced = len(calls)
        got = compiled(x)
        assert len(calls) == traced  # replayed, not run eagerly
        assert_same_bits(got, cg.value_and_grad(loss)(x))


def test_an_error_in_the_trace_is_eagers_error():
    compiled = cg.compile(cg.grad(lambda a, b: cg.sum(a @ b)))
    with pytest.raises(
        cg.ShapeError, match="matmul cannot combine 'a' of shape \\(2, 3\\), constant"
    ):
        compiled(np.ones((2, 3)), np.ones((2, 3)))
    plain = cg.compile(lambda a, b: cg.sum(a @ b))  # eager, this is NumPy's own error
    with pytest.raises(ValueError, match="matmul: Input operand 1 has a mismatch"):
        plain(np.ones((2, 3)), np.ones((2, 3)))


def test_a_user_op_that_turns_nonfinite_without_a_flag_is_reported_by_the_eager_rerun():
    class Shout(cg.Op):
        """inf where x > 1 (no floating-point flag) ; vjp: g"""

        @staticmethod
        def forward(x):
            return np.where(x > 1, np.inf, x)

        @staticmethod
        def vjp(g, out, x):
            return (g,)

    compiled = cg.compile(cg.value_and_grad(lambda x: cg.sum(Shout(x))))
    assert float(compiled(np.zeros(2))[0]) == 0.0
    assert "check_finite(shout)" in compiled.source
    with pytest.warns(cg.NonFiniteWarning, match="shout output"):
        value, _ = compiled(np.full(2, 2.0))
    assert value == np.inf


@pytest.mark.parametrize("numpy_1", [False, True])
def test_a_replay_notes_floating_point_exceptions_and_leaves_the_callers_errstate_as_it_was(
    numpy_1, monkeypatch
):
    if numpy_1:  # where np.errstate's inner calls are not there, np.errstate itself
        monkeypatch.setattr(
            importlib.import_module("compgraph.numerics"), "_extobj_contextvar", None
        )
    seen = []

    class Look(cg.Op):
        """x, noting NumPy's error state while it runs ; vjp: g"""

        @staticmethod
        def forward(x):
            seen.append((np.geterr(), np.geterrcall(), np.getbufsize()))
            return x + 0.0

        @staticmethod
        def vjp(g, out, x):
            return (g,)

    compiled = cg.compile(lambda x: cg.sum(Look(x)))
    compiled(np.ones(2))  # the trace
    before = (np.geterr(), np.geterrcall(), np.getbufsize())
    with np.errstate(over="raise"):
        np.setbufsize(4096)
        try:
            seen.clear()
            assert compiled(np.ones(2)) == 2.0
            inside = seen[-1]
            assert (np.geterr()["over"], np.getbufsize()) == ("raise", 4096)
        finally:
            np.setbufsize(before[2])
    assert (np.geterr(), np.geterrcall(), np.getbufsize()) == before
    noted = {"divide": "call", "over": "call", "under": "ignore", "invalid": "call"}
    assert len(seen) == 1 and inside[0] == noted and callable(inside[1]) and inside[2] == 4096

    class Interrupted(cg.Op):
        """x, or Ctrl-C where x > 1 ; vjp: g"""

        @staticmethod
        def forward(x):
            if np.any(x > 1):
                raise KeyboardInterrupt
            return x + 0.0

        @staticmethod
        def vjp(g, out, x):
            return (g,)

    interrupted = cg.compile(lambda x: cg.sum(Interrupted(x)))
    interrupted(np.ones(2))
    with pytest.raises(KeyboardInterrupt):  # not an Exception: no eager rerun, but the
        interrupted(np.full(2, 2.0))  # caller's state comes back all the same
    assert (np.geterr(), np.geterrcall(), np.getbufsize()) == before


# -- scalars ------------------------------------------------------------------------------------


def test_a_scalar_graph_runs_on_numpy_scalars_with_eagers_bits():
    def chain(x, y):
        z = x
        for _ in range(20):
            z = cg.tanh(z * y + 0.5) / 1.5 + z**2 * 0.01
        return z

    compiled = compiled_equals_eager(cg.value_and_grad(chain, argnums=(0, 1)), 0.3, -1.2)
    # NumPy scalars all the way (eager's types): only pow's vjp makes 0-d arrays, for where
    arrays = [line for line in compiled.source.splitlines()[1:-1] if "asarray(" in line]
    assert arrays and all("# vjp of pow" in line for line in arrays)


def test_float32_arguments_keep_their_dtype():
    x = np.array([0.5, 1.5], dtype=np.float32)
    compiled_equals_eager(cg.value_and_grad(lambda x: cg.sum(cg.exp(x) * 0.1 + x**2)), x)


# -- arguments ----------------------------------------------------------------------------------


def test_dicts_lists_and_keyword_arguments_are_traced_by_name():
    def step(parameters, scales, *, X):
        loss = cg.sum(cg.tanh(parameters["W"] @ X) * scales[0]) + cg.sum(parameters["b"])
        return cg.grad(lambda W: cg.sum(cg.tanh(W @ X) * scales[1]))(parameters["W"]), loss

    rng = np.random.default_rng(4)
    parameters = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=(2, 1))}
    scales = [0.5, np.float64(2.0)]
    X = rng.normal(size=(3, 4))
    compiled = cg.compile(step)
    expected = step(parameters, scales, X=X)
    assert_same_bits(compiled(parameters, scales, X=X), expected)
    assert_same_bits(compiled(parameters, scales, X=X), expected)
    assert compiled.source.startswith("def step(W, b, scales0, scales1, X):")
    assert compiled.traces == 1


def test_integer_arrays_are_static_and_keyed_by_their_values():
    def pick(x, index):
        return cg.sum(x[index] * x[index])

    compiled = cg.compile(cg.grad(pick))
    x = np.arange(4.0)
    first, second = np.array([0, 2]), np.array([1, 3])
    assert_same_bits(compiled(x, first), cg.grad(pick)(x, first))
    assert_same_bits(compiled(x, second), cg.grad(pick)(x, second))
    assert_same_bits(compiled(x, first.copy()), cg.grad(pick)(x, first))
    assert compiled.traces == 2


# -- buffers reused in NumPy replays ------------------------------------------------------------

compile_module = importlib.import_module("compgraph.compile")
#: Examples per row, enough that a row of the lessons' per-example arrays is above the size
#: from which NumPy replays write into a dead temporary's array (out=).
LARGE = compile_module.REUSED_BUFFER_BYTES // 8 + 1000


def lesson_data(m, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(6, m)), (rng.random((1, m)) > 0.5).astype(float)
    return rng.normal(size=(6, 1)) * 0.3, 0.25, X, Y


def fused_step(w, b, X, Y):
    def cost(w, b):
        return cg.mean(cg.sigmoid_cross_entropy(w.T @ X + b, Y))

    J, (dw, db) = cg.value_and_grad(cost, argnums=(0, 1))(w, b)
    return J, dw, db


@pytest.mark.parametrize("step", [logistic_step, fused_step])
def test_the_lessons_steps_above_the_size_reuse_buffers_and_keep_eagers_bits(step):
    w, b, X, Y = lesson_data(LARGE)
    compiled = compiled_equals_eager(step, w, b, X, Y)
    assert "out=" in compiled.source and "# buffers reused" in compiled.source
    for _ in range(3):  # later steps, the replay's own values
        cost, dw, db = compiled(w, b, X, Y)
        assert_same_bits((cost, dw, db), step(w, b, X, Y))
        w, b = w - 0.5 * dw, b - 0.5 * float(db)
    small = cg.compile(step)
    small(*lesson_data(569))
    assert "out=" not in small.source  # below the size out= costs more than it saves


def test_the_network_step_above_the_size_reuses_buffers_and_keeps_eagers_bits():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(2, LARGE)), (rng.random((1, LARGE)) > 0.5).astype(float)
    parameters = networks.initialize_parameters([2, 4, 1], seed=2)
    with pytest.warns(cg.TraceWarning, match="does not use 'Y'"):  # checked labels, as above
        compiled = compiled_equals_eager(network_step, parameters, X, Y)
    assert "out=" in compiled.source


def test_second_order_above_the_size_reuses_buffers_and_keeps_eagers_bits():
    rng = np.random.default_rng(5)

    def f(x):
        return cg.sum(cg.tanh(x) * cg.sigmoid(x) * x + cg.exp(-x * x) / (1 + x * x))

    def grad_of_grad(x):
        return cg.grad(lambda y: cg.sum(cg.grad(f)(y) * y))(x)

    x = rng.normal(size=(2, LARGE // 2))
    compiled = compiled_equals_eager(grad_of_grad, x)
    assert "out=" in compiled.source
    assert_same_bits(compiled(x + 0.5), grad_of_grad(x + 0.5))
    v = rng.normal(size=x.shape)
    compiled_equals_eager(lambda x: cg.hvp(f)(x, v), x)


def test_arguments_are_never_written_and_outputs_never_shared():
    w, b, X, Y = lesson_data(LARGE)
    for array in (w, X, Y):
        array.setflags(write=False)  # a write would raise, and the call would run eagerly
    calls = []

    def step(w, b, X, Y):
        calls.append("eager")  # the trace, or a replay that failed and ran eagerly
        return logistic_step(w, b, X, Y)

    compiled = cg.compile(step)
    first = compiled(w, b, X, Y)
    assert "out=" in compiled.source
    kept = [np.array(value, copy=True) for value in first]
    second = compiled(w, b, X, Y)
    assert calls == ["eager"]  # the trace's call; both calls replayed, writing no argument
    assert_same_bits(second, logistic_step(w, b, X, Y))
    assert_same_bits(first, tuple(kept))  # the second call wrote nothing the first returned
    arrays = [*first, *second, w, X, Y]
    for i, a in enumerate(arrays):
        for c in arrays[i + 1 :]:
            assert not np.shares_memory(a, c)


def test_a_temporary_that_a_view_or_a_result_still_reads_is_not_written():
    rng = np.random.default_rng(6)

    def f(x, y):
        t = cg.exp(x)  # its transpose is read after t's last direct read
        u = cg.transpose(t) * 2.0
        s = t * y  # would write into t: its view u is still read
        v = cg.reshape(s, (-1,))  # returned: s's array is never written again
        return cg.sum(cg.transpose(u) * s) + cg.sum(cg.log(y) * y), v, cg.tanh(x) + y

    x, y = rng.normal(size=(100, LARGE // 100)), rng.random((100, LARGE // 100)) + 0.5
    compiled = compiled_equals_eager(f, x, y)
    assert "out=" in compiled.source
    first = compiled(x, y)
    _, v, _ = compiled(x + 1, y)
    assert not np.shares_memory(first[1], v)


def test_arguments_of_other_strides_than_traced_run_the_plain_lines():
    # Traced on C-ordered arrays, exp(X)'s line may write into exp(Y)'s C-ordered array; a
    # Fortran-ordered X of the same signature makes NumPy lay exp(X) out in Fortran order,
    # and a sum along an axis adds in another order there: other bits.
    rng = np.random.default_rng(7)

    def f(X, Y):
        a = cg.sum(cg.exp(Y) * 0.5)
        rows = cg.sum(cg.exp(X) * 0.25, axis=1)
        return a + cg.sum(rows * rows)

    shape = (300, LARGE // 300 + 1)
    X, Y = rng.normal(size=shape), rng.normal(size=shape)
    compiled = compiled_equals_eager(f, X, Y)
    assert "out=" in compiled.source
    for x, y in ((np.asfortranarray(X), Y), (X, np.asfortranarray(Y)), (X[:, ::-1], Y)):
        assert_same_bits(compiled(x, y), f(x, y))


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_op_with_every_buffer_reused_is_eagers_bit_for_bit(name, data):
    # the size limit set to 0: the plan at work on every array of the op table's graphs,
    # first and second order, where views (getitem, reshape, broadcast_to) abound
    case = CASES[name]
    arrays, attrs, weights, others = data.draw(case_inputs(case))
    positions = tuple(range(len(arrays)))

    def loss(*xs):
        return cg.sum(case.call(*xs, **attrs) * weights)

    def second(*xs):
        return cg.grad(lambda *ys: cg.sum(cg.grad(loss)(*ys) * ys[0]), argnums=positions)(*xs)

    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(compile_module, "REUSED_BUFFER_BYTES", 0)
        warnings.simplefilter("error")  # a plan the trace's check refuses warns: an error here
        warnings.simplefilter("ignore", cg.IndependentOutputWarning)
        warnings.simplefilter("ignore", cg.TraceWarning)
        for fn in (cg.value_and_grad(loss, argnums=positions), second):
            compiled = compiled_equals_eager(fn, *arrays)
            assert_same_bits(compiled(*others), fn(*others))
