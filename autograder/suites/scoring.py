"""Points: a group's points shared by its checks that ran; a part's POINTS must add up to its total."""

from __future__ import annotations

from autograder.parts import POINTS_PER_PART
from autograder.records import Check


def check_points(part: str, points: dict[str, float]) -> None:
    """ValueError unless ``points`` (a suite's POINTS) add up to the part's total, none negative.

    A group of 0 points holds diagnostics: checks that are reported, never scored.
    """
    total = sum(points.values())
    if abs(total - POINTS_PER_PART) > 1e-9 or any(p < 0 for p in points.values()):
        raise ValueError(f"the POINTS of {part} add up to {total:g}, not {POINTS_PER_PART:g}, or one is negative")


def score(checks: list[Check], points: dict[str, float]) -> list[Check]:
    """Give each check its points: a group's points shared equally by its checks that ran."""
    ran: dict[str, int] = {}
    for check in checks:
        if not check.skipped:
            ran[check.group] = ran.get(check.group, 0) + 1
    for check in checks:
        share = 0.0 if check.skipped else points[check.group] / ran[check.group]
        check.max_points = round(share, 4)
        check.points = round(share if check.passed else 0.0, 4)
    return checks
