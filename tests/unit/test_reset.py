"""Does the zygote's reset leave a scratch directory as new, whatever a child left there, without following links?

These run the reset's code on real directories of the test's own, outside any sandbox; the
sandboxed runs are in test_isolation.py.
"""

import json
import os

from autograder.journal import previous_records
from autograder.records import SubmissionRecord
from autograder.sandbox.inside.reset import Reset, empty


def tree(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_empty_removes_files_fifos_links_and_locked_trees_but_not_what_links_point_to(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the child's")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "work").write_text("a file in place of the work directory")
    os.mkfifo(scratch / "fifo")
    os.symlink(outside, scratch / "link-to-a-directory")
    os.symlink(outside / "keep.txt", scratch / "link-to-a-file")
    (scratch / "locked" / "deeper").mkdir(parents=True)
    (scratch / "locked" / "deeper" / "file").write_text("x")
    os.chmod(scratch / "locked" / "deeper", 0)
    os.chmod(scratch / "locked", 0)
    empty(str(scratch))
    assert os.listdir(scratch) == []
    assert tree(outside) == ["keep.txt"]


def test_empty_removes_a_tree_deeper_than_any_path(tmp_path):
    deep = os.open(tmp_path, os.O_RDONLY)
    for _ in range(2500):  # 5000 characters of path: more than PATH_MAX
        os.mkdir("d", dir_fd=deep)
        inner = os.open("d", os.O_RDONLY, dir_fd=deep)
        os.close(deep)
        deep = inner
    os.close(deep)
    empty(str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_empty_keeps_the_names_it_is_told_to(tmp_path):
    (tmp_path / "mount-point").mkdir()
    (tmp_path / "left").write_text("x")
    empty(str(tmp_path), keep=frozenset({"mount-point"}))
    assert os.listdir(tmp_path) == ["mount-point"]


def test_a_reset_makes_the_work_directory_afresh_and_the_check_passes(tmp_path):
    reset = Reset(str(tmp_path / "work"), isolated=False, own_uid=False)
    reset.start()
    assert reset.check([]) == ""
    os.rmdir(tmp_path / "work")
    os.symlink("/", tmp_path / "work")
    assert reset.check([]) == f"the work directory {tmp_path / 'work'} is not an empty directory of ours"
    reset.reset()
    assert os.path.isdir(tmp_path / "work")
    assert not os.path.islink(tmp_path / "work")
    assert reset.check([]) == ""


def test_the_check_names_what_an_earlier_child_left(tmp_path):
    reset = Reset(str(tmp_path / "work"), isolated=False, own_uid=False)
    reset.start()
    (tmp_path / "work" / "left.txt").write_text("x")
    assert reset.check([]) == f"the work directory {tmp_path / 'work'} is not empty"
    (tmp_path / "work" / "left.txt").unlink()
    (tmp_path / "beside").write_text("x")
    assert reset.check([]) == f"{tmp_path} still holds 1 entries of an earlier child"
    assert reset.check([12345]) == "1 process(es) of an earlier child are still running"


def test_resume_grades_again_what_the_grader_failed(tmp_path):
    json_path = tmp_path / "report.json"
    graded = {"path": "a.py", "sha256": "1", "score": 10.0, "max_score": 10.0, "parts": []}
    failed = {"path": "b.py", "sha256": "2", "score": 0.0, "max_score": 10.0, "parts": [], "grader_error": "it broke"}
    json_path.write_text(json.dumps({"environment": {}, "submissions": [graded, failed]}))
    assert previous_records(json_path) == {("a.py", "1"): SubmissionRecord.from_json(graded)}
