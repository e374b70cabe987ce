"""Grader-side checks: how a problem set's ``checks.py`` talks to a student's notebook.

A problem set's ``solutions/<ps>/checks.py`` holds one function per autograded test cell::

    from autograder import BlackBox, CheckFailed, check

    @check("test_central_difference")
    def central(student):
        f = BlackBox(np.sin, "f")                      # evaluated in the grader, counted
        got = student.call("central_difference", f, 0.5, 1e-3)
        check_scalar("central_difference(f, 0.5, 0.001)", got, expected, rtol=1e-9)

The function runs in the grader, beside nothing the student wrote. ``student.call`` runs the
student's function in the sandbox (``runner.py``) and returns plain data only: numbers, NumPy
arrays of float/complex/int/bool, strings, lists, dicts, ``None``. Anything else fails the check
("returned a <type>"). A failing ``assert``/``AssertionError`` (e.g. from
:mod:`mlpkit.grading`) or :class:`CheckFailed` fails the check with its message; returning
normally passes it (a returned string is shown to the student). Timeouts and crashes of the
student's code fail the check with a message saying what happened.
"""

from __future__ import annotations

import math
import time
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

from autograder import wire
from autograder.runner import Broken, ChildProcess, Timeout

__all__ = ["check", "CheckFailed", "BlackBox", "Student", "Verdict", "load_checks", "run_check"]


class CheckFailed(AssertionError):
    """The student's answer is wrong; the message says why, in words a student understands."""


class GraderBug(Exception):
    """A check raised something other than a failed assertion: a bug in ``checks.py``."""


def check(grade_id: str, *, timeout: float | None = None):
    """Register the decorated function as the grader of the test cell ``grade_id``.

    ``timeout`` (seconds) overrides ``SandboxAutograde.check_timeout`` for this check: give it
    only to checks whose *correct* answers are slow.
    """
    if not isinstance(grade_id, str) or not grade_id:
        raise TypeError("check() needs the grade_id of a test cell, e.g. @check('test_forward')")

    def register(fn):
        fn.__grade_id__ = grade_id
        fn.__check_timeout__ = timeout
        return fn

    return register


@dataclass
class ChecksModule:
    """What a ``checks.py`` defines: the checks by grade_id, the forbidden modules."""

    path: str
    checks: dict
    forbidden: dict


def load_checks(path: str) -> ChecksModule:
    """Execute ``checks.py`` in a fresh namespace (no bytecode is written next to it)."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "mlpkit_autograde_checks", "__file__": path}
    exec(compile(source, path, "exec"), namespace)
    checks = {}
    for value in namespace.values():
        grade_id = getattr(value, "__grade_id__", None)
        if grade_id is None or not callable(value):
            continue
        if grade_id in checks:
            raise ValueError(f"{path}: two checks for {grade_id!r}")
        checks[grade_id] = value
    forbidden = namespace.get("FORBIDDEN_MODULES", {})
    if not isinstance(forbidden, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in forbidden.items()):
        raise TypeError(f"{path}: FORBIDDEN_MODULES must map module names to reasons (str)")
    return ChecksModule(path, checks, dict(forbidden))


# --------------------------------------------------------------------------- black boxes


class BlackBox:
    """A function the grader lends to the student's code, evaluated in the grader.

    The student's code receives a stand-in that sends each ``x`` here and gets ``fn(x)`` back,
    so it can neither see ``fn`` nor fake its values, and every evaluation is recorded:
    ``box.count`` evaluations, at the points ``box.points``. ``size=n`` makes ``fn`` accept only
    vectors of shape ``(n,)`` (a gradient's input). ``fn`` gets real or complex NumPy input
    and must be NumPy code (complex-step safe if the task uses the complex step).
    """

    def __init__(self, fn, name: str = "f", *, size: int | None = None, max_evals: int = 20_000,
                 max_values: int = 2_000_000, description: str | None = None):
        self.fn, self.name, self.size, self.max_evals = fn, name, size, max_evals
        self.max_values = max_values  # numbers stored in ``points``: bounds the grader's memory
        self.description = description or name
        self.points: list[np.ndarray] = []
        self._stored = 0

    @property
    def count(self) -> int:
        return len(self.points)

    def reset(self) -> None:
        self.points = []
        self._stored = 0

    def __repr__(self) -> str:
        return self.name

    def evaluate(self, message: dict) -> dict:
        """Answer one ``eval`` request from the sandbox."""
        try:
            x = wire.decode(message.get("x"))
        except wire.WireError as exc:
            return _eval_error("TypeError", f"{self.name}(x): unreadable argument ({exc})")
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "biufc":
            return _eval_error("TypeError", f"{self.name}(x) needs a number or an array of numbers")
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
        if self.size is not None and x.shape != (self.size,):
            return _eval_error("ValueError", f"{self.name} takes one vector x of shape "
                                             f"({self.size},), but got an array of shape {x.shape}")
        if self.count >= self.max_evals or self._stored + x.size > self.max_values:
            return _eval_error("RuntimeError", f"{self.name} was evaluated more than this task "
                                               "can need (too many calls or too many points)")
        self.points.append(x.copy())
        self._stored += x.size
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                value = np.asarray(self.fn(x if x.ndim else x[()]))
                return {"op": "value", "value": wire.encode_array(value)}
            except Exception as exc:  # noqa: BLE001 - the student's argument, not the grader, is odd
                return _eval_error("ValueError", f"{self.name}(x) cannot be evaluated at an x of "
                                                 f"shape {x.shape} and dtype {x.dtype} "
                                                 f"({type(exc).__name__}: {exc})")


def _eval_error(kind: str, message: str) -> dict:
    return {"op": "error", "kind": kind, "message": message}


class StudentName:
    """Pass the student's own object ``name`` as an argument: ``student.ref("z")``."""

    scope = "student"

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class HelperName(StudentName):
    """Pass the grader's own helper ``name`` (see :meth:`Student.define`): ``student.helper("f")``."""

    scope = "grader"


# --------------------------------------------------------------------------- the student


def describe_call(name: str, args, kwargs) -> str:
    """``central_difference(f, 0.5, 0.001)``: how a call is shown in messages."""
    shown = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(shown)})"


