"""A submission's answer cells, read as Jupyter runs them, and the words that name them in messages.

A notebook is graded cell by cell (``Cell``): each answer cell is compiled with a filename of its
own (``<answer cell 2>``) and run on its own, so a syntax error costs only that cell. IPython's
syntax in a cell (``%timeit``, ``!pip``, ``x?``, ``%%time``) is found here, in the grader, by
IPython's own transformer, and each such line becomes ``None`` on the same line: the sandbox never
meets ``get_ipython()`` and line numbers stay those of the cell. A cell that cannot run (a syntax
error, a ``%%bash`` cell, an answer cell turned into markdown) is not sent to the sandbox; a note
says so, and so does the message of a check that misses what it would define. A ``.py`` file is
one cell, run as it is. ``Answers.words`` turns the filenames in the sandbox's messages into
words: "answer cell 2 (tokenize), line 7" (in a ``.py`` file, "line 7"). Nothing here runs code.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import tokenize
from dataclasses import dataclass, field

from autograder.sandbox.protocol import MAX_CODE, cell_filename

#: Cell magics whose body is Python: the body runs once, as plain Python; any other cell magic
#: (``%%bash``, ``%%html``, ``%%writefile``, unknown ones) leaves its cell out.
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
#: Characters IPython's transformer may read for one submission (it reads a cell again for each line it changes).
TRANSFORM_BUDGET = 16 << 20
MAX_NOTES = 20
#: What the grader reads of one part's code (a notebook's answer cells together, or a .py file)
#: before anything parses it: its bytes (UTF-8), and its Python tokens. A parse's memory grows with
#: the tokens (about 0.9 KiB of syntax tree per token of ``a\n`` lines), so both bound it; the
#: reference answers are at most 3.3 KiB and 414 tokens.
MAX_CODE_BYTES = 256 << 10
MAX_TOKENS = 50_000
MAX_LABEL_NAMES = 3

#: Lines that IPython's transformer may change: an escape at the start, help at the end, ``x = %magic``.
IPYTHON_SYNTAX = re.compile(r"^[ \t]*[%!?]|\?[ \t]*$|=[ \t]*[%!]", re.MULTILINE)
#: What a cell that does not parse would define: ``def``/``class`` names and assignments at its top level.
WOULD_DEFINE = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)|^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
#: A code filename in a message from the sandbox, with its line: ``File "<answer cell 2>", line 7``.
FILENAME = re.compile(r'(?:File )?"?<(?:answer cell (\d{1,6})|submission)>"?(?:, line (\d{1,9}))?')
NAME_ERROR = re.compile(r"name '(\w+)' is not defined")


class Unparsable(ValueError):
    """Code that Python's parser gives up on for its size or depth, not for a syntax error."""


class TooLarge(ValueError):
    """Code refused for its size before anything parsed it: the submission (or its part) is not graded."""


def check_size(sources: list[str], what: str) -> None:
    """TooLarge unless ``sources`` together hold at most ``MAX_CODE_BYTES`` and ``MAX_TOKENS`` tokens.

    Nothing is parsed: the bytes are counted, then the tokens, read one at a time (``tokenize``
    keeps nothing), stopping at the bound. ``what`` names the code in the message.
    """
    size = sum(map(len, sources))  # characters: never more than the bytes
    if size <= MAX_CODE_BYTES:
        size = sum(len(s.encode("utf-8", "surrogatepass")) for s in sources)
    if size > MAX_CODE_BYTES:
        raise TooLarge(
            f"the code of {what} is {_kib(size)}, more than the {MAX_CODE_BYTES >> 10} KiB that the grader "
            "reads for one part; it was not graded"
        )
    left = MAX_TOKENS
    for source in sources:
        left -= count_tokens(source, left + 1)
        if left < 0:
            raise TooLarge(
                f"the code of {what} has more than {MAX_TOKENS} Python tokens (names, operators, numbers, line "
                "ends), more than the grader reads for one part; it was not graded"
            )


