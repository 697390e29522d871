"""The grader's memory at the bounds of what it reads, measured in a process of its own (peak RSS).

The bounds themselves, and the refusals without a process, are in ``tests/unit/test_parse_bounds.py``.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import cells
from autograder.cells import MAX_CODE_BYTES, MAX_TOKENS
from tests.conftest import ROOT
from tests.unit.test_parse_bounds import SHORT_LINES, huge_notebook

MEASURE = textwrap.dedent(
    r"""
    import re, sys
    from autograder.cli import main
    from autograder import cells, fingerprint, submission
    from autograder.suites import scan
    def peak():  # this process's own peak RSS in KiB (ru_maxrss would start from the parent's at the fork)
        return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
    before = peak()
    what = sys.argv[1]
    if what == "grade":
        main(["grade", "--quiet", "--json", sys.argv[2], *sys.argv[3:]])
    else:  # the worst cases at the bounds: every parse of the grader, and the scans and fingerprint of the job
        code = open(sys.argv[2], encoding="utf-8").read()
        answers = cells.of_file(code)
        scan.forbidden_uses(code), scan.suspicious_uses(code), fingerprint.fingerprint(code)
    print((peak() - before) >> 10)
    """
)


def grader_growth_mib(*args: str) -> int:
    out = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return int(out.stdout.split()[-1])


def test_autograder_grade_refuses_them_with_its_memory_bounded(tmp_path):
    py = tmp_path / "smoother.py"
    py.write_text(SHORT_LINES)
    nb = tmp_path / "masking.ipynb"
    nbformat.write(huge_notebook("a\n" * (1 << 17), 3), str(nb))  # 768 KiB of answer code: 4 MiB of JSON
    report = tmp_path / "report.json"
    assert grader_growth_mib("grade", str(report), str(py), str(nb)) < 64  # a parse of either: more than 500
    records = {Path(s["path"]).name: s for s in json.loads(report.read_text())["submissions"]}
    assert records["smoother.py"]["error"].startswith("smoother.py was not graded: it is larger than 256 KiB")
    assert records["masking.ipynb"]["error"].startswith(
        "masking.ipynb was not graded: the code of its answer cells is 768 KiB"
    )
    assert [(r["score"], r["max_score"]) for r in records.values()] == [(0.0, 10.0), (0.0, 10.0)]


@pytest.mark.parametrize(
    "code",
    [
        "a\n" * (MAX_TOKENS // 2 - 1),  # short lines: the most syntax tree per token
        "a;" * (MAX_TOKENS // 2 - 1),
        "x = [" + "[]," * (MAX_TOKENS // 3 - 2) + "]\n",  # nested lists
        "x = '" + "a" * (MAX_CODE_BYTES - 8) + "'\n",  # one long string
        ("(" * 100 + "a" + ")" * 100 + "\n") * (MAX_TOKENS // 203),  # deep nesting, many times
    ],
    ids=["short-lines", "semicolons", "nested-lists", "long-string", "deep-nesting"],
)
def test_the_worst_code_at_the_bounds_is_parsed_in_bounded_memory(tmp_path, code):
    cells.check_size([code], "it")  # within the bounds
    path = tmp_path / "code.py"
    path.write_text(code)
    assert grader_growth_mib("parse", str(path)) < 96  # 1 MiB of short lines took about 900
