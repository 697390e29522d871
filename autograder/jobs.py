"""Grading jobs: processes that each own a sandboxed zygote and a warm pytest session.

A job is started once per batch (``spawn``: a clean interpreter, safe whether or not the parent
has threads or CUDA), imports torch and the suites, starts its zygote, and then grades
submissions from a queue until it receives ``None``. It reports on a result queue:
``("hello", job, environment)``, ``("start", job, index)``, ``("done", job, (index, record))`` and
``("fatal", job, message)``. ``Pool`` keeps such jobs warm for a batch. ``job_config`` finds the
sandbox once, in the parent; each job starts its zygote in that sandbox (with CUDA if it has it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from types import ModuleType
from typing import TYPE_CHECKING

from autograder.parts import PARTS, SUITES, Part
from autograder.processes import Reaper, die_with_parent
from autograder.records import SubmissionRecord
from autograder.sandbox.launch import Limits, Sandbox, hide_from_same_user

if TYPE_CHECKING:
    from autograder.sandbox.zygote_client import ZygoteClient
    from autograder.submission import Submission


@dataclass(frozen=True)
class JobConfig:
    """What every grading job of a batch starts from."""

    device: str = "auto"  # auto | cpu | cuda
    sandbox: Sandbox = field(
        default_factory=lambda: Sandbox("bubblewrap")
    )  # as ``Sandbox.detect`` found it, in the parent
    limits: Limits = field(default_factory=Limits)
    figures: bool = False  # draw the feedback's pictures into each part's record
    #: the registry the job grades with (the parts travel with the job: a spawned job imports afresh)
    parts: dict[str, Part] = field(default_factory=lambda: dict(PARTS))


def job_config(
    device: str,
    sandbox: str,
    limits: Limits | None,
    figures: bool = False,
    detect: Callable[[str], Sandbox] = Sandbox.detect,
    cluster: bool = False,
) -> JobConfig:
    """The jobs' configuration, with the sandbox ``detect`` finds (SandboxError if bubblewrap is required
    and cannot run).

    In degraded mode student code may run as our user, so this process is made non-dumpable first.
    For a ``cluster``, the sandbox is found on each worker (``cluster.GradingJobs``), where bubblewrap
    is required unless the teacher said ``none``: the configuration says which (``worker_sandbox``).
    """
    if cluster:
        if sandbox == "none":
            return JobConfig(
                device, Sandbox("degraded", "sandbox disabled (--sandbox none)"), limits or Limits(), figures
            )
        return JobConfig(device, Sandbox("bubblewrap"), limits or Limits(), figures)
    with Reaper():  # bubblewrap's probe leaves its inner process to be reaped
        found = detect(sandbox)
    if found.kind != "bubblewrap":
        hide_from_same_user()
    return JobConfig(device, found, limits or Limits(), figures)


#: Submissions that one job grades alone when the number of jobs is not given: one student's notebooks.
#: A second job costs as much start-up again (its Python and its zygote's, each importing torch, pytest's
#: start): on two cores, more CPU (a third) and, under load, more wall time than it saves for so few.
FEW = 4


def default_jobs(submissions: int | None = None) -> int:
    """One job per CPU this process may run on; one job for at most ``FEW`` ``submissions``."""
    if submissions is not None and submissions <= FEW:
        return 1
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


def worker_sandbox(options: JobConfig) -> str:
    """The ``--sandbox`` a cluster's worker detects with: ``none`` where the teacher said so, else ``bubblewrap``."""
    return "none" if options.sandbox.kind != "bubblewrap" else "bubblewrap"


