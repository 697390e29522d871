"""The package's tables in a gradebook database (SQLite files here, made without nbgrader): rows by
their three names whatever the names, the schema's version, and file records migrated."""

import json
import sqlite3

import pytest
from sqlalchemy import text

from autograder.nbgrader import records_db
from autograder.nbgrader.course_records import COURSE_RECORDS, course_records, save_course_record
from autograder.records import Check, PartResult, SubmissionRecord

#: ids that try to leave their folder, the screen or their SQL string
NAMES = ["a.b", "a_b", "A", "a", "", "..", "a/b", "x\ny", "\u202eada", "é", "e\u0301", "%", "x" * 300, "名" * 100,
         "'; DROP TABLE autograder_record; --", 'a"b', "a\\b", "a%b_c", "\x1b[2J"]  # fmt: skip


def one(student: str, score: float, part: str = "vocab") -> SubmissionRecord:
    check = Check("matches", "matches the reference", passed=score > 0, points=score, max_points=10)
    part_result = PartResult(part, [check], figures=[{"title": "t", "png": "AAAA"}])
    return SubmissionRecord(f"{student}/a1/{part}.ipynb", wanted=[part], parts=[part_result], student=student)


def gradebook(root) -> str:
    """A gradebook as nbgrader leaves it, as far as the package looks (its ``alembic_version``)."""
    path = root / "gradebook.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    return f"sqlite:///{path}"


def test_every_name_keeps_its_own_row_and_a_regrading_replaces_only_it(tmp_path):
    engine = records_db.prepare(tmp_path, gradebook(tmp_path))
    with engine.begin() as connection:
        for i, name in enumerate(NAMES):
            records_db.upsert(connection, records_db.record_row(name, name, name, one(name, i)))
        records_db.upsert(connection, records_db.record_row("a", "a", "a", one("a", 9.5)))  # graded again
    found = records_db.read_records(engine)
    assert len(found) == len(NAMES)
    scores = {names: record.score for names, record in found}
    assert scores == {(n, n, n): (9.5 if n == "a" else float(i)) for i, n in enumerate(NAMES)}
    assert all(not p.figures for _, r in found for p in r.parts)  # the pictures stay in the feedback
    assert [r.student for r in records_db.records(engine, "'; DROP TABLE autograder_record; --")] == [NAMES[14]]
    assert records_db.records(engine, "a%") == []  # a name is a value, never a pattern


def test_a_row_is_only_added_without_replace(tmp_path):
    engine = records_db.prepare(tmp_path, gradebook(tmp_path))
    with engine.begin() as connection:
        records_db.upsert(connection, records_db.record_row("a1", "ada", "vocab", one("ada", 7)))
        records_db.upsert(connection, records_db.record_row("a1", "ada", "vocab", one("ada", 1)), replace=False)
    assert [r.score for r in records_db.records(engine)] == [7]


def test_tables_of_a_newer_autograder_are_refused_and_older_ones_upgraded(tmp_path, monkeypatch):
    engine = records_db.prepare(tmp_path, gradebook(tmp_path))
    with engine.begin() as connection:
        connection.execute(text("UPDATE autograder_schema SET version = :v"), {"v": records_db.SCHEMA_VERSION + 1})
    with pytest.raises(records_db.RecordsError, match="newer"):
        records_db.ensure_tables(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE autograder_schema SET version = 1"))
    done = []
    monkeypatch.setattr(records_db, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(records_db.UPGRADES, 1, lambda connection: done.append(1))
    records_db.ensure_tables(engine)
    records_db.ensure_tables(engine)  # once only
    assert done == [1]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM autograder_schema")).scalar() == 2


def test_file_records_are_migrated_once_and_kept_aside(tmp_path):
    gradebook(tmp_path)
    for i, name in enumerate(NAMES):
        save_course_record(tmp_path, "a1", "vocab", one(name, i))
    before = sorted((r.student, r.score) for r in course_records(tmp_path))  # the first use migrates
    assert before == sorted((name, float(i)) for i, name in enumerate(NAMES))
    assert not (tmp_path / COURSE_RECORDS).exists()
    kept = list((tmp_path / records_db.MIGRATED).glob("*/*/*.json"))
    assert sorted(json.loads(p.read_text())["student"] for p in kept) == sorted(NAMES)
    # an older autograder wrote a file after the migration: the row, newer, stays; a new name is taken
    save_course_record(tmp_path, "a1", "vocab", one("a", 99))
    save_course_record(tmp_path, "a1", "vocab", one("newcomer", 5))
    after = sorted((r.student, r.score) for r in course_records(tmp_path))
    assert after == sorted([*before, ("newcomer", 5.0)])
    assert (tmp_path / f"{records_db.MIGRATED}-2").is_dir()


def test_a_course_without_a_gradebook_reads_its_files_as_they_are(tmp_path):
    save_course_record(tmp_path, "a1", "vocab", one("ada", 3))
    assert [(r.student, r.score) for r in course_records(tmp_path)] == [("ada", 3)]
    assert not (tmp_path / "gradebook.db").exists()
