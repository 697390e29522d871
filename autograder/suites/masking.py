"""Hidden suite of part 4, masking: padding_mask and MultiHeadAttention."""

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
    Remote,
    Student,
    StudentError,
    StudentFailure,
    attempted,
    confirmed_in_float32,
    describe,
    describe_call,
    difference,
    expect_allowed_apis,
    expect_error,
    expect_fast,
    expect_gradients,
    expect_inputs_device,
    expect_same,
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
    trivial,
    upstream,
    variant,
    weights_picture,
)
from solutions.attention import scaled_dot_product_attention as reference_attention
from solutions.masking import MultiHeadAttention, padding_mask

POINTS = {
    MATCHES: 3.0,
    SHAPES: 1.0,
    EDGE_CASES: 1.5,
    GRADIENTS: 1.0,
    DEVICES: 1.0,
    UNCHANGED: 0.5,
    APIS: 1.5,
    SPEED: 0.5,
}
ATTENTION = "scaled_dot_product_attention"
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")
LABELS = ("output", "weights")
ARG_NAMES = ("query", "key", "value", "key_padding_mask")


# ---------------------------------------------------------------- padding_mask


def expect_padding_mask(student: Student, tokens, pad_idx: int = 0) -> None:
    """The student's padding_mask(tokens, pad_idx) is the reference's; else the hint of a known mistake."""
    args = (tokens,) if pad_idx == 0 else (tokens, pad_idx)
    got = student.call("padding_mask", *args)
    call = describe_call("padding_mask", args, ("tokens", "pad_idx"))
    expect_same(
        got, padding_mask(tokens, pad_idx), call=call, mistakes=MISTAKES["padding_mask"], args=(tokens, pad_idx)
    )


def random_tokens(shape, seed: int) -> torch.Tensor:
    return torch.randint(0, 5, shape, generator=generator(seed))


@group(MATCHES)
@pytest.mark.parametrize(
    ("shape", "pad_idx"),
    [(None, 0), (None, 1), ((4, 9), 0), ((4, 9), 3), ((2, 3, 5), 2)],
    ids=["notebook", "notebook, pad_idx=1", "random", "random, pad_idx=3", "3-D, pad_idx=2"],
)
def test_padding_mask_matches_the_reference(student, shape, pad_idx, seed):
    """padding_mask matches the reference"""
    expect_padding_mask(student, TOKENS if shape is None else random_tokens(shape, seed), pad_idx)


@group(DEVICES)
def test_padding_mask_makes_its_tensors_on_the_tokens_device(student, seed):
    """padding_mask makes no tensor on the default device (recorded on any grader)"""
    t = random_tokens((4, 9), seed)
    outcome, expected = student.run("padding_mask", t), padding_mask(t)
    gate(outcome.value, expected, "padding_mask(tokens)", "running on another device",
         attempt=lambda: attempt_padding_mask(outcome.value, t, expected=expected))  # fmt: skip
    expect_inputs_device(outcome, "padding_mask(tokens)", ("tokens", "pad_idx"))


@group(DEVICES)
@on_cuda
def test_padding_mask_runs_on_the_tokens_device(student, device, seed):
    """padding_mask runs on the tokens' device"""
    t = random_tokens((4, 9), seed)
    got, expected = student.call("padding_mask", t), padding_mask(t)
    gate(got, expected, "padding_mask(tokens)", "running on another device",
         attempt=lambda: attempt_padding_mask(got, t, expected=expected))  # fmt: skip
    t = t.to(device)
    got = run_portable(student, "padding_mask", t, device=device, call="padding_mask(tokens)")
    expected = padding_mask(t)
    gate(got, expected, f"padding_mask(tokens {describe(t)}) on {device}", "running on another device",
         attempt=lambda: attempt_padding_mask(got, t, expected=expected))  # fmt: skip


# ---------------------------------------------------------------- the module, loaded with the reference's weights


def reference_module(embed: int, heads: int, seed: int, dtype=torch.float32) -> MultiHeadAttention:
    with torch.random.fork_rng(devices=[]):  # the CPU's generator alone makes the weights
        torch.default_generator.manual_seed(seed)  # (torch.manual_seed queues a seed per device kind, with a traceback)
        module = MultiHeadAttention(embed, heads)
    return module.to(dtype).eval()


def student_module(student, reference: MultiHeadAttention, device: str, call: str):
    """The student's module with the reference's weights, in its dtype, on ``device``."""
    embed, heads = reference.embed_dim, reference.num_heads
    module = student.call("MultiHeadAttention", embed, heads)
    if not isinstance(module, Remote):
        raise CheckFailed(f"MultiHeadAttention({embed}, {heads}) should make a module, got {describe(module)}")
    dtype = reference.q_proj.weight.dtype
    student.call(module, dtype, attr="to")
    student.call(module, attr="eval")
    try:
        student.set_params(module, {name: p.detach() for name, p in reference.named_parameters()})
    except StudentError as error:
        raise CheckFailed(
            f"{call}: the reference's weights could not be loaded: {error.detail}",
            "the module needs q_proj, k_proj, v_proj and out_proj, each nn.Linear(embed_dim, embed_dim) with bias",
        ) from None
    if device != "cpu":
        student.call(module, device, attr="to")
    return module


