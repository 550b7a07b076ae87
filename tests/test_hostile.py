"""Probes of a hostile user (issue 16) that 0.1 answered with a wrong number, a crash or an
unclear message; each one pins what the library does now."""

import decimal
import fractions
import os
import weakref

import numpy as np
import pytest

import compgraph as cg


def test_numbers_numpy_keeps_as_objects_become_float64():
    for value, expected in (
        (2**70, 2.0**70),
        (decimal.Decimal("1.5"), 1.5),
        (fractions.Fraction(1, 4), 0.25),
    ):
        node = cg.Node(value)
        assert node.dtype == np.float64 and node.item() == expected


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself warns
def test_masked_arrays_and_matrices_are_refused_or_converted_never_half_honoured():
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(cg.DTypeError, match="masked array"):
        cg.Node(masked)
    with pytest.raises(cg.DTypeError, match="masked array"):
        cg.Node(1.0) * masked

    class ReturnsMatrix(cg.Op):
        """x as np.matrix ; vjp: g"""

        @staticmethod
        def forward(x):
            return np.asmatrix(x)

        @staticmethod
        def vjp(g, out, x):
            return (g,)

    with pytest.raises(cg.OpError, match="forward returned matrix"):
        ReturnsMatrix(cg.Node([[1.0]]))


def test_integer_arguments_must_be_integers():
    x = cg.Node(np.ones((2, 3)))
    for call in (
        lambda: cg.sum(x, axis=(0.9,)),
        lambda: cg.transpose(x, (1.7, 0)),
        lambda: cg.reshape(x, (2.9, 3)),
        lambda: cg.sum(x, keepdims="yes"),
    ):
        with pytest.raises(TypeError, match="must be"):
            call()
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        cg.Node(1.0, requires_grad="False")


def test_empty_index_iteration_and_numpy_integer_argnums():
    x = cg.Node([1.0, 2.0, 3.0])
    assert x[[]].shape == (0,)  # an empty selection, as in NumPy
    a, b, c = x  # rows, as NumPy iterates
    assert (a.item(), b.item(), c.item()) == (1.0, 2.0, 3.0) and len(x) == 3
    with pytest.raises(TypeError, match="0-d"):
        len(cg.Node(1.0))
    assert float(cg.grad(lambda u, v: u * v, argnums=np.int64(1))(2.0, 5.0)) == 2.0


def test_nodes_can_be_weakly_referenced():
    node = cg.Node(1.0)
    assert weakref.ref(node)() is node


class ReturnsWrongThings(cg.Op):
    """x ; vjp: whatever RESULT holds"""

    RESULT = None

    @staticmethod
    def forward(x):
        return x * 1.0

    @staticmethod
    def vjp(g, out, x):
        return (ReturnsWrongThings.RESULT,)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (np.ones((3, 2)), r"gradient of shape \(3, 2\).*forward output has shape \(2,\)"),
        ("abc", "returned str"),
        (np.ones(2, dtype=complex), "dtype complex128"),
    ],
)
def test_a_vjp_returning_the_wrong_thing_is_named(result, message):
    # 0.1 summed a (3, 2) gradient down to [3, 3] for a (2,) input without a word.
    ReturnsWrongThings.RESULT = result
    with pytest.raises(cg.OpError, match=message):
        cg.sum(ReturnsWrongThings(cg.Node([1.0, 2.0]))).backward()


def test_a_vjp_returning_a_node_in_first_order_is_named():
    ReturnsWrongThings.RESULT = cg.Node([1.0, 1.0])
    with pytest.raises(cg.OpError, match="returned a Node"):
        cg.sum(ReturnsWrongThings(cg.Node([1.0, 2.0]))).backward()


class PositiveOnly(cg.Op):
    """√x for x > 0 only ; vjp: g / (2·out)"""

    @staticmethod
    def forward(x):
        if np.any(x <= 0):
            raise ValueError("PositiveOnly takes positive numbers")
        return np.sqrt(x)

    @staticmethod
    def vjp(g, out, x):
        return (g / (2 * out),)


def test_a_user_forward_raising_its_own_error_is_not_called_a_shape_error():
    # 0.1 said "positiveonly cannot combine ... : PositiveOnly takes positive numbers".
    with pytest.raises(
        cg.OpError, match=r"'positiveonly'.*forward raised ValueError: PositiveOnly takes positive"
    ) as caught:
        PositiveOnly(cg.Node([-1.0]))
    assert not isinstance(caught.value, cg.ShapeError)
    with pytest.raises(cg.ShapeError, match="add cannot combine"):  # built-in ops still say so
        cg.Node(np.ones(2)) + np.ones(3)


