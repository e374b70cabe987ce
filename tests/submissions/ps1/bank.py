"""PS1 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps1/ps1.ipynb), except the answer cells it replaces: so the bank follows
the problem set when it changes, and each entry states only its difference. ``lost`` names the
autograded test cells that must score 0; every other autograded cell must get full marks;
``messages`` gives, for a lost cell, the key phrase its message must contain (the cause the
check has to name, in PS1's words).
``{course_root}`` in a source is replaced by the grading course's folder (an attacker who knows
the paths). Built by tests/submissions/build.py; graded by tests/test_grading_pipeline.py.
"""

from __future__ import annotations


import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps1")
add = BANK.add


# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution")

add("alt_vectorised", description="correct, another style: reduce, np.eye, complex(x, h), "
    "vectorised forward/central over all steps, the exact step (x+h)-(x-h) as denominator",
    answers={
        "answer_forward_difference": '''
def forward_difference(f, x, h):
    fx = f(x)
    return (f(x + h) - fx) * (1.0 / h)
''',
        "answer_central_difference": '''
def central_difference(f, x, h):
    x_plus, x_minus = x + h, x - h
    return (f(x_plus) - f(x_minus)) / (x_plus - x_minus)  # the step actually taken
''',
        "answer_complex_step": '''
def complex_step(f, x, h):
    return f(complex(x, h)).imag / h
''',
        "answer_step_experiment": '''
true_slope = df_test(x0)
errors_forward = np.abs(forward_difference(f_test, x0, steps) - true_slope)
errors_central = np.abs(central_difference(f_test, x0, steps) - true_slope)
errors_complex = np.array([abs(complex_step(f_test, x0, h) - true_slope) for h in steps])
# nanargmin: with h below the spacing of floats near x0, (x+h)-(x-h) is 0 and 0/0 is NaN
h_best_forward = steps[np.nanargmin(errors_forward)]
h_best_central = steps[np.nanargmin(errors_central)]
plt.figure()
for errors, name in [(errors_forward, "forward"), (errors_central, "central"),
                     (errors_complex, "complex step")]:
    plt.loglog(steps, errors + 1e-18, label=name)
plt.axvline(h_best_forward, ls=":")
plt.axvline(h_best_central, ls="--")
plt.xlabel("h")
plt.ylabel("error")
plt.title("error vs step")
plt.legend()
plt.show()
''',
        "answer_gradient_central": '''
def gradient_central(f, x, h):
    unit_steps = h * np.eye(len(x))
    return np.array([f(x + e) - f(x - e) for e in unit_steps]) / (2 * h)
''',
        "answer_gradient_complex_step": '''
def gradient_complex_step(f, x, h):
    return np.array([f(x + 1j * h * e).imag for e in np.eye(len(x))]) / h
''',
        "answer_recursion_z": '''
from functools import reduce


def recursion_z(x, n=20):
    return reduce(lambda z, _: np.sin(z * x) + x, range(n), 0.0)
''',
        "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    z = dz = 0.0
    for _ in range(n):
        z, dz = np.sin(z * x) + x, np.cos(z * x) * (z + x * dz) + 1
    return dz
''',
        "answer_recursion_numerical": '''
def dz_central(x, h=1e-5, n=20):
    return (recursion_z(x + h, n) - recursion_z(x - h, n)) / (2 * h)


def dz_complex_step(x, h=1e-20, n=20):
    return recursion_z(x + 1j * h, n).imag / h
''',
    })

add("alt_loops", description="correct, loop style: explicit copies, list of iterates, an "
    "evaluation trace for the derivative, 0.5 * (...) / h",
    answers={
        "answer_central_difference": '''
def central_difference(f, x, h):
    return 0.5 * (f(x + h) - f(x - h)) / h
''',
        "answer_complex_step": '''
def complex_step(f, x, h):
    z = x + h * 1j
    return float(np.imag(f(z)) / h)
''',
        "answer_step_experiment": '''
errors_forward, errors_central, errors_complex = [], [], []
for h in steps:
    errors_forward.append(abs(forward_difference(f_test, x0, h) - df_test(x0)))
    errors_central.append(abs(central_difference(f_test, x0, h) - df_test(x0)))
    errors_complex.append(abs(complex_step(f_test, x0, h) - df_test(x0)))
errors_forward = np.array(errors_forward)
errors_central = np.array(errors_central)
errors_complex = np.array(errors_complex)
best = {}
for name, errors in [("forward", errors_forward), ("central", errors_central)]:
    smallest = 0
    for k in range(len(steps)):
        if errors[k] < errors[smallest]:
            smallest = k
    best[name] = float(steps[smallest])
h_best_forward, h_best_central = best["forward"], best["central"]
fig, ax = plt.subplots()
ax.loglog(steps, np.maximum(errors_forward, 1e-17), label="forward")
ax.loglog(steps, np.maximum(errors_central, 1e-17), label="central")
ax.loglog(steps, np.maximum(errors_complex, 1e-17), label="complex")
ax.set(xlabel="h", ylabel="absolute error", title="errors")
ax.legend()
plt.show()
''',
        "answer_gradient_central": '''
def gradient_central(f, x, h):
    g = []
    for i in range(len(x)):
        x_plus = np.array(x, dtype=float)
        x_minus = np.array(x, dtype=float)
        x_plus[i] += h
        x_minus[i] -= h
        g.append((f(x_plus) - f(x_minus)) / (2 * h))
    return np.array(g)
''',
        "answer_gradient_complex_step": '''
def gradient_complex_step(f, x, h):
    grad = np.zeros_like(x, dtype=float)
    for i in range(x.shape[0]):
        xc = np.array(x, dtype=np.complex128)
        xc[i] = xc[i] + 1j * h
        grad[i] = f(xc).imag / h
    return grad
''',
        "answer_recursion_z": '''
def recursion_z(x, n=20):
    iterates = [0.0]
    for _ in range(n):
        iterates.append(np.sin(iterates[-1] * x) + x)
    return iterates[-1]
''',
        "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    z, dz = 0.0, 0.0
    for _ in range(n):
        a, da = z * x, dz * x + z      # a = z x
        b, db = np.sin(a), np.cos(a) * da
        z, dz = b + x, db + 1.0
    return dz
''',
        "answer_recursion_numerical": '''
def dz_central(x, h=1e-5, n=20):
    return central_difference(lambda t: recursion_z(t, n=n), x, h)


def dz_complex_step(x, h=1e-20, n=20):
    return complex_step(lambda t: recursion_z(t, n=n), x, h)
''',
    })

