"""Are the class statistics right on a small class made by hand, and are the page and the CSV safe to open?"""

import csv
import json

import pytest

from autograder.cli import main
from autograder.dev.examples import CORRECT, disguised, notebook, reference_code
from autograder.nbgrader.course_records import save_course_record
from autograder.records import Check, PartResult, Report, SubmissionRecord
from autograder.stats import (
    CSV_HEADER,
    Answer,
    ClassRecords,
    SourceError,
    class_stats,
    csv_rows,
    html_page,
    read_sources,
    stats,
    student_name,
    untouched,
)

GROUPS = ("matches the reference", "edge cases")


def checks(passed: list[bool], hint: str = "", message: str = "wrong") -> list[Check]:
    return [
        Check(f"check {i}", GROUPS[i % 2], passed=ok, points=2.5 * ok, max_points=2.5, hint="" if ok else hint,
              message="" if ok else message)
        for i, ok in enumerate(passed)
    ]  # fmt: skip


def stub() -> list[Check]:
    found = checks([False] * 4, message="smooth(...) is not implemented yet: it raises NotImplementedError")
    for check in found:
        check.stub = "smooth"
    return found


def record(student: str, **parts: list[Check]) -> SubmissionRecord:
    results = [PartResult(part, found) for part, found in parts.items()]
    return SubmissionRecord(f"{student}.py", wanted=list(parts), parts=results, student=student)


def klass(*records: SubmissionRecord) -> ClassRecords:
    out = ClassRecords()
    for r in records:
        out.students.add(student_name(r))
        for p in r.parts:
            out.answers[(student_name(r), p.part)] = Answer(student_name(r), p, r, None)
    return out


@pytest.fixture
def small():
    inverted = "the mask is inverted: True means ignore this key"
    ada = record("ada", smoother=checks([True] * 4), attention=checks([True] * 4))
    bob = record("bob", smoother=checks([True, False, True, False], hint=inverted), attention=checks([True] * 4))
    cat = record("cat", smoother=stub(), attention=checks([False, True, True, True], hint=inverted))
    dan = record("dan", smoother=checks([False] * 4, message="wrong values"))
    eve = record("eve", smoother=checks([True, True, True, False]), attention=checks([True, False, True, True]))
    eve.parts[1].events = ["scaled_dot_product_attention: timed out after 10.0 s"]
    eve.parts[1].flags = ["reaches into torch._C"]
    return class_stats(klass(ada, bob, cat, dan, eve))


def test_a_part_counts_full_partial_zero_untouched_and_not_submitted(small):
    smoother, attention = small.parts
    assert (smoother.full, smoother.partial, smoother.zero) == (["ada"], ["bob", "eve"], ["cat", "dan"])
    assert smoother.untouched == ["cat"]
    assert smoother.not_submitted == []
    assert attention.not_submitted == ["dan"]
    assert smoother.mean == pytest.approx((10 + 5 + 0 + 0 + 7.5) / 5)
    assert smoother.median == 5
    assert small.totals == {"ada": 20, "bob": 15, "cat": 7.5, "dan": 0, "eve": 15}


def test_an_untouched_stub_is_all_not_implemented_and_nothing_passed():
    assert untouched(PartResult("smoother", stub()))
    assert not untouched(PartResult("smoother", checks([False] * 4, message="wrong values")))
    assert not untouched(PartResult("smoother", [*stub(), *checks([True])]))
    assert not untouched(PartResult("smoother", []))


def test_a_record_of_the_older_form_on_disk_is_still_read_as_an_untouched_stub():
    """Records kept before checks had a status and a stub field said both in words: they still count."""
    older = {"name": "c", "group": "g", "device": "cpu", "passed": False, "skipped": False,
             "message": "smooth((64,) float32) is not implemented yet: it raises NotImplementedError",
             "hint": "", "points": 0.0, "max_points": 2.5}  # fmt: skip
    part = PartResult.from_json({"part": "smoother", "score": 0.0, "max_score": 10.0, "checks": [older] * 4})
    assert untouched(part)
    assert part.checks[0].stub == "smooth"
    assert part.checks[0].to_json()["status"] == "failed"
    new = PartResult.from_json(part.to_json())
    assert untouched(new)
    assert "passed" not in new.to_json()["checks"][0]
    # in the current form only the field says so, whatever the words
    worded = {**older, "status": "failed"}
    del worded["passed"], worded["skipped"]
    assert not untouched(PartResult.from_json({"part": "smoother", "checks": [worded] * 4}))


def test_a_mistake_counts_each_student_once_per_part_and_never_an_untouched_stub(small):
    # bob's two failed checks with the same hint count once; ties in the parts' order
    assert [(m.part, m.students) for m in small.mistakes] == [("smoother", ["bob"]), ("attention", ["cat"])]
    page = html_page(small)
    assert "<b>20% of the class</b> (1 of 5), in attention: the mask is inverted" in page


def test_pass_rates_leave_out_untouched_stubs_and_put_the_hardest_first(small):
    smoother = [r for r in small.checks if r.part == "smoother"]
    # ada, bob, dan, eve attempted it; cat's stub is left out
    assert {r.name: (r.passed, r.attempted) for r in smoother} == {
        "check 0": (3, 4), "check 1": (2, 4), "check 2": (3, 4), "check 3": (1, 4),
    }  # fmt: skip
    assert [r.name for r in smoother][:2] == ["check 3", "check 1"]
    assert [r.share for r in smoother] == sorted(r.share for r in smoother)
    groups = {r.group: (r.passed, r.attempted) for r in small.groups if r.part == "smoother"}
    assert groups == {"matches the reference": (3, 4), "edge cases": (1, 4)}


