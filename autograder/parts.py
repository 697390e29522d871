"""The registry of the exercises: one entry per part, in course order.

Everything that needs to know which parts exist asks here: the jobs collect one suite per entry,
a ``.py`` submission is graded for the parts whose names it defines, the course gets one notebook
per entry. Adding a part means: its solution (``solutions/<name>.py``), its notebook
(``assignments/<name>.ipynb``), an entry here, its suite (``autograder/suites/<name>.py``) and its
examples (``autograder/dev/examples``).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType

SUITES = Path(__file__).resolve().parent / "suites"

#: Points per part (EXERCISES.md): each suite's POINTS must add up to this.
POINTS_PER_PART = 10.0


@dataclass(frozen=True)
class Part:
    """One exercise: the names a student defines, and where its suite lives."""

    name: str
    names: tuple[str, ...]
    #: parts whose reference this part's reference uses (masking calls the attention of part 3)
    uses: tuple[str, ...] = ()
    suite: Path | None = None  # default: autograder/suites/<name>.py

    @property
    def suite_path(self) -> Path:
        return self.suite or SUITES / f"{self.name}.py"


PARTS: dict[str, Part] = {
    part.name: part
    for part in (
        Part("smoother", ("gaussian_kernel", "smooth")),
        Part("vocab", ("build_vocab", "tokenize")),
        Part("attention", ("scaled_dot_product_attention",)),
        Part("masking", ("padding_mask", "MultiHeadAttention"), uses=("attention",)),
    )
}


def suite_module(part: str) -> ModuleType:
    """A part's suite, imported from its file (outside the grading jobs: for its data, not its tests)."""
    name = f"autograder_suite_{part}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, PARTS[part].suite_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the suite of {part} from {PARTS[part].suite_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def reference_code(part: str) -> str:
    """The reference of a part as one student file: the parts it uses come first, their imports dropped."""
    text = (resources.files("solutions") / f"{part}.py").read_text(encoding="utf-8")
    for used in PARTS[part].uses:
        names = ", ".join(PARTS[used].names)
        text = text.replace(f"from solutions.{used} import {names}\n", "")
        text = reference_code(used) + "\n\n" + text
    return text
