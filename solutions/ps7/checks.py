"""PS7 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps7.ipynb. Design:

* Functions cannot cross the wire (a check sends and receives plain data only), so the notebook's
  locked cells build what the student's code differentiates from plain data: ``evaluate`` turns
  a nested-derivative expression (a list) into calls of the student's ``derivative``;
  ``make_test_function`` builds the four functions whose Hessians are derived by hand here;
  ``make_step`` builds the recursion's step from hidden coefficients, and ``StateRecorder``
  counts the states alive and the steps computed (measured through weak references and the
  mlpkit level of traced values, not reported by the student's functions; code written to
  rewrite the recorder's counters is not defended against). These locked cells stand before the
  answer cells; a deleted test cell is put back after the nearest earlier cell the submission
  still has (``autograder.sanitize.RestoreMissingCells``).
* The instrumented Hessian-vector products are the grader's: ``BlackBox`` functions evaluated
  here (CG's ``hvp(d)``, Newton-CG's gradient and ``hvp`` of the concatenated ``[w, v]``), so
  their values cannot be faked and every call is counted.
* References are computed HERE: Hessians by hand (cross-checked with the complex step of the
  hand gradient), CG and Newton-CG runs with the same rules, the adjoint gradient at the same
  iterate, the complex step through the whole solve, reverse mode unrolled through the
  iterations and through the whole recursion (``mlpkit.reverse``, forbidden to the student's
  answers only through ``mlpkit.second_order``).
* Hidden inputs come from ``hidden_rng(label)``; each probe's structure (non-symmetric matrices,
  tolerances that stop CG early, iteration limits that cannot be met, spacings that do not divide
  the number of steps) is fixed, so every draw separates the same mistakes.

Why one file of about 850 lines: nbgrader loads exactly one ``checks.py`` per problem set, and its
seven checks share the comparison, the expected-error helper and the references above them.

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py).
"""

from __future__ import annotations

import math

import numpy as np

from autograder import BlackBox, CheckFailed, check, hidden_rng
from autograder.prerequisites import Prerequisite, fix_first
from mlpkit.grading import diagnose_gradient
from mlpkit.numdiff import hvp as complex_step_hvp
from mlpkit.reverse import gradient as reverse_gradient

NESTING = "PS7 asks you to compute second derivatives by nesting forward and reverse mode yourself"
FORBIDDEN_MODULES = {
    "mlpkit.second_order": NESTING,
    "mlpkit.numdiff": NESTING,
    "autograd": NESTING,
    "torch": NESTING,
    "jax": NESTING,
}

AD_RTOL = 1e-12


# --------------------------------------------------------------------------- shared helpers


def relative_error(got, expected) -> float:
    return float(np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-300))


def as_result(label: str, got, shape) -> np.ndarray:
    """``got`` as a float array of ``shape``, or CheckFailed saying what came back."""
    if isinstance(got, (bool, str, list, dict)) or got is None:
        raise CheckFailed(f"{label}: expected an array of shape {shape}, got {got!r:.120}.")
    arr = np.asarray(got)
    if arr.dtype.kind not in "iuf":
        raise CheckFailed(f"{label}: expected real numbers, got an array of dtype {arr.dtype}.")
    if arr.shape != tuple(shape):
        raise CheckFailed(f"{label}: expected an array of shape {tuple(shape)}, got shape {arr.shape}.")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{label}: the result contains NaN or inf.")
    return arr


def compare(label: str, got, expected, rtol: float, slips: dict | None = None) -> np.ndarray:
    """Norm-relative comparison; on failure name the first slip that matches, else diagnose."""
    expected = np.asarray(expected, dtype=float)
    arr = as_result(label, got, expected.shape)
    error = relative_error(arr, expected)
    if error <= rtol:
        return arr
    message = (f"{label}: wrong (relative error {error:.2g}, tolerance {rtol:g}).\n  expected "
               f"{np.array2string(expected, precision=8, threshold=10)}\n  got      "
               f"{np.array2string(arr, precision=8, threshold=10)}")
    for cause, wrong in (slips or {}).items():
        wrong = np.asarray(wrong, dtype=float)
        if (wrong.shape == arr.shape and relative_error(wrong, expected) > rtol
                and np.linalg.norm(arr - wrong) <= 1e-8 * max(np.linalg.norm(wrong), 1e-12)):
            raise CheckFailed(f"{message}\n  Likely cause: {cause}")
    if arr.size > 1:
        message += f"\n  Measured: {diagnose_gradient(arr, expected, name='yours')}"
    raise CheckFailed(message)


def raised(student, allowed: tuple, name: str, *args, **kwargs):
    """Call and return ``("raised", exception name)`` if it raised one of ``allowed``, else
    ``("returned", value)``; any other failure (another exception, a hang) propagates."""
    try:
        return "returned", student.call(name, *args, **kwargs)
    except CheckFailed as failure:
        text = str(failure)
        for exception in allowed:
            if f" raised {exception}:" in text:
                return "raised", exception
        raise


# --------------------------------------------------------------------------- Part A1: tagged duals


