"""The drawing kit of the feedback pictures: each suite's ``pictures(kept, plt)`` uses these."""

from __future__ import annotations

import base64
import io

import torch

from autograder.sandbox.student import Remote


def png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def drawable(value, shape=None, dims=None) -> torch.Tensor | None:
    """The value as a float CPU tensor if it can be drawn (and has the expected shape), else None."""
    if not isinstance(value, torch.Tensor) or value.device.type == "meta":
        return None
    if shape is not None and tuple(value.shape) != tuple(shape):
        return None
    if dims is not None and value.dim() != dims:
        return None
    return value.detach().cpu().double()


def np(t: torch.Tensor):
    return t.detach().cpu().double().numpy()


def why(value, expected) -> str:
    if isinstance(value, torch.Tensor) and isinstance(expected, torch.Tensor):
        return f"your result has shape {tuple(value.shape)}, expected {tuple(expected.shape)}"
    return f"your result is {value.type if isinstance(value, Remote) else type(value).__name__}, not a tensor"


def heatmaps(plt, panels: list[tuple[str, torch.Tensor | None]], labels=None, annotate=False, words=None):
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (title, matrix) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        if matrix is None:
            ax.axis("off")
            continue
        ax.imshow(np(matrix), cmap="viridis" if not annotate else "Pastel1")
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


def weights_picture(kept: dict, plt, what: str) -> list[dict]:
    if "weights" not in kept:
        return []
    data = kept["weights"]
    expected = data["expected"][1] if isinstance(data["expected"], tuple) else data["expected"]
    raw = data["got"][1] if isinstance(data["got"], (tuple, list)) and len(data["got"]) == 2 else data["got"]
    got = drawable(raw, expected.shape)
    panels = [
        (
            "your weights, sentence 1" if got is not None else "yours: " + why(raw, expected),
            None if got is None else got[0],
        ),
        ("the reference's", expected[0]),
    ]
    fig = heatmaps(plt, panels, labels=data.get("labels"))
    return [
        {"title": f"{what} on the notebook's \"bank\" sentences: your weights beside the reference's", "png": png(fig)}
    ]
