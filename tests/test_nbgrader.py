"""Do the scores land in nbgrader's gradebook through its own commands, and is the feedback right?

A real course directory (``autograder course init``), the real ``nbgrader generate_assignment`` (run once
for the session: the ``generate`` fixture of tests/conftest.py), ``autograde``, ``generate_feedback`` and ``export``, and students who hand in correct, buggy,
untouched, edited and hostile notebooks.
"""

import csv
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder.dev.classroom import Classroom, nbgrader
from autograder.dev.examples import GRADEBOOK_ATTACK, MISTAKES, notebook, reference_code
from autograder.grade import grade
from autograder.nbgrader.course import CourseError, init
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS
from tests.conftest import ROOT

FLIPPED = next(m for m in MISTAKES if m.name == "kernel flipped (true convolution)")
NOISY = reference_code("masking").replace(
    "def padding_mask(",
    "import sys\nimport warnings\n\nwarnings.warn('a stray warning')\n"
    "print('debugging output', file=sys.stderr)\n\n\ndef padding_mask(",
)


# trudy: her smoother leaves a file where the next child's work directory goes and fills /dev/shm (can a
# submission affect a later one?); her vocab breaks Python's parser (can one notebook stop the run?)
LEFT_BEHIND = """
import os
import shutil

os.chdir("/")
shutil.rmtree("/tmp/work", ignore_errors=True)
with open("/tmp/work", "w") as f:
    f.write("not a directory")
with open("/dev/shm/hog", "wb") as f:
    f.write(b"x" * (16 << 20))


def gaussian_kernel(size, sigma=1.0):
    raise RuntimeError("no kernel")


def smooth(signal, kernel):
    raise RuntimeError("no smoothing")
"""
PARSER_BREAKER = "-" * 100_000 + "1\n"

MARKDOWN_ATTACK = (
    "My notes <script>document.title = 'pwned'</script> and <img src=x onerror=\"alert('pwned')\"> "
    'and <a href="javascript:alert(\'pwned\')">a link</a>, with `"<pad>"` in a code span.'
)


