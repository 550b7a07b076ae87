"""cg.animate: the frames it computes, the page it writes, and what it leaves alone.

What the page shows in a real browser is tested in test_browser.py.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

import compgraph as cg
from compgraph.checks.testing import graphs
from compgraph.cli.commands import main
from compgraph.pictures import player as player_module


def lecture_graph(named=True):
    """J = 3(a + bc) at a=5, b=3, c=2: u = bc = 6, v = a + u = 11, J = 3v = 33."""
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    v = a + u
    J = 3 * v
    if named:
        u.name, v.name, J.name = "u", "v", "J"
    return J, (a, b, c)


def frames_of(phase, player):
    return [frame for frame in player.frames if frame["phase"] == phase]


def data_of(page: str):
    """The frame data the page embeds, parsed as the page's script parses it."""
    match = re.search(r'<script type="application/json" id="cg-data">(.*?)</script>', page, re.S)
    assert match, "the page embeds no frame data"
    return json.loads(match[1])


# -- the lecture graph -----------------------------------------------------------------------


def test_forward_frames_show_each_value_in_creation_order():
    J, _ = lecture_graph()
    player = cg.animate(J)
    forward = frames_of("forward", player)
    assert [frame["title"] for frame in forward] == [
        "a, a parameter",
        "b, a parameter",
        "c, a parameter",
        "u = b × c",
        "v = a + u",
        "3, a constant",
        "J = 3 × v",
    ]
    assert [frame["lines"] for frame in forward[3:5]] == [["u = 3 × 2 = 6"], ["v = 5 + 6 = 11"]]
    assert forward[-1]["lines"] == ["J = 3 × 11 = 33"]
    assert [frame["shown"] for frame in forward] == list(range(1, 8))
    assert [frame["node"] for frame in forward] == [f"v{i}" for i in range(7)]


def test_backward_frames_show_local_derivatives_and_products():
    J, _ = lecture_graph()
    backward = frames_of("backward", cg.animate(J))
    assert [frame["title"] for frame in backward] == [
        "Backward: seed dJ/dJ = 1",
        "J = 3 × v  ←  dJ/dJ = 1",
        "v = a + u  ←  dJ/dv = 3",
        "u = b × c  ←  dJ/du = 3",
    ]
    assert backward[1]["lines"] == [
        "3 is a constant: it needs no gradient",
        "dJ/dv = dJ/dJ · ∂J/∂v = 1 · 3 = 3",
    ]
    assert backward[2]["lines"] == [
        "dJ/da = dJ/dv · ∂v/∂a = 3 · 1 = 3",
        "dJ/du = dJ/dv · ∂v/∂u = 3 · 1 = 3",
    ]
    assert backward[3]["lines"] == [
        "dJ/db = dJ/du · ∂u/∂b = 3 · 2 = 6",
        "dJ/dc = dJ/du · ∂u/∂c = 3 · 3 = 9",
    ]
    # The ids are the picture's: v0 a, v1 b, v2 c, v3 u, v4 v, v5 the constant, v6 J.
    assert [frame["grads"] for frame in backward] == [
        {"v6": "1"},
        {"v4": "3"},
        {"v0": "3", "v3": "3"},
        {"v1": "6", "v2": "9"},
    ]
    # The edges gradients travel along: into the op from the inputs that need them.
    assert backward[1]["edges"] == ["v4->op6", "op6->v6"]
    assert backward[3]["edges"] == ["v1->op3", "v2->op3", "op3->v3"]


def test_unnamed_nodes_get_labels_and_the_root_is_called_J():
    J, _ = lecture_graph(named=False)
    player = cg.animate(J)
    forward = frames_of("forward", player)
    assert forward[3]["title"] == "mul#3 = b × c"
    assert forward[-1]["title"] == "J = 3 × add#4"
    assert (
        frames_of("backward", player)[-1]["lines"][0] == "dJ/db = dJ/dmul#3 · ∂mul#3/∂b = 3 · 2 = 6"
    )


