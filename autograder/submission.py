"""Reading submissions: the code to grade, and the parts to grade it for.

A notebook is graded by its nbgrader answer cells (``solution`` in the cell's nbgrader metadata),
each on its own, in order (``cells``); a ``.py`` file by its whole text, as one cell. Nothing here runs the code: names are
found by parsing it. A file that cannot be read, decoded or parsed, or is not a submission, gives
a ``Submission`` with an ``error``, whatever the reason: ``load`` never raises for a submission's
content. A directory stands for the notebooks and ``.py`` files in it (``expand``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder import cells
from autograder.cells import MAX_CODE_BYTES, Answers, TooLarge, Unparsable, defined_names
from autograder.nbgrader import layout
from autograder.parts import PARTS
from autograder.records import PartResult, SubmissionRecord
from autograder.text import shown

__all__ = [
    "Answers",
    "Submission",
    "TooLarge",
    "Unparsable",
    "defined_names",
    "expand",
    "load",
    "notebook_answers",
    "refusal",
    "refused_record",
]

#: The most a file may hold to be read at all: a .py file is all code (``cells.MAX_CODE_BYTES``); a
#: notebook's JSON also holds outputs and metadata, and parsing it takes up to 24 times its size.
MAX_BYTES = {".py": MAX_CODE_BYTES, ".ipynb": 8 << 20}
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
    refused: str = ""  # it is one of the course's source notebooks (``refusal``): not graded, 0 and a flag

    def __post_init__(self) -> None:
        if self.code and not self.answers.cells:  # code given without its cells: a .py file's
            self.answers = cells.of_file(self.code)

    def record(self) -> SubmissionRecord:
        """The start of this submission's record: its parts are added as they are graded (a refused one's are 0)."""
        record = SubmissionRecord(
            self.path, self.sha256, list(self.parts), error=self.error, note=self.note, student=self.student
        )
        return refused_record(record, self.refused) if self.refused else record


def parts_defined(code: str) -> list[str] | None:
    names = defined_names(code)
    if names is None:
        return None
    return [name for name, part in PARTS.items() if names & set(part.names)]


def notebook_answers(nb: dict) -> tuple[Answers, str, str]:
    """(the answer cells, the part its grade cell names, a note) of a notebook's JSON (``layout.of_notebook``)."""
    return layout.of_notebook(nb)


def _submissions_in(directory: Path) -> list[Path]:
    """The notebooks and .py files under ``directory``, sorted; hidden folders and __pycache__ skipped, and
    links (a student's folder is theirs: a link in it may point at anything the grader can read)."""
    found = []
    for folder, subfolders, files in os.walk(directory):  # links to folders are listed, never walked into
        # .ipynb_checkpoints holds Jupyter's autosaves, not what the student handed in
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        found += [
            Path(folder, f)
            for f in files
            if f.endswith(SUFFIXES) and not f.startswith(".") and not os.path.islink(os.path.join(folder, f))
        ]
    return sorted(found)


def expand(paths: Sequence[Path | str]) -> list[Path]:
    """The files to grade, in order: each file as given, each directory as the submissions in it.

    A path given twice is graded once. FileNotFoundError for a path that does not exist or a
    directory that holds no notebook or .py file.
    """
    return list(arguments_of(paths))


def arguments_of(paths: Sequence[Path | str]) -> dict[Path, Path]:
    """``expand``'s files, each with the argument it came from (itself, or the directory that holds it)."""
    files: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            inside = _submissions_in(path)
            if not inside:
                raise FileNotFoundError(f"{shown(path)} holds no notebook (.ipynb) or .py file")
            files.update((file, path) for file in inside if file not in files)
        elif path.exists():
            files.setdefault(path, path)
        else:
            raise FileNotFoundError(f"{shown(path)}: no such file or directory")
    return files


def student_of(path: Path, root: Path | None = None) -> str:
    """The student of a file in an nbgrader tree, else "".

    ``<course>/submitted/<student>/<assignment>/.../<file>``, or the same shape under any folder of
    a course (``autograded/``, a renamed ``submitted/``): a course is a folder with an
    ``nbgrader_config.py``. The student is named by the outermost such level of the file's path:
    what a student's folder holds (a ``submitted/`` tree, a course of its own) names nobody else.
    The levels looked at start at the course that holds ``root`` (what the teacher named: a
    directory given to ``autograder grade``, or the file itself), or at ``root`` itself when no
    course holds it: an ``nbgrader_config.py`` further up (a teacher's home) names nobody.
    """
    path = path.absolute()
    folders = list(reversed(path.parents))  # the root of the file system first
    if root is not None:
        root = root.absolute()
        start = root if root.is_dir() else root.parent
        course = next((f for f in (start, *start.parents) if (f / "nbgrader_config.py").is_file()), None)
        base = course if course is not None else start
        folders = [f for f in folders if f == base or base in f.parents]
    for depth, folder in enumerate(folders[:-2]):  # a student's folder, then an assignment's, below it
        if folder.name == "submitted" or (depth and (folders[depth - 1] / "nbgrader_config.py").is_file()):
            return folders[depth + 1].name
    return ""


# ---------------------------------------------------------------- the course's own notebooks

