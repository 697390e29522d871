"""The report's journal: every record appended as soon as it is done, so that a batch can resume.

``FILE.journal`` beside ``--json FILE`` holds one JSON record per line. A later run with the same
``FILE`` reads the report and its journal and keeps the records of the submissions it already
graded (same path, same content), unless told to grade again. A record with a ``grader_error``
(the grader failed, not the student) is never kept: that submission is graded again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def journal_path(json_path: Path) -> Path:
    return json_path.with_name(json_path.name + ".journal")


def previous_records(json_path: Path | None) -> dict[tuple[str, str], dict]:
    """Records of an earlier run, by (path, sha256): the report and its journal, less those the grader failed."""
    found: dict[tuple[str, str], dict] = {}
    if json_path is None:
        return found
    try:
        for record in json.loads(json_path.read_text()).get("submissions", []):
            found[(record["path"], record.get("sha256", ""))] = record
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        pass
    try:
        for line in journal_path(json_path).read_text().splitlines():
            try:
                record = json.loads(line)
                found[(record["path"], record.get("sha256", ""))] = record
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interruption
    except OSError:
        pass
    return {key: record for key, record in found.items() if not record.get("grader_error")}


def write_json(path: Path, report: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)
