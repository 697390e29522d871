"""Do the CSV exports hold one row per student and part (a column per group) and one row per check?"""

import csv
from pathlib import Path

from autograder.cli import main
from autograder.export import CHECK_COLUMNS, write_checks_csv, write_parts_csv
from autograder.nbgrader.course_records import save_course_record
from autograder.records import Check, PartResult, SubmissionRecord


def records() -> list[SubmissionRecord]:
    smoother = PartResult(
        "smoother",
        [
            Check("kernel [cpu]", "matches the reference", passed=True, points=2.5, max_points=2.5),
            Check("smooth [cpu]", "matches the reference", message='=HYPERLINK("x")', hint="flipped", max_points=1.5),
            Check("speed", "speed", skipped=True, message="not on this grader"),
        ],
    )
    vocab = PartResult(
        "vocab", [Check("build_vocab", "edge cases and bad input", passed=True, points=1.0, max_points=1.0)]
    )
    return [
        SubmissionRecord("ada/attention/smoother.ipynb", wanted=["smoother"], parts=[smoother], student="ada"),
        SubmissionRecord("bob.py", wanted=["smoother", "vocab"], parts=[vocab]),
        SubmissionRecord("eve/attention/vocab.ipynb", wanted=["vocab"], error="not a notebook", student="eve"),
    ]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_one_row_per_student_and_part_with_the_points_of_each_group(tmp_path):
    rows = read(write_parts_csv(records=records(), path=tmp_path / "parts.csv"))
    header = (tmp_path / "parts.csv").read_text().splitlines()[0]
    assert (
        header == "student,submission,part,score,max_score,matches the reference,speed,edge cases and bad input,error"
    )
    assert rows[0] == {
        "student": "ada", "submission": "ada/attention/smoother.ipynb", "part": "smoother", "score": "2.5",
        "max_score": "10", "matches the reference": "2.5", "speed": "0", "edge cases and bad input": "", "error": "",
    }  # fmt: skip
    assert (rows[1]["student"], rows[1]["part"], rows[1]["edge cases and bad input"], rows[1]["speed"]) == (
        "", "vocab", "1", "",
    )  # fmt: skip
    assert (rows[2]["part"], rows[2]["score"], rows[2]["max_score"], rows[2]["error"]) == (
        "vocab",
        "0",
        "10",
        "not a notebook",
    )


def test_one_row_per_check_with_its_result_points_and_hint(tmp_path):
    path = write_checks_csv(records=records(), path=tmp_path / "out" / "checks.csv")
    rows = read(path)
    assert list(rows[0]) == list(CHECK_COLUMNS)
    assert [(r["student"], r["part"], r["check"], r["result"], r["points"], r["max_points"]) for r in rows] == [
        ("ada", "smoother", "kernel [cpu]", "passed", "2.5", "2.5"),
        ("ada", "smoother", "smooth [cpu]", "failed", "0", "1.5"),
        ("ada", "smoother", "speed", "skipped", "0", "0"),
        ("", "vocab", "build_vocab", "passed", "1", "1"),
    ]
    assert rows[1]["hint"] == "flipped"
    assert rows[1]["group"] == "matches the reference"
    assert rows[1]["message"] == '\'=HYPERLINK("x")'  # never a formula in a spreadsheet


def test_course_export_writes_both_files_from_the_records_autograde_kept(tmp_path, monkeypatch, capsys):
    for record in records():
        if record.student:
            save_course_record(tmp_path / "course", "attention", Path(record.path).stem, record)
    monkeypatch.chdir(tmp_path)
    assert main(["course", "export", str(tmp_path / "course"), "--csv", "p.csv", "--checks-csv", "c.csv"]) == 0
    assert capsys.readouterr().out == f"2 notebook(s) exported from {tmp_path / 'course'}\n"
    assert [(r["student"], r["part"], r["score"]) for r in read(tmp_path / "p.csv")] == [
        ("ada", "smoother", "2.5"),
        ("eve", "vocab", "0"),
    ]
    assert len(read(tmp_path / "c.csv")) == 3


def test_course_export_without_records_or_without_a_file_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["course", "export", str(tmp_path), "--csv", "p.csv"]) == 2
    assert f"no records in {tmp_path / 'autograder-records'}" in capsys.readouterr().err
    assert main(["course", "export", str(tmp_path)]) == 2
    assert "say where: --csv, --checks-csv or --gradebook-csv FILE" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_a_group_of_thirds_shows_the_points_the_score_shows(tmp_path):
    """Three checks of 0.3333 points each: the group's column says 1, as the part's score does (not 0.9999)."""
    thirds = [Check(f"c{i}", "matches the reference", passed=True, points=0.3333, max_points=0.3333) for i in range(3)]
    twelfths = [Check(f"d{i}", "edge cases", passed=True, points=0.3333, max_points=0.3333) for i in range(12)]
    part = PartResult("smoother", thirds + twelfths)
    rows = read(write_parts_csv(records=[SubmissionRecord("a.py", parts=[part])], path=tmp_path / "p.csv"))
    assert (rows[0]["score"], rows[0]["matches the reference"], rows[0]["edge cases"]) == ("5", "1", "4")
    checks = read(write_checks_csv(records=[SubmissionRecord("a.py", parts=[part])], path=tmp_path / "c.csv"))
    assert {c["points"] for c in checks} == {"0.3333"}  # a check's own points are the record's
