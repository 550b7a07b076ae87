"""Small data sets made on the spot (no download), in the lesson's layout: one example per column.

``planar_flower`` is the two-class "flower" of the course's week 3, the data set a linear
classifier cannot separate and one hidden layer can.
"""

from __future__ import annotations

import numpy as np

from compgraph.models.training import check_seed

__all__ = ["planar_flower"]

_POINTS_PER_CLASS = 200
_PETAL_LENGTH = 4.0  # the flower's largest radius
_ANGLE_SPAN = 3.12  # each class sweeps angles [3.12·j, 3.12·(j+1)]
_NOISE = 0.2


def planar_flower(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The week-3 "flower": 400 points in the plane, 200 per class, in eight interleaved petals.

    How it is made: a legacy NumPy generator ``np.random.RandomState(seed)`` is seeded once,
    and for class j = 0, then j = 1,

        t = linspace(3.12·j, 3.12·(j+1), 200) + 0.2·randn(200)    (angles)
        r = 4·sin(4t) + 0.2·randn(200)                             (radii)

    with the angle noise drawn before the radius noise. The points are (r·sin t, r·cos t),
    labelled j. With ``seed=1`` these are exactly the course's points (its
    ``load_planar_dataset`` seeds ``np.random.seed(1)`` and draws the same stream). NumPy's
    global random state is left alone.

    Args:
        seed: the generator's seed (an integer from 0 to 2**32 - 1).

    Returns:
        ``(X, Y)``: X of shape (2, 400), one point per column, and Y of shape (1, 400)
        holding the labels 0.0 (the first 200 columns) and 1.0 (the last 200).

    Raises:
        ValueError: ``seed`` is not an integer from 0 to 2**32 - 1.

    Example:
        >>> from compgraph.models.datasets import planar_flower
        >>> X, Y = planar_flower()
        >>> X.shape, Y.shape, int(Y.sum())
        ((2, 400), (1, 400), 200)
        >>> X[:, 0].round(6).tolist()
        [1.204442, 3.576114]
    """
    generator = np.random.RandomState(check_seed(seed, "seed", "planar_flower"))
    n = _POINTS_PER_CLASS
    X = np.empty((2, 2 * n))
    Y = np.empty((1, 2 * n))
    for j in range(2):
        columns = slice(n * j, n * (j + 1))
        angles = np.linspace(_ANGLE_SPAN * j, _ANGLE_SPAN * (j + 1), n)
        angles = angles + _NOISE * generator.randn(n)
        radii = _PETAL_LENGTH * np.sin(4 * angles) + _NOISE * generator.randn(n)
        X[0, columns] = radii * np.sin(angles)
        X[1, columns] = radii * np.cos(angles)
        Y[0, columns] = j
    return X, Y
