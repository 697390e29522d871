"""Near-identical answers (``fingerprint``): a flag for a human to look at, never a penalty.

The code is re-read from the submitted files; the code every student received (the answer cells
of the released notebooks) is set aside first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from autograder import fingerprint
from autograder.parts import PARTS


@dataclass
class Copies:
    part: str
    students: list[str]
    lowest: float
    highest: float


def stub_fingerprint(folders: Sequence[Path]) -> frozenset[int]:
    """The fingerprint of the answer cells of every released notebook: code every student received."""
    from autograder.submission import MAX_BYTES, notebook_answers

    texts = [(resources.files("assignments") / f"{part}.ipynb").read_text(encoding="utf-8") for part in PARTS]
    texts += [
        p.read_text(encoding="utf-8")
        for folder in folders
        for p in sorted(folder.glob("*/*.ipynb"))
        if p.is_file() and p.stat().st_size <= MAX_BYTES[".ipynb"]  # as much as a submission: no more is parsed
    ]
    found: frozenset[int] = frozenset()
    for text in texts:
        try:
            found |= fingerprint.fingerprint(notebook_answers(json.loads(text))[0].code)
        except (ValueError, KeyError):
            continue
    return found


def copies(part: str, codes: Mapping[str, str], received: frozenset[int]) -> list[Copies]:
    """Groups of students whose code of ``part`` (``codes``: student -> code) is alike, ``received`` set aside."""
    prints = {student: fingerprint.fingerprint(code) for student, code in codes.items()}
    return [Copies(part, keys, low, high) for keys, low, high in fingerprint.groups(prints, received)]
