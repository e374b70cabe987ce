"""Autograding outside the student's kernel: the verdict is decided where student code never ran.

- :mod:`mlpkit.autograde.checking`   what a problem set's ``checks.py`` uses: :func:`check`,
  :class:`BlackBox`, :class:`CheckFailed`, the ``student`` proxy.
- :mod:`mlpkit.autograde.preprocessor` :class:`SandboxAutograde`, the nbgrader preprocessor that
  replaces the in-kernel ``Execute`` step of ``nbgrader autograde`` (``nbgrader_config.py``).
- :mod:`mlpkit.autograde.runner`      the grader's side of the sandbox (processes, deadlines).
- ``_sandbox.py``, ``confine.py``, ``wire.py``: the sandbox program, its confinement (Landlock,
  resource limits) and the plain-data wire format.

How to write a problem set for it: ``docs/dev/grading-format.md``.
"""

from mlpkit.autograde.checking import BlackBox, CheckFailed, Student, check, load_checks

__all__ = ["BlackBox", "CheckFailed", "Student", "check", "load_checks"]
