"""Hidden suite of part 3, attention: scaled_dot_product_attention."""

import math

import pytest
import torch

from autograder.suites.kit import (
    APIS,
    DEVICES,
    EDGE_CASES,
    FIRST_SENTENCE,
    GRADIENTS,
    HALF,
    MATCHES,
    SHAPES,
    SPEED,
    TOKENS,
    UNCHANGED,
    CheckFailed,
    Mistake,
    Mistakes,
    Student,
    StudentError,
    attempted,
    confirmed_in_float32,
    describe_call,
    difference,
    expect_allowed_apis,
    expect_fast,
    expect_gradients,
    expect_inputs_device,
    expect_tensor_like,
    expect_unchanged,
    gate,
    generator,
    group,
    nondeterministic,
    notebook_embedding,
    on_cuda,
    on_devices,
    recognise,
    run_portable,
    upstream,
    variant,
    weights_picture,
)
from solutions.attention import scaled_dot_product_attention as reference

POINTS = {
    MATCHES: 3.0,
    SHAPES: 1.0,
    EDGE_CASES: 1.0,
    GRADIENTS: 1.0,
    DEVICES: 1.0,
    UNCHANGED: 0.5,
    APIS: 1.5,
    SPEED: 1.0,
}
NAME = "scaled_dot_product_attention"
ARG_NAMES = ("query", "key", "value", "mask")
LABELS = ("output", "weights")


# ---------------------------------------------------------------- inputs


def notebook_example():
    """The notebook's embedded "bank" sentences, attending to themselves, padding masked."""
    embedded = notebook_embedding()
    return embedded, embedded.clone(), embedded.clone(), (TOKENS == 0)[:, None, :]


def random_inputs(shape_q, source: int, dv: int, mask: str, seed: int, dtype=torch.float32, device: str = "cpu"):
    """query (..., L, D), key (..., S, D), value (..., S, Dv), and a mask of the kind asked for, on ``device``."""
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
    return q.to(dtype).to(device), k.to(dtype).to(device), v.to(dtype).to(device), None if m is None else m.to(device)


CASES = {
    "3-D, L != S, Dv != D, full mask": ((2, 5, 8), 7, 3, "full"),
    "4-D heads, padding mask": ((2, 3, 6, 4), 9, 5, "padding"),
    "batch of 1, no mask": ((1, 4, 16), 4, 16, "none"),
    "length 1": ((3, 1, 8), 1, 8, "none"),
    "3-D, padding mask": ((4, 6, 8), 6, 8, "padding"),
    "long rows, 4096 keys, padding mask": ((2, 3, 16), 4096, 8, "padding"),
}


#: Masks of other shapes that broadcast to the scores (..., L, S): name: (query shape, S, mask kind).
BROADCAST_CASES = {
    "3-D, mask (L, S)": ((2, 5, 8), 7, "L S"),
    "3-D, causal mask (L, S)": ((3, 6, 8), 6, "causal"),
    "3-D, mask (S,)": ((2, 5, 8), 7, "S"),
    "3-D, mask (1, L, S)": ((3, 4, 8), 6, "1 L S"),
    "4-D, mask (L, S)": ((2, 3, 5, 4), 6, "L S"),
    "4-D, causal mask (L, S), H = L": ((2, 5, 5, 4), 5, "causal"),  # read as (B, S), it broadcasts, wrongly
    "4-D, mask (S,)": ((2, 3, 5, 4), 6, "S"),
    "4-D, mask (B, 1, L, S)": ((2, 3, 5, 4), 6, "B 1 L S"),
}


def _broadcast_inputs(case: str, seed: int, dtype=torch.float32):
    """Inputs with a mask of fewer dims (or ones) than the scores, every query keeping at least one key."""
    shape_q, source, kind = BROADCAST_CASES[case]
    q, k, v, _ = random_inputs(shape_q, source, shape_q[-1], "none", seed, dtype)
    g = generator(seed + 1)
    batch, length = shape_q[0], shape_q[-2]
    if kind == "causal":
        m = torch.ones(length, source, dtype=torch.bool).triu(1)  # (L, S): no query sees a later key
    else:
        sizes = {"L S": (length, source), "S": (source,), "1 L S": (1, length, source)}
        sizes["B 1 L S"] = (batch, 1, length, source)
        m = torch.rand(sizes[kind], generator=g) < 0.4
        m[..., 0] = False
    return q, k, v, m


