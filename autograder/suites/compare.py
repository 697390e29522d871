"""Pure comparisons with the reference: what differs, which known mistake it is, what a message may say.

Nothing here talks to the sandbox. Messages say what was expected and what came back (shape,
dtype, device, the largest difference and where) and describe inputs by shape and dtype only:
never their values.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from autograder.sandbox.student import Remote, quoted


class CheckFailed(AssertionError):
    """A check found a difference; ``hint`` names a likely mistake when one is recognised; ``stub`` the
    function met as released (``StudentError.stub``): a stub names no mistake."""

    def __init__(self, message: str, hint: str = "", stub: str = "") -> None:
        super().__init__(message)
        self.message, self.hint, self.stub = message, hint, stub


class Inconclusive(Exception):
    """A check that could not decide, for a reason that is not the student's fault: it is skipped, with the reason."""


# (rtol, atol) for student against reference on the same device: the two may order their sums
# differently, and may compute in a wider dtype inside.
TOLERANCES = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-2, 5e-3),
    torch.bfloat16: (5e-2, 5e-2),
}
HALF = (torch.float16, torch.bfloat16)

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
    return _difference(got, expected, label, True)


def same(got, expected) -> bool:
    """``difference(got, expected) is None``, without putting what differs into words (the known mistakes ask this
    of every variant)."""
    return _difference(got, expected, "", False) is None


#: what a difference says where no words are wanted (``same``)
DIFFERS = "differs"


def _difference(got, expected, label, words: bool) -> str | None:
    if isinstance(expected, tuple):
        return _tuple_difference(got, expected, label, words)
    if not isinstance(expected, torch.Tensor):
        if got == expected:
            return None
        return f"{label}: expected {expected!r}, got {quoted(got, describe(got))}" if words else DIFFERS
    if not isinstance(got, torch.Tensor):
        return f"{label}: expected a tensor of shape {tuple(expected.shape)}, got {describe(got)}" if words else DIFFERS
    if got.shape != expected.shape:
        return f"{label}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}" if words else DIFFERS
    if got.dtype != expected.dtype:
        return f"{label}: expected dtype {expected.dtype}, got {got.dtype}" if words else DIFFERS
    if got.device.type != expected.device.type:
        return (
            f"{label}: expected a tensor on {expected.device.type}, got one on {got.device.type}" if words else DIFFERS
        )
    if expected.device.type == "meta" or expected.numel() == 0:
        return None
    if not expected.is_floating_point():
        return _exact_difference(got, expected, label, words)
    return _close_difference(got, expected, label, words)


def _tuple_difference(got, expected: tuple, label, words: bool) -> str | None:
    """What differs between ``got`` and a tuple ``expected``, element by element (the first difference)."""
    if not isinstance(got, (tuple, list)):
        return f"expected a tuple of {len(expected)}, got {describe(got)}" if words else DIFFERS
    if len(got) != len(expected):
        return f"expected a tuple of {len(expected)}, got {len(got)} values" if words else DIFFERS
    labels = label if isinstance(label, (list, tuple)) else [f"element {i}" for i in range(len(expected))]
    for g, e, name in zip(got, expected, labels):
        found = _difference(g, e, name, words)
        if found:
            return found
    return None


def _exact_difference(got: torch.Tensor, expected: torch.Tensor, label: str, words: bool) -> str | None:
    """Tensors of integers or bools, of the same shape, dtype and device: equal, or where they differ."""
    if torch.equal(got, expected):
        return None
    if not words:
        return DIFFERS
    wrong = (got != expected).nonzero()
    where = wrong[0].tolist()
    return (
        f"{label}: {len(wrong)} of {expected.numel()} values differ; at {where} "
        f"expected {expected[tuple(where)].item()}, got {got[tuple(where)].item()}"
    )


def _close_difference(got: torch.Tensor, expected: torch.Tensor, label: str, words: bool) -> str | None:
    """Floating-point tensors of the same shape, dtype and device: close within the dtype's tolerance, or not."""
    if torch.equal(got, expected):  # the same values (no NaN: NaN equals nothing), in one pass
        return None
    rtol, atol = TOLERANCES.get(expected.dtype, (1e-4, 1e-5))
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    nan_got, nan_expected = g.isnan(), e.isnan()
    if (nan_got & ~nan_expected).any():
        if not words:
            return DIFFERS
        where = _index(int((nan_got & ~nan_expected).flatten().nonzero()[0]), e.shape)
        return f"{label}: got NaN at {where}, where {e[tuple(where)].item():.4g} was expected"
    error = (g - e).abs().nan_to_num(0.0)
    bad = (error > atol + rtol * e.abs().nan_to_num(0.0)) | (nan_expected & ~nan_got)
    if not bad.any():
        return None
    if not words:
        return DIFFERS
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
    """A wrong variant of the reference and the hint to give when a submission matches it.

    A mistake made with ``variant`` is also the change it makes, as keywords (``options``) of a parameterised
    reference (``make``): two of them that change different keywords of the same ``make`` combine into one
    variant with both changes (``pairs``), named together when no single mistake explains a result.
    """

    hint: str
    fn: Callable
    make: Callable | None = None
    options: tuple[tuple[str, object], ...] = ()


def variant(hint: str, make: Callable, **options) -> Mistake:
    """The mistake ``make(*inputs, **options)``: the parameterised reference ``make`` with ``options`` changed."""
    return Mistake(hint, functools.partial(make, **options), make, tuple(options.items()))


