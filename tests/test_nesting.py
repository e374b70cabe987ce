"""Every differentiation mode nests inside every mode, to any depth, without perturbation confusion.

Each call tags its traced values with its own level (mlpkit.nesting); a value escaping its call is
refused rather than differentiated wrongly.
"""

import itertools

import numpy as np
import pytest

from mlpkit import forward, reverse, second_order
from mlpkit.numdiff import rel_error
from mlpkit.reverse.scalar import Var

DERIVATIVES = {"forward": forward.derivative, "reverse": reverse.derivative}
GRADIENTS = {"forward": forward.gradient, "reverse": reverse.gradient}
PAIRS = list(itertools.product(DERIVATIVES, repeat=2))


# --- perturbation confusion (Siskind and Pearlmutter 2005) --------------------------------------

@pytest.mark.parametrize("outer, inner", PAIRS)
def test_closure_over_the_outer_variable(outer, inner):
    """d/dt [d/ds (s t)] = d/dt t = 1; an untagged implementation returns 0."""
    got = DERIVATIVES[outer](lambda t: DERIVATIVES[inner](lambda s: s * t, 1.0), 0.7)
    assert got == 1.0


@pytest.mark.parametrize("outer, inner", PAIRS)
def test_siskind_pearlmutter_example(outer, inner):
    """d/dx [x d/dy (x + y)] at x = 1 is 1 (the inner derivative is 1); confusion gives 2."""
    got = DERIVATIVES[outer](lambda x: x * DERIVATIVES[inner](lambda y: x + y, 1.0), 1.0)
    assert got == 1.0


@pytest.mark.parametrize("outer, inner", PAIRS)
def test_inner_derivative_depending_on_the_outer_variable(outer, inner):
    """d/dx [d/dy sin(x y)] at y = 1 = d/dx [x cos(x)] = cos x - x sin x."""
    x = 0.8
    got = DERIVATIVES[outer](lambda a: DERIVATIVES[inner](lambda b: np.sin(a * b), 1.0), x)
    assert got == pytest.approx(np.cos(x) - x * np.sin(x), rel=1e-14)


def test_inner_gradient_of_a_closure_with_arrays():
    """grad_x [sum(x * grad_y (x . y))] = grad_x sum(x * x) = 2x, in every pairing."""
    x = np.array([0.5, -1.5, 2.0])
    for (o, outer), (i, inner) in itertools.product(GRADIENTS.items(), repeat=2):
        got = outer(lambda a, inner=inner: np.sum(a * inner(lambda b: np.sum(a * b), np.ones(3))),
                    x)
        assert rel_error(got, 2 * x) < 1e-15, (o, i)


# --- second derivatives: every nesting ----------------------------------------------------------

@pytest.mark.parametrize("outer, inner", PAIRS)
def test_second_derivative_of_a_scalar_function(outer, inner):
    def f(x):  # f'' = e^x (2 cos x) for f = e^x sin x
        return np.exp(x) * np.sin(x)

    got = DERIVATIVES[outer](lambda a: DERIVATIVES[inner](f, a), 0.4)
    assert got == pytest.approx(2 * np.exp(0.4) * np.cos(0.4), rel=1e-14)


def test_jacobian_of_a_gradient_is_the_hessian():
    def f(x):
        return x[0] ** 2 * x[1] + np.sin(x[1]) * x[2]

    x = np.array([0.3, 1.1, -0.7])
    hand = np.array([[2 * x[1], 2 * x[0], 0], [2 * x[0], -np.sin(x[1]) * x[2], np.cos(x[1])],
                     [0, np.cos(x[1]), 0]])
    for o_jac, i_grad in itertools.product([forward.jacobian, reverse.jacobian],
                                           [forward.gradient, reverse.gradient]):
        assert rel_error(o_jac(lambda y, i_grad=i_grad: i_grad(f, y), x), hand) < 1e-15


def test_jvp_and_vjp_nest():
    x, v, u = np.array([0.4, -0.9]), np.array([1.0, 2.0]), np.array([0.5, -1.0])

    def f(y):
        return np.stack([y[0] * y[1] ** 2, np.exp(y[0])])

    def jv(y):  # J(y) v
        return forward.jvp(f, y, v)[1]

    # d/dx (u . J(x) v) = u_0 (v_0 (0, 2 x1) + v_1 (2 x1, 2 x0)) + u_1 v_0 (e^x0, 0)
    hand = u[0] * (v[0] * np.array([0, 2 * x[1]]) + v[1] * np.array([2 * x[1], 2 * x[0]]))
    hand += u[1] * v[0] * np.array([np.exp(x[0]), 0])
    assert rel_error(reverse.vjp(jv, x, u)[1], hand) < 1e-15
    assert rel_error(reverse.gradient(lambda y: reverse.vjp(f, y, u)[1] @ v, x), hand) < 1e-15
    assert rel_error(forward.jvp(lambda y: reverse.vjp(f, y, u)[1], x, v)[1],
                     reverse.jacobian(lambda y: reverse.vjp(f, y, u)[1], x) @ v) < 1e-15


# --- depth three -----------------------------------------------------------------------------

