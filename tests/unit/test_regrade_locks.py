"""A regrade's copy is put back only by a process that holds its student's lock: two autogrades of one
course (TAs grading different students) never put back each other's copies. A second ``Backup`` of the
same student in this process stands for the other process (``flock`` locks belong to an open file)."""

import json

from autograder.nbgrader.course_records import path_component
from autograder.nbgrader.regrade import REGRADE, Backup, leftovers, recover


def copy(root, assignment: str, student: str, *, complete: bool = True):
    folder = root / REGRADE / path_component(assignment) / path_component(student)
    folder.mkdir(parents=True)
    if complete:
        (folder / "backup.json").write_text(json.dumps({"assignment": assignment, "student": student}))
    return folder


def test_a_copy_whose_student_is_being_graded_is_left_to_its_process(tmp_path):
    copy(tmp_path, "a1", "ada")
    copy(tmp_path, "a1", "a.b")
    grading = Backup(tmp_path, "a1", "ada")
    assert grading.hold()
    found = leftovers(tmp_path)
    assert [(b.assignment, b.student) for b in found] == [("a1", "a.b")]  # ada's is another process's
    assert not Backup(tmp_path, "a1", "a.b").hold(wait=False)  # held by the one that will put it back
    found[0].release()
    grading.release()
    found = leftovers(tmp_path)
    assert sorted(b.student for b in found) == ["a.b", "ada"]
    for backup in found:
        backup.release()


def test_a_copy_cut_short_is_removed_only_when_nobody_writes_it(tmp_path):
    folder = copy(tmp_path, "a1", "x\ny", complete=False)
    writing = Backup(tmp_path, "a1", "x\ny")
    assert writing.hold()
    assert recover(tmp_path) == []
    assert folder.is_dir()  # still being written
    writing.release()
    assert recover(tmp_path) == []
    assert not folder.exists()
    assert not list((tmp_path / REGRADE).glob("*/*"))  # the locks are beside the copies, not among them