add("deleted_test_cell", description="the solution with a visible test cell deleted: nbgrader "
    "puts it back (OverwriteCells.add_missing_cells) and the grader grades it",
    delete=("test_forward_difference",))

# --------------------------------------------------------------------------- plausible mistakes

add("mistake_backward_difference", description="forward_difference computes a backward difference",
    answers={"answer_forward_difference": '''
def forward_difference(f, x, h):
    return (f(x) - f(x - h)) / h
'''}, lost=("test_forward_difference", "test_best_steps"),
    messages={"test_forward_difference": "that is the backward difference",
              "test_best_steps": "Fix forward_difference first"})

add("mistake_central_over_h", description="central difference divided by h instead of 2h",
    answers={"answer_central_difference": '''
def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / h
'''}, lost=("test_central_difference", "test_best_steps", "test_recursion_numerical"),
    messages={"test_central_difference": "twice the expected one: the difference is divided by h",
              "test_best_steps": "Fix central_difference first",
              "test_recursion_numerical": "fix central_difference first"})

add("mistake_complex_no_division", description="complex step forgets to divide by h",
    answers={"answer_complex_step": '''
def complex_step(f, x, h):
    return np.imag(f(x + 1j * h))
'''}, lost=("test_complex_step", "test_recursion_numerical"),
    messages={"test_complex_step": "Im f(x + ih) is not divided by h",
              "test_recursion_numerical": "fix complex_step first"})

add("mistake_complex_into_real_array", description="complex-step gradient writes x + ih into a "
    "real array (ComplexWarning; the imaginary part is dropped)",
    answers={"answer_gradient_complex_step": '''
def gradient_complex_step(f, x, h):
    grad = np.empty(len(x))
    for i in range(len(x)):
        shifted = x.copy()
        shifted[i] += 1j * h
        grad[i] = np.imag(f(shifted)) / h
    return grad
'''}, lost=("test_gradient_complex_step", "test_evaluation_counts"),
    messages={"test_gradient_complex_step": "the imaginary part was dropped",
              "test_evaluation_counts": "Fix gradient_complex_step first"})

