"""The backprop player: one self-contained HTML page that steps through a graph's passes.

``animate(root)`` lays the graph out once (``to_svg``, the pictures' own labels and colours)
and computes one frame per step: the forward pass reveals each value in creation order, then
the backward pass shows each step of the engine's own reverse pass (``cg.gradients`` with an
observer): the node whose vjp ran, the edges it sends gradients along, and, for scalars, the
local derivative and the product that gives each gradient (shapes and summaries for arrays).
Nothing writes ``.grad``, so the user's gradients are untouched.

The picture is drawn from a copy of the graph named as the text names it (``mul#3``, and
``J`` for an unnamed root), without the pass-through guards that vjps insert (``where``
with a constant condition, e.g. pow's guard of 0⁰), so the gradient of x³ reads 3 × x².

The page needs no network: its HTML, style and script are package data files
(``compgraph/pictures/assets/``) put inline, and the frames are embedded as JSON with ``<``,
``>`` and ``&`` escaped, so no name can end the script early; the script writes text with
``textContent`` only. Names are clipped to ``NAME_LIMIT`` characters, so a huge name cannot
make a huge page.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from compgraph.autodiff import BackwardStep, gradients
from compgraph.errors import OpError, RenderError
from compgraph.files import write_atomically
from compgraph.graph import topological_order
from compgraph.node import Node, enable_grad
from compgraph.pictures import drawing as viz
from compgraph.pictures.export import node_labels

__all__ = ["DEFAULT_MAX_NODES", "NAME_LIMIT", "Player", "animate"]

#: The largest graph ``animate`` accepts by default, in value nodes (two frames each).
DEFAULT_MAX_NODES = 200
#: Names longer than this many characters are clipped in the player's text and picture.
NAME_LIMIT = 60

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
            ``"forward"`` or ``"backward"``), ``title``, ``lines``, the ``grads`` it sets
            (DOT id → text) and the short ``badges`` written under the boxes.
        gradients: the gradients of the engine's backward pass, by DOT id (``"v0"``, ...),
            for every drawn node that requires one: what ``backward()`` gives.
    """

    html: str
    frames: tuple[dict[str, Any], ...]
    gradients: dict[str, np.ndarray]

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        # Short: a notebook's text view (and the console) shows this, not 25 kB of HTML.
        backward = sum(1 for frame in self.frames if frame["phase"] == "backward")
        heading = re.search(r"<title>(.*?)</title>", self.html, re.S)
        title = html.unescape(heading[1]) if heading else "backprop"
        return (
            f"<compgraph Player {title!r}: {len(self.frames)} frames, {backward} of them "
            f"backward; {len(self.html):,} characters of HTML>"
        )

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
    dJ/dJ = 1; one per step of the backward pass (``cg.gradients``: the vjp of an op ran;
    for scalars the local derivative ∂v/∂x and the product dJ/dv · ∂v/∂x that gives each
    gradient). Controls: play/pause (space), step (← →, Home, End), a slider and the speed.
    The picture follows the active node on graphs taller or wider than the page.

    Args:
        root: the node to differentiate, a single number (usually the cost J). It need not
            have run ``backward()``: the player runs the engine's backward pass itself, and
            writes no ``.grad``.
        path: a file to write the page to (atomically); ``None`` returns a ``Player``.
        max_nodes: refuse graphs with more value nodes than this (``None``: no limit).
        show_grad: also print the ``.grad`` values ``backward()`` left in the picture (off by
            default: the player shows the gradients frame by frame). The picture is then the
            graph itself, with its own names, rather than a copy labelled as the text is.
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
    picture = _Picture(order, root, relabel=not show_grad)
    svg = viz.to_svg(picture.root, max_nodes=None, show_grad=show_grad, **options)
    data = _Frames(picture, options.get("show_op", True)).build()
    _check_picture(svg, data["nodes"])
    title = options.get("title") or f"backprop through {data['root_name']}"
    player = Player(_page(svg, data, title), tuple(data["frames"]), data["gradients"])
    return player if path is None else player.save(path)


def _clip_name(name: str) -> str:
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"


