"""The records nbgrader's autograde keeps next to the gradebook: saved, replaced, read back."""

from autograder.nbgrader.course_records import COURSE_RECORDS, course_records, save_course_record
from autograder.records import Check, PartResult, SubmissionRecord


def record(student: str, score: float) -> SubmissionRecord:
    check = Check("matches", "matches the reference", passed=score > 0, points=score, max_points=10)
    part = PartResult("vocab", [check], figures=[{"title": "t", "png": "AAAA"}])
    return SubmissionRecord(f"{student}/a1/vocab.ipynb", wanted=["vocab"], parts=[part], student=student)


def test_records_are_kept_per_assignment_student_and_notebook(tmp_path):
    save_course_record(tmp_path, "a1", "vocab", record("ada", 10))
    save_course_record(tmp_path, "a1", "vocab", record("bob", 0))
    save_course_record(tmp_path, "a1", "vocab", record("bob", 4))  # graded again: replaced
    save_course_record(tmp_path, "a2", "vocab", record("ada", 7))
    found = course_records(tmp_path, "a1")
    assert [(r.student, r.score) for r in found] == [("ada", 10), ("bob", 4)]
    assert all(not p.figures for r in found for p in r.parts)  # the pictures stay in the feedback
    assert len(course_records(tmp_path)) == 3
    assert sorted(p.name for p in (tmp_path / COURSE_RECORDS).iterdir()) == ["a1", "a2"]


def test_names_cannot_leave_the_records_folder(tmp_path):
    saved = save_course_record(tmp_path, "../../etc", "../passwd", record("../x", 1))
    assert (tmp_path / COURSE_RECORDS) in saved.parents
