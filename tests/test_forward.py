"""Tests for mlpkit.forward: dual numbers checked against derivatives worked out by hand,
the lecture examples, and (hypothesis) the complex-step derivative of plain NumPy code."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpkit.forward import TANGENT_RULES, Dual, derivative, gradient, jacobian, jvp

RTOL = 1e-12


def assert_close(actual, expected, rtol=RTOL):
    """Relative error in the 2-norm: ||actual - expected|| <= rtol ||expected||."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    err, scale = np.linalg.norm(actual - expected), np.linalg.norm(expected)
    assert err <= rtol * scale, f"got {actual}, expected {expected}: error {err:.3e}"


# ---------------------------------------------------------------------------------------------
# One test per rule of the table, against the derivative worked out by hand.
# ---------------------------------------------------------------------------------------------
UNARY = {  # ufunc: (points, f'(x) written independently of the rule where possible)
    np.negative: ([-1.5, 0.3], lambda x: -1.0),
    np.positive: ([-1.5, 0.3], lambda x: 1.0),
    np.sin: ([-1.5, 0.3, 2.0], np.cos),
    np.cos: ([-1.5, 0.3, 2.0], lambda x: -np.sin(x)),
    np.tan: ([-1.2, 0.3, 1.0], lambda x: 1 + np.tan(x) ** 2),
    np.exp: ([-1.5, 0.3, 2.0], np.exp),
    np.log: ([0.2, 1.5, 30.0], lambda x: 1 / x),
    np.sqrt: ([0.2, 1.5, 30.0], lambda x: 0.5 * x**-0.5),
    np.tanh: ([-1.5, 0.3, 2.0], lambda x: 1 / np.cosh(x) ** 2),
    np.arctan: ([-1.5, 0.3, 20.0], lambda x: 1 / (1 + x * x)),
    np.absolute: ([-1.5, 0.3], lambda x: 1.0 if x > 0 else -1.0),
    np.square: ([-1.5, 0.3], lambda x: 2 * x),
    np.log1p: ([-0.5, 0.3, 30.0], lambda x: 1 / (1 + x)),
    np.expm1: ([-1.5, 0.3, 2.0], np.exp),
}


@pytest.mark.parametrize("ufunc", list(UNARY), ids=lambda u: u.__name__)
def test_unary_rule(ufunc):
    points, dfdx = UNARY[ufunc]
    for x in points:
        assert_close(derivative(ufunc, x), dfdx(x))
        value, tangent = jvp(ufunc, np.array([x, x]), np.array([1.0, -2.0]))  # array version
        assert_close(value, ufunc(np.array([x, x])))
        assert_close(tangent, [dfdx(x), -2 * dfdx(x)])


BINARY = {  # ufunc: [(x, y, df/dx, df/dy)]
    np.add: [(1.5, -0.7, 1.0, 1.0)],
    np.subtract: [(1.5, -0.7, 1.0, -1.0)],
    np.multiply: [(1.5, -0.7, -0.7, 1.5)],
    np.divide: [(1.5, -0.7, 1 / -0.7, -1.5 / 0.49)],
    np.power: [(1.5, 2.5, 2.5 * 1.5**1.5, 1.5**2.5 * math.log(1.5)),
               (0.3, -1.2, -1.2 * 0.3**-2.2, 0.3**-1.2 * math.log(0.3))],
    np.maximum: [(1.5, -0.7, 1.0, 0.0), (-1.5, 0.7, 0.0, 1.0)],
    np.minimum: [(1.5, -0.7, 0.0, 1.0), (-1.5, 0.7, 1.0, 0.0)],
    np.logaddexp: [(1.5, -0.7, 1 / (1 + math.exp(-2.2)), 1 / (1 + math.exp(2.2)))],
}


@pytest.mark.parametrize("ufunc", list(BINARY), ids=lambda u: u.__name__)
def test_binary_rule(ufunc):
    for x, y, dfdx, dfdy in BINARY[ufunc]:
        assert_close(gradient(lambda v: ufunc(v[0], v[1]), [x, y]), [dfdx, dfdy])
        # a constant on either side: only the other argument moves
        assert_close(derivative(lambda t, y=y: ufunc(t, y), x), dfdx)
        assert_close(derivative(lambda t, x=x: ufunc(x, t), y), dfdy)


