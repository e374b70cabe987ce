"""PS6 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps6.ipynb. Design:

* The student's ``Tensor`` never crosses the wire (a check receives plain data only). The
  notebook's locked cell ``gradients_of_program(program, inputs, seed=None, sweeps=1)`` runs a
  *program* (plain data: a list of instructions such as ``["sum", 0, {"axis": 1}]``, the array
  version of PS3's Wengert lists) on the student's tensors, calls their ``backward`` and returns
  the value and the ``.grad`` of every input. So the grader hands the engine any graph it likes
  and recognises the engine by what it computes, never by a name or an attribute.
* References are computed HERE: the same program in plain NumPy, differentiated by
  ``mlpkit.reverse`` (forbidden in the student's sandbox, allowed in the grader), one VJP per
  input. Batch normalisation is compared with ``mlpkit.reverse`` on a NumPy function; the
  fused softmax with its closed form.
* Hidden inputs come from ``hidden_rng(label)`` (keyed by the course secret); the structure of
  each probe (non-square shapes, batch > 1, repeated indices, p != 0.5) is fixed, so every draw
  separates the same mistakes.
* Hints name the cause in the problem set's words (unbroadcast, keepdims, np.add.at, topological
  order, +=, zeroing, the mean term of batchnorm, the 1/(1 - p) of dropout); a check that fails
  only because an earlier part is broken says which part to fix first.

Why one file of about 900 lines: nbgrader loads exactly one ``checks.py`` per problem set, and
its eleven checks share the program interpreter, the references and the diagnostics above them.

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py).
"""

from __future__ import annotations

import itertools

import numpy as np

from autograder import CheckFailed, check, hidden_rng
from mlpkit.grading import check_shape, diagnose_gradient
from mlpkit.reverse import gradient as reverse_gradient
from mlpkit.reverse import vjp as reverse_vjp

REASON = "PS6 asks you to write the array-level reverse-mode engine yourself"
FORBIDDEN_MODULES = {
    "mlpkit.reverse": REASON,
    "mlpkit.rules": REASON,
    "mlpkit.nn": "PS6 asks you to write the layers' backward passes yourself",
    "mlpkit.forward": REASON,
    "mlpkit.nesting": REASON,
    "autograd": REASON,
    "torch": REASON,
    "jax": REASON,
}

GRAD_RTOL = 1e-12   # AD against AD: rounding only (relative, in norm over the array)
VALUE_RTOL = 1e-13
ENGINE_CHECKS = "Part A (test_elementwise ... test_graph)"

# --------------------------------------------------------------------------- programs in NumPy

BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
          "matmul": np.matmul}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}
RULES = {
    "add": "d(a + b) = g for both, summed back to each operand's shape",
    "sub": "d(a - b): g for a, -g for b, summed back to each shape",
    "mul": "d(a * b): g * b for a, g * a for b, summed back to each shape",
    "div": "d(a / b): g / b for a, -g * a / b**2 for b, summed back to each shape",
    "matmul": "d(A @ B): g @ B.T for A, A.T @ g for B",
    "pow": "d(a ** p) = g * p * a ** (p - 1)",
    "neg": "d(-a) = -g",
    "exp": "d exp(a) = g * exp(a)",
    "log": "d log(a) = g / a",
    "tanh": "d tanh(a) = g * (1 - tanh(a)**2)",
    "sum": "the VJP of sum copies g back along the summed axes (put them back with length 1 "
           "when keepdims=False, then broadcast to the input's shape)",
    "mean": "the VJP of mean is that of sum divided by the number of entries averaged",
    "reshape": "the VJP of reshape reshapes g back to the input's shape",
    "transpose": "the VJP of transpose(axes) transposes g by the inverse permutation "
                 "(np.argsort(axes); None reverses the axes again)",
    "index": "the VJP of x[index] scatters g into zeros shaped like x, ADDING at repeated "
             "indices: np.add.at(full, index, g)",
}


def _tuples(options):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in (options or {}).items()}


def numpy_program(program, inputs, wrt: int):
    """The program as a NumPy function of input ``wrt`` (the others fixed), for mlpkit.reverse."""
    fixed = [np.array(x, dtype=float) for x in inputs]

    def run(x):
        values = list(fixed)
        values[wrt] = x
        for op, *args in program:
            if op == "const":
                new = np.array(args[0], dtype=float)
            elif op in BINARY:
                new = BINARY[op](values[args[0]], values[args[1]])
            elif op == "left":
                new = BINARY[args[0]](args[1], values[args[2]])
            elif op == "right":
                new = BINARY[args[0]](values[args[1]], args[2])
            elif op == "pow":
                new = values[args[0]] ** args[1]
            elif op == "neg":
                new = -values[args[0]]
            elif op in ("exp", "log", "tanh"):
                new = getattr(np, op)(values[args[0]])
            elif op in ("sum", "mean"):
                new = getattr(np, op)(values[args[0]], **_tuples(args[1] if len(args) > 1 else {}))
            elif op == "transpose":
                new = np.transpose(values[args[0]], **_tuples(args[1] if len(args) > 1 else {}))
            elif op == "reshape":
                new = np.reshape(values[args[0]], tuple(args[1]))
            elif op == "index":
                new = values[args[0]][tuple(np.asarray(k, dtype=int) for k in args[1])]
            else:
                raise ValueError(f"unknown instruction {op!r}")
            values.append(new)
        return values[-1]

    return run


def reference(program, inputs, seed=None, sweeps=1):
    """(value, [gradient of each input]) by mlpkit.reverse, ``sweeps`` times the one-sweep VJP."""
    value = np.asarray(numpy_program(program, inputs, 0)(np.array(inputs[0], dtype=float)))
    u = np.ones(value.shape) if seed is None else np.array(seed, dtype=float)
    grads = []
    for k, x in enumerate(inputs):
        _, g = reverse_vjp(numpy_program(program, inputs, k), np.array(x, dtype=float), u)
        grads.append(sweeps * np.asarray(g, dtype=float).reshape(np.shape(x)))
    return value, grads


