"""Are two known mistakes made at once named together, when no single one explains the result?

No sandbox: the examples' code (the reference with two edits) runs here, on the suites' own inputs.
"""

import pytest
import torch

from autograder.dev.examples import MISTAKES
from autograder.parts import suite_module
from autograder.suites.compare import MAX_PAIRS, Mistake, attempted, difference, pairs, recognise, variant

attention = suite_module("attention")
masking = suite_module("masking")

#: The corpus's examples of two mistakes at once, and a word of each hint they must name.
TWO_AT_ONCE = {
    "no scaling and softmax over the queries": ("are not scaled", "over the queries"),
    "mask inverted and scaled by D": ("inverted", "divided by D"),
    "no scaling and results swapped": ("are not scaled", "swapped"),
    "no out_proj and weights of the first head": ("out_proj is missing", "one head"),
    "heads merged without transpose and scaled by sqrt(E)": ("merged without a transpose", "sqrt(E)"),
}


def example(name: str):
    found = next(m for m in MISTAKES if m.name == name)
    namespace: dict = {}
    exec(compile(found.code, name, "exec"), namespace)  # the project's own example: the reference with two edits
    return found, namespace


def hint_on_the_suites_inputs(name: str) -> tuple[str, str]:
    """(the hint, the attempt's hint) for the example's result on the first suite input where it differs."""
    found, namespace = example(name)
    if found.part == "attention":
        for case in attention.CASES:  # random inputs: on the notebook's, an inverted mask leaves only the padding's equal keys, whatever the scale
            args = attention.inputs(case, 0)
            got, expected = namespace["scaled_dot_product_attention"](*args), attention.reference(*args)
            if difference(got, expected) is not None:
                mistakes = attention.MISTAKES[attention.NAME]
                return recognise(got, mistakes, *args, expected=expected), attempted(
                    got, mistakes, *args, expected=expected
                )
    else:
        for case in masking.CASES:
            ref, q, k, v, m = masking.inputs(case, 0)
            module = namespace["MultiHeadAttention"](ref.embed_dim, ref.num_heads).eval()
            module.load_state_dict(ref.state_dict())
            with torch.no_grad():
                got, expected = module(q, k, v, key_padding_mask=m), ref(q, k, v, key_padding_mask=m)
            if difference(got, expected) is not None:
                mistakes = masking.MISTAKES["MultiHeadAttention"]
                with torch.no_grad():
                    return recognise(got, mistakes, ref, q, k, v, m, expected=expected), attempted(
                        got, mistakes, ref, q, k, v, m, expected=expected
                    )
    raise AssertionError(f"{name}: no input of the suite shows it")


@pytest.mark.parametrize("name", list(TWO_AT_ONCE))
def test_two_mistakes_at_once_are_named_together(name):
    hint, honest = hint_on_the_suites_inputs(name)
    assert hint.startswith("two mistakes at once: (1) ")
    assert all(word in hint for word in TWO_AT_ONCE[name]), hint
    assert honest == hint  # a recognised attempt: the checks of how the function works count for it


def test_a_single_mistake_is_named_alone():
    """Is a result one mistake explains still named by that one (pairs come after every single mistake)?"""
    args = attention.inputs("3-D, L != S, Dv != D, full mask", 0)
    mistakes = attention.MISTAKES[attention.NAME]
    got = mistakes[0].fn(*args)
    assert recognise(got, mistakes, *args, expected=attention.reference(*args)) == mistakes[0].hint


def test_only_changes_of_different_keywords_of_one_reference_combine():
    """Two changes of the same keyword (two scalings) or of two references are no pair; the number is bounded."""
    add = lambda x, *, a=1, b=2: x * a + b  # noqa: E731
    other = lambda x, *, a=1: x  # noqa: E731
    one, two, same, elsewhere = (
        variant("a", add, a=3),
        variant("b", add, b=0),
        variant("a again", add, a=5),
        variant("c", other, a=2),
    )
    plain = Mistake("not composable", lambda x: x)
    found = pairs((one, two, same, elsewhere, plain))
    assert [m.hint for m in found] == ["two mistakes at once: (1) a; (2) b", "two mistakes at once: (1) b; (2) a again"]
    assert found[0].fn(1) == 3  # 1 * 3 + 0
    assert found[1].fn(1) == 5  # 1 * 5 + 0
    assert len(pairs(tuple(attention.MISTAKES[attention.NAME]))) <= MAX_PAIRS
