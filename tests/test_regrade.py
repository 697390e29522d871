"""Same submission, same grade: grading a batch again gives identical records, check by check.

The batch is the project's whole corpus (every known mistake and every correct solution written
differently) and twenty copies of a submission whose speed is near the limit: its smooth sleeps
for a good part of the time it is allowed, so a single unlucky measurement on a loaded machine
would exceed the limit. A time near the limit is measured again before it fails
(``kit.expect_fast``), so every copy, in both gradings, gets the same record. The first grading is
the session's batch of everything (tests/graded_batch.py, which test_grading.py reads), the second
grades the corpus and the copies alone, with the same options.
"""

from pathlib import Path

import pytest

from autograder.dev.corpus import comparable
from autograder.dev.examples import reference_code
from autograder.grade import grade
from tests.graded_batch import COPIES, NEAR_LIMIT


@pytest.fixture(scope="module")
def twice(graded_batch):
    """The corpus and the copies near the speed limit: (examples, first records, second records), in order.

    First in the session's batch of everything, then again alone, with the same options.
    """
    paths = list(graded_batch.corpus)
    first = {Path(r.path).name: r for r in graded_batch.report.submissions}
    second = grade(submissions=paths, progress=False)
    return list(graded_batch.corpus.values()), [first[p.name] for p in paths], second.submissions


def test_the_corpus_graded_twice_gives_identical_records(twice):
    examples, first, second = twice
    assert len(first) == len(second) == len(examples)
    differ = [e.name for e, a, b in zip(examples, first, second) if comparable(a) != comparable(b)]
    assert differ == [], "\n".join(differences(e.name, a, b) for e, a, b in zip(examples, first, second)
                                     if e.name in differ)  # fmt: skip


def differences(name: str, a, b) -> str:
    """The checks two records of ``name`` disagree on, with what each grading said of them, for the log."""
    lines = [f"{name}:"]
    for (part, one), (_, other) in zip(comparable(a), comparable(b)):
        checks = {(c.name, c.device): c for r in (a, b) for p in r.parts if p.part == part for c in p.checks}
        for x, y in zip(one, other):
            if x != y:
                said = [c.message[:400] for r in (a, b) for p in r.parts if p.part == part for c in p.checks
                        if (c.name, c.device) == x[:2]]  # fmt: skip
                lines.append(f"  first {x}\n  second {y}\n  said {said}")
        if len(one) != len(other):
            lines.append(f"  {len(one)} checks against {len(other)} ({sorted(checks)[:5]} ...)")
    return "\n".join(lines)


def test_a_submission_near_the_speed_limit_gets_one_grade_in_forty(twice):
    examples, first, second = twice
    near = [r for e, r in zip(examples, first) if e is NEAR_LIMIT]
    near += [r for e, r in zip(examples, second) if e is NEAR_LIMIT]
    assert len(near) == 2 * COPIES
    assert len({repr(comparable(r)) for r in near}) == 1
    speed = [c for c in near[0].parts[0].checks if c.group == "speed" and not c.skipped]
    assert speed  # timed on the CPU (the CUDA one is skipped without a GPU)
    assert all(c.passed for c in speed)  # 6 ms of sleep is within the limit, every time


# Each draws a number in [0, 1) from a generator the submission does not seed itself, and half the
# time returns a wrong kernel: unseeded, three copies in one run got three different grades.
DRAWS = {
    "random": "import random\ndef draw():\n    return random.random()\n",
    "numpy's global generator": "import numpy as np\ndef draw():\n    return float(np.random.rand())\n",
    "numpy's default_rng()": "import numpy as np\ndef draw():\n    return float(np.random.default_rng().random())\n",
    "os.urandom": "import os\ndef draw():\n    return os.urandom(1)[0] / 256\n",
    "torch": "def draw():\n    return float(torch.rand(()))\n",
    "random.Random()": "import random\ndef draw():\n    return random.Random().random()\n",
    "secrets and uuid4": "import secrets, uuid\ndef draw():\n    return (secrets.randbelow(128) + uuid.uuid4().bytes[0]) / 384\n",
}
WRONG_HALF_THE_TIME = """
_kernel, _smooth = gaussian_kernel, smooth


def gaussian_kernel(size, sigma=1.0):
    return _kernel(size, sigma) * (2.0 if draw() < 0.5 else 1.0)


def smooth(signal, kernel):
    return _smooth(signal, kernel) + (1.0 if draw() < 0.5 else 0.0)
"""
DRAW_COPIES = 3


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("draws")
    paths = []
    for i, code in enumerate(DRAWS.values()):
        for copy in range(DRAW_COPIES):
            path = folder / f"draw-{i}-{copy}.py"
            path.write_text(reference_code("smoother") + "\n" + code + WRONG_HALF_THE_TIME)
            paths.append(path)
    # two jobs: the copies of one kind are graded by different zygotes, in both runs
    first, second = (grade(submissions=paths, sandbox="bubblewrap", jobs=2, progress=False) for _ in range(2))
    return {Path(r.path).name: (r, s) for r, s in zip(first.submissions, second.submissions)}


@pytest.mark.parametrize("kind", list(DRAWS))
def test_a_submission_that_draws_unseeded_random_numbers_gets_one_grade(drawn, kind):
    i = list(DRAWS).index(kind)
    records = [r for copy in range(DRAW_COPIES) for r in drawn[f"draw-{i}-{copy}.py"]]
    assert all(not r.grader_error for r in records)
    assert len({repr(comparable(r)) for r in records}) == 1
    # the draws decide checks: neither full marks nor nothing (the grade is not the same by accident)
    assert 0 < records[0].score < records[0].max_score, records[0].score
