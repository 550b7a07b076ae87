"""Pictures of graphs: DOT text, SVG from both layout programs, escaping, determinism, caps."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import graphviz
import numpy as np
import pytest
from conftest import require_program

import compgraph as cg
from compgraph.pictures import drawing as viz

SVG = "{http://www.w3.org/2000/svg}"
SNAPSHOTS = Path(__file__).parent / "snapshots"


def lecture_graph():
    """J = 3(a + bc) at (5, 3, 2), after backward: J = 33, dJ/d(a, b, c) = (3, 6, 9)."""
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    J = 3 * (a + b * c)
    J.name = "J"
    J.backward()
    return J, (a, b, c)


def logistic_graph():
    """z = wᵀX + b, A = σ(z), J = mean cross-entropy; X is (3, 4): 3 features, 4 examples."""
    rng = np.random.default_rng(0)
    X = cg.Node(rng.normal(size=(3, 4)), name="X", requires_grad=False)
    Y = cg.Node([[1.0, 0.0, 1.0, 0.0]], name="Y", requires_grad=False)
    w = cg.Node(rng.normal(size=(3, 1)), name="w")
    b = cg.Node(0.5, name="b")
    A = cg.sigmoid(w.T @ X + b)
    A.name = "A"
    J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
    J.name = "J"
    J.backward()
    return J, (X, Y, w, b, A)


def svg_nodes(svg: str) -> dict[str, list[str]]:
    """Each drawn node's DOT id -> the lines of text in its picture, from the parsed SVG."""
    tree = ET.fromstring(svg.encode("utf-8"))
    return {
        group.find(SVG + "title").text: [text.text or "" for text in group.iter(SVG + "text")]
        for group in tree.iter(SVG + "g")
        if group.get("class") == "node"
    }


def svg_edge_labels(svg: str) -> dict[str, list[str]]:
    tree = ET.fromstring(svg.encode("utf-8"))
    return {
        group.find(SVG + "title").text: [text.text for text in group.iter(SVG + "text")]
        for group in tree.iter(SVG + "g")
        if group.get("class") == "edge"
    }


def node_by_first_line(nodes: dict[str, list[str]], first: str) -> list[str]:
    (lines,) = [lines for lines in nodes.values() if lines and lines[0] == first]
    return lines


# -- the lecture's graph, drawn for real by both layout programs ------------------------------


@pytest.mark.parametrize("engine", viz.ENGINES)
def test_lecture_graph_svg_shows_values_and_gradients(engine):
    if engine == "dot":
        require_program("dot")
    J, _ = lecture_graph()
    nodes = svg_nodes(cg.to_svg(J, engine=engine))
    assert len(nodes) == 7 + 3  # a b c bc a+bc 3 J, and the ops × + ×
    assert node_by_first_line(nodes, "a") == ["a", "value: 5", "grad: 3"]
    assert node_by_first_line(nodes, "b") == ["b", "value: 3", "grad: 6"]
    assert node_by_first_line(nodes, "c") == ["c", "value: 2", "grad: 9"]
    assert node_by_first_line(nodes, "J") == ["J", "value: 33", "grad: 1"]
    assert ["value: 6", "grad: 3"] in nodes.values()  # bc
    assert ["value: 11", "grad: 3"] in nodes.values()  # a + bc
    assert ["value: 3"] in nodes.values()  # the constant 3 has no gradient
    assert sorted(lines[0] for name, lines in nodes.items() if name.startswith("op")) == [
        "+",
        "×",
        "×",
    ]
    assert len(svg_edge_labels(cg.to_svg(J, engine=engine))) == 9


def test_lecture_graph_dot_matches_snapshot():
    J, _ = lecture_graph()
    # To update after an intended change, write cg.to_dot(J).source to the file and review it.
    assert cg.to_dot(J).source == (SNAPSHOTS / "lecture_graph.dot").read_text(encoding="utf-8")


def test_styles_tell_parameters_constants_intermediates_and_output_apart():
    J, _ = lecture_graph()
    source = cg.to_dot(J).source
    style = {}
    for line in source.splitlines():
        found = re.match(r"\t(v\d+) \[label=<(.*?)<br.*> (.*)\]$", line)
        if found:
            style[found[2]] = found[3]
    assert style["<b>a</b>"] == style["<b>b</b>"]  # both parameters
    assert "#dbeafe" in style["<b>a</b>"]
    assert "dashed" in style["value: 3"]  # the constant 3
    assert "bold" in style["<b>J</b>"] and "#dcfce7" in style["<b>J</b>"]  # the output
    assert style["value: 6"] == 'color="#374151" style=rounded'  # intermediate


