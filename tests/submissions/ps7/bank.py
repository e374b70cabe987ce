"""PS7 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps7/ps7.ipynb), except the answer cells it replaces: so the bank follows
the problem set when it changes, and each entry states only its difference. Small mistakes are
written as a replacement of one piece of the model answer (``patched``), which fails loudly if the
model answer no longer contains it. ``lost`` names the autograded test cells that must score 0;
every other autograded cell must get full marks. ``messages`` maps a lost test cell to a phrase
its failure message must contain: the cause the check names (asserted by
tests/test_grading_pipeline.py through build.missing_phrases). ``{course_root}`` in a source is
replaced by the grading course's folder. Built by tests/submissions/build.py; graded by
tests/test_grading_pipeline.py.
"""

from __future__ import annotations

import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set

BANK = Bank("ps7")
add = BANK.add
MODEL, patched = BANK.model, BANK.patched


CG_FIRST = "Fix test_conjugate_gradients first"

# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution: a tag counter with max-tag dispatch, "
    "forward.jvp of reverse.gradient, CG and Newton-CG as in the notes, np.linalg.solve adjoints, "
    "a dict of checkpoints and one packed VJP per segment")

add("alt_generic_lift", description="correct, another style: a dual number whose operations go "
    "through one generic lift (a table of value/tangent rules), tags from a class attribute; hvp "
    "as forward.derivative of the gradient along the line x + t v; CG with a while loop and the "
    "residual convention r = b - Hp; Newton-CG with a while loop; the adjoint from one QR "
    "factorisation (A = QR, A^T lambda = R^T Q^T lambda); the fixed point's adjoint by "
    "iterating lambda = g + W^T (D lambda); checkpoints in a list, segments swept in reverse "
    "order",
    answers={
        "answer_tagged_dual": '''
import math


class TaggedDual:
    next_tag = 1

    def __init__(self, value, tangent, tag):
        self.value, self.tangent, self.tag = value, tangent, tag

    def _lift(self, other, rule, reflected=False):
        left, right = (other, self) if reflected else (self, other)
        tag = max(getattr(left, "tag", 0), getattr(right, "tag", 0))
        own = lambda a: (a.value, a.tangent) if getattr(a, "tag", None) == tag else (a, 0.0)
        (a, da), (b, db) = own(left), own(right)
        return TaggedDual(*rule(a, da, b, db), tag)

    def __add__(self, o): return self._lift(o, lambda a, da, b, db: (a + b, da + db))
    def __radd__(self, o): return self._lift(o, lambda a, da, b, db: (a + b, da + db), True)
    def __sub__(self, o): return self._lift(o, lambda a, da, b, db: (a - b, da - db))
    def __rsub__(self, o): return self._lift(o, lambda a, da, b, db: (a - b, da - db), True)
    def __mul__(self, o): return self._lift(o, lambda a, da, b, db: (a * b, a * db + da * b))
    def __rmul__(self, o): return self._lift(o, lambda a, da, b, db: (a * b, a * db + da * b), True)
    def __neg__(self): return (-1.0) * self


def sin(a):
    if not isinstance(a, TaggedDual):
        return math.sin(a)
    return TaggedDual(sin(a.value), a.tangent * cos(a.value), a.tag)


def cos(a):
    if not isinstance(a, TaggedDual):
        return math.cos(a)
    return TaggedDual(cos(a.value), -(a.tangent * sin(a.value)), a.tag)


def derivative(f, x):
    tag = TaggedDual.next_tag
    TaggedDual.next_tag += 1
    result = f(TaggedDual(x, 1.0, tag))
    return result.tangent if getattr(result, "tag", None) == tag else 0.0
''',
        "answer_hvp": '''
from mlpkit import forward, reverse


def hvp(f, x, v):
    x, v = np.asarray(x, dtype=float), np.asarray(v, dtype=float)
    return forward.derivative(lambda t: reverse.gradient(f, x + t * v), 0.0)
''',
        "answer_cg": '''
def conjugate_gradients(hvp, b, tol=1e-10, max_iterations=None):
    n = len(b)
    limit = n if max_iterations is None else max_iterations
    x, r = np.zeros(n), np.array(b, dtype=float)
    d, products = r.copy(), 0
    while np.linalg.norm(r) > tol and products < limit:
        q = hvp(d)
        products += 1
        dq = float(d @ q)
        if not dq > 0:
            raise ValueError("H is not positive definite: d^T H d = %g" % dq)
        alpha = float(r @ r) / dq
        x = x + alpha * d
        r_next = r - alpha * q
        d = r_next + float(r_next @ r_next) / float(r @ r) * d
        r = r_next
    return x
''',
        "answer_newton_cg": '''
def newton_cg(gradient, hvp, w0, tol=1e-8, max_iterations=20):
    w, steps = w0.copy(), 0
    g = gradient(w)
    while np.linalg.norm(g) >= tol:
        if steps == max_iterations:
            raise RuntimeError("no convergence after %d Newton steps" % steps)
        size = np.linalg.norm(g)
        w = w + conjugate_gradients(lambda d: hvp(w, d), -g, min(0.5, size ** 0.5) * size, w.size)
        steps += 1
        g = gradient(w)
    return w, steps
''',
        "answer_linear_adjoint": '''
def linear_adjoint_gradient(A0, theta, b, target):
    A = A0 + np.diag(theta)
    if np.linalg.cond(A) > 1e12:
        raise ValueError("A(theta) is (numerically) singular: no implicit gradient")
    Q, R = np.linalg.qr(A)  # one factorisation serves both solves
    x = np.linalg.solve(R, Q.T @ b)
    lam = Q @ np.linalg.solve(R.T, x - target)  # A^T lam = R^T (Q^T lam)
    return -(lam * x)
''',
        "answer_fixed_point": '''
def fixed_point_gradient(W, U, x, target, tol=1e-12, max_iterations=1000):
    if np.linalg.norm(W, 2) >= 1:
        raise ValueError("||W||_2 >= 1: not a contraction")
    z, k = np.zeros(W.shape[0]), 0
    while True:
        if k == max_iterations:
            raise RuntimeError("fixed point not converged")
        z_new, k = np.tanh(W @ z + U @ x), k + 1
        if np.abs(z_new - z).max() < tol:
            z = z_new
            break
        z = z_new
    D = 1 - z * z
    g = z - target
    lam = g.copy()
    for _ in range(10000):              # lambda = g + W^T (D lambda): a contraction too
        lam_new = g + W.T @ (D * lam)
        if np.abs(lam_new - lam).max() < 1e-16 * max(1.0, np.abs(lam).max()):
            break
        lam = lam_new
    return (D * lam_new)[:, None] * x[None, :]
''',
        "answer_checkpointing": '''
def checkpointed_gradient(step, x, steps, every=None):
    n = len(x)
    k = int(round(steps ** 0.5)) if every is None else every
    starts = list(range(0, steps, k))
    saved, z = [], 0.0 * x
    for n_step in range(steps):
        if n_step % k == 0:
            saved.append(z)
        z = step(z, x)
    z = None
    bar = np.concatenate([np.ones(n), np.zeros(n)])
    for start in reversed(starts):
        length = min(k, steps - start)

        def run(packed, length=length):
            state, xs = packed[:n], packed[n:]
            for _ in range(length):
                state = step(state, xs)
            return np.concatenate([state, xs])

        bar = reverse.vjp(run, np.concatenate([saved.pop(), x]), bar)[1]
    return bar[n:]
''',
    })

