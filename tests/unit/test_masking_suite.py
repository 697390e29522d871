"""Does the masking suite know its mistakes, and carry a student's own attention into MultiHeadAttention?

No sandbox: the suite's known mistakes and input builders run here; a stand-in for a Student runs
a (test-written) scaled_dot_product_attention in this process.
"""

import math
from types import SimpleNamespace

import pytest
import torch

from autograder.parts import suite_module
from autograder.suites.compare import CheckFailed, difference, recognise
from solutions.attention import scaled_dot_product_attention

suite = suite_module("masking")
SEEDS = (0, 1)


def module_inputs():
    """(name, (ref, q, k, v, mask)) of every kind of input the suite's MultiHeadAttention checks build."""
    for seed in SEEDS:
        for case in suite.CASES:
            yield case, suite.inputs(case, seed)
        yield "cross-attention, fp64", suite.inputs("cross-attention, L != S, E=8, H=2", seed, torch.float64)
        for embed, heads, batch, length, source, mask in [
            (8, 2, 3, 4, 5, "a sentence all padding"),
            (6, 1, 2, 3, 3, "padding"),
            (4, 4, 2, 3, 3, "padding"),
            (8, 2, 1, 1, 1, "none"),
        ]:
            tensors = suite.random_inputs(batch, length, source, embed, seed, mask=mask)
            yield f"edge case: {mask}, H={heads}", (suite.reference_module(embed, heads, seed + 1), *tensors)


def expected_of(args):
    with torch.no_grad():
        return args[0](*args[1:])


INPUTS = [(name, args, expected_of(args)) for name, args in module_inputs()]


@pytest.mark.parametrize("mistake", suite.MISTAKES["MultiHeadAttention"], ids=lambda m: m.hint[:60])
def test_every_known_mistake_of_the_module_is_named_on_some_input_of_the_suite(mistake):
    """Is each mistake's hint given somewhere: its variant differs from the reference and is recognised as itself?"""
    for _, args, expected in INPUTS:
        with torch.no_grad():
            try:
                wrong = mistake.fn(*args)
            except RuntimeError:  # a variant that cannot run on these inputs (a mask of the wrong shape)
                continue
            shows = difference(wrong, expected) is not None
            if (
                shows
                and recognise(wrong, suite.MISTAKES["MultiHeadAttention"], *args, expected=expected) == mistake.hint
            ):
                return
    pytest.fail("no input of the suite shows this mistake: its hint can never be given")


@pytest.mark.parametrize("mistake", suite.MISTAKES["padding_mask"], ids=lambda m: m.hint[:60])
def test_every_known_mistake_of_padding_mask_is_named_on_some_input_of_the_suite(mistake):
    tokens = [(suite.TOKENS, 0), (suite.TOKENS, 1), (suite.random_tokens((4, 9), 0), 3)]
    for t, pad in tokens:
        expected = suite.padding_mask(t, pad)
        wrong = mistake.fn(t, pad)
        if difference(wrong, expected) is not None and recognise(
            wrong, suite.MISTAKES["padding_mask"], t, pad, expected=expected
        ):
            return
    pytest.fail("no input of the suite shows this mistake")


