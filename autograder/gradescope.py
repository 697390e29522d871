"""Gradescope: the autograder archive (``build``) and what runs in it (``run``).

The archive follows Gradescope's autograder specification: ``setup.sh`` runs once when Gradescope
builds its image (Ubuntu) and installs everything (Python's venv, the CPU build of PyTorch, this
package, bubblewrap), so nothing is downloaded at grading time; ``run_autograder`` grades the
notebooks and ``.py`` files in ``<root>/submission`` with the hidden suites and writes
``<root>/results/results.json``. The root is ``/autograder`` on Gradescope, or ``$AUTOGRADER_ROOT``.

The results: ``score`` (the counted parts' points), ``execution_time``, ``output`` (what was graded,
and what could not be), ``visibility`` and ``stdout_visibility``, and one test per group of checks
of each part (``name``, ``score``, ``max_score``, ``status``, ``output``, ``visibility``): its output
is the failed checks as the course's ``show_*`` choices reveal them (``feedback.Reveal``); what the
student's code said on hidden inputs is never shown. A part with no file is one test of 0 points.
A second file of a part is named, never added. Numbers are rounded by ``messages.rounded`` (two decimals,
halves up), this module's own until the exports share one rounding function.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import time
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autograder.feedback import Reveal
from autograder.messages import cause, rounded
from autograder.parts import PARTS, POINTS_PER_PART
from autograder.records import Report
from autograder.text import printable

VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
#: What the archive's package holds: the project's folders and files (no tests, no caches).
PACKAGE = ("pyproject.toml", "README.md", "autograder", "solutions", "assignments")

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image (Ubuntu): everything is installed
# here, so nothing is downloaded while a submission is graded.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install "torch=={torch}" --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source/package
/autograder/venv/bin/python -c "import autograder, torch"  # a broken image fails here, not at grading
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades <root>/submission with the hidden suites and
# writes <root>/results/results.json. The root is /autograder, or $AUTOGRADER_ROOT.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
exec "$PY" -m autograder gradescope run --root "$ROOT"
"""


def _project_root() -> Path:
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise FileNotFoundError(f"{root} holds no pyproject.toml: build the archive from the project's checkout")
    return root


def build(
    *, output: Path | str, reveal: Reveal | None = None, visibility: str = "visible", sandbox: str = "auto"
) -> Path:
    """Write the Gradescope archive to ``output``: setup.sh, run_autograder, the package, its settings."""
    import torch

    if visibility not in VISIBILITY:
        raise ValueError(f"unknown visibility {visibility!r}: choose {', '.join(VISIBILITY)}")
    root = _project_root()
    settings = {"reveal": asdict(reveal or Reveal()), "visibility": visibility, "sandbox": sandbox}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")

    def add(z: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFREG | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)

    with zipfile.ZipFile(temporary, "w") as z:
        add(z, "setup.sh", SETUP.replace("{torch}", torch.__version__.split("+")[0]).encode(), 0o755)
        add(z, "run_autograder", RUN.encode(), 0o755)
        add(z, "gradescope.json", json.dumps(settings, indent=1).encode(), 0o644)
        for name in PACKAGE:
            path = root / name
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                relative = file.relative_to(root)
                if "__pycache__" in relative.parts or file.suffix in {".pyc", ".so"} or file.is_symlink():
                    continue
                add(z, f"package/{relative.as_posix()}", file.read_bytes(), 0o644)
    os.replace(temporary, output)
    return output


def _test(name: str, score: float, max_score: float, output: str, visibility: str) -> dict[str, Any]:
    return {
        "name": name,
        "score": rounded(score),
        "max_score": rounded(max_score),
        "status": "passed" if rounded(score) >= rounded(max_score) else "failed",
        "output": output,
        "visibility": visibility,
    }


