"""Do the terminal tables say each part's score, every failed check once per cause, and the batch's summary?"""

from autograder.report import submission_table, summary


def check(name: str, passed: bool = True, skipped: bool = False, message: str = "", hint: str = "", **more) -> dict:
    """A check's record in its JSON form (README: ``--json FILE``)."""
    record = {"name": name, "device": "cpu", "passed": passed, "skipped": skipped, "points": 1.0, "max_points": 1.0}
    record.update(message=message, hint=hint, group="matches the reference", **more)
    return record


def part(name: str, score: float, checks: list[dict], **more) -> dict:
    return {"part": name, "score": score, "max_score": 10.0, "checks": checks, **more}


def record(path: str, score: float, parts: list[dict], **more) -> dict:
    max_score = 10.0 * len(parts)
    return {"path": path, "sha256": "0" * 64, "score": score, "max_score": max_score, "parts": parts, **more}


OFF_CENTRE = "gaussian_kernel(8): the result: values differ"
HINT = "the kernel is off-centre"
CUDA = "CUDA is not available on the grading machine"

SMOOTHER = part(
    "smoother",
    6.5,
    [
        check("matches the reference [size 5]"),
        check("matches the reference [size 8]", passed=False, message=OFF_CENTRE, hint=HINT),
        check("symmetric [size 8]", passed=False, message=OFF_CENTRE, hint=HINT),
        check("the notebook's example", passed=False, message=OFF_CENTRE, hint=HINT),
        check(
            "rejects size 0",
            passed=False,
            message="gaussian_kernel(0) should raise ValueError, but returned (0,) float32",
        ),
        check("runs on the GPU", passed=False, skipped=True, message=CUDA, device="cuda"),
        check("speed", message="the timing was too noisy to decide"),
    ],
    notes=["line 4 raised NameError: name 'x' is not defined (the line was skipped)"],
)


def test_a_part_shows_its_score_counts_notes_and_each_cause_once():
    assert submission_table(record("alice/smoother.ipynb", 6.5, [SMOOTHER])).splitlines() == [
        "alice/smoother.ipynb  6.5 / 10",
        "  smoother      6.5 / 10   2 passed, 4 failed, 1 skipped",
        "    note: line 4 raised NameError: name 'x' is not defined (the line was skipped)",
        f"    x 3 checks (matches the reference [size 8], ...): {OFF_CENTRE}",
        f"      hint: {HINT}",
        "    x rejects size 0 (cpu): gaussian_kernel(0) should raise ValueError, but returned (0,) float32",
        "    ~ speed (cpu): the timing was too noisy to decide",
    ]


def test_verbose_names_every_failed_check():
    lines = submission_table(record("alice/smoother.ipynb", 6.5, [SMOOTHER]), verbose=True).splitlines()
    assert lines[3:7] == [
        f"    x matches the reference [size 8] (cpu): {OFF_CENTRE}",
        f"    x symmetric [size 8] (cpu): {OFF_CENTRE}",
        f"    x the notebook's example (cpu): {OFF_CENTRE}",
        f"      hint: {HINT}",
    ]


def test_two_checks_of_one_cause_are_each_named():
    checks = [check(f"check {i}", passed=False, message="wrong", device="meta") for i in (1, 2)]
    assert submission_table(record("a.py", 0.0, [part("attention", 0.0, checks)])).splitlines() == [
        "a.py  0 / 10",
        "  attention       0 / 10   0 passed, 2 failed, 0 skipped",
        "    x check 1 (meta): wrong",
        "    x check 2 (meta): wrong",
    ]


def test_a_part_with_an_error_says_it_and_not_its_checks():
    checks = [check("matches the reference", passed=False, message="vocab is not implemented yet")]
    failed = part("vocab", 0.0, checks, error="your code defines none of build_vocab, tokenize")
    assert submission_table(record("b.py", 0.0, [failed])).splitlines() == [
        "b.py  0 / 10",
        "  vocab           0 / 10   0 passed, 1 failed, 0 skipped",
        "    error: your code defines none of build_vocab, tokenize",
    ]
    assert submission_table(record("b.py", 0.0, [failed]), verbose=True).splitlines()[-1] == (
        "    x matches the reference (cpu): vocab is not implemented yet"
    )


def test_a_submission_that_could_not_be_read_shows_its_error_and_note():
    unread = record("notes.txt", 0.0, [], error="could not read notes.txt: it is neither", note="a note")
    assert submission_table(unread).splitlines() == [
        "notes.txt  0 / 0",
        "  error: could not read notes.txt: it is neither",
        "  note: a note",
    ]


def test_several_parts_each_get_a_line():
    two = record("all.py", 16.5, [SMOOTHER, part("masking", 10.0, [check("matches")])])
    lines = submission_table(two).splitlines()
    assert lines[0] == "all.py  16.5 / 20"
    assert lines[-1] == "  masking        10 / 10   1 passed, 0 failed, 0 skipped"


def test_the_summary_says_how_many_where_and_why_checks_were_skipped():
    other = part(
        "vocab", 10.0, [check("on the GPU", skipped=True, message=CUDA), check("fp16", skipped=True, message="half")]
    )
    report = {
        "environment": {"devices": ["cpu", "meta"], "sandbox": "bubblewrap", "reused": 0},
        "submissions": [record("a.ipynb", 6.5, [SMOOTHER]), record("b.py", 10.0, [other])],
    }
    assert summary(report, 12.34).splitlines() == [
        "Graded 2 submission(s) in 12.3 s on cpu, meta; sandbox: bubblewrap.",
        f"  2 check(s) skipped: {CUDA}",
        "  1 check(s) skipped: half",
    ]


def test_the_summary_of_a_resumed_run_says_what_it_kept():
    report = {
        "environment": {"devices": [], "sandbox": "not started: nothing to grade", "reused": 3},
        "submissions": [record("a.py", 0.0, [])],
    }
    assert summary(report, 0.04).splitlines() == [
        "Graded 1 submission(s) in 0.0 s on -; sandbox: not started: nothing to grade.",
        "  3 submission(s) kept from the earlier report (--force grades them again)",
    ]