def show_shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def describe(program, inputs, limit: int = 6) -> str:
    """``v0: (2, 3), v1: (3,) (inputs); v2 = v0 + v1; v3 = v2.sum(axis=1)``."""
    head = ", ".join(f"v{i}: {show_shape(np.shape(x))}" for i, x in enumerate(inputs)) + " (inputs)"
    lines, n = [], len(inputs)
    for k, (op, *args) in enumerate(program[:limit]):
        t = f"v{n + k}"
        if op == "const":
            lines.append(f"{t} = a constant of shape {show_shape(np.shape(args[0]))}")
        elif op in BINARY:
            lines.append(f"{t} = v{args[0]} {SYMBOL[op]} v{args[1]}")
        elif op == "left":
            lines.append(f"{t} = {args[1]!r} {SYMBOL[args[0]]} v{args[2]}")
        elif op == "right":
            lines.append(f"{t} = v{args[1]} {SYMBOL[args[0]]} {args[2]!r}")
        elif op == "pow":
            lines.append(f"{t} = v{args[0]} ** {args[1]!r}")
        elif op == "neg":
            lines.append(f"{t} = -v{args[0]}")
        elif op in ("exp", "log", "tanh"):
            lines.append(f"{t} = v{args[0]}.{op}()")
        elif op in ("sum", "mean", "transpose"):
            options = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}"
                                for k, v in (args[1] if len(args) > 1 else {}).items())
            lines.append(f"{t} = v{args[0]}.{op}({options})")
        elif op == "reshape":
            lines.append(f"{t} = v{args[0]}.reshape({tuple(args[1])})")
        elif op == "index":
            shown = ", ".join(np.array2string(np.asarray(k), separator=",") for k in args[1])
            lines.append(f"{t} = v{args[0]}[{shown}]")
    if len(program) > limit:
        lines.append(f"... ({len(program)} instructions in all)")
    return head + "; " + "; ".join(lines)


def seed_text(seed, sweeps) -> str:
    text = "" if seed is None else ", seed=<an array of the output's shape>"
    return text + ("" if sweeps == 1 else f", sweeps={sweeps}")


def run_case(student, program, inputs, seed=None, sweeps=1, label=None, rule=None,
             hints=None, expected=None) -> None:
    """gradients_of_program on one program, compared with mlpkit.reverse on the same program
    (or with ``expected`` = (value, gradients), when the caller has it)."""
    label = label or describe(program, inputs)
    call = f"gradients_of_program(program, inputs{seed_text(seed, sweeps)}) for {label}"
    value, grads = expected or reference(program, inputs, seed, sweeps)
    kwargs = {}
    if seed is not None:
        kwargs["seed"] = np.array(seed, dtype=float)
    if sweeps != 1:
        kwargs["sweeps"] = sweeps
    rule_text = f"\n  The rule: {rule}." if rule else ""
    try:
        got = student.call("gradients_of_program", program, [np.array(x, dtype=float) for x in inputs],
                           **kwargs)
    except CheckFailed as exc:
        where = ("\n  Hint: the error is raised inside your unbroadcast: it must return an array of "
                 "exactly the operand's shape." if "in unbroadcast" in str(exc) else "")
        raise CheckFailed(f"{exc}\n  This happened in {call}.{rule_text}{where}") from None
    if not isinstance(got, list) or len(got) != 2 or not isinstance(got[1], list):
        raise CheckFailed(f"{call}: expected (value, [grad of each input]), got {got!r:.200}.")
    got_value, got_grads = got
    check_shape(f"{call}: the value of the last tensor (its .value)", got_value, value.shape)
    got_value = np.asarray(got_value, dtype=float)
    if not np.allclose(got_value, value, rtol=VALUE_RTOL, atol=1e-300):
        raise CheckFailed(f"{call}: the forward value is wrong.\n  expected "
                          f"{np.array2string(value, precision=8, threshold=8)}\n  got      "
                          f"{np.array2string(got_value, precision=8, threshold=8)}{rule_text}")
    if len(got_grads) != len(inputs):
        raise CheckFailed(f"{call}: expected {len(inputs)} gradients, got {len(got_grads)}.")
    scale = max(float(np.linalg.norm(g)) for g in grads) or 1.0
    for k, (g_got, g_exp) in enumerate(zip(got_grads, grads)):
        name = f"v{k}.grad"
        plain = isinstance(g_got, (np.ndarray, float, int)) and not isinstance(g_got, bool)
        arr = np.asarray(g_got, dtype=float) if plain else None
        if arr is None or arr.shape != g_exp.shape:
            shape = np.shape(g_got) if arr is None else arr.shape
            message = (f"{call}: {name} has shape {show_shape(shape)}, but v{k} has shape "
                       f"{show_shape(g_exp.shape)}: a gradient has the shape of its tensor.")
            if arr is not None and len(shape) >= len(g_exp.shape) and shape != g_exp.shape:
                message += ("\n  Hint: v{k} was broadcast; its gradient must be summed back to its "
                            "own shape (unbroadcast: sum the extra leading axes, then the axes "
                            "where v{k} has length 1, keeping them).").format(k=k)
            raise CheckFailed(message + rule_text)
        if not np.all(np.isfinite(arr)):
            raise CheckFailed(f"{call}: {name} contains NaN or inf.{rule_text}")
        error = float(np.linalg.norm(arr - g_exp))
        if error <= GRAD_RTOL * max(float(np.linalg.norm(g_exp)), 1e-3 * scale):
            continue
        message = (f"{call}: {name} is wrong (relative error "
                   f"{error / max(float(np.linalg.norm(g_exp)), 1e-300):.2g}).\n  expected "
                   f"{np.array2string(g_exp, precision=6, threshold=12)}\n  got      "
                   f"{np.array2string(arr, precision=6, threshold=12)}")
        for text, wrong in (hints or {}).items():
            if np.shape(wrong[k]) == arr.shape and np.allclose(arr, wrong[k], rtol=1e-9, atol=1e-12):
                raise CheckFailed(f"{message}\n  Hint: {text}")
        if not np.any(g_exp):
            message += "\n  v{k} does not influence the output here: its .grad must stay 0.".format(k=k)
        elif arr.size > 1:
            message += f"\n  Diagnosis: {diagnose_gradient(arr, g_exp, name=name)}"
        raise CheckFailed(message + rule_text)


# --------------------------------------------------------------------------- Part A1: operations


