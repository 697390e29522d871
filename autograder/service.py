"""The warm grading service: ``autograder serve`` keeps grading jobs warm between gradings.

A cold ``autograder grade`` of one student spends most of its time starting up: its Python and the
job's importing torch, the zygote importing torch again inside bubblewrap, pytest's start and the
suites' collection. ``serve`` pays that once: its ``jobs.Pool`` launches its jobs at start (each with
its zygote started and the suites collected) and keeps them for every request that follows, each
submission graded with the per-child reset as in any batch (before the first, the jobs grade the
reference answer of every part as many times as there are jobs: what a job does only the first time is
done before any request). ``autograder grade --service SOCKET`` and the nbgrader bridge (a course's
``.autograder-service/socket``) hand their submissions to it through ``ServicePool``, the pool of
``jobs.make_pool`` with the service's socket: the records come back as they finish, to the process
that writes the journal or the gradebook.

Trust. The service and its clients are the same user (or root): the socket lives in a directory only
its owner can enter (``serve`` makes it 0700; an existing one that another user owns, or that others
may enter or write, is refused), and each end checks the other's uid on the socket (``SO_PEERCRED``):
a client of another user is turned away, and a client does not take records from a service that
another user runs. What travels is length-prefixed JSON of bounded size (``MAX_MESSAGE``): a
submission's answer cells one way, its record the other; nothing from the socket is unpickled.

Options. The service's ``JobConfig`` is fixed when it starts. A client whose own (device, sandbox,
limits, figures, parts) differ is answered ``mismatch``, and grades cold, as without a service, with one
line that says why. A service that is not there, stops, or says nothing for ``SILENCE_S`` seconds
while it grades: the client grades cold what it has no record of yet. Nothing is lost, and no record
is given twice.

Several clients at once each get their own records: every submission gets a global index in the
service, which routes its record back to the connection and the index it came with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.cells import Answers, Cell
from autograder.jobs import JobConfig, Pool
from autograder.records import SubmissionRecord
from autograder.submission import Submission

#: The folder of a course that holds its service's socket (``autograder serve --course DIR``).
COURSE_SERVICE = ".autograder-service"
#: The most one message may hold, either way (a notebook's answers are at most a few MiB; a record with
#: its pictures less): a longer one ends the connection.
MAX_MESSAGE = 64 << 20
#: How often the service tells a client with submissions in grading that it is still there.
HEARTBEAT_S = 5.0
#: A service that says nothing this long while grading is taken as stopped: the client grades the rest cold.
SILENCE_S = 60.0
#: How long a client waits for the service's answer to its hello.
HELLO_S = 10.0
_HEADER = struct.Struct(">I")


class ServiceError(RuntimeError):
    """The service cannot be started, or reached, safely: a folder or a peer that is not ours."""


def course_socket(course: Path | str) -> Path:
    """Where a course's service listens: ``COURSE/.autograder-service/socket``."""
    return Path(course).absolute() / COURSE_SERVICE / "socket"


# ---------------------------------------------------------------- the wire: length-prefixed JSON


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"a message of {len(data)} bytes is over the limit of {MAX_MESSAGE}")
    sock.sendall(_HEADER.pack(len(data)) + data)


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> dict[str, Any]:
    """The next message; ConnectionError at the end, or for one that is too long or not a JSON object."""
    (size,) = _HEADER.unpack(_exactly(sock, _HEADER.size))
    if size > MAX_MESSAGE:
        raise ConnectionError(f"a message of {size} bytes is over the limit of {MAX_MESSAGE}")
    try:
        message = json.loads(_exactly(sock, size))
    except ValueError as error:
        raise ConnectionError(f"a message that is not JSON ({error})") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ConnectionError("a message without its op")
    return message


# ---------------------------------------------------------------- JSON forms


def config_json(options: JobConfig) -> dict[str, Any]:
    """What a grading depends on in a ``JobConfig``: equal forms, equal records."""
    return {
        "device": options.device,
        "sandbox": dataclasses.asdict(options.sandbox),
        "limits": dataclasses.asdict(options.limits),
        "figures": options.figures,
        "parts": {
            name: {"names": list(part.names), "uses": list(part.uses), "suite": str(part.suite_path)}
            for name, part in options.parts.items()
        },
    }


