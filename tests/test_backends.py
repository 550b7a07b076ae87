"""cg.compile on other Array API libraries (issue 21): every op of the op table, compiled,
forward and first and second order, on array-api-strict (a second device and a device
without float64 included), on PyTorch's CPU and on JAX's CPU, equal to NumPy's; arguments
from several libraries or devices refused by name; Dask lazy until the user computes; GPUs
where present."""

import contextlib
import importlib
import warnings

import numpy as np
import pytest
from conftest import skip_unless_required
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import compgraph as cg
from compgraph.backends import flip_steps
from compgraph.checks.testing import OP_CASES, float_arrays

strict = pytest.importorskip("array_api_strict", reason="array-api-strict is in the dev extra")
pytest.importorskip("array_api_compat", reason="array-api-compat is in the dev extra")

try:
    import torch
except ImportError:  # torch is not in dev (a CPU build must be chosen by hand): its rows skip
    torch = None

try:
    import jax
    import jax.numpy as jnp
except ImportError:  # jax is not in dev either (.ci/run installs it): its rows skip
    jax = jnp = None

CASES = {case.op.name: case for case in OP_CASES}


def require_torch():
    """Skip without PyTorch, with the reason; .ci/run installs its CPU build, and there
    (COMPGRAPH_REQUIRE_SYSTEM_TOOLS=1) a missing torch fails the test instead."""
    if torch is None:
        skip_unless_required(
            "needs PyTorch, which is not installed: pip install a CPU build of torch "
            "(.ci/run installs torch==2.13.0)"
        )


@pytest.fixture
def torch_installed():
    require_torch()


needs_torch = pytest.mark.usefixtures("torch_installed")


def require_jax():
    """Skip without JAX, with the reason; .ci/run installs it, and there a missing jax fails."""
    if jax is None:
        skip_unless_required("needs JAX, which is not installed: pip install jax==0.10.2")


@pytest.fixture
def jax_installed():
    require_jax()


needs_jax = pytest.mark.usefixtures("jax_installed")


def x64(setting):
    """JAX makes float32 arrays unless x64 is on: on for the float64 rows only, and only
    within the test (``jax.enable_x64`` is scoped), so other tests see JAX's default."""
    if setting == "jax-cpu-float64":
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def to_numpy(value):
    """A NumPy copy of any library's array, for comparing with NumPy's results."""
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if type(value).__module__.startswith("array_api_strict"):
        return np.from_dlpack(strict.asarray(value, device=strict.Device("CPU_DEVICE")))
    if hasattr(value, "compute"):
        return np.asarray(value.compute())
    return np.asarray(value)


def library_of(value):
    return type(value).__module__.partition(".")[0].replace("jaxlib", "jax")


def assert_equal_results(got, expected, library, device=None):
    """The same structure; each array from ``library`` (on ``device``), in NumPy's dtype,
    and equal to NumPy's value to the last few bits of its dtype."""
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_equal_results(g, e, library, device)
        return
    expected = np.asarray(expected)
    assert library_of(got) == library, (type(got), library)
    if device is not None:
        assert got.device == device
    got_array = to_numpy(got)
    assert got_array.dtype == expected.dtype and got_array.shape == expected.shape
    # The same formulas in the same order (array-api-strict runs NumPy underneath); PyTorch's
    # own kernels may round a sum or an exp differently in the last bits.
    tolerance = 1e-12 if expected.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got_array, expected, rtol=tolerance, atol=tolerance)


@st.composite
def case_inputs(draw, case, dtype):
    shapes, attrs = draw(case.arguments)
    arrays = [draw(float_arrays(s, d, dtype)) for s, d in zip(shapes, case.domains, strict=True)]
    weights = draw(float_arrays(np.shape(case.reference(*arrays, **attrs)), dtype=dtype))
    return arrays, attrs, weights


def subnormal(array):
    return (array != 0) & (np.abs(array) < np.finfo(array.dtype).tiny)


