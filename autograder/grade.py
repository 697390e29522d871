"""``autograder grade``: grade submissions with the hidden suites, in parallel sandboxed jobs.

Every submission given ends with a record, in the order given: one that cannot be read, loaded or
run gets score 0 and the reason. With ``json_path``, the report is written there, and each record
is also appended to a journal beside it as soon as it is done; a later run with the same
``json_path`` skips the submissions already graded (same path, same content) unless ``force``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from autograder import submission
from autograder.jobs import Options, run_jobs
from autograder.journal import journal_path, previous_records, write_json
from autograder.options import Device, SandboxMode
from autograder.parts import PARTS
from autograder.processes import Reaper
from autograder.records import Report, SubmissionRecord, duplicate_parts, mark_duplicate
from autograder.sandbox.launch import Limits, Sandbox, SandboxError, hide_from_same_user
from autograder.text import shown


class UsageError(ValueError):
    """Bad arguments: the CLI exits with 2."""


def job_options(
    device: str,
    sandbox: str,
    limits: Limits | None,
    figures: bool = False,
    detect: Callable[[str], Sandbox] = Sandbox.detect,
    cluster: bool = False,
) -> Options:
    """The jobs' options, with the sandbox ``detect`` finds (UsageError if bubblewrap is required and cannot run).

    In degraded mode student code may run as our user, so this process is made non-dumpable first.
    For a ``cluster``, the sandbox is found on each worker (``cluster.GradingJobs``), where bubblewrap
    is required unless the teacher said ``none``: the options say which.
    """
    if cluster:
        wanted = SandboxMode.NONE if sandbox == SandboxMode.NONE.value else SandboxMode.BUBBLEWRAP
        return Options(device, wanted.value, "", limits or Limits(), figures)
    try:
        with Reaper():  # bubblewrap's probe leaves its inner process to be reaped
            found = detect(sandbox)
    except SandboxError as error:
        raise UsageError(f"--sandbox bubblewrap: {error}") from None
    if found.kind != "bubblewrap":
        hide_from_same_user()
    return Options(device, found.kind, found.reason, limits or Limits(), figures)


def default_jobs() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


class Progress:
    """A progress line with an ETA on stderr: redrawn on a terminal, a line every few seconds elsewhere."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 1
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and self.done != self.total:
            return
        self.last = now
        elapsed = now - self.start
        rate = elapsed / self.done
        eta = rate * (self.total - self.done)
        width = 24
        filled = int(width * self.done / self.total)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"{rate:.2f} s/submission, ETA {int(eta) // 60}:{int(eta) % 60:02d} {shown(label)[-40:]}"
        )
        sys.stderr.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _check_arguments(
    submissions: Sequence[Path | str], parts: Sequence[str] | None, device: str, sandbox: str, cluster: str = ""
) -> dict[Path, Path]:
    """The files to grade, each with the argument it came from; UsageError for an unknown part, device or sandbox, or a path with nothing to grade."""
    if not submissions:
        raise UsageError("no submission given")
    for part in parts or ():
        if part not in PARTS:
            raise UsageError(f"unknown part {part!r}: choose from {', '.join(PARTS)}")
    for label, value, kind in (("device", device, Device), ("sandbox", sandbox, SandboxMode)):
        if value not in {m.value for m in kind}:
            raise UsageError(f"unknown {label} {value!r}: choose {', '.join(m.value for m in kind)}")
    if device == "cuda" and not cluster:  # on a cluster, each worker's jobs check it
        import torch  # the jobs are spawned, not forked: asking CUDA here is safe

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available on this machine")
    try:
        return submission.arguments_of(submissions)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def grade(
    *,
    submissions: Sequence[Path | str],
    parts: Sequence[str] | None = None,
    device: str = "auto",
    json_path: Path | str | None = None,
    jobs: int | None = None,
    force: bool = False,
    sandbox: str = "auto",
    limits: Limits | None = None,
    progress: bool = True,
    on_record: Callable[[SubmissionRecord], None] | None = None,
    runner: Callable[[list, Options, int, Callable[[int, SubmissionRecord], None]], dict] = run_jobs,
    detect: Callable[[str], Sandbox] = Sandbox.detect,
    cluster: str = "",
) -> Report:
    """Grade ``submissions`` (files, or directories of them): a record for each, in order (``Report.to_json()``
    is the JSON report). UsageError (nothing graded) for a path that does not exist or a directory without
    submissions.

    ``on_record`` gets each record as soon as it is graded, in the order they finish. ``runner(todo,
    options, jobs, keep)`` grades the ``Submission``s of ``todo``, gives each finished (index, record) to
    ``keep`` and returns the environment; ``detect(sandbox)`` finds the sandbox. With ``cluster`` (the
    address of a Dask scheduler) the default runner grades on its workers, and the journal is written here.
    """
    paths = _check_arguments(submissions, parts, device, sandbox, cluster)
    if cluster and runner is run_jobs:
        runner = functools.partial(run_jobs, cluster=cluster)
    json_path = Path(json_path) if json_path is not None else None
    subs = [
        submission.load(path, list(parts) if parts else None, index, root)
        for index, (path, root) in enumerate(paths.items())
    ]
    records: list[SubmissionRecord | None] = [None] * len(subs)
    # one record per student and part: a later file of the same student's part is kept, flagged, not counted
    duplicates = duplicate_parts((sub.student, sub.path, sub.parts) for sub in subs)
    earlier = {} if force else previous_records(json_path)
    todo = []
    for sub in subs:
        if (sub.path, sub.sha256) in earlier and sub.sha256:
            records[sub.index] = mark_duplicate(earlier[(sub.path, sub.sha256)], duplicates[sub.index])
        elif sub.error or sub.refused:  # a refused one is not graded: its parts are 0, with a flag
            records[sub.index] = mark_duplicate(sub.record(), duplicates[sub.index])
        else:
            todo.append(sub)
    options = job_options(device, sandbox, limits, detect=detect, cluster=bool(cluster)) if todo else None
    journal = None
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        journal = journal_path(json_path).open("a" if not force else "w")
    environment: dict = {}
    bar = Progress(len(todo), progress)
    reused = sum(1 for sub in subs if records[sub.index] is not None and not sub.error and not sub.refused)

    def keep(index: int, record: SubmissionRecord) -> None:
        records[index] = mark_duplicate(record, duplicates[index])
        if journal is not None:
            journal.write(json.dumps(record.to_json()) + "\n")
            journal.flush()
        if on_record is not None:
            on_record(record)
        bar.step(Path(record.path).name)

    try:
        if todo and options is not None:
            environment = runner(todo, options, jobs or default_jobs(), keep)
    finally:
        environment = environment or {"devices": [], "sandbox": "not started: nothing to grade"}
        environment["reused"] = reused  # graded by an earlier run with the same --json, same content
        report = Report(environment, [r for r in records if r is not None])
        if journal is not None and json_path is not None:
            journal.close()
            write_json(json_path, report)
            if len(report.submissions) == len(subs):
                journal_path(json_path).unlink(missing_ok=True)
    return report
