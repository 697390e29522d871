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

from autograder.dev.classroom import nbgrader
from autograder.dev.examples import notebook, reference_code
from autograder.nbgrader.course import STUDENT_CONFIG_NAME, CourseError, init
from autograder.nbgrader.exchange import SUBMITTERS
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
def course(shared, generate):
    """A course released to alice and bob (uids without accounts), who each submitted once, collected once;
    then bob submitted again, and alice attacked the exchange (below), and the teacher collected again."""
    course = init(directory=shared / "course")
    exchange = shared / "course-exchange"
    generate(course)  # what `nbgrader generate_assignment` makes, from the session's run of it (tests/conftest.py)
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


# -- the names of inbound folders (fast) -------------------------------------------------------------------
