"""Hidden suite of part 3, attention: scaled_dot_product_attention."""

import math

import pytest
import torch

from autograder.sandbox.student import StudentError
from autograder.suites.compare import CheckFailed, Mistake, describe_call, expect_same, gate, recognise
from autograder.suites.kit import (
    expect_allowed_apis,
    expect_fast,
    expect_gradients,
    expect_tensor_like,
    expect_unchanged,
    generator,
    on_devices,
    portable,
    run_portable,
    skip_half_off_gpu,
    to,
    upstream,
)
from autograder.suites.notebook_data import FIRST_SENTENCE, TOKENS, notebook_embedding
from autograder.suites.pictures import weights_picture
from autograder.suites.plugin import group
from solutions.attention import scaled_dot_product_attention as reference

POINTS = {
    "matches the reference": 3.0,
    "shapes and dtypes": 1.0,
    "edge cases and bad input": 1.0,
    "gradients": 1.0,
    "device portability": 1.0,
    "inputs unchanged": 0.5,
    "allowed APIs only": 1.5,
    "speed": 1.0,
}
NAME = "scaled_dot_product_attention"
ARG_NAMES = ("query", "key", "value", "mask")
LABELS = ("output", "weights")


# ---------------------------------------------------------------- inputs


def notebook_example():
    """The notebook's embedded "bank" sentences, attending to themselves, padding masked."""
    embedded = notebook_embedding()
    return embedded, embedded.clone(), embedded.clone(), (TOKENS == 0)[:, None, :]


def random_inputs(shape_q, source: int, dv: int, mask: str, seed: int, dtype=torch.float32):
    """query (..., L, D), key (..., S, D), value (..., S, Dv), and a mask of the kind asked for."""
    g = generator(seed)
    *lead, length, d = shape_q
    q = torch.randn(shape_q, generator=g, dtype=torch.float64)
    k = torch.randn((*lead, source, d), generator=g, dtype=torch.float64)
    v = torch.randn((*lead, source, dv), generator=g, dtype=torch.float64)
    m = None
    if mask == "padding":  # (B, 1, ..., 1, S): the same keys ignored for every query
        keep = torch.randint(1, source + 1, (lead[0],), generator=g)
        m = (torch.arange(source) >= keep[:, None]).view(lead[0], *[1] * (len(shape_q) - 2), source)
    elif mask == "full":  # (..., L, S), at least one key kept per row
        m = torch.rand((*lead, length, source), generator=g) < 0.4
        m[..., 0] = False
    elif mask == "rows fully masked":
        m = torch.rand((*lead, length, source), generator=g) < 0.4
        m[..., 0, :] = True  # the first query of every batch element sees no key
    return q.to(dtype), k.to(dtype), v.to(dtype), m


CASES = {
    "3-D, L != S, Dv != D, full mask": ((2, 5, 8), 7, 3, "full"),
    "4-D heads, padding mask": ((2, 3, 6, 4), 9, 5, "padding"),
    "batch of 1, no mask": ((1, 4, 16), 4, 16, "none"),
    "length 1": ((3, 1, 8), 1, 8, "none"),
    "3-D, padding mask": ((4, 6, 8), 6, 8, "padding"),
}


def case_inputs(case: str, seed: int, dtype=torch.float32):
    if case == "notebook example":
        q, k, v, m = notebook_example()
        return q.to(dtype), k.to(dtype), v.to(dtype), m
    return random_inputs(*CASES[case], seed=seed, dtype=dtype)


# ---------------------------------------------------------------- known mistakes


