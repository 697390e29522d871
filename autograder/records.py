"""The results of grading, typed: a check, a part, a submission, a report; each with its JSON form.

The JSON form is the documented report of ``autograder grade --json`` (README). Totals are computed
here and nowhere else: a part's score is the sum of its checks' points, a submission's the sum of
its parts'.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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


# ---------------------------------------------------------------- an nbgrader course's records

#: Where ``nbgrader autograde`` keeps the record of each notebook it graded, under the course root:
#: ``autograder-records/<assignment>/<student>/<notebook>.json`` (the record without its pictures),
#: each name written by ``path_component``.
COURSE_RECORDS = "autograder-records"

#: The bytes a name keeps as they are in a path component: lower-case letters, digits, ``_``, ``-``.
SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
#: A component longer than this (bytes) is cut and ends with ``~`` and the SHA-256 of the name.
LONGEST = 200


def path_component(name: str) -> str:
    """A name as one path component, injectively and reversibly (``name_of``).

    Each UTF-8 byte of the name outside ``SAFE`` is written ``%XX`` (upper-case hex), so that no two
    names share a component, on a file system that ignores case too (upper-case letters are
    escaped; the hex digits are always upper-case); ``.``, ``/`` and NUL are escaped, so there is
    no ``.``, ``..``, hidden name or separator. The empty name is ``%``. A component longer than
    ``LONGEST`` bytes (NAME_MAX is 255) keeps its first 150 characters and ends with ``~`` and the
    name's SHA-256, which no short component contains; the record holds the name whole.
    """
    if not name:
        return "%"
    data = name.encode("utf-8", "surrogatepass")
    text = "".join(chr(b) if b in SAFE else f"%{b:02X}" for b in data)
    if len(text) <= LONGEST:
        return text
    return text[:150] + "~" + hashlib.sha256(data).hexdigest()


def name_of(component: str) -> str | None:
    """The name ``path_component`` wrote as ``component``; None for a long (hashed) component or one
    it cannot have written (the older scheme's, which the record's own names replace)."""
    if component == "%":
        return ""
    out = bytearray()
    i = 0
    while i < len(component):
        c = component[i]
        if c == "%" and i + 3 <= len(component) and all(h in "0123456789ABCDEF" for h in component[i + 1 : i + 3]):
            byte = int(component[i + 1 : i + 3], 16)
            if byte in SAFE:  # path_component writes a safe byte as itself
                return None
            out.append(byte)
            i += 3
        elif c.isascii() and ord(c) in SAFE:
            out.append(ord(c))
            i += 1
        else:
            return None
    try:
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def course_record_path(root: Path | str, assignment: str, student: str, notebook: str) -> Path:
    """Where the record of (assignment, student, notebook) is kept: one place per triple, and no other triple's."""
    folder = Path(root, COURSE_RECORDS, path_component(assignment), path_component(student))
    return folder / f"{path_component(notebook)}.json"


def save_course_record(root: Path | str, assignment: str, notebook: str, record: SubmissionRecord) -> Path:
    """Keep ``record`` next to the gradebook (replacing an earlier grading of the same notebook by the same student)."""
    path = course_record_path(root, assignment, record.student, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = record.to_json()
    data["assignment"], data["student"], data["notebook"] = assignment, record.student, notebook
    for part in data["parts"]:
        part.pop("figures", None)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return path


def _older_component(name: str) -> str:
    """A name as the older scheme kept it (not injective: ``a.b``, ``a_b`` and ``a b`` met): read only."""
    safe = "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in name).lstrip(".")
    return safe or "_"


def _read_course_record(root: Path | str, path: Path) -> tuple[tuple[str, str, str], bool, SubmissionRecord] | None:
    """(its assignment, student and notebook; whether it is of this scheme; the record) of a kept
    record, or None when it is not one, or is not where its names would be kept.

    A record of this scheme holds its names, and is where ``course_record_path`` puts them. One of
    the older scheme holds its assignment and student (its notebook is its file's name) and is
    where that scheme put them; when two students met in one file, it holds the later one only.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = SubmissionRecord.from_json(data)
        assignment, student = str(data["assignment"]), str(data.get("student", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if "notebook" in data:
        names = (assignment, student, str(data["notebook"]))
        return (names, True, record) if course_record_path(root, *names) == path else None
    names = (assignment, student, path.stem)
    older = Path(root, COURSE_RECORDS, _older_component(assignment), _older_component(student or "_"), path.name)
    return (names, False, record) if older == path else None


def course_records(root: Path | str, assignment: str = "") -> list[SubmissionRecord]:
    """The records ``nbgrader autograde`` kept in a course (of one assignment, or all), sorted by
    (assignment, student, notebook); one record per student and part (``mark_duplicates``).

    A file that is not where its own names are kept is not read; a record of this scheme wins over
    one of the older scheme for the same names (a grading kept before this scheme).
    """
    found: dict[tuple[str, str, str], tuple[bool, SubmissionRecord]] = {}
    for path in sorted(Path(root, COURSE_RECORDS).glob("*/*/*.json")):
        read = _read_course_record(root, path)
        if read is None or (assignment and read[0][0] != assignment):
            continue
        names, current, record = read
        if current or names not in found:
            found[names] = (current, record)
    records = [record for _, (_, record) in sorted(found.items())]
    mark_duplicates(records)
    return records
