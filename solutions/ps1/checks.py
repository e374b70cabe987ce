"""PS1 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps1.ipynb. Functions handed to the student's code are
BlackBoxes: evaluated here, counted here, unknown to the student's code. References are computed
here with NumPy, from this file's own copies of everything the notebook provides (``f_test``,
``df_test``, ``steps``), never from the student's namespace. Hidden inputs come from
``hidden_rng`` (a per-course secret): correct answers pass for any secret, and the inputs are
chosen so that each plausible mistake fails for any secret (steps far from zero, points away
from 0, several sizes n, every parameter with two values and its default).

How a failure is explained (docs/dev/checks.md): each check computes, here, what the usual
mistakes of its function would return at the same inputs (a backward difference, a divisor h
instead of 2h, a dropped imaginary part, one iteration too many...) and names the one that
matches, in PS1's words. When nothing matches it says what it measured, without guessing. A
check that fails only because an earlier function is broken names the earlier check to fix.

Longer than our usual module on purpose: the grader loads one file per problem set, and each
check sits next to the catalogue of mistakes it recognises. Kept out of the release by
``CourseDirectory.ignore`` (nbgrader_config.py).
"""

import numpy as np

from autograder import BlackBox, CheckFailed, check, hidden_rng
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
SLIP_RTOL = 1e-6  # a mistake "matches" at this relative error: the strict check already failed


# --------------------------------------------------------------------------- naming a slip


def rounding_slack(values, h: float) -> float:
    """How far two algebraically equal finite-difference formulas may differ by rounding alone."""
    return 64 * EPS * float(np.sum(np.abs(values))) / h + 1e-300


def real_number(got) -> float:
    """The single real number in ``got`` (call only after check_scalar has accepted it)."""
    return float(np.real(np.asarray(got).reshape(-1)[0]))


def matches(got, value, rtol: float = SLIP_RTOL) -> bool:
    got, value = np.asarray(got, dtype=float), np.asarray(value, dtype=complex).real
    if got.shape != value.shape or not np.all(np.isfinite(value)):
        return False
    return bool(np.all(np.abs(got - value) <= rtol * np.maximum(np.abs(value), 1e-300) + 1e-300))


def name_the_slip(got, expected, slips) -> str | None:
    """The first (cause, value) or (cause, value, rtol) in ``slips`` that ``got`` matches and
    ``expected`` does not (a slip that agrees with the answer here cannot be told apart)."""
    for cause, value, *rtol in slips:
        rtol = rtol[0] if rtol else SLIP_RTOL
        if matches(got, value, rtol) and not matches(expected, value, rtol):
            return cause
    return None


def explain(message: str, cause: str | None) -> str:
    return message + (f"\n  Likely cause: {cause}" if cause else "")


def one_number(label: str, got, what: str = "") -> float:
    """``got`` as one finite real float, or a failure saying what it is instead."""
    array = np.asarray(got) if not isinstance(got, (str, dict, list)) else None
    if array is not None and array.dtype.kind == "c" and array.size == 1 and array.imag.any():
        raise CheckFailed(f"{label} returned the complex number {complex(array.reshape(-1)[0])!r}; "
                          f"it must return a real float.{what}")
    check_scalar(label, got)  # one finite real number, or a message saying what it is instead
    return real_number(got)


def ignores_argument(student, name: str, args: tuple, position: int, other, got) -> bool:
    """Whether ``name`` returns exactly ``got`` again when argument ``position`` changes."""
    changed = list(args)
    changed[position] = other(args[position]) if callable(other) else other
    try:
        again = student.call(name, *changed)
    except CheckFailed:
        return False
    try:
        return bool(np.array_equal(np.asarray(again, dtype=float), np.asarray(got, dtype=float)))
    except (TypeError, ValueError):
        return False


def expect_formula(label: str, got, expected: float, f_values, h: float, slips=()) -> None:
    """``got`` equals the formula's value up to rounding (much tighter than any truncation error)."""
    value = one_number(label, got)
    slack = rounding_slack(f_values, h) + 1e-9 * abs(expected)
    if abs(value - expected) > slack:
        raise CheckFailed(explain(
            f"{label}: got {value!r}, expected {expected!r} (difference "
            f"{abs(value - expected):.2e}; allowed: rounding only, {slack:.1e}).",
            name_the_slip(value, expected, slips)))


# --------------------------------------------------------------------------- hidden inputs


def smooth_functions(label: str, count: int = 3):
    """Test functions f: R -> R with exact derivatives (NumPy code, complex-step safe)."""
    rng = hidden_rng(f"ps1 {label} functions")
    return [random_smooth_function(int(seed)) for seed in rng.integers(0, 2**31, count)]


def points(label: str, count: int, low: float = -2.0, high: float = 2.0, away: float = 0.2):
    """``count`` points in [low, high], none closer than ``away`` to 0."""
    rng = hidden_rng(f"ps1 {label} points")
    found = []
    while len(found) < count:
        value = float(np.round(rng.uniform(low, high), 6))
        if abs(value) >= away:
            found.append(value)
    return found