def test_logistic_regression_graph_shows_shapes_values_and_gradients():
    J, (X, Y, _, _, A) = logistic_graph()
    nodes = svg_nodes(cg.to_svg(J))
    x_lines = node_by_first_line(nodes, "X")
    assert x_lines[1] == "(3, 4) float64"
    assert not any(line.startswith("grad") for line in x_lines)  # data get no gradient
    assert node_by_first_line(nodes, "Y")[1:] == ["(1, 4) float64", "value: [[1, 0, 1, 0]]"]
    w_lines = node_by_first_line(nodes, "w")
    assert w_lines[1] == "(3, 1) float64"
    expected = X.value @ (A.value - Y.value).T / 4  # the analytic dJ/dw = X (A - Y)ᵀ / m
    assert "\n".join(w_lines).endswith("\ngrad: " + viz.format_array(expected))
    assert node_by_first_line(nodes, "b") == [
        "b",
        "value: 0.5",
        f"grad: {np.mean(A.value - Y.value):.4g}",
    ]
    assert node_by_first_line(nodes, "A")[1] == "(1, 4) float64"
    assert node_by_first_line(nodes, "J")[:2] == ["J", f"value: {J.item():.4g}"]
    assert ["(1, 4) float64", "value: [[0, 1, 0, 1]]"] in nodes.values()  # 1 - Y
    ops_drawn = sorted(lines[0] for name, lines in nodes.items() if name.startswith("op"))
    assert ops_drawn == sorted(
        # 1 - Y is computed from constants alone, so it is a constant, not an op.
        ["ᵀ", "@", "+", "σ", "log", "×", "−", "log", "×", "+", "mean", "−"]
    )


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "text"),
    [
        (np.array(33.0), "33"),
        (np.array(1 / 3), "0.3333"),
        (np.array(-1.5e-7), "-1.5e-07"),
        (np.array(123456.0), "1.235e+05"),
        (np.array([np.inf, -np.inf, np.nan]), "[inf, -inf, nan]"),
        (np.array([1.0, 2.5, 3.0]), "[1, 2.5, 3]"),
        (np.arange(8.0), "[0, 1, 2, 3, 4, 5,\n 6, 7]"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1, 2],\n [3, 4]]"),
        (np.zeros((2, 1, 2)), "[[[0, 0]],\n\n [[0, 0]]]"),
        (np.zeros((0, 3)), "[]"),
        (np.arange(13.0), "min 0, mean 6, max 12"),
        (np.arange(13.0, dtype=np.float32), "min 0, mean 6, max 12"),
    ],
)
def test_format_array(array, text):
    assert viz.format_array(array) == text


def test_large_arrays_are_summarised_with_their_shape_when_shape_is_hidden():
    x = cg.Node(np.arange(100.0).reshape(20, 5), name="x")
    wrap = '<br align="left"/>'  # long summaries wrap, so boxes stay narrow
    hidden = cg.to_dot(x, show_shape=False).source
    assert f"value: (20, 5) min 0,{wrap}  mean 49.5, max 99" in hidden
    assert f"value: min 0, mean 49.5,{wrap}  max 99" in cg.to_dot(x).source


def test_float32_scalars_show_their_dtype_by_default():
    assert "scalar float32" in cg.to_dot(cg.Node(np.float32(2.0))).source
    assert "scalar float64" not in cg.to_dot(cg.Node(2.0)).source
    assert "scalar float64" in cg.to_dot(cg.Node(2.0), show_shape=True).source
    assert "(2,) float64" not in cg.to_dot(cg.Node([1.0, 2.0]), show_shape=False).source


def test_gradients_appear_only_after_backward():
    x = cg.Node(2.0, name="x")
    y = x * x
    assert "grad" not in cg.to_dot(y).source
    y.backward()
    assert "grad: 4" in cg.to_dot(y).source
    assert "grad" not in cg.to_dot(y, show_grad=False).source


def test_every_part_can_be_switched_off():
    J, _ = lecture_graph()
    source = cg.to_dot(J, show_name=False, show_value=False, show_grad=False).source
    assert "<b>" not in source and "value" not in source and "grad" not in source
    assert "label=<>" in source
    assert "op" not in cg.to_dot(J, show_op=False).source


def test_without_op_nodes_inputs_join_outputs_directly_keeping_operand_roles():
    x, y = cg.Node(1.0, name="x"), cg.Node(2.0, name="y")
    source = cg.to_dot(x - y, show_op=False).source
    assert "\tv0 -> v2 [label=left]\n\tv1 -> v2 [label=right]\n" in source
    assert "op2" not in source


def test_layout_direction():
    J, _ = lecture_graph()
    assert "rankdir=LR" in cg.to_dot(J).source
    assert "rankdir=TB" in cg.to_dot(J, rankdir="TB").source


