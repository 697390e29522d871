"""A regrade that fails, is killed or is given a misspelt option leaves the earlier results as they were.

Real ``nbgrader autograde --force`` runs in a real course: the earlier autograded notebooks, the
records (the gradebook's ``autograder_record`` table) and the gradebook entries are compared byte for byte (and score
for score) before and after. A preprocessor of the test's own, after nbgrader's ``SaveAutoGrades``,
stops the regrade of bob's second notebook, once his first one has been graded and saved again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.dev.classroom import nbgrader
from autograder.dev.examples import notebook, reference_code
from autograder.nbgrader.course import init

pytestmark = pytest.mark.slow

ASSIGNMENT = "attention"
PARTS = ("smoother", "vocab")

# A preprocessor after SaveAutoGrades: on bob's vocab (his second notebook), do what boom.txt says.
BOOM = """
from nbgrader.preprocessors import NbGraderPreprocessor as _Base


class Boom(_Base):
    def preprocess(self, nb, resources):
        import os, pathlib, time
        info = resources["nbgrader"]
        order = pathlib.Path("boom.txt")
        if info["student"] == "bob" and info["notebook"] == "vocab" and order.exists():
            if order.read_text() == "wait":
                pathlib.Path("reached.txt").write_text(str(os.getpid()))
                while True:
                    time.sleep(1)
            raise RuntimeError("boom")
        return nb, resources


c.Autograde.autograde_preprocessors = list(c.Autograde.autograde_preprocessors) + [Boom]
"""

WRONG_SMOOTHER = """
import torch
import torch.nn.functional as F


def gaussian_kernel(size, sigma=1.0):
    return torch.ones(size) / size


def smooth(signal, kernel):
    return F.conv1d(signal.reshape(1, 1, -1), kernel.flip(0).reshape(1, 1, -1)).reshape(-1)
"""


def hand_in(course: Path, student: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for part, nb in notebooks.items():
        nbformat.write(nb, folder / f"{part}.ipynb")


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def state(course: Path) -> dict:
    """What a regrade may not lose: bob's autograded notebooks, the records, the gradebook's entries."""
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        entries = {}
        for student in ("alice", "bob"):
            sub = gb.find_submission(ASSIGNMENT, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    entries[(student, nb.name, grade.name)] = (grade.auto_score, grade.manual_score)
                for comment in nb.comments:
                    entries[(student, nb.name, comment.name)] = comment.auto_comment
        rows = gb.db.execute(text("SELECT assignment, student, notebook, score, record FROM autograder_record"))
        records = sorted(tuple(row) for row in rows)
    assert len(records) == 2 * len(PARTS)
    return {
        "autograded": files(course / "autograded" / "bob"),
        "records": records,
        "gradebook": entries,
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory, generate):
    root = tmp_path_factory.mktemp("course")
    init(directory=root)
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + BOOM)
    generate(root)
    hand_in(root, "alice", {p: notebook(p, reference_code(p)) for p in PARTS})
    hand_in(
        root,
        "bob",
        {"smoother": notebook("smoother", WRONG_SMOOTHER), "vocab": notebook("vocab", reference_code("vocab"))},
    )
    nbgrader(root, "autograde", ASSIGNMENT)
    # bob hands in a right smoother: a regrade that went through would change his score
    hand_in(root, "bob", {"smoother": notebook("smoother", reference_code("smoother"))})
    return root


def smoother_score(course: Path) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        return gb.find_submission_notebook("smoother", ASSIGNMENT, "bob").score


def test_a_misspelt_option_stops_before_anything_is_removed(course):
    before = state(course)
    done = nbgrader(course, "autograde", ASSIGNMENT, "--force", "--HiddenSuites.sandbx=none", ok=False)
    assert done.returncode != 0
    assert "unknown option c.HiddenSuites.sandbx" in done.stderr
    assert "Traceback" not in done.stderr
    assert state(course) == before


def test_a_regrade_that_fails_midway_keeps_the_earlier_results(course):
    before = state(course)
    assert smoother_score(course) < 10
    (course / "boom.txt").write_text("raise")
    try:
        done = nbgrader(course, "autograde", ASSIGNMENT, "--force", "--student", "bob", ok=False)
    finally:
        (course / "boom.txt").unlink()
    assert done.returncode != 0
    assert "boom" in done.stderr
    assert "its earlier results are kept" in done.stderr
    assert state(course) == before  # bob's smoother was graded and saved again, then put back
    assert not list((course / "autograder-regrade").glob("*/*"))


def test_a_regrade_killed_midway_is_put_back_by_the_next_command(course):
    before = state(course)
    (course / "boom.txt").write_text("wait")
    from autograder.nbgrader.notebooks import nbgrader_env

    run = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force", "--student", "bob"],
        cwd=course, env=nbgrader_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the test kills it, its jobs and sandboxes
    )  # fmt: skip
    try:
        while not (course / "reached.txt").exists():  # bob's smoother is graded and saved again by now
            assert run.poll() is None, "the regrade ended before it reached bob's vocab"
            time.sleep(0.5)
        assert smoother_score(course) == 10  # the gradebook holds the new score for now
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        (course / "boom.txt").unlink()
        (course / "reached.txt").unlink(missing_ok=True)
    assert list((course / "autograder-regrade").glob("*/*"))  # the copy is there
    nbgrader(course, "db", "student", "list")  # any nbgrader command of the course puts it back
    assert state(course) == before
    assert not list((course / "autograder-regrade").glob("*/*"))


def test_a_regrade_that_goes_through_replaces_the_results(course):
    nbgrader(course, "autograde", ASSIGNMENT, "--force", "--student", "bob")
    assert smoother_score(course) == 10
    assert not list((course / "autograder-regrade").glob("*/*"))


def test_release_feedback_works_for_a_submission_made_by_hand(course):
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    done = nbgrader(course, "release_feedback", ASSIGNMENT, ok=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "timestamp.txt" not in done.stderr


def test_nbgrader_works_without_the_environments_bin_on_path(course, tmp_path):
    from autograder.nbgrader.notebooks import nbgrader_env

    env = dict(nbgrader_env())
    env["PATH"] = "/usr/bin:/bin"
    fresh = tmp_path / "fresh"
    init(directory=fresh)
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT],
        cwd=fresh, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (fresh / "gradebook.db").exists()


def test_autograde_with_nothing_to_grade_fails_in_one_line(tmp_path, generate):
    course = init(directory=tmp_path / "empty")
    generate(course)
    done = nbgrader(course, "autograde", ASSIGNMENT, ok=False)
    assert done.returncode != 0
    assert "No notebooks were matched by" in done.stderr  # nbgrader says it in one line
    assert "Traceback" not in done.stderr
