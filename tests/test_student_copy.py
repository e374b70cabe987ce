"""The student copy (``python tools/student_copy.py DEST``): everything a student needs, nothing
the grading keeps hidden, and a test suite and a self-check that work there without solutions/."""

from __future__ import annotations

import filecmp
import importlib.util
import re
import sys

import nbformat
import pytest

from nbgrader_course import ROOT, run

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

TOOL = ROOT / "tools" / "student_copy.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("student_copy", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("student") / "course"
    done = run([sys.executable, TOOL, dest], ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return dest


def test_the_copy_has_what_students_need(copy):
    for name in ("README.md", "LICENSE", "LICENSE-content.md", "Makefile", "pyproject.toml",
                 "environment.yml", "nbgrader_config.py", ".gitignore", ".ci/run",
                 "autograder/selfcheck.py", "autograder/_sandbox.py", "docs/self-study.md",
                 "tests/conftest.py", "tests/test_numdiff.py"):
        assert (copy / name).is_file(), name
    for folder in ("lectures", "assignments"):
        compared = filecmp.dircmp(ROOT / folder, copy / folder, ignore=["__pycache__",
                                                                         ".ipynb_checkpoints"])
        assert not (compared.left_only or compared.right_only or compared.diff_files), folder
    assert sorted(p.parent.name for p in (copy / "assignments").glob("*/*.ipynb")) == sorted(
        p.parent.name for p in (ROOT / "assignments").glob("*/*.ipynb"))


def test_the_copy_has_nothing_the_grading_keeps_hidden(copy):
    assert not (copy / "solutions").exists()
    assert not (copy / "tests" / "submissions").exists()
    assert not (copy / "docs" / "dev").exists()
    assert not list(copy.rglob("checks.py")) and not list(copy.rglob("rubric.md"))
    for notebook in copy.rglob("*.ipynb"):
        text = notebook.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, notebook
    assert load_tool().problems_in(copy) == []


def test_the_scan_catches_instructor_material(tmp_path):
    tool = load_tool()
    (tmp_path / "assignments" / "ps9").mkdir(parents=True)
    (tmp_path / "assignments" / "ps9" / "checks.py").write_text("")
    (tmp_path / "solutions").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")])
    nbformat.write(nb, tmp_path / "assignments" / "ps9" / "ps9.ipynb")
    found = "\n".join(tool.problems_in(tmp_path))
    assert "checks.py: a grader-only file" in found
    assert "solutions/: a solutions folder" in found
    assert "holds '### BEGIN SOLUTION'" in found


def test_no_copied_test_needs_the_instructors_files(copy):
    """A test that reads solutions/ or the banks would fail in the copy: it must be left out
    (tools/student_copy.py EXCLUDED) or skip when they are missing."""
    needs = re.compile(r"""["']solutions["']|["']submissions["']|tests/submissions""")
    for path in (copy / "tests").rglob("*.py"):
        lines = [line for line in path.read_text().splitlines()
                 if needs.search(line) and "source_directory" not in line]
        assert not lines, f"{path.name} uses the instructor's files: {lines}"


@pytest.mark.slow
def test_the_copys_test_suite_collects(copy):
    done = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
               copy, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.lower().split("collected")[-1]


@pytest.mark.slow
def test_self_check_in_the_copy_uses_the_visible_tests_and_says_so(copy, tmp_path):
    release = copy / "assignments" / "ps1" / "ps1.ipynb"
    source = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    mistaken = tmp_path / "attempt.ipynb"
    nbformat.write(build.build(nbformat.read(release, as_version=4), source,
                               build.load_bank("ps1")["mistake_central_over_h"]), mistaken)
    # Run from the copy: `python -m autograder.selfcheck` finds the copy's mlpkit, which has no
    # solutions/ next to it.
    done = run([sys.executable, "-m", "autograder.selfcheck", "--strict", release, mistaken], copy,
               timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]  # --strict: not every point earned
    blank, attempt = done.stdout.split("-" * 72)
    for report in (blank, attempt):
        assert "with the VISIBLE tests only" in report and "has no solutions/ folder" in report
        assert "passing here is necessary, not sufficient" in report
    assert "Autograded: 0 of 23 points" in blank
    assert "NotImplementedError" in blank
    # The visible tests catch this mistake in two cells (the hidden checks in three: 16 of 23).
    assert "[FAILED] test_central_difference: 0 of 3" in attempt
    assert "The visible tests failed" in attempt
    assert "Autograded: 18 of 23 points" in attempt
