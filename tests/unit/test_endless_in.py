"""`word in v` on an object without __contains__: answered as Python answers it, and an endless one said at once."""

import math

import pytest

from autograder.sandbox import protocol
from autograder.sandbox.inside.child import EndlessIn, contained


class AnswersEverything:
    """A vocabulary without __contains__ whose __getitem__ answers every key (the corpus's mistake)."""

    def __getitem__(self, key):
        return 1


class Sequence:
    """Items read by index until IndexError, as Python's `in` reads an object without __contains__ or __iter__."""

    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]


class Iterable:
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class Contains(AnswersEverything):
    def __contains__(self, key):
        return key == "bank"


def test_an_in_that_would_never_end_raises_the_type_the_grader_knows():
    assert EndlessIn.__name__ == protocol.ENDLESS_IN
    with pytest.raises(EndlessIn):
        contained(AnswersEverything(), "bank")


@pytest.mark.parametrize("key", ["bank", "river", "<unk>", 3, None])
@pytest.mark.parametrize("make", [Sequence, Iterable, list, tuple, set, dict.fromkeys, str])
def test_every_other_in_gives_what_python_gives(make, key):
    obj = make(["the", "bank", "of", "the", "river"]) if make is not str else "the bank"
    try:
        expected = key in obj
    except TypeError as error:
        with pytest.raises(type(error)):
            contained(obj, key)
    else:
        assert contained(obj, key) is expected


def test_a_sequence_read_to_just_below_the_limit_is_answered():
    items = [*range(protocol.ENDLESS_IN_READS - 2), "bank"]
    long = Sequence(items)
    assert contained(long, "bank") is True
    assert contained(long, "river") is False  # the IndexError after the last item ends it, as in Python


def test_identity_before_equality_and_an_own_contains_wins():
    nan = math.nan
    assert contained(Sequence([nan]), nan) is (nan in [nan]) is True
    assert contained(Contains(), "bank") is True
    assert contained(Contains(), "river") is False  # its own __contains__, though __getitem__ answers everything


def test_an_object_python_cannot_search_raises_as_python_does():
    with pytest.raises(TypeError):
        contained(object(), "bank")
    with pytest.raises(TypeError):
        _ = "bank" in object()
