"""PS1 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps1.ipynb. Functions handed to the student's code are
BlackBoxes: evaluated here, counted here, unknown to the student's code. References are computed
here with NumPy. Messages are for students: what was called, expected, got, and a hint.

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py).
"""

import numpy as np

from autograder import BlackBox, CheckFailed, check
from mlpkit.grading import check_close, check_scalar, check_shape, random_smooth_function

FORBIDDEN_MODULES = {
    "mlpkit.numdiff": "PS1 asks you to write finite differences and the complex step yourself",
    "mlpkit.complexsafe": "PS1 asks you to write the complex step yourself",
    "mlpkit.forward": "PS1 is about perturbation methods; automatic differentiation comes later",
    "mlpkit.reverse": "PS1 is about perturbation methods; automatic differentiation comes later",
    "autograd": "PS1 asks you to write the derivatives yourself",
    "torch": "PS1 asks you to write the derivatives yourself",
    "jax": "PS1 asks you to write the derivatives yourself",
}

EPS = np.finfo(np.float64).eps
RNG_SEED = 20240101  # fixed: every submission is graded on the same hidden inputs


def rounding_slack(values, h: float) -> float:
    """How far two algebraically equal finite-difference formulas may differ by rounding alone."""
    return 64 * EPS * float(np.sum(np.abs(values))) / h + 1e-300


def real_number(got) -> float:
    """The single real number in ``got`` (call only after check_scalar has accepted it)."""
    return float(np.real(np.asarray(got).reshape(-1)[0]))


def expect_formula(label: str, got, expected: float, f_values, h: float) -> None:
    """``got`` equals the formula's value up to rounding (much tighter than any truncation error)."""
    check_scalar(label, got)  # one finite real number, or a message saying what it is instead
    slack = rounding_slack(f_values, h)
    value = real_number(got)
    if abs(value - expected) > slack + 1e-9 * abs(expected):
        ratio = value / expected if expected else np.inf
        hint = ""
        if np.isclose(ratio, 2.0, rtol=1e-3):
            hint = "\n  Hint: your value is twice the expected one: check the denominator."
        elif np.isclose(ratio, 0.5, rtol=1e-3):
            hint = "\n  Hint: your value is half the expected one: check the denominator."
        elif np.isclose(ratio, -1.0, rtol=1e-3):
            hint = "\n  Hint: your value has the wrong sign: check the order of the terms."
        raise CheckFailed(f"{label}: got {value!r}, expected {expected!r} "
                          f"(difference {abs(value - expected):.2e}; allowed: "
                          f"rounding only, {slack + 1e-9 * abs(expected):.1e}).{hint}")


def smooth_functions(count: int = 3):
    """Seeded test functions f: R -> R with exact derivatives (NumPy code, complex-step safe)."""
    return [random_smooth_function(RNG_SEED + k) for k in range(count)]


def points(seed: int, count: int, low: float = -2.0, high: float = 2.0):
    rng = np.random.default_rng(seed)
    return [float(np.round(v, 6)) for v in rng.uniform(low, high, count)]


# --------------------------------------------------------------------------- Part A


@check("test_forward_difference")
def forward_difference(student):
    cases = 0
    for k, fun in enumerate(smooth_functions()):
        for x, h in zip(points(100 + k, 3) + [0.0], (1e-2, 1e-3, 1e-4, 1e-3), strict=True):
            f = BlackBox(fun.f, "f")
            got = student.call("forward_difference", f, x, h)
            values = [fun.f(x + h), fun.f(x)]
            label = f"forward_difference(f, x={x!r}, h={h!r}) with {fun.formula}"
            expect_formula(label, got, float((values[0] - values[1]) / h), values, h)
            cases += 1
    return f"forward_difference agrees with (f(x+h) - f(x))/h in {cases} hidden cases."


@check("test_central_difference")
def central_difference(student):
    cases = 0
    for k, fun in enumerate(smooth_functions()):
        for x, h in zip(points(200 + k, 3) + [0.0], (1e-2, 1e-3, 1e-4, 1e-3), strict=True):
            f = BlackBox(fun.f, "f")
            got = student.call("central_difference", f, x, h)
            values = [fun.f(x + h), fun.f(x - h)]
            label = f"central_difference(f, x={x!r}, h={h!r}) with {fun.formula}"
            expect_formula(label, got, float((values[0] - values[1]) / (2 * h)), values, h)
            cases += 1
    # Order of accuracy: halving h divides the error by about 4 (f = exp, f''' = exp > 0).
    x, errors = 0.5, []
    for h in (0.1, 0.05, 0.025):
        got = student.call("central_difference", BlackBox(np.exp, "f"), x, h)
        check_scalar(f"central_difference(np.exp, {x}, {h})", got)
        errors.append(abs(real_number(got) - np.exp(x)))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    if not all(3.6 < r < 4.4 for r in ratios):
        raise CheckFailed(
            f"central_difference(np.exp, 0.5, h): the error should shrink about 4 times when h "
            f"halves (second order), but the ratios are {ratios[0]:.3g} and {ratios[1]:.3g}.")
    return (f"central_difference agrees with (f(x+h) - f(x-h))/(2h) in {cases} hidden cases; "
            f"error ratios when h halves: {ratios[0]:.3f}, {ratios[1]:.3f} (about 4).")


