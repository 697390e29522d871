"""Does the hidden autograder give the reference full marks, stubs zero, and every mistake its hint?

One batch grades everything here (through ``grade``, with sandboxed jobs, as the CLI does): the
reference answers in the student notebooks, the course's source notebooks (refused), the untouched
student notebooks, the corpus of typical mistakes, the correct
solutions written differently, the same code as notebook and as .py, and broken submissions
(tests/graded_batch.py: the session grades it once, for test_regrade.py too).
"""

import json

import pytest
import torch

from autograder.dev.examples import CARRIED_FORWARD, CORRECT, MISTAKES, reference_code
from autograder.parts import PARTS
from autograder.submission import MARKERS_LEFT
from tests.conftest import slug
from tests.graded_batch import BROKEN, COPIES, SAME_CODE

# test_regrade.py shares the batch (graded once): SHARED in tests/conftest.py puts both files on one worker.


@pytest.fixture(scope="module")
def graded(graded_batch):
    """(records by file name, the report) of one batch of everything."""
    report = graded_batch.report.to_json()
    return {record["path"].rsplit("/", 1)[-1]: record for record in report["submissions"]}, report


def part_of(record, part):
    return next(p for p in record["parts"] if p["part"] == part)


def failures(part_record):
    return [c for c in part_record["checks"] if c["status"] == "failed"]


@pytest.mark.parametrize("part", PARTS)
def test_the_reference_scores_full_marks(graded, part):
    """Does every reference notebook get 10/10, with no failed check?"""
    record = graded[0][f"reference-{part}.ipynb"]
    assert record["score"] == record["max_score"] == 10.0
    assert [p["part"] for p in record["parts"]] == [part]
    assert failures(record["parts"][0]) == []


@pytest.mark.parametrize("part", PARTS)
def test_a_source_notebook_is_refused_with_0_and_a_flag(graded, part):
    """Is the course's own notebook (its solution markers still in it) not graded: 0/10 and a flag for a TA?"""
    record = graded[0][f"source-{part}.ipynb"]
    assert (record["score"], record["max_score"]) == (0.0, 10.0)
    (result,) = record["parts"]
    assert (result["part"], result["checks"], result["error"]) == (part, [], MARKERS_LEFT)
    assert result["flags"] == [MARKERS_LEFT]


@pytest.mark.parametrize("part", PARTS)
def test_untouched_stubs_score_zero(graded, part):
    """Does an untouched student notebook get 0/10, every check saying it is not implemented?"""
    record = graded[0][f"stub-{part}.ipynb"]
    assert (record["score"], record["max_score"]) == (0.0, 10.0)
    checks = record["parts"][0]["checks"]
    assert all(c["status"] != "passed" for c in checks)
    ran = [c for c in checks if c["status"] != "skipped"]
    assert any("not implemented yet" in c["message"] for c in ran)


@pytest.mark.parametrize("index", range(len(MISTAKES)), ids=[f"{m.part}: {m.name}" for m in MISTAKES])
def test_each_mistake_loses_points_with_its_hint(graded, index):
    """Does each typical mistake lose points, and does a failed check name it?"""
    example = MISTAKES[index]
    record = graded[0][f"{index:02d}-{example.part}-{slug(example.name)}.py"]
    part = part_of(record, example.part)
    assert part["score"] < part["max_score"]
    said = [c["message"] + " " + c["hint"] for c in failures(part)]
    assert any(example.expect in text for text in said), said


@pytest.mark.parametrize("index", range(len(CORRECT)), ids=[f"{c.part}: {c.name}" for c in CORRECT])
def test_correct_solutions_written_differently_get_full_marks(graded, index):
    """Does a correct solution that differs from the reference get full marks: no false alarm?"""
    example = CORRECT[index]
    record = graded[0][f"{len(MISTAKES) + index:02d}-{example.part}-{slug(example.name)}.py"]
    part = part_of(record, example.part)
    assert failures(part) == []
    assert part["score"] == part["max_score"] == 10.0


@pytest.mark.parametrize("example", CARRIED_FORWARD, ids=lambda e: e.name)
def test_a_right_module_over_a_wrong_attention_keeps_its_points_and_says_why(graded, example):
    """Is the part 3 mistake copied into part 4 charged once, in part 3, with a note in part 4?"""
    record = graded[0][f"carried-{slug(example.name)}.py"]
    masking = part_of(record, "masking")
    assert failures(masking) == []
    assert masking["score"] == 10.0
    assert any(note.startswith(example.expect) for note in masking["notes"]), masking["notes"]
    assert part_of(record, "attention")["score"] < 10.0


