"""The course on a real multi-user JupyterHub, end to end, with the files in deploy/ and the
commands of docs/deploying.md.

One module-scoped hub (PyPI ``jupyterhub``, npm ``configurable-http-proxy`` from
``.ci/install-hub.sh``) is configured by ``deploy/jupyterhub_config.py`` with the settings of
``deploy/mlp.env`` pointed at a temporary folder: PAM log-in with real passwords, each user's
JupyterLab started as that system user (LocalProcessSpawner), the formgrader as a hub-managed
service run by the grader account, nbgrader's shared-folder exchange made by
``deploy/setup-exchange.sh``. The system users (one grader/instructor, two students) are created
for the test with unique names and removed afterwards, even when a step fails. Every request goes
through the hub's proxy with a user's API token: the hub's REST API, each student's server
(nbgrader's assignment list and Validate handlers, Jupyter's contents API) and the formgrader's
API. The steps, in order (each test relies on the ones before):

1. the instructor generates and releases PS1; each student fetches it, fills it (one with the
   model answers, one with a mistake from the PS1 bank), validates and submits;
2. the instructor collects and autogrades with the course's sandboxed grader (a check with a bug,
   as happens), grades the written answers by hand, generates and releases feedback; each student
   fetches feedback and sees their own score, and nothing of the other student's; the grading
   page shows each manually graded cell's rubric section and loads no script from a CDN (the
   course's formgrader extension), and the feedback pages load the term's copy of MathJax;
3. a student, as that system user, cannot read another student's work, list the exchange's
   inbound folder, read the instructor's source and checks, or take over the course's exchange
   folder; a student's server has no formgrader and cannot reach the course's formgrader service;
4. errata: the instructor fixes the check, regrades everyone (``python -m autograder.parallel``
   as the grader account, what the instructor types in a terminal), the manual grades are kept,
   feedback is released again and the students see their new scores;
5. a student in headless Chromium logs in, opens the Assignments tab, fetches and submits; the
   instructor opens the formgrader in its own tab.

The users' servers need a Python they can run: the repository's .venv is used when they can, else
a relocated copy of its interpreter in the temporary folder (``readable_environment``; on CI the
venv's Python lives under /root). Static checks (no hub): ``deploy/student-config`` and
``deploy/Dockerfile`` name real nbgrader extensions and agree; the runbook names existing files.
This module is longer than most (one scenario on one shared hub, step by step); its helpers
serve only it.

Runs as root (CI). Without root no system user can be made: the test is skipped with that reason.
A missing proxy fails the test under ``CI=1`` and skips it otherwise.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "tests" / "submissions" / "build.py").exists():  # e.g. in the student copy
    pytest.skip("the hub test needs the instructor's repository (tests/submissions, tools/)",
                allow_module_level=True)
sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import build  # noqa: E402  (tests/submissions/build.py)
from test_browser import MATH_TYPESET  # noqa: E402
from test_term import MANUAL, POINTS  # noqa: E402  (PS1's points; the manual grades given)


def hub_test(function):
    """A step on the real hub: needs root, JupyterHub and its proxy; a few minutes in all."""
    return pytest.mark.slow(pytest.mark.hub(function))


BIN = ROOT / ".venv" / "bin"
DEPLOY = ROOT / "deploy"
PROXY = ROOT / ".venv" / "node" / "bin" / "configurable-http-proxy"
ARTIFACTS = ROOT / "tests" / "_artifacts"
PS1 = build.load_bank("ps1")
ENTRIES = ("solution", "mistake_central_over_h")  # student a, student b
BUGGY_CHECK = ("expected = z_reference(x, 20 if n is None else n)",
               "expected = z_reference(x, 21 if n is None else n)")  # the errata of step 4
SCORE = re.compile(r"ps1 \(Score: ([0-9.]+) / ([0-9.]+)\)")
DEADLINE = 180.0  # seconds for any one wait (a server start, a request)


def _missing() -> str | None:
    if not PROXY.exists():
        return f"configurable-http-proxy is missing at {PROXY}: run bash .ci/install-hub.sh"
    if not (BIN / "jupyterhub").exists():
        return "jupyterhub is not installed in .venv: pip install -e '.[dev]'"
    return None


def _require() -> None:
    """Skip without root (no system users can be made); a missing hub fails under CI=1."""
    if os.geteuid() != 0:
        pytest.skip("the hub test creates system users (useradd) and starts servers as them: it "
                    "needs root (CI runs as root)")
    missing = _missing()
    if missing and os.environ.get("CI") == "1":
        pytest.fail(f"CI=1 but the hub test cannot run: {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_user(user: str, *command, cwd: str | Path = "/", timeout: float = 300, env=None,
            bin_dir: Path = BIN):
    """``command`` run as the system user ``user`` (runuser), with ``bin_dir`` first on PATH."""
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir,
                   "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i",
                           *[f"{k}={v}" for k, v in environment.items()], *map(str, command)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ok(result, what: str):
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def readable_by_everyone(path: Path) -> list[str]:
    """The components of ``path`` another user could not traverse (empty: all can)."""
    closed = []
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            closed.append(f"{part} ({stat.filemode(mode)})")
    return closed


def readable_environment(base: Path, user: str) -> Path:
    """A course environment ``user`` can run: .venv itself when they can, else a copy in ``base``.

    .venv here is made from a Python under /root, which other users cannot enter. The copy: the
    same interpreter (its library search path rewritten from /root/... to ``$ORIGIN/../lib``, the
    same length padded with NULs), hard links to its standard library, a ``.pth`` line adding
    .venv's site-packages (and so the editable course install), and .venv's ``share/`` and
    ``etc/`` (JupyterLab, nbgrader's extensions), with .venv's console scripts pointed at it.
    """
    probe = as_user(user, BIN / "python", "-c", "import mlpkit, nbgrader, autograder, jupyterhub")
    if probe.returncode == 0:
        return ROOT / ".venv"
    real = Path(os.path.realpath(BIN / "python"))  # e.g. /root/.pyenv/versions/3.11.7/bin/python3.11
    home = real.parent.parent
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    venv = base / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib").mkdir()
    binary = real.read_bytes()
    old, new = str(home / "lib").encode(), b"$ORIGIN/../lib"
    if binary.count(old) != 1 or len(new) > len(old):
        pytest.fail(f"{user} cannot run .venv ({probe.stderr.strip()}) and its interpreter {real} "
                    "cannot be relocated", pytrace=False)
    python = venv / "bin" / version
    python.write_bytes(binary.replace(old, new + b"\0" * (len(old) - len(new))))
    python.chmod(0o755)
    (venv / "bin" / "python").symlink_to(version)
    for library in (home / "lib").glob("libpython*.so*"):
        os.link(library, venv / "lib" / library.name)
    shutil.copytree(home / "lib" / version, venv / "lib" / version, copy_function=os.link,
                    ignore=lambda folder, names: [n for n in names if n in ("site-packages", "test")
                                                  and Path(folder) == home / "lib" / version])
    site_packages = ROOT / ".venv" / "lib" / version / "site-packages"
    (venv / "lib" / version / "site-packages").mkdir()
    (venv / "lib" / version / "site-packages" / "mlp-course-env.pth").write_text(
        f"import site; site.addsitedir({str(site_packages)!r})\n")
    for shared in ("share", "etc"):
        (venv / shared).symlink_to(ROOT / ".venv" / shared)
    for script in BIN.iterdir():  # console scripts (jupyterhub-singleuser, nbgrader, alembic...)
        target = venv / "bin" / script.name
        if script.is_symlink() or not script.is_file() or target.exists():
            continue
        first, _, rest = script.read_bytes().partition(b"\n")
        if first.startswith(b"#!" + str(BIN).encode() + b"/python"):
            target.write_bytes(f"#!{venv / 'bin' / 'python'}\n".encode() + rest)
            target.chmod(0o755)
    ok(as_user(user, venv / "bin" / "python", "-c", "import mlpkit, nbgrader, autograder, jupyterhub"),
       "the readable course environment")
    return venv


class Users:
    """System users made for the test: unique names, random passwords, homes in ``base``."""

    def __init__(self, base: Path):
        self.base = base
        self.passwords: dict[str, str] = {}
        tag = secrets.token_hex(3)
        self.grader, self.student_a, self.student_b = (f"mlpg{tag}", f"mlpa{tag}", f"mlpb{tag}")

    def create(self) -> None:
        for name in (self.grader, self.student_a, self.student_b):
            home = self.base / "home" / name
            ok(subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell",
                               "/bin/bash", "--user-group", name], capture_output=True, text=True),
               f"useradd {name}")
            self.passwords[name] = secrets.token_urlsafe(12)
            home.chmod(0o700)
            ok(subprocess.run(["chpasswd"], input=f"{name}:{self.passwords[name]}\n",
                              capture_output=True, text=True), f"chpasswd {name}")

    def processes(self) -> dict[str, list[str]]:
        """user -> command lines of their running processes (only users that have any)."""
        found = {}
        for name in self.passwords:
            commands = []
            for pid in _pids_of(pwd.getpwnam(name).pw_uid):
                try:
                    commands.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                                    .decode(errors="replace")[:200])
                except OSError:
                    continue
            if commands:
                found[name] = commands
        return found

    def remove(self) -> None:
        for name in list(self.passwords):
            try:
                uid = pwd.getpwnam(name).pw_uid
            except KeyError:
                continue
            for _ in range(2):  # what the test started as them and did not stop
                for pid in _pids_of(uid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.2)
            subprocess.run(["userdel", "--remove", name], capture_output=True)
            subprocess.run(["groupdel", name], capture_output=True)


def _pids_of(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        line = next((li for li in text.splitlines() if li.startswith("Uid:")), "")
        if line.split()[1:2] == [str(uid)]:
            found.append(int(status.parent.name))
    return found


def env_file(path: Path) -> dict:
    """The settings of deploy/mlp.env (the runbook's file): NAME=value lines, shell quoting."""
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            settings[name.strip()] = value.strip().strip('"')
    return settings


class Client:
    """Requests through the hub's proxy with one API token."""

    def __init__(self, base_url: str, token: str):
        import requests

        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def call(self, method: str, path: str, expect=(200, 201, 202, 204), **kwargs):
        response = self.session.request(method, f"{self.base}/{path.lstrip('/')}",
                                        timeout=DEADLINE, allow_redirects=False, **kwargs)
        if expect is not None:
            assert response.status_code in expect, (
                f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response

    def json(self, method: str, path: str, **kwargs):
        return self.call(method, path, **kwargs).json()


class Hub:
    def __init__(self, base: Path):
        self.base = base
        self.users = Users(base)
        self.state = base / "state"
        self.exchange = base / "srv" / "nbgrader" / "exchange"
        self.etc_jupyter = base / "etc" / "jupyter"
        self.process: subprocess.Popen | None = None
        self.log_path = ARTIFACTS / "hub.log"
        self.settings = env_file(DEPLOY / "mlp.env")
        self.course = "mlp-hubtest"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.admin_token = secrets.token_hex(32)
        self.tokens: dict[str, str] = {}

    @property
    def course_dir(self) -> Path:
        return Path(pwd.getpwnam(self.users.grader).pw_dir) / self.course

    # ------------------------------------------------------------- the runbook's set-up
    def set_up(self) -> None:
        u = self.users
        u.create()
        self.venv = readable_environment(self.base, u.student_a)
        ok(subprocess.run(["bash", DEPLOY / "setup-exchange.sh", self.exchange, self.course,
                           u.grader], capture_output=True, text=True), "setup-exchange.sh")
        ok(self.run_as(u.grader, "python", ROOT / "tools" / "new_term.py", self.course_dir,
                       "--course-id", self.course, "--copy-solutions"), "new_term.py as the grader")
        self.etc_jupyter.mkdir(parents=True)
        shutil.copy(DEPLOY / "nbgrader" / "global_nbgrader_config.py",
                    self.etc_jupyter / "nbgrader_config.py")
        for folder in (self.etc_jupyter.parent, self.etc_jupyter):
            folder.chmod(0o755)
        (self.etc_jupyter / "nbgrader_config.py").chmod(0o644)
        self.state.mkdir(mode=0o700)

    def run_as(self, user: str, program: str, *args, **kwargs):
        """``program`` from the course environment, run as ``user``."""
        bin_dir = self.venv / "bin"
        return as_user(user, bin_dir / program, *args, bin_dir=bin_dir, **kwargs)

    def hub_environment(self) -> dict:
        settings = dict(self.settings)
        u = self.users
        settings.update(
            MLP_COURSE_ID=self.course, MLP_GRADER=u.grader, MLP_INSTRUCTORS=u.grader,
            MLP_STUDENTS=f"{u.student_a} {u.student_b}", MLP_COURSE_DIR=str(self.course_dir),
            MLP_VENV=str(self.venv), MLP_EXCHANGE=str(self.exchange), MLP_HUB_STATE=str(self.state),
            MLP_JUPYTER_CONFIG=str(self.etc_jupyter), MLP_HUB_URL=self.url,
            MLP_HUB_INTERNAL_URL=f"http://127.0.0.1:{free_port()}",
            MLP_PROXY_API_URL=f"http://127.0.0.1:{free_port()}",
            MLP_FORMGRADER_URL=f"http://127.0.0.1:{free_port()}")
        return {"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.state),
                "HUB_TEST_TOKEN": self.admin_token, **settings}

    def start(self) -> None:
        # the test's own additions, in the temporary folder: an API token to drive the hub with
        config = self.state / "test_config.py"
        config.write_text(
            "import os\n"
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})  # noqa: F821\n"
            "c.JupyterHub.services.append({'name': 'hub-test-driver',\n"
            "                              'api_token': os.environ['HUB_TEST_TOKEN']})\n"
            "c.JupyterHub.load_roles.append({'name': 'admin', 'services': ['hub-test-driver']})\n")
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([BIN / "jupyterhub", "-f", config], cwd=self.state,
                                        env=self.hub_environment(), stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.admin = Client(f"{self.url}/hub/api", self.admin_token)
        self.wait(lambda: self.admin.call("GET", "/", expect=None).status_code == 200,
                  "the hub's API")

    def wait(self, condition, what: str, deadline: float = DEADLINE):
        import requests

        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited ({self.process.returncode}) waiting for "
                                     f"{what}:\n{self.log_tail()}")
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"gave up after {deadline:.0f} s waiting for {what}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text()[-6000:]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the hub stops servers, services, proxy
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()

    # ------------------------------------------------------------- users' clients
    def client(self, user: str, service: bool = False) -> Client:
        if user not in self.tokens:
            self.tokens[user] = self.admin.json("POST", f"/users/{user}/tokens",
                                                json={"note": "test_hub", "expires_in": 3600})["token"]
        prefix = f"services/{self.course}" if service else f"user/{user}"
        return Client(f"{self.url}/{prefix}", self.tokens[user])

    def start_servers(self, *users: str) -> dict[str, Client]:
        """Each user's server, started through the hub's API (all at once), once it is ready."""
        for user in users:
            self.admin.call("POST", f"/users/{user}/server")

        def ready(user):
            return self.admin.json("GET", f"/users/{user}")["servers"].get("", {}).get("ready")
        for user in users:
            self.wait(lambda user=user: ready(user), f"{user}'s server")
        return {user: self.client(user) for user in users}


@pytest.fixture(scope="module")
def hub():
    _require()
    closed = readable_by_everyone(ROOT / ".venv" / "lib")
    if closed:  # every user's server imports mlpkit, nbgrader and the course's config from here
        pytest.fail(f"the repository's folders are closed to other users: {closed}", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="mlp-hub-"))
    base.chmod(0o755)  # homes inside are 0700, the hub's state 0700
    hub = Hub(base)
    started = time.monotonic()
    try:
        hub.set_up()
        hub.start()
        u = hub.users
        hub.servers = hub.start_servers(u.student_a, u.student_b)
        hub.formgrader = hub.client(u.grader, service=True)
        hub.wait(lambda: hub.formgrader.call("GET", "formgrader/api/status", expect=None)
                 .status_code == 200, "the formgrader service")
        yield hub
    finally:
        hub.stop()
        leftover = hub.users.processes()  # what the hub should have stopped with itself
        hub.users.remove()  # kills those first, even when a step failed
        shutil.rmtree(base, ignore_errors=True)
        print(f"hub test: {time.monotonic() - started:.0f} s")
    assert leftover == {}, f"processes left running after the hub stopped: {leftover}"
    if hub.process is not None:
        with pytest.raises(ProcessLookupError):  # nor the proxy, nor anything in the hub's group
            os.killpg(hub.process.pid, 0)
    for name in hub.users.passwords:  # the system users are gone
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def expected_auto(entry: str, buggy: bool) -> float:
    lost = set(PS1[entry].lost) | ({"test_recursion_value"} if buggy else set())
    return float(sum(p for g, p in POINTS.items() if g not in lost))


