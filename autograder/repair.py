"""``RepairingExporter``: every submitted notebook is read, repaired or graded 0, never a crash.

nbgrader reads a submission with ``nbformat.read``. A file that is valid JSON but not valid
nbformat (what a text editor, a merge tool or another notebook program can leave) then either
stops ``nbgrader autograde`` for that student (a cell ``source`` that is a nested list, an
output that is not an object, ``cells`` that is not a list, a version nbformat does not know),
making the run exit 1, or loses marks later (an invalid cell id). In ``nbgrader_config.py``
this exporter takes the place of nbgrader's for ``Autograde`` and reads the file itself:

- what is safe to repair is repaired, and each repair is named in ONE log line per notebook:
  a source that is a number, ``null`` or a (nested) list of lines becomes text; outputs are
  dropped (``ClearOutput`` drops them anyway: the grader runs the cells itself); a missing,
  invalid or duplicate cell id gets a fresh one; an unknown cell type becomes a raw cell;
  cells that are not objects are dropped; ``cells`` given as an object keyed by position
  becomes a list; a cell's or the notebook's metadata that is not an object is emptied;
  nbformat 4.0 to 4.4 (and a later 4.x) are read as 4.5, the version the course uses, and a
  v3 notebook is upgraded. Locked and test cells come from the release anyway and answers are
  matched by grade id (``TrustedCellMetadata``), so none of this changes a mark;
- a file that cannot be read (not JSON, truncated, not a notebook, nbformat 1, 2 or 5+, no
  usable cells) is graded as the blank release with every autograded cell 0, and the reason
  is written into each test cell's output (the student's feedback) and logged once.

Which notebooks could not be read is kept in this process (``UNREADABLE``), never in the
notebook, so a student cannot claim it.
"""

from __future__ import annotations

import json
import re
import uuid

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat import NotebookNode

__all__ = ["RepairingExporter", "repair", "unreadable_reason", "UNREADABLE"]

UNREADABLE: dict[tuple, str] = {}  # (assignment, student, notebook) -> why it could not be read
CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
MAX_DEPTH = 50
CELL_KEYS = {"code": ("id", "cell_type", "metadata", "source", "outputs", "execution_count"),
             "markdown": ("id", "cell_type", "metadata", "source", "attachments"),
             "raw": ("id", "cell_type", "metadata", "source", "attachments")}


class Unreadable(Exception):
    """The file is not a notebook the grader can read; the message says why, for a student."""


def key_of(resources) -> tuple | None:
    info = (resources or {}).get("nbgrader") or {}
    if not all(k in info for k in ("assignment", "student", "notebook")):
        return None
    return (info["assignment"], info["student"], info["notebook"])


def unreadable_reason(resources) -> str | None:
    """Why the notebook being converted could not be read (None: it was read)."""
    key = key_of(resources)
    return UNREADABLE.get(key) if key is not None else None


