"""Class statistics for the teacher: ``autograder stats``, over records already graded.

A source is a JSON report of ``autograder grade`` or an nbgrader course directory, whose
``autograde`` kept each notebook's record (``course_records.course_records``): nothing is graded again.
From the records it computes, per part, the score distribution and how many students have full,
partial or zero marks or handed nothing in; per group of checks and per check, the share of the
students who attempted the part that passed (hardest first; almost nobody passing flags the check
or the teaching); the recognised mistakes by the number of students who made them; the students who
may need help; near-identical answers (``fingerprint``: the code is re-read from the submitted
files, less the stubs every student received), a flag for a human and never a penalty; and the
grader's flags for a TA. ``html_page`` writes it as one self-contained page, ``csv_rows`` as long
rows for a spreadsheet.

Its concerns, one module each: ``sources`` (reading the records), ``numbers`` (the statistics),
``copies`` (near-identical answers), ``page`` (the HTML page and the terminal's lines), ``table``
(the CSV).

One record per student and part: the first counts; a later one (another file graded as the same
part, ``PartResult.duplicate_of``) is left out of every number and listed as a flag for a TA.
Names are ``shown`` from the start (a student is known by the shown form of their id, which no
other id shares), and every text of the page, the CSV and the terminal is ``printable``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from autograder.stats.copies import Copies
from autograder.stats.numbers import (
    HARD,
    HARD_MIN_ATTEMPTS,
    LOWEST,
    ClassStats,
    Help,
    Mistake,
    PartStats,
    PassRate,
    class_stats,
)
from autograder.stats.page import histogram, html_page, summary
from autograder.stats.sources import (
    Answer,
    ClassRecords,
    Flag,
    SourceError,
    is_course,
    read_sources,
    student_name,
    untouched,
)
from autograder.stats.table import CSV_HEADER, csv_rows

__all__ = [
    "CSV_HEADER", "HARD", "HARD_MIN_ATTEMPTS", "LOWEST", "Answer", "ClassRecords", "ClassStats", "Copies", "Flag",
    "Help", "Mistake", "PartStats", "PassRate", "SourceError", "class_stats", "csv_rows", "histogram", "html_page",
    "is_course", "read_sources", "stats", "student_name", "summary", "untouched",
]  # fmt: skip


def stats(*, sources: Sequence[Path | str], html_path: Path | None = None, csv_path: Path | None = None) -> ClassStats:
    """Read the sources, compute the class's statistics, and write the page and the CSV where asked."""
    result = class_stats(read_sources(sources))
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html_page(result), encoding="utf-8")
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows(csv_rows(result))
    return result
