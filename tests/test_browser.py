"""The player page in a real browser: headless Chromium driven by Playwright.

Skipped with a reason where Chromium (or the playwright package) is missing; mandatory in CI
(COMPGRAPH_REQUIRE_SYSTEM_TOOLS=1). Playwright drives the system's /usr/bin/chromium: its
own browser download (``playwright install``) is never used.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import require_program, skip_unless_required

import compgraph as cg

#: Flags for a quiet, offline, sandbox-free headless browser in a container.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    executable = require_program("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_required("needs the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A player page opened from a file, with every console error and request it made."""

    def __init__(self, browser, path, player_on_top=True):
        self.problems = []
        self.requests = []
        self.page = browser.new_page(viewport={"width": 1100, "height": 800})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.url = path.as_uri()
        self.page.goto(self.url)
        if player_on_top:
            self.page.wait_for_function("window.compgraphPlayer !== undefined")

    def _console(self, message):
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def text(self, selector):
        return self.page.inner_text(selector)

    def frame(self):
        return self.page.evaluate("window.compgraphPlayer.frame()")

    def classes(self, title):
        """The classes of the SVG groups whose <title> is ``title`` (a DOT id or edge)."""
        return self.page.evaluate(
            """(title) => Array.from(document.querySelectorAll("#cg-graph g"))
                .filter((g) => g.querySelector(":scope > title")?.textContent === title)
                .map((g) => g.getAttribute("class"))""",
            title,
        )

    def close(self):
        self.page.close()


@pytest.fixture
def open_page(browser, tmp_path):
    opened = []

    def open_(root, name="player.html", **options):
        path = cg.animate(root, tmp_path / name, **options)
        page = Page(browser, path)
        opened.append(page)
        return page

    yield open_
    for page in opened:
        page.close()


def lecture_graph():
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    v = a + u
    J = 3 * v
    u.name, v.name, J.name = "u", "v", "J"
    return J


def test_stepping_through_every_frame_of_the_lecture_graph(open_page):
    player = cg.animate(lecture_graph())
    page = open_page(lecture_graph())
    count = len(player.frames)
    assert page.text("#cg-counter") == f"frame 1 / {count}"
    seen = []
    for index in range(count):
        assert page.frame() == index
        assert page.text("#cg-counter") == f"frame {index + 1} / {count}"
        seen.append((page.text("#cg-title"), page.text("#cg-lines"), page.text("#cg-grads")))
        assert seen[-1][:2] == (
            player.frames[index]["title"],
            "\n".join(player.frames[index]["lines"]),
        )
        page.page.keyboard.press("ArrowRight")
    assert page.frame() == count - 1  # the last frame stays the last
    lines = [shown_lines for _, shown_lines, _ in seen]
    for value_line in ["u = 3 × 2 = 6", "v = 5 + 6 = 11", "J = 3 × 11 = 33"]:
        assert value_line in lines
    assert (
        lines.index("u = 3 × 2 = 6")
        < lines.index("v = 5 + 6 = 11")
        < lines.index("J = 3 × 11 = 33")
    )
    last_gradients = seen[-1][2].split("\n")
    assert {"dJ/da = 3", "dJ/db = 6", "dJ/dc = 9", "dJ/du = 3", "dJ/dv = 3"} <= set(last_gradients)
    assert "dJ/dv · ∂v/∂a = 3 · 1 = 3" in seen[-2][1]
    assert "dJ/db = dJ/du · ∂u/∂b = 3 · 2 = 6" in seen[-1][1]
    assert page.problems == []
    assert page.requests == [page.url]  # nothing fetched but the page itself


