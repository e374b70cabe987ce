"""Tests of the scalar reverse-mode engine mlpkit.reverse.Var against hand-derived derivatives."""

import math

import numpy as np
import pytest

from mlpkit.reverse import Var
from mlpkit.reverse.scalar import UNARY_RULES, topological_order

TOL = 1e-12


def assert_close(actual, expected, tol=TOL):
    """Relative error |actual - expected| / |expected| (absolute if expected is 0)."""
    scale = abs(expected) if expected != 0 else 1.0
    assert abs(actual - expected) <= tol * scale, f"got {actual!r}, expected {expected!r}"


def grad_of(f, *values):
    """Run f on fresh Vars and return (output Var, [d out / d input])."""
    inputs = [Var(v) for v in values]
    out = f(*inputs)
    out.backward()
    return out, [v.grad for v in inputs]


# ---- every rule of the table, by hand ----
UNARY_CASES = [
    (np.sin, 0.7, math.cos(0.7)),
    (np.cos, 0.7, -math.sin(0.7)),
    (np.tan, 0.7, 1.0 / math.cos(0.7) ** 2),
    (np.exp, 0.7, math.exp(0.7)),
    (np.log, 0.7, 1.0 / 0.7),
    (np.sqrt, 0.7, 0.5 / math.sqrt(0.7)),
    (np.tanh, 0.7, 1.0 / math.cosh(0.7) ** 2),
    (np.arctan, 0.7, 1.0 / (1.0 + 0.49)),
    (np.abs, -0.7, -1.0),
    (np.abs, 0.7, 1.0),
]


@pytest.mark.parametrize("ufunc, x, expected", UNARY_CASES)
def test_unary_rules_match_hand_derivatives(ufunc, x, expected):
    out, (dx,) = grad_of(ufunc, x)
    assert_close(out.value, float(ufunc(x)))
    assert_close(dx, expected)


def test_every_unary_rule_is_tested():
    assert {case[0] for case in UNARY_CASES} == set(UNARY_RULES)


def test_abs_at_zero_has_derivative_zero_by_convention():
    _, (dx,) = grad_of(abs, 0.0)
    assert dx == 0.0


@pytest.mark.parametrize(
    "f, a, b, da, db",
    [
        (lambda a, b: a + b, 1.5, -2.0, 1.0, 1.0),
        (lambda a, b: a - b, 1.5, -2.0, 1.0, -1.0),
        (lambda a, b: a * b, 1.5, -2.0, -2.0, 1.5),
        (lambda a, b: a / b, 1.5, -2.0, -0.5, -1.5 / 4.0),
        (lambda a, b: a**b, 1.5, -2.0, -2.0 * 1.5**-3.0, 1.5**-2.0 * math.log(1.5)),
    ],
    ids=["add", "sub", "mul", "div", "pow"],
)
def test_binary_rules_match_hand_derivatives(f, a, b, da, db):
    out, (ga, gb) = grad_of(f, a, b)
    assert_close(out.value, f(a, b))
    assert_close(ga, da)
    assert_close(gb, db)


@pytest.mark.parametrize(
    "f, x, expected_value, expected_grad",
    [
        (lambda x: 3 + x, 2.0, 5.0, 1.0),
        (lambda x: x + 3, 2.0, 5.0, 1.0),
        (lambda x: 3 - x, 2.0, 1.0, -1.0),
        (lambda x: x - 3, 2.0, -1.0, 1.0),
        (lambda x: 3 * x, 2.0, 6.0, 3.0),
        (lambda x: x * 3.5, 2.0, 7.0, 3.5),
        (lambda x: 3 / x, 2.0, 1.5, -0.75),
        (lambda x: x / 4, 2.0, 0.5, 0.25),
        (lambda x: x**3, 2.0, 8.0, 12.0),
        (lambda x: 2**x, 3.0, 8.0, 8.0 * math.log(2.0)),
        (lambda x: -x, 2.0, -2.0, -1.0),
        (lambda x: +x, 2.0, 2.0, 1.0),
        (lambda x: np.float64(2.0) * x, 2.0, 4.0, 2.0),
        (lambda x: np.float64(2.0) + x, 2.0, 4.0, 1.0),
        (lambda x: np.int64(5) - x, 2.0, 3.0, -1.0),
        (lambda x: np.float64(1.0) / x, 2.0, 0.5, -0.25),
        (lambda x: np.float64(2.0) ** x, 3.0, 8.0, 8.0 * math.log(2.0)),
    ],
)
def test_constants_ints_and_reflected_operators(f, x, expected_value, expected_grad):
    out, (dx,) = grad_of(f, x)
    assert isinstance(out, Var)
    assert_close(out.value, expected_value)
    assert_close(dx, expected_grad)


def test_constants_are_not_recorded_in_the_graph():
    x = Var(2.0)
    y = x * 3
    assert y.op == "*"
    assert y.parents == ((x, 3.0),)
    assert np.sin(x).op == "sin" and np.sin(x).parents[0][0] is x


def test_label_for_drawings():
    x = Var(2.0, label="x")
    assert x.label == "x" and (x * 2).label is None


def test_int_value_becomes_float():
    x = Var(2)
    assert isinstance(x.value, float) and x.grad == 0.0


def test_comparisons_look_at_values():
    x, y = Var(1.0), Var(2.0)
    assert x < y and x <= y and y > x and y >= x and x != y and not x == y
    assert x < 1.5 and 0.5 < x and x == 1.0 and np.float64(3.0) > x
    assert len({x, Var(1.0)}) == 2  # hashing is by identity, not by value


