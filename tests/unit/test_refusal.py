"""Is a notebook that is one of the course's source notebooks, or still carries its solution markers,
refused with 0 points and a flag, and are its answers kept out of what the student sees?"""

from pathlib import Path

import nbformat

from autograder.dev.examples import notebook, reference_code
from autograder.feedback import part_html
from autograder.grade import grade
from autograder.nbgrader.bridge import HiddenSuites
from autograder.nbgrader.notebooks import BEGIN, END, reference_bodies, source_notebook
from autograder.report import class_table
from autograder.submission import MARKERS_LEFT, SOURCE_NOTEBOOK, load
from tests.unit.test_grade import Runner, found


def stripped(part: str, change=lambda s: s) -> nbformat.NotebookNode:
    """The source notebook of ``part`` without its markers (and ``change`` made to each answer cell)."""
    nb = source_notebook(part)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            lines = [line for line in cell.source.split("\n") if line.strip() not in (BEGIN, END)]
            cell.source = change("\n".join(lines))
    return nb


def write(path: Path, nb: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_the_source_notebook_is_refused_for_its_markers(tmp_path):
    sub = load(write(tmp_path / "smoother.ipynb", source_notebook("smoother")))
    assert sub.refused == MARKERS_LEFT
    record = sub.record()
    assert [(p.part, p.score, p.error, p.flags) for p in record.parts] == [
        ("smoother", 0, MARKERS_LEFT, [MARKERS_LEFT])
    ]
    assert record.max_score == 10


def test_one_marker_in_a_python_file_is_enough(tmp_path):
    path = tmp_path / "vocab.py"
    path.write_text(reference_code("vocab") + "\n    #  ### end solution\n")
    assert load(path).refused == MARKERS_LEFT


def test_the_reference_answers_without_markers_or_with_other_whitespace_are_refused(tmp_path):
    for part in ("vocab", "masking"):
        assert load(write(tmp_path / f"{part}.ipynb", stripped(part))).refused == SOURCE_NOTEBOOK
        spaced = stripped(part, lambda s: s.replace("\n", "\n\n").replace(" = ", "  =  ") + "\n\n")
        assert load(write(tmp_path / f"{part}2.ipynb", spaced)).refused == SOURCE_NOTEBOOK


def test_an_edited_source_notebook_of_the_course_is_refused_in_its_tree(tmp_path):
    edit = stripped("attention", lambda s: s.replace("return", "return  ") + "\n# the teacher's own edit")
    (tmp_path / "nbgrader_config.py").write_text("")
    write(tmp_path / "source" / "a1" / "attention.ipynb", edit)
    inside = write(tmp_path / "submitted" / "ada" / "a1" / "attention.ipynb", edit)
    assert load(inside).refused == SOURCE_NOTEBOOK
    assert load(write(tmp_path.parent / "elsewhere" / "attention.ipynb", edit)).refused == ""  # no course: unknown


def test_the_students_own_work_is_not_refused(tmp_path):
    for part in ("smoother", "vocab", "attention", "masking"):
        assert load(write(tmp_path / f"{part}.ipynb", notebook(part, reference_code(part)))).refused == ""
        released = nbformat.reads(nbformat.writes(notebook(part, "")), as_version=4)
        assert load(write(tmp_path / f"{part}_stub.ipynb", released)).refused == ""
    assert load(write(tmp_path / "x.ipynb", stripped("vocab", lambda s: s + "\nx = 1"))).refused == ""


def test_autograder_grade_gives_a_refused_notebook_0_and_a_flag_without_grading_it(tmp_path):
    root = tmp_path / "submitted"
    write(root / "ada" / "a1" / "smoother.ipynb", source_notebook("smoother"))
    honest = root / "bob" / "a1" / "smoother.py"
    honest.parent.mkdir(parents=True)
    honest.write_text("def smooth(signal, kernel):\n    return signal  # score 7\n")
    runner = Runner()
    report = grade(submissions=[root], runner=runner, detect=found, progress=False)
    assert runner.graded == ["smoother.py"]
    assert [(r.student, r.score, r.max_score) for r in report.submissions] == [("ada", 0, 10), ("bob", 7, 10)]
    assert report.submissions[0].parts[0].flags == [MARKERS_LEFT]
    assert class_table(report).splitlines()[1:3] == ["ada                0         0", "bob                7         7"]


def test_the_feedback_of_a_refused_notebook_holds_no_reference_code():
    nb = source_notebook("vocab")
    HiddenSuites.blank(nb, MARKERS_LEFT)
    record = load_record(nb)
    text = nbformat.writes(nb) + part_html(record, {"devices": ["cpu"], "sandbox": "bubblewrap"})
    bodies = [b for b in reference_bodies().values() if len(b.strip().splitlines()) > 1]
    assert bodies
    assert not [b for b in bodies if b.strip().splitlines()[-1].strip() in text]
    assert BEGIN not in nbformat.writes(nb)
    assert MARKERS_LEFT in text


def load_record(nb):
    from autograder.records import PartResult

    return PartResult("vocab", error=MARKERS_LEFT, flags=[MARKERS_LEFT])


def test_the_reference_answers_read_without_nbformat_are_the_source_notebooks():
    """The grader reads the source notebooks as plain JSON (nbformat's import costs a second): same answers."""
    from autograder.nbgrader.notebooks import source_json
    from autograder.submission import notebook_answers

    for part in ("smoother", "vocab", "attention", "masking"):
        assert notebook_answers(source_json(part))[0].code == notebook_answers(source_notebook(part))[0].code
