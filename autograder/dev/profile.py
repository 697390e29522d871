"""``make profile``: where the time of one grading goes, from the command's start to its exit, and the floor under it.

Three sets of notebooks, as the course made by ``autograder course init`` releases them: one
submission (attention, the reference answer), one student's four notebooks (one per part, the
reference answers), and one submission of attention with a known mistake (the variants run).

1. **Cold**: the real command, ``autograder grade FILES --json ... --quiet`` in a fresh process, as
   a TA's regrade or Gradescope runs it: wall seconds and CPU seconds of its whole process tree
   (``bench.tree_times``), after one run not counted (the page cache as every run but the first
   finds it). The four notebooks are graded with the default jobs (one per core) and with
   ``--jobs 1``.
2. **Timeline**: the same command under ``strace`` (process starts, forks and ends only): seconds
   from its start to bubblewrap's probe, the job's start, the zygote's start, its first fork, the
   last child's end, the job's end and its own end (``timeline``).
3. **Start-up pieces**, each a fresh interpreter: Python alone, with what the grader process
   imports (``autograder.cli``), with what a spawned job imports (torch, pytest, the suites'
   plugin, the zygote's client), with torch alone, with nbformat (which the grader imported to
   read the course's notebooks).
4. **Phases**: the same grading in one fresh process (``--inner``), the job run in the grader's
   process instead of a spawned one (``jobs._job`` itself, on in-process queues: the same imports,
   zygote, pytest session and run loop). Nothing of the grader is changed: the profile wraps
   functions from the outside (a clock around each) and adds a pytest plugin that times each
   check's setup, call and teardown. Each phase's time is exclusive (what nested phases took is
   theirs): the sandbox's forks (``ChildConnection`` opened, closed), the round trips to the child
   (``ChildConnection.exchange``: the student's code runs there), the reference's calls
   (``solutions.*``), the known-mistake variants (``compare.recognise``, ``compare.attempted``, all
   they call included), and what is left of each group of checks (the suites' own Python: inputs,
   comparisons, autograd, pytest).
5. **The floor**: in a warm sandbox, a fork (a child opened with code of one line, called once,
   closed) and a round trip (``echo``, a message that runs no code), medians; the floor of a grading
   is its forks and round trips at those costs plus its arithmetic (the reference's time, twice:
   once in the job, once as the student's code in the child).

``python -m autograder.dev.profile [--out DIR]`` prints the tables and writes ``DIR/profile.json``.
The figures move with the machine's load: ``uptime`` is printed before and after.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import queue
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: the clock of the inner run: label -> exclusive seconds, label -> inclusive seconds, label -> calls
EXCLUSIVE: Counter[str] = Counter()
INCLUSIVE: Counter[str] = Counter()
CALLS: Counter[str] = Counter()
_STACK: list[list] = []  # [label, start, seconds of the nested phases]
ABSORBING = {"known-mistake variants"}  # everything they call is theirs


class phase:
    """A clock around a block: its time, less the nested phases' time, is ``label``'s."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.on = False

    def __enter__(self) -> phase:
        if not any(frame[0] in ABSORBING for frame in _STACK):
            self.on = True
            _STACK.append([self.label, time.perf_counter(), 0.0])
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.on:
            return
        label, start, nested = _STACK.pop()
        elapsed = time.perf_counter() - start
        EXCLUSIVE[label] += elapsed - nested
        if not any(frame[0] == label for frame in _STACK):
            INCLUSIVE[label] += elapsed
        CALLS[label] += 1
        if _STACK:
            _STACK[-1][2] += elapsed