def test_operators_and_reflected_operators():
    x = 0.8
    cases = [  # f, f'(x)
        (lambda t: t + 2, 1.0), (lambda t: 2 + t, 1.0),
        (lambda t: t - 2, 1.0), (lambda t: 2 - t, -1.0),
        (lambda t: t * 3, 3.0), (lambda t: 3 * t, 3.0),
        (lambda t: t / 4, 0.25), (lambda t: 1 / t, -1 / x**2),
        (lambda t: t**3, 3 * x**2), (lambda t: 2**t, 2**x * math.log(2)),
        (lambda t: t**t, x**x * (math.log(x) + 1)),
        (lambda t: -t, -1.0), (lambda t: +t, 1.0), (lambda t: abs(-3 * t), 3.0),
        (lambda t: np.float64(2.0) * t, 2.0), (lambda t: np.int64(2) ** t, 2**x * math.log(2)),
    ]
    for f, dfdx in cases:
        assert_close(derivative(f, x), dfdx)


def test_matmul_and_dot_product_rule():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    # d(A B)/dA: (A B)_ik = sum_j A_ij B_jk  ->  d/dA_ij = B_jk for row i
    expected_dA = np.zeros((2, 4, 2, 3))
    expected_dB = np.zeros((2, 4, 3, 4))
    for i in range(2):
        for k in range(4):
            expected_dA[i, k, i, :] = B[:, k]
            expected_dB[i, k, :, k] = A[i, :]
    for product in (np.matmul, np.dot, lambda a, b: a @ b):
        assert_close(jacobian(lambda a, p=product: p(a, B), A), expected_dA.reshape(8, 6))
        assert_close(jacobian(lambda b, p=product: p(A, b), B), expected_dB.reshape(8, 12))
    # both factors moving, vector times vector: d(x . x) = 2 x . dx
    x = rng.normal(size=3)
    assert_close(gradient(lambda t: np.dot(t, t), x), 2 * x)
    assert_close(gradient(lambda t: t @ t, x), 2 * x)
    # plain array on the left: ndarray.__matmul__ hands over to the Dual
    assert_close(jacobian(lambda b: A @ b, B), expected_dB.reshape(8, 12))


def test_sum_and_mean_with_axis():
    X = np.array([[0.1, 0.2, 0.3], [1.0, -2.0, 0.5]])
    I3, c = np.eye(3), np.cos(X)
    # y_j = sum_i sin(X_ij): dy_j/dX_ij = cos(X_ij)
    expected_axis0 = np.hstack([np.diag(c[0]), np.diag(c[1])])
    expected_axis1 = np.zeros((2, 6))
    expected_axis1[0, :3], expected_axis1[1, 3:] = c[0], c[1]
    assert_close(jacobian(lambda x: np.sum(np.sin(x), axis=0), X), expected_axis0)
    assert_close(jacobian(lambda x: np.sin(x).sum(axis=1), X), expected_axis1)
    assert_close(gradient(lambda x: np.sum(np.sin(x)), X), c)
    assert_close(jacobian(lambda x: np.mean(np.sin(x), axis=0), X), expected_axis0 / 2)
    assert_close(jacobian(lambda x: np.sin(x).mean(axis=1), X), expected_axis1 / 3)
    assert_close(gradient(lambda x: np.sin(x).mean(), X), c / 6)
    kept = jvp(lambda x: np.sum(x, axis=1, keepdims=True), X, np.ones_like(X))[1]
    assert_close(kept, [[3.0], [3.0]])
    assert_close(jacobian(lambda x: np.sum(x, axis=0), X), np.hstack([I3, I3]))


