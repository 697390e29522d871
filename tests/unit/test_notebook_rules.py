"""Is every rule the hidden suites grade stated in the student's notebook?

Students lost points for rules that only EXERCISES.md stated (a corpus's own ``<pad>`` and ``<unk>``
words). Here the suites are collected as the grader collects them, and every group of points and
every edge case they grade is mapped to the words of the released notebook that state it: a group
to its bullet, "**name** (N points)", with the points of the suite's ``POINTS``; an edge case (a
check of "edge cases and bad input", one per parameter) to a phrase of the notebook's text (its
markdown and the docstrings of its answer cells). A check that no phrase covers, a phrase the
notebook does not say, and a phrase for a check that no longer exists all fail.
"""

import ast
import os
import re

import pytest

from autograder.nbgrader.notebooks import read_assignment
from autograder.parts import PARTS, SUITES
from autograder.suites import plugin as suite_plugin

EDGE = "edge cases and bad input"

#: (part, edge-case check as "test name[parameter id]") -> the words of the notebook that state it.
EDGE_CASES = {
    ("smoother", "test_gaussian_kernel_rejects_bad_arguments[size=0]"): "with a size of 0 or below",
    ("smoother", "test_gaussian_kernel_rejects_bad_arguments[size=-2]"): "with a size of 0 or below",
    ("smoother", "test_gaussian_kernel_rejects_bad_arguments[sigma=0]"): "sigma of 0 or below (each raises `ValueError`)",
    ("smoother", "test_gaussian_kernel_rejects_bad_arguments[sigma=-1.5]"): "sigma of 0 or below (each raises `ValueError`)",
    ("smoother", "test_gaussian_kernel_wide_sigma_is_nearly_flat"): "a very wide sigma (a nearly flat kernel that still sums to 1)",
    ("smoother", "test_smooth_edge_lengths[kernel of 1]"): "`smooth` with a kernel of size 1",
    ("smoother", "test_smooth_edge_lengths[K = L]"): "with a kernel as long as the signal",
    ("smoother", "test_smooth_edge_lengths[L = 1]"): "with a signal of length 1",
    ("vocab", "test_build_vocab_rejects_max_size_below_2[max_size=1]"): "with a `max_size` below 2 (1, 0 or negative: `ValueError`)",
    ("vocab", "test_build_vocab_rejects_max_size_below_2[max_size=0]"): "with a `max_size` below 2 (1, 0 or negative: `ValueError`)",
    ("vocab", "test_build_vocab_rejects_max_size_below_2[max_size=-3]"): "with a `max_size` below 2 (1, 0 or negative: `ValueError`)",
    ("vocab", "test_build_vocab_edge_cases[empty corpus]"): "`build_vocab` with a `max_size` below 2 (1, 0 or negative: `ValueError`), with `max_size=2` (only the two specials), on an empty corpus",
    ("vocab", "test_build_vocab_edge_cases[max_size=2]"): "with `max_size=2` (only the two specials)",
    ("vocab", "test_build_vocab_edge_cases[with an empty sentence]"): "on a corpus with an empty sentence",
    ("vocab", "test_build_vocab_edge_cases[the words '<pad>' and '<unk>']"): 'a corpus word that is `"<pad>"` or `"<unk>"` itself is not counted as a word: the specials keep indices 0 and 1 and are never in the vocabulary twice',
    ("vocab", "test_build_vocab_edge_cases[extra spaces]"): "on sentences with extra spaces or tabs (`split()` ignores them)",
    ("vocab", "test_unknown_words_are_not_added"): "looking up unknown words (each gives 1, and the vocabulary does not grow)",
    ("vocab", "test_tokenize_edge_cases[empty corpus]"): "`tokenize` on an empty corpus",
    ("vocab", "test_tokenize_edge_cases[one empty sentence]"): "on one empty sentence",
    ("vocab", "test_tokenize_edge_cases[empty sentences around]"): "on empty sentences around a real one",
    ("vocab", "test_tokenize_edge_cases[only unknown words]"): "on sentences of only unknown words",
    ("vocab", "test_tokenize_edge_cases[extra spaces]"): "and on sentences with extra spaces.",
    ("attention", "test_rows_with_every_key_masked_give_zeros[3-D]"): "rows whose keys are all masked, in 3-D and in 4-D (weights 0 and output 0, never `NaN`)",
    ("attention", "test_rows_with_every_key_masked_give_zeros[4-D]"): "rows whose keys are all masked, in 3-D and in 4-D (weights 0 and output 0, never `NaN`)",
    ("attention", "test_a_mask_of_all_false_changes_nothing"): "a mask that is all False (the same result as no mask)",
    ("attention", "test_a_single_key"): "a single key (S = 1)",
    ("masking", "test_heads_must_divide_the_embedding[E=4, H=3]"): "a `num_heads` that does not divide `embed_dim` (4 and 3, 10 and 4, 6 and 4)",
    ("masking", "test_heads_must_divide_the_embedding[E=10, H=4]"): "a `num_heads` that does not divide `embed_dim` (4 and 3, 10 and 4, 6 and 4)",
    ("masking", "test_heads_must_divide_the_embedding[E=6, H=4]"): "a `num_heads` that does not divide `embed_dim` (4 and 3, 10 and 4, 6 and 4)",
    ("masking", "test_heads_must_divide_the_embedding[E=8, H=0]"): "or that is 0 or below (each raises `ValueError`)",
    ("masking", "test_heads_must_divide_the_embedding[E=8, H=-2]"): "or that is 0 or below (each raises `ValueError`)",
    ("masking", "test_multi_head_attention_edge_cases[a sentence all padding]"): "a sentence that is all padding",
    ("masking", "test_multi_head_attention_edge_cases[one head]"): "one head;",
    ("masking", "test_multi_head_attention_edge_cases[heads of size 1]"): "heads of size 1 (as many heads as features)",
    ("masking", "test_multi_head_attention_edge_cases[batch of 1, length 1]"): "a batch of one sentence of length 1, without a mask",
}  # fmt: skip


