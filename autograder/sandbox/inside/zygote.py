"""The zygote: a warm Python with torch imported that forks one fresh child per submission.

For each submission it receives a socket from the grader, checks that the sandbox is usable,
forks a child that owns that socket, waits for it, kills whatever the child left behind, resets
everything it could write (``reset``), and reports how the child ended.

In bubblewrap as root, the zygote stays root with two capabilities only (CAP_SETUID and
CAP_SETGID; bubblewrap also sets no_new_privs, so that no exec gives it more) in a PID namespace of
its own, and each child runs as a user of its own: a uid never used before, drawn from the
operating system's randomness, so that no child can signal the zygote, nor reach what an earlier
child's user left (its keyrings, persistent keyring included; its processes, files, IPC objects).
Without bubblewrap, as root, the zygote and its children run as one unprivileged user of the job's.

``kill(-1)`` (every process the sender may signal) is sent only where it cannot reach beyond the
sandbox: in a PID namespace of our own (checked: our parent is bubblewrap's init, pid 1), or by a
zygote whose real, effective and saved uids are all one unprivileged user of its own (``kill_all``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import select
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

from .. import protocol
from .reset import Reset, as_user
from .seeds import SYSTEM_URANDOM

if TYPE_CHECKING:
    from .. import wire

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
#: The uids children get: far above any account's, below 2**31 (negative as a signed int elsewhere)
CHILD_UIDS = (10_000_000, (1 << 31) - 2)


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def die_with(parent: int | None) -> None:
    """Be killed when the parent ends (PR_SET_PDEATHSIG); exit now if ``parent`` is no longer the parent.

    A parent that ended before the signal was set cannot send it: its child has another parent by then.
    """
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(70)


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def own_pid_namespace() -> bool:
    """Whether this process runs in bubblewrap's PID namespace: its parent is pid 1, and pid 1 is bubblewrap."""
    try:
        with open("/proc/1/comm") as comm:
            return os.getppid() == 1 and comm.read().strip() == "bwrap"
    except OSError:
        return False


def fresh_uid(taken: set[int]) -> int:
    """A uid for the next child: random, never one this zygote gave, nor one the kernel holds keys of."""
    try:
        with open("/proc/key-users") as text:
            known = {int(line.split(":")[0]) for line in text if ":" in line}
    except (OSError, ValueError):
        known = set()
    low, high = CHILD_UIDS
    while True:
        uid = low + int.from_bytes(SYSTEM_URANDOM(4), "little") % (high - low)
        if uid not in taken and uid not in known:
            return uid


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SystemExit("could not drop privileges")


class Zygote:
    def __init__(
        self,
        control: socket.socket,
        arena: wire.Arena | None,
        isolated: bool,
        workdir: str,
        own_uid: bool = False,
        child_gid: int | None = None,
    ) -> None:
        self.own_uid = own_uid  # no other process runs as our user: kill(-1) reaches only ours
        self.child_gid = child_gid  # given: each child runs as a uid of its own, with this group
        self.pid_namespace = isolated and own_pid_namespace()
        if isolated and not self.pid_namespace:
            raise SystemExit("told that it runs in a sandbox, but not in bubblewrap's PID namespace")
        if child_gid is not None and (own_uid or not self.pid_namespace or os.getuid() != 0):
            raise SystemExit("a uid per child needs a root zygote in a PID namespace of its own")
        self.control = control
        self.arena = arena
        self.isolated = isolated
        self.workdir = workdir
        self.last_child = 0
        self.uids: set[int] = set()  # the children's, so far
        self.reset = Reset(workdir, isolated, own_uid, child_gid)
        self.reset.start()

    def tell(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())

    def listen(self) -> tuple[dict[str, Any] | None, list[int]]:
        data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 4)
        if not data:
            return None, []
        return json.loads(data), fds

    def run(self) -> None:
        from .child import child_main, warm_gradients  # imports torch: once, here, before the first fork

        while True:
            message, fds = self.listen()
            if message is None:
                return
            if message.get("op") != protocol.FORK or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                continue
            if message.get(protocol.GRADIENTS):
                warm_gradients()
            start = time.perf_counter()
            uid = fresh_uid(self.uids) if self.child_gid is not None else None
            problem = self.reset.check(self.leftovers(), uid)
            check_ms = round((time.perf_counter() - start) * 1000, 2)
            if problem:  # the grader starts a fresh sandbox
                os.close(fds[0])
                self.tell({protocol.UNUSABLE: problem})
                continue
            if uid is not None:
                self.uids.add(uid)
            zygote = os.getpid()
            # the zygote's objects out of the child's collector's sight: a full collection over torch's objects
            # costs 70 ms, and its writes to every object's header copy pages the child would otherwise share;
            # what is garbage is collected first (a fraction of a millisecond: the rest is frozen already), so
            # that a zygote that forks for days keeps no garbage frozen
            gc.collect()
            gc.freeze()
            pid = self.last_child = os.fork()
            if pid == 0:
                limits = {**message.get("limits", {}), "workdir": self.workdir, "parent": zygote}
                if uid is not None:
                    limits.update(uid=uid, gid=self.child_gid)
                child_main(fds[0], self.control.fileno(), self.arena, limits, self.isolated)
            os.close(fds[0])
            self.tell({protocol.FORKED: pid, "check_ms": check_ms})
            status = self.wait(pid, uid)
            start = time.perf_counter()
            self.clean(pid, uid)
            reset_ms = round((time.perf_counter() - start) * 1000, 2)
            self.tell({protocol.EXITED: pid, "status": status, "reset_ms": reset_ms})
            if status is None:  # the grader went away
                return

    def wait(self, pid: int, uid: int | None = None) -> str | None:
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
                    with self.as_child(uid):
                        os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return None
                if message.get("op") == protocol.KILL:
                    with self.as_child(uid):
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

    def clean(self, pid: int, uid: int | None = None) -> None:
        """Kill every process the child (of user ``uid``, with a uid per child) left, and reset what it could write."""
        if self.pid_namespace or self.own_uid:  # our PID namespace, or a user of our own: everything but us goes
            with self.as_child(uid):
                self.kill_all()
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.reap()
        self.reset.reset(uid)

    def as_child(self, uid: int | None) -> contextlib.AbstractContextManager:
        """Signals to a child of user ``uid`` (a uid per child): sent as that user, the effective uid only.

        Root without CAP_KILL: a signal needs the sender's real or effective uid to be the target's
        real or saved one. Our real and saved uids stay 0, so that no child can signal us.
        """
        if uid is None or self.child_gid is None:
            return contextlib.nullcontext()
        return as_user(uid, self.child_gid, real=False)

    def kill_all(self) -> None:
        """kill(-1, SIGKILL) until no process is left that we may signal, reaping as they die.

        Only in our own PID namespace, or as a user of our own in every uid (real, effective, saved):
        a process with uid 0 in any of them reaches every process of root's outside a PID namespace.
        """
        ids = os.getresuid()
        if not (self.pid_namespace or (self.own_uid and ids[0] != 0 and len(set(ids)) == 1)):
            raise RuntimeError(f"kill(-1) refused: no PID namespace of our own, and uids {ids}")
        for _ in range(500):
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                break
            self.reap()
            time.sleep(0.001)

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
            if name.isdigit() and int(name) not in ours and (self.isolated or _uid_of(name) == self.reset.uid):
                found.append(int(name))
        return found


def _uid_of(pid: str) -> int | None:
    """The real uid of a process (from its status: /proc/PID itself is root's when it is not dumpable)."""
    try:
        with open(f"/proc/{pid}/status") as text:
            for line in text:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
