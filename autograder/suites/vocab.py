"""Hidden suite of part 2, vocab: build_vocab (and the Vocab it returns) and tokenize."""

import functools
import itertools
import random
import re
import textwrap
from collections import Counter
from collections.abc import Callable

import pytest
import torch

from autograder.suites.kit import CORPUS as NOTEBOOK
from autograder.suites.kit import (
    EDGE_CASES,
    MATCHES,
    SHAPES,
    SPEED,
    UNCHANGED,
    CheckFailed,
    Lookup,
    Mistake,
    Mistakes,
    Remote,
    Student,
    StudentError,
    StudentFailure,
    StudentTimeout,
    Words,
    attempted,
    describe,
    difference,
    drawable,
    expect_error,
    expect_fast,
    expect_same,
    gate,
    group,
    heatmaps,
    png,
    quoted,
    recognise,
    why,
)
from solutions.vocab import build_vocab, tokenize

# a list the student's code changed is seen only inside the sandbox: said, never scored
POINTS = {MATCHES: 4.0, SHAPES: 1.5, EDGE_CASES: 2.5, UNCHANGED: 0.5, SPEED: 1.5}

SHOWN = {*(w for s in NOTEBOOK for w in s.split()), "<pad>", "<unk>"}  # what the student has seen
#: Words of the hidden corpora: no message shows them (the plugin hides them, whoever wrote the message).
HIDDEN: set[str] = set()
SYLLABLES = ["ba", "de", "ik", "op", "zit", "werk", "nk", "is", "het", "ru", "la", "mo", "ven", "tor"]
SPECIALS = ("<pad>", "<unk>")
#: How a vocabulary the grader passes in is described: tokenize sees only its interface.
GIVEN = "a plain mapping from words to indices (use `vocab[word]`)"


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
    # the weights' running sums, once: random.choices(words, weights) would sum them again for every sentence
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(distinct)))
    HIDDEN.update(w for w in words if w not in SHOWN)
    return [" ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(1, longest))) for _ in range(sentences)]


def corpus_to_keep(seed: int) -> list[str]:
    """A random corpus with spaces around and between words, and the specials: what cleaning in place changes."""
    words = random_corpus(seed)
    return [f"  {words[0]} ", words[1].replace(" ", "   "), f"<pad> {words[2]} <unk>", *words[3:]]


@functools.lru_cache(maxsize=16)
def big_corpus(seed: int) -> list[str]:
    return random_corpus(seed, sentences=3000, distinct=1500, longest=12)


#: The named corpora of the checks, each built from a seed (the notebook's own ignores it).
CASES: dict[str, Callable[[int], list[str]]] = {
    "notebook corpus": lambda seed: list(NOTEBOOK),
    "a random corpus": random_corpus,
    "five sentences": lambda seed: random_corpus(seed, sentences=5),
    "a corpus to keep": corpus_to_keep,
    "a big corpus": big_corpus,
}


def inputs(case: str, seed: int, dtype=torch.float32, device: str = "cpu") -> list[str]:
    """The corpus ``case`` of ``seed``, a new list each time (text: ``dtype`` and ``device``, the other
    suites' arguments, do not apply)."""
    return list(CASES[case](seed))


#: The notebook's words with the specials among them, the two most frequent words.
WITH_SPECIALS = ["<unk> ik zit op de bank <pad>", "<unk> ik werk <pad> bij de bank", "<unk> de <unk> bank <pad>"]
#: The notebook's words with repeated, leading and trailing spaces and a tab: sentence.split() ignores them.
WITH_SPACES = ["ik  zit op de bank ", "\tik werk  bij de bank", "", " bank"]

PUNCTUATION = ".,;:!?\"'()"

#: How a sentence's words are found: the contract's way, and the slips (names used by the mistakes below).
SPLITS: dict[str, Callable[[str], list[str]]] = {
    "split()": str.split,
    "split(' ')": lambda s: s.split(" "),
    "lower-cased": lambda s: s.lower().split(),
    "stripped": lambda s: [w.strip(PUNCTUATION) for w in s.split()],
    "lower-cased and stripped": lambda s: [w.strip(PUNCTUATION) for w in s.lower().split()],
}


def probes(corpus: list[str]) -> list[str]:
    """Every word of the corpus, the specials, words it does not have, and the corpus's words as the slips
    above would make them (lower-cased, stripped, ''): what a vocabulary is asked about."""
    words, hidden = _probes(tuple(corpus))
    HIDDEN.update(hidden)
    return list(words)


@functools.lru_cache(maxsize=16)  # a speed check asks about each of its corpora several times (its gate, its hints)
def _probes(corpus: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``probes`` of ``corpus``, and the words of them that no message may show."""
    seen = dict.fromkeys(w for s in corpus for w in s.split())
    slips = dict.fromkeys(w for split in SPLITS.values() for s in corpus for w in split(s))
    fixed = ["nooit-gezien", "", "BANK"]
    extra = [w for w in slips if w not in seen and w not in fixed and w not in SPECIALS]
    hidden = tuple(w for w in extra if w.strip() and w not in SHOWN)
    return (*(w for w in seen if w not in SPECIALS), *SPECIALS, *fixed, *extra), hidden


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


def observe(
    student, v, words: list[str], corpus: list[str] = (), *, contains: bool = True
) -> tuple[list, object, list]:
    """(v[w] for each word, len(v), w in v for each word) of the student's vocabulary (without ``contains``,
    ``[]`` for the last: a check that needs no ``in`` does not ask, so an ``in`` that hangs costs it nothing)."""
    if isinstance(v, dict):  # a plain dict came back: Python's own semantics, run here
        return [v[w] if w in v else _key_error(w, corpus) for w in words], len(v), [w in v for w in words]
    if not isinstance(v, Remote):
        raise CheckFailed(f"build_vocab should return a vocabulary object, got {describe(v)}")
    try:
        values, size = student.lookup(v, words), student.len(v)
    except StudentError as error:
        if error.isinstance("KeyError"):
            raise CheckFailed(str(error), "unknown words must give 1 ('<unk>'), never KeyError") from None
        raise
    return values, size, (contained(student, v, words) if contains else [])


def contained(student: Student, v: Remote, words: list[str]) -> list:
    """``w in v`` for each word; an ``in`` that never finishes is named as the operation that hangs."""
    if isinstance(v, dict):
        return [w in v for w in words]
    try:
        return student.lookup(v, words, how="contains")
    except StudentTimeout as hang:
        own = re.search(r"def\s+__(contains|iter)__\b", student.code)
        hint = HANGING_IN if own is None else "your __contains__ (or __iter__) never returns for some word"
        raise CheckFailed(str(hang), hint) from None


HANGING_IN = (
    "'word in v' never finishes: a class without __contains__ makes Python answer `in` by trying v[0], v[1], ... "
    "until an IndexError, and your __getitem__ answers every key; define __contains__ (return word in self.index)"
)


def _key_error(word, corpus):
    raise CheckFailed(f"looking up {word_label(word, list(corpus))} raised KeyError: unknown words must give 1 (<unk>)")


def reference_view(corpus, max_size, words):
    ref = build_vocab(corpus, max_size)
    return [ref[w] for w in words], len(ref), [w in ref for w in words]


# A vocabulary's view, for the known mistakes: (v[w] for each probed word, len(v)).
View = tuple[list[int], int]


def entries_view(
    entries: list[str], words: list[str], *, first_wins: bool = False, every: bool = False, unk: int | None = None
) -> View:
    """The view of a vocabulary made of ``entries`` in index order, as a dict built from them: a repeated entry
    keeps its last index (``first_wins``: its first), unknown words give ``unk`` (by default the index of
    '<unk>'), ``len`` is the dict's (``every``: the number of entries, repeated ones included)."""
    index: dict[str, int] = {}
    for i, w in enumerate(entries):
        if not (first_wins and w in index):
            index[w] = i
    unk = index.get("<unk>", 1) if unk is None else unk
    return [index.get(w, unk) for w in words], len(entries) if every else len(index)


def counted(corpus: list[str], split: str = "split()", once: bool = False, specials: bool = False) -> Counter:
    """Every word's count, in order of first appearance: the contract's counting, or a slip's."""
    return Counter(_counted(tuple(corpus), split, once, specials))  # a copy: the caller may change it


@functools.lru_cache(maxsize=64)  # the known mistakes and the slips count the same corpus again and again
def _counted(corpus: tuple[str, ...], split: str, once: bool, specials: bool) -> Counter:
    counts: Counter[str] = Counter()
    for sentence in corpus:
        words = SPLITS[split](sentence)
        counts.update(list(dict.fromkeys(words)) if once else words)
    if not specials:
        for special in SPECIALS:
            counts.pop(special, None)
    return counts


def ranked(counts: Counter, tie: str = "first appearance") -> list[str]:
    """The words by descending count, ties in the order ``tie`` names (or by another order altogether)."""
    order = list(counts)  # first appearance
    position = {w: i for i, w in enumerate(order)}
    keys: dict[str, Callable[[str], tuple]] = {
        "first appearance": lambda w: (-counts[w], position[w]),
        "alphabetical": lambda w: (-counts[w], w),
        "appearance only": lambda w: (position[w],),
        "ascending": lambda w: (counts[w], position[w]),
    }
    return sorted(order, key=keys[tie])


def _last_appearance(corpus, max_size, words) -> View:
    counts = counted(corpus)
    last = {w: i for i, w in enumerate(w for s in corpus for w in s.split())}
    kept = sorted(counts, key=lambda w: (-counts[w], -last[w]))[: max(max_size - 2, 0)]
    return entries_view([*SPECIALS, *kept], words)


def built(corpus, max_size, words, *, tie="first appearance", keep=None, split="split()", once=False) -> View:
    """The reference's way with one thing changed: how ties are broken, how many words are kept, how words are
    found or counted."""
    kept = ranked(counted(corpus, split, once), tie)[: max(max_size - 2 if keep is None else keep, 0)]
    return entries_view([*SPECIALS, *kept], words)


def _truncated_first(corpus, max_size, words) -> View:
    counts = counted(corpus)
    first = list(counts)[: max(max_size - 2, 0)]
    return entries_view([*SPECIALS, *sorted(first, key=lambda w: -counts[w])], words)


def _specials_counted(corpus, max_size, words, **how) -> View:
    kept = ranked(counted(corpus, specials=True))[: max(max_size - 2, 0)]
    return entries_view([*SPECIALS, *kept], words, **how)


def _specials_dropped_late(corpus, max_size, words) -> View:
    top = ranked(counted(corpus, specials=True))[: max(max_size - 2, 0)]
    return entries_view([*SPECIALS, *(w for w in top if w not in SPECIALS)], words)


def _specials_last(corpus, max_size, words) -> View:
    return entries_view([*ranked(counted(corpus))[: max(max_size - 2, 0)], *SPECIALS], words)


SLIP_HINTS = {
    "split(' ')": "sentence.split(' ') gives empty words for repeated, leading or trailing spaces (and '' for an "
    "empty sentence), and keeps tabs: use sentence.split()",
    "lower-cased": "words are lower-cased: take sentence.split() as it is ('Huis' and 'huis' are two words)",
    "stripped": "punctuation is stripped from the words: take sentence.split() as it is, no cleaning "
    "('huis,' and 'huis' are two words)",
    "lower-cased and stripped": "words are lower-cased and cleaned: take sentence.split() as it is",
}
ONCE_PER_SENTENCE = (
    "a word is counted once per sentence (a set of each sentence's words?): count every occurrence in the corpus"
)
SPECIALS_COUNTED = (
    "the words '<pad>' and '<unk>' of the corpus were counted as words: skip them, so that the specials keep "
    "indices 0 and 1 and appear once"
)
ANY_TIES = (
    "words of equal frequency are in an arbitrary order (that of a set, or of a dict's hash?): ties must keep "
    "their order of first appearance in the corpus (Counter.most_common does)"
)


def ranked_by(view: View, counts: Counter, max_size: int, words: list[str]) -> bool:
    """``view`` is a vocabulary of the words most frequent by ``counts``, in some order of its ties: specials at
    0 and 1, the kept words at 2, 3, ... with counts that never increase, none dropped more frequent than one kept."""
    index = dict(zip(words, view[0]))
    if index.get("<pad>") != 0 or index.get("<unk>") != 1:
        return False
    if any(i != 1 for w, i in index.items() if w not in counts and w not in SPECIALS):
        return False
    kept = sorted((i, w) for w, i in index.items() if w in counts and i != 1)
    size = min(max(max_size - 2, 0), len(counts))
    if [i for i, _ in kept] != list(range(2, 2 + size)) or view[1] != 2 + size:
        return False
    seen = [counts[w] for _, w in kept]
    dropped = [n for w, n in counts.items() if index.get(w, 1) == 1]
    return all(a >= b for a, b in itertools.pairwise(seen)) and not (dropped and seen and max(dropped) > seen[-1])


def hint_for(got, corpus, max_size, words, expected) -> str:
    """The cause of a vocabulary that differs from the reference's (``expected``: its view), or "".

    A known mistake is named only where it differs from the reference and explains ``got`` (``recognise``);
    then ties in another order than first appearance (right counts, any order of ties); then a counting slip
    whose counts, with any order of ties, explain ``got`` where the right counts do not.
    """
    view: View = (list(got[0]), got[1])
    reference: View = (list(expected[0]), expected[1])
    if view != reference:
        hint = recognise(view, MISTAKES["build_vocab"], corpus, max_size, words, expected=reference)
        if hint:
            return hint
        if ranked_by(view, counted(corpus), max_size, words):
            return ANY_TIES
        slips = [(ONCE_PER_SENTENCE, counted(corpus, once=True))]
        slips += [(hint, counted(corpus, how)) for how, hint in SLIP_HINTS.items()]
        return next((hint for hint, counts in slips if ranked_by(view, counts, max_size, words)), "")
    if any(g is True and e is False for g, e in zip(got[2], expected[2])):
        return "'word in v' must be False for words that were not kept"
    return ""


def expect_build_vocab(student: Student, corpus, max_size, *, call: str) -> None:
    """The student's build_vocab(corpus, max_size) answers v[word], len(v) and word in v as the reference's
    does, for every word of the corpus and words it does not have; else the cause, if one is recognised."""
    words = probes(corpus)
    v = student.call("build_vocab", corpus, max_size)
    got = observe(student, v, words, corpus, contains=False)
    expected = reference_view(corpus, max_size, words)
    # `in` is asked last: one that hangs is named as such once v[word] and len(v) are judged
    for label, index in (("v[word]", 0), ("len(v)", 1), ("word in v", 2)):
        if index == 1:
            if got[1] != expected[1]:
                raise CheckFailed(
                    f"{call}: len(v) should be {expected[1]}, got {quoted(got[1], describe(got[1]))}",
                    hint_for(got, corpus, max_size, words, expected),
                )
            continue
        if index == 2:
            got = (got[0], got[1], contained(student, v, words))
        for word, gw, ew in zip(words, got[index], expected[index]):
            if gw != ew or type(gw) is not type(ew):
                raise CheckFailed(
                    f"{call}: {label} should be {ew!r}, got {quoted(gw, describe(gw))} (the word: {word_label(word, corpus)})",
                    hint_for(got, corpus, max_size, words, expected),
                )


def gate_build_vocab(student: Student, v, corpus, max_size, *, call: str, check: str, reference=None) -> None:
    """A gate (see ``compare.gate``): the vocabulary ``v`` must be right, or an honest attempt (a recognised mistake: see
    ``compare.gate``), for ``check`` to count (``reference``: the reference's, if built)."""
    words = probes(corpus)
    ref = reference if reference is not None else build_vocab(corpus, max_size)
    got = observe(student, v, words, corpus, contains=False)
    expected = ([ref[w] for w in words], len(ref), [w in ref for w in words])
    if (list(got[0]), got[1]) != (expected[0], expected[1]) and not hint_for(got, corpus, max_size, words, expected):
        raise CheckFailed(
            f"{call}: the vocabulary is wrong; {check} counts only for a right one or a recognised attempt"
        )


# ---------------------------------------------------------------- tokenize


def reference_lookup(corpus: list[str], max_size: int) -> Lookup:
    """The reference vocabulary as plain data: a map that answers '<unk>' for unknown words."""
    ref = build_vocab(corpus, max_size)
    return Lookup(ref.index, default=ref["<unk>"])


def other_specials(corpus: list[str], max_size: int, seed: int, kind: str) -> Lookup | Words:
    """The reference vocabulary with its entries shuffled, '<pad>' and '<unk>' at other indices than 0 and 1:
    a dict (``kind`` "dict") or an object with nothing but v[word], word in v and len(v)."""
    rng = random.Random(seed)
    entries = build_vocab(corpus, max_size).words[2:]
    rng.shuffle(entries)
    for special in SPECIALS:
        entries.insert(rng.randrange(2, len(entries) + 1), special)
    index = {w: i for i, w in enumerate(entries)}
    return (Lookup if kind == "dict" else Words)(index, default=index["<unk>"])


def call_tokenize(student, corpus, vocab, call: str):
    """The student's tokenize(corpus, vocab); an error that names the vocabulary's class says what it was."""
    try:
        return student.call("tokenize", corpus, vocab)
    except StudentError as error:
        text = re.sub(r"'?\b(?:Words|Lookup)\b'?(?: object)?", "the vocab", str(error))
        if error.isinstance("NotImplementedError") or text == str(error):
            raise
        raise CheckFailed(
            f"{call}: {text}",
            "tokenize may use only vocab[word], word in vocab and len(vocab): the vocab it is given need not be "
            "a dict (no .get, .items or iteration)",
        ) from None


def _rows(corpus, v, split=str.split):
    return [[v[w] for w in split(s)] for s in corpus]


def _width(corpus, split=str.split):
    return max((len(split(s)) for s in corpus), default=0)


def _padded(rows, width, pad, left=False):
    out = [([pad] * (width - len(r)) + r) if left else (r + [pad] * (width - len(r))) for r in rows]
    return torch.tensor(out, dtype=torch.int64).reshape(len(rows), width)


def _known_or_one(corpus, v):
    return [[v[w] if w in v else 1 for w in s.split()] for s in corpus]  # noqa: SIM401 (v need not be a dict)


#: build_vocab's variants take (corpus, max_size, the probed words) and give a ``View``: (v[w] for each
#: word, len(v)); tokenize's take (corpus, vocab).
MISTAKES: Mistakes = {
    "build_vocab": [
        Mistake(
            "words of equal frequency are sorted alphabetically; ties must keep their order of first appearance "
            "(Counter.most_common does)",
            lambda c, m, w: built(c, m, w, tie="alphabetical"),
        ),
        Mistake(
            "ties are broken by last appearance; they must keep their order of first appearance",
            _last_appearance,
        ),
        Mistake(
            "words are numbered in order of first appearance; they must be ordered by frequency, most frequent "
            'first (that is why "bank" is 3, not 6)',
            lambda c, m, w: built(c, m, w, tie="appearance only"),
        ),
        Mistake(
            "the least frequent words come first; order by descending frequency",
            lambda c, m, w: built(c, m, w, tie="ascending"),
        ),
        Mistake(
            "the two specials are swapped: '<pad>' must be 0 and '<unk>' 1",
            lambda c, m, w: entries_view(["<unk>", "<pad>", *ranked(counted(c))[: max(m - 2, 0)]], w),
        ),
        Mistake(
            "'<pad>' and '<unk>' must come first, at indices 0 and 1, before the words",
            _specials_last,
        ),
        Mistake(
            "max_size must count the two specials: keep max_size - 2 words, so that len(v) == max_size",
            lambda c, m, w: built(c, m, w, keep=m),
        ),
        Mistake(
            "one word too few or too many is kept: max_size - 2 words, so that len(v) == max_size",
            lambda c, m, w: built(c, m, w, keep=m - 1),
        ),
        Mistake(
            "one word too few or too many is kept: max_size - 2 words, so that len(v) == max_size",
            lambda c, m, w: built(c, m, w, keep=m - 3),
        ),
        Mistake(
            "the words are cut to max_size - 2 before they are sorted (the first ones to appear are kept): sort all "
            "of them by frequency first, then keep the most frequent",
            _truncated_first,
        ),
        Mistake(SPECIALS_COUNTED, _specials_counted),
        Mistake(SPECIALS_COUNTED, lambda c, m, w: _specials_counted(c, m, w, unk=1)),
        Mistake(SPECIALS_COUNTED, lambda c, m, w: _specials_counted(c, m, w, every=True)),
        Mistake(SPECIALS_COUNTED, lambda c, m, w: _specials_counted(c, m, w, every=True, unk=1)),
        Mistake(SPECIALS_COUNTED, lambda c, m, w: _specials_counted(c, m, w, first_wins=True)),
        Mistake(
            "the corpus's '<pad>' and '<unk>' were dropped after the max_size - 2 most frequent words were chosen: "
            "skip them before counting, so that max_size - 2 other words are kept",
            _specials_dropped_late,
        ),
        *(Mistake(hint, functools.partial(built, split=how)) for how, hint in SLIP_HINTS.items()),
        Mistake(ONCE_PER_SENTENCE, lambda c, m, w: built(c, m, w, once=True)),
        Mistake(
            "unknown words give 0 ('<pad>'): they must give 1 ('<unk>')",
            lambda c, m, w: (
                [0 if i == 1 and x != "<unk>" else i for x, i in zip(w, built(c, m, w)[0])],
                built(c, m, w)[1],
            ),
        ),
    ],
    "tokenize": [
        Mistake(
            "the padding is on the left: pad on the right",
            lambda c, v: _padded(_rows(c, v), _width(c), v["<pad>"], left=True),
        ),
        Mistake(
            "the rows are padded with '<unk>': pad with vocab['<pad>']",
            lambda c, v: _padded(_rows(c, v), _width(c), v["<unk>"]),
        ),
        Mistake(
            "unknown words became padding: they must become vocab['<unk>']",
            lambda c, v: _padded(
                [[v[w] if w in v else v["<pad>"] for w in s.split()] for s in c], _width(c), v["<pad>"]
            ),
        ),
        Mistake(
            "'<pad>' and '<unk>' are hard-coded as 0 and 1: use vocab['<pad>'] and vocab[word], whatever indices "
            "the vocabulary gives them",
            lambda c, v: _padded(_known_or_one(c, v), _width(c), 0),
        ),
        Mistake(
            "the padding is a hard-coded 0: pad with vocab['<pad>'], whatever index the vocabulary gives it",
            lambda c, v: _padded(_rows(c, v), _width(c), 0),
        ),
        Mistake(
            "unknown words became a hard-coded 1: look every word up with vocab[word] (an unknown word gives "
            "vocab['<unk>'], whatever its index)",
            lambda c, v: _padded(_known_or_one(c, v), _width(c), v["<pad>"]),
        ),
        Mistake(
            SLIP_HINTS["split(' ')"],
            lambda c, v: _padded(_rows(c, v, SPLITS["split(' ')"]), _width(c, SPLITS["split(' ')"]), v["<pad>"]),
        ),
        Mistake(
            "the tokens are not int64: build the tensor with dtype=torch.int64 (torch.long)",
            lambda c, v: tokenize(c, v).to(torch.int32),
        ),
        Mistake(
            "the tokens are not int64: build the tensor with dtype=torch.int64 (torch.long)",
            lambda c, v: tokenize(c, v).to(torch.float32),
        ),
    ],
}


def attempt_tokenize(got, corpus, vocab, *, expected) -> str:
    """For the checks of how tokenize works (``gate``): the hint of the known mistake ``got`` honestly makes,
    or ""."""
    return attempted(got, MISTAKES["tokenize"], corpus, vocab, expected=expected)


def expect_tokenize(student: Student, corpus, vocab, *, call: str, keep=None) -> None:
    """The student's tokenize(corpus, vocab) is the reference's; else the hint of a known mistake. ``keep``:
    keep it, and the student's own tokenize with their own build_vocab, for the feedback's picture."""
    got = call_tokenize(student, corpus, vocab, call)
    expected = tokenize(corpus, vocab)
    if keep is not None:
        keep("tokens", corpus=corpus, got=got, expected=expected, own=lambda: own_tokens(student))
    expect_same(got, expected, call=call, mistakes=MISTAKES["tokenize"], args=(corpus, vocab))


# ---------------------------------------------------------------- matches the reference


@group(MATCHES)
def test_build_vocab_on_the_notebook_corpus(student):
    """build_vocab on the notebook's corpus (v["bank"] == 3, len 11)"""
    expect_build_vocab(student, NOTEBOOK, 11, call="build_vocab(notebook corpus, 11)")


@group(MATCHES)
@pytest.mark.parametrize("max_size", [6, 12, 40], ids=["max_size=6", "max_size=12", "max_size=40 (all words)"])
def test_build_vocab_matches_the_reference(student, max_size, seed):
    """build_vocab matches the reference"""
    corpus = inputs("a random corpus", seed)
    expect_build_vocab(student, corpus, max_size, call=f"build_vocab(a corpus of {len(corpus)} sentences, {max_size})")


@group(MATCHES)
def test_tokenize_the_notebook_corpus(student, keep):
    """tokenize the notebook's corpus"""
    expect_tokenize(
        student, NOTEBOOK, reference_lookup(NOTEBOOK, 11), call="tokenize(notebook corpus, vocab)", keep=keep
    )


@group(MATCHES)
@pytest.mark.parametrize("max_size", [5, 20], ids=["many unknown words", "few unknown words"])
def test_tokenize_matches_the_reference(student, max_size, seed):
    """tokenize matches the reference"""
    corpus = inputs("a random corpus", seed)
    call = f"tokenize(a corpus of {len(corpus)} sentences, vocab)"
    expect_tokenize(student, corpus, reference_lookup(corpus, max_size), call=call)


@group(MATCHES)
@pytest.mark.parametrize("kind", ["dict", "object"], ids=["a dict", "not a dict"])
def test_tokenize_uses_the_vocab_it_is_given(student, kind, seed):
    """tokenize with a vocab whose '<pad>' and '<unk>' are not 0 and 1"""
    corpus = inputs("a random corpus", seed)
    vocab = other_specials(corpus, 8, seed, kind)
    what = "a dict" if kind == "dict" else "an object that is not a dict"
    call = (
        f"tokenize(a corpus of {len(corpus)} sentences, vocab: {GIVEN}, {what}, "
        "with '<pad>' and '<unk>' at other indices than 0 and 1)"
    )
    expect_tokenize(student, corpus, vocab, call=call)


# ---------------------------------------------------------------- shapes and dtypes


@group(SHAPES)
def test_lookups_give_python_ints(student):
    """v[word] and len(v) are ints"""
    words = probes(NOTEBOOK)
    got = observe(student, student.call("build_vocab", NOTEBOOK, 11), words, contains=False)
    for word, value in zip(words, got[0]):
        if type(value) is not int:
            raise CheckFailed(f"v[{word!r}] should be an int, got {describe(value)}")
    if type(got[1]) is not int:
        raise CheckFailed(f"len(v) should be an int, got {describe(got[1])}")


@group(SHAPES)
@pytest.mark.parametrize("corpus", ["notebook", "random"])
def test_tokenize_gives_int64_of_shape_n_by_longest(student, corpus, seed):
    """tokenize gives int64 of shape (sentences, longest sentence)"""
    sentences = inputs("notebook corpus" if corpus == "notebook" else "five sentences", seed)
    mapping = reference_lookup(sentences, 11)
    got = student.call("tokenize", sentences, mapping)
    expected = tokenize(sentences, mapping)
    if not isinstance(got, torch.Tensor) or got.dtype != torch.int64 or got.shape != expected.shape:
        hint = recognise(got, MISTAKES["tokenize"], sentences, mapping, expected=expected)
        if not hint and isinstance(got, torch.Tensor) and got.dtype != torch.int64:
            hint = "build the result with torch.tensor(rows, dtype=torch.int64)"
        raise CheckFailed(f"tokenize({len(sentences)} sentences, vocab): {difference(got, expected)}", hint)


# ---------------------------------------------------------------- edge cases and bad input


@group(EDGE_CASES)
@pytest.mark.parametrize("max_size", [1, 0, -3], ids=["max_size=1", "max_size=0", "max_size=-3"])
def test_build_vocab_rejects_max_size_below_2(student, max_size):
    """build_vocab raises ValueError for max_size < 2"""
    expect_error(student, "build_vocab", NOTEBOOK, max_size, what=f"build_vocab(corpus, {max_size})")


#: build_vocab's edge cases: (corpus, max_size) by name.
VOCAB_EDGES = {
    "empty corpus": ([], 5),
    "max_size=2": (NOTEBOOK, 2),
    "with an empty sentence": (["een twee een", ""], 10),
    "the words '<pad>' and '<unk>'": (WITH_SPECIALS, 6),
    "extra spaces": (WITH_SPACES, 12),
}
#: tokenize's edge cases (with the notebook's vocabulary), by name.
TOKENIZE_EDGES = {
    "empty corpus": [],
    "one empty sentence": [""],
    "empty sentences around": ["", "ik zit", ""],
    "only unknown words": ["onbekend woord hier"],
    "extra spaces": WITH_SPACES,
}


@group(EDGE_CASES)
@pytest.mark.parametrize(("corpus", "max_size"), list(VOCAB_EDGES.values()), ids=list(VOCAB_EDGES))
def test_build_vocab_edge_cases(student, corpus, max_size):
    """build_vocab on the smallest inputs and awkward corpora"""
    expect_build_vocab(student, corpus, max_size, call=f"build_vocab({describe(corpus)}, {max_size})")


@group(EDGE_CASES)
def test_unknown_words_are_not_added(student):
    """looking up unknown words neither fails nor adds them"""
    v = student.call("build_vocab", NOTEBOOK, 11)
    unknown = ["test", "nooit", "BANK", "bank."]
    size = observe(student, v, [], contains=False)[1]  # before any word is looked up
    after = observe(student, v, unknown, contains=False)
    if after[1] != size:
        raise CheckFailed(
            f"len(v) should stay {size!r} after looking up unknown words, went to {after[1]!r}",
            "a defaultdict adds every word it is asked for: use dict.get(word, 1) or __missing__ without storing",
        )
    inside = contained(student, v, unknown)
    if after[0] != [1] * 4 or inside != [False] * 4:
        raise CheckFailed(
            f"unknown words should give 1 and not be 'in' v, got {quoted(after[0], describe(after[0]))} and {inside}"
        )


@group(EDGE_CASES)
@pytest.mark.parametrize("corpus", list(TOKENIZE_EDGES.values()), ids=list(TOKENIZE_EDGES))
def test_tokenize_edge_cases(student, corpus):
    """tokenize on empty and unknown input"""
    expect_tokenize(student, corpus, reference_lookup(NOTEBOOK, 11), call=f"tokenize({describe(corpus)}, vocab)")


# ---------------------------------------------------------------- inputs unchanged


@group(UNCHANGED)
@pytest.mark.parametrize("name", ["build_vocab", "tokenize"])
def test_the_corpus_is_left_unchanged(student, name, seed):
    """the corpus (and the vocab given to tokenize) is left unchanged"""
    corpus = inputs("a corpus to keep", seed)
    second = 11 if name == "build_vocab" else reference_lookup(corpus, 11)
    sent = list(corpus)  # the grader's own copy: the sandbox's word can only take the points away
    outcome = student.run(name, corpus, second)
    call = f"{name}(a corpus of {len(corpus)} sentences, ...)"
    if name == "tokenize":
        expected = tokenize(sent, second)
        gate(outcome.value, expected, call, "leaving the corpus unchanged",
             attempt=lambda: attempt_tokenize(outcome.value, sent, second, expected=expected))  # fmt: skip
    else:
        gate_build_vocab(student, outcome.value, sent, 11, call=call, check="leaving the corpus unchanged")
    if outcome.reported_changes:
        changed = " and ".join(
            ("the corpus" if k == 0 else "the vocab" if name == "tokenize" else "max_size")
            for k in outcome.reported_changes
            if k in (0, 1)
        )
        raise CheckFailed(
            f"{name} changed {changed or 'an argument'} it was given, in place",
            "build new lists (words = sentence.split(), sorted(corpus)) instead of changing the corpus in place "
            "(corpus.sort(), corpus[i] = ..., corpus.pop()): the caller's list must keep its items",
        )


# ---------------------------------------------------------------- speed


@group(SPEED)
def test_build_vocab_counts_in_one_pass(student, seed):
    """build_vocab is about as fast as counting in one pass"""
    expect_fast(
        student,
        "build_vocab",
        lambda k: (inputs("a big corpus", seed + k), 1000),
        build_vocab,
        device="cpu",
        call="build_vocab(3000 sentences, 1000)",
        slack=0.05,
        per_round=2,
        cause="counting each word with list.count or sorting by corpus.index is quadratic: use collections.Counter",
        verify=lambda got, args, ref: gate_build_vocab(
            student, got, *args, call="build_vocab(3000 sentences, 1000)", check="speed", reference=ref
        ),
    )


@group(SPEED)
def test_tokenize_is_linear(student, seed):
    """tokenize is about as fast as the reference"""

    def make_input(k: int) -> tuple:
        corpus = inputs("a big corpus", seed + k)
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
        mistakes=MISTAKES["tokenize"],
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
