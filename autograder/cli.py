"""The ``autograder`` command: a thin layer over ``grade.grade`` and ``course.init``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from autograder import __version__
from autograder.parts import PARTS
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
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to run the checks")
    g.add_argument("--json", type=Path, metavar="FILE", help="write the report here (and resume from it)")
    g.add_argument("--jobs", type=int, metavar="N", help="parallel jobs (default: every core)")
    g.add_argument("--force", action="store_true", help="grade again what the --json report already holds")
    g.add_argument(
        "--sandbox",
        choices=["auto", "bubblewrap", "none"],
        default="auto",
        help="auto: bubblewrap where it runs, else degraded",
    )
    g.add_argument(
        "--call-timeout",
        type=float,
        default=Limits.call_timeout,
        metavar="S",
        help="seconds one call of a student's function may take",
    )
    g.add_argument(
        "--submission-timeout",
        type=float,
        default=Limits.submission_timeout,
        metavar="S",
        help="seconds all the checks of one part of one submission may take",
    )
    g.add_argument(
        "--memory",
        type=float,
        default=Limits.memory / 2**30,
        metavar="GIB",
        help="memory of the process running a submission",
    )
    g.add_argument("--quiet", action="store_true", help="no tables, only the summary")

    c = verbs.add_parser("course", help="set up an nbgrader course")
    cverbs = c.add_subparsers(dest="course_verb", required=True)
    init = cverbs.add_parser("init", help="create a course directory wired to the hidden suites")
    init.add_argument("directory", type=Path)
    init.add_argument("--force", action="store_true", help="rewrite the configuration and sources of a course")
    init.add_argument(
        "--exchange", type=Path, metavar="DIR", help="nbgrader's exchange directory (default: DIRECTORY/exchange)"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verb == "grade":
        return grade(args)
    return course(args)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def grade(args) -> int:
    from autograder.grade import UsageError, grade
    from autograder.report import submission_table, summary

    if args.jobs is not None and args.jobs < 1:
        print("autograder grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    limits = Limits(
        call_timeout=args.call_timeout,
        submission_timeout=args.submission_timeout,
        memory=int(args.memory * 2**30),
    )
    start = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # a batch stopped by a scheduler keeps what it graded
    try:
        report = grade(
            submissions=args.submissions,
            parts=args.part,
            device=args.device,
            json_path=args.json,
            jobs=args.jobs,
            force=args.force,
            sandbox=args.sandbox,
            limits=limits,
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
        for record in report["submissions"]:
            print(submission_table(record))
            print()
    print(summary(report, time.monotonic() - start))
    return 0


def course(args) -> int:
    from autograder.nbgrader.course import CourseError, configured_exchange, init

    try:
        path = init(directory=args.directory, force=args.force, exchange=args.exchange)
    except CourseError as error:
        print(f"autograder course init: {error}", file=sys.stderr)
        return 2
    exchange = configured_exchange(path / "nbgrader_config.py")
    print(f"Course ready in {path}, exchange in {exchange}. Next: cd {path} && nbgrader generate_assignment attention")
    return 0


if __name__ == "__main__":
    sys.exit(main())
