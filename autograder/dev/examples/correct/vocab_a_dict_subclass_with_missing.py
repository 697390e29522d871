"""a dict subclass with __missing__"""

import torch


class Vocab(dict):
    def __missing__(self, word):
        return 1  # unknown: "<unk>", not stored


def build_vocab(corpus, max_size):
    if max_size < 2:
        raise ValueError("max_size must count <pad> and <unk>")
    counts, first = {}, {}
    for sentence in corpus:
        for word in sentence.split():
            if word in ("<pad>", "<unk>"):  # the specials are not corpus words
                continue
            counts[word] = counts.get(word, 0) + 1
            first.setdefault(word, len(first))
    ranked = sorted(counts, key=lambda w: (-counts[w], first[w]))[: max_size - 2]
    vocab = Vocab({"<pad>": 0, "<unk>": 1})
    for word in ranked:
        vocab[word] = len(vocab)
    return vocab


def tokenize(corpus, vocab):
    rows = [sentence.split() for sentence in corpus]
    width = max(map(len, rows), default=0)
    out = torch.full((len(rows), width), vocab["<pad>"], dtype=torch.long)
    for i, words in enumerate(rows):
        if words:
            out[i, : len(words)] = torch.tensor([vocab[w] for w in words])
    return out
