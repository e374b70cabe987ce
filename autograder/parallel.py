"""Autograde a class in parallel on Dask: this machine by default, any Dask cluster with ``--scheduler``.

    cd ~/courses/2025-spring                                 # the term's course folder
    python -m autograder.parallel ps1                         # a LocalCluster, one worker per CPU
    python -m autograder.parallel ps1 --workers 2 --force     # regrade everyone on 2 workers
    python -m autograder.parallel ps1 --student 'a*' -- --SandboxAutograde.cell_timeout=60
    python -m autograder.parallel ps1 --scheduler tcp://10.0.0.5:8786   # a running cluster
    python -m autograder.parallel ps1 --db-url postgresql://grader@db/course2025

Like nbgrader, submissions already autograded are skipped unless ``--force``; ``--Class.trait=value``
arguments after ``--`` change the course's configuration for this run (timeouts, for example).

How it works:

- **Task data, no shared file system.** Each task grades one submission. It carries the course's
  ``nbgrader_config.py``, the problem set's source folder (notebook, ``checks.py``, data) and the
  submission's files (``timestamp.txt`` included), all as bytes; it returns the grades and the
  autograded files as plain data. A worker needs the course's Python environment, nothing else.
- **A warm grader per worker.** The first task of a problem set on a worker makes a course
  folder there and runs ``generate_assignment`` once; later tasks only autograde, through
  nbgrader's own API in the worker's process (no ``nbgrader`` start-up per submission), on one
  long-lived thread of ours: the sandbox ties its processes to the thread that started them, and
  Dask's executor threads are not ours to keep.
- **Confinement or nothing.** A worker that cannot confine student code (no Landlock: Linux
  older than 5.13) refuses the task, unless the course's configuration says
  ``SandboxAutograde.require_confinement = False``.
- **One writer.** Only this command writes the term's gradebook (SQLite by default, any
  SQLAlchemy URL with ``--db-url``, PostgreSQL included: ``postgresql://user@host/db``, with
  ``c.CourseDirectory.course_id`` set in ``nbgrader_config.py``, which PostgreSQL's foreign keys
  need) and the ``autograded/`` folder, one result at a time: each submission is written once.
- **Crashes are attributed, not guessed.** Dask counts a task as suspicious whenever a worker
  dies while it is assigned there, so a malicious neighbour could fail innocent submissions.
  Here each task is pinned to an idle worker, one task per worker at a time: a worker's death
  is charged to the one submission it was grading, which is re-run on another worker. A
  submission that kills its worker three times (``--max-crashes``) is graded 0, with the reason
  in ``autograded/<student>/<ps>/GRADING-FAILED.txt`` and in the summary. Every task has an
  overall deadline (``--task-timeout``) after which it counts as a crash, and the run waits at
  most ``--worker-wait`` seconds for a worker that can take work (the rest stay ungraded).
- The run shows a progress bar and ends with a summary: graded, retried, failed.

Exit status 0 when every submission was graded (a crash-zero counts as graded), 1 otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024**2  # a submission's file larger than this is not sent (nbgrader limits)
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints"}
STARTED_TOPIC = "autograder-started"  # the event a task logs when it begins
MAX_UNCHARGED = 10  # re-runs of a submission whose worker died before it started
SCATTER_TIMEOUT = 120.0  # seconds to send the course bundle to the workers


class RefusedWork(RuntimeError):
    """A worker that cannot grade safely (no confinement) refuses the task."""


# --------------------------------------------------------------------------- the course

def course_directories(course: Path) -> dict:
    """The course's folder names (source, submitted, autograded) from its nbgrader_config.py."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    return {"source": coursedir.source_directory, "release": coursedir.release_directory,
            "submitted": coursedir.submitted_directory, "autograded": coursedir.autograded_directory}


