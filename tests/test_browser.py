"""The course as a student sees it: JupyterLab in headless Chromium, driven by Playwright.

One JupyterLab server (token, free localhost port) serves a temporary copy of the course for the
whole module, in one browser page; the repository is never written to. For every lecture the
tests open it (File > Open from Path), run all cells from the Run menu, wait for the kernel to
finish, save it, and check that:

- no cell shows an error or writes to stderr (in the page and in the saved notebook), and the
  page's JavaScript reported no error;
- every widget the kernel displayed is rendered as a widget (not an error, not the fallback PNG);
- every control of every widget works from the keyboard: each slider (focus, ArrowRight) and
  each drop-down menu (focus, ArrowDown) redraws the figure it drives (the PNG ``src``
  changes) or, for a widget without a figure, its text; a focusable control of any other kind
  fails the test until the test learns to operate it.

Then the problem set: the Validate button of nbgrader's JupyterLab extension is in the toolbar
of ``assignments/ps1/ps1.ipynb``; validating the blank release lists every graded cell as
failing, and validating the release with the model answers filled in reports success. Last, the
static site (tools/build_site.py) is opened from the file system with the network cut off.

Screenshots go to ``tests/_artifacts/screenshots`` (printed by the last test).

Chromium: Debian's ``chromium`` package (``/usr/bin/chromium``, or ``CHROMIUM`` in the
environment), driven by the ``playwright`` package from PyPI (its own browser download is not
used). Without Chromium or Playwright the tests are skipped with a loud reason, unless
``REQUIRE_BROWSER=1``, which makes a missing browser a failure (CI sets it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]-*.ipynb"))
ASSIGNMENT = "ps1"
ARTIFACTS = ROOT / "tests" / "_artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SERVER_LOG = ARTIFACTS / "browser-jupyter-server.log"

# The flags this machine needs: no sandbox as root, no GPU, and no background connections
# (the network is closed, and Chromium would otherwise keep retrying Google's hosts).
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_MS = 180_000  # one lecture, all cells in JupyterLab (headless: under 30 s, test_lectures.py)
VALIDATE_TIMEOUT_MS = 180_000
REDRAW_TIMEOUT_S = 30.0

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not _chromium():
        return ("Chromium is not installed (apt-get install -y chromium chromium-driver, "
                "or set CHROMIUM to its path)")
    return None


def _chromium() -> str | None:
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    return candidate if candidate and os.access(candidate, os.X_OK) else None


_MISSING = _missing_browser()
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"
if _MISSING and not REQUIRED:
    pytest.skip(f"BROWSER TESTS NOT RUN: {_MISSING}. The lectures, widgets and Validate button "
                "were NOT checked in a real browser. Set REQUIRE_BROWSER=1 to make this a failure.",
                allow_module_level=True)

if TYPE_CHECKING:
    from playwright.sync_api import Page

# --------------------------------------------------------------------------- server and browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """JupyterLab user settings for the test: every cell in the DOM, no pop-ups, no network."""
    settings = {
        # Virtual scrolling would detach cells that are off screen: keep them all in the DOM.
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = folder / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _copy_course(target: Path) -> None:
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(ROOT / "lectures", target / "lectures", ignore=skip)
    shutil.copytree(ROOT / "assignments", target / "assignments", ignore=skip)
    shutil.copy2(ROOT / "nbgrader_config.py", target / "nbgrader_config.py")


class Lab:
    """A running JupyterLab server on a temporary copy of the course."""

    def __init__(self, workdir: Path):
        self.course = workdir / "course"
        self.course.mkdir()
        _copy_course(self.course)
        _write_settings(workdir / "settings")
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{_free_port()}"
        env = dict(os.environ)
        env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # nbgrader runs alembic
                   JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
                   JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"),
                   IPYTHONDIR=str(workdir / "ipython"))
        env.pop("MPLBACKEND", None)  # kernels keep Jupyter's inline backend
        command = [str(BIN / "jupyter"), "lab", "--no-browser", "--allow-root",
                   "--ip=127.0.0.1", f"--port={self.base.rsplit(':', 1)[1]}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.course}",
                   f"--LabApp.user_settings_dir={workdir / 'settings'}",
                   f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
                   "--LabApp.extension_manager=readonly"]
        SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
        self._log = SERVER_LOG.open("w")
        # cwd = the course: nbgrader's Validate handler reads nbgrader_config.py from there.
        self.process = subprocess.Popen(command, cwd=self.course, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except Exception:
            self.stop()
            raise

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.process.returncode}); "
                                   f"see {SERVER_LOG}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s; see {SERVER_LOG}")

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def home(self) -> str:
        # reset: start from an empty workspace, not with notebooks of an earlier page open
        return f"{self.base}/lab?reset&token={self.token}"

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _need_browser() -> None:
    if _MISSING:  # only with REQUIRE_BROWSER=1: every test fails, the rest of the suite runs
        pytest.fail(f"REQUIRE_BROWSER=1 but {_MISSING}", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def fresh_screenshots():
    """Screenshots of this run only: an old picture must not pass for a new one."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)


