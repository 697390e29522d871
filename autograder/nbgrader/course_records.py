"""The records ``nbgrader autograde`` keeps in a course: in its gradebook database (``records_db``), and
before that as one file per notebook graded, which the database takes over on first use.

``course_records`` reads them for ``autograder stats`` and ``autograder course export``. The file
scheme: ``autograder-records/<assignment>/<student>/<notebook>.json``, each name written by
``path_component`` (injective and reversible: no two students share a file, whatever their ids);
``save_course_record`` writes it (a course made before the database), ``file_records`` reads it.
``path_component`` names students' folders elsewhere too (the regrade copies, the LMS downloads).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from autograder.records import SubmissionRecord, mark_duplicates

#: Where ``nbgrader autograde`` kept the record of each notebook it graded before the database, under the
#: course root: ``autograder-records/<assignment>/<student>/<notebook>.json`` (the record without its
#: pictures), each name written by ``path_component``.
COURSE_RECORDS = "autograder-records"

#: The bytes a name keeps as they are in a path component: lower-case letters, digits, ``_``, ``-``.
SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
#: A component longer than this (bytes) is cut and ends with ``~`` and the SHA-256 of the name.
LONGEST = 200


def path_component(name: str) -> str:
    """A name as one path component, injectively and reversibly (``name_of``).

    Each UTF-8 byte of the name outside ``SAFE`` is written ``%XX`` (upper-case hex), so that no two
    names share a component, on a file system that ignores case too (upper-case letters are
    escaped; the hex digits are always upper-case); ``.``, ``/`` and NUL are escaped, so there is
    no ``.``, ``..``, hidden name or separator. The empty name is ``%``. A component longer than
    ``LONGEST`` bytes (NAME_MAX is 255) keeps its first 150 characters and ends with ``~`` and the
    name's SHA-256, which no short component contains; the record holds the name whole.
    """
    if not name:
        return "%"
    data = name.encode("utf-8", "surrogatepass")
    text = "".join(chr(b) if b in SAFE else f"%{b:02X}" for b in data)
    if len(text) <= LONGEST:
        return text
    return text[:150] + "~" + hashlib.sha256(data).hexdigest()


def name_of(component: str) -> str | None:
    """The name ``path_component`` wrote as ``component``; None for a long (hashed) component or one
    it cannot have written (the older scheme's, which the record's own names replace)."""
    if component == "%":
        return ""
    out = bytearray()
    i = 0
    while i < len(component):
        c = component[i]
        if c == "%" and i + 3 <= len(component) and all(h in "0123456789ABCDEF" for h in component[i + 1 : i + 3]):
            byte = int(component[i + 1 : i + 3], 16)
            if byte in SAFE:  # path_component writes a safe byte as itself
                return None
            out.append(byte)
            i += 3
        elif c.isascii() and ord(c) in SAFE:
            out.append(ord(c))
            i += 1
        else:
            return None
    try:
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def course_record_path(root: Path | str, assignment: str, student: str, notebook: str) -> Path:
    """Where the record of (assignment, student, notebook) is kept: one place per triple, and no other triple's."""
    folder = Path(root, COURSE_RECORDS, path_component(assignment), path_component(student))
    return folder / f"{path_component(notebook)}.json"


def save_course_record(root: Path | str, assignment: str, notebook: str, record: SubmissionRecord) -> Path:
    """Keep ``record`` as a file, as courses did before the database (replacing an earlier grading of the same
    notebook by the same student): a course made so is migrated on first use."""
    path = course_record_path(root, assignment, record.student, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = record.to_json()
    data["assignment"], data["student"], data["notebook"] = assignment, record.student, notebook
    for part in data["parts"]:
        part.pop("figures", None)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return path


def _older_component(name: str) -> str:
    """A name as the older scheme kept it (not injective: ``a.b``, ``a_b`` and ``a b`` met): read only."""
    safe = "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in name).lstrip(".")
    return safe or "_"


def _read_course_record(root: Path | str, path: Path) -> tuple[tuple[str, str, str], bool, SubmissionRecord] | None:
    """(its assignment, student and notebook; whether it is of this scheme; the record) of a kept
    record, or None when it is not one, or is not where its names would be kept.

    A record of this scheme holds its names, and is where ``course_record_path`` puts them. One of
    the older scheme holds its assignment and student (its notebook is its file's name) and is
    where that scheme put them; when two students met in one file, it holds the later one only.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = SubmissionRecord.from_json(data)
        assignment, student = str(data["assignment"]), str(data.get("student", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if "notebook" in data:
        names = (assignment, student, str(data["notebook"]))
        return (names, True, record) if course_record_path(root, *names) == path else None
    names = (assignment, student, path.stem)
    older = Path(root, COURSE_RECORDS, _older_component(assignment), _older_component(student or "_"), path.name)
    return (names, False, record) if older == path else None


def file_records_by_names(root: Path | str) -> dict[tuple[str, str, str], SubmissionRecord]:
    """The records kept as files in a course, by (assignment, student, notebook).

    A file that is not where its own names are kept is not read; a record of this scheme wins over
    one of the older scheme for the same names (a grading kept before this scheme).
    """
    found: dict[tuple[str, str, str], tuple[bool, SubmissionRecord]] = {}
    for path in sorted(Path(root, COURSE_RECORDS).glob("*/*/*.json")):
        read = _read_course_record(root, path)
        if read is None:
            continue
        names, current, record = read
        if current or names not in found:
            found[names] = (current, record)
    return {names: record for names, (_, record) in found.items()}


def file_records(root: Path | str, assignment: str = "") -> list[SubmissionRecord]:
    """The records kept as files in a course (of one assignment, or all), sorted by (assignment, student,
    notebook); one record per student and part (``mark_duplicates``)."""
    found = file_records_by_names(root)
    records = [record for names, record in sorted(found.items()) if not assignment or names[0] == assignment]
    mark_duplicates(records)
    return records


def course_records(root: Path | str, assignment: str = "") -> list[SubmissionRecord]:
    """The records ``nbgrader autograde`` kept in a course (of one assignment, or all), from its gradebook
    database (``records_db``), sorted by (assignment, student, notebook); one record per student and part
    (``mark_duplicates``). File records of the scheme before the database are migrated first."""
    from autograder.nbgrader import records_db

    db_url, course_id = records_db.course_db_url(root)
    if not gradebook_exists(db_url):  # files in a folder that no nbgrader made: read as they are
        return file_records(root, assignment)
    if Path(root, COURSE_RECORDS).is_dir():
        engine = records_db.prepare(root, db_url, course_id)
    else:
        engine = records_db.engine_for(db_url)
    try:
        return records_db.records(engine, assignment)
    finally:
        engine.dispose()  # its connections closed: a server counts them


def gradebook_exists(db_url: str) -> bool:
    """Is there a gradebook at ``db_url`` (a SQLite file that exists; any other database is a server's)?"""
    return not db_url.startswith("sqlite") or _sqlite_exists(db_url)


def _sqlite_exists(db_url: str) -> bool:
    from sqlalchemy.engine import make_url

    database = make_url(db_url).database
    return database is not None and database not in ("", ":memory:") and Path(database).is_file()
