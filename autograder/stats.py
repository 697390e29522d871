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

One record per student and part: the first counts; a later one (another file graded as the same
part, ``PartResult.duplicate_of``) is left out of every number and listed as a flag for a TA.
Names are ``shown`` from the start (a student is known by the shown form of their id, which no
other id shares), and every text of the page, the CSV and the terminal is ``printable``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from autograder import fingerprint
from autograder.export import cell
from autograder.feedback import escaped
from autograder.nbgrader.course_records import COURSE_RECORDS, course_records
from autograder.parts import PARTS
from autograder.records import PartResult, Report, SubmissionRecord, duplicate_flag
from autograder.text import printable, shown

#: A check or group that at most this share of the students who attempted the part passes is flagged.
HARD = 0.1
#: ... once at least this many students attempted it.
HARD_MIN_ATTEMPTS = 3
#: The lowest totals listed among the students who may need help: a tenth of the class, at least this many.
LOWEST = 3


class SourceError(ValueError):
    """A source that is neither a JSON report nor an nbgrader course (a usage error)."""


# ---------------------------------------------------------------- reading the sources


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


def student_name(record: SubmissionRecord) -> str:
    """The record's student, ``shown``; for a plain file, its stem (its folder's name when the stem is a part's)."""
    if record.student:
        return shown(record.student)
    path = Path(record.path)
    if path.stem in PARTS and path.parent.name not in ("", "."):
        return shown(path.parent.name)
    return shown(path.stem)


def untouched(part: PartResult) -> bool:
    """Is this the stub as released: nothing passes, and every failed check met ``NotImplementedError``?"""
    failed = [c for c in part.checks if c.failed]
    return (
        bool(failed)
        and not any(c.passed for c in part.checks)
        and all("NotImplementedError" in c.message for c in failed)
    )


def _stub_fingerprint(folders: Sequence[Path]) -> frozenset[int]:
    """The fingerprint of the answer cells of every released notebook: code every student received."""
    from autograder.submission import MAX_BYTES, notebook_answers

    texts = [(resources.files("assignments") / f"{part}.ipynb").read_text(encoding="utf-8") for part in PARTS]
    texts += [
        p.read_text(encoding="utf-8")
        for folder in folders
        for p in sorted(folder.glob("*/*.ipynb"))
        if p.is_file() and p.stat().st_size <= MAX_BYTES[".ipynb"]  # as much as a submission: no more is parsed
    ]
    found: frozenset[int] = frozenset()
    for text in texts:
        try:
            found |= fingerprint.fingerprint(notebook_answers(json.loads(text))[0].code)
        except (ValueError, KeyError):
            continue
    return found


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
                out.notes.append(f"{source}: no records of nbgrader autograde in {source / COURSE_RECORDS}")
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
    out.received = _stub_fingerprint(released)
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


# ---------------------------------------------------------------- the statistics


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
class Copies:
    part: str
    students: list[str]
    lowest: float
    highest: float


@dataclass
class Flag:
    student: str
    part: str
    text: str


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
    prints = {}
    for student in students:
        answer = records.answers.get((student, part))
        if answer is not None and answer.code is not None and not untouched(answer.result):
            prints[student] = fingerprint.fingerprint(answer.code)
    return [Copies(part, keys, low, high) for keys, low, high in fingerprint.groups(prints, records.received)]


def class_stats(records: ClassRecords) -> ClassStats:
    """Everything the page and the CSV say, from the records of a class."""
    students = sorted(records.students)
    part_names = _parts_of(records)
    parts = [_part_stats(part, records, students) for part in part_names]
    max_total = round(sum(p.max_score for p in parts), 2)
    totals = {s: round(sum(p.scores.get(s, 0.0) for p in parts), 2) for s in students}
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


# ---------------------------------------------------------------- the CSV (long format)

CSV_HEADER = ["section", "part", "group", "item", "student", "measure", "value"]