def test_a_check_that_almost_nobody_passes_is_flagged():
    hard = [record(s, smoother=checks([True, True, True, False])) for s in ("a", "b", "c")]
    result = class_stats(klass(*hard))
    flagged = [r.name for r in result.checks if r.hard]
    assert flagged == ["check 3"]
    assert "check 3 <span class='look'>the check or the teaching may need a look</span>" in html_page(result)
    assert not any(r.hard for r in class_stats(klass(*hard[:2])).checks)  # two attempts: too few to say


def test_who_may_need_help_and_why(small):
    reasons = {h.student: h.reasons for h in small.help}
    assert list(reasons) == ["dan", "cat", "bob", "eve"]  # lowest totals first (the three lowest: bob before eve)
    assert reasons["bob"] == ["among the lowest totals: 15 of 20"]
    assert reasons["dan"] == ["among the lowest totals: 0 of 20", "attention: not submitted"]
    assert "smoother: untouched (the stub as released)" in reasons["cat"]
    assert reasons["eve"] == ["attention: scaled_dot_product_attention: timed out after 10.0 s"]


def test_the_graders_flags_name_the_student_and_the_part(small):
    assert [(f.student, f.part, f.text) for f in small.flags] == [("eve", "attention", "reaches into torch._C")]


def test_names_and_hints_are_escaped_on_the_page():
    evil = record("<img src=x onerror=alert(1)>", smoother=checks([True, False, True, True], hint="<script>x</script>"))
    page = html_page(class_stats(klass(evil, record("ada", smoother=checks([True] * 4)))))
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_csv_is_long_and_never_starts_a_formula(small):
    evil = record("=HYPERLINK(1)", smoother=checks([True, False, True, True], hint="+cmd"))
    out = csv_rows(class_stats(klass(evil, record("ada", smoother=checks([True] * 4)))))
    assert out[0] == CSV_HEADER
    assert all(len(row) == len(CSV_HEADER) for row in out)
    cells = [cell for row in out for cell in row]
    assert "'=HYPERLINK(1)" in cells
    assert "'+cmd" in cells
    assert not any(cell and cell[0] in "=+@" for cell in cells)
    rows = csv_rows(small)
    assert ["part", "smoother", "", "", "", "untouched", "1"] in rows
    assert ["score", "attention", "", "", "dan", "status", "not submitted"] in rows
    assert ["mistake", "attention", "", "the mask is inverted: True means ignore this key", "cat", "made", "1"] in rows


def test_a_student_is_named_by_the_record_else_the_file(tmp_path):
    assert student_name(SubmissionRecord("x/ada.py", student="bob")) == "bob"
    assert student_name(SubmissionRecord("x/ada.py")) == "ada"
    assert student_name(SubmissionRecord("files/cat/vocab.ipynb")) == "cat"


def write_report(folder, records):
    path = folder / "report.json"
    path.write_text(json.dumps(Report({"devices": ["cpu"]}, records).to_json()))
    return path


def test_a_report_finds_the_code_at_its_paths_and_says_which_it_did_not_find(tmp_path):
    code = next(e.code for e in CORRECT if e.part == "attention")
    (tmp_path / "ann.py").write_text(code)
    (tmp_path / "ben.py").write_text(disguised(code, "ben"))
    (tmp_path / "cid.py").write_text(reference_code("attention"))
    records = [record(s, attention=checks([True] * 4)) for s in ("ann", "ben", "cid", "dov")]
    found = stats(sources=[write_report(tmp_path, records)])
    assert [(c.part, c.students, c.lowest) for c in found.copies] == [("attention", ["ann", "ben"], 1.0)]
    assert any("1 record(s) was not found" in n and "dov.py" in n for n in found.notes)


def test_a_course_is_read_from_its_kept_records_and_its_submitted_notebooks(tmp_path):
    code = next(e.code for e in CORRECT if e.part == "smoother")
    for student, answer in [("ann", code), ("ben", disguised(code, "ben")), ("cid", reference_code("smoother"))]:
        folder = tmp_path / "submitted" / student / "a1"
        folder.mkdir(parents=True)
        (folder / "smoother.ipynb").write_text(json.dumps(notebook("smoother", answer)))
        saved = record(student, smoother=checks([True] * 4))
        saved.path = f"{student}/a1/smoother.ipynb"
        save_course_record(tmp_path, "a1", "smoother", saved)
    found = stats(sources=[tmp_path], html_path=tmp_path / "out" / "class.html", csv_path=tmp_path / "class.csv")
    assert found.students == ["ann", "ben", "cid"]
    assert [c.students for c in found.copies] == [["ann", "ben"]]
    assert (tmp_path / "out" / "class.html").read_text().startswith("<!DOCTYPE html>")
    assert next(csv.reader((tmp_path / "class.csv").open())) == CSV_HEADER


def test_a_source_that_is_neither_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "notes.json").write_text("[1, 2")
    with pytest.raises(SourceError, match="is not a JSON report"):
        read_sources([tmp_path / "notes.json"])
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(SourceError, match="is not a JSON report"):
        read_sources([tmp_path / "list.json"])
    assert main(["stats", str(tmp_path / "nothing")]) == 2
    assert "neither a JSON report of autograder grade nor an nbgrader course" in capsys.readouterr().err
