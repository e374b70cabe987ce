"""PS2 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

How a class can be graded when only plain data crosses
-------------------------------------------------------
PS2's answers are a class (``DualNumber``) and functions that take and return its instances.
A check receives plain data only (numbers, arrays, lists), so it never sees a ``DualNumber``,
and a ``BlackBox`` cannot help: its values are computed here, from plain numbers, and cannot
carry a dual part. So the checks run a few helpers of their own INSIDE the check process
(``IN_SANDBOX`` below, sent with ``student.define``; the notebook's locked cells
``provided_tools`` and ``provided_probes`` hold the same helpers for the visible tests, but a
later cell may redefine those, and the checks never use them):

- ``evaluate_dual(expression, **variables)`` turns each ``name=(real, dual)`` into the
  student's ``DualNumber(real, dual)``, evaluates the expression text with the student's
  operators and ``d_sin``... (reached by name, ``answer("d_sin")``), and returns ``[real, dual]``
  as floats. The checks send expressions (``"2.5 - x"``, ``"x ** y"``, ``"d_exp(d_sin(x))"``,
  ``"domke(x)"``) at hidden random points and evaluate the SAME text here with ``RefDual``, the
  grader's own dual arithmetic: a reference computed beside nothing the student wrote.
- ``probe_*`` functions are test functions written with the student's class (``probe_kepler(u)
  = u - 0.6 * d_sin(u) - 1.2``; maps R^n -> R^m take a list of DualNumbers and return a list).
  A check passes one, ``student.helper("probe_kepler")``, to the student's ``derivative``,
  ``jvp``, ``jacobian`` or ``newton``, which return floats and arrays. Each probe appends
  ``[name, largest |dual part| of its input]`` to the helpers' own ``PROBE_LOG`` (the probe
  counts itself: there is no wrapper to go around and no notebook name to redefine). A check
  empties the log, calls, and reads ``student.get_helper("PROBE_LOG")`` to count evaluations
  (one sweep for ``derivative`` and ``jvp``, exactly ``n`` for ``jacobian``) and to see that
  ``newton`` evaluated ``f`` on dual numbers with a non-zero dual part (a finite-difference
  Newton never does; one that only pretends is caught by the step check, which compares every
  Newton step to 1e-13). References for the probes are closed-form derivatives computed here
  with NumPy.

Dependencies between checks. Each check runs after the cells above its test cell only (the
notebook tells students that a part may use earlier parts, never later ones). The probes use
only ``d_sin``, ``d_cos``, ``d_exp``, ``d_log``, ``d_tanh``, sums and differences of dual
numbers, ``u - c``, ``c + u`` and ``c * u`` with a plain constant ``c`` (no product or quotient
of two dual numbers, no ``c - u``, ``c / u`` or powers), so a mistake in those operators is
charged to the Part A check that covers it, not to every later check. ``recursion_dual``
multiplies two dual numbers (``z * x``) and so depends on the product rule; the bank
(tests/submissions/ps2/bank.py) records every such cascade.

Limits (by design, as everywhere in this format): the helpers run in the student's process, so
code written to attack the grader (reading a helper's ``__globals__``) could reach them; that
shows in the submitted notebook, and the verdict itself is decided here.

Messages (docs/dev/checks.md): each check names the mistake its value matches (computed here:
a missing chain factor, a sign, the rule for a plain exponent...), reads the cause of an error
the student's code raised (NumPy on a DualNumber, a missing ``__rsub__``), and a later check
that fails because an earlier part is broken says which check to fix first (``blaming``).
Every parameter is used with two values and its default (``newton``'s ``max_steps`` through
``probe_no_root``, which has no root). Hidden inputs come from ``hidden_rng``.

Longer than our usual module on purpose: the grader loads one file per problem set, and each
check sits next to the catalogue of mistakes it recognises. Kept out of the release by
``CourseDirectory.ignore`` (nbgrader_config.py).
"""

import math

import numpy as np

from autograder import CheckFailed, check, hidden_rng
from mlpkit.grading import check_close, check_shape

FORBIDDEN_MODULES = {
    "mlpkit.forward": "PS2 asks you to write forward-mode AD (dual numbers) yourself",
    "mlpkit.reverse": "PS2 asks you to write the derivatives yourself, in forward mode",
    "mlpkit.numdiff": "PS2 asks for exact derivatives from your dual numbers, not differences",
    "mlpkit.complexsafe": "PS2 asks for exact derivatives from your dual numbers",
    "autograd": "PS2 asks you to write forward-mode AD yourself",
    "torch": "PS2 asks you to write forward-mode AD yourself",
    "jax": "PS2 asks you to write forward-mode AD yourself",
}

EPS = np.finfo(np.float64).eps


def draws(label: str, k: int = 0):
    """The generator of one check's hidden inputs (``hidden_rng``: a per-course secret)."""
    return hidden_rng(f"ps2 {label} {k}")

RTOL = 1e-11  # AD is exact up to rounding; different but correct formulas differ by a few eps


# --------------------------------------------------------------------------- helpers in the sandbox
# The notebook's provided cells (``provided_tools``, ``provided_probes``) hold the same helpers
# for the visible tests; the checks use THESE copies, defined in the check process by
# ``student.define`` (a later cell of the notebook may redefine the notebook's copies). They reach
# the student's answers by name when they run (``answer("d_sin")``), and nothing else of the
# notebook: ``PROBE_LOG`` here counts every evaluation of a probe, whatever the student's code
# redefines.

