"""The processes a test started, and those of them that outlive what it killed.

A process is the test's when it descends from a process the test started (its ancestry, taken while
that process runs), or when its command line or environment holds the test's own marker: a unique
temporary folder (every sandbox names its runtime folder, made under ``TMPDIR``) or an environment
variable. Only such processes are ever signalled, one pid at a time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

#: How long the processes of a killed grader may take to end (they end at once: PR_SET_PDEATHSIG, an
#: end of file); a bound that only a process that never ends reaches.
GRACE_S = 60.0


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of ``pid``, or None when it has ended (a defunct one has ended too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """The live descendants of ``root``: pid -> start time (which tells a pid reused later apart)."""
    parents: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat(int(entry))) is not None:
            parents.setdefault(info[0], []).append(int(entry))
            started[int(entry)] = info[1]
    found: dict[int, str] = {}
    level = [root]
    while level:
        level = [child for pid in level for child in parents.get(pid, []) if child in started]
        found.update((pid, started[pid]) for pid in level)
    return found


def marked(marker: str) -> dict[int, str]:
    """Live processes whose command line or (readable) environment holds ``marker``."""
    found: dict[int, str] = {}
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        text = b""
        for name in ("cmdline", "environ"):
            with contextlib.suppress(OSError):
                text += Path(f"/proc/{entry}/{name}").read_bytes()
        if needle in text and (info := _stat(int(entry))) is not None:
            found[int(entry)] = info[1]
    return found


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` (pid -> start time) still running: same pid, same start time."""
    return {pid: start for pid, start in processes.items() if (info := _stat(pid)) is not None and info[1] == start}


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return "(ended)"


def survivors(before: dict[int, str], marker: str | None) -> dict[int, str]:
    """Wait (at most ``GRACE_S``) until none of ``before`` nor any process holding ``marker`` runs; what still runs.

    What still runs at the end is killed (each is the test's: a descendant it saw, or one with its marker)
    and returned, with its command line, so that the test fails naming it and leaves nothing behind.
    """
    deadline = time.monotonic() + GRACE_S
    while True:
        left = {**alive(before), **(marked(marker) if marker else {})}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    named = {pid: command(pid) for pid in left}
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return named
