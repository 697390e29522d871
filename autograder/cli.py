"""The ``autograder`` command: a thin layer over ``grade.grade``, ``stats.stats`` and ``course.init``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from autograder import __version__, options
from autograder.parts import PARTS


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
    add_csv_arguments(g)
    options.add_arguments(g)
    g.add_argument("--quiet", action="store_true", help="only the class table and the summary")
    g.add_argument("--verbose", action="store_true", help="every failed check, not one line per group")

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
    export = cverbs.add_parser("export", help="the CSV files of a course's autograded notebooks")
    export.add_argument("directory", type=Path, metavar="COURSE")
    export.add_argument("--assignment", default="", help="only this assignment (default: every one)")
    add_csv_arguments(export)
    return top


def add_csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, metavar="FILE", help="one row per student and part, a column per group")
    parser.add_argument("--checks-csv", type=Path, metavar="FILE", help="one row per check")


def write_csv(args: argparse.Namespace, records: list) -> None:
    from autograder.export import write_checks_csv, write_parts_csv

    if args.csv:
        write_parts_csv(records=records, path=args.csv)
    if args.checks_csv:
        write_checks_csv(records=records, path=args.checks_csv)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verb == "grade":
        return grade(args)
    if args.verb == "stats":
        return stats(args)
    return course(args)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def grade(args: argparse.Namespace) -> int:
    from autograder.grade import UsageError, grade
    from autograder.report import class_table, submission_table, summary

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
    try:
        report = grade(
            submissions=args.submissions,
            parts=args.part,
            device=args.device,
            json_path=args.json,
            jobs=args.jobs or None,
            force=args.force,
            sandbox=args.sandbox,
            limits=limits,
            cluster=args.cluster,
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
    return 0


def course_export(args: argparse.Namespace) -> int:
    from autograder.records import COURSE_RECORDS, course_records, path_component

    if not (args.csv or args.checks_csv):
        print("autograder course export: say where: --csv FILE, --checks-csv FILE or both", file=sys.stderr)
        return 2
    records = course_records(args.directory, args.assignment)
    if not records:
        where = args.directory / COURSE_RECORDS / (path_component(args.assignment) if args.assignment else "")
        print(f"autograder course export: no records in {where}: run nbgrader autograde first", file=sys.stderr)
        return 2
    write_csv(args, records)
    print(f"{len(records)} notebook(s) exported from {args.directory}")
    return 0


def stats(args: argparse.Namespace) -> int:
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


def course(args: argparse.Namespace) -> int:
    from autograder.nbgrader.course import CourseError, configured_exchange, init, reachable_by_others

    if args.course_verb == "export":
        return course_export(args)
    if args.course_verb == "check":
        return course_check(args)
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


def course_check(args: argparse.Namespace) -> int:
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
