"""Are answers loaded as a notebook runs them, cell by cell, and is a submission read for the right parts?"""

import hashlib
import json
import types

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.sandbox.inside.load import SUBMISSION, checked_cells, load_answers, public_callables
from autograder.sandbox.protocol import MAX_CELLS
from autograder.submission import MAX_BYTES, load, notebook_answers, parts_defined


def describe(error: BaseException) -> dict:
    """What the child reports of an exception: its type and message."""
    return {"type": type(error).__name__, "message": str(error)}


def loaded(code: str, *cells: str) -> tuple[types.ModuleType, list[str]]:
    """A .py file's ``code``, or the answer cells ``cells`` in order."""
    module = types.ModuleType("answers")
    pieces = [(f"<answer cell {i}>", c) for i, c in enumerate(cells, 1)] if cells else [(SUBMISSION, code)]
    return module, load_answers(pieces, module, describe)


# ---------------------------------------------------------------- load_answers


def test_the_answers_run_after_the_notebooks_imports():
    module, notes = loaded("def double(x: Tensor) -> Tensor:\n    return F.relu(x) * 2\n")
    assert notes == []
    assert module.double(module.torch.tensor([-1.0, 3.0])).tolist() == [0.0, 6.0]
    assert (module.__file__, module.math.pi > 3) == (SUBMISSION, True)
    assert public_callables(module) == ["Tensor", "double"]  # the modules of the prelude are not callable


def test_a_failing_top_level_line_becomes_a_note_and_the_rest_loads():
    code = "def first():\n    return 1\n\nprint(smoothed)\n\n1 / 0\n\n\ndef second():\n    return 2\n"
    module, notes = loaded(code)
    assert notes == [
        "<submission>, line 4 raised NameError: name 'smoothed' is not defined (the line was skipped)",
        "<submission>, line 6 raised ZeroDivisionError: division by zero (the line was skipped)",
    ]
    assert (module.first(), module.second()) == (1, 2)


def test_a_note_keeps_200_characters_of_the_message():
    _, notes = loaded(f"raise ValueError({'x' * 500!r})\n")
    assert notes == ["<submission>, line 1 raised ValueError: " + "x" * 200 + " (the line was skipped)"]


def test_from_future_imports_apply_to_the_statements_after_them():
    module, notes = loaded("from __future__ import annotations\n\ndef f(x: NotDefinedAnywhere) -> int:\n    return 1\n")
    assert notes == []
    assert module.f.__annotations__ == {"x": "NotDefinedAnywhere", "return": "int"}


def test_without_from_future_an_unknown_annotation_is_a_note():
    module, notes = loaded("def f(x: NotDefinedAnywhere) -> int:\n    return 1\n")
    assert notes == [
        "<submission>, line 1 raised NameError: name 'NotDefinedAnywhere' is not defined (the line was skipped)"
    ]
    assert not hasattr(module, "f")


def test_each_cell_runs_on_its_own_and_a_syntax_error_leaves_out_only_its_cell():
    module, notes = loaded(
        "", "def ok():\n    return 1\n", "x = 1\ndef broken(:\n    pass\n", "def after():\n    return ok()\n"
    )
    assert notes == ["<answer cell 2>, line 2: SyntaxError: invalid syntax (the cell was not run)"]
    assert (module.ok(), module.after(), hasattr(module, "x")) == (1, 1, False)  # nothing of the broken cell ran


def test_a_line_that_fails_to_compile_alone_is_skipped_with_its_cell_and_line():
    module, notes = loaded("", "def f():\n    return 1\n", "y = 2\nreturn y\nz = 3\n")
    assert notes == [
        "<answer cell 2>, line 2 raised SyntaxError: 'return' outside function (<answer cell 2>, line 2)"
        " (the line was skipped)"
    ]
    assert (module.f(), module.y, module.z) == (1, 2, 3)


def test_a_traceback_of_a_cell_shows_its_own_lines():
    module, _ = loaded("", "x = 1\n", "\n\ndef f():\n    return 1 / 0\n")
    with pytest.raises(ZeroDivisionError) as raised:
        module.f()
    frame = raised.traceback[-1]
    assert (str(frame.path), frame.lineno + 1, str(frame.statement).strip()) == ("<answer cell 2>", 4, "return 1 / 0")


