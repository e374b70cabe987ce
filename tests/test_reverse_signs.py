"""The reverse sweep carries the sign of an adjoint instead of negating it (rules.NEGATES).

The VJP of x - y with respect to y, and of -x, is -g; the sweep flips a sign instead of computing
it and turns it into a subtraction where adjoints are summed (mlpkit.reverse.array.backward).
Every way a negative adjoint can meet another one (first contribution, a sum with an adjoint of
the same or the other sign, slices and fancy indices, a negative gradient at the end, nesting)
is checked here against the complex step, with small arrays and with arrays large enough to go
through the reused buffers (mlpkit._buffers).
"""

from __future__ import annotations

import numpy as np
import pytest

from mlpkit import numdiff, reverse, second_order
from mlpkit.reverse.array import backward, trace
from mlpkit.rules import NEGATES, VJP_RULES

FUNCTIONS = {
    "negative result": lambda x: -np.sum(x**2),
    "double negation": lambda x: np.sum(-np.negative(x**3)),
    "x - x is zero": lambda x: np.sum((x - x) * x) + np.sum(x),
    "a sum of both signs": lambda x: np.sum(np.sin(x) - np.cos(x) * x - (-np.exp(x))),
    "negated slices": lambda x: np.sum((1.0 - x[:-1]) ** 2 - x[1:] * (0.5 - x[:-1])),
    "two negated twins": lambda x: np.sum(-x[:-1] * np.tanh(-x[:-1]) - x[1:]),
    "fancy indices, both signs": lambda x: np.sum(x[[0, 0, 2]] ** 2 - x[[1, 2, 2]] * 3.0),
    "scalar subtracted from an array": lambda x: np.sum((x - np.sum(x)) ** 2),
    "negated broadcast": lambda x: np.sum(np.reshape(x, (2, -1)) - np.reshape(x, (2, -1))[:1]),
    "negative sum in the sweep's buffer": lambda x: np.sum(np.cos(x) * -(np.sin(x) * x)),
    "rosenbrock": lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
}


def relative_error(got, expected):
    return np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-300)


@pytest.mark.parametrize("n", [6, 100_000])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradients_with_negations_match_the_complex_step(name, n):
    f = FUNCTIONS[name]
    x = np.random.default_rng(n).uniform(-1.0, 1.0, n)
    if n > 1000:  # the complex step of a large x is n evaluations: compare a few entries
        expected = _complex_step_entries(f, x, [0, 1, 2, n // 2, n - 2, n - 1])
        got = reverse.gradient(f, x)[[0, 1, 2, n // 2, n - 2, n - 1]]
    else:
        expected, got = numdiff.gradient(f, x), reverse.gradient(f, x)
    assert relative_error(got, expected) < 1e-12, name


def _complex_step_entries(f, x, entries, h=1e-30):
    out = []
    for i in entries:
        z = x.astype(complex)
        z[i] += 1j * h
        out.append(np.imag(f(z)) / h)
    return np.array(out)


def test_a_negative_gradient_is_returned_negated_and_the_tape_can_be_swept_again():
    x = np.linspace(-1.0, 1.0, 7)
    tape, out = trace(lambda v: -(v * 3.0), x)
    for seed in (np.ones(7), np.arange(7.0)):
        np.testing.assert_allclose(backward(tape, out, seed), -3.0 * seed, rtol=1e-15)


def test_vjp_through_a_negation_of_the_output():
    x = np.array([0.3, -0.7, 1.1])
    u = np.array([1.0, -2.0, 0.5])
    value, vjp = reverse.vjp(lambda v: -(np.exp(v) - v), x, u)
    np.testing.assert_allclose(value, -(np.exp(x) - x), rtol=1e-15)
    np.testing.assert_allclose(vjp, -u * (np.exp(x) - 1.0), rtol=1e-14)


@pytest.mark.parametrize("mode", second_order.MODES[:3])
@pytest.mark.parametrize("name", ["negated slices", "two negated twins", "a sum of both signs"])
def test_hessian_vector_products_through_negations(name, mode):
    f = FUNCTIONS[name]
    rng = np.random.default_rng(3)
    x, v = rng.uniform(-1.0, 1.0, 5), rng.standard_normal(5)
    expected = second_order.hvp(f, x, v, mode="forward-over-forward")  # no reverse sweep
    assert relative_error(second_order.hvp(f, x, v, mode=mode), expected) < 1e-12


@pytest.mark.parametrize("primitive", list(NEGATES), ids=lambda p: p.__name__)
def test_the_table_of_negations_agrees_with_the_rules(primitive):
    """NEGATES is a shortcut for the rules in VJP_RULES: they must say -g there."""
    position = NEGATES[primitive]
    args = (np.array([0.5, -2.0, 3.0]), np.array([1.5, 0.25, -1.0]))[: primitive.nin]
    g = np.array([1.0, -3.0, 0.125])
    got = VJP_RULES[primitive][position](g, primitive(*args), *args)
    np.testing.assert_array_equal(got, -g)
