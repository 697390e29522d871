"""Does the suites' pytest plugin run a suite over a stream of submissions and score each check?

A toy suite runs through ``RunLoop`` inside pytester, with a ``Student`` stand-in that runs the
(trusted, test-written) code in this process: no sandbox.
"""

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.cells import Answers
from autograder.records import SubmissionRecord
from autograder.sandbox.launch import Limits
from autograder.sandbox.student import StudentFailure
from autograder.submission import Submission, defined_names
from autograder.suites import plugin as suite_plugin
from autograder.suites.plugin import RunLoop

pytest_plugins = ["pytester"]

SUITE = '''
import pytest
import torch

from autograder.suites.compare import CheckFailed, expect_same
from autograder.suites.kit import on_devices
from autograder.suites.plugin import group

POINTS = {"matches the reference": 6.0, "edge cases and bad input": 3.0, "speed": 1.0}


@group("matches the reference")
@on_devices
def test_smooth_doubles_a_signal(student, device):
    """Doubles a signal."""
    x = torch.arange(4.0, device=device)
    expect_same(student.call("smooth", x, None), 2 * x, call="smooth((4,) float32)")


@group("matches the reference")
@pytest.mark.parametrize("size", [1, 5])
def test_kernel_of_size(student, size):
    assert student.call("gaussian_kernel", size).shape == (size,), f"gaussian_kernel({size}) has the wrong shape"


@group("edge cases and bad input")
def test_rejects_size_0(student):
    """Rejects size 0."""
    raise CheckFailed("gaussian_kernel(0) should raise ValueError", "check size < 1 first")


@group("speed")
def test_speed(student):
    """Fast enough."""
    student.call("smooth", torch.zeros(2), None)
'''

RIGHT = (
    "def smooth(signal, kernel):\n    return 2 * signal\n\ndef gaussian_kernel(size):\n    return torch.ones(size)\n"
)
WRONG = "def smooth(signal, kernel):\n    return signal + 1\n\ndef gaussian_kernel(size):\n    return torch.ones(3)\n"


class FakeStudent:
    """The methods of ``Student`` the toy suite and ``RunLoop`` use; runs the code here, as if in the sandbox."""

    def __init__(self, zygote, answers: Answers, limits: Limits) -> None:
        import torch

        code = answers.code
        self.namespace = {"torch": torch}
        self.load_error: StudentFailure | None = None
        self.generation, self.events, self.notes = 1, [], []
        try:
            exec(compile(code, "<submission>", "exec"), self.namespace)
        except SyntaxError as error:
            self.load_error = StudentFailure(f"loading your code raised SyntaxError: {error.msg}")
        self.names = sorted(defined_names(code) or ())

    def call(self, name: str, *args, **kwargs):
        if self.load_error is not None:
            raise self.load_error
        try:
            return self.namespace[name](*args)
        except Exception as error:
            raise StudentFailure(f"{name} raised {type(error).__name__}: {error}") from None

    def close(self) -> None:
        pass


def run_suite(pytester, suite: str, *codes: str) -> tuple[list[SubmissionRecord], int]:
    """The records of ``codes`` graded by ``suite`` (saved as ``smoother.py``), and pytest's exit code."""
    pytester._monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as in a grading job
    path = pytester.makepyfile(smoother=textwrap.dedent(suite))
    tasks = [Submission(path=f"s{i}.py", code=code, parts=["smoother"], index=i) for i, code in enumerate(codes)]
    delivered: list[tuple[int, SubmissionRecord]] = []
    zygote = SimpleNamespace(faults=[])  # a sandbox that never fails: the plugin grades each submission once
    batch = RunLoop(
        iter(tasks), lambda *kept: delivered.append(kept), zygote, False, Limits(), student_factory=FakeStudent
    )
    result = pytester.inline_run(str(path), "-p", "no:cacheprovider", "-q", plugins=[batch, suite_plugin])
    assert [index for index, _ in delivered] == list(range(len(delivered)))  # each under its submission's index
    return [record for _, record in delivered], result.ret


def outcomes(record: SubmissionRecord) -> list[tuple]:
    return [(c.name, c.device, c.group, c.passed, c.skipped, c.points, c.max_points) for c in record.parts[0].checks]


