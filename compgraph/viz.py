"""Pictures of computation graphs: DOT text (via the ``graphviz`` package) and SVG.

Every node reachable from the root becomes a box showing its name, shape and dtype, value
and gradient; every op becomes a small oval between its inputs and its output, with the
inputs' roles written on the edges when order matters (``x − y`` is not ``y − x``).

Legend:

* blue filled box: a parameter (a leaf that requires a gradient);
* grey dashed box: a constant (data such as X, or a number in a formula);
* white box: an intermediate result;  green bold box: the output (the root);
* amber oval: an op;  red border: a highlighted node;  red text: a gradient;
* yellow note: how many nodes a size cap left out (dashed arrows mark where they attach).

DOT ids come from each node's position in ``graph.topological_order``, never from ``id()``,
so the same program always gives byte-identical DOT. Only public ``Node`` fields are read.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections import deque
from functools import cache
from pathlib import Path
from typing import Any, Literal

import graphviz
import numpy as np
from graphviz import quoting

from compgraph import ops
from compgraph.errors import RenderError
from compgraph.graph import topological_order
from compgraph.node import Node

__all__ = ["ENGINES", "format_array", "layout_program", "render", "to_dot", "to_svg"]

#: Graphviz layout programs ``render`` can run, in the order it looks for them.
ENGINES: tuple[str, ...] = ("dot", "graphviz-pure")

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


def _attribute_text(style: dict[str, str]) -> str:
    """`` key="value" ...`` quoted by graphviz, to follow a node's label."""
    return " " + quoting.attr_list(kwargs=style)[2:-1]


_VALUE_ATTRS = {
    (kind, marked): _attribute_text({**style, **(_HIGHLIGHT_STYLE if marked else {})})
    for kind, style in _VALUE_STYLES.items()
    for marked in (False, True)
}
_OP_ATTRS = _attribute_text(_OP_STYLE)
_NOTE_ID = "more"
_BIG = 100  # value nodes from which layout effort is bounded

_OP_SYMBOLS: dict[type[ops.Op], str] = {
    ops.Add: "+",
    ops.Sub: "−",
    ops.Neg: "−",
    ops.Mul: "×",
    ops.Div: "÷",
    ops.Pow: "^",
    ops.Matmul: "@",
    ops.Sigmoid: "σ",
    # The lesson's a = σ(z) and L(a, y), fused into one op: drawn so it still reads that way.
    ops.SigmoidCrossEntropy: "L(σ(z), y)",
}
# Swapping the operands of these changes nothing, so their edges need no role labels.
_COMMUTATIVE = (ops.Add, ops.Mul)

_SMALL_ARRAY = 12
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


def _html(text: str) -> str:
    """``text`` as literal text inside a Graphviz HTML-like label (no markup passes)."""
    text = _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)
    return _HTML_SPECIAL.sub(lambda match: _HTML_ESCAPES[match.group()], text)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _row(values: list[float], indent: str = " ") -> str:
    """``[1, 2.5, 3]``, wrapped after every 6 numbers."""
    chunks = [", ".join(map(_number, values[i : i + 6])) for i in range(0, len(values), 6)]
    return "[" + (",\n" + indent).join(chunks) + "]"