def first_and_second(case, attrs, weights, count):
    positions = tuple(range(count))

    def loss(*xs):
        return cg.sum(case.call(*xs, **attrs) * weights)

    def second(*xs):
        def along(*ys):
            grads = cg.grad(loss, argnums=positions)(*ys)
            return sum((cg.sum(g) for g in grads), cg.Node(0.0, requires_grad=False))

        return cg.grad(along, argnums=positions)(*xs)

    return cg.value_and_grad(loss, argnums=positions), second


NAMESPACES = {
    "strict-device1": (lambda a: strict.asarray(a, device=strict.Device("device1")), np.float64),
    "strict-no-float64": (
        lambda a: strict.asarray(a, device=strict.Device("no_float64")),
        np.float32,
    ),
    "torch-cpu": (lambda a: torch.asarray(a.copy()), np.float64),
    "torch-cpu-float32": (lambda a: torch.asarray(a.copy()), np.float32),
}

#: JAX's settings, tests of their own (JAX compiles each primitive for each new shape, so
#: its examples are dear): float32, its default, and float64 under ``jax.enable_x64``.
JAX_SETTINGS = {
    "jax-cpu": (lambda a: jnp.asarray(a), np.float32),
    "jax-cpu-float64": (lambda a: jnp.asarray(a), np.float64),
}


def library_and_device(setting):
    if setting.startswith("strict"):
        name = "device1" if setting == "strict-device1" else "no_float64"
        return "array_api_strict", strict.Device(name)
    return setting.partition("-")[0], None


@pytest.mark.parametrize(
    "setting",
    sorted(NAMESPACES),
)
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_op_compiled_on_another_library_equals_numpys(setting, name, data):
    if setting.startswith("torch"):
        require_torch()
    every_op_equals_numpys(setting, name, data)


@pytest.mark.slow  # JAX compiles each primitive for each new shape: ~0.5 s an example here
@pytest.mark.parametrize("setting", sorted(JAX_SETTINGS))
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_every_op_compiled_on_jax_equals_numpys(setting, name, data):
    require_jax()
    with x64(setting):
        every_op_equals_numpys(setting, name, data)


def every_op_equals_numpys(setting, name, data):
    case = CASES[name]
    convert, dtype = {**NAMESPACES, **JAX_SETTINGS}[setting]
    arrays, attrs, weights = data.draw(case_inputs(case, dtype))
    if setting.startswith("jax"):
        # XLA's CPU arithmetic treats subnormal numbers as 0 (JAX says so): not NumPy's
        # numbers to compare with (test_jax_treats_subnormal_numbers_as_zero)
        assume(not any(subnormal(a).any() for a in [*arrays, weights]))
    if not setting.startswith("strict"):
        # At a kink (|x| at 0, a constant group's std) the gradient is a choice made by a
        # comparison, and another library's kernels round the compared value differently
        # (torch's std of equal float32 numbers is not exactly 0): smooth points only.
        # array-api-strict runs NumPy itself, so there every point is compared.
        assume(case.is_smooth_at(*arrays, **attrs))
    if name == "astype":
        attrs = {"dtype": np.dtype(dtype)}  # a device without float64 has only float32
    first, second = first_and_second(case, attrs, weights, len(arrays))
    library, device = library_and_device(setting)
    if name == "einsum" and library == "array_api_strict":
        # not in the standard, and array-api-strict has none: refused, naming it
        compiled = cg.compile(first)
        compiled(*arrays)
        with pytest.raises(cg.TraceError, match="einsum is not in the Array API standard"):
            compiled(*[convert(a) for a in arrays])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cg.IndependentOutputWarning)
        warnings.simplefilter("ignore", cg.TraceWarning)  # abs's second derivative uses no argument
        for fn in (first, second):
            compiled = cg.compile(fn)
            expected = compiled(*arrays)  # NumPy: eager's own bits (tests/test_compile.py)
            others = [convert(a) for a in arrays]
            assert_equal_results(compiled(*others), expected, library, device)
            assert_equal_results(compiled(*others), expected, library, device)  # the replay
            assert compiled.traces == 1  # NumPy and the other library share the trace


