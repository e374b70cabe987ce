"""Execute notebooks headless with nbclient; fail on any error or any stderr output.

Used by tests/test_lectures.py and by hand:  python tests/run_notebook.py lectures/01-*.ipynb
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def stderr_outputs(nb) -> list[str]:
    """Texts a notebook wrote to stderr, with the index of the cell."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index}: {output.get('text', '')[:500]}")
    return found


def execute(path: Path, timeout: int = 120):
    """Run ``path`` top to bottom in its own folder; return (executed notebook, seconds)."""
    nb = nbformat.read(path, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
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
