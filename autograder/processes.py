"""The processes a grading run starts, and their orphans: adopt them, end them, reap them.

bubblewrap's outer process exits as soon as it has read the sandbox's exit status, and leaves its
inner process (the sandbox's PID 1) to whoever adopts orphans; a job that is killed leaves its
sandbox the same way. A process inside ``Reaper`` is a child subreaper (``prctl``): such orphans
come to it, and it ends and reaps them when the block ends. Nothing the block started outlives it,
as a live process or a defunct one.

A process killed outright (SIGKILL) runs no such block. What it started must then end by itself:
a grading job holds the read end of a ``lifeline`` whose only write end is its parent's, and ends,
with its sandboxes, when that pipe reports the end of file: the parent is gone, however it ended,
even before the job started to watch (``die_with_parent``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path

PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
MAX_ROUNDS = 100  # a process that keeps starting children while it is killed: give up, never hang


def children() -> dict[int, tuple[str, str, bytes]]:
    """This process's children: pid -> (state, command name, command line); ``Z`` is a defunct one."""
    me, found = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if int(rest[1]) == me:
            found[int(entry)] = (rest[0], name, cmdline)
    return found


def is_sandbox(info: tuple[str, str, bytes]) -> bool:
    """A sandbox's process, or a defunct one (an orphan this process adopted: nothing to kill, only to reap)."""
    state, name, cmdline = info
    return state == "Z" or name == "bwrap" or b"sandbox.inside" in cmdline


def _subreaper(on: bool | None = None) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    if on is not None:
        libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)
    flag = ctypes.c_int(0)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    return bool(flag.value)


class Reaper:
    """While inside, adopt orphans; at the end, kill and reap the children started inside.

    With ``everything`` (a grading job, whose only children are its sandboxes) every new child is
    ended; otherwise (the grader's own process, which may have children of its caller's) only
    sandbox processes and defunct ones. Children that were there before are never touched.
    """

    def __init__(self, everything: bool = False) -> None:
        self.everything = everything
        self.before: set[int] = set()
        self.was_subreaper = False

    def __enter__(self) -> Reaper:
        self.was_subreaper = _subreaper()
        _subreaper(True)
        self.before = set(children())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.reap()
        finally:
            if not self.was_subreaper:
                _subreaper(False)

    def reap(self) -> list[int]:
        """End and reap the children started since ``__enter__`` (and what they leave behind); their pids."""
        reaped: list[int] = []
        for _ in range(MAX_ROUNDS):
            found = [
                pid
                for pid, info in children().items()
                if pid not in self.before and (self.everything or is_sandbox(info))
            ]
            if not found:
                break
            for pid in found:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                try:
                    os.waitpid(pid, 0)  # the orphans it had come to us meanwhile: the next round has them
                except ChildProcessError:  # reaped by its owner meanwhile
                    continue
                reaped.append(pid)
        return reaped


def die_with_parent(lifeline: Connection) -> None:
    """End this process, and kill its children, as soon as nothing holds the write end of ``lifeline`` any more.

    The parent keeps the only write end (not inheritable, never passed on), so the end of file means
    that the parent has ended, whether it exited or was killed. Watched from a thread of its own.
    """

    def watch() -> None:
        try:
            while True:
                lifeline.recv_bytes()  # nothing is ever sent: only the end of file ends this
        except (EOFError, OSError):
            pass
        for pid in children():  # a job's children are its sandboxes: they end with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        os._exit(70)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