IN_SANDBOX = r'''
ANSWER_NAMES = ("DualNumber", "d_sin", "d_cos", "d_exp", "d_log", "d_sqrt", "d_tanh", "domke")


def dual_parts(u):
    """[real part, dual part] of u as two floats; a plain number c counts as c + 0 eps."""
    if isinstance(u, answer("DualNumber")):
        return [float(u.real), float(u.dual)]
    return [float(u), 0.0]


def evaluate_dual(expression, **variables):
    """The expression (the grader's text) with each name=(real, dual) as the student's
    DualNumber(real, dual), the student's functions by name; [real, dual] of the result."""
    names = {"__builtins__": __builtins__}
    for name in ANSWER_NAMES:
        try:
            names[name] = answer(name)
        except NameError:
            pass
    try:
        values = {name: answer("DualNumber")(float(real), float(dual))
                  for name, (real, dual) in variables.items()}
        result = eval(expression, names, values)
    except NotImplementedError:
        raise RuntimeError(f"evaluating {expression!r}: part of your code still raises "
                           "NotImplementedError") from None
    return dual_parts(result)


PROBE_LOG = []  # one entry per call: [probe name, largest |dual part| among its inputs]


def reset_probe_log():
    PROBE_LOG.clear()


def _record_probe_call(name, inputs):
    largest = 0.0
    for u in inputs:
        try:
            largest = max(largest, abs(dual_parts(u)[1]))
        except Exception:
            pass
    PROBE_LOG.append([name, largest])


def probe_wave(u):
    _record_probe_call("probe_wave", [u])
    return answer("d_sin")(3.0 * u) + answer("d_exp")(0.5 * u)


def probe_ripple(u):
    _record_probe_call("probe_ripple", [u])
    return answer("d_tanh")(answer("d_sin")(u)) + answer("d_log")(2.0 + answer("d_cos")(u))


def probe_kepler(u):
    _record_probe_call("probe_kepler", [u])
    return u - 0.6 * answer("d_sin")(u) - 1.2


def probe_exp_root(u):
    _record_probe_call("probe_exp_root", [u])
    return answer("d_exp")(u) + u - 2.0


def probe_log_root(u):
    _record_probe_call("probe_log_root", [u])
    return answer("d_log")(u) + 0.5 * u - 1.0


def probe_no_root(u):
    _record_probe_call("probe_no_root", [u])
    return answer("d_exp")(u) + 1.0


def probe_map_3to2(x):
    _record_probe_call("probe_map_3to2", x)
    return [answer("d_sin")(x[0] + 2.0 * x[1]) + answer("d_exp")(0.5 * x[2]),
            answer("d_cos")(x[0] - x[2]) + 3.0 * x[1]]


def probe_map_2to2(x):
    _record_probe_call("probe_map_2to2", x)
    return [answer("d_exp")(x[0]) + answer("d_sin")(x[1]), 2.0 * x[0] - answer("d_cos")(x[1])]


def probe_map_1to3(x):
    _record_probe_call("probe_map_1to3", x)
    return [answer("d_sin")(x[0]), answer("d_exp")(-0.5 * x[0]),
            3.0 * x[0] + answer("d_tanh")(x[0])]
'''


def provide(student) -> None:
    """Define the helpers above in the check process (once per check)."""
    student.define(IN_SANDBOX)



# --------------------------------------------------------------------------- reference duals


class RefDual:
    """The grader's dual number a + b eps (eps**2 = 0): the reference for every expression."""

    __slots__ = ("a", "b")

    def __init__(self, a, b=0.0):
        self.a, self.b = float(a), float(b)

    @staticmethod
    def lift(u):
        return u if isinstance(u, RefDual) else RefDual(u, 0.0)

    def __add__(self, other):
        other = RefDual.lift(other)
        return RefDual(self.a + other.a, self.b + other.b)

    __radd__ = __add__

    def __neg__(self):
        return RefDual(-self.a, -self.b)

    def __sub__(self, other):
        other = RefDual.lift(other)
        return RefDual(self.a - other.a, self.b - other.b)

    def __rsub__(self, other):
        return RefDual.lift(other) - self

    def __mul__(self, other):
        other = RefDual.lift(other)
        return RefDual(self.a * other.a, self.a * other.b + self.b * other.a)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = RefDual.lift(other)
        return RefDual(self.a / other.a, (self.b * other.a - self.a * other.b) / other.a**2)

    def __rtruediv__(self, other):
        return RefDual.lift(other) / self

    def __pow__(self, exponent):
        if isinstance(exponent, RefDual):
            value = self.a**exponent.a
            return RefDual(value, value * (exponent.b * math.log(self.a)
                                           + exponent.a * self.b / self.a))
        return RefDual(self.a**exponent, exponent * self.a ** (exponent - 1) * self.b)

    def __rpow__(self, base):
        value = base**self.a
        return RefDual(value, value * math.log(base) * self.b)


def _unary(g, dg):
    def apply(u):
        u = RefDual.lift(u)
        return RefDual(g(u.a), dg(u.a) * u.b)
    return apply


def ref_domke(u):
    a = REF_NAMESPACE["d_exp"](u)
    c = a + a * a
    return REF_NAMESPACE["d_exp"](c) + REF_NAMESPACE["d_sin"](c)


REF_NAMESPACE = {
    "__builtins__": {},
    "DualNumber": RefDual,
    "d_sin": _unary(math.sin, math.cos),
    "d_cos": _unary(math.cos, lambda a: -math.sin(a)),
    "d_exp": _unary(math.exp, math.exp),
    "d_log": _unary(math.log, lambda a: 1.0 / a),
    "d_sqrt": _unary(math.sqrt, lambda a: 0.5 / math.sqrt(a)),
    "d_tanh": _unary(math.tanh, lambda a: 1.0 - math.tanh(a) ** 2),
}
REF_NAMESPACE["domke"] = ref_domke


def reference(expression: str, variables: dict) -> np.ndarray:
    """[real, dual] of ``expression`` evaluated with RefDual (the grader's own arithmetic)."""
    values = {name: RefDual(*parts) for name, parts in variables.items()}
    result = RefDual.lift(eval(expression, REF_NAMESPACE, values))  # our own text only
    return np.array([result.a, result.b])


# --------------------------------------------------------------------------- comparing


def show_call(expression: str, variables: dict) -> str:
    shown = ", ".join(f"{name}=({real!r}, {dual!r})" for name, (real, dual) in variables.items())
    return f"evaluate_dual({expression!r}{', ' if shown else ''}{shown})"


def pair(values) -> str:
    """``[1.5, -0.25]``: two numbers as plain floats (no ``np.float64(...)``)."""
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def close(got, expected, rtol: float = RTOL) -> bool:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return bool(np.all(np.abs(got - expected) <= rtol * np.maximum(1.0, np.abs(expected))))


def expect_dual(student, expression: str, variables: dict, what: str = "", hints=()) -> None:
    """The student's [real, dual] of ``expression`` equals the reference to rounding.

    ``hints``: (text, alternative) pairs; ``alternative`` is an expression or a function of the
    variables giving the [real, dual] a recognisable mistake would produce.
    """
    label = show_call(expression, variables) + (f"  [{what}]" if what else "")
    try:
        provide(student)
        got = student.call_helper("evaluate_dual", expression, **variables)
    except CheckFailed as failure:
        cause = raised_cause(str(failure), expression)
        if cause:
            raise CheckFailed(f"{failure}\n  Likely cause: {cause}") from None
        raise
    check_shape(label, got, (2,))
    got = np.asarray(got, dtype=float)
    expected = reference(expression, variables)
    if close(got, expected):
        return
    found = ""
    for text, alternative in hints:
        if isinstance(alternative, str):
            wrong = reference(alternative, variables)
        else:
            wrong = np.asarray(alternative(**variables), dtype=float)
        if close(got, wrong, 1e-9):
            found = text
            break
    if not found:
        if close(got[0], expected[0]) and got[1] == 0.0 and expected[1] != 0.0:
            found = ("the real part is right but the dual part is 0: the tangent was lost "
                     "somewhere (a result built from plain numbers, or a dual part dropped).")
        elif close(got[0], expected[0]) and close(got[1], -expected[1], 1e-9):
            found = "the real part is right but the dual part has the wrong sign."
        elif close(got[0], expected[0]) and expected[1] != 0.0:
            ratio = got[1] / expected[1]
            for factor, name in ((2.0, "twice"), (0.5, "half")):
                if abs(ratio - factor) < 1e-9:
                    found = f"the real part is right but the dual part is {name} the expected one."
            found = found or "the real part is right; the dual part (the derivative) is wrong."
        elif not close(got[0], expected[0]):
            found = "the real part (the value) is wrong, not only the derivative."
    raise CheckFailed(f"{label}\n  got      [real, dual] = {pair(got)}\n"
                      f"  expected [real, dual] = {pair(expected)}\n  Hint: {found}")