def test_max_and_min_take_the_selected_element():
    x = np.array([[0.5, 3.0, -1.0], [2.0, -4.0, 7.0]])
    e = np.eye(6)
    assert_close(gradient(np.max, x), e[5].reshape(2, 3))
    assert_close(gradient(np.min, x), e[4].reshape(2, 3))
    assert_close(jacobian(lambda t: np.max(t, axis=1), x), e[[1, 5]])
    assert_close(jacobian(lambda t: np.min(t, axis=0), x), e[[0, 4, 2]])
    assert_close(jacobian(lambda t: np.max(t, 0), x), e[[3, 1, 5]])  # axis given positionally
    assert jvp(lambda t: np.max(t, axis=1, keepdims=True), x, x)[1].shape == (2, 1)
    # ties: the first maximal element, as np.argmax
    assert_close(gradient(np.max, [1.0, 5.0, 5.0]), [0.0, 1.0, 0.0])
    assert_close(gradient(np.min, [1.0, 1.0, 5.0]), [1.0, 0.0, 0.0])


def test_reshape_ravel_transpose_and_T():
    X = np.arange(6.0).reshape(2, 3) + 1
    permutation = np.zeros((6, 6))  # (X^T)_ji = X_ij: row 2j+i, column 3i+j
    for i in range(2):
        for j in range(3):
            permutation[2 * j + i, 3 * i + j] = 1.0
    assert_close(jacobian(lambda x: x.T, X), permutation)
    assert_close(jacobian(np.transpose, X), permutation)
    assert_close(jacobian(lambda x: np.transpose(x, (1, 0)), X), permutation)
    assert_close(jacobian(lambda x: np.reshape(x**2, (3, 2)), X), np.diag(2 * X.ravel()))
    assert_close(jacobian(lambda x: x.reshape(6), X), np.eye(6))
    assert_close(jacobian(lambda x: np.ravel(x.T), X), permutation)
    assert_close(jacobian(lambda x: (3 * x).ravel(), X), 3 * np.eye(6))
    assert_close(jacobian(lambda x: x.reshape(3, 2), X), np.eye(6))
    d = Dual(X, np.ones_like(X))
    assert d.T.shape == (3, 2) and d.reshape((3, 2)).shape == (3, 2) and d.reshape(-1).ndim == 1


def test_stack_and_concatenate():
    x = np.array([0.5, -1.0])
    # [x0^2, x1^2, 3, 3] and [[x0^2, x1^2], [sin x0, sin x1]]
    expected_concat = np.vstack([np.diag(2 * x), np.zeros((2, 2))])
    assert_close(jacobian(lambda t: np.concatenate([t**2, np.full(2, 3.0)]), x), expected_concat)
    expected_stack = np.vstack([np.diag(2 * x), np.diag(np.cos(x))])
    assert_close(jacobian(lambda t: np.stack([t**2, np.sin(t)]), x), expected_stack)
    assert_close(jacobian(lambda t: np.stack((t[0] * t[1], t[0])), x), [[x[1], x[0]], [1, 0]])
    value, _ = jvp(lambda t: np.stack([t, t], axis=1), x, x)
    assert value.shape == (2, 2)


def test_every_rule_in_the_table_is_tested():
    tested_elsewhere = {np.matmul, np.dot, np.sum, np.mean, np.max, np.min, np.reshape,
                        np.ravel, np.transpose, np.stack, np.concatenate, np.where,
                        np.expand_dims, np.broadcast_to, np.cumsum, np.linalg.solve,
                        # in tests/test_rule_coverage.py (every mode, once and twice):
                        np.prod, np.einsum, np.sinh, np.cosh, np.arcsin, np.arccos, np.arcsinh,
                        np.arccosh, np.arctanh}
    assert set(TANGENT_RULES) == set(UNARY) | set(BINARY) | tested_elsewhere


