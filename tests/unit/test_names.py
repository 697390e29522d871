"""Does a record belong to one student, whatever the names, and is every name shown clean?

The jobs are replaced by a runner that scores each submission by a ``# score N`` comment in its
code (as in test_grade): no process is started here.
"""

import csv
import json
from pathlib import Path

import pytest

from autograder.export import cell, write_checks_csv, write_parts_csv
from autograder.grade import grade
from autograder.journal import write_json
from autograder.nbgrader.course_records import (
    COURSE_RECORDS,
    course_records,
    name_of,
    path_component,
    save_course_record,
)
from autograder.records import Check, PartResult, Report, SubmissionRecord
from autograder.report import class_table, submission_table, summary
from autograder.stats import class_stats, csv_rows, html_page, read_sources, stats
from autograder.submission import student_of
from autograder.text import printable, shown
from tests.unit.test_grade import Runner, found

ESC = "\x1b[31m"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u115f\u3164\ufe0f\U000e0100"
#: ids that the older scheme mapped to shared files, and ids that try to leave their folder or the screen
NAMES = ["a.b", "a_b", "a b", "a+b", "A", "a", "Ada", "ada", "..", ".", "", "a/b", "../b", "x\ny", "ada" + ESC,
         "\u202eada", "ad\u200ba", "é", "e\u0301", "%41", "%", "~", "x" * 300, "x" * 299 + "y", "名" * 100]  # fmt: skip


def one(student: str, score: float, part: str = "vocab") -> SubmissionRecord:
    check = Check("matches", "matches the reference", passed=score > 0, points=score, max_points=10)
    return SubmissionRecord(
        f"{student}/a1/{part}.ipynb", wanted=[part], parts=[PartResult(part, [check])], student=student
    )


# ---------------------------------------------------------------- requirement 3: where a record is kept


def test_the_path_of_a_name_is_injective_even_ignoring_case_and_reversible():
    components = [path_component(name) for name in NAMES]
    assert len({c.casefold() for c in components}) == len(NAMES)
    for name, component in zip(NAMES, components, strict=True):
        assert component not in ("", ".", "..")
        assert not component.startswith(".")
        assert "/" not in component
        assert "\0" not in component
        assert len(component.encode()) + len(".json") <= 255
        assert name_of(component) == (name if "~" not in component else None)


@pytest.mark.parametrize("pair", [("a.b", "a_b"), ("A", "a"), ("a/b", "a%2Fb"), ("..", "%2E%2E"), ("x\ny", "x_y")])
def test_two_students_keep_their_own_records_and_rows(tmp_path, pair):
    first, second = pair
    paths = {save_course_record(tmp_path, "a1", "vocab", one(first, 3)),
             save_course_record(tmp_path, "a1", "vocab", one(second, 7))}  # fmt: skip
    assert len(paths) == 2
    assert all((tmp_path / COURSE_RECORDS) in p.parents for p in paths)
    assert sorted((r.student, r.score) for r in course_records(tmp_path, "a1")) == sorted([(first, 3), (second, 7)])
    rows = read_csv(write_parts_csv(records=course_records(tmp_path), path=tmp_path / "parts.csv"))
    assert sorted((r["student"], r["score"]) for r in rows) == sorted([(shown(first), "3"), (shown(second), "7")])


def test_every_one_of_many_hostile_ids_keeps_its_record(tmp_path):
    for i, name in enumerate(NAMES):
        save_course_record(tmp_path, "a1", "vocab", one(name, i))
    assert sorted((r.student, r.score) for r in course_records(tmp_path)) == sorted(
        (name, float(i)) for i, name in enumerate(NAMES)
    )
    assert [p.name for p in tmp_path.iterdir()] == [COURSE_RECORDS]


