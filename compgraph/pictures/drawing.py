"""Pictures of computation graphs: DOT text (via the ``graphviz`` package) and SVG.

Every node reachable from the root becomes a box showing its name, shape and dtype, value
and gradient; every op becomes a small oval between its inputs and its output, drawn as its
``Op.symbol`` says, with its ``Op.roles`` written on the input edges when order matters
(``left − right`` is not ``right − left``). Adding an op never touches this module.

Legend:

* blue filled box: a parameter (a leaf that requires a gradient);
* grey dashed box: a constant (data such as X, or a number in a formula);
* white box: an intermediate result;  green bold box: the output (the root);
* amber oval: an op;  red border: a highlighted node;  red text: a gradient;
* dotted box: one more use of a value that feeds many ops, drawn in full once (long edges
  from one box to hundreds of ops would make the layout slow and the picture a tangle);
* yellow note: how many nodes a size cap left out (dashed arrows mark where they attach);
* with ``color_by="grad"``: fill colours from pale (below 1e-05) to dark red (1 and
  above), one per decade of the gradient's root mean square, blue for exactly 0, and a
  legend.

DOT ids come from each node's position in ``graph.topological_order``, never from ``id()``,
so the same program always gives byte-identical DOT. Only public ``Node`` fields are read.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
from collections import Counter, deque
from pathlib import Path
from typing import Any, Literal

import graphviz
import numpy as np
from graphviz import quoting

from compgraph.errors import RenderError
from compgraph.files import write_atomically
from compgraph.graph import topological_order
from compgraph.node import DISPLAY, Node

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "ENGINES",
    "Drawing",
    "format_array",
    "layout",
    "layout_program",
    "render",
    "setting_text",
    "to_dot",
    "to_svg",
]

#: Graphviz layout programs ``render`` can run, in the order it looks for them.
ENGINES: tuple[str, ...] = ("dot", "graphviz-pure")
#: Seconds the layout program may run before ``RenderError`` (``timeout=`` raises it).
DEFAULT_TIMEOUT: float = 20.0
#: Bytes of address space the layout program may use on POSIX (``memory_limit=``).
DEFAULT_MEMORY_LIMIT: int = 2 * 1024**3

_GRAD_COLOR = "#b91c1c"
_VALUE_STYLES: dict[str, dict[str, str]] = {
    "parameter": {"style": "rounded,filled", "fillcolor": "#dbeafe", "color": "#1d4ed8"},
    "constant": {
        "style": "rounded,filled,dashed",
        "fillcolor": "#f3f4f6",
        "color": "#6b7280",
        "fontcolor": "#374151",
    },
    "intermediate": {"style": "rounded", "color": "#374151"},
    # Made by backward(create_graph=True): the chain rule's own steps, in violet.
    "backward": {"style": "rounded,filled", "fillcolor": "#f5f3ff", "color": "#7c3aed"},
    "output": {
        "style": "rounded,filled,bold",
        "fillcolor": "#dcfce7",
        "color": "#15803d",
        "penwidth": "2",
    },
}
_OP_STYLE = {
    "shape": "ellipse",
    "style": "filled",
    "fillcolor": "#fef3c7",
    "color": "#b45309",
    "fontsize": "11",
    "margin": "0.04,0.02",
    "width": "0.3",
    "height": "0.3",
}
_EDGE_STYLE = {"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.7", "color": "#4b5563"}
_HIGHLIGHT_STYLE = {"color": "#dc2626", "penwidth": "3"}
_REUSE_STYLE = {
    "style": "rounded,dotted",
    "color": "#6b7280",
    "fontcolor": "#374151",
    "fontsize": "10",
}

# Gradient magnitudes, small to large: pale to dark, each darker than the one before (the
# tests check the luminance order), so a vanishing gradient reads as a faded box.
_GRAD_PALETTE = ("#fef9c3", "#fde68a", "#fdba74", "#fb923c", "#ef4444", "#b91c1c", "#7f1d1d")
_GRAD_ZERO = "#bfdbfe"  # exactly 0: cold blue, apart from the warm scale
_GRAD_NONFINITE = "#7e22ce"
_GRAD_NEUTRAL = {"style": "rounded,filled", "fillcolor": "#ffffff", "color": "#9ca3af"}
_DARK_FILLS = {"#ef4444", "#b91c1c", "#7f1d1d", _GRAD_NONFINITE}


def _attribute_text(style: dict[str, str]) -> str:
    """`` key="value" ...`` quoted by graphviz, to follow a node's label."""
    return " " + str(quoting.attr_list(kwargs=style))[2:-1]


_VALUE_ATTRS = {
    (kind, marked): _attribute_text({**style, **(_HIGHLIGHT_STYLE if marked else {})})
    for kind, style in _VALUE_STYLES.items()
    for marked in (False, True)
}
_OP_ATTRS = _attribute_text(_OP_STYLE)
_REUSE_ATTRS = _attribute_text(_REUSE_STYLE)
_NOTE_ID = "more"
_BIG = 100  # value nodes from which layout effort is bounded
#: A value feeding more drawn ops than this is drawn once, plus a dotted box per further use.
_SHARED_USES = 4

