"""The connection to one child: a socket to a fresh fork of the zygote, one request at a time.

Each exchange has a deadline. A child that does not answer in time is killed; a child that dies
or sends something that is not plain data is lost. The caller (``Student``) decides what that
means for the student.

Everything a reply holds is cleaned here, where it enters the grader: each string (values, dict
keys, the type names of objects left in the sandbox, error messages, notes) loses its control
characters, escape sequences and lone surrogates and is bounded in length, and the tensors of one
reply may build at most ``Limits.reply_size`` bytes. What the suites, the tables, the JSON and the
HTML receive from a child is therefore plain, printable and of bounded size.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import torch

from autograder.sandbox import schedstat, wire
from autograder.sandbox.launch import Limits
from autograder.sandbox.zygote_client import ZygoteClient
from autograder.text import MAX_TEXT, printable

__all__ = ["MAX_TEXT", "ChildConnection", "ChildLost", "ChildTimeout", "clean", "printable"]


def clean(value: Any) -> Any:
    """A decoded reply with every string in it made ``printable``: values, keys, handle types."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean(v) for v in value)
    if isinstance(value, wire.Lookup):
        return wire.Lookup({clean(k): clean(v) for k, v in value.items()}, clean(value.default))
    if isinstance(value, wire.Words):
        return wire.Words({clean(k): clean(v) for k, v in value.index.items()}, clean(value.default))
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, wire.Handle):
        return wire.Handle(value.id, printable(value.type, 100))
    return value  # numbers, None, tensors, dtypes, devices


class ChildTimeout(Exception):
    """The child did not answer before the deadline; it was killed."""


class ChildLost(Exception):
    """The child died, or sent something that is not plain data; ``status`` says how it ended."""

    def __init__(self, status: str, wire_error: wire.WireError | None = None) -> None:
        super().__init__(status)
        self.status, self.wire_error = status, wire_error


class ChildConnection:
    """A socket to one child of ``zygote``; ``exchange`` sends a request and returns the reply."""

    def __init__(self, zygote: ZygoteClient, limits: Limits, deadline: float | None = None) -> None:
        self.zygote = zygote
        self.limits = limits
        self.deadline = deadline  # the submission's (``time.monotonic``): no wait on the sandbox goes past it
        self.sock: socket.socket | None = zygote.fork(deadline)
        self.pid = zygote.child_pid  # on the host, found by the zygote's client (None: not known)
        self.waits = schedstat.Waits(f"/proc/{self.pid}/schedstat") if self.pid is not None else None
        #: seconds the job's thread and the child's main thread waited, runnable, for a CPU during the last
        #: exchange (``schedstat``): the speed checks take them off the wall clock
        self.waited = 0.0

    @property
    def open(self) -> bool:
        return self.sock is not None

    def exchange(self, message: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
        """(reply, the inputs placed in the shared region as (offset, bytes sent))."""
        arena, sock = self.zygote.arena, self.sock
        if arena is None or sock is None:
            raise ChildLost("the child is gone")
        arena.reset()
        frame, encoder = wire.encode(message, arena=arena)
        self.waited = 0.0
        try:
            before = schedstat.sample(self.waits)
            wire.send(sock, frame, time.monotonic() + timeout)
            text, blob = wire.receive(sock, time.monotonic() + timeout, self.limits.reply_size)
            self.waited = schedstat.between(before, schedstat.sample(self.waits))
            reply = clean(wire.decode(text, blob, place=_place, max_bytes=self.limits.reply_size))
        except TimeoutError:
            self.lose(kill=True)
            raise ChildTimeout from None
        except EOFError:
            raise ChildLost(printable(self.lose(kill=False), 200)) from None
        except wire.WireError as error:
            raise ChildLost(printable(self.lose(kill=True), 200), error) from None
        return reply, encoder.shared

    def changed(self, shared: list[tuple[int, bytes]]) -> list[int]:
        """Positions of the shared inputs whose bytes are no longer what was sent (read by the grader)."""
        arena = self.zygote.arena
        if arena is None:  # the zygote stopped: nothing can be read back, and nothing was seen changed
            return []
        return [i for i, (offset, data) in enumerate(shared) if arena.view(offset, len(data)) != data]

    def lose(self, kill: bool) -> str:
        """Close the socket; how the child ended."""
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self._forget()
        return self.zygote.finish(kill=kill, deadline=self.deadline)

    def close(self) -> None:
        self._forget()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self.zygote.finish(deadline=self.deadline)

    def _forget(self) -> None:
        if self.waits is not None:
            self.waits.close()
            self.waits = None


def _place(t: torch.Tensor, device: str) -> torch.Tensor:
    """Put a tensor rebuilt from the child's bytes on the device the child had it on."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise wire.WireError("a CUDA tensor on a grader without CUDA")
        return t.to(device)
    return t
