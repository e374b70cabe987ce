import os

import pytest
from hypothesis import settings

# Reproducible in CI: the same examples every run.
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

import matplotlib  # noqa: E402

# Figures made by the test process itself never need a screen. Kernels started by the tests
# (lectures, nbgrader) keep Jupyter's inline backend: MPLBACKEND is deliberately not exported.
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def zygote():
    """The sandbox's zygote (NumPy preloaded), one per test module that asks for it."""
    from autograder.runner import Zygote

    z = Zygote(preload=["numpy"])
    z.start()
    yield z
    z.close()
