"""Simulated students: typical mistakes, correct solutions written differently, and attacks.

Used by the tests (each mistake must lose points with its hint, each correct solution must get
full marks, each attack must be contained), by ``make demo`` and by ``make bench``. A mistake is
the reference with one edit, so that it stays a single, typical slip; a correct solution is
written out in full, differently from the reference.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources

import nbformat

from autograder import PARTS


@dataclass(frozen=True)
class Example:
    name: str
    part: str
    code: str
    expect: str  # "full" for a correct solution; else a text expected in a failed check's message or hint


def reference_code(part: str) -> str:
    """The reference of a part as one student file (masking carries its own attention)."""
    text = (resources.files("solutions") / f"{part}.py").read_text(encoding="utf-8")
    if part == "masking":
        attention = (resources.files("solutions") / "attention.py").read_text(encoding="utf-8")
        text = attention + "\n\n" + text.replace("from solutions.attention import scaled_dot_product_attention\n", "")
    return text


def mutant(name: str, part: str, edits: list[tuple[str, str]], expect: str) -> Example:
    code = reference_code(part)
    for old, new in edits:
        if old not in code:
            raise ValueError(f"the mistake {name!r} no longer applies: {old!r} is not in the reference")
        code = code.replace(old, new, 1)
    return Example(name, part, code, expect)


MISTAKES = [
    # smoother
    mutant("kernel not normalised", "smoother", [("return density / density.sum()", "return density")],
           "not normalised"),
    mutant("kernel off-centre (arange(-4, 4))", "smoother",
           [("torch.arange(size, dtype=torch.float32) - (size - 1) / 2",
             "torch.arange(-(size // 2), size - size // 2, dtype=torch.float32)")], "off-centre"),
    mutant("kernel centred on size // 2", "smoother", [("- (size - 1) / 2", "- size // 2")], "off-centre"),
    mutant("sigma ignored", "smoother", [("(offsets / sigma)", "(offsets / 1.0)")], "sigma is ignored"),
    mutant("kernel in float64", "smoother", [("dtype=torch.float32", "dtype=torch.float64")], "float32"),
    mutant("no ValueError for a bad size", "smoother",
           [('    if size < 1:\n        raise ValueError(f"size must be at least 1, got {size}")\n', "")],
           "should raise ValueError"),
    mutant("kernel flipped (true convolution)", "smoother", [("weight = kernel.to(", "weight = kernel.flip(0).to(")],
           "flipped"),
    mutant("nn.Conv1d with its bias", "smoother",
           [("out = F.conv1d(rows, weight)",
             "conv = torch.nn.Conv1d(1, 1, size).to(device=signal.device, dtype=signal.dtype)\n"
             "    with torch.no_grad():\n        conv.weight.copy_(weight)\n    out = conv(rows).detach()")],
           "bias"),
    mutant("'same' padding", "smoother",
           [("F.conv1d(rows, weight)", "F.conv1d(rows, weight, padding='same')"),
            ("out.reshape(*signal.shape[:-1], length - size + 1)", "out.reshape(*signal.shape[:-1], length)")],
           "padded"),
    mutant("kernel left on the CPU", "smoother",
           [("kernel.to(device=signal.device, dtype=signal.dtype)", "kernel.to(dtype=signal.dtype)")],
           "lives on the CPU"),
    mutant("kernel normalised in place", "smoother",
           [("    weight = kernel.to(", "    kernel /= kernel.sum()\n    weight = kernel.to(")], "normalises the kernel"),
    mutant("Python loop over the samples", "smoother",
           [("    out = F.conv1d(rows, weight)  # (B, 1, L - K + 1)\n",
             "    out = torch.stack([(rows[..., i : i + size] * weight).sum(-1) for i in range(length - size + 1)], -1)\n")],
           "Python loop"),
    # vocab
    mutant("ties sorted alphabetically", "vocab",
           [("kept = [word for word, _ in counts.most_common(max_size - 2)]",
             "kept = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][: max_size - 2]")],
           "alphabetically"),
    mutant("numbered by first appearance", "vocab",
           [("kept = [word for word, _ in counts.most_common(max_size - 2)]", "kept = list(counts)[: max_size - 2]")],
           "order of first appearance"),
    mutant("specials swapped", "vocab",
           [('return Vocab(["<pad>", "<unk>", *kept])', 'return Vocab(["<unk>", "<pad>", *kept])'),
            ("return self.index.get(word, 1)", "return self.index.get(word, 0)")], "swapped"),
    mutant("max_size without the specials", "vocab", [("counts.most_common(max_size - 2)", "counts.most_common(max_size)")],
           "count the two specials"),
    mutant("KeyError for unknown words", "vocab", [("return self.index.get(word, 1)", "return self.index[word]")],
           "unknown words must give 1"),
    mutant("a defaultdict that adds unknown words", "vocab",
           [("self.index = {word: i for i, word in enumerate(self.words)}",
             "from collections import defaultdict\n\n"
             "        self.index = defaultdict(lambda: 1, {word: i for i, word in enumerate(self.words)})"),
            ("return self.index.get(word, 1)", "return self.index[word]")], "defaultdict"),
    mutant("lower-cased words", "vocab", [("for word in sentence.split())", "for word in sentence.lower().split())")],
           "lower-cased"),
    mutant("no ValueError for max_size < 2", "vocab", [("if max_size < 2:", "if max_size < -100:")],
           "should raise ValueError"),
    mutant("left padding", "vocab", [("row + [pad] * (width - len(row))", "[pad] * (width - len(row)) + row")],
           "left"),
    mutant("tokens in int32", "vocab", [("dtype=torch.int64)", "dtype=torch.int32)")], "not int64"),
    mutant("padding with <unk>", "vocab", [('pad = vocab["<pad>"]', 'pad = vocab["<unk>"]')], "padded with '<unk>'"),
    mutant("empty corpus of shape (0,)", "vocab",
           [("torch.tensor(padded, dtype=torch.int64).reshape(len(rows), width)",
             "torch.tensor(padded, dtype=torch.int64)")], "expected shape (0, 0)"),
    mutant("quadratic counting", "vocab",
           [("counts = Counter(word for sentence in corpus for word in sentence.split())",
             "words = [w for s in corpus for w in s.split()]\n"
             "    counts = Counter({w: words.count(w) for w in dict.fromkeys(words)})")], "quadratic"),
    # attention
    mutant("no scaling", "attention", [("scale = 1.0 / math.sqrt(query.shape[-1])", "scale = 1.0")], "not scaled"),
    mutant("scaled by D", "attention", [("1.0 / math.sqrt(query.shape[-1])", "1.0 / query.shape[-1]")],
           "divided by D"),
    mutant("softmax over the queries", "attention", [("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")],
           "over the queries"),
    mutant("mask inverted", "attention", [("scores.masked_fill(mask, float", "scores.masked_fill(~mask, float"),
                                          ("weights.masked_fill(mask, 0.0)", "weights.masked_fill(~mask, 0.0)")],
           "inverted"),
    mutant("NaN on fully masked rows", "attention", [("weights = weights.masked_fill(mask, 0.0)", "pass")], "NaN"),
    mutant("-1e9 instead of -inf", "attention",
           [('masked_fill(mask, float("-inf"))', "masked_fill(mask, -1e9)"),
            ("weights = weights.masked_fill(mask, 0.0)", "pass")], "-1e9"),
    mutant("mask ignored", "attention",
           [("if mask is not None:\n        if mask.dtype", "if False:\n        if mask.dtype"),
            ("if mask is not None:\n        # a row", "if False:\n        # a row")], "ignored"),
    mutant("torch.bmm", "attention", [("query @ key.transpose(-2, -1)", "torch.bmm(query, key.transpose(-2, -1))")],
           "torch.bmm"),
    mutant("transpose(1, 2)", "attention", [("key.transpose(-2, -1)", "key.transpose(1, 2)")], "transpose(-2, -1)"),
    mutant("a CPU tensor for sqrt(D)", "attention",
           [("scale = 1.0 / math.sqrt(query.shape[-1])",
             "scale = 1.0 / torch.tensor([query.shape[-1]], dtype=query.dtype).sqrt()")], "lives on the CPU"),
    mutant("F.scaled_dot_product_attention", "attention",
           [("    return weights @ value, weights",
             "    return F.scaled_dot_product_attention(query, key, value, None if mask is None else ~mask), weights")],
           "does not allow"),
    mutant("query scaled in place", "attention",
           [("    scale = 1.0 / math.sqrt(query.shape[-1])\n",
             "    query /= math.sqrt(query.shape[-1])\n    scale = 1.0\n")], "modified its input query"),
    mutant("results swapped", "attention", [("return weights @ value, weights", "return weights, weights @ value")],
           "swapped"),
    mutant("Python loop over the rows", "attention",
           [("    return weights @ value, weights",
             "    w = weights.reshape(-1, *weights.shape[-2:])\n"
             "    v = value.reshape(-1, *value.shape[-2:])\n"
             "    rows = [torch.stack([w[b, i] @ v[b] for i in range(w.shape[1])]) for b in range(w.shape[0])]\n"
             "    return torch.stack(rows).reshape(*weights.shape[:-1], value.shape[-1]), weights")], "Python loop"),
    # masking
    mutant("padding mask inverted", "masking", [("return tokens == pad_idx", "return tokens != pad_idx")], "inverted"),
    mutant("pad_idx ignored", "masking", [("return tokens == pad_idx", "return tokens == 0")], "pad_idx is ignored"),
    mutant("padding mask of ints", "masking", [("return tokens == pad_idx", "return (tokens == pad_idx).long()")],
           "not bool"),
    mutant("heads split without transpose", "masking",
           [("self.q_proj(query).view(B, L, H, Dh).transpose(1, 2)", "self.q_proj(query).view(B, H, L, Dh)"),
            ("self.k_proj(key).view(B, S, H, Dh).transpose(1, 2)", "self.k_proj(key).view(B, H, S, Dh)"),
            ("self.v_proj(value).view(B, S, H, Dh).transpose(1, 2)", "self.v_proj(value).view(B, H, S, Dh)")],
           "split without a transpose"),
    mutant("heads merged without transpose", "masking", [("out.transpose(1, 2).reshape(B, L, E)", "out.reshape(B, L, E)")],
           "merged without a transpose"),
    mutant("no out_proj", "masking", [("return self.out_proj(out), weights.mean(dim=1)", "return out, weights.mean(dim=1)")],
           "out_proj is missing"),
    mutant("weights not averaged", "masking", [("weights.mean(dim=1)  # (B, L, E)", "weights  # (B, L, E)")],
           "not averaged"),
    mutant("scaled by sqrt(E)", "masking",
           [("out, weights = scaled_dot_product_attention(q, k, v, mask)",
             "out, weights = scaled_dot_product_attention(q * math.sqrt(Dh / E), k, v, mask)")], "sqrt(E)"),
    mutant("key padding mask ignored", "masking",
           [("out, weights = scaled_dot_product_attention(q, k, v, mask)",
             "out, weights = scaled_dot_product_attention(q, k, v)")], "ignored"),
    mutant("no ValueError for heads that do not divide", "masking",
           [("if num_heads < 1 or embed_dim % num_heads != 0:", "if num_heads < 1:")], "should raise ValueError"),
    mutant("nn.MultiheadAttention inside", "masking",
           [("        self.out_proj = nn.Linear(embed_dim, embed_dim)\n",
             "        self.out_proj = nn.Linear(embed_dim, embed_dim)\n"
             "        self.helper = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)\n")],
           "does not allow"),
    mutant("projections without bias", "masking",
           [("self.q_proj = nn.Linear(embed_dim, embed_dim)", "self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)")],
           "with bias"),
]  # fmt: skip


CORRECT = [
    Example(
        "unfold, linspace offsets",
        "smoother",
        """
