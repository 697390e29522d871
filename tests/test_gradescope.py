"""The Gradescope archive, built and run in a simulated ``/autograder`` root (``$AUTOGRADER_ROOT``).

Gradescope itself cannot be reached here: the archive is unpacked as Gradescope lays it out
(``source/``, ``run_autograder``, ``submission/``, ``results/``), its ``run_autograder`` is run with
this environment's Python in place of the one ``setup.sh`` installs, and ``results.json`` is checked
field by field against the specification.
"""

import json
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.dev.examples import MISTAKES, notebook, reference_code
from autograder.gradescope import VISIBILITY, unpack
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FLIPPED = next(m for m in MISTAKES if m.name == "kernel flipped (true convolution)")
PARTS = ("smoother", "vocab", "attention", "masking")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "autograder.zip"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "gradescope", "build", "-o", str(out), "--hide", "hints",
         "--visibility", "after_published"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_the_archive_has_what_the_specification_asks_for(archive):
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "gradescope.json", "package/pyproject.toml"} <= names
    assert "package/autograder/suites/__init__.py" in names or any(
        n.startswith("package/autograder/suites/") for n in names
    )
    assert not any("__pycache__" in n or n.startswith("package/tests/") for n in names)
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert "bubblewrap" in setup
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert "pip install /autograder/source/package" in setup


def grade(archive, tmp_path, files: dict) -> dict:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    unpack(archive, root)
    for name, content in files.items():
        target = root / "submission" / name
        if isinstance(content, os.PathLike):
            os.symlink(content, target)
        else:
            target.write_text(content)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def validate(results: dict) -> None:
    """The fields of Gradescope's results.json, each of its type and meaning."""
    assert set(results) == {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
    assert isinstance(results["score"], float)
    assert isinstance(results["execution_time"], int)
    assert results["execution_time"] >= 0
    assert isinstance(results["output"], str)
    assert results["visibility"] == "after_published"
    assert results["stdout_visibility"] == "hidden"
    assert results["visibility"] in VISIBILITY
    tests = results["tests"]
    assert tests
    for test in tests:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str)
        assert test["name"]
        assert isinstance(test["score"], float)
        assert isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert test["status"] == ("passed" if test["score"] >= test["max_score"] else "failed")
        assert isinstance(test["output"], str)
        assert "\x1b" not in test["output"]
        assert test["visibility"] == "after_published"
        assert "Hint:" not in test["output"]  # --hide hints
    assert round(sum(t["score"] for t in tests), 2) == results["score"]
    assert round(sum(t["max_score"] for t in tests), 2) == 40.0


def test_correct_solutions_score_full_marks(archive, tmp_path):
    files = {f"{p}.py": reference_code(p) for p in PARTS}  # solutions/, each file standing alone
    results = grade(archive, tmp_path, files)
    assert results["score"] == 40.0
    assert all(t["status"] == "passed" for t in results["tests"])
    assert not any(line.startswith("- ") for t in results["tests"] for line in t["output"].splitlines())
    assert {t["name"].split(":")[0] for t in results["tests"]} == set(PARTS)


def test_untouched_notebooks_score_zero_and_say_why(archive, tmp_path):
    files = {f"{p}.ipynb": (ROOT / "assignments" / f"{p}.ipynb").read_text() for p in PARTS}
    results = grade(archive, tmp_path, files)
    assert results["score"] == 0.0
    assert any("not implemented" in t["output"] for t in results["tests"])


def test_a_buggy_notebook_loses_points_and_missing_parts_are_zero(archive, tmp_path):
    files = {"smoother.ipynb": nbformat.writes(notebook("smoother", FLIPPED.code))}
    results = grade(archive, tmp_path, files)
    smoother = [t for t in results["tests"] if t["name"].startswith("smoother: ")]
    assert smoother
    assert 0 < sum(t["score"] for t in smoother) < 10
    missing = {t["name"]: t for t in results["tests"] if ":" not in t["name"]}
    assert set(missing) == {"vocab", "attention", "masking"}
    assert all(t["score"] == 0 and "no notebook or .py file" in t["output"] for t in missing.values())


def test_hostile_files_score_nothing_and_break_nothing(archive, tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text(reference_code("smoother"))
    files = {
        "smoother.py": secret,  # a link: never followed
        "\x1b[2Jvocab.ipynb": "{not json",
        "attention.py": "import os\nos.system('touch /tmp/pwned')\n" * 2,
    }
    results = grade(archive, tmp_path, files)
    assert results["score"] == 0.0
    assert "\x1b" not in results["output"]
    assert "not graded" in results["output"]
