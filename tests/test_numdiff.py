"""mlpkit.numdiff and mlpkit.complexsafe: finite differences and the complex step."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpkit import numdiff
from mlpkit.complexsafe import ComplexStepArray, perturb
from mlpkit.numdiff import derivative, gradient, jacobian, rel_error


def martins(x):
    """Martins, Sturdza and Alonso (2003): e^x / sqrt(sin^3 x + cos^3 x)."""
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def martins_derivative(x):
    s, c = np.sin(x), np.cos(x)
    return martins(x) * (1 - 0.5 * (3 * s**2 * c - 3 * c**2 * s) / (s**3 + c**3))


def assert_rel(got, expected, tol, what):
    err = rel_error(got, expected)
    assert err <= tol, f"{what}: expected {expected!r}, got {got!r}, relative error {err:.2e} > {tol:.0e}"


# --- accuracy of each method -----------------------------------------------------------------

@pytest.mark.parametrize("method, tol", [
    ("forward-difference", 1e-7),
    ("backward-difference", 1e-7),
    ("central-difference", 1e-9),
    ("complex-step", 1e-15),
])
def test_each_method_on_martins_function(method, tol):
    assert_rel(derivative(martins, 1.5, method=method), martins_derivative(1.5), tol, method)


@pytest.mark.parametrize("h", [1e-8, 1e-20, 1e-100, 1e-200, 1e-300])
def test_complex_step_is_within_4_ulp_for_tiny_steps(h):
    got = derivative(martins, 1.5, method="complex-step", h=h)
    exact = martins_derivative(1.5)
    assert abs(got - exact) <= 4 * np.spacing(exact), f"h={h}: {got!r} vs {exact!r}"


def test_central_difference_cannot_use_tiny_steps():
    # Round-off: at h = 1e-13 central differences lose most digits, the complex step none.
    central = derivative(martins, 1.5, method="central-difference", h=1e-13)
    assert rel_error(central, martins_derivative(1.5)) > 1e-5


@pytest.mark.parametrize("method, order", [
    ("forward-difference", 1), ("backward-difference", 1),
    ("central-difference", 2), ("complex-step", 2),
])
def test_order_of_accuracy(method, order):
    exact = martins_derivative(1.5)
    err = [abs(derivative(martins, 1.5, method=method, h=h) - exact) for h in (1e-2, 5e-3)]
    assert err[0] / err[1] == pytest.approx(2.0**order, rel=0.05)


def test_optimal_steps_follow_the_rules():
    eps = np.finfo(float).eps
    assert numdiff.optimal_step("forward-difference") == pytest.approx(np.sqrt(eps))
    assert numdiff.optimal_step("central-difference", 100.0) == pytest.approx(100 * eps ** (1 / 3))
    assert numdiff.optimal_step("complex-step") == 1e-200
    steps = numdiff.optimal_step("central-difference", np.array([0.1, -50.0]))
    assert steps.shape == (2,) and steps[0] == pytest.approx(eps ** (1 / 3))


# --- shapes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", numdiff.METHODS)
def test_gradient_has_the_shape_of_x(method):
    x = np.arange(6.0).reshape(2, 3) / 7
    g = gradient(lambda x: np.sum(np.sin(x) * x), x, method=method)
    assert g.shape == (2, 3)
    tol = 1e-14 if method == "complex-step" else 1e-6
    assert_rel(g, np.cos(x) * x + np.sin(x), tol, method)


def test_scalar_x_gives_float():
    assert isinstance(gradient(np.sin, 0.3), float)
    assert isinstance(derivative(np.sin, 0.3), float)


@pytest.mark.parametrize("method", numdiff.METHODS)
def test_jacobian_is_output_by_input(method):
    def f(x):
        return np.stack([x[0] * x[1], np.sin(x[0]), x[2] ** 2])

    x = np.array([0.5, -1.2, 2.0])
    expected = np.array([[x[1], x[0], 0], [np.cos(x[0]), 0, 0], [0, 0, 2 * x[2]]])
    J = jacobian(f, x, method=method)
    assert J.shape == (3, 3)
    assert_rel(J, expected, 1e-15 if method == "complex-step" else 1e-6, method)


def test_jacobian_of_matrix_valued_function_flattens_in_c_order():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    J = jacobian(lambda x: A @ x.reshape(2, 1), np.array([0.1, 0.2]))
    assert J.shape == (3, 2)
    np.testing.assert_allclose(J, A, rtol=1e-15)


# --- the complex-step traps --------------------------------------------------------------------

def test_abs_keeps_its_derivative_on_both_sides():
    assert derivative(lambda x: np.abs(x) * x, -2.0) == pytest.approx(4.0, rel=1e-15)
    assert derivative(lambda x: abs(x) ** 3, -2.0) == pytest.approx(-12.0, rel=1e-15)
    # plain NumPy gets this wrong: |x + ih| = sqrt(x^2 + h^2) has no imaginary part
    plain = np.imag(np.abs(np.complex128(-2.0 + 1e-20j)) * (-2.0 + 1e-20j)) / 1e-20
    assert plain == pytest.approx(2.0)


def test_sign_has_zero_derivative():
    # NumPy 2: np.sign(z) = z/|z|, whose imaginary part would give d sign/dx = 1/|x|.
    assert derivative(lambda x: np.sign(x) * x, -1.5) == pytest.approx(-1.0, rel=1e-15)


def test_comparisons_look_at_the_real_part_only():
    # Plain complex comparison is lexicographic: 1 + ih == 1 is False, so the branch flips.
    def f(x):
        return x**2 if x == 1.0 else x

    assert derivative(f, 1.0) == pytest.approx(2.0, rel=1e-15)
    assert derivative(lambda x: x**3 if x >= 1.0 else -x, 1.0) == pytest.approx(3.0)


def test_max_and_maximum_pick_by_real_part():
    x = np.array([1.0, 3.0, 2.0])
    np.testing.assert_allclose(gradient(lambda x: np.max(x) ** 2, x), [0, 6, 0], rtol=1e-15)
    np.testing.assert_allclose(gradient(lambda x: np.min(x * x), x), [2, 0, 0], rtol=1e-15)
    np.testing.assert_allclose(
        gradient(lambda x: np.sum(np.maximum(x, 2.5) ** 2), x), [0, 6, 0], rtol=1e-15)
    M = np.array([[1.0, 5.0], [4.0, 2.0]])
    np.testing.assert_allclose(
        gradient(lambda m: np.sum(np.max(m, axis=0) * np.array([1.0, 10.0])), M),
        [[0, 10], [1, 0]], rtol=1e-15)
    np.testing.assert_allclose(
        gradient(lambda m: np.sum(m.max(axis=1, keepdims=True)), M), [[0, 1], [1, 0]])


def test_loops_ifs_and_indexing_stay_safe():
    def f(x):
        total = 0.0
        for xi in x:
            total = total + (abs(xi) * xi if xi > 0 else -xi)
        return total + x[0] * x[-1]

    x = np.array([1.0, -3.0, 2.0])
    np.testing.assert_allclose(gradient(f, x), [2 + 2, -1, 4 + 1], rtol=1e-15)


@pytest.mark.parametrize("f, words", [
    (lambda x: float(x) * 2, "float()"),
    (lambda x: np.floor(x), "np.floor"),
    (lambda x: np.real(x), "np.real"),
    (lambda x: x.real, ".real"),
    (lambda x: np.conj(x) * x, "np.conjugate"),
    (lambda x: x.astype(float), "astype"),
    (lambda x: x.item(), ".item()"),
    (lambda x: np.abs(np.array([x, 2 * x])).sum(), "perturbation ih was lost"),
    (lambda x: np.array([x, x]).sum(), "plain complex value"),
])
def test_unsafe_operations_are_named_not_silently_wrong(f, words):
    with pytest.raises(TypeError, match=words.replace("(", r"\(").replace(")", r"\)")):
        derivative(f, 1.0, method="complex-step")


def test_writing_into_a_float_array_is_named():
    def f(x):
        out = np.zeros(2)
        out[0] = x[0] ** 2
        return out.sum()

    with pytest.raises(TypeError, match="float array"):
        gradient(f, np.array([1.0, 2.0]))
    # the fix the message suggests works
    def fixed(x):
        out = np.zeros_like(x, shape=2)
        out[0] = x[0] ** 2
        return out.sum()

    np.testing.assert_allclose(gradient(fixed, np.array([3.0, 2.0])), [6.0, 0.0])


def test_the_safe_array_survives_numpy_functions():
    z = perturb(np.array([1.0, 2.0]), np.array([1.0, 0.0]), 1e-200)
    for value in (np.dot(z, z), np.sum(z), np.stack([z, z]), np.concatenate([z, z]), z.T,
                  z.reshape(2, 1), z[0], np.mean(z), z @ z):
        assert isinstance(value, ComplexStepArray), type(value)


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: gradient("sin", 1.0), TypeError, "callable"),
    (lambda: gradient(np.sin, np.array([1.0, np.nan])), ValueError, "finite"),
    (lambda: gradient(np.sin, np.inf), ValueError, "finite"),
    (lambda: gradient(np.sin, 1 + 2j), TypeError, "complex"),
    (lambda: gradient(np.sin, "1.0"), TypeError, "number"),
    (lambda: gradient(np.sin, [[1.0], [2.0, 3.0]]), TypeError, "number"),
    (lambda: gradient(np.sin, np.ones(3)), ValueError, "single number"),
    (lambda: gradient(np.sin, 1.0, method="central-difference", h=0.0), ValueError, "> 0"),
    (lambda: gradient(np.sin, 1.0, method="central-difference", h=-1e-3), ValueError, "> 0"),
    (lambda: gradient(np.sin, 1.0, method="central-difference", h=np.nan), ValueError, "finite"),
    (lambda: gradient(np.sin, 1.0, method="central-difference", h="small"), TypeError, "step"),
    (lambda: gradient(np.sin, 1.0, method="forward"), ValueError, "unknown method"),
    (lambda: derivative(np.sin, np.ones(2)), ValueError, "scalar x"),
    (lambda: rel_error(np.ones(2), np.ones(3)), ValueError, "shape mismatch"),
    (lambda: numdiff.check_gradient(np.sum, np.ones(2), np.ones(3)), ValueError, "shape"),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- rel_error and the gradient check --------------------------------------------------------

def test_rel_error():
    assert rel_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert rel_error([3.0, 4.0 + 5e-6], [3.0, 4.0]) == pytest.approx(1e-6)
    assert rel_error([1e-3, 0.0], [0.0, 0.0]) == pytest.approx(1e-3)  # absolute at b = 0


def test_check_gradient_reports_the_worst_component():
    f = lambda x: np.sum(x**3)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    right = 3 * x**2
    assert numdiff.check_gradient(f, x, right).passed
    wrong = right.copy()
    wrong[1, 0] *= 1.01
    report = numdiff.check_gradient(f, x, wrong)
    assert not report and report.worst_index == (1, 0)
    assert report.worst_given == pytest.approx(27.27) and report.worst_reference == pytest.approx(27)
    assert "FAILED" in str(report) and "(1, 0)" in str(report)
    assert numdiff.check_gradient(f, x, right, method="central-difference").passed


# --- property: complex step agrees with the exact derivative of random smooth compositions -----

def sech_squared(u):
    """tanh'(u) = 4 e^{-2|u|} / (1 + e^{-2|u|})^2: no overflow, and no cancellation as 1 - tanh^2 has."""
    t = np.exp(-2 * np.abs(u))
    return 4 * t / (1 + t) ** 2


