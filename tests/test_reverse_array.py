"""Tests of the array reverse-mode engine (mlpkit.reverse.gradient, jacobian, vjp, ...).

Every VJP rule is checked against a derivative worked out by hand, to 1e-12 relative
norm; random compositions are checked against the complex step.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpkit.reverse import derivative, gradient, jacobian, tape_size, vjp
from mlpkit.reverse import array as array_module
from mlpkit.reverse.array import VJP_RULES, unbroadcast

TOL = 1e-12
rng = np.random.default_rng(1234)


def assert_close(actual, expected, tol=TOL):
    """Relative error in the 2-norm: ||actual - expected|| <= tol ||expected||."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    error = np.linalg.norm(actual - expected)
    assert error <= tol * max(np.linalg.norm(expected), 1e-300), (
        f"relative error {error / max(np.linalg.norm(expected), 1e-300):.2e}\n"
        f"got\n{actual}\nexpected\n{expected}")


X = np.array([0.3, -1.2, 0.7, 2.1])  # no ties, no zeros
POS = np.array([0.3, 1.2, 0.7, 2.1])  # for log and sqrt

# ---- one hand-derived test per elementwise rule: d/dx sum(w * op(x)) = w * op'(x) ----
W = np.array([0.5, -1.5, 2.0, 1.0])
UNARY = [
    ("sin", np.sin, X, np.cos(X)),
    ("cos", np.cos, X, -np.sin(X)),
    ("tan", np.tan, X / 2, 1 / np.cos(X / 2) ** 2),
    ("exp", np.exp, X, np.exp(X)),
    ("log", np.log, POS, 1 / POS),
    ("log1p", np.log1p, POS, 1 / (1 + POS)),
    ("sqrt", np.sqrt, POS, 0.5 / np.sqrt(POS)),
    ("tanh", np.tanh, X, 1 / np.cosh(X) ** 2),
    ("arctan", np.arctan, X, 1 / (1 + X**2)),
    ("absolute", np.abs, X, np.sign(X)),
    ("square", np.square, X, 2 * X),
    ("expm1", np.expm1, X, np.exp(X)),
    ("positive", np.positive, X, np.ones(4)),
    ("negative", np.negative, X, -np.ones(4)),
    ("neg-operator", lambda x: -x, X, -np.ones(4)),
    ("abs-builtin", abs, X, np.sign(X)),
    ("pow-2", lambda x: x**2, X, 2 * X),
    ("pow-3", lambda x: x**3, X, 3 * X**2),
    ("pow-half", lambda x: x**0.5, POS, 0.5 / np.sqrt(POS)),
    ("np.power", lambda x: np.power(x, 3), X, 3 * X**2),
    ("rpow", lambda x: 2.0**x, X, 2.0**X * math.log(2.0)),
]


@pytest.mark.parametrize("name, op, x, dop", UNARY, ids=[u[0] for u in UNARY])
def test_elementwise_rules(name, op, x, dop):
    assert_close(gradient(lambda v: np.sum(W * op(v)), x), W * dop)