def pending_students(course: Path, dirs: dict, assignment: str, pattern: str, force: bool):
    submitted = sorted(p.parent.name for p in (course / dirs["submitted"]).glob(f"*/{assignment}")
                       if p.is_dir() and fnmatch.fnmatch(p.parent.name, pattern))
    if force:
        return submitted
    return [s for s in submitted if not (course / dirs["autograded"] / s / assignment).exists()]



def config_overrides(arguments: list[str]) -> dict:
    """``--Class.trait=value`` arguments (after ``--``) as ``{"Class": {"trait": value}}``."""
    import ast

    overrides: dict = {}
    for argument in arguments:
        name, equals, text = argument.removeprefix("--").partition("=")
        section, dot, trait = name.partition(".")
        if not (argument.startswith("--") and equals and dot and section and trait):
            raise ValueError(f"expected --Class.trait=value after --, got {argument!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        overrides.setdefault(section, {})[trait] = value
    return overrides


# --------------------------------------------------------------------------- task data


def read_folder(folder: Path, limit: int = MAX_FILE_BYTES) -> dict[str, bytes]:
    """Every regular file below ``folder`` (no links, nothing over ``limit``) as bytes."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if SKIPPED_NAMES & set(path.parts) or path.is_symlink() or not path.is_file():
            continue
        if path.stat().st_size <= limit:
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"refusing to write {name!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@dataclass(frozen=True)
class CourseBundle:
    """What every task of one problem set needs: configuration and source, as bytes."""

    assignment: str
    config: bytes
    source: dict = field(hash=False)
    overrides: dict = field(hash=False, default_factory=dict)  # --Class.trait=value, per run
    digest: str = ""

    @classmethod
    def from_course(cls, course: Path, dirs: dict, assignment: str,
                    overrides: dict | None = None) -> "CourseBundle":
        config = (course / "nbgrader_config.py").read_bytes()
        source = read_folder(course / dirs["source"] / assignment)
        overrides = overrides or {}
        digest = hashlib.sha256(config + repr(sorted(overrides.items())).encode())
        for name in sorted(source):
            digest.update(name.encode() + b"\0" + hashlib.sha256(source[name]).digest())
        return cls(assignment, config, source, overrides, digest.hexdigest())


# --------------------------------------------------------------------------- worker side

_GRADERS: dict[str, "WarmGrader"] = {}
_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autograder")  # ours, long-lived
_LOCK = threading.Lock()


class WarmGrader:
    """A course folder on this worker for one problem set, with its gradebook made once."""

    def __init__(self, bundle: CourseBundle):
        from nbgrader.apps import NbGraderAPI
        from traitlets.config.loader import PyFileConfigLoader

        from autograder import confine

        self.bundle = bundle
        self.folder = Path(tempfile.mkdtemp(prefix=f"autograder-{bundle.assignment}-"))
        (self.folder / "nbgrader_config.py").write_bytes(bundle.config)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.folder)).load_config()
        for section, traits in bundle.overrides.items():
            for trait, value in traits.items():
                setattr(config[section], trait, value)
        required = config.SandboxAutograde.get("require_confinement", True)
        if required and confine.landlock_abi() < 1:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise RefusedWork(f"worker on {os.uname().nodename} (pid {os.getpid()}) cannot confine "
                              "student code (no Landlock, Linux >= 5.13 needed): refusing to grade")
        config.CourseDirectory.root = str(self.folder)
        config.CourseDirectory.db_url = f"sqlite:///{self.folder}/gradebook.db"
        self.dirs = {"source": config.CourseDirectory.get("source_directory", "source"),
                     "submitted": "submitted", "autograded": "autograded"}
        write_folder(self.folder / self.dirs["source"] / bundle.assignment, bundle.source)
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                              os.environ.get("PATH", "")])  # nbgrader runs alembic
        self.api = NbGraderAPI(config=config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            made = self.api.generate_assignment(bundle.assignment)
        if not made.get("success"):
            raise RuntimeError(f"generate_assignment failed on the worker:\n{made.get('error', '')[-2000:]}")

    def grade(self, student: str, files: dict[str, bytes]) -> dict:
        from nbgrader.api import Gradebook, MissingEntry

        assignment = self.bundle.assignment
        for kind in ("submitted", "autograded"):
            shutil.rmtree(self.folder / kind / student, ignore_errors=True)
        submission = self.folder / "submitted" / student / assignment
        submission.mkdir(parents=True)
        write_folder(submission, files)
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = self.api.autograde(assignment, student, force=True, create=True)
        result = {"student": student, "assignment": assignment, "ok": bool(outcome.get("success")),
                  "error": (outcome.get("error") or "")[-2000:], "seconds": time.monotonic() - started,
                  "worker_pid": os.getpid(), "notebooks": {}, "files": {}}
        try:
            with Gradebook(f"sqlite:///{self.folder}/gradebook.db") as gradebook:
                done = gradebook.find_submission(assignment, student)
                result["timestamp"] = done.timestamp.isoformat() if done.timestamp else None
                for notebook in done.notebooks:
                    result["notebooks"][notebook.name] = {
                        "late_penalty": notebook.late_submission_penalty,
                        "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in notebook.grades},
                        "comments": {c.name: c.auto_comment for c in notebook.comments},
                    }
        except MissingEntry:
            result["ok"] = False
        graded = self.folder / "autograded" / student / assignment
        if graded.is_dir():
            result["files"] = read_folder(graded)
        return result


def grade_submission(bundle: CourseBundle, student: str, files: dict[str, bytes],
                     task_id: str = "") -> dict:
    """The task: grade one submission on this worker (Dask calls this). It first tells the
    scheduler it has started, so that a worker death is charged only to a task that ran."""
    try:
        from distributed import get_worker

        get_worker().log_event(STARTED_TOPIC, {"task_id": task_id})
    except ValueError:  # not on a Dask worker (called directly)
        pass

    def work():
        with _LOCK:
            grader = _GRADERS.get(bundle.digest)
            if grader is None:
                grader = _GRADERS[bundle.digest] = WarmGrader(bundle)
            return grader.grade(student, files)

    return _THREAD.submit(work).result()


# --------------------------------------------------------------------------- the one writer


def course_id(course: Path) -> str:
    """The course's ``CourseDirectory.course_id`` (``""`` when unset, nbgrader's default)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return str(config.CourseDirectory.get("course_id", ""))


