"""``autograder grade``: grade submissions with the hidden suites, in parallel sandboxed jobs.

Every submission given ends with a record, in the order given: one that cannot be read, loaded or
run gets score 0 and the reason. With ``json_path``, the report is written there, and each record
is also appended to a journal beside it as soon as it is done; a later run with the same
``json_path`` skips the submissions already graded (same path, same content) unless ``force``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from autograder import submission
from autograder.jobs import JobConfig, default_jobs, job_config, run_jobs
from autograder.journal import Journal
from autograder.options import Device, SandboxMode
from autograder.parts import PARTS
from autograder.records import Report, SubmissionRecord, duplicate_parts, mark_duplicate
from autograder.report import Progress
from autograder.sandbox.launch import Limits, Sandbox, SandboxError


class UsageError(ValueError):
    """Bad arguments: the CLI exits with 2."""


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
    runner: Callable[[list, JobConfig, int, Callable[[int, SubmissionRecord], None]], dict] = run_jobs,
    detect: Callable[[str], Sandbox] = Sandbox.detect,
    labels: Mapping[Path, tuple[str, str, str]] | None = None,
    cluster: str = "",
    service: str = "",
) -> Report:
    """Grade ``submissions`` (files, or directories of them): a record for each, in order (``Report.to_json()``
    is the JSON report). UsageError (nothing graded) for a path that does not exist or a directory without
    submissions.

    ``on_record`` gets each record as soon as it is graded, in the order they finish. ``runner(todo,
    options, jobs, keep)`` grades the ``Submission``s of ``todo``, gives each finished (index, record) to
    ``keep`` and returns the environment; ``detect(sandbox)`` finds the sandbox. ``labels`` gives a file
    its (student, path shown in the records, note), as for the files of an LMS download (``lms.stage``).
    With ``cluster`` (the address of a Dask scheduler) the default runner grades on its workers, and the
    journal is written here. With ``service`` (the socket of ``autograder serve``) the default runner hands
    the submissions to that warm service, and grades cold what it cannot (``service.ServicePool``).
    """
    paths = _check_arguments(submissions, parts, device, sandbox, cluster)
    if cluster and service:
        raise UsageError("--cluster and --service: choose one")
    if (cluster or service) and runner is run_jobs:
        runner = functools.partial(run_jobs, cluster=cluster, service=service)
    subs = [
        submission.load(path, list(parts) if parts else None, index, root)
        for index, (path, root) in enumerate(paths.items())
    ]
    for sub in subs:
        if labels and Path(sub.path) in labels:
            sub.student, sub.path, note = labels[Path(sub.path)]
            sub.note = "; ".join(n for n in (note, sub.note) if n)
    records: list[SubmissionRecord | None] = [None] * len(subs)
    # one record per student and part: a later file of the same student's part is kept, flagged, not counted
    duplicates = duplicate_parts((sub.student, sub.path, sub.parts) for sub in subs)
    journal = Journal(json_path, force=force)
    earlier = journal.earlier()
    todo = []
    for sub in subs:
        if (sub.path, sub.sha256) in earlier and sub.sha256:
            records[sub.index] = mark_duplicate(earlier[(sub.path, sub.sha256)], duplicates[sub.index])
        elif sub.error or sub.refused:  # a refused one is not graded: its parts are 0, with a flag
            records[sub.index] = mark_duplicate(sub.record(), duplicates[sub.index])
        else:
            todo.append(sub)
    try:
        options = job_config(device, sandbox, limits, detect=detect, cluster=bool(cluster)) if todo else None
    except SandboxError as error:
        raise UsageError(f"--sandbox bubblewrap: {error}") from None
    journal.open()
    environment: dict = {}
    bar = Progress(len(todo), progress)
    reused = sum(1 for sub in subs if records[sub.index] is not None and not sub.error and not sub.refused)

    def keep(index: int, record: SubmissionRecord) -> None:
        records[index] = mark_duplicate(record, duplicates[index])
        journal.append(record)
        if on_record is not None:
            on_record(record)
        bar.step(Path(record.path).name)

    try:
        if todo and options is not None:
            environment = runner(todo, options, jobs or default_jobs(len(todo)), keep)
    finally:
        environment = environment or {"devices": [], "sandbox": "not started: nothing to grade"}
        environment["reused"] = reused  # graded by an earlier run with the same --json, same content
        report = Report(environment, [r for r in records if r is not None])
        complete = len(report.submissions) == len(subs)
        # cut short: what was not graded again keeps its earlier record in the written report
        whole = [records[sub.index] or journal.kept(sub.path) for sub in subs]
        journal.finish(report if complete else Report(environment, [r for r in whole if r]), complete=complete)
    return report