def test_a_from_future_import_holds_for_the_cells_after_it():
    module, notes = loaded("", "from __future__ import annotations\n", "def f(x: Nowhere) -> int:\n    return 1\n")
    assert notes == []
    assert module.f.__annotations__ == {"x": "Nowhere", "return": "int"}


@pytest.mark.parametrize(
    "cells",
    [
        "def f(): pass",
        [["<answer cell 1>"]],
        [["<answer cell 1>", 3]],
        [["/etc/passwd", "x = 1"]],
        [["<answer cell 1>", "x = 1"]] * (MAX_CELLS + 1),
    ],
    ids=["a-string", "no-source", "not-text", "a-path", "too-many"],
)
def test_the_load_requests_cells_are_checked(cells):
    with pytest.raises(ValueError, match=r"(the cells|a cell) to load"):
        checked_cells(cells)


def test_an_exit_at_the_top_level_is_not_a_note():
    with pytest.raises(SystemExit):  # the child answers it as a failed load, not as a skipped line
        loaded("import sys\nsys.exit(3)\n")


# ---------------------------------------------------------------- notebook_code

PRELUDE_CELL = "import math\nimport torch"


def answer(source: str, grade_id: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": grade_id}})


def grade_cell(part: str) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"solution": False, "grade": True, "grade_id": f"{part}_hidden_tests", "points": 10}}
    return new_code_cell("from autograder import hidden\nhidden()", metadata=meta)


def a_notebook(*cells) -> dict:
    """The JSON of a notebook, as read from disk."""
    return json.loads(nbformat.writes(new_notebook(cells=list(cells))))


def sources(answers) -> list[tuple[str, str]]:
    return [(cell.filename, cell.source) for cell in answers.cells]


def test_the_answer_cells_are_graded_in_order_each_on_its_own_and_the_part_is_the_grade_cells():
    nb = a_notebook(
        new_markdown_cell("# smoother"),
        new_code_cell(PRELUDE_CELL),
        answer("def gaussian_kernel(size, sigma=1.0):\n    pass", "kernel"),
        new_code_cell("assert gaussian_kernel(8).shape == (8,)"),
        answer("def smooth(signal, kernel):\n    pass\n", "smooth"),
        grade_cell("smoother"),
    )
    answers, part, note = notebook_answers(nb)
    assert sources(answers) == [
        ("<answer cell 1>", "def gaussian_kernel(size, sigma=1.0):\n    pass"),
        ("<answer cell 2>", "def smooth(signal, kernel):\n    pass\n"),
    ]
    assert answers.load() == [list(pair) for pair in sources(answers)]
    assert [cell.label for cell in answers.cells] == ["gaussian_kernel", "smooth"]
    assert (
        answers.code == "def gaussian_kernel(size, sigma=1.0):\n    pass\n\ndef smooth(signal, kernel):\n    pass\n\n"
    )
    assert (part, note, answers.notes) == ("smoother", "", [])


def test_a_source_kept_as_a_list_of_lines_is_joined():
    nb = a_notebook(answer("", "a"), grade_cell("vocab"))
    nb["cells"][0]["source"] = ["def tokenize(corpus, vocab):\n", "    return None"]
    answers, part, _ = notebook_answers(nb)
    assert (sources(answers), part) == ([("<answer cell 1>", "def tokenize(corpus, vocab):\n    return None")], "vocab")


def test_a_notebook_without_nbgrader_metadata_grades_every_code_cell_without_magics():
    nb = a_notebook(
        new_code_cell("%matplotlib inline\nimport torch"),
        new_markdown_cell("text"),
        new_code_cell("!pip install torch\ndef padding_mask(tokens, pad_idx=0):\n    return tokens == pad_idx"),
    )
    answers, part, note = notebook_answers(nb)
    assert sources(answers) == [
        ("<answer cell 1>", "None\nimport torch\n"),
        ("<answer cell 2>", "None\ndef padding_mask(tokens, pad_idx=0):\n    return tokens == pad_idx\n"),
    ]
    assert answers.notes == [
        "answer cell 1, line 1: IPython magic %matplotlib skipped",
        "answer cell 2 (padding_mask), line 1: shell command !pip skipped",
    ]
    assert (part, note) == ("", "no nbgrader answer cells: graded every code cell")


@pytest.mark.parametrize("nb", [[], {"cells": "none"}, {"nbformat": 4}])
def test_json_without_a_list_of_cells_is_not_a_notebook(nb):
    with pytest.raises(ValueError, match="it has no list of cells"):
        notebook_answers(nb)


