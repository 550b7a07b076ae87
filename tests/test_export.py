"""cg.to_json: the documented schema, the picture's node set, JSON-safe numbers and attrs."""

import json
import math
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings

import compgraph as cg
from compgraph.checks.testing import graphs
from compgraph.graph import topological_order
from compgraph.pictures import export

try:
    import jsonschema
except ImportError:  # the tiny validator below covers the keywords SCHEMA uses
    jsonschema = None

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _has_type(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def errors(schema, document):
    """What is wrong with ``document`` under ``schema`` (the keywords SCHEMA uses), by path."""
    found = []
    stack = [(schema, document, "$")]
    while stack:
        rule, value, where = stack.pop()
        if "anyOf" in rule and all(errors(option, value) for option in rule["anyOf"]):
            found.append(f"{where}: matches none of anyOf")
        if "const" in rule and value != rule["const"]:
            found.append(f"{where}: {value!r} is not {rule['const']!r}")
        if "enum" in rule and value not in rule["enum"]:
            found.append(f"{where}: {value!r} not in {rule['enum']}")
        if "type" in rule:
            names = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
            if not any(_has_type(value, name) for name in names):
                found.append(f"{where}: {value!r:.40} is not of type {names}")
                continue
        if "pattern" in rule and isinstance(value, str) and not re.search(rule["pattern"], value):
            found.append(f"{where}: {value!r} does not match {rule['pattern']}")
        if "minimum" in rule and _has_type(value, "number") and value < rule["minimum"]:
            found.append(f"{where}: {value} < {rule['minimum']}")
        if isinstance(value, dict):
            found += [
                f"{where}: missing {key!r}" for key in rule.get("required", []) if key not in value
            ]
            properties = rule.get("properties", {})
            for key, item in value.items():
                if key in properties:
                    stack.append((properties[key], item, f"{where}.{key}"))
                elif rule.get("additionalProperties") is False:
                    found.append(f"{where}: unexpected {key!r}")
        if isinstance(value, list) and "items" in rule:
            stack.extend((rule["items"], item, f"{where}[{i}]") for i, item in enumerate(value))
    return found


def assert_valid(document):
    assert errors(export.SCHEMA, document) == []
    if jsonschema is not None:
        jsonschema.validate(document, export.SCHEMA)


def strict_loads(text):
    """json.loads refusing NaN and Infinity, which are not JSON."""

    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def lecture_graph():
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    J = 3 * (a + b * c)
    J.name = "J"
    return J


# -- the validator itself ---------------------------------------------------------------------


def test_the_validator_catches_what_the_schema_forbids():
    J = lecture_graph()
    good = strict_loads(cg.to_json(J))
    assert errors(export.SCHEMA, good) == []
    bad = strict_loads(cg.to_json(J))
    bad["schema"] = "compgraph.graph/2"
    del bad["nodes"][0]["dtype"]
    bad["nodes"][1]["kind"] = "weight"
    bad["nodes"][2]["parents"] = [0]
    bad["nodes"][3]["value"]["min"] = "NaN"
    bad["nodes"][4]["extra"] = 1
    bad["nodes"][5]["position"] = -1
    assert sorted(errors(export.SCHEMA, bad)) == sorted(
        [
            "$.schema: 'compgraph.graph/2' is not 'compgraph.graph/1'",
            "$.nodes[0]: missing 'dtype'",
            "$.nodes[1].kind: 'weight' not in ['parameter', 'constant', 'intermediate', 'output']",
            "$.nodes[2].parents[0]: 0 is not of type ['string']",
            "$.nodes[3].value.min: matches none of anyOf",
            "$.nodes[4]: unexpected 'extra'",
            "$.nodes[5].position: -1 < 0",
        ]
    )


# -- the document -----------------------------------------------------------------------------


def test_the_lecture_graph():
    J = lecture_graph()
    J.backward()
    document = strict_loads(cg.to_json(J))
    assert_valid(document)
    assert document["schema"] == "compgraph.graph/1" == export.SCHEMA_ID
    assert document["root"] == "v6"
    rows = [
        (n["id"], n["label"], n["kind"], n["op"] and n["op"]["name"], n["parents"])
        for n in document["nodes"]
    ]
    assert rows == [
        ("v0", "a", "parameter", None, []),
        ("v1", "b", "parameter", None, []),
        ("v2", "c", "parameter", None, []),
        ("v3", "mul#3", "intermediate", "mul", ["v1", "v2"]),
        ("v4", "add#4", "intermediate", "add", ["v0", "v3"]),
        ("v5", "const#5", "constant", None, []),
        ("v6", "J", "output", "mul", ["v5", "v4"]),
    ]
    values = [n["value"]["data"] for n in document["nodes"]]
    grads = [n["grad"] and n["grad"]["data"] for n in document["nodes"]]
    assert values == [5.0, 3.0, 2.0, 6.0, 11.0, 3.0, 33.0]
    assert grads == [3.0, 6.0, 9.0, 3.0, 3.0, None, 1.0]
    assert document["nodes"][3]["op"] == {"name": "mul", "symbol": "×", "roles": []}
    assert document["nodes"][0]["value"] == {
        "min": 5.0, "mean": 5.0, "max": 5.0, "norm": 5.0, "finite": True, "data": 5.0
    }  # fmt: skip


def dot_nodes_and_edges(root, **options):
    """The value boxes and edges of the picture, a shared value's dotted copies (``v0_in5``,
    drawn for its later uses) counted as the value itself."""
    source = cg.to_dot(root, show_op=False, max_edges=None, **options).source
    nodes = dict(re.findall(r"^\t(v\d+) \[label=<(.*?)> ", source, re.M))
    edges = re.findall(r"^\t(v\d+)(?:_in\d+)? -> (v\d+)", source, re.M)
    return nodes, edges


def fan_out_graph():
    x = cg.Node(1.5, name="x")
    y = x
    for _ in range(6):  # x feeds 6 ops: the picture draws it once, plus dotted copies
        y = y * x
    return y


@pytest.mark.parametrize("build", [lecture_graph, fan_out_graph])
def test_the_node_set_is_the_pictures_for_shared_values_too(build):
    root = build()
    document = strict_loads(cg.to_json(root))
    nodes, edges = dot_nodes_and_edges(root)
    assert [n["id"] for n in document["nodes"]] == list(nodes)
    assert sorted((p, n["id"]) for n in document["nodes"] for p in n["parents"]) == sorted(edges)


@settings(max_examples=30)
@given(graphs(ops=["add", "mul", "pow", "sigmoid", "matmul", "sum", "getitem", "reshape"]))
def test_the_node_set_is_the_pictures(graph):
    """Round trip: the ids, edges and names of the export are those of viz.to_dot."""
    out, _ = graph.build()
    for node in topological_order(out)[::2]:
        node.name = f"n{node.id % 97}"
    document = strict_loads(cg.to_json(out))
    assert_valid(document)
    nodes, edges = dot_nodes_and_edges(out, max_nodes=None)
    assert [n["id"] for n in document["nodes"]] == list(nodes)
    exported_edges = [(parent, n["id"]) for n in document["nodes"] for parent in n["parents"]]
    assert sorted(exported_edges) == sorted(edges)
    for entry in document["nodes"]:
        label = nodes[entry["id"]]
        if entry["name"] is None:
            assert "<b>" not in label
        else:
            assert label.startswith(f"<b>{entry['name']}</b>")


def test_non_finite_numbers_are_strings(recwarn):
    x = cg.Node([1.0, np.inf, -np.inf, np.nan], name="x", requires_grad=False)
    text = cg.to_json(x)
    document = strict_loads(text)
    assert_valid(document)
    value = document["nodes"][0]["value"]
    assert value["data"] == [1.0, "inf", "-inf", "nan"]
    assert value["finite"] is False and value["min"] == "nan" and value["norm"] == "nan"
    assert "NaN" not in text and "Infinity" not in text


def test_huge_values_summarise_without_overflow():
    x = cg.Node(np.full(20, 1e308), name="x", requires_grad=False)
    y = cg.Node(np.full(20, 1e200), name="y", requires_grad=False)
    x_value = strict_loads(cg.to_json(x, max_data=0))["nodes"][0]["value"]
    y_value = strict_loads(cg.to_json(y))["nodes"][0]["value"]
    assert x_value["mean"] == pytest.approx(1e308, rel=1e-12)
    assert y_value["norm"] == pytest.approx(math.sqrt(20) * 1e200, rel=1e-12)
    assert "data" not in x_value and y_value["data"] == [1e200] * 20


def test_empty_arrays_have_null_statistics():
    x = cg.Node(np.zeros((0, 3)), name="x", requires_grad=False)
    document = strict_loads(cg.to_json(x))
    assert_valid(document)
    assert document["nodes"][0]["value"] == {
        "min": None, "mean": None, "max": None, "norm": None, "finite": True, "data": []
    }  # fmt: skip
    assert document["nodes"][0]["shape"] == [0, 3]


def test_max_data_limits_the_listed_elements():
    x = cg.Node(np.arange(12.0).reshape(3, 4), name="x")
    J = cg.sum(x * 2)
    J.backward()
    small = strict_loads(cg.to_json(J, max_data=11))["nodes"][0]
    assert "data" not in small["value"] and "data" not in small["grad"]
    full = strict_loads(cg.to_json(J, max_data=None))["nodes"][0]
    assert full["value"]["data"] == np.arange(12.0).reshape(3, 4).tolist()
    assert full["grad"]["data"] == [[2.0] * 4] * 3
    assert full["shape"] == [3, 4] and full["dtype"] == "float64"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_max_data_is_refused(bad):
    with pytest.raises(ValueError, match="to_json: max_data must be a non-negative int"):
        cg.to_json(cg.Node(1.0), max_data=bad)


def test_not_a_node_is_refused():
    with pytest.raises(TypeError, match="to_json takes the root Node of a graph, got list"):
        cg.to_json([1.0])


def test_attrs_are_json_safe():
    x = cg.Node(np.arange(12.0).reshape(3, 4), name="x")
    picked = x[1:, [0, 0, 3]]
    total = cg.sum(picked, axis=(0, 1), keepdims=True)
    masked = cg.sum(x[x.value > 5])
    document = strict_loads(cg.to_json(cg.sum(total) + masked))
    assert_valid(document)
    attrs = {n["label"]: n["attrs"] for n in document["nodes"] if n["attrs"]}
    index = attrs["getitem#1"]["index"]
    assert index[0] == {"slice": [1, None, None]}
    assert index[1] == {"array": [0, 0, 3], "shape": [3], "dtype": "int64"}
    assert list(attrs["sum#2"].items()) == list({"axis": [0, 1], "keepdims": True}.items())
    (mask,) = attrs["getitem#3"]["index"]
    assert mask["dtype"] == "bool" and mask["shape"] == [3, 4]
    assert mask["array"] == (np.arange(12.0).reshape(3, 4) > 5).tolist()


def test_odd_attrs_are_converted_without_recursion():
    class Tagged(cg.Op):
        @staticmethod
        def forward(x, tag=None):
            return x

        @staticmethod
        def vjp(g, out, x, tag=None):
            return (g,)

    deep = "bottom"
    for _ in range(5000):  # far past Python's recursion limit
        deep = (deep,)
    y = cg.apply(
        Tagged,
        cg.Node(1.0, name="x"),
        tag={"deep": deep, "what": Ellipsis, 3: object, "f": np.float32(0.5), "n": float("nan")},
    )
    attrs = strict_loads(cg.to_json(y))["nodes"][1]["attrs"]["tag"]
    depth, item = 0, attrs["deep"]
    while isinstance(item, list):
        depth, item = depth + 1, item[0]
    # Bounded, as json.dumps and readers recurse: the rest is described, not nested.
    # Levels 0 and 1 are the attrs and tag dicts, 2 to 32 the first 31 tuples.
    assert depth == 31 and item == {"repr": "<tuple nested deeper than 32 levels>"}
    assert attrs["what"] == {"ellipsis": True}
    assert attrs["3"] == {"repr": "<class 'object'>"}
    assert attrs["f"] == 0.5 and attrs["n"] == "nan"


def test_a_long_chain_exports_without_recursion():
    x = cg.Node(1.0, name="x")
    y = x
    for _ in range(3000):
        y = y + 1.0
    document = strict_loads(cg.to_json(y, indent=None))
    assert len(document["nodes"]) == 6001 and document["root"] == "v6000"


# -- labels -----------------------------------------------------------------------------------


def test_labels_are_unique_and_stable():
    def build():
        x1, x2 = cg.Node(1.0, name="x"), cg.Node(2.0, name="x")
        odd = cg.Node(3.0, name="mul#3")
        return cg.sum(x1 * x2 * odd + cg.Node(1.0))

    labels = [list(export.node_labels(topological_order(build())).values()) for _ in range(2)]
    assert labels[0] == labels[1]
    assert labels[0] == ["x#0", "x#1", "mul#3#2", "mul#3#3", "mul#4", "leaf#5", "add#6", "sum#7"]
    assert len(set(labels[0])) == len(labels[0])


# -- writing ----------------------------------------------------------------------------------


def test_a_path_is_written_atomically(tmp_path, monkeypatch):
    J = lecture_graph()
    target = tmp_path / "graph.json"
    assert cg.to_json(J, target) == target
    assert strict_loads(target.read_text()) == strict_loads(cg.to_json(J))
    before = target.read_text()

    def broken_replace(source, destination):
        raise OSError("no space left")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="no space left"):
        cg.to_json(J * 2, target)
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]


