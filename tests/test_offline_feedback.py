"""Feedback pages typeset their formulas offline: `nbgrader generate_feedback` (the course's
configuration) copies MathJax into feedback/mathjax/ and the pages load it from there.

Real nbgrader (generate, autograde, generate_feedback) in a temporary course; the page is opened
from the file system in headless Chromium with every network request refused. The two checks
(``assert_loads_local_mathjax``, ``typeset_offline``) also serve tests/test_formgrader_ui.py, for
the feedback the formgrader's "Generate Feedback" button writes through the running server.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nbgrader_course import BIN, ROOT, environment, make_course, nbgrader
from test_browser import ARTIFACTS, CHROMIUM_ARGS, MATH_TYPESET, _chromium, _free_port, _need_browser

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SERVER_START_S = 90


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


class Server:
    """A Jupyter server started by ``command`` in ``course`` (its own process group)."""

    def __init__(self, command, course: Path, home: Path, log: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        env = environment(dict(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
                               JUPYTER_DATA_DIR=str(home / "data"),
                               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython")))
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [*command, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}"],
            cwd=course, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)  # tools/lab.py starts jupyter lab as its child: stop both
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        pytest.fail(f"the server did not start within {SERVER_START_S} s: {self.log_path}")

    def url(self, path: str) -> str:
        """The address of ``path`` (below the server's base URL), with the token."""
        return f"{self.base}/{path}?token={self.token}"

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self._log.close()


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
    seen = _typeset(lambda page: page.goto(page_path.as_uri()))
    return seen["typeset"], seen["errors"], seen["refused"]


def _typeset(goto, server=None) -> dict:
    """Run ``goto(page)`` in headless Chromium, every network request refused (but those to
    ``server``, if given); wait for MathJax; the typeset and error counts, the MathJax scripts
    loaded from the server (paths) and the refused requests."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    refused, scripts = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def route(request_route):
                url = request_route.request.url
                if server is not None and url.startswith(server.base + "/"):
                    if "MathJax.js" in url:
                        scripts.append(url[len(server.base):].split("?")[0])
                    request_route.continue_()
                else:
                    refused.append(url)
                    request_route.abort()

            page.route(re.compile(r"^(https?|wss?)://" if server is None else r".*"), route)
            goto(page)
            page.wait_for_function(MATH_TYPESET, timeout=60_000)
            typeset = page.locator(".MathJax, .MathJax_Display").count()
            errors = page.locator(".MathJax_Error, .merror").count()
        finally:
            browser.close()
    return {"typeset": typeset, "errors": errors, "scripts": scripts, "refused": refused}


def test_feedback_loads_mathjax_from_the_course_not_a_cdn(feedback):
    assert_loads_local_mathjax(feedback, feedback / "alice" / "ps1" / "ps1.html")


def test_feedback_typesets_formulas_with_the_network_cut(feedback):
    typeset, errors, refused = typeset_offline(feedback / "alice" / "ps1" / "ps1.html")
    assert typeset > 5 and errors == 0, (typeset, errors)
    assert not [url for url in refused if "mathjax" in url.lower()], refused


# --- a page alone, as nbgrader's exchange hands it to a student (on a JupyterHub) --------------
@pytest.fixture(scope="module")
def lone_page_server(feedback, tmp_path_factory):
    """A plain Jupyter server (the course's environment) whose folder holds only the feedback
    page: what a student has after fetching feedback, with no MathJax copy beside it."""
    _need_browser()
    folder = tmp_path_factory.mktemp("student")
    shutil.copy(feedback / "alice" / "ps1" / "ps1.html", folder / "ps1.html")
    home = tmp_path_factory.mktemp("home")
    server = Server([BIN / "jupyter", "server", "--allow-root"], folder, home,
                    ARTIFACTS / "lone-feedback-server.log")
    try:
        yield server, folder / "ps1.html"
    finally:
        server.stop()


def test_a_fetched_page_alone_typesets_with_its_jupyter_servers_mathjax(lone_page_server):
    """Opened from the student's own server (``.../files/...``, as on a JupyterHub, where the
    exchange delivers the page without the folder beside it): MathJax comes from that server's
    jupyter-server-mathjax, and no request leaves it (no CDN)."""
    server, _ = lone_page_server
    seen = _typeset(lambda page: page.goto(server.url("files/ps1.html")), server)
    assert seen["typeset"] > 5 and seen["errors"] == 0, seen
    assert seen["scripts"] == ["/mathjax/MathJax.js", "/static/jupyter_server_mathjax/MathJax.js"], seen
    assert seen["refused"] == [], seen


def test_a_fetched_page_in_jupyterlabs_html_viewer_finds_the_server_by_its_base(lone_page_server):
    """JupyterLab's HTML viewer shows a page in a frame whose address is not the file's but whose
    ``<base href>`` is: the server's MathJax is found from the base, and nothing else is asked."""
    server, page_path = lone_page_server
    html = page_path.read_text()
    with_base = html.replace("<head>", f'<head><base href="{server.base}/files/">', 1)
    assert with_base != html

    seen = _typeset(lambda page: page.set_content(with_base), server)  # at about:blank
    assert seen["typeset"] > 5 and seen["errors"] == 0, seen
    assert seen["scripts"][-1] == "/static/jupyter_server_mathjax/MathJax.js", seen
    assert [url for url in seen["refused"] if url.startswith("http")] == [], seen


def test_control_the_same_page_alone_from_the_file_system_asks_the_cdn(lone_page_server):
    """Control: without a server (a file opened directly) the page has no MathJax to find but the
    CDN; with the network cut, nothing is typeset."""
    _, page_path = lone_page_server
    from playwright.sync_api import sync_playwright

    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(re.compile(r"^(https?|wss?)://"),
                       lambda route: (refused.append(route.request.url), route.abort()))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load", timeout=60_000)
            has_mathjax = page.evaluate("() => !!window.MathJax")
        finally:
            browser.close()
    assert not has_mathjax
    assert any("cdnjs" in url for url in refused), refused
