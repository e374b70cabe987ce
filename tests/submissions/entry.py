"""One submission-bank entry, the same for every problem set's bank (tests/submissions/psN/bank.py)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Submission:
    description: str
    answers: dict = field(default_factory=dict)  # answer-cell grade_id -> new source
    lost: tuple = ()  # autograded test cells scoring 0; all others full marks
    delete: tuple = ()  # cells (grade_id) the student deleted
    # lost test cell -> the key phrase its failure message must contain (the cause it names)
    messages: dict = field(default_factory=dict)
    needs_landlock_signals: bool = False  # only safe to run where the sandbox is confined