def csv_rows(s: ClassStats) -> list[list[str]]:
    """The page's data, one value per row: ``CSV_HEADER``."""
    rows: list[tuple[object, ...]] = []
    for p in s.parts:
        status = dict.fromkeys(p.full, "full") | dict.fromkeys(p.partial, "partial") | dict.fromkeys(p.zero, "zero")
        status |= dict.fromkeys(p.untouched, "untouched") | dict.fromkeys(p.not_submitted, "not submitted")
        rows += [("part", p.part, "", "", "", "max score", p.max_score), ("part", p.part, "", "", "", "mean", p.mean)]
        rows.append(("part", p.part, "", "", "", "median", p.median))
        for label, who in [("full", p.full), ("partial", p.partial), ("zero", p.zero), ("untouched", p.untouched)]:
            rows.append(("part", p.part, "", "", "", label, float(len(who))))
        rows.append(("part", p.part, "", "", "", "not submitted", float(len(p.not_submitted))))
        for student in s.students:
            if student in p.scores:
                rows.append(("score", p.part, "", "", student, "score", p.scores[student]))
            rows.append(("score", p.part, "", "", student, "status", status[student]))
    for student in s.students:
        rows.append(("total", "", "", "", student, "score", s.totals[student]))
    for rate in s.groups + s.checks:
        section = "check" if rate.name else "group"
        for measure, value in [("passed", rate.passed), ("attempted", rate.attempted), ("share", rate.share)]:
            rows.append((section, rate.part, rate.group, rate.name, "", measure, float(value)))
        if rate.hard:
            rows.append((section, rate.part, rate.group, rate.name, "", "flag", "may need a look"))
    for m in s.mistakes:
        rows.append(("mistake", m.part, "", m.hint, "", "students", float(len(m.students))))
        rows.append(("mistake", m.part, "", m.hint, "", "share of class", len(m.students) / len(s.students)))
        rows += [("mistake", m.part, "", m.hint, student, "made", 1.0) for student in m.students]
    for h in s.help:
        rows += [("help", "", "", "", h.student, "reason", reason) for reason in h.reasons]
    for i, c in enumerate(s.copies, 1):
        for student in c.students:
            rows.append(("copies", c.part, "", f"group {i}", student, "lowest similarity", round(c.lowest, 3)))
            rows.append(("copies", c.part, "", f"group {i}", student, "highest similarity", round(c.highest, 3)))
    rows += [("flag", f.part, "", f.text, f.student, "flag for a TA", 1.0) for f in s.flags]
    return [CSV_HEADER, *([cell(v, digits=None) for v in row] for row in rows)]


# ---------------------------------------------------------------- the page


def histogram(p: PartStats) -> str:
    """The score distribution of a part as a PNG (base64), full marks marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    try:
        width = p.max_score / 20  # bars centred on every half point of 10: full marks is a bar of its own
        bins = [(i - 0.5) * width for i in range(22)]
        ax.hist(list(p.scores.values()), bins=bins, color="#4a78b5", edgecolor="white")
        ax.axvline(p.max_score, color="#b22", linestyle="--", linewidth=1.5)
        ax.set_xlim(bins[0], bins[-1])
        ax.set_xlabel(f"score (dashed: full marks, {p.max_score:g})")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{p.part}: {len(p.scores)} handed in, {len(p.not_submitted)} not")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0 auto;max-width:1100px;padding:0 14px 40px}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;vertical-align:top;padding:3px 8px 3px 0;border-bottom:1px solid #eee;overflow-wrap:anywhere}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block}
.parts{display:flex;flex-wrap:wrap;gap:18px}.part{flex:1 1 460px;min-width:0}
.bar{display:inline-block;height:.7em;background:#4a78b5;vertical-align:middle;margin-right:4px}
.look{color:#b22;font-weight:600}.muted{color:#666}
.who{min-width:5.5em}
details summary{cursor:pointer;color:#345}
"""


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _rate_row(rate: PassRate, label: str) -> str:
    e = escaped
    look = " <span class='look'>the check or the teaching may need a look</span>" if rate.hard else ""
    bar = f"<span class='bar' style='width:{60 * rate.share:.0f}px'></span>"
    return (
        f"<tr><td>{e(label)}{look}</td><td class='n'>{bar}{_pct(rate.share)}</td>"
        f"<td class='n'>{rate.passed} / {rate.attempted}</td></tr>"
    )


def _part_section(s: ClassStats, p: PartStats) -> str:
    e = escaped
    counts = [
        ("mean", f"{p.mean:.2f} / {p.max_score:g}"),
        ("median", f"{p.median:g} / {p.max_score:g}"),
        ("full marks", str(len(p.full))),
        ("partial", str(len(p.partial))),
        ("zero", f"{len(p.zero)} (untouched: {len(p.untouched)})"),
        ("not submitted", str(len(p.not_submitted))),
    ]
    rows = "".join(f"<tr><th>{e(k)}</th><td class='n'>{e(v)}</td></tr>" for k, v in counts)
    alt = f"histogram of the {p.part} scores"
    return (
        f"<div class='part'><h3>{e(p.part)}</h3><img alt='{e(alt)}' src='data:image/png;base64,{histogram(p)}'>"
        f"<table class='counts' data-part='{e(p.part)}'>{rows}</table></div>"
    )


def _checks_section(s: ClassStats) -> list[str]:
    e = escaped
    out = ["<h2 id='checks'>Checks</h2>"]
    out.append(
        "<p class='muted'>The share of the students who attempted the part (untouched stubs left out) that "
        "passed; a group counts as passed when all its checks that ran passed. Hardest first.</p>"
    )
    head = "<tr><th>{}</th><th class='n'>passed</th><th class='n'>students</th></tr>"
    for p in s.parts:
        groups = [r for r in s.groups if r.part == p.part]
        checks = [r for r in s.checks if r.part == p.part]
        if not groups:
            continue
        out.append(f"<h3>{e(p.part)}</h3><table>{head.format('group of checks')}")
        out += [_rate_row(r, r.group) for r in groups]
        out.append("</table>")
        hard = [r for r in checks if r.hard]
        if hard:
            out.append(f"<table>{head.format('checks that almost nobody passes')}")
            out += [_rate_row(r, r.name) for r in hard]
            out.append("</table>")
        out.append(f"<details><summary>all {len(checks)} checks, hardest first</summary><table>{head.format('check')}")
        out += [_rate_row(r, r.name) for r in checks]
        out.append("</table></details>")
    return out


