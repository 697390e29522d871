"""The report's journal: every record appended as soon as it is done, so that a batch can resume.

``FILE.journal`` beside ``--json FILE`` holds one JSON record per line. A later run with the same
``FILE`` reads the report and its journal and keeps the records of the submissions it already
graded (same path, same content), unless told to grade again. A record with a ``grader_error``
(the grader failed, not the student) is never kept: that submission is graded again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from autograder.records import Report, SubmissionRecord


def journal_path(json_path: Path) -> Path:
    return json_path.with_name(json_path.name + ".journal")


def _records(lines: list) -> dict[tuple[str, str], SubmissionRecord]:
    found = {}
    for data in lines:
        try:
            record = SubmissionRecord.from_json(json.loads(data) if isinstance(data, str) else data)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line cut short by an interruption, or not a record
        if record.grader_error:  # the grader failed, not the student: graded again
            continue
        found[(record.path, record.sha256)] = record
    return found


def previous_records(json_path: Path | None) -> dict[tuple[str, str], SubmissionRecord]:
    """Records of an earlier run, by (path, sha256): the report, then its journal, less those the grader failed."""
    if json_path is None:
        return {}
    try:
        report = json.loads(json_path.read_text())
        found = _records(report.get("submissions", []) if isinstance(report, dict) else [])
    except (OSError, ValueError):
        found = {}
    with contextlib.suppress(OSError):
        found.update(_records(journal_path(json_path).read_text().splitlines()))
    return found


def write_json(path: Path, report: Report) -> None:
    """Write the report atomically: a reader sees the old report or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.to_json(), indent=1))
    os.replace(tmp, path)
