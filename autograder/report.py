"""Reports for people: a table per submission, and a summary of the batch."""

from __future__ import annotations

from collections import Counter

from autograder.records import Check, Report, SubmissionRecord


def _score(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g}"


def submission_table(record: SubmissionRecord, verbose: bool = False) -> str:
    """A submission's part scores, and every failed check with its message and hint."""
    lines = [f"{record.path}  {_score(record.score, record.max_score)}"]
    if record.error:
        lines.append(f"  error: {record.error}")
    if record.note:
        lines.append(f"  note: {record.note}")
    for part in record.parts:
        failed = [c for c in part.checks if c.failed]
        skipped = [c for c in part.checks if c.skipped]
        counts = f"{len(part.checks) - len(failed) - len(skipped)} passed, {len(failed)} failed, {len(skipped)} skipped"
        lines.append(f"  {part.part:<10} {_score(part.score, part.max_score):>11}   {counts}")
        if part.error:
            lines.append(f"    error: {part.error}")
            if not verbose:
                continue
        lines.extend(f"    note: {note}" for note in part.notes)
        lines.extend(f"    flag for a TA: {flag}" for flag in part.flags)
        same: dict[tuple[str, str], list[Check]] = {}
        for check in failed:
            same.setdefault((check.message, check.hint), []).append(check)
        for (message, hint), group in same.items():
            if len(group) > 2 and not verbose:  # one cause, many checks: say it once
                lines.append(f"    x {len(group)} checks ({group[0].name}, ...): {message}")
            else:
                lines.extend(f"    x {c.name} ({c.device}): {message}" for c in group)
            if hint:
                lines.append(f"      hint: {hint}")
        lines.extend(f"    ~ {c.name} ({c.device}): {c.message}" for c in part.checks if c.passed and c.message)
    return "\n".join(lines)


def summary(report: Report, seconds: float) -> str:
    env = report.environment
    skipped = Counter(c.message for r in report.submissions for p in r.parts for c in p.checks if c.skipped)
    lines = [
        f"Graded {len(report.submissions)} submission(s) in {seconds:.1f} s on "
        f"{', '.join(env.get('devices', [])) or '-'}; sandbox: {env.get('sandbox', '-')}."
    ]
    if env.get("reused"):
        lines.append(f"  {env['reused']} submission(s) kept from the earlier report (--force grades them again)")
    for reason, count in skipped.most_common():
        lines.append(f"  {count} check(s) skipped: {reason}")
    return "\n".join(lines)
