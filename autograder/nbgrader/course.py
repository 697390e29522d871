"""``autograder course init``: an nbgrader course whose grade cells the hidden suites score."""

from __future__ import annotations

from pathlib import Path

from autograder.nbgrader.notebooks import ASSIGNMENT, write_sources
from autograder.options import config_lines

CONFIG = f'''\
# nbgrader configuration, written by `autograder course init`.
# The hidden suites score each notebook's grade cell during `nbgrader autograde`; student code runs
# only in the autograder's sandbox (never in a Jupyter kernel), so it cannot reach this directory.
from autograder.nbgrader.bridge import use_hidden_suites

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{ASSIGNMENT}"
use_hidden_suites(c)

# Options of the hidden suites (defaults shown):
{chr(10).join(config_lines())}
'''


class CourseError(ValueError):
    """The course directory cannot be set up as asked."""


def init(*, directory: Path | str, force: bool = False) -> Path:
    """Create ``directory`` as an nbgrader course: configuration and ``source/attention/``.

    An existing course is left alone unless ``force``: then the configuration and the source
    notebooks are written again, and nothing else (gradebook, submissions, feedback) is touched.
    """
    root = Path(directory)
    config = root / "nbgrader_config.py"
    source = root / "source" / ASSIGNMENT
    existing = [p for p in (config, source) if p.exists()]
    if existing and not force:
        raise CourseError(
            f"{root} is already a course ({existing[0].name} exists); use --force to rewrite "
            "its configuration and source notebooks (grades and submissions are kept)"
        )
    if root.exists() and not root.is_dir():
        raise CourseError(f"{root} exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    write_sources(source)
    return root
