"""The prefetch of an nbgrader run that does not create students: a real gradebook (nbgrader runs alembic)."""

from autograder.nbgrader.notebooks import nbgrader_env
from tests.unit.test_prefetch_selection import Recorder, course


def test_without_creating_students_only_those_in_the_gradebook_are_prefetched(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader runs alembic to create a gradebook
    suites = course(tmp_path, create_student=False)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "attention") as gb:
        gb.add_student("zoe")
    session = Recorder()
    suites.prefetch_all(session, {"nbgrader": {"assignment": "attention"}})
    assert session.submitted == [(str(tmp_path / "submitted" / "zoe" / "attention" / "smoother.ipynb"), "smoother")]