def mismatch(mine: dict[str, Any], theirs: dict[str, Any]) -> str:
    """The options in which two ``config_json`` differ, in words ("" if none)."""
    return ", ".join(key for key in sorted(set(mine) | set(theirs)) if mine.get(key) != theirs.get(key))


def submission_json(sub: Submission) -> dict[str, Any]:
    answers = sub.answers
    return {
        "path": sub.path,
        "code": sub.code,
        "parts": list(sub.parts),
        "error": sub.error,
        "note": sub.note,
        "sha256": sub.sha256,
        "index": sub.index,
        "student": sub.student,
        "refused": sub.refused,
        "answers": {
            "cells": [[c.number, c.source, c.label, c.runs] for c in answers.cells],
            "notes": list(answers.notes),
            "unrun": dict(answers.unrun),
            "outside": dict(answers.outside),
        },
    }


def submission_of(data: dict[str, Any]) -> Submission:
    """The submission of its JSON form; ValueError (or TypeError) for one that is not of that form."""
    answers = data["answers"]
    cells = [
        Cell(int(number), _text(source), _text(label), bool(runs)) for number, source, label, runs in answers["cells"]
    ]
    found = Answers(
        cells=cells,
        notes=[_text(note) for note in answers["notes"]],
        unrun={_text(k): _text(v) for k, v in answers["unrun"].items()},
        outside={_text(k): int(v) for k, v in answers["outside"].items()},
    )
    texts = {key: _text(data[key]) for key in ("path", "code", "error", "note", "sha256", "student", "refused")}
    return Submission(**texts, parts=[_text(p) for p in data["parts"]], index=int(data["index"]), answers=found)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a string was expected, not {type(value).__name__}")
    return value


def record_json(record: SubmissionRecord) -> dict[str, Any]:
    return {**record.to_json(), "wanted": list(record.wanted)}


def record_of(data: dict[str, Any]) -> SubmissionRecord:
    record = SubmissionRecord.from_json(data)
    record.wanted = [str(part) for part in data.get("wanted", record.wanted)]
    return record


# ---------------------------------------------------------------- trust


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (``SO_PEERCRED``), as the kernel says."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid


def trusted(uid: int) -> bool:
    """Our own uid, or root's."""
    return uid in (os.geteuid(), 0)


def open_folder(folder: Path, *, create: bool) -> int:
    """The socket's folder, opened (a descriptor of the folder itself), once checked: ours (or root's), a real
    folder (not a link), that no other user may enter or write. The socket is then reached through that
    descriptor (``in_folder``): the folder checked is the one used, and a long path is no limit.

    With ``create`` (``serve``), a folder that is not there is made, mode 0700 (its parent must exist).
    ServiceError otherwise, saying what is wrong.
    """
    if create:
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as error:
            raise ServiceError(f"cannot make {folder}: {error}") from None
    try:
        fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ServiceError(f"{folder} does not exist") from None
    except OSError:  # a link (ELOOP), a file (ENOTDIR)
        raise ServiceError(
            f"{folder} is not a folder (a link or a file): the socket's folder must be a real one"
        ) from None
    info = os.fstat(fd)
    why = ""
    if not stat.S_ISDIR(info.st_mode):
        why = f"{folder} is not a folder (a link or a file): the socket's folder must be a real one"
    elif not trusted(info.st_uid):
        why = f"{folder} belongs to uid {info.st_uid}, not to us: its socket is not ours to trust"
    elif stat.S_IMODE(info.st_mode) & 0o077:
        why = (f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}): the socket's folder must "
               f"be its owner's alone; chmod 700 {folder}")  # fmt: skip
    if why:
        os.close(fd)
        raise ServiceError(why)
    return fd


def check_folder(folder: Path, *, create: bool) -> None:
    """``open_folder``'s checks alone (``course check``): ServiceError saying what is wrong."""
    os.close(open_folder(folder, create=create))