class RefDual:
    """The grader's dual number, with switches that reproduce the common mistakes."""

    def __init__(self, value, tangent, tag, rules):
        self.value, self.tangent, self.tag, self.rules = value, tangent, tag, rules

    @staticmethod
    def handler(a, b):
        tags = [t.tag for t in (a, b) if isinstance(t, RefDual)]
        rules = next(t.rules for t in (a, b) if isinstance(t, RefDual))
        return (min(tags) if rules["lowest"] else max(tags)), rules

    @staticmethod
    def parts(a, tag):
        if isinstance(a, RefDual) and a.tag == tag:
            return a.value, a.tangent
        return a, 0.0

    def _binary(self, other, swap, combine):
        a, b = (other, self) if swap else (self, other)
        tag, rules = RefDual.handler(a, b)
        (u, du), (v, dv) = RefDual.parts(a, tag), RefDual.parts(b, tag)
        value, tangent = combine(u, du, v, dv)
        return RefDual(value, tangent, tag, rules)

    def __add__(self, o): return self._binary(o, False, lambda u, du, v, dv: (u + v, du + dv))
    def __radd__(self, o): return self._binary(o, True, lambda u, du, v, dv: (u + v, du + dv))
    def __sub__(self, o): return self._binary(o, False, lambda u, du, v, dv: (u - v, du - dv))
    def __rsub__(self, o): return self._binary(o, True, lambda u, du, v, dv: (u - v, du - dv))
    def __mul__(self, o): return self._binary(o, False, lambda u, du, v, dv: (u * v, du * v + u * dv))
    def __rmul__(self, o): return self._binary(o, True, lambda u, du, v, dv: (u * v, du * v + u * dv))

    def __neg__(self):
        return RefDual(-self.value, -self.tangent, self.tag, self.rules)


def ref_sin(a):
    if isinstance(a, RefDual):
        return RefDual(ref_sin(a.value), ref_cos(a.value) * a.tangent, a.tag, a.rules)
    return math.sin(a)


def ref_cos(a):
    if isinstance(a, RefDual):
        sign = -1.0 if a.rules["cos_sign"] else 1.0
        return RefDual(ref_cos(a.value), sign * ref_sin(a.value) * a.tangent, a.tag, a.rules)
    return math.cos(a)


RIGHT = {"fresh_tags": True, "check_tag": True, "lowest": False, "cos_sign": True}
DUAL_SLIPS = {
    "untagged dual numbers (one shared epsilon for every call, or the same tag for all calls): "
    "the inner derivative picks up the outer call's perturbation (perturbation confusion). Give "
    "every call of derivative a fresh, larger tag": {**RIGHT, "fresh_tags": False, "check_tag": False},
    "derivative returns out.tangent without checking that out carries ITS OWN tag: a result of an "
    "outer call's tag does not depend on this call's epsilon, so its derivative is 0.0":
        {**RIGHT, "check_tag": False},
    "an operation on two tags is handled by the LOWEST tag: the highest (the innermost running "
    "call) must handle it, treating lower tags as constants": {**RIGHT, "lowest": True},
    "the derivative of cos has the wrong sign: d cos(v) = -sin(v) dv": {**RIGHT, "cos_sign": False},
}


def ref_evaluate(expression, variables, rules, counter):
    if isinstance(expression, str):
        return variables[expression]
    if not isinstance(expression, list):
        return expression
    operation, *arguments = expression
    if operation == "d":
        name, body, at = arguments
        return ref_derivative(lambda t: ref_evaluate(body, {**variables, name: t}, rules, counter),
                              ref_evaluate(at, variables, rules, counter), rules, counter)
    values = [ref_evaluate(a, variables, rules, counter) for a in arguments]
    return {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
            "neg": lambda a: -a, "sin": ref_sin, "cos": ref_cos}[operation](*values)


def ref_derivative(f, x, rules, counter):
    counter[0] += 1
    tag = counter[0] if rules["fresh_tags"] else 1
    out = f(RefDual(x, 1.0, tag, rules))
    if isinstance(out, RefDual) and (out.tag == tag or not rules["check_tag"]):
        return out.tangent
    return 0.0


def expected_derivative(name, body, at, rules=RIGHT):
    counter = [0]  # one tag counter for all the calls of one evaluation
    value = ref_derivative(lambda t: ref_evaluate(body, {name: t}, rules, counter), at, rules, counter)
    while isinstance(value, RefDual):  # a mistake can leak a dual number: its plain part
        value = value.value
    return float(value)


def show(expression) -> str:
    if isinstance(expression, str):
        return expression
    if not isinstance(expression, list):
        return f"{expression:.6g}"
    operation, *arguments = expression
    if operation == "d":
        name, body, at = arguments
        return f"d/d{name} [{show(body)}] at {name} = {show(at)}"
    if operation in ("sin", "cos", "neg"):
        return f"{'-' if operation == 'neg' else operation}({show(arguments[0])})"
    return f"({show(arguments[0])} {operation} {show(arguments[1])})"


def dual_cases(rng):
    x0, x1, x2 = (float(np.round(rng.uniform(0.3, 1.4), 6)) for _ in range(3))
    return [  # (variable, body, at): plain derivatives first, then nested ones
        ("x", ["*", ["-", 2.0, "x"], ["sin", "x"]], x0),
        ("x", ["-", ["*", 3.0, "x"], ["*", ["neg", "x"], "x"]], x1),
        ("x", ["cos", ["*", "x", "x"]], x2),
        ("t", ["d", "s", ["*", "s", "t"], 1.0], x0),                                 # the closure case
        ("x", ["*", "x", ["d", "y", ["+", "x", "y"], 1.0]], 1.0),                    # Siskind-Pearlmutter
        ("x", ["*", "x", ["d", "y", ["+", "x", "y"], x1]], x2),
        ("x", ["d", "y", ["*", "x", "x"], 1.0], x1),                                 # inner body constant in y
        ("x", ["*", "x", ["d", "y", ["*", "x", "x"], 1.0]], x1),
        ("x", ["+", "x", ["d", "y", "x", x2]], x0),
        ("x", ["*", "x", ["d", "y", ["*", "x", "y"], 1.0]], x2),
        ("x", ["d", "y", ["d", "u", ["sin", "u"], "y"], "x"], x0),                   # third derivative
        ("x", ["sin", ["*", "x", ["d", "y", ["*", ["*", "y", "y"], "x"], "x"]]], x1),
        ("x", ["d", "y", ["cos", ["*", "y", "x"]], ["+", "x", 0.5]], x2),
    ]


