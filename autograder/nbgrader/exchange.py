"""``SafeCollect``: nbgrader's collect, taking from the exchange only what a student wrote.

nbgrader's own collect copies a student's inbound folder with ``shutil.copytree``: it follows a link
(to the teacher's source notebooks: collected and graded as the student's work), blocks on a FIFO
and stops for the whole class on one unreadable file or one malformed folder name, and it takes the
student's name from the folder's name, which any student chooses. This one, which the
``nbgrader_config.py`` of ``autograder course init`` names (``c.ExchangeFactory.collect``):

- takes an inbound folder ``<student>+<assignment>+<timestamp>[+<random>]`` only when it is a real
  directory (not a link), its timestamp parses and is not in the future, the student id is a name
  (not empty, ``.`` or ``..``, no ``/`` or control character), and its owner is that student: the
  account of that name when there is one (``pwd``), else the uid that first submitted under that id,
  which the course remembers in ``autograder-submitters.json`` (the teacher's; an id that two uids
  claim before the first collect is collected for neither until the teacher writes the right uid
  there);
- copies, from such a folder, only regular files owned by that same uid, opened without following a
  link anywhere (a link, a FIFO, a device, a socket, a file or folder of someone else is skipped), at
  most ``max_file_bytes`` each, ``max_files`` files and folders in all and ``max_total_bytes``
  together, at most ``max_depth`` folders deep, from folders of at most ``4 * max_files`` names,
  nbgrader's ``CourseDirectory.ignore`` and ``include`` honoured;
- writes ``timestamp.txt`` from the folder's name (the student's own copy is not taken), unless the
  folder or a file collected from it was changed later than that by more than ``changed_after_grace``
  seconds (a name that lies about its time, or a submission edited in the exchange after it was handed
  in, say after the due date): then the time of that change, which the kernel keeps (the inode's
  ctime, which its owner cannot set back), with a warning naming the student;
- warns, naming the student, for each thing it skips, and goes on with the others: one student's
  folder never stops the collect of another.

A folder is copied into a fresh directory beside its destination and renamed into place at the end,
so a half-copied submission is never left in ``submitted/``, and a copy collected before is replaced
(``--update``) only by a complete one. nbgrader's ``check_owner`` warning is off: the rule above holds
whatever it says.
"""

from __future__ import annotations

import datetime
import errno
import fnmatch
import json
import os
import shutil
import stat
import tempfile
from typing import Any

from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import parse_utc
from traitlets import Bool, Integer

SUBMITTERS = "autograder-submitters.json"  # student id -> uid that first submitted under it (the teacher's)
MiB = 1 << 20


def printable(name: object, limit: int = 200) -> str:
    """A name from the exchange, safe to print: no control, escape or format character (each becomes
    U+FFFD), one line, bounded."""
    text = str(name)[: limit + 1]
    text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class Refused(Exception):
    """What collect will not take from a student's folder, and why (in words)."""


class Full(Refused):
    """A submission's bounds are reached: what is left of it is not taken (said once)."""


def student_id_problem(student: str) -> str | None:
    """Why ``student`` cannot name a folder of submitted/ (None: it can)."""
    if student in ("", ".", ".."):
        return "not a name"
    if "/" in student or any(ord(ch) < 32 or ord(ch) == 127 for ch in student):
        return "a '/' or a control character in it"
    return None


