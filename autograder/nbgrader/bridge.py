"""The nbgrader bridge: the hidden suites score each notebook's grade cell during ``nbgrader autograde``.

``HiddenSuites`` takes the place of nbgrader's ``Execute`` preprocessor: the student's notebook is
never run in a Jupyter kernel. Its answer cells go to the sandboxed grading jobs, as with
``autograder grade``; the score comes back to the trusted process, which writes it into the grade
cell as nbgrader's partial credit (a plain float in an ``execute_result``), together with the
report of every check and the pictures. ``SaveGradesAndRecord`` (in place of nbgrader's
``SaveAutoGrades``) then stores the scores in the gradebook and the record in the package's table of
the same database (``records_db``), in one transaction; ``generate_feedback`` renders the report.

Where the course's warm service runs (``autograder serve --course``), the notebooks go to its jobs,
already warm (``service.ServicePool``); otherwise, or where it cannot grade, to jobs of this run.
The jobs stay warm for the whole ``nbgrader autograde`` run, and on the first notebook they start
grading, once each, the notebooks this run will hand over later (``prefetch_all``), in parallel, so
that the later notebooks find their result ready (a result is used only if the answer cells it graded
are those nbgrader hands over).
"""

from __future__ import annotations

import atexit
import fnmatch
import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades
from traitlets import TraitError
from traitlets.config import Config

from autograder import options, submission
from autograder.feedback import Reveal, escaped, part_html
from autograder.jobs import JobConfig, Pool, default_jobs, job_config
from autograder.nbgrader.layout import grade_cell_part
from autograder.parts import PARTS
from autograder.processes import Reaper
from autograder.records import SubmissionRecord
from autograder.sandbox.launch import SandboxError
from autograder.submission import refusal, refused_record
from autograder.text import shown

if TYPE_CHECKING:
    from nbgrader.coursedir import CourseDirectory


class Session:
    """The grading jobs of one nbgrader run, and the results already known, by (part, answers' digest).

    It ends with the run (``atexit``): the jobs stop, and every process they started has ended and
    been reaped before nbgrader exits.
    """

    def __init__(
        self,
        options: JobConfig,
        jobs: int,
        cluster: str = "",
        service: str = "",
        say: Callable[[str], None] | None = None,
    ) -> None:
        from autograder.jobs import make_pool

        self.reaper = Reaper().__enter__()
        self.pool = make_pool(options, jobs, cluster, service, say)
        self.known: dict[tuple[str, str], SubmissionRecord] = {}
        self.wanted: dict[int, tuple[str, str]] = {}
        self.count = 0
        self.prefetched = False
        atexit.register(self.close)

    def close(self) -> None:
        try:
            self.pool.close()
        finally:
            self.reaper.__exit__(None, None, None)

    def submit(self, path: str, answers: submission.Answers, part: str) -> tuple[str, str]:
        key = (part, answers.digest())
        if key not in self.known and key not in self.wanted.values():
            self.count += 1
            sub = submission.Submission(
                path=path, code=answers.code, parts=[part], index=self.count, sha256=key[1], answers=answers
            )
            self.wanted[sub.index] = key
            self.pool.submit(sub)
        return key

    def result(self, key: tuple[str, str]) -> SubmissionRecord:
        while key not in self.known:
            index, record = self.pool.next()
            self.known[self.wanted.pop(index)] = record
        return self.known[key]


_session: Session | None = None

#: The key of ``resources`` under which ``HiddenSuites`` hands the notebook's record to ``SaveGradesAndRecord``.
RECORD = "autograder_record"


def notebook_part(nb: NotebookNode) -> tuple[str, NotebookNode | None]:
    """The part a notebook belongs to, and its grade cell (None without one)."""
    for cell in nb.cells:
        part = grade_cell_part(cell)
        if part in PARTS:
            return part, cell
    return "", None


#: The configurable options of the hidden suites (``autograder.options``), as traits: ``c.HiddenSuites.<name>``.
HiddenSuitesOptions = type(NbGraderPreprocessor)("HiddenSuitesOptions", (NbGraderPreprocessor,), options.traits())


