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


def waited(pid: int | None = None) -> float | None:
    """Seconds the thread (this one, or the main thread of host process ``pid``) has waited, runnable, for a
    CPU since it started; None where the kernel does not say."""
    path = "/proc/thread-self/schedstat" if pid is None else f"/proc/{pid}/schedstat"
    try:
        with open(path) as text:
            fields = text.read().split()
        return int(fields[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def sample(pid: int | None) -> tuple[float | None, float | None]:
    """The waits so far of this thread and of the main thread of host process ``pid`` (None: not known)."""
    return waited(), (waited(pid) if pid is not None else None)


def between(before: tuple[float | None, float | None], after: tuple[float | None, float | None]) -> float:
    """Seconds waited, by this thread and the other, from ``before`` to ``after`` (each only where both are known)."""
    total = 0.0
    for start, end in zip(before, after):
        if start is not None and end is not None and end >= start:
            total += end - start
    return total
