"""The rooms of the package and what each may import: read from the source with ``ast``, nothing imported.

The package is split into rooms that each own one concern (README, "Layout"):

- ``autograder/sandbox/inside/`` runs in the sandbox, next to the student's code: the standard
  library, torch and the wire format only (``sandbox.protocol``, ``sandbox.wire``); nothing of the
  grader's that could carry what the student must not see. Nothing outside ``sandbox/`` imports it
  (the grader starts it as a program, ``python -m autograder.sandbox.inside``).
- ``autograder/sandbox/`` is the grader's side of the sandbox: it imports nothing of the grader
  above it (``text`` is a leaf of plain functions); what it needs of the suites comes as arguments.
- ``autograder/suites/`` grade one part: they do not import the command line, the batch
  (``grade``, ``jobs``), nbgrader, the nbgrader room, the exports or the class statistics.
- nbgrader (the package, and what its metadata means) belongs to ``autograder/nbgrader/``; the
  demo and the bench (``autograder/dev/``) drive nbgrader too. Nothing else imports it, and the
  grade cell's id (``<part>_hidden_tests``) is written in one module, ``nbgrader/layout.py``.
- ``records``, ``cells``, ``parts`` and ``text`` are the core: they import no room above them, and
  their code does not name nbgrader (its metadata is read in ``nbgrader/layout.py``).
- The command line is imported by ``autograder/__main__.py`` only; ``autograder/dev/`` by nothing
  of the package outside it. The nbgrader room does not import ``grade`` (the command's module).

``violations`` states the rules; the tests below check the tree, and that each rule fails on an
import that breaks it.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "autograder"
STDLIB = frozenset(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules ``path`` imports (at any depth of its code: a function's own imports count too).

    ``from a.b import c`` is ``a.b.c`` when that is a module of the package, else ``a.b``; a relative
    import is resolved against the module's package.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return found


@cache
def _graph() -> tuple[tuple[str, frozenset[str]], ...]:
    found = modules()
    known = set(found)
    return tuple((name, frozenset(imports_of(path, known))) for name, path in found.items())


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of the package (parsed once per session)."""
    return {name: set(imported) for name, imported in _graph()}


