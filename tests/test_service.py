"""The warm grading service (``autograder serve``): the same records as a cold grading, its trust checks, and
what a client does when the service cannot grade (other options, a service killed mid-request).

The slow tests share one real service (bubblewrap, one warm job) started for the module, which the
last of them kills mid-request. The nbgrader test starts a course's service, stops it with SIGTERM
and looks for anything it left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder.dev.corpus import write
from autograder.dev.examples import CORRECT, MISTAKES, notebook, reference_code
from autograder.jobs import JobConfig
from autograder.service import (
    Service,
    ServicePool,
    _Client,
    course_socket,
)
from autograder.submission import load
from tests.survivors import descendants, survivors

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="another user's process needs root to start it")


# ---------------------------------------------------------------- the trust checks (the wire and the folders: tests/unit/test_service.py)


def test_serve_refuses_a_folder_others_may_enter(tmp_path):
    opened = tmp_path / "open"
    opened.mkdir()
    opened.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "serve", "--socket", str(opened / "socket"), "--sandbox", "none"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "open to other users" in done.stderr
    assert "chmod 700" in done.stderr
    assert not (opened / "socket").exists()


def test_a_client_grades_cold_where_the_folder_is_open(tmp_path):
    opened = tmp_path / "open"
    opened.mkdir()
    opened.chmod(0o755)
    said: list[str] = []
    pool = ServicePool(JobConfig(), 1, opened / "socket", say=said.append)
    try:
        assert pool.cold is not None
        assert pool.sock is None
        assert len(said) == 1
        assert "open to other users" in said[0]
        assert "grading cold" in said[0]
    finally:
        pool.close()


#: A listener that binds as root, then becomes ``nobody`` before it listens (what SO_PEERCRED reports).
FAKE_SERVICE = """
import os, socket, sys
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
os.setgid(65534)
os.setuid(65534)
listener.listen(1)
print("listening", flush=True)
connection, _ = listener.accept()
connection.recv(1)
"""


@as_root
def test_a_client_takes_no_records_from_another_users_service(tmp_path):
    folder = tmp_path / "service"
    folder.mkdir(mode=0o700)
    path = folder / "socket"
    fake = subprocess.Popen([sys.executable, "-c", FAKE_SERVICE, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None
        assert fake.stdout.readline() == "listening\n"
        said: list[str] = []
        pool = ServicePool(JobConfig(), 1, path, say=said.append)
        pool.close()
        assert pool.cold is not None
        assert len(said) == 1, said
        assert f"runs as uid {NOBODY}, not as us" in said[0]
    finally:
        fake.kill()
        fake.wait()


#: A client of another user (started as root, it becomes nobody first): it connects, says hello, and prints what it hears back ("" at the end of file).
OTHER_CLIENT = """
import json, os, socket, struct, sys
os.setgid(65534)
os.setuid(65534)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data = json.dumps({"op": "hello", "options": {}}).encode()
try:  # the service may have closed the connection already
    s.sendall(struct.pack(">I", len(data)) + data)
    print(repr(s.recv(100)))
except OSError:
    print(repr(b""))
