"""Hidden suite of part 2, vocab: build_vocab (and the Vocab it returns) and tokenize."""

import functools
import random
import textwrap
from collections import Counter

import pytest
import torch

from autograder.sandbox.student import Remote, StudentError, StudentFailure
from autograder.sandbox.wire import Lookup
from autograder.suites.compare import CheckFailed, Mistake, describe, difference, expect_same, gate
from autograder.suites.kit import expect_error, expect_fast
from autograder.suites.notebook_data import CORPUS as NOTEBOOK
from autograder.suites.pictures import drawable, heatmaps, png, why
from autograder.suites.plugin import group
from solutions.vocab import build_vocab, tokenize

POINTS = {
    "matches the reference": 4.0,
    "shapes and dtypes": 1.5,
    "edge cases and bad input": 2.5,
    # a list the student's code changed is seen only inside the sandbox: said, never scored
    "inputs unchanged (not scored)": 0.0,
    "speed": 2.0,
}

SHOWN = {*(w for s in NOTEBOOK for w in s.split()), "<pad>", "<unk>"}  # what the student has seen
#: Words of the hidden corpora: no message shows them (the plugin hides them, whoever wrote the message).
HIDDEN: set[str] = set()
SYLLABLES = ["ba", "de", "ik", "op", "zit", "werk", "nk", "is", "het", "ru", "la", "mo", "ven", "tor"]