def test_one_line_with_indent_none():
    assert "\n" not in cg.to_json(lecture_graph(), indent=None)


def test_gradients_that_are_graphs_export_their_values():
    x = cg.Node(3.0, name="x")
    y = x * x * x
    y.backward(create_graph=True)  # x.grad = 3x² is a Node of its own graph
    document = strict_loads(cg.to_json(y))
    assert_valid(document)
    assert document["nodes"][0]["grad"]["data"] == 27.0


# -- caps (issue 25): a huge graph or name gives a bounded document, saying what it left out ---


def chain(length, factor=1.5):
    x = cg.Node(1.0, name="x")
    y = x
    for _ in range(length):
        y = y * factor
    return y


def test_a_graph_over_max_nodes_keeps_the_nodes_nearest_the_root_and_says_so():
    y = chain(20)  # 41 nodes: x, then a constant and a product per step
    document = strict_loads(cg.to_json(y, max_nodes=10))
    assert_valid(document)
    ids = [node["id"] for node in document["nodes"]]
    assert len(ids) == 10 and ids[-1] == document["root"] == "v40"
    nodes, _ = dot_nodes_and_edges(y, max_nodes=10)  # the same nodes the picture draws
    assert ids == list(nodes)
    assert document["left_out"] == {
        "nodes": 31,
        "max_nodes": 10,
        "clipped_names": 0,
        "note": "31 of 41 nodes left out (max_nodes=10): those farthest from the root; "
        "parents may name them. Pass max_nodes=None for all",
    }
    assert "left_out" not in strict_loads(cg.to_json(y))
    assert len(strict_loads(cg.to_json(y, max_nodes=None))["nodes"]) == 41


def test_the_default_cap_bounds_a_big_graph():
    document = strict_loads(cg.to_json(chain(6000, factor=1.0), indent=None))
    assert len(document["nodes"]) == export.DEFAULT_MAX_NODES == 10_000
    assert document["left_out"]["nodes"] == 2001


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_max_nodes_is_refused(bad):
    with pytest.raises(ValueError, match="to_json: max_nodes must be a positive int or None"):
        cg.to_json(chain(1), max_nodes=bad)


def test_long_names_are_clipped():
    w = cg.Node(2.0, name="w" * 100_000)
    text = cg.to_json(w * 3)
    assert len(text) < 5_000
    (entry,) = [node for node in strict_loads(text)["nodes"] if node["id"] == "v0"]
    assert entry["name"] == entry["label"] == "w" * export.NAME_LIMIT + "…"
    assert strict_loads(text)["left_out"]["clipped_names"] == 1