def test_records_of_the_older_scheme_are_read_and_a_newer_grading_wins(tmp_path):
    older = tmp_path / COURSE_RECORDS / "a1"
    for folder, student, score in [("ada", "ada", 4), ("a_b", "a b", 5), ("Bob", "Bob", 6)]:
        data = one(student, score).to_json() | {"assignment": "a1"}
        (older / folder).mkdir(parents=True)
        (older / folder / "vocab.json").write_text(json.dumps(data))
    (older / "bob").mkdir()  # where the older scheme would not have put Bob's record: not read
    (older / "bob" / "vocab.json").write_text(json.dumps(one("Bob", 10).to_json() | {"assignment": "a1"}))
    save_course_record(tmp_path, "a1", "vocab", one("ada", 9))  # graded again
    assert [(r.student, r.score) for r in course_records(tmp_path)] == [("Bob", 6), ("a b", 5), ("ada", 9)]


def test_a_record_that_names_another_place_is_not_read(tmp_path):
    path = save_course_record(tmp_path, "a1", "vocab", one("ada", 3))
    data = json.loads(path.read_text())
    forged = path.parent / "other.json"
    forged.write_text(json.dumps(data | {"student": "bob"}))
    assert [(r.student, r.score) for r in course_records(tmp_path)] == [("ada", 3)]


# ---------------------------------------------------------------- requirement 3: autograder grade DIR


def smoother(path: Path, score: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"def smooth(signal, kernel):\n    return signal  # score {score}\n")
    return path


def test_the_outermost_level_names_the_student(tmp_path):
    course = tmp_path / "course"
    (course / "nbgrader_config.py").parent.mkdir()
    (course / "nbgrader_config.py").write_text("")
    inner = course / "autograded" / "ada" / "a1" / "x"
    (inner / "nbgrader_config.py").parent.mkdir(parents=True)
    (inner / "nbgrader_config.py").write_text("")
    assert student_of(inner / "autograded" / "bob" / "a1" / "s.py") == "ada"
    assert student_of(tmp_path / "submitted" / "ada" / "a1" / "submitted" / "bob" / "a1" / "s.py") == "ada"
    assert student_of(tmp_path / "submitted" / "ada" / "s.py") == ""


@pytest.fixture
def nested(tmp_path):
    """ada's folder holds a submitted/ tree naming bob and eve; bob hands in his own work."""
    root = tmp_path / "submitted"
    smoother(root / "ada" / "a1" / "smoother.py", 4)
    smoother(root / "ada" / "a1" / "submitted" / "bob" / "a1" / "smoother.py", 10)
    smoother(root / "ada" / "a1" / "submitted" / "eve" / "a1" / "smoother.py", 10)
    smoother(root / "bob" / "a1" / "smoother.py", 6)
    return root


def test_a_nested_submitted_tree_names_nobody_else_and_counts_once(nested, tmp_path):
    report = grade(submissions=[nested], runner=Runner(), detect=found, progress=False, json_path=tmp_path / "r.json")
    assert [(r.student, r.score) for r in report.submissions] == [("ada", 4), ("ada", 0), ("ada", 0), ("bob", 6)]
    second = report.submissions[1].parts[0]
    assert second.score == 10
    assert second.duplicate_of == str(nested / "ada" / "a1" / "smoother.py")
    assert second.flags == [
        f"a second file graded as smoother for this student: kept, not counted ({second.duplicate_of} counts)"
    ]
    assert class_table(report).splitlines()[1:] == [
        "ada                4         4",
        "bob                6         6",
        "(out of)          10        10",
    ]
    # the JSON report says the same, and stats read from it agree
    kept = Report.from_json(json.loads((tmp_path / "r.json").read_text()))
    assert [s.score for s in kept.submissions] == [4, 0, 0, 6]
    assert kept.submissions[2].parts[0].duplicate_of == second.duplicate_of
    result = class_stats(read_sources([tmp_path / "r.json"]))
    assert result.students == ["ada", "bob"]
    assert result.totals == {"ada": 4, "bob": 6}
    assert result.max_total == 10
    assert [(f.student, f.text) for f in result.flags] == [("ada", second.flags[0])] * 2
    assert not result.copies  # bob's honest work is nobody's copy
    rows = read_csv(write_parts_csv(records=report.submissions, path=tmp_path / "parts.csv"))
    assert [(r["student"], r["score"], r["max_score"]) for r in rows] == [
        ("ada", "4", "10"), ("ada", "0", "0"), ("ada", "0", "0"), ("bob", "6", "10")]  # fmt: skip
    assert rows[1]["error"] == f"not counted: {second.duplicate_of} holds this student's smoother"
    checks = read_csv(write_checks_csv(records=report.submissions, path=tmp_path / "checks.csv"))
    assert [(r["student"], r["points"]) for r in checks] == [("ada", "4"), ("bob", "6")]