# -- negative slice steps: PyTorch has none, compiled code flips (backends.flip_steps) ------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_flip_steps_picks_what_numpy_picks(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    x = np.arange(np.prod(shape)).reshape(shape)
    plan = flip_steps(index, shape)
    items = index if isinstance(index, tuple) else (index,)
    if not any(type(i) is slice and i.step is not None and i.step < 0 for i in items):
        assert plan is None
        return
    narrowing, axes, rest = plan
    np.testing.assert_array_equal(np.flip(x[narrowing], axes)[rest], x[index])
    assert all(s.step is None or s.step > 0 for s in narrowing + rest if type(s) is slice)


#: Arrays with negative steps, or with ints (which torch applies first, NumPy with the
#: arrays): NumPy puts the arrays' axes first where advanced indices are apart (from the
#: third on), in place where they are adjacent.
MIXED = [
    (np.array([0, 2, 2]), slice(None, None, -1)),
    (slice(5, 0, -2), np.array([3, 0])),
    (np.array([1, 0]), slice(None, None, -1), np.array([1, 1])),
    (0, slice(None, None, -2), np.array([2, 0, 2])),
    (0, slice(None), np.array([2, 0, 2])),
    (1, None, np.array([[1], [3]])),
    (np.array(4), slice(None, None, -1), 0),
    (np.array([True, False, True, True, False, True]), slice(3, None, -1)),
]


#: The second derivatives of x[index] and cumsum are 0 (x goes unused): warned, fine here.
zero_second_order = pytest.mark.filterwarnings(
    "ignore::compgraph.IndependentOutputWarning", "ignore::compgraph.TraceWarning"
)


@needs_torch
@pytest.mark.parametrize(
    "index",
    [
        (slice(None, None, -1),),
        (slice(5, 1, -2),),
        (slice(None, None, -1), None, 1),
        (slice(2, 4, -1),),  # empty
        (Ellipsis, None, slice(None, None, -3)),
        *MIXED,
    ],
    ids=repr,
)
@zero_second_order
def test_negative_steps_on_torch_equal_numpys_forward_and_gradients(index):
    x = np.random.default_rng(1).normal(size=(6, 4, 3))
    weights = np.random.default_rng(2).normal(size=x[index].shape)
    first, second = first_and_second(CASES["getitem"], {"index": index}, weights, 1)
    for fn in (lambda x: x[index] * 2.0, first, second):
        compiled = cg.compile(fn)
        expected = compiled(x)
        assert_equal_results(compiled(torch.asarray(x.copy())), expected, "torch")


@needs_torch
@pytest.mark.parametrize("name", ["cumsum", "prod"])
@pytest.mark.parametrize("axis", [None, 0, -1])
@zero_second_order
def test_the_gradients_of_cumsum_and_prod_on_torch_equal_numpys(name, axis):
    # their vjps reverse an axis (x[::-1]): the first and second order both run it
    x = np.random.default_rng(3).normal(size=(4, 5))
    weights = np.random.default_rng(4).normal(size=CASES[name].reference(x, axis=axis).shape)
    for fn in first_and_second(CASES[name], {"axis": axis}, weights, 1):
        compiled = cg.compile(fn)
        expected = compiled(x)
        assert_equal_results(compiled(torch.asarray(x.copy())), expected, "torch")


def logistic_cost(w, b, X, Y):
    A = cg.sigmoid(w.T @ X + b)
    return -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))


def logistic_step(w, b, X, Y):
    cost, (dw, db) = cg.value_and_grad(logistic_cost, argnums=(0, 1))(w, b, X, Y)
    return cost, w - 0.5 * dw, b - 0.5 * db


def lesson_data(m=40, n=3, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, m)), (rng.random((1, m)) > 0.5).astype(float)
    return rng.normal(size=(n, 1)) * 0.01, np.float64(0.25), X, Y