def within(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def top(module: str) -> str:
    return module.split(".")[0]


INSIDE = "autograder.sandbox.inside"
SANDBOX = "autograder.sandbox"
#: What the sandbox's inside may import of the package: its own modules and the wire format.
INSIDE_MAY = ("autograder.sandbox.protocol", "autograder.sandbox.wire", INSIDE)
#: What the grader's side of the sandbox may import of the package above it.
LEAVES = ("autograder.text", "autograder.messages")
#: What the suites never import.
NOT_FOR_SUITES = (
    "autograder.cli",
    "autograder.__main__",
    "autograder.grade",
    "autograder.jobs",
    "autograder.nbgrader",
    "autograder.stats",
    "autograder.export",
    "autograder.report",
    "autograder.dev",
    "nbgrader",
    INSIDE,
)
CORE = ("autograder.records", "autograder.cells", "autograder.parts", "autograder.text", "autograder.messages")
NBGRADER_ROOMS = ("autograder.nbgrader", "autograder.dev")


def inside_rule(module: str, target: str) -> str | None:
    if not within(module, INSIDE):
        return None
    if top(target) == "autograder" and not any(within(target, ok) for ok in INSIDE_MAY):
        return f"{module} runs in the sandbox and imports {target}"
    if top(target) not in ("autograder", "torch") and top(target) not in STDLIB:
        return f"{module} runs in the sandbox and imports {target} (not torch, not the stdlib)"
    return None


def sandbox_rule(module: str, target: str) -> str | None:
    if within(target, INSIDE) and not within(module, SANDBOX):
        return f"{module} imports {target}: only the sandbox starts its inside"
    if (
        within(module, SANDBOX)
        and not within(module, INSIDE)
        and top(target) == "autograder"
        and not within(target, SANDBOX)
        and not any(within(target, leaf) for leaf in LEAVES)
    ):
        return f"{module} is the sandbox and imports {target}, a room above it"
    return None


def suites_rule(module: str, target: str) -> str | None:
    if within(module, "autograder.suites") and any(within(target, no) for no in NOT_FOR_SUITES):
        return f"{module} is a suite's and imports {target}"
    return None


def nbgrader_rule(module: str, target: str) -> str | None:
    if top(target) == "nbgrader" and not any(within(module, room) for room in NBGRADER_ROOMS):
        return f"{module} imports {target}: nbgrader belongs to autograder.nbgrader"
    if within(module, "autograder.nbgrader") and target == "autograder.grade":
        return f"{module} imports autograder.grade, the command's module"
    return None


def core_rule(module: str, target: str) -> str | None:
    if module in CORE and top(target) == "autograder" and target not in CORE and target != SANDBOX + ".protocol":
        return f"{module} is the core and imports {target}"
    return None


def entry_rule(module: str, target: str) -> str | None:
    if within(target, "autograder.cli") and module != "autograder.__main__":
        return f"{module} imports the command line ({target})"
    if within(target, "autograder.dev") and not within(module, "autograder.dev"):
        return f"{module} imports {target}: the demo and the bench are not the package's"
    return None


RULES = (inside_rule, sandbox_rule, suites_rule, nbgrader_rule, core_rule, entry_rule)


def violations(graph: dict[str, set[str]], sources: dict[str, str] | None = None) -> list[str]:
    """Each import (or grade-cell id) that breaks a rule, in words; empty when every rule holds."""
    found = [
        said
        for module, imported in sorted(graph.items())
        for target in sorted(imported)
        for rule in RULES
        if (said := rule(module, target)) is not None
    ]
    for module, source in sorted((sources or {}).items()):
        if "_hidden_tests" in source and module != "autograder.nbgrader.layout":
            found.append(f"{module} writes the grade cell's id (autograder.nbgrader.layout owns it)")
        if module in CORE and "nbgrader" in source:
            found.append(f"{module} is the core and reads nbgrader's metadata (autograder.nbgrader.layout does)")
    return found


def code_strings(path: Path) -> str:
    """The string constants of a module that are not docstrings, joined."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


def test_every_room_keeps_its_rules():
    sources = {name: code_strings(path) for name, path in modules().items()}
    assert violations(import_graph(), sources) == []


def test_the_graph_sees_the_imports_that_matter():
    graph = import_graph()
    # absolute, relative and inside a function: each is seen
    assert "autograder.sandbox.protocol" in graph["autograder.sandbox.inside.load"]
    assert "autograder.sandbox.wire" in graph["autograder.sandbox.inside.__main__"]  # `from .. import wire`, in main()
    assert "autograder.sandbox.inside.child" in graph["autograder.sandbox.inside.zygote"]
    assert "nbgrader.api" in graph["autograder.nbgrader.exchange"]
    assert "autograder.suites.notebook_data" in graph["autograder.suites.plugin"]


BROKEN = {
    "the sandbox's inside imports the grader": ("autograder.sandbox.inside.child", "autograder.cells"),
    "the sandbox's inside imports a package": ("autograder.sandbox.inside.load", "numpy"),
    "the grader imports the sandbox's inside": ("autograder.jobs", "autograder.sandbox.inside.reset"),
    "the sandbox imports a room above it": ("autograder.sandbox.student", "autograder.cells"),
    "the sandbox imports the suites": ("autograder.sandbox.student", "autograder.suites.notebook_data"),
    "a suite imports the command line": ("autograder.suites.kit", "autograder.cli"),
    "a suite imports nbgrader": ("autograder.suites.plugin", "nbgrader.api"),
    "a suite imports the nbgrader room": ("autograder.suites.vocab", "autograder.nbgrader.layout"),
    "nbgrader outside its room": ("autograder.submission", "nbgrader.utils"),
    "the core imports a room": ("autograder.records", "autograder.nbgrader.course_records"),
    "the bridge imports the command's module": ("autograder.nbgrader.bridge", "autograder.grade"),
    "the package imports the demo": ("autograder.grade", "autograder.dev.examples"),
}


@pytest.mark.parametrize("rule", BROKEN)
def test_each_rule_fails_on_an_import_that_breaks_it(rule):
    module, target = BROKEN[rule]
    graph = import_graph()
    assert target not in graph[module]
    graph[module] = graph[module] | {target}
    assert [v for v in violations(graph) if v.startswith(module)], rule


def test_nbgrader_metadata_read_outside_its_room_is_a_violation():
    assert violations({}, {"autograder.submission": "x_hidden_tests", "autograder.cells": "nbgrader"}) == [
        "autograder.cells is the core and reads nbgrader's metadata (autograder.nbgrader.layout does)",
        "autograder.submission writes the grade cell's id (autograder.nbgrader.layout owns it)",
    ]