def gaussian_kernel(size: int, sigma: float = 1.0) -> Tensor:
    if size < 1 or sigma <= 0:
        raise ValueError("size must be >= 1 and sigma > 0")
    half = (size - 1) / 2
    x = torch.linspace(-half, half, size)
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return (w / w.sum()).to(torch.float32)


def smooth(signal: Tensor, kernel: Tensor) -> Tensor:
    k = kernel.to(signal.device, signal.dtype)
    windows = signal.unfold(-1, k.numel(), 1)  # (..., L - K + 1, K)
    return windows @ k
""",
        "full",
    ),
    Example(
        "nn.Conv1d without bias, float64 inside",
        "smoother",
        """
import numpy as np


def gaussian_kernel(size, sigma=1.0):
    if size < 1:
        raise ValueError("size")
    if sigma <= 0:
        raise ValueError("sigma")
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-0.5 * (offsets / sigma) ** 2)
    return torch.from_numpy(w / w.sum()).float()


def smooth(signal, kernel):
    conv = nn.Conv1d(1, 1, kernel.shape[0], bias=False).to(device=signal.device, dtype=signal.dtype)
    with torch.no_grad():
        conv.weight.copy_(kernel.reshape(1, 1, -1))
        x = signal.reshape(-1, 1, signal.shape[-1])
        return conv(x).reshape(*signal.shape[:-1], -1)