def test_where_expand_dims_broadcast_to_and_outer():
    x = np.array([0.5, -1.0, 2.0])
    # where: the tangent of the chosen branch
    assert_close(jacobian(lambda t: np.where(t > 0, t**2, 3 * t), x), np.diag([1.0, 3.0, 4.0]))
    assert_close(jacobian(lambda t: np.where(t > 0, 1.0, t), x), np.diag([0.0, 1.0, 0.0]))
    # expand_dims and broadcast_to are linear: the tangent goes through them
    value, tangent = jvp(lambda t: np.expand_dims(t, 0), x, np.ones(3))
    assert value.shape == tangent.shape == (1, 3)
    value, tangent = jvp(lambda t: np.broadcast_to(t, (2, 3)) * 2.0, x, x)
    assert_close(tangent, 2 * np.stack([x, x]))
    # np.outer, written with reshape and multiply
    assert_close(jvp(lambda t: np.outer(t, t), x, x)[1], 2 * np.outer(x, x))


def test_cumsum_solve_and_clip():
    x = np.array([0.5, -1.0, 2.0])
    # cumsum is linear: the tangent is the cumsum of the direction
    assert_close(jacobian(np.cumsum, x), np.tril(np.ones((3, 3))))
    assert_close(jvp(lambda t: np.cumsum(t.reshape(1, 3), axis=1), x, x)[1], [np.cumsum(x)])
    # d(A^-1 b) = A^-1 (db - dA A^-1 b)
    A = np.array([[3.0, 1.0, 0.2], [0.5, 2.0, -1.0], [0.1, 0.3, 4.0]])
    dA = np.arange(9.0).reshape(3, 3) / 10
    sol = np.linalg.solve(A, x)
    assert_close(jvp(lambda t: np.linalg.solve(A, t), x, x)[1], np.linalg.solve(A, x))
    assert_close(jvp(lambda M: np.linalg.solve(M, x), A, dA)[1], -np.linalg.solve(A, dA @ sol))
    # clip: slope 1 strictly inside the bounds, 0 outside and at them
    assert_close(jvp(lambda t: np.clip(t, -1.0, 1.0), [-2.0, -1.0, 0.3, 1.0], np.ones(4))[1],
                 [0.0, 0.0, 1.0, 0.0])


# ---------------------------------------------------------------------------------------------
# Conventions at non-differentiable and singular points
# ---------------------------------------------------------------------------------------------
def test_conventions_at_kinks():
    assert derivative(np.abs, 0.0) == 0.0  # sign(0) = 0
    assert derivative(lambda x: np.maximum(x, 0.0), 0.0) == 0.0  # relu'(0) = 0: second argument
    assert derivative(lambda x: np.maximum(0.0, x), 0.0) == 1.0
    assert derivative(lambda x: np.minimum(x, 0.0), 0.0) == 0.0


def test_singular_points_raise_or_give_zero_without_warnings():
    with pytest.raises(ValueError, match="infinite"):
        derivative(np.sqrt, 0.0)
    with pytest.raises(ValueError, match="infinite"):
        derivative(lambda x: x**0.3, 0.0)
    # a direction that does not move the input gives 0 (here d(x^2) = 0 at x = 0)
    assert derivative(lambda x: np.sqrt(x**2 + 0.0 * x), 0.0) == 0.0
    assert_close(jvp(np.sqrt, [0.0, 4.0], [0.0, 1.0])[1], [0.0, 0.25])
    assert derivative(lambda x: x**0, 0.0) == 0.0
    assert derivative(lambda x: x**2, 0.0) == 0.0
    assert derivative(lambda x: x**3, -2.0) == 12.0  # negative base, constant exponent
    with pytest.raises(ValueError, match="x > 0"):
        derivative(lambda x: (-2.0) ** x, 1.0)
    with pytest.raises(ValueError, match="x > 0"):
        derivative(lambda x: x**x, -1.0)