def test_the_users_gradients_are_left_alone():
    J, (a, b, c) = lecture_graph()
    player = cg.animate(J)
    assert [a.grad, b.grad, c.grad, J.grad] == [None] * 4
    assert {key: float(g) for key, g in player.gradients.items()} == {
        "v0": 3.0, "v1": 6.0, "v2": 9.0, "v3": 3.0, "v4": 3.0, "v6": 1.0
    }  # fmt: skip
    J.backward()
    before = [node.grad for node in (a, b, c, J)]
    cg.animate(J)
    assert all(x is y for x, y in zip(before, [a.grad, b.grad, c.grad, J.grad], strict=True))


# Elementwise, broadcasting, reducing, reshaping and matrix ops: every kind of vjp step.
REPLAYED_OPS = [
    *("add", "sub", "neg", "mul", "div", "pow", "exp", "log", "sigmoid", "tanh", "relu"),
    *("matmul", "sum", "mean", "transpose", "reshape", "getitem", "sigmoid_cross_entropy"),
]


@settings(max_examples=40)
@given(graphs(ops=REPLAYED_OPS))
def test_gradients_are_the_engines_exactly(graph):
    """The replayed reverse pass gives bit for bit what backward() gives."""
    out, _ = graph.build()
    player = cg.animate(out, max_nodes=None)
    out.backward()
    order = cg.graph.topological_order(out)
    for position, node in enumerate(order):
        if not node.requires_grad:
            assert f"v{position}" not in player.gradients
            continue
        np.testing.assert_array_equal(player.gradients[f"v{position}"], node.grad)
        assert player.gradients[f"v{position}"].shape == node.value.shape


def test_arrays_show_shapes_and_summaries_and_broadcasting_is_undone():
    X = cg.Node(np.arange(6.0).reshape(2, 3), name="X", requires_grad=False)
    w = cg.Node([[0.5], [-1.0]], name="w")
    b = cg.Node(0.25, name="b")
    z = w.T @ X + b
    z.name = "z"
    J = cg.mean(cg.sigmoid(z))
    J.name = "J"
    player = cg.animate(J)
    forward = {frame["title"]: frame["lines"] for frame in frames_of("forward", player)}
    assert forward["X, a constant"] == ["X = [[0, 1, 2],\n [3, 4, 5]]"]
    assert forward["matmul#4 = transpose#3 @ X"] == [
        "transpose#3: shape (1, 2)",
        "X: shape (2, 3)",
        "matmul#4 = [[-3, -3.5, -4]]",
    ]
    backward = frames_of("backward", player)
    through_add = next(frame for frame in backward if frame["title"].startswith("z = "))
    # b is a number broadcast over the 3 columns: its gradient is the sum over them.
    assert through_add["lines"] == [
        "dJ/dmatmul#4 = add's vjp of dJ/dz (shape (1, 3)): [[0.01883, 0.01198, 0.007483]]",
        "dJ/db = add's vjp of dJ/dz (shape (1, 3)), summed over broadcasting: 0.03829",
    ]
    J.backward()
    assert player.gradients["v2"].shape == () and player.gradients["v2"] == b.grad
    np.testing.assert_array_equal(player.gradients["v1"], w.grad)


def test_fan_out_adds_up_and_says_so():
    x = cg.Node(3.0, name="x")
    y = x * x
    y.name = "y"
    lines = frames_of("backward", cg.animate(y))[-1]["lines"]
    assert lines == [
        "dy/dx = dy/dy · ∂y/∂x = 1 · 3 = 3",
        "dy/dx += dy/dy · ∂y/∂x = 1 · 3 = 3, so dy/dx = 6",
    ]


def test_a_constant_root_has_a_forward_pass_only():
    # Ops on constants record no graph: the result is a constant leaf.
    J = cg.Node(2.0, name="c", requires_grad=False) * 3
    J.name = "J"
    player = cg.animate(J)
    assert player.frames[-1]["title"] == "J needs no backward pass"
    assert [frame["phase"] for frame in player.frames] == ["start", "forward", "backward"]
    assert player.gradients == {}


# -- refusals --------------------------------------------------------------------------------