@pytest.fixture(scope="module")
def lab():
    _need_browser()
    workdir = Path(tempfile.mkdtemp(prefix="course-browser-"))
    server = Lab(workdir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser_context():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright adds --headless, --no-sandbox and a fresh temporary --user-data-dir itself.
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()
            browser.close()


def start_lab(page: Page, lab: Lab) -> None:
    """Load JupyterLab with an empty workspace and wait for its menus."""
    page.goto(lab.home())
    page.get_by_role("menuitem", name="File", exact=True).wait_for()


@pytest.fixture(scope="module")
def lab_page(lab, browser_context):
    """One JupyterLab page for the module: notebooks are opened and closed in it (loading
    JupyterLab takes 4 to 12 s here, more than opening a notebook)."""
    page = browser_context.new_page()
    page.js_errors = []  # uncaught exceptions and console errors of the page
    page.on("pageerror", lambda error: page.js_errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: page.js_errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    start_lab(page, lab)
    yield page
    page.close()


@pytest.fixture
def page(lab, lab_page):
    lab_page.js_errors.clear()
    yield lab_page
    try:
        close_notebooks(lab_page)
    except Exception:  # a test that failed half-way may leave anything open: start afresh
        start_lab(lab_page, lab)
    lab.shut_down_kernels()


# --------------------------------------------------------------------------- page helpers

CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab
KERNEL_IDLE = r"""() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .some(item => /\| Idle$/.test(item.textContent.trim()))"""

# All queued cells have run (or been cancelled after an error) and the kernel is idle.
RUN_FINISHED = r"""() => {
    const prompts = [...document.querySelectorAll('%s .jp-CodeCell .jp-InputPrompt')]
        .map(prompt => prompt.textContent.trim());
    const idle = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
        .some(item => /\| Idle$/.test(item.textContent.trim()));
    return idle && prompts.some(p => /^\[\d+\]:$/.test(p)) && !prompts.includes('[*]:');
}""" % CURRENT


def open_notebook(page: Page, relative: str, n_cells: int) -> None:
    """Open a notebook with File > Open from Path; wait until all its cells are shown and its
    kernel is idle."""
    menu(page, "File", "Open from Path\u2026")
    page.locator(".jp-Dialog input").fill(relative)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """([name, n]) => {
            const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel');
            return tab && tab.textContent.trim() === name
                && document.querySelectorAll('%s .jp-Notebook .jp-Cell').length === n;
        }""" % CURRENT, arg=[Path(relative).name, n_cells])
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)


def close_notebooks(page: Page) -> None:
    """Close every open notebook tab, discarding unsaved changes."""
    close_icons = "#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabCloseIcon"
    for _ in range(10):
        if page.locator(".jp-Dialog").count():
            page.keyboard.press("Escape")
        open_tabs = page.locator(close_icons).count()
        if not open_tabs:
            return
        page.locator(close_icons).first.click()
        # Either the tab closes, or JupyterLab asks about unsaved changes.
        page.wait_for_function(
            "([selector, n]) => document.querySelector('.jp-Dialog') "
            "|| document.querySelectorAll(selector).length < n", arg=[close_icons, open_tabs])
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog button", has_text="Discard").click()
    raise RuntimeError("could not close the notebooks")


