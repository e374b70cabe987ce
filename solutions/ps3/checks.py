"""PS3 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps3.ipynb. Design:

* The student's engine (a ``Node`` class, ``backprop``) never crosses the wire: a check receives
  only plain data. So every part of the engine is graded through functions the student writes
  that build a graph and return numbers:
  - ``gradient_of_program(program, inputs) -> (value, gradient)`` and
    ``jacobian_of_program(program, inputs, outputs) -> (m, n) array``. A *program* is plain data
    (a list of instructions such as ``["mul", 0, 0]``: a Wengert list), so the grader can hand
    the engine any graph it likes: one operation at a time (local derivatives), reused nodes and
    diamonds, chains 10^4 deep, random DAGs. The reference is computed HERE by a reverse sweep
    over the program's own order (a tape is a topological order), with a bound on the rounding
    that a different but correct summation order may cause.
  - ``grad_domke(x) -> float`` and ``grad_normal_logpdf(y, mu, sigma) -> array (3,)``: the
    source material's examples, compared with calculus.
  - ``reverse_gradient(f, x) -> array (n,)``: ``f`` must run on the student's nodes, so it cannot
    be a BlackBox (a BlackBox receives numbers and is evaluated here). The check defines its own
    ``rosenbrock`` and ``neighbour_ratios`` in the check process (``IN_SANDBOX``, sent with
    ``student.define``; the notebook's copies in a locked cell may be redefined by a later
    cell), passes them with ``student.helper``, and compares with a complex-step reference of
    the same text computed here. Each of these functions records its own evaluations, and
    whether it got plain numbers or the student's objects (recognised by what they are not:
    plain numbers), so the count needs neither the notebook's ``count_evaluations`` nor a
    wrapper (``CallCounter``) that a student's code could unwrap, reset or imitate.
* Hidden inputs come from ``hidden_rng`` (a per-course secret): they differ from term to term.
* Hints: for the hand-picked graphs the results of the classic mistakes are known (``=`` instead
  of ``+=``, a recursion that passes on incomplete adjoints, a flipped sign), so messages name
  them; otherwise ``mlpkit.grading.diagnose_gradient`` describes the difference.
* Order inside a check: small cases first, so that a wrong engine fails fast with a clear message
  before the large cases (a path-by-path recursion on the 40-deep doubling chain would run for
  hours; it is stopped by the check timeout).

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py).
"""

import math

import numpy as np

from autograder import CheckFailed, check, hidden_rng
from autograder.prerequisites import Prerequisite, fix_first
from mlpkit.grading import check_scalar, check_shape, diagnose_gradient

FORBIDDEN_MODULES = {
    "mlpkit.reverse": "PS3 asks you to write the reverse-mode engine yourself",
    "mlpkit.forward": "PS3 gives you the forward mode it needs; write the reverse mode yourself",
    "mlpkit.numdiff": "PS3 is about automatic differentiation, not numerical approximations",
    "mlpkit.complexsafe": "PS3 is about automatic differentiation, not the complex step",
    "autograd": "PS3 asks you to write the reverse-mode engine yourself",
    "torch": "PS3 asks you to write the reverse-mode engine yourself",
    "jax": "PS3 asks you to write the reverse-mode engine yourself",
}

EPS = np.finfo(np.float64).eps


def draws(label: str) -> np.random.Generator:
    """The generator of one draw of hidden inputs (``hidden_rng``: a per-course secret, so the
    hidden inputs differ from term to term; a regrade with the same secret reproduces them)."""
    return hidden_rng(f"ps3 {label}")

VALUE_RTOL = 1e-12

# --------------------------------------------------------------------------- programs

BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
UNARY = ("neg", "exp", "log", "sin", "cos")


def apply(instruction, values):
    """Value and edges ((parent index, local derivative), ...) of one instruction."""
    op, *args = instruction
    if op == "const":
        return float(args[0]), ()
    if op == "pow":
        (i, p), u = args, values[args[0]]
        return u**p, ((i, p * u ** (p - 1)),)
    if op in UNARY:
        (i,), u = args, values[args[0]]
        rules = {"neg": lambda: (-u, -1.0), "exp": lambda: (math.exp(u), math.exp(u)),
                 "log": lambda: (math.log(u), 1.0 / u), "sin": lambda: (math.sin(u), math.cos(u)),
                 "cos": lambda: (math.cos(u), -math.sin(u))}
        value, local = rules[op]()
        return value, ((i, local),)
    i, j = args
    a, b = values[i], values[j]
    if op == "add":
        return a + b, ((i, 1.0), (j, 1.0))
    if op == "sub":
        return a - b, ((i, 1.0), (j, -1.0))
    if op == "mul":
        return a * b, ((i, b), (j, a))
    if op == "div":
        return a / b, ((i, 1.0 / b), (j, -a / b**2))
    raise ValueError(f"unknown operation {op!r}")


