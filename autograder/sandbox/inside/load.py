"""Loading a submission's answers: one top-level statement at a time, as a notebook would.

A pure function of the code and a namespace: it runs the prelude, then each statement; a
statement that raises (a test line using a variable of another cell, say) is skipped and
reported as a note. A SyntaxError stops the load.
"""

from __future__ import annotations
import __future__

import ast
import linecache
import types
from collections.abc import Callable
from typing import Any

from ..protocol import PRELUDE

SUBMISSION = "<submission>"


def load_answers(code: str, module: types.ModuleType, describe: Callable[[BaseException], dict[str, Any]]) -> list[str]:
    """Run ``code`` in ``module``; the notes on the statements that raised (``describe``: error -> dict)."""
    module.__file__ = SUBMISSION
    linecache.cache[SUBMISSION] = (len(code), None, code.splitlines(True), SUBMISSION)
    exec(compile(PRELUDE, "<prelude>", "exec"), module.__dict__)
    tree = compile(code, SUBMISSION, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)  # SyntaxError: no load
    assert isinstance(tree, ast.Module)  # what compile gives with PyCF_ONLY_AST in "exec" mode
    flags, notes = 0, []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            flags |= sum(getattr(__future__, alias.name).compiler_flag for alias in node.names)
        statement = compile(ast.Module(body=[node], type_ignores=[]), SUBMISSION, "exec", flags, dont_inherit=True)
        try:
            exec(statement, module.__dict__)
        except Exception as error:
            info = describe(error)
            notes.append(f"line {node.lineno} raised {info['type']}: {info['message'][:200]}")
    return notes


def public_callables(module: types.ModuleType) -> list[str]:
    return [n for n, v in vars(module).items() if not n.startswith("_") and callable(v)]