def _show(value) -> str:
    if isinstance(value, (BlackBox, StudentName)):  # HelperName too
        return repr(value)
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, separator=", ", threshold=8)
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Student:
    """The student's notebook as a check sees it: call functions, read variables. Plain data only."""

    def __init__(self, child: ChildProcess, timeout: float, deadline: float | None = None):
        self._child = child
        self.timeout = timeout
        own = time.monotonic() + timeout  # the check's overall deadline, for all its calls
        self.notebook_deadline = deadline  # the whole notebook's, if sooner
        self.deadline = own if deadline is None else min(own, deadline)
        self._boxes: dict[int, BlackBox] = {}
        self._defined: set[str] = set()  # sources sent with define()
        self.crashed = False

    def ref(self, name: str) -> StudentName:
        """The student's own function (or value) ``name``, to pass as an argument."""
        return StudentName(name)

    # ------------------------------------------------ the grader's own code in the check process

    def define(self, source: str) -> None:
        """Run ``source`` (grader code, from checks.py) in the check process, in a namespace of
        its own beside the notebook's: the helpers a check needs where the student's code runs
        (a test function written with the student's class, one that counts its own calls).

        A notebook can redefine any name it was given, even one of a locked cell, in a later
        cell; the grader's helpers cannot be redefined that way. Grader code reaches the
        student's answers by name, when it runs: ``answer("DualNumber")``. Pass a helper as
        an argument with :meth:`helper`, call it with :meth:`call_helper`, read its variables
        with :meth:`get_helper`. Each source is sent once per check (later calls do nothing).

        Limits: the helpers run in the student's process, so they are as trustworthy as that
        process; code written to attack the grader (reading a function's ``__globals__``,
        patching ``sys.modules``) could reach them. What they report is plain data that the
        check judges, and the verdict is decided in the grader.
        """
        if not isinstance(source, str):
            raise TypeError("Student.define needs the source text of the helpers")
        if source in self._defined:
            return
        reply = self._request({"op": "define", "source": source}, "the grader's helpers")
        if reply.get("op") != "defined":  # our own code failed: a bug in checks.py
            raise RuntimeError("the grader's helpers could not be defined in the check process: "
                               f"{reply.get('ename')}: {reply.get('evalue')}")
        self._defined.add(source)

    def helper(self, name: str) -> HelperName:
        """The grader's helper ``name`` (defined by :meth:`define`), to pass as an argument."""
        return HelperName(name)

    def call_helper(self, name: str, *args, **kwargs):
        """Call the grader's helper ``name`` in the check process (it may call the student's
        answers); its value as plain data, or CheckFailed if the student's code raised."""
        value, *_ = self._call(name, args, kwargs, scope="grader")
        return value

    def get_helper(self, name: str):
        """A variable of the grader's helpers (a log of calls, a count) as plain data."""
        return self.get(name, scope="grader")

    def call(self, name: str, *args, **kwargs):
        """``name(*args, **kwargs)`` in the sandbox; its value as plain data, or CheckFailed.

        Every array, list and dict argument is read back after the call: a function that
        changed one in place fails, with the argument named (the problem sets promise that
        functions leave their inputs alone). Where changing an argument IS the contract (an
        optimiser step), use :meth:`call_in_place` and check the arguments yourself.
        """
        value, args_after, kwargs_after, names = self._call(name, args, kwargs)
        shown = describe_call(name, args, kwargs)
        changed = changed_argument(args, kwargs, args_after, kwargs_after, names)
        if changed:
            raise CheckFailed(f"{shown} changed its argument {changed} in place. Your function must "
                              "leave its inputs as they were (the caller still needs them): work on "
                              "a copy (for example x = x.copy()) instead of writing into the argument "
                              "(x[i] += h, x *= 2, x.sort(), ...).")
        return value

    def call_in_place(self, name: str, *args, **kwargs):
        """Like :meth:`call`, for functions whose contract is to update an argument in place:
        returns ``(value, args_after, kwargs_after)``, the arguments as the call left them."""
        value, args_after, kwargs_after, _ = self._call(name, args, kwargs)
        return value, args_after, kwargs_after

    def _call(self, name: str, args: tuple, kwargs: dict, scope: str = "student"):
        shown = describe_call(name, args, kwargs)
        message = {"op": "call", "name": name, "scope": scope, "args": self._encode(list(args)),
                   "kwargs": self._encode(dict(kwargs))}
        reply = self._request(message, shown)
        op = reply.get("op")
        if op == "return":
            value = self._decode(reply.get("value"), shown)
            if isinstance(value, wire.Unsupported) or _contains_unsupported(value):
                bad = value if isinstance(value, wire.Unsupported) else _contains_unsupported(value)
                raise CheckFailed(f"{shown} returned a {bad.type_name} ({bad.text}), but the "
                                  "answer must be a number or a NumPy array of numbers.")
            args_after = self._decode(reply.get("args_after", []), shown)
            kwargs_after = self._decode(reply.get("kwargs_after", {}), shown)
            names = reply.get("arg_names", [])
            names = [str(n)[:40] for n in names] if isinstance(names, list) else []
            return value, args_after, kwargs_after, names
        if op == "raised":
            raise CheckFailed(_raised_message(shown, name, reply))
        if op == "missing":
            if scope == "grader":
                raise RuntimeError(f"the grader's helper {name!r} is not defined (define it first)")
            raise CheckFailed(_missing_message(name))
        if op == "not_callable":
            raise CheckFailed(f"{name} should be a function, but it is a {reply.get('type')}.")
        raise CheckFailed(f"{shown}: the process running your code answered something unexpected.")

    def get(self, name: str, scope: str = "student"):
        """The student's variable ``name`` as plain data (CheckFailed if missing or not plain)."""
        reply = self._request({"op": "get", "name": name, "scope": scope}, name)
        if reply.get("op") == "missing":
            if scope == "grader":
                raise RuntimeError(f"the grader's helper {name!r} is not defined (define it first)")
            raise CheckFailed(_missing_message(name, variable=True))
        if reply.get("op") != "value":
            raise CheckFailed(f"{name}: the process running your code answered something unexpected.")
        value = self._decode(reply.get("value"), name)
        if isinstance(value, wire.Unsupported):
            raise CheckFailed(f"{name} is a {value.type_name} ({value.text}), but it should be "
                              "a number or a NumPy array of numbers.")
        return value

    # ----------------------------------------------------------------- plumbing

    def _encode(self, value):
        def describe(item):
            if isinstance(item, BlackBox):
                self._boxes[id(item)] = item
                return {"__box__": id(item), "name": item.name}
            if isinstance(item, StudentName):
                return {"__ref__": item.name, "scope": item.scope}
            return None

        return wire.encode(value, describe=describe)

    def _decode(self, value, shown: str):
        try:
            return wire.decode(value)
        except wire.WireError as exc:
            raise CheckFailed(f"{shown}: the answer could not be read ({exc}).") from None

    def _serve(self, message: dict) -> dict:
        box = self._boxes.get(message.get("box"))
        if box is None:
            return _eval_error("RuntimeError", "unknown function")
        return box.evaluate(message)

    def _request(self, message: dict, shown: str) -> dict:
        try:
            return self._child.request(message, self.deadline, self._serve)
        except Timeout:
            if self.notebook_deadline is not None and time.monotonic() >= self.notebook_deadline:
                raise CheckFailed(
                    f"{shown} did not finish before the grader's time for this notebook was used "
                    "up, so the grader stopped it (the cells and checks above took that time). "
                    "Look for infinite loops or very slow cells.") from None
            raise CheckFailed(
                f"{shown} did not finish within {self.timeout:g} s, so the grader stopped it. "
                "Look for an infinite loop (a while loop whose condition never changes) or "
                "a computation far larger than the task needs.") from None
        except Broken:
            self.crashed = True
            raise CheckFailed(
                f"{shown} stopped the Python process running your code. Calls such as "
                "os._exit(), os.kill(), a crash inside compiled code or running out of memory "
                "do this.") from None