def test_graphs_over_the_cap_are_refused_with_the_way_out():
    x = cg.Node(1.0, name="x")
    for _ in range(10):
        x = x * 1.5
    with pytest.raises(ValueError, match=r"has 21 nodes, more than max_nodes=20.*max_nodes=None"):
        cg.animate(x, max_nodes=20)
    assert len(cg.animate(x, max_nodes=21).frames) == 1 + 21 + 1 + 10


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "200"])
def test_bad_caps_are_refused(bad):
    with pytest.raises(ValueError, match="animate: max_nodes must be a positive int"):
        cg.animate(cg.Node(1.0) * 2, max_nodes=bad)


def test_a_root_of_several_elements_is_refused():
    with pytest.raises(ValueError, match=r"has 3 elements.*cg.sum\(y\)"):
        cg.animate(cg.Node([1.0, 2.0, 3.0], name="y") * 2)


def test_not_a_node_is_refused():
    with pytest.raises(TypeError, match="animate takes the root Node of a graph, got float"):
        cg.animate(3.0)


def test_unknown_drawing_options_are_refused():
    with pytest.raises(TypeError):
        cg.animate(cg.Node(1.0) * 2, show_colours=True)


def test_an_op_without_a_vjp_is_named():
    class Forward(cg.Op):
        @staticmethod
        def forward(x):
            return x + 1

    y = cg.apply(Forward, cg.Node(1.0, name="x"))
    with pytest.raises(cg.OpError, match=r"animate: op 'forward' \(Forward\) has no vjp"):
        cg.animate(y)


# -- the page ---------------------------------------------------------------------------------


def test_the_page_is_self_contained():
    J, _ = lecture_graph()
    page = cg.animate(J).html
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # No file or address is fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"<(link|img|iframe)\b|@import|\burl\(", page)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<svg" in page and "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_the_picture_uses_the_to_svg_labels_and_options():
    J, _ = lecture_graph()
    J.backward()
    page = cg.animate(J, rankdir="TB", show_grad=True).html
    svg = page[page.index('<svg width="') : page.index("</svg>")]
    assert "grad: 6" in svg and 'fill="#dbeafe"' in svg  # the parameters' blue
    assert "grad:" not in cg.animate(J).html.split('id="cg-graph"')[1].split("</svg>")[0]
    tall = cg.to_svg(J, rankdir="TB", show_grad=True)
    width, height = re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', tall).groups()
    assert f'<svg width="{width}pt" height="{height}pt"' in page


def test_the_picture_needs_no_system_graphviz():
    J, _ = lecture_graph()
    page = cg.animate(J, engine="graphviz-pure").html
    assert "graphviz-pure" in cg.to_svg(J, engine="graphviz-pure") and "<title>v6</title>" in page


NASTY = ["<b>bold</b>", "a & b", 'say "hi"', "it's", "two\nlines", "</script><script>x=1</script>"]


def test_names_cannot_break_the_page():
    nodes = [cg.Node(float(i + 1), name=name) for i, name in enumerate(NASTY)]
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    total.name = "<!-- J -->"
    page = cg.animate(total, title="</title><script>alert(1)</script>").html
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<b>bold</b>" not in page and "<!-- J -->" not in page
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    data = data_of(page)
    titles = [frame["title"] for frame in data["frames"] if frame["phase"] == "forward"]
    assert titles[: len(NASTY)] == [f"{name}, a parameter" for name in NASTY]
    assert titles[-1] == "<!-- J --> = add#9 + </script><script>x=1</script>"


def test_frames_are_the_embedded_data():
    J, _ = lecture_graph()
    player = cg.animate(J)
    data = data_of(player.html)
    assert data["frames"] == list(player.frames)
    assert [node["id"] for node in data["nodes"]] == [f"v{i}" for i in range(7)]
    assert data["nodes"][3] == {
        "id": "v3",
        "op": "op3",
        "edges": ["v1->op3", "v2->op3", "op3->v3"],
        "d": "dJ/du",
    }


def test_without_op_nodes_edges_join_values():
    J, _ = lecture_graph()
    player = cg.animate(J, show_op=False)
    assert frames_of("backward", player)[-1]["edges"] == ["v1->v3", "v2->v3"]
    assert "<title>v1&#45;&gt;v3</title>" in player.html


