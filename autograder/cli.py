"""The ``autograder`` command: a thin layer over ``grade.grade``, ``stats.stats`` and ``course.init``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from autograder import __version__, options
from autograder.parts import PARTS

if TYPE_CHECKING:
    from autograder.sandbox.launch import Limits


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="autograder", description="Hidden, sandboxed grading of the attention exercises."
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = top.add_subparsers(dest="verb", required=True)

    g = verbs.add_parser("grade", help="grade notebooks or .py files with the hidden suites")
    g.add_argument(
        "submissions", nargs="+", type=Path, metavar="SUBMISSION", help="a .ipynb or .py file, or a directory of them"
    )
    g.add_argument("--part", action="append", choices=list(PARTS), help="grade for this part (repeatable)")
    g.add_argument("--json", type=Path, metavar="FILE", help="write the report here (and resume from it)")
    g.add_argument("--force", action="store_true", help="grade again what the --json report already holds")
    g.add_argument(
        "--lms",
        choices=["auto", "canvas", "moodle", "blackboard"],
        help="a folder given is an LMS download (a .zip always is): one student per id in its file names",
    )
    add_csv_arguments(g)
    options.add_arguments(g)
    g.add_argument(
        "--service",
        metavar="SOCKET",
        default="",
        help="grade by the warm service listening there (autograder serve); cold where it cannot",
    )
    g.add_argument("--quiet", action="store_true", help="only the class table and the summary")
    g.add_argument("--verbose", action="store_true", help="every failed check, not one line per group")

    sv = verbs.add_parser(
        "serve", help="keep grading jobs warm for later gradings (grade --service, a course's nbgrader autograde)"
    )
    where = sv.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", type=Path, metavar="PATH", help="listen here (its folder: yours alone, mode 0700)")
    where.add_argument(
        "--course",
        type=Path,
        metavar="DIR",
        help="serve this nbgrader course's autograde (the socket: DIR/.autograder-service/socket; pictures drawn)",
    )
    options.add_arguments(sv, skip=("cluster",))

    st = verbs.add_parser("stats", help="class statistics from graded records: a page and a CSV for the teacher")
    st.add_argument(
        "sources",
        nargs="+",
        type=Path,
        metavar="SOURCE",
        help="a JSON report of autograder grade, or an nbgrader course",
    )
    st.add_argument("--html", type=Path, metavar="FILE", help="write the class page here (one self-contained file)")
    st.add_argument("--csv", type=Path, metavar="FILE", help="write the same data here, one value per row")

    gs = verbs.add_parser("gradescope", help="the Gradescope autograder archive, and its grading run")
    gverbs = gs.add_subparsers(dest="gradescope_verb", required=True)
    gbuild = gverbs.add_parser("build", help="write the archive Gradescope's autograder specification asks for")
    gbuild.add_argument("-o", "--output", type=Path, default=Path("autograder.zip"), metavar="FILE")
    gbuild.add_argument(
        "--hide",
        action="append",
        default=[],
        choices=["hints", "expected", "hidden-arguments", "check-names"],
        help="what the students' results leave out (as the course's show_* options; repeatable)",
    )
    gbuild.add_argument(
        "--visibility",
        default="visible",
        choices=["hidden", "after_due_date", "after_published", "visible"],
        help="when students see the results",
    )
    gbuild.add_argument("--sandbox", default="auto", choices=["auto", "bubblewrap", "none"])
    grun = gverbs.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    grun.add_argument("--root", type=Path, default=Path("/autograder"))

    c = verbs.add_parser("course", help="set up an nbgrader course")
    cverbs = c.add_subparsers(dest="course_verb", required=True)
    init = cverbs.add_parser("init", help="create a course directory wired to the hidden suites")
    init.add_argument("directory", type=Path)
    init.add_argument("--force", action="store_true", help="rewrite the configuration and sources of a course")
    init.add_argument(
        "--exchange", type=Path, metavar="DIR", help="nbgrader's exchange directory (default: DIRECTORY-exchange)"
    )
    init.add_argument(
        "--exchange-in-course",
        action="store_true",
        help="an exchange inside the course (default DIRECTORY/exchange): only you can reach it (a trial, a demo)",
    )
    check = cverbs.add_parser("check", help="what other local users could read or change in a course and its exchange")
    check.add_argument("directory", type=Path, metavar="COURSE")
    rost = cverbs.add_parser(
        "roster", help="add the students of a CSV (id, first_name, last_name, email) to the gradebook"
    )
    rost.add_argument("directory", type=Path, metavar="COURSE")
    rost.add_argument("file", type=Path, metavar="FILE.csv")
    export = cverbs.add_parser("export", help="the CSV files of a course's autograded notebooks")
    export.add_argument("directory", type=Path, metavar="COURSE")
    export.add_argument("--assignment", default="", help="only this assignment (default: every one)")
    add_csv_arguments(export)
    export.add_argument(
        "--id", choices=["student", "email"], default="student", help="the ids of --gradebook-csv: nbgrader's or emails"
    )
    return top


def add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, metavar="FILE", help="one row per student and part, a column per group")
    parser.add_argument("--checks-csv", type=Path, metavar="FILE", help="one row per check")
    parser.add_argument(
        "--gradebook-csv", type=Path, metavar="FILE", help="one row per student: a column per part and the total"
    )
    parser.add_argument(
        "--form", choices=["plain", "canvas", "moodle"], default="plain", help="the --gradebook-csv columns' form"
    )
    parser.add_argument("--id-column", metavar="HEADER", help="the header of the id column of --gradebook-csv")


def write_csv(args: argparse.Namespace, records: list, ids: dict[str, str] | None = None) -> None:
    from autograder.export import write_checks_csv, write_parts_csv
    from autograder.gradebook_csv import write_gradebook_csv

    if args.gradebook_csv:
        write_gradebook_csv(records=records, path=args.gradebook_csv, form=args.form, id_column=args.id_column, ids=ids)

    if args.csv:
        write_parts_csv(records=records, path=args.csv)
    if args.checks_csv:
        write_checks_csv(records=records, path=args.checks_csv)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verb == "grade":
        return grade_command(args)
    if args.verb == "stats":
        return stats_command(args)
    if args.verb == "serve":
        return serve_command(args)
    if args.verb == "gradescope":
        return gradescope_command(args)
    return course_command(args)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def grade_command(args: argparse.Namespace) -> int:

    if args.jobs < 0:
        print("autograder grade: --jobs must be at least 0 (0: one per core)", file=sys.stderr)
        return 2
    try:
        limits = options.limits(
            call_timeout=args.call_timeout, submission_timeout=args.submission_timeout, memory_gib=args.memory_gib
        )
    except ValueError as error:
        print(f"autograder grade: {error}", file=sys.stderr)
        return 2
    start = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # a batch stopped by a scheduler keeps what it graded
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="autograder-lms-") as staging:
        try:
            submissions, labels, skipped = downloads(args.submissions, args.lms, Path(staging))
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            print(f"autograder grade: {error}", file=sys.stderr)
            return 2
        for line in skipped:
            print(f"autograder grade: {line}", file=sys.stderr)
        args.submissions = submissions
        code = _grade(args, limits=limits, labels=labels, start=start)
    return code or (1 if skipped else 0)


def serve_command(args: argparse.Namespace) -> int:
    from autograder.jobs import default_jobs, job_config
    from autograder.sandbox.launch import SandboxError
    from autograder.service import ServiceError, course_socket, serve

    if args.jobs < 0:
        print("autograder serve: --jobs must be at least 0 (0: one per core)", file=sys.stderr)
        return 2
    if args.course is not None and not (args.course / "nbgrader_config.py").is_file():
        print(f"autograder serve: {args.course} is not a course (no nbgrader_config.py)", file=sys.stderr)
        return 2
    try:
        limits = options.limits(
            call_timeout=args.call_timeout, submission_timeout=args.submission_timeout, memory_gib=args.memory_gib
        )
        # nbgrader's route draws the feedback's pictures; autograder grade does not
        job = job_config(args.device, args.sandbox, limits, figures=args.course is not None)
    except ValueError as error:
        print(f"autograder serve: {error}", file=sys.stderr)
        return 2
    except SandboxError as error:
        print(f"autograder serve: --sandbox bubblewrap: {error}", file=sys.stderr)
        return 2
    path = course_socket(args.course) if args.course is not None else args.socket.absolute()
    jobs = args.jobs or default_jobs()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by systemd or kill: every job and sandbox ends
    sandbox = job.sandbox.label

    def ready() -> None:
        print(f"autograder serve: {jobs} job(s) warm (sandbox: {sandbox}), listening at {path}", flush=True)

    try:
        serve(path=path, options=job, jobs=jobs, ready=ready)
    except ServiceError as error:
        print(f"autograder serve: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"autograder serve: stopped: {error}", file=sys.stderr)
        return 1
    print("autograder serve: stopped", flush=True)
    return 0


def downloads(
    paths: list[Path], lms: str | None, staging: Path
) -> tuple[list[Path], dict[Path, tuple[str, str, str]], list[str]]:
    """The files to grade: an LMS download (a .zip, or a folder with ``--lms``) staged under ``staging``, one
    student per id; with each staged file's (student, path, note), and a line per file not graded."""
    from autograder import lms as lms_module
    from autograder.text import shown

    files: list[Path] = []
    labels: dict[Path, tuple[str, str, str]] = {}
    skipped: list[str] = []
    for number, path in enumerate(paths):
        if not (path.suffix == ".zip" and path.is_file()) and not (lms and path.is_dir()):
            files.append(path)
            continue
        found = lms_module.read(path, "" if lms in (None, "auto") else lms)
        for name in found.unmatched:
            skipped.append(f"{shown(path.name)}/{shown(name)}: not graded: its name fits no Canvas, Moodle or "
                           "Blackboard pattern")  # fmt: skip
        for name, why in found.refused:
            skipped.append(f"{shown(path.name)}/{shown(name)}: not graded: {why}")
        for entry in [e for e in found.entries if not e.file.endswith((".ipynb", ".py"))]:
            skipped.append(
                f"{shown(path.name)}/{shown(entry.name)}: not graded: it is neither a notebook nor a .py file"
            )
            found.entries.remove(entry)
        staged = lms_module.stage(found, staging / str(number), path.name)
        for target, (student, label, entry) in staged.items():
            late = f"handed in late ({entry.lms})" if entry.late else ""
            labels[target] = (student, label, late)
        files.append(staging / str(number))
        if not staged:
            skipped.append(f"{shown(path.name)}: nothing to grade in it")
            files.pop()
    if not files:
        raise ValueError("nothing to grade")
    return files, labels, skipped