def test_title_is_written_above_the_graph():
    J, _ = lecture_graph()
    assert "label=<J = 3(a + bc) &amp; more>" in cg.to_dot(J, title="J = 3(a + bc) & more").source


# -- operands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "symbol", "roles"),
    [
        (cg.sub, "−", ("left", "right")),
        (cg.div, "÷", ("numerator", "denominator")),
        (cg.pow, "^", ("base", "exponent")),
        (cg.matmul, "@", ("left", "right")),
    ],
)
def test_non_commutative_ops_label_their_operands_in_both_orders(build, symbol, roles):
    p, q = cg.Node([2.0], name="p"), cg.Node([3.0], name="q")
    for first, second in ((p, q), (q, p)):
        source = cg.to_dot(build(first, second)).source
        first_id = "v0" if first is p else "v1"
        second_id = "v1" if first is p else "v0"
        assert (
            f"\t{first_id} -> op2 [label={roles[0]}]\n\t{second_id} -> op2 [label={roles[1]}]\n"
            in source
        )
        assert f"op2 [label=<{symbol}>" in source


def test_edge_labels_cannot_be_read_as_the_lessons_data_x_and_y():
    J, _ = logistic_graph()
    labels = set(re.findall(r"-> \w+ \[label=(\w+)\]", cg.to_dot(J).source))
    assert labels == {"left", "right"}  # X enters @ on an edge labelled "right", not "y"
    assert not labels & {"x", "y", "X", "Y"}


def test_labels_come_from_the_op_table_for_every_builtin_op():
    for op in cg.ops.BUILTIN_OPS:
        assert op.symbol is None or isinstance(op.symbol, str)
        assert isinstance(op.roles, tuple)
    assert not hasattr(viz, "_OP_SYMBOLS") and not hasattr(viz, "_COMMUTATIVE")


def test_commutative_ops_need_no_labels_and_a_times_a_draws_two_edges():
    a = cg.Node(3.0, name="a")
    source = cg.to_dot(a * a).source
    assert source.count("\tv0 -> op1\n") == 2
    assert "label=x" not in cg.to_dot(a + a).source


def test_custom_ops_are_drawn_as_their_symbol_and_roles_say():
    class Lerp(cg.Op):
        """p + t (q - p)"""

        symbol = "lerp ↔"
        roles = ("p", "q", "t")

        @staticmethod
        def forward(p, q, t):
            return p + t * (q - p)

        @staticmethod
        def vjp(g, out, p, q, t):
            return g * (1 - t), g * t, g * (q - p)

    class Blend(cg.Op):
        name = "blend<&>"

        @staticmethod
        def forward(*inputs):
            return inputs[0] + 2 * inputs[1]

        @staticmethod
        def vjp(g, out, *inputs):
            return g, 2 * g

    u, v = cg.Node(1.0, name="u"), cg.Node(5.0, name="v")
    source = cg.to_dot(cg.apply(Lerp, u, v, 0.25)).source
    assert "-> op3 [label=p]" in source and "-> op3 [label=q]" in source
    assert "-> op3 [label=t]" in source and "op3 [label=<lerp ↔>" in source
    blended = cg.to_dot(cg.apply(Blend, u, v)).source  # no roles: order does not matter
    assert "\tv0 -> op2\n\tv1 -> op2\n" in blended
    assert "op2 [label=<blend&lt;&amp;&gt;>" in blended  # no symbol: drawn by its name

    class Stack(Blend):
        roles = ("first",)  # variadic: inputs beyond the roles are numbered

    stacked = cg.to_dot(cg.apply(Stack, u, v)).source
    assert "v0 -> op2 [label=first]" in stacked and "v1 -> op2 [label=1]" in stacked


def test_op_settings_are_shown():
    x = cg.Node(np.ones((2, 3)), name="x")
    source = cg.to_dot(cg.sum(cg.reshape(x, (3, 2)), axis=0)).source
    assert "label=<reshape<br/>shape=(3, 2)>" in source
    assert "label=<sum<br/>axis=0>" in source  # axis=None and keepdims=False are not noise


# -- escaping --------------------------------------------------------------------------------

AWKWARD_NAMES = [
    'say "hi"',
    "<b>bold</b> & <i>",
    "a & b &amp; c",
    "{x | y} [z]",
    "back\\slash \\N \\G \\l \\\\",
    "two\nlines",
    "ünïcødé 日本語 αβγ 😀",
    "</text><script>alert(1)</script>",
    "]]> <!-- -->",
    "tab\there, bell\x07",
]


def expected_lines(name):
    """How a name reads in the picture: lines split at newlines, control characters escaped."""
    return name.replace("\t", "\\t").replace("\x07", "\\x07").split("\n")