def _text(value, depth: int = 0) -> str:
    """A cell source as text: strings as they are, (nested) lists joined, numbers written out."""
    if isinstance(value, str):
        return value
    if value is None or depth > MAX_DEPTH:
        return ""
    if isinstance(value, list):
        return "".join(_text(item, depth + 1) for item in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return ""


def repair(data) -> tuple[NotebookNode, list[str]]:
    """A valid nbformat 4.5 notebook from the parsed JSON ``data`` and the repairs made.
    Raises :class:`Unreadable` when nothing sensible can be made of it."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise Unreadable(f"the file holds a JSON {type(data).__name__}, not a notebook")
    major, minor = data.get("nbformat"), data.get("nbformat_minor")
    if major == 3 and isinstance(data.get("worksheets"), list):
        try:
            node = nbformat.reads(json.dumps(data), as_version=4)
            data = json.loads(nbformat.writes(node, version=4))
            problems.append("upgraded from nbformat 3")
        except Exception as exc:  # noqa: BLE001 - any failure: the file cannot be read
            raise Unreadable(f"it is an nbformat 3 notebook that cannot be converted ({exc})"[:300]) from None
    elif major != 4:
        if not (isinstance(major, int) and major > 4 and isinstance(data.get("cells"), (list, dict))):
            raise Unreadable(f"it says nbformat {str(major)[:20]}; the course's notebooks are "
                             "nbformat 4")
        problems.append(f"claims nbformat {major}; its cells read as nbformat 4")
    if major != 3 and minor != 5:
        problems.append(f"read nbformat 4.{minor!r} as 4.5")
    cells = data.get("cells")
    if isinstance(cells, dict):
        try:
            ordered = sorted(cells.items(), key=lambda item: int(item[0]))
        except (TypeError, ValueError):
            ordered = list(cells.items())
        cells = [cell for _, cell in ordered]
        problems.append("cells given as an object, read in order")
    if not isinstance(cells, list):
        raise Unreadable("its 'cells' is not a list of cells")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        problems.append("notebook metadata was not an object")
    for key in ("kernelspec", "language_info"):
        if key in metadata and not _valid_metadata_entry(key, metadata[key]):
            del metadata[key]
            problems.append(f"invalid {key} removed")
    seen: set[str] = set()
    repaired = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            problems.append(f"cell {index} is not an object (dropped)")
            continue
        kind = cell.get("cell_type")
        if kind not in CELL_KEYS:
            problems.append(f"cell {index} has cell type {str(kind)[:20]!r} (made raw)")
            kind = "raw"
        new = {"cell_type": kind}
        source = cell.get("source")
        new["source"] = _text(source)
        if not isinstance(source, str) and not _is_list_of_str(source):
            problems.append(f"cell {index} source was a {type(source).__name__}")
        meta = cell.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
            problems.append(f"cell {index} metadata was not an object")
        new["metadata"] = meta
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not CELL_ID.match(cell_id) or cell_id in seen:
            what = "duplicate" if isinstance(cell_id, str) and cell_id in seen else (
                "missing" if cell_id is None else "invalid")
            cell_id = _fresh_id(seen)
            problems.append(f"cell {index} id {what}")
        seen.add(cell_id)
        new["id"] = cell_id
        if kind == "code":
            outputs = cell.get("outputs")
            if outputs not in (None, []) and not _valid_outputs(outputs):
                problems.append(f"cell {index} outputs malformed (dropped)")
            new["outputs"] = []  # the grader runs every cell itself; ClearOutput drops them too
            new["execution_count"] = None
        elif isinstance(cell.get("attachments"), dict):
            new["attachments"] = cell["attachments"]
        repaired.append(new)
    if not repaired:
        raise Unreadable("it has no cells")
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": repaired}
    node = nbformat.from_dict(notebook)
    try:
        nbformat.validate(node)
    except Exception:  # noqa: BLE001 - what is left (attachments, metadata) is not needed
        for cell in node.cells:
            cell.pop("attachments", None)
        node.metadata = NotebookNode({})
        problems.append("invalid attachments or metadata dropped")
        try:
            nbformat.validate(node)
        except Exception as exc:  # noqa: BLE001
            raise Unreadable(f"it is not a valid notebook ({str(exc).splitlines()[0][:200]})") from None
    return node, problems


def _is_list_of_str(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _valid_outputs(outputs) -> bool:
    return isinstance(outputs, list) and all(isinstance(o, dict) and isinstance(o.get("output_type"), str)
                                             for o in outputs)


def _valid_metadata_entry(key: str, value) -> bool:
    if not isinstance(value, dict):
        return False
    if key == "kernelspec":
        return isinstance(value.get("name"), str) and isinstance(value.get("display_name"), str)
    return isinstance(value.get("name"), str)


def _fresh_id(seen: set) -> str:
    while True:
        cell_id = uuid.uuid4().hex[:8]
        if cell_id not in seen:
            return cell_id


def read_submission(raw: bytes) -> tuple[NotebookNode, list[str]]:
    """Parse and repair a submitted file (:class:`Unreadable` if it cannot be read)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("the file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise Unreadable("the file's JSON is nested too deeply") from None
    except ValueError as exc:
        raise Unreadable(f"the file is not valid JSON (truncated or edited by hand?): {exc}"[:300]) from None
    return repair(data)


def blank_notebook(reason: str) -> NotebookNode:
    """What is graded in place of an unreadable file: one note; the release's cells are put
    back by ``TrustedCellMetadata``."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    return new_notebook(cells=[new_markdown_cell(
        f"**The grader could not read this notebook file**: {reason}. Every autograded cell "
        "scores 0. Ask your instructor before resubmitting.")])


class RepairingExporter(NotebookExporter):
    """nbgrader's notebook exporter, reading every submission through :func:`read_submission`."""

    def from_filename(self, filename, resources=None, **kw):
        with open(filename, "rb") as handle:
            raw = handle.read()
        key = key_of(resources)
        try:
            nb, problems = read_submission(raw)
        except Unreadable as exc:
            reason = str(exc)
            if key is not None:
                UNREADABLE[key] = reason
            self.log.error("%s: the notebook file cannot be read (%s); graded 0",
                           "/".join(map(str, key)) if key else filename, reason)
            nb = blank_notebook(reason)
        else:
            if problems:
                self.log.warning("%s: notebook repaired before grading (no mark depends on it): %s",
                                 "/".join(map(str, key)) if key else filename, "; ".join(problems[:20]))
        return self.from_notebook_node(nb, resources=resources, **kw)