BINARY = [  # f(a, b), df/da, df/db
    ("add", lambda a, b: a + b, lambda a, b: 1 + 0 * a, lambda a, b: 1 + 0 * a),
    ("subtract", lambda a, b: a - b, lambda a, b: 1 + 0 * a, lambda a, b: -1 + 0 * a),
    ("multiply", lambda a, b: a * b, lambda a, b: b, lambda a, b: a),
    ("divide", lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b**2),
    ("power", lambda a, b: a**b, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
    ("np.add", np.add, lambda a, b: 1 + 0 * a, lambda a, b: 1 + 0 * a),
    ("np.subtract", np.subtract, lambda a, b: 1 + 0 * a, lambda a, b: -1 + 0 * a),
    ("np.multiply", np.multiply, lambda a, b: b, lambda a, b: a),
    ("np.divide", np.divide, lambda a, b: 1 / b, lambda a, b: -a / b**2),
    ("np.power", np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
    ("maximum", np.maximum, lambda a, b: (a > b) * 1.0, lambda a, b: (b > a) * 1.0),
    ("minimum", np.minimum, lambda a, b: (a < b) * 1.0, lambda a, b: (b < a) * 1.0),
]


@pytest.mark.parametrize("name, op, da, db", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rules_both_arguments_traced(name, op, da, db):
    a, b = np.array([0.3, 1.2, 0.7]), np.array([1.1, 0.4, 2.5])
    grad = gradient(lambda v: np.sum(W[:3] * op(v[0], v[1])), np.stack([a, b]))
    assert_close(grad, np.stack([W[:3] * da(a, b), W[:3] * db(a, b)]))


def test_every_rule_of_the_table_has_a_test_here():
    # a new rule in the table must be added to this list together with its test
    def name(primitive):
        if isinstance(primitive, np.ufunc):
            return primitive.__name__
        return next(k for k, v in vars(array_module).items() if v is primitive)

    assert sorted(name(p) for p in VJP_RULES) == sorted([
        "add", "subtract", "multiply", "divide", "power", "_pow", "negative", "sin", "cos", "tan",
        "exp", "log", "log1p", "sqrt", "tanh", "arctan", "absolute", "square", "maximum",
        "minimum", "_matmul", "_sum", "_mean", "_max", "_min", "_getitem", "_reshape",
        "_transpose", "_where", "_stack", "_concatenate", "expm1", "positive", "_broadcast_to",
        "_expand_dims", "_scatter_add", "_scatter_into", "logaddexp", "_cumsum", "_solve",
        # tested in tests/test_rule_coverage.py (every mode, once and twice):
        "_prod", "_einsum", "sinh", "cosh", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh"])


def test_logaddexp_cumsum_solve_and_clip():
    a, b = np.array([0.5, -1.2, 3.0]), np.array([1.0, 0.2, -2.0])
    softmax_a = np.exp(a) / (np.exp(a) + np.exp(b))
    assert_close(gradient(lambda t: np.sum(W[:3] * np.logaddexp(t, b)), a), W[:3] * softmax_a)
    assert_close(gradient(lambda t: np.sum(W[:3] * np.logaddexp(a, t)), b), W[:3] * (1 - softmax_a))
    # d/dx_i sum_j w_j cumsum(x)_j = sum_{j >= i} w_j, along an axis too
    w = np.array([1.0, -2.0, 0.5, 3.0])
    assert_close(gradient(lambda t: np.sum(w * np.cumsum(t)), X), np.cumsum(w[::-1])[::-1])
    W2 = np.arange(6.0).reshape(2, 3)
    assert_close(gradient(lambda t: np.sum(W2 * np.cumsum(t, axis=1)), np.ones((2, 3))),
                 np.cumsum(W2[:, ::-1], axis=1)[:, ::-1])
    assert_close(gradient(lambda t: np.sum(W2 * np.cumsum(t, axis=0)), np.ones((2, 3))),
                 np.cumsum(W2[::-1], axis=0)[::-1])
    assert_close(gradient(lambda t: np.sum(w * np.cumsum(t)), np.ones((2, 2))),
                 np.cumsum(w[::-1])[::-1].reshape(2, 2))
    # x = A^{-1} b: d(u . x)/db = A^{-T} u and d(u . x)/dA = -(A^{-T} u) x^T
    A = np.array([[3.0, 1.0, 0.2], [0.5, 2.0, -1.0], [0.1, 0.3, 4.0]])
    u = np.array([1.0, -1.0, 2.0])
    lam, sol = np.linalg.solve(A.T, u), np.linalg.solve(A, b)
    assert_close(gradient(lambda t: np.sum(u * np.linalg.solve(A, t)), b), lam)
    assert_close(gradient(lambda t: np.sum(u * np.linalg.solve(t, b)), A), -np.outer(lam, sol))
    B = np.stack([b, a], axis=1)  # a right-hand side with two columns
    U = np.stack([u, -u], axis=1)
    assert_close(gradient(lambda t: np.sum(U * np.linalg.solve(t, B)), A),
                 -np.linalg.solve(A.T, U) @ np.linalg.solve(A, B).T)
    with pytest.raises(TypeError, match="2-D matrix"):
        gradient(lambda t: np.sum(np.linalg.solve(np.stack([t, t]), np.ones((2, 2, 2)))), a[:2])
    # clip: the slope is 1 strictly inside, 0 outside and at the bounds
    x = np.array([-2.0, -1.0, 0.3, 1.0, 5.0])
    assert_close(gradient(lambda t: np.sum(np.clip(t, -1.0, 1.0)), x), [0, 0, 1, 0, 0])
    assert_close(gradient(lambda t: np.sum(np.clip(t, None, 1.0)), x), [1, 1, 1, 0, 0])


def test_broadcast_to_expand_dims_and_outer():
    v = np.array([0.5, -1.5, 2.0])
    # d/dv sum(W3 * broadcast(v)) = column sums of W3
    W3 = np.arange(6.0).reshape(2, 3)
    assert_close(gradient(lambda t: np.sum(W3 * np.broadcast_to(t, (2, 3))), v), W3.sum(axis=0))
    assert_close(gradient(lambda t: np.sum(W3 * np.expand_dims(t, 0)), v), W3.sum(axis=0))
    # d/dv sum(outer(v, v)) = 2 sum(v) 1
    assert_close(gradient(lambda t: np.sum(np.outer(t, t)), v), 2 * np.sum(v) * np.ones(3))


def test_scatter_rules_are_the_adjoints_of_indexing():
    """_scatter_add / _scatter_into (the VJP of x[index], used when nesting) differentiate too."""
    from mlpkit.rules import _scatter_add, _scatter_into

    g = np.array([1.0, 2.0])
    np.testing.assert_array_equal(_scatter_add(g, (3,), [0, 0]), [3.0, 0.0, 0.0])
    np.testing.assert_array_equal(_scatter_into(np.ones(3), g, slice(1, None)), [1.0, 2.0, 3.0])
    # as traced primitives: d/dg sum(w * scatter(g)) = w[index] (repeats add up)
    w = np.array([0.5, -1.0, 4.0])
    assert_close(gradient(lambda t: np.sum(w * _scatter_add(t, (3,), [2, 0])), g), [4.0, 0.5])
    assert_close(gradient(lambda t: np.sum(w * _scatter_into(t, g, [1, 1])), np.ones(3)), w)
    assert_close(gradient(lambda t: np.sum(w * _scatter_into(np.ones(3), t, [1, 1])), g),
                 [-1.0, -1.0])


def test_maximum_minimum_ties_go_to_the_second_argument():
    x = np.array([1.0, 2.0, 0.0])
    assert_close(gradient(lambda v: np.sum(np.maximum(v, 1.0)), x), [0.0, 1.0, 0.0])
    assert_close(gradient(lambda v: np.sum(np.maximum(1.0, v)), x), [1.0, 1.0, 0.0])
    assert_close(gradient(lambda v: np.sum(np.minimum(v, 1.0)), x), [0.0, 0.0, 1.0])
    # ReLU as np.maximum(x, 0) at 0: 0, as in PyTorch and in the other modes
    assert_close(gradient(lambda v: np.sum(np.maximum(v, 0.0)), x), [1.0, 1.0, 0.0])
    assert_close(gradient(lambda v: np.sum(np.where(v > 0, v, 0.0)), x), [1.0, 1.0, 0.0])


def test_abs_at_zero_is_zero():
    assert_close(gradient(lambda v: np.sum(np.abs(v)), np.array([0.0, -2.0])), [0.0, -1.0])


def test_power_with_traced_exponent_and_negative_base_raises():
    with pytest.raises(ValueError, match="x >= 0"):
        gradient(lambda v: np.sum((-2.0) ** v), np.array([2.0]))


def test_power_with_traced_exponent_and_zero_base():
    # d/dy 0**y = 0 for y > 0
    assert_close(gradient(lambda v: np.sum(np.array([0.0, 2.0]) ** v), np.array([1.5, 1.5])),
                 [0.0, 2.0**1.5 * math.log(2.0)])


# ---- reductions ----
A = np.array([[0.3, -1.2, 0.7], [2.1, 0.5, -0.4]])
WA = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 4.0]])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_with_axis_and_keepdims(axis, keepdims):
    def weights_like(shape):
        return np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)

    out_shape = np.sum(A, axis=axis, keepdims=keepdims).shape
    u = weights_like(out_shape)
    expected = np.broadcast_to(np.sum(A * 0, axis=axis, keepdims=True) + (
        u if keepdims else np.expand_dims(u, axis) if axis is not None else u), A.shape)
    assert_close(gradient(lambda v: np.sum(u * np.sum(v, axis=axis, keepdims=keepdims)), A),
                 expected)
    count = A.size / np.size(u)
    assert_close(gradient(lambda v: np.sum(u * np.mean(v, axis=axis, keepdims=keepdims)), A),
                 expected / count)
    assert_close(gradient(lambda v: np.sum(u * v.sum(axis, keepdims=keepdims)), A), expected)
    assert_close(gradient(lambda v: np.sum(u * v.mean(axis, keepdims=keepdims)), A),
                 expected / count)


def test_max_min_with_axis_pick_the_winner():
    assert_close(gradient(lambda v: np.sum(np.array([1.0, 2.0]) * np.max(v, axis=1)), A),
                 [[0, 0, 1], [2, 0, 0]])
    assert_close(gradient(lambda v: np.sum(np.array([1.0, 2.0, 3.0]) * np.min(v, axis=0)), A),
                 [[1, 2, 0], [0, 0, 3]])
    assert_close(gradient(lambda v: v.max(), A), [[0, 0, 0], [1, 0, 0]])
    assert_close(gradient(lambda v: np.amin(v, axis=1, keepdims=True).sum(), A),
                 [[0, 1, 0], [0, 0, 1]])


def test_max_ties_go_to_the_first_tied_entry():
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    assert_close(gradient(lambda v: np.sum(np.max(v, axis=1)), x),
                 [[1, 0, 0], [1, 0, 0]])
    assert_close(gradient(lambda v: np.max(v), x), [[1, 0, 0], [0, 0, 0]])
    assert_close(gradient(lambda v: np.min(v), x), [[0, 1, 0], [0, 0, 0]])


# ---- shape operations ----
def test_indexing_slices_ints_and_negative_steps():
    x = np.arange(1.0, 7.0)
    assert_close(gradient(lambda v: v[1] * v[-1], x), [0, 6, 0, 0, 0, 2])
    assert_close(gradient(lambda v: np.sum(W[:3] * v[::2]), x), [0.5, 0, -1.5, 0, 2, 0])
    assert_close(gradient(lambda v: np.sum(v[::-1][:2] ** 2), x), [0, 0, 0, 0, 10, 12])


def test_integer_array_indexing_with_repeats_adds_up():
    x = np.array([1.0, 2.0, 3.0])
    assert_close(gradient(lambda v: np.sum(v[[0, 0, 2, 0]]), x), [3, 0, 1])
    assert_close(gradient(lambda v: np.sum(v[np.array([2, 2])] ** 2), x), [0, 0, 12])


def test_boolean_mask_and_none_and_ellipsis():
    x = np.array([1.0, -2.0, 3.0])
    assert_close(gradient(lambda v: np.sum(v[v > 0] ** 2), x), [2, 0, 6])
    assert_close(gradient(lambda v: np.sum(v[None, :] * v[:, None]), x), 2 * np.sum(x) * np.ones(3))
    assert_close(gradient(lambda v: np.sum(v[..., 1:]), A), [[0, 1, 1], [0, 1, 1]])


def test_logits_arange_y_indexing():
    logits = rng.standard_normal((5, 3))
    y = np.array([0, 2, 2, 1, 0])
    expected = np.zeros((5, 3))
    expected[np.arange(5), y] = 1.0
    assert_close(gradient(lambda z: np.sum(z[np.arange(5), y]), logits), expected)


def test_reshape_transpose_and_T():
    x = np.arange(1.0, 7.0)
    M = rng.standard_normal((3, 2))
    assert_close(gradient(lambda v: np.sum(M * v.reshape(3, 2)), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M * v.reshape((3, 2))), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M * np.reshape(v, (3, -1))), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M.ravel() * v.reshape(3, 2).ravel()), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M.ravel() * np.ravel(v.reshape(3, 2))), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M.ravel() * v.reshape(3, 2).flatten()), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M.T * v.reshape(3, 2).T), x), M.ravel())
    assert_close(gradient(lambda v: np.sum(M.T * np.transpose(v.reshape(3, 2))), x), M.ravel())
    T3 = rng.standard_normal((2, 3, 4))
    C = rng.standard_normal((4, 2, 3))
    assert_close(gradient(lambda v: np.sum(C * np.transpose(v, (2, 0, 1))), T3),
                 np.transpose(C, (1, 2, 0)))
    assert_close(gradient(lambda v: np.sum(C * v.transpose(-1, 0, 1)), T3),
                 np.transpose(C, (1, 2, 0)))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(axis):
    a = np.array([0.3, -1.2, 0.7])
    u = rng.standard_normal(np.stack([a, a, a], axis=axis).shape)
    expected_parts = [np.take(u, i, axis=axis) for i in range(3)]
    # stack of three traced pieces and a constant in between
    grad = gradient(lambda v: np.sum(u * np.stack([np.sin(v), v, v**2], axis=axis)), a)
    assert_close(grad, np.cos(a) * expected_parts[0] + expected_parts[1]
                 + 2 * a * expected_parts[2])


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concatenate(axis):
    a = rng.standard_normal((2, 3))
    const = np.ones((2, 3))
    out_shape = np.concatenate([a, const, a], axis=axis).shape
    u = rng.standard_normal(out_shape)

    def f(v):
        return np.sum(u * np.concatenate([v, const, 2.0 * v], axis=axis))

    if axis is None:
        expected = u[:6].reshape(2, 3) + 2 * u[12:].reshape(2, 3)
    else:
        first, _, last = np.split(u, 3, axis=axis)
        expected = first + 2 * last
    assert_close(gradient(f, a), expected)