_SMALL_ARRAY = 12
_SUMMARY_WIDTH = 30  # characters per line of a min/mean/max summary in a box
_NAME_LIMIT = (200, 6)  # characters, lines: Graphviz refuses labels of 16384 characters
_TITLE_LIMIT = (1000, 12)
_TITLE_WIDTH = 80
# Characters XML 1.0 forbids or that would be invisible; shown as Python escapes instead.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_HTML_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    # Graphviz expands \N, \G, ... even inside HTML-like labels; "\\" stands for one "\".
    "\\": "\\\\",
    "\n": '<br align="left"/>',
}
_HTML_SPECIAL = re.compile('[&<>"\\\\\n]')

# Rough sizes in points, only to choose the layout direction (see _auto_rankdir).
_CHAR_WIDTH = 6.7
_NODE_PADDING = 18
_RANK_GAP = 36
_NODE_GAP = 18
#: Points of width up to which a left-to-right picture still reads when scaled into a
#: ~700-pixel column or notebook cell; wider ones are drawn top to bottom.
_WIDEST_LR = 700


def _html(text: str) -> str:
    """``text`` as literal text inside a Graphviz HTML-like label (no markup passes)."""
    text = _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)
    return _HTML_SPECIAL.sub(lambda match: _HTML_ESCAPES[match.group()], text)


def _clip(text: str, limit: tuple[int, int]) -> str:
    """``text`` cut to a number of characters and lines, saying so, so labels stay small."""
    characters, lines = limit
    kept = text[:characters].split("\n")[:lines]
    clipped = "\n".join(kept)
    if clipped == text:
        return text
    return f"{clipped}… (cut to {len(clipped):,} of {len(text):,} characters)"


def _number(value: float | np.floating[Any]) -> str:
    # Adding 0.0 turns -0.0 into 0.0: a gradient of "-0" would read as a sign worth noting.
    return f"{value + 0.0:.4g}"


def _row(values: list[float], indent: str = " ") -> str:
    """``[1, 2.5, 3]``, wrapped after every 6 numbers."""
    chunks = [", ".join(map(_number, values[i : i + 6])) for i in range(0, len(values), 6)]
    return "[" + (",\n" + indent).join(chunks) + "]"


def _mean(array: np.ndarray) -> float:
    """The mean, also when the sum overflows (20 values of 1e308 have mean 1e308, not inf)."""
    mean = float(array.mean())
    if np.isfinite(mean) or not np.isfinite(array).all():
        return mean
    # Finite values whose sum overflows: average them scaled down by the largest magnitude.
    scale = np.abs(array).max()
    return float((array / scale).mean() * scale)


def _summary(array: np.ndarray) -> list[str]:
    with np.errstate(all="ignore"):
        low, mean, high = array.min(), _mean(array), array.max()
    return [f"min {_number(low)}", f"mean {_number(mean)}", f"max {_number(high)}"]


def format_array(array: np.ndarray, with_shape: bool = False) -> str:
    """A short readable text for an array: scalars as numbers, small arrays in full.

    Arrays of more than 12 elements are summarised by their minimum, mean and maximum
    (the mean computed without overflow). Zeros are written ``0``, never ``-0``.

    Args:
        array: the array (a node's value or gradient).
        with_shape: put the shape in front of a summary (for when it is not shown apart).

    Returns:
        The text, numbers with 4 significant digits.

    Example:
        >>> import numpy as np
        >>> format_array(np.array(33.0)), format_array(np.array([[1.0, 2.5], [3.0, 4.0]]))
        ('33', '[[1, 2.5],\\n [3, 4]]')
        >>> format_array(np.arange(100.0).reshape(20, 5), with_shape=True)
        '(20, 5) min 0, mean 49.5, max 99'
        >>> format_array(np.full(20, 1e308)), format_array(np.array(-0.0))
        ('min 1e+308, mean 1e+308, max 1e+308', '0')
    """
    array = np.asarray(array)
    if array.ndim == 0:
        return _number(array.item())
    if array.size <= _SMALL_ARRAY:
        # Hand-written for vectors and matrices: np.array2string costs ~50 µs a call, which
        # adds up to most of the time for a 10,000-node graph.
        if array.ndim == 1:
            return _row(array.tolist())
        if array.ndim == 2:
            return "[" + ",\n ".join(_row(row, "  ") for row in array.tolist()) + "]"
        return np.array2string(
            array, separator=", ", formatter={"float_kind": _number}, max_line_width=60
        )
    shape = f"{array.shape} " if with_shape else ""
    return shape + ", ".join(_summary(array))


