"""Does `make bench` run end to end, the class figures and one student's beside them? (A tiny size: the figures
themselves are measured by hand, not here.)"""

import json
import subprocess
import sys


def test_bench_measures_all_three_ways_on_a_tiny_batch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.dev.bench", "--submissions", "2", "--stats-records", "40",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for label in (
        "(a) autograder grade",
        "(s) autograder stats",
        "(b) nbgrader autograde",
        "(c) plain nbgrader autograde",
        "(c)/(a)",
        "(b)/(c)",
        "(d1) --cluster, 1 worker(s)",
        "(d2) --cluster, 2 worker(s)",
        "(d2)/(a)",
        "(o) one student, autograder grade, cold",
        "(k) one student, notebooks in kernels",
        "(k)/(o) CPU",
        "(k)/(o) wall",
        "(w) one student, grade --service, warm",
        "(w) again, the next request",
        "(k)/(w) CPU",
        "(k)/(w) wall",
    ):
        assert label in done.stdout
    figures = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert figures["submissions"] == 2
    assert figures["a"]["peak_memory_mib"] > 0
    assert figures["a"]["environment"]["sandbox"] == "bubblewrap"
    assert figures["b"]["seconds"] > 0
    assert figures["c"]["seconds"] > 0
    assert len(figures["a"]["scores"]) == 2
    assert figures["d2"]["same_scores"]
    one = figures["one_student"]  # one student's four notebooks, the reference answers: full marks
    assert one["o"]["scores"] == [10.0, 10.0, 10.0, 10.0]
    for figure in (one["o"]["wall_seconds"], one["o"]["cpu_seconds"], one["k"]["wall_seconds"],
                   one["k"]["cpu_seconds"], one["cpu_k_over_o"], one["wall_k_over_o"]):  # fmt: skip
        assert isinstance(figure, float)
        assert figure > 0
    for warm in (one["w"], one["w_again"]):  # graded by the service: the same scores; its CPU and the command's
        assert warm["served"]
        assert warm["scores"] == one["o"]["scores"]
        assert warm["service_cpu_seconds"] > 0
        assert warm["command_cpu_seconds"] > 0
        assert warm["cpu_seconds"] == round(warm["command_cpu_seconds"] + warm["service_cpu_seconds"], 3)
    assert one["cpu_k_over_w"] > 0
    assert one["wall_k_over_w"] > 0
    assert figures["stats"]["records"] == 40
    assert figures["stats"]["seconds"] > 0
    page = (tmp_path / "out" / "stats" / "class.html").read_text()
    assert "<p>10 students, 2 parts, 20 points in all.</p>" in page  # (the two notebooks: two parts, four to a student)


def test_bench_stats_only_grades_for_its_records_and_runs_no_nbgrader(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.dev.bench", "--submissions", "2", "--stats-only", "--stats-records", "12",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(s) autograder stats" in done.stdout
    assert "(b) nbgrader" not in done.stdout
    figures = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert figures["stats"]["records"] == 12
    assert "b" not in figures
    assert "reset" not in figures
