"""Does the journal keep every record written, even when the run was cut short in the middle of a line?"""

import json

from autograder.journal import journal_path, previous_records, write_json
from autograder.records import Check, PartResult, Report, SubmissionRecord


def record(path: str, sha256: str, score: float) -> SubmissionRecord:
    """A submission graded for one part, of one check that earned ``score`` points."""
    check = Check("matches the reference", "matches the reference", passed=True, points=score, max_points=score)
    return SubmissionRecord(path, sha256, wanted=["smoother"], parts=[PartResult("smoother", [check])])


def line(record: SubmissionRecord) -> str:
    """A record as the journal holds it: its JSON form on one line."""
    return json.dumps(record.to_json())


def report(*records: SubmissionRecord) -> Report:
    return Report({"devices": ["cpu", "meta"], "sandbox": "bubblewrap"}, list(records))


def test_the_journal_lies_beside_the_report(tmp_path):
    assert journal_path(tmp_path / "out.json") == tmp_path / "out.json.journal"


def test_write_json_replaces_the_report_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("an older report")
    write_json(path, report(record("a.py", "aa", 3.0)))
    written = json.loads(path.read_text())
    assert written == report(record("a.py", "aa", 3.0)).to_json()
    assert written["submissions"][0]["score"] == 3.0
    assert written["environment"]["sandbox"] == "bubblewrap"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_records_of_the_report_and_of_the_journal_are_read_back_by_path_and_content(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, report(record("a.py", "aa", 3.0), record("b.py", "bb", 4.0)))
    journal_path(path).write_text(line(record("c.py", "cc", 5.0)) + "\n")
    assert previous_records(path) == {
        ("a.py", "aa"): record("a.py", "aa", 3.0),
        ("b.py", "bb"): record("b.py", "bb", 4.0),
        ("c.py", "cc"): record("c.py", "cc", 5.0),
    }


def test_a_journal_line_cut_short_is_skipped_and_the_lines_around_it_are_kept(tmp_path):
    path = tmp_path / "out.json"
    lines = [line(record(name, name * 2, 1.0)) for name in ("a.py", "b.py", "c.py")]
    journal_path(path).write_text(lines[0] + "\n" + lines[1][:25] + "\n" + lines[2] + "\n" + lines[1][:40])
    assert sorted(previous_records(path)) == [("a.py", "a.pya.py"), ("c.py", "c.pyc.py")]


def test_the_journal_wins_over_the_report_for_the_same_submission(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, report(record("a.py", "aa", 3.0)))
    journal_path(path).write_text(line(record("a.py", "aa", 9.0)) + "\n")
    assert previous_records(path)[("a.py", "aa")].score == 9.0


def test_the_same_path_with_other_content_is_another_submission(tmp_path):
    path = tmp_path / "out.json"
    journal_path(path).write_text(line(record("a.py", "old", 3.0)) + "\n" + line(record("a.py", "new", 8.0)))
    assert sorted(previous_records(path)) == [("a.py", "new"), ("a.py", "old")]


def test_no_report_a_broken_report_or_no_json_path_give_no_records(tmp_path):
    assert previous_records(None) == {}
    assert previous_records(tmp_path / "none.json") == {}
    (tmp_path / "broken.json").write_text('{"submissions": [{"path"')
    assert previous_records(tmp_path / "broken.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert previous_records(tmp_path / "list.json") == {}
    (tmp_path / "odd.json").write_text('{"submissions": [{"score": 1}]}')
    assert previous_records(tmp_path / "odd.json") == {}


def test_the_journal_of_a_run_appends_at_once_and_leaves_only_the_report_when_complete(tmp_path):
    from autograder.journal import Journal

    path = tmp_path / "deep" / "out.json"
    journal = Journal(path)
    assert journal.earlier() == {}
    journal.open()
    journal.append(record("a.py", "aa", 1.0))
    assert journal_path(path).read_text() == line(record("a.py", "aa", 1.0)) + "\n"  # before the run ends
    journal.finish(report(record("a.py", "aa", 1.0)), complete=False)  # cut short: the journal stays
    assert journal_path(path).exists()
    assert not path.with_name("out.json.tmp").exists()
    again = Journal(path)
    assert again.earlier() == {("a.py", "aa"): record("a.py", "aa", 1.0)}
    again.open()
    again.append(record("b.py", "bb", 2.0))
    again.finish(report(record("a.py", "aa", 1.0), record("b.py", "bb", 2.0)), complete=True)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]
    assert Journal(path, force=True).earlier() == {}
    assert len(Journal(path).earlier()) == 2


def test_without_a_report_path_the_journal_keeps_nothing(tmp_path):
    from autograder.journal import Journal

    journal = Journal(None)
    journal.open()
    journal.append(record("a.py", "aa", 1.0))
    journal.finish(report(record("a.py", "aa", 1.0)), complete=True)
    assert journal.earlier() == {}
    assert list(tmp_path.iterdir()) == []
