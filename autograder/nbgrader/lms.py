"""An LMS download into an nbgrader course, through nbgrader's own ``zip_collect``.

``course init`` configures the two plugins of ``nbgrader zip_collect``:

- ``SafeExtractor`` reads each download in ``downloaded/<assignment>/archive/`` (a zip, or a folder)
  with ``autograder.lms`` (bounded, no link followed, no name used as a path) and writes each file
  it can attribute to a student as ``extracted/<student>/<n>_<late>_<name>``, names of ours; a file
  whose name fits no pattern, or that is refused, is named in a warning and not extracted;
- ``LmsCollector`` reads those names back, and gives each notebook the name of the part its nbgrader
  cells say (a renamed ``Smoother-Copy1.ipynb`` is collected as ``smoother.ipynb``, with a warning
  for the TA). A second notebook of a part from one student is kept beside the first as
  ``<part>-<n>.ipynb``, which ``autograde`` does not grade: never added, and named in a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

from autograder import lms
from autograder.nbgrader.course_records import name_of, path_component
from autograder.text import shown

#: A student id nbgrader can use as a folder name.
SAFE_ID = re.compile(r"[A-Za-z0-9@_-][A-Za-z0-9@._-]*")


class SafeExtractor(ExtractorPlugin):
    """Extract LMS downloads within bounds, one folder per student, names of ours."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        count = 0
        for entry_name in sorted(os.listdir(archive_path)):
            source = Path(archive_path, entry_name)
            if source.is_symlink() or not (source.is_dir() or source.suffix == ".zip"):
                self.log.warning(
                    "autograder: %s is not an LMS download (a zip or a folder): skipped", shown(entry_name)
                )
                continue
            try:
                found = lms.read(source)
            except Exception as error:  # a broken or oversized zip: the others go on
                self.log.warning("autograder: %s not read: %s", shown(entry_name), error)
                continue
            for name in found.unmatched:
                self.log.warning(
                    "autograder: %s/%s: its name fits no Canvas, Moodle or Blackboard pattern: not collected",
                    shown(entry_name),
                    shown(name),
                )
            for name, why in found.refused:
                self.log.warning("autograder: %s/%s: not collected: %s", shown(entry_name), shown(name), why)
            for entry in found.entries:
                if entry.student in {".", ".."} or not SAFE_ID.fullmatch(entry.student):
                    self.log.warning("autograder: %s: the id %s cannot name a folder: not collected",
                                     shown(entry.name), shown(entry.student))  # fmt: skip
                    continue
                stem, suffix = os.path.splitext(entry.file)
                folder = Path(extracted_path, path_component(entry.student))
                folder.mkdir(parents=True, exist_ok=True)
                late = "L" if entry.late else "-"
                attempt = entry.attempt or "-"
                target = folder / f"{count:05d}_{late}_{attempt}_{path_component(stem)[:100]}{suffix[:16]}"
                target.write_bytes(entry.data)
                count += 1


#: The course's list of notebooks collected under another name than their student gave them:
#: ``{assignment: {student: {notebook: {"name": name handed in, "sha256": of its content}}}}``;
#: ``autograde`` tells the student, as long as the notebook in ``submitted/`` is still that one.
RENAMED = "autograder-renamed.json"


