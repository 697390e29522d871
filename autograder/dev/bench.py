"""``make bench``: seconds per submission of three ways of grading the same notebooks, measured together.

(a) ``autograder grade`` on N notebooks (a mix of correct, buggy and untouched ones, all four
    parts): seconds per submission, and the peak memory of the whole process tree (grader, jobs,
    sandboxes; proportional set size, so that pages shared after a fork count once).
(b) ``nbgrader autograde`` of the same notebooks in a course set up by ``autograder course init``.
(c) ``nbgrader autograde`` of the same answers in a conventional course: the same notebooks, whose
    grade cells hold inline asserts, executed by nbgrader in a Jupyter kernel (how courses grade
    today).

(d) ``autograder grade --cluster`` on the same notebooks, on a Dask cluster on this machine (the real
    ``dask scheduler`` and ``dask worker`` processes, one thread each) of 1 worker, then of 2: the
    cluster's cost over (a), with as many grading jobs as (a) has, is (d2)/(a).

(o) one student, cold: ``autograder grade`` on one student's four notebooks (one per part, the
    reference answers) in a fresh process, as a TA's regrade or Gradescope runs it; and (k) the same
    answers in the conventional course's notebooks, executed in Jupyter kernels as nbgrader executes
    them (``ExecutePreprocessor``, one kernel per notebook), in a fresh process too. Each: wall
    seconds and CPU seconds of the whole process tree (``RUSAGE_CHILDREN`` before and after), and
    the ratios (k)/(o) (targets: CPU at least 5, (o) at most 5 s of wall time).

(w) one student, warm: the same four notebooks graded by ``autograder grade --service`` against a warm service
    (``autograder serve``, started before the clock, in a cgroup of its own), twice: its CPU is the command's
    and the service's during the request (the delta of the service's cgroup), beside (o) and (k).

(s) ``autograder stats`` on 1,000 records (the graded ones in turn, four to a student, each with a
    copy of its notebook): the seconds to the class page and the CSV, the Python start included.

It prints the ratios (c)/(a), (b)/(c), (d2)/(a), (k)/(o) and (k)/(w) and writes everything to ``bench-out/bench.json``.
``--batch-only`` measures (a) and the reset; ``--stats-only`` (a) and (s); ``--cluster-only`` (a) and (d);
``--student-only`` (o), (k) and (w).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import nbformat

from autograder.dev.classroom import Classroom
from autograder.dev.examples import CORRECT, MISTAKES, filled, reference_code
from autograder.nbgrader.notebooks import ASSIGNMENT, source_notebook
from autograder.parts import PARTS, suite_module


def synthetic(n: int) -> list[tuple[str, str | None]]:
    """N (part, code) pairs, parts in turn: 5 in 10 correct, 3 in 10 buggy, 2 in 10 untouched (code None)."""
    mistakes = {part: [m for m in MISTAKES if m.part == part] for part in PARTS}
    correct = {part: [reference_code(part)] + [c.code for c in CORRECT if c.part == part] for part in PARTS}
    out: list[tuple[str, str | None]] = []
    for i in range(n):
        part = list(PARTS)[i % len(PARTS)]
        kind = "cbcscbcbcs"[i % 10]  # correct, buggy, stub
        if kind == "c":
            out.append((part, correct[part][(i // 4) % len(correct[part])]))
        elif kind == "b":
            out.append((part, mistakes[part][(i // 4) % len(mistakes[part])].code))
        else:
            out.append((part, None))
    return out


def timed(room: Classroom, *args: str) -> float:
    """Seconds of ``nbgrader ARGS`` in the course."""
    start = time.monotonic()
    room.nbgrader(*args)
    return time.monotonic() - start


def hand_in(room: Classroom, subs: list[tuple[str, str | None]]) -> None:
    """Four notebooks per student, one per part, in the order of ``subs``."""
    for i, (part, code) in enumerate(subs):
        room.hand_in(f"student{i // 4:04d}", {part: code})


def conventional_sources(directory: Path) -> None:
    """The source notebooks with inline-assert test cells in place of the hidden suites."""
    directory.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        nb = source_notebook(part)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                inline = suite_module(part).INLINE_TESTS
                cell.source = "### BEGIN HIDDEN TESTS" + inline + "### END HIDDEN TESTS"
        nbformat.write(nb, directory / f"{part}.ipynb")


def tree_memory(root: int) -> int:
    """Bytes of the process tree under ``root``: PSS where readable, else RSS."""
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
            try:
                line = next(ln for ln in Path(path).read_text().splitlines() if ln.startswith(key))
                total += int(line.split()[1]) * 1024
                break
            except (OSError, StopIteration, ValueError):
                continue
    return total


#: Seconds between two readings of the process tree's memory during (a). A reading (``smaps_rollup`` of each of
#: the tree's processes, each with torch) takes about 36 ms of CPU: every 0.2 s, that was a seventh of a core
#: taken from the grading it measured (1.5 to 3 s of (a)'s 16 to 19 s at N = 100 on two cores).
MEMORY_EVERY_S = 1.0


def measure_batch(paths: list[Path], out: Path, *extra: str) -> dict:
    """(a): the grade command on every path; wall seconds and peak memory of its process tree (read every
    ``MEMORY_EVERY_S`` seconds)."""
    command = [sys.executable, "-m", "autograder", "grade", *map(str, paths), "--json", str(out), "--force", "--quiet"]
    command += extra
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    samples = []

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_memory(process.pid))
            samples.append(peak)
            time.sleep(MEMORY_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.monotonic() - start  # (not the sampler's last sleep)
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"autograder grade failed:\n{err[-2000:]}")
    report = json.loads(out.read_text())
    return {"seconds": seconds, "peak_memory_mib": round(peak / 2**20, 1), "environment": report["environment"],
            "scores": [r["score"] for r in report["submissions"]]}  # fmt: skip


def cluster_figures(paths: list[Path], out: Path, workers: int, local: dict) -> dict:
    """(d): the grade command on a fresh local Dask cluster of ``workers`` workers (started before the clock)."""
    from autograder.dev.dask_cluster import local_cluster

    with local_cluster(out / f"dask{workers}", workers) as cluster:
        d = measure_batch(paths, out / f"cluster{workers}.json", "--cluster", cluster.address)
    n = len(paths)
    same = d["scores"] == local["scores"]
    print(f"(d{workers}) --cluster, {workers} worker(s): {d['seconds'] / n:6.3f} s/submission "
          f"({d['seconds']:.1f} s in all; over (a): {d['seconds'] / local['seconds']:.2f}; "
          f"scores {'the same as' if same else 'NOT the same as'} (a))", flush=True)  # fmt: skip
    return {"workers": workers, "seconds_per_submission": d["seconds"] / n, "over_a": d["seconds"] / local["seconds"],
            "same_scores": same, **d}  # fmt: skip


def reset_figures(children: int = 40) -> dict:
    """What putting the sandbox back costs per child: the zygote's reset after it and its check before the next."""
    import statistics

    from autograder.cells import of_file
    from autograder.sandbox.launch import Limits, Sandbox
    from autograder.sandbox.student import Student
    from autograder.sandbox.zygote_client import ZygoteClient

    code = "import os\n\ndef touch():\n    open('left-behind', 'w').write('x')\n    return 1\n"
    with ZygoteClient(Sandbox.detect("auto"), Limits()) as zygote:
        zygote.start()
        for _ in range(children):
            student = Student(zygote, of_file(code))
            student.call("touch")
            student.close()
        reset, check = zygote.reset_ms[-children:], zygote.check_ms[-children:]
    return {
        "children": children,
        "reset_ms_median": round(statistics.median(reset), 2),
        "reset_ms_max": round(max(reset), 2),
        "check_ms_median": round(statistics.median(check), 2),
        "check_ms_max": round(max(check), 2),
    }


