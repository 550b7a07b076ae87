"""The backprop player: one self-contained HTML page that steps through a graph's passes.

``animate(root)`` lays the graph out once (``viz.to_svg``, the pictures' own labels and
colours) and computes one frame per step: the forward pass reveals each value in creation
order, then the backward pass runs each node's vjp in reverse order, highlighting the node
and the edges it sends gradients along, with the local derivative and the product that
gives each gradient (for scalars; shapes and summaries for arrays). The reverse pass is
replayed here, never through ``backward()``, so the user's ``.grad`` values are untouched.

The page needs no network: script and style are inline, and the frames are embedded as
JSON with ``<``, ``>`` and ``&`` escaped, so no name can end the script early; the script
writes text with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compgraph.autodiff import fit_gradient
from compgraph.errors import OpError, RenderError
from compgraph.files import write_atomically
from compgraph.graph import topological_order
from compgraph.node import Node
from compgraph.pictures import drawing as viz
from compgraph.pictures.export import node_labels

__all__ = ["DEFAULT_MAX_NODES", "Player", "animate"]

#: The largest graph ``animate`` accepts by default, in value nodes (two frames each).
DEFAULT_MAX_NODES = 200

_INFIX = frozenset("+−×÷^@")
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_SVG_START = re.compile(r"<svg\b")
# What HTML cannot show (controls, lone surrogates): written as Python escapes, as viz does.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True, eq=False)
class Player:
    """A backprop player page: ``html`` is the document; Jupyter displays it inline.

    Attributes:
        html: the self-contained HTML document.
        frames: the frames it steps through, each a dict with ``phase`` (``"start"``,
            ``"forward"`` or ``"backward"``), ``title``, ``lines`` and the ``grads`` it
            sets (DOT id → text).
        gradients: the gradients the player's own reverse pass computed, by DOT id
            (``"v0"``, ...), for every node that requires one: what ``backward()`` gives.
    """

    html: str
    frames: tuple[dict[str, Any], ...]
    gradients: dict[str, np.ndarray]

    def __str__(self) -> str:
        return self.html

    def _repr_html_(self) -> str:
        # An iframe keeps the page's ids, style and keyboard handling apart from the
        # notebook's (and from other players in the same notebook).
        document = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{document}" title="compgraph backprop player" '
            'style="width: 100%; height: 560px; border: 1px solid #d1d5db"></iframe>'
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` atomically (a temporary file, then ``os.replace``).

        Args:
            path: the file to write; its folder must exist. An old file is replaced whole,
                or, if writing fails, left as it was.

        Returns:
            ``path`` as a ``pathlib.Path``.

        Raises:
            OSError: the folder does not exist or is not writable.

        Example:
            >>> import tempfile, compgraph as cg
            >>> player = cg.animate(cg.Node(2.0, name="w") * 3)
            >>> saved = player.save(Path(tempfile.mkdtemp()) / "backprop.html")
            >>> saved.read_text(encoding="utf-8") == player.html
            True
        """
        return write_atomically(path, self.html)