# --------------------------------------------------------------------------- Part B


@check("test_complex_step")
def complex_step(student):
    cases = 0
    for k, fun in enumerate(smooth_functions()):
        for x in points(300 + k, 3) + [0.0]:
            for h in (1e-20, 1e-200):
                got = student.call("complex_step", BlackBox(fun.f, "f"), x, h)
                exact = float(fun.df(x))
                label = f"complex_step(f, x={x!r}, h={h!r}) with {fun.formula}"
                check_scalar(label, got, exact, rtol=1e-13, atol=1e-14 * (1 + abs(fun.f(x))))
                cases += 1
        # A large step: the value must be Im f(x + ih) / h itself, not another approximation.
        x, h = 0.7, 1e-2
        got = student.call("complex_step", BlackBox(fun.f, "f"), x, h)
        expected = float(np.imag(fun.f(x + 1j * h)) / h)
        check_scalar(f"complex_step(f, x={x!r}, h={h!r}) with {fun.formula}", got, expected,
                     rtol=1e-12)
        cases += 1
    return f"complex_step matches f'(x) to 1e-13 with h = 1e-20 and 1e-200 ({cases} hidden cases)."


# --------------------------------------------------------------------------- Part C


F_TEST_X0 = 1.5
F_TEST_STEPS = np.logspace(-16, -1, 61)


def f_test(x):
    """The experiment's function (Squire & Trapp 1998); the same as in the notebook."""
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def df_test(x):
    s, c = np.sin(x), np.cos(x)
    return f_test(x) * (1 - (3 * s**2 * c - 3 * c**2 * s) / (2 * (s**3 + c**3)))


def best_grid_step(method) -> float:
    errors = np.abs(method(F_TEST_STEPS) - df_test(F_TEST_X0))
    return float(F_TEST_STEPS[np.argmin(errors)])


@check("test_best_steps")
def best_steps(student):
    x = F_TEST_X0
    references = {
        "h_best_forward": best_grid_step(lambda h: (f_test(x + h) - f_test(x)) / h),
        "h_best_central": best_grid_step(lambda h: (f_test(x + h) - f_test(x - h)) / (2 * h)),
    }
    notes = []
    for name, best in references.items():
        value = student.get(name)
        check_scalar(name, value)
        value = real_number(value)
        if not value > 0:
            raise CheckFailed(f"{name} = {value!r}: a step size must be a positive number.")
        if abs(np.log10(value / best)) > 1.0:
            raise CheckFailed(
                f"{name} = {value:.3g} is more than 10 times away from the step with the smallest "
                f"error on the grid `steps` for f_test at x0 = {x}. Take the step where YOUR "
                "error array for this method is smallest (np.argmin), for this method's errors.")
        notes.append(f"{name} = {value:.3g}")
    return "Best steps within a factor 10 of the grader's: " + ", ".join(notes) + "."


# --------------------------------------------------------------------------- Part D


class VectorFunction:
    """F(x) = sum a sin(b x + c) + (w.x)^2 / 2 + exp(v.x) / n, with its exact gradient."""

    def __init__(self, seed: int, n: int):
        rng = np.random.default_rng(seed)
        self.n = n
        self.a, self.b, self.c = rng.uniform(-2, 2, n), rng.uniform(0.5, 2, n), rng.uniform(-1, 1, n)
        self.w, self.v = rng.uniform(-1, 1, n), rng.uniform(-0.5, 0.5, n)

    def __call__(self, x):
        return (np.sum(self.a * np.sin(self.b * x + self.c)) + (self.w @ x) ** 2 / 2
                + np.exp(self.v @ x) / self.n)

    def gradient(self, x):
        return (self.a * self.b * np.cos(self.b * x + self.c) + (self.w @ x) * self.w
                + np.exp(self.v @ x) * self.v / self.n)

    def describe(self) -> str:
        return f"a {self.n}-variable test function"


def vector_cases(seed: int):
    rng = np.random.default_rng(seed)
    for n in (1, 3, 6):
        fun = VectorFunction(seed + n, n)
        yield fun, np.round(rng.uniform(-1.5, 1.5, n), 6)
    fun = VectorFunction(seed + 10, 4)
    yield fun, np.zeros(4)


