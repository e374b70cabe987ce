"""``TrustedCellMetadata``: every submitted cell's nbgrader metadata comes from the gradebook.

nbgrader identifies cells by the ``nbgrader`` metadata the *submission* carries, and only part
of it is checked: ``OverwriteCells`` restores a locked cell's source, its ``locked`` flag and its
points, but not whether it is a grade, solution or task cell. A student who edits the notebook's
JSON (any text editor does) could then

- turn an autograded test cell into a manually graded one, or a plain cell (it is not graded
  at all), or make nbgrader stop on an "inconsistent checksums" error, which fails the
  notebook and makes ``nbgrader autograde`` exit 1;
- add a cell claiming to be a test cell (a new ``grade_id`` with 100 points), which makes
  nbgrader or the sandbox stop on a cell it does not know;
- write metadata of the wrong type (``"points": "lots"``), which crashes ``OverwriteCells``.

This preprocessor runs first in ``Autograde.sanitize_preprocessors`` (``nbgrader_config.py``).
For every cell of the submission it looks the ``grade_id`` up in the gradebook, where
``generate_assignment`` recorded the release:

- a known ``grade_id``: the cell's nbgrader metadata (grade, solution, locked, task, points)
  and cell type are rewritten from the gradebook, so the rest of the pipeline treats it exactly
  as the released cell (nbgrader then restores a locked cell's source);
- anything else (an unknown ``grade_id``, malformed metadata): the nbgrader metadata is
  removed, and the cell is an ordinary cell of the student's (its code still runs, in the
  sandbox, and is never graded).

Missing cells are put back by :class:`RestoreMissingCells` (nbgrader's
``OverwriteCells.add_missing_cells`` with the cell placed after the nearest earlier cell the
submission still has: nbgrader 0.9.6 looks only at grade and solution cells there and stops with
a KeyError when a deleted test cell follows a locked helper cell). Of several cells
with one ``grade_id`` (a copied cell keeps its metadata) the last counts, as in nbgrader's
``DeduplicateIds``; the others lose their nbgrader metadata entirely (``DeduplicateIds`` leaves
them an empty dict, on which nbgrader 0.9.6's ``add_missing_cells`` stops with a KeyError).

A submitted notebook that is a symbolic link (or sits in a linked folder) is graded as the blank
release: where students can write into the collected folders, a link to another student's
notebook would otherwise be graded as theirs.
"""

from __future__ import annotations

import os
import re

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from autograder.repair import unreadable_reason


