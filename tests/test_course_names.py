"""Through a real ``nbgrader autograde``: does every student keep their own record whatever their id,
is every name shown clean, and is a handed-in source notebook refused without showing its answers?

Students whose ids the older record scheme merged (``a.b``, ``a_b``; ``A``, ``a``), ids with a
bidirectional override and an escape sequence, and two who hand in the course's source notebook of
the smoother (as it is, and without its solution markers).
"""

import csv
import html
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.dev.classroom import Classroom, nbgrader
from autograder.dev.examples import MISTAKES, notebook, reference_code
from autograder.nbgrader.course_records import course_records
from autograder.nbgrader.notebooks import ASSIGNMENT, BEGIN, END, reference_bodies
from autograder.parts import PARTS
from autograder.submission import MARKERS_LEFT, SOURCE_NOTEBOOK
from autograder.text import shown

FLIPPED = next(m for m in MISTAKES if m.name == "kernel flipped (true convolution)")
BIDI, ESC = "\u202eeve", "esc\x1b[2Jx"
#: the smoother each student hands in: the reference, the flipped kernel or the stub as released
HANDED = {"a.b": "reference", "a_b": "stub", "A": "flipped", "a": "reference", BIDI: "flipped", ESC: "stub"}
SMOOTHER = {"reference": 10.0, "flipped": None, "stub": 0.0}


def hand_in(room: Classroom, student: str, smoother: nbformat.NotebookNode) -> None:
    """The student's smoother, and the other parts as released."""
    room.hand_in(student, {"smoother": smoother, **dict.fromkeys(p for p in PARTS if p != "smoother")})


@pytest.fixture(scope="module")
def course(tmp_path_factory, generate):
    room = Classroom.create(tmp_path_factory.mktemp("course"), config="c.HiddenSuites.call_timeout = 5.0")
    root = room.root
    generate(room.root)
    released = room.released("smoother")
    code = {"reference": reference_code("smoother"), "flipped": FLIPPED.code}
    for student, kind in HANDED.items():
        hand_in(room, student, released if kind == "stub" else notebook("smoother", code[kind]))
    source = nbformat.read(root / "source" / ASSIGNMENT / "smoother.ipynb", as_version=4)
    hand_in(room, "sourcer", source)
    for cell in source.cells:
        cell.source = "\n".join(line for line in cell.source.split("\n") if line.strip() not in (BEGIN, END))
    hand_in(room, "stripper", source)
    nbgrader(root, "autograde", ASSIGNMENT)
    nbgrader(root, "generate_feedback", ASSIGNMENT)
    return root


def gradebook(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.id: gb.find_submission_notebook("smoother", ASSIGNMENT, s.id).score for s in gb.students}


def test_every_student_keeps_their_own_record_and_gradebook_score(course):
    records = {r.student: r for r in course_records(course) if r.parts[0].part == "smoother"}
    assert set(records) == {*HANDED, "sourcer", "stripper"}
    scores = gradebook(course)
    for student, kind in HANDED.items():
        assert records[student].score == scores[student]
        if SMOOTHER[kind] is not None:
            assert scores[student] == SMOOTHER[kind], student
    assert 0 < scores["A"] < 10
    assert scores["A"] == scores[BIDI]


def test_the_csv_export_has_a_row_per_student_and_part_with_clean_names(course, tmp_path):
    assert main(["course", "export", str(course), "--csv", str(tmp_path / "parts.csv")]) == 0
    with (tmp_path / "parts.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["part"] == "smoother"]
    scores = gradebook(course)
    assert sorted((r["student"], float(r["score"])) for r in rows) == sorted((shown(s), v) for s, v in scores.items())
    text = (tmp_path / "parts.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\\u202eeve" in text


def test_the_class_page_shows_every_name_clean(course, tmp_path, capsys):
    assert main(["stats", str(course), "--html", str(tmp_path / "c.html"), "--csv", str(tmp_path / "c.csv")]) == 0
    for text in [(tmp_path / "c.html").read_text(encoding="utf-8"), (tmp_path / "c.csv").read_text(encoding="utf-8"),
                 capsys.readouterr().out]:  # fmt: skip
        assert "\x1b" not in text
        assert "\u202e" not in text
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "\\u202eeve" in page
    assert "esc\\x1b[2Jx" in page


@pytest.mark.parametrize(("student", "reason"), [("sourcer", MARKERS_LEFT), ("stripper", SOURCE_NOTEBOOK)])
def test_a_source_notebook_gets_0_a_flag_and_feedback_without_the_answers(course, student, reason):
    assert gradebook(course)[student] == 0.0
    (record,) = [r for r in course_records(course) if r.student == student and r.parts[0].part == "smoother"]
    assert [(p.score, p.error, p.flags) for p in record.parts] == [(0.0, reason, [reason])]
    page = (course / "feedback" / student / ASSIGNMENT / "smoother.html").read_text(encoding="utf-8")
    autograded = (course / "autograded" / student / ASSIGNMENT / "smoother.ipynb").read_text(encoding="utf-8")
    assert "refused" in page
    bodies = [b for q, b in reference_bodies().items() if q in ("gaussian_kernel", "smooth")]
    lines = [line.strip() for body in bodies for line in body.splitlines() if len(line.strip()) > 12]
    assert lines
    for text in (html.unescape(page), autograded.encode().decode("unicode_escape")):
        assert not [line for line in lines if line in text]
    assert BEGIN not in autograded
