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


def job_options(device: str, sandbox: str, limits: Limits | None, figures: bool = False) -> Options:
    """The jobs' options: the sandbox as found here (UsageError if bubblewrap is required and cannot run).

    In degraded mode student code may run as our user, so this process is made non-dumpable first.
    """
    try:
        found = Sandbox.detect(sandbox)
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
    options = job_options(device, sandbox, limits) if todo else None
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


class Pool:
    """Grading jobs that stay warm: submit submissions, collect their records as they finish.

    Jobs are spawned (a clean interpreter: safe whatever threads or CUDA the caller has) on the
    first submission. A job that dies takes only the submission it was grading with it: that
    submission gets a record saying so, and a new job takes its place.
    """

    def __init__(self, options: Options, jobs: int) -> None:
        self.options = options
        self.jobs = max(1, jobs)
        self.context = multiprocessing.get_context("spawn")
        self.tasks = self.context.Queue()
        self.results = self.context.Queue()
        self.processes: dict[int, multiprocessing.Process] = {}
        self.running: dict[int, int] = {}  # job -> index of the submission it grades
        self.pending: dict = {}  # index -> submission
        self.environment: dict = {}
        self.next_job = 0
        self.restarts = 0

    def _launch(self) -> None:
        job = self.next_job
        self.next_job += 1
        process = self.context.Process(target=job_main, args=(job, self.tasks, self.results, self.options), daemon=True)
        process.start()
        self.processes[job] = process

    def submit(self, sub) -> None:
        self.pending[sub.index] = sub
        self.tasks.put(sub)
        while len(self.processes) < min(self.jobs, len(self.pending)):
            self._launch()

    def next(self) -> dict:
        """The next finished record (blocks); RuntimeError if the jobs cannot run at all."""
        while True:
            try:
                kind, job, payload = self.results.get(timeout=1.0)
            except queue.Empty:
                record = self._check_jobs()
                if record is not None:
                    return record
                continue
            if kind == "hello":
                self.environment = self.environment or payload
            elif kind == "start":
                self.running[job] = payload
            elif kind == "done":
                self.running.pop(job, None)
                if self.pending.pop(payload.get("index"), None) is not None:
                    return payload
            elif kind == "fatal":
                raise RuntimeError(payload)

    def _check_jobs(self) -> dict | None:
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
            if index in self.pending:
                record = self.pending.pop(index).record()
                record["error"] = "the grader's job stopped while grading this submission"
                return record
        if self.pending and not self.processes:
            raise RuntimeError("every grading job stopped; see the messages above")
        return None

    def close(self, now: bool = False) -> None:
        """Stop the jobs: after their current submission, or ``now``."""
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes.values():
            if now:
                process.kill()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self.processes.clear()


def run_jobs(todo: list, options: Options, jobs: int, keep: Callable[[dict], None]) -> dict:
    """Grade ``todo`` in ``jobs`` processes; give each finished record to ``keep``."""
    pool = Pool(options, min(jobs, len(todo)))
    try:
        for sub in todo:
            pool.submit(sub)
        for _ in todo:
            keep(pool.next())
    except BaseException:
        pool.close(now=True)
        raise
    pool.close()
    return pool.environment
