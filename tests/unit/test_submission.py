"""Which files does a list of paths stand for, and whose are they? (No sandbox: nothing is graded here.)"""

from pathlib import Path

import pytest

from autograder import submission
from autograder.grade import UsageError, grade


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_directory_stands_for_its_notebooks_and_py_files_sorted_without_checkpoints_or_hidden_folders(tmp_path):
    for name in [
        "b/vocab.py", "a/smoother.ipynb", "a/notes.txt", "a/.ipynb_checkpoints/smoother-checkpoint.ipynb",
        ".git/hook.py", "a/__pycache__/x.py", "a/.hidden.py", "a/deep/er/attention.ipynb",
    ]:  # fmt: skip
        touch(tmp_path / name)
    assert submission.expand([tmp_path]) == [
        tmp_path / "a" / "deep" / "er" / "attention.ipynb",
        tmp_path / "a" / "smoother.ipynb",
        tmp_path / "b" / "vocab.py",
    ]


def test_files_keep_their_order_and_a_path_given_twice_counts_once(tmp_path):
    z, a = touch(tmp_path / "z.py"), touch(tmp_path / "d" / "a.ipynb")
    assert submission.expand([z, tmp_path / "d", a, z]) == [z, a]


def test_a_file_given_by_name_is_kept_whatever_its_suffix(tmp_path):
    notes = touch(tmp_path / "notes.txt")
    assert submission.expand([notes]) == [notes]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing.ipynb", "{}: no such file or directory"),
        (lambda tmp: touch(tmp / "empty" / "notes.txt").parent, "{} holds no notebook (.ipynb) or .py file"),
    ],
    ids=["missing", "no-submission-inside"],
)
def test_a_path_with_nothing_to_grade_is_a_usage_error_before_anything_is_graded(tmp_path, make, says):
    good, bad = touch(tmp_path / "good.py", "def smooth(s, k):\n    return s\n"), make(tmp_path)
    graded = []
    with pytest.raises(UsageError) as error:
        grade(submissions=[good, bad], progress=False, on_record=graded.append)
    assert str(error.value) == says.format(bad)
    assert graded == []


def test_a_file_that_is_not_a_submission_gets_a_record_that_says_so(tmp_path):
    report = grade(submissions=[touch(tmp_path / "smoother.txt", "def smooth(): ...")], progress=False)
    [record] = report.submissions
    assert record.error == "smoother.txt is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
    assert (record.score, record.max_score, record.parts) == (0.0, 0.0, [])


@pytest.mark.parametrize(
    ("where", "student"),
    [
        ("submitted/ada/attention/smoother.ipynb", "ada"),
        ("course/autograded/bob/attention/vocab.ipynb", "bob"),  # the course has an nbgrader_config.py
        ("course/release/attention/vocab.ipynb", ""),
        ("elsewhere/carol/attention/vocab.ipynb", ""),
        ("smoother.ipynb", ""),
    ],
)
def test_a_file_in_an_nbgrader_tree_names_its_student(tmp_path, where, student):
    touch(tmp_path / "course" / "nbgrader_config.py")
    path = touch(tmp_path / where, "{}")
    assert submission.student_of(path) == student
    assert submission.load(path).record().student == student