def random_inputs(
    batch, length, source, embed, seed, mask="padding", dtype=torch.float32, self_attention=False, device="cpu"
):
    """query (B, L, E), key and value (B, S, E), and a key padding mask (B, S) of the kind asked for, on ``device``."""
    g = generator(seed)
    query = torch.randn(batch, length, embed, generator=g, dtype=torch.float64).to(dtype)
    if self_attention:
        key = value = query
    else:
        key = torch.randn(batch, source, embed, generator=g, dtype=torch.float64).to(dtype)
        value = torch.randn(batch, source, embed, generator=g, dtype=torch.float64).to(dtype)
    padding = None
    if mask == "padding":
        keep = torch.randint(1, source + 1, (batch,), generator=g)
        padding = torch.arange(source) >= keep[:, None]  # (B, S)
    elif mask == "a sentence all padding":
        padding = torch.zeros(batch, source, dtype=torch.bool)
        padding[-1] = True
    return query.to(device), key.to(device), value.to(device), None if padding is None else padding.to(device)


def notebook_example():
    embedded = notebook_embedding()
    return embedded, embedded, embedded, TOKENS == 0


# name: (embed, heads, batch, length, source, mask)
CASES = {
    "notebook example, E=4, H=2": (4, 2, 3, 7, 7, "notebook"),
    "self-attention, E=12, H=3": (12, 3, 2, 5, 5, "self"),
    "cross-attention, L != S, E=8, H=2": (8, 2, 3, 4, 7, "padding"),
    "no mask, E=16, H=4": (16, 4, 2, 6, 6, "none"),
}


def inputs(case: str, seed: int, dtype=torch.float32, device: str = "cpu"):
    """(the reference module, query, key, value, key padding mask) of ``case``; the module stays on the CPU."""
    embed, heads, batch, length, source, kind = CASES[case]
    if kind == "notebook":
        q, k, v, m = notebook_example()
        q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    elif kind == "self":
        q, k, v, m = random_inputs(batch, length, source, embed, seed, dtype=dtype, self_attention=True)
    else:
        q, k, v, m = random_inputs(batch, length, source, embed, seed, mask=kind, dtype=dtype)
    tensors = (t if t is None else t.to(device) for t in (q, k, v, m))
    return reference_module(embed, heads, seed + 1, dtype), *tensors


# ---------------------------------------------------------------- known mistakes


def mha(
    ref,
    q,
    k,
    v,
    m,
    *,
    split="transpose",
    merge="transpose",
    out_proj=True,
    weights="mean",
    scale=None,
    ignore_mask=False,
    invert_mask=False,
    mask_over="keys",
    fix_rows=True,
    uniform_rows=False,
    self_only=False,
    value_from="value",
    attend=None,
):
    """The reference with one thing changed: the known mistakes, as functions.

    ``attend(q, k, v, mask)`` replaces the attention of the heads ((B, H, L, Dh) and (B, H, S, Dh),
    the mask (B, 1, 1, S)): the reference around another scaled_dot_product_attention.
    """
    B, L, E = q.shape
    H = ref.num_heads
    Dh = E // H
    if self_only:
        k = v = q
    S = k.shape[1]

    def heads(x, n):  # (B, n, E) -> (B, H, n, Dh)
        if split == "none":
            return x.view(B, H, n, Dh)
        if split == "wrong order":
            return x.view(B, n, Dh, H).permute(0, 3, 1, 2)
        return x.view(B, n, H, Dh).transpose(1, 2)

    values = {"value": v, "key": k}[value_from]
    qh, kh, vh = heads(ref.q_proj(q), L), heads(ref.k_proj(k), S), heads(ref.v_proj(values), S)
    mask = None if m is None or ignore_mask else (~m if invert_mask else m)
    if mask is not None:
        mask = mask.view(B, 1, 1, S) if mask_over == "keys" else mask.view(B, 1, S, 1)
    if attend is not None:
        out, w = attend(qh, kh, vh, mask)
    else:
        scores = qh @ kh.transpose(-2, -1) / (math.sqrt(Dh) if scale is None else scale(E, H))
        if mask is not None:
            scores = scores.masked_fill(mask, -math.inf)
        w = torch.softmax(scores, dim=-1)  # (B, H, L, S)
        if mask is not None and fix_rows:
            w = w.masked_fill(mask, 0.0)
            if uniform_rows:  # a query whose keys are all padding spread evenly, as -1e9 fills do
                full = mask.expand(w.shape).all(-1, keepdim=True)
                w = torch.where(full, torch.full_like(w, 1 / S), w)
        out = w @ vh  # (B, H, L, Dh)
    if merge == "none":
        out = out.reshape(B, L, E)
    elif merge == "wrong order":
        out = out.permute(0, 2, 3, 1).reshape(B, L, E)
    else:
        out = out.transpose(1, 2).reshape(B, L, E)
    out = ref.out_proj(out) if out_proj else out
    averaged = {"mean": lambda: w.mean(1), "sum": lambda: w.sum(1), "first": lambda: w[:, 0], "none": lambda: w}
    return out, averaged[weights]()


