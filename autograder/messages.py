"""A check in words: the one module that turns what a check found into what each reader sees.

A check carries its facts as fields (``records.Check``): passed, failed or skipped (``status``),
the function left as released (``stub``), the device, and, where its message quotes what the
student's code said on hidden inputs, the student's version of it (``feedback``). Nothing
downstream reads a fact out of a message's text. The words go through these stations, all here:

1. ``recorded``, in the grading job: from what a suite raised to the check's record. What the
   student's code said on hidden inputs is kept for the teacher and left out of the student's
   version (the marks of ``said``); the grading machine's paths, the words of a suite's hidden
   inputs and tensor values are taken out of both; file names become the student's words
   ("answer cell 2 (tokenize), line 7").
2. ``for_student``: the check as a student's report shows it, per the ``show_*`` options
   (``Reveal``); ``cause`` is what a failed check failed of (its hint, a stub, else its message).
3. One form per medium: ``terminal`` (one line of a table), ``html`` (the feedback and the class
   page), ``csv_cell`` (a spreadsheet's cell); the JSON keeps the record's own text.

Points are rounded by ``rounded`` everywhere a sum of them is shown or stored.
"""

from __future__ import annotations

import html as _html
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.text import printable

if TYPE_CHECKING:
    from autograder.cells import Answers
    from autograder.records import Check

# ---------------------------------------------------------------- points

#: Decimals of a sum of points (a part's score, a group's points, a class total).
DIGITS = 2


def rounded(points: float) -> float:
    """A sum of points as every report and export shows it: ``DIGITS`` decimals, halves away from zero on
    the decimal value written (3.9996 is 4.0, 2.125 is 2.13), never -0.0. The one rounding of the package."""
    exact = Decimal(repr(float(points))).quantize(Decimal(1).scaleb(-DIGITS), rounding=ROUND_HALF_UP)
    return float(exact) + 0.0


# ---------------------------------------------------------------- what the student's code said

#: Marks around what the student's code said on hidden inputs: ``START full SAFE shown-to-the-student END``.
#: Private-use characters: ``printable`` turns any that come from the sandbox into U+FFFD.
START, SAFE, END = "\ue000", "\ue001", "\ue002"
_MARKS = re.compile("[\ue000-\ue002]")
_SAID = re.compile("(: )?\ue000([^\ue000-\ue002]*)\ue001([^\ue000-\ue002]*)\ue002")


def said(full: str, safe: str = "") -> str:
    """``full`` marked as the student's code's words on hidden inputs; the student's feedback shows ``safe``."""
    return f"{START}{_MARKS.sub('', full)}{SAFE}{_MARKS.sub('', safe)}{END}"


def for_teacher(text: str) -> str:
    """``text`` with what the student's code said kept (the teacher's report), the marks gone."""
    return _MARKS.sub("", _SAID.sub(lambda m: (m.group(1) or "") + m.group(2), text))


def for_student(text: str) -> str:
    """``text`` with what the student's code said on hidden inputs left out (a mark cut off: the rest too)."""
    text = _SAID.sub(lambda m: (m.group(1) or "") + m.group(3) if m.group(3) else "", text)
    return _MARKS.sub("", text.split(START, 1)[0])


# ---------------------------------------------------------------- 1. the record of a check


def _host_paths() -> list[tuple[str, str]]:
    """Paths of the grading machine that a message must not show, longest first, with what stands in."""
    paths = {os.getcwd(): "<cwd>", os.path.expanduser("~"): "~", sys.base_prefix: "<python>", sys.prefix: "<python>"}
    paths[str(Path(__file__).resolve().parents[1])] = "<grader>"
    return sorted(((p, r) for p, r in paths.items() if len(p) > 1), key=lambda pr: -len(pr[0]))


HOST_PATHS = _host_paths()
WORK_DIRS = re.compile(re.escape(tempfile.gettempdir().rstrip("/")) + r"/autograder-[\w.-]+")


def without_host_paths(text: str) -> str:
    """``text`` with the grading machine's own paths replaced (a degraded sandbox works in a host temp dir)."""
    text = WORK_DIRS.sub("<work>", text)
    for path, stand_in in HOST_PATHS:
        text = text.replace(path, stand_in)
    return text


_hidden_pattern: tuple[frozenset[str], re.Pattern | None] = (frozenset(), None)


def without_hidden(text: str, hidden: Iterable[str]) -> str:
    """``text`` with the words of hidden inputs (a suite's ``HIDDEN``) replaced, and tensor reprs cut to their name."""
    global _hidden_pattern
    words = frozenset(hidden)
    if words:
        if _hidden_pattern[0] != words:
            ordered = sorted(words, key=len, reverse=True)
            _hidden_pattern = (words, re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)"))
        assert _hidden_pattern[1] is not None
        text = _hidden_pattern[1].sub("<a hidden word>", text)
    return _without_tensor_values(text)


def _without_tensor_values(text: str) -> str:
    """``tensor([[0.1, ...]])`` -> ``tensor(...)``: a student's exception may print a hidden input."""
    out, i = [], 0
    while (start := text.find("tensor(", i)) != -1:
        depth, j = 0, start + len("tensor")
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        out.append(text[i:start] + "tensor(...)")
        i = j
    return "".join(out) + text[i:]


