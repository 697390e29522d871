"""An LMS download graded end to end by ``autograder grade``: a Canvas zip of six students, one late, one
renamed notebook, one student with two notebooks of one part, and a file whose name fits no pattern."""

import csv
import io
import json
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.dev.examples import MISTAKES, notebook, reference_code
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FLIPPED = next(m for m in MISTAKES if m.name == "kernel flipped (true convolution)")


def text(nb) -> str:
    out = io.StringIO()
    nbformat.write(nb, out)
    return out.getvalue()


def test_a_canvas_zip_is_graded_per_student(tmp_path):
    right = text(notebook("smoother", reference_code("smoother")))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("lovelaceada_101_9001_smoother.ipynb", right)
        z.writestr("babbagebob_LATE_102_9002_smoother.ipynb", right)
        z.writestr("hoppercarol_103_9003_Smoother-Copy1.ipynb", right)  # renamed: graded by its cells
        z.writestr("dijkstradave_104_9004_smoother.ipynb", text(notebook("smoother", FLIPPED.code)))
        z.writestr("turingerin_105_9005_smoother.ipynb", (ROOT / "assignments" / "smoother.ipynb").read_text())
        z.writestr("hammingfrank_106_9006_smoother.ipynb", right)
        z.writestr("hammingfrank_106_9007_smoother-1.ipynb", right)  # a second smoother: kept, never added
        z.writestr("zed smoother final.ipynb", right)  # fits no pattern: listed, not guessed
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "submissions.zip", "--part", "smoother", "--jobs", "2",
         "--json", "out.json", "--gradebook-csv", "grades.csv", "--form", "canvas", "--id-column", "ID", "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]  # one file not graded
    assert (
        "autograder grade: submissions.zip/zed smoother final.ipynb: not graded: its name fits no Canvas, "
        "Moodle or Blackboard pattern" in done.stderr
    )
    records = json.loads((tmp_path / "out.json").read_text())["submissions"]
    by_path = {r["path"]: r for r in records}
    assert len(records) == 7
    assert {r["student"] for r in records} == {"101", "102", "103", "104", "105", "106"}
    assert by_path["submissions.zip/babbagebob_LATE_102_9002_smoother.ipynb"]["note"].startswith(
        "handed in late (canvas)"
    )
    assert by_path["submissions.zip/hoppercarol_103_9003_Smoother-Copy1.ipynb"]["score"] == 10
    frank = [r for r in records if r["student"] == "106"]
    assert sorted(r["parts"][0].get("duplicate_of", "") == "" for r in frank) == [False, True]
    rows = list(csv.reader((tmp_path / "grades.csv").open()))
    assert rows[0] == ["Student", "ID", "Section", "smoother", "total"]
    assert rows[1] == ["Points Possible", "", "", "10.00", "10.00"]
    scores = {row[1]: row[3] for row in rows[2:]}
    assert scores["101"] == scores["102"] == scores["103"] == scores["106"] == "10.00"  # frank's counted once
    assert float(scores["104"]) < 10
    assert scores["105"] == "0.00"
    assert len(rows) == 2 + 6
