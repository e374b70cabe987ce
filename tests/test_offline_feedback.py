"""Feedback pages typeset their formulas offline: `nbgrader generate_feedback` (the course's
configuration) copies MathJax into feedback/mathjax/ and the pages load it from there.

Real nbgrader (generate, autograde, generate_feedback) in a temporary course; the page is opened
from the file system in headless Chromium with every network request refused. The two checks
(``assert_loads_local_mathjax``, ``typeset_offline``) also serve tests/test_formgrader_ui.py, for
the feedback the formgrader's "Generate Feedback" button writes through the running server.
"""

from __future__ import annotations

import re
import shutil

import pytest
from nbgrader_course import ROOT, make_course, nbgrader
from test_browser import CHROMIUM_ARGS, MATH_TYPESET, _chromium, _need_browser

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("feedback") / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.SandboxAutograde.cell_timeout = 10\n")
    submitted = course / "submitted" / "alice" / "ps1"
    submitted.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "ps1" / "ps1.ipynb", submitted)
    for command in (("generate_assignment", "ps1"), ("autograde", "ps1"), ("generate_feedback", "ps1")):
        done = nbgrader(course, *command)
        assert done.returncode == 0, done.stderr[-3000:]
    return course / "feedback"


def assert_loads_local_mathjax(feedback, page) -> None:
    """``page`` (in ``feedback``/<student>/<ps>/) loads MathJax from ``feedback``/mathjax/ and no
    script from another host; the CDN only as the fallback for a page without the copy."""
    text = page.read_text()
    assert (feedback / "mathjax" / "MathJax.js").is_file()
    assert '<script src="../../mathjax/MathJax.js' in text, text[:3000]
    remote = re.findall(r"""(?<!')<script[^>]+src="https?://""", text)  # tags, not the fallback's text
    assert remote == [], remote
    assert text.count("document.write('<script src=\"https://cdnjs") == 1


def typeset_offline(page_path) -> tuple[int, int, list[str]]:
    """Open ``page_path`` in headless Chromium with every network request refused and wait for
    MathJax: (typeset formulas, MathJax errors, refused URLs)."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def refuse(route):
                refused.append(route.request.url)
                route.abort()

            page.route(re.compile(r"^(https?|wss?)://"), refuse)
            page.goto(page_path.as_uri())
            page.wait_for_function(MATH_TYPESET, timeout=60_000)
            typeset = page.locator(".MathJax, .MathJax_Display").count()
            errors = page.locator(".MathJax_Error, .merror").count()
        finally:
            browser.close()
    return typeset, errors, refused


def test_feedback_loads_mathjax_from_the_course_not_a_cdn(feedback):
    assert_loads_local_mathjax(feedback, feedback / "alice" / "ps1" / "ps1.html")


def test_feedback_typesets_formulas_with_the_network_cut(feedback):
    typeset, errors, refused = typeset_offline(feedback / "alice" / "ps1" / "ps1.html")
    assert typeset > 5 and errors == 0, (typeset, errors)
    assert not [url for url in refused if "mathjax" in url.lower()], refused
