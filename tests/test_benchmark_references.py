"""The hand-written gradients the cost benchmark compares with (benchmarks/by_hand.py) are right.

The benchmark calls them the floor of what an engine can reach, so a wrong one would make every
ratio against it meaningless.  Checked against mlpkit.reverse and, independently of it, against
central differences along random directions; reused buffers must not leak between calls, and
the input must not change.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from by_hand import hand_mlp_gradient, hand_rosenbrock_gradient  # noqa: E402
from reverse_cost import make_mlp_loss, make_rosenbrock  # noqa: E402

from mlpkit.numdiff import derivative  # noqa: E402
from mlpkit.reverse import gradient  # noqa: E402


def _directional_check(f, grad, x, rng):
    """grad . v against the central difference of f along v, for two random directions."""
    for _ in range(2):
        v = rng.standard_normal(x.shape)
        slope = derivative(lambda t, v=v: f(x + t * v), 0.0, method="central-difference")
        assert abs(slope - grad @ v) <= 1e-6 * (1.0 + abs(slope)), (slope, grad @ v)


@pytest.mark.parametrize("n, d, classes, hidden", [(7, 5, 3, 4), (32, 12, 4, 9)])
def test_hand_mlp_gradient(n, d, classes, hidden):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, d))
    y = np.arange(n) % classes  # every class appears
    f, size = make_mlp_loss(np, X, y, hidden=hidden)
    by_hand = hand_mlp_gradient(X, y, hidden=hidden)
    for scale in (0.05, 1.0):
        theta = scale * rng.standard_normal(size)
        kept = theta.copy()
        got = by_hand(theta).copy()
        np.testing.assert_array_equal(theta, kept)  # the input is only read
        expected = gradient(f, theta)
        assert np.max(np.abs(got - expected)) <= 1e-12 * np.max(np.abs(expected))
        _directional_check(f, got, theta, rng)
        np.testing.assert_array_equal(by_hand(theta), got)  # a second call: the same numbers


@pytest.mark.parametrize("size", [2, 3, 1000])
def test_hand_rosenbrock_gradient(size):
    rng = np.random.default_rng(size)
    f = make_rosenbrock(np)
    by_hand = hand_rosenbrock_gradient(size)
    for x in (rng.uniform(-1.0, 1.0, size), rng.uniform(-2.0, 3.0, size)):
        kept = x.copy()
        got = by_hand(x).copy()
        np.testing.assert_array_equal(x, kept)
        expected = gradient(f, x)
        assert np.max(np.abs(got - expected)) <= 1e-12 * np.max(np.abs(expected))
        _directional_check(f, got, x, rng)
        np.testing.assert_array_equal(by_hand(x), got)
    # the textbook minimum: the gradient vanishes at (1, ..., 1)
    np.testing.assert_array_equal(by_hand(np.ones(size)), np.zeros(size))
