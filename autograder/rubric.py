"""The manual-grading rubric of a problem set (``solutions/<ps>/rubric.md``), cell by cell.

A rubric is Markdown: a preamble (the set's general grading notes), then one level-2 section per
manually graded cell, whose heading names the cell by its nbgrader ``grade_id`` in backticks,
then its points::

    ## `written_cancellation` (4 points): Part F

Everything up to the next level-2 heading belongs to the section (``###`` subsections, tables,
formulas). A level-2 heading that names no cell is a general note: it joins the preamble.
The formgrader shows each section beside its cell (:mod:`autograder.formgrader_ui`);
``tests/test_rubric.py`` checks that every manually graded cell of every problem set has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RUBRIC_FILE = "rubric.md"
_HEADING = re.compile(r"^##\s+(?!#)(?P<title>.*?)\s*#*\s*$")
_CELL_NAME = re.compile(r"^`(?P<grade_id>[^`\s]+)`(?:\s*\((?P<points>[0-9.]+)\s+points?\))?")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    grade_id: str
    heading: str  # the heading line without its ``##``
    points: float | None  # as the heading states them, None if it states none
    body: str  # Markdown, the heading excluded


@dataclass(frozen=True)
class Rubric:
    preamble: str  # Markdown: the title and general notes
    sections: dict[str, Section] = field(default_factory=dict)


class RubricError(ValueError):
    """A rubric the formgrader cannot match to cells (a cell named twice)."""


def parse_rubric(text: str) -> Rubric:
    """Split a rubric into its preamble and one :class:`Section` per cell it names."""
    preamble: list[str] = []
    sections: dict[str, Section] = {}
    current: tuple[str, str, float | None, list[str]] | None = None
    in_fence = False

    def close() -> None:
        if current is not None:
            grade_id, heading, points, lines = current
            sections[grade_id] = Section(grade_id, heading, points, "\n".join(lines).strip("\n"))

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            close()
            current = None
            named = _CELL_NAME.match(heading.group("title"))
            if named:
                grade_id = named.group("grade_id")
                if grade_id in sections:
                    raise RubricError(f"the rubric has two sections for the cell `{grade_id}`")
                points = float(named.group("points")) if named.group("points") else None
                current = (grade_id, heading.group("title"), points, [])
                continue
        (current[3] if current is not None else preamble).append(line)
    close()
    return Rubric("\n".join(preamble).strip("\n"), sections)


def read_rubric(path: Path) -> Rubric:
    return parse_rubric(Path(path).read_text(encoding="utf-8"))


def manually_graded_cells(nb) -> dict[str, float]:
    """``grade_id -> points`` of the cells a person grades: nbgrader tasks, and answer cells
    that carry points (manually graded answers); autograded test cells are not among them."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("task") or (meta.get("solution") and meta.get("grade")):
            found[meta["grade_id"]] = float(meta.get("points", 0))
    return found


def coverage_problems(nb, rubric: Rubric) -> list[str]:
    """One line per manually graded cell of ``nb`` the rubric does not cover, or covers with
    other points than the cell's; empty when every such cell has its section."""
    problems = []
    for grade_id, points in manually_graded_cells(nb).items():
        section = rubric.sections.get(grade_id)
        if section is None:
            problems.append(f"`{grade_id}` ({points:g} points) has no section: add a heading "
                            f"\"## `{grade_id}` ({points:g} points): ...\"")
        elif section.points is not None and section.points != points:
            problems.append(f"`{grade_id}`: the rubric says {section.points:g} points, "
                            f"the notebook {points:g}")
    return problems