""",
        "full",
    ),
    Example(
        "a loop over the kernel taps",
        "smoother",
        """
def gaussian_kernel(size, sigma=1.0):
    if not (size >= 1 and sigma > 0):
        raise ValueError("bad arguments")
    u = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-(u * u) / (2.0 * sigma * sigma))
    return (w / w.sum()).float()


def smooth(signal, kernel):
    size = kernel.shape[0]
    n = signal.shape[-1] - size + 1
    kernel = kernel.to(signal)
    out = torch.zeros_like(signal[..., :n])
    for k in range(size):  # K steps, each over every position at once
        out = out + signal[..., k : k + n] * kernel[k]
    return out
""",
        "full",
    ),
    Example(
        "a dict subclass with __missing__",
        "vocab",
        """
class Vocab(dict):
    def __missing__(self, word):
        return 1  # unknown: "<unk>", not stored


def build_vocab(corpus, max_size):
    if max_size < 2:
        raise ValueError("max_size must count <pad> and <unk>")
    counts, first = {}, {}
    for sentence in corpus:
        for word in sentence.split():
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
""",
        "full",
    ),
    Example(
        "einsum, nan_to_num",
        "attention",
        """
def scaled_dot_product_attention(query, key, value, mask=None):
    d = query.size(-1)
    scores = torch.einsum("...ld,...sd->...ls", query / math.sqrt(d), key)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.nan_to_num(scores.softmax(-1), nan=0.0)
    return torch.einsum("...ls,...sv->...lv", weights, value), weights
