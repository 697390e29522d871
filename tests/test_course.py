"""Does `course init` set up a working exchange, and does the course run the whole nbgrader route through it?

The route is `make demo`'s (``autograder.dev.demo.run_course``): the real ``nbgrader
generate_assignment``, ``release_assignment``, ``fetch_assignment`` and ``submit`` (each student in a
directory and home of their own), ``collect``, ``autograde``, ``generate_feedback``,
``release_feedback`` and ``fetch_feedback``.
"""

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.dev.classroom import Classroom
from autograder.dev.demo import run_course
from autograder.dev.examples import reference_code
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, CourseError, init
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS

AUTOGRADER = Path(sys.executable).parent / "autograder"


def test_init_makes_an_exchange_beside_the_course_and_says_it_to_the_students(tmp_path):
    course = init(directory=tmp_path / "course")
    exchange = (tmp_path / "course-exchange").absolute()
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (course / "nbgrader_config.py").read_text()
    students = (course / STUDENT_CONFIG_NAME).read_text()
    assert f'c.CourseDirectory.course_id = "{ASSIGNMENT}"\nc.Exchange.root = {str(exchange)!r}\n' in students
    assert not (course / "exchange").exists()


def test_course_init_exchange_puts_the_exchange_where_the_teacher_says(tmp_path):
    done = subprocess.run(
        [str(AUTOGRADER), "course", "init", "course", "--exchange", "shared/exchange"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    exchange = tmp_path / "shared" / "exchange"
    assert f"exchange in {exchange}." in done.stdout
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert stat.S_IMODE((exchange / ASSIGNMENT / "inbound").stat().st_mode) == 0o3733
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert not (tmp_path / "course" / "exchange").exists()
    assert not (tmp_path / "course-exchange").exists()
    # --force rewrites the configuration, and keeps the exchange it named
    again = subprocess.run(
        [str(AUTOGRADER), "course", "init", "course", "--force"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert f"exchange in {exchange}." in again.stdout, again.stderr
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (tmp_path / "course" / "nbgrader_config.py").read_text()


def test_an_exchange_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "exchange").write_text("")
    with pytest.raises(CourseError, match=r"the exchange .*exchange exists and is not a directory"):
        init(directory=tmp_path / "course", exchange=tmp_path / "exchange")


def test_students_fetch_submit_and_fetch_their_feedback_through_the_exchange(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    answers = {"ada": {part: reference_code(part) for part in PARTS}, "linus": dict.fromkeys(PARTS)}
    fetched = run_course(course, answers)

    # collect took what submit put in the exchange, with the secret that release_feedback needs
    for student in answers:
        assert sorted(p.name for p in (course / "submitted" / student / ASSIGNMENT).iterdir()) == sorted(
            [*(f"{part}.ipynb" for part in PARTS), "submission_secret.txt", "timestamp.txt"]
        )
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        totals = {s: gb.find_submission(ASSIGNMENT, s).score for s in answers}
    assert totals == {"ada": 40.0, "linus": 0.0}
    # each student has one feedback page per notebook, in their own directory, with their score
    for student, score in [("ada", "10"), ("linus", "0")]:
        pages = fetched[student]
        assert [p.name for p in pages] == sorted(f"{part}.html" for part in PARTS)
        folder = pages[0].parent
        assert folder.parent == Classroom(course).home(student) / ASSIGNMENT / "feedback"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC", folder.name)
        for page in pages:
            assert f"{page.stem}: {score} / 10 points" in page.read_text()
