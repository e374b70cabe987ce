"""The formgrader's manual-grading page in a real browser, as `make formgrader` serves it.

A temporary term folder (``tools/new_term.py``) gets one submission of the PS1 bank (the model
solution), graded by real `nbgrader generate_assignment` and `nbgrader autograde`; then the
formgrader command of the term's README.txt, `tools/lab.py --formgrader .` (what `make formgrader
COURSE=...` runs), starts JupyterLab there with the course's formgrader extension
(autograder/formgrader_ui.py). Headless
Chromium opens the submission's grading page with every request to a host other than the local
server refused, and finds

- the formulas typeset by MathJax from the local server, and no request to any other host;
- after each manually graded cell, that cell's section of solutions/ps1/rubric.md, visible, with
  the section's own text and table.

The formgrader's "Generate Feedback" button (its API call to the same server) writes feedback that
loads MathJax from the term's feedback/mathjax/ copy and typesets with the network cut off.

Control: the same page from nbgrader's stock formgrader (a plain Jupyter server, no course
extension) asks a CDN for MathJax, and with the network cut off typesets nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import urllib.error
import urllib.request

import nbformat
import pytest
from nbgrader_course import BIN, ROOT, nbgrader, run
from test_browser import ARTIFACTS, CHROMIUM_ARGS, MATH_TYPESET, _chromium, _need_browser
from test_offline_feedback import Server, assert_loads_local_mathjax, typeset_offline

from autograder.rubric import manually_graded_cells, read_rubric

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STUDENT = "alice"
SCREENSHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A term folder (tools/new_term.py) with PS1 released and one bank submission autograded;
    its submission id."""
    folder = tmp_path_factory.mktemp("formgrader") / "term"
    done = run([sys.executable, ROOT / "tools" / "new_term.py", folder, "--copy-solutions"], ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    config = folder / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.SandboxAutograde.cell_timeout = 10\n")
    done = nbgrader(folder, "generate_assignment", "ps1")
    assert done.returncode == 0, done.stderr[-3000:]
    written = build.write_submissions(
        {STUDENT: build.load_bank("ps1")["solution"]}, folder / "assignments" / "ps1" / "ps1.ipynb",
        folder / "solutions" / "ps1" / "ps1.ipynb", folder / "submitted", "ps1")
    assert written == [STUDENT]
    done = nbgrader(folder, "autograde", "ps1")
    assert done.returncode == 0, done.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder}/gradebook.db") as gradebook:
        submission = gradebook.find_submission_notebook("ps1", "ps1", STUDENT).id
    return folder, submission


def _open_offline(server: Server, submission: str, screenshot: str, typeset: bool):
    """Open the grading page with every non-local request refused; return (page facts, refused
    URLs, page errors). ``typeset``: wait for MathJax to finish (else wait for the page)."""
    from playwright.sync_api import sync_playwright

    refused, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda error: errors.append(str(error)))

            def route(request_route):
                if request_route.request.url.startswith(server.base + "/"):
                    request_route.continue_()
                else:
                    refused.append(request_route.request.url)
                    request_route.abort()

            page.route(re.compile(r".*"), route)
            page.goto(server.url(f"formgrader/submissions/{submission}/"))
            if typeset:
                page.wait_for_function(MATH_TYPESET, timeout=60_000)
            else:
                page.wait_for_load_state("load", timeout=60_000)
            facts = page.evaluate("""() => ({
                mathjax: !!(window.MathJax && window.MathJax.Hub),
                typeset: document.querySelectorAll('.MathJax, .MathJax_Display').length,
                errors: document.querySelectorAll('.MathJax_Error, .merror').length,
                raw: [...document.querySelectorAll('.text_cell_render')].map(
                    e => (e.innerText.match(/\\$[^$\\n]+\\$/g) || []).length).reduce((a, b) => a + b, 0)})""")
            panels = {}
            for panel in page.locator(".course-rubric").all():
                grade_id = panel.get_attribute("data-grade-id")
                # the cell that holds the grade's comment box, the element right after it, and
                # the vertical gap between the two on the page
                where = page.evaluate("""id => {
                    const cell = document.getElementById(id + '-comment').closest('.cell');
                    const next = cell.nextElementSibling;
                    return {next: next.dataset.gradeId, gap: next.getBoundingClientRect().top
                                                             - cell.getBoundingClientRect().bottom};
                }""", grade_id)
                panels[grade_id] = {
                    "visible": panel.is_visible(), "text": " ".join(panel.inner_text().split()),
                    "rows": panel.locator("table tr").count(), "after_its_cell": where["next"],
                    "gap_px": where["gap"]}
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True, clip=page.evaluate(
                """() => {  // the last manually graded cell and its rubric (or the page's top)
                    const panel = [...document.querySelectorAll('.course-rubric')].pop();
                    const top = panel ? panel.previousElementSibling.getBoundingClientRect().top
                                        + window.scrollY - 20 : 0;
                    const bottom = panel ? panel.getBoundingClientRect().bottom + window.scrollY
                                           + 20 : 1000;
                    return {x: 0, y: top, width: 1400, height: bottom - top};
                }"""))
        finally:
            browser.close()
    return facts, panels, refused, errors


