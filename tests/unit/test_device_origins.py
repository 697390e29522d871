"""Does the watch record every tensor made on the default device that a GPU would refuse, and nothing else?

Run in-process (the watch is what the sandboxed child runs around each call): the code runs on
ordinary CPU inputs, and what it computes is unchanged.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.sandbox.inside.watch import Watch, found, on_host, returned_from_host


def run(fn, *args, host=()):
    """fn(*args) under the watch, as the child runs it: (its result, what was recorded)."""
    found()
    args = list(args)
    on_host(args, list(host))
    with Watch({}):
        result = fn(*args)
    returned_from_host(result)
    return result, [(kind, made_by, op) for kind, made_by, _file, _line, op in found()]


def reference_smooth(signal, kernel):
    weight = kernel.to(device=signal.device, dtype=signal.dtype).view(1, 1, -1)
    return F.conv1d(signal.reshape(-1, 1, signal.shape[-1]), weight)


CASES = {
    "the reference, kernel on the CPU": (reference_smooth, []),
    "a kernel cast but not moved": (
        lambda s, k: F.conv1d(s.reshape(-1, 1, s.shape[-1]), k.to(dtype=s.dtype).view(1, 1, -1)),
        [("mix", "input_1", "conv1d")],
    ),
    "a kernel moved with type_as": (lambda s, k: F.conv1d(s[:, None], k.type_as(s).view(1, 1, -1)), []),
    "a CPU tensor for sqrt(D)": (
        lambda s, k: s * (1 / torch.tensor([s.shape[-1]], dtype=s.dtype).sqrt()),
        [("mix", "torch.tensor", "mul")],
    ),
    "a 0-dim CPU tensor (CUDA takes CPU scalars)": (lambda s, k: s / torch.tensor(s.shape[-1]).sqrt(), []),
    "a Python number": (lambda s, k: s / math.sqrt(s.shape[-1]), []),
    "zeros returned": (lambda s, k: torch.zeros(s.shape), [("result", "torch.zeros", "")]),
    "zeros on the input's device": (lambda s, k: torch.zeros(s.shape, device=s.device) + s, []),
    "zeros_like and new_zeros": (lambda s, k: torch.zeros_like(s) + s.new_zeros(s.shape), []),
    "a device named by a string": (lambda s, k: torch.ones(s.shape, device="cpu") * s, [("mix", "torch.ones", "mul")]),
    "arange compared with lengths": (
        lambda s, k: torch.arange(s.shape[-1]) < s[:, :1],
        [("mix", "torch.arange", "lt")],
    ),
    "arange on the input's device": (lambda s, k: torch.arange(s.shape[-1], device=s.device) < s[:, :1], []),
    "a result moved to the CPU": (lambda s, k: (s * 2).cpu(), [("result", ".cpu()", "")]),
    "a result moved with to('cpu')": (lambda s, k: s.to("cpu") * 2, [("result", ".to()", "")]),
    "a CPU tensor in a list (torch.cat)": (
        lambda s, k: torch.cat([s, torch.zeros(s.shape[0], 1)], -1),
        [("mix", "torch.zeros", "cat")],
    ),
    "a round trip through a list": (lambda s, k: torch.tensor(s.tolist()) + 1, [("result", "torch.tensor", "")]),
    "a module made inside (its parameters move with it)": (
        lambda s, k: (torch.manual_seed(0), torch.nn.Linear(50, 3)(s))[1],
        [],
    ),
    "a branch on the device type sees an ordinary CPU call": (
        lambda s, k: (torch.zeros(s.shape) if s.device.type == "cpu" else torch.ones(s.shape)) + s,
        [("mix", "torch.zeros", "add")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_watch_records_what_a_gpu_would_refuse(case):
    fn, expected = CASES[case]
    g = torch.Generator().manual_seed(0)
    signal, kernel = torch.randn(4, 50, generator=g), torch.rand(5, generator=g)
    plain = fn(signal, kernel)
    result, recorded = run(fn, signal, kernel, host=[1])
    assert recorded == expected
    assert torch.equal(result, plain)  # the watch changes nothing the code computes


def example(name: str):
    """The namespace of one example of the corpus, loaded in this process."""
    from autograder.dev.examples import CARRIED_FORWARD, MISTAKES

    code = next(e.code for e in [*MISTAKES, *CARRIED_FORWARD] if e.name == name)
    namespace: dict = {}
    exec(compile(code, "<submission>", "exec"), namespace)
    return namespace


def test_the_device_mistakes_of_the_examples_are_recorded():
    from autograder.suites import attention, masking

    tokens = masking.random_tokens((4, 9), 0)
    _, recorded = run(example("padding mask rebuilt with torch.tensor")["padding_mask"], tokens)
    assert recorded == [("result", "torch.tensor", "")]
    q, k, v, m = attention.inputs("3-D, padding mask", 0)
    fn = example("zeros for the ignored keys made with torch.zeros")["scaled_dot_product_attention"]
    assert run(fn, q, k, v, m)[1] == [("mix", "torch.zeros", "where")]
    q, k, v, m = masking.random_inputs(2, 4, 6, 8, 0)
    module = example("key padding mask moved to the CPU")["MultiHeadAttention"](8, 2)
    assert run(lambda *a: module(*a, key_padding_mask=m), q, k, v)[1] == [("mix", ".cpu()", "masked_fill")]


def test_a_device_mistake_of_the_copied_attention_is_recorded_at_the_same_place_alone():
    """Part 4 charges the copied attention's device bug in part 3 only: the record of the module and that of
    the attention alone on the heads name the same place."""
    from autograder.suites import masking

    code = example("right MHA over an attention with a CPU tensor for sqrt(D)")
    q, k, v, m = masking.random_inputs(2, 4, 6, 8, 0)
    ref = masking.reference_module(8, 2, 1)
    module = code["MultiHeadAttention"](8, 2)
    module.load_state_dict(ref.state_dict())
    found()
    with Watch({}):
        module(q, k, v, key_padding_mask=m)
    in_module = {tuple(o[1:4]) for o in found()}
    with Watch({}):
        code["scaled_dot_product_attention"](*masking.heads_of(ref, q, k, v, m))
    alone = {tuple(o[1:4]) for o in found()}
    assert in_module
    assert in_module == alone


def test_a_fill_that_overflows_float16_fails_on_the_cpu():
    from autograder.suites import attention

    fn = example("-1e9 fill, ignored keys zeroed after (overflows float16)")["scaled_dot_product_attention"]
    q, k, v, m = attention.inputs("4-D heads, padding mask", 0, torch.float16)
    attention.reference(q, k, v, m)
    with pytest.raises(RuntimeError, match="overflow"):
        fn(q, k, v, m)