def inputs(case: str, seed: int, dtype=torch.float32, device: str = "cpu"):
    """(query, key, value, mask) of ``case``: "notebook example", one of CASES or of BROADCAST_CASES."""
    if case == "notebook example":
        q, k, v, m = notebook_example()
        q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    elif case in BROADCAST_CASES:
        q, k, v, m = _broadcast_inputs(case, seed, dtype)
    else:
        q, k, v, m = random_inputs(*CASES[case], seed=seed, dtype=dtype)
    return q.to(device), k.to(device), v.to(device), None if m is None else m.to(device)


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
    uniform_rows=False,
    only_after=False,
    softmax_dtype=None,
    mask_2d_as_keys=False,
    value=None,
    swap=False,
    only_if=None,
    plain_exp=False,
):
    """Attention with one thing changed: the known mistakes, as functions (``only_if(q, k)``: None where it is false,
    for a mistake whose hint holds on some shapes only)."""
    if only_if is not None and not only_if(q, k):
        return None
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale(q, k, v)
    scores = q @ k.transpose(-2, -1) * scale  # (..., L, S)
    if mask is not None and not ignore:
        mask = ~mask if invert else mask
        if mask_2d_as_keys and mask.dim() == 2:  # (L, S) read as (B, S)
            mask = mask.unsqueeze(-2)
        if not only_after:
            scores = scores.masked_fill(mask, fill)
    if plain_exp:  # exp(x) / sum(exp(x)) without the row's maximum taken off: inf / inf beyond ~88 in float32
        e = scores.exp()
        weights = e / e.sum(dim, keepdim=True)
    elif softmax_dtype is None:
        weights = torch.softmax(scores, dim=dim)
    else:
        weights = torch.softmax(scores.to(softmax_dtype), dim=dim).to(scores.dtype)
    if mask is not None and not ignore and (fix_rows or only_after):
        weights = weights.masked_fill(mask, 0.0)
        if uniform_rows:  # a row whose keys are all ignored spread evenly, as -1e9 or finfo.min fills do
            full = mask.expand(weights.shape).all(-1, keepdim=True)
            weights = torch.where(full, torch.full_like(weights, 1 / weights.shape[-1]), weights)
    out = weights @ (value(k, v) if value else v)
    return (weights, out) if swap else (out, weights)


#: What a query whose keys are all ignored must get, said for every way of getting uniform weights there.
UNIFORM_ROWS = (
    "a query whose keys are all ignored must get weights 0, not uniform weights: a large negative fill "
    "(-1e9, torch.finfo(dtype).min) spreads such a row evenly over the ignored keys; after the softmax, set "
    "the weights of ignored keys to 0 (weights.masked_fill(mask, 0))"
)
NOT_DETERMINISTIC = (
    "your function is not deterministic: called twice on the same inputs it gave different results "
    "(dropout, torch.rand, ...); attention has no randomness, and nn.functional.dropout is on unless told off"
)

