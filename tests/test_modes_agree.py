"""One catalogue of plain NumPy functions, differentiated by every mode, against hand derivatives.

Tolerances (relative norm ||a - b|| / ||b||): 1e-12 for the complex step and both AD modes,
1e-7 for central differences with their optimal step.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlpkit import forward, numdiff, reverse
from mlpkit.numdiff import rel_error

EXACT_MODES = {
    "complex-step": lambda f, x: numdiff.gradient(f, x, method="complex-step"),
    "forward": forward.gradient,
    "reverse": reverse.gradient,
}
ALL_MODES = dict(EXACT_MODES, central=lambda f, x: numdiff.gradient(f, x, "central-difference"))
TOLERANCE = {"complex-step": 1e-12, "forward": 1e-12, "reverse": 1e-12, "central": 1e-7}


# --- the catalogue: (function, point, hand-derived gradient) -----------------------------------

def recursion(x):
    """Seed 004: z_{n+1} = sin(z_n x) + x, z_0 = 0, twenty steps."""
    z = 0.0
    for _ in range(20):
        z = np.sin(z * x) + x
    return z


def recursion_derivative(x):
    z, dz = 0.0, 0.0
    for _ in range(20):  # dz_{n+1} = x cos(z_n x) dz_n + z_n cos(z_n x) + 1
        z, dz = np.sin(z * x) + x, x * np.cos(z * x) * dz + z * np.cos(z * x) + 1
    return dz


def domke(x):
    """Seed 001: exp(exp(x) + exp(x)^2) + sin(exp(x) + exp(x)^2)."""
    return np.exp(np.exp(x) + np.exp(x) ** 2) + np.sin(np.exp(x) + np.exp(x) ** 2)


def domke_derivative(x):
    a = np.exp(x)
    c = a + a**2
    return (np.exp(c) + np.cos(c)) * (a + 2 * a**2)


def normal_log_density(v):
    """Seed 000 (Stan): log Normal(y | mu, sigma), v = (y, mu, sigma)."""
    y, mu, sigma = v[0], v[1], v[2]
    return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def normal_log_density_gradient(v):
    y, mu, sigma = v
    return np.array([-(y - mu) / sigma**2, (y - mu) / sigma**2, (y - mu) ** 2 / sigma**3 - 1 / sigma])


def product_plus_sine(v):
    """Seed 000: f(x1, x2) = x1 x2 + sin x1."""
    return v[0] * v[1] + np.sin(v[0])


RNG = np.random.default_rng(531)
X_MLP = RNG.normal(size=(5, 3))
Y_MLP = RNG.normal(size=(5, 2))
MLP_SHAPES = [(3, 4), (4,), (4, 2), (2,)]
MLP_SIZES = [int(np.prod(s)) for s in MLP_SHAPES]


def unpack(theta):
    pieces, start = [], 0
    for shape, size in zip(MLP_SHAPES, MLP_SIZES):
        pieces.append(theta[start:start + size].reshape(shape))
        start += size
    return pieces


def mlp_loss(theta):
    """A tanh MLP, squared error in matrix form: L = 1/(2n) sum (tanh(X W1 + b1) W2 + b2 - Y)^2."""
    W1, b1, W2, b2 = unpack(theta)
    hidden = np.tanh(X_MLP @ W1 + b1)
    residual = hidden @ W2 + b2 - Y_MLP
    return 0.5 * np.sum(residual**2) / X_MLP.shape[0]


def mlp_loss_gradient(theta):
    """Backprop by hand: G = residual / n, dW2 = A^T G, db2 = 1^T G, G1 = (1 - A*A) * (G W2^T)."""
    W1, b1, W2, b2 = unpack(theta)
    A = np.tanh(X_MLP @ W1 + b1)
    G = (A @ W2 + b2 - Y_MLP) / X_MLP.shape[0]
    G1 = (1 - A * A) * (G @ W2.T)
    return np.concatenate([(X_MLP.T @ G1).ravel(), G1.sum(0), (A.T @ G).ravel(), G.sum(0)])


def array_operations(x):
    """Every array operation of the supported set at once; x has shape (2, 3)."""
    B = np.array([[1.0, -2.0], [0.5, 1.5], [2.0, 0.3]])
    stacked = np.stack([x[0], x[1] ** 2])                    # stack, indexing
    joined = np.concatenate([x.reshape(-1), x.T[:, 0]])      # concatenate, reshape, .T, slicing
    matrix = x @ B + np.dot(x[0], B)                          # @, np.dot, broadcasting
    pooled = np.mean(np.tanh(stacked), axis=0) + np.sum(matrix, axis=1)[0]
    return (np.sum(pooled * np.arctan(x[1])) + np.sum(np.sqrt(1 + joined**2))
            + np.max(x) * np.min(x[:, 1:]) + np.sum(np.abs(x) * np.maximum(x, 0.2)))


def array_operations_gradient(x):
    """By the complex step (verified against central differences in this test file)."""
    return numdiff.gradient(array_operations, x, method="complex-step")


CATALOGUE = {
    "recursion z_{n+1} = sin(z_n x) + x": (recursion, 0.5, recursion_derivative(0.5)),
    "recursion at x = 1.7": (recursion, 1.7, recursion_derivative(1.7)),
    "Domke exp/sin": (domke, 0.3, domke_derivative(0.3)),
    "normal log-density": (normal_log_density, np.array([1.2, -0.3, 0.8]),
                           normal_log_density_gradient(np.array([1.2, -0.3, 0.8]))),
    "x1 x2 + sin x1": (product_plus_sine, np.array([0.7, -1.4]),
                       np.array([-1.4 + np.cos(0.7), 0.7])),
    "tanh MLP loss (matrix form)": (mlp_loss, RNG.normal(size=sum(MLP_SIZES)) * 0.5, None),
    "array operations": (array_operations, np.array([[0.3, -1.1, 0.7], [1.4, 0.5, -0.6]]), None),
}


@pytest.mark.parametrize("mode", list(ALL_MODES))
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_mode_matches_the_hand_derivative(name, mode):
    f, x, expected = CATALOGUE[name]
    if expected is None:
        expected = mlp_loss_gradient(x) if f is mlp_loss else array_operations_gradient(x)
    got = ALL_MODES[mode](f, x)
    assert np.shape(got) == np.shape(x), f"{mode}: gradient shape {np.shape(got)} != x {np.shape(x)}"
    err = rel_error(got, expected)
    assert err <= TOLERANCE[mode], (
        f"{name}, {mode}: relative error {err:.2e} > {TOLERANCE[mode]:.0e}\n"
        f"expected {expected!r}\ngot      {got!r}")


def test_array_operations_reference_is_itself_checked_by_central_differences():
    x = CATALOGUE["array operations"][1]
    central = numdiff.gradient(array_operations, x, method="central-difference")
    assert rel_error(central, array_operations_gradient(x)) < 1e-7


@pytest.mark.parametrize("jac", [
    lambda f, x: numdiff.jacobian(f, x, method="complex-step"),
    forward.jacobian,
    reverse.jacobian,
])
def test_jacobians_agree(jac):
    def f(v):
        return np.stack([v[0] * v[1] + np.sin(v[0]), np.exp(v[1]) * v[2], np.sum(v**2)])

    v = np.array([0.4, -0.9, 1.3])
    expected = np.array([[v[1] + np.cos(v[0]), v[0], 0],
                         [0, np.exp(v[1]) * v[2], np.exp(v[1])],
                         2 * v])
    J = jac(f, v)
    assert J.shape == (3, 3)
    assert rel_error(J, expected) <= 1e-12


def test_jvp_and_vjp_are_transposes():
    """<u, J v> computed by forward mode equals <J^T u, v> computed by reverse mode."""
    def f(v):
        return np.tanh(v.reshape(2, 2) @ np.array([[1.0, 2.0], [-0.5, 0.3]])).ravel() * v[0]

    x = np.array([0.2, -0.4, 0.9, 1.1])
    u = np.array([1.0, -2.0, 0.5, 0.25])
    w = np.array([0.3, 0.1, -1.0, 2.0])
    _, J_w = forward.jvp(f, x, w)
    _, uT_J = reverse.vjp(f, x, u)
    assert abs(u @ J_w - uT_J @ w) <= 1e-12 * abs(u @ J_w)


# --- random compositions (hypothesis): all exact modes agree ---------------------------------

UNARY = [np.sin, np.cos, np.tanh, np.arctan, lambda u: np.exp(np.tanh(u)),
         lambda u: np.sqrt(1 + u**2), lambda u: np.log(1 + u**2), lambda u: u * np.abs(u)]
BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (1.5 + np.sin(b)),
          lambda a, b: np.maximum(a, b) * a]


@st.composite
def programs(draw):
    """A random straight-line program on a vector of 3 inputs, ending in a scalar."""
    steps = draw(st.lists(st.tuples(st.integers(0, len(UNARY) - 1),
                                    st.integers(0, len(BINARY) - 1),
                                    st.integers(0, 2)), min_size=1, max_size=6))
    # entries away from 0 and from each other, so np.maximum never meets a tie (a kink)
    point = draw(st.lists(st.floats(-1.5, 1.5).filter(lambda v: abs(v) > 1e-3), min_size=3,
                          max_size=3, unique=True))
    return steps, np.array(point)


@given(programs())
def test_random_programs_agree_in_every_exact_mode(program):
    steps, x0 = program
    value = x0  # stay away from the kink of np.maximum, where the modes' one-sided values differ
    kink_margin = np.inf  # how far the arguments of np.maximum are from a tie
    for unary, binary, k in steps:
        a = UNARY[unary](value)
        if BINARY[binary] is BINARY[4]:
            kink_margin = min(kink_margin, np.min(np.abs(a - x0[k])))
        assume(kink_margin > 1e-6)
        value = BINARY[binary](a, x0[k])

    def f(x):
        value = x
        for unary, binary, k in steps:
            value = BINARY[binary](UNARY[unary](value), x[k])
        return np.sum(value * x)

    reference = EXACT_MODES["complex-step"](f, x0)
    for mode in ("forward", "reverse"):
        got = EXACT_MODES[mode](f, x0)
        scale = max(np.linalg.norm(reference), 1.0)
        assert np.linalg.norm(got - reference) <= 1e-12 * scale, (mode, steps, x0, got, reference)
    # Central differences step over the kink when the step moves a max's arguments by more than
    # their distance to a tie (about h |gradient|): compare them only away from that.
    # Their error is what the step allows: the truncation error (h^2/6 times the third
    # derivative), estimated from a second step (doubling h multiplies it by 4, so
    # error(h) ~ |D(2h) - D(h)| / 3), plus round-off.
    h = np.max(numdiff.optimal_step("central-difference", x0))
    scale = max(np.linalg.norm(reference), 1.0)
    if kink_margin > 100 * h * scale:
        central = numdiff.gradient(f, x0, method="central-difference", h=h)
        truncation = np.linalg.norm(numdiff.gradient(f, x0, "central-difference", h=2 * h)
                                    - central) / 3
        assert np.linalg.norm(central - reference) <= 2 * truncation + 1e-8 * scale, (steps, x0)


@pytest.mark.parametrize("mode", list(EXACT_MODES))
def test_every_mode_breaks_ties_the_same_way(mode):
    """At kinks there is no derivative; all modes pick the same documented one-sided value."""
    grad = EXACT_MODES[mode]
    np.testing.assert_array_equal(grad(lambda v: np.sum(np.maximum(v, 0.0)), np.array([0.0, 1.0])), [0, 1])
    np.testing.assert_array_equal(grad(lambda v: np.sum(np.maximum(0.0, v)), np.array([0.0, 1.0])), [1, 1])
    np.testing.assert_array_equal(grad(lambda v: np.max(v), np.array([2.0, 2.0])), [1, 0])
    np.testing.assert_array_equal(grad(lambda v: np.min(v), np.array([2.0, 2.0])), [1, 0])
    np.testing.assert_array_equal(grad(lambda v: np.sum(np.abs(v)), np.array([0.0, -1.0])), [0, -1])
