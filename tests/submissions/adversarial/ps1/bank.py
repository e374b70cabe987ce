"""Adversarial submission bank (PS1): every way we know to fake a grade, stop the run or reach
another student's grade, each with the exact marks it must get.

Graded by tests/test_adversarial.py in ONE ``nbgrader autograde`` call, together with honest
students (``*_honest_*`` entries, named so that nbgrader, which grades in alphabetical order,
grades them before, between and after the attacks). Built like the PS1 bank
(tests/submissions/build.py): the released notebook, the model solution in every answer cell,
then the entry's ``answers`` (answer cells replaced), ``delete`` (cells removed), ``edits``
(cells added, moved, their source, metadata or type changed: what a text editor can do to the
notebook's JSON) and ``files`` (extra files or symbolic links in the submission folder).

``lost`` lists the autograded test cells that must score 0 (what the entry fakes, and the cells
that depend on the faked answer); every other autograded cell must get full marks. ``evidence``
and ``absent`` map a cell (or "notebook") to text its autograded outputs must, or must not,
contain (what the attack tried and how it failed); the test checks both. ``{course_root}`` is
replaced by the grading course's folder: the attacker knows every path.

This folder is deliberately ``adversarial/ps1/bank.py``, not ``adversarial/bank.py``:
tests/test_grading_pipeline.py grades every ``tests/submissions/*/bank.py`` as a problem set.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/submissions: build.py
from build import AddCell, MoveCell, SetCellType, SetMetadata, SetSource  # noqa: E402

TESTS = {  # PS1's autograded cells and their points
    "test_forward_difference": 2, "test_central_difference": 3, "test_complex_step": 3,
    "test_best_steps": 2, "test_gradient_central": 3, "test_gradient_complex_step": 3,
    "test_evaluation_counts": 2, "test_recursion_value": 1, "test_recursion_derivative": 2,
    "test_recursion_numerical": 2,
}
# What depends on what: the cells that score 0 when one answer is wrong (PS1 bank, measured).
WRONG_FORWARD = ("test_forward_difference", "test_best_steps")
WRONG_CENTRAL = ("test_central_difference", "test_best_steps", "test_recursion_numerical")
WRONG_COMPLEX = ("test_complex_step", "test_recursion_numerical")
WRONG_GRADIENT_CENTRAL = ("test_gradient_central", "test_evaluation_counts")  # and f never called
WRONG_GRADIENT_COMPLEX = ("test_gradient_complex_step", "test_evaluation_counts")
WRONG_Z = ("test_recursion_value", "test_recursion_numerical")
WRONG_DZ = ("test_recursion_derivative",)


@dataclass(frozen=True)
class Submission:
    description: str
    category: str = "honest"
    answers: dict = field(default_factory=dict)
    lost: tuple = ()
    delete: tuple = ()
    edits: tuple = ()
    files: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)  # grade_id or "notebook" -> texts in the outputs
    absent: dict = field(default_factory=dict)  # grade_id or "notebook" -> texts NOT in them
    needs_landlock: bool = False  # read/write confinement (Linux >= 5.13)
    needs_landlock_signals: bool = False  # signal scoping (Linux >= 6.12): unsafe to run without
    raw: object = None  # text -> text: the notebook file edited as text (build.py)

    @property
    def expected(self) -> dict:
        """grade_id -> (score, max score) this submission must get."""
        return {g: (0.0 if g in self.lost else float(p), float(p)) for g, p in TESTS.items()}


BANK: dict[str, Submission] = {}


def add(name: str, **kwargs) -> None:
    assert name not in BANK, name
    BANK[name] = Submission(**kwargs)


def lost(*groups) -> tuple:
    return tuple(sorted({g for group in groups for g in group}))


def code_cell(grade_id, points):  # nbgrader metadata of an autograded test cell
    return {"grade": True, "solution": False, "locked": True, "points": points,
            "grade_id": grade_id, "schema_version": 3}


RETURNS_ZERO = {
    "answer_forward_difference": "def forward_difference(f, x, h):\n    return 0.0\n",
    "answer_central_difference": "def central_difference(f, x, h):\n    return 0.0\n",
    "answer_complex_step": "def complex_step(f, x, h):\n    return 0.0\n",
    "answer_gradient_central": "def gradient_central(f, x, h):\n    return np.zeros(len(x))\n",
    "answer_recursion_z": "def recursion_z(x, n=20):\n    return 0.0\n",
    "answer_recursion_dz": "def recursion_dz(x, n=20):\n    return 0.0\n",
}

# --------------------------------------------------------------------------- honest students

add("aaa_honest_solution", description="the model solution (graded first)")

add("mmm_honest_alternative", description="correct in another style (graded among the attacks)",
    answers={
        "answer_central_difference": '''
def central_difference(f, x, h):
    return 0.5 * (f(x + h) - f(x - h)) / h
''',
        "answer_gradient_central": '''
def gradient_central(f, x, h):
    grad = []
    for i in range(len(x)):
        step = np.zeros(len(x))
        step[i] = h
        grad.append((f(x + step) - f(x - step)) / (2 * h))
    return np.array(grad)
''',
        "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    z = dz = 0.0
    for _ in range(n):
        z, dz = np.sin(z * x) + x, np.cos(z * x) * (z + x * dz) + 1
    return dz
''',
    })

add("zzz_honest_partial", description="partial work (graded last): central difference divided "
    "by h, and recursion_dz not written",
    answers={"answer_central_difference": '''
def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / h
''', "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    raise NotImplementedError()
'''}, lost=lost(WRONG_CENTRAL, WRONG_DZ))

# --------------------------------------------------------------------------- monkeypatching

PATCH_COMPARISONS = '''
import math
import numpy.testing

import mlpkit.grading

np.isclose = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_almost_equal = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
for _name in dir(mlpkit.grading):
    if _name.startswith("check") or _name in ("cmp", "diagnose_gradient", "rel_error"):
        setattr(mlpkit.grading, _name, lambda *args, **kwargs: None)
print("comparisons patched")
'''

add("patch_numpy_in_added_cell", category="monkeypatching",
    description="an added cell patches NumPy, numpy.testing, math and every mlpkit.grading "
    "helper so that comparisons pass; central_difference is wrong",
    answers={"answer_central_difference": RETURNS_ZERO["answer_central_difference"]},
    edits=(AddCell("answer_central_difference", PATCH_COMPARISONS),),
    lost=lost(WRONG_CENTRAL))

add("patch_builtins_in_answer_cell", category="monkeypatching",
    description="the complex_step answer cell patches builtins (abs, round, AssertionError), "
    "operator and math; complex_step is wrong",
    answers={"answer_complex_step": '''
import builtins
import math
import operator

builtins.abs = lambda value: 0.0
builtins.round = lambda value, *args: 0.0
operator.eq = lambda a, b: True
operator.lt = lambda a, b: True
math.fabs = lambda value: 0.0
math.isfinite = lambda value: True
builtins.AssertionError = type("NeverRaised", (Exception,), {})


def complex_step(f, x, h):
    return 0.0
'''}, lost=lost(WRONG_COMPLEX))

add("patch_mlpkit_and_grader", category="monkeypatching",
    description="patches mlpkit.grading, autograder (run_check, CheckFailed, Verdict) and "
    "the sandbox's own modules (its wire format and output capture) from an answer cell; "
    "gradient_complex_step is wrong. The broken wire format breaks the student's own later "
    "checks too (the recursion's three cells)",
    answers={"answer_gradient_complex_step": '''
import sys

import autograder.checking as checking
import mlpkit.grading

mlpkit.grading.check_close = mlpkit.grading.check_shape = lambda *args, **kwargs: None
checking.run_check = lambda grade_id, fn, child, timeout: checking.Verdict(grade_id, True, "")
checking.CheckFailed = type("CheckFailed", (Exception,), {})
patched = []
for _name, _module in list(sys.modules.items()):
    if _name.startswith("_mlpkit_sandbox"):
        for _attr in ("decode", "encode", "encode_array"):
            if hasattr(_module, _attr):
                setattr(_module, _attr, lambda *args, **kwargs: {"op": "return", "value": 0.0})
                patched.append(f"{_name}.{_attr}")
main = sys.modules.get("__main__")
if main is not None and hasattr(main, "_error_item"):
    main._error_item = lambda exc: {"type": "stream", "name": "stdout", "text": "PASSED\\n"}
    patched.append("__main__._error_item")
print("patched:", patched)


def gradient_complex_step(f, x, h):
    return np.zeros(len(x))
'''}, lost=lost(WRONG_GRADIENT_COMPLEX, WRONG_Z, WRONG_DZ))

add("patch_kernel_in_added_cell", category="monkeypatching",
    description="an added first cell patches the kernel's reporting (do_execute, showtraceback, "
    "run_cell), sys.excepthook, sys.displayhook and sys.stderr; recursion_dz is wrong",
    answers={"answer_recursion_dz": RETURNS_ZERO["answer_recursion_dz"]},
    edits=(AddCell("start", '''
import io
import sys

attempts = {}
try:
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.showtraceback = lambda *args, **kwargs: None
    InteractiveShell.run_cell = lambda *args, **kwargs: None
    attempts["InteractiveShell"] = "patched"
except Exception as exc:
    attempts["InteractiveShell"] = type(exc).__name__
try:
    kernel = get_ipython().kernel

    async def always_ok(*args, **kwargs):
        return {"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {}}

    kernel.do_execute = always_ok
    attempts["do_execute"] = "patched"
except Exception as exc:
    attempts["do_execute"] = type(exc).__name__
sys.excepthook = lambda *args: None
sys.displayhook = lambda value: None
sys.stderr = io.StringIO()
print(attempts)
'''),), lost=lost(WRONG_DZ), evidence={"notebook": ["'do_execute': 'AttributeError'"]})

# --------------------------------------------------------------------------- lying objects

add("object_equal_to_everything", category="lying objects",
    description="central_difference returns an object whose ==, <, <=, >, >=, abs, -, float and "
    "array conversions all claim success",
    answers={"answer_central_difference": '''
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return False
    def __ge__(self, other): return True
    def __abs__(self): return 0.0
    def __sub__(self, other): return self
    def __rsub__(self, other): return self
    def __float__(self): return 0.0
    def __bool__(self): return True
    def __array__(self, dtype=None, copy=None): return np.array(0.0)
    def __hash__(self): return 0
    def __repr__(self): return "1.0"


def central_difference(f, x, h):
    return Anything()
'''}, lost=lost(WRONG_CENTRAL))

add("float_subclass", category="lying objects",
    description="forward_difference returns a float subclass that compares equal to anything "
    "and prints as the right value; its actual value is 0",
    answers={"answer_forward_difference": '''
class Liar(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __abs__(self): return Liar(0.0)
    def __sub__(self, other): return Liar(0.0)
    def __rsub__(self, other): return Liar(0.0)
    def __hash__(self): return 0
    def __repr__(self): return "2.718281828459045"


def forward_difference(f, x, h):
    return Liar(0.0)
'''}, lost=lost(WRONG_FORWARD))

add("ndarray_subclass", category="lying objects",
    description="gradient_central returns an ndarray subclass whose comparisons, abs, "
    "subtraction and ufuncs all report zero error",
    answers={"answer_gradient_central": '''
class AlwaysRight(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def __ne__(self, other): return np.zeros(self.shape, dtype=bool)
    def __abs__(self): return np.zeros(self.shape)
    def __sub__(self, other): return np.zeros(self.shape).view(AlwaysRight)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(self.shape).view(AlwaysRight)


def gradient_central(f, x, h):
    return np.zeros(len(x)).view(AlwaysRight)
'''}, lost=lost(WRONG_GRADIENT_CENTRAL))

add("numpy_duck_type", category="lying objects",
    description="gradient_complex_step evaluates f as it should, then returns a NumPy-like duck "
    "type (shape, dtype, __array__, __array_interface__, __len__, __getitem__) holding zeros "
    "(the evaluation count is lost too: that check also needs a plain answer)",
    answers={"answer_gradient_complex_step": '''
class Duck:
    def __init__(self, n):
        self.shape, self.dtype, self.ndim, self.size = (n,), np.dtype(float), 1, n
        self._data = np.zeros(n)
        self.__array_interface__ = self._data.__array_interface__
    def __array__(self, dtype=None, copy=None): return self._data
    def __len__(self): return self.shape[0]
    def __getitem__(self, index): return 0.0
    def __eq__(self, other): return True
    def tolist(self): return self._data.tolist()


def gradient_complex_step(f, x, h):
    for i in range(len(x)):
        shifted = x.astype(complex)
        shifted[i] += 1j * h
        f(shifted)
    return Duck(len(x))
'''}, lost=lost(WRONG_GRADIENT_COMPLEX))

add("nan_and_inf", category="lying objects",
    description="NaN and inf (which compare false with everything, so `error > tolerance` is "
    "False): recursion_z returns NaN, recursion_dz inf, the best steps NaN and inf",
    answers={
        "answer_recursion_z": "def recursion_z(x, n=20):\n    return float('nan')\n",
        "answer_recursion_dz": "def recursion_dz(x, n=20):\n    return np.array(np.inf)\n",
        "answer_step_experiment": '''
exact = df_test(x0)
errors_forward = np.abs(np.array([forward_difference(f_test, x0, h) for h in steps]) - exact)
errors_central = np.abs(np.array([central_difference(f_test, x0, h) for h in steps]) - exact)
errors_complex = np.abs(np.array([complex_step(f_test, x0, h) for h in steps]) - exact)
h_best_forward = float("nan")
h_best_central = float("inf")
plt.loglog(steps, errors_forward + 1e-17, label="forward")
plt.legend()
plt.show()
'''}, lost=lost(WRONG_Z, WRONG_DZ, ("test_best_steps",)))

add("oversized_answers", category="lying objects",
    description="answers too large or of the wrong kind: a list of a million floats, a "
    "10-million-character string, an integer of 2**100",
    answers={
        "answer_recursion_z": "def recursion_z(x, n=20):\n    return [0.5] * 10**6\n",
        "answer_recursion_dz": "def recursion_dz(x, n=20):\n    return '1' * 10**7\n",
        "answer_complex_step": "def complex_step(f, x, h):\n    return 2**100\n",
    }, lost=lost(WRONG_Z, WRONG_DZ, WRONG_COMPLEX))

# --------------------------------------------------------------------------- gaming the tests

add("hardcoded_visible_answers", category="gaming the tests",
    description="returns the visible tests' expected values for the visible inputs (it passes "
    "every visible test) and 0 otherwise",
    answers={
        "answer_forward_difference": '''
VISIBLE = {(0.0, 1e-3): 1.0005001667083846, (1.0, 1e-3): 0.5398814803603269}


def forward_difference(f, x, h):
    return VISIBLE.get((x, h), 0.0)
''',
        "answer_recursion_z": '''
def recursion_z(x, n=20):
    return {(0.75, 20): 1.7083844513731492, (0.75, 1): 0.75}.get((x, n), 0.0)
''',
        "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    return {(0.75, 20): 1.8930281029183922, (0.75, 1): 1.0}.get((x, n), 0.0)
''',
    }, lost=lost(WRONG_FORWARD, WRONG_Z, WRONG_DZ))

add("detects_grading_run", category="gaming the tests",
    description="complex_step is right in the student's kernel; when it detects the grader "
    "(NBGRADER_EXECUTION, the working folder, no ipykernel, the parent process) it tries to "
    "read the answers or secrets (checks, gradebook, the grader's memory and environment, "
    "/etc/shadow, raw devices) and returns 0",
    needs_landlock=True,
    answers={"answer_complex_step": '''
import os
import sys

ROOT = "{course_root}"


def grading_signs():
    signs = {"NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION"),
             "cwd": os.getcwd(), "ipykernel": "ipykernel" in sys.modules,
             "shell": type(get_ipython()).__name__}
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            signs["parent"] = handle.read().replace(b"\\0", b" ")[:80].decode()
    except OSError as exc:
        signs["parent"] = type(exc).__name__
    return signs


signs = grading_signs()
grading = not signs["ipykernel"] or "mlpkit-grade" in signs["cwd"]
print("grading detected:", grading)
stolen = {}
for label, path in [("checks", f"{ROOT}/solutions/ps1/checks.py"),
                    ("gradebook", f"{ROOT}/gradebook.db"),
                    ("solution notebook", f"{ROOT}/solutions/ps1/ps1.ipynb"),
                    ("zygote environ", f"/proc/{os.getppid()}/environ"),
                    ("zygote memory", f"/proc/{os.getppid()}/mem"),
                    ("grader environ", f"/proc/{os.getppid() - 1}/environ"),
                    ("own environ", "/proc/self/environ"),
                    ("shadow", "/etc/shadow"),
                    ("raw disk", "/dev/vda"), ("kernel log", "/dev/kmsg")]:
    try:
        with open(path, "rb") as handle:
            stolen[label] = len(handle.read(100))
    except Exception as exc:
        stolen[label] = type(exc).__name__
print("stolen:", stolen)


def complex_step(f, x, h):
    if grading:
        return 0.0
    return np.imag(f(x + 1j * h)) / h
'''}, lost=lost(WRONG_COMPLEX),
    evidence={"answer_complex_step": ["grading detected: True", "'checks': 'PermissionError'",
                                      "'gradebook': 'PermissionError'",
                                      "'zygote environ': 'PermissionError'",
                                      "'shadow': 'PermissionError'",
                                      "'kernel log': 'PermissionError'"]},
    absent={"answer_complex_step": [": 100"]})

add("reexports_mlpkit_by_attribute", category="re-exporting mlpkit",
    description="central_difference hands in mlpkit.numdiff's implementation, reached as an "
    "attribute of the mlpkit package after `import mlpkit.grading` (which uses numdiff)",
    answers={"answer_central_difference": '''
import mlpkit
import mlpkit.grading


def central_difference(f, x, h):
    return mlpkit.numdiff.derivative(f, x, method="central-difference", h=h)
'''}, lost=lost(WRONG_CENTRAL))

add("reexports_mlpkit_bypassing_the_guard", category="re-exporting mlpkit",
    description="complex_step and recursion_dz try every way around the import guard: "
    "importlib, builtins.__import__, sys.modules, a grading function's __globals__, removing "
    "the import hook, loading numdiff.py, forward.py or their bytecode from the file system",
    answers={"answer_complex_step": '''
import builtins
import importlib
import importlib.util
import marshal
import os
import sys

import mlpkit
import mlpkit.grading

PACKAGE = os.path.dirname(mlpkit.__file__)
found, tried = {}, {}


def attempt(label, get):
    try:
        module = get()
        for name in ("derivative", "complex_step"):
            if callable(getattr(module, name, None)):
                found.setdefault("numdiff", module)
        if callable(getattr(module, "derivative", None)) and "forward" in label:
            found.setdefault("forward", module)
        tried[label] = "got " + type(module).__name__
    except BaseException as exc:
        tried[label] = type(exc).__name__


def load_file(path, name):
    namespace = {"__name__": name}
    with open(path) as handle:
        exec(compile(handle.read(), path, "exec"), namespace)
    return type("Module", (), namespace)


def load_bytecode(stem):
    folder = os.path.join(PACKAGE, "__pycache__")
    names = [n for n in os.listdir(folder) if n.startswith(stem + ".")]
    with open(os.path.join(folder, names[0]), "rb") as handle:
        code = marshal.loads(handle.read()[16:])
    namespace = {"__name__": stem}
    exec(code, namespace)
    return type("Module", (), namespace)


def without_hooks(name):
    sys.meta_path[:] = [f for f in sys.meta_path if "Refuse" not in type(f).__name__]
    sys.modules.pop(name, None)
    return importlib.import_module(name)


attempt("importlib", lambda: importlib.import_module("mlpkit.numdiff"))
attempt("builtins.__import__", lambda: builtins.__import__("mlpkit.numdiff", fromlist=["x"]))
attempt("sys.modules", lambda: sys.modules["mlpkit.numdiff"])
attempt("__globals__", lambda: type("M", (), mlpkit.grading.rel_error.__globals__))
attempt("spec_from_file_location", lambda: importlib.util.module_from_spec(
    importlib.util.spec_from_file_location("nd", os.path.join(PACKAGE, "numdiff.py"))))
attempt("exec numdiff.py", lambda: load_file(os.path.join(PACKAGE, "numdiff.py"), "nd"))
attempt("bytecode", lambda: load_bytecode("numdiff"))
attempt("forward via importlib", lambda: importlib.import_module("mlpkit.forward"))
attempt("exec forward.py", lambda: load_file(os.path.join(PACKAGE, "forward.py"), "fw"))
attempt("removed hooks", lambda: without_hooks("mlpkit.numdiff"))
attempt("forward removed hooks", lambda: without_hooks("mlpkit.forward"))
print("tried:", tried)
print("numdiff obtained:", "numdiff" in found, "forward obtained:", "forward" in found)


def complex_step(f, x, h):
    if "numdiff" in found:
        return found["numdiff"].derivative(f, x, method="complex-step", h=h)
    return 0.0
''', "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    if "forward" in found:
        return found["forward"].derivative(lambda t: recursion_z(t, n), x)
    return 0.0
'''}, lost=lost(WRONG_COMPLEX, WRONG_DZ),
    evidence={"answer_complex_step": ["numdiff obtained: False forward obtained: False"]})

# --------------------------------------------------------------------------- stopping the run

add("sys_exit_everywhere", category="stopping the run",
    description="sys.exit(0) at the end of an answer cell, raise SystemExit and exit() in added "
    "cells, sys.exit(1) inside recursion_dz: only recursion_dz's cell is lost",
    answers={"answer_forward_difference": '''
import sys


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


sys.exit(0)
''', "answer_recursion_dz": '''
def recursion_dz(x, n=20):
    import sys
    sys.exit(1)
'''}, edits=(AddCell("answer_central_difference", "raise SystemExit('stop grading here')"),
             AddCell("test_gradient_central", "exit()")),
    lost=lost(WRONG_DZ))

add("kills_everything", category="stopping the run",
    description="signals every process it can name: kill(-1, SIGKILL) (every process of the "
    "user), the zygote, its process group, the grader, init; gradient_complex_step SIGKILLs "
    "its own process",
    needs_landlock_signals=True,
    answers={"answer_gradient_complex_step": '''
def gradient_complex_step(f, x, h):
    import os
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
'''}, edits=(AddCell("answer_forward_difference", '''
import os
import signal


def parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except OSError:  # /proc is not readable in the sandbox: guess the grader's pid
        return pid - 1


results = {}
targets = {"zygote": os.getppid(), "grader": parent(os.getppid()), "init": 1}
for label, pid in targets.items():
    try:
        os.kill(pid, signal.SIGKILL)
        results[label] = "sent"
    except Exception as exc:
        results[label] = type(exc).__name__
try:
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    results["zygote group"] = "sent"
except Exception as exc:
    results["zygote group"] = type(exc).__name__
try:
    os.kill(-1, signal.SIGKILL)
    results["everyone"] = "sent (reached only this sandbox)"
except Exception as exc:
    results["everyone"] = type(exc).__name__
print(results)
'''),), lost=lost(WRONG_GRADIENT_COMPLEX),
    evidence={"notebook": ["'zygote': 'PermissionError'", "'init': 'PermissionError'",
                           "'zygote group': 'PermissionError'"]},
    absent={"notebook": ["'zygote': 'sent'", "'grader': 'sent'", "'init': 'sent'",
                         "'zygote group': 'sent'"]})

add("uses_root_powers", category="stopping the run",
    description="tries what a grader running as root could lend it: a raw socket, setuid, "
    "chroot, a higher priority, and reads whether reboot and kernel modules are in its "
    "capability bounding set (it never calls them)",
    answers={"answer_recursion_dz": RETURNS_ZERO["answer_recursion_dz"]},
    edits=(AddCell("answer_forward_difference", '''
import ctypes
import os
import socket

powers = {}


def attempt(label, action):
    try:
        action()
        powers[label] = "done"
    except Exception as exc:
        powers[label] = type(exc).__name__


attempt("raw socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("setuid", lambda: os.setuid(4321))
attempt("chroot", lambda: os.chroot("."))
attempt("priority", lambda: os.nice(-5))
libc = ctypes.CDLL(None)
powers["may reboot"] = libc.prctl(23, 22, 0, 0, 0) == 1  # PR_CAPBSET_READ, CAP_SYS_BOOT
powers["may load modules"] = libc.prctl(23, 16, 0, 0, 0) == 1  # CAP_SYS_MODULE
print(powers)
'''),), lost=lost(WRONG_DZ),
    evidence={"notebook": ["'may reboot': False", "'may load modules': False",
                           "'raw socket': 'PermissionError'"]},
    absent={"notebook": ["'done'"]})

add("infinite_loops", category="stopping the run",
    description="an added cell that loops forever; a thread spinning forever; recursion_dz "
    "loops ignoring SIGINT, SIGTERM and every exception",
    answers={"answer_recursion_dz": '''
def recursion_dz(x, n=20):
    import signal
    import time
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(number, signal.SIG_IGN)
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass
'''}, edits=(
        AddCell("answer_gradient_central", '''
while True:
    try:
        pass
    except BaseException:
        pass
'''),
        AddCell("answer_recursion_dz", '''
import threading


def spin():
    while True:
        pass


threading.Thread(target=spin, daemon=True).start()
'''),
    ), lost=lost(WRONG_DZ))

add("memory_bombs", category="stopping the run",
    description="added cells allocate 8 GiB at once, a 10**10-element list, a 10**5 x 10**5 "
    "array and a list grown until memory runs out; gradient_central allocates without end",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    hoard = []
    while True:
        hoard.append(bytearray(50 * 1024 * 1024))
'''}, edits=(
        AddCell("answer_forward_difference", "big = bytearray(8 * 1024**3)"),
        AddCell("answer_forward_difference", "big = [0] * 10**10"),
        AddCell("answer_forward_difference", "big = np.ones((10**5, 10**5))"),
        AddCell("answer_forward_difference", '''
hoard = []
while True:
    hoard.append(" " * 10**7)
'''),
        AddCell("test_forward_difference", "del hoard"),
    ), lost=lost(WRONG_GRADIENT_CENTRAL))

add("output_floods", category="stopping the run",
    description="10**8 characters on stdout, 10**7 on stderr, 300 figures, a 10**7-character "
    "exception, unprintable text, and a printed fake 'PASSED' line; recursion_z is wrong",
    answers={"answer_recursion_z": '''
print("PASSED test_recursion_value (1 of 1 point)")


def recursion_z(x, n=20):
    return 0.0
'''}, edits=(
        AddCell("answer_forward_difference", '''
import sys

chunk = "flood " * 200_000
for _ in range(80):
    print(chunk)
    sys.stderr.write(chunk[:100_000])
'''),
        AddCell("answer_forward_difference", '''
for _ in range(300):
    plt.figure()
    plt.plot([0, 1], [0, 1])
plt.show()
'''),
        AddCell("answer_forward_difference", "raise ValueError('x' * 10**7)"),
        AddCell("answer_forward_difference", "print('\\ud800 \\x00 \\x1b[2J <script>alert(1)</script>')"),
    ), lost=lost(WRONG_Z))

add("forges_the_sandbox_protocol", category="stopping the run",
    description="a cell finds the sandbox's socket to the grader and forges its replies: a "
    "fake 'executed', then a fake check process whose pid is the zygote's, so the grader would "
    "SIGKILL the process that starts every sandbox (or itself, or any process, with another pid)",
    edits=(AddCell("answer_forward_difference", '''
import json
import os
import socket
import struct


def frame(message):
    data = json.dumps(message).encode()
    return struct.pack("!I", len(data)) + data


victim = os.getppid()  # the zygote, which forks every sandbox
for fd in range(3, 40):
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        continue
    if sock.family != socket.AF_UNIX:
        sock.close()
        continue
    sock.settimeout(2.0)
    try:
        sock.sendall(frame({"op": "executed", "status": "ok", "outputs": []}))
        for _ in range(50):
            header = sock.recv(4)
            if len(header) < 4:
                break
            request = json.loads(sock.recv(struct.unpack("!I", header)[0]))
            if request.get("op") == "fork":
                mine, theirs = socket.socketpair()
                data = frame({"op": "forked", "pid": victim})
                socket.send_fds(sock, [data[:4]], [theirs.fileno()])
                sock.sendall(data[4:])
                break
            sock.sendall(frame({"op": "executed", "status": "ok", "outputs": []}))
    except OSError:
        pass
    break
'''),), lost=tuple(sorted(TESTS)))

add("leaves_a_fork_racer", category="stopping the run",
    description="a cell starts a detached process that re-forks every millisecond (a new pid "
    "each time), trying to outrun the grader's clean-up and live on after grading; answers right",
    edits=(AddCell("answer_recursion_numerical", '''
import ctypes
import os
import time

if os.fork() == 0:
    os.setsid()
    libc = ctypes.CDLL(None)
    start = time.monotonic()
    while time.monotonic() - start < 90:  # a safety net for the test machine: 90 s at most
        if os.fork() != 0:
            os._exit(0)
        libc.prctl(15, b"mlpkit-racer", 0, 0, 0)  # PR_SET_NAME: how the test finds survivors
        time.sleep(0.001)
    os._exit(0)
'''),))

add("abuses_the_black_box", category="stopping the run",
    description="gradient_central calls the grader's f with a wrong shape, a string, NaN, inf "
    "and complex overflow before computing the right gradient: only the evaluation count is lost",
    answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    for bad in (np.zeros((2, 2)), "x", object()):
        try:
            f(bad)
        except Exception:
            pass
    for odd in (np.full(len(x), np.nan), np.full(len(x), np.inf), x + 1e300j):
        try:
            f(odd)
        except Exception:
            pass
    grad = np.empty(len(x))
    for i in range(len(x)):
        step = np.zeros(len(x))
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad
'''}, lost=("test_evaluation_counts",))

# --------------------------------------------------------------------------- editing the notebook

add("edits_test_cells", category="editing the notebook",
    description="the test cells of the two wrong answers are rewritten to print their 'passed' "
    "lines and to patch NumPy",
    answers={"answer_forward_difference": RETURNS_ZERO["answer_forward_difference"],
             "answer_central_difference": RETURNS_ZERO["answer_central_difference"]},
    edits=(SetSource("test_forward_difference", 'print("forward_difference: visible tests passed.")'),
           SetSource("test_central_difference", PATCH_COMPARISONS)),
    lost=lost(WRONG_FORWARD, WRONG_CENTRAL))

add("deletes_test_cells", category="editing the notebook",
    description="deletes the test cells of two wrong answers, the plot task and the written "
    "answer: nbgrader puts them back and they are graded",
    answers={"answer_complex_step": RETURNS_ZERO["answer_complex_step"],
             "answer_gradient_central": RETURNS_ZERO["answer_gradient_central"]},
    delete=("test_complex_step", "test_gradient_central", "test_evaluation_counts",
            "task_error_plot", "written_cancellation"),
    lost=lost(WRONG_COMPLEX, WRONG_GRADIENT_CENTRAL))

add("edits_test_cell_metadata", category="editing the notebook",
    description="edits the nbgrader metadata of test cells: not graded, 100 points, manually "
    "graded, unlocked, renamed, turned into Markdown, metadata removed; the answers they test "
    "are wrong",
    answers={key: RETURNS_ZERO[key] for key in (
        "answer_forward_difference", "answer_central_difference", "answer_complex_step",
        "answer_gradient_central", "answer_recursion_z")},
    edits=(SetMetadata("test_forward_difference", {"grade": False}),
           SetMetadata("test_central_difference", {"points": 100}),
           SetMetadata("test_complex_step", {"solution": True}),
           SetMetadata("test_gradient_central", {"locked": False}),
           SetCellType("test_best_steps", "markdown"),
           SetMetadata("test_recursion_value", {"grade_id": "not_a_test"}),
           SetMetadata("test_evaluation_counts", None, replace=True)),
    lost=lost(WRONG_FORWARD, WRONG_CENTRAL, WRONG_COMPLEX, WRONG_GRADIENT_CENTRAL, WRONG_Z))

add("adds_fake_test_cells", category="editing the notebook",
    description="adds cells claiming to be test cells: a new 100-point test, a 50-point written "
    "answer, a second copy of a test cell, malformed metadata, a second copy of an answer cell; "
    "forward_difference is wrong",
    answers={"answer_forward_difference": RETURNS_ZERO["answer_forward_difference"]},
    edits=(AddCell("answer_forward_difference", 'print("PASSED")',
                   nbgrader=code_cell("test_bonus", 100)),
           AddCell("end", "Full marks please.", cell_type="markdown",
                   nbgrader={"grade": True, "solution": True, "locked": False, "points": 50,
                             "grade_id": "written_bonus", "schema_version": 3}),
           AddCell("end", "pass", nbgrader=code_cell("test_forward_difference", 2)),
           AddCell("end", "x = 1", nbgrader={"grade": "yes", "points": "lots", "grade_id": 7}),
           AddCell("end", "y = 2", nbgrader="not even a dict"),
           AddCell("end", "def central_difference(f, x, h):\n    return 0.0",
                   nbgrader={"grade": False, "solution": True, "locked": False,
                             "grade_id": "answer_central_difference", "schema_version": 3})),
    lost=lost(WRONG_FORWARD))

add("reorders_cells", category="editing the notebook",
    description="moves a wrong answer's test cell to the top, recursion_z's answer cell to the "
    "end (after its tests) and forward_difference's test to the end",
    answers={"answer_central_difference": RETURNS_ZERO["answer_central_difference"]},
    edits=(MoveCell("test_central_difference", "start"),
           MoveCell("answer_recursion_z", "end"),
           MoveCell("test_forward_difference", "end")),
    lost=lost(WRONG_CENTRAL, WRONG_Z))

add("reorders_tests_to_the_end", category="editing the notebook",
    description="the model solution with every test cell moved to the end: full marks",
    edits=tuple(MoveCell(grade_id, "end") for grade_id in TESTS))

add("markup_injection", category="editing the notebook",
    description="the written answer and an added Markdown cell carry <script>, an onerror "
    "handler and a javascript: link (they would run in the formgrader or the feedback page)",
    edits=(SetSource("written_cancellation", '''
Cancellation. <script>document.title = "owned-by-script"</script>
<img src="x" onerror="document.title = 'owned-by-onerror'">
<a href="javascript:alert('owned-by-link')">my sources</a>
'''), AddCell("end", "<script>alert('owned-by-added-cell')</script>", cell_type="markdown")))

# --------------------------------------------------------------------------- the file system

add("writes_outside_its_folder", category="the file system",
    description="tries to write the gradebook, another student's submission, the autograded "
    "folder, the hidden checks, nbgrader's config, a sitecustomize.py in site-packages, "
    "mlpkit's source and bytecode, ~/.jupyter, /tmp, /dev/shm; to hard-link and rename the "
    "gradebook; and to read another student's notebook",
    needs_landlock=True,
    answers={"answer_forward_difference": RETURNS_ZERO["answer_forward_difference"] + '''

import os

import numpy

import mlpkit

ROOT = "{course_root}"
SITE = os.path.dirname(os.path.dirname(numpy.__file__))
PACKAGE = os.path.dirname(mlpkit.__file__)
results = {}


def attempt(label, action):
    try:
        action()
        results[label] = "done"
    except BaseException as exc:
        results[label] = type(exc).__name__


def write(path, text="PWNED"):
    with open(path, "a") as handle:
        handle.write(text)


attempt("gradebook", lambda: write(f"{ROOT}/gradebook.db"))
attempt("other submission", lambda: write(f"{ROOT}/submitted/aaa_honest_solution/ps1/ps1.ipynb"))
attempt("other submission folder", lambda: write(f"{ROOT}/submitted/aaa_honest_solution/ps1/x.py"))
attempt("autograded folder", lambda: os.makedirs(f"{ROOT}/autograded/zzz_honest_partial/ps1/x"))
attempt("hidden checks", lambda: write(f"{ROOT}/solutions/ps1/checks.py", "\\nraise SystemExit"))
attempt("nbgrader config", lambda: write(f"{ROOT}/nbgrader_config.py", "\\nc = None"))
attempt("sitecustomize", lambda: write(f"{SITE}/sitecustomize.py", "import os"))
attempt("mlpkit source", lambda: write(f"{PACKAGE}/grading.py", "\\ncheck_close = None"))
attempt("mlpkit bytecode", lambda: write(f"{PACKAGE}/__pycache__/grading.cpython-311.pyc"))
attempt("home jupyter", lambda: write("/root/.jupyter/nbgrader_config.py"))
attempt("tmp", lambda: write("/tmp/PWNED-by-adversarial-bank"))
attempt("dev shm", lambda: write("/dev/shm/PWNED-by-adversarial-bank"))
attempt("hard link", lambda: os.link(f"{ROOT}/gradebook.db", "gradebook-link"))
attempt("rename", lambda: os.rename(f"{ROOT}/gradebook.db", "gradebook-moved"))
attempt("symlink then read", lambda: (os.symlink(f"{ROOT}/gradebook.db", "gb"), open("gb").read()))
attempt("read other", lambda: open(f"{ROOT}/submitted/aaa_honest_solution/ps1/ps1.ipynb").read())
attempt("list course", lambda: os.listdir(ROOT))
print("outside:", results)
write("mine.txt", "allowed")
print("own folder written:", open("mine.txt").read())
'''}, lost=lost(WRONG_FORWARD),
    evidence={"answer_forward_difference": [
        "'gradebook': 'PermissionError'", "'other submission': 'PermissionError'",
        "'hidden checks': 'PermissionError'", "'sitecustomize': 'PermissionError'",
        "'mlpkit source': 'PermissionError'", "'read other': 'PermissionError'",
        "own folder written: allowed"]},
    absent={"answer_forward_difference": ["'done'"]})

add("symlinks_in_submission_folder", category="the file system",
    description="the submission folder holds symbolic links to the gradebook, the hidden checks "
    "and another student's notebook (nbgrader copies what links point to, as the grader); "
    "forward_difference reads them to copy that student's answer",
    files={"peek_gradebook.db": ("symlink", "{course_root}/gradebook.db"),
           "peek_checks.py": ("symlink", "{course_root}/solutions/ps1/checks.py"),
           "peek_other.json": ("symlink", "{course_root}/submitted/aaa_honest_solution/ps1/ps1.ipynb")},
    answers={"answer_forward_difference": '''
import json

peeked = {}
for name in ("peek_gradebook.db", "peek_checks.py", "peek_other.json"):
    try:
        with open(name, "rb") as handle:
            peeked[name] = handle.read()
    except OSError as exc:
        peeked[name] = type(exc).__name__
print({name: value if isinstance(value, str) else len(value) for name, value in peeked.items()})
if isinstance(peeked["peek_other.json"], bytes):
    for cell in json.loads(peeked["peek_other.json"])["cells"]:
        if "def forward_difference" in "".join(cell["source"]):
            exec("".join(cell["source"]))
else:
    def forward_difference(f, x, h):
        return 0.0
'''}, lost=lost(WRONG_FORWARD),
    evidence={"answer_forward_difference": ["'peek_other.json': 'FileNotFoundError'"]})

add("notebook_is_a_symlink", category="the file system",
    description="the submitted notebook itself is a symbolic link to another student's notebook "
    "(possible where students can write into the collected folders): graded as blank",
    files={"ps1.ipynb": ("symlink", "{course_root}/submitted/aaa_honest_solution/ps1/ps1.ipynb")},
    lost=tuple(sorted(TESTS)))
