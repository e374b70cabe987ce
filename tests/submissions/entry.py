"""One submission-bank entry and one bank, the same for every problem set (tests/submissions/psN/bank.py)."""

from dataclasses import dataclass, field
from functools import cached_property
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


class Bank(dict):
    """A problem set's bank, ``{name: Submission}``, with the two ways its entries are written:
    ``add(name, ...)`` and ``patched(grade_id, old, new)`` (a model answer with one piece
    replaced, which fails loudly when the model answer no longer contains it)."""

    def __init__(self, assignment: str):
        super().__init__()
        self.assignment = assignment

    def add(self, name: str, **kwargs) -> None:
        self[name] = Submission(**kwargs)

    @cached_property
    def model(self) -> dict[str, str]:
        """The problem set's model answers (read once, when a bank first needs them)."""
        return model_answers(self.assignment)

    def patched(self, grade_id: str, old: str, new: str) -> str:
        """The model answer of ``grade_id`` with the one occurrence of ``old`` replaced by ``new``."""
        source = self.model[grade_id]
        if source.count(old) != 1:
            raise ValueError(f"bank: {old!r} occurs {source.count(old)} times in {grade_id}")
        return source.replace(old, new)
