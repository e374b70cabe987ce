"""Helpers for tests that run real nbgrader commands in a temporary course (never the repo).

Every nbgrader process these helpers start runs under resource limits set before it execs
(``preexec_fn``): address space (so a memory bomb that escaped the sandbox could not take the
machine down), CPU seconds and file size; ``subprocess.run`` adds a wall-clock timeout.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
MEMORY_LIMIT = 6 * 1024**3  # bytes of address space for nbgrader and everything it starts
CPU_LIMIT = 1200  # CPU seconds of one nbgrader process
FILE_LIMIT = 512 * 1024**2  # bytes: the largest file an nbgrader process may write


def limit_resources() -> None:  # runs in the child, before nbgrader starts
    for which, value in ((resource.RLIMIT_AS, MEMORY_LIMIT), (resource.RLIMIT_CPU, CPU_LIMIT),
                         (resource.RLIMIT_FSIZE, FILE_LIMIT)):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))


def environment(extra: dict | None = None) -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **(extra or {}))


def run(command, cwd, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` under the resource limits, with ``.venv/bin`` on PATH (and ``env``)."""
    return subprocess.run([str(c) for c in command], cwd=cwd, env=environment(env),
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit_resources)


def nbgrader(course: Path, *args: str, timeout: float = 600,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``course``, with its gradebook there (``env``: extra variables)."""
    return run([BIN / "nbgrader", *args, f"--CourseDirectory.root={course}",
                f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"], course, timeout, env)


def notebook_seconds(log: str, assignment: str) -> dict:
    """student -> seconds the grader spent on their notebook (SandboxAutograde's log line)."""
    import re

    pattern = re.compile(rf"{re.escape(assignment)}/\S+ of (\S+): \d+/\d+ checks passed, .*?, "
                         r"([0-9.]+) s, ")
    return {found.group(1): float(found.group(2)) for found in pattern.finditer(log)}


def make_course(course: Path, assignments=("ps1",)) -> Path:
    """A course folder: the repository's nbgrader_config.py and the given problem sets' sources."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for assignment in assignments:
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return course


def scores(course: Path, assignment: str, students) -> dict:
    """student -> {grade_id: (auto_score, max_score)} from the course's gradebook."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
        for student in students:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            found[student] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
    return found


def tree_digest(folder: Path) -> dict:
    """relative path -> sha256 of every file (symbolic links: their target text) under folder."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            digest[key] = "link:" + os.readlink(path)
        elif path.is_file():
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def processes_named(name: str) -> list[int]:
    """Pids whose command name (/proc/PID/comm) is ``name``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/comm"):
        try:
            if entry.read_text().strip() == name:
                found.append(int(entry.parent.name))
        except (OSError, ValueError):
            continue
    return found
