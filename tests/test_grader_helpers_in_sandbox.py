"""``Student.define``: the grader's own helpers, run in the check process beside the notebook.

A check often needs code where the student's code runs (a test function written with the
student's class, one that counts its own evaluations). If that code lives in the notebook (a
locked cell), a later cell can redefine it and change what the check measures. These tests run
a real sandbox (zygote, notebook process, isolated check process) and show that the grader's
helpers are out of reach of such a redefinition, that they see the student's answers as they are
when called, and that a counter kept there counts calls the student's code cannot hide by name.
"""

from __future__ import annotations

import pytest

from autograder import confine
from autograder.checking import run_check
from autograder.isolation import Isolation
from autograder.runner import Limits

LANDLOCK = confine.landlock_abi()

NOTEBOOK = '''
class Twice:
    def __init__(self, value):
        self.value = value

def count_calls(f, x):          # the notebook's "provided" counter ...
    return 1

def probe(u):                    # ... and test function, both redefined by a later cell
    return 0.0

def reverse_gradient(f, x):      # evaluates f three times, and hides it where it can
    if hasattr(f, "calls"):
        f.calls = 0
    inner = getattr(f, "__wrapped__", f)
    return [inner(x), inner(x), f(x)][-1]
'''

HELPERS = '''
CALLS = []


def probe(u):
    """The grader's test function: counts its own evaluations (no wrapper to go around)."""
    CALLS.append(type(u).__name__ if not isinstance(u, (int, float)) else "number")
    return 3.0 * u


def twice(value):
    return answer("Twice")(value).value * 2
'''


@pytest.mark.skipif(LANDLOCK < 1, reason="per-check isolation needs Landlock")
def test_grader_helpers_cannot_be_redefined_by_the_notebook(zygote, tmp_path):
    params = Limits().spawn_params(str(tmp_path), zygote, {})
    proc = zygote.spawn(params)
    try:
        assert proc.exec_cell(NOTEBOOK, 10).status == "ok"
        isolation = Isolation(zygote, str(tmp_path), params["read_paths"],
                              expect_seccomp=proc.confinement.get("seccomp") == "on")
        child = proc.open_child(isolation=isolation)

        def check(student):
            student.define(HELPERS)
            student.define(HELPERS)  # sent once: CALLS is not emptied by a second define
            assert student.call_helper("probe", 2.0) == 6.0  # not the notebook's probe
            assert student.get_helper("CALLS") == ["number"]
            student.call("reverse_gradient", student.helper("probe"), 1.5)
            calls = student.get_helper("CALLS")
            assert calls == ["number"] * 4, calls  # all three evaluations counted
            assert student.call("count_calls", student.helper("probe"), 1.0) == 1  # notebook's
            assert student.call_helper("twice", 4.0) == 8.0  # the student's class, by name
            return "ok"

        verdict = run_check("t", check, child, 10)
        proc.close_child(child)
        assert verdict.passed, verdict.message
        assert not verdict.grader_bug

        child = proc.open_child(isolation=isolation)
        broken = run_check("t", lambda student: student.define("1 / 0"), child, 10)
        proc.close_child(child)
        assert broken.grader_bug and "ZeroDivisionError" in broken.message
    finally:
        proc.kill()
        zygote.sweep()


@pytest.mark.skipif(LANDLOCK < 1, reason="per-check isolation needs Landlock")
def test_grader_helpers_use_the_builtins_from_before_the_notebook_ran(zygote, tmp_path):
    params = Limits().spawn_params(str(tmp_path), zygote, {})
    proc = zygote.spawn(params)
    try:
        patch = "import builtins\nbuiltins.round = lambda *a: 0\nbuiltins.divmod = lambda *a: (0, 0)"
        assert proc.exec_cell(patch, 10).status == "ok"
        isolation = Isolation(zygote, str(tmp_path), params["read_paths"],
                              expect_seccomp=proc.confinement.get("seccomp") == "on")
        child = proc.open_child(isolation=isolation)

        def check(student):
            student.define("def rounded(x):\n    return [round(x), list(divmod(7, 2))]\n")
            return repr(student.call_helper("rounded", 2.75))

        verdict = run_check("t", check, child, 10)
        proc.close_child(child)
        assert verdict.passed and verdict.message == "[3, [3, 1]]", verdict.message
    finally:
        proc.kill()
        zygote.sweep()
