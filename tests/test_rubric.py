"""Rubrics cell by cell (autograder/rubric.py) and the grading page that shows them
(autograder/formgrader_ui.py, autograder/templates/course_formgrade/), rendered without a server.

Every manually graded cell of every problem set has its section in ``solutions/<ps>/rubric.md``
with the cell's points; the page puts each section right after its cell, loads MathJax from the
local server and never from a CDN. The same page in a browser: tests/test_formgrader_ui.py.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from autograder import formgrader_ui, mathjax
from autograder.rubric import (
    RubricError,
    coverage_problems,
    manually_graded_cells,
    parse_rubric,
    read_rubric,
)

ROOT = Path(__file__).resolve().parents[1]
PROBLEM_SETS = sorted(path.name for path in (ROOT / "solutions").glob("ps*") if path.is_dir())
LOCAL_MATHJAX = "/static/jupyter_server_mathjax/MathJax.js"

EXAMPLE = """# PS9 rubric

General notes.

## `written_one` (4 points): Part F

| points | criterion |
|---|---|
| 1 | first |

### Watch for
a subsection stays in its section

```
## `not_a_heading` (1 point): inside a code fence
```

## Marking conventions

a level-2 heading naming no cell is a general note

## `task_two` (2.5 points) ##
body two
## `no_points`: a heading without points
body three
"""


def _cell(kind, grade_id, **flags):
    cell = new_markdown_cell("text") if kind == "markdown" else new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": False, "solution": False,
                                 "locked": False, "schema_version": 3, **flags}
    return cell


def _notebook():
    return new_notebook(cells=[
        _cell("markdown", "task_two", task=True, points=2.5),
        _cell("code", "answer_code", solution=True),  # an answer without points: autograded
        _cell("code", "test_code", grade=True, points=3),  # an autograded test cell
        _cell("markdown", "written_one", solution=True, grade=True, points=4),
        _cell("markdown", "written_other", solution=True, grade=True, points=1),
    ])


def test_every_manually_graded_cell_of_every_problem_set_has_its_rubric_section():
    assert PROBLEM_SETS, "no problem sets found in solutions/"
    problems = []
    for name in PROBLEM_SETS:
        notebook = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
        assert manually_graded_cells(notebook), f"{name} has no manually graded cell"
        rubric_path = ROOT / "solutions" / name / "rubric.md"
        if not rubric_path.is_file():
            problems.append(f"{name}: no rubric.md; cells that need a section: "
                            f"{', '.join(manually_graded_cells(notebook))}")
            continue
        problems += [f"{name}/rubric.md: {line}" for line in
                     coverage_problems(notebook, read_rubric(rubric_path))]
    assert not problems, "\n".join(problems)


def test_sections_are_split_by_the_grade_id_their_headings_name():
    rubric = parse_rubric(EXAMPLE)
    assert list(rubric.sections) == ["written_one", "task_two", "no_points"]
    one = rubric.sections["written_one"]
    assert (one.points, one.heading) == (4.0, "`written_one` (4 points): Part F")
    assert one.body.startswith("| points | criterion |")
    assert "a subsection stays in its section" in one.body and "not_a_heading" in one.body
    assert "Marking conventions" not in one.body
    assert rubric.sections["task_two"].points == 2.5
    assert rubric.sections["task_two"].body == "body two"
    assert rubric.sections["no_points"].points is None
    assert rubric.preamble.startswith("# PS9 rubric") and "General notes." in rubric.preamble
    assert "a level-2 heading naming no cell is a general note" in rubric.preamble


def test_a_cell_named_twice_is_refused():
    with pytest.raises(RubricError, match="two sections for the cell `written_one`"):
        parse_rubric(EXAMPLE + "\n## `written_one` (4 points): again\n")


def test_manually_graded_cells_are_tasks_and_answers_with_points():
    assert manually_graded_cells(_notebook()) == {"task_two": 2.5, "written_one": 4.0,
                                                  "written_other": 1.0}


def test_coverage_names_missing_sections_and_wrong_points():
    notebook = _notebook()
    notebook.cells[0].metadata["nbgrader"]["points"] = 3
    problems = coverage_problems(notebook, parse_rubric(EXAMPLE))
    assert len(problems) == 2, problems
    assert "`task_two`: the rubric says 2.5 points, the notebook 3" in problems[0]
    assert problems[1].startswith("`written_other` (1 points) has no section")


# --------------------------------------------------------------------------- the grading page


def _page(course: Path, assignment: str, notebook, mathjax_url=LOCAL_MATHJAX) -> str:
    """The grading page of ``notebook`` as the extension's exporter renders it."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(root=str(course))
    coursedir.source_directory = "solutions"
    formgrader = types.SimpleNamespace(coursedir=coursedir, config=Config())
    settings = {"nbgrader_formgrader": formgrader, "mathjax_url": mathjax_url}
    exporter = formgrader_ui.course_exporter(formgrader, settings)
    resources = {"assignment_id": assignment, "notebook_id": assignment, "base_url": "",
                 "submission_id": "abc", "index": 0, "total": 1, "student": "alice",
                 "last_name": "", "first_name": "", "notebook_path": ""}
    html, _ = exporter.from_notebook_node(notebook, resources=resources)
    return html


