"""Gradient checks: the engine's gradients against float64 central differences.

Three levels, from the oracle up:

* ``numerical_gradient(f, x)``: central differences of a scalar NumPy function;
* ``gradcheck(f, *inputs)``: the whole gradient of a compgraph function, input by input;
* ``check_graph(root)``: every recorded op's vjp on its own, at the values it saw, so a
  wrong gradient is traced to the node that computes it.

Errors of a central difference. For a step ε, (f(x+ε) − f(x−ε)) / 2ε = f'(x) + ε²f'''(ξ)/6
(truncation) plus the rounding of the two evaluations divided by 2ε, about u·|f|/ε with
u = 2⁻⁵³ ≈ 1.1e-16 (more when f is the difference of large terms). The sum is smallest
near ε = (3u|f|/|f'''|)^(1/3) ≈ 1e-5 for values of order 1. With the default ε = 1e-6 the
truncation term is ≈ 1.7e-13·|f'''| and the rounding term ≈ 1.1e-10·|f|, so an absolute
tolerance of 1e-6 holds for |f| (and its intermediate sums) up to ~10³ and |f'''| up to
~10⁶, while the relative tolerance 1e-5 is 100 times finer than a vjp that is off by 0.1%.
Scale ``atol`` with |f| for larger values.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compgraph import numerics
from compgraph.autodiff import no_vjp_error
from compgraph.errors import GradientCheckError, NonFiniteError, ShapeError
from compgraph.graph import ancestors, topological_order
from compgraph.node import Node, enable_grad, is_grad_enabled, no_grad
from compgraph.ops import unbroadcast
from compgraph.values import as_float_array

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
#: check_graph's default cap on the elements checked per op input (a seeded random subset).
GRAPH_MAX_ELEMENTS = 1000
_VERDICTS = ((1e-7, "great"), (1e-5, "fine"), (1e-3, "suspicious"))


def _central_differences(
    f: Callable[[np.ndarray], Any], point: np.ndarray, indices: Sequence[int], eps: float
) -> Iterator[Any]:
    """Yield (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for each flat index i, perturbing ``point`` in place.

    ``f`` may return an array: the difference is taken element by element before anything
    else, so outputs the perturbation does not touch cancel exactly instead of adding noise.
    """
    flat = point.reshape(-1)
    if not np.shares_memory(flat, point):  # pragma: no cover - callers pass contiguous arrays
        raise ValueError("the point must be a contiguous array")
    for i in indices:
        original = flat[i]
        flat[i] = original + eps
        above = f(point)
        if isinstance(above, np.ndarray):
            # f may return a view of the point (transpose, reshape): keep this value, and
            # take the difference before the point changes again.
            above = above.copy()
        flat[i] = original - eps
        difference = (above - f(point)) / (2 * eps)
        flat[i] = original
        yield difference


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """Central differences (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for every element i of ``x``.

    Args:
        f: a scalar function of one float64 array.
        x: the point; it is copied, never modified.
        eps: the step ε (see the module notes for its error: O(ε²·f''') + O(u·|f|/ε)).

    Returns:
        A float64 array shaped like ``x``.

    Example:
        >>> import numpy as np
        >>> from compgraph.gradcheck import numerical_gradient
        >>> g = numerical_gradient(lambda x: float((x**2).sum()), np.array([1.0, -2.0]))
        >>> np.allclose(g, [2.0, -4.0])
        True
    """
    point = np.array(x, dtype=np.float64)
    differences = _central_differences(f, point, range(point.size), eps)
    return np.fromiter(differences, np.float64, point.size).reshape(point.shape)


def relative_difference(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """The course's ‖g − ĝ‖₂ / (‖g‖₂ + ‖ĝ‖₂); 0 when both gradients are 0.

    Example:
        >>> import numpy as np
        >>> from compgraph.gradcheck import relative_difference
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
    |ĝ|; ``verdict`` the course's reading of ``relative_difference`` (module notes).
    ``problem`` explains a check that could not compare numbers (a vjp of the wrong shape).
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


def _compare(
    name: str,
    shape: tuple[int, ...],
    analytic: np.ndarray,
    numeric: np.ndarray,
    indices: np.ndarray,
    rtol: float,
    atol: float,
) -> InputCheck:
    """Compare the analytic gradient (whole) with numeric values at flat ``indices``."""
    if indices.size == 0:
        return InputCheck(name, shape, 0, 0.0, 0.0, None, np.nan, np.nan, 0.0, 0.0, "-", True)
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
    return InputCheck(
        name=name,
        shape=shape,
        checked=int(indices.size),
        max_abs_error=float(np.max(error)),
        max_rel_error=float(np.max(rel)),
        worst_index=tuple(int(i) for i in np.unravel_index(indices[worst], shape)),
        analytic=float(a[worst]),
        numeric=float(numeric[worst]),
        relative_difference=difference,
        largest=largest,
        verdict=_verdict(difference, largest, atol),
        passed=bool(np.all(error <= allowed)),
    )


def _check_options(eps: float, max_elements: int | None, caller: str) -> None:
    if not eps > 0:
        raise ValueError(f"{caller}: eps must be a positive step, got {eps!r}")
    if max_elements is not None and max_elements < 1:
        raise ValueError(
            f"{caller}: max_elements must be at least 1 (or None for every element), "
            f"got {max_elements!r}"
        )


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
        result = ("ok" if row.passed else "FAIL") + f" ({row.verdict})"
        lines.append((row.name, str(row.shape), f"{row.checked}/{size}", *numbers, result))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
    problems = [f"{row.name}: {row.problem}" for row in rows if row.problem]
    return "\n".join([text, *problems])


@dataclass(frozen=True)
class GradcheckReport:
    """The result of ``gradcheck``: one ``InputCheck`` per input, and the overall verdict.

    ``root`` is the output node of the analytic pass (its graph can be drawn);
    ``localization`` is ``check_graph(root)`` when the check failed, else ``None``.
    """

    inputs: tuple[InputCheck, ...]
    value: float
    relative_difference: float
    eps: float
    rtol: float
    atol: float
    root: Node | None = field(default=None, repr=False, compare=False)
    localization: GraphCheckReport | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.inputs)

    @property
    def verdict(self) -> str:
        """The course's reading of ``relative_difference`` over all checked elements."""
        largest = max((check.largest for check in self.inputs), default=0.0)
        return _verdict(self.relative_difference, largest, self.atol)

    def __str__(self) -> str:
        outcome = "passed" if self.passed else "FAILED"
        lines = [
            f"gradcheck {outcome}: f = {self.value:.8g}, relative difference "
            f"{self.relative_difference:.2g} ({self.verdict}); eps={self.eps:g}, "
            f"pass when |g - g_numeric| <= {self.atol:g} + {self.rtol:g}·|g_numeric|",
            _table(self.inputs),
        ]
        if self.localization is not None and self.localization.node is not None:
            lines.append("Localized by check_graph: " + self.localization.summary())
        elif not self.passed:
            rounding = 1.1e-16 * abs(self.value) / self.eps
            lines.append(
                "Every recorded op's local gradient agrees with finite differences, so the "
                "difference comes from f itself: f not smooth at this point, or values so "
                f"large that rounding (≈ 1.1e-16·|f|/eps = {rounding:.2g}) "
                "exceeds atol"
            )
        return "\n".join(lines)


def _as_point(value: Any, position: int) -> tuple[np.ndarray, str]:
    """Input ``position`` as a float64 copy and a name; Nodes must require gradients."""
    name = f"x{position}"
    if isinstance(value, Node):
        if not value.requires_grad:
            raise ValueError(
                f"gradcheck input #{position} {value.describe()} does not require a gradient, "
                "so there is nothing to check; pass its value, or create it with "
                "requires_grad=True (close over true constants in f instead)"
            )
        name = value.name or name
        value = value.value
    point = np.array(as_float_array(value, f"gradcheck input #{position}"), dtype=np.float64)
    if not np.isfinite(point).all():
        raise NonFiniteError(
            f"gradcheck input #{position} {name!r} of shape {point.shape} is not finite "
            f"({numerics.describe_nonfinite(point)}); check gradients at a finite point"
        )
    return point, name


def _scalar(f: Callable[..., Any], leaves: tuple[Node, ...]) -> Node:
    out = f(*leaves)
    if not isinstance(out, Node):
        if isinstance(out, (int, float, np.number)) or (
            isinstance(out, np.ndarray) and out.dtype.kind in "fiu"
        ):
            out = Node(out, requires_grad=False)
        else:
            raise TypeError(
                f"gradcheck: {getattr(f, '__name__', 'f')} returned {type(out).__name__}; it "
                "must return a one-element Node computed from its Node arguments"
            )
    if out.size != 1:
        raise ShapeError(
            f"gradcheck: {getattr(f, '__name__', 'f')} returned {out.describe()}; the gradient "
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
    then twice per checked element without recording, at x ± ε. Inputs are checked in
    float64: float32 (and integer) inputs are promoted, so the check sees the maths and not
    float32 rounding (a float32 model's gradients are float32 roundings of the same values).
    The default tolerances suit float64 values of order 1 to 10³; the module notes derive them.

    Args:
        f: a function of Nodes returning a one-element Node.
        *inputs: the point: numbers, arrays or Nodes that require gradients (their values
            are used; nothing is modified).
        eps: the finite-difference step.
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
        NonFiniteError: an input, ``f`` or a gradient is inf/NaN at the point or at x ± ε.
        ValueError: an input is a Node that does not require a gradient, or eps <= 0 or
            max_elements < 1.
        TypeError: no inputs, or ``f`` returned something other than a Node or number.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> report = cg.gradcheck(lambda w: cg.sum(cg.sigmoid(w) ** 2), np.array([0.5, -1.0]))
        >>> report.passed, report.verdict
        (True, 'great')
    """
    if not inputs:
        raise TypeError("gradcheck(f, *inputs) needs at least one input to differentiate")
    _check_options(eps, max_elements, "gradcheck")
    points, names = zip(*(_as_point(x, i) for i, x in enumerate(inputs)), strict=True)
    leaves = tuple(Node(p, name=n) for p, n in zip(points, names, strict=True))
    root = _scalar(f, leaves)
    value = root.value.item()
    if not np.isfinite(value):
        raise NonFiniteError(
            f"gradcheck: f is {value} at the given point; choose a point in f's domain"
        )
    if root.requires_grad:
        root.backward()
    analytic = []
    for leaf in leaves:
        g = np.zeros(leaf.shape) if leaf.grad is None else np.asarray(leaf.grad, np.float64)
        if not np.isfinite(g).all():
            raise NonFiniteError(
                f"gradcheck: the engine's gradient of input {leaf.describe()} is not finite "
                f"({numerics.describe_nonfinite(g)}); run with cg.seterr(nonfinite='raise') to "
                "find the op where it first appears"
            )
        analytic.append(g)

    rng = np.random.default_rng(seed)
    checks, compared_analytic, compared_numeric = [], [], []
    with no_grad(), numerics.errstate(nonfinite="ignore"), np.errstate(all="ignore"):
        probes = tuple(Node(p, name=n) for p, n in zip(points, names, strict=True))
        for position, probe in enumerate(probes):
            indices = _elements_to_check(probe.size, max_elements, rng)

            def evaluate(_: np.ndarray) -> float:
                return _scalar(f, probes).value.item()

            numeric = np.fromiter(
                _central_differences(evaluate, probe.value, indices, eps), np.float64, indices.size
            )
            if not np.isfinite(numeric).all():
                bad = np.unravel_index(indices[~np.isfinite(numeric)][0], probe.shape)
                raise NonFiniteError(
                    f"gradcheck: f is not finite at input {probe.describe()} element "
                    f"{tuple(int(i) for i in bad)} ± eps={eps:g}; the point is within eps of "
                    "the edge of f's domain (e.g. log near 0): move it or lower eps"
                )
            checks.append(
                _compare(
                    names[position], probe.shape, analytic[position], numeric, indices, rtol, atol
                )
            )
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
        root=root,
    )
    if report.passed:
        return report
    if root.op is not None:
        localization = check_graph(
            root, eps=eps, rtol=rtol, atol=atol, raise_on_failure=False, seed=seed
        )
        report = dataclasses.replace(report, localization=localization)
    if raise_on_failure:
        raise GradientCheckError(report)
    return report


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
    ``backward(create_graph=True)``, and central differences of S use the engine's first
    derivatives (which ``gradcheck(f, ...)`` checks). So a wrong second derivative, or a vjp
    that cannot be differentiated, is caught and reported like a wrong gradient.

    Args and raises: as ``gradcheck``.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> cg.gradgradcheck(lambda w: cg.sum(cg.tanh(w) ** 3), np.array([0.5, -1.0])).passed
        True
    """
    if not inputs:
        raise TypeError("gradgradcheck(f, *inputs) needs at least one input to differentiate")
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(np.shape(_as_point(x, i)[0])) for i, x in enumerate(inputs)]

    def along_directions(*nodes: Node) -> Node:
        if not is_grad_enabled():  # gradcheck's finite differences: first order suffices
            with enable_grad():
                fresh = tuple(Node(node.value) for node in nodes)
                return Node(along_directions(*fresh).value, requires_grad=False)
        out = _scalar(f, nodes)
        if not out.requires_grad:
            return Node(0.0, requires_grad=False)
        reached = ancestors(out)
        out.backward(create_graph=True)
        total: Any = 0.0
        for node, u in zip(nodes, directions, strict=True):
            if node in reached and node.grad is not None:
                total = total + (node.grad * u).sum()
        return total if isinstance(total, Node) else Node(total, requires_grad=False)

    along_directions.__name__ = f"directional derivative of {getattr(f, '__name__', 'f')}"
    return gradcheck(
        along_directions,
        *inputs,
        eps=eps,
        rtol=rtol,
        atol=atol,
        raise_on_failure=raise_on_failure,
        max_elements=max_elements,
        seed=seed,
    )


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
        return tuple(check for check in self.checks if not check.passed)

    @property
    def node(self) -> Node | None:
        failures = self.failures
        return failures[0].node if failures else None

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line naming the first failing node, its op and input shapes, and the error."""
        failures = self.failures
        if not failures:
            return f"the local gradients of all {len(self.checks)} recorded ops match"
        first = failures[0]
        worst = max(first.inputs, key=lambda c: (not c.passed, c.max_abs_error), default=None)
        if first.problem:
            error = first.problem
        elif worst is not None and worst.problem:
            error = f"input {worst.name}: {worst.problem}"
        else:
            error = (
                f"input {worst.name} gradient {worst.analytic:.8g} vs numeric {worst.numeric:.8g} "
                f"at {worst.worst_index} (max abs error {worst.max_abs_error:.3g})"
            )
        more = f" ({len(failures) - 1} more ops fail)" if len(failures) > 1 else ""
        return f"first wrong vjp: {first.describe()}: {error}{more}"

    def __str__(self) -> str:
        skipped = [check for check in self.checks if check.skipped]
        lines = [
            f"check_graph {'passed' if self.passed else 'FAILED'}: {len(self.checks)} ops checked "
            f"from the leaves of {self.root.describe()}; {self.summary()}"
        ]
        for check in self.failures:
            lines += [
                f"{check.describe()}:",
                _table(check.inputs) if check.inputs else check.problem,
            ]
        lines += [f"skipped {check.describe()}: {check.skipped}" for check in skipped]
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
    shapes = tuple(parent.shape for parent in parents)
    # Promoted to float64 so the check measures the rule, not float32 rounding.
    inputs = [np.array(parent.value, dtype=np.float64) for parent in parents]
    if not all(np.isfinite(x).all() for x in inputs):
        return NodeCheck(node, op.name, shapes, (), skipped="an input is not finite")
    out = np.asarray(op.forward(*inputs, **attrs), dtype=np.float64)
    g = rng.standard_normal(out.shape)
    # Ask for exactly the gradients the backward pass asks for.
    needs = {"needs_grad": tuple(p.requires_grad for p in parents)} if op.vjp_needs_grad else {}
    try:
        grads = op.vjp(g, out, *inputs, **needs, **attrs)
    except NotImplementedError:
        raise no_vjp_error(node) from None
    if not isinstance(grads, (tuple, list)) or len(grads) != len(parents):
        got = (
            f"{len(grads)} gradients" if isinstance(grads, (tuple, list)) else type(grads).__name__
        )
        return NodeCheck(
            node, op.name, shapes, (), problem=f"vjp returned {got} for {len(parents)} inputs"
        )
    checks = []
    for position, parent in enumerate(parents):
        if not parent.requires_grad:
            continue
        name = f"#{position} {_label(parent)}"
        if grads[position] is None:
            problem = "vjp returned None for an input that requires a gradient"
            checks.append(_unusable(name, parent.shape, problem))
            continue
        analytic = unbroadcast(np.asarray(grads[position], dtype=np.float64), parent.shape)
        if analytic is None:
            problem = (
                f"vjp returned shape {np.shape(grads[position])}, which does not reduce to "
                f"the input's shape {parent.shape}"
            )
            checks.append(_unusable(name, parent.shape, problem))
            continue
        indices = _elements_to_check(parent.size, max_elements, rng)
        arguments = list(inputs)
        arguments[position] = inputs[position].copy()

        def forward(_: np.ndarray, arguments: list[np.ndarray] = arguments) -> np.ndarray:
            return np.asarray(op.forward(*arguments, **attrs))

        numeric = np.fromiter(
            (
                np.sum(g * d)
                for d in _central_differences(forward, arguments[position], indices, eps)
            ),
            np.float64,
            indices.size,
        )
        if not np.isfinite(numeric).all():
            return NodeCheck(
                node,
                op.name,
                shapes,
                (),
                skipped=f"its forward is not finite within eps of input {name}",
            )
        checks.append(_compare(name, parent.shape, analytic, numeric, indices, rtol, atol))
    return NodeCheck(node, op.name, shapes, tuple(checks))


def _unusable(name: str, shape: tuple[int, ...], problem: str) -> InputCheck:
    """A failed check of a gradient that could not be compared at all."""
    return InputCheck(
        name=name,
        shape=shape,
        checked=0,
        max_abs_error=np.inf,
        max_rel_error=np.inf,
        worst_index=None,
        analytic=np.nan,
        numeric=np.nan,
        relative_difference=np.inf,
        largest=np.inf,
        verdict="wrong",
        passed=False,
        problem=problem,
    )


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
        ValueError: eps <= 0 or max_elements < 1.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> x = cg.Node(np.array([0.5, 2.0]), name="x")
        >>> report = cg.check_graph(cg.sum(cg.log(x) * x))
        >>> report.passed, [check.op for check in report.checks]
        (True, ['log', 'mul', 'sum'])
    """
    _check_options(eps, max_elements, "check_graph")
    rng = np.random.default_rng(seed)
    with no_grad(), np.errstate(all="ignore"):
        checks = tuple(
            _check_node(node, eps, rtol, atol, max_elements, rng)
            for node in topological_order(root)
            if node.op is not None
        )
    report = GraphCheckReport(root, checks, eps, rtol, atol)
    if raise_on_failure and not report.passed:
        raise GradientCheckError(report)
    return report
