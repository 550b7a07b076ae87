"""Numerical gradients by central differences, the oracle every gradient is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient"]


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central differences (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for every element i of ``x``.

    Args:
        f: a scalar function of one float64 array.
        x: the point; it is copied, never modified.
        eps: the step ε. The error is O(ε²·f''') from truncation plus O(u·|f|/ε) from
            rounding (u ≈ 1.1e-16 in float64), so 1e-6 to 1e-5 suits values of order 1.

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
    gradient = np.empty_like(point)
    flat_point, flat_gradient = point.reshape(-1), gradient.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + eps
        above = f(point)
        flat_point[i] = original - eps
        below = f(point)
        flat_point[i] = original
        flat_gradient[i] = (above - below) / (2 * eps)
    return gradient