def test_where_with_constant_condition():
    x = np.array([-1.0, 0.5, 2.0])
    assert_close(gradient(lambda v: np.sum(np.where(v > 0, v**2, 3 * v)), x), [3, 1, 4])
    assert_close(gradient(lambda v: np.sum(np.where([True, False, True], v, 0.0)), x), [1, 0, 1])


def test_where_with_traced_condition_raises():
    with pytest.raises(TypeError, match="condition"):
        gradient(lambda v: np.sum(np.where(v, 1.0, v)), np.array([1.0]))


# ---- matrix products ----
@pytest.mark.parametrize("shape_a, shape_b", [((3, 4), (4, 2)), ((4,), (4, 2)),
                                              ((3, 4), (4,)), ((4,), (4,))])
@pytest.mark.parametrize("product", ["@", "matmul", "dot"])
def test_matrix_products_against_hand_formulas(shape_a, shape_b, product):
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    u = rng.standard_normal(np.shape(a @ b))
    mult = {"@": lambda p, q: p @ q, "matmul": np.matmul, "dot": np.dot}[product]
    a2 = a.reshape(1, -1) if a.ndim == 1 else a  # a row
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b  # a column
    u2 = u.reshape(a2.shape[0], b2.shape[1])
    # L = sum(u * (a b)):  dL/da = u b^T,  dL/db = a^T u
    assert_close(gradient(lambda v: np.sum(u * mult(v, b)), a), (u2 @ b2.T).reshape(a.shape))
    assert_close(gradient(lambda v: np.sum(u * mult(a, v)), b), (a2.T @ u2).reshape(b.shape))
    assert_close(gradient(lambda v: np.sum(u * v.dot(b)), a), (u2 @ b2.T).reshape(a.shape))


