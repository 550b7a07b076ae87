"""The ``compgraph`` command: draw the graph of a formula with its values and gradients.

``compgraph draw "3*(a + b*c)" a=5 b=3 c=2 -o graph.svg`` builds the graph, runs
backward, prints f and df/dv for every variable v, and renders the picture.

Formulas are never ``eval``-ed: the ``ast`` module parses them and only a whitelist is
evaluated (numbers, variables, ``+ - * / ** @``, unary ``-``, ``.T``, tuples and lists of
numbers, and calls to the op functions), by an explicit-stack walk over the syntax tree.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import inspect
import keyword
import math
import operator
import os
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compgraph import functions
from compgraph.errors import CompgraphError, RenderError
from compgraph.graph import ancestors
from compgraph.node import Node
from compgraph.pictures.drawing import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    ENGINES,
    format_array,
    layout,
    render,
    to_dot,
)

__all__ = ["MAX_DRAWN_NODES", "MAX_ELEMENTS", "MAX_FORMULA_LENGTH", "main"]

#: The longest formula ``compgraph draw`` accepts, in characters.
MAX_FORMULA_LENGTH = 1000
#: The most elements any value in a formula may have (its inputs and every result), so a
#: short formula cannot broadcast its way to gigabytes.
MAX_ELEMENTS = 1_000_000
#: The most value nodes ``--max-nodes`` may ask to draw: beyond, layouts take minutes.
MAX_DRAWN_NODES = 1000
_COMMANDS = ("draw", "animate")

_FUNCTIONS: dict[str, Callable[..., Node]] = {
    name: getattr(functions, name) for name in functions.__all__
}
#: Each function's op, whose ``result_shape`` guards the size of what a formula makes.
_OPS = {function.__name__: op for op, function in functions.OP_FUNCTIONS.items()}
_BINARY: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
}
# Integer arithmetic on plain numbers, done in Python so that axis=1+0 or (2**1, 3) stay
# ints (shapes and axes cannot be Nodes); true division and huge results go to the engine.
_INTEGER_ARITHMETIC: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Pow: operator.pow,
}
_INT64_LIMIT = 2**63
# Parameters that say where to read, not what to compute with (getitem's index).
_INDEX_PARAMETERS = ("index",)
_ALLOWED = "\n  ".join(
    textwrap.wrap(
        "numbers, variables, + - * / ** @, unary -, .T, tuples such as (3, 1) for shapes, "
        "quoted subscripts for einsum ('ij,j->i'), and calls to the op functions "
        + " ".join(_FUNCTIONS),
        width=80,
    )
)

EXAMPLE = """\
example:
  compgraph draw "3*(a + b*c)" a=5 b=3 c=2 -o graph.svg
      prints f = 33, df/da = 3, df/db = 6, df/dc = 9 and draws graph.svg
  compgraph draw "sum(sigmoid(w @ x + b))" "w=[[1, 2], [3, 4]]" "x=[0.5, -1]" b=0.1

A formula may use
  {allowed}.
Variables are numbers or nested lists of numbers (name=[1, 2, 3]). A formula that
starts with "-" needs a space in it ("-a * b"), or goes last after the options and "--":
  compgraph draw -o g.svg -- -a*b a=1 b=2