RAISED_CAUSES = [  # (text in the error the student's code raised, cause in PS2's words)
    ("loop of ufunc does not support argument",
     "a NumPy function (np.exp, np.sin, ...) was applied to a DualNumber: NumPy does not know your "
     "class. Use your own d_exp, d_sin, ... (Part B) on dual numbers."),
    ("has no attribute 'dual'",
     "a plain number reached code that reads .dual: turn plain numbers into DualNumber(c, 0.0) "
     "first (as_dual) in every operator and function that accepts them."),
    ("has no attribute 'real'",
     "code reads .real of something that is not a number or a DualNumber."),
    ("unsupported operand type(s) for -: 'float' and 'DualNumber'",
     "`c - x` with a plain c calls x.__rsub__(c): define __rsub__ (it returns c - x)."),
    ("unsupported operand type(s) for -: 'int' and 'DualNumber'",
     "`c - x` with a plain c calls x.__rsub__(c): define __rsub__ (it returns c - x)."),
    ("unsupported operand type(s) for /: 'float' and 'DualNumber'",
     "`c / x` with a plain c calls x.__rtruediv__(c): define __rtruediv__ (it returns c / x)."),
    ("unsupported operand type(s) for /: 'int' and 'DualNumber'",
     "`c / x` with a plain c calls x.__rtruediv__(c): define __rtruediv__ (it returns c / x)."),
    ("unsupported operand type(s) for ** or pow(): 'float' and 'DualNumber'",
     "`c ** x` with a plain c calls x.__rpow__(c): define __rpow__ (it returns c ** x)."),
    ("unsupported operand type(s) for ** or pow(): 'int' and 'DualNumber'",
     "`c ** x` with a plain c calls x.__rpow__(c): define __rpow__ (it returns c ** x)."),
    ("unsupported operand type(s) for +: 'float' and 'DualNumber'",
     "`c + x` with a plain c calls x.__radd__(c): define __radd__."),
    ("unsupported operand type(s) for +: 'int' and 'DualNumber'",
     "`c + x` with a plain c calls x.__radd__(c): define __radd__."),
    ("unsupported operand type(s) for *: 'float' and 'DualNumber'",
     "`c * x` with a plain c calls x.__rmul__(c): define __rmul__."),
    ("unsupported operand type(s) for *: 'int' and 'DualNumber'",
     "`c * x` with a plain c calls x.__rmul__(c): define __rmul__."),
    ("math domain error",
     "a math function got a value outside its domain: u ** k with a negative real part and an "
     "integer k must not go through log(a) (use the rule k a**(k-1) b for a plain k)."),
]


def raised_cause(message: str, expression: str) -> str | None:
    """The cause of an error the student's code raised, when the error itself shows it."""
    for text, cause in RAISED_CAUSES:
        if text in message:
            return cause
    return None


ELEMENTARY = {  # name -> (g, g') on plain floats: the slips below are built from them
    "d_sin": (math.sin, math.cos), "d_cos": (math.cos, lambda a: -math.sin(a)),
    "d_exp": (math.exp, math.exp), "d_log": (math.log, lambda a: 1.0 / a),
    "d_sqrt": (math.sqrt, lambda a: 0.5 / math.sqrt(a)),
    "d_tanh": (math.tanh, lambda a: 1.0 - math.tanh(a) ** 2),
}
ELEMENTARY_SLIPS = {  # name -> [(cause, wrong derivative g'(a) as a function of a)]
    "d_cos": [("d cos(a) = -sin(a) b: the minus sign is missing.", lambda a: math.sin(a))],
    "d_sin": [("d sin(a) = cos(a) b, not -cos(a) b.", lambda a: -math.cos(a))],
    "d_sqrt": [("d sqrt(a) = b / (2 sqrt(a)): the factor 1/2 is missing.",
                lambda a: 1.0 / math.sqrt(a)),
               ("d sqrt(a) = b / (2 sqrt(a)), not b sqrt(a) / 2.", lambda a: 0.5 * math.sqrt(a))],
    "d_log": [("d log(a) = b / a, not b log(a) or b a.", lambda a: a),
              ("d log(a) = b / a; yours divides by a**2.", lambda a: 1.0 / a**2)],
    "d_tanh": [("d tanh(a) = (1 - tanh(a)**2) b: the tanh must be squared.",
                lambda a: 1.0 - math.tanh(a)),
               ("d tanh(a) = (1 - tanh(a)**2) b, not (1 + tanh(a)**2) b.",
                lambda a: 1.0 + math.tanh(a) ** 2)],
    "d_exp": [("d exp(a) = exp(a) b: the factor exp(a) is missing.", lambda a: 1.0)],
}


def elementary_hints(name: str):
    """(cause, alternative) pairs for ``expect_dual`` on ``name(x)``."""
    g, dg = ELEMENTARY[name]
    hints = [(f"{name}: the tangent b of the input is not multiplied in: the chain rule gives "
              f"g'(a) * b, not g'(a).", lambda x: [g(x[0]), dg(x[0])])]
    for cause, wrong in ELEMENTARY_SLIPS.get(name, []):
        hints.append((f"{name}: {cause}", lambda x, w=wrong: [g(x[0]), w(x[0]) * x[1]]))
    return hints


def uniform(rng, low: float, high: float) -> float:
    return float(np.round(rng.uniform(low, high), 6))


def dual_variable(rng, low: float = -2.0, high: float = 2.0, *, away_from_zero: float = 0.0):
    """(real, dual) with the real part in [low, high] (|real| >= away_from_zero)."""
    while True:
        real = uniform(rng, low, high)
        if abs(real) >= away_from_zero:
            break
    dual = uniform(rng, 0.3, 2.0) * (1 if rng.uniform() < 0.7 else -1)
    return (real, dual)


def product_hints():
    return [
        ("the dual part is only b*c: the product rule needs both terms, a*d + b*c.",
         lambda x, y: [x[0] * y[0], x[1] * y[0]]),
        ("the dual part is only a*d: the product rule needs both terms, a*d + b*c.",
         lambda x, y: [x[0] * y[0], x[0] * y[1]]),
        ("the dual part is b*d: the product rule gives a*d + b*c (eps**2 = 0 drops b*d).",
         lambda x, y: [x[0] * y[0], x[1] * y[1]]),
    ]


# --------------------------------------------------------------------------- Part A


