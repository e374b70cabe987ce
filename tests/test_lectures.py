"""Every lecture runs headless top to bottom, with no error and nothing on stderr."""

import json
from pathlib import Path

import nbformat
import pytest

from run_notebook import execute, stderr_outputs

LECTURES = sorted((Path(__file__).resolve().parents[1] / "lectures").glob("[0-9][0-9]-*.ipynb"))
TIMES_FILE = Path(__file__).resolve().parent / "_artifacts" / "lecture_times.json"


def test_there_are_seven_lectures():
    assert len(LECTURES) == 7, [p.name for p in LECTURES]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert not with_outputs, f"{path.name}: clear the outputs of cells {with_outputs} before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_cleanly(path):
    nb, seconds = execute(path, timeout=120)
    assert not stderr_outputs(nb), f"{path.name} wrote to stderr:\n" + "\n".join(stderr_outputs(nb))
    assert seconds < 60, f"{path.name} took {seconds:.0f} s; lectures must run in well under a minute"
    TIMES_FILE.parent.mkdir(exist_ok=True)
    times = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.exists() else {}
    times[path.name] = round(seconds, 1)
    TIMES_FILE.write_text(json.dumps(times, indent=1, sort_keys=True))
    print(f"{path.name}: {seconds:.1f} s")
