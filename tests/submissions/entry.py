"""One submission-bank entry, the same for every problem set's bank (tests/submissions/psN/bank.py)."""

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Submission:
    description: str
    answers: dict = field(default_factory=dict)  # answer-cell grade_id -> new source
    lost: tuple = ()  # autograded test cells scoring 0; all others full marks
    delete: tuple = ()  # cells (grade_id) the student deleted
    # lost test cell -> the key phrase its failure message must contain (the cause it names)
    messages: dict = field(default_factory=dict)
    needs_landlock_signals: bool = False  # only safe to run where the sandbox is confined


def model_answers(assignment: str) -> dict[str, str]:
    """``{answer cell grade_id: model answer}`` of a problem set's source, markers removed."""
    import nbformat

    from build import solution_answers  # tests/submissions/build.py

    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    return solution_answers(nbformat.read(source, as_version=4))
