"""Which load notes name a module the grader lacks, and which names that costs; which wheels gpu-check installs.

No sandbox: ``Student.missing_module`` reads the load notes the sandbox would send
(``inside/load.py``'s format) against the grader's own copy of the code. The real grading is
``tests/test_missing_module.py``.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.cells import of_file
from autograder.dev.gpu_check import install_offline, missing_wheels
from autograder.sandbox.launch import Limits
from autograder.sandbox.student import GRADER_HAS, Student, imports_at

CODE = """import math
import collections, scipy.stats as stats, nltk
from nltk.tokenize import word_tokenize as split_words, sent_tokenize
import numpy as np

x = undefined_name
"""


def student(code: str = CODE) -> Student:
    return Student(SimpleNamespace(limits=Limits()), of_file(code))


def note(line: int, module: str) -> str:
    return f"<submission>, line {line} raised ModuleNotFoundError: No module named '{module}' (the line was skipped)"


def test_imports_at_names_what_each_import_line_binds():
    assert imports_at(CODE, 2) == [("collections", "collections"), ("stats", "scipy"), ("nltk", "nltk")]
    assert imports_at(CODE, 3) == [("split_words", "nltk"), ("sent_tokenize", "nltk")]
    assert imports_at(CODE, 6) == []
    assert imports_at("def f(:\n", 1) == []


def test_a_missing_module_becomes_one_cause_and_its_names():
    s = student()
    assert s.missing_module(note(2, "scipy"))
    assert s.missing_module(note(3, "nltk"))
    # `import collections, scipy.stats as stats, nltk`: collections was bound before scipy failed, nltk never tried
    assert s.absent == {"stats": "scipy", "nltk": "scipy", "split_words": "nltk", "sent_tokenize": "nltk"}
    assert s.causes[0] == (
        f"No module named 'scipy': the grader has {GRADER_HAS}, not scipy; the import at line 2 was skipped, "
        "so `stats`, `nltk` is not defined"
    )
    assert s.causes[1].startswith("No module named 'nltk': ")


@pytest.mark.parametrize(
    "text",
    [
        note(6, "scipy"),  # not an import line: a statement that raised it itself
        note(4, "scipy"),  # an import line, of another module
        note(2, "torch"),  # a module the line does not import
        "<answer cell 9>, line 1 raised ModuleNotFoundError: No module named 'scipy' (the line was skipped)",
        "<submission>, line 6 raised NameError: name 'undefined_name' is not defined (the line was skipped)",
    ],
)
def test_other_notes_stay_notes(text):
    s = student()
    assert not s.missing_module(text)
    assert not s.absent
    assert not s.causes


def test_gpu_check_installs_only_the_wheels_whose_distribution_is_missing(tmp_path: Path):
    for name in ("pytest-8.0.0-py3-none-any.whl", "Typing_Extensions-4.0.0-py3-none-any.whl",
                 "surely_absent_dist_xyz-1.0-py3-none-any.whl"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    assert [w.name for w in missing_wheels(tmp_path)] == ["surely_absent_dist_xyz-1.0-py3-none-any.whl"]


def test_gpu_check_without_its_folder_says_how_to_make_it(tmp_path: Path):
    with pytest.raises(SystemExit, match="make gpu-wheels"):
        install_offline(tmp_path / "absent", tmp_path / "site")


def test_gpu_check_with_everything_installed_installs_nothing(tmp_path: Path):
    (tmp_path / "pytest-8.0.0-py3-none-any.whl").write_bytes(b"")
    assert install_offline(tmp_path, tmp_path / "site") == [
        "nothing to install: this Python has every package of the folder"
    ]
    assert not (tmp_path / "site").exists()
