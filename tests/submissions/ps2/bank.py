"""PS2 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps2/ps2.ipynb), except the answer cells it replaces: so the bank follows
the problem set when it changes, and each entry states only its difference. ``lost`` names the
autograded test cells that must score 0; every other autograded cell must get full marks;
``messages`` gives, for a lost cell, the key phrase its message must contain (the cause the
check has to name, in PS2's words).
``{course_root}`` in a source is replaced by the grading course's folder (an attacker who knows
the paths). Built by tests/submissions/build.py; graded by tests/test_grading_pipeline.py.

Most plausible mistakes are the model answer with one line changed: ``variant(cell, (old, new))``
reads the model answer from the source notebook and replaces ``old`` (which must occur exactly
once) by ``new``, so an entry shows its mistake and breaks loudly if the model answer changes.
"""

from __future__ import annotations

import dataclasses


import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps2")
add = BANK.add
MODEL = BANK.model


def model(grade_id: str) -> str:
    """The model answer of an answer cell, without the solution markers."""
    return MODEL[grade_id]


def variant(grade_id: str, *replacements: tuple[str, str]) -> dict:
    """{grade_id: the model answer with each (old, new) replaced; old must occur once}."""
    source = model(grade_id)
    for old, new in replacements:
        if source.count(old) != 1:
            raise ValueError(f"{grade_id}: {old!r} occurs {source.count(old)} times in the model")
        source = source.replace(old, new)
    return {grade_id: source}


# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution")

