"""Does the `autograder grade` command keep its contract: tables, JSON, progress, exit codes?"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograder.dev.examples import reference_code
from tests.conftest import ROOT

AUTOGRADER = Path(sys.executable).parent / "autograder"


def run(*args, cwd=None):
    return subprocess.run([str(AUTOGRADER), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_the_command_is_installed():
    done = run("--version")
    assert done.returncode == 0
    assert "autograder" in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["grade"], "the following arguments are required"),
        (["grade", "x.py", "--part", "nope"], "invalid choice: 'nope'"),
        (["grade", "x.py", "--jobs", "-1"], "--jobs must be at least 0"),
        (["grade", "x.py", "--memory", "0"], "the memory limit must be greater than 0, got 0"),
        (["grade", "x.py", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["grade", "missing.ipynb"], "autograder grade: missing.ipynb: no such file or directory\n"),
        (["course"], "the following arguments are required"),
    ],
)
def test_usage_errors_exit_2(args, says):
    done = run(*args)
    assert done.returncode == 2
    assert says in done.stderr
    assert done.stdout == ""


def test_a_file_that_is_not_a_submission_is_reported_not_graded_and_not_as_0_of_0(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    done = run("grade", "notes.txt", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # nothing graded
    assert "autograder grade: notes.txt: not graded: notes.txt is not a submission" in done.stderr
    reason = "notes.txt is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
    lines = done.stdout.splitlines()
    assert " ".join(line.strip() for line in lines[:2]) == f"notes.txt  not graded: {reason}"
    assert lines[3].startswith("Graded 0 submission(s) in ")
    assert max(map(len, lines)) <= 100
    assert lines[3].endswith("sandbox: not started: nothing to grade.")
    assert " ".join(line.strip() for line in lines[4:]) == f"not graded: notes.txt: {reason}"
    assert "0 / 0" not in done.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_a_usage_error(tmp_path):
    (tmp_path / "a.py").write_text("def smooth(s, k):\n    return s\n")
    done = run("grade", tmp_path / "a.py", "--device", "cuda")
    assert done.returncode == 2
    assert "CUDA is not available" in done.stderr


def test_a_batch_prints_tables_progress_and_writes_json(tmp_path):
    (tmp_path / "good.py").write_text(reference_code("smoother"))
    shutil.copy(ROOT / "assignments" / "smoother.ipynb", tmp_path / "stub.ipynb")
    done = run("grade", "good.py", "stub.ipynb", "--json", "out.json", "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "good.py  10 / 10" in done.stdout
    assert "stub.ipynb  0 / 10" in done.stdout
    assert "gaussian_kernel is not implemented yet" in done.stdout
    assert "Graded 2 submission(s)" in done.stdout
    assert "sandbox: bubblewrap" in done.stdout
    assert "2/2" in done.stderr
    assert "s/submission" in done.stderr
    assert "ETA" in done.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert [r["score"] for r in report["submissions"]] == [10.0, 0.0]
    assert not (tmp_path / "out.json.journal").exists()


def test_part_restricts_a_py_to_one_part(tmp_path):
    (tmp_path / "masking.py").write_text(reference_code("masking"))
    done = run("grade", "masking.py", "--part", "attention", "--json", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out.json").read_text())["submissions"][0]
    assert [p["part"] for p in record["parts"]] == ["attention"]
    assert record["score"] == 10.0
