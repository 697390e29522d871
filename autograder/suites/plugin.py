"""The pytest plugin that runs the hidden suites over a stream of submissions, in one session.

pytest collects the four suites once; then, instead of running each test once, the plugin's run
loop takes submissions one by one, opens a ``Student`` for each of its parts, and runs that
part's tests against it. Every test is one check: its ``group`` marker names the group of points
it belongs to (the suite's ``POINTS``), its ``device`` parameter the device it ran on. A test
fails with the message of the exception it raised (``CheckFailed`` carries a hint too). When the
sandbox fails while a submission is graded (``ZygoteClient.faults``), the submission is graded
again in a fresh one; a record that still saw a failure says so in ``grader_error``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pytest
from _pytest.runner import runtestprotocol

from autograder.cells import Answers
from autograder.messages import grader_fault, recorded, without_host_paths
from autograder.parts import PARTS
from autograder.records import Check, PartResult, SubmissionRecord
from autograder.sandbox.launch import Limits
from autograder.sandbox.student import Student, StudentError, StudentFailure
from autograder.sandbox.zygote_client import ZygoteClient
from autograder.suites.compare import CheckFailed, Inconclusive
from autograder.suites.notebook_data import is_public
from autograder.suites.scan import suspicious_uses
from autograder.suites.scoring import check_points, score

EXCEPTION = pytest.StashKey[BaseException]()
#: A submission during whose grading the sandbox failed is graded again from the start, this often at most.
GRADING_ATTEMPTS = 3
CURRENT = pytest.StashKey["Current"]()


#: The groups of points, in the order of the report: a suite's ``POINTS`` and its ``@group`` use these (from the kit).
MATCHES = "matches the reference"
SHAPES = "shapes and dtypes"
EDGE_CASES = "edge cases and bad input"
GRADIENTS = "gradients"
DEVICES = "device portability"
UNCHANGED = "inputs unchanged"
APIS = "allowed APIs only"
SPEED = "speed"


def group(name: str):
    """The group of points a check belongs to."""
    return pytest.mark.group(name)


class Current:
    """What the tests need now: the submission's Student being graded, and which devices are in use."""

    def __init__(self, cuda: bool, drawing: bool = True) -> None:
        self.cuda = cuda
        self.drawing = drawing  # pictures are drawn for the feedback: only then is anything kept
        self.student: Student | None = None
        self.kept: dict[str, dict] = {}  # what the feedback draws, from the notebook's own examples
        self.seed = 0  # the check's own (``check_seed``), set before it runs


# (the fixtures ask for ``pytestconfig``, made once a session, rather than ``request``: pytest makes a new definition
# of ``request`` for every fixture that asks for it in every check, 30,000 in a class of 100, 3% of a job's time)


@pytest.fixture
def student(pytestconfig) -> Student:
    current = pytestconfig.stash[CURRENT].student
    if current is None:
        pytest.skip("no submission")
    return current


@pytest.fixture
def device(request) -> str:
    name = getattr(request, "param", "cpu")
    cuda = request.config.stash[CURRENT].cuda
    if name == "cuda" and not cuda:
        pytest.skip("CUDA is not available on the grading machine")
    if name == "meta" and cuda:
        pytest.skip("the CUDA checks ran instead")
    return name


@pytest.fixture
def keep(pytestconfig):
    """Keep data for the feedback's pictures: ``keep("weights", got=..., expected=...)``.

    Nothing is kept when no pictures are drawn; a value that is a function is called only when they
    are (extra calls of the student's code that only a picture needs).
    """
    current = pytestconfig.stash[CURRENT]

    def keep(name: str, **data) -> None:
        if current.drawing and name not in current.kept:
            current.kept[name] = {k: v() if callable(v) else v for k, v in data.items()}

    return keep


@pytest.fixture
def seed(pytestconfig) -> int:
    """A seed of this check's own, the same for every submission (``check_seed``, of the check being run)."""
    return pytestconfig.stash[CURRENT].seed


def check_seed(item: pytest.Item) -> int:
    return zlib.crc32(item.nodeid.split("::", 1)[-1].encode()) % (2**31)


