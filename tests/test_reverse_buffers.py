"""The AD engines' reused buffers (mlpkit._buffers) never change a number.

Large arrays (at least buffers.MIN_BYTES) go through the cache, so every test here uses arrays
of 10^5 entries: a buffer handed out twice would show up as a wrong gradient or as a result
that changes after a later call.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlpkit import reverse, second_order
from mlpkit.nesting import as_input
from mlpkit import _buffers as buffers

N = 100_000  # 800 KB per array: above buffers.MIN_BYTES, so the cache is used
pytestmark = pytest.mark.skipif(not buffers.ENABLED, reason="the cache is off on this interpreter")


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):  # by hand
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[1:] += 200.0 * d
    g[:-1] += -400.0 * d * x[:-1] - 2.0 * (1.0 - x[:-1])
    return g


def rosenbrock_hvp(x, v):  # by hand: the tridiagonal Hessian times v
    hv = np.zeros_like(x)
    hv[:-1] += (1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0) * v[:-1] - 400.0 * x[:-1] * v[1:]
    hv[1:] += 200.0 * v[1:] - 400.0 * x[:-1] * v[:-1]
    return hv


def relative_error(got, expected):
    return np.max(np.abs(got - expected)) / np.max(np.abs(expected))


def test_a_free_buffer_is_reused_and_one_in_use_is_not():
    shape = (N + 7,)  # a shape no other test uses
    first = buffers.empty(shape)
    first_id = id(first)
    second = buffers.empty(shape)
    assert second is not first  # first is still held here
    view = first[1:]  # a view keeps its buffer in use
    del first
    third = buffers.empty(shape)
    assert third is not view.base and third is not second
    del view, third
    assert id(buffers.empty(shape)) == first_id  # nothing refers to it any more: reused


def test_small_arrays_are_not_cached():
    before = buffers.cached_bytes()
    buffers.empty((10,))
    assert buffers.cached_bytes() == before


def test_the_cache_stays_below_its_limit():
    held = buffers.empty((N + 99,))  # in use: eviction must keep it out of other hands
    rows = buffers.MAX_BYTES // (8 * N) + 3  # more distinct shapes than fit
    for k in range(rows):
        buffers.empty((N + 100 + k,))
    assert buffers.cached_bytes() <= buffers.MAX_BYTES
    assert buffers.empty((N + 99,)) is not held
    buffers.clear()
    assert buffers.cached_bytes() == 0


def test_large_gradients_are_exact_and_a_kept_result_never_changes():
    rng = np.random.default_rng(1)
    x1, x2 = rng.uniform(-1, 1, N), rng.uniform(-1, 1, N)
    x1_before = x1.copy()
    g1 = reverse.gradient(rosenbrock, x1)
    kept = g1.copy()
    for _ in range(3):  # later calls must take other buffers than the one g1 holds
        g2 = reverse.gradient(rosenbrock, x2)
    np.testing.assert_array_equal(g1, kept)
    np.testing.assert_array_equal(x1, x1_before)  # the input is read, never written
    assert relative_error(g1, rosenbrock_gradient(x1)) < 1e-12
    assert relative_error(g2, rosenbrock_gradient(x2)) < 1e-12


def test_a_value_kept_by_f_survives_later_calls():
    kept = []

    def f(x):
        y = np.tanh(x) * 2.0  # large elementwise results come from the cache
        kept.append(y)
        return np.sum(y * x)

    rng = np.random.default_rng(2)
    x = rng.standard_normal(N)
    reverse.gradient(f, x)
    value = kept[0].value.copy()
    for _ in range(3):
        reverse.gradient(f, rng.standard_normal(N))
    np.testing.assert_array_equal(kept[0].value, value)


@pytest.mark.parametrize("mode", ["forward-over-reverse", "reverse-over-reverse",
                                  "reverse-over-forward"])
def test_large_hessian_vector_products_are_exact(mode):
    rng = np.random.default_rng(3)
    x, v = rng.uniform(-1, 1, N), rng.standard_normal(N)
    assert relative_error(second_order.hvp(rosenbrock, x, v, mode), rosenbrock_hvp(x, v)) < 1e-12


def test_slices_fancy_indices_and_overlaps_add_up():
    """The adjoint of x collects x[index] contributions (copied, zeroed, added in one buffer)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(N)
    picks = np.array([0, 0, 5, N - 1])

    def f(x):
        return (np.sum(x[: N // 2] ** 2) + np.sum(3.0 * x[N // 4:]) + np.sum(x[picks] ** 3)
                + np.sum(np.tanh(x[10:20])))

    expected = np.zeros(N)
    expected[: N // 2] += 2.0 * x[: N // 2]
    expected[N // 4:] += 3.0
    np.add.at(expected, picks, 3.0 * x[picks] ** 2)
    expected[10:20] += 1.0 - np.tanh(x[10:20]) ** 2
    assert relative_error(reverse.gradient(f, x), expected) < 1e-13
    matrix = rng.standard_normal((N // 100, 100))  # a 2-D input, sliced along its first axis
    g = reverse.gradient(lambda m: np.sum(m[3:] ** 2) + np.sum(m[:5]), matrix)
    expected = 2.0 * matrix
    expected[:3] = 0.0
    expected[:5] += 1.0
    assert relative_error(g, expected) < 1e-13


def test_input_without_copy_is_still_checked():
    x = np.ones(N)
    assert as_input(x, copy=False) is x  # read only: no copy needed
    assert as_input(x) is not x
    x[17] = np.nan
    with pytest.raises(ValueError, match=r"finite.*\(17,\)"):
        reverse.gradient(rosenbrock, x)
    huge = np.full(N, 1e200)  # the sum of squares overflows: the full check decides
    assert np.isfinite(as_input(huge, copy=False)).all()


def test_several_sweeps_over_one_tape_keep_their_rows():
    """reverse.jacobian sweeps the same tape once per output: a row already computed, and the
    values the tape holds, must survive the later sweeps."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(N)

    def f(x):
        return np.stack([np.sum(x[:-1] ** 2 * x[1:]), np.sum(np.tanh(x) * 3.0), np.sum(x)])

    J = reverse.jacobian(f, x)
    expected = np.zeros((3, N))
    expected[0, :-1] += 2.0 * x[:-1] * x[1:]
    expected[0, 1:] += x[:-1] ** 2
    expected[1] = 3.0 * (1.0 - np.tanh(x) ** 2)
    expected[2] = 1.0
    assert relative_error(J, expected) < 1e-13