class HiddenSuites(HiddenSuitesOptions):  # type: ignore[valid-type,misc]  # a base made from the options table
    """Score the grade cell of each notebook with the hidden suite of its part, in the sandbox."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        # traitlets only warns about a name it does not know: a misspelt option would silently keep its default
        known = set(self.trait_names(config=True))
        unknown = sorted(set(self.config.get("HiddenSuites", {})) - known)
        if unknown:
            allowed = ", ".join(o.name for o in options.OPTIONS)
            raise TraitError(f"unknown option c.HiddenSuites.{unknown[0]}: the options are {allowed}")

    def session(self) -> Session:
        global _session
        if _session is None:
            limits = options.limits(
                call_timeout=self.call_timeout, submission_timeout=self.submission_timeout, memory_gib=self.memory_gib
            )
            try:
                job = job_config(self.device, self.sandbox, limits, figures=True, cluster=bool(self.cluster))
            except SandboxError as error:
                raise TraitError(f"c.HiddenSuites.sandbox = 'bubblewrap': {error}") from None
            if job.sandbox.kind != "bubblewrap":
                self.log.warning("autograder: no bubblewrap sandbox (%s): grading in degraded mode", job.sandbox.reason)
            _session = Session(
                job,
                self.jobs or default_jobs(),
                self.cluster,
                self.course_service(),
                lambda line: self.log.info("autograder: %s", line),
            )
        return _session

    def course_service(self) -> str:
        """The socket of the course's warm service (``autograder serve --course``) where there is one, else "".

        Whether it is used (it answers, with the course's options) or not, the log says so in one line.
        """
        from nbgrader.coursedir import CourseDirectory

        from autograder.service import course_socket

        if self.cluster:
            return ""
        found = course_socket(CourseDirectory(config=self.config).root)
        if not os.path.lexists(found):
            self.log.info("autograder: no warm service for this course (%s): grading cold", found)
            return ""
        return str(found)

    def prefetch_all(self, session: Session, resources: ResourcesDict) -> None:
        """Start grading, once, every notebook this nbgrader run will grade after this one.

        Those are the assignment's notebooks (the names in ``source/<assignment>/``, as nbgrader's
        ``notebook_id`` selects them) of the students it autogrades (``student_id``; only those in
        the gradebook when nbgrader does not create students). Other files in a student's folder
        are never read. A notebook that cannot be read is skipped here, at no cost to anyone else:
        nbgrader hands it over in its turn, and it gets its own record then.
        """
        session.prefetched = True
        try:
            wanted = self.notebooks_to_grade(resources["nbgrader"]["assignment"])
        except Exception as error:  # prefetching is a speed-up: without it every notebook is still graded
            self.log.warning("autograder: no prefetch (%s: %s)", type(error).__name__, error)
            return
        if not self.jobs and isinstance(session.pool, Pool) and not session.pool.processes:
            # as ``autograder grade``: one job for one student's few notebooks (a regrade), whose second job
            # would cost as much start-up again as it saves (``jobs.FEW``)
            session.pool.jobs = default_jobs(len(wanted))
        sources = self.sources(resources["nbgrader"]["assignment"])
        for path in wanted:
            try:
                sub = submission.load(path)
                if sub.error or sub.refused or refusal(sub.answers, sources):  # not graded: nothing to fetch
                    continue
                if len(sub.parts) == 1 and sub.parts[0] in PARTS:
                    session.submit(path, sub.answers, sub.parts[0])
            except Exception as error:
                self.log.warning("autograder: %s not prefetched (%s: %s)", shown(path), type(error).__name__, error)

    def sources(self, assignment: str) -> list[Path]:
        """The course's source notebooks of ``assignment`` (``source/<assignment>/*.ipynb``)."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        return sorted(Path(coursedir.format_path(coursedir.source_directory, ".", assignment)).glob("*.ipynb"))

    def notebooks_to_grade(self, assignment: str) -> list[str]:
        """The submitted notebooks nbgrader's autograde of ``assignment`` will hand over, in its order."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        names = sorted(p.stem for p in source.glob("*.ipynb") if fnmatch.fnmatchcase(p.stem, coursedir.notebook_id))
        folders = glob.glob(coursedir.format_path(coursedir.submitted_directory, coursedir.student_id, assignment))
        students = {Path(folder).parent.name: folder for folder in folders if os.path.isdir(folder)}
        if not self.config.Autograde.get("create_student", True):
            from nbgrader.api import Gradebook

            with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
                known = {student.id for student in gb.students}
            students = {s: folder for s, folder in students.items() if s in known}
        excluded = set(coursedir.student_id_exclude.split(",")) if coursedir.student_id_exclude else set()
        paths = []
        for student in sorted(set(students) - excluded):
            mine = [os.path.join(students[student], f"{name}.ipynb") for name in names]
            mine = [path for path in mine if os.path.isfile(path)]
            try:
                skipped = self.skipped(coursedir, assignment, student, students[student], mine)
            except Exception:  # a timestamp nbgrader cannot read either: it says so in its turn
                skipped = False
            if not skipped:
                paths += mine
        return paths

    def skipped(
        self, coursedir: CourseDirectory, assignment: str, student: str, submitted: str, paths: list[str]
    ) -> bool:
        """Whether nbgrader's autograde certainly skips this student's ``paths`` (already autograded, not
        ``--force``, not handed in again since): as nbgrader's ``BaseConverter.init_destination`` decides."""
        if self.config.BaseConverter.get("force", False) or self.config.Autograde.get("force", False):
            return False
        dest = os.path.normpath(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        if coursedir.notebook_id == "*":
            if not os.path.isdir(dest):
                return False
        elif not all(os.path.exists(os.path.join(dest, os.path.basename(path))) for path in paths):
            return False
        new, old = coursedir.get_existing_timestamp(submitted), coursedir.get_existing_timestamp(dest)
        return not (new is not None and old is not None and new > old)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        part, cell = notebook_part(nb)
        if cell is None:
            self.log.warning("autograder: %s has no hidden-tests grade cell", shown(resources["nbgrader"]["notebook"]))
            return nb, resources
        session = self.session()
        if self.prefetch and not session.prefetched:
            self.prefetch_all(session, resources)
        info = resources["nbgrader"]
        path = f"{info['student']}/{info['assignment']}/{info['notebook']}.ipynb"
        try:
            answers, _, note = submission.notebook_answers(nb)
        except submission.TooLarge as error:  # refused for its size before anything parsed it: 0, and why
            answers, note = None, ""
            record = SubmissionRecord(path, wanted=[part])
            record.error = f"{info['notebook']}.ipynb was not graded: {error}".removesuffix("; it was not graded")
        except Exception as error:  # answer cells of a shape no notebook has: this notebook scores 0, and says why
            answers, note = None, ""
            record = SubmissionRecord(path, wanted=[part])
            record.error = f"could not read the answer cells: {type(error).__name__}: {error}"
        note = self.renamed_note(info) + note
        reason = refusal(answers, self.sources(info["assignment"])) if answers is not None else ""
        if reason:  # the course's own notebook, or its solution markers: not graded, and not shown back
            record = refused_record(SubmissionRecord(path, wanted=[part]), reason)
            self.blank(nb, reason)
            self.log.warning("autograder: %s %s", shown(path), reason)
        elif answers is not None:
            record = session.result(session.submit(path, answers, part))
        if record.grader_error:  # not the student's 0: autograde fails for this notebook, to be run again
            raise RuntimeError(f"autograder: {shown(path)} was not graded: {record.grader_error}")
        self.write(cell, record, part, session.pool.environment, note)
        resources[RECORD] = self.keep(record, info)  # SaveGradesAndRecord writes it with the scores
        self.log.info("autograder: %s scored %s / %s", shown(path), record.score, record.max_score)
        return nb, resources

    def renamed_note(self, info: dict) -> str:
        """A note for a notebook that ``zip_collect`` collected under its part's name (``nbgrader.lms``)."""
        from nbgrader.coursedir import CourseDirectory

        from autograder.nbgrader.lms import renamed

        coursedir = CourseDirectory(config=self.config)
        assignment, student, notebook = str(info["assignment"]), str(info["student"]), str(info["notebook"])
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment), f"{notebook}.ipynb")
        given = renamed(coursedir.root, assignment, student, notebook, submitted)
        if not given:
            return ""
        self.log.warning(
            "autograder: %s handed in %s, graded as %s", shown(info["student"]), shown(given), info["notebook"]
        )
        return f"You handed this notebook in as {given}; it was graded as {info['notebook']}, the part its cells name. "

    @staticmethod
    def blank(nb: NotebookNode, reason: str) -> None:
        """Take the answers out of a refused notebook (its feedback would show them): every code cell but
        the grade cells, and every answer cell, holds the reason instead."""
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") or (cell.cell_type == "code" and not meta.get("grade")):
                cell.source = f"# {reason}" if cell.cell_type == "code" else reason
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None

    def keep(self, record: SubmissionRecord, info: dict) -> SubmissionRecord:
        """The record as the gradebook keeps it (``SaveGradesAndRecord``): the student's, by their path in the course."""
        from dataclasses import replace

        return replace(
            record,
            student=str(info["student"]),
            path=f"{info['student']}/{info['assignment']}/{info['notebook']}.ipynb",
        )

    def reveal(self) -> Reveal:
        """What the students' reports show (``show_hints``, ``show_expected``, ...)."""
        return Reveal(
            hints=self.show_hints,
            expected=self.show_expected,
            hidden_arguments=self.show_hidden_arguments,
            check_names=self.show_check_names,
        )

    def write(self, cell: NotebookNode, record: SubmissionRecord, part: str, environment: dict, note: str) -> None:
        """The grade cell's outputs: the report, the pictures, then the score as nbgrader reads it."""
        result = record.part(part)
        points = float(cell.metadata["nbgrader"]["points"])
        if result is not None:
            score = round(result.score * points / result.max_score, 2)
            report = part_html(result, environment, self.reveal())
        else:  # the notebook could not be graded at all: say why, and score 0
            score, report = 0.0, f"<p><b>{escaped(record.error or 'not graded')}</b></p>"
        if note:
            report = f"<p><i>{escaped(note)}</i></p>" + report
        outputs = [new_output("display_data", data={"text/html": report, "text/plain": f"{part}: {score:g} points"})]
        for figure in result.figures if result is not None else []:
            data = {"image/png": figure["png"], "text/plain": figure["title"]}
            outputs.append(new_output("display_data", data=data, metadata={"image/png": {"alt": figure["title"]}}))
        outputs.append(
            new_output("execute_result", data={"text/plain": repr(min(max(score, 0.0), points))}, execution_count=1)
        )
        cell.outputs = outputs
        cell.execution_count = 1


