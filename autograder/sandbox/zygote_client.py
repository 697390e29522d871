"""The grader's client of one zygote: start it in its sandbox, fork children, hear how they ended.

Every child joins the zygote's cgroup (``cgroup``) before it runs student code. When the zygote
finds its sandbox unusable before a fork, the client starts a fresh sandbox and notes the fault in
``faults``: whoever grades can then tell a failure of the grader from one of the student.

Nothing here waits on the sandbox past the deadline of the submission it serves (plus
``ANSWER_GRACE`` for a zygote that is merely slow to report): a zygote that does not answer by
then (stopped, or busy) is killed with its sandbox and a fresh one is started at once, and
``fork`` raises ``OutOfTime``: the submission ran out of its time, its own doing.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from autograder.sandbox import protocol
from autograder.sandbox.cgroup import Cgroup, CgroupUnavailable
from autograder.sandbox.launch import Limits, Sandbox, SandboxError, copy_runtime

if TYPE_CHECKING:
    from autograder.sandbox.wire import Arena

FORK_ATTEMPTS = 3
#: How long after a submission's deadline the zygote may still take to answer a fork or report a
#: child's end; a zygote that answers later is killed and replaced.
ANSWER_GRACE = 1.0


#: The shared memory where CPU tensors travel (``wire.Arena``).
ARENA_BYTES = 256 << 20


class ArenaFd(NamedTuple):
    """An arena's memfd and size, before ``wire`` (torch) is imported: what the sandbox's command needs of it."""

    fd: int
    size: int


def sealed_memfd(size: int) -> int:
    """A memfd of ``size`` bytes the sandbox can write but not resize (``wire.Arena.create``: a shrunk region
    would crash the grader)."""
    fd = os.memfd_create("autograder-arena", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


class OutOfTime(Exception):
    """The submission's deadline passed while the sandbox was asked for a child."""


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as text:
            return [int(p) for p in text.read().split()]
    except (OSError, ValueError):
        return []


def _ns_pid(pid: int) -> int | None:
    """The pid of host process ``pid`` in its innermost PID namespace."""
    try:
        with open(f"/proc/{pid}/status") as text:
            for line in text:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def host_pid(root: int, ns_pid: int, depth: int = 3) -> int | None:
    """The host pid of the descendant of ``root`` (``root`` included) known inside as ``ns_pid``."""
    level = [root]
    for _ in range(depth + 1):
        for pid in level:
            if _ns_pid(pid) == ns_pid:
                return pid
        level = [c for pid in level for c in _children(pid)]
    return None