def feedback_scores(hub: Hub, student: str) -> tuple[list[str], float]:
    """The feedback pages a student has fetched (their names) and the score on the newest."""
    server = hub.servers[student]
    server.call("POST", "assignments/fetch_feedback",
                data={"course_id": hub.course, "assignment_id": "ps1"})
    folder = f"{hub.course}/ps1/feedback"
    stamps = server.json("GET", f"api/contents/{folder}")["content"]
    pages = sorted(f"{stamp['name']}/{page['name']}" for stamp in stamps
                   for page in server.json("GET", f"api/contents/{folder}/{stamp['name']}")["content"])
    assert len(pages) == 1, pages  # one submission, one page (re-released feedback overwrites it)
    html = server.json("GET", f"api/contents/{folder}/{pages[0]}",
                       params={"type": "file", "format": "text"})["content"]
    found = SCORE.search(html)
    assert found, html[:2000]
    other = hub.users.student_b if student == hub.users.student_a else hub.users.student_a
    assert other not in html  # nothing of the other student's
    return pages, float(found.group(1))


# ---------------------------------------------------------------------------------- step 1
@hub_test
def test_release_fetch_fill_validate_submit(hub):
    u = hub.users
    checks = hub.course_dir / "solutions" / "ps1" / "checks.py"
    good = checks.read_text()
    assert BUGGY_CHECK[0] in good
    ok(as_user(u.grader, "/usr/bin/sed", "-i", f"s/{BUGGY_CHECK[0]}/{BUGGY_CHECK[1]}/", checks),
       "the instructor's bug")  # a check with a bug, found later (step 4)
    fg = hub.formgrader
    fg.call("POST", "formgrader/api/assignment/ps1/assign")
    released = fg.json("POST", "formgrader/api/assignment/ps1/release")
    assert released["success"], released
    source = nbformat.read(ROOT / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    for student, entry in zip((u.student_a, u.student_b), ENTRIES):
        server = hub.servers[student]
        listed = server.json("GET", "assignments", params={"course_id": hub.course})
        assert listed["success"], listed
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [("ps1", "released")]
        fetched = server.json("POST", "assignments/fetch",
                              data={"course_id": hub.course, "assignment_id": "ps1"})
        assert [(a["assignment_id"], a["status"]) for a in fetched["value"]] == [("ps1", "fetched")]
        path = f"{hub.course}/ps1/ps1.ipynb"
        model = server.json("GET", f"api/contents/{path}")
        release = nbformat.from_dict(model["content"])
        filled = build.build(release, source, PS1[entry], "")
        for cell in filled.cells:  # the bank fills code; a student also writes the prose answer
            if build.grade_id(cell) == "written_cancellation":
                cell.source = "Subtracting two nearly equal values cancels their leading digits."
        server.call("PUT", f"api/contents/{path}",
                    json={"type": "notebook", "format": "json", "content": filled})
        on_disk = hub.base / "home" / student / path
        assert on_disk.stat().st_uid == pwd.getpwnam(student).pw_uid  # saved as the student
        validated = server.json("POST", "assignments/validate", data={"path": path})
        assert validated["success"], validated
        result = validated["value"]
        if entry == "solution":
            assert result == {}, result  # nothing failed, nothing left unanswered
        else:  # the mistake, caught by the visible test of central_difference (and the recursion's
            # test, which uses central_difference)
            firsts = [f["source"].splitlines()[0] for f in result["failed"]]
            assert len(firsts) == 2, firsts
            assert firsts[0].startswith("# Visible tests for central_difference"), firsts
            assert firsts[1].startswith("# Visible tests: your three derivatives of z_20"), firsts
            assert "AssertionError" in result["failed"][0]["error"]
        submitted = server.json("POST", "assignments/submit",
                                data={"course_id": hub.course, "assignment_id": "ps1"})
        assert submitted["success"], submitted
        statuses = [(a["assignment_id"], a["status"]) for a in submitted["value"]]
        assert statuses == [("ps1", "fetched"), ("ps1", "submitted")], statuses
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / hub.course / "inbound").iterdir())
    assert inbound == sorted([u.student_a, u.student_b])