def write_result(course: Path, db_url: str, dirs: dict, result: dict) -> None:
    """Write one graded submission into the term: gradebook rows, then the autograded files."""
    from datetime import datetime

    from nbgrader.api import Gradebook

    assignment, student = result["assignment"], result["student"]
    with warnings.catch_warnings(), Gradebook(db_url, course_id(course)) as term:
        warnings.simplefilter("ignore")
        term.update_or_create_student(student)
        stamp = result.get("timestamp")
        submission = term.update_or_create_submission(
            assignment, student, timestamp=datetime.fromisoformat(stamp) if stamp else None)
        for name, notebook in result["notebooks"].items():
            into = term.find_submission_notebook(name, assignment, student)
            into.late_submission_penalty = notebook["late_penalty"]
            for grade_name, (auto_score, needs_manual) in notebook["grades"].items():
                grade = term.find_grade(grade_name, name, assignment, student)
                grade.auto_score, grade.needs_manual_grade = auto_score, needs_manual
            for comment_name, text in notebook["comments"].items():
                term.find_comment(comment_name, name, assignment, student).auto_comment = text
        del submission
        term.db.commit()
    destination = course / dirs["autograded"] / student / assignment
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    write_folder(destination, result["files"])


def write_failure(course: Path, db_url: str, dirs: dict, assignment: str, student: str,
                  reason: str) -> None:
    """A submission that could not be graded: 0 on every autograded cell, with the reason."""
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(db_url, course_id(course)) as term:
        warnings.simplefilter("ignore")
        term.update_or_create_student(student)
        submission = term.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                try:
                    term.find_solution_cell(grade.name, notebook.name, assignment)
                    continue  # an answer graded by hand: the instructor can still grade it
                except MissingEntry:
                    pass
                if grade.cell_type == "code":  # an autograded test cell
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
        term.db.commit()
    destination = course / dirs["autograded"] / student / assignment
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "GRADING-FAILED.txt").write_text(reason + "\n")