add("alt_lift_and_reuse", description="correct, another style: no float() in __init__, "
    "NotImplemented for other types, - via negation, / via a reciprocal, u**w = exp(w log u) with "
    "private _exp/_log methods, elementary functions through one chain helper with NumPy, "
    "derivative with getattr and NumPy floats, "
    "jvp on an object array, Jacobian filled column by column, Newton with derivative() plus a "
    "plain evaluation, simultaneous tangent updates, z_0 = 0.0 as a plain float",
    answers={
        "answer_dual_number": '''
import numbers


def as_dual(u):
    if isinstance(u, DualNumber):
        return u
    if isinstance(u, numbers.Real):
        return DualNumber(u)
    raise TypeError(f"a DualNumber cannot be combined with {type(u).__name__}")


class DualNumber:
    """real + dual * eps"""

    def __init__(self, real, dual=0.0):
        self.real, self.dual = real, dual

    def __repr__(self):
        return f"DualNumber({self.real}, {self.dual})"

    def __add__(self, other):
        if not isinstance(other, (DualNumber, numbers.Real)):
            return NotImplemented
        other = as_dual(other)
        return DualNumber(self.real + other.real, self.dual + other.dual)

    __radd__ = __add__

    def __neg__(self):
        return -1.0 * self

    def __sub__(self, other):
        return self + (-as_dual(other))

    def __rsub__(self, other):
        return -self + other

    def __mul__(self, other):
        if not isinstance(other, (DualNumber, numbers.Real)):
            return NotImplemented
        other = as_dual(other)
        return DualNumber(self.real * other.real,
                          self.real * other.dual + other.real * self.dual)

    __rmul__ = __mul__

    def reciprocal(self):
        return DualNumber(1.0 / self.real, -self.dual / self.real**2)

    def __truediv__(self, other):
        return self * as_dual(other).reciprocal()

    def __rtruediv__(self, other):
        return as_dual(other) * self.reciprocal()

    def _log(self):
        return DualNumber(math.log(self.real), self.dual / self.real)

    def _exp(self):
        value = math.exp(self.real)
        return DualNumber(value, value * self.dual)

    def __pow__(self, exponent):
        if isinstance(exponent, DualNumber):
            return (exponent * self._log())._exp()  # u**w = exp(w log u)
        return DualNumber(self.real**exponent,
                          exponent * self.real ** (exponent - 1) * self.dual)

    def __rpow__(self, base):
        return (self * math.log(base))._exp()
''',
        "answer_elementary": '''
def _chain(u, value, slope):
    u = as_dual(u)
    return DualNumber(value(u.real), slope(u.real) * u.dual)


def d_sin(u):
    return _chain(u, np.sin, np.cos)


def d_cos(u):
    return _chain(u, np.cos, lambda a: -np.sin(a))


def d_exp(u):
    return _chain(u, np.exp, np.exp)


def d_log(u):
    return _chain(u, np.log, lambda a: 1.0 / a)


def d_sqrt(u):
    return _chain(u, np.sqrt, lambda a: 0.5 / np.sqrt(a))


def d_tanh(u):
    return _chain(u, np.tanh, lambda a: 1.0 / np.cosh(a) ** 2)
''',
        "answer_derivative": '''
def derivative(f, x):
    slope = getattr(f(DualNumber(np.float64(x), 1.0)), "dual", 0.0)  # a constant has slope 0
    return slope
''',
        "answer_jvp": '''
def jvp(f, x, v):
    inputs = np.empty(len(x), dtype=object)
    for i, (a, b) in enumerate(zip(x, v)):
        inputs[i] = DualNumber(a, b)
    outputs = [as_dual(y) for y in f(inputs)]
    return (np.array([y.real for y in outputs], dtype=float),
            np.array([y.dual for y in outputs], dtype=float))
''',
        "answer_jacobian": '''
def jacobian(f, x):
    x = np.asarray(x, dtype=float)
    n = x.size
    J = None
    for j in range(n):
        e_j = np.zeros(n)
        e_j[j] = 1.0
        column = jvp(f, x, e_j)[1]
        if J is None:
            J = np.empty((column.size, n))
        J[:, j] = column
    return J
''',
        "answer_domke": '''
def domke(u):
    e = d_exp(u)
    inner = e + e * e
    return d_exp(inner) + d_sin(inner)
''',
        "answer_recursion_tangent": '''
def recursion_tangent(x, x_dot=1.0, n=20):
    z = z_dot = 0.0
    for _ in range(n):
        z, z_dot = np.sin(z * x) + x, np.cos(z * x) * (x * z_dot + z * x_dot) + x_dot
    return [z, z_dot]
''',
        "answer_recursion_dual": '''
def recursion_dual(x, n=20):
    x = DualNumber(x, 1.0)
    z = 0.0
    for _ in range(n):
        z = d_sin(z * x) + x
    z = as_dual(z)
    return [z.real, z.dual]
''',
        "answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    iterates = [x0]
    while len(iterates) <= max_steps:
        x = iterates[-1]
        value = as_dual(f(x)).real  # a plain evaluation for the value
        step = value / derivative(f, x)  # and one on a DualNumber for the slope
        iterates.append(x - step)
        if abs(step) <= tol:
            break
    return iterates
''',
    })

add("alt_methods", description="correct, another style: __slots__, elementary functions as "
    "methods (u.sin()) wrapped by d_sin, explicit reflected formulas, NotImplemented for other "
    "types, math functions, np.column_stack, a while-loop Newton, the hand recursion formula in "
    "the right order, tuples and arrays as results",
    answers={
        "answer_dual_number": '''
class DualNumber:
    __slots__ = ("real", "dual")

    def __init__(self, real, dual=0.0):
        self.real = real
        self.dual = dual

    def __repr__(self):
        return f"DualNumber({self.real!r}, {self.dual!r})"

    @staticmethod
    def _parts(other):
        if isinstance(other, DualNumber):
            return other.real, other.dual
        if isinstance(other, (int, float)):
            return other, 0.0
        return None

    def __add__(self, other):
        parts = self._parts(other)
        if parts is None:
            return NotImplemented
        return DualNumber(self.real + parts[0], self.dual + parts[1])

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        return DualNumber(-self.real, -self.dual)

    def __sub__(self, other):
        c, d = self._parts(other)
        return DualNumber(self.real - c, self.dual - d)

    def __rsub__(self, other):
        return DualNumber(other - self.real, -self.dual)

    def __mul__(self, other):
        c, d = self._parts(other)
        return DualNumber(self.real * c, self.dual * c + self.real * d)

    def __rmul__(self, other):
        return DualNumber(other * self.real, other * self.dual)

    def __truediv__(self, other):
        c, d = self._parts(other)
        return DualNumber(self.real / c, (self.dual * c - self.real * d) / (c * c))

    def __rtruediv__(self, other):
        return DualNumber(other / self.real, -other * self.dual / self.real**2)

    def __pow__(self, k):
        if isinstance(k, DualNumber):
            return (k * self.log()).exp()
        return DualNumber(self.real**k, k * self.real ** (k - 1) * self.dual)

    def __rpow__(self, c):
        return DualNumber(c**self.real, c**self.real * math.log(c) * self.dual)

    def sin(self):
        return DualNumber(math.sin(self.real), math.cos(self.real) * self.dual)

    def cos(self):
        return DualNumber(math.cos(self.real), -math.sin(self.real) * self.dual)

    def exp(self):
        e = math.exp(self.real)
        return DualNumber(e, e * self.dual)

    def log(self):
        return DualNumber(math.log(self.real), self.dual / self.real)

    def sqrt(self):
        r = math.sqrt(self.real)
        return DualNumber(r, 0.5 * self.dual / r)

    def tanh(self):
        t = math.tanh(self.real)
        return DualNumber(t, self.dual * (1 - t) * (1 + t))


def as_dual(u):
    return u if isinstance(u, DualNumber) else DualNumber(u)
''',
        "answer_elementary": '''
def d_sin(u):
    return as_dual(u).sin()


def d_cos(u):
    return as_dual(u).cos()


def d_exp(u):
    return as_dual(u).exp()


def d_log(u):
    return as_dual(u).log()


def d_sqrt(u):
    return as_dual(u).sqrt()


def d_tanh(u):
    return as_dual(u).tanh()
''',
        "answer_derivative": '''
def derivative(f, x):
    y = f(DualNumber(x, 1.0))
    return y.dual if isinstance(y, DualNumber) else 0.0
''',
        "answer_jvp": '''
def jvp(f, x, v):
    seeds = [DualNumber(float(a), float(b)) for a, b in zip(x, v)]
    out = [as_dual(y) for y in f(seeds)]
    return np.array([y.real for y in out]), np.array([y.dual for y in out])
''',
        "answer_jacobian": '''
def jacobian(f, x):
    return np.column_stack([jvp(f, x, e)[1] for e in np.eye(len(x))])
''',
        "answer_domke": '''
def domke(u):
    a = d_exp(u)
    c = a + a**2
    return c.exp() + c.sin()
''',
        "answer_recursion_tangent": '''
def recursion_tangent(x, x_dot=1.0, n=20):
    z, z_dot = 0.0, 0.0
    for _ in range(n):
        z_dot = math.cos(z * x) * (z_dot * x + z * x_dot) + x_dot  # uses the old z
        z = math.sin(z * x) + x
    return z, z_dot
''',
        "answer_recursion_dual": '''
def recursion_dual(x, n=20):
    seed = DualNumber(x, 1.0)
    z = DualNumber(0.0)
    for _ in range(n):
        z = (z * seed).sin() + seed
    return np.array([z.real, z.dual])
''',
        "answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    xs = [x0]
    step = math.inf
    while abs(step) > tol and len(xs) - 1 < max_steps:
        y = f(DualNumber(xs[-1], 1.0))
        step = y.real / y.dual
        xs.append(xs[-1] - step)
    return xs
''',
    })

