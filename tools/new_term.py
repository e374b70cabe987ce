"""Create the course folder of one term, outside the repository: student data never lands in git.

    python tools/new_term.py ~/courses/2025-spring --course-id mlp-2025-spring
    python tools/new_term.py ~/courses/2025-spring --copy-solutions   # freeze this term's sets

The folder gets

- ``nbgrader_config.py``: loads the repository's ``nbgrader_config.py`` (the sandbox, the hidden
  checks, feedback settings), then sets this term's ``course_id`` and the file-name pattern of
  your LMS's "download all submissions" archive (for ``nbgrader zip_collect``; Canvas by
  default, Moodle commented out). Term-specific settings go at its end.
- ``solutions``: a symbolic link to the repository's ``solutions/`` (edit a problem set there,
  commit it, and this term grades with it), or with ``--copy-solutions`` a copy (the term keeps
  the version it started with; fix a check in the copy, or copy the repository's again).
- ``README.txt``: the term's commands, in order (docs/instructor.md explains each).
- ``.grading-secret``: a new random secret for this term (readable by you only). The hidden
  checks draw their inputs from it (``autograder.hidden_rng``), so this term's hidden inputs
  differ from every other term's, and detailed feedback from an earlier term tells nothing
  about this one. Keep it for regrades of this term; never publish or commit it (the grader's
  sandbox cannot read it; ``AUTOGRADER_SECRET`` in the environment overrides it).

nbgrader then creates ``gradebook.db``, ``assignments/`` (the term's release), ``submitted/``,
``autograded/``, ``feedback/`` and ``downloaded/`` (LMS archives) in this folder. Back it up;
never commit it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.secret import SECRET_FILE  # noqa: E402

CONFIG = '''"""nbgrader configuration of the term {course_id}: run nbgrader in this folder.

Everything else comes from the course repository's configuration, loaded first.
"""

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
load_subconfig({repo_config!r})  # noqa: F821 - the sandbox, hidden checks, feedback settings

c.CourseDirectory.course_id = {course_id!r}

# nbgrader zip_collect: how your LMS names the files in its "download all submissions" archive.
# Canvas: doejane_12345_6789012_ps1.ipynb (late ones: doejane_LATE_12345_6789012_ps1.ipynb);
# the student id is the first part (Canvas's sortable name without separators).
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/_]+)_(?:LATE_)?\\d+_\\d+_(?P<file_id>[^/]+?)(?:-\\d+)?\\.ipynb$")
# Moodle: "Jane Doe_12345_assignsubmission_file_/ps1.ipynb" (one folder per student):
# c.FileNameCollectorPlugin.named_regexp = (
#     r".*/(?P<first_name>[^/_]+) (?P<last_name>[^/_]+)_(?P<student_id>\\d+)"
#     r"_assignsubmission_file_/(?P<file_id>[^/]+)\\.ipynb$")
c.FileNameCollectorPlugin.valid_ext = [".ipynb"]
c.ZipCollectApp.strict = True  # skip files that are not one of the released notebooks

# Term-specific settings, e.g. late penalties (see nbgrader's LateSubmissionPlugin):
# c.LateSubmissionPlugin.penalty_method = "zero"
'''

README = '''Course folder of the term {course_id} (created by tools/new_term.py; see docs/instructor.md).
Grading data lives here, never in the repository ({repo}).
.grading-secret keys this term's hidden inputs: keep it (regrades need it), never share it.
Release detailed feedback only after the late deadline (docs/instructor.md, "Feedback").

Put {bin} on PATH first (nbgrader runs `alembic`).

  nbgrader db student import roster.csv              # id,first_name,last_name,email
  nbgrader db assignment add ps1 --duedate="2025-03-01 23:59:00 Europe/London"
  nbgrader generate_assignment ps1                   # assignments/ps1: give it to students
  nbgrader zip_collect ps1                           # downloaded/ps1/archive/*.zip -> submitted/
  python -m autograder.parallel ps1            # or: nbgrader autograde ps1
  python {repo}/tools/lab.py --formgrader .   # grade by hand, each cell's rubric beside it
  nbgrader generate_feedback ps1                     # feedback/<student>/ps1/ps1.html
  nbgrader export --exporter=autograder.export.LmsCsvExport --to grades-lms.csv
  nbgrader generate_solution ps1                     # after the deadline: solution/ps1
'''


def write_secret(path: Path) -> None:
    """A fresh 256-bit secret in ``path``, created readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/new_term.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the term's course folder (created)")
    parser.add_argument("--course-id", default=None, help="e.g. mlp-2025-spring (default: the "
                                                          "folder's name)")
    parser.add_argument("--copy-solutions", action="store_true",
                        help="copy solutions/ instead of linking it")
    args = parser.parse_args(argv)
    folder = args.folder.expanduser().resolve()
    if folder == ROOT or ROOT in folder.parents:
        parser.error("the term's folder must be outside the repository (student data is not "
                     "committed)")
    if folder.exists() and any(folder.iterdir()):
        parser.error(f"{folder} exists and is not empty")
    course_id = args.course_id or folder.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(CONFIG.format(
        course_id=course_id, repo_config=str(ROOT / "nbgrader_config.py")))
    if args.copy_solutions:
        shutil.copytree(ROOT / "solutions", folder / "solutions",
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    else:
        (folder / "solutions").symlink_to(ROOT / "solutions", target_is_directory=True)
    write_secret(folder / SECRET_FILE)
    (folder / "README.txt").write_text(README.format(
        course_id=course_id, repo=ROOT, bin=Path(sys.executable).parent))
    print(f"Term folder {folder} created (course id {course_id!r}); next steps in "
          f"{folder / 'README.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
