"""Reports for people: a table per submission, and a summary of the batch."""

from __future__ import annotations

from collections import Counter


def _score(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g}"


def submission_table(record: dict, verbose: bool = False) -> str:
    """A submission's part scores, and every failed check with its message and hint."""
    lines = [f"{record['path']}  {_score(record['score'], record['max_score'])}"]
    if record.get("grader_error"):
        lines.append(f"  grader error (not the student's doing; graded again on resume): {record['grader_error']}")
    if record.get("error") and record.get("error") != record.get("grader_error"):
        lines.append(f"  error: {record['error']}")
    if record.get("note"):
        lines.append(f"  note: {record['note']}")
    for part in record.get("parts", []):
        checks = part.get("checks", [])
        failed = [c for c in checks if not c["passed"] and not c["skipped"]]
        skipped = [c for c in checks if c["skipped"]]
        counts = f"{len(checks) - len(failed) - len(skipped)} passed, {len(failed)} failed, {len(skipped)} skipped"
        lines.append(f"  {part['part']:<10} {_score(part['score'], part['max_score']):>11}   {counts}")
        if part.get("error"):
            lines.append(f"    error: {part['error']}")
            if not verbose:
                continue
        for note in part.get("notes", []):
            lines.append(f"    note: {note}")
        same: dict[tuple[str, str], list[dict]] = {}
        for check in failed:
            same.setdefault((check["message"], check.get("hint", "")), []).append(check)
        for (message, hint), group in same.items():
            if len(group) > 2 and not verbose:  # one cause, many checks: say it once
                lines.append(f"    x {len(group)} checks ({group[0]['name']}, ...): {message}")
            else:
                lines.extend(f"    x {c['name']} ({c['device']}): {message}" for c in group)
            if hint:
                lines.append(f"      hint: {hint}")
        for check in checks:
            if check["passed"] and check.get("message"):
                lines.append(f"    ~ {check['name']} ({check['device']}): {check['message']}")
    return "\n".join(lines)


def summary(report: dict, seconds: float) -> str:
    records = report["submissions"]
    env = report["environment"]
    skipped = Counter(
        c["message"] for r in records for p in r.get("parts", []) for c in p.get("checks", []) if c["skipped"]
    )
    lines = [
        f"Graded {len(records)} submission(s) in {seconds:.1f} s on {', '.join(env.get('devices', [])) or '-'}; "
        f"sandbox: {env.get('sandbox', '-')}."
    ]
    if env.get("memory_limit"):
        lines.append(f"  memory limit: {env['memory_limit']}")
    if env.get("reused"):
        lines.append(f"  {env['reused']} submission(s) kept from the earlier report (--force grades them again)")
    for reason, count in skipped.most_common():
        lines.append(f"  {count} check(s) skipped: {reason}")
    return "\n".join(lines)
