"""Compare two gradings of the corpus, record by record: did a change of the suites change any grade or word?

``python -m autograder.dev.corpus_diff BEFORE.json AFTER.json`` reads two reports written by
``python -m autograder.dev.corpus --json`` (before and after a change) and compares, for every
example (by its name), every field of its record: scores, and each check's name, group, device,
outcome, points, message, hint and feedback; the part's error, events, notes, flags and figures.
What differs from one run to the next by nature is left out: the file's path (a temporary folder),
the environment, and the measured times in the messages of speed checks (their outcome is
compared). Prints one line per difference; exit status 1 if there is one.
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


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what differs between two runs of the same grading."""
    record = {k: v for k, v in record.items() if k not in ("path", "example")}
    parts = []
    for part in record.get("parts", []):
        checks = []
        for check in part.get("checks", []):
            if check.get("group") == "speed":
                check = {k: TIMES.sub("# ms", v) if isinstance(v, str) else v for k, v in check.items()}
            checks.append(check)
        parts.append({**part, "checks": checks})
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


def run(before_path: Path, after_path: Path) -> int:
    before, after = by_example(before_path), by_example(after_path)
    lines = [f"{name}: only in {before_path}" for name in before if name not in after]
    lines += [f"{name}: only in {after_path}" for name in after if name not in before]
    same = 0
    for name in (n for n in before if n in after):
        found = differences(comparable(before[name]), comparable(after[name]))
        lines += [f"{name}: {d}" for d in found]
        same += not found
    print("\n".join(lines))
    print(f"{same} of {len(before)} examples have the same record; {len(lines)} differences")
    return 1 if lines else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="a report of `python -m autograder.dev.corpus --json`")
    parser.add_argument("after", type=Path, help="another, after the change")
    args = parser.parse_args(argv)
    return run(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
