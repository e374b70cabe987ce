"""nbgrader configuration of the course (run nbgrader from this folder, with .venv/bin on PATH).

Autograding runs every submission in a confined sandbox and decides each autograded test cell
with grader-side checks (solutions/<ps>/checks.py), never inside the student's kernel, where
student code could forge the verdict. See docs/dev/grading-format.md.
"""

from pathlib import Path

import nbgrader
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.feedback import HiddenCheckFeedback
from autograder.mathjax import TEMPLATES, FeedbackExporter, LocalMathJax
from autograder.preprocessor import SandboxAutograde
from autograder.repair import RepairingExporter
from autograder.sanitize import EscapeStudentMarkup, RestoreMissingCells, TrustedCellMetadata

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# Grader-only files in solutions/<ps>/: the hidden checks and the manual-grading rubric.
# Never copied into the release, nor into the autograded folders.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "checks.py",
    "rubric.md",
]

# Every submission is read through RepairingExporter: a file that is valid JSON but not valid
# nbformat is repaired where that is safe (one log line says what), and a file that cannot be
# read is graded 0 with the reason in the student's feedback. No student is ever left ungraded
# and the run goes on for the others.
c.Autograde.exporter_class = RepairingExporter

# A deleted test cell is put back (and graded) instead of scoring 0 and needing a manual grade.
c.RestoreMissingCells.add_missing_cells = True

# Before anything else reads a submission's cell metadata, it is rewritten from the gradebook:
# a student who edits the notebook's JSON cannot turn a test cell into an ungraded or manually
# graded one, add a test cell of their own, or make nbgrader stop on malformed metadata. What a
# student writes in Markdown is then shown as text in the formgrader and feedback, never run as
# HTML/JavaScript in the reader's browser.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    TrustedCellMetadata,
    EscapeStudentMarkup,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreMissingCells,
    CheckCellMetadata,
]

# `nbgrader validate` (the student's Validate button) still runs the notebook in a kernel.
c.Execute.timeout = 60

# `nbgrader autograde`: the sandbox replaces the in-kernel Execute step.
c.Autograde.autograde_preprocessors = [
    SandboxAutograde,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Every wait has an overall deadline: a cell, a check and the whole notebook (replays after a
# crash included). Worst case for one notebook (docs/instructor.md, "How long one notebook can
# take"): notebook_timeout + 11 s of clean-up.
c.SandboxAutograde.cell_timeout = 30  # seconds per code cell
c.SandboxAutograde.check_timeout = 10  # seconds per graded check
c.SandboxAutograde.notebook_timeout = 600  # seconds per notebook, all cells and checks
c.SandboxAutograde.memory_mb = 2048
# Refuse to grade on a machine without Landlock (Linux >= 5.13): grade in a Linux container
# there. False grades anyway, with student code unconfined (a warning is logged).
c.SandboxAutograde.require_confinement = True

# `nbgrader generate_feedback`: True shows each hidden check's message (its inputs and expected
# value), as nbgrader shows hidden tests; False keeps only the verdict and the kind of failure.
# Per run: nbgrader generate_feedback ps1 --HiddenCheckFeedback.show_details=False
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HiddenCheckFeedback,
                                    LocalMathJax]
c.HiddenCheckFeedback.show_details = True
# Feedback pages typeset formulas offline: MathJax from feedback/mathjax/ (copied there once),
# through nbgrader's feedback template with that one change (autograder/templates/), whether
# `nbgrader generate_feedback` or the formgrader's "Generate Feedback" button writes them. The
# settings go to GenerateFeedback's own exporter class: HTMLExporter's are global (the
# formgrader's grading page and other exports read them) and the button resets its template.
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = "course_feedback"
c.FeedbackExporter.template_file = "course_feedback.html.j2"
c.FeedbackExporter.extra_template_basedirs = [
    str(TEMPLATES),
    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]
