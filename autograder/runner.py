"""Grading jobs: processes that each own a sandboxed zygote and a warm pytest session.

A job is started once per batch (``spawn``: a clean interpreter, safe whether or not the parent
has threads or CUDA), imports torch and the suites, starts its ``Worker``, and then grades
submissions from a queue until it receives ``None``. It reports on a result queue:
``("hello", job, environment)``, ``("start", job, index)``, ``("done", job, record)`` and
``("fatal", job, message)``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder import PARTS
from autograder.sandbox import Limits

SUITES = Path(__file__).resolve().parent / "suites"


@dataclass(frozen=True)
class Options:
    device: str = "auto"  # auto | cpu | cuda
    sandbox: str = "bubblewrap"  # bubblewrap | degraded, as Sandbox.detect found it
    sandbox_reason: str = ""
    limits: Limits = field(default_factory=Limits)
    figures: bool = False  # draw the feedback's pictures into each part's record


def hide_from_same_user() -> None:
    """Make this process non-dumpable: code of the same user can no longer read its memory or environment."""
    from autograder.runtime import PR_SET_DUMPABLE, prctl

    prctl(PR_SET_DUMPABLE, 0)


def job_main(job: int, tasks, results, options: Options) -> None:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # pytest's own report goes nowhere; records travel on the queue
    import pytest
    import torch

    from autograder.runtime import exact_float32
    from autograder.sandbox import Sandbox, SandboxError, Worker
    from autograder.suites import plugin as suite_plugin
    from autograder.suites.plugin import Batch

    torch.set_num_threads(1)
    cuda = options.device != "cpu" and torch.cuda.is_available()
    if options.device == "cuda" and not cuda:
        results.put(("fatal", job, "--device cuda: CUDA is not available on this machine"))
        return
    if cuda:
        exact_float32(torch)
    if options.sandbox != "bubblewrap":
        hide_from_same_user()
    try:
        worker = Worker(Sandbox(options.sandbox, options.sandbox_reason, cuda), options.limits)
        worker.start()
    except SandboxError as error:
        results.put(("fatal", job, str(error)))
        return
    devices = ["cpu", "cuda"] if cuda else ["cpu", "meta"]
    if cuda:
        devices[1] = f"cuda ({torch.cuda.get_device_name()})"
    results.put(("hello", job, {"devices": devices, **worker.describe()}))

    def stream():
        while True:
            task = tasks.get()
            if task is None:
                return
            results.put(("start", job, task.index))
            yield task

    draw = None
    if options.figures:
        from autograder.feedback import draw
    deliver = lambda record: results.put(("done", job, record))  # noqa: E731
    plugin = Batch(stream(), deliver, worker, cuda, options.limits, draw)
    args = [str(SUITES / f"{part}.py") for part in PARTS]
    args += ["-p", "no:cacheprovider", "-q", "-c", os.devnull, "--rootdir", str(SUITES), "--import-mode=importlib"]
    try:
        code = pytest.main(args, plugins=[plugin, suite_plugin])
    finally:
        worker.stop()
    if code not in (0, pytest.ExitCode.NO_TESTS_COLLECTED):
        results.put(("fatal", job, f"the hidden suites did not run (pytest exit code {int(code)})"))
    sys.stdout.flush()