add("alt_closures", description="correct, a third style: tags carried in a closure-created "
    "subclass per call (the subclass is the tag), hvp through functools.partial; CG as a "
    "generator-free for loop with a stopping test via break; Newton-CG recursion-free for/else; "
    "the adjoint with np.linalg.solve on a stacked right-hand side; checkpoints re-entered by "
    "segment boundaries computed up front",
    answers={
        "answer_tagged_dual": '''
import itertools
import math

_counter = itertools.count(1)


class TaggedDual:
    def __init__(self, value, tangent, tag):
        self.value, self.tangent, self.tag = value, tangent, tag

    def split(self, tag):
        return (self.value, self.tangent) if self.tag == tag else (self, 0.0)


def _split(a, tag):
    return a.split(tag) if isinstance(a, TaggedDual) else (a, 0.0)


def _tag(*operands):
    return max(o.tag for o in operands if isinstance(o, TaggedDual))


def _add(a, b):
    t = _tag(a, b)
    (u, du), (v, dv) = _split(a, t), _split(b, t)
    return TaggedDual(u + v, du + dv, t)


def _mul(a, b):
    t = _tag(a, b)
    (u, du), (v, dv) = _split(a, t), _split(b, t)
    return TaggedDual(u * v, du * v + u * dv, t)


TaggedDual.__add__ = TaggedDual.__radd__ = _add
TaggedDual.__mul__ = TaggedDual.__rmul__ = _mul
TaggedDual.__neg__ = lambda a: _mul(a, -1.0)
TaggedDual.__sub__ = lambda a, b: _add(a, _mul(b, -1.0) if isinstance(b, TaggedDual) else -b)
TaggedDual.__rsub__ = lambda a, b: _add(_mul(a, -1.0), b)


def sin(a):
    if isinstance(a, TaggedDual):
        return TaggedDual(sin(a.value), cos(a.value) * a.tangent, a.tag)
    return math.sin(a)


def cos(a):
    if isinstance(a, TaggedDual):
        return TaggedDual(cos(a.value), sin(a.value) * a.tangent * -1.0, a.tag)
    return math.cos(a)


def derivative(f, x):
    tag = next(_counter)
    out = f(TaggedDual(x, 1.0, tag))
    if isinstance(out, TaggedDual) and out.tag == tag:
        return out.tangent
    return 0.0
''',
        "answer_hvp": '''
import functools

from mlpkit import forward, reverse


def hvp(f, x, v):
    _, hv = forward.jvp(functools.partial(reverse.gradient, f), x, v)
    return np.array(hv, dtype=float)
''',
        "answer_linear_adjoint": '''
def linear_adjoint_gradient(A0, theta, b, target):
    A = A0 + np.diag(theta)
    condition = np.linalg.cond(A)
    if not condition <= 1e12:
        raise ValueError(f"A(theta) has condition number {condition:.2e}: singular for our purposes")
    x = np.linalg.solve(A, b)
    return -x * np.linalg.solve(A.T, x - target)
''',
        "answer_checkpointing": '''
def checkpointed_gradient(step, x, steps, every=None):
    every = every or int(np.round(np.sqrt(steps)))
    n = x.shape[0]
    bounds = [(s, min(s + every, steps)) for s in range(0, steps, every)]
    store, z = {}, np.zeros_like(x)
    for i in range(steps):
        if i % every == 0:
            store[i] = z
        z = step(z, x)
    del z
    cotangent = np.r_[np.ones(n), np.zeros(n)]
    for start, end in bounds[::-1]:
        def segment(p):
            state, xx = p[:n], p[n:]
            for _ in range(end - start):
                state = step(state, xx)
            return np.concatenate([state, xx])
        _, cotangent = reverse.vjp(segment, np.r_[store.pop(start), x], cotangent)
    return cotangent[n:]
''',
    })