add("deleted_test_cell", description="the solution with a visible test cell deleted: nbgrader "
    "puts it back (OverwriteCells.add_missing_cells) and the grader grades it",
    delete=("test_jacobian",))

# --------------------------------------------------------------------------- plausible mistakes

add("mistake_product_rule", description="product rule missing a term: u*w has dual part a*d "
    "only (b*c dropped); x * 3.0 and z * x (recursion) go wrong, 3.0 * x happens to be right",
    answers=variant("answer_dual_number", (
        "self.real * other.dual + self.dual * other.real)", "self.real * other.dual)")),
    lost=("test_dual_add_mul", "test_recursion_dual"))

add("mistake_add_in_place", description="__add__ changes self in place and returns it: x + y "
    "alters x; the map probe_map_3to2 then reads a changed input",
    answers=variant("answer_dual_number", (
        "        other = as_dual(other)\n"
        "        return DualNumber(self.real + other.real, self.dual + other.dual)",
        "        other = as_dual(other)\n"
        "        self.real += other.real\n"
        "        self.dual += other.dual\n"
        "        return self")),
    lost=("test_dual_add_mul", "test_jvp", "test_jacobian"))

add("mistake_quotient_sign", description="quotient rule with a sign error: (b c + a d) / c**2",
    answers=variant("answer_dual_number", (
        "(self.dual - quotient * other.dual)", "(self.dual + quotient * other.dual)")),
    lost=("test_dual_sub_div",))

