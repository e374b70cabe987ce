"""Every supported NumPy function, in every mode, once and twice; the tables agree with each other.

One catalogue entry per piece of what a student's loss is made of (issue 17): elementwise maths,
reductions with ``axis``/``keepdims``, linear algebra, array plumbing.  Each entry is checked

- once: ``forward.gradient`` and ``reverse.gradient`` against the complex step (relative error
  <= 1e-12), or against central differences (<= 1e-7) where the complex step does not apply
  (``np.clip``, ``np.logaddexp`` are not analytic in the complex plane);
- twice: the four nestings of ``second_order.hvp`` agree with each other (<= 1e-12) and with a
  central difference of the reverse gradient along v (<= 1e-6, what a step of 1e-5 allows).

The points are generic (no ties, no kinks); the conventions at kinks are tested separately.
"""

import numpy as np
import pytest

from mlpkit import forward, numdiff, reverse, second_order
from mlpkit.measure import rel_error
from mlpkit.reverse.scalar import BINARY_RULES, UNARY_RULES
from mlpkit.rules import JVP_RULES, SLOPES, UFUNC_PRIMITIVES, VJP_RULES, supported_names

RNG = np.random.default_rng(17)
A34 = RNG.normal(size=(3, 4))
B42 = RNG.normal(size=(4, 2))
M33 = RNG.normal(size=(3, 3)) + 3 * np.eye(3)


def _x(n, scale=1.0):
    return RNG.uniform(-1.0, 1.0, size=n) * scale


