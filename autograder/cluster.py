"""Grading on a Dask cluster: the submissions go to the workers of a Dask distributed scheduler.

``ClusterPool`` is ``jobs.Pool`` for a cluster: the same ``submit``, ``next``, ``close`` and
``environment``, so ``autograder grade --cluster ADDRESS`` and ``c.HiddenSuites.cluster`` grade
through the same code as the local pool, and records come back, as each finishes, to the process
that writes the journal. Only this module imports ``distributed``, and only when a cluster is named.

On each worker, a worker plugin (``GradingJobs``) keeps warm grading jobs between tasks: for each
worker thread a local ``Pool`` of one job, with the same sandbox and limits as locally. The sandbox is
found on the worker: bubblewrap is required there unless the teacher said ``--sandbox none``.

Faults: a worker that dies while grading takes nothing with it: the scheduler gives its tasks to
other workers, and a task's record is kept once, when its future completes (the journal never holds
a record twice). A submission whose every worker died grading it ends, once the scheduler gives up
on it (``distributed.scheduler.allowed-failures``: 3 by default), with a record that says so. The
grading jobs and their sandboxes end with their worker, however it ends (``processes.die_with_parent``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import threading
import uuid
from typing import Any

from distributed import Client, KilledWorker, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from autograder.jobs import JobConfig, Pool, job_config, worker_sandbox
from autograder.processes import Reaper
from autograder.records import SubmissionRecord
from autograder.submission import Submission

#: How long to wait for the scheduler to answer, and for a first worker.
CONNECT_TIMEOUT_S = 60

WORKER_DIED = (
    "the grading workers died while grading this submission, on each of the tries the cluster allows "
    "(distributed.scheduler.allowed-failures): it was not graded"
)


def plugin_name(options: JobConfig) -> str:
    """One plugin per set of options: a later batch with the same options finds the jobs warm."""
    return "autograder-jobs-" + hashlib.sha256(pickle.dumps(options)).hexdigest()[:16]


class GradingJobs(WorkerPlugin):
    """The worker plugin: warm grading jobs on one Dask worker, for one set of options.

    Started with the first task (the sandbox is found then, on the worker), kept between tasks, and
    stopped, with every process it started, when the worker closes.
    """

    idempotent = True  # registered again by a later batch with the same options: the warm one stays

    def __init__(self, options: JobConfig) -> None:
        self.options = options
        self.name = plugin_name(options)
        self.lock = threading.Lock()
        self.options_here: JobConfig | None = None  # with the sandbox this worker has
        self.pools: dict[int, Pool] = {}  # a worker thread's own: its task waits on its own job alone
        self.reaper: Reaper | None = None

    def __getstate__(self) -> dict:  # what travels to the workers: the options alone
        return {"options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["options"])  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        import multiprocessing

        # a worker started by a Dask nanny is a daemonic process, which multiprocessing lets start no
        # child; its jobs end with it all the same (the lifeline), so that flag has nothing to guard here
        multiprocessing.current_process().daemon = False

    def teardown(self, worker: Any) -> None:
        with self.lock:
            for pool in self.pools.values():
                pool.close(now=True)
            self.pools.clear()
            if self.reaper is not None:
                self.reaper.__exit__(None, None, None)
                self.reaper = None

    def _pool(self) -> Pool:
        """This thread's pool of one warm job (the sandbox is found on the first call, on this worker)."""
        from autograder.sandbox.launch import SandboxError

        with self.lock:
            if self.options_here is None:
                self.reaper = self.reaper or Reaper().__enter__()
                try:  # bubblewrap (required), or degraded where the teacher said none
                    found = job_config(
                        self.options.device, worker_sandbox(self.options), self.options.limits, self.options.figures
                    )
                except SandboxError as error:
                    raise RuntimeError(f"on the worker: --sandbox bubblewrap: {error}") from None
                self.options_here = dataclasses.replace(found, parts=self.options.parts)
            thread = threading.get_ident()
            if thread not in self.pools:
                self.pools[thread] = Pool(self.options_here, 1)
            return self.pools[thread]

    def grade(self, sub: Submission) -> tuple[SubmissionRecord, dict]:
        """Grade ``sub`` in this thread's warm job: its record, and the job's environment."""
        pool = self._pool()
        pool.submit(sub)
        index, record = pool.next()
        assert index == sub.index  # one submission at a time in this pool
        return record, pool.environment


def grade_task(sub: Submission, name: str) -> tuple[SubmissionRecord, dict]:
    """The task the workers run: grade one submission in the worker's warm jobs."""
    plugin = get_worker().plugins[name]
    assert isinstance(plugin, GradingJobs)
    return plugin.grade(sub)


class ClusterPool:
    """``jobs.Pool``'s interface over a Dask cluster: submit submissions, collect (index, record) as they finish.

    ``options.sandbox`` is what the workers must find: ``bubblewrap`` (required) or ``none`` (degraded).
    """

    def __init__(self, options: JobConfig, address: str) -> None:
        self.options = options
        self.address = address
        self.client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        self.name = plugin_name(options)
        self.client.register_plugin(GradingJobs(options), name=self.name)
        self.batch = uuid.uuid4().hex[:12]
        self.pending: dict[str, Submission] = {}
        self.completed = as_completed(loop=self.client.loop)
        self.environment: dict = {}

    def submit(self, sub: Submission) -> None:
        key = f"autograder-{self.batch}-{sub.index}"  # names no file: a student's file name is theirs to choose
        future = self.client.submit(grade_task, sub, self.name, key=key, pure=False)
        self.pending[key] = sub
        self.completed.add(future)

    def next(self) -> tuple[int, SubmissionRecord]:
        future = next(self.completed)
        sub = self.pending.pop(str(future.key))
        try:
            record, environment = future.result()
        except KilledWorker:
            record = sub.record()
            record.error = record.grader_error = WORKER_DIED
            return sub.index, record
        except Exception as error:  # the jobs could not run on a worker (no bubblewrap there, no CUDA): as locally
            raise RuntimeError(f"{type(error).__name__}: {error}") from None
        finally:
            future.release()
        if not self.environment:
            self.environment = {**environment, "cluster": self.address}
        return sub.index, record

    def close(self, now: bool = False) -> None:
        """Cancel what is not graded yet and disconnect; the workers keep their warm jobs for the next batch."""
        if self.client is None:
            return
        futures = list(self.completed.futures) if hasattr(self.completed, "futures") else []
        if futures:
            self.client.cancel(futures, force=True)
        self.completed.clear()
        self.pending.clear()
        self.client.close()
        self.client = None  # type: ignore[assignment]
