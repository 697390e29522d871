"""Does every suite have the one skeleton of ``suites/kit.py``: its tools from the kit alone, POINTS keyed by the
kit's groups, one MISTAKES keyed by its functions, one ``expect_<function>`` per function, ``inputs``?"""

import ast
import inspect
import re

import pytest
import torch

from autograder.parts import PARTS, suite_module
from autograder.suites import kit

GROUPS = {kit.MATCHES, kit.SHAPES, kit.EDGE_CASES, kit.GRADIENTS, kit.DEVICES, kit.UNCHANGED}
GROUPS |= {kit.APIS, kit.SPEED}
#: What a suite may import besides the kit: its reference, torch, pytest and the standard library.
ALLOWED = ("autograder.suites.kit", "solutions.", "torch", "pytest")


def imported(part: str) -> list[str]:
    tree = ast.parse(PARTS[part].suite_path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("part", list(PARTS))
def test_a_suite_imports_its_tools_from_the_kit_alone(part):
    others = [n for n in imported(part) if n.startswith("autograder") and n != "autograder.suites.kit"]
    assert others == []


@pytest.mark.parametrize("part", list(PARTS))
def test_a_suites_points_are_the_kits_groups(part):
    suite = suite_module(part)
    assert set(suite.POINTS) <= GROUPS
    for name, test in inspect.getmembers(suite, inspect.isfunction):
        if name.startswith("test_"):
            marks = [m for m in getattr(test, "pytestmark", []) if m.name == "group"]
            assert [m.args[0] in suite.POINTS for m in marks] == [True], name


@pytest.mark.parametrize("part", list(PARTS))
def test_a_suite_has_one_mistakes_and_one_expect_per_function(part):
    suite = suite_module(part)
    names = PARTS[part].names
    assert list(suite.MISTAKES) == list(names)
    assert all(suite.MISTAKES[name] and all(isinstance(m, kit.Mistake) for m in suite.MISTAKES[name]) for name in names)
    for name in names:
        expect = getattr(suite, "expect_" + re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower())
        assert next(iter(inspect.signature(expect).parameters)) == "student"
    assert not [n for n in vars(suite) if n.endswith("_MISTAKES")]


def tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, torch.nn.Module):
        return list(value.state_dict().values())
    return [t for v in value for t in tensors(v)] if isinstance(value, (tuple, list)) else []


@pytest.mark.parametrize("part", [p for p in PARTS if hasattr(suite_module(p), "CASES")])
def test_the_named_cases_are_built_by_inputs_the_same_way_every_time(part):
    suite = suite_module(part)
    assert list(inspect.signature(suite.inputs).parameters) == ["case", "seed", "dtype", "device"]
    for case in suite.CASES:
        first, again, other = suite.inputs(case, 0), suite.inputs(case, 0), suite.inputs(case, 1, torch.float64)
        assert all(torch.equal(a, b) for a, b in zip(tensors(first), tensors(again), strict=True))
        if not tensors(first):  # inputs of text (vocab's corpora)
            assert first == again
            assert first is not again  # a new list each time: a check that changes it changes no other's
        assert [t.shape for t in tensors(first)] == [t.shape for t in tensors(other)]


@pytest.mark.parametrize("part", PARTS)
def test_every_attempt_helper_takes_the_result_first_and_expected_by_keyword(part):
    """``attempt_<function>(got, *inputs, expected=...)``: one contract for what counts as an honest attempt."""
    suite = suite_module(part)
    helpers = [getattr(suite, n) for n in vars(suite) if n.startswith("attempt_") and callable(getattr(suite, n))]
    assert helpers
    for helper in helpers:
        parameters = inspect.signature(helper).parameters
        assert next(iter(parameters)) == "got", helper.__name__
        assert parameters["expected"].kind is inspect.Parameter.KEYWORD_ONLY, helper.__name__
        functions = {re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower() for name in suite.MISTAKES}
        assert helper.__name__.removeprefix("attempt_") in functions, helper.__name__
