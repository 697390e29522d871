"""Feedback for students: an HTML report of a part's checks, and pictures of their results.

The pictures are drawn in the grader, by each suite's ``pictures``, from what the suite kept of the
notebook's own example (the noisy sine, the "bank" sentences): the student's result beside the
reference's. Nothing of the
hidden inputs, the suites or the reference code goes into a report; text that came from the
student's code is escaped. What the report reveals is the teacher's choice (``Reveal``: hints,
expected values, the shapes and dtypes of hidden inputs, check names); it can only show less than
the checks said, never a hidden input. The words of each check are ``messages``'s.
"""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from autograder.messages import EVERYTHING, Reveal, causes, for_student_report, without_arguments, without_values
from autograder.messages import html as escaped
from autograder.records import PartResult

__all__ = ["Reveal", "causes", "devices_said", "draw", "escaped", "part_html", "without_arguments", "without_values"]

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


def devices_said(environment: dict) -> str:
    """Where the checks ran, as a student can read it."""
    devices = environment.get("devices", [])
    said = ["the CPU"] if "cpu" in devices else []
    said += [f"the GPU {d.removeprefix('cuda').strip(' ()')}".rstrip() for d in devices if d.startswith("cuda")]
    if said and len(said) == 1 and said[0] == "the CPU":
        said[0] += (
            " (this grader has no GPU: the device checks record where each tensor your code makes lives, "
            "for the same points as on a GPU)"
        )
    return ", and ".join(said) or "-"


def part_html(part: PartResult, environment: dict, reveal: Reveal = EVERYTHING) -> str:
    """The report of one part, for the grade cell of an nbgrader notebook: what to fix first, each cause once.

    ``reveal`` says what of the checks it shows.
    """
    e = escaped
    part = replace(part, checks=[for_student_report(c, reveal) for c in part.checks])
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
    out.append(f"<p>Checked on {e(devices_said(environment))}. Sandbox: {e(environment.get('sandbox', '-'))}.</p>")
    out.append(
        "<table style='border-collapse:collapse'><tr><th style='text-align:left;padding-right:1em'>group of checks"
        "</th><th style='text-align:right'>points</th></tr>"
    )
    out += [
        f"<tr><td style='padding-right:1em'>{e(g)}</td><td style='text-align:right;font-variant-numeric:tabular-nums'>"
        f"{p:.2f} / {m:.2f}</td></tr>"
        for g, (p, m) in groups.items()
    ]
    out.append("</table>")
    if failed:
        grouped = causes(failed)
        out.append(f"<h4>{len(grouped)} thing(s) to fix ({len(failed)} failed check(s))</h4><ol>")
        for same in grouped:
            first = same[0]
            lost = sum(c.max_points for c in same)
            count = f"{len(same)} checks, {lost:.2f} points" if len(same) > 1 else f"{lost:.2f} points"
            hint = f"<br><b>Hint:</b> {e(first.hint)}" if first.hint else ""
            item = (
                f"<li><b>{e(first.name)}</b> ({e(first.device)}; {count})"
                f"<br><span style='color:#b22;overflow-wrap:anywhere'>{e(first.message)}</span>{hint}"
            )
            if len(same) > 1:
                more = "".join(
                    f"<li>{e(c.name)} ({e(c.device)}): <span style='overflow-wrap:anywhere'>{e(c.message)}</span></li>"
                    for c in same[1:]
                )
                item += f"<details><summary>▸ {len(same) - 1} more check(s) with this cause</summary><ul>{more}</ul></details>"
            out.append(item + "</li>")
        out.append("</ol>")
    if passed and not reveal.check_names:  # one line per group: the names would all be the group's
        counts: dict[str, int] = {}
        for check in passed:
            counts[check.group] = counts.get(check.group, 0) + 1
        items = "".join(f"<li>{e(g)}: {n} check(s)</li>" for g, n in counts.items())
        out.append(f"<details><summary>▸ {len(passed)} check(s) passed</summary><ul>{items}</ul></details>")
    elif passed:
        items = "".join(
            f"<li>{e(c.name)} ({e(c.device)})" + (f": {e(c.message)}" if c.message else "") + "</li>" for c in passed
        )
        out.append(f"<details><summary>▸ {len(passed)} check(s) passed</summary><ul>{items}</ul></details>")
    if skipped:
        items = "".join(f"<li>{count} check(s): {e(reason)}</li>" for reason, count in skipped.items())
        out.append(f"<details><summary>▸ not run on this grader</summary><ul>{items}</ul></details>")
    out.append("</div>")
    return "".join(out)