UNIFORM_ROWS = (
    "a query whose keys are all ignored must get weights 0, not uniform weights: a sentence that is all padding "
    "gets weights 0 and the output out_proj.bias; a large negative fill (-1e9) spreads its weights evenly"
)
NOT_DETERMINISTIC = (
    "your function is not deterministic: called twice on the same inputs, in eval mode, it gave different "
    "results (dropout, torch.rand, ...); nn.functional.dropout is on unless told off, nn.Dropout follows eval()"
)
MASK_BROADCAST = (
    "the key padding mask (B, S) must broadcast over the heads and the queries of the scores (B, H, L, S): "
    "pass it as key_padding_mask.view(B, 1, 1, S) (or [:, None, None, :])"
)
WRONG_ORDER = (
    "the heads are split in the wrong order: view(B, L, H, Dh), head first and then its Dh features, "
    "not view(B, L, Dh, H)"
)

MISTAKES: Mistakes = {
    "padding_mask": [
        Mistake("the mask is inverted: True marks the padding (tokens == pad_idx)", lambda t, p=0: t != p),
        Mistake("the mask is not bool: tokens == pad_idx is already a bool tensor", lambda t, p=0: (t == p).long()),
        Mistake("the mask is not bool: tokens == pad_idx is already a bool tensor", lambda t, p=0: (t == p).int()),
        Mistake("pad_idx is ignored: compare with pad_idx, not with 0", lambda t, p=0: t == 0),
    ],
    "MultiHeadAttention": [
        variant(
            "the heads are split without a transpose: view(B, L, H, Dh).transpose(1, 2), not view(B, H, L, Dh)",
            mha,
            split="none",
        ),
        variant(
            "the heads are split with view(B, H, L, Dh) and merged with view(B, L, E), without a transpose either "
            "way: split with view(B, L, H, Dh).transpose(1, 2), merge with out.transpose(1, 2).reshape(B, L, E)",
            mha,
            split="none",
            merge="none",
        ),
        variant(WRONG_ORDER, mha, split="wrong order"),
        variant(WRONG_ORDER, mha, split="wrong order", merge="wrong order"),
        variant(
            "the heads are merged without a transpose: out.transpose(1, 2).reshape(B, L, E)",
            mha,
            merge="none",
        ),
        variant("out_proj is missing: apply it to the merged heads", mha, out_proj=False),
        variant("the weights are summed over the heads: average them (mean over dim 1)", mha, weights="sum"),
        variant("the weights are those of one head: average them over the heads", mha, weights="first"),
        variant(
            "the weights are not averaged over the heads: return weights of shape (B, L, S)",
            mha,
            weights="none",
        ),
        variant(
            "each head is scaled by sqrt(E): scale by sqrt(E / H), the head size",
            mha,
            scale=lambda e, h: math.sqrt(e),
        ),
        variant(
            "each head is scaled by sqrt(H), the number of heads: scale by sqrt(E / H), the head size",
            mha,
            scale=lambda e, h: math.sqrt(h),
        ),
        variant(
            "the scores are scaled twice, by E / H instead of sqrt(E / H): scaled_dot_product_attention already "
            "divides by sqrt(Dh), so do not scale the queries before it",
            mha,
            scale=lambda e, h: e / h,
        ),
        variant(
            "the key padding mask is ignored: pass it, as (B, 1, 1, S), to the attention",
            mha,
            ignore_mask=True,
        ),
        variant("the key padding mask is inverted: True marks padding", mha, invert_mask=True),
        variant(
            "the key padding mask hides queries, not keys: it must broadcast over the keys, the last dimension, "
            "as (B, 1, 1, S), not (B, 1, S, 1)",
            mha,
            mask_over="queries",
        ),
        variant(
            "a sentence that is all padding gives NaN: give its weights 0 (its output is then out_proj.bias)",
            mha,
            fix_rows=False,
        ),
        variant(UNIFORM_ROWS, mha, uniform_rows=True),
        variant(
            "the query is used as key and value: attend to the key and value given (cross-attention)",
            mha,
            self_only=True,
        ),
        variant(
            "v_proj is applied to the key: the values are v_proj(value), the keys k_proj(key)",
            mha,
            value_from="key",
        ),
    ],
}


# ---------------------------------------------------------------- the student's own attention, carried forward


CARRIED = (
    "your MultiHeadAttention is right; your scaled_dot_product_attention (copied from part 3) is not: "
    "MultiHeadAttention was checked against the reference around your scaled_dot_product_attention, so "
    "its mistake costs points once, in part 3"
)


class NotCarried(Exception):
    """The student's scaled_dot_product_attention gave nothing the reference module can be built around."""