def animate(
    root: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    show_grad: bool = False,
    **options: Any,
) -> Player | Path:
    """A self-contained HTML player of the forward and backward passes of ``root``'s graph.

    Frames: the graph; one per node in creation order (its value appears); the seed
    dJ/dJ = 1; one per op in reverse order (its vjp runs: for scalars the local derivative
    ∂v/∂x = vjp(1) and the product dJ/dv · ∂v/∂x that gives each gradient). Controls:
    play/pause (space), step (← →, Home, End), a slider and the speed.

    Args:
        root: the node to differentiate, a single number (usually the cost J). It need not
            have run ``backward()``: the player computes its own gradients.
        path: a file to write the page to (atomically); ``None`` returns a ``Player``.
        max_nodes: refuse graphs with more value nodes than this (``None``: no limit).
        show_grad: also print the ``.grad`` values ``backward()`` left in the picture
            (off by default: the player shows the gradients it computes, frame by frame).
        **options: what ``to_svg`` takes: the layout's ``engine``, ``timeout`` and
            ``memory_limit``, and the drawing options (``show_value``, ``rankdir``,
            ``title``, ``color_by``, ...). ``max_edges`` is off unless given: the node cap
            above already bounds the picture, and every node must be drawn.

    Returns:
        A ``Player`` (its ``html``, shown inline in Jupyter), or ``path`` as a
        ``pathlib.Path`` when given.

    Raises:
        TypeError: ``root`` is not a Node, or an option is unknown.
        ValueError: the graph has more than ``max_nodes`` nodes, or ``root`` is not a single
            number, or an option has a value it does not accept.
        OpError: an op in the graph has no vjp, or one returns gradients that do not fit.
        RenderError: no layout program, or it failed.

    Example:
        >>> import compgraph as cg
        >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
        >>> u = b * c
        >>> u.name = "u"
        >>> player = cg.animate(3 * (a + u))
        >>> for line in player.frames[-1]["lines"]:
        ...     print(line)
        dJ/db = dJ/du · ∂u/∂b = 3 · 2 = 6
        dJ/dc = dJ/du · ∂u/∂c = 3 · 3 = 9
        >>> player.html.startswith("<!DOCTYPE html>"), a.grad is None
        (True, True)
    """
    if not isinstance(root, Node):
        raise TypeError(f"animate takes the root Node of a graph, got {type(root).__name__}")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"animate: max_nodes must be a positive int or None, got {max_nodes!r}")
    order = topological_order(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"animate: the graph of {root.describe()} has {len(order)} nodes, more than "
            f"max_nodes={max_nodes}; a player of that many steps is too long to follow. "
            "Animate a smaller graph (fewer features or examples, or an intermediate node), "
            "or pass max_nodes=None (or a larger number) to allow it"
        )
    if root.value.size != 1:
        raise ValueError(
            f"animate: {root.describe()} has {root.value.size} elements; the backward pass "
            "starts from a single number: reduce it first, e.g. cg.sum(y) or cg.mean(y)"
        )
    options.setdefault("max_edges", None)
    svg = viz.to_svg(root, max_nodes=None, show_grad=show_grad, **options)
    show_op = options.get("show_op", True)
    data = _Frames(order, root, show_op).build()
    _check_picture(svg, data["nodes"])
    title = options.get("title") or f"backprop through {data['root_name']}"
    player = Player(_page(svg, data, title), tuple(data["frames"]), data["gradients"])
    return player if path is None else player.save(path)


