"""Autograde a large class in parallel processes, then merge into the term's one gradebook.

    cd ~/courses/2025-spring                      # the term's course folder
    python -m autograder.parallel ps1 --workers 4
    python -m autograder.parallel ps1 --workers 4 --force --student 'a*'   # regrade some

``nbgrader autograde`` grades one submission after another, and its SQLite gradebook takes one
writer at a time. This command splits the submissions of one problem set into batches (of
``--batch-size``; by default about four per worker, so a batch slowed by hanging submissions
does not hold the others up) that ``--workers`` processes take in turn. Each batch is graded in
its own worker course folder (in ``.parallel-autograde/`` inside the course; removed
afterwards): the course's ``nbgrader_config.py``, links to its source and release folders, a
snapshot of the term's gradebook and copies of the batch's submissions, where ordinary
``nbgrader autograde`` runs with BLAS pinned to one thread. As each batch finishes, its results
are merged, one writer at a time, into the term's gradebook (automatic scores, the "needs
manual grade" flags, automatic comments, late penalties, submission times: manual grades
already in the term's gradebook are kept) and its autograded notebooks are moved into the
term's ``autograded/`` folder. Afterwards the formgrader, feedback and export see exactly what
a serial ``nbgrader autograde`` would have produced.

Like nbgrader, submissions already autograded are skipped unless ``--force``. Arguments after
``--`` go to every ``nbgrader autograde`` (``-- --SandboxAutograde.cell_timeout=60``). Workers'
logs are kept in ``.parallel-autograde/logs/``. Exit status 0 when every submission was graded.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import os
import threading
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WORKDIR = ".parallel-autograde"


def course_directories(course: Path) -> dict:
    """The course's folder names (source, submitted, autograded) from its nbgrader_config.py."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    return {"source": coursedir.source_directory, "release": coursedir.release_directory,
            "submitted": coursedir.submitted_directory, "autograded": coursedir.autograded_directory}


def batches(students: list[str], workers: int, size: int | None = None) -> list[list[str]]:
    """Consecutive batches of ``size`` students (default: about four batches per worker,
    between 5 and 40 students each, as few as the class allows)."""
    if size is None:
        size = min(40, max(5, math.ceil(len(students) / (4 * max(1, workers)))))
    size = max(1, size)
    return [students[start:start + size] for start in range(0, len(students), size)]


def pending_students(course: Path, dirs: dict, assignment: str, pattern: str, force: bool):
    submitted = sorted(p.parent.name for p in (course / dirs["submitted"]).glob(f"*/{assignment}")
                       if p.is_dir() and fnmatch.fnmatch(p.parent.name, pattern))
    if force:
        return submitted
    return [s for s in submitted if not (course / dirs["autograded"] / s / assignment).exists()]


def prepare_worker(course: Path, folder: Path, dirs: dict, assignment: str, students) -> None:
    folder.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", folder)
    for kind in ("source", "release"):
        if (course / dirs[kind]).exists():
            os.symlink(course / dirs[kind], folder / dirs[kind])
    with sqlite3.connect(course / "gradebook.db") as term, \
            sqlite3.connect(folder / "gradebook.db") as copy:
        term.backup(copy)  # a consistent snapshot, even of a database in use
    for student in students:
        shutil.copytree(course / dirs["submitted"] / student / assignment,
                        folder / dirs["submitted"] / student / assignment, symlinks=True)


def run_worker(folder: Path, assignment: str, force: bool, extra: list[str], log: Path) -> int:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment,
               f"--CourseDirectory.root={folder}",
               f"--CourseDirectory.db_url=sqlite:///{folder}/gradebook.db",
               *(["--force"] if force else []), *extra]
    with open(log, "w") as handle:
        return subprocess.run(command, cwd=folder, env=env, stdout=handle,
                              stderr=subprocess.STDOUT).returncode


