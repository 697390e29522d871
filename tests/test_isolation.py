"""Can one submission affect a later one, or use more memory than its limit? It must not.

Hostile submissions leave behind what a later child could trip over (a file, a symlink, a FIFO or
a directory without permissions in place of the work directory; a full ``/tmp`` or ``/dev/shm``;
System V and POSIX IPC objects) or touch 1.5 GiB of shared memory under a 0.5 GiB limit. They are
graded first, in one batch with ``jobs=1``, through ``grade`` and bubblewrap; honest submissions
(the reference of every part) follow in the same job and must get the records they get alone.
"""

import ctypes
import os
import platform
import re
import threading
import time
from pathlib import Path

import pytest
import torch

from autograder.cells import of_file
from autograder.dev.examples import reference_code
from autograder.grade import grade
from autograder.journal import previous_records
from autograder.parts import PARTS
from autograder.sandbox.launch import Limits, Sandbox
from autograder.sandbox.student import Student
from autograder.sandbox.zygote_client import ZygoteClient
from tests.conftest import ATTACK_FUNCTIONS

GIB = 1 << 30
LIMITS = Limits(memory=GIB // 2)

FUNCTIONS = ATTACK_FUNCTIONS

# writes to ``path`` until its file system is full
FILL = """
chunk = b"x" * (1 << 20)
try:
    with open("{path}", "wb") as out:
        while True:
            out.write(chunk)
except OSError:
    pass
"""

# each runs at import, so that it happens even when the checks do not call the functions
ATTACKS = {
    "a file in place of the work directory": """
import os
work = os.getcwd()
os.chdir("/")
os.rmdir(work)
with open(work, "w") as out:
    out.write("not a directory")
""",
    "a symlink in place of the work directory": """
import os
work = os.getcwd()
os.chdir("/")
os.rmdir(work)
os.symlink("/grader", work)
os.symlink("/", "/tmp/root")
""",
    "a FIFO in place of the work directory": """
import os
work = os.getcwd()
os.chdir("/")
os.rmdir(work)
os.mkfifo(work)
""",
    "directories without permissions": """
import os
os.makedirs("locked/deeper/deepest")
for i in range(3):
    open(f"locked/deeper/file{i}", "w").write("x")
os.chmod("locked/deeper/deepest", 0)
os.chmod("locked/deeper", 0)
os.chmod("locked", 0)
os.chmod(".", 0)
os.mkdir("/tmp/elsewhere", 0)
""",
    "a deep tree of directories": """
import os
os.chdir("/tmp")
for i in range(3000):
    os.mkdir("d")
    os.chdir("d")
""",
    "/dev/shm filled": FILL.format(path="/dev/shm/full"),
    "/tmp filled to its limit": FILL.format(path="/tmp/full"),
    "System V shared memory, semaphores and message queues left behind": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
for key in (4242, 0):
    segment = libc.shmget(key, 64 << 20, 0o1000 | 0o666)
    address = libc.shmat(segment, None, 0)
    ctypes.memset(address, 1, 64 << 20)
    libc.semget(key, 8, 0o1000 | 0o666)
    queue = libc.msgget(key, 0o1000 | 0o666)
    message = ctypes.create_string_buffer(b"\\1\\0\\0\\0\\0\\0\\0\\0" + b"left for the next student", 64)
    libc.msgsnd(queue, message, 40, 0)
""",
    "a POSIX message queue left behind": """
import ctypes, os
librt = ctypes.CDLL("librt.so.1", use_errno=True)
queue = librt.mq_open(b"/left-behind", os.O_CREAT | os.O_RDWR, 0o666, None)
librt.mq_send(queue, b"left for the next student", 25, 0)
""",
    # the file-size limit (16 MiB) holds one memfd or file, not many of them
    "1.5 GiB of shared memory in memfds": """
import os
def attack():
    chunk, kept = b"x" * (1 << 20), []
    for _ in range(96):
        kept.append(os.memfd_create("hog"))
        for _ in range(16):
            os.write(kept[-1], chunk)
    return kept
"""
    + FUNCTIONS,
    "1.5 GiB of anonymous shared memory": """
import mmap
def attack():
    region = mmap.mmap(-1, 3 << 29, mmap.MAP_SHARED)
    for offset in range(0, 3 << 29, 4096):
        region[offset] = 1
    return len(region)
"""
    + FUNCTIONS,
    "a 1.5 GiB System V segment": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
def attack():
    segment = libc.shmget(0, 3 << 29, 0o1000 | 0o600)
    ctypes.memset(libc.shmat(segment, None, 0), 1, 3 << 29)
    return segment
"""
    + FUNCTIONS,
}

if platform.machine() == "x86_64":  # add_key(2) and keyctl(2) by their numbers there: 248 and 250
    ATTACKS["keys left in the session's and the user's keyrings"] = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for keyring in (-3, -4, -5):  # the session's, the user's, the user's session keyring
    libc.syscall(248, b"user", f"left-behind{keyring}".encode(), b"secret", 6, ctypes.c_long(keyring))
"""

# after the attacks: reads back what a child finds, in the message of a failed check
PROBE = (
    """
import ctypes, os
found = []
for path in ("/tmp", "/dev/shm", "/dev/mqueue"):  # what a child could have left: its user's entries, not
    # the mount points bubblewrap made (a Python installed under /tmp is bound there, read-only, owned by root)
    found += [f"{path}/{name}" for name in os.listdir(path) if os.lstat(f"{path}/{name}").st_uid == os.getuid()]
found += [f"cwd {os.getcwd()}: {sorted(os.listdir('.'))}"]
for kind in ("shm", "sem", "msg"):
    found += [f"{kind} {line.split()[0]}" for line in open(f"/proc/sysvipc/{kind}").readlines()[1:]]
buffer = ctypes.create_string_buffer(4096)
if os.uname().machine == "x86_64":  # (a user-session keyring holds its user keyring: that is not a key left)
    user = ctypes.CDLL(None).syscall(250, ctypes.c_long(0), ctypes.c_long(-4), ctypes.c_long(1))
    for keyring in (-3, -4, -5):
        size = ctypes.CDLL(None).syscall(250, ctypes.c_long(11), ctypes.c_long(keyring), buffer, ctypes.c_long(4096))
        keys = [k for k in memoryview(buffer.raw[: max(size, 0)]).cast("i") if k != user]
        found += [f"keyring {keyring}: {len(keys)} keys"] if keys else []
vfs = os.statvfs("/tmp")
found.append(f"/tmp free {vfs.f_bavail * vfs.f_frsize >> 20} MiB")
def attack():
    raise RuntimeError(f"found {found}")
"""
    + FUNCTIONS
)


def shmem() -> int:
    """Bytes of shared memory on the host (tmpfs, memfd, System V), from /proc/meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) << 10
    raise AssertionError("no Shmem in /proc/meminfo")


