"""Submissions as an LMS downloads them: who handed in which file, from its name; a zip read within bounds.

The names, one pattern each (``PATTERNS``):

- Canvas: ``<name>_<id>_<submission>_<file>``, late ``<name>_LATE_<id>_<submission>_<file>``;
- Moodle: ``<Full Name>_<id>_assignsubmission_file_/<file>`` (a folder per student), or the same as
  one name (``..._assignsubmission_file_<file>``);
- Blackboard: ``<assignment>_<user>_attempt_<date>_<file>`` (and ``..._attempt_<date>.txt``, its
  receipt, which holds no work).

The student is the LMS's id (Canvas's user id, Moodle's participant id, Blackboard's user name). A
file whose name fits no pattern is listed with its name (``Download.unmatched``), never guessed.
Names and ids are the students' input: kept as data, shown through ``text.shown``, and never used
as a path: what is staged for grading goes to names of ours (``stage``). A zip is read within
bounds (``MAX_MEMBERS`` entries, each file at most ``submission.MAX_BYTES`` of its kind, counting
the bytes actually inflated, not what the header says), and a link, a device or an encrypted entry
is listed, not read.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.nbgrader.course_records import path_component
from autograder.submission import MAX_BYTES, SUFFIXES

LMS = ("canvas", "moodle", "blackboard")
MAX_MEMBERS = 4096  # entries in one download
MAX_OTHER_BYTES = 0  # a file that is not a notebook or .py is listed, its content never read
PATTERNS = {
    "canvas": re.compile(r"(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<submission>\d+)_(?P<file>[^/]+)"),
    "moodle": re.compile(r"(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_file_(?:/(?:[^/]+/)*)?(?P<file>[^/]+)"),
    "blackboard": re.compile(
        r"(?P<assignment>[^/]+)_(?P<id>[^_/]+)_attempt_(?P<date>\d{4}(?:-\d{2}){5})(?:_(?P<file>[^/]+)|\.txt)"
    ),
}


@dataclass
class Entry:
    """One file of a download: whose it is, and its name as the student gave it."""

    name: str  # the whole name in the download
    lms: str
    student: str
    file: str  # the file's own name ("" for a Blackboard receipt)
    late: bool = False
    attempt: str = ""  # Blackboard's date of the attempt
    data: bytes = b""


@dataclass
class Download:
    entries: list[Entry] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # names that fit no pattern
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why): a student's file not read


def match(name: str, lms: str = "") -> Entry | None:
    """Whose file ``name`` (a path inside a download, ``/``-separated) is, by the first pattern it fits."""
    for kind in (lms,) if lms else LMS:
        found = PATTERNS[kind].fullmatch(name)
        if found:
            bits = found.groupdict()
            return Entry(
                name=name,
                lms=kind,
                student=bits["id"],
                file=bits.get("file") or "",
                late=bool(bits.get("late")),
                attempt=bits.get("date") or "",
            )
    return None


def _limit(file: str) -> int:
    return MAX_BYTES.get(os.path.splitext(file)[1], MAX_OTHER_BYTES)


def read(path: Path | str, lms: str = "") -> Download:
    """The files of a download, a zip or a folder (its links are never followed), each with its student."""
    path = Path(path)
    found = Download()
    items = _zip_items(path, found) if path.is_file() else _folder_items(path, found)
    for name, opener, problem in items:
        entry = match(name, lms)
        if entry is None:
            found.unmatched.append(name)
            continue
        if not entry.file:  # a Blackboard receipt: no work in it
            continue
        if not problem and _limit(entry.file):
            entry.data = opener(_limit(entry.file) + 1)
            if len(entry.data) > _limit(entry.file):
                problem = f"it is larger than {_limit(entry.file) >> 20} MiB, the most the grader reads of such a file"
        if problem:
            found.refused.append((name, problem))
        else:
            found.entries.append(entry)
    return found


def _zip_items(path: Path, found: Download) -> list:
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_MEMBERS:
        raise ValueError(f"{path.name} holds more than {MAX_MEMBERS} files")
    items: list = []
    for member in members:
        name = member.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        mode = member.external_attr >> 16
        problem = ""
        if name.startswith("/") or ".." in parts:
            found.refused.append((name, "its name leads out of the download"))
            continue
        if stat.S_IFMT(mode) and not stat.S_ISREG(
            mode
        ):  # no type bits: a plain file (as zip -r writes none on Windows)
            problem = "it is a link or a special file"
        elif member.flag_bits & 0x1:
            problem = "it is encrypted"

        def opener(limit: int, member: zipfile.ZipInfo = member) -> bytes:
            with archive.open(member) as stream:
                return stream.read(limit)

        items.append((name, opener, problem))
    return items


def _folder_items(path: Path, found: Download) -> list:
    items: list = []
    for folder, subfolders, files in os.walk(path):  # links to folders are listed, never walked into
        for sub in list(subfolders):
            if os.path.islink(os.path.join(folder, sub)):
                subfolders.remove(sub)
                found.refused.append((os.path.relpath(os.path.join(folder, sub), path), "it is a link"))
        for file in sorted(files):
            full = os.path.join(folder, file)
            name = os.path.relpath(full, path).replace(os.sep, "/")
            if len(items) >= MAX_MEMBERS:
                raise ValueError(f"{path.name} holds more than {MAX_MEMBERS} files")
            problem = "" if stat.S_ISREG(os.lstat(full).st_mode) else "it is a link or a special file"

            def opener(limit: int, full: str = full) -> bytes:
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as stream:
                    return stream.read(limit)

            items.append((name, opener, problem))
    return items


def stage(download: Download, into: Path, label: str) -> dict[Path, tuple[str, str, Entry]]:
    """Write the entries to grade under ``into``, each in a folder of its own under a name of ours (the
    file's name escaped, its suffix kept): staged path -> (student, ``label/<name in the download>``, entry).
    A student's Blackboard attempts come newest first, so the newest counts and the others are flagged."""
    staged: dict[Path, tuple[str, str, Entry]] = {}
    order = sorted(download.entries, key=lambda e: (e.student, [-ord(c) for c in e.attempt], e.name))
    for index, entry in enumerate(order):
        stem, suffix = os.path.splitext(entry.file)
        suffix = suffix if suffix in SUFFIXES else ".not-a-submission"
        folder = into / f"{index:05d}"
        folder.mkdir(parents=True)
        target = folder / (path_component(stem)[:100] + suffix)
        target.write_bytes(entry.data)
        staged[target] = (entry.student, f"{label}/{entry.name}", entry)
    return staged