add("deleted_test_cell", description="the solution with a visible test cell deleted: nbgrader "
    "puts it back (OverwriteCells.add_missing_cells) and the grader grades it",
    delete=("test_newton_cg",))

# --------------------------------------------------------------------------- Part A mistakes

add("mistake_untagged_dual", description="the lecture's naive dual number with sin and cos: one "
    "shared epsilon, so nested derivatives confuse their perturbations",
    answers={"answer_tagged_dual": '''
import math


class TaggedDual:
    def __init__(self, value, tangent, tag=0):
        self.value, self.tangent, self.tag = value, tangent, tag

    def __add__(self, other):
        other = other if isinstance(other, TaggedDual) else TaggedDual(other, 0.0)
        return TaggedDual(self.value + other.value, self.tangent + other.tangent)

    def __sub__(self, other):
        other = other if isinstance(other, TaggedDual) else TaggedDual(other, 0.0)
        return TaggedDual(self.value - other.value, self.tangent - other.tangent)

    def __rsub__(self, other):
        return TaggedDual(other, 0.0) - self

    def __mul__(self, other):
        other = other if isinstance(other, TaggedDual) else TaggedDual(other, 0.0)
        return TaggedDual(self.value * other.value,
                          self.tangent * other.value + self.value * other.tangent)

    def __neg__(self):
        return TaggedDual(-self.value, -self.tangent)

    __radd__, __rmul__ = __add__, __mul__


def sin(a):
    if isinstance(a, TaggedDual):
        return TaggedDual(sin(a.value), cos(a.value) * a.tangent)
    return math.sin(a)


def cos(a):
    if isinstance(a, TaggedDual):
        return TaggedDual(cos(a.value), -sin(a.value) * a.tangent)
    return math.cos(a)


def derivative(f, x):
    out = f(TaggedDual(x, 1.0))
    return out.tangent if isinstance(out, TaggedDual) else 0.0
'''},
    lost=("test_tagged_dual",),
    messages={"test_tagged_dual": "perturbation confusion"})

