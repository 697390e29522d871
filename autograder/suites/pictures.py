"""The drawing kit of the feedback pictures: each suite's ``pictures(kept, plt)`` uses these."""

from __future__ import annotations

import base64
import io
import math

import torch

from autograder.sandbox.student import Remote
from autograder.suites.notebook_data import CORPUS, FIRST_SENTENCE


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


#: The colours of a token matrix: '<pad>' (index 0), '<unk>' (index 1), and every other word.
TOKEN_COLOURS = {"<pad>": "#d9d9d9", "<unk>": "#fdb462", "a word": "#b3de69"}


def token_categories(matrix: torch.Tensor) -> torch.Tensor:
    """0 where the index is '<pad>' (0), 1 where it is '<unk>' (1), 2 for any other word: one colour each."""
    return torch.where(matrix == 0, 0, torch.where(matrix == 1, 1, 2))


def heatmaps(plt, panels: list[tuple[str, torch.Tensor | None]], labels=None, annotate=False, words=None):
    """Matrices side by side; ``annotate``: token matrices, each index written in its cell and coloured by what it
    is ('<pad>', '<unk>' or a word, with a legend), ``words`` the corpus's words at each place."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (title, matrix) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        if matrix is None:
            ax.axis("off")
            continue
        if annotate:
            colours = ListedColormap(list(TOKEN_COLOURS.values()))
            ax.imshow(np(token_categories(matrix)), cmap=colours, vmin=0, vmax=len(TOKEN_COLOURS) - 1)
        else:
            ax.imshow(np(matrix), cmap="viridis")
        if labels:
            ax.set_xticks(range(len(labels)), labels, rotation=45, fontsize=8)
            ax.set_yticks(range(len(labels)), labels, fontsize=8)
        if annotate:
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    text = f"{int(matrix[i, j])}" if words is None else f"{words[i][j]}\n{int(matrix[i, j])}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=7)
    if annotate:
        legend = [
            Patch(color=c, label=f"{name} ({i})" if i < 2 else name)
            for i, (name, c) in enumerate(TOKEN_COLOURS.items())
        ]
        fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1) if annotate else None)
    return fig


def most_different(got: torch.Tensor, expected: torch.Tensor) -> tuple[int, float]:
    """(the index along the first dimension where ``got`` differs most from ``expected``, that difference); a NaN
    counts as the largest. Both of one shape."""
    error = (got.double() - expected.double()).abs().nan_to_num(nan=math.inf, posinf=math.inf)
    per_row = error.flatten(1).amax(1) if error.dim() > 1 else error
    index = int(per_row.argmax())
    return index, float(per_row[index])


def weights_picture(kept: dict, plt, what: str) -> list[dict]:
    """The student's weights beside the reference's on the notebook's sentences: the sentence where they differ
    most, and a caption that says so (or that they are equal there: the checks that failed used other inputs)."""
    if "weights" not in kept:
        return []
    data = kept["weights"]
    expected = data["expected"][1] if isinstance(data["expected"], tuple) else data["expected"]
    raw = data["got"][1] if isinstance(data["got"], (tuple, list)) and len(data["got"]) == 2 else data["got"]
    got = drawable(raw, expected.shape)
    index, worst = (0, 0.0) if got is None else most_different(got, expected)
    labels = data.get("labels")
    if labels == FIRST_SENTENCE and index < len(CORPUS):  # the words of the sentence drawn
        words = CORPUS[index].split()
        labels = words + ["<pad>"] * (len(FIRST_SENTENCE) - len(words))
    where = f"sentence {index + 1}"
    if got is None:
        caption = "yours: " + why(raw, expected)
    elif worst > 1e-4:
        caption = f"your weights, {where}: where they differ most (by {worst:.3g})"
    else:
        caption = f"your weights, {where}: equal to the reference's here"
    panels = [(caption, None if got is None else got[index]), (f"the reference's, {where}", expected[index])]
    fig = heatmaps(plt, panels, labels=labels)
    if got is not None and worst <= 1e-4:
        title = f"{what} on the notebook's \"bank\" sentences: your weights equal the reference's there; the checks that failed used other inputs"
    else:
        title = f"{what} on the notebook's \"bank\" sentences: your weights beside the reference's, on the sentence where they differ most"
    return [{"title": title, "png": png(fig)}]