class StudentAttention(torch.autograd.Function):
    """The student's scaled_dot_product_attention, called in the sandbox, as a differentiable step.

    Its gradients are the student's own, computed in the sandbox for the upstream gradients given.
    """

    @staticmethod
    def forward(ctx, student: Student, mask, q, k, v):
        args = (q, k, v) if mask is None else (q, k, v, mask)
        got = student.call(ATTENTION, *args)
        scores = (*q.shape[:-1], k.shape[-2])
        if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)):
            raise NotCarried(f"{ATTENTION} returned {describe(got)}")
        out, weights = got
        if out.shape != (*v.shape[:-2], q.shape[-2], v.shape[-1]) or weights.shape != scores:
            raise NotCarried(f"{ATTENTION} returned shapes {tuple(out.shape)} and {tuple(weights.shape)}")
        if out.dtype != q.dtype or weights.dtype != q.dtype or out.device != q.device or weights.device != q.device:
            raise NotCarried(f"{ATTENTION} returned another dtype or device")
        ctx.student, ctx.mask = student, mask
        ctx.save_for_backward(q, k, v)
        return out, weights

    @staticmethod
    def backward(ctx, d_out, d_weights):
        q, k, v = ctx.saved_tensors
        args = (q, k, v) if ctx.mask is None else (q, k, v, ctx.mask)
        outcome = ctx.student.run(ATTENTION, *args, grad={"upstream": [d_out.contiguous(), d_weights.contiguous()]})
        grads = [g if isinstance(g, torch.Tensor) else None for g in [*outcome.input_grads, None, None, None][:3]]
        return None, None, *grads


def around_student_attention(student, ref, q, k, v, m):
    """(the reference module's result around the student's attention, the heads' results and inputs)."""
    seen = []

    def attend(qh, kh, vh, mask):
        qh, kh, vh = qh.contiguous(), kh.contiguous(), vh.contiguous()
        mask = None if mask is None else mask.contiguous()
        result = StudentAttention.apply(student, mask, qh, kh, vh)
        seen.append((result, (qh, kh, vh)))
        return result

    return mha(ref, q, k, v, m, attend=attend), seen


def carried(student, ref, q, k, v, m, got, expected) -> bool:
    """``got`` is the reference module's result around the student's scaled_dot_product_attention, which
    here differs from the reference's and does real work: the module is right; the note says why."""
    if difference(got, expected, LABELS) is None:
        return False
    try:
        with torch.no_grad():
            result, seen = around_student_attention(student, ref, q, k, v, m)
        if difference(result, expected, LABELS) is None or trivial(
            [r for r, _ in seen], [x for _, i in seen for x in i]
        ):
            return False
        if difference(got, result, LABELS) is not None:
            return False
    except (StudentFailure, NotCarried, RuntimeError, ValueError, TypeError):
        return False
    if CARRIED not in student.notes:
        student.notes.append(CARRIED)
    return True


def heads_of(ref, q, k, v, m) -> tuple:
    """The reference module's heads of these inputs: the arguments of its scaled_dot_product_attention."""
    B, S = q.shape[0], k.shape[1]
    H, Dh = ref.num_heads, ref.embed_dim // ref.num_heads
    with torch.no_grad():
        qh = ref.q_proj(q).view(B, q.shape[1], H, Dh).transpose(1, 2)  # (B, H, L, Dh)
        kh = ref.k_proj(k).view(B, S, H, Dh).transpose(1, 2)  # (B, H, S, Dh)
        vh = ref.v_proj(v).view(B, S, H, Dh).transpose(1, 2)  # (B, H, S, Dh)
    mask = None if m is None else m.view(B, 1, 1, S)
    return (qh, kh, vh) if mask is None else (qh, kh, vh, mask)


CARRIED_DEVICE = (
    "your scaled_dot_product_attention (copied from part 3) makes a tensor on the default device; it costs "
    "points once, in part 3, not again in MultiHeadAttention's device checks"
)


def device_bugs_of_own_attention(student, ref, q, k, v, m) -> set[tuple]:
    """Where the student's own scaled_dot_product_attention, alone on the heads, makes the tensors on the default
    device that CUDA would refuse: (made by, file, line) each."""
    if ATTENTION not in student.names:
        return set()
    try:
        outcome = student.run(ATTENTION, *heads_of(ref, q, k, v, m))
    except StudentFailure:
        return set()
    return {origin[1:4] for origin in outcome.origins}


CARRIED_RAISES = (
    "your scaled_dot_product_attention (copied from part 3) raises on some of these inputs, and your "
    "MultiHeadAttention with it: that costs points once, in part 3"
)


def raised_in_own_attention(student, error: StudentError, ref, q, k, v, m) -> bool:
    """The module raised inside the student's own scaled_dot_product_attention, which raises alone on the
    module's heads too: the copied attention's failure, charged in part 3 only (a note says so)."""
    if ATTENTION not in student.names or not any(f"in {ATTENTION}:" in frame for frame in error.frames):
        return False
    try:
        student.run(ATTENTION, *heads_of(ref, q, k, v, m))
    except StudentError:
        if CARRIED_RAISES not in student.notes:
            student.notes.append(CARRIED_RAISES)
        return True
    except StudentFailure:
        return False
    return False


