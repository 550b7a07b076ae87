"""What happens when a value or gradient turns inf or NaN: the policy and its reports.

The default policy warns (``NonFiniteWarning``) naming the node and op where the
non-finite number first appeared; ``"raise"`` turns that into ``NonFiniteError``;
``"ignore"`` stays quiet. Set it like NumPy's ``seterr``/``errstate``.

A training run makes the same report at every step (each naming a fresh node, so Python's
once-per-place filter cannot fold them): inside ``fold_nonfinite_reports()`` the reports of
one kind become one warning, with a count, when the run ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import threading
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from compgraph.errors import NonFiniteError, NonFiniteWarning

if TYPE_CHECKING:
    from compgraph.node import Node
    from compgraph.ops import Op

__all__ = [
    "describe_nonfinite",
    "enter_errstate",
    "errstate",
    "fold_nonfinite_reports",
    "geterr",
    "leave_errstate",
    "outside_compgraph",
    "seterr",
]

_POLICIES = ("warn", "raise", "ignore")


@dataclass
class _Folded:
    """The first report of one kind in a folding run, where it was made, and how often."""

    message: str
    filename: str
    lineno: int
    module_globals: dict[str, Any]
    count: int = 1


class _Policy(threading.local):
    """Per thread, as NumPy's errstate is per context."""

    nonfinite = "warn"
    #: The reports held by the running ``fold_nonfinite_reports()``, by kind; None outside one.
    folded: dict[str, _Folded] | None = None


_policy = _Policy()


def seterr(nonfinite: str | None = None) -> dict[str, str]:
    """Set how compgraph reacts to inf/NaN values and gradients; return the old settings.

    Args:
        nonfinite: ``"warn"`` (default), ``"raise"`` or ``"ignore"``.

    Returns:
        The settings in force before the call, to pass back to ``seterr(**old)``.

    Raises:
        ValueError: for any other policy name.

    Example:
        >>> import compgraph as cg
        >>> old = cg.seterr(nonfinite="raise")
        >>> cg.seterr(**old)
        {'nonfinite': 'raise'}
    """
    old = geterr()
    if nonfinite is not None:
        if nonfinite not in _POLICIES:
            raise ValueError(f"nonfinite must be one of {_POLICIES}, got {nonfinite!r}")
        _policy.nonfinite = nonfinite
    return old


def geterr() -> dict[str, str]:
    """The current settings, e.g. ``{'nonfinite': 'warn'}``."""
    return {"nonfinite": _policy.nonfinite}


@contextlib.contextmanager
def errstate(nonfinite: str | None = None) -> Iterator[None]:
    """Context manager form of ``seterr``: the old settings come back on exit.

    Example:
        >>> import compgraph as cg
        >>> import numpy as np
        >>> with cg.errstate(nonfinite="raise"), np.errstate(divide="ignore"):
        ...     try:
        ...         cg.log(cg.Node(0.0, name="x"))
        ...     except cg.NonFiniteError as error:
        ...         print(type(error).__name__)
        NonFiniteError
    """
    old = seterr(nonfinite)
    try:
        yield
    finally:
        seterr(**old)


@contextlib.contextmanager
def fold_nonfinite_reports() -> Iterator[None]:
    """Within the block, repeated non-finite reports of one kind become one warning.

    Under the ``"warn"`` policy each kind of report (the same message but for the nodes'
    ids and the counts of inf and NaN) is held, counted, and warned once when the block
    ends, however it ends, naming how many times it came and pointing at the line of its
    first occurrence. ``"raise"`` still raises at the first one. The training functions
    run in such a block, so a diverging run of 2000 steps gives a handful of warnings, not
    thousands. Nested blocks fold into the outermost.

    Example:
        >>> import warnings
        >>> import numpy as np
        >>> import compgraph as cg
        >>> from compgraph.numerics import fold_nonfinite_reports
        >>> with warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore"):
        ...     warnings.simplefilter("always")
        ...     with fold_nonfinite_reports():
        ...         for _ in range(100):
        ...             big = cg.exp(cg.Node(1000.0, name="x"))
        >>> len(caught), "100 times" in str(caught[0].message)
        (1, True)
    """
    if _policy.folded is not None:
        yield
        return
    folded: dict[str, _Folded] = {}
    _policy.folded = folded
    try:
        yield
    finally:
        _policy.folded = None
        for report in folded.values():
            repeated = (
                f"; the same report came {report.count} times in this run, folded into this one"
                if report.count > 1
                else ""
            )
            warnings.warn_explicit(
                report.message + repeated,
                NonFiniteWarning,
                report.filename,
                report.lineno,
                module=report.module_globals.get("__name__"),
                registry=report.module_globals.setdefault("__warningregistry__", {}),
                module_globals=report.module_globals,
            )