# ---------------------------------------------------------------------------------- step 2
def grade_by_hand(hub: Hub) -> None:
    """What an instructor does in the formgrader: the written answer and the figure, per student."""
    fg = hub.formgrader
    for submission in fg.json("GET", "formgrader/api/submitted_notebooks/ps1/ps1"):
        grades = fg.json("GET", "formgrader/api/grades", params={"submission_id": submission["id"]})
        for grade in grades:
            if grade["name"] in MANUAL:
                fg.call("PUT", f"formgrader/api/grade/{grade['id']}",
                        json={"manual_score": MANUAL[grade["name"]], "extra_credit": None})


def total(hub: Hub, student: str) -> float:
    fg = hub.formgrader
    for submission in fg.json("GET", "formgrader/api/submitted_notebooks/ps1/ps1"):
        if submission["student"] == student:
            return float(submission["score"])
    raise AssertionError(f"no submission of {student} in the formgrader")


@hub_test
def test_collect_autograde_feedback_each_student_sees_only_their_own(hub):
    u = hub.users
    fg = hub.formgrader
    collected = fg.json("POST", "formgrader/api/assignment/ps1/collect")
    assert collected["success"], collected
    for student in (u.student_a, u.student_b):
        graded = fg.json("POST", f"formgrader/api/submission/ps1/{student}/autograde")
        assert graded["success"], graded
        assert "SandboxAutograde" in graded["log"] or "checks passed" in graded["log"], graded["log"]
    grade_by_hand(hub)
    for student, entry in zip((u.student_a, u.student_b), ENTRIES):
        assert total(hub, student) == expected_auto(entry, buggy=True) + sum(MANUAL.values())
    for action in ("generate_feedback", "release_feedback"):
        done = fg.json("POST", f"formgrader/api/assignment/ps1/{action}")
        assert done["success"], f"{action}: {done.get('error', '')[-3000:]}\n{done.get('log', '')[-3000:]}"
    hub.first_feedback = {}
    for student, entry in zip((u.student_a, u.student_b), ENTRIES):
        pages, score = feedback_scores(hub, student)
        assert score == expected_auto(entry, buggy=True) + sum(MANUAL.values()), (student, score)
        hub.first_feedback[student] = pages
    assert expected_auto(ENTRIES[0], True) != expected_auto(ENTRIES[1], True)  # scores tell apart