# ---- the graph: reused nodes, order, depth ----
def test_reused_node_x_times_x():
    _, (dx,) = grad_of(lambda x: x * x, 3.0)
    assert dx == 6.0


def test_reused_intermediate_nodes_accumulate():
    a = Var(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (c.value, b.grad, a.grad) == (4.0, 2.0, 4.0)


def test_diamond_needs_topological_order():
    # y = u * v with u = sin(x), v = u + x: u has two children, x three paths to y
    x = Var(0.4)
    u = np.sin(x)
    v = u + x
    y = u * v
    y.backward()
    s, c = math.sin(0.4), math.cos(0.4)
    assert_close(x.grad, c * (s + 0.4) + s * (c + 1.0))
    order = topological_order(y)
    position = {id(node): i for i, node in enumerate(order)}
    assert len(order) == 4
    for node in order:
        for parent, _ in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_chain_of_100000_operations_no_recursion_limit():
    x = Var(0.3)
    z, dz = Var(0.0), 0.0  # dz: forward-mode derivative computed alongside, by hand
    for _ in range(50_000):  # two operations a step: a graph 10^5 nodes deep
        dz = math.cos(z.value) * dz + 1.0
        z = np.sin(z) + x
    z.backward()
    assert_close(x.grad, dz)


# ---- backward() twice: documented semantics ----
def test_backward_twice_accumulates_into_leaves_and_resets_intermediates():
    x = Var(2.0)
    b = x * x  # intermediate
    y = 3 * b
    y.backward()
    assert (x.grad, b.grad, y.grad) == (12.0, 3.0, 1.0)
    y.backward()
    assert x.grad == 24.0  # leaf: accumulated, like PyTorch
    assert (b.grad, y.grad) == (3.0, 1.0)  # intermediates: recomputed, not doubled
    x.grad = 0.0  # what optimizer.zero_grad() does
    y.backward()
    assert x.grad == 12.0


def test_two_outputs_sharing_a_subgraph_add_up_in_the_leaf():
    x = Var(0.5)
    u = np.exp(x)
    (u * 2).backward()
    (u * 3).backward()
    assert_close(x.grad, 5 * math.exp(0.5))


def test_backward_on_a_leaf_seeds_one():
    x = Var(1.0)
    x.backward()
    assert x.grad == 1.0


# ---- examples from the source material ----
def test_seed004_recursion_z_next_equals_sin_z_x_plus_x():
    x0 = 1.3
    z, dz = 0.0, 0.0  # z_0 = 0 (seed 004); dz_{n+1} = x cos(z_n x) dz_n + z_n cos(z_n x) + 1
    for _ in range(20):
        z, dz = math.sin(z * x0) + x0, x0 * math.cos(z * x0) * dz + z * math.cos(z * x0) + 1
    x = Var(x0)
    zv = 0.0
    for _ in range(20):
        zv = np.sin(zv * x) + x
    zv.backward()
    assert_close(zv.value, z)
    assert_close(x.grad, dz)


def test_domke_exp_sin_example():
    x0 = 0.3
    _, (dx,) = grad_of(lambda x: np.exp(np.exp(x) + np.exp(x) ** 2)
                       + np.sin(np.exp(x) + np.exp(x) ** 2), x0)
    e = math.exp(x0)
    c = e + e**2
    assert_close(dx, (math.exp(c) + math.cos(c)) * (e + 2 * e**2))


def test_normal_log_density():
    def log_normal(y, mu, sigma):
        return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * math.log(2 * math.pi)

    y, mu, sigma = 1.3, 0.4, 0.8
    out, (dy, dmu, dsigma) = grad_of(log_normal, y, mu, sigma)
    assert_close(out.value, -0.5 * ((y - mu) / sigma) ** 2 - math.log(sigma)
                 - 0.5 * math.log(2 * math.pi))
    assert_close(dy, -(y - mu) / sigma**2)
    assert_close(dmu, (y - mu) / sigma**2)
    assert_close(dsigma, (y - mu) ** 2 / sigma**3 - 1 / sigma)


def test_x1_x2_plus_sin_x1():
    out, (d1, d2) = grad_of(lambda x1, x2: x1 * x2 + np.sin(x1), 2.0, 5.0)
    assert_close(out.value, 10.0 + math.sin(2.0))
    assert_close(d1, 5.0 + math.cos(2.0))
    assert_close(d2, 2.0)


# ---- errors name the problem ----
def test_unsupported_ufunc_names_it():
    with pytest.raises(TypeError, match="arcsinh"):
        np.arcsinh(Var(1.0))


@pytest.mark.parametrize("bad", ["1.0", None, True, 1j, [1.0], Var(1.0)])
def test_var_needs_a_real_number(bad):
    with pytest.raises(TypeError, match="real number"):
        Var(bad)


def test_float_of_var_raises_and_says_why():
    with pytest.raises(TypeError, match="derivative"):
        float(Var(1.0))


def test_domain_errors_are_not_silent():
    with pytest.raises(ValueError):
        Var(-8.0) ** 0.5  # would be complex
    with pytest.raises(ValueError, match="a >= 0"):
        (-2.0) ** Var(2.0)  # d/db needs log(a)
    with pytest.raises(ValueError):
        np.log(Var(-1.0))


def test_unsupported_operand_type_raises():
    with pytest.raises(TypeError):
        Var(1.0) + "a"