def comparable(record: dict) -> list:
    """A record without what differs between runs of the same code: its path and its timings."""
    return [
        (p["part"], p["score"], [(c["name"], c["device"], c["status"]) for c in p["checks"]]) for p in record["parts"]
    ]


def write_references(folder: Path) -> list[Path]:
    paths = []
    for part in PARTS:
        path = folder / f"{part}.py"
        path.write_text(reference_code(part))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def batch(tmp_path_factory, bwrap):
    folder = tmp_path_factory.mktemp("isolation")
    paths = []
    for i, code in enumerate(ATTACKS.values()):
        path = folder / f"attack-{i:02d}.py"
        path.write_text(
            code if "def attack" in code else code + "\ndef attack():\n    raise RuntimeError('no')\n" + FUNCTIONS
        )
        paths.append(path)
    (folder / "probe.py").write_text(PROBE)
    paths.append(folder / "probe.py")
    paths += write_references(folder)
    shared_before = shmem()
    after_record: dict[str, int] = {}
    report = grade(
        submissions=paths,
        sandbox="bubblewrap",
        jobs=1,
        progress=False,
        limits=LIMITS,
        on_record=lambda r: after_record.__setitem__(Path(r.path).name, shmem()),
    ).to_json()
    alone = grade(
        submissions=write_references(tmp_path_factory.mktemp("alone")),
        sandbox="bubblewrap",
        jobs=1,
        progress=False,
        limits=LIMITS,
    ).to_json()
    uid = report["environment"]["uid"]
    return {
        "report": report,
        "records": {Path(r["path"]).name: r for r in report["submissions"]},
        "names": {f"attack-{i:02d}.py": name for i, name in enumerate(ATTACKS)},
        "alone": {Path(r["path"]).name: r for r in alone["submissions"]},
        "shared_before": shared_before,
        "shared_after_record": after_record,
        "host_dev_shm_of_the_sandbox": [p.name for p in Path("/dev/shm").iterdir() if p.lstat().st_uid == uid],
    }