def test_the_picture_highlights_what_each_frame_computes(open_page):
    page = open_page(lecture_graph())
    for _ in range(5):  # start, a, b, c, then u = b × c
        page.page.keyboard.press("ArrowRight")
    assert page.text("#cg-title") == "v = a + u"
    assert "cg-current" in page.classes("v4")[0] and "cg-current" in page.classes("op4")[0]
    assert "cg-flow-forward" in page.classes("v0->op4")[0]
    assert "cg-pending" in page.classes("v6")[0]  # J is not computed yet
    assert "cg-pending" not in (page.classes("v3")[0] or "")
    page.page.keyboard.press("End")
    assert page.text("#cg-title") == "u = b × c  ←  dJ/du = 3"
    assert "cg-flow-backward" in page.classes("v1->op3")[0]
    assert "cg-flow-backward" in page.classes("v2->op3")[0]
    assert "cg-flow-backward" not in (page.classes("v0->op4")[0] or "")
    badges = page.page.evaluate(
        "Array.from(document.querySelectorAll('.cg-badge')).filter((g) => g.style.display !== 'none')"
        ".map((g) => g.textContent)"
    )
    assert sorted(badges) == sorted(
        ["grad: 1", "grad: 3", "grad: 3", "grad: 3", "grad: 6", "grad: 9"]
    )
    assert page.problems == []


def test_keyboard_and_buttons_control_the_player(open_page):
    page = open_page(lecture_graph())
    keyboard = page.page.keyboard
    keyboard.press("End")
    last = page.frame()
    keyboard.press("ArrowLeft")
    assert page.frame() == last - 1
    keyboard.press("Home")
    assert page.frame() == 0
    keyboard.press("ArrowLeft")
    assert page.frame() == 0
    page.page.click("#cg-forward")
    page.page.click("#cg-forward")
    assert page.frame() == 2
    page.page.click("#cg-back")
    assert page.frame() == 1
    # Space on a focused button toggles once, not twice (the key and the button's click).
    page.page.focus("#cg-forward")
    page.page.select_option("#cg-speed", "4")
    page.page.focus("#cg-forward")
    keyboard.press("Space")
    assert page.page.get_attribute("#cg-play", "aria-label") == "pause"
    page.page.wait_for_function("window.compgraphPlayer.frame() >= 3")
    keyboard.press("Space")
    assert page.page.get_attribute("#cg-play", "aria-label") == "play"
    paused_at = page.frame()  # at least 3, so there is a frame before it
    keyboard.press("ArrowLeft")
    assert page.frame() == paused_at - 1
    page.page.click("#cg-last")
    assert page.frame() == last
    page.page.click("#cg-first")
    assert page.frame() == 0
    # The slider jumps to any frame.
    page.page.eval_on_selector(
        "#cg-slider", "(s) => { s.value = '7'; s.dispatchEvent(new Event('input')); }"
    )
    assert page.frame() == 7 and page.text("#cg-counter").startswith("frame 8 /")
    assert page.problems == []


@pytest.mark.slow  # waits for the player's whole run: about 4 s
def test_play_runs_to_the_end_and_stops(open_page):
    page = open_page(lecture_graph())
    page.page.select_option("#cg-speed", "4")
    page.page.click("#cg-play")
    page.page.wait_for_function(
        "document.getElementById('cg-play').getAttribute('aria-label') === 'play'", timeout=20_000
    )
    assert page.frame() == int(page.page.get_attribute("#cg-slider", "max"))
    page.page.click("#cg-play")  # at the end, play starts again from the beginning
    assert page.frame() == 0
    page.page.click("#cg-play")
    assert page.problems == []


def test_names_that_look_like_markup_stay_text(open_page):
    names = [
        "<img src=x onerror=window.pwned=1>",
        "a & b",
        'q"uote',
        "two\nlines",
        "</script><script>window.pwned=2</script>",
    ]
    nodes = [cg.Node(float(i + 1), name=name) for i, name in enumerate(names)]
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    page = open_page(total, title="<i>title</i>")
    assert page.page.evaluate("window.pwned") is None
    assert page.page.evaluate("document.querySelectorAll('img, i').length") == 0
    assert page.text("#cg-heading") == "<i>title</i>"
    page.page.keyboard.press("ArrowRight")
    assert page.text("#cg-title") == f"{names[0]}, a parameter"
    page.page.keyboard.press("End")
    gradients = page.text("#cg-grads").split("\n")
    assert "dJ/d</script><script>window.pwned=2</script> = 1" in gradients
    assert page.problems == []