UNARY = {
    "sin": (np.sin, np.cos),
    "exp(tanh)": (lambda u: np.exp(np.tanh(u)), lambda u: np.exp(np.tanh(u)) * sech_squared(u)),
    "tanh": (np.tanh, lambda u: sech_squared(u)),
    "arctan": (np.arctan, lambda u: 1 / (1 + u**2)),
    "square": (np.square, lambda u: 2 * u),
}


@given(st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=6),
       st.floats(-1.5, 1.5, allow_nan=False))
def test_complex_step_matches_chain_rule(names, x0):
    def f(x):
        for name in names:
            x = UNARY[name][0](x)
        return x

    value, slope = x0, 1.0
    for name in names:  # the chain rule, by hand
        slope *= UNARY[name][1](value)
        value = UNARY[name][0](value)
    got = derivative(f, x0)
    assert abs(got - slope) <= 1e-13 * max(1.0, abs(slope)), f"{names} at {x0}: {got} vs {slope}"


def test_a_step_that_vanishes_next_to_x_is_named():
    with pytest.raises(ValueError, match="too small"):
        derivative(np.sin, 1.5, method="central-difference", h=1e-17)
    assert derivative(np.sin, 1.5, method="complex-step", h=1e-17) == pytest.approx(np.cos(1.5))


def test_ties_follow_the_convention_shared_by_every_mode():
    # np.maximum/np.minimum: the second argument wins a tie; np.max: the first tied element.
    assert derivative(lambda x: np.maximum(x, 0.0), 0.0) == 0.0
    assert derivative(lambda x: np.maximum(0.0, x), 0.0) == 1.0
    np.testing.assert_array_equal(gradient(lambda x: np.max(x), np.array([2.0, 2.0])), [1.0, 0.0])


def test_linear_solves_are_analytic_and_allowed():
    A = np.array([[3.0, 1.0], [0.5, 2.0]])
    b = np.array([1.0, -1.0])
    # d/dt of x(t) = A(t)^{-1} b with A(t) = A + t I:  dx/dt = -A^{-1} x
    x = np.linalg.solve(A, b)
    got = numdiff.jacobian(lambda t: np.linalg.solve(A + t * np.eye(2), b), 0.0)
    np.testing.assert_allclose(got.ravel(), -np.linalg.solve(A, x), rtol=1e-13)
    assert derivative(lambda t: np.linalg.det(A * t), 1.0) == pytest.approx(2 * np.linalg.det(A))
