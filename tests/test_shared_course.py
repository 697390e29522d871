"""A course on a shared machine: can a student read the teacher's files, change the exchange, or have
collect take something they did not write (or that another wrote) as their work?

The course is made by ``autograder course init``; the students are two unprivileged uids without
accounts (``setpriv``), each with a home of their own, running the real ``nbgrader fetch_assignment``
and ``submit``; the teacher (this process, root) runs the real ``nbgrader collect``. The folders they
share are made under /tmp (pytest's own folder is closed to other users) and removed afterwards.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.dev.classroom import nbgrader
from autograder.dev.examples import notebook, reference_code
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, CourseError, check, init
from autograder.nbgrader.exchange import SUBMITTERS, Refused, parse_entry
from autograder.nbgrader.notebooks import ASSIGNMENT, nbgrader_env
from autograder.parts import PARTS

AUTOGRADER = Path(sys.executable).parent / "autograder"
ALICE, BOB = 64101, 64102  # uids without accounts
NOBODY = 65534  # the account "nobody" (not a student's)
TEACHER = NOBODY  # a teacher who is not root (nbgrader's release wants an account that owns the exchange)
OLD = "2020-01-02 03:04:05.000006 UTC"  # a time long before any folder of these tests is made
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="runs students as other uids (setpriv): needs root")


def stamp(when: datetime.datetime | None = None) -> str:
    """A time as nbgrader writes it in an inbound folder's name."""
    return (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def as_user(uid: int, *command: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    env = nbgrader_env()
    env.pop("JUPYTER_CONFIG_DIR", None)
    env.update(PYTHONDONTWRITEBYTECODE="1", HOME=str(home or cwd))
    env["JUPYTER_DATA_DIR"] = str(Path(env["HOME"]) / ".local" / "share" / "jupyter")
    setpriv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    return subprocess.run([*setpriv, *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def python_as(uid: int, code: str, cwd: Path) -> str:
    """Run ``code`` as ``uid``; what it printed (it prints the error it met, by name)."""
    done = as_user(uid, sys.executable, "-c", code, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def attempt(uid: int, action: str, cwd: Path) -> str:
    """``action`` (a Python statement) as ``uid``: "done", or the name of the error it raised."""
    code = (
        f"import os, shutil\ntry:\n    {action}\n    print('done')\nexcept OSError as e:\n    print(type(e).__name__)"
    )
    return python_as(uid, code, cwd)


def student_nbgrader(uid: int, home: Path, *args: str) -> subprocess.CompletedProcess:
    done = as_user(uid, sys.executable, "-m", "nbgrader", *args, cwd=home)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def inbound(exchange: Path) -> Path:
    return exchange / ASSIGNMENT / "inbound"


def entries(exchange: Path, student: str) -> list[Path]:
    return sorted(p for p in inbound(exchange).iterdir() if p.name.startswith(f"{student}+"))


@pytest.fixture(scope="module")
def shared():
    if os.geteuid() != 0:
        pytest.skip("runs students as other uids (setpriv): needs root")
    base = Path(tempfile.mkdtemp(prefix="shared-course-", dir="/tmp"))
    os.chmod(base, 0o755)
    usable = as_user(ALICE, sys.executable, "-c", "import nbgrader, autograder", cwd=base)
    if usable.returncode:
        shutil.rmtree(base)
        pytest.fail(f"{sys.executable} is not usable by another user (the worktree's modes?): {usable.stderr[-500:]}")
    try:
        yield base
    finally:
        shutil.rmtree(base)


@pytest.fixture(scope="module")
def course(shared):
    """A course released to alice and bob (uids without accounts), who each submitted once, collected once;
    then bob submitted again, and alice attacked the exchange (below), and the teacher collected again."""
    course = init(directory=shared / "course")
    exchange = shared / "course-exchange"
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    nbgrader(course, "release_assignment", ASSIGNMENT)
    homes = {}
    for name, uid in (("alice", ALICE), ("bob", BOB)):
        home = shared / f"home-{name}"
        home.mkdir(mode=0o700)
        shutil.copyfile(course / STUDENT_CONFIG_NAME, home / "nbgrader_config.py")
        os.chown(home, uid, uid)
        os.chown(home / "nbgrader_config.py", uid, uid)
        student_nbgrader(uid, home, "fetch_assignment", ASSIGNMENT)
        homes[name] = home
    python_as(ALICE, f"import nbformat\nnbformat.write(nbformat.reads({nbformat.writes(notebook('smoother', reference_code('smoother')))!r}, 4), 'attention/smoother.ipynb')", homes["alice"])  # fmt: skip
    for name, uid in (("alice", ALICE), ("bob", BOB)):
        student_nbgrader(uid, homes[name], "submit", ASSIGNMENT, "--student", name)
    # dan: an id without an account that both alice and bob submit under before the first collect
    for uid, tag in ((ALICE, "a"), (BOB, "b")):
        python_as(uid, f"import os\nos.mkdir({str(inbound(exchange) / f'dan+{ASSIGNMENT}+{stamp()}+{tag}')!r})", shared)
    first = nbgrader(course, "collect", ASSIGNMENT)

    # bob hands in again; alice attacks
    (homes["bob"] / ASSIGNMENT / "notes.txt").write_text("bob's second submission")
    os.chown(homes["bob"] / ASSIGNMENT / "notes.txt", BOB, BOB)
    student_nbgrader(BOB, homes["bob"], "submit", ASSIGNMENT, "--student", "bob")
    attacked = datetime.datetime.now(datetime.timezone.utc)
    attack(course, exchange, homes["alice"])
    second = nbgrader(course, "collect", ASSIGNMENT, "--update")
    return {"course": course, "exchange": exchange, "homes": homes, "first": first.stderr, "second": second.stderr,
            "attacked": attacked}  # fmt: skip


def attack(course: Path, exchange: Path, home: Path) -> None:
    """alice, who can only create entries in inbound/: a newer submission of hers full of links, a FIFO, a
    huge file and a teacher's file; folders named as others (bob, an account, a link to the teacher's
    notebooks), malformed names, a time in the future."""
    source = course / "source" / ASSIGNMENT
    mine = inbound(exchange) / f"alice+{ASSIGNMENT}+{stamp()}+newer"
    forged = {
        f"bob+{ASSIGNMENT}+{stamp()}+forged": "mkdir",
        f"nobody+{ASSIGNMENT}+{stamp()}+forged": "mkdir",
        f"carol+{ASSIGNMENT}+{stamp()}+link": "link",
        f"zzz+{ASSIGNMENT}+not-a-time+x": "mkdir",
        f"..+{ASSIGNMENT}+{stamp()}+up": "mkdir",
        f"eve\n\x1b[31m+{ASSIGNMENT}+{stamp()}+newline": "mkdir",
        f"alice+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+future": "mkdir",
        f"fay+{ASSIGNMENT}+{OLD}+backdated": "mkdir",
    }
    code = f"""
import os
mine = {str(mine)!r}
os.mkdir(mine)
os.symlink({str(source / "smoother.ipynb")!r}, mine + "/smoother.ipynb")
os.mkfifo(mine + "/vocab.ipynb")
with open(mine + "/masking.ipynb", "wb") as f:
    f.truncate(5 << 20)
with open(mine + "/attention.ipynb", "w") as f:
    f.write("alice's own")
os.symlink({str(source)!r}, mine + "/solutions")
os.mkdir(mine + "/deep")
os.symlink({str(source / "vocab.ipynb")!r}, mine + "/deep/vocab.ipynb")
for name, how in {forged!r}.items():
    path = os.path.join({str(inbound(exchange))!r}, name)
    os.mkdir(path) if how == "mkdir" else os.symlink({str(source)!r}, path)
    if how == "mkdir":
        with open(path + "/smoother.ipynb", "w") as f:
            f.write("forged by alice")
"""
    python_as(ALICE, code, home)
    # a hard link to the teacher's solution in her folder, as one made while the course was open would be
    os.link(source / "smoother.ipynb", mine / "linked.ipynb")
    # a device node of hers (no student can make one, but one could sit on a volume she mounts): /dev/zero
    os.mknod(mine / "zero.ipynb", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    os.lchown(mine / "zero.ipynb", ALICE, ALICE)


def collected(course: Path, student: str) -> dict[str, str]:
    folder = course / "submitted" / student / ASSIGNMENT
    if not folder.exists():
        return {}
    return {p.name: "<folder>" if p.is_dir() else p.read_text()[:40] for p in sorted(folder.iterdir())}


@root_only
def test_a_student_cannot_read_the_teachers_source_gradebook_or_submissions(course):
    """Can a student read the solutions, the gradebook or another's collected work?"""
    root = course["course"]
    assert (root / "gradebook.db").exists()
    for path in (
        "source/attention/smoother.ipynb",
        "gradebook.db",
        "submitted/bob/attention/smoother.ipynb",
        SUBMITTERS,
    ):
        assert attempt(ALICE, f"open({str(root / path)!r}).read()", course["homes"]["alice"]) == "PermissionError"
    assert attempt(ALICE, f"os.listdir({str(root)!r})", course["homes"]["alice"]) == "PermissionError"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@root_only
def test_a_student_cannot_list_rename_or_remove_anothers_submission(course):
    """Can alice find, rename, remove or replace bob's folder in inbound/, or the course's folder?"""
    exchange, home = course["exchange"], course["homes"]["alice"]
    bobs = [p for p in entries(exchange, "bob") if p.stat().st_uid == BOB][-1]  # his second (names sort by time)
    assert attempt(ALICE, f"os.listdir({str(inbound(exchange))!r})", home) == "PermissionError"
    assert attempt(ALICE, f"os.rename({str(bobs)!r}, {str(bobs)!r} + 'x')", home) == "PermissionError"
    assert attempt(ALICE, f"os.rename({str(bobs)!r}, {str(home / 'stolen')!r})", home) == "PermissionError"
    assert attempt(ALICE, f"shutil.rmtree({str(bobs)!r})", home) == "PermissionError"
    assert attempt(ALICE, f"os.remove({str(bobs / 'smoother.ipynb')!r})", home) == "PermissionError"
    assert attempt(ALICE, f"open({str(bobs / 'smoother.ipynb')!r}).read()", home) == "PermissionError"
    assert attempt(ALICE, f"open({str(bobs / 'planted.ipynb')!r}, 'w')", home) == "PermissionError"
    assert stat.S_IMODE(bobs.stat().st_mode) == 0o750  # the course's student configuration's submit
    assert sorted(p.name for p in bobs.iterdir()) == sorted([*(f"{p}.ipynb" for p in PARTS), "notes.txt",
                                                             "submission_secret.txt", "timestamp.txt"])  # fmt: skip
    course_folder = exchange / ASSIGNMENT
    assert attempt(ALICE, f"os.rename({str(course_folder)!r}, {str(exchange / 'x')!r})", home) == "PermissionError"


@root_only
def test_a_student_cannot_write_into_outbound_or_feedback(course):
    """Can alice change what the others fetch, or plant feedback?"""
    exchange, home = course["exchange"], course["homes"]["alice"]
    released = exchange / ASSIGNMENT / "outbound" / ASSIGNMENT
    for folder in (released.parent, released, exchange / ASSIGNMENT / "feedback"):
        assert attempt(ALICE, f"open({str(folder / 'planted.html')!r}, 'w')", home) == "PermissionError"
    assert attempt(ALICE, f"open({str(released / 'smoother.ipynb')!r}, 'w')", home) == "PermissionError"
    assert attempt(ALICE, f"os.listdir({str(exchange / ASSIGNMENT / 'feedback')!r})", home) == "PermissionError"


@root_only
def test_collect_takes_only_the_regular_files_the_student_wrote(course):
    """Does collect skip links to the teacher's notebooks, a FIFO, a device, a huge file and a teacher's hard link?"""
    got = collected(course["course"], "alice")
    assert sorted(got) == ["attention.ipynb", "deep", "timestamp.txt"]
    assert got["attention.ipynb"] == "alice's own"
    assert list((course["course"] / "submitted" / "alice" / ASSIGNMENT / "deep").iterdir()) == []
    log = course["second"]
    for name, why in [
        ("smoother.ipynb", "not a regular file"),
        ("vocab.ipynb", "not a regular file"),
        ("solutions", "not a regular file"),
        ("deep/vocab.ipynb", "not a regular file"),
        ("zero.ipynb", "not a regular file"),
        ("masking.ipynb", f"{5 << 20} bytes, more than {4 << 20} for one file"),
        ("linked.ipynb", f"it belongs to uid 0, not to the student (uid {ALICE})"),
    ]:
        assert f"Not collected from alice's submission: {name}: {why}" in log


@root_only
def test_the_rest_of_the_class_is_still_collected(course):
    """Does a FIFO or a link in one student's folder stop collect for the others?"""
    assert collected(course["course"], "bob")["notes.txt"] == "bob's second submission"
    assert "Collecting submission: bob attention" in course["second"]


@root_only
def test_a_folder_named_as_another_student_is_not_collected_as_theirs(course):
    """Is alice's folder named bob+..., or nobody+..., collected as bob's or nobody's work?"""
    root, log = course["course"], course["second"]
    assert collected(root, "bob")["smoother.ipynb"] != "forged by alice"
    assert f"it claims to be bob's but belongs to uid {ALICE} (bob is uid {BOB})" in log
    assert f"it claims to be nobody's but belongs to uid {ALICE} (nobody is uid {NOBODY})" in log
    assert collected(root, "nobody") == {}


@root_only
def test_an_id_claimed_by_two_uids_before_the_first_collect_is_collected_for_neither(course):
    """Is dan, whom alice and bob both submitted as, collected for either of them?"""
    assert collected(course["course"], "dan") == {}
    assert f"Skipping every submission of dan: uids {ALICE}, {BOB} each submitted under that id" in course["first"]
    remembered = (course["course"] / SUBMITTERS).read_text()
    assert '"alice": 64101' in remembered
    assert '"bob": 64102' in remembered
    assert "dan" not in remembered
    assert stat.S_IMODE((course["course"] / SUBMITTERS).stat().st_mode) == 0o600


@root_only
def test_malformed_linked_and_future_folders_are_skipped_with_a_warning(course):
    """Do a link to the teacher's notebooks named as carol, '..', a newline, a bad time or the future stop collect?"""
    root, log = course["course"], course["second"]
    assert "it is not a folder (a link, a file or a special file)" in log
    assert collected(root, "carol") == {}
    assert "the time 'not-a-time' of 'zzz+attention+not-a-time+x' is not a time" in log
    assert "the student id '..' is refused: not a name" in log
    assert "the student id 'eve\ufffd\ufffd[31m' is refused: a '/' or a control character in it" in log
    assert "its time 2999-01-01 00:00:00 UTC is in the future" in log
    assert not (root / ASSIGNMENT).exists()  # '..' would have been submitted/../attention
    assert "\x1b" not in log


@root_only
def test_a_folder_whose_name_is_older_than_it_is_collected_with_the_time_it_was_made(course):
    """Is alice's folder, made now under an id of its own (fay) and named as handed in in 2020, collected as
    handed in in 2020 (on time for any due date)?"""
    root, log = course["course"], course["second"]
    written = (root / "submitted" / "fay" / ASSIGNMENT / "timestamp.txt").read_text()
    when = datetime.datetime.strptime(written, "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=datetime.timezone.utc)
    # the kernel's ctime may be a clock tick behind the time the test read just before the attack
    assert when >= course["attacked"] - datetime.timedelta(seconds=1)
    assert re.search(
        rf"fay's submission fay\+{ASSIGNMENT}\+{re.escape(OLD)}\+backdated was changed at \S+ \S+ UTC, after the "
        r"time its name gives \(2020-01-02 03:04:05 UTC\): collected as handed in then",
        log,
    )
    assert collected(root, "fay")["smoother.ipynb"] == "forged by alice"  # fay is alice's: her first id
    assert log.count("was changed at") == 1  # bob's and alice's own folders keep the times their names give


@root_only
def test_course_check_finds_only_the_hard_link_to_the_solution_in_a_course_in_use(course):
    """Does course check, on the course collected twice, name the hard link to the solution and nothing else?"""
    done = subprocess.run([str(AUTOGRADER), "course", "check", str(course["course"])], capture_output=True, text=True)
    smoother = course["course"] / "source" / ASSIGNMENT / "smoother.ipynb"
    assert (done.returncode, done.stdout.splitlines()) == (1, [
        f"- {smoother} has 1 other hard link(s): whoever made one may read it through it",
        "1 thing(s) other users could read or change.",
    ])  # fmt: skip


@root_only
def test_a_teacher_who_is_not_root_releases_and_collects_through_the_modes_of_course_init(shared):
    """Does the course work for a teacher without root: init, generate, release; a student's fetch and
    submit; collect, reading the student's folder through the inbound/ group alone; a clean course check?"""
    top = shared / "teacher"
    top.mkdir(mode=0o755)
    os.chown(top, TEACHER, TEACHER)
    course = top / "course"

    def teacher(*command: str) -> subprocess.CompletedProcess:
        done = as_user(TEACHER, *command, cwd=course if course.exists() else top, home=top)
        assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
        return done

    teacher(str(AUTOGRADER), "course", "init", str(course))
    # nbgrader makes a new gradebook by running `alembic`, which another uid's nbgrader cannot start where this
    # interpreter lives in a home closed to others: the test makes the gradebook and gives it to the teacher
    nbgrader(course, "db", "student", "list")
    for path in [course, *course.rglob("*")]:
        os.lchown(path, TEACHER, TEACHER)
    teacher(sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT)
    teacher(sys.executable, "-m", "nbgrader", "release_assignment", ASSIGNMENT)
    home = shared / "home-ada"
    home.mkdir(mode=0o700)
    shutil.copyfile(course / STUDENT_CONFIG_NAME, home / "nbgrader_config.py")
    for path in (home, home / "nbgrader_config.py"):
        os.chown(path, ALICE, ALICE)
    student_nbgrader(ALICE, home, "fetch_assignment", ASSIGNMENT)
    student_nbgrader(ALICE, home, "submit", ASSIGNMENT, "--student", "ada")
    (entry,) = entries(top / "course-exchange", "ada")
    assert (entry.stat().st_uid, entry.stat().st_gid, stat.S_IMODE(entry.stat().st_mode)) == (ALICE, TEACHER, 0o750)
    collect = teacher(sys.executable, "-m", "nbgrader", "collect", ASSIGNMENT)
    assert "Not collected" not in collect.stderr
    assert "Skipping" not in collect.stderr
    assert sorted(collected(course, "ada")) == sorted(
        [*(f"{p}.ipynb" for p in PARTS), "submission_secret.txt", "timestamp.txt"]
    )
    check = teacher(str(AUTOGRADER), "course", "check", str(course))
    assert check.stdout == "Nothing other users could read or change.\n"


# -- course init and course check without students (fast) ------------------------------------------------


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


@root_only
def test_init_refuses_an_exchange_or_course_folder_that_someone_else_owns(tmp_path):
    """Is an exchange, or its course folder, that a student made first refused?"""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chown(exchange, ALICE, ALICE)
    with pytest.raises(CourseError, match=f"not safe on a shared machine: {exchange} belongs to uid {ALICE}, who can"):
        init(directory=tmp_path / "course", exchange=exchange)
    os.chown(exchange, 0, 0)
    (exchange / ASSIGNMENT).mkdir()
    os.chown(exchange / ASSIGNMENT, ALICE, ALICE)
    with pytest.raises(CourseError, match=f"course folder {exchange / ASSIGNMENT} belongs to uid {ALICE}"):
        init(directory=tmp_path / "course", exchange=exchange)


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


# -- the names of inbound folders (fast) -------------------------------------------------------------------


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
