"""Build the course as a static, offline website: ``python tools/build_site.py [--out site]``.

What it makes (``make site`` runs it into ``site/``):

- ``index.html``: the course at a glance: every lecture and problem set, what each covers (its
  opening paragraph and its sections), how long it takes (the notebook's own **Time** line, and
  how long the lecture took to run here), with links to the pages and to the notebooks;
- ``lectures/NN-topic.html``: each lecture EXECUTED (a fresh kernel, in a temporary copy of
  ``lectures/``), with its figures embedded. Widgets cannot run without a kernel: each shows the
  picture of its initial state (the PNG that ``mlpkit.widgets`` puts beside every widget view)
  and says so. ``lectures/NN-topic.ipynb``: the notebook itself, without outputs, to run;
- ``assignments/<ps>/<notebook>.html``: each student notebook rendered WITHOUT running it, next
  to a copy of the release folder (the notebook a student downloads);
- ``mathjax/``: a local MathJax 2 (from the ``jupyter-server-mathjax`` package), referenced by
  relative paths.

Every page works offline from the file system: no script, style sheet, font or image comes from
another host (nbconvert's require.js, widget manager and Mermaid loaders are left out, MathJax is
local, and the build fails if a remote reference is left). A lecture that raises an error fails
the build.

Needs nbconvert, nbclient and jupyter-server-mathjax (the ``grader`` extra); the MathJax helpers are
``autograder.mathjax``, shared with the feedback pages.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from the course
from autograder.mathjax import copy_mathjax, mathjax_head  # noqa: E402  (one local MathJax)

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Tags that make a browser fetch something: <script src>, <link href>, <img src>, CSS url()/@import.
REMOTE_REFERENCE = re.compile(
    r"""<(?:script|img|iframe|source|embed)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//""",
    re.IGNORECASE)

# --------------------------------------------------------------------------- page template