# -- returning and saving ---------------------------------------------------------------------


def test_a_path_writes_the_page_and_returns_the_path(tmp_path):
    J, _ = lecture_graph()
    out = cg.animate(J, tmp_path / "backprop.html")
    assert out == tmp_path / "backprop.html"
    assert out.read_text(encoding="utf-8") == cg.animate(J).html
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_str_and_jupyter_display():
    J, _ = lecture_graph()
    player = cg.animate(J)
    assert str(player) == player.html
    shown = player._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "<script" not in shown
    assert "&lt;script" in shown and "&quot;" in shown


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "backprop.html"
    target.write_text("old page")
    J, _ = lecture_graph()
    player = cg.animate(J)

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        player.save(target)
    assert target.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.html"]


def test_saving_into_a_missing_folder_says_so(tmp_path):
    J, _ = lecture_graph()
    with pytest.raises(FileNotFoundError):
        cg.animate(J, tmp_path / "missing" / "backprop.html")


def test_the_default_cap_is_the_pictures():
    assert player_module.DEFAULT_MAX_NODES == 200
    x = cg.Node(1.0, name="x")
    for _ in range(100):
        x = x * 1.5  # 201 nodes: x, then a constant and a product per step
    with pytest.raises(ValueError, match="more than max_nodes=200"):
        cg.animate(x)


# -- from the shell ---------------------------------------------------------------------------


