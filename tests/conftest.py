"""Shared helpers of the project's tests, and the tiers: ``tests/unit`` is the fast tier, the rest is slow.

A test in ``tests/unit`` starts no process (its conftest refuses one); every test outside it runs
real processes (the sandbox, nbgrader, notebooks, the command) and is marked ``slow`` here, by its
folder: ``make test-fast`` runs ``tests/unit``, ``pytest -m "not slow"`` selects the same tests.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = Path(__file__).resolve().parent / "unit"


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if UNIT not in item.path.parents:
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def demo_course(tmp_path_factory) -> tuple[Path, str]:
    """``make demo``, run once for the session (the real command): its course folder and what it printed.

    Its students (``autograder.dev.demo.students``): ada hands in the reference, barbara solutions
    written differently, grace a mistake in each part, linus the notebooks as released, mallory an
    attack on the gradebook in smoother and the rest as released.
    """
    course = tmp_path_factory.mktemp("demo") / "demo-course"
    done = subprocess.run(
        [sys.executable, "-m", "autograder.dev.demo", str(course)], capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return course, done.stdout
