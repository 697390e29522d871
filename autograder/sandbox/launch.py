"""Launching the sandbox: is bubblewrap usable here, and the command line of a zygote.

A zygote (``inside/``) runs in its own bubblewrap sandbox: own PID, network, IPC and UTS
namespaces, a read-only view of the system and of Python (the package's own directories masked),
a small private ``/tmp``, a scrubbed environment, dying with the grader, and, when the grader is
root, a user of its own for every child. Where bubblewrap cannot run, the same zygote runs in a
plain subprocess with the limits and a scrubbed environment (as root: as one unprivileged user of
the job's): "degraded" mode, named in every report. ``Limits`` are the resource limits of student code.
"""

from __future__ import annotations

import ctypes
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .wire import Arena
    from .zygote_client import ArenaFd

HERE = Path(__file__).resolve().parent  # autograder/sandbox
PACKAGE = HERE.parent  # autograder
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """Resource limits for student code. Times in seconds, sizes in bytes."""

    call_timeout: float = 10.0  # one call of a student function
    submission_timeout: float = 120.0  # everything one submission's part may take
    memory: int = 4 << 30  # all memory of the child: its cgroup's limit (and RLIMIT_DATA)
    processes: int = 64  # processes and threads of the sandbox's user (and the cgroup's pids.max)
    file_size: int = 16 << 20  # one file written
    open_files: int = 256
    tmp_size: int = 128 << 20  # the private /tmp, and /dev/shm (bubblewrap mode)
    reply_size: int = 256 << 20  # one reply from the child


class SandboxError(RuntimeError):
    """The sandbox itself could not be started or stopped responding."""