add("mistake_reevaluates_fx", description="central gradient right, but f(x) evaluated in the loop "
    "(3n evaluations)",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    grad = np.zeros(len(x))
    for i in range(len(x)):
        fx = f(x)  # not needed
        e = np.zeros(len(x))
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h) + 0 * fx
    return grad
'''}, lost=("test_evaluation_counts",),
    messages={"test_evaluation_counts": "Yours evaluates f more often than that"})

add("mistake_gradient_forward", description="central gradient written with forward differences",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    fx = f(x)
    grad = np.zeros(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        grad[i] = (f(x + e) - fx) / h
    return grad
'''}, lost=("test_gradient_central", "test_evaluation_counts"),
    messages={"test_gradient_central": "each entry is a forward difference",
              "test_evaluation_counts": "Fix gradient_central first"})

add("mistake_update_order", description="derivative recursion uses the NEW z (z updated first)",
    answers={"answer_recursion_dz": '''
def recursion_dz(x, n=20):
    z, dz = 0.0, 0.0
    for _ in range(n):
        z = np.sin(z * x) + x
        dz = np.cos(z * x) * (x * dz + z) + 1.0
    return dz
'''}, lost=("test_recursion_derivative",),
    messages={"test_recursion_derivative": "reads the NEW z"})

add("mistake_extra_iteration", description="recursion_z runs n + 1 iterations",
    answers={"answer_recursion_z": '''
def recursion_z(x, n=20):
    z = 0.0
    for _ in range(n + 1):
        z = np.sin(z * x) + x
    return z
'''}, lost=("test_recursion_value", "test_recursion_numerical"),
    messages={"test_recursion_value": "one iteration too many",
              "test_recursion_numerical": "fix recursion_z first"})

add("mistake_argmax", description="best steps picked with argmax instead of argmin",
    answers={"answer_step_experiment": '''
exact = df_test(x0)
errors_forward = np.abs(np.array([forward_difference(f_test, x0, h) for h in steps]) - exact)
errors_central = np.abs(np.array([central_difference(f_test, x0, h) for h in steps]) - exact)
errors_complex = np.abs(np.array([complex_step(f_test, x0, h) for h in steps]) - exact)
h_best_forward = float(steps[np.argmax(errors_forward)])
h_best_central = float(steps[np.argmax(errors_central)])
plt.loglog(steps, errors_forward + 1e-17, label="forward")
plt.loglog(steps, errors_central + 1e-17, label="central")
plt.legend()
plt.show()
'''}, lost=("test_best_steps",),
    messages={"test_best_steps": "LARGEST error (np.argmax)"})

add("mistake_uses_numdiff", description="central_difference delegates to mlpkit.numdiff "
    "(numerically right, but the task is to write it: the import is refused while grading)",
    answers={"answer_central_difference": '''
def central_difference(f, x, h):
    from mlpkit.numdiff import derivative
    return derivative(f, x, method="central-difference", h=h)
'''}, lost=("test_central_difference", "test_best_steps", "test_recursion_numerical"),
    messages={"test_central_difference": "mlpkit.numdiff is not available",
              "test_best_steps": "Fix central_difference first",
              "test_recursion_numerical": "mlpkit.numdiff is not available"})

# --------------------------------------------------------------------------- issue 12 mistakes
# Mistakes that once got full marks (a parameter no check varied, an argument changed in place,
# a count trusted without its values, a probe where the mistake agrees with the answer), and
# mistakes whose message used to be generic or misleading. Each asserts the cause it is told.

add("mistake_gradient_complex_fixed_h", description="gradient_complex_step ignores its h "
    "(a fixed 1e-20 inside): once full marks, every hidden h was tiny",
    answers={"answer_gradient_complex_step": '''
def gradient_complex_step(f, x, h):
    step = 1e-20  # "h small enough"
    grad = np.zeros(len(x))
    for i in range(len(x)):
        xc = x.astype(complex)
        xc[i] += 1j * step
        grad[i] = f(xc).imag / step
    return grad
'''}, lost=("test_gradient_complex_step",),
    messages={"test_gradient_complex_step": "the step h passed in is not used"})

add("mistake_dz_ignores_n", description="dz_central and dz_complex_step never pass n on to "
    "recursion_z: once full marks, no check varied n",
    answers={"answer_recursion_numerical": '''
def dz_central(x, h=1e-5, n=20):
    return central_difference(recursion_z, x, h)


def dz_complex_step(x, h=1e-20, n=20):
    return complex_step(recursion_z, x, h)
'''}, lost=("test_recursion_numerical",),
    messages={"test_recursion_numerical": "the argument n is not passed on"})

