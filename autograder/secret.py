"""Hidden inputs that differ per course and term: random generators keyed by a course secret.

A check that draws its inputs from a fixed seed hands the same inputs to every student of every
term, so one student's detailed feedback tells classmates (and next year's class) what the hidden
checks ask. ``hidden_rng(label)`` instead seeds NumPy's generator from a secret the instructor
keeps out of the released files, and the check's own ``label``:

- the environment variable ``AUTOGRADER_SECRET``, if set; else
- the file ``.grading-secret`` in the course folder (``tools/new_term.py`` writes a new one for
  each term; ``.gitignore`` keeps it out of git); else
- no secret: a fixed, documented default (the course repository's own tests grade that way).

The same secret and label always give the same inputs, so a regrade reproduces every mark.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = ["hidden_rng", "course_secret", "SECRET_FILE", "SECRET_VARIABLE"]

SECRET_VARIABLE = "AUTOGRADER_SECRET"
SECRET_FILE = ".grading-secret"


def course_secret(course_root: str | os.PathLike | None = None) -> str:
    """The course's secret: ``$AUTOGRADER_SECRET``, else ``<course>/.grading-secret``, else ''."""
    value = os.environ.get(SECRET_VARIABLE)
    if value:
        return value
    root = Path(course_root) if course_root is not None else Path.cwd()
    try:
        return (root / SECRET_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def hidden_rng(label: str, course_root: str | os.PathLike | None = None) -> np.random.Generator:
    """A generator for the hidden inputs of the check ``label`` (any string naming the draw)."""
    if not isinstance(label, str) or not label:
        raise TypeError("hidden_rng needs a non-empty label naming the draw, e.g. 'test_central'")
    digest = hashlib.sha256(f"{course_secret(course_root)}\0{label}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
