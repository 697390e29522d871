"""Do the terminal tables say each part's score, what lost points, the class's table and the batch's summary?"""

from autograder.records import Check, PartResult, Report, SubmissionRecord
from autograder.report import class_table, submission_table, summary

MATCHES = "matches the reference"


def check(name: str, group: str = MATCHES, passed: bool = True, skipped: bool = False, worth: float = 1.0, **more):
    """A scored check: ``worth`` points, earned if it passed; a skipped one is worth nothing."""
    ran = passed and not skipped
    worth = 0.0 if skipped else worth
    return Check(name, group, passed=ran, skipped=skipped, points=worth if ran else 0.0, max_points=worth, **more)


def record(path: str, parts: list[PartResult], **more) -> SubmissionRecord:
    return SubmissionRecord(path, sha256="0" * 64, wanted=[p.part for p in parts], parts=parts, **more)


OFF_CENTRE = "gaussian_kernel(8): the result: values differ"
HINT = "the kernel is off-centre"
CUDA = "CUDA is not available on the grading machine"
SIZE_0 = "gaussian_kernel(0) should raise ValueError, but returned (0,) float32"
EDGES = "edge cases and bad input"

SMOOTHER = PartResult(
    "smoother",
    [
        check("matches the reference [size 5]"),
        check("matches the reference [size 8]", passed=False, message=OFF_CENTRE, hint=HINT),
        check("symmetric [size 8]", passed=False, message=OFF_CENTRE, hint=HINT),
        check("the notebook's example", passed=False, message=OFF_CENTRE, hint=HINT),
        check("rejects size 0", EDGES, passed=False, worth=1.5, message=SIZE_0),
        check("runs on the GPU", "device portability", skipped=True, message=CUDA, device="cuda"),
        check("speed", "speed", worth=1.5, message="the timing was too noisy to decide"),
    ],
    notes=["line 4 raised NameError: name 'x' is not defined (the line was skipped)"],
)


def test_a_part_shows_its_score_counts_notes_and_one_line_per_group_that_lost_points():
    assert submission_table(record("alice/smoother.ipynb", [SMOOTHER])).splitlines() == [
        "alice/smoother.ipynb  2.5 / 10",
        "  smoother      2.5 / 10   2 passed, 4 failed, 1 skipped",
        "    note: line 4 raised NameError: name 'x' is not defined (the line was skipped)",
        f"    x matches the reference, -3 (3 checks): {OFF_CENTRE}",
        f"      hint: {HINT}",
        "    x edge cases and bad input, -1.5: gaussian_kernel(0) should raise ValueError, but returned (0,)",
        "        float32",
    ]


def test_a_group_gives_its_first_message_and_every_distinct_hint_with_its_first_message():
    checks = [check("a", passed=False, message="first", worth=0.25), check("b", passed=False, message="second")]
    checks.append(check("c", passed=False, message="third", hint="look here", worth=2.0))
    checks.append(check("d", passed=False, message="fourth", hint="look here"))
    checks.append(check("e", passed=False, message="fifth", hint="and there"))
    assert submission_table(record("a.py", [PartResult("attention", checks)])).splitlines()[2:] == [
        "    x matches the reference, -5.25 (5 checks): first",  # points lost, rounded as every sum of points
        "    x matches the reference: third",
        "      hint: look here",
        "    x matches the reference: fifth",
        "      hint: and there",
    ]


def test_a_long_message_hint_or_note_is_wrapped_at_100_columns_never_cut():
    words = " ".join(["word"] * 60)
    failed = check("long", passed=False, message=f"m {words} end-of-message", hint=f"h {words} end-of-hint")
    lines = submission_table(
        record("a.py", [PartResult("vocab", [failed], notes=[f"n {words} end-of-note"])])
    ).splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert not any("…" in line for line in lines)
    text = " ".join(line.strip() for line in lines)
    assert f"note: n {words} end-of-note" in text
    assert f"x matches the reference, -1: m {words} end-of-message" in text
    assert f"hint: h {words} end-of-hint" in text


def test_a_flag_for_a_ta_is_shown_after_the_notes():
    flagged = PartResult("vocab", [check("x")], notes=["a note"], flags=["it reaches into torch internals (torch._C)"])
    assert submission_table(record("a.py", [flagged])).splitlines()[2:] == [
        "    note: a note",
        "    flag for a TA: it reaches into torch internals (torch._C)",
    ]


def test_verbose_names_every_failed_check():
    lines = submission_table(record("alice/smoother.ipynb", [SMOOTHER]), verbose=True).splitlines()
    assert lines[3:7] == [
        f"    x matches the reference [size 8] (cpu): {OFF_CENTRE}",
        f"    x symmetric [size 8] (cpu): {OFF_CENTRE}",
        f"    x the notebook's example (cpu): {OFF_CENTRE}",
        f"      hint: {HINT}",
    ]
    assert lines[-1] == "    ~ speed (cpu): the timing was too noisy to decide"


def test_verbose_names_two_checks_of_one_cause_each_where_the_default_says_their_group_once():
    checks = [check(f"check {i}", passed=False, message="wrong", device="meta") for i in (1, 2)]
    two = record("a.py", [PartResult("attention", checks)])
    assert submission_table(two, verbose=True).splitlines() == [
        "a.py  0 / 10",
        "  attention       0 / 10   0 passed, 2 failed, 0 skipped",
        "    x check 1 (meta): wrong",
        "    x check 2 (meta): wrong",
    ]
    assert submission_table(two).splitlines()[2:] == ["    x matches the reference, -2 (2 checks): wrong"]


