"""Build the student copy of the course: what students get, and nothing the grading needs hidden.

    python tools/student_copy.py DEST            # DEST must not exist, or be empty
    python tools/student_copy.py DEST --force    # replace what is in DEST

The copy holds the lectures, the released problem sets (``assignments/``), ``mlpkit``, the
grader package ``autograder`` (so ``make check`` works there, on the visible tests), the set-up
files (README, licences, Makefile, pyproject.toml, environment.yml, binder/, nbgrader_config.py,
.gitignore, .ci), the site builder, the benchmarks, the learners' docs and the tests that do not need the
instructor's files. It never holds ``solutions/`` (model answers, hidden checks, rubrics), the
submission banks (``tests/submissions/``), the tests that grade them, developer notes
(``docs/dev/``), the instructor tools, caches or grading data. ``make test`` works in the copy
as in the repository: those tests are simply not there.

After copying, the copy is scanned: the command fails (exit 1, the copy removed) if any notebook
holds a solution or hidden-test region, or a grader-only file (``checks.py``, ``rubric.md``)
or a ``solutions`` folder is found anywhere in it. Publish DEST as its own repository
(``git init``) or upload its folders to an LMS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Top-level entries copied (folders whole, minus EXCLUDED); everything else stays behind.
INCLUDED = ["README.md", "LICENSE", "LICENSE-content.md", "Makefile", "pyproject.toml",
            "environment.yml", "nbgrader_config.py", ".gitignore", ".ci", "lectures",
            "assignments", "mlpkit", "autograder", "binder", "docs", "tests", "benchmarks", "tools"]
# Paths (relative to the repository) never copied, and patterns never copied anywhere.
EXCLUDED = {
    "docs/dev",  # developer notes: they describe the hidden checks and the banks
    "tests/submissions",  # the submission banks: model answers and the expected marks
    "tests/_artifacts",
    "tests/test_grading_pipeline.py",  # these grade the banks against solutions/
    "tests/test_adversarial.py",
    "tests/test_term.py",
    "tests/test_selfcheck.py",
    "tests/test_student_copy.py",
    "tests/test_student_mode.py",  # builds a student copy itself (needs tools/student_copy.py)
    "tests/test_packages.py",  # installs the repository (git) and validates a model answer
    "tests/test_lms_times.py",  # instructor tool (tools/lms_times.py), real nbgrader runs
    "tests/test_offline_feedback.py",  # grades a model answer to make its feedback
    "tests/test_citations.py",  # scans solutions/ too
    "tests/test_parallel_grading.py",
    "tests/nbgrader_course.py",
    "tests/test_browser.py",  # validates the model answers (solutions/) in JupyterLab
    "tests/test_hub.py",  # a real hub (root): the banks, tools/new_term.py and deploy/
    "tests/test_formgrader_ui.py",  # the instructor's formgrader: grades a bank submission
    "tests/test_rubric.py",  # reads solutions/<ps>/rubric.md
    "tests/test_hidden_inputs.py",  # runs solutions/<ps>/checks.py
    "benchmarks/grading_throughput.py",  # grades the banks
    "benchmarks/results",
    "tools/student_copy.py",  # instructor tools
    "tools/new_term.py",
    "tools/lms_times.py",
}
IGNORED_NAMES = ["__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis",
                 ".ruff_cache", "*.egg-info", "gradebook.db", "*.db-journal", "submitted",
                 "autograded", "feedback", "release", "source", "site", "grades.csv"]
GRADER_ONLY_FILES = {"checks.py", "rubric.md"}
NOTEBOOK_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
                    "### END HIDDEN TESTS")


def copy_course(dest: Path) -> list[str]:
    """Copy the student's part of the course into ``dest``; return the copied relative paths."""
    ignore_names = shutil.ignore_patterns(*IGNORED_NAMES)

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).resolve().relative_to(ROOT)
        skipped = set(ignore_names(folder, names))
        skipped |= {name for name in names if (relative / name).as_posix() in EXCLUDED}
        return skipped

    for name in INCLUDED:
        source = ROOT / name
        if not source.exists() or name in EXCLUDED:
            continue
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore, symlinks=False)
        else:
            shutil.copy2(source, dest / name)
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def problems_in(dest: Path) -> list[str]:
    """Everything in the copy a student must not have."""
    found = []
    for path in sorted(dest.rglob("*")):
        relative = path.relative_to(dest).as_posix()
        if path.is_dir() and path.name == "solutions":
            found.append(f"{relative}/: a solutions folder")
        elif path.is_file() and path.name in GRADER_ONLY_FILES:
            found.append(f"{relative}: a grader-only file")
        elif path.is_file() and path.suffix == ".ipynb":
            text = path.read_text(encoding="utf-8")
            for marker in NOTEBOOK_MARKERS:
                if marker in text:
                    found.append(f"{relative}: holds {marker!r}")
            try:
                cells = json.loads(text).get("cells", [])
            except ValueError:
                found.append(f"{relative}: not a notebook")
                continue
            if any(cell.get("outputs") for cell in cells if relative.startswith("assignments/")):
                found.append(f"{relative}: a released notebook with outputs")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/student_copy.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("dest", type=Path, help="the folder to create (outside the repository)")
    parser.add_argument("--force", action="store_true", help="replace DEST's contents")
    args = parser.parse_args(argv)
    dest = args.dest.expanduser().resolve()
    if dest == ROOT or ROOT in dest.parents:
        parser.error("DEST must be outside the repository")
    if dest.exists() and any(dest.iterdir()):
        if not args.force:
            parser.error(f"{dest} is not empty (use --force to replace its contents)")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    files = copy_course(dest)
    problems = problems_in(dest)
    if problems:
        shutil.rmtree(dest)
        print("The student copy would hold instructor material; nothing was written:",
              *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"Student copy written to {dest} ({len(files)} files): lectures, assignments, mlpkit, "
          "set-up files, learner docs and tests. No solutions/, hidden checks, rubrics or "
          "submission banks.")
    print(f"Next: cd {dest} && git init && git add -A && git commit -m 'Course release'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