def own_attention_differs(student, ref, q, k, v, m) -> bool:
    """The student's scaled_dot_product_attention differs from the reference on the heads of these inputs."""
    args = heads_of(ref, q, k, v, m)
    try:
        return difference(student.call(ATTENTION, *args), reference_attention(*args), LABELS) is not None
    except StudentFailure:  # a stub, say, that a module written without it never calls: nothing to tell
        return False


STAND_IN = (
    "your scaled_dot_product_attention (copied from part 3) {why}, so MultiHeadAttention was checked around a "
    "stand-in of the grader's in its place: its mistakes cost points once, in part 3"
)


@pytest.fixture(autouse=True)
def copied_attention(student: Student) -> None:
    """Once per submission: a copied part-3 attention that does not compile or raises on the heads is replaced, in
    every call of this part, by the grader's stand-in (torch's own attention, in the sandbox), with a note; so a
    copy that does not compile is charged in part 3 only, as a wrong one is (``carried``)."""
    if "stand-in" in student.memo:
        return
    student.memo["stand-in"] = False
    if ATTENTION not in student.code or "MultiHeadAttention" not in student.code:
        return
    ref, q, k, v, m = inputs("cross-attention, L != S, E=8, H=2", 0)
    B, L, S, H, Dh = q.shape[0], q.shape[1], k.shape[1], ref.num_heads, ref.embed_dim // ref.num_heads
    with torch.no_grad():
        heads = [
            p(x).view(B, n, H, Dh).transpose(1, 2).contiguous()  # (B, H, n, Dh)
            for p, x, n in ((ref.q_proj, q, L), (ref.k_proj, k, S), (ref.v_proj, v, S))
        ]
    try:
        student.call(ATTENTION, *heads, m.view(B, 1, 1, S))
        return
    except StudentError as error:
        why = f"raises {error.type_name} on the heads (B, H, L, Dh)"
    except StudentFailure as failure:
        if "does not define" not in str(failure):
            return  # it hung or crashed: said by the checks as it is
        missing = student.answers.missing(ATTENTION)
        why = "is not defined" + (f" ({missing})" if missing else " (its cell did not compile or run)")
    student.stand_ins.add(ATTENTION)
    student.memo["stand-in"] = True
    student.notes.append(STAND_IN.format(why=why))


SAME_CAUSE = (
    "probably the same cause as the failures of 'MultiHeadAttention with the reference's weights matches the "
    "reference': the result itself differs on these inputs, so its gradients do too; fix the result first"
)
OWN_ATTENTION = (
    "your scaled_dot_product_attention (copied from part 3) differs from the reference on the heads, and your "
    "MultiHeadAttention differs from the reference even around it: fix the attention first (part 3's feedback "
    "names its mistake)"
)


def explain(student, module, ref, q, k, v, m, got, expected) -> str:
    """The hint for a module's result that differs: a known mistake, randomness, or the student's own attention."""
    hint = recognise(got, MISTAKES["MultiHeadAttention"], ref, q, k, v, m, expected=expected)
    if hint and q.dtype in HALF:
        hint = confirmed_in_float32(hint, MISTAKES["MultiHeadAttention"], lambda: in_float32(student, ref, q, k, v, m))
    if not hint:
        kwargs = {} if m is None else {"key_padding_mask": m}
        hint = nondeterministic(student, module, (q, k, v), got, NOT_DETERMINISTIC, **kwargs)
    if not hint and ATTENTION in student.names and own_attention_differs(student, ref, q, k, v, m):
        hint = OWN_ATTENTION
    return hint


def in_float32(student, ref, q, k, v, m) -> tuple:
    """The student's module's result, the reference's and the mistakes' inputs, with the same weights and inputs
    in float32."""
    ref32 = MultiHeadAttention(ref.embed_dim, ref.num_heads)
    ref32.load_state_dict({name: p.float() for name, p in ref.state_dict().items()})
    ref32 = ref32.to(q.device).eval()
    q, k, v = (t.float() for t in (q, k, v))
    module = student_module(student, ref32, q.device.type, "MultiHeadAttention in float32")
    got = student.run(module, q, k, v, **({} if m is None else {"key_padding_mask": m})).value
    with torch.no_grad():
        expected = ref32(q, k, v, m)
    return got, expected, (ref32, q, k, v, m)


def judge(student, module, ref, q, k, v, m, got, expected, call: str) -> None:
    """The module's result must be the reference's, or the reference's around the student's own attention."""
    found = difference(got, expected, LABELS)
    if found and not carried(student, ref, q, k, v, m, got, expected):
        raise CheckFailed(f"{call}: {found}", explain(student, module, ref, q, k, v, m, got, expected))


def attempt_multi_head_attention(got, ref, q, k, v, m, *, expected, student) -> str:
    """For the checks of how the module works (``gate``): why ``got`` counts, or "": the reference's result, the
    reference's around the student's own attention, or the hint of a known mistake (``compare.attempted``)."""
    if difference(got, expected, LABELS) is None:
        return "the reference's result"
    if carried(student, ref, q, k, v, m, got, expected):
        return "the reference's result around your own attention"
    return attempted(got, MISTAKES["MultiHeadAttention"], ref, q, k, v, m, expected=expected)