def test_a_trace_that_reuses_buffers_on_numpy_runs_plain_lines_on_another_library():
    # NumPy replays of large arrays write into dead temporaries (out=); array-api-strict has
    # no out=, PyTorch and Dask other in-place semantics: they run the same lines without it
    large = importlib.import_module("compgraph.compile").REUSED_BUFFER_BYTES // 8 + 1000
    w, b, X, Y = lesson_data(m=large)
    step = cg.compile(logistic_step)
    expected = step(w, b, X, Y)
    assert "out=" in step.source
    on_strict = [strict.asarray(v) for v in (w, b, X, Y)]
    assert_equal_results(step(*on_strict), expected, "array_api_strict")
    assert step.traces == 1  # the same signature: the NumPy trace's plain lines
    # traced on array-api-strict's stand-ins first, NumPy calls of the signature run plain
    step = cg.compile(logistic_step)
    step(*on_strict)
    for got, value in zip(step(w, b, X, Y), expected, strict=True):
        assert np.asarray(got).tobytes() == np.asarray(value).tobytes()  # every bit
    assert "out=" not in step.source and step.traces == 1


def test_arguments_from_two_libraries_are_refused_naming_them():
    w, b, X, Y = lesson_data()
    step = cg.compile(logistic_step)
    with pytest.raises(
        TypeError, match=r"array_api_strict on .*CPU_DEVICE.*: w, X; numpy on cpu: Y"
    ):
        step(strict.asarray(w), b, strict.asarray(X), Y)


def test_arguments_on_two_devices_are_refused_naming_them():
    w, b, X, Y = lesson_data()
    here, there = strict.Device("CPU_DEVICE"), strict.Device("device1")
    step = cg.compile(logistic_step)
    with pytest.raises(TypeError, match=r"CPU_DEVICE.*: w, b, X; .*device1.*: Y"):
        step(*[strict.asarray(v, device=here) for v in (w, b, X)], strict.asarray(Y, device=there))


def test_a_python_float_joins_another_librarys_arrays():
    w, _, X, Y = lesson_data()
    expected = cg.compile(logistic_step)(w, 0.25, X, Y)
    device = strict.Device("device1")
    got = cg.compile(logistic_step)(
        *[strict.asarray(v, device=device) for v in (w,)],
        0.25,
        strict.asarray(X, device=device),
        strict.asarray(Y, device=device),
    )
    assert_equal_results(got, expected, "array_api_strict", device)


def test_a_python_float_on_a_device_without_float64_is_refused_by_name():
    w, _, X, Y = lesson_data()
    device = strict.Device("no_float64")
    w32, X32, Y32 = (strict.asarray(v.astype(np.float32), device=device) for v in (w, X, Y))
    with pytest.raises(cg.TraceError, match="array_api_strict.*float64"):
        cg.compile(logistic_step)(w32, 0.25, X32, Y32)


def test_float32_stays_float32_on_a_device_without_float64():
    w, b, X, Y = (np.asarray(v, dtype=np.float32) for v in lesson_data())
    device = strict.Device("no_float64")
    step = cg.compile(logistic_step)
    expected = step(w, b, X, Y)
    got = step(*[strict.asarray(v, device=device) for v in (w, b, X, Y)])
    assert [to_numpy(g).dtype for g in got] == [np.float32] * 3
    assert_equal_results(got, expected, "array_api_strict", device)


def test_a_non_finite_result_on_another_library_is_eagers_report():
    step = cg.compile(lambda x: cg.sum(cg.log(x)))
    step(np.array([1.0, 2.0]))
    with np.errstate(divide="ignore"), pytest.warns(cg.NonFiniteWarning) as on_numpy:
        step(np.array([0.0, 2.0]))
    with np.errstate(divide="ignore"), pytest.warns(cg.NonFiniteWarning) as on_strict:
        out = step(strict.asarray([0.0, 2.0]))
    assert [str(w.message) for w in on_strict] == [str(w.message) for w in on_numpy]
    assert library_of(out) == "array_api_strict" and to_numpy(out) == -np.inf


