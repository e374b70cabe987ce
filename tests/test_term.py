"""An instructor's term, end to end, as docs/instructor.md tells it: real commands, a simulated class.

One module-scoped run in a temporary term folder (``tools/new_term.py``), never the repository:
a roster is imported; PS1 is released; fourteen students' submissions (correct in three styles,
partial, wrong, blank, crashing and adversarial) arrive as a Canvas-style "download all" zip and
are collected with ``nbgrader zip_collect``; a check has a bug during the first grading run;
the class is autograded on two Dask workers (``python -m autograder.parallel``);
the written answers, the figure and one override are graded "by hand" (the gradebook API the
formgrader uses); the check is fixed and the class regraded (manual grades kept); feedback is
generated without the hidden checks' details; grades are exported for the LMS (and in
nbgrader's own format); the solutions are generated for release after the deadline. Every step
is checked, the exported CSV against marks computed from the submission banks.
"""

from __future__ import annotations

import csv
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from nbgrader_course import ROOT, environment, nbgrader, run, scores

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

pytestmark = pytest.mark.slow
PY = sys.executable
PS1 = build.load_bank("ps1")
ATTACKS = build.load_bank("adversarial/ps1")
# login -> (bank, entry): correct (3 styles), partial, wrong, blank, crashing, adversarial.
CLASS = {
    "adams": (PS1, "solution"), "baker": (PS1, "alt_vectorised"), "chen": (PS1, "alt_loops"),
    "diaz": (PS1, "mistake_central_over_h"), "evans": (PS1, "mistake_complex_no_division"),
    "fischer": (PS1, "mistake_update_order"), "garcia": (PS1, "mistake_argmax"),
    "hughes": (PS1, "mistake_uses_numdiff"), "ito": (PS1, "crash"),
    "jones": (PS1, "tamper_numpy"), "khan": (PS1, "tamper_kernel"),
    "lopez": (ATTACKS, "edits_test_cell_metadata"), "meyer": (ATTACKS, "object_equal_to_everything"),
    "nguyen": None,  # hands in the blank release
}
NAMES = {"adams": ("Ann, Marie", "Adams"), "baker": ("=cmd|' /C calc'!A0", "Baker")}
POINTS = {"test_forward_difference": 2, "test_central_difference": 3, "test_complex_step": 3,
          "test_best_steps": 2, "test_gradient_central": 3, "test_gradient_complex_step": 3,
          "test_evaluation_counts": 2, "test_recursion_value": 1, "test_recursion_derivative": 2,
          "test_recursion_numerical": 2}
MANUAL = {"written_cancellation": 3.0, "task_error_plot": 2.0}  # given to every non-blank student
OVERRIDE = ("garcia", "test_best_steps", 1.0)  # a grader's partial credit on an autograded cell
TIMEOUTS = ["--", "--SandboxAutograde.check_timeout=3", "--SandboxAutograde.cell_timeout=5",
            "--SandboxAutograde.memory_mb=1024"]


def expected_auto(login: str) -> dict:
    entry = CLASS[login]
    lost = set(POINTS) if entry is None else set(entry[0][entry[1]].lost)
    return {g: (0.0 if g in lost else float(p), float(p)) for g, p in POINTS.items()}


def expected_total(login: str) -> float:
    auto = sum(score for score, _ in expected_auto(login).values())
    if CLASS[login] is None:
        return auto
    total = auto + sum(MANUAL.values())
    if login == OVERRIDE[0]:
        total += OVERRIDE[2] - expected_auto(login)[OVERRIDE[1]][0]
    return total


def canvas_zip(term: Path) -> Path:
    """The LMS's "download all submissions" archive: Canvas names, one late submission."""
    release = term / "assignments" / "ps1" / "ps1.ipynb"
    source = ROOT / "solutions" / "ps1" / "ps1.ipynb"
    release_nb = nbformat.read(release, as_version=4)
    source_nb = nbformat.read(source, as_version=4)
    archive = term / "downloaded" / "ps1" / "archive" / "submissions.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as handle:
        for number, (login, entry) in enumerate(CLASS.items()):
            nb = release_nb if entry is None else build.build(release_nb, source_nb,
                                                              entry[0][entry[1]], str(term))
            late = "LATE_" if login == "fischer" else ""
            handle.writestr(f"{login}_{late}{1000 + number}_{77000 + number}_ps1.ipynb",
                            nbformat.writes(nb))
    return archive


