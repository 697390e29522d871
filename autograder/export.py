"""The results as CSV files for a spreadsheet: one row per student and part, or one row per check.

``write_parts_csv``: ``student, submission, part, score, max_score``, then one column per group of
checks (the points of that group; empty for a part without it), then ``error``.
``write_checks_csv``: ``student, submission, part, check, group, device, result`` (passed, failed
or skipped), ``points, max_points, hint, message``. Both are written by ``autograder grade --csv
FILE --checks-csv FILE`` and, from the records ``nbgrader autograde`` keeps in a course, by
``autograder course export``. Every CSV the project writes goes through ``cell`` (``messages.csv_cell``;
a group's points are ``messages.rounded``, as the part's score): its text is
``printable`` (one line, no control, escape, bidirectional or other format character), names
(student ids, paths) are ``shown`` (such characters written as visible escapes, so no name passes
for another), and a cell a spreadsheet would take for a formula (``=``, ``+``, ``-`` or ``@``
first, after any spaces) starts with a quote: the text in it is the student's. A part that another
file of the same student holds (``duplicate_of``) is a row of ``write_parts_csv`` with 0 of 0
points that says so, and has no rows in ``write_checks_csv``: no sum counts it.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from autograder.messages import csv_cell, rounded
from autograder.records import PartResult, SubmissionRecord
from autograder.text import shown

CHECK_COLUMNS = (
    "student",
    "submission",
    "part",
    "check",
    "group",
    "device",
    "result",
    "points",
    "max_points",
    "hint",
    "message",
)


cell = csv_cell  # every cell of every CSV the project writes


def _points(part: PartResult) -> dict[str, float]:
    """The points each group of checks earned in ``part``, in the order of its checks (``rounded``, as the score)."""
    groups: dict[str, float] = {}
    for check in part.checks:
        groups[check.group] = groups.get(check.group, 0.0) + check.points
    return {group: rounded(points) for group, points in groups.items()}


def _parts(records: Iterable[SubmissionRecord]) -> list[tuple[SubmissionRecord, PartResult | None]]:
    """Each record's parts; a record without any (it could not be read) as one row without a part."""
    rows: list[tuple[SubmissionRecord, PartResult | None]] = []
    for record in records:
        rows += [(record, part) for part in record.parts] or [(record, None)]
    return rows


def part_rows(records: Sequence[SubmissionRecord]) -> list[list[str]]:
    """The table of ``write_parts_csv``, its header first."""
    rows = _parts(records)
    groups = list(dict.fromkeys(g for _, part in rows if part is not None for g in _points(part)))
    table = [["student", "submission", "part", "score", "max_score", *groups, "error"]]
    for record, part in rows:
        if part is None:
            line = [shown(record.student), shown(record.path), ",".join(record.wanted), 0.0, record.max_score]
            line += [""] * len(groups)
            table.append([cell(v) for v in [*line, record.error or record.grader_error]])
            continue
        if part.duplicate_of:  # kept in the record, never added: 0 of 0
            why = f"not counted: {shown(part.duplicate_of)} holds this student's {part.part}"
            line = [shown(record.student), shown(record.path), part.part, 0.0, 0.0, *[""] * len(groups), why]
            table.append([cell(v) for v in line])
            continue
        points = _points(part)
        earned: list[object] = [points.get(g, "") for g in groups]
        line = [shown(record.student), shown(record.path), part.part, part.score, part.max_score, *earned, part.error]
        table.append([cell(v) for v in line])
    return table


def check_rows(records: Sequence[SubmissionRecord]) -> list[list[str]]:
    """The table of ``write_checks_csv``, its header first."""
    table = [list(CHECK_COLUMNS)]
    for record, part in _parts(records):
        if part is None or part.duplicate_of:
            continue
        for check in part.checks:
            line = [shown(record.student), shown(record.path), part.part, check.name, check.group, check.device, check.status,
                    check.points, check.max_points, check.hint, check.message]  # fmt: skip
            table.append([cell(v) for v in line])
    return table


def _write(path: Path | str, table: list[list[str]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)
    return path


def write_parts_csv(*, records: Sequence[SubmissionRecord], path: Path | str) -> Path:
    """One row per student (submission) and part: its score and the points of each group of checks."""
    return _write(path, part_rows(records))


def write_checks_csv(*, records: Sequence[SubmissionRecord], path: Path | str) -> Path:
    """One row per check of every part of every submission."""
    return _write(path, check_rows(records))
