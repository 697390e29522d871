"""Does the feedback say each cause once, and where the checks ran in words a student reads?"""

import re

from autograder.feedback import Reveal, causes, part_html, without_arguments, without_values
from autograder.records import Check, PartResult

ENVIRONMENT = {"devices": ["cpu"], "sandbox": "bubblewrap"}


def failed(name: str, message: str, hint: str = "", points: float = 0.5, stub: str = "") -> Check:
    return Check(name, "matches the reference", message=message, hint=hint, max_points=points, stub=stub)


def test_an_untouched_part_says_not_implemented_once_per_function():
    stub = "gaussian_kernel(8) is not implemented yet: it raises NotImplementedError"
    checks = [failed(f"kernel [{i}]", stub, stub="gaussian_kernel") for i in range(29)]
    checks.append(failed("smooth", "smooth(...) is not implemented yet", stub="smooth"))
    # a check of bad input fails for the same cause: the stub raises NotImplementedError, not ValueError
    checks.append(
        failed(
            "kernel raises",
            "gaussian_kernel(0, sigma=1.0) is not implemented yet: it raises NotImplementedError",
            stub="gaussian_kernel",
        )
    )
    page = part_html(PartResult("smoother", checks), ENVIRONMENT)
    assert "<h4>2 thing(s) to fix (31 failed check(s))</h4>" in page
    assert page.count(stub) == 29  # once in full, then folded under the one item
    assert "▸ 29 more check(s) with this cause" in page
    assert "30 checks, 15.00 points" in page


def test_a_stub_is_a_fact_of_the_check_not_words_of_its_message():
    """A message that only says NotImplementedError (a student's own words, say) is not taken for a stub."""
    said = "smooth(...) raised ValueError: NotImplementedError is what I raise elsewhere"
    checks = [failed("smooth [a]", said), failed("smooth [b]", "smooth(...) raised ValueError: other")]
    assert [len(same) for same in causes(checks)] == [1, 1]
    stubs = [failed("smooth [a]", "anything", stub="smooth"), failed("smooth [b]", "else", stub="smooth")]
    assert [len(same) for same in causes(stubs)] == [2]


def test_a_recognised_mistake_is_one_item_with_its_hint_whatever_the_inputs():
    hint = "the kernel is flipped"
    checks = [failed("smooth [a]", "values differ at [0]", hint), failed("smooth [b]", "values differ at [3]", hint)]
    assert [len(same) for same in causes(checks)] == [2]
    page = part_html(PartResult("smoother", checks), ENVIRONMENT)
    assert page.count("<b>Hint:</b> the kernel is flipped") == 1
    assert "values differ at [0]" in page
    assert "values differ at [3]" in page


def test_checked_on_says_what_the_devices_mean():
    page = part_html(PartResult("smoother", []), ENVIRONMENT)
    said = re.search(r"<p>Checked on (.*?)\. Sandbox", page).group(1)
    assert said.startswith("the CPU (this grader has no GPU: the device checks record where each tensor")
    gpu = part_html(PartResult("smoother", []), {"devices": ["cpu", "cuda (NVIDIA H200)"], "sandbox": "bubblewrap"})
    assert "Checked on the CPU, and the GPU NVIDIA H200. Sandbox: bubblewrap." in gpu


BUGGY = [
    failed(
        "smooth [cpu]", "smooth((64,) float32, (5,) float32): expected shape (64,), got (60,)", "padding is missing"
    ),
    failed("gaussian_kernel [cpu]", "gaussian_kernel(8): values differ, the largest difference is 0.3 at [1]"),
    Check("kernel sums to 1 [cpu]", "shapes and dtypes", passed=True, points=1.0, max_points=1.0),
    Check("kernel is symmetric [cpu]", "shapes and dtypes", passed=True, points=1.0, max_points=1.0),
]


def test_by_default_the_report_reveals_everything_the_checks_say():
    page = part_html(PartResult("smoother", BUGGY), ENVIRONMENT)
    assert page == part_html(PartResult("smoother", BUGGY), ENVIRONMENT, Reveal())
    assert "<b>Hint:</b> padding is missing" in page
    assert "smooth((64,) float32, (5,) float32): expected shape (64,), got (60,)" in page
    assert "<b>smooth [cpu]</b>" in page
    assert "<li>kernel sums to 1 [cpu] (cpu)</li>" in page


def test_the_teacher_can_hide_hints_expected_values_hidden_arguments_and_check_names():
    hidden = Reveal(hints=False, expected=False, hidden_arguments=False, check_names=False)
    page = part_html(PartResult("smoother", BUGGY), ENVIRONMENT, hidden)
    assert "Hint" not in page
    assert "padding is missing" not in page
    assert "(64,)" not in page
    assert "0.3" not in page
    assert "smooth(...): not the expected result" in page
    assert "gaussian_kernel(...): values differ: not the expected result" in page
    assert "[cpu]" not in page  # no check's name, only its group
    assert "<b>matches the reference</b>" in page
    assert "<li>shapes and dtypes: 2 check(s)</li>" in page
    assert "<h3>smoother: 2 / 10 points</h3>" in page  # the score and the groups' points stay


def test_each_option_hides_only_its_own_part():
    only_arguments = part_html(PartResult("smoother", BUGGY), ENVIRONMENT, Reveal(hidden_arguments=False))
    assert "smooth(...): expected shape (64,), got (60,)" in only_arguments
    assert "<b>Hint:</b> padding is missing" in only_arguments
    only_values = part_html(PartResult("smoother", BUGGY), ENVIRONMENT, Reveal(expected=False))
    assert "smooth((64,) float32, (5,) float32): not the expected result" in only_values


def test_calls_lose_their_arguments_and_messages_their_values():
    assert without_arguments("f(g(x), (1, 2)): h((3,) int64) and k(") == "f(...): h(...) and k("
    assert (
        without_arguments("shape (8,) and dtype=torch.int64 (torch.long)")
        == "shape (8,) and dtype=torch.int64 (torch.long)"
    )
    assert without_values("v[word] should be 3, got 6") == "v[word]: not the expected result"
    assert without_values("expected a tuple of 2, got 3 values") == "not the expected result"
    stub = "gaussian_kernel is not implemented yet: it raises NotImplementedError"
    assert without_values(without_arguments(stub)) == stub


def test_without_hidden_arguments_a_checks_name_keeps_no_number_of_its_arguments():
    """Does a name built from a check's parameters (size=0, E=8, H=2) stop showing them with the messages' arguments?"""
    check = Check("MultiHeadAttention raises ValueError [E=8, H=-2]", "edge cases", message="MultiHeadAttention(8, -2)")
    assert Reveal(hidden_arguments=False).check(check).name == "MultiHeadAttention raises ValueError [E=..., H=...]"
    assert Reveal().check(check).name == check.name
    same = Check("matches [fp64, 4-D heads, padding mask]", "matches the reference")
    assert Reveal(hidden_arguments=False).check(same).name == same.name
