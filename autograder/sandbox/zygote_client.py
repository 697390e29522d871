"""The grader's client of one zygote: start it in its sandbox, fork children, hear how they ended."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from autograder.sandbox import protocol
from autograder.sandbox.launch import Limits, Sandbox, SandboxError, copy_runtime


class ZygoteClient:
    """One zygote in its sandbox; forks one child at a time."""

    def __init__(self, sandbox: Sandbox, limits: Limits) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.info: dict = {}
        self.stderr: list[bytes] = []
        self.arena = None
        self.runtime: Path | None = None
        self.workdir: str | None = None

    # --- life cycle

    def start(self) -> None:
        self.stop()
        self.runtime = copy_runtime()
        from autograder.sandbox import wire  # torch: only where a zygote runs, not in the command's own process

        self.arena = wire.Arena.create()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, cwd, self.workdir = self.sandbox.command(self.runtime, theirs.fileno(), self.arena, self.limits)
        self.proc = subprocess.Popen(
            argv,
            pass_fds=(theirs.fileno(), self.arena.fd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.sandbox.environment(),
            start_new_session=True,
            cwd=cwd,
        )
        theirs.close()
        self.control = ours
        self.stderr = []
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        message = self._hear(timeout=180)
        if not message or not message.get(protocol.READY):
            tail = b"".join(self.stderr).decode(errors="replace")[-2000:]
            self.stop()
            raise SandboxError(f"the sandbox did not start: {tail or message}")
        self.info = message

    def _drain(self, stream) -> None:
        kept = 0
        for chunk in iter(lambda: stream.read1(65536), b""):
            if kept < 65536:
                self.stderr.append(chunk)
                kept += len(chunk)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.arena is not None:
            self.arena.map.close()
            os.close(self.arena.fd)
            self.arena = None
        for path in (self.runtime, self.workdir):
            if path and os.path.isdir(path) and str(path).startswith(tempfile.gettempdir()):
                shutil.rmtree(path, ignore_errors=True)

    # --- the control channel

    def _tell(self, message: dict, fds: list[int] = ()) -> None:
        socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))

    def _hear(self, timeout: float) -> dict | None:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(1 << 16)
        except (TimeoutError, OSError):
            return None
        if not data:
            return None
        try:
            message = json.loads(data)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    def fork(self) -> socket.socket:
        """A socket to a fresh child of the zygote (restarting the zygote if it died)."""
        if not self.alive():
            self.start()
        self.arena.clear()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        limits = {
            "memory": self.limits.memory,
            "processes": self.limits.processes,
            "file_size": self.limits.file_size,
            "open_files": self.limits.open_files,
            "cpu_seconds": int(self.limits.submission_timeout) + 5,
            "workdir": self.workdir,
        }
        try:
            self._tell({"op": protocol.FORK, "limits": limits}, [theirs.fileno()])
        except OSError:
            theirs.close()
            ours.close()
            self.start()
            return self.fork()
        theirs.close()
        message = self._hear(timeout=30)
        if not message or protocol.FORKED not in message:
            ours.close()
            self.start()
            return self.fork()
        return ours

    def finish(self, kill: bool = False) -> str:
        """Wait for the current child to end (killing it if asked or if it lingers); how it ended."""
        if kill and self.alive():
            self._tell_quietly({"op": protocol.KILL})
        message = self._hear(timeout=2 if kill else 5)
        if message is None and self.alive():
            self._tell_quietly({"op": protocol.KILL})
            message = self._hear(timeout=5)
        if message is None or protocol.EXITED not in message:
            self.stop()  # the zygote no longer answers: a fresh one starts on the next fork
            return "the sandbox stopped answering"
        return str(message.get("status"))

    def _tell_quietly(self, message: dict) -> None:
        try:
            self._tell(message)
        except OSError:
            pass

    def describe(self) -> dict:
        return {"sandbox": self.sandbox.label, **{k: v for k, v in self.info.items() if k != protocol.READY}}

    def __enter__(self) -> ZygoteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
