"""Are the feedback pages readable in a real browser, on a wide screen and on a 400-pixel phone?

A small course of real nbgrader commands (``course init``, ``generate_assignment`` (run once for the
session: the ``generate`` fixture), ``autograde``, ``generate_feedback``): ada hands in correct notebooks, bob buggy ones, carol the untouched ones,
mallory a correct vocab whose markdown holds a script and an ``<img onerror>``. Each page is
rendered by headless Chromium (``tests/browser.py``) at 1280 and 400 pixels; the screenshots go to
``test-artefacts/``. The same course then checks the teacher's route around it: autograde prints no
SAWarning, a misspelt option stops it, one student is graded again, and the CSV export.
"""

import csv
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.dev.classroom import Classroom, nbgrader
from autograder.dev.examples import MISTAKES, notebook, reference_code
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS
from tests.browser import need_browser, render

AUTOGRADER = Path(sys.executable).parent / "autograder"
WIDTHS = (1280, 400)
ATTACK = (
    "My notes <script>window.__student_pwned = 1</script> and "
    '<img src=x onerror="window.__student_pwned_img = 1"> and <b>bold</b>.'
)


def mistake(name: str) -> str:
    return next(m.code for m in MISTAKES if m.name == name)


@pytest.fixture(scope="module")
def course(tmp_path_factory, generate):
    need_browser()
    room = Classroom.create(tmp_path_factory.mktemp("feedback-course"))
    root = room.root
    generate(room.root)
    room.hand_in("ada", {p: notebook(p, reference_code(p)) for p in PARTS})
    room.hand_in("bob", {"smoother": notebook("smoother", mistake("kernel flipped (true convolution)")),
                         "vocab": notebook("vocab", mistake("numbered by first appearance"))})  # fmt: skip
    room.hand_in("carol", {"smoother": None, "vocab": None})  # as released
    hostile = notebook("vocab", reference_code("vocab"))
    hostile.cells.append(nbformat.v4.new_markdown_cell(ATTACK))
    room.hand_in("mallory", {"vocab": hostile})
    autograde = nbgrader(root, "autograde", ASSIGNMENT)
    (root / "autograde.stderr").write_text(autograde.stderr)
    nbgrader(root, "generate_feedback", ASSIGNMENT)
    return root


PAGES = [
    *(("ada", part, 10) for part in PARTS),
    ("bob", "smoother", None),
    ("bob", "vocab", None),
    ("carol", "smoother", 0),
    ("mallory", "vocab", 10),
]


def score_of(course: Path, student: str, part: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(part, ASSIGNMENT, student).score


@pytest.mark.parametrize(("student", "part", "score"), PAGES, ids=[f"{s}-{p}" for s, p, _ in PAGES])
def test_the_page_fits_shows_the_score_and_its_pictures_and_runs_no_student_script(course, student, part, score):
    page = course / "feedback" / student / ASSIGNMENT / f"{part}.html"
    got = score_of(course, student, part)
    if score is not None:
        assert got == score
    else:
        assert 0 < got < 10
    # the page's own scripts are the exporter's MathJax and its configuration; nothing of the student's
    scripts = re.findall(r"<script[^>]*>", page.read_text())
    assert scripts == [
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe">',
        '<script type="text/x-mathjax-config">',
    ]
    for width in WIDTHS:
        shown = render(page, width=width, name=f"feedback-{student}-{part}")
        assert not shown.scrolls_sideways, (width, shown.scroll_width)
        assert f"{part}: {got:g} / 10 points" in shown.text
        assert f"(Score: {round(got, 2)} / 10.0)" in shown.text
        # every picture loads, but for the image of mallory's markdown, which points nowhere (src=x)
        assert len(shown.broken_images) == (student == "mallory")
        assert shown.images_too_wide == [], width
        assert shown.ran == []
        assert shown.scripts == len(scripts)
        if got > 0:  # the pictures of the student's result beside the reference's
            assert len(shown.images) == (2 if part == "smoother" else 1) + (student == "mallory")
        if width == 400:
            assert all(image["width"] <= 400 for image in shown.images)


def test_an_untouched_part_says_not_implemented_once_per_function(course):
    shown = render(course / "feedback" / "carol" / ASSIGNMENT / "smoother.html", width=400, name="carol-untouched")
    report = shown.text[shown.text.index("smoother: 0 / 10 points") :]
    assert report.count("gaussian_kernel is not implemented yet") == 1
    assert report.count("smooth is not implemented yet") == 1
    assert "2 thing(s) to fix" in report  # the checks of bad input fail for the same cause: one item


def test_the_students_markdown_shows_as_text(course):
    shown = render(course / "feedback" / "mallory" / ASSIGNMENT / "vocab.html", width=400, name="mallory-markdown")
    assert "My notes <script>window.__student_pwned = 1</script> and" in shown.text
    assert shown.ran == []


def test_bobs_vocab_picture_is_his_own_pipeline(course):
    nb = nbformat.read(course / "autograded" / "bob" / ASSIGNMENT / "vocab.ipynb", as_version=4)
    titles = [o.data["text/plain"] for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert titles == ["tokenize on the notebook's corpus (your build_vocab and tokenize) beside the expected matrix"]


def test_autograde_prints_no_sqlalchemy_warning(course):
    stderr = (course / "autograde.stderr").read_text()
    assert "autograder: bob/attention/vocab.ipynb scored" in stderr  # the log is there, and nothing else
    assert "SAWarning" not in stderr
    assert "Warning" not in stderr


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--HiddenSuites.sandbox=bubblwrap", "expected any of ['auto', 'bubblewrap', 'none'], not the str 'bubblwrap'"),
        ("--HiddenSuites.sandbx=none", "unknown option c.HiddenSuites.sandbx: the options are jobs, device, sandbox"),
    ],
)
def test_a_misspelt_option_stops_autograde_with_what_is_allowed(course, option, said):
    done = nbgrader(course, "autograde", ASSIGNMENT, "--student", "carol", "--force", option, ok=False)
    assert done.returncode != 0
    assert said in done.stderr


def test_one_student_is_graded_again_and_the_export_follows(course, tmp_path):
    Classroom(course).hand_in("carol", {"smoother": notebook("smoother", reference_code("smoother"))})
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "carol", "--force")
    assert score_of(course, "carol", "smoother") == 10.0
    assert score_of(course, "ada", "smoother") == 10.0
    parts, checks = tmp_path / "parts.csv", tmp_path / "checks.csv"
    done = subprocess.run(
        [str(AUTOGRADER), "course", "export", str(course), "--csv", str(parts), "--checks-csv", str(checks)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with parts.open() as f:
        rows = {(r["student"], r["part"]): float(r["score"]) for r in csv.DictReader(f)}
    assert rows == {
        **{("ada", p): 10.0 for p in PARTS},
        ("bob", "smoother"): score_of(course, "bob", "smoother"),
        ("bob", "vocab"): score_of(course, "bob", "vocab"),
        ("carol", "smoother"): 10.0,
        ("carol", "vocab"): 0.0,
        ("mallory", "vocab"): 10.0,
    }
    with checks.open() as f:
        bob = [r for r in csv.DictReader(f) if r["student"] == "bob" and r["part"] == "smoother"]
    assert any(r["result"] == "failed" and "flipped" in r["hint"] for r in bob)