def attend(
    q,
    k,
    v,
    mask=None,
    *,
    scale=None,
    dim=-1,
    fill=-math.inf,
    invert=False,
    ignore=False,
    fix_rows=True,
    only_after=False,
    value=None,
    swap=False,
):
    """Attention with one thing changed: the known mistakes, as functions."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale(q, v)
    scores = q @ k.transpose(-2, -1) * scale
    if mask is not None and not ignore:
        mask = ~mask if invert else mask
        if not only_after:
            scores = scores.masked_fill(mask, fill)
    weights = torch.softmax(scores, dim=dim)
    if mask is not None and not ignore and (fix_rows or only_after):
        weights = weights.masked_fill(mask, 0.0)
    out = weights @ (value(k, v) if value else v)
    return (weights, out) if swap else (out, weights)


MISTAKES = [
    Mistake(
        "the scores are not scaled: divide Q K^T by sqrt(D), D = query.shape[-1]",
        lambda *a: attend(*a, scale=lambda q, v: 1.0),
    ),
    Mistake(
        "the scores are divided by D: divide by sqrt(D)", lambda *a: attend(*a, scale=lambda q, v: 1 / q.shape[-1])
    ),
    Mistake(
        "the scores are scaled by the value's width: use sqrt(D) of the query and key, not of the value",
        lambda *a: attend(*a, scale=lambda q, v: 1 / math.sqrt(v.shape[-1])),
    ),
    Mistake(
        "the softmax runs over the queries: it must run over the keys, the last dimension (dim=-1)",
        lambda *a: attend(*a, dim=-2),
    ),
    Mistake(
        "the mask is inverted: True means 'ignore this key' here (the opposite of F.scaled_dot_product_attention)",
        lambda *a: attend(*a, invert=True),
    ),
    Mistake(
        "the mask is ignored: set the scores of masked keys to -inf before the softmax",
        lambda *a: attend(*a, ignore=True),
    ),
    Mistake(
        "a row whose keys are all masked gives NaN: set such rows to 0 after the softmax "
        "(weights.masked_fill(mask, 0) or torch.nan_to_num)",
        lambda *a: attend(*a, fix_rows=False),
    ),
    Mistake(
        "masked keys get -1e9 instead of -inf: a row whose keys are all masked then spreads its weight "
        "evenly; use -inf and give such rows weight 0",
        lambda *a: attend(*a, fill=-1e9, fix_rows=False),
    ),
    Mistake(
        "the masked weights are zeroed after the softmax only: mask the scores with -inf before it, so the "
        "kept weights still sum to 1",
        lambda *a: attend(*a, only_after=True),
    ),
    Mistake("the two results are swapped: return (output, weights)", lambda *a: attend(*a, swap=True)),
    Mistake("the weights multiply the keys: multiply the values", lambda *a: attend(*a, value=lambda k, v: k)),
]
SHAPE_HINTS = {
    "bmm": "torch.bmm takes 3-D tensors only: use @ (torch.matmul), which takes any leading dimensions",
    "transpose": "key.transpose(1, 2) swaps the wrong dimensions of 4-D inputs: use key.transpose(-2, -1)",
}


def call_student(student, q, k, v, m, device: str, call: str, **options):
    args = (q, k, v) if m is None else (q, k, v, m)
    try:
        return student.run(NAME, *args, **options)
    except StudentError as error:
        text = " ".join(error.frames) + " " + error.detail
        hint = next((h for word, h in SHAPE_HINTS.items() if word in text), "") if q.dim() == 4 else ""
        if hint:
            raise CheckFailed(f"{call} on {device}: {error}", hint) from None
        raise


def expect_attention(student, q, k, v, m, device: str, keep=None, **options):
    call = describe_call(NAME, [t for t in (q, k, v, m) if t is not None], ARG_NAMES)
    got = call_student(student, q, k, v, m, device, call, **options).value
    expected = reference(q, k, v, m)
    if keep is not None:
        keep("weights", got=got, expected=expected, labels=FIRST_SENTENCE)
    expect_same(
        got,
        expected,
        call=f"{call} on {device}",
        mistakes=MISTAKES,
        args=(q, k, v, m),
        labels=("output", "weights"),
    )


# ---------------------------------------------------------------- matches the reference


@group("matches the reference")
@on_devices
@pytest.mark.parametrize("case", ["notebook example", *CASES])
def test_attention_matches_the_reference(student, device, case, seed, keep):
    """scaled_dot_product_attention matches the reference"""
    picture = keep if case == "notebook example" and device == "cpu" else None
    expect_attention(student, *to(device, *case_inputs(case, seed)), device, keep=picture)


@group("matches the reference")
@on_devices
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=["fp64", "fp16", "bf16"])
def test_attention_matches_the_reference_in_other_dtypes(student, device, dtype, seed):
    """scaled_dot_product_attention matches the reference in another dtype"""
    skip_half_off_gpu(dtype, device)
    expect_attention(student, *to(device, *case_inputs("4-D heads, padding mask", seed, dtype)), device)


# ---------------------------------------------------------------- shapes and dtypes


@group("shapes and dtypes")
@pytest.mark.parametrize("case", ["3-D, L != S, Dv != D, full mask", "4-D heads, padding mask"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_attention_returns_output_and_weights(student, case, dtype, seed):
    """returns (output (..., L, Dv), weights (..., L, S)) in the input dtype"""
    q, k, v, m = case_inputs(case, seed, dtype)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    got = call_student(student, q, k, v, m, "cpu", call).value
    out, weights = reference(q, k, v, m)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} should return a tuple (output, weights), got {type(got).__name__}")
    for label, g, e in (("output", got[0], out), ("weights", got[1], weights)):
        expect_tensor_like(g, e, call, lambda: recognise(got, MISTAKES, q, k, v, m, expected=(out, weights)), label)


# ---------------------------------------------------------------- edge cases


@group("edge cases and bad input")
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)], ids=["3-D", "4-D"])
def test_rows_with_every_key_masked_give_zeros(student, shape, seed):
    """a row whose keys are all masked gives weights 0 and output 0, not NaN"""
    q, k, v, m = random_inputs((*shape[:-1], 4), shape[-1], 6, "rows fully masked", seed)
    expect_attention(student, q, k, v, m, "cpu")


@group("edge cases and bad input")
def test_a_mask_of_all_false_changes_nothing(student, seed):
    """an all-False mask gives the same as no mask"""
    q, k, v, _ = random_inputs((3, 4, 8), 5, 8, "none", seed)
    expect_attention(student, q, k, v, torch.zeros(3, 4, 5, dtype=torch.bool), "cpu")


@group("edge cases and bad input")
def test_a_single_key(student, seed):
    """a single key gets all the weight"""
    q, k, v, _ = random_inputs((2, 5, 8), 1, 3, "none", seed)
    expect_attention(student, q, k, v, None, "cpu")


# ---------------------------------------------------------------- gradients


def reference_grads(q, k, v, m, gradients):
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out, weights = reference(*leaves, m)
    return list(torch.autograd.grad((out, weights), leaves, gradients))


@group("gradients")
@on_devices
@pytest.mark.parametrize("case", ["3-D, rows fully masked", "4-D heads, padding mask"])
def test_gradients_match_the_reference(student, device, case, seed):
    """gradients with respect to query, key and value match the reference"""
    if case == "3-D, rows fully masked":
        q, k, v, m = random_inputs((2, 4, 6), 5, 3, "rows fully masked", seed, torch.float64)
    else:
        q, k, v, m = case_inputs(case, seed, torch.float64)
    q, k, v, m = to(device, q, k, v, m)
    out, weights = reference(q, k, v, m)
    gradients = upstream((out, weights), seed + 1, device)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES) + f" on {device}"
    try:
        outcome = call_student(student, q, k, v, m, device, call, grad={"upstream": gradients})
    except StudentError as error:
        raise CheckFailed(
            f"the gradients of {call} could not be computed: {error}",
            "keep every step a differentiable tensor operation (no .item(), no .detach(), "
            "no in-place changes of tensors autograd needs)",
        ) from None
    expect_gradients(
        outcome.input_grads,
        reference_grads(q, k, v, m, gradients),
        ("the query", "the key", "the value"),
        call,
        lambda got: "a row whose keys are all masked must not give NaN gradients" if bool(got.isnan().any()) else "",
    )


# ---------------------------------------------------------------- device portability


@group("device portability")
@portable
@pytest.mark.parametrize("case", ["3-D, padding mask", "4-D heads, padding mask"])
def test_attention_runs_on_the_inputs_device(student, device, case, seed):
    """scaled_dot_product_attention runs on the inputs' device"""
    q, k, v, m = case_inputs(case, seed)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    gate(student.call(NAME, q, k, v, m), reference(q, k, v, m), call, "running on another device", LABELS)
    q, k, v, m = to(device, q, k, v, m)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    got = run_portable(student, NAME, q, k, v, m, device=device, call=call)
    expect_same(got, reference(q, k, v, m), call=f"{call} on {device}", labels=("output", "weights"))


