"""The kit of the hidden suites: everything a suite imports comes from here.

A suite is one module per part, ``autograder/suites/<part>.py``, with ``from autograder.suites.kit import
...`` and its reference (``from solutions.<part> import ...``) as its only imports besides torch and pytest.
It has, in this order (``docs/writing-a-part.md`` walks through a whole part):

``POINTS``
    ``{group: points}`` with the group constants below (``MATCHES``, ``SHAPES``, ...), adding up to 10.
    A group of 0 points holds diagnostics: reported, never scored.
``CASES`` and ``inputs(case, seed, dtype=torch.float32, device="cpu")``
    The named inputs of the part's checks, and their one builder: the same seed gives the same inputs.
    Builders of other inputs are ``random_inputs(..., seed, ...)``; ``generator(seed)`` seeds them.
``MISTAKES``
    ``{function: [Mistake(hint, fn), ...]}``: wrong variants of the reference, each with the hint a
    student gets when their result matches it (``recognise``), first match wins. ``fn`` takes the
    inputs that ``expect_<function>`` compares on.
``expect_<function>(student, *inputs, device="cpu", keep=None)``
    One per function: call the student's, compare with the reference, raise ``CheckFailed`` with the
    hint of a known mistake. Student first, then the function's inputs, then keywords: ``device``
    (said in the message), ``keep`` (keep the result for the pictures), ``call`` where the message
    describes the inputs in words of its own.
``attempt_<function>(got, *inputs, expected=...)``
    For the checks of how a function works (devices, inputs unchanged, allowed APIs, speed: ``gate``'s
    ``attempt``): why a result that differs from ``expected`` still counts, as a string, or "": the hint of
    the known mistake it honestly makes (``attempted``), or a reason of the part's own (a bias left in,
    the reference's result around the student's own attention). Keywords after ``expected`` for what
    else it needs (``student``).
the checks
    ``test_*`` functions, each with ``@group(...)``, a one-line docstring (the check's name in the
    report) and the fixtures ``student``, ``seed``, ``device`` (with ``@on_devices``, or ``@on_cuda`` for a
    check that only a GPU grader runs), ``keep`` (data for the pictures).
``pictures(kept, plt)``
    The feedback's pictures from what the checks kept, drawn with ``png``, ``drawable``, ``heatmaps``.
``INLINE_TESTS``
    The test cell a conventional course would write (``make bench`` compares with it).

Pure comparisons come from ``compare``, the handle on a submission from ``sandbox.student``, the
notebooks' data from ``notebook_data``, the drawing from ``pictures``; the checks that need a
``Student`` (errors, devices, unchanged inputs, allowed APIs, speed) are defined here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest
import torch

from autograder.sandbox import schedstat
from autograder.sandbox.student import Outcome, Remote, Student, StudentError, StudentFailure, StudentTimeout, quoted
from autograder.sandbox.wire import Lookup, Words
from autograder.suites.compare import (
    HALF,
    CheckFailed,
    Inconclusive,
    Mistake,
    attempted,
    describe,
    describe_call,
    difference,
    expect_same,
    gate,
    recognise,
    trivial,
    variant,
)
from autograder.suites.notebook_data import CORPUS, FIRST_SENTENCE, TOKENS, noisy_sine, notebook_embedding
from autograder.suites.pictures import drawable, heatmaps, np, png, weights_picture, why
from autograder.suites.plugin import APIS, DEVICES, EDGE_CASES, GRADIENTS, MATCHES, SHAPES, SPEED, UNCHANGED, group
from autograder.suites.scan import forbidden_uses

__all__ = [
    "APIS",
    "CORPUS",
    "DEVICES",
    "EDGE_CASES",
    "FIRST_SENTENCE",
    "GRADIENTS",
    "HALF",
    "MATCHES",
    "SHAPES",
    "SPEED",
    "TOKENS",
    "UNCHANGED",
    "CheckFailed",
    "Inconclusive",
    "Lookup",
    "Mistake",
    "Mistakes",
    "Remote",
    "Student",
    "StudentError",
    "StudentFailure",
    "StudentTimeout",
    "Words",
    "attempted",
    "confirmed_in_float32",
    "describe",
    "describe_call",
    "difference",
    "drawable",
    "expect_allowed_apis",
    "expect_error",
    "expect_fast",
    "expect_gradients",
    "expect_inputs_device",
    "expect_same",
    "expect_tensor_like",
    "expect_unchanged",
    "expect_unmodified",
    "forbidden_uses",
    "gate",
    "generator",
    "group",
    "heatmaps",
    "noisy_sine",
    "nondeterministic",
    "notebook_embedding",
    "np",
    "on_cuda",
    "on_devices",
    "png",
    "quoted",
    "recognise",
    "run_portable",
    "trivial",
    "upstream",
    "variant",
    "weights_picture",
    "why",
]

#: A suite's known mistakes: for each of its functions, the wrong variants of the reference, first match wins.
Mistakes = dict[str, list[Mistake]]

# ---------------------------------------------------------------- devices and seeds

on_devices = pytest.mark.parametrize("device", ["cpu", "cuda"], indirect=True)
#: A check that only a GPU grader runs (skipped, and so not counted, on a CPU-only one).
on_cuda = pytest.mark.parametrize("device", ["cuda"], indirect=True)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def upstream(outputs, seed: int, device: str) -> list[torch.Tensor]:
    """Seeded gradients to send back through ``outputs`` (for the gradient checks)."""
    g = generator(seed)
    return [torch.randn(o.shape, generator=g, dtype=o.dtype).to(device) for o in outputs]


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
        if raised.isinstance("NotImplementedError"):
            raise CheckFailed(
                f"{call} is not implemented yet: it raises {raised.type_name}{detail}", stub=raised.stub
            ) from None
        raise CheckFailed(f"{call} should raise {error}, but raised {raised.type_name}{detail}") from None
    raise CheckFailed(f"{call} should raise {error}, but returned {describe(value)}")


def nondeterministic(student: Student, target, args: Sequence, got, hint: str, *, tries: int = 2, **kwargs) -> str:
    """``hint`` if ``target(*args)`` called again (``tries`` times at most) gives another result than ``got``;
    else ""."""
    first = tuple(got) if isinstance(got, list) else got
    for _ in range(tries):
        try:
            again = student.call(target, *args, **kwargs)
            if difference(again, first) is not None:
                return hint
        except StudentFailure:
            return ""
        except Exception:  # results of a kind no comparison applies to: nothing to say
            return ""
    return ""


# ---------------------------------------------------------------- inputs left alone, devices


def expect_unmodified(outcome: Outcome, names: Sequence[str], call: str) -> None:
    """No input may have changed: its memory, as the grader saw it after the call, or its shape and strides.

    The memory is observed by the grader. A change of metadata (``x.unsqueeze_(0)``, ``x.t_()``) only
    the child can see: its report may fail the check, never pass it. A list or dict argument: the child
    gives it back as it is after the call and the grader compares it with its own copy of what it sent
    (``Outcome.reported_changes``). A child that lies ("unchanged") passes that comparison as code that
    changes nothing does; the check still needs a right result (or an honest attempt) from the same
    call (``gate``), and no later call sees the change (each gets the grader's copy): the lie earns
    nothing that leaving the list alone would not.
    """
    if outcome.mutated:
        changed = ", ".join(names[i] if i < len(names) else f"input {i}" for i in outcome.mutated)
        raise CheckFailed(
            f"{call} modified its input {changed}",
            "use out-of-place operations (masked_fill, not masked_fill_; x = x + y, not x += y) on inputs",
        )
    if outcome.reported_changes:
        changed = ", ".join(
            k if isinstance(k, str) else (names[k] if k < len(names) else f"input {k}")
            for k in outcome.reported_changes
        )
        raise CheckFailed(
            f"{call} changed its input {changed} in place (its shape, strides or items)",
            "in-place methods such as unsqueeze_, t_, resize_ or as_strided_ change the caller's tensor: "
            "use unsqueeze, t, reshape instead",
        )


def expect_unchanged(
    student: Student,
    target,
    args: Sequence,
    names: Sequence[str],
    expected,
    *,
    call: str,
    labels=("the result",),
    attempt: Callable[[object], str] | None = None,
    **kwargs,
) -> None:
    """Call ``target(*args)``; for a right result or an honest attempt (``attempt(got)``: its hint, see
    ``compare.gate``), none of the inputs may have changed (as the grader saw them)."""
    outcome = student.run(target, *args, **kwargs)
    honest = None if attempt is None else (lambda: attempt(outcome.value))
    gate(outcome.value, expected, call, "leaving the inputs unchanged", labels, attempt=honest)
    expect_unmodified(outcome, names, call)


def expect_tensor_like(
    got, expected: torch.Tensor, call: str, hint: str | Callable[[], str] = "", label: str = "the result"
) -> None:
    """``got`` must be a tensor of the expected shape and dtype (its values are another check's business)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or got.dtype != expected.dtype:
        raise CheckFailed(f"{call}: {difference(got, expected, label)}", hint() if callable(hint) else hint)


def confirmed_in_float32(hint: str, mistakes: Sequence[Mistake], rerun: Callable[[], tuple]) -> str:
    """A hint found in half precision, where a tolerance of about 1% lets two different mistakes look alike
    (part 3's sqrt(D) + 0.5 and sqrt(L) when L = 6 and D = 4). ``rerun()`` runs the student's code again on the
    same inputs (and weights) in float32 and gives (its result, the reference's, the inputs the mistakes
    take). The hint stands if that result is the reference's (a mistake of half precision itself); else the
    hint that explains the float32 result is given, or ""."""
    try:
        got, expected, args = rerun()
    except (StudentError, CheckFailed):
        return ""
    if difference(got, expected) is None:
        return hint
    return recognise(got, mistakes, *args, expected=expected)


def expect_gradients(
    got: Sequence,
    expected: Sequence,
    labels: Sequence[str],
    call: str,
    hint: Callable[[torch.Tensor], str] | None = None,
) -> None:
    """Each gradient the student's code gave matches the reference's; ``labels``: "the query", "q_proj.weight"."""
    for label, mine, want in zip(labels, got, expected):
        if mine is None:
            raise CheckFailed(f"{call}: the result does not depend on {label} (no gradient)")
        found = difference(mine, want, f"the gradient with respect to {label}")
        if found:
            raise CheckFailed(f"{call}: {found}", hint(mine) if hint is not None else "")


ON_THE_CPU = (
    "a tensor created inside your function lives on the CPU: create it on the input's device "
    "(device=x.device, torch.zeros_like, x.new_zeros) or use a Python number (math.sqrt)"
)


def expect_inputs_device(outcome: Outcome, call: str, names: Sequence[str] = ()) -> None:
    """No tensor the call made on the default device met the inputs' tensors or was returned.

    Device portability on any grader: every watched call records, inside the sandbox, where the
    tensors the code makes come from (``sandbox/inside/watch.py``), whatever the inputs' device, so
    the code cannot tell this check from an ordinary call. The record is the child's word: it can
    fail this check, never pass it; a check using it passes only with values that are right (or an
    honest attempt, ``gate``), so a forged record earns what code that makes no such tensor earns.
    """
    for kind, made_by, file, line, op in outcome.origins:
        what = f"meets the inputs' tensors in {op}" if kind == "mix" else "is returned"
        if made_by.startswith("input_"):  # an input the check left on the CPU, the others on the device
            i = int(made_by.removeprefix("input_"))
            name = names[i] if i < len(names) else f"input {i}"
            raise CheckFailed(
                f"{call}, {name} on the CPU and the other inputs on a GPU: {name} still lives on the CPU and {what}: "
                "on a GPU this fails",
                f"move {name} to the device of the other inputs (.to(device=..., dtype=...)) before using it",
            )
        where = f" ({file}, line {line})" if file else ""
        raise CheckFailed(
            f"{call}: a tensor made by {made_by}{where} lives on the default device (the CPU), not on the inputs' "
            f"device, and {what}: on a GPU this fails",
            ON_THE_CPU,
        )


def run_portable(student: Student, target, *args, device: str, call: str, attr: str = "", **kwargs):
    """Run on CUDA; explain a device mix-up."""
    try:
        return student.call(target, *args, attr=attr, **kwargs)
    except StudentError as error:
        text = error.detail
        if "device" in text and ("cpu" in text or "cuda" in text):
            raise CheckFailed(f"{call} on {device}: {error}", ON_THE_CPU, stub=error.stub) from None
        raise


# ---------------------------------------------------------------- allowed APIs


def expect_allowed_apis(student, used_in_run: set[str]) -> None:
    named = forbidden_uses(student.code)
    found = sorted(named | used_in_run)
    if found:
        raise CheckFailed(
            f"your code uses {', '.join(found)}, which this exercise does not allow",
            "write attention with tensor operations: matmul, softmax, masked_fill",
        )


# ---------------------------------------------------------------- speed


#: How much slower than the reference a submission may be: a factor, plus a slack in seconds per device.
SPEED_FACTOR = 10.0
SPEED_SLACK = {"cpu": 0.01, "cuda": 0.005}


#: Round trips to a clean child, by device and the inputs' shapes: measured once per grading job.
_OVERHEAD: dict[tuple, float] = {}


def _signature(value: object) -> object:
    """What a round trip's cost depends on: shapes, dtypes and devices of tensors, sizes of lists and texts."""
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype), value.device.type)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, len(value), sum(len(v) for v in value if isinstance(v, str)),
                tuple(_signature(v) for v in value if not isinstance(v, str)))  # fmt: skip
    if isinstance(value, dict):
        return ("dict", len(value))
    return type(value).__name__


