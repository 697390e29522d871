"""Are a notebook's answer cells read as Jupyter runs them, and do messages name the cell and its line?"""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cells, submission
from autograder.nbgrader import layout
from autograder.sandbox.launch import Limits
from autograder.sandbox.protocol import MAX_CELLS
from autograder.sandbox.student import Student


def answer(source: str, grade_id: str = "", **meta) -> nbformat.NotebookNode:
    nbgrader = {"solution": True, "grade": False, "grade_id": grade_id, **meta}
    return new_code_cell(source, metadata={"nbgrader": nbgrader})


def read(*notebook_cells) -> cells.Answers:
    """The answers of a notebook of these cells, as read from disk."""
    nb = json.loads(nbformat.writes(new_notebook(cells=list(notebook_cells))))
    return layout.of_notebook(nb)[0]


def one(source: str) -> tuple[str, list[str]]:
    """(what runs, the notes) of one answer cell."""
    answers = read(answer(source))
    return answers.cells[0].source, answers.notes


# ---------------------------------------------------------------- IPython's syntax


@pytest.mark.parametrize(
    ("source", "runs", "note"),
    [
        ("%timeit f(1)\nx = 1\n", "None\nx = 1\n", "line 1: IPython magic %timeit skipped"),
        ("x = 1\n%matplotlib inline\n", "x = 1\nNone\n", "line 2: IPython magic %matplotlib skipped"),
        ("!pip install foo\n", "None\n", "line 1: shell command !pip skipped"),
        ("files = !ls -l\n", "files = None\n", "line 1: shell command !ls skipped"),
        ("t = %time f(1)\n", "t = None\n", "line 1: IPython magic %time skipped"),
        ("x?\n", "None\n", "line 1: IPython help x? skipped"),
        ("?x\n", "None\n", "line 1: IPython help x? skipped"),
        (
            "def f():\n    %time g()\n    return 1\n",
            "def f():\n    None\n    return 1\n",
            "(f), line 2: IPython magic %time skipped",
        ),
    ],
    ids=["line-magic", "matplotlib", "shell", "shell-assign", "magic-assign", "help-after", "help-before", "indented"],
)
def test_a_line_of_ipython_syntax_becomes_none_on_its_line_with_a_note(source, runs, note):
    assert one(source) == (runs, [f"answer cell 1{'' if note.startswith('(') else ','} {note}"])


def test_a_magic_continued_over_lines_keeps_the_numbers_of_the_lines_after_it():
    source, notes = one("%timeit a \\\n   + 1\nb = 1 / 0\n")
    assert source == "None\n\nb = 1 / 0\n"
    assert notes == ["answer cell 1, line 1: IPython magic %timeit skipped"]


def test_no_call_of_get_ipython_that_ipython_would_make_is_left_for_the_sandbox():
    source, notes = one("%load_ext autoreload\n%autoreload 2\n!echo $HOME\nx = %who_ls\n")
    assert (source, len(notes)) == ("None\nNone\nNone\nx = None\n", 4)


def test_code_without_ipython_syntax_is_left_as_it_is():
    source = 'def f(x):\n    """What is x?"""\n    return x % 2  # even?\n'
    assert one(source) == (source, [])


@pytest.mark.parametrize("magic", ["time", "timeit", "capture out", "prun"])
def test_a_cell_magic_whose_body_is_python_keeps_the_body_on_its_lines(magic):
    source, notes = one(f"\n%%{magic}\ndef f():\n    return 1\n%time f()\n")
    assert source == "\n\ndef f():\n    return 1\nNone\n"
    name = magic.split()[0]
    assert notes == [
        f"answer cell 1 (f), line 2: IPython cell magic %%{name} skipped",
        "answer cell 1 (f), line 5: IPython magic %time skipped",
    ]


@pytest.mark.parametrize("magic", ["bash", "html", "writefile x.py", "unknown"])
def test_any_other_cell_magic_leaves_its_cell_out_and_says_what_it_would_have_defined(magic):
    answers = read(answer(f"%%{magic}\ndef smooth(s, k):\n    return s\n", "smooth"))
    name = magic.split()[0]
    said = f"answer cell 1 (smooth), line 1: IPython cell magic %%{name}: the cell is not Python and was not run"
    assert ([c.runs for c in answers.cells], answers.notes, answers.load()) == ([False], [said], [])
    assert answers.missing("smooth") == said