class SaveGradesAndRecord(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, and the record of the hidden suites, in one transaction.

    nbgrader's own commits after each cell; here every score and comment of the notebook, then its
    record (``records_db.record_table``, keyed by assignment, student and notebook), are written in
    the gradebook's session and committed once: a failure anywhere leaves neither (nbgrader then
    reports the notebook as failed, and the regrade puts the earlier results back). A transaction
    that met a locked SQLite database (another autograde committing) is tried again from the start.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.coursedir import CourseDirectory

        from autograder.nbgrader import records_db

        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        record = resources.get(RECORD)
        records_db.ensure_once(self.db_url)
        course_id = CourseDirectory(config=self.config).course_id  # nbgrader's own is "default_course"
        records_db.retrying(
            lambda: self.save(nb, resources, record, course_id),
            when=records_db.locked,
            pause=0.2,
            on_retry=lambda: self.log.warning("autograder: the gradebook is locked by another process: trying again"),
        )
        return nb, resources

    def save(self, nb: NotebookNode, resources: ResourcesDict, record: SubmissionRecord | None, course_id: str) -> None:
        """The notebook's scores and comments, and its record, in one transaction: all committed, or none."""
        from nbgrader.api import Gradebook

        from autograder.nbgrader import records_db

        self.gradebook = Gradebook(self.db_url, course_id)
        with self.gradebook:
            session = self.gradebook.db
            try:
                for index, cell in enumerate(nb.cells):
                    self.preprocess_cell(cell, resources, index)
                if record is not None:
                    names = (str(self.assignment_id), str(self.student_id), str(self.notebook_id))
                    records_db.upsert(session, records_db.record_row(*names, record))
                session.commit()
            except BaseException:
                session.rollback()
                raise

    # nbgrader 0.9's _add_score and _add_comment, without their commit (``preprocess`` commits once)
    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        from nbgrader import utils

        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        auto_score, _ = utils.determine_grade(cell, self.log)
        grade.auto_score = auto_score
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        self.gradebook.db.flush()

    def _add_comment(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        from nbgrader import utils

        comment = self.gradebook.find_comment(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        no_response = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
        comment.auto_comment = "No response." if no_response and not utils.is_task(cell) else None
        self.gradebook.db.flush()


def use_hidden_suites(c: Config) -> None:
    """Wire an nbgrader configuration to the hidden suites (``nbgrader_config.py`` calls this)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput

    # nbgrader's default list, with HiddenSuites where Execute ran the notebook in a kernel, and the record
    # saved with the scores (SaveGradesAndRecord, in place of SaveAutoGrades)
    c.Autograde.autograde_preprocessors = [
        HiddenSuites,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveGradesAndRecord,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.OverwriteCells.add_missing_cells = True  # a deleted grade cell comes back, and is scored

    # a regrade that fails or is killed leaves the earlier results (autograder.nbgrader.regrade)
    from autograder.nbgrader import regrade

    regrade.find_on_path()
    regrade.install()
    regrade.recover(c.CourseDirectory.get("root") or os.getcwd())

    # feedback pages: what the student wrote (markdown, outputs) is never live HTML; the report is ours
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from autograder.nbgrader.sanitize import FeedbackHTML, SanitizeOutputs

    c.GenerateFeedback.exporter_class = FeedbackHTML
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, SanitizeOutputs]
