"""Do the pictures show where a result differs most, say so, and colour '<pad>' and '<unk>' apart?"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from autograder.suites import attention, pictures
from autograder.suites.notebook_data import FIRST_SENTENCE


def test_the_sentence_drawn_is_where_the_weights_differ_most_a_nan_counting_most():
    expected = torch.zeros(3, 7, 7)
    got = expected.clone()
    got[0, 1, 1] = 0.5
    got[2, 0, 0] = math.nan
    assert pictures.most_different(got, expected) == (2, math.inf)
    got[2, 0, 0] = 0.0
    assert pictures.most_different(got, expected) == (0, 0.5)


def test_the_caption_says_where_the_weights_differ_most_or_that_they_are_equal_there():
    q, k, v, m = attention.inputs("notebook example", 0)
    expected = attention.reference(q, k, v, m)
    wrong = attention.attend(q, k, v, m, dim=-2)
    (picture,) = pictures.weights_picture({"weights": {"got": wrong, "expected": expected}}, plt, "attention")
    assert picture["title"].endswith("on the sentence where they differ most")
    same = {"weights": {"got": expected, "expected": expected, "labels": FIRST_SENTENCE}}
    (picture,) = pictures.weights_picture(same, plt, "attention")
    assert picture["title"].endswith(
        "your weights equal the reference's there; the checks that failed used other inputs"
    )


def test_pad_and_unk_get_colours_of_their_own():
    tokens = torch.tensor([[4, 1, 0], [1, 0, 0]])
    assert pictures.token_categories(tokens).tolist() == [[2, 1, 0], [1, 0, 0]]
    assert len(set(pictures.TOKEN_COLOURS.values())) == 3
