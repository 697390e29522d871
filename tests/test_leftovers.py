"""A grader killed outright (SIGKILL) leaves no process behind: its jobs, their sandboxes, the resource tracker.

Each test starts the real command in the background with a marker of its own (a unique ``TMPDIR``,
which every sandbox's command line names, and an environment variable), waits until it is grading
(records written), takes the ancestry of the process it started, kills that one process with
SIGKILL, and looks for survivors: a descendant it saw, or any process with its marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder.dev.corpus import write
from autograder.dev.examples import CORRECT, notebook, reference_code
from autograder.nbgrader.course import init
from autograder.nbgrader.notebooks import ASSIGNMENT, nbgrader_env
from autograder.parts import PARTS
from tests.survivors import command, descendants, survivors

pytestmark = pytest.mark.slow

#: Bound on the wait for the grader to be grading (sandboxes start in seconds; a loaded machine is slow).
START_S = 600.0


def marked_env(tmp: Path, marker: str) -> dict[str, str]:
    (tmp / "tmp").mkdir()
    return {**nbgrader_env(), "TMPDIR": str(tmp / "tmp"), "AUTOGRADER_TEST_MARKER": marker}


def wait_for(grader: subprocess.Popen, ready) -> None:
    deadline = time.monotonic() + START_S
    while not ready():
        assert grader.poll() is None, "the grader ended before it was killed"
        assert time.monotonic() < deadline, "the grader did not start grading"
        time.sleep(0.2)


def commands(pid: int) -> str:
    """The command lines of ``pid``'s descendants."""
    return " ".join(command(child) for child in descendants(pid))


def kill_and_look(grader: subprocess.Popen, marker: str) -> dict[int, str]:
    """SIGKILL the grader (that pid alone) once its jobs and sandboxes run; its processes that outlive it."""
    seen = descendants(grader.pid)
    started = " ".join(command(pid) for pid in seen)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    left = survivors(seen, marker)
    # what the grader had started when it was killed: a resource tracker, the jobs, their sandboxes
    assert "resource_tracker" in started
    assert started.count("multiprocessing.spawn") >= 2
    assert started.count("sandbox.inside") >= 2
    return left


def test_a_grade_killed_mid_batch_leaves_nothing(tmp_path, bwrap):
    marker = f"autograder-kill-{uuid.uuid4().hex}"
    subs = tmp_path / "subs"
    subs.mkdir()
    paths = write(CORRECT * 4, subs)
    assert len(paths) >= 24
    out = tmp_path / "out.json"
    grader = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--json", str(out), "--jobs", "2"],
        env=marked_env(tmp_path, marker), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    journal = out.with_name(out.name + ".journal")
    try:
        wait_for(grader, lambda: journal.exists() and journal.read_text().count("\n") >= 2)
        left = kill_and_look(grader, marker)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert left == {}


def test_nbgrader_autograde_killed_mid_batch_leaves_nothing(tmp_path, bwrap, generate):
    marker = f"autograder-kill-{uuid.uuid4().hex}"
    course = tmp_path / "course"
    init(directory=course)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "c.HiddenSuites.jobs = 2\n")
    generate(course)
    students = [f"s{i:02d}" for i in range(6)]
    for student in students:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for part in PARTS:
            nbformat.write(notebook(part, reference_code(part)), folder / f"{part}.ipynb")
    grader = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=course,
        env=marked_env(tmp_path, marker), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:  # grading: both jobs have their sandbox's zygote (the first notebook starts them all: the prefetch)
        wait_for(grader, lambda: commands(grader.pid).count("sandbox.inside") >= 2)
        left = kill_and_look(grader, marker)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert left == {}
