"""The records of ``nbgrader autograde`` live in the course's gradebook database (SQLite here), in the package's tables.

Real courses, real ``nbgrader autograde``: each notebook's record is written in one transaction with
nbgrader's score of it (a record that cannot be written leaves no score, and a score that cannot be
written leaves no record), ``autograder course export`` and ``stats`` read them there, a course made
with file records is migrated on first use, and two autogrades at once lose and double nothing.
"""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import create_engine, text

from autograder.cli import main
from autograder.dev.classroom import nbgrader
from autograder.nbgrader.course_records import COURSE_RECORDS, course_records, save_course_record
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.nbgrader.records_db import MIGRATED, SCHEMA_VERSION
from autograder.records import SubmissionRecord
from tests.gradebook_course import (
    PARTS,
    check_records,
    db_url_of,
    hand_in,
    make_course,
    nbgrader_scores,
    rows,
    two_tas_at_once,
)

pytestmark = pytest.mark.slow

FIRST = ["alice", "bob"]


def execute(db_url: str, *statements: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def course(tmp_path_factory, generate):
    root = make_course(tmp_path_factory.mktemp("gradebook") / "course", generate=generate)
    hand_in(root, "alice")
    hand_in(root, "bob", right=False)
    nbgrader(root, "autograde", ASSIGNMENT)
    return root


def exported(course, tmp_path, name: str) -> list[dict]:
    out = tmp_path / name
    assert main(["course", "export", str(course), "--csv", str(out)]) == 0
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


def test_each_record_is_in_the_gradebook_with_its_score(course, tmp_path):
    db_url = db_url_of(course)
    found = check_records(db_url, FIRST)
    assert {(s, n): score for _, s, n, score, _ in found}[("bob", "smoother")] < found[0][3]
    assert not (course / COURSE_RECORDS).exists()  # no file records any more
    engine = create_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM autograder_schema")).scalar() == SCHEMA_VERSION
    engine.dispose()
    records = course_records(course)
    assert sorted((r.student, r.path, r.score) for r in records) == sorted(
        (s, f"{s}/{ASSIGNMENT}/{n}.ipynb", score) for _, s, n, score, _ in found
    )
    table = exported(course, tmp_path, "parts.csv")
    assert sorted(row["student"] for row in table) == sorted(FIRST * len(PARTS))
    assert main(["stats", str(course), "--csv", str(tmp_path / "stats.csv")]) == 0


def test_a_record_or_a_score_that_cannot_be_written_leaves_neither(course):
    """dora's record is refused by the database, erin's score is: neither gets the other; the rest is untouched.

    dora's score is written first in the transaction (nbgrader's order: the scores, then the record), and
    is rolled back when her record is refused."""
    db_url = db_url_of(course)
    before = rows(db_url)
    hand_in(course, "dora")
    hand_in(course, "erin")
    execute(
        db_url,
        "CREATE TRIGGER no_dora BEFORE INSERT ON autograder_record WHEN NEW.student = 'dora' "
        "BEGIN SELECT RAISE(ABORT, 'no record for dora'); END",
        # her smoother's score (nbgrader gives the notebooks she did not hand in their 0 before grading)
        "CREATE TRIGGER no_erin BEFORE UPDATE OF auto_score ON grade WHEN (SELECT s.student_id || '/' || b.name "
        "FROM submitted_notebook n JOIN submitted_assignment s ON n.assignment_id = s.id "
        "JOIN notebook b ON n.notebook_id = b.id WHERE n.id = NEW.notebook_id) = 'erin/smoother' "
        "BEGIN SELECT RAISE(ABORT, 'no score for erin'); END",
    )
    try:
        done = nbgrader(course, "autograde", ASSIGNMENT, ok=False)
    finally:
        execute(db_url, "DROP TRIGGER no_dora", "DROP TRIGGER no_erin")
    assert done.returncode != 0
    assert "no record for dora" in done.stderr
    assert "no score for erin" in done.stderr
    scores = nbgrader_scores(db_url)
    assert all(scores.get((s, n)) is None for s in ("dora", "erin") for n in PARTS)  # no score
    assert rows(db_url) == before  # no record: theirs, and nobody else's changed
    done = nbgrader(course, "autograde", ASSIGNMENT)  # the database takes them now
    check_records(db_url, [*FIRST, "dora", "erin"])


def test_two_autogrades_at_once_lose_and_double_nothing_on_sqlite(course):
    two_tas_at_once(course, db_url_of(course), ["fay1", "fay2"], ["gus1", "gus2"])


def test_a_course_with_file_records_is_migrated_on_first_use(course, tmp_path):
    """As a course graded before the database: the records as files, no tables of the package. The
    first ``course export`` moves them into the gradebook (the files are kept aside), and so does the
    first ``nbgrader autograde``."""
    db_url = db_url_of(course)
    table = exported(course, tmp_path, "before.csv")
    earlier = rows(db_url)

    def back_to_files() -> None:
        for assignment, _student, name, _, data in rows(db_url):
            save_course_record(course, assignment, name, SubmissionRecord.from_json(data))
        execute(db_url, "DROP TABLE autograder_record", "DROP TABLE autograder_schema")

    back_to_files()
    assert len(list((course / COURSE_RECORDS).glob("*/*/*.json"))) == len(earlier)
    assert exported(course, tmp_path, "after.csv") == table  # read from the database, once migrated
    assert rows(db_url) == earlier
    assert not (course / COURSE_RECORDS).exists()
    kept = sorted((course / MIGRATED).glob("*/*/*.json"))
    assert len(kept) == len(earlier)  # the files are kept aside
    assert {json.loads(p.read_text())["student"] for p in kept} == {s for _, s, _, _, _ in earlier}

    # cut short after the copy, before the files were moved aside: nothing is doubled or changed
    (course / MIGRATED).rename(course / COURSE_RECORDS)
    assert exported(course, tmp_path, "again.csv") == table
    assert rows(db_url) == earlier
    assert sorted(p.name for p in course.glob(f"{MIGRATED}*")) == [MIGRATED]

    # the first autograde migrates too: then a regrade of alice replaces her two rows and only them
    back_to_files()
    nbgrader(course, "autograde", ASSIGNMENT, "--force", "--student", "alice")
    assert not (course / COURSE_RECORDS).exists()
    assert (course / f"{MIGRATED}-2").is_dir()  # the first copy aside is kept too
    again = rows(db_url)
    assert [r[:4] for r in again] == [r[:4] for r in earlier]
    assert [r for r in again if r[1] != "alice"] == [r for r in earlier if r[1] != "alice"]
