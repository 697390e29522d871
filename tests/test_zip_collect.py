"""An LMS download into a course through the real ``nbgrader zip_collect``, then ``autograde`` and
``release_feedback``: six students, one late, one renamed notebook, one with two notebooks of one part,
and a file whose name fits no pattern."""

import io
import json
import zipfile

import nbformat
import pytest

from autograder.dev.classroom import nbgrader
from autograder.dev.examples import MISTAKES, notebook, reference_code
from autograder.nbgrader.course import init

pytestmark = pytest.mark.slow

FLIPPED = next(m for m in MISTAKES if m.name == "kernel flipped (true convolution)")


def text(nb) -> str:
    out = io.StringIO()
    nbformat.write(nb, out)
    return out.getvalue()


def test_a_canvas_zip_through_zip_collect_autograde_and_release_feedback(tmp_path, generate):
    course = init(directory=tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "c.HiddenSuites.jobs = 2\n")
    generate(course)
    right = text(notebook("smoother", reference_code("smoother")))
    archive = course / "downloaded" / "attention" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.writestr("lovelaceada_101_9001_smoother.ipynb", right)
        z.writestr("babbagebob_LATE_102_9002_smoother.ipynb", right)
        z.writestr("hoppercarol_103_9003_Smoother-Copy1.ipynb", right)
        z.writestr("dijkstradave_104_9004_smoother.ipynb", text(notebook("smoother", FLIPPED.code)))
        z.writestr("hammingfrank_106_9006_smoother.ipynb", right)
        z.writestr("hammingfrank_106_9007_smoother-1.ipynb", text(notebook("smoother", FLIPPED.code)))
        z.writestr("../../escape_107_9008_smoother.ipynb", right)
        z.writestr("zed smoother final.ipynb", right)
    done = nbgrader(course, "zip_collect", "attention")
    log = done.stderr + done.stdout
    assert "zed smoother final.ipynb: its name fits no Canvas, Moodle or Blackboard pattern" in log
    assert "escape_107_9008_smoother.ipynb: not collected: its name leads out of the download" in log
    assert "103 handed in Smoother-Copy1.ipynb: collected as smoother.ipynb" in log
    assert "106 handed in smoother-1.ipynb, a second smoother notebook: kept as smoother-2.ipynb" in log
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["101", "102", "103", "104", "106"]
    assert (submitted / "103" / "attention" / "smoother.ipynb").exists()
    assert sorted(p.name for p in (submitted / "106" / "attention").glob("*.ipynb")) == [
        "smoother-2.ipynb",
        "smoother.ipynb",
    ]
    assert not (tmp_path / "escape_107_9008_smoother.ipynb").exists()
    nbgrader(course, "autograde", "attention")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        scores = {
            s: gb.find_submission_notebook("smoother", "attention", s).score for s in ("101", "103", "104", "106")
        }
    assert scores["101"] == scores["103"] == scores["106"] == 10  # frank's wrong second notebook is not added
    assert scores["104"] < 10
    graded = nbformat.read(course / "autograded" / "103" / "attention" / "smoother.ipynb", as_version=4)
    said = json.dumps([c.get("outputs", []) for c in graded.cells])
    assert "You handed this notebook in as Smoother-Copy1.ipynb; it was graded as smoother" in said
    nbgrader(course, "generate_feedback", "attention")
    page = (course / "feedback" / "103" / "attention" / "smoother.html").read_text()
    assert "You handed this notebook in as Smoother-Copy1.ipynb" in page
    released = nbgrader(course, "release_feedback", "attention", ok=False)
    assert released.returncode == 0, released.stderr[-2000:]


def test_a_renamed_notebook_placed_by_hand_is_graded_as_the_part_its_cells_name(tmp_path, generate):
    """A TA copies a student's files into submitted/ by hand (or the exchange brings them): a notebook
    renamed by the student's Jupyter ("Smoother-Copy1.ipynb", "vocab (1).ipynb") is graded as its part, not
    skipped as unknown; a second notebook of a part is not added; a notebook of no part stays unknown."""
    course = init(directory=tmp_path / "course")
    generate(course)
    folder = course / "submitted" / "ada" / "attention"
    folder.mkdir(parents=True)
    (folder / "Smoother-Copy1.ipynb").write_text(text(notebook("smoother", reference_code("smoother"))))
    (folder / "vocab (1).ipynb").write_text(text(notebook("vocab", reference_code("vocab"))))
    (folder / "attention.ipynb").write_text(text(notebook("attention", reference_code("attention"))))
    (folder / "attention-old.ipynb").write_text(text(notebook("attention", "def nothing():\n    pass\n")))
    (folder / "notes.ipynb").write_text(text(nbformat.v4.new_notebook()))
    done = nbgrader(course, "autograde", "attention")
    log = done.stderr + done.stdout
    assert "ada handed in Smoother-Copy1.ipynb: graded as smoother.ipynb" in log
    assert "ada handed in vocab (1).ipynb: graded as vocab.ipynb" in log
    assert "ada handed in attention-old.ipynb, a second attention notebook: not graded, never added" in log
    assert "Skipping unknown notebook" in log
    assert "notes.ipynb" in log
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        scores = {
            n: gb.find_submission_notebook(n, "attention", "ada").score for n in ("smoother", "vocab", "attention")
        }
    assert scores == {"smoother": 10, "vocab": 10, "attention": 10}
    graded = nbformat.read(course / "autograded" / "ada" / "attention" / "vocab.ipynb", as_version=4)
    said = json.dumps([c.get("outputs", []) for c in graded.cells])
    assert "You handed this notebook in as vocab (1).ipynb; it was graded as vocab" in said
    assert (folder / "attention-old.ipynb").exists()  # nothing lost
    # handed in again, under the notebook's own name: graded, with no note left over from the renamed one
    (folder / "vocab.ipynb").write_text(text(notebook("vocab", reference_code("vocab") + "\n# again\n")))
    nbgrader(course, "autograde", "attention", "--force")
    graded = nbformat.read(course / "autograded" / "ada" / "attention" / "vocab.ipynb", as_version=4)
    assert "You handed this notebook in as" not in json.dumps([c.get("outputs", []) for c in graded.cells])
