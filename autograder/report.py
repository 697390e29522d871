"""Reports for people in a terminal: a progress line, a few lines per submission, a class table, a summary.

Every line fits ``WIDTH`` columns: what a student must read whole (messages, hints, notes) is wrapped,
never cut. By default a submission shows its part scores and, per group of checks that lost points,
its first message and every distinct hint; ``verbose`` shows every failed check.
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections import Counter

from autograder.messages import rounded, terminal
from autograder.parts import PARTS
from autograder.records import Check, Report, SubmissionRecord
from autograder.text import printable, shown

WIDTH = 100


def _score(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g}"


def _fit(text: str, width: int = WIDTH) -> str:
    """One line of at most ``width`` columns (``messages.terminal``)."""
    return terminal(text, width)


def _wrap(text: str) -> str:
    """A line that must be read whole (why a file was not graded): wrapped within ``WIDTH`` columns."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    lines = textwrap.wrap(printable(text, 100_000), WIDTH, subsequent_indent=indent + "    ", break_on_hyphens=False)
    return "\n".join(lines)


def submission_table(record: SubmissionRecord, verbose: bool = False) -> str:
    """A submission's part scores, and what lost points: one line per group, or every check if ``verbose``."""
    if not record.max_score and not record.parts:  # no part to grade it for: "0 / 0" would hide why
        lines = [_wrap(f"{shown(record.path)}  not graded: {record.error or 'no part to grade it for'}")]
    else:
        lines = [_fit(f"{shown(record.path)}  {_score(record.score, record.max_score)}")]
        if record.grader_error:
            lines.append(
                _wrap(f"  grader error (not the student's doing; graded again on resume): {record.grader_error}")
            )
        if record.error and record.error != record.grader_error:
            lines.append(_wrap(f"  error: {record.error}"))
    if record.note:
        lines.append(_wrap(f"  note: {record.note}"))
    for part in record.parts:
        failed = [c for c in part.checks if c.failed]
        skipped = [c for c in part.checks if c.skipped]
        counts = f"{len(part.checks) - len(failed) - len(skipped)} passed, {len(failed)} failed, {len(skipped)} skipped"
        lines.append(f"  {part.part:<10} {_score(part.score, part.max_score):>11}   {counts}")
        if part.duplicate_of:
            lines.append(_fit(f"    not counted: {shown(part.duplicate_of)} holds this student's {part.part}"))
        if part.error:
            lines.append(_wrap(f"    error: {part.error}"))
            if not verbose:
                continue
        lines.extend(_wrap(f"    note: {note}") for note in part.notes)
        lines.extend(_wrap(f"    flag for a TA: {flag}") for flag in part.flags)
        lines.extend(_verbose(failed, part.checks) if verbose else _by_group(failed))
    return "\n".join(lines)


def _by_group(failed: list[Check]) -> list[str]:
    """One item per group with a failed check: the points lost, the first failed check's message and hint, then the
    first message of every other distinct hint of the group; each line whole, wrapped (``verbose``: every check)."""
    groups: dict[str, list[Check]] = {}
    for check in failed:
        groups.setdefault(check.group, []).append(check)
    lines = []
    for group, checks in groups.items():
        lost = rounded(sum(c.max_points for c in checks))
        first = checks[0]
        count = f" ({len(checks)} checks)" if len(checks) > 1 else ""
        cost = f", -{lost:g}" if lost else ""  # a diagnostic (a group of 0 points) costs nothing
        lines.append(_wrap(f"    x {group}{cost}{count}: {first.message}"))
        hints = {first.hint}
        if first.hint:
            lines.append(_wrap(f"      hint: {first.hint}"))
        for check in checks[1:]:
            if check.hint and check.hint not in hints:
                hints.add(check.hint)
                lines.append(_wrap(f"    x {group}: {check.message}"))
                lines.append(_wrap(f"      hint: {check.hint}"))
    return lines


def _verbose(failed: list[Check], checks: list[Check]) -> list[str]:
    lines: list[str] = []
    same: dict[tuple[str, str], list[Check]] = {}
    for check in failed:
        same.setdefault((check.message, check.hint), []).append(check)
    for (message, hint), group in same.items():
        lines.extend(_wrap(f"    x {c.name} ({c.device}): {message}") for c in group)
        if hint:
            lines.append(_wrap(f"      hint: {hint}"))
    lines.extend(_wrap(f"    ~ {c.name} ({c.device}): {c.message}") for c in checks if c.passed and c.message)
    return lines


def _who(record: SubmissionRecord) -> str:
    """The row a record belongs to: its student (in an nbgrader tree), else its file; as it is ``shown``."""
    return shown(record.student or record.path)


def _fit_left(text: str, width: int) -> str:
    """A path cut at its start: the end of a path says more."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def class_table(report: Report) -> str:
    """Student (or file) by part, and the total: one row each, in the order graded."""
    parts = [p for p in PARTS if any(r.part(p) for r in report.submissions)]
    rows: dict[str, dict[str, float]] = {}
    maxima: dict[str, float] = {}
    for record in report.submissions:
        row = rows.setdefault(_who(record), {})
        for part in record.counted:  # one per student and part
            row[part.part] = row.get(part.part, 0.0) + part.score
            maxima[part.part] = part.max_score
    if not rows or not parts:
        return ""
    width = min(max(len("(out of)"), *(len(w) for w in rows)) + 2, WIDTH - 10 * (len(parts) + 1))
    header = f"{'':<{width}}" + "".join(f"{p[:9]:>10}" for p in parts) + f"{'total':>10}"
    lines = [header]
    for who, row in rows.items():
        cells = "".join(f"{row[p]:>10g}" if p in row else f"{'-':>10}" for p in parts)
        lines.append(f"{_fit_left(who, width - 2):<{width}}{cells}{sum(row.values()):>10g}")
    out_of = "".join(f"{maxima.get(p, 0):>10g}" for p in parts)
    lines.append(f"{'(out of)':<{width}}{out_of}{sum(maxima.get(p, 0) for p in parts):>10g}")
    return "\n".join(lines)


def summary(report: Report, seconds: float) -> str:
    env = report.environment
    skipped = Counter(c.message for r in report.submissions for p in r.parts for c in p.checks if c.skipped)
    graded = [r for r in report.submissions if r.max_score or r.parts]
    lines = [
        _fit(
            f"Graded {len(graded)} submission(s) in {seconds:.1f} s on "
            f"{', '.join(env.get('devices', [])) or '-'}; sandbox: {env.get('sandbox', '-')}."
        )
    ]
    for record in report.submissions:
        if not record.max_score and not record.parts:
            lines.append(_wrap(f"  not graded: {shown(record.path)}: {record.error or 'no part to grade it for'}"))
    if env.get("memory_limit"):
        lines.append(_fit(f"  memory limit: {env['memory_limit']}"))
    if env.get("reused"):
        lines.append(f"  {env['reused']} submission(s) kept from the earlier report (--force grades them again)")
    for reason, count in skipped.most_common():
        lines.append(_fit(f"  {count} check(s) skipped: {reason}"))
    return "\n".join(lines)


class Progress:
    """A progress line with an ETA on stderr: redrawn on a terminal, a line every few seconds elsewhere."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 1
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and self.done != self.total:
            return
        self.last = now
        elapsed = now - self.start
        rate = elapsed / self.done
        eta = rate * (self.total - self.done)
        width = 24
        filled = int(width * self.done / self.total)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"{rate:.2f} s/submission, ETA {int(eta) // 60}:{int(eta) % 60:02d} {shown(label)[-40:]}"
        )
        sys.stderr.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