add("mistake_tag_not_checked", description="derivative returns the tangent of any dual number it "
    "gets back, whatever its tag",
    answers={"answer_tagged_dual": patched("answer_tagged_dual",
                                           "if isinstance(out, TaggedDual) and out.tag == tag:",
                                           "if isinstance(out, TaggedDual):")},
    lost=("test_tagged_dual",),
    messages={"test_tagged_dual": "without checking that out carries ITS OWN tag"})

add("mistake_lowest_tag_wins", description="an operation on two tags is handled by the lowest tag",
    answers={"answer_tagged_dual": patched("answer_tagged_dual",
                                           'return max(getattr(a, "tag", 0), getattr(b, "tag", 0))',
                                           'return min(t for t in (getattr(a, "tag", None), '
                                           'getattr(b, "tag", None)) if t is not None)')},
    lost=("test_tagged_dual",),
    messages={"test_tagged_dual": "handled by the LOWEST tag"})

add("mistake_cos_sign", description="d cos = +sin",
    answers={"answer_tagged_dual": patched("answer_tagged_dual",
                                           "return TaggedDual(cos(a.value), "
                                           "-sin(a.value) * a.tangent, a.tag)",
                                           "return TaggedDual(cos(a.value), "
                                           "sin(a.value) * a.tangent, a.tag)")},
    lost=("test_tagged_dual",),
    messages={"test_tagged_dual": "the derivative of cos has the wrong sign"})

add("mistake_hvp_gradient_at_x", description="HVP of the wrong function: the gradient inside the "
    "JVP is taken at the fixed x (closure), so the JVP is 0",
    answers={"answer_hvp": patched("answer_hvp", "reverse.gradient(f, y)", "reverse.gradient(f, x)")},
    lost=("test_hvp",),
    messages={"test_hvp": "the gradient inside the JVP is taken at the fixed x"})

add("mistake_hvp_jvp_of_f", description="HVP of the wrong function: the JVP of f itself (the "
    "directional derivative), not of its gradient",
    answers={"answer_hvp": patched("answer_hvp", "forward.jvp(lambda y: reverse.gradient(f, y), x, v)[1]",
                                   "forward.jvp(f, x, v)[1]")},
    lost=("test_hvp",),
    messages={"test_hvp": "the directional derivative"})