def _passed_through(node: Node) -> Node | None:
    """The input a ``where`` with a constant, uniform condition passes on whole, if any.

    vjps insert such guards (pow's keeps 0⁰ from forming 0 · inf), and ``x[()]``, which only
    makes a NumPy scalar of a 0-d value: they change no number, and a learner expecting 3x²
    cannot read them, so the player draws past them.
    """
    if node.op is not None and node.op.name == "getitem" and node.attrs.get("index") == ():
        (whole,) = node.parents  # only a vjp's own x[()]: a user's indexing stays drawn
        return whole if hasattr(node, "vjp_of") and whole.value.shape == () else None
    if node.op is None or node.op.name != "where" or len(node.parents) != 2:
        return None
    condition = node.attrs.get("condition")
    if not isinstance(condition, (bool, np.bool_, np.ndarray)):
        return None
    condition = np.asarray(condition)
    if condition.dtype != np.bool_ or condition.size == 0:
        return None
    if not (condition.all() or not condition.any()):
        return None
    chosen = node.parents[0 if condition.all() else 1]
    return chosen if chosen.value.shape == node.value.shape else None


class _Picture:
    """The graph as the player draws it, and the names its text and boxes share.

    With ``relabel`` the picture is a copy of the user's graph (their nodes are left alone)
    whose nodes carry the player's names (``mul#3``, ``J``), without pass-through guards;
    without it, the user's graph itself (to show their ``.grad``), with the names in text only.
    """

    def __init__(self, order: list[Node], root: Node, relabel: bool):
        self.guards = {n: p for n in order if relabel and (p := _passed_through(n)) is not None}
        self.drawn: dict[Node, Node] = {}  # each user node -> the node drawn for it
        if relabel:
            needed = {root}
            for node in reversed(order):
                if node in needed:
                    needed.update([self.guards[node]] if node in self.guards else node.parents)
            # The forward pass runs again on the copy (recorded even inside no_grad(), as
            # the user's graph was): its warnings were given the first time.
            with warnings.catch_warnings(), np.errstate(all="ignore"), enable_grad():
                warnings.simplefilter("ignore")
                for node in (node for node in order if node in needed):
                    self.drawn[node] = self._copy(node)
        else:
            self.drawn = {node: node for node in order}
        self.root = self.drawn[root]
        self.order = topological_order(self.root)
        self.names = self._names(order, root)
        if relabel:
            for node in self.order:
                if node.name is not None or self.names[node] != _text(node.value):
                    node.name = self.names[node]

    def _copy(self, node: Node) -> Node:
        if node in self.guards:
            return self.drawn[self.guards[node]]
        name = None if node.name is None else _clip_name(node.name)
        if not node.parents or node.op is None:
            return Node(node.value, name=name, requires_grad=node.requires_grad)
        copy = Node.record(node.op, tuple(self.drawn[p] for p in node.parents), dict(node.attrs))
        copy.name = name
        return copy

    def _names(self, order: list[Node], root: Node) -> dict[Node, str]:
        """Labels, with unnamed scalar constants as their value and an unnamed root as J."""
        source = {self.drawn[n]: n for n in order if n in self.drawn and n not in self.guards}
        names = node_labels(self.order)
        clipped = [_clip_name(label) for label in names.values()]
        for position, (drawn, label) in enumerate(zip(names, clipped, strict=True)):
            # Two long names may share their first characters: clipped, they stay apart.
            names[drawn] = label if clipped.count(label) == 1 else f"{label}#{position}"
        for drawn in self.order:
            node = source[drawn]
            constant = node.name is None and not node.parents and not node.requires_grad
            if constant and node.value.size == 1:
                names[drawn] = _text(node.value)
        if root.name is None and "J" not in names.values():
            names[self.root] = "J"
        return names