def clocked(owner: object, name: str, label: str) -> None:
    """Put a clock around ``owner.name`` (a function of a module or of a class)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with phase(label):
            return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def clock_reference() -> None:
    """Every function and method the reference defines, before any suite imports it."""
    import importlib
    import inspect

    from autograder.parts import PARTS

    for part in PARTS:
        module = importlib.import_module(f"solutions.{part}")
        for name, value in list(vars(module).items()):
            if getattr(value, "__module__", None) != module.__name__ or name.startswith("_"):
                continue
            if inspect.isfunction(value):
                clocked(module, name, "reference runs")
            elif inspect.isclass(value):
                for attr, member in list(vars(value).items()):
                    if inspect.isfunction(member) and (attr == "__init__" or not attr.startswith("_")):
                        clocked(value, attr, "reference runs")


def _label(item: Any) -> str:
    marker = item.get_closest_marker("group")
    return f"checks: {Path(item.module.__file__).stem} / {marker.args[0] if marker else '?'}"


def timing_plugin() -> object:
    import pytest

    class Plugin:
        @pytest.hookimpl(wrapper=True)
        def pytest_collection(self, session: Any) -> Iterator[Any]:
            with phase("suite collection"):
                return (yield)

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_setup(self, item: Any) -> Iterator[Any]:
            with phase(_label(item)):
                return (yield)

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_call(self, item: Any) -> Iterator[Any]:
            with phase(_label(item)):
                return (yield)

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_teardown(self, item: Any, nextitem: Any) -> Iterator[Any]:
            with phase(_label(item)):
                return (yield)

    return Plugin()


def inner(paths: list[str], report: Path, out: Path) -> None:
    """The grading of ``paths`` in this process, its phases clocked; the clocks to ``out`` (JSON)."""
    started = time.perf_counter()
    with phase("grader imports (autograder.grade; the command line's own, in a process of its own: start-up)"):
        from autograder import grade as grading
        from autograder import jobs, journal, submission
    with phase("job imports: torch"):
        import torch  # noqa: F401
    with phase("job imports: pytest, the suites' plugin, the sandbox's client"):
        import pytest

        import autograder.sandbox.zygote_client
        import autograder.suites.plugin  # noqa: F401
        from autograder.sandbox import connection
        from autograder.sandbox.zygote_client import ZygoteClient
        from autograder.suites import compare

        clock_reference()
    clocked(submission, "load", "notebooks read and parsed")
    clocked(grading, "job_config", "sandbox found (bubblewrap's probe)")
    clocked(ZygoteClient, "start", "sandbox start (bubblewrap, zygote importing torch)")
    clocked(ZygoteClient, "wait_ready", "sandbox start (bubblewrap, zygote importing torch)")
    clocked(ZygoteClient, "stop", "sandbox stop")
    clocked(connection.ChildConnection, "__init__", "floor: fork of the warm zygote (child opened)")
    clocked(connection.ChildConnection, "close", "floor: child closed, sandbox reset")
    clocked(connection.ChildConnection, "exchange", "round trips to the child (its work included)")
    clocked(compare, "recognise", "known-mistake variants")
    clocked(compare, "attempted", "known-mistake variants")
    clocked(journal.Journal, "finish", "report writing (JSON, journal)")
    main = pytest.main

    def pytest_main(args: list[str], plugins: Sequence[object] = ()) -> Any:
        with phase("pytest session (start, end)"):
            return main(args, plugins=[*plugins, timing_plugin()])

    pytest.main = pytest_main  # type: ignore[assignment]  # the job's pytest.main, with the clocks' plugin

    def in_process(todo: list, options: Any, count: int, keep: Callable[..., None]) -> dict:
        """``jobs.run_jobs`` with one job, run here: ``jobs._job`` on in-process queues."""
        tasks: queue.Queue = queue.Queue()
        results: queue.Queue = queue.Queue()
        for sub in todo:
            tasks.put(sub)
        tasks.put(None)
        saved = os.dup(1)
        try:
            jobs._job(0, tasks, results, options)  # type: ignore[arg-type]  # a queue.Queue serves
        finally:
            os.dup2(saved, 1)  # the job sends its stdout to /dev/null
        environment: dict = {}
        while not results.empty():
            kind, _, payload = results.get()
            if kind == "hello":
                environment = payload
            elif kind == "done":
                keep(*payload)
            elif kind == "fatal":
                raise RuntimeError(payload)
        return environment

    with phase("the rest (arguments, records, the loop)"):
        done = grading.grade(submissions=paths, json_path=report, force=True, progress=False, jobs=1, runner=in_process)
    total = time.perf_counter() - started
    out.write_text(json.dumps({
        "seconds": total, "exclusive": EXCLUSIVE, "inclusive": INCLUSIVE, "calls": CALLS,
        "scores": [r.score for r in done.submissions],
    }))  # fmt: skip


def floor(forks: int = 30, trips: int = 300) -> dict:
    """A fork of a warm zygote and a round trip to its child: medians, in seconds."""
    from autograder.cells import of_file
    from autograder.sandbox import protocol
    from autograder.sandbox.connection import ChildConnection
    from autograder.sandbox.launch import Limits, Sandbox
    from autograder.sandbox.student import Student
    from autograder.sandbox.zygote_client import ZygoteClient

    code = "def one():\n    return 1\n"
    fork, trip = [], []
    with ZygoteClient(Sandbox.detect("auto"), Limits()) as zygote:
        zygote.start()
        for _ in range(forks + 2):
            start = time.perf_counter()
            student = Student(zygote, of_file(code))
            student.call("one")
            student.close()
            fork.append(time.perf_counter() - start)
        child = ChildConnection(zygote, Limits())
        try:
            for _ in range(trips):
                start = time.perf_counter()
                child.exchange({"op": protocol.ECHO, "args": [1]}, 10.0)
                trip.append(time.perf_counter() - start)
        finally:
            child.close()
    return {
        "fork_load_call_close_s": statistics.median(fork[2:]),
        "round_trip_s": statistics.median(trip),
        "forks": forks,
        "round_trips": trips,
    }


def timeline(command: list[str], trace: Path) -> dict | None:
    """The real command under ``strace`` (process starts and ends only: ``execve``, ``exit_group``), as seconds
    from its start to each of its milestones; None without strace (or where it cannot trace).

    Milestones: the sandbox's probe (bubblewrap running ``true``), the job's start (``--multiprocessing-fork``),
    the zygote's start (``sandbox.inside``), its first fork (``clone``), the last end of a child of the zygote (a
    process that never calls ``execve``, first seen after the zygote started), the job's end, the command's end.
    """
    import shutil

    if shutil.which("strace") is None:
        return None
    done = subprocess.run(
        ["strace", "-f", "-tt", "--seccomp-bpf", "-e", "trace=execve,exit_group,clone", "-o", str(trace), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if done.returncode != 0 or not trace.exists():
        return None
    return milestones(trace)


def milestones(trace: Path) -> dict | None:
    """The milestones of ``timeline`` in an ``strace -f -tt`` trace, in seconds from its first line."""
    import re

    line = re.compile(r"^(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+) (.*)$")
    first_seen: dict[int, float] = {}
    execs: dict[int, str] = {}
    exits: dict[int, float] = {}
    forks: dict[int, list[float]] = {}  # a process's forks (clone without CLONE_THREAD)
    for text in trace.read_text(errors="replace").splitlines():
        match = line.match(text)
        if match is None:
            continue
        pid, rest = int(match[1]), match[5]
        at = int(match[2]) * 3600 + int(match[3]) * 60 + float(match[4])
        first_seen.setdefault(pid, at)
        if rest.startswith("execve(") and "= -1 " not in rest:
            execs.setdefault(pid, rest)
        elif rest.startswith("exit_group("):
            exits[pid] = at
        elif rest.startswith("clone(") and "CLONE_THREAD" not in rest:
            forks.setdefault(pid, []).append(at)
    if not first_seen:
        return None
    root = next(iter(first_seen))
    start = first_seen[root]

    def pid_of(word: str) -> int | None:
        return next((pid for pid, call in execs.items() if word in call), None)

    job, zygote = pid_of("--multiprocessing-fork"), pid_of("sandbox.inside")
    probe = next((pid for pid, call in execs.items() if "bwrap" in call and '"true"]' in call), None)
    if job is None or zygote is None:
        return None
    children = [pid for pid in exits if pid not in execs and first_seen[pid] > first_seen[zygote]]
    children = [pid for pid in children if exits[pid] <= exits.get(job, float("inf"))]
    marks = {
        "sandbox probe": first_seen[probe] if probe else None,
        "job started": first_seen[job],
        "zygote started": first_seen[zygote],
        "first child started": forks[zygote][0] if forks.get(zygote) else None,
        "last child ended": max((exits[p] for p in children), default=None),
        "job ended": exits.get(job),
        "command ended": exits.get(root),
    }
    return {"children": len(children)} | {k: None if v is None else round(v - start, 3) for k, v in marks.items()}


#: the stretches between the timeline's milestones, in words
STRETCHES = (
    ("sandbox probe", "Python's start, the grader's imports, the notebooks read"),
    ("job started", "bubblewrap's probe, the job spawned (and multiprocessing's resource tracker)"),
    ("zygote started", "the job's Python: its start (the zygote is launched before the job imports torch)"),
    (
        "first child started",
        "the zygote's start (Python, torch), meanwhile the job's imports, pytest's start, collection",
    ),
    ("last child ended", "the checks: every child, the job's side of the checks, the reference, the variants"),
    ("job ended", "the end: the job's pytest session ends, the sandbox stops and is reaped, the job exits"),
    ("command ended", "the grader: its report and journal written, the tracker stopped, the interpreter's exit"),
)


def print_timeline(title: str, marks: dict | None) -> None:
    if marks is None:
        print(f"\ntimeline, {title}: no strace here")
        return
    print(f"\ntimeline, {title} (strace of execve, clone, exit_group; {marks['children']} children of the zygote):")
    previous = 0.0
    for mark, words in STRETCHES:
        at = marks.get(mark)
        if at is None:
            continue
        print(f"  {at:6.2f} s {mark:<20} (+{at - previous:5.2f} s: {words})")
        previous = at


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cold_imports() -> dict:
    """Fresh interpreters: bare, with the grader's imports, with a job's imports (wall and CPU seconds)."""
    from autograder.dev.bench import tree_times

    job = "import torch, pytest, autograder.suites.plugin, autograder.sandbox.zygote_client, autograder.jobs"
    return {
        "python alone": tree_times([sys.executable, "-c", "pass"]),
        "python + autograder.cli": tree_times([sys.executable, "-c", "import autograder.cli"]),
        "python + a job's imports (torch, pytest, suites' plugin)": tree_times([sys.executable, "-c", job]),
        "python + torch": tree_times([sys.executable, "-c", "import torch"]),
        # what reading a notebook cost the grader when it used nbformat (it reads JSON now): nbformat imports
        # jsonschema, whose format checkers import rfc3987_syntax, which builds a grammar when imported
        "python + nbformat": tree_times([sys.executable, "-c", "import nbformat"]),
        "python + rfc3987_syntax": tree_times([sys.executable, "-c", "import rfc3987_syntax"]),
    }


def notebooks(out: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """One submission (attention) and one student's four notebooks, the reference answers as the course
    releases them; and one submission of attention with a known mistake."""
    import nbformat

    from autograder.dev.classroom import Classroom
    from autograder.dev.examples import MISTAKES, filled, reference_code
    from autograder.parts import PARTS

    with (out / "nbgrader.log").open("a") as log:
        room = Classroom.create(out / "course", log=log)
        room.release()
    four = []
    for part in PARTS:
        path = out / "student" / f"{part}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(filled(room.released(part), reference_code(part)), path)
        four.append(path)
    one = out / "one" / "attention.ipynb"
    one.parent.mkdir(parents=True)
    one.write_bytes((out / "student" / "attention.ipynb").read_bytes())
    buggy = out / "buggy" / "attention.ipynb"  # a known mistake: the variants run
    buggy.parent.mkdir(parents=True)
    mistake = next(m for m in MISTAKES if m.part == "attention")
    nbformat.write(filled(room.released("attention"), mistake.code), buggy)
    return [one], four, [buggy]


def phases(paths: list[Path], out: Path, name: str) -> dict:
    from autograder.dev.bench import tree_times

    clocks = out / f"phases-{name}.json"
    command = [sys.executable, "-m", "autograder.dev.profile", "--inner", str(clocks), str(out / f"inner-{name}.json")]
    process = tree_times(command + [str(p) for p in paths])
    return {"process": process, **json.loads(clocks.read_text())}


def print_phases(title: str, cold: dict, figures: dict, base: dict) -> None:
    exclusive, calls = figures["exclusive"], figures["calls"]
    print(f"\n{title}: cold `autograder grade`: {cold['wall_seconds']:.2f} s wall, {cold['cpu_seconds']:.2f} s CPU "
          f"(scores {cold.get('scores')})")  # fmt: skip
    python = base["python alone"]["wall_seconds"]
    print(f"  phases in one process (the job run in the grader's process): {figures['process']['wall_seconds']:.2f} s "
          f"wall, {figures['process']['cpu_seconds']:.2f} s CPU; clocked {figures['seconds']:.2f} s after Python's "
          f"start ({python:.2f} s)")  # fmt: skip
    unclocked = figures["process"]["wall_seconds"] - figures["seconds"]
    print(f"  {unclocked:7.3f} s  unclocked: Python's start, this profile's own import, the interpreter's exit")
    rows = sorted(exclusive.items(), key=lambda kv: -kv[1])
    for label, seconds in rows:
        print(f"  {seconds:7.3f} s  {label}  ({calls[label]} calls)")
    groups = sorted(
        (k for k in figures["inclusive"] if k.startswith("checks: ")), key=lambda k: -figures["inclusive"][k]
    )
    print("  each group of checks, all it does included (forks, round trips, reference, variants):")
    for label in groups:
        print(f"  {figures['inclusive'][label]:7.3f} s  {label}")


def floor_of(figures: dict, fl: dict) -> dict:
    calls, exclusive = figures["calls"], figures["exclusive"]
    forks = calls.get("floor: fork of the warm zygote (child opened)", 0)
    trips = calls.get("round trips to the child (its work included)", 0)
    arithmetic = 2 * exclusive.get("reference runs", 0.0)
    seconds = forks * fl["fork_load_call_close_s"] + trips * fl["round_trip_s"] + arithmetic
    return {"forks": forks, "round_trips": trips, "arithmetic_s": arithmetic, "floor_s": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="where the time of one grading goes, and the floor under it")
    parser.add_argument("--out", type=Path, default=Path("profile-out"))
    parser.add_argument("--inner", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        clocks, report, *paths = args.inner
        inner(paths, Path(report), Path(clocks))
        return 0
    import shutil

    from autograder.dev.bench import tree_times

    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    one, four, buggy = notebooks(out)
    results: dict = {"uptime_before": uptime(), "cpus": os.cpu_count()}
    print(f"load before: {results['uptime_before']}", flush=True)

    def cold(paths: list[Path], name: str, *extra: str) -> dict:
        report = out / f"cold-{name}.json"
        command = [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--json", str(report), "--force"]
        figures = tree_times([*command, "--quiet", *extra])
        return figures | {"scores": [r["score"] for r in json.loads(report.read_text())["submissions"]]}

    cold(one, "warm-up")  # the files the command reads into the page cache, as any run after the first finds them
    results["cold"] = {
        "one submission": cold(one, "one"),
        "four notebooks": cold(four, "four"),
        "four notebooks, --jobs 1": cold(four, "four-jobs1", "--jobs", "1"),
        "one submission with a known mistake": cold(buggy, "buggy"),
    }
    for label, figures in results["cold"].items():
        print(f"cold, {label}: {figures['wall_seconds']:.2f} s wall, {figures['cpu_seconds']:.2f} s CPU "
              f"(scores {figures['scores']})", flush=True)  # fmt: skip
    grade = [sys.executable, "-m", "autograder", "grade", "--force", "--quiet", "--jobs", "1"]
    results["timeline"] = {
        "one submission": timeline([*grade, *map(str, one), "--json", str(out / "st-one.json")], out / "st-one.txt"),
        "four notebooks, --jobs 1": timeline(
            [*grade, *map(str, four), "--json", str(out / "st-four.json")], out / "st-four.txt"
        ),
    }
    for label, marks in results["timeline"].items():
        print_timeline(label, marks)
    results["start-up"] = cold_imports()
    for label, figures in results["start-up"].items():
        print(
            f"start-up, {label}: {figures['wall_seconds']:.2f} s wall, {figures['cpu_seconds']:.2f} s CPU", flush=True
        )
    results["phases"] = {
        "one submission": phases(one, out, "one"),
        "four notebooks": phases(four, out, "four"),
        "one submission with a known mistake": phases(buggy, out, "buggy"),
    }
    results["floor"] = fl = floor()
    print(f"\nfloor: a fork of the warm zygote (opened, code of one line loaded, called, closed, reset) "
          f"{fl['fork_load_call_close_s'] * 1000:.2f} ms, a round trip {fl['round_trip_s'] * 1000:.3f} ms (medians)")  # fmt: skip
    for name, cold_name in (
        ("one submission", "one submission"),
        ("four notebooks", "four notebooks, --jobs 1"),
        ("one submission with a known mistake", "one submission with a known mistake"),
    ):
        figures = results["phases"][name]
        print_phases(name, results["cold"][cold_name], figures, results["start-up"])
        f = results["phases"][name]["floor"] = floor_of(figures, fl)
        gap = results["cold"][cold_name]["wall_seconds"] - f["floor_s"]
        results["phases"][name]["gap_s"] = gap
        print(f"  floor: {f['forks']} forks, {f['round_trips']} round trips, arithmetic {f['arithmetic_s']:.3f} s "
              f"(the reference's, twice): {f['floor_s']:.3f} s; cold wall ({cold_name}) minus floor: {gap:.2f} s")  # fmt: skip
    results["uptime_after"] = uptime()
    print(f"\nload after: {results['uptime_after']}")
    (out / "profile.json").write_text(json.dumps(results, indent=1))
    print(f"figures in {out / 'profile.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