def count_tokens(source: str, limit: int) -> int:
    """The Python tokens of ``source``, counted up to ``limit`` (read as Python reads a file: universal newlines)."""
    count = 0
    try:
        for _ in tokenize.generate_tokens(io.StringIO(source, newline=None).readline):
            count += 1
            if count >= limit:
                break
    except (tokenize.TokenError, SyntaxError):  # the parser stops where the tokenizer does
        pass
    return count


def _kib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{-(-size >> 10)} KiB"


def _parse(code: str) -> ast.Module:
    """The code's tree; SyntaxError (ValueError for null bytes) as Python's parser says; Unparsable when it gives up."""
    try:
        return ast.parse(code)
    except (MemoryError, RecursionError) as error:
        raise Unparsable(f"Python's parser gives up on it ({type(error).__name__}: it is nested too deeply)") from None


def top_level_names(tree: ast.Module) -> list[str]:
    """Names a module's top level defines, in order: functions, classes, assignments, imports."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return list(dict.fromkeys(names))


def defined_names(code: str) -> set[str] | None:
    """Top-level names a piece of code defines, or None if it has a syntax error.

    Unparsable if the parser itself fails on it (a crafted file nests deeply enough to exhaust the
    parser's stack or the recursion limit): such a file is not graded at all.
    """
    try:
        return set(top_level_names(_parse(code)))
    except (SyntaxError, ValueError) as error:
        if isinstance(error, Unparsable):
            raise
        return None


def would_define(code: str) -> list[str]:
    """What code defines, read line by line when it does not parse (a syntax error, IPython's syntax)."""
    try:
        return top_level_names(ast.parse(code))
    except Exception:  # whatever the parser says: the lines that look like definitions
        return list(dict.fromkeys(a or b for a, b in WOULD_DEFINE.findall(code)))


@dataclass(frozen=True)
class Cell:
    """One piece of code that is graded on its own: an answer cell, or a whole ``.py`` file."""

    number: int  # its place among the notebook's answer cells, from 1; 0: a .py file
    source: str  # what runs: Python, each line of IPython's syntax replaced by None on its line
    label: str = ""  # the names it defines, or its grade_id
    runs: bool = True  # False: not sent to the sandbox (a syntax error, a cell magic, a markdown cell)

    @property
    def filename(self) -> str:
        return cell_filename(self.number)

    def where(self, line: int | None = None) -> str:
        """Its place in words: "answer cell 2 (tokenize), line 7"; in a .py file "line 7", or "your code"."""
        name = f"answer cell {self.number}" + (f" ({self.label})" if self.label else "") if self.number else ""
        return ", ".join(part for part in (name, f"line {line}" if line else "") if part) or "your code"


@dataclass
class Answers:
    """What is graded of a submission: its cells, and what the grader noticed while reading them."""

    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # IPython's lines skipped, cells not run
    #: a name that a cell which does not run would define -> why it is not graded
    unrun: dict[str, str] = field(default_factory=dict)
    #: a name that only a cell which is not an answer cell defines -> that cell's place in the notebook, from 1
    outside: dict[str, int] = field(default_factory=dict)

    @property
    def code(self) -> str:
        """The code in one piece, for what reads it whole (scans of the APIs it uses): a .py file's text."""
        if len(self.cells) == 1 and self.cells[0].number == 0:
            return self.cells[0].source
        running = [cell.source for cell in self.cells if cell.runs]
        return "\n\n".join(running) + "\n" if running else ""

    def load(self) -> list[list[str]]:
        """What the sandbox's load request carries: ``[filename, source]`` of each cell that runs."""
        return [[cell.filename, cell.source] for cell in self.cells if cell.runs]

    def digest(self) -> str:
        """A hash of everything grading depends on: the same digest, the same record."""
        cells = [[c.number, c.source, c.label, c.runs] for c in self.cells]
        data = json.dumps([cells, self.notes, self.unrun, self.outside], sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()

    def words(self, text: str) -> str:
        """``text`` with the code filenames of a message from the sandbox in words, each with its line."""
        cells = {cell.number: cell for cell in self.cells}

        def named(found: re.Match) -> str:
            cell = cells.get(int(found.group(1) or 0))
            return found.group(0) if cell is None else cell.where(int(found.group(2)) if found.group(2) else None)

        return FILENAME.sub(named, text)

    def location(self, frame: str) -> str:
        """The place a frame of the sandbox's names, checked against the code ("answer cell 2 (tokenize), line 7"), or ""."""
        found = FILENAME.match(frame) if isinstance(frame, str) else None
        cell = {cell.number: cell for cell in self.cells}.get(int(found.group(1) or 0)) if found else None
        if found is None or cell is None:
            return ""
        line = int(found.group(2)) if found.group(2) else None
        return cell.where(line if line is not None and line <= cell.source.count("\n") + 1 else None)

    def missing(self, name: str) -> str:
        """Why the answers that ran do not define ``name``, when the submission shows why ("" otherwise)."""
        if name in self.unrun:
            return self.unrun[name]
        if name in self.outside:
            return (
                f"`{name}` is defined in a cell that is not an answer cell (cell {self.outside[name]}): "
                "only answer cells are graded; move it into an answer cell"
            )
        return ""

    def explain(self, message: str) -> str:
        """What to say after the message of a NameError on a name the answers that ran do not define."""
        found = NAME_ERROR.search(message)
        return self.missing(found.group(1)) if found else ""

    def why_none(self, names: list[str]) -> str:
        """Why none of ``names`` is defined: the reasons for those names, else every cell that did not run."""
        reasons = [self.missing(name) for name in names]
        reasons = [r for r in reasons if r] or list(self.unrun.values())
        return "; ".join(dict.fromkeys(reasons))


def of_file(text: str) -> Answers:
    """A .py file: one cell, run as it is. TooLarge beyond ``MAX_CODE_BYTES`` or ``MAX_TOKENS``."""
    check_size([text], "the file")
    reader = Reader()
    reader.code_cell(0, text, "", ipython=False)
    return reader.done()


class Reader:
    """Builds ``Answers`` cell by cell."""

    def __init__(self) -> None:
        self.answers = Answers()
        self.defined: set[str] = set()  # what the cells that run define
        self.budget = TRANSFORM_BUDGET
        self.size = 0

    def label(self, names: list[str], grade_id: str) -> str:
        names = [n[:40] for n in names[:MAX_LABEL_NAMES]] + (["..."] if len(names) > MAX_LABEL_NAMES else [])
        return ", ".join(names) or grade_id

    def not_run(self, cell: Cell, why: str, names: list[str]) -> None:
        self.answers.cells.append(cell)
        self.answers.notes.append(why)
        for name in names:
            self.answers.unrun.setdefault(name, why)

    def code_cell(self, number: int, source: str, grade_id: str, ipython: bool) -> None:
        skipped: list[tuple[int, str]] = []
        if ipython:
            source, skipped, magic = self.python_of(source)
            if magic:
                names = would_define(source)
                cell = Cell(number, source, self.label(_definitions(names, source), grade_id), runs=False)
                why = f"{cell.where(1)}: IPython cell magic %%{magic}: the cell is not Python and was not run"
                return self.not_run(cell, why, names)
        try:
            tree = _parse(source)
        except (SyntaxError, ValueError) as error:
            if isinstance(error, Unparsable):
                raise
            line = getattr(error, "lineno", None)
            message = getattr(error, "msg", None) or str(error)
            names = would_define(source)
            cell = Cell(number, source, self.label(_definitions(names, source), grade_id), runs=False)
            what = "the cell" if number else "the file"
            why = f"{cell.where(line)}: {type(error).__name__}: {message}; {what} was not run"
            return self.not_run(cell, why, names)
        names = top_level_names(tree)
        functions = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        cell = Cell(number, source, self.label(functions, grade_id))
        self.answers.cells.append(cell)
        self.answers.notes += [f"{cell.where(line)}: {what} skipped" for line, what in skipped]
        self.defined.update(names)
        self.size += len(source)

    def markdown_cell(self, number: int, source: str, grade_id: str) -> None:
        cell = Cell(number, source, grade_id, runs=False)
        name = f"`{grade_id}`" if grade_id else str(number)
        self.not_run(cell, f"answer cell {name} is a markdown cell: its code was not graded", would_define(source))

    def python_of(self, source: str) -> tuple[str, list[tuple[int, str]], str]:
        """(the cell as Python, the (line, what) of each line of IPython's syntax replaced, a cell magic that is not Python).

        The lines keep their numbers: a line of IPython's syntax becomes ``None`` (``x = !ls``:
        ``x = None``), the line of a ``%%time`` becomes empty, and lines that IPython joins (a
        magic continued with a backslash) are followed by as many empty lines.
        """
        lines = source.splitlines(keepends=True)
        skipped: list[tuple[int, str]] = []
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is not None and lines[first].startswith("%%"):
            magic = (lines[first][2:].split() or [""])[0]
            if magic not in PYTHON_CELL_MAGICS:
                return source, [], magic
            skipped.append((first + 1, f"IPython cell magic %%{magic}"))
            lines[first] = "\n"
        if not IPYTHON_SYNTAX.search(source) or not lines:
            return "".join(lines), skipped, ""
        from IPython.core.inputtransformer2 import TransformerManager

        manager = TransformerManager()
        lines[-1] = lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"
        while self.budget > 0:
            self.budget -= sum(map(len, lines))
            try:
                changed, new = manager.do_one_token_transform(list(lines))
            except Exception:  # what IPython cannot read stays as it is: a syntax error, if it is one
                break
            if not changed or len(new) > len(lines):
                break
            start = next((i for i, (old, now) in enumerate(zip(lines, new)) if old != now), len(new) - 1)
            new[start + 1 : start + 1] = ["\n"] * (len(lines) - len(new))
            inert = _inert(new[start])
            if inert is None:  # not a call of IPython's: leave the line to Python's parser
                break
            new[start], what = inert
            skipped.append((start + 1, what))
            lines = new
        return "".join(lines), skipped, ""

    def done(self) -> Answers:
        answers = self.answers
        if self.size > MAX_CODE or len(json.dumps(answers.load())) > MAX_CODE:  # as the load request carries it
            raise ValueError(f"its code takes more than {_kib(MAX_CODE)}")
        answers.unrun = {n: why for n, why in answers.unrun.items() if n not in self.defined}
        answers.outside = {n: at for n, at in answers.outside.items() if n not in self.defined}
        answers.notes = [_printable(note) for note in answers.notes]
        answers.unrun = {n: _printable(why) for n, why in answers.unrun.items()}
        if len(answers.notes) > MAX_NOTES:
            answers.notes[MAX_NOTES - 1 :] = [f"... and {len(answers.notes) - MAX_NOTES + 1} more"]
        return answers


def _printable(text: str, limit: int = 300) -> str:
    """A note quotes the student's text (a magic's name, Python's message on a character): one printable line."""
    text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _definitions(names: list[str], source: str) -> list[str]:
    """Of ``names``, those that a ``def`` or ``class`` line defines (the label of a cell that does not parse)."""
    defs = {a for a, _ in WOULD_DEFINE.findall(source) if a}
    return [n for n in names if n in defs]


def _inert(line: str) -> tuple[str, str] | None:
    """IPython's line with its ``get_ipython()`` call replaced by ``None``, and what the call was."""
    text = line.strip()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(node, ast.Call)
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
        ):
            segment = ast.get_source_segment(text, node) or ""
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            indent = line[: len(line) - len(line.lstrip())]
            return indent + text.replace(segment, "None", 1) + "\n", _what(func.attr, args)
    return None


def _what(method: str, args: list[str]) -> str:
    """A line of IPython's syntax in words, from the call IPython made of it."""
    first = args[0] if args else ""
    if method == "run_line_magic" and first in ("pinfo", "pinfo2", "psearch"):
        return f"IPython help {(args[1:] or [''])[0]}?"
    if method == "run_line_magic":
        return f"IPython magic %{first}"
    if method in ("system", "getoutput"):
        return f"shell command !{(first.split() or [''])[0]}"
    return f"IPython's {method}"
