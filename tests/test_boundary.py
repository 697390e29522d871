"""Do hostile replies, strings and files cost only their own submission, and leave nothing behind?

One batch through ``grade`` in bubblewrap: honest reference submissions around submissions whose
child sends back tensors that all claim the same bytes or a meta tensor of 2**60 elements, a
Vocab whose class name and strings carry escape sequences, newlines and lone surrogates, and
files that make Python's parser raise MemoryError and RecursionError. This process is made a
child subreaper first, so that whatever the batch leaves behind comes to it and is seen.
"""

import ctypes
import json
import os
from pathlib import Path

import pytest

from autograder.dev.examples import reference_code
from autograder.grade import grade
from autograder.report import submission_table, summary
from autograder.sandbox.launch import Limits

# the child's own modules, patched by the student: what comes back is whatever the student writes
REPLY = """
import json as _json, sys as _sys
_wire = _sys.modules["sandbox.wire"]
_encode = _wire.encode


def _hostile(message, arena=None, export=None):
    if "result" not in message:
        return _encode(message, arena, export)
    text = _json.dumps({{"ok": True, "result": {result}}}).encode()
    return _wire.HEADER.pack(len(text), {blob}) + text + bytes({blob}), None


_wire.encode = _hostile
"""
SAME_BYTES = REPLY.format(
    result='[{"$tensor": {"dtype": "uint8", "shape": [1 << 20], "device": "cpu", "offset": 0, "nbytes": 1 << 20}}] * 10000',
    blob="1 << 20",
)
HUGE_META = REPLY.format(
    result='{"$tensor": {"dtype": "float32", "shape": [1 << 30, 1 << 30], "device": "meta"}}', blob=0
)

EVIL_NAME = "Vocab\\x1b[2J\\x1b[H\\x1b[31m\\nsmoother.py  10 / 10\\x1b]0;pwned\\x07\\u202e"
EVIL_VOCAB = f"""
import sys
_child = sys.modules["sandbox.inside.child"]
_export = _child.Child.export


def _export_with_a_surrogate(self, obj):
    handle = _export(self, obj)
    handle.type = handle.type + "\\ud800"
    return handle


_child.Child.export = _export_with_a_surrogate

Evil = type("{EVIL_NAME}", (), {{
    "__getitem__": lambda self, word: "\\x1b[2J\\x1b[H\\ud800\\n" + "x" * 100_000,
    "__len__": lambda self: 11,
    "__contains__": lambda self, word: {{}}[word],
}})


def build_vocab(corpus, max_size):
    return Evil()


def tokenize(corpus, vocab):
    raise ValueError("\\x1b[31mred\\n\\ud800 " + "y" * 100_000)
"""
FILES = {
    "honest-first.py": reference_code("smoother"),
    "same-bytes.py": reference_code("smoother") + SAME_BYTES,
    "unary.py": "-" * 20_000 + "1",  # within the bounds on code (cells.MAX_TOKENS), past the parser's
    "vocab-evil.py": EVIL_VOCAB,
    "huge-meta.py": reference_code("attention") + HUGE_META,
    "sums.py": "1" + "+1" * 20_000,
    "honest-vocab.py": reference_code("vocab"),
    "honest-last.py": reference_code("attention"),
}