@check("test_dual_add_mul")
def dual_add_mul(student):
    cases = 0
    for k in range(3):
        rng = draws("0", k)
        x, y = dual_variable(rng), dual_variable(rng)
        c = uniform(rng, -3.0, 3.0)
        both = {"x": x, "y": y}
        expect_dual(student, "x", {"x": x}, "DualNumber(real, dual) keeps both parts")
        expect_dual(student, f"DualNumber({c!r})", {}, "the dual part defaults to 0.0")
        for expression in ("x + y", f"x + {c!r}", f"{c!r} + x", "3 + x", "-x", "-(x + y)"):
            expect_dual(student, expression, both)
        for expression in ("x * y", "y * x"):
            expect_dual(student, expression, both, "product rule", product_hints())
        expect_dual(student, "x * x", {"x": x}, "product rule",
                    [("d(x*x) = 2 a b: the product rule needs both terms.",
                      lambda x: [x[0] ** 2, x[0] * x[1]])])
        for expression in (f"x * {c!r}", f"{c!r} * x", "2 * x", "x * (y * x) + y"):
            expect_dual(student, expression, both)
        for expression, operation in (("(x + y, x)[1]", "x + y"), ("(x * y, x)[1]", "x * y"),
                                      (f"({c!r} * x, x)[1]", f"{c!r} * x")):
            expect_dual(student, expression, both,
                        f"x after computing {operation}: operators must return a NEW DualNumber "
                        "and leave their operands unchanged",
                        [(f"computing {operation} changed x in place (x now holds the result): "
                          "build and return a new DualNumber instead of updating self.",
                          operation)])
        cases += 18
    return (f"DualNumber(real, dual), +, * and unary - agree with dual arithmetic in {cases} "
            "hidden cases.")


@check("test_dual_sub_div")
def dual_sub_div(student):
    cases = 0
    for k in range(3):
        rng = draws("10", k)
        x, y = dual_variable(rng, away_from_zero=0.4), dual_variable(rng, away_from_zero=0.4)
        c = uniform(rng, 0.5, 3.0)
        both = {"x": x, "y": y}
        expect_dual(student, "x - y", both)
        expect_dual(student, f"x - {c!r}", both)
        for expression, swapped in ((f"{c!r} - x", f"x - {c!r}"), ("3 - x", "x - 3")):
            expect_dual(student, expression, both, "reflected subtraction",
                        [(f"{expression} was computed as {swapped}: for `{expression}` Python "
                          "calls x.__rsub__(c), and the result must be other - self.", swapped)])
        quotient_hints = [
            ("sign error in the quotient rule: the dual part of u/w is (b c - a d) / c**2.",
             lambda x, y: [x[0] / y[0], (x[1] * y[0] + x[0] * y[1]) / y[0] ** 2]),
            ("the dual part of u/w is (b c - a d) / c**2: divide by c**2, not by c.",
             lambda x, y: [x[0] / y[0], (x[1] * y[0] - x[0] * y[1]) / y[0]]),
            ("the dual part of u/w is (b c - a d) / c**2 (here it looks like b/d).",
             lambda x, y: [x[0] / y[0], x[1] / y[1]]),
        ]
        expect_dual(student, "x / y", both, "quotient rule", quotient_hints)
        expect_dual(student, f"x / {c!r}", both)
        for expression, swapped in ((f"{c!r} / x", f"x / {c!r}"), ("1 / x", "x / 1")):
            expect_dual(student, expression, both, "reflected division",
                        [(f"{expression} was computed as {swapped}: for `{expression}` Python "
                          "calls x.__rtruediv__(c), and the result must be other / self.", swapped),
                         ("sign error in the quotient rule: d(c/u) = -c b / a**2.",
                          lambda x, y, e=expression: -reference(e, {"x": x}) * [-1, 1])])
        expect_dual(student, "(x - y) / (x + y)", both, "quotient rule", [])
        expect_dual(student, f"({c!r} - x) / y", both)
        cases += 10
    return f"-, / and their reflected versions agree with dual arithmetic in {cases} hidden cases."


@check("test_dual_power")
def dual_power(student):
    cases = 0
    for k in range(3):
        rng = draws("20", k)
        x = dual_variable(rng, 0.3, 2.5)  # positive real part
        y = dual_variable(rng, 0.3, 2.5)
        negative = dual_variable(rng, -2.5, -0.3)
        exponent = dual_variable(rng, -2.0, 3.0)
        base = uniform(rng, 0.2, 4.0)
        random_exponent = uniform(rng, -2.0, 3.0)
        for expression in ("x ** 2", "x ** 3", "x ** 0.5", "x ** -1.5",
                           f"x ** {random_exponent!r}"):
            k_power = float(expression.split("**")[1])
            expect_dual(student, expression, {"x": x}, "power with a constant exponent",
                        [("d(u**k) = k a**(k-1) b: the exponent of a must drop by one.",
                          lambda x, k=k_power: [x[0] ** k, k * x[0] ** k * x[1]]),
                         ("d(u**k) = k a**(k-1) b: the factor k is missing.",
                          lambda x, k=k_power: [x[0] ** k, x[0] ** (k - 1) * x[1]])])
        for expression in ("n ** 2", "n ** 3", "n ** -1"):
            expect_dual(student, expression, {"n": negative},
                        "negative real part with an integer exponent: a**k is real")
        for expression in (f"{base!r} ** x", "2 ** x"):
            expect_dual(student, expression, {"x": x}, "reflected power c ** u",
                        [("d(c**u) = c**a log(c) b: the log(c) factor is missing.",
                          lambda x, e=expression: [reference(e, {"x": x})[0],
                                                   reference(e, {"x": x})[0] * x[1]]),
                         ("d(c**u) = c**a log(c) b is not 0. If your __rpow__ uses the rule for a "
                          "dual exponent, that rule lacks its log term: d(u**w) = u**w "
                          "(d log a + c b / a).",
                          lambda x, e=expression: [reference(e, {"x": x})[0], 0.0]),
                         ("c ** u was computed as u ** c: for `c ** x` Python calls "
                          "x.__rpow__(c), and the result must be other ** self.",
                          lambda x, e=expression: reference("x ** " + e.split(" ** ")[0],
                                                            {"x": x}))])
        no_log = ("u ** w with a dual exponent: the term d log(a) is missing. "
                  "u**w = exp(w log u), so d(u**w) = u**w (d log a + c b / a).")
        for expression, variables in (("x ** y", {"x": x, "y": y}),
                                      ("x ** w", {"x": x, "w": exponent}),
                                      ("x ** x", {"x": x})):
            names = list(variables)
            expect_dual(student, expression, variables, "power with a dual exponent",
                        [(no_log, lambda n=names, **v: [
                            v[n[0]][0] ** v[n[-1]][0],
                            v[n[-1]][0] * v[n[0]][0] ** (v[n[-1]][0] - 1) * v[n[0]][1]])])
        expect_dual(student, "x ** DualNumber(2.0)", {"x": x},
                    "a dual exponent with dual part 0 must give the same as x ** 2")
        cases += 14
    return f"u ** k, c ** u and u ** w agree with dual arithmetic in {cases} hidden cases."