add("mistake_hvp_full_hessian", description="builds the whole Hessian with forward.jacobian of the "
    "gradient and multiplies by v: right values, n passes",
    answers={"answer_hvp": patched("answer_hvp", "forward.jvp(lambda y: reverse.gradient(f, y), x, v)[1]",
                                   "forward.jacobian(lambda y: reverse.gradient(f, y), x) @ v")},
    lost=("test_hvp",),
    messages={"test_hvp": "the Hessian built column by column"})

add("mistake_uses_second_order", description="hvp delegates to mlpkit.second_order (refused while "
    "grading)",
    answers={"answer_hvp": '''
from mlpkit import forward, reverse


def hvp(f, x, v):
    from mlpkit import second_order

    return second_order.hvp(f, x, v)
'''},
    lost=("test_hvp",),
    messages={"test_hvp": "mlpkit.second_order is not available"})

# --------------------------------------------------------------------------- Part B mistakes

add("mistake_cg_no_stopping_test", description="CG without a stopping test: always runs "
    "max_iterations products",
    answers={"answer_cg": patched("answer_cg", "        if np.sqrt(rr) <= tol:\n            break\n", "")},
    lost=("test_conjugate_gradients", "test_newton_cg"),
    messages={"test_conjugate_gradients": "Without a stopping test it runs to max_iterations",
              "test_newton_cg": CG_FIRST})

add("mistake_cg_ignores_max_iterations", description="CG loops until the tolerance, whatever "
    "max_iterations says",
    answers={"answer_cg": patched("answer_cg", "    for _ in range(max_iterations):",
                                  "    for _ in range(10 * len(b)):")},
    lost=("test_conjugate_gradients",),
    messages={"test_conjugate_gradients": "max_iterations is ignored"})

add("mistake_cg_no_curvature_check", description="CG divides by d^T H d without checking its "
    "sign: a number for an indefinite H",
    answers={"answer_cg": patched("answer_cg", "        if curvature <= 0:\n", "        if False:\n")},
    lost=("test_conjugate_gradients",),
    messages={"test_conjugate_gradients": "negative curvature"})

add("mistake_newton_tight_cg", description="Newton-CG solves every Newton system to 1e-10 instead "
    "of the truncation tolerance min(0.5, sqrt|g|) |g|",
    answers={"answer_newton_cg": patched("answer_newton_cg", "eta * g_norm, len(w))", "1e-10, len(w))")},
    lost=("test_newton_cg",),
    messages={"test_newton_cg": "a tight tolerance far from the minimum wastes products"})

add("mistake_newton_no_raise", description="Newton-CG returns the last iterate after "
    "max_iterations without convergence",
    answers={"answer_newton_cg": patched("answer_newton_cg", "            break\n",
                                         "            return w, steps\n")},
    lost=("test_newton_cg",),
    messages={"test_newton_cg": "it must raise RuntimeError"})

add("mistake_newton_ignores_tol", description="Newton-CG always stops at |g| < 1e-8",
    answers={"answer_newton_cg": patched("answer_newton_cg", "        if g_norm < tol:",
                                         "        if g_norm < 1e-8:")},
    lost=("test_newton_cg",),
    messages={"test_newton_cg": "tol is ignored"})

add("mistake_newton_stale_hessian", description="HVP at the wrong point: every CG solve uses the "
    "Hessian at w0",
    answers={"answer_newton_cg": patched(
        "answer_newton_cg", "p = conjugate_gradients(lambda d: hvp(w, d), -g, eta * g_norm, len(w))",
        "p = conjugate_gradients(lambda d: hvp(w0, d), -g, eta * g_norm, len(w))")},
    lost=("test_newton_cg",),
    messages={"test_newton_cg": "every Hessian-vector product was taken at w0"})