def stats_figure(report: Path, out: Path, records: int = 1000) -> dict:
    """``autograder stats`` on ``records`` records: the graded ones in turn, four to a student.

    Each notebook is a copy of the graded one (the stats re-read it for the copy detection), so
    the class is the batch's mix, ten times over for 1,000 records out of 100.
    """
    graded = json.loads(report.read_text())
    base = out / "stats"
    submissions = []
    for i in range(records):
        record = dict(graded["submissions"][i % len(graded["submissions"])])
        student = f"class{i // len(PARTS):04d}"  # the batch's notebooks come four to a student, one per part
        path = Path("submitted", student, ASSIGNMENT, Path(record["path"]).name)
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record["path"], base / path)
        submissions.append(record | {"path": str(path), "student": student})
    (base / "report.json").write_text(json.dumps({"environment": graded["environment"], "submissions": submissions}))
    command = [sys.executable, "-m", "autograder", "stats", str(base / "report.json"), "--html",
               str(base / "class.html"), "--csv", str(base / "class.csv")]  # fmt: skip
    start = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return {"records": records, "seconds": time.monotonic() - start, "page_bytes": (base / "class.html").stat().st_size}


def _cpu_cgroup() -> tuple[str, Callable[[], float]] | None:
    """A fresh cgroup that counts CPU (cgroup v1's cpuacct, or v2), and how to read its CPU seconds; None where
    none can be made (not root, no such hierarchy)."""
    name = f"autograder-bench-{os.getpid()}-{time.monotonic_ns()}"
    v1 = "/sys/fs/cgroup/cpuacct"
    try:
        if os.path.isdir(v1):
            path = os.path.join(v1, name)
            os.mkdir(path)
            return path, lambda: int(Path(path, "cpuacct.usage").read_text()) / 1e9
        with open("/proc/self/cgroup") as own:
            line = next((x for x in own if x.startswith("0::")), None)
        if line is None:
            return None
        path = os.path.join("/sys/fs/cgroup", line.strip()[3:].lstrip("/"), name)
        os.mkdir(path)

        def usage() -> float:
            stat = dict(x.split() for x in Path(path, "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6

        return path, usage
    except (OSError, StopIteration):
        return None


def in_group(group: tuple[str, Callable[[], float]] | None, command: list[str]) -> list[str]:
    """``command`` as it joins ``group``'s cgroup first (a shell that then becomes it): what it starts is born there."""
    if group is None:
        return command
    return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', os.path.join(group[0], "cgroup.procs"), *command]


def tree_times(command: list[str], **kwargs: Any) -> dict:
    """Run ``command`` to its end: its wall seconds and the CPU seconds (user + system) of its whole process tree.

    The CPU is that of a cgroup of its own the command runs in (every process it starts, the sandboxes'
    included, wherever they are reaped) where one can be made (as root); else this process's
    ``RUSAGE_CHILDREN`` before and after, which counts only the processes of the tree that were waited for by
    their parents (a sandbox's processes killed with it are not): ``cpu_counted_by`` says which.
    """
    group = _cpu_cgroup()
    run = in_group(group, command)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counted = "waited-for children (RUSAGE_CHILDREN)"
    if group is not None:
        cpu, counted = group[1](), "a cgroup of its own"
        with contextlib.suppress(OSError):
            os.rmdir(group[0])
    return {"wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "cpu_counted_by": counted}


def tree_cpu(root: int) -> float:
    """CPU seconds of the live process tree under ``root``, with what each has reaped of its children (where no
    cgroup can be made: a process that ended unreaped, or whose parent ended, is missed)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        total += times.get(pid, 0.0)
    return total


def warm_figures(folder: Path, out: Path, requests: int = 2) -> list[dict]:
    """(w): ``folder`` graded by ``autograder grade --service`` against a service started (and warm) before the
    clock, ``requests`` times in a row; each with the command's CPU plus the service's during the request."""
    group = _cpu_cgroup()
    socket_path = out / "service" / "socket"
    serve = [sys.executable, "-m", "autograder", "serve", "--socket", str(socket_path)]
    server = subprocess.Popen(in_group(group, serve), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if "listening at" not in line:
            raise SystemExit(f"autograder serve did not start: {line}{server.stderr.read() if server.stderr else ''}")
        service_cpu = group[1] if group is not None else lambda: tree_cpu(server.pid)
        figures = []
        for number in range(requests):
            report = out / f"one-student-warm{number}.json"
            before = service_cpu()
            w = tree_times([sys.executable, "-m", "autograder", "grade", str(folder), "--json", str(report),
                            "--force", "--quiet", "--service", str(socket_path)])  # fmt: skip
            served = round(service_cpu() - before, 3)
            graded = json.loads(report.read_text())
            figures.append(w | {"command_cpu_seconds": w["cpu_seconds"], "service_cpu_seconds": served,
                                "cpu_seconds": round(w["cpu_seconds"] + served, 3),
                                "service_counted_by": "a cgroup of its own" if group else "its live process tree",
                                "scores": [r["score"] for r in graded["submissions"]],
                                "served": graded["environment"].get("service") == str(socket_path)})  # fmt: skip
        return figures
    finally:
        server.terminate()
        server.communicate(timeout=120)
        if group is not None:
            with contextlib.suppress(OSError):
                os.rmdir(group[0])


#: (k): what nbgrader autograde does to each notebook (``nbgrader.preprocessors.Execute``), here in a process of its own
EXECUTE = """
import sys, nbformat
from nbconvert.preprocessors import ExecutePreprocessor
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=300, kernel_name="python3", allow_errors=False).preprocess(nb, {"metadata": {"path": "."}})
"""


def conventional_course(out: Path, log: IO[str]) -> Classroom:
    """A course as nbgrader's own quickstart makes one: inline-assert test cells, assignment generated."""
    plain = Classroom(out / "conventional", log=log)
    plain.root.mkdir()
    plain.root.joinpath("nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = '{ASSIGNMENT}'\n"
    )
    conventional_sources(plain.root / "source" / ASSIGNMENT)
    plain.release()
    return plain


def student_figures(ours: Classroom, plain: Classroom, out: Path) -> dict:
    """(o) and (k): one student's four notebooks (the reference answers), graded cold, and executed in kernels."""
    from autograder.nbgrader.notebooks import nbgrader_env

    mine, theirs = out / "one-student" / "ours", out / "one-student" / "kernels"
    for folder, room in ((mine, ours), (theirs, plain)):
        folder.mkdir(parents=True)
        for part in PARTS:
            nbformat.write(filled(room.released(part), reference_code(part)), folder / f"{part}.ipynb")
    o = tree_times([sys.executable, "-m", "autograder", "grade", str(mine), "--json", str(out / "one-student.json"),
                    "--force", "--quiet"])  # fmt: skip
    scores = [r["score"] for r in json.loads((out / "one-student.json").read_text())["submissions"]]
    env = nbgrader_env() | {"PYTHONWARNINGS": "ignore"}
    k = tree_times([sys.executable, "-c", EXECUTE, *(str(theirs / f"{part}.ipynb") for part in PARTS)], cwd=theirs,
                   env=env)  # fmt: skip
    w, again = warm_figures(mine, out)
    return {"o": o | {"scores": scores}, "k": k, "cpu_k_over_o": k["cpu_seconds"] / o["cpu_seconds"],
            "wall_k_over_o": k["wall_seconds"] / o["wall_seconds"], "w": w, "w_again": again,
            "cpu_k_over_w": k["cpu_seconds"] / w["cpu_seconds"], "wall_k_over_w": k["wall_seconds"] / w["wall_seconds"],
            "cpu_k_over_w_again": k["cpu_seconds"] / again["cpu_seconds"],
            "wall_k_over_w_again": k["wall_seconds"] / again["wall_seconds"]}  # fmt: skip


def print_student(one: dict) -> None:
    o, k = one["o"], one["k"]
    print(f"(o) one student, autograder grade, cold:   {o['wall_seconds']:6.2f} s wall, {o['cpu_seconds']:6.2f} s CPU "
          f"(four notebooks, scores {o['scores']})", flush=True)  # fmt: skip
    print(f"(k) one student, notebooks in kernels:     {k['wall_seconds']:6.2f} s wall, {k['cpu_seconds']:6.2f} s CPU "
          f"(CPU counted by {o['cpu_counted_by']})", flush=True)  # fmt: skip
    print(f"(k)/(o) CPU = {one['cpu_k_over_o']:.1f}   (target: at least 5)")
    print(f"(k)/(o) wall = {one['wall_k_over_o']:.1f}  ((o) target: at most 5 s of wall time; (o) took "
          f"{o['wall_seconds']:.1f} s)", flush=True)  # fmt: skip
    for key, label in (("w", "(w) one student, grade --service, warm:"), ("w_again", "(w) again, the next request:  ")):
        w = one[key]
        print(f"{label}  {w['wall_seconds']:6.2f} s wall, {w['cpu_seconds']:6.2f} s CPU ({w['command_cpu_seconds']:.2f} "
              f"the command's + {w['service_cpu_seconds']:.2f} the service's; scores {w['scores']}"
              f"{'' if w['served'] else '; NOT graded by the service'})", flush=True)  # fmt: skip
    print(f"(k)/(w) CPU = {one['cpu_k_over_w']:.1f}, again {one['cpu_k_over_w_again']:.1f}   (target: at least 5)")
    print(f"(k)/(w) wall = {one['wall_k_over_w']:.1f}, again {one['wall_k_over_w_again']:.1f}  ((w) took "
          f"{one['w']['wall_seconds']:.1f} s, again {one['w_again']['wall_seconds']:.1f} s; target: at most 5 s)",
          flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="grading throughput: autograder grade, on a Dask cluster, nbgrader with it, plain nbgrader"
    )
    parser.add_argument("--submissions", type=int, default=100, metavar="N", help="notebooks to grade (default 100)")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--batch-only", action="store_true", help="measure (a) only")
    parser.add_argument(
        "--stats-only", action="store_true", help="(a) for its records, then autograder stats on 1,000 records"
    )
    parser.add_argument(
        "--cluster-only", action="store_true", help="(a), then (d): a local Dask cluster of 1, 2 workers"
    )
    parser.add_argument(
        "--student-only",
        action="store_true",
        help="(o), (k) and (w) only: one student graded cold, in kernels, and by a warm service",
    )
    parser.add_argument("--stats-records", type=int, default=1000, metavar="R", help="records for the stats figure")
    args = parser.parse_args(argv)
    n = args.submissions
    if n < 1:
        parser.error("--submissions must be at least 1")
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subs = synthetic(n)
    print(f"{n} synthetic notebooks: {sum(c is not None and not any(c == m.code for m in MISTAKES) for _, c in subs)} "
          f"correct, {sum(any(c == m.code for m in MISTAKES) for _, c in subs)} buggy, "
          f"{sum(c is None for _, c in subs)} untouched; {os.cpu_count()} CPUs", flush=True)  # fmt: skip

    # the notebooks, as the course built by `autograder course init` releases them
    log = (out / "nbgrader.log").open("a")  # what nbgrader says (the kernels' start-up notices) goes here
    ours = Classroom.create(out / "course", log=log)
    ours.release()
    files = out / "files"
    paths = []
    for i, (part, code) in enumerate(subs):
        path = files / f"student{i // 4:04d}" / f"{part}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(ours.notebook(part, code), path)
        paths.append(path)

    results: dict = {"submissions": n}
    if args.student_only:
        one = results["one_student"] = student_figures(ours, conventional_course(out, log), out)
        print_student(one)
        (out / "bench.json").write_text(json.dumps(results, indent=1))
        print(f"figures in {out / 'bench.json'}")
        return 0
    a = measure_batch(paths, out / "batch.json")
    results["a"] = {"seconds_per_submission": a["seconds"] / n, **a}
    print(f"(a) autograder grade:          {a['seconds'] / n:6.3f} s/submission, peak memory {a['peak_memory_mib']} MiB "
          f"({a['seconds']:.1f} s in all; {', '.join(a['environment'].get('devices', []))}; "
          f"sandbox: {a['environment'].get('sandbox')})", flush=True)  # fmt: skip
    if not args.batch_only and not args.stats_only:
        for workers in (1, 2):
            results[f"d{workers}"] = cluster_figures(paths, out, workers, a)
        print(f"(d2)/(a) = {results['d2']['over_a']:.2f}  (target: at most 1.10)", flush=True)
    if args.cluster_only:
        (out / "bench.json").write_text(json.dumps(results, indent=1))
        print(f"figures in {out / 'bench.json'}")
        return 0
    s = results["stats"] = stats_figure(out / "batch.json", out, args.stats_records)
    print(f"(s) autograder stats:          {s['seconds']:6.2f} s for {s['records']} records (page and CSV; "
          f"target: under 10 s)", flush=True)  # fmt: skip
    if not args.stats_only:
        results["reset"] = reset_figures()
        r = results["reset"]
        print(f"    between children (zygote, {r['children']} children): reset median {r['reset_ms_median']} ms "
              f"(max {r['reset_ms_max']}), check before the fork median {r['check_ms_median']} ms "
              f"(max {r['check_ms_max']})", flush=True)  # fmt: skip
    if not args.batch_only and not args.stats_only:
        hand_in(ours, subs)
        b = timed(ours, "autograde", ASSIGNMENT)
        results["b"] = {"seconds": b, "seconds_per_submission": b / n}
        print(f"(b) nbgrader autograde + this: {b / n:6.3f} s/submission ({b:.1f} s in all)", flush=True)

        plain = conventional_course(out, log)
        hand_in(plain, subs)
        c = timed(plain, "autograde", ASSIGNMENT)
        results["c"] = {"seconds": c, "seconds_per_submission": c / n}
        print(f"(c) plain nbgrader autograde:  {c / n:6.3f} s/submission ({c:.1f} s in all)", flush=True)
        results["c_over_a"] = c / a["seconds"]
        results["b_over_c"] = b / c
        print(f"(c)/(a) = {results['c_over_a']:.1f}   (target: at least 20)")
        print(f"(b)/(c) = {results['b_over_c']:.2f}  (target: at most 1.5)")
        one = results["one_student"] = student_figures(ours, plain, out)
        print_student(one)
    (out / "bench.json").write_text(json.dumps(results, indent=1))
    print(f"figures in {out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
