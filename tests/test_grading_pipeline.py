"""The grading pipeline, tested like a product: real nbgrader runs in a temporary course copy.

Slow part (one module-scoped course, two nbgrader calls): ``generate_assignment`` must reproduce
the committed release; one ``autograde`` call grades the whole submission bank
(tests/submissions/ps1/bank.py) plus the blank release, with short timeouts; scores are read from
the gradebook. Fast part: the sandbox and the wire format on their own, and the consistency of
the problem set's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import confine, wire
from autograder.checking import load_checks
from autograder.runner import Limits, worst_case_notebook_seconds

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

# Every problem set with a submission bank is graded; PS1 also carries the sandbox's own tests.
ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "tests" / "submissions").glob("*/bank.py"))
BANKS = {assignment: build.load_bank(assignment) for assignment in ASSIGNMENTS}
BANK = BANKS["ps1"]
CHECK_TIMEOUT, CELL_TIMEOUT = 3, 5  # seconds: short, so hanging submissions cost little
NOTEBOOK_TIMEOUT = 60  # seconds for one notebook in all (cells, checks, replays)


def source_nb(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_nb(assignment: str) -> Path:
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


def regenerate_command(assignment: str) -> str:
    return (
        "root=$PWD && tmp=$(mktemp -d) && cp -r nbgrader_config.py solutions $tmp && (cd $tmp && "
        f"PATH=$root/.venv/bin:$PATH nbgrader generate_assignment {assignment} "
        "--CourseDirectory.root=$tmp --CourseDirectory.db_url=sqlite:///$tmp/gradebook.db) && "
        f"cp $tmp/assignments/{assignment}/* assignments/{assignment}/")


SOURCE_NB, RELEASE_NB = source_nb("ps1"), release_nb("ps1")
BANK_CASES = [(a, name) for a in ASSIGNMENTS for name in BANKS[a] if name != "solution"]
LANDLOCK_SIGNALS = confine.landlock_abi() >= 6


def graded_cells(nb) -> dict[str, float]:
    """Autograded test cells: grade_id -> points."""
    return {cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
            for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
            and not cell.metadata.nbgrader.get("solution")}


# --------------------------------------------------------------------------- fast: files


def test_every_problem_set_has_a_bank_and_a_release():
    sources = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
    assert ASSIGNMENTS == sources and {"ps1", "ps2", "ps3", "ps4"} <= set(sources), (ASSIGNMENTS, sources)
    for assignment in sources:
        assert (ROOT / "assignments" / assignment / f"{assignment}.ipynb").exists(), assignment
        assert (ROOT / "solutions" / assignment / "checks.py").exists(), assignment
        assert (ROOT / "solutions" / assignment / "rubric.md").exists(), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograded_cell_has_a_hidden_check(assignment):
    nb = nbformat.read(source_nb(assignment), as_version=4)
    cells = graded_cells(nb)
    checks = load_checks(str(ROOT / "solutions" / assignment / "checks.py"))
    assert set(checks.checks) == set(cells)
    assert len(cells) >= 6 and sum(cells.values()) >= 20
    assert checks.forbidden, "name the library modules that would answer this problem set"
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells if c.cell_type == "markdown"]
    written = [m for m in meta if m.get("grade") and m.get("solution")]
    tasks = [m for m in meta if m.get("task")]
    assert written and tasks, "at least one written answer and one plot task, graded by hand"
    assert (ROOT / "solutions" / assignment / "rubric.md").exists()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bank_entries_name_real_cells_and_real_tests(assignment):
    release = nbformat.read(release_nb(assignment), as_version=4)
    source = nbformat.read(source_nb(assignment), as_version=4)
    tests = set(graded_cells(source))
    bank = BANKS[assignment]
    assert len(bank) >= 2 + 5 + 4
    for name, submission in bank.items():
        assert set(submission.lost) <= tests, name
        build.build(release, source, submission)  # raises on unknown cells


# What a student's notebook can import: the standard library and the plain install (pyproject's
# dependencies, not the extras a developer has); a bank answer that needs more fails on a clean
# clone's CI for a reason no student would meet.
STUDENT_IMPORTS = {"numpy", "matplotlib", "ipywidgets", "tqdm", "mlpkit", "IPython"}
IMPORT_LINE = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bank_answers_import_only_what_a_student_has(assignment):
    outside = {}
    for name, submission in BANKS[assignment].items():
        for cell, code in submission.answers.items():
            for module in IMPORT_LINE.findall(code):
                if module not in sys.stdlib_module_names and module not in STUDENT_IMPORTS:
                    outside.setdefault(module, []).append(f"{name}/{cell}")
    assert not outside, f"bank answers import what the student's install lacks: {outside}"


def test_config_puts_the_sandbox_before_save_autogrades():
    text = (ROOT / "nbgrader_config.py").read_text()
    order = re.findall(r"^\s+(\w+),$", text.split("autograde_preprocessors = [")[1].split("]")[0],
                       flags=re.M)
    assert order[0] == "SandboxAutograde" and "Execute" not in order
    assert order.index("SandboxAutograde") < order.index("SaveAutoGrades")
    assert '"checks.py"' in text and '"rubric.md"' in text


# --------------------------------------------------------------------------- fast: sandbox


def test_wire_round_trip_and_rejects_malformed_data():
    value = {"a": [1, 2.5, complex(1, -2), None, "s"], "x": np.arange(6.0).reshape(2, 3)}
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert back["a"] == [1, 2.5, complex(1, -2), None, "s"]
    np.testing.assert_array_equal(back["x"], value["x"])
    assert isinstance(wire.decode(wire.encode(object(), lenient=True)), wire.Unsupported)
    with pytest.raises(TypeError):
        wire.encode(object())
    bad_arrays = [{"__nd__": "|O", "shape": [1], "b64": ""},
                  {"__nd__": "<f8", "shape": [2], "b64": "AAAAAAAAAAA="},
                  {"__nd__": "<f8", "shape": [10**9], "b64": ""}]
    for bad in bad_arrays:
        with pytest.raises(wire.WireError):
            wire.decode(bad)


def spawn(zygote, scratch):
    return zygote.spawn(Limits().spawn_params(str(scratch), zygote, {"mlpkit.numdiff": "no"}))


def test_sandbox_kills_a_loop_that_ignores_interrupts(zygote, tmp_path):
    proc = spawn(zygote, tmp_path)
    assert proc.exec_cell("x = 41", timeout=5).status == "ok"
    loop = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
            "    try:\n        pass\n    except BaseException:\n        pass\n")
    start = time.monotonic()
    run = proc.exec_cell(loop, timeout=1.0)
    assert run.status == "timeout" and time.monotonic() - start < 3
    assert proc.dead
    proc = spawn(zygote, tmp_path)  # what the runner does next: a fresh process, replayed cells
    assert proc.exec_cell("x = 41", timeout=5).status == "ok"
    run = proc.exec_cell("x + 1", timeout=5)
    assert run.outputs == [{"type": "result", "text": "42"}]
    proc.kill()


@pytest.mark.skipif(confine.landlock_abi() < 1, reason="Landlock is not available here")
def test_sandbox_cannot_write_or_read_the_course_or_signal_the_grader(zygote, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = spawn(zygote, scratch)
    attempts = {
        "write": f"open({str(ROOT / 'SANDBOX-ESCAPED')!r}, 'w')",
        "read": f"open({str(ROOT / 'solutions' / 'ps1' / 'checks.py')!r}).read()",
        "numdiff": "import mlpkit.numdiff",
    }
    if LANDLOCK_SIGNALS:
        attempts["signal"] = "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"
    for what, code in attempts.items():
        run = proc.exec_cell(code, timeout=5)
        assert run.status == "error", what
    assert proc.exec_cell("open('mine.txt', 'w').write('ok')", timeout=5).status == "ok"
    assert (scratch / "mine.txt").read_text() == "ok"
    assert not (ROOT / "SANDBOX-ESCAPED").exists()
    assert zygote.alive
    proc.kill()


# --------------------------------------------------------------------------- slow: nbgrader


def nbgrader(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(BIN / "nbgrader"), *args, f"--CourseDirectory.root={course}",
               f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"]
    return subprocess.run(command, cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout)


def grade_assignment(course: Path, assignment: str) -> dict:
    """Generate the release of ``assignment`` in ``course``, then autograde its bank and the blank
    release in ONE ``nbgrader autograde`` call; scores from the gradebook."""
    generated = nbgrader(course, "generate_assignment", assignment)
    assert generated.returncode == 0, generated.stderr[-3000:]
    release = course / "assignments" / assignment / f"{assignment}.ipynb"
    names = build.write_submissions(
        BANKS[assignment], release, source_nb(assignment), course / "submitted", assignment,
        str(course), include=lambda s: LANDLOCK_SIGNALS or not s.needs_landlock_signals)
    blank = course / "submitted" / "blank" / assignment
    blank.mkdir(parents=True)
    shutil.copy(release, blank)
    names.append("blank")

    start = time.monotonic()
    autograded = nbgrader(course, "autograde", assignment,
                          f"--SandboxAutograde.check_timeout={CHECK_TIMEOUT}",
                          f"--SandboxAutograde.cell_timeout={CELL_TIMEOUT}",
                          f"--SandboxAutograde.notebook_timeout={NOTEBOOK_TIMEOUT}",
                          f"--SandboxAutograde.require_confinement={confine.landlock_abi() >= 1}",
                          timeout=1800)
    seconds = time.monotonic() - start
    scores = {}
    if autograded.returncode == 0:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
            for name in names:
                notebook = gradebook.find_submission_notebook(assignment, assignment, name)
                scores[name] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    return {"course": course, "assignment": assignment, "names": names, "scores": scores,
            "seconds": seconds, "log": autograded.stderr, "returncode": autograded.returncode}


@pytest.fixture(scope="module")
def graded_all(tmp_path_factory):
    """One temporary course; every problem set's bank graded (one autograde call per set)."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return {assignment: grade_assignment(course, assignment) for assignment in ASSIGNMENTS}


