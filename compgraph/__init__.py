"""compgraph: a small, exact reverse-mode automatic-differentiation engine on NumPy.

Build a graph by computing with nodes, then call ``backward()``:

    >>> import compgraph as cg
    >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    >>> J = 3 * (a + b * c)
    >>> J.backward()
    >>> float(a.grad), float(b.grad), float(c.grad)
    (3.0, 6.0, 9.0)
"""

from compgraph import ops
from compgraph.autodiff import grad, value_and_grad
from compgraph.errors import (
    BackwardError,
    CompgraphError,
    DataError,
    DTypeError,
    GradientCheckError,
    NonFiniteError,
    NonFiniteWarning,
    NotFittedError,
    OpError,
    RenderError,
    ShapeError,
)
from compgraph.export import to_json
from compgraph.flow import GradientFlow
from compgraph.functions import (
    add,
    div,
    exp,
    getitem,
    log,
    matmul,
    mean,
    mul,
    neg,
    pow,
    reshape,
    sigmoid,
    sigmoid_cross_entropy,
    sub,
    sum,
    transpose,
)
from compgraph.gradcheck import check_graph, gradcheck
from compgraph.node import Node, apply, is_grad_enabled, no_grad
from compgraph.numerics import errstate, geterr, seterr
from compgraph.ops import Op
from compgraph.player import animate
from compgraph.viz import render, to_dot, to_svg

__version__ = "0.1.0"

__all__ = [
    "BackwardError",
    "CompgraphError",
    "DTypeError",
    "DataError",
    "GradientCheckError",
    "GradientFlow",
    "Node",
    "NonFiniteError",
    "NonFiniteWarning",
    "NotFittedError",
    "Op",
    "OpError",
    "RenderError",
    "ShapeError",
    "add",
    "animate",
    "apply",
    "check_graph",
    "div",
    "errstate",
    "exp",
    "geterr",
    "getitem",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "no_grad",
    "ops",
    "pow",
    "render",
    "reshape",
    "seterr",
    "sigmoid",
    "sigmoid_cross_entropy",
    "sub",
    "sum",
    "to_dot",
    "to_json",
    "to_svg",
    "transpose",
    "value_and_grad",
]