def sha256_of(path: Path | str) -> str:
    """The SHA-256 of a file's bytes, or "" when it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def renamed(root: Path | str, assignment: str, student: str, notebook: str, submitted: Path | str) -> str:
    """The name a student gave the notebook collected as ``notebook`` ("" when it was not renamed, or when
    ``submitted``, the notebook now in ``submitted/``, is another one: the student handed in again since)."""
    try:
        entry = json.loads(Path(root, RENAMED).read_text())[assignment][student][notebook]
        if isinstance(entry, str):  # the form before the content was kept: nothing to compare
            return entry
        return str(entry["name"]) if entry["sha256"] == sha256_of(submitted) else ""
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def remember_renamed(
    root: Path | str, assignment: str, student: str, part: str, original: str, content: Path | str
) -> None:
    """Keep, in the course, that ``student`` handed in the notebook of ``part`` as ``original`` (``renamed``),
    with the hash of ``content`` (the file handed in)."""
    path = Path(root, RENAMED)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault(assignment, {}).setdefault(student, {})[part] = {"name": original, "sha256": sha256_of(content)}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)


def graded_as_parts(
    notebooks: list[str], known: set[str], *, root: Path | str, assignment: str, student: str, log: Any
) -> list[str]:
    """``notebooks`` (paths of one student's submitted notebooks) with each renamed one given the name of the
    part its nbgrader cells say, so that ``autograde`` grades it (it skips a notebook whose name is unknown).

    A notebook whose name is not one of ``known`` (the assignment's notebooks), that is a regular file, and
    whose cells name one part of ``known`` that the student did not hand in under its own name, is renamed
    to ``<part>.ipynb`` in ``submitted/`` (the name given is kept: the student's feedback and the TA's log say
    it). A second notebook of a part is left as it is, not graded, never added, and named in a warning. Any
    route a notebook took (the exchange, ``zip_collect``, by hand) comes through here.
    """
    from autograder.parts import PARTS
    from autograder.submission import load

    names = {os.path.splitext(os.path.basename(n))[0]: n for n in notebooks}
    out = list(notebooks)  # an unknown notebook that names no part stays: nbgrader says it skips it
    for name, path in sorted(names.items()):
        if name in known:
            continue
        try:
            regular = stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            continue
        parts = load(Path(path)).parts if regular else []
        part = parts[0] if len(parts) == 1 and parts[0] in PARTS and parts[0] in known else ""
        if not part:
            continue
        original = os.path.basename(path)
        if part in names:
            log.warning("autograder: %s handed in %s, a second %s notebook: not graded, never added",
                        shown(student), shown(original), part)  # fmt: skip
            continue
        target = os.path.join(os.path.dirname(path), f"{part}.ipynb")
        if os.path.lexists(target):  # not a notebook nbgrader listed (a folder, a link): left as it is
            log.warning("autograder: %s handed in %s, and %s is not a notebook: not graded",
                        shown(student), shown(original), f"{part}.ipynb")  # fmt: skip
            continue
        os.rename(path, target)
        remember_renamed(root, assignment, student, part, original, target)
        names[part] = target
        out[out.index(path)] = target
        log.warning("autograder: %s handed in %s: graded as %s, the part its cells name",
                    shown(student), shown(original), f"{part}.ipynb")  # fmt: skip
    return sorted(out)


class LmsCollector(FileNameCollectorPlugin):
    """Whose file each extracted file is, and which notebook of the assignment (by its cells)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.seen: dict[tuple[str, str], int] = {}

    def remember(self, student: str, part: str, original: str, content: Path) -> None:
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:  # not run by zip_collect: no course to remember it in
            return
        remember_renamed(coursedir.root, coursedir.assignment_id, student, part, original, content)

    def collect(self, submitted_file: str) -> dict | None:
        from autograder.parts import PARTS
        from autograder.submission import load

        path = Path(submitted_file)
        student = name_of(path.parent.name)
        bits = path.name.split("_", 3)
        if student is None or len(bits) != 4 or not SAFE_ID.fullmatch(student) or path.suffix not in self.valid_ext:
            return None
        _, late, attempt, stem = bits
        original = (name_of(os.path.splitext(stem)[0]) or "") + path.suffix
        file_id = original
        if path.suffix == ".ipynb":
            sub = load(path)
            part = sub.parts[0] if len(sub.parts) == 1 and sub.parts[0] in PARTS else ""
            if part:
                file_id = f"{part}.ipynb"
                if original != file_id:
                    self.log.warning("autograder: %s handed in %s: collected as %s, the part its cells name",
                                     shown(student), shown(original), file_id)  # fmt: skip
                    self.remember(student, part, original, path)
                n = self.seen.get((student, part), 0) + 1
                self.seen[(student, part)] = n
                if n > 1:
                    file_id = f"{part}-{n}.ipynb"
                    self.log.warning(
                        "autograder: %s handed in %s, a second %s notebook: kept as %s, not graded, never added",
                        shown(student), shown(original), part, file_id,
                    )  # fmt: skip
        info: dict = {"student_id": student, "file_id": file_id}
        if attempt != "-":
            day, time = attempt[:10], attempt[11:].replace("-", ":")
            info["timestamp"] = f"{day} {time}"
        if late == "L":
            self.log.warning("autograder: %s handed in %s late", shown(student), shown(original))
        return info
