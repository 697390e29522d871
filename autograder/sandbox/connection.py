"""The connection to one child: a socket to a fresh fork of the zygote, one request at a time.

Each exchange has a deadline. A child that does not answer in time is killed; a child that dies
or sends something that is not plain data is lost. The caller (``Student``) decides what that
means for the student.
"""

from __future__ import annotations

import socket
import time

import torch

from autograder.sandbox import wire
from autograder.sandbox.launch import Limits
from autograder.sandbox.zygote_client import ZygoteClient


class ChildTimeout(Exception):
    """The child did not answer before the deadline; it was killed."""


class ChildLost(Exception):
    """The child died, or sent something that is not plain data; ``status`` says how it ended."""

    def __init__(self, status: str, wire_error: wire.WireError | None = None) -> None:
        super().__init__(status)
        self.status, self.wire_error = status, wire_error


class ChildConnection:
    """A socket to one child of ``zygote``; ``exchange`` sends a request and returns the reply."""

    def __init__(self, zygote: ZygoteClient, limits: Limits) -> None:
        self.zygote = zygote
        self.limits = limits
        self.sock: socket.socket | None = zygote.fork()

    @property
    def open(self) -> bool:
        return self.sock is not None

    def exchange(self, message: dict, timeout: float) -> tuple[dict, list[tuple[int, bytes]]]:
        """(reply, the inputs placed in the shared region as (offset, bytes sent))."""
        arena = self.zygote.arena
        arena.reset()
        frame, encoder = wire.encode(message, arena=arena)
        try:
            wire.send(self.sock, frame, time.monotonic() + timeout)
            text, blob = wire.receive(self.sock, time.monotonic() + timeout, self.limits.reply_size)
            reply = wire.decode(text, blob, place=_place)
        except TimeoutError:
            self.lose(kill=True)
            raise ChildTimeout from None
        except EOFError:
            raise ChildLost(self.lose(kill=False)) from None
        except wire.WireError as error:
            raise ChildLost(self.lose(kill=True), error) from None
        return reply, encoder.shared

    def changed(self, shared: list[tuple[int, bytes]]) -> list[int]:
        """Positions of the shared inputs whose bytes are no longer what was sent (read by the grader)."""
        arena = self.zygote.arena
        return [i for i, (offset, data) in enumerate(shared) if arena.view(offset, len(data)) != data]

    def lose(self, kill: bool) -> str:
        """Close the socket; how the child ended."""
        self.sock.close()
        self.sock = None
        return self.zygote.finish(kill=kill)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self.zygote.finish()


def _place(t: torch.Tensor, device: str) -> torch.Tensor:
    """Put a tensor rebuilt from the child's bytes on the device the child had it on."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise wire.WireError("a CUDA tensor on a grader without CUDA")
        return t.to(device)
    return t
