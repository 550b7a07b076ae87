"""Gradient checks: the engine's gradients against float64 central differences.

Three levels, from the oracle up:

* ``numerical_gradient(f, x)``: central differences of a scalar NumPy function;
* ``gradcheck(f, *inputs)``: the whole gradient of a compgraph function, input by input;
* ``check_graph(root)``: every recorded op's vjp on its own, at the values it saw, so a
  wrong gradient is traced to the node that computes it.

Errors of a central difference. Element i moves by the step h = ε·max(1, |xᵢ|): ε itself
near 0, a fixed fraction of xᵢ for large values. A fixed step fails at large values: the
float64 spacing at 1e10 is 1.9e-6, so 1e10 ± 1e-6 rounds back to 1e10 and every correct
gradient would read 0. The quotient divides by the distance between the two points as
float64 holds them, so it is exact for a linear function at every magnitude. For a smooth
f, (f(x+h) − f(x−h)) / 2h = f'(x) + h²f'''(ξ)/6 (truncation) plus the rounding of the two
evaluations divided by 2h, about u·|f|/h with u = 2⁻⁵³ ≈ 1.1e-16 (more when f is the
difference of large terms). With the default ε = 1e-6 and |x| <= 1 the truncation term is
≈ 1.7e-13·|f'''| and the rounding term ≈ 1.1e-10·|f|, so the absolute tolerance 1e-6 holds
for |f| (and its intermediate sums) up to ~10³ and |f'''| up to ~10⁶, while the relative
tolerance 1e-5 is 100 times finer than a vjp that is off by 0.1%. For |x| > 1 both errors
grow with the point, but relative to |f'| they do not: the truncation is ε²·|x²f'''/f'|/6
and the rounding u·|f|/(ε·|x·f'|), at most 2e-13·k² and 1.1e-10/k for a power xᵏ, 3e-13
and 1.1e-10·|ln x| for log x, whatever the magnitude (x² and log x check to 1e-8 at 1e10).
The price is a coarser step where f varies on a scale much finer than |x| (at x = 10⁴ the
step is 10⁻², too coarse for sin x: pass a smaller ``eps``). Elements of very different
sizes summed together still lose the small ones' steps to rounding (the 1 in 1e10 + 1):
raise ``atol`` to about u·|f|/ε there, or check such inputs at a rescaled point.

Where the difference at that step disagrees with the engine, the check does not accuse
it yet: a step of 1e-6 is a tenth of x = 1e-5 (1/x's difference quotient is then 1% off),
and below float32's resolution when f computes in float32 (``astype``). It extrapolates
the derivative from ladders of steps (Ridders' method) starting at fractions of |xᵢ| and
of max(1, |xᵢ|), with an error floor of the rounding of f at its least precise dtype, and
then decides: an estimate that agrees passes; slopes on either side that stay apart as the
step shrinks mean f is not differentiable there (a kink, where the engine's gradient is
the op's convention: it passes, and the report says so); a confirmed estimate that
disagrees by more than its own error is a wrong gradient; anything else is reported as
"cannot decide", with the reason, and does not pass. ``check_graph`` decides each op the
same way, so it blames only an op that is decidedly wrong.

The course's summary number is the relative difference ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂) of the
analytic gradient g and the numeric ĝ (0 when both vanish). Its usual reading, reported as
``verdict``: below 1e-7 ``"great"``; below 1e-5 ``"fine"`` (expected near kinks or with
large values); below 1e-3 ``"suspicious"``; otherwise ``"wrong"``. The ratio is rounding
noise when every gradient element is within ``atol`` of 0 (x² at x = 1e-30, say): the
verdict is then ``"negligible"``. Pass or fail is decided
element by element, |g − ĝ| <= atol + rtol·|ĝ|, which a single wrong element cannot hide in.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compgraph import numerics
from compgraph.autodiff import gradients
from compgraph.errors import GradientCheckError, NonFiniteError, OpError, ShapeError
from compgraph.graph import ancestors, topological_order
from compgraph.node import Node, apply, enable_grad, is_grad_enabled, no_grad
from compgraph.ops import Op
from compgraph.values import as_flag, as_float_array, preview

__all__ = [
    "GradcheckReport",
    "GraphCheckReport",
    "InputCheck",
    "NodeCheck",
    "check_graph",
    "gradcheck",
    "gradgradcheck",
    "numerical_gradient",
    "relative_difference",
]

EPS, RTOL, ATOL = 1e-6, 1e-5, 1e-6
#: The smallest relative step: below float64's machine epsilon, x ± eps·max(1, |x|) can
#: round back to x.
MIN_EPS = float(np.finfo(np.float64).eps)
#: What gradgradcheck differentiates: f's gradient along seeded random directions uᵢ.
DIRECTIONAL_DERIVATIVE = "S = Σᵢ⟨uᵢ, ∂f/∂xᵢ⟩"
#: check_graph's default cap on the elements checked per op input (a seeded random subset).
GRAPH_MAX_ELEMENTS = 1000
#: How many undecided elements of one input the report explains.
NOTES_SHOWN = 3
_VERDICTS = ((1e-7, "great"), (1e-5, "fine"), (1e-3, "suspicious"))


def _central_differences(
    f: Callable[[np.ndarray], Any], point: np.ndarray, indices: Iterable[int], eps: float
) -> Iterator[Any]:
    """Yield (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ, hᵢ = ε·max(1, |xᵢ|), for each flat index i.

    ``point`` is perturbed in place and restored. ``f`` may return an array: the difference
    is taken element by element before anything else, so outputs the perturbation does not
    touch cancel exactly instead of adding noise.
    """
    flat = point.reshape(-1)
    if not np.shares_memory(flat, point):  # pragma: no cover - callers pass contiguous arrays
        raise ValueError("the point must be a contiguous array")
    for i in indices:
        original = flat[i]
        step = eps * max(1.0, abs(original))
        flat[i] = above_at = original + step
        above = f(point)
        if isinstance(above, np.ndarray):
            # f may return a view of the point (transpose, reshape): keep this value, and
            # take the difference before the point changes again.
            above = above.copy()
        flat[i] = below_at = original - step
        # x ± h are rounded to float64: divide by the distance between the points evaluated.
        difference = (above - f(point)) / (above_at - below_at)
        flat[i] = original
        yield difference


#: What the check concluded about one element (``_judge``).
DECIDED, NOT_DIFFERENTIABLE, UNDECIDED = 0, 1, 2
#: Ridders' extrapolation: at most this many steps, each one half the last.
RIDDERS_LEVELS, RIDDERS_SHRINK = 24, 2.0


def precision_of(nodes: Iterable[Node]) -> float:
    """The machine epsilon of the least precise float among ``nodes``' values (float64's
    if none is a float): f is computed no more precisely than its roughest intermediate."""
    epsilons = [np.finfo(node.dtype).eps for node in nodes if node.dtype.kind == "f"]
    return float(max(epsilons, default=np.finfo(np.float64).eps))


class _Slopes:
    """Difference quotients of f along one element of ``point`` (moved in place, restored).

    ``f`` returns a number or an array; with ``weights`` the change of the array is
    weighted and summed, Σ w ⊙ (f(a) − f(b)), after the difference is taken, so outputs
    the move does not touch cancel exactly instead of adding rounding.
    """

    def __init__(
        self, f: Callable[[np.ndarray], Any], point: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        self.f, self.point, self.weights = f, point, weights
        self.flat = point.reshape(-1)
        if point.size and not np.shares_memory(self.flat, point):  # pragma: no cover
            raise ValueError("the point must be a contiguous array")
        #: The largest |f| (Σ|w ⊙ f| with weights) seen: f's rounding is about
        #: precision·largest.
        self.largest = 0.0

    def _at(self, i: int, value: float) -> Any:
        self.flat[i] = value
        out = self.f(self.point)
        # f may return a view of the point (transpose, reshape): keep this value.
        out = np.array(out, dtype=np.float64)
        with np.errstate(all="ignore"):
            terms = np.abs(out if self.weights is None else self.weights * out)
            self.largest = max(self.largest, float(np.sum(terms)))
        return out

    def change(self, i: int, above: float, below: float) -> float:
        """f(x with xᵢ = above) − f(x with xᵢ = below), weighted and summed."""
        original = self.flat[i]
        try:
            difference = self._at(i, above) - self._at(i, below)
        finally:
            self.flat[i] = original
        if self.weights is not None:
            return float(np.sum(self.weights * difference))
        return float(difference)

    def central(self, i: int, h: float) -> float:
        """(f(x + h) − f(x − h)) / 2h, dividing by the distance between the points as float64
        holds them: exact for a linear f at every magnitude."""
        x = float(self.flat[i])
        above, below = x + h, x - h
        return self.change(i, above, below) / (above - below)

    def one_sided(self, i: int, h: float) -> tuple[float, float]:
        """The slopes (f(x + h) − f(x)) / h and (f(x) − f(x − h)) / h."""
        x = float(self.flat[i])
        above, below = x + h, x - h
        return (
            self.change(i, above, x) / (above - x),
            self.change(i, x, below) / (x - below),
        )


def _ridders(
    slope: Callable[[float], float], start: float, rounding: Callable[[float], float]
) -> tuple[float, float]:
    """f'(x) from central differences at steps start, start/2, …, extrapolated to step 0.

    Ridders' method: the central difference D(h) = f' + c₁h² + c₂h⁴ + …, so Richardson's
    combination (4ᵏD(h/2) − D(h)) / (4ᵏ − 1) cancels one term more at each column of a
    Neville table. Returns the estimate whose neighbours in the table agree best, and that
    disagreement as its error, or the rounding of a difference at that step
    (``rounding(h)``) if larger: two entries can agree by chance. It stops when rounding
    makes the newest row worse than the
    best by half, since smaller steps only add rounding. A step where f is not finite (out
    of its domain) restarts the table at the next smaller step.
    """
    best, error = np.nan, np.inf
    previous: list[float] = []
    h = start
    for _ in range(RIDDERS_LEVELS):
        first = slope(h)
        floor = rounding(h)
        h /= RIDDERS_SHRINK
        if not np.isfinite(first):
            previous = []
            continue
        row = [first]
        factor = RIDDERS_SHRINK**2
        for j in range(1, len(previous) + 1):
            row.append((row[j - 1] * factor - previous[j - 1]) / (factor - 1))
            factor *= RIDDERS_SHRINK**2
            here = max(abs(row[j] - row[j - 1]), abs(row[j] - previous[j - 1]), floor)
            if here <= error:
                best, error = row[j], here
        if previous and abs(row[-1] - previous[-1]) >= 2 * error:
            break
        previous = row
    return best, error


def _judge(
    slopes: _Slopes,
    i: int,
    analytic: float,
    step: float,
    rtol: float,
    atol: float,
    precision: float,
) -> tuple[float, int, str]:
    """Decide element i whose difference at the default step disagreed with ``analytic``.

    Returns (numeric estimate, DECIDED / NOT_DIFFERENTIABLE / UNDECIDED, why not decided).
    The estimates are Ridders' extrapolations from steps starting at a quarter and a
    thirty-second of max(1, |xᵢ|) and of |xᵢ|: an estimate that agrees with the engine
    passes it. One-sided slopes that stay apart as the step shrinks mean f has a kink (or
    a jump) at xᵢ, where the engine's gradient is a convention that differences cannot
    check. The check decides against the engine only when a confirmed estimate disagrees
    by more than the tolerance plus three times the estimate's own error; otherwise it
    says that it cannot decide, and why.
    """
    x = abs(float(slopes.flat[i]))
    runs = []
    for scale in sorted({max(1.0, x)} | ({x} if x else set())):
        pair = [
            _ridders(
                lambda h: slopes.central(i, h), start, lambda h: precision * slopes.largest / h
            )
            for start in (scale / 4, scale / 32)
        ]
        runs.append(pair)
    estimates = [run for pair in runs for run in pair if np.isfinite(run[0])]
    if not estimates:
        return np.nan, UNDECIDED, "f is not finite at any step around this point"
    for estimate, _ in sorted(estimates, key=lambda run: run[1]):
        if abs(analytic - estimate) <= atol + rtol * abs(estimate):
            return estimate, DECIDED, ""
    estimate, error = min(estimates, key=lambda run: run[1])
    allowed = atol + rtol * abs(estimate)
    kink = _kink(slopes, i, max(step, precision ** (1 / 3) * max(1.0, x)), allowed, precision)
    if kink:
        return estimate, NOT_DIFFERENTIABLE, kink
    # Steps too large for f (across a pole, or where f changes on a finer scale) can give
    # consistent garbage: an estimate counts only if a run from a start 8 times smaller
    # confirms it, relative to its size (garbage near 0 would agree within atol).
    confirmed = [
        min(pair, key=lambda run: run[1])
        for pair in runs
        if all(np.isfinite(run[0]) for run in pair)
        and abs(pair[0][0] - pair[1][0])
        <= rtol * max(abs(pair[0][0]), abs(pair[1][0])) + pair[0][1] + pair[1][1]
    ]
    if confirmed:
        estimate, error = min(confirmed, key=lambda run: run[1])
        if abs(analytic - estimate) - (atol + rtol * abs(estimate)) > 3 * error:
            return estimate, DECIDED, ""
    if precision > MIN_EPS:
        why = (
            f"f computes at a precision of {precision:.2g} (float32 somewhere in it), too "
            "coarse for its differences to resolve the gradient to this tolerance; check f "
            "in float64, or loosen rtol and atol to float32's level"
        )
    else:
        why = (
            "rounding, or f changing faster than the smallest useful step; retry with a "
            "smaller eps, or at a rescaled point"
        )
    return (
        estimate,
        UNDECIDED,
        f"cannot decide: the differences do not settle (best {estimate:.8g} ± {error:.2g}, "
        f"the engine's {analytic:.8g}): {why}",
    )


def _kink(slopes: _Slopes, i: int, step: float, allowed: float, precision: float) -> str:
    """Why f is not differentiable at element i, or "" if nothing shows it.

    Smooth f: the slopes on either side differ by about h·f'', a quarter as much at a
    quarter of the step, and f changes by a quarter as much. At a kink the slopes differ by
    the same amount at every step; at a jump f changes by the same amount. Both must show
    at ``step`` and at a step near f's resolution (2¹⁶·precision·max(1, |xᵢ|): f steep
    but smooth looks like a jump to coarse steps only), by more than f's rounding.
    """
    rounding = 64 * precision * slopes.largest
    tiny = 2.0**16 * precision * max(1.0, abs(float(slopes.flat[i])))

    def persists(h: float) -> tuple[bool, bool]:
        wide, narrow = slopes.one_sided(i, h), slopes.one_sided(i, h / 4)
        gap_wide, gap_narrow = abs(wide[0] - wide[1]), abs(narrow[0] - narrow[1])
        kink = (
            gap_wide > allowed
            and gap_narrow > max(allowed, gap_wide / 2)
            and gap_narrow * h / 4 > rounding
        )
        rise_wide = max(abs(wide[0]), abs(wide[1])) * h
        rise_narrow = max(abs(narrow[0]), abs(narrow[1])) * h / 4
        return kink, rise_narrow > max(rise_wide / 2, rounding)

    (kink_coarse, _), (kink_fine, jump) = persists(step), persists(tiny)
    if (kink_coarse and kink_fine) or jump:
        left, right = slopes.one_sided(i, tiny)
        return (
            f"not differentiable here: its slopes on either side, {left:.6g} and {right:.6g} "
            f"at the step {tiny:.2g}, do not settle as the step shrinks (a kink or a jump, "
            "where the engine's gradient is the op's convention)"
        )
    return ""


def _numeric_gradient(
    slopes: _Slopes,
    indices: np.ndarray,
    analytic: np.ndarray,
    eps: float,
    rtol: float,
    atol: float,
    precision: float,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Numeric derivatives at flat ``indices``, each element's status, and (flat index, why)
    for those not decided.

    First the central difference at the step eps·max(1, |xᵢ|); where it disagrees with
    the engine, ``_judge`` extrapolates from steps relative to |xᵢ| and decides.
    """
    numeric = np.empty(indices.size)
    status = np.full(indices.size, DECIDED)
    notes: list[tuple[int, str]] = []
    for k, i in enumerate(indices):
        x = float(slopes.flat[i])
        step = eps * max(1.0, abs(x))
        numeric[k] = slopes.central(int(i), step)
        g = float(analytic[i])
        if np.isfinite(numeric[k]) and abs(g - numeric[k]) <= atol + rtol * abs(numeric[k]):
            continue
        numeric[k], status[k], note = _judge(slopes, int(i), g, step, rtol, atol, precision)
        if note:
            notes.append((int(i), note))
    return numeric, status, notes


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """Central differences (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ for every element i of ``x``.

    Args:
        f: a scalar function of one float64 array.
        x: the point; it is copied, never modified.
        eps: the relative step: element i moves by hᵢ = ε·max(1, |xᵢ|) (the module notes
            derive the error, O(h²·f''') + O(u·|f|/h)).

    Returns:
        A float64 array shaped like ``x``.

    Example:
        >>> import numpy as np
        >>> from compgraph.checks.gradcheck import numerical_gradient
        >>> g = numerical_gradient(lambda x: float((x**2).sum()), np.array([1.0, -2.0]))
        >>> np.allclose(g, [2.0, -4.0])
        True
    """
    _check_eps(eps, "numerical_gradient")
    point = np.array(x, dtype=np.float64)
    differences = _central_differences(f, point, range(point.size), eps)
    return np.fromiter(differences, np.float64, point.size).reshape(point.shape)


