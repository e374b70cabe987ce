"""``LmsCsvExport``: grades as an LMS gradebook imports them, one row per student.

    nbgrader export --exporter=autograder.export.LmsCsvExport --to grades-lms.csv

nbgrader's own ``nbgrader export`` writes one row per (assignment, student) and does not quote
its fields. An LMS gradebook import (Canvas, Moodle, Blackboard...) wants one row per student
and one column per assignment. This exporter writes, with proper CSV quoting::

    student_id,last_name,first_name,email,ps1,ps2,...,total,max_total

Each assignment's cell is the score after late penalties (nbgrader's ``score`` column), 0 for
a missing submission, rounded to 2 decimals; ``max_total`` is the sum of the assignments'
maxima. ``--ExportPlugin.assignment=[...]`` and ``--ExportPlugin.student=[...]`` filter as in
nbgrader. A text field starting with ``=``, ``+``, ``-`` or ``@`` (a student id or name that a
spreadsheet would run as a formula) is prefixed with ``'``.
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin


def safe_text(value) -> str:
    """A text field a spreadsheet shows as text, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class LmsCsvExport(ExportPlugin):
    """One row per student, one column per assignment (scores after late penalties)."""

    def export(self, gradebook) -> None:
        dest = self.to or "grades-lms.csv"
        wanted_assignments = {str(a) for a in self.assignment}
        wanted_students = {str(s) for s in self.student}
        assignments = [a for a in gradebook.assignments
                       if not wanted_assignments or a.name in wanted_assignments]
        students = [s for s in gradebook.students
                    if not wanted_students or s.id in wanted_students]
        self.log.info("Exporting %d students x %d assignments to %s", len(students),
                      len(assignments), dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student_id", "last_name", "first_name", "email",
                             *[a.name for a in assignments], "total", "max_total"])
            max_total = sum(a.max_score for a in assignments)
            for student in sorted(students, key=lambda s: s.id):
                scores = []
                for assignment in assignments:
                    try:
                        submission = gradebook.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        scores.append(0.0)
                        continue
                    penalty = submission.late_submission_penalty or 0.0
                    scores.append(max(0.0, submission.score - penalty))
                writer.writerow([safe_text(student.id), safe_text(student.last_name),
                                 safe_text(student.first_name), safe_text(student.email),
                                 *[f"{score:.2f}" for score in scores], f"{sum(scores):.2f}",
                                 f"{max_total:.2f}"])
