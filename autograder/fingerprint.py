"""Structural fingerprints of answer code, for finding near-identical submissions.

The code is read as Python tokens (``tokenize``: nothing is parsed or run). Comments and line
breaks inside brackets are dropped, every name becomes ``V`` (an attribute after a dot keeps its
name: ``torch.einsum`` and ``.softmax`` are what the code does, not what the student called
things), every string ``S``; keywords, operators, numbers and indentation stay. The fingerprint
is the winnowed set of hashes of its ``K``-grams (Schleimer, Wilkerson and Aiken, "Winnowing",
2003: the smallest hash of each window of ``WINDOW`` k-grams), so renaming, reformatting,
re-commenting and rewording strings change nothing, and a shared stretch of ``K + WINDOW - 1``
tokens is always seen. Two fingerprints are compared by Jaccard similarity, after the hashes of
the code every student received (the stubs) are taken out of both.
"""

from __future__ import annotations

import io
import keyword
import tokenize
import zlib

K = 10  # tokens per k-gram
WINDOW = 6  # k-grams per window
#: Pairs at least this similar are grouped. Measured on the project's own examples: renamed and
#: re-commented copies score 1.0, the reference against one of its mistakes 0.5 to 1.0, and two
#: independently written correct solutions at most 0.12 (tests/unit/test_fingerprint.py).
THRESHOLD = 0.5
#: Fewer hashes than this (once the stubs are out) is too little code to call two answers alike.
MIN_HASHES = 8

_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRING = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}
# the rest of an f-string (Python 3.12): its names and text are the student's wording
_FSTRING_REST = {getattr(tokenize, name) for name in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)}
_LAYOUT = {tokenize.NEWLINE: "\n", tokenize.INDENT: ">", tokenize.DEDENT: "<"}


def tokens(code: str) -> list[str]:
    """The normalised tokens of ``code``; as far as Python's tokenizer gets on code that is not valid."""
    out: list[str] = []
    after_dot = False
    try:
        # as Python reads a file: universal newlines (a copy with "\r" or "\r\n" line ends is the same code)
        for token in tokenize.generate_tokens(io.StringIO(code, newline=None).readline):
            kind, text = token.type, token.string
            if kind in _DROPPED or kind in _FSTRING_REST:
                continue
            if kind == tokenize.NAME:
                out.append(text if after_dot or keyword.iskeyword(text) else "V")
            elif kind in _STRING:
                out.append("S")
            else:
                out.append(_LAYOUT.get(kind, text))
            after_dot = text == "." and kind == tokenize.OP
    except (tokenize.TokenError, SyntaxError):  # an unfinished bracket, a bad dedent: what came before counts
        pass
    return out


def fingerprint(code: str) -> frozenset[int]:
    """The winnowed k-gram hashes of ``code``'s normalised tokens."""
    # each token as a number that is the same in every run (str's hash() is not), then each k-gram's
    # tuple hashed (a tuple of ints hashes the same in every run)
    seq = [zlib.crc32(t.encode("utf-8")) for t in tokens(code)]
    if len(seq) < K:
        return frozenset([hash(tuple(seq))]) if seq else frozenset()
    hashes = [hash(tuple(seq[i : i + K])) for i in range(len(seq) - K + 1)]
    if len(hashes) <= WINDOW:
        return frozenset([min(hashes)])
    chosen = set()
    for start in range(len(hashes) - WINDOW + 1):
        window = hashes[start : start + WINDOW]
        low = min(window)
        chosen.add((start + WINDOW - 1 - window[::-1].index(low), low))  # the rightmost smallest
    return frozenset(h for _, h in chosen)


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two fingerprints: 1.0 for the same structure, 0.0 for nothing shared."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def groups(
    prints: dict[str, frozenset[int]], received: frozenset[int] = frozenset(), threshold: float = THRESHOLD
) -> list[tuple[list[str], float, float]]:
    """Groups of keys whose fingerprints (less ``received``) are at least ``threshold`` alike.

    A group is a connected set of such pairs: ``(keys sorted, lowest, highest similarity of its
    pairs above the threshold)``, the largest groups first. Keys with too little code of their own
    (``MIN_HASHES``) are never grouped.
    """
    import numpy as np

    own = {key: p - received for key, p in prints.items()}
    keys = sorted(k for k, p in own.items() if len(p) >= MIN_HASHES)
    if len(keys) < 2:
        return []
    # every pair's shared hashes at once: a 0/1 matrix of keys by the hashes that two keys or more hold
    counts: dict[int, int] = {}
    for key in keys:
        for h in own[key]:
            counts[h] = counts.get(h, 0) + 1
    columns = {h: i for i, h in enumerate(h for h, n in counts.items() if n > 1)}
    held = np.zeros((len(keys), max(len(columns), 1)), dtype=np.float32)
    for row, key in enumerate(keys):
        held[row, [columns[h] for h in own[key] if h in columns]] = 1.0
    shared = held @ held.T  # (n, n): |A & B|, exact in float32 far beyond any fingerprint's size
    sizes = np.array([len(own[k]) for k in keys], dtype=np.float32)
    alike = shared / (sizes[:, None] + sizes[None, :] - shared)  # Jaccard: |A & B| / |A | B|
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(alike >= threshold - 1e-6, k=1))
    edges = [(int(i), int(j), float(alike[i, j])) for i, j in zip(rows, cols)]
    for i, j, _ in edges:
        parent[root(i)] = root(j)
    found: dict[int, tuple[set[int], list[float]]] = {}
    for i, j, score in edges:
        members, scores = found.setdefault(root(i), (set(), []))
        members.update((i, j))
        scores.append(score)
    out = [(sorted(keys[i] for i in members), min(scores), max(scores)) for members, scores in found.values()]
    return sorted(out, key=lambda g: (-len(g[0]), -g[2], g[0]))