# ---------------------------------------------------------------------------------------------
# The lecture examples (seeds 000, 001, 004)
# ---------------------------------------------------------------------------------------------
def test_recursion_z_next_is_sin_z_x_plus_x():
    def z20(x):  # z_{n+1} = sin(z_n x) + x, z_0 = 0 (seed 004)
        z = 0.0
        for _ in range(20):
            z = np.sin(x * z) + x
        return z

    def dz20_by_hand(x):  # dz_{n+1} = x cos(z_n x) dz_n + z_n cos(z_n x) + 1, dz_0 = 0
        z, dz = 0.0, 0.0
        for _ in range(20):
            z, dz = np.sin(x * z) + x, x * np.cos(x * z) * dz + z * np.cos(x * z) + 1
        return dz

    for x in [0.1, 0.7, 1.2, 1.5]:
        assert_close(derivative(z20, x), dz20_by_hand(x))
    xs = np.linspace(0.0, 1.5, 7)  # the loop runs on arrays too: one pass for all points
    assert_close(jvp(z20, xs, np.ones_like(xs))[1], [dz20_by_hand(x) for x in xs])


def test_exp_exp_example():
    def f(x):  # seed 001
        return np.exp(np.exp(x) + np.exp(x) ** 2) + np.sin(np.exp(x) + np.exp(x) ** 2)

    for x in [-1.0, 0.0, 0.5]:
        inner, d_inner = np.exp(x) + np.exp(x) ** 2, np.exp(x) + 2 * np.exp(x) ** 2
        assert_close(derivative(f, x), np.exp(inner) * d_inner + np.cos(inner) * d_inner)


def test_normal_log_density_gradient():
    y = 1.3

    def log_normal(params):  # f(y, mu, sigma), seed 000
        mu, sigma = params[0], params[1]
        return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)

    for mu, sigma in [(0.0, 1.0), (2.5, 0.4), (-1.0, 3.0)]:
        expected = [(y - mu) / sigma**2, (y - mu) ** 2 / sigma**3 - 1 / sigma]
        assert_close(gradient(log_normal, [mu, sigma]), expected)


def test_x1_x2_plus_sin_x1():
    f = lambda x: x[0] * x[1] + np.sin(x[0])  # seed 000
    x = np.array([0.7, -2.0])
    assert_close(gradient(f, x), [x[1] + np.cos(x[0]), x[0]])
    value, df = jvp(f, x, np.array([1.0, 0.0]))  # seed dx1 = 1, dx2 = 0
    assert_close(value, f(x))
    assert_close(df, x[1] + np.cos(x[0]))


# ---------------------------------------------------------------------------------------------
# Arrays, Jacobians and JVPs
# ---------------------------------------------------------------------------------------------
def test_indexing_and_slicing():
    X = np.arange(12.0).reshape(3, 4) / 7
    d = Dual(X, 2 * X)
    for index in [0, (1, 2), slice(1, 3), (slice(None), 0), (Ellipsis, -1)]:
        part = d[index]
        assert_close(part.value, X[index])
        assert_close(part.tangent, 2 * X[index])
    assert isinstance(d[1, 2].value, float)
    assert len(d) == 3 and d.shape == (3, 4) and d.ndim == 2 and d.size == 12
    assert [row.shape for row in d] == [(4,)] * 3


def test_broadcasting_with_constants():
    x = np.array([0.5, 1.5, -2.0])
    M = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    # y_ij = M_ij * x_j + 1: dy_ij/dx_k = M_ij delta_jk
    expected = np.zeros((2, 3, 3))
    for i in range(2):
        expected[i] = np.diag(M[i])
    assert_close(jacobian(lambda t: M * t + 1, x), expected.reshape(6, 3))
    assert_close(jacobian(lambda t: t * M + np.ones((2, 1)), x), expected.reshape(6, 3))
    # a scalar Dual spread over an array: d(s * M)/ds = M
    assert_close(jvp(lambda s: s * M, 2.0, 1.0)[1], M)
    assert_close(jvp(lambda s: M - s, 2.0, 1.0)[1], -np.ones_like(M))