#: What differs between reports of one kind: node ids, and the counts of inf and NaN.
_VARYING = re.compile(r"(?<=result #)\d+|(?<=leaf #)\d+|\(\d+ (?:nan|inf)[^()]* elements\)")


def _kind(message: str) -> str:
    return _VARYING.sub("…", message)


def _frame(depth: int) -> FrameType:
    """The frame ``depth`` levels above the caller (depth 0: the caller), or the outermost."""
    frame = sys._getframe(1)
    for _ in range(depth):
        if frame.f_back is None:
            break
        frame = frame.f_back
    return frame


def all_finite(array: np.ndarray) -> bool:
    """True when every element of ``array`` is finite; never warns, whatever np.errstate says."""
    if array.ndim == 0:
        return math.isfinite(array)
    if array.size > _EXACT_UP_TO and 0 in array.strides:
        array = _distinct_elements(array)
    flat = array.ravel(order="K")
    if flat.size <= _EXACT_UP_TO:
        return bool(_count_nonzero(_isfinite(flat)) == flat.size)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_by_dot(flat)


def all_finite_ignoring_errors(array: np.ndarray) -> bool:
    """``all_finite`` for callers whose np.errstate neither warns nor raises (backward's)."""
    if array.ndim == 0:
        return math.isfinite(array)
    if array.size > _EXACT_UP_TO and 0 in array.strides:
        array = _distinct_elements(array)
    flat = array.ravel(order="K")
    if flat.size <= _EXACT_UP_TO:
        return bool(_count_nonzero(_isfinite(flat)) == flat.size)
    return _finite_by_dot(flat)


def _distinct_elements(array: np.ndarray) -> np.ndarray:
    # A broadcast view repeats its elements along its zero strides: one of each repeat is
    # checked (a view), where ravel would copy every repeat (cg.compile's stand-ins for data
    # larger than memory are such views).
    return array[tuple(0 if stride == 0 else slice(None) for stride in array.strides)]


def _finite_by_dot(flat: np.ndarray) -> bool:
    # x·x is one BLAS pass with no temporary, several times cheaper than isfinite() on large
    # arrays; it is inf/NaN whenever an element is, and a finite array whose sum of squares
    # merely overflows (1e200) is settled by the exact test.
    return math.isfinite(flat.dot(flat)) or _count_nonzero(_isfinite(flat)) == flat.size


#: Up to this many elements the exact test costs less than the errstate the dot product
#: needs (count_nonzero: a third of the cost of isfinite().all(), a Python-level method).
_EXACT_UP_TO = 2048
_isfinite = np.isfinite
_count_nonzero = np.count_nonzero


#: The live nodes whose values are not finite. A graph that holds none has gradients that can
#: only turn non-finite through a floating-point exception (overflow, 0/0, inf - inf, ...),
#: which backward catches with NumPy's error flags instead of a pass over every gradient.
#: Keyed by ``node.id``: a WeakSet would compare nodes with ==, which Nodes refuse.
holding_nonfinite: weakref.WeakValueDictionary[int, Node] = weakref.WeakValueDictionary()


try:
    # NumPy 2's np.errstate is these two calls behind a Python class, whose layers cost more
    # than the passes they wrap at the lessons' sizes (1 µs): made directly, with the same
    # arguments, they give the same state.
    from numpy._core._ufunc_config import _extobj_contextvar  # type: ignore[attr-defined]
    from numpy._core.umath import _make_extobj
except ImportError:  # NumPy 1: np.errstate itself
    _extobj_contextvar = None