MISTAKES: Mistakes = {
    NAME: [
        variant(
            "the scores are not scaled: divide Q K^T by sqrt(D), D = query.shape[-1]",
            attend,
            scale=lambda q, k, v: 1.0,
        ),
        variant(
            "the scores are divided by D: divide by sqrt(D)",
            attend,
            scale=lambda q, k, v: 1 / q.shape[-1],
        ),
        variant(
            "the scores are scaled by the value's width: use sqrt(D) of the query and key, not of the value",
            attend,
            scale=lambda q, k, v: 1 / math.sqrt(v.shape[-1]),
        ),
        # the number of keys and of queries are one where L == S: a hint says only what holds on the inputs it fires on
        variant(
            "the scores are scaled by the square root of the number of keys (key.shape[-2]): divide by sqrt(D), "
            "D = query.shape[-1], the size of each query and key",
            attend,
            scale=lambda q, k, v: 1 / math.sqrt(k.shape[-2]),
            only_if=lambda q, k: k.shape[-2] != q.shape[-2],
        ),
        variant(
            "the scores are scaled by the square root of the number of queries (query.shape[-2], query.size(2) in "
            "4-D): divide by sqrt(D), D = query.shape[-1], the size of each query and key",
            attend,
            scale=lambda q, k, v: 1 / math.sqrt(q.shape[-2]),
            only_if=lambda q, k: k.shape[-2] != q.shape[-2],
        ),
        variant(
            "the scores are scaled by the square root of the sequence length (the number of queries or of keys, "
            "query.shape[-2] or key.shape[-2]): divide by sqrt(D), D = query.shape[-1], the size of each query and key",
            attend,
            scale=lambda q, k, v: 1 / math.sqrt(k.shape[-2]),
            only_if=lambda q, k: k.shape[-2] == q.shape[-2],
        ),
        variant(
            "the scores are scaled by the square root of query.size(1), the number of queries (of heads, in 4-D): "
            "divide by sqrt(D), D = query.shape[-1], the last dimension whatever the number of leading ones",
            attend,
            scale=lambda q, k, v: 1 / math.sqrt(q.shape[1]),
        ),
        variant(
            "the softmax runs over the queries: it must run over the keys, the last dimension (dim=-1)",
            attend,
            dim=-2,
        ),
        variant(
            "the softmax runs over dimension 1, the heads of 4-D inputs: run it over the keys, dim=-1, the last "
            "dimension whatever the number of leading ones",
            attend,
            dim=1,
        ),
        variant(
            "the softmax overflows on large scores: exp(x) is inf beyond about 88 in float32 (709 in float64), and "
            "inf / inf is NaN; subtract the row's maximum before exp (scores - scores.amax(-1, keepdim=True)), "
            "as torch.softmax does",
            attend,
            plain_exp=True,
        ),
        variant(
            "the softmax runs in half precision, which rounds the weights to 3 digits: compute it in the inputs' dtype",
            attend,
            softmax_dtype=torch.float16,
        ),
        variant(
            "the softmax runs in bfloat16, which rounds the weights to 2 digits: compute it in the inputs' dtype",
            attend,
            softmax_dtype=torch.bfloat16,
        ),
        variant(
            "the mask is inverted: True means 'ignore this key' here (the opposite of F.scaled_dot_product_attention)",
            attend,
            invert=True,
        ),
        variant(
            "the mask is ignored: set the scores of masked keys to -inf before the softmax",
            attend,
            ignore=True,
        ),
        Mistake(
            "a row whose keys are all masked gives NaN: set such rows to 0 after the softmax "
            "(weights.masked_fill(mask, 0) or torch.nan_to_num)",
            lambda *a: attend(*a, fix_rows=False),
        ),
        variant(UNIFORM_ROWS, attend, uniform_rows=True),
        variant(
            "the masked weights are zeroed after the softmax only: mask the scores with -inf before it, so the "
            "kept weights still sum to 1",
            attend,
            only_after=True,
        ),
        variant(
            "a 2-D mask is (L, S), one row per query (a causal mask, say), not a (B, S) padding mask: it broadcasts "
            "to (..., L, S) as it is, without unsqueeze",
            attend,
            mask_2d_as_keys=True,
        ),
        variant("the two results are swapped: return (output, weights)", attend, swap=True),
        variant("the weights multiply the keys: multiply the values", attend, value=lambda k, v: k),
    ],
}
#: The hint of a check that fails because the result itself is wrong (its gradients, say): not another cause.
SAME_CAUSE = (
    "probably the same cause as the failures of '{check}': the result itself differs on these inputs, so this "
    "check fails too; fix the result first"
)
SHAPE_HINTS = {
    "bmm": "torch.bmm takes 3-D tensors only: use @ (torch.matmul), which takes any leading dimensions",
    "transpose": "key.transpose(1, 2) swaps the wrong dimensions of 4-D inputs: use key.transpose(-2, -1)",
}


HALF_OVERFLOW = (
    "a fill or a constant that overflows float16 (its largest value is 65504, so -1e9 does not fit): fill with "
    "float('-inf') or torch.finfo(scores.dtype).min, and set the weights of ignored keys to 0"
)
BROADCAST_HINT = (
    "the mask must broadcast to the scores (..., L, S) as it is: here it is {mask} for scores {scores} "
    "(a 2-D mask is (L, S), one row per query; a 1-D mask (S,), one value per key); masked_fill and torch.where "
    "broadcast it, boolean indexing (scores[mask] = ...), view or unsqueeze to a fixed number of dimensions do not"
)