def test_a_training_loop_that_chains_its_steps_is_told_so():
    X, Y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, 1.0]])
    w = cg.Node([[0.1]], name="w")
    with pytest.warns(
        cg.GraphGrowthWarning, match=r"w = cg\.Node\(w\.value - lr \* w\.grad"
    ) as caught:
        for _ in range(6):
            J = cg.mean(cg.sigmoid_cross_entropy(w.T @ X, Y))
            J.backward()
            w = w - 0.5 * w.grad  # recorded: 0.1 silently chained 400 steps into 1605 nodes
    # Not "update under no_grad()": there w - lr * w.grad is a constant, and the next
    # backward() fails with "does not depend on any node that requires a gradient".
    (warning,) = [w for w in caught if w.category is cg.GraphGrowthWarning]
    assert "no_grad" not in str(warning.message)


def test_loops_that_build_each_step_afresh_are_not_warned():
    import warnings

    X, Y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, 1.0]])
    w = cg.Node([[0.1]], name="w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            J = cg.mean(cg.sigmoid_cross_entropy(w.T @ X, Y))
            J.backward()
            w = cg.Node(w.value - 0.5 * w.grad, name="w")
        shared = cg.tanh(w.T @ X)  # several losses from one forward, again and again
        for _ in range(5):
            cg.sum(shared).backward()
            cg.mean(shared).backward()


def _deep_chain(levels):
    x = cg.Node(0.5, name="x")
    y = x
    for _ in range(levels):
        y = cg.sigmoid(y * 1.0001)
    y.backward()
    return x, y


@pytest.mark.slow  # about 4 s each
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_deep_graphs_copy_and_pickle_without_recursion(how):
    import copy
    import pickle

    # 0.1 hit RecursionError at 100 to 300 ops.
    x, y = _deep_chain(50_000)  # 10⁵ ops
    twin = pickle.loads(pickle.dumps(y)) if how == "pickle" else copy.deepcopy(y)
    assert twin is not y and twin.value == y.value and twin.parents[0].op is cg.ops.Mul
    twin.backward()
    (x_twin,) = [n for n in cg.graph.ancestors(twin) if n.name == "x"]
    assert x_twin.grad == x.grad and x_twin is not x
    with pytest.raises(ValueError, match="read-only"):
        x_twin.value[...] = 1.0


def test_copies_keep_shared_inputs_shared():
    import copy
    import pickle

    a = cg.Node([1.0, 2.0], name="a")
    J = cg.sum(a * a + a)  # a feeds three operand slots
    for twin in (pickle.loads(pickle.dumps(J)), copy.deepcopy(J)):
        leaves = {id(n) for n in cg.graph.ancestors(twin) if n.name == "a"}
        assert len(leaves) == 1
        twin.backward()
        (a_twin,) = [n for n in cg.graph.ancestors(twin) if n.name == "a"]
        assert a_twin.grad.tolist() == [3.0, 5.0]
    shallow = copy.copy(J)
    assert shallow is not J and shallow.parents is J.parents and shallow.value is J.value


# -- audit of issue 16 against the current code: variants a hostile user tries next -------------


def test_masks_on_a_condition_or_an_index_are_refused_not_dropped():
    # Operands and Node(...) refused masked arrays, but where's condition and getitem's
    # index dropped their masks: [1, --] selected as if it were [1, 0].
    x = cg.Node([1.0, 2.0], name="x")
    condition = np.ma.masked_array([True, False], mask=[False, True])
    for call in (lambda: cg.where(condition, x, 0.0), lambda: np.where(condition, x, 0.0)):
        with pytest.raises(cg.DTypeError, match=r"where's condition is a masked array.*filled"):
            call()
    index = np.ma.masked_array([0, 1], mask=[False, True])
    for call in (lambda: x[index], lambda: cg.getitem(x, (index,)), lambda: x[index, ...]):
        with pytest.raises(cg.DTypeError, match=r"index .* is a masked array.*compressed"):
            call()
    with pytest.raises(cg.DTypeError, match=r"where's condition is not a rectangular array"):
        cg.where([[True], [True, False]], x, 0.0)


def test_clip_bounds_that_are_nodes_or_text_are_refused_by_name():
    # clip(x, Node) recursed until RecursionError (np.clip handed the Node back to
    # clip); a text bound got NumPy's "ufunc 'maximum' did not contain a loop".
    x = cg.Node([1.0, 2.0], name="x")
    for call in (lambda: cg.clip(x, cg.Node(1.5)), lambda: np.clip(x, None, cg.Node(1.5))):
        with pytest.raises(TypeError, match=r"clip's (low|high) bound is a Node.*cg\.maximum"):
            call()
    with pytest.raises(cg.DTypeError, match=r"clip's low bound has dtype <U1"):
        cg.clip(x, "a")
    assert cg.clip(cg.Node(np.ones(2, np.float32)), 0, 0.5).dtype == np.float32  # kept


def test_numbers_too_large_for_float64_are_refused_by_name():
    # 2**70 became float64, 2**2000 escaped as a bare OverflowError from NumPy.
    for value in (2**2000, [1, -(2**2000)]):
        with pytest.raises(cg.DTypeError, match=r"Node value .* does not fit in float64"):
            cg.Node(value)
    with pytest.raises(cg.ShapeError, match=r"sum cannot combine 'x' .* axis=\(10{20},\)"):
        cg.sum(cg.Node([1.0, 2.0], name="x"), axis=(10**20,))


def test_the_draw_command_joins_arrays_and_caps_what_joining_makes(capsys):
    from compgraph.cli.commands import main

    # concatenate and stack are listed by `compgraph draw --help`, yet every call was
    # refused: "concatenate(): xs must be an int, not [Node(...), ...]".
    for formula, value in (
        ("sum(concatenate([a, 2 * a]))", "f = 9"),
        ("sum(stack((a, a), axis=1) @ [1, 10])", "f = 33"),
    ):
        assert main(["draw", formula, "a=[1, 2]", "-o", "-", "--format", "dot"]) == 0
        assert capsys.readouterr().err.splitlines()[0] == value
    # Joined, the operands' elements add up: under the 10⁶ cap each, not together.
    m = "broadcast_to(a, (1000, 1000))"
    for formula, shape in (
        (f"sum(concatenate([{m}, {m}, {m}], axis=1))", "(1000, 3000)"),
        (f"sum(stack([{m}, {m}]))", "(2, 1000, 1000)"),
    ):
        assert main(["draw", formula, f"a={[0] * 1000}", "-o", "-"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"array of shape {shape}" in err and "at most" in err


def _picture_writers():
    graph = cg.Node(2.0, name="w") * 3
    return {
        "render": lambda path: cg.render(graph, path, engine="graphviz-pure"),
        "to_json": lambda path: cg.to_json(graph, path),
        "animate": lambda path: cg.animate(graph).save(path),
    }


posix_only = pytest.mark.skipif(
    os.name != "posix", reason="symlinks, file modes, FIFOs and signals are POSIX"
)


@posix_only
@pytest.mark.parametrize("writer", sorted(_picture_writers()))
def test_atomic_writes_keep_symlinks_and_permissions(tmp_path, writer):
    # The rename that keeps an old file safe also replaced a symlink by a plain file and
    # gave the new file mkstemp's private mode (0o600).
    target = tmp_path / "shared" / "picture"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    link = tmp_path / "picture"
    link.symlink_to(target)
    _picture_writers()[writer](link)
    assert link.is_symlink() and target.read_text(encoding="utf-8") != "old"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["picture"]


@posix_only
@pytest.mark.parametrize("writer", sorted(_picture_writers()))
def test_writing_to_a_pipe_writes_into_it_rather_than_replacing_it(tmp_path, writer):
    # -o /dev/stdout, /dev/full or a named pipe is a stream: renaming a file over it would
    # destroy it (as root, the atomic write replaced /dev/full and reported success).
    import stat

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # so that opening to write succeeds
    try:
        _picture_writers()[writer](pipe)
        received = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(pipe.stat().st_mode) and len(received) > 0
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.parametrize("output", ["-", "picture.svg"])
def test_the_draw_command_stops_quietly_when_its_reader_leaves(tmp_path, output):
    # compgraph draw ... | head printed a BrokenPipeError traceback.
    import subprocess
    import sys

    command = [sys.executable, "-m", "compgraph", "draw", "a*b", "a=1", "b=2", "-o", output]
    # Block-buffered stdout, as for any user's pipe: with PYTHONUNBUFFERED the write would
    # fail early, inside the handler, and hide a failure of the interpreter's final flush.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    child = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child.stdout.close()  # before the child has written: its first write meets a closed pipe
    err = child.stderr.read()
    assert child.wait(timeout=60) == 1
    assert "Traceback" not in err and "Broken pipe" not in err, err


def test_pow_at_zero_to_the_zero_has_the_slopes_pytorch_and_jax_give():
    # 0.1: d(0^z)/dz at z = 0 was 0^0 · ln 0 = -inf, with NumPy's divide warning.
    import warnings

    base, exponent = cg.Node([0.0, 0.0], name="b"), cg.Node([0.0, 2.0], name="z")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = cg.pow(base, exponent)
        cg.sum(y).backward()
        z = cg.Node(0.0, name="z")
        (0.0**z).backward()
        second = cg.grad(cg.grad(lambda t: 0.0**t))(0.0)
    assert y.value.tolist() == [1.0, 0.0]
    assert exponent.grad.tolist() == [0.0, 0.0] and base.grad.tolist() == [0.0, 0.0]
    assert z.grad == 0.0 and second == 0.0


def test_argnums_naming_one_argument_twice_gives_arrays_twice():
    # (0, 0) treated the node made for the first mention as a caller's Node, and returned
    # recorded Nodes instead of arrays.
    grads = cg.grad(lambda u, v: u * v, argnums=(0, 0))(2.0, 5.0)
    assert all(type(g) is np.ndarray for g in grads) and [float(g) for g in grads] == [5.0, 5.0]
    grads = cg.grad(lambda u, v: u * v, argnums=(1, -1))(2.0, 5.0)
    assert all(type(g) is np.ndarray for g in grads) and [float(g) for g in grads] == [2.0, 2.0]


def test_a_vjp_returning_a_masked_array_is_refused_not_unmasked():
    # fit_gradient's np.asarray dropped the mask: [--, 1] was summed in as [1, 1].
    ReturnsWrongThings.RESULT = np.ma.masked_array([1.0, 1.0], mask=[True, False])
    with pytest.raises(cg.OpError, match=r"vjp returned a masked array .*mask would be dropped"):
        cg.sum(ReturnsWrongThings(cg.Node([1.0, 2.0]))).backward()


class ReturnsHalfPrecision(cg.Op):
    """x in float16 ; vjp: g"""

    @staticmethod
    def forward(x):
        return x.astype(np.float16)

    @staticmethod
    def vjp(g, out, x):
        return (g,)


def test_a_forward_returning_another_float_type_is_refused():
    # Values are float64 or float32; a float16 result slipped in as a float16 node.
    with pytest.raises(cg.OpError, match="forward returned ndarray of dtype float16"):
        ReturnsHalfPrecision(cg.Node([1.0, 2.0]))


@pytest.mark.parametrize(
    "value",
    [[1e200], np.full(100, 1e200), np.array([1e20], np.float32), np.full(100, 1e20, np.float32)],
    ids=["1e200", "100 x 1e200", "float32 1e20", "100 x float32 1e20"],
)
def test_finite_values_whose_squares_overflow_never_warn_or_raise(value):
    # 0.1's finiteness check (a dot product) printed "overflow encountered in dot", and
    # raised FloatingPointError under np.errstate(over="raise").
    import warnings

    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        x = cg.Node(value, name="x")
        y = cg.sum(x * 0.5)
        y.backward()
        assert np.all(x.grad == 0.5) and "x" in cg.to_dot(y).source


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_masked_arrays_on_the_left_and_from_a_forward_are_refused_too():
    x = cg.Node([1.0, 2.0], name="x")
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    # NumPy's masked operators run first and ask x for its data: the mask is never
    # dropped, and the message (issue 20) gives the masked-array advice, not "node.value".
    for combine in (lambda: masked * x, lambda: masked + x):
        with pytest.raises(cg.DTypeError, match="is a masked array.*filled"):
            combine()
    with pytest.raises(cg.DTypeError, match="is a masked array"):
        masked @ x

    class ReturnsMasked(cg.Op):
        """x with its first element masked ; vjp: g"""

        @staticmethod
        def forward(x):
            return np.ma.masked_array(x, mask=[True, False])

        @staticmethod
        def vjp(g, out, x):
            return (g,)

    with pytest.raises(cg.OpError, match="forward returned MaskedArray"):
        ReturnsMasked(x)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_graphs_whose_gradients_are_graphs_copy_and_pickle(how):
    import copy
    import pickle

    # After backward(create_graph=True), x.grad is a Node whose graph holds x again: the
    # flattening followed parents only, and pickled x.grad as a graph of its own, which
    # held x, whose grad... RecursionError at two ops.
    x = cg.Node(3.0, name="x")
    y = x**3
    y.backward(create_graph=True)  # x.grad = 3x² = 27, a Node
    twin = pickle.loads(pickle.dumps(y)) if how == "pickle" else copy.deepcopy(y)
    (x_twin,) = [n for n in cg.graph.ancestors(twin) if n.name == "x"]
    assert x_twin is not x and isinstance(x_twin.grad, cg.Node) and x_twin.grad.value == 27.0
    assert x_twin in cg.graph.ancestors(x_twin.grad)  # the gradient's graph is the copy's
    x_twin.grad.backward()
    assert x_twin.grad == 18.0  # d(3x²)/dx = 6x, through the copied gradient graph


def test_separate_graphs_in_separate_threads_keep_working_under_the_lock():
    import threading

    # The lock that serializes passes over a shared graph must not break separate ones.
    results, failures = {}, []

    def train(k):
        try:
            w = cg.Node(np.full(3, float(k)), name=f"w{k}")
            for _ in range(20):
                J = cg.sum(cg.tanh(w) * w)
                J.backward()
            results[k] = (w.value.copy(), np.array(w.grad))
        except Exception as error:  # pragma: no cover - what this guards against
            failures.append(error)

    threads = [threading.Thread(target=train, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and sorted(results) == [0, 1, 2, 3]
    for value, grad in results.values():
        t = np.tanh(value)
        np.testing.assert_allclose(grad, t + value * (1 - t**2), rtol=1e-15)


@pytest.mark.parametrize(
    ("formula", "parameter"),
    [
        ("sum(getitem(a, 10**20))", "index"),
        ("sum(getitem(a, [0]*2))", "index"),
        ("sum(getitem(a, (0, 10**20)))", "index"),
        ("sum(reshape(a, 10**20))", "shape"),
        ("sum(a, axis=2**100)", "axis"),
    ],
)
def test_the_draw_command_says_why_a_computed_number_is_no_integer(capsys, formula, parameter):
    from compgraph.cli.commands import main

    # 1+0 and 2**1 stay integers now, but 10**20 (past int64) or [0]*2 (a list times a
    # number: an array the engine computes) still got "index constant 1e+20 of shape () is a
    # Node; ... index with its .value", which means nothing in a formula.
    assert main(["draw", formula, "a=[1, 2]", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{parameter} must be" in err, err
    assert "below 2**63" in err and ".value" not in err


@posix_only
@pytest.mark.parametrize(
    ("script", "said"),
    [
        # The system dot under a tight memory_limit, as seen on Debian's Graphviz 2.43:
        (
            "cat >/dev/null\necho 'dot: error while loading shared libraries: libgvc.so.6: "
            "failed to map segment from shared object' >&2\nexit 127\n",
            r"fake-dot ran out of memory .*memory_limit=",
        ),
        (
            "cat >/dev/null\necho \"GLib-ERROR **: creating thread 'pango': Error creating "
            'thread: Resource temporarily unavailable" >&2\nkill -TRAP $$\n',
            r"fake-dot crashed \(killed by SIGTRAP.*run out of the memory it is allowed",
        ),
    ],
    ids=["loader cannot map", "GLib traps"],
)
def test_a_layout_program_starved_of_memory_is_said_to_be(monkeypatch, tmp_path, script, said):
    # The reports said "could not render the graph as 'svg' (exit status 127)" and a SIGTRAP
    # crash without a word of the memory limit that caused them.
    from compgraph.pictures import drawing as viz

    program = tmp_path / "fake-dot"
    program.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setattr(viz, "layout_program", lambda engine=None: str(program))
    with pytest.raises(cg.RenderError, match=said):
        cg.to_svg(cg.Node(1.0, name="a") * 2)


def test_a_step_too_large_for_f_is_named_as_a_cause_when_gradcheck_fails():
    # The relative step at x = 1e10 is 1e4: σ(x - 1e10) changes on a scale of 1, so the
    # difference quotient is wrong although every op is right. 0.1's absolute step failed
    # the other way; the report must not send the user hunting for a non-smooth f only.
    def f(x):
        return cg.sum(cg.sigmoid(x - 1e10))

    with pytest.raises(cg.GradientCheckError, match=r"smaller eps") as caught:
        cg.gradcheck(f, np.array([1e10]))
    assert "Localized by check_graph" not in str(caught.value)  # no op is blamed
    assert cg.gradcheck(f, np.array([1e10]), eps=1e-13).passed  # and the advice works


def test_a_small_array_changed_in_place_after_the_forward_pass_cannot_change_the_gradient():
    """Small operands are copied when wrapped; the graph keeps the numbers it computed with."""
    w = cg.Node([1.0, 2.0], name="w")
    data = np.array([3.0, 4.0])
    J = cg.sum(w * data)
    data[0] = 100.0  # after the forward pass, before backward()
    J.backward()
    assert float(J.value) == 11.0 and w.grad.tolist() == [3.0, 4.0]


def test_large_operands_are_used_without_a_copy():
    """Data the size of X is not copied per use (the README says not to change it in place)."""
    from compgraph.node import SNAPSHOT_UP_TO

    big = np.ones(SNAPSHOT_UP_TO + 1)
    y = cg.Node(2.0) * big
    assert np.shares_memory(y.parents[1].value, big)
    small = np.ones(SNAPSHOT_UP_TO)
    assert not np.shares_memory((cg.Node(2.0) * small).parents[1].value, small)


# -- issue 20: inputs that NumPy and compgraph would read differently ------------------------


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself warns
def test_np_matrix_is_refused_in_either_operand_order_because_its_star_is_matmul():
    # NumPy: m * x is the matrix product; compgraph's * is elementwise, so it used to give
    # [[1, 0], [0, 4]] where NumPy gives [[1, 2], [3, 4]].
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    x = cg.Node(np.eye(2), name="x")
    advice = r"np\.matrix.*np\.asarray\(m\).*@"
    for call in (
        lambda: m * x,
        lambda: x * m,
        lambda: m + x,
        lambda: x @ m,
        lambda: m @ x,
        lambda: cg.Node(m),
        lambda: cg.matmul(x, m),
    ):
        with pytest.raises(cg.DTypeError, match=advice):
            call()
    assert (cg.Node(np.asarray(m)) @ x).value.tolist() == (np.asarray(m) @ np.eye(2)).tolist()


def test_a_masked_array_gets_the_masked_array_advice_in_either_operand_order():
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    y = cg.Node(np.array([1.0, 2.0]), name="y")
    for call in (
        lambda: masked + y,
        lambda: y + masked,
        lambda: masked * y,
        lambda: masked - y,
        lambda: masked / y,
        lambda: np.add(masked, y),
    ):
        with pytest.raises(cg.DTypeError, match=r"masked array.*filled.*compressed") as info:
            call()
        assert "node.value" not in str(info.value)


def test_index_add_sums_the_gradient_of_a_v_broadcast_over_the_positions():
    # torch (index_put_ with accumulate) and JAX (.at[].add) give 1 + 100 = 101.
    v = cg.Node(2.0, name="v")
    out = cg.index_add(v, [0, 2], (3,))
    assert out.value.tolist() == [2.0, 0.0, 2.0]
    out.backward(np.array([1.0, 10.0, 100.0]))
    assert float(v.grad) == 101.0
    row = cg.Node(np.array([1.0, 2.0]), name="row")
    g = np.arange(6.0).reshape(3, 2)
    cg.index_add(row, [0, 2, 0], (3, 2)).backward(g)
    assert row.grad.tolist() == (g[[0, 2, 0]].sum(axis=0)).tolist()
    # second order: the gradient is a Node that sums back too
    w = cg.Node(3.0, name="w")
    (grad,) = [cg.grad(lambda w: cg.sum(cg.index_add(w**2, [0, 2], (3,)) * g[:, 0]))(w)]
    assert float(grad) == 2 * 3.0 * (g[0, 0] + g[2, 0])
    assert cg.gradgradcheck(lambda w: cg.sum(cg.index_add(w**3, [0, 2], (3,))), 0.7).passed


def test_node_astype_refuses_int_with_cg_astype_s_message():
    x = cg.Node(np.array([1.5, 2.5]))
    with pytest.raises(TypeError, match="astype converts to float32 or float64, not int64"):
        x.astype(int)
    with pytest.raises(TypeError, match="astype converts to float32 or float64, not int64"):
        cg.astype(x, int)
    assert x.astype(np.float32).dtype == np.float32