def results(report: Report, *, reveal: Reveal, visibility: str, elapsed: float) -> dict[str, Any]:
    """The ``results.json`` of one Gradescope submission."""
    tests: list[dict[str, Any]] = []
    lines: list[str] = []
    counted: set[str] = set()
    for record in report.submissions:
        name = printable(os.path.basename(record.path))
        if record.error or record.grader_error:
            lines.append(f"{name}: not graded: {printable(record.grader_error or record.error)}")
        if record.note:
            lines.append(f"{name}: {printable(record.note)}")
        for part in record.parts:
            if part.duplicate_of:
                why = f"not counted: {printable(os.path.basename(part.duplicate_of))} is graded for {part.part}"
                lines.append(f"{name}: a second file for {part.part}, {why}")
                continue
            counted.add(part.part)
            lines.append(f"{name}: graded for {part.part}: {rounded(part.score):g} / {rounded(part.max_score):g}")
            lines += [f"{part.part}: {printable(part.error)}"] if part.error else []
            lines += [f"{part.part}: note: {printable(note)}" for note in part.notes]
            groups: dict[str, list] = {}
            for check in part.checks:
                groups.setdefault(check.group, []).append(reveal.check(check))
            for group, checks in groups.items():
                said: list[str] = []
                skipped: dict[str, int] = {}
                for check in checks:
                    if check.failed:
                        hint = f" Hint: {printable(check.hint)}" if check.hint else ""
                        said.append(f"- {printable(check.name)} ({check.device}): {printable(check.message)}{hint}")
                    elif check.skipped:
                        skipped[printable(cause(check))] = skipped.get(printable(cause(check)), 0) + 1
                said += [f"({n} check(s) not run on this grader: {why})" for why, n in skipped.items()]
                points, most = sum(c.points for c in checks), sum(c.max_points for c in checks)
                tests.append(_test(f"{part.part}: {group}", points, most, "\n".join(said), visibility))
    for missing in PARTS:
        if missing not in counted:
            why = f"no notebook or .py file for {missing} was found in your submission (its file is {missing}.ipynb)"
            tests.append(_test(missing, 0.0, POINTS_PER_PART, why, visibility))
    if not report.submissions:
        lines.append("Your submission holds no notebook (.ipynb) or .py file.")
    return {
        "score": rounded(sum(t["score"] for t in tests)),
        "execution_time": round(elapsed),
        "output": "\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(*, root: Path | str) -> Path:
    """Grade ``<root>/submission`` and write ``<root>/results/results.json``; its path. A failure of the grader
    itself (not the student's) raises, and writes no results, so that Gradescope says the run failed."""
    from autograder.grade import grade
    from autograder.submission import arguments_of

    root = Path(root)
    settings = json.loads((root / "source" / "gradescope.json").read_text())
    reveal = Reveal(**settings["reveal"])
    start = time.monotonic()
    submission = root / "submission"
    try:
        files = list(arguments_of([submission]))
    except FileNotFoundError:
        files = []
    # one student: every file of the submission is theirs (a second file of a part is flagged, never added)
    labels = {f: ("student", f.relative_to(submission).as_posix(), "") for f in files}
    report = Report({}, [])
    if files:
        report = grade(submissions=files, sandbox=settings["sandbox"], progress=False, labels=labels)
    failed = [r for r in report.submissions if r.grader_error]
    if failed:
        raise RuntimeError(f"the grader failed on {failed[0].path}: {failed[0].grader_error}")
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = results(report, reveal=reveal, visibility=settings["visibility"], elapsed=time.monotonic() - start)
    out.write_text(json.dumps(data, indent=1))
    print(data["output"], file=sys.stderr)
    return out


def unpack(archive: Path | str, root: Path | str) -> None:
    """Lay an archive out as Gradescope does: its files in ``<root>/source``, ``run_autograder`` at ``<root>``."""
    source = Path(root) / "source"
    with zipfile.ZipFile(archive) as z:
        z.extractall(source)
        for info in z.infolist():
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(source / "run_autograder", Path(root) / "run_autograder")
