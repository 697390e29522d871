"""Feedback for students: an HTML report of a part's checks, and pictures of their results.

The pictures are drawn in the grader from what the suites kept of the notebook's own example (the
noisy sine, the "bank" sentences): the student's result beside the reference's. Nothing of the
hidden inputs, the suites or the reference code goes into a report; text that came from the
student's code is escaped.
"""

from __future__ import annotations

import base64
import html
import io

import torch

from autograder.remote import Remote

# ---------------------------------------------------------------- pictures


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _tensor(value, shape=None, dims=None) -> torch.Tensor | None:
    """The value as a float CPU tensor if it can be drawn (and has the expected shape), else None."""
    if not isinstance(value, torch.Tensor) or value.device.type == "meta":
        return None
    if shape is not None and tuple(value.shape) != tuple(shape):
        return None
    if dims is not None and value.dim() != dims:
        return None
    return value.detach().cpu().double()


def _np(t: torch.Tensor):
    return t.detach().cpu().double().numpy()


def _why(value, expected) -> str:
    if isinstance(value, torch.Tensor) and isinstance(expected, torch.Tensor):
        return f"your result has shape {tuple(value.shape)}, expected {tuple(expected.shape)}"
    return f"your result is {value.type if isinstance(value, Remote) else type(value).__name__}, not a tensor"


def _smoother(kept: dict, plt) -> list[dict]:
    pictures = []
    if "smoothed" in kept:
        data = kept["smoothed"]
        signal, expected = data["signal"], data["expected"]
        got = _tensor(data["got"], expected.shape)
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(_np(signal), color="0.75", label="noisy signal")
        offset = _np(torch.arange(len(expected)) + (len(signal) - len(expected)) / 2)
        ax.plot(offset, _np(expected), lw=3, alpha=0.5, label="reference")
        if got is not None:
            ax.plot(offset, _np(got), lw=1.3, label="yours")
        ax.set_title(
            "smooth on the notebook's signal" + ("" if got is not None else f" ({_why(data['got'], expected)})")
        )
        ax.legend(loc="lower left", fontsize=8)
        pictures.append({"title": "Your smoothed signal over the reference's", "png": _png(fig)})
    if "kernel" in kept:
        data = kept["kernel"]
        expected = data["expected"]
        got = _tensor(data["got"], expected.shape)
        fig, ax = plt.subplots(figsize=(5, 2.6))
        offsets = _np(torch.arange(len(expected)) - (len(expected) - 1) / 2)
        ax.bar(offsets - 0.15, _np(expected), width=0.3, label="reference")
        if got is not None:
            ax.bar(offsets + 0.15, _np(got), width=0.3, label="yours")
        ax.set_title("gaussian_kernel(8)" + ("" if got is not None else f" ({_why(data['got'], expected)})"))
        ax.legend(fontsize=8)
        pictures.append({"title": "Your kernel beside the reference's", "png": _png(fig)})
    return pictures


def _heatmaps(plt, panels: list[tuple[str, torch.Tensor | None]], labels=None, annotate=False, words=None):
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (title, matrix) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        if matrix is None:
            ax.axis("off")
            continue
        ax.imshow(_np(matrix), cmap="viridis" if not annotate else "Pastel1")
        if labels:
            ax.set_xticks(range(len(labels)), labels, rotation=45, fontsize=8)
            ax.set_yticks(range(len(labels)), labels, fontsize=8)
        if annotate:
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    text = f"{int(matrix[i, j])}" if words is None else f"{words[i][j]}\n{int(matrix[i, j])}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=7)
    fig.tight_layout()
    return fig


def _vocab(kept: dict, plt) -> list[dict]:
    if "tokens" not in kept:
        return []
    data = kept["tokens"]
    expected = data["expected"]
    got = _tensor(data["got"], expected.shape)
    words = [s.split() + ["<pad>"] * (expected.shape[1] - len(s.split())) for s in data["corpus"]]
    panels = [("yours" if got is not None else f"yours: {_why(data['got'], expected)}", got), ("expected", expected)]
    fig = _heatmaps(plt, panels, annotate=True, words=words)
    return [{"title": "tokenize on the notebook's corpus: yours beside the expected matrix", "png": _png(fig)}]


