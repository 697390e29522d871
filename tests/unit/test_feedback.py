"""Does the feedback say each cause once, and where the checks ran in words a student reads?"""

import re

from autograder.feedback import causes, part_html
from autograder.records import Check, PartResult

ENVIRONMENT = {"devices": ["cpu", "meta"], "sandbox": "bubblewrap"}


def failed(name: str, message: str, hint: str = "", points: float = 0.5) -> Check:
    return Check(name, "matches the reference", message=message, hint=hint, max_points=points)


def test_an_untouched_part_says_not_implemented_once_per_function():
    stub = "gaussian_kernel is not implemented yet: it raises NotImplementedError"
    checks = [failed(f"kernel [{i}]", stub) for i in range(29)] + [failed("smooth", "smooth is not implemented yet")]
    page = part_html(PartResult("smoother", checks), ENVIRONMENT)
    assert "<h4>2 thing(s) to fix (30 failed check(s))</h4>" in page
    assert page.count(stub) == 29  # once in full, then folded under the one item
    assert "▸ 28 more check(s) with this cause" in page
    assert "29 checks, 14.50 points" in page


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
    assert said.startswith("the CPU, and the meta device of PyTorch for the device checks (this grader has no GPU")
    gpu = part_html(PartResult("smoother", []), {"devices": ["cpu", "cuda (NVIDIA H200)"], "sandbox": "bubblewrap"})
    assert "Checked on the CPU, and the GPU NVIDIA H200. Sandbox: bubblewrap." in gpu
