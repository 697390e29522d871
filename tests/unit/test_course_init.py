"""``course init`` and ``course check`` on folders of this user, and the names of inbound folders: no process.

The course shared with other users (their own uids, the real nbgrader commands) is in
``tests/test_shared_course.py``.
"""

import datetime
import os
import re
import stat
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, CourseError, check, init
from autograder.nbgrader.exchange import Refused, parse_entry
from autograder.nbgrader.notebooks import ASSIGNMENT


def course_check(course: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``autograder course check COURSE``: its exit status and what it printed."""
    status = main(["course", "check", str(course)])
    return status, capsys.readouterr().out


def test_init_makes_the_course_private_and_the_exchange_sticky_beside_it(tmp_path, capsys):
    """Does course init make the course 0700 and, beside it, an exchange 1777 with nbgrader's course folder?"""
    course = init(directory=tmp_path / "course")
    exchange = tmp_path / "course-exchange"
    modes = {
        str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode)
        for p in [course, exchange, *sorted((exchange / ASSIGNMENT).iterdir()), exchange / ASSIGNMENT]
    }
    assert modes == {
        "course": 0o700,
        "course-exchange": 0o1777,
        "course-exchange/attention": 0o755,
        "course-exchange/attention/feedback": 0o711,
        "course-exchange/attention/inbound": 0o3733,
        "course-exchange/attention/outbound": 0o755,
    }
    assert course_check(course, capsys) == (0, "Nothing other users could read or change.\n")


def test_init_refuses_an_exchange_inside_the_course_unless_told(tmp_path):
    """Is an exchange inside the course refused, and with --exchange-in-course kept private?"""
    with pytest.raises(CourseError, match="is inside the course, where other users would reach the solutions"):
        init(directory=tmp_path / "course", exchange=tmp_path / "course" / "exchange")
    course = init(directory=tmp_path / "course", exchange_in_course=True)
    assert stat.S_IMODE(course.stat().st_mode) == 0o700
    assert stat.S_IMODE((course / "exchange").stat().st_mode) == 0o1777
    assert check(directory=course) == []


def test_init_refuses_a_path_through_a_folder_others_can_rename_in(tmp_path):
    """Is an exchange below a folder that everyone can write, without the sticky bit, refused?"""
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    os.chmod(open_folder, 0o777)
    with pytest.raises(CourseError, match=r"open \(on the way to .*\) is writable by other users without the sticky"):
        init(directory=tmp_path / "course", exchange=open_folder / "exchange")
    assert not (tmp_path / "course").exists()


def test_course_check_names_each_weakness_of_a_course(tmp_path, capsys):
    """Does course check name an open course, an exchange without the sticky bit, an inbound others can list,
    and an outbound others can write, and exit 1?"""
    course = init(directory=tmp_path / "course")
    exchange = tmp_path / "course-exchange"
    os.chmod(course, 0o755)
    os.chmod(exchange, 0o777)
    os.chmod(exchange / ASSIGNMENT / "inbound", 0o2777)
    os.chmod(exchange / ASSIGNMENT / "outbound", 0o777)
    os.link(course / "source" / ASSIGNMENT / "smoother.ipynb", tmp_path / "copy.ipynb")
    (inbound := exchange / ASSIGNMENT / "inbound" / f"ada+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+r").mkdir()
    os.chmod(inbound, 0o777)  # as nbgrader's own submit leaves it
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text().replace("c.ExchangeFactory.collect", "# c.ExchangeFactory.collect"))
    status, out = course_check(course, capsys)
    assert status == 1
    lines = out.splitlines()
    expected = [
        f"- the course {course} is open to other users (mode 0755: they may read, traverse): the solutions and the "
        f"gradebook are in it; chmod 700 {course}",
        f"- {course}/source/attention/smoother.ipynb has 1 other hard link(s): whoever made one may read it through it",
        f"- {course}/source/attention/vocab.ipynb: other users may read (mode 0644)",
        f"- the exchange {exchange} has no sticky bit (mode 0777): a student can rename or remove the course's folder "
        f"in it; chmod 1777 {exchange}",
        f"- {exchange}/attention/inbound has mode 2777 (at most 3733): other users may read, remove or rename each "
        "other's submissions",
        f"- {exchange}/attention/outbound has mode 0777 (at most 0755): other users may write",
        f"- {inbound} is writable by every user (mode 0777): whoever learns its name can remove its files (submitted "
        "without student_nbgrader_config.py?)",
        f"- {config} does not set c.ExchangeFactory.collect = 'autograder.nbgrader.exchange.SafeCollect': nbgrader's "
        "own collect follows a student's links to your files (autograder course init --force writes it)",
    ]
    for line in expected:
        assert line in lines
    assert lines[-1] == f"{len(lines) - 1} thing(s) other users could read or change."


