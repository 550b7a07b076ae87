"""Regenerate the player screenshots of docs/how-to/player.md (docs/img/player-*.png).

Run from the repository root with the dev extra installed and Chromium on PATH
(``apt-get install chromium``); Playwright drives that browser, never one of its own:

    .venv/bin/python docs/screenshots.py

The lecture's J = 3(a + bc) at two frames, cut to the player, at a desktop width; and the
week-3 network (the planar flower's 2-4-1 tanh network, its cost J) on a phone's screen
halfway through the backward pass. tests/test_browser.py takes the same kind of pictures of
real graphs at both widths and checks them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import compgraph as cg

IMAGES = Path(__file__).resolve().parent / "img"
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


def lecture_graph() -> cg.Node:
    """J = 3(a + bc) at a=5, b=3, c=2, named as the lecture names it."""
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    J = 3 * v
    J.name = "J"
    return J


def week_3_network() -> cg.Node:
    """The cost of the planar flower's 2-4-1 tanh network, at the course's initial weights."""
    from compgraph.datasets import planar_flower
    from compgraph.networks import compute_cost, forward, initialize_parameters

    X, Y = planar_flower()
    parameters = initialize_parameters([2, 4, 1], seed=2, scale=0.01)
    nodes = {key: cg.Node(value, name=key) for key, value in parameters.items()}
    return compute_cost(forward(X, nodes, hidden="tanh"), Y)


def frame_titled(player: cg.pictures.player.Player, title: str) -> int:
    return next(i for i, frame in enumerate(player.frames) if frame["title"] == title)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=IMAGES, help="where the PNGs go")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("screenshots.py: needs Chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    lecture = cg.animate(lecture_graph())
    network = cg.animate(week_3_network())
    backward = [i for i, frame in enumerate(network.frames) if frame["phase"] == "backward"]
    # name: (player, frame, viewport)
    shots = {
        "player-forward.png": (lecture, frame_titled(lecture, "v = a + u"), (820, 700)),
        "player-backward.png": (lecture, len(lecture.frames) - 1, (820, 700)),
        "player-network-phone.png": (network, backward[len(backward) // 2], (390, 844)),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name, (player, index, (width, height)) in shots.items():
            page_path = player.save(Path(scratch) / f"{name}.html")
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(page_path.as_uri())
            page.evaluate(f"window.compgraphPlayer.show({index})")
            # Written beside the final name, then renamed: an interrupted run leaves the
            # committed picture whole.
            partial = args.out_dir / f".{name}.partial.png"
            if width < 600:  # a phone: the screen as it is seen, not the whole page
                page.screenshot(path=str(partial))
            else:
                page.locator("#cg-player").screenshot(path=str(partial))
            partial.replace(args.out_dir / name)
            print(f"wrote {args.out_dir / name} (frame {index + 1} of {len(player.frames)})")
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
