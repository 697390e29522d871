"""Does every file that cannot be read or parsed become its own error record, whatever it raises?"""

import json

import pytest

from autograder import submission

CRAFTED = {
    "unary.py": ("-" * 10_000 + "1", "Python's parser gives up on it (MemoryError: it is nested too deeply)"),
    "sums.py": ("1" + "+1" * 10_000, "Python's parser gives up on it (RecursionError: it is nested too deeply)"),
    "deep.ipynb": ("[" * 100_000, "it is nested too deeply to be read"),
    "cells.ipynb": (
        json.dumps({"cells": [{"cell_type": "code", "metadata": [1]}]}),
        "it is not a well-formed notebook (AttributeError: 'list' object has no attribute 'get')",
    ),
    "nocells.ipynb": (json.dumps({"cells": 3}), "it has no list of cells"),
    "latin1.py": (b"caf\xe9 = 1\n", "'utf-8' codec can't decode byte 0xe9 in position 3: invalid continuation byte"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_file_gives_an_error_record(tmp_path, name):
    data, reason = CRAFTED[name]
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    sub = submission.load(path, index=3)
    assert (sub.error, sub.code, sub.parts) == (f"could not read {name}: {reason}", "", [])
    record = sub.record()
    assert (record.score, record.error, sub.index) == (0.0, sub.error, 3)


def test_a_crafted_file_named_after_a_part_is_scored_zero_out_of_that_part(tmp_path):
    path = tmp_path / "smoother.py"
    path.write_text("-" * 10_000 + "1")
    record = submission.load(path).record()
    assert (record.score, record.max_score) == (0.0, 10.0)


def test_a_syntax_error_is_still_graded_for_every_part():
    assert submission.parts_defined("def smooth(:\n") is None


@pytest.mark.parametrize("code", ["-" * 100_000 + "1", "1" + "+1" * 1_000_000, "def f(:\n"])
def test_the_scan_for_forbidden_apis_survives_code_the_parser_gives_up_on(code):
    from autograder.suites.kit import forbidden_uses

    assert forbidden_uses(code) == set()
    assert forbidden_uses("import torch\ntorch.nn.functional.scaled_dot_product_attention") == {
        "scaled_dot_product_attention"
    }
