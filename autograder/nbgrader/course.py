"""``autograder course init`` and ``course check``: an nbgrader course whose grade cells the hidden suites
score, set up so that no other local user (a student) can read what is the teacher's or change the exchange.

The rules, for a course directory COURSE and its exchange EXCHANGE (the teacher: the user running them):

- COURSE is the teacher's, mode 0700: the solutions (source/), the gradebook, the submissions, the
  feedback and the records are out of other users' reach, whatever modes nbgrader gives them later.
- EXCHANGE is outside COURSE (default: the folder ``COURSE-exchange`` beside it), the teacher's (or
  root's), mode 1777: every student can create entries in it (nbgrader checks that it is writable),
  none can rename or delete another's (sticky bit). Its course folder, ``EXCHANGE/<course_id>/``, is
  made by ``init`` with nbgrader's own modes, ``inbound/`` stricter: 0755, ``outbound/`` 0755,
  ``inbound/`` 3733 (nbgrader's 2733 plus the sticky bit: no student removes or renames another's
  submission), ``feedback/`` 0711.
- Every directory that leads to COURSE or to EXCHANGE belongs to root or the teacher, and one that
  other users can write has the sticky bit (as ``/tmp``): else a student could rename a folder on
  the way and put their own in its place.

An exchange inside COURSE is allowed only with ``exchange_in_course``: COURSE stays 0700, so only the
teacher's own user reaches that exchange (a trial run, ``make demo``, whose students are all that user).
"""

from __future__ import annotations

import ast
import os
import re
import stat
from pathlib import Path

from autograder.nbgrader.exchange import printable
from autograder.nbgrader.notebooks import ASSIGNMENT, write_sources
from autograder.options import config_lines

SAFE_COLLECT = "autograder.nbgrader.exchange.SafeCollect"
# {exchange!r} is filled in by config_text
CONFIG = f'''\
# nbgrader configuration, written by `autograder course init`.
# The hidden suites score each notebook's grade cell during `nbgrader autograde`; student code runs
# only in the autograder's sandbox (never in a Jupyter kernel), so it cannot reach this directory.
import warnings

from sqlalchemy.exc import SAWarning

from autograder.nbgrader.bridge import use_hidden_suites

# nbgrader 0.9's gradebook code makes SQLAlchemy 2 (2.0 and 2.1 alike) warn "Object of type <...> not in
# session" while it adds students and submissions itself: harmless, and kept out of autograde's output
warnings.filterwarnings("ignore", "Object of type <[^>]+> not in session", SAWarning)

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{ASSIGNMENT}"
# release_assignment, collect and release_feedback go through this directory; the students'
# nbgrader configuration names it too (with the same course_id)
c.Exchange.root = {{exchange!r}}
# collect copies only what a student wrote: regular files they own, no link followed, bounded in size;
# a submission folder is collected for a student only when its owner is that student
c.ExchangeFactory.collect = {SAFE_COLLECT!r}
# zip_collect reads Canvas, Moodle and Blackboard downloads (downloaded/<assignment>/archive/), within bounds,
# one student per id, each notebook named by the part its cells say
c.ZipCollectApp.extractor_plugin = "autograder.nbgrader.lms.SafeExtractor"
c.ZipCollectApp.collector_plugin = "autograder.nbgrader.lms.LmsCollector"
use_hidden_suites(c)

# Options of the hidden suites (defaults shown):
{chr(10).join(config_lines())}
'''


