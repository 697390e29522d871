"""The course simulator: a course folder, the real nbgrader commands in it, and students who hand in.

The demo (``make demo``), the bench (``make bench``) and the tests drive a course through here and
nowhere else:

- ``Classroom.create(root)`` builds a course with ``autograder course init`` (its exchange in the
  course with ``exchange_in_course``), adds lines of configuration, and ``release()`` generates
  (and, through the exchange, releases) the assignment.
- ``nbgrader(folder, *args)`` runs the real ``nbgrader`` command of this environment in a folder
  (a course, or a student's home with ``home``); it must succeed unless not ``ok``.
- ``hand_in`` puts a student's notebooks where ``nbgrader collect`` would have put them
  (``submitted/<student>/<assignment>/``); ``submit`` goes the students' way instead: fetch the
  assignment into a home of their own, fill it in, ``nbgrader submit``; ``fetch_feedback`` brings
  their feedback home.

A notebook handed in is given as a notebook, as code (the released notebook with the code in its
first answer cell, ``filled``) or as None (the released notebook, untouched).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import nbformat

from autograder.dev.examples import filled
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, init
from autograder.nbgrader.notebooks import ASSIGNMENT, nbgrader_env

#: What a student hands in for a part: a notebook, the code of its answer cells, or None (as released).
Answer = nbformat.NotebookNode | str | None


def nbgrader(
    folder: Path,
    *args: str,
    ok: bool = True,
    home: Path | None = None,
    log: IO[str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``folder``, from this environment; with ``home``, as a student whose home that is.

    Its output is kept in the result (or written to ``log``); it must succeed unless not ``ok``
    (RuntimeError with the end of what it said).
    """
    env = nbgrader_env()
    if log is not None:
        env["PYTHONWARNINGS"] = "ignore:Object of type"  # the kernels' start-up notices
    if home is not None:  # the student's own Jupyter directories: fetch_feedback reads submit's cache there
        env.update(HOME=str(home), JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))
        env.pop("JUPYTER_CONFIG_DIR", None)
    output = {"stdout": log, "stderr": log} if log is not None else {"capture_output": True}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=folder, env=env, text=True, timeout=timeout, **output
    )
    if ok and done.returncode != 0:
        said = (done.stderr or "")[-3000:] if log is None else f"(its output is in {log.name})"
        raise RuntimeError(f"nbgrader {' '.join(args)} exited with {done.returncode}: {said}")
    return done


@dataclass
class Classroom:
    """A course folder made by ``autograder course init`` and what its students hand in."""

    root: Path
    exchange_in_course: bool = False
    log: IO[str] | None = None  # where nbgrader's output goes (None: kept in each result)
    quiet: bool = True  # else each nbgrader command of the course prints a line with its seconds

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        exchange_in_course: bool = False,
        config: str = "",
        log: IO[str] | None = None,
        quiet: bool = True,
    ) -> Classroom:
        """A fresh course in ``root`` (``course init``), with ``config`` appended to its nbgrader_config.py."""
        init(directory=root, exchange_in_course=exchange_in_course)
        if config:
            with (root / "nbgrader_config.py").open("a") as file:
                file.write(config.rstrip("\n") + "\n")
        return cls(root, exchange_in_course, log, quiet)

    def nbgrader(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        """``nbgrader ARGS`` in the course."""
        start = time.monotonic()
        done = nbgrader(self.root, *args, "--log-level=WARN", ok=ok, log=self.log)
        if not self.quiet:
            print(f"$ nbgrader {' '.join(args)}  ({time.monotonic() - start:.1f} s)", flush=True)
        return done

    def release(self, exchange: bool = False) -> None:
        """Generate the assignment (``release/``); with ``exchange``, release it to the exchange too."""
        self.nbgrader("generate_assignment", ASSIGNMENT)
        if exchange:
            self.nbgrader("release_assignment", ASSIGNMENT)

    def released(self, part: str) -> nbformat.NotebookNode:
        """The notebook of ``part`` as the course released it."""
        return nbformat.read(self.root / "release" / ASSIGNMENT / f"{part}.ipynb", as_version=4)

    def notebook(self, part: str, answer: Answer) -> nbformat.NotebookNode:
        if answer is None:
            return self.released(part)
        return filled(self.released(part), answer) if isinstance(answer, str) else answer

    def hand_in(self, student: str, answers: Mapping[str, Answer]) -> Path:
        """``student``'s notebooks, where ``nbgrader collect`` puts them; the folder."""
        folder = self.root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for part, answer in answers.items():
            nbformat.write(self.notebook(part, answer), folder / f"{part}.ipynb")
        return folder

    def home(self, student: str) -> Path:
        """The student's own folder (their home, for nbgrader)."""
        return self.root / "students" / student

    def submit(self, student: str, answers: Mapping[str, Answer]) -> None:
        """``student`` fetches the assignment into a home of their own, fills it in and submits it."""
        home = self.home(student)
        home.mkdir(parents=True)
        # what a student's nbgrader needs: the course and its exchange, as course init wrote it for them
        shutil.copyfile(self.root / STUDENT_CONFIG_NAME, home / "nbgrader_config.py")
        self._as_student(student, "fetch_assignment", ASSIGNMENT)
        for part, answer in answers.items():
            if answer is not None:  # None: the notebook as fetched
                path = home / ASSIGNMENT / f"{part}.ipynb"
                fetched = nbformat.read(path, as_version=4)
                nbformat.write(filled(fetched, answer) if isinstance(answer, str) else answer, path)
        self._as_student(student, "submit", ASSIGNMENT, "--student", student)

    def fetch_feedback(self, student: str) -> list[Path]:
        """``student`` fetches their feedback; the HTML files it gave them."""
        self._as_student(student, "fetch_feedback", ASSIGNMENT, "--student", student)
        return sorted((self.home(student) / ASSIGNMENT / "feedback").rglob("*.html"))

    def _as_student(self, student: str, *args: str) -> None:
        home = self.home(student)
        nbgrader(home, *args, "--log-level=WARN", home=home, log=self.log)