"-o -" writes the picture to standard output (the value and gradients then go to
standard error):  compgraph draw "a*b" a=2 b=3 -o - --format png > g.png
Exit status: 0 on success, 2 for a bad formula or variable, 1 if drawing fails."""


class _FormulaError(Exception):
    """What is wrong with a formula, and where (0-based character column, or None)."""

    def __init__(self, message: str, column: int | None = None, snippet: str = ""):
        super().__init__(message)
        self.column = column
        self.snippet = snippet


def _where(formula: str, node: ast.expr) -> tuple[int, str]:
    """The character column and source text of ``node`` (ast counts columns in UTF-8 bytes)."""
    column = len(formula.encode("utf-8")[: node.col_offset].decode("utf-8", "ignore"))
    snippet = ast.get_source_segment(formula, node) or ""
    return column, snippet if len(snippet) <= 30 else snippet[:27] + "..."


def _children(node: ast.expr) -> list[ast.expr]:
    """The subexpressions ``node`` needs evaluated first; refuses anything not whitelisted."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return []  # a setting such as einsum's subscripts: _call checks where it goes
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"only numbers are allowed as constants, not {node.value!r:.30}")
        return []
    if isinstance(node, ast.Name):
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ValueError("this operator is not supported; use + - * / ** @")
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError("only unary - and + are supported")
        return [node.operand]
    if isinstance(node, (ast.Tuple, ast.List)):
        return list(node.elts)
    if isinstance(node, ast.Attribute):
        if node.attr != "T":
            raise ValueError(f"attribute access (.{node.attr}) is not allowed; only .T (transpose)")
        return [node.value]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ValueError(f"only calls to the op functions are allowed: {' '.join(_FUNCTIONS)}")
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            raise ValueError("* and ** unpacking are not allowed")
        return [*node.args, *(kw.value for kw in node.keywords)]
    raise ValueError(f"{type(node).__name__.lower()} expressions are not allowed")


def _combine(node: ast.expr, values: list[Any], variables: dict[str, Node]) -> Any:
    """The value of ``node`` given the values of its children."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in variables:
            return variables[node.id]
        if node.id in _FUNCTIONS:
            raise ValueError(f"{node.id} is a function: call it, e.g. {node.id}(x)")
        raise ValueError(f"unbound variable {node.id!r}: give it a value, e.g. {node.id}=1.0")
    if isinstance(node, ast.BinOp):
        folded = _integer_arithmetic(node.op, *values)
        if folded is not None:
            return folded
        return _call(_BINARY[type(node.op)], values, {})
    if isinstance(node, ast.UnaryOp):
        operand = values[0]
        if isinstance(node.op, ast.UAdd):
            return operand
        # -1 in axis=-1 or (-1, 1) is a number, not a neg node.
        is_number = isinstance(operand, (int, float)) and not isinstance(operand, bool)
        return -operand if is_number else functions.neg(operand)
    if isinstance(node, ast.Tuple):
        return tuple(values)
    if isinstance(node, ast.List):
        return list(values)
    if isinstance(node, ast.Attribute):
        return functions.transpose(values[0])
    # _children let through only calls of an op function by name, without ** unpacking.
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    positional = values[: len(node.args)]
    named: dict[str, Any] = {}
    for kw, value in zip(node.keywords, values[len(node.args) :], strict=True):
        assert kw.arg is not None
        named[kw.arg] = value
    return _call(node.func.id, positional, named)


def _integer_arithmetic(op: ast.operator, left: Any, right: Any) -> int | None:
    """``left op right`` for two plain ints when the result is a modest int, else None."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)):
        return None
    if type(op) not in _INTEGER_ARITHMETIC:
        return None
    if isinstance(op, ast.Pow) and (
        right < 0 or (abs(left) > 1 and right * math.log2(abs(left)) >= 63)
    ):
        return None  # a fraction, or too large: the engine computes it in floating point
    result = _INTEGER_ARITHMETIC[type(op)](left, right)
    return result if abs(result) < _INT64_LIMIT else None


def _is_operand(parameter: inspect.Parameter) -> bool:
    """Whether a function's parameter takes data (Nodes, arrays) rather than settings."""
    if parameter.name in _INDEX_PARAMETERS:
        return False
    return parameter.annotation in ("Any", Any, inspect.Parameter.empty)