def test_quadratic_form_uses_x_twice():
    M = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)
    assert_close(gradient(lambda v: v @ M @ v, x), (M + M.T) @ x)
    V = rng.standard_normal((3, 3))
    U = rng.standard_normal((3, 3))
    assert_close(gradient(lambda v: np.sum(U * (v @ v)), V), U @ V.T + V.T @ U)


def test_ndarray_dot_method_on_a_traced_value_is_not_silent():
    # ndarray.dot is a method NumPy does not dispatch: it must fail loudly
    with pytest.raises(TypeError, match="drop"):
        gradient(lambda v: np.sum(np.ones((2, 4)).dot(v)), X)


def test_dot_with_a_scalar_is_multiplication():
    assert_close(gradient(lambda v: np.sum(np.dot(3.0, v)), X), 3 * np.ones(4))


def test_matmul_beyond_2d_is_refused():
    with pytest.raises(TypeError, match="1-D and 2-D"):
        gradient(lambda v: np.sum(v.reshape(1, 2, 2) @ np.ones((2, 2))), X)


# ---- broadcasting ----
@pytest.mark.parametrize("shape_x, shape_c", [((3, 1), (4,)), ((4,), (3, 4)), ((1,), (2, 3)),
                                              ((2, 1, 3), (4, 1)), ((), (2, 2))])