# --------------------------------------------------------------------------- Part B


@check("test_elementary")
def elementary(student):
    cases = 0
    for k in range(3):
        rng = draws("30", k)
        anywhere = dual_variable(rng, -3.0, 3.0)
        positive = dual_variable(rng, 0.2, 4.0)
        plain = uniform(rng, 0.2, 2.5)
        for name in ("d_sin", "d_cos", "d_exp", "d_tanh"):
            expect_dual(student, f"{name}(x)", {"x": anywhere}, hints=elementary_hints(name))
            cases += 1
        for name in ("d_log", "d_sqrt"):
            expect_dual(student, f"{name}(x)", {"x": positive}, "real part > 0",
                        elementary_hints(name))
            cases += 1
        for name in ("d_sin", "d_cos", "d_exp", "d_log", "d_sqrt", "d_tanh"):
            expect_dual(student, f"{name}({plain!r})", {},
                        "a plain number is a constant: dual part 0")
            cases += 1
        for expression in ("d_exp(d_sin(x))", "d_tanh(d_cos(x))", "d_sqrt(d_exp(x))",
                           "d_log(d_exp(x))"):
            expect_dual(student, expression, {"x": anywhere}, "chain rule through two functions")
            cases += 1
    return (f"d_sin, d_cos, d_exp, d_log, d_sqrt, d_tanh agree with dual arithmetic in {cases} "
            "hidden cases.")


# --------------------------------------------------------------------------- Part C

PROBES = {  # name -> (f, f') in NumPy: the probe_* functions of the notebook
    "probe_wave": (lambda u: np.sin(3 * u) + np.exp(0.5 * u),
                   lambda u: 3 * np.cos(3 * u) + 0.5 * np.exp(0.5 * u)),
    "probe_ripple": (lambda u: np.tanh(np.sin(u)) + np.log(2 + np.cos(u)),
                     lambda u: ((1 - np.tanh(np.sin(u)) ** 2) * np.cos(u)
                                - np.sin(u) / (2 + np.cos(u)))),
    "probe_kepler": (lambda u: u - 0.6 * np.sin(u) - 1.2, lambda u: 1 - 0.6 * np.cos(u)),
    "probe_exp_root": (lambda u: np.exp(u) + u - 2.0, lambda u: np.exp(u) + 1.0),
    "probe_log_root": (lambda u: np.log(u) + 0.5 * u - 1.0, lambda u: 1.0 / u + 0.5),
    "probe_no_root": (lambda u: np.exp(u) + 1.0, lambda u: np.exp(u)),
}
PROBE_FORMULAS = {
    "probe_wave": "sin(3u) + exp(u/2)", "probe_ripple": "tanh(sin u) + log(2 + cos u)",
    "probe_kepler": "u - 0.6 sin u - 1.2", "probe_exp_root": "exp(u) + u - 2",
    "probe_log_root": "log(u) + u/2 - 1", "probe_no_root": "exp(u) + 1 (no root)",
}


def map_3to2(x):
    s, t = x[0] + 2 * x[1], x[0] - x[2]
    values = np.array([np.sin(s) + np.exp(0.5 * x[2]), np.cos(t) + 3 * x[1]])
    return values, np.array([[np.cos(s), 2 * np.cos(s), 0.5 * np.exp(0.5 * x[2])],
                             [-np.sin(t), 3.0, np.sin(t)]])


def map_2to2(x):
    values = np.array([np.exp(x[0]) + np.sin(x[1]), 2 * x[0] - np.cos(x[1])])
    return values, np.array([[np.exp(x[0]), np.cos(x[1])], [2.0, np.sin(x[1])]])


def map_1to3(x):
    values = np.array([np.sin(x[0]), np.exp(-0.5 * x[0]), 3 * x[0] + np.tanh(x[0])])
    return values, np.array([[np.cos(x[0])], [-0.5 * np.exp(-0.5 * x[0])],
                             [3 + 1 - np.tanh(x[0]) ** 2]])


MAPS = {"probe_map_3to2": (3, map_3to2), "probe_map_2to2": (2, map_2to2),
        "probe_map_1to3": (1, map_1to3)}


def probe_calls(student, before: int, name: str) -> list:
    """The PROBE_LOG entries [name, largest |dual|] of ``name`` after position ``before``."""
    log = student.get_helper("PROBE_LOG")
    return [entry for entry in log[before:] if isinstance(entry, list) and entry[:1] == [name]]


def log_length(student) -> int:
    """The length of PROBE_LOG (kept short: each counting check first empties it)."""
    return len(student.get_helper("PROBE_LOG"))


def derivative(student):
    cases = 0
    student.call_helper("reset_probe_log")  # count from an empty log
    for k, name in enumerate(("probe_wave", "probe_ripple", "probe_kepler", "probe_exp_root",
                              "probe_log_root")):
        rng = draws("40", k)
        low = 0.2 if name == "probe_log_root" else -2.0
        f, df = PROBES[name]
        for x in [uniform(rng, low, 2.5) for _ in range(3)] + ([0.0] if low < 0 else []):
            before = log_length(student)
            got = student.call("derivative", student.helper(name), x)
            label = f"derivative({name}, {x!r}) with {name}(u) = {PROBE_FORMULAS[name]}"
            expected = float(df(x))
            check_shape(label, got, ())
            value = float(np.asarray(got, dtype=float))
            if abs(value - expected) > RTOL * max(1.0, abs(expected)):
                hint = ""
                if abs(value - f(x)) <= 1e-9 * max(1.0, abs(f(x))):
                    hint = "\n  Hint: that is f(x), the real part: the derivative is the dual part."
                elif value == 0.0:
                    hint = "\n  Hint: 0 means the input was not seeded: use DualNumber(x, 1.0)."
                raise CheckFailed(f"{label}: got {value!r}, expected f'(x) = {expected!r}.{hint}")
            calls = probe_calls(student, before, name)
            if len(calls) != 1:
                raise CheckFailed(f"{label} evaluated {name} {len(calls)} times: one evaluation "
                                  "f(DualNumber(x, 1.0)) gives f(x) and f'(x) together.")
            cases += 1
    return f"derivative returns f'(x) with one evaluation of f in {cases} hidden cases."


def show(x) -> str:
    return np.array2string(np.asarray(x), precision=6, separator=", ")


def jvp_result(student, name: str, x, v):
    label = f"jvp({name}, x={show(x)}, v={show(v)})"
    got = student.call("jvp", student.helper(name), x, v)
    if not isinstance(got, list) or len(got) != 2:
        raise CheckFailed(f"{label} should return a tuple (values, tangents) of two arrays, "
                          f"but returned {type(got).__name__} {str(got)[:80]}.")
    return label, got