@hub_test
def test_the_formgrader_service_shows_the_rubric_and_loads_no_cdn(hub):
    """The service runs the course's formgrader extension: a submission's manual-grading page has
    each manually graded cell's rubric section and loads MathJax from the service itself; the
    feedback its button wrote (step 2) loads the term's copy of MathJax."""
    from autograder.rubric import read_rubric

    fg = hub.formgrader
    submission = fg.json("GET", "formgrader/api/submitted_notebooks/ps1/ps1")[0]
    page = fg.call("GET", f"formgrader/submissions/{submission['id']}/").text
    rubric = read_rubric(hub.course_dir / "solutions" / "ps1" / "rubric.md")
    panels = re.findall(r'<div class="course-rubric panel panel-info" data-grade-id="([^"]+)"', page)
    assert sorted(panels) == sorted(MANUAL), panels  # a section, not a warning, for each cell
    for grade_id in MANUAL:
        title = rubric.sections[grade_id].heading.split(": ", 1)[1]  # e.g. "Part F"
        assert f"{title}</p>" in page, (grade_id, title)
    remote = re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["'](?:https?:)?//[^"']*""", page)
    assert remote == [], remote  # no CDN: every script and style sheet from the service
    local = f"/services/{hub.course}/static/jupyter_server_mathjax/MathJax.js"
    assert f'<script src="{local}?config=' in page, page[:3000]
    assert fg.call("GET", local.split(f"/services/{hub.course}/", 1)[1]).text.startswith("/*")
    assert (hub.course_dir / "feedback" / "mathjax" / "MathJax.js").is_file()
    for student in (hub.users.student_a, hub.users.student_b):
        feedback = (hub.course_dir / "feedback" / student / "ps1" / "ps1.html").read_text()
        assert '<script src="../../mathjax/MathJax.js' in feedback, feedback[:3000]
        assert re.findall(r"""(?<!')<script[^>]+src="https?://""", feedback) == []


# ---------------------------------------------------------------------------------- step 3
def denied(result) -> bool:
    return result.returncode != 0 and ("Permission denied" in result.stderr
                                       or "Operation not permitted" in result.stderr)


@hub_test
def test_students_cannot_read_each_other_or_the_instructor(hub):
    u = hub.users
    a, b = u.student_a, u.student_b
    home_b = Path(pwd.getpwnam(b).pw_dir)
    course_exchange = hub.exchange / hub.course
    own = as_user(b, "/usr/bin/cat", home_b / hub.course / "ps1" / "ps1.ipynb")
    assert own.returncode == 0 and "central_difference" in own.stdout  # the control: b reads it
    attempts = {
        "b's notebook": ["/usr/bin/cat", home_b / hub.course / "ps1" / "ps1.ipynb"],
        "b's home": ["/usr/bin/ls", home_b],
        "the exchange's inbound folder": ["/usr/bin/ls", course_exchange / "inbound"],
        "the exchange's feedback folder": ["/usr/bin/ls", course_exchange / "feedback"],
        "the instructor's checks": ["/usr/bin/cat", hub.course_dir / "solutions" / "ps1" / "checks.py"],
        "the instructor's source": ["/usr/bin/cat", hub.course_dir / "solutions" / "ps1" / "ps1.ipynb"],
        "the collected submissions": ["/usr/bin/ls", hub.course_dir / "submitted"],
        "the gradebook": ["/usr/bin/cat", hub.course_dir / "gradebook.db"],
        "the term's secret": ["/usr/bin/cat", hub.course_dir / ".grading-secret"],
        "renaming the course's exchange": ["/usr/bin/mv", course_exchange, hub.exchange / "taken"],
        "a file in the release": ["/usr/bin/touch", course_exchange / "outbound" / "ps1" / "x.py"],
    }
    for what, command in attempts.items():
        result = as_user(a, *command)
        assert denied(result), f"{a} could reach {what}: {result.returncode} {result.stdout[:300]}"
    # a submission in inbound/ is readable by its unguessable name only (nbgrader's design: the
    # folder is student+assignment+timestamp+72 random bits, and inbound/ cannot be listed)
    names = [p.name for p in (course_exchange / "inbound").iterdir()]
    assert all(len(name.split("+")) == 4 and len(name.split("+")[3]) == 12 for name in names), names
    # the servers: students have no formgrader of their own and cannot open the course's
    server = hub.servers[a]
    assert server.call("GET", "formgrader", expect=None).status_code == 404
    assert server.call("GET", "formgraders", expect=None).status_code == 404  # no course list
    page = server.call("GET", "lab").text
    disabled = page_config(page)["disabledExtensions"]
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= set(disabled), disabled
    groups = {name: sorted(hub.admin.json("GET", f"/groups/{name}")["users"])
              for name in (f"nbgrader-{hub.course}", f"formgrade-{hub.course}")}
    assert groups == {f"nbgrader-{hub.course}": sorted([a, b]),  # nbgrader's group convention
                      f"formgrade-{hub.course}": [u.grader]}
    student_to_service = hub.client(a, service=True)
    status = student_to_service.call("GET", "formgrader/api/assignments", expect=None).status_code
    assert status == 403, status
    assert hub.formgrader.call("GET", "formgrader/api/assignments").status_code == 200


def page_config(html: str) -> dict:
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, html[:2000]
    return json.loads(found.group(1))


# ---------------------------------------------------------------------------------- step 4
@hub_test
def test_errata_regrade_keeps_manual_grades_and_students_see_new_scores(hub):
    u = hub.users
    checks = "solutions/ps1/checks.py"
    service = Client(f"{hub.url}/services/{hub.course}", hub.tokens[u.grader])
    text = service.json("GET", f"api/contents/{checks}", params={"type": "file", "format": "text"})
    assert BUGGY_CHECK[1] in text["content"]
    service.call("PUT", f"api/contents/{checks}", json={  # the fix, saved from JupyterLab's editor
        "type": "file", "format": "text", "content": text["content"].replace(*BUGGY_CHECK[::-1])})
    regrade = hub.run_as(u.grader, "python", "-m", "autograder.parallel", "ps1", "--force",
                         "--workers", "1", "--", "--SandboxAutograde.check_timeout=5",
                         "--SandboxAutograde.cell_timeout=10", cwd=hub.course_dir)
    ok(regrade, "python -m autograder.parallel ps1 --force (as the grader)")
    assert "graded 2, retried 0, failed 0" in regrade.stdout, regrade.stdout[-2000:]
    for student, entry in zip((u.student_a, u.student_b), ENTRIES):  # manual grades kept
        assert total(hub, student) == expected_auto(entry, buggy=False) + sum(MANUAL.values())
    for action in ("generate_feedback", "release_feedback"):
        done = hub.formgrader.json("POST", f"formgrader/api/assignment/ps1/{action}")
        assert done["success"], f"{action}: {done.get('error', '')[-3000:]}"
    for student, entry in zip((u.student_a, u.student_b), ENTRIES):
        pages, score = feedback_scores(hub, student)
        assert pages == hub.first_feedback[student]  # the same page, now with the new score
        assert score == expected_auto(entry, buggy=False) + sum(MANUAL.values()), (student, score)
        assert score == expected_auto(entry, buggy=True) + sum(MANUAL.values()) + 1  # the fix's point


# ---------------------------------------------------------------------------------- step 5
# Chromium as tests/test_browser.py launches it (Debian's package, Playwright from PyPI); that
# module skips itself at import when the browser is missing, so it is not imported here.
BROWSER_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_TIMEOUT_MS = 120_000


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if not path:
        why = "Chromium or Playwright is missing (bash .ci/install-browser.sh; pip install -e '.[dev]')"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(f"the hub's browser step NOT RUN: {why}")
    return path


def log_in(context, hub: Hub, user: str):
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.users.passwords[user])  # PAM checks the system password
    page.click("#login_submit")
    return page