"""


@as_root
def test_the_service_turns_away_another_users_client():
    folder = Path(tempfile.mkdtemp(prefix="autograder-peer-", dir="/tmp"))  # a folder nobody may enter, to connect
    try:
        folder.chmod(0o755)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(folder / "socket"))
        os.chmod(folder / "socket", 0o777)
        listener.listen(1)
        other = subprocess.Popen(
            [sys.executable, "-c", OTHER_CLIENT, str(folder / "socket")],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        said: list[str] = []
        service = Service(JobConfig(), 1, folder / "socket", said.append)
        try:
            sock, _ = listener.accept()
            client = _Client(sock, 0)
            writer = threading.Thread(target=client.write)
            writer.start()
            service.converse(client)
            writer.join()
            out, _ = other.communicate(timeout=60)
        finally:
            service.pool.close()
            listener.close()
        assert out.strip() == "b''"  # no answer at all: the connection closed
        assert said == [f"a connection from uid {NOBODY} refused: only uid 0 (or root) may use this service"]
    finally:
        shutil.rmtree(folder)


# ---------------------------------------------------------------- a real service


def start(tmp: Path, marker: str, *args: str) -> subprocess.Popen:
    """``autograder serve ARGS`` with the test's marker in its environment, once its jobs are warm."""
    (tmp / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp / "tmp"), "AUTOGRADER_TEST_MARKER": marker}
    server = subprocess.Popen(
        [sys.executable, "-m", "autograder", "serve", *args, "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()  # "... job(s) warm ..., listening at PATH", or the end: it stopped
    assert "listening at" in line, (line, server.stderr.read() if server.stderr else "")
    return server


def stop_cleanly(server: subprocess.Popen, marker: str) -> None:
    """SIGTERM the service: it says it stopped, exits 0, and leaves no process."""
    seen = descendants(server.pid)
    assert seen, "the service had no jobs"
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=120)
    assert server.returncode == 0, err
    assert "autograder serve: stopped" in out
    assert survivors(seen, marker) == {}


def grade(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", *args, "--force", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def finished(process: subprocess.Popen, report: Path) -> tuple[list[dict], str]:
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    return json.loads(report.read_text())["submissions"], err


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    marker = f"autograder-service-{uuid.uuid4().hex}"
    path = tmp / "service" / "socket"  # serve makes its folder, 0700
    server = start(tmp, marker, "--socket", str(path))
    yield server, path, marker
    if server.poll() is None:  # the last test kills it; here only if it did not run or failed before
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def graded_cold(tmp_path_factory):
    """Four submissions (two parts; a correct one and known mistakes, a notebook among them), graded cold."""
    folder = tmp_path_factory.mktemp("submissions")
    smoother = [e for e in CORRECT + MISTAKES if e.part == "smoother"][:2]
    paths = write([*smoother, next(m for m in MISTAKES if m.part == "attention")], folder)
    paths.append(folder / "attention.ipynb")
    nbformat.write(notebook("attention", reference_code("attention")), paths[-1])
    report = folder / "cold.json"
    records, _ = finished(grade(*map(str, paths), "--json", str(report)), report)
    return paths, records


@pytest.mark.slow
def test_the_service_grades_as_a_cold_grading_does(service, graded_cold, tmp_path):
    _, path, _ = service
    paths, cold = graded_cold
    report = tmp_path / "warm.json"
    records, err = finished(grade(*map(str, paths), "--json", str(report), "--service", str(path)), report)
    assert f"grading with the warm service at {path}" in err
    assert records == cold  # every check, message and score
    assert json.loads(report.read_text())["environment"]["service"] == str(path)


@pytest.mark.slow
def test_two_clients_at_once_each_get_their_own_records(service, graded_cold, tmp_path):
    _, path, _ = service
    paths, cold = graded_cold
    halves = [(paths[::2], cold[::2]), (paths[1::2], cold[1::2])]
    running = [
        grade(*map(str, mine), "--json", str(tmp_path / f"{i}.json"), "--service", str(path))
        for i, (mine, _) in enumerate(halves)
    ]
    for i, ((_, expected), process) in enumerate(zip(halves, running, strict=True)):
        records, err = finished(process, tmp_path / f"{i}.json")
        assert "grading with the warm service" in err
        assert records == expected


@pytest.mark.slow
def test_other_options_are_graded_cold_with_a_note(service, graded_cold, tmp_path):
    _, path, _ = service
    paths, cold = graded_cold
    report = tmp_path / "other.json"
    process = grade(str(paths[0]), "--json", str(report), "--service", str(path), "--call-timeout", "9")
    records, err = finished(process, report)
    lines = [line for line in err.splitlines() if "warm service" in line]
    assert lines == [f"autograder: the warm service at {path} grades with other options (its limits differ from "
                     "this grading's): grading cold"]  # fmt: skip
    assert "service" not in json.loads(report.read_text())["environment"]
    assert [r["score"] for r in records] == [cold[0]["score"]]


@pytest.mark.slow
def test_a_service_that_stops_answering_is_left_for_a_cold_grading(service, graded_cold):
    """SIGSTOP: the service can say nothing (no record, no heartbeat); after ``silence`` the client grades cold."""
    from autograder.jobs import job_config
    from autograder.processes import Reaper

    server, path, _ = service
    paths, cold = graded_cold
    said: list[str] = []
    with Reaper():
        pool = ServicePool(job_config("auto", "auto", None), 1, path, say=said.append, silence=3.0)
        try:
            assert pool.cold is None
            os.kill(server.pid, signal.SIGSTOP)
            try:
                pool.submit(load(paths[0], index=5))
                index, record = pool.next()
            finally:
                os.kill(server.pid, signal.SIGCONT)
        finally:
            pool.close()
    assert said[-1] == f"the warm service at {path} said nothing for 3 s: grading the rest cold"
    assert pool.cold is not None
    assert index == 5
    assert record.to_json() == cold[0]


#: A correct attention answer that takes a while to load: the service is killed while it grades it.
SLOW = "import time\ntime.sleep(5)\n\n" + reference_code("attention")


@pytest.mark.slow
def test_a_service_killed_mid_request_loses_nothing(service, graded_cold, tmp_path):
    """The last test of the module's service: it kills it."""
    server, path, marker = service
    paths, cold = graded_cold
    slow = tmp_path / "slow_attention.py"
    slow.write_text(SLOW)
    todo = [paths[0], slow, *paths[1:]]
    report = tmp_path / "report.json"
    journal = tmp_path / "report.json.journal"
    client = grade(*map(str, todo), "--json", str(report), "--service", str(path))
    try:
        while not (journal.exists() and journal.read_text().count("\n") >= 1):  # the first record is in
            assert client.poll() is None
            assert server.poll() is None
            threading.Event().wait(0.1)
        seen = descendants(server.pid)
        server.kill()  # SIGKILL, this pid alone: it is grading the slow one, three are left
        server.wait()
        records, err = finished(client, report)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert survivors(seen, marker) == {}
    assert "grading the rest cold" in err
    assert [r["path"] for r in records] == [str(p) for p in todo]  # each once, in order
    assert [r for r in records if r["path"] != str(slow)] == cold
    assert next(r for r in records if r["path"] == str(slow))["score"] == 10


@pytest.mark.slow
def test_nbgrader_autograde_uses_the_courses_service(tmp_path, generate):
    from autograder.dev.classroom import nbgrader
    from autograder.nbgrader.course import check, init
    from autograder.nbgrader.course_records import course_records
    from autograder.nbgrader.notebooks import ASSIGNMENT

    course = tmp_path / "course"
    init(directory=course)
    generate(course)
    folder = course / "submitted" / "ada" / ASSIGNMENT
    folder.mkdir(parents=True)
    for part in ("smoother", "attention"):
        nbformat.write(notebook(part, reference_code(part)), folder / f"{part}.ipynb")
    marker = f"autograder-service-{uuid.uuid4().hex}"
    server = start(tmp_path, marker, "--course", str(course))
    try:
        warm = nbgrader(course, "autograde", ASSIGNMENT)
        assert f"autograder: grading with the warm service at {course_socket(course)}" in warm.stderr
        records = [r.to_json() for r in course_records(course, ASSIGNMENT)]
        stop_cleanly(server, marker)  # SIGTERM: it ends, with every job and sandbox, and removes its socket
        assert not course_socket(course).exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert [line for line in check(directory=course) if ".autograder-service" in line] == []
    cold = nbgrader(course, "autograde", ASSIGNMENT, "--force")
    assert "no warm service for this course" in cold.stderr
    assert "grading with the warm service" not in cold.stderr
    assert [r.to_json() for r in course_records(course, ASSIGNMENT)] == records
    assert [r["score"] for r in records] == [10, 10]