def relative_difference(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """The course's ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂); 0 when both gradients are 0.

    Example:
        >>> import numpy as np
        >>> from compgraph.checks.gradcheck import relative_difference
        >>> relative_difference(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 4e-8])) < 1e-7
        True
    """
    a = np.ravel(analytic)
    n = np.ravel(numeric)
    total = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / total) if total else 0.0


def _verdict(difference: float, largest: float, atol: float) -> str:
    if largest <= atol:
        return "negligible"
    for bound, word in _VERDICTS:
        if difference < bound:
            return word
    return "wrong"


@dataclass(frozen=True)
class InputCheck:
    """How the gradient of one input compares with central differences.

    ``worst_index`` is the element furthest outside the tolerance (the largest
    |g − ĝ| / (atol + rtol·|ĝ|)); ``analytic`` and ``numeric`` are the two values there.
    ``max_rel_error`` is the largest |g − ĝ| / max(|g|, |ĝ|); ``largest`` the largest |g| or
    |ĝ|; ``verdict`` the course's reading of ``relative_difference`` (module notes), or
    ``"undecided"`` / ``"not differentiable"`` when no element could be compared.
    These numbers cover the decided elements only. ``not_differentiable`` counts the
    elements where f has a kink (they pass: the engine's gradient there is a convention),
    ``undecided`` those where differences do not settle (the check cannot pass);
    ``notes`` says why, element by element. ``problem`` explains a check that could not
    compare numbers (a vjp of the wrong shape).
    """

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...] | None
    analytic: float
    numeric: float
    relative_difference: float
    largest: float
    verdict: str
    passed: bool
    problem: str = ""
    not_differentiable: int = 0
    undecided: int = 0
    notes: tuple[str, ...] = ()

    @property
    def wrong(self) -> bool:
        """Whether some decided element is outside the tolerance (or nothing was comparable)."""
        return not self.passed and (bool(self.problem) or self.verdict != "undecided")


