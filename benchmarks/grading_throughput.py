"""Grading throughput: a class of N submissions of PS1, serially by nbgrader and on Dask workers.

    .venv/bin/python benchmarks/grading_throughput.py                   # 300 submissions
    .venv/bin/python benchmarks/grading_throughput.py --students 60 --workers 1 --workers 2 --serial

Target (docs/instructor.md): 300 submissions of one problem set in under 30 minutes on a
2-core machine. The class is drawn, with a fixed seed, from the PS1 submission bank the way a
real class looks: mostly correct work in several styles and plausible mistakes, a few blank,
crashing or tampering notebooks, and about 1 % that hang (an infinite loop costs its timeout,
30 s per cell and 10 s per check here, as in nbgrader_config.py). Each run is a fresh temporary
course: ``nbgrader generate_assignment``, then ``python -m autograder.parallel`` (Dask, a
LocalCluster) with ``--workers`` processes (repeat the option to compare), and with ``--serial``
the peer an instructor would otherwise use: plain ``nbgrader autograde`` of the whole class in one
call. Grading data never touches the repository. The last line reads ``RESULT ...``: seconds for
the class, submissions per second, and the projected minutes for 300.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "submissions")]
import build  # noqa: E402  (tests/submissions/build.py)
from nbgrader_course import make_course, nbgrader, scores  # noqa: E402

# Share of the class per kind of bank entry (the rest of the bank is "mistakes").
MIX = {"correct": 0.45, "mistake": 0.45, "blank": 0.04, "broken": 0.04, "hang": 0.01,
       "tamper": 0.01}


def kind(name: str) -> str:
    if name in ("solution", "deleted_test_cell") or name.startswith("alt_"):
        return "correct"
    if name.startswith("mistake_"):
        return "mistake"
    if name in ("infinite_loop", "ignores_interrupts"):
        return "hang"
    if name.startswith("tamper_"):
        return "tamper"
    return "broken"


def class_list(count: int, seed: int = 2025) -> list[str]:
    """``count`` bank entry names (or "blank"), drawn with the shares of MIX."""
    bank = build.load_bank("ps1")
    kinds: dict[str, list[str]] = {}
    for name, submission in bank.items():
        if not getattr(submission, "needs_landlock_signals", False):
            kinds.setdefault(kind(name), []).append(name)
    kinds["blank"] = ["blank"]
    rng = random.Random(seed)
    labels = list(MIX)
    return [rng.choice(kinds[k]) for k in rng.choices(labels, [MIX[k] for k in labels], k=count)]


def grade_class(entries: list[str], workers: int) -> dict:
    """Grade the class with ``workers`` Dask workers, or serially with nbgrader when 0."""
    bank = build.load_bank("ps1")
    with tempfile.TemporaryDirectory(prefix="mlpkit-throughput-") as folder:
        course = make_course(Path(folder) / "course")
        made = nbgrader(course, "generate_assignment", "ps1")
        assert made.returncode == 0, made.stderr[-2000:]
        release = course / "assignments" / "ps1" / "ps1.ipynb"
        names = {}
        for number, entry in enumerate(entries):
            student = f"s{number:04d}"
            names[student] = entry
            folder_ = course / "submitted" / student / "ps1"
            folder_.mkdir(parents=True)
            if entry == "blank":
                shutil.copy(release, folder_ / "ps1.ipynb")
            else:
                build.write_submissions({student: bank[entry]}, release,
                                        ROOT / "solutions" / "ps1" / "ps1.ipynb",
                                        course / "submitted", "ps1", str(course))
        start = time.monotonic()
        if workers:
            command = [sys.executable, "-m", "autograder.parallel", "ps1", "--workers", str(workers)]
        else:
            command = [str(Path(sys.executable).parent / "nbgrader"), "autograde", "ps1"]
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # nbgrader's alembic
        done = subprocess.run(command, cwd=course, capture_output=True, text=True,
                              env=dict(os.environ, PATH=path))
        seconds = time.monotonic() - start
        graded = scores(course, "ps1", names) if done.returncode == 0 else {}
        wrong = 0
        for student, entry in names.items():
            lost = set(bank[entry].lost) if entry != "blank" else None
            for grade_id, (score, maximum) in graded.get(student, {}).items():
                if not grade_id.startswith("test_"):
                    continue
                expected = 0.0 if lost is None or grade_id in lost else maximum
                wrong += score != expected
        return {"seconds": seconds, "returncode": done.returncode, "wrong_cells": wrong,
                "summary": done.stdout.strip().splitlines()[-1:] + done.stderr.splitlines()[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--workers", type=int, action="append",
                        help="Dask workers (repeat to compare; default: 2)")
    parser.add_argument("--serial", action="store_true",
                        help="also grade with plain `nbgrader autograde` (the peer)")
    args = parser.parse_args()
    entries = class_list(args.students)
    counts = {k: sum(kind(e) == k if e != "blank" else k == "blank" for e in entries) for k in MIX}
    print(f"class of {args.students}: {counts}", flush=True)
    results = []
    for workers in ([0] if args.serial else []) + (args.workers or [2]):
        run = grade_class(entries, workers)
        per = run["seconds"] / args.students
        label = f"dask{workers}" if workers else "serial_nbgrader"
        print(f"{label}: {run['seconds']:.0f} s for {args.students} submissions "
              f"({per:.2f} s each; {300 * per / 60:.1f} min for 300); exit {run['returncode']}; "
              f"cells graded differently from the bank: {run['wrong_cells']}; "
              f"{' '.join(run['summary'])}", flush=True)
        results.append(f"{label}_seconds={run['seconds']:.0f} {label}_per_s={1 / per:.2f} "
                       f"{label}_min_per_300={300 * per / 60:.1f}")
    print("RESULT " + " ".join(results))


if __name__ == "__main__":
    main()
