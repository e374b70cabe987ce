import os

from hypothesis import settings

# Reproducible in CI: the same examples every run.
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

import matplotlib  # noqa: E402

# Figures made by the test process itself never need a screen. Kernels started by the tests
# (lectures, nbgrader) keep Jupyter's inline backend: MPLBACKEND is deliberately not exported.
matplotlib.use("Agg")