#: A line that opens or closes a solution region of nbgrader's source notebooks (``### BEGIN SOLUTION``).
MARKER = re.compile(r"^[ \t]*#[# \t]*(?:BEGIN|END)[ \t]+SOLUTION\b", re.MULTILINE | re.IGNORECASE)
SOURCE_NOTEBOOK = (
    "refused: this is the course's source notebook (its answer cells are the reference answers), not work of "
    "the student's own; not graded, 0 points, and a flag for a TA"
)
MARKERS_LEFT = (
    "refused: its answer cells hold the markers of the course's solution regions (the comments BEGIN SOLUTION "
    "and END SOLUTION), which only the course's source notebooks have; not graded, 0 points, and a flag for a TA"
)


def _normal(code: str) -> str:
    """Code compared with the reference answers: its solution markers dropped, every run of whitespace one space."""
    return " ".join(MARKER.sub("", code).split())


@functools.cache
def _reference_answers() -> frozenset[str]:
    """The answers of the source notebooks built from solutions/ (``notebooks.source_json``), ``_normal``."""
    from autograder.nbgrader.notebooks import source_json

    return frozenset(_normal(notebook_answers(source_json(part))[0].code) for part in PARTS)


def _answers_of(path: Path) -> str:
    """The ``_normal`` answers of a notebook of the course (a teacher's source notebook), "" if unreadable."""
    try:
        found = path.stat()
    except OSError:
        return ""
    return _answers_at(path, found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=64)
def _answers_at(path: Path, mtime: int, size: int) -> str:
    """``_answers_of`` a file as it was at ``mtime`` with ``size`` bytes: read once while it stays so."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES[".ipynb"] + 1)
        return "" if len(data) > MAX_BYTES[".ipynb"] else _normal(notebook_answers(json.loads(data))[0].code)
    except Exception:  # not a notebook this grader can read: nothing to compare with
        return ""


def course_sources(path: Path) -> list[Path]:
    """The source notebooks (``source/<assignment>/*.ipynb``) of every course a file is in (a folder
    with an ``nbgrader_config.py`` among its parents)."""
    return [
        notebook
        for folder in path.absolute().parents
        if (folder / "nbgrader_config.py").is_file()
        for notebook in sorted((folder / "source").glob("*/*.ipynb"))
    ]


def refusal(answers: Answers, sources: Iterable[Path] = ()) -> str:
    """Why a submission is refused, or "": its answer cells still hold nbgrader's solution markers, or
    are, whitespace aside, those of a source notebook (built from solutions/, or one of ``sources``:
    the course's own ``source/<assignment>/<notebook>.ipynb``, which a teacher may have edited)."""
    if any(MARKER.search(cell.source) for cell in answers.cells):
        return MARKERS_LEFT
    code = _normal(answers.code)
    if code and (code in _reference_answers() or any(code == _answers_of(p) for p in sources)):
        return SOURCE_NOTEBOOK
    return ""


def refused_record(record: SubmissionRecord, reason: str) -> SubmissionRecord:
    """``record`` as refused: each of its parts at 0 with the reason as its error and a flag for a TA."""
    record.parts = [PartResult(part, error=reason, flags=[reason]) for part in record.wanted]
    return record


def load(path: Path | str, parts: list[str] | None = None, index: int = 0, root: Path | None = None) -> Submission:
    """Read a submission; ``parts`` overrides which parts it is graded for; ``root``: the argument it came
    from (``student_of``). Never raises for its content."""
    path = Path(path)
    sub = Submission(path=str(path), index=index, student=student_of(path, root))
    if path.suffix not in SUFFIXES:
        sub.error = f"{shown(path.name)} is not a submission: it is neither a notebook (.ipynb) nor a Python file (.py)"
        return sub
    try:
        sub = _load(path, parts, sub)
        if not sub.error:
            sub.refused = refusal(sub.answers, course_sources(path))
        return sub
    except TooLarge as error:  # refused for its size, before anything parsed it: 0 points, and why
        sub.code, sub.answers = "", Answers()
        sub.error = f"{shown(path.name)} was not graded: {error}".removesuffix("; it was not graded")
        sub.parts = list(parts) if parts else ([path.stem] if path.stem in PARTS else [])
        return sub
    except Exception as error:  # whatever a crafted file does to a parser: this submission's record says so
        sub.code, sub.answers = "", Answers()
        sub.error = f"could not read {shown(path.name)}: {_reason(error)}"
        sub.parts = list(parts) if parts else ([path.stem] if path.stem in PARTS else [])
        return sub


def _reason(error: BaseException) -> str:
    if isinstance(error, (ValueError, OSError)) and str(error):
        return str(error)
    if isinstance(error, RecursionError):
        return "it is nested too deeply to be read"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _load(path: Path, parts: list[str] | None, sub: Submission) -> Submission:
    limit = MAX_BYTES[path.suffix]
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        said = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
        why = "; a notebook's outputs count: clear them and hand it in again" if path.suffix == ".ipynb" else ""
        raise TooLarge(f"it is larger than {said}, the most the grader reads of a {path.suffix} file{why}")
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
            sub.error = f"{shown(path.name)} defines none of the exercise names ({', '.join(n for p in PARTS.values() for n in p.names)})"
    return sub
