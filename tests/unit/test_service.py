"""The warm service's wire, JSON forms and folder checks (``autograder.service``); the service itself: tests/test_service.py."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import struct

import nbformat
import pytest

from autograder.dev.examples import notebook, reference_code
from autograder.jobs import JobConfig
from autograder.records import Check, PartResult, SubmissionRecord
from autograder.sandbox.launch import Limits
from autograder.service import (
    MAX_MESSAGE,
    ServiceError,
    bind,
    check_folder,
    config_json,
    connect,
    mismatch,
    receive,
    record_json,
    record_of,
    send,
    submission_json,
    submission_of,
)
from autograder.submission import load

NOBODY = 65534


def test_the_wire_refuses_what_is_too_long_or_not_a_request():
    here, there = socket.socketpair()
    with here, there:
        send(here, {"op": "alive"})
        assert receive(there) == {"op": "alive"}
        here.sendall(struct.pack(">I", MAX_MESSAGE + 1))
        with pytest.raises(ConnectionError, match="over the limit"):
            receive(there)
    for data in (b"not json", b"[1, 2]", b'{"no": "op"}'):
        here, there = socket.socketpair()
        with here, there:
            here.sendall(struct.pack(">I", len(data)) + data)
            with pytest.raises(ConnectionError):
                receive(there)


def test_submissions_and_records_travel_unchanged(tmp_path):
    path = tmp_path / "attention.ipynb"
    nbformat.write(notebook("attention", reference_code("attention")), path)
    sub = load(path, index=7)
    assert sub.answers.cells
    assert not sub.error
    assert submission_of(json.loads(json.dumps(submission_json(sub)))) == sub
    check = Check("c", "g", passed=False, message="m", points=0.0, max_points=1.5, feedback="f", stub="smooth")
    part = PartResult(
        "smoother", [check, Check("d", "g", skipped=True)], notes=["n"], figures=[{"title": "t", "png": "AA"}]
    )
    record = SubmissionRecord("p.py", "abc", ["smoother", "vocab"], [part], note="n", student="s")
    assert record_of(json.loads(json.dumps(record_json(record)))) == record
    with pytest.raises((ValueError, TypeError, KeyError)):
        submission_of({**submission_json(sub), "path": ["not", "a", "string"]})


def test_options_that_differ_are_named():
    mine = config_json(JobConfig())
    assert mismatch(mine, config_json(JobConfig())) == ""
    other = JobConfig(limits=Limits(call_timeout=9.0), figures=True)
    assert mismatch(mine, config_json(other)) == "figures, limits"


def test_the_socket_folder_is_its_owners_alone(tmp_path):
    made = tmp_path / "made"
    check_folder(made, create=True)
    assert (made.stat().st_mode & 0o777) == 0o700
    with pytest.raises(ServiceError, match="does not exist"):
        check_folder(tmp_path / "absent", create=False)
    opened = tmp_path / "open"
    opened.mkdir(mode=0o755)
    opened.chmod(0o755)
    with pytest.raises(ServiceError, match="open to other users"):
        check_folder(opened, create=True)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(ServiceError, match="not a folder"):
        check_folder(link, create=False)
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, NOBODY, NOBODY)
        with pytest.raises(ServiceError, match=f"belongs to uid {NOBODY}"):
            check_folder(theirs, create=False)


def test_course_check_names_an_open_service_folder(tmp_path):
    from autograder.nbgrader.course import check, init

    course = tmp_path / "course"
    init(directory=course)
    (course / ".autograder-service").mkdir(mode=0o755)
    (course / ".autograder-service").chmod(0o755)
    found = [line for line in check(directory=course) if ".autograder-service" in line]
    assert len(found) == 1, found
    assert "open to other users" in found[0]


def test_same_options_as_the_service():
    """Guard: a field added to JobConfig is part of what the service compares (or deliberately not)."""
    assert {f.name for f in dataclasses.fields(JobConfig)} == set(config_json(JobConfig()))


def test_a_socket_deep_in_the_tree_is_reached_through_its_folder(tmp_path):
    """A socket's path may be longer than a Unix socket's address (108 bytes): bound and reached by its folder."""
    folder = tmp_path.joinpath(*["a-long-folder-name"] * 8)
    folder.parent.mkdir(parents=True)
    path = folder / "socket"
    assert len(str(path)) > 120
    listener, fd = bind(path)
    try:
        assert (path.stat().st_mode & 0o777) == 0o600
        assert (folder.stat().st_mode & 0o777) == 0o700
        client = connect(path)
        server, _ = listener.accept()
        with client, server:
            send(client, {"op": "hello"})
            assert receive(server) == {"op": "hello"}
        with pytest.raises(ServiceError, match="already listens"):
            bind(path)
    finally:
        listener.close()
        os.close(fd)
    listener, fd = bind(path)  # a socket nobody listens on is replaced
    listener.close()
    os.close(fd)
