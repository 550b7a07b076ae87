"""Regenerate the player screenshots of docs/how-to/player.md (docs/img/player-*.png).

Run from the repository root with the dev extra installed and Chromium on PATH
(``apt-get install chromium``); Playwright drives that browser, never one of its own:

    .venv/bin/python docs/screenshots.py

Each picture is the player of the lecture's J = 3(a + bc) at one frame, cut to the player.
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

    player = cg.animate(lecture_graph())
    shots = {
        "player-forward.png": frame_titled(player, "v = a + u"),
        "player-backward.png": len(player.frames) - 1,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        page_path = player.save(Path(scratch) / "player.html")
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 820, "height": 700})
        page.goto(page_path.as_uri())
        for name, index in shots.items():
            page.evaluate(f"window.compgraphPlayer.show({index})")
            # Written beside the final name, then renamed: an interrupted run leaves the
            # committed picture whole.
            partial = args.out_dir / f".{name}.partial.png"
            page.locator("#cg-player").screenshot(path=str(partial))
            partial.replace(args.out_dir / name)
            print(f"wrote {args.out_dir / name} (frame {index + 1} of {len(player.frames)})")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
