"""LMS downloads: whose file is which, from its name; a zip read within bounds, nothing guessed."""

import os
import stat
import zipfile

import pytest

from autograder import lms
from autograder.cli import downloads


@pytest.mark.parametrize(
    ("name", "kind", "student", "file", "late"),
    [
        ("lovelaceada_1234_5678_smoother.ipynb", "canvas", "1234", "smoother.ipynb", False),
        ("babbagecharles_LATE_42_99_Attention_v2.ipynb", "canvas", "42", "Attention_v2.ipynb", True),
        ("Ada Lovelace_101_assignsubmission_file_/vocab (1).ipynb", "moodle", "101", "vocab (1).ipynb", False),
        ("Ada Lovelace_101_assignsubmission_file_vocab.ipynb", "moodle", "101", "vocab.ipynb", False),
        ("Attention HW_jdoe_attempt_2026-12-01-09-30-00_masking.ipynb", "blackboard", "jdoe", "masking.ipynb", False),
    ],
)
def test_each_pattern_names_the_student_and_the_file(name, kind, student, file, late):
    entry = lms.match(name)
    assert entry is not None
    assert (entry.lms, entry.student, entry.file, entry.late) == (kind, student, file, late)


@pytest.mark.parametrize("name", ["smoother.ipynb", "notes_final.ipynb", "ada_x_y_smoother.ipynb", "a/b.ipynb"])
def test_a_name_that_fits_no_pattern_is_not_guessed(name):
    assert lms.match(name) is None


def test_a_blackboard_receipt_is_no_work_and_no_unknown_file(tmp_path):
    archive = tmp_path / "bb.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("HW_jdoe_attempt_2026-12-01-09-30-00.txt", "receipt")
        z.writestr("HW_jdoe_attempt_2026-12-01-09-30-00_smoother.py", "x = 1\n")
    found = lms.read(archive)
    assert [(e.student, e.file) for e in found.entries] == [("jdoe", "smoother.py")]
    assert found.unmatched == []


