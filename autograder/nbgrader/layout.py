"""What nbgrader's metadata says about a notebook's cells: its answer cells, its grade cell, their ids.

Each notebook of the assignment has one grade cell, ``<part>_hidden_tests``, whose points the
hidden suites give (``grade_cell_part``), and answer cells (``solution``). ``of_notebook`` reads a
submitted notebook's answer cells into ``cells.Answers``. Nothing here imports nbgrader: this is
the one place that knows its metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from autograder.cells import (
    MAX_CODE_BYTES,
    MAX_TOKENS,
    Answers,
    Reader,
    TooLarge,
    check_size,
    count_tokens,
    would_define,
)
from autograder.sandbox.protocol import MAX_CELLS

#: The grade cell of a part: ``<part>_hidden_tests``.
HIDDEN_TESTS = "_hidden_tests"
#: A grade_id from a student's notebook is shown only as a plain name: these characters go.
GRADE_ID = re.compile(r"[^\w.-]", re.ASCII)


def nbgrader_meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``nbgrader`` metadata of a cell (empty when it has none); AttributeError when its metadata
    is not a mapping (a notebook that is not well formed)."""
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def grade_cell_id(part: str) -> str:
    """The grade_id of ``part``'s grade cell."""
    return f"{part}{HIDDEN_TESTS}"


def grade_cell_part(cell: Mapping[str, Any]) -> str | None:
    """The part a grade cell names by its id (``<part>_hidden_tests``); None for any other cell.

    The part is as the notebook writes it: the caller checks it is one of ``PARTS``.
    """
    meta = nbgrader_meta(cell)
    grade_id = str(meta.get("grade_id", ""))
    if meta.get("grade") and grade_id.endswith(HIDDEN_TESTS):
        return grade_id.removesuffix(HIDDEN_TESTS)
    return None


@cache
def answer_ids() -> frozenset[str]:
    """The grade_ids of the answer cells of the released notebooks."""
    from importlib import resources

    ids = set()
    for path in resources.files("assignments").iterdir():
        if path.name.endswith(".ipynb"):
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                meta = nbgrader_meta(cell)
                if meta.get("solution"):
                    ids.add(str(meta.get("grade_id", "")))
    return frozenset(ids - {""})


def _answer_turned_markdown(meta: Mapping[str, Any], grade_id: str) -> bool:
    """A markdown cell that is an answer cell turned into markdown (not a written answer of nbgrader's)."""
    return bool(meta.get("solution") and meta.get("cell_type", "code") == "code") or grade_id in answer_ids()


def of_notebook(nb: dict) -> tuple[Answers, str, str]:
    """(the answers, the part its grade cell names, a note) of a notebook's JSON.

    The answer cells are the code cells whose nbgrader metadata says ``solution``, in order, and
    those turned into markdown (numbered among them: "answer cell 3" is the third of the released
    notebook). A notebook without any is graded by every code cell. TooLarge (nothing parsed) when
    the answer cells are more than ``MAX_CELLS`` or hold more than ``MAX_CODE_BYTES`` or ``MAX_TOKENS``.
    """
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError("it has no list of cells")
    part = ""
    answers: list[tuple[int, str, str, str]] = []  # (place in the notebook, source, grade_id, cell type)
    others: list[tuple[int, str, str, str]] = []
    for position, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            continue
        meta = nbgrader_meta(cell)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        grade_id = str(meta.get("grade_id", ""))
        if cell.get("cell_type") == "code":
            named = grade_cell_part(cell)
            if named is not None:
                part = part or named
            (answers if meta.get("solution") else others).append((position, source, grade_id, "code"))
        elif cell.get("cell_type") == "markdown" and _answer_turned_markdown(meta, grade_id):
            answers.append((position, source, grade_id, "markdown"))
    note = ""
    if not answers:  # a notebook without nbgrader metadata: every code cell is graded
        answers, others, note = others, [], "no nbgrader answer cells: graded every code cell"
    if len(answers) > MAX_CELLS:
        raise TooLarge(f"it has more than {MAX_CELLS} answer cells; it was not graded")
    check_size([source for _, source, _, _ in answers], "its answer cells")
    reader = Reader()
    for number, (_, source, grade_id, kind) in enumerate(answers, 1):
        grade_id = GRADE_ID.sub("", grade_id)[:40]  # the student's metadata: shown only as a plain name
        if kind == "markdown":
            reader.markdown_cell(number, source, grade_id)
        else:
            reader.code_cell(number, source, grade_id, ipython=True)
    chars, tokens = MAX_CODE_BYTES, MAX_TOKENS
    for position, source, _, _ in others[:MAX_CELLS]:  # read for hints only: as far as the bounds allow
        chars -= len(source)
        tokens -= count_tokens(source, max(tokens, 0) + 1)
        if chars < 0 or tokens < 0:
            break
        for name in would_define(source):
            reader.answers.outside.setdefault(name, position)
    return reader.done(), part, note