def _compare(
    name: str,
    shape: tuple[int, ...],
    analytic: np.ndarray,
    numeric: np.ndarray,
    indices: np.ndarray,
    rtol: float,
    atol: float,
    status: np.ndarray | None = None,
    notes: Sequence[tuple[int, str]] = (),
) -> InputCheck:
    """Compare the analytic gradient (whole) with numeric values at flat ``indices``.

    ``status`` marks elements not decided (``_numeric_gradient``); they are left out of
    the numbers and counted, with ``notes`` saying why.
    """
    if status is None:
        status = np.full(indices.size, DECIDED)
    kinks = int(np.sum(status == NOT_DIFFERENTIABLE))
    undecided = int(np.sum(status == UNDECIDED))
    text = tuple(
        f"element {tuple(int(j) for j in np.unravel_index(i, shape))}: {why}" for i, why in notes
    )
    decided = status == DECIDED
    if not decided.any():
        verdict = "undecided" if undecided else ("not differentiable" if kinks else "-")
        return InputCheck(
            name, shape, int(indices.size), 0.0, 0.0, None, np.nan, np.nan, 0.0, 0.0,
            verdict, not undecided, "", kinks, undecided, text,
        )  # fmt: skip
    indices, numeric = indices[decided], numeric[decided]
    a = analytic.reshape(-1)[indices]
    error = np.abs(a - numeric)
    allowed = atol + rtol * np.abs(numeric)
    scale = np.maximum(np.abs(a), np.abs(numeric))
    with np.errstate(all="ignore"):
        rel = np.where(scale > 0, error / scale, 0.0)
        excess = np.where(np.isnan(error), np.inf, error / allowed)
    worst = int(np.argmax(excess))
    difference = relative_difference(a, numeric)
    largest = float(np.max(scale))
    within = bool(np.all(error <= allowed))
    verdict = _verdict(difference, largest, atol)
    if within and undecided:
        verdict = "undecided"
    return InputCheck(
        name=name,
        shape=shape,
        checked=int(status.size),
        max_abs_error=float(np.max(error)),
        max_rel_error=float(np.max(rel)),
        worst_index=tuple(int(i) for i in np.unravel_index(indices[worst], shape)),
        analytic=float(a[worst]),
        numeric=float(numeric[worst]),
        relative_difference=difference,
        largest=largest,
        verdict=verdict,
        passed=within and not undecided,
        not_differentiable=kinks,
        undecided=undecided,
        notes=text,
    )


