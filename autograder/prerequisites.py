"""Earlier checks first: when a cell's function uses a function an earlier cell grades, a failure
is reported as caused by that earlier function if it is wrong on its own (``fix_first``).

A problem set's ``checks.py`` declares, per cell, the :class:`Prerequisite` checks whose functions
it uses; ``with fix_first(student, prerequisites): ...`` re-runs a small probe of each when the
block fails, and names the first one that fails ("Fix test_x first: ...").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from autograder.checking import CheckFailed, Student


@dataclass(frozen=True)
class Prerequisite:
    """An earlier check whose function this cell's function uses: ``probe(student)`` re-runs a
    small case of that check and raises AssertionError when the earlier function is wrong."""

    grade_id: str
    uses: str  # what this cell's function uses, for the message: "your linear_backward"
    probe: object


def broken_prerequisite(student: Student, prerequisites) -> str | None:
    """The first prerequisite whose probe fails, as a message naming the check to fix first;
    None when every probe passes or nothing can be learnt (the process died, time ran out)."""
    for prerequisite in prerequisites:
        if student.crashed or time.monotonic() >= student.deadline:
            return None
        try:
            prerequisite.probe(student)
        except AssertionError as exc:
            text = str(exc).strip()
            if student.crashed or "did not finish within" in text:
                return None
            return (f"Fix {prerequisite.grade_id} first: this cell uses {prerequisite.uses}, which "
                    f"is wrong on its own:\n  {text}")
    return None


class fix_first:
    """``with fix_first(student, prerequisites): ...``: a failure inside the block is reported
    as caused by an earlier function when one of ``prerequisites`` fails its probe (the message
    names that check first, then what this cell measured); otherwise it is raised unchanged."""

    def __init__(self, student: Student, prerequisites):
        self.student, self.prerequisites = student, tuple(prerequisites)

    def __enter__(self):
        return self

    def __exit__(self, kind, failure, tb):
        if kind is None or not issubclass(kind, AssertionError):
            return False
        note = broken_prerequisite(self.student, self.prerequisites)
        if note is None:
            return False
        raise CheckFailed(f"{note}\n  What this cell measured: {str(failure).strip()}") from None