#: The most pairs of mistakes tried for one result (a part's list of n composable mistakes makes n(n-1)/2).
MAX_PAIRS = 300
TWO_AT_ONCE = "two mistakes at once: (1) {}; (2) {}"


@functools.cache
def pairs(mistakes: tuple[Mistake, ...]) -> tuple[Mistake, ...]:
    """Every two mistakes of ``mistakes`` that change different keywords of the same parameterised reference,
    as one variant with both changes (in the order of the list; at most ``MAX_PAIRS``)."""
    found: list[Mistake] = []
    composable = [m for m in mistakes if m.make is not None and m.options]
    for a, b in itertools.combinations(composable, 2):
        keys_a, keys_b = {k for k, _ in a.options}, {k for k, _ in b.options}
        if a.make is not b.make or keys_a & keys_b or a.hint == b.hint:
            continue
        both = variant(TWO_AT_ONCE.format(a.hint, b.hint), a.make, **dict(a.options), **dict(b.options))
        found.append(both)
        if len(found) == MAX_PAIRS:
            break
    return tuple(found)


def _variant(mistake: Mistake, args, kwargs):
    """The variant's result on these inputs, or None if it raises."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a wrong variant may be one torch warns about
            return mistake.fn(*args, **kwargs)
    except Exception:
        return None


def _matches(got, wrong, expected) -> bool:
    """``got`` is ``wrong`` on inputs where ``wrong`` is not the reference's ``expected`` result."""
    if wrong is None:
        return False
    try:  # the cheaper test first: most variants are not what the student got
        return same(got, wrong) and not same(wrong, expected)
    except Exception:
        return False


def recognise(got, mistakes: Sequence[Mistake], *args, expected, **kwargs) -> str:
    """The hint of the first known mistake that explains ``got``.

    A mistake is named only where it shows: its result on the same inputs must differ from the
    reference's ``expected`` and equal ``got``. A variant that happens to agree with the reference on
    these inputs explains nothing.
    """
    for mistake in mistakes:
        if _matches(got, _variant(mistake, args, kwargs), expected):
            return mistake.hint
    for both in pairs(tuple(mistakes)):  # two at once, only when no single one explains it
        if _matches(got, _variant(both, args, kwargs), expected):
            return both.hint
    return ""


def _tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def trivial(value, inputs: Sequence) -> bool:
    """A result no real work is needed for: every tensor in it constant, or a copy of an input."""
    tensors = _tensors(value)
    if not tensors:
        return True
    for t in tensors:
        if t.device.type == "meta" or t.numel() <= 1:
            continue
        flat = t.detach().flatten()
        if bool((flat != flat[0]).any()) and not any(
            isinstance(x, torch.Tensor) and x.shape == t.shape and x.dtype == t.dtype and torch.equal(x.cpu(), t.cpu())
            for x in inputs
        ):
            return False
    return True


def attempted(got, mistakes: Sequence[Mistake], *args, expected, **kwargs) -> str:
    """The hint of a known mistake ``got`` honestly makes, or "": an attempt at the real work (the checks of how a
    function works ask only whether there is one; which one is found first does not change that).

    ``got`` must equal a recognised variant (see ``recognise``) whose result does real work on these
    inputs: not constant (zeros of the right shape match no attempt), not a copy of an input.
    """
    known = tuple(mistakes)
    every = (*known, *pairs(known))  # pairs after the single ones
    last = _ATTEMPTED.get(known)  # first the one a result matched last: a speed check asks of every timed result
    for mistake in every if last is None else (last, *(m for m in every if m is not last)):
        wrong = _variant(mistake, args, kwargs)
        if _matches(got, wrong, expected) and not trivial(wrong, args):
            _ATTEMPTED[known] = mistake
            return mistake.hint
    return ""


#: the known mistake each list's last honest attempt matched (``attempted``): whether a result is an attempt does
#: not depend on the order in which the mistakes are tried, only how soon the answer comes
_ATTEMPTED: dict[tuple[Mistake, ...], Mistake] = {}


def expect_same(
    got, expected, *, call: str, mistakes: Sequence[Mistake] = (), args=(), kwargs=None, labels=("the result",)
) -> None:
    """Fail the check unless ``got`` matches ``expected``; name a known mistake if it fits."""
    label = labels if isinstance(expected, tuple) else labels[0]
    found = difference(got, expected, label)
    if found:
        hint = recognise(got, mistakes, *args, expected=expected, **(kwargs or {})) if mistakes else ""
        raise CheckFailed(f"{call}: {found}", hint)


def gate(
    got, expected, call: str, check: str, labels=("the result",), *, attempt: Callable[[], str] | None = None
) -> None:
    """Checks of how a function works (speed, devices, inputs, APIs) count for a right result or an honest attempt.

    An honest attempt is a result that matches a recognised known mistake (``attempt`` gives its
    hint, see ``attempted``): one mistake costs the checks of what the function computes, not
    those of how it works. Zeros of the right shape, a copy of an input, anything unrecognised: the
    check is not judged ("not judged: fix 'matches the reference' first"), and earns nothing; it costs
    what the values cost already, no hint of its own sends the student elsewhere.
    """
    label = labels if isinstance(expected, tuple) else labels[0]
    found = difference(got, expected, label)
    if found and not (attempt is not None and attempt()):
        raise CheckFailed(
            f"not judged: fix 'matches the reference' first ({call}: {found}); {check} counts only for a correct "
            "result or a recognised attempt"
        )
