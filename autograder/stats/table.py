"""The class's numbers as long rows for a spreadsheet: one value per row (``CSV_HEADER``)."""

from __future__ import annotations

from autograder.messages import csv_cell
from autograder.stats.numbers import ClassStats

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
    return [CSV_HEADER, *([csv_cell(v) for v in row] for row in rows)]
