"""The report's journal: every record appended as soon as it is done, so that a batch can resume.

``FILE.journal`` beside ``--json FILE`` holds one JSON record per line. A later run with the same
``FILE`` reads the report and its journal and keeps the records of the submissions it already
graded (same path, same content), unless told to grade again. A record with a ``grader_error``
(the grader failed, not the student) is never kept: that submission is graded again.

``Journal`` is the whole of it for one run of ``grade``: the records an earlier run kept
(``earlier``), each new record appended as soon as it is done (``append``), and at the end the
report written whole, the journal removed once every submission has its record (``finish``).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO

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


class Journal:
    """The journal of the report ``json_path`` for one run (nothing is kept without a ``json_path``).

    ``force``: the records of an earlier run are not reused; they are kept until their replacements are
    graded (a regrade cut short loses nothing: ``kept`` gives them back for what was not graded again).
    """

    def __init__(self, json_path: Path | str | None, force: bool = False) -> None:
        self.json_path = Path(json_path) if json_path is not None else None
        self.force = force
        self.file: IO[str] | None = None
        self.previous: dict[str, SubmissionRecord] = {}

    def earlier(self) -> dict[tuple[str, str], SubmissionRecord]:
        """The records an earlier run kept, by (path, sha256): none to reuse when forced (``previous_records``)."""
        found = previous_records(self.json_path)
        self.previous = {path: record for (path, _), record in found.items()}
        return {} if self.force else found

    def kept(self, path: str) -> SubmissionRecord | None:
        """The earlier run's record of ``path``, if it had one (what a regrade cut short leaves in the report)."""
        return self.previous.get(path)

    def open(self) -> None:
        """Start appending (after the earlier records were read): the folder is made, the journal opened."""
        if self.json_path is not None and self.file is None:
            self.json_path.parent.mkdir(parents=True, exist_ok=True)
            self.file = journal_path(self.json_path).open("a")  # --force too: a regrade cut short loses nothing

    def append(self, record: SubmissionRecord) -> None:
        """Keep ``record`` at once, one line: a run cut short after this keeps it."""
        if self.file is not None:
            self.file.write(json.dumps(record.to_json()) + "\n")
            self.file.flush()

    def finish(self, report: Report, complete: bool) -> None:
        """Close the journal and write ``report``; a ``complete`` report (every submission has its record)
        replaces the journal, else the journal stays for the next run to resume from."""
        if self.file is None or self.json_path is None:
            return
        self.file.close()
        self.file = None
        write_json(self.json_path, report)
        if complete:
            journal_path(self.json_path).unlink(missing_ok=True)
