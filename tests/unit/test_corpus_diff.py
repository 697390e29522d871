"""Does the corpus comparison name every field that changed, and only those (not paths, not measured times)?"""

import json

from autograder.dev.corpus_diff import run


def report(tmp_path, name, hint="divide by sqrt(D)", took="3.2", passed=True):
    checks = [
        {"name": "matches", "group": "matches the reference", "passed": False, "points": 0.0, "hint": hint},
        {"name": "fast", "group": "speed", "passed": passed, "points": float(passed), "message": f"took {took} ms"},
    ]
    sub = {"path": f"/tmp/{name}/a.py", "score": 1.0, "parts": [{"part": "attention", "checks": checks}]}
    sub["example"] = {"name": "no scaling", "part": "attention", "expect": "scaled"}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"environment": {"name": name}, "submissions": [sub]}))
    return path


def test_the_same_records_in_other_folders_and_times_are_the_same(tmp_path, capsys):
    assert run(report(tmp_path, "before"), report(tmp_path, "after", took="7.9")) == 0
    assert "1 of 1 examples have the same record, speed checks aside; 0 differences; 0 in" in capsys.readouterr().out


def test_a_changed_hint_is_named_with_its_field(tmp_path, capsys):
    assert run(report(tmp_path, "before"), report(tmp_path, "after", hint="divide by D")) == 1
    out = capsys.readouterr().out
    assert "no scaling: parts[0].checks[0].hint: 'divide by sqrt(D)' != 'divide by D'" in out
    assert "0 of 1 examples have the same record, speed checks aside; 1 differences; 0 in speed checks" in out


def test_a_speed_check_that_failed_under_load_is_timing_and_fails_only_a_strict_comparison(tmp_path, capsys):
    before, after = report(tmp_path, "before"), report(tmp_path, "after", passed=False)
    assert run(before, after) == 0
    out = capsys.readouterr().out
    assert "timing: no scaling: parts[0].checks[0].passed: 'True' != 'False'" in out
    assert "timing: no scaling: score: '1.0' != '0.0'" in out
    assert "1 of 1 examples have the same record, speed checks aside; 0 differences; 4 in speed checks" in out
    assert run(before, after, strict=True) == 1
