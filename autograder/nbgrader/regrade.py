"""``nbgrader autograde`` that loses nothing: a regrade that fails or is killed leaves the earlier results.

nbgrader's ``Autograde`` removes a student's autograded notebooks before it grades them again
(``--force``, or a newer submission), and removes what it made when grading fails: a misspelt option
or an interrupted run left a course without the notebooks that ``generate_feedback`` needs. Here,
before nbgrader touches a student's assignment, a copy of what it is about to replace is kept in
``autograder-regrade/<assignment>/<student>/``: the autograded folder and their gradebook entries
(scores, comments, flags, late penalty, timestamp, and the records of the hidden suites,
``records_db``). The copy is dropped once the student is graded; when grading fails, is interrupted or
killed, it is put back (at once, or by the next nbgrader command of the course when the process was
killed). The options of ``HiddenSuites`` are checked before anything is touched.

Several ``nbgrader autograde`` of one course may run at once (TAs grading different students): each
holds a lock of its own on the student it grades (``Backup.hold``), not on the course, and a copy is
put back only by a process that can take its student's lock (its own, or one left by a process that
was killed, whose lock went with it).

nbgrader makes its converter itself (``AutogradeApp.start``), with no setting to name another: the
course's configuration puts ``SafeAutograde`` in its place (``install``).
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from nbgrader.converters import Autograde, NbGraderException
from traitlets import TraitError

from autograder.nbgrader.course_records import COURSE_RECORDS, path_component

#: The folder of the copies, in the course.
REGRADE = "autograder-regrade"
#: Written last in a copy: a copy without it was cut short before nbgrader touched anything.
COMPLETE = "complete"


def _records_folder(root: Path, assignment: str, student: str) -> Path:  # the file records, before the database
    return root / COURSE_RECORDS / path_component(assignment) / path_component(student)


def _copy_folder(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)


def gradebook_entries(db_url: str, course_id: str, assignment: str, student: str) -> dict[str, Any] | None:
    """A student's gradebook entries for one assignment, their records included (None: no submission there yet)."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.nbgrader import records_db

    records_db.ensure_once(db_url)
    with Gradebook(db_url, course_id) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "records": records_db.student_rows(gb.db, assignment, student),
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "notebooks": {
                nb.name: {
                    "flagged": nb.flagged,
                    "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {
                        g.name: [g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade] for g in nb.grades
                    },
                    "comments": {c.name: [c.auto_comment, c.manual_comment] for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def restore_gradebook_entries(db_url: str, course_id: str, assignment: str, student: str, entries: dict) -> None:
    """Put back what ``gradebook_entries`` read, in one transaction."""
    from nbgrader.api import Gradebook

    from autograder.nbgrader import records_db

    records_db.ensure_once(db_url)
    with Gradebook(db_url, course_id) as gb:
        sub = gb.find_submission(assignment, student)
        stamp = entries["timestamp"]
        sub.timestamp = datetime.datetime.fromisoformat(stamp) if stamp else None
        for nb in sub.notebooks:
            kept = entries["notebooks"].get(nb.name)
            if kept is None:
                continue
            nb.flagged = kept["flagged"]
            nb.late_submission_penalty = kept["late_submission_penalty"]
            for grade in nb.grades:
                if grade.name in kept["grades"]:
                    grade.auto_score, grade.manual_score, grade.extra_credit, grade.needs_manual_grade = kept["grades"][
                        grade.name
                    ]
            for comment in nb.comments:
                if comment.name in kept["comments"]:
                    comment.auto_comment, comment.manual_comment = kept["comments"][comment.name]
        if "records" in entries:  # a copy taken before the records were in the database has them as files
            records_db.put_back_rows(gb.db, assignment, student, entries["records"])
        gb.db.commit()


class Backup:
    """The copy of one student's assignment, kept while nbgrader grades it again."""

    def __init__(self, root: Path, assignment: str, student: str) -> None:
        self.root, self.assignment, self.student = root, assignment, student
        self.folder = root / REGRADE / path_component(assignment) / path_component(student)
        names = hashlib.sha256(json.dumps([assignment, student]).encode("utf-8", "surrogatepass")).hexdigest()
        self.lock_path = root / REGRADE / f"{names}.lock"  # beside the copies: no glob of theirs meets it
        self.lock: int | None = None

    def hold(self, *, wait: bool = True) -> bool:
        """Take this student's lock (kept until ``drop`` or ``restore``); with ``wait=False``, False when
        another process holds it (it is grading this student now)."""
        if self.lock is not None:
            return True
        self.lock_path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self.lock = fd
        return True

    def release(self) -> None:
        fd, self.lock = self.lock, None
        if fd is not None:
            os.close(fd)

    def take(self, dest: Path, db_url: str, course_id: str) -> None:
        """Copy what nbgrader may replace: the autograded folder ``dest``, the gradebook entries and records."""
        self.hold()
        if (self.folder / "backup.json").exists():  # left by a process killed since this one started
            self.restore(keep_lock=True)
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, mode=0o700)
        self.earlier = dest.is_dir()
        if dest.is_dir():
            _copy_folder(dest, self.folder / "autograded")
        meta = {
            "assignment": self.assignment,
            "student": self.student,
            "dest": str(dest),
            "db_url": db_url,
            "course_id": course_id,
            "gradebook": gradebook_entries(db_url, course_id, self.assignment, self.student),
        }
        self.earlier = self.earlier or meta["gradebook"] is not None
        (self.folder / "backup.json").write_text(json.dumps(meta))
        (self.folder / COMPLETE).touch()

    def drop(self, *, keep_lock: bool = False) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if not keep_lock:
            self.release()

    def restore(self, *, keep_lock: bool = False) -> None:
        """Put the copy back in place of what a failed or cut-short grading left, then drop it."""
        if not (self.folder / COMPLETE).exists():  # cut short while copying: nothing was touched yet
            self.drop(keep_lock=keep_lock)
            return
        meta = json.loads((self.folder / "backup.json").read_text())
        dest = Path(meta["dest"])
        if dest.exists() or dest.is_symlink():
            shutil.rmtree(dest) if dest.is_dir() and not dest.is_symlink() else dest.unlink()
        if (self.folder / "autograded").is_dir():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder / "autograded", dest)
        if meta["gradebook"] is not None:
            restore_gradebook_entries(
                meta["db_url"], meta["course_id"], self.assignment, self.student, meta["gradebook"]
            )
        if (self.folder / "records").is_dir():  # a copy taken when the records were files: they go to the database
            self._restore_file_records(meta["db_url"], meta["course_id"])
        self.drop(keep_lock=keep_lock)

    def _restore_file_records(self, db_url: str, course_id: str) -> None:
        from autograder.nbgrader import records_db

        records = _records_folder(self.root, self.assignment, self.student)
        if records.exists():
            shutil.rmtree(records)
        records.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.folder / "records", records)
        engine = records_db.prepare(self.root, db_url, course_id)  # the tables, and the other files migrated
        with engine.begin() as connection:
            records_db.put_back_rows(connection, self.assignment, self.student, {})
        records_db.migrate_files(self.root, engine)