def positive(rng, shape, low=0.5, high=2.0):
    return np.round(rng.uniform(low, high, shape), 6)


def signed(rng, shape, size=1.5):
    return np.round(rng.uniform(-size, size, shape), 6)


@check("test_elementwise")
def elementwise(student):
    rng = hidden_rng("ps6 test_elementwise")
    shape = (3, 4)
    a, b = signed(rng, shape), positive(rng, shape) * rng.choice([-1.0, 1.0], shape)
    cases = [([[op, 0, 1]], [a, b], op) for op in ("add", "sub", "mul", "div")]
    cases += [([[op, 1, 0]], [a, b], op) for op in ("sub", "div")]
    c = float(np.round(rng.uniform(1.5, 3.0), 3))
    for op in ("add", "sub", "mul", "div"):
        cases.append(([["left", op, c, 0]], [b], op))   # c - x, c / x: the reflected methods
        cases.append(([["right", op, 0, c]], [a], op))
    cases += [([["pow", 0, p]], [positive(rng, shape) if p == 0.5 else a], "pow")
              for p in (2, 3, -1, 0.5)]
    cases += [([["neg", 0]], [a], "neg"), ([["exp", 0]], [a], "exp"),
              ([["log", 0]], [positive(rng, shape, 0.3, 3.0)], "log"),
              ([["tanh", 0]], [signed(rng, shape, 2.0)], "tanh"),
              ([["tanh", 0]], [signed(rng, (5,), 2.0)], "tanh")]
    count = 0
    for k, (program, inputs, op) in enumerate(cases):
        out_shape = np.shape(reference(program, inputs)[0])
        seed = None if k % 3 == 0 else signed(rng, out_shape)
        run_case(student, program, inputs, seed=seed, rule=RULES[op])
        count += 1
    return (f"every element-wise operation right, reflected ones (c - x, c / x) included "
            f"({count} hidden cases, with and without a seed).")


def broadcast_shapes():
    """Every shape that broadcasts into (2, 3, 4): the trailing k axes, each full or 1."""
    full = (2, 3, 4)
    shapes = []
    for k in range(4):
        for ones in itertools.product((False, True), repeat=k):
            shapes.append(tuple(1 if one else n for one, n in zip(ones, full[3 - k:])))
    return shapes


LOCAL = {  # element-wise partial derivatives of a op b (broadcast against each other)
    "add": lambda a, b: (np.ones_like(a * b), np.ones_like(a * b)),
    "sub": lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b)),
    "mul": lambda a, b: (b + 0 * a, a + 0 * b),
    "div": lambda a, b: (1 / b + 0 * a, -a / b**2),
}