def test_a_hostile_zip_is_read_within_bounds_without_links_or_traversal(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("../../ada_1_2_smoother.ipynb", "{}")
        z.writestr("/abs_1_2_smoother.ipynb", "{}")
        link = zipfile.ZipInfo("linker_3_4_smoother.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("bomb_5_6_smoother.ipynb", b"0" * (9 << 20))  # inflates past the 8 MiB of a notebook
        z.writestr("weird\x1b[2J_7_8_vocab.py", "x = 1\n")
        z.writestr("README.txt", "not a submission")
    found = lms.read(archive)
    refused = dict(found.refused)
    assert refused["../../ada_1_2_smoother.ipynb"] == "its name leads out of the download"
    assert refused["/abs_1_2_smoother.ipynb"] == "its name leads out of the download"
    assert refused["linker_3_4_smoother.ipynb"] == "it is a link or a special file"
    assert refused["bomb_5_6_smoother.ipynb"].startswith("it is larger than 8 MiB")
    assert found.unmatched == ["README.txt"]
    assert [(e.student, e.file) for e in found.entries] == [("7", "vocab.py")]
    staged = lms.stage(found, tmp_path / "staged", "evil.zip")
    [(target, (student, label, _))] = staged.items()
    assert target.parent.parent == tmp_path / "staged"
    assert target.name == "vocab.py"
    assert (student, label) == ("7", "evil.zip/weird\x1b[2J_7_8_vocab.py")


def test_a_folder_download_follows_no_link(tmp_path):
    root = tmp_path / "moodle"
    folder = root / "Ada Lovelace_101_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "smoother.py").write_text("x = 1\n")
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    os.symlink(secret, folder / "vocab.py")
    os.symlink(tmp_path, root / "Bob_102_assignsubmission_file_")
    found = lms.read(root)
    assert [(e.student, e.file, e.data) for e in found.entries] == [("101", "smoother.py", b"x = 1\n")]
    assert dict(found.refused) == {
        "Ada Lovelace_101_assignsubmission_file_/vocab.py": "it is a link or a special file",
        "Bob_102_assignsubmission_file_": "it is a link",
    }


def test_downloads_stage_zips_and_leave_other_paths_alone(tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ada_1_2_smoother.py", "x = 1\n")
        z.writestr("bob_LATE_3_4_smoother.py", "x = 2\n")
        z.writestr("mystery.ipynb", "{}")
        z.writestr("ada_1_2_report.pdf", "%PDF")
    plain = tmp_path / "plain.py"
    plain.write_text("x = 3\n")
    files, labels, skipped = downloads([archive, plain], None, tmp_path / "staging")
    assert files == [tmp_path / "staging" / "0", plain]
    assert sorted(labels.values()) == [("1", "canvas.zip/ada_1_2_smoother.py", ""),
                                       ("3", "canvas.zip/bob_LATE_3_4_smoother.py", "handed in late (canvas)")]  # fmt: skip
    assert skipped == [
        "canvas.zip/mystery.ipynb: not graded: its name fits no Canvas, Moodle or Blackboard pattern",
        "canvas.zip/ada_1_2_report.pdf: not graded: it is neither a notebook nor a .py file",
    ]


class Said:
    """A log that keeps its warnings."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, text: str, *args: object) -> None:
        self.lines.append(text % args)


def test_a_renamed_notebook_is_given_its_parts_name_and_nothing_else_moves(tmp_path):
    import json

    import nbformat

    from autograder.dev.examples import notebook, reference_code
    from autograder.nbgrader.lms import RENAMED, graded_as_parts, renamed

    folder = tmp_path / "submitted" / "ada" / "attention"
    folder.mkdir(parents=True)
    for name, part in [("Smoother-Copy1", "smoother"), ("vocab", "vocab"), ("vocab (1)", "vocab"),
                       ("Attention_v2", "attention"), ("notes", None)]:  # fmt: skip
        nb = notebook(part, reference_code(part)) if part else nbformat.v4.new_notebook()
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "masking.ipynb").mkdir()  # not a notebook: a folder of that name
    nbformat.write(notebook("masking", reference_code("masking")), folder / "masking-final.ipynb")
    (folder / "broken.ipynb").write_text("{not json")
    listed = sorted(str(p) for p in folder.glob("*.ipynb") if p.is_file())
    log = Said()
    known = {"smoother", "vocab", "attention", "masking"}
    out = graded_as_parts(listed, known, root=tmp_path, assignment="attention", student="ada", log=log)
    names = sorted(os.path.basename(p) for p in out)
    assert names == ["attention.ipynb", "broken.ipynb", "masking-final.ipynb", "notes.ipynb", "smoother.ipynb",
                     "vocab (1).ipynb", "vocab.ipynb"]  # fmt: skip
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "masking.ipynb"])
    assert log.lines == [
        "autograder: ada handed in Attention_v2.ipynb: graded as attention.ipynb, the part its cells name",
        "autograder: ada handed in Smoother-Copy1.ipynb: graded as smoother.ipynb, the part its cells name",
        "autograder: ada handed in masking-final.ipynb, and masking.ipynb is not a notebook: not graded",
        "autograder: ada handed in vocab (1).ipynb, a second vocab notebook: not graded, never added",
    ]
    kept = json.loads((tmp_path / RENAMED).read_text())["attention"]["ada"]
    assert {part: entry["name"] for part, entry in kept.items()} == {
        "attention": "Attention_v2.ipynb",
        "smoother": "Smoother-Copy1.ipynb",
    }
    smoother = folder / "smoother.ipynb"
    assert renamed(tmp_path, "attention", "ada", "smoother", smoother) == "Smoother-Copy1.ipynb"
    nbformat.write(notebook("smoother", reference_code("smoother") + "\n# again\n"), smoother)  # handed in again
    assert renamed(tmp_path, "attention", "ada", "smoother", smoother) == ""  # no stale note
