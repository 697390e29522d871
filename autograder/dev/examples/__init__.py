"""Simulated students: typical mistakes, correct solutions written differently, and attacks.

Used by the tests (each mistake must lose points with its hint, each correct solution must get
full marks, each attack must be contained), by ``make demo`` and by ``make bench``. A mistake
(``mistakes.py``) is the reference with one edit, so that it stays a single, typical slip; a
correct solution (``correct/<part>_<name>.py``, its docstring names it) is written out in full,
differently from the reference.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.parts import PARTS, reference_code

if TYPE_CHECKING:
    import nbformat


@dataclass(frozen=True)
class Example:
    name: str
    part: str
    code: str
    expect: str  # "full" for a correct solution; else a text expected in a failed check's message or hint


def mutant(name: str, part: str, edits: list[tuple[str, str]], expect: str) -> Example:
    code = reference_code(part)
    for old, new in edits:
        if old not in code:
            raise ValueError(f"the mistake {name!r} no longer applies: {old!r} is not in the reference")
        code = code.replace(old, new, 1)
    return Example(name, part, code, expect)


def notebook(part: str, code: str) -> nbformat.NotebookNode:
    """The released notebook of ``part`` with ``code`` in its first answer cell, the others left as comments."""
    import nbformat  # here: grading .py files needs no Jupyter packages

    return filled(nbformat.reads((resources.files("assignments") / f"{part}.ipynb").read_text(), as_version=4), code)


def filled(nb: nbformat.NotebookNode, code: str) -> nbformat.NotebookNode:
    """A copy of the notebook ``nb`` with ``code`` in its first answer cell, the others left as comments."""
    nb = copy.deepcopy(nb)
    first = True
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = code if first else "# (my answer is in the first answer cell)"
            first = False
    return nb


def disguised(code: str, tag: str = "x") -> str:
    """A copy of ``code`` as a student who copied it would hand it in: its variables renamed (``tag`` in
    each), comments and docstrings reworded, blank lines added; it still computes the same.

    The exercise's names, parameters (the suites may pass them by keyword), keyword arguments,
    imports and attributes keep theirs, so the copy works as the original does.
    """
    import io
    import tokenize

    tree = ast.parse(code)
    kept = {name for part in PARTS.values() for name in part.names} | {"self"}
    nodes = list(ast.walk(tree))
    imported = [a for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names]
    kept |= {a.asname or a.name.split(".")[0] for a in imported}
    kept |= {k.arg for k in nodes if isinstance(k, ast.keyword) and k.arg}
    kept |= {a.arg for n in nodes if isinstance(n, ast.arguments) for a in [*n.posonlyargs, *n.args, *n.kwonlyargs]}
    bound = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    renamed = {name: f"{name[:1]}_{tag}_{i}" for i, name in enumerate(sorted(bound - kept))}
    docstrings = {
        (node.body[0].value.lineno, node.body[0].value.col_offset)
        for node in nodes
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module))
        and ast.get_docstring(node) is not None
        and isinstance(node.body[0], ast.Expr)
    }
    out = []
    after_dot = False
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        kind, text = token.type, token.string
        if kind == tokenize.NAME and not after_dot and text in renamed:
            text = renamed[text]
        elif kind == tokenize.COMMENT:
            text = f"# ({tag}) worked this out myself"
        elif kind == tokenize.STRING and token.start in docstrings:
            text = f'"""My answer ({tag})."""'
        elif kind == tokenize.NEWLINE:
            text = "\n\n" if token.start[1] == 0 or not text else text + "\n"
        out.append((kind, text))
        after_dot = kind == tokenize.OP and token.string == "."
    return tokenize.untokenize(out)


def by_part(examples: list[Example]) -> dict[str, list[Example]]:
    return {part: [e for e in examples if e.part == part] for part in PARTS}


def correct_examples() -> list[Example]:
    """The correct solutions in ``correct/``, in file order: each must get full marks."""
    found = []
    for path in sorted(Path(__file__).with_name("correct").glob("*.py")):
        part = next(p for p in PARTS if path.stem.startswith(p + "_"))
        code = path.read_text(encoding="utf-8")
        found.append(Example(ast.get_docstring(ast.parse(code)) or path.stem, part, code, "full"))
    return found


CORRECT = correct_examples()

from autograder.dev.examples.attacks import GRADEBOOK_ATTACK  # noqa: E402 (they build on Example)
from autograder.dev.examples.mistakes import CARRIED_FORWARD, MISTAKES  # noqa: E402

__all__ = [
    "CARRIED_FORWARD",
    "CORRECT",
    "GRADEBOOK_ATTACK",
    "MISTAKES",
    "Example",
    "by_part",
    "disguised",
    "mutant",
    "notebook",
    "reference_code",
]