def sum_to_shape(g, shape):
    """Sum a broadcast result's adjoint back to an operand's shape (the grader's own copy; the
    checks were validated against mlpkit.reverse on every pattern)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(k for k, n in enumerate(shape) if n == 1 and g.shape[k] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def combined_program(pairs):
    """One program for several (op, a, b) patterns: sum(W_k * (a_k op b_k)) added up over k,
    with constant weights W_k shaped like each result (fewer round trips to the sandbox)."""
    inputs = [array for _, a, b, _ in pairs for array in (a, b)]
    program, terms = [], []
    n = 2 * len(pairs)
    for k, (op, _, _, weight) in enumerate(pairs):
        program += [[op, 2 * k, 2 * k + 1], ["const", weight]]
        product = n + len(program)
        program += [["mul", product - 2, product - 1], ["sum", product]]
        terms.append(n + len(program) - 1)
    total = terms[0]
    for term in terms[1:]:
        program.append(["add", total, term])
        total = n + len(program) - 1
    return program, inputs


@check("test_broadcasting")
def broadcasting(student):
    rng = hidden_rng("ps6 test_broadcasting")
    shapes = broadcast_shapes()
    ops = ("add", "sub", "mul", "div")
    patterns = []
    for k, (sa, sb) in enumerate(itertools.product(shapes, shapes)):
        op = ops[k % 4]
        a = signed(rng, sa)
        b = positive(rng, sb) * rng.choice([-1.0, 1.0], sb) if op == "div" else signed(rng, sb)
        patterns.append((op, a, b, signed(rng, np.broadcast_shapes(sa, sb))))
    batch = 45
    for start in range(0, len(patterns), batch):
        group = patterns[start:start + batch]
        program, inputs = combined_program(group)
        value, grads = 0.0, []
        for op, a, b, weight in group:  # the reference pattern by pattern, in closed form
            local_a, local_b = LOCAL[op](a, b)
            value += float(np.sum(weight * BINARY[op](a, b)))
            grads += [sum_to_shape(weight * local_a, a.shape), sum_to_shape(weight * local_b, b.shape)]
        try:
            run_case(student, program, inputs, label=f"{len(group)} broadcasting patterns at once",
                     expected=(np.asarray(value), grads))
            continue
        except CheckFailed as exc:
            combined = str(exc)
        for op, a, b, weight in group:  # find the pattern that fails, and report it alone
            run_case(student, [[op, 0, 1]], [a, b], seed=weight, rule=RULES[op])
        raise CheckFailed(f"{combined}\n  Each of these patterns is right on its own; what combines "
                          "them (* by a constant of the same shape, sum(), + of numbers) is not: "
                          "fix test_elementwise and test_reductions first.")
    return (f"broadcasting right in reverse for all {len(patterns)} pairs of shapes that broadcast "
            "together within (2, 3, 4) (missing leading axes and axes of length 1, on either side).")


REDUCTION_OPTIONS = [None, {}, {"axis": 0}, {"axis": 1}, {"axis": -1}, {"axis": [0, 2]},
                     {"axis": [-1, 0]}, {"axis": None, "keepdims": True}, {"keepdims": False},
                     {"axis": 1, "keepdims": True}, {"axis": -1, "keepdims": False},
                     {"axis": [0, 2], "keepdims": True}]


@check("test_reductions")
def reductions(student):
    rng = hidden_rng("ps6 test_reductions")
    count = 0
    for shape in ((3, 5), (2, 3, 4), (5,)):
        x = signed(rng, shape)
        for op in ("sum", "mean"):
            for options in REDUCTION_OPTIONS:
                axis = (options or {}).get("axis")
                axes = axis if isinstance(axis, list) else [axis] if axis is not None else []
                if (any(not -len(shape) <= a < len(shape) for a in axes)
                        or len({a % len(shape) for a in axes}) < len(axes)):
                    continue
                program = [[op, 0]] if options is None else [[op, 0, options]]
                out_shape = np.shape(reference(program, [x])[0])
                seed = None if count % 4 == 0 else signed(rng, out_shape)
                run_case(student, program, [x], seed=seed, rule=RULES[op])
                count += 1
    return (f"sum and mean right for axis None, an int (negative too) or a tuple, keepdims True, "
            f"False and left out ({count} hidden cases on shapes (3, 5), (2, 3, 4) and (5,)).")


@check("test_shapes")
def shapes(student):
    rng = hidden_rng("ps6 test_shapes")
    cases = []
    for n, k, m in ((2, 3, 4), (5, 2, 3), (1, 3, 1), (4, 1, 2)):
        cases.append(([["matmul", 0, 1]], [signed(rng, (n, k)), signed(rng, (k, m))], "matmul"))
    cases.append(([["matmul", 0, 0]], [signed(rng, (3, 3))], "matmul"))  # A @ A: both VJPs add
    for old, new in (((2, 6), (3, 4)), ((2, 3, 4), (4, 6)), ((6,), (2, 3)), ((3, 4), (12,))):
        cases.append(([["reshape", 0, list(new)]], [signed(rng, old)], "reshape"))
    for shape, options in (((3, 5), None), ((2, 3, 4), None), ((2, 3, 4), {"axes": [1, 2, 0]}),
                           ((2, 3, 4), {"axes": [2, 0, 1]}), ((2, 3, 4), {"axes": [0, 2, 1]}),
                           ((3, 5), {"axes": [1, 0]}), ((2, 3, 4), {"axes": None})):
        program = [["transpose", 0]] if options is None else [["transpose", 0, options]]
        cases.append((program, [signed(rng, shape)], "transpose"))
    for k, (program, inputs, op) in enumerate(cases):
        out_shape = np.shape(reference(program, inputs)[0])
        run_case(student, program, inputs, seed=None if k % 3 == 0 else signed(rng, out_shape),
                 rule=RULES[op])
    return (f"matmul (non-square, A @ A), reshape and transpose (axes left out, None and three "
            f"permutations of 3 axes) right ({len(cases)} hidden cases).")


def add_at_in_place_wrong(shape, index, g):
    """What ``full[index] += g`` gives: each repeated index keeps only one share."""
    full = np.zeros(shape)
    full[index] += g
    return full


@check("test_indexing")
def indexing(student):
    rng = hidden_rng("ps6 test_indexing")
    rows = [int(r) for r in rng.permutation(4)[:3]]
    cases = [  # (shape, index): repeated entries in every case but the first
        ((4, 3), [np.array([0, 1, 2, 3]), np.array([2, 0, 1, 1])]),
        ((4, 3), [np.array([rows[0], rows[1], rows[0], rows[2], rows[0]]),
                  np.array([1, 2, 1, 0, 1])]),
        ((6,), [np.array([1, 1, 1, 4, 0, 4])]),
        ((4, 3), [np.array([rows[1], rows[1], rows[2]])]),       # whole rows, one of them twice
        ((2, 3, 4), [np.array([1, 0, 1]), np.array([2, 2, 2]), np.array([3, 0, 3])]),
    ]
    for k, (shape, index) in enumerate(cases):
        x = signed(rng, shape)
        program = [["index", 0, [i.tolist() for i in index]]]
        out_shape = x[tuple(index)].shape
        seed = None if k % 2 == 0 else signed(rng, out_shape)
        u = np.ones(out_shape) if seed is None else seed
        hints = {"a repeated index kept only one of its shares: full[index] += g does not add "
                 "at repeated indices (NumPy writes each index once); use np.add.at(full, "
                 "index, g)": [add_at_in_place_wrong(shape, tuple(index), u)]}
        run_case(student, program, [x], seed=seed, rule=RULES["index"], hints=hints)
    return "integer-array indexing right, repeated indices added up (5 hidden cases, 1-D to 3-D)."


# --------------------------------------------------------------------------- Part A2: the graph


def chain(depth: int):
    """v = x; v = v + x, ``depth`` times, then the sum: a graph ``depth`` tensors deep."""
    return [["add", 0, 0]] + [["add", k, 0] for k in range(1, depth)] + [["sum", depth]]


def random_program(rng, n_inputs: int, length: int, shape=(2, 3)):
    """Element-wise operations on earlier values (reused at random), values kept in a safe range."""
    inputs = [signed(rng, shape, 1.2) for _ in range(n_inputs)]
    values, program = list(inputs), []
    while len(program) < length:
        op = str(rng.choice(["add", "sub", "mul", "div", "tanh", "exp", "log", "neg", "pow"]))
        i, j = (int(k) for k in rng.integers(0, len(values), 2))
        u, v = values[i], values[j]
        if op in ("add", "sub", "mul"):
            instruction = [op, i, j]
        elif op == "div":
            if np.min(np.abs(v)) < 0.4:
                continue
            instruction = [op, i, j]
        elif op == "log":
            if np.min(u) < 0.3:
                continue
            instruction = [op, i]
        elif op == "exp":
            if np.max(u) > 1.5:
                continue
            instruction = [op, i]
        elif op == "pow":
            instruction = [op, i, 2]
        else:
            instruction = [op, i]
        new = numpy_program(program + [instruction], inputs, 0)(inputs[0])
        if not np.all(np.abs(new) < 20.0):
            continue
        program.append(instruction)
        values.append(new)
    return program + [["sum", len(values) - 1]], inputs


@check("test_graph")
def graph(student):
    rng = hidden_rng("ps6 test_graph")
    x, w = signed(rng, (2, 3)), signed(rng, (3,))
    overwritten = ("the gradient of a tensor read by several operations must be the SUM of "
                   "their contributions (+=); yours kept only one of them")
    cases = [
        ("x * x (one tensor read twice by one operation)", [["mul", 0, 0], ["sum", 1]], [x], None),
        ("u = x * w; (u + u.tanh()).sum() (u has two children)",
         [["mul", 0, 1], ["tanh", 2], ["add", 2, 3], ["sum", 4]], [x, w], None),
        ("s = 2 * x; t = (0.1 * s).exp().tanh().log(); ((t + s) * s).sum() (paths of different "
         "lengths from the output to s: a breadth-first order visits s too early)",
         [["right", "mul", 0, 2.0], ["right", "mul", 1, 0.1], ["exp", 2], ["tanh", 3],
          ["log", 4], ["add", 5, 1], ["mul", 6, 1], ["sum", 7]], [x], None),
        ("a diamond: v0 * w feeds a sum over axis 0 and a mean over axis 1, rejoined",
         [["mul", 0, 1], ["sum", 2, {"axis": 0}], ["mean", 2, {"axis": 1, "keepdims": True}],
          ["add", 3, 4], ["mul", 5, 2], ["sum", 6]], [x, w], None),
        ("v = x + x + ... + x (2000 additions: a graph 2000 tensors deep)", chain(2000),
         [x], None),
    ]
    for k in range(3):
        program, inputs = random_program(rng, 3, 25)
        cases.append((f"a random program with reused values (hidden case {k + 1})", program,
                      inputs, None))
    for label, program, inputs, seed in cases:
        expected = None
        if label.startswith("v = x + x"):  # the chain: value and gradient in closed form
            expected = (np.asarray(2001 * np.sum(x)), [np.full(x.shape, 2001.0)])
        try:
            run_case(student, program, inputs, seed=seed, label=label, expected=expected,
                     hints={overwritten: overwrite_variants(program, inputs)})
        except CheckFailed as exc:
            raise graph_failure(student, str(exc)) from None
    # backward() twice, three times on the same graph: every .grad is that many times the first
    program = [["mul", 0, 1], ["tanh", 2], ["mul", 3, 3], ["sum", 4, {"axis": 1}],
               ["exp", 5], ["sum", 6]]
    inputs = [x, w]
    try:
        run_case(student, program, inputs,
                 label="u = (v0 * v1).tanh(); ((u * u).sum(axis=1)).exp().sum()")
    except CheckFailed as exc:
        raise graph_failure(student, str(exc)) from None
    for sweeps in (2, 3):
        try:
            run_case(student, program, inputs, sweeps=sweeps,
                     label="u = (v0 * v1).tanh(); ((u * u).sum(axis=1)).exp().sum(), swept "
                           f"{sweeps} times")
        except CheckFailed as exc:
            if "is wrong (relative error" not in str(exc):
                raise
            raise CheckFailed(
                f"{exc}\n  The text fixes what a second backward() on the same graph does: it adds "
                f"the same gradients again, so after {sweeps} calls every .grad is {sweeps} times "
                "the gradient. Keep the sweep's adjoints apart from .grad (a dict, or "
                "adjoints reset to 0 at the start of each sweep): a sweep that starts from the "
                "intermediate tensors' .grad left by the previous sweep counts them again."
            ) from None
    return ("shared tensors, reused subexpressions, paths of different lengths, a graph 2000 deep, "
            "3 random programs, and backward() called 2 and 3 times on one graph: all right.")


GRAPH_PROBES = [  # (what, program, input shapes): the operations the graphs above use
    ("x * w with w broadcast: (2, 3) * (3,)", [["mul", 0, 1]], [(2, 3), (3,)]),
    ("x + w with both broadcast: (3,) + (2, 1)", [["add", 0, 1]], [(3,), (2, 1)]),
    ("x - y", [["sub", 0, 1]], [(2, 3), (2, 3)]),
    ("x / y", [["div", 0, 1]], [(2, 3), (2, 3)]),
    ("2.0 * x", [["right", "mul", 0, 2.0]], [(2, 3)]),
    ("-x", [["neg", 0]], [(2, 3)]),
    ("x ** 2", [["pow", 0, 2]], [(2, 3)]),
    ("tanh", [["tanh", 0]], [(2, 3)]),
    ("exp", [["exp", 0]], [(2, 3)]),
    ("log", [["log", 0]], [(2, 3)]),
    ("sum()", [["sum", 0]], [(2, 3)]),
    ("sum(axis=0)", [["sum", 0, {"axis": 0}]], [(2, 3)]),
    ("sum(axis=1)", [["sum", 0, {"axis": 1}]], [(2, 3)]),
    ("mean(axis=1, keepdims=True)", [["mean", 0, {"axis": 1, "keepdims": True}]], [(2, 3)]),
]


def graph_failure(student, text: str) -> CheckFailed:
    """A failure on a graph: name a broken operation first, else the graph-level causes."""
    if "RecursionError" in text or "maximum recursion depth" in text:
        return CheckFailed(f"{text}\n  Hint: a recursive topological sort (or backward) goes as "
                           "deep as the graph, and Python stops at about 1000 nested calls. Use a "
                           "loop with an explicit stack.")
    if "Hint" in text:
        return CheckFailed(text)
    broken = engine_problem(student, GRAPH_PROBES)
    if broken is not None:
        return CheckFailed(f"{text}\n  Fix the operations first (test_elementwise to "
                           f"test_indexing): your engine gets {broken} wrong on its own.")
    if "is wrong (relative error" in text:
        return CheckFailed(f"{text}\n  Hint: every operation is right on its own, so the sweep is "
                           "the problem: a tensor passes its adjoint on only once all the tensors "
                           "that read it have added theirs: sweep in reverse TOPOLOGICAL order "
                           "(each tensor after every tensor that reads it), each once, and add "
                           "(+=) every contribution, never assign.")
    return CheckFailed(text)


def overwrite_variants(program, inputs):
    """What an engine that ASSIGNS (=) the contributions instead of adding them would give is
    too engine-specific to compute; compare only the cheap case x * x (half the gradient)."""
    if program[:1] == [["mul", 0, 0]]:
        value, grads = reference(program, inputs)
        return [g / 2 for g in grads]
    return [np.full(np.shape(x), np.nan) for x in inputs]


# --------------------------------------------------------------------------- Part B: the MLP


PARAM_NAMES = ("W1", "b1", "W2", "b2")


def mlp_loss_numpy(params, X, y):
    """The notebook's provided loss, copied."""
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_sum_exp = np.log(np.sum(np.exp(shifted), axis=1))
    return np.mean(log_sum_exp - shifted[np.arange(len(y)), y])


