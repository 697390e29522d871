"""The results of grading, typed: a check, a part, a submission, a report; each with its JSON form.

The JSON form is the documented report of ``autograder grade --json`` (README). Totals are computed
here and nowhere else: a part's score is the sum of its checks' points, a submission's the sum of
its parts'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograder.messages import rounded
from autograder.parts import POINTS_PER_PART
from autograder.text import shown

#: A check's status in the JSON: ``passed``, ``failed`` or ``skipped`` (not run on this grader, or
#: undecided for a reason that is not the student's: never counted as passed, and no points to share).
STATUSES = ("passed", "failed", "skipped")


@dataclass
class Check:
    """One check of a suite on one device: passed, failed or skipped, and the points it earned.

    Its facts are fields, never read out of its message: ``stub`` names the function that was left
    as released (it raises ``NotImplementedError``); ``feedback`` is set when the message quotes
    what the student's code said on hidden inputs (``messages.recorded``).
    """

    name: str
    group: str
    device: str = "cpu"
    passed: bool = False
    skipped: bool = False
    message: str = ""
    hint: str = ""
    points: float = 0.0
    max_points: float = 0.0
    #: what the student's feedback says instead of ``message``, when the message quotes what their code
    #: said on hidden inputs (``messages.said``); None: the message itself
    feedback: str | None = None
    #: the function (or class) the check met as released, raising NotImplementedError; "" otherwise
    stub: str = ""

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped

    @property
    def status(self) -> str:
        return "passed" if self.passed else "skipped" if self.skipped else "failed"

    @property
    def quotes_hidden(self) -> bool:
        """Does the message quote what the student's code said on hidden inputs (the student sees ``feedback``)?"""
        return self.feedback is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "group": self.group, "device": self.device, "status": self.status}
        data.update(message=self.message, hint=self.hint, points=self.points, max_points=self.max_points)
        if self.feedback is not None:
            data["feedback"] = self.feedback
        if self.stub:
            data["stub"] = self.stub
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        """A check of the JSON; also of the form records had before ``status`` (``passed``, ``skipped``)."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k not in ("passed", "skipped")}
        check = cls(**fields)
        if "status" in data:
            if data["status"] not in STATUSES:
                raise ValueError(f"a check's status is one of {', '.join(STATUSES)}, not {data['status']!r}")
            check.passed, check.skipped = data["status"] == "passed", data["status"] == "skipped"
        else:  # the older form: its facts were in words
            check.passed, check.skipped = bool(data.get("passed", False)), bool(data.get("skipped", False))
            if check.failed and not check.stub:
                check.stub = _older_stub(check.message)
        return check


_OLDER_STUB = re.compile(r"^([A-Za-z_]\w*)\b.*\bNotImplementedError\b")


def _older_stub(message: str) -> str:
    """The stub a record of the older form said it met, in its message's words (read only)."""
    if "NotImplementedError" not in message:
        return ""
    found = _OLDER_STUB.match(message)
    return found.group(1) if found else "a function"