def call_student(student, q, k, v, m, device: str, call: str, **options):
    args = (q, k, v) if m is None else (q, k, v, m)
    try:
        return student.run(NAME, *args, **options)
    except StudentError as error:
        text = " ".join(error.frames) + " " + error.detail
        hint = next((h for word, h in SHAPE_HINTS.items() if word in text), "") if q.dim() == 4 else ""
        scores = (*q.shape[:-1], k.shape[-2])
        about_the_mask = "mask" in text and any(w in text for w in ("shape", "size", "broadcast"))
        if not hint and m is not None and tuple(m.shape) != scores and about_the_mask:
            hint = BROADCAST_HINT.format(mask=tuple(m.shape), scores=scores)
        if not hint and "without overflow" in text:
            hint = HALF_OVERFLOW
        if hint:
            raise CheckFailed(f"{call} on {device}: {error}", hint, stub=error.stub) from None
        raise


def explain(student, got, q, k, v, m, expected) -> str:
    """The hint for a result that differs: a known mistake, or different results from the same inputs."""
    hint = recognise(got, MISTAKES[NAME], q, k, v, m, expected=expected)
    if hint and q.dtype in HALF:
        hint = confirmed_in_float32(hint, MISTAKES[NAME], lambda: in_float32(student, q, k, v, m))
    if not hint:
        hint = nondeterministic(student, NAME, (q, k, v) if m is None else (q, k, v, m), got, NOT_DETERMINISTIC)
    return hint


def in_float32(student, q, k, v, m) -> tuple:
    """The student's result, the reference's and the mistakes' inputs, on the same inputs in float32."""
    q, k, v = (t.float() for t in (q, k, v))
    got = student.run(NAME, *((q, k, v) if m is None else (q, k, v, m))).value
    return got, reference(q, k, v, m), (q, k, v, m)


def attempt_scaled_dot_product_attention(got, q, k, v, m, *, expected) -> str:
    """For the checks of how the function works (``gate``): the hint of the known mistake ``got`` honestly
    makes (see ``compare.attempted``), or ""."""
    return attempted(got, MISTAKES[NAME], q, k, v, m, expected=expected)


def expect_scaled_dot_product_attention(
    student: Student, q, k, v, m=None, *, device: str = "cpu", keep=None, edge=None
) -> None:
    """The student's scaled_dot_product_attention(q, k, v, m) is the reference's; else the hint of a known
    mistake, or of a result that changes from call to call. ``keep``: keep it for the feedback's picture.
    ``edge``: the rows (..., L) an edge case is about; a result wrong on the other rows too, for no known
    reason, is said to have the cause of the failures of "matches the reference" (one cause, one item)."""
    call = describe_call(NAME, [t for t in (q, k, v, m) if t is not None], ARG_NAMES)
    got = call_student(student, q, k, v, m, device, call).value
    expected = reference(q, k, v, m)
    if keep is not None:
        keep("weights", got=got, expected=expected, labels=FIRST_SENTENCE)
    found = difference(got, expected, LABELS)
    if found:
        hint = explain(student, got, q, k, v, m, expected)
        if not hint and edge is not None and wrong_elsewhere(got, expected, edge):
            hint = SAME_CAUSE.format(check="scaled_dot_product_attention matches the reference")
        raise CheckFailed(f"{call} on {device}: {found}", hint)


def wrong_elsewhere(got, expected, edge: torch.Tensor) -> bool:
    """``got`` differs from ``expected`` on rows (..., L) that are not the ``edge`` rows an edge case is about."""
    try:
        rows = ~edge.expand(expected[1].shape[:-1])
        return any(difference(g[rows], e[rows]) is not None for g, e in zip(got, expected))
    except (TypeError, IndexError, RuntimeError):  # a result of another kind or shape: said by the message
        return False


# ---------------------------------------------------------------- matches the reference


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("case", ["notebook example", *CASES])
def test_attention_matches_the_reference(student, device, case, seed, keep):
    """scaled_dot_product_attention matches the reference"""
    picture = keep if case == "notebook example" and device == "cpu" else None
    expect_scaled_dot_product_attention(student, *inputs(case, seed, device=device), device=device, keep=picture)


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=["fp64", "fp16", "bf16"])
def test_attention_matches_the_reference_in_other_dtypes(student, device, dtype, seed):
    """scaled_dot_product_attention matches the reference in another dtype"""
    q, k, v, m = inputs("4-D heads, padding mask", seed, dtype, device)
    expect_scaled_dot_product_attention(student, q, k, v, m, device=device)