# --------------------------------------------------------------------------- the client


@dataclass
class Summary:
    graded: list = field(default_factory=list)
    retried: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # student -> reason
    seconds: float = 0.0

    def line(self) -> str:
        return (f"graded {len(self.graded)}, retried {len(self.retried)}, failed {len(self.failed)}"
                f" in {self.seconds:.1f} s")


def grade_class(client, course: Path, assignment: str, students: list[str], *, db_url: str,
                max_crashes: int = 3, task_timeout: float = 900.0, worker_wait: float = 300.0,
                progress=None, on_submit=None, log=None, overrides: dict | None = None) -> Summary:
    """Grade ``students`` on ``client``'s workers, one task per idle worker; write each result.
    When no worker can take work for ``worker_wait`` seconds, the rest stay ungraded (failed)."""
    dirs = course_directories(course)
    bundle = CourseBundle.from_course(course, dirs, assignment, overrides)
    shipped, idle_since = None, None  # the bundle on the workers; since when none could work
    summary, crashes, uncharged, start = Summary(), {}, {}, time.monotonic()
    pending = list(students)
    in_flight: dict = {}  # future -> (student, worker address, deadline, task id)
    refusing, dead = set(), {}  # workers that refused; address -> when its worker was seen to die
    while pending or in_flight:
        busy = {entry[1] for entry in in_flight.values()}
        recently_dead = {w for w, when in dead.items() if time.monotonic() - when < 30}
        workers = [w for w in client.scheduler_info()["workers"]
                   if w not in busy | refusing | recently_dead]
        if pending and workers and (shipped is None or shipped.status != "finished"):
            # first, or every worker that held the bundle died (scattered data is not
            # recomputable): send it to the workers there are now
            try:
                shipped = client.scatter(bundle, broadcast=True, timeout=SCATTER_TIMEOUT)
            except (TimeoutError, OSError):
                workers = []  # try again next round, within the wait for workers
        while pending and workers:
            student, worker = pending.pop(0), workers.pop(0)
            files = read_folder(course / dirs["submitted"] / student / assignment)
            task_id = f"grade-{assignment}-{student}-{time.monotonic_ns()}"
            future = client.submit(grade_submission, shipped, student, files, task_id,
                                   workers=[worker], allow_other_workers=False, pure=False,
                                   key=task_id)
            in_flight[future] = (student, worker, time.monotonic() + task_timeout, task_id)
            if on_submit:
                on_submit(student, worker, task_id)
        if not in_flight:
            if refusing and len(refusing) >= len(client.scheduler_info()["workers"]):
                for student in pending:
                    summary.failed[student] = "no worker can confine student code"
                break
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > worker_wait:  # no worker for too long: stop
                for student in pending:
                    summary.failed[student] = f"no worker could take it within {worker_wait:g} s"
                break
            time.sleep(0.2)  # waiting for workers (a nanny restarting one, a cluster scaling up)
            continue
        idle_since = None
        done = {future for future in in_flight if future.done()}
        if not done:
            time.sleep(0.1)
        now = time.monotonic()
        for future in list(in_flight):
            student, worker, deadline, task_id = in_flight[future]
            if future not in done and now < deadline:
                continue
            del in_flight[future]
            crash, worker_died = None, False
            if future not in done:
                future.cancel()
                crash = f"did not finish within {task_timeout:g} s"
            else:
                try:
                    result = future.result()
                except RefusedWork as exc:
                    refusing.add(worker)
                    pending.insert(0, student)
                    print(f"worker {worker} refused: {exc}", file=sys.stderr)
                    continue
                except Exception as exc:  # noqa: BLE001 - a dead worker, a lost connection, ...
                    worker_died = type(exc).__name__ == "KilledWorker"
                    crash = (f"its worker {worker} died while grading it" if worker_died else
                             f"{type(exc).__name__}: {str(exc)[:300]}")
                else:
                    if result["ok"]:
                        write_result(course, db_url, dirs, result)
                        summary.graded.append(student)
                        if progress:
                            progress.update(1)
                        continue
                    crash = "nbgrader could not grade it: " + result["error"][-500:]
            if log:
                log(f"{student} on {worker}: {crash}")
            if worker_died:
                dead[worker] = time.monotonic()  # a nanny restarts it under a new address
                started = {event.get("task_id") for _, event in client.get_events(STARTED_TOPIC)
                           if isinstance(event, dict)}
                if task_id not in started:  # its worker died before it began: not its fault
                    uncharged[student] = uncharged.get(student, 0) + 1
                    if uncharged[student] <= MAX_UNCHARGED:
                        pending.insert(0, student)
                        continue
            crashes[student] = crashes.get(student, 0) + 1
            if crashes[student] >= max_crashes:
                reason = (f"{student}'s {assignment} stopped the grading process {crashes[student]} "
                          f"times (last: {crash}); graded 0. Ask the instructor to look at it.")
                write_failure(course, db_url, dirs, assignment, student, reason)
                summary.failed[student] = reason
                if progress:
                    progress.update(1)
            else:
                summary.retried.append(student)
                pending.insert(0, student)
    summary.seconds = time.monotonic() - start
    return summary


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m autograder.parallel",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the term's course folder")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="LocalCluster workers (one process each; ignored with --scheduler)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--db-url", help="the term's gradebook (default: sqlite:///COURSE/gradebook.db)")
    parser.add_argument("--student", default="*", help="only students matching this pattern")
    parser.add_argument("--force", action="store_true", help="regrade graded submissions")
    parser.add_argument("--max-crashes", type=int, default=3)
    parser.add_argument("--task-timeout", type=float, default=900.0,
                        help="seconds one submission may take on a worker, in all")
    parser.add_argument("--worker-wait", type=float, default=300.0, help="seconds to wait for a worker")
    args = parser.parse_args(argv)
    try:
        overrides = config_overrides(extra)
    except ValueError as exc:
        parser.error(str(exc))
    course = args.course.expanduser().resolve()
    db_url = args.db_url or f"sqlite:///{course}/gradebook.db"
    if not (course / "nbgrader_config.py").is_file():
        parser.error(f"{course} has no nbgrader_config.py")
    dirs = course_directories(course)
    students = pending_students(course, dirs, args.assignment, args.student, args.force)
    if not students:
        print(f"nothing to grade for {args.assignment} (use --force to regrade)")
        return 0
    import dask
    from distributed import Client, LocalCluster
    from tqdm import tqdm

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = None if args.scheduler else LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
            env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        with Client(args.scheduler or cluster) as client:
            print(f"autograding {len(students)} submissions of {args.assignment} on "
                  f"{len(client.scheduler_info()['workers'])} Dask worker(s)...", flush=True)
            with tqdm(total=len(students), unit="submission", file=sys.stdout) as bar:
                summary = grade_class(client, course, args.assignment, students, db_url=db_url,
                                      max_crashes=args.max_crashes, task_timeout=args.task_timeout,
                                      worker_wait=args.worker_wait, overrides=overrides,
                                      progress=bar, log=lambda text: bar.write(text, file=sys.stderr))
        if cluster is not None:
            cluster.close()
    print(summary.line())
    for student, reason in summary.failed.items():
        print(f"  FAILED {student}: {reason}")
    return 0 if set(summary.graded) | set(summary.failed) == set(students) else 1


if __name__ == "__main__":
    # Run the module's own copy, not __main__'s: Dask pickles functions of __main__ by value,
    # with their globals (a thread pool, a lock), and functions of a module by reference.
    from autograder.parallel import main as module_main

    sys.exit(module_main())