@pytest.fixture(scope="module")
def graded(graded_all):
    """PS1's results: the worked example whose messages and attacks are checked in detail."""
    return graded_all["ps1"]


def autograded_cell_outputs(graded, student: str, grade_id: str) -> str:
    assignment = graded.get("assignment", "ps1")
    path = graded["course"] / "autograded" / student / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(o.get("text", "") + "\n".join(o.get("traceback", []))
                             for o in cell.outputs)
    raise KeyError(grade_id)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_generate_assignment_makes(graded_all, assignment):
    graded = graded_all[assignment]
    made = graded["course"] / "assignments" / assignment
    committed_nb = release_nb(assignment)
    assert sorted(p.name for p in made.iterdir()) == sorted(
        p.name for p in committed_nb.parent.iterdir()), "release folder content differs"
    fresh = nbformat.read(made / committed_nb.name, as_version=4)
    committed = nbformat.read(committed_nb, as_version=4)
    assert fresh == committed, (f"assignments/{assignment} is stale; regenerate it: "
                                f"{regenerate_command(assignment)}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_finishes_for_every_submission(graded_all, assignment):
    graded = graded_all[assignment]
    assert graded["returncode"] == 0, graded["log"][-3000:]
    assert set(graded["scores"]) == set(graded["names"])
    assert "NOT confined" not in graded["log"] or confine.landlock_abi() < 1


def processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = entry.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command:
            found.append(f"{entry.parent.name}: {command}")
    return found


@pytest.mark.slow
def test_no_process_of_a_submission_outlives_grading(graded):
    assert "leaves_daemon" in graded["scores"]
    assert processes_with("987654.321") == []


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_and_blank_zero(graded_all, assignment):
    graded = graded_all[assignment]
    cells = graded_cells(nbformat.read(source_nb(assignment), as_version=4))
    solution, blank = graded["scores"]["solution"], graded["scores"]["blank"]
    for grade_id, points in cells.items():
        assert solution[grade_id] == (points, points), grade_id
        assert blank[grade_id] == (0.0, points), grade_id


@pytest.mark.slow
@pytest.mark.parametrize("assignment, name", BANK_CASES, ids=[f"{a}-{n}" for a, n in BANK_CASES])
def test_bank_submission_gets_exactly_its_marks(graded_all, assignment, name):
    graded = graded_all[assignment]
    if name not in graded["scores"]:
        pytest.skip("needs Landlock signal scoping (Linux >= 6.12) to run safely")
    submission = BANKS[assignment][name]
    expected_lost = set(submission.lost)
    wrong = {grade_id: score for grade_id, score in graded["scores"][name].items()
             if score[0] is not None and grade_id.startswith("test_")
             and (score[0] == 0) != (grade_id in expected_lost)}
    messages = {grade_id: autograded_cell_outputs(graded, name, grade_id)[:600] for grade_id in wrong}
    assert not wrong, f"{name}: {submission.description}\nunexpected scores {wrong}\n{messages}"
    missing = build.missing_phrases(submission, lambda g: autograded_cell_outputs(graded, name, g))
    assert not missing, f"{name}: the messages do not name the cause {missing}"


@pytest.mark.slow
def test_failure_messages_say_what_happened(graded):
    expectations = [
        ("infinite_loop", "test_central_difference", "did not finish within"),
        ("crash", "test_gradient_complex_step", "SIGSEGV"),
        ("os_exit_in_function", "test_recursion_derivative", "exited with code 1"),
        ("mistake_central_over_h", "test_central_difference", "twice the expected"),
        ("mistake_uses_numdiff", "test_central_difference", "mlpkit.numdiff is not available"),
        ("mistake_reevaluates_fx", "test_evaluation_counts", "evaluated f 12 times for x in R^4"),
        ("blank", "test_forward_difference", "NotImplementedError"),
        ("solution", "test_central_difference", "PASSED"),
    ]
    for student, grade_id, phrase in expectations:
        assert phrase in autograded_cell_outputs(graded, student, grade_id), (student, grade_id)


@pytest.mark.slow
@pytest.mark.skipif(not LANDLOCK_SIGNALS, reason="the attack needs Landlock signal scoping")
def test_tampering_leaves_the_course_intact(graded_all, graded):
    course = graded["course"]
    for assignment in graded_all:  # every set's bank has a tamper_files entry
        for name in ("checks.py", "rubric.md", f"{assignment}.ipynb"):
            assert (course / "solutions" / assignment / name).read_bytes() == (
                ROOT / "solutions" / assignment / name).read_bytes(), (assignment, name)
    assert (course / "nbgrader_config.py").exists()
    assert not (course / "PWNED").exists() and not Path("/tmp/PWNED-by-student").exists()
    attempts = autograded_cell_outputs(graded, "tamper_files", "answer_forward_difference")
    assert "'overwrite checks': 'PermissionError'" in attempts
    assert "'kill grader': 'PermissionError'" in attempts


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grading_time_per_notebook(graded_all, assignment, capsys):
    graded = graded_all[assignment]
    timed = {name: float(t) for name, t in
             re.findall(r"of (\S+): \d+/\d+ checks passed.*?restart\(s\), ([0-9.]+) s,", graded["log"])}
    assert set(timed) == set(graded["names"])
    per_notebook = list(timed.values())
    average = graded["seconds"] / len(graded["names"])
    worst = max((t, name) for name, t in timed.items())
    with capsys.disabled():  # shown in every run, not only with -s
        print(f"\nautograde {assignment}: {len(per_notebook)} notebooks in {graded['seconds']:.1f} s "
              f"({average:.2f} s per notebook including nbgrader's own work; sandbox time: "
              f"median {np.median(per_notebook):.2f} s, max {worst[0]:.1f} s for {worst[1]}; "
              f"timeouts {CHECK_TIMEOUT} s per check, {CELL_TIMEOUT} s per cell)")
    # Speed is measured in benchmarks/, never asserted here (a shared machine is noisy); what must
    # hold anywhere is the guarantee: no notebook keeps the grader past its worst-case bound.
    assert worst[0] <= worst_case_notebook_seconds(NOTEBOOK_TIMEOUT), worst


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_tests_run_in_the_students_kernel(tmp_path, assignment):
    """The solution passes every visible test without stderr; the blank fails every test cell."""
    from nbclient import NotebookClient

    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        results = {}
        for label, path in (("solution", source_nb(assignment)), ("blank", release_nb(assignment))):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(tmp_path)}}).execute()
            results[label] = nb
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    tests = set(graded_cells(results["solution"]))
    for label, nb in results.items():
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            kinds = {(o.output_type, o.get("name")) for o in cell.outputs}
            if label == "solution" or grade_id not in tests:
                assert ("error", None) not in kinds or label == "blank", (label, grade_id)
                assert ("stream", "stderr") not in kinds, (label, grade_id)
            else:
                assert ("error", None) in kinds, (label, grade_id)


@pytest.mark.slow
def test_self_check_command_grades_without_nbgrader(tmp_path):
    """``python -m autograder NOTEBOOK``: the hidden checks for one notebook, no gradebook."""
    source = nbformat.read(SOURCE_NB, as_version=4)
    broken = build.build(nbformat.read(RELEASE_NB, as_version=4), source, BANK["mistake_argmax"])
    path = tmp_path / "ps1.ipynb"
    nbformat.write(broken, path)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "autograder", str(path), "--checks",
                           str(ROOT / "solutions" / "ps1" / "checks.py")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "FAILED test_best_steps (0 of 2)" in done.stdout
    assert "autograded: 21 of 23 points" in done.stdout