def test_the_same_part_graded_again_on_resume_is_still_counted_once(nested, tmp_path):
    grade(submissions=[nested], runner=Runner(), detect=found, progress=False, json_path=tmp_path / "r.json")
    again = grade(submissions=[nested], runner=Runner(), detect=found, progress=False, json_path=tmp_path / "r.json")
    assert [r.score for r in again.submissions] == [4, 0, 0, 6]
    assert [len(r.parts[0].flags) for r in again.submissions] == [0, 1, 1, 0]


def test_a_second_notebook_of_a_part_in_a_course_is_kept_and_flagged(tmp_path):
    save_course_record(tmp_path, "a1", "vocab", one("ada", 7))
    copy = one("ada", 10)
    copy.path = "ada/a1/vocab_copy.ipynb"
    save_course_record(tmp_path, "a1", "vocab_copy", copy)
    records = course_records(tmp_path)
    assert [(r.score, r.parts[0].score, r.parts[0].duplicate_of) for r in records] == [
        (7, 7, ""), (0, 10, "ada/a1/vocab.ipynb")]  # fmt: skip
    result = class_stats(read_sources([tmp_path]))
    assert result.totals == {"ada": 7}
    assert result.max_total == 10
    assert [f.text for f in result.flags] == [
        "a second file graded as vocab for this student: kept, not counted (ada/a1/vocab.ipynb counts)"
    ]


# ---------------------------------------------------------------- requirement 4: names shown clean

HOSTILE = ["ada\n" + "mallory" + " " * 20 + "10", "eve" + ESC + "\x1b]0;t\x07", "\u202eevil", "bob" + BIDI + INVISIBLE]


def clean(text: str) -> bool:
    return all(c == "\n" or (c.isprintable() and c not in BIDI + INVISIBLE) for c in text) and "\x1b" not in text


def test_the_cleaner_replaces_every_bidirectional_and_invisible_character():
    assert printable("a" + BIDI + INVISIBLE + "b") == "a" + "\ufffd" * len(BIDI + INVISIBLE) + "b"
    assert [shown(n) for n in ["ada" + ESC, "ada\\x1b[31m", "\u202eada", "x\ny", "é"]] == [
        "ada\\x1b[31m", "ada\\\\x1b[31m", "\\u202eada", "x\\ny", "é"]  # fmt: skip
    assert len({shown(n) for n in NAMES}) == len(NAMES)


def hostile_report(tmp_path: Path) -> Report:
    records = []
    for i, name in enumerate(HOSTILE):
        record = one(name, i + 1, "smoother")
        record.path = f"{name}/a1/{name}.py"
        records.append(record)
    records.append(SubmissionRecord(f"{HOSTILE[1]}.py", error=f"{HOSTILE[1]}.py defines none of the exercise names"))
    return Report({"devices": ["cpu"], "sandbox": "bubblewrap"}, records)


def test_names_are_clean_in_the_terminal(tmp_path):
    report = hostile_report(tmp_path)
    table = class_table(report)
    # a row per student (and one for the file not graded), none forged
    assert clean(table)
    assert len(table.splitlines()) == 3 + len(HOSTILE)
    assert "ada\\nmallory" in table
    assert "\\u202eevil" in table
    for record in report.submissions:
        assert clean(submission_table(record, verbose=True))
    assert clean(summary(report, 1.0))