class _Frames:
    """Computes the player's frames for the nodes ``order`` of ``root``'s graph."""

    def __init__(self, order: list[Node], root: Node, show_op: bool):
        self.order = order
        self.root = root
        self.position = {node: i for i, node in enumerate(order)}
        self.names = self._display_names()
        self.root_name = self.names[root]
        self.show_op = show_op
        #: What the replayed reverse pass computed, filled by ``backward_frames``.
        self.gradients: dict[Node, np.ndarray] = {}

    def _display_names(self) -> dict[Node, str]:
        """Labels, with unnamed scalar constants as their value and an unnamed root as J."""
        names = node_labels(self.order)
        for node in self.order:
            constant = node.name is None and not node.parents and not node.requires_grad
            if constant and node.value.size == 1:
                names[node] = viz.format_array(node.value.reshape(()))
        if self.root.name is None and "J" not in names.values():
            names[self.root] = "J"
        return names

    def ids(self, node: Node) -> tuple[str, str | None]:
        """The DOT ids of ``node``'s value box and of its op oval (None without one)."""
        index = self.position[node]
        return f"v{index}", (f"op{index}" if self.show_op and node.parents else None)

    def edges_in(self, node: Node, parents: list[Node] | None = None) -> list[str]:
        """The titles of the picture's edges carrying ``parents`` (default: all) into ``node``."""
        value_id, op_id = self.ids(node)
        target = op_id or value_id
        chosen = node.parents if parents is None else parents
        titles = [f"v{self.position[parent]}->{target}" for parent in chosen]
        return [*titles, f"{op_id}->{value_id}"] if op_id else titles

    def build(self) -> dict[str, Any]:
        nodes = []
        for node in self.order:
            value_id, op_id = self.ids(node)
            nodes.append(
                {
                    "id": value_id,
                    "op": op_id,
                    "edges": self.edges_in(node) if node.parents else [],
                    "d": self.derivative(node),
                }
            )
        values = sum(1 for node in self.order if not node.parents)
        count = len(self.order)
        start = {
            "phase": "start",
            "shown": 0,
            "title": f"The graph of {self.root_name}: {count} nodes, {values} of them inputs",
            "lines": [
                "→ (or space to play) computes each value in creation order, "
                "then the backward pass sends gradients back from the output."
            ],
            "grads": {},
        }
        frames = [start, *self.forward_frames(), *self.backward_frames()]
        gradients = {self.ids(node)[0]: grad for node, grad in self.gradients.items()}
        return {
            "root_name": self.root_name,
            "nodes": nodes,
            "frames": frames,
            "gradients": gradients,
        }

    def derivative(self, node: Node) -> str:
        return f"d{self.root_name}/d{self.names[node]}"

    # -- forward ---------------------------------------------------------------------------

    def forward_frames(self) -> list[dict[str, Any]]:
        frames = []
        for index, node in enumerate(self.order):
            value_id, op_id = self.ids(node)
            name = self.names[node]
            if node.parents:
                title, lines = self._op_step(node, name)
            else:
                kind = "a parameter" if node.requires_grad else "a constant"
                value = _text(node.value, with_shape=True)
                title = f"{name}, {kind}"
                lines = [] if name == value else [f"{name} = {value}"]
            frames.append(
                {
                    "phase": "forward",
                    "shown": index + 1,
                    "node": value_id,
                    "op": op_id,
                    "edges": self.edges_in(node) if node.parents else [],
                    "title": title,
                    "lines": lines,
                    "grads": {},
                }
            )
        return frames

    def _op_step(self, node: Node, name: str) -> tuple[str, list[str]]:
        expression = _expression(node, [self.names[parent] for parent in node.parents])
        lines = []
        if all(_is_scalar(parent.value) for parent in node.parents) and _is_scalar(node.value):
            numbers = _expression(node, [_text(parent.value) for parent in node.parents])
            lines.append(f"{name} = {numbers} = {_text(node.value)}")
        else:
            for parent in node.parents:
                lines.append(f"{self.names[parent]}: {_shape_text(parent.value)}")
            lines.append(f"{name} = {_text(node.value, with_shape=True)}")
        return f"{name} = {expression}", lines

    # -- backward --------------------------------------------------------------------------

    def backward_frames(self) -> list[dict[str, Any]]:
        root = self.root
        root_id = self.ids(root)[0]
        if not root.requires_grad:
            return [
                {
                    "phase": "backward",
                    "shown": len(self.order),
                    "node": root_id,
                    "title": f"{self.root_name} needs no backward pass",
                    "lines": [
                        f"{self.root_name} depends on no node that requires a gradient "
                        "(it was built from constants only)."
                    ],
                    "grads": {},
                }
            ]
        seed = np.ones_like(root.value)
        grads = self.gradients
        grads[root] = seed
        d_root = self.derivative(root)
        frames = [
            {
                "phase": "backward",
                "shown": len(self.order),
                "node": root_id,
                "title": f"Backward: seed {d_root} = 1",
                "lines": [f"{d_root} = 1: the output's derivative with respect to itself."],
                "grads": {root_id: _text(seed)},
            }
        ]
        with np.errstate(all="ignore"):
            for node in reversed(self.order):
                if node.op is None or not node.requires_grad or node not in grads:
                    continue
                frames.append(self._vjp_step(node, grads))
        return frames

    def _vjp_step(self, node: Node, grads: dict[Node, np.ndarray]) -> dict[str, Any]:
        """Run ``node``'s vjp as ``backward()`` would, adding into ``grads``; one frame."""
        op = node.op
        assert op is not None, "backward_frames steps through the recorded ops only"
        g = grads[node]
        contributions = _vjp(node, g)
        scalar = _is_scalar(node.value) and all(_is_scalar(p.value) for p in node.parents)
        locals_ = _vjp(node, np.ones_like(node.value)) if scalar else None
        name, d_node = self.names[node], self.derivative(node)
        lines, updated, receiving = [], {}, []
        for position, (parent, contribution) in enumerate(
            zip(node.parents, contributions, strict=True)
        ):
            if not parent.requires_grad:
                lines.append(f"{self.names[parent]} is a constant: it needs no gradient")
                continue
            raw_shape = np.shape(contribution)
            contribution = fit_gradient(contribution, node, position)
            before = grads.get(parent)
            total = contribution if before is None else before + contribution
            grads[parent] = total
            d_parent = self.derivative(parent)
            sign = "=" if before is None else "+="
            if locals_ is not None:
                local = fit_gradient(locals_[position], node, position)
                line = (
                    f"{d_parent} {sign} {d_node} · ∂{name}/∂{self.names[parent]} = "
                    f"{_text(g)} · {_text(local)} = {_text(contribution)}"
                )
            else:
                # Broadcasting is undone as backward() undoes it: summed to the input's shape.
                summed = "" if raw_shape == parent.value.shape else ", summed over broadcasting"
                line = (
                    f"{d_parent} {sign} {op.name}'s vjp of {d_node} ({_shape_text(g)})"
                    f"{summed}: {_text(contribution, with_shape=True)}"
                )
            if before is not None:
                line += f", so {d_parent} = {_text(total, with_shape=locals_ is None)}"
            lines.append(line)
            updated[self.ids(parent)[0]] = _text(total)
            receiving.append(parent)
        value_id, op_id = self.ids(node)
        return {
            "phase": "backward",
            "shown": len(self.order),
            "node": value_id,
            "op": op_id,
            "edges": self.edges_in(node, receiving),
            "title": f"{name} = {_expression(node, [self.names[p] for p in node.parents])}"
            f"  ←  {d_node} = {_text(g)}",
            "lines": lines,
            "grads": updated,
        }


