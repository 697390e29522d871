"""Are notebooks graded as Jupyter runs them, cell by cell, with messages that name the cell and its line?

One batch grades real notebooks (the nbgrader source notebooks, edited as a student would) through
``grade``, in the real sandbox.
"""

import nbformat
import pytest

from autograder.grade import grade
from autograder.nbgrader import notebooks
from autograder.submission import MARKER


def source_notebook(part: str) -> nbformat.NotebookNode:
    """The source notebook of ``part`` without its solution markers: the reference in its answer cells,
    as a student could have written it (a notebook with the markers is refused, not graded)."""
    nb = notebooks.source_notebook(part)
    for cell in nb.cells:
        cell.source = "\n".join(line for line in cell.source.splitlines() if not MARKER.match(line))
    return nb


def edited(part: str, **edits) -> nbformat.NotebookNode:
    """The source notebook of ``part`` (the reference in its answer cells), its cells changed by grade_id.

    An edit is a function of the cell's source giving the new source, or "markdown" to turn the
    cell into markdown (its metadata stays, as Jupyter keeps it).
    """
    nb = source_notebook(part)
    for cell in nb.cells:
        edit = edits.pop(cell.metadata.get("nbgrader", {}).get("grade_id", ""), None)
        if edit == "markdown":
            cell.cell_type = "markdown"
            del cell["outputs"], cell["execution_count"]
        elif edit is not None:
            cell.source = edit(cell.source)
    assert not edits, f"no answer cell {edits}"
    return nb


def with_helper(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``gaussian_kernel`` uses ``offsets``, defined in a code cell of its own that is not an answer cell (cell 6)."""
    helper = "def offsets(size):\n    return torch.arange(size, dtype=torch.float32) - (size - 1) / 2\n"
    nb.cells.insert(5, nbformat.v4.new_code_cell(helper))
    kernel = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "gaussian_kernel")
    kernel.source = (
        "def gaussian_kernel(size: int, sigma: float = 1.0) -> Tensor:\n"
        "    if size < 1 or sigma <= 0:\n"
        "        raise ValueError('size must be at least 1 and sigma positive')\n"
        "    x = offsets(size)\n"
        "    k = torch.exp(-(x**2) / (2 * sigma**2))\n"
        "    return k / k.sum()\n"
    )
    return nb


NOTEBOOKS = {
    "magics": edited(
        "smoother",
        gaussian_kernel=lambda s: (
            "%matplotlib inline\n" + s + "\n%timeit gaussian_kernel(8)\n!pip list\ngaussian_kernel?\n"
        ),
        smooth=lambda s: "%%time\n" + s,
    ),
    "broken-tokenize": edited("vocab", tokenize=lambda s: s.replace("def tokenize(", "def tokenize(:\n    (", 1)),
    "stray-line": edited("smoother", gaussian_kernel=lambda s: s + "\nprint(x.shape)\n"),
    "markdown": edited("vocab", tokenize="markdown"),
    "helper": with_helper(source_notebook("smoother")),
    "bash": edited("smoother", smooth=lambda s: "%%bash\necho hi\n" + s),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The record of each notebook of ``NOTEBOOKS``, by name, graded in one batch."""
    d = tmp_path_factory.mktemp("cells")
    paths = []
    for name, nb in NOTEBOOKS.items():
        nbformat.write(nb, d / f"{name}.ipynb")
        paths.append(d / f"{name}.ipynb")
    report = grade(submissions=paths, progress=False)
    return {record.path.rsplit("/", 1)[-1].removesuffix(".ipynb"): record for record in report.submissions}


def messages(part, start: str = "") -> list[str]:
    return [c.message for c in part.checks if c.failed and c.name.startswith(start)]


def test_magics_in_answer_cells_are_skipped_with_notes_and_a_correct_solution_gets_full_marks(graded):
    [part] = graded["magics"].parts
    assert (part.score, part.error, messages(part)) == (10.0, "", [])
    source = NOTEBOOKS["magics"].cells[5].source
    lines = source.splitlines()
    at = lines.index("%timeit gaussian_kernel(8)") + 1
    assert part.notes == [
        "answer cell 1 (gaussian_kernel), line 1: IPython magic %matplotlib skipped",
        f"answer cell 1 (gaussian_kernel), line {at}: IPython magic %timeit skipped",
        f"answer cell 1 (gaussian_kernel), line {at + 1}: shell command !pip skipped",
        f"answer cell 1 (gaussian_kernel), line {at + 2}: IPython help gaussian_kernel? skipped",
        "answer cell 2 (smooth), line 1: IPython cell magic %%time skipped",
    ]


def test_a_syntax_error_in_one_cell_costs_only_what_that_cell_defines(graded):
    [part] = graded["broken-tokenize"].parts
    said = "answer cell 3 (tokenize), line 1: SyntaxError: invalid syntax; the cell was not run"
    assert part.notes == [said]
    assert part.error == ""
    assert messages(part, "build_vocab") == []
    assert any(c.passed for c in part.checks if c.name.startswith("build_vocab"))
    tokenize = messages(part, "tokenize")
    assert tokenize
    assert all(m == f"your code does not define tokenize: {said}" for m in tokenize)
    assert 0 < part.score < 10


def test_a_failing_test_line_is_a_note_that_names_its_cell_and_where_its_variable_lives(graded):
    [part] = graded["stray-line"].parts
    assert part.score == 10.0
    line = NOTEBOOKS["stray-line"].cells[5].source.splitlines().index("print(x.shape)") + 1
    assert part.notes == [
        f"answer cell 1 (gaussian_kernel), line {line} raised NameError: name 'x' is not defined "
        "(the line was skipped): `x` is defined in a cell that is not an answer cell (cell 4): only answer "
        "cells are graded; move it into an answer cell"
    ]


def test_an_answer_cell_turned_into_markdown_is_named_and_the_rest_is_graded(graded):
    [part] = graded["markdown"].parts
    said = "answer cell `tokenize` is a markdown cell: its code was not graded"
    assert part.notes == [said]
    assert messages(part, "build_vocab") == []
    assert all(m == f"your code does not define tokenize: {said}" for m in messages(part, "tokenize"))
    assert 0 < part.score < 10


def test_a_helper_defined_outside_the_answer_cells_is_named_as_such_with_the_cell_and_line_of_the_call(graded):
    [part] = graded["helper"].parts
    kernel = messages(part, "gaussian_kernel")
    assert kernel
    expected = (
        "raised NameError: name 'offsets' is not defined: `offsets` is defined in a cell that is not an answer "
        "cell (cell 6): only answer cells are graded; move it into an answer cell "
        "(at answer cell 1 (gaussian_kernel), line 4, in gaussian_kernel: x = offsets(size))"
    )
    assert any(m.endswith(expected) for m in kernel), kernel
    assert messages(part, "smooth ") == []  # smooth, in its own cell, is graded on its own


def test_a_cell_magic_that_is_not_python_leaves_out_its_cell(graded):
    [part] = graded["bash"].parts
    said = "answer cell 2 (smooth), line 1: IPython cell magic %%bash: the cell is not Python and was not run"
    assert part.notes == [said]
    assert all(m == f"your code does not define smooth: {said}" for m in messages(part, "smooth"))
    assert messages(part, "gaussian_kernel") == []
