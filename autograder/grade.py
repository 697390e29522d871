"""``autograder grade``: grade submissions with the hidden suites, in parallel sandboxed jobs.

Every submission given ends with a record, in the order given: one that cannot be read, loaded or
run gets score 0 and the reason. With ``json_path``, the report is written there, and each record
is also appended to a journal beside it as soon as it is done; a later run with the same
``json_path`` skips the submissions already graded (same path, same content) unless ``force``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from autograder import PARTS, submission
from autograder.runner import Options, hide_from_same_user, job_main
from autograder.sandbox import Limits, Sandbox, SandboxError


class UsageError(ValueError):
    """Bad arguments: the CLI exits with 2."""


def default_jobs() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


def journal_path(json_path: Path) -> Path:
    return json_path.with_name(json_path.name + ".journal")


def previous_records(json_path: Path | None) -> dict[tuple[str, str], dict]:
    """Records of an earlier run, by (path, sha256): the report and its journal."""
    found: dict[tuple[str, str], dict] = {}
    if json_path is None:
        return found
    try:
        for record in json.loads(json_path.read_text()).get("submissions", []):
            found[(record["path"], record.get("sha256", ""))] = record
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        pass
    try:
        for line in journal_path(json_path).read_text().splitlines():
            try:
                record = json.loads(line)
                found[(record["path"], record.get("sha256", ""))] = record
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interruption
    except OSError:
        pass
    return found


def write_json(path: Path, report: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)


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
            f"{rate:.2f} s/submission, ETA {int(eta) // 60}:{int(eta) % 60:02d} {label[-40:]}"
        )
        sys.stderr.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    on_record: Callable[[dict], None] | None = None,
) -> dict:
    """Grade ``submissions``; the report: ``{"environment": ..., "submissions": [...]}``."""
    if not submissions:
        raise UsageError("no submission given")
    for part in parts or ():
        if part not in PARTS:
            raise UsageError(f"unknown part {part!r}: choose from {', '.join(PARTS)}")
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"unknown device {device!r}: choose auto, cpu or cuda")
    if sandbox not in ("auto", "bubblewrap", "none"):
        raise UsageError(f"unknown sandbox {sandbox!r}: choose auto, bubblewrap or none")
    if device == "cuda":
        import torch  # the jobs are spawned, not forked: asking CUDA here is safe

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available on this machine")
    json_path = Path(json_path) if json_path is not None else None
    subs = [submission.load(path, list(parts) if parts else None, index) for index, path in enumerate(submissions)]
    records: list[dict | None] = [None] * len(subs)
    earlier = {} if force else previous_records(json_path)
    todo = []
    for sub in subs:
        if (sub.path, sub.sha256) in earlier and sub.sha256:
            records[sub.index] = earlier[(sub.path, sub.sha256)]
        elif sub.error:
            records[sub.index] = sub.finish(sub.record())
        else:
            todo.append(sub)
    options = None
    if todo:
        try:
            found = Sandbox.detect(sandbox)
        except SandboxError as error:
            raise UsageError(f"--sandbox bubblewrap: {error}") from None
        if found.kind != "bubblewrap":
            hide_from_same_user()  # student code may run as our user: keep our environment from it
        options = Options(device, found.kind, found.reason, limits or Limits())
    journal = None
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        journal = journal_path(json_path).open("a" if not force else "w")
    environment: dict = {}
    bar = Progress(len(todo), progress)
    reused = sum(1 for sub in subs if records[sub.index] is not None and not sub.error)

    def keep(record: dict) -> None:
        records[record["index"]] = record
        if journal is not None:
            journal.write(json.dumps(record) + "\n")
            journal.flush()
        if on_record is not None:
            on_record(record)
        bar.step(Path(record["path"]).name)

    try:
        if todo:
            environment = run_jobs(todo, options, jobs or default_jobs(), keep)
    finally:
        environment = environment or {"devices": [], "sandbox": "not started: nothing to grade"}
        environment["reused"] = reused  # graded by an earlier run with the same --json, same content
        report = {"environment": environment, "submissions": [r for r in records if r is not None]}
        for record in report["submissions"]:
            record.pop("index", None)
        if journal is not None:
            journal.close()
            write_json(json_path, report)
            if len(report["submissions"]) == len(subs):
                journal_path(json_path).unlink(missing_ok=True)
    return report


def run_jobs(todo: list, options: Options, jobs: int, keep: Callable[[dict], None]) -> dict:
    """Grade ``todo`` in ``jobs`` processes; give each finished record to ``keep``."""
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    for sub in todo:
        tasks.put(sub)
    jobs = max(1, min(jobs, len(todo)))
    processes = {}

    def launch(job: int) -> None:
        tasks.put(None)  # one stop sign per job
        process = context.Process(target=job_main, args=(job, tasks, results, options), daemon=True)
        process.start()
        processes[job] = process

    for job in range(jobs):
        launch(job)
    pending = {sub.index: sub for sub in todo}
    running: dict[int, int] = {}  # job -> submission index
    environment: dict = {}
    next_job = jobs
    failures = 0
    while pending:
        try:
            kind, job, payload = results.get(timeout=1.0)
        except queue.Empty:
            for job, process in list(processes.items()):
                if process.is_alive():
                    continue
                del processes[job]
                index = running.pop(job, None)
                if index is not None and index in pending:  # a job died: its submission gets a record
                    sub = pending.pop(index)
                    record = sub.record()
                    record.update(error="the grader's job stopped while grading this submission", index=index)
                    keep(record)
                failures += 1
                if pending and failures <= 2 * jobs:
                    launch(next_job)
                    next_job += 1
            if not processes:
                raise RuntimeError("every grading job stopped; see the messages above") from None
            continue
        if kind == "hello":
            environment = environment or payload
        elif kind == "start":
            running[job] = payload
        elif kind == "done":
            running.pop(job, None)
            if pending.pop(payload.get("index"), None) is not None:
                keep(payload)
        elif kind == "fatal":
            raise RuntimeError(payload)
    for process in processes.values():
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return environment