def parse_entry(name: str, assignment: str) -> tuple[str, datetime.datetime]:
    """The student and the time of an inbound folder's name, ``<student>+<assignment>+<time>[+<random>]``."""
    for pieces in (name.rsplit("+", 3), name.rsplit("+", 2)):
        if len(pieces) >= 3 and pieces[1] == assignment:
            student, stamp = pieces[0], pieces[2]
            break
    else:
        raise Refused(f"the name {printable(name)!r} is not <student>+{assignment}+<time>+<random>")
    if problem := student_id_problem(student):
        raise Refused(f"the student id {printable(student)!r} is refused: {problem}")
    try:
        when = parse_utc(stamp)
    except (ValueError, OverflowError):
        raise Refused(f"the time {printable(stamp)!r} of {printable(name)!r} is not a time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return student, when


def account_uid(student: str) -> int | None:
    """The uid of the local account named ``student``, or None."""
    import pwd

    try:
        return pwd.getpwnam(student).pw_uid
    except (KeyError, ValueError):
        return None


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, taking only regular files that the submitting student owns (module docstring)."""

    max_file_bytes = Integer(4 * MiB, help="Largest file collect copies (bytes); a larger one is skipped").tag(
        config=True
    )
    max_files = Integer(64, help="Most files collect copies from one submission; the rest are skipped").tag(config=True)
    max_total_bytes = Integer(32 * MiB, help="Most bytes collect copies from one submission").tag(config=True)
    max_depth = Integer(4, help="Deepest folder collect copies from, inside a submission").tag(config=True)
    changed_after_grace = Integer(
        60,
        help="Seconds a submission may change after the time its folder's name gives (nbgrader's submit writes "
        "its files then); a later change is taken as the time it was submitted",
    ).tag(config=True)
    _changed = 0.0  # the latest ctime of the submission being copied (seconds since the epoch)
    check_owner = Bool(False, help="nbgrader's own warning about owners (SafeCollect checks them in any case)").tag(
        config=True
    )

    # -- which folders: one per student, the newest that is theirs ---------------------------------------

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        self.submitters_path = os.path.join(self.coursedir.root, SUBMITTERS)
        self.submitters = self._read_submitters()
        now = datetime.datetime.now(datetime.timezone.utc)
        candidates = [rec for name in sorted(os.listdir(self.inbound_path)) if (rec := self._candidate(name, now))]
        self._claim_new_ids(candidates)
        records = [rec for rec in candidates if self._owned_by_student(rec)]
        self._set_duedate()
        self.src_records = [self._choose(group) for group in groupby(records, lambda r: r["username"]).values()]

    def _candidate(self, name: str, now: datetime.datetime) -> dict[str, Any] | None:
        """The record of inbound folder ``name`` when it is one of this assignment's that collect may take."""
        wanted = self.coursedir.student_id or "*"
        if not fnmatch.fnmatchcase(name, f"{wanted}+{self.coursedir.assignment_id}+*"):
            return None
        try:
            student, when = parse_entry(name, self.coursedir.assignment_id)
            if wanted != "*" and student != wanted:
                return None
            if when > now:
                raise Refused(f"its time {when:%Y-%m-%d %H:%M:%S %Z} is in the future")
            info = os.lstat(os.path.join(self.inbound_path, name))
            if not stat.S_ISDIR(info.st_mode):
                raise Refused("it is not a folder (a link, a file or a special file)")
        except (Refused, OSError) as error:
            self.log.warning("Skipping %s in the exchange: %s", printable(name), _reason(error))
            return None
        return {"username": student, "filename": name, "timestamp": when, "uid": info.st_uid}

    def _claim_new_ids(self, records: list[dict[str, Any]]) -> None:
        """Remember, for each id without an account seen for the first time, the uid that submitted under it."""
        changed = False
        for student, group in groupby(records, lambda r: r["username"]).items():
            if account_uid(student) is not None or student in self.submitters:
                continue
            uids = sorted({rec["uid"] for rec in group})
            if len(uids) == 1:
                self.submitters[student] = uids[0]
                changed = True
            else:
                self.log.warning(
                    "Skipping every submission of %s: uids %s each submitted under that id; write the right uid "
                    "for it in %s to collect theirs",
                    printable(student),
                    ", ".join(map(str, uids)),
                    self.submitters_path,
                )
        if changed:
            self._write_submitters()

    def _owned_by_student(self, rec: dict[str, Any]) -> bool:
        student = rec["username"]
        uid = account_uid(student)
        expected = uid if uid is not None else self.submitters.get(student)
        if expected is None:
            return False  # claimed by several uids: warned above
        if rec["uid"] != expected:
            self.log.warning(
                "Skipping %s in the exchange: it claims to be %s's but belongs to uid %d (%s is uid %d)",
                printable(rec["filename"]),
                printable(student),
                rec["uid"],
                printable(student),
                expected,
            )
            return False
        return True

    def _set_duedate(self) -> None:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None

    def _choose(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """nbgrader's choice among one student's folders: the newest (before the due date, if asked)."""
        newest = self._sort_by_timestamp(records)
        if self.duedate is not None and self.before_duedate:
            due = self.duedate if self.duedate.tzinfo else self.duedate.replace(tzinfo=datetime.timezone.utc)
            before = [rec for rec in newest if rec["timestamp"] <= due]
            return before[0] if before else newest[0]
        return newest[0]

    def _read_submitters(self) -> dict[str, int]:
        try:
            with open(self.submitters_path) as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            self.fail(f"cannot read {self.submitters_path}: {error}")
        return {str(k): int(v) for k, v in data.items()}

    def _write_submitters(self) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.coursedir.root, prefix=f".{SUBMITTERS}.")
        with os.fdopen(fd, "w") as f:  # mkstemp: mode 0600
            json.dump(self.submitters, f, indent=1, sort_keys=True)
        os.replace(temporary, self.submitters_path)

    # -- copying one folder ----------------------------------------------------------------------------

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        """Copy what ``src`` (one student's inbound folder) holds that the student wrote into ``dest``,
        which must not exist: through a fresh folder beside it, renamed into place when complete."""
        rec = self._current
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=".collect-")
        try:
            os.chmod(staging, 0o755)
            top = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                if os.fstat(top).st_uid != rec["uid"]:
                    raise Refused("its folder was replaced while collect ran")
                budget = {"files": self.max_files, "bytes": self.max_total_bytes}
                self._changed = os.fstat(top).st_ctime
                self._copy_dir(top, staging, rec["uid"], printable(rec["username"]), "", budget)
            finally:
                os.close(top)
            with open(os.path.join(staging, "timestamp.txt"), "w") as f:
                f.write(self._submitted_at(rec).strftime(self.timestamp_format))
            if os.path.lexists(dest):
                shutil.rmtree(dest)  # an older copy of this student's submission, replaced (collect --update)
            os.replace(staging, dest)
        finally:
            if os.path.lexists(staging):
                shutil.rmtree(staging)

    def _copy_dir(self, fd: int, dest: str, uid: int, student: str, where: str, budget: dict[str, int]) -> None:
        """Copy the regular files of uid ``uid`` from the open folder ``fd`` (``where`` in the submission)."""
        names = sorted(self._names(fd))
        ignored = set(self._ignored(names))
        for name in names:
            inside = os.path.join(where, name)
            if name in ignored or inside == "timestamp.txt":
                continue
            try:
                info = os.lstat(name, dir_fd=fd)
                if info.st_uid != uid:
                    raise Refused(f"it belongs to uid {info.st_uid}, not to the student (uid {uid})")
                if not stat.S_ISDIR(info.st_mode):
                    self._copy_file(fd, name, os.path.join(dest, name), uid, info, budget)
                    continue
                if inside.count(os.sep) + 1 > self.max_depth:
                    raise Refused(f"a folder more than {self.max_depth} levels deep")
                self._spend(budget, 0)
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                try:
                    self._changed = max(self._changed, os.fstat(sub).st_ctime)
                    os.mkdir(os.path.join(dest, name), 0o755)
                    self._copy_dir(sub, os.path.join(dest, name), uid, student, inside, budget)
                finally:
                    os.close(sub)
            except (Refused, OSError) as error:
                if isinstance(error, Full):
                    if budget.get("full"):
                        continue  # said once
                    budget["full"] = 1
                self.log.warning(
                    "Not collected from %s's submission: %s: %s", student, printable(inside), _reason(error)
                )

    def _submitted_at(self, rec: dict[str, Any]) -> datetime.datetime:
        """When the submission in ``rec`` was handed in: its name's time, or its last change when that is
        more than ``changed_after_grace`` seconds later (warned)."""
        named: datetime.datetime = rec["timestamp"]
        changed = datetime.datetime.fromtimestamp(self._changed, datetime.timezone.utc)
        if changed - named <= datetime.timedelta(seconds=self.changed_after_grace):
            return named
        self.log.warning(
            "%s's submission %s was changed at %s, after the time its name gives (%s): collected as handed in then",
            printable(rec["username"]),
            printable(rec["filename"]),
            f"{changed:%Y-%m-%d %H:%M:%S %Z}",
            f"{named:%Y-%m-%d %H:%M:%S %Z}",
        )
        return changed

    def _names(self, fd: int) -> list[str]:
        """The names in the open folder ``fd``: at most four times ``max_files`` of them, else Refused."""
        names: list[str] = []
        with os.scandir(fd) as entries:
            for entry in entries:
                if len(names) >= 4 * self.max_files:
                    raise Refused(f"more than {4 * self.max_files} names in one folder")
                names.append(entry.name)
        return names

    def _spend(self, budget: dict[str, int], size: int) -> None:
        """Count one more file or folder of ``size`` bytes against the submission's bounds, or raise Full."""
        if budget["files"] <= 0:
            raise Full(f"more than {self.max_files} files and folders in one submission: the rest is not collected")
        if size > budget["bytes"]:
            raise Full(f"more than {self.max_total_bytes} bytes in one submission: the rest is not collected")
        budget["files"] -= 1
        budget["bytes"] -= size

    def _copy_file(self, fd: int, name: str, dest: str, uid: int, info: os.stat_result, budget: dict[str, int]) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not a regular file (a link, a FIFO, a device or a socket)")
        if info.st_size > self.max_file_bytes:
            raise Refused(f"{info.st_size} bytes, more than {self.max_file_bytes} for one file")
        self._spend(budget, info.st_size)
        # O_NOFOLLOW: a link swapped in is not opened; O_NONBLOCK: a FIFO swapped in does not block
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        try:
            opened = os.fstat(src)
            if not stat.S_ISREG(opened.st_mode) or opened.st_uid != uid or opened.st_ino != info.st_ino:
                raise Refused("it was replaced while collect ran")
            data = _read_at_most(src, info.st_size + 1)
        finally:
            os.close(src)
        if len(data) > info.st_size:
            raise Refused("it grew while collect ran")
        self._changed = max(self._changed, opened.st_ctime)
        with open(dest, "xb") as out:
            out.write(data)

    def _ignored(self, names: list[str]) -> list[str]:
        exclude, include = self.coursedir.ignore, self.coursedir.include
        return [
            n
            for n in names
            if any(fnmatch.fnmatch(n, g) for g in exclude)
            or (include and not any(fnmatch.fnmatch(n, g) for g in include))
        ]

    def copy_files(self) -> None:
        """nbgrader's collect, one student at a time: what fails for one is warned and the others go on.
        A submission collected before is replaced only when nbgrader would (``--update``, ``--before-duedate``),
        and only once the new copy is complete."""
        assignment = self.coursedir.assignment_id
        if not self.src_records:
            self.log.warning(f"No submissions of '{assignment}' for course '{self.coursedir.course_id}' to collect")
        for rec in self.src_records:
            self._current = rec
            student = printable(rec["username"])
            src = os.path.join(self.inbound_path, rec["filename"])
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, rec["username"], assignment)
            try:
                if os.path.isdir(dest) and not self._replaces(dest, rec):
                    self.log.info(f"Submission already collected (--update to replace it): {student} {assignment}")
                    continue
                self.log.info(f"Collecting submission: {student} {assignment}")
                self.do_copy(src, dest)
            except (Refused, OSError, ExchangeError) as error:
                self.log.warning(
                    "Not collected: %s's submission %s: %s", student, printable(rec["filename"]), _reason(error)
                )

    def _replaces(self, dest: str, rec: dict[str, Any]) -> bool:
        """nbgrader's rule: does this folder replace the copy already in ``dest``?"""
        existing = self.coursedir.get_existing_timestamp(dest)
        if existing is not None and existing.tzinfo is None:
            existing = existing.replace(tzinfo=datetime.timezone.utc)
        if self.update and (existing is None or rec["timestamp"] > existing):
            return True
        return bool(self.before_duedate and existing != rec["timestamp"])


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return {errno.ELOOP: "a link"}.get(error.errno or 0, error.strerror or str(error))
    return printable(str(error))


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
