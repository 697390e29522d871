"""The numbers of a class: per part the scores and who has full, partial or zero marks; per group
and per check the share of the students who attempted the part that passed; the recognised
mistakes; the students who may need help.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from autograder.messages import rounded
from autograder.parts import PARTS
from autograder.stats.copies import Copies, copies
from autograder.stats.sources import Answer, ClassRecords, Flag, untouched

#: A check or group that at most this share of the students who attempted the part passes is flagged.
HARD = 0.1
#: ... once at least this many students attempted it.
HARD_MIN_ATTEMPTS = 3
#: The lowest totals listed among the students who may need help: a tenth of the class, at least this many.
LOWEST = 3


@dataclass
class PartStats:
    part: str
    max_score: float
    scores: dict[str, float]  # student -> score, of those who handed it in
    full: list[str]
    partial: list[str]
    zero: list[str]
    untouched: list[str]  # among zero: the stub as released
    not_submitted: list[str]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores.values()) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores.values()) if self.scores else 0.0


@dataclass
class PassRate:
    """How many of the students who attempted a part passed one check (or every check of one group)."""

    part: str
    group: str
    name: str  # "" for a group
    passed: int
    attempted: int

    @property
    def share(self) -> float:
        return self.passed / self.attempted if self.attempted else 0.0

    @property
    def hard(self) -> bool:
        return self.attempted >= HARD_MIN_ATTEMPTS and self.share <= HARD


@dataclass
class Mistake:
    part: str
    hint: str
    students: list[str]


@dataclass
class Help:
    student: str
    total: float
    reasons: list[str]


@dataclass
class ClassStats:
    students: list[str]
    max_total: float
    totals: dict[str, float]
    parts: list[PartStats]
    groups: list[PassRate]
    checks: list[PassRate]
    mistakes: list[Mistake]
    help: list[Help]
    copies: list[Copies]
    flags: list[Flag]
    notes: list[str]


def _parts_of(records: ClassRecords) -> list[str]:
    seen = {part for _, part in records.answers}
    return [p for p in PARTS if p in seen] + sorted(seen - set(PARTS))


def _part_stats(part: str, records: ClassRecords, students: list[str]) -> PartStats:
    answers = {s: records.answers[(s, part)] for s in students if (s, part) in records.answers}
    stats = PartStats(
        part,
        max(a.result.max_score for a in answers.values()),
        {s: a.result.score for s, a in answers.items()},
        [],
        [],
        [],
        [],
        [s for s in students if s not in answers],
    )
    for student, answer in answers.items():
        score, top = answer.result.score, answer.result.max_score
        (stats.full if score >= top else stats.partial if score > 0 else stats.zero).append(student)
        if untouched(answer.result):
            stats.untouched.append(student)
    return stats


def _pass_rates(part: str, attempts: list[Answer]) -> tuple[list[PassRate], list[PassRate]]:
    """Per group and per check (its device named when it runs on several), over ``attempts``."""
    checks: dict[tuple[str, str], list[int]] = {}
    groups: dict[str, list[int]] = {}
    devices: dict[str, set[str]] = {}
    for answer in attempts:
        for check in answer.result.checks:
            devices.setdefault(check.name, set()).add(check.device)
    for answer in attempts:
        ran: dict[str, bool] = {}
        for check in answer.result.checks:
            if check.skipped:
                continue
            name = f"{check.name} ({check.device})" if len(devices[check.name]) > 1 else check.name
            counts = checks.setdefault((check.group, name), [0, 0])
            counts[0] += check.passed
            counts[1] += 1
            ran[check.group] = ran.get(check.group, True) and check.passed
        for group, passed in ran.items():
            counts = groups.setdefault(group, [0, 0])
            counts[0] += passed
            counts[1] += 1
    order = lambda r: (r.share, -r.attempted, r.group, r.name)  # noqa: E731
    return (
        sorted((PassRate(part, g, "", p, a) for g, (p, a) in groups.items()), key=order),
        sorted((PassRate(part, g, n, p, a) for (g, n), (p, a) in checks.items()), key=order),
    )


def _mistakes(part: str, attempts: list[Answer]) -> list[Mistake]:
    """Failed checks with a hint: each student counted once per hint of the part."""
    found: dict[str, list[str]] = {}
    for answer in attempts:
        for hint in dict.fromkeys(c.hint for c in answer.result.checks if c.failed and c.hint):
            found.setdefault(hint, []).append(answer.student)
    return [Mistake(part, hint, sorted(students)) for hint, students in found.items()]


def _help(records: ClassRecords, parts: list[PartStats], totals: dict[str, float], max_total: float) -> list[Help]:
    reasons: dict[str, list[str]] = {s: [] for s in totals}
    ranked = sorted(totals, key=lambda s: (totals[s], s))
    lowest = [s for s in ranked[: max(LOWEST, math.ceil(len(ranked) / 10))] if totals[s] < max_total]
    for student in lowest:
        reasons[student].append(f"among the lowest totals: {totals[student]:g} of {max_total:g}")
    for stats in parts:
        for student in stats.untouched:
            reasons[student].append(f"{stats.part}: untouched (the stub as released)")
        for student in stats.not_submitted:
            reasons[student].append(f"{stats.part}: not submitted")
    for (student, part), answer in sorted(records.answers.items()):
        result, record = answer.result, answer.record
        for event in result.events[:3]:
            reasons[student].append(f"{part}: {event}")
        if result.error:
            reasons[student].append(f"{part}: {result.error}")
        if record.grader_error:
            reasons[student].append(f"{part}: the grader failed on it (not the student's doing): {record.grader_error}")
    return [Help(s, totals[s], list(dict.fromkeys(reasons[s]))) for s in ranked if reasons[s]]


def _copies(part: str, records: ClassRecords, students: list[str]) -> list[Copies]:
    codes = {}
    for student in students:
        answer = records.answers.get((student, part))
        if answer is not None and answer.code is not None and not untouched(answer.result):
            codes[student] = answer.code
    return copies(part, codes, records.received)


def class_stats(records: ClassRecords) -> ClassStats:
    """Everything the page and the CSV say, from the records of a class."""
    students = sorted(records.students)
    part_names = _parts_of(records)
    parts = [_part_stats(part, records, students) for part in part_names]
    max_total = rounded(sum(p.max_score for p in parts))
    totals = {s: rounded(sum(p.scores.get(s, 0.0) for p in parts)) for s in students}
    groups, checks, mistakes, copies = [], [], [], []
    for stats in parts:
        attempts = [
            records.answers[(s, stats.part)] for s in stats.scores if s not in stats.untouched
        ]  # untouched stubs would make every check look hard
        part_groups, part_checks = _pass_rates(stats.part, attempts)
        groups += part_groups
        checks += part_checks
        mistakes += _mistakes(stats.part, attempts)
        copies += _copies(stats.part, records, students)
    mistakes.sort(key=lambda m: (-len(m.students), part_names.index(m.part), m.hint))
    flags = [
        Flag(student, part, text)
        for (student, part), answer in sorted(records.answers.items())
        for text in answer.result.flags
    ] + records.duplicates
    notes = list(dict.fromkeys(records.notes))
    if records.missing_code:
        listed = ", ".join(records.missing_code[:5]) + (" ..." if len(records.missing_code) > 5 else "")
        notes.append(
            f"the submitted file of {len(records.missing_code)} record(s) was not found, so their code is not "
            f"compared with the others: {listed}"
        )
    return ClassStats(
        students, max_total, totals, parts, groups, checks, mistakes, _help(records, parts, totals, max_total),
        copies, flags, notes,
    )  # fmt: skip
