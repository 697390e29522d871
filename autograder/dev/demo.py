"""``make demo``: a course graded end to end with the real nbgrader commands, through its exchange.

Builds a course (``autograder course init``: the configuration, the sources and the exchange),
generates and releases the assignment; a few simulated students (one all correct, one written
differently, one with typical bugs, one who hands in the untouched notebooks, one who tries to
rewrite the gradebook) each fetch it into a directory of their own, fill it in and submit it; the
course collects, autogrades, generates and releases the feedback; each student fetches theirs. It
prints the gradebook and where each student's feedback landed, and ends with the class page
(``autograder stats`` of the course: ``class-stats.html`` and ``class-stats.csv`` in it).

The students all run as this process's unix user, which is the name nbgrader's exchange would
give each of them: so each one submits and fetches feedback with ``--student NAME``, and has a
home of their own (``students/NAME/``), where nbgrader keeps the cache that ``fetch_feedback``
reads. Since no other user takes part, the exchange is inside the course (``--exchange-in-course``),
which stays private; collect takes each student's folder because its owner, this user, is the uid
that first submitted under that id.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from autograder.dev.classroom import Classroom
from autograder.dev.examples import CORRECT, GRADEBOOK_ATTACK, MISTAKES, reference_code
from autograder.nbgrader.course import config_text, exchange_dir
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS


def _mistake(name: str) -> str:
    return next(m.code for m in MISTAKES if m.name == name)


def students() -> dict[str, dict[str, str | None]]:
    """Student -> part -> code of the answer cells (None: the notebook as released)."""
    different: dict[str, str | None] = {e.part: e.code for e in reversed(CORRECT)}
    return {
        "ada": {part: reference_code(part) for part in PARTS},
        "barbara": different,
        "grace": {
            "smoother": _mistake("kernel flipped (true convolution)"),
            "vocab": _mistake("ties sorted alphabetically"),
            "attention": _mistake("NaN on fully masked rows"),
            "masking": _mistake("heads split without transpose"),
        },
        "linus": dict.fromkeys(PARTS),
        "mallory": {"smoother": GRADEBOOK_ATTACK.code, "vocab": None, "attention": None, "masking": None},
    }


def run_course(course: Path, answers: dict[str, dict[str, str | None]]) -> dict[str, list[Path]]:
    """The whole route in a fresh ``course``, for students -> part -> code; each student's fetched feedback."""
    # every student here is this unix user: the exchange may be in the course, which only this user reaches
    room = Classroom.create(course, exchange_in_course=True, quiet=False)
    print(
        f"Course created in {course}/, its exchange in {exchange_dir(course, in_course=True)}/ (autograder course init)"
    )
    room.release(exchange=True)
    for student, code in answers.items():
        room.submit(student, code)
    print(f"Fetched, filled in and submitted by: {', '.join(answers)} (nbgrader fetch_assignment, submit)")
    # collect takes a folder for a student only from its owner: for an id without an account, the uid that
    # first submitted under it (here this user, for every student)
    for verb in ("collect", "autograde", "generate_feedback", "release_feedback"):
        room.nbgrader(verb, ASSIGNMENT)
    fetched = {student: room.fetch_feedback(student) for student in answers}
    print(f"Feedback fetched by: {', '.join(answers)} (nbgrader fetch_feedback)")
    return fetched


def gradebook_table(course: Path) -> str:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in sorted(s.id for s in gb.students):
            scores = []
            for part in PARTS:
                try:
                    scores.append(gb.find_submission_notebook(part, ASSIGNMENT, student).score)
                except Exception:
                    scores.append(None)
            total = sum(s or 0 for s in scores)
            rows.append([student, *(f"{s:g}" if s is not None else "-" for s in scores), f"{total:g}"])
    header = ["student", *PARTS, "total"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def class_page(course: Path) -> Path:
    """``autograder stats`` of the course, from the records its autograde kept: the page (and the CSV beside it)."""
    from autograder.stats import stats, summary

    page = course / "class-stats.html"
    print()
    print(summary(stats(sources=[course], html_path=page, csv_path=page.with_suffix(".csv"))))
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("demo-course"))
    course = parser.parse_args(argv).directory
    if course.exists():
        config = course / "nbgrader_config.py"
        if not config.exists() or config.read_text() != config_text(exchange_dir(course, in_course=True)):
            print(
                f"{course} exists and is not a demo course of this version: not touching it (remove it to start again)",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(course)  # a previous demo: start again
    start = time.monotonic()
    fetched = run_course(course, students())
    print()
    print(gradebook_table(course))
    print()
    print("Each student's feedback, as nbgrader fetch_feedback gave it to them:")
    for student, paths in fetched.items():
        names = ", ".join(path.name for path in paths) or "nothing"
        print(f"  {student}: {paths[0].parent if paths else Classroom(course).home(student)}/ {names}")
    page = class_page(course)
    print(f"\nDone in {time.monotonic() - start:.0f} s. Open a feedback file in a browser to see a student's report.")
    print(f"The class page (autograder stats {course}): {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
