"""Execute notebooks headless with nbclient; fail on any error or any stderr output.

Used by tests/test_lectures.py and by hand:  python tests/run_notebook.py lectures/01-*.ipynb
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError


def stderr_outputs(nb) -> list[str]:
    """Texts a notebook wrote to stderr, with the index of the cell."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index}: {output.get('text', '')[:500]}")
    return found


class DeadlineExceeded(AssertionError):
    """The notebook did not finish within its overall deadline."""


def execute(path: Path, timeout: int = 120, before: str | None = None, after: str | None = None,
            deadline: float | None = None):
    """Run ``path`` top to bottom in its own folder; return (executed notebook, seconds).

    ``timeout``: seconds allowed for any one cell. ``deadline``: seconds allowed for the whole
    notebook (kernel start and every cell); each cell may use only what is left of it, so a
    notebook that runs too long is stopped at the deadline and raises DeadlineExceeded.
    ``before`` and ``after``: code run in the same kernel before the first cell and after the
    last (e.g. to install and read out tests/figure_audit.py); they are added to the returned
    notebook as its first and last cell, and their time is not counted.
    """
    nb = nbformat.read(path, as_version=4)
    if before:
        nb.cells.insert(0, nbformat.v4.new_code_cell(before))
    if after:
        nb.cells.append(nbformat.v4.new_code_cell(after))
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        extra = ({0} if before else set()) | ({len(nb.cells) - 1} if after else set())
        extra_seconds = 0.0
        start = time.perf_counter()
        with client.setup_kernel():                      # starts the kernel (counted)
            for index, cell in enumerate(nb.cells):
                counted = time.perf_counter() - start - extra_seconds
                by_deadline = deadline is not None and index not in extra and deadline - counted <= timeout
                if by_deadline:
                    if deadline - counted <= 0:
                        raise DeadlineExceeded(f"{path.name}: {counted:.1f} s used of its {deadline:.0f} s "
                                               f"before cell {index} started")
                    client.timeout = max(1, math.ceil(deadline - counted))
                else:
                    client.timeout = timeout
                cell_start = time.perf_counter()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError as error:
                    if by_deadline:
                        raise DeadlineExceeded(f"{path.name}: stopped in cell {index} at its overall "
                                               f"deadline of {deadline:.0f} s") from error
                    raise
                if index in extra:
                    extra_seconds += time.perf_counter() - cell_start
        seconds = time.perf_counter() - start - extra_seconds
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    return nb, seconds


def main(paths: list[str]) -> int:
    failed = 0
    for name in paths:
        path = Path(name)
        try:
            nb, seconds = execute(path)
        except Exception as exc:  # CellExecutionError carries the traceback text
            print(f"FAIL {path}: {exc}")
            failed += 1
            continue
        problems = stderr_outputs(nb)
        status = "FAIL" if problems else "ok"
        failed += bool(problems)
        print(f"{status} {path} ran in {seconds:.1f} s")
        for problem in problems:
            print("  stderr:", problem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