def check_name(item: pytest.Item) -> str:
    """The check's docstring (or test name), with its parameters other than the device."""
    doc = (item.function.__doc__ or "").strip().splitlines()
    name = doc[0].rstrip(".") if doc else item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    ids = [i for i in getattr(callspec, "_idlist", ()) if i not in ("cpu", "cuda", "meta")]
    return f"{name} [{', '.join(ids)}]" if ids else name


def check_device(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("device", "cpu") if callspec is not None else "cpu"


def part_of(item: pytest.Item) -> str:
    """A suite's part is its file's name."""
    return Path(item.module.__file__).stem


def check_of(item: pytest.Item, reports, answers: Answers | None = None) -> Check:
    """One check's result from its reports, its words as ``messages.recorded`` keeps them (points are
    given by ``scoring.score``)."""
    failed = next((r for r in reports if r.failed), None)
    skipped = next((r for r in reports if r.skipped), None)
    check = Check(
        name=check_name(item),
        group=item.get_closest_marker("group").args[0],
        device=check_device(item),
        passed=failed is None and skipped is None,
        skipped=failed is None and skipped is not None,
    )
    error = item.stash.get(EXCEPTION, None)
    if failed is not None and isinstance(error, Inconclusive) and failed.when == "call":
        check.skipped = True  # not decided: never counted as passed
        message, hint = str(error), ""
    elif failed is not None:
        message, hint = failure_message(error, failed)
        check.stub = getattr(error, "stub", "") if isinstance(error, (CheckFailed, StudentError)) else ""
    else:
        if skipped is not None:
            reason = skipped.longrepr[2] if isinstance(skipped.longrepr, tuple) else str(skipped.longrepr)
            check.message = reason.removeprefix("Skipped: ")
        return check
    # what the student's code said on hidden inputs (``student.said``): the teacher's report only
    return recorded(check, message, hint, hidden=getattr(item.module, "HIDDEN", ()), answers=answers)


def forbidden_cause(apis: set[str]) -> str:
    """The hint of a check that failed where a forbidden API ran: the API is the cause, whatever the symptom."""
    names = ", ".join(sorted(apis))
    return (
        f"your code uses {names}, which this exercise does not allow: the grader's torch raises an error there "
        "(RuntimeError: this exercise does not allow ...), so this check fails; write it with tensor operations "
        "(matmul, softmax, masked_fill, nn.Linear)"
    )


def failure_message(error: BaseException | None, report) -> tuple[str, str]:
    if isinstance(error, CheckFailed):
        return error.message, error.hint
    if isinstance(error, StudentFailure):
        return str(error), ""
    if isinstance(error, AssertionError):
        return (str(error).split("\nassert ")[0] or "the check's assertion failed"), ""
    if error is not None:  # a fault of the suite itself: say so, never blame the student silently
        return f"internal error of the grader: {grader_fault(error)}", ""
    return str(report.longrepr).splitlines()[-1][:500], ""


def suite_student(zygote: ZygoteClient, answers: Answers, limits: Limits) -> Student:
    """The submission's handle, told which inputs are the notebook's own examples (``notebook_data.is_public``)."""
    return Student(zygote, answers, limits, public=is_public)


class RunLoop:
    """The plugin's run loop: grade submissions from ``tasks``, hand each record to ``deliver``."""

    def __init__(
        self,
        tasks: Iterable,
        deliver: Callable[[int, SubmissionRecord], None],
        zygote: ZygoteClient,
        cuda: bool,
        limits: Limits,
        draw: Callable[[ModuleType, dict], list[dict]] | None = None,
        student_factory: Callable[[ZygoteClient, Answers, Limits], Student] = suite_student,
    ) -> None:
        self.tasks = tasks
        self.deliver = deliver
        self.zygote = zygote
        self.limits = limits
        self.draw = draw  # (suite module, kept data) -> pictures for the feedback; None: no pictures
        self.student_factory = student_factory  # (zygote, answers, limits) -> the submission's handle
        self.current = Current(cuda, drawing=draw is not None)

    def pytest_configure(self, config) -> None:
        config.addinivalue_line("markers", "group(name): the group of points a check belongs to")
        config.stash[CURRENT] = self.current

    def pytest_collection_modifyitems(self, session, config, items) -> None:
        checked = set()
        for item in items:
            marker = item.get_closest_marker("group")
            if marker is None or marker.args[0] not in item.module.POINTS:
                raise pytest.UsageError(f"{item.nodeid} has no group of {item.module.__name__}.POINTS")
            if item.module not in checked:
                checked.add(item.module)
                try:
                    check_points(part_of(item), item.module.POINTS)
                except ValueError as error:
                    raise pytest.UsageError(str(error)) from None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        """A check that failed in its call: its report without pytest's traceback, formatted with its source
        lines (a millisecond a check, hundreds of checks in a class): the record is made from the exception
        itself (``check_of``). Any other report is pytest's own."""
        if call.excinfo is None or call.excinfo.errisinstance(pytest.skip.Exception):
            return None
        item.stash[EXCEPTION] = call.excinfo.value
        if call.when != "call":
            return None
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            call.excinfo.exconly(),
            call.when,
            [],
            call.duration,
            call.start,
            call.stop,
            user_properties=item.user_properties,
        )

    def pytest_runtestloop(self, session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} errors during collection of the suites")
        by_part: dict[str, list[pytest.Item]] = {}
        for item in session.items:
            by_part.setdefault(part_of(item), []).append(item)
        points = {part: items[0].module.POINTS for part, items in by_part.items()}
        for task in self.tasks:
            try:
                for _ in range(GRADING_ATTEMPTS):
                    seen = len(self.zygote.faults)
                    record = task.record()
                    for part in task.parts:
                        record.parts.append(self.grade_part(task, part, by_part[part], points[part]))
                    faults = self.zygote.faults[seen:]
                    if not faults:  # graded in a sandbox that was usable before every child
                        break
                if faults:  # the grader's failure, not the student's: resume grades it again
                    record.grader_error = f"the sandbox failed while grading this submission: {faults[-1]}"
            except Exception as error:  # the grader's fault on this one submission: say so, grade the next
                record = task.record()
                record.wanted = [p for p in task.parts if p in points]  # what its score is out of
                record.error = f"internal error of the grader while grading this submission: {grader_fault(error)}"
                record.grader_error = record.error  # not the student's doing: graded again on resume
            self.deliver(task.index, record)
        return True

    def grade_part(self, task, part: str, items: list[pytest.Item], points: dict[str, float]) -> PartResult:
        answers = task.answers
        if self.zygote is not None:  # (a stand-in Student in the tests has none)
            self.zygote.gradients = GRADIENTS in points  # a part with gradient checks
        student = self.student_factory(self.zygote, answers, self.limits)
        self.current.student = student
        self.current.kept = {}
        checks = []
        try:
            for i, item in enumerate(items):
                if EXCEPTION in item.stash:
                    del item.stash[EXCEPTION]
                nextitem = items[i + 1] if i + 1 < len(items) else None
                forbidden = getattr(student, "forbidden_calls", 0)  # a stand-in Student (tests) may not count them
                if hasattr(student, "begin_check"):  # a stand-in Student (tests) may draw no seeds
                    student.begin_check(i)
                self.current.seed = check_seed(item)
                reports = runtestprotocol(item, nextitem=nextitem, log=False)
                check = check_of(item, reports, answers)
                if check.failed and getattr(student, "forbidden_calls", 0) > forbidden:  # a forbidden API ran here
                    check.hint = forbidden_cause(student.apis)
                checks.append(check)
        finally:
            student.close()
            self.current.student = None
        result = PartResult(part, score(checks, points), max_score=sum(points.values()))
        if student.load_error is not None:
            result.error = without_host_paths(answers.words(str(student.load_error)))
        elif student.generation and not set(PARTS[part].names) & set(student.names):
            why = answers.why_none(PARTS[part].names)
            result.error = f"your code defines none of {', '.join(PARTS[part].names)}" + (f": {why}" if why else "")
        result.events = [without_host_paths(e) for e in student.events[:20]]
        result.notes = [without_host_paths(n) for n in student.notes]
        result.flags = suspicious_uses(task.code)
        if self.draw is not None:
            result.figures = self.draw(items[0].module, self.current.kept)
        return result