def scalar_slips(fun, x: float, h: float, kind: str):
    """What the usual finite-difference slips return at (x, h), in PS1's words."""
    f = fun.f
    fp, f0, fm = f(x + h), f(x), f(x - h)
    forward, backward, central = (fp - f0) / h, (f0 - fm) / h, (fp - fm) / (2 * h)
    common = [
        ("the difference is not divided by h.", (fp - f0) if kind == "forward" else (fp - fm)),
        ("Python reads `a / 2*h` as (a / 2) * h: write `/ (2 * h)` with parentheses.",
         (fp - fm) / 2 * h),
        ("only the second term is divided: put the difference in parentheses before dividing.",
         fp - f0 / h if kind == "forward" else fp - fm / (2 * h)),
    ]
    if kind == "forward":
        return [
            ("that is the backward difference (f(x) - f(x - h)) / h; the forward difference "
             "evaluates f at x + h: (f(x + h) - f(x)) / h.", backward),
            ("that is the central difference; this function is the forward difference "
             "(f(x + h) - f(x)) / h.", central),
            ("the two terms are in the wrong order (a sign error): f(x + h) - f(x), not "
             "f(x) - f(x + h).", -forward),
            ("your value is half the expected one: the difference is divided by 2h; the "
             "forward difference divides by h.",
             forward / 2),
        ] + common
    return [
        ("your value is twice the expected one: the difference is divided by h; the central "
         "difference divides by 2h.", 2 * central),
        ("that is the forward difference (f(x + h) - f(x)) / h; the central difference uses "
         "f(x + h) and f(x - h).", forward),
        ("that is the backward difference (f(x) - f(x - h)) / h; the central difference uses "
         "f(x + h) and f(x - h).", backward),
        ("the two terms are in the wrong order (a sign error): f(x + h) - f(x - h).", -central),
    ] + common


# --------------------------------------------------------------------------- Part A


def difference_check(student, name: str, kind: str, label_key: str) -> int:
    cases = 0
    steps = (1e-2, 1e-3, 1e-4, 3e-2)
    for k, fun in enumerate(smooth_functions(label_key)):
        for x, h in zip(points(f"{label_key} {k}", 4), steps, strict=True):
            f = BlackBox(fun.f, "f")
            got = student.call(name, f, x, h)
            values = [fun.f(x + h), fun.f(x)] if kind == "forward" else [fun.f(x + h), fun.f(x - h)]
            expected = float((values[0] - values[1]) / (h if kind == "forward" else 2 * h))
            label = f"{name}(f, x={x!r}, h={h!r}) with {fun.formula}"
            try:
                expect_formula(label, got, expected, values, h, scalar_slips(fun, x, h, kind))
            except CheckFailed as failure:
                if "Likely cause" not in str(failure) and ignores_argument(
                        student, name, (BlackBox(fun.f, "f"), x, h), 2, h * 10, got):
                    raise CheckFailed(explain(str(failure), (
                        f"your result is the same for h = {h!r} and h = {h * 10!r}: the step h "
                        "passed in is not used (a fixed step inside the function?)."))) from None
                raise
            cases += 1
    return cases


@check("test_forward_difference")
def forward_difference(student):
    cases = difference_check(student, "forward_difference", "forward", "forward")
    return f"forward_difference agrees with (f(x+h) - f(x))/h in {cases} hidden cases."


@check("test_central_difference")
def central_difference(student):
    cases = difference_check(student, "central_difference", "central", "central")
    # Order of accuracy: halving h divides the error by about 4 (f = exp, f''' = exp > 0).
    x, errors = 0.5, []
    for h in (0.1, 0.05, 0.025):
        got = student.call("central_difference", BlackBox(np.exp, "f"), x, h)
        errors.append(abs(one_number(f"central_difference(np.exp, {x}, {h})", got) - np.exp(x)))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    if not all(3.6 < r < 4.4 for r in ratios):
        raise CheckFailed(
            f"central_difference(np.exp, 0.5, h): the error should shrink about 4 times when h "
            f"halves (second order), but the ratios are {ratios[0]:.3g} and {ratios[1]:.3g}.")
    return (f"central_difference agrees with (f(x+h) - f(x-h))/(2h) in {cases} hidden cases; "
            f"error ratios when h halves: {ratios[0]:.3f}, {ratios[1]:.3f} (about 4).")


# --------------------------------------------------------------------------- Part B


