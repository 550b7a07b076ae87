"""The package's shape: imports run one way (a layer imports only layers below it), private
names stay in their module, and every op is its class, its function and its test row."""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import functions, ops
from compgraph.checks.testing import OP_CASES

PACKAGE = Path(cg.__file__).parent

#: The engine, flat at the top of the package, bottom to top: values and ops, the graph and
#: the backward pass, nodes and their op functions, then the transforms. An engine module
#: imports only engine modules of lower layers, and never a room.
ENGINE = {
    "errors": 0,
    "values": 1,
    "numerics": 1,
    "files": 1,
    "ops": 2,
    "graph": 3,
    "backends": 3,
    "autodiff": 4,
    "node": 5,
    "functions": 6,
    "transforms": 7,
    "compile": 8,
}
#: The rooms built on the engine, one job each, and the other rooms each may use. A room
#: uses only the engine's public names (those in each engine module's ``__all__``, or the
#: ``compgraph`` package's); inside a room, modules import each other freely.
ROOMS = {
    "checks": set(),
    "pictures": set(),
    "models": {"pictures"},
    "cli": {"pictures"},
}
#: The package's own entry points: ``compgraph`` gathers the public names of the engine and
#: the rooms, ``python -m compgraph`` runs the command.
ENTRY_POINTS = {"__init__", "__main__"}


def module_names():
    """Every module of the package, dotted from the package: ``node``, ``pictures.player``."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names.append(".".join(parts))
    return names


def room_of(name):
    """The room of a dotted module name (``pictures.player`` -> ``pictures``), or None."""
    first = name.split(".")[0]
    return first if first in ROOMS else None


def imports_of(name):
    """(imported module, dotted from the package; names imported; is it type-only; ast node)."""
    path = PACKAGE / (name.replace(".", "/") + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("compgraph"):
            module = node.module.removeprefix("compgraph").removeprefix(".")
            names = [alias.name for alias in node.names]
            if module in (
                "",
                *ROOMS,
            ):  # from compgraph import functions / from compgraph.x import y
                for alias in names:
                    sub = f"{module}.{alias}".lstrip(".")
                    if sub in module_names() or sub in ENGINE:
                        found.append((sub, None, id(node) in type_only, node))
                    else:
                        found.append((module, [alias], id(node) in type_only, node))
            else:
                found.append((module, names, id(node) in type_only, node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("compgraph"):
                    module = alias.name.removeprefix("compgraph").removeprefix(".")
                    found.append((module, None, id(node) in type_only, node))
    return found


def test_every_module_is_in_the_engine_or_a_room():
    for name in module_names():
        assert name in ENGINE or name in ENTRY_POINTS or room_of(name), (
            f"compgraph.{name} is neither an engine module (ENGINE) nor in a room (ROOMS)"
        )


@pytest.mark.parametrize("name", [n for n in module_names() if n in ENGINE])
def test_the_engine_imports_lower_engine_layers_only(name):
    for target, _, type_only, node in imports_of(name):
        if type_only:
            continue  # `if TYPE_CHECKING:` imports never run: annotations only
        assert target in ENGINE and ENGINE[target] < ENGINE[name], (
            f"compgraph.{name} (engine layer {ENGINE[name]}) imports compgraph.{target or '(the package)'} "
            f"at line {node.lineno}: the engine imports lower engine layers only, never a room"
        )


@pytest.mark.parametrize("name", [n for n in module_names() if room_of(n)])
def test_rooms_use_the_engines_public_names_only(name):
    room = room_of(name)
    for target, names, type_only, node in imports_of(name):
        if type_only:
            continue
        where = f"compgraph.{name} line {node.lineno}"
        if target == "":
            continue  # the package itself: the public face (import compgraph as cg)
        if target in ENGINE:
            public = set(getattr(importlib.import_module(f"compgraph.{target}"), "__all__", ()))
            if names is None:
                continue  # the module itself: its attributes are checked by use, see below
            hidden = [n for n in names if n not in public]
            assert not hidden, (
                f"{where} imports {hidden} from compgraph.{target}, not in its __all__"
            )
            continue
        other = room_of(target)
        assert other is not None, f"{where} imports compgraph.{target}, which is in no room"
        assert other == room or other in ROOMS[room], (
            f"{where} imports the {other} room; the {room} room may use {sorted(ROOMS[room])}"
        )


@pytest.mark.parametrize("name", module_names())
def test_private_names_stay_in_their_module(name):
    for _, names, _, node in imports_of(name):
        private = [n for n in names or () if n.startswith("_") and n != "__version__"]
        assert not private, f"compgraph.{name} imports private {private} (line {node.lineno})"


def test_the_architecture_page_names_every_room():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for room in ROOMS:
        assert f"`{room}/`" in page, f"docs/architecture.md does not describe the {room}/ room"
    for module in ENGINE:
        assert f"`{module}`" in page, f"docs/architecture.md does not list the engine's {module}"


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
    assert op in ROWS, f"op {op.name}: no row in compgraph.checks.testing.OP_CASES"


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


@pytest.mark.parametrize("old, new", sorted(cg.MOVED_MODULES.items()))
def test_the_import_paths_0_2_taught_still_work(old, new):
    """``import compgraph.logistic`` (and every other moved module) gives the module itself,
    so old imports, isinstance checks and pickles keep working."""
    code = f"import {old} as old, {new} as new; assert old is new, (old, new)"
    subprocess.run([sys.executable, "-c", code], check=True)


#: Modules that may assign ``.grad``: the backward pass, which fills it, and ``node``, whose
#: constructors start it at None and whose copies and pickles carry it along.
GRAD_WRITERS = {"autodiff", "node"}


@pytest.mark.parametrize("name", module_names())
def test_only_the_backward_pass_calls_vjps_and_writes_grad(name):
    """One place calls vjps, fits and accumulates gradients: everyone else asks
    cg.gradients (and watches the pass with observe=), never re-running it."""
    path = PACKAGE / (name.replace(".", "/") + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if name != "autodiff" and isinstance(node, ast.Call):
            func = node.func
            assert not (isinstance(func, ast.Attribute) and func.attr == "vjp"), (
                f"compgraph.{name} line {node.lineno} calls a vjp: only compgraph.autodiff "
                "does; get gradients from cg.gradients (observe= to watch the pass)"
            )
        if name not in GRAD_WRITERS and isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                assert not (isinstance(target, ast.Attribute) and target.attr == "grad"), (
                    f"compgraph.{name} line {node.lineno} writes .grad: only backward() does"
                )