def job_main(job: int, tasks: Queue, results: Queue, options: JobConfig, lifeline: Connection) -> None:
    die_with_parent(lifeline)  # first: a grader killed outright (SIGKILL) takes its jobs and their sandboxes
    with Reaper(everything=True):  # the sandboxes' processes end, and are reaped, before the job does
        _job(job, tasks, results, options)
    # everything is said: once the queue has written it, end without the interpreter's teardown (torch's
    # modules and the suites' objects freed one by one), which only the grader's wait for this job would see
    results.close()
    results.join_thread()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def no_gpu_here() -> bool:
    """True when this machine certainly has no GPU torch could use (no device file of NVIDIA's, AMD's or WSL's):
    then a job knows, before it imports torch, that its zygote runs without CUDA."""
    return not any(os.path.exists(path) for path in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg"))


def _launch_early(zygote: ZygoteClient, options: JobConfig) -> bool:
    """Launch the zygote before the job imports torch (which it then imports meanwhile) where it is known
    without torch that there is no CUDA; whether it was launched (if not, it is started later, where a
    failure to start is reported)."""
    from autograder.sandbox.launch import SandboxError

    if not (options.device == "cpu" or (options.device == "auto" and no_gpu_here())):
        return False
    try:
        zygote.launch()
    except (OSError, SandboxError):
        zygote.stop()
        return False
    return True


def _job(job: int, tasks: Queue, results: Queue, options: JobConfig) -> None:
    gc.disable()  # until the suites are collected (Ready): imports make no garbage worth collecting
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # pytest's own report goes nowhere; records travel on the queue
    from autograder.sandbox.launch import SandboxError
    from autograder.sandbox.zygote_client import ZygoteClient

    if options.sandbox.kind != "bubblewrap":
        hide_from_same_user()
    zygote = ZygoteClient(dataclasses.replace(options.sandbox, cuda=False), options.limits)
    launched = _launch_early(zygote, options)

    import pytest
    import torch

    from autograder.sandbox.protocol import exact_float32
    from autograder.suites import plugin as suite_plugin
    from autograder.suites.plugin import RunLoop

    PARTS.clear()
    PARTS.update(options.parts)

    torch.set_num_threads(1)
    cuda = options.device != "cpu" and torch.cuda.is_available()
    if options.device == "cuda" and not cuda:
        zygote.stop()
        results.put(("fatal", job, "--device cuda: CUDA is not available on this machine"))
        return
    if cuda:
        exact_float32(torch)
        if launched:  # torch found CUDA after all: that zygote would not have it
            zygote.stop()
            launched = False
        zygote.sandbox = dataclasses.replace(options.sandbox, cuda=True)
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    if cuda:
        devices[1] = f"cuda ({torch.cuda.get_device_name()})"

    class Ready:
        """The zygote ready before the first submission: meanwhile, pytest started and collected the suites."""

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
            try:
                if launched:
                    zygote.wait_ready()
                else:
                    zygote.start()
            except SandboxError as error:
                results.put(("fatal", job, str(error)))
                return True  # no submission is graded
            results.put(("hello", job, {"devices": devices, **zygote.environment()}))
            # what the imports and the collection made lives as long as the job: out of the collector's sight,
            # its full collections (once in two or three submissions, 80 ms each over torch's and pytest's objects)
            # take a few milliseconds
            gc.freeze()
            gc.enable()
            return None  # the run loop grades

    def stream() -> Iterator[Submission]:
        while True:
            task = tasks.get()
            if task is None:
                return
            results.put(("start", job, task.index))
            yield task

    from autograder.feedback import draw as draw_pictures

    draw = draw_pictures if options.figures else None

    def deliver(index: int, record: SubmissionRecord) -> None:
        results.put(("done", job, (index, record)))

    plugin = RunLoop(stream(), deliver, zygote, cuda, options.limits, draw)
    args = [str(part.suite_path) for part in options.parts.values()]
    args += ["-p", "no:cacheprovider", "-q", "-c", os.devnull, "--rootdir", str(SUITES), "--import-mode=importlib"]
    args += ["--tb=no"]  # no summary of the failed checks at the session's end, written to /dev/null anyway
    # no capture of log records around each check's setup, call and teardown (the suites log nothing): pytest's
    # logging plugin adds and removes its handlers dozens of times per check, 4% of a job's own CPU
    args += ["-p", "no:logging"]
    try:
        code = pytest.main(args, plugins=[Ready(), plugin, suite_plugin])
    finally:
        zygote.stop()
        gc.enable()  # (in a run that never reached Ready)
    if code not in (0, pytest.ExitCode.NO_TESTS_COLLECTED):
        results.put(("fatal", job, f"the hidden suites did not run (pytest exit code {int(code)})"))
    sys.stdout.flush()


@contextlib.contextmanager
def caller_main_hidden() -> Iterator[None]:
    """Jobs started here do not run the caller's main script again.

    A spawned process runs its parent's ``__main__`` script again, as ``__mp_main__``, before its target,
    unless that is a package's ``__main__`` (``python -m nbgrader``). Under the ``nbgrader`` command (its
    console script) that is nbgrader's whole import, under a Jupyter server's formgrader Jupyter's: 2 to 4 s of
    CPU in every job, before it grades anything. A job needs nothing of it (its target and everything it is
    sent are this package's), so while a job starts, ``__main__`` is an empty module: multiprocessing then
    gives the new process no main to run. (Scripts that grade need no ``if __name__ == "__main__"`` either.)
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class Pool:
    """Grading jobs that stay warm: submit submissions, collect their records as they finish.

    Jobs are spawned (a clean interpreter: safe whatever threads or CUDA the caller has) on the
    first submission. A job that dies takes only the submission it was grading with it: that
    submission gets a record saying so, and a new job takes its place.
    """

    def __init__(self, options: JobConfig, jobs: int) -> None:
        from multiprocessing import resource_tracker

        self.options = options
        self.jobs = max(1, jobs)
        # spawned jobs need multiprocessing's resource tracker; if this pool starts it, it stops it
        self.tracker = None if _tracker_running(resource_tracker) else resource_tracker
        self.context = multiprocessing.get_context("spawn")
        # the jobs' lifeline: its write end stays here alone; when this process ends, however, the jobs end
        self.lifeline, self.lifeline_writer = self.context.Pipe(duplex=False)
        self.tasks = self.context.Queue()
        self.results = self.context.Queue()
        self.processes: dict[int, BaseProcess] = {}
        self.running: dict[int, int] = {}  # job -> index of the submission it grades
        self.pending: dict = {}  # index -> submission
        self.environment: dict = {}
        self.next_job = 0
        self.restarts = 0
        self.warm = 0  # jobs that said hello: started, zygote ready, suites collected

    def _launch(self) -> None:
        job = self.next_job
        self.next_job += 1
        process = self.context.Process(
            target=job_main, args=(job, self.tasks, self.results, self.options, self.lifeline), daemon=True
        )
        with caller_main_hidden():
            process.start()
        self.processes[job] = process

    def start(self) -> None:
        """Launch every job now, before the first submission (a service: warm before its first request)."""
        while len(self.processes) < self.jobs:
            self._launch()

    def submit(self, sub: Submission) -> None:
        self.pending[sub.index] = sub
        self.tasks.put(sub)
        while len(self.processes) < min(self.jobs, len(self.pending)):
            self._launch()

    def next(self) -> tuple[int, SubmissionRecord]:
        """The next finished (index, record) (blocks); RuntimeError if the jobs cannot run at all."""
        while True:
            found = self.poll(1.0)
            if found is not None:
                return found

    def poll(self, wait: float) -> tuple[int, SubmissionRecord] | None:
        """One message of the jobs, waited for at most ``wait`` seconds: a finished (index, record), else None."""
        try:
            kind, job, payload = self.results.get(timeout=wait)
        except queue.Empty:
            return self._check_jobs()
        if kind == "hello":
            self.environment = self.environment or payload
            self.warm += 1
        elif kind == "start":
            self.running[job] = payload
        elif kind == "done":
            self.running.pop(job, None)
            index, record = payload
            if self.pending.pop(index, None) is not None:
                return index, record
        elif kind == "fatal":
            raise RuntimeError(payload)
        return None

    def _check_jobs(self) -> tuple[int, SubmissionRecord] | None:
        for job, process in list(self.processes.items()):
            if process.is_alive():
                continue
            del self.processes[job]
            self.restarts += 1
            if self.restarts > 2 * self.jobs + 2:
                raise RuntimeError("the grading jobs keep stopping; see the messages above")
            if self.pending:
                self._launch()
            index = self.running.pop(job, None)
            if index is not None and index in self.pending:
                record = self.pending.pop(index).record()
                record.error = record.grader_error = "the grader's job stopped while grading this submission"
                return index, record
        if self.pending and not self.processes:
            raise RuntimeError("every grading job stopped; see the messages above")
        return None

    def _discard(self, wait: float) -> None:
        """Read and drop one message of the jobs, waited for at most ``wait`` seconds (the pool is closing)."""
        with contextlib.suppress(Exception):  # none came (queue.Empty), or one cut short by a killed job
            self.results.get(timeout=wait)

    def close(self, now: bool = False) -> None:
        """Stop the jobs (after their current submission, or ``now``) and wait for each to end."""
        if self.tasks is None:
            return
        for _ in self.processes:
            self.tasks.put(None)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            if now:
                process.kill()
            while process.is_alive() and time.monotonic() < deadline:
                self._discard(0.05)  # what no one asked for: a job ends once its results are out of its pipe
                process.join(timeout=0)
            if process.is_alive():
                process.kill()
            process.join()
        self.processes.clear()
        self.lifeline.close()
        self.lifeline_writer.close()
        self.tasks.close()
        self.tasks.join_thread()
        self.results.close()
        self.tasks = self.results = None  # type: ignore[assignment]  # their semaphores are released: the tracker has nothing left
        if self.tracker is not None:
            gc.collect()
            stop = getattr(self.tracker._resource_tracker, "_stop", None)
            if stop is not None:
                stop()
            self.tracker = None


def _tracker_running(resource_tracker: ModuleType) -> bool:
    return getattr(resource_tracker._resource_tracker, "_pid", None) is not None


def make_pool(
    options: JobConfig, jobs: int, cluster: str = "", service: str = "", say: Callable[[str], None] | None = None
) -> Pool:
    """``jobs`` grading jobs here, or, with the address of a Dask scheduler, its workers (``cluster.ClusterPool``),
    or, with the socket of a warm grading service, its jobs (``service.ServicePool``: jobs here, started cold,
    for what it cannot grade; ``say`` gets its one line on why)."""
    if service and not cluster:
        from autograder.service import ServicePool

        return ServicePool(options, jobs, service, say=say)  # type: ignore[return-value]  # the same interface
    if cluster:
        from autograder.cluster import ClusterPool  # Dask is imported only for a cluster

        return ClusterPool(options, cluster)  # type: ignore[return-value]  # the same interface
    return Pool(options, jobs)


def run_jobs(
    todo: list,
    options: JobConfig,
    jobs: int,
    keep: Callable[[int, SubmissionRecord], None],
    cluster: str = "",
    service: str = "",
) -> dict:
    """Grade ``todo`` in ``jobs`` processes (or on the Dask ``cluster``, or by the warm ``service``); give each
    finished (index, record) to ``keep``.

    Returns after every process it started has ended and been reaped.
    """
    with Reaper():
        pool = make_pool(options, min(jobs, len(todo)), cluster, service)
        try:
            for sub in todo:
                pool.submit(sub)
            for _ in todo:
                keep(*pool.next())
        except BaseException:
            pool.close(now=True)
            raise
        pool.close()
    return pool.environment