# ---------------------------------------------------------------- load


def test_a_py_file_is_graded_for_every_part_whose_names_it_defines(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def smooth(signal, kernel):\n    pass\n\nclass MultiHeadAttention:\n    pass\n")
    sub = load(path, index=3)
    assert (sub.parts, sub.error, sub.index, sub.code) == (["smoother", "masking"], "", 3, path.read_text())
    assert [(cell.filename, cell.source, cell.runs) for cell in sub.answers.cells] == [
        ("<submission>", path.read_text(), True)
    ]
    assert sub.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_part_option_overrides_what_the_file_defines(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def smooth(signal, kernel):\n    pass\n")
    assert load(path, ["attention"]).parts == ["attention"]


def test_a_py_that_does_not_parse_is_graded_for_every_part(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def smooth(:\n")
    assert (load(path).parts, load(path).error) == (["smoother", "vocab", "attention", "masking"], "")


def test_a_py_that_defines_no_exercise_name_is_an_error(tmp_path):
    path = tmp_path / "other.py"
    path.write_text("x = 1\n")
    sub = load(path)
    assert sub.parts == []
    assert sub.error == (
        "other.py defines none of the exercise names (gaussian_kernel, smooth, build_vocab, tokenize, "
        "scaled_dot_product_attention, padding_mask, MultiHeadAttention)"
    )


def test_a_notebook_is_graded_for_its_grade_cells_part_or_else_its_files_name(tmp_path):
    with_cell = tmp_path / "anything.ipynb"
    with_cell.write_text(json.dumps(a_notebook(answer("def smooth(s, k):\n    pass", "s"), grade_cell("vocab"))))
    assert load(with_cell).parts == ["vocab"]
    named = tmp_path / "attention.ipynb"
    named.write_text(json.dumps(a_notebook(answer("x = 1", "a"))))
    assert load(named).parts == ["attention"]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        (
            "notes.txt",
            b"text",
            "notes.txt is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)",
        ),
        (
            "latin1.py",
            b"# caf\xe9\n",
            "could not read latin1.py: 'utf-8' codec can't decode byte 0xe9 in position 5: invalid continuation byte",
        ),
        (
            "smoother.ipynb",
            b'{"cells": [ this',
            "could not read smoother.ipynb: Expecting value: line 1 column 13 (char 12)",
        ),
        ("vocab.ipynb", b"[1]", "could not read vocab.ipynb: it has no list of cells"),
    ],
)
def test_an_unreadable_file_gives_an_error_and_the_part_its_name_says(tmp_path, name, data, error):
    (tmp_path / name).write_bytes(data)
    sub = load(tmp_path / name)
    assert sub.error == error
    assert sub.parts == ([name.split(".")[0]] if name.endswith(".ipynb") else [])
    record = sub.record()
    assert (record.error, record.score, record.max_score) == (sub.error, 0.0, 10.0 * len(sub.parts))
    assert (record.path, record.wanted, record.parts) == (str(tmp_path / name), sub.parts, [])


def test_a_missing_file_and_a_file_too_large_are_errors(tmp_path):
    assert load(tmp_path / "gone.py").error.startswith("could not read gone.py: [Errno 2] No such file or directory")
    big = tmp_path / "big.py"
    big.write_bytes(b"#" * (MAX_BYTES[".py"] + 1))
    assert (
        load(big).error == "big.py was not graded: it is larger than 256 KiB, the most the grader reads of a .py file"
    )
    big = tmp_path / "smoother.ipynb"
    big.write_bytes(b" " * (MAX_BYTES[".ipynb"] + 1))
    sub = load(big)
    assert sub.error == (
        "smoother.ipynb was not graded: it is larger than 8 MiB, the most the grader reads of a .ipynb file; "
        "a notebook's outputs count: clear them and hand it in again"
    )
    assert sub.parts == ["smoother"]  # a record of the part, at 0 points


def test_parts_defined_finds_functions_classes_assignments_and_imports():
    assert parts_defined("tokenize = lambda c, v: None\n") == ["vocab"]
    assert parts_defined("from mine import padding_mask\n") == ["masking"]
    assert parts_defined("class Vocab:\n    pass\n") == []
    assert parts_defined("def (\n") is None