def jvp(student):
    cases = 0
    student.call_helper("reset_probe_log")  # count from an empty log
    for k, (name, (n, reference_map)) in enumerate(MAPS.items()):
        rng = draws("50", k)
        for _ in range(3):
            x = np.round(rng.uniform(-1.5, 1.5, n), 6)
            v = np.round(rng.uniform(-2.0, 2.0, n), 6)
            values, jac = reference_map(x)
            m = values.size
            before = log_length(student)
            label, (got_values, got_tangents) = jvp_result(student, name, x, v)
            check_shape(label + " values", got_values, (m,))
            check_shape(label + " tangents", got_tangents, (m,))
            if not close(got_values, values):
                raise CheckFailed(
                    f"{label} values: got {show(got_values)}, expected F(x) = {show(values)}. "
                    "Hint: F(x) itself is wrong. jvp must call f once with the list "
                    "[DualNumber(x[0], v[0]), ...]; if it does, the probe's own arithmetic went "
                    "wrong: does an operator of your class change its operands (Part A)?")
            tangents = jac @ v
            if not close(got_tangents, tangents):
                hint = ""
                if close(got_tangents, jac @ np.ones(n), 1e-9) and n > 1:
                    hint = " Hint: that is J @ (1, ..., 1): seed input i with v[i], not with 1."
                elif close(got_tangents, got_values, 1e-9):
                    hint = " Hint: the tangents equal the values: return the dual parts."
                raise CheckFailed(f"{label} tangents: got {show(got_tangents)}, expected "
                                  f"J v = {show(tangents)}.{hint}")
            calls = probe_calls(student, before, name)
            if len(calls) != 1:
                raise CheckFailed(f"{label} evaluated {name} {len(calls)} times: one sweep on "
                                  "dual numbers gives F(x) and J v together.")
            cases += 1
    return (f"jvp returns (F(x), J v) with one evaluation of F in {cases} hidden cases "
            "(n = 1, 2, 3).")


def jacobian(student):
    cases = 0
    student.call_helper("reset_probe_log")  # count from an empty log
    for k, (name, (n, reference_map)) in enumerate(MAPS.items()):
        rng = draws("60", k)
        for _ in range(2):
            x = np.round(rng.uniform(-1.5, 1.5, n), 6)
            jac = reference_map(x)[1]
            m = jac.shape[0]
            before = log_length(student)
            label = f"jacobian({name}, x={show(x)}) (F: R^{n} -> R^{m})"
            got = student.call("jacobian", student.helper(name), x)
            got_array = np.asarray(got) if not isinstance(got, (str, dict)) else None
            transposed = (got_array is not None and got_array.shape == jac.T.shape
                          and got_array.dtype.kind in "iuf" and close(got_array, jac.T, 1e-9))
            if transposed and not (got_array.shape == jac.shape and close(got_array, jac)):
                raise CheckFailed(
                    f"{label}: your matrix is the transpose of the Jacobian (shape {jac.shape}, "
                    f"J[i, j] = dF_i/dx_j). The JVP with e_j is COLUMN j: stack the n results "
                    "as columns (np.stack(..., axis=1) or np.column_stack).")
            check_shape(label, got, (m, n))
            check_close(label, got, jac, rtol=RTOL, atol=RTOL)
            calls = probe_calls(student, before, name)
            if len(calls) != n:
                raise CheckFailed(f"{label} evaluated {name} {len(calls)} times; forward mode "
                                  f"needs exactly n = {n} sweeps, one jvp per column.")
            cases += 1
    return (f"jacobian returns the (m, n) Jacobian, one sweep per column, in {cases} hidden "
            "cases (shapes 2x3, 2x2, 3x1).")


# --------------------------------------------------------------------------- Part D


def domke(student):
    rng = draws("70")
    points = [0.0] + [uniform(rng, -2.0, 0.6) for _ in range(4)]
    for k, x0 in enumerate(points):
        tangent = 1.0 if k % 2 == 0 else uniform(rng, -2.0, 2.0)
        expect_dual(student, "domke(x)", {"x": (x0, tangent)},
                    "f(x) = exp(exp(x) + exp(x)**2) + sin(exp(x) + exp(x)**2)")
    expect_dual(student, "domke(x)", {"x": (0.0, 0.0)}, "dual part 0 in, dual part 0 out")
    return f"domke(x) gives f(x) and f'(x) v at {len(points) + 1} hidden points."


def recursion_reference(x: float, x_dot: float = 1.0, n: int = 20, new_z_first: bool = False,
                        z0_dot: float = 0.0):
    """[z_n, z_dot_n] for z_0 = 0 with tangent z0_dot and the seed x_dot."""
    z, z_dot = 0.0, z0_dot
    for _ in range(n):
        if new_z_first:  # the mistake: the tangent update reads the new z
            z = math.sin(z * x) + x
            z_dot = math.cos(z * x) * (z_dot * x + z * x_dot) + x_dot
        else:
            z, z_dot = (math.sin(z * x) + x,
                        math.cos(z * x) * (z_dot * x + z * x_dot) + x_dot)
    return np.array([z, z_dot])


def recursion_points():
    rng = draws("80")
    return [uniform(rng, 0.05, 1.0), uniform(rng, 1.0, 1.5), uniform(rng, 1.1, 1.5), 1.5]


def expect_recursion(label: str, got, expected, mistakes=()) -> None:
    """``got`` is [z_n, derivative] close to ``expected``; ``mistakes``: (hint, wrong values)."""
    check_shape(label, got, (2,))
    got = np.asarray(got, dtype=float)
    if np.all(np.abs(got - expected) <= 1e-10 * np.abs(expected) + 1e-12):
        return
    hint = ""
    for text, wrong in mistakes:
        if np.all(np.abs(got - wrong) <= 1e-9 * np.abs(wrong) + 1e-12):
            hint = f"\n  Hint: {text}"
            break
    if not hint and abs(got[0] - expected[0]) <= 1e-10 * abs(expected[0]) + 1e-12:
        hint = ("\n  Hint: z_n is right but the derivative is not: check the seed and every "
                "operation the recursion uses (the product z * x needs the product rule).")
    raise CheckFailed(f"{label}: got [z_n, derivative] = {pair(got)}, expected "
                      f"{pair(expected)}.{hint}")


@check("test_recursion_tangent")
def recursion_tangent(student):
    cases = 0
    for x in recursion_points():
        for x_dot in (1.0, 2.5, -0.5):
            kwargs = {} if x_dot == 1.0 else {"x_dot": x_dot}
            got = student.call("recursion_tangent", x, **kwargs)
            label = f"recursion_tangent({x!r}" + (f", x_dot={x_dot!r})" if kwargs else ")")
            new_z_first = ("this is what you get when the tangent line reads the NEW z: compute "
                           "z_dot from the old z_k, before z is updated (or update both at once).")
            expect_recursion(label, got, recursion_reference(x, x_dot),
                             [(new_z_first, recursion_reference(x, x_dot, new_z_first=True))])
            cases += 1
    for n in (0, 1, 2, 7):
        got = student.call("recursion_tangent", 1.3, x_dot=1.0, n=n)
        expect_recursion(f"recursion_tangent(1.3, x_dot=1.0, n={n})", got,
                         recursion_reference(1.3, 1.0, n))
        cases += 1
    return (f"recursion_tangent matches [z_n, z_dot_n] in {cases} hidden cases (x up to 1.5, "
            "several seeds and n).")


