"""Random programs over the whole supported set (hypothesis): every mode agrees, once and twice.

A program is a random sequence of steps on a vector of 6 numbers, each step one of the
supported operations (elementwise maths, reductions with axis/keepdims broadcast back,
linear algebra, plumbing), mixing in the inputs; it ends in a scalar.  Checked:

- forward and reverse mode against the complex step, 1e-12 relative (the complex step applies
  to every step of ``EXACT_STEPS``; at a tie or a kink all three follow the same documented
  convention, so no point has to be avoided);
- the four nestings of ``second_order.hvp`` agree with each other (1e-10 relative: long random
  chains lose a few more digits than the catalogue of tests/test_rule_coverage.py);
- steps that are not analytic (``np.clip``, ``np.logaddexp``: the complex step refuses them),
  mixed with the smooth exact steps: forward and reverse agree to 1e-12, and central
  differences agree to what their step allows (twice the truncation error estimated from a
  second step, plus round-off), away from the bounds of ``np.clip`` where a step would cross
  the kink.

Under CI the hypothesis profile ``ci`` (tests/conftest.py) derandomizes the examples.
"""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from mlpkit import forward, numdiff, reverse, second_order
from mlpkit.nesting import primal

B33 = np.array([[0.9, -0.4, 0.3], [0.2, 1.1, -0.5], [-0.7, 0.1, 0.8]])
M33 = np.array([[3.0, 0.5, -0.2], [0.1, 2.5, 0.4], [-0.3, 0.2, 2.8]])
PERMUTATION = [3, 0, 5, 1, 1, 2]  # repeats an index: fancy indexing that adds up


def _m(v):
    return np.reshape(v, (2, 3))


# each step: (vector v of 6, inputs x of 6) -> vector of 6; bounded maps keep arguments in domain
SMOOTH_STEPS = [
    lambda v, x: np.sin(v) + x,
    lambda v, x: np.cos(v) * x,
    lambda v, x: np.tan(0.5 * np.tanh(v)) - x,
    lambda v, x: np.tanh(v) * np.arctan(x),
    lambda v, x: np.sinh(np.tanh(v)) + np.cosh(np.tanh(x)),
    lambda v, x: np.arcsin(0.9 * np.tanh(v)) * np.arccos(0.9 * np.tanh(x)),
    lambda v, x: np.arcsinh(v) + np.arccosh(1.5 + v**2) + np.arctanh(0.9 * np.tanh(x)),
    lambda v, x: np.exp(np.tanh(v)) + np.expm1(np.tanh(x)),
    lambda v, x: np.log(1.0 + v**2) + np.log1p(x**2),
    lambda v, x: np.sqrt(1.0 + v**2) / (2.0 + np.sin(x)),
    lambda v, x: (1.5 + np.tanh(x)) ** np.tanh(v) + np.power(v, 2),
    lambda v, x: np.cumsum(v) / 6.0 + x,
    lambda v, x: np.ravel(np.cumsum(_m(v), axis=0)) * x,
    lambda v, x: np.ravel(_m(v) - np.mean(_m(v), axis=1, keepdims=True)) + np.sum(x) / 6,
    lambda v, x: np.ravel(_m(v) * np.prod(np.tanh(_m(x)), axis=1, keepdims=True)) + v,
    lambda v, x: np.ravel(_m(np.tanh(v)) @ B33) + np.dot(x, v) / 6,
    lambda v, x: np.ravel(np.einsum("ij,jk->ik", _m(v), B33)) * np.einsum("i,i->", x, x) / 6,
    lambda v, x: np.ravel(np.einsum("ij->ji", _m(v))) + np.ravel(np.outer(x[:2], np.tanh(v[:3]))),
    lambda v, x: np.concatenate([np.linalg.solve(M33, v[:3]),  # eye * t is diag(t)
                                 np.linalg.solve(M33 + np.eye(3) * np.tanh(x[:3]), v[3:])]),
    lambda v, x: np.concatenate(np.split(v, 3)[::-1]) * x,
    lambda v, x: np.ravel(np.stack([v[:3], x[3:]], axis=1)) + v[PERMUTATION],
    lambda v, x: np.ravel(np.transpose(_m(v)).reshape(2, 3) + np.expand_dims(x[:3], 0)),
    lambda v, x: np.ravel(np.broadcast_to(v[:3], (2, 3)) * _m(x) + _m(v)[:, [2]]),
]
# steps with a kink (central differences across one would be wrong; the complex step follows the
# same conventions as the AD modes, so the exact test takes them)
KINKED_STEPS = [
    lambda v, x: np.abs(v) * x + np.square(v),
    lambda v, x: np.maximum(v, x) - np.minimum(v, 0.3),
    lambda v, x: np.where(v > 0, v * x, np.sin(v)),
    lambda v, x: np.ravel(_m(v) * np.max(_m(x), axis=0)) + np.min(v),
]
EXACT_STEPS = SMOOTH_STEPS + KINKED_STEPS
CENTRAL_STEPS = [
    lambda v, x: np.logaddexp(v, x) - np.tanh(v),
    lambda v, x: _clip_noted(v, -0.8, 0.8) * x,
]
_KINK_DISTANCES = []  # filled while a program runs on plain values: how close np.clip came