def _array_lines(prefix: str, array: np.ndarray, with_shape: bool) -> str:
    """``prefix`` and the array's text; a long summary wrapped so boxes stay narrow."""
    if array.size <= _SMALL_ARRAY:
        return prefix + format_array(array, with_shape)
    parts = _summary(array)
    if with_shape:
        parts[0] = f"{array.shape} {parts[0]}"
    lines = [prefix + parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 2 + len(part) <= _SUMMARY_WIDTH:
            lines[-1] += ", " + part
        else:
            lines[-1] += ","
            lines.append("  " + part)
    return "\n".join(lines)


def _kind(node: Node, root: Node) -> str:
    if node is root:
        return "output"
    if hasattr(node, "vjp_of"):
        return "backward"
    if node.parents:
        return "intermediate"
    return "parameter" if node.requires_grad else "constant"


def _value_label(node: Node, parts: dict[str, Any], grad_in_red: bool) -> tuple[str, int]:
    """The HTML label of a value box, and its widest line in characters."""
    lines = []
    texts = []
    if parts["name"] and node.name is not None:
        name = _clip(node.name, _NAME_LIMIT)
        texts.append(name)
        lines.append(f"<b>{_html(name)}</b>")
    if hasattr(node, "vjp_of"):
        made_by = node.vjp_of
        assert made_by.op is not None, "backward() runs vjps of recorded ops only"
        texts.append(
            f"from vjp of {made_by.op.name} {_clip(made_by.name or f'#{made_by.id}', _NAME_LIMIT)}"
        )
        lines.append(f'<font color="#6d28d9"><i>{_html(texts[-1])}</i></font>')
    shape_shown = parts["shape"] is True or (
        parts["shape"] == "auto" and (node.value.ndim > 0 or node.value.dtype != np.float64)
    )
    if shape_shown:
        shape = "scalar" if node.value.ndim == 0 else str(node.value.shape)
        texts.append(f"{shape} {node.value.dtype}")
        lines.append(_html(texts[-1]))
    if parts["value"]:
        texts.append(_array_lines("value: ", node.value, not shape_shown))
        lines.append(_html(texts[-1]))
    if parts["grad"] and node.grad is not None:
        texts.append(_array_lines("grad: ", _grad_array(node), not shape_shown))
        grad = _html(texts[-1])
        lines.append(f'<font color="{_GRAD_COLOR}">{grad}</font>' if grad_in_red else grad)
    widest = max((len(line) for text in texts for line in text.split("\n")), default=0)
    # Every line ends left-aligned, so the rows of a printed matrix line up.
    return "<" + "".join(line + '<br align="left"/>' for line in lines) + ">", widest


def setting_text(node: Node, width: int) -> list[str]:
    """An op's settings as ``key=value`` texts of at most ``width`` characters.

    An array setting (``where=``, an index) is shown whole only when it has at most four
    elements, else as its dtype and shape: a repr cut at ``width`` would look like data.

    Example:
        >>> import numpy as np
        >>> import compgraph as cg
        >>> x = cg.Node(np.ones((6, 10)))
        >>> setting_text(cg.sum(x, where=x.value > 0, axis=0), 40)
        ['axis=0', 'where=<bool (6, 10)>']
        >>> setting_text(x[::-1, np.array([0, 2])], 40)
        ['index=(::-1, [0, 2])']
    """
    return [
        f"{key}={_setting_value(value)}"[:width]
        for key, value in node.attrs.items()
        if value is not None and value is not False
    ]


def _setting_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return np.array2string(value, separator=", ")
        return f"<{value.dtype} {value.shape}>"
    if isinstance(value, slice):
        parts = ["" if part is None else str(part) for part in (value.start, value.stop)]
        return ":".join(parts) + ("" if value.step is None else f":{value.step}")
    if isinstance(value, tuple):
        inner = ", ".join(_setting_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _op_lines(node: Node) -> list[str]:
    op = node.op
    assert op is not None, "only nodes with parents get an op box, and they have an op"
    return [(op.symbol or op.name)[:60], *setting_text(node, 60)]


def _operand_roles(node: Node) -> list[str]:
    """Edge labels for an op's inputs: its ``Op.roles``, blank when it declares none."""
    assert node.op is not None, "only nodes with parents have operands, and they have an op"
    roles = tuple(node.op.roles)
    count = len(node.parents)
    if not roles:
        return [""] * count
    # A variadic op may have more inputs than roles: number the rest by position.
    return [roles[i] if i < len(roles) else str(i) for i in range(count)]


def _nearest(root: Node, limit: int | None) -> list[Node]:
    """Up to ``limit`` nodes nearest ``root``, in breadth-first order over parents."""
    chosen = {root}
    ranked = [root]
    queue = deque([root])
    while queue and (limit is None or len(ranked) < limit):
        for parent in queue.popleft().parents:
            if parent not in chosen:
                chosen.add(parent)
                ranked.append(parent)
                queue.append(parent)
                if len(ranked) == limit:
                    break
    return ranked


def _within_edges(ranked: list[Node], max_edges: int, show_op: bool) -> list[Node]:
    """The longest prefix of ``ranked`` whose drawing has at most ``max_edges`` edges."""
    position = {node: index for index, node in enumerate(ranked)}
    arriving = [0] * len(ranked)  # edges drawn once node i is in (both ends drawn)
    for index, node in enumerate(ranked):
        if node.parents and show_op:
            arriving[index] += 1  # op -> node
        for parent in node.parents:
            other = position.get(parent)
            if other is not None:
                arriving[max(index, other)] += 1
    total = 0
    for index, count in enumerate(arriving):
        total += count
        if total > max_edges:
            return ranked[: max(index, 1)]
    return ranked


def _highlighted(highlight: Any) -> set[Node]:
    """Nodes to mark: a Node, something with a ``.node`` (a check report), or an iterable."""
    if highlight is None:
        return set()
    items = [highlight] if isinstance(highlight, Node) or hasattr(highlight, "node") else highlight
    try:
        items = list(items)
    except TypeError:
        raise TypeError(
            f"highlight takes a Node, an object with a .node attribute or an iterable of them, "
            f"got {type(highlight).__name__}"
        ) from None
    marked = set()
    for item in items:
        node = item if isinstance(item, Node) else getattr(item, "node", item)
        if node is None:  # a report that points at nothing
            continue
        if not isinstance(node, Node):
            raise TypeError(
                f"highlight: expected Nodes (or objects with a .node), got "
                f"{type(item).__name__} {item!r:.60}"
            )
        marked.add(node)
    return marked


def _check_cap(option: str, cap: Any) -> None:
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ValueError(f"{option} must be a positive int or None (no cap), got {cap!r}")


def _check_options(root: Any, parts: dict[str, Any], options: dict[str, Any]) -> None:
    if not isinstance(root, Node):
        raise TypeError(f"to_dot takes the root Node of a graph, got {type(root).__name__}")
    for part, flag in parts.items():
        if not isinstance(flag, bool) and not (part == "shape" and flag == "auto"):
            allowed = 'True, False or "auto"' if part == "shape" else "True or False"
            raise ValueError(f"show_{part} must be {allowed}, got {flag!r}")
    if options["rankdir"] not in ("LR", "TB", "auto"):
        raise ValueError(
            'rankdir must be "LR" (left to right), "TB" (top down) or "auto" (LR when the '
            f"picture stays narrow enough to read, else TB), not {options['rankdir']!r}"
        )
    _check_cap("max_nodes", options["max_nodes"])
    _check_cap("max_edges", options["max_edges"])
    if options["color_by"] not in (None, "grad"):
        raise ValueError(
            f'color_by must be None (the usual colours) or "grad" (by gradient magnitude), '
            f"not {options['color_by']!r}"
        )


# -- colour by gradient -------------------------------------------------------------------------


def _grad_array(node: Node) -> np.ndarray:
    """A node's gradient as an array: after backward(create_graph=True) it is a Node."""
    grad = node.grad
    return np.asarray(grad.value if isinstance(grad, Node) else grad)


def _grad_magnitude(grad: Any) -> float:
    """The root mean square of a gradient (inf when any element is inf or NaN)."""
    if isinstance(grad, Node):
        grad = grad.value
    grad = np.asarray(grad, dtype=np.float64)
    if grad.size == 0:
        return 0.0
    peak = np.abs(grad).max()
    if not np.isfinite(peak):
        return math.inf
    if peak == 0:
        return 0.0
    # Scaled by the peak, so squares neither overflow nor underflow.
    return float(peak * np.sqrt(np.mean(np.square(grad / peak))))


class _GradScale:
    """Colours for gradient magnitudes: one per decade, fixed, so pictures compare.

    The bins are absolute (``below 1e-05``, ``1e-05 to 0.0001``, ..., ``1 and above``), not
    stretched to each picture: a sigmoid network's faded boxes keep their meaning next to
    a ReLU network's picture.
    """

    _EDGES = (-5, -4, -3, -2, -1, 0)  # log10 of the bin edges; len(_GRAD_PALETTE) - 1 of them

    def __init__(self, magnitudes: list[float]):
        self.used = sorted({self._bin(m) for m in magnitudes if 0 < m < math.inf})
        self.has_zero = 0.0 in magnitudes
        self.has_nonfinite = math.inf in magnitudes

    def _bin(self, magnitude: float) -> int:
        return bisect.bisect_right(self._EDGES, math.log10(magnitude))

    def color(self, magnitude: float) -> str:
        if magnitude == 0:
            return _GRAD_ZERO
        if magnitude == math.inf:
            return _GRAD_NONFINITE
        return _GRAD_PALETTE[self._bin(magnitude)]

    def _text(self, index: int) -> str:
        edges = [_number(10.0**edge) for edge in self._EDGES]
        if index == 0:
            return f"below {edges[0]}"
        if index == len(edges):
            return f"{edges[-1]} and above"
        return f"{edges[index - 1]} to {edges[index]}"

    def legend(self) -> list[tuple[str, str]]:
        """(colour, text) pairs, small to large, for the magnitudes in the picture."""
        entries = [(_GRAD_ZERO, "0")] if self.has_zero else []
        entries += [(_GRAD_PALETTE[index], self._text(index)) for index in self.used]
        if self.has_nonfinite:
            entries.append((_GRAD_NONFINITE, "inf or nan"))
        return entries


def _fill(color: str) -> dict[str, str]:
    return {"fillcolor": color, "fontcolor": "#ffffff" if color in _DARK_FILLS else "#111827"}


def _grad_attrs(
    magnitude: float | None, kind: str, marked: bool, scale: _GradScale
) -> tuple[str, str]:
    """(node attributes, edge colour) for a value box coloured by its gradient's magnitude
    (``None``: no gradient)."""
    if magnitude is None:
        style = dict(_GRAD_NEUTRAL)
        edge = _GRAD_NEUTRAL["color"]
    else:
        color = scale.color(magnitude)
        base = _VALUE_STYLES[kind]
        style = {"style": "rounded,filled", "color": base["color"], **_fill(color)}
        if kind == "output":
            style.update(style="rounded,filled,bold", penwidth="2")
        edge = color
    if marked:
        style.update(_HIGHLIGHT_STYLE)
    return _attribute_text(style), edge


def _legend(scale: _GradScale) -> list[str]:
    lines = [
        "\tsubgraph cluster_legend {\n",
        '\t\tlabel=<gradient (RMS), log scale> fontsize=10 style="rounded,dashed" '
        'color="#9ca3af"\n',
    ]
    entries = scale.legend()
    for index, (color, text) in enumerate(entries):
        style = {"shape": "box", "style": "rounded,filled", "fontsize": "10", **_fill(color)}
        lines.append(f"\t\tlegend{index} [label=<{_html(text)}>{_attribute_text(style)}]\n")
    if len(entries) > 1:
        # One rank, chained by invisible edges: the scale reads small to large.
        chain = " -> ".join(f"legend{index}" for index in range(len(entries)))
        lines.append(f"\t\t{{rank=same {chain} [style=invis]}}\n")
    lines.append("\t}\n")
    return lines


# -- layout direction ---------------------------------------------------------------------------


def _auto_rankdir(
    order: list[Node], widths: dict[Node, float], show_op: bool
) -> Literal["LR", "TB"]:
    """LR when the left-to-right picture stays narrow enough to read, else TB if narrower.

    Ranks are estimated as distance from the root (dot puts inputs next to their use), a
    box's width from its widest line; good enough to tell a strip from a compact graph.
    """
    depth: dict[Node, int] = {order[-1]: 0}
    ranks: dict[int, list[float]] = {}
    step = 2 if show_op else 1
    for node in reversed(order):
        level = depth.setdefault(node, 0)
        ranks.setdefault(level, []).append(widths[node])
        if not node.parents:
            continue
        if show_op:
            ranks.setdefault(level + 1, []).append(_NODE_PADDING + 2 * _CHAR_WIDTH)
        for parent in node.parents:
            if parent in widths:
                depth[parent] = max(depth.get(parent, 0), level + step)
    across = sum(max(row) for row in ranks.values()) + _RANK_GAP * (len(ranks) - 1)
    down = max(sum(row) + _NODE_GAP * (len(row) - 1) for row in ranks.values())
    return "LR" if across <= _WIDEST_LR or across <= down else "TB"


# -- DOT ----------------------------------------------------------------------------------------


_MIME_FORMATS = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpeg"}


# graphviz ships no type hints, so to mypy its Digraph is Any.
class Drawing(graphviz.Digraph):  # type: ignore[misc]
    """The picture ``to_dot`` returns: a ``graphviz.Digraph`` that Jupyter can always show.

    ``graphviz``'s own notebook display runs the system ``dot`` and fails without it; this
    one lays the graph out with the same program as ``to_svg`` (the system ``dot``, else
    ``graphviz-pure``).

    Example:
        >>> import compgraph as cg
        >>> drawing = cg.to_dot(cg.Node(2.0, name="w") * 3)
        >>> "<svg" in drawing._repr_mimebundle_()["image/svg+xml"]
        True
    """

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str | bytes]:
        wanted = set(include) if include is not None else {"image/svg+xml"}
        wanted -= set(exclude or ())
        bundle: dict[str, str | bytes] = {}
        for mimetype, fmt in _MIME_FORMATS.items():
            if mimetype in wanted:
                picture = layout(self.source, fmt)
                bundle[mimetype] = picture.decode("utf-8") if fmt == "svg" else picture
        return bundle

    def _repr_svg_(self) -> str:
        return layout(self.source, "svg").decode("utf-8")


def to_dot(
    root: Node,
    *,
    show_name: bool = True,
    show_op: bool = True,
    show_shape: bool | Literal["auto"] = "auto",
    show_value: bool = True,
    show_grad: bool = True,
    rankdir: Literal["LR", "TB", "auto"] = "auto",
    max_nodes: int | None = 200,
    max_edges: int | None = 600,
    highlight: Any = None,
    title: str | None = None,
    color_by: Literal["grad"] | None = None,
) -> Drawing:
    """The DOT picture of ``root`` and every node it depends on.

    Call it after ``root.backward()`` to see the gradients too. The DOT text
    (``.source``) is deterministic: ids come from the graph order, never from ``id()``.

    Args:
        root: the node to draw, usually the output (loss) of a computation.
        show_name: write each node's ``name`` (when it has one).
        show_op: draw ops as their own small nodes; ``False`` joins inputs to outputs directly.
        show_shape: write shape and dtype; ``"auto"`` does so for arrays and for dtypes other
            than float64, so scalar graphs stay uncluttered.
        show_value: write forward values (arrays of more than 12 elements as min/mean/max).
        show_grad: write gradients, where ``backward()`` has filled them.
        rankdir: ``"LR"`` lays the graph out left to right, ``"TB"`` top to bottom;
            ``"auto"`` picks LR unless that makes a strip too wide to read at a page's or
            notebook's width (about 700 pixels), as a model with large arrays does.
        max_nodes: draw at most this many value nodes, those nearest the root, and a note
            saying how many were left out; ``None``: no cap on nodes.
        max_edges: likewise cap the edges (an op may have any number of inputs), dropping
            the nodes farthest from the root first; ``None``: no cap on edges.
        highlight: nodes to draw with a red border: a Node, an object with a ``.node``
            attribute (such as a gradient-check report), or an iterable of these. Nodes
            outside the drawn graph are ignored.
        title: a caption written above the graph (long ones are wrapped and cut).
        color_by: ``"grad"`` fills value boxes and colours edges by the root mean square of
            the gradient, one colour per decade (the same scale in every picture), with a
            legend, so vanishing gradients stand out; exactly 0 is blue, boxes without a
            gradient are white. ``None`` keeps the usual colours.

    Returns:
        A ``Drawing`` (a ``graphviz.Digraph``); its ``.source`` is the DOT text, and Jupyter
        displays it as the picture.

    Raises:
        TypeError: ``root`` is not a Node, or ``highlight`` holds something else.
        ValueError: an option has a value it does not accept.

    Example:
        >>> import compgraph as cg
        >>> a, b = cg.Node(5.0, name="a"), cg.Node(3.0, name="b")
        >>> J = a - b
        >>> J.backward()
        >>> dot = cg.to_dot(J)
        >>> [line.strip() for line in dot.source.splitlines() if "->" in line]
        ['v0 -> op2 [label=left]', 'v1 -> op2 [label=right]', 'op2 -> v2']
        >>> "grad: -1" in dot.source  # dJ/db
        True
    """
    parts = {
        "name": show_name,
        "shape": show_shape,
        "value": show_value,
        "grad": show_grad,
    }
    options = {
        "rankdir": rankdir,
        "max_nodes": max_nodes,
        "max_edges": max_edges,
        "color_by": color_by,
    }
    _check_options(root, {**parts, "op": show_op}, options)
    marked = _highlighted(highlight)
    everything = topological_order(root)
    position = {node: index for index, node in enumerate(everything)}
    order = everything
    if (max_nodes is not None and len(everything) > max_nodes) or max_edges is not None:
        ranked = _nearest(root, max_nodes)
        if max_edges is not None:
            ranked = _within_edges(ranked, max_edges, show_op)
        if len(ranked) < len(everything):
            drawn = set(ranked)
            order = [node for node in everything if node in drawn]
    left_out = len(everything) - len(order)
    drawn_set = set(order) if left_out else None

    scale = None
    magnitudes: dict[Node, float] = {}  # one pass over each gradient, for scale and colours
    if color_by == "grad":
        magnitudes = {n: _grad_magnitude(n.grad) for n in order if n.grad is not None}
        scale = _GradScale(list(magnitudes.values()))

    labels: dict[Node, str] = {}
    widths: dict[Node, float] = {}
    for node in order:
        labels[node], widest = _value_label(node, parts, grad_in_red=scale is None)
        widths[node] = max(54.0, _NODE_PADDING + _CHAR_WIDTH * widest)
    if rankdir == "auto":
        rankdir = _auto_rankdir(order, widths, show_op)

    dot = Drawing(
        "compgraph",
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica"},
        node_attr={"shape": "box", "fontname": "Helvetica", "fontsize": "12"},
        edge_attr=_EDGE_STYLE,
    )
    if len(order) > _BIG:
        # Bound dot's network-simplex passes (iterations <= nodes): a parameter feeding every
        # step of a 200-node graph otherwise takes dot minutes instead of a second.
        dot.graph_attr.update(nslimit="1", nslimit1="1")
    if title is not None:
        wrapped = textwrap.wrap(
            _clip(title, _TITLE_LIMIT), _TITLE_WIDTH, replace_whitespace=False
        ) or [""]
        text = "<br/>".join(_html(line) for line in wrapped)
        dot.graph_attr.update(label=f"<{text}>", labelloc="t", fontsize="14")

    # A value feeding many drawn ops: its first use gets the edge, later ones a dotted copy.
    uses = Counter(parent for node in order for parent in set(node.parents) if parent in labels)
    # Statements are written straight into the body with attribute text quoted once per
    # style: going through Digraph.node() for each of 10,000 nodes costs seconds.
    body = dot.body
    edge_colors: dict[Node, str] = {}
    first_use: dict[Node, Node] = {}
    cut_into: list[str] = []  # drawn ops (or nodes) with an input the cap left out
    for node in order:
        index = position[node]
        kind = _kind(node, root)
        if scale is not None:
            attrs, edge_colors[node] = _grad_attrs(
                magnitudes.get(node), kind, node in marked, scale
            )
        else:
            attrs = _VALUE_ATTRS[kind, node in marked]
        body.append(f"\tv{index} [label={labels[node]}{attrs}]\n")
        if not node.parents:
            continue
        target = f"v{index}"
        if show_op:
            target = f"op{index}"
            text = "<br/>".join(_html(line) for line in _op_lines(node))
            body.append(f"\t{target} [label=<{text}>{_OP_ATTRS}]\n")
        copies: dict[Node, str] = {}
        for parent, role in zip(node.parents, _operand_roles(node), strict=True):
            if drawn_set is not None and parent not in drawn_set:
                if not cut_into or cut_into[-1] != target:
                    cut_into.append(target)
                continue
            source = f"v{position[parent]}"
            if uses[parent] > _SHARED_USES and first_use.setdefault(parent, node) is not node:
                if parent not in copies:
                    copies[parent] = f"v{position[parent]}_in{index}"
                    body.append(_reuse_box(parent, copies[parent], scale, edge_colors))
                source = copies[parent]
            attributes = {"label": role} if role else {}
            if scale is not None:
                attributes.update(color=edge_colors[parent], penwidth="2")
            body.append(f"\t{source} -> {target}{_edge_attrs(attributes)}\n")
        if show_op:
            tail = {"color": edge_colors[node], "penwidth": "2"} if scale is not None else {}
            body.append(f"\t{target} -> v{index}{_edge_attrs(tail)}\n")
    if left_out:
        plural = "s" if left_out != 1 else ""
        caps = ", ".join(
            f"{name}={cap}"
            for name, cap in (("max_nodes", max_nodes), ("max_edges", max_edges))
            if cap is not None
        )
        note = f"{left_out} more node{plural} not drawn ({caps})"
        dot.node(_NOTE_ID, f"<{_html(note)}>", shape="note", style="filled", fillcolor="#fef9c3")
        for target in cut_into:
            dot.edge(_NOTE_ID, target, style="dashed")
    if scale is not None and scale.legend():
        body.extend(_legend(scale))
    return dot


def _edge_attrs(attributes: dict[str, str]) -> str:
    if not attributes:
        return ""
    return " [" + str(quoting.attr_list(kwargs=attributes))[2:-1] + "]"


def _reuse_box(node: Node, box: str, scale: _GradScale | None, colors: dict[Node, str]) -> str:
    text = node.name if node.name is not None else "value: " + format_array(node.value, True)
    label = f"<{_html(_clip(text, _NAME_LIMIT))}>"
    if scale is None or node.grad is None:
        return f"\t{box} [label={label}{_REUSE_ATTRS}]\n"
    return f"\t{box} [label={label}{_attribute_text({**_REUSE_STYLE, **_fill(colors[node])})}]\n"


# -- layout -------------------------------------------------------------------------------------


def _scripts_dirs() -> list[str]:
    """Where pip puts console programs for this Python, which may not be on PATH."""
    return [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]


def layout_program(engine: str | None = None) -> str:
    """The path of the Graphviz layout program that renders pictures.

    Without ``engine``, the system's ``dot`` when it is on PATH, else the ``graphviz-pure``
    program that ``pip install compgraph`` brings along (looked for on PATH and next to
    this Python, since a virtual environment's programs are often not on PATH).

    Args:
        engine: ``"dot"`` or ``"graphviz-pure"`` to insist on one, or ``None``.

    Returns:
        The program's path.

    Raises:
        ValueError: ``engine`` is not one of ``ENGINES``.
        RenderError: no such program is installed; says how to install one.

    Example:
        >>> from compgraph.pictures.drawing import layout_program
        >>> Path(layout_program("graphviz-pure")).name.startswith("graphviz-pure")
        True
    """
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES} or None (either), not {engine!r}")
    search = os.pathsep.join([os.environ.get("PATH", ""), *_scripts_dirs()])
    for name in ENGINES if engine is None else (engine,):
        path = shutil.which(name, path=search)
        if path is not None:
            return path
    wanted = "Graphviz's layout program" if engine is None else f"the {engine!r} program"
    raise RenderError(
        f"cannot draw: {wanted} is not installed. Install Graphviz (Debian/Ubuntu: "
        "`apt-get install graphviz`, macOS: `brew install graphviz`, conda: "
        "`conda install graphviz`) or the self-contained `pip install graphviz-pure`, "
        "then try again; to_dot(...).source gives the DOT text without it"
    )


