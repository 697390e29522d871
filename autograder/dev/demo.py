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
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from autograder.dev.examples import CORRECT, GRADEBOOK_ATTACK, MISTAKES, notebook, reference_code
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, config_text, exchange_dir, init
from autograder.nbgrader.notebooks import ASSIGNMENT, nbgrader_env
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


def nbgrader(where: Path, *args: str, home: Path | None = None, quiet: bool = False) -> None:
    """Run ``nbgrader ARGS`` in ``where``; with ``home``, as a student whose home that is."""
    start = time.monotonic()
    env = nbgrader_env()
    if home is not None:  # the student's own Jupyter directories: fetch_feedback reads submit's cache there
        env.update(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))
        env.pop("JUPYTER_CONFIG_DIR", None)
    command = [sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"]
    subprocess.run(command, cwd=where, env=env, check=True)
    if not quiet:
        print(f"$ nbgrader {' '.join(args)}  ({time.monotonic() - start:.1f} s)", flush=True)


def student_dir(course: Path, student: str) -> Path:
    return course / "students" / student


def hand_in(course: Path, student: str, answers: dict[str, str | None]) -> None:
    """``student`` fetches the assignment into a directory of their own, fills it in and submits it."""
    home = student_dir(course, student)
    home.mkdir(parents=True)
    # what a student's nbgrader needs: the course and its exchange, as course init wrote it for them
    shutil.copyfile(course / STUDENT_CONFIG_NAME, home / "nbgrader_config.py")
    nbgrader(home, "fetch_assignment", ASSIGNMENT, home=home, quiet=True)
    for part, code in answers.items():
        if code is not None:  # None: the notebook as fetched
            nbformat.write(notebook(part, code), home / ASSIGNMENT / f"{part}.ipynb")
    nbgrader(home, "submit", ASSIGNMENT, "--student", student, home=home, quiet=True)


def fetch_feedback(course: Path, student: str) -> list[Path]:
    """``student`` fetches their feedback; the HTML files it gave them."""
    home = student_dir(course, student)
    nbgrader(home, "fetch_feedback", ASSIGNMENT, "--student", student, home=home, quiet=True)
    return sorted((home / ASSIGNMENT / "feedback").rglob("*.html"))


def run_course(course: Path, answers: dict[str, dict[str, str | None]]) -> dict[str, list[Path]]:
    """The whole route in a fresh ``course``, for students -> part -> code; each student's fetched feedback."""
    # every student here is this unix user: the exchange may be in the course, which only this user reaches
    init(directory=course, exchange_in_course=True)
    print(
        f"Course created in {course}/, its exchange in {exchange_dir(course, in_course=True)}/ (autograder course init)"
    )
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    nbgrader(course, "release_assignment", ASSIGNMENT)
    for student, code in answers.items():
        hand_in(course, student, code)
    print(f"Fetched, filled in and submitted by: {', '.join(answers)} (nbgrader fetch_assignment, submit)")
    # collect takes a folder for a student only from its owner: for an id without an account, the uid that
    # first submitted under it (here this user, for every student)
    nbgrader(course, "collect", ASSIGNMENT)
    nbgrader(course, "autograde", ASSIGNMENT)
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "release_feedback", ASSIGNMENT)
    fetched = {student: fetch_feedback(course, student) for student in answers}
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
        print(f"  {student}: {paths[0].parent if paths else student_dir(course, student)}/ {names}")
    page = class_page(course)
    print(f"\nDone in {time.monotonic() - start:.0f} s. Open a feedback file in a browser to see a student's report.")
    print(f"The class page (autograder stats {course}): {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
