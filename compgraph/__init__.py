"""compgraph: a small, exact reverse-mode automatic-differentiation engine on NumPy.

Build a graph by computing with nodes, then call ``backward()``:

    >>> import compgraph as cg
    >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    >>> J = 3 * (a + b * c)
    >>> J.backward()
    >>> float(a.grad), float(b.grad), float(c.grad)
    (3.0, 6.0, 9.0)
"""

from compgraph import errors, functions, ops
from compgraph.errors import *  # noqa: F403 - the exception family, listed in errors.__all__
from compgraph.export import to_json
from compgraph.flow import GradientFlow
from compgraph.functions import *  # noqa: F403 - one function per op, derived from the op table
from compgraph.gradcheck import check_graph, gradcheck, gradgradcheck
from compgraph.node import Node, apply, enable_grad, is_grad_enabled, no_grad
from compgraph.numerics import errstate, geterr, seterr
from compgraph.ops import Op
from compgraph.player import animate
from compgraph.transforms import grad, hessian, hvp, jacobian, value_and_grad
from compgraph.viz import render, to_dot, to_svg

__version__ = "0.1.0"

__all__ = [  # grouped: the engine, then the derived lists
    "GradientFlow",
    "Node",
    "Op",
    "animate",
    "apply",
    "enable_grad",
    "check_graph",
    "errstate",
    "geterr",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "no_grad",
    "ops",
    "render",
    "seterr",
    "to_dot",
    "to_json",
    "to_svg",
    "value_and_grad",
    *errors.__all__,
    *functions.__all__,
]
