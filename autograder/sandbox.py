"""The grader's side of the sandbox: start a warm zygote in bubblewrap, fork children from it.

A ``Worker`` owns one zygote (``runtime.py``) running in its own bubblewrap sandbox: own PID, network,
IPC and UTS namespaces, a read-only view of the system and of Python (the package's own
directories masked), a small private ``/tmp``, a scrubbed environment, dying with the grader, and,
when the grader is root, an unprivileged user of its own. Each submission gets a fresh child forked
from the zygote, reached through its own socket, with memory, process, file and CPU limits; the
grader enforces wall-clock limits and kills children that overrun. Where bubblewrap cannot run,
the same protocol runs in a plain subprocess with the limits and a scrubbed environment:
"degraded" mode, named in every report.
"""

from __future__ import annotations

import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """Resource limits for student code. Times in seconds, sizes in bytes."""

    call_timeout: float = 10.0  # one call of a student function
    submission_timeout: float = 120.0  # everything one submission's part may take
    memory: int = 4 << 30  # data segment of the child (RLIMIT_DATA)
    processes: int = 64  # processes and threads of the sandbox's user
    file_size: int = 16 << 20  # one file written
    open_files: int = 256
    tmp_size: int = 128 << 20  # the private /tmp (bubblewrap mode)
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

    def command(self, runtime: Path, control_fd: int, arena, limits: Limits) -> tuple[list[str], str]:
        """The argv of a zygote, and the work directory it cleans between children."""
        python = [sys.executable, "-E", "-s", "-B"]
        zygote = ["--control", str(control_fd), "--arena", str(arena.fd), "--arena-size", str(arena.size)]
        root = os.geteuid() == 0
        uid = random.randrange(2_000_000, 3_000_000) if root else None
        if self.kind != "bubblewrap":
            workdir = tempfile.mkdtemp(prefix="autograder-work-")
            if root:
                os.chown(workdir, uid, uid)
                zygote += ["--uid", str(uid)]
            return [*python, str(runtime / "runtime.py"), *zygote, "--workdir", workdir], workdir
        argv = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if root:
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            zygote += ["--uid", str(uid)]
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
        argv += ["--proc", "/proc", "--dev", "/dev"]
        if self.cuda:
            for device in sorted(glob.glob("/dev/nvidia*")):
                argv += ["--dev-bind", device, device]
            if os.path.isdir("/sys"):
                argv += ["--ro-bind", "/sys", "/sys"]
        argv += ["--chdir", "/tmp", "--"]
        return [*argv, *python, "/grader/runtime.py", *zygote, "--isolated", "--workdir", "/tmp/work"], "/tmp/work"


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

    return sorted({str(HERE), *(str(Path(p).resolve()) for m in (solutions, assignments) for p in m.__path__)})


class Worker:
    """One zygote in its sandbox; forks one child at a time."""

    def __init__(self, sandbox: Sandbox, limits: Limits) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.info: dict = {}
        self.stderr: list[bytes] = []
        self.starts = 0

    # --- life cycle

    def start(self) -> None:
        self.stop()
        self.runtime = Path(tempfile.mkdtemp(prefix="autograder-runtime-"))
        for name in ("runtime.py", "wire.py"):
            shutil.copyfile(HERE / name, self.runtime / name)
            os.chmod(self.runtime / name, 0o644)
        os.chmod(self.runtime, 0o755)
        from autograder import wire  # torch: only where a worker runs, not in the command's own process

        self.arena = wire.Arena.create()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, self.workdir = self.sandbox.command(self.runtime, theirs.fileno(), self.arena, self.limits)
        self.proc = subprocess.Popen(
            argv,
            pass_fds=(theirs.fileno(), self.arena.fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.sandbox.environment(),
            start_new_session=True,
            cwd="/",
        )
        theirs.close()
        self.control = ours
        self.stderr = []
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        self.starts += 1
        message = self._hear(timeout=180)
        if not message or not message.get("ready"):
            tail = b"".join(self.stderr).decode(errors="replace")[-2000:]
            self.stop()
            raise SandboxError(f"the sandbox did not start: {tail or message}")
        self.info = message

    def _drain(self, stream) -> None:
        kept = 0
        for chunk in iter(lambda: stream.read1(65536), b""):
            if kept < 65536:
                self.stderr.append(chunk)
                kept += len(chunk)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if getattr(self, "arena", None) is not None:
            self.arena.map.close()
            os.close(self.arena.fd)
            self.arena = None
        for path in (getattr(self, "runtime", None), getattr(self, "workdir", None)):
            if path and os.path.isdir(path) and str(path).startswith(tempfile.gettempdir()):
                shutil.rmtree(path, ignore_errors=True)

    # --- the zygote's control channel

    def _tell(self, message: dict, fds: list[int] = ()) -> None:
        socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))

    def _hear(self, timeout: float) -> dict | None:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(1 << 16)
        except (TimeoutError, OSError):
            return None
        if not data:
            return None
        try:
            message = json.loads(data)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    def fork(self) -> socket.socket:
        """A socket to a fresh child of the zygote (restarting the zygote if it died)."""
        if not self.alive():
            self.start()
        self.arena.clear()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        limits = {
            "memory": self.limits.memory,
            "processes": self.limits.processes,
            "file_size": self.limits.file_size,
            "open_files": self.limits.open_files,
            "cpu_seconds": int(self.limits.submission_timeout) + 5,
            "workdir": self.workdir,
        }
        try:
            self._tell({"op": "fork", "limits": limits}, [theirs.fileno()])
        except OSError:
            theirs.close()
            ours.close()
            self.start()
            return self.fork()
        theirs.close()
        message = self._hear(timeout=30)
        if not message or "forked" not in message:
            ours.close()
            self.start()
            return self.fork()
        return ours

    def finish(self, kill: bool = False) -> str:
        """Wait for the current child to end (killing it if asked or if it lingers); how it ended."""
        if kill and self.alive():
            self._tell_quietly({"op": "kill"})
        message = self._hear(timeout=2 if kill else 5)
        if message is None and self.alive():
            self._tell_quietly({"op": "kill"})
            message = self._hear(timeout=5)
        if message is None or "exited" not in message:
            self.stop()  # the zygote no longer answers: a fresh one starts on the next fork
            return "the sandbox stopped answering"
        return str(message.get("status"))

    def _tell_quietly(self, message: dict) -> None:
        try:
            self._tell(message)
        except OSError:
            pass

    def describe(self) -> dict:
        return {"sandbox": self.sandbox.label, **{k: v for k, v in self.info.items() if k != "ready"}}

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