class Collector:
    """Records the suites' checks as the grader collects them; runs none."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_configure(self, config) -> None:
        config.addinivalue_line("markers", "group(name): the group of points a check belongs to")

    def pytest_collection_modifyitems(self, session, config, items) -> None:
        self.items = list(items)


@pytest.fixture(scope="module")
def checks() -> list[tuple[str, str, str]]:
    """(part, group, check) of every check of the suites; the check named without its device."""
    collector = Collector()
    args = [str(part.suite_path) for part in PARTS.values()]
    args += ["--collect-only", "-q", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(SUITES)]
    code = pytest.main([*args, "--import-mode=importlib"], plugins=[collector, suite_plugin])
    assert code == 0, "the suites did not collect"
    assert collector.items, "the suites hold no check"
    found = []
    for item in collector.items:
        part = next(p for p in PARTS if PARTS[p].suite_path == item.path)
        group = item.get_closest_marker("group").args[0]
        callspec = getattr(item, "callspec", None)
        ids = callspec.id if callspec else ""
        device = callspec.params.get("device") if callspec else None
        if device:  # one rule, whatever device it runs on
            ids = re.sub(rf"(^|-){re.escape(str(device))}(-|$)", lambda m: "-" if m[1] and m[2] else "", ids)
        found.append((part, group, f"{item.originalname}[{ids}]" if ids else item.originalname))
    return found


def notebook_text(part: str) -> str:
    """What a student reads: the markdown and the answer cells' docstrings, every run of whitespace one space."""
    texts = []
    for cell in read_assignment(part).cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        elif cell.metadata.get("nbgrader", {}).get("solution"):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                    texts.append(ast.get_docstring(node))
    return " ".join(" ".join(texts).split())


def points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


@pytest.mark.parametrize("part", PARTS)
def test_every_group_is_stated_with_its_points(part, checks):
    """Each group of the suite's POINTS, and each group a check names, has its bullet with the same points."""
    from autograder.parts import suite_module

    text = notebook_text(part)
    groups = suite_module(part).POINTS
    missing = [
        f"**{group}** ({points(value)})"
        for group, value in groups.items()
        if f"**{group}** ({points(value)})" not in text
    ]
    assert not missing, f"the {part} notebook does not state these groups with their points: {missing}"
    assert {g for p, g, _ in checks if p == part} <= set(groups)


@pytest.mark.parametrize("part", PARTS)
def test_every_edge_case_is_stated(part, checks):
    """Each check of "edge cases and bad input", one per parameter, is mapped to words the notebook says."""
    graded = {check for p, group, check in checks if p == part and group == EDGE}
    mapped = {check for p, check in EDGE_CASES if p == part}
    assert not graded - mapped, f"graded edge cases of {part} that no phrase of its notebook states: {graded - mapped}"
    assert not mapped - graded, f"phrases for edge cases of {part} that no check grades (any more): {mapped - graded}"
    text = notebook_text(part)
    unsaid = {check: phrase for (p, check), phrase in EDGE_CASES.items() if p == part and phrase not in text}
    assert not unsaid, f"the {part} notebook does not say: {unsaid}"


def test_the_edge_cases_are_listed_under_their_own_heading():
    """A student looks for "edge cases" in the notebook: every notebook lists them in one paragraph."""
    for part in PARTS:
        assert re.search(r"\*\*Edge cases( and bad input)?\*\*, each one checked: ", notebook_text(part)), part
