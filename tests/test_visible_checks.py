"""Do the notebooks' visible checks fail every mistake they can see, in one short line, and pass every correct answer?

Validate shows the end of a long traceback, cut off: the last line, ``SanityCheckFailed: expected ...,
but ...``, must say what was expected and what was found, by itself. A forbidden API fails the checks
too, named. The notebooks' code cells run here, in this process, in order, as a kernel would run them
(the answer cells hold an example's code; figures are drawn off screen and closed).
"""

import warnings

import matplotlib
import pytest

from autograder.dev.examples import CORRECT, MISTAKES, Example, mutant, notebook, reference_code
from autograder.parts import PARTS

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.slow

#: At most this many characters in a visible check's message: Validate's dialog shows the end of a traceback.
SHORT = 200


def run_notebook(part: str, code: str) -> BaseException | None:
    """Run every code cell of ``part``'s notebook with ``code`` in its answer cell; the first exception, or None."""
    namespace: dict = {"__name__": "__main__"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plt.show() under Agg says it cannot show
            for cell in notebook(part, code).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"<{part} cell>", "exec"), namespace)
    except Exception as error:
        return error
    finally:
        plt.close("all")
    return None


def sanity_failure(error: BaseException | None) -> str:
    assert error is not None, "the visible checks pass"
    assert type(error).__name__ == "SanityCheckFailed", f"not a visible check: {error!r}"
    return str(error)


#: Forbidden APIs however they are reached: (name, part, edits of the reference, the name the message must say).
FORBIDDEN = [
    mutant("F.scaled_dot_product_attention imported under another name", "attention",
           [("import math\n", "import math\nfrom torch.nn.functional import scaled_dot_product_attention as attend\n"),
            ("    return weights @ value, weights",
             "    return attend(query, key, value, None if mask is None else ~mask), weights")],
           "F.scaled_dot_product_attention"),
    mutant("nn.MultiheadAttention built and called in forward", "masking",
           [("        return self.out_proj(out), weights.mean(dim=1)  # (B, L, E), (B, L, S)",
             "        torch_mha = nn.MultiheadAttention(E, H, batch_first=True).to(query.device)\n"
             "        torch_mha(query, key, value, key_padding_mask=key_padding_mask)\n"
             "        return self.out_proj(out), weights.mean(dim=1)  # (B, L, E), (B, L, S)")],
           "nn.MultiheadAttention"),
    mutant("F.scaled_dot_product_attention in the copy of part 3", "masking",
           [("    return weights @ value, weights",
             "    return F.scaled_dot_product_attention(query, key, value, None if mask is None else ~mask), weights")],
           "F.scaled_dot_product_attention"),
]  # fmt: skip


@pytest.mark.parametrize("example", [m for m in MISTAKES if m.expect == "does not allow"] + FORBIDDEN, ids=str)
def test_a_forbidden_api_fails_the_visible_checks_with_its_name(example: Example):
    """Validate said "Success" on a notebook that then scored 0 in "allowed APIs only"."""
    message = sanity_failure(run_notebook(example.part, example.code))
    api = example.expect if example.expect != "does not allow" else example.name.split()[0]
    assert message.startswith("expected plain tensor operations, but your "), message
    assert api in message, message
    assert "does not allow" in message, message


@pytest.mark.parametrize("part", PARTS)
def test_every_visible_check_failure_says_expected_and_found_in_one_short_line(part):
    """Every mistake of the part that a visible check catches: one line, "expected ..., but ...", short."""
    caught = 0
    for example in (m for m in MISTAKES if m.part == part):
        error = run_notebook(part, example.code)
        if error is None or type(error).__name__ != "SanityCheckFailed":
            continue  # invisible to the visible checks, or the mistake's own exception (NotImplementedError)
        caught += 1
        message = str(error)
        assert "\n" not in message, (example.name, message)
        assert len(message) <= SHORT, (example.name, message)
        assert message.startswith("expected "), (example.name, message)
        assert ", but " in message, (example.name, message)
        claim, found = message.removeprefix("expected ").split(", but ", 1)
        assert claim.strip(), (example.name, message)
        assert found.strip(), (example.name, message)
    assert caught >= 2, f"the visible checks of {part} catch {caught} of its named mistakes"


@pytest.mark.parametrize("part", PARTS)
def test_the_reference_and_every_correct_variant_pass_the_visible_checks(part):
    """The guard against forbidden APIs sees every torch call: it must stop none of a correct answer's."""
    for example in [Example("reference", part, reference_code(part), "full"), *(c for c in CORRECT if c.part == part)]:
        error = run_notebook(part, example.code)
        assert error is None, (example.name, repr(error))
