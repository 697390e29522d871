"""A Dask cluster on this machine, for the tests and the bench: the real ``dask scheduler`` and
``dask worker`` commands on 127.0.0.1, on ports the system picks, stopped (each by its own pid) at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

#: Bound on the wait for the scheduler and the workers to come up.
START_S = 300.0


class LocalCluster:
    """A scheduler and ``workers`` workers (one process of one thread each, each with its Dask nanny)."""

    def __init__(self, folder: Path, workers: int, env: dict[str, str] | None = None, preload: str = "") -> None:
        self.folder = folder
        # one task at a time per worker thread (README: "Grading on a cluster"), unless ``env`` says otherwise
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0", **(env or {})}
        self.preload = preload
        self.processes: list[subprocess.Popen] = []
        self.address = ""
        self.workers = workers

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        with open(self.folder / log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "dask", *args], env=self.env, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        self.processes.append(process)
        return process

    def start(self) -> LocalCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        file = self.folder / "scheduler.json"
        scheduler = self._start(
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
            "--scheduler-file", str(file), log="scheduler.log",
        )  # fmt: skip
        deadline = time.monotonic() + START_S
        while not self.address:
            if scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler ended: {(self.folder / 'scheduler.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start")
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.address = json.loads(file.read_text())["address"]
            time.sleep(0.1)
        for i in range(self.workers):
            self.add_worker(f"worker{i}")
        self.wait_for_workers(self.workers)
        return self

    def add_worker(self, name: str) -> subprocess.Popen:
        return self._start(
            "worker", self.address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
            "--no-dashboard", "--name", name, "--local-directory", str(self.folder / name), "--death-timeout", "120",
            *(["--preload", self.preload] if self.preload else []), log=f"{name}.log",
        )  # fmt: skip

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_S, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_S)

    def worker_pids(self) -> dict[str, int]:
        """The pid of each worker process (the nanny's child that runs the tasks), by worker address."""
        from distributed import Client

        with Client(self.address, timeout=START_S, set_as_default=False) as client:
            return dict(client.run(os.getpid))

    def stop(self) -> None:
        """SIGTERM the workers, then the scheduler (each by its pid; what has not ended in 60 s is killed).

        The workers first: a worker whose scheduler is gone first waits for it (its nanny kills it after 8 s).
        """
        scheduler, workers = self.processes[:1], self.processes[1:]
        for group in (workers, scheduler):
            for process in group:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGTERM)
            for process in group:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def local_cluster(
    folder: Path, workers: int, env: dict[str, str] | None = None, preload: str = ""
) -> Iterator[LocalCluster]:
    cluster = LocalCluster(folder, workers, env, preload)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