def messages(record: dict) -> str:
    return " ".join(c["message"] for p in record["parts"] for c in p["checks"])


def test_the_batch_ran_in_bubblewrap_with_a_memory_cgroup(batch):
    env = batch["report"]["environment"]
    assert env["sandbox"] == "bubblewrap"
    assert env["memory_limit"] == "cgroup v1 (0.5 GiB of all memory, no swap, 64 processes)"


@pytest.mark.parametrize("part", list(PARTS))
def test_honest_submissions_after_the_attacks_get_the_records_they_get_alone(batch, part):
    record = batch["records"][f"{part}.py"]
    parts = [part, *PARTS[part].uses]  # a reference file holds the parts it uses: they are graded too
    assert (record["score"], record["max_score"]) == (10.0 * len(parts), 10.0 * len(parts)), messages(record)
    assert "grader_error" not in record
    assert comparable(record) == comparable(batch["alone"][f"{part}.py"])


def test_a_later_child_finds_the_sandbox_as_new(batch):
    record = batch["records"]["probe.py"]
    assert "found ['/tmp/work', 'cwd /tmp/work: []', '/tmp free 128 MiB']" in messages(record)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_attack_is_graded_as_its_own_failure_not_the_graders(batch, name):
    file = next(f for f, n in batch["names"].items() if n == name)
    record = batch["records"][file]
    assert "grader_error" not in record
    assert record["score"] == 0.0
    assert record["max_score"] == 10.0


@pytest.mark.parametrize("name", [name for name in ATTACKS if name.startswith(("1.5 GiB", "a 1.5 GiB"))])
def test_shared_memory_over_the_limit_is_stopped_with_a_memory_message(batch, name):
    record = batch["records"][next(f for f, n in batch["names"].items() if n == name)]
    assert "the process running your code was stopped during gaussian_kernel: it used more than 0.5 GiB of memory" in (
        messages(record)
    )


def test_the_hosts_shared_memory_is_back_after_each_attack(batch):
    grown = {name: after - batch["shared_before"] for name, after in batch["shared_after_record"].items()}
    # each attack held 64 MiB to 1.5 GiB of shared memory; the job's own region and the machine's
    # other work move the figure by a few MiB. The host's /dev/shm holds nothing of the sandbox's user
    assert {name: size for name, size in grown.items() if size > 48 << 20} == {}
    assert batch["host_dev_shm_of_the_sandbox"] == []


def zygotes_below(pid: int) -> list[int]:
    """Host pids of the zygotes (``python -m sandbox.inside``, not bwrap) below process ``pid``."""
    found, level = [], [pid]
    while level:
        children = []
        for p in level:
            for task in Path(f"/proc/{p}/task").glob("*"):
                try:
                    children += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
        found += [c for c in children if _is_zygote(c)]
        level = children
    return found


