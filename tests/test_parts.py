"""Is a part one registry entry, one solution, one suite? A toy fifth part is graded like the four."""

import textwrap

import pytest

from autograder.grade import grade
from autograder.parts import PARTS, Part
from autograder.sandbox.launch import Limits

SOLUTION = '''
import torch


def double(x):
    """2 x, same shape, device and dtype."""
    return 2 * x
'''

SUITE = '''
"""Hidden suite of the toy part: double."""

import torch

from autograder.suites.compare import expect_same
from autograder.suites.plugin import group
from toy_solution import double

POINTS = {"matches the reference": 8.0, "edge cases and bad input": 2.0}


@group("matches the reference")
def test_double_matches_the_reference(student):
    """double matches the reference"""
    x = torch.arange(6.0).reshape(2, 3)
    expect_same(student.call("double", x), double(x), call="double(x (2, 3))")


@group("edge cases and bad input")
def test_double_of_an_empty_tensor(student):
    """double of an empty tensor"""
    x = torch.zeros(0)
    expect_same(student.call("double", x), double(x), call="double(x (0,))")
'''


@pytest.fixture
def toy_part(tmp_path, monkeypatch):
    """A fifth part: its solution module, its suite file, and its registry entry (nothing else changes)."""
    (tmp_path / "toy_solution.py").write_text(SOLUTION)
    suite = tmp_path / "toy.py"
    suite.write_text(textwrap.dedent(SUITE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(PARTS, "toy", Part("toy", ("double",), suite=suite))
    return tmp_path


def test_a_toy_part_is_graded_from_its_registry_entry_and_suite(toy_part, tmp_path):
    right = tmp_path / "right.py"
    right.write_text("def double(x):\n    return x + x\n")
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def double(x):\n    return x * 3\n")
    report = grade(submissions=[right, wrong], jobs=1, progress=False, limits=Limits(call_timeout=30))
    right_record, wrong_record = report.submissions
    assert [p.part for p in right_record.parts] == ["toy"]
    assert (right_record.score, right_record.max_score) == (10.0, 10.0)
    assert wrong_record.score == 2.0
    failed = [c for c in wrong_record.parts[0].checks if c.failed]
    assert [c.name for c in failed] == ["double matches the reference"]
    assert failed[0].message.startswith("double(x (2, 3)): the result: values differ")