def test_the_transformer_stops_at_its_budget_and_what_is_left_is_a_syntax_error(monkeypatch):
    monkeypatch.setattr(cells, "TRANSFORM_BUDGET", 50)
    answers = read(answer("\n".join(["%time 1"] * 20) + "\ndef f():\n    return 1\n"))
    assert answers.cells[0].runs is False
    # each change reads the whole cell again: after the first, the budget is spent and line 2 is left as it is
    assert answers.notes == ["answer cell 1 (f), line 2: SyntaxError: invalid syntax; the cell was not run"]


# ---------------------------------------------------------------- cells


def test_each_answer_cell_is_its_own_code_with_its_number_label_and_filename():
    answers = read(
        new_markdown_cell("# vocab"),
        new_code_cell("import torch"),
        answer("class Vocab:\n    pass\n\ndef build_vocab(corpus, max_size):\n    pass\n", "vocab_class"),
        answer("x = 1\n", "tokenize"),
        answer("def a(): pass\ndef b(): pass\ndef c(): pass\ndef d(): pass\n"),
    )
    assert [(c.number, c.filename, c.label, c.runs) for c in answers.cells] == [
        (1, "<answer cell 1>", "Vocab, build_vocab", True),
        (2, "<answer cell 2>", "tokenize", True),  # no definition: its grade_id
        (3, "<answer cell 3>", "a, b, c, ...", True),
    ]
    assert answers.cells[0].where(7) == "answer cell 1 (Vocab, build_vocab), line 7"


def test_a_grade_id_is_shown_as_a_plain_name_and_a_label_is_short():
    answers = read(answer("x = 1\n", "<b>tok\x1b[31menize</b>\u202e" + "z" * 100), answer(f"def {'f' * 100}(): pass\n"))
    assert [c.label for c in answers.cells] == ["btok31menizeb" + "z" * 27, "f" * 40]


def test_a_note_that_quotes_the_students_text_is_one_printable_line():
    answers = read(answer("%\x1b[31mred x\n"), answer("%%bash\u202e\n"), answer("x = '\u0007\n"))
    assert all(note.isprintable() for note in answers.notes)
    assert answers.notes[0] == "answer cell 1, line 1: IPython magic %\ufffd[31mred skipped"


def test_a_syntax_error_leaves_out_its_cell_only_and_names_it_with_the_line():
    answers = read(
        answer("def build_vocab(corpus, max_size):\n    return 1\n", "build_vocab"),
        answer("def tokenize(corpus, vocab):\n    return (\n", "tokenize"),
    )
    assert [c.runs for c in answers.cells] == [True, False]
    said = "answer cell 2 (tokenize), line 2: SyntaxError: '(' was never closed; the cell was not run"
    assert answers.notes == [said]
    assert (answers.missing("tokenize"), answers.missing("build_vocab")) == (said, "")
    assert answers.load() == [["<answer cell 1>", "def build_vocab(corpus, max_size):\n    return 1\n"]]
    assert answers.why_none(["build_vocab", "tokenize"]) == said


def test_an_answer_cell_turned_into_markdown_is_named_by_its_grade_id_and_counted():
    turned = new_markdown_cell(
        "def tokenize(corpus, vocab):\n    pass\n",
        metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "tokenize", "cell_type": "code"}},
    )
    written = new_markdown_cell(
        "My answer: def tokenize", metadata={"nbgrader": {"solution": True, "grade": True, "cell_type": "markdown"}}
    )
    no_metadata_but_its_id = new_markdown_cell("text", metadata={"nbgrader": {"grade_id": "build_vocab"}})
    answers = read(turned, written, no_metadata_but_its_id, answer("def padding_mask(t):\n    pass\n"))
    said = "answer cell `tokenize` is a markdown cell: its code was not graded"
    assert answers.notes == [said, "answer cell `build_vocab` is a markdown cell: its code was not graded"]
    assert [(c.number, c.runs) for c in answers.cells] == [(1, False), (2, False), (3, True)]
    assert answers.missing("tokenize") == said


def test_a_name_that_only_a_cell_outside_the_answers_defines_is_explained():
    answers = read(
        new_markdown_cell("text"),
        new_code_cell("def helper(x):\n    return x\n\ndef shared():\n    pass\n"),
        answer("def shared():\n    pass\n\ndef f(x):\n    return helper(x)\n"),
        new_code_cell("%matplotlib inline\nresult = f(2)\n"),
    )
    assert answers.outside == {"helper": 2, "result": 4}  # shared: an answer cell defines it too
    assert answers.explain("name 'helper' is not defined") == (
        "`helper` is defined in a cell that is not an answer cell (cell 2): only answer cells are graded; "
        "move it into an answer cell"
    )
    assert answers.explain("name 'other' is not defined") == ""


