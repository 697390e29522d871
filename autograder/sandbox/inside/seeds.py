"""The same random numbers for the same call: every generator a submission can use unseeded.

``install`` runs once in the zygote, before any student code; ``seed`` runs in the child before
each call of the student's code (and before its code is loaded), with the call's number.

Seeded per call: torch's generators (``torch.manual_seed``: the CPU's and every CUDA device's),
Python's ``random`` module, NumPy's legacy global generator (``np.random.*``, once NumPy's random
module is imported). Generators that take their seed from the operating system draw it instead
from a stream seeded by the same number: ``random.Random()``, ``random.seed()``, NumPy's
``default_rng()``, ``RandomState()`` and ``SeedSequence()``, ``torch.seed()``,
``random.SystemRandom``, ``secrets``, ``uuid.uuid4`` and ``os.urandom``/``os.getrandom``. Nothing
in the sandbox needs randomness an attacker cannot predict: the student's code is the only user.
Left as they are: reading ``/dev/urandom`` and calling ``getrandom(2)`` directly (a submission
that does that wants numbers that differ; it is flagged by nothing and graded as it behaves).
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

#: The operating system's randomness, for the zygote's own use (the uids of its children)
SYSTEM_URANDOM = os.urandom
#: The stream that stands in for the operating system's randomness; reseeded per call.
_ENTROPY = random.Random(0)
_ORIGINAL_SEED = random.Random.seed


def _urandom(size: int) -> bytes:
    return _ENTROPY.randbytes(int(size))


def _getrandom(size: int, flags: int = 0) -> bytes:
    return _ENTROPY.randbytes(int(size))


def _random_seed(self: random.Random, a: Any = None, version: int = 2) -> None:
    """``Random.seed``: a seed from the stream where the operating system's would be drawn."""
    if a is None:
        a = _ENTROPY.getrandbits(128)
    _ORIGINAL_SEED(self, a, version)


def install() -> None:
    """Route every draw of the operating system's randomness that Python code makes to the stream."""
    import torch

    os.urandom = _urandom  # uuid.uuid4 and secrets (through random.SystemRandom) look it up at each call
    if hasattr(os, "getrandom"):
        os.getrandom = _getrandom
    random._urandom = _urandom  # type: ignore[attr-defined]  # SystemRandom's, and so secrets' and NumPy's seeds
    random.Random.seed = _random_seed  # type: ignore[method-assign]  # random.Random() and random.seed()
    random.seed = random._inst.seed  # the module's functions: bound at import

    def torch_seed() -> int:
        value = _ENTROPY.getrandbits(63)
        torch.manual_seed(value)
        return value

    torch.seed = torch_seed
    torch.random.seed = torch_seed


def seed(number: int) -> None:
    """Seed every generator for one call (``number``: its place in the part's grading)."""
    import torch

    torch.manual_seed(number)  # the CPU's generator and, lazily, every CUDA device's
    random.seed(number)
    _ORIGINAL_SEED(_ENTROPY, f"entropy {number}")
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:  # not imported yet: its global generator will seed itself from the stream
        np_random.seed(number % (1 << 32))