def _memory_limiter(limit: int | None) -> Any:
    """A ``preexec_fn`` capping the child's address space at ``limit`` bytes (POSIX only)."""
    if limit is None or os.name != "posix":
        return None
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    return limit_memory


_OUT_OF_MEMORY = re.compile(
    r"out of memory|memory allocation|MemoryError|cannot allocate|bad_alloc|"
    r"failed to allocate|memory exhausted|"
    r"failed to map segment",  # the loader, when the limit leaves no room for a library
    re.IGNORECASE,
)
# SIGTRAP: GLib's g_error, e.g. when a thread cannot get its stack under the memory limit.
_CRASH_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGKILL", "SIGTRAP")


def _failure(
    name: str, fmt: str, returncode: int, stderr: bytes, memory_limit: int | None
) -> RenderError:
    """The RenderError for a layout program that exited with ``returncode``."""
    complaint = " / ".join(stderr.decode("utf-8", "replace").strip().splitlines()[-3:])
    limit = (
        f" (memory_limit={memory_limit:,} bytes, {memory_limit / 1024**3:.3g} GiB)"
        if memory_limit is not None
        else ""
    )
    advice = "draw fewer nodes (max_nodes=..., max_edges=...) or raise memory_limit"
    if _OUT_OF_MEMORY.search(complaint):
        return RenderError(
            f"{name} ran out of memory laying out the graph{limit}; {advice}: {complaint}"
        )
    if returncode < 0:
        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = f"signal {-returncode}"
        message = f"{name} crashed (killed by {signame}, exit status {returncode})"
        if memory_limit is not None and signame in _CRASH_SIGNALS:
            message += f"; it may have run out of the memory it is allowed{limit}: {advice}"
        others = [engine for engine in ENGINES if engine != name]
        if others:
            message += f"; or try engine={others[0]!r}"
        return RenderError(message + (f": {complaint}" if complaint else ""))
    return RenderError(
        f"{name} could not render the graph as {fmt!r} "
        f"(exit status {returncode}): {complaint or 'no message'}"
    )


