"""Part 2, vocab: words to integers.

Shapes: N sentences, W words in the longest sentence.
"""

import torch
from torch import Tensor


class Vocab:
    """A fixed word-to-index map: ``"<pad>"`` is 0, ``"<unk>"`` is 1.

    ``v[word]`` gives the word's index, or 1 (``"<unk>"``) for a word that was
    not kept; it never raises KeyError and never adds the word. ``len(v)``
    counts the specials; ``word in v`` is True for kept words and the specials.
    """

    def __init__(self, words: list[str]) -> None:
        """Args: words: every entry in index order, the two specials first."""
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}

    def __getitem__(self, word: str) -> int:
        """The index of ``word``, or 1 (``"<unk>"``) if it was not kept."""
        return self.index.get(word, 1)

    def __len__(self) -> int:
        """The number of entries, the two specials included."""
        return len(self.index)

    def __contains__(self, word: object) -> bool:
        """True for the kept words and the two specials."""
        return word in self.index


def build_vocab(corpus: list[str], max_size: int) -> Vocab:
    """Build a vocabulary of at most ``max_size`` entries from a corpus.

    Words are ``sentence.split()``, taken as they are (no lower-casing).
    Index 0 is ``"<pad>"``, index 1 is ``"<unk>"``, then the words by
    descending frequency, ties broken by first appearance in the corpus.
    ``max_size`` counts the two specials, so ``max_size - 2`` words are kept.
    A corpus word equal to ``"<pad>"`` or ``"<unk>"`` is not counted as a word:
    the specials keep indices 0 and 1 and are never duplicated.

    Args:
        corpus: sentences.
        max_size: at least 2.

    Returns:
        a Vocab: ``v[word] -> int`` (1 for unknown words), ``len(v)``, ``word in v``.

    Raises:
        ValueError: if ``max_size < 2``.
    """
    from collections import Counter  # imported here: the notebook's answer cell stands alone

    if max_size < 2:
        raise ValueError(f"max_size counts '<pad>' and '<unk>', so it must be at least 2, got {max_size}")
    counts = Counter(word for sentence in corpus for word in sentence.split())
    for special in ("<pad>", "<unk>"):
        counts.pop(special, None)
    # most_common keeps the order of first appearance among equal counts
    kept = [word for word, _ in counts.most_common(max_size - 2)]
    return Vocab(["<pad>", "<unk>", *kept])


def tokenize(corpus: list[str], vocab) -> Tensor:
    """Turn sentences into a right-padded matrix of word indices.

    Args:
        corpus: N sentences; words are ``sentence.split()``.
        vocab: anything with ``vocab[word] -> int`` that gives ``vocab["<unk>"]``
            for unknown words, such as the result of ``build_vocab``.

    Returns:
        int64 tensor of shape (N, W), W the number of words in the longest
        sentence, padded on the right with ``vocab["<pad>"]``. Empty sentences
        give rows of padding; an empty corpus gives shape (0, 0).
    """
    pad = vocab["<pad>"]
    rows = [[vocab[word] for word in sentence.split()] for sentence in corpus]
    width = max((len(row) for row in rows), default=0)
    padded = [row + [pad] * (width - len(row)) for row in rows]
    return torch.tensor(padded, dtype=torch.int64).reshape(len(rows), width)  # (N, W)