@pytest.mark.parametrize("engine", viz.ENGINES)
def test_awkward_names_render_as_written_into_well_formed_svg(engine):
    if engine == "dot":
        require_program("dot")
    nodes = [cg.Node(float(i), name=name) for i, name in enumerate(AWKWARD_NAMES)]
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    total.name = AWKWARD_NAMES[2]
    svg = cg.to_svg(total, engine=engine, title=AWKWARD_NAMES[7])
    tree = ET.fromstring(svg.encode("utf-8"))
    assert not [element for element in tree.iter() if "script" in element.tag.lower()]
    assert not [element for element in tree.iter() if element.tag.endswith(("}b", "}i"))]
    drawn = svg_nodes(svg)
    for i, name in enumerate(AWKWARD_NAMES):
        lines = expected_lines(name)
        assert [*lines, f"value: {i}"] in drawn.values(), name
    title = next(t.text for t in tree.iter(SVG + "text"))
    assert title == AWKWARD_NAMES[7]


def test_names_never_reach_dot_unescaped():
    source = cg.to_dot(cg.Node(1.0, name='"]; evil [label="x" <b>')).source
    assert '"];' not in source and "<b>" not in source.replace("<b>&quot;", "")
    assert "&quot;]; evil [label=&quot;x&quot; &lt;b&gt;" in source


# -- determinism -----------------------------------------------------------------------------


def test_same_program_gives_byte_identical_dot():
    first, _ = lecture_graph()
    cg.Node(0.0)  # shift the creation counter: ids must not depend on it
    second, _ = lecture_graph()
    assert cg.to_dot(first).source == cg.to_dot(second).source
    J, _ = logistic_graph()
    assert cg.to_dot(J).source == cg.to_dot(logistic_graph()[0]).source


def test_dot_is_identical_in_a_fresh_interpreter():
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_viz, compgraph as cg;"
        "sys.stdout.write(cg.to_dot(test_viz.logistic_graph()[0]).source)"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", program, str(Path(__file__).parent)],
        capture_output=True,
        check=True,
        encoding="utf-8",
    ).stdout
    assert fresh == cg.to_dot(logistic_graph()[0]).source


# -- size ------------------------------------------------------------------------------------


def chain(length):
    x = cg.Node(0.5, name="x")
    y = x
    for _ in range(length - 1):
        y = cg.sigmoid(y)
    return y


def test_cap_draws_the_nodes_nearest_the_output_and_says_what_was_left_out():
    y = chain(50)
    source = cg.to_dot(y, max_nodes=10).source
    values = re.findall(r"^\t(v\d+) \[", source, re.MULTILINE)
    assert values == [f"v{i}" for i in range(40, 50)]
    assert "more [label=<40 more nodes not drawn (max_nodes=10, max_edges=600)>" in source
    assert "\tmore -> op40 [style=dashed]\n" in source
    assert len(svg_nodes(cg.to_svg(y, max_nodes=10))) == 10 + 10 + 1


def test_default_cap_and_no_cap():
    y = chain(1200)
    assert len(re.findall(r"^\tv\d+ \[", cg.to_dot(y).source, re.MULTILINE)) == 200
    assert "1000 more nodes not drawn (max_nodes=200, max_edges=600)" in cg.to_dot(y).source
    everything = cg.to_dot(y, max_nodes=None, max_edges=None).source
    assert len(re.findall(r"^\tv\d+ \[", everything, re.MULTILINE)) == 1200
    assert "more" not in everything


def test_big_drawings_bound_the_layout_effort():
    assert "nslimit" not in cg.to_dot(chain(100)).source
    assert "graph [fontname=Helvetica nslimit=1 nslimit1=1 rankdir=" in cg.to_dot(chain(101)).source


def test_a_ten_thousand_node_graph_needs_no_recursion():
    y = chain(10_000)
    assert cg.to_dot(y, max_nodes=None, max_edges=None).source.count("σ") == 9_999


def test_cap_with_shared_inputs_counts_each_node_once():
    x = cg.Node(1.0, name="x")
    y = x
    for _ in range(30):
        y = y * x  # x feeds every op: a fan-out, not a chain
    source = cg.to_dot(y, max_nodes=5).source
    assert "26 more nodes not drawn" in source  # 31 nodes: x and 30 products
    assert "v0 [label=<<b>x</b>" in source  # x is an input of the output, so it is near


# -- highlighting ----------------------------------------------------------------------------