def _real(value: Any, name: str, caller: str) -> float:
    """``value`` as a float, or a TypeError naming ``caller`` and the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{caller}: {name} must be a real number, not {type(value).__name__} {preview(value)}"
        )
    return float(value)


def _check_eps(eps: Any, caller: str) -> None:
    eps = _real(eps, "eps", caller)
    if not np.isfinite(eps):
        raise ValueError(f"{caller}: eps must be finite, got {eps!r}")
    if not eps > 0:
        raise ValueError(
            f"{caller}: eps must be a positive relative step (element i moves by "
            f"eps·max(1, |xᵢ|)), got {eps:g}"
        )
    if eps < MIN_EPS:
        raise ValueError(
            f"{caller}: eps={eps:g} is too small for float64: below its machine epsilon "
            f"{MIN_EPS:.3g}, x ± eps·max(1, |x|) rounds back to x; use the default {EPS:g}"
        )
    if eps >= 1:
        raise ValueError(
            f"{caller}: eps must be below 1 (element i moves by eps·max(1, |xᵢ|), as far as "
            f"it is from 0 or further), got {eps!r}; use the default {EPS:g}"
        )


def _check_options(
    caller: str,
    *,
    eps: Any,
    rtol: Any,
    atol: Any,
    max_elements: Any,
    seed: Any,
    raise_on_failure: Any,
) -> None:
    """Refuse options that would make a check meaningless, naming ``caller``, before it runs."""
    _check_eps(eps, caller)
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        value = _real(tolerance, name, caller)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(
                f"{caller}: {name} must be a finite number >= 0 (an element passes when "
                f"|g - g_numeric| <= atol + rtol·|g_numeric|), got {tolerance!r}"
            )
    if max_elements is not None:
        if isinstance(max_elements, (bool, np.bool_)) or not isinstance(
            max_elements, numbers.Integral
        ):
            raise TypeError(
                f"{caller}: max_elements must be an integer >= 1, or None for every element, "
                f"not {type(max_elements).__name__} {preview(max_elements)}"
            )
        if max_elements < 1:
            raise ValueError(
                f"{caller}: max_elements must be at least 1 (or None for every element), "
                f"got {max_elements!r}"
            )
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{caller}: seed must be a non-negative integer, not {type(seed).__name__} "
            f"{preview(seed)}"
        )
    if seed < 0:
        raise ValueError(f"{caller}: seed must be a non-negative integer, got {seed!r}")
    as_flag(raise_on_failure, f"{caller}: raise_on_failure")


def _elements_to_check(size: int, max_elements: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def _table(rows: Sequence[InputCheck]) -> str:
    """The checks as an aligned text table, one row per input."""
    header = (
        "input",
        "shape",
        "checked",
        "max abs err",
        "max rel err",
        "worst index",
        "analytic",
        "numeric",
        "rel diff",
        "result",
    )
    lines = [header]
    for row in rows:
        size = int(np.prod(row.shape))
        if row.problem:
            numbers = ("-",) * 6
        else:
            numbers = (
                f"{row.max_abs_error:.3g}",
                f"{row.max_rel_error:.3g}",
                "-" if row.worst_index is None else str(row.worst_index),
                f"{row.analytic:.8g}",
                f"{row.numeric:.8g}",
                f"{row.relative_difference:.2g}",
            )
        outcome = "ok" if row.passed else ("FAIL" if row.wrong else "UNDECIDED")
        result = f"{outcome} ({row.verdict})"
        lines.append((row.name, str(row.shape), f"{row.checked}/{size}", *numbers, result))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
    problems = [f"{row.name}: {row.problem}" for row in rows if row.problem]
    notes = []
    for row in rows:
        notes += [f"{row.name} {note}" for note in row.notes[:NOTES_SHOWN]]
        if len(row.notes) > NOTES_SHOWN:
            notes.append(f"{row.name}: {len(row.notes) - NOTES_SHOWN} more elements like these")
    return "\n".join([text, *problems, *notes])


@dataclass(frozen=True)
class GradcheckReport:
    """The result of ``gradcheck``: one ``InputCheck`` per input, and the overall verdict.

    ``check`` names the check (``"gradcheck"`` or ``"gradgradcheck"``) and ``function``
    what it differentiated (``"f"``, or the directional derivative of f), whose ``value``
    it was at the point. ``root`` is the output node of the analytic pass (its graph can be
    drawn); ``localization`` is ``check_graph(root)`` when the check failed, else ``None``.
    """

    inputs: tuple[InputCheck, ...]
    value: float
    relative_difference: float
    eps: float
    rtol: float
    atol: float
    root: Node | None = field(default=None, repr=False, compare=False)
    localization: GraphCheckReport | None = field(default=None, repr=False, compare=False)
    check: str = "gradcheck"
    function: str = "f"

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.inputs)

    @property
    def wrong(self) -> bool:
        """Whether some input's gradient is decidedly wrong (not merely undecided)."""
        return any(check.wrong for check in self.inputs)

    @property
    def verdict(self) -> str:
        """The course's reading of ``relative_difference`` over the decided elements, or
        ``"undecided"`` when nothing is wrong but some element could not be decided."""
        if not self.wrong:
            if any(check.undecided for check in self.inputs):
                return "undecided"
            if all(check.verdict == "not differentiable" for check in self.inputs):
                return "not differentiable"
        largest = max((check.largest for check in self.inputs), default=0.0)
        return _verdict(self.relative_difference, largest, self.atol)

    def __str__(self) -> str:
        outcome = "passed" if self.passed else ("FAILED" if self.wrong else "cannot decide")
        lines = [
            f"{self.check} {outcome}: {self.function} = {self.value:.8g}, relative difference "
            f"{self.relative_difference:.2g} ({self.verdict}); steps eps={self.eps:g}·max(1, |x|), "
            "extrapolated from steps relative to |x| where they disagree; pass when "
            f"|g - g_numeric| <= {self.atol:g} + {self.rtol:g}·|g_numeric|",
            _table(self.inputs),
        ]
        localization = self.localization
        if localization is not None and localization.node is not None:
            lines.append("Localized by check_graph: " + localization.summary())
        elif self.wrong:
            lines.append(
                "Every recorded op's local gradient that can be checked agrees with finite "
                "differences, so the difference comes from f itself: f not smooth at this "
                "point, or f changing on a scale smaller than every step tried (retry with "
                "a smaller eps)"
            )
            if localization is not None and localization.unchecked:
                lines.append(
                    "These ops could not be checked at the values they saw, and an op's "
                    "convention where it is not differentiable can make f's gradient differ "
                    "from f's derivative:"
                )
                lines += [f"  {line}" for line in localization.unchecked_lines()]
        elif not self.passed:
            lines.append(
                f"{self.check} cannot decide the elements above, so it does not pass; no op "
                "is blamed"
            )
        return "\n".join(lines)


