"""nbgrader's route with its gradebook on PostgreSQL, and two TAs autograding one assignment at once.

A real PostgreSQL server (``tests.postgres``: ``initdb`` and ``pg_ctl``, as an unprivileged user, on
127.0.0.1 and a free port), a real course whose ``c.CourseDirectory.db_url`` names it: ``nbgrader
autograde``, ``generate_feedback`` and ``export``, ``autograder course export`` and ``autograder
stats`` read and write there; two ``nbgrader autograde`` of different students at the same time lose
and double nothing; a course graded when the records were files is migrated into PostgreSQL.
"""

from __future__ import annotations

import csv

import pytest

from autograder.cli import main
from autograder.dev.classroom import nbgrader
from autograder.nbgrader.course_records import COURSE_RECORDS, save_course_record
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.records import SubmissionRecord
from tests.gradebook_course import PARTS, check_records, hand_in, make_course, rows, two_tas_at_once
from tests.postgres import postgres  # noqa: F401  # the fixture

pytestmark = pytest.mark.slow

FIRST = ["alice", "bob"]


@pytest.fixture(scope="module")
def course(tmp_path_factory, postgres):  # noqa: F811
    db_url = postgres.create_database("course")
    root = make_course(tmp_path_factory.mktemp("postgres-course") / "course", db_url)
    hand_in(root, "alice")
    hand_in(root, "bob", right=False)
    nbgrader(root, "autograde", ASSIGNMENT)
    return root, db_url


def test_nbgrader_and_the_autograder_keep_the_gradebook_in_postgresql(course, tmp_path):
    root, db_url = course
    assert not (root / "gradebook.db").exists()  # nothing went to SQLite
    found = check_records(db_url, FIRST)
    assert len(found) == len(FIRST) * len(PARTS)

    nbgrader(root, "generate_feedback", ASSIGNMENT)
    for student in FIRST:
        for part in PARTS:
            page = (root / "feedback" / student / ASSIGNMENT / f"{part}.html").read_text()
            assert "autograder-report" in page
            assert "check(s) passed" in page

    nbgrader(root, "export", "--to", str(tmp_path / "grades.csv"))
    with (tmp_path / "grades.csv").open(newline="") as f:
        grades = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert set(grades) == set(FIRST)
    assert grades["alice"] > grades["bob"]

    assert main(["course", "export", str(root), "--csv", str(tmp_path / "parts.csv")]) == 0
    with (tmp_path / "parts.csv").open(newline="") as f:
        exported = sorted((row["student"], row["part"]) for row in csv.DictReader(f))
    assert exported == sorted((s, p) for s in FIRST for p in PARTS)
    assert main(["stats", str(root), "--csv", str(tmp_path / "stats.csv")]) == 0
    assert (tmp_path / "stats.csv").read_text().count("\n") > 1


def test_two_tas_autograde_different_students_at_once(course):
    root, db_url = course
    two_tas_at_once(root, db_url, ["hal1", "hal2", "hal3"], ["ivy1", "ivy2", "ivy3"])


def test_a_course_graded_with_file_records_is_migrated_into_postgresql(course, tmp_path):
    from sqlalchemy import create_engine, text

    root, db_url = course
    earlier = rows(db_url)
    for assignment, _student, name, _, data in earlier:
        save_course_record(root, assignment, name, SubmissionRecord.from_json(data))
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE autograder_record"))
        connection.execute(text("DROP TABLE autograder_schema"))
    engine.dispose()
    assert main(["course", "export", str(root), "--csv", str(tmp_path / "parts.csv")]) == 0
    assert rows(db_url) == earlier
    assert not (root / COURSE_RECORDS).exists()
