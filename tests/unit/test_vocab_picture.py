"""Does the vocab picture show the student's own result (their tokenize with their build_vocab), and say so?"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from autograder.suites import vocab
from autograder.suites.notebook_data import CORPUS
from solutions.vocab import build_vocab, tokenize

EXPECTED = tokenize(CORPUS, build_vocab(CORPUS, 11))


@pytest.fixture
def drawn(monkeypatch):
    panels = []

    def heatmaps(plt, shown, **kw):
        panels.extend(shown)
        return plt.figure()

    monkeypatch.setattr(vocab, "heatmaps", heatmaps)
    return panels


def test_the_picture_is_the_students_own_tokenize_with_their_own_vocabulary(drawn):
    alphabetical = EXPECTED.clone()
    alphabetical[0, 0] = 9  # their build_vocab numbered a word differently: their own matrix shows it
    kept = {"tokens": {"corpus": CORPUS, "got": EXPECTED, "expected": EXPECTED, "own": (alphabetical, "")}}
    (picture,) = vocab.pictures(kept, plt)
    assert (
        picture["title"]
        == "tokenize on the notebook's corpus (your build_vocab and tokenize) beside the expected matrix"
    )
    (title, mine), (_, expected) = drawn
    assert title == "yours: your tokenize with your\nbuild_vocab(corpus, 11)"
    assert torch.equal(mine, alphabetical.double())
    assert torch.equal(expected, EXPECTED)


def test_without_a_vocabulary_of_theirs_the_picture_says_it_uses_the_references(drawn):
    failed = "build_vocab is not implemented yet: it raises NotImplementedError"
    kept = {"tokens": {"corpus": CORPUS, "got": EXPECTED, "expected": EXPECTED, "own": (None, failed)}}
    (picture,) = vocab.pictures(kept, plt)
    assert "(your tokenize, with the reference's vocabulary)" in picture["title"]
    (title, mine), _ = drawn
    assert title.replace("\n", " ") == f"your tokenize with the reference's vocabulary ({failed})"
    assert torch.equal(mine, EXPECTED.double())
