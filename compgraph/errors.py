"""The exception and warning types every compgraph module raises.

Each error also derives from the built-in a NumPy user would expect (``ValueError`` for
shapes, ``TypeError`` for dtypes, ...), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackwardError",
    "CompgraphError",
    "ConvergenceWarning",
    "DTypeError",
    "DataConversionWarning",
    "DataError",
    "GradientCheckError",
    "GraphGrowthWarning",
    "IndependentOutputWarning",
    "NonFiniteError",
    "NonFiniteWarning",
    "NotDifferentiableError",
    "NotFittedError",
    "OpError",
    "RenderError",
    "ShapeError",
    "TraceError",
    "TraceWarning",
]


class CompgraphError(Exception):
    """Base class of every error compgraph raises on purpose."""


class ShapeError(CompgraphError, ValueError):
    """Operands whose shapes do not fit the op (broadcasting, matmul, a seed gradient)."""


class DTypeError(CompgraphError, TypeError):
    """A value that cannot become a real floating-point array (strings, objects, complex)."""


class DataError(CompgraphError, ValueError):
    """Data a model cannot learn from: NaN or inf values, labels outside {0, 1}."""


class NotFittedError(CompgraphError, ValueError, AttributeError):
    """A model asked to predict before ``fit`` (the same bases as scikit-learn's)."""


class OpError(CompgraphError, RuntimeError):
    """An op that breaks its contract: no forward or vjp, or a vjp of the wrong arity or shape."""


class NotDifferentiableError(CompgraphError, TypeError):
    """A NumPy function, or a conversion to an array, that compgraph cannot record on a Node."""


class BackwardError(CompgraphError, RuntimeError):
    """``backward()`` asked for something it cannot do (a non-scalar root without a seed)."""


class GradientCheckError(CompgraphError, AssertionError):
    """Engine gradients disagree with finite differences; ``.report`` holds the details.

    An ``AssertionError`` too, so pytest shows a failed check as a test failure.
    """

    def __init__(self, report: object) -> None:
        super().__init__(str(report))
        self.report = report


class RenderError(CompgraphError, RuntimeError):
    """A picture could not be made: no Graphviz layout program, or it failed on the graph."""


class NonFiniteError(CompgraphError, FloatingPointError):
    """A value or gradient became inf or NaN while non-finite checks are set to ``"raise"``."""


class NonFiniteWarning(RuntimeWarning):
    """A value or gradient became inf or NaN (the default policy warns once per occurrence)."""


class ConvergenceWarning(UserWarning):
    """A model's fit stopped short of its optimum, or its cost rose: the message says what to
    change (scikit-learn's ``ConvergenceWarning`` too, once scikit-learn is loaded)."""


class DataConversionWarning(UserWarning):
    """Data were converted to the shape a model expects, e.g. a column-vector ``y`` flattened
    (scikit-learn's ``DataConversionWarning`` too, once scikit-learn is loaded)."""


class GraphGrowthWarning(UserWarning):
    """Each ``backward()`` walks a bigger graph that still holds earlier passes' ops: a
    training loop is chaining its steps (a recorded update, ``w = w - lr * w.grad``)."""


class IndependentOutputWarning(UserWarning):
    """A differentiated function's output depends on none of its differentiated arguments,
    so every derivative is 0: often a graph cut by reading ``.value`` inside the function."""


class TraceError(CompgraphError, TypeError):
    """``cg.compile`` cannot record a function faithfully: a Python branch or conversion on a
    traced value (``if loss.value < 0.1``, ``float(node)``), or a Node made inside it from
    another's value; the message names the value and what to do instead."""


class TraceWarning(UserWarning):
    """``cg.compile`` traced a function again and again (its arguments' shapes keep changing),
    or found a value it keeps fixed that may change (a Node read from outside the function)."""