@hub_test
def test_browser_student_fetches_and_submits_instructor_opens_the_formgrader(hub):
    from playwright.sync_api import sync_playwright

    path = chromium()
    u = hub.users
    fg = hub.formgrader
    for action in ("assign", "release"):  # a second problem set, for the student in the browser
        done = fg.json("POST", f"formgrader/api/assignment/ps2/{action}")
        assert done.get("success", True), done
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        try:
            student = log_in(browser.new_context(), hub, u.student_b)
            student.wait_for_url(f"**/user/{u.student_b}/lab**")
            student.get_by_role("menuitem", name="Nbgrader", exact=True).click()
            student.get_by_role("menuitem", name="Assignment List").click()
            released = student.locator("#released_assignments_list")
            released.locator(".list_item", has_text="ps2").get_by_role("button", name="Fetch").click()
            fetched = student.locator("#fetched_assignments_list").locator(".list_item", has_text="ps2")
            fetched.get_by_role("button", name="Submit").click()
            student.locator("#submitted_assignments_list").get_by_text("ps2").first.wait_for()
            student.screenshot(path=str(shots / "hub-student-assignment-list.png"))
            menus = [m.inner_text() for m in student.get_by_role("menuitem").all()]
            assert "Formgrader" not in " ".join(menus)

            # the feedback page fetched in step 2 (alone: the exchange copies no MathJax beside
            # it), opened from the student's own server with every request off the hub refused:
            # typeset by the MathJax of that server, no CDN
            page_path = f"{hub.course}/ps1/feedback/{hub.first_feedback[u.student_b][0]}"
            feedback, refused = student.context.new_page(), []

            def hub_only(route):
                if route.request.url.startswith(hub.url + "/"):
                    return route.continue_()
                refused.append(route.request.url)
                return route.abort()

            feedback.route(re.compile(r"^(https?|wss?)://"), hub_only)
            feedback.goto(f"{hub.url}/user/{u.student_b}/files/{quote(page_path)}")
            feedback.wait_for_function(MATH_TYPESET, timeout=BROWSER_TIMEOUT_MS)
            assert feedback.locator(".MathJax, .MathJax_Display").count() > 5
            assert feedback.evaluate("() => [...document.scripts].some(s => s.src.includes("
                                     "'/static/jupyter_server_mathjax/MathJax.js'))")
            assert refused == [], refused
            feedback.close()

            instructor = log_in(browser.new_context(), hub, u.grader)
            instructor.wait_for_url(re.compile(rf"/(user|hub/spawn-pending)/{u.grader}"))
            formgrader = instructor.context.new_page()  # its own tab: the hub forbids framing it
            formgrader.set_default_timeout(BROWSER_TIMEOUT_MS)
            formgrader.goto(f"{hub.url}/services/{hub.course}/formgrader")
            formgrader.get_by_text("Manage Assignments").first.wait_for()
            formgrader.locator("a", has_text="ps2").first.wait_for()
            formgrader.screenshot(path=str(shots / "hub-instructor-formgrader.png"))
        finally:
            browser.close()
    inbound = [p.name for p in (hub.exchange / hub.course / "inbound").iterdir()]
    assert any(name.startswith(f"{u.student_b}+ps2+") for name in inbound), inbound