def mlp_gradients(params, X, y):
    """The gradient of mlp_loss_numpy for each parameter, by mlpkit.reverse."""
    grads = {}
    for name in PARAM_NAMES:
        def loss_of(w, name=name):
            return mlp_loss_numpy({**params, name: w}, X, y)
        grads[name] = np.asarray(reverse_gradient(loss_of, params[name]), dtype=float)
    return grads


def mlp_problem(rng, d, h, c, n):
    params = {"W1": rng.normal(0, 1 / np.sqrt(d), (d, h)), "b1": rng.normal(0, 0.3, h),
              "W2": rng.normal(0, 1 / np.sqrt(h), (h, c)), "b2": rng.normal(0, 0.3, c)}
    X = rng.normal(0, 1, (n, d))
    y = np.array([k % c for k in range(n)])
    rng.shuffle(y)
    return params, X, y


ENGINE_PROBES = [  # (what, program, input shapes): the operations the MLP loss uses
    ("matmul (A @ B)", [["matmul", 0, 1]], [(4, 3), (3, 2)]),
    ("broadcasting in +: (n, h) + (h,)", [["add", 0, 1]], [(4, 3), (3,)]),
    ("tanh", [["tanh", 0]], [(4, 3)]),
    ("broadcasting in -: (n, c) - (n, 1)", [["sub", 0, 1]], [(4, 3), (4, 1)]),
    ("exp", [["exp", 0]], [(4, 3)]),
    ("sum(axis=1)", [["sum", 0, {"axis": 1}]], [(4, 3)]),
    ("log", [["log", 0]], [(4,)]),
    ("indexing x[rows, cols]", [["index", 0, [[0, 1, 2, 3], [2, 0, 1, 1]]]], [(4, 3)]),
    ("mean()", [["mean", 0]], [(4,)]),
    ("a tensor read twice (gradients added)", [["exp", 0], ["mul", 1, 1], ["add", 2, 1]], [(4,)]),
    ("a graph whose paths have different lengths (the topological order of test_graph)",
     [["right", "mul", 0, 2.0], ["right", "mul", 1, 0.1], ["exp", 2], ["tanh", 3], ["log", 4],
      ["add", 5, 1], ["mul", 6, 1], ["sum", 7]], [(4,)]),
]