def test_a_part_with_an_error_says_it_and_not_its_checks():
    checks = [check("matches the reference", passed=False, message="vocab is not implemented yet")]
    failed = PartResult("vocab", checks, error="your code defines none of build_vocab, tokenize")
    assert submission_table(record("b.py", [failed])).splitlines() == [
        "b.py  0 / 10",
        "  vocab           0 / 10   0 passed, 1 failed, 0 skipped",
        "    error: your code defines none of build_vocab, tokenize",
    ]
    assert submission_table(record("b.py", [failed]), verbose=True).splitlines()[-1] == (
        "    x matches the reference (cpu): vocab is not implemented yet"
    )


def test_a_long_error_is_wrapped_whole_within_100_columns():
    error = "your code defines none of " + ", ".join(f"name_{i}" for i in range(20))
    lines = submission_table(record("b.py", [PartResult("vocab", error=error)])).splitlines()
    assert lines[2:] == [
        "    error: your code defines none of name_0, name_1, name_2, name_3, name_4, name_5, name_6, name_7,",
        "        name_8, name_9, name_10, name_11, name_12, name_13, name_14, name_15, name_16, name_17,",
        "        name_18, name_19",
    ]


def test_a_file_with_no_part_to_grade_says_why_it_was_not_graded():
    unread = record("notes.txt", [], error="notes.txt is not a submission: it is neither", note="a note")
    assert submission_table(unread).splitlines() == [
        "notes.txt  not graded: notes.txt is not a submission: it is neither",
        "  note: a note",
    ]
    assert submission_table(record("misc.py", [])).splitlines() == ["misc.py  not graded: no part to grade it for"]


def test_a_submission_that_could_not_be_read_shows_its_score_and_error():
    unread = SubmissionRecord("smoother.ipynb", wanted=["smoother"], error="could not read smoother.ipynb")
    assert submission_table(unread).splitlines() == ["smoother.ipynb  0 / 10", "  error: could not read smoother.ipynb"]


def test_several_parts_each_get_a_line():
    two = record("all.py", [SMOOTHER, PartResult("masking", [check("matches", worth=10.0)])])
    lines = submission_table(two).splitlines()
    assert lines[0] == "all.py  12.5 / 20"
    assert lines[-1] == "  masking        10 / 10   1 passed, 0 failed, 0 skipped"


def test_the_class_table_has_a_row_per_student_with_a_dash_for_a_part_not_graded():
    alicia = [record("alicia/s.ipynb", [SMOOTHER], student="alicia")]
    alicia.append(record("alicia/a.ipynb", [PartResult("attention", [check("x", worth=10.0)])], student="alicia"))
    bob = record("bob/s.ipynb", [PartResult("smoother", [check("x", worth=7.0)], max_score=10.0)], student="bob")
    assert class_table(Report(submissions=[*alicia, bob])).splitlines() == [
        "            smoother attention     total",
        "alicia           2.5        10      12.5",
        "bob                7         -         7",
        "(out of)          10        10        20",
    ]


def test_the_class_table_has_a_row_per_file_outside_an_nbgrader_tree():
    vocab = PartResult("vocab", [check("x", worth=4.0)])
    report = Report(submissions=[record("a.py", [vocab]), record("b.py", [vocab]), record("notes.txt", [])])
    assert class_table(report).splitlines() == [
        "                vocab     total",
        "a.py                4         4",
        "b.py                4         4",
        "notes.txt           -         0",
        "(out of)           10        10",
    ]
    assert class_table(Report(submissions=[record("notes.txt", [])])) == ""


def test_every_row_of_the_class_table_ends_in_the_same_column_even_with_short_names():
    report = Report(submissions=[record("a.py", [PartResult("vocab", [check("x", worth=4.0)])])])
    lines = class_table(report).splitlines()
    assert lines[-1].startswith("(out of)")
    assert {len(line) for line in lines} == {len(lines[0])}


def test_the_summary_says_how_many_where_and_why_checks_were_skipped():
    other = PartResult(
        "vocab", [check("on the GPU", skipped=True, message=CUDA), check("fp16", skipped=True, message="half")]
    )
    report = Report(
        {"devices": ["cpu", "meta"], "sandbox": "bubblewrap", "reused": 0},
        [record("a.ipynb", [SMOOTHER]), record("b.py", [other]), record("notes.txt", [], error="not one")],
    )
    assert summary(report, 12.34).splitlines() == [
        "Graded 2 submission(s) in 12.3 s on cpu, meta; sandbox: bubblewrap.",
        "  not graded: notes.txt: not one",
        f"  2 check(s) skipped: {CUDA}",
        "  1 check(s) skipped: half",
    ]


def test_the_summary_of_a_resumed_run_says_what_it_kept():
    report = Report({"devices": [], "sandbox": "not started: nothing to grade", "reused": 3}, [record("a.py", [])])
    assert summary(report, 0.04).splitlines() == [
        "Graded 0 submission(s) in 0.0 s on -; sandbox: not started: nothing to grade.",
        "  not graded: a.py: no part to grade it for",
        "  3 submission(s) kept from the earlier report (--force grades them again)",
    ]