def attempt_padding_mask(got, tokens, *, expected) -> str:
    """For the checks of how padding_mask works (``gate``): the hint of the known mistake ``got`` honestly
    makes, or ""."""
    return attempted(got, MISTAKES["padding_mask"], tokens, expected=expected)


def expect_multi_head_attention(student: Student, ref, q, k, v, m=None, *, device: str = "cpu", keep=None) -> None:
    """The student's MultiHeadAttention, with the weights of ``ref`` (the reference module), on (q, k, v, m) is
    the reference's, or the reference's around the student's own attention; else the hint of a known mistake.
    ``keep``: keep it for the feedback's picture."""
    call = describe_call("MultiHeadAttention(...)", [t for t in (q, k, v, m) if t is not None], ARG_NAMES)
    call = call.replace("(...)(", f"({ref.embed_dim}, {ref.num_heads})(") + f" on {device}"
    module = student_module(student, ref, device, call)
    kwargs = {} if m is None else {"key_padding_mask": m}
    try:
        got = student.run(module, q, k, v, **kwargs)
    except StudentError as error:
        text = " ".join(error.frames) + " " + error.detail
        if raised_in_own_attention(student, error, ref.to(device), q, k, v, m):
            return  # charged in part 3 only, with a note
        if m is not None and "mask" in text and any(w in text for w in ("shape", "size", "broadcast")):
            raise CheckFailed(f"{call}: {error}", MASK_BROADCAST, stub=error.stub) from None
        raise
    ref = ref.to(device)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        if keep is not None:
            keep("weights", got=got.value, expected=expected, labels=FIRST_SENTENCE)
        judge(student, module, ref, q, k, v, m, got.value, expected, call)


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("case", list(CASES))
def test_multi_head_attention_matches_the_reference(student, device, case, seed, keep):
    """MultiHeadAttention with the reference's weights matches the reference"""
    picture = keep if case.startswith("notebook") and device == "cpu" else None
    expect_multi_head_attention(student, *inputs(case, seed, device=device), device=device, keep=picture)


@group(MATCHES)
@on_devices
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=["fp64", "fp16", "bf16"])
def test_multi_head_attention_in_other_dtypes(student, device, dtype, seed):
    """MultiHeadAttention matches the reference in another dtype"""
    ref, q, k, v, m = inputs("cross-attention, L != S, E=8, H=2", seed, dtype, device)
    expect_multi_head_attention(student, ref, q, k, v, m, device=device)


# ---------------------------------------------------------------- shapes and dtypes


@group(SHAPES)
@pytest.mark.parametrize(("embed", "heads"), [(8, 2), (12, 3)], ids=["E=8, H=2", "E=12, H=3"])
def test_submodules_are_linear_layers_with_bias(student, embed, heads):
    """q_proj, k_proj, v_proj and out_proj are nn.Linear(E, E) with bias"""
    module = student.call("MultiHeadAttention", embed, heads)
    if not isinstance(module, Remote):
        raise CheckFailed(f"MultiHeadAttention({embed}, {heads}) should make a module, got {describe(module)}")
    for name in PROJECTIONS:
        for part, shape in (("weight", (embed, embed)), ("bias", (embed,))):
            try:
                value = student.get(module, f"{name}.{part}")
            except StudentError as error:
                raise CheckFailed(
                    f"MultiHeadAttention({embed}, {heads}).{name}.{part}: {error.detail}",
                    f"make {name} an nn.Linear({embed}, {embed}) (bias=True)",
                ) from None
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise CheckFailed(
                    f"MultiHeadAttention({embed}, {heads}).{name}.{part} should be a tensor of shape "
                    f"{shape}, got {describe(value)}"
                )


@group(SHAPES)
def test_padding_mask_is_bool_of_the_tokens_shape(student, seed):
    """padding_mask gives bool of the tokens' shape"""
    t = random_tokens((3, 6), seed)
    got = student.call("padding_mask", t)
    expect_tensor_like(
        got,
        padding_mask(t),
        "padding_mask(tokens (3, 6))",
        lambda: recognise(got, MISTAKES["padding_mask"], t, expected=padding_mask(t)),
    )


# ---------------------------------------------------------------- edge cases and bad input


@group(EDGE_CASES)
@pytest.mark.parametrize(
    ("embed", "heads"),
    [(4, 3), (10, 4), (6, 4), (8, 0), (8, -2)],
    ids=["E=4, H=3", "E=10, H=4", "E=6, H=4", "E=8, H=0", "E=8, H=-2"],
)
def test_heads_must_divide_the_embedding(student, embed, heads):
    """MultiHeadAttention raises ValueError unless num_heads is at least 1 and divides embed_dim"""
    expect_error(student, "MultiHeadAttention", embed, heads, what=f"MultiHeadAttention({embed}, {heads})")