""",
        "full",
    ),
    Example(
        "float64 inside, torch.where",
        "attention",
        """
def scaled_dot_product_attention(query, key, value, mask=None):
    dtype = query.dtype
    q, k, v = query.double(), key.double(), value.double()
    scores = torch.matmul(q, k.mT) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = torch.where(mask, torch.tensor(float("-inf"), dtype=scores.dtype), scores)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, torch.zeros((), dtype=weights.dtype), weights)
    return (weights @ v).to(dtype), weights.to(dtype)
""",
        "full",
    ),
    Example(
        "permute and an inline attention",
        "masking",
        """
def scaled_dot_product_attention(query, key, value, mask=None):
    scores = query.matmul(key.transpose(-1, -2)) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(mask, 0)
    return weights.matmul(value), weights


def padding_mask(tokens, pad_idx=0):
    return tokens.eq(pad_idx)


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("num_heads must divide embed_dim")
        self.h = num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(embed_dim, embed_dim) for _ in range(4))

    def forward(self, query, key, value, key_padding_mask=None):
        b, l, e = query.shape
        s = key.shape[1]
        heads = lambda x, n: x.reshape(b, n, self.h, e // self.h).permute(0, 2, 1, 3)
        q, k, v = heads(self.q_proj(query), l), heads(self.k_proj(key), s), heads(self.v_proj(value), s)
        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        out, w = scaled_dot_product_attention(q, k, v, mask)
        out = out.permute(0, 2, 1, 3).reshape(b, l, e)
        return self.out_proj(out), w.mean(1)
""",
        "full",
    ),
]


# A student who looks for nbgrader's gradebook and gives everyone full marks, then claims them itself.
GRADEBOOK_ATTACK = Example(
    "rewrites the gradebook",
    "smoother",
    """
import os
import sqlite3

touched = []
for top in ("/", os.path.expanduser("~"), os.getcwd(), "/tmp", "/work", "/home", "/root", "/srv"):
    for root, dirs, files in os.walk(top):
        if root.count(os.sep) > 6:
            dirs[:] = []
        for name in files:
            if name == "gradebook.db":
                path = os.path.join(root, name)
                try:
                    db = sqlite3.connect(path)
                    db.execute("UPDATE grade SET auto_score = 10, manual_score = 10")
                    db.commit()
                    touched.append(path)
                except Exception as error:
                    touched.append(f"{path}: {error}")


def gaussian_kernel(size, sigma=1.0):
    raise RuntimeError(f"gradebooks touched: {touched}")


def smooth(signal, kernel):
    raise RuntimeError(f"gradebooks touched: {touched}")
""",
    "gradebooks touched: []",
)


def notebook(part: str, code: str) -> nbformat.NotebookNode:
    """The released notebook of ``part`` with ``code`` in its first answer cell, the others left as comments."""
    nb = copy.deepcopy(nbformat.reads((resources.files("assignments") / f"{part}.ipynb").read_text(), as_version=4))
    first = True
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = code if first else "# (my answer is in the first answer cell)"
            first = False
    return nb


def by_part(examples: list[Example]) -> dict[str, list[Example]]:
    return {part: [e for e in examples if e.part == part] for part in PARTS}
