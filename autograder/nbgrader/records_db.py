"""The records ``nbgrader autograde`` keeps, in the course's gradebook database: one row per notebook graded.

The database is nbgrader's own (``c.CourseDirectory.db_url``: ``sqlite:///<course>/gradebook.db`` by
default, PostgreSQL on a hub where several TAs grade); the tables are the package's:

- ``autograder_record``: one row per (assignment, student, notebook), UNIQUE: the record of the
  hidden suites as JSON (``SubmissionRecord.to_json``, without its pictures, with its three names),
  its score and maximum;
- ``autograder_schema``: the version of these tables, which ``ensure_tables`` creates and upgrades.

The bridge writes a row in the same transaction as nbgrader's scores of that notebook
(``bridge.SaveGradesAndRecord``): both are committed, or neither. ``course_records`` reads them for
``autograder stats`` and ``autograder course export``. A course whose records are files
(``autograder-records/``, the scheme before this one) is migrated on first use (``prepare``): the
files are copied into the table, then their folder is moved aside (``autograder-records.migrated``),
never removed. Every name is a bound parameter of a statement, never part of its text.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, scoped_session

from autograder.records import SubmissionRecord, mark_duplicates

#: The version of the package's tables this code writes; ``UPGRADES`` takes a database from each older one.
SCHEMA_VERSION = 1
#: Where the file records of a migrated course are moved (never removed).
MIGRATED = "autograder-records.migrated"
#: How many times a transaction that met a locked SQLite database (another autograde writing) is tried.
ATTEMPTS = 8
#: The advisory lock (PostgreSQL) held while the tables are created or upgraded and file records migrated.
LOCK_KEY = 0x61757467  # "autg"

metadata = MetaData()
schema_table = Table(
    "autograder_schema",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
record_table = Table(
    "autograder_record",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", Text, nullable=False),
    Column("student", Text, nullable=False),
    Column("notebook", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("record", Text, nullable=False),
    UniqueConstraint("assignment", "student", "notebook", name="autograder_record_names"),
)

#: Upgrades of the tables, by the version they start from (each takes it one version up).
UPGRADES: dict[int, Any] = {}


class RecordsError(RuntimeError):
    """The database holds tables this version cannot use (written by a newer autograder)."""


def sqlite_timeout(db_url: str) -> dict[str, Any]:
    """Connection arguments: a SQLite database waits up to a minute for another process's transaction."""
    return {"timeout": 60} if db_url.startswith("sqlite") else {}


def engine_for(db_url: str) -> Engine:
    return create_engine(db_url, future=True, connect_args=sqlite_timeout(db_url))


def locked(error: BaseException) -> bool:
    """Did a statement fail only because another process held a SQLite database (worth trying again)?"""
    return isinstance(error, OperationalError) and "locked" in str(error.orig).lower()


def record_row(assignment: str, student: str, notebook: str, record: SubmissionRecord) -> dict[str, Any]:
    """The row of a record: its JSON without pictures, with its names."""
    data = record.to_json()
    data["assignment"], data["student"], data["notebook"] = assignment, student, notebook
    for part in data["parts"]:
        part.pop("figures", None)
    return {
        "assignment": assignment,
        "student": student,
        "notebook": notebook,
        "score": float(record.score),
        "max_score": float(record.max_score),
        "record": json.dumps(data),
    }


def upsert(executor: Connection | Session | scoped_session, row: dict[str, Any], *, replace: bool = True) -> None:
    """Write ``row`` in the caller's transaction, in place of the row of the same names (or, without
    ``replace``, only when there is none)."""
    bind = executor.get_bind() if hasattr(executor, "get_bind") else executor  # a session's, or a connection
    dialect = bind.dialect.name
    names = ["assignment", "student", "notebook"]
    if dialect in ("sqlite", "postgresql"):
        from sqlalchemy.dialects import postgresql, sqlite

        statement: Any = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(record_table).values(**row)
        if replace:
            kept = {k: statement.excluded[k] for k in ("score", "max_score", "record")}
            statement = statement.on_conflict_do_update(index_elements=names, set_=kept)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=names)
        executor.execute(statement)
        return
    where = [record_table.c[k] == row[k] for k in names]  # another database: one transaction, two statements
    if not replace and executor.execute(select(record_table.c.id).where(*where)).first() is not None:
        return
    executor.execute(delete(record_table).where(*where))
    executor.execute(record_table.insert().values(**row))


def student_rows(
    executor: Connection | Session | scoped_session, assignment: str, student: str
) -> dict[str, dict[str, Any]]:
    """A student's rows of one assignment, by notebook (for a regrade's copy, ``regrade.Backup``)."""
    columns = [record_table.c[k] for k in ("assignment", "student", "notebook", "score", "max_score", "record")]
    query = select(*columns).where(record_table.c.assignment == assignment, record_table.c.student == student)
    return {row.notebook: dict(row._mapping) for row in executor.execute(query)}


def put_back_rows(
    executor: Connection | Session | scoped_session, assignment: str, student: str, rows: dict[str, dict]
) -> None:
    """Make a student's rows of one assignment those of ``rows`` (``student_rows``), in the caller's transaction."""
    where = (record_table.c.assignment == assignment, record_table.c.student == student)
    executor.execute(delete(record_table).where(*where))
    for row in rows.values():
        executor.execute(record_table.insert().values(**row))


_ready: set[str] = set()
_ready_lock = threading.Lock()


