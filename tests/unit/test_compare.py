"""Do the pure comparisons say exactly what differs, name known mistakes, and gate the checks of how?"""

import pytest
import torch

from autograder.suites.compare import CheckFailed, Mistake, attempted, difference, expect_same, gate, recognise, same


def test_equal_tensors_and_values_have_no_difference():
    t = torch.arange(6.0).reshape(2, 3)
    assert difference(t.clone(), t) is None
    assert difference((t, 3), (t.clone(), 3)) is None
    assert difference([t, t], (t, t)) is None  # a list is accepted where a tuple is expected
    assert difference("bank", "bank") is None


def test_a_wrong_shape_is_named_with_both_shapes():
    assert difference(torch.zeros(8), torch.zeros(9)) == "the result: expected shape (9,), got (8,)"


def test_a_wrong_dtype_is_named_with_both_dtypes():
    got = difference(torch.zeros(3, dtype=torch.float64), torch.zeros(3), "the kernel")
    assert got == "the kernel: expected dtype torch.float32, got torch.float64"


def test_a_wrong_device_is_named_with_both_devices():
    got = difference(torch.zeros(3, device="meta"), torch.zeros(3))
    assert got == "the result: expected a tensor on cpu, got one on meta"


def test_meta_and_empty_tensors_match_on_shape_dtype_and_device_alone():
    assert difference(torch.empty(2, 3, device="meta"), torch.empty(2, 3, device="meta")) is None
    assert difference(torch.empty(0, 4), torch.empty(0, 4)) is None


def test_something_that_is_not_a_tensor_is_described_by_kind():
    assert difference([1.0, 2.0], torch.zeros(2)) == "the result: expected a tensor of shape (2,), got a list of 2"
    assert difference(None, torch.zeros(2)) == "the result: expected a tensor of shape (2,), got None"
    assert difference(3, 4, "len(v)") == "len(v): expected 4, got 3"


def test_tuples_are_compared_element_by_element_with_their_labels():
    expected = (torch.zeros(2), torch.ones(2))
    assert difference(torch.zeros(2), expected) == "expected a tuple of 2, got (2,) float32"
    assert difference((torch.zeros(2),), expected) == "expected a tuple of 2, got 1 values"
    got = difference((torch.zeros(2), torch.zeros(2)), expected, ("the output", "the weights"))
    assert got.startswith("the weights: values differ")
    assert difference((torch.zeros(2), torch.zeros(3)), expected).startswith("element 1: expected shape (2,)")


def test_nan_where_a_number_was_expected_is_named_with_its_place():
    got = torch.tensor([[0.5, 0.5], [float("nan"), 1.0]])
    assert difference(got, torch.tensor([[0.5, 0.5], [0.25, 1.0]])) == (
        "the result: got NaN at [1, 0], where 0.25 was expected"
    )


def test_nan_where_nan_was_expected_matches_and_a_number_for_a_nan_does_not():
    nan = float("nan")
    assert difference(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.0])) is None
    assert difference(torch.tensor([0.0, 1.0]), torch.tensor([nan, 1.0])) == (
        "the result: values differ, the largest difference is 0 at [0] (expected nan, got 0); "
        "1 of 2 values are outside the tolerance (rtol 0.0001, atol 1e-05)"
    )


def test_integer_results_must_be_equal_and_the_first_difference_is_named():
    expected = torch.tensor([[4, 6, 7], [4, 8, 5]])
    got = torch.tensor([[4, 6, 7], [4, 5, 8]])
    assert difference(got, expected, "the tokens") == ("the tokens: 2 of 6 values differ; at [1, 1] expected 8, got 5")
    assert difference(torch.tensor([True, False]), torch.tensor([True, True])) == (
        "the result: 1 of 2 values differ; at [1] expected True, got False"
    )


def test_float32_values_within_the_tolerance_match_and_beyond_it_are_named():
    expected = torch.tensor([1.0, 2.0, 3.0])
    assert difference(expected + 1e-5, expected) is None  # within atol 1e-5 + rtol 1e-4 * |x|
    got = torch.tensor([1.0, 2.5, 3.0])
    assert difference(got, expected) == (
        "the result: values differ, the largest difference is 0.5 at [1] (expected 2, got 2.5); "
        "1 of 3 values are outside the tolerance (rtol 0.0001, atol 1e-05)"
    )


@pytest.mark.parametrize(
    ("dtype", "close", "far"),
    [(torch.float64, 1e-9, 1e-6), (torch.float16, 4e-3, 5e-2), (torch.bfloat16, 4e-2, 0.5)],
)
def test_each_dtype_has_its_own_tolerance(dtype, close, far):
    expected = torch.tensor([0.0, 0.0], dtype=dtype)
    assert difference(torch.tensor([close, 0.0], dtype=dtype), expected) is None
    assert difference(torch.tensor([far, 0.0], dtype=dtype), expected).startswith("the result: values differ")


# ---------------------------------------------------------------- known mistakes and gates