def complex_slips(fun, x: float, h: float):
    """What the usual complex-step slips return at (x, h), in PS1's words."""
    value = fun.f(x + 1j * h)
    exact = float(fun.df(x))
    return [
        ("Im f(x + ih) is not divided by h.", value.imag),
        ("that is the real part Re f(x + ih) = f(x): the derivative is the IMAGINARY part "
         "divided by h, np.imag(f(x + 1j*h)) / h.", value.real),
        ("that is Re f(x + ih) / h: the derivative is the IMAGINARY part divided by h.",
         value.real / h),
        ("that is |f(x + ih)| / h: take the imaginary part (np.imag), not the absolute value.",
         abs(value) / h),
        ("Im f(x + ih) is divided by 2h; the complex step divides by h.", value.imag / (2 * h)),
        ("the sign is flipped: with x + 1j*h (not x - 1j*h), Im f(x + ih) / h.", -value.imag / h),
        ("your value is 0: the imaginary part was lost. The step must be imaginary "
         "(x + 1j*h, not x + h), and it must not be stored into a float variable or array, "
         "or passed through float(), before f is evaluated.", 0.0),
        (f"your value is the exact f'(x), not Im f(x + ih) / h for this large step h = {h!r}: "
         "the step h passed in is not used (a fixed step inside the function?).", exact),
    ]


@check("test_complex_step")
def complex_step(student):
    cases = 0
    for k, fun in enumerate(smooth_functions("complex")):
        for x in points(f"complex {k}", 3):
            for h in (1e-20, 1e-200, 1e-2):
                got = student.call("complex_step", BlackBox(fun.f, "f"), x, h)
                label = f"complex_step(f, x={x!r}, h={h!r}) with {fun.formula}"
                value = one_number(label, got, " Return the imaginary part divided by h: "
                                               "np.imag(f(x + 1j*h)) / h.")
                # Small steps: f'(x) to 1e-13. The large step: Im f(x + ih) / h itself.
                expected = (float(fun.df(x)) if h < 1e-10
                            else float(np.imag(fun.f(x + 1j * h)) / h))
                tolerance = 1e-13 * abs(expected) + 1e-14 * (1 + abs(fun.f(x)))
                if abs(value - expected) > tolerance:
                    raise CheckFailed(explain(
                        f"{label}: got {value!r}, expected {expected!r}"
                        + (" = Im f(x + ih) / h" if h >= 1e-10 else " = f'(x)")
                        + f" (difference {abs(value - expected):.2e}, allowed {tolerance:.1e}).",
                        name_the_slip(value, expected, complex_slips(fun, x, h))))
                cases += 1
    return (f"complex_step matches f'(x) to 1e-13 with h = 1e-20 and 1e-200, and Im f(x+ih)/h "
            f"for h = 0.01 ({cases} hidden cases).")


# --------------------------------------------------------------------------- Part C
# The grader's own copies of what the notebook provides (a student may redefine those names).

F_TEST_X0 = 1.5
F_TEST_STEPS = np.logspace(-16, -1, 61)


def f_test(x):
    """The experiment's function (Squire & Trapp 1998); the same as in the notebook."""
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def df_test(x):
    s, c = np.sin(x), np.cos(x)
    return f_test(x) * (1 - (3 * s**2 * c - 3 * c**2 * s) / (2 * (s**3 + c**3)))


EXPERIMENT = {  # name -> (the student's function, its check, the formula on the grid)
    "forward": ("forward_difference", "test_forward_difference",
                lambda h: (f_test(F_TEST_X0 + h) - f_test(F_TEST_X0)) / h),
    "central": ("central_difference", "test_central_difference",
                lambda h: (f_test(F_TEST_X0 + h) - f_test(F_TEST_X0 - h)) / (2 * h)),
}


def experiment_errors(method: str) -> np.ndarray:
    return np.abs(EXPERIMENT[method][2](F_TEST_STEPS) - df_test(F_TEST_X0))


def check_method_on_f_test(student, method: str) -> None:
    """Fail with "fix <earlier check> first" if the student's method is wrong on f_test."""
    name, earlier, formula = EXPERIMENT[method]
    for h in (1e-2, 1e-4):
        expected = float(formula(np.array(h)))
        try:
            got = student.call(name, BlackBox(f_test, "f_test"), F_TEST_X0, h)
            value = one_number(name, got)
            ok = abs(value - expected) <= 1e-9 * abs(expected) + 1e-12 / h
        except AssertionError:
            ok = False
        if not ok:
            raise CheckFailed(
                f"errors_{method} cannot be right because {name} itself is wrong (at "
                f"f_test, x0 = {F_TEST_X0}, h = {h}). Fix {name} first (see the message of "
                f"{earlier}); this cell should then pass.")


