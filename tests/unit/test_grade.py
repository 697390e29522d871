"""Does ``grade`` keep the input order, resume from its report and journal, and keep what an interrupted run graded?

The jobs are replaced by a runner that scores each submission by a ``# score N`` comment in its
code, and the sandbox by one that is always found: no process is started here.
"""

import json
from pathlib import Path

import pytest

from autograder.grade import UsageError, grade
from autograder.journal import journal_path
from autograder.records import Check, PartResult, Report
from autograder.sandbox.launch import Limits, Sandbox, SandboxError

ENVIRONMENT = {"devices": ["cpu", "meta"], "sandbox": "bubblewrap"}


def found(requested: str) -> Sandbox:
    return Sandbox("bubblewrap")


class Runner:
    """Stands in for ``run_jobs``: grades ``todo`` in the order given (or reversed), maybe stopping after ``stop_after``."""

    def __init__(self, reverse: bool = False, stop_after: int | None = None) -> None:
        self.reverse, self.stop_after = reverse, stop_after
        self.graded: list[str] = []
        self.calls: list[tuple] = []

    def __call__(self, todo, options, jobs, keep) -> dict:  # keep(index, SubmissionRecord)
        self.calls.append((options, jobs))
        for sub in reversed(todo) if self.reverse else todo:
            if self.stop_after is not None and len(self.graded) == self.stop_after:
                raise KeyboardInterrupt
            self.graded.append(Path(sub.path).name)
            record = sub.record()
            score = float(sub.code.split("# score ")[1].split()[0])
            for part in sub.parts:
                scored = Check("# score", "matches the reference", passed=True, points=score, max_points=score)
                record.parts.append(PartResult(part, [scored]))
            keep(sub.index, record)
        return dict(ENVIRONMENT)


def submissions(folder: Path, **scores: float) -> list[Path]:
    """One ``.py`` per name (``a=3`` gives ``a.py``, a smoother that scores 3)."""
    paths = []
    for name, score in scores.items():
        path = folder / f"{name}.py"
        path.write_text(f"def smooth(signal, kernel):\n    return signal  # score {score}\n")
        paths.append(path)
    return paths


def scores(report: Report) -> list[tuple[str, float]]:
    return [(Path(r.path).name, r.score) for r in report.submissions]


def test_records_come_in_the_order_given_whatever_order_they_finish_in(tmp_path):
    paths = submissions(tmp_path, a=1, b=2, c=3)
    (tmp_path / "notes.txt").write_text("not code")
    paths.insert(1, tmp_path / "notes.txt")
    runner = Runner(reverse=True)
    report = grade(submissions=paths, runner=runner, detect=found, progress=False)
    assert runner.graded == ["c.py", "b.py", "a.py"]  # an unreadable file never reaches the jobs
    assert scores(report) == [("a.py", 1.0), ("notes.txt", 0.0), ("b.py", 2.0), ("c.py", 3.0)]
    assert report.submissions[1].error == (
        "notes.txt is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
    )
    assert all("index" not in r for r in report.to_json()["submissions"])
    assert report.environment == {**ENVIRONMENT, "reused": 0}


def test_the_runner_gets_the_options_and_the_number_of_jobs(tmp_path):
    asked = []
    runner = Runner()
    limits = Limits(call_timeout=3.0)
    grade(
        submissions=submissions(tmp_path, a=1),
        device="cpu",
        sandbox="bubblewrap",
        limits=limits,
        jobs=3,
        runner=runner,
        detect=lambda requested: asked.append(requested) or Sandbox("bubblewrap"),
        progress=False,
    )
    [(options, jobs)] = runner.calls
    assert asked == ["bubblewrap"]
    assert (options.device, options.sandbox, options.limits, options.figures) == (
        "cpu",
        Sandbox("bubblewrap"),
        limits,
        False,
    )
    assert jobs == 3


def test_bubblewrap_required_where_it_cannot_run_is_a_usage_error(tmp_path):
    def missing(requested: str) -> Sandbox:
        raise SandboxError("bubblewrap (bwrap) is not installed")

    with pytest.raises(UsageError, match=r"^--sandbox bubblewrap: bubblewrap \(bwrap\) is not installed$"):
        grade(submissions=submissions(tmp_path, a=1), sandbox="bubblewrap", runner=Runner(), detect=missing)