def _is_zygote(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"sandbox.inside" in argv and not argv[0].endswith(b"bwrap")


@pytest.mark.skipif(os.geteuid() != 0, reason="a file the zygote cannot remove is made as root")
def test_a_sandbox_found_unusable_is_replaced_before_the_next_child(bwrap):
    with ZygoteClient(Sandbox.detect("bubblewrap"), LIMITS) as zygote:
        zygote.start()
        # root's file in the sticky /tmp: the zygote's user cannot remove it, so the sandbox is not as new
        Path(f"/proc/{zygote.zygote_pid}/root/tmp/not-the-zygotes").write_text("x")
        student = Student(zygote, of_file(reference_code("smoother")))
        try:
            assert student.call("gaussian_kernel", 3).shape == (3,)
        finally:
            student.close()
        assert zygote.starts == 2
        assert zygote.faults == ["the sandbox was not usable: /tmp still holds 1 entries of an earlier child"]


@pytest.mark.parametrize("gradients", [True, False], ids=["a part with gradient checks", "a part without"])
def test_a_child_computes_gradients_with_what_its_zygote_imported(bwrap, gradients):
    """Gradients from given upstream gradients (every gradient check's) import nothing in the child of a part with
    gradient checks: torch's first use of them imports its shape checks and sympy (about 0.3 s), which the
    zygote imports once before the first such child, and never for a part without (``ZygoteClient.gradients``)."""
    code = "import sys\n\n\ndef loaded():\n    return sorted(sys.modules)\n\n\ndef double(x):\n    return x * 2\n"
    with ZygoteClient(Sandbox.detect("bubblewrap"), LIMITS) as zygote:
        zygote.start()
        zygote.gradients = gradients
        student = Student(zygote, of_file(code))
        try:
            before = student.call("loaded")
            x = torch.ones(3, dtype=torch.float64)
            done = student.run("double", x, grad={"upstream": [torch.full((3,), 0.5, dtype=torch.float64)]})
            assert done.input_grads[0].tolist() == [1.0, 1.0, 1.0]
            imported = sorted(set(student.call("loaded")) - set(before))
            assert (imported == []) is gradients
            assert ("sympy" in before) is gradients
        finally:
            student.close()


class Breaker:
    """From outside, makes every sandbox of this test's jobs unusable while a child of it runs.

    The submission waits at import for ``go`` in its work directory; this thread writes it, and
    first (``break_each``: in every sandbox, else only in the first) a root-owned file in the
    sandbox's ``/tmp``, which the zygote cannot remove.
    """

    def __init__(self, break_each: bool) -> None:
        self.break_each = break_each
        self.children = 0
        self.broken: set[int] = set()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            for zygote in zygotes_below(os.getpid()):
                work = Path(f"/proc/{zygote}/root/tmp/work")
                try:
                    if (work / "ready").exists() and not (work / "go").exists():
                        if (self.break_each or not self.broken) and zygote not in self.broken:
                            Path(f"/proc/{zygote}/root/tmp/broken").write_text("x")
                            self.broken.add(zygote)
                        (work / "go").write_text("x")
                        self.children += 1
                except OSError:
                    continue
            time.sleep(0.01)

    def close(self) -> None:
        self.running = False
        self.thread.join()


WAITS = """
import os, time
open("ready", "w").close()
while not os.path.exists("go"):
    time.sleep(0.01)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a file the zygote cannot remove is made as root")
def test_a_submission_graded_while_the_sandbox_broke_is_graded_again(tmp_path, bwrap):
    path = tmp_path / "both.py"  # two parts: two children, the second after the sandbox broke
    path.write_text(WAITS + reference_code("smoother") + "\n\n" + reference_code("vocab"))
    breaker = Breaker(break_each=False)
    try:
        report = grade(submissions=[path], sandbox="bubblewrap", jobs=1, progress=False, limits=LIMITS).to_json()
    finally:
        breaker.close()
    (record,) = report["submissions"]
    assert (record["score"], record["max_score"], record.get("grader_error")) == (20.0, 20.0, None)
    # the loads of the code graded once (a child per part, and a new one after each speed check's first round
    # trip to a clean child: smoother 1, vocab 2), then again in a fresh sandbox (the round trips now known)
    assert breaker.children == (2 + 1 + 2) + 2


@pytest.mark.skipif(os.geteuid() != 0, reason="a file the zygote cannot remove is made as root")
def test_a_record_from_a_sandbox_that_kept_breaking_is_the_graders_error_and_not_kept(tmp_path, bwrap):
    path = tmp_path / "both.py"
    path.write_text(WAITS + reference_code("smoother") + "\n\n" + reference_code("vocab"))
    json_path = tmp_path / "report.json"
    breaker = Breaker(break_each=True)
    try:
        report = grade(
            submissions=[path], sandbox="bubblewrap", jobs=1, progress=False, limits=LIMITS, json_path=json_path
        ).to_json()
    finally:
        breaker.close()
    (record,) = report["submissions"]
    assert record["grader_error"] == (
        "the sandbox failed while grading this submission: "
        "the sandbox was not usable: /tmp still holds 1 entries of an earlier child"
    )
    assert previous_records(json_path) == {}


# --- a frozen sandbox: the per-submission limit is a limit

FROZEN_LIMITS = Limits(memory=GIB, call_timeout=5.0, submission_timeout=5.0)
#: the margin over ``submission_timeout`` that a submission may take, a fresh sandbox's start included
#: (the bug it guards against took 24 to 33 s over; the margin leaves room for a loaded 2-core machine)
FROZEN_MARGIN = 15.0

# each stops what it can reach (SIGSTOP), at import and again in every call, then loops: a child
# stopped with its zygote, or one left running while the zygote is stopped
FREEZES = {
    "SIGSTOP to the zygote (the parent)": ["os.kill(os.getppid(), signal.SIGSTOP)"],
    "SIGSTOP to its own process group": ["os.killpg(0, signal.SIGSTOP)"],
    "SIGSTOP to every process it may signal": ["os.kill(-1, signal.SIGSTOP)"],
    "SIGSTOP to the sandbox's first process (bubblewrap)": ["os.kill(1, signal.SIGSTOP)"],
    "SIGSTOP to the parent's parent and the parent's group": [
        "os.kill(int(open(f'/proc/{os.getppid()}/stat').read().rsplit(')', 1)[1].split()[1]), signal.SIGSTOP)",
        "os.killpg(os.getpgid(os.getppid()), signal.SIGSTOP)",
    ],
}
FREEZE = """
import os, signal


def freeze():
    for step in ({steps}):
        try:
            eval(step)
        except OSError:
            pass


freeze()


def attack():
    freeze()
    while True:
        pass
"""


@pytest.fixture(scope="module")
def frozen(tmp_path_factory, bwrap):
    folder = tmp_path_factory.mktemp("frozen")
    paths = [folder / "honest-first.py"]
    paths[0].write_text(reference_code("smoother"))
    for i, stop in enumerate(FREEZES.values()):
        paths.append(folder / f"freeze-{i}.py")
        paths[-1].write_text(FREEZE.replace("{steps}", repr(tuple(stop))) + FUNCTIONS)
        paths.append(folder / f"honest-{i}.py")
        paths[-1].write_text(reference_code("smoother"))
    times: list[tuple[str, float]] = []
    start = time.monotonic()
    report = grade(
        submissions=paths,
        sandbox="bubblewrap",
        jobs=1,
        progress=False,
        limits=FROZEN_LIMITS,
        on_record=lambda r: times.append((Path(r.path).name, time.monotonic())),
    ).to_json()
    seconds = {}
    for (_, before), (name, after) in zip([("", start), *times], times):
        seconds[name] = after - before
    return {
        "records": {Path(r["path"]).name: r for r in report["submissions"]},
        "seconds": seconds,
        "names": {f"freeze-{i}.py": name for i, name in enumerate(FREEZES)},
    }


@pytest.mark.parametrize("name", list(FREEZES))
def test_a_submission_that_freezes_its_sandbox_ends_within_its_time_limit(frozen, name):
    file = next(f for f, n in frozen["names"].items() if n == name)
    record = frozen["records"][file]
    # the machine's pace: the first honest submission's time (a job's and a sandbox's start, one grading),
    # which a loaded machine (two test workers on two cores) stretches as it stretches a fresh sandbox's start
    allowed = FROZEN_LIMITS.submission_timeout + FROZEN_MARGIN + frozen["seconds"]["honest-first.py"]
    assert frozen["seconds"][file] < allowed, frozen["seconds"]
    assert "grader_error" not in record  # the student's doing: not graded again on resume
    assert record["score"] == 0.0
    honest = frozen["records"][file.replace("freeze", "honest")]
    assert (honest["score"], honest.get("grader_error")) == (10.0, None), messages(honest)
    assert frozen["seconds"][file.replace("freeze", "honest")] < allowed, frozen["seconds"]


# --- nothing outlives a child: what one leaves, for the next child or on the machine after the batch

# at import: everything a child can make that may outlive its processes, each holding a message
LEAVE = (
    """
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
for path in ("left-in-work", "/tmp/left-in-tmp", "/var/tmp/left-in-var-tmp", "/dev/shm/left-in-shm"):
    try:
        open(path, "w").write("a message for the next student")
    except OSError:  # no /var/tmp in bubblewrap
        pass
librt = ctypes.CDLL("librt.so.1", use_errno=True)
librt.mq_send(librt.mq_open(b"/left-queue", os.O_CREAT | os.O_RDWR, 0o666, None), b"a message", 9, 0)
libc.shmat.restype = ctypes.c_void_p
libc.shmget(4343, 4096, 0o1000 | 0o666)
libc.semget(4343, 1, 0o1000 | 0o666)
libc.msgget(4343, 0o1000 | 0o666)
if os.uname().machine == "x86_64":  # add_key(2), keyctl(2): 248 and 250
    persistent = libc.syscall(250, ctypes.c_long(22), ctypes.c_long(-1), ctypes.c_long(-3))
    for keyring in (-3, -4, -5, persistent):  # session, user, user-session, persistent
        libc.syscall(248, b"user", b"left-behind", b"a message", 9, ctypes.c_long(keyring))
if os.fork() == 0:  # a daemon: a grandchild in a session of its own, named so that it can be found
    os.setsid()
    if os.fork() == 0:
        libc.prctl(15, b"left-behind", 0, 0, 0)
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
def attack():
    raise RuntimeError(f"uid {os.getuid()}")
"""
    + FUNCTIONS
)

# later, in the same job: says what it finds of that (and its own uid)
FIND = (
    """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
found = [f"{path}/{name}" for path in (".", "/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue") if os.path.isdir(path)
         for name in os.listdir(path) if name.startswith("left")]
if ctypes.CDLL("librt.so.1", use_errno=True).mq_open(b"/left-queue", os.O_RDONLY) >= 0:
    found.append("the queue /left-queue")
for kind in ("shm", "sem", "msg"):
    found += [f"{kind} {line.split()[0]}" for line in open(f"/proc/sysvipc/{kind}").readlines()[1:]
              if line.split()[0] == "4343"]
if os.uname().machine == "x86_64":
    persistent = libc.syscall(250, ctypes.c_long(22), ctypes.c_long(-1), ctypes.c_long(-3))
    for keyring in (-3, -4, -5, persistent):
        key = libc.syscall(250, ctypes.c_long(10), ctypes.c_long(keyring), b"user", b"left-behind", 0)  # search
        found += [f"a key in keyring {keyring}"] if key > 0 else []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        found += ["a daemon"] if open(f"/proc/{pid}/comm").read().strip() == "left-behind" else []
    except OSError:
        pass
def attack():
    raise RuntimeError(f"uid {os.getuid()} found {found}")
"""
    + FUNCTIONS
)


def uid_of(pid: str) -> int | None:
    try:
        return int(
            next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Uid:")).split()[1]
        )
    except (OSError, StopIteration, ValueError):
        return None


def left_on_the_host(uids: set[int]) -> list[str]:
    """What the machine holds of ``uids``: keys (counted per uid in /proc/key-users), processes, IPC objects."""
    found = [line for line in Path("/proc/key-users").read_text().splitlines() if int(line.split(":")[0]) in uids]
    found += [f"process {pid}" for pid in filter(str.isdigit, os.listdir("/proc")) if uid_of(pid) in uids]
    for path in ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue"):
        found += (
            [f"{path}/{p.name}" for p in Path(path).iterdir() if p.name.startswith("left")]
            if os.path.isdir(path)
            else []
        )
    for kind in ("shm", "sem", "msg"):
        found += [
            f"{kind} {line.split()[0]}"
            for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
            if line.split()[0] == "4343"
        ]
    return found


LIBRT = ctypes.CDLL("librt.so.1", use_errno=True)
#: Degraded mode on a machine that has not mounted /dev/mqueue: the reset cannot list POSIX message
#: queues, so a queue a child made is left (for a later child of the same job, and on the machine)
KNOWN_GAPS = ["the queue /left-queue"] if not os.path.isdir("/dev/mqueue") else []


def gaps(kind: str) -> list[str]:
    return KNOWN_GAPS if kind == "none" else []


@pytest.fixture(scope="module", params=["bubblewrap", "none"])
def outlived(request, tmp_path_factory, bwrap):
    folder = tmp_path_factory.mktemp(f"outlive-{request.param}")
    paths = []
    for name, code in (("leave-1", LEAVE), ("find-1", FIND), ("leave-2", LEAVE), ("find-2", FIND)):
        paths.append(folder / f"{name}.py")
        paths[-1].write_text(code)
    paths.append(folder / "honest.py")
    paths[-1].write_text(reference_code("smoother"))
    report = grade(submissions=paths, sandbox=request.param, jobs=1, progress=False, limits=LIMITS).to_json()
    records = {Path(r["path"]).name: r for r in report["submissions"]}
    uids = {int(re.search(r"uid (\d+)", messages(r)).group(1)) for r in records.values() if "uid " in messages(r)}
    left = left_on_the_host(uids)
    for _ in range(50):  # the kernel frees invalidated keys in its own time
        if not left or os.geteuid() != 0:
            break
        time.sleep(0.1)
        left = left_on_the_host(uids)
    if LIBRT.mq_unlink(b"/left-queue") == 0:  # (removed here: a known gap, below, must not stay on the machine)
        left.append("the queue /left-queue")
    return {"kind": request.param, "records": records, "environment": report["environment"], "uids": uids, "left": left}


def test_a_child_finds_nothing_an_earlier_child_left(outlived):
    for name in ("find-1.py", "find-2.py"):
        record = outlived["records"][name]
        assert "grader_error" not in record
        assert f"found {gaps(outlived['kind'])}" in messages(record), messages(record)
    honest = outlived["records"]["honest.py"]
    assert (honest["score"], honest.get("grader_error")) == (10.0, None), messages(honest)


@pytest.mark.skipif(os.geteuid() != 0, reason="as root, the children run as users of the sandbox's own")
def test_each_child_has_a_user_of_its_own_in_bubblewrap_and_one_of_the_jobs_without(outlived):
    uids = outlived["uids"]
    assert 0 not in uids
    assert len(uids) == (4 if outlived["kind"] == "bubblewrap" else 1), uids


@pytest.mark.skipif(os.geteuid() != 0, reason="only root sees every user's keys and processes")
def test_nothing_a_child_made_is_left_on_the_machine_after_the_batch(outlived):
    assert outlived["uids"]
    assert outlived["left"] in ([], gaps(outlived["kind"]))
