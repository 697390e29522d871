"""What the code says, read by the grader without running it: forbidden APIs it names, and reaching
into torch's internals (flagged for a TA's look, never scored).

The sandbox makes the forbidden functions fail, however they are reached; these scans only name
the cause in the report. A submission that does not parse names nothing.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from autograder.sandbox.protocol import forbidden_names

FORBIDDEN = forbidden_names()


def torch_aliases(tree: ast.AST) -> set[str]:
    """Names that refer to torch or one of its modules in this code (the prelude's too)."""
    aliases = {"torch", "nn", "F"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("torch"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            aliases.update(a.asname or a.name for a in node.names)
    return aliases


def forbidden_uses(code: str) -> set[str]:
    """Forbidden APIs the code names: attributes of torch, imports from torch, names in strings."""
    return set(_forbidden_uses(code))


@lru_cache(maxsize=4)  # asked by many checks of one submission: its code is parsed once
def _forbidden_uses(code: str) -> frozenset[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # code that cannot run names nothing
        return frozenset()
    aliases = torch_aliases(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN:
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            found.update(a.name for a in node.names if a.name in FORBIDDEN)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN:
            found.add(node.value)
    return frozenset(found)


#: Attribute paths of torch whose use in student code a TA should see: the internals under the API.
INTERNALS = ("_C", "ops", "_ops", "library", "overrides", "_dynamo", "_refs", "_prims")
#: Calls that run or import code named by a string (flagged when the string is built at run time).
LOOKUPS = ("__import__", "eval", "exec", "compile", "import_module")


def _dotted(node: ast.AST) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def suspicious_uses(code: str) -> list[str]:
    """Why a TA should look at this code: torch internals, switched-off torch function modes, lookups by string."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    aliases = torch_aliases(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            path = _dotted(node)
            if len(path) >= 2 and path[0] in aliases and path[1] in INTERNALS:
                found.add(f"it reaches into torch internals ({'.'.join(path[:2])})")
            if node.attr in ("DisableTorchFunction", "_disabled_torch_function_impl", "DisableTorchFunctionSubclass"):
                found.add(f"it switches torch function modes off ({node.attr})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            module = node.module or ""
            if any(part in INTERNALS for part in module.split(".")[1:2]):
                found.add(f"it imports from torch internals ({module})")
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)) and node.args:
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name == "getattr" and len(node.args) > 1 and not isinstance(node.args[1], ast.Constant):
                if (_dotted(node.args[0]) or [""])[0] in aliases:  # getattr(torch..., <built at run time>)
                    found.add("it looks names up on torch by a string built at run time (getattr)")
            elif name in LOOKUPS and not isinstance(node.args[0], ast.Constant):
                found.add(f"it runs or imports code named by a string built at run time ({name})")
    return sorted(found)