def run_program(program, inputs):
    """Every value of the program (inputs first) and the edges into each value."""
    values, edges = [float(v) for v in inputs], [() for _ in inputs]
    for instruction in program:
        value, into = apply(instruction, values)
        values.append(value)
        edges.append(into)
    return values, edges


def reverse_sweep(edges, n_inputs: int, output: int, absolute: bool = False):
    """Adjoints of the inputs for one output: the program order reversed is a valid backward
    order. ``absolute=True`` sums |local| |adjoint| instead: the size of what is added up, which
    bounds the rounding of any correct summation order."""
    adjoint = np.zeros(len(edges))
    adjoint[output] = 1.0
    for k in range(output, n_inputs - 1, -1):
        if adjoint[k] == 0.0:
            continue
        for parent, local in edges[k]:
            adjoint[parent] += (abs(local) if absolute else local) * adjoint[k]
    return adjoint[:n_inputs]


def longest_path(edges) -> int:
    depth = [0] * len(edges)
    for k, into in enumerate(edges):
        depth[k] = max((depth[p] + 1 for p, _ in into), default=0)
    return max(depth, default=0)


class Reference:
    """A program's values, gradients of chosen outputs, and rounding allowances."""

    def __init__(self, program, inputs):
        self.program, self.inputs = program, [float(v) for v in inputs]
        self.values, self.edges = run_program(program, inputs)
        self.n = len(self.inputs)
        self.depth = longest_path(self.edges)

    def gradient(self, output: int = -1):
        output = output % len(self.values)
        exact = reverse_sweep(self.edges, self.n, output)
        size = reverse_sweep(self.edges, self.n, output, absolute=True)
        # Any correct order of the same additions and products differs by rounding only:
        # about eps per operation along the way, relative to the sizes of the terms.
        allowance = 8 * EPS * (self.depth + 2) * size + 1e-12 * np.max(np.abs(exact), initial=0.0)
        return exact, allowance


def show_value(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v)


def describe_program(program, inputs, limit: int = 8) -> str:
    """``v0 = 1.5, v1 = -0.3 (inputs); v2 = v0 * v1; v3 = sin(v2)`` (long programs shortened)."""
    n = len(inputs)
    head = ", ".join(f"v{i} = {show_value(float(v))}" for i, v in enumerate(inputs)) + " (inputs)"
    lines = []
    for k, (op, *args) in enumerate(program[:limit]):
        target = f"v{n + k}"
        if op == "const":
            lines.append(f"{target} = {show_value(args[0])}")
        elif op == "pow":
            lines.append(f"{target} = v{args[0]} ** {show_value(args[1])}")
        elif op == "neg":
            lines.append(f"{target} = -v{args[0]}")
        elif op in UNARY:
            lines.append(f"{target} = {op}(v{args[0]})")
        else:
            lines.append(f"{target} = v{args[0]} {BINARY[op]} v{args[1]}")
    if len(program) > limit:
        lines.append(f"... ({len(program)} instructions in all)")
    return head + "; " + "; ".join(lines)


