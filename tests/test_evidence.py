"""Can a submission earn points with evidence from inside the sandbox, or read the hidden inputs? It must not.

Each attack below returns right results (or tries to), and cheats on one check: it changes its inputs
where only the sandbox sees it, makes the speed check's measurements lie, reaches a forbidden API by
another path, forges its record of where its tensors live, or prints the hidden inputs in its messages. They are
graded in one batch, in bubblewrap, with honest submissions after them that must keep full marks.
"""

import json
import re

import pytest

from autograder.dev.examples import reference_code
from autograder.grade import grade
from autograder.sandbox.launch import Limits

ATTENTION = reference_code("attention")
SMOOTHER = reference_code("smoother")
VOCAB = reference_code("vocab")
MASKING = reference_code("masking")


def replaced(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new, 1)


SLOW_ATTENTION = """
import time


def scaled_dot_product_attention(query, key, value, mask=None):
    time.sleep(0.2)  # a slow implementation, as far as the speed check can tell
    return _reference(query, key, value, mask)
"""

ATTACKS = {
    "smooth unsqueezes its signal in place": replaced(
        SMOOTHER, "    return out.reshape(*signal.shape[:-1], length - size + 1)",
        "    result = out.reshape(*signal.shape[:-1], length - size + 1)\n    signal.unsqueeze_(0)\n    return result",
    ),
    "attention transposes its key in place": replaced(
        ATTENTION, "    return weights @ value, weights", "    out = weights @ value\n    key.transpose_(-2, -1)\n"
        "    return out, weights",
    ),
    "a slow attention that slows the grader's echo": ATTENTION.replace(
        "def scaled_dot_product_attention(", "def _reference(", 1
    ) + SLOW_ATTENTION + """
import sys

_child = sys.modules["sandbox.inside.child"].Child
_echo = _child.op_echo


def _slow_echo(self, message):
    time.sleep(0.3)  # the overhead the grader subtracts, if it measures it here
    return _echo(self, message)


_child.op_echo = _slow_echo
""",
    "a slow attention that caches its results": ATTENTION.replace(
        "def scaled_dot_product_attention(", "def _slow(", 1
    ) + """
import time

_cache = {}


def scaled_dot_product_attention(query, key, value, mask=None):
    seen = (query.shape, float(query.double().sum()), float(key.double().sum()))
    if seen not in _cache:
        time.sleep(0.2)
        _cache[seen] = _slow(query, key, value, mask)
    return _cache[seen]
""",
    "attention through torch.ops.aten": replaced(
        ATTENTION, "    return weights @ value, weights",
        "    out = torch.ops.aten.scaled_dot_product_attention(query, key, value, None if mask is None else ~mask)\n"
        "    return out, weights",
    ),
    "attention with the torch function mode off": replaced(
        ATTENTION, "    return weights @ value, weights",
        "    with torch._C.DisableTorchFunction():\n"
        "        out = F.scaled_dot_product_attention(query, key, value, None if mask is None else ~mask)\n"
        "    return out, weights",
    ),
    "a subclass of nn.MultiheadAttention": replaced(
        MASKING, "        self.out_proj = nn.Linear(embed_dim, embed_dim)\n",
        "        self.out_proj = nn.Linear(embed_dim, embed_dim)\n"
        "        self.helper = Helper(embed_dim, num_heads, batch_first=True)\n",
    ) + "\n\nclass Helper(nn.MultiheadAttention):\n    pass\n",
    "attention that forges a clean device record": replaced(
        ATTENTION, "    scale = 1.0 / math.sqrt(query.shape[-1])",
        "    import sys\n"
        "    sys.modules['sandbox.inside.watch']._note = lambda *a: None\n"
        "    scale = 1.0 / torch.tensor([query.shape[-1]], dtype=query.dtype).sqrt()",
    ),
    "a wrong attention that forges a clean device record": replaced(
        ATTENTION, "    scale = 1.0 / math.sqrt(query.shape[-1])",
        "    import sys\n"
        "    sys.modules['sandbox.inside.watch']._note = lambda *a: None\n"
        "    scale = 1.1 / torch.tensor([query.shape[-1]], dtype=query.dtype).sqrt()",
    ),
    "build_vocab that prints its corpus": replaced(
        VOCAB, "    if max_size < 2:", "    if len(corpus) > 5:\n        raise ValueError(repr(corpus))\n    if max_size < 2:"
    ),
    "attention that prints its inputs": replaced(
        ATTENTION, "    scale = 1.0 / math.sqrt(query.shape[-1])",
        "    if query.shape[0] > 1:\n        raise ValueError(f'{query} {key}')\n    scale = 1.0 / math.sqrt(query.shape[-1])",
    ),
}  # fmt: skip
HONEST = {part: reference_code(part) for part in ("smoother", "vocab", "attention", "masking")}


def outcomes(record) -> list:
    return [(p.part, c.name, c.device, c.passed, c.skipped, c.points) for p in record.parts for c in p.checks]