class _Frames:
    """Computes the player's frames for ``picture``, from the engine's backward pass."""

    def __init__(self, picture: _Picture, show_op: bool):
        self.picture = picture
        self.position = {node: i for i, node in enumerate(picture.order)}
        self.names = picture.names
        self.root_name = self.names[picture.root]
        self.show_op = show_op

    def ids(self, node: Node) -> tuple[str, str | None]:
        """The DOT ids of drawn ``node``'s value box and of its op oval (None without one)."""
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
        for node in self.picture.order:
            value_id, op_id = self.ids(node)
            nodes.append(
                {
                    "id": value_id,
                    "op": op_id,
                    "edges": self.edges_in(node) if node.parents else [],
                    "d": self.derivative(node),
                }
            )
        values = sum(1 for node in self.picture.order if not node.parents)
        count = len(self.picture.order)
        start = {
            "phase": "start",
            "shown": 0,
            "title": f"The graph of {self.root_name}: {count} nodes, {values} of them inputs",
            "lines": [
                "→ (or space to play) computes each value in creation order, "
                "then the backward pass sends gradients back from the output."
            ],
            "grads": {},
            "badges": {},
        }
        backward, gradients = self.backward_frames()
        return {
            "root_name": self.root_name,
            "nodes": nodes,
            "frames": [start, *self.forward_frames(), *backward],
            "gradients": gradients,
        }

    def derivative(self, node: Node) -> str:
        return f"d{self.root_name}/d{self.names[node]}"

    # -- forward ---------------------------------------------------------------------------

    def forward_frames(self) -> list[dict[str, Any]]:
        frames = []
        for index, node in enumerate(self.picture.order):
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
                    "badges": {},
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

    def backward_frames(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        """One frame per step of the engine's backward pass, and the gradients it gave."""
        picture = self.picture
        root = picture.root
        root_id = self.ids(root)[0]
        if not root.requires_grad:
            frame = {
                "phase": "backward",
                "shown": len(picture.order),
                "node": root_id,
                "title": f"{self.root_name} needs no backward pass",
                "lines": [
                    f"{self.root_name} depends on no node that requires a gradient "
                    "(it was built from constants only)."
                ],
                "grads": {},
                "badges": {},
            }
            return [frame], {}
        user_root = next(user for user, drawn in picture.drawn.items() if drawn is root)
        d_root = self.derivative(root)
        seed = np.ones_like(root.value)
        frames = [
            {
                "phase": "backward",
                "shown": len(picture.order),
                "node": root_id,
                "title": f"Backward: seed {d_root} = 1",
                "lines": [f"{d_root} = 1: the output's derivative with respect to itself."],
                "grads": {root_id: _text(seed)},
                "badges": {root_id: _badge(seed)},
            }
        ]
        totals: dict[Node, np.ndarray] = {root: seed}

        def observe(step: BackwardStep) -> None:
            if step.node not in picture.guards:
                frames.append(self._vjp_step(step, totals))

        wrt = [
            user
            for user, drawn in picture.drawn.items()
            if user.requires_grad and user not in picture.guards
        ]
        try:
            found = gradients(user_root, wrt, observe=observe)
        except OpError as error:  # an op without a vjp, or one that breaks its contract
            raise OpError(f"animate: {error}") from None
        by_id = {self.ids(picture.drawn[user])[0]: g for user, g in zip(wrt, found, strict=True)}
        return frames, by_id

    def _vjp_step(self, step: BackwardStep, totals: dict[Node, np.ndarray]) -> dict[str, Any]:
        """The frame of one backward step: what the vjp of ``step.node`` sent to each input."""
        node = self.picture.drawn[step.node]
        op = node.op
        assert op is not None, "the backward pass steps through recorded ops only"
        g = np.asarray(step.grad)
        scalar = _is_scalar(node.value) and all(_is_scalar(p.value) for p in node.parents)
        locals_ = _local_derivatives(step.node) if scalar else None
        name, d_node = self.names[node], self.derivative(node)
        lines, updated, badges, receiving = [], {}, {}, []
        for position, (parent, user_parent, contribution) in enumerate(
            zip(node.parents, step.node.parents, step.input_grads, strict=True)
        ):
            if contribution is None or not user_parent.requires_grad:
                lines.append(f"{self.names[parent]} is a constant: it needs no gradient")
                continue
            contribution = np.asarray(contribution)
            before = totals.get(parent)
            total = contribution if before is None else before + contribution
            totals[parent] = total
            d_parent = self.derivative(parent)
            sign = "=" if before is None else "+="
            if locals_ is not None:
                line = (
                    f"{d_parent} {sign} {d_node} · ∂{name}/∂{self.names[parent]} = "
                    f"{_text(g)} · {_text(locals_[position])} = {_text(contribution)}"
                )
            else:
                # The engine undoes broadcasting: the gradient is summed to the input's shape.
                summed = ", summed over broadcasting" if _broadcast_from(parent, node) else ""
                line = (
                    f"{d_parent} {sign} {op.name}'s vjp of {d_node} ({_shape_text(g)})"
                    f"{summed}: {_text(contribution, with_shape=True)}"
                )
            if before is not None:
                line += f", so {d_parent} = {_text(total, with_shape=locals_ is None)}"
            lines.append(line)
            parent_id = self.ids(parent)[0]
            updated[parent_id] = _text(total)
            badges[parent_id] = _badge(total)
            receiving.append(parent)
        value_id, op_id = self.ids(node)
        return {
            "phase": "backward",
            "shown": len(self.picture.order),
            "node": value_id,
            "op": op_id,
            "edges": self.edges_in(node, receiving),
            "title": f"{name} = {_expression(node, [self.names[p] for p in node.parents])}"
            f"  ←  {d_node} = {_text(g)}",
            "lines": lines,
            "grads": updated,
            "badges": badges,
        }


def _broadcast_from(parent: Node, node: Node) -> bool:
    """Whether ``node``'s op broadcast ``parent`` up to its output (elementwise, 2+ inputs)."""
    if len(node.parents) < 2:
        return False
    try:
        shape = np.broadcast_shapes(*(p.value.shape for p in node.parents))
    except ValueError:
        return False  # matmul and friends: their inputs do not broadcast together
    return shape == node.value.shape and parent.value.shape != shape


def _local_derivatives(node: Node) -> list[Any]:
    """∂node/∂x for each scalar input x of scalar ``node``: its op alone, differentiated."""
    op = node.op
    assert op is not None, "only recorded ops have local derivatives"
    inputs = [Node(p.value, requires_grad=p.requires_grad) for p in node.parents]
    # The real pass has reported any non-finite number already.
    with warnings.catch_warnings(), np.errstate(all="ignore"), enable_grad():
        warnings.simplefilter("ignore")
        alone = Node.record(op, tuple(inputs), dict(node.attrs))
        wanted = [x for x in inputs if x.requires_grad]
        found = dict(zip(wanted, gradients(alone, wanted), strict=True))
    return [found.get(x) for x in inputs]


def _badge(gradient: np.ndarray) -> str:
    """The short text under a box: the number, or an array's root mean square."""
    if _is_scalar(gradient):
        return _text(gradient)
    with np.errstate(all="ignore"):
        rms = float(np.sqrt(np.mean(np.square(gradient, dtype=np.float64))))
    return f"rms {rms:.3g}"


def _is_scalar(array: Any) -> bool:
    return bool(np.size(array) == 1)


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
    settings = viz.setting_text(node, 40)
    if op.infix and len(operands) == 2 and not settings:
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


@functools.cache
def _asset(name: str) -> str:
    """A file of the page (``player.html``, ``.css``, ``.js``): package data, read once."""
    return (importlib.resources.files("compgraph.pictures") / "assets" / name).read_text(
        encoding="utf-8"
    )


def _page(svg: str, data: dict[str, Any], title: str) -> str:
    start = _SVG_START.search(svg)
    if start is None:
        raise RenderError("animate: the layout program returned no <svg> element")
    parts = {
        "TITLE": html.escape(_UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], title)),
        "STYLE": _asset("player.css"),
        "SVG": svg[start.start() :].strip(),
        "DATA": _script_json({"nodes": data["nodes"], "frames": data["frames"]}),
        "SCRIPT": _asset("player.js"),
        "BUTTONS": _BUTTONS,
    }
    return re.sub(r"@@([A-Z]+)@@", lambda match: parts[match[1]], _asset("player.html"))


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