@pytest.fixture(scope="module")
def course_server(course, tmp_path_factory):
    """The formgrader command of the term's README.txt, running in the term folder."""
    _need_browser()
    folder, _ = course
    home = tmp_path_factory.mktemp("home")
    line = next(line for line in (folder / "README.txt").read_text().splitlines() if "--formgrader" in line)
    command = shlex.split(line.split("#")[0])
    assert command[0] == "python", line
    server = Server([sys.executable, *command[1:]], folder, home, ARTIFACTS / "formgrader-server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def course_page(course, course_server):
    _, submission = course
    return _open_offline(course_server, submission, "formgrader-course.png", typeset=True)


def test_the_grading_page_typesets_formulas_with_the_network_cut(course_page):
    facts, _, refused, errors = course_page
    assert facts["mathjax"] and facts["typeset"] > 5 and facts["errors"] == 0, facts
    assert facts["raw"] == 0, facts  # no formula left as $...$ text
    assert refused == [], refused  # no CDN, no other host: everything came from the server
    assert errors == [], errors


def test_each_manually_graded_cell_shows_its_rubric_section_beside_it(course, course_page):
    folder, _ = course
    _, panels, _, _ = course_page
    notebook = nbformat.read(folder / "autograded" / STUDENT / "ps1" / "ps1.ipynb", as_version=4)
    rubric = read_rubric(folder / "solutions" / "ps1" / "rubric.md")
    cells = manually_graded_cells(notebook)
    assert set(panels) == set(cells) == {"task_error_plot", "written_cancellation"}, panels.keys()
    for grade_id, panel in panels.items():
        section = rubric.sections[grade_id]
        assert panel["visible"] and panel["after_its_cell"] == grade_id, (grade_id, panel)
        assert 0 <= panel["gap_px"] < 60, (grade_id, panel["gap_px"])
        title = section.heading.split(": ", 1)[1]  # e.g. "Part F"
        prose = next(line for line in section.body.splitlines() if line and line[0].isalpha())
        words = " ".join(prose.replace("`", "").split()[:8])
        assert title in panel["text"] and words in panel["text"], (grade_id, words, panel["text"][:300])
        table = [line for line in section.body.splitlines()
                 if line.startswith("|") and not set(line) <= set("|-: ")]
        assert panel["rows"] == len(table) > 1, (grade_id, panel["rows"], len(table))


def test_the_generate_feedback_button_writes_feedback_that_typesets_offline(course, course_server):
    """The formgrader's "Generate Feedback" button (its POST to the server's API, which runs
    nbgrader's GenerateFeedback in the server process) writes pages that load the course's copy
    of MathJax, as `nbgrader generate_feedback` does, and typeset with the network cut off."""
    folder, _ = course
    page = folder / "feedback" / STUDENT / "ps1" / "ps1.html"
    assert not page.exists()  # written by the server, below
    request = urllib.request.Request(
        f"{course_server.base}/formgrader/api/assignment/ps1/generate_feedback", data=b"",
        method="POST", headers={"Authorization": f"token {course_server.token}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        done = json.load(response)
    assert done["success"], f"{done.get('error', '')[-3000:]}\n{done.get('log', '')[-3000:]}"
    assert_loads_local_mathjax(folder / "feedback", page)
    assert "course-rubric" not in page.read_text()  # the grading page's additions stay there
    typeset, errors, refused = typeset_offline(page)
    assert typeset > 5 and errors == 0, (typeset, errors)
    assert refused == [], refused


def test_control_nbgraders_own_page_asks_a_cdn_and_stays_untypeset(course, tmp_path_factory):
    """Without the course's extension the same page requests MathJax from a CDN (refused here)
    and shows no rubric: the two tests above measure the extension, not the browser's cache."""
    _need_browser()
    folder, submission = course
    home = tmp_path_factory.mktemp("home-stock")
    server = Server([BIN / "jupyter", "server", "--allow-root"], folder, home,
                    ARTIFACTS / "formgrader-stock-server.log")
    try:
        facts, panels, refused, _ = _open_offline(server, submission, "formgrader-stock.png",
                                                   typeset=False)
    finally:
        server.stop()
    assert [url for url in refused if "mathjax" in url.lower()], refused
    assert not facts["mathjax"] and facts["typeset"] == 0 and facts["raw"] > 5, facts
    assert panels == {}
