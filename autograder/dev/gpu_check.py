"""``make gpu-check``: the GPU path, checked on a machine with CUDA, in one short run.

It grades the reference of every part and the corpus's device-bug mutants with ``--device cuda``
(the device checks recorded on the CPU must agree with the real CUDA runs: the same points on any
grader), measures what CUDA costs each sandboxed child at start-up, and runs the attack tests (bubblewrap
mode) with CUDA present. It prints the devices, the scores, the seconds, and a verdict per line;
the exit status is 1 when an expectation fails. Without CUDA it says so and exits 0.
``--device cpu`` runs the same flow on the CPU (a dry run of the script itself).

Offline (``--offline DIR``, what ``make gpu-check`` does): a device machine has no network, and its
Python (3.12, with torch, numpy, pytest, matplotlib) lacks nbformat, IPython and bubblewrap. ``make
gpu-wheels``, run where pip and apt-get reach their indexes, puts those in DIR (wheels for Python 3.12
with their dependencies, bubblewrap's .deb); here every wheel of DIR whose distribution this Python
does not have is installed into DIR/site (``--site``; ``pip --no-index --no-deps --target``), bubblewrap
is unpacked into DIR/site/bubblewrap (``dpkg -x``) and used unless ``bwrap`` is on the PATH, and both are
put on the paths of this process and of the processes it starts. Nothing is fetched.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEVICE_BUGS = (
    "kernel left on the CPU",
    "a CPU tensor for sqrt(D)",
    "zeros for the ignored keys made with torch.zeros",
    "padding mask rebuilt with torch.tensor",
    "key padding mask moved to the CPU",
    "-1e9 fill, ignored keys zeroed after (overflows float16)",
)
ROOT = Path(__file__).resolve().parents[2]


def startup_seconds(device: str, children: int = 3) -> list[float]:
    """Per child, after its code is loaded: the first call that touches ``device`` minus a second one."""
    from autograder.cells import of_file
    from autograder.sandbox.launch import Limits, Sandbox
    from autograder.sandbox.student import Student
    from autograder.sandbox.zygote_client import ZygoteClient

    code = f"def noop():\n    return 0\n\n\ndef touch():\n    return float(torch.ones(4, device='{device}').sum())\n"
    found = []
    with ZygoteClient(Sandbox.detect("auto", cuda=device == "cuda"), Limits(call_timeout=120)) as zygote:
        zygote.start()
        for _ in range(children):
            student = Student(zygote, of_file(code))
            student.call("noop")  # the fork and the load
            first = student.run("touch").seconds
            second = student.run("touch").seconds
            student.close()
            found.append(first - second)
    return found


def missing_wheels(wheels: Path) -> list[Path]:
    """The wheels in ``wheels`` whose distribution this Python does not have (any version)."""
    missing = []
    for wheel in sorted(wheels.glob("*.whl")):
        name = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(wheel)
    return missing


def install_offline(wheels: Path, site: Path) -> list[str]:
    """Make what ``wheels`` holds usable here, from that folder alone, installed in ``site``; what was done, in words.

    SystemExit when the folder is missing, CalledProcessError when an install fails: the check needs them.
    """
    if not wheels.is_dir():
        raise SystemExit(f"gpu-check: no {wheels}: run `make gpu-wheels` where pip reaches an index, and carry it")
    done = []
    missing = missing_wheels(wheels)
    if missing:
        env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
        command += ["--upgrade", "--target", str(site), *map(str, missing)]
        subprocess.run(command, env=env, check=True)
        done.append(f"installed into {site}: {', '.join(w.name.split('-')[0] for w in missing)}")
    debs = sorted(wheels.glob("bubblewrap_*.deb"))
    unpacked = site / "bubblewrap"
    if debs:  # unpacked even where bwrap is installed (a dry run shows it unpacks), used only where it is not
        unpacked.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(unpacked)], check=True)
        used = shutil.which("bwrap") is None
        done.append(
            f"bubblewrap unpacked from {debs[-1].name}" + ("" if used else f", unused: {shutil.which('bwrap')}")
        )
    for path, variable in ((site, "PYTHONPATH"), (unpacked / "usr" / "bin", "PATH")):
        if path.is_dir() and (variable == "PYTHONPATH" or shutil.which("bwrap") is None):
            if variable == "PYTHONPATH":
                sys.path.insert(0, str(path.resolve()))
            os.environ[variable] = os.pathsep.join(filter(None, [str(path.resolve()), os.environ.get(variable)]))
    return done or ["nothing to install: this Python has every package of the folder"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--no-attacks", action="store_true", help="skip the attack tests")
    parser.add_argument("--offline", metavar="DIR", type=Path, help="install what DIR holds first (make gpu-wheels)")
    parser.add_argument("--site", type=Path, help="with --offline: install there (default: DIR/site)")
    parser.add_argument("--install-only", action="store_true", help="with --offline: install, then stop")
    args = parser.parse_args(argv)
    if args.offline is not None:
        for line in install_offline(args.offline, args.site or args.offline / "site"):
            print(f"gpu-check: {line}", flush=True)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        if args.install_only:
            return 0

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu-check: torch {torch.__version__} sees no CUDA device here: nothing to check")
        return 0
    from autograder.dev.examples import MISTAKES, reference_code
    from autograder.grade import grade
    from autograder.parts import PARTS

    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"gpu-check: torch {torch.__version__}, CUDA {torch.version.cuda}, device {name}", flush=True)
    failures = 0

    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    expect: dict[Path, str] = {}
    for part in PARTS:
        path = work / f"reference-{part}.py"
        path.write_text(reference_code(part))
        expect[path] = "full"
    for mutant in (m for m in MISTAKES if m.name in DEVICE_BUGS):
        path = work / f"mutant-{mutant.part}-{mutant.name.replace(' ', '-').replace('(', '').replace(')', '')}.py"
        path.write_text(mutant.code)
        expect[path] = mutant.expect
    start = time.monotonic()
    report = grade(submissions=list(expect), device=args.device, jobs=2, progress=False)
    seconds = time.monotonic() - start
    env = report.environment
    print(f"graded {len(expect)} files in {seconds:.1f} s on {', '.join(env.get('devices', []))}; "
          f"sandbox: {env.get('sandbox')}")  # fmt: skip
    for path, record in zip(expect, report.submissions):
        messages = [c.message + " " + c.hint for p in record.parts for c in p.checks if c.failed]
        ran_on = sorted({c.device for p in record.parts for c in p.checks if not c.skipped})
        if expect[path] == "full":
            ok = record.score == record.max_score
        else:
            ok = record.score < record.max_score and any(expect[path] in m for m in messages)
        # the same points on any grader: the recorded device checks (cpu) and the real ones (cuda) agree
        devices = [c for p in record.parts for c in p.checks if c.group == "device portability" and not c.skipped]
        recorded = {c.passed for c in devices if c.device == "cpu"}
        real = {c.passed for c in devices if c.device != "cpu"}
        agree = not real or recorded == real
        ok = ok and agree
        failures += not ok
        print(f"  {'ok ' if ok else 'BAD'} {path.name:<55} {record.score:g} / {record.max_score:g}  "
              f"checked on {', '.join(ran_on)}" + ("" if agree else "; the recorded and the CUDA device checks "
              "disagree"))  # fmt: skip
        if not ok:
            print("      " + "\n      ".join(messages[:5] or ["(no failed check)"]))

    try:
        times = startup_seconds(args.device)
        print(f"start-up of {args.device} per child: median {statistics.median(times) * 1e3:.0f} ms "
              f"({', '.join(f'{t * 1e3:.0f}' for t in times)} ms)")  # fmt: skip
    except Exception as error:  # a figure we could not take is reported, not fatal
        failures += 1
        print(f"BAD start-up measurement failed: {type(error).__name__}: {error}")

    if args.no_attacks:
        pass
    elif shutil.which("bwrap") is None:
        print("attack tests: not run, bubblewrap (bwrap) is not installed here")
    else:
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_sandbox.py")],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        tail = done.stdout.strip().splitlines()[-1:] or [done.stderr[-500:]]
        print(f"attack tests ({time.monotonic() - start:.0f} s): {tail[0]}")
        failures += done.returncode != 0
    print("gpu-check: " + ("all as expected" if not failures else f"{failures} unexpected result(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