class ZygoteClient:
    """One zygote in its sandbox; forks one child at a time."""

    def __init__(self, sandbox: Sandbox, limits: Limits) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.info: dict = {}
        self.stderr: list[bytes] = []
        self.arena: Arena | None = None
        self.arena_fd: int | None = None  # the arena's memfd between ``launch`` and ``wait_ready``
        self.runtime: Path | None = None
        self.scratch = ""  # a host directory of the sandbox (degraded mode), removed on stop
        self.cgroup: Cgroup | None = None
        self.no_cgroup = ""  # why there is none
        self.zygote_pid: int | None = None  # the zygote's pid on the host
        self.child_pid: int | None = None  # the current child's pid on the host, where it was found
        self.oom_kills = 0
        self.forks = 0
        self.starts = 0  # sandboxes started: each gets a cgroup of its own name
        self.faults: list[str] = []  # the sandbox failed, not a child: what happened, in order
        self.reset_ms: list[float] = []  # the zygote's reset after each child
        self.check_ms: list[float] = []  # and its check before each fork
        self.gradients = False  # the next children compute gradients: the zygote imports what they need first

    # --- life cycle

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the sandbox and its zygote, without waiting for it (``wait_ready``): needs no torch here, so
        a job can start its zygote first and import torch while the zygote imports its own."""
        self.stop()
        self.runtime = copy_runtime()
        self.arena_fd = fd = sealed_memfd(ARENA_BYTES)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, cwd, self.scratch = self.sandbox.command(
            self.runtime, theirs.fileno(), ArenaFd(fd, ARENA_BYTES), self.limits
        )
        self.proc = subprocess.Popen(
            argv,
            pass_fds=(theirs.fileno(), fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.sandbox.environment(),
            start_new_session=True,
            cwd=cwd,
        )
        theirs.close()
        self.control = ours
        self.stderr = []
        self.starts += 1
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()

    def wait_ready(self) -> None:
        """Wait for the zygote ``launch`` started to say it is ready (SandboxError if it does not)."""
        from autograder.sandbox import wire  # torch: only where a zygote runs, not in the command's own process

        assert self.proc is not None, "the zygote is not launched"
        assert self.arena_fd is not None, "the zygote is not launched"
        self.arena, self.arena_fd = wire.Arena(self.arena_fd, ARENA_BYTES), None
        message = self._hear(timeout=180)
        if not message or not message.get(protocol.READY):
            tail = b"".join(self.stderr).decode(errors="replace")[-2000:]
            self.stop()
            self.faults.append(f"the sandbox did not start: {tail[-300:] or message}")
            raise SandboxError(f"the sandbox did not start: {tail or message}")
        self.info = message
        ns_pid = message.get("pid")
        self.zygote_pid = host_pid(self.proc.pid, ns_pid) if isinstance(ns_pid, int) else None
        try:
            if self.zygote_pid is None:
                raise CgroupUnavailable("the zygote's pid on this machine was not found")
            self.cgroup = Cgroup.create(
                f"autograder-{os.getpid()}-{self.starts}", self.limits.memory, self.limits.processes
            )
        except CgroupUnavailable as error:
            self.no_cgroup = str(error)

    def _drain(self, stream: io.BufferedIOBase) -> None:
        kept = 0
        for chunk in iter(lambda: stream.read1(65536), b""):
            if kept < 65536:
                self.stderr.append(chunk)
                kept += len(chunk)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
            self.proc = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.arena is not None:
            self.arena.map.close()
            os.close(self.arena.fd)
            self.arena = None
        if self.arena_fd is not None:  # launched, never waited for
            os.close(self.arena_fd)
            self.arena_fd = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        for path in (self.runtime, self.scratch):
            if path and os.path.isdir(path) and str(path).startswith(tempfile.gettempdir()):
                shutil.rmtree(path, ignore_errors=True)

    # --- the control channel

    def _tell(self, message: dict, fds: Sequence[int] = ()) -> None:
        assert self.control is not None, "the zygote is not started"
        socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))

    def _hear(self, timeout: float, deadline: float | None = None) -> dict | None:
        """The zygote's next message, waiting at most ``timeout`` s and past ``deadline`` only ``ANSWER_GRACE``."""
        assert self.control is not None, "the zygote is not started"
        if deadline is not None:
            timeout = min(timeout, max(deadline + ANSWER_GRACE - time.monotonic(), 0.001))
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

    def fork(self, deadline: float | None = None) -> socket.socket:
        """A socket to a fresh child of the zygote, in the cgroup; a fresh sandbox when this one is unusable.

        ``deadline`` (``time.monotonic``): the submission's; past it, ``OutOfTime``.
        """
        for _ in range(FORK_ATTEMPTS):
            if deadline is not None and time.monotonic() >= deadline:
                raise OutOfTime
            if not self.alive():
                self.start()
            assert self.arena is not None  # start() made it
            self.arena.clear()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            limits = {
                "memory": self.limits.memory,
                "processes": self.limits.processes,
                "file_size": self.limits.file_size,
                "open_files": self.limits.open_files,
                "cpu_seconds": int(self.limits.submission_timeout) + 5,
            }
            try:
                request = {"op": protocol.FORK, "limits": limits, protocol.GRADIENTS: self.gradients}
                self._tell(request, [theirs.fileno()])
                message = self._hear(timeout=30, deadline=deadline)
            except OSError:
                message = None
            theirs.close()
            if message is None and deadline is not None and time.monotonic() >= deadline:
                ours.close()
                self.replace()  # a zygote that no longer answers (stopped, or busy): not the next submission's
                raise OutOfTime
            if message and protocol.FORKED in message and self._place(message[protocol.FORKED]):
                self.forks += 1
                if isinstance(message.get("check_ms"), (int, float)):
                    self.check_ms.append(float(message["check_ms"]))
                return ours
            ours.close()
            if message and protocol.UNUSABLE in message:
                self.faults.append(f"the sandbox was not usable: {str(message[protocol.UNUSABLE])[:300]}")
            elif message and protocol.FORKED in message:
                self.faults.append("a child could not be placed in its cgroup")
                self.finish(kill=True)
            self.start()
        raise SandboxError(f"no usable sandbox after {FORK_ATTEMPTS} attempts: {self.faults[-1:]}")

    def _place(self, ns_pid: Any) -> bool:
        """Put the new child in the cgroup (it waits for its first request: no student code ran yet), and keep
        its host pid (``child_pid``), found among the zygote's own children, not taken from the child's word."""
        self.child_pid = None
        if self.zygote_pid is not None:
            self.child_pid = next((p for p in _children(self.zygote_pid) if _ns_pid(p) == ns_pid), None)
        if self.cgroup is None:
            return True
        pid = self.child_pid
        if pid is None:
            return False
        try:
            self.cgroup.add(pid)
        except OSError:
            return False
        self.oom_kills = self.cgroup.oom_kills()
        return True

    def finish(self, kill: bool = False, deadline: float | None = None) -> str:
        """Wait for the current child to end (killing it if asked or if it lingers); how it ended.

        Past ``deadline`` (and ``ANSWER_GRACE``) the sandbox is killed and a fresh one started.
        """
        if kill and self.alive():
            self._tell_quietly({"op": protocol.KILL})
        message = self._hear(timeout=2 if kill else 5, deadline=deadline) if self.alive() else None
        if message is None and self.alive():
            self._tell_quietly({"op": protocol.KILL})
            message = self._hear(timeout=5, deadline=deadline)
        if message is None or protocol.EXITED not in message:
            self.replace()  # the zygote no longer answers (stopped, or busy)
            return "the sandbox stopped answering"
        if isinstance(message.get("reset_ms"), (int, float)):
            self.reset_ms.append(float(message["reset_ms"]))
        status = str(message.get("status"))
        if self.cgroup is not None and status == "killed by SIGKILL" and self.cgroup.oom_kills() > self.oom_kills:
            return f"out of memory: it used more than {self.limits.memory / 2**30:g} GiB of memory"
        return status

    def replace(self) -> None:
        """Kill this sandbox (a stopped one too) and start a fresh one now, on the time of whoever stopped it.

        A fresh one that does not start is started again on the next fork (where its failure is a fault).
        """
        self.stop()
        with contextlib.suppress(SandboxError):
            self.start()

    def _tell_quietly(self, message: dict) -> None:
        with contextlib.suppress(OSError):
            self._tell(message)

    @property
    def memory_limit(self) -> str:
        """How the memory limit holds: the cgroup, or the rlimit alone and why."""
        if self.cgroup is not None:
            return self.cgroup.label
        return f"rlimit only (no cgroup: {self.no_cgroup or 'not started'})"

    def environment(self) -> dict:
        """The sandbox as the report's environment shows it: its kind, its memory limit, what the zygote said."""
        info = {k: v for k, v in self.info.items() if k not in (protocol.READY, "pid")}
        return {"sandbox": self.sandbox.label, "memory_limit": self.memory_limit, **info}

    def __enter__(self) -> ZygoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
