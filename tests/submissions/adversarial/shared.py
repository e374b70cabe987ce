"""What the attack banks beyond ``ps1/`` share: they attack PS1 too, with the same entries
(``Submission``), points (``TESTS``) and groups of cells that fall together (``WRONG_*``), all
defined once in ``adversarial/ps1/bank.py``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/submissions: build.py
import build  # noqa: E402


def ps1_bank():
    """The module ``adversarial/ps1/bank.py`` (loaded once)."""
    name = "bank_adversarial_ps1"
    if name not in sys.modules:
        build.load_bank("adversarial/ps1")
    return sys.modules[name]


def only_in_a_check(body: str) -> str:
    """Source of ``grading_check(f)``: True when ``f`` is the grader's black box, i.e. the call
    comes from a hidden check (what an attack on hidden inputs waits for)."""
    return "def grading_check(f):\n    return 'evaluated by the grader' in repr(f)\n\n" + body
