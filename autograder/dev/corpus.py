"""Grade the project's own corpus: every known mistake and every correct solution written differently.

``python -m autograder.dev.corpus [--json FILE] [--twice]`` grades ``autograder.dev.examples``
(``MISTAKES`` and ``CORRECT``) as ``.py`` files in one batch and prints one line per example: its
score, and whether the verdict is right (a correct solution gets full marks; a mistake loses points
and its feedback says what the example expects). ``--twice`` grades the batch a second time and
compares the two reports check by check (same submission, same grade). Exit status 1 if a verdict
is wrong or the two gradings differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from autograder.dev.examples import CORRECT, MISTAKES, Example
from autograder.grade import grade
from autograder.records import Report, SubmissionRecord


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")[:60]


def write(examples: list[Example], folder: Path) -> list[Path]:
    paths = []
    for i, example in enumerate(examples):
        path = folder / f"{i:03d}_{example.part}_{slug(example.name)}.py"
        path.write_text(example.code, encoding="utf-8")
        paths.append(path)
    return paths


def verdict(example: Example, record: SubmissionRecord) -> str:
    """ "" when the grade is what the example expects, else what is wrong with it."""
    part = record.part(example.part)
    if part is None:
        return f"not graded: {record.error}"
    if example.expect == "full":
        lost = [c for c in part.checks if c.failed]
        return "" if part.score == part.max_score else f"lost points: {lost[0].message if lost else '?'}"
    if part.score >= part.max_score:
        return "full marks for a mistake"
    said = " ".join(f"{c.message} {c.hint}" for c in part.checks if c.failed)
    return "" if example.expect in said else f"feedback does not say {example.expect!r}"


def comparable(record: SubmissionRecord) -> list:
    """What two gradings of the same file must agree on: every check's outcome and points."""
    return [
        (p.part, [(c.name, c.device, c.passed, c.skipped, c.points, c.hint) for c in p.checks]) for p in record.parts
    ]


def run(*, json_path: Path | None, twice: bool, jobs: int | None) -> int:
    examples = MISTAKES + CORRECT
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        paths = write(examples, Path(tmp))
        reports = [grade(submissions=paths, jobs=jobs, progress=False) for _ in range(2 if twice else 1)]
    first: Report = reports[0]
    wrong = 0
    for example, record in zip(examples, first.submissions):
        part = record.part(example.part)
        score = f"{part.score:5.2f}" if part is not None else "  -  "
        problem = verdict(example, record)
        wrong += bool(problem)
        kind = "correct" if example.expect == "full" else "mistake"
        print(f"{score}  {'ok   ' if not problem else 'WRONG'}  {example.part:9} {kind:7}  {example.name}")
        if problem:
            print(f"{'':18}{problem[:200]}")
    mistakes = [r.part(e.part) for e, r in zip(examples, first.submissions) if e.expect != "full"]
    scores = [p.score for p in mistakes if p is not None]
    print(
        f"{len(examples)} examples ({len(MISTAKES)} mistakes, {len(CORRECT)} correct): {wrong} wrong verdicts; "
        f"mean score of a mistake {sum(scores) / max(len(scores), 1):.2f} / 10"
    )
    differ = 0
    if twice:
        for example, a, b in zip(examples, first.submissions, reports[1].submissions):
            if comparable(a) != comparable(b):
                differ += 1
                print(f"graded twice, different records: {example.name}")
        print(f"graded twice: {differ} of {len(examples)} records differ")
    if json_path is not None:
        data = first.to_json()
        for example, sub in zip(examples, data["submissions"]):
            sub["example"] = {"name": example.name, "part": example.part, "expect": example.expect}
        json_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 1 if wrong or differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the report, each record with its example, here")
    parser.add_argument("--twice", action="store_true", help="grade twice and compare the records")
    parser.add_argument("--jobs", type=int, help="grading jobs (default: one per core)")
    args = parser.parse_args(argv)
    return run(json_path=args.json, twice=args.twice, jobs=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
