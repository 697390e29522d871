"""Do the notebooks run, stop where they should, match the reference, and say only what is true?"""

import ast
import re
import subprocess
import sys

import nbclient
import nbformat
import pytest
import torch

from autograder.dev.classroom import nbgrader
from autograder.dev.examples import MISTAKES, notebook, reference_code
from autograder.nbgrader.notebooks import (
    ASSIGNMENT,
    generate_release,
    read_assignment,
    reference_bodies,
    source_notebook,
    write_sources,
)
from autograder.parts import PARTS
from solutions.smoother import gaussian_kernel
from solutions.vocab import build_vocab, tokenize


@pytest.fixture(scope="session", autouse=True)
def _matplotlib_font_cache():
    """Build matplotlib's font cache once: its first build writes a notice to stderr."""
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], capture_output=True, check=True)


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return nb


def outputs(nb, kind=None):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind is None or o.output_type == kind]


@pytest.fixture(scope="module")
def executed_sources():
    return {part: execute(source_notebook(part)) for part in PARTS}


@pytest.mark.parametrize("part", PARTS)
def test_source_notebook_runs_cleanly_and_draws(part, executed_sources):
    """Does the source notebook run top to bottom with no error, no stderr, and its figures?"""
    nb = executed_sources[part]
    assert not outputs(nb, "error")
    assert not [o for o in outputs(nb, "stream") if o.name == "stderr"]
    assert [o for o in outputs(nb, "display_data") if "image/png" in o.data]
    checks = "".join(o.text for o in outputs(nb, "stream") if o.name == "stdout")
    assert checks.count("ok: ") >= 3, "the visible sanity checks print what they confirmed"


@pytest.mark.parametrize("part", PARTS)
def test_student_notebook_stops_at_the_first_stub(part):
    """Does the student notebook fail with NotImplementedError, from the first stub it calls?"""
    nb = read_assignment(part)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
        execute(nb)
    assert failure.value.ename == "NotImplementedError"
    failed = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and outputs_of(c, "error"))
    first_answer = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    assert failed > first_answer
    assert not any(outputs_of(c, "error") for c in nb.cells[:failed])


def outputs_of(cell, kind):
    return [o for o in cell.get("outputs", []) if o.output_type == kind]


def test_generate_assignment_of_the_sources_gives_back_the_assignments(tmp_path):
    """Does nbgrader turn the source notebooks into exactly assignments/ (sources and metadata)?"""
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.course_id = '{ASSIGNMENT}'\n")
    write_sources(tmp_path / "source" / ASSIGNMENT)
    release = generate_release(tmp_path)
    for part in PARTS:
        released = nbformat.read(release / f"{part}.ipynb", as_version=4)
        committed = read_assignment(part)
        assert len(released.cells) == len(committed.cells)
        for ours, theirs in zip(committed.cells, released.cells):
            assert (ours.cell_type, ours.source) == (theirs.cell_type, theirs.source)
            assert ours.metadata.get("nbgrader") == theirs.metadata.get("nbgrader")


# part -> the first visible check its grade cell runs again
FIRST_CHECK = {
    "smoother": "check_gaussian_kernel",
    "vocab": "check_build_vocab",
    "attention": "check_scaled_dot_product_attention",
    "masking": "check_padding_mask",
}
# part -> (a mistake that fails one of the notebook's visible checks, the start of that check's message)
VISIBLY_WRONG = {
    "smoother": ("nn.Conv1d with its bias", "SanityCheckFailed: expected the same values as F.conv1d without bias"),
    "vocab": ("tokens in int32", "SanityCheckFailed: expected dtype int64, but got torch.int32"),
    "attention": ("NaN on fully masked rows", "SanityCheckFailed: expected zeros, not NaN, where every key is masked"),
    "masking": ("scaled by sqrt(E)", "SanityCheckFailed: expected nn.MultiheadAttention's output (same weights)"),
}


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """`nbgrader validate` (run as a student would, without a course) on each part's untouched, visibly wrong and
    correct notebooks, in one command: part -> its three verdicts, in that order."""
    folder = tmp_path_factory.mktemp("validate")
    names = []
    for part in PARTS:
        mistake = next(m for m in MISTAKES if m.part == part and m.name == VISIBLY_WRONG[part][0])
        for name, nb in [
            ("untouched", read_assignment(part)),
            ("wrong", notebook(part, mistake.code)),
            ("correct", notebook(part, reference_code(part))),
        ]:
            nbformat.write(nb, folder / f"{part}-{name}.ipynb")
            names.append(f"{part}-{name}.ipynb")
    done = nbgrader(folder, "validate", *names)
    # one verdict per notebook, in the order given
    verdicts = re.split(r"(?=VALIDATION FAILED|Success! Your notebook)", done.stdout)[1:]
    assert len(verdicts) == 3 * len(PARTS), done.stdout
    return {part: verdicts[3 * i : 3 * i + 3] for i, part in enumerate(PARTS)}