def clean_overhead(student: Student, args: tuple, less_waits: bool = False) -> float:
    """Seconds of a round trip carrying ``args`` both ways to a child that runs no student code (with
    ``less_waits``, less what the job's thread and the child's waited for a CPU).

    Measured once per grading job and kind of input (the job is trusted; the child is fresh): the first
    time, the student's own child ends first (one child at a time), so objects made in it are gone and
    its code is loaded again on the next call.
    """
    key = (_signature(args), less_waits)
    if key not in _OVERHEAD:
        _OVERHEAD[key] = student.round_trip(args, less_waits=less_waits)
    return _OVERHEAD[key]


def timed(
    run: Callable[[], object],
    *,
    device: str,
    fair: bool,
    clock: Callable[[], float] = time.perf_counter,
    waited: Callable[[], float | None] = schedstat.waited,
) -> tuple[float, object]:
    """Seconds ``run()`` takes in this thread, and its value; with ``fair``, less what this thread waited, runnable,
    for a CPU meanwhile (``schedstat``). The two readings of the wait lie inside the clock's: a wait the kernel
    counts while it is read is then inside the time it is taken from, never more than it."""
    synchronize(device)
    start = clock()
    before = waited() if fair else None
    value = run()
    synchronize(device)
    after = waited() if fair else None
    seconds = clock() - start
    if before is not None and after is not None:
        seconds = max(seconds - (after - before), 0.0)
    return seconds, value