@group(EDGE_CASES)
@pytest.mark.parametrize(
    ("embed", "heads", "batch", "length", "source", "mask"),
    [
        (8, 2, 3, 4, 5, "a sentence all padding"),
        (6, 1, 2, 3, 3, "padding"),
        (4, 4, 2, 3, 3, "padding"),
        (8, 2, 1, 1, 1, "none"),
    ],
    ids=["a sentence all padding", "one head", "heads of size 1", "batch of 1, length 1"],
)
def test_multi_head_attention_edge_cases(student, embed, heads, batch, length, source, mask, seed):
    """MultiHeadAttention on the edge cases"""
    q, k, v, m = random_inputs(batch, length, source, embed, seed, mask=mask)
    expect_multi_head_attention(student, reference_module(embed, heads, seed + 1), q, k, v, m)


# ---------------------------------------------------------------- gradients


@group(GRADIENTS)
@on_devices
def test_gradients_match_the_reference(student, device, seed):
    """gradients with respect to the inputs and the weights match the reference"""
    q, k, v, m = random_inputs(2, 4, 5, 8, seed, mask="a sentence all padding", dtype=torch.float64, device=device)
    ref = reference_module(8, 2, seed + 1, torch.float64).to(device)
    call = f"MultiHeadAttention(8, 2)(query, key, value, key_padding_mask) on {device}"
    module = student_module(student, ref, device, call)
    out, weights = ref(q, k, v, m)
    gradients = upstream((out, weights), seed + 2, device)
    try:
        got = student.run(module, q, k, v, key_padding_mask=m, grad={"upstream": gradients, "params": True})
    except StudentError as error:
        raise CheckFailed(f"the gradients of {call} could not be computed: {error}", stub=error.stub) from None
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    params = dict(ref.named_parameters())
    expected = torch.autograd.grad(ref(*leaves, m), [*leaves, *params.values()], gradients)
    mine = [*got.input_grads[:3], *(got.param_grads.get(name) for name in params)]
    labels = ["the query", "the key", "the value", *params]
    try:
        expect_gradients(mine, expected, labels, call)
    except CheckFailed as failure:
        if not carried_gradients(student, ref, (q, k, v, m), got.value, (out, weights), gradients, mine, labels):
            with torch.no_grad():
                expected_result = (out.detach(), weights.detach())
                failure.hint = failure.hint or explain(student, module, ref, q, k, v, m, got.value, expected_result)
                if not failure.hint and difference(got.value, expected_result, LABELS) is not None:
                    failure.hint = SAME_CAUSE  # one cause, one item: the result itself is wrong
            raise


def carried_gradients(student, ref, inputs, got, expected, gradients, mine, labels) -> bool:
    """The student's gradients are those of the reference module around the student's own attention
    (whose result ``got`` is, see ``carried``)."""
    q, k, v, m = inputs
    with torch.no_grad():
        if not carried(student, ref, q, k, v, m, got, (expected[0].detach(), expected[1].detach())):
            return False
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    params = dict(ref.named_parameters())
    try:
        result, _ = around_student_attention(student, ref, *leaves, m)
        theirs = torch.autograd.grad(result, [*leaves, *params.values()], gradients, allow_unused=True)
        expect_gradients(mine, theirs, labels, "")
    except (CheckFailed, StudentFailure, NotCarried, RuntimeError, ValueError, TypeError):
        return False
    return True


# ---------------------------------------------------------------- device portability


@group(DEVICES)
def test_multi_head_attention_makes_its_tensors_on_the_inputs_device(student, seed):
    """MultiHeadAttention makes no tensor on the default device (recorded on any grader)"""
    q, k, v, m = random_inputs(2, 4, 6, 8, seed)
    ref = reference_module(8, 2, seed + 1)
    call = "MultiHeadAttention(8, 2)(query, key, value, key_padding_mask)"
    outcome = student.run(student_module(student, ref, "cpu", call), q, k, v, key_padding_mask=m)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        gate(
            outcome.value,
            expected,
            call,
            "running on another device",
            LABELS,
            attempt=lambda: attempt_multi_head_attention(
                outcome.value, ref, q, k, v, m, expected=expected, student=student
            ),
        )
    if outcome.origins:  # the copied attention's own device bugs are charged in part 3 only
        carried = device_bugs_of_own_attention(student, ref, q, k, v, m)
        outcome.origins = [o for o in outcome.origins if o[1:4] not in carried]
        if not outcome.origins and CARRIED_DEVICE not in student.notes:
            student.notes.append(CARRIED_DEVICE)
    expect_inputs_device(outcome, call, ARG_NAMES)


