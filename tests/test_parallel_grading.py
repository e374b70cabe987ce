"""Grading on Dask (autograder.parallel), with real Dask processes and a real database.

- the command grades a class on a LocalCluster of worker processes into the term's SQLite
  gradebook: every bank submission gets exactly the marks the serial pipeline gives it;
- a submission whose worker dies (the test kills it with SIGKILL whenever that submission is
  handed out) is re-run elsewhere, charged alone, and graded 0 after three deaths, while every
  other submission keeps its marks and each is written exactly once;
- a worker without confinement refuses the work;
- the gradebook can be a PostgreSQL server (Debian's package, started here as the `postgres`
  user on a free localhost port, stopped afterwards).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import ROOT, make_course, nbgrader, run

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

pytestmark = [pytest.mark.slow, pytest.mark.distributed]
ASSIGNMENT = "ps1"
TIMEOUTS = ["--SandboxAutograde.check_timeout=5", "--SandboxAutograde.cell_timeout=10"]
CHOSEN = ("solution", "mistake_central_over_h")  # an honest student and a plausible mistake


def _term(tmp_path: Path, db_url: str | None = None) -> tuple[Path, list[str]]:
    """A term folder with PS1 generated and a few submissions: bank entries, a blank release."""
    course = make_course(tmp_path / "term", (ASSIGNMENT,))
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.SandboxAutograde.check_timeout = 5\n"
                      "c.SandboxAutograde.cell_timeout = 10\n"
                      "c.CourseDirectory.course_id = 'course2026'\n")  # PostgreSQL needs one
    extra = [f"--CourseDirectory.db_url={db_url}"] if db_url else []
    done = nbgrader(course, "generate_assignment", ASSIGNMENT, *extra) if not db_url else run(
        [ROOT / ".venv" / "bin" / "nbgrader", "generate_assignment", ASSIGNMENT,
         f"--CourseDirectory.root={course}", *extra], course)
    assert done.returncode == 0, done.stderr[-3000:]
    bank = build.load_bank(ASSIGNMENT)
    release = course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    names = build.write_submissions({n: bank[n] for n in CHOSEN}, release,
                                    course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                    course / "submitted", ASSIGNMENT, str(course))
    blank = course / "submitted" / "blank" / ASSIGNMENT
    blank.mkdir(parents=True)
    shutil.copy(release, blank)
    for name in [*names, "blank"]:
        (course / "submitted" / name / ASSIGNMENT / "timestamp.txt").write_text(
            "2026-03-01 12:00:00.000000 UTC")
    return course, [*names, "blank"]


def _scores(db_url: str, students) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, "course2026") as gradebook:
        found = {}
        for student in students:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            found[student] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades
                              if g.cell_type == "code" and g.auto_score is not None}
        found["__submissions__"] = len(gradebook.find_assignment(ASSIGNMENT).submissions)
        return found


def _check_marks(found: dict) -> None:
    """The solution full marks, the mistake loses exactly its declared cells, the blank 0."""
    bank = build.load_bank(ASSIGNMENT)
    assert found["solution"] and all(score == points for score, points in found["solution"].values())
    assert found["blank"] and all(score == 0 for score, _ in found["blank"].values())
    lost = {g for g, (score, points) in found["mistake_central_over_h"].items() if score != points}
    assert lost == set(bank["mistake_central_over_h"].lost), lost


def test_command_grades_a_class_on_a_local_cluster(tmp_path):
    course, students = _term(tmp_path)
    done = run([sys.executable, "-m", "autograder.parallel", ASSIGNMENT, "--workers", "2",
                "--course", course], course, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "graded 3, retried 0, failed 0" in done.stdout, done.stdout[-2000:]
    found = _scores(f"sqlite:///{course}/gradebook.db", students)
    _check_marks(found)
    assert found["__submissions__"] == 3
    for student in students:
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        assert (course / "autograded" / student / ASSIGNMENT / "timestamp.txt").is_file()
    # submission times survive the trip (a late penalty needs them)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db", "course2026") as gradebook:
        stamp = gradebook.find_submission(ASSIGNMENT, "solution").timestamp
    assert (stamp.year, stamp.month, stamp.day, stamp.hour) == (2026, 3, 1, 12)


def test_a_worker_killer_is_charged_alone_and_graded_zero(tmp_path):
    import dask
    from distributed import Client, LocalCluster

    from autograder.parallel import STARTED_TOPIC, grade_class

    course, students = _term(tmp_path)
    shutil.copytree(course / "submitted" / "solution", course / "submitted" / "killer")
    killer_nb = course / "submitted" / "killer" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(killer_nb, as_version=4)  # a cell that keeps its worker busy for a
    notebook.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(6)"))  # while
    nbformat.write(notebook, killer_nb)  # (under the 10 s cell limit): the kill lands mid-task
    students = [*students, "killer"]
    kills, killers = [], []

    def kill_its_worker(student, worker, task_id):
        """When "killer" has started on its worker, SIGKILL that worker (as a submission that
        crashes its grader would): the death must be charged to killer alone."""
        if student != "killer":
            return

        def kill():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                events = client.get_events(STARTED_TOPIC)
                if any(isinstance(e, dict) and e.get("task_id") == task_id for _, e in events):
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                    return
                time.sleep(0.05)

        killers.append(threading.Thread(target=kill, daemon=True))
        killers[-1].start()

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        # ":0": the scheduler's HTTP server on a free port (None would still try 8787, which a
        # cluster of another test may hold, and warn)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") \
                as cluster, Client(cluster) as client:
            summary = grade_class(client, course, ASSIGNMENT, students,
                                  db_url=f"sqlite:///{course}/gradebook.db", max_crashes=3,
                                  task_timeout=300, on_submit=kill_its_worker)
    assert len(kills) == 3
    assert list(summary.failed) == ["killer"] and "3 times" in summary.failed["killer"]
    assert summary.retried == ["killer", "killer"]
    assert sorted(summary.graded) == sorted(s for s in students if s != "killer")
    found = _scores(f"sqlite:///{course}/gradebook.db", students)
    _check_marks(found)
    assert found["killer"] and all(score == 0 for score, _ in found["killer"].values())
    assert found["__submissions__"] == len(students)  # nothing lost, nothing written twice
    reason = (course / "autograded" / "killer" / ASSIGNMENT / "GRADING-FAILED.txt").read_text()
    assert "stopped the grading process 3 times" in reason


def test_a_cluster_without_workers_is_waited_for_only_so_long(tmp_path):
    """Every wait has an overall deadline: with no worker at all the run stops after
    ``worker_wait`` seconds, grades nobody and says why (exit status 1 in the command)."""
    from distributed import Client, LocalCluster

    from autograder.parallel import grade_class

    course, students = _term(tmp_path)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        start = time.monotonic()
        summary = grade_class(client, course, ASSIGNMENT, students,
                              db_url=f"sqlite:///{course}/gradebook.db", worker_wait=1.0)
        waited = time.monotonic() - start
    assert 1.0 <= waited < 30, waited
    assert summary.graded == [] and sorted(summary.failed) == sorted(students)
    assert all("no worker could take it within 1 s" in why for why in summary.failed.values())
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())


def test_a_worker_without_confinement_refuses(tmp_path, monkeypatch):
    from autograder import confine
    from autograder.parallel import CourseBundle, RefusedWork, WarmGrader
    from autograder.parallel import course_directories

    course = make_course(tmp_path / "term", (ASSIGNMENT,))
    bundle = CourseBundle.from_course(course, course_directories(course), ASSIGNMENT)
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    with pytest.raises(RefusedWork, match="cannot confine student code"):
        WarmGrader(bundle)


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@pytest.fixture
def postgres():
    """A PostgreSQL server of our own, run as the `postgres` user, on a free localhost port."""
    binaries = _postgres_bin()
    if binaries is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL (.ci/run installs Debian's postgresql) and root")
        pytest.skip("needs Debian's postgresql package and root (to run the server as postgres)")
    folder = Path(tempfile.mkdtemp(prefix="mlpkit-pg-"))  # not under pytest's root-only folder
    data = folder / "data"
    shutil.chown(folder, "postgres")
    os.chmod(folder, 0o700)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*command, timeout=120):
        return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)],
                              capture_output=True, text=True, timeout=timeout, cwd=folder)

    made = as_postgres(binaries / "initdb", "-D", data, "--auth=trust", "-U", "postgres")
    assert made.returncode == 0, made.stderr
    started = as_postgres(binaries / "pg_ctl", "-D", data, "-w", "-l", folder / "log", "-o",
                          f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")
    assert started.returncode == 0, started.stderr + (folder / "log").read_text()
    try:
        created = as_postgres(binaries / "createdb", "-h", "127.0.0.1", "-p", port, "course")
        assert created.returncode == 0, created.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/course"
    finally:
        as_postgres(binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_gradebook_on_a_postgresql_server(tmp_path, postgres):
    course, students = _term(tmp_path, db_url=postgres)
    done = run([sys.executable, "-m", "autograder.parallel", ASSIGNMENT, "--workers", "2",
                "--course", course, "--db-url", postgres], course, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = _scores(postgres, students)
    _check_marks(found)
    assert found["__submissions__"] == 3
    assert not (course / "gradebook.db").exists()  # the term's grades live in PostgreSQL only


def test_no_dask_process_outlives_the_tests():
    time.sleep(0.5)
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    leftovers = [line for line in listing.splitlines() if "distributed" in line and "python" in line
                 and "pytest" not in line]
    assert not leftovers, leftovers