#: Scales of query and key (powers of 2): scores from about 1e-36 to 1e36, what float32 can hold.
MAGNITUDES = {"tiny scores (2^-120)": -60, "large scores (2^16)": 8, "huge scores (2^110)": 55}


def magnitude_inputs(magnitude: str, seed: int, dtype=torch.float32):
    """Integer query and key times a power of 2, D = 16 (sqrt(D) = 4): the scores are exact in any order of
    summation, so a result may differ from the reference's only in its softmax."""
    g = generator(seed)
    step = 2.0 ** MAGNITUDES[magnitude]
    q = torch.randint(-8, 9, (2, 5, 16), generator=g).to(dtype) * step
    k = torch.randint(-8, 9, (2, 7, 16), generator=g).to(dtype) * step
    v = torch.randn(2, 7, 3, generator=g, dtype=torch.float64).to(dtype)
    keep = torch.randint(1, 8, (2,), generator=g)
    return q, k, v, (torch.arange(7) >= keep[:, None])[:, None, :]  # (B, 1, S)


@group(MATCHES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("magnitude", list(MAGNITUDES))
def test_attention_at_every_magnitude(student, magnitude, dtype, seed):
    """scaled_dot_product_attention matches the reference at the magnitudes float32 can hold"""
    expect_scaled_dot_product_attention(student, *magnitude_inputs(magnitude, seed, dtype))


@group(MATCHES)
@pytest.mark.parametrize("case", list(BROADCAST_CASES))
def test_attention_with_masks_that_broadcast(student, case, seed):
    """scaled_dot_product_attention matches the reference with a mask that broadcasts to (..., L, S)"""
    expect_scaled_dot_product_attention(student, *inputs(case, seed))


# ---------------------------------------------------------------- shapes and dtypes


@group(SHAPES)
@pytest.mark.parametrize("case", ["3-D, L != S, Dv != D, full mask", "4-D heads, padding mask"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_attention_returns_output_and_weights(student, case, dtype, seed):
    """returns (output (..., L, Dv), weights (..., L, S)) in the input dtype"""
    q, k, v, m = inputs(case, seed, dtype)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    got = call_student(student, q, k, v, m, "cpu", call).value
    out, weights = reference(q, k, v, m)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{call} should return a tuple (output, weights), got {type(got).__name__}")
    for label, g, e in (("output", got[0], out), ("weights", got[1], weights)):
        expect_tensor_like(
            g, e, call, lambda: recognise(got, MISTAKES[NAME], q, k, v, m, expected=(out, weights)), label
        )


# ---------------------------------------------------------------- edge cases


@group(EDGE_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)], ids=["3-D", "4-D"])
def test_rows_with_every_key_masked_give_zeros(student, shape, seed):
    """a row whose keys are all masked gives weights 0 and output 0, not NaN"""
    q, k, v, m = random_inputs((*shape[:-1], 4), shape[-1], 6, "rows fully masked", seed)
    expect_scaled_dot_product_attention(student, q, k, v, m, edge=m.all(-1))


@group(EDGE_CASES)
def test_a_mask_of_all_false_changes_nothing(student, seed):
    """an all-False mask gives the same as no mask"""
    q, k, v, _ = random_inputs((3, 4, 8), 5, 8, "none", seed)
    none = torch.zeros(3, 4, 5, dtype=torch.bool)
    expect_scaled_dot_product_attention(student, q, k, v, none, edge=none.all(-1))


@group(EDGE_CASES)
def test_a_single_key(student, seed):
    """a single key gets all the weight"""
    q, k, v, _ = random_inputs((2, 5, 8), 1, 3, "none", seed)
    expect_scaled_dot_product_attention(student, q, k, v, None)


# ---------------------------------------------------------------- gradients


def reference_grads(q, k, v, m, gradients):
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    out, weights = reference(*leaves, m)
    return list(torch.autograd.grad((out, weights), leaves, gradients))


@group(GRADIENTS)
@on_devices
@pytest.mark.parametrize("case", ["3-D, rows fully masked", "4-D heads, padding mask"])
def test_gradients_match_the_reference(student, device, case, seed):
    """gradients with respect to query, key and value match the reference"""
    if case == "3-D, rows fully masked":
        q, k, v, m = random_inputs((2, 4, 6), 5, 3, "rows fully masked", seed, torch.float64, device)
    else:
        q, k, v, m = inputs(case, seed, torch.float64, device)
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
            stub=error.stub,
        ) from None

    def hint(grad) -> str:
        found = recognise(outcome.value, MISTAKES[NAME], q, k, v, m, expected=(out, weights))
        if found or difference(outcome.value, (out, weights), LABELS) is not None:  # one cause, one item
            return found or SAME_CAUSE.format(check="scaled_dot_product_attention matches the reference")
        if bool(grad.isnan().any()):
            return "a row whose keys are all masked must not give NaN gradients"
        return ""

    expect_gradients(
        outcome.input_grads, reference_grads(q, k, v, m, gradients), ("the query", "the key", "the value"), call, hint
    )


