"""``make demo``: a course graded end to end with the real nbgrader commands.

Builds a course (``autograder course init``), releases the assignment, hands in notebooks for a few
simulated students (one all correct, one written differently, one with typical bugs, one who
handed in the untouched notebooks, one who tries to rewrite the gradebook), then runs
``nbgrader autograde`` and ``nbgrader generate_feedback`` and prints the gradebook and the
feedback files.
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
from autograder.nbgrader.course import CONFIG, init
from autograder.nbgrader.notebooks import ASSIGNMENT, nbgrader_env
from autograder.parts import PARTS


def _mistake(name: str) -> str:
    return next(m.code for m in MISTAKES if m.name == name)


def students() -> dict[str, dict[str, str | None]]:
    """Student -> part -> code of the answer cells (None: the notebook as released)."""
    different = {e.part: e.code for e in reversed(CORRECT)}
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


def nbgrader(course: Path, *args: str) -> None:
    start = time.monotonic()
    print(f"$ nbgrader {' '.join(args)}", flush=True)
    env = nbgrader_env()
    env["PYTHONWARNINGS"] = "ignore:Object of type"  # nbgrader 0.9's gradebook with SQLAlchemy 2: not ours
    subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=course, env=env, check=True)  # fmt: skip
    print(f"  ({time.monotonic() - start:.1f} s)", flush=True)


def hand_in(course: Path, student: str, answers: dict[str, str | None]) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for part, code in answers.items():
        released = course / "release" / ASSIGNMENT / f"{part}.ipynb"
        if code is None:
            shutil.copyfile(released, folder / f"{part}.ipynb")
        else:
            nbformat.write(notebook(part, code), folder / f"{part}.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-28 09:00:00.000000 UTC")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("demo-course"))
    course = parser.parse_args(argv).directory
    if course.exists():
        if not (course / "nbgrader_config.py").exists() or (course / "nbgrader_config.py").read_text() != CONFIG:
            print(f"{course} exists and is not a demo course: not touching it", file=sys.stderr)
            return 2
        shutil.rmtree(course)  # a previous demo: start again
    start = time.monotonic()
    init(directory=course)
    print(f"Course created in {course}/ (autograder course init)")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    for student, answers in students().items():
        hand_in(course, student, answers)
    print(f"Handed in: {', '.join(students())}")
    nbgrader(course, "autograde", ASSIGNMENT)
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    print()
    print(gradebook_table(course))
    print()
    print("Feedback files:")
    for path in sorted((course / "feedback").rglob("*.html")):
        print(f"  {path}")
    print(f"\nDone in {time.monotonic() - start:.0f} s. Open a feedback file in a browser to see a student's report.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
