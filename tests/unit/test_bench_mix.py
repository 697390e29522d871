"""The bench's synthetic mix of submissions (the bench itself runs in tests/test_bench.py)."""

from autograder.dev.bench import synthetic


def test_the_synthetic_mix_covers_every_part_and_kind():
    subs = synthetic(20)
    assert {part for part, _ in subs} == {"smoother", "vocab", "attention", "masking"}
    assert sum(code is None for _, code in subs) == 4
    assert len({code for _, code in subs if code is not None}) >= 12
