"""``HiddenCheckFeedback``: feedback with or without the details of the hidden checks.

``nbgrader generate_feedback`` turns each autograded notebook into HTML, outputs included. The
output of an autograded test cell is the hidden check's verdict, and a failed check's message
names the hidden inputs it used and the value it expected (nbgrader likewise shows hidden tests
in feedback, by design). That helps a student find the mistake, and it publishes the hidden
checks: an instructor who reuses them next term may not want that.

With ``HiddenCheckFeedback.show_details = False`` (``nbgrader_config.py``, or
``nbgrader generate_feedback ps1 --HiddenCheckFeedback.show_details=False``) each verdict is cut
down to its first line (``FAILED test_x (0 of 3 points)``) and the *kind* of failure, in words
that name no hidden input or expected value (a wrong value, a time-out, an exception by name,
a missing function...). Regions between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
in any cell are removed too. Scores, the student's own code, outputs and the visible tests are
unchanged. With ``True`` (the default, nbgrader's behaviour) the feedback is left as it is.
"""

from __future__ import annotations

import re

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode

WITHHELD = ("The details of the hidden checks (their inputs and expected values) are not shown in "
            "this feedback. Run the visible tests in your notebook to investigate.")

# What a student is told about a failed check when details are hidden: one of these fixed
# sentences, chosen from the FIRST line of the verdict (which the grader writes; what a student's
# code returns, raises or prints comes after the grader's own words, and is never copied into
# the feedback). Only names the check itself wrote (the function or variable it looked for) are
# filled in, so nothing a student's code computed from a hidden input reaches the feedback.
KINDS = [
    (r"still raises NotImplementedError",
     "A function still raises NotImplementedError: it has not been written yet."),
    (r"\AThe (function|variable) ([A-Za-z_][A-Za-z0-9_]{0,60}) is not defined",
     "The {1} {2} is not defined when this cell is reached (does the cell defining it run "
     "without an error?)."),
    (r"did not finish", "A call to your code did not finish in time (an infinite loop, or "
                        "far more work than the task needs)."),
    (r"stopped the Python process|Not graded: the process running|The Python process stopped",
     "Your code stopped the process running it (os._exit, a crash or running out of memory)."),
    (r"but the answer must be a number|should be a number or a NumPy array",
     "Your code returned something that is not a number or an array of numbers."),
    (r"should be a function, but it is", "A name the check calls is not a function."),
    (r"changed its argument", "Your function changed an argument in place."),
    (r"\braised [A-Za-z_]", "A call to your code raised an exception (run the visible tests to "
                             "see which)."),
    (r"\AThe grader's check itself failed",
     "The grader's check failed (a bug in the grader, not in your work)."),
    (r"\ANot graded: the grader could not read your notebook file",
     "Not graded: the grader could not read your notebook file (see your instructor)."),
    (r"\ANot graded: (the grader's time for this notebook was used up|the code above stopped "
     r"the sandbox|during this check your code changed files|the process running your code "
     r"could not be)", "Not graded: {1} (see your instructor)."),
    (r"\ANot graded", "Not graded (see your instructor)."),
    (r"shape", "Your answer has the wrong shape for at least one hidden input."),
    (r"NaN|infinite", "Your answer contains NaN or infinite values for at least one hidden input."),
]
HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                           re.M | re.S)


def failure_kind(message: str) -> str:
    """What went wrong, without any hidden input, expected value or student-written text."""
    lines = message.strip().splitlines()
    first = lines[0] if lines else ""
    for pattern, text in KINDS:
        found = re.search(pattern, first)
        if found:
            return text.format(*[found.group(0), *found.groups()])
    return "At least one hidden check found a wrong value."


class HiddenCheckFeedback(NbGraderPreprocessor):
    """In ``GenerateFeedback.preprocessors``: keep or strip the hidden checks' details."""

    show_details = Bool(True, help="Show the hidden checks' messages (inputs, expected values) "
                                   "in feedback; False keeps only the verdict and the kind of "
                                   "failure.").tag(config=True)
    withheld_note = Unicode(WITHHELD, help="Added to each failed verdict when details are "
                                           "hidden.").tag(config=True)

    def preprocess(self, nb, resources):
        if self.show_details:
            return nb, resources
        for cell in nb.cells:
            if isinstance(cell.get("source"), str) and "### BEGIN HIDDEN TESTS" in cell.source:
                cell.source = HIDDEN_REGION.sub("", cell.source)
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                cell.outputs = [self._summary(output) for output in cell.get("outputs", [])]
        return nb, resources

    def _summary(self, output):
        if output.get("output_type") == "error":
            lines = [line for line in output.get("traceback", []) if isinstance(line, str)]
            head = lines[0] if lines and lines[0].startswith("FAILED ") else "FAILED"
            kind = failure_kind("\n".join(lines[1:]) or str(output.get("evalue", "")))
            return new_output("error", ename=output.get("ename", "CheckFailed"), evalue=kind,
                              traceback=[head, kind, self.withheld_note])
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            first = text.splitlines()[0] if text.strip() else ""
            return new_output("stream", name=output.get("name", "stdout"), text=first + "\n")
        return new_output("stream", name="stdout", text="(output not shown)\n")
