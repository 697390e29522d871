"""Does batch grading resume, survive interruption, and give what grading one at a time gives?"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.dev.examples import MISTAKES, reference_code
from autograder.grade import grade
from tests.conftest import ROOT


def mistake(name):
    return next(m.code for m in MISTAKES if m.name == name)


@pytest.fixture
def submissions(tmp_path):
    files = {
        "smoother.py": reference_code("smoother"),
        "vocab-ties.py": mistake("ties sorted alphabetically"),
        "attention-inverted.py": mistake("mask inverted"),
        "masking.ipynb": (ROOT / "assignments" / "masking.ipynb").read_text(),
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    return paths


def outcomes(record):
    return [
        (p["part"], c["name"], c["device"], c["status"], c["points"], c["message"])
        for p in record["parts"]
        for c in p["checks"]
    ]


def test_a_batch_gives_what_grading_one_at_a_time_gives(submissions):
    batch = grade(submissions=submissions, jobs=2, progress=False).to_json()["submissions"]
    for path, together in zip(submissions, batch, strict=True):
        alone = grade(submissions=[path], jobs=1, progress=False).to_json()["submissions"][0]
        assert outcomes(alone) == outcomes(together)
        assert alone["score"] == together["score"]


def test_a_second_run_grades_only_what_is_new_or_changed(submissions, tmp_path):
    report = tmp_path / "report.json"
    first = grade(submissions=submissions[:2], json_path=report, progress=False).to_json()
    graded = []
    second = grade(submissions=submissions, json_path=report, progress=False, on_record=graded.append).to_json()
    assert sorted(Path(r.path).name for r in graded) == ["attention-inverted.py", "masking.ipynb"]  # any order
    assert second["environment"]["reused"] == 2
    assert second["submissions"][:2] == first["submissions"]
    assert [r["path"] for r in json.loads(report.read_text())["submissions"]] == [str(p) for p in submissions]

    submissions[0].write_text(reference_code("smoother").replace("return density / density.sum()", "return density"))
    graded.clear()
    third = grade(submissions=submissions, json_path=report, progress=False, on_record=graded.append).to_json()
    assert [Path(r.path).name for r in graded] == ["smoother.py"]
    assert third["submissions"][0]["score"] < 10

    graded.clear()
    grade(submissions=submissions, json_path=report, progress=False, force=True, on_record=graded.append)
    assert len(graded) == 4


def test_an_interrupted_batch_resumes_where_it_stopped(tmp_path):
    paths = []
    for i in range(12):  # many more than the two waited for: the SIGINT lands mid-batch even on a loaded machine
        paths.append(tmp_path / f"student{i}.py")
        paths[-1].write_text(reference_code("attention"))
    report = tmp_path / "report.json"
    journal = tmp_path / "report.json.journal"
    command = [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--json", str(report), "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 2):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    kept = json.loads(report.read_text())["submissions"]
    assert 2 <= len(kept) < len(paths)
    assert journal.exists()

    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{len(kept)} submission(s) kept from the earlier report" in done.stdout
    final = json.loads(report.read_text())["submissions"]
    assert [r["path"] for r in final] == [str(p) for p in paths]
    assert all(r["score"] == 10.0 for r in final)
    assert not journal.exists()


def test_a_job_does_not_run_the_callers_script_again(tmp_path):
    """multiprocessing's spawn runs the parent's main script again in each new process (under the ``nbgrader``
    command: all of nbgrader's imports, in every job). A job must not: here a script that grades at its top
    level, with no ``if __name__ == "__main__"``, runs once and grades once."""
    (tmp_path / "smoother.py").write_text(reference_code("smoother"))
    ran = tmp_path / "ran"
    script = tmp_path / "grading_script.py"
    script.write_text(
        "import os\n"
        f"with open({str(ran)!r}, 'a') as out:\n"
        "    out.write(f'{os.getpid()}\\n')\n"
        "from autograder.grade import grade\n"
        f"report = grade(submissions=[{str(tmp_path / 'smoother.py')!r}], progress=False)\n"
        "print('score', report.submissions[0].score)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "score 10.0" in done.stdout
    assert len(ran.read_text().splitlines()) == 1  # the script ran in this process only


def test_a_pool_closes_at_once_over_records_no_one_read(tmp_path):
    """Records a caller never asks for (nbgrader's prefetch of a notebook it then skips) fill the pipe to the
    caller; closing the pool reads and drops them, so that each job ends by itself instead of being killed."""
    from autograder.jobs import Pool, job_config
    from autograder.submission import load

    pool = Pool(job_config("cpu", "auto", None, figures=True), 1)  # records with pictures, as nbgrader asks
    code = mistake("kernel flipped (true convolution)")  # a record with messages: a few fill a pipe
    for i in range(6):
        (tmp_path / f"flipped-{i}.py").write_text(code)
        pool.submit(load(tmp_path / f"flipped-{i}.py", index=i))
    pool.next()  # one read; five never are
    processes = list(pool.processes.values())
    pool.close()
    assert [p.exitcode for p in processes] == [0]  # not killed (-9)
