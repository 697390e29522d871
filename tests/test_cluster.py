"""Grading on a Dask cluster: the real ``dask scheduler`` and two ``dask worker`` processes (one thread
each) on 127.0.0.1, started here and stopped after.

A class of .py submissions (known mistakes of the first two parts) is graded by the local pool
and by the cluster: every record is the same. A worker killed in the middle of a batch (SIGKILL, that
worker's pid alone) costs time, not records, and leaves none of its grading jobs or sandboxes behind.
A submission that kills every worker that grades it ends with a record that says so, and the batch
ends: the fault is a worker's own death, made by a worker preload (``dask_poison``) on that one task.
``nbgrader autograde`` grades on the cluster with ``c.HiddenSuites.cluster``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from distributed import Client

from autograder.cluster import WORKER_DIED
from autograder.dev.classroom import nbgrader
from autograder.dev.corpus import write
from autograder.dev.dask_cluster import local_cluster
from autograder.dev.examples import CORRECT, MISTAKES, notebook, reference_code
from autograder.grade import grade
from autograder.nbgrader.course import init
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS
from tests.survivors import command, descendants, survivors

pytestmark = pytest.mark.slow

CLASS = MISTAKES[::4][:12]  # smoother and vocab, six of each
POISON = 5  # the index of the submission whose every worker dies


def records(report) -> list[dict]:
    return [r.to_json() for r in report.submissions]


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> list[Path]:
    assert len(CLASS) == 12
    assert {e.part for e in CLASS} == {"smoother", "vocab"}
    return write(CLASS, tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="module")
def local(paths) -> list[dict]:
    return records(grade(submissions=paths, jobs=2, progress=False))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers for the module: the first test grades on it fresh, then kills a worker
    (its nanny starts another); nbgrader's test grades on it after."""
    with local_cluster(tmp_path_factory.mktemp("cluster"), 2) as cluster:
        yield cluster


def test_the_cluster_grades_as_the_local_pool_and_a_killed_worker_costs_no_record(
    tmp_path, paths, local, cluster, bwrap
):
    first = grade(submissions=paths, cluster=cluster.address, json_path=tmp_path / "first.json", progress=False)
    assert records(first) == local
    assert first.environment["cluster"] == cluster.address
    assert first.environment["sandbox"] == "bubblewrap"

    # again, warm, and a worker that grades killed once three records are in
    pids = cluster.worker_pids()
    seen: dict[int, str] = {}
    started: list[str] = []
    kept: list[str] = []

    def on_record(record) -> None:
        kept.append(record.path)
        if len(kept) == 3:
            with Client(cluster.address, set_as_default=False) as client:
                busy = [address for address, keys in client.processing().items() if keys]
            victim = pids[(busy or list(pids))[0]]
            seen.update(descendants(victim))  # its grading jobs and their sandboxes
            started.extend(command(pid) for pid in seen)
            os.kill(victim, signal.SIGKILL)

    second = grade(submissions=paths, cluster=cluster.address, json_path=tmp_path / "second.json",
                   force=True, progress=False, on_record=on_record)  # fmt: skip
    assert records(second) == local
    assert sorted(kept) == sorted(map(str, paths))  # each record kept once: none lost, none twice
    assert "multiprocessing.spawn" in " ".join(started)  # the worker had its grading job
    assert "sandbox.inside" in " ".join(started)  # and its sandbox
    assert survivors(seen, marker=None) == {}  # none of them outlives the worker


def test_a_submission_that_kills_every_worker_ends_with_a_record(tmp_path, paths, local, bwrap):
    env = {
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",  # two tries
        "AUTOGRADER_TEST_POISON": str(POISON),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    }
    with local_cluster(tmp_path / "cluster", 2, env=env, preload="dask_poison") as cluster:
        report = grade(submissions=paths, cluster=cluster.address, json_path=tmp_path / "out.json", progress=False)
    got = records(report)
    assert [r for i, r in enumerate(got) if i != POISON] == [r for i, r in enumerate(local) if i != POISON]
    assert got[POISON]["grader_error"] == WORKER_DIED
    assert got[POISON]["score"] == 0
    saved = json.loads((tmp_path / "out.json").read_text())
    assert len(saved["submissions"]) == len(paths)


def test_grade_without_cluster_does_not_import_dask(tmp_path):
    code = (
        "import sys; from autograder.grade import grade\n"
        f"report = grade(submissions=[{str(tmp_path / 'x.py')!r}], progress=False)\n"
        "assert report.submissions[0].score > 0, report.submissions[0]\n"
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules, 'dask imported'\n"
    )
    (tmp_path / "x.py").write_text(CORRECT[0].code)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def test_nbgrader_autograde_grades_on_the_cluster(tmp_path, bwrap, generate, cluster):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    init(directory=course)
    generate(course)
    buggy = next(m for m in MISTAKES if m.part == "smoother")
    handed = {
        "alice": {p: notebook(p, reference_code(p)) for p in PARTS},
        "bob": {p: notebook(p, buggy.code if p == "smoother" else reference_code(p)) for p in PARTS},
    }
    for student, notebooks in handed.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for part, nb in notebooks.items():
            nbformat.write(nb, folder / f"{part}.ipynb")
    expected = grade(submissions=[course / "submitted" / "bob" / ASSIGNMENT / "smoother.ipynb"], progress=False)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f"c.HiddenSuites.cluster = {cluster.address!r}\n")
    nbgrader(course, "autograde", ASSIGNMENT)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        got = {s: {p: gb.find_submission_notebook(p, ASSIGNMENT, s).score for p in PARTS} for s in handed}
    assert got["alice"] == dict.fromkeys(PARTS, 10.0)
    assert got["bob"] == {**dict.fromkeys(PARTS, 10.0), "smoother": expected.submissions[0].score}
    assert expected.submissions[0].score < 10.0