def check_error_array(student, method: str) -> np.ndarray:
    """The student's errors_<method>: shape (61,), the absolute errors of the method on the grid."""
    name = f"errors_{method}"
    errors = student.get(name)
    check_shape(name, errors, (F_TEST_STEPS.size,))
    errors = np.asarray(errors, dtype=complex).real
    reference = experiment_errors(method)
    signed = EXPERIMENT[method][2](F_TEST_STEPS) - df_test(F_TEST_X0)
    # Rounding differences between correct formulas: about eps |f| / h (NaN or inf only where
    # rounding dominates, e.g. (x+h) - (x-h) = 0 for h below the spacing of floats near x0).
    slack = 64 * EPS * 3 * abs(f_test(F_TEST_X0)) / F_TEST_STEPS + 1e-9 * reference + 1e-15
    usable = np.isfinite(errors)
    if np.any(errors[usable] < 0):
        check_method_on_f_test(student, method)
        first = int(np.flatnonzero(usable & (errors < 0))[0])
        raise CheckFailed(explain(
            f"{name}[{first}] (h = {F_TEST_STEPS[first]:.3g}) = {errors[first]!r} is negative.",
            "the errors are not absolute values: take np.abs(approximation - exact) (an error "
            "is never negative, and np.argmin of signed errors picks the most negative one)."))
    bad = ~usable & (slack < 1e-3)
    bad |= usable & (np.abs(errors - reference) > slack)
    if not bad.any():
        return errors
    check_method_on_f_test(student, method)
    first = int(np.flatnonzero(bad)[0])
    slips = [
        ("the errors are not absolute values: take np.abs(approximation - exact) (an error is "
         "never negative, and np.argmin of signed errors picks the most negative one).", signed),
        ("the errors are relative (divided by the exact derivative); the task asks for the "
         "absolute error |approximation - exact|.", reference / abs(df_test(F_TEST_X0))),
        ("the errors are squared; the task asks for the absolute error |approximation - exact|.",
         reference**2),
    ]
    cause = None
    for text, value in slips:
        if np.all(np.abs(errors - value)[usable] <= slack[usable] + 1e-6 * np.abs(value[usable])):
            cause = text
            break
    if cause is None and np.all(errors[usable] == errors[usable][0]):
        cause = "every entry is the same: the error was computed once, not once per step."
    raise CheckFailed(explain(
        f"{name}[{first}] (h = {F_TEST_STEPS[first]:.3g}) = {errors[first]!r}, but the absolute "
        f"error of {EXPERIMENT[method][0]}(f_test, x0, h) there is {reference[first]!r} "
        f"({int(bad.sum())} of {bad.size} entries differ by more than rounding). {name} must "
        f"hold |{EXPERIMENT[method][0]}(f_test, x0, h) - df_test(x0)| for each h in steps.",
        cause))


@check("test_best_steps")
def best_steps(student):
    try:
        return best_steps_of(student)
    except CheckFailed as failure:
        if "is not defined" in str(failure):  # the experiment cell stopped: an earlier function?
            for method in ("forward", "central"):
                check_method_on_f_test(student, method)
        raise


def best_steps_of(student) -> str:
    notes = []
    for method in ("forward", "central"):
        errors = check_error_array(student, method)
        name = f"h_best_{method}"
        value = student.get(name)
        check_scalar(name, value)
        value = real_number(value)
        if not value > 0:
            raise CheckFailed(f"{name} = {value!r}: a step size must be a positive number.")
        with np.errstate(all="ignore"):
            at = int(np.nanargmin(np.where(np.isfinite(errors), errors, np.nan)))
        yours = float(F_TEST_STEPS[at])
        on_grid = np.flatnonzero(np.abs(np.log10(value / F_TEST_STEPS)) < 1e-9)
        smallest = bool(on_grid.size) and errors[on_grid[0]] <= errors[at] * (1 + 1e-12)
        if not smallest:
            largest = float(F_TEST_STEPS[int(np.nanargmax(np.where(np.isfinite(errors), errors,
                                                                   np.nan)))])
            cause = None
            if abs(np.log10(value / largest)) < 1e-9:
                cause = ("that is the step with the LARGEST error (np.argmax): take np.argmin.")
            elif not on_grid.size:
                cause = "it is not one of the steps in `steps`: pick the step from `steps`."
            raise CheckFailed(explain(
                f"{name} = {value:.3g}, but errors_{method} (which is right) is smallest at "
                f"h = {yours:.3g}. {name} must be the step in `steps` where errors_{method} "
                "is smallest.", cause))
        notes.append(f"{name} = {value:.3g}")
    return ("errors_forward and errors_central are the absolute errors; best "
            "steps where they are smallest: " + ", ".join(notes) + ".")


# --------------------------------------------------------------------------- Part D


class VectorFunction:
    """F(x) = sum a sin(b x + c) + (w.x)^2 / 2 + exp(v.x) / n, with its exact gradient.

    Not symmetric in its coordinates (every partial derivative differs), complex-step safe.
    """

    def __init__(self, rng, n: int):
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


def restores_exactly(x, steps) -> bool:
    """Whether perturbing x in place and undoing it (x[i] += h; x[i] -= 2h; x[i] += h) gives x
    back exactly for every step: a point where it does cannot show that mistake."""
    return all(np.array_equal(((x + h) - 2 * h) + h, x) for h in steps)


def separating_point(rng, n: int, steps, low: float = -1.5, high: float = 1.5):
    """A random point of R^n where an in-place perturbation leaves rounding residue."""
    while True:
        x = np.round(rng.uniform(low, high, n), 6)
        if not restores_exactly(x, steps):
            return x


