"""Is student text bounded before the grader parses it (requirement 7 of issue 17)?

A 1 MiB ``.py`` of short lines took about 0.9 GiB of syntax tree in the grader's own process. Every
file is now bounded by its bytes, and a part's code by its bytes and its Python tokens, before
anything parses it: what is refused says why, at 0 points. The memory checks run the grader in a
subprocess and compare its peak RSS (``VmHWM``) after reading with the peak before: a parse of
the refused files would add hundreds of MiB, the bound allows 64 MiB (nothing to do with timing).
"""

from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import cells, fingerprint, submission
from autograder.cells import MAX_CODE_BYTES, MAX_TOKENS, TooLarge
from autograder.nbgrader import layout
from autograder.nbgrader.bridge import HiddenSuites

SHORT_LINES = "a\n" * (1 << 19)  # 1 MiB of code, 2**19 statements


def answer(source: str, grade_id: str = "") -> nbformat.NotebookNode:
    meta = {"nbgrader": {"solution": True, "grade": False, "locked": False, "grade_id": grade_id}}
    return new_code_cell(source, metadata=meta)


def grade_cell(part: str) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": f"{part}_hidden_tests", "points": 10}}
    return new_code_cell("# hidden tests", metadata=meta)


def huge_notebook(cell_source: str, count: int) -> nbformat.NotebookNode:
    return new_notebook(cells=[answer(cell_source, f"c{i}") for i in range(count)] + [grade_cell("smoother")])


@pytest.fixture
def no_parse(monkeypatch):
    """Any parse of student code fails the test: what is refused for its size is never parsed."""

    def parsed(*args, **kwargs):
        raise AssertionError("student code was parsed")

    monkeypatch.setattr(cells, "_parse", parsed)
    monkeypatch.setattr(cells, "would_define", parsed)


def test_a_1_mib_py_of_short_lines_is_refused_unparsed(tmp_path, no_parse):
    path = tmp_path / "smoother.py"
    path.write_text(SHORT_LINES)
    sub = submission.load(path)
    assert sub.error == "smoother.py was not graded: it is larger than 256 KiB, the most the grader reads of a .py file"
    assert (sub.parts, sub.code, sub.record().score, sub.record().max_score) == (["smoother"], "", 0.0, 10.0)
    assert not sub.record().grader_error  # the student's doing: not graded again


def test_code_within_the_bytes_but_over_the_tokens_is_refused_unparsed(tmp_path, no_parse):
    path = tmp_path / "masking.py"
    path.write_text("a;" * (MAX_TOKENS // 2 + 1))  # two tokens a statement, 50 KiB
    assert submission.load(path).error == (
        "masking.py was not graded: the code of the file has more than 50000 Python tokens (names, operators, "
        "numbers, line ends), more than the grader reads for one part"
    )


@pytest.mark.parametrize(
    ("source", "count", "said"),
    [
        ("x = 1\n" * 60_000, 1, "the code of its answer cells is 352 KiB, more than the 256 KiB"),
        ("x = [" + "0," * 30 + "]\n", 999, "the code of its answer cells has more than 50000 Python tokens"),
        ("x = 1\n", 1001, "it has more than 1000 answer cells"),
    ],
    ids=["one-huge-cell", "many-tiny-cells-of-many-tokens", "too-many-cells"],
)
def test_a_notebook_with_too_much_answer_code_is_refused_unparsed(tmp_path, no_parse, source, count, said):
    path = tmp_path / "smoother.ipynb"
    nbformat.write(huge_notebook(source, count), str(path))
    sub = submission.load(path)
    assert sub.error.startswith(f"smoother.ipynb was not graded: {said}")
    assert (sub.parts, sub.record().score) == (["smoother"], 0.0)


def test_non_answer_cells_are_read_only_as_far_as_the_bounds_allow(monkeypatch):
    read = []
    monkeypatch.setattr(layout, "would_define", lambda source: read.append(source) or [])
    other = new_code_cell("y = '" + "a" * 150_000 + "'\n")  # 147 KiB: two of them are more than the bound
    nb = new_notebook(cells=[answer("x = 1\n"), other, other, other, grade_cell("smoother")])
    layout.of_notebook(nb)
    assert len(read) == 1


def test_code_at_the_bounds_is_read(tmp_path):
    path = tmp_path / "smoother.py"
    path.write_text("# a comment\n" * (MAX_CODE_BYTES // 12 - 10) + "def smooth(s, k):\n    return s\n")
    sub = submission.load(path)
    assert (sub.error, sub.parts) == ("", ["smoother"])


class FakeSession:
    prefetched = True
    pool = SimpleNamespace(environment={"devices": ["cpu"], "sandbox": "bubblewrap"})

    def submit(self, *args):
        raise AssertionError("a refused notebook was handed to the grading jobs")


def test_the_bridge_refuses_huge_answer_cells_with_0_points_and_why(monkeypatch, no_parse):
    monkeypatch.setattr(HiddenSuites, "session", lambda self: FakeSession())
    kept = []
    monkeypatch.setattr(HiddenSuites, "keep", lambda self, record, info: kept.append(record))
    nb = huge_notebook("a\n" * (1 << 18), 2)  # two cells of 512 KiB: no bound on the notebook nbgrader read
    resources = {"nbgrader": {"student": "alice", "assignment": "attention", "notebook": "smoother"}}
    HiddenSuites().preprocess(nb, resources)
    report, result = nb.cells[-1].outputs
    said = "smoother.ipynb was not graded: the code of its answer cells is 1.0 MiB, more than the 256 KiB"
    assert report.data["text/html"].startswith(f"<p><b>{said}")
    assert result.data == {"text/plain": "0.0"}
    assert kept[0].error.startswith(said)
    assert not kept[0].grader_error


@pytest.mark.parametrize("newline", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_a_copy_with_other_line_ends_is_found_as_a_copy(newline):
    from tests.unit.test_fingerprint import ORIGINAL

    copy = ORIGINAL.replace("\n", newline)
    assert fingerprint.tokens(copy) == fingerprint.tokens(ORIGINAL)
    assert fingerprint.similarity(fingerprint.fingerprint(copy), fingerprint.fingerprint(ORIGINAL)) == 1.0
    assert fingerprint.groups({"a": fingerprint.fingerprint(ORIGINAL), "b": fingerprint.fingerprint(copy)})[0][0] == [
        "a",
        "b",
    ]


def test_a_refusal_is_a_value_error_that_names_what_is_refused():
    with pytest.raises(TooLarge, match=r"^the code of the file is 257 KiB, more than the 256 KiB"):
        cells.of_file("#" * (MAX_CODE_BYTES + 1))