class TrustedCellMetadata(NbGraderPreprocessor):
    """Rewrite the nbgrader metadata of every submitted cell from the gradebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        trusted = self._released_cells(info["db_url"], info["notebook"], info["assignment"])
        label = f"{info['assignment']}/{info['notebook']} of {info.get('student', '?')}"
        if not isinstance(nb.get("metadata"), dict):
            nb.metadata = NotebookNode({})
        linked = self._linked(info)
        if linked:
            self.log.error("%s: %s is a symbolic link; graded as the blank release", label, linked)
            nb.cells = self._release_cells(info["db_url"], info["notebook"], info["assignment"])
        elif unreadable_reason(resources) is not None:  # logged by RepairingExporter
            note = [cell for cell in nb.cells if cell.cell_type == "markdown"][:1]
            nb.cells = note + self._release_cells(info["db_url"], info["notebook"], info["assignment"])
        seen = set()
        for index in reversed(range(len(nb.cells))):  # the last copy of a cell counts, as in nbgrader
            cell = nb.cells[index]
            if not isinstance(cell.get("metadata"), dict):
                cell.metadata = NotebookNode({})
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            released = trusted.get(grade_id) if isinstance(grade_id, str) else None
            if released is not None and grade_id in seen:
                self.log.warning("%s: cell %s appears more than once; the last copy counts, "
                                 "cell %d is graded as an ordinary cell", label, grade_id, index)
                del cell.metadata["nbgrader"]
                continue
            seen.add(grade_id)
            if released is None:
                self.log.warning("%s: cell %d carries nbgrader metadata the release does not have "
                                 "(%r); it is graded as an ordinary cell", label, index,
                                 grade_id if isinstance(grade_id, str) else "malformed")
                del cell.metadata["nbgrader"]
                continue
            cell_type, nbgrader_meta = released
            if cell.cell_type != cell_type:
                self.log.warning("%s: cell %s was changed from %s to %s; restored", label,
                                 grade_id, cell_type, cell.cell_type)
                _set_cell_type(cell, cell_type)
            if dict(meta) != nbgrader_meta:
                changed = sorted(k for k in set(meta) | set(nbgrader_meta)
                                 if k != "checksum" and meta.get(k) != nbgrader_meta.get(k))
                if changed:
                    self.log.warning("%s: nbgrader metadata of cell %s was edited (%s); restored",
                                     label, grade_id, ", ".join(changed))
            cell.metadata["nbgrader"] = NotebookNode(dict(nbgrader_meta))
        return nb, resources

    def _linked(self, info) -> str | None:
        """The first symbolic link on the way from the submitted folder to the notebook."""
        coursedir = CourseDirectory(config=self.config)
        top = os.path.normpath(coursedir.format_path(coursedir.submitted_directory, ".", "."))
        folder = coursedir.format_path(coursedir.submitted_directory, info["student"],
                                       info["assignment"])
        path = os.path.normpath(os.path.join(folder, info["notebook"] + ".ipynb"))
        parts = os.path.relpath(path, top).split(os.sep)
        for depth in range(1, len(parts) + 1):
            candidate = os.path.join(top, *parts[:depth])
            if os.path.islink(candidate):
                return candidate
        return None

    @staticmethod
    def _release_cells(db_url: str, notebook: str, assignment: str) -> list:
        """The released notebook's nbgrader cells, rebuilt from the gradebook (a blank answer)."""
        cells = []
        with Gradebook(db_url) as gradebook:
            source = gradebook.find_notebook(notebook, assignment)
            for cell in source.source_cells:
                make = new_code_cell if cell.cell_type == "code" else new_markdown_cell
                new = make(cell.source)
                new.metadata["nbgrader"] = {"grade_id": cell.name}
                cells.append(new)
        return cells

    @staticmethod
    def _released_cells(db_url: str, notebook: str, assignment: str) -> dict:
        """grade_id -> (cell type, nbgrader metadata) of every nbgrader cell of the release."""
        with Gradebook(db_url) as gradebook:
            try:
                source = gradebook.find_notebook(notebook, assignment)
            except MissingEntry:
                return {}
            grades = {cell.name: float(cell.max_score) for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
            tasks = {cell.name: float(cell.max_score) for cell in source.task_cells}
            released = {}
            for cell in source.source_cells:
                meta = {"cell_type": cell.cell_type, "grade": cell.name in grades,
                        "grade_id": cell.name,
                        "locked": bool(cell.locked), "schema_version": 3,
                        "solution": cell.name in solutions}
                if cell.name in grades:
                    meta["points"] = grades[cell.name]
                if cell.name in tasks:
                    meta["task"] = True
                    meta["points"] = tasks[cell.name]
                if cell.checksum:
                    meta["checksum"] = cell.checksum
                released[cell.name] = (cell.cell_type, meta)
            return released


def _set_cell_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


class EscapeStudentMarkup(NbGraderPreprocessor):
    """Render what a student wrote in Markdown as text, never as HTML.

    The formgrader (in the instructor's browser, logged in to Jupyter) and the feedback pages
    render Markdown cells as HTML, and nbgrader's templates do not sanitise them: a written
    answer holding ``<script>`` or ``<img onerror=...>`` would run in the browser of whoever
    opens it. In every Markdown cell the student wrote (a written-answer cell, or a cell that
    is not, word for word, an unlocked Markdown cell of the release) ``&`` and ``<`` are escaped
    and ``javascript:`` links defused, so tags show as text; attachments other than PNG, JPEG
    and GIF images are dropped. Locked cells are restored from the release by nbgrader. Run it
    after :class:`TrustedCellMetadata`, which decides what is locked.
    """

    def preprocess(self, nb, resources):
        released = self._release_markdown(resources["nbgrader"])
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            locked = isinstance(meta, dict) and bool(meta.get("locked"))
            answer = isinstance(meta, dict) and bool(meta.get("solution"))
            if cell.cell_type != "markdown" or locked:
                continue
            if not answer and cell.source in released:
                continue  # the instructor's own text, unchanged
            cell.source = escape_markup(cell.source)
            attachments = cell.get("attachments")
            if isinstance(attachments, dict):
                for name in list(attachments):
                    kinds = attachments[name] if isinstance(attachments[name], dict) else {}
                    if not set(kinds) <= {"image/png", "image/jpeg", "image/gif"}:
                        del attachments[name]
        return nb, resources


    def _release_markdown(self, info) -> set:
        """The sources of the release's Markdown cells (empty if the release is not there)."""
        import nbformat

        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.release_directory, ".",
                                                  info["assignment"]), info["notebook"] + ".ipynb")
        try:
            release = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            return set()
        return {cell.source for cell in release.cells if cell.cell_type == "markdown"}


def escape_markup(text: str) -> str:
    """Markdown with every HTML tag shown as text and ``javascript:`` links defused."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"(?i)(java|vb)script(\s*):", r"\1script\2&#58;", text)


class RestoreMissingCells(OverwriteCells):
    """``OverwriteCells`` whose deleted grade cells go back after the nearest earlier cell of the
    release that the submission still has (any cell with a ``grade_id``: solution, test, locked
    or task), or first when none is left. Task cells go back at the end, as nbgrader does."""

    def add_missing_grade_cells(self, nb: NotebookNode, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        source_ids = [cell.name for cell in source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = {_grade_id(cell): index for index, cell in enumerate(nb.cells)}
            if grade_cell.name in present:
                continue
            self.log.warning(f"Missing grade cell {grade_cell.name} encountered, adding to notebook")
            position = source_ids.index(grade_cell.name)
            earlier = [present[name] for name in source_ids[:position] if name in present]
            cell = self.missing_cell_transform(source_cells[position], grade_cell.max_score,
                                               is_solution=grade_cell.name in solution_ids)
            nb.cells.insert(max(earlier) + 1 if earlier else 0, cell)
        return nb, resources


def _grade_id(cell) -> str | None:
    nbgrader = cell.get("metadata", {}).get("nbgrader")
    return nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
