"""sorted by (-count, first index), a list of words inside, tokenize into torch.full"""

import torch


class Vocab:
    def __init__(self, itos):
        self.itos = itos
        self.stoi = {}
        for i, w in enumerate(itos):
            self.stoi[w] = i

    def __getitem__(self, word):
        if word in self.stoi:
            return self.stoi[word]
        return self.stoi["<unk>"]

    def __contains__(self, word):
        return word in self.stoi

    def __len__(self):
        return len(self.itos)


def build_vocab(corpus, max_size):
    if max_size < 2:
        raise ValueError(f"max_size={max_size} leaves no room for <pad> and <unk>")
    count, first = {}, {}
    for sentence in corpus:
        for word in sentence.split():
            if word == "<pad>" or word == "<unk>":
                continue
            if word not in count:
                count[word], first[word] = 0, len(first)
            count[word] += 1
    words = sorted(count, key=lambda w: (-count[w], first[w]))
    return Vocab(["<pad>", "<unk>", *words[: max_size - 2]])


def tokenize(corpus, vocab):
    split = [sentence.split() for sentence in corpus]
    width = max([len(words) for words in split] + [0])
    out = torch.full((len(split), width), vocab["<pad>"], dtype=torch.int64)
    unk = vocab["<unk>"]
    for i, words in enumerate(split):
        if words:
            out[i, : len(words)] = torch.tensor([vocab[w] if w in vocab else unk for w in words])  # noqa: SIM401
    return out