# What a student's nbgrader needs to fetch, submit and fetch feedback ({exchange!r} filled in):
# their nbgrader_config.py (on a hub: /etc/jupyter/nbgrader_config.py) says it.
STUDENT_CONFIG = f'''\
# nbgrader configuration for the students of this course, written by `autograder course init`.
import os

from nbgrader.exchange.default import ExchangeSubmit


class CourseSubmit(ExchangeSubmit):
    """nbgrader's submit, except that the folder it leaves in the exchange is yours to change and the
    course's group's to read (nbgrader's own lets every user who learns its name change it)."""

    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o750)


c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{ASSIGNMENT}"
c.Exchange.root = {{exchange!r}}
c.ExchangeFactory.submit = CourseSubmit
'''
STUDENT_CONFIG_NAME = "student_nbgrader_config.py"
COURSE_MODE = 0o700  # the course: the teacher's alone
EXCHANGE_MODE = 0o1777  # the exchange root: nbgrader wants it writable to all; sticky: no one renames another's entry
# The exchange's course folder, as nbgrader's release_assignment and release_feedback make them, inbound sticky
EXCHANGE_FOLDERS = {"": 0o755, "outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}
# What nbgrader and the autograder keep in a course: the teacher's, never another user's to read
TEACHERS = (
    "nbgrader_config.py",
    "source",
    "release",
    "submitted",
    "autograded",
    "feedback",
    "gradebook.db",
    ".autograder-service",  # the socket of the course's warm grading service (autograder serve --course)
    "autograder-records",  # the records as files, before the gradebook's table took them (records_db)
    "autograder-records.migrated",  # where those files are kept once migrated
    "autograder-submitters.json",
    "autograder-regrade",  # the copies a regrade keeps until it is done (autograder.nbgrader.regrade)
    "autograder-renamed.json",  # the names of notebooks zip_collect renamed (autograder.nbgrader.lms)
    "downloaded",  # LMS downloads, for zip_collect
)


class CourseError(ValueError):
    """The course directory cannot be set up as asked."""


def config_text(exchange: Path, template: str = CONFIG) -> str:
    """The course's nbgrader_config.py (or with STUDENT_CONFIG, the students'), for ``exchange``."""
    return template.replace("{exchange!r}", repr(str(exchange)))


def exchange_dir(directory: Path | str, exchange: Path | str | None = None, *, in_course: bool = False) -> Path:
    """The exchange of a course: ``exchange``, else ``directory/exchange`` (``in_course``) or
    ``directory-exchange`` beside it; absolute, with its links resolved."""
    course = Path(directory).absolute()
    if exchange is None:
        exchange = course / "exchange" if in_course else course.with_name(course.name + "-exchange")
    return Path(os.path.realpath(exchange))


def configured_exchange(config: Path) -> Path | None:
    """The ``c.Exchange.root`` that an existing nbgrader_config.py names, or None."""
    found = re.search(r"^c\.Exchange\.root = (.+)$", config.read_text(), flags=re.M) if config.exists() else None
    try:
        return Path(ast.literal_eval(found.group(1))) if found else None
    except (ValueError, SyntaxError):
        return None


def _mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _trusted(uid: int) -> bool:
    """root or the teacher (this process's user)."""
    return uid in (0, os.getuid())


def _owner(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def traversal(path: Path) -> list[tuple[Path, Path]]:
    """Each (directory, entry) that resolving ``path`` goes through, links followed as the kernel does;
    every directory is real (no link in it). The last entry is the first that does not exist, if one does not."""
    parts = list(Path(os.path.abspath(path)).parts[1:])
    current, steps, hops = Path("/"), [], 0
    while parts:
        name = parts.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = current.parent
            continue
        entry = current / name
        steps.append((current, entry))
        if not os.path.lexists(entry):
            break
        if not entry.is_symlink():
            current = entry
            continue
        hops += 1
        if hops > 40:
            raise CourseError(f"{path}: too many levels of links")
        target = Path(os.readlink(entry))
        if target.is_absolute():
            current = Path("/")
        parts = [p for p in target.parts if p != "/"] + parts
    return steps


def path_problems(path: Path) -> list[str]:
    """What lets another user replace ``path`` or a folder on the way to it: a directory on the way that is
    not root's or the teacher's, or that others can write without the sticky bit; an entry on the way
    that is not root's or the teacher's."""
    found = []
    for directory, entry in traversal(path):
        info = directory.lstat()
        where = "" if entry == Path(os.path.abspath(path)) else f" (on the way to {path})"
        if not _trusted(info.st_uid):
            found.append(
                f"{directory} (on the way to {path}) belongs to {_owner(info.st_uid)}, who can replace what is in it"
            )
        elif info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            found.append(
                f"{directory} (on the way to {path}) is writable by other users without the sticky bit "
                f"(mode {_mode(info.st_mode)}): they can rename {entry.name} and put their own in its place"
            )
        if os.path.lexists(entry) and not _trusted(owner := entry.lstat().st_uid):
            found.append(f"{entry}{where} belongs to {_owner(owner)}, who can replace it")
    return found


def reachable_by_others(path: Path) -> bool:
    """Can a user with no special group traverse every directory down to ``path``?"""
    return all(os.stat(d).st_mode & 0o001 for d, entry in traversal(path) if os.path.lexists(entry))


def _make_dir(path: Path, mode: int, what: str) -> None:
    """Create ``path`` (the teacher's) or check an existing one, and give it ``mode``."""
    if not os.path.lexists(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CourseError(f"{what} {path} exists and is not a directory")
    if not _trusted(info.st_uid):
        raise CourseError(f"{what} {path} belongs to {_owner(info.st_uid)}, who could change it: I will not use it")
    if stat.S_IMODE(info.st_mode) != mode:
        try:
            os.chmod(path, mode)
        except OSError as error:
            raise CourseError(
                f"{what} {path} must have mode {mode:04o} (mode {_mode(info.st_mode)}) and I cannot make it so: "
                f"{error.strerror}"
            ) from None


def make_exchange(exchange: Path, course_id: str = ASSIGNMENT) -> None:
    """Create the exchange (mode 1777) and its course folder with inbound/, outbound/ and feedback/,
    or check and tighten existing ones; refuse what belongs to someone else."""
    _make_dir(exchange, EXCHANGE_MODE, "the exchange")
    for name, mode in EXCHANGE_FOLDERS.items():
        folder = exchange / course_id / name if name else exchange / course_id
        _make_dir(folder, mode, "the exchange's course folder" if not name else f"the exchange's {name}/")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def init(
    *,
    directory: Path | str,
    force: bool = False,
    exchange: Path | str | None = None,
    exchange_in_course: bool = False,
) -> Path:
    """Create ``directory`` as an nbgrader course: configuration, ``source/attention/`` and the exchange.

    The course is made the teacher's alone (mode 0700). The exchange is ``exchange`` (default: the
    folder ``<directory>-exchange`` beside the course; ``<directory>/exchange`` with
    ``exchange_in_course``), made with its course folder as the module says, and written into the
    configuration as ``c.Exchange.root``; the students' configuration, naming the same exchange, goes
    to ``student_nbgrader_config.py``. What cannot be made safe is refused (CourseError, with the
    reason). An existing course is left alone unless ``force``: then the configuration and the source
    notebooks are written again (with the exchange the configuration named, unless ``exchange`` is
    given), the modes are set again, and nothing else (gradebook, submissions, feedback) is touched.
    """
    root = Path(directory).absolute()
    config = root / "nbgrader_config.py"
    source = root / "source" / ASSIGNMENT
    existing = [p for p in (config, source) if p.exists()]
    if existing and not force:
        raise CourseError(
            f"{root} is already a course ({existing[0].name} exists); use --force to rewrite "
            "its configuration and source notebooks (grades and submissions are kept)"
        )
    if os.path.lexists(root) and (root.is_symlink() or not root.is_dir()):
        raise CourseError(f"{root} exists and is not a directory")
    if exchange is None and not exchange_in_course:
        exchange = configured_exchange(config)
    place = exchange_dir(root, exchange, in_course=exchange_in_course)
    real_root = Path(os.path.realpath(root))
    if _inside(place, real_root) and not exchange_in_course:
        raise CourseError(
            f"the exchange {place} is inside the course, where other users would reach the solutions and the "
            "gradebook: choose one outside it (--exchange DIR), or say --exchange-in-course for a course that "
            "only you use (it stays private, so no other user can reach its exchange)"
        )
    if _inside(real_root, place):
        raise CourseError(f"the course {root} is inside the exchange {place}, where every student can write")
    problems = path_problems(root) + path_problems(place)
    if problems:
        raise CourseError("not safe on a shared machine: " + "; ".join(problems))
    _make_dir(root, COURSE_MODE, "the course")
    make_exchange(place)
    config.write_text(config_text(place))
    (root / STUDENT_CONFIG_NAME).write_text(config_text(place, STUDENT_CONFIG))
    write_sources(source)
    return root


def _others(mode: int, *, directory: bool = False) -> str:
    """What users other than the owner may do, in words ("read", "write", "traverse"), for a mode."""
    bits = [("read", 0o044), ("write", 0o022), ("traverse" if directory or stat.S_ISDIR(mode) else "run", 0o011)]
    return ", ".join(word for word, mask in bits if mode & mask)


def _group_members(gid: int) -> list[str]:
    """The regular accounts (uid 1000 and up, not ``nobody``) other than the teacher in group ``gid``:
    its listed members and those whose own group it is."""
    import grp
    import pwd

    try:
        names = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        names = set()
    names |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    found = []
    for name in sorted(names):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        if uid >= 1000 and uid not in (os.getuid(), 65534):
            found.append(name)
    return found


def _inbound_problems(inbound: Path) -> list[str]:
    """Who besides the teacher could read the submissions in ``inbound/`` (its group), and which ones every
    user can write."""
    found: list[str] = []
    if not inbound.is_dir() or inbound.is_symlink():
        return found
    if members := _group_members(inbound.stat().st_gid):
        found.append(
            f"{inbound} has group {inbound.stat().st_gid}, which {', '.join(map(printable, members))} belong(s) to: "
            "they can read every submission (each is 0750, in that group); chgrp it to a group of your own"
        )
    if os.access(inbound, os.R_OK):
        for entry in sorted(os.scandir(inbound), key=lambda e: e.name):
            here = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(here.st_mode) and here.st_mode & 0o002:
                found.append(
                    f"{inbound / printable(entry.name)} is writable by every user (mode {_mode(here.st_mode)}): whoever "
                    "learns its name can remove its files (submitted without student_nbgrader_config.py?)"
                )
    return found


def _exchange_problems(exchange: Path, course_id: str) -> list[str]:
    """What a student could change in the exchange or its course folder, or read there that is not theirs."""
    found = path_problems(exchange)
    if not exchange.is_dir():
        return [*found, f"the exchange {exchange} does not exist: run autograder course init again"]
    info = exchange.lstat()
    if not _trusted(info.st_uid):
        found.append(
            f"the exchange {exchange} belongs to {_owner(info.st_uid)}, who can rename or remove anything in it"
        )
    if not info.st_mode & stat.S_ISVTX:
        found.append(
            f"the exchange {exchange} has no sticky bit (mode {_mode(info.st_mode)}): a student can rename "
            f"or remove the course's folder in it; chmod 1777 {exchange}"
        )
    for name, mode in EXCHANGE_FOLDERS.items():
        folder = exchange / course_id / name if name else exchange / course_id
        if not os.path.lexists(folder):
            found.append(f"{folder} does not exist: a student could make it first; run autograder course init again")
            continue
        here = folder.lstat()
        if stat.S_ISLNK(here.st_mode) or not stat.S_ISDIR(here.st_mode):
            found.append(f"{folder} is not a directory")
        elif not _trusted(here.st_uid):
            found.append(f"{folder} belongs to {_owner(here.st_uid)}, who can change what students fetch and submit")
        elif (extra := here.st_mode & ~mode & 0o777) or (mode & stat.S_ISVTX and not here.st_mode & stat.S_ISVTX):
            unsticky = mode & stat.S_ISVTX and not here.st_mode & stat.S_ISVTX
            what = [_others(extra, directory=True), "remove or rename each other's submissions" if unsticky else ""]
            found.append(
                f"{folder} has mode {_mode(here.st_mode)} (at most {mode:04o}): other users may "
                + ", ".join(w for w in what if w)
            )
    course = exchange / course_id
    found += _inbound_problems(course / "inbound")
    for released in sorted(course.joinpath("outbound").rglob("*")) + sorted(course.joinpath("feedback").glob("*")):
        here = released.lstat()
        if not _trusted(here.st_uid):
            found.append(f"{released} belongs to {_owner(here.st_uid)}: not released by you")
        elif here.st_mode & 0o022:
            found.append(f"{released} is writable by other users (mode {_mode(here.st_mode)})")
    return found


def _teacher_problems(root: Path) -> list[str]:
    """What of the teacher's files in the course another user could read or change."""
    found = []
    private = not root.lstat().st_mode & 0o077
    for name in TEACHERS:
        top = root / name
        if not os.path.lexists(top):
            continue
        for path in [top, *(sorted(top.rglob("*")) if top.is_dir() and not top.is_symlink() else [])]:
            info = path.lstat()
            if not _trusted(info.st_uid):
                found.append(f"{path} belongs to {_owner(info.st_uid)}, who can change it")
            elif stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                found.append(
                    f"{path} has {info.st_nlink - 1} other hard link(s): whoever made one may read it through it"
                )
            elif not private and info.st_mode & 0o066 and not stat.S_ISLNK(info.st_mode):
                found.append(f"{path}: other users may {_others(info.st_mode)} (mode {_mode(info.st_mode)})")
    return found


def _service_problems(root: Path) -> list[str]:
    """What is wrong with the folder of the course's warm service (``autograder serve --course``), if there is one:
    its clients refuse a folder that another user owns or may enter."""
    from autograder.service import COURSE_SERVICE, ServiceError, check_folder

    folder = root / COURSE_SERVICE
    if not os.path.lexists(folder):
        return []
    try:
        check_folder(folder, create=False)
    except ServiceError as error:
        return [f"the warm grading service's folder: {error}"]
    return []


def check(*, directory: Path | str) -> list[str]:
    """Audit a course and its exchange: each thing that another local user could read or change, in
    words (empty: none found). The exchange is the one nbgrader_config.py names."""
    root = Path(directory).absolute()
    config = root / "nbgrader_config.py"
    if not root.is_dir() or not config.is_file():
        raise CourseError(f"{root} is not a course (no nbgrader_config.py): autograder course init makes one")
    found = path_problems(root)
    info = root.lstat()
    if info.st_mode & 0o077:
        found.append(
            f"the course {root} is open to other users (mode {_mode(info.st_mode)}: they may {_others(info.st_mode)}): "
            f"the solutions and the gradebook are in it; chmod 700 {root}"
        )
    found += _teacher_problems(root)
    found += _service_problems(root)
    if not re.search(rf"^c\.ExchangeFactory\.collect = {re.escape(repr(SAFE_COLLECT))}$", config.read_text(), re.M):
        found.append(
            f"{config} does not set c.ExchangeFactory.collect = {SAFE_COLLECT!r}: nbgrader's own collect follows a "
            "student's links to your files (autograder course init --force writes it)"
        )
    exchange = configured_exchange(config)
    if exchange is None:
        return [*found, f"{config} names no exchange (c.Exchange.root)"]
    return found + _exchange_problems(exchange, ASSIGNMENT)


# ---------------------------------------------------------------- the roster

#: The columns of a roster (those of ``nbgrader db student import``); ``id`` is required.
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class RosterError(ValueError):
    """A roster that cannot be imported: the row (its line in the file) and why."""


def _roster_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a roster CSV, each checked; RosterError names the first bad one by its line."""
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read {path}: {error}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if "id" not in header:
        raise RosterError(f"{path}: line 1 has no column 'id' (the columns are {', '.join(ROSTER_COLUMNS)})")
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if unknown:
        raise RosterError(
            f"{path}: line 1: unknown column {unknown[0]!r} (the columns are {', '.join(ROSTER_COLUMNS)})"
        )
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        number = reader.line_num
        if raw.get(None):  # more cells than columns
            raise RosterError(f"{path}: line {number}: more cells than the header has columns; nothing was imported")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        problem = _roster_problem(row)
        if not problem and row["id"] in seen:
            problem = f"the id {printable(row['id'])!r} is on line {seen[row['id']]} already"
        if problem:
            raise RosterError(f"{path}: line {number}: {problem}; nothing was imported")
        seen[row["id"]] = number
        rows.append(row)
    return rows


def _roster_problem(row: dict[str, str]) -> str:
    student = row.get("id", "")
    if not student:
        return "no id"
    if student in {".", ".."} or "/" in student or "+" in student or printable(student) != student:
        return f"the id {printable(student)!r} cannot name a folder (no '/', '+', '.', '..' or control character)"
    for key, value in row.items():
        if len(value) > 128:
            return f"{key} is longer than 128 characters"
        if printable(value) != value:
            return f"{key} has a control or format character"
    if row.get("email") and not _EMAIL.fullmatch(row["email"]):
        return f"{printable(row['email'])!r} is not an email address"
    return ""


def roster(*, directory: Path | str, path: Path | str) -> dict[str, int]:
    """Add or update the students of a roster CSV (``ROSTER_COLUMNS``) in the course's gradebook, all or
    none: a bad row stops the import (RosterError, with its line) before anything is written. Running it
    again changes nothing. Returns the count of students ``added``, ``updated`` and ``unchanged``."""
    from nbgrader.api import Gradebook, Student

    from autograder.nbgrader.records_db import course_db_url
    from autograder.nbgrader.regrade import find_on_path

    root = Path(directory).absolute()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(f"{root} is not a course (no nbgrader_config.py): autograder course init makes one")
    rows = _roster_rows(Path(path))
    find_on_path()  # a new gradebook needs alembic
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    db_url, course_id = course_db_url(root)
    with Gradebook(db_url, course_id) as gb:
        try:
            for row in rows:
                values = {k: row[k] or None for k in ROSTER_COLUMNS[1:] if k in row}
                student = gb.db.query(Student).filter(Student.id == row["id"]).one_or_none()
                if student is None:
                    gb.db.add(Student(id=row["id"], **values))
                    counts["added"] += 1
                elif any(getattr(student, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(student, k, v)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise
    return counts


def roster_emails(directory: Path | str) -> dict[str, str]:
    """The email of each student of the course's gradebook that has one, by id."""
    from nbgrader.api import Gradebook

    from autograder.nbgrader.course_records import gradebook_exists
    from autograder.nbgrader.records_db import course_db_url

    db_url, course_id = course_db_url(directory)
    if not gradebook_exists(db_url):
        return {}
    with Gradebook(db_url, course_id) as gb:
        return {s.id: s.email for s in gb.students if s.email}
