"""The class page: one self-contained HTML file, its pictures embedded; and a few lines for the terminal.

Every text of the page and the terminal is ``printable``; names are ``shown`` already.
"""

from __future__ import annotations

import base64
import io

from autograder.messages import html as escaped
from autograder.messages import terminal
from autograder.stats.numbers import ClassStats, PartStats, PassRate


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
    return terminal(line, width)
