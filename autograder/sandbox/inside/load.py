"""Loading a submission's answers: cell by cell, one top-level statement at a time, as a notebook would.

A pure function of the cells and a namespace: it runs the prelude, then each cell, compiled with
its own filename (``<answer cell 2>``; ``<submission>`` for a .py file), one statement at a time;
a statement that raises (a test line using a variable of another cell, say) is skipped, and a
cell that does not compile is left out: each is reported as a note that names the filename and
the line, which the grader turns into words. ``from __future__`` imports hold for the cells after
theirs, as in IPython.
"""

from __future__ import annotations
import __future__

import ast
import linecache
import types
from collections.abc import Callable, Sequence
from typing import Any

from ..protocol import MAX_CELLS, MAX_CODE, PRELUDE, SUBMISSION

FILENAME_PREFIXES = (SUBMISSION, "<answer cell ")


def is_answer_file(filename: str) -> bool:
    """Is this the filename of the student's code (a frame of theirs in a traceback)?"""
    return filename.startswith(FILENAME_PREFIXES)


def checked_cells(cells: object) -> list[tuple[str, str]]:
    """The load request's cells as (filename, source) pairs; ValueError if they are not that, or too many."""
    if not isinstance(cells, list) or len(cells) > MAX_CELLS:
        raise ValueError(f"the cells to load are not a list of at most {MAX_CELLS}")
    pairs = []
    for cell in cells:
        if not (isinstance(cell, list) and len(cell) == 2 and all(isinstance(x, str) for x in cell)):
            raise ValueError("a cell to load is not [filename, source]")
        if not is_answer_file(cell[0]) or len(cell[0]) > 40:
            raise ValueError("a cell to load has a filename that is not one of the answers'")
        pairs.append((cell[0], cell[1]))
    if sum(len(source) for _, source in pairs) > MAX_CODE:
        raise ValueError(f"the cells to load hold more than {MAX_CODE} characters")
    return pairs


def load_answers(
    cells: Sequence[tuple[str, str]], module: types.ModuleType, error_info: Callable[[BaseException], dict[str, Any]]
) -> list[str]:
    """Run each (filename, source) in ``module``; the notes on the statements that raised and the cells left out."""
    module.__file__ = SUBMISSION
    exec(compile(PRELUDE, "<prelude>", "exec"), module.__dict__)
    flags, notes = 0, []
    for filename, source in cells:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST | flags, dont_inherit=True)
        except (SyntaxError, ValueError) as error:  # ValueError: null bytes
            line = f", line {error.lineno}" if isinstance(error, SyntaxError) and error.lineno else ""
            message = (error.msg if isinstance(error, SyntaxError) else str(error))[:200]
            notes.append(f"{filename}{line}: {type(error).__name__}: {message} (the cell was not run)")
            continue
        assert isinstance(tree, ast.Module)  # what compile gives with PyCF_ONLY_AST in "exec" mode
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                flags |= sum(getattr(__future__, alias.name).compiler_flag for alias in node.names)
            try:
                statement = compile(
                    ast.Module(body=[node], type_ignores=[]), filename, "exec", flags, dont_inherit=True
                )
                exec(statement, module.__dict__)
            except Exception as error:
                info = error_info(error)
                notes.append(
                    f"{filename}, line {node.lineno} raised {info['type']}: {info['message'][:200]} (the line was skipped)"
                )
    return notes


def public_callables(module: types.ModuleType) -> list[str]:
    return [n for n, v in vars(module).items() if not n.startswith("_") and callable(v)]