@dataclass
class PartResult:
    """One part of one submission: its checks, and what went wrong around them."""

    part: str
    checks: list[Check] = field(default_factory=list)
    max_score: float = POINTS_PER_PART
    error: str = ""  # the code could not be loaded, or defines none of the part's names
    events: list[str] = field(default_factory=list)  # crashes and timeouts
    notes: list[str] = field(default_factory=list)  # lines skipped; the suites' notes (a carried mistake)
    figures: list[dict[str, str]] = field(default_factory=list)  # [{"title", "png" (base64)}] for feedback
    flags: list[str] = field(default_factory=list)  # for a TA's look (torch internals...); never scored
    # another file of the same student was graded for this part before, and counts (its path): this
    # one is kept, with a flag, but is never added to the student's total
    duplicate_of: str = ""

    @property
    def score(self) -> float:
        return rounded(sum(c.points for c in self.checks))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "part": self.part,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_json() for c in self.checks],
        }
        for key in ("error", "events", "notes", "flags", "figures", "duplicate_of"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartResult:
        return cls(
            part=data["part"],
            checks=[Check.from_json(c) for c in data.get("checks", [])],
            max_score=data.get("max_score", POINTS_PER_PART),
            error=data.get("error", ""),
            events=list(data.get("events", [])),
            notes=list(data.get("notes", [])),
            figures=list(data.get("figures", [])),
            flags=list(data.get("flags", [])),
            duplicate_of=str(data.get("duplicate_of", "")),
        )


@dataclass
class SubmissionRecord:
    """One submitted file: the parts it was graded for, or the reason it could not be."""

    path: str
    sha256: str = ""
    wanted: list[str] = field(default_factory=list)  # the parts it is graded for
    parts: list[PartResult] = field(default_factory=list)
    error: str = ""
    note: str = ""
    student: str = ""  # in an nbgrader tree, whose folder it was in
    grader_error: str = ""  # the grader failed (a broken sandbox, a lost job): not the student's doing

    @property
    def counted(self) -> list[PartResult]:
        """The parts that count: all but those another file of the same student holds (``duplicate_of``)."""
        return [p for p in self.parts if not p.duplicate_of]

    @property
    def score(self) -> float:
        return rounded(sum(p.score for p in self.counted))

    @property
    def max_score(self) -> float:
        if self.parts:
            return rounded(sum(p.max_score for p in self.counted))
        return POINTS_PER_PART * len(self.wanted)

    def part(self, name: str) -> PartResult | None:
        return next((p for p in self.parts if p.part == name), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path}
        if self.student:
            data["student"] = self.student
        data.update(
            {
                "sha256": self.sha256,
                "score": self.score,
                "max_score": self.max_score,
                "parts": [p.to_json() for p in self.parts],
            }
        )
        if self.error:
            data["error"] = self.error
        if self.note:
            data["note"] = self.note
        if self.grader_error:
            data["grader_error"] = self.grader_error
        if not self.parts and self.wanted:
            data["wanted"] = self.wanted  # what max_score counts, for a record without parts
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionRecord:
        parts = [PartResult.from_json(p) for p in data.get("parts", [])]
        return cls(
            path=data["path"],
            sha256=data.get("sha256", ""),
            wanted=[p.part for p in parts] or list(data.get("wanted", [])),
            parts=parts,
            error=data.get("error", ""),
            note=data.get("note", ""),
            student=data.get("student", ""),
            grader_error=data.get("grader_error", ""),
        )


@dataclass
class Report:
    """A batch: where it was graded (devices, sandbox, ...), and one record per submission, in order."""

    environment: dict[str, Any] = field(default_factory=dict)
    submissions: list[SubmissionRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "submissions": [s.to_json() for s in self.submissions]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            environment=dict(data.get("environment", {})),
            submissions=[SubmissionRecord.from_json(s) for s in data.get("submissions", [])],
        )


# ---------------------------------------------------------------- one record per student and part


DUPLICATE = "a second file graded as "


def duplicate_flag(part: str, counted: str) -> str:
    return f"{DUPLICATE}{part} for this student: kept, not counted ({shown(counted)} counts)"


def duplicate_parts(items: Iterable[tuple[str, str, Sequence[str]]]) -> list[dict[str, str]]:
    """For each (student, path, parts) in order: {part: the path that counts} for the parts an earlier
    file of the same student was graded for. The first file of a student's part counts; a file
    without a student (not in an nbgrader tree) is its own row and never a duplicate.
    """
    first: dict[tuple[str, str], str] = {}
    found = []
    for student, path, parts in items:
        marks = {}
        for part in parts:
            counted = first.setdefault((student, part), path) if student else path
            if counted != path:
                marks[part] = counted
        found.append(marks)
    return found


def mark_duplicate(record: SubmissionRecord, marks: dict[str, str]) -> SubmissionRecord:
    """Mark the parts of ``record`` that another file holds (``duplicate_parts``): kept, flagged, not counted."""
    for part in record.parts:
        part.duplicate_of = marks.get(part.part, "")
        part.flags = [f for f in part.flags if not f.startswith(DUPLICATE)]  # a mark of an earlier run
        if part.duplicate_of:
            part.flags.append(duplicate_flag(part.part, part.duplicate_of))
    return record


def mark_duplicates(records: Sequence[SubmissionRecord]) -> None:
    """One record per student and part, in the order given: the first counts, the others are flagged."""
    marks = duplicate_parts((r.student, r.path, [p.part for p in r.parts]) for r in records)
    for record, marked in zip(records, marks, strict=True):
        mark_duplicate(record, marked)
