"""Shared helpers of the project's tests, and the tiers: ``tests/unit`` is the fast tier, the rest is slow.

A test in ``tests/unit`` starts no process (its conftest refuses one); every test outside it runs
real processes (the sandbox, nbgrader, notebooks, the command) and is marked ``slow`` here, by its
folder: ``make test-fast`` runs ``tests/unit``, ``pytest -m "not slow"`` selects the same tests.

``make test`` runs the tests on two workers (pytest-xdist, ``--dist loadfile``): each file on one worker,
so that its module fixtures are built once; the files that share a session fixture (``SHARED``) on the
same worker, which builds it once (``pytest_xdist_make_scheduler``).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = Path(__file__).resolve().parent / "unit"


#: Files that share a session fixture, with the file whose worker runs them: the graded batch
#: (``graded_batch``), and the demo course (``demo_course``: test_stats.py's last test reads it).
SHARED = {"tests/test_regrade.py": "tests/test_grading.py", "tests/test_stats.py": "tests/test_course.py"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if UNIT not in item.path.parents:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``, a work unit per file, the files of ``SHARED`` in the unit of their fixture's file."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtures(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return SHARED.get(file, file)

    return SharedFixtures(config, log)


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


@pytest.fixture(scope="session")
def graded_batch(tmp_path_factory):
    """The batch of tests/graded_batch.py, graded once for the session (test_grading.py and test_regrade.py)."""
    from tests.graded_batch import grade_batch

    return grade_batch(tmp_path_factory.mktemp("submissions"))


@pytest.fixture(scope="session")
def generate(tmp_path_factory):
    """``generate(course)``: what ``nbgrader generate_assignment`` makes in a fresh course (``release/`` and the
    gradebook with the assignment), copied into ``course`` from a course where the real command ran once for
    the session. (test_notebooks.py and test_nothing_lost.py run the command itself.)"""
    from autograder.dev.classroom import nbgrader
    from autograder.nbgrader.course import init
    from autograder.nbgrader.notebooks import ASSIGNMENT

    template = init(directory=tmp_path_factory.mktemp("generated") / "course")
    before = {p.name for p in template.iterdir()}
    nbgrader(template, "generate_assignment", ASSIGNMENT)
    made = {p.name for p in template.iterdir()} - before
    assert made == {"release", "gradebook.db"}, made  # all that the copy below brings

    def generate(course: Path) -> None:
        assert not (course / "gradebook.db").exists(), course
        shutil.copytree(template / "release", course / "release")
        shutil.copy2(template / "gradebook.db", course / "gradebook.db")

    return generate
