"""The strategies offered to users draw what they promise, and the suite dogfoods them."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import Phase, event, find, given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph.checks.testing import (
    GRAPH_BOUND,
    NONZERO,
    OP_CASES,
    POSITIVE,
    REAL,
    Domain,
    assert_gradients_match,
    broadcastable_shapes,
    float_arrays,
    graphs,
    matmul_pairs,
    matmul_shapes,
)


@given(float_arrays(st.sampled_from([(3,), (2, 2)]), NONZERO), float_arrays((4,), POSITIVE))
def test_float_arrays_stay_in_their_domain(divisors, positives):
    assert divisors.shape in {(3,), (2, 2)}
    assert np.all(np.abs(divisors) >= 0.5) and np.all(np.abs(divisors) <= 3)
    assert np.all(positives >= 0.1) and NONZERO.admits(divisors) and POSITIVE.admits(positives)


def test_domains_admit_exactly_their_range():
    assert REAL.admits(np.array([-3.0, 3.0])) and not REAL.admits(np.array([3.5]))
    assert not NONZERO.admits(np.array([0.2])) and NONZERO.admits(np.array([-0.5, 2.0]))
    assert not POSITIVE.admits(np.array([0.0]))
    one_sided = Domain(1.0, 2.0, away_from_zero=0.5)
    assert find(float_arrays((3,), one_sided), lambda x: True).min() >= 1.0


@given(broadcastable_shapes(3), matmul_shapes(max_batch_dims=3))
def test_shapes_fit_numpy(shapes, pair):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)
    np.zeros(pair[0]) @ np.zeros(pair[1])


@settings(max_examples=30)
@given(matmul_pairs(), st.data())
def test_matmul_pairs_have_correct_gradients(pair, data):
    x, y = pair
    weights = data.draw(float_arrays(np.shape(x @ y)))
    assert_gradients_match(lambda x, y: cg.sum((x @ y) * weights), x, y)


def test_assert_gradients_match_fails_as_an_assertion_naming_the_node():
    class ScaledExp(cg.Op):
        @staticmethod
        def forward(x):
            return np.exp(x)

        @staticmethod
        def vjp(g, out, x):
            return (g * out * 0.999,)

    with pytest.raises(AssertionError, match=r"(?s)x0.*FAIL.*first wrong vjp.*scaledexp"):
        assert_gradients_match(lambda x: cg.sum(cg.apply(ScaledExp, x)), np.ones(3))


@settings(max_examples=100)
@given(graphs())
def test_random_graphs_have_gradients_matching_finite_differences(graph):
    event(f"drawn ops: {graph.core_size}")
    event(f"fan-out: {min(graph.fan_out, 3)}{'+' if graph.fan_out >= 3 else ''}")
    for name in set(graph.op_names):
        event(f"uses {name}")
    report = assert_gradients_match(graph, *graph.leaves)
    assert report.verdict in ("great", "fine", "negligible")
    out, _ = graph.build()
    assert cg.check_graph(out).passed


@given(graphs(dtype=np.float32, max_ops=4))
def test_float32_graphs_are_checked_in_float64(graph):
    assert all(leaf.dtype == np.float32 for leaf in graph.leaves)
    assert_gradients_match(graph, *graph.leaves)


@given(graphs())
def test_graphs_are_valid(graph):
    out, leaves = graph.build()
    assert out.size == 1 and out.requires_grad
    assert [leaf.name for leaf in leaves] == [f"x{i}" for i in range(len(graph.leaves))]
    values = list(graph.leaves)
    for k, step in enumerate(graph.steps):
        values.append(step.op.forward(*(values[i] for i in step.args), **step.attrs))
        assert k >= graph.core_size or np.all(np.abs(values[-1]) <= GRAPH_BOUND)
    np.testing.assert_allclose(out.value, values[-1], rtol=1e-12)
    # Every value but the output feeds some op, so every op reaches the output.
    used = {i for step in graph.steps for i in step.args}
    assert used == set(range(len(values) - 1))
    cases = {case.op: case for case in OP_CASES}
    for step in graph.steps:  # log, div and pow only ever see values in their domains
        for i, domain in zip(step.args, cases[step.op].domains, strict=True):
            assert domain is REAL or domain.admits(values[i])


def test_graphs_vary_in_size_reuse_broadcasting_and_ops():
    drawn = []

    @settings(max_examples=300, derandomize=True, database=None)
    @given(graphs())
    def collect(graph):
        drawn.append(graph)

    collect()
    sizes = Counter(min(g.core_size, 8) for g in drawn)
    assert len(sizes) >= 6, sizes
    assert sum(g.fan_out > 0 for g in drawn) >= len(drawn) // 5
    assert Counter(len(g.leaves) for g in drawn).keys() == {1, 2, 3}
    assert max(g.depth for g in drawn) >= 6
    ops = Counter(name for g in drawn for name in set(g.op_names))
    assert len(ops) >= len(OP_CASES) * 3 // 4, ops  # most ops, unrestricted; each one below

    def broadcasts(graph, step):
        values = list(graph.leaves)
        for s in graph.steps:
            values.append(np.asarray(s.op.forward(*(values[i] for i in s.args), **s.attrs)))
        shapes = {values[i].shape for i in step.args}
        return len(step.args) == 2 and step.op is not cg.ops.Matmul and len(shapes) == 2

    assert sum(any(broadcasts(g, s) for s in g.steps) for g in drawn) >= len(drawn) // 10


@pytest.mark.parametrize("name", sorted(case.op.name for case in OP_CASES))
def test_graphs_draw_every_op_of_the_table(name):
    no_shrinking = settings(phases=[Phase.generate], max_examples=500, database=None)
    graph = find(graphs(ops=[name]), lambda g: name in g.op_names, settings=no_shrinking)
    out, _ = graph.build()
    assert out.size == 1 and name in {node.op.name for node in cg.graph.ancestors(out) if node.op}


@pytest.mark.slow  # about 3.5 s
def test_graphs_can_be_restricted_to_some_ops_and_reject_unknown_ones():
    graph = find(graphs(ops=["log", "mul"]), lambda g: "log" in g.op_names)
    assert set(graph.op_names) <= {"log", "mul", "mean", "add"}
    with pytest.raises(ValueError, match=r"unknown op names \['convolve'\]"):
        find(graphs(ops=["convolve", "add"]), lambda g: True)
    with pytest.raises(TypeError, match="takes 1 leaves, got 2"):
        find(graphs(max_leaves=1), lambda g: True)(cg.Node(1.0), cg.Node(2.0))


def test_a_graph_prints_as_a_program_that_reproduces_its_leaves():
    graph = find(graphs(), lambda g: len(g.steps) >= 3 and len(g.leaves) == 2)
    text = repr(graph)
    assert text.startswith("RandomGraph(") and "x1 = np.array(" in text
    namespace = {"np": np}
    exec(text.splitlines()[1].strip(), namespace)
    np.testing.assert_array_equal(namespace["x0"], graph.leaves[0])
    assert f"v{len(graph.leaves) + len(graph.steps) - 1} = " in text


def test_the_random_graph_property_catches_a_slightly_wrong_builtin_vjp(monkeypatch):
    def wrong(g, out, x):
        return (g * out * (1 - out) * 1.001,)

    monkeypatch.setattr(cg.ops.Sigmoid, "vjp", staticmethod(wrong))
    failing = find(
        graphs(ops=["sigmoid", "add", "mul"]),
        lambda g: not cg.gradcheck(g, *g.leaves, raise_on_failure=False).passed,
        settings=settings(database=None, max_examples=200),
    )
    out, _ = failing.build()
    assert cg.check_graph(out, raise_on_failure=False).node.op is cg.ops.Sigmoid