@contextlib.contextmanager
def _setup(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other process setting up the same database runs at the same time."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        elif engine.dialect.name == "sqlite":  # the write lock at once: no other writer between read and write
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def retrying(
    action: Any,
    *,
    when: Any = lambda error: isinstance(error, DBAPIError),
    pause: float = 0.05,
    on_retry: Any = None,
    attempts: int = ATTEMPTS,
) -> Any:
    """Run ``action`` again (after ``pause`` times the attempt's number, in seconds) while it fails as ``when``
    says is worth another try: by default a locked SQLite database or a table another process created meanwhile."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:
            if not when(error) or attempt == attempts - 1:
                raise
        if on_retry is not None:
            on_retry()
        time.sleep(pause * (attempt + 1))
    return None


def ensure_tables(engine: Engine) -> None:
    """Create the package's tables where they are missing, upgrade older ones; RecordsError for newer ones."""

    def once() -> None:
        with _setup(engine) as connection:
            metadata.create_all(connection, checkfirst=True)
            version = connection.execute(select(schema_table.c.version).where(schema_table.c.id == 1)).scalar()
            if version is None:
                connection.execute(schema_table.insert().values(id=1, version=SCHEMA_VERSION))
                return
            if version > SCHEMA_VERSION:
                raise RecordsError(
                    f"the gradebook's autograder tables are of version {version}, newer than this autograder's "
                    f"({SCHEMA_VERSION}): upgrade the autograder"
                )
            while version < SCHEMA_VERSION:
                UPGRADES[version](connection)
                version += 1
            connection.execute(schema_table.update().where(schema_table.c.id == 1).values(version=version))

    retrying(once)


def ensure_once(db_url: str) -> None:
    """``ensure_tables`` for ``db_url``, once per process."""
    key = "tables:" + db_url
    with _ready_lock:
        if key not in _ready:
            engine = engine_for(db_url)
            try:
                ensure_tables(engine)
            finally:
                engine.dispose()
            _ready.add(key)


def has_tables(engine: Engine) -> bool:
    return inspect(engine).has_table(record_table.name)


def migrate_files(root: Path, engine: Engine) -> int:
    """Copy the course's file records (``autograder-records/``) into the table, then move their folder
    aside (``MIGRATED``); the count copied. A row already in the table is newer than a file (files are
    no longer written) and stays. Run again after being cut short, it copies nothing twice."""
    from autograder.nbgrader.course_records import COURSE_RECORDS, file_records_by_names

    folder = root / COURSE_RECORDS
    if not folder.is_dir():
        return 0
    found = file_records_by_names(root)

    def once() -> int:
        with _setup(engine) as connection:
            for (assignment, student, notebook), record in sorted(found.items()):
                upsert(connection, record_row(assignment, student, notebook, record), replace=False)
        return len(found)

    count = retrying(once)
    aside = root / MIGRATED
    n = 1
    while aside.exists():
        n += 1
        aside = root / f"{MIGRATED}-{n}"
    with contextlib.suppress(FileNotFoundError):  # another process moved it meanwhile
        os.rename(folder, aside)
    return int(count)


def prepare(root: Path | str, db_url: str, course_id: str = "default_course") -> Engine:
    """The course's database, with the package's tables made or upgraded and its file records migrated
    (once per process and database). A database without nbgrader's tables is made by nbgrader first."""
    engine = engine_for(db_url)
    with _ready_lock:
        if db_url in _ready and not (Path(root) / _course_records_folder()).is_dir():
            return engine
        if not inspect(engine).has_table("alembic_version"):  # a new gradebook: nbgrader makes its own tables
            from nbgrader.api import Gradebook

            from autograder.nbgrader.regrade import find_on_path

            find_on_path()
            Gradebook(db_url, course_id).close()
        ensure_tables(engine)
        migrate_files(Path(root), engine)
        _ready.add(db_url)
    return engine


def _course_records_folder() -> str:
    from autograder.nbgrader.course_records import COURSE_RECORDS

    return COURSE_RECORDS


def read_records(engine: Engine, assignment: str = "") -> list[tuple[tuple[str, str, str], SubmissionRecord]]:
    """The rows of the table (of one assignment, or all), as ((assignment, student, notebook), record), sorted
    by those names (in Python: each database sorts text its own way)."""
    if not has_tables(engine):
        return []
    query = select(record_table.c.assignment, record_table.c.student, record_table.c.notebook, record_table.c.record)
    if assignment:
        query = query.where(record_table.c.assignment == assignment)
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    found = []
    for row in rows:
        found.append(((row.assignment, row.student, row.notebook), SubmissionRecord.from_json(json.loads(row.record))))
    return sorted(found, key=lambda item: item[0])


def records(engine: Engine, assignment: str = "") -> list[SubmissionRecord]:
    """The records of the table, sorted by (assignment, student, notebook); one per student and part (``mark_duplicates``)."""
    found = [record for _, record in read_records(engine, assignment)]
    mark_duplicates(found)
    return found


def course_db_url(root: Path | str) -> tuple[str, str]:
    """The course's ``c.CourseDirectory.db_url`` and ``course_id``, as nbgrader run in the course reads them: the
    ``nbgrader_config.py`` of Jupyter's configuration folders (``/etc/jupyter``, ``~/.jupyter``, ...), then the
    course's own, which wins (nbgrader's defaults without any: ``sqlite:///<root>/gradebook.db``)."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    root = Path(root).absolute()
    config = Config()
    config.CourseDirectory.root = str(root)
    for folder in reversed([str(root), *jupyter_config_path()]):  # the lowest priority first, as traitlets loads
        path = Path(folder, "nbgrader_config.py")
        if path.is_file():  # the teacher's configuration, run as nbgrader runs it
            namespace = {
                "c": config,
                "get_config": lambda: config,
                "__file__": str(path),
                "__name__": "nbgrader_config",
            }
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    config.CourseDirectory.root = str(root)  # the course named, whatever a configuration above it says
    coursedir = CourseDirectory(config=config)
    return coursedir.db_url, coursedir.course_id or "default_course"