def step(result, what):
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    term = tmp_path_factory.mktemp("term") / "2025-spring"
    log = {}
    step(run([PY, ROOT / "tools" / "new_term.py", term, "--course-id", "mlp-test",
              "--copy-solutions"], ROOT), "new_term")
    roster = term / "roster.csv"
    with open(roster, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for login in CLASS:
            first, last = NAMES.get(login, (login.title(), "Student"))
            writer.writerow([login, first, last, f"{login}@example.org"])
    step(nbgrader(term, "db", "student", "import", str(roster)), "student import")
    step(nbgrader(term, "generate_assignment", "ps1"), "generate_assignment")
    canvas_zip(term)
    log["collect"] = step(nbgrader(term, "zip_collect", "ps1"), "zip_collect").stderr

    # A bug in a hidden check during the first run: recursion_z is compared with z_21.
    checks = term / "solutions" / "ps1" / "checks.py"
    good = checks.read_text()
    buggy = good.replace("expected = z_reference(x, 20 if n is None else n)",
                         "expected = z_reference(x, 21 if n is None else n)")
    assert buggy != good
    checks.write_text(buggy)
    first = step(run([PY, "-m", "autograder.parallel", "ps1", "--workers", "2", *TIMEOUTS], term),
                 "parallel autograde")
    log["first"] = first.stdout
    first_scores = scores(term, "ps1", CLASS)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{term}/gradebook.db") as gradebook:  # what the formgrader does
        for login in CLASS:
            for grade_id, points in MANUAL.items():
                grade = gradebook.find_grade(grade_id, "ps1", "ps1", login)
                grade.manual_score = 0.0 if CLASS[login] is None else points
            if login == OVERRIDE[0]:
                gradebook.find_grade(OVERRIDE[1], "ps1", "ps1", login).manual_score = OVERRIDE[2]
        gradebook.db.commit()

    checks.write_text(good)  # the fix, then the whole class regraded
    second = step(run([PY, "-m", "autograder.parallel", "ps1", "--workers", "2", "--force",
                       *TIMEOUTS], term), "parallel regrade")
    log["second"] = second.stdout
    step(nbgrader(term, "generate_feedback", "ps1", "--HiddenCheckFeedback.show_details=False"),
         "generate_feedback")
    step(nbgrader(term, "export", "--exporter=autograder.export.LmsCsvExport",
                  "--to", str(term / "grades-lms.csv")), "export (LMS)")
    step(nbgrader(term, "export", "--to", str(term / "grades.csv")), "export")
    step(nbgrader(term, "generate_solution", "ps1"), "generate_solution")
    return {"path": term, "log": log, "first": first_scores,
            "second": scores(term, "ps1", CLASS)}


def test_the_term_folder_is_outside_the_repository_and_links_nothing_back(term):
    path = term["path"]
    assert ROOT not in path.parents
    assert "load_subconfig" in (path / "nbgrader_config.py").read_text()
    assert not (path / "solutions").is_symlink()  # --copy-solutions
    released = nbformat.read(path / "assignments" / "ps1" / "ps1.ipynb", as_version=4)
    assert released == nbformat.read(ROOT / "assignments" / "ps1" / "ps1.ipynb", as_version=4)


def test_zip_collect_put_every_submission_in_place(term):
    submitted = term["path"] / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(CLASS)
    for login in CLASS:
        assert (submitted / login / "ps1" / "ps1.ipynb").is_file()


def test_first_run_in_parallel_graded_everyone_with_the_buggy_check(term):
    assert "graded 14, retried 0, failed 0" in term["log"]["first"]
    assert "on 2 Dask worker(s)" in term["log"]["first"]
    for login in CLASS:
        got = {g: s for g, s in term["first"][login].items() if g in POINTS}
        expected = expected_auto(login)
        expected["test_recursion_value"] = (0.0, 1.0)  # the bug: nobody's z_20 is z_21
        assert got == expected, login


def test_regrade_after_the_fix_gives_exactly_the_right_marks_and_keeps_manual_grades(term):
    for login in CLASS:
        got = {g: s for g, s in term["second"][login].items() if g in POINTS}
        assert got == expected_auto(login), login
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{term['path']}/gradebook.db") as gradebook:
        for login in CLASS:
            grade = gradebook.find_grade("written_cancellation", "ps1", "ps1", login)
            assert grade.manual_score == (0.0 if CLASS[login] is None else 3.0)
            override = gradebook.find_grade(OVERRIDE[1], "ps1", "ps1", OVERRIDE[0])
            assert override.manual_score == OVERRIDE[2] and override.score == OVERRIDE[2]
            assert gradebook.find_submission("ps1", login).score == expected_total(login), login


def test_feedback_for_every_student_without_hidden_details(term):
    for login in CLASS:
        page = term["path"] / "feedback" / login / "ps1" / "ps1.html"
        assert page.is_file(), login
    diaz = (term["path"] / "feedback" / "diaz" / "ps1" / "ps1.html").read_text()
    assert "FAILED test_central_difference (0 of 3 points)" in diaz
    assert "central_difference(f, x=" not in diaz  # a hidden input


def test_lms_export_has_one_quoted_row_per_student_with_the_right_totals(term):
    with open(term["path"] / "grades-lms.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["student_id"] for row in rows] == sorted(CLASS)
    for row in rows:
        assert float(row["ps1"]) == pytest.approx(expected_total(row["student_id"])), row
        assert float(row["total"]) == float(row["ps1"]) and row["max_total"] == "30.00"
    by_id = {row["student_id"]: row for row in rows}
    assert by_id["adams"]["first_name"] == "Ann, Marie"  # quoted, not split
    assert by_id["baker"]["first_name"].startswith("'=")  # never a spreadsheet formula
    assert float(by_id["adams"]["ps1"]) == 28.0 and float(by_id["nguyen"]["ps1"]) == 0.0


def test_nbgraders_own_export_agrees(term):
    lines = (term["path"] / "grades.csv").read_text().splitlines()
    assert lines[0].startswith("assignment,duedate,timestamp,student_id")
    ids = [line.split(",")[3] for line in lines[1:]]
    assert sorted(ids) == sorted(CLASS)
    for line in lines[1:]:
        fields = line.split(",")
        if fields[3] != "adams":  # nbgrader does not quote: "Ann, Marie" shifts the columns
            assert float(fields[-2]) == pytest.approx(expected_total(fields[3]))


def test_released_solution_has_the_answers_and_no_grader_files(term):
    folder = term["path"] / "solution" / "ps1"
    nb = nbformat.read(folder / "ps1.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "return (f(x + h) - f(x - h)) / (2 * h)" in code
    assert "raise NotImplementedError" not in code  # (nbgrader keeps the solution markers)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert outputs and not [o for o in outputs if o.output_type == "error"]  # executed, cleanly
    assert sorted(p.name for p in folder.iterdir()) == ["ps1.ipynb"]  # no checks.py, rubric.md


def test_no_grading_data_in_the_repository(term):
    for name in ("gradebook.db", "submitted", "autograded", "feedback", "downloaded",
                 ".parallel-autograde", "grades.csv"):
        assert not (ROOT / name).exists(), name
    assert environment()["OPENBLAS_NUM_THREADS"] == "1"


def test_each_term_gets_its_own_secret_and_it_is_released_nowhere(term, tmp_path, monkeypatch):
    import stat

    from autograder.secret import SECRET_FILE, hidden_rng

    secret = term["path"] / SECRET_FILE
    text = secret.read_text().strip()
    assert len(text) == 64 and int(text, 16) >= 0  # 256 random bits, in hex
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    other = tmp_path / "2025-autumn"
    step(run([PY, ROOT / "tools" / "new_term.py", other, "--course-id", "mlp-other"], ROOT),
         "new_term (another term)")
    assert (other / SECRET_FILE).read_text().strip() != text
    monkeypatch.delenv("AUTOGRADER_SECRET", raising=False)  # the files decide, not the variable
    draws = [hidden_rng("test_central_difference", folder).uniform(-2, 2, 3)
             for folder in (term["path"], other)]
    assert not any(a == b for a, b in zip(*draws))  # the terms' hidden inputs differ
    for folder in ("assignments", "feedback", "solution", "autograded"):
        for path in (term["path"] / folder).rglob("*"):
            assert path.name != SECRET_FILE, path
            if path.is_file() and path.suffix in (".ipynb", ".html", ".py", ".txt"):
                assert text not in path.read_text(errors="replace"), path