def _check_setting(function: str, parameter: inspect.Parameter, value: Any) -> None:
    """Settings such as axis and shape must be ints: 0.5 or 1e20 would be truncated."""
    annotation = str(parameter.annotation)
    if "bool" in annotation:
        wanted = "an int (0 or 1)"
    elif "tuple" in annotation or "Axis" in annotation:
        wanted = "an int or a tuple of ints"
    else:
        wanted = "an int"
    items = value if isinstance(value, (tuple, list)) and "tuple" in wanted else [value]
    for item in items:
        if value is None or (isinstance(item, int) and abs(item) < _INT64_LIMIT):
            continue
        if isinstance(item, Node):
            raise ValueError(f"{function}(): {parameter.name} must be {wanted}, {_COMPUTED}")
        raise ValueError(f"{function}(): {parameter.name} must be {wanted}, not {item!r:.40}")


# Why an expression in an integer's place is refused: the formula computed it as a Node.
_COMPUTED = (
    "not a Node: write integers out, or with + - * ** on integers whose result stays below "
    "2**63 (other expressions, such as [0]*2, are arrays the engine computes)"
)


def _check_index(function: str, index: Any) -> None:
    """getitem's index: integers, slices and lists of integers, never a computed Node."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, Node) for item in items):
        raise ValueError(f"{function}(): index must be integers or lists of integers, {_COMPUTED}")


def _call(name: str, positional: list[Any], named: dict[str, Any]) -> Node:
    """Call op function ``name``, after checking its settings and its result's size."""
    function = _FUNCTIONS[name]
    signature = inspect.signature(function)
    try:
        bound = signature.bind(*positional, **named)
    except TypeError as error:
        raise ValueError(f"{name}(): {error}") from None
    operands = []
    texts: dict[str, str] = {}  # settings that are words (einsum's subscripts)
    for parameter_name, value in bound.arguments.items():
        parameter = signature.parameters[parameter_name]
        if parameter.annotation in ("str", str):
            texts[parameter_name] = _checked_text(name, parameter_name, value)
        elif parameter.kind is parameter.VAR_POSITIONAL or _takes_operands(parameter):
            operands.extend(value)
        elif _is_operand(parameter):
            operands.append(value)
        elif parameter.name in _INDEX_PARAMETERS:
            _check_index(name, value)
        else:
            _check_setting(name, parameter, value)
    for value in operands:
        if isinstance(value, str):
            raise ValueError(
                f"{name}(): {value!r:.30} is text where a number or variable goes; quoted "
                "text is only for settings that are words, such as einsum's subscripts"
            )
    index = next((bound.arguments[p] for p in _INDEX_PARAMETERS if p in bound.arguments), None)
    _check_result_size(name, operands, index, bound.arguments.get("axis", 0), texts)
    return function(*bound.args, **bound.kwargs)


