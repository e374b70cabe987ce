"""Tamper resistance: the attack banks and honest students graded through the real pipeline.

tests/submissions/adversarial/ps1/bank.py lists every attack we know (monkeypatching, lying
objects, gaming the visible tests, detecting the grader, re-exporting mlpkit, stopping the run,
editing the notebook's JSON, the file system); ``leaks/`` hidden inputs that try to outlive
their check and grader secrets to read; ``malformed/`` notebook files that are not valid
nbformat. They are graded in ONE ``nbgrader autograde`` run in a temporary course, with three
honest students graded before, among and after them, under resource limits
(tests/nbgrader_course.py), with a course secret in the grader's environment and in
``.grading-secret``. The run must exit 0; every attack must score exactly its documented marks
(0 on what it fakes); honest students exactly theirs; the course (gradebook, checks,
configuration, every submission) must be as it was; no process may outlive grading. Then
``generate_feedback`` must be able to leave the hidden checks' details out, and must never carry
a submission's scripts.

``stalls/`` is graded in a second run with shrunken timeouts: each notebook's wall time must stay
within the worst-case formula of docs/instructor.md plus a small slack, with exact marks.

Fast tests check the pieces (Landlock rules, the seccomp program, the stand-in for forbidden
modules, forged process ids, repairing notebooks) without nbgrader.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder import confine
from autograder.feedback import failure_kind
from autograder.runner import (
    Limits,
    ProcessHandle,
    forbidden_files,
    worst_case_notebook_seconds,
)
from nbgrader_course import (
    ROOT,
    make_course,
    nbgrader,
    notebook_seconds,
    processes_named,
    scores,
    tree_digest,
)

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

BANK = {**build.load_bank("adversarial/ps1"), **build.load_bank("adversarial/leaks"),
        **build.load_bank("adversarial/malformed")}
STALLS = build.load_bank("adversarial/stalls")
sys.path.insert(0, str(ROOT / "tests" / "submissions" / "adversarial"))
from leaks.bank import SECRET_IN_ENVIRONMENT, SECRET_IN_FILE  # noqa: E402
from stalls.bank import TIMEOUTS  # noqa: E402
LANDLOCK = confine.landlock_abi()
MEMORY_MB, CHECK_TIMEOUT, CELL_TIMEOUT = 1024, 3, 5
MARKERS = [Path("/tmp/PWNED-by-adversarial-bank"), Path("/dev/shm/PWNED-by-adversarial-bank")]


def runnable(submission) -> bool:
    """Entries that are safe and meaningful on this machine (see the bank's flags)."""
    if submission.needs_landlock_signals and LANDLOCK < 6:
        return False
    return not (submission.needs_landlock and LANDLOCK < 1)


NAMES = [name for name, submission in BANK.items() if runnable(submission)]


def cell_outputs(nb, key: str) -> str:
    """The text of the outputs of cell ``key`` (a grade_id), or of every cell ("notebook")."""
    texts = []
    for cell in nb.cells:
        if key != "notebook" and cell.metadata.get("nbgrader", {}).get("grade_id") != key:
            continue
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + "\n".join(output.get("traceback", [])))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("adversarial") / "course")
    generated = nbgrader(course, "generate_assignment", "ps1")
    assert generated.returncode == 0, generated.stderr[-3000:]
    release = course / "assignments" / "ps1" / "ps1.ipynb"
    names = build.write_submissions(
        {name: BANK[name] for name in NAMES}, release, ROOT / "solutions" / "ps1" / "ps1.ipynb",
        course / "submitted", "ps1", str(course))
    for marker in MARKERS:
        marker.unlink(missing_ok=True)
    (course / ".grading-secret").write_text(SECRET_IN_FILE + "\n")
    before = {"course": tree_digest(course)}
    start = time.monotonic()
    done = nbgrader(course, "autograde", "ps1",
                    f"--SandboxAutograde.check_timeout={CHECK_TIMEOUT}",
                    f"--SandboxAutograde.cell_timeout={CELL_TIMEOUT}",
                    f"--SandboxAutograde.memory_mb={MEMORY_MB}",
                    f"--SandboxAutograde.require_confinement={LANDLOCK >= 1}",
                    env={"AUTOGRADER_SECRET": SECRET_IN_ENVIRONMENT})
    seconds = time.monotonic() - start
    survivors = processes_named("mlpkit-racer")
    for pid in survivors:  # a failed clean-up must not leave our own racer running
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    found = scores(course, "ps1", names) if done.returncode == 0 else {}
    print(f"\nadversarial bank: {len(names)} notebooks graded in {seconds:.1f} s")
    return {"course": course, "names": names, "scores": found, "log": done.stderr,
            "returncode": done.returncode, "before": before, "survivors": survivors}


