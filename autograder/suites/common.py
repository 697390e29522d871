"""What the suites share: comparing with the reference, naming known mistakes, timing, inputs.

Messages say what was expected and what came back (shape, dtype, device, the largest difference
and where) and describe inputs by shape and dtype only: never their values.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
import torch

from autograder.remote import Outcome, Remote, Student, StudentError, StudentFailure
from autograder.suites.plugin import CheckFailed, Inconclusive

# (rtol, atol) for student against reference on the same device: the two may order their sums
# differently, and may compute in a wider dtype inside.
TOLERANCES = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-2, 5e-3),
    torch.bfloat16: (5e-2, 5e-2),
}
HALF = (torch.float16, torch.bfloat16)

on_devices = pytest.mark.parametrize("device", ["cpu", "cuda"], indirect=True)
portable = pytest.mark.parametrize("device", ["cuda", "meta"], indirect=True)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


#: The notebooks' token matrix of the three "bank" sentences (vocab, attention and masking).
TOKENS = torch.tensor([[4, 6, 7, 2, 3, 0, 0], [4, 8, 5, 2, 3, 0, 0], [5, 2, 3, 9, 10, 1, 1]])


def notebook_embedding() -> torch.Tensor:
    """The notebooks' embedding of TOKENS: ``torch.manual_seed(0)``, then ``nn.Embedding(11, 4, padding_idx=0)``."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torch.nn.Embedding(11, 4, padding_idx=0)(TOKENS).detach()


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


# ---------------------------------------------------------------- describing


def describe(value) -> str:
    """A value by its kind, shape and dtype: what a message may say of a hidden input."""
    if isinstance(value, torch.Tensor):
        where = "" if value.device.type == "cpu" else f" on {value.device}"
        return f"{tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}{where}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, (int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, Remote):
        return f"a {value.type} object"
    return type(value).__name__


def describe_call(name: str, args: Sequence, names: Sequence[str] = ()) -> str:
    shown = [f"{n}={describe(a)}" if n else describe(a) for n, a in zip([*names, *[""] * len(args)], args)]
    return f"{name}({', '.join(shown)})"


def _index(flat: int, shape) -> list[int]:
    index = []
    for n in reversed(shape):
        index.append(flat % n if n else 0)
        flat = flat // n if n else 0
    return list(reversed(index))


def difference(got, expected, label: str = "the result") -> str | None:
    """None if ``got`` matches ``expected`` (kind, shape, dtype, device, values); else what differs."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)):
            return f"expected a tuple of {len(expected)}, got {describe(got)}"
        if len(got) != len(expected):
            return f"expected a tuple of {len(expected)}, got {len(got)} values"
        labels = label if isinstance(label, (list, tuple)) else [f"element {i}" for i in range(len(expected))]
        for g, e, name in zip(got, expected, labels):
            found = difference(g, e, name)
            if found:
                return found
        return None
    if not isinstance(expected, torch.Tensor):
        return None if got == expected else f"{label}: expected {expected!r}, got {got!r}"
    if not isinstance(got, torch.Tensor):
        return f"{label}: expected a tensor of shape {tuple(expected.shape)}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"{label}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    if got.dtype != expected.dtype:
        return f"{label}: expected dtype {expected.dtype}, got {got.dtype}"
    if got.device.type != expected.device.type:
        return f"{label}: expected a tensor on {expected.device.type}, got one on {got.device.type}"
    if expected.device.type == "meta" or expected.numel() == 0:
        return None
    if not expected.is_floating_point():
        if torch.equal(got, expected):
            return None
        wrong = (got != expected).nonzero()
        where = wrong[0].tolist()
        return (
            f"{label}: {len(wrong)} of {expected.numel()} values differ; at {where} "
            f"expected {expected[tuple(where)].item()}, got {got[tuple(where)].item()}"
        )
    rtol, atol = TOLERANCES.get(expected.dtype, (1e-4, 1e-5))
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    nan_got, nan_expected = g.isnan(), e.isnan()
    if (nan_got & ~nan_expected).any():
        where = _index(int((nan_got & ~nan_expected).flatten().nonzero()[0]), e.shape)
        return f"{label}: got NaN at {where}, where {e[tuple(where)].item():.4g} was expected"
    error = (g - e).abs().nan_to_num(0.0)
    bad = (error > atol + rtol * e.abs().nan_to_num(0.0)) | (nan_expected & ~nan_got)
    if not bad.any():
        return None
    flat = int(torch.where(bad.flatten(), error.flatten(), torch.zeros(())).argmax())
    where = _index(flat, e.shape)
    return (
        f"{label}: values differ, the largest difference is {error.flatten()[flat].item():.3g} at {where} "
        f"(expected {e.flatten()[flat].item():.4g}, got {g.flatten()[flat].item():.4g}); "
        f"{int(bad.sum())} of {e.numel()} values are outside the tolerance (rtol {rtol:g}, atol {atol:g})"
    )


# ---------------------------------------------------------------- known mistakes


@dataclass(frozen=True)
class Mistake:
    """A wrong variant of the reference and the hint to give when a submission matches it."""

    hint: str
    fn: Callable


def recognise(got, mistakes: Sequence[Mistake], *args, **kwargs) -> str:
    """The hint of the first known mistake whose output on the same inputs equals ``got``."""
    for mistake in mistakes:
        try:
            with torch.no_grad():
                wrong = mistake.fn(*args, **kwargs)
        except Exception:
            continue
        try:
            if difference(got, wrong) is None:
                return mistake.hint
        except Exception:
            continue
    return ""


def expect_same(
    got, expected, *, call: str, mistakes: Sequence[Mistake] = (), args=(), kwargs=None, labels=("the result",)
) -> None:
    """Fail the check unless ``got`` matches ``expected``; name a known mistake if it fits."""
    label = labels if isinstance(expected, tuple) else labels[0]
    found = difference(got, expected, label)
    if found:
        hint = recognise(got, mistakes, *args, **(kwargs or {})) if mistakes else ""
        raise CheckFailed(f"{call}: {found}", hint)


def gate(got, expected, call: str, check: str, labels=("the result",)) -> None:
    """Checks of how a function works (speed, devices, inputs, APIs) count only when its result is right."""
    label = labels if isinstance(expected, tuple) else labels[0]
    found = difference(got, expected, label)
    if found:
        raise CheckFailed(f"{call}: {found}; {check} counts only for a correct result")


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

FORBIDDEN = {
    "scaled_dot_product_attention",
    "MultiheadAttention",
    "multi_head_attention_forward",
    "_native_multi_head_attention",
}


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
    except SyntaxError:
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


__all__ = [
    "CheckFailed",
    "HALF",
    "Mistake",
    "StudentFailure",
    "TOKENS",
    "describe",
    "describe_call",
    "difference",
    "expect_allowed_apis",
    "expect_error",
    "expect_fast",
    "expect_same",
    "expect_unmodified",
    "gate",
    "generator",
    "notebook_embedding",
    "on_devices",
    "portable",
    "recognise",
    "run_portable",
    "skip_half_off_gpu",
    "to",
    "upstream",
]
