"""The profile's clock (``make profile``): a phase's time is its own, less what the phases inside it took."""

import time
from collections import Counter

from autograder.dev import profile


def test_nested_phases_are_exclusive_and_the_variants_absorb_what_they_call(monkeypatch):
    for name in ("EXCLUSIVE", "INCLUSIVE", "CALLS"):
        monkeypatch.setattr(profile, name, Counter())
    with profile.phase("outer"):
        time.sleep(0.02)
        with profile.phase("inner"):
            time.sleep(0.03)
        with profile.phase("known-mistake variants"), profile.phase("reference runs"):  # inside the variants: theirs
            time.sleep(0.01)
    exclusive, inclusive, calls = profile.EXCLUSIVE, profile.INCLUSIVE, profile.CALLS
    assert set(exclusive) == {"outer", "inner", "known-mistake variants"}
    assert exclusive["inner"] >= 0.03
    assert exclusive["known-mistake variants"] >= 0.01
    assert 0.02 <= exclusive["outer"] < inclusive["outer"]
    total = sum(exclusive.values())
    assert abs(total - inclusive["outer"]) < 1e-9
    assert calls == {"outer": 1, "inner": 1, "known-mistake variants": 1}
