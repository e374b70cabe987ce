"""Every figure a lecture makes can be read: no overlapping text, no tiny text, no "-0" ticks;
and what its cells print shows no Python list reprs with quotes and no negative zeros.

Each lecture runs headless with tests/figure_audit.py installed in its kernel (before its first
cell, so the audit's post_execute hook runs before the inline backend closes the figures). Every
picture the lecture renders is drawn once more and checked; see figure_audit.py for the rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import figure_audit  # noqa: E402
from run_notebook import execute, stderr_outputs  # noqa: E402

TESTS = Path(__file__).resolve().parent
LECTURES = sorted((TESTS.parent / "lectures").glob("[0-9][0-9]-*.ipynb"))
MARKER = "FIGURE-AUDIT-RECORDS:"
BEFORE = (f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
          "import figure_audit\nfigure_audit.install()")
AFTER = f"import json\nprint({MARKER!r} + json.dumps(figure_audit.RECORDS))"


# ------------------------------------------------------------------ the audit itself is tested


def test_audit_flags_overlap_small_text_negative_zero_and_covering_legend():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([0.0, 0.5, 1.0], [0.0, 0.5, 1.0], "o", label="data under the legend")
    ax.legend(loc="center")
    ax.text(0.1, 0.9, "first label", fontsize=10)
    ax.text(0.1, 0.9, "second label", fontsize=10)          # same place: overlap
    ax.text(0.1, 0.1, "tiny", fontsize=5)                    # 6.9 px
    ax.set_xticks([-0.0, 0.5], ["\u22120", "0.5"])
    ax.set_title("['a', 'b']")
    problems = "\n".join(figure_audit.audit(fig)["problems"])
    plt.close(fig)
    assert "overlap" in problems
    assert "'tiny' is 6.9 px" in problems
    assert "write 0" in problems
    assert "covers 1 plotted point" in problems
    assert "list repr" in problems


def test_audit_passes_a_clean_figure():
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100, layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 4], "o-", label="y = x^2")
    ax.set(xlabel="x", ylabel="y", title="A clean figure")
    ax.legend(loc="upper left")
    record = figure_audit.audit(fig)
    plt.close(fig)
    assert record["texts"] >= 5 and record["problems"] == [], record


# ------------------------------------------------------------------ every lecture's figures


NEGATIVE_ZERO_IN_TEXT = re.compile(r"(?<![\w.])[-\u2212]0(\.0*)?(?![\w.])")


def printed_text_problems(text: str) -> list[str]:
    """What printed text must not show: Python list reprs with quotes, and "-0"."""
    problems = []
    for line in text.splitlines():
        if figure_audit.LIST_REPR.search(line) or re.search(r"\[\(\s*'", line):
            problems.append(f"a Python list repr with quotes: {line.strip()[:100]!r}")
        if NEGATIVE_ZERO_IN_TEXT.search(line):
            problems.append(f"a negative zero: {line.strip()[:100]!r}")
    return problems


def test_printed_text_check_flags_reprs_and_negative_zeros():
    assert printed_text_problems("names: ['a', 'b']") and printed_text_problems("[('*', 4.0)]")
    assert printed_text_problems("outputs [-0.  1. ]") and printed_text_problems("slope -0")
    assert not printed_text_problems("x = -0.5, y = 10 - 0, shapes [(4, 3), (2, 4)], 1e-07")


def audited(path: Path) -> tuple[list[dict], list[str]]:
    nb, _ = execute(path, timeout=300, before=BEFORE, after=AFTER)
    assert not stderr_outputs(nb), "\n".join(stderr_outputs(nb))
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    records = json.loads(text.split(MARKER, 1)[1])
    latest = {}
    for record in records:                   # a figure drawn twice in a cell: its last state
        latest[(record["cell"], record["id"])] = record
    printed = [f"cell {index}: {problem}" for index, cell in enumerate(nb.cells[1:-1])
               for output in cell.get("outputs", []) if output.get("name") == "stdout"
               for problem in printed_text_problems(output.get("text", ""))]
    return list(latest.values()), printed


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_figure_of_the_lecture_is_legible(path):
    records, printed = audited(path)
    assert not printed, f"{path.name} prints text a reader should not see:\n" + "\n".join(printed)
    assert records, f"{path.name}: no figure was audited (is the hook installed?)"
    bad = [f"code cell {r['cell']} (from 0), figure {r['figure']!r}:\n    " + "\n    ".join(r["problems"])
           for r in records if r["problems"]]
    assert not bad, f"{path.name}: {len(bad)} of {len(records)} figures are hard to read:\n" + \
        "\n".join(bad)
