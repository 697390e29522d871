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
from collections.abc import Iterable

K = 10  # tokens per k-gram
WINDOW = 6  # k-grams per window
#: Pairs at least this similar are grouped. Measured on the project's own examples: renamed and
#: re-commented copies score 1.0, the reference against one of its mistakes 0.5 to 1.0, and two
#: independently written correct solutions at most 0.15 (tests/unit/test_fingerprint.py).
THRESHOLD = 0.5
#: Fewer hashes than this (once the stubs are out) is too little code to call two answers alike.
MIN_HASHES = 8

_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


def tokens(code: str) -> list[str]:
    """The normalised tokens of ``code``; as far as Python's tokenizer gets on code that is not valid."""
    out: list[str] = []
    after_dot = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            kind, text = token.type, token.string
            if kind in _DROPPED:
                continue
            if kind == tokenize.NAME:
                out.append(text if keyword.iskeyword(text) or after_dot else "V")
            elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
                out.append("S")
            elif kind in (getattr(tokenize, "FSTRING_MIDDLE", -1), getattr(tokenize, "FSTRING_END", -1)):
                continue  # the rest of an f-string (Python 3.12): its names and text are the student's wording
            elif kind == tokenize.NEWLINE:
                out.append("\n")
            elif kind == tokenize.INDENT:
                out.append(">")
            elif kind == tokenize.DEDENT:
                out.append("<")
            else:
                out.append(text)
            after_dot = kind == tokenize.OP and text == "."
    except (tokenize.TokenError, SyntaxError):  # an unfinished bracket, a bad dedent: what came before counts
        pass
    return out


def _hash(gram: Iterable[str]) -> int:
    return zlib.crc32("\x1f".join(gram).encode("utf-8"))  # stable across runs, unlike hash()


def fingerprint(code: str) -> frozenset[int]:
    """The winnowed k-gram hashes of ``code``'s normalised tokens."""
    seq = tokens(code)
    if len(seq) < K:
        return frozenset([_hash(seq)]) if seq else frozenset()
    hashes = [_hash(seq[i : i + K]) for i in range(len(seq) - K + 1)]
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
    own = {key: p - received for key, p in prints.items()}
    keys = sorted(k for k, p in own.items() if len(p) >= MIN_HASHES)
    # candidates share at least one hash: an index from hash to keys avoids comparing every pair
    index: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        for h in own[key]:
            index.setdefault(h, []).append(i)
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    edges: list[tuple[int, int, float]] = []
    for i, key in enumerate(keys):
        seen: set[int] = set()
        for h in own[key]:
            seen.update(j for j in index[h] if j > i)
        for j in seen:
            score = similarity(own[key], own[keys[j]])
            if score >= threshold:
                edges.append((i, j, score))
                parent[root(i)] = root(j)
    found: dict[int, tuple[set[int], list[float]]] = {}
    for i, j, score in edges:
        members, scores = found.setdefault(root(i), (set(), []))
        members.update((i, j))
        scores.append(score)
    out = [(sorted(keys[i] for i in members), min(scores), max(scores)) for members, scores in found.values()]
    return sorted(out, key=lambda g: (-len(g[0]), -g[2], g[0]))
