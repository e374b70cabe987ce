"""Attack bank: notebook files that are valid JSON (or not even that) but not valid nbformat.

One entry per malformation. Each hands in the model solution, then edits the file as text
(``raw``: what a text editor, a merge tool or another notebook program can do). What can be
repaired safely keeps every mark (locked and test cells come from the release; answers are
matched by grade id); what cannot be read scores 0 with the reason in each test cell's output
(the student's feedback) and one log line; no entry may stop the run or another student's
grading. Graded with the ``adversarial/ps1`` bank in one ``nbgrader autograde`` run
(tests/test_adversarial.py); entries are named ``malformed_*``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/submissions/adversarial
from shared import build, ps1_bank  # noqa: E402

PS1 = ps1_bank()
Submission, TESTS = PS1.Submission, PS1.TESTS
SetMetadata, MoveCell, AddCell = build.SetMetadata, build.MoveCell, build.AddCell
UNREADABLE = "could not read your notebook file"

BANK: dict[str, Submission] = {}


def add(name: str, *, unreadable: bool = False, **kwargs) -> None:
    assert name not in BANK, name
    if unreadable:
        kwargs.setdefault("lost", tuple(sorted(TESTS)))
        kwargs.setdefault("evidence", {"test_forward_difference": [UNREADABLE],
                                       "test_recursion_numerical": [UNREADABLE]})
    BANK[name] = Submission(category="malformed notebook", **kwargs)


def edit_json(change):
    """A ``raw`` edit: parse the notebook's JSON, ``change(data)`` in place, write it back."""
    def raw(text: str) -> str:
        data = json.loads(text)
        change(data)
        return json.dumps(data, indent=1)
    return raw


def cell(data, grade_id):
    for candidate in data["cells"]:
        if candidate.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return candidate
    raise KeyError(grade_id)


def _source_types(data):
    cell(data, "answer_forward_difference")["source"] = [
        [line] for line in "".join(cell(data, "answer_forward_difference")["source"]).splitlines(True)]
    cell(data, "answer_central_difference")["source"] = [
        ["".join(cell(data, "answer_central_difference")["source"])], []]
    markdown = [c for c in data["cells"] if c["cell_type"] == "markdown"]
    markdown[0]["source"] = 12345
    markdown[1]["source"] = None
    markdown[2]["source"] = {"text": "a dict"}


add("malformed_sources", description="sources that are not text: answer cells as nested lists "
    "of lines, Markdown cells whose source is a number, null or an object",
    raw=edit_json(_source_types))


def _outputs(data):
    codes = [c for c in data["cells"] if c["cell_type"] == "code"]
    codes[0]["outputs"] = [5, {"output_type": "weird"}]
    codes[1]["outputs"] = "not a list"
    codes[2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": 7}]
    codes[3]["execution_count"] = "many"


add("malformed_outputs", description="outputs that are a number, an unknown output type, a "
    "string instead of a list, a stream whose text is a number; an execution count as text",
    raw=edit_json(_outputs))


def _ids(data):
    cells = data["cells"]
    del cells[0]["id"]
    cells[1]["id"] = "not a valid id!"
    cells[2]["id"] = cells[3]["id"]
    cells[4]["id"] = 42
    cells[5]["id"] = "x" * 100


add("malformed_cell_ids", description="cell ids missing, invalid (spaces, too long, a number) "
    "and duplicated", raw=edit_json(_ids))


def _old_minor(data):
    data["nbformat_minor"] = 2
    for c in data["cells"]:
        c.pop("id", None)


add("malformed_old_minor_version", description="nbformat 4.2 (no cell ids), as an old "
    "Jupyter writes it", raw=edit_json(_old_minor))


def _future_versions(data):
    data["nbformat"], data["nbformat_minor"] = 5, 99
    data["cells"][0]["future_field"] = {"x": 1}


add("malformed_future_version", description="claims nbformat 5.99 with a field nbformat 4 does "
    "not know, the cells otherwise as nbformat 4", raw=edit_json(_future_versions))


def _version_3(text: str) -> str:
    import nbformat

    return nbformat.writes(nbformat.reads(text, as_version=4), version=3)


add("malformed_nbformat_3", description="the notebook saved as nbformat 3 (worksheets)",
    raw=_version_3)


def _version_2(data):
    data["nbformat"] = 2
    data["worksheets"] = [{"cells": data.pop("cells")}]


add("malformed_nbformat_2", description="claims nbformat 2 with its cells in worksheets: not a "
    "version the grader reads", raw=edit_json(_version_2), unreadable=True)


def _cells_object(data):
    data["cells"] = {str(index): c for index, c in enumerate(data["cells"])}


add("malformed_cells_object", description="'cells' is an object keyed by position instead of "
    "a list", raw=edit_json(_cells_object))


def _cells_text(data):
    data["cells"] = "".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                            for c in data["cells"])


add("malformed_cells_text", description="'cells' is one string (every source joined)",
    raw=edit_json(_cells_text), unreadable=True)


add("malformed_truncated", description="the file cut in the middle (an interrupted upload)",
    raw=lambda text: text[: len(text) // 2], unreadable=True)

add("malformed_not_a_notebook", description="a JSON list, not a notebook object",
    raw=lambda text: json.dumps([json.loads(text)]), unreadable=True)

add("malformed_not_utf8", description="the notebook re-encoded as UTF-16",
    raw=lambda text: text.encode("utf-16").decode("latin-1"), unreadable=True)


def _strays(data):
    cell(data, "answer_complex_step")["metadata"]["nbgrader"]["points"] = "lots"
    cell(data, "answer_gradient_central")["metadata"] = "nope"
    data["cells"][7]["cell_type"] = "heading"
    data["cells"].insert(3, "a string where a cell should be")
    data["cells"].insert(5, 17)
    data["metadata"] = ["not", "an", "object"]


add("malformed_stray_values", description="cells that are a string and a number, a cell type "
    "nbformat 4 does not have, notebook metadata that is a list, an answer cell's metadata that "
    "is a string and one whose points are text", raw=edit_json(_strays),
    # answer_gradient_central lost its grade id: its code still runs as an ordinary cell, and
    # the grader's cells count as always (no mark is lost)
    )

add("malformed_grade_metadata", description="an answer cell's nbgrader metadata removed, a "
    "test cell's grade id renamed and another's points raised to 100",
    edits=(SetMetadata("answer_central_difference", None, replace=True),
           SetMetadata("test_complex_step", {"grade_id": "test_complex_step_renamed"}),
           SetMetadata("test_forward_difference", {"points": 100})))

add("malformed_duplicated_reordered", description="the forward-difference answer cell "
    "duplicated with a wrong body above the right one, and a test cell moved below the next",
    edits=(AddCell("start", "def forward_difference(f, x, h):\n    return 0.0",
                   nbgrader={"grade": False, "solution": True, "locked": False,
                             "grade_id": "answer_forward_difference", "schema_version": 3}),
           MoveCell("test_recursion_value", "test_recursion_derivative")))
