"""Counter.most_common, a class with __getitem__, tokenize with pad_sequence"""

from collections import Counter

import torch
from torch.nn.utils.rnn import pad_sequence


class Vocab:
    def __init__(self, words):
        self._index = {w: i for i, w in enumerate(words)}

    def __getitem__(self, word):
        return self._index.get(word, self._index["<unk>"])

    def __contains__(self, word):
        return word in self._index

    def __len__(self):
        return len(self._index)


def build_vocab(corpus, max_size):
    if max_size < 2:
        raise ValueError("max_size must be at least 2")
    counts = Counter(w for s in corpus for w in s.split() if w not in {"<pad>", "<unk>"})
    return Vocab(["<pad>", "<unk>"] + [w for w, _ in counts.most_common(max_size - 2)])


def tokenize(corpus, vocab):
    if not corpus:
        return torch.zeros(0, 0, dtype=torch.long)
    rows = [torch.tensor([vocab[w] for w in s.split()], dtype=torch.long) for s in corpus]
    return pad_sequence(rows, batch_first=True, padding_value=vocab["<pad>"])