@pytest.mark.parametrize("part", PARTS)
def test_validate_fails_on_stubs_and_failing_visible_checks_and_passes_a_correct_notebook(part, validated):
    """Does `nbgrader validate` (run as a student would, without a course) tell the truth about each notebook?"""
    untouched, wrong, correct = validated[part]
    assert untouched.startswith("VALIDATION FAILED ON 1 CELL(S)!")
    assert f"----> 5 {FIRST_CHECK[part]}()" in untouched  # the grade cell's first line of code
    assert untouched.rstrip().endswith("NotImplementedError:")
    assert wrong.startswith("VALIDATION FAILED ON 1 CELL(S)!")
    assert VISIBLY_WRONG[part][1] in wrong
    assert correct == "Success! Your notebook passes all the tests.\n"


def _stub_signatures(part):
    for cell in read_assignment(part).cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            yield from _signatures(ast.parse(cell.source))


def _signature(node):
    if isinstance(node, ast.ClassDef):
        return "", "", ast.get_docstring(node)
    return ast.unparse(node.args), ast.unparse(node.returns) if node.returns else "", ast.get_docstring(node)


def _signatures(tree):
    """qualname -> (arguments, return annotation, docstring) of top-level defs, classes and methods."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.name, _signature(node)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield f"{node.name}.{item.name}", _signature(item)


@pytest.mark.parametrize("part", PARTS)
def test_stubs_carry_the_reference_signatures_and_docstrings(part):
    """Is every stub's signature and docstring the reference's, and does every stub have a reference?"""
    from importlib import resources

    reference = {}
    for module in PARTS:
        reference.update(_signatures(ast.parse((resources.files("solutions") / f"{module}.py").read_text())))
    for name, signature in _stub_signatures(part):
        assert signature == reference[name], name
    names = {name for name, _ in _stub_signatures(part)}
    assert set(PARTS[part].names) <= names
    assert reference_bodies()  # every stub found a body: source_notebook would have raised


def _markdown(part):
    """The prose of a notebook, with every run of whitespace as one space."""
    return " ".join(" ".join(c.source for c in read_assignment(part).cells if c.cell_type == "markdown").split())


CORPUS = ["ik zit op de bank", "ik werk bij de bank", "bij de bank is het heel druk"]
V = build_vocab(CORPUS, 11)
TOKENS = tokenize(CORPUS, V)
KERNEL_8 = gaussian_kernel(8)

# (part, a fact the text states, with its numbers as groups; the numbers the code gives)
CLAIMS = [
    ("vocab", r'"de" appears first, so it gets index (\d+) and "bank" index (\d+)', lambda: (V["de"], V["bank"])),
    ("vocab", r"there is room for (\w+) words", lambda: ({"nine": 9}, len(V) - 2)),
    ("vocab", r"the result has shape `\((\d+), (\d+)\)`", lambda: tuple(TOKENS.shape)),
    ("vocab", r"gets index (\d+) in both", lambda: (V["bank"],)),
    ("vocab", r"becomes a `\((\d+), (\d+), (\d+)\)` tensor", lambda: (*TOKENS.shape, 4)),
    ("vocab", r"\(position (\d+)\) of the first two", lambda: (CORPUS[0].split().index("bank"),)),
    ("smoother", r"the offsets are \$(-?[\d.]+), (-?[\d.]+), \\dots, (-?[\d.]+)\$", lambda: (-3.5, -2.5, 3.5)),
    ("attention", r"we start from the same matrix", lambda: ()),
]


@pytest.mark.parametrize(("part", "pattern", "facts"), CLAIMS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CLAIMS)])
def test_notebook_text_agrees_with_the_code(part, pattern, facts):
    """Does each number the text states hold for the reference (the original said "bank gets 6")?"""
    match = re.search(pattern, _markdown(part), flags=re.IGNORECASE)
    assert match, f"the {part} notebook no longer says {pattern!r}: update this test with the text"
    expected = facts()
    if expected and isinstance(expected[0], dict):  # a number in words
        assert expected[0][match.group(1)] == expected[1]
    else:
        assert tuple(float(g) for g in match.groups()) == tuple(float(e) for e in expected)
    if part == "smoother":
        offsets = torch.arange(8) - (8 - 1) / 2
        assert (offsets[0], offsets[1], offsets[-1]) == expected
        assert torch.equal(KERNEL_8, KERNEL_8.flip(0))


def test_no_notebook_says_bank_gets_6():
    for part in PARTS:
        assert not re.search(r"bank\W[^.]{0,40}\b6\b", _markdown(part)), part