def children() -> dict[int, str]:
    """This process's children: pid -> state and command line, read from /proc."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid():
            found[int(pid)] = f"{fields[0]} {stat[stat.index('(') + 1 : stat.rindex(')')]} {cmdline[:120]}"
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory, bwrap):
    d = tmp_path_factory.mktemp("boundary")
    paths = []
    for name, code in FILES.items():
        (d / name).write_text(code)
        paths.append(d / name)
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER: orphans of the batch come here
    before = children()
    try:
        report = grade(
            submissions=paths,
            json_path=d / "report.json",
            sandbox="bubblewrap",
            jobs=2,
            progress=False,
            limits=Limits(call_timeout=5.0, submission_timeout=60.0, memory=2 << 30),
        )
        left = {pid: info for pid, info in children().items() if pid not in before}
    finally:
        libc.prctl(36, 0, 0, 0, 0)
    data = report.to_json()
    records = {Path(r["path"]).name: r for r in data["submissions"]}
    return {"typed": report, "report": data, "records": records, "left": left, "json": (d / "report.json").read_text()}


def messages(record) -> list[str]:
    return [c["message"] for p in record["parts"] for c in p["checks"] if c["status"] == "failed"]


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def test_honest_submissions_in_the_batch_keep_full_marks(batch):
    for name in ("honest-first.py", "honest-vocab.py", "honest-last.py"):
        record = batch["records"][name]
        assert (record["score"], record["max_score"], record.get("error")) == (10.0, 10.0, None), name


def test_tensors_claiming_the_same_bytes_are_refused_and_cost_only_their_submission(batch):
    record = batch["records"]["same-bytes.py"]
    assert record["score"] == 0.0
    assert record["max_score"] == 10.0
    refused = "sent back something that is not plain data (tensors overlap: the same bytes are claimed twice)"
    assert any(refused in m for m in messages(record)), messages(record)[:3]


def test_a_huge_meta_tensor_is_refused(batch):
    record = batch["records"]["huge-meta.py"]
    assert record["score"] == 0.0
    refused = "(a meta tensor of 1152921504606846976 elements is over the limit)"
    assert any(refused in m for m in messages(record)), messages(record)[:3]


@pytest.mark.parametrize(
    ("name", "error"),
    [("unary.py", "MemoryError"), ("sums.py", "RecursionError")],
)
def test_a_file_that_breaks_the_parser_gets_an_error_record(batch, name, error):
    record = batch["records"][name]
    assert (
        record["error"] == f"could not read {name}: Python's parser gives up on it ({error}: it is nested too deeply)"
    )
    assert (record["score"], record["parts"]) == (0.0, [])


def test_a_hostile_class_name_and_strings_reach_the_report_cleaned(batch):
    record = batch["records"]["vocab-evil.py"]
    assert record["score"] == 0.0
    assert record["max_score"] == 10.0
    said = " ".join(messages(record))
    assert "\x1b" not in said
    assert "pwned" not in said
    # the class name on one line, its escapes gone, its newline a space, its surrogate and override replaced
    assert "'word in v' (v: your Vocab smoother.py  10 / 10\ufffd\ufffd) raised KeyError: 'test'" in said
    assert "raised ValueError: red \ufffd yyy" in said
    assert max(len(m) for m in messages(record)) < 3000


def test_every_string_of_the_report_and_the_json_is_printable(batch):
    for text in strings(batch["report"]):
        assert text.isprintable(), repr(text[:200])
    parsed = json.loads(batch["json"])
    assert parsed["submissions"] == batch["report"]["submissions"]
    batch["json"].encode("utf-8")  # no lone surrogate anywhere


def test_the_tables_and_the_summary_keep_their_lines(batch):
    for record in batch["typed"].submissions:
        lines = submission_table(record).splitlines()
        assert lines[0].startswith(record.path)
        assert all(line.startswith("  ") for line in lines[1:])
        assert all(line.isprintable() for line in lines)
    text = summary(batch["typed"], 1.0)
    assert text.splitlines()[0] == "Graded 6 submission(s) in 1.0 s on cpu; sandbox: bubblewrap."
    assert sum(line.startswith("  not graded: ") for line in text.splitlines()) == 2  # the parser breakers
    assert all(line.isprintable() for line in text.splitlines())


def test_no_process_started_by_grade_is_left_live_or_defunct(batch):
    assert batch["left"] == {}


def test_an_error_of_the_grader_on_one_submission_leaves_the_job_grading_the_next(bwrap):
    from autograder.jobs import Pool, job_config
    from autograder.submission import Submission

    pool = Pool(job_config("cpu", "bubblewrap", Limits(call_timeout=5.0, submission_timeout=60.0)), 1)
    try:
        pool.submit(Submission(path="broken", code=reference_code("smoother"), parts=["smoother", "nope"], index=1))
        pool.submit(Submission(path="honest", code=reference_code("smoother"), parts=["smoother"], index=2))
        (_, broken), (_, honest) = pool.next(), pool.next()
        jobs = pool.next_job
    finally:
        pool.close()
    assert broken.error == "internal error of the grader while grading this submission: KeyError: 'nope'"
    assert broken.grader_error == broken.error  # not the student's doing: resume grades it again
    assert (broken.path, broken.score, broken.max_score, broken.parts) == ("broken", 0.0, 10.0, [])
    assert (honest.path, honest.score, honest.max_score) == ("honest", 10.0, 10.0)
    assert jobs == 1  # the same job graded both: it was not restarted
