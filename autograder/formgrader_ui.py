"""The formgrader as this course grades with it: a Jupyter server extension.

nbgrader's manual-grading page (``/formgrader/submissions/<id>/``) loads MathJax from a CDN, so
an offline instructor sees raw LaTeX, and it shows nothing of the problem set's rubric. With this
extension enabled, the page (nbgrader's template with two additions,
``autograder/templates/course_formgrade/``)

- loads MathJax 2 from the course's installed ``jupyter-server-mathjax`` (the ``grader`` extra;
  its server extension serves it under ``static/jupyter_server_mathjax/``), never from a CDN;
- shows, right after each manually graded cell (nbgrader tasks and answer cells with points),
  that cell's section of ``solutions/<ps>/rubric.md`` (:mod:`autograder.rubric`: matched by
  the ``grade_id`` its heading names), read afresh at every page load; a cell without a
  section gets a warning in its place. The rubric's general notes open from the first one.

Only the grading page's exporter is replaced, in the running server: feedback, exports and every
nbgrader command keep their own settings, so a rubric can never reach a student's feedback.
(Feedback, the formgrader's *Generate Feedback* buttons included, loads the term's copy of MathJax
through its own exporter, :class:`autograder.mathjax.FeedbackExporter`, set in nbgrader_config.py.)
``tools/lab.py`` enables the extension in instructor mode (``make lab``, ``make formgrader``):
``--ServerApp.jpserver_extensions=autograder.formgrader_ui=True``.
"""

from __future__ import annotations

import copy
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Any

from autograder.mathjax import TEMPLATES, mathjax_tags
from autograder.rubric import RUBRIC_FILE, RubricError, manually_graded_cells, read_rubric

NAME = "autograder.formgrader_ui"
TEMPLATE = "course_formgrade"
# nbgrader's grading template loads MathJax through nbconvert's mathjax() macro with its default
# URL, which is HTMLExporter.mathjax_url's default: the tag the course's template replaces.
CDN_TAG = f'<script src="{HTMLExporter.mathjax_url.default_value}"> </script>'


class GradingPageAdditions(Preprocessor):
    """Puts in ``resources`` what the course's grading template adds to nbgrader's page."""

    settings = Any(help="the server's tornado settings (nbgrader's formgrader and MathJax URL)")

    def preprocess(self, nb, resources):
        mathjax_url = self.settings.get("mathjax_url")
        resources["course_mathjax_cdn"] = CDN_TAG
        resources["course_mathjax"] = mathjax_tags(mathjax_url) if mathjax_url else CDN_TAG
        resources["course_rubric"] = self._rubric(nb, resources.get("assignment_id"))
        return nb, resources

    def _rubric(self, nb, assignment_id) -> dict:
        """``{"source": shown path, "preamble": Markdown, "error": text, "cells": {grade_id:
        Section or None}}`` for the manually graded cells of ``nb``."""
        cells = dict.fromkeys(manually_graded_cells(nb))
        found = {"source": "", "preamble": "", "error": "", "cells": cells, "first": None}
        if not cells or not assignment_id:
            return found
        found["first"] = next(iter(cells))
        coursedir = self.settings["nbgrader_formgrader"].coursedir
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment_id)) / RUBRIC_FILE
        try:
            found["source"] = str(path.relative_to(Path(coursedir.root).resolve()))
        except ValueError:
            found["source"] = str(path)
        try:
            rubric = read_rubric(path)
        except FileNotFoundError:
            found["error"] = f"There is no rubric file {found['source']}."
            return found
        except (OSError, UnicodeDecodeError, RubricError) as error:
            found["error"] = f"{found['source']} cannot be read: {error}"
            return found
        found["preamble"] = rubric.preamble
        for grade_id in cells:
            cells[grade_id] = rubric.sections.get(grade_id)
        return found


def course_exporter(formgrader, settings) -> HTMLExporter:
    """The grading page's exporter: nbgrader's settings, the course's template and additions."""
    from nbgrader.server_extensions.formgrader import handlers

    config = copy.deepcopy(formgrader.config)
    config.HTMLExporter.template_name = TEMPLATE
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), handlers.template_path]
    # and nbgrader's templates folder itself: the course's page extends 'formgrade/index.html.j2'
    config.HTMLExporter.extra_template_paths = [handlers.template_path]
    exporter = HTMLExporter(config=config)
    exporter.register_preprocessor(GradingPageAdditions(settings=settings), enabled=True)
    return exporter


def install(settings, log) -> bool:
    """Replace the formgrader's exporter in ``settings``; False when there is no formgrader."""
    formgrader = settings.get("nbgrader_formgrader")
    if formgrader is None:
        log.info("%s: nbgrader's formgrader is not enabled here; nothing to change", NAME)
        return False
    settings["nbgrader_exporter"] = course_exporter(formgrader, settings)
    if not settings.get("mathjax_url"):
        log.warning("%s: jupyter-server-mathjax is not enabled, so the grading pages load MathJax "
                    "from a CDN (pip install -e .)", NAME)
    log.info("%s: grading pages with the local MathJax and each cell's rubric", NAME)
    return True


def _jupyter_server_extension_points():
    return [{"module": NAME}]


def _load_jupyter_server_extension(serverapp):
    """Nothing to do yet: extensions load in alphabetical order, before nbgrader's formgrader."""


async def _start_jupyter_server_extension(serverapp):
    """Every extension is loaded now: replace the formgrader's exporter."""
    install(serverapp.web_app.settings, serverapp.log)
