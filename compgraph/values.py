"""What a value is: user input made into float arrays, and axes and shapes made into ints.

Every value in a graph is a float64 or float32 NumPy array; integers and booleans become
float64. Anything else is refused with a message that says what to pass instead, rather
than converted into something that is not what the user meant (a masked array without its
mask, an axis of 0.9 truncated to 0).
"""

from __future__ import annotations

import contextlib
import decimal
import numbers
import operator
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from compgraph.errors import DTypeError

__all__ = [
    "KEPT_DTYPES",
    "Recorded",
    "as_axes",
    "as_axis",
    "as_flag",
    "as_float_array",
    "as_float_dtype",
    "as_shape",
    "conversion_refusal",
    "masked_array_error",
    "preview",
    "refuse_conversions",
    "trace_refusal",
]

KEPT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class Recorded:
    """The base of values that record the ops applied to them (``compgraph.Node``).

    Calling an op class on inputs of which one is ``Recorded`` hands the call to
    ``record``, which builds a node in the graph; on NumPy values the op simply computes.
    """

    __slots__ = ()
    value: Any  # the array (read-only): a property over ``_value``, held by the subclass
    _value: Any  # what the engine's hot loops read

    @classmethod
    def record(cls, op: Any, inputs: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
        """Build the node ``op(*inputs, **attrs)`` in the graph."""
        raise NotImplementedError

    def describe(self) -> str:
        """How errors name this value."""
        raise NotImplementedError


class _Conversions(threading.local):
    """Why converting a value that requires a gradient to a number is refused, per thread."""

    refused_by: str | None = None
    #: Who records a trace to replay (``cg.compile``): then truth tests refuse too.
    traced_by: str | None = None


_conversions = _Conversions()


@contextlib.contextmanager
def refuse_conversions(reason: str, tracing: bool = False) -> Iterator[None]:
    """Make ``float(x)``, ``x.item()`` (and ``math.sin(x)``, which calls ``float``) raise for
    values that require a gradient while the block runs: inside a differentiated function
    they would cut the value from the graph and silently lose part of the derivative.
    ``reason`` says who refuses (``"cg.grad"``) in the error. ``tracing``: the block records
    a computation to replay it (``cg.compile``), so ``bool(x)`` is refused as well, with a
    ``TraceError``, for the whole block (nested refusals included): a Python decision on a
    value would be replayed for every later input."""
    previous = _conversions.refused_by, _conversions.traced_by
    _conversions.refused_by = reason
    if tracing:
        _conversions.traced_by = reason
    try:
        yield
    finally:
        _conversions.refused_by, _conversions.traced_by = previous


def conversion_refusal() -> str | None:
    """Who refuses conversions to numbers right now (see ``refuse_conversions``), or None."""
    return _conversions.refused_by


def trace_refusal() -> str | None:
    """Who is recording a trace right now (``refuse_conversions(..., tracing=True)``), or None."""
    return _conversions.traced_by


def preview(value: Any) -> str:
    """``repr(value)`` on one line, cut to 40 characters, for messages."""
    text = " ".join(repr(value).split())  # arrays' reprs span lines; messages are one line
    return text if len(text) <= 40 else text[:37] + "..."


def masked_array_error(what: str) -> DTypeError:
    """The refusal of a masked array ``what``: an array of ours would drop its mask."""
    return DTypeError(
        f"{what} is a masked array; compgraph would lose its mask: fill the masked "
        "entries (x.filled(value)) or select the unmasked ones (x.compressed()) first"
    )


def as_float_dtype(dtype: Any) -> np.dtype[Any]:
    """``dtype`` as float32 or float64, the dtypes ``astype`` converts to, or a TypeError.

    Example:
        >>> from compgraph.values import as_float_dtype
        >>> as_float_dtype("float32")
        dtype('float32')
    """
    converted: np.dtype[Any] = np.dtype(dtype)
    if converted.kind != "f" or converted.itemsize < 4:
        raise TypeError(f"astype converts to float32 or float64, not {converted}")
    return converted


def as_float_array(value: Any, what: str | None = None) -> np.ndarray:
    """``value`` as a float32/float64 array: integers, booleans and other reals become float64.

    ``what`` names the value in errors (default: "operand <its repr>", built only on error,
    since repr of a large array costs more than the op it feeds). The array is not copied
    when it already is one of ours.

    Raises:
        DTypeError: complex, text or object values, masked arrays, np.matrix (its * is
            the matrix product) and sparse matrices.
    """
    if type(value) is np.ndarray and value.dtype in KEPT_DTYPES:
        return value  # the hot path: an operand that already is a float array
    if what is None:
        what = f"operand {preview(value)}"
    if isinstance(value, np.ma.MaskedArray):
        raise masked_array_error(what)
    if isinstance(value, np.matrix):
        # m * x is the matrix product for NumPy and the elementwise one for compgraph: a
        # matrix taken as an array would silently change what the user's formula means.
        raise DTypeError(
            f"{what} is an np.matrix, whose * is the matrix product where compgraph's * is "
            "elementwise; pass np.asarray(m) and write the matrix product with @"
        )
    if hasattr(value, "toarray") and type(value).__module__.startswith("scipy.sparse"):
        raise DTypeError(
            f"{what} is a SciPy sparse matrix, which compgraph does not support; "
            "pass a dense array (x.toarray())"
        )
    if isinstance(value, Recorded):
        raise DTypeError(
            f"{what} is already a Node ({value.describe()}); pass node.value for a copy of its "
            "array, or node.detach() for a constant"
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested sequences
        raise DTypeError(
            f"{what} is not a rectangular array of numbers ({error}); give every row the "
            "same length"
        ) from None
    dtype = array.dtype
    if dtype in KEPT_DTYPES:
        return array
    if dtype.kind in "biu" or dtype == np.float16:
        return array.astype(np.float64)
    if dtype.kind == "c":
        raise DTypeError(
            f"{what} is complex ({dtype}); compgraph differentiates real arrays only: pass "
            "the real and imaginary parts as separate nodes"
        )
    if dtype.kind == "f":
        raise DTypeError(f"{what} has dtype {dtype}; convert it to float64 or float32")
    if dtype.kind == "O" and array.size and all(_is_real(v) for v in array.flat):
        # Python ints past 2**63, Decimal and Fraction: numbers NumPy keeps as objects.
        try:
            return array.astype(np.float64)
        except OverflowError:  # ints past float64's 1.8e308 (a Decimal becomes inf instead)
            raise DTypeError(
                f"{what} ({preview(value)}) does not fit in float64; use a float (e.g. "
                "1e300) or a smaller number"
            ) from None
    raise DTypeError(
        f"{what} has dtype {dtype} ({type(value).__name__} {preview(value)}), not numbers; "
        "give a real number, a nested list of numbers or a numeric NumPy array"
    )


def _is_real(value: Any) -> bool:
    return isinstance(value, (numbers.Real, decimal.Decimal))


def _as_int(value: Any, what: str) -> int:
    """An integer argument as a Python int; floats (0.9), bools and other types refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{what} must be an integer, not {type(value).__name__} {preview(value)}"
            + ("; round it yourself if you meant an integer" if isinstance(value, float) else "")
        )
    return operator.index(value)


def as_axis(axis: Any, what: str = "axis") -> int | tuple[int, ...] | None:
    """A reduction's ``axis``: None, an int, or a tuple of ints (lists accepted)."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(_as_int(a, what) for a in axis)
    return _as_int(axis, what)


def as_axes(axes: Any, what: str = "axes") -> tuple[int, ...] | None:
    """A permutation ``axes``: None or a sequence of ints."""
    if axes is None:
        return None
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        return (int(axes),)
    try:
        items = list(axes)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of integers, not {preview(axes)}") from None
    return tuple(_as_int(a, what) for a in items)


def as_shape(shape: Any, what: str = "shape") -> tuple[int, ...]:
    """A shape: an int or a sequence of ints (one -1 may stand in, as NumPy allows)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    try:
        items = list(shape)
    except TypeError:
        raise TypeError(
            f"{what} must be an integer or a tuple of integers, not {preview(shape)}"
        ) from None
    return tuple(_as_int(n, what) for n in items)


def as_flag(value: Any, what: str) -> bool:
    """A yes/no argument (``keepdims``, ``requires_grad``): True or False, nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{what} must be True or False, not {type(value).__name__} {preview(value)}"
        )
    return bool(value)