def vector_cases(label: str, steps=(1e-4, 1e-2)):
    """Functions and points: n = 3, 6, 4 (at x = 0) and 1, in that order (the larger first,
    so that a failure is reported where the mistakes differ most)."""
    rng = hidden_rng(f"ps1 {label} vector cases")
    for n in (3, 6):
        yield VectorFunction(rng, n), separating_point(rng, n, steps)
    yield VectorFunction(rng, 4), np.zeros(4)
    yield VectorFunction(rng, 1), np.round(rng.uniform(-1.5, 1.5, 1), 6)


def unit(n: int, i: int) -> np.ndarray:
    e = np.zeros(n)
    e[i] = 1.0
    return e


def central_slips(fun, x, h: float):
    """What the usual central-gradient slips return, in PS1's words."""
    n = fun.n
    plus = np.array([fun(x + h * unit(n, i)) for i in range(n)])
    minus = np.array([fun(x - h * unit(n, i)) for i in range(n)])
    central = (plus - minus) / (2 * h)
    accumulated = np.array([(fun(x + h * np.r_[np.ones(i + 1), np.zeros(n - i - 1)])
                             - fun(x - h * np.r_[np.ones(i + 1), np.zeros(n - i - 1)])) / (2 * h)
                            for i in range(n)])
    everywhere = (fun(x + h) - fun(x - h)) / (2 * h)
    last_missing, first_missing = central.copy(), central.copy()
    last_missing[-1], first_missing[0] = 0.0, 0.0
    return [
        ("each entry is a forward difference (f(x + h e_i) - f(x)) / h; the central difference "
         "is (f(x + h e_i) - f(x - h e_i)) / (2h).", (plus - fun(x)) / h),
        ("each entry is a backward difference (f(x) - f(x - h e_i)) / h; the central difference "
         "is (f(x + h e_i) - f(x - h e_i)) / (2h).", (fun(x) - minus) / h),
        ("each entry is divided by h; the central difference divides by 2h.", 2 * central),
        ("Python reads `a / 2*h` as (a / 2) * h: write `/ (2 * h)` with parentheses.",
         (plus - minus) / 2 * h),
        ("the perturbation is not reset between coordinates: entry i perturbs x_0, ..., x_i "
         "together. Use a fresh unit vector e_i (zeros except position i) for each i.",
         accumulated),
        ("every entry perturbs all coordinates at once (x + h): perturb one coordinate at a "
         "time, x + h e_i with e_i the i-th unit vector.", np.full(n, everywhere)),
        ("the last entry is 0: the loop stops one coordinate early (range(n - 1)?).",
         last_missing),
        ("the first entry is 0: the loop skips coordinate 0 (range(1, n)?).", first_missing),
        ("the sign is flipped: f(x + h e_i) - f(x - h e_i), in that order.", -central),
    ]


def complex_gradient_slips(fun, x, h: float):
    """What the usual complex-step gradient slips return, in PS1's words."""
    n = fun.n
    values = np.array([fun(x + 1j * h * unit(n, i)) for i in range(n)])
    exact = fun.gradient(x)
    last_missing, first_missing = values.imag / h, values.imag / h
    last_missing, first_missing = last_missing.copy(), first_missing.copy()
    last_missing[-1], first_missing[0] = 0.0, 0.0
    return [
        ("the array is all zeros: the imaginary part was dropped. Writing x + 1j*h*e_i into a "
         "real (float) array keeps only the real part (NumPy's ComplexWarning); make the "
         "perturbed array complex first, e.g. x.astype(complex).", np.zeros(n)),
        ("Im f(x + ih e_i) is not divided by h.", values.imag),
        ("that is the real part of f(x + ih e_i): the derivative is the IMAGINARY part divided "
         "by h.", values.real / h),
        ("every entry perturbs all coordinates at once (x + ih): perturb one coordinate at a "
         "time, x + ih e_i.", np.full(n, np.imag(fun(x + 1j * h)) / h)),
        ("the last entry is 0: the loop stops one coordinate early (range(n - 1)?).",
         last_missing),
        ("the first entry is 0: the loop skips coordinate 0 (range(1, n)?).", first_missing),
        (f"your values are the exact gradient, not Im f(x + ih e_i) / h for this large step "
         f"h = {h!r}: the step h passed in is not used (a fixed step inside the function?).",
         exact),
    ]


def expect_gradient(label: str, got, expected, rtol: float, atol: float, slips) -> None:
    got_array = np.asarray(got) if not isinstance(got, (str, dict)) else None
    if got_array is not None and got_array.dtype.kind == "c" and np.any(got_array.imag):
        raise CheckFailed(f"{label} returned complex numbers; it must return a real float "
                          "array: the imaginary parts divided by h.")
    check_shape(label, got, expected.shape)
    check_close(label, got, expected, rtol=rtol, atol=atol, slips=dict(slips))