add("mistake_dz_central_fixed_h", description="dz_central always uses the step 1e-5: once full "
    "marks, every check passed h = 1e-5",
    answers={"answer_recursion_numerical": '''
def dz_central(x, h=1e-5, n=20):
    z = lambda t: recursion_z(t, n)
    return (z(x + 1e-5) - z(x - 1e-5)) / 2e-5


def dz_complex_step(x, h=1e-20, n=20):
    return np.imag(recursion_z(x + 1j * h, n)) / h
'''}, lost=("test_recursion_numerical",),
    messages={"test_recursion_numerical": "the argument h is not passed on"})

add("mistake_dz_central_exact", description="dz_central returns the exact derivative "
    "(recursion_dz): once full marks, since at h = 1e-5 the two agree to the tolerance",
    answers={"answer_recursion_numerical": '''
def dz_central(x, h=1e-5, n=20):
    return recursion_dz(x, n)  # "more accurate"


def dz_complex_step(x, h=1e-20, n=20):
    return complex_step(lambda t: recursion_z(t, n), x, h)
'''}, lost=("test_recursion_numerical",),
    messages={"test_recursion_numerical": "that is the exact derivative dz_n/dx"})

add("mistake_gradient_perturbs_x_in_place", description="gradient_central perturbs the caller's "
    "x in place and restores it by subtraction, which leaves rounding residue in x: once full "
    "marks, no check read x back",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    grad = np.zeros(len(x))
    for i in range(len(x)):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h  # "restore" x
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
'''}, lost=("test_gradient_central", "test_evaluation_counts"),
    messages={"test_gradient_central": "changed its argument x (argument 2) in place",
              "test_evaluation_counts": "changed its argument x (argument 2) in place"})

add("mistake_gradient_over_h", description="gradient_central divides by h (2n evaluations): the "
    "count check once gave full marks without looking at the values",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    n = len(x)
    g = np.zeros(n)
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / h
    return g
'''}, lost=("test_gradient_central", "test_evaluation_counts"),
    messages={"test_gradient_central": "each entry is divided by h",
              "test_evaluation_counts": "Fix gradient_central first"})

add("mistake_errors_signed", description="the experiment's errors are signed (no abs): once told "
    "to take the argmin it already takes",
    answers={"answer_step_experiment": '''
exact = df_test(x0)
errors_forward = np.array([forward_difference(f_test, x0, h) for h in steps]) - exact
errors_central = np.array([central_difference(f_test, x0, h) for h in steps]) - exact
errors_complex = np.array([complex_step(f_test, x0, h) for h in steps]) - exact
h_best_forward = float(steps[np.argmin(errors_forward)])
h_best_central = float(steps[np.argmin(errors_central)])
plt.loglog(steps, np.abs(errors_forward) + 1e-17, label="forward")
plt.loglog(steps, np.abs(errors_central) + 1e-17, label="central")
plt.legend()
plt.show()
'''}, lost=("test_best_steps",),
    messages={"test_best_steps": "the errors are not absolute values"})

add("mistake_central_precedence", description="central difference written `/ 2*h` "
    "(Python: (a / 2) * h)",
    answers={"answer_central_difference": '''
def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / 2*h
'''}, lost=("test_central_difference", "test_best_steps", "test_recursion_numerical"),
    messages={"test_central_difference": "Python reads `a / 2*h` as (a / 2) * h",
              "test_best_steps": "Fix central_difference first",
              "test_recursion_numerical": "fix central_difference first"})

add("mistake_complex_real_step", description="complex step taken with a real step x + h",
    answers={"answer_complex_step": '''
def complex_step(f, x, h):
    return np.imag(f(x + h)) / h
'''}, lost=("test_complex_step", "test_recursion_numerical"),
    messages={"test_complex_step": "the imaginary part was lost",
              "test_recursion_numerical": "fix complex_step first"})

add("mistake_forward_fixed_step", description="forward_difference uses its own step 1e-6 and "
    "ignores h",
    answers={"answer_forward_difference": '''
def forward_difference(f, x, h):
    step = 1e-6
    return (f(x + step) - f(x)) / step
'''}, lost=("test_forward_difference", "test_best_steps"),
    messages={"test_forward_difference": "the step h passed in is not used",
              "test_best_steps": "Fix forward_difference first"})

