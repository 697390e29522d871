"""Does the attention suite know its mistakes: each one shows on the suite's own inputs, and the reference meets the contract?

No sandbox: the suite's known mistakes and input builders are run here, in this process.
"""

import pytest
import torch

from autograder.parts import suite_module
from autograder.suites.compare import difference, recognise
from autograder.suites.kit import nondeterministic

suite = suite_module("attention")
SEEDS = (0, 1)


def suite_inputs():
    """(name, (q, k, v, mask)) of every kind of input the suite's checks build."""
    for seed in SEEDS:
        for case in ["notebook example", *suite.CASES]:
            yield case, suite.inputs(case, seed)
        yield "4-D heads, padding mask, fp64", suite.inputs("4-D heads, padding mask", seed, torch.float64)
        for case in suite.BROADCAST_CASES:
            yield case, suite.inputs(case, seed)
        for shape in [(2, 3, 5), (2, 2, 3, 4)]:
            yield "rows fully masked", suite.random_inputs((*shape[:-1], 4), shape[-1], 6, "rows fully masked", seed)
        q, k, v, _ = suite.random_inputs((3, 4, 8), 5, 8, "none", seed)
        yield "an all-False mask", (q, k, v, torch.zeros(3, 4, 5, dtype=torch.bool))
        yield "a single key", suite.random_inputs((2, 5, 8), 1, 3, "none", seed)
        for magnitude in suite.MAGNITUDES:
            for dtype in (torch.float32, torch.float64):
                yield f"{magnitude}, {dtype}", suite.magnitude_inputs(magnitude, seed, dtype)


INPUTS = [(name, args, suite.reference(*args)) for name, args in suite_inputs()]


@pytest.mark.parametrize("mistake", suite.MISTAKES[suite.NAME], ids=lambda m: m.hint[:60])
def test_every_known_mistake_is_named_on_some_input_of_the_suite(mistake):
    """Is each mistake's hint given somewhere: its variant differs from the reference and is recognised as itself?"""
    named = []
    for name, args, expected in INPUTS:
        try:
            wrong = mistake.fn(*args)
        except RuntimeError:  # a variant that cannot run on these inputs
            continue
        if difference(wrong, expected) is not None and recognise(
            wrong, suite.MISTAKES[suite.NAME], *args, expected=expected
        ) == (mistake.hint):
            named.append(name)
            break
    assert named, "no input of the suite shows this mistake: its hint can never be given"


@pytest.mark.parametrize("case", list(suite.BROADCAST_CASES))
def test_the_reference_takes_every_mask_that_broadcasts(case):
    """Does the reference give rows of weights summing to 1 over the kept keys and 0 at ignored ones?"""
    q, k, v, m = suite.inputs(case, 0)
    out, weights = suite.reference(q, k, v, m)
    shape = (*q.shape[:-1], k.shape[-2])
    assert weights.shape == shape
    assert out.shape == (*q.shape[:-1], v.shape[-1])
    mask = m.expand(shape)
    assert bool((weights[mask] == 0).all())
    torch.testing.assert_close(weights.sum(-1), torch.ones(shape[:-1]))


def test_a_query_whose_keys_are_all_ignored_gets_zeros_and_uniform_weights_are_named():
    q, k, v, m = suite.random_inputs((2, 3, 4), 5, 6, "rows fully masked", 0)
    out, weights = suite.reference(q, k, v, m)
    assert bool((weights[:, 0] == 0).all())
    assert bool((out[:, 0] == 0).all())
    uniform = suite.attend(q, k, v, m, fill=-1e9, fix_rows=False)  # what a -1e9 fill gives
    torch.testing.assert_close(uniform[1][:, 0], torch.full((2, 5), 0.2))
    assert recognise(uniform, suite.MISTAKES[suite.NAME], q, k, v, m, expected=(out, weights)) == suite.UNIFORM_ROWS
    assert "not uniform weights" in suite.UNIFORM_ROWS
    assert "-1e9 instead" not in suite.UNIFORM_ROWS


class Repeating:
    """A stand-in for a Student whose function gives the results listed, one per call."""

    def __init__(self, *results):
        self.results = list(results)

    def call(self, name, *args, **kwargs):
        return self.results.pop(0)


def test_a_function_that_gives_other_results_when_called_again_is_said_to_be_random():
    a, b = torch.zeros(3), torch.ones(3)
    assert nondeterministic(Repeating(b, b), "f", (), a, "random") == "random"
    assert nondeterministic(Repeating(a, b), "f", (), a, "random") == "random"  # the second repeat differs
    assert nondeterministic(Repeating(a.clone(), a.clone()), "f", (), a, "random") == ""
    assert nondeterministic(Repeating([a, b], [a, b]), "f", (), [a, b], "random") == ""


def test_a_result_wrong_beyond_the_rows_of_an_edge_case_has_the_cause_of_the_values():
    """Is a wrong scaling, failing the fully masked rows' check too, sent to the values (one cause, one item), while a
    NaN row is the edge case's own?"""
    q, k, v, m = suite.random_inputs((2, 3, 4), 5, 6, "rows fully masked", 0)
    expected = suite.reference(q, k, v, m)
    assert suite.wrong_elsewhere(suite.attend(q, k, v, m, scale=lambda q, k, v: 0.3), expected, m.all(-1))
    assert not suite.wrong_elsewhere(suite.attend(q, k, v, m, fix_rows=False), expected, m.all(-1))


def test_a_scaling_by_a_length_is_named_as_what_it_is_on_every_shape():
    """Where L == S, sqrt(L) and sqrt(S) are one: the hint says 'the sequence length', never 'the number of keys'."""
    mistakes = suite.MISTAKES[suite.NAME]
    for case, named in [("3-D, padding mask", "sequence length"), ("3-D, L != S, Dv != D, full mask", "number of")]:
        q, k, v, m = suite.inputs(case, 0)
        for length in (q.shape[-2], k.shape[-2]):
            got = suite.attend(q, k, v, m, scale=lambda q, k, v, n=length: n**-0.5)
            hint = recognise(got, mistakes, q, k, v, m, expected=suite.reference(q, k, v, m))
            assert named in hint
            if q.shape[-2] == k.shape[-2]:
                assert "number of keys (key.shape[-2])" not in hint


@pytest.mark.parametrize("magnitude", list(suite.MAGNITUDES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_the_reference_holds_at_every_magnitude(magnitude, dtype):
    """Does the reference give finite weights that sum to 1 over the kept keys, at scores of 1e-36 to 1e36?"""
    q, k, v, m = suite.magnitude_inputs(magnitude, 0, dtype)
    out, weights = suite.reference(q, k, v, m)
    assert bool(out.isfinite().all())
    assert bool(weights.isfinite().all())
    assert torch.allclose(weights.sum(-1), torch.ones((), dtype=dtype))
    assert bool((weights.masked_select(m.expand_as(weights)) == 0).all())


def test_a_plain_exp_is_named_where_it_overflows_and_only_there():
    """The plain-exp softmax agrees with the reference on ordinary scores and is named on large ones."""
    plain = next(m for m in suite.MISTAKES[suite.NAME] if "subtract the row's maximum" in m.hint)
    ordinary = suite.inputs("3-D, padding mask", 0)
    assert difference(plain.fn(*ordinary), suite.reference(*ordinary)) is None
    for magnitude in ("large scores (2^16)", "huge scores (2^110)"):
        args = suite.magnitude_inputs(magnitude, 0)
        expected = suite.reference(*args)
        assert recognise(plain.fn(*args), suite.MISTAKES[suite.NAME], *args, expected=expected) == plain.hint