def _as_point(value: Any, position: int, caller: str) -> tuple[np.ndarray, str]:
    """Input ``position`` as a float64 copy and a name; Nodes must require gradients."""
    name = f"x{position}"
    if isinstance(value, Node):
        if not value.requires_grad:
            raise ValueError(
                f"{caller} input #{position} {value.describe()} does not require a gradient, "
                "so there is nothing to check; pass its value, or create it with "
                "requires_grad=True (close over true constants in f instead)"
            )
        name = value.name or name
        value = value.value
    point = np.array(as_float_array(value, f"{caller} input #{position}"), dtype=np.float64)
    if not np.isfinite(point).all():
        raise NonFiniteError(
            f"{caller} input #{position} {name!r} of shape {point.shape} is not finite "
            f"({numerics.describe_nonfinite(point)}); check gradients at a finite point"
        )
    return point, name


def _scalar(f: Callable[..., Any], leaves: tuple[Node, ...], caller: str) -> Node:
    """``f(*leaves)`` as a one-element Node (numbers are constants), or an error naming it."""
    out = f(*leaves)
    if not isinstance(out, Node):
        if isinstance(out, (int, float, np.number)) or (
            isinstance(out, np.ndarray) and out.dtype.kind in "fiu"
        ):
            out = Node(out, requires_grad=False)
        else:
            raise TypeError(
                f"{caller}: {getattr(f, '__name__', 'f')} returned {type(out).__name__}; it "
                "must return a one-element Node computed from its Node arguments"
            )
    if out.size != 1:
        raise ShapeError(
            f"{caller}: {getattr(f, '__name__', 'f')} returned {out.describe()}; the gradient "
            "of a non-scalar is a Jacobian, so reduce it first (e.g. cg.sum(y), or "
            "cg.sum(y * weights) for a random projection)"
        )
    return out