def enter_errstate(**settings: Any) -> Any:
    """Enter ``np.errstate(**settings)`` at a third of its cost, for code run per op or per
    call; returns what ``leave_errstate`` takes (leave it in a ``finally``).

    Example:
        >>> import numpy as np
        >>> before = np.geterr()
        >>> state = enter_errstate(over="ignore")
        >>> try:
        ...     big = np.exp(np.array([1000.0]))  # no overflow warning
        ... finally:
        ...     leave_errstate(state)
        >>> big.tolist(), np.geterr() == before
        ([inf], True)
    """
    if _extobj_contextvar is None:
        state = np.errstate(**settings)
        state.__enter__()
        return state
    return _extobj_contextvar.set(_make_extobj(**settings))


def leave_errstate(state: Any) -> None:
    """Leave what ``enter_errstate`` entered: NumPy's settings are the caller's again."""
    if _extobj_contextvar is None:
        state.__exit__(None, None, None)
    else:
        _extobj_contextvar.reset(state)


class FloatingPointEvents:
    """An ``np.errstate(call=...)`` handler that only notes that an exception was signalled."""

    def __init__(self) -> None:
        self.signalled = False

    def __call__(self, kind: str, flag: int) -> None:
        self.signalled = True


def describe_nonfinite(array: np.ndarray) -> str:
    """Count the NaNs and infinities in ``array`` for a report, e.g. ``'2 nan, 1 inf of 6'``."""
    nan = int(np.isnan(array).sum())
    inf = int(np.isinf(array).sum())
    parts = [f"{nan} nan" if nan else "", f"{inf} inf" if inf else ""]
    return ", ".join(p for p in parts if p) + f" of {array.size} elements"


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def outside_compgraph() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller name the user's line:
    the first frame up the stack outside the compgraph package (its own code is no help)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def report(message: str, stacklevel: int | None = None) -> None:
    """Warn or raise ``message`` according to the current policy.

    The warning names the first line outside compgraph (the user's ``backward()`` call or
    op), unless ``stacklevel`` says otherwise.
    """
    policy = _policy.nonfinite
    if policy == "raise":
        raise NonFiniteError(message)
    if policy != "warn":
        return
    level = outside_compgraph() if stacklevel is None else stacklevel + 1
    folded = _policy.folded
    if folded is None:
        warnings.warn(message, NonFiniteWarning, stacklevel=level)
        return
    kind = _kind(message)
    if kind in folded:
        folded[kind].count += 1
        return
    # The frame warnings.warn(stacklevel=level) would name from here.
    frame = _frame(level - 1)
    folded[kind] = _Folded(message, frame.f_code.co_filename, frame.f_lineno, frame.f_globals)


def report_nonfinite_value(node: Node, op: type[Op] | None, inputs: tuple[Node, ...]) -> None:
    """Report the non-finite ``node`` (made by ``op`` from ``inputs``) where it first appears.

    Every op output and every ``Node(...)`` is checked when it is created, so a non-finite
    input that an op produced was reported already; reporting it again at every op
    downstream would bury the first report. Constants (numbers and arrays passed as
    operands) are not checked when wrapped, which would cost a pass over data the size of
    X at every use: a non-finite one is blamed here, by name, at the first op whose output
    it makes non-finite. Non-finite leaves are named again at each op they spoil: their own
    report may have been made under another policy, and ``detach()`` makes leaves unchecked.
    """
    holding_nonfinite[node.id] = node  # even when ignored: backward must then check exactly
    if _policy.nonfinite == "ignore":
        return
    bad_inputs = [x for x in inputs if not all_finite(x.value)]
    if bad_inputs and all(x.op is not None for x in bad_inputs):
        return
    if op is None:
        where = f"leaf value {node.describe()}"
    elif bad_inputs:
        bad = ", ".join(x.describe() for x in bad_inputs)
        where = f"{op.name} output {node.describe()}, computed from the non-finite leaf {bad},"
    else:
        operands = ", ".join(x.describe() for x in inputs)
        where = f"{op.name} output {node.describe()}, computed from finite {operands},"
    hint = (
        f"; {op.nonfinite_hint}" if op is not None and op.nonfinite_hint and not bad_inputs else ""
    )
    report(
        f"{where} is not finite ({describe_nonfinite(node.value)}){hint}; "
        "compgraph.seterr(nonfinite='raise') stops at the first one",
    )
