"""Check your own problem-set notebook, offline, the way the instructor grades it.

    python -m autograder.selfcheck assignments/ps1/ps1.ipynb
    python -m autograder.selfcheck ~/Downloads/my-ps1.ipynb --assignment ps1
    python -m autograder.selfcheck try1.ipynb try2.ipynb       # several versions of one problem set

This runs real nbgrader (``generate_assignment`` then ``autograde``) in a scratch course folder
that is deleted afterwards, with the course's own ``nbgrader_config.py``: the same sandbox,
limits and grading rules as the instructor's run. It prints, for each autograded question, the
points, whether it passed and, if not, the explanation. Your notebook is copied, never changed.

- In the full course repository (which has ``solutions/``) the hidden checks grade your work,
  exactly as in the instructor's grading.
- In a student copy of the course (no ``solutions/``) the hidden checks are not available: each
  test cell is graded by its visible tests, run in the same sandbox, and the report says so. A
  pass there is necessary, not sufficient: the hidden checks try more inputs.

Manually graded parts (written answers, figures) are listed with their points, not scored.
The last line is a one-line verdict. Exit status (a failing question is a result, not an error):
0 the notebook was graded (``--strict``: and every autograded point was earned, else 1);
2 usage error (no such file, not a problem set of this course); 3 nbgrader could not grade it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]  # the folder holding mlpkit/, assignments/, ...
LEARNER = "selfcheck-{}"  # the scratch course's student ids, one per notebook checked


@dataclass
class Question:
    grade_id: str
    title: str
    points: float
    score: float | None
    passed: bool
    message: str


def grade_ids(path: Path) -> list[str]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb.get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    found = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            found.append(meta["grade_id"])
    return found


def find_assignment(notebook: Path, course: Path) -> tuple[str, str] | None:
    """(assignment, notebook name) whose release shares the most cells with ``notebook``."""
    mine = set(grade_ids(notebook))
    best, overlap = None, 0
    for release in sorted((course / "assignments").glob("*/*.ipynb")):
        shared = len(mine & set(grade_ids(release)))
        if shared > overlap:
            best, overlap = (release.parent.name, release.stem), shared
    return best


def run_nbgrader(scratch: Path, assignment: str, learners, *, visible: bool,
                 cell_timeout: float) -> str:
    """``generate_assignment``, then ``autograde`` for each of ``learners``, in ``scratch`` with
    nbgrader's own API (the converters the command line runs, in this process: one start-up
    instead of one per command). Returns nbgrader's log; raises RuntimeError if a step fails."""
    import warnings

    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                          os.environ.get("PATH", "")])  # nbgrader runs alembic
    config = PyFileConfigLoader("nbgrader_config.py", path=str(scratch)).load_config()
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{scratch}/gradebook.db"
    config.SandboxAutograde.visible_tests = visible
    config.SandboxAutograde.cell_timeout = cell_timeout
    config.SandboxAutograde.require_confinement = False  # the learner's own code and machine
    api = NbGraderAPI(config=config)
    log = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings are not for learners
        steps = [("generate_assignment", lambda: api.generate_assignment(assignment))]
        steps += [("autograde", lambda who=who: api.autograde(assignment, who)) for who in learners]
        for step, run in steps:
            result = run()
            log += result.get("log") or ""
            if not result.get("success"):
                raise RuntimeError(f"nbgrader {step} failed:\n{result.get('error', '')[-3000:]}"
                                   f"\n{log[-3000:]}")
    return log


def prepare(scratch: Path, course: Path, assignment: str, hidden: bool) -> None:
    """A scratch course: the course's configuration and the problem set's source."""
    shutil.copy(course / "nbgrader_config.py", scratch)
    origin = course / ("solutions" if hidden else "assignments") / assignment
    shutil.copytree(origin, scratch / "solutions" / assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))


def read_report(scratch: Path, assignment: str, name: str, learner: str):
    """The autograded questions (in notebook order) and the manually graded parts."""
    import nbformat
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{scratch}/gradebook.db") as gradebook:
        submitted = gradebook.find_submission_notebook(name, assignment, learner)
        grades = {g.name: (g.auto_score, g.max_score, g.cell.cell_type) for g in submitted.grades}
    nb = nbformat.read(scratch / "autograded" / learner / assignment / f"{name}.ipynb",
                       as_version=4)
    questions, title = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            title = cell.source.lstrip().splitlines()[0].lstrip("#").strip()
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in grades or grades[grade_id][2] != "code":
            continue
        score, points, _ = grades.pop(grade_id)
        lines = []
        for output in cell.get("outputs", []):
            lines += output.get("traceback", []) or output.get("text", "").splitlines()
        message = "\n".join(lines[1:]).strip()  # line 0 is the verdict: PASSED/FAILED ...
        questions.append(Question(grade_id, title, points, score, bool(score) and score == points,
                                  message))
    manual = [(grade_id, points) for grade_id, (_, points, kind) in grades.items()
              if kind == "markdown"]
    return questions, manual