def test_broadcasting_sums_the_adjoints_of_the_copies(shape_x, shape_c):
    x = rng.standard_normal(shape_x)
    c = rng.standard_normal(shape_c)
    u = rng.standard_normal(np.broadcast_shapes(shape_x, shape_c))
    expected = unbroadcast(u * c, np.shape(x))
    grad = gradient(lambda v: np.sum(u * (v * c)), x)
    assert_close(grad, expected)
    assert np.shape(grad) == np.shape(x)


def test_unbroadcast_helper():
    g = np.ones((2, 3, 4))
    assert_close(unbroadcast(g, (3, 1)), 8 * np.ones((3, 1)))
    assert_close(unbroadcast(g, (4,)), 6 * np.ones(4))
    assert_close(unbroadcast(g, ()), 24.0)
    assert unbroadcast(g, (2, 3, 4)) is g


# ---- control flow and reuse ----
def test_python_loops_and_if_on_values():
    def f(v):
        total = 0.0
        for i in range(len(v)):
            total = total + (v[i] ** 2 if v[i] > 0 else -3 * v[i])
        return total

    assert_close(gradient(f, X), np.where(X > 0, 2 * X, -3.0))


def test_comparisons_give_plain_bool_arrays():
    seen = {}

    def f(v):
        seen["gt"] = v > 0
        seen["np.less"] = np.less(v, 1.0)
        seen["eq"] = v == v
        return np.sum(v)

    gradient(f, X)
    assert all(type(b) is np.ndarray and b.dtype == bool for b in seen.values())