def recorded(
    check: Check, message: str, hint: str = "", *, hidden: Iterable[str] = (), answers: Answers | None = None
) -> Check:
    """``check`` with its message and hint as the record keeps them.

    ``message`` is the teacher's (what the student's code said kept), ``feedback`` the student's
    where the two differ; both without the machine's paths and the words of ``hidden`` inputs;
    with ``answers`` (``cells.Answers``), file names in the student's words. A check of a stub
    names no mistake: its hint is dropped.
    """
    hidden = frozenset(hidden)

    def clean(text: str) -> str:
        text = without_hidden(without_host_paths(text), hidden)
        return answers.words(text) if answers is not None else text

    check.message = clean(for_teacher(message))
    shown = clean(for_student(message))
    check.feedback = shown if shown != check.message else None
    check.hint = "" if check.stub else clean(for_student(hint))
    return check


def grader_fault(error: BaseException) -> str:
    """An exception of the grader's own, in one bounded line (its text may quote what the child sent)."""
    return printable(for_student(f"{type(error).__name__}: {error}"), 500)  # what their code said: never


# ---------------------------------------------------------------- 2. the student's report


@dataclass(frozen=True)
class Reveal:
    """What a student's report shows (``c.HiddenSuites.show_*``): everything the checks say, by default."""

    hints: bool = True  # the recognised mistake and how to fix it
    expected: bool = True  # "expected X, got Y"
    hidden_arguments: bool = True  # the shapes and dtypes of hidden inputs in a call's description
    check_names: bool = True  # each check's name; else its group's

    def check(self, check: Check) -> Check:
        """The check as the report shows it (``for_student``)."""
        return for_student_report(check, self)


#: The report that shows everything the checks say (the default).
EVERYTHING = Reveal()


def for_student_report(check: Check, reveal: Reveal = EVERYTHING) -> Check:
    """The check as a student's report shows it: never what their code said on hidden inputs
    (its ``feedback`` instead of its message), and only what ``reveal`` allows."""
    message = check.message if check.feedback is None else check.feedback
    message = message if reveal.hidden_arguments else without_arguments(message)
    return replace(
        check,
        feedback=None,
        name=(check.name if reveal.hidden_arguments else without_scalars(check.name))
        if reveal.check_names
        else check.group,
        message=message if reveal.expected else without_values(message),
        hint=check.hint if reveal.hints else "",
    )


_CALL = re.compile(r"\b[A-Za-z_][\w.]*\(")
_VALUES = re.compile(r"\b(?:expected|should be|got|the largest difference)\b")


def without_arguments(message: str) -> str:
    """Every call in ``message`` with its arguments left out: ``smooth(...)``."""
    out, at = [], 0
    for found in _CALL.finditer(message):
        if found.start() < at:
            continue
        depth, end = 0, found.end() - 1
        for end in range(found.end() - 1, len(message)):
            depth += {"(": 1, ")": -1}.get(message[end], 0)
            if depth == 0:
                break
        if depth:  # unbalanced: leave the rest as it is
            break
        out.append(message[at : found.end()] + "...)")
        at = end + 1
    return "".join(out) + message[at:]


_SCALAR = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?![\w.-])")


def without_scalars(name: str) -> str:
    """A check's name with the numbers of its arguments left out (``gaussian_kernel ... [size=...]``): a name built
    from a check's parameters must not show what its message no longer does."""
    head, bracket, ids = name.partition(" [")
    return head + bracket + _SCALAR.sub("...", ids) if bracket else name


def without_values(message: str) -> str:
    """``message`` up to where it says what was expected or received."""
    found = _VALUES.search(message)
    if found is None:
        return message
    head = message[: found.start()].rstrip(" :;,(")
    return f"{head}: not the expected result" if head else "not the expected result"


def cause(check: Check) -> str:
    """What a failed check failed of: a recognised mistake (its hint), a stub left as it was, else its message."""
    if check.hint:
        return check.hint
    return f"{check.stub} is not implemented yet" if check.stub else check.message


def causes(failed: list[Check]) -> list[list[Check]]:
    """Failed checks by cause (``cause``), in order."""
    found: dict[str, list[Check]] = {}
    for check in failed:
        found.setdefault(cause(check), []).append(check)
    return list(found.values())


# ---------------------------------------------------------------- 3. one form per medium


def terminal(text: object, width: int) -> str:
    """One line of at most ``width`` columns: ``printable``, the end cut with an ellipsis."""
    line = printable(text, 4 * width)
    return line if len(line) <= width else line[: width - 1] + "…"


def html(text: object) -> str:
    """Text of a page: ``printable`` (no control, escape, bidirectional or invisible character), then
    escaped for HTML."""
    return _html.escape(printable(text, 100_000))


#: What a spreadsheet takes for a formula when a cell starts with it.
FORMULA = ("=", "+", "-", "@")


def csv_cell(value: object) -> str:
    """A cell as a spreadsheet will take it: numbers stay numbers; text is ``printable`` and, where a
    spreadsheet would run it as a formula (``FORMULA`` first, after spaces; a tab or CR first is a
    space already), starts with a quote."""
    if isinstance(value, float):
        return f"{value:g}"
    text = printable(value, 100_000)
    return "'" + text if text.lstrip(" \ufffd")[:1] in FORMULA else text
