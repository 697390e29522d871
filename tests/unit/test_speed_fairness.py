"""Does a speed check give the grade a quiet machine gives, whatever the machine's load does to the clock?

Two things a busy machine changes: how long a call takes by the wall clock (its threads wait for a
CPU), and, through that, how many times a speed check measures near its limit. The first is taken
off on the CPU (``sandbox.schedstat``); the second must not change what any later check draws.
Stand-ins for the student: no sandbox, no clock.
"""

import threading
import time
from dataclasses import dataclass, field

import pytest

from autograder.cells import Answers
from autograder.sandbox import schedstat
from autograder.sandbox.launch import Limits
from autograder.sandbox.student import Outcome, Student
from autograder.suites import kit
from autograder.suites.compare import CheckFailed
from autograder.suites.kit import _OVERHEAD, expect_fast


@dataclass
class BusyMachine:
    """A student whose every call takes ``seconds`` by the wall clock, ``waited`` of them waiting for a CPU."""

    seconds: float
    waited: float
    calls: list = field(default_factory=list)

    def run(self, target, *args, attr="", watch=True):
        self.calls.append(args)
        return Outcome(value=sum(args), seconds=self.seconds, waited=self.waited)

    def round_trip(self, args, times=3, less_waits=False):
        return 0.001 if less_waits else 0.003  # a clean round trip waits a little too


@pytest.fixture(autouse=True)
def no_kept_overhead():
    _OVERHEAD.clear()  # the round trip is kept per job: each test measures its own
    yield
    _OVERHEAD.clear()


def speed(student, device):
    expect_fast(student, "add", lambda k: (float(k), 1.0), lambda a, b: a + b,
                device=device, call="add(a, b)", cause="a loop")  # fmt: skip


def test_on_the_cpu_the_time_spent_waiting_for_a_cpu_is_not_the_codes():
    student = BusyMachine(seconds=0.5, waited=0.499)  # a fast call on a machine whose cores are all busy
    speed(student, "cpu")
    assert len(student.calls) == 1 + 3  # within the limit on the first round: measured once


def test_code_that_is_slow_by_itself_still_fails_on_the_cpu():
    student = BusyMachine(seconds=0.5, waited=0.0)  # no wait at all: the code's own half second
    with pytest.raises(CheckFailed, match=r"add\(a, b\) took 49\d\.\d ms on cpu"):
        speed(student, "cpu")


def test_on_a_gpu_the_wall_clock_counts_as_it_is(monkeypatch):
    """A thread that waits for the device may give up its CPU: that wait is the device's time."""
    monkeypatch.setattr(kit, "synchronize", lambda device: None)  # no GPU here: nothing to wait for
    with pytest.raises(CheckFailed, match="on cuda"):
        speed(BusyMachine(seconds=0.5, waited=0.499), "cuda")


def test_the_wait_is_read_from_the_kernel_for_this_thread_and_a_host_pid():
    mine = schedstat.waited()
    if mine is None:
        pytest.skip("this kernel keeps no schedstat")  # said, not hidden: the wall clock is used as it is
    assert mine >= 0.0
    assert schedstat.waited(1) is not None  # any process's main thread, by its host pid
    assert schedstat.waited(2**22 + 12345) is None  # no such process
    before = schedstat.sample(None)
    assert before[1] is None
    assert schedstat.between(before, schedstat.sample(None)) >= 0.0
    assert schedstat.between((1.0, None), (1.5, 7.0)) == pytest.approx(0.5)  # only where both ends are known
    assert schedstat.between((1.0, 2.0), (0.5, 2.25)) == pytest.approx(0.25)  # never less than nothing


def seeds_of_second_check(calls_in_first: int) -> list[int]:
    """The seeds the second check's three calls send, after a first check that made ``calls_in_first`` calls."""
    student = Student(None, Answers(), Limits())  # type: ignore[arg-type]  # no child is ever made here
    sent: list[int] = []

    def request(op, target, attr="", **fields):
        sent.append(fields["seed"])
        return {"result": None}, []

    student.request = request  # type: ignore[method-assign]
    student.begin_check(0)
    for _ in range(calls_in_first):
        student.run("add", 1.0)
    del sent[:]
    student.begin_check(1)
    for _ in range(3):
        student.run("add", 1.0)
    return sent


def test_what_a_check_draws_does_not_depend_on_how_many_calls_the_checks_before_it_made():
    """A speed check near its limit on a busy machine measures again: more calls, the same later seeds."""
    assert seeds_of_second_check(4) == seeds_of_second_check(10) == seeds_of_second_check(0)
    assert len(set(seeds_of_second_check(4))) == 3  # a repeated call draws other numbers


def test_a_wait_counted_while_the_wait_is_read_is_inside_the_time_it_is_taken_from():
    """On a busy machine the job's thread may wait for a CPU while it reads its own wait: that wait is counted
    by the second reading, so it must be inside the clock's time too (else the reference's time became 0)."""
    now, total = [0.0], [0.0]

    def clock() -> float:
        return now[0]

    def waited() -> float:
        now[0] += 0.005  # preempted for 5 ms while reading: the kernel counts it before the value is read
        total[0] += 0.005
        return total[0]

    def reference() -> str:
        now[0] += 0.001  # the reference computes for 1 ms
        return "done"

    seconds, value = kit.timed(reference, device="cpu", fair=True, clock=clock, waited=waited)
    assert value == "done"
    assert seconds == pytest.approx(0.006)  # its 1 ms and the first reading's wait: never less than the 1 ms
    seconds, _ = kit.timed(reference, device="cpu", fair=False, clock=clock, waited=waited)
    assert seconds == pytest.approx(0.001)  # not fair (a GPU): the clock alone, no reading in it


def test_a_thread_s_count_is_read_from_its_file_kept_open_until_the_thread_is_gone():
    if schedstat.waited() is None:
        pytest.skip("this kernel keeps no schedstat")
    opened: list[schedstat.Waits] = []
    go_on = threading.Event()

    def thread() -> None:
        opened.append(schedstat.Waits("/proc/thread-self/schedstat"))
        go_on.wait(30)

    worker = threading.Thread(target=thread)
    worker.start()
    while not opened:
        time.sleep(0.001)
    waits = opened[0]
    try:
        first = waits.waited()
        assert first is not None
        again = waits.waited()  # read again through the same file
        assert again is not None
        assert again >= first
        go_on.set()
        worker.join()
        deadline = time.monotonic() + 30  # (the kernel's thread ends a moment after Python's)
        while waits.waited() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waits.waited() is None  # the thread it stood for is gone: no count, whoever gets its id next
    finally:
        go_on.set()
        waits.close()
    assert waits.waited() is None
    assert schedstat.Waits("/proc/no-such-thing/schedstat").waited() is None
    counts: list[float | None] = []  # each thread reads its own count, from a file of its own
    other = threading.Thread(target=lambda: counts.append(schedstat.waited()))
    other.start()
    other.join()
    assert counts[0] is not None
