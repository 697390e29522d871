"""Shared helpers of the project's tests."""

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

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
