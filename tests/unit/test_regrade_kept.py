"""``autograder grade --force`` cut short keeps, in its report, the earlier record of every file it did not grade again.

The jobs are the stand-in runner of ``test_grade``: no process is started here.
"""

import json

import pytest

from autograder.grade import grade
from autograder.journal import journal_path
from tests.unit.test_grade import Runner, found, submissions


def saved(path) -> dict[str, float]:
    return {r["path"].rsplit("/", 1)[-1]: r["score"] for r in json.loads(path.read_text())["submissions"]}


def test_an_interrupted_forced_regrade_keeps_the_earlier_records(tmp_path):
    paths = submissions(tmp_path, a=1, b=2, c=3)
    out = tmp_path / "out.json"
    grade(submissions=paths, json_path=out, runner=Runner(), detect=found, progress=False)
    assert saved(out) == {"a.py": 1, "b.py": 2, "c.py": 3}
    submissions(tmp_path, a=5, b=6, c=7)  # the files change; a forced regrade is cut short after one
    with pytest.raises(KeyboardInterrupt):
        grade(submissions=paths, json_path=out, force=True, runner=Runner(stop_after=1), detect=found, progress=False)
    assert saved(out) == {"a.py": 5, "b.py": 2, "c.py": 3}  # a graded again; b and c as they were
    assert journal_path(out).exists()
    grade(submissions=paths, json_path=out, force=True, runner=Runner(), detect=found, progress=False)
    assert saved(out) == {"a.py": 5, "b.py": 6, "c.py": 7}
    assert not journal_path(out).exists()


def test_a_forced_regrade_keeps_an_earlier_journal_until_it_is_done(tmp_path):
    paths = submissions(tmp_path, a=1, b=2)
    out = tmp_path / "out.json"
    with pytest.raises(KeyboardInterrupt):
        grade(submissions=paths, json_path=out, runner=Runner(stop_after=1), detect=found, progress=False)
    lines = journal_path(out).read_text().splitlines()
    with pytest.raises(KeyboardInterrupt):
        grade(submissions=paths, json_path=out, force=True, runner=Runner(stop_after=0), detect=found, progress=False)
    assert journal_path(out).read_text().splitlines() == lines  # not emptied by --force
    assert saved(out) == {"a.py": 1}
