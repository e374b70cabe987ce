"""Build bank submissions from the released notebook and the model solution (no notebook copies
are committed, so the bank can never drift from the problem set).

A submission = the release notebook, every answer cell filled with the model solution's code
(the source cell without its ``### BEGIN/END SOLUTION`` lines), then the entry's replacements.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def load_bank(assignment: str):
    """The ``BANK`` dict of ``tests/submissions/<assignment>/bank.py``."""
    path = HERE / assignment / "bank.py"
    spec = importlib.util.spec_from_file_location(f"bank_{assignment}", path)
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


def build(release_nb, source_nb, submission, course_root: str = ""):
    """One submitted notebook for ``submission`` (a bank entry)."""
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
    nb.cells = cells
    return nb


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
        nbformat.write(build(release_nb, source_nb, submission, course_root),
                       folder / release_path.name)
        names.append(name)
    return names
