"""Does a list argument changed in place lose "inputs unchanged", whatever the child says of itself?

The grader keeps its own copy of what it sent; the child gives back each list or dict argument as it
is after the call (``child._containers``), and the grader compares (``student._changed_containers``).
"""

from __future__ import annotations

import copy
import types

import pytest

from autograder.dev.examples import MISTAKES, reference_code
from autograder.sandbox.inside.child import _containers
from autograder.sandbox.student import _changed_containers
from autograder.suites.notebook_data import CORPUS
from autograder.suites.vocab import corpus_to_keep
from solutions.vocab import build_vocab

IN_PLACE = {
    "the corpus sorted in place": "build_vocab",
    "the corpus stripped in place": "build_vocab",
    "the corpus's specials removed in place": "build_vocab",
    "tokenize empties the corpus as it reads it": "tokenize",
}


def loaded(code: str) -> types.ModuleType:
    module = types.ModuleType("submission")
    exec(compile(code, "<submission>", "exec"), module.__dict__)
    return module


def changed(module: types.ModuleType, name: str, corpus: list[str]) -> list[int | str]:
    """What the grader finds changed when ``name`` runs in the child on (what the wire makes of) ``corpus``."""
    second = 11 if name == "build_vocab" else build_vocab(corpus, 11)
    in_the_child = copy.deepcopy(corpus)  # the wire sends a copy; the grader's stays as it was
    getattr(module, name)(in_the_child, second)
    return _changed_containers(_containers([in_the_child, second], {}), (corpus, second), {})


@pytest.mark.parametrize("example", list(IN_PLACE))
def test_a_list_changed_in_place_is_found(example):
    code = next(e.code for e in MISTAKES if e.name == example)
    assert changed(loaded(code), IN_PLACE[example], corpus_to_keep(0)) == [0]  # the suite's corpus


@pytest.mark.parametrize("name", ["build_vocab", "tokenize"])
def test_the_reference_changes_nothing(name):
    assert changed(loaded(reference_code("vocab")), name, corpus_to_keep(0)) == []


def test_a_child_that_gives_back_nothing_or_the_original_takes_nothing_away():
    """A forged state passes this comparison, as honest code does: the check still needs a right result."""
    corpus = list(CORPUS)
    assert _changed_containers({}, (corpus, 11), {}) == []
    assert _changed_containers({"0": list(CORPUS)}, (corpus, 11), {}) == []
    assert _changed_containers("not a dict", (corpus, 11), {}) == []
    assert _changed_containers({"0": sorted(CORPUS)}, (corpus, 11), {}) == [0]
