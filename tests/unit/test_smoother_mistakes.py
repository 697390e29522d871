"""Does every known mistake of the smoother suite show on the suite's own inputs, and only where it differs?"""

import pytest
import torch

from autograder.sandbox.student import StudentError
from autograder.suites import smoother as suite
from autograder.suites.compare import difference, recognise
from solutions.smoother import gaussian_kernel, smooth

SEEDS = range(3)


def kernel_inputs() -> list[tuple]:
    return [*suite.KERNELS.values(), suite.WIDE]


def smooth_inputs() -> list[tuple]:
    """The suite's signals and kernels: its cases, in float32 and float64, and its shortest windows."""
    found = []
    for seed in SEEDS:
        found += [suite.inputs(case, seed) for case in [*suite.CASES, *suite.EDGES]]
        found.append(suite.inputs("batch of 4", seed, torch.float64))
    return found


def named_where(mistakes, index, inputs, reference) -> list[tuple]:
    """The inputs on which the suite names mistake ``index`` for the mistake's own result; each must differ."""
    mistake, named = mistakes[index], []
    for args in inputs:
        wrong = mistake.fn(*args)
        if wrong is not None and recognise(wrong, mistakes, *args, expected=reference(*args)) == mistake.hint:
            assert difference(wrong, reference(*args)) is not None, args
            named.append(args)
    return named


@pytest.mark.parametrize("index", range(len(suite.MISTAKES["gaussian_kernel"])))
def test_each_kernel_mistake_is_named_on_some_input_where_it_differs(index):
    assert named_where(suite.MISTAKES["gaussian_kernel"], index, kernel_inputs(), gaussian_kernel)


@pytest.mark.parametrize("index", range(len(suite.MISTAKES["smooth"])))
def test_each_smooth_mistake_is_named_on_some_input_where_it_differs(index):
    assert named_where(suite.MISTAKES["smooth"], index, smooth_inputs(), smooth)


def test_a_mistake_that_agrees_with_the_reference_is_not_named():
    """A float32 signal computed in float32: no precision lost, nothing to say."""
    signal, kernel = suite.inputs("batch of 4", 0)
    assert (
        recognise(smooth(signal, kernel), suite.MISTAKES["smooth"], signal, kernel, expected=smooth(signal, kernel))
        == ""
    )


def test_float32_inside_for_a_float64_signal_is_named():
    signal, kernel = suite.inputs("batch of 4", 0, torch.float64)
    got = smooth(signal.float(), kernel).double()
    assert "computed in float32" in recognise(
        got, suite.MISTAKES["smooth"], signal, kernel, expected=smooth(signal, kernel)
    )


class Local:
    """A stand-in for a Student whose smooth is ``smooth``, run in this process."""

    def __init__(self, smooth):
        self.smooth = smooth

    def call(self, name, *args):
        assert name == "smooth"
        return self.smooth(*args)


def test_a_result_that_changes_between_calls_is_not_deterministic():
    signal, kernel = suite.inputs("batch of 4", 0)
    noisy = lambda s, k: smooth(s, k) + 1e-3 * torch.randn(46)  # noqa: E731
    with pytest.raises(suite.CheckFailed) as failed:
        suite.expect_smooth(Local(noisy), signal, kernel)
    assert failed.value.hint == suite.NOT_DETERMINISTIC
    suite.expect_smooth(Local(smooth), signal, kernel)  # passes


def test_a_second_call_that_fails_says_nothing_of_determinism():
    signal, kernel = suite.inputs("batch of 4", 0)
    results = [smooth(signal, kernel) + 1e-3 * torch.randn(46)]

    def once(s, k):
        if results:
            return results.pop()
        raise StudentError("smooth", {"type": "RuntimeError", "message": "no"})

    with pytest.raises(suite.CheckFailed) as failed:
        suite.expect_smooth(Local(once), signal, kernel)
    assert failed.value.hint == ""


def test_a_bias_left_in_is_an_honest_attempt_and_a_constant_is_not():
    """nn.Conv1d's random bias: the reference's result plus a constant counts for the checks of how smooth works."""
    import torch

    from autograder.suites import smoother

    signal, kernel = smoother.inputs("batch of 4", 0)
    expected = smoother.smooth(signal, kernel)
    assert smoother.attempt_smooth(expected + 0.37, signal, kernel, expected=expected) == smoother.BIAS_HINT
    assert smoother.attempt_smooth(torch.full_like(expected, 0.37), signal, kernel, expected=expected) == ""
