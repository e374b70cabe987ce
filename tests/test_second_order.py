"""Hessian-vector products and Hessians by every nesting of the AD modes, against hand Hessians.

Tolerances (relative norm): 1e-10 for every nesting against the hand-derived Hessian, 1e-12 for
the complex step applied to a hand-derived gradient, 1e-7 for central differences.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlpkit import numdiff, reverse, second_order
from mlpkit.numdiff import rel_error

MODES = second_order.MODES


# --- functions with hand-derived gradients and Hessians ------------------------------------------

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)  # zeros_like: keeps the complex-step type
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] = g[1:] + 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_hessian(x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
        H[i + 1, i + 1] += 200.0
    return H


RNG = np.random.default_rng(16)
X_LOGISTIC = RNG.normal(size=(12, 4))
Y_LOGISTIC = np.where(RNG.normal(size=12) > 0, 1.0, -1.0)
DECAY = 0.3


def logistic_loss(w):
    """Mean logistic loss log(1 + exp(-y x.w)) with weight decay (DECAY/2) |w|^2."""
    margins = Y_LOGISTIC * (X_LOGISTIC @ w)
    return np.mean(np.log1p(np.exp(-margins))) + 0.5 * DECAY * np.sum(w * w)


def _sigmoid(m):
    return 1.0 / (1.0 + np.exp(-m))


def logistic_gradient(w):
    margins = Y_LOGISTIC * (X_LOGISTIC @ w)
    return X_LOGISTIC.T @ (-(1.0 - _sigmoid(margins)) * Y_LOGISTIC) / len(Y_LOGISTIC) + DECAY * w


def logistic_hessian(w):
    s = _sigmoid(Y_LOGISTIC * (X_LOGISTIC @ w))  # d^2/dm^2 log(1 + e^-m) = s (1 - s), y^2 = 1
    return X_LOGISTIC.T @ np.diag(s * (1.0 - s)) @ X_LOGISTIC / len(Y_LOGISTIC) + DECAY * np.eye(4)


X_NET = RNG.normal(size=(5, 3))  # 5 samples, 3 inputs
T_NET = RNG.normal(size=5)
HIDDEN = 4


def tanh_net_loss(theta):
    """0.5 sum_s (c . tanh(W x_s) - t_s)^2; theta = [W (4 x 3) flattened, c (4)]."""
    W, c = theta[: 3 * HIDDEN].reshape(HIDDEN, 3), theta[3 * HIDDEN:]
    out = np.tanh(X_NET @ W.T) @ c
    return 0.5 * np.sum((out - T_NET) ** 2)


def _net_pieces(theta):
    W, c = theta[: 3 * HIDDEN].reshape(HIDDEN, 3), theta[3 * HIDDEN:]
    a = np.tanh(X_NET @ W.T)  # (samples, hidden)
    return W, c, a, a @ c - T_NET


def tanh_net_gradient(theta):
    W, c, a, r = _net_pieces(theta)
    d_W = ((r[:, None] * (1 - a**2) * c).T @ X_NET).ravel()  # sum_s r_s c_j a'_sj x_sk
    return np.concatenate([d_W, a.T @ r])


def tanh_net_hessian(theta):
    """sum_s g_s g_s^T + r_s H_s, with out_s's gradient g_s and Hessian H_s (a'' = -2a(1-a^2))."""
    W, c, a, r = _net_pieces(theta)
    n = theta.size
    H = np.zeros((n, n))
    for s in range(len(T_NET)):
        d1, d2 = 1 - a[s] ** 2, -2 * a[s] * (1 - a[s] ** 2)
        g = np.concatenate([np.outer(c * d1, X_NET[s]).ravel(), a[s]])
        H_s = np.zeros((n, n))
        for j in range(HIDDEN):
            rows = slice(3 * j, 3 * j + 3)
            H_s[rows, rows] = c[j] * d2[j] * np.outer(X_NET[s], X_NET[s])
            H_s[rows, 3 * HIDDEN + j] = H_s[3 * HIDDEN + j, rows] = d1[j] * X_NET[s]
        H += np.outer(g, g) + r[s] * H_s
    return H