def test_jacobian_of_a_vector_function_by_hand():
    def f(x):
        return np.stack([x[0] * x[1], np.sin(x[0]) + x[2] ** 2, np.exp(x[1]) / x[2]])

    x = np.array([0.3, -1.2, 2.0])
    expected = [[x[1], x[0], 0.0],
                [np.cos(x[0]), 0.0, 2 * x[2]],
                [0.0, np.exp(x[1]) / x[2], -np.exp(x[1]) / x[2] ** 2]]
    assert_close(jacobian(f, x), expected)
    assert jacobian(f, x).shape == (3, 3)
    assert jacobian(lambda t: np.sum(t**2), x).shape == (1, 3)
    assert_close(jacobian(lambda t: np.stack([t, t**2]), 3.0), [[1.0], [6.0]])


def test_layer_jacobian_tanh_W_x_plus_b():
    rng = np.random.default_rng(1)
    W, x, b = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    h = np.tanh(W @ x + b)
    # dh_i/dW_kj = (1 - h_i^2) x_j [i == k]
    expected = np.zeros((3, 3, 4))
    for i in range(3):
        expected[i, i, :] = (1 - h[i] ** 2) * x
    assert_close(jacobian(lambda w: np.tanh(w @ x + b), W), expected.reshape(3, 12))
    assert_close(jacobian(lambda v: np.tanh(W @ v + b), x), (1 - h**2)[:, None] * W)


def test_jvp_equals_jacobian_times_v():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 3))

    def f(x):
        return np.concatenate([np.tanh(A @ x), [np.sum(x**3) / (1 + np.max(x) ** 2)]])

    x, v = rng.normal(size=3), rng.normal(size=3)
    value, Jv = jvp(f, x, v)
    assert_close(value, f(x))
    assert_close(Jv, jacobian(f, x) @ v)


def test_comparisons_work_on_values_so_control_flow_runs():
    d = Dual(np.array([-1.0, 0.0, 2.0]), np.ones(3))
    assert (d > 0).tolist() == [False, False, True]
    assert (d <= 0).tolist() == [True, True, False]
    assert (np.zeros(3) < d).tolist() == [False, False, True]
    assert (d == 0).tolist() == [False, True, False] and (d != 0).sum() == 2
    s = Dual(2.0, 1.0)
    for result in (s > 1, s >= 2, s < 3, s <= 2, s == 2.0, s != 1, 3 > s):
        assert result is True

    def doubled_until_big(x):  # a loop and an `if` that look at values only
        while x < 10:
            x = 2 * x
        return -x if x > 100 else x**2

    assert derivative(doubled_until_big, 1.5) == 2 * 12.0 * 8  # x = 8 * x0 -> (8 x0)^2


def test_output_not_depending_on_x_has_zero_derivative():
    assert_close(gradient(lambda x: 3.0, [1.0, 2.0]), [0.0, 0.0])
    assert derivative(lambda x: 3.0, 1.0) == 0.0
    assert_close(jacobian(lambda x: np.ones(2), [1.0, 2.0, 3.0]), np.zeros((2, 3)))
    value, Jv = jvp(lambda x: np.arange(3.0), [1.0], [1.0])
    assert_close(value, [0.0, 1.0, 2.0]) and assert_close(Jv, np.zeros(3))


def test_return_types_and_shapes():
    assert isinstance(derivative(np.sin, 1.0), float)
    assert isinstance(gradient(np.sin, 1.0), float)
    assert gradient(lambda x: np.sum(x), np.ones((2, 3))).shape == (2, 3)
    value, Jv = jvp(np.sin, 1.0, 1.0)
    assert isinstance(value, float) and isinstance(Jv, float)
    d = Dual(np.ones(2), [1, 2])  # ints become float64
    assert d.value.dtype == np.float64 and d.tangent.dtype == np.float64
    assert isinstance(Dual(1).value, float) and Dual(1).tangent == 0.0
    assert "tangent" in repr(d)


# ---------------------------------------------------------------------------------------------
# Errors: unsupported operations and bad inputs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda d: np.cbrt(d), "np.cbrt"),
    (lambda d: np.cumprod(d), "np.cumprod"),
    (lambda d: np.add.reduce(d), "np.add.reduce"),
    (lambda d: np.floor(d), "np.floor"),
])
def test_unsupported_operation_raises_type_error_naming_it(call, name):
    with pytest.raises(TypeError, match=f"{name} is not supported.*supported: .*np.sin"):
        call(Dual(np.array([0.5, 1.0]), np.ones(2)))


