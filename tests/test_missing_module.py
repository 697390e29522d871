"""Is a module-level import of a package the grader lacks named once, as the cause, instead of a NameError per check?

Real grading (the sandbox, the suites) of a ``.py`` file and of a notebook whose answers import
``scipy`` and ``nltk``, which the grader does not have: the part's first note names the module and
what the grader has; each check that fails for it points to that note; the checks that do not use
the module still pass. A line that raises ModuleNotFoundError without being an import stays an
ordinary note.
"""

import importlib.util

import nbformat
import pytest

from autograder.dev.examples import notebook, reference_code
from autograder.grade import grade
from autograder.sandbox.student import GRADER_HAS

pytestmark = pytest.mark.slow

ABSENT = ("scipy", "nltk")


@pytest.fixture(autouse=True, scope="module")
def _the_modules_are_absent():
    present = [m for m in ABSENT if importlib.util.find_spec(m) is not None]
    if present:
        pytest.fail(f"this test needs a grader without {present}: they are installed in this environment")


def with_scipy_kernel(code: str) -> str:
    """The smoother reference, its Gaussian density taken from scipy (imported at the top, with another import)."""
    code = code.replace("import torch\n", "import collections, scipy.stats as stats\nimport torch\n", 1)
    old = "    density = torch.exp(-0.5 * (offsets / sigma) ** 2)  # (K,), unnormalised"
    assert old in code
    return code.replace(old, "    density = torch.as_tensor(stats.norm.pdf(offsets.numpy(), scale=sigma)).float()", 1)


def with_nltk_split(code: str) -> str:
    """The vocab reference, its tokenize splitting with nltk (``from nltk import ...`` in the answer)."""
    code = "from nltk.tokenize import word_tokenize as split_words\n" + code
    old = "    rows = [[vocab[word] for word in sentence.split()] for sentence in corpus]"
    assert old in code, "the vocab reference changed: update this test"
    return code.replace(old, "    rows = [[vocab[word] for word in split_words(sentence)] for sentence in corpus]", 1)


def failed_messages(part_result) -> list[str]:
    return [c.message for c in part_result.checks if c.failed]


def assert_named_once(part_result, module: str, names: str, function: str) -> None:
    causes = [n for n in part_result.notes if n.startswith(f"No module named '{module}'")]
    assert len(causes) == 1, part_result.notes
    assert part_result.notes[0] == causes[0], "the cause comes first"
    assert f"the grader has {GRADER_HAS}, not {module}" in causes[0]
    assert f"{names} is not defined" in causes[0]
    failed = failed_messages(part_result)
    assert failed, "the checks that use the module fail"
    assert all(m == f"{function} needs {module}, which the grader does not have (see the note)" for m in failed), failed
    assert not any("NameError" in m for m in failed)
    assert not any("NameError" in n or "ModuleNotFoundError" in n for n in part_result.notes), part_result.notes


def test_a_py_file_and_a_notebook_that_import_what_the_grader_lacks(tmp_path):
    smoother = tmp_path / "scipy_smoother.py"
    smoother.write_text(with_scipy_kernel(reference_code("smoother")))
    vocab = tmp_path / "nltk_vocab.ipynb"
    nbformat.write(notebook("vocab", with_nltk_split(reference_code("vocab"))), vocab)
    stray = tmp_path / "raises_module_not_found.py"
    stray.write_text(
        reference_code("smoother") + "\nraise ModuleNotFoundError(\"No module named 'torch'\")\n"
    )  # not an import: an ordinary note, the rest graded

    report = grade(submissions=[smoother, vocab, stray], jobs=1, progress=False)
    by_name = {r.path.rsplit("/", 1)[-1]: r for r in report.submissions}

    (kernel_part,) = by_name["scipy_smoother.py"].parts
    assert_named_once(kernel_part, "scipy", "`stats`", "gaussian_kernel")
    assert "line 6" in kernel_part.notes[0]
    assert any(c.passed for c in kernel_part.checks if c.name.startswith("smooth "))

    (vocab_part,) = by_name["nltk_vocab.ipynb"].parts
    assert_named_once(vocab_part, "nltk", "`split_words`", "tokenize")
    assert "answer cell 1" in vocab_part.notes[0]
    assert any(c.passed for c in vocab_part.checks if c.name.startswith("build_vocab "))

    (stray_part,) = by_name["raises_module_not_found.py"].parts
    assert stray_part.score == stray_part.max_score
    assert any("raised ModuleNotFoundError" in n for n in stray_part.notes), stray_part.notes