add("mistake_reflected_subtraction", description="__rsub__ computes self - other: 2 - x gives "
    "x - 2",
    answers=variant("answer_dual_number", (
        "        return as_dual(other) - self", "        return self - as_dual(other)")),
    lost=("test_dual_sub_div",))

add("mistake_power_without_log", description="u ** w with a dual exponent uses the constant-"
    "exponent rule c a**(c-1) b: the log term d log(a) is missing",
    answers=variant("answer_dual_number", (
        "value * (exponent.dual * math.log(self.real)\n"
        "                                              + exponent.real * self.dual / self.real)",
        "exponent.real * self.real ** (exponent.real - 1) * self.dual")),
    lost=("test_dual_power",))

add("mistake_sqrt_half", description="d_sqrt forgets the 1/2: dual part b / sqrt(a)",
    answers=variant("answer_elementary", ("u.dual / (2.0 * root)", "u.dual / root")),
    lost=("test_elementary",))

add("mistake_derivative_real_part", description="derivative returns the real part f(x)",
    answers=variant("answer_derivative", (".dual)", ".real)")),
    lost=("test_derivative",))

add("mistake_jvp_ignores_v", description="jvp seeds every input with 1 instead of v[i] (and so "
    "jacobian, built on jvp, repeats one column)",
    answers=variant("answer_jvp", ("DualNumber(x_i, v_i)", "DualNumber(x_i, 1.0)")),
    lost=("test_jvp", "test_jacobian"))

add("mistake_jacobian_rows", description="Jacobian built by rows: the JVPs stacked as rows, the "
    "transpose (shape (n, m))",
    answers=variant("answer_jacobian", ("np.stack(columns, axis=1)", "np.stack(columns, axis=0)")),
    lost=("test_jacobian",))

add("mistake_jacobian_per_entry", description="Jacobian right, but one jvp per ENTRY: m*n sweeps "
    "instead of n",
    answers={"answer_jacobian": '''
def jacobian(f, x):
    x = np.asarray(x, dtype=float)
    m = len(jvp(f, x, np.zeros(x.size))[0])
    J = np.zeros((m, x.size))
    for i in range(m):
        for j in range(x.size):
            J[i, j] = jvp(f, x, np.eye(x.size)[j])[1][i]
    return J
'''}, lost=("test_jacobian",))

add("mistake_domke_numpy", description="domke written with np.exp and np.sin, which do not know "
    "the class",
    answers={"answer_domke": '''
def domke(u):
    a = np.exp(u)
    c = a + a**2
    return np.exp(c) + np.sin(c)
'''}, lost=("test_domke",))

add("mistake_update_order", description="recursion_tangent updates z before the tangent line "
    "reads it (uses the NEW z)",
    answers={"answer_recursion_tangent": '''
def recursion_tangent(x, x_dot=1.0, n=20):
    z, z_dot = 0.0, 0.0
    for _ in range(n):
        z = math.sin(z * x) + x
        z_dot = math.cos(z * x) * (z_dot * x + z * x_dot) + x_dot
    return [z, z_dot]
'''}, lost=("test_recursion_tangent",))

add("mistake_recursion_seeds_z0", description="recursion_dual seeds z_0 = 0 + 1 eps and keeps x "
    "plain: it returns dz_n/dz_0",
    answers={"answer_recursion_dual": '''
def recursion_dual(x, n=20):
    z = DualNumber(0.0, 1.0)
    for _ in range(n):
        z = d_sin(z * x) + x
    return [z.real, z.dual]
'''}, lost=("test_recursion_dual",))

add("mistake_newton_finite_difference", description="Newton with a central-difference slope "
    "(h = 1e-6) on the real parts: converges, but not with the exact derivative",
    answers={"answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    def value(t):
        return as_dual(f(DualNumber(t, 0.0))).real

    x, iterates = float(x0), [float(x0)]
    for _ in range(max_steps):
        h = 1e-6
        slope = (value(x + h) - value(x - h)) / (2 * h)
        step = value(x) / slope
        x = x - step
        iterates.append(x)
        if abs(step) <= tol:
            break
    return iterates
'''}, lost=("test_newton",))

add("mistake_newton_fd_disguised", description="finite-difference Newton that also evaluates f "
    "on DualNumber(x, 1.0) (to look like AD) but ignores its dual part: the step check catches it",
    answers={"answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    x, iterates = float(x0), [float(x0)]
    for _ in range(max_steps):
        fx = as_dual(f(DualNumber(x, 1.0))).real
        h = 1e-7
        slope = (as_dual(f(DualNumber(x + h, 0.0))).real - fx) / h
        step = fx / slope
        x = x - step
        iterates.append(x)
        if abs(step) <= tol:
            break
    return iterates
'''}, lost=("test_newton",))