def test_there_are_enough_examples():
    assert len(MISTAKES) >= 30
    assert len(CORRECT) >= 6
    assert {m.part for m in MISTAKES} == set(PARTS) == {c.part for c in CORRECT}


@pytest.mark.parametrize("example", SAME_CODE, ids=lambda e: e.name)
def test_a_notebook_and_the_same_code_as_py_get_the_same_result(graded, example):
    records = graded[0]
    index = (MISTAKES + CORRECT).index(example)
    as_py = part_of(records[f"{index:02d}-{example.part}-{slug(example.name)}.py"], example.part)
    as_nb = part_of(records[f"as-notebook-{slug(example.name)}.ipynb"], example.part)

    def outcome(part):
        return [(c["name"], c["device"], c["status"], c["points"], c["message"]) for c in part["checks"]]

    assert outcome(as_nb) == outcome(as_py)
    assert as_nb["score"] == as_py["score"]


def test_the_json_report_has_the_documented_fields(graded):
    report = json.loads(json.dumps(graded[1]))
    assert set(report) == {"environment", "submissions"}
    assert {"devices", "sandbox"} <= set(report["environment"])
    assert report["environment"]["sandbox"] == "bubblewrap"
    for record in report["submissions"]:
        assert {"path", "score", "max_score", "parts"} <= set(record)
        for part in record["parts"]:
            assert {"part", "score", "max_score", "checks"} <= set(part)
            for check in part["checks"]:
                assert {"name", "device", "status", "points", "max_points", "message"} <= set(check)
                assert check["status"] in ("passed", "failed", "skipped")
                assert "passed" not in check
                assert 0 <= check["points"] <= check["max_points"]
            assert part["score"] == pytest.approx(sum(c["points"] for c in part["checks"]), abs=0.01)


def test_every_submission_given_has_a_record_in_order(graded, graded_batch):
    names = [r["path"].rsplit("/", 1)[-1] for r in graded[1]["submissions"]]
    assert names == [p.name for p in graded_batch.paths]
    assert names[-1] == "latin1.py"
    assert (
        len(names) == len(set(names)) == (12 + len(MISTAKES + CORRECT + CARRIED_FORWARD) + 3 + 1 + COPIES + len(BROKEN))
    )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("corrupt.ipynb", "could not read corrupt.ipynb"),
        ("notes.txt", "notes.txt is not a submission: it is neither a notebook"),
        ("latin1.py", "could not read latin1.py"),
    ],
)
def test_unreadable_submissions_get_zero_and_the_reason(graded, name, says):
    record = graded[0][name]
    assert record["score"] == 0
    assert says in record["error"]


def test_a_missing_function_fails_only_what_needs_it(graded):
    part = part_of(graded[0]["smoother_without_smooth.py"], "smoother")
    failed = failures(part)
    assert failed
    assert all("smooth" in c["name"] and "does not define smooth" in c["message"] for c in failed)
    assert any(c["status"] == "passed" and c["name"].startswith("gaussian_kernel") for c in part["checks"])
    assert 0 < part["score"] < 10


def test_a_syntax_error_is_reported_for_every_part(graded):
    record = graded[0]["syntax_error.py"]
    assert record["score"] == 0
    assert len(record["parts"]) == 4
    assert all("SyntaxError" in p["error"] for p in record["parts"])


def test_a_failing_test_line_in_an_answer_cell_is_skipped_with_a_note(graded):
    part = part_of(graded[0]["stray_line.py"], "smoother")
    assert part["score"] == 10.0
    assert part["notes"] == [
        f"line {reference_code('smoother').count(chr(10), 0, reference_code('smoother').index('def smooth(')) + 2} "
        "raised NameError: name 'smooth' is not defined (the line was skipped)"
    ]


def test_wrong_return_types_are_explained(graded):
    said = " ".join(c["message"] for c in failures(part_of(graded[0]["wrong_types.py"], "smoother")))
    assert "expected a tensor" in said
    assert "got a list of" in said
    assert "got a ndarray object" in said


def test_nan_outputs_are_named(graded):
    said = " ".join(c["message"] for c in failures(part_of(graded[0]["nan_attention.py"], "attention")))
    assert "got NaN at" in said