def test_highlight_takes_nodes_reports_and_iterables():
    J, (a, b, c) = lecture_graph()
    red = 'color="#dc2626"'

    def marked(source):
        return re.findall(r"^\t(v\d+) .*" + re.escape(red), source.source, re.MULTILINE)

    assert marked(cg.to_dot(J, highlight=b)) == ["v1"]
    assert marked(cg.to_dot(J, highlight=SimpleNamespace(node=c))) == ["v2"]
    assert marked(cg.to_dot(J, highlight=[a, SimpleNamespace(node=c)])) == ["v0", "v2"]
    assert marked(cg.to_dot(J, highlight=(n for n in (J,)))) == ["v6"]
    assert marked(cg.to_dot(J, highlight=SimpleNamespace(node=None))) == []
    assert marked(cg.to_dot(J, highlight=cg.Node(1.0))) == []  # not in this graph
    with pytest.raises(TypeError, match="highlight"):
        cg.to_dot(J, highlight=3)
    with pytest.raises(TypeError, match="highlight"):
        cg.to_dot(J, highlight=["a"])


# -- bad options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rankdir": "RL"}, "rankdir"),
        ({"max_nodes": 0}, "max_nodes"),
        ({"max_nodes": True}, "max_nodes"),
        ({"max_nodes": 2.5}, "max_nodes"),
        ({"show_grad": "yes"}, "show_grad"),
        ({"show_shape": "sometimes"}, "show_shape"),
    ],
)
def test_bad_options_are_refused_by_name(options, message):
    J, _ = lecture_graph()
    with pytest.raises(ValueError, match=message):
        cg.to_dot(J, **options)


def test_root_must_be_a_node():
    with pytest.raises(TypeError, match="to_dot takes the root Node"):
        cg.to_dot(3.0)


# -- layout programs -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", viz.ENGINES)
def test_render_writes_the_file_and_returns_its_path(engine, tmp_path):
    if engine == "dot":
        require_program("dot")
    J, _ = lecture_graph()
    out = cg.render(J, tmp_path / f"{engine}.svg", engine=engine)
    assert out == tmp_path / f"{engine}.svg"
    assert node_by_first_line(svg_nodes(out.read_text(encoding="utf-8")), "c")[-1] == "grad: 9"
    png = cg.render(J, tmp_path / f"{engine}.png", format="png", engine=engine)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_system_dot_is_preferred():
    require_program("dot")
    assert Path(viz.layout_program()).name == "dot"


def test_pip_installed_graphviz_pure_is_found_without_system_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH, and no graphviz-pure either
    program = viz.layout_program()
    assert Path(program).name == "graphviz-pure"  # found next to this Python
    J, _ = lecture_graph()
    assert node_by_first_line(svg_nodes(cg.to_svg(J)), "J")[1] == "value: 33"


def test_without_any_graphviz_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(viz, "_scripts_dirs", lambda: [str(tmp_path)])
    J, _ = lecture_graph()
    with pytest.raises(cg.RenderError, match="apt-get install graphviz.*pip install graphviz-pure"):
        cg.render(J, tmp_path / "J.svg")
    assert not (tmp_path / "J.svg").exists()
    assert "digraph" in cg.to_dot(J).source  # DOT needs no program


def test_layout_failures_are_reported(tmp_path):
    J, _ = lecture_graph()
    with pytest.raises(cg.RenderError, match="graphviz-pure could not render the graph as 'pdf'"):
        cg.render(J, tmp_path / "J.pdf", format="pdf", engine="graphviz-pure")
    with pytest.raises(ValueError, match="engine must be one of"):
        cg.render(J, tmp_path / "J.svg", engine="neato")
    with pytest.raises(ValueError, match="format must be"):
        cg.render(J, tmp_path / "J.svg", format="svg -o /etc/passwd")


def test_jupyter_shows_a_node_as_svg():
    J, _ = lecture_graph()
    svg = J._repr_svg_()
    assert node_by_first_line(svg_nodes(svg), "a") == ["a", "value: 5", "grad: 3"]


def test_the_fused_loss_is_drawn_as_the_lesson_writes_it():
    from compgraph.models.logistic import cost_graph

    J = cost_graph([[0.5], [-0.5]], 0.1, [[1.0, 2.0], [0.0, 1.0]], [[1, 0]])
    source = cg.to_dot(J).source
    assert "L(σ(z), y)" in source and "sigmoid_cross_entropy" not in source


# -- numbers as drawn --------------------------------------------------------------------------


def test_negative_zero_is_drawn_as_zero():
    a, b = cg.Node(2.0, name="a"), cg.Node(0.0, name="b")
    J = -(a * b)  # dJ/da = -b = -0.0
    J.backward()
    assert np.signbit(a.grad)  # the engine's number really is -0.0
    source = cg.to_dot(J).source
    assert "-0" not in source and "grad: 0<" in source
    assert viz.format_array(np.array([-0.0, 1.0])) == "[0, 1]"
    assert viz.format_array(np.full(13, -0.0)) == "min 0, mean 0, max 0"


