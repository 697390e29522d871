"""Putting the sandbox back as it was before a child, and checking that it is usable.

Between two children the zygote removes everything the last one could write: the whole scratch
directory (the work directory's parent: the private ``/tmp`` in bubblewrap), ``/dev/shm``, the
POSIX message queues, the System V shared memory, semaphores and message queues, and the kernel
keyrings a child can write (its session's and its user's). It runs after
every process of the child is gone, so nothing moves while it works; it never follows a symlink
and makes writable what was left without permissions. ``Reset.check`` then says what, if
anything, would make the next child run in a sandbox that is not as the first one was.
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat

IPC_RMID = 0
#: /proc/sysvipc file -> how to remove one of its objects by id
SYSV = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}
PROBE = ".autograder-probe"
#: keyctl(2) has no libc wrapper: its system call number, where known
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR, KEYCTL_READ = 1, 7, 11
SESSION_KEYRING, USER_KEYRING, USER_SESSION_KEYRING = -3, -4, -5


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def sysv_objects(own_uid: int | None) -> list[tuple[str, int]]:
    """(kind, id) of every System V IPC object in our IPC namespace (made by ``own_uid`` if given)."""
    found = []
    for kind in SYSV:
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                header = table.readline().split()
                rows = [line.split() for line in table]
        except OSError:
            continue
        column = header.index("cuid") if "cuid" in header else None
        for row in rows:
            if own_uid is not None and (column is None or int(row[column]) != own_uid):
                continue
            found.append((kind, int(row[1])))
    return found


def remove_sysv(objects: list[tuple[str, int]]) -> None:
    libc = _libc()
    for kind, ident in objects:
        if kind == "sem":
            libc.semctl(ident, 0, IPC_RMID)
        else:
            getattr(libc, SYSV[kind])(ident, IPC_RMID, None)


def keyctl(*args: int) -> int:
    if SYS_KEYCTL is None:
        return -1
    return _libc().syscall(SYS_KEYCTL, *(ctypes.c_long(a) for a in args))


def keys_in(keyring: int) -> int:
    """How many keys ``keyring`` holds (0 when it cannot be read)."""
    size = keyctl(KEYCTL_READ, keyring, 0, 0)
    return max(size, 0) // 4


def empty(path: str, keep: frozenset[str] = frozenset(), owner: int | None = None) -> None:
    """Remove everything below ``path`` (not ``path`` itself), never following a symlink.

    ``keep``: top-level names left alone (the mount points bubblewrap made); ``owner``: remove
    only the top-level entries of that uid (a directory shared with others, such as the host's
    ``/dev/shm``). Other file systems mounted below are not entered. Iterative, on directory
    descriptors: no depth or path length stops it.
    """
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    device = os.fstat(top).st_dev
    stack = [(top, "", set(keep))]  # (open directory, its name in the one below, names to leave)
    try:
        while stack:
            fd, name, leave = stack[-1]
            inner = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.name in leave:
                        continue
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if info.st_dev != device or (fd == top and owner is not None and info.st_uid != owner):
                        leave.add(entry.name)  # a mount point, or someone else's
                    elif stat.S_ISDIR(info.st_mode):
                        inner = entry.name
                        break
                    else:
                        try:
                            os.unlink(entry.name, dir_fd=fd)
                        except OSError:
                            leave.add(entry.name)
            if inner is not None:
                try:
                    sub = _open_writable(inner, fd)
                except OSError:
                    leave.add(inner)
                    continue
                stack.append((sub, inner, set()))
                continue
            stack.pop()
            if stack:
                os.close(fd)
                try:
                    os.rmdir(name, dir_fd=stack[-1][0])
                except OSError:
                    stack[-1][2].add(name)
    finally:
        for fd, _, _ in stack[1:]:
            os.close(fd)
        os.close(top)


def _open_writable(name: str, parent: int) -> int:
    """Open directory ``name`` (in ``parent``) with the rights to empty it, giving them only where missing."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(name, flags, dir_fd=parent)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=parent)  # a directory; nothing runs that could swap it for a link
        return os.open(name, flags, dir_fd=parent)
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
        try:
            os.fchmod(fd, 0o700)
        except OSError:
            os.close(fd)
            raise
    return fd