def merge(course: Path, folder: Path, dirs: dict, assignment: str, students) -> list[str]:
    """Copy the worker's results for ``students`` into the term; returns those merged."""
    from nbgrader.api import Gradebook, MissingEntry

    merged = []
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{folder}/gradebook.db") as worker, \
            Gradebook(f"sqlite:///{course}/gradebook.db") as term:
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's own session use
        for student in students:
            graded = folder / dirs["autograded"] / student / assignment
            try:
                done = worker.find_submission(assignment, student)
            except MissingEntry:
                continue
            if not graded.is_dir():
                continue
            who = worker.find_student(student)
            term.update_or_create_student(student, first_name=who.first_name,
                                          last_name=who.last_name, email=who.email,
                                          lms_user_id=who.lms_user_id)
            term.update_or_create_submission(assignment, student, timestamp=done.timestamp)
            for notebook in done.notebooks:
                into = term.find_submission_notebook(notebook.name, assignment, student)
                into.late_submission_penalty = notebook.late_submission_penalty
                for grade in notebook.grades:
                    target = term.find_grade(grade.name, notebook.name, assignment, student)
                    target.auto_score = grade.auto_score
                    target.needs_manual_grade = grade.needs_manual_grade
                for comment in notebook.comments:
                    target = term.find_comment(comment.name, notebook.name, assignment, student)
                    target.auto_comment = comment.auto_comment
            term.db.commit()
            destination = course / dirs["autograded"] / student / assignment
            if destination.exists():
                shutil.rmtree(destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(graded), str(destination))
            merged.append(student)
    return merged


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m autograder.parallel",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel nbgrader processes (default: one per CPU)")
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="the term's course folder (default: the current folder)")
    parser.add_argument("--student", default="*", help="only students matching this pattern")
    parser.add_argument("--force", action="store_true", help="regrade graded submissions")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="submissions per nbgrader run (default: about 4 batches per worker)")
    args = parser.parse_args(argv)

    course = args.course.expanduser().resolve()
    if not (course / "nbgrader_config.py").is_file() or not (course / "gradebook.db").is_file():
        parser.error(f"{course} needs nbgrader_config.py and gradebook.db (run nbgrader "
                     "generate_assignment there first)")
    dirs = course_directories(course)
    students = pending_students(course, dirs, args.assignment, args.student, args.force)
    if not students:
        print(f"nothing to grade for {args.assignment} (use --force to regrade)")
        return 0
    groups = batches(students, args.workers, args.batch_size)
    workers = max(1, min(args.workers, len(groups)))
    work = course / WORKDIR
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    start = time.monotonic()
    print(f"autograding {len(students)} submissions of {args.assignment}: {len(groups)} "
          f"batch(es) in {workers} process(es)...", flush=True)
    graded, codes, lock = [], [], threading.Lock()

    def grade(index: int) -> None:
        folder = work / f"batch-{index:03d}"
        with lock:  # the snapshot of the gradebook is taken between merges
            prepare_worker(course, folder, dirs, args.assignment, groups[index])
        code = run_worker(folder, args.assignment, args.force, extra,
                          work / "logs" / f"{folder.name}.log")
        with lock:  # one writer at a time
            codes.append(code)
            graded.extend(merge(course, folder, dirs, args.assignment, groups[index]))
            shutil.rmtree(folder)
            print(f"  batch {index + 1}/{len(groups)} done: {len(graded)} of {len(students)} "
                  f"graded ({time.monotonic() - start:.0f} s)", flush=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(grade, range(len(groups))))
    missing = sorted(set(students) - set(graded))
    seconds = time.monotonic() - start
    print(f"graded {len(graded)} of {len(students)} submissions in {seconds:.1f} s "
          f"({seconds / len(students):.2f} s each, {workers} process{'es' if workers > 1 else ''}); "
          f"logs in {work / 'logs'}")
    if missing or any(codes):
        print(f"NOT graded (see the logs): {', '.join(missing) or 'none'}; worker exit codes "
              f"{codes}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