def engine_problem(student, probes=ENGINE_PROBES) -> str | None:
    """The first operation of the MLP loss that the student's engine gets wrong, or None."""
    rng = hidden_rng("ps6 engine probes")
    for what, program, shapes in probes:
        inputs = [positive(rng, s, 0.5, 1.5) for s in shapes]
        try:
            run_case(student, program, inputs, seed=signed(rng, np.shape(reference(program, inputs)[0])))
        except CheckFailed:
            return what
    return None


def dependent_failure(student, message: str, cause: str = "your Tensor engine") -> CheckFailed:
    broken = engine_problem(student)
    if broken is not None:
        return CheckFailed(f"{message}\n  Fix {ENGINE_CHECKS} first: {cause} gets {broken} wrong, "
                           "and the MLP's loss uses it.")
    return CheckFailed(message)


def compare_arrays(label, got, expected, rtol, what="gradient"):
    """A short message if got (an array) differs from expected in norm, else None."""
    arr = np.asarray(got, dtype=float) if isinstance(got, (np.ndarray, float, int)) else None
    if arr is None or arr.shape != expected.shape:
        return (f"{label}: expected an array of shape {show_shape(expected.shape)}, got "
                f"{type(got).__name__} of shape {show_shape(np.shape(got))}")
    if not np.all(np.isfinite(arr)):
        return f"{label}: contains NaN or inf"
    error = float(np.linalg.norm(arr - expected))
    size = max(float(np.linalg.norm(expected)), 1e-300)
    if error <= rtol * size:
        return None
    return (f"{label}: wrong {what} (relative error {error / size:.2g}, tolerance {rtol:g}).\n"
            f"  Diagnosis: {diagnose_gradient(arr, expected, name='yours')}")


@check("test_mlp_gradients")
def mlp_gradients_check(student):
    rng = hidden_rng("ps6 test_mlp_gradients")
    cases = [(5, 7, 3, 6), (8, 4, 6, 13), (3, 9, 2, 1), (6, 5, 4, 4)]
    for d, h, c, n in cases:
        params, X, y = mlp_problem(rng, d, h, c, n)
        label = f"mlp_loss_and_gradients(params, X, y) with d={d}, h={h}, c={c}, batch n={n}"
        try:
            got = student.call("mlp_loss_and_gradients", params, X, y)
        except CheckFailed as exc:
            raise dependent_failure(student, str(exc)) from None
        if not isinstance(got, list) or len(got) != 2 or not isinstance(got[1], dict):
            raise CheckFailed(f"{label}: expected (loss, dict of gradients), got {got!r:.200}.")
        loss, grads = got
        expected_loss = mlp_loss_numpy(params, X, y)
        if not (np.ndim(loss) == 0 and np.isclose(float(loss), expected_loss, rtol=1e-13, atol=0)):
            raise dependent_failure(student, f"{label}: the loss is {loss!r:.60}, expected "
                                             f"{expected_loss!r} (mlp_loss_numpy).")
        missing = [name for name in PARAM_NAMES if name not in grads]
        if missing:
            raise CheckFailed(f"{label}: the dict of gradients has no {missing} (keys: {sorted(grads)}).")
        expected = mlp_gradients(params, X, y)
        for name in PARAM_NAMES:
            problem = compare_arrays(f"the gradient for {name}", grads[name], expected[name],
                                     GRAD_RTOL)
            if problem:
                raise dependent_failure(student, f"{label}: {problem}\n  (expected to {GRAD_RTOL:g} "
                                                 "of mlpkit.reverse applied to mlp_loss_numpy)")
    return (f"loss and the four gradients within {GRAD_RTOL:g} of mlpkit.reverse on "
            f"mlp_loss_numpy ({len(cases)} hidden networks, batch sizes 1 to 13).")