def checks(record, name: str = "", group: str = ""):
    return [c for p in record.parts for c in p.checks if name in c.name and group in c.group]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evidence")
    paths = {}
    for name, code in {**ATTACKS, **{f"honest {part}": code for part, code in HONEST.items()}}.items():
        paths[name] = folder / (name.replace(" ", "-").replace(".", "") + ".py")
        paths[name].write_text(code)
    limits = Limits(call_timeout=30.0, submission_timeout=300.0)
    report = grade(submissions=list(paths.values()), jobs=1, progress=False, limits=limits)
    alone = grade(
        submissions=[paths[f"honest {part}"] for part in HONEST], jobs=1, progress=False, limits=limits
    ).submissions
    return dict(zip(paths, report.submissions)), dict(zip(HONEST, alone)), json.dumps(report.to_json())


def test_the_batch_ran_in_bubblewrap(graded, bwrap):
    _records, _, text = graded
    assert json.loads(text)["environment"]["sandbox"] == "bubblewrap"


@pytest.mark.parametrize("part", list(HONEST))
def test_honest_submissions_after_the_attacks_keep_full_marks_and_their_records(graded, part):
    records, alone, _ = graded
    record = records[f"honest {part}"]
    assert record.score == record.max_score
    assert [o[:5] for o in outcomes(record)] == [o[:5] for o in outcomes(alone[part])]


@pytest.mark.parametrize(
    ("attack", "argument"),
    [("smooth unsqueezes its signal in place", "signal"), ("attention transposes its key in place", "key")],
)
def test_an_input_changed_only_in_its_metadata_fails_inputs_unchanged(graded, attack, argument):
    records, _, _ = graded
    (check,) = checks(records[attack], group="inputs unchanged")
    assert not check.passed
    assert f"changed its input {argument} in place" in check.message
    assert all(c.passed for c in checks(records[attack], group="matches the reference") if not c.skipped)


@pytest.mark.parametrize(
    "attack", ["a slow attention that slows the grader's echo", "a slow attention that caches its results"]
)
def test_speed_is_measured_by_the_grader_on_inputs_never_seen(graded, attack):
    records, _, _ = graded
    (speed,) = [c for c in checks(records[attack], group="speed") if not c.skipped]
    assert not speed.passed
    assert "took" in speed.message
    assert "the reference takes" in speed.message


@pytest.mark.parametrize(
    ("attack", "flag"),
    [
        ("attention through torch.ops.aten", "it reaches into torch internals (torch.ops)"),
        ("attention with the torch function mode off", "it switches torch function modes off (DisableTorchFunction)"),
    ],
)
def test_a_forbidden_api_reached_another_way_fails_loudly_and_is_flagged(graded, attack, flag):
    records, _, _ = graded
    record = records[attack]
    assert record.score < 3.0
    matches = checks(record, group="matches the reference")
    assert not any(c.passed for c in matches)
    assert any("does not allow" in c.message for c in matches)
    assert flag in record.parts[0].flags


def test_a_subclass_of_multihead_attention_cannot_be_built(graded):
    records, _, _ = graded
    masking = next(p for p in records["a subclass of nn.MultiheadAttention"].parts if p.part == "masking")
    assert masking.score < 5.0
    assert any("does not allow nn.MultiheadAttention" in c.message for c in masking.checks)


def test_a_forged_device_record_earns_nothing_that_right_code_would_not(graded):
    """Does a child that silences its record of tensors on the default device earn only what honest code earns?"""
    records, _, _ = graded
    honest = checks(records["attention that forges a clean device record"], group="device portability")
    wrong = checks(records["a wrong attention that forges a clean device record"], group="device portability")
    recorded = [c for c in honest if c.device == "cpu"]
    assert recorded
    assert all(c.passed for c in recorded)
    assert all(not c.passed for c in wrong if not c.skipped)  # a record can pass nothing on wrong values
    assert any(not c.skipped for c in wrong)


def test_messages_never_show_the_hidden_corpus(graded):
    from autograder.suites.vocab import SHOWN, SYLLABLES

    records, _, _ = graded
    failed = [c for c in checks(records["build_vocab that prints its corpus"]) if c.failed]
    assert any("raised ValueError" in c.message and "<a hidden word>" in c.message for c in failed)
    # every word of a hidden corpus is two syllables, perhaps capitalised, numbered or with a comma
    word = re.compile(r"(?<!\w)(?:" + "|".join(SYLLABLES) + r"){2}\d*(?!\w)", re.IGNORECASE)
    shown = {w for c in failed for w in word.findall(c.message + " " + c.hint)} - SHOWN
    assert not shown


def test_messages_never_show_hidden_tensor_values(graded):
    records, _, _ = graded
    failed = [c for c in checks(records["attention that prints its inputs"]) if c.failed]
    raised = [c for c in failed if "raised ValueError" in c.message]
    assert raised
    assert all("tensor(...)" in c.message and "tensor([" not in c.message for c in raised)
