"""The learner's self-check, ``python -m autograder.selfcheck``, in the full repository.

One run checks three notebooks of PS1 (the model solution, the blank release, a mistaken
submission under a name of the learner's choosing) with real nbgrader and the hidden checks,
and must print each question's score and, for failures, the explanation, without changing the
notebooks. (tests/test_student_copy.py runs it in a student copy, on the visible tests.)
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys

import nbformat
import pytest

from nbgrader_course import ROOT, run

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("learner")
    release = ROOT / "assignments" / "ps1" / "ps1.ipynb"
    source = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    bank = build.load_bank("ps1")
    paths = {"solution": folder / "solution.ipynb", "blank": folder / "blank.ipynb",
             "mistaken": folder / "my-ps1-attempt.ipynb"}
    for label, entry in (("solution", "solution"), ("mistaken", "mistake_central_over_h")):
        nb = build.build(nbformat.read(release, as_version=4), source, bank[entry])
        nbformat.write(nb, paths[label])
    shutil.copy(release, paths["blank"])
    before = {label: hashlib.sha256(path.read_bytes()).hexdigest() for label, path in paths.items()}
    done = run([sys.executable, "-m", "autograder.selfcheck", *paths.values()], folder, timeout=900)
    reports = done.stdout.split("-" * 72)
    return {"done": done, "paths": paths, "before": before,
            "report": dict(zip(paths, reports))}


def test_reports_every_notebook_with_the_hidden_checks(checked):
    done = checked["done"]
    assert done.returncode == 0, done.stderr[-3000:]  # graded: a failing question is a result
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("Verdict: ")]
    assert len(verdicts) == 3 and done.stdout.rstrip().splitlines()[-1].startswith("Verdict: ")
    assert sum("autograded points earned." in line for line in verdicts) == 1, verdicts
    assert sum("; fix " in line for line in verdicts) == 2, verdicts
    assert len(checked["report"]) == 3
    for report in checked["report"].values():
        assert "with the HIDDEN checks, as in the instructor's grading" in report
        assert "Graded by hand, not included: written_cancellation (4), task_error_plot (3)." in report
        assert "Your notebook was not changed." in report


def test_solution_gets_every_point(checked):
    report = checked["report"]["solution"]
    assert "Autograded: 23 of 23 points" in report
    assert "[FAILED]" not in report and report.count("[PASSED]") == 10


def test_blank_release_gets_nothing_and_is_told_why(checked):
    report = checked["report"]["blank"]
    assert "Autograded: 0 of 23 points" in report
    assert "[FAILED] test_forward_difference: 0 of 2" in report
    assert "forward_difference still raises NotImplementedError" in report


def test_mistake_is_found_and_explained(checked):
    report = checked["report"]["mistaken"]
    entry = build.load_bank("ps1")["mistake_central_over_h"]
    assert "my-ps1-attempt.ipynb (problem set ps1)" in report  # recognised from its cells
    assert "[FAILED] test_central_difference: 0 of 3" in report
    for grade_id, phrase in build.expected_phrases(entry).items():  # the bank's own key phrases
        assert f"[FAILED] {grade_id}" in report and phrase in report, grade_id
    assert "[PASSED] test_forward_difference: 2 of 2" in report
    points = {g: float(p) for g, p in re.findall(r"\] (test_\w+): [0-9.]+ of ([0-9.]+)", report)}
    earned = sum(p for g, p in points.items() if g not in entry.lost)
    assert f"Autograded: {earned:g} of {sum(points.values()):g} points" in report
    assert "Part A: finite differences" in report  # questions are grouped by part


def test_notebooks_are_not_modified(checked):
    for label, path in checked["paths"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == checked["before"][label], label


def test_usage_errors_exit_with_2(tmp_path):
    stray = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), stray)
    done = run([sys.executable, "-m", "autograder.selfcheck", stray], tmp_path, timeout=120)
    assert done.returncode == 2 and "give --assignment" in done.stderr