add("mistake_uses_numdiff", description="derivative delegates to mlpkit.numdiff on the real "
    "parts (close, but the task is forward mode: the import is refused while grading)",
    answers={"answer_derivative": '''
def derivative(f, x):
    from mlpkit.numdiff import derivative as numerical_derivative

    return numerical_derivative(lambda t: as_dual(f(DualNumber(float(t)))).real, x,
                                method="central-difference", h=1e-6)
'''}, lost=("test_derivative",))

# --------------------------------------------------------------------------- issue 12 mistakes
# Mistakes that once got full marks (a default no check relied on, an argument changed in place)
# and mistakes whose message used to be generic; then the phrase each entry's messages must hold.

add("mistake_newton_max_steps_default", description="newton's default max_steps is 20, not 50: "
    "once full marks, every hidden start converged in fewer steps",
    answers=variant("answer_newton", ("max_steps=50", "max_steps=20")), lost=("test_newton",))

add("mistake_newton_default_tol", description="newton's default tol is 1e-8, not 1e-12: once "
    "full marks, the root is already within 1e-12 one step earlier",
    answers=variant("answer_newton", ("tol=1e-12", "tol=1e-8")), lost=("test_newton",))

add("mistake_newton_residual_stop", description="newton stops when |f(x)| <= tol instead of "
    "after a step of size <= tol",
    answers={"answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    x = float(x0)
    iterates = [x]
    for _ in range(max_steps):
        y = f(DualNumber(x, 1.0))
        if abs(y.real) <= tol:
            break
        x = x - y.real / y.dual
        iterates.append(x)
    return iterates
'''}, lost=("test_newton",))

add("mistake_jacobian_reuses_x", description="jacobian uses the caller's x as its seed buffer "
    "(seed = x, then writes the unit vector into it): x is overwritten",
    answers={"answer_jacobian": '''
def jacobian(f, x):
    n = len(x)
    point = np.array(x, dtype=float)
    columns = []
    for j in range(n):
        seed = x          # "an array of the right shape"
        seed[:] = 0.0
        seed[j] = 1.0
        columns.append(jvp(f, point, seed)[1])
    return np.column_stack(columns)
'''}, lost=("test_jacobian",))

add("mistake_sin_without_chain", description="d_sin returns cos(a) as the dual part, without "
    "the input's tangent b; every later part that feeds d_sin a tangent other than 1 fails",
    answers=variant("answer_elementary", ("math.cos(u.real) * u.dual)", "math.cos(u.real))")),
    lost=("test_elementary", "test_derivative", "test_jvp", "test_jacobian", "test_domke",
          "test_recursion_dual"))

add("mistake_cos_sign", description="d_cos with dual part +sin(a) b",
    answers=variant("answer_elementary", ("-math.sin(u.real) * u.dual", "math.sin(u.real) * u.dual")),
    lost=("test_elementary", "test_derivative", "test_jvp", "test_jacobian"))

add("mistake_no_rsub", description="DualNumber has no __rsub__: 2.5 - x raises TypeError",
    answers=variant("answer_dual_number", (
        "    def __rsub__(self, other):  # other - self, other a plain number\n"
        "        return as_dual(other) - self\n", "")),
    lost=("test_dual_sub_div",))

MESSAGES = {
    "mistake_product_rule": {"test_dual_add_mul": "the product rule needs both terms",
                             "test_recursion_dual": "Fix the earlier part first: x * y"},
    "mistake_add_in_place": {"test_dual_add_mul": "changed x in place",
                             "test_jvp": "Fix the earlier part first: (x + y, x)[1]",
                             "test_jacobian": "Fix the earlier part first: (x + y, x)[1]"},
    "mistake_quotient_sign": {"test_dual_sub_div": "sign error in the quotient rule"},
    "mistake_reflected_subtraction": {"test_dual_sub_div": "Python calls x.__rsub__(c)"},
    "mistake_power_without_log": {"test_dual_power": "log"},
    "mistake_sqrt_half": {"test_elementary": "the factor 1/2 is missing"},
    "mistake_derivative_real_part": {"test_derivative": "that is f(x), the real part"},
    "mistake_jvp_ignores_v": {"test_jvp": "seed input i with v[i]",
                              "test_jacobian": "Fix jvp first"},
    "mistake_jacobian_rows": {"test_jacobian": "transpose of the Jacobian"},
    "mistake_jacobian_per_entry": {"test_jacobian": "one jvp per column"},
    "mistake_domke_numpy": {"test_domke": "NumPy does not know your class"},
    "mistake_update_order": {"test_recursion_tangent": "reads the NEW z"},
    "mistake_recursion_seeds_z0": {"test_recursion_dual": "seed x as DualNumber(x, 1.0)"},
    "mistake_newton_finite_difference": {"test_newton": "not from a finite difference"},
    "mistake_newton_fd_disguised": {"test_newton": "Use the exact f'(x) from the dual part"},
    "mistake_uses_numdiff": {"test_derivative": "mlpkit.numdiff is not available"},
    "mistake_newton_max_steps_default": {"test_newton": "the default of max_steps is not 50"},
    "mistake_newton_default_tol": {"test_newton": "the default must be tol=1e-12"},
    "mistake_newton_residual_stop": {"test_newton": "your loop stops when |f(x)| <= tol"},
    "mistake_jacobian_reuses_x": {"test_jacobian": "changed its argument x (argument 2) in place"},
    "mistake_sin_without_chain": {
        "test_elementary": "the tangent b of the input is not multiplied in",
        "test_derivative": "Fix the earlier part first: d_sin(x)",
        "test_jvp": "Fix the earlier part first: d_sin(x)",
        "test_jacobian": "Fix the earlier part first: d_sin(x)",
        "test_domke": "Fix the earlier part first: d_sin(x)",
        "test_recursion_dual": "Fix the earlier part first: d_sin(x)"},
    "mistake_cos_sign": {"test_elementary": "the minus sign is missing",
                         "test_derivative": "Fix the earlier part first: d_cos(x)",
                         "test_jvp": "Fix the earlier part first: d_cos(x)",
                         "test_jacobian": "Fix the earlier part first: d_cos(x)"},
    "mistake_no_rsub": {"test_dual_sub_div": "define __rsub__"},
}
for _name, _phrases in MESSAGES.items():
    BANK[_name] = dataclasses.replace(BANK[_name], messages=_phrases)

# --------------------------------------------------------------------------- redefined helpers
# A later cell can redefine what a locked cell provides. The checks use their own copies of
# evaluate_dual and the probes (IN_SANDBOX in checks.py), so these tricks change nothing.

add("fake_evaluate_dual", description="product rule missing a term (as mistake_product_rule); "
    "a later cell redefines the provided evaluate_dual to evaluate with a subclass whose "
    "product is right, so the visible and (once) the hidden Part A checks see a correct product",
    answers={"answer_dual_number": variant("answer_dual_number", (
        "self.real * other.dual + self.dual * other.real)", "self.real * other.dual)"))[
        "answer_dual_number"] + '''


class _BookDual(DualNumber):
    """DualNumber with the textbook product, to test the rest of my code on its own."""

    def __mul__(self, other):
        other = as_dual(other)
        return _BookDual(self.real * other.real, self.real * other.dual + self.dual * other.real)

    __rmul__ = __mul__


def evaluate_dual(expression, **variables):
    values = {name: _BookDual(float(real), float(dual)) for name, (real, dual) in variables.items()}
    return dual_parts(eval(expression, globals(), values))
'''},
    lost=("test_dual_add_mul", "test_recursion_dual"),
    messages={"test_dual_add_mul": "the product rule needs both terms",
              "test_recursion_dual": "Fix the earlier part first: x * y"})

add("fake_probe_record", description="derivative evaluates f twice (f(x) on the plain x first, "
    "through the unwrapped f so that the visible CallCounter sees one call) and redefines the "
    "provided _record_probe_call so that the probe log skips evaluations on plain numbers",
    answers={"answer_derivative": '''
def derivative(f, x):
    """f'(x); f(x) is computed first on the plain x, to make sure x is in f's domain."""
    plain_f = getattr(f, "__wrapped__", f)  # the domain check is not part of the sweep
    if not math.isfinite(as_dual(plain_f(float(x))).real):
        raise ValueError(f"f is not defined at x = {x}")
    return float(as_dual(f(DualNumber(x, 1.0))).dual)


def _record_probe_call(name, inputs):
    # only evaluations on dual numbers with a tangent are sweeps; the domain check is not
    if any(isinstance(u, DualNumber) and u.dual != 0.0 for u in inputs):
        PROBE_LOG.append([name, 1.0])
'''},
    lost=("test_derivative",),
    messages={"test_derivative": "gives f(x) and f'(x) together"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="jvp never returns",
    answers={"answer_jvp": attacks.never_returns("jvp(f, x, v)")}, lost=("test_jvp", "test_jacobian"))

add("ignores_interrupts", description="a top-level loop in the jacobian answer cell that ignores "
    "SIGINT and catches every exception",
    answers={"answer_jacobian": attacks.ignores_interrupts('''
def jacobian(f, x):
    return np.stack([jvp(f, x, e)[1] for e in np.eye(len(x))], axis=1)
''')}, lost=("test_jacobian",))

add("crash", description="derivative crashes the interpreter (segfault)",
    answers={"answer_derivative": attacks.segfault("derivative(f, x)")}, lost=("test_derivative",))

add("os_exit_in_function", description="recursion_dual calls os._exit",
    answers={"answer_recursion_dual": attacks.exits("recursion_dual(x, n=20)")},
    lost=("test_recursion_dual",))

add("os_exit_in_cell", description="the answer cell of domke ends with os._exit(0)",
    answers={"answer_domke": attacks.exit_after(model("answer_domke"))}, lost=("test_domke",))

add("kills_own_process", description="d_exp sends SIGKILL to its own process (a killed kernel): "
    "every check that evaluates an exp fails, the others pass",
    answers=variant("answer_elementary", (
        '    """exp(u) for a DualNumber (or plain number) u."""\n',
        '    """exp(u) for a DualNumber (or plain number) u."""\n' + attacks.KILL_SELF)),
    lost=("test_elementary", "test_derivative", "test_jvp", "test_jacobian", "test_domke",
          "test_newton"))

add("leaves_daemon", description="correct answers, but a cell starts a detached process "
    "(setsid, double fork, exec) that would outlive grading; the grader must kill it",
    answers={"answer_recursion_tangent": '''
import os

if os.fork() == 0:  # a daemon: new session, double fork, another program
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "987654.321"])
    os._exit(0)
