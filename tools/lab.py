"""Open the course in JupyterLab: `make lab` runs this.

    python tools/lab.py                # instructor mode in the full repository, student mode in a copy
    python tools/lab.py --student      # student mode anywhere (what a student copy does)
    python tools/lab.py --sync-only    # student mode: bring the work folder up to date, start nothing

Instructor mode (the repository, where ``solutions/`` exists) opens the repository as it is, with
every nbgrader panel.

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


def lab_command(root: Path, student: bool, extra=()) -> list[str]:
    jupyter = [sys.executable, "-m", "jupyter", "lab"]
    allow_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    where = root / WORK if student else root
    return [*jupyter, *allow_root, f"--ServerApp.root_dir={where}",
            "--LabApp.default_url=/lab/tree/lectures", *extra]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--student", action="store_true", help="student mode even in the repository")
    parser.add_argument("--sync-only", action="store_true", help="update work/ and exit")
    args, extra = parser.parse_known_args(argv)
    student = args.student or args.sync_only or is_student_copy()
    if not student:
        print("Instructor mode: the whole repository, every nbgrader panel.", flush=True)
        return subprocess.call(lab_command(ROOT, False, extra))
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
