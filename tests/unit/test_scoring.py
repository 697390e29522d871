"""Do a part's points go to the checks that ran, shared within each group, and add up to 10?"""

import pytest

from autograder.records import Check, PartResult
from autograder.suites.scoring import check_points, score

POINTS = {"matches the reference": 6.0, "speed": 3.0, "devices": 1.0}


def check(group: str, passed: bool = True, skipped: bool = False) -> Check:
    """A check as the plugin makes it, before scoring."""
    return Check(name=f"a {group} check", group=group, passed=passed and not skipped, skipped=skipped)


def part_score(checks: list[Check]) -> float:
    """The score of a part made of these checks."""
    return PartResult("smoother", checks).score


def test_a_groups_points_are_shared_equally_by_its_checks():
    checks = [check("matches the reference"), check("matches the reference", passed=False), check("speed")]
    checks.append(check("devices"))
    scored = score(checks, POINTS)
    assert [(c.points, c.max_points) for c in scored] == [(3.0, 3.0), (0.0, 3.0), (3.0, 3.0), (1.0, 1.0)]
    assert part_score(scored) == 7.0


def test_skipped_checks_get_0_of_0_and_the_others_share_their_groups_points():
    checks = [check("devices", skipped=True), check("devices"), check("devices", passed=False)]
    checks += [check("matches the reference"), check("speed")]
    scored = score(checks, POINTS)
    assert [(c.points, c.max_points) for c in scored[:3]] == [(0.0, 0.0), (0.5, 0.5), (0.0, 0.5)]
    assert part_score(scored) == 9.5


def test_shares_are_rounded_and_the_total_of_a_perfect_part_is_its_points():
    checks = [check("matches the reference") for _ in range(7)] + [check("speed") for _ in range(3)]
    checks.append(check("devices"))
    scored = score(checks, POINTS)
    assert scored[0].max_points == 0.8571
    assert scored[7].max_points == 1.0
    assert part_score(scored) == 10.0


def test_a_part_whose_checks_all_fail_scores_0():
    scored = score([check(group, passed=False) for group in POINTS], POINTS)
    assert [c.points for c in scored] == [0.0, 0.0, 0.0]
    assert part_score(scored) == 0.0


def test_a_group_of_0_points_is_reported_but_never_scored():
    points = {**POINTS, "diagnostics": 0.0}
    check_points("smoother", points)
    scored = score([check("diagnostics"), check("diagnostics", passed=False), check("devices")], points)
    assert [(c.points, c.max_points) for c in scored] == [(0.0, 0.0), (0.0, 0.0), (1.0, 1.0)]
    assert [c.failed for c in scored] == [False, True, False]


def test_points_that_add_up_to_10_are_accepted():
    check_points("smoother", POINTS)


@pytest.mark.parametrize(
    ("points", "total"),
    [({"a": 6.0, "b": 3.0}, "9"), ({"a": 6.0, "b": 4.5}, "10.5"), ({"a": 11.0, "b": -1.0}, "10"), ({}, "0")],
)
def test_points_that_do_not_add_up_to_10_or_are_negative_are_refused(points, total):
    with pytest.raises(ValueError, match="the POINTS of smoother add up to") as refused:
        check_points("smoother", points)
    assert str(refused.value) == f"the POINTS of smoother add up to {total}, not 10, or one is negative"