def _clip_noted(v, low, high):
    plain = np.asarray(primal(v))
    if plain.dtype.kind == "f":  # a real run (not the complex step)
        _KINK_DISTANCES.append(float(np.min(np.minimum(np.abs(plain - low), np.abs(plain - high)))))
    return np.clip(v, low, high)


def _program(steps, table):
    def f(x):
        v = x
        for step in steps:
            v = table[step](v, x)
        return np.sum(v * np.cos(x))
    return f


points = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=6, max_size=6).map(np.array)


def _close(got, reference, tolerance):
    scale = max(np.linalg.norm(reference), 1.0)
    return np.linalg.norm(np.asarray(got) - reference) <= tolerance * scale


@given(st.lists(st.integers(0, len(EXACT_STEPS) - 1), min_size=1, max_size=5), points,
       st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=6, max_size=6).map(np.array))
def test_random_programs_agree_with_the_complex_step_once_and_twice(steps, x0, v):
    f = _program(steps, EXACT_STEPS)
    assume(np.isfinite(f(x0)))
    reference = numdiff.gradient(f, x0, method="complex-step")
    for mode, gradient in (("forward", forward.gradient), ("reverse", reverse.gradient)):
        got = gradient(f, x0)
        assert _close(got, reference, 1e-12), (mode, steps, x0, got, reference)
    products = {mode: second_order.hvp(f, x0, v, mode=mode) for mode in second_order.MODES}
    first = products["forward-over-reverse"]
    for mode, hv in products.items():
        assert _close(hv, first, 1e-10), (mode, steps, x0, hv, first)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, len(SMOOTH_STEPS) - 1),
                          st.integers(0, len(CENTRAL_STEPS) - 1)), min_size=1, max_size=4),
       points)
def test_random_programs_with_non_analytic_steps_agree_with_central_differences(program, x0):
    steps, table = [], SMOOTH_STEPS + CENTRAL_STEPS
    for central, exact_step, central_step in program:
        steps.append(len(SMOOTH_STEPS) + central_step if central else exact_step)
    f = _program(steps, table)
    _KINK_DISTANCES.clear()
    assume(np.isfinite(f(x0)))
    kink_margin = min(_KINK_DISTANCES, default=np.inf)
    forward_gradient, reverse_gradient = forward.gradient(f, x0), reverse.gradient(f, x0)
    assert _close(forward_gradient, reverse_gradient, 1e-12), (steps, x0)
    h = np.max(numdiff.optimal_step("central-difference", x0))
    scale = max(np.linalg.norm(reverse_gradient), 1.0)
    assume(kink_margin > 100 * h * scale)  # a step of h must not cross a bound of np.clip
    central = numdiff.gradient(f, x0, method="central-difference", h=h)
    truncation = np.linalg.norm(numdiff.gradient(f, x0, "central-difference", h=2 * h)
                                - central) / 3  # error(h) ~ |D(2h) - D(h)| / 3
    assert np.linalg.norm(central - reverse_gradient) <= 2 * truncation + 1e-8 * scale, (
        steps, x0, central, reverse_gradient)
