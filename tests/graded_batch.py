"""One batch of everything, graded once for the session: what test_grading.py and test_regrade.py read.

Grading is the longest part of the slow tier, so the batch that both files need is graded once (the
``graded_batch`` fixture of tests/conftest.py), through ``grade`` with sandboxed jobs, as the CLI does:
the reference answers in the student notebooks, the course's source notebooks (refused), the
untouched student notebooks, the corpus of typical mistakes and of the correct solutions written
differently, the same code as notebook and as .py, twenty copies of a submission whose speed is near
the limit, and broken submissions, in that order. test_regrade.py grades the corpus and the copies
once more and compares the records with these.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.dev.examples import CARRIED_FORWARD, CORRECT, MISTAKES, Example, notebook, reference_code
from autograder.grade import grade
from autograder.nbgrader.notebooks import source_notebook
from autograder.parts import PARTS
from autograder.records import Report
from tests.conftest import ROOT, slug

SAME_CODE = [
    CORRECT[0],
    *(m for m in MISTAKES if m.name in ("kernel flipped (true convolution)", "weights not averaged")),
]
BROKEN = {
    "corrupt.ipynb": '{"cells": [ this is not json',
    "smoother_without_smooth.py": reference_code("smoother").split("def smooth(")[0],
    "syntax_error.py": "def scaled_dot_product_attention(query, key, value, mask=None)\n    return query\n",
    "wrong_types.py": (
        "import numpy as np\n\n"
        "def gaussian_kernel(size, sigma=1.0):\n    return [1.0 / size] * size\n\n"
        "def smooth(signal, kernel):\n    return np.zeros(3)\n"
    ),
    "nan_attention.py": (
        "def scaled_dot_product_attention(query, key, value, mask=None):\n"
        "    w = torch.full((*query.shape[:-1], key.shape[-2]), float('nan'), dtype=query.dtype)\n"
        "    return w @ value, w\n"
    ),
    "raises.py": reference_code("smoother").replace("    return out.reshape(", "    1 / 0\n    return out.reshape("),
    "stray_line.py": reference_code("smoother").replace(
        "def smooth(",
        "print(gaussian_kernel(5))\nsmoothed = smooth(x, gaussian_kernel(8))  # x: another cell's\n\n\ndef smooth(",
    ),
    "notes.txt": "not code",
    "latin1.py": b"# caf\xe9\ndef smooth(signal, kernel):\n    return signal\n",
}
# The limit is 10 times the reference's time plus 10 ms; the reference takes well under 1 ms here.
NEAR_LIMIT = Example(
    "near the speed limit",
    "smoother",
    reference_code("smoother")
    .replace("import torch\n", "import time\n\nimport torch\n", 1)
    .replace("    out = F.conv1d(rows, weight)", "    time.sleep(0.006)\n    out = F.conv1d(rows, weight)", 1),
    "full",
)
COPIES = 20


def corpus_name(index: int, example: Example) -> str:
    """The file of ``(MISTAKES + CORRECT)[index]`` in the batch."""
    return f"{index:02d}-{example.part}-{slug(example.name)}.py"


def masking_with_a_broken_attention_cell():
    """The masking notebook answered with the reference, its copied part-3 attention cell not compiling."""
    nb = source_notebook("masking")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", cell.source)
            if cell.metadata["nbgrader"]["grade_id"] == "scaled_dot_product_attention":
                cell.source = cell.source.replace("scale = 1.0 /", "scale = 1.0 //=")
    return nb


@dataclass
class GradedBatch:
    paths: list[Path]  # every file handed in, in order
    corpus: dict[Path, Example]  # the corpus and the copies near the speed limit, in order: what a regrade grades
    report: Report  # what ``grade`` gave
    json_path: Path  # the report it wrote


def write_batch(d: Path) -> tuple[list[Path], dict[Path, Example]]:
    paths: list[Path] = []
    for part in PARTS:
        nbformat.write(notebook(part, reference_code(part)), d / f"reference-{part}.ipynb")
        nbformat.write(source_notebook(part), d / f"source-{part}.ipynb")
        shutil.copy(ROOT / "assignments" / f"{part}.ipynb", d / f"stub-{part}.ipynb")
        paths += [d / f"reference-{part}.ipynb", d / f"source-{part}.ipynb", d / f"stub-{part}.ipynb"]
    corpus: dict[Path, Example] = {}
    for i, example in enumerate(MISTAKES + CORRECT):
        corpus[d / corpus_name(i, example)] = example
    for copy in range(COPIES):
        corpus[d / f"near-the-speed-limit-{copy:02d}.py"] = NEAR_LIMIT
    for path, example in corpus.items():
        path.write_text(example.code)
    paths += [p for p, e in corpus.items() if e is not NEAR_LIMIT]
    for example in CARRIED_FORWARD:
        path = d / f"carried-{slug(example.name)}.py"
        path.write_text(example.code)
        paths.append(path)
    for example in SAME_CODE:  # the same code, as a notebook
        path = d / f"as-notebook-{slug(example.name)}.ipynb"
        nbformat.write(notebook(example.part, example.code), path)
        paths.append(path)
    nbformat.write(masking_with_a_broken_attention_cell(), d / "masking-attention-cell-does-not-compile.ipynb")
    paths.append(d / "masking-attention-cell-does-not-compile.ipynb")
    paths += [p for p, e in corpus.items() if e is NEAR_LIMIT]
    for name, content in BROKEN.items():
        (d / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(d / name)
    return paths, corpus


def grade_batch(d: Path) -> GradedBatch:
    paths, corpus = write_batch(d)
    report = grade(submissions=paths, json_path=d / "report.json", progress=False)
    return GradedBatch(paths, corpus, report, d / "report.json")
