"""Is a part one registry entry, one solution, one suite? A toy fifth part is written and graded like the four.

The toy part follows ``docs/writing-a-part.md`` step by step: its reference (1), its notebook (2),
its registry entry (3), its suite written with the kit (4), its examples (5) and its tests (6). The
reference lives in a temporary folder as ``toy_solution.py``, since a test writes nothing into
``solutions/``.
"""

import importlib.util
import textwrap

import nbformat
import pytest

from autograder import submission
from autograder.dev.corpus import verdict, write
from autograder.dev.examples import Example
from autograder.grade import grade
from autograder.nbgrader.notebooks import BEGIN, END, fill_stubs
from autograder.parts import PARTS, Part
from autograder.sandbox.launch import Limits
from autograder.suites.compare import difference, recognise

# 1. The reference: the function and its docstring, the spec the notebook's stub copies.
SOLUTION = '''
import torch


def double(x):
    """2 x, of the shape, dtype and device of x.

    Args:
        x: a tensor (...), of any shape.
    """
    return 2 * x
'''

# 4. The suite, with the kit: points, inputs, known mistakes, expect_double, the checks, pictures.
SUITE = '''
"""Hidden suite of the toy part: double."""

import pytest
import torch

from autograder.suites.kit import (
    EDGE_CASES,
    MATCHES,
    Mistake,
    Mistakes,
    Student,
    describe_call,
    drawable,
    expect_same,
    generator,
    group,
    np,
    on_devices,
    png,
    why,
)
from toy_solution import double

POINTS = {MATCHES: 8.0, EDGE_CASES: 2.0}


# ---------------------------------------------------------------- inputs

#: the shape of x by name; the notebook's example is the one the student saw.
CASES = {"notebook example": None, "batch of 3": (3, 4)}


def inputs(case: str, seed: int, dtype=torch.float32, device: str = "cpu"):
    """double's (x,) of ``case``."""
    if CASES[case] is None:
        x = torch.arange(6.0).reshape(2, 3)
    else:
        x = torch.randn(CASES[case], generator=generator(seed))
    return (x.to(dtype).to(device),)


# ---------------------------------------------------------------- known mistakes

MISTAKES: Mistakes = {
    "double": [
        Mistake("x is multiplied by 3: double multiplies by 2", lambda x: 3 * x),
        Mistake("x is squared: double is 2 * x, not x * x", lambda x: x * x),
    ],
}


def expect_double(student: Student, x, *, device: str = "cpu", keep=None) -> None:
    """The student's double(x) is the reference's; else the hint of a known mistake."""
    got = student.call("double", x)
    expected = double(x)
    if keep is not None:
        keep("doubled", x=x, got=got, expected=expected)
    call = describe_call("double", (x,), ("x",)) + f" on {device}"
    expect_same(got, expected, call=call, mistakes=MISTAKES["double"], args=(x,))


# ---------------------------------------------------------------- the checks


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("case", list(CASES))
def test_double_matches_the_reference(student, device, case, seed, keep):
    """double matches the reference"""
    picture = keep if case == "notebook example" and device == "cpu" else None
    expect_double(student, *inputs(case, seed, device=device), device=device, keep=picture)


@group(EDGE_CASES)
def test_double_of_an_empty_tensor(student):
    """double of an empty tensor"""
    expect_double(student, torch.zeros(0))


# ---------------------------------------------------------------- feedback pictures


def pictures(kept: dict, plt) -> list[dict]:
    if "doubled" not in kept:
        return []
    data = kept["doubled"]
    expected = data["expected"]
    got = drawable(data["got"], expected.shape)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np(data["x"].flatten()), np(expected.flatten()), "o", label="reference")
    if got is not None:
        ax.plot(np(data["x"].flatten()), np(got.flatten()), "x", label="yours")
    ax.set_title("double on the notebook's x" + ("" if got is not None else f" ({why(data['got'], expected)})"))
    ax.legend()
    return [{"title": "Your double beside the reference's", "png": png(fig)}]


# ---------------------------------------------------------------- for the benchmark

INLINE_TESTS = """
assert double(torch.arange(6.0).reshape(2, 3)).tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
"""
'''

# 2. The notebook, student version: an answer cell with the stub, a visible check, the grade cell.
STUB = '''def double(x):
    """2 x, of the shape, dtype and device of x.

    Args:
        x: a tensor (...), of any shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError()'''


