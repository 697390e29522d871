"""The zygote: a warm Python with torch imported that forks one fresh child per submission.

For each submission it receives a socket from the grader, checks that the sandbox is usable,
forks a child that owns that socket, waits for it, kills whatever the child left behind, resets
everything it could write (``reset``), and reports how the child ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

from .. import protocol
from .reset import Reset

if TYPE_CHECKING:
    from .. import wire

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


class Zygote:
    def __init__(
        self, control: socket.socket, arena: wire.Arena | None, isolated: bool, workdir: str, own_uid: bool = False
    ) -> None:
        self.own_uid = own_uid  # no other process runs as this user: kill(-1) reaches only ours
        self.control = control
        self.arena = arena
        self.isolated = isolated
        self.workdir = workdir
        self.last_child = 0
        self.reset = Reset(workdir, isolated, own_uid)
        self.reset.start()

    def tell(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())

    def listen(self) -> tuple[dict[str, Any] | None, list[int]]:
        data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 4)
        if not data:
            return None, []
        return json.loads(data), fds

    def run(self) -> None:
        from .child import child_main  # imports torch: once, here, before the first fork

        while True:
            message, fds = self.listen()
            if message is None:
                return
            if message.get("op") != protocol.FORK or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                continue
            start = time.perf_counter()
            problem = self.reset.check(self.leftovers())
            check_ms = round((time.perf_counter() - start) * 1000, 2)
            if problem:  # the grader starts a fresh sandbox
                os.close(fds[0])
                self.tell({protocol.UNUSABLE: problem})
                continue
            pid = self.last_child = os.fork()
            if pid == 0:
                limits = {**message.get("limits", {}), "workdir": self.workdir}
                child_main(fds[0], self.control.fileno(), self.arena, limits, self.isolated)
            os.close(fds[0])
            self.tell({protocol.FORKED: pid, "check_ms": check_ms})
            status = self.wait(pid)
            start = time.perf_counter()
            self.clean(pid)
            reset_ms = round((time.perf_counter() - start) * 1000, 2)
            self.tell({protocol.EXITED: pid, "status": status, "reset_ms": reset_ms})
            if status is None:  # the grader went away
                return

    def wait(self, pid: int) -> str | None:
        pidfd = os.pidfd_open(pid)
        try:
            while True:
                watched: list[socket.socket | int] = [self.control, pidfd]
                ready, _, _ = select.select(watched, [], [])
                if pidfd in ready:
                    _, status = os.waitpid(pid, 0)
                    return describe_status(status)
                message, fds = self.listen()
                for fd in fds:
                    os.close(fd)
                if message is None:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return None
                if message.get("op") == protocol.KILL:
                    os.kill(pid, signal.SIGKILL)
        finally:
            os.close(pidfd)

    @staticmethod
    def reap() -> None:
        """Collect the exit status of every child that ended (orphans come to us: a subreaper)."""
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    return
            except ChildProcessError:
                return

    def clean(self, pid: int) -> None:
        """Kill every process the child left behind, and reset what it could write."""
        if self.isolated or self.own_uid:  # our PID namespace, or a user of our own: everything but us goes
            for _ in range(500):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                self.reap()
                time.sleep(0.001)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.reap()
        self.reset.reset()

    def leftovers(self) -> list[int]:
        """Processes of earlier children still alive (those this zygote can see as its children's)."""
        if not (self.isolated or self.own_uid):  # only the last child's process group can be told
            try:
                os.killpg(self.last_child, 0)
            except (ProcessLookupError, PermissionError, ValueError):
                return []
            return [self.last_child] if self.last_child else []
        ours = {os.getpid(), os.getppid()}  # in our PID namespace the parent is bubblewrap's init
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in ours:
                try:
                    if self.isolated or os.stat(f"/proc/{name}").st_uid == self.reset.uid:
                        found.append(int(name))
                except OSError:
                    continue
        return found