def compare_gradient(label: str, got, expected, allowance, hints=None) -> None:
    """``got`` matches ``expected`` entry by entry within ``allowance`` (rounding only)."""
    check_shape(label, got, expected.shape)
    arr = np.asarray(got, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{label}: your gradient contains NaN or inf: {arr}.")
    if np.all(np.abs(arr - expected) <= allowance):
        return
    message = (f"{label}: wrong gradient.\n  expected {np.array2string(expected, precision=10)}"
               f"\n  got      {np.array2string(arr, precision=10)}")
    for description, wrong in (hints or {}).items():
        if np.shape(wrong) == arr.shape and np.allclose(arr, wrong, rtol=1e-9, atol=1e-12):
            raise CheckFailed(f"{message}\n  Hint: {description}")
    if arr.size > 1:
        message += f"\n  Diagnosis: {diagnose_gradient(arr, expected, name='yours')}"
    raise CheckFailed(message)


def call_program(student, program, inputs, hints=None, label=None, reference=None) -> None:
    """gradient_of_program on one program: the value, then the gradient (``reference``: the
    program's Reference, when it was computed beforehand)."""
    reference = reference or Reference(program, inputs)
    expected, allowance = reference.gradient()
    label = label or f"gradient_of_program for {describe_program(program, inputs)}"
    got = student.call("gradient_of_program", program, list(map(float, inputs)))
    if not isinstance(got, list) or len(got) != 2:
        raise CheckFailed(f"{label}: expected a pair (value, gradient), but got {got!r:.200}.")
    value, gradient = got
    value_rtol = max(VALUE_RTOL, 4 * EPS * (reference.depth + 2))
    check_scalar(f"{label}: the value (the last value of the program)", value,
                 reference.values[-1], rtol=value_rtol, atol=1e-300)
    compare_gradient(label, gradient, expected, allowance, hints)


def random_program(rng: np.random.Generator, n_inputs: int, length: int):
    """A random straight-line program (drawn with ``rng``) whose values stay in a safe range.

    Each instruction reads one or two earlier values, drawn from all of them, so values are
    reused by several later instructions. Operations whose argument would leave
    the safe domain (log of a small number, division by a small number, large exp) are redrawn.
    Whatever the draw (the hidden inputs differ per course secret), every operation occurs at
    least once and the last value depends on every instruction (the values nothing reads are
    added up at the end), so a wrong local derivative always shows in the gradient of the last
    value: a mistake fails for every secret, not for lucky ones.
    """
    inputs = [float(v) for v in np.round(rng.uniform(-1.5, 1.5, n_inputs), 4)]
    values = list(inputs)
    program = []
    ops = ["add", "sub", "mul", "div", "neg", "exp", "log", "sin", "cos", "pow", "const"]
    weights = np.array([3, 3, 3, 2, 1, 1, 1, 2, 2, 1, 0.5])
    missing = set(ops)
    for _ in range(1000 * length):
        if len(program) >= length and not missing:
            break
        if missing and (len(program) >= length or rng.random() < 0.3):
            op = str(rng.choice(sorted(missing)))
        else:
            op = str(rng.choice(ops, p=weights / weights.sum()))
        i, j = (int(k) for k in rng.integers(0, len(values), 2))
        if op == "const":
            instruction = ["const", float(np.round(rng.uniform(-2, 2), 2))]
        elif op == "pow":
            instruction = ["pow", i, int(rng.choice([2, 3, -1]))]
        elif op in UNARY:
            instruction = [op, i]
        else:
            instruction = [op, i, j]
        u, v = values[i], values[j]
        unsafe = ((op == "log" and u < 0.2) or (op == "div" and abs(v) < 0.3)
                  or (op == "exp" and u > 2.0) or (op == "pow" and abs(u) < 0.3))
        if unsafe:
            continue
        value, _ = apply(instruction, values)
        if not abs(value) < 50.0:
            continue
        program.append(instruction)
        values.append(value)
        missing.discard(op)
    else:
        raise RuntimeError("random_program: no safe program found")  # a grader bug: not expected
    read = {k for instruction in program if instruction[0] != "const"
            for k in (instruction[1:] if instruction[0] != "pow" else instruction[1:2])}
    sinks = [k for k in range(n_inputs, len(values)) if k not in read and k != len(values) - 1]
    for k in sinks:  # the last value + every value nothing reads
        program.append(["add", len(values) - 1, k])
        values.append(values[-1] + values[k])
    return program, inputs


def doubling_program(depth: int):
    """b = a + a, c = b + b, ...: output 2**depth * a."""
    return [["add", k, k] for k in range(depth)]


# --------------------------------------------------------------------------- Part A


LOCAL_RULES = {
    "add": "d(a + b)/da = 1, d(a + b)/db = 1",
    "sub": "d(a - b)/da = 1, d(a - b)/db = -1",
    "mul": "d(a b)/da = b, d(a b)/db = a",
    "div": "d(a / b)/da = 1/b, d(a / b)/db = -a/b**2",
    "neg": "d(-a)/da = -1",
    "exp": "d exp(a)/da = exp(a)",
    "log": "d log(a)/da = 1/a",
    "sin": "d sin(a)/da = cos(a)",
    "cos": "d cos(a)/da = -sin(a)",
    "pow": "d(a**p)/da = p a**(p - 1)",
}


def local_cases(rng: np.random.Generator):
    """One operation at a time (and with a constant), at points drawn with ``rng``."""

    def draw(positive=False):
        magnitude = float(np.round(rng.uniform(0.4, 1.8), 4))
        return magnitude if positive or rng.random() < 0.5 else -magnitude

    a, b, p = draw(), draw(), draw(positive=True)
    cases = [([[op, 0, 1]], [a, b]) for op in BINARY]
    cases += [([["sub", 1, 0]], [a, b]), ([["div", 1, 0]], [a, b])]
    cases += [([[op, 0]], [p if op == "log" else a]) for op in UNARY]
    cases += [([["sin", 1]], [a, b])]  # an input the output does not depend on
    cases += [([["pow", 0, k]], [a]) for k in (2, 3, -1)] + [([["pow", 0, 0.5]], [p])]
    cases += [([["const", 2.5], ["sub", 2, 0]], [a, b]),   # 2.5 - a
              ([["const", -1.5], ["div", 2, 1]], [a, b]),  # -1.5 / b
              ([["const", 3.0], ["mul", 0, 1]], [a])]      # a * 3
    return cases


def local_mistakes(program, inputs) -> dict:
    """Known wrong gradients of a one-operation program: description -> gradient."""
    op, *args = program[-1]
    if len(program) > 1 or op == "const":
        return {}
    a = float(inputs[args[0]])
    b = float(inputs[args[1]]) if op in BINARY else None
    n = len(inputs)

    def grad(pairs):
        g = np.zeros(n)
        for index, value in pairs:
            g[index] += value
        return g

    i = args[0]
    j = args[1] if op in BINARY else None
    if op == "mul":
        return {"the local derivatives of a * b are swapped: the edge to a carries b (the OTHER "
                "factor), the edge to b carries a": grad([(i, a), (j, b)])}
    if op == "div":
        return {"d(a / b)/db is -a/b**2 (you have -1/b**2: the factor a is missing)":
                grad([(i, 1 / b), (j, -1 / b**2)]),
                "d(a / b)/db has the wrong sign: it is -a/b**2": grad([(i, 1 / b), (j, a / b**2)])}
    if op == "sub":
        return {"d(a - b)/db is -1, not +1": grad([(i, 1.0), (j, 1.0)])}
    if op == "cos":
        return {"the sign of cos's local derivative is flipped: d cos(a)/da = -sin(a)":
                grad([(i, math.sin(a))])}
    if op == "sin":
        return {"the sign of sin's local derivative is flipped: d sin(a)/da = cos(a), not "
                "-cos(a)": grad([(i, -math.cos(a))])}
    if op == "exp":
        return {"exp's local derivative is missing (edge weight 1 instead of exp(a))":
                grad([(i, 1.0)])}
    if op == "log" and a > 0:
        return {"log's local derivative is 1/a (yours is log(a))": grad([(i, math.log(a))])}
    if op == "neg":
        return {"-a has the local derivative -1, not +1": grad([(i, 1.0)])}
    if op == "pow":
        p = args[1]
        return {"d(a**p)/da is p a**(p - 1) (the power goes down by one)": grad([(i, p * a**p)]),
                "d(a**p)/da is p a**(p - 1): the factor p is missing": grad([(i, a ** (p - 1))])}
    return {}


def local_case(student, program, inputs) -> None:
    op = program[-1][0]
    label = (f"gradient_of_program({program}, {inputs}), that is "
             f"{describe_program(program, inputs)}")
    hints = {text: wrong for text, wrong in local_mistakes(program, inputs).items()}
    try:
        call_program(student, program, inputs, hints=hints, label=label)
    except AssertionError as exc:
        if "wrong gradient" not in str(exc) and "the value" not in str(exc):
            raise  # the call itself failed (raised, hung, crashed): its own message
        if "Hint:" in str(exc):
            raise
        raise CheckFailed(f"{exc}\n  The local derivative rule: {LOCAL_RULES[op]}.") from None


@check("test_local_derivatives")
def local_derivatives(student):
    count = 0
    for k in range(2):
        for program, inputs in local_cases(draws(f"local {k}")):
            local_case(student, program, inputs)
            count += 1
    return (f"gradient_of_program: values and gradients right for every operation alone "
            f"({count} hidden cases, with constants and an unused input).")


def probe_local(student) -> None:
    for program, inputs in local_cases(draws("local probe")):
        local_case(student, program, inputs)


LOCAL = Prerequisite("test_local_derivatives", "your engine (Node, its operations and "
                     "gradient_of_program)", probe_local)


def shared_cases():
    """Graphs where nodes are read by several children: (label, program, inputs, hints)."""
    x = 0.8125
    cases = [
        ("x * x", [["mul", 0, 0]], [x],
         {"you got x, not 2x: the second use of x overwrote the first. Adjoints must be "
          "ADDED over all uses (+=), never assigned": [x]}),
        ("b = a + a; c = b + b", doubling_program(2), [1.5],
         {"you got 1, not 4: each use overwrote the adjoint instead of adding to it (+=)": [1.0],
          "you got 6, not 4: a node passed its adjoint on before all its children had added "
          "theirs (visit nodes in reverse topological order, each once)": [6.0]}),
        ("b = a + a; c = b + b; ... (5 doublings)", doubling_program(5), [-0.75],
         {"you got 1, not 32: adjoints overwritten instead of added (+=)": [1.0]}),
        ("x * x * x", [["mul", 0, 0], ["mul", 1, 0]], [x], {}),
        ("sin(x) * cos(x) (a diamond)", [["sin", 0], ["cos", 0], ["mul", 1, 2]], [x], {}),
        ("exp(x) * exp(x) + exp(x), one exp node with three uses",
         [["exp", 0], ["mul", 1, 1], ["add", 2, 1]], [-0.4], {}),
        ("Domke's trace: a = exp(x), b = a * a, c = a + b, exp(c) + sin(c)",
         [["exp", 0], ["mul", 1, 1], ["add", 1, 2], ["exp", 3], ["sin", 3], ["add", 4, 5]],
         [0.0], {}),
        ("Stan's trace of the normal log-density at (y, mu, sigma)",
         [["sub", 0, 1], ["div", 3, 2], ["pow", 4, 2], ["const", -0.5], ["mul", 6, 5],
          ["log", 2], ["sub", 7, 8], ["const", 0.5 * math.log(2 * math.pi)], ["sub", 9, 10]],
         [2.0, 0.5, 1.2], {}),
    ]
    for k in range(4):
        program, inputs = random_program(draws(f"shared {k}"), n_inputs=3, length=30)
        cases.append((f"a random program with reused values (hidden case {k + 1})", program,
                      inputs, {}))
    return cases


def shared_case(student, name, program, inputs, hints) -> None:
    label = f"gradient_of_program for {name}: {describe_program(program, inputs)}"
    hints = {text: np.array(wrong, dtype=float) for text, wrong in hints.items()}
    call_program(student, program, inputs, hints=hints, label=label)


@check("test_shared_nodes")
def shared_nodes(student):
    for case in shared_cases():
        with fix_first(student, [LOCAL]):
            shared_case(student, *case)
    return ("Reused nodes: x * x, doubling chains, diamonds, Domke's and Stan's traces and 4 random "
            "programs with shared values all right.")


def probe_shared(student) -> None:
    for case in shared_cases()[:6]:  # x * x, doubling chains, a diamond, one exp with three uses
        shared_case(student, *case)


SHARED = Prerequisite("test_shared_nodes", "your backward sweep (backprop)", probe_shared)
ENGINE = [LOCAL, SHARED]


def huang_chain(x: float, steps: int):
    """z_0 = 0, z_{k+1} = sin(z_k x) + x: three instructions per step."""
    program = [["const", 0.0]]
    z = 1
    for _ in range(steps):
        product = 1 + len(program)
        program += [["mul", z, 0], ["sin", product], ["add", product + 1, 0]]
        z = product + 2
    return program, [x]


def add_chain(length: int):
    """v = x; v = v + x, ``length`` times: derivative length + 1."""
    return [["add", 0, 0]] + [["add", k, 0] for k in range(1, length)]


# The long programs' references are computed when the checks are loaded, not inside the check:
# the check's time goes to the student's engine and to sending 15 000 instructions both ways.
DEEP_PROGRAMS = {"adds": (add_chain(10_000), [0.25]), "huang": huang_chain(0.7, 5000)}
DEEP_REFERENCES = {key: Reference(*program) for key, program in DEEP_PROGRAMS.items()}


@check("test_deep_graphs", timeout=10)  # correct answers send 25 000 instructions: not instant
def deep_graphs(student):
    passed_on_early = ("you got 26, not 8: a node passed its adjoint on before all its children "
                       "had added theirs (visit nodes in reverse topological order, each once)")
    first = {"you got 1, not 8: adjoints overwritten instead of added (+=)": [1.0],
             passed_on_early: [26.0]}
    cases = [
        ("b = a + a; c = b + b; d = c + c", doubling_program(3), [0.5], first),
        ("v = x + x, then v = v + x again and again: 10 000 additions", *DEEP_PROGRAMS["adds"],
         {}),
        ("Huang's recursion z = sin(z x) + x, 5000 steps (15 001 instructions)",
         *DEEP_PROGRAMS["huang"], {}),
        ("a doubling chain b = a + a, c = b + b, ... of depth 40 (2**40 paths from the output "
         "to the input, but only 41 nodes)", doubling_program(40), [1.0], {}),
    ]
    references = {id(program): reference for (program, _), reference in
                  zip(DEEP_PROGRAMS.values(), DEEP_REFERENCES.values())}
    for name, program, inputs, hints in cases:
        label = f"gradient_of_program for {name}"
        hints = {text: np.array(wrong, dtype=float) for text, wrong in hints.items()}
        try:
            with fix_first(student, ENGINE):
                call_program(student, program, inputs, hints=hints, label=label,
                             reference=references.get(id(program)))
        except CheckFailed as exc:
            if "RecursionError" in str(exc):
                raise CheckFailed(
                    f"{exc}\n  Hint: a recursive function (a recursive topological sort or a "
                    "recursive backward pass) goes as deep as the graph, and Python stops at "
                    "about 1000 nested calls. Use a loop with an explicit stack.") from None
            raise
    return ("Deep graphs: 10 000 additions, 5000 steps of z = sin(z x) + x and a doubling chain "
            "of depth 40, each swept once, without recursion.")


# --------------------------------------------------------------------------- Part B


def domke_derivative(x: float) -> float:
    a = math.exp(x)
    c = a + a * a
    return a * (1 + 2 * a) * (math.exp(c) + math.cos(c))


@check("test_domke")
def domke(student):
    rng = draws("domke")
    points = [0.0, -2.0, 1.0] + [float(v) for v in np.round(rng.uniform(-2.0, 1.0, 4), 6)]
    for x in points:
        a = math.exp(x)
        c = a + a * a
        expected = domke_derivative(x)
        got = student.call("grad_domke", x)
        check_scalar(f"grad_domke({x!r})", got)
        value = float(np.asarray(got, dtype=float).reshape(-1)[0])
        if abs(value - expected) <= 1e-12 * abs(expected):
            continue
        wrong = {
            "a = exp(x) kept only the adjoint from c = a + b (the one through b = a*a was "
            "overwritten): add the contributions of all children": a * (math.exp(c) + math.cos(c)),
            "a = exp(x) kept only the adjoint from b = a*a: add the contributions of all "
            "children": a * 2 * a * (math.exp(c) + math.cos(c)),
            "the local derivative of exp is missing (d exp(u)/du = exp(u))":
                (1 + 2 * a) * (1 + math.cos(c)),
            "the sign of the sine's derivative is flipped": a * (1 + 2 * a) * (math.exp(c) - math.cos(c)),
        }
        hint = next((text for text, v in wrong.items() if math.isclose(value, v, rel_tol=1e-9)),
                    None)
        with fix_first(student, ENGINE):
            raise CheckFailed(f"grad_domke({x!r}): got {value!r}, expected {expected!r} "
                              f"(f'(x) = exp(x) (1 + 2 exp(x)) (exp(c) + cos(c)), c = exp(x) + "
                              f"exp(2x)), relative error {abs(value - expected) / abs(expected):.1e}."
                              + (f"\n  Hint: {hint}" if hint else ""))
    return f"grad_domke matches f'(x) at {len(points)} hidden points, x = 0 included (20.9187...)."


def normal_gradient(y: float, mu: float, sigma: float) -> np.ndarray:
    r = (y - mu) / sigma
    return np.array([-r / sigma, r / sigma, r * r / sigma - 1.0 / sigma])


@check("test_normal_logpdf")
def normal_logpdf(student):
    rng = draws("normal logpdf")
    cases = [(2.0, 0.5, 1.2), (0.3, 0.3, 0.7), (-1.0, 2.0, 0.05), (4.0, -3.0, 10.0)]
    for _ in range(4):
        y, mu = (float(v) for v in np.round(rng.uniform(-3, 3, 2), 5))
        cases.append((y, mu, float(np.round(rng.uniform(0.2, 4.0), 5))))
    for y, mu, sigma in cases:
        expected = normal_gradient(y, mu, sigma)
        r = (y - mu) / sigma
        hints = {
            "the derivative with respect to mu has the wrong sign: d(y - mu)/dmu = -1":
                expected * np.array([1.0, -1.0, 1.0]),
            "sigma has two children (the division and the log): your adjoint of sigma kept only "
            "the one from log(sigma); add both": np.array([-r / sigma, r / sigma, -1.0 / sigma]),
            "sigma has two children (the division and the log): your adjoint of sigma kept only "
            "the one from the division; add both": np.array([-r / sigma, r / sigma, r * r / sigma]),
            "the derivative with respect to sigma is twice the log term: f has -log(sigma), "
            "not -log(sigma**2)": np.array([-r / sigma, r / sigma, r * r / sigma - 2.0 / sigma]),
            "the gradient of -f: every sign is flipped (f = -z**2/2 - log(sigma) - log(2 pi)/2 "
            "with z = (y - mu)/sigma)": -expected,
        }
        got = student.call("grad_normal_logpdf", y, mu, sigma)
        with fix_first(student, ENGINE):
            compare_gradient(f"grad_normal_logpdf({y!r}, {mu!r}, {sigma!r}) (df/dy, df/dmu, df/dsigma)",
                             got, expected, 1e-12 * np.max(np.abs(expected)) + 4 * EPS * (
                                 np.abs(expected) + r * r / sigma + 1 / sigma), hints)
    return (f"grad_normal_logpdf matches (-(y-mu)/sigma^2, (y-mu)/sigma^2, (y-mu)^2/sigma^3 - "
            f"1/sigma) in {len(cases)} hidden cases, y = mu included.")


# --------------------------------------------------------------------------- Part C


LECTURE_F = [  # F(x) = (x0 x1 + sin x0, exp(x0) x1^2, x0 / x1): outputs v4, v7, v8
    ["mul", 0, 1], ["sin", 0], ["add", 2, 3], ["exp", 0], ["pow", 1, 2], ["mul", 5, 6],
    ["div", 0, 1],
]


def jacobian_cases():
    rng = draws("jacobian")
    cases = [("Lecture 3's F(x) = (x0 x1 + sin x0, exp(x0) x1^2, x0 / x1)", LECTURE_F,
              [1.0, 0.5], [4, 7, 8])]
    x = [float(v) for v in np.round(rng.uniform(0.4, 1.5, 2), 5)]
    cases.append(("the same F at a hidden point", LECTURE_F, x, [4, 7, 8]))
    cases.append(("the same F, outputs in another order, one of them twice", LECTURE_F, x,
                  [8, 4, 4, 7]))
    cases.append(("outputs that do not depend on every input: x0 x1, then sin(x0) and exp(sin(x0))",
                  [["mul", 0, 1], ["sin", 0], ["exp", 3]], [0.6, -1.1], [2, 3, 4]))
    cases.append(("outputs that are inputs (rows of the identity) after a full row",
                  LECTURE_F, [0.9, -0.7], [4, 1, 0]))
    cases.append(("an output and an intermediate value it is computed from",
                  [["sin", 0], ["mul", 2, 1], ["add", 3, 2]], [0.3, 2.0], [4, 2, 3]))
    program, inputs = random_program(draws("jacobian program"), n_inputs=4, length=25)
    outputs = [len(inputs) + len(program) - 1] + [int(k) for k in rng.integers(0, 28, 4)]
    cases.append(("a random program with 4 inputs and 5 outputs", program, inputs, outputs))
    return cases


def jacobian_hint(student, program, inputs, outputs, bad, arr, expected, allowance) -> str:
    """Tell a wrong engine from a missing reset: the same row from a fresh graph."""
    output = outputs[bad]
    if bad == 0 or output < len(inputs):
        return ""
    stale = np.cumsum(expected, axis=0)
    if np.allclose(arr[: bad + 1], stale[: bad + 1], rtol=1e-9, atol=1e-12):
        return (f"\n  Hint: row {bad} is the sum of rows 0..{bad}: the adjoints of the earlier "
                "sweeps were not set back to 0 before this one.")
    try:  # a diagnostic only: if this call fails, the message about the row stands alone
        fresh = student.call("gradient_of_program", program[: output - len(inputs) + 1], inputs)
    except CheckFailed:
        return ""
    row = np.asarray(fresh[1], dtype=float) if isinstance(fresh, list) and len(fresh) == 2 else None
    if row is not None and row.shape == expected[bad].shape and np.all(
            np.abs(row - expected[bad]) <= allowance[bad]):
        return ("\n  Hint: your gradient_of_program gets this row right on a fresh graph, so "
                "the earlier sweeps left adjoints behind: set the adjoint of EVERY node (the "
                "inputs this output does not depend on included) to 0 before each sweep.")
    return ("\n  Hint: your gradient_of_program gets this gradient wrong too (on a fresh graph): "
            "fix Part A first.")


@check("test_jacobian")
def jacobian(student):
    for name, program, inputs, outputs in jacobian_cases():
        reference = Reference(program, inputs)
        rows = [reference.gradient(k) for k in outputs]
        expected = np.array([row for row, _ in rows])
        allowance = np.array([a for _, a in rows])
        got = student.call("jacobian_of_program", program, inputs, outputs)
        label = (f"jacobian_of_program(program, inputs, outputs={outputs}) for {name}: "
                 f"{describe_program(program, inputs)}")
        with fix_first(student, ENGINE):
            check_shape(label, got, expected.shape)
        arr = np.asarray(got, dtype=float)
        if np.all(np.abs(arr - expected) <= allowance):
            continue
        bad = int(np.argmax(np.any(np.abs(arr - expected) > allowance, axis=1)))
        with fix_first(student, ENGINE):
            raise CheckFailed(
                f"{label}: row {bad} (the gradient of v{outputs[bad]}) is wrong.\n"
                f"  expected {np.array2string(expected[bad], precision=10)}\n"
                f"  got      {np.array2string(arr[bad], precision=10)}"
                f"{jacobian_hint(student, program, inputs, outputs, bad, arr, expected, allowance)}")
    return ("jacobian_of_program right for F: R^2 -> R^3, repeated outputs, inputs as outputs, "
            "outputs that skip an input, and a random program.")


# --------------------------------------------------------------------------- Part D


IN_SANDBOX = r'''
CALLS = []  # one entry per evaluation of a test function: [name, "numbers" or "other"]


def _record(name, x):
    plain = all(isinstance(value, (int, float, complex)) for value in x)
    CALLS.append([name, "numbers" if plain else "other"])


def reset_calls():
    CALLS.clear()


def rosenbrock(x):
    """Rosenbrock's function of n >= 2 inputs: sum of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    _record("rosenbrock", x)
    total = 0.0
    for i in range(len(x) - 1):
        valley = x[i + 1] - x[i] * x[i]
        offset = 1.0 - x[i]
        total = total + 100.0 * valley * valley + offset * offset
    return total


def neighbour_ratios(x):
    """sum over i of x[i] x[i+1] / (1 + x[i]^2), the index i+1 taken cyclically (n >= 2)."""
    _record("neighbour_ratios", x)
    n = len(x)
    total = 0.0
    for i in range(n):
        total = total + x[i] * x[(i + 1) % n] / (1.0 + x[i] * x[i])
    return total
'''
# The same text is the reference here: the test functions are written once.
_HERE = {}
exec(IN_SANDBOX, _HERE)  # our own text only
_HERE["_record"] = lambda name, x: None  # here nothing is counted
rosenbrock, neighbour_ratios = _HERE["rosenbrock"], _HERE["neighbour_ratios"]


def complex_step_gradient(f, x, h=1e-30):
    grad = np.empty(len(x))
    for i in range(len(x)):
        shifted = np.array(x, dtype=complex)
        shifted[i] += 1j * h
        grad[i] = np.imag(f(shifted)) / h
    return grad


def provide(student) -> None:
    """Define the grader's test functions in the check process (once per check)."""
    student.define(IN_SANDBOX)


def evaluations(student, x, name: str = "rosenbrock") -> list:
    """How reverse_gradient(name, x) evaluates the grader's own ``name`` (which records each of
    its evaluations itself: the notebook's count_evaluations and CallCounter are not used, and
    no wrapper stands between the student's code and the function), after checking the values."""
    student.call_helper("reset_calls")
    got = student.call("reverse_gradient", student.helper(name), x.copy())
    expected = complex_step_gradient(rosenbrock, x)
    if not (np.shape(got) == (len(x),) and np.allclose(np.asarray(got, dtype=float), expected,
                                                       rtol=1e-12, atol=1e-12)):
        raise CheckFailed(f"reverse_gradient({name}, x) with n = {len(x)} gives a wrong gradient, "
                          "so its evaluation count cannot be graded: fix the values first.")
    return [kind for called, kind in student.get_helper("CALLS") if called == name]


@check("test_reverse_gradient")
def reverse_gradient(student):
    provide(student)
    rng = draws("reverse gradient")
    functions = {"rosenbrock": (rosenbrock, (2, 3, 10, 40)),
                 "neighbour_ratios": (neighbour_ratios, (2, 5, 17))}
    cases = 0
    for name, (fn, sizes) in functions.items():
        for n in sizes:
            x = np.round(rng.uniform(-1.5, 1.5, n), 5)
            expected = complex_step_gradient(fn, x)
            got = student.call("reverse_gradient", student.helper(name), x.copy())
            label = f"reverse_gradient({name}, x) with x = {np.array2string(x, precision=4, threshold=6)}"
            check_shape(label, got, (n,))
            arr = np.asarray(got, dtype=float)
            scale = np.max(np.abs(expected))
            if not np.all(np.abs(arr - expected) <= 1e-12 * scale + 1e-11 * np.abs(expected)):
                with fix_first(student, ENGINE):
                    raise CheckFailed(
                        f"{label}: wrong gradient (n = {n}).\n  Diagnosis: "
                        f"{diagnose_gradient(arr, expected, name='yours')}")
            cases += 1
    for n in (2, 6):
        x = np.round(rng.uniform(-1.0, 1.0, n), 5)
        calls = evaluations(student, x)
        if len(calls) != 1:
            raise CheckFailed(
                f"reverse_gradient(rosenbrock, x) with n = {n} inputs evaluated rosenbrock "
                f"{len(calls)} times: reverse mode evaluates f exactly once (on nodes), then ONE "
                "backward sweep gives every partial derivative.")
        if calls == ["numbers"]:
            raise CheckFailed(
                f"reverse_gradient(rosenbrock, x) with n = {n} evaluated rosenbrock once, on plain "
                "numbers: the gradient must come from that one evaluation on your nodes "
                "(f(inputs) with inputs = [Node(v) for v in x]) and one backward sweep.")
    return (f"reverse_gradient right for rosenbrock and neighbour_ratios ({cases} hidden cases, "
            "n from 2 to 40), with one evaluation of f.")