def edited(course: Path) -> dict[str, nbformat.NotebookNode]:
    """dave: rewrote a grade cell, deleted another, renamed a function, and left a warning on stderr."""
    smoother = notebook("smoother", reference_code("smoother"))
    for cell in smoother.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "print(10.0)\n10.0"
    vocab = notebook("vocab", reference_code("vocab"))
    vocab.cells = [c for c in vocab.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    attention = notebook(
        "attention", reference_code("attention").replace("def scaled_dot_product_attention(", "def sdpa(")
    )
    return {"smoother": smoother, "vocab": vocab, "attention": attention, "masking": notebook("masking", NOISY)}


@pytest.fixture(scope="module")
def course(tmp_path_factory, generate):
    room = Classroom.create(tmp_path_factory.mktemp("course"), config="c.HiddenSuites.call_timeout = 5.0")
    root = room.root
    generate(room.root)
    room.hand_in("alice", {p: notebook(p, reference_code(p)) for p in PARTS})
    room.hand_in("bob", {"smoother": notebook("smoother", FLIPPED.code),
                         **{p: notebook(p, reference_code(p)) for p in PARTS if p != "smoother"}})  # fmt: skip
    room.hand_in("carol", dict.fromkeys(PARTS))  # as released
    room.hand_in("mallory", {"smoother": notebook("smoother", GRADEBOOK_ATTACK.code),
                             **dict.fromkeys(p for p in PARTS if p != "smoother")})  # fmt: skip
    vocab = root / "submitted" / "mallory" / ASSIGNMENT / "vocab.ipynb"
    nb = nbformat.read(vocab, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(MARKDOWN_ATTACK))
    nbformat.write(nb, vocab)
    for i in range(3):  # not notebooks of the assignment: nbgrader skips them, and so does the prefetch
        nbformat.write(notebook("smoother", "while True:\n    pass\n"), vocab.with_name(f"scratch{i}.ipynb"))
    room.hand_in("dave", edited(root))
    room.hand_in("trudy", {"smoother": notebook("smoother", LEFT_BEHIND), "vocab": notebook("vocab", PARSER_BREAKER),
                           "attention": None, "masking": None})  # fmt: skip
    room.hand_in("zoe", {p: notebook(p, reference_code(p)) for p in PARTS})  # graded after trudy
    nbgrader(root, "autograde", ASSIGNMENT)
    nbgrader(root, "generate_feedback", ASSIGNMENT)
    nbgrader(root, "export")
    return root


def scores(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.id: {p: gb.find_submission_notebook(p, ASSIGNMENT, s.id).score for p in PARTS} for s in gb.students}


def test_init_refuses_an_existing_course_and_force_keeps_grades(course):
    with pytest.raises(CourseError, match="already a course"):
        init(directory=course)
    before = scores(course)
    init(directory=course, force=True)
    assert scores(course) == before
    assert (course / "gradebook.db").exists()
    assert (course / "submitted" / "alice").exists()


def test_the_gradebook_holds_full_marks_partial_credit_and_zeros(course, tmp_path):
    got = scores(course)
    assert got["alice"] == dict.fromkeys(PARTS, 10.0)
    assert got["carol"] == dict.fromkeys(PARTS, 0.0)
    assert got["mallory"] == dict.fromkeys(PARTS, 0.0)
    assert got["trudy"] == dict.fromkeys(PARTS, 0.0)
    assert got["zoe"] == dict.fromkeys(PARTS, 10.0)  # after trudy's leftovers and parser breaker
    # bob's partial credit is what `autograder grade` gives the same notebook
    path = tmp_path / "smoother.ipynb"
    nbformat.write(notebook("smoother", FLIPPED.code), path)
    expected = grade(submissions=[path], progress=False).submissions[0].score
    assert 0 < expected < 10
    assert got["bob"] == {**dict.fromkeys(PARTS, 10.0), "smoother": expected}


def test_the_attacker_found_no_gradebook_and_changed_no_score(course):
    autograded = nbformat.read(course / "autograded" / "mallory" / ASSIGNMENT / "smoother.ipynb", as_version=4)
    report = "".join(
        str(o.get("data", {}).get("text/html", "")) for c in autograded.cells for o in c.get("outputs", [])
    )
    assert "gradebooks touched: []" in report
    got = scores(course)
    assert got["alice"]["smoother"] == 10.0
    assert got["carol"]["smoother"] == 0.0


def test_edited_and_deleted_grade_cells_are_restored_and_scored(course):
    got = scores(course)["dave"]
    assert got["smoother"] == 10.0  # the grade cell said print(10.0): restored, then scored by the suite
    assert got["vocab"] == 10.0  # the grade cell was deleted: put back by nbgrader, then scored
    vocab = nbformat.read(course / "autograded" / "dave" / ASSIGNMENT / "vocab.ipynb", as_version=4)
    assert any(c.metadata.get("nbgrader", {}).get("grade_id") == "vocab_hidden_tests" for c in vocab.cells)


def test_a_renamed_function_gets_a_clear_message_and_zero(course):
    assert scores(course)["dave"]["attention"] == 0.0
    nb = nbformat.read(course / "autograded" / "dave" / ASSIGNMENT / "attention.ipynb", as_version=4)
    report = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells for o in c.get("outputs", []))
    assert "your code does not define scaled_dot_product_attention" in report


def test_a_stray_warning_on_stderr_does_not_zero_a_correct_part(course):
    assert scores(course)["dave"]["masking"] == 10.0