def random_corpus(seed: int, sentences: int = 14, distinct: int = 30, longest: int = 9) -> list[str]:
    """Zipf-like sentences with ties, capitals and punctuation, so that cleaning would show."""
    rng = random.Random(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < distinct:
        word = rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
        word = rng.choice([word, word, word, word.capitalize(), word + ","])
        if word in seen:
            word += str(len(words))
        seen.add(word)
        words.append(word)
    weights = [1 / (rank + 1) for rank in range(distinct)]
    HIDDEN.update(w for w in words if w not in SHOWN)
    return [" ".join(rng.choices(words, weights, k=rng.randint(1, longest))) for _ in range(sentences)]


def probes(corpus: list[str]) -> list[str]:
    """Every word of the corpus, the specials, and words it does not have."""
    seen = dict.fromkeys(w for s in corpus for w in s.split())
    return [*seen, "<pad>", "<unk>", "nooit-gezien", "", "BANK"]


# ---------------------------------------------------------------- naming words without showing them


def word_label(word: str, corpus: list[str]) -> str:
    """A word as a message may name it: itself if the student saw it (the notebook, the specials), else
    by its rank in the hidden corpus."""
    if word in SHOWN:
        return repr(word)
    words = [w for s in corpus for w in s.split()]
    if word not in words:
        return "a word the corpus does not have"
    counts = Counter(words)
    ranked = sorted(counts, key=lambda w: (-counts[w], words.index(w)))
    return f"number {ranked.index(word) + 1} of the corpus by frequency, seen {counts[word]} times"


# ---------------------------------------------------------------- the student's vocabulary


def observe(student, v, words: list[str], corpus: list[str] = ()) -> tuple[list, object, list]:
    """(v[w] for each word, len(v), w in v for each word) of the student's vocabulary."""
    if isinstance(v, dict):  # a plain dict came back: Python's own semantics, run here
        return [v[w] if w in v else _key_error(w, corpus) for w in words], len(v), [w in v for w in words]
    if not isinstance(v, Remote):
        raise CheckFailed(f"build_vocab should return a vocabulary object, got {describe(v)}")
    try:
        return student.lookup(v, words), student.len(v), student.lookup(v, words, how="contains")
    except StudentError as error:
        if error.isinstance("KeyError"):
            raise CheckFailed(str(error), "unknown words must give 1 ('<unk>'), never KeyError") from None
        raise


def _key_error(word, corpus):
    raise CheckFailed(f"looking up {word_label(word, list(corpus))} raised KeyError: unknown words must give 1 (<unk>)")


def reference_view(corpus, max_size, words):
    ref = build_vocab(corpus, max_size)
    return [ref[w] for w in words], len(ref), [w in ref for w in words]


def ordered_view(entries: list[str], unk: int, words: list[str]):
    """The view of a vocabulary given as its entries in index order."""
    index = {w: i for i, w in enumerate(entries)}
    return [index.get(w, unk) for w in words], len(entries), [w in index for w in words]


def _words(corpus):
    return [w for s in corpus for w in s.split()]


def _by(corpus, max_size, key, keep=None, specials=("<pad>", "<unk>")):
    counts = Counter(_words(corpus))
    first = {}
    last = {}
    for i, w in enumerate(_words(corpus)):
        first.setdefault(w, i)
        last[w] = i
    ordered = sorted(counts, key=lambda w: key(w, counts, first, last))
    keep = max_size - 2 if keep is None else keep
    return [*specials, *ordered[: max(keep, 0)]]


VOCAB_MISTAKES = [
    Mistake(
        "words of equal frequency are sorted alphabetically; ties must keep their order of first appearance "
        "(Counter.most_common does)",
        lambda c, m: _by(c, m, lambda w, n, f, last: (-n[w], w)),
    ),
    Mistake(
        "ties are broken by last appearance; they must keep their order of first appearance",
        lambda c, m: _by(c, m, lambda w, n, f, last: (-n[w], -last[w])),
    ),
    Mistake(
        "words are numbered in order of first appearance; they must be ordered by frequency, most frequent "
        'first (that is why "bank" is 3, not 6)',
        lambda c, m: _by(c, m, lambda w, n, f, last: f[w]),
    ),
    Mistake(
        "the least frequent words come first; order by descending frequency",
        lambda c, m: _by(c, m, lambda w, n, f, last: (n[w], f[w])),
    ),
    Mistake(
        "the two specials are swapped: '<pad>' must be 0 and '<unk>' 1",
        lambda c, m: _by(c, m, lambda w, n, f, last: (-n[w], f[w]), specials=("<unk>", "<pad>")),
    ),
    Mistake(
        "max_size must count the two specials: keep max_size - 2 words, so that len(v) == max_size",
        lambda c, m: _by(c, m, lambda w, n, f, last: (-n[w], f[w]), keep=m),
    ),
    Mistake(
        "one word too few or too many is kept: max_size - 2 words, so that len(v) == max_size",
        lambda c, m: _by(c, m, lambda w, n, f, last: (-n[w], f[w]), keep=m - 1),
    ),
    Mistake(
        "words are lower-cased or cleaned: take sentence.split() as it is",
        lambda c, m: _by([s.lower().replace(",", "") for s in c], m, lambda w, n, f, last: (-n[w], f[w])),
    ),
]


def compare_vocab(student, corpus, max_size, call: str) -> None:
    words = probes(corpus)
    v = student.call("build_vocab", corpus, max_size)
    got = observe(student, v, words, corpus)
    expected = reference_view(corpus, max_size, words)
    for label, g, e in zip(("v[word]", "len(v)", "word in v"), got, expected):
        if label == "len(v)":
            if g != e:
                raise CheckFailed(f"{call}: len(v) should be {e}, got {g!r}", hint_for(got, corpus, max_size, words))
            continue
        for word, gw, ew in zip(words, g, e):
            if gw != ew or type(gw) is not type(ew):
                raise CheckFailed(
                    f"{call}: {label} should be {ew!r}, got {gw!r} (the word: {word_label(word, corpus)})",
                    hint_for(got, corpus, max_size, words),
                )


def expect_vocab(student, v, corpus, max_size, call: str, check: str, reference=None) -> None:
    """A gate: the vocabulary ``v`` must be right for ``check`` to count (``reference``: the reference's, if built)."""
    words = probes(corpus)[:300]
    ref = reference if reference is not None else build_vocab(corpus, max_size)
    got, expected = observe(student, v, words, corpus), ([ref[w] for w in words], len(ref))
    if list(got[0]) != expected[0] or got[1] != expected[1]:
        raise CheckFailed(f"{call}: the vocabulary is wrong; {check} counts only for a right one")


def hint_for(got, corpus, max_size, words) -> str:
    for mistake in VOCAB_MISTAKES:
        hint, entries = mistake.hint, mistake.fn(corpus, max_size)
        unk = entries.index("<unk>")
        view = ordered_view(entries, unk, words)
        if list(got[0]) == view[0] and got[1] == view[1]:
            return hint
    if any(g is True for g in got[2][-3:]):
        return "'word in v' must be False for words that were not kept"
    return ""


# ---------------------------------------------------------------- tokenize


def reference_lookup(corpus: list[str], max_size: int) -> Lookup:
    """The reference vocabulary as plain data: a map that answers '<unk>' for unknown words."""
    ref = build_vocab(corpus, max_size)
    return Lookup(ref.index, default=ref["<unk>"])


def _rows(corpus, v):
    return [[v[w] for w in s.split()] for s in corpus]


def _padded(rows, width, pad, left=False):
    out = [([pad] * (width - len(r)) + r) if left else (r + [pad] * (width - len(r))) for r in rows]
    return torch.tensor(out, dtype=torch.int64).reshape(len(rows), width)


TOKENIZE_MISTAKES = [
    Mistake(
        "the padding is on the left: pad on the right",
        lambda c, v: _padded(_rows(c, v), max((len(s.split()) for s in c), default=0), v["<pad>"], left=True),
    ),
    Mistake(
        "the rows are padded with '<unk>': pad with vocab['<pad>']",
        lambda c, v: _padded(_rows(c, v), max((len(s.split()) for s in c), default=0), v["<unk>"]),
    ),
    Mistake(
        "unknown words became padding: they must become vocab['<unk>']",
        lambda c, v: _padded(
            [[v[w] if w in v else v["<pad>"] for w in s.split()] for s in c],
            max((len(s.split()) for s in c), default=0),
            v["<pad>"],
        ),
    ),
    Mistake(
        "the tokens are not int64: build the tensor with dtype=torch.int64 (torch.long)",
        lambda c, v: tokenize(c, v).to(torch.int32),
    ),
    Mistake(
        "the tokens are not int64: build the tensor with dtype=torch.int64 (torch.long)",
        lambda c, v: tokenize(c, v).to(torch.float32),
    ),
]


def compare_tokens(student, corpus, mapping, call):
    got = student.call("tokenize", corpus, mapping)
    expect_same(got, tokenize(corpus, mapping), call=call, mistakes=TOKENIZE_MISTAKES, args=(corpus, mapping))
    return got


# ---------------------------------------------------------------- matches the reference


@group("matches the reference")
def test_build_vocab_on_the_notebook_corpus(student):
    """build_vocab on the notebook's corpus (v["bank"] == 3, len 11)"""
    compare_vocab(student, NOTEBOOK, 11, "build_vocab(notebook corpus, 11)")


@group("matches the reference")
@pytest.mark.parametrize("max_size", [6, 12, 40], ids=["max_size=6", "max_size=12", "max_size=40 (all words)"])
def test_build_vocab_matches_the_reference(student, max_size, seed):
    """build_vocab matches the reference"""
    corpus = random_corpus(seed)
    compare_vocab(student, corpus, max_size, f"build_vocab(a corpus of {len(corpus)} sentences, {max_size})")


@group("matches the reference")
def test_tokenize_the_notebook_corpus(student, keep):
    """tokenize the notebook's corpus"""
    mapping = reference_lookup(NOTEBOOK, 11)
    got = student.call("tokenize", NOTEBOOK, mapping)
    expected = tokenize(NOTEBOOK, mapping)
    keep("tokens", corpus=NOTEBOOK, got=got, expected=expected, own=own_tokens(student))
    expect_same(
        got,
        expected,
        call="tokenize(notebook corpus, vocab)",
        mistakes=TOKENIZE_MISTAKES,
        args=(NOTEBOOK, mapping),
    )


@group("matches the reference")
@pytest.mark.parametrize("max_size", [5, 20], ids=["many unknown words", "few unknown words"])
def test_tokenize_matches_the_reference(student, max_size, seed):
    """tokenize matches the reference"""
    corpus = random_corpus(seed)
    compare_tokens(
        student, corpus, reference_lookup(corpus, max_size), f"tokenize(a corpus of {len(corpus)} sentences, vocab)"
    )


# ---------------------------------------------------------------- shapes and dtypes


@group("shapes and dtypes")
def test_lookups_give_python_ints(student):
    """v[word] and len(v) are ints"""
    words = probes(NOTEBOOK)
    got = observe(student, student.call("build_vocab", NOTEBOOK, 11), words)
    for word, value in zip(words, got[0]):
        if type(value) is not int:
            raise CheckFailed(f"v[{word!r}] should be an int, got {describe(value)}")
    if type(got[1]) is not int:
        raise CheckFailed(f"len(v) should be an int, got {describe(got[1])}")


@group("shapes and dtypes")
@pytest.mark.parametrize("corpus", ["notebook", "random"])
def test_tokenize_gives_int64_of_shape_n_by_longest(student, corpus, seed):
    """tokenize gives int64 of shape (sentences, longest sentence)"""
    sentences = NOTEBOOK if corpus == "notebook" else random_corpus(seed, sentences=5)
    mapping = reference_lookup(sentences, 11)
    got = student.call("tokenize", sentences, mapping)
    expected = tokenize(sentences, mapping)
    if not isinstance(got, torch.Tensor) or got.dtype != torch.int64 or got.shape != expected.shape:
        raise CheckFailed(
            f"tokenize({len(sentences)} sentences, vocab): {difference(got, expected)}",
            "build the result with torch.tensor(rows, dtype=torch.int64)",
        )


# ---------------------------------------------------------------- edge cases and bad input


@group("edge cases and bad input")
@pytest.mark.parametrize("max_size", [1, 0, -3], ids=["max_size=1", "max_size=0", "max_size=-3"])
def test_build_vocab_rejects_max_size_below_2(student, max_size):
    """build_vocab raises ValueError for max_size < 2"""
    expect_error(student, "build_vocab", NOTEBOOK, max_size, what=f"build_vocab(corpus, {max_size})")


@group("edge cases and bad input")
@pytest.mark.parametrize(
    ("corpus", "max_size"),
    [([], 5), (NOTEBOOK, 2), (["een twee een", ""], 10)],
    ids=["empty corpus", "max_size=2", "with an empty sentence"],
)
def test_build_vocab_edge_cases(student, corpus, max_size):
    """build_vocab on the smallest inputs"""
    compare_vocab(student, corpus, max_size, f"build_vocab({describe(corpus)}, {max_size})")


@group("edge cases and bad input")
def test_unknown_words_are_not_added(student):
    """looking up unknown words neither fails nor adds them"""
    v = student.call("build_vocab", NOTEBOOK, 11)
    unknown = ["test", "nooit", "BANK", "bank."]
    before = observe(student, v, unknown)
    after = observe(student, v, unknown)
    if before[1] != 11 or after[1] != 11:
        raise CheckFailed(
            f"len(v) should stay 11 after looking up unknown words, went from {before[1]!r} to {after[1]!r}",
            "a defaultdict adds every word it is asked for: use dict.get(word, 1) or __missing__ without storing",
        )
    if after[0] != [1] * 4 or after[2] != [False] * 4:
        raise CheckFailed(f"unknown words should give 1 and not be 'in' v, got {after[0]} and {after[2]}")


@group("edge cases and bad input")
@pytest.mark.parametrize(
    "corpus",
    [[], [""], ["", "ik zit", ""], ["onbekend woord hier"]],
    ids=["empty corpus", "one empty sentence", "empty sentences around", "only unknown words"],
)
def test_tokenize_edge_cases(student, corpus):
    """tokenize on empty and unknown input"""
    compare_tokens(student, corpus, reference_lookup(NOTEBOOK, 11), f"tokenize({describe(corpus)}, vocab)")


# ---------------------------------------------------------------- inputs unchanged


@group("inputs unchanged (not scored)")
@pytest.mark.parametrize("name", ["build_vocab", "tokenize"])
def test_the_corpus_is_left_unchanged(student, name, seed):
    """the corpus is left unchanged"""
    corpus = random_corpus(seed)
    second = 11 if name == "build_vocab" else reference_lookup(corpus, 11)
    outcome = student.run(name, corpus, second)
    call = f"{name}(a corpus of {len(corpus)} sentences, ...)"
    if name == "tokenize":
        gate(outcome.value, tokenize(corpus, second), call, "leaving the corpus unchanged")
    else:
        expect_vocab(student, outcome.value, corpus, 11, call, "leaving the corpus unchanged")
    if outcome.reported_changes:
        raise CheckFailed(
            f"{name} changed the corpus (or another argument) it was given",
            "build new lists (words = sentence.split()) instead of changing the corpus in place",
        )


# ---------------------------------------------------------------- speed


@functools.lru_cache(maxsize=16)
def big_corpus(seed: int) -> list[str]:
    return random_corpus(seed, sentences=3000, distinct=1500, longest=12)


@group("speed")
def test_build_vocab_counts_in_one_pass(student, seed):
    """build_vocab is about as fast as counting in one pass"""
    expect_fast(
        student,
        "build_vocab",
        lambda k: (big_corpus(seed + k), 1000),
        build_vocab,
        device="cpu",
        call="build_vocab(3000 sentences, 1000)",
        slack=0.05,
        per_round=2,
        cause="counting each word with list.count or sorting by corpus.index is quadratic: use collections.Counter",
        verify=lambda got, args, ref: expect_vocab(
            student, got, *args, "build_vocab(3000 sentences, 1000)", "speed", ref
        ),
    )


@group("speed")
def test_tokenize_is_linear(student, seed):
    """tokenize is about as fast as the reference"""

    def make_input(k: int) -> tuple:
        corpus = big_corpus(seed + k)
        return corpus, reference_lookup(corpus, 1000)

    expect_fast(
        student,
        "tokenize",
        make_input,
        tokenize,
        device="cpu",
        call="tokenize(3000 sentences, vocab)",
        slack=0.05,
        per_round=2,
        cause="build the rows as Python lists and make one tensor at the end",
    )


# ---------------------------------------------------------------- feedback pictures


def own_tokens(student) -> tuple[object, str]:
    """For the picture: ``tokenize(corpus, build_vocab(corpus, 11))`` of the notebook, both the student's, as
    their notebook makes it; else (None, why their build_vocab gave no vocabulary). Never scored."""
    try:
        v = student.call("build_vocab", NOTEBOOK, 11)
        if not isinstance(v, (Remote, dict)):
            return None, f"your build_vocab gave {describe(v)}"
        return student.call("tokenize", NOTEBOOK, v), ""
    except StudentFailure as error:
        return None, str(error)


def pictures(kept: dict, plt) -> list[dict]:
    if "tokens" not in kept:
        return []
    data = kept["tokens"]
    expected = data["expected"]
    own, failed = data.get("own", (None, "not run"))
    if own is None:  # their build_vocab gave no vocabulary: their tokenize with the reference's, said so
        shown, title = data["got"], f"your tokenize with the reference's vocabulary ({failed})"
    else:
        shown, title = own, "yours: your tokenize with your build_vocab(corpus, 11)"
    got = drawable(shown, expected.shape)
    words = [s.split() + ["<pad>"] * (expected.shape[1] - len(s.split())) for s in data["corpus"]]
    title = "\n".join(textwrap.wrap(title if got is not None else f"{title}: {why(shown, expected)}", 48))
    panels = [(title, got), ("expected: the reference's tokenize and build_vocab", expected)]
    fig = heatmaps(plt, panels, annotate=True, words=words)
    said = "your build_vocab and tokenize" if own is not None else "your tokenize, with the reference's vocabulary"
    return [{"title": f"tokenize on the notebook's corpus ({said}) beside the expected matrix", "png": png(fig)}]


# ---------------------------------------------------------------- for the benchmark

#: The test cell a conventional course would write for this part: inline asserts on the notebook's
#: examples, run by nbgrader in a Jupyter kernel (``make bench`` compares that way with ours).
INLINE_TESTS = """
v = build_vocab(corpus, max_size=11)
assert (v["bank"], v["test"], len(v)) == (3, 1, 11)
assert tokenize(corpus, v).tolist() == [[4, 6, 7, 2, 3, 0, 0], [4, 8, 5, 2, 3, 0, 0], [5, 2, 3, 9, 10, 1, 1]]
assert tokenize(corpus, v).dtype == torch.int64
"""