def test_an_exception_in_student_code_is_reported_with_its_line(graded):
    part = part_of(graded[0]["raises.py"], "smoother")
    said = [c["message"] for c in failures(part)]
    assert any("smooth raised ZeroDivisionError: division by zero (at line" in m for m in said)
    assert any(c["status"] == "passed" for c in part["checks"])  # gaussian_kernel still earns its points


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the CUDA checks run here")
def test_without_cuda_the_cuda_checks_skip_with_the_reason_and_the_recorded_device_checks_run(graded):
    for record in graded[1]["submissions"]:
        for part in record["parts"]:
            for check in part["checks"]:
                if check["device"] == "cuda":
                    assert check["status"] == "skipped"
                    assert check["message"] == "CUDA is not available on the grading machine"
    assert graded[1]["environment"]["devices"] == ["cpu"]
    devices = [c for c in part_of(graded[0]["reference-attention.ipynb"], "attention")["checks"]
               if c["group"] == "device portability" and c["device"] == "cpu"]  # fmt: skip
    assert devices
    assert all(c["status"] == "passed" for c in devices)


def test_a_hang_is_named_by_its_operation_and_the_operations_that_work_are_graded(graded):
    """Is an `in` that loops forever named as such, once, while v[word], len(v) and tokenize go on being graded?"""
    index = next(i for i, m in enumerate(MISTAKES) if m.name.startswith("Vocab without __contains__"))
    example = MISTAKES[index]
    part = part_of(graded[0][f"{index:02d}-{example.part}-{slug(example.name)}.py"], "vocab")
    failed = failures(part)
    assert failed
    assert all("'word in v' (v: your Vocab) never finishes" in c["message"] for c in failed)
    assert sum("not called again" not in c["message"] for c in failed) == 1  # found endless once, then not called again
    passed = {c["name"] for c in part["checks"] if c["status"] == "passed"}
    assert "v[word] and len(v) are ints" in passed
    assert "tokenize the notebook's corpus" in passed
    assert 5 < part["score"] < 10


@pytest.mark.parametrize(
    ("name", "part", "api"),
    [
        ("F.scaled_dot_product_attention", "attention", "F.scaled_dot_product_attention"),
        ("nn.MultiheadAttention inside", "masking", "nn.MultiheadAttention"),
        ("F.scaled_dot_product_attention for the heads", "masking", "F.scaled_dot_product_attention"),
    ],
)
def test_a_forbidden_api_is_named_as_the_cause_of_every_check_it_fails(graded, name, part, api):
    """Does every check that a forbidden API makes fail (values, gradients, devices...) name the API, not a symptom?"""
    index = next(i for i, m in enumerate(MISTAKES) if m.name == name)
    record = graded[0][f"{index:02d}-{MISTAKES[index].part}-{slug(name)}.py"]
    failed = failures(part_of(record, part))
    assert failed
    assert all(c["hint"].startswith(f"your code uses {api}, which this exercise does not allow") for c in failed)


def test_a_copied_attention_that_does_not_compile_is_charged_in_part_3_only(graded):
    """Is a part-3 attention cell that does not compile, copied into part 4, charged in part 3 only, with a note?"""
    record = graded[0]["masking-attention-cell-does-not-compile.ipynb"]
    part = part_of(record, "masking")
    assert failures(part) == []
    assert part["score"] == 10.0
    assert any(
        note.startswith("your scaled_dot_product_attention (copied from part 3) is not defined (answer cell 1")
        and "SyntaxError" in note
        for note in part["notes"]
    ), part["notes"]


def test_a_failure_that_follows_from_a_wrong_result_says_probably_the_same_cause(graded):
    """Do the gradients of a wrong result point to that result, not to other code (no NaN, no in-place hint)?"""
    name = "scaled by sqrt(D) + 0.5, a mistake no hint knows"
    index = next(i for i, m in enumerate(MISTAKES) if m.name == name)
    part = part_of(graded[0][f"{index:02d}-attention-{slug(name)}.py"], "attention")
    gradients = [c for c in failures(part) if c["group"] == "gradients"]
    assert gradients
    assert all(
        c["hint"].startswith("probably the same cause as the failures of 'scaled_dot_product") for c in gradients
    )
    assert all(c["hint"] == "" for c in failures(part) if c["group"] == "matches the reference"), [
        (c["name"], c["hint"]) for c in failures(part) if c["group"] == "matches the reference" and c["hint"]
    ]
