"""``autograder course init``: an nbgrader course whose grade cells the hidden suites score."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from autograder.nbgrader.notebooks import ASSIGNMENT, write_sources
from autograder.options import config_lines

# {exchange!r} is filled in by config_text
CONFIG = f'''\
# nbgrader configuration, written by `autograder course init`.
# The hidden suites score each notebook's grade cell during `nbgrader autograde`; student code runs
# only in the autograder's sandbox (never in a Jupyter kernel), so it cannot reach this directory.
import warnings

from sqlalchemy.exc import SAWarning

from autograder.nbgrader.bridge import use_hidden_suites

# nbgrader 0.9's gradebook code makes SQLAlchemy 2 (2.0 and 2.1 alike) warn "Object of type <...> not in
# session" while it adds students and submissions itself: harmless, and kept out of autograde's output
warnings.filterwarnings("ignore", "Object of type <[^>]+> not in session", SAWarning)

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{ASSIGNMENT}"
# release_assignment, collect and release_feedback go through this directory; the students'
# nbgrader configuration names it too (with the same course_id)
c.Exchange.root = {{exchange!r}}
use_hidden_suites(c)

# Options of the hidden suites (defaults shown):
{chr(10).join(config_lines())}
'''


# What a student's nbgrader needs to fetch, submit and fetch feedback ({exchange!r} filled in):
# their nbgrader_config.py (on a hub: /etc/jupyter/nbgrader_config.py) says it.
STUDENT_CONFIG = f'''\
# nbgrader configuration for the students of this course, written by `autograder course init`.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{ASSIGNMENT}"
c.Exchange.root = {{exchange!r}}
'''
STUDENT_CONFIG_NAME = "student_nbgrader_config.py"
EXCHANGE_MODE = 0o777  # nbgrader's exchange: every student writes into it, and it must be "preexisting"


class CourseError(ValueError):
    """The course directory cannot be set up as asked."""


def config_text(exchange: Path, template: str = CONFIG) -> str:
    """The course's nbgrader_config.py (or with STUDENT_CONFIG, the students'), for ``exchange``."""
    return template.replace("{exchange!r}", repr(str(exchange)))


def exchange_dir(directory: Path | str, exchange: Path | str | None = None) -> Path:
    """The exchange of a course: ``exchange``, or ``directory/exchange``; absolute."""
    return Path(exchange).absolute() if exchange is not None else Path(directory).absolute() / "exchange"


def configured_exchange(config: Path) -> Path | None:
    """The ``c.Exchange.root`` that an existing nbgrader_config.py names, or None."""
    found = re.search(r"^c\.Exchange\.root = (.+)$", config.read_text(), flags=re.M) if config.exists() else None
    try:
        return Path(ast.literal_eval(found.group(1))) if found else None
    except (ValueError, SyntaxError):
        return None


def make_exchange(exchange: Path) -> None:
    """Create the exchange directory, writable to everyone, or check that an existing one is."""
    if not exchange.exists():
        exchange.mkdir(parents=True)
    if not exchange.is_dir():
        raise CourseError(f"the exchange {exchange} exists and is not a directory")
    if exchange.stat().st_mode & 0o777 != EXCHANGE_MODE:
        try:
            os.chmod(exchange, EXCHANGE_MODE)
        except OSError as error:
            raise CourseError(
                f"the exchange {exchange} must be writable to everyone (chmod 777) and I cannot make it so: "
                f"{error.strerror}"
            ) from None


def init(*, directory: Path | str, force: bool = False, exchange: Path | str | None = None) -> Path:
    """Create ``directory`` as an nbgrader course: configuration, ``source/attention/`` and the exchange.

    The exchange is ``exchange`` (default ``directory/exchange``), created writable to everyone as
    nbgrader's exchange needs, and written into the configuration as ``c.Exchange.root``; the
    students' configuration, naming the same exchange, goes to ``student_nbgrader_config.py``. An
    existing course is left alone unless ``force``: then the configuration and the source
    notebooks are written again (with the exchange the configuration named, unless ``exchange``
    is given), and nothing else (gradebook, submissions, feedback) is touched.
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
    exchange = exchange_dir(root, exchange if exchange is not None else configured_exchange(config))
    root.mkdir(parents=True, exist_ok=True)
    make_exchange(exchange)
    config.write_text(config_text(exchange))
    (root / STUDENT_CONFIG_NAME).write_text(config_text(exchange, STUDENT_CONFIG))
    write_sources(source)
    return root