# ---------------------------------------------------------------- device portability


@group(DEVICES)
@pytest.mark.parametrize("case", ["3-D, padding mask", "4-D heads, padding mask"])
def test_attention_makes_its_tensors_on_the_inputs_device(student, case, seed):
    """scaled_dot_product_attention makes no tensor on the default device (recorded on any grader)"""
    q, k, v, m = inputs(case, seed)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    outcome, expected = student.run(NAME, q, k, v, m), reference(q, k, v, m)
    gate(
        outcome.value,
        expected,
        call,
        "running on another device",
        LABELS,
        attempt=lambda: attempt_scaled_dot_product_attention(outcome.value, q, k, v, m, expected=expected),
    )
    expect_inputs_device(outcome, call, ARG_NAMES)


@group(DEVICES)
@on_cuda
@pytest.mark.parametrize("case", ["3-D, padding mask", "4-D heads, padding mask"])
def test_attention_runs_on_the_inputs_device(student, device, case, seed):
    """scaled_dot_product_attention runs on the inputs' device"""
    q, k, v, m = inputs(case, seed)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    got, expected = student.call(NAME, q, k, v, m), reference(q, k, v, m)
    gate(
        got,
        expected,
        call,
        "running on another device",
        LABELS,
        attempt=lambda: attempt_scaled_dot_product_attention(got, q, k, v, m, expected=expected),
    )
    q, k, v, m = q.to(device), k.to(device), v.to(device), m.to(device)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    got = run_portable(student, NAME, q, k, v, m, device=device, call=call)
    expected = reference(q, k, v, m)
    gate(got, expected, f"{call} on {device}", "running on another device", LABELS,
         attempt=lambda: attempt_scaled_dot_product_attention(got, q, k, v, m, expected=expected))  # fmt: skip


# ---------------------------------------------------------------- inputs unchanged


@group(UNCHANGED)
def test_attention_leaves_its_inputs_unchanged(student, seed):
    """query, key, value and mask are left unchanged"""
    q, k, v, m = inputs("3-D, L != S, Dv != D, full mask", seed)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    expected = reference(q, k, v, m)
    expect_unchanged(
        student, NAME, (q, k, v, m), ARG_NAMES, expected, call=call, labels=LABELS,
        attempt=lambda got: attempt_scaled_dot_product_attention(got, q, k, v, m, expected=expected),
    )  # fmt: skip


# ---------------------------------------------------------------- allowed APIs


@group(APIS)
def test_attention_uses_allowed_apis_only(student, seed):
    """plain tensor operations only (no F.scaled_dot_product_attention, nn.MultiheadAttention)"""
    q, k, v, m = inputs("3-D, padding mask", seed)
    got, expected = student.call(NAME, q, k, v, m), reference(q, k, v, m)
    call = describe_call(NAME, (q, k, v, m), ARG_NAMES)
    gate(
        got,
        expected,
        call,
        "using allowed APIs",
        LABELS,
        attempt=lambda: attempt_scaled_dot_product_attention(got, q, k, v, m, expected=expected),
    )
    expect_allowed_apis(student, student.apis)


# ---------------------------------------------------------------- speed


@group(SPEED)
@on_devices
def test_attention_is_vectorised(student, device, seed):
    """scaled_dot_product_attention is about as fast as a vectorised reference"""

    def make_input(k: int) -> tuple:
        return random_inputs((1024, 16, 4), 16, 4, "padding", seed + k, device=device)

    expect_fast(
        student,
        NAME,
        make_input,
        reference,
        device=device,
        call=describe_call(NAME, make_input(0), ARG_NAMES),
        cause="a Python loop over the batch or the queries is slow: one matmul does every row at once",
        mistakes=MISTAKES[NAME],
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