@pytest.mark.parametrize(
    ("array", "text"),
    [
        (np.full(20, 1e308), "min 1e+308, mean 1e+308, max 1e+308"),
        (np.full(20, -1e308), "min -1e+308, mean -1e+308, max -1e+308"),
        (np.full(20, 3e38, dtype=np.float32), "min 3e+38, mean 3e+38, max 3e+38"),
        (np.array([1e308] * 10 + [-1e308] * 10), "min -1e+308, mean 0, max 1e+308"),
        (np.array([1e308] * 12 + [np.inf]), "min 1e+308, mean inf, max inf"),
    ],
)
def test_summaries_compute_the_mean_without_overflow(array, text):
    assert viz.format_array(array) == text


# -- the lesson's real model reads at a page's width --------------------------------------------


def digits_model():
    from sklearn.datasets import load_digits

    from compgraph.models.logistic import cost_graph

    digits = load_digits()
    X = digits.data.T / 16  # (64, 1797): one example per column, as in the lesson
    Y = (digits.target == 3).astype(float)[None, :]
    J = cost_graph(np.zeros((64, 1)), 0.0, X, Y)
    J.backward()
    return J


def svg_size(svg: str) -> tuple[float, float]:
    tree = ET.fromstring(svg.encode("utf-8"))
    return tuple(float(tree.get(side).removesuffix("pt")) for side in ("width", "height"))


@pytest.mark.parametrize("engine", viz.ENGINES)
def test_the_digits_model_is_drawn_compact_not_as_a_strip(engine):
    if engine == "dot":
        require_program("dot")
    width, height = svg_size(cg.to_svg(digits_model(), engine=engine))
    # Docs columns and notebook cells are ~700 px (525 pt) wide: a 2300 x 230 pt strip
    # scaled into them is unreadable; this stays within ~15% of that width.
    assert width <= 620, (width, height)
    assert 0.3 <= width / height <= 1.5, (width, height)


def test_the_lecture_graph_stays_left_to_right():
    J, _ = lecture_graph()
    assert "rankdir=LR" in cg.to_dot(J).source  # small graphs read as the lesson draws them
    width, _ = svg_size(cg.to_svg(J))
    assert width <= 620


def test_long_summaries_wrap_into_narrow_lines():
    source = cg.to_dot(digits_model()).source
    for label in re.findall(r"^\t\w+ \[label=<(.*)> \w+=", source, re.M):
        for line in re.split(r"<br[^>]*>", re.sub(r"</?(?:b|font)(?: [^>]*)?>", "", label)):
            assert len(line) <= 40, line


# -- colour by gradient ------------------------------------------------------------------------


