"""PS6: every bank mistake fails exactly its cells AND says why (the key phrase of its cause).

The scores are also checked by tests/test_grading_pipeline.py through real nbgrader runs; this
test adds what that one does not look at for PS6: the failure messages. It grades the bank's
entries that carry ``phrases`` with the same sandbox and checks as ``nbgrader autograde``
(autograder.preprocessor.NotebookRunner, as ``python -m autograder`` does), without nbgrader or a
gradebook, and asserts each phrase in the message of its test cell.

    .venv/bin/pytest tests/submissions/ps6/test_ps6_bank_messages.py      # about a minute
    .venv/bin/python tests/submissions/ps6/test_ps6_bank_messages.py      # a table, for authors
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

ASSIGNMENT = "ps6"
BANK = build.load_bank(ASSIGNMENT)
WITH_PHRASES = sorted(name for name, entry in BANK.items() if entry.phrases)


def grade(names, check_timeout: float = 3.0, cell_timeout: float = 5.0) -> dict:
    """name -> {grade_id: Verdict} for the bank entries ``names``, one shared zygote."""
    from autograder.checking import load_checks
    from autograder.preprocessor import NotebookRunner
    from autograder.runner import Limits, shared_zygote

    checks = load_checks(str(ROOT / "solutions" / ASSIGNMENT / "checks.py"))
    release = nbformat.read(ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    settings = SimpleNamespace(
        cell_timeout=cell_timeout, check_timeout=check_timeout, notebook_timeout=300.0,
        max_restarts=4, max_output_chars=20000, require_confinement=False,
        max_notebook_output_mb=40.0, log=logging.getLogger("autograder"))
    zygote = shared_zygote(["numpy", "matplotlib", "matplotlib.pyplot"])
    results = {}
    for name in names:
        nb = build.build(release, source, BANK[name])
        with tempfile.TemporaryDirectory(prefix="ps6-bank-") as scratch:
            params = Limits().spawn_params(scratch, zygote, checks.forbidden)
            runner = NotebookRunner(settings, zygote, params, checks.checks)
            try:
                runner.run(nb)
            finally:
                runner.close()
        results[name] = {v.grade_id: v for v in runner.verdicts}
    return results


@pytest.fixture(scope="module")
def graded():
    return grade(WITH_PHRASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_PHRASES)
def test_mistake_fails_its_cells_and_names_its_cause(graded, name):
    entry, verdicts = BANK[name], graded[name]
    failed = {grade_id for grade_id, verdict in verdicts.items() if not verdict.passed}
    assert failed == set(entry.lost), (name, failed)
    for grade_id, phrase in entry.phrases.items():
        assert grade_id in entry.lost, (name, grade_id)
        assert phrase in verdicts[grade_id].message, (name, grade_id, verdicts[grade_id].message)


if __name__ == "__main__":  # a table for the problem set's author
    names = sys.argv[1:] or list(BANK)
    start = time.monotonic()
    for name, verdicts in grade(names).items():
        entry = BANK[name]
        failed = {g for g, v in verdicts.items() if not v.passed}
        ok = failed == set(entry.lost)
        slowest = max(verdicts.values(), key=lambda v: v.seconds)
        print(f"{'OK ' if ok else 'BAD'} {name}: lost {sorted(failed)}"
              + ("" if ok else f" expected {sorted(entry.lost)}")
              + f" [slowest check {slowest.grade_id} {slowest.seconds:.2f} s]")
        for grade_id in sorted(failed):
            message = verdicts[grade_id].message
            phrase = entry.phrases.get(grade_id)
            mark = ("" if phrase is None else "  phrase OK" if phrase in message
                    else f"  PHRASE MISSING: {phrase!r}")
            print(f"    {grade_id}:{mark}\n      " + message[:700].replace("\n", "\n      "))
    print(f"{time.monotonic() - start:.1f} s")
