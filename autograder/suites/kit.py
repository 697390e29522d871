"""Checks that need a ``Student``, and the inputs and devices the suites share.

The suites' repeated patterns live here: running on a device, raising for bad input, leaving the
inputs unchanged, allowed APIs only, speed. Pure comparisons are in ``compare``.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Sequence

import pytest
import torch

from autograder.sandbox.protocol import forbidden_names
from autograder.sandbox.student import Outcome, Student, StudentError
from autograder.suites.compare import HALF, CheckFailed, Inconclusive, describe, describe_call, gate

on_devices = pytest.mark.parametrize("device", ["cpu", "cuda"], indirect=True)
portable = pytest.mark.parametrize("device", ["cuda", "meta"], indirect=True)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def to(device: str, *tensors):
    """The tensors on ``device`` (None stays None)."""
    return [t if t is None else t.to(device) for t in tensors]


def upstream(outputs, seed: int, device: str) -> list[torch.Tensor]:
    """Seeded gradients to send back through ``outputs`` (for the gradient checks)."""
    g = generator(seed)
    return [torch.randn(o.shape, generator=g, dtype=o.dtype).to(device) for o in outputs]


def skip_half_off_gpu(dtype: torch.dtype, device: str) -> None:
    if dtype in HALF and device != "cuda":
        pytest.skip("half precision is checked on the GPU")


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def expect_error(student: Student, name: str, *args, error: str = "ValueError", what: str = "") -> None:
    """The call must raise ``error`` (or a subclass)."""
    call = what or describe_call(name, args)
    try:
        value = student.call(name, *args)
    except StudentError as raised:
        if raised.isinstance(error):
            return
        detail = f": {raised.detail}" if raised.detail else ""
        raise CheckFailed(f"{call} should raise {error}, but raised {raised.type_name}{detail}") from None
    raise CheckFailed(f"{call} should raise {error}, but returned {describe(value)}")


# ---------------------------------------------------------------- inputs left alone, devices


def expect_unmodified(outcome: Outcome, names: Sequence[str], call: str) -> None:
    """The grader saw the inputs' memory after the call: none may have changed."""
    if outcome.mutated:
        changed = ", ".join(names[i] if i < len(names) else f"input {i}" for i in outcome.mutated)
        raise CheckFailed(
            f"{call} modified its input {changed}",
            "use out-of-place operations (masked_fill, not masked_fill_; x = x + y, not x += y) on inputs",
        )


def run_portable(student: Student, target, *args, device: str, call: str, attr: str = "", **kwargs):
    """Run on CUDA or on the meta device; explain a device mix-up."""
    try:
        return student.call(target, *args, attr=attr, meta_guard=device == "meta", **kwargs)
    except StudentError as error:
        text = error.detail
        if "device" in text and ("cpu" in text or "meta" in text or "cuda" in text):
            raise CheckFailed(
                f"{call} on {device}: {error}",
                "a tensor created inside your function lives on the CPU: create it on the input's device "
                "(device=x.device, torch.zeros_like, x.new_zeros) or use a Python number (math.sqrt)",
            ) from None
        if device == "meta" and any(w in text for w in ("item()", "meta tensor", "data-dependent", "nonzero")):
            raise Inconclusive(
                f"not checked: {call} uses an operation that needs the data ({text[:100]}), "
                "which the meta device does not have; a GPU grader checks it for real"
            ) from None
        raise


# ---------------------------------------------------------------- allowed APIs

FORBIDDEN = forbidden_names()


def torch_aliases(tree: ast.AST) -> set[str]:
    """Names that refer to torch or one of its modules in this code (the prelude's too)."""
    aliases = {"torch", "nn", "F"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("torch"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            aliases.update(a.asname or a.name for a in node.names)
    return aliases


def forbidden_uses(code: str) -> set[str]:
    """Forbidden APIs the code names: attributes of torch, imports from torch, names in strings."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # code that cannot run names nothing
        return set()
    aliases = torch_aliases(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN:
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            found.update(a.name for a in node.names if a.name in FORBIDDEN)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN:
            found.add(node.value)
    return found


def expect_allowed_apis(student, used_in_run: set[str]) -> None:
    named = forbidden_uses(student.code)
    found = sorted(named | used_in_run)
    if found:
        raise CheckFailed(
            f"your code uses {', '.join(found)}, which this exercise does not allow",
            "write attention with tensor operations: matmul, softmax, masked_fill",
        )


# ---------------------------------------------------------------- speed


def best_time(fn: Callable[[], object], device: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def expect_fast(
    student: Student,
    target,
    inputs: Sequence[tuple],
    reference: Callable,
    *,
    device: str,
    call: str,
    factor: float,
    slack: float,
    attr: str = "",
    cause: str,
    verify: Callable[[object, tuple], None] | None = None,
) -> None:
    """The student's call takes at most ``factor`` times the reference, plus ``slack`` seconds.

    Times are the best of several calls on different inputs of the same shape (so that nothing
    can be cached), measured by the grader around the round trip, minus the time of a round trip
    that runs nothing.
    """
    expected = reference(*inputs[0])  # warm up both, and make sure the result is right
    got = student.run(target, *inputs[0], attr=attr, watch=False).value
    if verify is not None:
        verify(got, inputs[0])
    else:
        gate(got, expected, call, "speed", labels=("output", "weights"))
    ours = min(best_time(lambda args=args: reference(*args), device, 1) for args in inputs)
    overhead = min(student.echo(*args) for args in inputs)
    theirs = min(student.run(target, *args, attr=attr, watch=False).seconds for args in inputs)
    theirs = max(theirs - overhead, 0.0)
    limit = factor * ours + slack
    if theirs > limit:
        raise CheckFailed(
            f"{call} took {theirs * 1e3:.1f} ms on {device}; the reference takes {ours * 1e3:.2f} ms "
            f"(allowed: {limit * 1e3:.1f} ms)",
            cause,
        )