def leftovers(root: Path) -> list[Backup]:
    """The copies a killed regrade left in ``root``, each with its student's lock held (a copy whose
    student another process is grading now is not one)."""
    found = []
    for meta in sorted((root / REGRADE).glob("*/*/backup.json")):
        data = json.loads(meta.read_text())
        backup = Backup(root, data["assignment"], data["student"])
        if backup.hold(wait=False):
            if (backup.folder / "backup.json").exists():
                found.append(backup)
            else:  # put back by another process meanwhile
                backup.release()
    for folder in sorted((root / REGRADE).glob("*/*")):  # a copy cut short before its backup.json
        if folder.is_dir() and not (folder / "backup.json").exists():
            _remove_cut_short(root, folder)
    return found


def _remove_cut_short(root: Path, folder: Path) -> None:
    """Remove ``folder`` (no backup.json) when no live process is writing it (its student's lock is free).
    Its names come back from its path (``name_of``); one whose names cannot be read back is left alone
    (the next ``take`` of that student replaces it)."""
    from autograder.nbgrader.course_records import name_of

    assignment, student = name_of(folder.parent.name), name_of(folder.name)
    if assignment is None or student is None:
        return
    backup = Backup(root, assignment, student)
    if not backup.hold(wait=False):
        return
    try:
        if not (folder / "backup.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        backup.release()


def recover(root: Path | str) -> list[str]:
    """Put back what a killed regrade of the course at ``root`` left half done; the ``(assignment, student)``
    put back, as text. A student another process is grading now is left to it (it holds their lock)."""
    root = Path(root)
    if not (root / REGRADE).is_dir():
        return []
    done = []
    for backup in leftovers(root):
        backup.restore()
        done.append(f"{backup.assignment}/{backup.student}")
    return done


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class SafeAutograde(Autograde):
    """nbgrader's ``Autograde``, with a copy of each student's earlier results until their regrade is done."""

    notebooks: list[str]  # the student's submitted notebooks (nbgrader's ``init_notebooks``)

    def start(self) -> None:
        from autograder.nbgrader.bridge import HiddenSuites

        root = Path(self.coursedir.root).resolve()
        try:  # a misspelt or bad option stops here, before anything is removed
            HiddenSuites(config=self.config)
        except TraitError as error:
            self.log.error("autograder: %s (nothing was graded, nothing removed)", error)
            raise NbGraderException(str(error)) from None
        from autograder.nbgrader import records_db

        records_db.prepare(root, self.coursedir.db_url, self.coursedir.course_id)  # tables made, files migrated
        for backup in leftovers(root):
            self.log.warning("autograder: putting back %s/%s, left by a regrade that was cut short",
                             backup.assignment, backup.student)  # fmt: skip
            backup.restore()
        self._current: Backup | None = None
        previous = signal.signal(signal.SIGTERM, _interrupt)  # a stopped run puts back what it took
        try:
            super().start()
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._put_back()

    def _put_back(self) -> None:
        """The student being graded did not finish: put their earlier results back."""
        backup, self._current = self._current, None
        if backup is not None:
            kept = ": its earlier results are kept" if getattr(backup, "earlier", True) else ""
            self.log.warning("autograder: %s/%s was not graded%s", backup.assignment, backup.student, kept)
            backup.restore()

    def init_destination(self, assignment_id: str, student_id: str) -> bool:
        self._put_back()  # the student before failed (nbgrader went on with the next one)
        dest = Path(os.path.normpath(self._format_dest(assignment_id, student_id)))
        backup = Backup(Path(self.coursedir.root).resolve(), assignment_id, student_id)
        backup.take(dest, self.coursedir.db_url, self.coursedir.course_id)
        self._current = backup
        go = super().init_destination(assignment_id, student_id)
        if not go:  # skipped: nothing touched
            self._current = None
            backup.drop()
        return go

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        from nbgrader.api import Gradebook, MissingEntry

        from autograder.nbgrader.lms import graded_as_parts

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                known = {notebook.name for notebook in gb.find_assignment(assignment_id).notebooks}
            except MissingEntry:  # nbgrader says so below
                known = set()
        root = Path(self.coursedir.root).resolve()
        self.notebooks = graded_as_parts(
            self.notebooks, known, root=root, assignment=assignment_id, student=student_id, log=self.log
        )
        super().init_assignment(assignment_id, student_id)
        source = Path(self._format_source(assignment_id, student_id))
        hand_made(source, Path(self._format_dest(assignment_id, student_id)), student_id, self.log)

    def run_post_convert_hook(self) -> None:
        super().run_post_convert_hook()
        if self._current is not None:  # this student is graded: the copy is no longer needed
            self._current.drop()
            self._current = None


def hand_made(source: Path, dest: Path, student: str, log: Any) -> None:
    """A submission that reached ``submitted/`` by hand or by ``zip_collect`` has no ``timestamp.txt`` and no
    ``submission_secret.txt`` (``nbgrader submit`` writes them), which ``release_feedback`` reads: it gets the
    time of its newest notebook, and a secret of its own, so its feedback is released under a name no student
    holds (they fetch none: hand them their ``feedback/`` pages), rather than stopping ``release_feedback``."""
    import secrets

    dest.mkdir(parents=True, exist_ok=True)
    timestamp, secret = dest / "timestamp.txt", dest / "submission_secret.txt"
    if not timestamp.exists():
        times = [p.stat().st_mtime for p in source.glob("*.ipynb")] or [datetime.datetime.now().timestamp()]
        when = datetime.datetime.fromtimestamp(max(times), datetime.timezone.utc)
        timestamp.write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    if not secret.exists():
        secret.write_text(secrets.token_hex(64))
        log.warning(
            "autograder: %s's submission did not come through nbgrader submit (no submission_secret.txt): "
            "release_feedback releases it under a name no student knows; give them feedback/ yourself",
            student,
        )


def install() -> None:
    """Make ``nbgrader autograde`` use ``SafeAutograde`` (``nbgrader_config.py`` calls this, through
    ``use_hidden_suites``)."""
    import nbgrader.apps.autogradeapp as app

    app.Autograde = SafeAutograde


def find_on_path() -> None:
    """nbgrader runs ``alembic`` (to create a gradebook) from ``PATH``: put this environment's ``bin/`` there
    when it is missing, so that nbgrader works without an activated environment."""
    here = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(here, "alembic")):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