# --------------------------------------------------------------------------- Part C mistakes

add("mistake_linear_sign", description="the implicit gradient without its minus sign",
    answers={"answer_linear_adjoint": patched("answer_linear_adjoint", "return -adjoint * x",
                                              "return adjoint * x")},
    lost=("test_linear_adjoint",),
    messages={"test_linear_adjoint": "the sign is flipped"})

add("mistake_linear_not_transposed", description="the adjoint system solved with A instead of A^T",
    answers={"answer_linear_adjoint": patched("answer_linear_adjoint", "np.linalg.solve(A.T, x - target)",
                                              "np.linalg.solve(A, x - target)")},
    lost=("test_linear_adjoint",),
    messages={"test_linear_adjoint": "TRANSPOSE"})

add("mistake_linear_no_condition_check", description="no test of the hypothesis: a nearly "
    "singular A(theta) gives a meaningless number",
    answers={"answer_linear_adjoint": patched("answer_linear_adjoint",
                                              "if not np.isfinite(np.linalg.cond(A)) "
                                              "or np.linalg.cond(A) > 1e12:",
                                              "if False:")},
    lost=("test_linear_adjoint",),
    messages={"test_linear_adjoint": "condition number"})

add("mistake_fixed_point_not_converged", description="a fixed point not converged before "
    "differentiating: 30 iterations, no stopping test",
    answers={"answer_fixed_point": patched(
        "answer_fixed_point",
        "    for _ in range(max_iterations):\n        z_new = np.tanh(W @ z + drive)\n"
        "        if np.max(np.abs(z_new - z)) < tol:\n            break\n        z = z_new\n"
        "    else:\n"
        "        raise RuntimeError(f\"the fixed-point iteration did not converge to {tol:g} in \"\n"
        "                           f\"{max_iterations} iterations\")\n",
        "    for _ in range(30):\n        z_new = np.tanh(W @ z + drive)\n        z = z_new\n")},
    lost=("test_fixed_point_gradient",),
    messages={"test_fixed_point_gradient": "not converged before differentiating"})

add("mistake_fixed_point_sign", description="the sign of the implicit gradient flipped",
    answers={"answer_fixed_point": patched("answer_fixed_point", "return np.outer(D * adjoint, x)",
                                           "return -np.outer(D * adjoint, x)")},
    lost=("test_fixed_point_gradient",),
    messages={"test_fixed_point_gradient": "the sign is flipped"})

add("mistake_fixed_point_no_contraction_check", description="no test of ||W||_2 < 1",
    answers={"answer_fixed_point": patched("answer_fixed_point", "    if norm >= 1:\n", "    if False:\n")},
    lost=("test_fixed_point_gradient",),
    messages={"test_fixed_point_gradient": "not guaranteed to be a contraction"})

add("mistake_fixed_point_not_transposed", description="the adjoint equation solved without the "
    "transpose",
    answers={"answer_fixed_point": patched("answer_fixed_point",
                                           "(np.eye(len(W)) - D[:, None] * W).T",
                                           "(np.eye(len(W)) - D[:, None] * W)")},
    lost=("test_fixed_point_gradient",),
    messages={"test_fixed_point_gradient": "must use the TRANSPOSE"})

# --------------------------------------------------------------------------- Part D mistakes

add("mistake_checkpoint_store_all", description="reverse mode through the whole loop: every "
    "state kept on the tape",
    answers={"answer_checkpointing": '''
def checkpointed_gradient(step, x, steps, every=None):
    def loss(x_traced):
        z = 0.0 * x_traced
        for _ in range(steps):
            z = step(z, x_traced)
        return np.sum(z)

    return reverse.gradient(loss, x)
'''},
    lost=("test_checkpointing",),
    messages={"test_checkpointing": "reverse mode through the whole loop, not checkpointing"})