@check("test_gradient_central")
def gradient_central(student):
    cases = 0
    for fun, x in vector_cases("central"):
        for h in (1e-4, 1e-2):
            f = BlackBox(fun, "f", size=fun.n)
            got = student.call("gradient_central", f, x.copy(), h)
            label = (f"gradient_central(f, x={np.array2string(x, precision=4)}, h={h}) for "
                     f"{fun.describe()}")
            expected = np.empty(fun.n)
            slack = np.empty(fun.n)
            for i in range(fun.n):
                plus, minus = fun(x + h * unit(fun.n, i)), fun(x - h * unit(fun.n, i))
                expected[i] = (plus - minus) / (2 * h)
                slack[i] = rounding_slack([plus, minus], h)
            try:
                expect_gradient(label, got, expected, 1e-9, float(slack.max()),
                                central_slips(fun, x, h))
            except AssertionError as failure:
                if "Likely cause" not in str(failure) and ignores_argument(
                        student, "gradient_central", (BlackBox(fun, "f", size=fun.n), x.copy(), h),
                        2, h / 10, got):
                    raise CheckFailed(explain(str(failure), (
                        f"your result is the same for h = {h!r} and h = {h / 10!r}: the step h "
                        "passed in is not used (a fixed step inside the function?)."))) from None
                raise
            cases += 1
    return (f"gradient_central agrees with central differences, coordinate by coordinate, for "
            f"n = 1, 3, 4, 6 and two steps ({cases} hidden cases).")


@check("test_gradient_complex_step")
def gradient_complex_step(student):
    cases = 0
    for fun, x in vector_cases("complex", (0.1,)):
        for h in (1e-20, 1e-100, 0.1):
            f = BlackBox(fun, "f", size=fun.n)
            got = student.call("gradient_complex_step", f, x.copy(), h)
            label = (f"gradient_complex_step(f, x={np.array2string(x, precision=4)}, h={h}) "
                     f"for {fun.describe()}")
            if h < 1e-10:
                expected = fun.gradient(x)
            else:  # a large step: Im f(x + ih e_i) / h itself, not the exact gradient
                expected = np.array([np.imag(fun(x + 1j * h * unit(fun.n, i))) / h
                                     for i in range(fun.n)])
            expect_gradient(label, got, expected, 1e-12, 1e-13 * (1 + np.abs(expected).max()),
                            complex_gradient_slips(fun, x, h))
            cases += 1
    return (f"gradient_complex_step matches the exact gradient to 1e-12 for n = 1, 3, 4, 6 with "
            f"h = 1e-20 and 1e-100, and Im f(x + ih e_i)/h for h = 0.1 ({cases} hidden cases).")


def count_message(name: str, count: int, n: int) -> str:
    """What an evaluation count means, for a gradient whose values are right."""
    if name == "gradient_central":
        said = (f"gradient_central evaluated f {count} times for x in R^{n}; central differences "
                f"need exactly 2n = {2 * n} evaluations ({2 * n + 1} if you also compute f(x)).")
        if count > 2 * n + 1:
            return said + (" Yours evaluates f more often than that: evaluate each f(x + h e_i) "
                           "and f(x - h e_i) once, and f(x) (if at all) once, before the loop.")
        return said + (" Yours evaluates f fewer times, yet the values are right: are values "
                       "reused between coordinates or calls (a cache)? Each of the 2n points "
                       "needs its own evaluation.")
    said = (f"gradient_complex_step evaluated f {count} times for x in R^{n}; the complex step "
            f"needs exactly n = {n} evaluations, f(x + ih e_i) for each i, and no f(x).")
    if count == n + 1:
        return said + " Yours makes one extra evaluation: f(x) is not needed; remove it."
    if count > n:
        return said + " Yours evaluates f more often: one evaluation per coordinate is enough."
    return said + " Yours evaluates f fewer times, yet the values are right: is a value cached?"


@check("test_evaluation_counts")
def evaluation_counts(student):
    rng = hidden_rng("ps1 evaluation counts")
    for n in (4, 7, 1):
        fun = VectorFunction(rng, n)
        x = separating_point(rng, n, (1e-5,), -1.0, 1.0)
        for name, earlier, h in (("gradient_central", "test_gradient_central", 1e-5),
                                 ("gradient_complex_step", "test_gradient_complex_step", 1e-20)):
            f = BlackBox(fun, "f", size=n)
            got = student.call(name, f, x.copy(), h)
            # Counting only means something for a gradient that is right.
            try:
                check_shape(name, got, (n,))
                good = matches(got, fun.gradient(x), 1e-5 if name == "gradient_central" else 1e-10)
            except AssertionError:
                good = False
            if not good:
                raise CheckFailed(
                    f"{name}(f, x, {h}) for x in R^{n} does not return the gradient, so its "
                    f"evaluation count cannot be graded. Fix {name} first (see the message of "
                    f"{earlier}); this cell should then pass.")
            wanted = (2 * n, 2 * n + 1) if name == "gradient_central" else (n,)
            if f.count not in wanted:
                raise CheckFailed(count_message(name, f.count, n))
    return ("Evaluation counts of correct gradients: 2n (or 2n+1) for central differences, n for "
            "the complex step.")


# --------------------------------------------------------------------------- Part E


