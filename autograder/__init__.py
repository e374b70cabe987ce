"""Autograding outside the student's kernel: the verdict is decided where student code never ran.

- :mod:`autograder.checking`   what a problem set's ``checks.py`` uses: :func:`check`,
  :class:`BlackBox`, :class:`CheckFailed`, the ``student`` proxy.
- :mod:`autograder.preprocessor` :class:`SandboxAutograde`, the nbgrader preprocessor that
  replaces the in-kernel ``Execute`` step of ``nbgrader autograde`` (``nbgrader_config.py``).
- :mod:`autograder.secret`      :func:`hidden_rng`: hidden inputs keyed by a per-term course secret.
- :mod:`autograder.runner`      the grader's side of the sandbox (processes, deadlines).
- :mod:`autograder.isolation`   what keeps a check's hidden inputs inside the check.
- ``_sandbox.py``, ``confine.py``, ``seccomp.py``, ``processes.py``, ``wire.py``: the sandbox
  program, its confinement (Landlock, capabilities, resource limits; the seccomp filter), the
  zygote's view of its processes (sweep, freeze, thaw) and the plain-data wire format.
- :mod:`autograder.repair`      ``RepairingExporter``: every submission read, repaired where
  safe, or graded 0 with the reason (never a crash of the run).
- :mod:`autograder.sanitize`    ``TrustedCellMetadata`` and ``EscapeStudentMarkup``, run
  before grading: cell metadata from the gradebook, students' Markdown shown as text.
- :mod:`autograder.feedback`    ``HiddenCheckFeedback``: feedback with or without the hidden
  checks' details.
- :mod:`autograder.export`      ``LmsCsvExport``: grades for an LMS, one row per student.
- :mod:`autograder.parallel`    ``python -m autograder.parallel``: a large class graded on a
  Dask cluster (a local one by default), written into one gradebook.
- :mod:`autograder.mathjax`     MathJax from the course's own files (feedback pages offline).
- :mod:`autograder.rubric`      each problem set's ``rubric.md`` split into one section per
  manually graded cell.
- :mod:`autograder.formgrader_ui` the instructor's formgrader server extension: offline maths and
  the rubric beside each manually graded cell (``make formgrader COURSE=...``).

Learners check their own notebook with ``python -m autograder.selfcheck`` (docs/self-study.md);
instructors read docs/instructor.md.

How to write a problem set for it: ``docs/dev/grading-format.md``.
"""

from autograder.checking import BlackBox, CheckFailed, Student, check, load_checks
from autograder.secret import hidden_rng

__all__ = ["BlackBox", "CheckFailed", "Student", "check", "load_checks", "hidden_rng"]
