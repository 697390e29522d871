"""Putting the sandbox back as it was before a child, and checking that it is usable.

Between two children the zygote removes everything the last one could write: the whole scratch
directory (the work directory's parent: the private ``/tmp`` in bubblewrap), ``/dev/shm``, the
POSIX message queues, the System V shared memory, semaphores and message queues, and the kernel
keyrings a child can write (its session's, its user's, its user-session and persistent keyrings).
It runs after every process of the child is gone, so nothing moves while it works; it never
follows a symlink and makes writable what was left without permissions. ``Reset.check`` then says
what, if anything, would make the next child run in a sandbox that is not as the first one was.

In bubblewrap as root every child runs as a user of its own, a uid never used before
(``per_child``): what one child leaves that is its user's (keyrings, the persistent one included,
processes, files, IPC objects) is out of reach of every later child by construction, and the
reset, done as that user (``as_user``) once none of its processes is left, removes it from the
machine too. Otherwise the children's user is the zygote's: the reset clears its keyrings and,
where that user is the sandbox's alone, invalidates them, so that none outlives the batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import stat
from collections.abc import Iterator

IPC_RMID = 0
#: /proc/sysvipc file -> how to remove one of its objects by id
SYSV = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}
PROBE = ".autograder-probe"
#: keyctl(2) has no libc wrapper: its system call number, where known
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR, KEYCTL_READ = 0, 1, 7, 11
KEYCTL_INVALIDATE, KEYCTL_GET_PERSISTENT = 21, 22
SESSION_KEYRING, USER_KEYRING, USER_SESSION_KEYRING = -3, -4, -5


@contextlib.contextmanager
def as_user(uid: int, gid: int, real: bool = True) -> Iterator[None]:
    """Run as ``uid``:``gid`` (the effective ids; the real ones too if ``real``), root again afterwards.

    For a zygote that is root with CAP_SETUID and CAP_SETGID: the saved uid stays 0, so the
    capabilities come back. With ``real=False`` no process of ``uid`` can signal this one (a
    signal needs the sender's uid to be the target's real or saved one).
    """
    os.setresgid(gid, gid, 0)
    os.setresuid(uid if real else 0, uid, 0)
    try:
        yield
    finally:
        os.setresuid(0, 0, 0)
        os.setresgid(0, 0, 0)


def forget_keys() -> None:
    """Clear and invalidate the keyrings of the real user: its user, user-session and persistent keyrings.

    Their ids first: a lookup of one makes the other afresh if it was invalidated. The persistent
    keyring is linked into our session keyring, so that we possess it (its user may only view and
    read it). Invalidated, they are freed by the kernel's garbage collector; a later lookup makes
    them afresh, empty.
    """
    keyrings = [keyctl(KEYCTL_GET_KEYRING_ID, keyring, 1) for keyring in (USER_KEYRING, USER_SESSION_KEYRING)]
    keyrings.append(keyctl(KEYCTL_GET_PERSISTENT, -1, SESSION_KEYRING))
    for keyring in keyrings:
        if keyring != -1:
            keyctl(KEYCTL_CLEAR, keyring)
            keyctl(KEYCTL_INVALIDATE, keyring)


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
    """Reset and check of one sandbox: ``workdir`` is recreated in its parent, the scratch space.

    ``child_gid`` given (the zygote is root): every child has a uid of its own and that group; the
    reset after a child runs as its uid, and the work directory is made, as the next child's uid,
    by the check before it. Else every child runs as the zygote's user.
    """

    def __init__(self, workdir: str, isolated: bool, own_uid: bool = False, child_gid: int | None = None) -> None:
        self.workdir = workdir
        self.scratch = os.path.dirname(workdir)
        self.isolated = isolated  # our own /tmp, /dev/shm and IPC namespace: all of them are the children's
        self.own_uid = own_uid  # no other process runs as our user: what it owns is the children's
        self.per_child = child_gid is not None  # (in bubblewrap only, as root)
        self.gid = child_gid if child_gid is not None else os.getgid()
        self.uid = os.getuid()  # the user of the children (of the last one, with a uid per child)
        # where a child may leave files: ours in a sandbox; the machine's, with a user of our own (its entries)
        self.shared = ["/dev/shm", "/dev/mqueue"] if isolated else ["/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue"]
        self.shared = self.shared if isolated or own_uid else []
        self.keep = frozenset(os.listdir(self.scratch)) - {os.path.basename(workdir)} if isolated else frozenset()
        self.baseline: dict[str, tuple[int, int]] = {}
        # the keyrings that the check looks into: our session keyring (a child joins one of its own)
        self.keyrings = [SESSION_KEYRING]
        # a user's keyrings (user, user-session, persistent: it lives for days) are the children's alone when the
        # user is (else they are the grader's own): each reset invalidates them, so that nothing is left in them,
        # nor of them after the batch. With a uid per child, the zygote's user is root's on the machine: the
        # reset after a child forgets that child's user's keyrings instead
        self.forget = (isolated or own_uid) and not self.per_child

    def start(self) -> None:
        """The first reset; what the file systems hold afterwards is what every later check expects.

        The zygote first joins a session keyring of its own: the one it came with is the grader's.
        """
        if keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 and not (self.isolated or self.own_uid):
            self.keyrings = []  # the session keyring would still be the grader's
        self.reset(None)
        if self.isolated:
            self.baseline = {path: used(path) for path in (self.scratch, "/dev/shm") if os.path.isdir(path)}

    def reset(self, uid: int | None = None) -> None:
        """Remove what a child (of user ``uid``, with a uid per child) may have left.

        Without a uid per child, the work directory is then made afresh, as our user, empty; with one,
        the check before the next child makes it, as that child's user.
        """
        if uid is not None:
            with as_user(uid, self.gid):  # nothing of that user runs any more: it is gone for good
                self._remove(None)
                forget_keys()
        elif self.per_child:  # the first reset: everything in the sandbox is the children's
            self._remove(None)
        else:
            self._remove(None if self.isolated else self.uid)
        if self.forget:
            forget_keys()
        for keyring in self.keyrings:
            keyctl(KEYCTL_CLEAR, keyring)
        if not self.per_child:
            try:
                os.mkdir(self.workdir, 0o700)
                os.chmod(self.workdir, 0o700)
            except OSError:
                pass  # the check says why

    def _remove(self, owner: int | None) -> None:
        """Empty the scratch directory, and remove the entries of ``/dev/shm`` and ``/dev/mqueue`` and
        the System V objects of ``owner`` (all of them, in a sandbox of our own: ``None``)."""
        empty(self.scratch, self.keep)
        for path in self.shared:
            empty(path, owner=owner)
        if self.isolated or self.own_uid:
            remove_sysv(sysv_objects(owner))

    def check(self, processes: list[int], uid: int | None = None) -> str:
        """Why the sandbox is not usable for the next child ("" when it is); ``processes`` left alive.

        With a uid per child, ``uid`` is the next child's: its work directory is made here, as that user.
        """
        if processes:
            return f"{len(processes)} process(es) of an earlier child are still running"
        if not self.per_child:
            return self._check_workdir() or self._check_rest()
        assert uid is not None, "a uid per child: the check needs the next one"
        problem = self._check_rest()
        if problem:
            return problem
        self.uid = uid
        with as_user(uid, self.gid, real=False):
            try:
                os.mkdir(self.workdir, 0o700)
            except OSError as error:
                return f"the work directory {self.workdir} cannot be made: {error.strerror or error}"
            return self._check_workdir()

    def _check_workdir(self) -> str:
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
        return ""

    def _check_rest(self) -> str:
        """What an earlier child may have left, but for the work directory (before it is made, with a uid per child)."""
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