def test_the_scatter_add_of_indexing_sums_repeats_on_every_library():
    index = (np.array([0, 2, 0, 0]),)

    def f(x):
        return cg.grad(lambda x: cg.sum(x[index] ** 2 * np.arange(1.0, 5.0)))(x)

    expected = cg.compile(f)(np.ones(3))
    assert expected.tolist() == [2 * (1.0 + 3.0 + 4.0), 0.0, 2 * 2.0]
    assert_equal_results(cg.compile(f)(strict.asarray(np.ones(3))), expected, "array_api_strict")
    if torch is not None:
        assert_equal_results(cg.compile(f)(torch.ones(3, dtype=torch.float64)), expected, "torch")
    if jax is not None:
        with jax.enable_x64(True):
            assert_equal_results(cg.compile(f)(jnp.ones(3)), expected, "jax")


@needs_torch
def test_the_lessons_step_on_torch_cpu_trains_as_numpy_does():
    w, b, X, Y = lesson_data(m=200)
    step = cg.compile(logistic_step)
    tw, tb, tX, tY = (torch.asarray(np.asarray(v).copy()) for v in (w, b, X, Y))
    for _ in range(20):
        cost, w, b = step(w, b, X, Y)
        tcost, tw, tb = step(tw, tb, tX, tY)
    assert isinstance(tw, torch.Tensor) and tw.dtype == torch.float64
    np.testing.assert_allclose(tw.numpy(), w, rtol=1e-12)
    np.testing.assert_allclose(float(tcost), float(cost), rtol=1e-12)


# -- JAX: immutable arrays, float32 unless x64 is on, subnormals flushed ------------------------


@needs_jax
@pytest.mark.parametrize(
    "dtype",
    # JAX compiles each op for the first call (~3 s here): float64 in the slow tier
    [np.float32, pytest.param(np.float64, marks=pytest.mark.slow)],
)
def test_the_lessons_step_on_jax_trains_as_numpy_does(dtype):
    setting = "jax-cpu-float64" if dtype == np.float64 else "jax-cpu"
    w, b, X, Y = (np.asarray(v, dtype=dtype) for v in lesson_data(m=200))
    step = cg.compile(logistic_step)
    with x64(setting):
        jw, jb, jX, jY = (jnp.asarray(v) for v in (w, b, X, Y))
        for _ in range(5):
            cost, w, b = step(w, b, X, Y)
            jcost, jw, jb = step(jw, jb, jX, jY)
    assert library_of(jw) == "jax" and jw.dtype == dtype and jb.dtype == dtype
    # XLA's exp and its sums round otherwise than NumPy's in the last bits
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.asarray(jw), w, rtol=tolerance)
    np.testing.assert_allclose(float(jcost), float(cost), rtol=tolerance)
    assert step.traces == 1


@needs_jax
def test_jax_mixed_with_numpy_or_torch_is_refused_naming_them():
    w, b, X, Y = (np.asarray(v, dtype=np.float32) for v in lesson_data())
    step = cg.compile(logistic_step)
    with pytest.raises(TypeError, match=r"jax on cpu:0: w, X; numpy on cpu: Y"):
        step(jnp.asarray(w), b, jnp.asarray(X), Y)
    if torch is not None:
        with pytest.raises(TypeError, match=r"jax on cpu:0: w, X; torch on cpu: Y"):
            step(jnp.asarray(w), b, jnp.asarray(X), torch.asarray(Y))


@needs_jax
def test_float64_on_jax_needs_x64_and_a_python_float_without_it_is_refused_by_name():
    # JAX has no float64 while x64 is off: as on a device without float64, a Python float
    # argument (float64 by NumPy's rules) is refused by name, not truncated with a warning
    step = cg.compile(lambda x, y: x * y)
    with pytest.raises(cg.TraceError, match=r"argument y .* jax .*enable_x64"):
        step(jnp.ones(3), 2.0)
    assert step(jnp.ones(3), np.float32(2.0)).dtype == jnp.float32
    with jax.enable_x64(True):
        assert step(jnp.ones(3), 2.0).dtype == jnp.float64


