"""How long a thread waited, runnable, for a CPU: the kernel's count (``/proc/<pid>/schedstat``).

A speed check times the student's call by the wall clock around its round trip to the child, and the
reference by the wall clock around its call in the job. On a machine whose cores are all busy (other
gradings, other users) both clocks run on while the thread that does the work waits for a core, and
a call of one millisecond can take tens: the same code would then fail on a busy machine and pass on
a quiet one. The grader therefore takes off the time the kernel counts as spent runnable but waiting:
the job's own thread's (read by the job for itself), and the child's main thread's (read by the job,
in ``/proc``, for the host pid it found among the zygote's children itself: nothing the child says).

What is taken off cannot make a call look faster than it runs alone: a thread that blocks (waiting
for another thread, a process or a device) is not runnable, and that time stays counted; only the
time the measured thread could have run and did not is taken off. Where the kernel keeps no such
count (no ``schedstat``), or the child's pid is not known, nothing is taken off.
"""

from __future__ import annotations

import os
import threading


class Waits:
    """The count of one thread, its file kept open: each reading is one ``pread`` (a microsecond), not an open,
    a read and a close (a dozen; four readings per round trip to a child). The file stands for the thread it
    was opened for: once that thread is gone, readings are None, even if its pid is given to another process."""

    def __init__(self, path: str) -> None:
        try:
            self.fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = None

    def waited(self) -> float | None:
        """Seconds the thread has waited, runnable, for a CPU since it started; None where not known."""
        if self.fd is None:
            return None
        try:
            return int(os.pread(self.fd, 128, 0).split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    __del__ = close  # (a thread's own, when the thread ends)


_own = threading.local()  # each thread's own Waits


def waited(pid: int | None = None) -> float | None:
    """Seconds the thread (this one, or the main thread of host process ``pid``) has waited, runnable, for a
    CPU since it started; None where the kernel does not say."""
    if pid is not None:
        other = Waits(f"/proc/{pid}/schedstat")
        try:
            return other.waited()
        finally:
            other.close()
    own = getattr(_own, "waits", None)
    if own is None:
        own = _own.waits = Waits("/proc/thread-self/schedstat")
    return own.waited()


def sample(other: Waits | None) -> tuple[float | None, float | None]:
    """The waits so far of this thread and of ``other``'s thread (None: not known)."""
    return waited(), (other.waited() if other is not None else None)


def between(before: tuple[float | None, float | None], after: tuple[float | None, float | None]) -> float:
    """Seconds waited, by this thread and the other, from ``before`` to ``after`` (each only where both are known)."""
    total = 0.0
    for start, end in zip(before, after):
        if start is not None and end is not None and end >= start:
            total += end - start
    return total
