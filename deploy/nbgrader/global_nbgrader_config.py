"""nbgrader's system-wide configuration on the hub: install as /etc/jupyter/nbgrader_config.py.

Every user's server reads it (students' and instructors'); the course's own settings (sandbox,
hidden checks, course_id) live in the term folder's nbgrader_config.py (tools/new_term.py), which
only the formgrader and the grader account read.
"""

import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# The shared-folder exchange (deploy/setup-exchange.sh creates it): one folder per course.
c.Exchange.root = os.environ.get("MLP_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.path_includes_course = True  # fetched into ~/<course_id>/<assignment>
# A student sees the courses of their nbgrader-<course_id> groups on the hub.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