def _checked_text(function: str, parameter: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{function}(): {parameter} must be quoted text, e.g. 'ij,jk->ik'")
    if len(value) > 100:
        raise ValueError(f"{function}(): {parameter} is {len(value)} characters; at most 100")
    return value


def _takes_operands(parameter: inspect.Parameter) -> bool:
    """Whether a parameter takes a sequence of operands (concatenate's and stack's xs)."""
    return parameter.annotation in ("Sequence[Any]", Sequence[Any])


def _shape(value: Any) -> tuple[int, ...]:
    return np.shape(value.value if isinstance(value, Node) else value)


def _check_result_size(
    name: str, operands: list[Any], index: Any, axis: Any, texts: dict[str, str]
) -> None:
    """Refuse an op whose result would have more than MAX_ELEMENTS elements."""
    op = _OPS[name]
    try:
        result = op.result_shape(*map(_shape, operands), index=index, axis=axis, **texts)
    except (ValueError, TypeError, IndexError):
        return  # the op itself will say what does not fit
    size = math.prod(result)
    if size > MAX_ELEMENTS:
        raise ValueError(
            f"this would make an array of shape {result} ({size:,} elements); "
            f"compgraph draw allows at most {MAX_ELEMENTS:,}"
        )


def _evaluate(formula: str, variables: dict[str, Node]) -> Any:
    """Build the graph of ``formula`` over ``variables``; raises _FormulaError."""
    if len(formula) > MAX_FORMULA_LENGTH:
        raise _FormulaError(
            f"the formula is {len(formula)} characters long; the limit is {MAX_FORMULA_LENGTH}"
        )
    if not formula.strip():
        raise _FormulaError("the formula is empty")
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as error:
        # Python reports offset 0 when the formula ends too early ("a +").
        column = error.offset - 1 if error.offset else len(formula)
        detail = "" if error.msg == "invalid syntax" else f": {error.msg}"
        raise _FormulaError(f"invalid syntax{detail}", min(column, len(formula))) from None
    except (RecursionError, MemoryError):
        raise _FormulaError("the formula is nested too deeply") from None
    # Post-order walk with an explicit stack: a node's entry comes back (with its children
    # listed) after all of its children have been evaluated.
    results: dict[ast.expr, Any] = {}
    stack: list[tuple[ast.expr, list[ast.expr] | None]] = [(tree.body, None)]
    while stack:
        node, children = stack.pop()
        try:
            if children is None:
                children = _children(node)
                stack.append((node, children))
                stack.extend((child, None) for child in reversed(children))
                continue
            results[node] = _combine(node, [results.pop(child) for child in children], variables)
        except (
            ValueError,
            TypeError,
            ArithmeticError,
            IndexError,
            CompgraphError,
            MemoryError,
        ) as error:
            # Op errors (ShapeError, DTypeError, ...) are ValueError/TypeError subclasses.
            raise _FormulaError(" ".join(str(error).split()), *_where(formula, node)) from None
    return results[tree.body]


def _parse_assignment(text: str, variables: dict[str, Node]) -> None:
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier() or keyword.iskeyword(name):
        raise _FormulaError(f"expected NAME=VALUE (e.g. a=5 or x=[1,2,3]), got {text!r:.40}")
    if name in _FUNCTIONS:
        raise _FormulaError(f"{name!r} is an op function; choose another variable name")
    if name in variables:
        raise _FormulaError(f"variable {name!r} is given twice")
    try:
        number = float(value)
    except ValueError:
        try:
            number = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _FormulaError(
                f"{name}={value!r:.40} is not a number or a list of numbers like [1, 2.5]"
            ) from None
    try:
        variables[name] = Node(number, name=name)
    except (CompgraphError, ValueError, TypeError) as error:
        raise _FormulaError(f"variable {name!r}: {error}") from None
    if variables[name].size > MAX_ELEMENTS:
        raise _FormulaError(f"variable {name!r} has more than {MAX_ELEMENTS:,} elements")


_LIMIT_OPTIONS = "compgraph draw options: --max-nodes N, --no-value, --timeout, --memory-limit"
_ANIMATE_LIMIT_OPTIONS = "compgraph animate options: --max-nodes N, --timeout, --memory-limit"


def _positive(option: str, text: str, most: float) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not 0 < number <= most:
        raise _FormulaError(
            f"{option} must be a number above 0, at most {most:,}, not {text!r:.20}"
        )
    return number


def _max_nodes(text: str, most: int = MAX_DRAWN_NODES) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= most:
        raise _FormulaError(
            f"--max-nodes must be a whole number from 1 to {most:,}, not {text!r:.20}"
        )
    return count


def _check_utf_8(text: str, what: str) -> None:
    """Refuse ``text`` holding bytes that were not UTF-8 (Python keeps them as surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        byte = text[error.start].encode("utf-8", "surrogateescape")
        raise _FormulaError(
            f"{what} is not UTF-8 text: byte {byte!r:.12} at character {error.start + 1}; "
            "type it as UTF-8 (set your terminal's encoding to UTF-8)"
        ) from None


def _build(args: argparse.Namespace, formula: str) -> tuple[Node, dict[str, Node]]:
    """The formula's graph, backpropagated, and its variables."""
    variables: dict[str, Node] = {}
    _check_utf_8(formula, "the formula")
    for assignment in args.assignments:
        _check_utf_8(assignment, f"the variable {assignment.split('=')[0]!a:.30}")
        _parse_assignment(assignment, variables)
    root = _evaluate(formula, variables)
    if not isinstance(root, Node):
        if isinstance(root, (tuple, list)):
            raise _FormulaError("the formula is a tuple or list; it must compute one value")
        root = Node(root, name="f", requires_grad=False)
    if root.size != 1:
        raise _FormulaError(
            f"the formula's value has shape {root.shape}; gradients need a single number: "
            "wrap it in sum(...) or mean(...)"
        )
    if root.name is None:
        root.name = "f"
    if root.requires_grad:
        root.backward()
    return root, variables


def _warn(message: str, command: str = "draw") -> None:
    print(f"compgraph {command}: warning: {' '.join(message.split())}", file=sys.stderr)


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The layout program and the bounds on its time and memory, from the options."""
    return {
        "engine": args.engine,
        "timeout": _positive("--timeout", args.timeout, 3600),
        "memory_limit": int(_positive("--memory-limit", args.memory_limit, 2**20) * 2**20),
    }


def _build_reporting(
    args: argparse.Namespace, formula: str, command: str
) -> tuple[Node, dict[str, Node]]:
    """``_build``, with every warning (a NaN given as a variable, an overflow) as one line,
    not Python's file-and-source-line format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = _build(args, formula)
    for warning in caught:
        if warning.category is not RuntimeWarning:  # NumPy's, said better by compgraph's
            _warn(str(warning.message), command)
    return built


def _draw(args: argparse.Namespace) -> int:
    formula = " ".join(args.formula.split())  # one line, so columns point into it
    options = {
        "show_name": not args.no_name,
        "show_op": not args.no_op,
        "show_shape": False if args.no_shape else "auto",
        "show_value": not args.no_value,
        "show_grad": not args.no_grad,
        "rankdir": args.rankdir,
        "max_nodes": _max_nodes(args.max_nodes),
        "title": formula if args.title is None else args.title,
        "color_by": args.color_by,
    }
    limits = _limits(args)
    to_stdout = args.output == "-"
    text = sys.stderr if to_stdout else sys.stdout  # stdout is the picture's alone
    root, variables = _build_reporting(args, formula, "draw")

    print(f"{root.name} = {format_array(root.value)}", file=text)
    reached = ancestors(root)
    for name, node in variables.items():
        if node in reached:
            print(f"d{root.name}/d{name} = {format_array(node.grad)}", file=text)
        else:  # most likely a typo, but the derivative is well defined: zero
            print(f"d{root.name}/d{name} = {format_array(np.zeros_like(node.value))}", file=text)
            _warn(f"{name} is not used in the formula")
    output = Path(args.output)
    fmt = args.format or ("svg" if to_stdout else output.suffix.lstrip(".").lower() or "svg")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # values were reported above
            if to_stdout:
                picture = layout(to_dot(root, **options).source, fmt, **limits)
            else:
                render(root, output, fmt, **limits, **options)
    except (RenderError, OSError, ValueError) as error:
        where = "standard output" if to_stdout else output
        # The library's message names its own options; say what they are called here.
        hint = f" ({_LIMIT_OPTIONS})" if isinstance(error, RenderError) else ""
        print(f"compgraph draw: cannot draw {where}: {error}{hint}", file=sys.stderr)
        return 1
    if to_stdout:
        _write_bytes(picture)
    else:
        print(f"wrote {output}")
    return 0


def _write_bytes(data: bytes) -> None:
    """``data`` (UTF-8 text or an image) to standard output as bytes, whatever its encoding."""
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # a text-only stdout (e.g. replaced in a notebook)
        sys.stdout.write(data.decode("utf-8", "replace"))
    else:
        stream.write(data)
    sys.stdout.flush()


def _animate(args: argparse.Namespace) -> int:
    """``compgraph animate``: the backprop player of a formula, as one HTML file."""
    from compgraph.pictures.player import animate

    formula = " ".join(args.formula.split())
    to_stdout = args.output == "-"
    text = sys.stderr if to_stdout else sys.stdout  # stdout is the page's alone
    limits = _limits(args)
    most = _max_nodes(args.max_nodes, MAX_DRAWN_NODES)
    root, _ = _build_reporting(args, formula, "animate")
    count = len(ancestors(root))
    if count > most:  # checked here, so that the message names the flag, not the keyword
        raise _FormulaError(
            f"the graph of {root.name} has {count:,} nodes, more than --max-nodes {most}; a "
            "player of that many steps is too long to follow: animate a smaller formula, or "
            "give a larger --max-nodes"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # values were reported above
            player = animate(
                root, None if to_stdout else Path(args.output), max_nodes=None,
                rankdir=args.rankdir, title=formula, **limits,
            )  # fmt: skip
    except (CompgraphError, OSError) as error:
        # The library's message names its own options; say what they are called here.
        hint = f" ({_ANIMATE_LIMIT_OPTIONS})" if isinstance(error, RenderError) else ""
        where = "standard output" if to_stdout else args.output
        print(f"compgraph animate: cannot write {where}: {error}{hint}", file=sys.stderr)
        return 1
    print(f"{root.name} = {format_array(root.value)}", file=text)
    if to_stdout:
        _write_bytes(str(player).encode("utf-8"))
    else:
        print(f"wrote {args.output}", file=text)
    return 0


def _add_formula_arguments(command: Any) -> None:
    """FORMULA and its NAME=VALUE variables, as draw and animate both take them."""
    command.add_argument("formula", metavar="FORMULA", help='e.g. "3*(a + b*c)"')
    command.add_argument(
        "assignments", nargs="*", metavar="NAME=VALUE", help="a variable, e.g. a=5 or x=[1,2,3]"
    )


def _add_layout_arguments(group: Any) -> None:
    """How the layout program runs: direction, engine, and its time and memory limits."""
    group.add_argument(
        "--rankdir",
        choices=("auto", "LR", "TB"),
        default="auto",
        help="layout direction: left to right, top to bottom, or auto (LR unless too wide)",
    )
    group.add_argument(
        "--engine", choices=ENGINES, help="layout program (default: dot if installed)"
    )
    group.add_argument(
        "--timeout",
        default=str(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"time the layout program may take ({DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--memory-limit",
        default=str(DEFAULT_MEMORY_LIMIT // 2**20),
        metavar="MIB",
        help=f"memory the layout program may use ({DEFAULT_MEMORY_LIMIT // 2**20:,} MiB)",
    )


def _add_animate_command(commands: Any) -> None:
    from compgraph.pictures.player import DEFAULT_MAX_NODES

    player = commands.add_parser(
        "animate",
        help="write the backprop player of a formula: one HTML page, forward then backward",
        description="Build the graph of FORMULA and write a self-contained HTML page that "
        "steps through its forward pass (each value) and backward pass (each vjp, with the "
        "local derivatives and products that give every gradient).",
        epilog='example:\n  compgraph animate "3*(a + b*c)" a=5 b=3 c=2 -o backprop.html\n\n'
        "Formulas and variables are those of `compgraph draw` (see compgraph draw --help).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_formula_arguments(player)
    player.add_argument(
        "-o",
        "--output",
        default="backprop.html",
        help="the page to write (backprop.html; - for stdout)",
    )
    player.add_argument(
        "--max-nodes",
        default=str(DEFAULT_MAX_NODES),
        metavar="N",
        help=f"refuse graphs of more nodes ({DEFAULT_MAX_NODES}; at most {MAX_DRAWN_NODES:,})",
    )
    _add_layout_arguments(player)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compgraph",
        description="Draw computation graphs with their values and gradients.",
        epilog=EXAMPLE.format(allowed=_ALLOWED),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    draw = commands.add_parser(
        "draw",
        help="build a formula's graph, backpropagate, print gradients and draw it",
        description="Build the graph of FORMULA, run backward, print the value f and df/dv "
        "for every variable v, and draw the graph with values and gradients.",
        epilog=EXAMPLE.format(allowed=_ALLOWED),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_formula_arguments(draw)
    draw.add_argument(
        "-o",
        "--output",
        default="graph.svg",
        help="file to write (graph.svg); - writes the picture to standard output and the "
        "value and gradients to standard error",
    )
    draw.add_argument(
        "--format", help="svg, png, pdf (system dot only), ...; default: the output's suffix"
    )
    picture = draw.add_argument_group("what the picture shows")
    picture.add_argument("--no-name", action="store_true", help="leave out node names")
    picture.add_argument("--no-shape", action="store_true", help="leave out shapes and dtypes")
    picture.add_argument("--no-value", action="store_true", help="leave out values")
    picture.add_argument("--no-grad", action="store_true", help="leave out gradients")
    picture.add_argument(
        "--no-op", action="store_true", help="join inputs to outputs without op ovals"
    )
    picture.add_argument(
        "--color-by",
        choices=("grad",),
        help="colour boxes by gradient magnitude (one colour per decade, with a legend)",
    )
    picture.add_argument("--title", help="caption above the graph (default: the formula)")
    picture.add_argument(
        "--max-nodes",
        default="200",
        metavar="N",
        help=f"draw at most N value nodes, those nearest the output (200; at most "
        f"{MAX_DRAWN_NODES:,})",
    )
    _add_layout_arguments(picture)
    _add_animate_command(commands)
    return parser


def _version() -> str:
    from compgraph import __version__

    return f"compgraph {__version__}"


@contextlib.contextmanager
def _escaping_what_the_console_cannot_show() -> Any:
    """Names a console cannot encode (α on Windows' cp1252) written as escapes, not a crash."""
    restore = []
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")
                restore.append(stream)
    try:
        yield
    finally:
        for stream in restore:
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="strict")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``compgraph`` command with ``argv`` (default: ``sys.argv[1:]``).

    Args:
        argv: the command-line arguments, without the program name.

    Returns:
        The exit status: 0 on success, 2 for bad usage, a bad formula or variable, 1 when
        the picture cannot be drawn.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "g.svg")
        >>> main(["draw", "3*(a + b*c)", "a=5", "b=3", "c=2", "-o", out])  # doctest: +ELLIPSIS
        f = 33
        df/da = 3
        df/db = 6
        df/dc = 9
        wrote ...g.svg
        0
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not arguments[0].startswith("-") and arguments[0] not in _COMMANDS:
        close = difflib.get_close_matches(arguments[0], _COMMANDS, n=1)
        hint = (
            f"did you mean {close[0]!r}?" if close else f"the commands are {', '.join(_COMMANDS)}"
        )
        print(f"compgraph: error: unknown command {arguments[0]!r}; {hint}", file=sys.stderr)
        return 2
    try:
        args = _parser().parse_args(arguments)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        with _escaping_what_the_console_cannot_show():
            status = _animate(args) if args.command == "animate" else _draw(args)
        # Flushed here, so that a reader who left meets the handler below rather than the
        # interpreter's final flush (which would exit with status 120 and a message).
        sys.stdout.flush()
        return status
    except _FormulaError as error:
        where = ""
        if error.column is not None:
            where = f" at column {error.column + 1}" + (
                f" ({error.snippet})" if error.snippet else ""
            )
        print(f"compgraph {args.command}: error{where}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader left early (compgraph draw ... | head): stop quietly, as cat does, with
        # stdout pointed at devnull so that the interpreter's last flush cannot fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