def test_a_second_run_grades_only_new_or_changed_files(tmp_path):
    out = tmp_path / "out.json"
    a, b = submissions(tmp_path, a=1, b=2)
    grade(submissions=[a, b], json_path=out, runner=Runner(), detect=found, progress=False)
    assert not journal_path(out).exists()  # a run that finished keeps only its report
    b.write_text(b.read_text().replace("# score 2", "# score 7"))
    c = submissions(tmp_path, c=3)[0]
    runner = Runner()
    report = grade(submissions=[a, b, c], json_path=out, runner=runner, detect=found, progress=False)
    assert runner.graded == ["b.py", "c.py"]
    assert scores(report) == [("a.py", 1.0), ("b.py", 7.0), ("c.py", 3.0)]
    assert report.environment["reused"] == 1
    assert json.loads(out.read_text()) == report.to_json()


def test_a_run_with_nothing_new_starts_no_job(tmp_path):
    out = tmp_path / "out.json"
    paths = submissions(tmp_path, a=1, b=2)
    grade(submissions=paths, json_path=out, runner=Runner(), detect=found, progress=False)
    runner = Runner()
    report = grade(submissions=paths, json_path=out, runner=runner, detect=found, progress=False)
    assert runner.calls == []
    assert scores(report) == [("a.py", 1.0), ("b.py", 2.0)]
    assert report.environment == {"devices": [], "sandbox": "not started: nothing to grade", "reused": 2}


def test_force_grades_everything_again(tmp_path):
    out = tmp_path / "out.json"
    paths = submissions(tmp_path, a=1, b=2)
    grade(submissions=paths, json_path=out, runner=Runner(), detect=found, progress=False)
    runner = Runner()
    report = grade(submissions=paths, json_path=out, force=True, runner=runner, detect=found, progress=False)
    assert runner.graded == ["a.py", "b.py"]
    assert report.environment["reused"] == 0


def test_an_interrupted_run_keeps_what_it_graded_and_the_next_run_grades_the_rest(tmp_path):
    out = tmp_path / "out.json"
    paths = submissions(tmp_path, a=1, b=2, c=3, d=4)
    with pytest.raises(KeyboardInterrupt):
        grade(submissions=paths, json_path=out, runner=Runner(stop_after=2), detect=found, progress=False)
    assert scores(Report.from_json(json.loads(out.read_text()))) == [("a.py", 1.0), ("b.py", 2.0)]
    journal = [json.loads(line) for line in journal_path(out).read_text().splitlines()]
    assert [(Path(r["path"]).name, r["score"]) for r in journal] == [("a.py", 1.0), ("b.py", 2.0)]
    runner = Runner()
    report = grade(submissions=paths, json_path=out, runner=runner, detect=found, progress=False)
    assert runner.graded == ["c.py", "d.py"]
    assert scores(report) == [("a.py", 1.0), ("b.py", 2.0), ("c.py", 3.0), ("d.py", 4.0)]
    assert report.environment["reused"] == 2
    assert not journal_path(out).exists()


def test_on_record_sees_each_record_as_it_is_kept(tmp_path):
    seen = []
    grade(
        submissions=submissions(tmp_path, a=1, b=2),
        runner=Runner(),
        detect=found,
        progress=False,
        on_record=seen.append,
    )
    assert [(Path(r.path).name, r.score, r.part("smoother").score) for r in seen] == [
        ("a.py", 1.0, 1.0),
        ("b.py", 2.0, 2.0),
    ]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"submissions": []}, "no submission given"),
        ({"parts": ["nope"]}, "unknown part 'nope': choose from smoother, vocab, attention, masking"),
        ({"device": "tpu"}, "unknown device 'tpu': choose auto, cpu, cuda"),
        ({"sandbox": "docker"}, "unknown sandbox 'docker': choose auto, bubblewrap, none"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path, kwargs, says):
    runner = Runner()
    with pytest.raises(UsageError) as refused:
        grade(**{"submissions": submissions(tmp_path, a=1), **kwargs}, runner=runner, detect=found)
    assert str(refused.value) == says
    assert runner.calls == []


def test_one_student_is_graded_by_one_job_unless_told_otherwise(tmp_path):
    """At most four submissions (one student's notebooks) get one job by default; more, one per core."""
    from autograder.jobs import FEW, default_jobs

    few, many = Runner(), Runner()
    (tmp_path / "few").mkdir()
    (tmp_path / "many").mkdir()
    detect = lambda requested: Sandbox("bubblewrap")  # noqa: E731
    grade(submissions=submissions(tmp_path / "few", a=1, b=2, c=3, d=4), runner=few, detect=detect, progress=False)
    grade(
        submissions=submissions(tmp_path / "many", a=1, b=2, c=3, d=4, e=5), runner=many, detect=detect, progress=False
    )
    assert FEW == 4
    assert [jobs for _, jobs in few.calls] == [1]
    assert [jobs for _, jobs in many.calls] == [default_jobs()]
    assert default_jobs(FEW + 1) == default_jobs() >= 1
