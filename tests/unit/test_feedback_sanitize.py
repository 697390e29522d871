"""Is what a student wrote inert in the feedback HTML, while the grade cell's report stays as built?"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.nbgrader.sanitize import NARROW_SCREEN, FeedbackHTML, SanitizeOutputs, clean_html

ATTACK = '<script>alert("x")</script> <img src=x onerror="alert(1)"> <a href="javascript:alert(2)">link</a>'


def test_scripts_handlers_and_javascript_urls_are_made_inert():
    assert clean_html(ATTACK) == ('&lt;script&gt;alert("x")&lt;/script&gt; <img src="x"> <a>link</a>')


def test_rendered_markdown_keeps_its_structure_and_code_spans():
    html = clean_html(
        '<h2 id="a">Title</h2><p>see <code>vocab["&lt;pad&gt;"]</code> and <a href="https://x.org">x</a></p>'
    )
    assert html == '<h2 id="a">Title</h2><p>see <code>vocab["&lt;pad&gt;"]</code> and <a href="https://x.org">x</a></p>'


def test_the_feedback_exporter_cleans_markdown_after_rendering():
    nb = new_notebook(cells=[new_markdown_cell("# Notes\n\n" + ATTACK + '\n\nthe special `"<unk>"`')])
    body, _ = FeedbackHTML(template_name="classic").from_notebook_node(nb)
    cell = body.split('class="text_cell_render', 1)[1].split("</div>", 1)[0]
    assert "<script" not in cell
    assert "onerror" not in cell
    assert "javascript:" not in cell
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in cell
    assert '<code>"&lt;unk&gt;"</code>' in cell  # shows as written, not as &amp;lt;


def test_outputs_are_sanitised_except_the_report_of_the_grade_cell():
    report = "<div class='autograder-report'><h3>smoother: 10 / 10 points</h3><p style='color:#b22'>x</p></div>"
    graded = new_code_cell("", outputs=[new_output("display_data", data={"text/html": report})])
    graded.metadata["nbgrader"] = {"grade": True, "grade_id": "smoother_hidden_tests", "points": 10}
    student = new_code_cell(
        "", outputs=[new_output("display_data", data={"text/html": ATTACK, "application/javascript": "x"})]
    )
    nb, _ = SanitizeOutputs().preprocess(new_notebook(cells=[graded, student]), {})
    assert nb.cells[0].outputs[0].data["text/html"] == report
    assert nb.cells[1].outputs[0].data == {"text/html": clean_html_default(ATTACK)}
    nbformat.validate(nb)


def clean_html_default(text: str) -> str:
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    return SanitizeHTML().sanitize_html_tags(text)


def test_the_feedback_page_is_made_for_a_narrow_screen():
    """Do pictures scale to the window, and does what cannot narrow scroll in its own box (head of the page)?"""
    body, _ = FeedbackHTML(template_name="classic").from_notebook_node(new_notebook(cells=[new_markdown_cell("x")]))
    head = body.split("</head>", 1)[0]
    assert NARROW_SCREEN in head
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in NARROW_SCREEN
    assert "img { max-width: 100%; height: auto; }" in NARROW_SCREEN
    assert (
        "pre, div.highlight, div.output_subarea, div.text_cell_render, table { max-width: 100%; overflow-x: auto; }"
        in NARROW_SCREEN
    )
    assert body.count(NARROW_SCREEN) == 1