@check("test_tagged_dual")
def tagged_dual(student):
    cases = dual_cases(hidden_rng("ps7 test_tagged_dual"))
    values, failure = [], None
    for name, body, at in cases:  # every case first, so the cause is named from all of them
        expected = expected_derivative(name, body, at)
        label = f"derivative of {show(body)} with respect to {name} at {name} = {at:.6g}"
        got = student.call("derivative_of_expression", name, body, at)
        value = np.asarray(got)
        if value.size != 1 or value.dtype.kind not in "iuf":
            raise CheckFailed(f"{label}: expected one number, got {got!r:.120}.")
        value = float(value.reshape(()))
        values.append(value)
        if failure is None and abs(value - expected) > 1e-13 * max(1.0, abs(expected)):
            failure = (label, value, expected, (name, body, at))
    if failure is None:
        return (f"{len(cases)} hidden derivatives right: plain, nested up to the third derivative, "
                "the closure case and Siskind and Pearlmutter's example, inner bodies constant in "
                "their variable.")
    label, value, expected, (name, body, at) = failure
    message = f"{label}: got {value!r}, expected {expected!r}."

    def matches(rules, case, got):
        wrong = expected_derivative(*case, rules)
        return abs(got - wrong) <= 1e-12 * max(1.0, abs(wrong))

    here = [cause for cause, rules in DUAL_SLIPS.items()
            if abs(expected_derivative(name, body, at, rules) - expected) > 1e-9
            and matches(rules, (name, body, at), value)]
    everywhere = [cause for cause in here
                  if all(matches(DUAL_SLIPS[cause], case, got) for case, got in zip(cases, values))]
    if everywhere or here:
        message += f"\n  Likely cause: {(everywhere or here)[0]}."
    raise CheckFailed(message)


# --------------------------------------------------------------------------- Part A2: hvp