# The lab template of nbconvert without anything fetched from a CDN, with a local MathJax, a
# navigation bar, and the text description of each figure as its alt text.
PAGE_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
{{ resources.course_mathjax }}
{%- endblock html_head_js_mathjax -%}
{% block extra_css %}
<style type="text/css">{{ resources.course_css }}</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.course_nav }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.course_nav }}
{{ super() }}
{% endblock body_footer %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output.data.get('text/plain', 'figure') | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width={{ width | escape_html }}{% endif %}
{%- set height=output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height={{ height | escape_html }}{% endif %}>
</div>
{%- endblock data_png %}
"""

CSS = """
nav.course-nav { display: flex; gap: 1.5em; flex-wrap: wrap; max-width: 1100px; margin: 0.5em auto;
  padding: 0.6em 1em; font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.95em;
  border-bottom: 1px solid #ddd; }
nav.course-nav a { text-decoration: none; color: #1565c0; }
nav.course-nav .spacer { flex: 1; }
.course-widget-note { font-style: italic; color: #555; margin: 0.2em 0 0.8em 0; }
"""

INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
  max-width: 980px; margin: 0 auto; padding: 1.5em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.item { border: 1px solid #ddd; border-radius: 6px; padding: 0.8em 1.2em; margin: 1em 0; }
.item h3 { margin: 0.2em 0 0.4em 0; } .item h3 .number { color: #777; font-weight: normal; }
.meta { color: #444; font-size: 0.95em; } .meta b { color: #222; }
.links a { margin-right: 1.2em; } .sections { margin: 0.4em 0; font-size: 0.95em; }
.summary p { margin: 0.2em 0; }
table.overview { border-collapse: collapse; width: 100%; font-size: 0.95em; }
table.overview td:first-child, table.overview td:last-child { white-space: nowrap; }
table.overview th, table.overview td { border-bottom: 1px solid #e4e4e4; padding: 0.35em 0.6em;
  text-align: left; vertical-align: top; }
footer { margin-top: 3em; color: #666; font-size: 0.9em; }
"""


# --------------------------------------------------------------------------- reading notebooks


@dataclass
class Page:
    """One notebook of the course and what the index says about it."""

    source: Path  # the notebook in the repository
    html_path: str  # relative to the site root
    notebook_path: str  # the downloadable notebook, relative to the site root
    title: str = ""
    summary: str = ""  # markdown: the opening paragraph
    sections: list[str] = field(default_factory=list)  # markdown: the "## " headings
    time: str = ""  # markdown: the notebook's own **Time** line, if it has one
    run_seconds: float | None = None
    points: dict[str, float] = field(default_factory=dict)  # assignments: auto/manual/total


def markdown_text(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def describe(page: Page, nb) -> None:
    """Fill title, summary, sections and time from the notebook's own text."""
    texts = markdown_text(nb)
    first = texts[0] if texts else ""
    title = re.search(r"^#\s+(.+)$", first, re.M)
    page.title = title.group(1).strip() if title else page.source.stem
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", first) if p.strip()]
    for paragraph in paragraphs:
        if paragraph.startswith("#") or re.fullmatch(r"\*[^*].*\*[^\n]*", paragraph):
            continue  # the title and the italic "course name, lecture N of 6" line
        page.summary = paragraph
        break
    for text in texts:
        for line in text.splitlines():
            if line.startswith("## "):
                page.sections.append(re.sub(r"^\d+\.\s*", "", line[3:].strip()))
    time_line = re.search(r"\*\*Time:?\*\*:?\s*(.+?)(?:\.(?=\s|$)|\n\s*\n|$)",
                          "\n\n".join(texts), re.S)
    if time_line:
        page.time = " ".join(time_line.group(1).split()) + "."


def nbgrader_points(nb) -> dict[str, float]:
    auto = manual = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") or meta.get("task")):
            continue
        points = float(meta.get("points") or 0)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            auto += points
        else:
            manual += points
    return {"auto": auto, "manual": manual, "total": auto + manual}


# --------------------------------------------------------------------------- executing lectures


async def _execute_one(path: Path, workdir: Path, timeout: int, limit: asyncio.Semaphore):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    async with limit:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                store_widget_state=False,  # pages show the PNG, not widgets
                                resources={"metadata": {"path": str(workdir)}})
        start = time.perf_counter()
        await client.async_execute()
        seconds = time.perf_counter() - start
    print(f"  ran {path.name} in {seconds:.1f} s", flush=True)
    return nb, seconds


def execute_lectures(paths: list[Path], timeout: int, jobs: int):
    """Run every lecture in a fresh kernel, ``jobs`` at a time, in a temporary copy of
    ``lectures/`` (nothing is written into the repository). Returns [(notebook, seconds)]."""
    saved_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        with tempfile.TemporaryDirectory(prefix="course-site-") as scratch:
            workdir = Path(scratch) / "lectures"
            shutil.copytree(ROOT / "lectures", workdir,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))

            async def run_all():
                limit = asyncio.Semaphore(max(1, jobs))
                return await asyncio.gather(*(_execute_one(workdir / p.name, workdir, timeout,
                                                           limit) for p in paths))

            return asyncio.run(run_all())
    finally:
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend


def errors_in(nb) -> list[str]:
    return [f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            for index, cell in enumerate(nb.cells) for output in cell.get("outputs", [])
            if output.get("output_type") == "error"]


WIDGET_NOTE = ("Interactive in JupyterLab (run the notebook and move the slider); "
               "this picture shows its initial state")


def widgets_to_pictures(nb) -> int:
    """Replace each widget view by its static picture and a note; return how many."""
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME not in data:
                outputs.append(output)
                continue
            replaced += 1
            del data[WIDGET_MIME]
            note = WIDGET_NOTE + "."
            if "image/png" in data:
                outputs.append(output)
                # mlpkit.widgets describes the picture in text/plain: "[figure] h = 1e-02 | ..."
                description = str(data.get("text/plain", "")).removeprefix("[figure]").strip()
                if description:
                    note = f"{WIDGET_NOTE}: {description}"
            outputs.append(nbformat.v4.new_output(
                "display_data", data={"text/html": f'<p class="course-widget-note">'
                                                   f"{html.escape(note)}</p>"}))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced


# --------------------------------------------------------------------------- writing pages


def nav_bar(prefix: str, previous: Page | None, following: Page | None) -> str:
    parts = [f'<nav class="course-nav"><a href="{prefix}index.html">&#8593; Course index</a>',
             '<span class="spacer"></span>']
    if previous:
        parts.append(f'<a href="{prefix}{previous.html_path}">&#8592; '
                     f"{html.escape(previous.title)}</a>")
    if following:
        parts.append(f'<a href="{prefix}{following.html_path}">'
                     f"{html.escape(following.title)} &#8594;</a>")
    return "".join(parts) + "</nav>"


def exporter() -> HTMLExporter:
    return HTMLExporter(template_name="lab", template_file="course_page.html.j2",
                        extra_loaders=[jinja2.DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
                        embed_images=True, exclude_anchor_links=False)


def remote_references(text: str) -> list[str]:
    """Tags or CSS rules of ``text`` that would fetch something from another host."""
    return [text[max(0, m.start() - 20):m.end() + 60] for m in REMOTE_REFERENCE.finditer(text)]


def write_page(nb, page: Page, out: Path, nav: str) -> None:
    prefix = "../" * page.html_path.count("/")
    resources = {"metadata": {"name": page.title, "path": str(page.source.parent)},
                 "course_nav": nav, "course_css": CSS,
                 "course_mathjax": mathjax_head(prefix)}
    body, _ = exporter().from_notebook_node(nb, resources=resources)
    remote = remote_references(body)
    if remote:
        raise RuntimeError(f"{page.html_path} would load from another host: {remote[:3]}")
    target = out / page.html_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")


def inline_markdown(text: str) -> str:
    """Markdown of one line or paragraph as HTML, without the surrounding <p>."""
    rendered = markdown2html(text).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


GENERIC_SECTIONS = {"summary", "exercises", "references", "before you submit"}


def short_title(title: str) -> str:
    """The title without its "Lecture 3:" or "Problem set 1:" label (the index numbers them)."""
    short = re.sub(r"^(?:lecture|problem set)\s+\d+\s*[:\u2014\u2013-]\s*", "", title,
                   flags=re.I)
    return short[:1].upper() + short[1:]


def overview_rows(pages: list[Page], label) -> str:
    rows = []
    for index, page in enumerate(pages, 1):
        extra = f"{page.points['total']:g} points" if page.points else (
            f"runs in {page.run_seconds:.0f} s" if page.run_seconds is not None else "")
        rows.append(f'<tr><td>{html.escape(label(index, page))}</td>'
                    f'<td><a href="{page.html_path}">{html.escape(short_title(page.title))}</a>'
                    f"</td><td>{inline_markdown(page.time) if page.time else 'not stated'}</td>"
                    f"<td>{extra}</td></tr>")
    return "".join(rows)


def index_item(page: Page, number: str, kind: str) -> str:
    meta = []
    if page.time:
        meta.append(f"<b>Time:</b> {inline_markdown(page.time)}")
    elif kind == "assignment":
        meta.append("<b>Time:</b> not stated in the notebook.")
    if page.run_seconds is not None:
        meta.append(f"<b>Runs in</b> {page.run_seconds:.0f} s (measured when this site was "
                    "built).")
    if page.points:
        meta.append(f"<b>{page.points['total']:g} points</b>: {page.points['auto']:g} "
                    f"autograded, {page.points['manual']:g} graded by hand.")
    sections = " &middot; ".join(inline_markdown(s) for s in page.sections
                                 if s.lower() not in GENERIC_SECTIONS)
    return f"""
<div class="item" id="{page.source.stem}">
  <h3><span class="number">{number}</span>
    <a href="{page.html_path}">{html.escape(short_title(page.title))}</a></h3>
  <div class="summary">{markdown2html(page.summary)}</div>
  <p class="sections"><b>Covers:</b> {sections}</p>
  <p class="meta">{' '.join(meta)}</p>
  <p class="links"><a href="{page.html_path}">Read it here</a>
     <a href="{page.notebook_path}" download>Download the notebook (.ipynb)</a></p>
</div>"""


def course_intro() -> tuple[str, str]:
    """Title and opening paragraph of README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    title = re.search(r"^#\s+(.+)$", text, re.M)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    intro = next((p for p in paragraphs if not p.startswith("#")), "")
    return (title.group(1).strip() if title else "Course"), intro


def write_index(out: Path, lectures: list[Page], assignments: list[Page], jobs: int) -> None:
    title, intro = course_intro()
    total = sum(p.run_seconds or 0 for p in lectures)
    ran = (f"The lectures ran in {total:.0f} s in all, {jobs} at a time on "
           f"{os.cpu_count()} cores." if any(p.run_seconds for p in lectures)
           else "The lectures are shown as committed, without outputs.")
    lecture_items = "".join(index_item(p, f"Lecture {i}", "lecture")
                            for i, p in enumerate(lectures, 1))
    assignment_items = "".join(index_item(p, p.source.parent.name.upper(), "assignment")
                               for p in assignments)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
<style type="text/css">{INDEX_CSS}</style>
{mathjax_head("")}
</head><body><main>
<h1>{html.escape(title)}</h1>
{markdown2html(intro)}
<p>This site shows every lecture already run, with its figures; the sliders of the lectures
only move in JupyterLab, so each shows its starting picture here. Problem sets are shown as a
student receives them. To work on them, download the notebooks (or the course) and open them
in JupyterLab.</p>
<h2>The course at a glance</h2>
<table class="overview">
<tr><th></th><th>Lecture</th><th>Time</th><th></th></tr>
{overview_rows(lectures, lambda i, p: f"Lecture {i}")}
<tr><th></th><th>Problem set</th><th>Time</th><th></th></tr>
{overview_rows(assignments, lambda i, p: p.source.parent.name.upper())}
</table>
<h2>Lectures ({len(lectures)})</h2>
{lecture_items}
<h2>Problem sets ({len(assignments)})</h2>
{assignment_items}
<footer>Built by <code>tools/build_site.py</code>. {ran}
Works offline: every script, style and font is in this folder.</footer>
</main></body></html>
"""
    remote = remote_references(page)
    if remote:
        raise RuntimeError(f"index.html would load from another host: {remote[:3]}")
    (out / "index.html").write_text(page, encoding="utf-8")


# --------------------------------------------------------------------------- the build


def build(out: Path, *, execute: bool = True, timeout: int = 300, jobs: int = 2) -> dict:
    """Build the site into ``out`` (emptied first). Returns a summary with timings."""
    start = time.perf_counter()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    copy_mathjax(out / "mathjax")

    lecture_paths = sorted((ROOT / "lectures").glob("[0-9][0-9]-*.ipynb"))
    lectures = [Page(p, f"lectures/{p.stem}.html", f"lectures/{p.name}") for p in lecture_paths]
    (out / "lectures").mkdir()
    for page in lectures:
        describe(page, nbformat.read(page.source, as_version=4))
        shutil.copy2(page.source, out / page.notebook_path)  # to download and run
    if execute:
        print(f"running {len(lectures)} lectures, {jobs} at a time", flush=True)
        results = execute_lectures(lecture_paths, timeout, jobs)
    else:
        results = [(nbformat.read(p, as_version=4), None) for p in lecture_paths]
    widget_count = 0
    for index, (page, (nb, seconds)) in enumerate(zip(lectures, results)):
        errors = errors_in(nb)
        if errors:
            raise RuntimeError(f"{page.source.name} raised errors: {errors}")
        page.run_seconds = seconds
        widget_count += widgets_to_pictures(nb)
        nav = nav_bar("../", lectures[index - 1] if index else None,
                      lectures[index + 1] if index + 1 < len(lectures) else None)
        write_page(nb, page, out, nav)

    assignments = []
    for folder in sorted(p for p in (ROOT / "assignments").iterdir() if p.is_dir()):
        shutil.copytree(folder, out / "assignments" / folder.name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for notebook in sorted(folder.glob("*.ipynb")):
            rel = f"assignments/{folder.name}/{notebook.stem}"
            page = Page(notebook, f"{rel}.html", f"{rel}.ipynb")
            nb = nbformat.read(notebook, as_version=4)  # rendered as released: not run
            describe(page, nb)
            page.points = nbgrader_points(nb)
            write_page(nb, page, out, nav_bar("../../", None, None))
            assignments.append(page)

    write_index(out, lectures, assignments, jobs)
    seconds = time.perf_counter() - start
    summary = {"out": str(out), "lectures": {p.source.name: p.run_seconds for p in lectures},
               "assignments": [p.html_path for p in assignments], "widgets": widget_count,
               "seconds": round(seconds, 1)}
    print(f"site built in {seconds:.0f} s: {out / 'index.html'} ({len(lectures)} lectures, "
          f"{len(assignments)} assignment notebooks, {widget_count} widgets as pictures)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "site"), help="output folder (emptied)")
    parser.add_argument("--no-execute", action="store_true",
                        help="render the lectures as committed, without running them (fast)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="lectures run at the same time")
    args = parser.parse_args(argv)
    build(Path(args.out), execute=not args.no_execute, timeout=args.timeout, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