@pytest.mark.parametrize("modes", list(itertools.product(DERIVATIVES, repeat=3)))
def test_third_derivative_in_every_combination(modes):
    """(e^x sin x)''' = 2 e^x (cos x - sin x)."""
    d1, d2, d3 = (DERIVATIVES[m] for m in modes)

    def f(x):
        return np.exp(x) * np.sin(x)

    x = 0.4
    got = d1(lambda a: d2(lambda b: d3(f, b), a), x)
    assert got == pytest.approx(2 * np.exp(x) * (np.cos(x) - np.sin(x)), rel=1e-13)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_third_derivatives(x):
    """T[i, j, k] = d^3 f / dx_i dx_j dx_k: 2400 x_i at (i, i, i), -400 at (i, i, i+1) permuted."""
    n = len(x)
    T = np.zeros((n, n, n))
    for i in range(n - 1):
        T[i, i, i] = 2400.0 * x[i]
        for index in set(itertools.permutations((i, i, i + 1))):
            T[index] = -400.0
    return T


@pytest.mark.parametrize("hvp_mode", second_order.MODES)
@pytest.mark.parametrize("outer", list(GRADIENTS))
def test_gradient_of_a_hessian_vector_product(outer, hvp_mode):
    """grad_x [u . H(x) v] = T(., u, v) from the hand-derived third derivatives."""
    x = np.array([0.3, -1.2, 0.8, 1.5])
    u, v = np.array([1.0, -0.5, 2.0, 0.25]), np.array([0.7, 1.1, -0.3, -2.0])
    hand = np.einsum("kij,i,j->k", rosenbrock_third_derivatives(x), u, v)
    got = GRADIENTS[outer](lambda y: np.sum(u * second_order.hvp(rosenbrock, y, v, hvp_mode)), x)
    assert rel_error(got, hand) < 1e-12


def test_hessian_of_a_hessian_vector_product_component():
    """Depth four: the Hessian of x -> (H(x) v)_0 = 12 x_0^2 v_0 for f = sum(x^4) is 24 v_0 e_0 e_0^T."""
    x, v = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    got = second_order.hessian(lambda y: second_order.hvp(lambda z: np.sum(z**4), y, v)[0], x)
    assert rel_error(got, np.array([[24 * v[0], 0], [0, 0]])) < 1e-15


# --- where nesting cannot be supported: a clear error, never a wrong number ---------------------

def test_a_dual_number_escaping_its_call_is_refused():
    escaped = []

    def keep(s):
        escaped.append(s)
        return s * s

    forward.derivative(keep, 1.0)
    with pytest.raises(ValueError, match="already returned"):
        forward.derivative(lambda t: escaped[0] * t, 2.0)
    with pytest.raises(ValueError, match="already returned"):
        np.sin(escaped[0])


def test_a_traced_value_escaping_its_call_is_refused():
    escaped = []

    def keep(s):
        escaped.append(s)
        return np.sum(s * s)

    reverse.gradient(keep, np.ones(2))
    with pytest.raises(ValueError, match="already returned"):
        reverse.gradient(lambda t: np.sum(escaped[0] * t), np.ones(2))


@pytest.mark.parametrize("differentiate", [forward.derivative, reverse.derivative])
def test_using_or_returning_an_inner_traced_value_is_refused(differentiate):
    def leak(t):
        leaked = []
        differentiate(lambda s: leaked.append(s * t) or s, 1.0)
        return leaked[0]  # traced by the inner call, which has finished

    with pytest.raises(ValueError, match="already returned"):
        differentiate(lambda t: leak(t) + t, 1.0)
    with pytest.raises(ValueError, match="already returned"):
        differentiate(leak, 1.0)


def test_scalar_var_engine_refuses_traced_numbers():
    """The lecture's scalar Var engine does not nest: it says so instead of dropping a tangent."""
    with pytest.raises(TypeError, match="Var needs a real number"):
        forward.derivative(lambda t: Var(t).value, 1.0)


def test_a_hand_made_dual_cannot_hold_a_traced_value():
    with pytest.raises(ValueError, match="Dual cannot hold"):
        reverse.gradient(lambda x: np.sum(forward.Dual(x, np.ones(2)).value), np.ones(2))


def test_numerical_differentiation_and_ad_do_not_nest_and_say_so():
    """Finite differences and the complex step work on plain numbers only: a clear TypeError."""
    from mlpkit import numdiff

    with pytest.raises(TypeError, match="drop its derivative"):
        reverse.gradient(lambda x: numdiff.derivative(np.sin, x), np.array(0.5))
    with pytest.raises(TypeError, match="tangent"):
        forward.derivative(lambda x: numdiff.derivative(np.sin, x), 0.5)
    with pytest.raises(TypeError, match="complex"):
        numdiff.gradient(lambda x: reverse.gradient(lambda y: np.sum(y**2), x)[0], np.ones(2))


def test_an_escaped_traced_value_is_refused_at_its_first_operation():
    escaped = []
    reverse.gradient(lambda s: escaped.append(s) or np.sum(s * s), np.ones(2))
    with pytest.raises(ValueError, match="already returned"):
        escaped[0] * 2.0
    with pytest.raises(ValueError, match="already returned"):
        reverse.gradient(lambda t: escaped[0] @ t, np.ones(2))
