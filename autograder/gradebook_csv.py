"""The gradebook as an LMS imports it: one row per student, a column per part and the total.

Three forms (``FORMS``), each a CSV whose first column identifies the student by the header the
teacher chooses (``id_column``; the values are the students' ids, or what ``ids`` maps them to,
such as the emails of the course's roster):

- ``plain``: ``student, <part>..., total``;
- ``canvas``: Canvas's gradebook import: ``Student, <id column>, Section``, a column per part and
  the total, and a second row ``Points Possible`` (Canvas reads an id from ``ID``, ``SIS User ID``
  or ``SIS Login ID``; a column it does not know becomes a new assignment);
- ``moodle``: Moodle's grade import (*Import > CSV file*): ``<id column>`` (mapped to ``Email
  address``, ``Username`` or ``ID number`` at import), a column per part and the total.

Every number is rounded once, by ``messages.rounded`` (two decimals, halves away from zero, on the decimal
value written), and the total is the sum of the rounded parts, so a row adds up as shown. Only the
parts that count are added: a second file of a part a student already has (``duplicate_of``) is
never in the sum. A part a student did not hand in is 0.

``messages.rounded`` is the package's one rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from autograder.export import _write, cell
from autograder.messages import rounded
from autograder.parts import PARTS
from autograder.records import SubmissionRecord
from autograder.text import shown

FORMS = ("plain", "canvas", "moodle")
DEFAULT_ID_COLUMN = {"plain": "student", "canvas": "SIS Login ID", "moodle": "Username"}


def _rounded(value: float) -> Decimal:
    """``value`` as ``messages.rounded`` shows it, exact, so that the rounded parts add up as written."""
    return Decimal(repr(rounded(value)))


def _number(value: Decimal) -> str:
    return f"{value:.2f}"


def _assignment(record: SubmissionRecord) -> str:
    """The assignment of a course record (``student/assignment/notebook.ipynb``); "" for ``autograder grade``."""
    bits = record.path.split("/")
    return bits[-2] if record.student and len(bits) >= 3 else ""


def columns(records: Sequence[SubmissionRecord]) -> list[tuple[str, str]]:
    """The (assignment, part) of every column, in the order of the assignments, then of ``PARTS``."""
    order = list(PARTS)
    found = {(_assignment(r), p.part) for r in records for p in r.parts}
    return sorted(found, key=lambda key: (key[0], order.index(key[1]) if key[1] in order else len(order), key[1]))


def student_of(record: SubmissionRecord) -> str:
    """Whose record: the folder's student, else the file (each file is a student of its own)."""
    return record.student or record.path


def totals(records: Sequence[SubmissionRecord]) -> dict[str, dict[tuple[str, str], Decimal]]:
    """Each student's rounded points per (assignment, part), counted parts only."""
    table: dict[str, dict[tuple[str, str], Decimal]] = {}
    for record in records:
        row = table.setdefault(student_of(record), {})
        for part in record.counted:
            key = (_assignment(record), part.part)
            raw = sum(c.points for c in part.checks)  # not ``part.score``: rounded once, here
            row[key] = row.get(key, Decimal(0)) + _rounded(raw)
    return table


def gradebook_rows(
    records: Sequence[SubmissionRecord],
    form: str = "plain",
    id_column: str | None = None,
    ids: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """The table of ``write_gradebook_csv``, its header (and for Canvas the points-possible row) first."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: choose {', '.join(FORMS)}")
    id_column = id_column or DEFAULT_ID_COLUMN[form]
    cols = columns(records)
    several = len({a for a, _ in cols}) > 1
    names = [f"{a} {p}" if several else p for a, p in cols]
    maxima = {(_assignment(r), p.part): p.max_score for r in records for p in r.parts if not p.duplicate_of}
    possible = [_rounded(maxima.get(c, 0.0)) for c in cols]
    lead = ["Student", id_column, "Section"] if form == "canvas" else [id_column]
    table = [[cell(x) for x in [*lead, *names, "total"]]]
    if form == "canvas":
        table.append(["Points Possible", "", "", *[_number(x) for x in possible], _number(sum(possible, Decimal(0)))])
    for student, points in sorted(totals(records).items()):
        shown_id = shown((ids or {}).get(student, student))
        values = [points.get(c, Decimal(0)) for c in cols]
        lead_values = [shown(student), shown_id, ""] if form == "canvas" else [shown_id]
        table.append([*[cell(x) for x in lead_values], *[_number(v) for v in values], _number(sum(values, Decimal(0)))])
    return table


def write_gradebook_csv(
    *,
    records: Sequence[SubmissionRecord],
    path: Path | str,
    form: str = "plain",
    id_column: str | None = None,
    ids: Mapping[str, str] | None = None,
) -> Path:
    """One row per student: a column per part and the total, in ``form`` (``FORMS``)."""
    return _write(path, gradebook_rows(records, form, id_column, ids))