# name -> (f, x, the np.<name>s it exercises, exact: the complex step applies)
CATALOGUE = {
    # --- elementwise maths ---
    "trigonometric": (lambda x: np.sum(np.sin(x) * np.cos(x) + np.tan(x / 2)), _x(4),
                      {"np.sin", "np.cos", "np.tan"}, True),
    "inverse trigonometric": (
        lambda x: np.sum(np.arcsin(x / 2) * np.arccos(x / 3) + np.arctan(x)), _x(4),
        {"np.arcsin", "np.arccos", "np.arctan"}, True),
    "hyperbolic": (lambda x: np.sum(np.sinh(x) * np.cosh(x) + np.tanh(x) ** 3), _x(4),
                   {"np.sinh", "np.cosh", "np.tanh", "np.power"}, True),
    "inverse hyperbolic": (
        lambda x: np.sum(np.arcsinh(x) + np.arccosh(2 + x**2) * np.arctanh(x / 2)), _x(4),
        {"np.arcsinh", "np.arccosh", "np.arctanh"}, True),
    "exp and logs": (
        lambda x: np.sum(np.exp(x) * np.log(2 + x) + np.expm1(x) * np.log1p(x**2)), _x(4),
        {"np.exp", "np.log", "np.expm1", "np.log1p", "np.square"}, True),
    "sqrt, abs, power": (
        lambda x: np.sum(np.sqrt(1 + x**2) * np.abs(x) + np.power(1.5 + x, x)
                         + np.square(x) / (2 + x) - (-x) + (+x)), _x(4),
        {"np.sqrt", "np.absolute", "np.power", "np.square", "np.divide", "np.add",
         "np.subtract", "np.multiply", "np.negative", "np.positive"}, True),
    "maximum, minimum": (lambda x: np.sum(np.maximum(x, 0.1) * np.minimum(x, x[::-1] / 2)),
                         _x(5), {"np.maximum", "np.minimum"}, True),
    "clip": (lambda x: np.sum(np.clip(x, -0.5, 0.5) * x), _x(6), {"np.clip"}, False),
    "logaddexp": (lambda x: np.sum(np.logaddexp(x, 2 * x[::-1]) ** 2), _x(4),
                  {"np.logaddexp"}, False),
    "where": (lambda x: np.sum(np.where(x > 0, x**3, np.sin(x))), _x(6), {"np.where"}, True),
    # --- reductions with axis and keepdims ---
    "sum and mean": (
        lambda x: np.sum(np.sum(x.reshape(2, 3) ** 2, axis=0) * np.mean(x.reshape(2, 3), axis=1,
                                                                           keepdims=True)),
        _x(6), {"np.sum", "np.mean", "np.reshape"}, True),
    "max and min": (
        lambda x: np.sum(np.max(x.reshape(2, 3), axis=1) ** 2)
        + np.sum(np.min(x.reshape(2, 3), axis=0, keepdims=True) * x[:3])
        + np.amax(x) * np.amin(x),
        _x(6), {"np.max", "np.min", "np.amax", "np.amin"}, True),
    "prod": (lambda x: np.sum(np.prod(x.reshape(2, 3), axis=1) ** 2)
             + np.sum(np.prod(x.reshape(2, 3), axis=0, keepdims=True)) + np.prod(x),
             _x(6), {"np.prod"}, True),
    "prod with a zero": (lambda x: np.prod(x * (x > -2)) + np.sum(x.reshape(2, 2).prod(axis=0)),
                         np.array([0.0, 0.5, -1.5, 2.0]), {"np.prod"}, True),
    "cumsum": (lambda x: np.sum(np.cumsum(x.reshape(2, 3), axis=1) ** 2) + np.sum(np.cumsum(x) ** 3),
               _x(6), {"np.cumsum"}, True),
    # --- linear algebra ---
    "dot, matmul, @": (lambda x: np.sum(np.tanh(x.reshape(3, 4) @ B42)) + np.dot(x[:4], x[4:8])
                       + np.sum(np.matmul(A34, x[:4]) ** 2), _x(12),
                       {"np.dot", "np.matmul"}, True),
    "outer": (lambda x: np.sum(np.outer(x, np.sin(x)) ** 2), _x(3), {"np.outer"}, True),
    "einsum ij,jk->ik": (lambda x: np.sum(np.einsum("ij,jk->ik", x.reshape(3, 4), B42) ** 2),
                         _x(12), {"np.einsum"}, True),
    "einsum ij,j->i and i,i->": (
        lambda x: np.einsum("i,i->", np.einsum("ij,j->i", A34, x), np.sin(A34 @ x)), _x(4),
        {"np.einsum"}, True),
    "einsum ij,ij-> and transpose": (
        lambda x: np.einsum("ij,ij->", x.reshape(2, 3), np.einsum("ij->ji", x.reshape(3, 2)) ** 2),
        _x(6), {"np.einsum"}, True),
    "einsum batch bij,bjk->bik": (
        lambda x: np.sum(np.tanh(np.einsum("bij,bjk->bik", x.reshape(2, 2, 3),
                                           np.cos(x).reshape(2, 3, 2)))), _x(12),
        {"np.einsum"}, True),
    "linalg.solve": (lambda x: np.sum(np.linalg.solve(M33 + x.reshape(3, 3), x[:3]) ** 2), _x(9, 0.3),
                     {"np.linalg.solve"}, True),
    # --- array plumbing ---
    "reshape, ravel, transpose": (
        lambda x: np.sum(np.ravel(np.transpose(x.reshape(2, 3)) * x.T.reshape(3, 2)) ** 3)
        + np.sum(np.transpose(x.reshape(1, 2, 3), (2, 0, 1))[0] * x[:2]),
        _x(6), {"np.reshape", "np.ravel", "np.transpose"}, True),
    "basic and fancy indexing": (
        lambda x: np.sum(x[1:4] ** 2) + np.sum(x[[0, 0, 5]] * x[[1, 2, 3]])
        + np.sum(x.reshape(2, 3)[:, [2, 0]] ** 3) + np.sum(x[x > 0]), _x(6), set(), True),
    "concatenate, stack, split": (
        lambda x: np.sum(np.concatenate([x[:2], x[3:] ** 2]) * np.arange(5.0))
        + np.sum(np.stack([x[:3], np.sin(x[3:])], axis=1) ** 2)
        + sum(np.sum(piece**2) * (i + 1) for i, piece in enumerate(np.split(x, 3)))
        + sum(np.sum(np.sin(p)) * (i + 2) for i, p in enumerate(np.split(x.reshape(2, 3), [1],
                                                                         axis=1))),
        _x(6), {"np.concatenate", "np.stack", "np.split"}, True),
    "broadcasting": (
        lambda x: np.sum(x.reshape(2, 1, 3) * x.reshape(1, 2, 3) + x[:3] / (2 + x.reshape(2, 3)))
        + np.sum(np.broadcast_to(x[:3], (2, 3)) * np.expand_dims(x[3:], 0)),
        _x(6), {"np.broadcast_to", "np.expand_dims"}, True),
}


