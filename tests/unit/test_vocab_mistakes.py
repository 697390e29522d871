"""Does every known mistake of the vocab suite show on the suite's own inputs, and only where it differs?"""

import pytest

from autograder.sandbox.student import StudentError
from autograder.sandbox.wire import Lookup, Words
from autograder.suites import vocab as suite
from autograder.suites.compare import CheckFailed, difference, recognise
from autograder.suites.notebook_data import CORPUS as NOTEBOOK
from solutions.vocab import tokenize

SEEDS = range(3)


def vocab_inputs() -> list[tuple[list[str], int]]:
    """The suite's corpora and sizes: the notebook's, random ones, the edge cases."""
    found = [(NOTEBOOK, 11), *suite.VOCAB_EDGES.values()]
    return found + [(suite.random_corpus(seed), size) for seed in SEEDS for size in (6, 12, 40)]


def tokenize_inputs() -> list[tuple[list[str], object]]:
    """The suite's corpora and vocabularies, those whose '<pad>' and '<unk>' are not 0 and 1 included."""
    found = [(NOTEBOOK, suite.reference_lookup(NOTEBOOK, 11))]
    found += [(corpus, suite.reference_lookup(NOTEBOOK, 11)) for corpus in suite.TOKENIZE_EDGES.values()]
    for seed in SEEDS:
        corpus = suite.random_corpus(seed)
        found += [(corpus, suite.reference_lookup(corpus, size)) for size in (5, 20)]
        found += [(corpus, suite.other_specials(corpus, 8, seed, kind)) for kind in ("dict", "object")]
    return found


@pytest.mark.parametrize("index", range(len(suite.MISTAKES["build_vocab"])))
def test_each_vocab_mistake_is_named_on_some_input_where_it_differs(index):
    mistake, named = suite.MISTAKES["build_vocab"][index], 0
    for corpus, size in vocab_inputs():
        words = suite.probes(corpus)
        expected = suite.reference_view(corpus, size, words)
        wrong = mistake.fn(corpus, size, words)
        if suite.hint_for((*wrong, expected[2]), corpus, size, words, expected) == mistake.hint:
            assert wrong != expected[:2], (corpus, size)
            named += 1
    assert named


@pytest.mark.parametrize("index", range(len(suite.MISTAKES["tokenize"])))
def test_each_tokenize_mistake_is_named_on_some_input_where_it_differs(index):
    mistake, named = suite.MISTAKES["tokenize"][index], 0
    for corpus, vocab in tokenize_inputs():
        wrong, expected = mistake.fn(corpus, vocab), tokenize(corpus, vocab)
        if recognise(wrong, suite.MISTAKES["tokenize"], corpus, vocab, expected=expected) == mistake.hint:
            assert difference(wrong, expected) is not None
            named += 1
    assert named


def test_ties_in_another_order_are_named_as_such():
    """Right counts, ties neither first, last nor alphabetical: an arbitrary order (a set's)."""
    corpus = ["a b c d", "e"]  # five words seen once each
    words = suite.probes(corpus)
    expected = suite.reference_view(corpus, 7, words)
    order = ["<pad>", "<unk>", "c", "a", "e", "d", "b"]
    got = suite.entries_view(order, words)
    assert suite.hint_for((*got, expected[2]), corpus, 7, words, expected) == suite.ANY_TIES


def test_a_vocab_with_the_right_entries_gets_no_hint():
    words = suite.probes(NOTEBOOK)
    expected = suite.reference_view(NOTEBOOK, 11, words)
    assert suite.hint_for(expected, NOTEBOOK, 11, words, expected) == ""


def test_the_specials_of_the_corpus_are_not_words():
    from solutions.vocab import build_vocab

    v = build_vocab(suite.WITH_SPECIALS, 6)
    assert (v["<pad>"], v["<unk>"], len(v)) == (0, 1, 6)
    assert v.words.count("<unk>") == v.words.count("<pad>") == 1


def test_other_specials_are_at_other_indices_and_tokenize_follows_them():
    corpus = suite.random_corpus(0)
    for kind, cls in (("dict", Lookup), ("object", Words)):
        vocab = suite.other_specials(corpus, 8, 0, kind)
        assert type(vocab) is cls
        assert vocab["<pad>"] not in (0, 1)
        assert vocab["<unk>"] not in (0, 1)
        assert vocab["nooit-gezien"] == vocab["<unk>"]
        assert len(vocab) == 8
        tokens = tokenize(corpus, vocab)
        assert (tokens == vocab["<pad>"]).any()


class RaisingStudent:
    def __init__(self, info: dict) -> None:
        self.info = info

    def call(self, *args):
        raise StudentError("tokenize", self.info)


def test_an_error_about_the_vocab_describes_it_without_its_class_name():
    info = {"type": "AttributeError", "message": "'Words' object has no attribute 'get'"}
    with pytest.raises(CheckFailed) as failed:
        suite.call_tokenize(RaisingStudent(info), ["a"], Words({"a": 0}, 1), "tokenize(...)")
    assert "Words" not in failed.value.message
    assert "the vocab has no attribute 'get'" in failed.value.message
    assert "need not be a dict" in failed.value.hint


def test_not_implemented_is_left_to_say_so():
    info = {"type": "NotImplementedError", "types": ["NotImplementedError"], "message": ""}
    with pytest.raises(StudentError, match="not implemented yet"):
        suite.call_tokenize(RaisingStudent(info), ["a"], Words({"a": 0}, 1), "tokenize(...)")


def test_the_random_corpora_are_those_of_the_weights_themselves():
    """The corpora are drawn with the weights' running sums computed once: the same sentences as
    ``random.choices(words, weights)`` gives (every verdict on them stays the same)."""
    import random

    for seed in (0, 7, 123):
        for sentences, distinct, longest in ((14, 30, 9), (5, 30, 9), (300, 1500, 12)):
            rng = random.Random(seed)
            words: list[str] = []
            seen: set[str] = set()
            while len(words) < distinct:  # the suite's words, drawn the same way
                word = rng.choice(suite.SYLLABLES) + rng.choice(suite.SYLLABLES)
                word = rng.choice([word, word, word, word.capitalize(), word + ","])
                if word in seen:
                    word += str(len(words))
                seen.add(word)
                words.append(word)
            weights = [1 / (rank + 1) for rank in range(distinct)]
            expected = [" ".join(rng.choices(words, weights, k=rng.randint(1, longest))) for _ in range(sentences)]
            assert suite.random_corpus(seed, sentences, distinct, longest) == expected