def _weights(kept: dict, plt, what: str) -> list[dict]:
    if "weights" not in kept:
        return []
    data = kept["weights"]
    expected = data["expected"][1] if isinstance(data["expected"], tuple) else data["expected"]
    raw = data["got"][1] if isinstance(data["got"], (tuple, list)) and len(data["got"]) == 2 else data["got"]
    got = _tensor(raw, expected.shape)
    panels = [
        (
            "your weights, sentence 1" if got is not None else "yours: " + _why(raw, expected),
            None if got is None else got[0],
        ),
        ("the reference's", expected[0]),
    ]
    fig = _heatmaps(plt, panels, labels=data.get("labels"))
    return [
        {"title": f"{what} on the notebook's \"bank\" sentences: your weights beside the reference's", "png": _png(fig)}
    ]


def draw(part: str, kept: dict) -> list[dict]:
    """Pictures for the feedback of one part: ``[{"title", "png" (base64)}]``; none if nothing was kept."""
    if not kept:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        if part == "smoother":
            return _smoother(kept, plt)
        if part == "vocab":
            return _vocab(kept, plt)
        return _weights(kept, plt, "scaled_dot_product_attention" if part == "attention" else "MultiHeadAttention")
    except Exception:  # a picture is a courtesy: a result it cannot draw must not cost a grade
        plt.close("all")
        return []


# ---------------------------------------------------------------- the report


def part_html(part: dict, environment: dict) -> str:
    """The report of one part, for the grade cell of an nbgrader notebook: what to fix first."""
    e = html.escape
    checks = part["checks"]
    groups: dict[str, list[float]] = {}
    for check in checks:
        totals = groups.setdefault(check["group"], [0.0, 0.0])
        totals[0] += check["points"]
        totals[1] += check["max_points"]
    failed = [c for c in checks if not c["passed"] and not c["skipped"]]
    passed = [c for c in checks if c["passed"]]
    skipped: dict[str, int] = {}
    for check in checks:
        if check["skipped"]:
            skipped[check["message"]] = skipped.get(check["message"], 0) + 1

    out = [
        f"<div class='autograder-report'><h3>{e(part['part'])}: {part['score']:g} / {part['max_score']:g} points</h3>"
    ]
    if part.get("error"):
        out.append(f"<p style='color:#b22'><b>{e(part['error'])}</b></p>")
    for note in part.get("notes", []):
        out.append(f"<p><i>Note: {e(note)}</i></p>")
    devices = ", ".join(environment.get("devices", [])) or "-"
    out.append(f"<p>Checked on: {e(devices)}. Sandbox: {e(environment.get('sandbox', '-'))}.</p>")
    out.append("<table><tr><th style='text-align:left'>group of checks</th><th>points</th></tr>")
    out += [f"<tr><td>{e(g)}</td><td>{p:.2f} / {m:.2f}</td></tr>" for g, (p, m) in groups.items()]
    out.append("</table>")
    if failed:
        out.append(f"<h4>{len(failed)} check(s) to look at</h4><ol>")
        for check in failed:
            hint = f"<br><b>Hint:</b> {e(check['hint'])}" if check.get("hint") else ""
            out.append(
                f"<li><b>{e(check['name'])}</b> ({e(check['device'])}, {check['max_points']:.2f} points)"
                f"<br><span style='color:#b22'>{e(check['message'])}</span>{hint}</li>"
            )
        out.append("</ol>")
    if passed:
        items = "".join(
            f"<li>{e(c['name'])} ({e(c['device'])})" + (f": {e(c['message'])}" if c["message"] else "") + "</li>"
            for c in passed
        )
        out.append(f"<details><summary>{len(passed)} check(s) passed</summary><ul>{items}</ul></details>")
    if skipped:
        items = "".join(f"<li>{count} check(s): {e(reason)}</li>" for reason, count in skipped.items())
        out.append(f"<details><summary>not run on this grader</summary><ul>{items}</ul></details>")
    out.append("</div>")
    return "".join(out)