def _reference_gradient(f, x, exact):
    if exact:
        return numdiff.gradient(f, x, method="complex-step"), 1e-12
    return numdiff.gradient(f, x, method="central-difference"), 1e-7


def test_the_catalogue_covers_every_supported_function():
    covered = set().union(*(names for _, _, names, _ in CATALOGUE.values()))
    assert set(supported_names()) - covered == set(), "supported but never tested"
    assert covered - set(supported_names()) == set(), "tested but not in supported_names()"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_forward_and_reverse_agree_with_the_reference(name):
    f, x, _, exact = CATALOGUE[name]
    reference, tolerance = _reference_gradient(f, x, exact)
    for mode, gradient in (("forward", forward.gradient), ("reverse", reverse.gradient)):
        got = gradient(f, x)
        assert np.shape(got) == np.shape(x)
        err = rel_error(got, reference)
        assert err <= tolerance, f"{name}, {mode}: relative error {err:.1e} > {tolerance:.0e}"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_nesting_gives_the_same_hessian_vector_product(name):
    f, x, _, _ = CATALOGUE[name]
    v = RNG.normal(size=x.shape)
    products = {mode: second_order.hvp(f, x, v, mode=mode) for mode in second_order.MODES}
    h = 1e-5
    difference = (reverse.gradient(f, x + h * v) - reverse.gradient(f, x - h * v)) / (2 * h)
    scale = max(np.linalg.norm(difference), 1.0)
    assert np.linalg.norm(products["forward-over-reverse"] - difference) <= 1e-6 * scale, name
    for mode, hv in products.items():
        assert np.linalg.norm(hv - products["forward-over-reverse"]) <= 1e-12 * scale, (name, mode)


# --- the rules are written once ------------------------------------------------------------

def test_both_tables_have_the_same_primitives():
    assert set(JVP_RULES) == set(VJP_RULES)


@pytest.mark.parametrize("ufunc", list(SLOPES), ids=lambda u: u.__name__)
def test_slope_table_gives_both_the_tangent_and_the_adjoint(ufunc):
    """dy = f'(x) dx (forward) and g f'(x) (reverse) both come from the one formula in SLOPES,
    and f'(x) itself agrees with the complex step."""
    x = np.array([0.2, -0.45, 0.7]) if ufunc is not np.arccosh else np.array([1.3, 2.0, 4.5])
    ans = ufunc(x)
    slope = SLOPES[ufunc](x, ans)
    complex_step = np.imag(ufunc(x + 1e-30j)) / 1e-30
    assert rel_error(slope, complex_step) <= 1e-14
    direction = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(JVP_RULES[ufunc][0](direction, ans, x), direction * slope)
    np.testing.assert_array_equal(VJP_RULES[ufunc][0](direction, ans, x), direction * slope)


# --- the scalar engine of lecture 3 keeps its own, shorter table: it must agree ----------------

@pytest.mark.parametrize("ufunc", list(UNARY_RULES), ids=lambda u: u.__name__)
def test_scalar_engine_unary_rules_agree_with_the_array_rules(ufunc):
    assert ufunc in UFUNC_PRIMITIVES, f"np.{ufunc.__name__}: the array engines lack it"
    _, value_fn, derivative_fn = UNARY_RULES[ufunc]
    points = RNG.uniform(0.1, 1.4, size=5) * RNG.choice([-1.0, 1.0], size=5)
    if ufunc in (np.log, np.sqrt):
        points = np.abs(points)
    for x in points:
        scalar = derivative_fn(float(x))
        tangent = forward.derivative(ufunc, x)
        adjoint = reverse.gradient(ufunc, x)
        reference = numdiff.derivative(ufunc, x, method="complex-step")
        assert value_fn(float(x)) == pytest.approx(ufunc(x), rel=1e-15)
        for got in (scalar, tangent, adjoint):
            assert abs(got - reference) <= 1e-12 * max(abs(reference), 1.0), (ufunc, x, got)


