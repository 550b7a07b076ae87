"""The week-3 flower data: the course's construction exactly, and nothing disturbed."""

import numpy as np
import pytest

from compgraph.models.datasets import planar_flower


def course_flower(seed):
    """The course's load_planar_dataset, restated: rows as examples, then transposed."""
    generator = np.random.RandomState(seed)
    m, N, a = 400, 200, 4
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1))
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + generator.randn(N) * 0.2
        r = a * np.sin(4 * t) + generator.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


@pytest.mark.parametrize("seed", [1, 0, 7])
def test_the_points_are_the_courses(seed):
    X, Y = planar_flower(seed)
    X_course, Y_course = course_flower(seed)
    np.testing.assert_array_equal(X, X_course)
    np.testing.assert_array_equal(Y, Y_course)


def test_shapes_and_classes():
    X, Y = planar_flower()
    assert X.shape == (2, 400) and Y.shape == (1, 400)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    np.testing.assert_array_equal(Y[0, :200], 0.0)
    np.testing.assert_array_equal(Y[0, 200:], 1.0)
    # Radii 4·sin(4t) plus noise: every point lies within the flower's reach.
    assert np.max(np.hypot(*X)) < 4 + 5 * 0.2


def test_the_default_seed_is_the_courses_and_seeds_differ():
    np.testing.assert_array_equal(planar_flower()[0], course_flower(1)[0])
    assert not np.array_equal(planar_flower(1)[0], planar_flower(2)[0])


def test_numpys_global_random_state_is_left_alone():
    before = np.random.get_state()
    planar_flower(3)
    after = np.random.get_state()
    assert before[0] == after[0] and all(
        np.array_equal(x, y) for x, y in zip(before[1:], after[1:], strict=True)
    )


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="planar_flower: seed must be an integer from 0 to 2"):
        planar_flower(seed)


@pytest.mark.parametrize("seed", [2**40, -1, 1.5, True])
def test_a_seed_the_generator_cannot_take_is_one_clear_line(seed):
    with pytest.raises(
        ValueError, match=r"planar_flower: seed must be an integer from 0 to 2\*\*32 - 1"
    ):
        planar_flower(seed)
