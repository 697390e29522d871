"""The nbgrader source notebooks, built from the student notebooks and the reference.

``assignments/<part>.ipynb`` is the student version (what nbgrader releases); ``solutions/`` holds
the one copy of the reference code. The source version is the student version with every stub
(``# YOUR CODE HERE`` / ``raise NotImplementedError()``) replaced by the body of the reference
function of the same qualified name, between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.
``nbgrader generate_assignment`` turns it back into the student version; ``python -m
autograder.nbgrader.notebooks`` does exactly that, to refresh ``assignments/`` after an edit.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.parts import PARTS

if TYPE_CHECKING:
    import nbformat

ASSIGNMENT = "attention"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def assignment_text(part: str) -> str:
    """The student notebook of a part, as JSON text."""
    return (resources.files("assignments") / f"{part}.ipynb").read_text(encoding="utf-8")


def read_assignment(part: str) -> nbformat.NotebookNode:
    import nbformat  # its import costs over a second (jsonschema's format checkers): only where a notebook is written

    return nbformat.reads(assignment_text(part), as_version=4)


def _docstring_end(node: ast.FunctionDef | ast.ClassDef) -> int | None:
    """Line number where the docstring of ``node`` ends, or None without one."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno
    return None


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef]]:
    """(qualname, node) for every top-level function and every method of a top-level class."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield f"{node.name}.{item.name}", item


def reference_bodies() -> dict[str, str]:
    """qualname -> dedented body (without docstring) of every function and method in solutions/."""
    bodies = {}
    for part in PARTS:
        text = (resources.files("solutions") / f"{part}.py").read_text(encoding="utf-8")
        lines = text.splitlines()
        for qualname, node in _functions(ast.parse(text)):
            start = _docstring_end(node) or node.body[0].lineno - 1
            bodies[qualname] = textwrap.dedent("\n".join(lines[start : node.end_lineno]))
    return bodies


def _is_stub(node: ast.FunctionDef) -> bool:
    body = node.body[1:] if _docstring_end(node) else node.body
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and isinstance(body[0].exc, ast.Call)
        and getattr(body[0].exc.func, "id", None) == "NotImplementedError"
    )


def fill_stubs(source: str, bodies: dict[str, str]) -> str:
    """Replace every stubbed body in ``source`` by the reference body, between solution markers."""
    lines = source.split("\n")
    stubs = [(q, n) for q, n in _functions(ast.parse(source)) if _is_stub(n)]
    for qualname, node in sorted(stubs, key=lambda s: s[1].lineno, reverse=True):
        if qualname not in bodies:
            raise KeyError(f"no reference for the stub {qualname}")
        indent = " " * node.body[-1].col_offset
        start = _docstring_end(node) or node.body[0].lineno - 1
        body = textwrap.indent(bodies[qualname], indent).split("\n")
        lines[start : node.end_lineno] = [indent + BEGIN, *body, indent + END]
    return "\n".join(lines)


def fill_notebook(nb: Any) -> Any:
    """``nb`` (a student notebook: an ``nbformat.NotebookNode``, or its JSON as a dict) made its source version, in place."""
    bodies = reference_bodies()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        meta.pop("checksum", None)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if meta.get("solution"):
                source = cell["source"]
                cell["source"] = fill_stubs("".join(source) if isinstance(source, list) else source, bodies)
    return nb


def source_notebook(part: str) -> nbformat.NotebookNode:
    """The nbgrader source version of a part: the student notebook with the reference filled in."""
    return fill_notebook(read_assignment(part))


def source_json(part: str) -> dict:
    """``source_notebook`` as plain JSON, read without nbformat: what the grader compares submissions with."""
    import json

    return fill_notebook(json.loads(assignment_text(part)))


def write_sources(directory: Path) -> list[Path]:
    """Write the four source notebooks into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    import nbformat

    paths = []
    for part in PARTS:
        path = directory / f"{part}.ipynb"
        nbformat.write(source_notebook(part), path)
        paths.append(path)
    return paths


def nbgrader_env() -> dict[str, str]:
    """The environment for an nbgrader subprocess: nbgrader calls ``alembic`` from PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate_release(course: Path) -> Path:
    """Run ``nbgrader generate_assignment`` in a course whose source/ holds the notebooks."""
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN"],
        cwd=course,
        env=nbgrader_env(),
        check=True,
    )
    return course / "release" / ASSIGNMENT


def refresh_assignments(target: Path) -> None:
    """Rebuild the student notebooks in ``target`` through nbgrader: source -> release."""
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        (course / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = {ASSIGNMENT!r}\n", encoding="utf-8"
        )
        write_sources(course / "source" / ASSIGNMENT)
        release = generate_release(course)
        for part in PARTS:
            shutil.copyfile(release / f"{part}.ipynb", target / f"{part}.ipynb")


if __name__ == "__main__":
    refresh_assignments(Path(__file__).resolve().parents[2] / "assignments")