def used(path: str) -> tuple[int, int]:
    """(bytes, inodes) in use on the file system of ``path``."""
    vfs = os.statvfs(path)
    return (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize, vfs.f_files - vfs.f_ffree


class Reset:
    """Reset and check of one sandbox: ``workdir`` is recreated in its parent, the scratch space."""

    def __init__(self, workdir: str, isolated: bool, own_uid: bool) -> None:
        self.workdir = workdir
        self.scratch = os.path.dirname(workdir)
        self.isolated = isolated  # our own /tmp, /dev/shm and IPC namespace: all of them are the children's
        self.own_uid = own_uid  # no other process runs as our user: what it owns is the children's
        self.uid = os.getuid()
        self.shared = ["/dev/shm", "/dev/mqueue"] if isolated or own_uid else []
        self.keep = frozenset(os.listdir(self.scratch)) - {os.path.basename(workdir)} if isolated else frozenset()
        self.baseline: dict[str, tuple[int, int]] = {}
        # a user's keyrings are the children's alone when the user is (else they are the grader's own)
        self.keyrings = [SESSION_KEYRING] + ([USER_KEYRING, USER_SESSION_KEYRING] if isolated or own_uid else [])

    def start(self) -> None:
        """The first reset; what the file systems hold afterwards is what every later check expects.

        The zygote first joins a session keyring of its own: the one it came with is the grader's.
        """
        if keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 and not (self.isolated or self.own_uid):
            self.keyrings = []  # the session keyring would still be the grader's
        self.reset()
        if self.isolated:
            self.baseline = {path: used(path) for path in (self.scratch, "/dev/shm") if os.path.isdir(path)}

    def reset(self) -> None:
        """Remove what a child may have left, then make the work directory afresh, as our user, empty."""
        owner = None if self.isolated else self.uid
        empty(self.scratch, self.keep)
        for path in self.shared:
            empty(path, owner=owner)
        if self.isolated or self.own_uid:
            remove_sysv(sysv_objects(None if self.isolated else self.uid))
        for keyring in self.keyrings:
            keyctl(KEYCTL_CLEAR, keyring)
        try:
            os.mkdir(self.workdir, 0o700)
            os.chmod(self.workdir, 0o700)
        except OSError:
            pass  # the check says why

    def check(self, processes: list[int]) -> str:
        """Why the sandbox is not usable for the next child ("" when it is); ``processes`` left alive."""
        if processes:
            return f"{len(processes)} process(es) of an earlier child are still running"
        try:
            info = os.lstat(self.workdir)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != self.uid or stat.S_IMODE(info.st_mode) != 0o700:
                return f"the work directory {self.workdir} is not an empty directory of ours"
            if os.listdir(self.workdir):
                return f"the work directory {self.workdir} is not empty"
            probe = os.path.join(self.workdir, PROBE)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as error:
            return f"the work directory {self.workdir} cannot be written: {error.strerror or error}"
        left = set(os.listdir(self.scratch)) - self.keep - {os.path.basename(self.workdir)}
        if left:
            return f"{self.scratch} still holds {len(left)} entries of an earlier child"
        for path, (nbytes, inodes) in self.baseline.items():
            now = used(path)
            if now[0] > nbytes or now[1] > inodes:
                return f"{path} has not got its space back ({now[0] - nbytes} bytes, {now[1] - inodes} files in use)"
        for path in self.shared if self.isolated else ():
            if os.path.isdir(path) and os.listdir(path):
                return f"{path} is not empty"
        objects = sysv_objects(None if self.isolated else self.uid) if self.isolated or self.own_uid else []
        if objects:
            return f"{len(objects)} System V IPC object(s) of an earlier child are left"
        keys = sum(keys_in(keyring) for keyring in self.keyrings)
        if keys:
            return f"{keys} key(s) of an earlier child are left in the keyrings"
        return ""