def menu(page: Page, top: str, item: str) -> None:
    page.get_by_role("menuitem", name=top, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def save_and_read(page: Page, path: Path, timeout: float = 30.0):
    """Save the notebook in the current tab (Ctrl+S) and read what JupyterLab wrote."""
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout
    while path.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, f"JupyterLab did not save {path.name}"
        page.wait_for_timeout(200)
    page.wait_for_function("""() => !document.querySelector(
        '.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')""")
    return nbformat.read(path, as_version=4)


def error_outputs_in_page(page: Page) -> list[str]:
    """Texts of the outputs JupyterLab shows as errors or stderr."""
    return page.eval_on_selector_all(
        f"{CURRENT} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        "nodes => nodes.map(node => node.innerText.slice(0, 800))")


def problems_in_saved(nb) -> list[str]:
    """Error outputs and stderr of a saved notebook, with the cell index."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index} stderr: {output.get('text', '')[:300]}")
    return found


def widget_views_in_saved(nb) -> int:
    return sum(WIDGET_MIME in output.get("data", {})
               for cell in nb.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


WIDGET_OUTPUTS = f"{CURRENT} .jp-OutputArea-output:has(> .jupyter-widgets)"

# What a widget shows apart from its own controls: pictures and text (readouts excluded).
WIDGET_STATE = """node => ({
    images: [...node.querySelectorAll('img')].map(img => img.src),
    text: [...node.querySelectorAll('.widget-html-content, .jp-OutputArea-output pre')]
        .map(element => element.innerText).join('\\n'),
})"""


def _wait_for_change(page: Page, widget, part: str, before) -> bool:
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    changed = False
    while not changed and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        changed = widget.evaluate(WIDGET_STATE)[part] != before[part]
    page.wait_for_function(KERNEL_IDLE)
    return changed


def move_slider(page: Page, widget, index: int, shot_prefix: Path) -> str:
    """Press ArrowRight (ArrowLeft at the maximum) on the widget's ``index``-th slider; check
    that the picture (or, without one, the text) it drives changes. Returns a one-line report."""
    handle = widget.locator(".noUi-handle").nth(index)
    before = widget.evaluate(WIDGET_STATE)
    what, part = ("figure", "images") if before["images"] else ("text", "text")
    value_before = handle.get_attribute("aria-valuenow")
    key = "ArrowLeft" if value_before == handle.get_attribute("aria-valuemax") else "ArrowRight"
    widget.screenshot(path=f"{shot_prefix}-slider{index + 1}-before.png")
    handle.focus()
    page.keyboard.press(key)
    changed = _wait_for_change(page, widget, part, before)
    widget.screenshot(path=f"{shot_prefix}-slider{index + 1}-after.png")
    value_after = handle.get_attribute("aria-valuenow")
    assert value_after != value_before, f"{key} did not move slider {index + 1} ({value_before})"
    assert changed, (
        f"moving slider {index + 1} from {value_before} to {value_after} did not change the "
        f"{what} within {REDRAW_TIMEOUT_S:.0f} s; see {shot_prefix}-slider{index + 1}-after.png")
    assert "could not redraw" not in widget.inner_text(), widget.inner_text()[:500]
    return f"slider {index + 1} {value_before} -> {value_after}: {what} changed"


def choose_with_keys(page: Page, widget, index: int, shot_prefix: Path) -> str:
    """Give the widget's ``index``-th drop-down (a <select>) the keyboard focus (directly, or
    with Shift+Tab from the slider after it), open it and take the next option with the keys;
    check that the choice and the picture (or text) change."""
    select = widget.locator(".widget-dropdown select").nth(index)
    has_focus = "node => document.activeElement === node"
    before = widget.evaluate(WIDGET_STATE)
    what, part = ("figure", "images") if before["images"] else ("text", "text")
    chosen_before = select.evaluate("node => node.value")
    # Open the list with Alt+ArrowDown, move with ArrowDown (ArrowUp at the end), take it with
    # Enter. No letters: JupyterLab's command-mode shortcuts (m, y, a, b, ...) also fire on a
    # focused <select>.
    last = select.evaluate("node => node.selectedIndex === node.options.length - 1")
    key = "ArrowUp" if last else "ArrowDown"
    select.focus()
    if not select.evaluate(has_focus) and widget.locator(".noUi-handle").count():
        widget.locator(".noUi-handle").first.focus()
        page.keyboard.press("Shift+Tab")
    assert select.evaluate(has_focus), f"menu {index + 1} cannot get the keyboard focus"
    for stroke in ("Alt+ArrowDown", key, "Enter"):
        page.keyboard.press(stroke)
        page.wait_for_timeout(150)
    changed = _wait_for_change(page, widget, part, before)
    widget.screenshot(path=f"{shot_prefix}-menu{index + 1}-after.png")
    chosen_after = select.evaluate("node => node.value")
    assert chosen_after != chosen_before, (f"Alt+ArrowDown, {key}, Enter did not change menu "
                                           f"{index + 1} ({chosen_before})")
    assert changed, (f"choosing {chosen_after!r} in menu {index + 1} did not change the {what} "
                     f"within {REDRAW_TIMEOUT_S:.0f} s")
    assert "could not redraw" not in widget.inner_text(), widget.inner_text()[:500]
    return f"menu {index + 1} {chosen_before} -> {chosen_after}: {what} changed"


# Controls the tests know how to operate from the keyboard. A widget with any other focusable
# control fails: extend operate_every_control before using a new kind of control in a lecture.
KNOWN_CONTROLS = ".noUi-handle, .widget-dropdown select"
FOCUSABLE = "input, select, button, textarea, [tabindex]:not([tabindex='-1'])"


def operate_every_control(page: Page, widget, shot_prefix: Path) -> list[str]:
    """Every control of a widget, operated with the keyboard only; one report per control."""
    reports = [move_slider(page, widget, i, shot_prefix)
               for i in range(widget.locator(".noUi-handle").count())]
    reports += [choose_with_keys(page, widget, i, shot_prefix)
                for i in range(widget.locator(".widget-dropdown select").count())]
    unknown = widget.evaluate(f"""node => [...node.querySelectorAll("{FOCUSABLE}")]
        .filter(element => !element.matches("{KNOWN_CONTROLS}")
                && !element.closest('.widget-readout, .jp-OutputArea-output img')
                && element.offsetParent !== null)
        .map(element => element.outerHTML.slice(0, 120))""")
    assert not unknown, f"controls the test cannot operate from the keyboard: {unknown}"
    return reports


# --------------------------------------------------------------------------- the tests

TIMES: dict[str, float] = {}


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_and_its_widgets_respond(path, lab, page):
    start = time.perf_counter()
    relative = f"lectures/{path.name}"
    copied = nbformat.read(lab.course / relative, as_version=4)
    open_notebook(page, relative, len(copied.cells))
    opened = time.perf_counter()
    # Committed lectures have no outputs; clearing makes sure old prompts cannot pass for new.
    menu(page, "Edit", "Clear Outputs of All Cells")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_TIMEOUT_MS, polling=500)
    ran = time.perf_counter()
    saved = save_and_read(page, lab.course / relative)
    page.evaluate(f"() => document.querySelector('{CURRENT} .jp-WindowedPanel-outer')"
                  ".scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"))

    in_page = error_outputs_in_page(page)
    assert not in_page, f"{path.name} shows errors in JupyterLab:\n" + "\n---\n".join(in_page)
    assert not problems_in_saved(saved), "\n".join(problems_in_saved(saved))
    not_run = [i for i, cell in enumerate(saved.cells)
               if cell.cell_type == "code" and cell.source.strip() and not cell.execution_count]
    assert not not_run, f"{path.name}: cells {not_run} did not run"

    expected = widget_views_in_saved(saved)
    widgets = page.locator(WIDGET_OUTPUTS)
    assert expected >= 1, f"{path.name} displays no widget"
    assert widgets.count() == expected, (
        f"{path.name}: the kernel displayed {expected} widgets, JupyterLab renders "
        f"{widgets.count()}")
    reports = []
    for index in range(expected):
        widget = widgets.nth(index)
        widget.scroll_into_view_if_needed()
        text = widget.inner_text()
        assert "Error displaying widget" not in text, f"widget {index}: {text[:300]}"
        shot = SCREENSHOTS / f"{path.stem}-widget{index + 1}"
        operated = operate_every_control(page, widget, shot)
        if not operated:
            widget.screenshot(path=f"{shot}.png")
        reports += [f"widget {index + 1}: {report}" for report in operated] or [
            f"widget {index + 1}: no control"]
    assert any("changed" in report for report in reports), (
        f"{path.name} has no control that redraws anything: {reports}")
    assert not page.js_errors, f"{path.name}: errors in the page's JavaScript: {page.js_errors}"
    TIMES[path.name] = round(time.perf_counter() - start, 1)
    print(f"{path.name}: {TIMES[path.name]} s (open {opened - start:.1f}, run all "
          f"{ran - opened:.1f}); " + "; ".join(reports))


def _solved_release(course: Path) -> str:
    """Write the release notebook with every answer cell holding the model answer (as a
    student who got everything right would hand it in); return its path in the course."""
    sys.path.insert(0, str(ROOT / "tests" / "submissions"))
    try:
        import build  # tests/submissions/build.py: the submission bank's builder
    finally:
        sys.path.pop(0)
    release = nbformat.read(ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    answers = build.solution_answers(source)  # code answers, solution markers removed
    answers.update({cell.metadata.nbgrader["grade_id"]: cell.source for cell in source.cells
                    if cell.cell_type == "markdown"
                    and cell.metadata.get("nbgrader", {}).get("solution")})  # written answers
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    relative = f"solved/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    (course / relative).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(release, course / relative)
    return relative


def _graded_cells(nb) -> list:
    """The cells nbgrader's Validate checks: visible tests and written answers."""
    return [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")]


def validate(page: Page, lab: Lab, relative: str, shot: str) -> tuple[str, str]:
    """Click Validate; return (result class, dialog text)."""
    nb = nbformat.read(lab.course / relative, as_version=4)
    open_notebook(page, relative, len(nb.cells))
    button = page.locator(f"{CURRENT} .jp-NotebookPanel-toolbar .validate-button")
    assert button.count() == 1, "nbgrader's Validate button is not in the notebook toolbar"
    button.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / shot))
    classes = message.get_attribute("class") or ""
    result = next((c for c in classes.split() if c.startswith("validation-")), classes)
    text = message.inner_text()
    page.locator(".jp-Dialog .jp-mod-accept").click()  # OK
    return result, text


