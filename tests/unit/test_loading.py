"""Are answers loaded as a notebook runs them, and is a submission read for the right parts?"""

import hashlib
import json
import types

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.sandbox.inside.load import SUBMISSION, load_answers, public_callables
from autograder.submission import MAX_BYTES, load, notebook_code, parts_defined


def describe(error: BaseException) -> dict:
    """What the child reports of an exception: its type and message."""
    return {"type": type(error).__name__, "message": str(error)}


def loaded(code: str) -> tuple[types.ModuleType, list[str]]:
    module = types.ModuleType("answers")
    return module, load_answers(code, module, describe)


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
        "line 4 raised NameError: name 'smoothed' is not defined",
        "line 6 raised ZeroDivisionError: division by zero",
    ]
    assert (module.first(), module.second()) == (1, 2)


def test_a_note_keeps_200_characters_of_the_message():
    _, notes = loaded(f"raise ValueError({'x' * 500!r})\n")
    assert notes == ["line 1 raised ValueError: " + "x" * 200]


def test_from_future_imports_apply_to_the_statements_after_them():
    module, notes = loaded("from __future__ import annotations\n\ndef f(x: NotDefinedAnywhere) -> int:\n    return 1\n")
    assert notes == []
    assert module.f.__annotations__ == {"x": "NotDefinedAnywhere", "return": "int"}


def test_without_from_future_an_unknown_annotation_is_a_note():
    module, notes = loaded("def f(x: NotDefinedAnywhere) -> int:\n    return 1\n")
    assert notes == ["line 1 raised NameError: name 'NotDefinedAnywhere' is not defined"]
    assert not hasattr(module, "f")


def test_a_syntax_error_stops_the_load():
    module = types.ModuleType("answers")
    with pytest.raises(SyntaxError) as raised:
        load_answers("def ok():\n    return 1\n\ndef broken(:\n    pass\n", module, describe)
    assert (raised.value.filename, raised.value.lineno) == (SUBMISSION, 4)
    assert not hasattr(module, "ok")  # nothing of a submission that does not parse runs


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


def test_the_answer_cells_are_graded_in_order_and_the_part_is_the_grade_cells():
    nb = a_notebook(
        new_markdown_cell("# smoother"),
        new_code_cell(PRELUDE_CELL),
        answer("def gaussian_kernel(size, sigma=1.0):\n    pass", "kernel"),
        new_code_cell("assert gaussian_kernel(8).shape == (8,)"),
        answer("def smooth(signal, kernel):\n    pass\n", "smooth"),
        grade_cell("smoother"),
    )
    code, part, note = notebook_code(nb)
    assert code == "def gaussian_kernel(size, sigma=1.0):\n    pass\n\ndef smooth(signal, kernel):\n    pass\n\n"
    assert (part, note) == ("smoother", "")


def test_a_source_kept_as_a_list_of_lines_is_joined():
    nb = a_notebook(answer("", "a"), grade_cell("vocab"))
    nb["cells"][0]["source"] = ["def tokenize(corpus, vocab):\n", "    return None"]
    assert notebook_code(nb) == ("def tokenize(corpus, vocab):\n    return None\n", "vocab", "")


def test_a_notebook_without_nbgrader_metadata_grades_every_code_cell_without_magics():
    nb = a_notebook(
        new_code_cell("%matplotlib inline\nimport torch"),
        new_markdown_cell("text"),
        new_code_cell("!pip install torch\ndef padding_mask(tokens, pad_idx=0):\n    return tokens == pad_idx"),
    )
    assert notebook_code(nb) == (
        "# %matplotlib inline\nimport torch\n# !pip install torch\ndef padding_mask(tokens, pad_idx=0):\n"
        "    return tokens == pad_idx\n",
        "",
        "no nbgrader answer cells: graded every code cell",
    )


@pytest.mark.parametrize("nb", [[], {"cells": "none"}, {"nbformat": 4}])
def test_json_without_a_list_of_cells_is_not_a_notebook(nb):
    with pytest.raises(ValueError, match="it has no list of cells"):
        notebook_code(nb)


# ---------------------------------------------------------------- load


def test_a_py_file_is_graded_for_every_part_whose_names_it_defines(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def smooth(signal, kernel):\n    pass\n\nclass MultiHeadAttention:\n    pass\n")
    sub = load(path, index=3)
    assert (sub.parts, sub.error, sub.index, sub.code) == (["smoother", "masking"], "", 3, path.read_text())
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
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    assert load(big).error == "could not read big.py: it is larger than 20 MiB"


def test_parts_defined_finds_functions_classes_assignments_and_imports():
    assert parts_defined("tokenize = lambda c, v: None\n") == ["vocab"]
    assert parts_defined("from mine import padding_mask\n") == ["masking"]
    assert parts_defined("class Vocab:\n    pass\n") == []
    assert parts_defined("def (\n") is None