def toy_notebook(answer: str = STUB) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Part 5: doubling"),
        nbformat.v4.new_code_cell("import torch\n\nx = torch.arange(6.0).reshape(2, 3)"),
        nbformat.v4.new_code_cell(
            answer, metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "double"}}
        ),
        nbformat.v4.new_code_cell("assert double(x).tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]"),
        nbformat.v4.new_code_cell(
            "# The hidden tests of the toy part (10 points).\nassert double(x).shape == x.shape",
            metadata={"nbgrader": {"grade": True, "locked": True, "points": 10, "grade_id": "toy_hidden_tests"}},
        ),
    ]
    return nb


# 5. The examples: a known mistake as an edit of the reference, a correct solution written differently.
EXAMPLES = [
    Example("x tripled", "toy", SOLUTION.replace("return 2 * x", "return 3 * x"), "multiplied by 3"),
    Example("x squared", "toy", SOLUTION.replace("return 2 * x", "return x * x"), "squared"),
    Example("x + x", "toy", "def double(x):\n    return x + x\n", "full"),
]


@pytest.fixture
def toy_part(tmp_path, monkeypatch):
    """A fifth part: its solution module, its suite file, and its registry entry (3; nothing else changes)."""
    (tmp_path / "toy_solution.py").write_text(SOLUTION)
    # a submission is refused if it is a source notebook's answers, built from solutions/ and assignments/ for
    # every part: built (and kept) for the four before the toy, which has neither, joins the registry
    submission._reference_answers()
    suite = tmp_path / "toy.py"
    suite.write_text(textwrap.dedent(SUITE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(PARTS, "toy", Part("toy", ("double",), suite=suite))
    return tmp_path


def toy_suite(toy_part):
    spec = importlib.util.spec_from_file_location("toy_suite_in_process", PARTS["toy"].suite_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# 6. The tests: each known mistake is named on the suite's own inputs, in process (fast).


def test_each_known_mistake_of_the_toy_is_named_on_some_input_of_its_suite(toy_part):
    suite = toy_suite(toy_part)
    for mistake in suite.MISTAKES["double"]:
        named = []
        for case in suite.CASES:
            args = suite.inputs(case, 0)
            wrong, expected = mistake.fn(*args), suite.double(*args)
            if difference(wrong, expected) and recognise(wrong, suite.MISTAKES["double"], *args, expected=expected):
                named.append(case)
        assert named, mistake.hint


def test_the_toy_notebooks_source_is_the_stub_filled_with_the_reference():
    """What ``autograder.nbgrader.notebooks`` does to every answer cell before nbgrader releases it."""
    source = fill_stubs(toy_notebook().cells[2].source, {"double": "return 2 * x"})
    assert source.endswith(f'    """\n    {BEGIN}\n    return 2 * x\n    {END}')
    assert "NotImplementedError" not in source


@pytest.mark.slow
def test_a_toy_part_is_graded_from_its_registry_entry_suite_and_examples(toy_part, tmp_path):
    paths = write(EXAMPLES, tmp_path)
    handed_in = tmp_path / "ada.ipynb"  # the notebook, as a student hands it in: graded by its grade cell's part
    nbformat.write(toy_notebook("def double(x):\n    return torch.mul(x, 2)"), handed_in)
    report = grade(submissions=[*paths, handed_in], jobs=1, progress=False, limits=Limits(call_timeout=30))
    *records, notebook = report.submissions
    assert [verdict(example, record) for example, record in zip(EXAMPLES, records)] == ["", "", ""]
    tripled, _, right = records
    assert [p.part for p in right.parts] == ["toy"]
    assert (right.score, right.max_score) == (10.0, 10.0)
    assert (notebook.parts[0].part, notebook.score) == ("toy", 10.0)
    assert tripled.score == 2.0  # the edge case's 2 points; every check of the 8 of "matches the reference" fails
    failed = [c for c in tripled.parts[0].checks if c.failed]
    assert {c.name for c in failed} == {
        "double matches the reference [notebook example]",
        "double matches the reference [batch of 3]",
    }
    assert failed[0].message.startswith("double(x=(2, 3) float32) on cpu: the result: values differ")
    assert failed[0].hint == "x is multiplied by 3: double multiplies by 2"
