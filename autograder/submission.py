"""Reading submissions: the code to grade, and the parts to grade it for.

A notebook is graded by its nbgrader answer cells (``solution`` in the cell's nbgrader metadata),
each on its own, in order (``cells``); a ``.py`` file by its whole text, as one cell. Nothing here runs the code: names are
found by parsing it. A file that cannot be read, decoded or parsed, or is not a submission, gives
a ``Submission`` with an ``error``, whatever the reason: ``load`` never raises for a submission's
content. A directory stands for the notebooks and ``.py`` files in it (``expand``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder import cells
from autograder.cells import Answers, Unparsable, defined_names
from autograder.parts import PARTS
from autograder.records import SubmissionRecord

__all__ = ["Answers", "Submission", "Unparsable", "defined_names", "expand", "load", "notebook_answers"]

MAX_BYTES = 20 << 20
SUFFIXES = (".ipynb", ".py")


@dataclass
class Submission:
    """One file to grade."""

    path: str
    code: str = ""
    parts: list[str] = field(default_factory=list)
    error: str = ""
    note: str = ""
    sha256: str = ""
    index: int = 0
    student: str = ""  # in an nbgrader tree, the student whose folder holds it
    answers: Answers = field(default_factory=Answers)  # what is graded, cell by cell

    def __post_init__(self) -> None:
        if self.code and not self.answers.cells:  # code given without its cells: a .py file's
            self.answers = cells.of_file(self.code)

    def record(self) -> SubmissionRecord:
        """The start of this submission's record: its parts are added as they are graded."""
        return SubmissionRecord(
            self.path, self.sha256, list(self.parts), error=self.error, note=self.note, student=self.student
        )


def parts_defined(code: str) -> list[str] | None:
    names = defined_names(code)
    if names is None:
        return None
    return [name for name, part in PARTS.items() if names & set(part.names)]


def notebook_answers(nb: dict) -> tuple[Answers, str, str]:
    """(the answer cells, the part its grade cell names, a note) of a notebook's JSON (``cells.of_notebook``)."""
    return cells.of_notebook(nb)


def _submissions_in(directory: Path) -> list[Path]:
    """The notebooks and .py files under ``directory``, sorted; hidden folders and __pycache__ skipped."""
    found = []
    for folder, subfolders, files in os.walk(directory):
        # .ipynb_checkpoints holds Jupyter's autosaves, not what the student handed in
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        found += [Path(folder, f) for f in files if f.endswith(SUFFIXES) and not f.startswith(".")]
    return sorted(found)


def expand(paths: Sequence[Path | str]) -> list[Path]:
    """The files to grade, in order: each file as given, each directory as the submissions in it.

    A path given twice is graded once. FileNotFoundError for a path that does not exist or a
    directory that holds no notebook or .py file.
    """
    files: dict[Path, None] = {}
    for path in map(Path, paths):
        if path.is_dir():
            inside = _submissions_in(path)
            if not inside:
                raise FileNotFoundError(f"{path} holds no notebook (.ipynb) or .py file")
            files.update(dict.fromkeys(inside))
        elif path.exists():
            files[path] = None
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return list(files)


def student_of(path: Path) -> str:
    """The student of a file in an nbgrader tree, else "".

    ``<course>/submitted/<student>/<assignment>/.../<file>``, or the same shape under any folder of
    a course (``autograded/``, a renamed ``submitted/``): a course is a folder with an
    ``nbgrader_config.py``. The student is named by the outermost such level of the file's path:
    what a student's folder holds (a ``submitted/`` tree, a course of its own) names nobody else.
    """
    folders = list(reversed(path.absolute().parents))  # the root first
    for depth, folder in enumerate(folders[:-2]):  # a student's folder, then an assignment's, below it
        if folder.name == "submitted" or (depth and (folders[depth - 1] / "nbgrader_config.py").is_file()):
            return folders[depth + 1].name
    return ""


def load(path: Path | str, parts: list[str] | None = None, index: int = 0) -> Submission:
    """Read a submission; ``parts`` overrides which parts it is graded for. Never raises for its content."""
    path = Path(path)
    sub = Submission(path=str(path), index=index, student=student_of(path))
    if path.suffix not in SUFFIXES:
        sub.error = f"{path.name} is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
        return sub
    try:
        return _load(path, parts, sub)
    except Exception as error:  # whatever a crafted file does to a parser: this submission's record says so
        sub.code, sub.answers = "", Answers()
        sub.error = f"could not read {path.name}: {_reason(error)}"
        sub.parts = list(parts) if parts else ([path.stem] if path.stem in PARTS else [])
        return sub


def _reason(error: BaseException) -> str:
    if isinstance(error, (ValueError, OSError)) and str(error):
        return str(error)
    if isinstance(error, RecursionError):
        return "it is nested too deeply to be read"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _load(path: Path, parts: list[str] | None, sub: Submission) -> Submission:
    with path.open("rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"it is larger than {MAX_BYTES >> 20} MiB")
    sub.sha256 = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8")
    if path.suffix == ".ipynb":
        nb = json.loads(text)
        try:
            sub.answers, named, sub.note = notebook_answers(nb)
        except ValueError:
            raise
        except Exception as error:  # cells of a shape nbformat would not write
            raise ValueError(f"it is not a well-formed notebook ({type(error).__name__}: {error})") from None
    elif path.suffix == ".py":
        sub.answers, named = cells.of_file(text), ""
    else:
        raise ValueError("it is neither a notebook (.ipynb) nor a Python file (.py)")
    sub.code = sub.answers.code
    if parts:
        sub.parts = list(parts)
    elif named in PARTS:  # a notebook is graded for its own part
        sub.parts = [named]
    elif path.suffix == ".ipynb" and path.stem in PARTS:
        sub.parts = [path.stem]
    else:  # a .py for every part whose names it defines
        found = parts_defined(sub.code)
        sub.parts = list(PARTS) if found is None else found
        if not sub.parts:
            sub.error = f"{path.name} defines none of the exercise names ({', '.join(n for p in PARTS.values() for n in p.names)})"
    return sub
