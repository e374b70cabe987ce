"""Student mode (`make lab` in a student copy, tools/lab.py): the copy's own Jupyter configuration
hides the instructor's nbgrader panels and server extensions, keeps Validate, and a student's work
lives in an untracked folder that a course update (`git pull`) never conflicts with.

A real JupyterLab server is started on a free localhost port with a token; its served page
configuration and routes are read over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab  # noqa: E402  (tools/lab.py)

pytestmark = pytest.mark.slow


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=True)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("students") / "course"
    done = subprocess.run([sys.executable, ROOT / "tools" / "student_copy.py", dest],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""  # not listening yet


def test_the_copy_runs_in_student_mode(copy):
    done = subprocess.run([sys.executable, copy / "tools" / "lab.py", "--sync-only"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Student mode" in done.stdout
    for relative in lab._course_files(copy):
        assert (copy / "work" / relative).read_bytes() == (copy / relative).read_bytes(), relative
    assert not lab.is_student_copy(ROOT) and lab.is_student_copy(copy)


def test_student_server_hides_instructor_panels_and_keeps_validate(copy, tmp_path):
    # Control: nbgrader's own installed configuration turns the formgrader on, so a 404 below is
    # the copy's configuration at work, not a route that never existed.
    installed = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "nbgrader.json"
    extensions = json.loads(installed.read_text())["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is True
    lab.sync_work_folder(copy)
    port, token = _free_port(), secrets.token_hex(16)
    home = dict(os.environ, HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    env = lab.student_environment(copy, home)
    command = lab.lab_command(copy, True, [f"--port={port}", "--ServerApp.ip=127.0.0.1",
                                           f"--IdentityProvider.token={token}", "--no-browser"])
    server = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status, _ = _get(f"{base}/api/status?token={token}")
            if status == 200:
                break
            assert server.poll() is None, server.stderr.read()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 90 s")
        status, page = _get(f"{base}/lab/tree/lectures?token={token}")
        assert status == 200
        data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                         page, re.S)
        config = json.loads(data.group(1))
        disabled = config.get("disabledExtensions", [])
        disabled = list(disabled) if not isinstance(disabled, dict) else [k for k, v in disabled.items() if v]
        for plugin in lab.HIDDEN_LAB_PLUGINS:
            assert plugin in disabled, (plugin, disabled)
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        assert _get(f"{base}/formgrader?token={token}")[0] == 404
        assert _get(f"{base}/formgrader/gradebook?token={token}")[0] == 404
        import nbgrader

        status, reply = _get(f"{base}/nbgrader_version?version={nbgrader.__version__}&token={token}")
        assert status == 200 and json.loads(reply)["success"], reply  # Validate's extension is on
        assert not list(copy.rglob("gradebook.db"))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_pulling_a_course_update_never_loses_a_students_work(copy, tmp_path):
    upstream, student = tmp_path / "upstream", tmp_path / "student"
    subprocess.run(["cp", "-r", str(copy), str(upstream)], check=True)
    for folder in ("work", ".jupyter-student"):
        subprocess.run(["rm", "-rf", str(upstream / folder)], check=True)
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", "-A")
    _git(upstream, "commit", "-qm", "term starts")
    subprocess.run(["git", "clone", "-q", str(upstream), str(student)], check=True, timeout=120)
    lab.sync_work_folder(student)
    edited = student / "work" / "assignments" / "ps1" / "ps1.ipynb"
    untouched = student / "work" / "lectures" / "02-forward-mode.ipynb"
    mine = json.loads(edited.read_text())
    mine["cells"][-1]["source"] = "my answer, written over two evenings"
    edited.write_text(json.dumps(mine))
    # errata: the course changes the notebook the student edited and one the student did not
    for name in ("assignments/ps1/ps1.ipynb", "lectures/02-forward-mode.ipynb"):
        notebook = json.loads((upstream / name).read_text())
        notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Erratum."})
        (upstream / name).write_text(json.dumps(notebook, indent=1))
    _git(upstream, "commit", "-qam", "errata")
    pulled = _git(student, "pull", "-q", "--no-rebase")
    assert pulled.returncode == 0
    events = lab.sync_work_folder(student)
    assert json.loads(edited.read_text())["cells"][-1]["source"] == "my answer, written over two evenings"
    update = edited.with_name("ps1.course-update.ipynb")
    assert json.loads(update.read_text())["cells"][-1]["source"] == "Erratum."
    assert json.loads(untouched.read_text())["cells"][-1]["source"] == "Erratum."
    assert any("kept your assignments/ps1/ps1.ipynb" in e for e in events), events
    assert any("updated lectures/02-forward-mode.ipynb" in e for e in events), events
    assert _git(student, "status", "--porcelain").stdout.strip() == ""  # work/ is untracked and ignored
