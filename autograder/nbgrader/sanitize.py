"""Feedback pages in which nothing a student wrote is live HTML.

nbgrader's ``generate_feedback`` renders each markdown cell of the student's notebook to HTML as it
is: a ``<script>`` or an ``<img onerror=...>`` in a markdown cell would run in whoever opens the
feedback. ``FeedbackHTML`` is nbgrader's exporter with the HTML of every rendered markdown cell
cleaned by bleach (after rendering, so that markdown such as a code span holding ``"<pad>"`` shows
as written); ``SanitizeOutputs`` cleans the outputs of code cells and raw cells, except the grade
cell's report, which ``HiddenSuites`` built from escaped text. The page fits a narrow screen (a
phone, 400 pixels): pictures scale down to the width of the window, wide code, outputs and tables
scroll inside their own box, never the page.
"""

from __future__ import annotations

from typing import Any

import bleach
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat import NotebookNode

from autograder.nbgrader.layout import grade_cell_part
from autograder.parts import PARTS

#: What rendered markdown may hold: structure and text, links, images; no scripts, handlers or styles.
TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    *(f"h{n}" for n in range(1, 7)),
    *("p", "br", "hr", "pre", "code", "span", "div", "img", "sup", "sub", "del", "s", "kbd"),
    *("table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "details", "summary"),
}
PROTOCOLS = frozenset(bleach.ALLOWED_PROTOCOLS)


def _attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id", "title") or (tag in ("th", "td") and name == "align"):
        return True
    data = value.strip().lower().startswith("data:")
    if tag == "a" and name == "href":  # bleach itself drops javascript: and every protocol not in PROTOCOLS
        return not data
    if tag == "img" and name in ("alt", "width", "height"):
        return True
    if tag == "img" and name == "src":  # an attachment is embedded as a data: URL: an image, never SVG
        lowered = value.strip().lower()
        return not data or (lowered.startswith("data:image/") and not lowered.startswith("data:image/svg"))
    return False


def clean_html(text: str) -> str:
    """HTML with every tag, attribute and URL outside the lists above made inert (escaped or dropped)."""
    return bleach.clean(text, tags=TAGS, attributes=_attribute, protocols=PROTOCOLS | {"data"}, strip_comments=True)


#: Added to the head of every feedback page: the window's width is the page's, pictures scale down to it,
#: and what cannot be narrowed (code, outputs, tables) scrolls in its own box.
NARROW_SCREEN = """<meta name="viewport" content="width=device-width, initial-scale=1">
<style type="text/css">
img { max-width: 100%; height: auto; }
pre, div.highlight, div.output_subarea, div.text_cell_render, table { max-width: 100%; overflow-x: auto; }
table { display: block; }
div.output_subarea { min-width: 0; }
.autograder-report { overflow-wrap: anywhere; }
@media (max-width: 640px) {
  div.prompt { display: none; }
  div.container, div.panel-body, div.inner_cell, div.output_area { padding-left: 2px; padding-right: 2px; }
}
</style>
"""


class FeedbackHTML(HTMLExporter):
    """nbgrader's feedback exporter, whose rendered markdown is cleaned (``clean_html``), for any screen."""

    def from_notebook_node(self, nb: NotebookNode, resources: Any = None, **kw: Any) -> Any:
        page, resources = super().from_notebook_node(nb, resources, **kw)
        at = page.find("</head>")
        return (page[:at] + NARROW_SCREEN + page[at:] if at >= 0 else NARROW_SCREEN + page), resources

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        return clean_html(super().markdown2html(context, source))


def is_report(cell: NotebookNode) -> bool:
    """The grade cell whose outputs ``HiddenSuites`` wrote (its part's ``<part>_hidden_tests``)."""
    return grade_cell_part(cell) in PARTS


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's SanitizeHTML for the outputs of code cells and for raw cells, but not the report.

    Markdown cells are left to ``FeedbackHTML``, which cleans them after rendering: bleach on the
    markdown source would escape the ``<`` of code spans, which would then show as ``&lt;``.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type == "markdown" or (cell.cell_type == "code" and is_report(cell)):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)
