"""The gradebook CSV: one row per student, a column per part and the total, in the forms LMSs import."""

import csv
from decimal import Decimal

import pytest

from autograder.cli import main
from autograder.gradebook_csv import gradebook_rows, write_gradebook_csv
from autograder.messages import rounded
from autograder.nbgrader.course_records import save_course_record
from autograder.records import Check, PartResult, SubmissionRecord


def part(name: str, *points: float) -> PartResult:
    return PartResult(name, [Check(f"c{i}", "g", passed=True, points=p, max_points=p) for i, p in enumerate(points)])


def record(student: str, notebook: str, *parts: PartResult, assignment: str = "attention") -> SubmissionRecord:
    return SubmissionRecord(f"{student}/{assignment}/{notebook}.ipynb", student=student, parts=list(parts))


RECORDS = [
    record("bob", "smoother", part("smoother", 3.9996, 0.0002)),  # 3.9998: the parts' own rounding says 4.0
    record("bob", "vocab", part("vocab", 0.9999)),
    record("ada", "smoother", part("smoother", 10)),
    record(
        "ada", "Smoother-Copy1", PartResult("smoother", [Check("c", "g", points=7, max_points=10)], duplicate_of="x")
    ),
    record("=cmd", "masking", part("masking", 2.125)),
]


def test_rounded_is_half_up_on_two_decimals():
    assert rounded(3.9996) == 4.0
    assert rounded(0.9999) == 1.0
    assert rounded(2.125) == 2.13
    assert rounded(0.005) == 0.01
    assert str(rounded(-0.0)) == "0.0"


def test_plain_has_one_row_per_student_a_column_per_part_and_a_total_that_adds_up():
    table = gradebook_rows(RECORDS)
    assert table[0] == ["student", "smoother", "vocab", "masking", "total"]
    rows = {r[0]: r[1:] for r in table[1:]}
    assert rows["bob"] == ["4.00", "1.00", "0.00", "5.00"]
    assert rows["ada"] == ["10.00", "0.00", "0.00", "10.00"]  # the duplicate is never added
    assert rows["'=cmd"] == ["0.00", "0.00", "2.13", "2.13"]  # a formula-looking id starts with a quote
    for values in rows.values():
        assert sum(Decimal(v) for v in values[:-1]) == Decimal(values[-1])


def test_canvas_has_its_columns_and_a_points_possible_row():
    table = gradebook_rows(RECORDS, form="canvas")
    assert table[0] == ["Student", "SIS Login ID", "Section", "smoother", "vocab", "masking", "total"]
    assert table[1] == ["Points Possible", "", "", "10.00", "10.00", "10.00", "30.00"]
    assert ["ada", "ada", "", "10.00", "0.00", "0.00", "10.00"] in table


def test_moodle_takes_the_id_column_and_ids_the_teacher_chooses():
    table = gradebook_rows(RECORDS, form="moodle", id_column="Email address", ids={"bob": "bob@example.org"})
    assert table[0][0] == "Email address"
    assert ["bob@example.org", "4.00", "1.00", "0.00", "5.00"] in table


def test_several_assignments_name_their_columns():
    table = gradebook_rows(
        [record("a", "smoother", part("smoother", 1)), record("a", "x", part("smoother", 2), assignment="b")]
    )
    assert table[0] == ["student", "attention smoother", "b smoother", "total"]


def test_an_unknown_form_is_refused():
    with pytest.raises(ValueError, match="unknown form"):
        gradebook_rows(RECORDS, form="blackboard")


def test_course_export_writes_the_gradebook_csv(tmp_path):
    for r in RECORDS[:3]:
        save_course_record(tmp_path, "attention", r.path.rsplit("/", 1)[1].removesuffix(".ipynb"), r)
    out = tmp_path / "grades.csv"
    assert main(["course", "export", str(tmp_path), "--gradebook-csv", str(out), "--form", "moodle"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows == [["Username", "smoother", "vocab", "total"], ["ada", "10.00", "0.00", "10.00"],
                    ["bob", "4.00", "1.00", "5.00"]]  # fmt: skip
    write_gradebook_csv(records=RECORDS, path=out)
    assert out.read_text().splitlines()[0] == "student,smoother,vocab,masking,total"
