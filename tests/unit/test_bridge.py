"""Does the nbgrader bridge find a notebook's grade cell and write a score nbgrader reads as partial credit?

The notebooks are built in memory (nbformat.v4); nbgrader's own ``determine_grade`` reads the cell.
"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.utils import determine_grade

from autograder.nbgrader.bridge import HiddenSuites, notebook_part
from autograder.records import Check, PartResult, SubmissionRecord

ENVIRONMENT = {"devices": ["cpu"], "sandbox": "bubblewrap"}


def grade_cell(grade_id: str, points: float = 2.0) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": grade_id, "points": points}}
    return new_code_cell("# the hidden tests score this cell", metadata=meta)


def check(name: str, passed: bool, points: float, message: str = "", hint: str = "") -> Check:
    """A scored check: ``points`` earned if it passed."""
    earned = points if passed else 0.0
    return Check(
        name, "matches the reference", passed=passed, message=message, hint=hint, points=earned, max_points=points
    )


def part_record(score: float, **more) -> PartResult:
    checks = [
        check("matches the reference", True, score),
        check("symmetric", False, 10.0 - score, "differs", "off-centre"),
    ]
    return PartResult("smoother", checks, **more)


def record(*parts: PartResult, **more) -> SubmissionRecord:
    return SubmissionRecord("alice/attention/smoother.ipynb", wanted=["smoother"], parts=list(parts), **more)


def test_the_grade_cell_names_the_notebooks_part():
    cell = grade_cell("masking_hidden_tests")
    nb = new_notebook(cells=[new_markdown_cell("# masking"), grade_cell("masking_visible"), cell])
    part, found = notebook_part(nb)
    assert part == "masking"
    assert found is cell


def test_a_notebook_without_a_grade_cell_of_a_part_has_none():
    not_graded = new_code_cell("x", metadata={"nbgrader": {"grade": False, "grade_id": "smoother_hidden_tests"}})
    nb = new_notebook(cells=[grade_cell("homework_hidden_tests"), not_graded, new_code_cell("y")])
    assert notebook_part(nb) == ("", None)


def test_the_grade_cell_gets_the_report_the_pictures_and_the_score_scaled_to_its_points():
    cell = grade_cell("smoother_hidden_tests", points=2.0)
    figures = [{"title": "your kernel beside the reference's", "png": "iVBORw0KGgo="}]
    HiddenSuites().write(cell, record(part_record(7.5, figures=figures)), "smoother", ENVIRONMENT, "")
    report, picture, result = cell.outputs
    assert report.output_type == "display_data"
    assert report.data["text/plain"] == "smoother: 1.5 points"
    html = report.data["text/html"]
    assert "<h3>smoother: 7.5 / 10 points</h3>" in html
    assert "Checked on the CPU (this grader has no GPU: the device checks record" in html
    assert "Sandbox: bubblewrap." in html
    assert (
        "<b>symmetric</b> (cpu; 2.50 points)<br><span style='color:#b22;overflow-wrap:anywhere'>differs</span><br><b>Hint:</b> off-centre"
        in html
    )
    assert picture.data == {"image/png": "iVBORw0KGgo=", "text/plain": "your kernel beside the reference's"}
    assert picture.metadata == {"image/png": {"alt": "your kernel beside the reference's"}}
    assert (result.output_type, result.data, result.execution_count) == ("execute_result", {"text/plain": "1.5"}, 1)
    assert determine_grade(cell) == (1.5, 2.0)


def test_full_marks_are_the_cells_points_exactly():
    cell = grade_cell("smoother_hidden_tests", points=3.0)
    HiddenSuites().write(cell, record(part_record(10.0)), "smoother", ENVIRONMENT, "")
    assert cell.outputs[-1].data == {"text/plain": "3.0"}
    assert determine_grade(cell) == (3.0, 3.0)


def test_a_note_on_the_notebook_comes_first_in_the_report():
    cell = grade_cell("smoother_hidden_tests")
    note = "no nbgrader answer cells: graded every code cell"
    HiddenSuites().write(cell, record(part_record(5.0)), "smoother", ENVIRONMENT, note)
    assert cell.outputs[0].data["text/html"].startswith(f"<p><i>{note}</i></p><div class='autograder-report'>")


def test_a_record_without_the_part_scores_0_with_its_error_escaped():
    cell = grade_cell("smoother_hidden_tests", points=2.0)
    unread = record(error="could not read <smoother.ipynb>: it has no list of cells")
    HiddenSuites().write(cell, unread, "smoother", ENVIRONMENT, "")
    report, result = cell.outputs
    assert report.data == {
        "text/html": "<p><b>could not read &lt;smoother.ipynb&gt;: it has no list of cells</b></p>",
        "text/plain": "smoother: 0 points",
    }
    assert result.data == {"text/plain": "0.0"}
    assert determine_grade(cell) == (0.0, 2.0)


def test_outputs_already_in_the_cell_are_replaced():
    cell = grade_cell("smoother_hidden_tests")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="a warning")]
    HiddenSuites().write(cell, record(part_record(10.0)), "smoother", ENVIRONMENT, "")
    assert [o.output_type for o in cell.outputs] == ["display_data", "execute_result"]
    assert determine_grade(cell) == (2.0, 2.0)


def test_the_report_in_the_grade_cell_reveals_what_the_course_configuration_says():
    from traitlets.config import Config

    c = Config()
    c.HiddenSuites.show_hints = False
    c.HiddenSuites.show_check_names = False
    cell = grade_cell("smoother_hidden_tests")
    HiddenSuites(config=c).write(cell, record(part_record(7.5)), "smoother", ENVIRONMENT, "")
    html = cell.outputs[0].data["text/html"]
    assert "off-centre" not in html
    assert "Hint" not in html
    assert "<b>symmetric</b>" not in html
    assert "<b>matches the reference</b> (cpu; 2.50 points)" in html
    assert "<h3>smoother: 7.5 / 10 points</h3>" in html
    assert determine_grade(cell) == (1.5, 2.0)