add("mistake_recursion_sin_z_times_x", description="recursion_z computes sin(z) * x + x",
    answers={"answer_recursion_z": '''
def recursion_z(x, n=20):
    z = 0.0
    for _ in range(n):
        z = np.sin(z) * x + x
    return z
'''}, lost=("test_recursion_value", "test_recursion_numerical"),
    messages={"test_recursion_value": "that is sin(z) * x + x",
              "test_recursion_numerical": "fix recursion_z first"})

add("mistake_dz_missing_z_term", description="derivative recursion forgets the z in "
    "d(z x) = x dz + z",
    answers={"answer_recursion_dz": '''
def recursion_dz(x, n=20):
    z, dz = 0.0, 0.0
    for _ in range(n):
        dz = np.cos(z * x) * x * dz + 1.0
        z = np.sin(z * x) + x
    return dz
'''}, lost=("test_recursion_derivative",),
    messages={"test_recursion_derivative": "lacks the z term"})

add("mistake_gradient_step_not_reset", description="central gradient reuses one step vector "
    "without resetting it (entry i perturbs x_0..x_i)",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    n = len(x)
    grad = np.zeros(n)
    e = np.zeros(n)
    for i in range(n):
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad
'''}, lost=("test_gradient_central", "test_evaluation_counts"),
    messages={"test_gradient_central": "the perturbation is not reset between coordinates",
              "test_evaluation_counts": "Fix gradient_central first"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="central_difference never returns",
    answers={"answer_central_difference": attacks.never_returns("central_difference(f, x, h)")},
    lost=("test_central_difference", "test_best_steps", "test_recursion_numerical"))

add("ignores_interrupts", description="a top-level loop in an answer cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_gradient_central": attacks.ignores_interrupts('''
def gradient_central(f, x, h):
    return np.array([(f(x + e) - f(x - e)) / (2 * h) for e in h * np.eye(len(x))])
''')}, lost=("test_gradient_central", "test_evaluation_counts"))

add("crash", description="gradient_complex_step crashes the interpreter (segfault)",
    answers={"answer_gradient_complex_step": attacks.segfault("gradient_complex_step(f, x, h)")},
    lost=("test_gradient_complex_step", "test_evaluation_counts"))

add("os_exit_in_function", description="recursion_dz calls os._exit",
    answers={"answer_recursion_dz": attacks.exits("recursion_dz(x, n=20)")},
    lost=("test_recursion_derivative",))

add("os_exit_in_cell", description="the answer cell of recursion_z ends with os._exit(0)",
    answers={"answer_recursion_z": attacks.exit_after('''
def recursion_z(x, n=20):
    z = 0.0
    for _ in range(n):
        z = np.sin(z * x) + x
    return z
''')}, lost=("test_recursion_value", "test_recursion_numerical"))

add("kills_own_process", description="complex_step sends SIGKILL to its own process (a killed kernel)",
    answers={"answer_complex_step": attacks.kills_itself("complex_step(f, x, h)")},
    lost=("test_complex_step", "test_best_steps", "test_recursion_numerical"))

add("leaves_daemon", description="correct answers, but a cell starts a detached process "
    "(setsid, double fork, exec) that would outlive grading; the grader must kill it",
    answers={"answer_recursion_numerical": '''
import os

if os.fork() == 0:  # a daemon: new session, double fork, another program
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "987654.321"])
    os._exit(0)


def dz_central(x, h=1e-5, n=20):
    return central_difference(lambda t: recursion_z(t, n), x, h)


def dz_complex_step(x, h=1e-20, n=20):
    return complex_step(lambda t: recursion_z(t, n), x, h)
'''})

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong central_difference plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_central_difference": attacks.patch_comparisons() + '''

def central_difference(f, x, h):
    return 0.0
'''}, lost=("test_central_difference", "test_best_steps", "test_recursion_numerical"))

add("tamper_kernel", description="wrong complex_step plus a patch of the kernel's do_execute and "
    "showtraceback so that every cell reports success",
    answers={"answer_complex_step": attacks.patch_kernel() + '''\
def complex_step(f, x, h):
    return 0.0
'''}, lost=("test_complex_step", "test_recursion_numerical"))

add("tamper_files", description="wrong forward_difference plus attacks on the grader: overwrite "
    "the hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_forward_difference": attacks.tamper_files("ps1") + '''\


def forward_difference(f, x, h):
    return 1.0
'''}, lost=("test_forward_difference", "test_best_steps"))