def layout(
    source: str,
    format: str = "svg",  # noqa: A002 - Graphviz's own name for it
    *,
    engine: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> bytes:
    """Lay out DOT text with a Graphviz program and return the picture.

    Args:
        source: DOT text, such as ``to_dot(root).source``.
        format: a Graphviz output format: ``"svg"``, ``"png"``, ``"pdf"`` (system ``dot``
            only), ``"dot"`` (laid-out DOT), ...
        engine: ``"dot"`` or ``"graphviz-pure"``; ``None`` picks (see ``layout_program``).
        timeout: seconds the program may run.
        memory_limit: bytes of address space the program may use (POSIX; ``None``: no
            limit), so a huge graph fails with a message instead of exhausting the machine.

    Returns:
        The picture's bytes.

    Raises:
        ValueError: ``format`` is not a format name.
        RenderError: no layout program, or it failed, crashed, ran out of memory or time;
            the message says which option to change.

    Example:
        >>> from compgraph.pictures.drawing import layout
        >>> layout("digraph { a -> b }").lstrip().startswith(b"<?xml")
        True
    """
    program = layout_program(engine)
    name = Path(program).name
    if not re.fullmatch(r"[a-z0-9_.:-]+", format):
        raise ValueError(f"format must be a Graphviz output format such as 'svg', not {format!r}")
    try:
        done = subprocess.run(
            [program, f"-T{format}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
            preexec_fn=_memory_limiter(memory_limit),
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"{name} took more than {timeout:g} s to lay out the graph; draw fewer nodes "
            "(max_nodes=..., show_value=False) or allow more time with timeout=..."
        ) from None
    except OSError as error:  # not executable, a broken install, no memory to start it
        raise RenderError(f"cannot run {name} ({program}): {error}") from None
    if done.returncode != 0:
        raise _failure(name, format, done.returncode, done.stderr, memory_limit)
    return done.stdout


def to_svg(
    root: Node,
    *,
    engine: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    **options: Any,
) -> str:
    """The picture of ``root``'s graph as SVG text (well-formed XML).

    Args:
        root: the node to draw.
        engine: the layout program, ``"dot"`` or ``"graphviz-pure"``; ``None`` picks
            (see ``layout_program``).
        timeout: seconds to allow the layout program.
        memory_limit: bytes of memory to allow it (POSIX), or ``None``.
        **options: the drawing options of ``to_dot`` (``show_grad``, ``color_by``, ...).

    Returns:
        The SVG document.

    Raises:
        RenderError: no layout program, or it failed, ran out of memory or time.
        TypeError, ValueError: as ``to_dot``.

    Example:
        >>> import compgraph as cg
        >>> svg = cg.to_svg(cg.Node(2.0, name="w") * 3)
        >>> svg.lstrip().startswith("<?xml") and "w</text>" in svg
        True
    """
    source = to_dot(root, **options).source
    picture = layout(source, "svg", engine=engine, timeout=timeout, memory_limit=memory_limit)
    return picture.decode("utf-8")


def render(
    root: Node,
    path: str | os.PathLike[str],
    format: str = "svg",  # noqa: A002 - Graphviz's own name for it
    *,
    engine: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    **options: Any,
) -> Path:
    """Draw ``root``'s graph into the file ``path`` (SVG unless ``format`` says otherwise).

    The file is replaced atomically: if drawing or writing fails, an old file at ``path``
    keeps its content and no partial file is left behind.

    Args:
        root: the node to draw; call ``root.backward()`` first to show gradients.
        path: the file to write (replaced if it exists).
        format: a Graphviz output format: ``"svg"``, ``"png"``, ``"pdf"`` (system ``dot``
            only), ``"dot"`` (laid-out DOT), ...
        engine: the layout program, ``"dot"`` or ``"graphviz-pure"``; ``None`` picks
            (see ``layout_program``).
        timeout: seconds to allow the layout program.
        memory_limit: bytes of memory to allow it (POSIX), or ``None``.
        **options: the drawing options of ``to_dot`` (``show_grad``, ``color_by``, ...).

    Returns:
        ``path``, as a ``pathlib.Path``.

    Raises:
        RenderError: no layout program, or it failed (e.g. an unknown format), ran out of
            memory or time.
        OSError: the file cannot be written (the old one, if any, is left as it was).
        TypeError, ValueError: as ``to_dot``.

    Example:
        >>> import tempfile, compgraph as cg
        >>> w = cg.Node(2.0, name="w")
        >>> out = cg.render(w * w, Path(tempfile.mkdtemp()) / "square.svg")
        >>> out.name, out.read_text().count("<svg")
        ('square.svg', 1)
    """
    source = to_dot(root, **options).source
    picture = layout(source, format, engine=engine, timeout=timeout, memory_limit=memory_limit)
    path = Path(path)
    write_atomically(path, picture)
    return path


DISPLAY["svg"] = to_svg  # Jupyter shows a Node as its picture