def gradcheck(
    f: Callable[..., Node],
    *inputs: Any,
    eps: float = EPS,
    rtol: float = RTOL,
    atol: float = ATOL,
    raise_on_failure: bool = True,
    max_elements: int | None = None,
    seed: int = 0,
) -> GradcheckReport:
    """Check the engine's gradient of a scalar ``f`` against float64 central differences.

    ``f`` is called with one leaf ``Node`` per input: once recording, to backpropagate,
    then twice per checked element without recording, at x ± ε·max(1, |x|) (the step is
    relative, so that it resolves large values too). Inputs are checked in
    float64: float32 (and integer) inputs are promoted, so the check sees the maths and not
    float32 rounding (a float32 model's gradients are float32 roundings of the same values).
    The default tolerances suit float64 values of order 1 to 10³ (larger ones with steps
    relative to them); the module notes derive them. ``f`` may close over Nodes, such as a
    model's parameters: the check takes its gradients from ``cg.gradients`` and writes no
    ``.grad``.

    Args:
        f: a function of Nodes returning a one-element Node.
        *inputs: the point: numbers, arrays or Nodes that require gradients (their values
            are used; nothing is modified).
        eps: the relative finite-difference step: element i moves by ε·max(1, |xᵢ|)
            (module notes).
        rtol, atol: an element passes when |g − ĝ| <= atol + rtol·|ĝ| (ĝ numeric).
        raise_on_failure: raise ``GradientCheckError`` on failure (default) or return the
            report.
        max_elements: check at most this many elements per input, chosen at random with
            ``seed`` (the analytic gradient is always computed whole).
        seed: seeds that choice.

    Returns:
        A ``GradcheckReport``; ``str(report)`` is a table of the per-input results.

    Raises:
        GradientCheckError: the gradients disagree (an ``AssertionError``); its ``report``
            says where, and which recorded op is to blame when ``check_graph`` finds one.
        ShapeError: ``f`` returned more than one element.
        NonFiniteError: an input, ``f`` or a gradient is inf/NaN at the point, or ``f`` is
            within a step of its domain's edge.
        ValueError: an input is a Node that does not require a gradient, or an option is
            out of range: eps outside [2.2e-16, 1), a negative or non-finite rtol or atol,
            max_elements < 1 or seed < 0.
        TypeError: no inputs, ``f`` returned something other than a Node or number, or an
            option has the wrong type (eps, rtol, atol real numbers; max_elements, seed
            integers; raise_on_failure a bool).

    Example:
        >>> import numpy as np, compgraph as cg
        >>> report = cg.gradcheck(lambda w: cg.sum(cg.sigmoid(w) ** 2), np.array([0.5, -1.0]))
        >>> report.passed, report.verdict
        (True, 'great')
    """
    if not inputs:
        raise TypeError("gradcheck(f, *inputs) needs at least one input to differentiate")
    _check_options(
        "gradcheck",
        eps=eps,
        rtol=rtol,
        atol=atol,
        max_elements=max_elements,
        seed=seed,
        raise_on_failure=raise_on_failure,
    )
    report = _gradient_report(
        f,
        inputs,
        "gradcheck",
        "f",
        eps=eps,
        rtol=rtol,
        atol=atol,
        max_elements=max_elements,
        seed=seed,
    )
    if raise_on_failure and not report.passed:
        raise GradientCheckError(report)
    return report


def _gradient_report(
    f: Callable[..., Node],
    inputs: tuple[Any, ...],
    caller: str,
    function: str,
    *,
    eps: float,
    rtol: float,
    atol: float,
    max_elements: int | None,
    seed: int,
) -> GradcheckReport:
    """gradcheck's work, for options already validated: the report, localized on failure."""
    points, names = zip(*(_as_point(x, i, caller) for i, x in enumerate(inputs)), strict=True)
    leaves = tuple(Node(p, name=n) for p, n in zip(points, names, strict=True))
    root = _scalar(f, leaves, caller)
    value = root.value.item()
    if not np.isfinite(value):
        raise NonFiniteError(
            f"{caller}: {function} is {value} at the given point; choose a point in f's domain"
        )
    # A root that does not depend on the leaves (gradgradcheck's S for a constant gradient,
    # an f that ignores x) has zero gradients.
    found = gradients(root, leaves) if root.requires_grad else [None] * len(leaves)
    analytic = []
    for leaf, g in zip(leaves, found, strict=True):
        g = np.zeros(leaf.shape) if g is None else np.asarray(g, np.float64)
        if not np.isfinite(g).all():
            raise NonFiniteError(
                f"{caller}: the engine's gradient of input {leaf.describe()} is not finite "
                f"({numerics.describe_nonfinite(g)}); run with cg.seterr(nonfinite='raise') to "
                "find the op where it first appears"
            )
        analytic.append(g)

    precision = precision_of(ancestors(root))
    rng = np.random.default_rng(seed)
    checks, compared_analytic, compared_numeric = [], [], []
    with no_grad(), numerics.errstate(nonfinite="ignore"), np.errstate(all="ignore"):
        probes = tuple(Node(p, name=n) for p, n in zip(points, names, strict=True))
        for probe in probes:
            # The one place a value is changed in place: these probes belong to the check,
            # record nothing (no_grad) and are moved to x ± ε between evaluations of f.
            probe.value.flags.writeable = True
        for position, probe in enumerate(probes):
            indices = _elements_to_check(probe.size, max_elements, rng)

            def evaluate(_: np.ndarray) -> float:
                return float(_scalar(f, probes, caller).value.item())

            numeric, status, notes = _numeric_gradient(
                _Slopes(evaluate, probe.value),
                indices,
                analytic[position].reshape(-1),
                eps,
                rtol,
                atol,
                precision,
            )
            if not np.isfinite(numeric).all():
                bad = np.unravel_index(indices[~np.isfinite(numeric)][0], probe.shape)
                raise NonFiniteError(
                    f"{caller}: {function} is not finite at input {probe.describe()} element "
                    f"{tuple(int(i) for i in bad)} ± every step tried (eps·max(1, |x|) with "
                    f"eps={eps:g}, and steps relative to |x|); the point is at the edge of "
                    "f's domain (e.g. sqrt at 0): move it"
                )
            checks.append(
                _compare(
                    names[position],
                    probe.shape,
                    analytic[position],
                    numeric,
                    indices,
                    rtol,
                    atol,
                    status,
                    notes,
                )
            )
            decided = status == DECIDED
            indices, numeric = indices[decided], numeric[decided]
            compared_analytic.append(analytic[position].reshape(-1)[indices])
            compared_numeric.append(numeric)
    report = GradcheckReport(
        inputs=tuple(checks),
        value=float(value),
        relative_difference=relative_difference(
            np.concatenate(compared_analytic), np.concatenate(compared_numeric)
        ),
        eps=eps,
        rtol=rtol,
        atol=atol,
        check=caller,
        function=function,
        root=root,
    )
    if not report.wrong or root.op is None:
        return report
    localization = check_graph(
        root, eps=eps, rtol=rtol, atol=atol, raise_on_failure=False, seed=seed
    )
    return dataclasses.replace(report, localization=localization)


