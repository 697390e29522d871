"""The results of grading, typed: a check, a part, a submission, a report; each with its JSON form.

The JSON form is the documented report of ``autograder grade --json`` (README). Totals are computed
here and nowhere else: a part's score is the sum of its checks' points, a submission's the sum of
its parts'.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.parts import POINTS_PER_PART


@dataclass
class Check:
    """One check of a suite on one device: passed, failed or skipped, and the points it earned."""

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
    #: said on hidden inputs (``sandbox.student.said``); None: the message itself
    feedback: str | None = None

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["feedback"] is None:
            del data["feedback"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


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

    @property
    def score(self) -> float:
        return round(float(sum(c.points for c in self.checks)), 2)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "part": self.part,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_json() for c in self.checks],
        }
        for key in ("error", "events", "notes", "flags", "figures"):
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
    def score(self) -> float:
        return round(float(sum(p.score for p in self.parts)), 2)

    @property
    def max_score(self) -> float:
        if self.parts:
            return round(sum(p.max_score for p in self.parts), 2)
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


# ---------------------------------------------------------------- an nbgrader course's records

#: Where ``nbgrader autograde`` keeps the record of each notebook it graded, under the course root:
#: ``autograder-records/<assignment>/<student>/<notebook>.json`` (the record without its pictures).
COURSE_RECORDS = "autograder-records"


def _component(name: str) -> str:
    """A name as one safe path component."""
    safe = "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in name).lstrip(".")
    return safe or "_"


def save_course_record(root: Path | str, assignment: str, notebook: str, record: SubmissionRecord) -> Path:
    """Keep ``record`` next to the gradebook (replacing an earlier grading of the same notebook)."""
    folder = Path(root, COURSE_RECORDS, _component(assignment), _component(record.student or "_"))
    folder.mkdir(parents=True, exist_ok=True)
    data = record.to_json()
    data["assignment"] = assignment
    for part in data["parts"]:
        part.pop("figures", None)
    path = folder / f"{_component(notebook)}.json"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return path


def course_records(root: Path | str, assignment: str = "") -> list[SubmissionRecord]:
    """The records ``nbgrader autograde`` kept in a course (of one assignment, or all), sorted by path."""
    base = Path(root, COURSE_RECORDS)
    pattern = f"{_component(assignment)}/*/*.json" if assignment else "*/*/*.json"
    found = []
    for path in sorted(base.glob(pattern)):
        found.append(SubmissionRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
    return found
