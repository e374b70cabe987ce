"""Submission times survive an LMS import (tools/lms_times.py): archive names carry no time, the
LMS's records do; written as nbgrader's timestamp.txt, they make late penalties apply.

The end-to-end test imports a Moodle-style "download all submissions" archive with the real
``nbgrader zip_collect``, adds the times from a Moodle grading worksheet, autogrades, and reads
the submission times and late penalties from the gradebook.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from nbgrader_course import ROOT, make_course, nbgrader

sys.path.insert(0, str(ROOT / "tools"))
import lms_times  # noqa: E402  (tools/lms_times.py)

MOODLE_WORKSHEET = """\
Identifier,Full name,Email address,Status,Grade,Last modified (submission),Last modified (grade)
Participant 111,Jane Doe,jane@example.org,Submitted for grading,,"Monday, 3 March 2025, 9:15 PM",-
Participant 222,Ann Lee,ann@example.org,Submitted for grading,,"Tuesday, 4 March 2025, 1:05 AM",-
Participant 333,No Show,no@example.org,No submission,,-,-
"""
CANVAS_CSV = """sortable_name,user_id,submitted_at
"Doe, Jane",9,2025-03-03T21:15:00Z
"O'Brien, Pat",10,2025-03-04T01:05:00+01:00
"Nobody, Here",11,
"""


def test_moodle_worksheet_times_in_the_moodle_users_zone(tmp_path):
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(MOODLE_WORKSHEET)
    times = lms_times.read_times(sheet, "moodle", ZoneInfo("Europe/Zurich"))
    assert set(times) == {"111", "222"}  # "No submission" has no time
    assert times["111"].astimezone(timezone.utc) == datetime(2025, 3, 3, 20, 15, tzinfo=timezone.utc)


def test_canvas_times_by_the_name_the_archive_uses(tmp_path):
    table = tmp_path / "submissions.csv"
    table.write_text(CANVAS_CSV)
    times = lms_times.read_times(table, "canvas", ZoneInfo("UTC"))
    assert set(times) == {"doejane", "obrienpat"}
    assert times["obrienpat"].astimezone(timezone.utc) == datetime(2025, 3, 4, 0, 5, tzinfo=timezone.utc)


def test_a_wrong_file_gets_a_clear_error(tmp_path):
    table = tmp_path / "other.csv"
    table.write_text("name,time\nx,y\n")
    with pytest.raises(SystemExit, match="no column 'Identifier'"):
        lms_times.read_times(table, "moodle", ZoneInfo("UTC"))
    table.write_text("student_id,submitted_at\nx,yesterday\n")
    with pytest.raises(SystemExit, match="line 2: cannot read the time 'yesterday'"):
        lms_times.read_times(table, "csv", ZoneInfo("UTC"))


@pytest.mark.slow
def test_moodle_import_keeps_submission_times_and_late_penalties_apply(tmp_path):
    course = make_course(tmp_path / "term")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + '''
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<first_name>[^/_]+) (?P<last_name>[^/_]+)_(?P<student_id>\\d+)"
    r"_assignsubmission_file_/(?P<file_id>[^/]+)\\.ipynb$")
c.FileNameCollectorPlugin.valid_ext = [".ipynb"]
c.LateSubmissionPlugin.penalty_method = "zero"
c.SandboxAutograde.cell_timeout = 10
c.SandboxAutograde.check_timeout = 5
''')
    due = "2025-03-03 23:00:00 UTC"  # Europe/Zurich: midnight
    for command in (("db", "assignment", "add", "ps1", f"--duedate={due}"), ("generate_assignment", "ps1")):
        done = nbgrader(course, *command)
        assert done.returncode == 0, done.stderr[-3000:]
    archive = course / "downloaded" / "ps1" / "archive"
    archive.mkdir(parents=True)
    solution = ROOT / "solutions" / "ps1" / "ps1.ipynb"  # full marks before any penalty
    with zipfile.ZipFile(archive / "moodle.zip", "w") as bundle:
        for name, number in (("Jane Doe", 111), ("Ann Lee", 222)):
            bundle.write(solution, f"{name}_{number}_assignsubmission_file_/ps1.ipynb")
    done = nbgrader(course, "zip_collect", "ps1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (course / "submitted" / "111" / "ps1" / "timestamp.txt").exists()  # names carry no time
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(MOODLE_WORKSHEET)
    written, missing = lms_times.write_timestamps(
        course, "ps1", lms_times.read_times(sheet, "moodle", ZoneInfo("Europe/Zurich")))
    assert written == ["111", "222"] and missing == []
    shutil.rmtree(course / "downloaded")
    done = nbgrader(course, "autograde", "ps1")
    assert done.returncode == 0, done.stderr[-3000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
        on_time = gradebook.find_submission("ps1", "111")
        late = gradebook.find_submission("ps1", "222")
        assert on_time.timestamp == datetime(2025, 3, 3, 20, 15)  # UTC, as nbgrader stores it
        assert late.timestamp == datetime(2025, 3, 4, 0, 5)
        assert on_time.total_seconds_late == 0 and late.total_seconds_late == 65 * 60
        assert on_time.late_submission_penalty == 0 and on_time.score > 0
        assert late.late_submission_penalty == late.score > 0  # "zero": the late work counts 0