def format_array(array: np.ndarray, with_shape: bool = False) -> str:
    """A short readable text for an array: scalars as numbers, small arrays in full.

    Arrays of more than 12 elements are summarised by their minimum, mean and maximum.

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
    with np.errstate(all="ignore"):
        low, mean, high = array.min(), array.mean(), array.max()
    shape = f"{array.shape} " if with_shape else ""
    return f"{shape}min {_number(low)}, mean {_number(mean)}, max {_number(high)}"


def _kind(node: Node, root: Node) -> str:
    if node is root:
        return "output"
    if node.parents:
        return "intermediate"
    return "parameter" if node.requires_grad else "constant"


def _value_label(node: Node, parts: dict[str, Any]) -> str:
    lines = []
    if parts["name"] and node.name is not None:
        lines.append(f"<b>{_html(node.name)}</b>")
    shape_shown = parts["shape"] is True or (
        parts["shape"] == "auto" and (node.value.ndim > 0 or node.value.dtype != np.float64)
    )
    if shape_shown:
        shape = "scalar" if node.value.ndim == 0 else str(node.value.shape)
        lines.append(f"{shape} {node.value.dtype}")
    if parts["value"]:
        lines.append(_html("value: " + format_array(node.value, not shape_shown)))
    if parts["grad"] and node.grad is not None:
        # After backward(create_graph=True) a gradient is a Node: show its value.
        value = node.grad.value if isinstance(node.grad, Node) else node.grad
        grad = _html("grad: " + format_array(value, not shape_shown))
        lines.append(f'<font color="{_GRAD_COLOR}">{grad}</font>')
    # Every line ends left-aligned, so the rows of a printed matrix line up.
    return "<" + "".join(line + '<br align="left"/>' for line in lines) + ">"


def _op_label(node: Node) -> str:
    op = node.op
    text = _OP_SYMBOLS.get(op, op.name)
    settings = [
        f"{key}={value!r}"
        for key, value in node.attrs.items()
        if value is not None and value is not False
    ]
    return "<" + "<br/>".join(_html(line[:60]) for line in [text, *settings]) + ">"


@cache
def _operand_roles(op: type[ops.Op], count: int) -> tuple[str, ...]:
    """Edge labels for an op's inputs: blank if order cannot matter, else forward's names."""
    if count < 2 or op in _COMMUTATIVE:
        return ("",) * count
    try:
        parameters = list(inspect.signature(op.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return tuple(names[:count]) if len(names) >= count else tuple(map(str, range(count)))


def _nearest(root: Node, limit: int) -> set[Node]:
    """The ``limit`` nodes closest to ``root`` (breadth-first over parents, in operand order)."""
    chosen = {root}
    queue = deque([root])
    while queue and len(chosen) < limit:
        for parent in queue.popleft().parents:
            if parent not in chosen:
                chosen.add(parent)
                queue.append(parent)
                if len(chosen) == limit:
                    break
    return chosen


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


def _check_options(root: Any, parts: dict[str, Any], rankdir: str, max_nodes: Any) -> None:
    if not isinstance(root, Node):
        raise TypeError(f"to_dot takes the root Node of a graph, got {type(root).__name__}")
    for part, flag in parts.items():
        if not isinstance(flag, bool) and not (part == "shape" and flag == "auto"):
            allowed = 'True, False or "auto"' if part == "shape" else "True or False"
            raise ValueError(f"show_{part} must be {allowed}, got {flag!r}")
    if rankdir not in ("LR", "TB"):
        raise ValueError(
            f'rankdir must be "LR" (left to right) or "TB" (top down), not {rankdir!r}'
        )
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"max_nodes must be a positive int or None (no cap), got {max_nodes!r}")


def to_dot(
    root: Node,
    *,
    show_name: bool = True,
    show_op: bool = True,
    show_shape: bool | Literal["auto"] = "auto",
    show_value: bool = True,
    show_grad: bool = True,
    rankdir: Literal["LR", "TB"] = "LR",
    max_nodes: int | None = 200,
    highlight: Any = None,
    title: str | None = None,
) -> graphviz.Digraph:
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
        rankdir: ``"LR"`` lays the graph out left to right, ``"TB"`` top to bottom.
        max_nodes: draw at most this many value nodes, those nearest the root, and a note
            saying how many were left out; ``None`` draws everything.
        highlight: nodes to draw with a red border: a Node, an object with a ``.node``
            attribute (such as a gradient-check report), or an iterable of these. Nodes
            outside the drawn graph are ignored.
        title: a caption written above the graph.

    Returns:
        A ``graphviz.Digraph``; its ``.source`` is the DOT text.

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
        ['v0 -> op2 [label=x]', 'v1 -> op2 [label=y]', 'op2 -> v2']
        >>> "grad: -1" in dot.source  # dJ/db
        True
    """
    parts = {
        "name": show_name,
        "shape": show_shape,
        "value": show_value,
        "grad": show_grad,
    }
    _check_options(root, {**parts, "op": show_op}, rankdir, max_nodes)
    marked = _highlighted(highlight)
    everything = topological_order(root)
    position = {node: index for index, node in enumerate(everything)}
    order = everything
    if max_nodes is not None and len(everything) > max_nodes:
        drawn = _nearest(root, max_nodes)
        order = [node for node in everything if node in drawn]
    left_out = len(everything) - len(order)

    dot = graphviz.Digraph(
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
        dot.graph_attr.update(label=f"<{_html(title)}>", labelloc="t", fontsize="14")
    # Statements are written straight into the body with attribute text quoted once per
    # style: going through Digraph.node() for each of 10,000 nodes costs seconds.
    body = dot.body
    cut_into: list[str] = []  # drawn ops (or nodes) with an input the cap left out
    for node in order:
        index = position[node]
        attrs = _VALUE_ATTRS[_kind(node, root), node in marked]
        body.append(f"\tv{index} [label={_value_label(node, parts)}{attrs}]\n")
        if not node.parents:
            continue
        target = f"v{index}"
        if show_op:
            target = f"op{index}"
            body.append(f"\t{target} [label={_op_label(node)}{_OP_ATTRS}]\n")
        roles = _operand_roles(node.op, len(node.parents))
        for parent, role in zip(node.parents, roles, strict=True):
            if left_out and parent not in drawn:
                if not cut_into or cut_into[-1] != target:
                    cut_into.append(target)
                continue
            label = f" [label={quoting.quote(role)}]" if role else ""
            body.append(f"\tv{position[parent]} -> {target}{label}\n")
        if show_op:
            body.append(f"\t{target} -> v{index}\n")
    if left_out:
        plural = "s" if left_out != 1 else ""
        note = f"{left_out} more node{plural} not drawn (max_nodes={max_nodes})"
        dot.node(_NOTE_ID, f"<{_html(note)}>", shape="note", style="filled", fillcolor="#fef9c3")
        for target in cut_into:
            dot.edge(_NOTE_ID, target, style="dashed")
    return dot


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
        >>> from compgraph.viz import layout_program
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


def _run_layout(source: str, fmt: str, engine: str | None, timeout: float) -> bytes:
    program = layout_program(engine)
    if not re.fullmatch(r"[a-z0-9_.:-]+", fmt):
        raise ValueError(f"format must be a Graphviz output format such as 'svg', not {fmt!r}")
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"{Path(program).name} took more than {timeout:g} s to lay out the graph; "
            "draw fewer nodes (max_nodes=...) or raise timeout"
        ) from None
    if done.returncode != 0:
        complaint = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"{Path(program).name} could not render the graph as {fmt!r} "
            f"(exit status {done.returncode}): {' / '.join(complaint[-3:]) or 'no message'}"
        )
    return done.stdout