def _vjp(node: Node, g: np.ndarray) -> tuple[Any, ...]:
    """``node.op.vjp(g, out, *inputs, **attrs)`` as ``backward()`` calls it."""
    op = node.op
    assert op is not None, "only recorded ops have a vjp"
    attrs = dict(node.attrs)
    if op.vjp_needs_grad:
        attrs["needs_grad"] = tuple(parent.requires_grad for parent in node.parents)
    try:
        grads = op.vjp(g, node.value, *(parent.value for parent in node.parents), **attrs)
    except NotImplementedError:
        raise OpError(
            f"animate: op {op.name!r} ({op.__name__}) has no vjp, so the backward pass "
            f"through {node.describe()} cannot be shown; define vjp(g, out, *inputs, **attrs)"
        ) from None
    if not isinstance(grads, (tuple, list)) or len(grads) != len(node.parents):
        raise OpError(
            f"animate: op {op.name!r} vjp returned {type(grads).__name__} for "
            f"{len(node.parents)} inputs at {node.describe()}; return one gradient per input"
        )
    return tuple(grads)


def _is_scalar(array: np.ndarray) -> bool:
    return np.size(array) == 1


def _text(array: Any, with_shape: bool = False) -> str:
    """A number for one-element arrays, the pictures' text (or summary) otherwise."""
    array = np.asarray(array)
    if array.size == 1:
        return viz.format_array(array.reshape(()))
    return viz.format_array(array, with_shape=with_shape)


def _shape_text(array: np.ndarray) -> str:
    shape = np.shape(array)
    return "a number" if len(shape) == 0 else f"shape {shape}"


def _expression(node: Node, operands: list[str]) -> str:
    """``b × c``, ``−x``, ``σ(z)``, ``sum(x, axis=0)``: how ``node`` was computed."""
    op = node.op
    assert op is not None, "only nodes with parents are drawn as expressions, and they have an op"
    symbol = op.symbol
    settings = [
        f"{key}={value!r}"[:40]
        for key, value in node.attrs.items()
        if value is not None and value is not False
    ]
    if symbol in _INFIX and len(operands) == 2 and not settings:
        return f"{operands[0]} {symbol} {operands[1]}"
    if symbol == "−" and len(operands) == 1:
        return f"−{operands[0]}"
    function = symbol if symbol and "(" not in symbol else op.name
    return f"{function}({', '.join([*operands, *settings])})"


def _check_picture(svg: str, nodes: list[dict[str, Any]]) -> None:
    """Refuse a picture whose groups do not carry the ids the frames point at."""
    titles = set(re.findall(r"<title>([^<]*)</title>", svg))
    missing = [node["id"] for node in nodes if node["id"] not in titles]
    if missing:
        raise RenderError(
            f"animate: the picture lacks node {missing[0]!r} ({len(missing)} of {len(nodes)} "
            "are missing): every node must be drawn for the player to highlight it; leave "
            "max_edges unset (or raise it)"
        )


