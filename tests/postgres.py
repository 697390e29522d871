"""A PostgreSQL server for a test: ``initdb`` and ``pg_ctl`` in a temporary folder, on 127.0.0.1 and a free port.

PostgreSQL will not run as root: under root (CI) the server runs as ``nobody``, which owns the
folder. Password authentication (a random password), no Unix socket outside the folder. The server
is stopped and its folder removed after the tests that use it, whether they passed or not.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The user the server runs as when the tests run as root.
SERVER_USER = "nobody"


def server_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's ``/usr/lib/postgresql/<N>/bin`` (newest)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(debian[-1]).parent if debian else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    password: str
    folder: Path

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new database (its db_url)."""
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", password=self.password, dbname="postgres"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')  # a test's own name: letters and underscores
        finally:
            connection.close()
        return self.url(name)


def _as_server_user() -> dict:
    """subprocess arguments that run a command as the server's user (only under root)."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(SERVER_USER)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    """A running PostgreSQL server, stopped after the module's tests."""
    where = server_bin()
    if where is None:
        pytest.fail("PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="autograder-postgres-"))
    data, log, pwfile = folder / "data", folder / "server.log", folder / "password"
    password = secrets.token_hex(16)
    pwfile.write_text(password)
    run_as = _as_server_user()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(folder)}
    if run_as:
        os.chown(folder, run_as["user"], run_as["group"])
        os.chown(pwfile, run_as["user"], run_as["group"])
    started = False
    try:
        subprocess.run(
            [str(where / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, cwd=folder, timeout=300, **run_as,
        )  # fmt: skip
        for _ in range(5):  # a port taken between free_port and the start: another one
            port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=100"
            done = subprocess.run(
                [str(where / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "120", "start"],
                capture_output=True, text=True, env=env, cwd=folder, timeout=300, **run_as,
            )  # fmt: skip
            if done.returncode == 0:
                started = True
                break
        if not started:
            said = log.read_text() if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start: {done.stderr[-2000:]} {said[-2000:]}")
        yield Server(port, password, folder)
    finally:
        if started:
            subprocess.run(
                [str(where / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "120", "stop"],
                capture_output=True, env=env, cwd=folder, timeout=300, **run_as,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