def _unchanged(before, after, inside: bool = False) -> bool:
    """Whether ``after`` (read back from the sandbox) still equals ``before`` (what was sent),
    looking at arrays, lists and dicts (what a function can change in place) and the numbers
    ``inside`` them."""
    if inside and isinstance(before, (bool, int, float, complex)) and not isinstance(after, (list, dict)):
        return after == before or (before != before and after != after)
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.shape != before.shape:
            return False
        return bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
    if isinstance(before, (list, tuple)):
        return (isinstance(after, list) and len(after) == len(before)
                and all(_unchanged(b, a, True) for b, a in zip(before, after)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and set(after) == set(before)
                and all(_unchanged(before[k], after[k], True) for k in before))
    return True


def changed_argument(args, kwargs, args_after, kwargs_after, names) -> str | None:
    """The first argument a call changed in place, described for a student, or None."""
    after = args_after if isinstance(args_after, list) else []
    for position, before in enumerate(args):
        if not _unchanged(before, after[position] if position < len(after) else None):
            if position < len(names):
                return f"{names[position]} (argument {position + 1})"
            return f"number {position + 1}"
    after_kw = kwargs_after if isinstance(kwargs_after, dict) else {}
    for key, before in kwargs.items():
        if not _unchanged(before, after_kw.get(key)):
            return key
    return None


def _contains_unsupported(value):
    if isinstance(value, wire.Unsupported):
        return value
    if isinstance(value, list):
        for item in value:
            found = _contains_unsupported(item)
            if found:
                return found
    if isinstance(value, dict):
        return _contains_unsupported(list(value.values()))
    return None


def _missing_message(name: str, variable: bool = False) -> str:
    kind = "variable" if variable else "function"
    return (f"The {kind} {name} is not defined. Run the cell that defines it; if that cell "
            "raised an error, it was never created. Keep the name exactly as given.")


def _raised_message(shown: str, name: str, reply: dict) -> str:
    ename, evalue = str(reply.get("ename", "Exception")), str(reply.get("evalue", ""))
    if ename == "NotImplementedError":
        return (f"{name} still raises NotImplementedError: replace the line "
                "`raise NotImplementedError()` with your code.")
    lines = [line for line in reply.get("traceback", []) if isinstance(line, str)]
    tail = "\n".join(lines[-6:]).rstrip()
    return f"{shown} raised {ename}: {evalue}\n{tail}"


# --------------------------------------------------------------------------- verdicts


@dataclass
class Verdict:
    grade_id: str
    passed: bool
    message: str
    seconds: float = 0.0
    grader_bug: bool = False
    crashed: bool = False  # the student's process died during the check (not by our timeout)


def run_check(grade_id: str, fn, child: ChildProcess, timeout: float,
              deadline: float | None = None) -> Verdict:
    """Run one check against a check process within ``timeout`` seconds and before ``deadline``
    (the notebook's); never raises."""
    start = time.monotonic()
    student = Student(child, timeout, deadline)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            note = fn(student)
    except AssertionError as exc:
        message = str(exc).strip() or "a hidden check failed"
        return Verdict(grade_id, False, message, time.monotonic() - start,
                       crashed=student.crashed)
    except Exception:
        detail = traceback.format_exc(limit=-3)
        return Verdict(grade_id, False, "The grader's check itself failed (a bug in the grader, "
                       "not in your work): your instructor has been told.\n" + detail,
                       time.monotonic() - start, grader_bug=True)
    return Verdict(grade_id, True, note if isinstance(note, str) else "",
                   time.monotonic() - start)


def returned(label: str, value, count: int, names: str) -> list:
    """What a student's function returned, as ``count`` items (a tuple arrives here as a list);
    otherwise ``CheckFailed`` naming what came back (helper for checks)."""
    if not isinstance(value, list) or len(value) != count:
        what = (f"{len(value)} values" if isinstance(value, list)
                else f"a {type(value).__name__}")
        raise CheckFailed(f"{label} should return {count} values ({names}), but returned {what}.")
    return value


def finite_float(value) -> float:
    """``value`` as a float if it is one finite real number (helper for checks), else None."""
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        return None
    number = float(arr.reshape(()))
    return number if math.isfinite(number) else None
