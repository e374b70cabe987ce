"""Every lecture runs headless top to bottom within 30 s, with no error and nothing on stderr."""

import json
from pathlib import Path

import nbformat
import pytest

from run_notebook import execute, stderr_outputs

LECTURES = sorted((Path(__file__).resolve().parents[1] / "lectures").glob("[0-9][0-9]-*.ipynb"))
TIMES_FILE = Path(__file__).resolve().parent / "_artifacts" / "lecture_times.json"
DEADLINE_S = 30  # one lecture, kernel start and every cell, headless on 2 cores (issue 15)


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
    # The deadline is enforced while the lecture runs: each cell gets only what is left of it,
    # and execute raises DeadlineExceeded (naming the cell) when it runs out.
    nb, seconds = execute(path, timeout=DEADLINE_S, deadline=DEADLINE_S)
    assert not stderr_outputs(nb), f"{path.name} wrote to stderr:\n" + "\n".join(stderr_outputs(nb))
    assert seconds < DEADLINE_S, f"{path.name} took {seconds:.1f} s; a lecture must take under {DEADLINE_S} s"
    TIMES_FILE.parent.mkdir(exist_ok=True)
    times = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.exists() else {}
    times[path.name] = round(seconds, 1)
    TIMES_FILE.write_text(json.dumps(times, indent=1, sort_keys=True))
    print(f"{path.name}: {seconds:.1f} s")