@pytest.mark.parametrize(
    ("name", "student"),
    [
        (f"ada+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+AbCd", "ada"),
        (f"a+b+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+AbCd", "a+b"),  # a '+' in the id
        (f"a+b+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC", "a+b"),  # submitted without the random string
    ],
)
def test_an_inbound_folders_name_gives_its_student_and_time(name, student):
    """Does a folder's name give the student (a '+' in it included) and the time nbgrader wrote?"""
    assert parse_entry(name, ASSIGNMENT) == (student, datetime.datetime(2026, 1, 2, 3, 4, 5, 6, datetime.timezone.utc))


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (f"..+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+r", "the student id '..' is refused: not a name"),
        (f"+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+r", "the student id '' is refused: not a name"),
        (f"a\tb+{ASSIGNMENT}+2026-01-02 03:04:05.000006 UTC+r", "a '/' or a control character in it"),
        ("ada+other+2026-01-02 03:04:05.000006 UTC+r", "is not <student>+attention+<time>+<random>"),
        (f"ada+{ASSIGNMENT}+yesterday+r", "the time 'yesterday' of"),
    ],
)
def test_a_malformed_inbound_folder_name_is_refused_with_the_reason(name, why):
    """Is a name that cannot name a student's folder in submitted/ refused, saying why?"""
    with pytest.raises(Refused, match=re.escape(why)):
        parse_entry(name, ASSIGNMENT)


def test_course_check_names_a_group_of_inbound_that_students_belong_to(tmp_path, capsys, monkeypatch):
    """Does course check say that the students in inbound/'s group can read every submission?"""
    import grp
    import pwd

    course = init(directory=tmp_path / "course")
    inbound = tmp_path / "course-exchange" / ASSIGNMENT / "inbound"
    gid = inbound.stat().st_gid
    accounts = {"ann": (1001, gid), "ben": (1002, 5000), "svc": (999, gid), "nobody": (65534, gid)}
    monkeypatch.setattr(grp, "getgrgid", lambda g: grp.struct_group(("staff", "x", g, ["ben", "svc"])))
    monkeypatch.setattr(
        pwd,
        "getpwall",
        lambda: [pwd.struct_passwd((n, "x", u, g, "", "/", "/bin/sh")) for n, (u, g) in accounts.items()],
    )
    monkeypatch.setattr(pwd, "getpwnam", lambda n: pwd.struct_passwd((n, "x", *accounts[n], "", "/", "/bin/sh")))
    status, out = course_check(course, capsys)
    assert (status, out.splitlines()) == (1, [
        f"- {inbound} has group {gid}, which ann, ben belong(s) to: they can read every submission (each is 0750, "
        "in that group); chgrp it to a group of your own",
        "1 thing(s) other users could read or change.",
    ])  # fmt: skip


def test_course_check_of_a_folder_that_is_no_course_exits_2(tmp_path, capsys):
    """Does course check say that a folder without nbgrader_config.py is no course, with exit status 2?"""
    assert main(["course", "check", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"autograder course check: {tmp_path} is not a course (no nbgrader_config.py): autograder course init makes one\n"
    )


def test_init_makes_an_exchange_beside_the_course_and_says_it_to_the_students(tmp_path):
    course = init(directory=tmp_path / "course")
    exchange = (tmp_path / "course-exchange").absolute()
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (course / "nbgrader_config.py").read_text()
    students = (course / STUDENT_CONFIG_NAME).read_text()
    assert f'c.CourseDirectory.course_id = "{ASSIGNMENT}"\nc.Exchange.root = {str(exchange)!r}\n' in students
    assert not (course / "exchange").exists()


def test_course_init_exchange_puts_the_exchange_where_the_teacher_says(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["course", "init", "course", "--exchange", "shared/exchange"]) == 0
    exchange = tmp_path / "shared" / "exchange"
    assert f"exchange in {exchange}." in capsys.readouterr().out
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert stat.S_IMODE((exchange / ASSIGNMENT / "inbound").stat().st_mode) == 0o3733
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert not (tmp_path / "course" / "exchange").exists()
    assert not (tmp_path / "course-exchange").exists()
    # --force rewrites the configuration, and keeps the exchange it named
    assert main(["course", "init", "course", "--force"]) == 0
    assert f"exchange in {exchange}." in capsys.readouterr().out
    assert f"c.Exchange.root = {str(exchange)!r}\n" in (tmp_path / "course" / "nbgrader_config.py").read_text()


def test_an_exchange_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "exchange").write_text("")
    with pytest.raises(CourseError, match=r"the exchange .*exchange exists and is not a directory"):
        init(directory=tmp_path / "course", exchange=tmp_path / "exchange")
