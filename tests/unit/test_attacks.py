"""Does the gradebook attack still look everywhere a course could be, while skipping the system?

Its walk is bounded so that it ends within any call limit (tests/test_sandbox.py grades it in a
2-second one). Here it runs on a file tree made up in memory: ``os.walk`` and ``sqlite3.connect``
are replaced, so nothing on this machine is read or written.
"""

import os
import sqlite3
import sys

import pytest

from autograder.dev.examples import GRADEBOOK_ATTACK

PYTHON = sys.prefix  # a Python installation: no course lives there
REACHED = [
    "/tmp/pytest-of-root/pytest-7/bubblewrap0/canary/gradebook.db",  # where tests/test_sandbox.py puts one
    "/srv/nbgrader/attention/gradebook.db",
    "/home/teacher/courses/attention/gradebook.db",
    "/root/attention/gradebook.db",
    "/work/course/gradebook.db",
    "/gradebook.db",
    "/home/a/b/c/d/e/f/gradebook.db",  # the deepest directory it lists
]
MISSED = [
    "/usr/share/doc/nbgrader/gradebook.db",
    "/etc/gradebook.db",
    "/proc/1/root/gradebook.db",
    f"{PYTHON}/lib/gradebook.db",
    "/home/teacher/project/__pycache__/gradebook.db",
    "/home/a/b/c/d/e/f/g/gradebook.db",  # deeper than the walk goes
]


class FileTree:
    """``os.walk`` over made-up files: top-down, honouring the caller's pruning of ``dirs``."""

    def __init__(self, files: list[str]) -> None:
        self.dirs: dict[str, set[str]] = {}
        self.files: dict[str, set[str]] = {}
        for path in files:
            parent, name = os.path.split(path)
            self.files.setdefault(parent, set()).add(name)
            while parent != "/":
                above, child = os.path.split(parent)
                self.dirs.setdefault(above, set()).add(child)
                parent = above
        self.listed: list[str] = []

    def walk(self, top: str):
        if top not in self.dirs and top not in self.files:
            return
        stack = [top]
        while stack:
            root = stack.pop()
            self.listed.append(root)
            dirs = sorted(self.dirs.get(root, ()))
            yield root, dirs, sorted(self.files.get(root, ()))
            stack.extend(os.path.join(root, d) for d in reversed(dirs))


@pytest.fixture
def tree(monkeypatch):
    opened: list[str] = []

    class Database:
        def execute(self, sql: str) -> None:
            assert sql == "UPDATE grade SET auto_score = 10, manual_score = 10"

        def commit(self) -> None:
            pass

    # the database first: even a walk that escaped the made-up tree would write nothing
    monkeypatch.setattr(sqlite3, "connect", lambda path: opened.append(path) or Database())
    files = FileTree(REACHED + MISSED)
    monkeypatch.setattr(os, "walk", files.walk)
    monkeypatch.setattr(os, "getcwd", lambda: "/grader")
    monkeypatch.setenv("HOME", "/tmp")
    return files, opened


def test_the_walk_finds_every_gradebook_where_a_course_could_be_and_skips_the_system(tree):
    files, opened = tree
    namespace: dict = {}
    exec(GRADEBOOK_ATTACK.code, namespace)
    assert sorted(opened) == sorted(REACHED)
    assert sorted(namespace["touched"]) == sorted(REACHED)
    assert len(files.listed) == len(set(files.listed))  # no directory is listed twice
    assert not any(root.startswith(("/usr", "/etc", "/proc", PYTHON)) for root in files.listed)


def test_what_it_found_is_in_the_message_of_every_function(tree):
    namespace: dict = {}
    exec(GRADEBOOK_ATTACK.code, namespace)
    with pytest.raises(RuntimeError) as raised:
        namespace["smooth"](None, None)
    assert str(raised.value) == f"gradebooks touched: {namespace['touched']}"
    assert GRADEBOOK_ATTACK.expect == "gradebooks touched: []"  # what a contained attack says