def luminance(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def fill_colors(source: str) -> dict[str, str]:
    return dict(re.findall(r'^\t(v\d+) \[label=.*? fillcolor="(#[0-9a-f]{6})"', source, re.M))


def test_color_by_grad_darkens_with_gradient_magnitude_on_a_log_scale():
    x = cg.Node(1.0, name="x")
    h = x
    for _ in range(6):
        h = h * 0.1  # gradients 1, 0.1, ..., 1e-6 back from the output
    h.backward()
    source = cg.to_dot(h, color_by="grad").source
    fills = fill_colors(source)
    order = cg.graph.topological_order(h)
    position = {node: i for i, node in enumerate(order)}  # by identity: == compares values
    ids = [f"v{position[node]}" for node in order if node.requires_grad]
    shades = [luminance(fills[i]) for i in ids]  # x (1e-8) first, output (1) last
    assert shades == sorted(shades, reverse=True) and len(set(shades)) == len(shades)
    assert "subgraph cluster_legend" in source and "gradient (RMS), log scale" in source
    legend = re.findall(r"legend\d+ \[label=<(.*?)>", source)
    assert legend == [
        "below 1e-05",
        "1e-05 to 0.0001",
        "0.0001 to 0.001",
        "0.001 to 0.01",
        "0.01 to 0.1",
        "0.1 to 1",
        "1 and above",
    ]
    small = cg.Node(0.5) * 0.3
    small.backward()
    assert "legend0 [label=<0.1 to 1>" in cg.to_dot(small, color_by="grad").source  # fixed
    edges = re.findall(r"^\t(v\d+) -> op\d+ \[color=\"(#[0-9a-f]{6})\" penwidth=2\]", source, re.M)
    assert [color for tail, color in edges if tail in ids] == [fills[tail] for tail in ids[:-1]]


def test_color_by_grad_marks_zero_and_missing_gradients_apart():
    a, b = cg.Node(2.0, name="a"), cg.Node(0.0, name="b")
    J = a * b * 3  # dJ/da = 0: a vanished gradient; 3 is a constant: no gradient
    J.backward()
    source = cg.to_dot(J, color_by="grad").source
    fills = fill_colors(source)
    legend = dict(re.findall(r'legend\d+ \[label=<(.*?)> fillcolor="(#[0-9a-f]{6})"', source))
    assert fills["v0"] == legend["0"]  # a, with its own legend entry
    assert fills["v0"] not in {fills["v1"], fills["v2"], fills["v4"]}
    assert fills["v3"] == "#ffffff"  # the constant 3: neutral


def test_without_backward_color_by_grad_draws_everything_neutral():
    x = cg.Node(1.0, name="x")
    source = cg.to_dot(cg.sigmoid(x), color_by="grad").source
    assert set(fill_colors(source).values()) == {"#ffffff"}
    assert "legend" not in source  # nothing to explain


def test_color_by_none_keeps_the_usual_colours():
    J, _ = lecture_graph()
    assert cg.to_dot(J, color_by=None).source == cg.to_dot(J).source
    with pytest.raises(ValueError, match="color_by"):
        cg.to_dot(J, color_by="value")


@pytest.mark.parametrize("engine", viz.ENGINES)
def test_color_by_grad_renders(engine):
    if engine == "dot":
        require_program("dot")
    J, _ = logistic_graph()
    svg = cg.to_svg(J, engine=engine, color_by="grad")
    assert "gradient (RMS), log scale" in [t.text for t in ET.fromstring(svg).iter(SVG + "text")]


# -- bounded layout work -----------------------------------------------------------------------


def fan_out(uses):
    x = cg.Node(1.0, name="x")
    y = x
    for _ in range(uses):
        y = y * x
    y.backward()
    return y


def test_a_value_feeding_many_ops_is_drawn_once_plus_a_dotted_box_per_further_use():
    source = cg.to_dot(fan_out(300)).source
    assert len(re.findall(r"^\tv0 -> ", source, re.M)) == 1  # one long edge at most
    copies = re.findall(r"^\t(v0_in\d+) \[label=<x> ", source, re.M)
    assert len(copies) == len(set(copies)) > 100
    for copy in copies[:5]:
        assert re.search(rf"^\t{copy} -> op\d+$", source, re.M)
    few = cg.to_dot(fan_out(3)).source
    assert "_in" not in few  # a few uses keep their real edges


def test_the_300_op_fan_out_renders_with_graphviz_pure():
    nodes = svg_nodes(cg.to_svg(fan_out(300), engine="graphviz-pure"))
    assert sum(lines == ["x"] for lines in nodes.values()) > 100


def test_edges_are_capped_too():
    class Total(cg.Op):
        """x₀ + x₁ + ... ; vjp: g for each"""

        @staticmethod
        def forward(*inputs):
            return sum(inputs)

        @staticmethod
        def vjp(g, out, *inputs):
            return (g,) * len(inputs)

    x = cg.Node(1.0, name="x")
    total = cg.apply(Total, *[x] * 5000)  # two nodes, 5000 edges
    source = cg.to_dot(total, max_edges=100).source
    assert source.count("->") <= 100 + 1
    assert "1 more node not drawn (max_nodes=200, max_edges=100)" in source
    assert cg.to_dot(total, max_edges=None).source.count(" -> op1") == 5000


def fake_layout(monkeypatch, tmp_path, script):
    """Make every layout run ``script`` (a shell script) instead of Graphviz."""
    program = tmp_path / "fake-dot"
    program.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setattr(viz, "layout_program", lambda engine=None: str(program))
    return program


posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and setrlimit are POSIX")


@posix_only
def test_a_layout_program_that_crashes_is_reported_by_its_signal(monkeypatch, tmp_path):
    fake_layout(monkeypatch, tmp_path, "cat >/dev/null\nkill -SEGV $$\n")
    J, _ = lecture_graph()
    with pytest.raises(
        cg.RenderError, match=r"fake-dot crashed \(killed by SIGSEGV, exit status -11\)"
    ):
        cg.to_svg(J)
    with pytest.raises(cg.RenderError, match="memory_limit=.*try engine="):
        cg.to_svg(J)


@posix_only
def test_the_layout_program_runs_under_a_memory_limit(monkeypatch, tmp_path):
    # Reserves 1 GiB of address space (without touching it), then prints a picture.
    script = f"exec {sys.executable} -c 'import mmap; mmap.mmap(-1, 2**30); print(\"<svg/>\")'\n"
    fake_layout(monkeypatch, tmp_path, script)
    J, _ = lecture_graph()
    assert cg.to_svg(J, memory_limit=None).strip() == "<svg/>"
    with pytest.raises(cg.RenderError, match=r"ran out of memory.*memory_limit=268,435,456 bytes"):
        cg.to_svg(J, memory_limit=256 * 1024**2)


def hub_source(length):
    """DOT where one node feeds every step of a chain: dot's memory grows with length²."""
    edges = "".join(f"n{i} -> n{i + 1}; hub -> n{i + 1};" for i in range(length))
    return "digraph { rankdir=LR " + edges + "}"


@posix_only
@pytest.mark.parametrize("engine", viz.ENGINES)
def test_real_layout_programs_stop_at_the_memory_limit(engine):
    if engine == "dot":
        require_program("dot")
    with pytest.raises(cg.RenderError, match=rf"{engine} ran out of memory.*raise memory_limit"):
        viz.layout(hub_source(3000), engine=engine, memory_limit=150 * 1024**2)


def test_a_layout_program_that_cannot_run_is_a_render_error(monkeypatch, tmp_path):
    program = fake_layout(monkeypatch, tmp_path, "")
    program.chmod(0o644)  # not executable
    J, _ = lecture_graph()
    with pytest.raises(cg.RenderError, match="cannot run fake-dot"):
        cg.to_svg(J)


def test_a_slow_layout_names_the_option_that_allows_more_time(monkeypatch, tmp_path):
    fake_layout(monkeypatch, tmp_path, "sleep 5\n")
    J, _ = lecture_graph()
    with pytest.raises(cg.RenderError, match=r"more than 0.2 s.*timeout=\.\.\."):
        cg.to_svg(J, timeout=0.2)
    assert viz.DEFAULT_TIMEOUT <= 30


def test_huge_names_and_titles_are_cut_well_under_graphvizs_label_limit():
    x = cg.Node(1.0, name="n" * 20_000)
    source = cg.to_dot(x * 2, title="t" * 5000 + "\n" * 5000).source
    labels = re.findall(r"label=(<.*?>)[ \]]", source)
    assert labels and max(map(len, labels)) < 4000
    assert "… (cut to 200 of 20,000 characters)" in source
    assert "(cut to 1,000 of 10,000 characters)" in source


def test_huge_names_render_with_the_system_dot():
    require_program("dot")
    x = cg.Node(1.0, name="&" * 20_000)  # each & is 5 characters once escaped
    svg = cg.to_svg(x * 2, engine="dot")
    assert any("cut to 200" in line for lines in svg_nodes(svg).values() for line in lines)


# -- notebook display --------------------------------------------------------------------------


def test_to_dot_displays_without_the_system_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # graphviz.Source's own display would fail
    J, _ = lecture_graph()
    drawing = cg.to_dot(J)
    assert isinstance(drawing, graphviz.Digraph)
    bundle = drawing._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    assert node_by_first_line(svg_nodes(bundle["image/svg+xml"]), "J")[1] == "value: 33"
    assert drawing._repr_mimebundle_(include=["image/png"])["image/png"].startswith(b"\x89PNG")
    assert drawing._repr_mimebundle_(exclude=["image/svg+xml"]) == {}
    with pytest.raises(graphviz.ExecutableNotFound):  # what the brief's issue was about
        graphviz.Source(drawing.source)._repr_mimebundle_()


# -- atomic writes -----------------------------------------------------------------------------


def test_a_failed_layout_leaves_the_old_file_as_it_was(monkeypatch, tmp_path):
    out = tmp_path / "graph.svg"
    out.write_text("old picture", encoding="utf-8")
    fake_layout(monkeypatch, tmp_path, "cat >/dev/null\necho '<svg>half'\nexit 3\n")
    J, _ = lecture_graph()
    with pytest.raises(cg.RenderError, match="exit status 3"):
        cg.render(J, out)
    assert out.read_text(encoding="utf-8") == "old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-dot", "graph.svg"]


def test_a_failed_write_leaves_the_old_file_as_it_was(monkeypatch, tmp_path):
    out = tmp_path / "graph.svg"
    out.write_text("old picture", encoding="utf-8")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(viz.os, "replace", disk_full)
    J, _ = lecture_graph()
    with pytest.raises(OSError, match="No space left"):
        cg.render(J, out, engine="graphviz-pure")
    assert out.read_text(encoding="utf-8") == "old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left


def test_render_replaces_an_existing_file(tmp_path):
    out = tmp_path / "graph.svg"
    out.write_text("old picture", encoding="utf-8")
    J, _ = lecture_graph()
    cg.render(J, out, engine="graphviz-pure")
    assert "<svg" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def test_an_array_setting_is_drawn_as_its_dtype_and_shape_not_a_cut_repr():
    x = cg.Node(np.arange(60.0).reshape(6, 10), name="x")
    masked = cg.sum(x, where=np.arange(60).reshape(6, 10) % 2 == 0)
    source = str(cg.to_dot(masked))
    assert "where=&lt;bool (6, 10)&gt;" in source and "array(" not in source
    picked = x[::-1, np.array([0, 2])]
    assert "index=(::-1, [0, 2])" in str(cg.to_dot(picked))