def _grade(args: argparse.Namespace, *, limits: Limits | None, labels: dict, start: float) -> int:
    from autograder.grade import UsageError, grade
    from autograder.report import class_table, submission_table, summary

    try:
        report = grade(
            labels=labels,
            submissions=args.submissions,
            parts=args.part,
            device=args.device,
            json_path=args.json,
            jobs=args.jobs or None,
            force=args.force,
            sandbox=args.sandbox,
            limits=limits,
            cluster=args.cluster,
            service=args.service,
        )
    except UsageError as error:
        print(f"autograder grade: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"autograder grade: grading stopped: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = f" what was graded is in {args.json}; the same command goes on from there" if args.json else ""
        print(f"\nautograder grade: interrupted;{where}", file=sys.stderr)
        return 130
    if not args.quiet:
        for record in report.submissions:
            print(submission_table(record, verbose=args.verbose))
            print()
    table = class_table(report)
    if table:
        print(table)
        print()
    print(summary(report, time.monotonic() - start))
    write_csv(args, report.submissions)
    return not_graded(report.submissions)


def not_graded(records: list) -> int:
    """One line on stderr per file that was not graded, and why; 1 when there is one, else 0."""
    from autograder.text import printable, shown

    failed = [r for r in records if r.error or r.grader_error]
    for record in failed:
        why = printable(record.grader_error or record.error)
        print(f"autograder grade: {shown(record.path)}: not graded: {why}", file=sys.stderr)
    return 1 if failed else 0


def gradescope_command(args: argparse.Namespace) -> int:
    from autograder import gradescope as gs
    from autograder.feedback import Reveal

    if args.gradescope_verb == "run":
        try:
            gs.run(root=args.root)
        except (OSError, ValueError, RuntimeError) as error:
            print(f"autograder gradescope run: {error}", file=sys.stderr)
            return 1
        return 0
    hidden = set(args.hide)
    reveal = Reveal(
        hints="hints" not in hidden,
        expected="expected" not in hidden,
        hidden_arguments="hidden-arguments" not in hidden,
        check_names="check-names" not in hidden,
    )
    try:
        out = gs.build(output=args.output, reveal=reveal, visibility=args.visibility, sandbox=args.sandbox)
    except (OSError, ValueError) as error:
        print(f"autograder gradescope build: {error}", file=sys.stderr)
        return 2
    print(f"Gradescope autograder archive: {out} (upload it as the assignment's autograder)")
    return 0


def course_export_command(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from autograder.nbgrader.course_records import COURSE_RECORDS, course_records, gradebook_exists, path_component
    from autograder.nbgrader.records_db import course_db_url
    from autograder.text import shown

    if not (args.csv or args.checks_csv or args.gradebook_csv):
        print("autograder course export: say where: --csv, --checks-csv or --gradebook-csv FILE", file=sys.stderr)
        return 2
    records = course_records(args.directory, args.assignment)
    if not records:
        db_url, _ = course_db_url(args.directory)
        if gradebook_exists(db_url):  # the records are in the gradebook; its password is not shown
            where = "the gradebook " + make_url(db_url).render_as_string(hide_password=True)
            where += f" for {shown(args.assignment)}" if args.assignment else ""
        else:
            where = str(args.directory / COURSE_RECORDS / (path_component(args.assignment) if args.assignment else ""))
        print(f"autograder course export: no records in {where}: run nbgrader autograde first", file=sys.stderr)
        return 2
    ids = None
    if args.id == "email":
        from autograder.nbgrader.course import roster_emails

        ids = roster_emails(args.directory)
    write_csv(args, records, ids)
    print(f"{len(records)} notebook(s) exported from {args.directory}")
    return 0


def stats_command(args: argparse.Namespace) -> int:
    from autograder.stats import SourceError, stats, summary

    try:
        result = stats(sources=args.sources, html_path=args.html, csv_path=args.csv)
    except SourceError as error:
        print(f"autograder stats: {error}", file=sys.stderr)
        return 2
    print(summary(result))
    for label, path in (("class page", args.html), ("CSV", args.csv)):
        if path is not None:
            print(f"{label}: {path}")
    return 0


def course_command(args: argparse.Namespace) -> int:
    from autograder.nbgrader.course import CourseError, configured_exchange, init, reachable_by_others

    if args.course_verb == "export":
        return course_export_command(args)
    if args.course_verb == "check":
        return course_check_command(args)
    if args.course_verb == "roster":
        return course_roster_command(args)
    try:
        path = init(
            directory=args.directory,
            force=args.force,
            exchange=args.exchange,
            exchange_in_course=args.exchange_in_course,
        )
    except CourseError as error:
        print(f"autograder course init: {error}", file=sys.stderr)
        return 2
    exchange = configured_exchange(path / "nbgrader_config.py")
    print(f"Course ready in {path}, exchange in {exchange}. Next: cd {path} && nbgrader generate_assignment attention")
    if exchange is not None and not reachable_by_others(exchange):
        print(
            f"Note: other users cannot reach {exchange} (a folder on the way is closed to them): fine for a course "
            "only you use; for students, choose --exchange in a place they can reach, such as /srv/nbgrader/exchange"
        )
    return 0


def course_roster_command(args: argparse.Namespace) -> int:
    from autograder.nbgrader.course import CourseError, RosterError, roster

    try:
        counts = roster(directory=args.directory, path=args.file)
    except (CourseError, RosterError) as error:
        print(f"autograder course roster: {error}", file=sys.stderr)
        return 2
    print(f"{counts['added']} student(s) added, {counts['updated']} updated, {counts['unchanged']} unchanged")
    return 0


def course_check_command(args: argparse.Namespace) -> int:
    from autograder.nbgrader.course import CourseError, check

    try:
        found = check(directory=args.directory)
    except CourseError as error:
        print(f"autograder course check: {error}", file=sys.stderr)
        return 2
    for line in found:
        print(f"- {line}")
    print(
        f"{len(found)} thing(s) other users could read or change."
        if found
        else "Nothing other users could read or change."
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