def test_validate_button_fails_the_blank_release(lab, page):
    relative = f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    result, text = validate(page, lab, relative, f"{ASSIGNMENT}-validate-blank.png")
    assert result == "validation-failed", text[:2000]
    graded = _graded_cells(nbformat.read(lab.course / relative, as_version=4))
    listed = text.count("The following cell failed:")
    assert listed == len(graded), f"{listed} cells listed as failing, {len(graded)} graded:\n{text}"
    missing = [cell.source.splitlines()[0] for cell in graded
               if cell.cell_type == "code" and cell.source.splitlines()[0] not in text]
    assert not missing, f"failing tests not listed: {missing}"
    assert "NotImplementedError" in text, "the tests should fail on the answer stubs"


def test_validate_button_passes_the_model_answers(lab, page):
    relative = _solved_release(lab.course)
    result, text = validate(page, lab, relative, f"{ASSIGNMENT}-validate-solved.png")
    assert result == "validation-success", text[:3000]
    assert "Success! Your notebook passes all the tests." in text


def test_site_pages_render_offline(browser_context, tmp_path):
    """The static site (tools/build_site.py) opened from the file system with the network cut:
    MathJax typesets from the local copy, the index links to working pages, nothing remote."""
    out = tmp_path / "site"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out),
                    "--no-execute"], check=True, capture_output=True, timeout=300)
    remote = []

    def refuse(route):
        remote.append(route.request.url)
        route.abort()

    page = browser_context.new_page()
    page.route(re.compile(r"^(https?|wss?)://"), refuse)
    try:
        page.goto((out / "index.html").as_uri())
        page.wait_for_function(MATH_TYPESET, timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "site-index.png"), full_page=True)
        lecture_links = page.locator("a[href^='lectures/'][href$='.html']")
        assert lecture_links.count() >= len(LECTURES)
        lecture_links.first.click()
        page.wait_for_load_state()
        assert page.url.endswith(f"{LECTURES[0].stem}.html")
        page.wait_for_function(MATH_TYPESET, timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "site-lecture.png"))
        errors = page.locator(".MathJax_Error, .merror").count()
        assert errors == 0, f"{errors} formulas failed to typeset"
    finally:
        page.close()
    assert not remote, f"the site asked for remote resources: {remote}"


# MathJax 2 has typeset the page: its queue is empty and formulas were rendered.
MATH_TYPESET = """() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0
    && MathJax.Hub.queue.running === 0
    && document.querySelectorAll('.MathJax, .MathJax_Display').length > 0"""


def test_screenshots_were_saved(capsys):
    if not TIMES:
        pytest.skip("no lecture ran in the browser in this session")
    shots = sorted(SCREENSHOTS.glob("*.png"))
    with capsys.disabled():
        print(f"\n[browser] screenshots: {SCREENSHOTS} ({len(shots)} files); "
              f"server log: {SERVER_LOG}; seconds per lecture: {TIMES}")
    for name in TIMES:
        assert (SCREENSHOTS / f"{Path(name).stem}.png").is_file(), f"no screenshot of {name}"