def gradgradcheck(
    f: Callable[..., Node],
    *inputs: Any,
    eps: float = EPS,
    rtol: float = RTOL,
    atol: float = ATOL,
    raise_on_failure: bool = True,
    max_elements: int | None = None,
    seed: int = 0,
) -> GradcheckReport:
    """Check the engine's *second* derivatives of a scalar ``f``, with ``gradcheck``'s report.

    Draws a random direction uᵢ per input (seeded) and runs ``gradcheck`` on
    S(x) = Σᵢ ⟨uᵢ, ∂f/∂xᵢ(x)⟩: the engine differentiates S through
    ``cg.gradients(..., create_graph=True)``, and central differences of S use the engine's first
    derivatives (which ``gradcheck(f, ...)`` checks). So a wrong second derivative, or a vjp
    that cannot be differentiated, is caught and reported like a wrong gradient. A gradient
    that does not depend on the inputs (3x, affine maps) is a zero second derivative. No
    ``.grad`` is written, here too.

    Args and raises: as ``gradcheck``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.gradgradcheck(lambda w: cg.sum(cg.tanh(w) ** 3), np.array([0.5, -1.0])).passed
        True
    """
    if not inputs:
        raise TypeError("gradgradcheck(f, *inputs) needs at least one input to differentiate")
    _check_options(
        "gradgradcheck",
        eps=eps,
        rtol=rtol,
        atol=atol,
        max_elements=max_elements,
        seed=seed,
        raise_on_failure=raise_on_failure,
    )
    rng = np.random.default_rng(seed)
    directions = [
        rng.standard_normal(np.shape(_as_point(x, i, "gradgradcheck")[0]))
        for i, x in enumerate(inputs)
    ]

    def along_directions(*nodes: Node) -> Node:
        if is_grad_enabled():  # the engine's side: S recorded, to be differentiated
            return directional(nodes, create_graph=True)
        # gradcheck's finite differences of S: a first-order pass on fresh leaves suffices.
        with enable_grad():
            fresh = tuple(Node(node.value) for node in nodes)
            return Node(directional(fresh, create_graph=False).value, requires_grad=False)

    def directional(nodes: tuple[Node, ...], create_graph: bool) -> Node:
        out = _scalar(f, nodes, "gradgradcheck")
        if not out.requires_grad:
            return Node(0.0, requires_grad=False)
        total: Any = 0.0
        # A gradient that does not depend on the inputs (3x, affine maps, Σ relu) is a
        # constant: S is then a constant too, and its derivative, the second one, is 0.
        for g, u in zip(gradients(out, nodes, create_graph=create_graph), directions, strict=True):
            total = total + (g * u).sum()
        return total if isinstance(total, Node) else Node(total, requires_grad=False)

    report = _gradient_report(
        along_directions,
        inputs,
        "gradgradcheck",
        DIRECTIONAL_DERIVATIVE,
        eps=eps,
        rtol=rtol,
        atol=atol,
        max_elements=max_elements,
        seed=seed,
    )
    if raise_on_failure and not report.passed:
        raise GradientCheckError(report)
    return report


@dataclass(frozen=True)
class NodeCheck:
    """The local check of one recorded op: its vjp against differences of its forward.

    ``inputs`` has one ``InputCheck`` per input that requires a gradient (the only
    gradients the backward pass uses). ``problem`` says why nothing could be compared (a
    vjp returning the wrong number of gradients); ``skipped`` why the node was not checked.
    """

    node: Node
    op: str
    input_shapes: tuple[tuple[int, ...], ...]
    inputs: tuple[InputCheck, ...]
    problem: str = ""
    skipped: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and all(check.passed for check in self.inputs)

    @property
    def wrong(self) -> bool:
        """Whether the op's vjp is decidedly wrong (not merely impossible to check here)."""
        return bool(self.problem) or any(check.wrong for check in self.inputs)

    @property
    def notes(self) -> tuple[str, ...]:
        """Why some elements could not be checked: the op is at a kink, or differences
        of its forward do not settle."""
        return tuple(f"input {check.name} {note}" for check in self.inputs for note in check.notes)

    def describe(self) -> str:
        """E.g. ``"unnamed mul result #7 of shape (3,) = mul((3,), (1, 3))"``."""
        shapes = ", ".join(str(shape) for shape in self.input_shapes)
        return f"{self.node.describe()} = {self.op}({shapes})"


@dataclass(frozen=True)
class GraphCheckReport:
    """The result of ``check_graph``: one ``NodeCheck`` per recorded op, leaves first.

    ``node`` is the first node (from the leaves) whose local gradient is wrong, or ``None``:
    hand it to a renderer as ``highlight=[report.node]`` to draw it in red.
    """

    root: Node = field(repr=False)
    checks: tuple[NodeCheck, ...]
    eps: float
    rtol: float
    atol: float

    @property
    def failures(self) -> tuple[NodeCheck, ...]:
        """The ops whose vjp is decidedly wrong."""
        return tuple(check for check in self.checks if check.wrong)

    @property
    def unchecked(self) -> tuple[NodeCheck, ...]:
        """The ops not wrong that have elements the check could not decide (a kink, or
        differences that do not settle): it blames none of them."""
        return tuple(check for check in self.checks if not check.wrong and check.notes)

    def unchecked_lines(self) -> list[str]:
        """One line per note of the unchecked ops."""
        return [f"{check.describe()}: {note}" for check in self.unchecked for note in check.notes]

    @property
    def node(self) -> Node | None:
        failures = self.failures
        return failures[0].node if failures else None

    @property
    def passed(self) -> bool:
        """No op is wrong, and every op's elements were decided (a kink counts as decided:
        the op's convention there is not something differences can check)."""
        return all(check.passed for check in self.checks)

    def summary(self) -> str:
        """One line naming the first failing node, its op and input shapes, and the error."""
        failures = self.failures
        if not failures:
            if not self.passed:
                return (
                    "no recorded op's local gradient is wrong, but some cannot be decided "
                    "at the values they saw"
                )
            return f"the local gradients of all {len(self.checks)} recorded ops match"
        first = failures[0]
        worst = max(first.inputs, key=lambda c: (not c.passed, c.max_abs_error), default=None)
        if first.problem:
            error = first.problem
        elif worst is not None and worst.problem:
            error = f"input {worst.name}: {worst.problem}"
        else:
            # A failing op without a problem of its own has a failing input: the worst.
            assert worst is not None
            error = (
                f"input {worst.name} gradient {worst.analytic:.8g} vs numeric {worst.numeric:.8g} "
                f"at {worst.worst_index} (max abs error {worst.max_abs_error:.3g})"
            )
        more = f" ({len(failures) - 1} more ops fail)" if len(failures) > 1 else ""
        return f"first wrong vjp: {first.describe()}: {error}{more}"

    def __str__(self) -> str:
        skipped = [check for check in self.checks if check.skipped]
        outcome = "passed" if self.passed else ("FAILED" if self.failures else "cannot decide")
        lines = [
            f"check_graph {outcome}: {len(self.checks)} ops checked "
            f"from the leaves of {self.root.describe()}; {self.summary()}"
        ]
        for check in self.failures:
            lines += [
                f"{check.describe()}:",
                _table(check.inputs) if check.inputs else check.problem,
            ]
        lines += [f"skipped {check.describe()}: {check.skipped}" for check in skipped]
        lines += self.unchecked_lines()
        return "\n".join(lines)


