"""The records of a class, read from its sources: a JSON report of ``autograder grade``, or an nbgrader
course whose ``autograde`` kept each notebook's record in its gradebook (``course_records.course_records``).

One record per student and part: the first counts; a later one (another file graded as the same
part, ``PartResult.duplicate_of``) is left out of every number and listed as a flag for a TA.
Names are ``shown`` from the start: a student is known by the shown form of their id, which no
other id shares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder.nbgrader.course_records import COURSE_RECORDS, course_records
from autograder.parts import PARTS
from autograder.records import PartResult, Report, SubmissionRecord, duplicate_flag
from autograder.stats.copies import stub_fingerprint
from autograder.text import shown


class SourceError(ValueError):
    """A source that is neither a JSON report nor an nbgrader course (a usage error)."""


@dataclass
class Answer:
    """One student's graded answer to one part, and its code where the submitted file was found."""

    student: str
    result: PartResult
    record: SubmissionRecord
    code: str | None = None

    @property
    def part(self) -> str:
        return self.result.part


@dataclass
class ClassRecords:
    """What the sources hold: the answers by (student, part), the stubs' fingerprint, what to tell the reader."""

    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    students: set[str] = field(default_factory=set)
    received: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    missing_code: list[str] = field(default_factory=list)
    duplicates: list[Flag] = field(default_factory=list)  # a part graded again for a student: not counted


@dataclass
class Flag:
    student: str
    part: str
    text: str


def student_name(record: SubmissionRecord) -> str:
    """The record's student, ``shown``; for a plain file, its stem (its folder's name when the stem is a part's)."""
    if record.student:
        return shown(record.student)
    path = Path(record.path)
    if path.stem in PARTS and path.parent.name not in ("", "."):
        return shown(path.parent.name)
    return shown(path.stem)


def untouched(part: PartResult) -> bool:
    """Is this the stub as released: nothing passes, and every failed check met a stub (``Check.stub``)?"""
    failed = [c for c in part.checks if c.failed]
    return bool(failed) and not any(c.passed for c in part.checks) and all(c.stub for c in failed)


def _code(paths: Sequence[Path]) -> str | None:
    from autograder.submission import load

    for path in paths:
        if path.is_file():
            sub = load(path)
            return None if sub.error and not sub.code else sub.code
    return None


def is_course(path: Path) -> bool:
    return path.is_dir() and ((path / COURSE_RECORDS).is_dir() or (path / "nbgrader_config.py").is_file())


def read_sources(sources: Sequence[Path | str]) -> ClassRecords:
    """Every record of the sources, in order (a later record of the same student and part replaces one before)."""
    out = ClassRecords()
    released: list[Path] = []
    for source in map(Path, sources):
        if is_course(source):
            records = course_records(source)
            if not records:
                out.notes.append(f"{source}: no records of nbgrader autograde in its gradebook")
            # the course keeps them as <student>/<assignment>/<notebook>.ipynb, under submitted/
            located = [(r, [source / "submitted" / r.path]) for r in records]
            # release/ holds what the students received; source/ is not used: it holds the solutions
            released.append(source / "release")
        elif source.is_file():
            try:
                report = Report.from_json(json.loads(source.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
                raise SourceError(f"{source} is not a JSON report of autograder grade ({error})") from None
            located = [(r, [source.parent / r.path, Path(r.path)]) for r in report.submissions]
        else:
            raise SourceError(f"{source} is neither a JSON report of autograder grade nor an nbgrader course")
        for record, paths in located:
            _add(out, record, paths)
    out.received = stub_fingerprint(released)
    return out


def _add(out: ClassRecords, record: SubmissionRecord, paths: list[Path]) -> None:
    student = student_name(record)
    out.students.add(student)
    if not record.parts:
        out.notes.append(
            f"{student}: {shown(record.path)} was not graded ({record.error or 'no part to grade it for'})"
        )
        return
    code = _code(paths)
    if code is None:
        out.missing_code.append(shown(record.path))
    for result in record.parts:
        key = (student, result.part)
        if result.duplicate_of or key in out.answers:  # kept in its record; the first one counts
            counted = result.duplicate_of or out.answers[key].record.path
            text = next((f for f in result.flags if f == duplicate_flag(result.part, counted)), "")
            out.duplicates.append(Flag(student, result.part, text or duplicate_flag(result.part, counted)))
            continue
        out.answers[key] = Answer(student, result, record, code)
