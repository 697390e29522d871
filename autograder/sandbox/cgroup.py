"""The children's cgroup: a memory limit that counts all memory, no swap, and a pids limit.

A zygote's children run one at a time; each joins the zygote's cgroup, made below the grader's
own cgroups (found in ``/proc/self/cgroup`` and ``/proc/self/mountinfo``) before the child runs
any student code. Anonymous memory, shared mappings, memfd, System V segments and tmpfs files
all count: a child that touches more is killed by the cgroup's OOM killer, and the OOM count
says so. cgroup v1 (``memory.limit_in_bytes``, ``memory.memsw.limit_in_bytes``) and v2
(``memory.max``, ``memory.swap.max``). Where none can be made, ``CgroupUnavailable`` says why.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass


class CgroupUnavailable(Exception):
    """No cgroup can be made here; the message says why."""


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root in the hierarchy, file system type, super options) of the cgroup mounts."""
    found = []
    with open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            if "-" not in fields:
                continue
            dash = fields.index("-")
            kind = fields[dash + 1]
            if kind in ("cgroup", "cgroup2"):
                options = set(fields[dash + 3].split(",")) if len(fields) > dash + 3 else set()
                found.append((fields[4].replace("\\040", " "), fields[3], kind, options))
    return found


def _own() -> dict[str, str]:
    """The grader's own cgroup in each hierarchy: controller (or "" for cgroup v2) -> path."""
    own = {}
    with open("/proc/self/cgroup") as table:
        for line in table:
            _number, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                own[name] = path
    return own


def _directory(controller: str) -> str:
    """The directory of the grader's own cgroup for ``controller`` ("" for the v2 hierarchy)."""
    path = _own().get(controller)
    if path is None:
        raise CgroupUnavailable(f"this process is in no {controller or 'cgroup v2'} hierarchy")
    for point, root, kind, options in _mounts():
        if (
            (kind == "cgroup2") == (controller == "")
            and (not controller or controller in options)
            and (path == root or path.startswith(root.rstrip("/") + "/"))
        ):
            return os.path.join(point, os.path.relpath(path, root))
    raise CgroupUnavailable(f"the {controller or 'cgroup v2'} hierarchy is not mounted here")


def _write(path: str, value: str) -> None:
    with open(path, "w") as out:
        out.write(value)


def _read(path: str) -> str:
    with open(path) as text:
        return text.read()


@dataclass
class Cgroup:
    """The cgroup(s) the children of one zygote join: ``dirs`` (v1: memory and pids; v2: one)."""

    version: int
    dirs: list[str]
    memory: int
    processes: int
    swap: bool  # swap is limited too (v1 memsw accounting, or v2 memory.swap.max)

    @classmethod
    def create(cls, name: str, memory: int, processes: int) -> Cgroup:
        """Make the cgroup ``name`` below ours with the limits; CgroupUnavailable if it cannot be made."""
        if "memory" in _own():
            return cls._create_v1(name, memory, processes)
        return cls._create_v2(name, memory, processes)

    @classmethod
    def _create_v1(cls, name: str, memory: int, processes: int) -> Cgroup:
        made: list[str] = []
        try:
            for controller in ("memory", "pids"):
                parent = _directory(controller)
                _remove_stale(parent, name)
                path = os.path.join(parent, name)
                os.mkdir(path)
                made.append(path)
            memory_dir, pids_dir = made
            _write(os.path.join(memory_dir, "memory.limit_in_bytes"), str(memory))
            swap = os.path.exists(os.path.join(memory_dir, "memory.memsw.limit_in_bytes"))
            if swap:
                _write(os.path.join(memory_dir, "memory.memsw.limit_in_bytes"), str(memory))
            _write(os.path.join(pids_dir, "pids.max"), str(processes))
        except (OSError, CgroupUnavailable) as error:
            for path in made:
                _rmdir(path)
            raise CgroupUnavailable(_reason(error)) from None
        return cls(1, made, memory, processes, swap)

    @classmethod
    def _create_v2(cls, name: str, memory: int, processes: int) -> Cgroup:
        path = ""
        try:
            parent = _directory("")
            wanted = {"memory", "pids"}
            if not wanted <= set(_read(os.path.join(parent, "cgroup.controllers")).split()):
                raise CgroupUnavailable(f"the memory and pids controllers are not available in {parent}")
            if not wanted <= set(_read(os.path.join(parent, "cgroup.subtree_control")).split()):
                _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
            _remove_stale(parent, name)
            path = os.path.join(parent, name)
            os.mkdir(path)
            _write(os.path.join(path, "memory.max"), str(memory))
            swap = os.path.exists(os.path.join(path, "memory.swap.max"))
            if swap:
                _write(os.path.join(path, "memory.swap.max"), "0")
            _write(os.path.join(path, "pids.max"), str(processes))
        except (OSError, CgroupUnavailable) as error:
            if path:
                _rmdir(path)
            raise CgroupUnavailable(_reason(error)) from None
        return cls(2, [path], memory, processes, swap)

    @property
    def label(self) -> str:
        swap = "no swap" if self.swap else "swap not counted"
        return f"cgroup v{self.version} ({self.memory / 2**30:g} GiB of all memory, {swap}, {self.processes} processes)"

    def add(self, pid: int) -> None:
        """Move process ``pid`` (of this machine's PID namespace) into the cgroup."""
        for path in self.dirs:
            _write(os.path.join(path, "cgroup.procs"), str(pid))

    def oom_kills(self) -> int:
        """How many processes the cgroup's OOM killer has killed so far."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in _read(os.path.join(self.dirs[0], name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        for path in self.dirs:
            _rmdir(path)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror or error}: {error.filename}"
    return str(error)


def _rmdir(path: str) -> None:
    for _ in range(200):  # killed processes leave the cgroup a moment after the signal
        try:
            for pid in _read(os.path.join(path, "cgroup.procs")).split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def _remove_stale(parent: str, name: str) -> None:
    """Remove the cgroups of graders that died without removing theirs (``autograder-PID-N``)."""
    prefix = name.split("-", 2)[0] + "-"
    for entry in os.listdir(parent):
        if entry.startswith(prefix) and entry.count("-") == 2 and entry.split("-")[1].isdigit():
            pid = int(entry.split("-")[1])
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(parent, entry))
            except PermissionError:
                pass