def test_names_are_clean_on_the_class_page_in_the_csv_and_the_json(tmp_path):
    report = hostile_report(tmp_path)
    write_json(tmp_path / "r.json", report)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert text.isascii()
    assert "\\u001b" in text
    assert [r.student for r in Report.from_json(json.loads(text)).submissions][:4] == HOSTILE  # ... and kept whole
    result = stats(sources=[tmp_path / "r.json"], html_path=tmp_path / "c.html", csv_path=tmp_path / "c.csv")
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert clean(page)
    assert "\\u202eevil" in page
    assert html_page(result) == page
    for path in [tmp_path / "c.csv", write_parts_csv(records=report.submissions, path=tmp_path / "p.csv"),
                 write_checks_csv(records=report.submissions, path=tmp_path / "k.csv")]:  # fmt: skip
        for row in csv.reader(path.open(newline="", encoding="utf-8")):
            assert all(clean(value) and "\n" not in value for value in row)
    assert {row[4] for row in csv_rows(result)[1:]} >= {shown(n) for n in HOSTILE}


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =1", "\u202e=1", "\u200b=1", "\n=1", "\ufeff@x"]
)
def test_a_cell_a_spreadsheet_would_run_is_quoted(text):
    assert cell(text) == "'" + printable(text, 100_000)


def test_a_cell_that_does_not_start_a_formula_is_kept():
    assert [cell(t) for t in ["ada", "1-1", "a=b", 2.5, -1.0]] == ["ada", "1-1", "a=b", "2.5", "-1"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_file_name_in_a_message_is_shown_clean(tmp_path):
    from autograder.submission import load

    path = tmp_path / "x\x1b[2J\u202e.txt"
    path.write_text("")
    assert (
        load(path).error
        == "x\\x1b[2J\\u202e.txt is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
    )


def test_the_export_of_an_assignment_without_records_names_its_folder(tmp_path, capsys):
    from autograder.cli import main

    assert (
        main(["course", "export", str(tmp_path), "--assignment", "a.b\x1b[2J", "--csv", str(tmp_path / "p.csv")]) == 2
    )
    error = capsys.readouterr().err
    assert f"no records in {tmp_path / COURSE_RECORDS / path_component('a.b' + chr(27) + '[2J')}:" in error
    assert "\x1b" not in error


def test_a_configuration_above_the_course_names_nobody(tmp_path):
    """A teacher's ~/nbgrader_config.py above the course does not make the course's own folders students."""
    (tmp_path / "nbgrader_config.py").write_text("")  # the teacher's home
    course = tmp_path / "course"
    path = course / "submitted" / "ada" / "a1" / "s.py"
    path.parent.mkdir(parents=True)
    path.write_text("")
    (course / "nbgrader_config.py").write_text("")
    assert student_of(path, course) == "ada"
    assert student_of(path, course / "submitted") == "ada"
    assert student_of(path, path) == "ada"  # a file given by name
    (tmp_path / "nbgrader_config.py").unlink()
    (tmp_path / "course" / "nbgrader_config.py").unlink()  # a copy of the tree, without configuration
    assert student_of(path, course / "submitted") == "ada"
    assert student_of(path, course) == "ada"
    (tmp_path / "nbgrader_config.py").write_text("")
    assert student_of(path) == "submitted"  # unanchored, the home's configuration names a course folder


def test_a_link_in_a_graded_folder_is_not_graded(tmp_path):
    """A student's folder may hold a link to any file the grader can read: a directory's walk skips it."""
    from autograder.submission import arguments_of

    folder = tmp_path / "submitted" / "ada" / "a1"
    folder.mkdir(parents=True)
    (folder / "smoother.py").write_text("")
    secret = tmp_path / "secret.py"
    secret.write_text("")
    (folder / "vocab.py").symlink_to(secret)
    (folder / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert arguments_of([tmp_path / "submitted"]) == {folder / "smoother.py": tmp_path / "submitted"}
