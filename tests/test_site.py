"""The static site (tools/build_site.py, `make site`): built into a temporary folder, checked
as files. Every lecture and student notebook has its page, every link of the index resolves,
no lecture page shows an error, and no page loads a script, style, font or image from another
host. (tests/test_browser.py also opens the pages in Chromium, offline.)"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILDER = ROOT / "tools" / "build_site.py"
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]-*.ipynb"))
STUDENT_NOTEBOOKS = sorted((ROOT / "assignments").glob("*/*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CSS_URL = re.compile(r"""(?:url\(\s*|@import\s+)["']?([^"')\s]+)""", re.IGNORECASE)


class References(HTMLParser):
    """What a page links to (<a href>) and what it makes the browser load."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.loads: list[str] = []  # script/img/iframe src, link href, CSS url() and @import
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("script", "img", "iframe", "source", "embed", "audio", "video") and attrs.get(
                "src"):
            self.loads.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])
        if attrs.get("style"):
            self.loads.extend(CSS_URL.findall(attrs["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.loads.extend(CSS_URL.findall(data))


def parse(path: Path) -> References:
    parser = References()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def is_remote(url: str) -> bool:
    return bool(urlsplit(url).scheme in ("http", "https") or url.startswith("//"))


def local_target(page: Path, url: str) -> Path:
    return (page.parent / unquote(urlsplit(url).path)).resolve()


# --------------------------------------------------------------------------- fast


def test_the_remote_reference_check_of_the_builder_catches_cdn_loads():
    spec = importlib.util.spec_from_file_location("build_site", BUILDER)
    builder = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, builder)  # dataclasses look their module up there
    spec.loader.exec_module(builder)
    remote = ['<script src="https://cdn.example.org/require.js"></script>',
              "<link rel='stylesheet' href='//fonts.example.org/css'>",
              "<style>@import url(https://example.org/a.css);</style>",
              '<div style="background: url(http://example.org/x.png)"></div>',
              '<img src="https://example.org/figure.png">']
    local = ['<script src="../mathjax/MathJax.js?config=x"></script>',
             '<a href="https://fleuret.org/dlc/">a citation is a link, not a load</a>',
             '<img src="data:image/png;base64,AAAA">']
    assert [bool(builder.remote_references(text)) for text in remote] == [True] * len(remote)
    assert [bool(builder.remote_references(text)) for text in local] == [False] * len(local)


# --------------------------------------------------------------------------- slow: one build


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(BUILDER), "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"site built in {time.perf_counter() - start:.0f} s")
    return out


def pages_of(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@pytest.mark.slow
def test_every_lecture_and_student_notebook_has_a_page(site):
    assert (site / "index.html").is_file()
    for lecture in LECTURES:
        assert (site / "lectures" / f"{lecture.stem}.html").is_file(), lecture.name
        assert (site / "lectures" / lecture.name).is_file(), f"{lecture.name} to download"
    for notebook in STUDENT_NOTEBOOKS:
        folder = site / "assignments" / notebook.parent.name
        assert (folder / f"{notebook.stem}.html").is_file(), notebook
        assert (folder / notebook.name).is_file(), f"{notebook} to download"
    assert len(pages_of(site)) == 1 + len(LECTURES) + len(STUDENT_NOTEBOOKS)


@pytest.mark.slow
def test_the_index_links_every_page_and_every_link_resolves(site):
    index = site / "index.html"
    links = [link for link in parse(index).links if not is_remote(link)]
    targets = {local_target(index, link) for link in links}
    missing = sorted(str(t.relative_to(site)) for t in targets if not t.exists())
    assert not missing, f"index links to missing files: {missing}"
    not_linked = [str(p.relative_to(site)) for p in pages_of(site) if p != index
                  and p.resolve() not in targets]
    assert not not_linked, f"pages the index does not link: {not_linked}"
    text = index.read_text(encoding="utf-8")
    for lecture in LECTURES:  # what it covers and how long it takes, from the notebook itself
        nb = nbformat.read(lecture, as_version=4)
        first_section = next(line[3:] for cell in nb.cells if cell.cell_type == "markdown"
                             for line in cell.source.splitlines() if line.startswith("## "))
        assert re.sub(r"^\d+\.\s*", "", first_section).split("$")[0].strip() in text, lecture.name
        assert "Time:" in text and "Runs in" in text


@pytest.mark.slow
def test_links_between_pages_resolve(site):
    broken = []
    for page in pages_of(site):
        for link in parse(page).links:
            if not is_remote(link) and not link.startswith(("#", "mailto:")):
                if not local_target(page, link).exists():
                    broken.append(f"{page.relative_to(site)} -> {link}")
    assert not broken, broken


@pytest.mark.slow
@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_page_is_executed_without_errors_and_shows_its_widgets(site, lecture):
    page = site / "lectures" / f"{lecture.stem}.html"
    text = page.read_text(encoding="utf-8")
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text, (
        f"{page.name} shows an error or stderr output")
    assert "Traceback (most recent call last)" not in text
    code_cells = [c for c in nbformat.read(lecture, as_version=4).cells if c.cell_type == "code"]
    assert text.count("jp-InputPrompt") >= len(code_cells)
    assert re.search(r"In(?:&nbsp;|\s)\[\d+\]:", text), f"{page.name} was not executed"
    assert 'src="data:image/png;base64,' in text, f"{page.name} has no embedded figure"
    assert WIDGET_MIME not in text, "widget views need a kernel: the page should show pictures"
    assert "course-widget-note" in text, f"{page.name}: its widgets' pictures are missing"


@pytest.mark.slow
def test_assignment_pages_are_rendered_without_running(site):
    for notebook in STUDENT_NOTEBOOKS:
        text = (site / "assignments" / notebook.parent.name / f"{notebook.stem}.html").read_text(
            encoding="utf-8")
        assert "YOUR CODE HERE" in text
        assert not re.search(r"In(?:&nbsp;|\s)\[\d+\]:", text), f"{notebook} was run"


@pytest.mark.slow
def test_no_page_loads_anything_from_another_host(site):
    remote, missing = [], []
    for page in pages_of(site):
        for url in parse(page).loads:
            if is_remote(url):
                remote.append(f"{page.relative_to(site)}: {url}")
            elif not url.startswith(("data:", "about:")) and not local_target(page, url).exists():
                missing.append(f"{page.relative_to(site)}: {url}")
    assert not remote, remote[:10]
    assert not missing, f"local files referenced but not in the site: {missing[:10]}"
    assert (site / "mathjax" / "MathJax.js").is_file()


class Images(HTMLParser):
    """The alt text of every <img> of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.alts: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


# matplotlib's repr, "<Figure size 750x430 with 1 Axes>", says nothing about the picture
BARE_FIGURE_REPR = re.compile(r"^\s*(<Figure size [^>]*>|figure|<IPython\.core\.display\.\w+ object>)?\s*$",
                              re.IGNORECASE)


def test_the_alt_text_check_tells_a_description_from_a_repr():
    assert BARE_FIGURE_REPR.match("<Figure size 750x430 with 1 Axes>")
    assert BARE_FIGURE_REPR.match("") and BARE_FIGURE_REPR.match("figure")
    assert not BARE_FIGURE_REPR.match("Figure. Loss on the straight line: training loss against s")


@pytest.mark.slow
@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_figure_of_a_lecture_page_has_alt_text_that_describes_it(site, lecture):
    parser = Images()
    parser.feed((site / "lectures" / f"{lecture.stem}.html").read_text(encoding="utf-8"))
    assert parser.alts, f"{lecture.name}: no figure on the page"
    bad = [alt for alt in parser.alts if alt is None or BARE_FIGURE_REPR.match(alt)]
    assert not bad, (f"{lecture.name}: {len(bad)} of {len(parser.alts)} figures have no "
                     f"description as alt text: {bad[:5]}")