def test_a_200_node_graph_loads_and_reaches_the_engines_gradients(open_page):
    rng = np.random.default_rng(1)
    x = cg.Node(rng.normal(size=3), name="x")
    h = x
    for _ in range(49):  # 4 nodes a step: a constant, a product, a sigmoid, and the chain
        h = cg.sigmoid(h * rng.normal(size=3)) + x
    J = cg.sum(h)
    J.name = "J"
    assert len(cg.graph.topological_order(J)) == 198
    page = open_page(J, name="big.html")
    page.page.keyboard.press("End")
    J.backward()
    shown = dict(item.split(" = ", 1) for item in page.text("#cg-grads").split("\n"))
    assert shown["dJ/dx"] == cg.pictures.drawing.format_array(x.grad)
    assert page.problems == []


def test_drawn_copies_of_a_shared_value_light_up_with_its_edges(open_page):
    """A value feeding many ops is drawn once plus dotted copies (v0_in3): they are its edges."""
    x = cg.Node(1.5, name="x")
    y = x
    for _ in range(6):
        y = y * x
    y.name = "y"
    page = open_page(y)
    copies = page.page.evaluate(
        "Array.from(document.querySelectorAll('#cg-graph g.node > title'))"
        ".map((t) => t.textContent).filter((t) => t.includes('_in'))"
    )
    assert copies, "the picture draws no copies: the test needs a value shared by more ops"
    page.page.keyboard.press("End")  # the first product, y1 = x × x: x's first use
    page.page.keyboard.press("ArrowLeft")  # the second, y2 = y1 × x, reads x from a copy
    assert page.text("#cg-title").startswith("mul#2 = mul#1 × x")
    lit = page.page.evaluate(
        "Array.from(document.querySelectorAll('#cg-graph .cg-flow-backward > title'))"
        ".map((t) => t.textContent)"
    )
    copy = next(title for title in copies if title.endswith("_in2"))
    assert sorted(lit) == sorted(["v1->op2", f"{copy}->op2", copy, "op2->v2"])
    page.page.keyboard.press("Home")
    assert "cg-pending" in page.classes(copy)[0] and "cg-pending" in page.classes(f"{copy}->op2")[0]
    assert page.problems == []


def test_the_notebook_display_is_a_working_player(browser, tmp_path):
    """What Jupyter shows (Player._repr_html_): the whole page in an iframe's srcdoc."""
    host = tmp_path / "notebook.html"
    host.write_text(
        f"<!DOCTYPE html><html><body>{cg.animate(lecture_graph())._repr_html_()}</body></html>"
    )
    page = Page(browser, host, player_on_top=False)
    try:
        player = page.page.frame_locator("iframe")
        player.locator("#cg-last").click()
        gradients = player.locator("#cg-grads").inner_text().split("\n")
        assert {"dJ/da = 3", "dJ/db = 6", "dJ/dc = 9"} <= set(gradients)
        assert player.locator("#cg-heading").inner_text() == "backprop through J"
        assert page.problems == []
    finally:
        page.close()


# -- real graphs, as a user sees them: the lesson, a 64-feature model, the week-3 network ----

WIDTHS = {"desktop": {"width": 1100, "height": 800}, "phone": {"width": 390, "height": 844}}


def logistic_64_features():
    from compgraph.logistic import cost_graph

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 20))
    Y = (rng.random((1, 20)) > 0.5).astype(float)
    return cost_graph(rng.normal(size=(64, 1)) * 0.1, 0.0, X, Y)


def week_3_network():
    from compgraph.datasets import planar_flower
    from compgraph.networks import compute_cost, forward, initialize_parameters

    X, Y = planar_flower()
    parameters = initialize_parameters([2, 4, 1], seed=2, scale=0.01)
    nodes = {key: cg.Node(value, name=key) for key, value in parameters.items()}
    return compute_cost(forward(X, nodes, hidden="tanh"), Y)