def in_folder(fd: int, name: str) -> str:
    """The path of ``name`` in the folder open at ``fd``, through /proc (short, and that folder whatever its path)."""
    return f"/proc/self/fd/{fd}/{name}"


def connect(path: Path, timeout: float = HELLO_S) -> socket.socket:
    """A connection to the service at ``path``, after the checks of its folder and of the uid that listens."""
    fd = open_folder(path.parent, create=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(in_folder(fd, path.name))
        uid = peer_uid(sock)
        if not trusted(uid):
            raise ServiceError(f"the service at {path} runs as uid {uid}, not as us: its records are not taken")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(fd)
    return sock


# ---------------------------------------------------------------- the service


class _Client:
    """One connection: what it sent, by the service's index, and its own writer (a slow reader stalls only itself)."""

    def __init__(self, sock: socket.socket, number: int) -> None:
        self.sock = sock
        self.number = number
        self.outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.open = True
        self.grading = 0  # its submissions sent to the jobs whose records it has not been sent yet

    def write(self) -> None:
        while True:
            message = self.outbox.get()
            if message is None:
                break
            try:
                send(self.sock, message)
            except (OSError, ValueError):
                break
        self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class Service:
    """The warm pool, its socket, and the routing of each record to the client whose submission it is."""

    def __init__(self, options: JobConfig, jobs: int, path: Path, say: Callable[[str], None]) -> None:
        self.options = options
        self.config = config_json(options)
        self.path = path
        self.say = say
        self.pool = Pool(options, jobs)
        self.inbox: queue.Queue[tuple[_Client, Submission]] = queue.Queue()
        # the service's index -> (client, the client's index); no client: a warm-up's (``warm_up``)
        self.routes: dict[int, tuple[_Client | None, int]] = {}
        self.warming = 0
        self.clients: list[_Client] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.failure = ""  # why the jobs cannot grade (a fatal message of theirs): the service stops
        self.count = 0

    def warm_up(self) -> None:
        """Grade the reference answer of every part, as many times as there are jobs (from their shared queue:
        each job most likely meets each part), before the first request: what a job does
        only the first time it grades a part (the suites' first calls, the sandbox's first children of
        each kind) is done before the clock of any client. Their records go nowhere."""
        from autograder.parts import reference_code

        references = {}
        for part in self.options.parts:
            with contextlib.suppress(OSError, KeyError):  # a part without a reference in solutions/: not warmed up
                references[part] = "# warm-up\n" + reference_code(part)  # no cache of a request's code is hit
        for _ in range(self.pool.jobs):
            for part, code in references.items():
                self.count += 1
                self.warming += 1
                self.routes[self.count] = (None, self.count)
                self.pool.submit(Submission(path=f"(warm-up: {part})", code=code, parts=[part],
                                            index=self.count))  # fmt: skip

    # the dispatcher: the one thread that uses the pool
    def dispatch(self, ready: Callable[[], None] | None) -> None:
        beat = time.monotonic()
        announced = False
        try:
            self.warm_up()
            while not self.stopping.is_set():
                while True:
                    try:
                        client, sub = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    if not client.open:
                        continue
                    self.count += 1
                    self.routes[self.count] = (client, sub.index)
                    self.pool.submit(dataclasses.replace(sub, index=self.count))
                found = self.pool.poll(0.2)
                if found is not None:
                    self.route(*found)
                if not announced and self.pool.warm >= self.pool.jobs and not self.warming:
                    announced = True
                    if ready is not None:
                        ready()
                if time.monotonic() - beat > HEARTBEAT_S:
                    beat = time.monotonic()
                    for client in self.live():
                        if client.grading and client.outbox.empty():
                            client.outbox.put({"op": "alive"})
        except RuntimeError as error:  # the jobs cannot run at all
            self.failure = str(error)
            self.say(f"stopping: {error}")
            self.stopping.set()

    def route(self, index: int, record: SubmissionRecord) -> None:
        client, theirs = self.routes.pop(index)
        if not record.grader_error:  # a service lives for weeks: only jobs that stop again and again, with
            self.pool.restarts = 0  # no submission graded in between, stop it (``Pool``'s bound)
        if client is None:
            self.warming -= 1
            return
        with self.lock:
            client.grading -= 1
        if client.open:
            environment = {**self.pool.environment, "service": str(self.path)}
            client.outbox.put(
                {"op": "done", "index": theirs, "record": record_json(record), "environment": environment}
            )

    def live(self) -> list[_Client]:
        with self.lock:
            self.clients = [c for c in self.clients if c.open]
            return list(self.clients)

    # one thread per connection: its hello, then its submissions
    def converse(self, client: _Client) -> None:
        try:
            uid = peer_uid(client.sock)
            if not trusted(uid):
                self.say(f"a connection from uid {uid} refused: only uid {os.geteuid()} (or root) may use this service")
                return
            hello = receive(client.sock)
            if hello["op"] != "hello" or not isinstance(hello.get("options"), dict):
                return
            differ = mismatch(self.config, hello["options"])
            if differ:
                client.outbox.put({"op": "mismatch", "why": f"its {differ} differ from this grading's"})
                return
            client.outbox.put({"op": "ok", "environment": {**self.pool.environment, "service": str(self.path)}})
            while not self.stopping.is_set():
                message = receive(client.sock)
                if message["op"] != "grade":
                    return
                sub = submission_of(message["submission"])
                with self.lock:
                    client.grading += 1
                self.inbox.put((client, sub))
        except (ConnectionError, OSError, KeyError, ValueError, TypeError, AttributeError):
            return  # the client went away, or sent what is not a request: its connection ends
        finally:
            client.open = False
            client.outbox.put(None)

    def accept(self, listener: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            sock.settimeout(None)
            with self.lock:
                client = _Client(sock, len(self.clients))
                self.clients.append(client)
            threading.Thread(target=client.write, name="service-writer", daemon=True).start()
            threading.Thread(target=self.converse, args=(client,), name="service-client", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        for client in self.live():
            client.outbox.put({"op": "stopped", "why": self.failure or "the service stopped"})
            client.outbox.put(None)


def bind(path: Path) -> tuple[socket.socket, int]:
    """The listening socket at ``path``, and its folder's descriptor (``open_folder`` made or accepted it);
    ServiceError where a service answers there already, or something else is there."""
    fd = open_folder(path.parent, create=True)
    try:
        here = in_folder(fd, path.name)
        try:
            found = os.lstat(path.name, dir_fd=fd)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISSOCK(found.st_mode):
                raise ServiceError(f"{path} is there and is not a socket: not replaced")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(here)
            except OSError:  # a socket nobody listens on: a service that ended without removing it
                os.unlink(path.name, dir_fd=fd)
            else:
                raise ServiceError(f"a service already listens at {path}")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(here)
            os.chmod(here, 0o600)
            listener.listen(64)
        except OSError as error:
            listener.close()
            raise ServiceError(f"cannot listen at {path}: {error}") from None
    except BaseException:
        os.close(fd)
        raise
    listener.settimeout(0.5)
    return listener, fd


def serve(
    *,
    path: Path | str,
    options: JobConfig,
    jobs: int,
    ready: Callable[[], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Serve gradings at ``path`` with ``jobs`` warm jobs until KeyboardInterrupt (the CLI turns SIGTERM into one);
    ``ready`` is called once every job is warm and the socket listens. Every job and sandbox has ended, and
    the socket is removed, when this returns. RuntimeError if the jobs cannot run at all.
    """
    from autograder.processes import Reaper

    path = Path(path).absolute()
    tell = say or (lambda line: print(f"autograder serve: {line}", file=sys.stderr, flush=True))
    listener, folder = bind(path)
    with Reaper():
        service = Service(options, jobs, path, tell)
        dispatcher = threading.Thread(target=service.dispatch, args=(ready,), name="service-dispatch", daemon=True)
        try:
            service.pool.start()  # warm before the first request: each job starts its zygote and collects the suites
            dispatcher.start()
            service.accept(listener)
        except KeyboardInterrupt:
            pass
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                os.unlink(path.name, dir_fd=folder)
            os.close(folder)
            service.stop()
            if dispatcher.is_alive():
                dispatcher.join()
            service.pool.close(now=True)
    if service.failure:
        raise RuntimeError(service.failure)


# ---------------------------------------------------------------- the client


class ServicePool:
    """``jobs.Pool``'s interface over a warm service: submit submissions, collect (index, record) as they finish.

    When the service cannot grade (none answers at ``path``, its options differ, it stops or says nothing for
    ``silence`` seconds while it grades),
    the submissions it has not returned a record of go to a ``Pool`` of ``jobs`` jobs here, started
    cold; ``say`` gets one line on why.
    """

    def __init__(
        self,
        options: JobConfig,
        jobs: int,
        path: Path | str,
        say: Callable[[str], None] | None = None,
        silence: float = SILENCE_S,
    ) -> None:
        self.options = options
        self.silence = silence
        self.jobs = jobs
        self.path = Path(path).absolute()
        self.say = say or (lambda line: print(f"autograder: {line}", file=sys.stderr, flush=True))
        self.pending: dict[int, Submission] = {}
        self.cold: Pool | None = None
        self.warm_environment: dict = {}
        self.sock: socket.socket | None = None
        try:
            self.sock = connect(self.path)
            send(self.sock, {"op": "hello", "options": config_json(options)})
            answer = receive(self.sock)
        except (OSError, ServiceError, ConnectionError, ValueError) as error:
            self._cold(f"no warm service at {self.path} ({error}): grading cold")
            return
        if answer["op"] != "ok":
            why = str(answer.get("why", answer["op"]))
            self._cold(f"the warm service at {self.path} grades with other options ({why}): grading cold")
            return
        self.warm_environment = dict(answer.get("environment") or {})
        self.sock.settimeout(silence)
        self.say(f"grading with the warm service at {self.path}")

    @property
    def environment(self) -> dict:
        if self.warm_environment:
            return self.warm_environment
        return self.cold.environment if self.cold is not None else {}

    def _cold(self, why: str) -> None:
        """Grade cold from now on: what the service has not returned goes to jobs of our own."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
        self.say(why)
        self.cold = Pool(self.options, self.jobs)
        for sub in self.pending.values():
            self.cold.submit(sub)
        self.pending.clear()

    def submit(self, sub: Submission) -> None:
        if self.cold is not None:
            self.cold.submit(sub)
            return
        assert self.sock is not None
        self.pending[sub.index] = sub
        try:
            send(self.sock, {"op": "grade", "submission": submission_json(sub)})
        except (OSError, ValueError) as error:
            self._cold(f"the warm service at {self.path} stopped ({error}): grading the rest cold")

    def next(self) -> tuple[int, SubmissionRecord]:
        while self.cold is None:
            assert self.sock is not None
            try:
                message = receive(self.sock)
            except TimeoutError:
                self._cold(
                    f"the warm service at {self.path} said nothing for {self.silence:g} s: grading the rest cold"
                )
                break
            except (OSError, ConnectionError) as error:
                self._cold(f"the warm service at {self.path} stopped ({error}): grading the rest cold")
                break
            if message["op"] == "done":
                try:
                    index, record = int(message["index"]), record_of(message["record"])
                except (KeyError, TypeError, ValueError) as error:
                    self._cold(f"the warm service at {self.path} sent a record that is not one ({error}): grading "
                               "the rest cold")  # fmt: skip
                    break
                if self.pending.pop(index, None) is not None:
                    self.warm_environment = dict(message.get("environment") or self.warm_environment)
                    return index, record
            elif message["op"] == "stopped":
                why = str(message.get("why", "it stopped"))
                self._cold(f"the warm service at {self.path} stopped ({why}): grading the rest cold")
        assert self.cold is not None
        return self.cold.next()

    def close(self, now: bool = False) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
        if self.cold is not None:
            self.cold.close(now)
