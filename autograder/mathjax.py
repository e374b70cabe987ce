"""MathJax served from the course's own files, so formulas typeset offline.

nbgrader's feedback pages (and nbconvert's) load MathJax 2 from a CDN: offline, a student or an
instructor sees raw LaTeX. The ``jupyter-server-mathjax`` package (in every install of the
course) ships MathJax 2 and serves it from any Jupyter server; this module copies it next to the
pages that need it and writes the ``<script>`` tags that load it. ``tools/build_site.py`` uses
it for the offline site, :class:`LocalMathJax` and :class:`FeedbackExporter` for the feedback
pages (``nbgrader generate_feedback`` and the formgrader's "Generate Feedback" button alike),
:mod:`autograder.formgrader_ui` for the formgrader's grading pages (there the MathJax that
``jupyter-server-mathjax`` serves).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # a configuration the package ships
FOLDER = "mathjax"  # the copy's folder name, beside the pages (or at the feedback folder's root)
TEMPLATES = Path(__file__).resolve().parent / "templates"


def mathjax_folder() -> Path:
    """The installed MathJax 2 (SystemExit with the install command when it is missing)."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise SystemExit("a local MathJax needs jupyter-server-mathjax: pip install -e .") \
            from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(target: Path) -> None:
    """Copy MathJax 2 into ``target`` (without its 2 MB of translations); no-op when present."""
    source = mathjax_folder()
    if (target / "MathJax.js").is_file():
        return
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == source
                                                  and n == "localization"])


# The MathJax 2 that jupyter-server-mathjax serves from a Jupyter server (every install of the
# course, the student's too, installs and enables it), relative to the server's base URL.
SERVER_MATHJAX = "static/jupyter_server_mathjax/MathJax.js"


def mathjax_head(prefix: str, fallback: str = "") -> str:
    """``<script>`` tags loading MathJax 2 from ``{prefix}mathjax/`` (STIX web fonts it ships).
    With ``fallback`` (a URL), a page whose local copy is missing loads MathJax from there."""
    return mathjax_tags(f"{prefix}{FOLDER}/MathJax.js", fallback)


def mathjax_tags(script: str, fallback: str = "") -> str:
    """``<script>`` tags loading MathJax 2 from the URL ``script`` (its ``MathJax.js``), in the
    configuration the package ships.

    When that copy is missing (a feedback page a student fetched through nbgrader's exchange
    arrives without the folder beside it) and the page is served by a Jupyter server (its
    address, or the ``<base>`` JupyterLab's HTML viewer gives it, has ``.../files/...``), the
    MathJax of that server (:data:`SERVER_MATHJAX`) is loaded: offline on a JupyterHub too.
    Only then ``fallback`` (a URL), if given."""
    config = {
        "tex2jax": {"inlineMath": [["$", "$"], ["\\(", "\\)"]],
                    "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
                    "processEscapes": True, "processEnvironments": True},
        "TeX": {"equationNumbers": {"autoNumber": "AMS", "useLabelIds": True}},
        "displayAlign": "center", "messageStyle": "none",
        "HTML-CSS": {"availableFonts": [], "imageFont": None, "preferredFont": None,
                     "webFont": "STIX-Web", "linebreaks": {"automatic": True}},
    }
    head = (f'<script type="text/x-mathjax-config">MathJax.Hub.Config({json.dumps(config)});'
            f'</script>\n<script src="{script}?config={CONFIG}"></script>')
    head += ("\n<script>window.MathJax || (function () {  // the page's Jupyter server, if any\n"
             "  var base = new URL(document.baseURI).pathname.match(/^(.*?\\/)files\\//);\n"
             "  if (base) document.write('<script src=\"' + base[1] + '" + SERVER_MATHJAX +
             f"?config={CONFIG}" + "\"><\\/script>');\n})();</script>")
    if fallback:
        head += ("\n<script>window.MathJax || document.write('<script src=\"" + fallback +
                 "\"><\\/script>');</script>")
    return head


class LocalMathJax(NbGraderPreprocessor):
    """For ``nbgrader generate_feedback``: feedback pages load MathJax from the feedback folder.

    Copies MathJax once into ``<feedback folder>/mathjax/`` and hands the page template (the
    course's ``course_feedback``, nbgrader's feedback template with this one change) the tags
    that load it from there, falling back to nbgrader's CDN when the copy is not beside the page
    (a student who received only the HTML file, online)."""

    cdn = Unicode("https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe",
                  help="where a page without the local copy loads MathJax from").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        root = Path(coursedir.root or ".").resolve()
        copy_mathjax(root / coursedir.feedback_directory / FOLDER)
        # feedback/<student>/<assignment>/<notebook>.html: the copy is two folders up
        resources["course_mathjax"] = mathjax_head("../../", fallback=self.cdn)
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """The exporter of nbgrader's ``GenerateFeedback`` (``c.GenerateFeedback.exporter_class``).

    nbgrader's feedback is an ``HTMLExporter`` configured through the global ``HTMLExporter``
    section, which every other HTML export (the formgrader's grading page, ``jupyter
    nbconvert``) reads too; and the formgrader's "Generate Feedback" button (nbgrader's
    ``NbGraderAPI.generate_feedback``) sets ``HTMLExporter.template_name = 'feedback'`` in the
    server. This subclass only gives the feedback exporter a section of its own: settings under
    ``c.FeedbackExporter`` (the course's template, ``course_feedback``, in nbgrader_config.py)
    come after ``HTMLExporter``'s in traitlets' order, so they win for feedback, from the command
    line and from the button, and reach no other exporter."""
