"""Does the fingerprint see through renaming and rewording, and keep solutions written apart apart?"""

import itertools
import json

import pytest

from autograder.dev.examples import CORRECT, MISTAKES, disguised, reference_code
from autograder.fingerprint import MIN_HASHES, THRESHOLD, fingerprint, groups, similarity, tokens
from autograder.parts import PARTS
from autograder.submission import notebook_answers
from tests.conftest import ROOT

ORIGINAL = '''
def smooth(signal, kernel):
    """Smooth it."""
    # the kernel, on the signal's device
    weight = kernel.to(signal.device)
    rows = signal.reshape(-1, 1, signal.shape[-1])
    out = F.conv1d(rows, weight.view(1, 1, -1))
    return out.reshape(*signal.shape[:-1], -1)
'''

REWORDED = '''
def smooth(s, k):
    """My own smoothing function, written at 3 am."""
    w = k.to(s.device)     # move it

    r = s.reshape(-1, 1,
                  s.shape[-1])
    o = F.conv1d(r, w.view(1, 1, -1))
    return o.reshape(*s.shape[:-1], -1)
'''


def stubs():
    found = frozenset()
    for part in PARTS:
        found |= fingerprint(notebook_answers(json.loads((ROOT / "assignments" / f"{part}.ipynb").read_text()))[0].code)
    return found


def independent(part):
    return {"reference": reference_code(part)} | {e.name: e.code for e in CORRECT if e.part == part}


def test_names_comments_layout_and_strings_do_not_change_the_fingerprint():
    assert tokens(ORIGINAL) == tokens(REWORDED)
    assert similarity(fingerprint(ORIGINAL), fingerprint(REWORDED)) == 1.0


def test_what_the_code_calls_does_change_it():
    other = ORIGINAL.replace("F.conv1d(rows, weight.view(1, 1, -1))", "torch.stack([rows[..., i] for i in range(3)])")
    assert similarity(fingerprint(ORIGINAL), fingerprint(other)) < 1.0
    assert "conv1d" in tokens(ORIGINAL)
    assert "weight" not in tokens(ORIGINAL)


def test_code_that_does_not_tokenize_gives_what_came_before():
    assert tokens("def f(x):\n    return (x +") == ["def", "V", "(", "V", ")", ":", "\n", ">", "return", "(", "V", "+"]


@pytest.mark.parametrize("part", list(PARTS))
def test_no_two_solutions_written_independently_come_near_the_threshold(part):
    received = stubs()
    prints = {name: fingerprint(code) - received for name, code in independent(part).items()}
    for a, b in itertools.combinations(prints, 2):
        assert similarity(prints[a], prints[b]) < THRESHOLD - 0.1, (a, b)  # a margin below the flag
    assert groups(prints) == []


@pytest.mark.parametrize("part", list(PARTS))
def test_a_disguised_copy_of_every_solution_is_found(part):
    received = stubs()
    for name, code in independent(part).items():
        copy = disguised(code, "eve")
        assert copy != code
        compile(copy, name, "exec")
        assert similarity(fingerprint(code) - received, fingerprint(copy) - received) == 1.0


def test_a_mistake_of_one_edit_stays_nearer_the_reference_than_independent_solutions_come():
    received = stubs()
    for m in MISTAKES:
        ref = fingerprint(reference_code(m.part)) - received
        assert similarity(ref, fingerprint(m.code) - received) > THRESHOLD / 2, m.name


def test_the_stubs_alone_are_too_little_code_to_group():
    received = stubs()
    code = notebook_answers(json.loads((ROOT / "assignments" / "masking.ipynb").read_text()))[0].code
    assert len(fingerprint(code) - received) < MIN_HASHES
    assert groups({"ann": fingerprint(code), "bob": fingerprint(code)}, received) == []


def test_groups_join_pairs_that_chain_and_say_how_alike_they_are():
    base = [f"x{i} = {i} * y + z{i}" for i in range(40)]
    a = "\n".join(base)
    b = "\n".join(base[:36] + ["w = 1"] * 4)  # most of a
    c = "\n".join(base[4:] + ["v = 2"] * 4)  # most of a, another part of it
    d = "\n".join(f"def f{i}(q):\n    return [q for q in range({i})]" for i in range(40))
    prints = {"ann": fingerprint(a), "bob": fingerprint(b), "cat": fingerprint(c), "dan": fingerprint(d)}
    [(members, low, high)] = groups(prints)
    assert members == ["ann", "bob", "cat"]
    assert THRESHOLD <= low <= high < 1.0
    assert groups(prints, threshold=1.01) == []