MISTAKES = [
    Mistake("it raises", lambda x: 1 / 0),
    Mistake("you forgot to double", lambda x: x),
    Mistake("you squared", lambda x: x * x),
]


def test_recognise_gives_the_hint_of_the_first_mistake_that_matches():
    x = torch.tensor([3.0, 4.0])
    assert recognise(x.clone(), MISTAKES, x, expected=2 * x) == "you forgot to double"
    assert recognise(x * x, MISTAKES, x, expected=2 * x) == "you squared"
    assert recognise(x + 1, MISTAKES, x, expected=2 * x) == ""  # a mistake that raises is passed over


def test_a_mistake_is_named_only_where_it_differs_from_the_reference():
    x = torch.tensor([2.0, 2.0])  # here x * x == 2 * x: "you squared" explains nothing
    assert recognise(2 * x, MISTAKES, x, expected=2 * x) == ""
    assert recognise(x * x, MISTAKES, x, expected=2 * x) == ""


def test_an_honest_attempt_opens_the_gate_and_zeros_or_a_copy_do_not():
    x = torch.tensor([3.0, 4.0])
    squared = [Mistake("you squared", lambda x: x * x)]
    gate(2 * x, 2 * x, "f(x)", "speed")
    gate(x * x, 2 * x, "f(x)", "speed", attempt=lambda: attempted(x * x, squared, x, expected=2 * x))
    with pytest.raises(CheckFailed, match="counts only for a correct result"):
        gate(x * x, 2 * x, "f(x)", "speed")
    zeros = [Mistake("nothing yet", lambda x: torch.zeros_like(x))]
    assert attempted(torch.zeros(2), zeros, x, expected=2 * x) == ""
    copy = [Mistake("you forgot to double", lambda x: x.clone())]
    assert recognise(x.clone(), copy, x, expected=2 * x) == "you forgot to double"  # named, as a hint
    assert attempted(x.clone(), copy, x, expected=2 * x) == ""  # but no real work: no attempt


def test_expect_same_passes_a_match_and_fails_with_the_call_and_the_hint():
    x = torch.tensor([3.0, 4.0])
    expect_same(2 * x, 2 * x, call="double((2,) float32)", mistakes=MISTAKES, args=(x,))
    with pytest.raises(CheckFailed) as failed:
        expect_same(x * x, 2 * x, call="double((2,) float32)", mistakes=MISTAKES, args=(x,))
    assert failed.value.message == (
        "double((2,) float32): the result: values differ, the largest difference is 8 at [1] "
        "(expected 8, got 16); 2 of 2 values are outside the tolerance (rtol 0.0001, atol 1e-05)"
    )
    assert failed.value.hint == "you squared"
    with pytest.raises(CheckFailed) as failed:
        expect_same(x + 1, 2 * x, call="double(x)", mistakes=MISTAKES, args=(x,))
    assert failed.value.hint == ""


def test_expect_same_labels_the_elements_of_a_tuple():
    expected = (torch.zeros(2), torch.ones(3))
    with pytest.raises(CheckFailed) as failed:
        expect_same((torch.zeros(2), torch.ones(2)), expected, call="f()", labels=("the output", "the weights"))
    assert failed.value.message == "f(): the weights: expected shape (3,), got (2,)"


def test_gate_says_the_check_counts_only_for_a_correct_result():
    gate(torch.ones(2), torch.ones(2), "f()", "speed")
    with pytest.raises(CheckFailed) as failed:
        gate(torch.ones(3), torch.ones(2), "f()", "speed")
    assert (
        failed.value.message
        == "not judged: fix 'matches the reference' first (f(): the result: expected shape (2,), got (3,)); speed "
        "counts only for a correct result or a recognised attempt"
    )
    assert isinstance(failed.value, AssertionError)


def _pairs() -> list[tuple[object, object]]:
    """(got, expected) of every kind the comparisons tell apart: equal, close, far, NaN, shapes, dtypes, devices."""
    t = torch.arange(6.0).reshape(2, 3)
    nan = t.clone()
    nan[1, 2] = float("nan")
    values = [
        t, t.clone(), t + 1e-7, t + 1.0, nan, nan.clone(), t.double(), t.reshape(3, 2), t.to("meta"), torch.zeros(0),
        torch.arange(6), torch.arange(6).clone(), torch.arange(6) + 1, torch.tensor([True, False]), 3, 3.0, "bank",
        None, [t, 3], (t, 3), (t.clone(), 3), (t + 1.0, 3), (t,),
    ]  # fmt: skip
    return [(a, b) for a in values for b in values]


def test_same_is_difference_without_the_words():
    """The known mistakes ask ``same`` of every variant: it must agree with ``difference`` on every kind of pair."""
    for got, expected in _pairs():
        try:
            said = difference(got, expected)
        except Exception as error:
            with pytest.raises(type(error)):
                same(got, expected)
        else:
            assert same(got, expected) is (said is None), (got, expected, said)