def _panels(html: str) -> dict[str, str]:
    """grade_id -> the HTML of its rubric panel; each must follow its cell's comment box."""
    found = {}
    for match in re.finditer(r'<div class="course-rubric panel [^"]+" data-grade-id="([^"]+)">', html):
        before = html[:match.start()]
        last_comment = re.findall(r'<textarea class="comment tabbable" id="([^"]+)-comment">', before)
        assert last_comment and last_comment[-1] == match.group(1), (match.group(1), last_comment[-1:])
        found[match.group(1)] = html[match.start():html.find('<div class="cell', match.start())]
    return found


def test_the_page_shows_each_section_after_its_cell_and_loads_the_local_mathjax():
    notebook = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    html = _page(ROOT, "ps1", notebook)
    rubric = read_rubric(ROOT / "solutions" / "ps1" / "rubric.md")
    panels = _panels(html)
    assert set(panels) == set(manually_graded_cells(notebook)) == {"task_error_plot",
                                                                   "written_cancellation"}
    for grade_id, panel in panels.items():
        assert "panel-info" in panel and "solutions/ps1/rubric.md" in panel
        rows = [line for line in rubric.sections[grade_id].body.splitlines()
                if line.startswith("|") and not set(line) <= set("|-: ")]
        assert panel.count("<tr>") == len(rows) > 1, grade_id  # the section's table, rendered
    assert "Common deductions: linear axes" in panels["task_error_plot"]
    assert "General notes of this rubric" in panels["task_error_plot"]  # the first panel only
    assert "General notes of this rubric" not in panels["written_cancellation"]
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]*)"', html)
    assert f"{LOCAL_MATHJAX}?config={mathjax.CONFIG}" in scripts
    assert not [src for src in scripts if re.match(r"(https?:)?//", src)], scripts


def test_without_jupyter_server_mathjax_the_page_keeps_nbgraders_cdn():
    """Control for the test above: nbgrader's own tag is what the course's template replaces."""
    notebook = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    html = _page(ROOT, "ps1", notebook, mathjax_url=None)
    assert formgrader_ui.CDN_TAG in html and LOCAL_MATHJAX not in html


def test_a_missing_section_or_rubric_file_is_shown_in_its_place(tmp_path):
    notebook = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    (tmp_path / "solutions" / "ps1").mkdir(parents=True)
    text = (ROOT / "solutions" / "ps1" / "rubric.md").read_text()
    cut = text.index("## `written_cancellation`")
    (tmp_path / "solutions" / "ps1" / "rubric.md").write_text(text[:cut])
    panels = _panels(_page(tmp_path, "ps1", notebook))
    assert "panel-info" in panels["task_error_plot"]
    assert "panel-warning" in panels["written_cancellation"]
    assert "has no section for the cell <code>written_cancellation</code>" in panels["written_cancellation"]
    (tmp_path / "solutions" / "ps1" / "rubric.md").unlink()
    panels = _panels(_page(tmp_path, "ps1", notebook))
    assert all("There is no rubric file solutions/ps1/rubric.md" in panel for panel in panels.values())


def test_instructor_servers_enable_the_course_formgrader_and_student_servers_do_not():
    sys.path.insert(0, str(ROOT / "tools"))
    import lab  # tools/lab.py

    flag = f"--ServerApp.jpserver_extensions={formgrader_ui.NAME}=True"
    assert flag in lab.lab_command(ROOT, False)  # make lab in the repository
    term = lab.lab_command(ROOT, False, formgrader_course=Path("/courses/term"))  # make formgrader
    assert flag in term and "--ServerApp.root_dir=/courses/term" in term
    assert flag not in lab.lab_command(ROOT, True)  # a student copy