CATALOGUE = {
    "Rosenbrock": (rosenbrock, rosenbrock_gradient, rosenbrock_hessian,
                   np.array([0.3, -1.2, 0.8, 1.5, -0.4])),
    "logistic regression with weight decay": (logistic_loss, logistic_gradient, logistic_hessian,
                                              np.array([0.5, -0.3, 0.8, 0.1])),
    "tanh network": (tanh_net_loss, tanh_net_gradient, tanh_net_hessian,
                     RNG.normal(scale=0.7, size=4 * HIDDEN)),
}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_hand_references_are_consistent(name):
    """The hand gradients and Hessians are checked themselves (AD gradient, complex step)."""
    f, grad, hess, x = CATALOGUE[name]
    assert rel_error(grad(x), reverse.gradient(f, x)) < 1e-12
    assert rel_error(numdiff.jacobian(grad, x), hess(x)) < 1e-12
    assert rel_error(hess(x), hess(x).T) < 1e-15  # symmetric (to rounding)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_hvp_matches_the_hand_hessian_in_every_nesting(name, mode):
    f, _, hess, x = CATALOGUE[name]
    for v in (np.ones_like(x), RNG.normal(size=x.shape)):
        x_before, v_before = x.copy(), v.copy()
        got = second_order.hvp(f, x, v, mode=mode)
        assert got.shape == x.shape
        assert rel_error(got, hess(x) @ v) < 1e-10, (name, mode)
        np.testing.assert_array_equal(x, x_before)  # the inputs are not changed
        np.testing.assert_array_equal(v, v_before)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_hessian_matches_the_hand_hessian_in_every_nesting(name, mode):
    f, _, hess, x = CATALOGUE[name]
    assert rel_error(second_order.hessian(f, x, mode=mode), hess(x)) < 1e-10


def test_default_mode_is_forward_over_reverse():
    f, _, hess, x = CATALOGUE["tanh network"]
    v = RNG.normal(size=x.shape)
    np.testing.assert_array_equal(second_order.hvp(f, x, v),
                                  second_order.hvp(f, x, v, mode="forward-over-reverse"))
    np.testing.assert_array_equal(second_order.hessian(f, x),
                                  second_order.hessian(f, x, mode="forward-over-reverse"))


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_numerical_hvp_of_the_hand_gradient(name):
    f, grad, hess, x = CATALOGUE[name]
    v = RNG.normal(size=x.shape)
    exact = hess(x) @ v
    assert rel_error(numdiff.hvp(grad, x, v), exact) < 1e-12  # default: the complex step
    assert rel_error(numdiff.hvp(grad, x, v, method="complex-step", h=1e-30), exact) < 1e-12
    central = numdiff.hvp(grad, x, v, method="central-difference")
    assert 1e-14 < rel_error(central, exact) < 1e-7  # truncation and round-off: not exact
    assert rel_error(numdiff.hvp(grad, x, v, "central-difference", h=1e-4), exact) < 1e-6