@check("test_gradient_central")
def gradient_central(student):
    h = 1e-4
    for fun, x in vector_cases(400):
        f = BlackBox(fun, "f", size=fun.n)
        got = student.call("gradient_central", f, x.copy(), h)
        label = f"gradient_central(f, x={np.array2string(x, precision=4)}, h={h}) for {fun.describe()}"
        check_shape(label, got, (fun.n,))
        expected = np.empty(fun.n)
        slack = np.empty(fun.n)
        for i in range(fun.n):
            step = np.zeros(fun.n)
            step[i] = h
            plus, minus = fun(x + step), fun(x - step)
            expected[i] = (plus - minus) / (2 * h)
            slack[i] = rounding_slack([plus, minus], h)
        check_close(label, got, expected, rtol=1e-9, atol=float(slack.max()))
    return "gradient_central agrees with central differences, coordinate by coordinate, for n = 1, 3, 4, 6."


@check("test_gradient_complex_step")
def gradient_complex_step(student):
    for fun, x in vector_cases(500):
        for h in (1e-20, 1e-100):
            f = BlackBox(fun, "f", size=fun.n)
            got = student.call("gradient_complex_step", f, x.copy(), h)
            label = (f"gradient_complex_step(f, x={np.array2string(x, precision=4)}, h={h}) "
                     f"for {fun.describe()}")
            check_shape(label, got, (fun.n,))
            exact = fun.gradient(x)
            check_close(label, got, exact, rtol=1e-12, atol=1e-13 * (1 + np.abs(exact).max()))
    return "gradient_complex_step matches the exact gradient to 1e-12 for n = 1, 3, 4, 6."


@check("test_evaluation_counts")
def evaluation_counts(student):
    for n in (1, 4, 7):
        fun = VectorFunction(600 + n, n)
        x = np.linspace(-0.5, 0.5, n)
        f = BlackBox(fun, "f", size=n)
        student.call("gradient_central", f, x.copy(), 1e-5)
        if f.count not in (2 * n, 2 * n + 1):
            raise CheckFailed(
                f"gradient_central evaluated f {f.count} times for x in R^{n}; central "
                f"differences need exactly 2n = {2 * n} evaluations ({2 * n + 1} if you also "
                "compute f(x)). Reuse values instead of evaluating f again.")
        f = BlackBox(fun, "f", size=n)
        student.call("gradient_complex_step", f, x.copy(), 1e-20)
        if f.count != n:
            raise CheckFailed(
                f"gradient_complex_step evaluated f {f.count} times for x in R^{n}; the complex "
                f"step needs exactly n = {n} evaluations, one per coordinate, and no f(x).")
    return "Evaluation counts: 2n (or 2n+1) for central differences, n for the complex step."


# --------------------------------------------------------------------------- Part E


def z_reference(x, n: int = 20):
    z = 0.0
    for _ in range(n):
        z = np.sin(z * x) + x
    return z


def dz_reference(x, n: int = 20):
    z, dz = 0.0, 0.0
    for _ in range(n):
        z, dz = np.sin(z * x) + x, x * np.cos(z * x) * dz + z * np.cos(z * x) + 1.0
    return dz


def recursion_points():
    return points(700, 4, 0.05, 1.5) + [1.5]


@check("test_recursion_value")
def recursion_value(student):
    for x in recursion_points():
        check_scalar(f"recursion_z({x!r})", student.call("recursion_z", x), z_reference(x),
                     rtol=1e-10)
    for n in (0, 1, 2, 7):
        x = 0.9
        check_scalar(f"recursion_z({x!r}, n={n})", student.call("recursion_z", x, n=n),
                     z_reference(x, n), rtol=1e-10, atol=1e-15)
    return "recursion_z matches z_n(x) for n = 0, 1, 2, 7, 20 at hidden points."


@check("test_recursion_derivative")
def recursion_derivative(student):
    for x in recursion_points():
        check_scalar(f"recursion_dz({x!r})", student.call("recursion_dz", x), dz_reference(x),
                     rtol=1e-10, atol=1e-14)
    for n in (0, 1, 2, 7):
        x = 0.9
        check_scalar(f"recursion_dz({x!r}, n={n})", student.call("recursion_dz", x, n=n),
                     dz_reference(x, n), rtol=1e-10, atol=1e-15)
    return "recursion_dz matches the derivative recursion for n = 0, 1, 2, 7, 20 at hidden points."


@check("test_recursion_numerical")
def recursion_numerical(student):
    for x in recursion_points():
        h = 1e-5
        got = student.call("dz_central", x, h)
        values = [z_reference(x + h), z_reference(x - h)]
        expected = float((values[0] - values[1]) / (2 * h))
        # The student's z may round differently from ours: allow 1e3 eps |z| / h of noise.
        check_scalar(f"dz_central({x!r}, h={h})", got)
        if abs(real_number(got) - expected) > 1e3 * EPS * 3 / h + 1e-8 * abs(expected):
            raise CheckFailed(f"dz_central({x!r}, h={h}): got {real_number(got)!r}, expected "
                              f"about {expected!r} = (z(x+h) - z(x-h)) / (2h).")
        got = student.call("dz_complex_step", x, 1e-20)
        check_scalar(f"dz_complex_step({x!r}, h=1e-20)", got, dz_reference(x), rtol=1e-12,
                     atol=1e-14)
    return "dz_central and dz_complex_step agree with the derivative of z_20 at hidden points."
