"""Do the notebooks' visible checks fail every mistake they can see, in short lines, and pass every correct answer?

Validate shows the end of a long traceback, cut off, and cuts every line longer than its width (90
characters with a 4-space indent): the last lines, ``SanityCheckFailed: expected ..., but ...``, must say
what was expected and what was found, by themselves, the first line with the start of both. A
forbidden API fails the checks too, named. The notebooks' code cells run here, in this process, in
order, as a kernel would run them (the answer cells hold an example's code; figures are drawn off
screen and closed); the last test runs the real ``nbgrader validate``.
"""

import signal
import warnings

import matplotlib
import pytest

from autograder.dev.examples import CORRECT, MISTAKES, Example, mutant, notebook, reference_code
from autograder.parts import PARTS

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.slow

#: At most this many characters in a line of a visible check's message: 90 (nbgrader's ``Validator.width``), less
#: its indent (4), its "..." (3) and the "SanityCheckFailed: " before the first line.
SHORT = 90 - 4 - 3 - len("SanityCheckFailed: ")
#: At most this many lines in a visible check's message.
LINES = 3
#: A notebook that runs longer than this many seconds hangs: the test fails instead of waiting for ever.
HANG_S = 300


class NotebookHung(BaseException):
    """Raised by the alarm in a notebook's cell; a BaseException, so that no ``except Exception`` swallows it."""


def _hung(signum, frame):
    raise NotebookHung(f"the notebook still runs after {HANG_S} s")


def run_notebook(part: str, code: str) -> BaseException | None:
    """Run every code cell of ``part``'s notebook with ``code`` in its answer cell; the first exception, or None."""
    namespace: dict = {"__name__": "__main__"}
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(HANG_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plt.show() under Agg says it cannot show
            for cell in notebook(part, code).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"<{part} cell>", "exec"), namespace)
    except Exception as error:
        return error
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
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
    assert message.splitlines()[0].startswith("expected plain tensor operations, but your "), message
    assert api in " ".join(message.split()), message
    assert "which this part does not allow" in " ".join(message.split()), message


@pytest.mark.parametrize("part", PARTS)
def test_every_visible_check_failure_says_expected_and_found_in_one_short_line(part):
    """Every mistake of the part that a visible check catches: one line, "expected ..., but ...", short."""
    caught = 0
    for example in (m for m in MISTAKES if m.part == part):
        error = run_notebook(part, example.code)
        if error is None or type(error).__name__ != "SanityCheckFailed":
            continue  # invisible to the visible checks, or the mistake's own exception (NotImplementedError)
        caught += 1
        lines = str(error).splitlines()
        assert all(len(line) <= SHORT for line in lines), (example.name, lines)
        assert len(lines) <= LINES, (example.name, lines)
        assert lines[0].startswith("expected "), (example.name, lines)
        assert ", but " in lines[0], (example.name, lines)  # the first line: what was expected, and what was found
        claim, found = " ".join(lines).removeprefix("expected ").split(", but ", 1)
        assert claim.strip(), (example.name, lines)
        assert found.strip(), (example.name, lines)
    assert caught >= 2, f"the visible checks of {part} catch {caught} of its named mistakes"


@pytest.mark.parametrize("part", PARTS)
def test_the_reference_and_every_correct_variant_pass_the_visible_checks(part):
    """The guard against forbidden APIs sees every torch call: it must stop none of a correct answer's."""
    for example in [Example("reference", part, reference_code(part), "full"), *(c for c in CORRECT if c.part == part)]:
        error = run_notebook(part, example.code)
        assert error is None, (example.name, repr(error))


def test_nbgrader_validate_fails_on_a_forbidden_api_with_its_name(tmp_path):
    """The real `nbgrader validate` (what the Validate button runs) on a notebook of each part that uses one."""
    import subprocess
    import sys

    import nbformat

    from autograder.nbgrader.notebooks import nbgrader_env

    names = {"attention": "F.scaled_dot_product_attention", "masking": "nn.MultiheadAttention inside"}
    for part, name in names.items():
        mistake = next(m for m in MISTAKES if m.part == part and m.name == name)
        nbformat.write(notebook(part, mistake.code), tmp_path / f"{part}.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "attention.ipynb", "masking.ipynb"],
        cwd=tmp_path, env=nbgrader_env(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Success" not in done.stdout
    assert done.stdout.count("VALIDATION FAILED ON 1 CELL(S)!") == 2, done.stdout[-3000:]
    verdicts = done.stdout.split("VALIDATION FAILED ON 1 CELL(S)!")[1:]
    for verdict, api in zip(verdicts, ["F.scaled_dot_product_attention,", "nn.MultiheadAttention (helper),"]):
        tail = verdict.rstrip().splitlines()
        start = next(i for i, line in enumerate(tail) if line.strip().startswith("SanityCheckFailed: "))
        message = [line.strip() for line in tail[start:]]
        assert message[0] == "SanityCheckFailed: expected plain tensor operations, but your code calls" or message[
            0
        ].startswith("SanityCheckFailed: expected plain tensor operations, but your module"), message
        assert not any(line.endswith("...") for line in message), message  # nothing cut
        assert api in " ".join(message), message