def expect_fast(
    student: Student,
    target,
    make_input: Callable[[int], tuple],
    reference: Callable,
    *,
    device: str,
    call: str,
    cause: str,
    factor: float = SPEED_FACTOR,
    slack: float | None = None,
    attr: str = "",
    verify: Callable[[object, tuple, object], None] | None = None,
    mistakes: Sequence[Mistake] = (),
    per_round: int = 3,
    rounds: int = 3,
) -> None:
    """The student's call takes at most ``factor`` times the reference, plus ``slack`` seconds.

    ``make_input(k)`` gives the k-th input (all of one shape, each new): every timed call gets one
    it has never seen, so nothing can be cached, and every timed result must be right (or an honest
    attempt: one of ``mistakes``, see ``compare.gate``). Times are
    the best of ``per_round`` calls, measured by the grader around the round trip, minus the round
    trip of a child that runs no student code; every time here (the student's, the reference's, the
    round trip's) on the CPU leaves out what the job's thread and the child's waited, runnable, for a
    CPU (``sandbox.schedstat``), so that a busy machine gives the grade a quiet one gives. A time near the limit is measured again on new
    inputs (up to ``rounds`` rounds) before it fails, so that regrading gives the same grade; before
    the second round the round trip is measured again (``clean_overhead`` measured it once per job,
    perhaps on a quieter machine: a busier one slows the student's round trips, not the reference,
    which runs in the job) and the larger of the two is taken off.
    ``target`` is a name, or a function that makes the target (a module) after the overhead is taken.
    """
    slack = SPEED_SLACK.get(device, SPEED_SLACK["cpu"]) if slack is None else slack
    # on the CPU, the threads' waits for a CPU are not the code's time; on a GPU a thread that waits for the
    # device may yield its CPU, and that wait is the device's time: the wall clock, as it is
    fair = device == "cpu"
    first = make_input(0)
    overhead = clean_overhead(student, first, fair)
    make_target = target
    target = make_target() if callable(make_target) else make_target

    def timed_reference(args: tuple) -> tuple[float, object]:
        """The reference's time on ``args`` and its result (what the student's result is checked against)."""
        return timed(lambda: reference(*args), device=device, fair=fair)

    def check(got: object, args: tuple, expected: object) -> None:
        if verify is not None:
            verify(got, args, expected)
        else:
            honest = (lambda: attempted(got, mistakes, *args, expected=expected)) if mistakes else None
            gate(got, expected, call, "speed", labels=("output", "weights"), attempt=honest)

    # a warm-up of both, and a right result
    check(student.run(target, *first, attr=attr, watch=False).value, first, timed_reference(first)[1])
    best_theirs, best_ours, limit, best_call = float("inf"), float("inf"), 0.0, float("inf")
    for r in range(rounds):
        for i in range(per_round):
            args = make_input(1 + r * per_round + i)
            ours, expected = timed_reference(args)
            best_ours = min(best_ours, ours)
            outcome = student.run(target, *args, attr=attr, watch=False)
            check(outcome.value, args, expected)
            best_call = min(best_call, outcome.seconds - (outcome.waited if fair else 0.0))
        best_theirs = max(best_call - overhead, 0.0)
        limit = factor * best_ours + slack
        if best_theirs <= limit or best_theirs > 3 * limit:  # within the limit, or clearly beyond it
            break
        if r == 0 and r + 1 < rounds:  # near the limit: the round trip as it costs now, then a warm-up again
            overhead = max(overhead, student.round_trip(first, less_waits=fair))
            target = make_target() if callable(make_target) else make_target
            check(student.run(target, *first, attr=attr, watch=False).value, first, timed_reference(first)[1])
    if best_theirs > limit:
        raise CheckFailed(
            f"{call} took {best_theirs * 1e3:.1f} ms on {device}; the reference takes {best_ours * 1e3:.2f} ms "
            f"(allowed: {limit * 1e3:.1f} ms)",
            cause,
        )
