"""Does the course run the whole nbgrader route through its exchange? (``course init`` alone: tests/unit/test_course_init.py)

The route is `make demo`'s (``autograder.dev.demo.run_course``, run once for the session by the
``demo_course`` fixture, which the class page's test shares): the real ``nbgrader
generate_assignment``, ``release_assignment``, ``fetch_assignment`` and ``submit`` (each student in a
directory and home of their own), ``collect``, ``autograde``, ``generate_feedback``,
``release_feedback`` and ``fetch_feedback``.
"""

import re

from autograder.dev.classroom import Classroom
from autograder.dev.demo import students
from autograder.dev.examples import reference_code
from autograder.nbgrader.notebooks import ASSIGNMENT
from autograder.parts import PARTS


def test_students_fetch_submit_and_fetch_their_feedback_through_the_exchange(demo_course):
    """ada handed in the reference, linus the notebooks as released (``demo.students``)."""
    from nbgrader.api import Gradebook

    course, _ = demo_course
    answers = {student: students()[student] for student in ("ada", "linus")}
    assert answers == {"ada": {part: reference_code(part) for part in PARTS}, "linus": dict.fromkeys(PARTS)}
    room = Classroom(course)
    fetched = {student: sorted((room.home(student) / ASSIGNMENT / "feedback").rglob("*.html")) for student in answers}

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
        assert folder.parent == room.home(student) / ASSIGNMENT / "feedback"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC", folder.name)
        for page in pages:
            assert f"{page.stem}: {score} / 10 points" in page.read_text()
