"""Same submission, same grade: grading a batch again gives identical records, check by check.

The batch is the project's whole corpus (every known mistake and every correct solution written
differently) and twenty copies of a submission whose speed is near the limit: its smooth sleeps
for a good part of the time it is allowed, so a single unlucky measurement on a loaded machine
would exceed the limit. A time near the limit is measured again before it fails
(``kit.expect_fast``), so every copy, in both gradings, gets the same record.
"""

import pytest

from autograder.dev.corpus import comparable, write
from autograder.dev.examples import CORRECT, MISTAKES, Example, reference_code
from autograder.grade import grade

pytestmark = pytest.mark.slow

# The limit is 10 times the reference's time plus 10 ms; the reference takes well under 1 ms here.
NEAR_LIMIT = Example(
    "near the speed limit",
    "smoother",
    reference_code("smoother")
    .replace("import torch\n", "import time\n\nimport torch\n", 1)
    .replace("    out = F.conv1d(rows, weight)", "    time.sleep(0.006)\n    out = F.conv1d(rows, weight)", 1),
    "full",
)
COPIES = 20


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    examples = MISTAKES + CORRECT + [NEAR_LIMIT] * COPIES
    paths = write(examples, tmp_path_factory.mktemp("corpus"))
    first, second = (grade(submissions=paths, progress=False) for _ in range(2))
    return examples, first.submissions, second.submissions


def test_the_corpus_graded_twice_gives_identical_records(twice):
    examples, first, second = twice
    differ = [e.name for e, a, b in zip(examples, first, second) if comparable(a) != comparable(b)]
    assert differ == []


def test_a_submission_near_the_speed_limit_gets_one_grade_in_forty(twice):
    examples, first, second = twice
    near = [r for e, r in zip(examples, first) if e is NEAR_LIMIT]
    near += [r for e, r in zip(examples, second) if e is NEAR_LIMIT]
    assert len(near) == 2 * COPIES
    assert len({repr(comparable(r)) for r in near}) == 1
    speed = [c for c in near[0].parts[0].checks if c.group == "speed" and not c.skipped]
    assert speed  # timed on the CPU (the CUDA one is skipped without a GPU)
    assert all(c.passed for c in speed)  # 6 ms of sleep is within the limit, every time
