"""The package's shape: imports run one way (a layer imports only layers below it), private
names stay in their module, and every op is its class, its function and its test row."""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import functions, ops
from compgraph.testing import OP_CASES

PACKAGE = Path(cg.__file__).parent

#: Bottom to top: values and ops, the graph and the backward pass, nodes and their op
#: functions, then derivatives, checks and pictures, then models and tools. A module may
#: import modules of lower layers only; ``compgraph`` (the package) sits just above layer 7.
LAYERS = {
    "errors": 0,
    "values": 1,
    "numerics": 1,
    "files": 1,
    "ops": 2,
    "graph": 3,
    "autodiff": 4,
    "node": 5,
    "functions": 6,
    "transforms": 7,
    "gradcheck": 7,
    "viz": 7,
    "export": 7,  # the graph as plain data, read like viz reads it; flow and player use it
    "flow": 8,
    "player": 8,
    "testing": 8,
    "datasets": 8,
    "estimators": 8,
    "logistic": 9,
    "networks": 9,
    "cli": 10,
    "__main__": 11,
}
PACKAGE_LAYER = 7.5
#: The one late import that reaches up, with its reason in a comment where it stands.
LATE_UPWARD_IMPORTS = {("node", "viz")}


def module_names():
    return sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def imports_of(name):
    """(imported compgraph module, is it at module level, is it type-only) for each import."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("compgraph"):
            parts = node.module.split(".")
            targets = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
            for target in targets:
                target = target if target in LAYERS else "compgraph"
                found.append((target, id(node) in top_level, id(node) in type_only, node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("compgraph"):
                    parts = alias.name.split(".")
                    target = parts[1] if len(parts) > 1 else "compgraph"
                    found.append((target, id(node) in top_level, id(node) in type_only, node))
    return found


def test_every_module_has_a_layer():
    assert set(module_names()) <= set(LAYERS), "give each new module a layer in LAYERS"


@pytest.mark.parametrize("name", module_names())
def test_imports_run_one_way(name):
    layer = LAYERS[name]
    for target, top_level, type_only, node in imports_of(name):
        if type_only:
            continue  # `if TYPE_CHECKING:` imports never run: annotations only
        target_layer = PACKAGE_LAYER if target == "compgraph" else LAYERS[target]
        if (name, target) in LATE_UPWARD_IMPORTS and not top_level:
            continue
        assert target_layer < layer, (
            f"compgraph.{name} (layer {layer}) imports {target} (layer {target_layer}) at line "
            f"{node.lineno}: a module may import lower layers only"
        )


@pytest.mark.parametrize("name", module_names())
def test_private_names_stay_in_their_module(name):
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("compgraph"):
            private = [
                a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
            ]
            assert not private, f"compgraph.{name} imports private {private} from {node.module}"


def test_the_late_upward_import_says_why():
    source = inspect.getsource(cg.Node._repr_svg_)
    assert "from compgraph.viz import" in source and "#" in source


# -- one place per op -----------------------------------------------------------------------------

ROWS = {case.op for case in OP_CASES}


@pytest.mark.parametrize("op", ops.BUILTIN_OPS, ids=lambda op: op.name)
def test_every_op_is_a_class_a_function_and_a_row(op):
    doc = (op.__doc__ or "").strip()
    assert re.search(r" ;\s+vjp: ", doc), (
        f"op {op.name}: the docstring's maths line (forward ; vjp: ...) is missing"
    )
    function = functions.OP_FUNCTIONS.get(op)
    assert function is not None, (
        f"op {op.name}: no public function (decorate one with @op_function({op.__name__}))"
    )
    assert "Example:" in (function.__doc__ or ""), (
        f"op {op.name}: {function.__name__} has no example"
    )
    assert getattr(cg, function.__name__) is function, f"op {op.name}: not exported by compgraph"
    assert op in ROWS, f"op {op.name}: no row in compgraph.testing.OP_CASES"


def test_every_op_class_in_the_table_is_registered():
    defined = {
        value
        for value in vars(ops).values()
        if isinstance(value, type) and issubclass(value, ops.Op) and value is not ops.Op
    }
    assert defined == set(ops.BUILTIN_OPS)
    assert set(functions.__all__) == {f.__name__ for f in functions.OP_FUNCTIONS.values()}


NODE_OWN = {
    "attrs",
    "backward",
    "describe",
    "detach",
    "dtype",
    "grad",
    "id",
    "is_leaf",
    "item",
    "name",
    "ndim",
    "op",
    "parents",
    "record",
    "requires_grad",
    "shape",
    "size",
    "value",
    "vjp_of",
}


def test_node_has_the_ndarray_methods_compgraph_has_ops_for():
    """The rule: a public Node method is either the node's own API, or an ndarray method
    whose compgraph function exists (and then it must be there)."""
    public = {name for name in dir(cg.Node) if not name.startswith("_")}
    array_like = {name for name in functions.__all__ if hasattr(np.ndarray, name)}
    assert array_like <= public, f"Node lacks ndarray methods {sorted(array_like - public)}"
    extra = public - NODE_OWN - array_like - {"T", "transpose", "reshape"}
    assert not extra, (
        f"Node methods {sorted(extra)} are neither its own API nor ndarray's with an op"
    )


def test_every_numpy_function_on_nodes_records_its_op():
    x = cg.Node(np.array([[0.5, -1.0], [2.0, 0.25]]))
    cases = {
        np.exp: "exp",
        np.tanh: "tanh",
        np.sqrt: "sqrt",
        np.abs: "abs",
        np.negative: "neg",
        np.log: "log",
    }
    for numpy_function, op_name in cases.items():
        y = numpy_function(np.abs(x) + 0.5) if op_name in ("sqrt", "log") else numpy_function(x)
        assert isinstance(y, cg.Node) and y.op.name == op_name
    assert np.sum(x, axis=0).op.name == "sum" and np.maximum(x, 0).op.name == "maximum"
    assert np.concatenate([x, x]).op.name == "concatenate"
    assert np.where(x.value > 0, x, 0.0).op.name == "where"
    assert (np.ones(2) @ x).op.name == "matmul" and (np.ones((2, 2)) - x).op.name == "sub"