@pytest.mark.parametrize("ufunc", list(BINARY_RULES), ids=lambda u: u.__name__)
def test_scalar_engine_binary_rules_agree_with_the_array_rules(ufunc):
    assert ufunc in UFUNC_PRIMITIVES, f"np.{ufunc.__name__}: the array engines lack it"
    _, rule = BINARY_RULES[ufunc]
    for a, b in RNG.uniform(0.2, 2.0, size=(5, 2)):
        _, d_a, d_b = rule(float(a), float(b))
        both = reverse.gradient(lambda v: ufunc(v[0], v[1]), np.array([a, b]))
        tangents = forward.gradient(lambda v: ufunc(v[0], v[1]), np.array([a, b]))
        reference = numdiff.gradient(lambda v: ufunc(v[0], v[1]), np.array([a, b]),
                                     method="complex-step")
        for got in (np.array([d_a, d_b]), both, tangents):
            assert rel_error(got, reference) <= 1e-12, (ufunc, a, b, got, reference)


# --- conventions where no derivative exists: documented, the same in every mode --------------

MODES = {"forward": forward.gradient, "reverse": reverse.gradient}


@pytest.mark.parametrize("mode", list(MODES))
def test_kink_conventions_are_the_same_in_every_mode(mode):
    grad = MODES[mode]
    # abs'(0) = 0
    np.testing.assert_array_equal(grad(lambda v: np.sum(np.abs(v)), np.array([0.0, -2.0])), [0, -1])
    # np.maximum / np.minimum: a tie goes to the second argument
    np.testing.assert_array_equal(grad(lambda v: np.maximum(v[0], v[1]), np.array([1.0, 1.0])),
                                  [0, 1])
    np.testing.assert_array_equal(grad(lambda v: np.minimum(v[0], v[1]), np.array([1.0, 1.0])),
                                  [0, 1])
    # np.clip: slope 0 at either bound, 1 strictly inside
    np.testing.assert_array_equal(grad(lambda v: np.sum(np.clip(v, -1.0, 1.0)),
                                       np.array([-1.0, 0.3, 1.0, 2.0])), [0, 1, 0, 0])
    # np.max along an axis with a tie: the first entry (the one np.argmax picks)
    np.testing.assert_array_equal(
        grad(lambda v: np.sum(np.max(v.reshape(2, 2), axis=1)), np.array([3.0, 3.0, 1.0, 1.0])),
        [1, 0, 1, 0])


@pytest.mark.parametrize("mode", list(MODES))
def test_unsupported_functions_and_einsums_raise_clear_errors(mode):
    grad = MODES[mode]
    with pytest.raises(TypeError, match="np.sort is not supported"):
        grad(lambda v: np.sum(np.sort(v)), np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="a diagonal or trace"):
        grad(lambda v: np.einsum("ii->", v.reshape(2, 2)), np.ones(4))
    with pytest.raises(TypeError, match="summed inside one operand"):
        grad(lambda v: np.einsum("ij->", v.reshape(2, 2)), np.ones(4))
    with pytest.raises(TypeError, match="one or two are supported"):
        grad(lambda v: np.einsum("i,i,i->", v, v, v), np.ones(2))
    with pytest.raises(TypeError, match="axis=None or one integer axis"):
        grad(lambda v: np.prod(v.reshape(2, 2), axis=(0, 1)), np.ones(4))


def test_plain_numpy_calls_are_unchanged():
    """The adapters only run for traced values: NumPy itself still takes any einsum."""
    assert np.einsum("ii->", np.eye(3)) == 3.0


def test_prod_along_a_long_axis():
    """Past 64 entries the product of the others is ans / x (no zero allowed there)."""
    x = RNG.uniform(0.9, 1.1, size=100) * RNG.choice([-1.0, 1.0], size=100)
    reference = numdiff.gradient(np.prod, x, method="complex-step")
    for gradient in (forward.gradient, reverse.gradient):
        assert rel_error(gradient(np.prod, x), reference) <= 1e-12
    x[3] = 0.0
    for gradient in (forward.gradient, reverse.gradient):
        with pytest.raises(ValueError, match="with a zero entry is not supported"):
            gradient(np.prod, x)