# ---------------------------------------------------------------------------------- static checks
def student_restrictions() -> tuple[set, set]:
    """(server extensions, JupyterLab plugins) that deploy/student-config turns off."""
    server = json.loads((DEPLOY / "student-config" / "jupyter_server_config.json").read_text())
    lab = json.loads((DEPLOY / "student-config" / "labconfig" / "page_config.json").read_text())
    off_server = {name for name, on in server["ServerApp"]["jpserver_extensions"].items() if not on}
    off_lab = {name for name, off in lab["disabledExtensions"].items() if off}
    return off_server, off_lab


def test_student_config_names_real_nbgrader_extensions_and_keeps_list_and_validate():
    off_server, off_lab = student_restrictions()
    enabled = json.loads((ROOT / ".venv" / "etc" / "jupyter" / "jupyter_server_config.d" /
                          "nbgrader.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert off_server == {"nbgrader.server_extensions.formgrader",
                          "nbgrader.server_extensions.course_list"}
    assert off_server < set(enabled)  # names nbgrader really registers
    assert {"nbgrader.server_extensions.assignment_list",
            "nbgrader.server_extensions.validate_assignment"} <= set(enabled) - off_server
    plugins = set()
    for script in (ROOT / ".venv" / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
                   / "static").glob("*.js"):
        plugins |= set(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', script.read_text()))
    assert off_lab == {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list"}
    assert off_lab < plugins
    assert {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"} <= (
        plugins - off_lab)


def test_dockerfile_builds_from_the_student_copy_with_the_same_restrictions():
    """deploy/Dockerfile cannot be built here (no Docker): what it copies must exist in the
    student copy (never solutions/), it installs the plain student package, and it turns off
    exactly what deploy/student-config turns off."""
    sys.path.insert(0, str(ROOT / "tools"))
    import student_copy

    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line for line in text.replace("\\\n", " ").splitlines() if not line.startswith("#")]
    assert lines[0].startswith("FROM ") and ":python-3.11" in lines[0]  # a pinned Python
    copied = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    for sources in copied:
        if sources[0].startswith("--from=deploy"):
            assert all((DEPLOY / s).is_file() for s in sources[1:]), sources
            continue
        for source in sources:
            assert source.split("/")[0] in student_copy.INCLUDED, source
            assert not any(source == e or source.startswith(e + "/") for e in student_copy.EXCLUDED)
            assert (ROOT / source).exists(), source
    assert "solutions" not in " ".join(" ".join(s) for s in copied)
    assert re.search(r"pip install --no-cache-dir /opt/mlp\s", text)  # no [grader], no [dev]
    off_server, off_lab = student_restrictions()
    assert set(re.findall(r"server extension disable --sys-prefix (\S+)", text)) == off_server
    assert set(re.findall(r"labextension disable --level=sys_prefix (\S+)", text)) == off_lab


def test_runbook_names_only_files_that_exist():
    runbook = (ROOT / "docs" / "deploying.md").read_text()
    named = set(re.findall(r"(?<![\w/])(deploy/[\w./-]+\w|\.ci/[\w.-]+\w|tools/[\w.]+\.py)", runbook))
    assert {"deploy/setup-exchange.sh", "deploy/jupyterhub_config.py", "deploy/mlp.env",
            "deploy/nbgrader/global_nbgrader_config.py", ".ci/install-hub.sh"} <= named
    assert [name for name in named if not (ROOT / name).exists()] == []
    settings = env_file(DEPLOY / "mlp.env")  # every setting the hub's config reads is documented
    read = set(re.findall(r'setting\("(MLP_\w+)"', (DEPLOY / "jupyterhub_config.py").read_text()))
    assert read - {"MLP_VENV", "MLP_PROXY"} <= set(settings), read - set(settings)