@pytest.mark.parametrize("name", [name for name, _, _ in INPUTS[: len(INPUTS) // len(SEEDS)]])
def test_the_variants_unchanged_are_the_reference(name):
    """Is ``mha`` with nothing changed the reference module (so that each variant is one change)?"""
    _, args, expected = next(i for i in INPUTS if i[0] == name)
    with torch.no_grad():
        assert difference(suite.mha(*args), expected) is None
        assert difference(suite.mha(*args, attend=scaled_dot_product_attention), expected) is None


def test_the_reference_refuses_zero_or_negative_heads():
    for heads in (0, -2, 3):
        with pytest.raises(ValueError, match="num_heads"):
            suite.MultiHeadAttention(8, heads)


# ---------------------------------------------------------------- the student's own attention, carried forward


def unscaled(q, k, v, mask=None):
    """A scaled_dot_product_attention that forgets the scaling: the part 3 mistake."""
    return scaled_dot_product_attention(q * math.sqrt(q.shape[-1]), k, v, mask)


class Local:
    """A stand-in for a Student whose scaled_dot_product_attention is ``attention``, run in this process."""

    def __init__(self, attention):
        self.attention, self.notes, self.names = attention, [], [suite.ATTENTION]

    def call(self, name, *args):
        assert name == suite.ATTENTION
        return self.attention(*args)

    def run(self, name, *args, grad):
        with torch.enable_grad():  # as in the sandbox's own process, even when called from a backward pass
            leaves = [a.detach().requires_grad_() for a in args[:3]]
            result = self.attention(*leaves, *args[3:])
            grads = torch.autograd.grad(result, leaves, grad["upstream"], allow_unused=True)

        return SimpleNamespace(input_grads=list(grads))


def case(name="cross-attention, L != S, E=8, H=2", dtype=torch.float32):
    ref, q, k, v, m = suite.inputs(name, 0, dtype)
    return ref, q, k, v, m


def test_a_right_module_over_a_wrong_attention_is_accepted_with_a_note():
    ref, q, k, v, m = case()
    student = Local(unscaled)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        got = suite.mha(ref, q, k, v, m, attend=unscaled)  # what the student's module gives
        assert difference(got, expected) is not None
        assert suite.carried(student, ref, q, k, v, m, got, expected)
    assert student.notes == [suite.CARRIED]
    assert suite.CARRIED.startswith(
        "your MultiHeadAttention is right; your scaled_dot_product_attention (copied from part 3) is not"
    )
    suite.judge(student, None, ref, q, k, v, m, got, expected, "call")  # passes


def test_a_wrong_module_over_a_wrong_attention_is_not_accepted_and_the_hint_says_why():
    ref, q, k, v, m = case()
    student = Local(unscaled)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        got = suite.mha(ref, q, k, v, m, attend=unscaled, weights="sum")
        assert not suite.carried(student, ref, q, k, v, m, got, expected)
        assert suite.own_attention_differs(student, ref, q, k, v, m)
        with pytest.raises(CheckFailed) as failed:
            suite.judge(Repeat(student, got), None, ref, q, k, v, m, got, expected, "call")
    assert failed.value.hint == suite.OWN_ATTENTION
    assert student.notes == []


class Repeat(Local):
    """``student`` whose module gives ``result`` each time it is called."""

    def __init__(self, student, result):
        super().__init__(student.attention)
        self.notes, self.result = student.notes, result

    def call(self, name, *args, **kwargs):
        return self.result if name is None else super().call(name, *args)


def test_an_attention_that_does_no_work_carries_nothing():
    """Zeros from the attention make every module's output out_proj.bias: that proves nothing of the module."""
    ref, q, k, v, m = case()

    def zeros(q, k, v, mask=None):
        return torch.zeros_like(q), torch.zeros((*q.shape[:-1], k.shape[-2]))

    student = Local(zeros)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        got = suite.mha(ref, q, k, v, m, attend=zeros)
        assert not suite.carried(student, ref, q, k, v, m, got, expected)
    assert student.notes == []


def test_a_right_attention_carries_nothing():
    ref, q, k, v, m = case()
    student = Local(scaled_dot_product_attention)
    with torch.no_grad():
        expected = ref(q, k, v, m)
        got = suite.mha(ref, q, k, v, m, weights="sum")
        assert not suite.carried(student, ref, q, k, v, m, got, expected)


def test_gradients_through_the_students_own_attention_are_the_students():
    q, k, v, m = suite.random_inputs(2, 4, 5, 8, 0, mask="a sentence all padding", dtype=torch.float64)
    ref = suite.reference_module(8, 2, 1, torch.float64)
    student = Local(unscaled)
    out, weights = ref(q, k, v, m)
    gradients = [torch.randn_like(out), torch.randn_like(weights)]
    leaves = [t.detach().requires_grad_() for t in (q, k, v)]
    params = dict(ref.named_parameters())
    theirs = torch.autograd.grad(
        suite.mha(ref, *leaves, m, attend=unscaled), [*leaves, *params.values()], gradients
    )  # what a right module over the student's attention gives
    with torch.no_grad():
        got = suite.mha(ref, q, k, v, m, attend=unscaled)
    labels = ["the query", "the key", "the value", *params]
    assert suite.carried_gradients(student, ref, (q, k, v, m), got, (out, weights), gradients, list(theirs), labels)
    reference = torch.autograd.grad(ref(*leaves, m), [*leaves, *params.values()], gradients)
    assert not suite.carried_gradients(
        student, ref, (q, k, v, m), got, (out, weights), gradients, list(reference), labels
    )