def test_the_grade_cell_holds_a_plain_float_for_nbgrader(course):
    nb = nbformat.read(course / "autograded" / "bob" / ASSIGNMENT / "smoother.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    result = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(result) == 1
    assert float(result[0].data["text/plain"]) == scores(course)["bob"]["smoother"]
    assert not [o for o in cell.outputs if o.output_type in ("error", "stream")]


def feedback(course: Path, student: str, part: str) -> str:
    return (course / "feedback" / student / ASSIGNMENT / f"{part}.html").read_text()


@pytest.mark.parametrize("student", ["alice", "bob", "carol", "mallory", "dave"])
def test_feedback_has_a_page_per_notebook_with_checks_and_a_picture(course, student):
    pages = {p: feedback(course, student, p) for p in PARTS}
    for part, page in pages.items():
        assert f"{part}: " in page
        assert "autograder-report" in page
        assert "Checked on the CPU" in page
    if student in ("alice", "bob"):
        assert all("data:image/png" in page for page in pages.values())
        assert all("check(s) passed" in page for page in pages.values())


def test_feedback_names_the_mistake(course):
    page = feedback(course, "bob", "smoother")
    assert "thing(s) to fix" in page
    assert "the kernel is flipped" in page


def test_a_students_markdown_is_inert_in_the_feedback_and_the_report_is_intact(course):
    page = feedback(course, "mallory", "vocab")
    notes = page[page.index("My notes") :].split("</p>", 1)[0]
    assert notes == (
        "My notes &lt;script&gt;document.title = 'pwned'&lt;/script&gt; and "
        '<img alt="No description has been provided for this image" src="x"/> and <a>a link</a>, '
        'with <code>"&lt;pad&gt;"</code> in a code span.'
    )
    assert "<script>document" not in page
    assert "onerror" not in page
    assert "javascript:alert" not in page
    # the report as HiddenSuites built it, styles and all (nbconvert writes its attributes with double quotes)
    assert '<div class="autograder-report"><h3>vocab: 0 / 10 points</h3><p>Checked on the CPU' in page
    assert '<th style="text-align:left;padding-right:1em">group of checks</th>' in page


def hidden_lines() -> set[str]:
    """Lines of the suites and the reference worth looking for: code, not blank lines or brackets."""
    lines = set()
    for path in [*(ROOT / "autograder" / "suites").glob("*.py"), *(ROOT / "solutions").glob("*.py")]:
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 24 and not line.startswith(("#", '"""')):
                lines.add(line)
    return lines


@pytest.mark.parametrize("student", ["alice", "bob", "carol", "dave"])
def test_feedback_shows_no_suite_reference_or_hidden_input(course, student):
    shown = []  # what the student saw or wrote: the released notebooks and their own
    for part in PARTS:
        for nb in (
            Classroom(course).released(part),
            nbformat.read(course / "submitted" / student / ASSIGNMENT / f"{part}.ipynb", 4),
        ):
            shown += [cell.source for cell in nb.cells]
    shown_text = "\n".join(shown)
    secret = {line for line in hidden_lines() if line not in shown_text}
    assert len(secret) > 200
    for part in PARTS:
        text = html.unescape(re.sub(r"<[^>]+>", "", feedback(course, student, part)))
        leaked = [line for line in secret if line in text]
        assert leaked == [], leaked[:5]
        report = feedback(course, student, part).split("autograder-report", 1)[1].split("</div>", 1)[0]
        assert "tensor(" not in report
        assert "Generator" not in report
        assert "seed" not in report


def test_export_lists_every_student_with_their_total(course):
    with open(course / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    totals = {row["student_id"]: float(row["score"]) for row in rows if row["assignment"] == ASSIGNMENT}
    got = scores(course)
    assert set(totals) == {"alice", "bob", "carol", "dave", "mallory", "trudy", "zoe"}
    for student, total in totals.items():
        assert total == pytest.approx(sum(got[student].values()))
    assert totals["alice"] == 40.0
    assert totals["carol"] == 0.0


def test_no_student_code_ran_in_a_kernel(course):
    """nbgrader's Execute is gone: no notebook in autograded/ has a kernel's output of student code."""
    for path in (course / "autograded").rglob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue
            assert cell.get("outputs", []) == [], path
            assert cell.get("execution_count") is None, path
