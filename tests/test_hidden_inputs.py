"""Hidden inputs differ per term and are reproduced by a regrade (``autograder.secret.hidden_rng``).

Each check of every problem set is run against a stand-in for the student that records the first thing
the check asks of the notebook (a function call with its arguments) and then fails it, and
whether the check drew from ``hidden_rng`` by then (checks build their cases before they ask;
many start with a hand-picked case, so the first question alone often does not change). With
the same course secret the record is the same (a regrade gives every student the same inputs and
so the same mark); every check draws its hidden inputs from the secret, and some first questions
change with it, so one term's feedback does not tell the next term what the hidden checks ask. A
check that drew from a fixed seed would not draw from ``hidden_rng``. Fast: no sandbox, no
nbgrader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.checking import BlackBox, CheckFailed, StudentName, load_checks

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = tuple(sorted(p.name for p in (ROOT / "solutions").glob("ps*") if (p / "checks.py").exists()))
SECRETS = ("term-a-3f9c", "term-b-71d2")


def plain(value):
    """What a check sent, as comparable plain data."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, tuple(value.ravel().tolist()))
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, plain(v)) for k, v in value.items()))
    if isinstance(value, BlackBox):
        return ("box", value.name)
    if isinstance(value, StudentName):
        return ("name", value.scope, value.name)
    return value


class FirstRequest:
    """A student whose notebook answers nothing: records the check's first request, fails it."""

    crashed = False
    deadline = float("inf")

    def __init__(self):
        self.first = None

    def _ask(self, *request):
        if self.first is None:
            self.first = plain(request)
        raise CheckFailed("recorded")

    def call(self, name, *args, **kwargs):
        return self._ask("call", name, args, kwargs)

    call_in_place = call

    def call_helper(self, name, *args, **kwargs):
        """The grader's own helpers answer (emptying a log); one given inputs is the question."""
        return self._ask("call", name, args, kwargs) if args or kwargs else None

    def get(self, name, scope="student"):
        return self._ask("get", name, scope)

    def get_helper(self, name):
        return []  # an empty log of calls

    def define(self, source):
        pass

    def ref(self, name):
        return StudentName(name)

    def helper(self, name):
        return StudentName(name)


def first_requests(assignment: str, secret: str, monkeypatch) -> dict:
    """{grade_id: (the check's first request, whether it drew from hidden_rng before it)}."""
    from autograder import secret as secret_module

    monkeypatch.setenv("AUTOGRADER_SECRET", secret)
    checks = load_checks(str(ROOT / "solutions" / assignment / "checks.py")).checks
    drawn = []
    real = secret_module.course_secret
    monkeypatch.setattr(secret_module, "course_secret", lambda *a: drawn.append(1) or real(*a))
    found = {}
    for grade_id, check in checks.items():
        student, drawn[:] = FirstRequest(), []
        try:
            check(student)
        except AssertionError:
            pass
        found[grade_id] = (student.first, bool(drawn))
    monkeypatch.setattr(secret_module, "course_secret", real)
    return found


# Checks with no hidden input on purpose: PS1's test_best_steps reads the notebook's own
# experiment (f_test on the given grid of steps); PS3's deep programs are built once, when the
# checks load, and their size is the point; PS2's newton starts from points chosen so that where
# Newton stops cannot depend on rounding (``count_is_decided``), and whose basins keep every
# iterate in the probes' domains (log needs u > 0).
# PS5's test_sanity and test_digits read the notebook's own experiments on the course's data, and
# test_xor_relu asks for weights the student constructs: there is nothing hidden to draw.
FIXED_BY_DESIGN = {("ps1", "test_best_steps"), ("ps2", "test_newton"), ("ps3", "test_deep_graphs"),
                   ("ps5", "test_sanity"), ("ps5", "test_digits"), ("ps5", "test_xor_relu")}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_inputs_are_reproduced_and_change_with_the_secret(assignment, monkeypatch):
    first = first_requests(assignment, SECRETS[0], monkeypatch)
    again = first_requests(assignment, SECRETS[0], monkeypatch)
    other = first_requests(assignment, SECRETS[1], monkeypatch)
    assert all(request is not None for request, _ in first.values()), first
    assert first == again  # a regrade asks the same
    undrawn = sorted(g for g, (_, drew) in first.items()
                     if not drew and (assignment, g) not in FIXED_BY_DESIGN)
    assert not undrawn, f"{assignment}: checks that draw no hidden input from hidden_rng: {undrawn}"
    changed = [g for g in first if first[g][0] != other[g][0]]
    assert changed, f"{assignment}: every check asks the same first question under both secrets"