add("mistake_checkpoint_from_start", description="checkpoints that recompute from the start every "
    "time: before each backward step, z_n is recomputed from z_0",
    answers={"answer_checkpointing": '''
def checkpointed_gradient(step, x, steps, every=None):
    n = len(x)

    def one_step(packed):
        return np.concatenate([step(packed[:n], packed[n:]), packed[n:]])

    adjoint = np.concatenate([np.ones(n), np.zeros(n)])
    for k in reversed(range(steps)):
        z = 0.0 * x
        for _ in range(k):
            z = step(z, x)
        _, adjoint = reverse.vjp(one_step, np.concatenate([z, x]), adjoint)
    return adjoint[n:]
'''},
    lost=("test_checkpointing",),
    messages={"test_checkpointing": "recomputing from the start every time"})

add("mistake_checkpoint_last_segment", description="every segment recomputed with `every` steps, "
    "also the last one when every does not divide steps",
    answers={"answer_checkpointing": patched("answer_checkpointing",
                                             "length = min(every, steps - start)", "length = every")},
    lost=("test_checkpointing",),
    messages={"test_checkpointing": "the last segment is shorter"})

add("mistake_checkpoint_default_every", description="every defaults to 10 instead of "
    "round(sqrt(steps))",
    answers={"answer_checkpointing": patched("answer_checkpointing",
                                             "every = max(1, round(np.sqrt(steps)))", "every = 10")},
    lost=("test_checkpointing",),
    messages={"test_checkpointing": "its default is round(sqrt(steps))"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="conjugate_gradients never returns",
    answers={"answer_cg": attacks.never_returns(
        "conjugate_gradients(hvp, b, tol=1e-10, max_iterations=None)")},
    lost=("test_conjugate_gradients", "test_newton_cg"),
    messages={"test_conjugate_gradients": "did not finish within"})

add("ignores_interrupts", description="a top-level loop in an answer cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_linear_adjoint": attacks.ignores_interrupts(MODEL["answer_linear_adjoint"])},
    lost=("test_linear_adjoint",))

add("crash", description="fixed_point_gradient crashes the interpreter (segfault)",
    answers={"answer_fixed_point": attacks.segfault(
        "fixed_point_gradient(W, U, x, target, tol=1e-12, max_iterations=1000)")},
    lost=("test_fixed_point_gradient",))

add("os_exit_in_function", description="newton_cg calls os._exit",
    answers={"answer_newton_cg": attacks.exits("newton_cg(gradient, hvp, w0, tol=1e-8, max_iterations=20)")},
    lost=("test_newton_cg",))

add("os_exit_in_cell", description="the answer cell of checkpointed_gradient ends with os._exit(0)",
    answers={"answer_checkpointing": attacks.exit_after(MODEL["answer_checkpointing"])},
    lost=("test_checkpointing",))

add("kills_own_process", description="hvp sends SIGKILL to its own process",
    answers={"answer_hvp": attacks.kills_itself("hvp(f, x, v)")},
    lost=("test_hvp",))

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong linear_adjoint_gradient plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_linear_adjoint": attacks.patch_comparisons() + '''

def linear_adjoint_gradient(A0, theta, b, target):
    return np.zeros(len(theta))
'''}, lost=("test_linear_adjoint",))

add("tamper_kernel", description="wrong derivative plus a patch of the kernel's do_execute and "
    "showtraceback so that every cell reports success",
    answers={"answer_tagged_dual": attacks.patch_kernel() + MODEL["answer_tagged_dual"] + '''


def derivative(f, x):
    return 1.0
'''}, lost=("test_tagged_dual",))

add("tamper_files", description="wrong fixed_point_gradient plus attacks on the grader: overwrite "
    "the hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_fixed_point": attacks.tamper_files("ps7") + '''\


def fixed_point_gradient(W, U, x, target, tol=1e-12, max_iterations=1000):
    return np.zeros_like(U)
'''}, lost=("test_fixed_point_gradient",))