def _check_node(
    node: Node,
    eps: float,
    rtol: float,
    atol: float,
    max_elements: int | None,
    rng: np.random.Generator,
) -> NodeCheck:
    op, parents, attrs = node.op, node.parents, node.attrs
    assert op is not None, "check_graph checks only the recorded ops, never the leaves"
    shapes = tuple(parent.shape for parent in parents)
    # Promoted to float64 so the check measures the rule, not float32 rounding.
    inputs = [np.array(parent.value, dtype=np.float64) for parent in parents]
    if not all(np.isfinite(x).all() for x in inputs):
        return NodeCheck(node, op.name, shapes, (), skipped="an input is not finite")
    # The op alone, rebuilt on fresh leaves at the values it saw: the engine's gradients of
    # this one-op graph are exactly what its vjp sends back in the real pass (fitted to
    # each input's shape, None never passing for an input that needs a gradient).
    leaves = tuple(
        Node(x, requires_grad=parent.requires_grad)
        for x, parent in zip(inputs, parents, strict=True)
    )
    with enable_grad():
        local = apply(op, *leaves, **attrs)
    # An op that computes in float32 (astype) rounds as float32 whatever its inputs.
    precision = float(np.finfo(local.dtype).eps)
    g = rng.standard_normal(local.shape)
    wanted = [leaf for leaf in leaves if leaf.requires_grad]
    try:
        found = iter(gradients(local, wanted, grad=g.astype(local.dtype)) if wanted else ())
    except OpError as error:
        if op.vjp is Op.vjp:  # no vjp at all: nothing to check, as backward() would say
            raise
        return NodeCheck(node, op.name, shapes, (), problem=str(error))
    checks = []
    for position, parent in enumerate(parents):
        if not parent.requires_grad:
            continue
        name = f"#{position} {_label(parent)}"
        analytic = np.asarray(next(found), dtype=np.float64)
        indices = _elements_to_check(parent.size, max_elements, rng)
        arguments = list(inputs)
        arguments[position] = inputs[position].copy()

        def forward(_: np.ndarray, arguments: list[np.ndarray] = arguments) -> np.ndarray:
            return np.asarray(op.forward(*arguments, **attrs))

        numeric, status, notes = _numeric_gradient(
            _Slopes(forward, arguments[position], weights=g),
            indices,
            analytic.reshape(-1),
            eps,
            rtol,
            atol,
            precision,
        )
        if not np.isfinite(numeric).all():
            return NodeCheck(
                node,
                op.name,
                shapes,
                (),
                skipped=f"its forward is not finite within a step of input {name}",
            )
        checks.append(
            _compare(name, parent.shape, analytic, numeric, indices, rtol, atol, status, notes)
        )
    return NodeCheck(node, op.name, shapes, tuple(checks))


def _label(node: Node) -> str:
    if node.name is not None:
        return repr(node.name)
    return f"{node.op.name} #{node.id}" if node.op is not None else f"leaf #{node.id}"


def check_graph(
    root: Node,
    *,
    eps: float = EPS,
    rtol: float = RTOL,
    atol: float = ATOL,
    raise_on_failure: bool = True,
    max_elements: int | None = GRAPH_MAX_ELEMENTS,
    seed: int = 0,
) -> GraphCheckReport:
    """Re-check every recorded op's vjp numerically, at the inputs it saw, leaves first.

    For each op node y = op(x₁, …, xₖ) in topological order, draws a random upstream
    gradient g (standard normal, seeded) and compares the vjp's gradient for each input
    that requires one, reduced to the input's shape as the backward pass reduces it, with
    central differences of φ(xᵢ) = Σ g ⊙ op.forward(…, xᵢ, …). Each op is checked alone,
    so the first failure is the node whose rule is wrong, not merely downstream of it.
    Values are promoted to float64; the tolerances mean what they mean in ``gradcheck``.
    The cost is two forwards per checked element, so big inputs are subsampled.

    Args:
        root: the output of a recorded computation (backward need not have run).
        eps, rtol, atol: as in ``gradcheck``.
        raise_on_failure: raise ``GradientCheckError`` when a node fails (default), or
            return the report.
        max_elements: check at most this many elements of each op input (a random subset
            drawn with ``seed``); ``None`` checks every element.
        seed: seeds the upstream gradients and the subsets.

    Returns:
        A ``GraphCheckReport``; its ``node`` is the first failing node (``None`` if all pass).

    Raises:
        GradientCheckError: some op's local gradient is wrong (the report names the first).
        OpError: an op has no vjp.
        ValueError: an option is out of range (the ranges of ``gradcheck``).
        TypeError: ``root`` is not a Node, or an option has the wrong type.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> x = cg.Node(np.array([0.5, 2.0]), name="x")
        >>> report = cg.check_graph(cg.sum(cg.log(x) * x))
        >>> report.passed, [check.op for check in report.checks]
        (True, ['log', 'mul', 'sum'])
    """
    if not isinstance(root, Node):
        raise TypeError(
            "check_graph takes the root Node of a recorded computation (the output of f "
            f"called on Nodes), not {type(root).__name__} {preview(root)}; to check a "
            "function at a point, call gradcheck(f, *inputs)"
        )
    _check_options(
        "check_graph",
        eps=eps,
        rtol=rtol,
        atol=atol,
        max_elements=max_elements,
        seed=seed,
        raise_on_failure=raise_on_failure,
    )
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        checks = tuple(
            _check_node(node, eps, rtol, atol, max_elements, rng)
            for node in topological_order(root)
            if node.op is not None
        )
    report = GraphCheckReport(root, checks, eps, rtol, atol)
    if raise_on_failure and not report.passed:
        raise GradientCheckError(report)
    return report
