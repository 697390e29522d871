"""Is a forbidden API that raised in the sandbox recognised, by names the grader knows only?"""

from autograder.sandbox.student import forbidden_raised
from autograder.suites.plugin import forbidden_cause


def test_the_stub_of_a_forbidden_api_is_recognised_by_its_message():
    message = "this exercise does not allow F.scaled_dot_product_attention: write it with tensor operations"
    assert forbidden_raised({"type": "RuntimeError", "message": message}) == "F.scaled_dot_product_attention"
    message = "this exercise does not allow nn.MultiheadAttention: write the heads yourself"
    assert forbidden_raised({"type": "RuntimeError", "message": message}) == "nn.MultiheadAttention"
    message = "this exercise does not allow torch.ops.aten._scaled_dot_product_flash_attention: write it with"
    assert forbidden_raised({"type": "RuntimeError", "message": message}).endswith("flash_attention")


def test_a_name_the_grader_does_not_know_or_another_error_is_not():
    """A made-up name could carry a hidden input: only the grader's own names are taken."""
    assert forbidden_raised({"type": "RuntimeError", "message": "this exercise does not allow secret_words: x"}) == ""
    message = "this exercise does not allow F.scaled_dot_product_attention: write it with tensor operations"
    assert forbidden_raised({"type": "ValueError", "message": message}) == ""
    assert forbidden_raised({}) == ""


def test_the_hint_names_every_forbidden_api_as_the_cause():
    hint = forbidden_cause({"nn.MultiheadAttention", "F.scaled_dot_product_attention"})
    assert hint.startswith(
        "your code uses F.scaled_dot_product_attention, nn.MultiheadAttention, which this exercise does not allow"
    )
