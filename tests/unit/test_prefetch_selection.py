"""Does the bridge prefetch only the notebooks nbgrader will grade, and survive any it cannot read?"""

import logging
from pathlib import Path

import nbformat
from traitlets.config import Config

from autograder.dev.examples import notebook, reference_code
from autograder.jobs import Pool
from autograder.nbgrader.bridge import HiddenSuites


class Recorder:
    """A Session that records what is submitted to it."""

    def __init__(self, pool=None):
        self.submitted = []
        self.prefetched = False
        self.pool = pool

    def submit(self, path, code, part):
        self.submitted.append((path, part))


def course(tmp_path, create_student=True):
    for name in ("smoother", "vocab"):
        (tmp_path / "source" / "attention").mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook(name, ""), tmp_path / "source" / "attention" / f"{name}.ipynb")
    for student in ("ann", "ben", "zoe"):
        folder = tmp_path / "submitted" / student / "attention"
        folder.mkdir(parents=True)
        nbformat.write(notebook("smoother", reference_code("smoother")), folder / "smoother.ipynb")
    ben = tmp_path / "submitted" / "ben" / "attention"
    (ben / "vocab.ipynb").write_text("[" * 100_000)  # a crafted file: JSON nested beyond the parser
    for i in range(50):  # extra notebooks: never read
        nbformat.write(notebook("smoother", reference_code("smoother")), ben / f"extra{i}.ipynb")
    c = Config()
    c.CourseDirectory.root = str(tmp_path)
    c.CourseDirectory.course_id = "attention"
    c.Autograde.create_student = create_student
    return HiddenSuites(config=c)


def test_only_the_assignments_notebooks_are_prefetched_and_a_bad_one_is_skipped(tmp_path, caplog):
    suites, session = course(tmp_path), Recorder()
    with caplog.at_level(logging.WARNING):
        suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
    root = tmp_path / "submitted"
    assert session.submitted == [
        (str(root / s / "attention" / "smoother.ipynb"), "smoother") for s in ("ann", "ben", "zoe")
    ]
    assert session.prefetched is True


def test_a_course_that_cannot_be_read_costs_only_the_prefetch(tmp_path, caplog):
    suites, session = course(tmp_path, create_student=False), Recorder()
    (tmp_path / "gradebook.db").write_text("not a database")
    with caplog.at_level(logging.WARNING):
        suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
    assert session.submitted == []
    assert session.prefetched is True
    assert "autograder: no prefetch (DatabaseError" in caplog.text


def unstarted_pool(jobs: int) -> Pool:
    """A Pool as the session holds it before its first submission, without its queues (no process here)."""
    pool = Pool.__new__(Pool)
    pool.jobs, pool.processes = jobs, {}
    return pool


def test_one_students_few_notebooks_get_one_job_as_grade_gives_them(tmp_path):
    """A regrade of one student (here four notebooks in all): a second job would cost as much start-up again."""
    suites, session = course(tmp_path), Recorder(unstarted_pool(2))
    suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
    assert session.pool.jobs == 1
    suites.jobs, session = 2, Recorder(unstarted_pool(2))  # the course's c.HiddenSuites.jobs is kept
    suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
    assert session.pool.jobs == 2


def test_students_nbgrader_skips_are_not_prefetched(tmp_path):
    """nbgrader skips a student already autograded (unless --force, or handed in again since), and those its
    ``student_id_exclude`` names: grading them would be work no one reads."""
    suites = course(tmp_path)
    done = tmp_path / "autograded" / "ann" / "attention"
    done.mkdir(parents=True)
    (done / "smoother.ipynb").write_text("{}")
    (done / "timestamp.txt").write_text("2026-12-01 09:00:00.000000 UTC")
    root = tmp_path / "submitted"

    def prefetched(**config) -> list[str]:
        for key, value in config.items():
            setattr(suites.config[key.split("_", 1)[0]], key.split("_", 1)[1], value)
        session = Recorder()
        suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
        return [str(Path(path).relative_to(root).parts[0]) for path, _ in session.submitted]

    assert prefetched() == ["ben", "zoe"]
    (root / "ann" / "attention" / "timestamp.txt").write_text("2026-12-02 09:00:00.000000 UTC")  # handed in again
    assert prefetched() == ["ann", "ben", "zoe"]
    (root / "ann" / "attention" / "timestamp.txt").write_text("2026-11-30 09:00:00.000000 UTC")
    assert prefetched() == ["ben", "zoe"]
    assert prefetched(BaseConverter_force=True) == ["ann", "ben", "zoe"]  # nbgrader autograde --force
    assert prefetched(CourseDirectory_student_id_exclude="ben,zoe") == ["ann"]  # (--force still)
