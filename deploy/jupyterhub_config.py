"""JupyterHub for one course on one machine: system users, PAM log-in, one server per user.

    sudo -E /opt/mlp/.venv/bin/jupyterhub -f /opt/mlp/deploy/jupyterhub_config.py

Every setting an instructor changes comes from the environment (``deploy/mlp.env``; the systemd
unit ``deploy/jupyterhub.service`` loads it), so this file is used as is, by the runbook
(docs/deploying.md) and by tests/test_hub.py alike:

- students and instructors are system users who log in with their own password (PAM); the hub
  starts each user's JupyterLab as that user (LocalProcessSpawner), with the course's Python
  environment (the one running this hub);
- nbgrader's group convention: ``formgrade-<course>`` holds the instructors (and graders), who may
  open the course's formgrader; ``nbgrader-<course>`` holds the students, whose assignment list
  shows the course (nbgrader's JupyterHubAuthPlugin reads these groups);
- the formgrader is a hub-managed service named after the course, run as the grader account that
  owns the course folder, with the course's formgrader extension (``autograder.formgrader_ui``:
  the rubric beside each manually graded cell, formulas typeset without a CDN); JupyterHub's
  role-based access lets the ``formgrade-<course>`` group, and nobody else, reach it;
- students' servers load ``deploy/student-config``: only the assignment list and Validate (no
  formgrader, no Create Assignment, no course list).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"jupyterhub_config.py: set {name} (see deploy/mlp.env)")
    return value


COURSE = setting("MLP_COURSE_ID")  # e.g. mlp-2025-spring: nbgrader's course_id and the service
GRADER = setting("MLP_GRADER")  # the system account owning the course folder and the formgrader
INSTRUCTORS = setting("MLP_INSTRUCTORS").split()  # may open the formgrader
STUDENTS = setting("MLP_STUDENTS", "").split()  # may log in and see the course
COURSE_DIR = setting("MLP_COURSE_DIR")  # the term folder (tools/new_term.py), owned by GRADER
EXCHANGE = setting("MLP_EXCHANGE", "/srv/nbgrader/exchange")
STATE = Path(setting("MLP_HUB_STATE", "/srv/jupyterhub"))  # the hub's database and secrets
JUPYTER_CONFIG = setting("MLP_JUPYTER_CONFIG", "/etc/jupyter")  # holds nbgrader_config.py
FORMGRADER_URL = setting("MLP_FORMGRADER_URL", "http://127.0.0.1:9999")
# The course's Python environment, which every user's server runs: by default the one running the
# hub. Every user must be able to read it (and the interpreter it links to): a venv made from a
# Python under /root is not (docs/deploying.md).
VENV_BIN = Path(setting("MLP_VENV", sys.prefix)) / "bin"
PROXY = setting("MLP_PROXY", str(Path(sys.prefix) / "node" / "bin" / "configurable-http-proxy"))

# ----------------------------------------------------------------- network and state
c.JupyterHub.bind_url = setting("MLP_HUB_URL", "http://127.0.0.1:8000")  # put TLS in front
c.JupyterHub.hub_bind_url = setting("MLP_HUB_INTERNAL_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = setting("MLP_PROXY_API_URL", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.command = [PROXY]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
c.JupyterHub.cleanup_proxy = True

# ----------------------------------------------------------------- who may log in
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login session per server (containers lack it)
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.Authenticator.admin_users = set()  # hub administration is not needed to teach
c.LocalAuthenticator.create_system_users = False  # accounts are made with useradd, not here

c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE}": {"users": STUDENTS},
}
c.JupyterHub.load_roles = [
    {"name": f"formgrade-{COURSE}", "groups": [f"formgrade-{COURSE}"],
     "scopes": [f"access:services!service={COURSE}", "list:services",
                f"read:services!service={COURSE}"]},
    # the formgrader adds the students it grades to nbgrader-<course> (JupyterHubAuthPlugin)
    {"name": f"formgrader-{COURSE}", "services": [COURSE],
     "scopes": ["list:users", "read:users:groups", "list:groups", f"read:groups!group=nbgrader-{COURSE}",
                f"groups!group=nbgrader-{COURSE}"]},
]

# ----------------------------------------------------------------- each user's server
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# nbgrader's JupyterHubAuthPlugin asks the hub for the user's own groups with the server's token
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 "read:users:name!user", "read:users:groups!user",
                                 "list:services", "read:services"]


def jupyter_config_path(spawner) -> str:
    """Students get deploy/student-config first (it wins); everyone gets the nbgrader config."""
    paths = [JUPYTER_CONFIG]
    if spawner.user.name not in INSTRUCTORS:
        paths.insert(0, str(HERE / "student-config"))
    return os.pathsep.join(paths)


COMMON_ENV = {
    "PATH": f"{VENV_BIN}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
    "MLP_EXCHANGE": EXCHANGE,
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}
c.Spawner.environment = dict(COMMON_ENV, JUPYTER_CONFIG_PATH=jupyter_config_path)

# ----------------------------------------------------------------- the course's formgrader
c.JupyterHub.services = [{
    "name": COURSE,  # nbgrader's course list finds the formgrader at /services/<course_id>
    "url": FORMGRADER_URL,
    # with the course's formgrader extension (autograder/formgrader_ui.py): each manually graded
    # cell's rubric section beside it, MathJax from jupyter-server-mathjax (no CDN)
    "command": [str(VENV_BIN / "jupyterhub-singleuser"), f"--ServerApp.root_dir={COURSE_DIR}",
                "--ServerApp.jpserver_extensions=autograder.formgrader_ui=True"],
    "user": GRADER,
    "cwd": COURSE_DIR,
    "environment": dict(COMMON_ENV, JUPYTER_CONFIG_PATH=JUPYTER_CONFIG,
                        JUPYTERHUB_DEFAULT_URL="/formgrader"),
    "oauth_no_confirm": True,
}]
