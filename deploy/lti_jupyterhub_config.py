"""UNTESTED: log-in from the LMS with LTI 1.3 instead of PAM (jupyterhub-ltiauthenticator).

Not run by tests/test_hub.py (it needs an LMS to launch from): check it against your LMS and the
ltiauthenticator documentation (LTI 1.3 "Getting Started") before the term. To use it, install
``jupyterhub-ltiauthenticator`` into the hub's environment and add at the end of
deploy/jupyterhub_config.py (your copy):

    load_subconfig("/opt/mlp/deploy/lti_jupyterhub_config.py")

With LTI the LMS vouches for the user: there are no system passwords, so the local-process
spawner needs a system account per LTI user name (create them from the LMS roster with useradd),
or use a container spawner (deploy/Dockerfile) where accounts are not needed.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
# Values from registering the hub as an LTI 1.3 tool in your LMS (Canvas: Developer Keys).
c.LTI13Authenticator.issuer = os.environ.get("MLP_LTI_ISSUER", "https://canvas.instructure.com")
c.LTI13Authenticator.client_id = [os.environ.get("MLP_LTI_CLIENT_ID", "10000000000001")]
c.LTI13Authenticator.authorize_url = os.environ.get(
    "MLP_LTI_AUTHORIZE_URL", "https://canvas.instructure.com/api/lti/authorize_redirect")
c.LTI13Authenticator.jwks_endpoint = os.environ.get(
    "MLP_LTI_JWKS_URL", "https://canvas.instructure.com/api/lti/security/jwks")
# The JupyterHub user name: the LMS's login id, the same id as the nbgrader roster's student id
# (and the LMS export's; docs/deploying.md, section 1).
c.LTI13Authenticator.username_key = "https://purl.imsglobal.org/spec/lti/claim/lis.person_sourcedid"
# Whoever the LMS launches may log in; instructors are still the MLP_INSTRUCTORS accounts.
c.Authenticator.allow_all = True