def z_reference(x, n: int = 20, start=0.0, inner_sin: bool = False):
    """z_n(x); ``inner_sin`` is the slip z = sin(z) x + x."""
    z = start
    for _ in range(n):
        z = np.sin(z) * x + x if inner_sin else np.sin(z * x) + x
    return z


def dz_reference(x, n: int = 20, slip: str = ""):
    """dz_n/dx; ``slip`` names a plausible mistake in the derivative recursion."""
    z, dz = 0.0, 1.0 if slip == "dz0 = 1" else 0.0
    for _ in range(n):
        if slip == "new z":
            z = np.sin(z * x) + x
            dz = np.cos(z * x) * (x * dz + z) + 1.0
            continue
        inner = {"no z": x * dz, "no x dz": z, "": x * dz + z, "no +1": x * dz + z,
                 "sin": x * dz + z, "dz0 = 1": x * dz + z}[slip]
        outer = np.sin(z * x) if slip == "sin" else np.cos(z * x)
        z, dz = np.sin(z * x) + x, outer * inner + (0.0 if slip == "no +1" else 1.0)
    return dz


def recursion_points():
    """Hidden points in (0.05, 1.5) and x = 1.5, where slips in the recursion show most."""
    return points("recursion", 4, 0.05, 1.5, away=0.05) + [1.5]


def recursion_value_slips(x: float, n: int, default: bool):
    slips = [
        (f"that is z_{n + 1}: the loop runs one iteration too many (range(n + 1)?), or it starts "
         "from z_0 = x instead of z_0 = 0 (which is the same: z_1 = x).", z_reference(x, n + 1)),
        (f"that is z_{n - 1}: the loop runs one iteration too few.",
         z_reference(x, n - 1) if n > 0 else np.nan),
        ("the recursion starts from z_0 = 1; it starts from z_0 = 0.",
         z_reference(x, n, start=1.0)),
        ("that is sin(z) * x + x; the recursion is sin(z * x) + x.",
         z_reference(x, n, inner_sin=True)),
    ]
    if not default:
        slips.append((f"your result for n = {n} is z_20: the argument n is not used (a fixed "
                      "range(20)?).", z_reference(x, 20)))
    return slips


@check("test_recursion_value")
def recursion_value(student):
    x_fixed = points("recursion n", 1, 0.6, 1.4)[0]
    cases = [(x, None) for x in recursion_points()] + [(x_fixed, n) for n in (0, 1, 2, 7)]
    for x, n in cases:
        args = {} if n is None else {"n": n}
        label = f"recursion_z({x!r}" + (f", n={n})" if n is not None else ")")
        got = student.call("recursion_z", x, **args)
        value = one_number(label, got)
        expected = z_reference(x, 20 if n is None else n)
        if abs(value - expected) > 1e-10 * abs(expected) + 1e-15:
            raise CheckFailed(explain(
                f"{label}: got {value!r}, expected z_{20 if n is None else n} = {float(expected)!r}.",
                name_the_slip(value, expected,
                              recursion_value_slips(x, 20 if n is None else n, n is None))))
    return "recursion_z matches z_n(x) for n = 0, 1, 2, 7 and the default 20 at hidden points."


def recursion_derivative_slips(x: float, n: int, default: bool):
    slips = [
        ("the derivative line reads the NEW z: compute dz from the old z_k, before z is "
         "updated (or update both at once: z, dz = ..., ...).", dz_reference(x, n, "new z")),
        ("the + 1 is missing: d/dx of the + x term is 1.", dz_reference(x, n, "no +1")),
        ("the product z x depends on x through both factors: d(z x)/dx = x dz/dx + z; your "
         "derivative lacks the z term.", dz_reference(x, n, "no z")),
        ("the product z x depends on x through both factors: d(z x)/dx = x dz/dx + z; your "
         "derivative lacks the x dz/dx term.", dz_reference(x, n, "no x dz")),
        ("d sin(u) = cos(u) du: your derivative uses sin where cos belongs.",
         dz_reference(x, n, "sin")),
        ("dz_0/dx = 0 (z_0 = 0 is a constant), not 1.", dz_reference(x, n, "dz0 = 1")),
        (f"that is dz_{n + 1}/dx: the loop runs one iteration too many.", dz_reference(x, n + 1)),
        (f"that is dz_{n - 1}/dx: the loop runs one iteration too few.",
         dz_reference(x, n - 1) if n > 0 else np.nan),
    ]
    if not default:
        slips.append((f"your result for n = {n} is dz_20/dx: the argument n is not used.",
                      dz_reference(x, 20)))
    return slips


