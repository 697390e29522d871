"""Shared helpers of the project's tests."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def nbgrader(course: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """The real ``nbgrader`` command in ``course``, from this environment; it must succeed unless not ``ok``."""
    from autograder.nbgrader.notebooks import nbgrader_env

    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=nbgrader_env(), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


#: The smoother functions of an attack file: each call runs the file's ``attack()``.
ATTACK_FUNCTIONS = """

def gaussian_kernel(size, sigma=1.0):
    return attack()


def smooth(signal, kernel):
    return attack()
"""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.fixture(scope="session")
def bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        pytest.fail("bubblewrap is not installed: `make test` installs it (apt-get install bubblewrap)")
    return path
