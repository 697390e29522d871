"""Compare two gradings of the corpus, record by record: did a change of the suites change any grade or word?

``python -m autograder.dev.corpus_diff BEFORE.json AFTER.json`` reads two reports written by
``python -m autograder.dev.corpus --json`` (before and after a change) and compares, for every
example (by its name), every field of its record: scores, and each check's name, group, device,
outcome, points, message, hint and feedback; the part's error, events, notes, flags and figures.
What differs from one run to the next by nature is left out: the file's path (a temporary folder),
the environment, and the measured times in the messages of speed checks. A speed check's outcome
depends on the machine's load: its differences (and the scores, with and without its points) are
listed apart, as timing, and fail the comparison only with ``--strict``. Prints one line per
difference; exit status 1 if there is one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

#: Times in a speed check's message ("took 3.2 ms on cpu; the reference takes 0.41 ms (allowed: 14.1 ms)").
TIMES = re.compile(r"\d+(?:\.\d+)? ms")
SPEED = "speed"


def comparable(record: dict[str, Any], group: str | None = None) -> dict[str, Any]:
    """The record without what differs between two runs of the same grading: with ``group`` "speed", only its
    speed checks and scores; else everything but them, the scores counted without their points."""
    record = {k: v for k, v in record.items() if k not in ("path", "example")}
    parts = []
    for part in record.get("parts", []):
        checks = [c for c in part.get("checks", []) if (c.get("group") == SPEED) == (group == SPEED)]
        checks = [{k: TIMES.sub("# ms", v) if isinstance(v, str) else v for k, v in c.items()} for c in checks]
        parts.append({**part, "checks": checks, "score": round(sum(c.get("points", 0.0) for c in checks), 2)})
    record["score"] = round(sum(p["score"] for p in parts), 2)
    if group == SPEED:
        return {"score": record["score"], "parts": [{"score": p["score"], "checks": p["checks"]} for p in parts]}
    return {**record, "parts": parts}


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Where ``before`` and ``after`` differ, field by field: "parts[0].checks[3].hint: '...' != '...'"."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in [*before, *(k for k in after if k not in before)]:
            found += differences(before.get(key), after.get(key), f"{where}.{key}" if where else key)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after)) for d in differences(b, a, f"{where}[{i}]")]
    return [] if before == after else [f"{where}: {str(before)[:300]!r} != {str(after)[:300]!r}"]


def by_example(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {sub["example"]["name"]: sub for sub in data["submissions"]}


def run(before_path: Path, after_path: Path, *, strict: bool = False) -> int:
    before, after = by_example(before_path), by_example(after_path)
    lines = [f"{name}: only in {before_path}" for name in before if name not in after]
    lines += [f"{name}: only in {after_path}" for name in after if name not in before]
    timing: list[str] = []
    same = 0
    for name in (n for n in before if n in after):
        found = differences(comparable(before[name]), comparable(after[name]))
        slower = differences(comparable(before[name], SPEED), comparable(after[name], SPEED))
        lines += [f"{name}: {d}" for d in found]
        timing += [f"timing: {name}: {d}" for d in slower]
        same += not found
    print("\n".join([*lines, *timing]))
    print(
        f"{same} of {len(before)} examples have the same record, speed checks aside; {len(lines)} differences; "
        f"{len(timing)} in speed checks (the machine's load)"
    )
    return 1 if lines or (strict and timing) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="a report of `python -m autograder.dev.corpus --json`")
    parser.add_argument("after", type=Path, help="another, after the change")
    parser.add_argument("--strict", action="store_true", help="a speed check that differs fails the comparison too")
    args = parser.parse_args(argv)
    return run(args.before, args.after, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