def recursion_dual(student):
    cases = 0
    for x in recursion_points():
        for n in (20, 1, 2, 7):
            kwargs = {} if n == 20 else {"n": n}
            got = student.call("recursion_dual", x, **kwargs)
            label = f"recursion_dual({x!r}" + (f", n={n})" if kwargs else ")")
            z_n = recursion_reference(x, 1.0, n)[0]
            unseeded = ("the dual part is not dz_n/dx (it is 0, or dz_n/dz_0, the derivative "
                        "with respect to the start value): seed x as DualNumber(x, 1.0), and "
                        "z_0 with dual part 0.")
            mistakes = [(unseeded, [z_n, 0.0]),
                        (unseeded, recursion_reference(x, 0.0, n, z0_dot=1.0))]
            expect_recursion(label, got, recursion_reference(x, 1.0, n), mistakes)
            cases += 1
    return (f"recursion_dual matches [z_n, dz_n/dx] in {cases} hidden cases (x up to 1.5, "
            "n = 1 to 20).")


# --------------------------------------------------------------------------- Part E

NEWTON_CASES = [("probe_kepler", 0.0), ("probe_kepler", 3.0), ("probe_exp_root", -1.0),
                ("probe_exp_root", 2.0), ("probe_log_root", 0.5), ("probe_log_root", 3.0)]


def newton_reference(name: str, x0: float, tol: float = 1e-12, max_steps: int = 50,
                     residual_stop: bool = False) -> list:
    """Newton's iterates; ``residual_stop`` is the slip "stop when |f(x)| <= tol"."""
    f, df = PROBES[name]
    x, iterates = x0, [x0]
    for _ in range(max_steps):
        if residual_stop and abs(f(x)) <= tol:
            break
        step = f(x) / df(x)
        x = x - step
        iterates.append(float(x))
        if abs(step) <= tol and not residual_stop:
            break
    return iterates


def count_is_decided(name: str, x0: float, tol: float) -> bool:
    """Whether rounding cannot change where Newton stops: no step within a factor 10 of tol."""
    steps = np.abs(np.diff(newton_reference(name, x0, tol)))
    return not np.any((steps > tol / 10) & (steps < tol * 10))


def stop_message(label: str, got: int, name: str, x0: float, tol: float, default: bool) -> str:
    """Why ``got`` iterates is wrong, with the stopping slips that would give it."""
    wanted = len(newton_reference(name, x0, tol))
    said = (f"{label} returned {got} iterates; with tol={tol!r}{' (the default)' if default else ''} "
            f"it should stop after the first step with |x_(k+1) - x_k| <= tol: {wanted} iterates.")
    if default:  # called only when the same rule stopped right with an explicit tol
        for other in (1e-6, 1e-8, 1e-10, 1e-14, 1e-15):
            if got == len(newton_reference(name, x0, other)) and got != wanted:
                return said + (f"\n  Likely cause: that is where tol = {other:g} stops, and with "
                               "an explicit tol your newton stops where it should: the default "
                               "must be tol=1e-12, as in the signature given.")
    if got == len(newton_reference(name, x0, tol, residual_stop=True)) and got != wanted:
        return said + ("\n  Likely cause: your loop stops when |f(x)| <= tol; the rule is on the "
                       "step: stop after the first step whose size |x_(k+1) - x_k| is <= tol.")
    return said



def newton_iterates(student, name: str, x0: float, **kwargs):
    label = (f"newton({name}, {x0!r}" + "".join(f", {k}={v!r}" for k, v in kwargs.items())
             + f") with {name}(u) = {PROBE_FORMULAS[name]}")
    before = log_length(student)
    got = student.call("newton", student.helper(name), x0, **kwargs)
    check_shape(label, got, (None,))
    iterates = np.asarray(got, dtype=float)
    if iterates.size < 2:
        raise CheckFailed(f"{label} returned {iterates.size} iterate(s); it should return "
                          "[x0, x1, ..., xk], starting with x0 and with at least one step.")
    if iterates[0] != x0:
        raise CheckFailed(f"{label}: the list should start with x0 = {x0!r}, not "
                          f"{float(iterates[0])!r}.")
    return label, iterates, probe_calls(student, before, name)