REAL_GRAPHS = {"lesson": lecture_graph, "logistic64": logistic_64_features, "week3": week_3_network}

#: What the page shows of the current frame: where the active node is, what the graph box
#: shows of the page, and every visible badge and box (client coordinates).
GEOMETRY = """() => {
  const rect = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const box = document.getElementById("cg-graph");
  const outer = box.getBoundingClientRect();
  const visible = {left: outer.left + box.clientLeft, top: outer.top + box.clientTop,
    right: outer.left + box.clientLeft + box.clientWidth,
    bottom: outer.top + box.clientTop + box.clientHeight};
  const current = Array.from(document.querySelectorAll("#cg-graph g.node.cg-current")).map(rect);
  const shown = Array.from(document.querySelectorAll(".cg-badge"))
    .filter((g) => g.style.display !== "none");
  const badges = shown.map((g) => rect(g.querySelector("rect")));
  const badgeTexts = shown.map((g) => rect(g.querySelector("text")));
  const boxes = Array.from(document.querySelectorAll("#cg-graph g.node")).map(
    (g) => rect(g.querySelector("polygon, path, ellipse")));
  const shownValues = Array.from(document.querySelectorAll("#cg-graph text.cg-value"))
    .filter((t) => getComputedStyle(t).visibility !== "hidden").length;
  return {current, visible, badges, badgeTexts, boxes, picture: rect(document.querySelector("#cg-graph svg")),
    window: {left: 0, top: 0, right: innerWidth, bottom: innerHeight}, shownValues};
}"""


def contains(outer, inner, slack=1.0):
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def overlaps(a, b, slack=0.5):
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    )


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("graph", list(REAL_GRAPHS))
def test_real_graphs_follow_the_active_node_and_keep_badges_apart(browser, tmp_path, graph, width):
    """Every frame: the active box is in view; the badges stay in the picture, apart."""
    player = cg.animate(REAL_GRAPHS[graph]())
    path = player.save(tmp_path / f"{graph}.html")
    page = browser.new_page(viewport=WIDTHS[width])
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.compgraphPlayer !== undefined")
        scrolled = []
        for index, frame in enumerate(player.frames):
            page.evaluate(f"window.compgraphPlayer.show({index})")
            seen = page.evaluate(GEOMETRY)
            scrolled.append(page.evaluate("document.getElementById('cg-graph').scrollTop"))
            if frame.get("node"):
                assert seen["current"], f"frame {index}: no box is lit"
                for lit in seen["current"]:
                    assert contains(seen["visible"], lit), f"frame {index}: {lit} scrolled away"
                    assert contains(seen["window"], lit), f"frame {index}: {lit} off the page"
            for number, badge in enumerate(seen["badges"]):
                assert contains(seen["picture"], badge), f"frame {index}: badge off the picture"
                assert contains(badge, seen["badgeTexts"][number]), f"frame {index}: text astray"
                for other in seen["badges"][number + 1 :] + seen["boxes"]:
                    assert not overlaps(badge, other), f"frame {index}: {badge} covers {other}"
            # Values appear as the forward pass reaches them (the start frame shows none).
            if index == 0:
                assert seen["shownValues"] == 0
        assert seen["shownValues"] > 0
        if (graph, width) == ("week3", "desktop"):  # 1655 px of picture in a 508 px box
            assert max(scrolled) > 0 and scrolled[-1] < max(scrolled)
        for name, index in {"forward": len(player.frames) // 3, "backward": -1}.items():
            page.evaluate(f"window.compgraphPlayer.show({index % len(player.frames)})")
            # COMPGRAPH_SCREENSHOTS=folder keeps them, to look at (or for the docs).
            shot = Path(os.environ.get("COMPGRAPH_SCREENSHOTS", tmp_path))
            shot = shot / f"player-{graph}-{width}-{name}.png"
            page.screenshot(path=str(shot))
            assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 5_000
        assert problems == []
    finally:
        page.close()