def test_a_correct_submission_gets_every_point_of_the_checks_that_ran(pytester):
    [record], code = run_suite(pytester, SUITE, RIGHT)
    assert code == 0
    assert (record.path, record.score, record.max_score) == ("s0.py", 7.0, 10.0)
    assert outcomes(record) == [
        ("Doubles a signal", "cpu", "matches the reference", True, False, 2.0, 2.0),
        ("Doubles a signal", "cuda", "matches the reference", False, True, 0.0, 0.0),
        ("kernel of size [1]", "cpu", "matches the reference", True, False, 2.0, 2.0),
        ("kernel of size [5]", "cpu", "matches the reference", True, False, 2.0, 2.0),
        ("Rejects size 0", "cpu", "edge cases and bad input", False, False, 0.0, 3.0),
        ("Fast enough", "cpu", "speed", True, False, 1.0, 1.0),
    ]
    checks = record.parts[0].checks
    assert checks[1].message == "CUDA is not available on the grading machine"
    assert (checks[4].message, checks[4].hint) == (
        "gaussian_kernel(0) should raise ValueError",
        "check size < 1 first",
    )


def test_each_submission_of_the_stream_gets_its_own_record_and_messages(pytester):
    records, code = run_suite(pytester, SUITE, WRONG, RIGHT, "def smooth(:\n")
    assert code == 0
    assert [(r.path, r.score) for r in records] == [("s0.py", 1.0), ("s1.py", 7.0), ("s2.py", 0.0)]
    wrong = {c.name: c.message for c in records[0].parts[0].checks if c.failed}
    assert wrong["Doubles a signal"] == (
        "smooth((4,) float32): the result: values differ, the largest difference is 2 at [3] (expected 6, got 4); "
        "3 of 4 values are outside the tolerance (rtol 0.0001, atol 1e-05)"
    )
    assert wrong["kernel of size [1]"] == "gaussian_kernel(1) has the wrong shape"
    broken = records[2].parts[0]
    assert broken.error == "loading your code raised SyntaxError: invalid syntax"
    assert {c.message for c in broken.checks if not c.skipped} == {
        "loading your code raised SyntaxError: invalid syntax",
        "gaussian_kernel(0) should raise ValueError",
    }


def test_a_submission_that_defines_none_of_the_parts_names_says_so(pytester):
    [record], _ = run_suite(pytester, SUITE, "def something_else():\n    pass\n")
    assert record.parts[0].error == "your code defines none of gaussian_kernel, smooth"
    assert record.score == 0.0


def test_a_fault_of_the_suite_itself_is_named_as_the_graders(pytester):
    suite = SUITE.replace('    """Fast enough."""\n', '    """Fast enough."""\n    {}["missing"]\n')
    [record], _ = run_suite(pytester, suite, RIGHT)
    speed = record.parts[0].checks[-1]
    assert speed.message == "internal error of the grader: KeyError: 'missing'"
    assert record.score == 6.0


def test_a_suite_whose_points_do_not_add_up_to_10_is_refused(pytester, capsys):
    records, code = run_suite(pytester, SUITE.replace('"speed": 1.0', '"speed": 0.5'), RIGHT)
    assert code == pytest.ExitCode.USAGE_ERROR
    assert records == []
    assert "ERROR: the POINTS of smoother add up to 9.5, not 10, or one is negative" in capsys.readouterr().err


def test_a_check_outside_the_groups_of_points_is_refused(pytester, capsys):
    records, code = run_suite(pytester, SUITE.replace('@group("speed")', '@group("style")'), RIGHT)
    assert code == pytest.ExitCode.USAGE_ERROR
    assert records == []
    assert "ERROR: smoother.py::test_speed has no group of smoother.POINTS" in capsys.readouterr().err


def test_an_inconclusive_check_is_skipped_and_messages_keep_no_host_path_or_hidden_word(pytester):
    grader = str(Path(suite_plugin.__file__).resolve().parents[2])
    suite = SUITE.replace(
        "from autograder.suites.compare import CheckFailed,",
        "from autograder.suites.compare import Inconclusive, CheckFailed,",
    )
    suite = suite.replace("POINTS = {", 'HIDDEN = {"zebra"}\nPOINTS = {')
    suite = suite.replace(
        '"gaussian_kernel(0) should raise ValueError", "check size < 1 first"',
        f'"zebra in {grader}/x.py", "not zebras"',
    )
    suite = suite.replace(
        '    student.call("smooth", torch.zeros(2), None)',
        '    raise Inconclusive("the timing was too noisy to decide")',
    )
    [record], code = run_suite(pytester, suite, RIGHT + "\ndef peek():\n    return torch._C\n")
    assert code == 0
    part = record.parts[0]
    rejects, speed = part.checks[-2:]
    assert (rejects.message, rejects.hint) == ("<a hidden word> in <grader>/x.py", "not zebras")
    assert (speed.passed, speed.skipped, speed.points, speed.message) == (
        False,
        True,
        0.0,
        "the timing was too noisy to decide",
    )
    assert record.score == 6.0
    assert part.flags == ["it reaches into torch internals (torch._C)"]
