"""The graph as plain JSON data for other tools: ``to_json`` and its versioned ``SCHEMA``.

The document (schema ``"compgraph.graph/1"``) lists every node ``root`` depends on in
creation order, each with the id the pictures give it (``v0``, ``v1``, ... as in
``viz.to_dot``), its parents in operand order, shape, dtype, summaries of its value and
gradient, and the op's attrs made JSON-safe. JSON has no NaN or infinity, so non-finite
numbers are written as the strings ``"nan"``, ``"inf"`` and ``"-inf"``; a summary of an
empty array has ``null`` statistics.

``node_labels`` gives every node a stable, unique text label (its name, else its op's name
and its position in creation order), shared by the player and ``GradientFlow``.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from compgraph.files import write_atomically
from compgraph.graph import topological_order
from compgraph.node import Node

__all__ = [
    "DEFAULT_MAX_NODES",
    "NAME_LIMIT",
    "SCHEMA",
    "SCHEMA_ID",
    "gradient_array",
    "graph_data",
    "node_labels",
    "to_json",
]

#: The name and version of the document's format; a change that breaks readers bumps it.
SCHEMA_ID = "compgraph.graph/1"
#: The most nodes ``to_json`` writes by default: about 6 MB and 2 s (a picture draws 200).
DEFAULT_MAX_NODES = 10_000
#: Names longer than this many characters are written clipped, ending in "…".
NAME_LIMIT = 200

_NODE_FIELDS = (
    *("id", "position", "label", "name", "kind", "op", "parents", "requires_grad"),
    *("shape", "dtype", "value", "grad", "attrs"),
)
_NUMBER = {"anyOf": [{"type": "number"}, {"enum": ["nan", "inf", "-inf"]}]}
_STATISTIC = {"anyOf": [_NUMBER, {"type": "null"}]}
_SUMMARY = {
    "type": "object",
    "required": ["min", "mean", "max", "norm", "finite"],
    "properties": {
        "min": _STATISTIC,
        "mean": _STATISTIC,
        "max": _STATISTIC,
        "norm": _STATISTIC,
        "finite": {"type": "boolean"},
        "data": {"description": "the elements as nested lists (arrays up to max_data elements)"},
    },
    "additionalProperties": False,
}

#: JSON Schema (draft 2020-12) of what ``to_json`` writes.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "compgraph computation graph",
    "type": "object",
    "required": ["schema", "root", "nodes"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "left_out": {
            "description": "present when nodes were left out or names clipped; then parents "
            "may name nodes that are not listed",
            "type": "object",
            "required": ["nodes", "max_nodes", "clipped_names", "note"],
            "properties": {
                "nodes": {"type": "integer", "minimum": 0},
                "max_nodes": {"type": ["integer", "null"]},
                "clipped_names": {"type": "integer", "minimum": 0},
                "note": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "root": {"type": "string", "pattern": "^v[0-9]+$"},
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": list(_NODE_FIELDS),
                "properties": {
                    "id": {"type": "string", "pattern": "^v[0-9]+$"},
                    "position": {"type": "integer", "minimum": 0},
                    "label": {"type": "string"},
                    "name": {"type": ["string", "null"]},
                    "kind": {"enum": ["parameter", "constant", "intermediate", "output"]},
                    "op": {
                        "anyOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["name", "symbol", "roles"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "symbol": {"type": ["string", "null"]},
                                    "roles": {"type": "array", "items": {"type": "string"}},
                                },
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "parents": {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^v[0-9]+$"},
                    },
                    "requires_grad": {"type": "boolean"},
                    "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                    "dtype": {"type": "string"},
                    "value": _SUMMARY,
                    "grad": {"anyOf": [{"type": "null"}, _SUMMARY]},
                    "attrs": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

_NONFINITE = {math.inf: "inf", -math.inf: "-inf"}
_MAX_DEPTH = 32


def node_labels(nodes: list[Node]) -> dict[Node, str]:
    """A unique, stable text label for each of ``nodes`` (given in creation order).

    A node's label is its name; an unnamed op result is its op's name and its position,
    ``mul#3``; an unnamed leaf is ``leaf#0`` (or ``const#0`` if it needs no gradient). A
    label that would be used twice gets ``#position`` appended, so graphs built the same
    way always get the same labels.

    Args:
        nodes: the graph's nodes, e.g. ``graph.topological_order(root)``.

    Returns:
        A dict from node to label.

    Example:
        >>> import compgraph as cg
        >>> from compgraph.graph import topological_order
        >>> x = cg.Node(2.0, name="x")
        >>> list(node_labels(topological_order(x * x + 1)).values())
        ['x', 'mul#1', 'const#2', 'add#3']
    """
    labels = {}
    for position, node in enumerate(nodes):
        if node.name is not None:
            labels[node] = node.name
        elif node.op is not None:
            labels[node] = f"{node.op.name}#{position}"
        else:
            labels[node] = f"{'leaf' if node.requires_grad else 'const'}#{position}"
    positions = {node: position for position, node in enumerate(nodes)}
    while True:
        counts = Counter(labels.values())
        repeated = [node for node, label in labels.items() if counts[label] > 1]
        if not repeated:
            return labels
        for node in repeated:
            labels[node] = f"{labels[node]}#{positions[node]}"


def gradient_array(node: Node) -> np.ndarray | None:
    """``node.grad`` as an array (``None`` before backward).

    After ``backward(create_graph=True)`` a gradient is itself a Node: its value is taken.

    Example:
        >>> import compgraph as cg
        >>> x = cg.Node(3.0, name="x")
        >>> (x * x).backward(create_graph=True)
        >>> type(x.grad).__name__, float(gradient_array(x))
        ('Node', 6.0)
    """
    grad = node.grad
    if grad is None:
        return None
    return np.asarray(grad.value if isinstance(grad, Node) else grad)


def _number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else _NONFINITE[value]


def _elements(array: np.ndarray) -> Any:
    """``array.tolist()`` with NaN and infinities as strings."""
    if array.dtype.kind != "f":
        return array.tolist()
    finite = np.isfinite(array)
    if finite.all():
        return array.tolist()
    boxed = array.astype(object)
    boxed[~finite] = [_number(float(x)) for x in array[~finite]]
    return boxed.tolist()


def _summary(array: np.ndarray, max_data: int | None) -> dict[str, Any]:
    """min, mean, max, L2 norm and finiteness of ``array``, plus its elements if small."""
    array = np.asarray(array, dtype=np.float64)
    summary: dict[str, Any] = {"min": None, "mean": None, "max": None, "norm": None}
    finite = bool(np.isfinite(array).all())
    if array.size:
        with np.errstate(all="ignore"):
            low, high = float(array.min()), float(array.max())
            # Scaled by the largest magnitude, so 1e308s neither overflow to inf in the sum
            # of the mean nor in the squares of the norm.
            scale = max(abs(low), abs(high))
            if finite and scale > 0:
                mean = float(np.mean(array / scale)) * scale
                norm = float(np.linalg.norm((array / scale).ravel())) * scale
            else:
                mean = float(np.mean(array))
                norm = float(np.linalg.norm(array.ravel()))
        summary = {"min": _number(low), "mean": _number(mean), "max": _number(high)}
        summary["norm"] = _number(norm)
    summary["finite"] = finite
    if max_data is None or array.size <= max_data:
        summary["data"] = _elements(array)
    return summary


def _json_safe(value: Any, max_data: int | None) -> Any:
    """``value`` (an op attr) as JSON data, built with an explicit stack (no recursion).

    Tuples and lists become lists, slices ``{"slice": [start, stop, step]}``, ``...``
    ``{"ellipsis": true}``, arrays ``{"array": elements, "shape": ..., "dtype": ...}``
    (elements ``null`` past ``max_data``), containers nested deeper than 32 levels and
    anything else ``{"repr": text}``.
    """
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, holder, 0, 0)]
    result: Any  # JSON data: null, a boolean, number or string, a list or an object
    while stack:
        item, container, key, depth = stack.pop()
        if depth > _MAX_DEPTH and isinstance(item, (tuple, list, dict)):
            # json.dumps and every reader recurse: a deeper document could not be read back.
            result = {"repr": f"<{type(item).__name__} nested deeper than {_MAX_DEPTH} levels>"}
        elif item is None or isinstance(item, (bool, str)):
            result = item
        elif isinstance(item, (int, np.integer)) and not isinstance(item, np.bool_):
            result = int(item)
        elif isinstance(item, np.bool_):
            result = bool(item)
        elif isinstance(item, (float, np.floating)):
            result = _number(float(item))
        elif isinstance(item, (tuple, list)):
            result = [None] * len(item)
            stack.extend((element, result, i, depth + 1) for i, element in enumerate(item))
        elif isinstance(item, dict):
            result = dict.fromkeys(map(str, item))  # keeps the attrs' order
            stack.extend((element, result, str(k), depth + 1) for k, element in item.items())
        elif isinstance(item, slice):
            result = {"slice": [None] * 3}
            stack.extend(
                (part, result["slice"], i, depth + 1)
                for i, part in enumerate((item.start, item.stop, item.step))
            )
        elif item is Ellipsis:
            result = {"ellipsis": True}
        elif isinstance(item, np.ndarray):
            small = max_data is None or item.size <= max_data
            result = {
                "array": _elements(item) if small else None,
                "shape": list(item.shape),
                "dtype": str(item.dtype),
            }
        else:
            result = {"repr": repr(item)[:200]}
        container[key] = result
    return holder[0]


def _kind(node: Node, root: Node) -> str:
    if node is root:
        return "output"
    if node.parents:
        return "intermediate"
    return "parameter" if node.requires_grad else "constant"


def _nearest(root: Node, limit: int) -> set[Node]:
    """Up to ``limit`` nodes nearest ``root``, breadth first over parents (as pictures cut)."""
    chosen = {root}
    queue = [root]
    for node in queue:  # grows while it is read: a breadth-first walk without recursion
        for parent in node.parents:
            if len(chosen) >= limit:
                return chosen
            if parent not in chosen:
                chosen.add(parent)
                queue.append(parent)
    return chosen


def _clip(name: str | None) -> str | None:
    if name is None or len(name) <= NAME_LIMIT:
        return name
    return name[:NAME_LIMIT] + "…"


def graph_data(
    root: Node, *, max_data: int | None = 100, max_nodes: int | None = DEFAULT_MAX_NODES
) -> dict[str, Any]:
    """The document ``to_json`` writes, as a dict (see ``SCHEMA``).

    Args:
        root: the node whose graph to describe.
        max_data: values, gradients and array attrs with at most this many elements also
            list their elements (``"data"``); ``None`` lists them all.
        max_nodes: list at most this many nodes, those nearest ``root`` (as the pictures
            do), and say in ``"left_out"`` how many were not; ``None``: all of them.

    Returns:
        ``{"schema": "compgraph.graph/1", "root": id, "nodes": [...]}``, nodes in creation
        order.

    Raises:
        TypeError: ``root`` is not a Node.
        ValueError: ``max_data`` is negative or not an int, or ``max_nodes`` is not a
            positive int or None.

    Example:
        >>> import compgraph as cg
        >>> a, b = cg.Node(5.0, name="a"), cg.Node(3.0, name="b")
        >>> doc = graph_data(a * b)
        >>> [(n["id"], n["label"], n["parents"]) for n in doc["nodes"]]
        [('v0', 'a', []), ('v1', 'b', []), ('v2', 'mul#2', ['v0', 'v1'])]
    """
    if not isinstance(root, Node):
        raise TypeError(f"to_json takes the root Node of a graph, got {type(root).__name__}")
    if max_data is not None and (
        isinstance(max_data, bool) or not isinstance(max_data, int) or max_data < 0
    ):
        raise ValueError(
            f"to_json: max_data must be a non-negative int (or None for all), got {max_data!r}"
        )
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"to_json: max_nodes must be a positive int or None, got {max_nodes!r}")
    order = topological_order(root)
    # Ids and labels are those of the whole graph, so they match the pictures' when cut.
    ids = {node: f"v{position}" for position, node in enumerate(order)}
    labels = node_labels(order)
    kept = None
    if max_nodes is not None and len(order) > max_nodes:
        kept = _nearest(root, max_nodes)
    nodes = []
    clipped = 0
    for position, node in enumerate(order):
        if kept is not None and node not in kept:
            continue
        op, grad = node.op, gradient_array(node)
        clipped += _clip(node.name) != node.name
        nodes.append(
            {
                "id": ids[node],
                "position": position,
                "label": _clip(labels[node]),
                "name": _clip(node.name),
                "kind": _kind(node, root),
                "op": None
                if op is None
                else {"name": op.name, "symbol": op.symbol, "roles": list(op.roles)},
                "parents": [ids[parent] for parent in node.parents],
                "requires_grad": bool(node.requires_grad),
                "shape": list(node.value.shape),
                "dtype": str(node.value.dtype),
                "value": _summary(node.value, max_data),
                "grad": None if grad is None else _summary(grad, max_data),
                "attrs": _json_safe(dict(node.attrs), max_data),
            }
        )
    document: dict[str, Any] = {"schema": SCHEMA_ID, "root": ids[root], "nodes": nodes}
    if kept is not None or clipped:
        left = len(order) - len(nodes)
        note = f"{left} of {len(order)} nodes left out (max_nodes={max_nodes}): those farthest "
        note += "from the root; parents may name them. Pass max_nodes=None for all"
        if not left:
            note = f"names longer than {NAME_LIMIT} characters clipped"
        elif clipped:
            note += f"; names longer than {NAME_LIMIT} characters clipped"
        document["left_out"] = {
            "nodes": left,
            "max_nodes": max_nodes,
            "clipped_names": clipped,
            "note": note,
        }
    return document


def to_json(
    root: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    indent: int | None = 2,
    max_data: int | None = 100,
    max_nodes: int | None = DEFAULT_MAX_NODES,
) -> str | Path:
    """The graph of ``root`` as a JSON document for other tools (schema ``compgraph.graph/1``).

    Each node has its picture's ``id`` (``v0``, ...), ``position`` in creation order, a
    unique ``label``, ``name``, ``kind``, ``op`` (name, symbol, roles), ``parents`` (ids in
    operand order), ``requires_grad``, ``shape``, ``dtype``, ``value`` and ``grad``
    summaries (min, mean, max, L2 norm, finite, and the elements of small arrays) and
    ``attrs``. NaN and infinities are written ``"nan"``, ``"inf"``, ``"-inf"``.

    Args:
        root: the node whose graph to export; call ``backward()`` first for gradients.
        path: a file to write (atomically); ``None`` returns the text instead.
        indent: passed to ``json.dumps``; ``None`` writes one line.
        max_data: list elements of arrays with at most this many (``None``: all).
        max_nodes: write at most this many nodes, those nearest ``root``, as the pictures
            draw them, with a ``"left_out"`` note of how many were not (``None``: all).
            Names are clipped to ``NAME_LIMIT`` characters, which the note counts too.

    Returns:
        The JSON text, or ``path`` as a ``pathlib.Path`` when one is given.

    Raises:
        TypeError: ``root`` is not a Node.
        ValueError: ``max_data`` is not a non-negative int or None, or ``max_nodes`` is
            not a positive int or None.
        OSError: ``path`` cannot be written.

    Example:
        >>> import json, compgraph as cg
        >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
        >>> J = 3 * (a + b * c)
        >>> J.backward()
        >>> doc = json.loads(cg.to_json(J))
        >>> doc["schema"], [n["grad"]["data"] for n in doc["nodes"] if n["kind"] == "parameter"]
        ('compgraph.graph/1', [3.0, 6.0, 9.0])
    """
    document = graph_data(root, max_data=max_data, max_nodes=max_nodes)
    text = json.dumps(document, indent=indent, allow_nan=False)
    if path is None:
        return text
    return write_atomically(path, text + "\n")
