"""Feedback for students: an HTML report of a part's checks, and pictures of their results.

The pictures are drawn in the grader, by each suite's ``pictures``, from what the suite kept of the
notebook's own example (the noisy sine, the "bank" sentences): the student's result beside the
reference's. Nothing of the
hidden inputs, the suites or the reference code goes into a report; text that came from the
student's code is escaped.
"""

from __future__ import annotations

import html
from types import ModuleType

from autograder.records import PartResult

# ---------------------------------------------------------------- pictures


def draw(suite: ModuleType, kept: dict) -> list[dict]:
    """Pictures for the feedback of one part, drawn by its suite's ``pictures``: ``[{"title", "png" (base64)}]``."""
    if not kept or not hasattr(suite, "pictures"):
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        return suite.pictures(kept, plt)
    except Exception:  # a picture is a courtesy: a result it cannot draw must not cost a grade
        plt.close("all")
        return []


# ---------------------------------------------------------------- the report


def part_html(part: PartResult, environment: dict) -> str:
    """The report of one part, for the grade cell of an nbgrader notebook: what to fix first."""
    e = html.escape
    groups: dict[str, list[float]] = {}
    for check in part.checks:
        totals = groups.setdefault(check.group, [0.0, 0.0])
        totals[0] += check.points
        totals[1] += check.max_points
    failed = [c for c in part.checks if c.failed]
    passed = [c for c in part.checks if c.passed]
    skipped: dict[str, int] = {}
    for check in part.checks:
        if check.skipped:
            skipped[check.message] = skipped.get(check.message, 0) + 1

    out = [f"<div class='autograder-report'><h3>{e(part.part)}: {part.score:g} / {part.max_score:g} points</h3>"]
    if part.error:
        out.append(f"<p style='color:#b22'><b>{e(part.error)}</b></p>")
    out += [f"<p><i>Note: {e(note)}</i></p>" for note in part.notes]
    if part.flags:
        why = "; ".join(part.flags)
        out.append(f"<p><i>For your TA to look at (no points depend on it): {e(why)}.</i></p>")
    devices = ", ".join(environment.get("devices", [])) or "-"
    out.append(f"<p>Checked on: {e(devices)}. Sandbox: {e(environment.get('sandbox', '-'))}.</p>")
    out.append("<table><tr><th style='text-align:left'>group of checks</th><th>points</th></tr>")
    out += [f"<tr><td>{e(g)}</td><td>{p:.2f} / {m:.2f}</td></tr>" for g, (p, m) in groups.items()]
    out.append("</table>")
    if failed:
        out.append(f"<h4>{len(failed)} check(s) to look at</h4><ol>")
        for check in failed:
            hint = f"<br><b>Hint:</b> {e(check.hint)}" if check.hint else ""
            out.append(
                f"<li><b>{e(check.name)}</b> ({e(check.device)}, {check.max_points:.2f} points)"
                f"<br><span style='color:#b22'>{e(check.message)}</span>{hint}</li>"
            )
        out.append("</ol>")
    if passed:
        items = "".join(
            f"<li>{e(c.name)} ({e(c.device)})" + (f": {e(c.message)}" if c.message else "") + "</li>" for c in passed
        )
        out.append(f"<details><summary>{len(passed)} check(s) passed</summary><ul>{items}</ul></details>")
    if skipped:
        items = "".join(f"<li>{count} check(s): {e(reason)}</li>" for reason, count in skipped.items())
        out.append(f"<details><summary>not run on this grader</summary><ul>{items}</ul></details>")
    out.append("</div>")
    return "".join(out)