def test_reused_intermediate_accumulates():
    # y = sin(x) used three times: d/dx (y*y + y) = (2y + 1) cos x
    def f(v):
        y = np.sin(v)
        return np.sum(y * y + y)

    assert_close(gradient(f, X), (2 * np.sin(X) + 1) * np.cos(X))


def test_deep_tape_has_no_recursion_limit():
    def f(v):
        z = v
        for _ in range(20_000):
            z = z * 0.9999 + 0.001
        return np.sum(z)

    assert_close(gradient(f, np.array([1.0, 2.0])), 0.9999**20_000 * np.ones(2))


def test_constant_function_has_zero_gradient():
    assert_close(gradient(lambda v: 3.0, X), np.zeros(4))
    assert gradient(lambda v: 2.0, 1.5) == 0.0


# ---- examples from the source material ----
def test_seed004_recursion():
    def func(x):
        z = 0.0  # z_0 = 0, as in seed 004
        for _ in range(20):
            z = np.sin(x * z) + x
        return z

    for x0 in [0.1, 0.8, 1.3]:
        z, dz = 0.0, 0.0  # dz_{n+1} = x cos(z_n x) dz_n + z_n cos(z_n x) + 1
        for _ in range(20):
            z, dz = math.sin(z * x0) + x0, x0 * math.cos(z * x0) * dz + z * math.cos(z * x0) + 1
        assert_close(derivative(func, x0), dz)
        assert isinstance(derivative(func, x0), float)
    xs = np.linspace(0.0, 1.5, 7)  # elementwise over an array: the Jacobian is diagonal
    assert_close(np.diag(jacobian(func, xs)), [derivative(func, x) for x in xs])


def test_domke_exp_sin_example():
    def f(x):
        a = np.exp(x)
        b = a**2
        c = a + b
        return np.exp(c) + np.sin(c)

    x0 = 0.3
    e, c = math.exp(x0), math.exp(x0) + math.exp(2 * x0)
    assert_close(gradient(f, x0), (math.exp(c) + math.cos(c)) * (e + 2 * e**2))


def test_normal_log_density():
    def log_normal(p):
        y, mu, sigma = p[0], p[1], p[2]
        return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)

    y, mu, sigma = 1.3, 0.4, 0.8
    assert_close(gradient(log_normal, [y, mu, sigma]),
                 [-(y - mu) / sigma**2, (y - mu) / sigma**2, (y - mu) ** 2 / sigma**3 - 1 / sigma])


def test_x1_x2_plus_sin_x1():
    assert_close(gradient(lambda x: x[0] * x[1] + np.sin(x[0]), [2.0, 5.0]),
                 [5.0 + math.cos(2.0), 2.0])


