"""Run the hidden checks on one notebook, without nbgrader: ``python -m autograder NB``.

For authors of a problem set (iterate on ``checks.py`` in seconds): the same sandbox and checks
as ``nbgrader autograde``, without nbgrader; nothing is written to a gradebook. Learners use
``python -m autograder.selfcheck`` instead (real nbgrader, docs/self-study.md). Example::

    python -m autograder assignments/ps1/ps1.ipynb            # checks: solutions/ps1/checks.py
    python -m autograder my-ps1.ipynb --checks solutions/ps1/checks.py --output graded.ipynb

Exit status 0 when every autograded test cell passes, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat

from autograder.checking import load_checks
from autograder.preprocessor import NotebookRunner, is_autograded_test
from autograder.runner import Limits, shared_zygote

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--checks", type=Path,
                        help="checks.py (default: solutions/<name>/checks.py)")
    parser.add_argument("--cell-timeout", type=float, default=30.0)
    parser.add_argument("--check-timeout", type=float, default=10.0)
    parser.add_argument("--output", type=Path, help="write the graded notebook here")
    args = parser.parse_args(argv)

    checks_path = args.checks or REPO / "solutions" / args.notebook.stem / "checks.py"
    if not checks_path.exists():
        parser.error(f"no checks at {checks_path}; give --checks PATH")
    checks = load_checks(str(checks_path))
    nb = nbformat.read(args.notebook, as_version=4)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    settings = SimpleNamespace(
        cell_timeout=args.cell_timeout, check_timeout=args.check_timeout, notebook_timeout=900.0,
        max_restarts=20, max_output_chars=20000, require_confinement=False, max_notebook_output_mb=40.0,
        log=logging.getLogger("autograder"))
    points = {cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader.get("points", 0))
              for cell in nb.cells if is_autograded_test(cell)}
    missing = sorted(set(points) - set(checks.checks))
    if missing:
        parser.error(f"{checks_path} has no check for {missing}")

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mlpkit-selfcheck-") as scratch:
        zygote = shared_zygote(["numpy", "matplotlib", "matplotlib.pyplot"])
        params = Limits().spawn_params(scratch, zygote, checks.forbidden)
        runner = NotebookRunner(settings, zygote, params, checks.checks)
        try:
            runner.run(nb)
        finally:
            runner.close()
    earned = 0.0
    for verdict in runner.verdicts:
        worth = points.get(verdict.grade_id, 0.0)
        earned += worth if verdict.passed else 0.0
        mark = "PASSED" if verdict.passed else "FAILED"
        print(f"{mark} {verdict.grade_id} ({worth if verdict.passed else 0:g} of {worth:g})")
        if not verdict.passed:
            print("   " + verdict.message.replace("\n", "\n   "))
    print(f"\nautograded: {earned:g} of {sum(points.values()):g} points "
          f"({time.monotonic() - start:.1f} s); manually graded parts are not included.")
    if args.output:
        nbformat.write(nb, args.output)
    return 0 if earned == sum(points.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