@needs_jax
def test_a_float64_constant_on_jax_is_float64_once_x64_is_on():
    # The same trace with x64 off, then on: its constants are made again, not the float32
    # copies made while x64 was off.
    scale = cg.compile(lambda x: x * np.float64(0.1))  # float32 * float64 is float64 in NumPy
    x = np.array([3.0], dtype=np.float32)
    with pytest.raises(ValueError, match="no float64 while x64 is off"):
        scale(jnp.asarray(x))
    with jax.enable_x64(True):
        got = scale(jnp.asarray(x))
    assert got.dtype == jnp.float64 and np.asarray(got).tolist() == scale(x).tolist()


@needs_jax
def test_jax_treats_subnormal_numbers_as_zero():
    # Why the op table's JAX rows draw no subnormal number: XLA's CPU arithmetic reads one
    # as 0, so |x|'s gradient there is sign(0) = 0 where NumPy's is 1. JAX's own rule,
    # documented in docs/how-to/backends.md; should XLA change it, this test says so.
    tiny = np.finfo(np.float32).tiny / 4
    gradient = cg.compile(cg.grad(lambda x: cg.sum(cg.abs(x))))
    assert gradient(np.array([tiny], dtype=np.float32)).tolist() == [1.0]
    assert np.asarray(gradient(jnp.asarray([tiny], dtype=jnp.float32))).tolist() == [0.0]


# -- GPUs: run where one is present (not in this project's CI), skipped elsewhere -----------------

try:
    import cupy
except ImportError:  # cupy is in the gpu extra; it needs a CUDA GPU and driver
    cupy = None
cuda = torch is not None and torch.cuda.is_available()
needs_cupy = pytest.mark.skipif(
    cupy is None or not cupy.cuda.is_available(), reason="no CuPy with a CUDA GPU here"
)
needs_cuda_torch = pytest.mark.skipif(not cuda, reason="no PyTorch with a CUDA GPU here")


def gpu_step_equals_numpy(convert, library, dtype):
    w, b, X, Y = (np.asarray(v, dtype=dtype) for v in lesson_data(m=500))
    step = cg.compile(logistic_step)
    expected = step(w, b, X, Y)
    got = step(*[convert(v) for v in (w, b, X, Y)])
    assert_equal_results_loose(got, expected, library)


def assert_equal_results_loose(got, expected, library):
    # A GPU's exp and its parallel sums round differently from NumPy's: a few ulps per op.
    for g, e in zip(got, expected, strict=True):
        assert library_of(g) == library
        array = to_numpy(g) if library != "cupy" else cupy.asnumpy(g)
        assert array.dtype == e.dtype
        np.testing.assert_allclose(array, e, rtol=1e-10 if e.dtype == np.float64 else 1e-4)


@needs_cuda_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_lessons_step_on_torch_cuda_equals_numpys(dtype):
    gpu_step_equals_numpy(lambda v: torch.asarray(v.copy(), device="cuda"), "torch", dtype)
    out = cg.compile(logistic_step)(
        *[torch.asarray(np.asarray(v, dtype=dtype), device="cuda") for v in lesson_data()]
    )
    assert all(o.device.type == "cuda" for o in out)


@needs_cupy
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_lessons_step_on_cupy_equals_numpys(dtype):
    gpu_step_equals_numpy(cupy.asarray, "cupy", dtype)


@needs_cupy
def test_the_scatter_add_of_indexing_sums_repeats_on_cupy():
    index = (np.array([0, 2, 0, 0]),)

    def f(x):
        return cg.grad(lambda x: cg.sum(x[index] * np.arange(1.0, 5.0)))(x)

    assert cupy.asnumpy(cg.compile(f)(cupy.ones(3))).tolist() == [8.0, 0.0, 2.0]