def test_a_notebook_with_too_many_answer_cells_is_not_read(tmp_path):
    path = tmp_path / "smoother.ipynb"
    path.write_text(json.dumps({"cells": [answer("x = 1")] * (MAX_CELLS + 1)}))
    assert submission.load(path).error == f"smoother.ipynb was not graded: it has more than {MAX_CELLS} answer cells"


@pytest.mark.parametrize(
    "text", ["s = '" + "x" * (100 << 10) + "'\n", "s = '" + "\u4e00" * (1 << 14) + "'\n"], ids=["long", "escaped"]
)
def test_code_that_the_load_request_could_not_carry_is_not_read(tmp_path, monkeypatch, text):
    monkeypatch.setattr(cells, "MAX_CODE", 64 << 10)  # 2**14 CJK characters are 96 KiB of JSON
    path = tmp_path / "smoother.py"
    path.write_text(text, encoding="utf-8")
    assert submission.load(path).error == "could not read smoother.py: its code takes more than 64 KiB"


def test_a_py_file_is_one_cell_said_by_its_lines():
    answers = cells.of_file("def f(:\n    pass\n")
    said = "line 1: SyntaxError: invalid syntax; the file was not run"
    assert (answers.notes, answers.missing("f"), answers.code) == ([said], said, "def f(:\n    pass\n")
    assert answers.words("<submission>, line 3 raised ValueError") == "line 3 raised ValueError"


# ---------------------------------------------------------------- messages


def test_the_filenames_in_a_message_become_the_cell_and_its_line():
    answers = read(answer("def gaussian_kernel(size):\n    pass\n"), answer("def smooth(s, k):\n    pass\n", "smooth"))
    assert answers.words('File "<answer cell 2>", line 7, in smooth') == "answer cell 2 (smooth), line 7, in smooth"
    assert (
        answers.words("invalid syntax (<answer cell 1>, line 2)")
        == "invalid syntax (answer cell 1 (gaussian_kernel), line 2)"
    )
    assert answers.words("<answer cell 9>, line 1") == "<answer cell 9>, line 1"  # no such cell: left as it is


def test_the_student_puts_the_sandboxs_notes_and_errors_in_words():
    answers = read(new_code_cell("def helper(x):\n    return x\n"), answer("def f(x):\n    return helper(x)\n", "f"))
    student = Student(None, answers, Limits())  # type: ignore[arg-type]  # no sandbox: nothing is started
    assert student.note(
        "<answer cell 1>, line 3 raised NameError: name 'helper' is not defined (the line was skipped)"
    ) == (
        "answer cell 1 (f), line 3 raised NameError: name 'helper' is not defined (the line was skipped): "
        "`helper` is defined in a cell that is not an answer cell (cell 1): only answer cells are graded; "
        "move it into an answer cell"
    )
    info = {
        "type": "NameError",
        "message": "name 'helper' is not defined",
        "frames": ["<answer cell 1>, line 2, in f: return helper(x)"],
    }
    assert student.in_words(info)["frames"] == ["answer cell 1 (f), line 2, in f: return helper(x)"]
    assert student.in_words(info)["message"].startswith("name 'helper' is not defined: `helper` is defined in a cell")
    assert student.in_words({"type": "ValueError", "message": "name 'helper' is not defined"})["message"] == (
        "name 'helper' is not defined"  # only a NameError is about a name
    )


def test_the_digest_changes_with_what_is_graded():
    a = read(answer("x = 1\n"), new_code_cell("def helper(): pass"))
    assert a.digest() == read(answer("x = 1\n"), new_code_cell("def helper(): pass")).digest()
    assert a.digest() != read(answer("x = 2\n"), new_code_cell("def helper(): pass")).digest()
    assert a.digest() != read(answer("x = 1\n"), new_code_cell("def other(): pass")).digest()


def test_a_notebook_read_from_its_file_and_as_nbgrader_hands_it_over_has_one_digest(tmp_path):
    """The prefetch grades the file; nbgrader hands over the notebook it read: one record serves both."""
    from autograder.dev.examples import notebook, reference_code

    path = tmp_path / "smoother.ipynb"
    nbformat.write(notebook("smoother", "%matplotlib inline\n" + reference_code("smoother")), path)
    from_file = submission.load(path).answers
    assert from_file.notes == ["answer cell 1 (gaussian_kernel, smooth), line 1: IPython magic %matplotlib skipped"]
    assert from_file.digest() == submission.notebook_answers(nbformat.read(path, as_version=4))[0].digest()