def reference_training(params, X, y, steps, lr, accumulate=False):
    current = {k: v.copy() for k, v in params.items()}
    total = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for _ in range(steps):
        losses.append(float(mlp_loss_numpy(current, X, y)))
        grads = mlp_gradients(current, X, y)
        for name in PARAM_NAMES:
            total[name] = total[name] + grads[name] if accumulate else grads[name]
            current[name] = current[name] - lr * total[name]
    return current, losses


def training_failure(student, message: str) -> CheckFailed:
    """Name what train depends on when that is broken: the engine, then the MLP's loss."""
    failure = dependent_failure(student, message, "mlp_loss_tensor through your engine")
    if str(failure) != message:
        return failure
    params, X, y = mlp_problem(hidden_rng("ps6 training probe"), 3, 4, 3, 5)
    try:
        got = student.call("mlp_loss_and_gradients", params, X, y)
        loss, grads = got
        expected = mlp_gradients(params, X, y)
        right = np.isclose(float(loss), mlp_loss_numpy(params, X, y), rtol=1e-12) and all(
            compare_arrays(name, grads[name], expected[name], GRAD_RTOL) is None
            for name in PARAM_NAMES)
    except (CheckFailed, TypeError, ValueError, KeyError):
        right = False
    if not right:
        return CheckFailed(f"{message}\n  Fix mlp_loss_and_gradients (test_mlp_gradients) first: "
                           "train builds the same loss with mlp_loss_tensor.")
    return failure


@check("test_training")
def training(student):
    rng = hidden_rng("ps6 test_training")
    runs = [((), {}), ((3, 0.1), {}), ((), {"steps": 2}), ((), {"lr": 2.0}),
            ((1,), {"lr": 0.05})]
    for args, kwargs in runs:
        params, X, y = mlp_problem(rng, 4, 5, 3, 7)
        steps = args[0] if args else kwargs.get("steps", 20)
        lr = args[1] if len(args) > 1 else kwargs.get("lr", 0.5)
        shown = ", ".join(["params, X, y"] + [repr(a) for a in args] +
                          [f"{k}={v!r}" for k, v in kwargs.items()])
        label = f"train({shown})"
        try:
            got = student.call("train", params, X, y, *args, **kwargs)
        except CheckFailed as exc:
            raise training_failure(student, str(exc)) from None
        if not isinstance(got, list) or len(got) != 2 or not isinstance(got[0], dict):
            raise CheckFailed(f"{label}: expected (new_params, losses), got {got!r:.200}.")
        new, losses = got
        expected, expected_losses = reference_training(params, X, y, steps, lr)
        if not isinstance(losses, list) or len(losses) != steps:
            raise CheckFailed(f"{label}: expected a list of {steps} losses (one per step), got "
                              f"{losses!r:.120}.")
        for name in PARAM_NAMES:
            if name not in new:
                raise CheckFailed(f"{label}: new_params has no {name!r}.")
            problem = compare_arrays(f"new_params[{name!r}] after {steps} steps with lr={lr}",
                                     new[name], expected[name], 1e-10, what="value")
            if problem is None:
                continue
            accumulated, _ = reference_training(params, X, y, steps, lr, accumulate=True)
            if compare_arrays("", new[name], accumulated[name], 1e-9) is None:
                raise CheckFailed(f"{label}: {problem}\n  Hint: your steps used the gradients of "
                                  "all earlier steps added up: backward() ADDS to .grad, so set "
                                  "every parameter's .grad to zeros before each step.")
            raise training_failure(student, f"{label}: {problem}")
        if not np.allclose(np.asarray(losses, dtype=float), expected_losses, rtol=1e-10):
            raise CheckFailed(f"{label}: losses {np.round(losses, 6)} differ from the expected "
                              f"{np.round(expected_losses, 6)} (each loss is computed before its step).")
    return ("train right with steps and lr left out (20 steps, lr 0.5), given by position and by "
            "name (1 to 20 steps, lr from 0.05 to 2).")


# --------------------------------------------------------------------------- Part C: layers by hand


def batchnorm_numpy(x, gamma, beta, eps):
    """Training-mode batch normalisation; the variance written out (np.var is not complex-safe)."""
    mu = np.mean(x, axis=0)
    centred = x - mu
    var = np.mean(centred * centred, axis=0)
    return gamma * centred / np.sqrt(var + eps) + beta


def batchnorm_reference(dout, x, gamma, beta, eps):
    """(out, dx, dgamma, dbeta) by mlpkit.reverse on batchnorm_numpy."""
    out, dx = reverse_vjp(lambda v: batchnorm_numpy(v, gamma, beta, eps), x, dout)
    _, dgamma = reverse_vjp(lambda v: batchnorm_numpy(x, v, beta, eps), gamma, dout)
    _, dbeta = reverse_vjp(lambda v: batchnorm_numpy(x, gamma, v, eps), beta, dout)
    return out, dx, dgamma, dbeta


def batchnorm_mistakes(dout, x, gamma, eps):
    mu = x.mean(axis=0)
    inv_std = 1 / np.sqrt(((x - mu) ** 2).mean(axis=0) + eps)
    xhat = (x - mu) * inv_std
    dxhat = dout * gamma
    return {
        "the mean term is missing: the batch mean depends on every x[i], which subtracts "
        "dxhat.mean(axis=0) from dxhat": inv_std * (dxhat - xhat * (dxhat * xhat).mean(axis=0)),
        "the variance term is missing: the batch variance depends on every x[i], which subtracts "
        "xhat * (dxhat * xhat).mean(axis=0)": inv_std * (dxhat - dxhat.mean(axis=0)),
        "the batch mean and variance were treated as constants: both depend on x, so dx has a "
        "mean term and a variance term": inv_std * dxhat,
        "dx is missing the factor gamma (dxhat = dout * gamma)":
            inv_std * (dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0)),
    }