def autograded(graded, name):
    path = graded["course"] / "autograded" / name / "ps1" / "ps1.ipynb"
    return nbformat.read(path, as_version=4)


# --------------------------------------------------------------------------- slow: one autograde


@pytest.mark.slow
def test_autograde_exits_zero_and_grades_every_submission(graded):
    assert graded["returncode"] == 0, graded["log"][-4000:]
    assert set(graded["scores"]) == set(graded["names"])
    assert len(graded["names"]) >= 50
    assert "crashed in the grader" not in graded["log"]
    assert "the grader failed while grading" not in graded["log"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_submission_gets_exactly_its_marks(graded, name):
    submission = BANK[name]
    got = graded["scores"][name]
    wrong = {grade_id: (got.get(grade_id), expected)
             for grade_id, expected in submission.expected.items()
             if got.get(grade_id) != expected}
    messages = {grade_id: cell_outputs(autograded(graded, name), grade_id)[:400]
                for grade_id in wrong}
    assert not wrong, f"{name}: {submission.description}\n(got, expected): {wrong}\n{messages}"
    # No extra graded cells (a fake test cell) and no changed maximum (edited points).
    graded_cells = {g for g, (_, maximum) in got.items() if g.startswith("test_")}
    assert graded_cells == set(submission.expected)
    nb = autograded(graded, name)
    for key, texts in submission.evidence.items():
        shown = cell_outputs(nb, key)
        for text in texts:
            assert text in shown, f"{name}: {text!r} not in the outputs of {key}:\n{shown[:2000]}"
    for key, texts in submission.absent.items():
        shown = cell_outputs(nb, key)
        for text in texts:
            assert text not in shown, f"{name}: {text!r} in the outputs of {key}:\n{shown[:2000]}"


@pytest.mark.slow
def test_total_and_maximum_are_those_of_the_release(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['course']}/gradebook.db") as gradebook:
        for name in graded["names"]:
            submission = gradebook.find_submission("ps1", name)
            expected = sum(score for score, _ in BANK[name].expected.values())
            assert submission.max_score == 30.0, name  # 23 autograded + 7 by hand
            assert submission.code_score == expected, name


@pytest.mark.slow
def test_honest_students_are_graded_exactly(graded):
    for name in ("aaa_honest_solution", "mmm_honest_alternative", "zzz_honest_partial"):
        got = {g: score for g, score in graded["scores"][name].items() if g.startswith("test_")}
        assert got == BANK[name].expected, name
    totals = {name: sum(score for grade_id, (score, _) in graded["scores"][name].items()
                        if grade_id.startswith("test_"))
              for name in ("aaa_honest_solution", "zzz_honest_partial")}
    assert totals == {"aaa_honest_solution": 23.0, "zzz_honest_partial": 23.0 - 9}


@pytest.mark.slow
def test_course_and_other_submissions_are_untouched(graded):
    course = graded["course"]
    after = tree_digest(course)
    before = graded["before"]["course"]
    for path, digest in before.items():
        if path == "gradebook.db":
            continue
        assert after.get(path) == digest, f"{path} changed or disappeared"
    assert not (course / "PWNED").exists()
    for marker in MARKERS:
        assert not marker.exists(), marker
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        students = {row[0] for row in db.execute("SELECT id FROM student")}
    assert students == set(graded["names"])
    # nbgrader copies what a submitted symbolic link points to into the autograded folder (its
    # own behaviour); the sandbox never gave it to the student's code (see the bank's evidence).
    # solutions/ps1/checks.py is among the files compared above.


@pytest.mark.slow
def test_no_process_of_a_submission_outlives_grading(graded):
    if "leaves_a_fork_racer" not in graded["names"]:
        pytest.skip("the racer entry did not run")
    assert graded["survivors"] == [], "the fork racer outlived grading"


@pytest.mark.slow
def test_attack_log_lines_name_what_was_refused(graded):
    log = graded["log"]
    assert "carries nbgrader metadata the release does not have" in log
    assert "is a symbolic link; graded as the blank release" in log
    assert "nbgrader metadata of cell test_complex_step was edited (solution)" in log
    unreadable = [name for name in graded["names"] if BANK[name].lost == tuple(sorted(BANK[name].expected))
                  and name.startswith("malformed_")]
    for name in unreadable:  # one line each, naming the student and why
        lines = [line for line in log.splitlines()
                 if f"of {name}" in line or f"/{name}/" in line]
        assert any("the notebook file cannot be read" in line for line in lines), name
    for name in ("malformed_sources", "malformed_cell_ids", "malformed_cells_object"):
        assert any("notebook repaired before grading" in line and name in line
                   for line in log.splitlines()), name


@pytest.mark.slow
def test_grading_log_names_every_confinement_layer(graded):
    lines = [line for line in graded["log"].splitlines() if "checks passed" in line]
    assert lines
    if LANDLOCK >= 1:
        assert all("seccomp on" in line for line in lines), lines[0]


# --------------------------------------------------------------------------- slow: feedback


@pytest.fixture(scope="module")
def feedback(graded):
    course = graded["course"]
    students = ["zzz_honest_partial", "markup_injection", "nan_and_inf"]
    hidden = nbgrader(course, "generate_feedback", "ps1", "--HiddenCheckFeedback.show_details=False",
                      *[f"--CourseDirectory.student_id={s}" for s in students[:1]])
    assert hidden.returncode == 0, hidden.stderr[-3000:]
    full = nbgrader(course, "generate_feedback", "ps1", "--CourseDirectory.feedback_directory=full",
                    "--CourseDirectory.student_id=[mnz][az]*")  # the three students below
    assert full.returncode == 0, full.stderr[-3000:]

    def html(folder, student):
        return (course / folder / student / "ps1" / "ps1.html").read_text()

    return {"hidden": html("feedback", "zzz_honest_partial"),
            "full": {s: html("full", s) for s in students}}


@pytest.mark.slow
def test_feedback_without_hidden_check_details(graded, feedback):
    nb = autograded(graded, "zzz_honest_partial")
    detail = cell_outputs(nb, "test_central_difference")
    assert "central_difference(f, x=" in detail  # the autograded notebook names hidden inputs
    hidden_input = detail.split("central_difference(f, x=")[1].split(",")[0]
    full, hidden = feedback["full"]["zzz_honest_partial"], feedback["hidden"]
    assert f"central_difference(f, x={hidden_input}" in full  # default: nbgrader's behaviour
    assert f"x={hidden_input}" not in hidden
    assert "FAILED test_central_difference (0 of 3 points)" in hidden
    assert "At least one hidden check found a wrong value." in hidden
    assert "still raises NotImplementedError" in hidden  # recursion_dz: a kind, not an input
    assert "PASSED test_forward_difference (2 of 2 points)" in hidden
    assert "hidden cases" in full and "hidden cases" not in hidden


class LiveMarkup(HTMLParser):
    """Collects what a browser would run: script bodies, on* handlers, javascript: links."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for key, value in attrs:
            if key.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {key}={value!r}>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "owned-by" in data:
            self.found.append(f"<script>{data.strip()[:80]}")


@pytest.mark.slow
def test_feedback_carries_no_script_from_a_submission(feedback):
    page = feedback["full"]["markup_injection"]
    assert "owned-by-script" in page and "owned-by-onerror" in page  # shown, as text
    parser = LiveMarkup()
    parser.feed(page)
    assert parser.found == []


# --------------------------------------------------------------------------- slow: stalls


STALL_SLACK = 2.0  # seconds: nbgrader's own work around the sandbox, on a loaded machine


@pytest.fixture(scope="module")
def stalled(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("stalls") / "course")
    generated = nbgrader(course, "generate_assignment", "ps1")
    assert generated.returncode == 0, generated.stderr[-3000:]
    names = build.write_submissions(
        STALLS, course / "assignments" / "ps1" / "ps1.ipynb",
        ROOT / "solutions" / "ps1" / "ps1.ipynb", course / "submitted", "ps1", str(course))
    start = time.monotonic()
    done = nbgrader(course, "autograde", "ps1",
                    *[f"--SandboxAutograde.{key}={value}" for key, value in TIMEOUTS.items()],
                    f"--SandboxAutograde.require_confinement={LANDLOCK >= 1}")
    seconds = time.monotonic() - start
    found = scores(course, "ps1", names) if done.returncode == 0 else {}
    per_notebook = notebook_seconds(done.stderr, "ps1")
    print(f"\nstall bank: {len(names)} notebooks in {seconds:.1f} s; per notebook: {per_notebook}")
    return {"course": course, "names": names, "scores": found, "log": done.stderr,
            "returncode": done.returncode, "seconds": per_notebook, "total": seconds}


@pytest.mark.slow
def test_stalls_exit_zero_and_every_notebook_is_graded(stalled):
    assert stalled["returncode"] == 0, stalled["log"][-4000:]
    assert set(stalled["scores"]) == set(stalled["names"])
    assert set(stalled["seconds"]) == set(stalled["names"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STALLS))
def test_a_stall_costs_at_most_the_worst_case(stalled, name):
    bound = worst_case_notebook_seconds(TIMEOUTS["notebook_timeout"]) + STALL_SLACK
    assert stalled["seconds"][name] <= bound, (name, stalled["seconds"][name], bound)
    got = {g: score for g, score in stalled["scores"][name].items() if g.startswith("test_")}
    assert got == STALLS[name].expected, name
    path = stalled["course"] / "autograded" / name / "ps1" / "ps1.ipynb"
    nb = nbformat.read(path, as_version=4)
    for key, texts in STALLS[name].evidence.items():
        for text in texts:
            assert text in cell_outputs(nb, key), (name, key, text)


@pytest.mark.slow
def test_the_whole_stall_run_is_bounded(stalled):
    bound = len(stalled["names"]) * (worst_case_notebook_seconds(TIMEOUTS["notebook_timeout"])
                                     + STALL_SLACK) + 30  # + starting nbgrader and the sandbox
    assert stalled["total"] <= bound


# --------------------------------------------------------------------------- fast: the pieces


def test_failure_kinds_name_no_hidden_input():
    message = ("central_difference(f, x=0.3141, h=0.01) with f(x) = sin(2x): got 1.9, expected "
               "1.8 (difference 1.0e-01)")
    kind = failure_kind(message)
    assert "0.3141" not in kind and "sin" not in kind and "1.8" not in kind
    assert "NotImplementedError" in failure_kind("f still raises NotImplementedError: replace")
    assert "did not finish in time" in failure_kind("f(1) did not finish within 3 s, so")
    assert "raised an exception" in failure_kind("f(0.2, h=0) raised ZeroDivisionError: division")
    # Words a student's code wrote (after the grader's own) never choose or fill the kind:
    sly = "f(0.31) raised ValueError: The function x0_3141 is not defined\nNot graded: 0.3141"
    assert "0_3141" not in failure_kind(sly) and "0.3141" not in failure_kind(sly)
    assert "3141" not in failure_kind("f(0.31) raised Leak_0_3141: x")


def test_what_test_cells_import_needs_no_module_an_answer_may_replace():
    """A problem set may forbid an "answer" module (PS1 forbids mlpkit.numdiff). The modules that
    provided cells and visible tests use must not import one, directly or through each other,
    or they would stop importing while that problem set is graded."""
    answer_modules = ("mlpkit.numdiff", "mlpkit.complexsafe", "mlpkit.forward", "mlpkit.reverse",
                      "mlpkit.nn", "mlpkit.second_order")
    probe = ("import sys, mlpkit.grading, mlpkit.data, mlpkit.measure, mlpkit._checks; "
             "print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.split()
    assert [m for m in loaded if m.startswith(answer_modules)] == []


def test_forbidden_files_are_source_and_bytecode():
    files = forbidden_files({"mlpkit.numdiff": "x", "mlpkit.nn": "x", "no_such_module": "x"})
    package = ROOT / "mlpkit"
    assert str(package / "numdiff.py") in files
    assert str(package / "nn") in files
    assert all("grading" not in f for f in files)
    assert all(p.startswith(str(package)) for p in files)


def test_read_rules_leave_out_denied_files(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for name in ("pkg/a.py", "pkg/secret.py", "pkg/sub/b.py", "other.py"):
        (tmp_path / name).write_text("x")
    rules = dict(confine.read_rules([str(tmp_path)], [str(tmp_path / "pkg" / "secret.py")],
                                    access=confine.FS_READ_FILE | confine.FS_READ_DIR))
    assert rules[str(tmp_path)] == confine.FS_READ_DIR
    assert rules[str(tmp_path / "pkg")] == confine.FS_READ_DIR
    assert str(tmp_path / "pkg" / "secret.py") not in rules
    for allowed in ("pkg/a.py", "pkg/sub", "other.py"):
        assert rules[str(tmp_path / allowed)] == confine.FS_READ_FILE | confine.FS_READ_DIR


def test_a_forged_pid_is_never_signalled():
    grader = os.getpid()
    with pytest.raises(ValueError):
        ProcessHandle(grader, parent=os.getpid() + 10**6)  # not that process's child
    for bad in (-1, 0, 1, "12", None, True):
        with pytest.raises(ValueError):
            ProcessHandle(bad)


def test_sandbox_has_its_memory_limit_and_shuts_out_forbidden_modules(zygote, tmp_path):
    forbidden = {"mlpkit.numdiff": "write it yourself"}
    proc = zygote.spawn(Limits(memory_mb=700).spawn_params(str(tmp_path), zygote, forbidden))
    try:
        run = proc.exec_cell("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS))", 10)
        assert run.outputs[0]["text"].strip() == str((700 * 1024**2, 700 * 1024**2))
        run = proc.exec_cell("big = bytearray(900 * 1024**2)", 10)
        assert run.status == "error" and run.outputs[-1]["ename"] == "MemoryError"
        run = proc.exec_cell("import mlpkit.grading\nprint(mlpkit.grading.rel_error([1.0], [2.0]))", 10)
        assert run.status == "ok" and run.outputs[0]["text"].strip() == "0.5"
        run = proc.exec_cell("import importlib\nimportlib.import_module('mlpkit.numdiff').derivative", 10)
        assert run.status == "error" and "write it yourself" in run.outputs[-1]["evalue"]
        if LANDLOCK >= 1:
            path = ROOT / "mlpkit" / "numdiff.py"
            run = proc.exec_cell(f"open({str(path)!r}).read()", 10)
            assert run.status == "error" and run.outputs[-1]["ename"] == "PermissionError"
            readable = ROOT / "mlpkit" / "grading" / "__init__.py"
            run = proc.exec_cell(f"len(open({str(readable)!r}).read())", 10)
            assert run.status == "ok"
    finally:
        proc.kill()


def test_a_frame_sent_a_byte_at_a_time_ends_at_its_deadline():
    """A per-read timeout restarts at every byte; the grader's deadline bounds the frame."""
    import socket
    import threading

    from autograder.runner import Timeout, _receive

    grader, sandbox = socket.socketpair()
    stop = threading.Event()

    def trickle():
        sandbox.sendall(b"\0\0\3\xe8")  # a 1000-byte frame announced
        while not stop.wait(0.05):
            try:
                sandbox.send(b" ")
            except OSError:
                return

    thread = threading.Thread(target=trickle)
    thread.start()
    start = time.monotonic()
    try:
        with pytest.raises(Timeout):
            _receive(grader, start + 0.5)
        assert time.monotonic() - start < 1.5
    finally:
        stop.set()
        thread.join()
        grader.close()
        sandbox.close()


def test_seccomp_program_refuses_what_it_lists():
    from autograder import seccomp

    program = seccomp.seccomp_program(seccomp.CHECK_RULES, "x86_64")
    assert len(program) < 255
    denied = {k for code, jt, jf, k in program if code == 0x15}
    numbers = seccomp.SYSCALLS["x86_64"][1]
    assert {numbers["socket"], numbers["kill"], numbers["shmget"], numbers["io_uring_setup"]} <= denied


@pytest.mark.skipif(LANDLOCK < 1, reason="per-check isolation needs Landlock")
def test_a_check_keeps_nothing_of_its_inputs(zygote, tmp_path):
    """Routes from a check back to the notebook, tried directly against the sandbox."""
    from autograder.checking import run_check
    from autograder.isolation import Isolation

    params = Limits().spawn_params(str(tmp_path), zygote, {})
    proc = zygote.spawn(params)
    setup = '''
import mmap, os, socket
SHARED = mmap.mmap(-1, 4096)
PIPE_R, PIPE_W = os.pipe()
os.set_blocking(PIPE_R, False)
def leak(x):
    tried = {}
    def attempt(name, action):
        try:
            action()
            tried[name] = "done"
        except BaseException as exc:
            tried[name] = type(exc).__name__
    SHARED[:8] = b"LEAKED42"
    attempt("pipe", lambda: os.write(PIPE_W, b"LEAKED"))
    attempt("scratch", lambda: open(os.path.join(os.path.dirname(os.getcwd()), "x.txt"), "w"))
    attempt("own folder", lambda: open("mine.txt", "w").write("x"))
    attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    attempt("signal", lambda: os.kill(os.getppid(), 0))
    attempt("proc", lambda: open("/proc/1/environ").read())
    os.environ["LEAKED"] = "1"
    return tried
'''
    try:
        assert proc.exec_cell(setup, 10).status == "ok"
        isolation = Isolation(zygote, str(tmp_path), params["read_paths"],
                              expect_seccomp=proc.confinement.get("seccomp") == "on")
        child = proc.open_child(isolation=isolation)
        verdict = run_check("t", lambda student: repr(student.call("leak", 1.5)), child, 10)
        proc.close_child(child)
        assert verdict.passed, verdict.message
        assert "'own folder': 'done'" in verdict.message
        for route in ("scratch", "udp", "unix", "signal", "proc"):
            assert f"'{route}': 'PermissionError'" in verdict.message, (route, verdict.message)
        run = proc.exec_cell("print(bytes(SHARED[:8]), os.listdir('.'), os.environ.get('LEAKED'))\n"
                             "try:\n    print(os.read(PIPE_R, 10))\nexcept BlockingIOError:\n"
                             "    print('pipe empty')", 10)
        assert run.outputs[0]["text"] == "b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00' [] None\npipe empty\n"
    finally:
        proc.kill()
        zygote.sweep()


@pytest.mark.parametrize("name", sorted(n for n in BANK if n.startswith("malformed_")))
def test_a_malformed_notebook_is_repaired_or_refused_as_the_bank_says(name):
    from autograder.repair import Unreadable, read_submission

    source = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    submission = BANK[name]
    text = nbformat.writes(build.build(source, source, submission))
    if submission.raw is not None:
        text = submission.raw(text)
    unreadable = set(submission.lost) == set(submission.expected)
    if unreadable:
        with pytest.raises(Unreadable):
            read_submission(text.encode("utf-8"))
    else:
        nb, _ = read_submission(text.encode("utf-8"))
        nbformat.validate(nb)
        assert len({cell.id for cell in nb.cells}) == len(nb.cells)
