"""Build bank submissions from the released notebook and the model solution (no notebook copies
are committed, so the bank can never drift from the problem set).

A submission = the release notebook, every answer cell filled with the model solution's code
(the source cell without its ``### BEGIN/END SOLUTION`` lines), then the entry's replacements,
then its deletions, then its ``edits`` (operations on cells: :class:`AddCell`, :class:`MoveCell`,
:class:`SetSource`, :class:`SetMetadata`, :class:`SetCellType`; entries without ``edits`` are
unaffected). ``files`` (optional) are extra files or symbolic links written into the submission
folder next to the notebook. ``messages`` (optional) maps a test cell the entry loses to the key
phrase its failure message must contain (the cause the check must name):
:func:`missing_phrases` compares them with the graded notebook.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

HERE = Path(__file__).resolve().parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def load_bank(assignment: str):
    """The ``BANK`` dict of ``tests/submissions/<assignment>/bank.py`` (``assignment`` may be a
    sub-folder, e.g. ``adversarial/ps1``)."""
    path = HERE / assignment / "bank.py"
    spec = importlib.util.spec_from_file_location(f"bank_{assignment.replace('/', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.BANK


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_answers(source_nb) -> dict[str, str]:
    """The model answer of every code answer cell, solution markers removed."""
    answers = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if line.strip() not in MARKERS]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


# --------------------------------------------------------------------------- cell edits
# ``where``/``after`` name a cell by grade_id, or "start" / "end" of the notebook.


@dataclass(frozen=True)
class AddCell:
    """Insert a new cell after ``after``; ``nbgrader`` (if given) becomes its nbgrader metadata."""

    after: str
    source: str
    cell_type: str = "code"
    nbgrader: dict | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MoveCell:
    """Move the cell ``grade_id`` so it follows ``after``."""

    grade_id: str
    after: str


@dataclass(frozen=True)
class SetSource:
    """Replace the source of any cell (a locked test cell too: what a text editor can do)."""

    grade_id: str
    source: str


@dataclass(frozen=True)
class SetMetadata:
    """Update (``None`` values delete keys) or, with ``replace``, set the cell's nbgrader metadata
    (``replace=True`` with ``nbgrader=None`` removes it)."""

    grade_id: str
    nbgrader: dict | None = None
    replace: bool = False


@dataclass(frozen=True)
class SetCellType:
    grade_id: str
    cell_type: str


def _index(cells, name: str) -> int:
    if name == "start":
        return -1
    if name == "end":
        return len(cells) - 1
    for index, cell in enumerate(cells):
        if grade_id(cell) == name:
            return index
    raise KeyError(f"bank entry names a cell the notebook does not have: {name!r}")


def apply_edit(cells: list, edit, course_root: str = "") -> None:
    """Apply one cell edit to the list ``cells`` in place."""
    if isinstance(edit, AddCell):
        source = edit.source.strip("\n").replace("{course_root}", course_root)
        make = new_code_cell if edit.cell_type == "code" else new_markdown_cell
        cell = make(source)
        cell.metadata.update(copy.deepcopy(edit.metadata))
        if edit.nbgrader is not None:
            cell.metadata["nbgrader"] = copy.deepcopy(edit.nbgrader)
        cells.insert(_index(cells, edit.after) + 1, cell)
    elif isinstance(edit, MoveCell):
        cell = cells.pop(_index(cells, edit.grade_id))
        cells.insert(_index(cells, edit.after) + 1, cell)
    elif isinstance(edit, SetSource):
        cells[_index(cells, edit.grade_id)].source = edit.source.strip("\n").replace(
            "{course_root}", course_root)
    elif isinstance(edit, SetMetadata):
        cell = cells[_index(cells, edit.grade_id)]
        if edit.replace:
            cell.metadata.pop("nbgrader", None)
            if edit.nbgrader is not None:
                cell.metadata["nbgrader"] = copy.deepcopy(edit.nbgrader)
        else:
            for key, value in (edit.nbgrader or {}).items():
                if value is None:
                    cell.metadata["nbgrader"].pop(key, None)
                else:
                    cell.metadata["nbgrader"][key] = value
    elif isinstance(edit, SetCellType):
        cell = cells[_index(cells, edit.grade_id)]
        cell.cell_type = edit.cell_type
        if edit.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    else:
        raise TypeError(f"unknown cell edit {edit!r}")


def expected_phrases(submission) -> dict[str, str]:
    """``{grade_id: key phrase}`` the entry's failure messages must contain (may be empty)."""
    phrases = dict(getattr(submission, "messages", None) or {})
    stray = set(phrases) - set(getattr(submission, "lost", ()))
    if stray:
        raise KeyError(f"bank entry expects messages from cells it does not lose: {sorted(stray)}")
    return phrases


def missing_phrases(submission, output_of) -> dict[str, str]:
    """The expected phrases absent from the graded cells: ``output_of(grade_id)`` gives a cell's
    text (its outputs in the autograded notebook). Empty when every message names its cause."""
    return {grade_id: phrase for grade_id, phrase in expected_phrases(submission).items()
            if phrase not in output_of(grade_id)}


def build(release_nb, source_nb, submission, course_root: str = ""):
    """One submitted notebook for ``submission`` (a bank entry)."""
    expected_phrases(submission)  # raises on phrases for cells the entry does not lose
    nb = copy.deepcopy(release_nb)
    answers = solution_answers(source_nb)
    answers.update({key: value.strip("\n").replace("{course_root}", course_root)
                    for key, value in submission.answers.items()})
    unknown = set(submission.answers) - set(answers) | set(submission.delete) - {
        grade_id(cell) for cell in nb.cells}
    if unknown:
        raise KeyError(f"bank entry names cells the notebook does not have: {sorted(unknown)}")
    cells = []
    for cell in nb.cells:
        if grade_id(cell) in submission.delete:
            continue
        if grade_id(cell) in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[grade_id(cell)]
        cells.append(cell)
    for edit in getattr(submission, "edits", ()):
        apply_edit(cells, edit, course_root)
    nb.cells = cells
    return nb


def write_files(folder: Path, files: dict, course_root: str = "") -> None:
    """Extra files in a submission folder: ``name -> text``, or ``name -> ("symlink", target)``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        if isinstance(content, tuple) and content[0] == "symlink":
            os.symlink(content[1].replace("{course_root}", course_root), path)
        else:
            path.write_text(content.replace("{course_root}", course_root))


def write_submissions(bank: dict, release_path: Path, source_path: Path, submitted_dir: Path,
                      assignment: str, course_root: str = "", include=None) -> list[str]:
    """Write ``submitted/<name>/<assignment>/<notebook>`` for each bank entry; return the names."""
    release_nb = nbformat.read(release_path, as_version=4)
    source_nb = nbformat.read(source_path, as_version=4)
    names = []
    for name, submission in bank.items():
        if include is not None and not include(submission):
            continue
        folder = submitted_dir / name / assignment
        folder.mkdir(parents=True, exist_ok=True)
        notebook = build(release_nb, source_nb, submission, course_root)
        raw = getattr(submission, "raw", None)
        if raw is not None:  # the notebook file as text, edited by hand (possibly invalid JSON)
            (folder / release_path.name).write_text(raw(nbformat.writes(notebook)))
        else:
            nbformat.write(notebook, folder / release_path.name)
        write_files(folder, getattr(submission, "files", {}), course_root)
        names.append(name)
    return names