@check("test_recursion_derivative")
def recursion_derivative(student):
    x_fixed = points("recursion n", 1, 0.6, 1.4)[0]
    cases = [(x, None) for x in recursion_points()] + [(x_fixed, n) for n in (0, 1, 2, 7)]
    for x, n in cases:
        args = {} if n is None else {"n": n}
        label = f"recursion_dz({x!r}" + (f", n={n})" if n is not None else ")")
        got = student.call("recursion_dz", x, **args)
        value = one_number(label, got)
        expected = dz_reference(x, 20 if n is None else n)
        if abs(value - expected) > 1e-10 * abs(expected) + 1e-14:
            raise CheckFailed(explain(
                f"{label}: got {value!r}, expected dz_{20 if n is None else n}/dx = {float(expected)!r}.",
                name_the_slip(value, expected,
                              recursion_derivative_slips(x, 20 if n is None else n, n is None))))
    return ("recursion_dz matches the derivative recursion for n = 0, 1, 2, 7 and the default 20 "
            "at hidden points.")


def earlier_parts_work(student) -> None:
    """Fail with "fix <earlier check> first" if a function dz_central/dz_complex_step rely on
    is wrong (checked here at one point each with the grader's own functions)."""
    fun = smooth_functions("recursion numerical", 1)[0]
    x, h = 0.7, 1e-3
    probes = [
        ("central_difference", "test_central_difference", (BlackBox(fun.f, "f"), x, h),
         (fun.f(x + h) - fun.f(x - h)) / (2 * h), 1e-9),
        ("complex_step", "test_complex_step", (BlackBox(fun.f, "f"), x, 1e-20), fun.df(x), 1e-12),
        ("recursion_z", "test_recursion_value", (x, 7), z_reference(x, 7), 1e-10),
    ]
    for name, earlier, args, expected, rtol in probes:
        try:
            got = student.call(name, *args)
            ok = abs(one_number(name, got) - float(expected)) <= rtol * abs(expected) + 1e-12
        except AssertionError:
            ok = False
        if not ok:
            raise CheckFailed(f"dz_central and dz_complex_step use {name}, which is wrong: fix "
                              f"{name} first (see the message of {earlier}); this cell should "
                              "then pass.")


def numerical_cases():
    """(x, keyword arguments) for dz_central / dz_complex_step: the defaults and other h, n."""
    xs = recursion_points()
    return ([(x, {}) for x in xs] + [(xs[0], {"h": "large"}), (xs[1], {"n": 7}),
                                     (xs[2], {"h": "large", "n": 3})])


@check("test_recursion_numerical")
def recursion_numerical(student):
    earlier_checked = False
    for name, default_h, large_h in (("dz_central", 1e-5, 1e-2), ("dz_complex_step", 1e-20, 0.1)):
        for x, options in numerical_cases():
            kwargs = {k: (large_h if v == "large" else v) for k, v in options.items()}
            h, n = kwargs.get("h", default_h), kwargs.get("n", 20)
            label = f"{name}({x!r}" + "".join(f", {k}={v!r}" for k, v in kwargs.items()) + ")"
            got = student.call(name, x, **kwargs)
            if name == "dz_central":
                plus, minus = z_reference(x + h, n), z_reference(x - h, n)
                expected = float((plus - minus) / (2 * h))
                # The student's z may round differently from ours: allow 1e3 eps |z| / h of noise.
                tolerance = 1e3 * EPS * 3 / h + 1e-8 * abs(expected)
                formula = "(z_n(x+h) - z_n(x-h)) / (2h)"
            else:
                expected = float(np.imag(z_reference(x + 1j * h, n)) / h)
                tolerance = 1e-12 * abs(expected) + 1e-14
                formula = "Im z_n(x + ih) / h"
            try:
                value = one_number(label, got)
                wrong = abs(value - expected) > tolerance
            except AssertionError:
                wrong, value = True, None
            if not wrong:
                continue
            if not earlier_checked:
                earlier_parts_work(student)
                earlier_checked = True
            if value is None:
                one_number(label, got)  # the message saying what came back instead
            slips = [("that is the exact derivative dz_n/dx (recursion_dz?), not the "
                      f"{'central difference' if name == 'dz_central' else 'complex step'} "
                      "applied to recursion_z.", dz_reference(x, n), 1e-12)]
            if "n" in kwargs:
                slips.append(("your result is the one for n = 20: the argument n is not passed "
                              "on to recursion_z (recursion_z(t, n), not recursion_z(t)).",
                              (z_reference(x + h, 20) - z_reference(x - h, 20)) / (2 * h)
                              if name == "dz_central"
                              else np.imag(z_reference(x + 1j * h, 20)) / h))
            if "h" in kwargs:
                slips.append((f"your result is the one for the default step h = {default_h!r}: "
                              "the argument h is not passed on.",
                              (z_reference(x + default_h, n) - z_reference(x - default_h, n))
                              / (2 * default_h) if name == "dz_central"
                              else np.imag(z_reference(x + 1j * default_h, n)) / default_h))
            slips.append(("your value is 0: the imaginary part of z_n(x + ih) was lost.", 0.0))
            raise CheckFailed(explain(
                f"{label}: got {value!r}, expected {expected!r} = {formula} with n = {n}, "
                f"h = {h!r}.", name_the_slip(value, expected, slips)))
    return ("dz_central and dz_complex_step agree with the central difference and the complex "
            "step of z_n at hidden points, with their default h and n and with other values.")