def newton(student):
    student.call_helper("reset_probe_log")  # count from an empty log
    default_stop = None  # a wrong count with the default tol, reported after the explicit tols
    for name, x0 in NEWTON_CASES:
        f, df = PROBES[name]
        label, iterates, calls = newton_iterates(student, name, x0)
        steps = iterates.size - 1
        if steps > 50:
            raise CheckFailed(f"{label} took {steps} steps; max_steps=50 allows at most 50.")
        with_tangent = sum(1 for entry in calls if entry[1:] and entry[1] > 0)
        if with_tangent < steps:
            raise CheckFailed(
                f"{label} took {steps} steps but evaluated {name} on a DualNumber with a non-zero "
                f"dual part only {with_tangent} time(s) (of {len(calls)} evaluations). The slope "
                "must come from your dual numbers, f(DualNumber(x, 1.0)) or derivative(f, x), "
                "not from a finite difference.")
        if len(calls) > 2 * steps + 2:
            raise CheckFailed(f"{label} evaluated {name} {len(calls)} times for {steps} steps: "
                              "one evaluation on a DualNumber per step is enough.")
        for k in range(steps):
            x = float(iterates[k])
            expected = x - f(x) / df(x)
            slack = 1e-13 * (1 + abs(x)) + 16 * EPS * (abs(x) + 3.0) / abs(df(x))
            if not abs(iterates[k + 1] - expected) <= slack:
                raise CheckFailed(
                    f"{label}: step {k + 1} went from x = {x!r} to "
                    f"{float(iterates[k + 1])!r}, but the Newton step x - f(x)/f'(x) gives "
                    f"{float(expected)!r} (difference {abs(iterates[k + 1] - expected):.2e}, "
                    f"allowed {slack:.1e}). Use the exact f'(x) from the dual part.")
        if count_is_decided(name, x0, 1e-12) and iterates.size != len(newton_reference(name, x0)):
            default_stop = default_stop or (label, iterates.size, name, x0)
            continue
        root = newton_reference(name, x0)[-1]
        if not abs(iterates[-1] - root) <= 1e-12 * (1 + abs(root)):
            raise CheckFailed(f"{label} ended at {float(iterates[-1])!r} after {steps} steps; "
                              f"the root is {float(root)!r}. Stop after the first step with "
                              "|step| <= tol.")
    for max_steps in (1, 2):
        label, iterates, _ = newton_iterates(student, "probe_kepler", 0.0, max_steps=max_steps)
        if iterates.size != max_steps + 1:
            raise CheckFailed(f"{label} returned {iterates.size} iterates; with max_steps="
                              f"{max_steps} (far from the root) it should take exactly "
                              f"{max_steps} step(s) and return {max_steps + 1} iterates.")
    # Explicit tols where stopping on the step and stopping on |f(x)| give different counts.
    for name, x0, tol in (("probe_kepler", 0.0, 1e-4), ("probe_log_root", 3.0, 1e-6)):
        label, iterates, _ = newton_iterates(student, name, x0, tol=tol)
        wanted = len(newton_reference(name, x0, tol=tol))
        decided = count_is_decided(name, x0, tol)
        if (iterates.size != wanted) if decided else abs(iterates.size - wanted) > 1:
            raise CheckFailed(stop_message(label, iterates.size, name, x0, tol, False))
    if default_stop:
        label, size, name, x0 = default_stop
        raise CheckFailed(stop_message(label, size, name, x0, 1e-12, True))
    # No root: only max_steps stops it (the default 50, then another value). From x0 = 60 each
    # step is x - 1 - exp(-x), about 1 to the left: far from overflow and from f' = 0.
    for kwargs in ({}, {"max_steps": 7}):
        label, iterates, _ = newton_iterates(student, "probe_no_root", 60.0, **kwargs)
        limit = kwargs.get("max_steps", 50)
        if iterates.size != limit + 1:
            cause = ("" if kwargs else "\n  Likely cause: the default of max_steps is not 50, as "
                     "in the signature given." if 2 <= iterates.size <= 50 else "")
            raise CheckFailed(
                f"{label} returned {iterates.size} iterates; {PROBE_FORMULAS['probe_no_root']} "
                f"never reaches |step| <= tol, so max_steps={limit}"
                f"{' (the default)' if not kwargs else ''} must stop it after exactly {limit} "
                f"steps: {limit + 1} iterates.{cause}")
        f, df = PROBES["probe_no_root"]
        expected = [60.0]
        for _ in range(limit):
            expected.append(expected[-1] - f(expected[-1]) / df(expected[-1]))
        if not np.allclose(iterates, expected, rtol=1e-12, atol=1e-12):
            raise CheckFailed(f"{label}: the iterates {show(iterates[:4])}... are not the Newton "
                              f"steps x - f(x)/f'(x), {show(np.array(expected[:4]))}...")
    return (f"newton takes exact Newton steps with f' from dual numbers and finds the root from "
            f"{len(NEWTON_CASES)} hidden starting points; it stops where tol and max_steps say, "
            "with their defaults and with other values.")


# --------------------------------------------------------------------------- earlier parts first
# A check whose function relies on earlier parts (the probes use Part A's operators and Part B's
# functions; jacobian uses jvp) first asks, when it fails, whether one of those parts is wrong at
# a plain point, and if so names that part's check: fix it first, this cell should then pass.

EARLIER_POINT = {"x": (0.7, 1.3), "y": (-1.1, 0.6)}
OPERATORS = [("x + y", "test_dual_add_mul"), ("x * y", "test_dual_add_mul"),
             ("2.5 * x", "test_dual_add_mul"), ("x + 2.5", "test_dual_add_mul"),
             ("2.5 + x", "test_dual_add_mul"), ("-x", "test_dual_add_mul"),
             ("(x + y, x)[1]", "test_dual_add_mul"), ("(x * y, x)[1]", "test_dual_add_mul"),
             ("(2.5 * x, x)[1]", "test_dual_add_mul"),
             ("x - y", "test_dual_sub_div"), ("x - 1.2", "test_dual_sub_div")]
FUNCTIONS = [(f"{name}(x)", "test_elementary")
             for name in ("d_sin", "d_cos", "d_exp", "d_log", "d_tanh")]
PROBE_PARTS = OPERATORS + FUNCTIONS  # what the provided probes use
RECURSION_PARTS = [("x * y", "test_dual_add_mul"), ("x + y", "test_dual_add_mul"),
                   ("d_sin(x)", "test_elementary")]
DOMKE_PARTS = OPERATORS + [("x ** 2", "test_dual_power"), ("d_exp(x)", "test_elementary"),
                           ("d_sin(x)", "test_elementary")]


def earlier_part_broken(student, parts) -> str | None:
    """The first earlier check whose operation (tried at a plain point) is wrong, or None."""
    for expression, earlier in parts:
        variables = {k: v for k, v in EARLIER_POINT.items() if k in expression}
        try:
            got = student.call_helper("evaluate_dual", expression, **variables)
            ok = np.asarray(got).shape == (2,) and close(got, reference(expression, variables))
        except (AssertionError, TypeError, ValueError):
            ok = False
        if not ok:
            return f"{expression} (checked by {earlier})"
    return None


def jvp_broken(student) -> bool:
    """Whether the student's jvp is wrong on probe_map_3to2 at a plain point."""
    x, v = np.array([0.3, -0.4, 0.8]), np.array([0.5, 1.5, -1.0])
    values, jac = map_3to2(x)
    try:
        got = student.call("jvp", student.helper("probe_map_3to2"), x, v)
        return not (isinstance(got, list) and len(got) == 2 and close(got[0], values)
                    and close(got[1], jac @ v))
    except (AssertionError, TypeError, ValueError):
        return True


def blaming(student, body, parts, uses_jvp: bool = False):
    """Run ``body``; if it fails and an earlier part is broken, say which to fix first."""
    provide(student)
    try:
        return body(student)
    except AssertionError as failure:  # CheckFailed, or a comparison of mlpkit.grading
        broken = earlier_part_broken(student, parts)
        if broken:  # that is the cause: drop this check's own guess ("Hint: ...")
            measured = "\n".join(line for line in str(failure).splitlines()
                                  if not line.strip().startswith("Hint:")).split(" Hint: ")[0]
            raise CheckFailed(f"{measured}\n  Fix the earlier part first: {broken} is wrong, and "
                              "this function relies on it (the probes are written with your "
                              "operators and functions). This cell should then pass.") from None
        if uses_jvp and jvp_broken(student):
            raise CheckFailed(f"{failure}\n  Fix jvp first (see the message of test_jvp): "
                              "jacobian is built from it. This cell should then pass.") from None
        raise


@check("test_derivative")
def derivative_check(student):
    return blaming(student, derivative, PROBE_PARTS)


@check("test_jvp")
def jvp_check(student):
    return blaming(student, jvp, PROBE_PARTS)


@check("test_jacobian")
def jacobian_check(student):
    return blaming(student, jacobian, PROBE_PARTS, uses_jvp=True)


@check("test_domke")
def domke_check(student):
    return blaming(student, domke, DOMKE_PARTS)


@check("test_recursion_dual")
def recursion_dual_check(student):
    return blaming(student, recursion_dual, RECURSION_PARTS)


@check("test_newton")
def newton_check(student):
    return blaming(student, newton, PROBE_PARTS)
