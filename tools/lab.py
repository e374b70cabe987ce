"""Open the course in JupyterLab: `make lab` runs this.

    python tools/lab.py                # instructor mode in the full repository, student mode in a copy
    python tools/lab.py --student      # student mode anywhere (what a student copy does)
    python tools/lab.py --sync-only    # student mode: bring the work folder up to date, start nothing
    python tools/lab.py --formgrader COURSE   # instructor: the formgrader of a course folder

Instructor mode (the repository, where ``solutions/`` exists) opens the repository as it is, with
every nbgrader panel, and the course's formgrader extension (``autograder.formgrader_ui``, on
for this server only): the grading page typesets formulas with the installed MathJax (no CDN)
and shows each manually graded cell's section of ``solutions/<ps>/rubric.md`` beside it.
``--formgrader COURSE`` (``make formgrader COURSE=...``) starts the same server in a course
folder (a term folder made by ``tools/new_term.py``) and opens its formgrader.

Student mode (a student copy, made by ``make student-copy``):

- the course's ``lectures/`` and ``assignments/`` are copied into ``work/`` (untracked), and
  JupyterLab opens there. Pulling a course update (``git pull``) never touches ``work/``, so it
  cannot conflict with a student's edits. Each start merges the update in, as nbgitpuller does
  on a JupyterHub: a file the student has not changed takes the course's new version; a file the
  student changed is kept, and the course's new version is saved beside it as
  ``NAME.course-update.EXT`` (the student's work always wins; nothing is lost).
- the instructor's nbgrader panels are hidden through the copy's own Jupyter configuration
  (``.jupyter-student/``, put first on ``JUPYTER_CONFIG_PATH`` for this server only; the user's
  own configuration is never written): the formgrader, create-assignment, course-list and
  assignment-list panels and the nbgrader menu, and the formgrader, course-list and
  assignment-list server extensions. Validate stays. On a laptop there is no nbgrader exchange,
  so the assignment list would have nothing to show. Hiding panels is a convenience, not
  security: a student can always start Jupyter differently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COURSE_FOLDERS = ("lectures", "assignments")
WORK = "work"
MANIFEST = ".course-manifest.json"  # in work/: the hash of each course file as last copied
STUDENT_CONFIG = ".jupyter-student"
SKIPPED = {".ipynb_checkpoints", "__pycache__"}

HIDDEN_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)
FORMGRADER_EXTENSION = "autograder.formgrader_ui"  # enabled on the command line, instructor mode
DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list",
)


def is_student_copy(root: Path = ROOT) -> bool:
    """A copy without ``solutions/`` is a student's."""
    return not (root / "solutions").is_dir()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _course_files(root: Path):
    for folder in COURSE_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not SKIPPED & set(path.parts):
                yield path.relative_to(root)


def sync_work_folder(root: Path = ROOT) -> list[str]:
    """Bring ``root/work`` up to date with the course; return one line per notable event."""
    work = root / WORK
    work.mkdir(exist_ok=True)
    manifest_path = work / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    events = []
    for relative in _course_files(root):
        source, target, key = root / relative, work / relative, relative.as_posix()
        new = _digest(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            if key in manifest:
                events.append(f"restored {key} (it was missing from {WORK}/)")
        elif manifest.get(key) == new:
            continue  # nothing new from the course
        elif _digest(target) in (manifest.get(key), new):
            shutil.copy2(source, target)  # the student had not changed it: take the update
            if key in manifest:
                events.append(f"updated {key} from the course")
        else:
            update = target.with_name(f"{target.stem}.course-update{target.suffix}")
            shutil.copy2(source, update)
            events.append(f"kept your {key}; the course's new version is {update.relative_to(root)}")
        manifest[key] = new
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return events


def write_student_config(root: Path = ROOT) -> Path:
    """The copy's own Jupyter configuration for student mode; returns its folder."""
    folder = root / STUDENT_CONFIG
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in DISABLED_SERVER_EXTENSIONS}}}
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=2) + "\n")
    page = {"disabledExtensions": {name: True for name in HIDDEN_LAB_PLUGINS}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(page, indent=2) + "\n")
    return folder


def student_environment(root: Path = ROOT, environ=None) -> dict:
    """The environment for a student-mode server: the copy's configuration first on the path."""
    env = dict(os.environ if environ is None else environ)
    folder = str(write_student_config(root))
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [folder, env.get("JUPYTER_CONFIG_PATH")]))
    return env


def lab_command(root: Path, student: bool, extra=(), formgrader_course: Path | None = None) -> list[str]:
    """The ``jupyter lab`` command: student mode in ``root/work``; instructor mode in ``root``
    or, with ``formgrader_course``, in that course folder with its formgrader open."""
    jupyter = [sys.executable, "-m", "jupyter", "lab"]
    allow_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    if student:
        return [*jupyter, *allow_root, f"--ServerApp.root_dir={root / WORK}",
                "--LabApp.default_url=/lab/tree/lectures", *extra]
    where, url = (root, "/lab/tree/lectures") if formgrader_course is None else (
        formgrader_course, "/formgrader")
    return [*jupyter, *allow_root, f"--ServerApp.root_dir={where}", f"--LabApp.default_url={url}",
            f"--ServerApp.jpserver_extensions={FORMGRADER_EXTENSION}=True", *extra]


def instructor_environment(environ=None) -> dict:
    """The environment's ``bin`` first on PATH: nbgrader runs ``alembic`` as a program."""
    env = dict(os.environ if environ is None else environ)
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))
    return env


def course_folder(path: str) -> Path:
    """A folder with an ``nbgrader_config.py`` (SystemExit naming the problem otherwise)."""
    folder = Path(path).expanduser().resolve()
    if not (folder / "nbgrader_config.py").is_file():
        raise SystemExit(f"{folder} is not a course folder (it has no nbgrader_config.py); make one "
                         "with: python tools/new_term.py FOLDER")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--student", action="store_true", help="student mode even in the repository")
    parser.add_argument("--sync-only", action="store_true", help="update work/ and exit")
    parser.add_argument("--formgrader", metavar="COURSE",
                        help="instructor: open the formgrader of this course folder")
    args, extra = parser.parse_known_args(argv)
    if args.formgrader:
        course = course_folder(args.formgrader)
        print(f"Formgrader of {course}: each manually graded cell shows its rubric section; "
              "formulas typeset offline.", flush=True)
        # cwd = the course: the formgrader reads its nbgrader_config.py and gradebook there
        return subprocess.call(lab_command(ROOT, False, extra, formgrader_course=course), cwd=course,
                               env=instructor_environment())
    student = args.student or args.sync_only or is_student_copy()
    if not student:
        print("Instructor mode: the whole repository, every nbgrader panel; the formgrader shows "
              "each cell's rubric.", flush=True)
        return subprocess.call(lab_command(ROOT, False, extra), cwd=ROOT, env=instructor_environment())
    fresh = not (ROOT / WORK / MANIFEST).exists()
    events = sync_work_folder(ROOT)
    print(f"Student mode: your notebooks are in {WORK}/ ({'copied just now' if fresh else 'up to date'}); "
          "course updates never overwrite your changes.", flush=True)
    for line in events:
        print("  " + line, flush=True)
    if args.sync_only:
        return 0
    return subprocess.call(lab_command(ROOT, True, extra), env=student_environment(ROOT))


if __name__ == "__main__":
    sys.exit(main())