def test_scalar_input_gives_a_float():
    assert second_order.hvp(np.sin, 0.5, 2.0) == pytest.approx(-2.0 * np.sin(0.5), rel=1e-15)
    for mode in MODES:
        got = second_order.hvp(lambda t: t**3, 2.0, 1.0, mode)
        assert isinstance(got, float) and got == pytest.approx(12.0, rel=1e-15)
    assert numdiff.hvp(np.cos, 0.5, 1.0) == pytest.approx(-np.sin(0.5), rel=1e-14)
    np.testing.assert_allclose(second_order.hessian(lambda t: t**3, 2.0), [[12.0]], rtol=1e-15)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown mode"):
        second_order.hvp(rosenbrock, np.ones(3), np.ones(3), mode="sideways")
    with pytest.raises(ValueError, match="unknown mode"):
        second_order.hessian(rosenbrock, np.ones(3), mode="forward")
    with pytest.raises(ValueError, match=r"\(3,\) versus \(2,\)"):
        second_order.hvp(rosenbrock, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="single number"):
        second_order.hvp(np.sin, np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="callable"):
        second_order.hvp("f", np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        second_order.hvp(rosenbrock, np.array([1.0, np.nan, 0.0]), np.ones(3))
    with pytest.raises(ValueError, match="unknown method"):
        numdiff.hvp(rosenbrock_gradient, np.ones(3), np.ones(3), method="forward-difference")
    with pytest.raises(ValueError, match="shape mismatch"):
        numdiff.hvp(rosenbrock_gradient, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="x's shape"):
        numdiff.hvp(lambda x: np.sum(x), np.ones(3), np.ones(3), "central-difference")
    with pytest.raises(TypeError, match="perturbation ih was lost"):
        numdiff.hvp(lambda x: np.array(x, dtype=complex).view(np.ndarray), np.ones(2),
                    np.ones(2))


def test_zero_direction_gives_zero():
    x = np.array([0.3, -1.2, 0.8])
    np.testing.assert_array_equal(numdiff.hvp(rosenbrock_gradient, x, np.zeros(3)), np.zeros(3))
    for mode in MODES:
        np.testing.assert_array_equal(second_order.hvp(rosenbrock, x, np.zeros(3), mode),
                                      np.zeros(3))


def test_second_order_is_not_imported_by_the_modes():
    """A problem set may forbid mlpkit.second_order while allowing forward and reverse."""
    import subprocess
    import sys

    code = ("import sys, mlpkit.forward, mlpkit.reverse, mlpkit.numdiff; "
            "print('mlpkit.second_order' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- every primitive differentiates twice, in every nesting --------------------------------------

PRIMITIVE_PROGRAMS = {
    "sin cos tan": lambda x: np.sum(np.sin(x) * np.cos(x) + np.tan(0.3 * x)),
    "exp log log1p expm1": lambda x: np.sum(np.exp(0.5 * x) * np.log(2.0 + x) + np.log1p(x * x)
                                            + np.expm1(0.3 * x)),
    "sqrt tanh arctan": lambda x: np.sum(np.sqrt(1.5 + x) * np.tanh(x) + np.arctan(x) ** 2),
    "square abs": lambda x: np.sum(np.square(x) * np.abs(x) + np.absolute(x - 2.0) * x),
    "divide power": lambda x: np.sum(x / (2.0 + x**2) + (1.5 + x) ** x + 2.0 ** x
                                     + np.power(1.5 + x, 2.5)),
    "maximum minimum where": lambda x: np.sum(np.maximum(x, 0.1) * x + np.minimum(x, -0.1) ** 2
                                              + np.where(x > 0, x**3, -x)),
    "matmul dot transpose": lambda x: (x @ np.outer(np.arange(1.0, 5.0), x) @ x
                                       + np.dot(x, x) * np.sum(x.reshape(2, 2).T @ x[:2])),
    "sum mean max min": lambda x: (np.sum(x**2, axis=0) * np.mean(x**3) + np.max(x * x) * np.min(x)
                                   + np.sum(np.max(np.sin(x.reshape(2, 2)), axis=1) ** 2)),
    "indexing": lambda x: x[0] * np.sum(x[[1, 1, 3]] ** 2) + np.sum(x[1:] * x[:-1]) + x[-1] ** 3,
    "stack concatenate reshape ravel": lambda x: np.sum(
        np.stack([x**2, np.sin(x)], axis=1) ** 2) + np.sum(
        np.concatenate([x[:2] ** 3, np.ravel(x.reshape(2, 2) ** 2)]) * np.arange(6.0)),
    "expand_dims broadcast_to": lambda x: np.sum(
        np.broadcast_to(x**2, (3, 4)) * np.expand_dims(x, 0) + np.expand_dims(x**3, 1)[:, 0]),
    "negative positive": lambda x: np.sum(-(x**3) + (+x) ** 2),
    "logaddexp cumsum clip": lambda x: np.sum(np.logaddexp(x, x**2) + np.cumsum(x**3) * x
                                              + np.clip(x, -0.5, 1.0) ** 3),
    "linalg.solve": lambda x: np.sum(np.linalg.solve(np.eye(4) * (2.0 + x**2) + np.outer(x, x),
                                                     np.sin(x)) * x),
}
X_PROGRAMS = np.array([0.7, -0.4, 1.3, 0.2])


@pytest.mark.parametrize("name", list(PRIMITIVE_PROGRAMS))
def test_every_primitive_twice_differentiable_in_every_nesting(name):
    """All nestings agree to 1e-12; central differences of the AD gradient confirm them."""
    f = PRIMITIVE_PROGRAMS[name]
    v = np.array([0.3, -1.1, 0.6, 0.9])
    reference = second_order.hvp(f, X_PROGRAMS, v)
    for mode in MODES:
        got = second_order.hvp(f, X_PROGRAMS, v, mode)
        assert rel_error(got, reference) < 1e-12, (name, mode)
    central = numdiff.hvp(lambda y: reverse.gradient(f, y), X_PROGRAMS, v, "central-difference")
    assert rel_error(central, reference) < 1e-6, name
    H = second_order.hessian(f, X_PROGRAMS, "reverse-over-forward")
    assert rel_error(H, H.T) < 1e-12  # a Hessian is symmetric


# --- random programs (hypothesis): every nesting agrees with the complex step --------------------

UNARY = [  # (u -> f(u), u -> f'(u))
    (np.sin, np.cos),
    (np.cos, lambda u: -np.sin(u)),
    (np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    (np.arctan, lambda u: 1 / (1 + u**2)),
    (lambda u: np.exp(np.tanh(u)), lambda u: np.exp(np.tanh(u)) * (1 - np.tanh(u) ** 2)),
    (lambda u: np.sqrt(1 + u**2), lambda u: u / np.sqrt(1 + u**2)),
    (lambda u: np.log(1 + u**2), lambda u: 2 * u / (1 + u**2)),
    (lambda u: u * np.abs(u), lambda u: 2 * np.abs(u)),
]
BINARY = [  # ((a, b) -> g(a, b), (a, b) -> (dg/da, dg/db))
    (np.add, lambda a, b: (1.0, 1.0)),
    (np.subtract, lambda a, b: (1.0, -1.0)),
    (np.multiply, lambda a, b: (b, a)),
    (lambda a, b: a / (1.5 + np.sin(b)),
     lambda a, b: (1 / (1.5 + np.sin(b)), -a * np.cos(b) / (1.5 + np.sin(b)) ** 2)),
    (lambda a, b: np.maximum(a, b) * a,
     lambda a, b: (np.where(a > b, 2 * a, b), np.where(a > b, 0.0, a))),
]


@st.composite
def programs(draw):
    """A random straight-line program on 3 inputs ending in a scalar, a point and a direction."""
    steps = draw(st.lists(st.tuples(st.integers(0, len(UNARY) - 1),
                                    st.integers(0, len(BINARY) - 1),
                                    st.integers(0, 2)), min_size=1, max_size=5))
    point = draw(st.lists(st.floats(-1.5, 1.5).filter(lambda v: abs(v) > 1e-3), min_size=3,
                          max_size=3, unique=True))
    direction = draw(st.lists(st.floats(-2, 2), min_size=3, max_size=3))
    return steps, np.array(point), np.array(direction)


def program_function(steps):
    def f(x):
        value = x
        for unary, binary, k in steps:
            value = BINARY[binary][0](UNARY[unary][0](value), x[k])
        return np.sum(value * x)

    return f


def program_gradient(steps):
    """The gradient by hand-written tangent propagation (complex-step safe NumPy)."""
    def grad(x):
        components = []
        for j in range(3):
            e_j = np.eye(3)[j]
            value, tangent = x, e_j
            for unary, binary, k in steps:
                u_f, u_d = UNARY[unary]
                b_f, b_d = BINARY[binary]
                a, da = u_f(value), u_d(value) * tangent
                d_a, d_b = b_d(a, x[k])
                value, tangent = b_f(a, x[k]), d_a * da + d_b * e_j[k]
            components.append(np.sum(tangent * x + value * e_j))
        return np.stack(components)

    return grad


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_programs_hvp_agrees_across_nestings_and_with_the_complex_step(program):
    steps, x0, v = program
    value = x0  # stay away from the kink of np.maximum, where one-sided values differ
    for unary, binary, k in steps:
        a = UNARY[unary][0](value)
        assume(binary != 4 or np.min(np.abs(a - x0[k])) > 1e-6)
        value = BINARY[binary][0](a, x0[k])
    f, grad = program_function(steps), program_gradient(steps)
    assert rel_error(grad(x0), reverse.gradient(f, x0)) <= 1e-12 * max(
        1.0, np.linalg.norm(grad(x0)))  # the hand gradient is right
    reference = numdiff.hvp(grad, x0, v)  # complex step on the hand gradient
    scale = max(np.linalg.norm(reference), 1.0)
    for mode in MODES:
        got = second_order.hvp(f, x0, v, mode)
        assert np.linalg.norm(got - reference) <= 1e-10 * scale, (mode, steps, x0, v)