def _bwrap_works() -> tuple[bool, str]:
    path = shutil.which("bwrap")
    if path is None:
        return False, "bubblewrap (bwrap) is not installed"
    args = [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--proc", "/proc", "--dev", "/dev"]
    if os.geteuid() != 0:
        args.insert(1, "--unshare-user")
    try:
        done = subprocess.run([*args, "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap does not run here: {error}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return False, f"bubblewrap does not run here: {reason[-1] if reason else done.returncode}"
    return True, ""


@dataclass(frozen=True)
class Sandbox:
    """How workers are started: ``bubblewrap``, or ``degraded`` with the reason."""

    kind: str
    reason: str = ""
    cuda: bool = False

    @classmethod
    def detect(cls, requested: str = "auto", cuda: bool = False) -> Sandbox:
        if requested == "none":
            return cls("degraded", "sandbox disabled (--sandbox none)", cuda)
        works, reason = _bwrap_works()
        if works:
            return cls("bubblewrap", "", cuda)
        if requested == "bubblewrap":
            raise SandboxError(reason)
        return cls("degraded", reason, cuda)

    @property
    def label(self) -> str:
        return "bubblewrap" if self.kind == "bubblewrap" else f"degraded: {self.reason}"

    def environment(self) -> dict[str, str]:
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0",
        }
        if self.cuda:
            for name in (
                "CUDA_VISIBLE_DEVICES",
                "LD_LIBRARY_PATH",
                "NVIDIA_VISIBLE_DEVICES",
                "NVIDIA_DRIVER_CAPABILITIES",
            ):
                if name in os.environ:
                    env[name] = os.environ[name]
        return env

    def command(
        self, runtime: Path, control_fd: int, arena: Arena | ArenaFd, limits: Limits
    ) -> tuple[list[str], str, str]:
        """The argv of a zygote, the directory to start it in, and the host directory to remove when it stops (or "").

        ``runtime`` is a copy of what runs inside (``copy_runtime``), started as ``python -m sandbox.inside``.
        """
        # no -E: the environment is ours alone (``environment``), and its PYTHONHASHSEED must hold, so that
        # a submission that iterates over a set of words gets the same grade each time it is graded
        python = [sys.executable, "-s", "-B", "-m", "sandbox.inside"]
        zygote = ["--control", str(control_fd), "--arena", str(arena.fd), "--arena-size", str(arena.size)]
        root = os.geteuid() == 0
        # as root: an unprivileged user of the job's (without bubblewrap: the zygote's and its children's;
        # in bubblewrap: the children's group, each child a uid of its own, drawn by the zygote)
        uid = random.randrange(2_000_000, 3_000_000) if root else None
        if self.kind != "bubblewrap":
            # the zygote empties this directory between children and makes their work directory in it;
            # as root it is ours with the zygote's group, so that a child cannot move it away
            scratch = tempfile.mkdtemp(prefix="autograder-work-")
            if uid is not None:  # as root
                os.chown(scratch, 0, uid)
                os.chmod(scratch, 0o1770)
                zygote += ["--uid", str(uid)]
            workdir = os.path.join(scratch, "work")
            # it dies with this process (PR_SET_PDEATHSIG), and checks that this process is its parent still
            zygote += ["--parent", str(os.getpid())]
            return [*python, *zygote, "--workdir", workdir], str(runtime), scratch
        argv = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if root:  # the zygote stays root with these two, in its PID namespace, to give each child a user of its own
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            zygote += ["--child-gid", str(uid)]
        else:
            argv += ["--unshare-user", "--disable-userns"]
        for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += ["--ro-bind", top, top]
        # the private /tmp first: a Python installed under /tmp is then bound on top of it, not hidden by it
        argv += ["--size", str(limits.tmp_size), "--perms", "1777", "--tmpfs", "/tmp"]
        bound = ["/usr", "/etc"]
        made: set[str] = {"/tmp"}
        for prefix in sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}):
            if not any(_under(prefix, b) for b in bound):
                argv += _parents(prefix, made)
                argv += ["--ro-bind", prefix, prefix]
                bound.append(prefix)
        for hidden in _package_dirs():  # the suites, the reference and the notebooks stay out of sight
            if any(_under(hidden, b) for b in bound):
                argv += ["--tmpfs", hidden]
        argv += ["--ro-bind", str(runtime), "/grader"]
        argv += ["--proc", "/proc", "--dev", "/dev", "--mqueue", "/dev/mqueue"]  # the queues can be listed and removed
        argv += ["--size", str(limits.tmp_size), "--perms", "1777", "--tmpfs", "/dev/shm"]
        if self.cuda:
            for device in sorted(glob.glob("/dev/nvidia*")):
                argv += ["--dev-bind", device, device]
            if os.path.isdir("/sys"):
                argv += ["--ro-bind", "/sys", "/sys"]
        argv += ["--chdir", "/grader", "--"]
        return [*argv, *python, *zygote, "--isolated", "--workdir", "/tmp/work"], "/", ""


def _parents(path: str, made: set[str]) -> list[str]:
    """Arguments that create the missing parents of a mount point readable by all (bwrap makes them 0700)."""
    args = []
    parts = Path(path).parts[1:-1]
    for i in range(len(parts)):
        parent = "/" + "/".join(parts[: i + 1])
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def _under(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _package_dirs() -> list[str]:
    import assignments
    import solutions

    return sorted({str(PACKAGE), *(str(Path(p).resolve()) for m in (solutions, assignments) for p in m.__path__)})


def copy_runtime() -> Path:
    """A fresh directory holding what runs inside the sandbox: ``sandbox/{__init__,wire,protocol}.py`` and ``inside/``."""
    runtime = Path(tempfile.mkdtemp(prefix="autograder-runtime-"))
    target = runtime / "sandbox"
    (target / "inside").mkdir(parents=True)
    files = [HERE / name for name in ("__init__.py", "wire.py", "protocol.py")]
    files += sorted((HERE / "inside").glob("*.py"))
    for path in files:
        copy = target / path.relative_to(HERE)
        shutil.copyfile(path, copy)
        os.chmod(copy, 0o644)
    for folder in (runtime, target, target / "inside"):
        os.chmod(folder, 0o755)
    return runtime


PR_SET_DUMPABLE = 4


def hide_from_same_user() -> None:
    """Make this process non-dumpable: code of the same user can no longer read its memory or environment."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")
