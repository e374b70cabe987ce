"""Submission times from an LMS, written where nbgrader reads them (``timestamp.txt``).

    python tools/lms_times.py ps1 --moodle grading-worksheet.csv
    python tools/lms_times.py ps1 --canvas submissions.csv
    python tools/lms_times.py ps1 --csv times.csv              # columns: student_id, submitted_at

An LMS's "download all submissions" archive names files by student, not by time: Canvas adds at
most a ``LATE`` flag to the name, Moodle nothing. ``nbgrader zip_collect`` therefore copies the
notebooks without a submission time, and no late penalty can apply. The time is in the LMS's
own records:

- **Moodle**: Assignment > "Download grading worksheet" (offline grading worksheet enabled): the
  column ``Last modified (submission)`` (e.g. ``Monday, 3 March 2025, 11:59 PM``, in the
  timezone given by ``--timezone``, your Moodle profile's) and ``Identifier``
  (``Participant 12345``), the number the archive's folder names carry;
- **Canvas**: the submissions of the assignment from Canvas's API or a gradebook plug-in, as CSV
  with ``sortable_name`` (``Doe, Jane``: the archive's file names carry it as ``doejane``) and
  ``submitted_at`` (ISO 8601, e.g. ``2025-03-03T23:59:00Z``);
- anything else: a CSV with ``student_id`` and ``submitted_at`` (ISO 8601).

Run it after ``nbgrader zip_collect`` and before autograding. It writes
``submitted/<student>/<assignment>/timestamp.txt`` (UTC) for each student of the CSV that has a
submission folder, reports students without one, and never touches a notebook.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REQUIRED = {"moodle": ("Identifier", "Last modified (submission)"),
            "canvas": ("sortable_name", "submitted_at"), "csv": ("student_id", "submitted_at")}
MOODLE_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y, %I:%M %p")


def canvas_id(sortable_name: str) -> str:
    """``Doe, Jane`` -> ``doejane``: how Canvas names a student in its archive."""
    return re.sub(r"[^a-z0-9]", "", sortable_name.lower())


def moodle_id(identifier: str) -> str:
    """``Participant 12345`` -> ``12345``."""
    match = re.search(r"(\d+)\s*$", identifier)
    if not match:
        raise ValueError(f"not a Moodle participant identifier: {identifier!r}")
    return match.group(1)


def parse_time(text: str, zone: ZoneInfo, formats=()) -> datetime:
    """An aware datetime from ISO 8601 or one of ``formats`` (naive times are in ``zone``)."""
    text = text.strip()
    for form in formats:
        try:
            return datetime.strptime(text, form).replace(tzinfo=zone)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"cannot read the time {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def read_times(path: Path, kind: str, zone: ZoneInfo) -> dict[str, datetime]:
    """{student id as the archive names it: submission time} from the LMS's CSV."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows, columns = list(reader), set(reader.fieldnames or ())
    for column in REQUIRED[kind]:
        if column not in columns:
            raise SystemExit(f"{path}: no column {column!r}; is this a {kind} file? "
                             f"(it has: {', '.join(sorted(columns)) or 'nothing'})")
    times = {}
    for number, row in enumerate(rows, start=2):
        try:
            if kind == "moodle":
                stamp = row.get("Last modified (submission)", "").strip()
                if not stamp or stamp == "-":
                    continue  # no submission
                times[moodle_id(row["Identifier"])] = parse_time(stamp, zone, MOODLE_FORMATS)
            elif kind == "canvas":
                if not (row.get("submitted_at") or "").strip():
                    continue
                times[canvas_id(row["sortable_name"])] = parse_time(row["submitted_at"], zone)
            else:
                times[row["student_id"].strip()] = parse_time(row["submitted_at"], zone)
        except ValueError as exc:
            raise SystemExit(f"{path}, line {number}: {exc}") from None
    return times


def write_timestamps(course: Path, assignment: str, times: dict[str, datetime],
                     submitted: str = "submitted") -> tuple[list[str], list[str]]:
    """Write each time as nbgrader's ``timestamp.txt``; return (written, no submission folder)."""
    written, missing = [], []
    for student, moment in sorted(times.items()):
        folder = course / submitted / student / assignment
        if not folder.is_dir():
            missing.append(student)
            continue
        utc = moment.astimezone(timezone.utc)
        (folder / "timestamp.txt").write_text(utc.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        written.append(student)
    return written, missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--moodle", type=Path, help="Moodle's grading worksheet (CSV)")
    source.add_argument("--canvas", type=Path, help="Canvas submissions (CSV: sortable_name, submitted_at)")
    source.add_argument("--csv", type=Path, help="CSV with student_id and submitted_at")
    parser.add_argument("--timezone", default="UTC", help="the zone of times without one (Moodle's)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the term's course folder")
    args = parser.parse_args(argv)
    kind, path = next((k, p) for k, p in (("moodle", args.moodle), ("canvas", args.canvas),
                                          ("csv", args.csv)) if p is not None)
    times = read_times(path, kind, ZoneInfo(args.timezone))
    written, missing = write_timestamps(args.course, args.assignment, times)
    print(f"submission times written for {len(written)} students of {args.assignment}")
    if missing:
        print(f"in the {kind} file but with no submission folder: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