def test_function(kind, params):
    """The same functions as the notebook's make_test_function, with their Hessians by hand."""
    if kind == "quadratic":
        A, b = params["A"], params["b"]
        return (lambda x: A @ x * 0.5 + A.T @ x * 0.5 + b, lambda x: 0.5 * (A + A.T),
                lambda x: 0.5 * x @ (A @ x) + b @ x)
    if kind == "rosenbrock":
        a = params["a"]

        def grad(x):
            inner = x[1:] - x[:-1] ** 2
            g = np.zeros_like(x)
            g[:-1] += -4 * a * x[:-1] * inner - 2 * (1 - x[:-1])
            g[1:] += 2 * a * inner
            return g

        def hess(x):
            H = np.zeros((len(x), len(x)))
            for i in range(len(x) - 1):
                H[i, i] += 12 * a * x[i] ** 2 - 4 * a * x[i + 1] + 2
                H[i, i + 1] += -4 * a * x[i]
                H[i + 1, i] += -4 * a * x[i]
                H[i + 1, i + 1] += 2 * a
            return H

        return grad, hess, lambda x: np.sum(a * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    if kind == "logsumexp":
        M = params["M"]

        def probabilities(x):
            e = np.exp(M @ x)
            return e / np.sum(e)

        return (lambda x: M.T @ probabilities(x),
                lambda x: M.T @ (np.diag(probabilities(x)) - np.outer(probabilities(x), probabilities(x))) @ M,
                lambda x: np.log(np.sum(np.exp(M @ x))))
    if kind == "coupled_sin":
        c = params["c"]

        def grad(x):
            u = x[:-1] * x[1:]
            g = 4 * c * x ** 3
            g[:-1] = g[:-1] + np.cos(u) * x[1:]
            g[1:] = g[1:] + np.cos(u) * x[:-1]
            return g

        def hess(x):
            H = np.diag(12 * c * x ** 2)
            for i in range(len(x) - 1):
                u = x[i] * x[i + 1]
                H[i, i] += -np.sin(u) * x[i + 1] ** 2
                H[i + 1, i + 1] += -np.sin(u) * x[i] ** 2
                H[i, i + 1] += np.cos(u) - np.sin(u) * u
                H[i + 1, i] += np.cos(u) - np.sin(u) * u
            return H

        return grad, hess, lambda x: np.sum(np.sin(x[:-1] * x[1:])) + c * np.sum(x ** 4)
    raise ValueError(kind)


def hvp_cases(rng):
    cases = []
    A = rng.normal(0, 1, (7, 7))
    cases.append(("quadratic", {"A": A, "b": rng.normal(0, 1, 7)}, 7))
    cases.append(("rosenbrock", {"a": float(np.round(rng.uniform(2, 20), 4))}, 5))
    cases.append(("logsumexp", {"M": rng.normal(0, 1, (4, 6))}, 6))
    cases.append(("coupled_sin", {"c": float(np.round(rng.uniform(0.1, 0.5), 4))}, 9))
    cases.append(("coupled_sin", {"c": 0.25}, 2))
    return cases


@check("test_hvp")
def hvp_check(student):
    rng = hidden_rng("ps7 test_hvp")
    count = 0
    for kind, params, n in hvp_cases(rng):
        grad, hess, _ = test_function(kind, params)
        x = rng.uniform(-1.2, 1.2, n)
        for v in (rng.normal(0, 1, n), np.eye(n)[n - 1] * 2.0):
            H = hess(x)
            expected = H @ v
            by_complex_step = complex_step_hvp(grad, x, v)
            if relative_error(by_complex_step, expected) > 1e-11:  # the references must agree
                raise RuntimeError(f"hand Hessian of {kind} disagrees with the complex step")
            label = f"hvp(f, x, v) for the {kind} test function with n = {n}"
            got = student.call("hvp_of_test_function", kind, params, x, v)
            if not isinstance(got, list) or len(got) != 2:
                raise CheckFailed(f"{label}: hvp_of_test_function returned {got!r:.120}.")
            value, calls = got
            g = grad(x)
            if np.ndim(value) == 0 and np.isfinite(float(np.real(value))) and abs(
                    float(np.real(value)) - g @ v) <= 1e-10 * max(1.0, abs(g @ v)):
                raise CheckFailed(f"{label}: got the number {float(value)!r}, which is grad f(x) . v, "
                                  "the directional derivative: the JVP of f itself. Hv is the JVP "
                                  "along v of the GRADIENT, y -> reverse.gradient(f, y).")
            compare(label, value, expected, AD_RTOL, slips={
                "all zeros: the gradient inside the JVP is taken at the fixed x (a closure over x), "
                "not at the point y that forward mode traces, so its derivative along v is 0":
                    np.zeros(n),
                "that is the gradient grad f(x), not the Hessian-vector product": g,
                "v is ignored: that is H times a vector of ones": H @ np.ones(n),
                "that is H v / 2 (a factor 1/2)": expected / 2,
            })
            if calls != 1:
                why = ("a difference of gradients (and only about 8 digits)" if calls == 2 else
                       "forward over forward, or the Hessian built column by column, which takes n passes"
                       if calls >= n else "more passes than one")
                raise CheckFailed(f"{label}: right values, but your hvp evaluated f {calls} times; "
                                  f"forward over reverse traces f once ({why}).")
            count += 1
    return (f"{count} hidden Hessian-vector products within {AD_RTOL:g} of Hessians derived by hand "
            "(and of the complex step), each with one evaluation of f.")


# --------------------------------------------------------------------------- Part B1: CG


def reference_cg(H, b, tol=1e-10, max_iterations=None):
    """(p, products) by the rules of the notebook."""
    max_iterations = len(b) if max_iterations is None else max_iterations
    p, r = np.zeros_like(b), b.copy()
    d, rr, products = r.copy(), r @ r, 0
    for _ in range(max_iterations):
        if np.sqrt(rr) <= tol:
            break
        Hd = H @ d
        products += 1
        alpha = rr / (d @ Hd)
        p, r = p + alpha * d, r - alpha * Hd
        rr_new = r @ r
        d, rr = r + rr_new / rr * d, rr_new
    return p, products


def spd(rng, n, low=1.0, high=100.0):
    Q, _ = np.linalg.qr(rng.normal(0, 1, (n, n)))
    return (Q * np.geomspace(low, high, n)) @ Q.T


def cg_call(student, H, b, args=(), kwargs=None, label_args=""):
    box = BlackBox(lambda d: H @ d, "hvp", size=len(b))
    label = f"conjugate_gradients(hvp, b{label_args}) with n = {len(b)}"
    got = student.call("conjugate_gradients", box, b, *args, **(kwargs or {}))
    return label, got, box


@check("test_conjugate_gradients")
def conjugate_gradients_check(student):
    rng = hidden_rng("ps7 test_conjugate_gradients")
    # 1. defaults: solved to tol = 1e-10, at most n products
    H, b = spd(rng, 8, 1.0, 5.0), rng.normal(0, 1, 8)
    label, got, box = cg_call(student, H, b)
    p_ref, k_ref = reference_cg(H, b)
    compare(label, got, np.linalg.solve(H, b), 1e-8)
    if box.count > k_ref + 1 or box.count > 8:
        raise CheckFailed(f"{label}: right solution, but {box.count} products; CG with the "
                          f"default tol = 1e-10 needs {k_ref} here (one product per iteration, "
                          "stopping as soon as |r| <= tol).")
    # 2. a loose tol: CG must stop early
    H, b = spd(rng, 20, 1.0, 20.0), rng.normal(0, 1, 20)
    p_ref, k_ref = reference_cg(H, b, tol=1e-3)
    label, got, box = cg_call(student, H, b, kwargs={"tol": 1e-3}, label_args=", tol=1e-3")
    arr = as_result(label, got, b.shape)
    residual = float(np.linalg.norm(H @ arr - b))
    if residual > 1e-3 * (1 + 1e-6):
        raise CheckFailed(f"{label}: |H p - b| = {residual:.3e} > tol = 1e-3: not solved to the tolerance.")
    if box.count > k_ref + 1:
        raise CheckFailed(f"{label}: {box.count} products, although |r| <= tol after {k_ref}: CG "
                          "must stop as soon as the residual norm is below tol (a stopping test "
                          "before every product). Without a stopping test it runs to max_iterations.")
    # 3. max_iterations by position and by name: that many products, the iterate of CG
    H, b = spd(rng, 10, 1.0, 30.0), rng.normal(0, 1, 10)
    for limit, args, kwargs, shown in ((4, (1e-14, 4), {}, ", 1e-14, 4"),
                                       (2, (), {"tol": 1e-14, "max_iterations": 2},
                                        ", tol=1e-14, max_iterations=2")):
        p_ref, k_ref = reference_cg(H, b, 1e-14, limit)
        label, got, box = cg_call(student, H, b, args, kwargs, label_args=shown)
        if box.count > limit:
            raise CheckFailed(f"{label}: {box.count} products, but max_iterations = {limit} allows "
                              f"{limit}: max_iterations is ignored.")
        compare(label + f" (CG iterate number {limit})", got, p_ref, 1e-8)
    # 4. an indefinite H: refuse
    Q, _ = np.linalg.qr(rng.normal(0, 1, (8, 8)))
    eigenvalues = np.array([-3.0, -0.5, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
    H = (Q * eigenvalues) @ Q.T
    b = Q[:, 0] + 0.1 * Q[:, 4]                               # b^T H b < 0: the first step fails
    outcome, what = raised(student, ("ValueError",), "conjugate_gradients",
                           BlackBox(lambda d: H @ d, "hvp", size=8), b)
    if outcome == "returned":
        raise CheckFailed("conjugate_gradients(hvp, b) with an H that has negative eigenvalues "
                          "(b^T H b < 0) returned a number instead of raising ValueError: CG must "
                          "check the curvature d^T H d > 0 and refuse a non-positive one (negative "
                          "curvature).")
    return ("CG right with tol and max_iterations left out and given (by name and by position), "
            "stopping at the tolerance, one product per iteration; ValueError for an indefinite H.")


def probe_cg(student):
    rng = np.random.default_rng(11)
    H, b = spd(rng, 16, 1.0, 4.0), rng.normal(0, 1, 16)
    label, got, box = cg_call(student, H, b, kwargs={"tol": 1e-2}, label_args=", tol=1e-2")
    arr = as_result(label, got, b.shape)
    _, k_ref = reference_cg(H, b, tol=1e-2)
    if np.linalg.norm(H @ arr - b) > 1e-2 * (1 + 1e-6) or box.count > k_ref + 1:
        raise CheckFailed(f"{label}: |Hp - b| = {np.linalg.norm(H @ arr - b):.2e} with "
                          f"{box.count} products (expected <= 1e-2 with at most {k_ref + 1}).")


CG = Prerequisite("test_conjugate_gradients", "your conjugate_gradients", probe_cg)


# --------------------------------------------------------------------------- Part B2: Newton-CG


def logistic_problem(rng, m=80, d=14):
    X = rng.normal(0, 1, (m, d)) / np.sqrt(d) * 2.0
    w_true = rng.normal(0, 1, d)
    y = np.where(X @ w_true + 0.5 * rng.normal(0, 1, m) > 0, 1.0, -1.0)
    lam = float(np.round(rng.uniform(0.02, 0.1), 4))
    return X, y, lam


def logistic_functions(X, y, lam):
    m, d = X.shape

    def gradient(w):
        return X.T @ (-y / (1.0 + np.exp(y * (X @ w)))) / m + lam * w

    def hessian(w):
        s = 1.0 / (1.0 + np.exp(-y * (X @ w)))
        return (X.T * (s * (1 - s))) @ X / m + lam * np.eye(d)

    def hvp_of_pair(pair):
        return hessian(pair[:d]) @ pair[d:]

    return gradient, hessian, hvp_of_pair


def reference_newton(X, y, lam, w0, tol=1e-8, max_iterations=20, cg_tol=None):
    """(w, steps, products) by the rules of the notebook, or (w, None, products) if it fails;
    ``cg_tol`` replaces the truncation tolerance (a mistake's rule)."""
    gradient, hessian, _ = logistic_functions(X, y, lam)
    w, products = w0.copy(), 0
    for steps in range(max_iterations + 1):
        g = gradient(w)
        if np.linalg.norm(g) < tol:
            return w, steps, products
        if steps == max_iterations:
            break
        norm = np.linalg.norm(g)
        p, k = reference_cg(hessian(w), -g, min(0.5, np.sqrt(norm)) * norm if cg_tol is None
                            else cg_tol, len(w))
        products += k
        w = w + p
    return w, None, products


@check("test_newton_cg")
def newton_cg_check(student):
    rng = hidden_rng("ps7 test_newton_cg")
    X, y, lam = logistic_problem(rng)
    d = X.shape[1]
    gradient, hessian, hvp_of_pair = logistic_functions(X, y, lam)
    runs = [((), {}), ((), {"tol": 1e-4}), ((1e-11, 30), {})]
    notes = []
    with fix_first(student, [CG]):
        for args, kwargs in runs:
            tol = args[0] if args else kwargs.get("tol", 1e-8)
            limit = args[1] if len(args) > 1 else kwargs.get("max_iterations", 20)
            w0 = np.zeros(d)
            w_ref, steps_ref, products_ref = reference_newton(X, y, lam, w0, tol, limit)
            if steps_ref is None:
                raise RuntimeError("the hidden logistic regression did not converge by full steps")
            grad_box = BlackBox(gradient, "gradient", size=d)
            hvp_box = BlackBox(hvp_of_pair, "hvp", size=2 * d)
            shown = ", ".join(["gradient, hvp, w0"] + [repr(a) for a in args]
                              + [f"{k}={v!r}" for k, v in kwargs.items()])
            label = f"newton_cg({shown}) on a hidden logistic regression with {d} weights, lambda = {lam}"

            def stale():
                """Measured: every product was asked at w0 although the iterates moved."""
                at = [point[:d] for point in hvp_box.points]
                moved = any(np.any(point != w0) for point in grad_box.points)
                if at and moved and all(np.array_equal(point, w0) for point in at):
                    return ("\n  Likely cause: every Hessian-vector product was taken at w0, not at "
                            "the current iterate w: hvp(w, d) must use the w of this Newton step "
                            "(a stale Hessian converges slowly).")
                return ""

            try:
                got = student.call("newton_cg_with_lent_functions", grad_box, hvp_box, w0, *args, **kwargs)
            except CheckFailed as failure:
                if stale():
                    raise CheckFailed(f"{failure}{stale()}") from None
                raise
            if not isinstance(got, list) or len(got) != 2:
                raise CheckFailed(f"{label}: expected (w, steps), got {got!r:.120}.")
            w = as_result(label + ": w", got[0], (d,))
            steps = got[1]
            final = float(np.linalg.norm(gradient(w)))
            variants = {  # (steps, products) of plausible mistakes on the same problem
                f"tol is ignored: your newton_cg stops at |grad| < 1e-8 whatever tol (here tol = {tol:g})":
                    reference_newton(X, y, lam, w0, 1e-8, limit)[1:],
                "each Newton system is solved to a tight fixed tolerance instead of min(0.5, "
                "sqrt|g|) |g|: a tight tolerance far from the minimum wastes products":
                    reference_newton(X, y, lam, w0, tol, limit, cg_tol=1e-10)[1:],
            }

            def hint():
                if stale():
                    return stale()
                for cause, (v_steps, v_products) in variants.items():
                    if (v_steps, v_products) != (steps_ref, products_ref) and v_steps == steps and (
                            abs(v_products - hvp_box.count) <= v_steps + 1):
                        return f"\n  Likely cause: {cause}."
                return ""

            if final >= tol:
                raise CheckFailed(f"{label}: |grad L(w)| = {final:.3e} at the w returned, but tol = "
                                  f"{tol:g}.{hint()}")
            if not isinstance(steps, (int, np.integer)) or abs(int(steps) - steps_ref) > 1:
                raise CheckFailed(f"{label}: returned steps = {steps!r}; Newton-CG by the rules above "
                                  f"takes {steps_ref} steps here.{hint()}")
            if hvp_box.count == 0:
                raise CheckFailed(f"{label}: the hvp lent to newton_cg was never called: the Newton "
                                  "step must come from CG on Hessian-vector products.")
            if len(grad_box.points) >= 2:
                w1, g0 = grad_box.points[1], gradient(w0)
                step = w1 - w0
                direct = np.linalg.solve(hessian(w0), -g0)
                eta = min(0.5, np.sqrt(np.linalg.norm(g0)))
                residual = np.linalg.norm(hessian(w0) @ step + g0) / np.linalg.norm(g0)
                if residual > eta * (1 + 1e-6) + 1e-12:
                    away = relative_error(step, direct)
                    sign = (" (it points the other way: w - p instead of w + p?)"
                            if step @ direct < 0 else "")
                    raise CheckFailed(f"{label}: the first step w1 - w0 is {away:.2g} (relative) away "
                                      f"from the direct solve of H p = -g, and |H p + g| / |g| = "
                                      f"{residual:.2g} > eta = {eta:.2g}{sign}.")
            limit_products = int(1.5 * products_ref) + 2 * steps_ref + 2
            if hvp_box.count > limit_products:
                raise CheckFailed(f"{label}: {hvp_box.count} Hessian-vector products; Newton-CG with "
                                  f"the truncation tolerance min(0.5, sqrt|g|) |g| needs about "
                                  f"{products_ref} here (at most {limit_products} accepted). Stop CG "
                                  f"at that tolerance.{hint()}")
            notes.append(f"{steps} steps, {hvp_box.count} Hessian-vector products (tol={tol:g})")
        # too few iterations: refuse
        w0 = np.zeros(d)
        _, needed, _ = reference_newton(X, y, lam, w0)
        outcome, what = raised(student, ("RuntimeError",), "newton_cg_with_lent_functions",
                               BlackBox(gradient, "gradient", size=d),
                               BlackBox(hvp_of_pair, "hvp", size=2 * d), w0, max_iterations=2)
        if outcome == "returned":
            raise CheckFailed(f"newton_cg(gradient, hvp, w0, max_iterations=2) returned although "
                              f"{needed} steps are needed to reach |grad| < 1e-8: after "
                              "max_iterations steps without convergence it must raise RuntimeError.")
    return "Newton-CG right on a hidden logistic regression: " + "; ".join(notes) + "."


# --------------------------------------------------------------------------- Part C1: linear adjoint


def linear_references(A0, theta, b, target):
    A = A0 + np.diag(theta)
    x = np.linalg.solve(A, b)
    adjoint = np.linalg.solve(A.T, x - target)
    gradient = -adjoint * x
    h = 1e-30

    def loss(th):
        xc = np.linalg.solve(A0 + np.diag(th), b)
        return 0.5 * np.sum((xc - target) ** 2)

    complex_step = np.array([np.imag(loss(theta + 1j * h * e)) / h for e in np.eye(len(theta))])
    if relative_error(gradient, complex_step) > 1e-11:
        raise RuntimeError("adjoint gradient and complex step disagree")
    eye = np.eye(len(theta))  # reverse mode through np.linalg.solve (A0 + I * theta = A(theta))
    through_solve = reverse_gradient(
        lambda th: 0.5 * np.sum((np.linalg.solve(A0 + eye * th, b) - target) ** 2), theta)
    if relative_error(gradient, through_solve) > 1e-11:
        raise RuntimeError("adjoint gradient and reverse mode through the solve disagree")
    not_transposed = -np.linalg.solve(A, x - target) * x
    return gradient, {
        "the sign is flipped: the implicit function theorem has a minus sign, "
        "grad = -lambda * x": -gradient,
        "the adjoint equation must use the TRANSPOSE A(theta)^T lambda = x - target (A is not "
        "symmetric here)": not_transposed,
        "that is the adjoint lambda itself; the gradient is -lambda * x": adjoint,
        "diag(theta) is missing: A(theta) = A0 + diag(theta)":
            -np.linalg.solve(A0.T, np.linalg.solve(A0, b) - target) * np.linalg.solve(A0, b),
    }


@check("test_linear_adjoint")
def linear_adjoint(student):
    rng = hidden_rng("ps7 test_linear_adjoint")
    for n in (12, 3, 7):
        A0 = rng.normal(0, 1, (n, n)) / np.sqrt(n) + 2.0 * np.eye(n)
        theta, b, target = rng.uniform(1, 2, n), rng.normal(0, 1, n), rng.normal(0, 0.5, n)
        expected, slips = linear_references(A0, theta, b, target)
        label = (f"linear_adjoint_gradient(A0, theta, b, target) with n = {n} (A0 not symmetric; "
                 "expected: the complex step and reverse mode through the whole solve)")
        compare(label, student.call("linear_adjoint_gradient", A0, theta, b, target), expected,
                1e-11, slips)
    # singular (two equal rows, exactly) and numerically singular A(theta): refuse
    A = rng.integers(-3, 4, (5, 5)).astype(float) + 8 * np.eye(5)
    A[1] = A[0]
    theta = rng.integers(1, 3, 5).astype(float)
    Q1, _ = np.linalg.qr(rng.normal(0, 1, (6, 6)))
    Q2, _ = np.linalg.qr(rng.normal(0, 1, (6, 6)))
    nearly = (Q1 * np.geomspace(1.0, 1e-14, 6)) @ Q2.T
    theta6 = rng.uniform(1, 2, 6)
    for A_theta, th, what in ((A, theta, "singular (two equal rows)"),
                              (nearly, theta6, "numerically singular")):
        A0 = A_theta - np.diag(th)
        condition = np.linalg.cond(A0 + np.diag(th))
        outcome, _ = raised(student, ("ValueError", "LinAlgError"), "linear_adjoint_gradient",
                            A0, th, np.ones(len(th)), np.zeros(len(th)))
        if outcome == "returned":
            raise CheckFailed(f"linear_adjoint_gradient with A(theta) {what}, condition number "
                              f"{condition:.1e} > 1e12, returned a gradient instead of raising "
                              "ValueError: the implicit function theorem needs A(theta) "
                              "invertible, and a solve with this condition number is meaningless.")
    return ("adjoint gradients within 1e-11 of the complex step and of reverse mode through the whole "
            "solve (n = 12, 3, "
            "7, not symmetric); ValueError for a singular and a numerically singular A(theta).")


# --------------------------------------------------------------------------- Part C2: fixed point


def fixed_point_iterates(W, U, x, tol, max_iterations):
    """The notebook's rule: (z_new at the first |z_new - z|_max < tol, iterations) or (None, k)."""
    z = np.zeros(len(W), dtype=np.result_type(W, U, x))
    drive = U @ x
    for k in range(1, max_iterations + 1):
        z_new = np.tanh(W @ z + drive)
        if np.max(np.abs(z_new - z)) < tol:
            return z_new, k
        z = z_new
    return None, max_iterations


def implicit_gradient_at(W, z, x, target, transpose=True):
    D = 1.0 - z ** 2
    J = np.eye(len(W)) - D[:, None] * W
    adjoint = np.linalg.solve(J.T if transpose else J, z - target)
    return np.outer(D * adjoint, x), adjoint


def fixed_point_problem(rng, rho, n=8, m=3):
    W = rho * np.linalg.qr(rng.normal(0, 1, (n, n)))[0]   # every singular value and |eigenvalue| rho:
    # the iteration contracts at nearly rho (small drives U x keep tanh' near 1), slowly
    return W, 0.3 * rng.normal(0, 1, (n, m)) / np.sqrt(m), rng.normal(0, 1, m), rng.normal(0, 0.3, n)


def converged_references(W, U, x, target):
    """The gradient at the converged fixed point, by the complex step through the whole solve
    and by reverse mode unrolled through the iterations (they must agree)."""
    z, k = fixed_point_iterates(W, U, x, 1e-15, 5000)
    implicit, _ = implicit_gradient_at(W, z, x, target)
    h = 1e-30
    complex_step = np.zeros_like(U)
    for i in range(U.shape[0]):
        for j in range(U.shape[1]):
            E = np.zeros(U.shape, dtype=complex)
            E[i, j] = 1j * h
            zc, _ = fixed_point_iterates(W, U + E, x, 1e-15, 5000)
            complex_step[i, j] = np.imag(0.5 * np.sum((zc - target) ** 2)) / h

    def unrolled(U_):
        z_ = 0.0 * (U_ @ x)
        for _ in range(k + 20):
            z_ = np.tanh(W @ z_ + U_ @ x)
        return 0.5 * np.sum((z_ - target) ** 2)

    unrolled_gradient = reverse_gradient(unrolled, U)
    for name, reference in (("complex step", complex_step), ("unrolled reverse mode", unrolled_gradient)):
        if relative_error(implicit, reference) > 1e-10:
            raise RuntimeError(f"implicit gradient and {name} disagree")
    return implicit


def fixed_point_slips(W, U, x, target, tol):
    z, _ = fixed_point_iterates(W, U, x, tol, 5000)
    right, adjoint = implicit_gradient_at(W, z, x, target)
    slips = {
        "the sign is flipped: with F(z, U) = z - tanh(W z + U x), the minus of dF/dU cancels the "
        "theorem's minus, so grad_U = +(D lambda) x^T": -right,
        "the adjoint equation must use the TRANSPOSE (I - D W)^T lambda = z* - target":
            implicit_gradient_at(W, z, x, target, transpose=False)[0],
        "D = diag(1 - z*^2) is missing in (D lambda) x^T": np.outer(adjoint, x),
    }
    zk = np.zeros(len(W))
    for k in range(1, 301):
        zk = np.tanh(W @ zk + U @ x)
        slips[f"the fixed point was not converged before differentiating: that is the implicit "
              f"formula at iterate {k}, where F(z, U) != 0 (iterate until max|z_new - z| < tol)"] = \
            implicit_gradient_at(W, zk, x, target)[0]
    return right, slips


@check("test_fixed_point_gradient")
def fixed_point_check(student):
    rng = hidden_rng("ps7 test_fixed_point_gradient")
    W, U, x, target = fixed_point_problem(rng, float(rng.uniform(0.88, 0.95)))
    converged = converged_references(W, U, x, target)
    runs = [((), {}, 1e-12), ((), {"tol": 1e-5}, 1e-5), ((1e-13, 2000), {}, 1e-13)]
    for args, kwargs, tol in runs:
        shown = ", ".join(["W, U, x, target"] + [repr(a) for a in args]
                          + [f"{k}={v!r}" for k, v in kwargs.items()])
        label = f"fixed_point_gradient({shown}) with ||W||_2 = {np.linalg.norm(W, 2):.3f}"
        expected, slips = fixed_point_slips(W, U, x, target, tol)
        if tol > 1e-8:
            if relative_error(expected, converged) < 1e-7:  # the probe must separate
                raise RuntimeError("the loose tolerance does not separate")
            slips["tol is ignored: that is the gradient at the fully converged fixed point, but "
                  f"the iteration must stop at max|z_new - z| < tol = {tol:g}"] = converged
        got = student.call("fixed_point_gradient", W, U, x, target, *args, **kwargs)
        compare(label + " (expected: the adjoint at the iterate where the rule stops; at tight "
                "tol equal to the complex step through the whole solve and to reverse mode "
                "unrolled through it)", got, expected, 1e-9, slips)
    # too few iterations and a map that is not a contraction: refuse
    _, needed = fixed_point_iterates(W, U, x, 1e-12, 5000)
    outcome, _ = raised(student, ("RuntimeError",), "fixed_point_gradient", W, U, x, target,
                        max_iterations=8)
    if outcome == "returned":
        raise CheckFailed(f"fixed_point_gradient(W, U, x, target, max_iterations=8) returned a "
                          f"gradient, but the iteration needs {needed} iterations to meet tol = "
                          "1e-12: it must raise RuntimeError (never differentiate an unconverged "
                          "iterate).")
    G = rng.normal(0, 1, W.shape)    # ||W||_2 > 1; the iteration may still converge here
    W_big = G * float(rng.uniform(1.05, 1.3)) / np.linalg.norm(G, 2)
    outcome, what = raised(student, ("ValueError", "RuntimeError"), "fixed_point_gradient",
                           W_big, U, x, target)
    if outcome == "raised" and what == "RuntimeError":
        raise CheckFailed(f"fixed_point_gradient with ||W||_2 = {np.linalg.norm(W_big, 2):.3f} >= 1 "
                          "raised RuntimeError: check ||W||_2 before iterating and raise ValueError "
                          "(the map is not guaranteed to be a contraction).")
    if outcome == "returned":
        raise CheckFailed(f"fixed_point_gradient with ||W||_2 = {np.linalg.norm(W_big, 2):.3f} >= 1 "
                          "returned a gradient instead of raising ValueError: the map is not "
                          "guaranteed to be a contraction, so the theorem's hypotheses may fail.")
    return ("implicit gradients right at tol left out, 1e-5 and 1e-13 (equal to the complex step and "
            "to unrolled reverse mode when converged); RuntimeError for too few iterations, "
            "ValueError for ||W||_2 >= 1.")


# --------------------------------------------------------------------------- Part D: checkpointing


def recursion_gradient(a, b, x, steps):
    def loss(x_):
        z = 0.0 * x_
        for _ in range(steps):
            z = np.sin(a * z * x_) + b * x_
        return np.sum(z)

    return reverse_gradient(loss, x)


@check("test_checkpointing")
def checkpointing(student):
    rng = hidden_rng("ps7 test_checkpointing")
    a, b = (float(np.round(rng.uniform(0.6, 1.3), 4)) for _ in range(2))
    x = np.round(rng.uniform(0.1, 1.0, int(rng.integers(16, 65))), 6)
    runs = [(100, 7), (12, 5), (1000, None), (1000, 50), (60, 1)]
    notes = []
    for steps, every in runs:
        extra = () if every is None else (every,)
        k = round(math.sqrt(steps)) if every is None else every
        label = (f"checkpointed_gradient(step, x, {steps}{'' if every is None else f', {every}'}) "
                 f"with a hidden step z -> sin(a z x) + b x, x of size {len(x)}")
        got = student.call("measure_checkpointing", a, b, x, steps, *extra)
        if not isinstance(got, list) or len(got) != 3:
            raise CheckFailed(f"{label}: measure_checkpointing returned {got!r:.120}.")
        gradient, peak, computed = got
        if computed > steps * (steps + 1) // 4:
            raise CheckFailed(f"{label}: {computed} steps computed for {steps} steps: that is "
                              "recomputing from the start every time (about steps^2 / 2). "
                              "Recompute each segment once, from its checkpoint.")
        slips = {}
        if steps % k:
            slips["the last segment is shorter when every does not divide steps: that is the "
                  f"gradient of {steps + k - steps % k} steps"] = recursion_gradient(
                      a, b, x, steps + k - steps % k)
        compare(label + " (expected: reverse mode through the whole loop)", gradient,
                recursion_gradient(a, b, x, steps), 1e-12, slips)
        bound = math.ceil(steps / k) + k + 2
        if peak > bound:
            default = (" every was left out: its default is round(sqrt(steps))."
                       if every is None else "")
            whole = (" That is every state: reverse mode through the whole loop, not checkpointing."
                     if peak >= steps else "")
            raise CheckFailed(f"{label}: {peak} stored states alive at once, but keeping every "
                              f"{k}-th state needs at most steps/k + k + 2 = {bound}.{whole}{default}")
        if computed > 2 * steps + k:
            raise CheckFailed(f"{label}: {computed} steps computed; checkpointing computes each step "
                              f"about twice ({2 * steps}): recompute each segment once.")
        notes.append(f"T = {steps}: {peak} states, {computed} steps")
    return "checkpointed gradients equal to reverse mode through the whole loop; " + "; ".join(notes) + "."
