"""compgraph: a small, exact reverse-mode automatic-differentiation engine on NumPy.

Build a graph by computing with nodes, then call ``backward()``:

    >>> import compgraph as cg
    >>> a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    >>> J = 3 * (a + b * c)
    >>> J.backward()
    >>> float(a.grad), float(b.grad), float(c.grad)
    (3.0, 6.0, 9.0)
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import TYPE_CHECKING, Any

# The engine first, then the rooms built on it (they import the engine's names).
from compgraph import errors, functions, ops
from compgraph.autodiff import BackwardStep, gradients
from compgraph.compile import compile
from compgraph.errors import *  # noqa: F403 - the exception family, listed in errors.__all__
from compgraph.functions import *  # noqa: F403 - one function per op, derived from the op table
from compgraph.node import Node, apply, enable_grad, is_grad_enabled, no_grad
from compgraph.numerics import errstate, fold_nonfinite_reports, geterr, seterr
from compgraph.ops import Op
from compgraph.transforms import grad, hessian, hvp, jacfwd, jacobian, jvp, value_and_grad

from compgraph.checks.gradcheck import check_graph, gradcheck, gradgradcheck  # isort: skip
from compgraph.checks.difference import gradient_difference  # isort: skip
from compgraph.pictures.drawing import render, to_dot, to_svg  # isort: skip
from compgraph.pictures.export import to_json  # isort: skip
from compgraph.pictures.flow import GradientFlow  # isort: skip
from compgraph.pictures.player import animate  # isort: skip

#: Modules that moved into the rooms in 0.3, under the names 0.2 taught. Importing an old
#: name gives the very module at its new place (same classes, so old pickles still load).
MOVED_MODULES = {
    "compgraph.datasets": "compgraph.models.datasets",
    "compgraph.estimators": "compgraph.models.estimators",
    "compgraph.export": "compgraph.pictures.export",
    "compgraph.flow": "compgraph.pictures.flow",
    "compgraph.gradcheck": "compgraph.checks.gradcheck",
    "compgraph.logistic": "compgraph.models.logistic",
    "compgraph.networks": "compgraph.models.networks",
    "compgraph.player": "compgraph.pictures.player",
    "compgraph.testing": "compgraph.checks.testing",
    "compgraph.viz": "compgraph.pictures.drawing",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name in ``MOVED_MODULES`` and loads it as the module it became."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module: Any) -> None:
        """Nothing to run: ``create_module`` returned the module already imported."""


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())

if TYPE_CHECKING:
    # functions.__all__ is computed from the op registry, which a type checker cannot run, so
    # it would see the star import above bring nothing (and users' checkers would reject
    # cg.add). The same names, spelled out for it; tests/test_project.py keeps them in step.
    from compgraph.functions import abs as abs
    from compgraph.functions import add as add
    from compgraph.functions import astype as astype
    from compgraph.functions import broadcast_to as broadcast_to
    from compgraph.functions import clip as clip
    from compgraph.functions import concatenate as concatenate
    from compgraph.functions import cos as cos
    from compgraph.functions import cumsum as cumsum
    from compgraph.functions import div as div
    from compgraph.functions import einsum as einsum
    from compgraph.functions import exp as exp
    from compgraph.functions import expm1 as expm1
    from compgraph.functions import getitem as getitem
    from compgraph.functions import index_add as index_add
    from compgraph.functions import leaky_relu as leaky_relu
    from compgraph.functions import log as log
    from compgraph.functions import log1p as log1p
    from compgraph.functions import log_softmax as log_softmax
    from compgraph.functions import logsumexp as logsumexp
    from compgraph.functions import matmul as matmul
    from compgraph.functions import max as max
    from compgraph.functions import maximum as maximum
    from compgraph.functions import mean as mean
    from compgraph.functions import min as min
    from compgraph.functions import minimum as minimum
    from compgraph.functions import mul as mul
    from compgraph.functions import neg as neg
    from compgraph.functions import norm as norm
    from compgraph.functions import positive as positive
    from compgraph.functions import pow as pow
    from compgraph.functions import prod as prod
    from compgraph.functions import relu as relu
    from compgraph.functions import reshape as reshape
    from compgraph.functions import sigmoid as sigmoid
    from compgraph.functions import sigmoid_cross_entropy as sigmoid_cross_entropy
    from compgraph.functions import sin as sin
    from compgraph.functions import softmax as softmax
    from compgraph.functions import softmax_cross_entropy as softmax_cross_entropy
    from compgraph.functions import sqrt as sqrt
    from compgraph.functions import stack as stack
    from compgraph.functions import std as std
    from compgraph.functions import sub as sub
    from compgraph.functions import sum as sum
    from compgraph.functions import tanh as tanh
    from compgraph.functions import transpose as transpose
    from compgraph.functions import var as var
    from compgraph.functions import where as where

#: The one place the version is written: the wheel's metadata reads it from here
#: (pyproject.toml, [tool.hatch.version]); CHANGELOG.md says what each version changed.
__version__ = "0.3.0.dev0"

__all__ = [  # grouped: the engine, then the derived lists
    "BackwardStep",
    "gradients",
    "GradientFlow",
    "Node",
    "Op",
    "animate",
    "apply",
    "enable_grad",
    "check_graph",
    "compile",
    "errstate",
    "fold_nonfinite_reports",
    "geterr",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "gradient_difference",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacfwd",
    "jacobian",
    "jvp",
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
