"""Does the `autograder grade` command keep its contract: tables, JSON, progress, exit codes?"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.dev.examples import notebook, reference_code
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_nbgrader_tree_is_graded_notebook_by_notebook_with_each_record_naming_its_student(tmp_path):
    submitted = tmp_path / "submitted"
    for student, code in [("ada", reference_code("smoother")), ("bob", None)]:
        folder = submitted / student / "attention"
        (folder / ".ipynb_checkpoints").mkdir(parents=True)
        stub = ROOT / "assignments" / "smoother.ipynb"
        nbformat.write(notebook("smoother", code) if code else nbformat.read(stub, 4), folder / "smoother.ipynb")
        shutil.copy(stub, folder / ".ipynb_checkpoints" / "smoother-checkpoint.ipynb")
        (folder / "timestamp.txt").write_text("2026-12-01 09:00:00.000000 UTC")
    done = run(
        "grade", "submitted", "--json", "out.json", "--csv", "parts.csv", "--checks-csv", "checks.csv", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "submitted/ada/attention/smoother.ipynb  10 / 10" in done.stdout
    assert "submitted/bob/attention/smoother.ipynb  0 / 10" in done.stdout
    assert "Graded 2 submission(s)" in done.stdout
    records = json.loads((tmp_path / "out.json").read_text())["submissions"]
    assert [(r["path"], r["student"], [p["part"] for p in r["parts"]], r["score"]) for r in records] == [
        ("submitted/ada/attention/smoother.ipynb", "ada", ["smoother"], 10.0),
        ("submitted/bob/attention/smoother.ipynb", "bob", ["smoother"], 0.0),
    ]
    # the same results as CSV: a row per student and part, a column per group; a row per check
    with (tmp_path / "parts.csv").open() as f:
        parts = list(csv.DictReader(f))
    assert [(r["student"], r["part"], r["score"]) for r in parts] == [
        ("ada", "smoother", "10"),
        ("bob", "smoother", "0"),
    ]
    groups = {c["group"]: 0.0 for r in records for p in r["parts"] for c in p["checks"]}
    for c in records[0]["parts"][0]["checks"]:
        groups[c["group"]] += c["points"]
    assert {g: float(parts[0][g]) for g in groups} == pytest.approx(groups)
    with (tmp_path / "checks.csv").open() as f:
        checks = list(csv.DictReader(f))
    assert len(checks) == sum(len(p["checks"]) for r in records for p in r["parts"])
    assert {c["result"] for c in checks if c["student"] == "bob"} >= {"failed"}


@pytest.mark.slow
def test_part_restricts_a_py_to_one_part(tmp_path):
    (tmp_path / "masking.py").write_text(reference_code("masking"))
    done = run("grade", "masking.py", "--part", "attention", "--json", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out.json").read_text())["submissions"][0]
    assert [p["part"] for p in record["parts"]] == ["attention"]
    assert record["score"] == 10.0