def print_report(notebook: Path, assignment: str, hidden: bool, questions, manual,
                 seconds: float, out=sys.stdout) -> None:
    def say(text=""):
        print(text, file=out)

    mode = ("the HIDDEN checks, as in the instructor's grading" if hidden else
            "the VISIBLE tests only: this copy of the course has no solutions/ folder, so the "
            "hidden checks are not available. The instructor's grading also runs hidden checks "
            "on other inputs: passing here is necessary, not sufficient.")
    say(f"Self-check of {notebook} (problem set {assignment}) with {mode}")
    say()
    title = None
    for question in questions:
        if question.title != title:
            title = question.title
            say(title)
        mark = "PASSED" if question.passed else "FAILED"
        say(f"  [{mark}] {question.grade_id}: {question.score or 0:g} of {question.points:g}")
        if not question.passed and question.message:
            say(textwrap.indent(question.message, "      "))
    earned = sum(q.score or 0 for q in questions)
    total = sum(q.points for q in questions)
    say()
    say(f"Autograded: {earned:g} of {total:g} points (checked in {seconds:.0f} s).")
    if manual:
        parts = ", ".join(f"{grade_id} ({points:g})" for grade_id, points in manual)
        say(f"Graded by hand, not included: {parts}.")
    say("Your notebook was not changed.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.selfcheck",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", type=Path, nargs="+",
                        help="your notebook(s) of one problem set (never modified)")
    parser.add_argument("--assignment", help="the problem set, e.g. ps1 (default: recognised "
                                             "from the notebook's cells)")
    parser.add_argument("--course", type=Path, default=COURSE,
                        help="the course folder (default: the one this mlpkit belongs to)")
    parser.add_argument("--visible-only", action="store_true",
                        help="grade with the visible tests even where the hidden checks exist")
    parser.add_argument("--cell-timeout", type=float, default=30.0)
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 unless every autograded point is earned (for scripts)")
    args = parser.parse_args(argv)

    notebooks = [path.expanduser().resolve() for path in args.notebooks]
    course = args.course.expanduser().resolve()
    for notebook in notebooks:
        if not notebook.is_file():
            parser.error(f"{notebook} is not a file")
    if not (course / "nbgrader_config.py").is_file():
        parser.error(f"{course} is not the course folder (no nbgrader_config.py)")
    if args.assignment:
        releases = sorted((course / "assignments" / args.assignment).glob("*.ipynb"))
        if not releases:
            parser.error(f"no problem set {args.assignment!r} in {course / 'assignments'}")
        found = {(args.assignment, releases[0].stem)}
    else:
        found = {find_assignment(notebook, course) for notebook in notebooks}
        if None in found:
            parser.error("a notebook has none of the cells of any problem set in "
                         f"{course / 'assignments'}: give --assignment")
    if len(found) != 1:
        parser.error(f"the notebooks belong to different problem sets {sorted(found)}: check "
                     "one problem set at a time")
    (assignment, name), = found
    hidden = not args.visible_only and (course / "solutions" / assignment / f"{name}.ipynb").is_file()

    start = time.monotonic()
    learners = [LEARNER.format(number) for number in range(1, len(notebooks) + 1)]
    reports = []
    with tempfile.TemporaryDirectory(prefix="mlpkit-selfcheck-") as folder:
        scratch = Path(folder)
        prepare(scratch, course, assignment, hidden)
        for notebook, learner in zip(notebooks, learners):
            target = scratch / "submitted" / learner / assignment
            target.mkdir(parents=True)
            shutil.copyfile(notebook, target / f"{name}.ipynb")
        try:
            run_nbgrader(scratch, assignment, learners, visible=not hidden,
                         cell_timeout=args.cell_timeout)
        except RuntimeError as exc:
            print(f"{exc}\nnbgrader could not grade this notebook (is it a valid notebook?)",
                  file=sys.stderr)
            print("Verdict: not graded (see the message above).")
            return 3
        for learner in learners:
            if not (scratch / "autograded" / learner).exists():
                print(f"nbgrader could not grade {notebooks[learners.index(learner)]} (is it a "
                      "valid notebook?)", file=sys.stderr)
                print("Verdict: not graded (see the message above).")
                return 3
            reports.append(read_report(scratch, assignment, name, learner))
    seconds = time.monotonic() - start
    verdicts = []
    for index, (notebook, (questions, manual)) in enumerate(zip(notebooks, reports)):
        if index:
            print("\n" + "-" * 72 + "\n")
        print_report(notebook, assignment, hidden, questions, manual, seconds)
        failed = [q.grade_id for q in questions if not q.passed]
        earned, total = sum(q.score or 0 for q in questions), sum(q.points for q in questions)
        verdicts.append((notebook.name, failed, earned, total))
    print()
    for name, failed, earned, total in verdicts:
        if failed:
            print(f"Verdict: {name}: {earned:g} of {total:g} autograded points; fix {', '.join(failed)} "
                  "(their messages are above).")
        else:
            print(f"Verdict: {name}: all {total:g} autograded points earned.")
    return 1 if args.strict and any(failed for _, failed, _, _ in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