def _mistakes_section(s: ClassStats) -> list[str]:
    e = escaped
    out = ["<h2 id='mistakes'>Recognised mistakes</h2>"]
    if not s.mistakes:
        return [*out, "<p>None.</p>"]
    out.append("<ol class='mistakes'>")
    for m in s.mistakes:
        share = len(m.students) / len(s.students)
        names = ", ".join(e(x) for x in m.students)
        out.append(
            f"<li><b>{_pct(share)} of the class</b> ({len(m.students)} of {len(s.students)}), in {e(m.part)}: "
            f"{e(m.hint)}<details><summary>who</summary>{names}</details></li>"
        )
    out.append("</ol>")
    return out


def _help_section(s: ClassStats) -> list[str]:
    e = escaped
    out = ["<h2 id='help'>Students who may need help</h2>"]
    if not s.help:
        return [*out, "<p>None.</p>"]
    out.append("<table class='help'><tr><th class='who'>student</th><th class='n'>total</th><th>why</th></tr>")
    for h in s.help:
        why = "<br>".join(e(r) for r in h.reasons)
        out.append(
            f"<tr><td class='who'>{e(h.student)}</td><td class='n'>{h.total:g} / {s.max_total:g}</td><td>{why}</td></tr>"
        )
    out.append("</table>")
    return out


def _copies_section(s: ClassStats) -> list[str]:
    e = escaped
    out = [
        "<h2 id='copies'>Possible copies</h2>",
        "<p class='muted'>Answers whose code has the same structure once names, comments, layout and strings "
        "are set aside, and the code of the stubs taken out. A flag for a human to look at, never a penalty: "
        "a short exercise can be solved alike by students who worked alone.</p>",
    ]
    if not s.copies:
        return [*out, "<p>None.</p>"]
    out.append("<table class='copies'><tr><th>part</th><th class='n'>similarity</th><th>students</th></tr>")
    for c in s.copies:
        alike = (
            _pct(c.lowest) if round(c.lowest, 2) == round(c.highest, 2) else f"{_pct(c.lowest)} to {_pct(c.highest)}"
        )
        names = ", ".join(e(x) for x in c.students)
        out.append(f"<tr><td>{e(c.part)}</td><td class='n'>{alike}</td><td>{names}</td></tr>")
    out.append("</table>")
    return out


def html_page(s: ClassStats) -> str:
    """The class page: one file, its pictures embedded, readable from 400 pixels wide."""
    e = escaped
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Class statistics</title><style>{STYLE}</style></head><body>",
        f"<h1>Class statistics</h1><p>{len(s.students)} students, {len(s.parts)} parts, "
        f"{s.max_total:g} points in all.</p>",
    ]
    if s.notes:
        out.append("<ul class='notes'>" + "".join(f"<li>{e(n)}</li>" for n in s.notes) + "</ul>")
    out.append("<h2 id='parts'>Scores per part</h2><div class='parts'>")
    out += [_part_section(s, p) for p in s.parts]
    out.append("</div>")
    out += _checks_section(s)
    out += _mistakes_section(s)
    out += _help_section(s)
    out += _copies_section(s)
    out.append("<h2 id='flags'>Flags for a TA's look</h2>")
    if s.flags:
        out.append(
            "<table class='flags'><tr><th class='who'>student</th><th>part</th><th>what the grader saw</th></tr>"
        )
        out += [
            f"<tr><td class='who'>{e(f.student)}</td><td>{e(f.part)}</td><td>{e(f.text)}</td></tr>" for f in s.flags
        ]
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def summary(s: ClassStats) -> str:
    """A few lines for the terminal."""
    lines = [f"{len(s.students)} students, {s.max_total:g} points in all."]
    for p in s.parts:
        lines.append(
            f"  {p.part:<10} mean {p.mean:5.2f}  median {p.median:5g}  full {len(p.full)}  partial {len(p.partial)}  "
            f"zero {len(p.zero)} (untouched {len(p.untouched)})  missing {len(p.not_submitted)}"
        )
    for m in s.mistakes[:5]:
        lines.append(f"  {_pct(len(m.students) / len(s.students)):>4} of the class, {m.part}: {m.hint}")
    hard = sum(r.hard for r in s.checks)
    lines.append(
        f"  {hard} check(s) that almost nobody passes; {len(s.help)} student(s) who may need help; "
        f"{len(s.copies)} group(s) of possible copies; {len(s.flags)} flag(s) for a TA"
    )
    lines += [f"  note: {n}" for n in s.notes]
    return "\n".join(_fit(line) for line in lines)


def _fit(line: str, width: int = 100) -> str:
    """A line within a terminal of ``width`` columns, ``printable`` (the page has it whole)."""
    line = printable(line, 4 * width)
    return line if len(line) <= width else line[: width - 3] + "..."