''' + model("answer_recursion_tangent")})

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong reflected subtraction plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_dual_number": attacks.patch_comparisons() + '''
''' + variant("answer_dual_number", (
        "        return as_dual(other) - self", "        return self - as_dual(other)"))[
        "answer_dual_number"]}, lost=("test_dual_sub_div",))

add("tamper_probe_log", description="a finite-difference Newton that also rewrites PROBE_LOG "
    "(the evaluation record) to look as if f had been evaluated on dual numbers",
    answers={"answer_newton": '''
def newton(f, x0, tol=1e-12, max_steps=50):
    x, iterates = float(x0), [float(x0)]
    for _ in range(max_steps):
        fx = as_dual(f(DualNumber(x, 0.0))).real
        h = 1e-7
        slope = (as_dual(f(DualNumber(x + h, 0.0))).real - fx) / h
        for entry in PROBE_LOG:
            entry[1] = 1.0  # forge: "evaluated on a dual number"
        step = fx / slope
        x = x - step
        iterates.append(x)
        if abs(step) <= tol:
            break
    return iterates
'''}, lost=("test_newton",))

add("tamper_kernel", description="wrong domke plus a patch of the kernel's do_execute and "
    "showtraceback so that every cell reports success",
    answers={"answer_domke": attacks.patch_kernel() + '''\
def domke(u):
    return DualNumber(0.0, 0.0)
'''}, lost=("test_domke",))

add("tamper_files", description="wrong recursion_tangent plus attacks on the grader: overwrite "
    "the hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_recursion_tangent": attacks.tamper_files("ps2") + '''\


def recursion_tangent(x, x_dot=1.0, n=20):
    return [1.0, 1.0]
'''}, lost=("test_recursion_tangent",))