def to_svg(root: Node, *, engine: str | None = None, timeout: float = 120, **options: Any) -> str:
    """The picture of ``root``'s graph as SVG text (well-formed XML).

    Args:
        root: the node to draw.
        engine: the layout program, ``"dot"`` or ``"graphviz-pure"``; ``None`` picks
            (see ``layout_program``).
        timeout: seconds to allow the layout program.
        **options: the drawing options of ``to_dot`` (``show_grad``, ``rankdir``, ...).

    Returns:
        The SVG document.

    Raises:
        RenderError: no layout program, or it failed or timed out.
        TypeError, ValueError: as ``to_dot``.

    Example:
        >>> import compgraph as cg
        >>> svg = cg.to_svg(cg.Node(2.0, name="w") * 3)
        >>> svg.lstrip().startswith("<?xml") and "w</text>" in svg
        True
    """
    source = to_dot(root, **options).source
    return _run_layout(source, "svg", engine, timeout).decode("utf-8")


def render(
    root: Node,
    path: str | os.PathLike[str],
    format: str = "svg",  # noqa: A002 - Graphviz's own name for it
    *,
    engine: str | None = None,
    timeout: float = 120,
    **options: Any,
) -> Path:
    """Draw ``root``'s graph into the file ``path`` (SVG unless ``format`` says otherwise).

    Args:
        root: the node to draw; call ``root.backward()`` first to show gradients.
        path: the file to write (replaced if it exists).
        format: a Graphviz output format: ``"svg"``, ``"png"``, ``"pdf"`` (system ``dot``
            only), ``"dot"`` (laid-out DOT), ...
        engine: the layout program, ``"dot"`` or ``"graphviz-pure"``; ``None`` picks
            (see ``layout_program``).
        timeout: seconds to allow the layout program.
        **options: the drawing options of ``to_dot`` (``show_grad``, ``rankdir``, ...).

    Returns:
        ``path``, as a ``pathlib.Path``.

    Raises:
        RenderError: no layout program, or it failed (e.g. an unknown format) or timed out.
        TypeError, ValueError: as ``to_dot``.

    Example:
        >>> import tempfile, compgraph as cg
        >>> w = cg.Node(2.0, name="w")
        >>> out = cg.render(w * w, Path(tempfile.mkdtemp()) / "square.svg")
        >>> out.name, out.read_text().count("<svg")
        ('square.svg', 1)
    """
    source = to_dot(root, **options).source
    picture = _run_layout(source, format, engine, timeout)
    path = Path(path)
    path.write_bytes(picture)
    return path