@check("test_batchnorm")
def batchnorm(student):
    rng = hidden_rng("ps6 test_batchnorm")
    cases = [((4, 3), None), ((7, 5), 1e-3), ((2, 6), None), ((16, 2), 0.5), ((5, 4), 1e-5)]
    for (n, d), eps in cases:
        x = rng.normal(rng.uniform(-1, 1, d), rng.uniform(0.3, 2.0, d), (n, d))
        gamma, beta = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d), rng.normal(0, 1, d)
        dout = rng.normal(0, 1, (n, d))
        extra = {} if eps is None else {"eps": eps}
        e = 1e-5 if eps is None else eps
        out, dx, dgamma, dbeta = batchnorm_reference(dout, x, gamma, beta, e)
        eps_text = "" if eps is None else f", eps={eps!r}"
        label = f"batchnorm_forward(x, gamma, beta{eps_text}) with x of shape ({n}, {d})"
        got = student.call("batchnorm_forward", x, gamma, beta, **extra)
        problem = compare_arrays(label, got, out, 1e-12, what="output")
        if problem:
            unbiased = x.var(axis=0, ddof=1)
            wrong = gamma * (x - x.mean(axis=0)) / np.sqrt(unbiased + e) + beta
            hint = ("\n  Hint: that is the unbiased variance (1/(N-1)); batch normalisation in "
                    "training mode divides by N" if compare_arrays("", got, wrong, 1e-9) is None
                    else "")
            raise CheckFailed(problem + hint)
        label = f"batchnorm_backward(dout, x, gamma{eps_text}) with x of shape ({n}, {d})"
        got = student.call("batchnorm_backward", dout, x, gamma, **extra)
        if not isinstance(got, list) or len(got) != 3:
            raise CheckFailed(f"{label}: expected (dx, dgamma, dbeta), got {got!r:.200}.")
        for name, value, expected in zip(("dx", "dgamma", "dbeta"), got, (dx, dgamma, dbeta)):
            problem = compare_arrays(f"{label}: {name}", value, expected, 1e-11)
            if problem is None:
                continue
            if name == "dx":
                for text, wrong in batchnorm_mistakes(dout, x, gamma, e).items():
                    if compare_arrays("", value, wrong, 1e-9) is None:
                        raise CheckFailed(f"{problem}\n  Hint: {text}.")
            raise CheckFailed(problem + "\n  (expected: mlpkit.reverse on the forward pass)")
    return (f"batch normalisation forward and backward right (eps left out and given; N from 2 to 16; "
            f"{len(cases)} hidden cases, against mlpkit.reverse).")


@check("test_dropout")
def dropout(student):
    rng = hidden_rng("ps6 test_dropout")
    cases = [((5, 4), None), ((7,), 0.2), ((2, 3, 4), 0.75), ((6, 3), 0.5), ((4, 5), 0.1)]
    for shape, p in cases:
        x, dout = rng.normal(0, 1, shape), rng.normal(0, 1, shape)
        rate = 0.5 if p is None else p
        mask = rng.random(shape) >= rate
        mask.flat[0], mask.flat[1] = True, False   # both kinds, whatever the draw
        extra = {} if p is None else {"p": p}
        p_text = "" if p is None else f", p={p!r}"
        scale = 1.0 / (1.0 - rate)
        for function, data in (("dropout_forward", x), ("dropout_backward", dout)):
            label = f"{function}({'x' if data is x else 'dout'}, mask{p_text}) with shape {shape}"
            expected = np.where(mask, data, 0.0) * scale
            got = student.call(function, data, mask, **extra)
            problem = compare_arrays(label, got, expected, 1e-14, what="result")
            if problem is None:
                continue
            wrongs = {"not rescaled: inverted dropout divides the kept entries by 1 - p, so the "
                      "expected value of each output is the input": np.where(mask, data, 0.0),
                      "scaled by 1/p instead of 1/(1 - p): p is the probability of DROPPING an "
                      "entry": np.where(mask, data, 0.0) / rate,
                      "the mask is used the wrong way round: True means KEPT":
                          np.where(mask, 0.0, data) * scale}
            for text, wrong in wrongs.items():
                if compare_arrays("", got, wrong, 1e-12) is None:
                    raise CheckFailed(f"{problem}\n  Hint: {text}.")
            raise CheckFailed(problem)
    return (f"dropout forward and backward right for p left out (0.5) and p = 0.1 to 0.75, "
            f"{len(cases)} hidden cases in 1 to 3 dimensions.")


def softmax_reference(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    d = np.exp(log_probs)
    d[np.arange(n), labels] -= 1
    return -log_probs[np.arange(n), labels].mean(), d / n


@check("test_softmax_cross_entropy")
def softmax_cross_entropy(student):
    rng = hidden_rng("ps6 test_softmax_cross_entropy")
    cases = []
    for n, c in ((4, 3), (1, 5), (9, 10), (6, 2)):
        labels = np.array([k % c for k in range(n)])
        rng.shuffle(labels)
        cases.append((rng.normal(0, 2, (n, c)), labels, ""))
    big = rng.normal(0, 1, (3, 4)) + np.array([[1000.0], [-1000.0], [800.0]])
    cases.append((big, np.array([1, 3, 1]), " (logits near +-1000: subtract each row's maximum "
                                             "before exp, or exp overflows)"))
    cases.append((np.zeros((3, 4)), np.array([0, 0, 2]), " (all logits equal)"))
    for logits, labels, note in cases:
        n = logits.shape[0]
        loss, dlogits = softmax_reference(logits, labels)
        label = f"softmax_cross_entropy(logits, labels) with logits of shape {logits.shape}{note}"
        got = student.call("softmax_cross_entropy", logits, labels)
        if not isinstance(got, list) or len(got) != 2:
            raise CheckFailed(f"{label}: expected (loss, dlogits), got {got!r:.200}.")
        got_loss, got_d = got
        if not (np.ndim(got_loss) == 0 and np.isfinite(float(got_loss))
                and np.isclose(float(got_loss), loss, rtol=1e-12, atol=1e-14)):
            raise CheckFailed(f"{label}: the loss is {got_loss!r:.60}, expected {loss!r}"
                              f"{' (the mean over the batch)' if n > 1 else ''}.")
        problem = compare_arrays(f"{label}: dlogits", got_d, dlogits, 1e-12)
        if problem:
            if n > 1 and compare_arrays("", got_d, dlogits * n, 1e-9) is None:
                problem += ("\n  Hint: the loss is the MEAN over the batch, so dlogits is "
                            "(softmax - one_hot) / N: yours is N times too large")
            raise CheckFailed(problem)
    return (f"fused softmax cross-entropy right ({len(cases)} hidden cases: batch 1 to 9, "
            "repeated labels, logits near +-1000, equal logits).")