# ---------------------------------------------------------------- inputs unchanged


@group("inputs unchanged")
def test_attention_leaves_its_inputs_unchanged(student, seed):
    """query, key, value and mask are left unchanged"""
    q, k, v, m = case_inputs("3-D, L != S, Dv != D, full mask", seed)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    expect_unchanged(student, NAME, (q, k, v, m), ARG_NAMES, reference(q, k, v, m), call=call, labels=LABELS)


# ---------------------------------------------------------------- allowed APIs


@group("allowed APIs only")
def test_attention_uses_allowed_apis_only(student, seed):
    """plain tensor operations only (no F.scaled_dot_product_attention, nn.MultiheadAttention)"""
    q, k, v, m = case_inputs("3-D, padding mask", seed)
    got = student.call(NAME, q, k, v, m)
    gate(got, reference(q, k, v, m), describe_call(NAME, (q, k, v, m), ARG_NAMES), "using allowed APIs", LABELS)
    expect_allowed_apis(student, student.apis)


# ---------------------------------------------------------------- speed


@group("speed")
@on_devices
def test_attention_is_vectorised(student, device, seed):
    """scaled_dot_product_attention is about as fast as a vectorised reference"""

    def make_input(k: int) -> tuple:
        return tuple(to(device, *random_inputs((1024, 16, 4), 16, 4, "padding", seed + k)))

    expect_fast(
        student,
        NAME,
        make_input,
        reference,
        device=device,
        call=describe_call(NAME, make_input(0), ARG_NAMES),
        cause="a Python loop over the batch or the queries is slow: one matmul does every row at once",
    )


# ---------------------------------------------------------------- feedback pictures


def pictures(kept: dict, plt) -> list[dict]:
    return weights_picture(kept, plt, NAME)


# ---------------------------------------------------------------- for the benchmark

#: The test cell a conventional course would write for this part: inline asserts on the notebook's
#: examples, run by nbgrader in a Jupyter kernel (``make bench`` compares that way with ours).
INLINE_TESTS = """
q, k, v = torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 3)
out, w = scaled_dot_product_attention(q, k, v)
assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
mask = torch.rand(2, 5, 7) < 0.3
mask[..., 0] = False
out, w = scaled_dot_product_attention(q, k, v, mask)
assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=~mask), atol=1e-5)
"""