def test_casting_drops_the_tangent_so_it_raises():
    d = Dual(1.0, 1.0)
    for cast in (float, int, complex, math.sin, np.asarray):
        with pytest.raises(TypeError, match="tangent"):
            cast(d)
    with pytest.raises(TypeError, match="np.stack"):
        np.array([Dual(1.0), Dual(2.0)])
    with pytest.raises(TypeError, match="out="):
        a = np.ones(2)
        a += Dual(np.ones(2))


def test_bad_inputs():
    with pytest.raises(TypeError, match="callable"):
        derivative(3.0, 1.0)
    for func in (gradient, jacobian):
        with pytest.raises(TypeError, match="callable"):
            func("sin", [1.0])
        with pytest.raises(ValueError, match="NaN or inf"):
            func(np.sin, [1.0, np.nan])
        with pytest.raises(TypeError, match="complex"):
            func(np.sin, [1.0 + 1j])
    with pytest.raises(ValueError, match="NaN or inf"):
        derivative(np.sin, np.inf)
    with pytest.raises(ValueError, match="NaN or inf"):
        jvp(np.sin, [1.0], [np.nan])
    with pytest.raises(ValueError, match=r"\(2,\) versus \(3,\)"):
        jvp(np.sin, [1.0, 2.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="single number.*shape \\(2,\\)"):
        gradient(lambda x: x**2, [1.0, 2.0])
    with pytest.raises(ValueError, match="scalar x"):
        derivative(np.sin, [1.0, 2.0])
    with pytest.raises(TypeError, match="np.stack"):
        jacobian(lambda x: [x[0], x[1]], [1.0, 2.0])
    with pytest.raises(ValueError, match="Dual"):
        Dual(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="real"):
        Dual(1j)
    with pytest.raises(TypeError, match="real"):
        Dual(1.0, 1.0) + 1j
    with pytest.raises(TypeError, match="real"):
        Dual(1.0, 1.0) * "a"


# ---------------------------------------------------------------------------------------------
# Hypothesis: random compositions against the complex step on plain NumPy
# ---------------------------------------------------------------------------------------------
# Analytic ops only, each with the inputs it accepts; the limits keep values moderate, so that
# 1e-12 measures the rules rather than the conditioning (e.g. 1 - tanh(x)^2 cancels for large x).
ANALYTIC = {
    "sin": (np.sin, lambda x: True),
    "cos": (np.cos, lambda x: True),
    "tan": (np.tan, lambda x: abs(np.cos(x)) > 0.2),
    "exp": (np.exp, lambda x: x < 3),
    "log": (np.log, lambda x: x > 0.1),
    "sqrt": (np.sqrt, lambda x: x > 0.01),
    "tanh": (np.tanh, lambda x: abs(x) < 3),
    "arctan": (np.arctan, lambda x: True),
    "square": (np.square, lambda x: abs(x) < 4),
    "negative": (np.negative, lambda x: True),
}
H = 1e-200


def _valid_chain(names, x):
    """The longest prefix of ``names`` whose every op gets an input inside its domain."""
    chain = []
    for name in names:
        op, accepts = ANALYTIC[name]
        if not accepts(x):
            break
        chain.append(op)
        x = op(x)
    return chain


@given(
    names=st.lists(st.sampled_from(sorted(ANALYTIC)), min_size=1, max_size=7),
    x=st.one_of(st.just(0.0), st.floats(1e-6, 3.0), st.floats(-3.0, -1e-6)),
)
def test_compositions_match_the_complex_step(names, x):
    chain = _valid_chain(names, x)

    def f(t):
        for op in chain:
            t = op(t)
        return t

    complex_step = np.imag(f(x + H * 1j)) / H
    assert_close(derivative(f, x), complex_step)
    # the same composition on an array, one pass
    xs = np.array([x, x])
    assert_close(jvp(f, xs, np.ones(2))[1], [complex_step, complex_step])