def test_compgraph_animate_writes_the_player_of_a_formula(tmp_path, capsys):
    out = tmp_path / "backprop.html"
    assert main(["animate", "3*(a + b*c)", "a=5", "b=3", "c=2", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"f = 33\nwrote {out}\n"
    frames = data_of(out.read_text(encoding="utf-8"))["frames"]
    lines = [line for frame in frames for line in frame["lines"]]
    assert "f = 3 × 11 = 33" in lines
    assert "df/db = df/dmul#3 · ∂mul#3/∂b = 3 · 2 = 6" in lines
    assert "df/dc = df/dmul#3 · ∂mul#3/∂c = 3 · 3 = 9" in lines


def test_compgraph_animate_to_stdout(capsys):
    assert main(["animate", "a*b", "a=2", "b=4", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<!DOCTYPE html>") and captured.err == "f = 8\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["3*(a + b*", "a=1", "b=2"], "error at column 3: invalid syntax"),
        (["__import__('os')"], "only calls to the op functions are allowed"),
        (["a*b", "a=[1, 2]", "b=3"], "the formula's value has shape (2,)"),
        (["a*a*a*a", "a=2", "--max-nodes", "3"], "has 4 nodes, more than --max-nodes 3"),
        (["a*b", "a=1", "b=2", "--max-nodes", "0"], "--max-nodes must be a whole number"),
    ],
)
def test_compgraph_animate_refuses_bad_formulas(arguments, message, tmp_path, capsys):
    out = tmp_path / "p.html"
    assert main(["animate", *arguments, "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("compgraph animate: error") and message in error, error
    assert not out.exists()


def test_compgraph_animate_reports_an_unwritable_output(tmp_path, capsys):
    out = tmp_path / "missing" / "p.html"
    assert main(["animate", "a*b", "a=1", "b=2", "-o", str(out)]) == 1
    assert f"compgraph animate: cannot write {out}" in capsys.readouterr().err


def test_compgraph_animate_warns_in_one_line(tmp_path, capsys):
    out = tmp_path / "p.html"
    assert main(["animate", "a*2", "a=1e999", "-o", str(out)]) == 0
    error = capsys.readouterr().err
    lines = error.splitlines()
    assert lines[0].startswith(
        "compgraph animate: warning: leaf value 'a' of shape () is not finite"
    )
    assert all(line.startswith("compgraph animate: warning: ") for line in lines)
    frames = data_of(out.read_text(encoding="utf-8"))["frames"]
    assert "f = inf × 2 = inf" in [line for frame in frames for line in frame["lines"]]


def test_names_no_utf_8_file_can_hold_are_escaped(tmp_path):
    odd = "\ud800 lone surrogate, \x00 nul, \u2028 line separator"
    node = cg.Node(1.0, name=odd)
    path = cg.animate(node * 2, tmp_path / "p.html", title=odd)
    page = path.read_text(encoding="utf-8")
    assert "<title>\\ud800 lone surrogate, \\x00 nul, \u2028 line separator</title>" in page
    assert data_of(page)["frames"][1]["title"] == f"{odd}, a parameter"


# -- real graphs (issue 25): labels on the boxes, the pow guard, badges, clipped names --------


def svg_of(page: str) -> str:
    return page[page.index("<svg") : page.index("</svg>")]


def test_the_boxes_carry_the_texts_names_and_the_root_says_J():
    J, _ = lecture_graph(named=False)
    svg = svg_of(cg.animate(J).html)
    assert "<b>" not in svg  # (SVG text, not DOT) the labels are written as text elements
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"mul#3", "add#4", "J"} <= set(texts)
    assert J.name is None  # the user's nodes are left alone


def test_the_gradient_of_x_cubed_reads_three_x_squared():
    x = cg.Node(2.0, name="x")
    (x**3).backward(create_graph=True)
    player = cg.animate(x.grad)
    text = json.dumps(player.frames, ensure_ascii=False)
    assert "where" not in text and "condition" not in text
    assert "where" not in svg_of(player.html)
    titles = [frame["title"] for frame in frames_of("forward", player)]
    assert titles[-2:] == ["pow#3 = x ^ 2", "J = 3 × pow#3"]
    lines = [line for frame in player.frames for line in frame["lines"]]
    assert "pow#3 = 2 ^ 2 = 4" in lines and "J = 3 × 4 = 12" in lines
    assert "dJ/dx = dJ/dpow#3 · ∂pow#3/∂x = 3 · 4 = 12" in lines
    assert list(player.gradients) == ["v0", "v3", "v4"]
    assert float(player.gradients["v0"]) == 12.0  # d(3x²)/dx = 6x


def test_array_badges_are_short():
    X = cg.Node(np.arange(6.0).reshape(2, 3), name="X", requires_grad=False)
    w = cg.Node([[0.5], [-1.0]], name="w")
    J = cg.sum(w.T @ X)
    backward = frames_of("backward", cg.animate(J))
    badges = {key: text for frame in backward for key, text in frame["badges"].items()}
    assert badges["v1"].startswith("rms ") and len(badges["v1"]) < 16  # w
    assert badges[next(iter(backward[0]["badges"]))] == "1"


def test_long_names_are_clipped_and_the_page_stays_small():
    huge = "w" * 100_000
    w = cg.Node(2.0, name=huge)
    page = cg.animate(w * w * 3).html
    assert len(page) < 40_000
    assert "w" * 59 + "…" in page and "w" * 61 not in page
    two = cg.Node(1.0, name=huge + "a") + cg.Node(2.0, name=huge + "b")
    names = [frame["title"] for frame in frames_of("forward", cg.animate(two))][:2]
    assert names[0] != names[1]


def test_the_page_is_built_from_package_data_files():
    """The HTML, CSS and JS live in compgraph/pictures/assets/, not in Python strings."""
    from importlib.resources import files

    assets = files("compgraph.pictures") / "assets"
    page = cg.animate(cg.Node(2.0, name="w") * 3).html
    for name in ("player.css", "player.js"):
        text = (assets / name).read_text(encoding="utf-8")
        assert len(text) > 1000 and text.strip() in page
    source = Path(player_module.__file__).read_text(encoding="utf-8")
    assert "addEventListener" not in source and "font-family" not in source


def test_the_text_repr_is_short():
    J, _ = lecture_graph()
    player = cg.animate(J)
    assert repr(player) == (
        f"<compgraph Player 'backprop through J': {len(player.frames)} frames, 4 of them "
        f"backward; {len(player.html):,} characters of HTML>"
    )


def test_animating_inside_no_grad_shows_the_same_pass():
    J, _ = lecture_graph()
    with cg.no_grad():
        inside = cg.animate(J)
    outside = cg.animate(J)
    assert inside.frames == outside.frames
    assert inside.gradients.keys() == outside.gradients.keys()