def test_tanh_mlp_loss_matches_hand_written_backprop():
    n, d, h, c = 7, 5, 4, 3
    X_ = rng.standard_normal((n, d))
    y = rng.integers(0, c, size=n)
    W1, b1 = rng.standard_normal((d, h)), rng.standard_normal(h)
    W2, b2 = rng.standard_normal((h, c)), rng.standard_normal(c)
    sizes = [W1.size, b1.size, W2.size, b2.size]
    theta = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])

    def loss(t):
        i = np.cumsum(sizes)
        W1_, b1_ = t[: i[0]].reshape(d, h), t[i[0] : i[1]]
        W2_, b2_ = t[i[1] : i[2]].reshape(h, c), t[i[2] :]
        H = np.tanh(X_ @ W1_ + b1_)
        logits = H @ W2_ + b2_
        shifted = logits - np.max(logits, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        return -np.mean(log_probs[np.arange(n), y])

    # backprop by hand, matrix form (seed 000's G recursion)
    H = np.tanh(X_ @ W1 + b1)
    logits = H @ W2 + b2
    P = np.exp(logits - logits.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dL_dlogits = (P - np.eye(c)[y]) / n
    dL_dW2, dL_db2 = H.T @ dL_dlogits, dL_dlogits.sum(axis=0)
    dL_dA = (dL_dlogits @ W2.T) * (1 - H**2)
    dL_dW1, dL_db1 = X_.T @ dL_dA, dL_dA.sum(axis=0)
    expected = np.concatenate([dL_dW1.ravel(), dL_db1, dL_dW2.ravel(), dL_db2])
    assert_close(gradient(loss, theta), expected)


# ---- jacobian, vjp, derivative ----
def f_vec(x):
    return np.stack([x[0] * x[1], np.sin(x[0]), x[1] ** 2 * x[2]])


def J_vec(x):
    return np.array([[x[1], x[0], 0], [np.cos(x[0]), 0, 0], [0, 2 * x[1] * x[2], x[1] ** 2]])


def test_jacobian_against_hand_formula():
    x = np.array([0.5, -1.5, 2.0])
    assert_close(jacobian(f_vec, x), J_vec(x))


def test_jacobian_shapes_are_2d():
    assert jacobian(lambda v: v**2, 3.0).shape == (1, 1)
    assert jacobian(lambda v: np.sum(v), X).shape == (1, 4)
    assert_close(jacobian(lambda v: v.reshape(2, 2) ** 2, X), np.diag(2 * X))
    assert_close(jacobian(lambda v: np.sin(v[0]) * np.ones(3), [0.2, 1.0]),
                 [[math.cos(0.2), 0.0]] * 3)


def test_vjp_equals_u_transpose_jacobian():
    x = np.array([0.5, -1.5, 2.0])
    u = np.array([1.0, -2.0, 0.5])
    value, u_J = vjp(f_vec, x, u)
    assert_close(value, f_vec(x))
    assert_close(u_J, u @ jacobian(f_vec, x))
    value, u_J = vjp(lambda v: v.reshape(2, 2) * 3.0, X, np.ones((2, 2)))
    assert value.shape == (2, 2) and u_J.shape == (4,)
    assert_close(u_J, 3 * np.ones(4))


def test_vjp_scalar_cases_return_floats():
    value, u_J = vjp(np.sin, 0.5, 2.0)
    assert isinstance(value, float) and isinstance(u_J, float)
    assert_close(u_J, 2 * math.cos(0.5))


def test_derivative_of_vector_output():
    d = derivative(lambda t: np.stack([np.sin(t), t**2]), 0.4)
    assert_close(d, [math.cos(0.4), 0.8])


def test_gradient_shape_and_type():
    assert isinstance(gradient(lambda v: v**2, 3.0), float)
    g = gradient(lambda v: np.sum(v**2), A)
    assert g.shape == A.shape and g.flags.writeable and g.flags.owndata
    assert_close(gradient(lambda v: np.sum(v), A), np.ones_like(A))  # a broadcast adjoint
    assert gradient(lambda v: np.sum(v), A).flags.writeable
    assert_close(gradient(lambda v: (v * 2.0).reshape(1, 1), [1.5]), [2.0])


def test_input_is_not_modified():
    x = X.copy()
    gradient(lambda v: np.sum(v[1:] * v[:-1]) + np.sum(v[[0, 0]]), x)
    assert np.array_equal(x, X)


# ---- tape memory ----
def test_tape_size_counts_records_and_kept_bytes():
    x = np.ones(1000)
    size = tape_size(lambda v: np.sum(np.sin(v) * 2.0), x)
    assert size.nodes == 4  # x, sin, *, sum
    assert size.bytes == x.nbytes  # x (read by sin's rule); c * y's rule reads only c, not y
    assert tape_size(lambda v: np.sum(np.sin(v) * v), x).bytes == 2 * x.nbytes  # both read
    # + and exp's argument are never read by a rule: only x (record 0) and exp(x) are kept
    assert tape_size(lambda v: np.sum(np.exp(v + 1.0)), x).bytes == 2 * x.nbytes
    assert tape_size(lambda v: np.sum(v[1:] - v[:-1]), x).bytes == x.nbytes


# ---- errors name the problem ----
def test_unsupported_function_raises_naming_it_and_listing_the_supported_ones():
    with pytest.raises(TypeError, match=r"np\.cbrt is not supported by mlpkit\.reverse; "
                                        r"supported: .*np\.sin"):
        gradient(lambda v: np.sum(np.cbrt(v)), X)
    with pytest.raises(TypeError, match=r"np\.cumprod is not supported"):
        gradient(lambda v: np.sum(np.cumprod(v)), X)
    with pytest.raises(TypeError, match=r"np\.add\.reduce"):
        gradient(lambda v: np.add.reduce(v), X)
    with pytest.raises(TypeError, match="keyword"):
        gradient(lambda v: np.sum(np.add(v, 1.0, out=np.empty(4))), X)
    with pytest.raises(TypeError, match="np.sum"):
        gradient(lambda v: np.sum(v, dtype=np.float32), X)


def test_leaving_the_trace_raises():
    with pytest.raises(TypeError, match="drop"):
        gradient(lambda v: float(np.sum(v)), X)
    with pytest.raises(TypeError, match="np.stack"):
        gradient(lambda v: np.sum(np.array([v[0], v[1]])), X)
    with pytest.raises(TypeError, match="drop"):
        gradient(lambda v: np.sum(np.asarray(v)), X)
    with pytest.raises(TypeError, match="np.stack"):
        jacobian(lambda v: [v[0], v[1]], X)


def test_complex_values_inside_f_raise():
    with pytest.raises(TypeError, match="complex"):
        gradient(lambda v: np.sum(np.abs(v * 1j)), X)
    with pytest.raises(TypeError, match="real"):
        gradient(lambda v: 1j, X)


@pytest.mark.parametrize("api", [gradient, jacobian, derivative, tape_size,
                                 lambda f, x: vjp(f, x, 1.0)])
def test_bad_f(api):
    with pytest.raises(TypeError, match="callable"):
        api("sin", 1.0)


@pytest.mark.parametrize("bad_x, error, message", [
    (np.array([1.0, np.nan]), ValueError, "finite"),
    (np.inf, ValueError, "finite"),
    (np.array([1.0 + 2j]), TypeError, "complex"),
    ("1.0", TypeError, "number"),
    (None, TypeError, "number"),
])
@pytest.mark.parametrize("api", [gradient, jacobian, tape_size])
def test_bad_x(api, bad_x, error, message):
    with pytest.raises(error, match=message):
        api(lambda v: np.sum(v), bad_x)


def test_bad_outputs_of_f():
    with pytest.raises(ValueError, match="f\\(x\\) must be finite"), np.errstate(all="ignore"):
        gradient(lambda v: np.sum(v) / 0.0 * 0.0, X)
    with pytest.raises(TypeError, match="f\\(x\\)"):
        gradient(lambda v: "one", X)


def test_gradient_needs_a_scalar_output():
    with pytest.raises(ValueError, match="single number.*jacobian"):
        gradient(lambda v: v**2, X)


def test_vjp_checks_the_shape_of_u():
    with pytest.raises(ValueError, match="u"):
        vjp(lambda v: v**2, X, np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        vjp(lambda v: v**2, X, np.full(4, np.nan))


def test_derivative_needs_a_single_number():
    with pytest.raises(ValueError, match="single number"):
        derivative(np.sin, X)


# ---- random compositions against the complex step ----
UNARY_ANALYTIC = [np.sin, np.cos, np.tanh, np.arctan, np.exp, np.square,
                  lambda u: np.log1p(u * u), lambda u: np.sqrt(1.0 + u * u),
                  lambda u: 1.0 / (1.5 + np.sin(u)), lambda u: u**3]
BINARY_ANALYTIC = [np.add, np.subtract, np.multiply, lambda a, b: a / (2.0 + np.cos(b))]
LEAVES = [lambda v: v, lambda v: v[::-1], lambda v: v[[0, 0, 1]], lambda v: v.reshape(3, 1),
          lambda v: 0.5 * v, lambda v: v @ np.eye(3)]

expressions = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(UNARY_ANALYTIC), children).map(
            lambda t: (lambda v, op=t[0], a=t[1]: op(a(v)))),
        st.tuples(st.sampled_from(BINARY_ANALYTIC), children, children).map(
            lambda t: (lambda v, op=t[0], a=t[1], b=t[2]: op(a(v), b(v))))),
    max_leaves=6)


def complex_step_gradient(f, x, h=1e-30):
    """d/dx_j f = Im f(x + i h e_j) / h, exact to rounding for analytic f."""
    grad = np.empty_like(x)
    for j in range(x.size):
        xc = x.astype(complex)
        xc[j] += 1j * h
        grad[j] = np.imag(f(xc)) / h
    return grad


@given(expr=expressions,
       x=st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3).map(np.array))
def test_random_compositions_match_the_complex_step(expr, x):
    def f(v):
        return np.sum(np.tanh(expr(v)))  # tanh keeps the scale moderate

    with np.errstate(over="raise"):
        expected = complex_step_gradient(f, x)
    # relative to max(||expected||, 1): where cancellation makes the exact gradient 0 (a - a),
    # rounding leaves about 1e-16 times the size of the terms, which are O(1) here
    error = np.linalg.norm(gradient(f, x) - expected)
    assert error <= 1e-12 * max(np.linalg.norm(expected), 1.0), (error, expected)