def _script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no ``<``, ``>`` or ``&`` can close or open a tag."""
    # ASCII only: a name may hold a lone surrogate, which no UTF-8 file can store.
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&]", lambda match: _SCRIPT_UNSAFE[match.group()], text)


def _page(svg: str, data: dict[str, Any], title: str) -> str:
    start = _SVG_START.search(svg)
    if start is None:
        raise RenderError("animate: the layout program returned no <svg> element")
    parts = {
        "TITLE": html.escape(_UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], title)),
        "STYLE": _STYLE,
        "SVG": svg[start.start() :].strip(),
        "DATA": _script_json({"nodes": data["nodes"], "frames": data["frames"]}),
        "SCRIPT": _SCRIPT,
        "BUTTONS": _BUTTONS,
    }
    return re.sub(r"@@([A-Z]+)@@", lambda match: parts[match[1]], _TEMPLATE)


def _icon(shapes: str) -> str:
    return f'<svg class="cg-icon" viewBox="0 0 16 16" aria-hidden="true">{shapes}</svg>'


# Drawn rather than typed: media-control characters are missing from many fonts.
_CONTROLS = (
    ("cg-first", "first frame (Home)", '<rect x="2" y="3" width="2" height="10"/>'
     '<path d="M14 3 5 8l9 5z"/>'),
    ("cg-back", "step back (←)", '<rect x="3" y="3" width="2" height="10"/>'
     '<path d="M13 3 6 8l7 5z"/>'),
    ("cg-play", "play / pause (space)", '<path class="cg-when-paused" d="M4 3l9 5-9 5z"/>'
     '<g class="cg-when-playing"><rect x="4" y="3" width="3" height="10"/>'
     '<rect x="9" y="3" width="3" height="10"/></g>'),
    ("cg-forward", "step forward (→)", '<path d="M3 3l7 5-7 5z"/>'
     '<rect x="11" y="3" width="2" height="10"/>'),
    ("cg-last", "last frame (End)", '<path d="M2 3l9 5-9 5z"/>'
     '<rect x="12" y="3" width="2" height="10"/>'),
)  # fmt: skip
_BUTTONS = "\n".join(
    f'<button type="button" id="{id_}" title="{tip}" aria-label="{tip.split(" (")[0]}">'
    f"{_icon(shapes)}</button>"
    for id_, tip, shapes in _CONTROLS
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="compgraph.animate">
<title>@@TITLE@@</title>
<style>@@STYLE@@</style>
</head>
<body>
<main id="cg-player">
<h1 id="cg-heading">@@TITLE@@</h1>
<div id="cg-graph" aria-label="the computation graph">
@@SVG@@
</div>
<div id="cg-controls" role="toolbar" aria-label="player controls">
@@BUTTONS@@
<input type="range" id="cg-slider" min="0" max="0" value="0" aria-label="frame">
<label for="cg-speed">speed</label>
<select id="cg-speed">
<option value="0.25">¼×</option><option value="0.5">½×</option>
<option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option>
</select>
<span id="cg-counter" aria-live="polite"></span>
</div>
<section id="cg-panel" aria-live="polite">
<div id="cg-phase"></div>
<div id="cg-title"></div>
<div id="cg-lines"></div>
<h2>Gradients so far</h2>
<ul id="cg-grads"></ul>
</section>
</main>
<script type="application/json" id="cg-data">@@DATA@@</script>
<script>@@SCRIPT@@</script>
</body>
</html>
"""

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  margin: 0; color: #111827; background: #fff; }
#cg-player { max-width: 1100px; margin: 0 auto; padding: 12px 16px; }
#cg-heading { font-size: 1.1rem; font-weight: 600; margin: 0 0 8px; }
#cg-graph { overflow: auto; max-height: 62vh; border: 1px solid #e5e7eb; border-radius: 6px;
  padding: 6px; }
#cg-graph svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
#cg-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 10px 0; }
#cg-controls button { width: 2.4em; height: 2em; padding: 4px; cursor: pointer;
  border: 1px solid #9ca3af; border-radius: 4px; background: #f9fafb; color: #1f2937; }