@group(DEVICES)
@on_cuda
def test_multi_head_attention_runs_on_the_inputs_device(student, device, seed):
    """MultiHeadAttention runs on the inputs' device"""
    q, k, v, m = random_inputs(2, 4, 6, 8, seed)
    ref = reference_module(8, 2, seed + 1)
    call = "MultiHeadAttention(8, 2)(query, key, value, key_padding_mask)"
    on_cpu = student.call(student_module(student, ref, "cpu", call), q, k, v, key_padding_mask=m)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        gate(
            on_cpu,
            expected,
            call + " on cpu",
            "running on another device",
            LABELS,
            attempt=lambda: attempt_multi_head_attention(on_cpu, ref, q, k, v, m, expected=expected, student=student),
        )
    q, k, v, m = q.to(device), k.to(device), v.to(device), m.to(device)
    call += f" on {device}"
    module = student_module(student, ref, device, call)
    try:
        got = run_portable(student, module, q, k, v, device=device, call=call, key_padding_mask=m)
    except (CheckFailed, StudentError):
        heads = heads_of(ref.to(device), q, k, v, m)
        try:  # the copied attention fails alone on the device: charged in part 3 only
            run_portable(student, ATTENTION, *heads, device=device, call=ATTENTION)
        except (CheckFailed, StudentError):
            if ATTENTION in student.names and CARRIED_DEVICE not in student.notes:
                student.notes.append(CARRIED_DEVICE)
            if ATTENTION in student.names:
                return
        raise
    ref = ref.to(device)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        gate(
            got,
            expected,
            call,
            "running on another device",
            LABELS,
            attempt=lambda: attempt_multi_head_attention(got, ref, q, k, v, m, expected=expected, student=student),
        )


# ---------------------------------------------------------------- inputs unchanged


@group(UNCHANGED)
def test_multi_head_attention_leaves_its_inputs_unchanged(student, seed):
    """query, key, value and key_padding_mask are left unchanged"""
    q, k, v, m = random_inputs(2, 4, 6, 8, seed)
    module = student_module(student, reference_module(8, 2, seed + 1), "cpu", "MultiHeadAttention(8, 2)")
    call = "MultiHeadAttention(8, 2)(query, key, value, key_padding_mask)"
    ref = reference_module(8, 2, seed + 1)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        expect_unchanged(
            student, module, (q, k, v), ARG_NAMES, expected, call=call, labels=LABELS, key_padding_mask=m,
            attempt=lambda got: attempt_multi_head_attention(got, ref, q, k, v, m, expected=expected, student=student),
        )  # fmt: skip


# ---------------------------------------------------------------- allowed APIs


@group(APIS)
def test_multi_head_attention_uses_allowed_apis_only(student, seed):
    """plain tensor operations only (no nn.MultiheadAttention, F.scaled_dot_product_attention)"""
    made = student.run("MultiHeadAttention", 8, 2, modules=True)
    if any(m.endswith(".MultiheadAttention") for m in made.modules):
        raise CheckFailed(
            "your MultiHeadAttention contains an nn.MultiheadAttention, which this exercise does not allow",
            "write the projections, the split, the attention and the merge yourself",
        )
    q, k, v, m = random_inputs(2, 4, 6, 8, seed)
    ref = reference_module(8, 2, seed + 1)
    module = student_module(student, ref, "cpu", "MultiHeadAttention(8, 2)")
    got = student.call(module, q, k, v, key_padding_mask=m)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        gate(
            got,
            expected,
            "MultiHeadAttention(8, 2)(...)",
            "using allowed APIs",
            LABELS,
            attempt=lambda: attempt_multi_head_attention(got, ref, q, k, v, m, expected=expected, student=student),
        )
    expect_allowed_apis(student, student.apis)


# ---------------------------------------------------------------- speed


@group(SPEED)
@on_devices
def test_multi_head_attention_is_vectorised(student, device, seed):
    """MultiHeadAttention is about as fast as a vectorised reference"""
    ref = reference_module(16, 2, seed).to(device)
    call = "MultiHeadAttention(16, 2) on a batch of 64 sentences of 16"

    def verify(got, args, expected) -> None:
        gate(
            got,
            expected,
            call,
            "speed",
            LABELS,
            attempt=lambda: attempt_multi_head_attention(got, ref, *args, expected=expected, student=student),
        )

    with torch.no_grad():
        expect_fast(
            student,
            lambda: student_module(student, reference_module(16, 2, seed), device, "MultiHeadAttention(16, 2)"),
            lambda k: random_inputs(64, 16, 16, 16, seed + k, device=device),
            lambda q, k, v, m: ref(q, k, v, m),
            device=device,
            call=call,
            cause="a Python loop over the batch or the queries is slow: the heads are one more batch dimension",
            verify=verify,
        )


# ---------------------------------------------------------------- feedback pictures


def pictures(kept: dict, plt) -> list[dict]:
    return weights_picture(kept, plt, "MultiHeadAttention")


# ---------------------------------------------------------------- for the benchmark

#: The test cell a conventional course would write for this part: inline asserts on the notebook's
#: examples, run by nbgrader in a Jupyter kernel (``make bench`` compares that way with ours).
INLINE_TESTS = """
assert padding_mask(tokens).tolist() == (tokens == 0).tolist()
mha = MultiHeadAttention(8, 2)
ref = nn.MultiheadAttention(8, 2, batch_first=True).eval()
with torch.no_grad():
    ref.in_proj_weight.copy_(torch.cat([mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight]))
    ref.in_proj_bias.copy_(torch.cat([mha.q_proj.bias, mha.k_proj.bias, mha.v_proj.bias]))
    ref.out_proj.load_state_dict(mha.out_proj.state_dict())
    x = torch.randn(2, 5, 8)
    assert torch.allclose(mha(x, x, x)[0], ref(x, x, x)[0], atol=1e-5)
"""
