"""``autograder course roster``: students with names and emails in the gradebook, all or nothing, twice the same.

The real gradebook, read back by the real ``nbgrader db student list``.
"""

import shutil

import pytest

from autograder.cli import main
from autograder.dev.classroom import nbgrader
from autograder.nbgrader.course import init

pytestmark = pytest.mark.slow

ROSTER = """id,first_name,last_name,email
ada,Ada,Lovelace,ada@example.org
bob,Bob,Béla,bob@example.org
"""


def students(course) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}


def test_a_roster_names_the_students_and_twice_changes_nothing(tmp_path, capsys):
    course = init(directory=tmp_path / "course")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    assert main(["course", "roster", str(course), str(roster)]) == 0
    assert "2 student(s) added, 0 updated, 0 unchanged" in capsys.readouterr().out
    done = nbgrader(course, "db", "student", "list")
    listed = done.stdout + done.stderr
    assert "ada (Lovelace, Ada) -- ada@example.org" in listed
    assert "None, None" not in listed
    before = (course / "gradebook.db").read_bytes()
    assert main(["course", "roster", str(course), str(roster)]) == 0
    assert "0 student(s) added, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert (course / "gradebook.db").read_bytes() == before
    roster.write_text(ROSTER.replace("bob@example.org", "bela@example.org"))
    assert main(["course", "roster", str(course), str(roster)]) == 0
    assert students(course)["bob"] == ("Bob", "Béla", "bela@example.org")


@pytest.fixture(scope="module")
def with_zed(tmp_path_factory):
    """A course whose gradebook holds zed, made once (a new gradebook runs nbgrader's ``alembic``): each test
    below takes a copy of it."""
    course = init(directory=tmp_path_factory.mktemp("zed") / "course")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "attention") as gb:
        gb.add_student("zed", first_name="Zed", last_name="Z")
    return course


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("carol,Carol,C,not-an-email", "line 4: 'not-an-email' is not an email address"),
        (",No,Id,x@example.org", "line 4: no id"),
        ("../x,A,B,a@example.org", "line 4: the id '../x' cannot name a folder"),
        ("ada,Ada,Again,a2@example.org", "line 4: the id 'ada' is on line 2 already"),
        ("eve,Eve\x1b[2J,E,e@example.org", "line 4: first_name has a control or format character"),
        ("eve,Eve,E,e@example.org,extra", "line 4: more cells than the header has columns"),
    ],
)
def test_a_bad_row_stops_the_import_with_its_line_and_nothing_half_imported(tmp_path, capsys, with_zed, row, says):
    course = shutil.copytree(with_zed, tmp_path / "course", symlinks=True)
    before = students(course)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER + row + "\n")
    assert main(["course", "roster", str(course), str(roster)]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "nothing was imported" in err
    assert students(course) == before