.cg-icon { width: 16px; height: 16px; fill: currentColor; vertical-align: middle; }
#cg-play .cg-when-playing, #cg-play.cg-playing .cg-when-paused { display: none; }
#cg-play.cg-playing .cg-when-playing { display: inline; }
#cg-controls button:focus-visible, #cg-slider:focus-visible { outline: 2px solid #7c3aed; }
#cg-slider { flex: 1 1 200px; }
#cg-counter { font-variant-numeric: tabular-nums; color: #4b5563; min-width: 12em; }
#cg-panel { border-top: 1px solid #e5e7eb; padding-top: 8px; }
#cg-phase { text-transform: uppercase; font-size: .75rem; letter-spacing: .06em; color: #6b7280; }
#cg-title { font-size: 1.15rem; font-weight: 600; margin: 2px 0 6px; white-space: pre-wrap; }
#cg-lines div { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  white-space: pre-wrap; margin: 2px 0; }
#cg-panel h2 { font-size: .85rem; font-weight: 600; color: #6b7280; margin: 10px 0 4px; }
#cg-grads { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px 18px;
  max-height: 9em; overflow: auto; font-family: ui-monospace, Menlo, Consolas, monospace;
  color: #b91c1c; white-space: pre-wrap; }
.cg-pending { opacity: .15; }
.cg-current > path, .cg-current > polygon, .cg-current > ellipse {
  stroke: #7c3aed; stroke-width: 3.5px; }
.cg-flow-forward > path { stroke: #2563eb; stroke-width: 2.5px; }
.cg-flow-forward > polygon { stroke: #2563eb; fill: #2563eb; }
.cg-flow-backward > path { stroke: #dc2626; stroke-width: 2.5px; }
.cg-flow-backward > polygon { stroke: #dc2626; fill: #dc2626; }
.cg-badge rect { fill: #fff; fill-opacity: .9; stroke: #fca5a5; stroke-width: .8px; }
.cg-badge text { fill: #b91c1c; font: 10px Helvetica, Arial, sans-serif; }
.cg-badge.cg-fresh rect { stroke: #dc2626; stroke-width: 1.6px; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cg-data").textContent);
  var frames = data.frames, nodes = data.nodes;
  var svg = document.querySelector("#cg-graph svg");
  var SVG_NS = "http://www.w3.org/2000/svg";
  var byTitle = new Map();
  function register(key, group) {
    if (!byTitle.has(key)) { byTitle.set(key, []); }
    byTitle.get(key).push(group);
  }
  // A value feeding many ops is drawn once plus a dotted copy per further use, "v3_in7"
  // beside node 7: the copy and its edge "v3_in7->op7" stand for the edge "v3->op7".
  var COPY = /^(v\d+)_in(\d+)$/;
  svg.querySelectorAll("g.node, g.edge").forEach(function (group) {
    var title = group.querySelector("title");
    if (!title) { return; }
    var key = title.textContent.trim();
    var copy = COPY.exec(key);
    if (copy && nodes[Number(copy[2])]) {
      var user = nodes[Number(copy[2])];
      register(copy[1] + "->" + (user.op || user.id), group);
      return;
    }
    register(key.replace(/_in\d+->/, "->"), group);
  });
  function groups(key) { return (key && byTitle.get(key)) || []; }

  // Room under the lowest boxes for their gradient badges; the width scales to fit.
  var box = svg.viewBox.baseVal;
  if (box && box.height) {
    svg.setAttribute("viewBox", [box.x, box.y, box.width, box.height + 16].join(" "));
    svg.style.width = svg.getAttribute("width") || "100%";
    svg.removeAttribute("width");
    svg.removeAttribute("height");
  }
  var layer = svg.querySelector("g.graph") || svg;

  var badges = new Map();
  function badge(id) {
    if (badges.has(id)) { return badges.get(id); }
    var group = groups(id)[0];
    if (!group) { return null; }
    var bounds = group.getBBox();
    var g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("class", "cg-badge");
    var rect = document.createElementNS(SVG_NS, "rect");
    var text = document.createElementNS(SVG_NS, "text");
    text.setAttribute("x", bounds.x + bounds.width / 2);
    text.setAttribute("y", bounds.y + bounds.height + 11);
    text.setAttribute("text-anchor", "middle");
    g.appendChild(rect);
    g.appendChild(text);
    layer.appendChild(g);
    var made = { g: g, rect: rect, text: text };
    badges.set(id, made);
    return made;
  }
  function setBadge(made, content, fresh) {
    made.text.textContent = content;
    var b = made.text.getBBox();
    made.rect.setAttribute("x", b.x - 3);
    made.rect.setAttribute("y", b.y - 1);
    made.rect.setAttribute("width", b.width + 6);
    made.rect.setAttribute("height", b.height + 2);
    made.g.classList.toggle("cg-fresh", fresh);
    made.g.style.display = "";
  }

  var slider = document.getElementById("cg-slider");
  var playButton = document.getElementById("cg-play");
  var speed = document.getElementById("cg-speed");
  var current = 0, timer = null;
  slider.max = String(frames.length - 1);

  function mark(keys, name) {
    keys.forEach(function (key) {
      groups(key).forEach(function (g) { g.classList.add(name); });
    });
  }

  function show(index) {
    current = Math.max(0, Math.min(frames.length - 1, index));
    var frame = frames[current];
    var grads = new Map();
    for (var i = 0; i <= current; i++) {
      var set = frames[i].grads;
      for (var id in set) {
        if (Object.prototype.hasOwnProperty.call(set, id)) { grads.set(id, set[id]); }
      }
    }
    svg.querySelectorAll(".cg-current, .cg-flow-forward, .cg-flow-backward").forEach(
      function (g) { g.classList.remove("cg-current", "cg-flow-forward", "cg-flow-backward"); });
    nodes.forEach(function (node, position) {
      var pending = position >= frame.shown;
      [node.id, node.op].concat(node.edges).forEach(function (key) {
        groups(key).forEach(function (g) { g.classList.toggle("cg-pending", pending); });
      });
    });
    mark([frame.node, frame.op], "cg-current");
    mark(frame.edges || [], frame.phase === "backward" ? "cg-flow-backward" : "cg-flow-forward");
    badges.forEach(function (made) { made.g.style.display = "none"; });
    var list = document.getElementById("cg-grads");
    list.textContent = "";
    nodes.forEach(function (node) {
      if (!grads.has(node.id)) { return; }
      var fresh = Object.prototype.hasOwnProperty.call(frame.grads, node.id);
      var made = badge(node.id);
      if (made) { setBadge(made, "grad: " + grads.get(node.id), fresh); }
      var item = document.createElement("li");
      item.textContent = node.d + " = " + grads.get(node.id);
      if (fresh) { item.style.fontWeight = "700"; }
      list.appendChild(item);
    });
    document.getElementById("cg-phase").textContent =
      frame.phase === "start" ? "the graph" : frame.phase + " pass";
    document.getElementById("cg-title").textContent = frame.title;
    var lines = document.getElementById("cg-lines");
    lines.textContent = "";
    frame.lines.forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      lines.appendChild(div);
    });
    slider.value = String(current);
    document.getElementById("cg-counter").textContent =
      "frame " + (current + 1) + " / " + frames.length;
  }

  function delay() { return 1000 / Number(speed.value || 1); }
  function tick() {
    if (current >= frames.length - 1) { pause(); return; }
    show(current + 1);
    timer = window.setTimeout(tick, delay());
  }
  function play() {
    if (timer !== null) { return; }
    if (current >= frames.length - 1) { show(0); }
    playButton.classList.add("cg-playing");
    playButton.setAttribute("aria-label", "pause");
    timer = window.setTimeout(tick, delay());
  }
  function pause() {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = null;
    playButton.classList.remove("cg-playing");
    playButton.setAttribute("aria-label", "play");
  }
  function toggle() { if (timer === null) { play(); } else { pause(); } }
  function step(by) { pause(); show(current + by); }

  playButton.addEventListener("click", toggle);
  document.getElementById("cg-back").addEventListener("click", function () { step(-1); });
  document.getElementById("cg-forward").addEventListener("click", function () { step(1); });
  document.getElementById("cg-first").addEventListener("click", function () { pause(); show(0); });
  document.getElementById("cg-last").addEventListener("click", function () {
    pause(); show(frames.length - 1);
  });
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  speed.addEventListener("change", function () {
    if (timer !== null) { pause(); play(); }
  });
  var keys = {
    ArrowRight: function () { step(1); }, ArrowLeft: function () { step(-1); },
    Home: function () { pause(); show(0); },
    End: function () { pause(); show(frames.length - 1); },
    " ": toggle
  };
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !keys[event.key]) { return; }
    if (event.target === speed) { return; }
    // Handled here only: cancelling the key stops a focused button from also clicking on
    // space, the slider from also moving on arrows, and the page from scrolling.
    event.preventDefault();
    keys[event.key]();
  });
  window.compgraphPlayer = {
    frames: frames.length,
    show: function (index) { pause(); show(index); },
    frame: function () { return current; }
  };
  show(0);
}());
"""
